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
#: Facets whose JSON types :func:`type_problems` checks besides those above: the ones flowledger
#: reads that :func:`validation_errors` leaves to their producers.
TYPED_FACET_FILES = {
    "run": FACET_FILES["run"],
    "job": {**FACET_FILES["job"], "sourceCode": "SourceCodeJobFacet.json"},
    "dataset": {
        **FACET_FILES["dataset"],
        "lifecycleStateChange": "LifecycleStateChangeDatasetFacet.json",
        "version": "DatasetVersionDatasetFacet.json",
    },
}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "null": (type(None),),
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


def type_problems(event: dict[str, Any]) -> list[str]:
    """Where ``event`` gives a value of another JSON type than the OpenLineage schemas say
    (``run.facets`` a list, a facet a string, ``columnLineage.fields.x.inputFields`` text…), as
    ``path: message``; for the event and the facets of :data:`TYPED_FACET_FILES`.

    The types alone, not the whole schema: a facet without ``_producer`` or ``_schemaURL``, or a
    string that is no URI, is read as Marquez reads it, while a value of the wrong type would
    stop every reader of the stored events. A walk of the schemas' ``type``, ``properties``,
    ``additionalProperties``, ``items``, ``$ref``, ``allOf`` and ``anyOf``: about a
    hundredth of the time of :func:`validation_errors`."""
    problems: list[str] = []
    core = _schema_document(CORE_ID)
    _type_walk(event, core["$defs"][event_kind(event)], core, "", problems)
    for path, level, facets in _facet_groups(event):
        for key, facet in facets.items():
            filename = TYPED_FACET_FILES[level].get(key)
            if filename is None or not isinstance(facet, dict):
                continue
            document = _schema_document(_facet_id(filename))
            _type_walk(facet, document["properties"][key], document, f"{path}.{key}", problems)
    return problems


@cache
def _schema_document(schema_id: str) -> dict[str, Any]:
    return _registry().contents(schema_id)


def _type_walk(
    value: Any, schema: Any, document: dict[str, Any], path: str, problems: list[str]
) -> None:
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        target, _, pointer = str(schema["$ref"]).partition("#")
        referred = _schema_document(target) if target else document
        node: Any = referred
        for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
            node = node[part]
        _type_walk(value, node, referred, path, problems)
    expected = schema.get("type")
    if isinstance(expected, str) and expected in _JSON_TYPES:
        kinds = _JSON_TYPES[expected]
        if not isinstance(value, kinds) or (expected != "boolean" and isinstance(value, bool)):
            problems.append(
                f"{path.lstrip('.') or '(event)'}: {_json_type_name(value)} where the "
                f"OpenLineage schema has {'an' if expected[0] in 'aeiou' else 'a'} {expected}"
            )
            return
    for part in schema.get("allOf") or ():
        _type_walk(value, part, document, path, problems)
    alternatives = schema.get("anyOf") or ()
    if alternatives:
        found = [_problems_of(value, part, document, path) for part in alternatives]
        if all(found):
            problems.extend(found[0])
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                _type_walk(item, properties[key], document, f"{path}.{key}", problems)
            elif isinstance(extra, dict):
                _type_walk(item, extra, document, f"{path}.{key}", problems)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _type_walk(item, schema["items"], document, f"{path}[{index}]", problems)


def _problems_of(value: Any, schema: Any, document: dict[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    _type_walk(value, schema, document, path, problems)
    return problems


def _json_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    for name, kinds in (("an object", dict), ("an array", list), ("a string", str)):
        if isinstance(value, kinds):
            return name
    return "a number"


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
