"""How close any ingest can come to DuckDB's raw load: the least work ingest must do, by DuckDB.

    .venv/bin/python bench/ingest/floor.py [--events 10000000] [--format ndjson parquet]
        [--workdir DIR]

Issue 7 asks ingest to run at least half as fast as DuckDB's own load of the same file
(`bench/ingest/run.py` measures both). This measures, on the same generated files (the same
`--workdir` layout as run.py, reused when there), pipelines written entirely in DuckDB SQL
that do only part of what `flowledger ingest` must do, each in a child process into a fresh
DuckDB file, as a ratio to the raw load measured in the same run:

- ``load``: ``CREATE TABLE t AS SELECT * FROM read_json(...)`` (``read_parquet``): the baseline;
- ``load+hash``: the same plus a payload hash for dedupe, the cheapest collision-safe one
  DuckDB has (``md5_number`` of the columns joined as text; no canonical JSON);
- ``load+hash+parquet``: plus the landing Parquet that Spark reads (issue 7 item 4), written
  from the table: the two writes of every accepted row the product keeps (the raw table the
  DuckDB build reads, the Parquet for a distributed engine);
- ``hash+parquet``: the hash and the Parquet only, as if the raw table were a view over the
  landing files;
- ``contract``: DuckDB's own parse of each file (every contract field read as text; Parquet
  integers, booleans and times that may stay typed kept typed), then the contract query
  ``flowledger ingest`` runs on every batch (``ingest.validate.validation_sql``: typing,
  defaults, every check, the canonical JSON), its SHA-256 (``flowledger_sha256``), the rows
  that keep the contract written to one table: ingest redesigned around DuckDB's reader, with
  one write;
- ``contract+parquet``: the same plus the landing Parquet.

None of them scrubs secrets or personal data, classifies repeated keys, quarantines anything
or streams in bounded memory; the ``contract`` ones number no rows (a window numbering rows in
file order runs on one thread) and leave out the CloudEvents checks of business events.
Whatever a pipeline here costs, an ingest that also does those costs more.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import generate, load_average, machine, timed_child  # noqa: E402

PIPELINE = r"""
import json, sys, time, duckdb
db, fmt, pipeline, parquet, *files = sys.argv[1:]
con = duckdb.connect(db)
reader = "read_json" if fmt == "ndjson" else "read_parquet"
seconds = 0.0
def contract_query(source, columns):
    # the product's own contract query over DuckDB's parse of the file (bench/ingest/floor.py)
    from ingest.contracts import LogicalType, load_contracts
    from ingest.landing import prepare_connection
    from ingest.readers import detect_kind
    from ingest.validate import (CANONICAL, REASON, ROW_NUMBER, SHA256_FUNCTION,
        quote_identifier, typed_passthrough, validation_sql)
    prepare_connection(con)
    kind = detect_kind(columns)
    if kind is None:
        raise SystemExit(f"{source}: cannot tell the record kind from its columns {columns}")
    contract = load_contracts()[kind]
    if source.startswith("read_json"):  # every field as text, objects as JSON text
        path = source.split("'")[1]
        given = ", ".join(f"'{name}': 'VARCHAR'" for name in contract.field_names if name in columns)
        source = f"read_json('{path}', columns={{{given}}}, format='newline_delimited')"
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall())
    passthrough = typed_passthrough(contract)
    typed = {name for name, kind in passthrough.items() if name in types and (
        (kind is LogicalType.INTEGER and types[name] in ("BIGINT", "INTEGER"))
        or (kind is LogicalType.BOOLEAN and types[name] == "BOOLEAN")
        or (kind is LogicalType.TIMESTAMP and types[name].startswith("TIMESTAMP")))}
    def text(name):
        if name not in types:
            return "NULL::VARCHAR"
        column = quote_identifier(name)
        if name in typed:
            return column
        if types[name].startswith(("STRUCT", "MAP")) or types[name].endswith("]"):
            return f"to_json({column})::VARCHAR"
        return f"CAST({column} AS VARCHAR)"
    fields = ", ".join(f"{text(name)} AS {quote_identifier(name)}" for name in contract.field_names)
    relation = f"(SELECT {fields}, 0::BIGINT AS {ROW_NUMBER} FROM {source})"
    checked = validation_sql(contract, relation, hash_in_sql=False, typed_fields=typed)
    kept = ", ".join(quote_identifier(name) for name in contract.field_names)
    return (f"SELECT {kept}, {SHA256_FUNCTION}({CANONICAL}) AS _payload_hash "
            f"FROM ({checked}) WHERE {REASON} IS NULL")
