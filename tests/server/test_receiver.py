"""flowledger serve on loopback, driven by real clients: the CloudEvents SDK, plain HTTP, and
the warehouse read back afterwards. One server for the module; each test uses its own ids."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from receiver_harness import (
    OTHER_TOKEN,
    TOKEN,
    Serve,
    event,
    flow_run,
    free_port,
    lineage_event,
    query,
)

from flowledger.settings import PROJECT_ROOT
from ingest.server.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, Authenticator, Refused, sign

pytestmark = pytest.mark.slow

HMAC_KEY = "hmac-key-for-otel-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    root = tmp_path_factory.mktemp("serve")
    with Serve(
        root / "home",
        "--max-body-bytes",
        str(1 << 20),
        env={"FLOWLEDGER_HMAC_KEYS": f"otel={HMAC_KEY}"},
    ) as running:
        yield running


def stored(server: Serve, sql: str, params: list | None = None) -> list[tuple]:
    server.wait_drained()
    return query(server.data_dir, sql, params)


def test_cloudevents_sdk_structured_and_binary(server: Serve) -> None:
    structured = CloudEvent(
        {
            "id": "sdk-1",
            "source": "/crm/sdk",
            "type": "com.acme.crm.lead.created",
            "time": datetime.fromisoformat("2025-03-01T10:00:00+02:00"),
            "subject": "lead/L-1",
        },
        {"lead_id": "L-1", "amount": 12.5},
    )
    message = to_structured_event(structured)
    response = requests.post(
        server.url + "/v1/events",
        data=message.body,
        headers={**message.headers, "authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    binary = CloudEvent(
        {
            "id": "sdk-2",
            "source": "/crm/sdk",
            "type": "com.acme.crm.lead.won",
            "time": datetime.fromisoformat("2025-03-01T11:00:00+00:00"),
            "datacontenttype": "application/json",
        },
        {"lead_id": "L-1", "stage": "won"},
    )
    message = to_binary_event(binary)
    assert any(name.startswith("ce-") for name in message.headers)
    response = server.post(
        "/v1/events", message.body, message.headers["content-type"], headers=message.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    # the SDK's binary mode as it comes: without datacontenttype it sends no Content-Type, and
    # reads such a body as JSON; every such event was refused
    plain = CloudEvent(
        {"id": "sdk-3", "source": "/crm/sdk", "type": "com.acme.crm.lead.lost",
         "time": datetime.fromisoformat("2025-03-01T12:00:00+00:00")},
        {"lead_id": "L-2"},
    )  # fmt: skip
    message = to_binary_event(plain)
    assert "content-type" not in {name.lower() for name in message.headers}
    response = requests.post(
        server.url + "/v1/events",
        data=message.body,
        headers={**message.headers, "authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.text
    rows = stored(
        server,
        "select id, type, time, subject, data, datacontenttype from raw.business_events "
        "where source = '/crm/sdk' order by id",
    )
    assert [(r[0], r[1], r[2].isoformat(), r[3]) for r in rows] == [
        ("sdk-1", "com.acme.crm.lead.created", "2025-03-01T08:00:00", "lead/L-1"),
        ("sdk-2", "com.acme.crm.lead.won", "2025-03-01T11:00:00", None),
        ("sdk-3", "com.acme.crm.lead.lost", "2025-03-01T12:00:00", None),
    ]
    assert json.loads(rows[1][4]) == {"lead_id": "L-1", "stage": "won"}
    assert (json.loads(rows[2][4]), rows[2][5]) == ({"lead_id": "L-2"}, None)


def test_mixed_batch_accepts_the_valid_and_lists_the_rejected(server: Serve) -> None:
    batch = [
        event("mix-1"),
        {k: v for k, v in event("mix-2").items() if k != "id"},  # no id: never invented
        event("mix-3", time="yesterday"),
        "not an event",
        event("mix-4", source=""),
        event("mix-5"),
    ]
    response = server.post("/v1/events", batch, "application/cloudevents-batch+json")
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in answer["rejected"]] == [
        (1, "id: missing (required)"),
        (2, "time: 'yesterday' is not an RFC 3339 timestamp"),
        (3, "event is a JSON string, not an object"),
        (4, "source: missing (required)"),
    ]
    ids = stored(server, "select id from raw.business_events where id like 'mix-%' order by id")
    assert ids == [("mix-1",), ("mix-5",)]
    quarantined = query(
        server.data_dir,
        "select row_number, reason from raw.quarantine where batch_id = ? order by row_number",
        [answer["request_id"]],
    )
    assert [(n, r) for n, r in quarantined] == [
        (r["index"], r["reason"]) for r in answer["rejected"]
    ]


def test_all_rejected_is_422_and_quarantined(server: Serve) -> None:
    response = server.post(
        "/v1/events", event("bad-1", specversion="0.3"), "application/cloudevents+json"
    )
    assert response.status_code == 422
    assert response.json()["rejected"] == [
        {"index": 0, "reason": "specversion: '0.3' is not one of 1.0"}
    ]
    binary = server.post(
        "/v1/events",
        b'{"a": 1}',
        headers={"ce-specversion": "1.0", "ce-source": "/x", "ce-type": "t.x"},
    )
    assert binary.status_code == 422
    assert (
        binary.json()["rejected"][0]["reason"]
        == "ce-id header missing: binary-mode events need both"
    )


def test_a_key_the_scrubber_would_rewrite_is_refused_not_merged(server: Serve) -> None:
    # two events differing only in what the scrubber redacts in their id: acknowledged both,
    # they were one row under the redacted id, the second dropped as a duplicate
    batch = [event("session_id=abc123def456"), event("session_id=zzz999yyy888")]
    response = server.post("/v1/events", batch, "application/cloudevents-batch+json")
    assert response.status_code == 422
    reasons = [r["reason"] for r in response.json()["rejected"]]
    assert len(set(reasons)) == 2 and all(
        r.startswith("id: a key field holds what the scrubber redacts") for r in reasons
    )
    assert stored(server, "select id from raw.business_events where id like 'session%'") == []
    assert query(
        server.data_dir,
        "select count(*) from raw.quarantine where batch_id = ?",
        [response.json()["request_id"]],
    ) == [(2,)]


def test_runs_as_json_array_and_ndjson(server: Serve) -> None:
    steps = [
        {"source_system": "n8n", "run_id": "run-a", "step_id": "fetch", "attempt": 1, "step_name": "Fetch",
         "status": "failed", "started_at": "2025-03-01T10:00:01Z", "error_message": "timeout"},
        {"source_system": "n8n", "run_id": "run-a", "step_id": "fetch", "attempt": 2, "step_name": "Fetch",
         "status": "success", "started_at": "2025-03-01T10:00:03Z"},
    ]  # fmt: skip
    response = server.post("/v1/runs", [flow_run("run-a"), *steps])
    assert response.json() == {**response.json(), "accepted": 3, "rejected": []}
    ndjson = "\n".join(
        json.dumps(r) for r in [flow_run("run-b", status="bogus"), flow_run("run-c")]
    )
    response = server.post("/v1/runs", ndjson + "\n{oops\n", "application/x-ndjson")
    answer = response.json()
    assert answer["accepted"] == 1
    assert [r["index"] for r in answer["rejected"]] == [0, 2]
    assert "status: 'bogus' is not one of queued" in answer["rejected"][0]["reason"]
    runs = stored(
        server,
        "select run_id, run_attempt from raw.flow_runs where run_id in ('run-a','run-b','run-c') order by 1",
    )
    assert runs == [("run-a", 1), ("run-c", 1)]
    attempts = query(
        server.data_dir,
        "select attempt, status from raw.step_runs where run_id = 'run-a' order by attempt",
    )
    assert attempts == [(1, "failed"), (2, "success")]


def test_duplicates_and_collisions(server: Serve) -> None:
    first = server.post("/v1/events", event("dup-1", data={"v": 1}), "application/cloudevents+json")
    assert first.json()["accepted"] == 1
    again = server.post("/v1/events", event("dup-1", data={"v": 1}), "application/cloudevents+json")
    assert (again.status_code, again.json()["duplicates"], again.json()["accepted"]) == (200, 1, 0)
    other = server.post("/v1/events", event("dup-1", data={"v": 2}), "application/cloudevents+json")
    assert other.json()["collisions"] == 1
    # same id from another source is another event (the key is source + id)
    elsewhere = server.post(
        "/v1/events", event("dup-1", source="/erp"), "application/cloudevents+json"
    )
    assert elsewhere.json()["accepted"] == 1
    rows = stored(
        server, "select source, data from raw.business_events where id = 'dup-1' order by source"
    )
    assert [(s, json.loads(d)) for s, d in rows] == [
        ("/crm/leads", {"v": 1}),
        ("/erp", {"lead_id": "dup-1", "amount": 10}),
    ]
    collisions = query(
        server.data_dir,
        "select natural_key, raw_record from raw.ingest_collisions where natural_key like '%dup-1%'",
    )
    assert len(collisions) == 1 and json.loads(collisions[0][1])["data"] == {"v": 2}
    metrics = server.metrics()
    assert (
        metrics['flowledger_receiver_records_total{kind="business_event",outcome="duplicate"}'] >= 1
    )
    assert (
        metrics['flowledger_receiver_records_total{kind="business_event",outcome="collision"}'] >= 1
    )
    assert metrics['flowledger_drain_records_total{kind="business_event",outcome="collision"}'] >= 1


def test_authentication(server: Serve) -> None:
    body = event("auth-1")
    assert (
        server.post("/v1/events", body, "application/cloudevents+json", token=None).status_code
        == 401
    )
    wrong = server.post(
        "/v1/events", body, "application/cloudevents+json", token="tok-crm-0123456789abcdeX"
    )
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    raw = json.dumps(event("auth-2")).encode()
    unsigned = server.post("/v1/events", raw, "application/cloudevents+json", token=OTHER_TOKEN)
    assert unsigned.status_code == 401 and "signs its requests" in unsigned.json()["message"]
    headers = sign(HMAC_KEY, raw)
    signed = server.post(
        "/v1/events", raw, "application/cloudevents+json", token=OTHER_TOKEN, headers=headers
    )
    assert signed.status_code == 200, signed.text
    replay = server.post(
        "/v1/events", raw, "application/cloudevents+json", token=OTHER_TOKEN, headers=headers
    )
    assert replay.status_code == 401 and "replayed" in replay.json()["message"]
    forged = server.post(
        "/v1/events", raw.replace(b"auth-2", b"auth-3"), "application/cloudevents+json",
        token=OTHER_TOKEN, headers=sign(HMAC_KEY, raw),
    )  # fmt: skip
    assert (
        forged.status_code == 401
        and forged.json()["message"] == "signature does not match the body"
    )
    stale = server.post(
        "/v1/events", raw, "application/cloudevents+json", token=OTHER_TOKEN,
        headers=sign(HMAC_KEY, raw, timestamp=time.time() - 3600),
    )  # fmt: skip
    assert stale.status_code == 401 and "away from the server's clock" in stale.json()["message"]
    # nan passed float() and every tolerance check: a capture replayed forever once the replay
    # cache forgot it
    for stamp in ("nan", "NaN", "-nan", "inf", "1e3", "0x10"):
        digest = hmac.new(HMAC_KEY.encode(), stamp.encode() + b"." + raw, hashlib.sha256)
        headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"sha256={digest.hexdigest()}"}
        refused = server.post(
            "/v1/events", raw, "application/cloudevents+json", token=OTHER_TOKEN, headers=headers
        )
        assert refused.status_code == 401, (stamp, refused.text)
    # the signature covers the body as sent: compressed bytes when gzipped
    zipped = gzip.compress(json.dumps(event("auth-gz")).encode())
    signed = server.post(
        "/v1/events", zipped, "application/cloudevents+json", token=OTHER_TOKEN,
        headers={"content-encoding": "gzip", **sign(HMAC_KEY, zipped)},
    )  # fmt: skip
    assert signed.status_code == 200 and signed.json()["accepted"] == 1, signed.text
    # binary mode: the event's id, source and type are headers; a captured request with another
    # ce-id was accepted (and the genuine one refused as its replay), as was another ?kind=
    attributes = {
        "ce-specversion": "1.0", "ce-id": "auth-bin", "ce-source": "/crm", "ce-type": "quote.approved",
        "ce-time": "2026-10-01T10:00:00Z",
    }  # fmt: skip
    data = b'{"quote_id": "Q-1"}'
    captured = {**attributes, **sign(HMAC_KEY, data, headers=attributes)}
    forged = server.post(
        "/v1/events", data, "application/json", token=OTHER_TOKEN,
        headers={**captured, "ce-id": "auth-bin-forged", "ce-source": "/erp"},
    )  # fmt: skip
    assert forged.status_code == 401, forged.text
    assert forged.json()["message"] == (
        "signature does not match the query string, the ce-* headers and the body"
    )
    genuine = server.post(
        "/v1/events", data, "application/json", token=OTHER_TOKEN, headers=captured
    )
    assert genuine.status_code == 200 and genuine.json()["accepted"] == 1, genuine.text
    runs = json.dumps([flow_run("auth-kind")]).encode()
    signed_kind = sign(HMAC_KEY, runs, query="kind=flow_run")
    tampered = server.post(
        "/v1/runs?kind=step_run", runs, "application/json", token=OTHER_TOKEN, headers=signed_kind
    )
    assert tampered.status_code == 401, tampered.text
    kept = server.post(
        "/v1/runs?kind=flow_run", runs, "application/json", token=OTHER_TOKEN, headers=signed_kind
    )
    assert kept.status_code == 200, kept.text


def test_a_signature_seen_before_a_restart_is_still_a_replay(tmp_path) -> None:
    """The signatures seen were kept in memory only: a capture replayed after a restart, inside
    the tolerance window, was accepted."""
    seen = tmp_path / "receiver" / "signatures-seen.txt"
    body = b'{"id": "r-1"}'
    headers = sign(HMAC_KEY, body)
    first = Authenticator({"erp": OTHER_TOKEN}, {"erp": HMAC_KEY}, seen_path=seen)
    first.verify_signature("erp", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body)
    first.close()
    again = Authenticator({"erp": OTHER_TOKEN}, {"erp": HMAC_KEY}, seen_path=seen)
    with pytest.raises(Refused, match="replayed request"):
        again.verify_signature("erp", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body)
    # a signature older than the window is forgotten, and a half-written line is skipped
    seen.write_text(f"{'ab' * 32} {time.time() - 3600:.3f}\nnot a line\n")
    third = Authenticator({"erp": OTHER_TOKEN}, {"erp": HMAC_KEY}, seen_path=seen)
    third.close()
    assert seen.read_text() == ""


def test_a_charset_other_than_utf8_is_refused_not_stored_garbled(server: Serve) -> None:
    latin1 = json.dumps(event("latin-1", data={"name": "é"}), ensure_ascii=False).encode("latin-1")
    for path, content_type in (
        ("/v1/events", "application/cloudevents+json; charset=iso-8859-1"),
        ("/v1/runs", "application/json; charset=windows-1252"),
    ):
        refused = server.post(path, latin1, content_type)
        assert refused.status_code == 415 and "charset" in refused.json()["message"]
    utf8 = json.dumps(event("utf-8", data={"name": "é"}), ensure_ascii=False).encode()
    kept = server.post("/v1/events", utf8, "application/cloudevents+json; charset=UTF-8")
    assert kept.status_code == 200 and kept.json()["accepted"] == 1


def test_a_ce_header_given_twice_is_refused(server: Serve) -> None:
    # which id the producer meant cannot be told (the last one was stored)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = b'{"order_id": "O-1"}'
    connection.putrequest("POST", "/v1/events")
    for name, value in (
        ("content-type", "application/json"),
        ("authorization", f"Bearer {TOKEN}"),
        ("ce-specversion", "1.0"),
        ("ce-id", "twice-1"),
        ("ce-id", "twice-2"),
        ("ce-source", "/acme/shop"),
        ("ce-type", "com.acme.shop.order.placed"),
        ("content-length", str(len(body))),
    ):
        connection.putheader(name, value)
    connection.endheaders(body)
    answer = connection.getresponse()
    payload = json.loads(answer.read())
    connection.close()
    assert answer.status == 422
    assert payload["rejected"][0]["reason"].startswith("ce-id: given more than once")
    assert stored(server, "select id from raw.business_events where id like 'twice-%'") == []


def test_a_rejected_body_is_scrubbed_whole_before_it_is_cut(server: Serve) -> None:
    # the quarantine kept the first 4096 bytes, cut before scrubbing: `https://admin:CutPa`
    # (its `@` cut away) was a secret no rule knew
    body = "x" * 4070 + " https://admin:CutPassw0rd-ABCDEFGH@db.internal/x"
    headers = {"ce-specversion": "1.0", "ce-id": "cut-1", "ce-source": "/s", "ce-type": "t.x"}
    refused = server.post("/v1/events", body, "text/plain", headers=headers)
    assert refused.status_code == 422
    ((raw,),) = stored(
        server,
        "select raw_record from raw.quarantine where batch_id = ?",
        [refused.json()["request_id"]],
    )
    assert "CutPassw0rd" not in raw and "[REDACTED:url_credentials]" in raw


def test_limits_and_malformed_input(server: Serve) -> None:
    big = json.dumps([event(f"big-{i}", data={"pad": "x" * 2000}) for i in range(600)])
    assert server.post("/v1/events", big, "application/cloudevents-batch+json").status_code == 413
    bomb = gzip.compress(b"[" + b" " * (3 << 20) + b"]")
    response = server.post(
        "/v1/events",
        bomb,
        "application/cloudevents-batch+json",
        headers={"content-encoding": "gzip"},
    )
    assert response.status_code == 413
    zipped = gzip.compress(json.dumps([event("gz-1")]).encode())
    response = server.post(
        "/v1/events",
        zipped,
        "application/cloudevents-batch+json",
        headers={"content-encoding": "gzip"},
    )
    assert response.json()["accepted"] == 1
    assert server.post("/v1/events", "{", "application/cloudevents+json").status_code == 400
    assert server.post("/v1/events", "[]", "application/cloudevents+json").status_code == 400
    assert server.post("/v1/events", "x", "text/csv").status_code == 415
    assert server.post("/v1/runs", "x", "application/xml").status_code == 415
    empty = server.post("/v1/events", "[]", "application/cloudevents-batch+json")
    assert (empty.status_code, empty.json()["accepted"]) == (200, 0)


def test_health_ready_and_metrics(server: Serve) -> None:
    assert requests.get(server.url + "/healthz", timeout=5).text == "ok\n"
    assert requests.get(server.url + "/readyz", timeout=5).status_code == 200
    before = server.metrics()
    key = 'flowledger_receiver_records_total{kind="flow_run",outcome="accepted"}'
    server.post("/v1/runs", [flow_run("m-1"), flow_run("m-2")])
    after = server.metrics()
    assert after[key] - before.get(key, 0) == 2
    count = 'flowledger_request_duration_seconds_count{method="POST",route="/v1/runs"}'
    assert after[count] - before.get(count, 0) == 1
    assert (
        after[
            'flowledger_request_duration_seconds_bucket{method="POST",route="/v1/runs",le="+Inf"}'
        ]
        == after[count]
    )
    assert "flowledger_spool_backlog_records" in after


def test_not_ready_while_every_drain_round_fails(tmp_path: Path) -> None:
    """A full disk or a broken warehouse failed every drain round while /readyz said ready:
    only the log and /metrics told. The records wait in the spool, kept, all the while."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "warehouse.duckdb").mkdir()  # no database can be opened there
    with Serve(home) as receiver:
        assert receiver.post("/v1/runs", [flow_run("nr-1")]).status_code == 200
        deadline = time.monotonic() + 30
        while (ready := requests.get(receiver.url + "/readyz", timeout=5)).status_code == 200:
            assert time.monotonic() < deadline, "still ready while the drain fails"
            time.sleep(0.2)
        assert ready.status_code == 503
        assert "drain failed" in ready.text and "records wait in the spool" in ready.text
        (home / "warehouse.duckdb").rmdir()
        deadline = time.monotonic() + 30
        while requests.get(receiver.url + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "not ready after the drain recovered"
            time.sleep(0.2)


def test_lineage_routes_are_mounted(server: Serve) -> None:
    assert server.post("/api/v1/lineage", lineage_event()).status_code == 201
    assert server.post("/api/v1/lineage", lineage_event(), token=None).status_code == 401


def test_back_pressure_answers_429_to_authenticated_clients_only(tmp_path: Path) -> None:
    with Serve(
        tmp_path / "home",
        "--no-drain",
        "--max-backlog",
        "5",
        env={"FLOWLEDGER_HMAC_KEYS": f"otel={HMAC_KEY}"},
    ) as small:
        first = small.post("/v1/runs", [flow_run(f"bp-{i}") for i in range(5)])
        assert first.status_code == 200
        # full: a client without a valid token is refused as always and learns nothing of it
        wrong = small.post("/v1/runs", [flow_run("bp-9")], token="not-a-token-0123456789")
        assert (wrong.status_code, wrong.json()["message"]) == (401, "invalid bearer token")
        assert "retry-after" not in wrong.headers
        assert small.post("/v1/runs", [flow_run("bp-9")], token=None).status_code == 401
        full = small.post("/v1/runs", [flow_run("bp-9")])
        assert full.status_code == 429
        assert full.headers["retry-after"] == "2"
        assert "the receiver is full" in full.json()["message"]
        # a signing source's token is checked before the body, its signature after: at capacity
        # the body is not read, so a valid token with a bad signature is answered 429 too
        unsigned = small.post("/v1/runs", [flow_run("bp-9")], token=OTHER_TOKEN)
        assert unsigned.status_code == 429
        assert requests.get(small.url + "/readyz", timeout=5).status_code == 503
        assert requests.get(small.url + "/healthz", timeout=5).status_code == 200
        requests_total = (
            'flowledger_receiver_requests_total{method="POST",route="/v1/runs",status="%s"}'
        )
        metrics = small.metrics()
        assert metrics[requests_total % "401"] == 2
        assert metrics[requests_total % "429"] == 2


def _hold_a_request_open(server: Serve) -> socket.socket:
    """An authenticated POST whose body never finishes: it keeps its in-flight slot."""
    held = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    held.sendall(
        b"POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {TOKEN}\r\n".encode()
        + b"Content-Length: 1000\r\n\r\n[{"
    )
    server.wait_for_inflight(1)
    return held


def test_in_flight_limit_counts_authenticated_requests(tmp_path: Path) -> None:
    with Serve(tmp_path / "home", "--max-inflight", "1") as one:
        # the limit is the number of requests that may be in flight at once, this one included
        assert one.post("/v1/runs", [flow_run("if-1")]).status_code == 200
        held = _hold_a_request_open(one)
        try:
            wrong = one.post("/v1/runs", [flow_run("if-2")], token="not-a-token-0123456789")
            assert wrong.status_code == 401
            busy = one.post("/v1/runs", [flow_run("if-2")])
            assert busy.status_code == 429 and busy.headers["retry-after"] == "2"
            assert "1 requests in flight (limit 1)" in busy.json()["message"]
        finally:
            held.close()
        one.wait_for_inflight(0)
        assert one.post("/v1/runs", [flow_run("if-2")]).status_code == 200


def test_serve_refuses_to_start_without_tokens(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(tmp_path), "serve", "--port", "1"],
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "no bearer tokens configured" in result.stderr


def test_a_second_receiver_on_the_same_data_dir_is_refused(server: Serve) -> None:
    """A second receiver sealed the first one's open spool segments as its own: the first one's
    writer failed and every later request to it hung. It is refused now, naming the first."""
    second = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(server.data_dir), "serve",
         "--port", str(free_port())],
        cwd=PROJECT_ROOT, env=server.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert second.returncode == 1, second.stderr
    assert "a receiver is already running on" in second.stderr
    assert f"PID {server.process.pid}" in second.stderr
    assert server.post("/v1/runs", [flow_run("still-served")]).status_code == 200
    assert requests.get(server.url + "/readyz", timeout=5).status_code == 200


