"""The warehouse file, the marts file, their writer lock, and the immutable published snapshots
readers use.

dbt builds raw, staging and intermediate tables into ``warehouse.duckdb`` and the marts into
schema ``main`` of their own file, ``marts.duckdb``, which :func:`connect_warehouse` attaches as
catalog ``marts`` (so ``marts.fct_cases`` names a mart). Publishing moves the marts file, with a
meta table, into ``published/`` as an immutable snapshot (:func:`publish`); the next writer of
the marts starts from a copy of it (:func:`own_marts_file`).

DuckDB locks a database file per process, and a writer excludes even read-only readers. So:
writers (ingest, build) serialise on an advisory lock file and wait instead of failing; readers
(dashboard, ``flowledger sql``) only ever open an immutable published snapshot.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from flowledger.settings import DataDir, DataDirError

#: The catalog the marts file is attached as in a warehouse connection.
MARTS_CATALOG = "marts"
META_TABLE = "_meta"
#: a snapshot older than the newest few is removed once no reader can still be about to open it
#: (a page render pins one and reads it within seconds; a reader whose pinned file is gone
#: reads the current one)
SNAPSHOT_GRACE_SECONDS = 120
SNAPSHOTS_KEPT = 3
#: in ``published/``: when the last purge deleted raw rows (unix seconds); the snapshots
#: published before it hold those rows, and the next publish removes them whatever their number
PURGED_AT = ".purged-at"
#: A writer that has waited this long for the lock says so (see :func:`writer_lock`).
ANNOUNCE_WAIT_AFTER_S = 0.5


class WarehouseBusy(DataDirError):
    """Another process kept the warehouse lock longer than we were willing to wait, or holds
    DuckDB's own lock on the file outside flowledger's writers."""


class NothingPublished(RuntimeError):
    """No snapshot has been published in this data directory yet."""


@contextmanager
def writer_lock(
    data_dir: DataDir, timeout_s: float = 600.0, *, announce: bool = True
) -> Iterator[None]:
    """Hold the data directory's writer lock; wait (up to ``timeout_s``) while another writer has
    it. A command that waits longer than :data:`ANNOUNCE_WAIT_AFTER_S` says so once on stderr
    (``announce``; the receiver's and lineage service's short, repeated waits do not)."""
    data_dir.root.mkdir(parents=True, exist_ok=True)
    with open(data_dir.warehouse_lock, "a+") as handle:
        began = time.monotonic()
        deadline = began + timeout_s
        announced = not announce
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced and time.monotonic() - began > ANNOUNCE_WAIT_AFTER_S:
                    announced = True  # once, so a wait is never mistaken for a hang
                    print(
                        f"flowledger: waiting (up to {timeout_s:.0f}s) for another flowledger "
                        f"process writing {data_dir.warehouse} (lock {data_dir.warehouse_lock})",
                        file=sys.stderr,
                        flush=True,
                    )
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


def _lock_holder(message: str) -> str:
    """The holder DuckDB's lock error names (``PID 1234``), else a generic word."""
    match = re.search(r"PID (\d+)", message)
    return f"PID {match[1]}" if match else "another program"


