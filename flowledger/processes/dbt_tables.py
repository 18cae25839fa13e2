"""The process configuration as dbt vars for the SQL models ``int_process*_configured``.

``flowledger build`` validates the configuration (config/processes.yml and the data directory's
processes.yml, docs/processes.md) and passes it to dbt with ``--vars``: one list of rows per
model, rendered into SELECT ... UNION ALL by ``macros/process_config.sql``. Plain SQL, so the
models run on every adapter (DuckDB, Spark), unlike dbt Python models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowledger.processes.config import as_rows, load_config

#: model rows kind -> the dbt var that carries them
VAR_NAMES: dict[str, str] = {
    "processes": "flowledger_processes",
    "event_types": "flowledger_process_event_types",
    "steps": "flowledger_process_steps",
    "segments": "flowledger_process_segments",
}


def dbt_vars(data_dir_root: Path | None) -> dict[str, list[dict[str, Any]]]:
    """The validated process configuration of the instance at ``data_dir_root`` as dbt vars;
    raises :class:`flowledger.processes.config.ConfigError` naming the file, process and key."""
    rows = as_rows(load_config(data_dir_root))
    return {VAR_NAMES[kind]: kind_rows for kind, kind_rows in rows.items()}