def test_a_token_bound_to_its_sources_cannot_write_another_sources_keys(tmp_path: Path) -> None:
    """Any token wrote any source_system: the crm token sent a run keyed as loadtool's first,
    and loadtool's own record of that key became a collision kept aside. Bound tokens
    (--token-sources) write their own sources only; an unbound one writes any."""
    bindings = tmp_path / "token-sources"
    bindings.write_text("crm = crm, /acme/crm   # the CRM writes its runs and its events\n")
    server = Serve(tmp_path / "home", "--token-sources", str(bindings)).start()
    try:
        spoofed = server.post("/v1/runs", [flow_run("bind-1", source_system="loadtool")])
        assert spoofed.status_code == 422, spoofed.text
        (rejected,) = spoofed.json()["rejected"]
        assert rejected["reason"] == (
            "source_system: 'loadtool' is not a source the token of 'crm' may write (it writes "
            "'/acme/crm', 'crm'; see --token-sources)"
        )
        own = server.post("/v1/runs", [flow_run("bind-2", source_system="crm")])
        assert own.json()["accepted"] == 1, own.text
        events = [event("bind-3", source="/acme/erp"), event("bind-4", source="/acme/crm")]
        answer = server.post("/v1/events", events, "application/cloudevents-batch+json").json()
        assert (answer["accepted"], [r["index"] for r in answer["rejected"]]) == (1, [0])
        # the other token is not bound: it writes loadtool's run, which is not a collision
        theirs = server.post(
            "/v1/runs", [flow_run("bind-1", source_system="loadtool")], token=OTHER_TOKEN
        )
        assert (theirs.json()["accepted"], theirs.json()["collisions"]) == (1, 0), theirs.text
    finally:
        server.stop()
    # a binding naming no token's source is a configuration error, said at start
    bindings.write_text("nobody = x\n")
    with pytest.raises(RuntimeError, match="exited"):
        Serve(tmp_path / "home2", "--token-sources", str(bindings)).start()


