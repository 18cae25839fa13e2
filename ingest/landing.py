"""Landing one file: check, scrub, dedupe and write it as one DuckDB transaction.

Per batch of rows read: the rows are scrubbed (secrets, personal data as the contract
classifies it), then the contract query types and checks them and hashes the good ones; broken
rows and good rows are appended to two temporary staging tables of this file (DuckDB spills
them to its temporary directory beyond its memory limit, writes no WAL for them and drops them
with the connection, so a crash leaves nothing behind; appending batch by batch inside one
transaction instead keeps every batch in memory until the commit). Then one transaction lands
the file: one set-based pass finds the staged rows whose natural key repeats in the file or is
already stored, and classifies only those:

* first row of a new natural key → accepted (``raw.<table>`` and
  ``landing/<table>/<batch_id>.parquet``);
* key seen with the same payload hash, or a payload already recorded as a collision or seen
  earlier in the file → duplicate (counted, dropped);
* key seen with another payload hash → collision (``raw.ingest_collisions``; the first row
  stays).

The raw rows, quarantine, collisions and the ``raw.ingest_batches`` row commit together, so a
crash never leaves half a file in ``raw``; the Parquet file is renamed into place only after the
commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from ingest.cloudevents import EVENT_PROBLEM, with_event_problem
from ingest.contracts import Contract, LogicalType, RecordKind
from ingest.key_types import may_be_no_key, original_key_problem, string_key_fields
from ingest.quarantine import fields_record, quarantine_reasons, record_text, text_record
from ingest.readers import (
    RECORD,
    Original,
    ParquetSource,
    RawBatch,
    RejectedRow,
    Source,
    as_text,
    read_ahead,
)
from ingest.scrub import scrub_frame, scrub_secrets
from ingest.summary import FileResult
from ingest.tables import BATCHES_TABLE, COLLISIONS_TABLE, QUARANTINE_TABLE
from ingest.validate import (
    CANONICAL,
    PAYLOAD_HASH,
    REASON,
    ROW_NUMBER,
    SHA256_FUNCTION,
    quote_identifier,
    register_sha256,
    sql_literal,
    typed_passthrough,
    validation_sql,
)

#: Where older versions staged a file's rows in persistent tables; dropped when left over.
STAGING_SCHEMA = "ingest_staging"
_SUSPECTS = "_ingest_suspects"
_BATCH_VIEW = "_ingest_batch_raw"
_PURGED_ROWS = "_ingest_purged_rows"
#: A quarantine row as staged: the row's number in its file, why, and the record as JSON text.
_QUARANTINE_SCHEMA = {"row_number": pl.Int64, "reason": pl.String, "raw_record": pl.String}

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


#: an RFC 3339 date-time without its UTC offset (which the contract reads as UTC)
_WITHOUT_OFFSET = r"^\s*\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?\s*$"


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
    #: the file as it was given, when ``source`` reads a copy of it (a decompressed export):
    #: what the batch records as its source file and hashes
    origin: Path | None = None

    def __post_init__(self) -> None:
        self.started_at = _utc_now()
        self.batch_id = new_batch_id()
        self.given_path = self.origin or self.source.path
        # as the warehouse stores it: a secret in a path (`exports/token=ghp_…/runs.ndjson`)
        # is scrubbed like any free text (the error messages that quote a path already were)
        self.source_file = scrub_secrets(str(self.given_path.resolve()))
        directory = self.landing_root / self.contract.table.split(".")[-1]
        self._landing_file = LandingFile(directory, self.batch_id)
        stage_name = "b" + self.batch_id.replace("-", "_")
        self._stage = f"temp.main._ingest_rows_{stage_name}"
        self._quarantine_stage = f"temp.main._ingest_quarantine_{stage_name}"
        #: Business events keep the CloudEvents JSON format too, checked on each whole record
        #: (:data:`ingest.readers.RECORD`) by the receiver's rules (:mod:`ingest.cloudevents`).
        self._cloudevents = self.contract.kind is RecordKind.BUSINESS_EVENT
        self._object_fields = frozenset(
            p.name for p in self.contract.properties if p.logical_type is LogicalType.OBJECT
        )

    def _naive_timestamps(self, frame: pl.DataFrame) -> str | None:
        """A note when the first batch's timestamps (runs, steps, queue samples) carry no UTC
        offset: the contract reads them as UTC, which a local-time export is not. A business
        event's time needs its offset (CloudEvents): it is quarantined instead."""
        if self._cloudevents:
            return None
        for prop in self.contract.properties:
            if prop.logical_type is not LogicalType.TIMESTAMP or prop.name not in frame.columns:
                continue
            column = frame[prop.name]
            naive_column = isinstance(self.source, ParquetSource) and (
                prop.name in self.source.timestamps_without_zone()
            )
            if naive_column:
                return (
                    f"{prop.name} is a timestamp column without a time zone, nor may others: "
                    "read as UTC. If the export is in local time, write the column with its zone "
                    "(or convert it to UTC) and ingest it again."
                )
            if column.dtype != pl.String:
                continue
            naive = frame.filter(column.str.contains(_WITHOUT_OFFSET))
            if naive.height:
                value, row = naive[prop.name][0], naive[ROW_NUMBER][0]
                return (
                    f"{prop.name} {value!r} (row {row}) has no UTC offset, nor may others: read "
                    "as UTC. If the export is in local time, add the offset (+02:00) or convert "
                    "it to UTC and ingest it again."
                )
        return None

    def run(self) -> FileResult:
        path = self.given_path
        result = FileResult(path=path, kind=self.contract.kind, batch_id=self.batch_id)
        # hashing the whole file releases the GIL: let it run beside the parsing
        hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-sha256")
        sha256 = hasher.submit(file_sha256, path)
        hasher.shutdown(wait=False)
        staged = 0
        prepare_connection(self.con)
        self._create_staging_tables()
        try:
            if isinstance(self.source, ParquetSource):
                batches = self.source.batches(
                    self.contract.field_names,
                    self.batch_rows,
                    typed_ok=typed_passthrough(self.contract),
                    records=self._cloudevents,
                )
            else:
                batches = self.source.batches(
                    self.contract.field_names, self.batch_rows, records=self._cloudevents
                )
            for batch, refused in read_ahead(self._scrubbed(batches)):
                if not result.rows_read and (note := self._naive_timestamps(batch.frame)):
                    result.notes.append(note)
                result.rows_read += batch.rows_read
                result.quarantined += self._quarantine_rejected(batch.rejected)
                if batch.frame.height:
                    broken = self._check_and_stage(batch, refused)
                    result.quarantined += broken
                    staged += batch.frame.height - broken
                self.progress(f"{path.name}: {result.rows_read:,} rows read")
            purged, repeats = self._quarantine_purged_period()
            result.quarantined += purged
            staged -= purged + repeats
            self.con.begin()
            try:
                duplicates, result.collisions = self._classify()
                result.accepted = staged - duplicates - result.collisions
                result.duplicates = duplicates + repeats
                self._land(result)
                self.con.execute(
                    f"INSERT INTO {BATCHES_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        self.batch_id,
                        self.source_file,
                        sha256.result(),
                        self.contract.kind.value,
                        result.rows_read,
                        result.accepted,
                        result.duplicates,
                        result.collisions,
                        result.quarantined,
                        self.started_at,
                        _utc_now(),
                    ],
                )
                self.con.commit()
            except BaseException:
                _abort_pending_result(self.con)
                self.con.rollback()
                self._landing_file.discard()
                raise
        finally:
            _abort_pending_result(self.con)
            self._drop_staging_tables()
        if result.accepted:
            self._landing_file.publish()
        if result.quarantined:
            result.quarantine_reasons, result.distinct_reasons = quarantine_reasons(
                self.con, self.batch_id
            )
        return result

    # -- staging: temporary tables of this connection, written batch by batch --------------------

    def _create_staging_tables(self) -> None:
        # an older version's persistent staging, left over from a crash: the writer lock is ours
        self.con.execute(f"DROP SCHEMA IF EXISTS {STAGING_SCHEMA} CASCADE")
        # the contract's fields, row number and payload hash: the batch id, ingest time and
        # source file are the same for every row of the file and join them only in raw.<table>
        staged = ", ".join(quote_identifier(name) for name in self._staged_columns())
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self._stage.removeprefix('temp.main.')} AS "
            f"SELECT {staged} FROM {self.contract.table} LIMIT 0"
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self._quarantine_stage.removeprefix('temp.main.')} "
            "(row_number BIGINT, reason VARCHAR, raw_record VARCHAR)"
        )

    def _staged_columns(self) -> list[str]:
        return [*self.contract.field_names, ROW_NUMBER, PAYLOAD_HASH]

    def _drop_staging_tables(self) -> None:
        for table in (_SUSPECTS, self._stage, self._quarantine_stage):
            self.con.execute(f"DROP TABLE IF EXISTS {table}")

    # -- per batch ---------------------------------------------------------------------------

    def _scrubbed(self, batches: Iterator[RawBatch]) -> Iterator[tuple[RawBatch, pl.DataFrame]]:
        """Each batch scrubbed before its check (:func:`ingest.scrub.scrub_frame`, the receiver's
        rules too), so quarantined rows are scrubbed and the payload hash is the one the
        receiver's records get, with the rows the scrubber refused (row number and reason).
        Runs on the read-ahead thread, beside DuckDB's work."""
        key_fields = string_key_fields(self.contract)
        for batch in batches:
            refused: dict[int, str] = {}
            if batch.frame.height:
                no_keys = self._keys_not_keys(batch, key_fields)
                scrubbed = scrub_frame(self.contract, batch.frame, self.pii_key)
                batch.frame, refused = scrubbed.frame, {**scrubbed.refused, **no_keys}
            numbers = batch.frame[ROW_NUMBER].gather(list(refused)) if refused else []
            yield (
                batch,
                pl.DataFrame(
                    {ROW_NUMBER: numbers, REASON: list(refused.values())},
                    schema={ROW_NUMBER: pl.Int64, REASON: pl.String},
                ),
            )

    @staticmethod
    def _keys_not_keys(batch: RawBatch, key_fields: tuple[str, ...]) -> dict[int, str]:
        """The rows whose key field the file gives as a JSON object, array or boolean, by
        position, with the reason (:mod:`ingest.key_types`)."""
        suspects = may_be_no_key(batch.frame, key_fields)
        if not suspects or batch.originals is None:
            return {}
        numbers = batch.frame[ROW_NUMBER].gather(suspects).to_list()
        problems = {}
        for position, original in zip(suspects, batch.originals(numbers), strict=True):
            if (problem := original_key_problem(original, key_fields)) is not None:
                problems[position] = problem
        return problems

    def _check_and_stage(self, batch: RawBatch, refused: pl.DataFrame) -> int:
        """Type, check and hash one scrubbed batch; quarantine the broken rows (and those the
        scrubber ``refused``), stage the good.

        One ``INSERT … SELECT`` checks, hashes (:data:`SHA256_FUNCTION`) and stages the good rows
        without the batch leaving DuckDB; only when it staged fewer rows than the batch holds are
        the broken rows' reasons asked for.
        """
        frame = batch.frame
        if refused.height:
            self._quarantine_broken(batch, refused)
            frame = frame.join(refused, on=ROW_NUMBER, how="anti")
        self.con.register(_BATCH_VIEW, _as_arrow(frame))
        try:
            typed_fields = {
                name
                for name, dtype in frame.schema.items()
                if name in self.contract.field_names and dtype != pl.String
            }
            relation, prior_reason = _BATCH_VIEW, None
            if self._cloudevents:
                relation, prior_reason = with_event_problem(_BATCH_VIEW, RECORD), EVENT_PROBLEM
            checked = validation_sql(
                self.contract,
                relation,
                hash_in_sql=False,
                typed_fields=typed_fields,
                prior_reason=prior_reason,
            )
            fields = ", ".join(quote_identifier(name) for name in self.contract.field_names)
            staged = self.con.execute(
                f"INSERT INTO {self._stage} SELECT {fields}, {ROW_NUMBER}, "
                f"{SHA256_FUNCTION}({CANONICAL}) FROM ({checked}) WHERE {REASON} IS NULL"
            ).fetchone()
            broken_count = frame.height - (int(staged[0]) if staged else 0)
            if broken_count:
                broken = self.con.sql(
                    f"SELECT {ROW_NUMBER}, {REASON} FROM ({checked}) WHERE {REASON} IS NOT NULL"
                ).pl()
                self._quarantine_broken(batch, broken)
        finally:
            self.con.unregister(_BATCH_VIEW)
        return broken_count + refused.height

    def _quarantine_broken(self, batch: RawBatch, broken: pl.DataFrame) -> None:
        """The rows that broke the contract, each with its reasons and its whole record as the
        file holds it (scrubbed), or else the contract fields the batch has of it."""
        broken = broken.sort(ROW_NUMBER)
        numbers = broken[ROW_NUMBER].to_list()
        originals = batch.originals(numbers) if batch.originals else [None] * len(numbers)
        raw_records = [self._record_text(original) for original in originals]
        if None in raw_records:
            # typed Parquet columns: the text the reader renders otherwise, so it reads alike
            rows = as_text(broken.join(batch.frame, on=ROW_NUMBER, how="left"))
            fields = self.contract.field_names
            raw_records = [
                raw or fields_record({name: row[name] for name in fields}, self._object_fields)
                for raw, row in zip(raw_records, rows.iter_rows(named=True), strict=True)
            ]
        reasons = [scrub_secrets(reason) for reason in broken[REASON].to_list()]
        self._insert_quarantine(list(zip(numbers, reasons, raw_records, strict=True)))

    def _record_text(self, original: Original | None) -> str | None:
        return record_text(original, self.contract, self.pii_key)

    def _quarantine_rejected(self, rejected: list[RejectedRow]) -> int:
        """Records the reader could not take: a JSON object (one holding NaN, say) as any
        quarantined record, other text as a JSON string, its secrets and cards scrubbed."""
        records = [
            (
                row.row_number,
                scrub_secrets(row.reason),
                self._record_text(row.raw_text) or text_record(row.raw_text),
            )
            for row in rejected
        ]
        self._insert_quarantine(records)
        return len(records)

    def _insert_quarantine(self, records: list[tuple[int, str, str]]) -> None:
        if not records:
            return
        frame = pl.DataFrame(records, schema=_QUARANTINE_SCHEMA, orient="row")
        self.con.register("_ingest_quarantine", frame)
        try:
            self.con.execute(
                f"INSERT INTO {self._quarantine_stage} SELECT row_number, reason, raw_record "
                "FROM _ingest_quarantine"
            )
        finally:
            self.con.unregister("_ingest_quarantine")

    # -- per file ----------------------------------------------------------------------------

    def _quarantine_purged_period(self) -> tuple[int, int]:
        """Take the staged rows of a period `flowledger purge` removed out of the file: each goes
        to quarantine with the table's horizon in its reason (flowledger/retention.py
        ``purged_period``), so re-ingesting a purged file puts nothing back and counts nothing
        twice, unless that very row is already quarantined for it (OpenLineage runs land again
        before every build) or comes twice in the file: such a repeat counts as a duplicate.
        Returns (quarantined, repeats). Read a batch at a time, like the file."""
        from flowledger.retention import PURGED_PERIOD_REASON, purged_period

        period = purged_period(self.con, self.contract.table.split(".")[-1])
        if period is None:
            return 0, 0
        # the common case, new rows only, is told by the staged rows alone
        old_rows = self.con.execute(
            f"SELECT count(*) FROM {self._stage} AS staged WHERE {period.timed_before()}"
        ).fetchall()
        if not old_rows[0][0]:
            return 0, 0
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_PURGED_ROWS} AS "
            f"SELECT {ROW_NUMBER}, (row_number() OVER (ORDER BY {ROW_NUMBER}) - 1) // "
            f"{max(self.batch_rows, 1)} AS chunk FROM {self._stage} AS staged "
            f"WHERE {period.condition(self._stage)}"
        )
        found = self.con.execute(f"SELECT count(*), max(chunk) FROM {_PURGED_ROWS}").fetchall()
        total, chunks = found[0][0], found[0][1]
        quarantined = 0
        try:
            for chunk in range(0 if chunks is None else chunks + 1):
                rows = self.con.sql(
                    f"SELECT staged.* FROM {self._stage} AS staged JOIN {_PURGED_ROWS} "
                    f"USING ({ROW_NUMBER}) WHERE chunk = {chunk}"
                ).pl()
                records = pl.DataFrame(
                    [
                        (
                            row[ROW_NUMBER],
                            period.reason(row[period.time_column]),
                            fields_record(
                                {name: row[name] for name in self.contract.field_names},
                                self._object_fields,
                            ),
                        )
                        for row in as_text(rows).iter_rows(named=True)
                    ],
                    schema=_QUARANTINE_SCHEMA,
                    orient="row",
                )
                self.con.register("_ingest_purged_records", records)
                try:
                    # one row per record: a copy later in the file, or in an earlier chunk,
                    # or already quarantined for it, is a repeat
                    inserted = self.con.execute(
                        f"INSERT INTO {self._quarantine_stage} SELECT row_number, reason, "
                        "raw_record FROM (SELECT * FROM _ingest_purged_records QUALIFY "
                        "row_number() OVER (PARTITION BY raw_record ORDER BY row_number) = 1) "
                        f"ANTI JOIN (SELECT raw_record FROM {QUARANTINE_TABLE} "
                        "WHERE record_kind = ? AND starts_with(reason, ?) "
                        f"UNION ALL SELECT raw_record FROM {self._quarantine_stage} "
                        "WHERE starts_with(reason, ?)) USING (raw_record)",
                        [self.contract.kind.value, PURGED_PERIOD_REASON, PURGED_PERIOD_REASON],
                    ).fetchall()
                finally:
                    self.con.unregister("_ingest_purged_records")
                quarantined += int(inserted[0][0])
            if total:
                self.con.execute(
                    f"DELETE FROM {self._stage} WHERE {ROW_NUMBER} IN "
                    f"(SELECT {ROW_NUMBER} FROM {_PURGED_ROWS})"
                )
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {_PURGED_ROWS}")
        return quarantined, total - quarantined

    def _classify(self) -> tuple[int, int]:
        """Find the staged rows whose key repeats in the file or is stored; classify only those."""
        from flowledger.retention import purged_keys_table

        table = self.contract.table
        keys = ", ".join(quote_identifier(key) for key in self.contract.natural_key)
        kind = sql_literal(self.contract.kind.value)
        # a key a purge took is still taken by its payload: another payload under it is a
        # collision. The same payload again is judged as before the purge: a row of the purged
        # period was quarantined before this, one a purge keeps (a step of a run that came late)
        # is welcome back, so the ledger does not speak for it.
        purged = purged_keys_table(self.con, table.split(".")[-1])
        purged_keys = (
            f"""
    UNION ALL
    SELECT {keys}, any_value({PAYLOAD_HASH}) FROM {purged}
    SEMI JOIN this_batch USING ({keys}) ANTI JOIN {table} USING ({keys})
    ANTI JOIN this_batch USING ({keys}, {PAYLOAD_HASH}) GROUP BY ALL"""
            if purged
            else ""
        )
        self.con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE {_SUSPECTS} AS
