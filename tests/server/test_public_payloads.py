"""Public payloads this project did not write, against a real ``flowledger serve``: the
CloudEvents conformance suite and the JSON-format spec's examples, the CloudEvents Python SDK's
test event, OTLP/JSON examples of opentelemetry-proto and the collector. Sources:
``public_payloads/SOURCES.md``.

Every payload gets a clear 2xx or 4xx; what is accepted is read back from the warehouse; what is
rejected is listed with its index and reason and lands in quarantine under the request's id.
flowledger asks more of a business event than CloudEvents does (a ``time``, and a JSON object
in ``data``): the conformance suite's events are also sent *completed* with those, so the
verdict is CloudEvents' own.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span
from receiver_harness import TOKEN, Serve, query

pytestmark = pytest.mark.slow

PAYLOADS = Path(__file__).parent / "public_payloads"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


def _load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


VALID_EVENTS = _load("cloudevents-conformance-valid-events.json")["tests"]
INVALID_EVENTS = _load("cloudevents-conformance-invalid-events.json")["tests"]
VALID_BATCHES = _load("cloudevents-conformance-valid-batches.json")["tests"]
INVALID_BATCHES = _load("cloudevents-conformance-invalid-batches.json")["tests"]
SPEC = _load("cloudevents-spec-json-format-examples.json")
#: data a business event cannot hold (text, not a JSON object): rejected with that reason
TEXT_DATA = {"validSimpleTextData"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with Serve(tmp_path_factory.mktemp("public") / "home") as running:
        yield running


def completed(test: dict[str, Any]) -> dict[str, Any]:
    """The conformance event with what flowledger requires on top (a time, JSON object data)
    and an id of its own (the suite reuses ids across cases)."""
    event = copy.deepcopy(test["event"])
    if isinstance(event.get("id"), str) and event["id"]:
        event["id"] = f"{event['id']}-{test['id']}"
    if event.get("time") is None:
        event["time"] = "2018-04-05T17:31:00Z"
    if "data" not in event and "data_base64" not in event:
        event["data"] = {"case": test["id"]}
    return event


def quarantined(server: Serve, request_id: str) -> list[tuple[int, str]]:
    server.wait_drained()
    return query(
        server.data_dir,
        "select row_number, reason from raw.quarantine where batch_id = ? order by row_number",
        [request_id],
    )


#: Every rejection answered, by request id: (index, reason) pairs, checked against quarantine
#: once at the end (:func:`test_every_rejection_listed_is_in_quarantine`), not one drain wait
#: per case.
LISTED: dict[str, list[tuple[int, str]]] = {}


def assert_rejected(response: Any, indices: list[int]) -> dict[str, Any]:
    """The answer lists exactly ``indices``, each with a reason."""
    answer = response.json()
    assert [item["index"] for item in answer["rejected"]] == indices, answer
    assert all(item["reason"] for item in answer["rejected"]), answer
    LISTED[answer["request_id"]] = [(item["index"], item["reason"]) for item in answer["rejected"]]
    return answer


def assert_the_one_event_rejected(response: Any, reason: str) -> None:
    """A 422 listing event 0, with a reason that starts with ``reason``."""
    assert response.status_code == 422
    answer = assert_rejected(response, [0])
    assert answer["rejected"][0]["reason"].startswith(reason)


@pytest.mark.parametrize("test", VALID_EVENTS, ids=[t["id"] for t in VALID_EVENTS])
def test_conformance_valid_events_as_published(server: Serve, test: dict[str, Any]) -> None:
    # none has both a time and a JSON object in data: each is refused with that reason
    response = server.post("/v1/events", test["event"], STRUCTURED)
    assert response.status_code == 422
    answer = assert_rejected(response, [0])
    assert (
        "time: missing" in answer["rejected"][0]["reason"]
        or "data:" in (answer["rejected"][0]["reason"])
    )


@pytest.mark.parametrize("test", VALID_EVENTS, ids=[t["id"] for t in VALID_EVENTS])
def test_conformance_valid_events_completed_are_stored(server: Serve, test: dict[str, Any]) -> None:
    event = completed(test)
    response = server.post("/v1/events", event, STRUCTURED)
    if test["id"] in TEXT_DATA:
        assert response.status_code == 422
        answer = assert_rejected(response, [0])
        assert "is not a JSON object" in answer["rejected"][0]["reason"]
        return
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1, response.text
    server.wait_drained()
    rows = query(
        server.data_dir,
        "select data, subject, dataschema from raw.business_events where source = ? and id = ?",
        [event["source"], event["id"]],
    )
    assert len(rows) == 1
    assert json.loads(rows[0][0]) == event["data"]
    assert rows[0][1:] == (event.get("subject"), event.get("dataschema"))


@pytest.mark.parametrize("test", INVALID_EVENTS, ids=[t["id"] for t in INVALID_EVENTS])
@pytest.mark.parametrize("form", ["as published", "completed"])
def test_conformance_invalid_events_are_rejected(
    server: Serve, test: dict[str, Any], form: str
) -> None:
    event = test["event"] if form == "as published" else completed(test)
    response = server.post("/v1/events", event, STRUCTURED)
    assert response.status_code == 422, response.text
    assert_rejected(response, [0])


def test_the_format_reasons_name_what_is_wrong(server: Serve) -> None:
    by_id = {test["id"]: completed(test) for test in INVALID_EVENTS}
    expected = {
        "invalidTimeOffsetHourOnly": "time '2018-04-05T18:31:00+05' has no UTC offset",
        "invalidNonRfc2046DataContentType": "datacontenttype 'xyz' is not a media type",
        "invalidEmptyDataContentType": "datacontenttype is empty",
        "invalidEmptyDataSchema": "dataschema is empty",
        "invalidEmptySubject": "subject is empty",
        "invalidCapitalizedExtension": "'MyExtension' is not a CloudEvents attribute name",
        "invalidPunctuatedExtension": "'my.extension' is not a CloudEvents attribute name",
    }
    batch = [by_id[name] for name in expected]
    extension_types = {**by_id["invalidEmptySubject"], "subject": "s", "extnumber": 1.5}
    not_absolute = {**by_id["invalidEmptySubject"], "subject": "s", "dataschema": "/schema"}
    batch += [extension_types, not_absolute]
    answer = server.post("/v1/events", batch, BATCH).json()
    reasons = [item["reason"] for item in answer["rejected"]]
    assert len(reasons) == len(batch), answer
    for reason, wanted in zip(reasons, expected.values(), strict=False):
        assert reason.startswith(wanted), reason
    assert reasons[-2].startswith("extnumber is a JSON number: an extension attribute is")
    assert reasons[-1] == "dataschema '/schema' is not an absolute URI"


@pytest.mark.parametrize("test", VALID_BATCHES, ids=[t["id"] for t in VALID_BATCHES])
def test_conformance_valid_batches(server: Serve, test: dict[str, Any]) -> None:
    batch = test["batch"]
    response = server.post("/v1/events", batch, BATCH)
    # flowledger's own requirements refuse every event as published (no time, no data)
    assert response.status_code == (200 if not batch else 422), response.text
    assert_rejected(response, list(range(len(batch))))
    completed_batch = [
        completed({"id": f"{test['id']}-{index}", "event": event})
        for index, event in enumerate(batch)
    ]
    answer = server.post("/v1/events", completed_batch, BATCH).json()
    assert answer["accepted"] == len(batch) and answer["rejected"] == [], answer


def test_a_batch_of_the_same_event_twice_stores_it_once(server: Serve) -> None:
    twice = [completed({"id": "minimal2", "event": e}) for e in VALID_BATCHES[2]["batch"]]
    answer = server.post("/v1/events", twice, BATCH).json()
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (1, 1, []), answer


@pytest.mark.parametrize("test", INVALID_BATCHES, ids=[t["id"] for t in INVALID_BATCHES])
def test_conformance_invalid_batches_list_each_bad_event(
    server: Serve, test: dict[str, Any]
) -> None:
    batch = [
        completed({"id": f"{test['id']}-{i}", "event": e}) if isinstance(e, dict) else e
        for i, e in enumerate(test["batch"])
    ]
    response = server.post("/v1/events", batch, BATCH)
    bad = {
        "invalidBatchMixedSpecVersions": [1],
        "invalidBatchContainingInvalidCloudEvent": [0],
        "invalidBatchContainingNonObject": [0],
    }[test["id"]]
    assert response.status_code == (200 if len(bad) < len(batch) else 422), response.text
    answer = assert_rejected(response, bad)
    assert answer["accepted"] == len(batch) - len(bad)


SPEC_STRUCTURED = {
    "binary-valued data": "data_base64 is not accepted",
    "xml string data": "data: '<much wow=\"xml\"/>' is not a JSON object",
    "json object data": None,
    "json string data": "data: 'I'm just a string' is not a JSON object",
}


@pytest.mark.parametrize(("name", "reason"), SPEC_STRUCTURED.items())
def test_spec_structured_examples(server: Serve, name: str, reason: str | None) -> None:
    event = dict(SPEC["structured"][name], source="/spec/structured")
    response = server.post("/v1/events", event, STRUCTURED)
    if reason is not None:
        assert_the_one_event_rejected(response, reason)
        return
    assert response.json()["accepted"] == 1, response.text
    server.wait_drained()
    rows = query(
        server.data_dir,
        "select type, time, datacontenttype, data from raw.business_events "
        "where source = '/spec/structured' and id = ?",
        [event["id"]],
    )
    assert [(r[0], r[1].isoformat(), r[2], json.loads(r[3])) for r in rows] == [
        (
            "com.example.someevent",
            "2018-04-05T17:31:00",
            "application/json",
            {"appinfoA": "abc", "appinfoB": 123, "appinfoC": True},
        )
    ]


SPEC_BINARY = {
    "xml string data": "data has content type 'application/xml'",
    "json object data": None,
    "json string data": "data: 'I'm just a string' is not a JSON object",
}


@pytest.mark.parametrize(("name", "reason"), SPEC_BINARY.items())
def test_spec_binary_mode_examples(server: Serve, name: str, reason: str | None) -> None:
    example = SPEC["binary"][name]
    headers = {**example["headers"], "ce-source": "/spec/binary"}
    content_type = headers.pop("content-type")
    response = server.post("/v1/events", example["body"], content_type, headers=headers)
    if reason is not None:
        assert_the_one_event_rejected(response, reason)
        return
    assert response.json()["accepted"] == 1, response.text
    # the same event in structured mode is the same event: a duplicate, not a collision
    same = dict(SPEC["structured"][name], source="/spec/binary")
    again = server.post("/v1/events", same, STRUCTURED).json()
    assert (again["accepted"], again["duplicates"], again["collisions"]) == (0, 1, 0), again


def test_spec_batch_example_keeps_the_json_event_and_lists_the_binary_one(server: Serve) -> None:
    response = server.post("/v1/events", SPEC["batch"], BATCH)
    assert response.status_code == 200
    answer = assert_rejected(response, [0])
    assert answer["accepted"] == 1
    server.wait_drained()
    rows = query(
        server.data_dir,
        "select type, data from raw.business_events where source = '/mycontext/9'",
    )
    assert rows == [
        ("com.example.someotherevent", '{"appinfoA":"abc","appinfoB":123,"appinfoC":true}')
    ]


SDK_PYTHON_HEADERS = {  # cloudevents/sdk-python: tests/test_v1_compat/data.py
    "ce-specversion": "1.0",
    "ce-type": "word.found.exclamation",
    "ce-id": "16fb5f0b-211e-1102-3dfe-ea6e2806f124",
    "ce-time": "2018-10-23T12:28:23.3464579Z",
    "ce-source": "pytest",
}


def test_sdk_python_test_event_with_seven_fraction_digits(server: Serve) -> None:
    body = '{"name":"john"}'
    answer = server.post("/v1/events", body, "application/json", headers=SDK_PYTHON_HEADERS)
    assert answer.json()["accepted"] == 1, answer.text
    structured = {name.removeprefix("ce-"): value for name, value in SDK_PYTHON_HEADERS.items()} | {
        "datacontenttype": "application/json",
        "data": {"name": "john"},
    }
    again = server.post("/v1/events", structured, STRUCTURED).json()
    assert again["duplicates"] == 1, again
    server.wait_drained()
    rows = query(
        server.data_dir, "select time, data from raw.business_events where source = 'pytest'"
    )
    assert [(r[0].isoformat(), r[1]) for r in rows] == [
        ("2018-10-23T12:28:23.346457", '{"name":"john"}')
    ]


def binding_scenarios() -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """The HTTP requests of the conformance suite's HTTP binding feature, one per example
    row: ``(name, request text, attributes expected, data expected)``."""
    feature = (PAYLOADS / "cloudevents-conformance-http-protocol-binding.feature").read_text()
    cases = []
    for outline in feature.split("Scenario Outline: ")[1:]:
        title = outline.splitlines()[0]
        blocks = outline.split('"""')
        request, data = textwrap.dedent(blocks[1]).strip(), json.loads(blocks[3])
        table = outline.split("Then the attributes are:")[1].split("And the data")[0]
        rows = [line.strip().strip("|").split("|") for line in table.strip().splitlines()[1:]]
        attributes = {key.strip(): value.strip() for key, value in rows}
        examples = outline.split("Examples:")[1].strip().splitlines()[1:]
        for example in examples:
            content_type = example.strip().strip("|").strip()
            name = title.replace("<contentType>", content_type)
            expected = {k: v.replace("<contentType>", content_type) for k, v in attributes.items()}
            cases.append((name, request.replace("<contentType>", content_type), expected, data))
    return cases


