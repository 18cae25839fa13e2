"""Which edges are current, for every reader alike: the untyped edges of a producer (dbt-ol's
`transformations: []`) that the parsed SQL replaced, the column lineage of a dataset written by
jobs of different names (dbt-ol names one model's job differently per mode), and a job's inputs
and outputs (those of its latest run, as Marquez's current job version)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from flowledger.cli import main
from flowledger.settings import DataDir
from lineage.graph import FieldKey, LineageGraph, NodeNotFound
from lineage.marquez import column_lineage, job_data, lineage
from lineage.service import trace
from lineage.store import LineageStore

NS = "duckdb:///tmp/repro.duckdb"
WINDOW_SQL = "select id, row_number() over (partition by grp order by ts) as rn from db.main.src"


def untyped(*fields: str) -> dict:
    return {
        "inputFields": [
            {"namespace": NS, "name": "db.main.src", "field": f, "transformations": []}
            for f in fields
        ]
    }


def dbt_ol_event(when: str = "2026-12-05T12:00:00Z", job: str = "db.main.proj.m1") -> dict:
    """What dbt-ol sends: a `sql` facet and column lineage without transformation types."""
    return {
        "eventType": "COMPLETE",
        "eventTime": when,
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/dbt",
        "run": {"runId": "0e8f6a1c-6a55-4a8e-8d0f-6a1e2b3c4d5e"},
        "job": {"namespace": "repro", "name": job, "facets": {"sql": {"query": WINDOW_SQL}}},
        "inputs": [
            {
                "namespace": NS,
                "name": "db.main.src",
                "facets": {"schema": {"fields": [{"name": "id"}, {"name": "grp"}, {"name": "ts"}]}},
            }
        ],
        "outputs": [
            {
                "namespace": NS,
                "name": "db.main.m1",
                "facets": {
                    "columnLineage": {
                        "_producer": "dbt-ol",
                        "dataset": [],
                        "fields": {"id": untyped("id"), "rn": untyped("grp", "ts")},
                    }
                },
            }
        ],
    }


GRP = FieldKey(NS, "db.main.src", "grp")
RN = FieldKey(NS, "db.main.m1", "rn")
RN_IS_A_WINDOW = {("grp", "rn", "INDIRECT", "WINDOW"), ("ts", "rn", "INDIRECT", "WINDOW")}


def kinds(edges) -> set[tuple[str, str, str, str]]:
    return {(e.input.field, e.output.field, e.type, e.subtype) for e in edges}


def test_replaced_untyped_edges_are_gone_for_every_reader(tmp_path: Path, capsys) -> None:
    graph = LineageGraph.from_events([dbt_ol_event()])
    assert kinds(graph.upstream_edges(RN)) == RN_IS_A_WINDOW
    # downstream reads see the same edges as upstream reads: no DIRECT/'' edge grp -> rn
    assert kinds(graph.downstream_edges(GRP)) == {("grp", "rn", "INDIRECT", "WINDOW")}
    for as_of in (None, "2026-12-06T00:00:00Z"):
        for direct_only in (False, True):
            walked = graph.trace(GRP, downstream=True, as_of=as_of, direct_only=direct_only)
            tree = trace(graph, GRP, downstream=True, as_of=as_of, direct_only=direct_only)
            expected = set() if direct_only else {("grp", "rn", "INDIRECT", "WINDOW")}
            assert kinds(e for _, e in walked) == expected
            assert kinds(c.edge for c in tree.root.children) == expected
    assert graph.trace(GRP, downstream=True, as_of="2026-12-05T11:00:00Z") == []
    # and the export lists them closed, never as current edges
    data_dir = DataDir(tmp_path).ensure()
    LineageStore(data_dir).append([dbt_ol_event()])
    assert main(["--data-dir", str(tmp_path), "lineage", "export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    current = {
        (r["input_field"], r["output_field"], r["type"], r["subtype"])
        for r in rows
        if not r["valid_to"]
    }
    assert current == RN_IS_A_WINDOW | {("id", "id", "DIRECT", "IDENTITY")}


def typed(job: str, when: str, source: str) -> dict:
    """An event of job ``job`` deriving r2:out.x from r2:src.<source>, typed."""
    return {
        "eventType": "COMPLETE",
        "eventTime": when,
        "producer": "https://example.com/p",
        "run": {"runId": "0e8f6a1c-6a55-4a8e-8d0f-6a1e2b3c4d50"},
        "job": {"namespace": "r2", "name": job},
        "inputs": [{"namespace": "r2", "name": "src"}],
        "outputs": [
            {
                "namespace": "r2",
                "name": "out",
                "facets": {
                    "columnLineage": {
                        "fields": {
                            "x": {
                                "inputFields": [
                                    {"namespace": "r2", "name": "src", "field": source,
                                     "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}
                                ]
                            }
                        }
                    }
                },
            }
        ],
    }  # fmt: skip


def test_the_latest_event_writing_a_dataset_defines_its_column_lineage() -> None:
    """Marquez answers from the output dataset's current version: the latest writer wins,
    whatever its job is called (`…build.run` under `dbt-ol build`, no suffix under `run`)."""
    graph = LineageGraph.from_events(
        [
            typed("build_out.build.run", "2026-12-05T12:00:00Z", "a"),
            typed("build_out", "2026-12-05T13:00:00Z", "b"),
            typed("build_out", "2026-12-05T13:00:00Z", "b"),  # sent twice: listed once
        ]
    )
    x = "datasetField:r2:out:x"
    node = next(n for n in column_lineage(graph, x, depth=1)["graph"] if n["id"] == x)
    assert [(f["field"], f["transformations"]) for f in node["data"]["inputFields"]] == [
        (
            "b",
            [
                {
                    "type": "DIRECT",
                    "subtype": "IDENTITY",
                    "description": None,
                    "masking": None,
                    "origin": "event",
                }
            ],
        )
    ]
    past = column_lineage(graph, x, depth=1, as_of="2026-12-05T12:30:00Z")
    node = next(n for n in past["graph"] if n["id"] == x)
    assert [f["field"] for f in node["data"]["inputFields"]] == ["a"]


def test_a_changed_model_replaces_the_lineage_another_dbt_ol_mode_wrote() -> None:
    changed = dbt_ol_event("2026-12-05T13:00:00Z", "db.main.proj.m1")
    changed["job"]["facets"]["sql"]["query"] = "select id, ts as rn from db.main.src"
    changed["outputs"][0]["facets"]["columnLineage"]["fields"]["rn"] = untyped("ts")
    graph = LineageGraph.from_events(
        [dbt_ol_event("2026-12-05T12:00:00Z", "db.main.proj.m1.build.run"), changed]
    )
    assert kinds(graph.upstream_edges(RN)) == {("ts", "rn", "DIRECT", "IDENTITY")}
    assert graph.downstream_edges(GRP) == []
    assert kinds(graph.upstream_edges(RN, "2026-12-05T12:30:00Z")) == RN_IS_A_WINDOW


def test_a_job_shows_the_inputs_and_outputs_of_its_latest_run() -> None:
    """Marquez's current job version: run 2 of load_invoices no longer reads public.fx, so
    /lineage shows fx as an orphan and the job lists only invoices_raw."""

    def run(run_id: str, kind: str, when: str, inputs: list[str]) -> dict:
        return {
            "eventType": kind,
            "eventTime": when,
            "producer": "https://example.com/p",
            "run": {"runId": run_id},
            "job": {"namespace": "etl", "name": "load_invoices"},
            "inputs": [{"namespace": "pg", "name": name} for name in inputs],
            "outputs": [{"namespace": "pg", "name": "analytics.invoices"}]
            if kind != "START"
            else [],
        }

    first, second = "0e8f6a1c-6a55-4a8e-8d0f-6a1e2b3c4d51", "0e8f6a1c-6a55-4a8e-8d0f-6a1e2b3c4d52"
    events = [
        run(first, "START", "2026-12-03T10:00:00Z", ["public.invoices_raw", "public.fx"]),
        run(first, "COMPLETE", "2026-12-03T10:00:42Z", []),  # the START's inputs still count
        run(second, "START", "2026-12-04T10:00:00Z", ["public.invoices_raw"]),
    ]
    graph = LineageGraph.from_events(events)
    job = ("etl", "load_invoices")
    both = [
        {"namespace": "pg", "name": "public.fx"},
        {"namespace": "pg", "name": "public.invoices_raw"},
    ]
    assert job_data(graph, job)["inputs"] == both  # run 2 is not finished: run 1 is current
    graph.add_event(run(second, "COMPLETE", "2026-12-04T10:00:42Z", ["public.invoices_raw"]))
    data = job_data(graph, job)
    assert data["inputs"] == [{"namespace": "pg", "name": "public.invoices_raw"}]
    assert data["outputs"] == [{"namespace": "pg", "name": "analytics.invoices"}]
    fx = lineage(graph, "dataset:pg:public.fx", depth=1)["graph"]
    assert [(n["id"], n["inEdges"], n["outEdges"]) for n in fx] == [
        ("dataset:pg:public.fx", [], [])
    ]
    # a late event of the older run does not bring fx back
    graph.add_event(run(first, "OTHER", "2026-12-04T11:00:00Z", ["public.fx"]))
    assert job_data(graph, job)["inputs"] == [{"namespace": "pg", "name": "public.invoices_raw"}]


def _aggregating_event() -> dict:
    """A job summing src.amount into out.total, grouped by src.region (a whole-dataset input)."""
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-07T10:00:00Z",
        "producer": "https://example.com/p",
        "run": {"runId": "5d0c9a2e-3333-4a6b-9a52-1c2b3d4e5f60"},
        "job": {"namespace": "dl", "name": "agg"},
        "inputs": [{"namespace": "dl", "name": "src"}],
        "outputs": [
            {
                "namespace": "dl",
                "name": "out",
                "facets": {
                    "columnLineage": {
                        "fields": {
                            "total": {
                                "inputFields": [
                                    {
                                        "namespace": "dl",
                                        "name": "src",
                                        "field": "amount",
                                        "transformations": [
                                            {"type": "DIRECT", "subtype": "AGGREGATION"}
                                        ],
                                    }
                                ]
                            },
                            "region": {
                                "inputFields": [
                                    {"namespace": "dl", "name": "src", "field": "region"}
                                ]
                            },
                        },
                        "dataset": [
                            {
                                "namespace": "dl",
                                "name": "src",
                                "field": "region",
                                "transformations": [{"type": "INDIRECT", "subtype": "GROUP_BY"}],
                            }
                        ],
                    }
                },
            }
        ],
    }


def test_a_whole_dataset_input_points_at_the_fields_it_affects() -> None:
    """src.region, a whole-dataset (GROUP BY) input of out, had an out-edge to
    `datasetField:dl:out:` (no field, a node that does not exist), and out.total, which lists
    src.region among its in-edges, was not among src.region's out-edges."""
    graph = LineageGraph.from_events([_aggregating_event()])
    for node_id, with_downstream in [
        ("datasetField:dl:out:total", False),
        ("datasetField:dl:src:region", True),
    ]:
        nodes = {
            n["id"]: n
            for n in column_lineage(graph, node_id, with_downstream=with_downstream)["graph"]
        }
        ids = set(nodes)
        assert "datasetField:dl:out:" not in ids
        for node in nodes.values():  # every edge names a node of the graph, both ways
            for edge in node["outEdges"]:
                assert edge["destination"] in ids
                assert {"origin": edge["destination"], "destination": node["id"]} in nodes[
                    edge["destination"]
                ]["inEdges"]
        region = nodes["datasetField:dl:src:region"]
        assert (
            sorted(e["destination"] for e in region["outEdges"])
            == [
                "datasetField:dl:out:region",
                "datasetField:dl:out:total",
            ][(0 if with_downstream else 1) :]
        )


