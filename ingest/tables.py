"""The raw schema: one table per contract, plus quarantine, collisions and the batch log."""

from __future__ import annotations

import duckdb

from ingest.contracts import load_contracts

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
    """Create schema ``raw`` and its seven tables where missing (safe to call again)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for contract in load_contracts().values():
        con.execute(contract.ddl())
    for ddl in (QUARANTINE_DDL, COLLISIONS_DDL, BATCHES_DDL):
        con.execute(ddl)
