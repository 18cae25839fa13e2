"""Column lineage as of a time when the events writing one dataset arrive out of event-time order
(a producer's retry, a late batch, a day's events in a later file): each event's edges are valid
from its time (inclusive) until the next newer event's time (exclusive), whatever the arrival
order, so an as-of read sees exactly one event's edges; the current read is the newest event's,
as in Marquez. The dataset's details (facets, documentation, fields and their types, the columns
and notes parsed from its SQL) read now are those of in-order arrival, and its fields as of a
time are those of that time; so are its job's details (facets, documentation, times) and its
runs' (facets, times, the job's latest run), and each event's column lineage is parsed from its
own SQL."""

from __future__ import annotations

from itertools import permutations

import pytest
from test_current_lineage import (
    RN,
    RN_IS_A_WINDOW,
    WINDOW_SQL,
    dbt_ol_event,
    kinds,
    typed,
    untyped,
)

from lineage.graph import FieldKey, LineageGraph
from lineage.marquez import column_lineage, dataset_data, job_data, run_data

T1, T2, T3 = "2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z"
SOURCE_WRITTEN_AT = {T1: "a", T2: "b", T3: "c"}  # out.x is derived from src.<source>
X = FieldKey("r2", "out", "x")


ARRIVALS = [
    *permutations((T1, T2, T3)),
    (T1, T3, T2, T2),  # the same event sent twice counts once
    (T3, T1, T2, T1, T3),
    (T2, T2, T1, T3, T1),
]
#: (as of, the sources out.x is read from then); None is the current read
READS = [
    ("2026-05-01T09:59:59Z", []),  # before the first event
    (T1, ["a"]),  # valid_from is inclusive
    ("2026-05-01T10:30:00Z", ["a"]),
    (T2, ["b"]),  # valid_to is exclusive: a ends where b begins
    ("2026-05-01T11:30:00Z", ["b"]),
    (T3, ["c"]),
    ("2026-05-02T00:00:00Z", ["c"]),
    (None, ["c"]),
]


def arrival_id(order: tuple[str, ...]) -> str:
    return "-".join(f"t{(T1, T2, T3).index(when) + 1}" for when in order)


@pytest.mark.parametrize("order", ARRIVALS, ids=arrival_id)
def test_as_of_reads_see_one_event_whatever_the_arrival_order(order: tuple[str, ...]) -> None:
    graph = LineageGraph.from_events(
        typed("build_out", when, SOURCE_WRITTEN_AT[when]) for when in order
    )
    for as_of, sources in READS:
        upstream = graph.upstream_edges(X, as_of)
        assert sorted(edge.input.field for edge in upstream) == sources, as_of
        for source in "abc":  # downstream reads agree
            downstream = graph.downstream_edges(FieldKey("r2", "src", source), as_of)
            assert len(downstream) == (source in sources), (as_of, source)
        if sources:
            answer = column_lineage(graph, X.node_id, depth=1, as_of=as_of)["graph"]
            node = next(n for n in answer if n["id"] == X.node_id)
            assert [f["field"] for f in node["data"]["inputFields"]] == sources, as_of


@pytest.mark.parametrize("newer_first", [True, False])
def test_an_older_dbt_ol_event_arriving_late_keeps_its_own_parsed_lineage(
    newer_first: bool,
) -> None:
    """The parsed SQL replaces the producer's untyped edges of its own event only: a late older
    event neither leaves its untyped guesses in the past nor retires the newer event's edges."""
    older = dbt_ol_event(T1)  # rn is a window over grp, ts
    newer = dbt_ol_event(T2)
    newer["job"]["facets"]["sql"]["query"] = "select id, ts as rn, grp from db.main.src"
    lineage = newer["outputs"][0]["facets"]["columnLineage"]["fields"]
    lineage.update(rn=untyped("ts"), grp=untyped("grp"))
    graph = LineageGraph.from_events([newer, older] if newer_first else [older, newer])
    assert kinds(graph.upstream_edges(RN, T1)) == RN_IS_A_WINDOW
    renamed = {("ts", "rn", "DIRECT", "IDENTITY")}
    assert kinds(graph.upstream_edges(RN, T2)) == kinds(graph.upstream_edges(RN)) == renamed
    grp = FieldKey(RN.namespace, RN.dataset, "grp")
    assert kinds(graph.upstream_edges(grp)) == {("grp", "grp", "DIRECT", "IDENTITY")}
    assert "grp" in graph.datasets[(RN.namespace, RN.dataset)].fields