WITH this_batch AS (
    SELECT {keys}, {ROW_NUMBER}, {PAYLOAD_HASH} FROM {self._stage}
), repeated AS (
    SELECT {keys} FROM this_batch GROUP BY ALL HAVING count(*) > 1
), stored AS (
    SELECT {keys}, {PAYLOAD_HASH} AS _stored_hash
    FROM {table} SEMI JOIN this_batch USING ({keys}){purged_keys}
), suspects AS (
    SELECT this_batch.*, stored._stored_hash
    FROM this_batch LEFT JOIN stored USING ({keys})
    WHERE stored._stored_hash IS NOT NULL
        OR ({keys}) IN (SELECT ({keys}) FROM repeated)
), ranked AS (
    SELECT *,
        row_number() OVER in_file AS _key_rank,
        first_value({PAYLOAD_HASH}) OVER in_file AS _first_in_file,
        row_number() OVER (PARTITION BY {keys}, {PAYLOAD_HASH} ORDER BY {ROW_NUMBER})
            AS _payload_rank
    FROM suspects
    WINDOW in_file AS (PARTITION BY {keys} ORDER BY {ROW_NUMBER})
)
SELECT {ROW_NUMBER},
    CASE
        WHEN _stored_hash = {PAYLOAD_HASH} THEN 'duplicate'
        WHEN {PAYLOAD_HASH} IN (
            SELECT payload_hash FROM {COLLISIONS_TABLE} WHERE record_kind = {kind}
        ) THEN 'duplicate'
        -- a collision payload again later in the file: one collision, as across files
        WHEN _payload_rank > 1 THEN 'duplicate'
        WHEN _stored_hash IS NOT NULL THEN 'collision'
        WHEN _key_rank = 1 THEN 'accepted'
        WHEN {PAYLOAD_HASH} = _first_in_file THEN 'duplicate'
        ELSE 'collision'
    END AS _class,
    coalesce(_stored_hash, _first_in_file) AS _first_payload_hash
