"""``uncompressed_columns`` (macros/uncompressed_columns.sql): the listed text columns are stored
uncompressed, every other column as DuckDB chooses, and a listed column a model does not produce
is an error."""

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


def configured_columns(target_path: Path) -> dict[str, list[str]]:
    manifest = json.loads((target_path / "manifest.json").read_text())
    return {
        node["name"]: node["config"]["uncompressed_columns"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("uncompressed_columns")
    }


def stored_compression(build, schema: str, table: str) -> dict[str, str | None]:
    """Each column of the built table: the compression its DDL forces (None: DuckDB chooses)."""
    (ddl,) = build.rows(
        f"select sql from duckdb_tables() where schema_name = '{schema}' and table_name = '{table}'"
    )[0]
    columns: dict[str, str | None] = {}
    for name, column_type in build.rows(
        f"select column_name, data_type from duckdb_columns() "
        f"where schema_name = '{schema}' and table_name = '{table}'"
    ):
        marker = f"{name} {column_type} USING COMPRESSION "
        forced = (
            ddl.split(marker, 1)[1].split(",", 1)[0].split(")", 1)[0] if marker in ddl else None
        )
        columns[name] = forced.strip() if forced else None
    return columns


def test_the_big_intermediates_list_their_unique_text_columns(known_build):
    configured = configured_columns(known_build.target_path)
    # the intermediates with millions of rows at 10M events (bench/results/NOTES.md)
    assert {
        "int_step_attempts_enriched", "int_flow_runs_enriched", "int_case_events_mapped",
        "int_case_flow_runs", "int_case_field_changes", "int_slo_events",
    } <= configured.keys()  # fmt: skip
    for model, columns in configured.items():
        compression = stored_compression(known_build, "intermediate", model)
        assert compression, f"{model} was not built into schema intermediate"
        forced = {name for name, method in compression.items() if method is not None}
        assert forced == set(columns), model
        assert {compression[name] for name in columns} == {"Uncompressed"}, model


def test_the_tables_have_the_columns_and_types_of_their_queries(known_build):
    # the table is created from DESCRIBE of the query and filled by column name: every column
    # keeps its name, place and type (a type DESCRIBE spelled otherwise would coerce the rows)
    compiled = known_build.target_path / "compiled" / "flowledger" / "models" / "intermediate"
    for model in configured_columns(known_build.target_path):
        (path,) = compiled.glob(f"*/{model}.sql")
        described = known_build.rows(f"describe ({path.read_text()})")
        stored = known_build.rows(
            "select column_name, data_type from duckdb_columns() "
            f"where schema_name = 'intermediate' and table_name = '{model}' order by column_index"
        )
        assert [(row[0], row[1]) for row in described] == stored, model


TINY_MODELS = {
    # a table model without a contract: the column types come from DESCRIBE
    "described.sql": (
        "{{ config(materialized='table', uncompressed_columns=['event_id']) }}\n"
        "select 'e' || i as event_id, 'same' as kind, i::bigint as n, [i, i] as pair, "
        "{'a': i} as nested from range(3000) t(i)"
    ),
    # an incremental model with an enforced contract: the column types come from the YAML
    "contracted.sql": (
        "{{ config(materialized='incremental', unique_key='id', on_schema_change='fail', "
        "uncompressed_columns=['payload']) }}\n"
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
    source = PROJECT_ROOT / "macros" / "uncompressed_columns.sql"
    (root / "macros" / "uncompressed_columns.sql").write_text(source.read_text())
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
        assert "kind VARCHAR," in ddl["described"]  # the others as DuckDB chooses
        assert "pair BIGINT[]" in ddl["described"]
        assert "nested STRUCT(a BIGINT)" in ddl["described"]
        assert "payload VARCHAR USING COMPRESSION Uncompressed" in ddl["contracted"]
        assert con.execute(
            "select count(*), count(distinct event_id) from described"
        ).fetchall() == [(3000, 3000)]
        # the incremental run appended into the same table (its DDL kept)
        assert con.execute("select count(*), max(payload) from contracted").fetchall() == [
            (10, "p9")
        ]
    finally:
        con.close()


def test_a_listed_column_the_model_does_not_produce_is_an_error(tmp_path):
    result = run_tiny_project(
        tmp_path,
        {"typo.sql": "{{ config(materialized='table', uncompressed_columns=['evnt_id']) }}\n"
         "select 'e' as event_id"},
    )  # fmt: skip
    assert result.returncode != 0
    assert "uncompressed_columns lists evnt_id, which the model does not produce" in result.stdout