WAREHOUSE = "duckdb:///tmp/out-of-order.duckdb"
DBT_OL = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/dbt"
SOURCE = "db.main.src"
MODEL, DOWNSTREAM = "db.main.m1", "db.main.m2"


def model_event(
    when: str, sql: str, columns: dict[str, str], lineage: dict[str, list[str]], about: str
) -> dict:
    """dbt-ol writing `m1` from `src`: its SQL, and the output's schema, documentation and
    untyped column lineage."""
    return {
        "eventType": "COMPLETE",
        "eventTime": when,
        "producer": DBT_OL,
        "run": {"runId": "0e8f6a1c-6a55-4a8e-8d0f-6a1e2b3c4d60"},
        "job": {"namespace": "repro", "name": "db.main.proj.m1", "facets": {"sql": {"query": sql}}},
        "inputs": [
            {
                "namespace": WAREHOUSE,
                "name": SOURCE,
                "facets": {"schema": {"fields": [{"name": n} for n in ("id", "grp", "ts", "old")]}},
            }
        ],
        "outputs": [
            {
                "namespace": WAREHOUSE,
                "name": MODEL,
                "facets": {
                    "schema": {"fields": [{"name": n, "type": t} for n, t in columns.items()]},
                    "documentation": {"description": about},
                    "columnLineage": {
                        "dataset": [],
                        "fields": {
                            column: {
                                "inputFields": [
                                    {"namespace": WAREHOUSE, "name": SOURCE, "field": f,
                                     "transformations": []}
                                    for f in sources
                                ]
                            }
                            for column, sources in lineage.items()
                        },
                    },
                },
            }
        ],
    }  # fmt: skip


#: m1's first version: its `g.*` cannot be expanded (a note), so its columns are id and old
FIRST = model_event(
    T1,
    "select s.id, s.old, g.* from db.main.src s join db.main.ghost g on g.id = s.id",
    {"id": "INTEGER", "old": "VARCHAR"},
    {"id": ["id"], "old": ["old"]},
    "m1, first cut",
)
#: m1 changed: `old` is gone, `rn` is new, `id` is wider
SECOND = model_event(
    T2,
    "select id, row_number() over (partition by grp order by ts) as rn from db.main.src",
    {"id": "BIGINT", "rn": "BIGINT"},
    {"id": ["id"], "rn": ["grp", "ts"]},
    "m1 with row numbers",
)
#: m2 selects * from m1: the parser expands it from m1's columns parsed from m1's SQL
THIRD = {
    "eventType": "COMPLETE",
    "eventTime": T3,
    "producer": DBT_OL,
    "run": {"runId": "0e8f6a1c-6a55-4a8e-8d0f-6a1e2b3c4d61"},
    "job": {
        "namespace": "repro",
        "name": "db.main.proj.m2",
        "facets": {"sql": {"query": "select * from db.main.m1"}},
    },
    "inputs": [{"namespace": WAREHOUSE, "name": MODEL}],
    "outputs": [{"namespace": WAREHOUSE, "name": DOWNSTREAM}],
}


def dataset_reads(graph: LineageGraph) -> dict:
    """What the current reads answer about every dataset: Marquez's dataset (facets, fields and
    types, description, times), the parsed columns and notes, and m2's column lineage."""
    return {
        "datasets": {key: dataset_data(graph, key) for key in sorted(graph.datasets)},
        "parsed": {
            key: (node.derived_columns, node.lineage_notes)
            for key, node in sorted(graph.datasets.items())
        },
        "m2": column_lineage(graph, f"dataset:{WAREHOUSE}:{DOWNSTREAM}"),
    }


