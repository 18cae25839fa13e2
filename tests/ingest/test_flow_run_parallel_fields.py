"""flow_run's optional execution_mode and outputs: accepted, checked, migrated, hash-stable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

import ingest.pipeline
import ingest.tables
from flowledger.settings import CONTRACTS_DIR, DataDir
from ingest.contracts import RecordKind, load_contracts
from ingest.pipeline import ingest_paths
from ingest.tables import ensure_raw_tables

NEW_FIELDS = ("execution_mode", "outputs")


def run(run_id: str, **extra: object) -> dict[str, object]:
    return {
        "source_system": "aws-lambda",
        "flow_id": "c2f-payment-capture",
        "flow_name": "Payment capture",
        "flow_version": "1.4.2",
        "run_id": run_id,
        "status": "success",
        "started_at": "2026-08-01T10:00:00Z",
        "business_key": "O-1",
        **extra,
    }


def write_ndjson(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def old_contracts_dir(tmp_path: Path) -> Path:
    """The contracts as they were before execution_mode and outputs were added."""
    directory = tmp_path / "old-contracts"
    shutil.copytree(CONTRACTS_DIR, directory)
    path = directory / "flow_run.odcs.yaml"
    text = path.read_text()
    start = text.index("      - name: execution_mode")
    end = text.index("slaProperties:")
    path.write_text(text[:start] + text[end:])
    assert "outputs" not in path.read_text()
    return directory


def flow_run_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'flow_runs' order by ordinal_position"
        ).fetchall()
    ]


def test_shadow_runs_with_outputs_are_accepted_and_bad_values_quarantined(
    data_dir: DataDir, tmp_path: Path
) -> None:
    path = write_ndjson(
        tmp_path / "runs.ndjson",
        [
            run("1", outputs={"amount": 85.3, "currency": "EUR"}),
            run("2", execution_mode="shadow", flow_version="2.0.0", outputs={"amount": 85}),
            run("3", execution_mode="canary"),
            run("4", outputs="[1, 2]"),
            run("5", execution_mode="live"),
        ],
    )
    summary = ingest_paths([path], data_dir)
    assert (summary.files[0].accepted, summary.files[0].quarantined) == (3, 2)
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    rows = con.execute(
        "select run_id, execution_mode, outputs from raw.flow_runs order by run_id"
    ).fetchall()
    reasons = [
        r[0]
        for r in con.execute("select reason from raw.quarantine order by row_number").fetchall()
    ]
    con.close()
    assert rows == [
        ("1", None, '{"amount":85.3,"currency":"EUR"}'),
        ("2", "shadow", '{"amount":85}'),
        ("5", "live", None),
    ]
    assert reasons == [
        "execution_mode: 'canary' is not one of live, shadow",
        "outputs: '[1, 2]' is not a JSON object",
    ]


def test_an_old_raw_table_gets_the_new_columns_in_contract_order(tmp_path: Path) -> None:
    old = load_contracts(old_contracts_dir(tmp_path))[RecordKind.FLOW_RUN]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema raw")
    con.execute(old.ddl())
    con.execute(
        "insert into raw.flow_runs (source_system, flow_id, flow_name, run_id, run_attempt, "
        "status, started_at, _payload_hash) values ('n8n', 'f', 'F', 'r1', 1, 'success', "
        "'2026-08-01 10:00:00', 'h1')"
    )
    assert not set(NEW_FIELDS) & set(flow_run_columns(con))
    ensure_raw_tables(con)
    current = load_contracts()[RecordKind.FLOW_RUN]
    assert flow_run_columns(con) == [name for name, _ in current.columns()]
    assert con.execute(
        "select run_id, status, execution_mode, outputs, _payload_hash from raw.flow_runs"
    ).fetchall() == [("r1", "success", None, None, "h1")]
    assert ingest.tables.add_missing_columns(con, current) == []  # nothing left to add
    con.close()


def test_reingesting_a_file_landed_under_the_old_contract_finds_duplicates(
    data_dir: DataDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_ndjson(tmp_path / "runs.ndjson", [run("1"), run("2", status="failed")])
    old = old_contracts_dir(tmp_path)
    with monkeypatch.context() as patched:
        patched.setattr(ingest.pipeline, "load_contracts", lambda: load_contracts(old))
        patched.setattr(ingest.tables, "load_contracts", lambda: load_contracts(old))
        first = ingest_paths([path], data_dir)
    assert first.files[0].accepted == 2
    again = ingest_paths([path], data_dir)  # the current contract: two more columns
    result = again.files[0]
    assert (result.accepted, result.duplicates, result.collisions) == (0, 2, 0)
    # a record that does carry a new field is a different payload for the same key
    changed = write_ndjson(tmp_path / "changed.ndjson", [run("1", execution_mode="live")])
    assert ingest_paths([changed], data_dir).files[0].collisions == 1
