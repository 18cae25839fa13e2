"""Events other producers send, as their projects keep them in public test fixtures (Marquez's
`open_lineage/*.json`, the OpenLineage Python client's full event, Spark's and Airflow's expected
events; sources in foreign_events/SOURCES.md), posted as published to the intake on loopback and
read back through the Marquez-compatible API the way Marquez clients read it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from lineage_support import LoopbackServer

from flowledger.settings import DataDir

FIXTURES = Path(__file__).parent / "foreign_events"
SPARK_NS = "file"
PG = "postgres://postgres:5432"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture()
def server(tmp_path: Path):
    with LoopbackServer(DataDir(tmp_path).ensure()) as running:
        yield running


def post(server: LoopbackServer, event: Any) -> requests.Response:
    return requests.post(f"{server.url}/api/v1/lineage", json=event, timeout=30)


def get(server: LoopbackServer, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{server.url}/api/v1/{path}", params=params, timeout=30)


def segment(text: str) -> str:
    """One path segment as Marquez's web UI sends it (``encodeURIComponent``)."""
    return quote(text, safe="")


MARQUEZ_EVENTS = sorted(p.name for p in (FIXTURES / "marquez").glob("*.json"))


@pytest.mark.parametrize("name", MARQUEZ_EVENTS)
def test_marquez_fixture_events_are_accepted(server: LoopbackServer, name: str) -> None:
    """Marquez's own fixtures, each accepted as Marquez accepts it (201) and kept as sent."""
    event = fixture(f"marquez/{name}")
    answer = post(server, event)
    assert answer.status_code == 201, answer.text
    stored = get(server, "events/lineage").json()["events"]
    assert stored == [event]


def test_marquez_fixture_events_read_back_as_marquez_shows_them(server: LoopbackServer) -> None:
    for name in MARQUEZ_EVENTS:
        assert post(server, fixture(f"marquez/{name}")).status_code == 201
    namespaces = {n["name"] for n in get(server, "namespaces").json()["namespaces"]}
    assert namespaces == {
        "file.localhost",
        "my-dataset-namespace",
        "my-datasource-namespace",
        "my-namespace",
        "my-scheduler-namespace",
        "s3://blob-sink",
        "s3://blob-source",
    }
    # the run without an eventType (required fields only) is RUNNING, as Marquez's getRunState;
    # the time without an offset is UTC
    runs = get(server, "namespaces/my-namespace/jobs/myjob.mytask/runs").json()["runs"]
    assert [(r["id"], r["state"]) for r in runs] == [
        ("43d7db3b-8984-4cda-b237-8c6919b36670", "RUNNING")
    ]
    # the JobEvent and the COMPLETE of `myjob` (same time) and the RUNNING of the listener:
    # the job's current version is its finished run's
    job = get(server, "namespaces/my-scheduler-namespace/jobs/myjob").json()
    assert job["inputs"] == [
        {"namespace": "my-datasource-namespace", "name": "instance.schema.input-1"},
        {"namespace": "my-datasource-namespace", "name": "instance.schema.input-2"},
    ]
    assert job["outputs"] == [
        {"namespace": "my-datasource-namespace", "name": "instance.schema.output-1"}
    ]
    states = {
        r["id"]: r["state"]
        for r in get(server, "namespaces/my-scheduler-namespace/jobs/myjob/runs").json()["runs"]
    }
    assert states == {
        "41fb5137-f0fd-4ee5-ba5c-56f8571d1bd7": "COMPLETED",
        "5e58a95c-1c71-4231-8984-ac172d5566cf": "RUNNING",
    }
    # a job name with an emoji, in an encoded path segment as the web UI sends it
    unicode_job = get(
        server, f"namespaces/my-scheduler-namespace/jobs/{segment('myjob.buggy_task🕷')}"
    )
    assert (
        unicode_job.status_code == 200 and unicode_job.json()["latestRun"]["state"] == "COMPLETED"
    )
    # URI namespaces: the dataset and its lineage by node id
    sink = get(server, f"namespaces/{segment('s3://blob-sink')}/datasets/instance.schema.table")
    assert sink.status_code == 200
    sink_data = sink.json()
    assert sink_data["sourceName"] == "s3://blob-sink"  # the dataSource facet's name
    assert sink_data["fields"] == [
        {"name": "column1", "type": "VARCHAR", "tags": [], "description": None}
    ]
    assert set(sink_data["facets"]) >= {"documentation", "schema", "dataSource", "additionalProp1"}
    graph = get(server, "lineage", nodeId="dataset:s3://blob-sink:instance.schema.table").json()
    ids = {n["id"] for n in graph["graph"]}
    assert {
        "dataset:s3://blob-source:instance.schema.table",
        "dataset:s3://blob-sink:instance.schema.table",
        "job:my-scheduler-namespace:myjob.mytask",
    } <= ids
    # fields without column lineage: an empty graph, as Marquez (its ColumnLineageService
    # answers 404 only for a node without fields)
    for node_id in (
        "dataset:s3://blob-sink:instance.schema.table",
        "datasetField:s3://blob-sink:instance.schema.table:column1",
        "job:my-scheduler-namespace:myjob.mytask",
    ):
        empty = get(server, "column-lineage", nodeId=node_id, withDownstream="true")
        assert (empty.status_code, empty.json()) == (200, {"graph": []}), node_id
    for node_id in (
        "dataset:my-datasource-namespace:instance.schema.input-1",  # no fields
        "datasetField:s3://blob-sink:instance.schema.table:nope",
        "job:my-scheduler-namespace:myjob",  # its outputs have no fields
    ):
        assert get(server, "column-lineage", nodeId=node_id).status_code == 404, node_id
    # the DatasetEvent's dataset, with its schema
    static = get(server, "namespaces/my-dataset-namespace/datasets/my-dataset-name").json()
    assert [f["name"] for f in static["fields"]] == ["col_a"]
    # the START with every typed facet: run facets kept (custom ones too), nominal times read
    run = get(server, "jobs/runs/5355b91b-32b4-4477-b660-3adadee198b2").json()
    assert run["state"] == "RUNNING"
    assert run["nominalStartTime"] == "2020-12-17T03:00:00.001Z"
    assert set(run["facets"]) == {
        "nominalTime",
        "parent",
        "additionalProp1",
        "additionalProp2",
        "additionalProp3",
    }
    # a nominalTime without an end
    no_end = get(server, "jobs/runs/1d79ed5b-7fe9-4124-b70a-bfa01d9fba83").json()
    assert no_end["nominalStartTime"] == "2020-12-17T03:00:00.001Z"
    assert no_end["nominalEndTime"] is None


