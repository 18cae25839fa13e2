"""The drainer: moves sealed spool segments into the warehouse with the file-ingest path.

Each round takes the warehouse writer lock for at most ``lock_wait_s`` (a dbt build holds it
for minutes: the round is skipped and the spool keeps absorbing the intake), lands every sealed
segment as one ingest batch (``ingest.landing.FileLanding``: contract check, scrub, dedupe on
the natural key, collisions kept aside, landing Parquet), inserts the quarantine segments into
``raw.quarantine`` and only then deletes the segments. A crash between the commit and the
delete lands the same segment again: its records are then duplicates (dropped by the natural
key), and a quarantine segment already recorded under its file name is skipped, so nothing is
stored twice.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import polars as pl

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
    """A background thread that drains the spool every ``interval_s`` seconds."""

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
        self._contracts = load_contracts()
        self._pii_key = functools.cache(lambda: load_pii_key(data_dir.root / "secrets"))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_success: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spool-drainer", daemon=True)
        self._thread.start()

    def stop(self, final_drain: bool = True) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=120)
        if final_drain:
            self.drain_once()

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
        if not segments:
            return DrainResult()
        try:
            with writer_lock(self.data_dir, timeout_s=self.lock_wait_s):
                result = self._land(segments)
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

    def _land(self, segments: list[Segment]) -> DrainResult:
        result = DrainResult(segments=len(segments))
        con = duckdb.connect(str(self.data_dir.warehouse))
        try:
            prepare_connection(con, DRAIN_MEMORY_LIMIT)
            ensure_raw_tables(con)
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
                    contract=self._contracts[kind],
                    source=NdjsonSource(segment.path),
                    landing_root=self.data_dir.landing,
                    pii_key=self._pii_key,
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
