"""A run whose ``parent`` facet names a job and run no event has made yet: as Marquez
(``OpenLineageDao.createParentJobRunRecord``), the parent job and run are made as placeholders,
so the parent reads back over the Marquez API and the child names it; the parent's own events
are merged into them. Through the real openlineage-python client and HTTP on 127.0.0.1."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from lineage_support import LoopbackServer
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run

from flowledger.settings import DataDir

PRODUCER = "https://example.com/test"


@pytest.fixture()
def server(tmp_path: Path):
    with LoopbackServer(DataDir(tmp_path).ensure()) as running:
        yield running


def _client(url: str) -> OpenLineageClient:
    return OpenLineageClient(
        config={"transport": {"type": "http", "url": url, "retry": {"total": 0}}}
    )


def _event(state: RunState, when: str, job: Job, run_id: str, parent: Job | None = None,
           parent_run_id: str | None = None) -> RunEvent:  # fmt: skip
    facets = {}
    if parent is not None and parent_run_id is not None:
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent_run_id),
            job=parent_run.Job(namespace=parent.namespace, name=parent.name),
        )
    return RunEvent(
        eventType=state,
        eventTime=when,
        run=Run(runId=run_id, facets=facets),
        job=job,
        producer=PRODUCER,
    )


def _get(server: LoopbackServer, path: str) -> requests.Response:
    return requests.get(f"{server.url}/api/v1{path}", timeout=5)


def test_an_unseen_parent_is_made_and_named_by_its_child(server: LoopbackServer) -> None:
    dag, task = Job("airflow", "daily_dag"), Job("airflow", "daily_dag.load")
    dag_run, task_run = str(uuid.uuid4()), str(uuid.uuid4())
    emitter = _client(server.url)
    emitter.emit(_event(RunState.START, "2026-03-01T10:00:00Z", task, task_run, dag, dag_run))
    emitter.emit(_event(RunState.COMPLETE, "2026-03-01T10:05:00Z", task, task_run, dag, dag_run))

    parent = _get(server, "/namespaces/airflow/jobs/daily_dag")
    assert parent.status_code == 200, parent.text
    data = parent.json()
    assert (data["namespace"], data["name"], data["parentJobName"]) == (
        "airflow",
        "daily_dag",
        None,
    )
    assert data["createdAt"] == "2026-03-01T10:00:00Z"
    # the run as the child's first event left it: Marquez's state of that event, at its time
    assert data["latestRun"]["id"] == dag_run
    assert (data["latestRun"]["state"], data["latestRun"]["startedAt"]) == (
        "RUNNING",
        "2026-03-01T10:00:00Z",
    )
    runs = _get(server, "/namespaces/airflow/jobs/daily_dag/runs").json()
    assert [r["id"] for r in runs["runs"]] == [dag_run]
    assert _get(server, f"/jobs/runs/{dag_run}").json()["jobVersion"] == {
        "namespace": "airflow",
        "name": "daily_dag",
    }

    child = _get(server, "/namespaces/airflow/jobs/daily_dag.load").json()
    assert (child["parentJobName"], child["simpleName"]) == ("daily_dag", "load")
    assert child["latestRun"]["state"] == "COMPLETED"
    names = [j["name"] for j in _get(server, "/namespaces/airflow/jobs").json()["jobs"]]
    assert names == ["daily_dag", "daily_dag.load"]

    # the parent's own events arrive: the same job and run, now as the parent reported them
    emitter.emit(_event(RunState.START, "2026-03-01T09:59:00Z", dag, dag_run))
    emitter.emit(_event(RunState.COMPLETE, "2026-03-01T10:06:00Z", dag, dag_run))
    data = _get(server, "/namespaces/airflow/jobs/daily_dag").json()
    assert data["createdAt"] == "2026-03-01T09:59:00Z"
    assert data["latestRun"]["id"] == dag_run
    assert (
        data["latestRun"]["state"],
        data["latestRun"]["startedAt"],
        data["latestRun"]["endedAt"],
    ) == ("COMPLETED", "2026-03-01T09:59:00Z", "2026-03-01T10:06:00Z")
    assert _get(server, "/namespaces/airflow/jobs/daily_dag/runs").json()["totalCount"] == 1


def test_a_parent_in_another_namespace_and_a_finished_child(server: LoopbackServer) -> None:
    # The child's first event is its COMPLETE: the placeholder run is COMPLETED at its time,
    # as Marquez records it; a parent already made is left as it is by later children.
    parent, child = Job("scheduler", "nightly"), Job("etl", "nightly.export")
    parent_run_id = str(uuid.uuid4())
    emitter = _client(server.url)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    emitter.emit(_event(RunState.COMPLETE, "2026-03-02T01:00:00Z", child, first, parent,
                        parent_run_id))  # fmt: skip
    emitter.emit(_event(RunState.FAIL, "2026-03-02T02:00:00Z", child, second, parent,
                        parent_run_id))  # fmt: skip
    run = _get(server, f"/jobs/runs/{parent_run_id}").json()
    assert (run["state"], run["endedAt"]) == ("COMPLETED", "2026-03-02T01:00:00Z")
    assert run["jobVersion"] == {"namespace": "scheduler", "name": "nightly"}
    assert _get(server, "/namespaces/scheduler/jobs/nightly").status_code == 200
    assert _get(server, "/namespaces/etl/jobs/nightly.export").json()["parentJobName"] == "nightly"
    assert _get(server, "/namespaces/etl/jobs/nightly").status_code == 404