def test_python_client_full_event_keeps_its_facets(server: LoopbackServer) -> None:
    event = fixture("openlineage/python_client_example_full_event.json")
    assert post(server, event).status_code == 201
    job = get(server, "namespaces/my-scheduler-namespace/jobs/myjob.mytask").json()
    assert job["description"] == "string"
    assert job["latestRun"]["state"] == "COMPLETED"
    assert job["latestRun"]["facets"]["parent"]["run"]["runId"] == (
        "3f5e83fa-3480-44ff-99c5-ff943904e5e8"
    )
    dataset = get(server, "namespaces/my-datasource-namespace/datasets/instance.schema.table")
    assert [f["name"] for f in dataset.json()["fields"]] == ["column1"]
    (stored,) = get(server, "events/lineage").json()["events"]
    assert stored["inputs"][0]["inputFacets"] == event["inputs"][0]["inputFacets"]
    assert stored["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 2000


def spark_event() -> dict[str, Any]:
    """Spark's expected column-lineage event, with what its matcher leaves out filled in."""
    event = fixture("openlineage/spark_pysparkCLLEnd.json")
    event["eventTime"] = "2024-05-01T10:00:00Z"
    event["producer"] = "https://github.com/OpenLineage/OpenLineage/tree/1.13.1/integration/spark"
    event["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    event["run"] = {"runId": "018f3a1c-0000-7000-8000-00000000c11e"}
    event["job"]["name"] = "cll_test.execute_insert_into_hadoop_fs_relation_command.tbl1"
    return event


def test_spark_column_lineage_keeps_every_transformation(server: LoopbackServer) -> None:
    assert post(server, spark_event()).status_code == 201
    answer = get(server, "column-lineage", nodeId="datasetField:file:/tmp/cll_test/tbl1:agg")
    assert answer.status_code == 200, answer.text
    nodes = {n["id"]: n for n in answer.json()["graph"]}
    agg = nodes["datasetField:file:/tmp/cll_test/tbl1:agg"]
    assert agg["data"]["fieldType"] == "long"
    got = {
        (i["dataset"], i["field"]): [(t["type"], t["subtype"]) for t in i["transformations"]]
        for i in agg["data"]["inputFields"]
    }
    # pysparkCLLEnd.json's `agg`, written out by hand
    assert got == {
        ("/tmp/cll_test/cll_source1", "a"): [
            ("INDIRECT", "GROUP_BY"),
            ("INDIRECT", "JOIN"),
            ("INDIRECT", "FILTER"),
        ],
        ("/tmp/cll_test/cll_source1", "b"): [("INDIRECT", "GROUP_BY")],
        ("/tmp/cll_test/cll_source2", "c"): [("DIRECT", "AGGREGATION")],
        ("/tmp/cll_test/cll_source2", "a"): [("INDIRECT", "JOIN"), ("INDIRECT", "FILTER")],
    }
    # Marquez's edge quirk: inEdges point upstream, from the node itself
    assert {e["destination"] for e in agg["inEdges"]} == {
        "datasetField:file:/tmp/cll_test/cll_source1:a",
        "datasetField:file:/tmp/cll_test/cll_source1:b",
        "datasetField:file:/tmp/cll_test/cll_source2:c",
        "datasetField:file:/tmp/cll_test/cll_source2:a",
    }
    assert {e["origin"] for e in agg["inEdges"]} == {agg["id"]}
    ident = get(server, "column-lineage", nodeId="datasetField:file:/tmp/cll_test/tbl1:ident")
    ident_inputs = {
        (i["dataset"], i["field"]): i
        for i in next(n for n in ident.json()["graph"] if n["id"].endswith("tbl1:ident"))["data"][
            "inputFields"
        ]
    }
    assert ident_inputs[("/tmp/cll_test/cll_source1", "a")]["transformationType"] == "IDENTITY"
    # downstream from a source field reaches all three outputs
    down = get(
        server,
        "column-lineage",
        nodeId="datasetField:file:/tmp/cll_test/cll_source1:a",
        withDownstream="true",
    ).json()
    assert {n["id"] for n in down["graph"]} >= {
        "datasetField:file:/tmp/cll_test/tbl1:ident",
        "datasetField:file:/tmp/cll_test/tbl1:trans",
        "datasetField:file:/tmp/cll_test/tbl1:agg",
    }
    # the job between them, and the symlinks facet kept on the output
    graph = get(server, "lineage", nodeId="dataset:file:/tmp/cll_test/tbl1").json()["graph"]
    job_id = (
        "job:testColumnLevelLineage:cll_test.execute_insert_into_hadoop_fs_relation_command.tbl1"
    )
    job = next(n for n in graph if n["id"] == job_id)
    assert {e["origin"] for e in job["inEdges"]} == {
        "dataset:file:/tmp/cll_test/cll_source1",
        "dataset:file:/tmp/cll_test/cll_source2",
    }
    output = get(server, f"namespaces/file/datasets/{segment('/tmp/cll_test/tbl1')}").json()
    assert output["facets"]["symlinks"]["identifiers"] == [
        {"namespace": "file:/tmp/cll_test", "name": "default.tbl1", "type": "TABLE"}
    ]
    # the symlink's name (the Hive table) answers with the dataset, as Marquez's
    # findDatasetByName (any of the dataset's symlink names): by path, node id and field id
    by_table = get(server, f"namespaces/{segment('file:/tmp/cll_test')}/datasets/default.tbl1")
    assert by_table.status_code == 200, by_table.text
    assert by_table.json()["id"] == {"namespace": "file", "name": "/tmp/cll_test/tbl1"}
    assert get(server, "lineage", nodeId="dataset:file:/tmp/cll_test:default.tbl1").json() == (
        get(server, "lineage", nodeId="dataset:file:/tmp/cll_test/tbl1").json()
    )
    by_alias = get(
        server, "column-lineage", nodeId="datasetField:file:/tmp/cll_test:default.tbl1:agg"
    )
    assert by_alias.status_code == 200
    assert by_alias.json() == answer.json()


AIRFLOW_RUNS = {
    "postgres_orders_popular_day_of_week.postgres_if_not_exists": (
        "01900000-0000-7000-8000-0000000000a1"
    ),
    "postgres_orders_popular_day_of_week.postgres_insert": "01900000-0000-7000-8000-0000000000a2",
}
AIRFLOW_TIMES = [
    "2021-06-01T10:00:00Z",  # START create table
    "2021-06-01T10:00:05Z",  # START insert
    "2021-06-01T10:00:02Z",  # COMPLETE create table
    "2021-06-01T10:00:09Z",  # COMPLETE insert
]


def airflow_events() -> list[dict[str, Any]]:
    """Airflow's expected PostgresOperator events, with what its matchers leave out filled in:
    the time, the producer and the run id (one per task, START and COMPLETE alike)."""
    events = copy.deepcopy(fixture("openlineage/airflow_postgres.json"))
    for event, when in zip(events, AIRFLOW_TIMES, strict=True):
        event["eventTime"] = when
        event["producer"] = (
            "https://github.com/OpenLineage/OpenLineage/tree/0.0.1/integration/airflow"
        )
        event.setdefault("run", {})["runId"] = AIRFLOW_RUNS[event["job"]["name"]]
    return events


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0]], ids=["in-order", "reversed"])
def test_airflow_postgres_runs_and_parsed_column_lineage(
    server: LoopbackServer, order: list[int]
) -> None:
    events = airflow_events()
    for index in order:
        assert post(server, events[index]).status_code == 201
    jobs = {j["name"]: j for j in get(server, "namespaces/food_delivery/jobs").json()["jobs"]}
    insert = jobs["postgres_orders_popular_day_of_week.postgres_insert"]
    assert insert["description"] == "Determines the popular day of week orders are placed."
    assert insert["inputs"] == [
        {"namespace": PG, "name": "food_delivery.public.top_delivery_times"}
    ]
    assert insert["outputs"] == [
        {"namespace": PG, "name": "food_delivery.public.popular_orders_day_of_week"}
    ]
    run = insert["latestRun"]
    assert (run["state"], run["startedAt"], run["endedAt"], run["durationMs"]) == (
        "COMPLETED",
        "2021-06-01T10:00:05Z",
        "2021-06-01T10:00:09Z",
        4000,
    )
    create = jobs["postgres_orders_popular_day_of_week.postgres_if_not_exists"]
    assert create["latestRun"]["state"] == "COMPLETED" and create["outputs"] == []
    # no columnLineage facet: parsed from the task's SQL (unqualified table names resolved
    # against the event's datasets; INSERT's column list; COUNT(*) counts the groups)
    answer = get(
        server,
        "column-lineage",
        nodeId=f"dataset:{PG}:food_delivery.public.popular_orders_day_of_week",
    )
    assert answer.status_code == 200, answer.text
    got = {
        n["data"]["field"]: {
            (i["field"], t["type"], t["subtype"])
            for i in n["data"]["inputFields"]
            for t in i["transformations"]
        }
        for n in answer.json()["graph"]
        if n["data"]["dataset"] == "food_delivery.public.popular_orders_day_of_week"
    }
    assert got == {
        "order_day_of_week": {
            ("order_placed_on", "DIRECT", "TRANSFORMATION"),
            ("order_placed_on", "INDIRECT", "GROUP_BY"),
        },
        "order_placed_on": {
            ("order_placed_on", "DIRECT", "IDENTITY"),
            ("order_placed_on", "INDIRECT", "GROUP_BY"),
        },
        "orders_placed": {("order_placed_on", "INDIRECT", "GROUP_BY")},
    }


