"""Webhook notifications: change detection (pure) and delivery to a receiver on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml

from flowledger.budgets.config import parse_documents
from flowledger.budgets.notify import Change, changes, notify, redact


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


def test_redact_keeps_no_secret_path():
    assert redact("https://hooks.slack.com/services/T000/B000/XXXX") == "https://hooks.slack.com/…"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []
    fail_paths: set[str] = set()

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, body))
        self.send_response(500 if self.path in self.fail_paths else 204)
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
def test_notify_posts_each_change_once_and_logs_delivery(budget_build, receiver):
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
    # Four alerts started firing and the state went HEALTHY → EXHAUSTED: five changes.
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
        "HEALTHY",
        "EXHAUSTED",
    )
    assert state["dashboard_url"] == "http://dash.example/error-budgets?slo=pay-success"
    assert state["budget_remaining"] == pytest.approx(1 - 5 / 1.07)
    assert set(slack_bodies[-1]) == {"text"}
    assert "<http://dash.example/error-budgets?slo=pay-success|" in slack_bodies[-1]["text"]
    broken = [e for e in entries if e["slo_id"] == "pay-attempts"]
    assert broken and not any(e["delivered"] for e in broken)
    assert broken[0]["deliveries"][0]["detail"] == "HTTP 500"
    # SLOs without webhooks are logged as not delivered.
    assert not [e for e in entries if e["slo_id"] == "sliced-ratio"][0]["delivered"]
    log = (budget_build.data_dir.root / "budgets" / "notifications.ndjson").read_text().splitlines()
    assert len(log) == len(entries)
    # Nothing changed: a second run sends nothing.
    sent = len(_Receiver.received)
    assert notify(budget_build.data_dir, config) == []
    assert len(_Receiver.received) == sent
