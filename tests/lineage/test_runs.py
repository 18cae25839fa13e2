"""OpenLineage run events become flow runs: landed in raw.flow_runs by ingest and read by the
run-log mart fct_flow_runs (status, error message, times)."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

import pytest
import requests
from lineage_support import LoopbackServer

from flowledger.build import run_dbt
from flowledger.cli import main
from flowledger.settings import DataDir
from flowledger.warehouse import connect_warehouse
from lineage.graph import FieldKey, LineageGraph
from lineage.marquez import job_data, lineage
from lineage.runs import flow_run_records, run_log_records
from lineage.store import LineageStore

OK_RUN = "0190a7f0-0000-7000-8000-000000000001"
FAILED_RUN = "0190a7f0-0000-7000-8000-000000000002"
RUNNING = "0190a7f0-0000-7000-8000-000000000003"


def event(run_id: str, kind: str, when: str, facets: dict | None = None) -> dict:
    return {
        "eventType": kind,
        "eventTime": when,
        "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": facets or {}},
        "job": {"namespace": "airflow", "name": "etl.daily_load"},
    }


EVENTS = [
    event(OK_RUN, "START", "2026-03-01T10:00:00Z"),
    event(OK_RUN, "COMPLETE", "2026-03-01T10:02:30Z"),
    event(FAILED_RUN, "START", "2026-03-01T11:00:00+01:00"),
    event(
        FAILED_RUN,
        "FAIL",
        "2026-03-01T11:00:05+01:00",
        {"errorMessage": {"message": "division by zero", "programmingLanguage": "python"}},
    ),
    event(RUNNING, "START", "2026-03-01T12:00:00Z"),
]


def test_mapping_by_hand() -> None:
    records = {r["run_id"]: r for r in flow_run_records(EVENTS)}
    assert set(records) == {OK_RUN, FAILED_RUN}  # the running one waits for its end
    ok, failed = records[OK_RUN], records[FAILED_RUN]
    assert (ok["source_system"], ok["flow_id"], ok["flow_name"]) == (
        "openlineage:airflow", "etl.daily_load", "etl.daily_load",
    )  # fmt: skip
    assert (ok["status"], ok["started_at"], ok["ended_at"]) == (
        "success", "2026-03-01T10:00:00Z", "2026-03-01T10:02:30Z",
    )  # fmt: skip
    assert (failed["status"], failed["raw_status"], failed["error_message"]) == (
        "failed", "FAIL", "division by zero",
    )  # fmt: skip
    assert failed["started_at"] == "2026-03-01T10:00:00Z"  # +01:00 converted to UTC


DBT = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/dbt"
DBT_NODE = {"unique_id": "model.bakery.stg_patrons", "database": "bakery", "schema": "main"}
MODEL_JOB = {"integration": "DBT", "jobType": "MODEL", "processingType": "BATCH"}


def dbt_ol(run_id: str, kind: str, when: str, job: str, parent: tuple[str, str], **facets) -> dict:
    """A dbt-ol event of job ``job`` whose run's parent is ``parent`` (run id, job name)."""
    return {
        "eventType": kind,
        "eventTime": when,
        "producer": DBT,
        "run": {
            "runId": run_id,
            "facets": {
                "parent": {
                    "run": {"runId": parent[0]},
                    "job": {"namespace": "dbt", "name": parent[1]},
                }
            },
        },
        "job": {"namespace": "dbt", "name": job, "facets": facets},
    }


ROOT = "0190a7f0-0000-7000-8000-0000000000a0"
BUILD, LOGS, STATEMENT = (f"0190a7f0-0000-7000-8000-0000000000a{i}" for i in (1, 2, 3))


