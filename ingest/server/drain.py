"""The drainer: moves sealed spool segments into the warehouse with the file-ingest path.

Each round takes the warehouse writer lock for at most ``lock_wait_s`` (a dbt build holds it
for minutes: the round is skipped and the spool keeps absorbing the intake), lands every sealed
segment as one ingest batch (``ingest.landing.FileLanding``: contract check, scrub, dedupe on
the natural key, collisions kept aside, landing Parquet), inserts the quarantine segments into
``raw.quarantine`` and only then deletes the segments. A crash between the commit and the
delete lands the same segment again: its records are then duplicates (dropped by the natural
key), and a quarantine segment already recorded under its file name is skipped, so nothing is
stored twice.

The landing runs in a child process (one worker, started with the receiver): its Python work
(reading, scrubbing again, DuckDB calls) would otherwise hold the GIL against the event loop
that answers requests; the drainer thread only waits for it. The worker dies with the receiver
(``PR_SET_PDEATHSIG`` on Linux, and a parent watchdog), so a ``kill -9`` of the receiver leaves
no landing orphan behind: DuckDB rolls back the round it did not finish and the next receiver
lands those segments again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from flowledger.parent_death import end_with_parent
from flowledger.settings import DataDir
from flowledger.warehouse import WarehouseBusy, writer_lock
from ingest.contracts import RecordKind, load_contracts
from ingest.landing import FileLanding, prepare_connection
from ingest.readers import DEFAULT_BATCH_ROWS, NdjsonSource
from ingest.scrub import load_pii_key, scrub_secrets
from ingest.server.spool import QUARANTINE_STREAM, Segment, Spool
from ingest.tables import QUARANTINE_TABLE, ensure_raw_tables

#: DuckDB memory for one drain round (the receiver shares the machine with dbt and Streamlit).
DRAIN_MEMORY_LIMIT = "512MB"


@dataclass
class DrainResult:
    segments: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, kind: str, outcome: str, count: int) -> None:
        if count:
            self.counts[(kind, outcome)] = self.counts.get((kind, outcome), 0) + count


class Drainer:
    """A background thread that drains the spool every ``interval_s`` seconds (through the
    landing worker process)."""

    def __init__(
        self,
        data_dir: DataDir,
        spool: Spool,
        *,
        interval_s: float = 1.0,
        lock_wait_s: float = 0.5,
        on_result: Callable[[DrainResult], None] | None = None,
        on_busy: Callable[[], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.spool = spool
        self.interval_s = interval_s
        self.lock_wait_s = lock_wait_s
        self._on_result = on_result or (lambda result: None)
        self._on_busy = on_busy or (lambda: None)
        self._on_error = on_error or (lambda message: None)
        self._pool: ProcessPoolExecutor | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_success: float | None = None

    def start(self) -> None:
        self._start_pool()
        self._thread = threading.Thread(target=self._run, name="spool-drainer", daemon=True)
        self._thread.start()

    def stop(self, final_drain: bool = True) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=120)
        if final_drain:
            self.drain_once()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.drain_once()
            self._wake.wait(timeout=self.interval_s)
            self._wake.clear()

    def drain_once(self) -> DrainResult | None:
        """Land every sealed segment; ``None`` when the warehouse was busy or it failed."""
        segments = self.spool.sealed_segments()
        vanished = [segment for segment in segments if not segment.path.exists()]
        if vanished:  # landed and deleted by a receiver that died meanwhile
            self.spool.remove(vanished)
            segments = [segment for segment in segments if segment not in vanished]
        if not segments:
            return DrainResult()
        try:
            result = self._land_in_worker(segments)
        except WarehouseBusy:
            self._on_busy()
            return None
        except Exception as error:  # keep the segments; try again next round
            self._on_error(scrub_secrets(f"drain failed ({type(error).__name__}: {error})"))
            return None
        self.spool.remove(segments)
        self.last_success = time.time()
        self._on_result(result)
        return result

    def _start_pool(self) -> None:
        """One worker process, spawned now by the calling thread (at start: the main thread,
        which lives as long as the receiver; the parent-death signal follows that thread)."""
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=end_with_parent,
            initargs=(os.getpid(),),
        )
        self._pool.submit(_warm_up).result(timeout=120)

    def _land_in_worker(self, segments: list[Segment]) -> DrainResult:
        for attempt in (1, 2):
            if self._pool is None:
                self._start_pool()
            assert self._pool is not None
            future = self._pool.submit(
                land_segments, str(self.data_dir.root), segments, self.lock_wait_s
            )
            try:
                return future.result()
            except BrokenProcessPool:  # the worker died (killed, out of memory): start another
                with contextlib.suppress(Exception):
                    self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


# -- in the worker process ------------------------------------------------------------------


def _warm_up() -> None:
    """The worker's first task: by now it has imported this module (DuckDB, polars, ingest)."""


