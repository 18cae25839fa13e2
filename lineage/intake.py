"""Check an incoming OpenLineage event the way Marquez does, with flowledger's status codes:
400 for what cannot be read (bad JSON, bad dates, a run id or a parent run id that is no UUID),
422 with the field path for a missing required field, 400 with the path for a value of
another JSON type than the OpenLineage schemas give (``run.facets`` a list, a facet a string:
:func:`lineage.schemas.type_problems`; Marquez's typed binding refuses them too, and stored,
they would stop every reader). A run id is a UUID in its 8-4-4-4-12 form, stored lower-case as
Marquez's ``java.util.UUID`` does, so the START sent upper-case and the COMPLETE sent
lower-case are one run. A date-time without a UTC offset is read
as UTC, as Marquez reads it (its ``FlexibleDateTimeDeserializer``, MarquezProject/marquez PR
#1670, tested with its fixture ``open_lineage/event_required_no_timezone.json``: OpenLineage's
Great Expectations integration sent such times). Otherwise an event time is RFC 3339's
``date-time`` (the schemas' format): ISO 8601's other forms (week dates, the basic format, a
comma before the fraction, no seconds) are refused with 400, saying which form to send.

JSON is read as ingest reads it (:mod:`ingest.json_values`): an event that gives a key twice
(at any level) or holds NaN, Infinity or a number beyond a double is refused with 400 naming
where (in a batch, only that event)."""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import Any

from ingest.json_values import ElementText, NotStandardJson, decoded_document, loads_standard
from lineage.event_order import RFC_3339, utc_time
from lineage.schemas import event_kind, type_problems

