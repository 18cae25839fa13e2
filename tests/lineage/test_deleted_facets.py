"""A job or dataset facet sent with ``_deleted: true`` removes that facet from the current
state (OpenLineage's ``JobFacet``/``DatasetFacet`` ``_deleted``): a deleted ``schema`` takes
its fields with it, a deleted ``sql`` or ``documentation`` is no longer shown. An older event
arriving late does not bring the facet back; a newer one sending it again does."""

from __future__ import annotations

from typing import Any

from lineage_support import LoopbackServer, get_json, post_ok

from lineage.event_order import NewestFacets

P = "https://example.com/deleted"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"


def facet(kind: str, **body: Any) -> dict[str, Any]:
    return {"_producer": P, "_schemaURL": f"https://openlineage.io/spec/facets/{kind}", **body}


def deleted(kind: str) -> dict[str, Any]:
    return facet(kind, _deleted=True)


SCHEMA = facet("1-1-0/SchemaDatasetFacet.json", fields=[{"name": "a", "type": "int"}])
DOCS = facet("1-0-0/DocumentationDatasetFacet.json", description="table docs")
SQL = facet("1-1-0/SQLJobFacet.json", query="select secret_column from t")


def dataset_event(when: str, **facets: Any) -> dict[str, Any]:
    return {
        "eventTime": when,
        "producer": P,
        "schemaURL": SPEC + "DatasetEvent",
        "dataset": {"namespace": "del", "name": "t", "facets": facets},
    }


def job_event(when: str, **facets: Any) -> dict[str, Any]:
    return {
        "eventTime": when,
        "producer": P,
        "schemaURL": SPEC + "JobEvent",
        "job": {"namespace": "del", "name": "j", "facets": facets},
        "inputs": [],
        "outputs": [],
    }


def test_a_deleted_schema_and_documentation_leave_the_dataset(
    lineage_server: LoopbackServer,
) -> None:
    post_ok(
        lineage_server, dataset_event("2026-12-07T10:00:00Z", schema=SCHEMA, documentation=DOCS)
    )
    post_ok(
        lineage_server,
        dataset_event(
            "2026-12-07T11:00:00Z",
            schema=deleted("1-1-0/SchemaDatasetFacet.json"),
            documentation=deleted("1-0-0/DocumentationDatasetFacet.json"),
        ),
    )
    dataset = get_json(lineage_server, "namespaces/del/datasets/t")
    assert (dataset["fields"], dataset["facets"], dataset["description"]) == ([], {}, None)
    # an older event arriving late does not bring them back
    post_ok(
        lineage_server, dataset_event("2026-12-07T10:30:00Z", schema=SCHEMA, documentation=DOCS)
    )
    dataset = get_json(lineage_server, "namespaces/del/datasets/t")
    assert (dataset["fields"], dataset["facets"], dataset["description"]) == ([], {}, None)
    # a newer one does
    post_ok(lineage_server, dataset_event("2026-12-07T12:00:00Z", schema=SCHEMA))
    dataset = get_json(lineage_server, "namespaces/del/datasets/t")
    assert [(f["name"], f["type"]) for f in dataset["fields"]] == [("a", "int")]
    assert list(dataset["facets"]) == ["schema"] and dataset["description"] is None


def test_a_deleted_sql_facet_leaves_the_job(lineage_server: LoopbackServer) -> None:
    post_ok(lineage_server, job_event("2026-12-07T10:00:00Z", sql=SQL))
    assert get_json(lineage_server, "search", q="secret_column")["totalCount"] == 1
    post_ok(
        lineage_server, job_event("2026-12-07T11:00:00Z", sql=deleted("1-1-0/SQLJobFacet.json"))
    )
    assert get_json(lineage_server, "namespaces/del/jobs/j")["facets"] == {}
    assert get_json(lineage_server, "search", q="secret_column")["totalCount"] == 0


def test_newest_facets_by_hand() -> None:
    facets = NewestFacets()
    facets.record({"sql": SQL, "documentation": DOCS}, (10.0, 0))
    facets.record({"sql": {"_deleted": True}}, (20.0, 1))
    assert list(facets.current) == ["documentation"]
    facets.record({"sql": SQL}, (15.0, 2))  # older, late
    assert list(facets.current) == ["documentation"]
    other = NewestFacets()
    other.record({"documentation": {"_deleted": True}}, (30.0, 3))
    facets.merge(other)
    assert facets.current == {}
    assert facets.description is None
    facets.record({"sql": SQL}, (40.0, 4))
    assert facets.current == {"sql": SQL}


def test_a_job_facet_deleted_is_gone_from_the_as_of_reads_after_it() -> None:
    from lineage.graph import LineageGraph

    graph = LineageGraph.from_events(
        [
            job_event("2026-12-07T10:00:00Z", sql=SQL),
            job_event("2026-12-07T11:00:00Z", sql=deleted("1-1-0/SQLJobFacet.json")),
        ]
    )
    job = graph.jobs[("del", "j")]
    assert job.facets_as_of("2026-12-07T10:30:00Z") == {"sql": SQL}
    assert job.facets_as_of("2026-12-07T11:30:00Z") == {}