BINDING_SCENARIOS = binding_scenarios()


@pytest.mark.parametrize(
    ("name", "request_text", "attributes", "data"),
    BINDING_SCENARIOS,
    ids=[case[0] for case in BINDING_SCENARIOS],
)
def test_conformance_http_binding_scenarios(
    server: Serve, name: str, request_text: str, attributes: dict[str, str], data: Any
) -> None:
    head, _, body = request_text.partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    for unsent in ("Host", "Content-Length"):  # requests sets them
        headers.pop(unsent)
    # each case a source of its own: the four requests are one event (id 1234-1234-1234)
    source = f"/mycontext/subcontext/{len(name)}-{name.count(';')}-{name[:6]}"
    body = body.replace("/mycontext/subcontext", source)
    if "ce-source" in headers:
        headers["ce-source"] = source
    response = server.post(
        "/v1/events", body, headers.pop("Content-Type"), headers=headers, token=TOKEN
    )
    assert response.json()["accepted"] == 1, response.text
    server.wait_drained()
    rows = query(
        server.data_dir,
        "select id, specversion, type, time, datacontenttype, data from raw.business_events "
        "where source = ?",
        [source],
    )
    assert [(r[0], r[1], r[2], r[3].isoformat() + "Z", r[4], json.loads(r[5])) for r in rows] == [
        (
            attributes["id"],
            attributes["specversion"],
            attributes["type"],
            attributes["time"],
            attributes["datacontenttype"],
            data,
        )
    ]


