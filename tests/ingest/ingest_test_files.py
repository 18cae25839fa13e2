"""Small fixture records and writers that put the same records into every supported format."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from flowledger.settings import DataDir

FLOW_RUNS: list[dict[str, Any]] = [
    {
        "source_system": "n8n",
        "flow_id": "c2f-order-intake",
        "flow_name": "Order intake",
        "run_id": "r-1",
        "run_attempt": 1,
        "trigger": "webhook",
        "status": "success",
        "queued_at": "2026-08-01T09:00:00Z",
        "started_at": "2026-08-01T11:00:02+02:00",
        "ended_at": "2026-08-01T09:00:05.250Z",
        "business_key": "O-1",
    },
    {
        "source_system": "n8n",
        "flow_id": "c2f-order-intake",
        "flow_name": "Order intake",
        "run_id": "r-2",
        "status": "failed",
        "raw_status": "crashed",
        "started_at": "2026-08-01T09:10:00Z",
        "error_type": "HttpError",
        "error_message": "HTTP 502 from erp",
    },
    {
        "source_system": "airflow",
        "flow_id": "q2c-payment-reconcile",
        "flow_name": "Payment reconciliation",
        "run_id": "manual__2026-08-01",
        "run_attempt": 2,
        "status": "timed_out",
        "started_at": "2026-08-01T04:00:00-05:00",
    },
]

BUSINESS_EVENTS: list[dict[str, Any]] = [
    {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/acme/shop",
        "type": "com.acme.shop.order.placed",
        "time": "2026-08-01T09:00:00Z",
        "subject": "O-1",
        "data": {"order_id": "O-1", "customer_id": "C-42", "amount": 129.9, "lines": [1, 2]},
    },
    {
        "specversion": "1.0",
        "id": "evt-2",
        "source": "/acme/psp",
        "type": "com.acme.psp.payment.captured",
        "time": "2026-08-01T10:00:00+01:00",
        "data": {"order_id": "O-1", "payment_status": "captured", "nested": {"a": None}},
    },
]

TIMESTAMP_FIELDS = {"queued_at", "started_at", "ended_at", "time", "sampled_at"}


def write_ndjson(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def write_json_array(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(list(records), indent=2))
    return path


def write_csv(
    path: Path,
    records: Sequence[dict[str, Any]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    header = list(dict.fromkeys(name for record in records for name in record))
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        for record in records:
            writer.writerow([_csv_text(record.get(name)) for name in header])
    return path


def write_parquet(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """Typed Parquet: integers as Int64, timestamps as UTC datetimes, ``data`` as JSON text."""
    header = list(dict.fromkeys(name for record in records for name in record))
    columns: dict[str, pl.Series] = {}
    for name in header:
        values = [record.get(name) for record in records]
        if name in TIMESTAMP_FIELDS:
            parsed = [datetime.fromisoformat(v) if v is not None else None for v in values]
            columns[name] = pl.Series(name, parsed).dt.convert_time_zone("UTC")
        elif name == "data":
            columns[name] = pl.Series(name, [json.dumps(v) for v in values], dtype=pl.String)
        else:
            columns[name] = pl.Series(name, values)
    pl.DataFrame(columns).write_parquet(path)
    return path


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def query(data_dir: DataDir, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` against the data directory's warehouse (the writer lock is not held)."""
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
