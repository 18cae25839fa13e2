"""Column lineage of flowledger's own dbt project (compiled once per session) against edges
written out by hand from the models' SQL, the emitted OpenLineage events against the official
schemas, and the JSON-field path down to the event fields on a small hand-made manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowledger.settings import DataDir
from lineage.dbt_project import (
    ManifestError,
    event_dicts,
    openlineage_events,
    project_lineage,
)
from lineage.schemas import validation_errors
from lineage.service import warehouse_columns

INT = "warehouse.intermediate."
STG = "warehouse.staging."
pytestmark = pytest.mark.slow


def edges_of(project, model: str, column: str) -> set[tuple[str, str, str, str]]:
    lineage = project.by_model_name(model)
    assert lineage is not None, f"model {model} not in the manifest"
    return {(e.table, e.column, e.type, e.subtype) for e in lineage.fields[column]}


@pytest.fixture(scope="module")
def project(built_project: DataDir):
    return project_lineage(
        built_project.dbt_target, "duckdb:///w.duckdb", warehouse_columns(built_project)
    )


def test_identity_columns_of_marts(project) -> None:
    # dim_flows: select flow_name from (select * from int_flows_summarized): nothing else.
    assert edges_of(project, "dim_flows", "flow_name") == {
        (INT + "int_flows_summarized", "flow_name", "DIRECT", "IDENTITY")
    }
    assert edges_of(project, "fct_flow_runs", "duration_ms") == {
        (INT + "int_flow_runs_enriched", "duration_ms", "DIRECT", "IDENTITY")
    }


def test_transformation_with_joins_filters_and_group_by(project) -> None:
    # duration_ms = seconds_between(runs.started_at, runs.ended_at) * 1000 in the final CTE,
    # which left-joins steps_per_run (group by the run's natural key over the staged step
    # attempts) on that key and first_deliveries (where idempotency_key is not null) on run_key.
    runs = STG + "stg_flowledger__flow_runs"
    steps = STG + "stg_flowledger__step_runs"
    run_natural_key = ("source_system", "run_id", "run_attempt")
    assert edges_of(project, "int_flow_runs_enriched", "duration_ms") == {
        (runs, "started_at", "DIRECT", "TRANSFORMATION"),
        (runs, "ended_at", "DIRECT", "TRANSFORMATION"),
        (runs, "run_key", "INDIRECT", "JOIN"),
        (runs, "idempotency_key", "INDIRECT", "FILTER"),
        *((runs, column, "INDIRECT", "JOIN") for column in run_natural_key),
        *((steps, column, "INDIRECT", "JOIN") for column in run_natural_key),
        *((steps, column, "INDIRECT", "GROUP_BY") for column in run_natural_key),
    }


def test_count_star_and_conditional_aggregates(project) -> None:
    attempts = INT + "int_step_attempts_enriched"
    group_by = {
        (attempts, "flow_id", "INDIRECT", "GROUP_BY"),
        (attempts, "step_name", "INDIRECT", "GROUP_BY"),
        (attempts, "started_at", "INDIRECT", "GROUP_BY"),  # cast(started_at as date)
    }
    # attempts = count(*): dbt-ol emits nothing for it.
    assert edges_of(project, "fct_step_reliability_daily", "attempts") == group_by
    # sum(case when is_final_attempt and is_execution_failed then 1 else 0 end)
    assert edges_of(project, "fct_step_reliability_daily", "failed_executions") == group_by | {
        (attempts, "is_final_attempt", "INDIRECT", "CONDITIONAL"),
        (attempts, "is_execution_failed", "INDIRECT", "CONDITIONAL"),
    }
    # safe_ratio(failed_attempts, attempts): failed_attempts is sum(case when is_failed_attempt …)
    assert edges_of(project, "fct_step_reliability_daily", "attempt_failure_rate") == group_by | {
        (attempts, "is_failed_attempt", "INDIRECT", "CONDITIONAL"),
    }


def test_every_model_resolves_and_events_validate(project) -> None:
    models = [m for m in project.models.values() if m.resource_type == "model"]
    assert models
    for model in models:
        assert model.columns, model.name
        if model.sql:  # SQL models resolve completely; Python models keep the built columns
            assert model.unresolved == [], (model.name, model.unresolved)
    events = event_dicts(openlineage_events(project))
    assert len(events) == len(models)
    for event in events:
        assert validation_errors(event) == [], event["job"]["name"]
        assert event["schemaURL"].endswith("#/$defs/JobEvent")
    by_job = {e["job"]["name"]: e for e in events}
    daily = by_job["marts.main.flowledger.fct_step_reliability_daily"]
    facet = daily["outputs"][0]["facets"]["columnLineage"]
    transformations = {
        (i["field"], t["type"], t["subtype"])
        for i in facet["fields"]["attempts"]["inputFields"]
        for t in i["transformations"]
    }
    assert ("flow_id", "INDIRECT", "GROUP_BY") in transformations
    assert daily["job"]["facets"]["sql"]["query"].lstrip().startswith("--")


def test_schema_validation_catches_bad_events(project) -> None:
    event = event_dicts(openlineage_events(project))[0]
    del event["producer"]
    event["outputs"][0]["facets"]["columnLineage"]["fields"]["x"] = {"inputFields": [{"name": "a"}]}
    errors = validation_errors(event)
    assert any("'producer' is a required property" in e for e in errors)
    assert any("'namespace' is a required property" in e for e in errors)


def _manifest(tmp_path: Path) -> Path:
    """A source with a JSON column, a staging view renaming it, a model reading two paths."""
    seed_csv = tmp_path / "keys.csv"
    seed_csv.write_text("event_type,key_field\nplaced,order_id\nopened,ticket_id\n")
    nodes = {
        "seed.p.keys": {
            "resource_type": "seed", "name": "keys", "database": "w", "schema": "seeds",
            "alias": "keys", "root_path": str(tmp_path), "original_file_path": "keys.csv",
            "columns": {}, "depends_on": {"nodes": []}, "config": {"materialized": "seed"},
        },
        "model.p.stg_events": {
            "resource_type": "model", "name": "stg_events", "database": "w", "schema": "staging",
            "alias": "stg_events", "columns": {}, "config": {"materialized": "view"},
            "depends_on": {"nodes": ["source.p.raw.events"]},
            "compiled_code": 'with s as (select * from "w"."raw"."events") '
            "select id as event_id, type as event_type, data as data_json from s",
        },
        "model.p.fct_keys": {
            "resource_type": "model", "name": "fct_keys", "database": "w", "schema": "marts",
            "alias": "fct_keys", "columns": {"case_id": {"data_type": "varchar"}},
            "config": {"materialized": "table"},
            "depends_on": {"nodes": ["model.p.stg_events", "seed.p.keys"]},
            "compiled_code": "select json_extract_string(e.data_json, '$.\"' || k.key_field || '\"') "
            "as case_id, e.data_json ->> '$.amount' as amount "
            'from "w"."staging"."stg_events" as e join "w"."seeds"."keys" as k '
            "on e.event_type = k.event_type",
        },
    }  # fmt: skip
    sources = {
        "source.p.raw.events": {
            "resource_type": "source", "name": "events", "database": "w", "schema": "raw",
            "identifier": "events", "config": {},
            "columns": {"id": {}, "type": {}, "data": {"data_type": "json"}},
        }
    }  # fmt: skip
    target = tmp_path / "target"
    target.mkdir()
    manifest = {
        "metadata": {"project_name": "p", "dbt_version": "1.11.0"},
        "nodes": nodes,
        "sources": sources,
    }
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_json_fields_traced_down_to_event_fields(tmp_path: Path) -> None:
    project = project_lineage(_manifest(tmp_path), "ns")
    fct = project.by_model_name("fct_keys")
    assert {(e.table, e.column, e.type, e.subtype) for e in fct.fields["case_id"]} == {
        ("w.staging.stg_events", "data_json.order_id", "DIRECT", "TRANSFORMATION"),
        ("w.staging.stg_events", "data_json.ticket_id", "DIRECT", "TRANSFORMATION"),
        ("w.seeds.keys", "key_field", "DIRECT", "TRANSFORMATION"),
        ("w.staging.stg_events", "event_type", "INDIRECT", "JOIN"),
        ("w.seeds.keys", "event_type", "INDIRECT", "JOIN"),
    }
    stg = project.by_model_name("stg_events")
    # the nested fields of data_json are data's, as is (through the identity step)
    assert [(e.table, e.column, e.subtype) for e in stg.fields["data_json.order_id"]] == [
        ("w.raw.events", "data.order_id", "IDENTITY")
    ]
    assert [(e.table, e.column) for e in stg.fields["data_json.amount"]] == [
        ("w.raw.events", "data.amount")
    ]
    for event in event_dicts(openlineage_events(project)):
        assert validation_errors(event) == []


def test_missing_manifest_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="run `flowledger build` first"):
        project_lineage(tmp_path, "ns")