_tables_ready: set[str] = set()


class SpoolSegmentSource(NdjsonSource):
    """A spool segment: the receiver wrote object fields as JSON text, never nested, and
    decoded records, which cannot give a key twice."""

    nested_values = False
    may_repeat_keys = False


@functools.cache
def _pii_key_of(root: str) -> Callable[[], bytes]:
    return functools.cache(lambda: load_pii_key(Path(root) / "secrets"))


def land_segments(root: str, segments: list[Segment], lock_wait_s: float) -> DrainResult:
    """Land ``segments`` under the warehouse writer lock (or raise :class:`WarehouseBusy`)."""
    data_dir = DataDir(Path(root))
    with writer_lock(data_dir, timeout_s=lock_wait_s, announce=False):
        return _land(data_dir, segments)


def _land(data_dir: DataDir, segments: list[Segment]) -> DrainResult:
    result = DrainResult(segments=len(segments))
    contracts = load_contracts()
    con = duckdb.connect(str(data_dir.warehouse))
    try:
        prepare_connection(con, DRAIN_MEMORY_LIMIT)
        if str(data_dir.root) not in _tables_ready:  # once per worker
            ensure_raw_tables(con)
            _tables_ready.add(str(data_dir.root))
        # quarantine first: FileLanding leaves a pending result on the connection
        for segment in segments:
            if segment.stream == QUARANTINE_STREAM:
                for kind, count in _land_quarantine(con, segment).items():
                    result.add(kind, "quarantined", count)
        for segment in segments:
            if segment.stream == QUARANTINE_STREAM:
                continue
            kind = RecordKind(segment.stream)
            landed = FileLanding(
                con=con,
                contract=contracts[kind],
                source=SpoolSegmentSource(segment.path),
                landing_root=data_dir.landing,
                pii_key=_pii_key_of(str(data_dir.root)),
                batch_rows=DEFAULT_BATCH_ROWS,
                progress=lambda message: None,
            ).run()
            result.add(kind.value, "stored", landed.accepted)
            result.add(kind.value, "duplicate", landed.duplicates)
            result.add(kind.value, "collision", landed.collisions)
            result.add(kind.value, "quarantined", landed.quarantined)
    finally:
        con.close()
    return result


def _land_quarantine(con: duckdb.DuckDBPyConnection, segment: Segment) -> dict[str, int]:
    """Insert a quarantine segment's rows once (a segment drained before is skipped).

    ``batch_id`` is the request id the receiver answered with; ``row_number`` the record's
    index in that request.
    """
    source_file = str(segment.path.resolve())
    seen = con.execute(
        f"SELECT count(*) FROM {QUARANTINE_TABLE} WHERE source_file = ?", [source_file]
    ).fetchall()[0][0]
    if seen:
        return {}
    rows = []
    with open(segment.path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
    if not rows:
        return {}
    frame = pl.DataFrame(
        {
            "request_id": [row["request_id"] for row in rows],
            "received_at": [
                datetime.fromisoformat(row["received_at"]).astimezone(UTC).replace(tzinfo=None)
                for row in rows
            ],
            "record_kind": [row["record_kind"] for row in rows],
            "row_number": [row["index"] for row in rows],
            "reason": [row["reason"] for row in rows],
            "raw_record": [row["raw_record"] for row in rows],
        },
        schema={
            "request_id": pl.String,
            "received_at": pl.Datetime("us"),
            "record_kind": pl.String,
            "row_number": pl.Int64,
            "reason": pl.String,
            "raw_record": pl.String,
        },
    )
    con.register("_spool_quarantine", frame)
    try:
        con.execute(
            f"INSERT INTO {QUARANTINE_TABLE} SELECT request_id, received_at, ?, record_kind, "
            "row_number, reason, raw_record FROM _spool_quarantine",
            [source_file],
        ).fetchall()
    finally:
        con.unregister("_spool_quarantine")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["record_kind"]] = counts.get(row["record_kind"], 0) + 1
    return counts
