"""``flowledger rescrub``: the contracts' scrubbing as it is now, applied to the rows stored before.

A field a contract classifies later (``shipping_address`` after 0.1.0), or a secret form the
scrubber learns later, applies at ingest from then on; the rows stored before keep what they were
stored with. This runs every stored row through today's scrubbing, as ingest would now:

- each raw table: a row whose fields change is rewritten and its payload hash recomputed (the
  same file ingested again is then a duplicate, not a collision); a row the scrubbing refuses
  (its natural key would change, say) moves to the quarantine with the reason ingest gives it;
- the landing Parquet of every batch with a changed row is written again (Spark reads it);
- the quarantine's records and reasons, and the collisions' records.

Redaction is idempotent (a pseudonym, a mask, a redaction stay as they are): a row stored under
the current rules does not change, and a second run changes nothing. After a run that changed
rows the next ``flowledger build`` refreshes fully (the marts hold the values as they were) and
writes the warehouse and the marts into fresh files (the old values' bytes), as after a purge.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import polars as pl
import pyarrow as pa

from flowledger.settings import DataDir
from flowledger.warehouse import WarehouseBusy, connect_warehouse, mark_purged, writer_lock
from ingest.contracts import Contract, LogicalType, RecordKind, load_contracts
from ingest.json_values import Pairs, loads_as_written, value_as_text
from ingest.landing import prepare_connection
from ingest.quarantine import cap_raw_record, fields_record, record_text, text_record
from ingest.scrub import (
    Key,
    load_pii_key,
    mask_account_numbers,
    scrub_data,
    scrub_frame,
    scrub_secrets,
)
from ingest.tables import COLLISIONS_TABLE, QUARANTINE_TABLE, ensure_raw_tables
from ingest.validate import canonical_json_sql, quote_identifier, sql_literal

#: rows scrubbed per batch (each batch's changed rows go into a temporary table)
BATCH_ROWS = 100_000
#: DuckDB's memory while rescrubbing (as ingest's): the changed rows spill beyond it
MEMORY_LIMIT = "512MB"
#: the batches whose landing Parquet is still to be written again: filled in the transaction
#: that rewrites their rows, emptied once the files are written (a run cut short in between
#: writes them the next time)
PENDING_LANDING_TABLE = "raw.rescrub_pending_landing"
#: how the reason of a row this moves to the quarantine ends
MOVED_NOTE = "(moved from {table} by flowledger rescrub)"


@dataclass
class TableRescrub:
    """What rescrubbing one table did (or would do)."""

    table: str
    rows: int = 0
    rewritten: int = 0
    quarantined: int = 0
    #: the batches (``_batch_id``) holding a rewritten or quarantined row
    batches: set[str] = field(default_factory=set)


@dataclass
class RescrubReport:
    tables: list[TableRescrub]
    quarantine_rewritten: int = 0
    collisions_rewritten: int = 0
    landing_files: int = 0

    @property
    def changed(self) -> bool:
        return bool(
            self.quarantine_rewritten
            or self.collisions_rewritten
            or any(item.rewritten or item.quarantined for item in self.tables)
        )


def rescrub(data_dir: DataDir, *, dry_run: bool = False) -> RescrubReport:
    """Scrub every stored row again under the writer lock; report what changed (or would)."""
    from flowledger.build import refresh_fully_next

    if not data_dir.warehouse.exists():
        return RescrubReport(tables=[])
    key: Key = functools.cache(lambda: load_pii_key(data_dir.root / "secrets"))
    contracts = load_contracts()
    with writer_lock(data_dir):
        try:
            con = connect_warehouse(data_dir, attach_marts=False)
        except WarehouseBusy as error:  # it says who holds the file and what to do
            raise WarehouseBusy(f"{error}. Nothing was scrubbed.") from None
        except duckdb.IOException as error:
            raise WarehouseBusy(
                f"{data_dir.warehouse} cannot be opened ({error}). Nothing was scrubbed."
            ) from None
        try:
            prepare_connection(con, MEMORY_LIMIT)
            ensure_raw_tables(con)
            con.execute("begin transaction")
            con.execute(
                f"create table if not exists {PENDING_LANDING_TABLE} "
                "(table_name varchar, batch_id varchar)"
            )
            report = RescrubReport(
                tables=[_rescrub_table(con, contract, key) for contract in contracts.values()]
            )
            report.quarantine_rewritten = _rescrub_records(
                con, QUARANTINE_TABLE, contracts, key, with_reason=True
            )
            report.collisions_rewritten = _rescrub_records(con, COLLISIONS_TABLE, contracts, key)
            if dry_run:
                con.execute("rollback")
                return report
            pending = [(item.table, batch) for item in report.tables for batch in item.batches]
            if pending:
                con.executemany(f"insert into {PENDING_LANDING_TABLE} values (?, ?)", pending)
            if report.changed:  # before the commit: a run cut short after it still has them
                mark_purged(data_dir)  # the next build writes the files afresh
                refresh_fully_next(data_dir, "stored rows were scrubbed again (flowledger rescrub)")
            con.execute("commit")
            report.landing_files = _write_pending_landing(con, data_dir)
        finally:
            con.close()
    return report


def _scrubbed_columns(contract: Contract) -> list[str]:
    """The fields scrubbing may change: classified ones, objects (event data) and texts."""
    return [
        prop.name
        for prop in contract.properties
        if prop.redaction is not None
        or prop.logical_type in (LogicalType.OBJECT, LogicalType.STRING)
    ]


def _rescrub_table(con: duckdb.DuckDBPyConnection, contract: Contract, key: Key) -> TableRescrub:
    """Scrub ``contract``'s raw table again: changed rows rewritten, refused ones quarantined."""
    table = contract.table
    item = TableRescrub(table=table.removeprefix("raw."))
    columns = _scrubbed_columns(contract)
    objects = {p.name for p in contract.properties if p.logical_type is LogicalType.OBJECT}
    as_text = ", ".join(f"cast({quote_identifier(name)} as varchar) as {quote_identifier(name)}"
                        for name in columns)  # fmt: skip
    con.execute(
        "create or replace temp table rescrubbed ("
        + ", ".join(["_rid bigint", *(f"{quote_identifier(name)} varchar" for name in columns)])
        + ")"
    )
    con.execute(
        "create or replace temp table rescrub_refused (_rid bigint, reason varchar, record varchar)"
    )
    reader = con.cursor()
    try:
        batches = reader.sql(f"select rowid as _rid, {as_text} from {table}").to_arrow_reader(
            BATCH_ROWS
        )
        for frame in _frames(batches):
            item.rows += frame.height
            scrubbed = scrub_frame(contract, frame.select(columns), key)
            changed = _changed_rows(frame, scrubbed.frame, columns, objects)
            refused = sorted(scrubbed.refused)
            if refused:
                rows = scrubbed.frame[refused]
                records = [
                    fields_record({name: row[name] for name in columns}, objects)
                    for row in rows.iter_rows(named=True)
                ]
                refused_rows = pl.DataFrame(
                    {
                        "_rid": frame["_rid"][refused],
                        "reason": [scrubbed.refused[position] for position in refused],
                        "record": records,
                    }
                )
                _insert(con, "rescrub_refused", refused_rows)
                changed[refused] = False
            if changed.any():
                rewritten = scrubbed.frame.filter(changed).insert_column(
                    0, frame["_rid"].filter(changed)
                )
                _insert(con, "rescrubbed", rewritten)
    finally:
        reader.close()
    item.rewritten = con.execute("select count(*) from rescrubbed").fetchone()[0]
    item.quarantined = con.execute("select count(*) from rescrub_refused").fetchone()[0]
    if not (item.rewritten or item.quarantined):
        return item
    item.batches = {
        batch
        for (batch,) in con.execute(
            f"select distinct _batch_id from {table} where rowid in "
            "(select _rid from rescrubbed union all select _rid from rescrub_refused)"
        ).fetchall()
        if batch is not None
    }
    if item.rewritten:
        types = {prop.name: prop.duckdb_type for prop in contract.properties}
        assignments = ", ".join(
            f"{quote_identifier(name)} = cast(n.{quote_identifier(name)} as {types[name]})"
            for name in columns
        )
        con.execute(
            f"update {table} set {assignments} from rescrubbed as n where {table}.rowid = n._rid"
        )
        con.execute(
            f"update {table} set _payload_hash = sha256({canonical_json_sql(contract)}) "
            "where rowid in (select _rid from rescrubbed)"
        )
    if item.quarantined:
        note = MOVED_NOTE.format(table=item.table)
        con.execute(
            f"insert into {QUARANTINE_TABLE} (batch_id, quarantined_at, source_file, record_kind, "
            "row_number, reason, raw_record) "
            f"select t._batch_id, ?, t._source_file, {sql_literal(contract.kind.value)}, "
            f"t._row_number, r.reason || ' ' || {sql_literal(note)}, r.record "
            f"from {table} as t inner join rescrub_refused as r on t.rowid = r._rid",
            [datetime.now(UTC).replace(tzinfo=None)],
        )
        con.execute(f"delete from {table} where rowid in (select _rid from rescrub_refused)")
    return item