def test_downstream_of_a_later_field_does_not_pull_in_the_whole_datasets_other_fields() -> None:
    """final.x reads out.total: its graph with downstream held out.region, neither upstream nor
    downstream of it (the whole-dataset node reached upstream was expanded too)."""
    later = _aggregating_event()
    later["job"] = {"namespace": "dl", "name": "final"}
    later["run"] = {"runId": "5d0c9a2e-3333-4a6b-9a52-1c2b3d4e5f61"}
    later["inputs"] = [{"namespace": "dl", "name": "out"}]
    later["outputs"] = [
        {
            "namespace": "dl",
            "name": "final",
            "facets": {
                "columnLineage": {
                    "fields": {
                        "x": {"inputFields": [{"namespace": "dl", "name": "out", "field": "total"}]}
                    }
                }
            },
        }
    ]
    graph = LineageGraph.from_events([_aggregating_event(), later])
    ids = {
        n["id"]
        for n in column_lineage(graph, "datasetField:dl:final:x", with_downstream=True)["graph"]
    }
    assert "datasetField:dl:out:region" not in ids
    assert {"datasetField:dl:out:total", "datasetField:dl:src:region"} <= ids


def test_a_field_the_dataset_never_had_is_not_found() -> None:
    """It answered 200 with a made-up node whose inputs were the dataset's whole-dataset ones."""
    graph = LineageGraph.from_events([_aggregating_event()])
    with pytest.raises(NodeNotFound):
        column_lineage(graph, "datasetField:dl:out:no_such_column")
