"""Request bodies → items: one decoded record (or the reason it has none) per position.

A body that cannot be read at all (bad JSON, invalid UTF-8, the wrong top-level shape, an
unknown content type) raises :class:`ClientError` with its 4xx status: nothing is stored. A body
that reads fine yields :class:`Item` objects; an item with a ``problem`` is quarantined and
listed in the answer with its index, the others go on to the contract check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import orjson

from flowledger.request_guard import ClientError
from ingest.contracts import RecordKind
from ingest.readers import detect_kind

CLOUDEVENT_FIELDS = (
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "traceparent",
    "data",
)
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
NDJSON_TYPES = {
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
}
RUN_KINDS = {kind.value: kind for kind in RecordKind if kind is not RecordKind.BUSINESS_EVENT}
#: Records (events, runs, spans) one request may carry; 413 above it, nothing stored.
DEFAULT_MAX_RECORDS = 10_000


@dataclass(slots=True)
class Item:
    """One record of a request: its position, kind, decoded fields and raw form."""

    index: int
    kind: RecordKind
    record: dict[str, Any] | None
    raw: Any
    problem: str | None = None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_json(body: bytes, what: str = "the body") -> Any:
    """JSON from UTF-8 bytes, or :class:`ClientError` 400 saying where it broke."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        if "utf-8" in str(error).lower():
            raise ClientError(400, f"{what} is not valid UTF-8: send UTF-8 encoded JSON") from None
        if "recursion" in str(error).lower():
            raise ClientError(400, f"{what} nests too deeply to read") from None
        raise ClientError(
            400,
            f"{what} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
        ) from None


def check_record_count(count: int, limit: int) -> None:
    """:class:`ClientError` 413 when a request carries more than ``limit`` records."""
    if count > limit:
        raise ClientError(
            413,
            f"the request carries {count:,} records; the limit is {limit:,} per request "
            "(nothing stored): send smaller batches",
        )


def _is_json_type(content_type: str) -> bool:
    media = media_type(content_type)
    return media == "application/json" or media.endswith("+json") or media == "text/json"


# -- CloudEvents ---------------------------------------------------------------------------------


def cloudevent_items(
    headers: Mapping[str, str], body: bytes, max_records: int = DEFAULT_MAX_RECORDS
) -> list[Item]:
    """``POST /v1/events`` in structured, batch or binary mode."""
    content_type = headers.get("content-type", "")
    media = media_type(content_type)
    has_ce_headers = any(name.lower().startswith("ce-") for name in headers)
    if media == BATCH:
        document = decode_json(body)
        if not isinstance(document, list):
            raise ClientError(400, f"{BATCH} must be a JSON array of events")
        check_record_count(len(document), max_records)
        return [_structured_item(index, element) for index, element in enumerate(document)]
    if media == STRUCTURED:
        document = decode_json(body)
        if not isinstance(document, dict):
            raise ClientError(400, f"{STRUCTURED} must be one JSON object; send arrays as {BATCH}")
        return [_structured_item(0, document)]
    if has_ce_headers:
        return [_binary_item(headers, body)]
    if media == "application/json":
        # lenient: a plain JSON object or array of structured events
        document = decode_json(body)
        if isinstance(document, list):
            check_record_count(len(document), max_records)
            return [_structured_item(index, element) for index, element in enumerate(document)]
        if isinstance(document, dict):
            return [_structured_item(0, document)]
        raise ClientError(400, "the body must be a CloudEvent object or an array of them")
    raise ClientError(
        415,
        f"unsupported content type {media or '(none)'!r} for /v1/events: use {STRUCTURED}, "
        f"{BATCH}, or binary mode (ce-* headers with the data's own content type)",
    )


#: CloudEvents 1.0 attributes whose JSON value must be a string when present (id and source
#: are String and URI-reference, specversion the string "1.0"): ``"id": []`` or ``0`` is not an
#: id, and text forms of such values would collapse many events onto one dedupe key.
STRING_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "subject", "dataschema")


def _structured_item(index: int, element: Any) -> Item:
    kind = RecordKind.BUSINESS_EVENT
    if not isinstance(element, dict):
        return Item(
            index, kind, None, element, f"event is a JSON {_json_type(element)}, not an object"
        )
    problem = None
    not_strings = [
        f"{name} is a JSON {_json_type(element[name])}"
        for name in STRING_ATTRIBUTES
        if element.get(name) is not None and element[name].__class__ is not str
    ]
    if not_strings:
        problem = (
            f"{', '.join(not_strings)}: CloudEvents attributes are JSON strings "
            '(e.g. "specversion": "1.0", "id": "order-42")'
        )
    elif "data_base64" in element and "data" in element:
        # CloudEvents JSON format: "data" and "data_base64" are mutually exclusive
        problem = "data and data_base64 are both present: a CloudEvent has one or the other"
    elif "data_base64" in element:
        problem = "data_base64 is not accepted: a business event carries a JSON object in data"
    # the element itself: the contract check reads only the CloudEvent attributes it knows
    return Item(index, kind, element, element, problem)


