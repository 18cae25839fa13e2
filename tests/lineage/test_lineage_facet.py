"""OpenLineage's explicit ``lineage`` facet (``LineageFacet.json``) on a DatasetEvent's dataset
and a JobEvent's job joins the field graph as ``columnLineage`` does: its field inputs are
input fields, its dataset-level inputs with a field whole-dataset inputs, a job's DATASET
entries its outputs (their sources its inputs)."""

from __future__ import annotations

from typing import Any

from lineage_support import LoopbackServer, api_get, post_event, post_ok

from lineage.lineage_facet import column_lineage_of, job_lineage_outputs

P = "https://example.com/static"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"
FACET = "https://openlineage.io/spec/facets/1-0-0/LineageFacet.json#/$defs/"


def src(field: str | None = None, **more: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"namespace": "static", "name": "src", "type": "DATASET", **more}
    if field is not None:
        item["field"] = field
    return item


DATASET_FACET = {
    "_producer": P,
    "_schemaURL": FACET + "LineageDatasetFacet",
    "inputs": [src(), src("region", transformations=[{"type": "INDIRECT", "subtype": "FILTER"}])],
    "fields": {
        "y": {"inputs": [src("b", transformations=[{"type": "DIRECT", "subtype": "TRANSFORMATION"}])]},
        "w": {"inputs": [{"type": "JOB", "namespace": "static", "name": "loader"}, src()]},
    },
}  # fmt: skip

JOB_FACET = {
    "_producer": P,
    "_schemaURL": FACET + "LineageJobFacet",
    "entries": [
        {
            "namespace": "static",
            "name": "dst_job",
            "type": "DATASET",
            "inputs": [{"namespace": "static", "name": "other", "type": "DATASET"}],
            "fields": {"z": {"inputs": [src("c")]}},
        },
        {"type": "JOB", "inputs": [{"type": "JOB", "namespace": "static", "name": "up"}]},
    ],
}


def test_a_dataset_lineage_facet_is_the_column_lineage_it_stands_for() -> None:
    assert column_lineage_of(DATASET_FACET) == {
        "_producer": P + "#lineageFacet",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {
            "y": {
                "inputFields": [
                    {"namespace": "static", "name": "src", "field": "b",
                     "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"}]}
                ]
            }
        },  # `w` reads a job and a whole dataset: no field to draw an edge from
        "dataset": [
            {"namespace": "static", "name": "src", "field": "region",
             "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}
        ],
    }  # fmt: skip
    assert column_lineage_of({**DATASET_FACET, "_deleted": True}) is None
    assert column_lineage_of({"_producer": P, "inputs": [src()]}) is None
    outputs, inputs = job_lineage_outputs(JOB_FACET)
    assert [(o["namespace"], o["name"]) for o in outputs] == [("static", "dst_job")]
    assert outputs[0]["facets"]["columnLineage"]["fields"]["z"]["inputFields"][0]["field"] == "c"
    assert inputs == [
        {"namespace": "static", "name": "other"},
        {"namespace": "static", "name": "src"},
    ]


def inputs_of(graph: list[dict[str, Any]], node: str) -> list[tuple[str, str, list]]:
    (found,) = [n for n in graph if n["id"] == node]
    return [
        (i["dataset"], i["field"], [(t["type"], t["subtype"]) for t in i["transformations"]])
        for i in found["data"]["inputFields"]
    ]