@pytest.mark.parametrize(
    "order",
    [(SECOND, FIRST, THIRD), (SECOND, THIRD, FIRST), (FIRST, SECOND, THIRD)],
    ids=["newer-older-downstream", "newer-downstream-older", "in-order"],
)
def test_a_late_older_event_leaves_the_current_dataset_details_alone(order: tuple) -> None:
    """Current reads are those of in-order arrival: the newest event by eventTime sets a
    dataset's facets, documentation, field types and parsed columns, and a late older event
    neither brings back the fields the newer one dropped nor the notes of its own SQL, so
    `select *` over the dataset expands to its newest columns. (m2's event is sent after m1's
    newer one: a parse reads the columns its inputs have when it arrives.)"""
    graph = LineageGraph.from_events(order)
    assert dataset_reads(graph) == dataset_reads(LineageGraph.from_events([FIRST, SECOND, THIRD]))
    model = dataset_data(graph, (WAREHOUSE, MODEL))
    assert [(f["name"], f["type"]) for f in model["fields"]] == [("id", "BIGINT"), ("rn", "BIGINT")]
    assert (model["description"], model["createdAt"], model["updatedAt"]) == (
        "m1 with row numbers", T1, T3,
    )  # fmt: skip
    assert model["facets"]["schema"] == SECOND["outputs"][0]["facets"]["schema"]
    node = graph.datasets[(WAREHOUSE, MODEL)]
    assert (node.derived_columns, node.lineage_notes) == (["id", "rn"], [])
    downstream = graph.datasets[(WAREHOUSE, DOWNSTREAM)]
    assert (downstream.derived_columns, list(downstream.fields)) == (["id", "rn"], ["id", "rn"])
    [edge] = graph.upstream_edges(FieldKey(WAREHOUSE, DOWNSTREAM, "rn"))
    assert edge.input == FieldKey(WAREHOUSE, MODEL, "rn")


@pytest.mark.parametrize("newer_first", [True, False])
def test_an_as_of_read_sees_the_fields_of_its_time(newer_first: bool) -> None:
    """Column lineage of a dataset as of a time starts from the fields it had then, with their
    types then: m1's `old` as VARCHAR and `id` as INTEGER before m1 changed, not `rn`."""
    graph = LineageGraph.from_events([SECOND, FIRST] if newer_first else [FIRST, SECOND])
    for as_of, fields in (
        ("2026-05-01T10:30:00Z", [("id", "INTEGER"), ("old", "VARCHAR")]),
        (T2, [("id", "BIGINT"), ("rn", "BIGINT")]),
    ):
        answer = column_lineage(graph, f"dataset:{WAREHOUSE}:{MODEL}", depth=1, as_of=as_of)
        own = [n["data"] for n in answer["graph"] if n["data"]["dataset"] == MODEL]
        assert [(d["field"], d["fieldType"]) for d in own] == fields, as_of


@pytest.mark.parametrize("newer_first", [True, False])
def test_a_late_older_parse_drops_no_field_a_newer_event_named(newer_first: bool) -> None:
    """m1's SQL selects only `id` (a complete parse: m1's other fields go, as of that event); a
    newer event of another job reads m1's `extra`, so m1 has it since, however they arrive."""
    parse = model_event(T1, "select id from db.main.src", {"id": "INTEGER"}, {"id": ["id"]}, "")
    reader = typed("build_m3", T2, "extra")
    reader["inputs"] = [{"namespace": WAREHOUSE, "name": MODEL}]
    [[reading]] = reader["outputs"][0]["facets"]["columnLineage"]["fields"]["x"].values()
    reading.update(namespace=WAREHOUSE, name=MODEL)
    graph = LineageGraph.from_events([reader, parse] if newer_first else [parse, reader])
    assert dict(graph.datasets[(WAREHOUSE, MODEL)].fields) == {"id": "INTEGER", "extra": None}


JOB = ("repro", "db.main.proj.m1")
OLDER_RUN, NEWER_RUN = (
    "0e8f6a1c-6a55-4a8e-8d0f-6a1e2b3c4d70",
    "0e8f6a1c-6a55-4a8e-8d0f-6a1e2b3c4d71",
)
NEWER_END = "2026-05-01T11:30:00Z"


def job_facets(model: dict, about: str, ref: str) -> dict:
    """`model`'s job facets (its SQL) with the job's documentation and source code location."""
    return {
        **model["job"]["facets"],
        "documentation": {"description": about},
        "sourceCodeLocation": {"type": "git", "url": f"https://git.example/proj/m1.sql?ref={ref}"},
    }


def m1_run(model: dict, run_id: str, kind: str, when: str, facets: dict) -> dict:
    """An event of run ``run_id`` of m1's job: ``model``'s datasets, the job ``facets``."""
    return {
        **model,
        "eventType": kind,
        "eventTime": when,
        "run": {"runId": run_id},
        "job": {**model["job"], "facets": facets},
    }


