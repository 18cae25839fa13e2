"""Validate OpenLineage events against the official JSON Schemas (spec 2-0-2), offline.

The schemas are kept in ``lineage/spec/openlineage`` and resolved through their ``$id``s. The core
schema checks the event; each known facet is then checked against its own facet schema.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC_DIR = Path(__file__).resolve().parent / "spec" / "openlineage"
CORE_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"

# facet key -> schema file (the keys producers use)
FACET_FILES = {
    "run": {
        "errorMessage": "ErrorMessageRunFacet.json",
        "parent": "ParentRunFacet.json",
        "nominalTime": "NominalTimeRunFacet.json",
        "processing_engine": "ProcessingEngineRunFacet.json",
        "tags": "TagsRunFacet.json",
    },
    "job": {
        "sql": "SQLJobFacet.json",
        "jobType": "JobTypeJobFacet.json",
        "documentation": "DocumentationJobFacet.json",
        "sourceCodeLocation": "SourceCodeLocationJobFacet.json",
        "ownership": "OwnershipJobFacet.json",
    },
    "dataset": {
        "columnLineage": "ColumnLineageDatasetFacet.json",
        "schema": "SchemaDatasetFacet.json",
        "dataSource": "DatasourceDatasetFacet.json",
        "documentation": "DocumentationDatasetFacet.json",
        "symlinks": "SymlinksDatasetFacet.json",
        "dataQualityAssertions": "DataQualityAssertionsDatasetFacet.json",
        "ownership": "OwnershipDatasetFacet.json",
    },
}


@cache
def _registry() -> Registry:
    resources = []
    for path in [SPEC_DIR / "OpenLineage.json", *sorted((SPEC_DIR / "facets").glob("*.json"))]:
        document = json.loads(path.read_text())
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


@cache
def _validator(schema_id: str, definition: str | None) -> Draft202012Validator:
    registry = _registry()
    schema = {"$ref": f"{schema_id}#/$defs/{definition}"} if definition else {"$ref": schema_id}
    return Draft202012Validator(schema, registry=registry)


@cache
def _facet_id(filename: str) -> str:
    return json.loads((SPEC_DIR / "facets" / filename).read_text())["$id"]


def event_kind(event: dict[str, Any]) -> str:
    """RunEvent, DatasetEvent or JobEvent: from ``schemaURL``'s suffix, else the event's shape."""
    url = str(event.get("schemaURL") or "")
    for kind in ("RunEvent", "DatasetEvent", "JobEvent"):
        if url.endswith(f"/{kind}"):
            return kind
    if "run" in event:
        return "RunEvent"
    if "dataset" in event:
        return "DatasetEvent"
    if "job" in event:
        return "JobEvent"
    return "RunEvent"


def validation_errors(event: dict[str, Any]) -> list[str]:
    """Every schema violation of ``event`` and of its known facets, as ``path: message``."""
    kind = event_kind(event)
    errors = [_message(error) for error in _validator(CORE_ID, kind).iter_errors(event)]
    for path, level, facets in _facet_groups(event):
        for key, facet in facets.items():
            filename = FACET_FILES[level].get(key)
            if filename is None or not isinstance(facet, dict):
                continue
            validator = _validator(_facet_id(filename), None)
            for error in validator.iter_errors({key: facet}):
                errors.append(f"{path}.{_message(error)}")
    return errors


def _facet_groups(event: dict[str, Any]):
    run = event.get("run")
    if isinstance(run, dict) and isinstance(run.get("facets"), dict):
        yield "run.facets", "run", run["facets"]
    job = event.get("job")
    if isinstance(job, dict) and isinstance(job.get("facets"), dict):
        yield "job.facets", "job", job["facets"]
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or []):
            if isinstance(dataset, dict) and isinstance(dataset.get("facets"), dict):
                yield f"{side}[{i}].facets", "dataset", dataset["facets"]
    dataset = event.get("dataset")
    if isinstance(dataset, dict) and isinstance(dataset.get("facets"), dict):
        yield "dataset.facets", "dataset", dataset["facets"]


def _message(error: Any) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{where.lstrip('.') or '(event)'}: {error.message}"