def test_a_body_that_stops_arriving_frees_its_slot(tmp_path: Path) -> None:
    """An authenticated request sending one byte of a declared 1,000 held its in-flight slot
    for ever: two such clients made every request a 429 under --max-inflight 2."""
    server = Serve(tmp_path / "home", "--max-inflight", "2", "--body-idle-timeout", "1").start()
    try:
        stalled = []
        for _ in range(2):
            connection = socket.create_connection(("127.0.0.1", server.port))
            connection.sendall(
                f"POST /v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[".encode()
            )
            stalled.append(connection)
        server.wait_for_inflight(2)
        for connection in stalled:
            connection.settimeout(10)
            answer = _whole_answer(connection)
            assert answer.startswith("HTTP/1.1 408"), answer
            assert "the body stopped arriving (1 bytes read" in answer
            connection.close()
        server.wait_for_inflight(0)
        fresh = server.post("/v1/runs", [flow_run("after-stall")])
        assert fresh.status_code == 200, fresh.text
    finally:
        server.stop()


def _whole_answer(connection: socket.socket) -> str:
    """An HTTP answer read off a raw socket, its body whole (it may come in another segment)."""
    data = b""
    while True:
        head, separator, body = data.partition(b"\r\n\r\n")
        if separator:
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            if len(body) >= length:
                return data.decode()
        chunk = connection.recv(4096)
        if not chunk:
            return data.decode()
        data += chunk