def connect_warehouse(
    data_dir: DataDir,
    read_only: bool = False,
    *,
    attach_marts: bool = True,
    published_next: bool = False,
) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse with the marts file attached as catalog ``marts``.

    Every reader of marts in the warehouse (not of a snapshot) connects here. A read-write
    connection (the caller holds :func:`writer_lock`) first drops schema ``marts`` of the
    warehouse, where flowledger up to 0.1 built the marts (the next build rebuilds them in the
    marts file), and makes the marts file (:func:`own_marts_file`; ``published_next``: the
    caller is a build, whose publish syncs the file). A read-only connection attaches the marts
    file, or the published snapshot between builds, when there is one (a data directory no
    build of this version has touched yet reads its old schema ``marts``). ``attach_marts=False``
    (ingest: raw tables only) leaves the marts file alone.
    """
    if not read_only and attach_marts:
        own_marts_file(data_dir, published_next=published_next)
    try:
        con = duckdb.connect(str(data_dir.warehouse), read_only=read_only)
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        # another process holds DuckDB's own lock on the file: flowledger's writers take turns
        # (writer_lock), so a process outside them (a dbt left by a killed build, a DuckDB shell)
        raise WarehouseBusy(
            f"the warehouse {data_dir.warehouse} is open in another process "
            f"({_lock_holder(str(error))}): another process holds it open outside flowledger's "
            "writer lock (a build's dbt, a notebook, the DuckDB CLI); wait for it to finish, or "
            "stop it, and run this again"
        ) from None
    try:
        if not read_only:
            con.execute(f"drop schema if exists {MARTS_CATALOG} cascade")
        marts = (
            data_dir.marts
            if not read_only or data_dir.marts.exists()
            else _current_or_none(data_dir)
        )
        if attach_marts and marts is not None:
            path = str(marts).replace("'", "''")
            mode = " (read_only)" if read_only else ""
            con.execute(f"attach '{path}' as {MARTS_CATALOG}{mode}")
    except BaseException:
        con.close()
        raise
    return con


def connect_for_maintenance(
    data_dir: DataDir, nothing_done: str, *, attach_marts: bool = True
) -> duckdb.DuckDBPyConnection:
    """A read-write connection for a command that rewrites stored rows (purge, rescrub; the
    caller holds :func:`writer_lock`): a file it cannot open is :class:`WarehouseBusy`, its
    message ending with ``nothing_done`` ("Nothing was purged.")."""
    try:
        return connect_warehouse(data_dir, attach_marts=attach_marts)
    except WarehouseBusy as error:  # it says who holds the file and what to do
        raise WarehouseBusy(f"{error}. {nothing_done}") from None
    except duckdb.IOException as error:
        raise WarehouseBusy(
            f"{data_dir.warehouse} cannot be opened ({error}). {nothing_done}"
        ) from None


@contextmanager
def open_warehouse(
    data_dir: DataDir, *, attach_marts: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the warehouse (marts attached unless ``attach_marts`` is
    false), under the writer lock."""
    with writer_lock(data_dir):
        con = connect_warehouse(data_dir, attach_marts=attach_marts)
        try:
            yield con
        finally:
            con.close()


def publish(data_dir: DataDir, meta: dict[str, str]) -> Path:
    """Make the marts file, with a meta table, the current immutable snapshot.

    The caller holds :func:`writer_lock` and has closed its connections to the marts file. Table
    ``_meta`` (one row: ``meta``) is written into the marts file and checkpointed, which syncs
    the whole file; the file is then moved into ``published/`` as the snapshot, which references
    no other file. Until the next build (or purge) needs it, there is no marts file: that writer
    copies the snapshot (:func:`own_marts_file`), so no write ever reaches a published file, and
    a build does it while dbt's process starts.

    Before, a snapshot was a copy of the marts file, first synced (~2 s of every build at 10M
    events), then left unsynced for the next writer to sync (~0.4 s of copying in every build,
    after dbt).
    """
    data_dir.published.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"marts-{stamp}-{os.getpid()}.duckdb"
    marts = duckdb.connect(str(data_dir.marts))
    try:
        columns = ", ".join(f'"{key}" varchar' for key in meta)
        marts.execute(f"create or replace table main.{META_TABLE} ({columns})")
        placeholders = ", ".join("?" for _ in meta)
        marts.execute(f"insert into main.{META_TABLE} values ({placeholders})", list(meta.values()))
        marts.execute("checkpoint")
    finally:
        marts.close()
    final = data_dir.published / name
    if not _moved(data_dir.marts, final):  # published/ on another file system
        tmp = data_dir.published / f".{name}.tmp"
        _copy_synced(data_dir.marts, tmp)
        os.replace(tmp, final)
        data_dir.marts.unlink()
    _fsync(data_dir.published)
    # the snapshot is on disk: the marts file it was is no longer a copy that may be torn
    (data_dir.root / MARTS_COPY_RECORD).unlink(missing_ok=True)
    _fsync(data_dir.root)
    _point_current(data_dir, name)
    _remove_old_snapshots(data_dir, keep=name)
    return final


