"""The raw schema: one table per contract, plus quarantine, collisions and the batch log."""

from __future__ import annotations

import duckdb

from ingest.contracts import Contract, load_contracts

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = "raw.quarantine"
COLLISIONS_TABLE = "raw.ingest_collisions"
BATCHES_TABLE = "raw.ingest_batches"

QUARANTINE_DDL = f"""CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
    batch_id VARCHAR,
    quarantined_at TIMESTAMP,
    source_file VARCHAR,
    record_kind VARCHAR,
    row_number BIGINT,
    reason VARCHAR,
    raw_record VARCHAR
)"""

COLLISIONS_DDL = f"""CREATE TABLE IF NOT EXISTS {COLLISIONS_TABLE} (
    batch_id VARCHAR,
    seen_at TIMESTAMP,
    source_file VARCHAR,
    record_kind VARCHAR,
    row_number BIGINT,
    natural_key VARCHAR,
    first_payload_hash VARCHAR,
    payload_hash VARCHAR,
    raw_record VARCHAR
)"""

BATCHES_DDL = f"""CREATE TABLE IF NOT EXISTS {BATCHES_TABLE} (
    batch_id VARCHAR,
    source_file VARCHAR,
    file_sha256 VARCHAR,
    record_kind VARCHAR,
    rows_read BIGINT,
    accepted BIGINT,
    duplicates BIGINT,
    collisions BIGINT,
    quarantined BIGINT,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
)"""


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema ``raw`` and its seven tables where missing (safe to call again).

    A raw table written under an older contract gets the fields added since (NULL in its rows),
    in contract order.
    """
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for contract in load_contracts().values():
        con.execute(contract.ddl())
        add_missing_columns(con, contract)
    for ddl in (QUARANTINE_DDL, COLLISIONS_DDL, BATCHES_DDL):
        con.execute(ddl)


def add_missing_columns(con: duckdb.DuckDBPyConnection, contract: Contract) -> list[str]:
    """Rebuild ``contract.table`` with the contract's columns it lacks; return their names.

    The table is rebuilt rather than altered, so its columns stay in contract order (ingest
    stages rows by position). Columns the contract no longer has are kept at the end.
    """
    schema, name = contract.table.split(".")
    existing = [
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
    ]
    missing = [column for column, _ in contract.columns() if column not in existing]
    if not missing:
        return []
    wanted = {column for column, _ in contract.columns()}
    selected = [
        f'"{column}"' if column in existing else f'CAST(NULL AS {sql_type}) AS "{column}"'
        for column, sql_type in contract.columns()
    ] + [f'"{column}"' for column in existing if column not in wanted]
    rebuilt = f"{name}__with_new_columns"
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {schema}.{rebuilt} AS "
            f"SELECT {', '.join(selected)} FROM {contract.table}"
        )
        con.execute(f"DROP TABLE {contract.table}")
        con.execute(f"ALTER TABLE {schema}.{rebuilt} RENAME TO {name}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return missing