def test_dataset_and_job_events_lineage_facets_answer_column_lineage(
    lineage_server: LoopbackServer,
) -> None:
    post_ok(
        lineage_server,
        {
            "eventTime": "2026-12-02T10:00:00Z",
            "producer": P,
            "schemaURL": SPEC + "DatasetEvent",
            "dataset": {"namespace": "static", "name": "dst_lf", "facets": {"lineage": DATASET_FACET}},
        },
    )  # fmt: skip
    post_ok(
        lineage_server,
        {
            "eventTime": "2026-12-02T10:00:00Z",
            "producer": P,
            "schemaURL": SPEC + "JobEvent",
            "job": {"namespace": "static", "name": "declared_job", "facets": {"lineage": JOB_FACET}},
            "inputs": [],
            "outputs": [],
        },
    )  # fmt: skip
    answer = api_get(lineage_server, "column-lineage", nodeId="datasetField:static:dst_lf:y")
    assert answer.status_code == 200, answer.text
    assert inputs_of(answer.json()["graph"], "datasetField:static:dst_lf:y") == [
        ("src", "b", [("DIRECT", "TRANSFORMATION")]),
        ("src", "region", [("INDIRECT", "FILTER")]),
    ]
    answer = api_get(lineage_server, "column-lineage", nodeId="datasetField:static:dst_job:z")
    assert answer.status_code == 200, answer.text
    assert inputs_of(answer.json()["graph"], "datasetField:static:dst_job:z") == [
        ("src", "c", [("DIRECT", None)]),
    ]
    job = api_get(lineage_server, "namespaces/static/jobs/declared_job").json()
    assert job["outputs"] == [{"namespace": "static", "name": "dst_job"}]
    assert job["inputs"] == [
        {"namespace": "static", "name": "other"},
        {"namespace": "static", "name": "src"},
    ]
    # downstream from the source field, both declarations are found
    down = api_get(
        lineage_server, "column-lineage", nodeId="datasetField:static:src:b", withDownstream="true"
    ).json()["graph"]
    assert "datasetField:static:dst_lf:y" in {n["id"] for n in down}
    # the raw events keep the facet as sent; the dataset shows it, no made-up columnLineage
    dataset = api_get(lineage_server, "namespaces/static/datasets/dst_lf").json()
    assert set(dataset["facets"]) == {"lineage"}
    assert api_get(lineage_server, "namespaces/static/datasets/dst_job").json()["facets"] == {}


MALFORMED_JOB_FACETS = [
    {"entries": [{"type": "DATASET", "namespace": "static", "name": "m1", "fields": ["x"]}]},
    {"entries": [{"type": "DATASET", "namespace": "static", "name": "m2", "inputs": 5}]},
    {"entries": [{"type": "DATASET", "namespace": "static", "name": "m3",
                  "fields": {"x": {"inputs": 5}}}]},
    {"entries": 5},
    {"entries": [{"type": "DATASET", "namespace": "static", "name": "m4",
                  "fields": {"x": {"inputs": [src("a", transformations=5)]}}}]},
]  # fmt: skip
MALFORMED_DATASET_FACETS = [
    {"fields": ["x"]},
    {"fields": {"x": {"inputs": 5}}},
    {"inputs": 5},
    {"inputs": [src("a", transformations=5)]},
    {"fields": {"x": {"inputs": [src({"not": "a name"})]}}},
]


def test_a_malformed_lineage_facet_declares_nothing_and_breaks_no_reader() -> None:
    """Intake checks the types of the facets it knows; a lineage facet of the wrong shape is
    stored as sent and must read as no lineage, not raise (the graph is rebuilt from every
    stored event: one such event made every lineage read a 500)."""
    for facet in MALFORMED_JOB_FACETS:
        outputs, _ = job_lineage_outputs(facet)
        assert all(
            "facets" not in output or output["facets"]["columnLineage"] for output in outputs
        )
    for facet in MALFORMED_DATASET_FACETS:
        lineage = column_lineage_of(facet)
        assert lineage is None or lineage["fields"] == {} or lineage["dataset"] == []


def test_the_lineage_api_answers_after_malformed_lineage_facets(
    lineage_server: LoopbackServer,
) -> None:
    for at, facet in enumerate(MALFORMED_JOB_FACETS):
        answer = post_event(
            lineage_server,
            {
                "eventTime": "2026-12-02T10:00:00Z",
                "producer": P,
                "schemaURL": SPEC + "JobEvent",
                "job": {"namespace": "static", "name": f"bad_{at}", "facets": {"lineage": facet}},
                "inputs": [],
                "outputs": [],
            },
        )
        assert answer.status_code in (201, 422), answer.text
    for at, facet in enumerate(MALFORMED_DATASET_FACETS):
        answer = post_event(
            lineage_server,
            {
                "eventTime": "2026-12-02T10:00:00Z",
                "producer": P,
                "schemaURL": SPEC + "DatasetEvent",
                "dataset": {"namespace": "static", "name": f"bad_{at}", "facets": {"lineage": facet}},
            },
        )  # fmt: skip
        assert answer.status_code in (201, 422), answer.text
    for path in ("namespaces", "namespaces/static/jobs", "namespaces/static/datasets"):
        assert api_get(lineage_server, path).status_code == 200, path