#: JSON beside the marts file while it is an unsynced copy of a snapshot: which snapshot, and the
#: boot of the machine it was copied in (``/proc/sys/kernel/random/boot_id``)
MARTS_COPY_RECORD = ".marts-copy.json"


def own_marts_file(data_dir: DataDir, *, published_next: bool = False) -> None:
    """Make sure the marts file may be written: a file of its own, never a published snapshot,
    and not torn.

    Between builds there is no marts file (:func:`publish` moved it into ``published/``): the
    current snapshot is copied. For a build (``published_next``) the copy is not synced, and
    :data:`MARTS_COPY_RECORD` says so: the build's publish checkpoints the file, which syncs it,
    before the file becomes a snapshot; if the machine boots again before that, the copy may be
    torn, and it is made again from the snapshot (the build that wrote into it published
    nothing). Any other writer (purge) gets a synced copy, and syncs one a build left. A marts
    file hard-linked to a snapshot (an earlier version's publish, cut short) is copied too. Every
    read-write :func:`connect_warehouse` that attaches the marts calls this first.
    """
    path = data_dir.marts
    record_path = data_dir.root / MARTS_COPY_RECORD
    try:
        record = json.loads(record_path.read_text())
    except (FileNotFoundError, ValueError):
        record = None
    boot = _boot_id()
    recorded = data_dir.published / str((record or {}).get("snapshot", ""))
    if record is not None and record.get("boot") != boot and recorded.is_file():
        source, snapshot = recorded, recorded  # copied before a crash of the machine: maybe torn
    elif not path.exists():
        record_path.unlink(missing_ok=True)
        current = _current_or_none(data_dir)
        if current is None:
            return  # nothing published yet: DuckDB makes an empty marts file
        source, snapshot = current, current
    elif path.stat().st_nlink > 1:
        source, snapshot = path, data_dir.published / _linked_snapshot_name(data_dir, path)
    else:
        if record is not None and not published_next:
            _fsync(path)
            record_path.unlink()
            _fsync(data_dir.root)  # before anything writes the marts file
        return
    tmp = path.with_name(path.name + ".tmp")
    # a write-ahead log left by a build a crash stopped belongs to the file being replaced
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    if not published_next or boot is None or not snapshot.is_file():
        # a copy that could not be checked, or made again, after a crash is synced now
        _copy_synced(source, tmp)
        os.replace(tmp, path)
        record_path.unlink(missing_ok=True)
        _fsync(data_dir.root)
        return
    _write_synced(record_path, json.dumps({"snapshot": snapshot.name, "boot": boot}) + "\n")
    _fsync(data_dir.root)  # the record is on disk before the copy can be
    shutil.copyfile(source, tmp)
    # Not synced, nor the rename: a sync of the directory now would write the whole copy (ext4
    # writes a renamed file's data before the rename). After a crash of the machine the marts
    # file is missing, or a copy the record says may be torn.
    os.replace(tmp, path)
    # The copy's ~1 GB (10M events) is written to disk in the background now, while dbt's
    # process starts, rather than by the build's first checkpoint of the marts file, which
    # would wait for all of it.
    threading.Thread(target=_fsync, args=(path,), name="marts-copy-writeback", daemon=True).start()


def _moved(source: Path, destination: Path) -> bool:
    """Whether ``source`` is now ``destination`` (False across file systems)."""
    try:
        os.replace(source, destination)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        return False
    return True


def _current_or_none(data_dir: DataDir) -> Path | None:
    """The current snapshot, None when nothing is published (or its file is gone)."""
    try:
        current = current_snapshot(data_dir)
    except NothingPublished:
        return None
    return current if current.is_file() else None


