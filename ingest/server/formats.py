"""Request bodies → items: one decoded record (or the reason it has none) per position.

A body that cannot be read at all (bad JSON, invalid UTF-8, the wrong top-level shape, an
unknown content type) raises :class:`ClientError` with its 4xx status: nothing is stored. A body
that reads fine yields :class:`Item` objects; an item with a ``problem`` is quarantined and
listed in the answer with its index, the others go on to the contract check.

Bodies are read as file ingest reads them (:mod:`ingest.json_values`): a record giving one of
its contract's fields twice, or holding NaN, Infinity or a number beyond a double, is an item
with that problem (the reason names the key and where it is), as is a key given twice in its
``data`` (the contract check refuses it); the other records of the body go on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from flowledger.request_guard import ClientError
from ingest.cloudevents import CLOUDEVENT_FIELDS, event_problem, format_problem, json_type
from ingest.contracts import LogicalType, RecordKind, load_contracts
from ingest.json_values import (
    ElementText,
    NotStandardJson,
    Pairs,
    decoded_document,
    loads_as_written,
    loads_standard,
    value_as_text,
)
from ingest.readers import detect_kind

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


_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)


def check_charset(content_type: str | None) -> None:
    """415 for a JSON body declared in another charset than UTF-8 (``charset=iso-8859-1``):
    JSON text is UTF-8 (RFC 8259 8.1), and read as UTF-8 such a body is stored garbled."""
    found = _CHARSET.search(content_type or "")
    if found and found[1].lower().replace("-", "").replace("_", "") not in ("utf8", "usascii"):
        raise ClientError(
            415,
            f"charset {found[1]!r} is not read: send the JSON as UTF-8 (RFC 8259), with "
            "charset=utf-8 or no charset",
        )


def decode_json(body: bytes, what: str = "the body") -> Any:
    """JSON from UTF-8 bytes (:func:`loads_standard`), or :class:`ClientError` 400 saying where
    it broke, or which key it gives twice (or where it holds NaN or Infinity): for a body that is
    one whole (an OTLP export), not records to quarantine one by one."""
    try:
        return _decoded(body, what, loads_standard)
    except NotStandardJson as problem:
        raise ClientError(400, f"{what} is refused (nothing stored): {problem.reason}") from None


def decode_records(body: bytes, what: str = "the body") -> Any:
    """The JSON document of a body of records (an array of them, or one): as
    :func:`decode_json`, except that a record JSON does not let ingest read one way (a key
    given twice, NaN) is kept as its :class:`ElementText`, for :func:`_read_element`."""
    return _decoded(body, what, decoded_document)


def _decoded(body: bytes, what: str, decode: Callable[[str], Any]) -> Any:
    """``decode`` of the body's text; :class:`ClientError` 400 for text that is not JSON."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return decode(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ClientError(400, f"{what} is not valid UTF-8: send UTF-8 encoded JSON") from None
    except RecursionError:
        raise ClientError(400, f"{what} nests too deeply to read") from None
    except json.JSONDecodeError as error:
        raise ClientError(
            400,
            f"{what} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
        ) from None


def _one_record(text: str) -> Any:
    """The JSON text of one record (an NDJSON line), decoded, or as :class:`ElementText`."""
    try:
        return loads_standard(text)
    except NotStandardJson:
        return ElementText(text)


