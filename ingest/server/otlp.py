"""OTLP/HTTP traces → flow runs and steps (``POST /v1/traces``, protobuf or JSON).

The mapping (also in docs/receiver.md):

* a span without a parent is a **flow run**; every other span is a **step** of the run of its
  trace. Spans of one run may come in several requests, children before the root: each span is
  mapped on its own, so nothing waits for the root.
* ``run_id``: resource ``cicd.pipeline.run.id``, else the trace id (hex).
* ``flow_name``: resource ``cicd.pipeline.name``, else the root span's name without its first
  word when it has two (``"run deploy"`` → ``deploy``), else resource ``service.name``;
  ``flow_id``: ``flow.id``, else the flow name.
* ``status``: ``cicd.pipeline.result`` (run) / ``cicd.pipeline.task.run.result`` (step):
  success→success, failure and error→failed, timeout→timed_out, cancellation→cancelled,
  skip→skipped; else the span status (ERROR→failed, OK→success, UNSET→success once ended).
  ``raw_status`` keeps the value read.
* errors: ``error.type``, else the ``exception`` event's ``exception.type``; message: the span
  status description, else ``exception.message`` (scrubbed like every free text).
* steps: ``step_id`` = ``cicd.pipeline.task.name`` (else ``flow.step_id``, else the span name);
  ``attempt`` = ``flow.attempt``, else the rank by start time among the request's spans of the
  same run attempt and step; ``step_type`` = ``cicd.pipeline.task.type``, else the span kind;
  ``queue_name``/``message_id``/``system`` = ``messaging.destination.name`` /
  ``messaging.message.id`` / ``messaging.system``.
* flowledger's own attributes (span or resource): ``flow.source_system`` (default: the token's
  source), ``flow.id``, ``flow.version`` (else ``service.version``), ``flow.tenant``,
  ``flow.trigger``, ``flow.run_attempt``, ``flow.attempt``, ``flow.max_attempts``,
  ``flow.idempotency_key``, ``flow.input_digest``, ``flow.business_key``,
  ``flow.dead_lettered``, ``flow.items_in``, ``flow.items_out``.

Spans that break the contract are counted in ``partial_success.rejected_spans`` and quarantined.
Answers follow OTLP/HTTP: the request's encoding (protobuf or JSON), an
``ExportTraceServiceResponse`` on success, a ``google.rpc.Status`` on failure (:func:`error_answer`).
OTLP/JSON trace and span ids are hex (not base64 as in plain proto3 JSON): they are converted to
bytes before ``ParseDict``, which would otherwise read 32 hex digits as 24 garbage bytes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format, unknown_fields
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span, Status
from starlette.requests import Request
from starlette.responses import Response

from flowledger.request_guard import ClientError
from ingest.contracts import RecordKind
from ingest.json_values import utf8_text
from ingest.server.formats import (
    DEFAULT_MAX_RECORDS,
    Item,
    check_charset,
    check_record_count,
    decode_json,
    media_type,
)

if TYPE_CHECKING:
    from ingest.server.app import Receiver

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_RESULTS = {
    "success": "success",
    "failure": "failed",
    "error": "failed",
    "timeout": "timed_out",
    "cancellation": "cancelled",
    "skip": "skipped",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The google.rpc.Code sent with each HTTP status the route answers (the HTTP mapping in
#: google/rpc/code.proto; 413 as gRPC answers a message over its size limit). OTLP clients act
#: on the HTTP status only: the code is for their logs.
_RPC_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    503: code_pb2.UNAVAILABLE,
}


def encoded(
    message: Message, request: Request, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``message`` in the request's encoding: OTLP/HTTP answers with the request's Content-Type.

    The encoding is read from the Content-Type header, which is known before anything else, so
    every answer uses it, failures found before the body is read (401, 429) included: protobuf for
    ``application/x-protobuf``, JSON otherwise (``application/json``, and an unknown type, which
    no OTLP client sends and which is answered 415).
    """
    if media_type(request.headers.get("content-type")) == PROTOBUF:
        return Response(
            message.SerializeToString(), status_code=status, media_type=PROTOBUF, headers=headers
        )
    return Response(
        json_format.MessageToJson(message, indent=None),
        status_code=status,
        media_type=JSON,
        headers=headers,
    )