#: cloudevents/spec: cloudevents/bindings/http-protocol-binding.md, 3.1.4 (the binary-mode
#: example; its body is elided there) and 3.1.3.2 (header encoding: its Euro example, its
#: overlong-encoding counterexample)
BINDING_HEADERS = {
    "ce-specversion": "1.0",
    "ce-type": "com.example.someevent",
    "ce-time": "2018-04-05T03:56:24Z",
    "ce-id": "1234-1234-1234",
    "ce-source": "/mycontext/subcontext",
}


@pytest.mark.parametrize(
    ("header", "stored"),
    [
        ("Euro%20%E2%82%AC%20%F0%9F%98%80", "Euro € 😀"),
        ('"quoted \\"string\\" of older senders"', 'quoted "string" of older senders'),
        ("100%2525", "100%25"),  # one round of decoding, not two
        ("%c3%a9t%C3%A9", "été"),  # lower-case hex is accepted
    ],
)
def test_binding_header_values_are_decoded_once(server: Serve, header: str, stored: str) -> None:
    headers = {**BINDING_HEADERS, "ce-id": f"binding-{header}"[:60], "ce-subject": header}
    response = server.post(
        "/v1/events", '{"a": 1}', "application/json; charset=utf-8", headers=headers
    )
    assert response.json()["accepted"] == 1, response.text
    server.wait_drained()
    rows = query(
        server.data_dir,
        "select id, subject from raw.business_events where source = '/mycontext/subcontext' "
        "and subject = ?",
        [stored],
    )
    assert len(rows) == 1, rows