def test_a_key_given_as_an_object_array_or_boolean_is_refused_as_files_refuse_it(
    server: Serve,
) -> None:
    """The receiver stored `"run_id": {"id": "o2"}` as the key text `{"id": "o2"}`; refused now
    with the file path's reason (tests/ingest: the same records from NDJSON, JSON and Parquet),
    while an object in another string field stays its JSON text."""
    runs = [
        {**flow_run("key-obj"), "run_id": {"id": "o2"}},
        {**flow_run("key-arr"), "run_id": ["a", "b"]},
        {**flow_run("key-bool"), "source_system": True, "run_id": False},
        flow_run("key-fine", error_message={"code": 7}),
    ]
    response = server.post("/v1/runs", runs)
    answer = response.json()
    assert answer["accepted"] == 1
    assert answer["rejected"] == [
        {"index": 0, "reason": "run_id: a JSON object is not a key (keys are strings or numbers)"},
        {"index": 1, "reason": "run_id: a JSON array is not a key (keys are strings or numbers)"},
        {
            "index": 2,
            "reason": "source_system: a JSON boolean is not a key (keys are strings or numbers); "
            "run_id: a JSON boolean is not a key (keys are strings or numbers)",
        },
    ]
    assert stored(server, "select run_id from raw.flow_runs where run_id like 'key-%'") == [
        ("key-fine",)
    ]


def test_a_binary_event_without_a_body_is_refused_as_the_structured_one(server: Serve) -> None:
    """An empty body was a 400 ("not valid JSON") that kept nothing; the same event in
    structured mode without `data` is a 422 and a quarantine row: both are now."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "no-data-binary",
        "ce-source": "/shop",
        "ce-type": "com.acme.order.placed",
        "ce-time": "2025-03-01T10:00:00Z",
    }
    binary = server.post("/v1/events", b"", "application/json", headers=headers)
    structured = {k[3:]: v for k, v in headers.items()} | {"id": "no-data-structured"}
    answer = server.post("/v1/events", structured, "application/cloudevents+json")
    assert binary.status_code == answer.status_code == 422
    assert binary.json()["rejected"] == answer.json()["rejected"]
    assert answer.json()["rejected"][0]["reason"].endswith("data: missing (required)")
    rows = stored(
        server,
        "select raw_record from raw.quarantine where raw_record like '%no-data-%' order by 1",
    )
    assert [json.loads(raw)["id"] for (raw,) in rows] == ["no-data-binary", "no-data-structured"]
