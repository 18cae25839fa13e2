"""Landing one file: check, scrub, dedupe and write it as one DuckDB transaction.

Per batch of rows read: the contract query types and checks the rows and hashes the good ones
(before scrubbing); broken rows go to ``raw.quarantine`` (scrubbed, capped); good rows are
scrubbed and staged in a temporary table. At the end of the file one set-based pass classifies
every staged row against the stored table and the earlier rows of the same file:

* new natural key → accepted (``raw.<table>`` and ``landing/<table>/<batch_id>.parquet``);
* key seen with the same payload hash → duplicate (counted, dropped);
* key seen with another payload hash → collision (``raw.ingest_collisions``; the first stays).

The raw rows, quarantine, collisions and the ``raw.ingest_batches`` row commit together, so a
crash never leaves half a file; the Parquet file is renamed into place only after the commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ingest.contracts import Contract, LogicalType
from ingest.readers import RejectedRow, Source
from ingest.scrub import (
    mask_card_numbers,
    scrub_event_data_column,
    scrub_event_data_text,
    scrub_secrets,
    scrub_text_column,
)
from ingest.summary import FileResult
from ingest.tables import BATCHES_TABLE, COLLISIONS_TABLE, QUARANTINE_TABLE
from ingest.validate import (
    PAYLOAD_HASH,
    REASON,
    ROW_NUMBER,
    quote_identifier,
    sql_literal,
    validation_sql,
)

RAW_RECORD_MAX_BYTES = 64 * 1024
_STAGE = "_ingest_stage"
_CLASSIFIED = "_ingest_classified"
_BATCH_VIEW = "_ingest_batch_raw"
_GOOD_VIEW = "_ingest_batch_good"

Progress = Callable[[str], None]


def new_batch_id(now: datetime | None = None) -> str:
    """A UTC timestamp plus a short random suffix: sortable, and unique per file ingested."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cap_raw_record(text: str, limit: int = RAW_RECORD_MAX_BYTES) -> str:
    """``text`` if it fits in ``limit`` UTF-8 bytes, else a JSON object holding a prefix of it."""
    size = len(text.encode())
    if size <= limit:
        return text
    budget = limit - 200
    while True:
        prefix = text.encode()[:budget].decode(errors="ignore")
        capped = json.dumps(
            {"_truncated": True, "_original_bytes": size, "_prefix": prefix}, ensure_ascii=False
        )
        if len(capped.encode()) <= limit:
            return capped
        budget //= 2