def test_a_quoted_ce_id_is_the_id_inside_the_quotes(server: Serve) -> None:
    # it was stored with its quotes: "1234-1234-1234" and 1234-1234-1234 were two events
    plain = server.post("/v1/events", '{"a": 1}', "application/json", headers=BINDING_HEADERS)
    assert plain.json()["accepted"] == 1, plain.text
    quoted = {**BINDING_HEADERS, "ce-id": '"1234-1234-1234"'}
    again = server.post("/v1/events", '{"a": 1}', "application/json", headers=quoted).json()
    assert (again["accepted"], again["duplicates"]) == (0, 1), again


def test_a_header_percent_encoding_no_utf_8_is_rejected(server: Serve) -> None:
    headers = {**BINDING_HEADERS, "ce-id": "binding-overlong", "ce-subject": "%C0%A0"}
    response = server.post("/v1/events", '{"a": 1}', "application/json", headers=headers)
    assert response.status_code == 422
    answer = assert_rejected(response, [0])
    assert answer["rejected"][0]["reason"].startswith(
        "ce-subject: bytes that are not UTF-8, sent raw or percent-encoded"
    )


def test_raw_utf_8_in_a_header_is_read_as_utf_8_and_raw_bytes_that_are_none_rejected(
    server: Serve,
) -> None:
    """Bytes sent raw instead of percent-encoded were read as latin-1: `é` stored as `Ã©`,
    while the same bytes percent-encoded were read right (or refused)."""
    import http.client

    def post(event_id: bytes, subject: bytes) -> dict:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        headers = {**BINDING_HEADERS, "authorization": f"Bearer {TOKEN}"}
        del headers["ce-id"]
        connection.putrequest("POST", "/v1/events")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("ce-id", event_id)  # bytes are sent as they are
        connection.putheader("ce-subject", subject)
        connection.putheader("content-type", "application/json")
        connection.putheader("content-length", "8")
        connection.endheaders(b'{"a": 1}')
        answer = json.loads(connection.getresponse().read())
        connection.close()
        return answer

    accepted = post(b"binding-raw-utf8", "café".encode())
    assert accepted["accepted"] == 1, accepted
    server.wait_drained()
    assert query(
        server.data_dir, "select subject from raw.business_events where id = 'binding-raw-utf8'"
    ) == [("café",)]
    refused = post(b"binding-raw-latin1", "café".encode("latin-1"))
    assert refused["rejected"][0]["reason"].startswith(
        "ce-subject: bytes that are not UTF-8, sent raw or percent-encoded"
    )