def dbt_ol_events() -> list[dict]:
    """One model run by `dbt-ol build`, then by `dbt-ol run --consume-structured-logs` (which
    fails in its first statement)."""
    model = {"dbt_node": DBT_NODE, "jobType": MODEL_JOB}
    return [
        dbt_ol(BUILD, "START", "2026-03-01T10:00:00Z", "bakery.main.bakery.stg_patrons.build.run",
               (ROOT, "dbt-run-bakery"), **model),
        dbt_ol(BUILD, "COMPLETE", "2026-03-01T10:00:02Z",
               "bakery.main.bakery.stg_patrons.build.run", (ROOT, "dbt-run-bakery"), **model),
        dbt_ol(LOGS, "START", "2026-03-01T11:00:00Z", "model.bakery.stg_patrons",
               (ROOT, "dbt-run-bakery"), **model),
        dbt_ol(STATEMENT, "START", "2026-03-01T11:00:01Z", "model.bakery.stg_patrons.sql.1",
               (LOGS, "model.bakery.stg_patrons"), jobType={**MODEL_JOB, "jobType": "SQL"}),
        dbt_ol(STATEMENT, "FAIL", "2026-03-01T11:00:03Z", "model.bakery.stg_patrons.sql.1",
               (LOGS, "model.bakery.stg_patrons"), jobType={**MODEL_JOB, "jobType": "SQL"}),
        dbt_ol(LOGS, "FAIL", "2026-03-01T11:00:04Z", "model.bakery.stg_patrons",
               (ROOT, "dbt-run-bakery"), **model),
    ]  # fmt: skip


def test_dbt_ol_runs_are_one_flow_per_model_and_statements_are_steps() -> None:
    """dbt-ol names a model's job per mode (`….build.run`, none, `model.<project>.<model>`);
    the per-statement child jobs of --consume-structured-logs (`….sql.<n>`) are steps."""
    events = dbt_ol_events()
    flows, steps = run_log_records(events)
    assert [(f["run_id"], f["flow_id"], f["flow_name"], f["status"]) for f in flows] == [
        (BUILD, "bakery.main.bakery.stg_patrons", "stg_patrons", "success"),
        (LOGS, "bakery.main.bakery.stg_patrons", "stg_patrons", "failed"),
    ]
    assert [
        (s["run_id"], s["step_id"], s["flow_id"], s["step_type"], s["status"], s["started_at"])
        for s in steps
    ] == [
        (LOGS, "sql.1", "bakery.main.bakery.stg_patrons", "SQL", "failed", "2026-03-01T11:00:01Z")
    ]


DAG_RUN = "0190a7f0-0000-7000-8000-0000000000b0"
TRY_1, TRY_2 = "0190a7f0-0000-7000-8000-0000000000b1", "0190a7f0-0000-7000-8000-0000000000b2"


def airflow_task(run_id: str, kind: str, when: str) -> dict:
    """An Airflow task run: job `<dag_id>.<task_id>`, parent facet naming the DAG's run."""
    return {
        **event(run_id, kind, when),
        "run": {
            "runId": run_id,
            "facets": {
                "parent": {
                    "run": {"runId": DAG_RUN},
                    "job": {"namespace": "airflow", "name": "daily_sales"},
                }
            },
        },
        "job": {"namespace": "airflow", "name": "daily_sales.load_orders"},
    }


def test_a_task_named_under_its_dag_is_a_run_of_its_own() -> None:
    """Only dbt-ol's `….sql.<n>` statement jobs are steps: an Airflow task `dag.task` under its
    DAG (or a Spark action under its application) is a flow run, its retries runs too."""
    flows, steps = run_log_records(
        [
            airflow_task(TRY_1, "START", "2026-03-01T10:00:00Z"),
            airflow_task(TRY_1, "FAIL", "2026-03-01T10:01:00Z"),
            airflow_task(TRY_2, "START", "2026-03-01T10:05:00Z"),
            airflow_task(TRY_2, "COMPLETE", "2026-03-01T10:06:00Z"),
        ]
    )
    assert steps == []
    assert [(f["run_id"], f["flow_id"], f["status"], f["parent_run_id"]) for f in flows] == [
        (TRY_1, "daily_sales.load_orders", "failed", DAG_RUN),
        (TRY_2, "daily_sales.load_orders", "success", DAG_RUN),
    ]


def test_a_versioned_dbt_model_is_named_by_its_model_name() -> None:
    node = {**DBT_NODE, "unique_id": "model.bakery.stg_patrons.v2", "name": "stg_patrons"}
    model = {"dbt_node": node, "jobType": MODEL_JOB}
    job = "bakery.main.bakery.stg_patrons.v2"
    flows, _ = run_log_records(
        [
            dbt_ol(BUILD, "START", "2026-03-01T10:00:00Z", job, (ROOT, "dbt-run-bakery"), **model),
            dbt_ol(
                BUILD, "COMPLETE", "2026-03-01T10:00:02Z", job, (ROOT, "dbt-run-bakery"), **model
            ),
        ]
    )
    assert [(f["flow_id"], f["flow_name"]) for f in flows] == [(job, "stg_patrons")]