@dataclass
class FileLanding:
    """Lands one file of one record kind into the warehouse through ``con``."""

    con: duckdb.DuckDBPyConnection
    contract: Contract
    source: Source
    landing_root: Path
    pii_key: Callable[[], bytes]
    batch_rows: int
    progress: Progress

    def run(self) -> FileResult:
        path = self.source.path
        started_at = _utc_now()
        batch_id = new_batch_id()
        source_file = str(path.resolve())
        result = FileResult(path=path, kind=self.contract.kind, batch_id=batch_id)
        sha256 = file_sha256(path)
        parquet_tmp: Path | None = None
        self.con.begin()
        try:
            self._create_stage()
            for batch in self.source.batches(self.contract.field_names, self.batch_rows):
                result.rows_read += batch.rows_read
                result.quarantined += self._quarantine_rejected(
                    batch.rejected, batch_id, source_file
                )
                if batch.frame.height:
                    result.quarantined += self._check_and_stage(batch.frame, batch_id, source_file)
                self.progress(f"{path.name}: {result.rows_read:,} rows read")
            self._classify()
            result.accepted, result.duplicates, result.collisions = self._counts()
            self._insert_accepted(batch_id, started_at, source_file)
            self._insert_collisions(batch_id, started_at, source_file)
            if result.accepted:
                parquet_tmp = self._write_landing_parquet(batch_id, started_at, source_file)
            self.con.execute(
                f"INSERT INTO {BATCHES_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    batch_id,
                    source_file,
                    sha256,
                    self.contract.kind.value,
                    result.rows_read,
                    result.accepted,
                    result.duplicates,
                    result.collisions,
                    result.quarantined,
                    started_at,
                    _utc_now(),
                ],
            )
            self.con.commit()
        except BaseException:
            _abort_pending_result(self.con)
            self.con.rollback()
            if parquet_tmp is not None:
                parquet_tmp.unlink(missing_ok=True)
            raise
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {_STAGE}")
            self.con.execute(f"DROP TABLE IF EXISTS {_CLASSIFIED}")
        if parquet_tmp is not None:
            os.replace(parquet_tmp, parquet_tmp.with_name(f"{batch_id}.parquet"))
        return result

    # -- per batch ---------------------------------------------------------------------------

    def _create_stage(self) -> None:
        columns = ", ".join(
            f"{quote_identifier(name)} {sql_type}"
            for name, sql_type in (
                *((p.name, p.duckdb_type) for p in self.contract.properties),
                (ROW_NUMBER, "BIGINT"),
                (PAYLOAD_HASH, "VARCHAR"),
            )
        )
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} ({columns})")

    def _check_and_stage(self, frame: pl.DataFrame, batch_id: str, source_file: str) -> int:
        """Type, check and hash one batch; quarantine the broken rows, stage the good ones."""
        self.con.register(_BATCH_VIEW, frame)
        try:
            checked = self.con.sql(validation_sql(self.contract, _BATCH_VIEW)).pl()
        finally:
            self.con.unregister(_BATCH_VIEW)
        broken = checked.filter(pl.col(REASON).is_not_null()).select(ROW_NUMBER, REASON)
        if broken.height:
            self._quarantine_broken(frame, broken, batch_id, source_file)
        good = self._scrub(checked.filter(pl.col(REASON).is_null()).drop(REASON))
        self.con.register(_GOOD_VIEW, good)
        try:
            self.con.execute(f"INSERT INTO {_STAGE} BY NAME SELECT * FROM {_GOOD_VIEW}")
        finally:
            self.con.unregister(_GOOD_VIEW)
        return broken.height

    def _scrub(self, good: pl.DataFrame) -> pl.DataFrame:
        scrubbed: list[pl.Series] = []
        for prop in self.contract.properties:
            if prop.logical_type is LogicalType.OBJECT:
                scrubbed.append(scrub_event_data_column(good[prop.name], self.pii_key()))
            elif prop.scrub_secrets:
                scrubbed.append(scrub_text_column(good[prop.name]))
        return good.with_columns(scrubbed) if scrubbed else good

    def _quarantine_broken(
        self, frame: pl.DataFrame, broken: pl.DataFrame, batch_id: str, source_file: str
    ) -> None:
        rows = broken.join(frame, on=ROW_NUMBER, how="left").sort(ROW_NUMBER)
        fields = self.contract.field_names
        records = [
            (
                row[ROW_NUMBER],
                scrub_secrets(row[REASON]),
                self._raw_record({name: row[name] for name in fields}),
            )
            for row in rows.iter_rows(named=True)
        ]
        self._insert_quarantine(records, batch_id, source_file)

    def _quarantine_rejected(
        self, rejected: list[RejectedRow], batch_id: str, source_file: str
    ) -> int:
        records = [
            (
                row.row_number,
                scrub_secrets(row.reason),
                cap_raw_record(json.dumps(mask_card_numbers(scrub_secrets(row.raw_text)))),
            )
            for row in rejected
        ]
        self._insert_quarantine(records, batch_id, source_file)
        return len(records)

    def _raw_record(self, values: dict[str, Any]) -> str:
        """The broken row as JSON text: its non-empty fields, scrubbed, capped at 64 KiB."""
        kept = {
            name: self._scrub_raw_value(name, value)
            for name, value in values.items()
            if value is not None
        }
        return cap_raw_record(json.dumps(kept, ensure_ascii=False))

    def _scrub_raw_value(self, name: str, value: str) -> str:
        if self.contract.property(name).logical_type is LogicalType.OBJECT:
            return scrub_event_data_text(value, self.pii_key())
        return mask_card_numbers(scrub_secrets(value))

    def _insert_quarantine(
        self, records: list[tuple[int, str, str]], batch_id: str, source_file: str
    ) -> None:
        if not records:
            return
        frame = pl.DataFrame(
            records,
            schema={"row_number": pl.Int64, "reason": pl.String, "raw_record": pl.String},
            orient="row",
        )
        self.con.register("_ingest_quarantine", frame)
        try:
            self.con.execute(
                f"INSERT INTO {QUARANTINE_TABLE} SELECT ?, ?, ?, ?, row_number, reason, raw_record "
                "FROM _ingest_quarantine",
                [batch_id, _utc_now(), source_file, self.contract.kind.value],
            )
        finally:
            self.con.unregister("_ingest_quarantine")

    # -- per file ----------------------------------------------------------------------------

    def _key_join(self, left: str, right: str) -> str:
        return " AND ".join(
            f"{left}.{quote_identifier(key)} = {right}.{quote_identifier(key)}"
            for key in self.contract.natural_key
        )

    def _classify(self) -> None:
        keys = ", ".join(quote_identifier(key) for key in self.contract.natural_key)
        kind = sql_literal(self.contract.kind.value)
        self.con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE {_CLASSIFIED} AS