#: m1's older run: its first SQL, documented as the first cut
OLDER_COMPLETE = m1_run(FIRST, OLDER_RUN, "COMPLETE", T1, job_facets(FIRST, "m1, first cut", "v1"))
#: m1's newer run: its START carries the new SQL and documentation, its COMPLETE no job facet
NEWER_START = {
    key: value
    for key, value in m1_run(
        SECOND, NEWER_RUN, "START", T2, job_facets(SECOND, "m1 with row numbers", "v2")
    ).items()
    if key not in ("inputs", "outputs")
}
NEWER_COMPLETE = m1_run(SECOND, NEWER_RUN, "COMPLETE", NEWER_END, {})


def job_reads(graph: LineageGraph) -> dict:
    """What the current reads answer about m1's job: Marquez's job (facets, description,
    location, times, latest run, inputs and outputs) and its column lineage, now and as of the
    older run."""
    node_id = f"job:{JOB[0]}:{JOB[1]}"
    return {
        "job": job_data(graph, JOB),
        "lineage": column_lineage(graph, node_id),
        "lineage then": column_lineage(graph, node_id, as_of="2026-05-01T10:30:00Z"),
    }


@pytest.mark.parametrize(
    "order",
    [
        (NEWER_START, OLDER_COMPLETE, NEWER_COMPLETE),
        (NEWER_START, NEWER_COMPLETE, OLDER_COMPLETE),
        (OLDER_COMPLETE, NEWER_START, NEWER_COMPLETE),
    ],
    ids=["older-between", "older-last", "in-order"],
)
def test_a_late_older_event_leaves_the_current_job_details_alone(order: tuple) -> None:
    """Current job reads are those of in-order arrival: the newest event's facets (its SQL,
    documentation and source code location), createdAt the earliest event's, updatedAt the
    newest's; and the newer run's COMPLETE, which carries no SQL, is parsed from the SQL its
    START sent, never from the late older run's."""
    graph = LineageGraph.from_events(order)
    in_order = LineageGraph.from_events([OLDER_COMPLETE, NEWER_START, NEWER_COMPLETE])
    assert job_reads(graph) == job_reads(in_order)
    job = job_data(graph, JOB)
    assert job["facets"] == NEWER_START["job"]["facets"]
    assert (job["description"], job["location"], job["createdAt"], job["updatedAt"]) == (
        "m1 with row numbers", "https://git.example/proj/m1.sql?ref=v2", T1, NEWER_END,
    )  # fmt: skip
    assert (job["latestRun"]["id"], job["latestRun"]["state"]) == (NEWER_RUN, "COMPLETED")
    assert kinds(graph.upstream_edges(FieldKey(WAREHOUSE, MODEL, "rn"))) == {
        (source, "rn", "INDIRECT", "WINDOW") for source in ("grp", "ts")
    }


def dbt_ol_model_event(name: str, when: str, run_id: str, facets: dict) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": when,
        "producer": DBT_OL,
        "run": {"runId": run_id},
        "job": {"namespace": "repro", "name": name, "facets": facets},
    }


#: m1's job under its kept name (`dbt-ol run`), then under `--consume-structured-logs`' name
#: without the dbt_node facet (not yet known to be m1's), then an event that links the names
KEPT_NAME_OLDER = dbt_ol_model_event(
    JOB[1], T1, OLDER_RUN, job_facets(FIRST, "m1, first cut", "v1")
)
ALIAS_NEWER = dbt_ol_model_event(
    "model.proj.m1", T2, NEWER_RUN, job_facets(SECOND, "m1 with row numbers", "v2")
)
LINK = dbt_ol_model_event(
    "model.proj.m1",
    T3,
    "0e8f6a1c-6a55-4a8e-8d0f-6a1e2b3c4d72",
    {
        "dbt_node": {"unique_id": "model.proj.m1", "database": "db", "schema": "main"},
        "jobType": {"integration": "DBT", "jobType": "MODEL", "processingType": "BATCH"},
    },
)