#: A UUID as Marquez reads one (``java.util.UUID``): 8-4-4-4-12 hex digits, either case.
UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class IntakeError(ValueError):
    """An event refused: ``status`` is the HTTP status, ``message`` says what and where."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_json(body: bytes) -> Any:
    """The JSON document of a request body (its Content-Encoding already undone); an event
    (the body, or an element of a batch array) giving a key twice or holding NaN is kept as its
    :class:`ElementText`, which :func:`check_event` refuses."""
    try:
        return decoded_document(body.decode(json.detect_encoding(body), "surrogatepass"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise IntakeError(400, f"malformed JSON: {error}") from None
    except RecursionError:
        raise IntakeError(400, "malformed JSON: the body nests too deeply to read") from None


def check_event(event: Any, where: str = "") -> dict[str, Any]:
    """Return ``event`` if Marquez would accept it; raise :class:`IntakeError` otherwise."""
    if isinstance(event, ElementText):
        try:
            event = loads_standard(event.text)
        except NotStandardJson as problem:
            raise IntakeError(400, f"{where}{problem.reason}") from None
    if not isinstance(event, dict):
        raise IntakeError(
            400,
            f"{where.rstrip('.') or 'the body'} must be a JSON object (one OpenLineage event)",
        )
    kind = event_kind(event)
    _require(event, ("eventTime",), where)
    _require(event, ("producer",), where)
    _check_time(event["eventTime"], f"{where}eventTime")
    if kind == "RunEvent":
        _require(event, ("run", "runId"), where)
        event["run"]["runId"] = _uuid(event["run"]["runId"], f"{where}run.runId")
        _require(event, ("job", "namespace"), where)
        _require(event, ("job", "name"), where)
        facets = event["run"].get("facets") or {}
        parent = facets.get("parent") if isinstance(facets, dict) else None
        if isinstance(parent, dict):
            _require(parent, ("run", "runId"), f"{where}run.facets.parent.")
            parent["run"]["runId"] = _uuid(
                parent["run"]["runId"], f"{where}run.facets.parent.run.runId"
            )
        nominal = facets.get("nominalTime") if isinstance(facets, dict) else None
        if isinstance(nominal, dict):
            _require(nominal, ("nominalStartTime",), f"{where}run.facets.nominalTime.")
            _check_time(
                nominal["nominalStartTime"], f"{where}run.facets.nominalTime.nominalStartTime"
            )
        event_type = event.get("eventType")
        if event_type is not None and event_type not in (
            "START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER",
        ):  # fmt: skip
            raise IntakeError(
                400,
                f"{where}eventType {event_type!r} is not one of START, RUNNING, COMPLETE, ABORT, "
                "FAIL, OTHER",
            )
    elif kind == "JobEvent":
        _require(event, ("job", "namespace"), where)
        _require(event, ("job", "name"), where)
    else:
        _require(event, ("dataset", "namespace"), where)
        _require(event, ("dataset", "name"), where)
    for side in ("inputs", "outputs"):
        datasets = event.get(side)
        if datasets is None:
            continue
        if not isinstance(datasets, list):
            raise IntakeError(400, f"{where}{side} must be a list of datasets")
        for i, dataset in enumerate(datasets):
            if not isinstance(dataset, dict):
                raise IntakeError(400, f"{where}{side}[{i}] must be an object")
            _require(dataset, ("namespace",), f"{where}{side}[{i}].")
            _require(dataset, ("name",), f"{where}{side}[{i}].")
            _check_column_lineage(dataset, f"{where}{side}[{i}].")
    problems = type_problems(event)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise IntakeError(400, f"{where}{problems[0]}{more}")
    return event


def _check_column_lineage(dataset: dict[str, Any], where: str) -> None:
    """Every input field of a column-lineage facet names its dataset and field, as the facet's
    schema requires: an edge from no field cannot be placed (it was stored from a field named
    "None")."""
    facets = dataset.get("facets")
    facet = facets.get("columnLineage") if isinstance(facets, dict) else None
    if not isinstance(facet, dict):
        return
    place = f"{where}facets.columnLineage."
    fields = facet.get("fields")
    lists = [
        (f"{place}fields.{name}.inputFields", spec.get("inputFields"))
        for name, spec in (fields.items() if isinstance(fields, dict) else [])
        if isinstance(spec, dict)
    ]
    lists.append((f"{place}dataset", facet.get("dataset")))
    for list_place, items in lists:
        for j, item in enumerate(items if isinstance(items, list) else []):
            for key in ("namespace", "name", "field"):
                if not isinstance(item, dict) or item.get(key) in (None, ""):
                    raise IntakeError(422, f"missing required field {list_place}[{j}].{key}")


def _require(document: dict[str, Any], path: tuple[str, ...], where: str) -> None:
    node: Any = document
    walked: list[str] = []
    for part in path:
        walked.append(part)
        if not isinstance(node, dict) or node.get(part) in (None, ""):
            raise IntakeError(422, f"missing required field {where}{'.'.join(walked)}")
        node = node[part]


def _check_time(value: Any, where: str) -> None:
    """An RFC 3339 date-time (:data:`lineage.event_order.RFC_3339`: the schemas' ``format:
    date-time``, plus what Marquez reads besides: no offset, taken as UTC, or one without its
    colon); the other ISO 8601 forms are refused, saying which form to send."""
    text = str(value)
    if "T" not in text.upper():
        raise IntakeError(
            400,
            f"{where} {text!r} is not an ISO 8601 date-time: a date and a time joined by T, "
            "e.g. 2026-01-31T12:00:00Z (a date alone, or a space for the T, is not one)",
        )
    if not isinstance(value, str) or RFC_3339.fullmatch(value) is None:
        raise IntakeError(
            400,
            f"{where} {text!r} is not an ISO 8601 date-time in RFC 3339's form (the OpenLineage "
            "schema's format): send YYYY-MM-DDThh:mm:ss, an optional fraction after a dot, and Z or "
            "an offset ±hh:mm, e.g. 2026-01-31T12:00:00.5Z (week dates, the basic format "
            "20260131T120000Z, a comma before the fraction or no seconds are not taken)",
        )
    try:
        utc_time(text).astimezone(UTC)  # 9999-12-31T23:30:00-01:00 overflows in UTC
    except (ValueError, OverflowError):
        raise IntakeError(
            400, f"{where} {text!r} is not an ISO 8601 date-time (no such date or time)"
        ) from None


def _uuid(value: Any, where: str) -> str:
    """The run id in lower case; a value that is no UUID in its 8-4-4-4-12 form (braces,
    ``urn:uuid:``, no dashes, a JSON number) is refused, as Marquez refuses it."""
    if not isinstance(value, str) or UUID_PATTERN.fullmatch(value) is None:
        raise IntakeError(400, f"{where} {value!r} is not a UUID (8-4-4-4-12 hexadecimal digits)")
    return value.lower()
