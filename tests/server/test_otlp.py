"""OTLP/HTTP traces into flow runs and steps: the OpenTelemetry SDK's own exporter (protobuf)
and OTLP/JSON written by hand (hex ids), against flowledger serve on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from receiver_harness import TOKEN, Serve, query

pytestmark = pytest.mark.slow

T0 = 1_740_823_200_000_000_000  # 2025-03-01T10:00:00Z in ns


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with Serve(tmp_path_factory.mktemp("otlp") / "home") as running:
        yield running


def test_sdk_exporter_spans_become_a_run_and_its_steps(server: Serve) -> None:
    resource = Resource.create(
        {
            "service.name": "billing-bot",
            "cicd.pipeline.name": "invoice-run",
            "cicd.pipeline.run.id": "otel-run-1",
        }
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(
        endpoint=server.url + "/v1/traces", headers={"authorization": f"Bearer {TOKEN}"}
    )
    # one export request for the whole run: attempts are ranked among the spans of a request
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    tracer = provider.get_tracer("tests")
    ms = 1_000_000
    root = tracer.start_span("run invoice-run", kind=SpanKind.SERVER, start_time=T0)
    root.set_attribute("cicd.pipeline.result", "failure")
    root.set_attribute("flow.trigger", "schedule")
    from opentelemetry import trace

    context = trace.set_span_in_context(root)
    first = tracer.start_span("fetch invoices", context=context, start_time=T0 + 100 * ms)
    first.set_attribute("cicd.pipeline.task.name", "fetch")
    first.set_attribute("error.type", "TimeoutError")
    first.record_exception(ValueError("upstream said api_key=sk_live_abcdefgh12345678 invalid"))
    first.set_status(
        Status(StatusCode.ERROR, "timed out calling https://bot:hunter2@erp.example/api")
    )
    first.end(end_time=T0 + 600 * ms)
    second = tracer.start_span("fetch invoices", context=context, start_time=T0 + 700 * ms)
    second.set_attribute("cicd.pipeline.task.name", "fetch")
    second.end(end_time=T0 + 900 * ms)
    publish = tracer.start_span(
        "publish", context=context, kind=SpanKind.PRODUCER, start_time=T0 + 1000 * ms
    )
    publish.set_attribute("messaging.system", "rabbitmq")
    publish.set_attribute("messaging.destination.name", "invoices")
    publish.set_attribute("messaging.message.id", "m-77")
    publish.end(end_time=T0 + 1100 * ms)
    root.set_status(Status(StatusCode.ERROR))
    root.end(end_time=T0 + 1200 * ms)
    provider.shutdown()

    server.wait_drained()
    runs = query(
        server.data_dir,
        "select source_system, flow_id, flow_name, run_attempt, status, raw_status, trigger, "
        "started_at, ended_at, trace_id from raw.flow_runs where run_id = 'otel-run-1'",
    )
    assert len(runs) == 1
    source, flow_id, flow_name, attempt, status, raw_status, trigger, start, end, trace_id = runs[0]
    assert (source, flow_id, flow_name, attempt, status, raw_status, trigger) == (
        "crm", "invoice-run", "invoice-run", 1, "failed", "failure", "schedule",
    )  # fmt: skip
    assert (start.isoformat(), end.isoformat()) == (
        "2025-03-01T10:00:00",
        "2025-03-01T10:00:01.200000",
    )
    assert len(trace_id) == 32 and trace_id == format(root.get_span_context().trace_id, "032x")
    steps = query(
        server.data_dir,
        "select step_id, attempt, step_name, step_type, status, error_type, error_message, "
        "system, queue_name, message_id from raw.step_runs where run_id = 'otel-run-1' "
        "order by step_id, attempt",
    )
    assert steps == [
        ("fetch", 1, "fetch", "internal", "failed", "TimeoutError",
         "timed out calling https://[REDACTED:url_credentials]@erp.example/api",
         None, None, None),
        ("fetch", 2, "fetch", "internal", "success", None, None, None, None, None),
        ("publish", 1, "publish", "producer", "success", None, None, "rabbitmq", "invoices", "m-77"),
    ]  # fmt: skip


def test_otlp_json_with_hex_ids_and_partial_success(server: Serve) -> None:
    trace_id = "5b8efff798038103d269b633813fc60c"
    root_id = "eee19b7ec3c1b174"
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "n8n"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "n8n"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": "0000000000000001",
                                "parentSpanId": root_id,
                                "name": "node.execute",
                                "kind": 1,
                                "startTimeUnixNano": str(T0 + 5_000_000),
                                "endTimeUnixNano": str(T0 + 9_000_000),
                                "attributes": [
                                    {"key": "flow.items_in", "value": {"intValue": "3"}},
                                    {"key": "flow.dead_lettered", "value": {"boolValue": True}},
                                ],
                                "unknownField": "ignored",
                            },
                            {
                                "traceId": trace_id,
                                "spanId": root_id,
                                "name": "execute order-sync",
                                "kind": 2,
                                "startTimeUnixNano": str(T0),
                                "endTimeUnixNano": str(T0 + 10_000_000),
                                "status": {"code": 2, "message": "node failed"},
                            },
                            {
                                "traceId": trace_id,
                                "spanId": "0000000000000002",
                                "parentSpanId": root_id,
                                "name": "no start time",
                            },
                        ],
                    }
                ],
            }
        ]
    }
    response = server.post("/v1/traces", body, "application/json")
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "started_at: missing (required)" in partial["errorMessage"]
    server.wait_drained()
    runs = query(
        server.data_dir,
        "select flow_name, status, raw_status, error_message from raw.flow_runs where run_id = ?",
        [trace_id],
    )
    assert runs == [("order-sync", "failed", "STATUS_CODE_ERROR", "node failed")]
    steps = query(
        server.data_dir,
        "select step_id, items_in, dead_lettered, parent_step_id from raw.step_runs where run_id = ?",
        [trace_id],
    )
    assert steps == [("node.execute", 3, True, None)]


def test_otlp_bad_input(server: Serve) -> None:
    bad_hex = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "01"}]}]}]}
    response = server.post("/v1/traces", bad_hex, "application/json")
    assert response.status_code == 400 and "not hex" in response.json()["message"]
    assert (
        server.post("/v1/traces", b"\xff\xfe garbage", "application/x-protobuf").status_code == 400
    )
    assert server.post("/v1/traces", "{}", "text/plain").status_code == 415
    empty = server.post("/v1/traces", json.dumps({}), "application/json")
    assert empty.status_code == 200
