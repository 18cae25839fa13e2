"""OpenLineage's explicit ``lineage`` facet (``spec/facets/LineageFacet.json``, OpenLineage PR
#4804) read as the ``columnLineage`` facet it stands for, so design-time lineage that a
DatasetEvent or a JobEvent declares with it joins the field graph as ``columnLineage`` does.

- On a dataset (``LineageDatasetFacet``): ``fields.<f>.inputs`` with a source ``field`` are the
  field's input fields; ``inputs`` with a ``field`` are the whole-dataset inputs
  (``columnLineage.dataset``).
- On a job (``LineageJobFacet``): each ``entries`` item of type ``DATASET`` is that lineage for
  its target dataset, an output of the job (its sources' datasets, the job's inputs).

Sources of type ``JOB``, and dataset sources without a ``field`` (a dependency on the whole
dataset, not on a column), name no field to draw an edge from: they are left out of the field
graph (the raw event keeps them)."""

from __future__ import annotations

from typing import Any

LINEAGE_FACET = "lineage"
#: the producer of a columnLineage facet made from a lineage facet: the original's, marked so
FROM_LINEAGE_SUFFIX = "#lineageFacet"


def column_lineage_of(facet: Any) -> dict[str, Any] | None:
    """The ``columnLineage`` facet a dataset's ``lineage`` facet stands for; None when it
    declares no field edge (or is no lineage facet, or is deleted)."""
    if not isinstance(facet, dict) or facet.get("_deleted") is True:
        return None
    fields: dict[str, Any] = {}
    for target, entry in _mapping(facet.get("fields")).items():
        if not isinstance(entry, dict):
            continue
        inputs = _input_fields(entry.get("inputs"))
        if inputs:
            fields[str(target)] = {"inputFields": inputs}
    whole = _input_fields(facet.get("inputs"))
    if not fields and not whole:
        return None
    return {
        "_producer": str(facet.get("_producer") or "") + FROM_LINEAGE_SUFFIX,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": fields,
        "dataset": whole,
    }


def job_lineage_outputs(facet: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(outputs, inputs) a job's ``lineage`` facet declares, as an event's datasets: each
    DATASET entry an output whose facets hold the ``columnLineage`` it stands for, and the
    datasets of its sources as inputs."""
    if not isinstance(facet, dict) or facet.get("_deleted") is True:
        return [], []
    outputs: list[dict[str, Any]] = []
    inputs: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in _sequence(facet.get("entries")):
        if not isinstance(entry, dict) or entry.get("type") != "DATASET":
            continue
        if not entry.get("namespace") or not entry.get("name"):
            continue
        lineage = column_lineage_of({"_producer": facet.get("_producer"), **entry})
        output: dict[str, Any] = {"namespace": entry["namespace"], "name": entry["name"]}
        if lineage is not None:
            output["facets"] = {"columnLineage": lineage}
        outputs.append(output)
        sources = [*_sequence(entry.get("inputs"))]
        sources += [
            source
            for field in _mapping(entry.get("fields")).values()
            if isinstance(field, dict)
            for source in _sequence(field.get("inputs"))
        ]
        for source in sources:
            if _is_dataset(source):
                key = (str(source["namespace"]), str(source["name"]))
                inputs.setdefault(key, {"namespace": key[0], "name": key[1]})
    return outputs, list(inputs.values())


def _is_dataset(source: Any) -> bool:
    return (
        isinstance(source, dict)
        and source.get("type", "DATASET") == "DATASET"
        and bool(source.get("namespace"))
        and bool(source.get("name"))
    )


def _input_fields(sources: Any) -> list[dict[str, Any]]:
    return [
        {
            "namespace": str(source["namespace"]),
            "name": str(source["name"]),
            "field": str(source["field"]),
            "transformations": [
                t for t in _sequence(source.get("transformations")) if isinstance(t, dict)
            ],
        }
        for source in _sequence(sources)
        if _is_dataset(source) and isinstance(source.get("field"), str | int) and source["field"]
    ]


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` where the facet's schema has an object; anything else (intake checks only the
    types of the facets it knows) is read as none, never breaking the graph of every event."""
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    """``value`` where the schema has an array; anything else is read as none."""
    return value if isinstance(value, list) else []
