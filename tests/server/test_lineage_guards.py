"""The OpenLineage intake of ``flowledger serve`` behind the same edge guards as ``/v1/events``:
bearer token, then an in-flight slot (429), then a body read bounded by ``--max-body-bytes``
(413, on Content-Length before reading, while streaming a chunked body, and while un-gzipping),
answered in the lineage API's ``{"code", "message"}`` format. Driven by raw sockets (to send what
no polite client sends) and by the real openlineage-python client."""

from __future__ import annotations

import gzip
import http.client
import json
import select
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from receiver_harness import TOKEN, Serve, flow_run, lineage_event

pytestmark = pytest.mark.slow

LIMIT = 1 << 20
ROUTES = ["/api/v1/lineage", "/api/v1/lineage/batch"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    root = tmp_path_factory.mktemp("serve")
    with Serve(root / "home", "--max-body-bytes", str(LIMIT), "--max-inflight", "1") as running:
        yield running


def as_body(route: str, event: dict[str, Any]) -> bytes:
    return json.dumps([event] if route.endswith("/batch") else event).encode()


def stored_events(server: Serve) -> int:
    answer = requests.get(
        server.url + "/api/v1/events/lineage",
        headers={"authorization": f"Bearer {TOKEN}"},
        params={"limit": 0},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["totalCount"]


def request_head(route: str, extra: str) -> bytes:
    return (
        f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\n{extra}\r\n"
    ).encode()


def read_answer(sock: socket.socket) -> tuple[int, bytes]:
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    return answer.status, answer.read()


def memory_kib(pid: int, field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (the peak) of a process, in KiB (proc(5))."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reset_peak_memory(pid: int) -> int:
    """Set the process's peak resident size to its current one (KiB, returned)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return memory_kib(pid, "VmHWM")


@pytest.mark.parametrize("route", ROUTES)
def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(
    server: Serve, route: str
) -> None:
    before = stored_events(server)
    # Content-Length: 1 GiB and not one byte of body: the answer cannot wait for the body
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(request_head(route, f"Content-Length: {1 << 30}\r\n"))
        status, answer = read_answer(raw)
    assert status == 413
    assert json.loads(answer) == {
        "code": 413,
        "message": f"the body is {1 << 30:,} bytes; the limit is {LIMIT:,}",
    }
    # a real body one MiB and a bit large: refused, not stored
    big = server.post(route, as_body(route, lineage_event(pad=LIMIT)))
    assert big.status_code == 413 and big.json()["code"] == 413, big.text
    assert stored_events(server) == before


def test_a_chunked_body_is_cut_off_at_the_limit(server: Serve) -> None:
    assert server.process is not None
    pid = server.process.pid
    before = stored_events(server)
    body = as_body("/api/v1/lineage", lineage_event(pad=24 << 20))  # far past the limit
    chunk = 64 << 10
    resident_before = reset_peak_memory(pid)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(request_head("/api/v1/lineage", "Transfer-Encoding: chunked\r\n"))
        sent = 0
        try:
            while sent < len(body) and not select.select([raw], [], [], 0)[0]:
                piece = body[sent : sent + chunk]
                raw.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
            if sent == len(body):
                raw.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while the body was still coming
        status, answer = read_answer(raw)
    # the server answered long before the 24 MiB were sent, and held about the limit
    assert sent < len(body)
    assert memory_kib(pid, "VmHWM") - resident_before < 12 << 10
    assert status == 413
    assert json.loads(answer) == {
        "code": 413,
        "message": f"the body is over the limit of {LIMIT:,} bytes",
    }
    assert stored_events(server) == before


@pytest.mark.parametrize("route", ROUTES)
def test_a_gzip_body_is_inflated_only_up_to_the_limit(server: Serve, route: str) -> None:
    before = stored_events(server)
    zipped = gzip.compress(as_body(route, lineage_event(pad=2 * LIMIT)))
    assert len(zipped) < LIMIT
    answer = server.post(route, zipped, headers={"content-encoding": "gzip"})
    assert answer.status_code == 413
    assert answer.json() == {
        "code": 413,
        "message": f"the body decompresses to more than {LIMIT:,} bytes",
    }
    assert stored_events(server) == before


def test_at_capacity_a_lineage_post_gets_429_after_its_token(server: Serve) -> None:
    event = lineage_event()
    # a lineage POST whose body never finishes holds the one in-flight slot, for every route
    held = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        held.sendall(request_head("/api/v1/lineage", "Content-Length: 1000\r\n") + b'{"e')
        server.wait_for_inflight(1)
        no_token = server.post("/api/v1/lineage", event, token=None)
        assert no_token.status_code == 401 and "retry-after" not in no_token.headers
        for route in ROUTES:
            busy = server.post(route, as_body(route, event))
            assert busy.status_code == 429, busy.text
            assert busy.headers["retry-after"] == "2"
            assert busy.json() == {
                "code": 429,
                "message": "the receiver is full (1 requests in flight (limit 1)); retry after 2 s",
            }
        assert server.post("/v1/runs", [flow_run("ol-busy")]).status_code == 429
    finally:
        held.close()
    server.wait_for_inflight(0)
    assert server.post("/api/v1/lineage", event).status_code == 201


def test_the_openlineage_client_posts_under_the_limits(server: Serve) -> None:
    before = stored_events(server)
    emitter = OpenLineageClient(
        config={
            "transport": {
                "type": "http",
                "url": server.url,
                "compression": "gzip",
                "auth": {"type": "api_key", "apiKey": TOKEN},
                "retry": {"total": 0},
            }
        }
    )
    columns = cl.ColumnLineageDatasetFacet(
        fields={
            f"c{i}": cl.Fields(inputFields=[cl.InputField("pg", "public.src", f"c{i}")])
            for i in range(500)
        }
    )
    run_id = str(uuid.uuid4())
    for state in (RunState.START, RunState.COMPLETE):
        emitter.emit(
            RunEvent(
                eventType=state,
                eventTime="2026-03-01T10:00:00Z",
                run=Run(runId=run_id),
                job=Job(namespace="guards", name="client"),
                producer="https://example.com/test",
                inputs=[InputDataset("pg", "public.src")],
                outputs=[OutputDataset("pg", "public.dst", facets={"columnLineage": columns})],
            )
        )
    assert stored_events(server) == before + 2


def test_a_path_or_method_no_route_serves_answers_in_json(server: Serve) -> None:
    """404 and 405 in the shape of every other refusal (they were Starlette's plain text)."""
    headers = {"authorization": f"Bearer {TOKEN}"}
    unknown = requests.get(f"{server.url}/api/v1/nosuchendpoint", headers=headers, timeout=5)
    assert (unknown.status_code, unknown.json()) == (404, {"code": 404, "message": "Not Found"})
    put = requests.put(f"{server.url}/api/v1/lineage", headers=headers, timeout=5)
    assert put.status_code == 405
    assert put.json() == {"code": 405, "message": "Method Not Allowed"}
    # /api/v1/lineage takes events (POST) and answers Marquez's lineage reads (GET): Allow
    # named POST only, as if the read did not exist
    assert {m.strip() for m in put.headers["allow"].split(",")} == {"GET", "HEAD", "POST"}
    batch = requests.get(f"{server.url}/api/v1/lineage/batch", headers=headers, timeout=5)
    assert (batch.status_code, batch.headers["allow"]) == (405, "POST")
    events = requests.get(f"{server.url}/v1/events", timeout=5)
    assert (events.status_code, events.json()["code"]) == (405, 405)