# ----------------------------------------------------------- Marquez's web UI calls
# (MarquezProject/marquez: web/src/store/requests/datasets.ts, search.ts, facets.ts,
# columnlineage.ts: each URL as the UI builds it)


def test_dataset_versions_as_the_web_ui_reads_them(server: LoopbackServer) -> None:
    events = airflow_events()
    for event in events:
        assert post(server, event).status_code == 201
    # the next day's run of the insert task writes the table again
    again = copy.deepcopy(events[3])
    again["eventTime"] = "2021-06-02T10:00:09Z"
    again["run"]["runId"] = "01900000-0000-7000-8000-0000000000b2"
    assert post(server, again).status_code == 201
    table = segment("food_delivery.public.popular_orders_day_of_week")
    answer = get(server, f"namespaces/{segment(PG)}/datasets/{table}/versions?limit=100&offset=0")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["totalCount"] == 2
    newest, oldest = body["versions"]
    assert [newest["createdByRun"]["id"], oldest["createdByRun"]["id"]] == [
        "01900000-0000-7000-8000-0000000000b2",
        AIRFLOW_RUNS["postgres_orders_popular_day_of_week.postgres_insert"],
    ]
    assert (newest["createdAt"], oldest["createdAt"]) == (
        "2021-06-02T10:00:09Z",
        "2021-06-01T10:00:09Z",
    )
    assert newest["version"] != oldest["version"]
    assert newest["id"] == {
        "namespace": PG,
        "name": "food_delivery.public.popular_orders_day_of_week",
        "version": newest["version"],
    }
    assert [f["name"] for f in newest["fields"]] == [
        "order_day_of_week",
        "order_placed_on",
        "orders_placed",
    ]
    assert newest["sourceName"] == PG and newest["createdByRun"]["state"] == "COMPLETED"
    one = get(server, f"namespaces/{segment(PG)}/datasets/{table}/versions/{oldest['version']}")
    assert one.status_code == 200 and one.json()["createdAt"] == "2021-06-01T10:00:09Z"
    assert (
        get(server, f"namespaces/{segment(PG)}/datasets/{table}/versions/nope").status_code == 404
    )
    # a dataset only read has one version, from its first read (as Marquez), by no run
    source = segment("food_delivery.public.top_delivery_times")
    (read,) = get(server, f"namespaces/{segment(PG)}/datasets/{source}/versions").json()["versions"]
    assert read["createdByRun"] is None and read["createdAt"] == "2021-06-01T10:00:05Z"
    # the dataset itself still answers at its own path
    assert get(server, f"namespaces/{segment(PG)}/datasets/{table}").json()["name"] == (
        "food_delivery.public.popular_orders_day_of_week"
    )