# -- OTLP/JSON ----------------------------------------------------------------------------------

TRACE_EXAMPLE = _load("otlp-proto-examples-trace.json")
TRACE_ID = "5b8efff798038103d269b633813fc60c"


def steps_of(server: Serve, run_id: str) -> list[tuple[Any, ...]]:
    server.wait_drained()
    return query(
        server.data_dir,
        "select step_id, step_type, status, started_at, ended_at from raw.step_runs "
        "where run_id = ? order by step_id",
        [run_id],
    )


def test_otlp_proto_example_trace(server: Serve) -> None:
    # upper-case hex ids, nanoseconds as JSON numbers, a span whose parent is not sent
    response = server.post("/v1/traces", (PAYLOADS / "otlp-proto-examples-trace.json").read_bytes())
    assert (response.status_code, response.json()) == (200, {})
    rows = steps_of(server, TRACE_ID)
    assert [(r[0], r[1], r[2], r[3].isoformat(), r[4].isoformat()) for r in rows] == [
        ("I'm a server span", "server", "success", "2018-12-13T14:51:00", "2018-12-13T14:51:01")
    ]


def test_otlp_logs_example_sent_to_traces_is_refused_not_dropped(server: Serve) -> None:
    # ParseDict ignored resourceLogs as an unknown field: a 200 that stored nothing
    response = server.post("/v1/traces", (PAYLOADS / "otlp-proto-examples-logs.json").read_bytes())
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "this is an OTLP logs (/v1/logs) export ('resourceLogs'), not traces"
    )