@pytest.mark.parametrize("order", list(permutations((KEPT_NAME_OLDER, ALIAS_NEWER, LINK))))
def test_a_job_kept_under_two_names_keeps_the_newest_facets(order: tuple) -> None:
    """When an event teaches that a name is an alias of m1's job, what was kept under each name
    merges facet by facet, the newest event's winning whichever name it sent."""
    job = job_data(LineageGraph.from_events(order), JOB)
    assert job["facets"] == {**ALIAS_NEWER["job"]["facets"], **LINK["job"]["facets"]}
    assert (job["description"], job["createdAt"], job["updatedAt"]) == (
        "m1 with row numbers", T1, T3,
    )  # fmt: skip


def airflow_event(run_id: str, kind: str, when: str, facets: dict) -> dict:
    return {
        "eventType": kind,
        "eventTime": when,
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.3.0",
        "run": {"runId": run_id, "facets": facets},
        "job": {"namespace": "airflow", "name": "etl.daily_load"},
    }


def task_state(state: str) -> dict:
    return {"airflow": {"taskInstance": {"state": state}}}


NOMINAL = {"nominalTime": {"nominalStartTime": "2026-05-01T00:00:00Z"}}
#: two runs of a task, the older ending after the newer started; each run's START and end may
#: arrive in either order
RUNS = [
    airflow_event(OLDER_RUN, "START", T1, {**task_state("running"), **NOMINAL}),
    airflow_event(OLDER_RUN, "COMPLETE", "2026-05-01T11:20:00Z", task_state("success")),
    airflow_event(NEWER_RUN, "START", T2, task_state("running")),
    airflow_event(NEWER_RUN, "FAIL", "2026-05-01T11:10:00Z", task_state("failed")),
]


@pytest.mark.parametrize(
    "order",
    [(1, 0, 3, 2), (1, 2, 0, 3), (1, 3, 2, 0), (3, 1, 0, 2), (0, 1, 2, 3)],
    ids=["ends-first", "older-end-first", "older-start-last", "newer-start-last", "in-order"],
)
def test_a_late_start_leaves_the_current_run_details_alone(order: tuple[int, ...]) -> None:
    """A run's details read now are those of in-order arrival: its facets the newest event's
    (the task's state as the run's end left it), createdAt its earliest event's; and the
    job's latest run is the one created last by event time, whichever event arrived first."""
    key = ("airflow", "etl.daily_load")
    graph = LineageGraph.from_events(RUNS[i] for i in order)
    runs = {run_id: run_data(graph, run_id) for run_id in (OLDER_RUN, NEWER_RUN)}
    assert job_data(graph, key) == job_data(LineageGraph.from_events(RUNS), key)
    assert runs == {run_id: run_data(LineageGraph.from_events(RUNS), run_id) for run_id in runs}
    older, newer = runs[OLDER_RUN], runs[NEWER_RUN]
    assert (older["createdAt"], older["state"], older["facets"]["airflow"]) == (
        T1, "COMPLETED", task_state("success")["airflow"],
    )  # fmt: skip
    assert (older["nominalStartTime"], newer["createdAt"], newer["state"]) == (
        "2026-05-01T00:00:00Z", T2, "FAILED",
    )  # fmt: skip
    assert job_data(graph, key)["latestRun"]["id"] == NEWER_RUN


#: one run that sends two ends: a COMPLETE, then a FAIL at 11:10:00.500Z (its text sorts before
#: the COMPLETE's, its instant after)
TWO_ENDS = [
    airflow_event(OLDER_RUN, "START", T1, task_state("running")),
    airflow_event(OLDER_RUN, "COMPLETE", "2026-05-01T13:10:00+02:00", task_state("success")),
    airflow_event(OLDER_RUN, "FAIL", "2026-05-01T11:10:00.500Z", task_state("failed")),
]


@pytest.mark.parametrize("order", list(permutations(range(3))), ids=str)
def test_a_late_older_end_leaves_the_run_state_alone(order: tuple[int, ...]) -> None:
    """Of a run's two terminal events, its state and endedAt are the newer's by event time,
    whichever arrives last (as its facets are)."""
    graph = LineageGraph.from_events(TWO_ENDS[i] for i in order)
    run = run_data(graph, OLDER_RUN)
    assert run == run_data(LineageGraph.from_events(TWO_ENDS), OLDER_RUN)
    assert (run["state"], run["endedAt"], run["durationMs"]) == (
        "FAILED", "2026-05-01T11:10:00.500Z", 4_200_500,
    )  # fmt: skip