def _frames(batches: pa.RecordBatchReader) -> Iterator[pl.DataFrame]:
    for batch in batches:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield frame


def _changed_rows(
    before: pl.DataFrame, after: pl.DataFrame, columns: list[str], objects: set[str]
) -> pl.Series:
    """Which rows scrubbing changed: a text changed, or an object's decoded value (its text is
    written back canonical, so formatting alone is no change)."""
    changed = pl.Series([False] * before.height)
    for name in columns:
        differs = before[name].ne_missing(after[name])
        if name in objects and differs.any():
            positions = differs.arg_true().to_list()
            old, new = before[name].to_list(), after[name].to_list()
            for position in positions:
                if _decoded(old[position]) == _decoded(new[position]):
                    differs[position] = False
        changed = changed | differs
    return changed


def _decoded(text: str | None) -> object:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("_rescrub_rows", frame.to_arrow())
    try:
        con.execute(f"insert into {table} by name select * from _rescrub_rows")
    finally:
        con.unregister("_rescrub_rows")


def _rescrub_records(
    con: duckdb.DuckDBPyConnection,
    table: str,
    contracts: dict[RecordKind, Contract],
    key: Key,
    *,
    with_reason: bool = False,
) -> int:
    """The quarantine's or the collisions' records (and reasons) scrubbed again; how many rows
    changed."""
    by_kind = {contract.kind.value: contract for contract in contracts.values()}
    reason = "reason" if with_reason else "null"
    rows = con.execute(f"select rowid, record_kind, {reason}, raw_record from {table}").fetchall()
    changed: list[tuple[int, str | None, str | None]] = []
    for rowid, kind, old_reason, record in rows:
        new_record = _rescrubbed_record(record, by_kind.get(kind), key)
        new_reason = scrub_secrets(old_reason) if old_reason is not None else None
        if _decoded(new_record) != _decoded(record) or new_reason != old_reason:
            changed.append((rowid, new_reason, new_record))
    if changed:
        con.execute(
            "create or replace temp table rescrubbed_records (_rid bigint, reason varchar, record varchar)"
        )
        con.executemany("insert into rescrubbed_records values (?, ?, ?)", changed)
        reason_set = "reason = n.reason, " if with_reason else ""
        con.execute(
            f"update {table} set {reason_set}raw_record = n.record from rescrubbed_records as n "
            f"where {table}.rowid = n._rid"
        )
    return len(changed)