def _read_element(element: ElementText, kind: RecordKind | None) -> tuple[Any, str | None]:
    """A record :func:`decode_records` kept as text, read as file ingest reads it: the record,
    or its text as written (:func:`loads_as_written`) and the problem, for the quarantine.

    As on the file path, a key given twice counts at the top when the contract of ``kind``
    lists it (another is not stored: its last value stays) and anywhere in an object field
    (``data``; the file path's scrubber refuses it there)."""
    contract = None if kind is None else load_contracts()[kind]
    try:
        record = loads_standard(element.text, None if contract is None else contract.field_names)
        if contract is not None and isinstance(record, dict):
            for prop in contract.properties:
                value = record.get(prop.name)
                if prop.logical_type is LogicalType.OBJECT and isinstance(value, dict | Pairs):
                    try:
                        loads_standard(value_as_text(value) or "")
                    except NotStandardJson as problem:
                        raise problem.within(prop.name) from None
    except NotStandardJson as problem:
        return loads_as_written(element.text), problem.reason
    return record, None


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
    check_charset(content_type)
    media = media_type(content_type)
    has_ce_headers = any(name.lower().startswith("ce-") for name in headers)
    if media == BATCH:
        document = decode_records(body)
        if not isinstance(document, list):
            raise ClientError(400, f"{BATCH} must be a JSON array of events")
        check_record_count(len(document), max_records)
        return [_structured_item(index, element) for index, element in enumerate(document)]
    if media == STRUCTURED:
        document = decode_records(body)
        if not isinstance(document, dict | ElementText):
            raise ClientError(400, f"{STRUCTURED} must be one JSON object; send arrays as {BATCH}")
        return [_structured_item(0, document)]
    if has_ce_headers:
        return [_binary_item(headers, body)]
    if media == "application/json":
        # lenient: a plain JSON object or array of structured events
        document = decode_records(body)
        if isinstance(document, list):
            check_record_count(len(document), max_records)
            return [_structured_item(index, element) for index, element in enumerate(document)]
        if isinstance(document, dict | ElementText):
            return [_structured_item(0, document)]
        raise ClientError(400, "the body must be a CloudEvent object or an array of them")
    raise ClientError(
        415,
        f"unsupported content type {media or '(none)'!r} for /v1/events: use {STRUCTURED}, "
        f"{BATCH}, or binary mode (ce-* headers with the data's own content type)",
    )


def _structured_item(index: int, element: Any) -> Item:
    kind = RecordKind.BUSINESS_EVENT
    if isinstance(element, ElementText):
        element, problem = _read_element(element, kind)
        if problem is not None:
            return Item(index, kind, None, element, problem)
    if not isinstance(element, dict):
        return Item(
            index, kind, None, element, f"event is a JSON {json_type(element)}, not an object"
        )
    problem = event_problem(element)  # the CloudEvents format (ingest.cloudevents)
    # the element itself: the contract check reads only the CloudEvent attributes it knows
    return Item(index, kind, element, element, problem)


def _binary_item(headers: Mapping[str, str], body: bytes) -> Item:
    """Binary mode, read with the CloudEvents SDK after the checks its defaults would hide."""
    from cloudevents.core.bindings.http import HTTPMessage, from_http_event

    kind = RecordKind.BUSINESS_EVENT
    attributes: dict[str, str] = {}
    undecodable: list[str] = []
    repeated: list[str] = []
    for name, value in headers.items():
        if name.lower().startswith("ce-"):
            if name.lower()[3:] in attributes and name.lower() not in repeated:
                repeated.append(name.lower())
            try:
                attributes[name.lower()[3:]] = _header_value(value)
            except UnicodeDecodeError:
                attributes[name.lower()[3:]] = value
                undecodable.append(name.lower())
    raw: dict[str, Any] = dict(attributes)
    # whole: the quarantine scrubs, then caps it (a cut first could cut a secret short of what
    # its rule needs)
    raw["data"] = body.decode("utf-8", errors="replace")
    if repeated:
        return Item(
            0,
            kind,
            None,
            raw,
            f"{', '.join(repeated)}: given more than once; an attribute is one header (which "
            "value the producer meant cannot be told, as for a JSON key given twice)",
        )
    if undecodable:
        return Item(
            0,
            kind,
            None,
            raw,
            f"{', '.join(undecodable)}: bytes that are not UTF-8, sent raw or percent-encoded "
            "(the HTTP binding percent-encodes the UTF-8 of each character: %E2%82%AC is €)",
        )
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
    problem = format_problem(attributes)
    if problem is not None:  # ce- header names and values, by the rules of structured mode
        return Item(0, kind, None, raw, problem)
    content_type = headers.get("content-type", "")
    # no Content-Type: an event without datacontenttype, whose data is JSON (the CloudEvents
    # SDK's to_binary_event sends none then, and its from_http_event reads the body as JSON)
    if content_type.strip() and not _is_json_type(content_type):
        return Item(
            0,
            kind,
            None,
            raw,
            f"data has content type {media_type(content_type) or '(none)'!r}: business events "
            "carry a JSON object (application/json)",
        )
    # an empty body is an event without data: the contract refuses it (`data: missing`) and it is
    # quarantined, as the same event in structured mode is (a 400 for invalid JSON kept nothing)
    data = None
    empty = not body.removeprefix(b"\xef\xbb\xbf").strip()
    if not empty:
        try:
            data = _decoded(body, "the event data (body)", loads_standard)
        except NotStandardJson as problem:  # the data's keys all count, as in a structured one's
            raw["data"] = loads_as_written(body.removeprefix(b"\xef\xbb\xbf"))
            return Item(0, kind, None, raw, problem.within("data").reason)
    if empty:
        del raw["data"]  # as the structured event without data holds none
    else:
        raw["data"] = data
    # the SDK decodes percent-encoding but not a quoted string: it gets the values decoded here,
    # encoded again as the binding encodes them (one round of decoding gives them back)
    message_headers = {name.lower(): value for name, value in headers.items()}
    for name, value in attributes.items():
        message_headers[f"ce-{name}"] = quote(value, safe=_HEADER_SAFE)
    try:
        event = from_http_event(HTTPMessage(headers=message_headers, body=body))
    except Exception as error:  # the SDK's validation errors, bad time values
        return Item(0, kind, None, raw, f"not a valid CloudEvent: {error}")
    found = event.get_attributes()
    record = {name: found.get(name) for name in CLOUDEVENT_FIELDS if name != "data"}
    time_value = found.get("time") if "time" in attributes else None
    record["time"] = time_value.isoformat() if isinstance(time_value, datetime) else time_value
    # the Content-Type as sent, parameters included (the conformance suite's HTTP binding feature:
    # "application/json; charset=utf-8" is the datacontenttype)
    record["datacontenttype"] = content_type.strip() or None
    record["data"] = data
    return Item(0, kind, record, raw)