def test_column_lineage_as_of_a_dataset_version(server: LoopbackServer) -> None:
    assert post(server, spark_event()).status_code == 201
    (version,) = get(
        server, f"namespaces/file/datasets/{segment('/tmp/cll_test/tbl1')}/versions"
    ).json()["versions"]
    node = f"datasetField:file:/tmp/cll_test/tbl1:agg#{version['version']}"
    answer = get(server, "column-lineage", nodeId=node)
    assert answer.status_code == 200, answer.text
    ids = {n["id"] for n in answer.json()["graph"]}
    assert "datasetField:file:/tmp/cll_test/cll_source2:c" in ids
    unknown = get(
        server,
        "column-lineage",
        nodeId=f"datasetField:file:/tmp/cll_test/tbl1:agg#{'0' * 8}-0000-0000-0000-{'0' * 12}",
    )
    assert unknown.status_code == 404


def test_search_as_the_web_ui_asks(server: LoopbackServer) -> None:
    assert post(server, spark_event()).status_code == 201
    for event in airflow_events():
        assert post(server, event).status_code == 201
    found = get(server, "search/?q=tbl1&sort=NAME&limit=100")
    assert found.status_code == 200, found.text
    assert found.json() == {
        "totalCount": 2,
        "results": [
            {
                "type": "DATASET",
                "name": "/tmp/cll_test/tbl1",
                "updatedAt": "2024-05-01T10:00:00Z",
                "namespace": "file",
                "nodeId": "dataset:file:/tmp/cll_test/tbl1",
            },
            {
                "type": "JOB",
                "name": "cll_test.execute_insert_into_hadoop_fs_relation_command.tbl1",
                "updatedAt": "2024-05-01T10:00:00Z",
                "namespace": "testColumnLevelLineage",
                "nodeId": "job:testColumnLevelLineage:"
                "cll_test.execute_insert_into_hadoop_fs_relation_command.tbl1",
            },
        ],
    }
    jobs = get(server, "search/?q=POSTGRES_INSERT&sort=NAME&limit=100&filter=JOB").json()
    assert [r["nodeId"] for r in jobs["results"]] == [
        "job:food_delivery:postgres_orders_popular_day_of_week.postgres_insert"
    ]
    # beyond Marquez (its issue #2170): field names and SQL are searched too
    by_field = get(server, "search", q="order_placed_on", filter="DATASET").json()["results"]
    assert {r["name"] for r in by_field} == {
        "food_delivery.public.popular_orders_day_of_week",
        "food_delivery.public.top_delivery_times",
    }
    by_sql = get(server, "search", q="isodow", filter="JOB").json()["results"]
    assert [r["name"] for r in by_sql] == ["postgres_orders_popular_day_of_week.postgres_insert"]
    newest_first = get(server, "search", q="o", sort="UPDATE_AT").json()["results"]
    years = [r["updatedAt"][:4] for r in newest_first]  # Spark's 2024, Airflow's 2021
    assert years == sorted(years, reverse=True) and {"2021", "2024"} <= set(years)
    by_name = sorted(newest_first, key=lambda r: (r["name"], r["namespace"], r["type"]))
    assert get(server, "search", q="o", limit="1").json()["results"] == by_name[:1]
    assert get(server, "search", q="").status_code == 400
    assert get(server, "search", q="x", filter="RUN").status_code == 400