def run(number, source, landing):
    columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    joined = ", ".join(f'coalesce(cast("{c}" as varchar), chr(0))' for c in columns)
    hashed = f"SELECT *, md5_number(concat_ws(chr(31), {joined})) AS _payload_hash FROM {source}"
    con.execute(f"DROP TABLE IF EXISTS t{number}")
    if pipeline == "load":
        con.execute(f"CREATE TABLE t{number} AS SELECT * FROM {source}")
    elif pipeline == "load+hash":
        con.execute(f"CREATE TABLE t{number} AS {hashed}")
    elif pipeline == "load+hash+parquet":
        con.execute(f"CREATE TABLE t{number} AS {hashed}")
        con.execute(f"COPY t{number} TO '{landing}' (FORMAT parquet)")
    elif pipeline == "hash+parquet":
        con.execute(f"COPY ({hashed}) TO '{landing}' (FORMAT parquet)")
    elif pipeline.startswith("contract"):
        con.execute(f"CREATE TABLE t{number} AS {contract_query(source, columns)}")
        if pipeline == "contract+parquet":
            con.execute(f"COPY t{number} TO '{landing}' (FORMAT parquet)")
    con.execute("CHECKPOINT")
for number, path in enumerate(files):
    began = time.perf_counter()
    landing = f"{parquet}-{number}.parquet"
    try:
        run(number, f"{reader}('{path}')", landing)
    except duckdb.InvalidInputException:  # a key the schema sample did not see: sample it all
        run(number, f"{reader}('{path}', sample_size=-1)", landing)
    seconds += time.perf_counter() - began
print(json.dumps(seconds))
"""

PIPELINES = (
    "load",
    "load+hash",
    "load+hash+parquet",
    "hash+parquet",
    "contract",
    "contract+parquet",
)


def measure(work: Path, files: list[Path], file_format: str, pipeline: str) -> dict:
    database = work / f"floor-{file_format}.duckdb"
    parquet = work / f"floor-{file_format}-landing"
    database.unlink(missing_ok=True)
    try:
        wall, cpu, rss, out = timed_child(
            [sys.executable, "-c", PIPELINE, str(database), file_format, pipeline, str(parquet)]
            + [str(path) for path in files]
        )
    finally:
        database.unlink(missing_ok=True)
        for landed in work.glob(f"{parquet.name}-*.parquet"):
            landed.unlink()
    return {"pipeline": pipeline, "wall_s": wall, "cpu_s": cpu, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--format", nargs="+", default=["ndjson", "parquet"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fl-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}; load average {load_average()}")
    for file_format in args.format:
        files, rows = generate(args.workdir, args.events, file_format)
        results = [measure(args.workdir, files, file_format, p) for p in PIPELINES]
        base = results[0]
        print(f"\n{file_format}, {rows:,} rows in {len(files)} files")
        print(
            f"{'pipeline':<20}{'wall s':>9}{'ratio':>8}{'CPU s':>9}{'CPU ratio':>11}{'peak RSS':>11}"
        )
        for result in results:
            print(
                f"{result['pipeline']:<20}{result['wall_s']:>9.2f}"
                f"{result['wall_s'] / base['wall_s']:>8.2f}{result['cpu_s']:>9.2f}"
                f"{result['cpu_s'] / base['cpu_s']:>11.2f}{result['rss'] / 2**30:>9.2f} GiB"
            )
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
