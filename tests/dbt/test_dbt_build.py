"""The build itself: clean, unit-tested, on the mart interface, and fine over empty raw tables."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from raw_world import CONTRACT_TABLES, contract_columns, create_raw_tables

pytestmark = pytest.mark.slow

#: The mart interface the dashboard reads (schema marts), column order included.
MART_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "fct_cases": [
        ("case_key", "VARCHAR"), ("process_name", "VARCHAR"), ("case_id", "VARCHAR"),
        ("started_at", "TIMESTAMP"), ("ended_at", "TIMESTAMP"), ("cycle_time_seconds", "DOUBLE"),
        ("event_count", "BIGINT"), ("distinct_steps", "BIGINT"), ("is_complete", "BOOLEAN"),
        ("has_rework", "BOOLEAN"), ("repeated_steps", "BIGINT"), ("last_event_at", "TIMESTAMP"),
        ("last_step_name", "VARCHAR"), ("last_event_source", "VARCHAR"), ("variant", "VARCHAR"),
        # added beyond the interface (issue 4, docs/processes.md)
        ("first_event_at", "TIMESTAMP"), ("duration_seconds", "DOUBLE"), ("cycle_measure", "VARCHAR"),
        ("field_corrections", "BIGINT"), ("has_field_correction", "BOOLEAN"),
        ("gray_failures", "BIGINT"), ("has_gray_failure", "BOOLEAN"), ("is_first_pass", "BOOLEAN"),
        ("sla_started_at", "TIMESTAMP"), ("sla_ended_at", "TIMESTAMP"), ("sla_seconds", "DOUBLE"),
        ("sla_met", "BOOLEAN"), ("sla_decided_at", "TIMESTAMP"), ("idle_seconds", "DOUBLE"),
        ("is_stuck", "BOOLEAN"),
        ("segment_values", "VARCHAR"),
        ("last_ingested_at", "TIMESTAMP"),  # incremental watermark (issue 7)
    ],
    "fct_process_daily": [
        ("process_name", "VARCHAR"), ("day", "DATE"), ("cases_started", "BIGINT"),
        ("cases_completed", "BIGINT"), ("cycle_time_mean_seconds", "DOUBLE"),
        ("cycle_time_median_seconds", "DOUBLE"), ("cycle_time_p95_seconds", "DOUBLE"),
        ("cases_with_rework", "BIGINT"), ("rework_rate", "DOUBLE"),
    ],
    "fct_flow_runs": [
        ("run_key", "VARCHAR"), ("source_system", "VARCHAR"), ("run_id", "VARCHAR"),
        ("run_attempt", "BIGINT"), ("flow_id", "VARCHAR"), ("flow_name", "VARCHAR"),
        ("flow_version", "VARCHAR"), ("trigger", "VARCHAR"), ("status", "VARCHAR"),
        ("raw_status", "VARCHAR"), ("is_success", "BOOLEAN"), ("is_failed", "BOOLEAN"),
        ("queued_at", "TIMESTAMP"), ("started_at", "TIMESTAMP"), ("ended_at", "TIMESTAMP"),
        ("duration_ms", "DOUBLE"), ("end_to_end_ms", "DOUBLE"), ("error_type", "VARCHAR"),
        ("error_message", "VARCHAR"), ("idempotency_key", "VARCHAR"), ("business_key", "VARCHAR"),
        ("step_attempts", "BIGINT"), ("step_failures", "BIGINT"), ("step_retries", "BIGINT"),
        ("dead_letters", "BIGINT"), ("is_duplicate_delivery", "BOOLEAN"),
        ("is_idempotency_collision", "BOOLEAN"),
        # added beyond the interface
        ("input_digest", "VARCHAR"), ("step_executions", "BIGINT"),
        ("last_ingested_at", "TIMESTAMP"),  # incremental watermark (issue 7)
    ],
    "fct_step_reliability_daily": [
        ("flow_id", "VARCHAR"), ("flow_name", "VARCHAR"), ("step_name", "VARCHAR"),
        ("day", "DATE"), ("attempts", "BIGINT"), ("failed_attempts", "BIGINT"),
        ("attempt_failure_rate", "DOUBLE"), ("executions", "BIGINT"),
        ("failed_executions", "BIGINT"), ("failure_rate", "DOUBLE"), ("retries", "BIGINT"),
        ("dead_letters", "BIGINT"), ("dead_letter_rate", "DOUBLE"),
        ("last_ingested_at", "TIMESTAMP"),  # incremental watermark (issue 7)
    ],
    "fct_flow_health_hourly": [
        ("flow_id", "VARCHAR"), ("flow_name", "VARCHAR"), ("hour", "TIMESTAMP"),
        ("runs", "BIGINT"), ("failed_runs", "BIGINT"), ("failure_rate", "DOUBLE"),
        ("latency_p50_ms", "DOUBLE"), ("latency_p95_ms", "DOUBLE"), ("step_retries", "BIGINT"),
        ("dead_letters", "BIGINT"), ("step_executions", "BIGINT"), ("dead_letter_rate", "DOUBLE"),
        ("queue_depth_avg", "DOUBLE"), ("queue_depth_max", "BIGINT"),
        ("duplicate_deliveries", "BIGINT"), ("idempotency_collisions", "BIGINT"),
        ("last_ingested_at", "TIMESTAMP"),  # incremental watermark (issue 7)
    ],
    "dim_flows": [
        ("flow_id", "VARCHAR"), ("flow_name", "VARCHAR"), ("source_system", "VARCHAR"),
        ("latest_flow_version", "VARCHAR"), ("first_run_at", "TIMESTAMP"),
        ("last_run_at", "TIMESTAMP"), ("runs", "BIGINT"),
    ],
}  # fmt: skip

UNIT_TESTS = {
    "int_case_events_mapped_extracts_case_ids_and_orders_ties",
    "fct_cases_bounds_rework_and_variant",
    "fct_process_daily_quantiles_and_rework",
    "int_flows_summarized_takes_latest_name_and_version",
    "int_step_attempts_enriched_execution_outcome_and_flow",
    "int_flow_runs_enriched_idempotency_flags_and_durations",
    "fct_step_reliability_daily_rates",
    "fct_flow_health_hourly_latency_queue_and_zero_denominators",
    "int_case_field_changes_marks_changed_values_only",
    "fct_cases_first_to_last_sla_stuck_and_rework_kinds",
    "fct_cases_variant_of_steps_holding_the_separator",
    "fct_process_directly_follows_counts_and_waits",
    "fct_process_flows_counts_each_linked_attempt_once",
    # error budgets: slices and periods without data are no data, not good
    "int_slo_units_slices_without_events_are_no_data",
    "int_slo_budget_status_no_data_is_unknown_not_healthy",
    "int_slo_series_no_data_has_no_remaining_budget",
}


def mart_columns(build) -> dict[str, list[tuple[str, str]]]:
    rows = build.rows(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = 'marts' and table_schema = 'main' "
        "order by table_name, ordinal_position"
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        found.setdefault(table, []).append((column, data_type))
    return found


def run_results(build) -> list[dict]:
    return json.loads((build.target_path / "run_results.json").read_text())["results"]


@pytest.mark.parametrize("build_name", ["known_build", "empty_build"])
def test_build_is_clean(build_name, request):
    build = request.getfixturevalue(build_name)
    summary = re.search(r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)", build.log)
    assert summary, build.log[-3000:]
    assert summary.group(2, 3, 4) == ("0", "0", "0"), build.log[-3000:]
    assert "[WARNING]" not in build.log, build.log


@pytest.mark.parametrize("build_name", ["known_build", "empty_build"])
def test_marts_follow_the_interface(build_name, request):
    # the interface marts; marts added by other features are checked by their own tests
    found = mart_columns(request.getfixturevalue(build_name))
    assert {name: found.get(name) for name in MART_COLUMNS} == MART_COLUMNS


def test_every_unit_test_ran_and_passed(known_build):
    unit_results = {
        result["unique_id"].rsplit(".", 1)[-1]: result["status"]
        for result in run_results(known_build)
        if result["unique_id"].startswith("unit_test.")
    }
    assert unit_results.keys() >= UNIT_TESTS
    assert set(unit_results.values()) == {"pass"}, unit_results


def test_layers_land_in_their_own_schemas(known_build):
    rows = known_build.rows(
        "select table_catalog, table_schema, table_type, count(*) from information_schema.tables "
        "where table_schema in ('main', 'staging', 'intermediate', 'marts', 'seeds') "
        "and table_catalog in ('warehouse', 'marts') group by all order by all"
    )
    # every layer in its schema with its materialisation (counts grow with each feature); the
    # marts in their own file (schema main), whose copy is the published snapshot
    assert [row[:3] for row in rows] == [
        ("marts", "main", "BASE TABLE"),
        ("warehouse", "intermediate", "BASE TABLE"),
        ("warehouse", "staging", "VIEW"),
    ]


def test_empty_raw_tables_give_empty_marts(empty_build):
    for mart in MART_COLUMNS:
        assert empty_build.rows(f"select count(*) from marts.{mart}") == [(0,)], mart


def test_fixture_ddl_matches_ingest():
    """The tests' raw tables must be the ones ingest creates in production."""
    ingest = pytest.importorskip("ingest")
    con = duckdb.connect()
    try:
        ingest.ensure_raw_tables(con)
        for table, contract_name in CONTRACT_TABLES.items():
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            assert columns == contract_columns(contract_name), table
    finally:
        con.close()
    fresh = duckdb.connect()
    try:
        create_raw_tables(fresh)
        assert fresh.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw'"
        ).fetchall() == [(4,)]
    finally:
        fresh.close()