def test_otlp_collector_json_with_empty_ids_is_listed_and_quarantined(server: Serve) -> None:
    body = (PAYLOADS / "otlp-collector-pdata-traces-json-test.json").read_bytes()
    response = server.post("/v1/traces", body)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "span 0: span without trace or span id" in partial["errorMessage"]
    request_id = partial["errorMessage"].split("request ")[1].split(")")[0]
    assert quarantined(server, request_id) == [(0, "span without trace or span id")]


def test_otlp_spans_with_invalid_ids_are_listed_and_quarantined(server: Serve) -> None:
    # a 2-byte trace id was stored as run "abcd"; all-zero ids gathered unrelated spans in one run
    spans = [
        {"traceId": "abcd", "spanId": "eee19b7ec3c1b178"},
        {"traceId": "0" * 32, "spanId": "0" * 16},
        {"traceId": "5b8efff798038103", "spanId": "eee19b7ec3c1b178", "parentSpanId": "ab"},
        {"traceId": "9b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b178"},
    ]
    for span in spans:
        span.update(name="run x", startTimeUnixNano="1544712660000000000")
    document = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    response = server.post("/v1/traces", document)
    assert response.status_code == 200
    message = response.json()["partialSuccess"]["errorMessage"]
    assert response.json()["partialSuccess"]["rejectedSpans"] == "3", message
    request_id = message.split("request ")[1].split(")")[0]
    assert quarantined(server, request_id) == [
        (0, "trace id 'abcd' is 2 bytes, not 16"),
        (1, "trace id is all zeros (an invalid id); span id is all zeros (an invalid id)"),
        (
            2,
            "trace id '5b8efff798038103' is 8 bytes, not 16; parent span id 'ab' is 1 bytes, not 8",
        ),
    ]
    assert query(
        server.data_dir,
        "select run_id from raw.flow_runs where run_id in ('abcd', ?, ?)",
        ["0" * 32, "9b8efff798038103d269b633813fc60c"],
    ) == [("9b8efff798038103d269b633813fc60c",)]


def _snake_case(value: Any) -> Any:
    """The proto's own field names (``trace_id``, ``scope_spans``), which ParseDict and the
    collector also read."""
    if isinstance(value, list):
        return [_snake_case(item) for item in value]
    if not isinstance(value, dict):
        return value
    renamed = {}
    for name, item in value.items():
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
        renamed[snake] = _snake_case(item)
    return renamed


def _with_span(document: dict[str, Any], span_id: str, trace_id: str) -> dict[str, Any]:
    document = copy.deepcopy(document)
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span.update(traceId=trace_id, spanId=span_id, parentSpanId="EEE19B7EC3C1B173")
    return document