FROM ranked
"""
        )
        counts = self.con.execute(
            f"SELECT count(*) FILTER (_class = 'duplicate'), count(*) FILTER (_class = 'collision')"
            f" FROM {_SUSPECTS}"
        ).fetchone()
        assert counts is not None
        return int(counts[0]), int(counts[1])

    def _land(self, result: FileResult) -> None:
        """Inside the file's transaction: accepted rows, collisions, quarantine, landing file.
        Quarantine rows stored before count as duplicates in ``result``."""
        staged = ", ".join(quote_identifier(name) for name in self._staged_columns())
        self.con.execute(
            f"INSERT INTO {self.contract.table} BY NAME SELECT {staged}, "
            "?::VARCHAR AS _batch_id, ?::TIMESTAMP AS _ingested_at, ?::VARCHAR AS _source_file "
            f"FROM {self._stage} ANTI JOIN "
            f"(SELECT {ROW_NUMBER} FROM {_SUSPECTS} WHERE _class <> 'accepted') USING "
            f"({ROW_NUMBER})",
            [self.batch_id, self.started_at, self.source_file],
        )
        if result.collisions:
            self._record_collisions()
        repeats = self._land_quarantine()
        result.quarantined -= repeats
        result.duplicates += repeats
        if result.accepted:
            self._write_landing_parquet()

    def _land_quarantine(self) -> int:
        """Store the staged quarantine rows; returns how many were repeats, not stored.

        A row already in ``raw.quarantine`` (same record kind, reason and raw record), or one
        that comes again later in the file, is a repeat: it counts as a duplicate, so
        ingesting a file with broken rows twice changes nothing (as the purged-period rows)."""
        staged = self.con.execute(f"SELECT count(*) FROM {self._quarantine_stage}").fetchall()
        if not staged[0][0]:
            return 0
        inserted = self.con.execute(
            f"INSERT INTO {QUARANTINE_TABLE} SELECT ?, ?, ?, ?, row_number, reason, raw_record "
            f"FROM (SELECT * FROM {self._quarantine_stage} QUALIFY row_number() OVER "
            "(PARTITION BY reason, raw_record ORDER BY row_number) = 1) "
            f"ANTI JOIN (SELECT reason, raw_record FROM {QUARANTINE_TABLE} "
            "WHERE record_kind = ?) USING (reason, raw_record)",
            [
                self.batch_id,
                self.started_at,
                self.source_file,
                self.contract.kind.value,
                self.contract.kind.value,
            ],
        ).fetchall()
        return int(staged[0][0]) - int(inserted[0][0])

    def _record_collisions(self) -> None:
        key = ", ".join(
            f"{quote_identifier(name)} := t.{quote_identifier(name)}"
            for name in self.contract.natural_key
        )
        record = ", ".join(
            f"{quote_identifier(p.name)} := t.{quote_identifier(p.name)}"
            + ("::JSON" if p.logical_type is LogicalType.OBJECT else "")
            for p in self.contract.properties
        )
        self.con.execute(
            f"""
