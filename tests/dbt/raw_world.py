"""The raw tables' fixed DDL and a small hand-built world whose KPIs are known by construction.

The DDL is derived from the ODCS contracts exactly as ingest lays the tables out (contract
properties in order, string→VARCHAR, integer→BIGINT, number→DOUBLE, boolean→BOOLEAN,
timestamp→TIMESTAMP, object→VARCHAR, then the ingest metadata columns), so the dbt tests do not
depend on ingest; ``test_fixture_ddl_matches_ingest`` checks the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import yaml

from flowledger.settings import CONTRACTS_DIR

CONTRACT_TABLES: dict[str, str] = {
    "flow_runs": "flow_run",
    "step_runs": "step_run",
    "queue_depth_samples": "queue_depth_sample",
    "business_events": "business_event",
}

LOGICAL_TO_DUCKDB: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "object": "VARCHAR",
}

METADATA_COLUMNS: list[tuple[str, str]] = [
    ("_batch_id", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_payload_hash", "VARCHAR"),
]


def contract_columns(
    contract_name: str, contracts_dir: Path = CONTRACTS_DIR
) -> list[tuple[str, str]]:
    """(column, DuckDB type) of one raw table: the contract's properties in order, then metadata."""
    path = contracts_dir / f"{contract_name}.odcs.yaml"
    properties = yaml.safe_load(path.read_text())["schema"][0]["properties"]
    columns = []
    for prop in properties:
        logical_type = prop["logicalType"]
        if logical_type not in LOGICAL_TO_DUCKDB:
            raise ValueError(
                f"{path}: property {prop['name']!r} has logicalType {logical_type!r}; "
                f"expected one of {sorted(LOGICAL_TO_DUCKDB)}"
            )
        columns.append((prop["name"], LOGICAL_TO_DUCKDB[logical_type]))
    return columns + METADATA_COLUMNS


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema raw and its four contract tables, empty, with the fixed DDL."""
    con.execute("create schema if not exists raw")
    for table, contract_name in CONTRACT_TABLES.items():
        column_list = ", ".join(
            f'"{name}" {sql_type}' for name, sql_type in contract_columns(contract_name)
        )
        con.execute(f"create table raw.{table} ({column_list})")


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[dict[str, object]]
) -> None:
    """Insert dict rows into raw.<table>; absent columns stay NULL, unknown ones are an error."""
    known = {name for name, _ in contract_columns(CONTRACT_TABLES[table])}
    for row in rows:
        unknown = set(row) - known
        if unknown:
            raise KeyError(
                f"raw.{table} has no column(s) {sorted(unknown)}; fix the test row {row}"
            )
        names = ", ".join(f'"{name}"' for name in row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"insert into raw.{table} ({names}) values ({marks})", list(row.values()))


# --- the known world ------------------------------------------------------------------------
# Business events. Cycle times (s): Q1 1800, Q2 7200 (invoice issued twice: rework), Q3 open,
# Q4 3600, Q5 5400, Q6 3600 (ends after midnight), Q7 1800 (a stray end before its start; its
# second payment captured is rework), Q8 10800 (ends on day 3); T1 2700; T2 open, its two events
# share a time (event id decides the order); T3 has a numeric ticket id; C1 has no start event.

APPROVED = "com.acme.crm.quote.approved"
SIGNED = "com.acme.clm.contract.signed"
INVOICED = "com.acme.erp.invoice.issued"
CORRECTED = "com.acme.erp.invoice.corrected"
PAID = "com.acme.erp.payment.captured"
OPENED = "com.acme.desk.ticket.opened"
ESCALATED = "com.acme.desk.ticket.escalated"
RESOLVED = "com.acme.desk.ticket.resolved"

EVENT_SPECS: list[tuple[str, str, str, str, str]] = [
    # (id, source, type, time, data JSON)
    ("q1-1", "crm", APPROVED, "2024-03-04 09:00:00", '{"quote_id": "Q1"}'),
    ("q1-2", "clm", SIGNED, "2024-03-04 09:10:00", '{"quote_id": "Q1"}'),
    ("q1-3", "erp", INVOICED, "2024-03-04 09:20:00", '{"quote_id": "Q1", "amount": 100}'),
    ("q1-4", "erp", PAID, "2024-03-04 09:30:00", '{"quote_id": "Q1"}'),
    ("q2-1", "crm", APPROVED, "2024-03-04 10:00:00", '{"quote_id": "Q2"}'),
    ("q2-2", "clm", SIGNED, "2024-03-04 10:30:00", '{"quote_id": "Q2"}'),
    ("q2-3", "erp", INVOICED, "2024-03-04 11:00:00", '{"quote_id": "Q2"}'),
    ("q2-4", "erp", CORRECTED, "2024-03-04 11:15:00", '{"quote_id": "Q2"}'),
    ("q2-5", "erp", INVOICED, "2024-03-04 11:30:00", '{"quote_id": "Q2"}'),
    ("q2-6", "psp", PAID, "2024-03-04 12:00:00", '{"quote_id": "Q2"}'),
    ("q3-1", "crm", APPROVED, "2024-03-04 13:00:00", '{"quote_id": "Q3"}'),
    ("q3-2", "clm", SIGNED, "2024-03-04 13:20:00", '{"quote_id": "Q3"}'),
    ("q4-1", "crm", APPROVED, "2024-03-04 14:00:00", '{"quote_id": "Q4"}'),
    ("q4-2", "clm", SIGNED, "2024-03-04 14:10:00", '{"quote_id": "Q4"}'),
    ("q4-3", "erp", INVOICED, "2024-03-04 14:30:00", '{"quote_id": "Q4"}'),
    ("q4-4", "erp", PAID, "2024-03-04 15:00:00", '{"quote_id": "Q4"}'),
    ("q5-1", "crm", APPROVED, "2024-03-04 16:00:00", '{"quote_id": "Q5"}'),
    ("q5-2", "erp", PAID, "2024-03-04 17:30:00", '{"quote_id": "Q5"}'),
    ("q6-1", "crm", APPROVED, "2024-03-04 23:30:00", '{"quote_id": "Q6"}'),
    ("q6-2", "erp", PAID, "2024-03-05 00:30:00", '{"quote_id": "Q6"}'),
    ("q7-1", "erp", PAID, "2024-03-05 08:00:00", '{"quote_id": "Q7"}'),
    ("q7-2", "crm", APPROVED, "2024-03-05 08:30:00", '{"quote_id": "Q7"}'),
    ("q7-3", "erp", PAID, "2024-03-05 09:00:00", '{"quote_id": "Q7"}'),
    ("q8-1", "crm", APPROVED, "2024-03-05 22:00:00", '{"quote_id": "Q8"}'),
    ("q8-2", "erp", PAID, "2024-03-06 01:00:00", '{"quote_id": "Q8"}'),
    ("t1-1", "desk", OPENED, "2024-03-04 09:00:00", '{"ticket_id": "T1"}'),
    ("t1-2", "desk", ESCALATED, "2024-03-04 09:05:00", '{"ticket_id": "T1"}'),
    ("t1-3", "desk", RESOLVED, "2024-03-04 09:45:00", '{"ticket_id": "T1"}'),
    ("t2-b", "desk", OPENED, "2024-03-04 10:00:00", '{"ticket_id": "T2"}'),
    ("t2-a", "desk", ESCALATED, "2024-03-04 10:00:00", '{"ticket_id": "T2"}'),
    ("t3-1", "desk", OPENED, "2024-03-04 11:00:00", '{"ticket_id": 42}'),
    ("c1-1", "psp", "com.acme.psp.payment.captured", "2024-03-04 11:50:00", '{"order_id": "O1"}'),
    ("c1-2", "wms", "com.acme.wms.order.picked", "2024-03-04 12:00:00", '{"order_id": "O1"}'),
    ("c1-3", "wms", "com.acme.wms.order.shipped", "2024-03-04 12:30:00", '{"order_id": "O1"}'),
    (
        "c1-4",
        "carrier",
        "com.acme.carrier.order.delivered",
        "2024-03-04 18:30:00",
        '{"order_id": "O1"}',
    ),
    # not part of any case: unlisted type, and a listed type without the case-key field
    ("x-1", "crm", "com.acme.crm.lead.created", "2024-03-04 09:00:00", '{"quote_id": "Q1"}'),
    ("x-2", "crm", APPROVED, "2024-03-04 09:00:00", '{"customer_id": "C1"}'),
]

BUSINESS_EVENTS = [
    {"specversion": "1.0", "id": i, "source": s, "type": t, "time": at, "data": data}
    for i, s, t, at, data in EVENT_SPECS
]


def _run(
    run_id: str,
    started: str,
    ended: str | None,
    status: str,
    *,
    attempt: int = 1,
    flow: str = "q2c-invoice-post",
    queued: str | None = None,
    key: str | None = None,
    digest: str | None = None,
    name: str = "Invoice posting",
    version: str | None = "v1",
    source_system: str = "mulesoft",
) -> dict[str, object]:
    return {
        "source_system": source_system,
        "flow_id": flow,
        "flow_name": name,
        "flow_version": version,
        "run_id": run_id,
        "run_attempt": attempt,
        "trigger": "webhook",
        "status": status,
        "raw_status": status.upper(),
        "queued_at": queued,
        "started_at": started,
        "ended_at": ended,
        "idempotency_key": key,
        "input_digest": digest,
        "business_key": "Q1",
    }


# Flow q2c-invoice-post, hour 09:00 of 2024-03-04: six run attempts, end-to-end 20000, 30000,
# 50000, (running), 5000, 1000 ms; r2 and its re-attempt are duplicate deliveries of r1 (k1/d1);
# r4 collides with r3 (k2, digests d2/d3). Hour 10:00: r6 renames the flow and has no version.
FLOW_RUNS = [
    _run(
        "r1",
        "2024-03-04 09:00:10",
        "2024-03-04 09:00:20",
        "success",
        queued="2024-03-04 09:00:00",
        key="k1",
        digest="d1",
    ),
    _run("r2", "2024-03-04 09:10:00", "2024-03-04 09:10:30", "failed", key="k1", digest="d1"),
    _run(
        "r2",
        "2024-03-04 09:20:00",
        "2024-03-04 09:20:40",
        "success",
        attempt=2,
        queued="2024-03-04 09:19:50",
        key="k1",
        digest="d1",
    ),
    _run(
        "r3",
        "2024-03-04 09:30:00",
        None,
        "running",
        queued="2024-03-04 09:29:00",
        key="k2",
        digest="d2",
    ),
    _run("r4", "2024-03-04 09:40:00", "2024-03-04 09:40:05", "success", key="k2", digest="d3"),
    _run("r5", "2024-03-04 09:50:00", "2024-03-04 09:50:01", "timed_out", version="v2"),
    _run(
        "r6",
        "2024-03-04 10:05:00",
        "2024-03-04 10:05:02",
        "success",
        queued="2024-03-04 10:04:58",
        version=None,
        name="Invoice posting (renamed)",
    ),
    _run(
        "b1",
        "2024-03-04 12:00:00",
        "2024-03-04 12:00:03",
        "success",
        flow="c2f-order-intake",
        queued="2024-03-04 12:00:00",
        name="Order intake",
        source_system="n8n",
    ),
    _run(
        "b2",
        "2024-03-04 23:59:00",
        "2024-03-05 00:01:00",
        "success",
        flow="c2f-order-intake",
        name="Order intake",
        source_system="n8n",
    ),
]


def _step(
    run_id: str,
    step_id: str,
    name: str,
    attempt: int,
    status: str,
    started: str,
    *,
    run_attempt: int = 1,
    flow: str | None = "q2c-invoice-post",
    dead: bool = False,
    source_system: str = "mulesoft",
) -> dict[str, object]:
    return {
        "source_system": source_system,
        "run_id": run_id,
        "run_attempt": run_attempt,
        "step_id": step_id,
        "attempt": attempt,
        "flow_id": flow,
        "step_name": name,
        "status": status,
        "raw_status": status,
        "started_at": started,
        "dead_lettered": dead,
    }


STEP_RUNS = [
    _step("r1", "s1", "fetch quote", 1, "success", "2024-03-04 09:00:11"),
    _step("r1", "s2", "post invoice", 1, "failed", "2024-03-04 09:00:12"),
    _step("r1", "s2", "post invoice", 2, "success", "2024-03-04 09:00:15"),
    _step("r2", "s1", "fetch quote", 1, "success", "2024-03-04 09:10:01"),
    _step("r2", "s2", "post invoice", 1, "failed", "2024-03-04 09:10:02"),
    _step("r2", "s2", "post invoice", 2, "timed_out", "2024-03-04 09:10:10"),
    _step("r2", "s2", "post invoice", 3, "failed", "2024-03-04 09:10:20", dead=True),
    _step("r2", "s1", "fetch quote", 1, "success", "2024-03-04 09:20:01", run_attempt=2),
    _step("r2", "s2", "post invoice", 1, "success", "2024-03-04 09:20:02", run_attempt=2),
    _step(
        "b1",
        "v",
        "validate order",
        1,
        "success",
        "2024-03-04 12:00:00",
        flow="c2f-order-intake",
        source_system="n8n",
    ),
    _step(
        "b2", "w", "write order", 1, "failed", "2024-03-04 23:59:30", flow=None, source_system="n8n"
    ),
    _step(
        "b2",
        "w",
        "write order",
        2,
        "success",
        "2024-03-05 00:00:30",
        flow=None,
        source_system="n8n",
    ),
    # a step whose run was never received: counts in step reliability, not in the hourly mart
    _step(
        "ghost",
        "w",
        "write order",
        1,
        "failed",
        "2024-03-04 15:00:00",
        flow="c2f-order-intake",
        dead=True,
        source_system="n8n",
    ),
]

QUEUE_DEPTH_SAMPLES = [
    {
        "source_system": "mulesoft",
        "queue_name": "invoices",
        "sampled_at": "2024-03-04 09:05:00",
        "depth": 4,
        "flow_id": "q2c-invoice-post",
    },
    {
        "source_system": "mulesoft",
        "queue_name": "invoices",
        "sampled_at": "2024-03-04 09:35:00",
        "depth": 10,
        "flow_id": "q2c-invoice-post",
    },
    {
        "source_system": "mulesoft",
        "queue_name": "invoices",
        "sampled_at": "2024-03-04 11:15:00",
        "depth": 3,
        "flow_id": "q2c-invoice-post",
    },
    {
        "source_system": "aws-lambda",
        "queue_name": "payments",
        "sampled_at": "2024-03-04 12:10:00",
        "depth": 5,
        "flow_id": "c2f-payment-capture",
    },
    {
        "source_system": "aws-lambda",
        "queue_name": "orphans",
        "sampled_at": "2024-03-04 12:10:00",
        "depth": 99,
        "flow_id": None,
    },
]