def test_run_and_job_facets_as_the_web_ui_asks(server: LoopbackServer) -> None:
    assert post(server, fixture("marquez/event_full.json")).status_code == 201
    run_id = "5355b91b-32b4-4477-b660-3adadee198b2"
    run = get(server, f"jobs/runs/{run_id}/facets?type=run")
    assert run.status_code == 200, run.text
    assert run.json()["runId"] == run_id
    assert set(run.json()["facets"]) == {
        "nominalTime",
        "parent",
        "additionalProp1",
        "additionalProp2",
        "additionalProp3",
    }
    job = get(server, f"jobs/runs/{run_id}/facets?type=job").json()
    assert job["facets"]["sql"]["query"] == "SELECT * FROM foo"
    assert set(job["facets"]) == {
        "documentation",
        "sourceCodeLocation",
        "sql",
        "additionalProp1",
        "additionalProp2",
        "additionalProp3",
    }
    assert get(server, f"jobs/runs/{run_id}/facets?type=dataset").status_code == 400
    assert get(server, "jobs/runs/00000000-0000-0000-0000-000000000000/facets").status_code == 404


def airflow_failing_events() -> list[dict[str, Any]]:
    """Airflow's failing/bash.json: one DAG run's failing and succeeding task, each START and
    end naming the DAG's run as parent; the matchers' left-out time, producer and run ids
    filled in."""
    events = fixture("openlineage/airflow_failing_bash.json")
    times = [
        "2022-01-01T00:00:00Z",
        "2022-01-01T00:00:03Z",
        "2022-01-01T00:00:01Z",
        "2022-01-01T00:00:04Z",
    ]
    for event, when in zip(events, times, strict=True):
        event["eventTime"] = when
        event["producer"] = (
            "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/airflow"
        )
        event["run"]["runId"] = TASK_RUNS[event["job"]["name"]]
        event["run"]["facets"]["parent"]["run"]["runId"] = DAG_RUN
    return events


