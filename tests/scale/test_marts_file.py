"""The marts live in their own DuckDB file, and a data directory of the older layout migrates.

Up to flowledger 0.1 dbt built the marts into schema ``marts`` of ``warehouse.duckdb`` and
``publish`` copied them table by table. Now they are schema ``main`` of ``marts.duckdb`` and a
snapshot is a copy of that file plus ``_meta``. A data directory built the old way must keep
working: its next build drops the old schema and builds the marts file, with the same rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from scale_support import RAW_WORLD, WORLD_INGESTED_AT, make_raw_warehouse, read_warehouse

from flowledger.build import build
from flowledger.settings import DataDir
from flowledger.warehouse import current_snapshot

pytestmark = pytest.mark.slow


def _snapshot_tables(path: Path) -> dict[str, list[tuple]]:
    """Every table of a snapshot but ``_meta``, rows sorted."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' order by 1"
            ).fetchall()
        ]
        return {
            table: con.execute(f'select * from main."{table}" order by all').fetchall()
            for table in tables
            if table != "_meta"
        }
    finally:
        con.close()


def _to_old_layout(data_dir: DataDir) -> None:
    """Copy the marts into schema ``marts`` of the warehouse, with no marts file (between
    builds there is none: the last one is the published snapshot)."""
    assert not data_dir.marts.exists()
    con = duckdb.connect(str(data_dir.warehouse))
    try:
        con.execute(f"attach '{current_snapshot(data_dir)}' as built (read_only)")
        con.execute("create schema marts")
        tables = con.execute(
            "select table_name from duckdb_tables() where database_name = 'built'"
        ).fetchall()
        for (table,) in tables:
            con.execute(f'create table marts."{table}" as select * from built.main."{table}"')
        con.execute("detach built")
    finally:
        con.close()


def _warehouse_schemas(data_dir: DataDir) -> set[str]:
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        return {
            row[0]
            for row in con.execute(
                "select schema_name from information_schema.schemata "
                "where catalog_name = current_database()"
            ).fetchall()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataDir, Path]:
    data_dir = DataDir(tmp_path_factory.mktemp("marts_file"))
    # ingested rows, as ingest lands them (the incremental case models key on ingest times)
    landed = {
        table: [{**row, "_ingested_at": WORLD_INGESTED_AT} for row in rows]
        for table, rows in RAW_WORLD.items()
    }
    make_raw_warehouse(data_dir.root, landed)
    return data_dir, build(data_dir, echo=None).snapshot


def test_the_marts_are_built_into_their_own_file_and_published_as_it_is(built) -> None:
    data_dir, snapshot = built
    assert "marts" not in _warehouse_schemas(data_dir)
    con = read_warehouse(data_dir.root)
    try:
        built_tables = {
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where database_name = 'marts' "
                "and table_name != '_meta'"  # the last publish's, in the snapshot too
            ).fetchall()
        }
        assert {"fct_cases", "fct_flow_runs", "fct_case_events"} <= built_tables
        built_rows = {
            table: con.execute(f'select * from marts."{table}" order by all').fetchall()
            for table in sorted(built_tables)
        }
    finally:
        con.close()
    assert _snapshot_tables(snapshot) == built_rows


def test_a_data_dir_of_the_old_layout_migrates_on_its_next_build(built, tmp_path: Path) -> None:
    data_dir, snapshot = built
    before = _snapshot_tables(snapshot)
    _to_old_layout(data_dir)
    assert "marts" in _warehouse_schemas(data_dir) and not data_dir.marts.exists()

    migrated = build(data_dir, echo=None).snapshot

    assert "marts" not in _warehouse_schemas(data_dir), "the stale schema must be gone"
    assert not data_dir.marts.exists()  # built, then published
    assert _snapshot_tables(migrated) == before
