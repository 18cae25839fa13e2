"""The span → run/step mapping of ingest/server/otlp.py, without a server."""

from __future__ import annotations

import json

import pytest
from google.rpc import code_pb2, status_pb2
from starlette.requests import Request

from ingest.server.otlp import decode_request, error_answer, span_items

T0 = 1_740_823_200_000_000_000


def request(*spans: dict) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}).encode()


def span(trace: str, span_id: str, name: str, parent: str = "00f067aa0ba902b7", **extra) -> dict:
    return {
        "traceId": trace,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "startTimeUnixNano": str(T0),
        **extra,
    }


def items(*spans: dict):
    message = decode_request("application/json", request(*spans))
    return span_items(message, "otel")


def test_two_traces_sharing_a_span_id_keep_their_own_step_ids() -> None:
    # span ids are unique within a trace only
    alpha, beta = items(
        span("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "alpha"),
        span("1af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "beta"),
    )
    assert (alpha.record["step_id"], alpha.record["step_name"]) == ("alpha", "alpha")
    assert (beta.record["step_id"], beta.record["step_name"]) == ("beta", "beta")
    assert alpha.record["attempt"] == beta.record["attempt"] == 1


def test_a_step_counts_its_attempts_within_its_run_attempt() -> None:
    # two run attempts in one request, each running step build once: each is attempt 1 (the
    # second was attempt 2, as if build had been retried within one run attempt)
    trace = "0af7651916cd43dd8448eb211c80319c"
    run = {"key": "cicd.pipeline.run.id", "value": {"stringValue": "gh-777"}}

    def run_attempt(number: int, span_id: str) -> dict:
        attempt = {"key": "flow.run_attempt", "value": {"intValue": str(number)}}
        return {
            "resource": {"attributes": [run, attempt]},
            "scopeSpans": [{"spans": [span(trace, span_id, "build")]}],
        }

    body = json.dumps(
        {"resourceSpans": [run_attempt(1, "1111111111111111"), run_attempt(2, "2222222222222222")]}
    ).encode()
    found = span_items(decode_request("application/json", body), "otel")
    assert [(i.record["run_attempt"], i.record["attempt"]) for i in found] == [(1, 1), (2, 1)]


def test_parent_step_is_looked_up_in_the_same_trace() -> None:
    trace, other = "0af7651916cd43dd8448eb211c80319c", "1af7651916cd43dd8448eb211c80319c"
    found = items(
        span(trace, "1111111111111111", "outer"),
        span(other, "1111111111111111", "elsewhere"),
        span(trace, "2222222222222222", "inner", parent="1111111111111111"),
    )
    assert found[2].record["parent_step_id"] == "outer"


def test_enum_values_the_proto_does_not_name_are_read_not_raised() -> None:
    step, run = items(
        span("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "s", kind=99),
        {
            "traceId": "0af7651916cd43dd8448eb211c80319d",
            "spanId": "b7ad6b7169203332",
            "name": "run x",
            "status": {"code": 7},
            "startTimeUnixNano": str(T0),
        },
    )
    assert step.record["step_type"] == "unknown_99"
    assert (run.record["status"], run.record["raw_status"]) == ("running", "UNKNOWN_7")


def test_quarantined_spans_carry_attributes_as_objects() -> None:
    (bad,) = items(
        {
            "name": "no ids",
            "attributes": [
                {"key": "db.password", "value": {"stringValue": "OtlpLEAK13"}},
                {"key": "flow.items_in", "value": {"intValue": "3"}},
            ],
            "events": [
                {"name": "e", "attributes": [{"key": "token", "value": {"stringValue": "t"}}]}
            ],
        }
    )
    assert bad.problem == "span without trace or span id"
    assert bad.raw["attributes"] == {"db.password": "OtlpLEAK13", "flow.items_in": 3}
    assert bad.raw["events"][0]["attributes"] == {"token": "t"}


def posted(content_type: str) -> Request:
    headers = [(b"content-type", content_type.encode())]
    return Request({"type": "http", "method": "POST", "path": "/v1/traces", "headers": headers})


@pytest.mark.parametrize(
    ("status", "code"), [(503, code_pb2.UNAVAILABLE), (500, code_pb2.INTERNAL)]
)
def test_server_failures_are_a_status_in_the_request_encoding(status: int, code: int) -> None:
    # the spool refusing a write (503) and a bug (500) cannot be provoked over loopback
    retry = {"Retry-After": "2"}
    binary = error_answer(posted("application/x-protobuf"), status, "nothing stored", retry)
    assert (binary.status_code, binary.headers["content-type"]) == (
        status,
        "application/x-protobuf",
    )
    assert binary.headers["retry-after"] == "2"
    assert status_pb2.Status.FromString(binary.body) == status_pb2.Status(
        code=code, message="nothing stored"
    )
    text = error_answer(posted("application/json; charset=utf-8"), status, "nothing stored")
    assert text.headers["content-type"] == "application/json"
    assert json.loads(text.body) == {"code": code, "message": "nothing stored"}
