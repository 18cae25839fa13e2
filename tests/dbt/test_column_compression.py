"""``column_compression`` (macros/column_compression.sql): the named columns are stored with their
compression method, every other column as DuckDB chooses, and a named column a model does not
produce is an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flowledger.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def configured_models(target_path: Path) -> dict[str, dict]:
    """Each model with a ``column_compression`` config: its manifest node."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("column_compression")
    }


def stored_compression(build, node: dict) -> dict[str, str | None]:
    """Each column of the built table: the compression its DDL forces (None: DuckDB chooses)."""
    where = (
        f"database_name = '{node['database']}' and schema_name = '{node['schema']}' "
        f"and table_name = '{node['name']}'"
    )
    rows = build.rows(f"select sql from duckdb_tables() where {where}")
    if not rows:
        return {}
    ((ddl,),) = rows
    columns: dict[str, str | None] = {}
    for name, column_type in build.rows(
        f"select column_name, data_type from duckdb_columns() where {where}"
    ):
        marker = f"{name} {column_type} USING COMPRESSION "
        forced = (
            ddl.split(marker, 1)[1].split(",", 1)[0].split(")", 1)[0] if marker in ddl else None
        )
        columns[name] = forced.strip().lower() if forced else None
    return columns


def test_the_big_tables_name_their_columns_and_are_built_with_them(known_build):
    configured = configured_models(known_build.target_path)
    # the tables with millions of rows at 10M events (bench/results/NOTES.md): unique keys of
    # the intermediates uncompressed, the JSON text of the published marts with zstd
    assert {
        "int_step_attempts_enriched", "int_flow_runs_enriched", "int_case_events_mapped",
        "int_case_flow_runs", "int_case_field_changes", "int_slo_events",
        "fct_case_flow_runs", "fct_case_events", "fct_flow_runs", "fct_record_field_writes",
    } <= configured.keys()  # fmt: skip
    assert configured["fct_case_flow_runs"]["config"]["column_compression"] == {"steps": "zstd"}
    for model, node in configured.items():
        compression = stored_compression(known_build, node)
        assert compression, f"{model} was not built into {node['database']}.{node['schema']}"
        forced = {name: method for name, method in compression.items() if method is not None}
        assert forced == node["config"]["column_compression"], model


def test_the_tables_have_the_columns_and_types_of_their_queries(known_build):
    # the table is created from DESCRIBE of the query (or its contract) and filled by column
    # name: every column keeps its name, place and type (a type spelled otherwise would coerce)
    compiled = known_build.target_path / "compiled" / "flowledger" / "models"
    for model, node in configured_models(known_build.target_path).items():
        (path,) = compiled.glob(f"*/*/{model}.sql")
        described = known_build.rows(f"describe ({path.read_text()})")
        stored = known_build.rows(
            "select column_name, data_type from duckdb_columns() "
            f"where database_name = '{node['database']}' and schema_name = '{node['schema']}' "
            f"and table_name = '{model}' order by column_index"
        )
        assert [(row[0], row[1]) for row in described] == stored, model


TINY_MODELS = {
    # a table model without a contract: the column types come from DESCRIBE
    "described.sql": (
        "{{ config(materialized='table', column_compression={'event_id': 'uncompressed', "
        "'payload': 'zstd'}) }}\n"
        "select 'e' || i as event_id, 'same' as kind, i::bigint as n, [i, i] as pair, "
        "'{\"step\": ' || i || '}' as payload, "
        "{'a': i} as nested from range(3000) t(i)"
    ),
    # an incremental model with an enforced contract: the column types come from the YAML
    "contracted.sql": (
        "{{ config(materialized='incremental', unique_key='id', on_schema_change='fail', "
        "column_compression={'payload': 'uncompressed'}) }}\n"
        "select i::bigint as id, 'p' || i as payload from range(10) t(i)\n"
        "{% if is_incremental() %} where i >= 5 {% endif %}"
    ),
    "_models.yml": (
        "version: 2\nmodels:\n  - name: contracted\n    config:\n      contract: {enforced: true}\n"
        "    columns:\n      - {name: id, data_type: bigint}\n"
        "      - {name: payload, data_type: varchar}\n"
    ),
}


def run_tiny_project(root: Path, models: dict[str, str]) -> subprocess.CompletedProcess:
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    source = PROJECT_ROOT / "macros" / "column_compression.sql"
    (root / "macros" / "column_compression.sql").write_text(source.read_text())
    for name, text in models.items():
        (root / "models" / name).write_text(text)
    (root / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\n"
    )
    (root / "profiles.yml").write_text(
        f"tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'tiny.duckdb'}\n      threads: 1\n"
    )
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    return subprocess.run(
        [str(dbt), "run", "--project-dir", str(root), "--profiles-dir", str(root)],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_described_and_contracted_tables_and_a_second_incremental_run(tmp_path):
    first = run_tiny_project(tmp_path, TINY_MODELS)
    assert first.returncode == 0, first.stdout[-4000:]
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    second = subprocess.run(
        [str(dbt), "run", "--select", "contracted", "--project-dir", str(tmp_path),
         "--profiles-dir", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert second.returncode == 0, second.stdout[-4000:]
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"), read_only=True)
    try:
        ddl = dict(con.execute("select table_name, sql from duckdb_tables()").fetchall())
        assert "event_id VARCHAR USING COMPRESSION Uncompressed" in ddl["described"]
        assert "payload VARCHAR USING COMPRESSION ZSTD" in ddl["described"]
        assert "kind VARCHAR," in ddl["described"]  # the others as DuckDB chooses
        assert "pair BIGINT[]" in ddl["described"]
        assert "nested STRUCT(a BIGINT)" in ddl["described"]
        assert "payload VARCHAR USING COMPRESSION Uncompressed" in ddl["contracted"]
        assert con.execute(
            "select count(*), count(distinct event_id), count(distinct payload), "
            "count(*) filter (where payload = '{\"step\": 7}') from described"
        ).fetchall() == [(3000, 3000, 3000, 1)]
        # the incremental run appended into the same table (its DDL kept)
        assert con.execute("select count(*), max(payload) from contracted").fetchall() == [
            (10, "p9")
        ]
    finally:
        con.close()


def test_a_listed_column_the_model_does_not_produce_is_an_error(tmp_path):
    result = run_tiny_project(
        tmp_path,
        {"typo.sql": "{{ config(materialized='table', column_compression={'evnt_id': 'zstd'}) }}\n"
         "select 'e' as event_id"},
    )  # fmt: skip
    assert result.returncode != 0
    assert "column_compression names evnt_id, which the model does not produce" in result.stdout
