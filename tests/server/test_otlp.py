"""OTLP/HTTP traces into flow runs and steps: the OpenTelemetry SDK's own exporter (protobuf)
and OTLP/JSON written by hand (hex ids), against flowledger serve on loopback."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from google.rpc import code_pb2, status_pb2
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode
from receiver_harness import TOKEN, Serve, query

pytestmark = pytest.mark.slow

T0 = 1_740_823_200_000_000_000  # 2025-03-01T10:00:00Z in ns
PROTOBUF = "application/x-protobuf"
WRONG_TOKEN = "not-a-token-0123456789"


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


def rpc_status(response: requests.Response) -> status_pb2.Status:
    """The google.rpc.Status of an OTLP/HTTP failure sent to a protobuf client."""
    assert response.headers["content-type"] == PROTOBUF, response.text
    return status_pb2.Status.FromString(response.content)


def test_protobuf_clients_get_protobuf_errors(server: Serve) -> None:
    garbage = server.post("/v1/traces", b"\xff\xfe garbage", PROTOBUF)
    assert garbage.status_code == 400
    status = rpc_status(garbage)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert status.message.startswith("the body is not an OTLP protobuf trace export")

    refused = server.post("/v1/traces", b"", PROTOBUF, token=WRONG_TOKEN)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert rpc_status(refused) == status_pb2.Status(
        code=code_pb2.UNAUTHENTICATED, message="invalid bearer token"
    )

    bomb = gzip.compress(b"\0" * (17 << 20))  # inflates past the 16 MiB limit
    too_big = server.post("/v1/traces", bomb, PROTOBUF, headers={"content-encoding": "gzip"})
    assert too_big.status_code == 413
    assert rpc_status(too_big).code == code_pb2.RESOURCE_EXHAUSTED

    brotli = server.post("/v1/traces", b"", PROTOBUF, headers={"content-encoding": "br"})
    assert brotli.status_code == 415
    status = rpc_status(brotli)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert status.message == "unsupported Content-Encoding 'br': use gzip, deflate or none"


def test_json_clients_get_json_errors(server: Serve) -> None:
    refused = server.post("/v1/traces", "{}", "application/json", token=WRONG_TOKEN)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {"code": code_pb2.UNAUTHENTICATED, "message": "invalid bearer token"}
    # an unknown content type is no OTLP encoding: its 415 is JSON
    unknown = server.post("/v1/traces", "{}", "text/plain")
    assert unknown.status_code == 415 and unknown.json()["code"] == code_pb2.INVALID_ARGUMENT


def test_sdk_exporter_reads_partial_success_then_429_with_retry_after(tmp_path: Path) -> None:
    answers: list[requests.Response] = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: answers.append(response))
    provider = TracerProvider(resource=Resource.create({"cicd.pipeline.run.id": "full-run"}))
    tracer = provider.get_tracer("tests")
    root = tracer.start_span("run full", start_time=T0)
    step = tracer.start_span("step", context=trace.set_span_in_context(root), start_time=T0 + 1)
    step.end(end_time=T0 + 2)
    never_started = tracer.start_span("never started", start_time=0)
    never_started.end(end_time=T0 + 3)
    root.end(end_time=T0 + 4)
    spans = [step, never_started, root]

    with Serve(tmp_path / "home", "--no-drain", "--max-backlog", "2") as full:
        exporter = OTLPSpanExporter(
            endpoint=full.url + "/v1/traces",
            headers={"authorization": f"Bearer {TOKEN}"},
            session=session,
            timeout=1,
        )
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        (accepted,) = answers
        assert accepted.status_code == 200 and accepted.headers["content-type"] == PROTOBUF
        partial = ExportTraceServiceResponse.FromString(accepted.content).partial_success
        assert partial.rejected_spans == 1
        assert "span 1: started_at: missing (required)" in partial.error_message

        # two spans wait in the spool: the receiver is full; the exporter honours Retry-After
        # (2 s, more than its 1 s timeout leaves), so it gives up after one attempt
        assert exporter.export(spans) == SpanExportResult.FAILURE
        (_, busy) = answers
        assert busy.status_code == 429 and busy.headers["retry-after"] == "2"
        status = rpc_status(busy)
        assert status.code == code_pb2.RESOURCE_EXHAUSTED
        assert status.message.startswith("the receiver is full (")
        assert "records wait to be drained into the warehouse (limit 2)" in status.message


def test_a_rejected_span_with_a_nan_attribute_is_quarantined_as_valid_json() -> None:
    """An OTLP double attribute can be NaN or infinite; the quarantine row's raw_record held a
    bare NaN, which no JSON reader takes."""
    import json
    import math

    from ingest.server.intake import rejected_raw_text

    record = {
        "run_id": "r",
        "attributes": {"ratio": math.nan, "limits": [math.inf, -math.inf, 1.5]},
    }
    text = rejected_raw_text(record)
    assert json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name}")) == {
        "run_id": "r",
        "attributes": {"ratio": "NaN", "limits": ["Infinity", "-Infinity", 1.5]},
    }
    assert rejected_raw_text({"a": 1}) == '{"a": 1}'


@pytest.mark.parametrize("compression", ["gzip", "deflate"])
def test_sdk_exporter_compression_options_are_read(server: Serve, compression: str) -> None:
    """The SDK's exporter offers gzip and deflate (Compression.Deflate: a zlib stream); both are
    stored (deflate was answered 415 and the spans dropped). A raw deflate stream, which some
    clients send under the same name, is read too."""
    from opentelemetry.exporter.otlp.proto.http import Compression

    run_id = f"otel-{compression}"
    provider = TracerProvider(
        resource=Resource.create({"service.name": "bot", "cicd.pipeline.run.id": run_id})
    )
    exporter = OTLPSpanExporter(
        endpoint=server.url + "/v1/traces",
        headers={"authorization": f"Bearer {TOKEN}"},
        compression=Compression(compression),
    )
    processor = BatchSpanProcessor(exporter, schedule_delay_millis=60_000)
    provider.add_span_processor(processor)
    provider.get_tracer("tests").start_span("run", start_time=T0).end(end_time=T0 + 10**9)
    assert processor.force_flush()
    provider.shutdown()
    server.wait_drained()
    assert query(
        server.data_dir, "select count(*) from raw.flow_runs where run_id = ?", [run_id]
    ) == [(1,)]


def test_deflate_bodies_raw_truncated_and_bombs() -> None:
    import zlib

    from flowledger.gzip_body import GzipBodyError, inflate_bounded

    text = b'{"resourceSpans": []}' * 50
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_stream = raw.compress(text) + raw.flush()
    assert inflate_bounded(zlib.compress(text), 10_000) == text
    assert inflate_bounded(raw_stream, 10_000) == text
    for body, status in (
        (zlib.compress(text)[:-6], 400),  # truncated
        (zlib.compress(text) + b"xx", 400),  # trailing bytes
        (b"not deflate at all", 400),
        (zlib.compress(b"0" * 100_000), 413),  # decompresses past the limit
    ):
        with pytest.raises(GzipBodyError) as refused:
            inflate_bounded(body, 10_000)
        assert refused.value.status == status
