"""Webhook notifications: change detection (pure) and delivery to a receiver on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml

from flowledger.budgets.config import parse_documents, redacted_url
from flowledger.budgets.notify import Change, changes, notified, notify, post_json


def test_changes_once_per_alert_and_state():
    previous = {"a": {"state": "AT_RISK", "firing": ["ticket-1d"]}}
    current = {
        "a": {"state": "EXHAUSTED", "firing": ["page-1h"]},
        "b": {"state": "HEALTHY", "firing": []},
    }
    assert changes(previous, current) == [
        Change("a", "alert_started", "page-1h", "ok", "firing"),
        Change("a", "alert_stopped", "ticket-1d", "firing", "ok"),
        Change("a", "state_changed", "state", "AT_RISK", "EXHAUSTED"),
    ]
    assert changes(current, current) == []


def test_a_first_seen_slo_is_announced_only_when_not_healthy():
    # a first run announced HEALTHY → EXHAUSTED and HEALTHY → INSUFFICIENT_DATA, which never
    # happened
    current = {
        "calm": {"state": "HEALTHY", "firing": []},
        "new": {"state": "INSUFFICIENT_DATA", "firing": []},
    }
    assert changes({}, current) == [
        Change("new", "state_changed", "state", "none", "INSUFFICIENT_DATA")
    ]


def test_a_change_not_delivered_stays_pending():
    previous = {"a": {"state": "HEALTHY", "firing": []}}
    current = {"a": {"state": "EXHAUSTED", "firing": ["page-1h", "page-6h"]}}
    found = changes(previous, current)
    page_6h = Change("a", "alert_started", "page-6h", "ok", "firing")
    kept = notified(previous, current, [c for c in found if c != page_6h])
    assert kept == {"a": {"state": "EXHAUSTED", "firing": ["page-1h"]}}
    assert changes(kept, current) == [page_6h]
    assert notified(kept, current, [page_6h]) == current


def test_redact_keeps_no_secret_path():
    assert (
        redacted_url("https://hooks.slack.com/services/T000/B000/XXXX")
        == "https://hooks.slack.com/…"
    )
    assert redacted_url("http://127.0.0.1:abc/SECRET") == "http://127.0.0.1:?/…"


def test_a_redirect_is_not_a_delivery_and_failures_are_retried(receiver):
    # urllib followed a 302 as a GET without the body, and the 200 of the login page counted
    assert post_json(f"{receiver}/redirect", {"a": 1}, pause_s=0) == (
        False,
        "HTTP 302: a redirect, not followed (give the final URL)",
    )
    assert [path for path, _ in _Receiver.received] == ["/redirect"]
    delivered, detail = post_json(f"{receiver}/broken", {"a": 1}, pause_s=0)
    assert (delivered, detail) == (False, "HTTP 500 (after 3 attempts)")
    assert [path for path, _ in _Receiver.received].count("/broken") == 3
    assert post_json(f"{receiver}/flaky", {"a": 1}, pause_s=0) == (True, "HTTP 204")


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []
    fail_paths: set[str] = set()

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, body))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/login")
        elif self.path == "/flaky":  # fails the first time only
            first = [p for p, _ in type(self).received].count("/flaky") == 1
            self.send_response(503 if first else 204)
        else:
            self.send_response(500 if self.path in self.fail_paths else 204)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        type(self).received.append((self.path, {}))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    _Receiver.fail_paths = {"/broken"}
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_notify_posts_each_change_once_and_logs_delivery(budget_build, receiver, monkeypatch):
    monkeypatch.setattr("flowledger.budgets.notify.RETRY_PAUSE_S", 0)
    documents = list(yaml.safe_load_all(budget_build.slos_path.read_text()))
    for doc in documents:
        if doc["metadata"]["name"] == "pay-success":
            doc["spec"]["notifications"] = {
                "webhooks": [
                    {"url": f"{receiver}/json"},
                    {"url": f"{receiver}/slack", "format": "slack"},
                ],
                "dashboardUrl": "http://dash.example",
            }
        if doc["metadata"]["name"] == "pay-attempts":
            doc["spec"]["notifications"] = {"webhooks": [{"url": f"{receiver}/broken"}]}
    config = parse_documents(documents)
    entries = notify(budget_build.data_dir, config)
    pay = [e for e in entries if e["slo_id"] == "pay-success"]
    # Four alerts started firing and the state, first seen, is EXHAUSTED: five changes.
    assert [(e["kind"], e["subject"]) for e in pay] == [
        ("alert_started", "page-1h"),
        ("alert_started", "page-6h"),
        ("alert_started", "ticket-1d"),
        ("alert_started", "ticket-3d"),
        ("state_changed", "state"),
    ]
    assert all(e["delivered"] for e in pay)
    json_bodies = [body for path, body in _Receiver.received if path == "/json"]
    slack_bodies = [body for path, body in _Receiver.received if path == "/slack"]
    assert len(json_bodies) == len(slack_bodies) == 5
    state = json_bodies[-1]
    assert state["change"] == "state_changed" and (state["from"], state["to"]) == (
        "none",
        "EXHAUSTED",
    )
    assert state["text"].startswith("pay-success: policy state EXHAUSTED (first notification")
    assert state["dashboard_url"] == "http://dash.example/error-budgets?slo=pay-success"
    assert state["budget_remaining"] == pytest.approx(1 - 5 / 1.07)
    assert set(slack_bodies[-1]) == {"text"}
    assert "<http://dash.example/error-budgets?slo=pay-success|" in slack_bodies[-1]["text"]
    broken = [e for e in entries if e["slo_id"] == "pay-attempts"]
    assert broken and not any(e["delivered"] for e in broken)
    assert broken[0]["deliveries"][0]["detail"] == "HTTP 500 (after 3 attempts)"
    # SLOs without webhooks are logged as not delivered.
    assert not [e for e in entries if e["slo_id"] == "sliced-ratio"][0]["delivered"]
    log = (budget_build.data_dir.root / "budgets" / "notifications.ndjson").read_text().splitlines()
    assert len(log) == len(entries)
    # A second run sends again what was not delivered, and nothing else.
    sent = len(_Receiver.received)
    again = notify(budget_build.data_dir, config)
    assert [(e["slo_id"], e["kind"], e["subject"]) for e in again] == [
        (e["slo_id"], e["kind"], e["subject"]) for e in broken
    ]
    assert {path for path, _ in _Receiver.received[sent:]} == {"/broken"}
    # once the hook answers, the pending changes are delivered, and then nothing is pending
    _Receiver.fail_paths = set()
    assert all(e["delivered"] for e in notify(budget_build.data_dir, config))
    assert notify(budget_build.data_dir, config) == []
