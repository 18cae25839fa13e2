"""The process configuration as Arrow tables for the dbt Python models ``int_process_*_configured``.

dbt runs these models in its own process with ``FLOWLEDGER_WAREHOUSE`` set (see
flowledger/build.py), so the instance's data directory is the warehouse file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

from flowledger.processes.config import as_rows, load_config

SCHEMAS: dict[str, pa.Schema] = {
    "processes": pa.schema(
        [
            ("process_name", pa.string()),
            ("case_key_field", pa.string()),
            ("event_source", pa.string()),
            ("activity_field", pa.string()),
            ("start_rule", pa.string()),
            ("end_rule", pa.string()),
            ("cycle_measure", pa.string()),
            ("sla_from_step", pa.string()),
            ("sla_to_step", pa.string()),
            ("sla_within_seconds", pa.float64()),
            ("timeout_seconds", pa.float64()),
            ("gray_failure_window_seconds", pa.float64()),
            ("segments", pa.string()),
            ("correction_fields", pa.string()),
            ("ignored_fields", pa.string()),
            ("flows", pa.string()),
        ]
    ),
    "event_types": pa.schema(
        [("process_name", pa.string()), ("event_type", pa.string()), ("step_name", pa.string())]
    ),
    "steps": pa.schema(
        [
            ("process_name", pa.string()),
            ("step_name", pa.string()),
            ("is_start", pa.bool_()),
            ("is_end", pa.bool_()),
            ("is_manual_fix", pa.bool_()),
            ("manual_minutes", pa.float64()),
            ("unit_cost", pa.float64()),
        ]
    ),
    "segments": pa.schema([("process_name", pa.string()), ("segment_name", pa.string())]),
}


def data_dir_root() -> Path | None:
    warehouse = os.environ.get("FLOWLEDGER_WAREHOUSE")
    return Path(warehouse).resolve().parent if warehouse else None


def config_table(kind: str) -> pa.Table:
    """One of ``processes``, ``event_types``, ``steps``, ``segments`` as an Arrow table."""
    rows = as_rows(load_config(data_dir_root()))[kind]
    return pa.Table.from_pylist(rows, schema=SCHEMAS[kind])
