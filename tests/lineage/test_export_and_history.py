"""Lineage as of a past time (edges with validity intervals) and the audit pack export, on a
hand-made event history: job `build` first derives kpis.total from orders.amount, then (a later
version) from orders.net_amount with a filter on orders.status."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from flowledger.cli import main
from flowledger.settings import DataDir
from lineage.marquez import BadRequest, column_lineage
from lineage.service import load_graph, resolve_column, trace
from lineage.store import LineageStore

NS = "warehouse"


def job_event(when: str, inputs: list[tuple[str, str, str]]) -> dict:
    return {
        "eventTime": when,
        "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "etl", "name": "build"},
        "inputs": [{"namespace": NS, "name": "orders"}],
        "outputs": [
            {
                "namespace": NS,
                "name": "kpis",
                "facets": {
                    "columnLineage": {
                        "_producer": "https://example.com/p",
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": {
                            "total": {
                                "inputFields": [
                                    {"namespace": NS, "name": "orders", "field": field,
                                     "transformations": [{"type": kind, "subtype": subtype}]}
                                    for field, kind, subtype in inputs
                                ]
                            }
                        },
                    }
                },
            }
        ],
    }  # fmt: skip


@pytest.fixture()
def data_dir(tmp_path: Path) -> DataDir:
    data_dir = DataDir(tmp_path).ensure()
    LineageStore(data_dir).append(
        [
            job_event("2026-01-01T00:00:00Z", [("amount", "DIRECT", "AGGREGATION")]),
            job_event(
                "2026-02-01T00:00:00Z",
                [("net_amount", "DIRECT", "AGGREGATION"), ("status", "INDIRECT", "FILTER")],
            ),
        ]
    )
    return data_dir


def inputs_of(result: dict, node_id: str) -> set[str]:
    node = next(n for n in result["graph"] if n["id"] == node_id)
    return {item["field"] for item in node["data"]["inputFields"]}


def test_lineage_as_of_a_past_time(data_dir: DataDir) -> None:
    graph = load_graph(data_dir)
    total = f"datasetField:{NS}:kpis:total"
    assert inputs_of(column_lineage(graph, total), total) == {"net_amount", "status"}
    january = column_lineage(graph, total, as_of="2026-01-15T00:00:00Z")
    assert inputs_of(january, total) == {"amount"}
    assert inputs_of(column_lineage(graph, total + "#2026-01-15T00:00:00Z"), total) == {"amount"}
    with pytest.raises(BadRequest):
        column_lineage(graph, total + "#2026-01-15T00:00:00Z", with_downstream=True)
    with pytest.raises(BadRequest, match="withDownstream"):  # the asOf form too, as Marquez
        column_lineage(graph, total, with_downstream=True, as_of="2026-01-15T00:00:00Z")
    before = trace(graph, resolve_column(graph, "kpis.total"), as_of="2025-12-31T00:00:00Z")
    assert before.edges == []


def test_export_json_csv_html(data_dir: DataDir, capsys) -> None:
    base = ["--data-dir", str(data_dir.root), "lineage", "export"]
    assert main([*base, "--format", "json"]) == 0
    pack = json.loads(capsys.readouterr().out)
    assert pack["flowledger_version"] and pack["dbt_version"].startswith("1.11")
    assert pack["exported_at"].endswith("Z")
    assert pack["counts"] == {
        "datasets": 2, "jobs": 1, "field_edges": 3, "current_field_edges": 2, "events": 2,
    }  # fmt: skip
    old = [e for e in pack["field_edges"] if e["input_field"] == "amount"]
    assert old[0]["valid_from"] == "2026-01-01T00:00:00Z"
    assert old[0]["valid_to"] == "2026-02-01T00:00:00Z"
    assert pack["ownership_violations"] is None  # nothing published in this data dir

    assert main([*base, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 3
    assert {(r["input_field"], r["type"], r["subtype"], r["valid_to"]) for r in rows} == {
        ("amount", "DIRECT", "AGGREGATION", "2026-02-01T00:00:00Z"),
        ("net_amount", "DIRECT", "AGGREGATION", ""),
        ("status", "INDIRECT", "FILTER", ""),
    }
    assert all(r["flowledger_version"] == pack["flowledger_version"] for r in rows)

    out = data_dir.root / "pack.html"
    assert main([*base, "--format", "html", "--out", str(out)]) == 0
    page = out.read_text()
    assert page.count("<tr><td>kpis</td>") == 3
    assert "flowledger version" in page and pack["dbt_version"] in page


def test_lineage_the_parser_cannot_place_is_reported_with_a_reason(tmp_path: Path) -> None:
    from lineage.graph import LineageGraph

    def run_event(sql: str, output: str) -> dict:
        return {
            "eventType": "COMPLETE",
            "eventTime": "2026-01-01T00:00:00Z",
            "producer": "https://example.com/p",
            "run": {"runId": "0190a7f0-0000-7000-8000-0000000000aa"},
            "job": {"namespace": "etl", "name": output, "facets": {"sql": {"query": sql}}},
            "inputs": [{"namespace": NS, "name": "db.s.unknown"}],
            "outputs": [{"namespace": NS, "name": output}],
        }

    graph = LineageGraph.from_events(
        [
            run_event("select * from db.s.unknown", "db.s.copy"),
            run_event("select from where", "db.s.broken"),
        ]
    )
    assert any(
        "`*` could not be expanded" in n for n in graph.datasets[(NS, "db.s.copy")].lineage_notes
    )
    assert (
        graph.datasets[(NS, "db.s.broken")]
        .lineage_notes[0]
        .startswith("the job's SQL could not be analysed")
    )