DAG_RUN = "01900000-0000-7000-8000-00000000da90"
TASK_RUNS = {
    "bash_dag.failing_task": "01900000-0000-7000-8000-0000000000f1",
    "bash_dag.success_task": "01900000-0000-7000-8000-0000000000f2",
}


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [1, 3, 0, 2]], ids=["in-order", "ends-first"])
def test_airflow_task_runs_under_their_dag(server: LoopbackServer, order: list[int]) -> None:
    events = airflow_failing_events()
    for index in order:
        assert post(server, events[index]).status_code == 201
    jobs = {j["name"]: j for j in get(server, "namespaces/food_delivery/jobs").json()["jobs"]}
    got = {
        name: (
            jobs[name]["simpleName"],
            jobs[name]["parentJobName"],
            jobs[name]["latestRun"]["state"],
            jobs[name]["latestRun"]["startedAt"],
            jobs[name]["latestRun"]["endedAt"],
        )
        for name in TASK_RUNS
    }
    assert got == {  # Marquez's simpleName: the name after its parent job's and a dot
        "bash_dag.failing_task": (
            "failing_task",
            "bash_dag",
            "FAILED",
            "2022-01-01T00:00:00Z",
            "2022-01-01T00:00:03Z",
        ),
        "bash_dag.success_task": (
            "success_task",
            "bash_dag",
            "COMPLETED",
            "2022-01-01T00:00:01Z",
            "2022-01-01T00:00:04Z",
        ),
    }
    # the START's airflow facet stays on the run after the end that left it out
    run = get(server, f"jobs/runs/{TASK_RUNS['bash_dag.failing_task']}").json()
    assert run["facets"]["airflow"]["dag"]["dag_id"] == "bash_dag"
    assert run["facets"]["parent"]["run"]["runId"] == DAG_RUN


def test_flink_streaming_job_and_failure(server: LoopbackServer) -> None:
    streaming = fixture("openlineage/flink_expected_kafka.json")
    streaming["eventTime"] = "2023-03-01T08:00:00Z"
    streaming["producer"] = (
        "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/flink"
    )
    streaming["run"]["runId"] = "01868a3c-0000-7000-8000-00000000f115"
    failed = fixture("openlineage/flink_expected_failed.json")
    failed["eventTime"] = "2023-03-01T09:00:00Z"
    failed["producer"] = streaming["producer"]
    failed["run"]["runId"] = "01868a3c-0000-7000-8000-00000000fa11"
    assert post(server, streaming).status_code == 201
    assert post(server, failed).status_code == 201
    job = get(server, "namespaces/flink_job_namespace/jobs/flink_examples_stateful").json()
    assert job["type"] == "STREAMING" and job["latestRun"]["state"] == "RUNNING"
    # a streaming job never finishes: its inputs and outputs are what its run reads and writes
    assert job["inputs"] == [
        {"namespace": "kafka://kafka:9092", "name": "io.openlineage.flink.kafka.input1"},
        {"namespace": "kafka://kafka:9092", "name": "io.openlineage.flink.kafka.input2"},
    ]
    # a namespace with a port: Marquez's id split (":(?!//|\\d+)") is not needed here
    graph = get(
        server, "lineage", nodeId="dataset:kafka://kafka:9092:io.openlineage.flink.kafka.output"
    )
    assert graph.status_code == 200
    assert "job:flink_job_namespace:flink_examples_stateful" in {
        n["id"] for n in graph.json()["graph"]
    }
    topic = get(
        server,
        f"namespaces/{segment('kafka://kafka:9092')}/datasets/io.openlineage.flink.kafka.output",
    ).json()
    assert [(f["name"], f["type"]) for f in topic["fields"]] == [
        ("id", "string"),
        ("version", "long"),
        ("counter", "long"),
    ]
    run = get(server, "jobs/runs/01868a3c-0000-7000-8000-00000000fa11").json()
    assert run["state"] == "FAILED"
    assert run["facets"]["errorMessage"]["message"] == "Application Status: FAILED"
    assert run["endedAt"] == "2023-03-01T09:00:00Z"


def test_not_found_messages_name_what_was_asked(server: LoopbackServer) -> None:
    missing = get(server, "jobs/runs/01900000-0000-7000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 404,
        "message": "no run '01900000-0000-7000-8000-000000000000'",  # the closing quote kept
    }


def test_a_namespace_as_marquez_python_gets_it(server: LoopbackServer) -> None:
    """marquez-python's get_namespace: GET /namespaces/{quote(ns, safe='')}."""
    assert post(server, fixture("marquez/event_namespace_naming.json")).status_code == 201
    for name in ("s3://blob-sink", "my-scheduler-namespace"):
        answer = get(server, f"namespaces/{segment(name)}")
        assert answer.status_code == 200, (name, answer.text)
        # Marquez's Namespace: created and updated with the events naming its datasets and jobs
        event_time = fixture("marquez/event_namespace_naming.json")["eventTime"]
        assert answer.json() == {
            "name": name,
            "createdAt": event_time,
            "updatedAt": event_time,
            "ownerName": None,
            "description": None,
            "isHidden": False,
        }
    assert get(server, "namespaces/s3://blob-sink").json()["name"] == "s3://blob-sink"
    assert get(server, f"namespaces/{segment('s3://nowhere')}").status_code == 404