RENAME_SQL = "select id, ts as rn, grp from db.main.src"


def sql_event(when: str, sql: str | None, event_type: str = "COMPLETE") -> dict:
    """dbt-ol's event writing m1 at ``when``: with the job's ``sql`` facet unless ``sql`` is None
    (as a COMPLETE whose START sent it), and untyped column lineage (none on a START)."""
    event = dbt_ol_event(when)
    event["eventType"] = event_type
    if sql is None:
        del event["job"]["facets"]["sql"]
    else:
        event["job"]["facets"]["sql"]["query"] = sql
    if event_type == "START":
        del event["outputs"][0]["facets"]["columnLineage"]
    return event


def live_edges(graph: LineageGraph) -> list[tuple]:
    """Every edge that is valid at some time, with its interval."""
    return sorted(
        (e.input.field, e.output.field, e.type, e.subtype, e.origin, e.valid_from, e.valid_to)
        for e in graph.edges
        if e.valid_to != e.valid_from
    )


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["in-order", "sql-last"])
def test_an_event_without_sql_is_parsed_from_the_job_sql_of_an_older_event_arriving_late(
    order: tuple[int, ...],
) -> None:
    """A COMPLETE without a `sql` facet arriving before its START, which sent the SQL: the
    COMPLETE's lineage is parsed from the START's SQL, as when they arrive in order."""
    events = [sql_event(T1, WINDOW_SQL, "START"), sql_event(T2, None)]
    graph = LineageGraph.from_events(events[i] for i in order)
    assert kinds(graph.upstream_edges(RN)) == RN_IS_A_WINDOW
    assert kinds(graph.upstream_edges(RN, T2)) == RN_IS_A_WINDOW
    assert live_edges(graph) == live_edges(LineageGraph.from_events(events))


@pytest.mark.parametrize("order", list(permutations(range(4))), ids=str)
def test_an_event_without_sql_is_parsed_from_the_newest_sql_no_newer_than_it(
    order: tuple[int, ...],
) -> None:
    """Of the job's SQL, an event without its own is parsed from the newest event's no newer
    than it (a run's START), whatever arrived first; parsed again when a newer one arrives."""
    events = [
        sql_event(T1, WINDOW_SQL, "START"),
        sql_event("2026-05-01T10:30:00Z", None),
        sql_event(T2, RENAME_SQL, "START"),
        sql_event(T3, None),
    ]
    graph = LineageGraph.from_events(events[i] for i in order)
    in_order = LineageGraph.from_events(events)
    assert live_edges(graph) == live_edges(in_order)
    dataset = (RN.namespace, RN.dataset)
    assert graph.datasets[dataset].fields == in_order.datasets[dataset].fields
    # the producer's untyped edge from grp stays: the rename places rn from ts only
    assert kinds(graph.upstream_edges(RN)) == {
        ("ts", "rn", "DIRECT", "IDENTITY"),
        ("grp", "rn", "DIRECT", ""),
    }
    assert kinds(graph.upstream_edges(RN, "2026-05-01T10:45:00Z")) == RN_IS_A_WINDOW


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["in-order", "sql-last"])
def test_an_event_without_sql_is_parsed_from_the_sql_sent_under_its_jobs_other_name(
    order: tuple[int, ...],
) -> None:
    """dbt-ol's `model.<project>.<model>` COMPLETE without SQL, and its START with the SQL and
    the dbt_node facet that links the name to the model's job: one job, the COMPLETE parsed from
    the START's SQL, whichever arrived first."""
    events = [sql_event(T1, WINDOW_SQL, "START"), sql_event(T2, None)]
    for event in events:
        event["job"]["name"] = "model.proj.m1"
        event["job"]["facets"]["jobType"] = {"integration": "DBT", "jobType": "MODEL"}
    events[0]["job"]["facets"]["dbt_node"] = {
        "unique_id": "model.proj.m1", "database": "db", "schema": "main"
    }  # fmt: skip
    graph = LineageGraph.from_events(events[i] for i in order)
    assert list(graph.jobs) == [("repro", "db.main.proj.m1")]
    assert kinds(graph.upstream_edges(RN)) == RN_IS_A_WINDOW
    assert live_edges(graph) == live_edges(LineageGraph.from_events(events))
