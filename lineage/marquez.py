"""Marquez-compatible answers over the lineage graph: ``/lineage``, ``/column-lineage``, and the
endpoints clients use (namespaces, datasets and their versions, jobs, runs and their facets,
search), in Marquez's JSON shapes.

Column lineage keeps Marquez's edge quirk (``origin`` is always the node itself; ``inEdges``
point at upstream fields) and adds ``transformations`` (type, subtype, description) to every
input field, which Marquez drops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from lineage.dataset_versions import DatasetVersion
from lineage.event_order import epoch_seconds, instant_text
from lineage.graph import FieldEdge, FieldKey, LineageGraph, NodeNotFound
from lineage.jobs import simple_name


class BadRequest(ValueError):
    """The query parameters cannot be used (HTTP 400)."""


def parse_node_id(graph: LineageGraph, node_id: str) -> tuple[str, Any]:
    """``dataset:…``, ``datasetField:…`` or ``job:…`` (optionally ``#version``) → (kind, key)."""
    if not node_id:
        raise BadRequest("nodeId is required, e.g. dataset:<namespace>:<name>")
    base = node_id.split("#", 1)[0]
    kind, _, rest = base.partition(":")
    if kind == "dataset":
        return "dataset", graph.resolve_dataset(rest)
    if kind == "datasetField":
        return "datasetField", graph.resolve_field(rest)
    if kind == "job":
        return "job", graph.resolve_job(rest)
    if kind == "run":
        run = graph.runs.get(rest)
        if run is None:
            raise NodeNotFound(f"no run {rest!r}")
        return "job", run.job
    raise BadRequest(
        f"nodeId {node_id!r} must start with dataset:, datasetField:, job: or run: "
        "(e.g. dataset:<namespace>:<name>)"
    )


def node_version(node_id: str) -> str | None:
    return node_id.split("#", 1)[1] if "#" in node_id else None


# ---------------------------------------------------------------------------- /lineage


def lineage(graph: LineageGraph, node_id: str, depth: int = 20) -> dict[str, Any]:
    kind, key = parse_node_id(graph, node_id)
    if kind == "datasetField":
        key, kind = (key.namespace, key.dataset), "dataset"
    if kind == "job":
        jobs = {key}
        datasets: set[tuple[str, str]] = set()
    else:
        dataset = graph.datasets[key]
        jobs = set(dataset.producers | dataset.consumers)
        datasets = {key}
    frontier = set(jobs)
    for _ in range(max(depth, 0)):
        reached: set[tuple[str, str]] = set()
        for job_key in frontier:
            job = graph.jobs[job_key]
            for dataset_key in job.inputs | job.outputs:
                node = graph.datasets.get(dataset_key)
                if node is not None:
                    reached |= node.producers | node.consumers
        frontier = reached - jobs
        if not frontier:
            break
        jobs |= frontier
    for job_key in jobs:
        datasets |= graph.jobs[job_key].inputs | graph.jobs[job_key].outputs
    nodes = [_job_node(graph, j, datasets) for j in jobs] + [
        _dataset_node(graph, d, jobs) for d in datasets if d in graph.datasets
    ]
    return {"graph": sorted(nodes, key=lambda n: n["id"])}


def _dataset_id(key: tuple[str, str]) -> str:
    return f"dataset:{key[0]}:{key[1]}"


def _job_id(key: tuple[str, str]) -> str:
    return f"job:{key[0]}:{key[1]}"


def _dataset_node(
    graph: LineageGraph, key: tuple[str, str], jobs: set[tuple[str, str]]
) -> dict[str, Any]:
    return {
        "id": _dataset_id(key),
        "type": "DATASET",
        "data": dataset_data(graph, key),
        "inEdges": [
            {"origin": _job_id(j), "destination": _dataset_id(key)}
            for j in sorted(graph.datasets[key].producers & jobs)
        ],
        "outEdges": [
            {"origin": _dataset_id(key), "destination": _job_id(j)}
            for j in sorted(graph.datasets[key].consumers & jobs)
        ],
    }


def _job_node(
    graph: LineageGraph, key: tuple[str, str], datasets: set[tuple[str, str]]
) -> dict[str, Any]:
    job = graph.jobs[key]
    return {
        "id": _job_id(key),
        "type": "JOB",
        "data": job_data(graph, key),
        "inEdges": [
            {"origin": _dataset_id(d), "destination": _job_id(key)} for d in sorted(job.inputs)
        ],
        "outEdges": [
            {"origin": _job_id(key), "destination": _dataset_id(d)} for d in sorted(job.outputs)
        ],
    }


def dataset_data(graph: LineageGraph, key: tuple[str, str]) -> dict[str, Any]:
    dataset = graph.datasets[key]
    source = (dataset.facets.get("dataSource") or {}).get("name") or dataset.namespace
    return {
        "id": {"namespace": dataset.namespace, "name": dataset.name},
        "type": "DB_TABLE",
        "name": dataset.name,
        "physicalName": dataset.name,
        "namespace": dataset.namespace,
        "sourceName": source,
        "createdAt": instant_text(dataset.created_at),
        "updatedAt": instant_text(dataset.updated_at),
        "description": dataset.description,
        "fields": [
            {"name": name, "type": field_type, "tags": [], "description": None}
            for name, field_type in dataset.fields.items()
            if name
        ],
        "tags": [],
        "lastModifiedAt": instant_text(dataset.updated_at) if dataset.producers else None,
        # the newest lifecycle state a write sent (DROP, TRUNCATE, OVERWRITE…), as Marquez
        # shows its current version's
        "lastLifecycleState": (dataset.facets.get("lifecycleStateChange") or {}).get(
            "lifecycleStateChange"
        ),
        "facets": dataset.facets,
        "lineageNotes": dataset.lineage_notes,
    }


def job_data(graph: LineageGraph, key: tuple[str, str]) -> dict[str, Any]:
    job = graph.jobs[key]
    parent = None
    latest = graph.runs.get(job.latest_run) if job.latest_run else None
    if latest is not None:
        parent_job = (latest.facets.get("parent") or {}).get("job") or {}
        if parent_job.get("name"):
            parent_key = (str(parent_job.get("namespace") or job.namespace), parent_job["name"])
            parent = graph.canonical_job(parent_key)[1]
    location = (job.facets.get("sourceCodeLocation") or {}).get("url")
    return {
        "id": {"namespace": job.namespace, "name": job.name},
        "type": str((job.facets.get("jobType") or {}).get("processingType") or "BATCH"),
        "name": job.name,
        "simpleName": simple_name(job.name, parent),
        "parentJobName": parent,
        "createdAt": instant_text(job.created_at),
        "updatedAt": instant_text(job.updated_at),
        "namespace": job.namespace,
        "inputs": [{"namespace": ns, "name": name} for ns, name in sorted(job.inputs)],
        "outputs": [{"namespace": ns, "name": name} for ns, name in sorted(job.outputs)],
        "location": location,
        "description": job.description,
        "latestRun": run_data(graph, job.latest_run) if job.latest_run else None,
        "facets": job.facets,
    }


def run_data(graph: LineageGraph, run_id: str) -> dict[str, Any]:
    run = graph.runs[run_id]
    return {
        "id": run.run_id,
        "createdAt": instant_text(run.created_at),
        "updatedAt": instant_text(run.updated_at),
        "nominalStartTime": instant_text(run.nominal_start),
        "nominalEndTime": instant_text(run.nominal_end),
        "state": run.state,
        "startedAt": instant_text(run.started_at),
        "endedAt": instant_text(run.ended_at),
        "durationMs": run.duration_ms,
        "jobVersion": {"namespace": run.job[0], "name": run.job[1]},
        "facets": run.facets,
    }


def dataset_version_data(graph: LineageGraph, version: DatasetVersion) -> dict[str, Any]:
    """Marquez's DatasetVersion: the dataset as one write left it, and the run that wrote it."""
    facets = version.facets
    source = (facets.get("dataSource") or {}).get("name") or version.namespace
    documentation = facets.get("documentation")
    return {
        "id": {"namespace": version.namespace, "name": version.name, "version": version.version},
        "type": "DB_TABLE",
        "name": version.name,
        "physicalName": version.name,
        "createdAt": instant_text(version.created_at),
        "version": version.version,
        "namespace": version.namespace,
        "sourceName": source,
        "fields": [
            {
                "name": f["name"],
                "type": f.get("type"),
                "tags": [],
                "description": f.get("description"),
            }
            for f in version.fields
        ],
        "tags": [],
        "lifecycleState": (facets.get("lifecycleStateChange") or {}).get("lifecycleStateChange"),
        "description": documentation.get("description")
        if isinstance(documentation, dict)
        else None,
        "createdByRun": (
            run_data(graph, version.run_id)
            if version.run_id is not None and version.run_id in graph.runs
            else None
        ),
        "facets": facets,
    }


def run_facets(graph: LineageGraph, run_id: str, facet_type: str) -> dict[str, Any]:
    """``/jobs/runs/{id}/facets?type=run|job`` (Marquez's web UI): the run's facets, or its
    job's as the run's newest event saw them."""
    run = graph.runs[run_id]
    if facet_type == "run":
        facets = run.facets
    elif facet_type == "job":
        facets = graph.jobs[run.job].facets_as_of(run.updated_at)
    else:
        raise BadRequest(f"type must be run or job, not {facet_type!r}")
    return {"runId": run_id, "facets": facets}


SEARCH_FILTERS = ("DATASET", "JOB")
SEARCH_SORTS = ("NAME", "UPDATE_AT")


def search(
    graph: LineageGraph,
    query: str,
    kind: str | None = None,
    sort: str = "NAME",
    limit: int = 10,
    namespace: str | None = None,
) -> dict[str, Any]:
    """Marquez's ``/search``: datasets and jobs whose name holds ``query`` (case-insensitive),
    and, beyond Marquez (its issue #2170), datasets with a field and jobs with SQL holding it;
    ``kind`` DATASET or JOB; sorted by name, or newest first (``UPDATE_AT``)."""
    if not query.strip():
        raise BadRequest("q is required: the text to search for in dataset and job names")
    kind = kind.upper() if kind else None
    if kind is not None and kind not in SEARCH_FILTERS:
        raise BadRequest(f"filter must be DATASET or JOB, not {kind!r}")
    if sort.upper() not in SEARCH_SORTS:
        raise BadRequest(f"sort must be NAME or UPDATE_AT, not {sort!r}")
    needle = query.lower()
    results: list[dict[str, Any]] = []
    if kind in (None, "DATASET"):
        for (ns, name), dataset in graph.datasets.items():
            if namespace not in (None, ns):
                continue
            if needle in name.lower() or any(needle in f.lower() for f in dataset.fields if f):
                results.append(_search_result("DATASET", ns, name, dataset.updated_at))
    if kind in (None, "JOB"):
        for (ns, name), job in graph.jobs.items():
            if namespace not in (None, ns):
                continue
            sql = job.facets.get("sql")
            query_text = str(sql.get("query") or "") if isinstance(sql, dict) else ""
            if needle in name.lower() or needle in query_text.lower():
                results.append(_search_result("JOB", ns, name, job.updated_at))
    if sort.upper() == "NAME":
        results.sort(key=lambda r: (r["name"], r["namespace"], r["type"]))
    else:
        results.sort(key=lambda r: epoch_seconds(r["updatedAt"]), reverse=True)
    return {"totalCount": len(results), "results": results[:limit]}


def _search_result(kind: str, namespace: str, name: str, updated_at: str) -> dict[str, Any]:
    node_id = _dataset_id((namespace, name)) if kind == "DATASET" else _job_id((namespace, name))
    return {
        "type": kind,
        "name": name,
        "updatedAt": instant_text(updated_at),
        "namespace": namespace,
        "nodeId": node_id,
    }


# ---------------------------------------------------------------------- /column-lineage


def column_lineage(
    graph: LineageGraph,
    node_id: str,
    depth: int = 20,
    with_downstream: bool = False,
    as_of: str | None = None,
) -> dict[str, Any]:
    """Marquez's column-lineage graph; ``as_of`` (or ``#<ISO time>`` on the id) reads the past."""
    version = node_version(node_id)
    if version is not None:
        if "T" not in version:
            raise BadRequest(
                f"version {version!r}: flowledger versions are times (…#2026-01-31T12:00:00Z)"
            )
        as_of = version
    if as_of is not None and with_downstream:
        raise BadRequest(
            "lineage as of a time (asOf=… or nodeId=…#<time>) cannot be combined with "
            "withDownstream=true, as in Marquez: ask for the upstream lineage only"
        )
    if as_of is not None and epoch_seconds(as_of) == 0.0:
        raise BadRequest(f"asOf {as_of!r} is not an ISO 8601 date-time")
    kind, key = parse_node_id(graph, node_id)
    fields_then: dict[tuple[str, str], Mapping[str, str | None]] = {}

    def fields_of(dataset: tuple[str, str]) -> Mapping[str, str | None]:
        """The dataset's fields and their types as of the read's time (now without one)."""
        if dataset not in fields_then:
            node = graph.datasets.get(dataset)
            fields_then[dataset] = node.fields_at(as_of) if node is not None else {}
        return fields_then[dataset]

    if kind == "datasetField":
        if key.field not in fields_of((key.namespace, key.dataset)):
            # a field its dataset never had: its dataset's whole-dataset inputs made one up
            raise NodeNotFound(f"no column lineage for {node_id!r}: the dataset has no such field")
        starts = [key]
    elif kind == "dataset":
        starts = [FieldKey(key[0], key[1], f) for f in fields_of(key) if f]
    else:
        job = graph.jobs[key]
        starts = [
            FieldKey(ns, name, f)
            for ns, name in sorted(job.outputs)
            for f in fields_of((ns, name))
            if f
        ]
    nodes: set[FieldKey] = set(starts)
    reached_downstream: set[FieldKey] = set()
    for start in starts:
        for _, edge in graph.trace(start, depth=depth, as_of=as_of):
            nodes.add(edge.input)
            nodes.add(edge.output)
        if with_downstream:
            for _, edge in graph.trace(start, depth=depth, downstream=True, as_of=as_of):
                nodes.add(edge.input)
                nodes.add(edge.output)
                reached_downstream.add(edge.output)
    # downstream, a whole-dataset edge (columnLineage's `dataset` inputs) reaches every field
    # of its output (upstream, the fields asked about are there already)
    for whole in [n for n in reached_downstream if not n.field]:
        nodes.update(
            FieldKey(whole.namespace, whole.dataset, f)
            for f in fields_of((whole.namespace, whole.dataset))
            if f
        )
    nodes.discard(FieldKey("", "", ""))
    # every input of a node is a node too, as Marquez's ColumnLineageService.toLineage adds
    # each input field (those past the depth asked with only the edges to the nodes here)
    nodes.update(
        edge.input
        for node in [n for n in nodes if n.field]
        for edge in graph.upstream_edges(node, as_of)
        if edge.input.field
    )
    connected = {
        n for n in nodes if graph.upstream_edges(n, as_of) or graph.downstream_edges(n, as_of)
    }
    if not connected:
        # Marquez answers 404 only for a node without fields (no dataset field, a dataset or a
        # job's outputs with none); fields without column lineage are an empty graph
        if kind == "datasetField":
            known = starts[0].field in fields_of((starts[0].namespace, starts[0].dataset))
        else:
            known = bool(starts)
        if not known:
            raise NodeNotFound(f"no column lineage for {node_id!r}")
        return {"graph": []}
    graph_nodes = [
        _field_node(graph, n, nodes, as_of, fields_of((n.namespace, n.dataset)).get(n.field))
        for n in sorted(nodes)
        if n.field
    ]
    return {"graph": sorted(graph_nodes, key=lambda n: n["id"])}


def _field_node(
    graph: LineageGraph,
    key: FieldKey,
    nodes: set[FieldKey],
    as_of: str | None,
    field_type: str | None,
) -> dict[str, Any]:
    upstream = graph.upstream_edges(key, as_of)
    downstream = [
        edge
        for whole_or_one in graph.downstream_edges(key, as_of)
        for edge in _each_field(whole_or_one, nodes)
    ]
    dataset = (key.namespace, key.dataset)
    return {
        "id": key.node_id,
        "type": "DATASET_FIELD",
        "data": {
            "namespace": key.namespace,
            "dataset": key.dataset,
            "datasetVersion": graph.shown_version(dataset, as_of),
            "field": key.field,
            "fieldType": field_type,
            "transformationDescription": None,
            "transformationType": None,
            "inputFields": input_fields(
                upstream, lambda source: graph.version_read(source, dataset, as_of)
            ),
        },
        "inEdges": [
            {"origin": key.node_id, "destination": edge.input.node_id}
            for edge in _unique_inputs(upstream)
            if edge.input in nodes
        ],
        "outEdges": [
            {"origin": key.node_id, "destination": edge.output.node_id}
            for edge in _unique_outputs(downstream)
        ],
    }


def input_fields(
    edges: list[FieldEdge], version_read: Callable[[tuple[str, str]], str | None]
) -> list[dict[str, Any]]:
    """One entry per input field, with every transformation through which it is used (each
    type/subtype once, though two events or jobs declared it), and the version of its dataset
    that was read (``version_read`` of the dataset)."""
    grouped: dict[FieldKey, list[FieldEdge]] = {}
    for edge in edges:
        group = grouped.setdefault(edge.input, [])
        if all((e.type, e.subtype) != (edge.type, edge.subtype) for e in group):
            group.append(edge)
    result = []
    for source, group in sorted(grouped.items()):
        identity = any(e.type == "DIRECT" and e.subtype == "IDENTITY" for e in group)
        result.append(
            {
                "namespace": source.namespace,
                "dataset": source.dataset,
                "datasetVersion": version_read((source.namespace, source.dataset)),
                "field": source.field,
                "transformationDescription": group[0].description or None,
                "transformationType": "IDENTITY" if identity else None,
                "transformations": [
                    {
                        "type": e.type,
                        "subtype": e.subtype or None,
                        "description": e.description or None,
                        "masking": e.masking,
                        "origin": e.origin,
                    }
                    for e in group
                ],
            }
        )
    return result


def _unique_inputs(edges: list[FieldEdge]) -> list[FieldEdge]:
    seen: dict[FieldKey, FieldEdge] = {}
    for edge in edges:
        seen.setdefault(edge.input, edge)
    return [seen[k] for k in sorted(seen)]


def _each_field(edge: FieldEdge, nodes: set[FieldKey]) -> list[FieldEdge]:
    """``edge`` if its output is one of ``nodes``; a whole-dataset edge (its output field
    empty) as one edge to each field of its output among ``nodes`` (an edge to the empty field
    named a node that does not exist)."""
    if edge.output.field:
        return [edge] if edge.output in nodes else []
    dataset = (edge.output.namespace, edge.output.dataset)
    return [
        dataclasses.replace(edge, output=node)
        for node in nodes
        if node.field and (node.namespace, node.dataset) == dataset
    ]


def _unique_outputs(edges: list[FieldEdge]) -> list[FieldEdge]:
    seen: dict[FieldKey, FieldEdge] = {}
    for edge in edges:
        seen.setdefault(edge.output, edge)
    return [seen[k] for k in sorted(seen)]