def error_answer(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """A failed export (4xx, 5xx): a ``google.rpc.Status`` in the request's encoding."""
    answer = status_pb2.Status(code=_RPC_CODES.get(status, code_pb2.UNKNOWN), message=message)
    return encoded(answer, request, status, headers)


def decode_request(content_type: str, body: bytes) -> ExportTraceServiceRequest:
    """The request message; 400 for a body that is no trace export, 415 for another type."""
    media = media_type(content_type)
    if media == PROTOBUF:
        try:
            message = ExportTraceServiceRequest.FromString(body)
            _read_legacy_scope_spans(message)
        except DecodeError as error:
            raise ClientError(
                400, f"the body is not an OTLP protobuf trace export: {error}"
            ) from None
        return message
    if media == JSON:
        check_charset(content_type)
        document = decode_json(body)
        if not isinstance(document, dict):
            raise ClientError(400, "an OTLP/JSON trace export is a JSON object (resourceSpans)")
        _hex_ids_to_base64(document)
        message = ExportTraceServiceRequest()
        try:
            json_format.ParseDict(document, message, ignore_unknown_fields=True)
        except json_format.ParseError as error:
            raise ClientError(400, f"not an OTLP/JSON trace export: {error}") from None
        return message
    raise ClientError(
        415,
        f"unsupported content type {media or '(none)'!r} for /v1/traces: use {PROTOBUF} or {JSON}",
    )


#: ResourceSpans field 1000 (reserved now): ``instrumentation_library_spans`` of OTLP 0.15-0.18,
#: whose messages are ScopeSpans on the wire (library name 1, version 2; spans 2; schema url 3).
_LEGACY_SCOPE_SPANS_FIELD = 1000


def _read_legacy_scope_spans(message: ExportTraceServiceRequest) -> None:
    """Spans an exporter of OTLP 0.15-0.18 sent in ``instrumentation_library_spans`` (field
    1000), which the current proto no longer names: read as the ScopeSpans they are on the wire
    (protobuf drops unknown fields without a word: a 200 that stored nothing)."""
    for resource_spans in message.resource_spans:
        for field in unknown_fields.UnknownFieldSet(resource_spans):
            if field.field_number == _LEGACY_SCOPE_SPANS_FIELD and field.wire_type == 2:
                resource_spans.scope_spans.append(ScopeSpans.FromString(field.data))


#: OTLP/JSON keys are lowerCamelCase, but ParseDict (like the collector) also takes the proto's
#: own names; and OTLP before 0.19 named the scope's spans ``instrumentationLibrarySpans``, which
#: ``ignore_unknown_fields`` would drop without a word. Each is read as today's name, before the
#: ids are converted (a ``trace_id`` left alone would be read as base64: a garbage id).
_RESOURCE_SPANS_NAMES = {"resource_spans": "resourceSpans"}
_SCOPE_SPANS_NAMES = {
    "scope_spans": "scopeSpans",
    "instrumentationLibrarySpans": "scopeSpans",
    "instrumentation_library_spans": "scopeSpans",
}
_SCOPE_NAMES = {"instrumentationLibrary": "scope", "instrumentation_library": "scope"}
_ID_NAMES = {"trace_id": "traceId", "span_id": "spanId", "parent_span_id": "parentSpanId"}


def _renamed(members: dict[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """``members`` with each key of ``names`` under its camelCase name (in place); 400 when an
    object gives one field under two names (which would ParseDict keep?)."""
    for old, new in names.items():
        if old in members:
            if new in members:
                raise ClientError(
                    400, f"not an OTLP/JSON trace export: both {old!r} and {new!r} are given"
                )
            members[new] = members.pop(old)
    return members


#: The other signals' exports: sent to /v1/traces, ParseDict would ignore them (unknown
#: fields) and the answer would be a 200 for nothing stored.
_OTHER_SIGNALS = {
    "resourceLogs": "logs (/v1/logs)",
    "resource_logs": "logs (/v1/logs)",
    "resourceMetrics": "metrics (/v1/metrics)",
    "resource_metrics": "metrics (/v1/metrics)",
    "resourceProfiles": "profiles",
}


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    if "resourceSpans" not in document and "resource_spans" not in document:
        for name, signal in _OTHER_SIGNALS.items():
            if name in document:
                raise ClientError(
                    400,
                    f"this is an OTLP {signal} export ({name!r}), not traces: flowledger reads "
                    "traces (resourceSpans) at /v1/traces; nothing stored",
                )
    _renamed(document, _RESOURCE_SPANS_NAMES)
    for resource_spans in _list(document.get("resourceSpans")):
        resource_spans = _renamed(_dict(resource_spans), _SCOPE_SPANS_NAMES)
        for scope_spans in _list(resource_spans.get("scopeSpans")):
            scope_spans = _renamed(_dict(scope_spans), _SCOPE_NAMES)
            for span in _list(scope_spans.get("spans")):
                span = _renamed(_dict(span), _ID_NAMES)
                for name in ("traceId", "spanId", "parentSpanId"):
                    span[name] = _hex_to_base64(span.get(name), name)
                for link in _list(span.get("links")):
                    link = _renamed(_dict(link), _ID_NAMES)
                    for name in ("traceId", "spanId"):
                        link[name] = _hex_to_base64(link.get(name), f"links[].{name}")


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ClientError(400, "not an OTLP/JSON trace export: expected an array")
    return value


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ClientError(400, "not an OTLP/JSON trace export: expected an object")
    return value


def _hex_to_base64(value: Any, name: str) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise ClientError(400, f"{name} must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ClientError(
            400, f"{name} {value[:40]!r} is not hex (OTLP/JSON ids are hex, not base64)"
        ) from None
    return base64.b64encode(raw).decode()


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: any_value(item.value) for item in value.kvlist_value.values}
    if kind == "bytes_value":
        return bytes_text(value.bytes_value)
    return getattr(value, kind)


def bytes_text(raw: bytes) -> str:
    """An attribute's bytes as the text they hold when they are UTF-8 (then scrubbed like any
    text: a token sent as bytes was stored as hex, out of the scrubber's sight), else as hex
    (OTLP's ids and hashes read so)."""
    text = utf8_text(raw)
    return text if text is not None else raw.hex()


def attributes(items: Any) -> dict[str, Any]:
    return {item.key: any_value(item.value) for item in items if isinstance(item, KeyValue)}


def _time(nanos: int) -> str | None:
    if not nanos:
        return None
    moment = _EPOCH + timedelta(microseconds=nanos // 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _status(span: Span, result: Any) -> tuple[str, str]:
    if isinstance(result, str) and result:
        return _RESULTS.get(result.lower(), "unknown"), result
    code = span.status.code
    raw = _enum_name(Status.StatusCode, code)
    if code == Status.STATUS_CODE_ERROR:
        return "failed", raw
    if code == Status.STATUS_CODE_OK or span.end_time_unix_nano:
        return "success", raw
    return "running", raw


def _enum_name(enum: Any, number: int) -> str:
    """The proto name of an enum value; proto3 enums are open, so a value the proto does not
    name (a newer or broken exporter) reads ``UNKNOWN_<n>`` instead of raising."""
    return enum.Name(number) if number in enum.values() else f"UNKNOWN_{number}"


def _span_kind(span: Span) -> str:
    """``server``, ``internal``, … (``SPAN_KIND_`` removed); ``unknown_<n>`` for other values."""
    return _enum_name(Span.SpanKind, span.kind).lower().removeprefix("span_kind_")


def _exception(span: Span) -> dict[str, Any]:
    for event in span.events:
        if event.name == "exception":
            return attributes(event.attributes)
    return {}


def _first(*values: Any) -> Any:
    for value in values:
        if value not in (None, ""):
            return value
    return None


def _flow_name(span: Span, resource: Mapping[str, Any]) -> Any:
    name = span.name.strip()
    words = name.split(" ", 1)
    from_span = words[1].strip() if len(words) == 2 and words[1].strip() else None
    return _first(resource.get("cicd.pipeline.name"), from_span, resource.get("service.name"), name)


def span_items(
    message: ExportTraceServiceRequest, source: str, max_records: int = DEFAULT_MAX_RECORDS
) -> list[Item]:
    """One item per span, in the order they came."""
    check_record_count(
        sum(len(scope.spans) for rs in message.resource_spans for scope in rs.scope_spans),
        max_records,
    )
    items: list[Item] = []
    spans: list[tuple[Span, dict[str, Any]]] = []
    for resource_spans in message.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append((span, resource))
    # span ids are unique within a trace only: every lookup is by (trace id, span id)
    step_ids: dict[tuple[bytes, bytes], str] = {}
    # a step's attempts are ranked within its run attempt (the key a step run has)
    ranks: dict[tuple[str, str, str, str], list[tuple[int, bytes, bytes]]] = {}
    for span, resource in spans:
        if span.parent_span_id and _id_problem(span) is None:  # an invalid span takes no rank
            attrs = attributes(span.attributes)
            merged = {**resource, **attrs}
            step_id = str(
                _first(attrs.get("cicd.pipeline.task.name"), attrs.get("flow.step_id"), span.name)
            )
            step_ids[(span.trace_id, span.span_id)] = step_id
            run_id = str(_first(resource.get("cicd.pipeline.run.id"), span.trace_id.hex()))
            run_key = (
                str(_first(merged.get("flow.source_system"), source)),
                run_id,
                str(_first(merged.get("flow.run_attempt"), 1)),
                step_id,
            )
            ranks.setdefault(run_key, []).append(
                (span.start_time_unix_nano, span.trace_id, span.span_id)
            )
    attempt_of: dict[tuple[bytes, bytes], int] = {}
    for entries in ranks.values():
        for rank, (_, trace_id, span_id) in enumerate(sorted(entries), start=1):
            attempt_of[(trace_id, span_id)] = rank
    for index, (span, resource) in enumerate(spans):
        attrs = attributes(span.attributes)
        merged = {**resource, **attrs}
        problem = _id_problem(span)
        if problem is not None:
            items.append(Item(index, RecordKind.STEP_RUN, None, _span_raw(span), problem))
            continue
        exception = _exception(span)
        common = {
            "source_system": _first(merged.get("flow.source_system"), source),
            "run_id": _first(resource.get("cicd.pipeline.run.id"), span.trace_id.hex()),
            "run_attempt": _first(merged.get("flow.run_attempt"), 1),
            "started_at": _time(span.start_time_unix_nano),
            "ended_at": _time(span.end_time_unix_nano),
            "error_type": _first(attrs.get("error.type"), exception.get("exception.type")),
            "error_message": _first(span.status.message, exception.get("exception.message")),
        }
        flow_name = _flow_name(span, resource) if not span.parent_span_id else None
        if not span.parent_span_id:
            status, raw_status = _status(span, merged.get("cicd.pipeline.result"))
            record = {
                **common,
                "tenant": merged.get("flow.tenant"),
                "flow_id": _first(merged.get("flow.id"), flow_name),
                "flow_name": flow_name,
                "flow_version": _first(merged.get("flow.version"), resource.get("service.version")),
                "trigger": merged.get("flow.trigger"),
                "status": status,
                "raw_status": raw_status,
                "idempotency_key": merged.get("flow.idempotency_key"),
                "input_digest": merged.get("flow.input_digest"),
                "business_key": merged.get("flow.business_key"),
                "trace_id": span.trace_id.hex(),
                "url": _first(merged.get("cicd.pipeline.run.url.full"), merged.get("url.full")),
            }
            items.append(Item(index, RecordKind.FLOW_RUN, record, _span_raw(span)))
            continue
        status, raw_status = _status(span, attrs.get("cicd.pipeline.task.run.result"))
        record = {
            **common,
            "step_id": step_ids[(span.trace_id, span.span_id)],
            "attempt": _first(
                attrs.get("flow.attempt"), attempt_of.get((span.trace_id, span.span_id)), 1
            ),
            "flow_id": _first(merged.get("flow.id"), resource.get("cicd.pipeline.name")),
            "step_name": _first(attrs.get("cicd.pipeline.task.name"), span.name),
            "step_type": _first(attrs.get("cicd.pipeline.task.type"), _span_kind(span)),
            "parent_step_id": step_ids.get((span.trace_id, span.parent_span_id)),
            "max_attempts": attrs.get("flow.max_attempts"),
            "status": status,
            "raw_status": raw_status,
            "system": _first(attrs.get("messaging.system"), attrs.get("peer.service")),
            "queue_name": attrs.get("messaging.destination.name"),
            "message_id": attrs.get("messaging.message.id"),
            "dead_lettered": attrs.get("flow.dead_lettered"),
            "items_in": attrs.get("flow.items_in"),
            "items_out": attrs.get("flow.items_out"),
        }
        items.append(Item(index, RecordKind.STEP_RUN, record, _span_raw(span)))
    return items


def _id_problem(span: Span) -> str | None:
    """Why a span's ids cannot key a run or a step: absent, not 16 (trace) or 8 (span, parent)
    bytes, or all zeros (OTLP and W3C trace context call those invalid; ``abcd`` or 32 zeros
    as a run id would gather unrelated spans into one run)."""
    if not span.trace_id or not span.span_id:
        return "span without trace or span id"
    problems = [
        f"{name} {value.hex()!r} is {len(value)} bytes, not {size}"
        for name, value, size in (
            ("trace id", span.trace_id, 16),
            ("span id", span.span_id, 8),
            ("parent span id", span.parent_span_id, 8),
        )
        if value and len(value) != size
    ]
    problems += [
        f"{name} is all zeros (an invalid id)"
        for name, value in (("trace id", span.trace_id), ("span id", span.span_id))
        if len(value) in (8, 16) and not any(value)
    ]
    return "; ".join(problems) or None


def _span_raw(span: Span) -> dict[str, Any]:
    """The span as quarantined: OTLP/JSON, hex ids, and attribute lists as ``{name: value}``
    objects, so the scrubber sees attribute names (``db.password``) as key names."""
    raw = json_format.MessageToDict(span)
    for name in ("traceId", "spanId", "parentSpanId"):
        if name in raw:
            raw[name] = base64.b64decode(raw[name]).hex()
    if span.attributes:
        raw["attributes"] = attributes(span.attributes)
    for message, part in ((span.events, "events"), (span.links, "links")):
        for raw_item, item in zip(raw.get(part, []), message, strict=True):
            if item.attributes:
                raw_item["attributes"] = attributes(item.attributes)
    for link in raw.get("links", []):
        for name in ("traceId", "spanId"):
            if name in link:
                link[name] = base64.b64decode(link[name]).hex()
    return raw


async def handle_traces(
    receiver: Receiver, request: Request, body: bytes, source: str, request_id: str
) -> Response:
    def parsed() -> list[Item]:
        message = decode_request(request.headers.get("content-type", ""), body)
        return span_items(message, source, receiver.config.max_records)

    items = await asyncio.to_thread(parsed)  # off the event loop, as the checks are
    prepared = await receiver.ingest(items, request_id, source)
    answer = ExportTraceServiceResponse()
    if prepared.rejected_count:
        answer.partial_success.rejected_spans = prepared.rejected_count
        shown = "; ".join(f"span {r['index']}: {r['reason']}" for r in prepared.rejected[:5])
        more = prepared.rejected_count - 5
        answer.partial_success.error_message = (
            f"{prepared.rejected_count} spans broke the flow-run contract (quarantined, request "
            f"{request_id}): {shown}" + (f"; and {more} more" if more > 0 else "")
        )
    return encoded(answer, request)