def _linked_snapshot_name(data_dir: DataDir, path: Path) -> str:
    """The name in ``published/`` of the snapshot the marts file is hard-linked to ("" when its
    other name is elsewhere)."""
    inode = path.stat().st_ino
    for snapshot in data_dir.published.glob("marts-*.duckdb"):
        if snapshot.stat().st_ino == inode:
            return snapshot.name
    return ""


def _boot_id() -> str | None:
    """This boot of the machine (Linux), None where the system does not say."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _copy_synced(source: Path, destination: Path) -> None:
    shutil.copyfile(source, destination)
    _fsync(destination)


def _write_synced(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


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
    _fsync(data_dir.published)


def _remove_old_snapshots(data_dir: DataDir, keep: str) -> None:
    """Remove snapshots beyond the newest :data:`SNAPSHOTS_KEPT` once past the grace period,
    and every snapshot published before the last purge (:func:`mark_purged`): they serve the
    purged rows (a run's error message, an event's data) for as long as they are kept."""
    snapshots = sorted(data_dir.published.glob("marts-*.duckdb"), reverse=True)
    now = time.time()
    purged_at = _purged_at(data_dir)
    for position, path in enumerate(snapshots):
        if path.name == keep:
            continue
        published_at = path.stat().st_mtime
        if published_at < purged_at or (
            position >= SNAPSHOTS_KEPT and now - published_at > SNAPSHOT_GRACE_SECONDS
        ):
            path.unlink(missing_ok=True)


def purged_since_published(data_dir: DataDir) -> bool:
    """Whether a purge ran after the current snapshot was published (or before any was)."""
    purged_at = _purged_at(data_dir)
    if not purged_at:
        return False
    current = _current_or_none(data_dir)
    return current is None or current.stat().st_mtime < purged_at


def _purged_at(data_dir: DataDir) -> float:
    """When the last purge that deleted rows ran (:func:`mark_purged`), 0 if none did."""
    try:
        return float((data_dir.published / PURGED_AT).read_text())
    except (FileNotFoundError, ValueError):
        return 0.0


#: DuckDB's memory for a rewrite, which streams table by table (at 10M events, a 3.3 GiB
#: warehouse: 55 s on 2 cores either way, 2.1 GiB peak with this limit, 7 GiB without)
REWRITE_MEMORY_LIMIT = "2GB"


def rewrite_database_file(path: Path) -> None:
    """Write a DuckDB file's database into a fresh file that takes its place (the caller holds
    :func:`writer_lock` and no connection to it).

    DuckDB does not overwrite the blocks it frees: after a purge the bytes of deleted raw rows,
    and of the values a build replaced by digests, stay in the file until DuckDB reuses the
    space. ``COPY FROM DATABASE`` writes only what the tables, views and constraints hold."""
    fresh = path.with_name(f".{path.name}.rewrite")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)  # a rewrite cut short
    con = duckdb.connect(str(path), config={"memory_limit": REWRITE_MEMORY_LIMIT})
    try:
        catalog = con.execute("select current_database()").fetchone()[0]
        target = str(fresh).replace("'", "''")
        con.execute(f"attach '{target}' as flowledger_rewrite")
        con.execute(f'copy from database "{catalog}" to flowledger_rewrite')
        con.execute("detach flowledger_rewrite")
    finally:
        con.close()
    _fsync(fresh)
    os.replace(fresh, path)
    _fsync(path.parent)


def mark_purged(data_dir: DataDir) -> None:
    """A purge deleted rows now (of any table): the next build writes the warehouse and the marts
    into fresh files, and its publish removes every older snapshot."""
    data_dir.published.mkdir(parents=True, exist_ok=True)
    (data_dir.published / PURGED_AT).write_text(f"{time.time():.6f}\n")


def _fsync(path: Path) -> None:
    """Sync a file or a directory (its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