def test_events_as_the_web_ui_pages_them(server: LoopbackServer) -> None:
    """events.ts: /events/lineage?limit=100&before=&after=&sortDirection=desc|asc."""
    for event in airflow_events():
        assert post(server, event).status_code == 201

    def times(direction: str) -> list[str]:
        path = f"events/lineage?limit=100&before=&after=&sortDirection={direction}"
        answer = get(server, path)
        assert answer.status_code == 200, answer.text
        return [e["eventTime"] for e in answer.json()["events"]]

    assert times("desc") == sorted(AIRFLOW_TIMES, reverse=True)
    assert times("asc") == sorted(AIRFLOW_TIMES)
    assert get(server, "events/lineage?sortDirection=sideways").status_code == 400


@pytest.mark.parametrize(
    ("event_time", "status", "says"),
    [
        ("2020-12-28T19:51:01.641499123Z", 201, None),  # nanoseconds (Great Expectations)
        ("2020-12-28T19:51:01.641+0000", 201, None),  # an offset without a colon
        ("2020-12-28 19:51:01Z", 400, "joined by T"),  # a space for the T: Marquez refuses it
        # a zone id after the offset (Egeria; MarquezProject/marquez#1757): Marquez refuses it
        ("2021-11-05T10:28:18.969066Z[Europe/London]", 400, "not an ISO 8601 date-time"),
    ],
)
def test_event_times_producers_send(
    server: LoopbackServer, event_time: str, status: int, says: str | None
) -> None:
    event = fixture("marquez/event_required_nanoseconds.json")
    event["eventTime"] = event_time
    answer = post(server, event)
    assert answer.status_code == status, answer.text
    if says is not None:
        assert says in answer.json()["message"] and "eventTime" in answer.json()["message"]


def test_python_client_job_and_dataset_events_without_an_offset(server: LoopbackServer) -> None:
    """The Python client's own serde examples: a JobEvent and a DatasetEvent whose times name
    no offset (as datetime.now().isoformat() writes them); read as UTC, as Marquez reads them."""
    job_event = fixture("openlineage/python_client_serde_example_job_event.json")
    dataset_event = fixture("openlineage/python_client_serde_example_dataset_event.json")
    assert post(server, job_event).status_code == 201
    assert post(server, dataset_event).status_code == 201
    job = get(server, "namespaces/openlineage/jobs/name").json()
    assert job["inputs"] == [{"namespace": "openlineage", "name": "dataset_a"}]
    assert job["outputs"] == [{"namespace": "openlineage", "name": "dataset_b"}]
    assert job["latestRun"] is None  # design-time lineage: no run
    graph = get(server, "lineage", nodeId="dataset:openlineage:dataset_b").json()["graph"]
    assert {n["id"] for n in graph} == {
        "dataset:openlineage:dataset_a",
        "dataset:openlineage:dataset_b",
        "job:openlineage:name",
    }
    static = get(server, "namespaces/openlineage/datasets/name").json()
    assert [f["name"] for f in static["fields"]] == ["a", "b"]
    between = get(
        server,
        "events/lineage",
        after="2021-11-03T10:53:52Z",
        before="2021-11-03T10:53:53Z",
    ).json()
    assert between["totalCount"] == 2  # both read as 10:53:52.427343 UTC


# ------------------------------------------------- the web UI's home page (stats/*.ts)


def test_stats_intervals_and_counts_by_hand() -> None:
    from datetime import UTC, datetime

    from lineage.stats import intervals, lineage_event_counts, running_totals, zone

    now = datetime(2024, 5, 2, 10, 30, tzinfo=UTC)
    day = intervals("DAY", UTC, now)
    assert len(day) == 24
    assert (day[0][0].isoformat(), day[-1][0].isoformat()) == (
        "2024-05-01T11:00:00+00:00",
        "2024-05-02T10:00:00+00:00",
    )
    berlin = zone("Europe/Berlin")
    week = intervals("WEEK", berlin, now)  # 12:30 in Berlin: today is the 2nd, there
    assert [start.isoformat() for start, _ in week][::6] == [
        "2024-04-26T00:00:00+02:00",
        "2024-05-02T00:00:00+02:00",
    ]
    events = [
        {"eventType": "START", "eventTime": "2024-05-02T09:10:00Z", "run": {}},
        {"eventType": "COMPLETE", "eventTime": "2024-05-02T11:59:00+02:00", "run": {}},  # 09:59Z
        {"eventType": "FAIL", "eventTime": "2024-05-02T10:05:00Z", "run": {}},
        {"eventType": "RUNNING", "eventTime": "2024-05-02T10:06:00Z", "run": {}},  # not counted
        {"eventType": "START", "eventTime": "2024-05-01T10:59:59Z", "run": {}},  # before
        {"eventType": "COMPLETE", "eventTime": "2024-05-02T10:10:00Z"},  # a JobEvent
    ]
    hourly = lineage_event_counts(events, "DAY", UTC, now)
    assert hourly[-2] == {
        "startInterval": "2024-05-02T09:00:00Z",
        "endInterval": "2024-05-02T10:00:00Z",
        "fail": 0,
        "start": 1,
        "complete": 1,
        "abort": 0,
    }
    assert (hourly[-1]["fail"], hourly[-1]["start"], hourly[-1]["complete"]) == (1, 0, 0)
    assert sum(h["start"] + h["complete"] + h["fail"] for h in hourly) == 3
    daily = lineage_event_counts(events, "WEEK", berlin, now)
    assert (daily[-1]["start"], daily[-1]["complete"], daily[-1]["fail"]) == (1, 1, 1)
    assert daily[-2]["start"] == 1  # 12:59:59 in Berlin on the 1st
    created = ["2024-04-01T00:00:00Z", "2024-05-02T09:30:00Z", "2024-05-02T11:00:00Z"]
    totals = running_totals(created, "DAY", UTC, now)  # the last is after now: not yet
    assert [t["count"] for t in totals][-3:] == [1, 2, 2]
    assert totals[0]["count"] == 1


