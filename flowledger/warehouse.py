"""The warehouse file, its writer lock, and the immutable published snapshots readers use.

DuckDB locks a database file per process, and a writer excludes even read-only readers. So:
writers (ingest, build) serialise on an advisory lock file and wait instead of failing; readers
(dashboard, ``flowledger sql``) only ever open an immutable published snapshot.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from flowledger.settings import DataDir

MARTS_SCHEMA = "marts"
META_TABLE = "_meta"
SNAPSHOT_GRACE_SECONDS = 600
SNAPSHOTS_KEPT = 3
#: Row order of the large marts in a snapshot, so that the dashboard's filters (one case, a date
#: range) skip whole row groups by their min/max instead of scanning the table. Other tables are
#: copied as they are.
SNAPSHOT_ORDER = {
    "fct_case_events": "case_key, event_sequence",
    "fct_case_flow_runs": "case_key, started_at",
    "fct_cases": "case_key",
    "fct_flow_runs": "started_at, run_key",
}
#: Indexed columns of the snapshot: the case timeline reads one case by its key, and DuckDB's
#: min/max per row group cannot skip by a text key (its statistics keep an 8-byte prefix, the
#: same for every case of a process).
SNAPSHOT_INDEXES = {
    "fct_case_events": "case_key",
    "fct_case_flow_runs": "case_key",
    "fct_cases": "case_key",
}


class WarehouseBusy(RuntimeError):
    """Another process kept the warehouse lock longer than we were willing to wait."""


class NothingPublished(RuntimeError):
    """No snapshot has been published in this data directory yet."""


@contextmanager
def writer_lock(data_dir: DataDir, timeout_s: float = 600.0) -> Iterator[None]:
    """Hold the data directory's writer lock; wait (up to ``timeout_s``) while another writer has it."""
    data_dir.root.mkdir(parents=True, exist_ok=True)
    with open(data_dir.warehouse_lock, "a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"{data_dir.warehouse} is being written by another flowledger process "
                        f"(lock {data_dir.warehouse_lock}); waited {timeout_s:.0f}s. Try again later."
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def open_warehouse(data_dir: DataDir) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the warehouse, under the writer lock."""
    with writer_lock(data_dir):
        con = duckdb.connect(str(data_dir.warehouse))
        try:
            yield con
        finally:
            con.close()


def publish(con: duckdb.DuckDBPyConnection, data_dir: DataDir, meta: dict[str, str]) -> Path:
    """Copy every table of schema ``marts`` into a new immutable snapshot and make it current.

    Tables in :data:`SNAPSHOT_ORDER` are written in that order and get the indexes of
    :data:`SNAPSHOT_INDEXES` (the marts hold the same rows).

    ``con`` is a read-write connection to the warehouse held under :func:`writer_lock`.
    """
    data_dir.published.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"marts-{stamp}-{os.getpid()}.duckdb"
    tmp = data_dir.published / f".{name}.tmp"
    tables = [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ? order by 1",
            [MARTS_SCHEMA],
        ).fetchall()
    ]
    con.execute(f"attach '{tmp}' as snapshot")
    try:
        for table in tables:
            order = f" order by {SNAPSHOT_ORDER[table]}" if table in SNAPSHOT_ORDER else ""
            con.execute(
                f'create table snapshot.main."{table}" as '
                f'select * from {MARTS_SCHEMA}."{table}"{order}'
            )
            if table in SNAPSHOT_INDEXES:
                column = SNAPSHOT_INDEXES[table]
                con.execute(
                    f'create index "{table}__{column}" on snapshot.main."{table}" ("{column}")'
                )
        columns = ", ".join(f'"{key}" varchar' for key in meta)
        con.execute(f"create table snapshot.main.{META_TABLE} ({columns})")
        placeholders = ", ".join("?" for _ in meta)
        con.execute(
            f"insert into snapshot.main.{META_TABLE} values ({placeholders})", list(meta.values())
        )
    finally:
        con.execute("detach snapshot")
    final = data_dir.published / name
    os.replace(tmp, final)
    _fsync_dir(data_dir.published)
    _point_current(data_dir, name)
    _remove_old_snapshots(data_dir, keep=name)
    return final


def current_snapshot(data_dir: DataDir) -> Path:
    """Path of the newest published snapshot."""
    pointer = data_dir.published / "CURRENT"
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        raise NothingPublished(
            f"nothing is published in {data_dir.root} yet: run `flowledger build` "
            "(or `flowledger demo --no-serve`) first"
        ) from None
    return data_dir.published / name


def connect_snapshot(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the snapshot file ``path`` that can neither write nor reach
    other files (external access is disabled), so it is safe for user-typed queries."""
    return duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})


@contextmanager
def open_published(data_dir: DataDir) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the newest snapshot; never touches the warehouse file.

    The connection can neither write nor reach other files (external access is disabled), so
    it is safe for user-typed queries.
    """
    for attempt in range(3):
        path = current_snapshot(data_dir)
        try:
            con = connect_snapshot(path)
            break
        except duckdb.IOException:
            # The snapshot was replaced and removed between reading CURRENT and opening it.
            if attempt == 2:
                raise
            time.sleep(0.05)
    try:
        yield con
    finally:
        con.close()


def _point_current(data_dir: DataDir, name: str) -> None:
    tmp = data_dir.published / f".CURRENT.{os.getpid()}"
    with open(tmp, "w") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, data_dir.published / "CURRENT")
    _fsync_dir(data_dir.published)


def _remove_old_snapshots(data_dir: DataDir, keep: str) -> None:
    snapshots = sorted(data_dir.published.glob("marts-*.duckdb"), reverse=True)
    now = time.time()
    for path in snapshots[SNAPSHOTS_KEPT:]:
        if path.name != keep and now - path.stat().st_mtime > SNAPSHOT_GRACE_SECONDS:
            path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