def warehouse_rows(data_dir: DataDir, sql: str) -> list[tuple]:
    con = connect_warehouse(data_dir, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_dbt_ol_steps_land_as_step_runs(tmp_path: Path) -> None:
    from lineage.runs import ingest_run_events

    data_dir = DataDir(tmp_path).ensure()
    LineageStore(data_dir).append(dbt_ol_events())
    summary = ingest_run_events(data_dir)
    assert (summary.accepted, summary.quarantined, summary.failed_files) == (3, 0, [])
    steps = warehouse_rows(data_dir, "select run_id, step_id, status from raw.step_runs")
    assert steps == [(LOGS, "sql.1", "failed")]
    flows = warehouse_rows(data_dir, "select flow_name from raw.flow_runs")
    assert flows == [("stg_patrons",), ("stg_patrons",)]


@pytest.mark.slow
def test_runs_reach_the_run_log_mart(tmp_path: Path, capsys) -> None:
    data_dir = DataDir(tmp_path).ensure()
    LineageStore(data_dir).append(EVENTS)
    assert main(["--data-dir", str(tmp_path), "lineage", "ingest-runs"]) == 0
    assert "accepted" in capsys.readouterr().out
    assert main(["--data-dir", str(tmp_path), "lineage", "ingest-runs"]) == 0  # idempotent
    run_dbt(data_dir, ["run", "--select", "+fct_flow_runs"], echo=None)
    rows = warehouse_rows(
        data_dir,
        "select run_id, status, error_message, duration_ms from marts.fct_flow_runs order by run_id",
    )
    assert rows == [
        (OK_RUN, "success", None, 150_000.0),
        (FAILED_RUN, "failed", "division by zero", 5_000.0),
    ]


@pytest.mark.slow
def test_build_lands_received_runs_without_a_separate_command(tmp_path: Path) -> None:
    """`flowledger build` (and so the server's builder) turns received OpenLineage runs into
    flow runs by itself."""
    from flowledger.query import run_query

    data_dir = DataDir(tmp_path).ensure()
    LineageStore(data_dir).append(EVENTS)
    assert main(["--data-dir", str(tmp_path), "build", "--quiet"]) == 0
    rows = run_query(
        data_dir, "select run_id, status, error_message from fct_flow_runs order by run_id"
    ).rows
    assert rows == [(OK_RUN, "success", None), (FAILED_RUN, "failed", "division by zero")]


def test_the_lineage_graph_keeps_one_job_per_dbt_model() -> None:
    """The three names dbt-ol gives a model's job are one Marquez job (the `dbt-ol run` name);
    a statement job is named under it, with Marquez's simpleName (its name after the parent's)."""
    from lineage.graph import LineageGraph
    from lineage.marquez import job_data

    tests = dbt_ol(ROOT[:-1] + "9", "COMPLETE", "2026-03-01T10:00:05Z",
                   "bakery.main.bakery.stg_patrons.build.test", (ROOT, "dbt-run-bakery"),
                   dbt_node=DBT_NODE, jobType={**MODEL_JOB, "jobType": "TEST"})  # fmt: skip
    graph = LineageGraph.from_events([*dbt_ol_events(), tests])
    model = ("dbt", "bakery.main.bakery.stg_patrons")
    statement = ("dbt", "bakery.main.bakery.stg_patrons.sql.1")
    # the model's tests carry its dbt_node facet but are a job of their own; the parent job
    # dbt-ol's events name, which sent none here, is made for them as Marquez does
    assert set(graph.jobs) == {model, statement, ("dbt", tests["job"]["name"]), DBT_RUN}
    assert graph.runs[BUILD].job == graph.runs[LOGS].job == model
    assert graph.resolve_job("dbt:model.bakery.stg_patrons") == model
    assert graph.resolve_job("dbt:bakery.main.bakery.stg_patrons.build.run") == model
    assert (job_data(graph, model)["simpleName"], job_data(graph, model)["parentJobName"]) == (
        "bakery.main.bakery.stg_patrons",
        "dbt-run-bakery",
    )
    assert (
        job_data(graph, statement)["simpleName"],
        job_data(graph, statement)["parentJobName"],
    ) == (
        "sql.1",
        "bakery.main.bakery.stg_patrons",
    )


WAREHOUSE = "duckdb:///bakery.duckdb"
DBT_RUN = ("dbt", "dbt-run-bakery")  # the parent job of every model run below
MODEL = ("dbt", "bakery.main.bakery.stg_patrons")
MODEL_STATEMENT = ("dbt", "bakery.main.bakery.stg_patrons.sql.1")


def model_run_events() -> dict[str, dict]:
    """A model's run under --consume-structured-logs whose START (like an older dbt-ol's events)
    lacks the dbt_node facet that names the model's job; its COMPLETE carries it. And an earlier
    run of the model by `dbt-ol run`, named as the model's job is kept."""
    parent = (ROOT, "dbt-run-bakery")
    complete = dbt_ol(LOGS, "COMPLETE", "2026-03-01T11:00:04Z", "model.bakery.stg_patrons",
                      parent, dbt_node=DBT_NODE, jobType=MODEL_JOB)  # fmt: skip
    complete["inputs"] = [{"namespace": WAREHOUSE, "name": "bakery.raw.patrons"}]
    identity = [{"type": "DIRECT", "subtype": "IDENTITY"}]
    lineage = {"fields": {"name": {"inputFields": [
        {"namespace": WAREHOUSE, "name": "bakery.raw.patrons", "field": "name",
         "transformations": identity}
    ]}}}  # fmt: skip
    complete["outputs"] = [
        {"namespace": WAREHOUSE, "name": "bakery.main.stg_patrons",
         "facets": {"columnLineage": lineage}}
    ]  # fmt: skip
    return {
        "earlier": dbt_ol(BUILD, "COMPLETE", "2026-03-01T10:00:02Z", MODEL[1], parent,
                          dbt_node=DBT_NODE, jobType=MODEL_JOB),
        "start": dbt_ol(LOGS, "START", "2026-03-01T11:00:00Z", "model.bakery.stg_patrons",
                        parent, jobType=MODEL_JOB),
        "statement": dbt_ol(STATEMENT, "START", "2026-03-01T11:00:01Z",
                            "model.bakery.stg_patrons.sql.1", (LOGS, "model.bakery.stg_patrons"),
                            jobType={**MODEL_JOB, "jobType": "SQL"}),
        "complete": complete,
    }  # fmt: skip


@pytest.mark.parametrize(
    "arrival", list(permutations(("earlier", "start", "statement", "complete"))), ids="-".join
)
def test_a_model_is_one_job_whichever_of_its_events_names_it_first(
    arrival: tuple[str, ...],
) -> None:
    """dbt-ol's `model.<project>.<model>` names no database or schema: the job is renamed to the
    model's kept name when an event with the dbt_node facet arrives, first or last, and its
    runs, statement jobs, dataset links and field edges go with it (into the job an earlier
    run made under the kept name, when there is one)."""
    events = model_run_events()
    graph = LineageGraph.from_events(events[name] for name in arrival)
    assert set(graph.jobs) == {MODEL, MODEL_STATEMENT, DBT_RUN}
    assert {run_id: run.job for run_id, run in graph.runs.items()} == {
        BUILD: MODEL,
        LOGS: MODEL,
        STATEMENT: MODEL_STATEMENT,
        ROOT: DBT_RUN,
    }
    assert graph.resolve_job("dbt:model.bakery.stg_patrons") == MODEL
    assert graph.resolve_job("dbt:model.bakery.stg_patrons.sql.1") == MODEL_STATEMENT
    model = job_data(graph, MODEL)
    assert (model["latestRun"]["id"], model["latestRun"]["state"]) == (LOGS, "COMPLETED")
    assert model["outputs"] == [{"namespace": WAREHOUSE, "name": "bakery.main.stg_patrons"}]
    assert job_data(graph, MODEL_STATEMENT)["parentJobName"] == MODEL[1]
    nodes = lineage(graph, f"dataset:{WAREHOUSE}:bakery.main.stg_patrons")["graph"]
    assert [n["id"] for n in nodes if n["type"] == "JOB"] == [f"job:dbt:{MODEL[1]}"]
    [edge] = graph.upstream_edges(FieldKey(WAREHOUSE, "bakery.main.stg_patrons", "name"))
    assert edge.job == MODEL


@pytest.mark.parametrize("facet_first", [False, True])
def test_the_api_lists_one_job_per_model_with_its_runs(tmp_path: Path, facet_first: bool) -> None:
    """Through the store and the Marquez-compatible reads, each event read as it arrives."""
    events = model_run_events()
    batches = [[events["complete"]], [events["start"]]]
    data_dir = DataDir(tmp_path).ensure()
    with LoopbackServer(data_dir) as server:
        jobs_url = f"{server.url}/api/v1/namespaces/dbt/jobs"
        for batch in batches if facet_first else reversed(batches):
            LineageStore(data_dir).append(batch)
            assert requests.get(jobs_url, timeout=5).status_code == 200  # the graph reads it
        jobs = requests.get(jobs_url, timeout=5).json()
        assert [job["name"] for job in jobs["jobs"]] == [MODEL[1], DBT_RUN[1]]
        for name in (MODEL[1], "model.bakery.stg_patrons"):
            runs = requests.get(f"{jobs_url}/{name}/runs", timeout=5).json()["runs"]
            assert [(run["id"], run["state"]) for run in runs] == [(LOGS, "COMPLETED")]


OLDER_DBT_OL, NEWER_DBT_OL = (
    "0190a7f0-0000-7000-8000-0000000000c1",
    "0190a7f0-0000-7000-8000-0000000000c2",
)


def structured_logs_run(run_id: str, start: str, end: str, **facets) -> list[dict]:
    """A run of the model under --consume-structured-logs (job `model.<project>.<model>`)."""
    parent = (ROOT, "dbt-run-bakery")
    return [
        dbt_ol(run_id, "START", start, "model.bakery.stg_patrons", parent, **facets),
        dbt_ol(run_id, "COMPLETE", end, "model.bakery.stg_patrons", parent, **facets),
    ]


@pytest.mark.parametrize("facet_first", [True, False], ids=["facet-first", "facet-last"])
def test_runs_with_and_without_the_dbt_node_facet_land_as_one_flow(
    tmp_path: Path, facet_first: bool
) -> None:
    """An older dbt-ol sends no dbt_node facet: its runs of the model are named only
    `model.bakery.stg_patrons`. A newer dbt-ol's run of the same job name with the facet links
    that name to the model's kept name, so the build lands every run of the model under it,
    whichever run arrived first."""
    from flowledger.build import _land_openlineage_runs

    older = structured_logs_run(
        OLDER_DBT_OL, "2026-03-01T10:00:00Z", "2026-03-01T10:00:02Z", jobType=MODEL_JOB
    )
    newer = structured_logs_run(
        NEWER_DBT_OL, "2026-03-02T10:00:00Z", "2026-03-02T10:00:03Z",
        dbt_node=DBT_NODE, jobType=MODEL_JOB,
    )  # fmt: skip
    data_dir = DataDir(tmp_path).ensure()
    for batch in [newer, older] if facet_first else [older, newer]:
        LineageStore(data_dir).append(batch)
    _land_openlineage_runs(data_dir, None)
    rows = warehouse_rows(
        data_dir, "select run_id, flow_id, flow_name from raw.flow_runs order by 1"
    )
    assert rows == [
        (OLDER_DBT_OL, MODEL[1], "stg_patrons"),
        (NEWER_DBT_OL, MODEL[1], "stg_patrons"),
    ]


def test_a_model_name_no_event_links_stays_a_flow_of_its_own() -> None:
    """Only an event naming `model.bakery.stg_patrons` with the dbt_node facet says which
    database and schema it is built in: without one, its runs stay a flow of that name, beside
    the runs dbt-ol run names by the kept name."""
    older = structured_logs_run(
        OLDER_DBT_OL, "2026-03-01T10:00:00Z", "2026-03-01T10:00:02Z", jobType=MODEL_JOB
    )
    run = dbt_ol(BUILD, "COMPLETE", "2026-03-02T10:00:02Z", MODEL[1], (ROOT, "dbt-run-bakery"),
                 dbt_node=DBT_NODE, jobType=MODEL_JOB)  # fmt: skip
    flows, _ = run_log_records([*older, run])
    assert sorted((f["run_id"], f["flow_id"], f["flow_name"]) for f in flows) == [
        (BUILD, MODEL[1], "stg_patrons"),
        (OLDER_DBT_OL, "model.bakery.stg_patrons", "stg_patrons"),
    ]


def test_a_late_older_run_leaves_the_flow_name_alone() -> None:
    """The flow name is read from the job's facets over all its runs, each the newest run's by
    event time: an older dbt-ol's run of a versioned model sent no model name in its dbt_node
    (the flow would be named `v2`), and arriving last it no longer names the newer runs' flow."""
    node = {**DBT_NODE, "unique_id": "model.bakery.stg_patrons.v2"}
    job, parent = "bakery.main.bakery.stg_patrons.v2", (ROOT, "dbt-run-bakery")
    events = [
        dbt_ol(OLDER_DBT_OL, kind, when, job, parent, dbt_node=node, jobType=MODEL_JOB)
        for kind, when in (("START", "2026-03-01T10:00:00Z"), ("COMPLETE", "2026-03-01T10:00:02Z"))
    ] + [
        dbt_ol(NEWER_DBT_OL, kind, when, job, parent, jobType=MODEL_JOB,
               dbt_node={**node, "name": "stg_patrons"})
        for kind, when in (("START", "2026-03-02T10:00:00Z"), ("COMPLETE", "2026-03-02T10:00:02Z"))
    ]  # fmt: skip
    for arrival in permutations(events):
        flows, _ = run_log_records(arrival)
        assert [(f["run_id"], f["flow_name"]) for f in flows] == [
            (OLDER_DBT_OL, "stg_patrons"), (NEWER_DBT_OL, "stg_patrons"),
        ], arrival  # fmt: skip


def error(message: str) -> dict:
    return {"errorMessage": {"message": message, "programmingLanguage": "python"}}


#: one run's events: its error message while retrying, then two ends (a COMPLETE, then a FAIL
#: at 10:01:00.500Z: the text of the times does not sort as their instants)
ONE_RUN = [
    event(OK_RUN, "START", "2026-03-01T10:00:00Z"),
    event(OK_RUN, "RUNNING", "2026-03-01T10:00:30Z", error("connection reset, retrying")),
    event(OK_RUN, "COMPLETE", "2026-03-01T12:01:00+02:00"),
    event(OK_RUN, "FAIL", "2026-03-01T10:01:00.500Z", error("division by zero")),
]


@pytest.mark.parametrize("arrival", list(permutations(range(4))), ids=str)
def test_a_run_is_its_newest_events_whatever_the_arrival_order(arrival: tuple[int, ...]) -> None:
    """A run's status and end are its newest terminal event's by event time, its error message
    the newest event's that sent one, its start its START's: as when its events arrive in order."""
    [record] = flow_run_records(ONE_RUN[i] for i in arrival)
    assert record == flow_run_records(ONE_RUN)[0]
    assert (record["status"], record["raw_status"], record["error_message"]) == (
        "failed", "FAIL", "division by zero",
    )  # fmt: skip
    assert (record["started_at"], record["ended_at"]) == (
        "2026-03-01T10:00:00Z", "2026-03-01T10:01:00.500000Z",
    )  # fmt: skip


OLDER_STATEMENT = "0190a7f0-0000-7000-8000-0000000000c3"


def test_a_run_landed_before_the_link_moves_to_the_models_flow(tmp_path: Path) -> None:
    """An older dbt-ol's run of `model.bakery.stg_patrons` (no dbt_node facet), landed by a
    build before any event linked that name to the model: once a later run's facet links it,
    the next sync lands the run (and its statement steps) under the model's flow, as if the
    events had arrived in order; a landed run that differs in more than its flow stays."""
    from lineage.runs import ingest_run_events

    older = structured_logs_run(
        OLDER_DBT_OL, "2026-03-01T10:00:00Z", "2026-03-01T10:00:02Z", jobType=MODEL_JOB
    )
    statement = [
        dbt_ol(OLDER_STATEMENT, kind, when, "model.bakery.stg_patrons.sql.1",
               (OLDER_DBT_OL, "model.bakery.stg_patrons"),
               jobType={**MODEL_JOB, "jobType": "SQL"})
        for kind, when in (("START", "2026-03-01T10:00:01Z"), ("COMPLETE", "2026-03-01T10:00:01Z"))
    ]  # fmt: skip
    # a run that ended twice: landed as its COMPLETE, then its newer FAIL names the model
    twice = [
        dbt_ol(LOGS, "COMPLETE", "2026-03-01T12:00:02Z", "model.bakery.stg_patrons",
               (ROOT, "dbt-run-bakery"), jobType=MODEL_JOB),
    ]  # fmt: skip
    data_dir = DataDir(tmp_path).ensure()
    store = LineageStore(data_dir)
    store.append([*older, *statement, *twice])
    assert ingest_run_events(data_dir).accepted == 3
    assert warehouse_rows(data_dir, "select flow_id from raw.step_runs") == [
        ("model.bakery.stg_patrons",)
    ]
    newer = structured_logs_run(
        NEWER_DBT_OL, "2026-03-02T10:00:00Z", "2026-03-02T10:00:03Z",
        dbt_node=DBT_NODE, jobType=MODEL_JOB,
    )  # fmt: skip
    failed = dbt_ol(LOGS, "FAIL", "2026-03-01T12:00:03Z", "model.bakery.stg_patrons",
                    (ROOT, "dbt-run-bakery"), dbt_node=DBT_NODE, jobType=MODEL_JOB)  # fmt: skip
    store.append([*newer, failed])
    moved: list[str] = []
    summary = ingest_run_events(data_dir, progress=moved.append)
    # the newer run lands; the older run and its step collide, and move to the model's flow
    assert (summary.accepted, summary.collisions) == (1, 3)
    assert "moved 2 landed run(s) to the flow of their job's kept name" in moved
    rows = warehouse_rows(
        data_dir, "select run_id, flow_id, flow_name, status from raw.flow_runs order by 1"
    )
    assert rows == [
        (LOGS, "model.bakery.stg_patrons", "stg_patrons", "success"),  # differs: stays
        (OLDER_DBT_OL, MODEL[1], "stg_patrons", "success"),
        (NEWER_DBT_OL, MODEL[1], "stg_patrons", "success"),
    ]
    assert warehouse_rows(data_dir, "select run_id, flow_id from raw.step_runs") == [
        (OLDER_DBT_OL, MODEL[1])
    ]
    moved.clear()
    again = ingest_run_events(data_dir, progress=moved.append)  # idempotent
    assert (again.accepted, again.collisions, again.duplicates) == (0, 0, 4)
    assert not any(message.startswith("moved") for message in moved)


@pytest.mark.slow
def test_a_relinked_run_moves_flow_in_the_run_log_mart(tmp_path: Path) -> None:
    """The incremental run models take the relinked run again: fct_flow_runs shows it under the
    model's flow after the next build."""
    from lineage.runs import ingest_run_events

    data_dir = DataDir(tmp_path).ensure()
    store = LineageStore(data_dir)
    store.append(
        structured_logs_run(
            OLDER_DBT_OL, "2026-03-01T10:00:00Z", "2026-03-01T10:00:02Z", jobType=MODEL_JOB
        )
    )
    ingest_run_events(data_dir)
    run_dbt(data_dir, ["run", "--select", "+fct_flow_runs"], echo=None)
    query = "select run_id, flow_id from marts.fct_flow_runs order by run_id"
    assert warehouse_rows(data_dir, query) == [(OLDER_DBT_OL, "model.bakery.stg_patrons")]
    store.append(
        structured_logs_run(
            NEWER_DBT_OL,
            "2026-03-02T10:00:00Z",
            "2026-03-02T10:00:03Z",
            dbt_node=DBT_NODE,
            jobType=MODEL_JOB,
        )  # fmt: skip
    )
    ingest_run_events(data_dir)
    run_dbt(data_dir, ["run", "--select", "+fct_flow_runs"], echo=None)
    assert warehouse_rows(data_dir, query) == [(OLDER_DBT_OL, MODEL[1]), (NEWER_DBT_OL, MODEL[1])]


def test_a_snapshot_is_one_job_whichever_dbt_ol_command_ran_it() -> None:
    """A snapshot kept `….build.snapshot` under `dbt-ol build` while models lost `.build.run`:
    a later `dbt-ol snapshot` made a second job of it."""
    from lineage.jobs import canonical_job_name

    snapshot_job = {"integration": "DBT", "jobType": "SNAPSHOT", "processingType": "BATCH"}
    name = "kiosk.snaps.kiosk.customers_snapshot"
    assert canonical_job_name(f"{name}.build.snapshot", {"jobType": snapshot_job}) == name
    assert canonical_job_name(name, {"jobType": snapshot_job}) == name
    node = {
        "unique_id": "snapshot.kiosk.customers_snapshot",
        "database": "kiosk",
        "schema": "snaps",
    }
    assert canonical_job_name("anything", {"jobType": snapshot_job, "dbt_node": node}) == name
    # a test's job stays its own, a non-dbt job's `.build.snapshot` stays
    test_job = {"integration": "DBT", "jobType": "TEST"}
    assert canonical_job_name(f"{name}.build.test", {"jobType": test_job}) == f"{name}.build.test"
    assert canonical_job_name("etl.build.snapshot", {}) == "etl.build.snapshot"
