from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.contracts import (
    ContractError,
    LogicalType,
    RecordKind,
    load_contract,
    load_contracts,
)
from ingest.tables import ensure_raw_tables


def test_every_kind_has_a_contract_with_its_table_and_natural_key() -> None:
    contracts = load_contracts()
    assert {kind: c.table for kind, c in contracts.items()} == {
        RecordKind.FLOW_RUN: "raw.flow_runs",
        RecordKind.STEP_RUN: "raw.step_runs",
        RecordKind.QUEUE_DEPTH_SAMPLE: "raw.queue_depth_samples",
        RecordKind.BUSINESS_EVENT: "raw.business_events",
    }
    assert contracts[RecordKind.FLOW_RUN].natural_key == ("source_system", "run_id", "run_attempt")
    assert contracts[RecordKind.STEP_RUN].natural_key == (
        "source_system",
        "run_id",
        "run_attempt",
        "step_id",
        "attempt",
    )
    assert contracts[RecordKind.QUEUE_DEPTH_SAMPLE].natural_key == (
        "source_system",
        "queue_name",
        "sampled_at",
    )
    # primaryKeyPosition wins over the order of the properties (id comes before source).
    assert contracts[RecordKind.BUSINESS_EVENT].natural_key == ("source", "id")


def test_properties_carry_types_rules_and_redaction() -> None:
    flow_run = load_contracts()[RecordKind.FLOW_RUN]
    assert len(flow_run.properties) == 24
    assert flow_run.field_names[:3] == ("source_system", "tenant", "flow_id")
    status = flow_run.property("status")
    assert status.required
    assert status.valid_values == (
        "queued",
        "running",
        "success",
        "failed",
        "cancelled",
        "timed_out",
        "skipped",
        "waiting",
        "unknown",
    )
    assert flow_run.property("run_attempt").minimum == 1.0
    assert flow_run.property("run_attempt").logical_type is LogicalType.INTEGER
    assert [p.name for p in flow_run.properties if p.scrub_secrets] == ["error_message", "url"]
    event = load_contracts()[RecordKind.BUSINESS_EVENT]
    assert event.property("type").pattern == "^[A-Za-z0-9][A-Za-z0-9._-]*$"
    assert event.property("specversion").valid_values == ("1.0",)
    assert event.property("data").duckdb_type == "VARCHAR"
    assert event.property("time").duckdb_type == "TIMESTAMP"


def test_ddl_puts_contract_columns_then_metadata(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_raw_tables(con)
    ensure_raw_tables(con)  # idempotent
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'queue_depth_samples' order by ordinal_position"
    ).fetchall()
    assert columns == [
        ("source_system", "VARCHAR"),
        ("queue_name", "VARCHAR"),
        ("sampled_at", "TIMESTAMP"),
        ("depth", "BIGINT"),
        ("flow_id", "VARCHAR"),
        ("oldest_message_age_s", "DOUBLE"),
        ("_batch_id", "VARCHAR"),
        ("_ingested_at", "TIMESTAMP"),
        ("_source_file", "VARCHAR"),
        ("_row_number", "BIGINT"),
        ("_payload_hash", "VARCHAR"),
    ]
    tables = con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' order by 1"
    ).fetchall()
    assert [t[0] for t in tables] == [
        "business_events",
        "flow_runs",
        "ingest_batches",
        "ingest_collisions",
        "quarantine",
        "queue_depth_samples",
        "step_runs",
    ]


def test_a_contract_with_an_unknown_logical_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flow_run.odcs.yaml"
    path.write_text(
        "schema:\n  - name: flow_run\n    physicalName: raw.flow_runs\n"
        "    properties:\n      - {name: x, logicalType: decimal}\n"
    )
    with pytest.raises(ContractError, match="'x' has logicalType 'decimal'"):
        load_contract(path)