def _rescrubbed_record(text: str | None, contract: Contract | None, key: Key) -> str | None:
    """A quarantined or colliding record's text as ingest would write it now: a JSON object by
    its contract's rules, any other text (a JSON string, a record cut at 64 KiB) as free text."""
    if text is None:
        return None
    try:
        decoded = loads_as_written(text)
    except (ValueError, RecursionError):
        return mask_account_numbers(scrub_secrets(text))
    if isinstance(decoded, str):
        return text_record(decoded)
    if contract is not None:
        rewritten = record_text(text, contract, key)
        if rewritten is not None:
            return rewritten
    elif isinstance(decoded, dict | Pairs | list):  # no contract names its fields: event data's
        return cap_raw_record(value_as_text(scrub_data(decoded, key)))
    return mask_account_numbers(scrub_secrets(text))


def _write_pending_landing(con: duckdb.DuckDBPyConnection, data_dir: DataDir) -> int:
    """Write again the landing Parquet of each pending batch from its raw rows (the file's own
    columns, atomically replaced); how many files were written."""
    written = 0
    pending = con.execute(
        f"select distinct table_name, batch_id from {PENDING_LANDING_TABLE} order by all"
    ).fetchall()
    for table, batch in pending:
        path = data_dir.landing / table / f"{batch}.parquet"
        if path.exists():
            source = sql_literal(str(path))
            names = [
                row[0]
                for row in con.execute(f"describe select * from read_parquet({source})").fetchall()
            ]
            tmp = path.with_name(f".{path.name}.rescrub.tmp")
            con.execute(
                f"copy (select {', '.join(map(quote_identifier, names))} from raw.{table} "
                f"where _batch_id = ?) to {sql_literal(str(tmp))} (format parquet)",
                [batch],
            )
            tmp.replace(path)
            written += 1
        con.execute(
            f"delete from {PENDING_LANDING_TABLE} where table_name = ? and batch_id = ?",
            [table, batch],
        )
    return written


# --- CLI ----------------------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "rescrub",
        help="apply the contracts' current scrubbing (a field classified later, a new secret "
        "rule) to the rows stored before",
    )
    parser.add_argument("--dry-run", action="store_true", help="only report what would change")
    parser.set_defaults(handler=rescrub_command)


def rescrub_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    try:
        report = rescrub(data_dir, dry_run=args.dry_run)
    except WarehouseBusy as error:
        print(f"flowledger rescrub: {error}", file=sys.stderr)
        return 1
    verb = "would rewrite" if args.dry_run else "rewrote"
    moved = "would move" if args.dry_run else "moved"
    for item in report.tables:
        print(
            f"{item.table:<22} {item.rows:>10,} rows: {verb} {item.rewritten:,}, "
            f"{moved} {item.quarantined:,} to the quarantine"
        )
    print(f"{'quarantine':<22} {verb} {report.quarantine_rewritten:,} records")
    print(f"{'ingest_collisions':<22} {verb} {report.collisions_rewritten:,} records")
    if args.dry_run or not report.changed:
        if not report.changed:
            print("every stored row is scrubbed as the contracts say now: nothing to change")
        return 0
    print(f"wrote {report.landing_files:,} landing Parquet files again")
    print(
        "run `flowledger build`: it refreshes every model (the marts hold the values as they "
        "were) and writes the warehouse and the marts into fresh files; until then "
        "`warehouse.duckdb` and the published snapshots hold the old values"
    )
    return 0