def _binary_item(headers: Mapping[str, str], body: bytes) -> Item:
    """Binary mode, read with the CloudEvents SDK after the checks its defaults would hide."""
    from cloudevents.core.bindings.http import HTTPMessage, from_http_event

    kind = RecordKind.BUSINESS_EVENT
    attributes = {
        name.lower()[3:]: _header_value(value)
        for name, value in headers.items()
        if name.lower().startswith("ce-")
    }
    raw: dict[str, Any] = dict(attributes)
    raw["data"] = body[:4096].decode("utf-8", errors="replace")
    # The SDK invents an id, a time and a specversion when they are missing: check before
    # calling it.
    missing = [name for name in ("id", "source") if not (attributes.get(name) or "").strip()]
    if missing:
        names = " and ".join(f"ce-{name}" for name in missing)
        return Item(0, kind, None, raw, f"{names} header missing: binary-mode events need both")
    if not (attributes.get("specversion") or "").strip():
        return Item(
            0, kind, None, raw, "ce-specversion header missing: binary-mode events send 1.0"
        )
    content_type = headers.get("content-type", "")
    if not _is_json_type(content_type):
        return Item(
            0,
            kind,
            None,
            raw,
            f"data has content type {media_type(content_type) or '(none)'!r}: business events "
            "carry a JSON object (application/json)",
        )
    data = decode_json(body, "the event data (body)")
    raw["data"] = data
    message_headers = {name.lower(): value for name, value in headers.items()}
    try:
        event = from_http_event(HTTPMessage(headers=message_headers, body=body))
    except Exception as error:  # the SDK's validation errors, bad time values
        return Item(0, kind, None, raw, f"not a valid CloudEvent: {error}")
    found = event.get_attributes()
    record = {name: found.get(name) for name in CLOUDEVENT_FIELDS if name != "data"}
    time_value = found.get("time") if "time" in attributes else None
    record["time"] = time_value.isoformat() if isinstance(time_value, datetime) else time_value
    record["datacontenttype"] = media_type(content_type)
    record["data"] = data
    return Item(0, kind, record, raw)


def _header_value(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return unquote(value)


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


# -- flow runs and steps -------------------------------------------------------------------------


def run_items(
    headers: Mapping[str, str],
    body: bytes,
    kind_name: str | None,
    max_records: int = DEFAULT_MAX_RECORDS,
) -> list[Item]:
    """``POST /v1/runs``: a JSON array or NDJSON of flow-run / step / queue-depth records."""
    forced = None
    if kind_name:
        forced = RUN_KINDS.get(kind_name)
        if forced is None:
            raise ClientError(
                400, f"kind={kind_name!r} is not one of {', '.join(sorted(RUN_KINDS))}"
            )
    media = media_type(headers.get("content-type"))
    if media in NDJSON_TYPES:
        return _ndjson_items(body, forced, max_records)
    if media == "application/json":
        document = decode_json(body)
        if isinstance(document, dict):
            document = [document]
        if not isinstance(document, list):
            raise ClientError(400, "the body must be a JSON array of run records (or NDJSON)")
        check_record_count(len(document), max_records)
        return [_run_item(index, element, forced) for index, element in enumerate(document)]
    raise ClientError(
        415,
        f"unsupported content type {media or '(none)'!r} for /v1/runs: use application/json "
        "(an array of records) or application/x-ndjson (one record per line)",
    )


def _ndjson_items(body: bytes, forced: RecordKind | None, max_records: int) -> list[Item]:
    lines = [line for line in body.split(b"\n") if line.strip()]
    check_record_count(len(lines), max_records)
    items: list[Item] = []
    for index, line in enumerate(lines):
        try:
            element = decode_json(line, f"line {index + 1}")
        except ClientError as error:
            text = line[:4096].decode("utf-8", errors="replace")
            items.append(Item(index, forced or RecordKind.FLOW_RUN, None, text, error.message))
        else:
            items.append(_run_item(index, element, forced))
    return items


def _run_item(index: int, element: Any, forced: RecordKind | None) -> Item:
    if not isinstance(element, dict):
        return Item(
            index,
            forced or RecordKind.FLOW_RUN,
            None,
            element,
            f"record is a JSON {_json_type(element)}, not an object",
        )
    kind = forced or detect_kind(element.keys())
    if kind is None or kind is RecordKind.BUSINESS_EVENT:
        return Item(
            index,
            RecordKind.FLOW_RUN,
            None,
            element,
            "cannot tell the record kind from its fields: a flow run has run_id and flow_id, a "
            "step has step_id, a queue sample has queue_name and depth (or pass ?kind=)",
        )
    return Item(index, kind, element, element)
