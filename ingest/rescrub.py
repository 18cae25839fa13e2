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
from flowledger.warehouse import WarehouseBusy, connect_for_maintenance, mark_purged, writer_lock
from ingest.contracts import Contract, LogicalType, RecordKind, load_contracts
from ingest.json_values import Pairs, loads_as_written, value_as_text
from ingest.landing import prepare_connection
from ingest.quarantine import cap_raw_record, fields_record, record_text, text_record
from ingest.scrub import (
    EVENT_DATA_PREFILTER,
    TEXT_PREFILTER,
    Key,
    load_pii_key,
    mask_account_numbers,
    scrub_data,
    scrub_frame,
    scrub_secrets,
    scrubber_for,
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
    #: landing files written again (those of this run, and any an interrupted run left)
    landing_files: int = 0
    #: landing files an interrupted run left to write (what a dry run finds)
    landing_pending: int = 0
    #: False when the data directory holds no warehouse yet
    stored: bool = True

    @property
    def changed(self) -> bool:
        """Whether it changed (or would change) a stored row."""
        return bool(
            self.quarantine_rewritten
            or self.collisions_rewritten
            or any(item.rewritten or item.quarantined for item in self.tables)
        )


def rescrub(data_dir: DataDir, *, dry_run: bool = False) -> RescrubReport:
    """Scrub every stored row again under the writer lock; report what changed (or would)."""
    from flowledger.build import refresh_fully_next

    if not data_dir.warehouse.exists():
        return RescrubReport(tables=[], stored=False)
    key: Key = functools.cache(lambda: load_pii_key(data_dir.root / "secrets"))
    contracts = load_contracts()
    with writer_lock(data_dir):
        con = connect_for_maintenance(data_dir, "Nothing was scrubbed.", attach_marts=False)
        try:
            prepare_connection(con, MEMORY_LIMIT)
            ensure_raw_tables(con)
            pending_before = _pending_landing(con)
            con.execute("begin transaction")
            report = RescrubReport(
                tables=[_rescrub_table(con, contract, key) for contract in contracts.values()],
                landing_pending=pending_before,
            )
            report.quarantine_rewritten = _rescrub_quarantine(con, contracts, key)
            report.collisions_rewritten = sum(
                _rescrub_collisions(con, contract, key) for contract in contracts.values()
            )
            if dry_run or not report.changed:  # the file stays as it was
                con.execute("rollback")
            else:
                con.execute(
                    f"create table if not exists {PENDING_LANDING_TABLE} "
                    "(table_name varchar, batch_id varchar)"
                )
                pending = [(i.table, batch) for i in report.tables for batch in i.batches]
                if pending:
                    con.executemany(f"insert into {PENDING_LANDING_TABLE} values (?, ?)", pending)
                # before the commit: a run cut short after it still has them
                mark_purged(data_dir)  # the next build writes the files afresh
                refresh_fully_next(data_dir, "stored rows were scrubbed again (flowledger rescrub)")
                con.execute("commit")
            if not dry_run:
                report.landing_files = _write_pending_landing(con, data_dir)
        finally:
            con.close()
    return report


def _pending_landing(con: duckdb.DuckDBPyConnection) -> int:
    """The landing files an interrupted run left to write."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name = ?",
        [PENDING_LANDING_TABLE.removeprefix("raw.")],
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute(
        f"select count(*) from (select distinct * from {PENDING_LANDING_TABLE})"
    ).fetchone()[0]


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
        "create or replace temp table rescrub_refused ("
        + ", ".join(
            ["_rid bigint", "reason varchar", *(f"{quote_identifier(n)} varchar" for n in columns)]
        )
        + ")"
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
                refused_rows = (
                    scrubbed.frame[refused]
                    .insert_column(0, frame["_rid"][refused])
                    .with_columns(
                        pl.Series("reason", [scrubbed.refused[position] for position in refused])
                    )
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
            f"create or replace temp table rehashed as select rowid as _rid, _payload_hash as old "
            f"from {table} where rowid in (select _rid from rescrubbed)"
        )
        con.execute(
            f"update {table} set _payload_hash = sha256({canonical_json_sql(contract)}) "
            "where rowid in (select _rid from rescrubbed)"
        )
        # a collision names the stored row's payload hash it differed from
        con.execute(
            f"update {COLLISIONS_TABLE} as c set first_payload_hash = t._payload_hash "
            f"from rehashed as r inner join {table} as t on t.rowid = r._rid "
            f"where c.record_kind = {sql_literal(contract.kind.value)} "
            "and c.first_payload_hash = r.old"
        )
    if item.quarantined:
        _quarantine_refused(con, contract, item.table, columns, objects)
    return item


def _quarantine_refused(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    table_name: str,
    columns: list[str],
    objects: set[str],
) -> None:
    """Move the refused rows into the quarantine: each record holds every field the row has
    (the scrubbed ones as scrubbed), as ingest quarantines a row of a purged period."""
    table = contract.table
    fields = contract.field_names
    as_text = ", ".join(f"cast(t.{quote_identifier(n)} as varchar) as {quote_identifier(n)}"
                        for n in fields)  # fmt: skip
    scrubbed = ", ".join(f"r.{quote_identifier(n)} as {quote_identifier('_scrubbed_' + n)}"
                         for n in columns)  # fmt: skip
    rows = con.execute(
        f"select r._rid, r.reason, {as_text}, {scrubbed} from {table} as t "
        "inner join rescrub_refused as r on t.rowid = r._rid order by r._rid"
    ).fetchall()
    names = ["_rid", "reason", *fields, *("_scrubbed_" + n for n in columns)]
    note = MOVED_NOTE.format(table=table_name)
    moved = []
    for row in rows:
        values = dict(zip(names, row, strict=True))
        record = {n: values[n] for n in fields} | {n: values["_scrubbed_" + n] for n in columns}
        moved.append((values["_rid"], f"{values['reason']} {note}", fields_record(record, objects)))
    con.execute(
        "create or replace temp table rescrub_moved (_rid bigint, reason varchar, record varchar)"
    )
    con.executemany("insert into rescrub_moved values (?, ?, ?)", moved)
    con.execute(
        f"insert into {QUARANTINE_TABLE} (batch_id, quarantined_at, source_file, record_kind, "
        "row_number, reason, raw_record) "
        f"select t._batch_id, ?, t._source_file, {sql_literal(contract.kind.value)}, "
        "t._row_number, m.reason, m.record "
        f"from {table} as t inner join rescrub_moved as m on t.rowid = m._rid",
        [datetime.now(UTC).replace(tzinfo=None)],
    )
    con.execute(f"delete from {table} where rowid in (select _rid from rescrub_moved)")


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


def _rescrub_quarantine(
    con: duckdb.DuckDBPyConnection, contracts: dict[RecordKind, Contract], key: Key
) -> int:
    """The quarantine's records and reasons scrubbed again; how many rows changed. Only the
    texts the scrubber's prefilters flag can change: the others are not decoded."""
    by_kind = {contract.kind.value: contract for contract in contracts.values()}
    changed: list[tuple[int, str | None, str | None]] = []
    for kind in con.execute(f"select distinct record_kind from {QUARANTINE_TABLE}").fetchall():
        contract = by_kind.get(kind[0])
        record_filter = (
            scrubber_for(contract).record_prefilter if contract else EVENT_DATA_PREFILTER
        )
        frame = con.sql(
            f"select rowid as _rid, reason, raw_record from {QUARANTINE_TABLE} "
            "where record_kind is not distinct from $kind",
            params={"kind": kind[0]},
        ).pl()
        flagged = frame.filter(
            pl.col("raw_record").str.contains(record_filter).fill_null(False)
            | pl.col("reason").str.contains(TEXT_PREFILTER).fill_null(False)
        )
        for rowid, old_reason, record in flagged.iter_rows():
            new_record = _rescrubbed_record(record, contract, key)
            new_reason = scrub_secrets(old_reason) if old_reason is not None else None
            if _decoded(new_record) != _decoded(record) or new_reason != old_reason:
                changed.append((rowid, new_reason, new_record))
    if changed:
        con.execute(
            "create or replace temp table rescrubbed_records "
            "(_rid bigint, reason varchar, record varchar)"
        )
        con.executemany("insert into rescrubbed_records values (?, ?, ?)", changed)
        con.execute(
            f"update {QUARANTINE_TABLE} set reason = n.reason, raw_record = n.record "
            f"from rescrubbed_records as n where {QUARANTINE_TABLE}.rowid = n._rid"
        )
    return len(changed)


def _rescrub_collisions(con: duckdb.DuckDBPyConnection, contract: Contract, key: Key) -> int:
    """The collisions of one record kind scrubbed again, as ingest writes one now: the record's
    fields (``to_json`` of the typed fields) and its payload hash; how many rows changed."""
    columns = _scrubbed_columns(contract)
    objects = {p.name for p in contract.properties if p.logical_type is LogicalType.OBJECT}
    kind = sql_literal(contract.kind.value)

    def read(name: str) -> str:  # a field of the stored record, as text
        path = sql_literal("$." + json.dumps(name))
        if name in objects:
            return f"cast(json_extract(raw_record, {path}) as varchar)"
        return f"json_extract_string(raw_record, {path})"

    frame = con.sql(
        "select rowid as _rid, raw_record, "
        + ", ".join(f"{read(n)} as {quote_identifier(n)}" for n in columns)
        + f" from {COLLISIONS_TABLE} where record_kind = {kind}"
    ).pl()
    # only a record the prefilter flags (over its whole JSON, as ingest's) can change
    frame = frame.filter(
        pl.col("raw_record").str.contains(scrubber_for(contract).record_prefilter).fill_null(False)
    )
    if frame.is_empty():
        return 0
    scrubbed = scrub_frame(contract, frame.select(columns), key)
    changed = _changed_rows(frame, scrubbed.frame, columns, objects)
    if not changed.any():
        return 0
    rewritten = scrubbed.frame.filter(changed).insert_column(0, frame["_rid"].filter(changed))
    con.execute(
        "create or replace temp table rescrubbed_collisions ("
        + ", ".join(["_rid bigint", *(f"{quote_identifier(n)} varchar" for n in columns)])
        + ")"
    )
    _insert(con, "rescrubbed_collisions", rewritten)
    typed = []
    for prop in contract.properties:
        name = quote_identifier(prop.name)
        if prop.name in columns:
            typed.append(f"cast(n.{name} as {prop.duckdb_type}) as {name}")
        else:
            path = sql_literal("$." + json.dumps(prop.name))
            typed.append(
                f"cast(json_extract_string(c.raw_record, {path}) as {prop.duckdb_type}) as {name}"
            )
    record = ", ".join(
        f"{quote_identifier(p.name)} := {quote_identifier(p.name)}"
        + ("::JSON" if p.logical_type is LogicalType.OBJECT else "")
        for p in contract.properties
    )
    con.execute(
        f"""
update {COLLISIONS_TABLE} set raw_record = r.record, payload_hash = r.hash
from (
    select _rid, to_json(struct_pack({record}))::VARCHAR as record,
        sha256({canonical_json_sql(contract)}) as hash
    from (
        select c.rowid as _rid, {", ".join(typed)}
        from {COLLISIONS_TABLE} as c inner join rescrubbed_collisions as n on c.rowid = n._rid
    )
) as r
where {COLLISIONS_TABLE}.rowid = r._rid
"""
    )
    return len(rewritten)


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
    for stale in data_dir.landing.glob("*/.*.rescrub.tmp"):  # a write cut short
        stale.unlink(missing_ok=True)
    if not _pending_landing(con):
        return 0
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
    if not report.stored:
        print(f"nothing is stored in {data_dir.root} yet: nothing to scrub")
        return 0
    verb = "would rewrite" if args.dry_run else "rewrote"
    moved = "would move" if args.dry_run else "moved"
    for item in report.tables:
        print(
            f"{item.table:<22} {item.rows:>10,} rows: {verb} {item.rewritten:,}, "
            f"{moved} {item.quarantined:,} to the quarantine"
        )
    print(f"{'quarantine':<22} {verb} {report.quarantine_rewritten:,} records")
    print(f"{'ingest_collisions':<22} {verb} {report.collisions_rewritten:,} records")
    if not report.changed:
        print("every stored row is scrubbed as the contracts say now: nothing to change")
    if args.dry_run:
        if report.landing_pending:
            print(
                f"{report.landing_pending:,} landing Parquet files are still to be written "
                "again (an interrupted run): `flowledger rescrub` writes them"
            )
        return 0
    if report.landing_files:
        print(f"wrote {report.landing_files:,} landing Parquet files again")
    if report.changed:
        print(
            "run `flowledger build`: it refreshes every model (the marts hold the values as "
            "they were) and writes the warehouse and the marts into fresh files; until then "
            "`warehouse.duckdb` and the published snapshots hold the old values"
        )
    return 0