#: What the HTTP binding leaves as it is: printable ASCII but space, double quote and percent.
_HEADER_SAFE = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) not in '"%')
_QUOTED_PAIR = re.compile(r"\\(.)")


def _header_value(value: str) -> str:
    """A ``ce-`` header's attribute value as the HTTP binding decodes it (section 3.1.3.2): a
    double-quoted string unquoted first, backslash escapes included (RFC 7230 section 3.2.6),
    then one round of percent-decoding; bytes that are not UTF-8 (``%C0%A0``, an overlong
    space) raise :class:`UnicodeDecodeError` (the binding says they MUST be rejected)."""
    # HTTP gives a header's bytes as latin-1 characters: bytes sent raw instead of
    # percent-encoded are read as the UTF-8 they should be (`é` was stored as `Ã©`), and are
    # refused, as percent-encoded ones are, when they are not UTF-8
    value = value.strip().encode("latin-1").decode("utf-8")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
    return unquote(value, errors="strict")


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
    check_charset(headers.get("content-type"))
    media = media_type(headers.get("content-type"))
    if media in NDJSON_TYPES:
        return _ndjson_items(body, forced, max_records)
    if media == "application/json":
        document = decode_records(body)
        if isinstance(document, dict | ElementText):
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
            element = _decoded(line, f"line {index + 1}", _one_record)
        except ClientError as error:
            text = line.decode("utf-8", errors="replace")  # scrubbed, then capped
            items.append(Item(index, forced or RecordKind.FLOW_RUN, None, text, error.message))
        else:
            items.append(_run_item(index, element, forced))
    return items


def _run_item(index: int, element: Any, forced: RecordKind | None) -> Item:
    if isinstance(element, ElementText):
        kind = forced or _run_kind(loads_as_written(element.text))
        element, problem = _read_element(element, kind)
        if problem is not None:
            return Item(index, kind or RecordKind.FLOW_RUN, None, element, problem)
    if not isinstance(element, dict):
        return Item(
            index,
            forced or RecordKind.FLOW_RUN,
            None,
            element,
            f"record is a JSON {json_type(element)}, not an object",
        )
    kind = forced or _run_kind(element)
    if kind is None:
        return Item(
            index,
            RecordKind.FLOW_RUN,
            None,
            element,
            "cannot tell the record kind from its fields: a flow run has run_id and flow_id, a "
            "step has step_id, a queue sample has queue_name and depth; with step_id and "
            "flow_name, neither kind's fields prevail (or pass ?kind=)",
        )
    return Item(index, kind, element, element)


def _run_kind(record: Any) -> RecordKind | None:
    """The kind of run record an object's keys imply, if any (``None`` for a business event)."""
    if not isinstance(record, dict | Pairs):
        return None
    kind = detect_kind(name for name, _ in record.items())
    return None if kind is RecordKind.BUSINESS_EVENT else kind
