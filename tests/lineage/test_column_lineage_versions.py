"""``datasetVersion`` in column-lineage answers (Marquez's ColumnLineageNodeData): a field node
carries the version of its dataset that the run event sending the lineage wrote, and each input
field the version of its dataset that run read, the same ids ``…/datasets/{name}/versions``
lists. Through the real openlineage-python client and HTTP on 127.0.0.1."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from lineage_support import LoopbackServer
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import schema_dataset

from flowledger.settings import DataDir

NS = "warehouse"
PRODUCER = "https://example.com/test"


@pytest.fixture()
def server(tmp_path: Path):
    with LoopbackServer(DataDir(tmp_path).ensure()) as running:
        yield running


def _schema(*names: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="VARCHAR") for n in names]
    )


def _load(when: str, run_id: str, *fields: str) -> RunEvent:
    """Job ``load`` writes ``runs`` (reading nothing the graph knows of)."""
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=when,
        run=Run(runId=run_id),
        job=Job(NS, "load"),
        producer=PRODUCER,
        outputs=[OutputDataset(NS, "runs", facets={"schema": _schema(*fields)})],
    )


def _build(when: str, run_id: str) -> RunEvent:
    """Job ``build_kpis`` reads ``runs`` and ``flows`` (never written) and writes ``kpis``."""
    field = cl.InputField
    lineage = cl.ColumnLineageDatasetFacet(
        fields={
            "failures": cl.Fields(
                inputFields=[field(NS, "runs", "status"), field(NS, "flows", "flow_id")]
            )
        }
    )
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=when,
        run=Run(runId=run_id),
        job=Job(NS, "build_kpis"),
        producer=PRODUCER,
        inputs=[InputDataset(NS, "runs"), InputDataset(NS, "flows")],
        outputs=[
            OutputDataset(
                NS, "kpis", facets={"columnLineage": lineage, "schema": _schema("failures")}
            )
        ],
    )


def _versions(server: LoopbackServer, dataset: str) -> dict[str | None, str]:
    """The run that made each version of ``dataset`` (None: a read) → the version's id."""
    answer = requests.get(
        f"{server.url}/api/v1/namespaces/{NS}/datasets/{dataset}/versions", timeout=5
    ).json()
    return {(v["createdByRun"] or {}).get("id"): v["version"] for v in answer["versions"]}


def _failures(server: LoopbackServer, as_of: str | None = None) -> dict[str, dict]:
    params = {"nodeId": f"datasetField:{NS}:kpis:failures"}
    if as_of:
        params["asOf"] = as_of
    answer = requests.get(f"{server.url}/api/v1/column-lineage", params=params, timeout=5)
    assert answer.status_code == 200, answer.text
    return {n["id"]: n["data"] for n in answer.json()["graph"]}


def test_field_nodes_carry_the_versions_the_runs_wrote_and_read(server: LoopbackServer) -> None:
    load_1, build_1, load_2, build_2 = (str(uuid.uuid4()) for _ in range(4))
    client = OpenLineageClient(
        config={"transport": {"type": "http", "url": server.url, "retry": {"total": 0}}}
    )
    client.emit(_load("2026-03-01T08:00:00Z", load_1, "status"))
    client.emit(_build("2026-03-01T09:00:00Z", build_1))
    client.emit(_load("2026-03-02T08:00:00Z", load_2, "status", "attempt"))  # a new schema
    client.emit(_build("2026-03-02T09:00:00Z", build_2))

    kpis, runs, flows = (
        _versions(server, "kpis"),
        _versions(server, "runs"),
        _versions(server, "flows"),
    )
    assert set(kpis) == {build_1, build_2} and set(runs) == {load_1, load_2}
    assert set(flows) == {None}  # only ever read: the one version of its first read

    now = _failures(server)
    failures = now[f"datasetField:{NS}:kpis:failures"]
    assert failures["datasetVersion"] == kpis[build_2]
    read = {i["dataset"]: i["datasetVersion"] for i in failures["inputFields"]}
    assert read == {"runs": runs[load_2], "flows": flows[None]}
    assert now[f"datasetField:{NS}:runs:status"]["datasetVersion"] == runs[load_2]
    assert now[f"datasetField:{NS}:flows:flow_id"]["datasetVersion"] == flows[None]

    # as of the first day: what build_1 wrote, from what load_1 had written
    then = _failures(server, as_of="2026-03-01T12:00:00Z")
    failures = then[f"datasetField:{NS}:kpis:failures"]
    assert failures["datasetVersion"] == kpis[build_1]
    read = {i["dataset"]: i["datasetVersion"] for i in failures["inputFields"]}
    assert read == {"runs": runs[load_1], "flows": flows[None]}
    assert then[f"datasetField:{NS}:runs:status"]["datasetVersion"] == runs[load_1]