def test_stats_as_the_web_ui_asks(server: LoopbackServer) -> None:
    """lineageMetrics.ts and intervalMetrics.ts: /stats/lineage-events and /stats/{jobs,
    datasets,sources}?period=DAY|WEEK&timezone=<the browser's>, over Airflow's events moved to
    the last hours (their times are what must change)."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    events = airflow_events()
    for hours_ago, event in zip((5, 4, 4, 3), events, strict=True):
        event["eventTime"] = (now - timedelta(hours=hours_ago)).isoformat()
        assert post(server, event).status_code == 201
    hourly = get(server, "stats/lineage-events?period=DAY&timezone=Europe/Berlin")
    assert hourly.status_code == 200, hourly.text
    assert len(hourly.json()) == 24
    assert sum(h["start"] for h in hourly.json()) == 2
    assert sum(h["complete"] for h in hourly.json()) == 2
    weekly = get(server, "stats/lineage-events?period=WEEK&timezone=Europe/Berlin").json()
    assert len(weekly) == 7 and sum(d["start"] + d["complete"] for d in weekly) == 4
    for asset, total in (("jobs", 2), ("datasets", 2), ("sources", 1)):
        series = get(server, f"stats/{asset}?period=DAY&timezone=UTC").json()
        assert series[-1]["count"] == total, asset
        assert series[0]["count"] == 0, asset  # none 23 hours ago
    assert get(server, "stats/jobs?period=MONTH").status_code == 400
    assert get(server, "stats/jobs?period=DAY&timezone=Mars/Olympus").status_code == 400
    assert get(server, "stats/tables?period=DAY").status_code == 404


def test_a_batch_of_foreign_events_fails_only_the_unreadable_one(server: LoopbackServer) -> None:
    """Every Marquez fixture and Spark's serde event in one /lineage/batch: the serde event's
    parent facet has no run (Marquez requires its runId), so it alone fails, saying where; as
    one event it is a 422 naming the field. Without its producer it is refused for that first."""
    serde = fixture("openlineage/spark_serde_openlineage_event.json")
    # a serde fixture: the agent sends a producer, which it leaves out
    serde["producer"] = "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/spark"
    batch = [fixture(f"marquez/{name}") for name in MARQUEZ_EVENTS] + [serde]
    answer = requests.post(f"{server.url}/api/v1/lineage/batch", json=batch, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    last = len(batch) - 1
    assert body["status"] == "partial_success"
    assert body["summary"] == {"received": len(batch), "successful": last, "failed": 1}
    assert body["failed_events"] == [
        {
            "index": last,
            "reason": f"missing required field [{last}].run.facets.parent.run",
            "retriable": False,
        }
    ]
    no_producer = fixture("openlineage/spark_serde_openlineage_event.json")
    assert post(server, no_producer).json() == {
        "code": 422,
        "message": "missing required field producer",
    }
    single = post(server, serde)
    assert single.status_code == 422
    assert single.json()["message"] == "missing required field run.facets.parent.run"
    # with the parent's run named, it is stored with its input and output facets
    serde["run"]["facets"]["parent"]["run"] = {"runId": "5f24c93c-1a1a-49dc-82e7-95ab4915242f"}
    assert post(server, serde).status_code == 201
    run = get(server, "jobs/runs/5f24c93c-2ce9-49dc-82e7-95ab4915242f").json()
    assert run["facets"]["errorMessage"]["stackTrace"] == "<stack_trace>"
    assert get(server, "namespaces/namespace/jobs/jobName").json()["outputs"] == [
        {"namespace": "ons", "name": "output"}
    ]