INSERT INTO {COLLISIONS_TABLE}
SELECT ?, ?, ?, ?, t.{ROW_NUMBER}, to_json(struct_pack({key}))::VARCHAR,
    s._first_payload_hash, t.{PAYLOAD_HASH}, to_json(struct_pack({record}))::VARCHAR
FROM {self._stage} t JOIN {_SUSPECTS} s USING ({ROW_NUMBER})
WHERE s._class = 'collision'
""",
            [self.batch_id, self.started_at, self.source_file, self.contract.kind.value],
        )

    def _write_landing_parquet(self) -> None:
        """The accepted rows of this batch, scrubbed, as ``landing/<table>/<batch_id>.parquet``."""
        self._landing_file.directory.mkdir(parents=True, exist_ok=True)
        self.con.execute(
            f"COPY (SELECT * FROM {self.contract.table} WHERE _batch_id = "
            f"{sql_literal(self.batch_id)}) TO {sql_literal(str(self._landing_file.tmp))} "
            "(FORMAT parquet)"
        )


class LandingFile:
    """``landing/<table>/<batch_id>.parquet``: written under a hidden temporary name, renamed
    into place only once the batch has committed."""

    def __init__(self, directory: Path, batch_id: str) -> None:
        self.directory = directory
        self.tmp = directory / f".{batch_id}.parquet.tmp"
        self.final = directory / f"{batch_id}.parquet"

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)

    def publish(self) -> None:
        os.replace(self.tmp, self.final)


def prepare_connection(con: duckdb.DuckDBPyConnection, memory_limit: str | None = None) -> None:
    """Session settings landing relies on; safe to repeat.

    UTC so that timestamps without an offset mean UTC; a memory limit (when given; a second
    call without one keeps it) so DuckDB spills instead of growing with the file; no insertion
    order, because ``_row_number`` carries the order and DuckDB then writes in parallel; the
    payload-hash function the contract query calls.
    """
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit is not None:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    register_sha256(con)


def _as_arrow(frame: pl.DataFrame) -> pa.Table:
    """Zero-copy Arrow (string views) for DuckDB to scan: about twice as fast as the frame."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def _abort_pending_result(con: duckdb.DuckDBPyConnection) -> None:
    """Drop a half-fetched result so the connection accepts the rollback."""
    with contextlib.suppress(duckdb.Error):
        con.abort()


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