def test_otlp_json_with_the_protos_field_names_keeps_hex_ids(server: Serve) -> None:
    # before: trace_id was read as base64, 32 hex digits became a 24-byte garbage id
    trace_id = "6B8EFFF798038103D269B633813FC60C"
    document = _snake_case(_with_span(TRACE_EXAMPLE, "EEE19B7EC3C1B175", trace_id))
    assert "trace_id" in json.dumps(document)
    response = server.post("/v1/traces", document)
    assert (response.status_code, response.json()) == (200, {})
    rows = steps_of(server, trace_id.lower())
    assert [r[:3] for r in rows] == [("I'm a server span", "server", "success")]


def test_otlp_json_giving_an_id_under_both_names_is_refused(server: Serve) -> None:
    document = _with_span(TRACE_EXAMPLE, "EEE19B7EC3C1B179", TRACE_ID)
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["span_id"] = "EEE19B7EC3C1B17A"
    response = server.post("/v1/traces", document)
    assert response.status_code == 400
    assert "both 'span_id' and 'spanId'" in response.json()["message"]


def test_otlp_json_of_before_0_19_is_read_not_dropped(server: Serve) -> None:
    # instrumentationLibrarySpans (OTLP < 0.19): ParseDict ignored it, 200 and nothing stored
    trace_id = "7B8EFFF798038103D269B633813FC60C"
    document = _with_span(TRACE_EXAMPLE, "EEE19B7EC3C1B176", trace_id)
    resource_spans = document["resourceSpans"][0]
    scope_spans = resource_spans.pop("scopeSpans")[0]
    scope_spans["instrumentationLibrary"] = scope_spans.pop("scope")
    resource_spans["instrumentationLibrarySpans"] = [scope_spans]
    response = server.post("/v1/traces", document)
    assert (response.status_code, response.json()) == (200, {})
    assert [r[0] for r in steps_of(server, trace_id.lower())] == ["I'm a server span"]


_LEGACY_FIELD = 1000  # ResourceSpans.instrumentation_library_spans in OTLP 0.15-0.18


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    key, length = (number << 3) | 2, len(payload)
    encoded = b""
    for value in (key, length):
        while value > 0x7F:
            encoded += bytes([value & 0x7F | 0x80])
            value >>= 7
        encoded += bytes([value])
    return encoded + payload


def test_otlp_protobuf_of_0_15_to_0_18_is_read_not_dropped(server: Serve) -> None:
    # ResourceSpans field 1000 (instrumentation_library_spans, reserved today) was dropped as
    # an unknown field: 200 and nothing stored
    trace_id = bytes.fromhex("8b8efff798038103d269b633813fc60c")
    span = Span(
        trace_id=trace_id,
        span_id=bytes.fromhex("eee19b7ec3c1b177"),
        parent_span_id=bytes.fromhex("eee19b7ec3c1b173"),
        name="legacy step",
        start_time_unix_nano=1_544_712_660_000_000_000,
        end_time_unix_nano=1_544_712_661_000_000_000,
    )
    legacy = ScopeSpans(spans=[span]).SerializeToString()
    body = _field(1, _field(_LEGACY_FIELD, legacy))
    assert len(ExportTraceServiceRequest.FromString(body).resource_spans[0].scope_spans) == 0
    response = server.post("/v1/traces", body, "application/x-protobuf")
    assert response.status_code == 200
    assert [r[0] for r in steps_of(server, trace_id.hex())] == ["legacy step"]


def test_every_rejection_listed_is_in_quarantine(server: Serve) -> None:
    assert len(LISTED) > 50
    server.wait_drained()
    rows = query(
        server.data_dir,
        "select batch_id, row_number, reason from raw.quarantine order by batch_id, row_number",
    )
    stored: dict[str, list[tuple[int, str]]] = {}
    for batch_id, row, reason in rows:
        stored.setdefault(batch_id, []).append((row, reason))
    assert {request: stored.get(request, []) for request in LISTED} == LISTED


def test_the_server_answered_no_500(server: Serve) -> None:
    errors = {
        name: value
        for name, value in server.metrics().items()
        if name.startswith("flowledger_receiver_requests_total") and 'status="5' in name
    }
    assert errors == {}
