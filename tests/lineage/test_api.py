"""The OpenLineage intake and the Marquez-compatible reads over HTTP on loopback, driven by the
real openlineage-python client (HttpTransport, gzip, API key) and by raw requests."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

import pytest
import requests
from lineage_support import LoopbackServer
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import error_message_run, schema_dataset, sql_job

from flowledger.request_guard import DEFAULT_MAX_BODY_BYTES
from flowledger.settings import DataDir
from lineage.schemas import validation_errors
from lineage.store import LineageStore

KEY = "s3cret-key"
NS = "postgres://db.example:5432"  # a URI namespace with colons


@pytest.fixture()
def server(tmp_path: Path):
    with LoopbackServer(DataDir(tmp_path).ensure(), api_key=KEY) as running:
        yield running


def client(url: str) -> OpenLineageClient:
    return OpenLineageClient(
        config={
            "transport": {
                "type": "http",
                "url": url,
                "compression": "gzip",
                "auth": {"type": "api_key", "apiKey": KEY},
                "retry": {"total": 0},
            }
        }
    )


def transform(kind: str, subtype: str) -> list[cl.Transformation]:
    return [cl.Transformation(type=kind, subtype=subtype, description="", masking=False)]


def run_events(when: str, run_id: str, *, failed: bool = False) -> list[RunEvent]:
    job = Job(
        namespace="etl", name="build_kpis", facets={"sql": sql_job.SQLJobFacet(query="select …")}
    )
    lineage = cl.ColumnLineageDatasetFacet(
        fields={
            "failures": cl.Fields(
                inputFields=[
                    cl.InputField(NS, "public.runs", "status", transform("INDIRECT", "FILTER")),
                    cl.InputField(NS, "public.runs", "run_id", transform("DIRECT", "AGGREGATION")),
                ]
            ),
            "flow": cl.Fields(
                inputFields=[
                    cl.InputField(NS, "public.runs", "flow", transform("DIRECT", "IDENTITY"))
                ]
            ),
        }
    )
    output = OutputDataset(
        NS,
        "public.kpis",
        facets={
            "columnLineage": lineage,
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name="failures", type="INTEGER"),
                    schema_dataset.SchemaDatasetFacetFields(name="flow", type="VARCHAR"),
                ]
            ),
        },
    )
    start = RunEvent(
        eventType=RunState.START,
        eventTime=when,
        run=Run(runId=run_id),
        job=job,
        producer="https://example.com/test",
        inputs=[InputDataset(NS, "public.runs")],
        outputs=[output],
    )
    end_facets = (
        {
            "errorMessage": error_message_run.ErrorMessageRunFacet(
                message="boom", programmingLanguage="python"
            )
        }
        if failed
        else {}
    )
    end = RunEvent(
        eventType=RunState.FAIL if failed else RunState.COMPLETE,
        eventTime=when.replace("00:00Z", "05:00Z"),
        run=Run(runId=run_id, facets=end_facets),
        job=job,
        producer="https://example.com/test",
        inputs=[InputDataset(NS, "public.runs")],
        outputs=[output],
    )
    return [start, end]


def test_python_client_events_are_stored_and_read_back(server: LoopbackServer) -> None:
    run_id = str(uuid.uuid4())
    emitter = client(server.url)
    for event in run_events("2026-03-01T10:00:00Z", run_id):
        emitter.emit(event)
    events = requests.get(f"{server.url}/api/v1/events/lineage", headers=auth(), timeout=5).json()[
        "events"
    ]
    assert [e["eventType"] for e in events] == ["COMPLETE", "START"]
    assert all(validation_errors(e) == [] for e in events)

    answer = requests.get(
        f"{server.url}/api/v1/column-lineage",
        params={"nodeId": f"datasetField:{NS}:public.kpis:failures"},
        headers=auth(),
        timeout=5,
    )
    assert answer.status_code == 200
    nodes = {n["id"]: n for n in answer.json()["graph"]}
    failures = nodes[f"datasetField:{NS}:public.kpis:failures"]
    assert failures["type"] == "DATASET_FIELD"
    # Marquez's quirk: origin is the node itself, inEdges point upstream.
    assert failures["inEdges"] == [
        {"origin": failures["id"], "destination": f"datasetField:{NS}:public.runs:run_id"},
        {"origin": failures["id"], "destination": f"datasetField:{NS}:public.runs:status"},
    ]
    inputs = {i["field"]: i for i in failures["data"]["inputFields"]}
    assert inputs["status"]["transformations"][0]["type"] == "INDIRECT"
    assert inputs["status"]["transformations"][0]["subtype"] == "FILTER"
    assert inputs["run_id"]["transformations"][0]["subtype"] == "AGGREGATION"
    assert failures["data"]["fieldType"] == "INTEGER"
    upstream = nodes[f"datasetField:{NS}:public.runs:status"]
    assert upstream["outEdges"] == [{"origin": upstream["id"], "destination": failures["id"]}]
    assert f"datasetField:{NS}:public.kpis:flow" not in nodes  # not connected to failures
    as_of_downstream = requests.get(
        f"{server.url}/api/v1/column-lineage",
        params={
            "nodeId": f"datasetField:{NS}:public.kpis:failures",
            "asOf": "2026-03-01T10:06:00Z",
            "withDownstream": "true",
        },
        headers=auth(),
        timeout=5,
    )
    assert as_of_downstream.status_code == 400, as_of_downstream.text  # as Marquez

    graph = requests.get(
        f"{server.url}/api/v1/lineage",
        params={"nodeId": f"dataset:{NS}:public.kpis", "depth": 5},
        headers=auth(),
        timeout=5,
    ).json()["graph"]
    assert [n["id"] for n in graph] == [
        f"dataset:{NS}:public.kpis",
        f"dataset:{NS}:public.runs",
        "job:etl:build_kpis",
    ]
    job = graph[2]
    assert job["inEdges"] == [
        {"origin": f"dataset:{NS}:public.runs", "destination": "job:etl:build_kpis"}
    ]
    assert job["outEdges"] == [
        {"origin": "job:etl:build_kpis", "destination": f"dataset:{NS}:public.kpis"}
    ]
    assert job["data"]["latestRun"]["state"] == "COMPLETED"
    assert job["data"]["latestRun"]["durationMs"] == 5 * 60 * 1000
    kpis = graph[0]
    assert kpis["inEdges"] == [{"origin": "job:etl:build_kpis", "destination": kpis["id"]}]
    assert [f["name"] for f in kpis["data"]["fields"]] == ["failures", "flow"]

    run = requests.get(f"{server.url}/api/v1/jobs/runs/{run_id}", headers=auth(), timeout=5).json()
    assert run["state"] == "COMPLETED"


def test_failed_run_keeps_its_error_and_state(server: LoopbackServer) -> None:
    run_id = str(uuid.uuid4())
    emitter = client(server.url)
    for event in run_events("2026-03-02T10:00:00Z", run_id, failed=True):
        emitter.emit(event)
    run = requests.get(f"{server.url}/api/v1/jobs/runs/{run_id}", headers=auth(), timeout=5).json()
    assert run["state"] == "FAILED"
    assert run["facets"]["errorMessage"]["message"] == "boom"


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def minimal(**changes) -> dict:
    event = {
        "eventType": "START",
        "eventTime": "2026-03-01T10:00:00Z",
        "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "etl", "name": "j"},
        "inputs": [],
        "outputs": [],
    }
    event.update(changes)
    return event


def post(
    server: LoopbackServer,
    body: bytes,
    headers: dict[str, str] | None = None,
    path: str = "lineage",
):
    return requests.post(
        f"{server.url}/api/v1/{path}",
        data=body,
        headers={"Content-Type": "application/json", **auth(), **(headers or {})},
        timeout=5,
    )


def test_status_codes_like_marquez(server: LoopbackServer) -> None:
    assert post(server, json.dumps(minimal()).encode()).status_code == 201
    gz = post(server, gzip.compress(json.dumps(minimal()).encode()), {"Content-Encoding": "gzip"})
    assert gz.status_code == 201
    bad_json = post(server, b'{"eventTime": ')
    assert bad_json.status_code == 400 and "malformed JSON" in bad_json.json()["message"]
    date_only = post(server, json.dumps(minimal(eventTime="2026-03-01")).encode())
    assert date_only.status_code == 400 and "eventTime" in date_only.json()["message"]
    # Marquez reads a date-time without an offset (as its server's zone, UTC in its image;
    # fixture open_lineage/event_required_no_timezone.json): so does flowledger, as UTC
    no_offset_run = str(uuid.uuid4())
    no_offset = minimal(eventTime="2026-12-05T10:00:00", run={"runId": no_offset_run})
    assert post(server, json.dumps(no_offset).encode()).status_code == 201
    stored = requests.get(
        f"{server.url}/api/v1/events/lineage",
        params={"after": "2026-12-05T09:59:59Z", "before": "2026-12-05T10:00:01Z"},
        headers=auth(),
        timeout=5,
    ).json()["events"]
    assert [e["run"]["runId"] for e in stored] == [no_offset_run]
    bad_time = post(server, json.dumps(minimal(eventTime="2026-12-05T25:00:00")).encode())
    assert bad_time.status_code == 400 and "eventTime" in bad_time.json()["message"]
    parent = {"job": {"namespace": "a", "name": "b"}, "run": {"runId": "nope"}}
    bad_parent = post(
        server,
        json.dumps(
            minimal(run={"runId": str(uuid.uuid4()), "facets": {"parent": parent}})
        ).encode(),
    )
    assert bad_parent.status_code == 400
    assert bad_parent.json()["message"] == (
        "run.facets.parent.run.runId 'nope' is not a UUID (8-4-4-4-12 hexadecimal digits)"
    )
    no_job = minimal()
    del no_job["job"]["name"]
    missing = post(server, json.dumps(no_job).encode())
    assert missing.status_code == 422
    assert missing.json()["message"] == "missing required field job.name"
    nameless_output = post(server, json.dumps(minimal(outputs=[{"namespace": "n"}])).encode())
    assert (
        nameless_output.status_code == 422
        and "outputs[0].name" in nameless_output.json()["message"]
    )
    # a column-lineage input field without its field was stored as a field named "None"
    fieldless = {"namespace": "n", "name": "i"}
    for facet, place in [
        ({"fields": {"c": {"inputFields": [fieldless]}}}, "fields.c.inputFields[0].field"),
        ({"fields": {}, "dataset": [{"namespace": "n", "field": "x"}]}, "dataset[0].name"),
    ]:
        output = {"namespace": "n", "name": "o", "facets": {"columnLineage": facet}}
        refused = post(server, json.dumps(minimal(outputs=[output])).encode())
        assert refused.status_code == 422
        assert refused.json()["message"] == (
            f"missing required field outputs[0].facets.columnLineage.{place}"
        )
    bad_gzip = post(server, b"not gzip", {"Content-Encoding": "gzip"})
    assert bad_gzip.status_code == 400
    # a zip bomb is refused without inflating it whole; a cut stream is refused, not half read
    bomb = post(
        server, gzip.compress(b" " * (DEFAULT_MAX_BODY_BYTES + 1)), {"Content-Encoding": "gzip"}
    )
    assert bomb.status_code == 413 and "decompresses to more than" in bomb.json()["message"]
    whole = gzip.compress(json.dumps(minimal()).encode())
    cut = post(server, whole[: len(whole) // 2], {"Content-Encoding": "gzip"})
    assert cut.status_code == 400 and "truncated" in cut.json()["message"]
    wrong_key = post(server, json.dumps(minimal()).encode(), auth("nope"))
    assert wrong_key.status_code == 401
    assert wrong_key.json() == {"code": 401, "message": "invalid bearer token"}
    no_key = requests.post(f"{server.url}/api/v1/lineage", json=minimal(), timeout=5)
    assert no_key.status_code == 401 and no_key.headers["www-authenticate"] == "Bearer"
    dataset_event = {
        "eventTime": "2026-03-01T10:00:00Z",
        "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "n", "name": "static"},
    }
    assert post(server, json.dumps(dataset_event).encode()).status_code == 201
    events = requests.get(f"{server.url}/api/v1/events/lineage", headers=auth(), timeout=5).json()
    assert events["totalCount"] == 4  # the refused ones were never stored


RUN_ID = "7c44a311-e881-4cc1-848e-96aea71adc7a"
#: Values of another JSON type than the OpenLineage schemas give, each stored with 201 before:
#: every read of the lineage API then answered 500, and `flowledger build` stopped.
MISTYPED = {
    "run.facets: an array where the OpenLineage schema has an object": minimal(
        run={"runId": RUN_ID, "facets": [1]}
    ),
    "job.facets: an array where the OpenLineage schema has an object": minimal(
        job={"namespace": "etl", "name": "j", "facets": [1]}
    ),
    "outputs[0].facets: a string where the OpenLineage schema has an object": minimal(
        outputs=[{"namespace": "n", "name": "o", "facets": "x"}]
    ),
    "outputs[0].facets.columnLineage.fields: an array where the OpenLineage schema has an "
    "object": minimal(
        outputs=[{"namespace": "n", "name": "o", "facets": {"columnLineage": {"fields": [1]}}}]
    ),
    "outputs[0].facets.columnLineage.fields.a.inputFields: a string where the OpenLineage schema "
    "has an array": minimal(
        outputs=[
            {
                "namespace": "n",
                "name": "o",
                "facets": {"columnLineage": {"fields": {"a": {"inputFields": "x"}}}},
            }
        ]
    ),
    "run.facets.parent: a string where the OpenLineage schema has an object": minimal(
        run={"runId": RUN_ID, "facets": {"parent": "x"}}
    ),
    "job.facets.jobType: a string where the OpenLineage schema has an object": minimal(
        job={"namespace": "etl", "name": "j", "facets": {"jobType": "x"}}
    ),
    "inputs[0].facets.dataSource.name: an array where the OpenLineage schema has a string": (
        minimal(inputs=[{"namespace": "n", "name": "i", "facets": {"dataSource": {"name": [1]}}}])
    ),
}


@pytest.mark.parametrize("reason", MISTYPED)
def test_a_value_of_the_wrong_json_type_is_refused_with_its_path(
    server: LoopbackServer, reason: str
) -> None:
    answer = post(server, json.dumps(MISTYPED[reason]).encode())
    assert (answer.status_code, answer.json()["message"]) == (400, reason)
    batch = post(server, json.dumps([minimal(), MISTYPED[reason]]).encode(), path="lineage/batch")
    assert batch.json()["failed_events"] == [
        {"index": 1, "reason": f"[1].{reason}", "retriable": False}
    ]
    # the API still reads (it answered 500 to every read once such an event was stored)
    namespaces = requests.get(f"{server.url}/api/v1/namespaces", headers=auth(), timeout=5)
    assert namespaces.status_code == 200


def test_facets_without_producer_fields_are_still_taken(server: LoopbackServer) -> None:
    # the types are checked, not the whole schema: Marquez takes facets without _producer
    parent = {"run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "a", "name": "b"}}
    event = minimal(
        run={"runId": str(uuid.uuid4()), "facets": {"parent": parent}},
        outputs=[{"namespace": "n", "name": "o", "facets": {"schema": {"fields": []}}}],
    )
    assert post(server, json.dumps(event).encode()).status_code == 201


def test_a_run_id_is_one_run_in_either_case(server: LoopbackServer) -> None:
    # Marquez reads runId as a java.util.UUID: START sent upper-case, COMPLETE lower-case, one run
    upper = RUN_ID.upper()
    start = minimal(run={"runId": upper}, job={"namespace": "etl", "name": "cased"})
    complete = minimal(
        eventType="COMPLETE",
        eventTime="2026-03-01T10:05:00Z",
        run={"runId": RUN_ID},
        job={"namespace": "etl", "name": "cased"},
    )
    for event in (start, complete):
        assert post(server, json.dumps(event).encode()).status_code == 201
    runs = requests.get(
        f"{server.url}/api/v1/namespaces/etl/jobs/cased/runs", headers=auth(), timeout=5
    ).json()["runs"]
    assert [(r["id"], r["state"]) for r in runs] == [(RUN_ID, "COMPLETED")]
    by_upper = requests.get(f"{server.url}/api/v1/jobs/runs/{upper}", headers=auth(), timeout=5)
    assert by_upper.json()["id"] == RUN_ID
    for other_form in ("{" + RUN_ID + "}", "urn:uuid:" + RUN_ID, RUN_ID.replace("-", "")):
        refused = post(server, json.dumps(minimal(run={"runId": other_form})).encode())
        assert refused.status_code == 400 and "is not a UUID" in refused.json()["message"]


def test_a_mistyped_event_stored_by_an_older_version_is_passed_over(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path).ensure()
    store = LineageStore(data_dir)
    good = minimal(run={"runId": str(uuid.uuid4())})
    store.append([good])
    # what intake refuses now, written as an older version stored it
    with open(store.files()[0], "a") as handle:
        for event in MISTYPED.values():
            handle.write(json.dumps({"receivedAt": "2026-03-01T10:00:00Z", "event": event}) + "\n")
    assert LineageStore(data_dir).events() == [good]
    with LoopbackServer(data_dir, api_key=KEY) as running:
        for path in ("namespaces", "namespaces/etl/jobs", "search?q=j"):
            answer = requests.get(f"{running.url}/api/v1/{path}", headers=auth(), timeout=5)
            assert answer.status_code == 200, path


def test_a_list_in_a_namespace_nothing_is_in_answers_404(server: LoopbackServer) -> None:
    # Marquez's throwIfNotExists: an empty list would hide a misspelt namespace
    assert post(server, json.dumps(minimal()).encode()).status_code == 201
    get = lambda path: requests.get(f"{server.url}/api/v1/{path}", headers=auth(), timeout=5)  # noqa: E731
    assert get("namespaces/etl/jobs").json()["totalCount"] == 1
    for path in ("namespaces/etI/jobs", "namespaces/nope/datasets"):
        answer = get(path)
        assert answer.status_code == 404 and "no namespace" in answer.json()["message"]


def test_the_epoch_is_a_time_filter_like_any_other(server: LoopbackServer) -> None:
    assert post(server, json.dumps(minimal()).encode()).status_code == 201
    answer = requests.get(
        f"{server.url}/api/v1/events/lineage",
        params={"after": "1970-01-01T00:00:00Z"},
        headers=auth(),
        timeout=5,
    )
    assert answer.status_code == 200 and answer.json()["totalCount"] == 1


def test_a_dataset_shows_the_lifecycle_state_a_write_sent(server: LoopbackServer) -> None:
    change = {"lifecycleStateChange": {"lifecycleStateChange": "OVERWRITE"}}
    event = minimal(
        eventType="COMPLETE", outputs=[{"namespace": "n", "name": "totals", "facets": change}]
    )
    assert post(server, json.dumps(event).encode()).status_code == 201
    dataset = requests.get(
        f"{server.url}/api/v1/namespaces/n/datasets/totals", headers=auth(), timeout=5
    ).json()
    assert dataset["lastLifecycleState"] == "OVERWRITE"


def test_batch_reports_each_failure(server: LoopbackServer) -> None:
    body = [minimal(), {"producer": "x"}, minimal(eventTime="yesterday")]
    answer = post(server, json.dumps(body).encode(), path="lineage/batch")
    assert answer.status_code == 200
    result = answer.json()
    assert result["status"] == "partial_success"
    assert result["summary"] == {"received": 3, "successful": 1, "failed": 2}
    assert [f["index"] for f in result["failed_events"]] == [1, 2]
    assert "eventTime" in result["failed_events"][0]["reason"]
    assert post(server, json.dumps(minimal()).encode(), path="lineage/batch").status_code == 400


def test_reads_answer_404_and_400(server: LoopbackServer) -> None:
    get = lambda path, **params: requests.get(  # noqa: E731
        f"{server.url}/api/v1/{path}", params=params, headers=auth(), timeout=5
    )
    assert get("lineage", nodeId="dataset:nowhere:nothing").status_code == 404
    assert get("lineage").status_code == 400
    assert get("lineage", nodeId="table:x").status_code == 400
    assert get("column-lineage", nodeId="dataset:a:b#v1", withDownstream="true").status_code == 400
    assert get("lineage", nodeId="dataset:a:b", depth="ten").status_code == 400


def test_events_survive_a_restart(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path).ensure()
    run_id = str(uuid.uuid4())
    with LoopbackServer(data_dir, api_key=KEY) as first:
        for event in run_events("2026-03-01T10:00:00Z", run_id):
            client(first.url).emit(event)
    # acknowledged means on disk: a new store (a restarted server) sees both
    assert len(LineageStore(data_dir).events()) == 2
    with LoopbackServer(data_dir, api_key=KEY) as second:
        run = requests.get(f"{second.url}/api/v1/jobs/runs/{run_id}", headers=auth(), timeout=5)
        assert run.json()["state"] == "COMPLETED"


def test_flowledger_trace_endpoint_keeps_types(server: LoopbackServer) -> None:
    emitter = client(server.url)
    for event in run_events("2026-03-03T10:00:00Z", str(uuid.uuid4())):
        emitter.emit(event)
    answer = requests.get(
        f"{server.url}/api/v1/flowledger/trace",
        params={"column": "public.kpis.failures"},
        headers=auth(),
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    children = {
        (c["field"], c["transformation"]["type"], c["transformation"]["subtype"])
        for c in result["tree"]["children"]
    }
    assert children == {("run_id", "DIRECT", "AGGREGATION"), ("status", "INDIRECT", "FILTER")}
    assert result["sql"] == {"etl:build_kpis": "select …"}
    missing = requests.get(
        f"{server.url}/api/v1/flowledger/trace",
        params={"column": "nope.x"},
        headers=auth(),
        timeout=5,
    )
    assert missing.status_code == 404


def test_reads_order_and_filter_by_instant_not_text(server: LoopbackServer) -> None:
    """Runs and events are ordered, and events filtered, by the instant their times name: a UTC
    offset (13:00+02:00 is 11:00Z) and fractional seconds (12:00:00.500Z is after 12:00:00Z)
    order otherwise as text."""
    times = {
        "11:00Z": "2026-03-01T13:00:00+02:00",
        "12:00Z": "2026-03-01T12:00:00Z",
        "12:00:00.5Z": "2026-03-01T12:00:00.500Z",
    }
    run_ids = {label: str(uuid.uuid4()) for label in times}
    body = [minimal(eventTime=when, run={"runId": run_ids[label]}) for label, when in times.items()]
    assert post(server, json.dumps(body).encode(), path="lineage/batch").status_code == 200

    def get(path: str, **params: str) -> requests.Response:
        return requests.get(f"{server.url}/api/v1/{path}", params=params, headers=auth(), timeout=5)

    runs = get("namespaces/etl/jobs/j/runs").json()["runs"]
    assert [run["id"] for run in runs] == [run_ids[t] for t in ("12:00:00.5Z", "12:00Z", "11:00Z")]

    def events(**params: str) -> list[str]:
        return [e["eventTime"] for e in get("events/lineage", **params).json()["events"]]

    newest_first = [times[t] for t in ("12:00:00.5Z", "12:00Z", "11:00Z")]
    assert events() == newest_first
    assert events(before="2026-03-01T12:00:00.250Z") == newest_first[1:]
    assert events(after="2026-03-01T13:30:00+02:00") == newest_first[:2]
    assert events(after="2026-03-01T11:00:00Z", before="2026-03-01T12:00:00.500Z") == [
        times["12:00Z"]
    ]  # both bounds exclusive
    refused = get("events/lineage", before="yesterday")
    assert refused.status_code == 400 and "before" in refused.json()["message"]


def test_a_write_cut_short_leaves_no_half_line_to_swallow_the_next_event(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk cut a POST's write in the middle of its line: the POST was answered 500, the
    half line stayed, and the next event, answered 201, was appended onto it and lost to every
    reader. Now the failed write is cut off (503, Retry-After) and the next event is kept."""
    import errno
    import os

    import lineage.store

    class DiskFullOnce:
        """The store's ``os``, whose first write stops halfway on a full disk."""

        writes = 0

        def __getattr__(self, name: str):
            return getattr(os, name)

        def write(self, fd: int, data: bytes) -> int:
            DiskFullOnce.writes += 1
            if DiskFullOnce.writes == 1:
                os.write(fd, bytes(data[: len(data) // 2]))
                raise OSError(errno.ENOSPC, "No space left on device")
            return os.write(fd, data)

    monkeypatch.setattr(lineage.store, "os", DiskFullOnce())
    lost, kept = str(uuid.uuid4()), str(uuid.uuid4())
    refused = post(server, json.dumps(minimal(run={"runId": lost})).encode())
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] and "nothing was stored" in refused.json()["message"]
    assert post(server, json.dumps(minimal(run={"runId": kept})).encode()).status_code == 201
    stored = LineageStore(DataDir(tmp_path)).events()
    assert [event["run"]["runId"] for event in stored] == [kept]


def test_the_torn_end_a_crash_left_is_cut_before_the_next_append(tmp_path: Path) -> None:
    store = LineageStore(DataDir(tmp_path).ensure())
    first, second = (minimal(run={"runId": str(uuid.uuid4())}) for _ in range(2))
    store.append([first])
    (path,) = store.files()
    with path.open("ab") as handle:  # a crash in the middle of a write: no newline at the end
        handle.write(b'{"receivedAt":"2026-03-01T10:00:00Z","event":{"eventTime":"2026-0')
    store.append([second])
    assert [event["run"]["runId"] for event in store.events()] == [
        first["run"]["runId"],
        second["run"]["runId"],
    ]
    assert path.read_bytes().endswith(b"\n") and path.read_bytes().count(b"\n") == 2


def test_a_job_named_with_a_slash_and_runs_is_the_job(server: LoopbackServer) -> None:
    """`GET …/jobs/nightly%2Fruns` answered the runs of job `nightly` (the route matched the
    decoded path); it is the job named `nightly/runs`, and `…/jobs/nightly%2Fruns/runs` its runs."""
    event = minimal(job={"namespace": "slash", "name": "nightly/runs"})
    assert post(server, json.dumps(event).encode()).status_code == 201
    base = f"{server.url}/api/v1/namespaces/slash/jobs/nightly%2Fruns"
    answer = requests.get(base, headers=auth(), timeout=5)
    assert answer.status_code == 200 and answer.json()["name"] == "nightly/runs"
    runs = requests.get(f"{base}/runs", headers=auth(), timeout=5).json()["runs"]
    assert [r["id"] for r in runs] == [event["run"]["runId"]]
    # names with slashes sent unencoded still ask for the runs
    other = minimal(job={"namespace": "s3://bucket", "name": "dag/task"})
    assert post(server, json.dumps(other).encode()).status_code == 201
    unencoded = f"{server.url}/api/v1/namespaces/s3://bucket/jobs/dag/task/runs"
    runs = requests.get(unencoded, headers=auth(), timeout=5).json()["runs"]
    assert [r["id"] for r in runs] == [other["run"]["runId"]]
