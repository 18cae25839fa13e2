"""Hostile input: every case gets a clear 4xx or a quarantine row, the server stays up, and no
seeded secret is found in any file the service wrote (spool, DuckDB, landing Parquet, logs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from receiver_harness import Serve, event, flow_run, query

from ingest.server.spool import Spool

pytestmark = pytest.mark.slow

SECRETS = [
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "xoxb-123456789012-abcdefghijkl",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ",
    "hunter2-the-url-password",
    "pa55w0rd-in-key-value",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
    "4111111111111111",
    "alice.pii@example.com",
]
PEM = "-----BEGIN PRIVATE KEY-----\n" + SECRETS[7] + "\nabc\n-----END PRIVATE KEY-----"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    running = Serve(tmp_path_factory.mktemp("hostile") / "home", "--max-body-bytes", str(2 << 20))
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.stop()


def deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"x": value}
    return value


CASES = [
    # name, path, body, content type, extra headers, allowed statuses
    ("malformed json", "/v1/events", b'{"id": ', "application/cloudevents+json", {}, {400}),
    ("trailing garbage", "/v1/runs", b"[{}] x", "application/json", {}, {400}),
    ("invalid utf-8", "/v1/events", b'{"id": "\xff\xfe"}', "application/cloudevents+json", {}, {400}),
    ("empty body", "/v1/events", b"", "application/cloudevents+json", {}, {400}),
    ("json null", "/v1/runs", b"null", "application/json", {}, {400}),
    ("number top level", "/v1/events", b"42", "application/cloudevents-batch+json", {}, {400}),
    ("no content type", "/v1/events", b"{}", "", {}, {415}),
    ("xml", "/v1/runs", b"<run/>", "application/xml", {}, {415}),
    ("unknown encoding", "/v1/runs", b"[]", "application/json", {"content-encoding": "br"}, {415}),
    ("broken gzip", "/v1/runs", b"\x1f\x8b\x08\x00junk", "application/json", {"content-encoding": "gzip"}, {400}),
    ("huge body", "/v1/events", b"[" + b" " * (3 << 20) + b"]", "application/cloudevents-batch+json", {}, {413}),
    ("deep array bomb", "/v1/events", b"[" * 200_000 + b"]" * 200_000, "application/cloudevents-batch+json", {}, {400, 413}),
    ("deep data", "/v1/events", json.dumps(event("h-deep", data=deep(200))).encode(), "application/cloudevents+json", {}, {422}),
    ("wrong types", "/v1/runs", json.dumps([flow_run("h-types", run_attempt="two", started_at=17, status=["x"])]).encode(), "application/json", {}, {422}),
    ("missing ids", "/v1/events", json.dumps([{"specversion": "1.0", "type": "a.b"}]).encode(), "application/cloudevents-batch+json", {}, {422}),
    ("array of nulls", "/v1/runs", b"[null, 1, \"x\", []]", "application/json", {}, {422}),
    ("binary bad time", "/v1/events", b'{"a":1}', "application/json", {"ce-specversion": "1.0", "ce-id": "h-1", "ce-source": "/h", "ce-type": "a.b", "ce-time": "not-a-time"}, {422}),
    ("binary text data", "/v1/events", b"hello", "text/plain", {"ce-specversion": "1.0", "ce-id": "h-2", "ce-source": "/h", "ce-type": "a.b"}, {422}),
    ("huge string field", "/v1/runs", json.dumps([flow_run("h-huge", error_message="y" * 1_500_000)]).encode(), "application/json", {}, {413, 422}),
    ("unknown kind", "/v1/runs?kind=nope", b"[]", "application/json", {}, {400}),
    ("otlp garbage", "/v1/traces", b"\x0a\xff\xff\xff\xff\xff", "application/x-protobuf", {}, {400}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "path", "body", "content_type", "headers", "allowed"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_hostile_case(
    server: Serve, name: str, path: str, body: bytes, content_type: str, headers: dict, allowed: set
) -> None:
    sent = {"authorization": "Bearer tok-crm-0123456789abcdef", **headers}
    if content_type:
        sent["content-type"] = content_type
    response = requests.post(server.url + path, data=body, headers=sent, timeout=60)
    assert response.status_code in allowed, response.text[:500]
    answer = response.json()
    assert answer.get("message") or answer.get("rejected"), answer
    if response.status_code == 422:
        assert all(item["reason"] for item in answer["rejected"])
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def test_sql_looking_strings_are_stored_verbatim(server: Serve) -> None:
    nasty = "x'); DROP TABLE raw.business_events; --"
    response = server.post(
        "/v1/events",
        event(nasty, data={"q": "' OR 1=1 --", "n": "\\x00"}),
        "application/cloudevents+json",
    )
    assert response.json()["accepted"] == 1
    server.wait_drained()
    rows = query(server.data_dir, "select data from raw.business_events where id = ?", [nasty])
    assert json.loads(rows[0][0]) == {"q": "' OR 1=1 --", "n": "\\x00"}


def test_seeded_secrets_are_found_in_no_file(server: Serve) -> None:
    aws, ghp, slack, stripe, jwt, url_pw, kv_pw, _, card, email = SECRETS
    events = [
        event("s-1", data={"note": f"key {aws} and {ghp}", "email": email, "card": card}),
        event(
            "s-2",
            subject=f"Bearer {jwt}",
            data={"webhook": f"https://bot:{url_pw}@hooks.example/x"},
        ),
        event("s-3", data={"password": kv_pw, "nested": [{"text": PEM}, slack]}),
        event("s-4", time="bad time " + stripe, data={"token": stripe}),  # rejected: quarantine
        event("s-5", data={"customer_email": email.upper()}),
    ]
    response = server.post("/v1/events", events, "application/cloudevents-batch+json")
    assert (response.json()["accepted"], len(response.json()["rejected"])) == (4, 1)
    runs = [
        flow_run("s-run", error_message=f"POST failed: password={kv_pw} auth={jwt}", url=f"https://u:{url_pw}@erp/x"),
        flow_run("s-run-bad", status="nope", error_message=f"{aws} {PEM}"),
    ]  # fmt: skip
    assert server.post("/v1/runs", runs).json()["accepted"] == 1
    ndjson = f'{{"run_id": "s-ndjson", "flow_id": "f", "oops": "{ghp}"\n'
    server.post("/v1/runs", ndjson, "application/x-ndjson")
    server.wait_drained()
    # emails are pseudonymised with a keyed HMAC: the same person joins across events
    rows = query(
        server.data_dir,
        "select id, data from raw.business_events where id in ('s-1', 's-5') order by id",
    )
    first, fifth = (json.loads(data) for _, data in rows)
    assert first["email"].startswith("<pii:") and first["email"] == fifth["customer_email"]
    assert first["card"] == "[CARD ****1111]"
    server.stop()
    leaks = []
    for path in sorted(server.data_dir.rglob("*")):
        if not path.is_file():
            continue
        content = path.read_bytes()
        for secret in SECRETS:
            if secret.encode() in content:
                leaks.append(f"{secret} in {path.relative_to(server.data_dir)}")
    assert not leaks
    # DuckDB compresses strings: ask it too, every text column of every table
    import duckdb

    con = duckdb.connect(str(server.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        assert len(columns) > 20
        for schema, table, column in columns:
            for secret in SECRETS:
                hits = con.execute(
                    f'select count(*) from "{schema}"."{table}" where contains("{column}", ?)',
                    [secret],
                ).fetchall()[0][0]
                assert hits == 0, f"{secret} in {schema}.{table}.{column}"
        quarantined = con.execute(
            "select count(*) from raw.quarantine where raw_record like '%REDACTED%'"
        ).fetchall()[0][0]
        assert quarantined >= 2
    finally:
        con.close()


def test_recovery_cuts_a_torn_last_line(tmp_path: Path) -> None:
    stream = tmp_path / "spool" / "flow_run"
    stream.mkdir(parents=True)
    segment = stream / "00000000000000000001-1-000001.ndjson.open"
    segment.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    spool = Spool(tmp_path / "spool")
    spool.recover()
    sealed = stream / "00000000000000000001-1-000001.ndjson"
    assert sealed.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert spool.backlog_records == 2