WITH ranked AS (
    SELECT s.*,
        row_number() OVER in_file AS _key_rank,
        first_value(s.{PAYLOAD_HASH}) OVER in_file AS _first_in_file
    FROM {_STAGE} s
    WINDOW in_file AS (PARTITION BY {keys} ORDER BY s.{ROW_NUMBER})
)
SELECT r.*,
    CASE
        WHEN stored.{PAYLOAD_HASH} IS NOT NULL AND stored.{PAYLOAD_HASH} = r.{PAYLOAD_HASH}
            THEN 'duplicate'
        WHEN r.{PAYLOAD_HASH} IN (
            SELECT payload_hash FROM {COLLISIONS_TABLE} WHERE record_kind = {kind}
        ) THEN 'duplicate'
        WHEN stored.{PAYLOAD_HASH} IS NOT NULL THEN 'collision'
        WHEN r._key_rank = 1 THEN 'accepted'
        WHEN r.{PAYLOAD_HASH} = r._first_in_file THEN 'duplicate'
        ELSE 'collision'
    END AS _class,
    coalesce(stored.{PAYLOAD_HASH}, r._first_in_file) AS _first_payload_hash
FROM ranked r
LEFT JOIN (SELECT {keys}, {PAYLOAD_HASH} FROM {self.contract.table}) stored
    ON {self._key_join("r", "stored")}
"""
        )

    def _counts(self) -> tuple[int, int, int]:
        row = self.con.execute(
            f"SELECT count(*) FILTER (_class = 'accepted'), count(*) FILTER (_class = 'duplicate'),"
            f" count(*) FILTER (_class = 'collision') FROM {_CLASSIFIED}"
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    def _accepted_select(self, batch_id: str, ingested_at: datetime, source_file: str) -> str:
        fields = ", ".join(quote_identifier(name) for name in self.contract.field_names)
        return (
            f"SELECT {fields}, {sql_literal(batch_id)} AS _batch_id, "
            f"TIMESTAMP {sql_literal(ingested_at.isoformat(sep=' '))} AS _ingested_at, "
            f"{sql_literal(source_file)} AS _source_file, {ROW_NUMBER}, {PAYLOAD_HASH} "
            f"FROM {_CLASSIFIED} WHERE _class = 'accepted'"
        )

    def _insert_accepted(self, batch_id: str, ingested_at: datetime, source_file: str) -> None:
        select = self._accepted_select(batch_id, ingested_at, source_file)
        self.con.execute(f"INSERT INTO {self.contract.table} {select}")

    def _insert_collisions(self, batch_id: str, seen_at: datetime, source_file: str) -> None:
        key = ", ".join(
            f"{quote_identifier(name)} := {quote_identifier(name)}"
            for name in self.contract.natural_key
        )
        record = ", ".join(
            f"{quote_identifier(p.name)} := "
            + (
                f"{quote_identifier(p.name)}::JSON"
                if p.logical_type is LogicalType.OBJECT
                else quote_identifier(p.name)
            )
            for p in self.contract.properties
        )
        self.con.execute(
            f"""
INSERT INTO {COLLISIONS_TABLE}
SELECT ?, ?, ?, ?, {ROW_NUMBER}, to_json(struct_pack({key}))::VARCHAR, _first_payload_hash,
    {PAYLOAD_HASH}, to_json(struct_pack({record}))::VARCHAR
FROM {_CLASSIFIED} WHERE _class = 'collision'
""",
            [batch_id, seen_at, source_file, self.contract.kind.value],
        )

    def _write_landing_parquet(
        self, batch_id: str, ingested_at: datetime, source_file: str
    ) -> Path:
        directory = self.landing_root / self.contract.table.split(".")[-1]
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{batch_id}.parquet.tmp"
        select = self._accepted_select(batch_id, ingested_at, source_file)
        self.con.execute(f"COPY ({select}) TO {sql_literal(str(tmp))} (FORMAT parquet)")
        return tmp


def _abort_pending_result(con: duckdb.DuckDBPyConnection) -> None:
    """Drop a half-fetched result so the connection accepts the rollback."""
    with contextlib.suppress(duckdb.Error):
        con.abort()


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
