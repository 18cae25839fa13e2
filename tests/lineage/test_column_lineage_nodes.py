"""Every edge of a column-lineage answer joins two nodes of the answer: as Marquez's
``ColumnLineageService.toLineage`` adds each input field of a field as a node, the inputs of
the fields at the depth asked are nodes too (with only their edges to the nodes there)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from lineage_support import LoopbackServer

from flowledger.settings import DataDir

NS = "warehouse"
PRODUCER = "https://example.com/chain"


def field_lineage(inputs: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    return {
        "columnLineage": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
            "fields": {
                out: {
                    "inputFields": [
                        {"namespace": NS, "name": table, "field": column}
                        for table, column in sources
                    ]
                }
                for out, sources in inputs.items()
            },
        }
    }


def step(job: str, reads: list[str], writes: str, lineage: dict[str, list[tuple[str, str]]]):
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-12-01T10:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": NS, "name": job},
        "inputs": [{"namespace": NS, "name": name} for name in reads],
        "outputs": [{"namespace": NS, "name": writes, "facets": field_lineage(lineage)}],
    }


#: a.x → b.x → c.x → d.x, with b.y (from a.y) feeding c.x too, and c.x → e.z downstream
CHAIN = [
    step("ab", ["a"], "b", {"x": [("a", "x")], "y": [("a", "y")]}),
    step("bc", ["b"], "c", {"x": [("b", "x"), ("b", "y")]}),
    step("cd", ["c"], "d", {"x": [("c", "x")]}),
    step("ce", ["c"], "e", {"z": [("c", "x")]}),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    data_dir = DataDir(Path(tmp_path_factory.mktemp("chain"))).ensure()
    with LoopbackServer(data_dir) as running:
        for event in CHAIN:
            answer = requests.post(f"{running.url}/api/v1/lineage", json=event, timeout=30)
            assert answer.status_code == 201, answer.text
        yield running


def column_lineage(server: LoopbackServer, node: str, depth: int, down: bool) -> list[dict]:
    answer = requests.get(
        f"{server.url}/api/v1/column-lineage",
        params={"nodeId": node, "depth": depth, "withDownstream": str(down).lower()},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["graph"]


def edges(graph: list[dict]) -> set[tuple[str, str]]:
    return {(e["origin"], e["destination"]) for n in graph for e in n["inEdges"] + n["outEdges"]}


def field(dataset: str, name: str) -> str:
    return f"datasetField:{NS}:{dataset}:{name}"


@pytest.mark.parametrize("down", [False, True], ids=["upstream", "with-downstream"])
@pytest.mark.parametrize("depth", [0, 1, 2, 3, 20])
@pytest.mark.parametrize(
    "node", [field("d", "x"), field("c", "x"), field("b", "x"), f"dataset:{NS}:c", f"job:{NS}:bc"]
)
def test_every_edge_endpoint_is_a_node(
    server: LoopbackServer, node: str, depth: int, down: bool
) -> None:
    graph = column_lineage(server, node, depth, down)
    ids = {n["id"] for n in graph}
    assert len(ids) == len(graph)
    assert {end for edge in edges(graph) for end in edge} <= ids
    # and the edges agree: each inEdge of a node is the outEdge of its destination
    for origin, destination in edges(graph):
        back = {(d, o) for o, d in edges(graph)}
        assert (destination, origin) in back


def test_the_inputs_at_the_depth_asked_are_nodes_with_edges_to_the_graph_only(
    server: LoopbackServer,
) -> None:
    graph = column_lineage(server, field("d", "x"), 1, False)
    by_id = {n["id"]: n for n in graph}
    # depth 1 reaches c.x; its inputs b.x and b.y are nodes, as in Marquez
    assert set(by_id) == {field("d", "x"), field("c", "x"), field("b", "x"), field("b", "y")}
    assert by_id[field("b", "x")]["inEdges"] == []  # a.x is past the depth: no edge to it
    assert by_id[field("b", "x")]["outEdges"] == [
        {"origin": field("b", "x"), "destination": field("c", "x")}
    ]
    # its data still says what it is read from (data, not an edge of the answer)
    assert [i["field"] for i in by_id[field("b", "x")]["data"]["inputFields"]] == ["x"]
    assert {e["destination"] for e in by_id[field("c", "x")]["inEdges"]} == {
        field("b", "x"),
        field("b", "y"),
    }
