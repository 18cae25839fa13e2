"""Webhook notifications when a burn-rate alert starts or stops firing or a policy state changes.

``flowledger budget notify`` compares the published marts with what was last notified
(``<data dir>/budgets/notified.json``), POSTs one message per change to the SLO's webhooks (plain
JSON, or Slack's ``{"text": …}``), and appends every change with its delivery outcome to
``<data dir>/budgets/notifications.ndjson``. A change is sent once: a failed delivery is logged,
not retried on the next run.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from flowledger.budgets.config import BudgetConfig, Webhook
from flowledger.budgets.report import load_report, plain
from flowledger.settings import DataDir

DASHBOARD_ENV = "FLOWLEDGER_DASHBOARD_URL"
DEFAULT_DASHBOARD = "http://127.0.0.1:8501"
BASELINE = {"state": "HEALTHY", "firing": []}


@dataclass(frozen=True)
class Change:
    slo_id: str
    kind: str  # alert_started | alert_stopped | state_changed
    subject: str  # alert name, or "state"
    before: str
    after: str


def signals(budgets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What notifications watch, per SLO: the policy state and the firing alerts."""
    return {
        b["slo_id"]: {
            "state": b["state"],
            "firing": sorted(a["alert_name"] for a in b["alerts"] if a["is_firing"]),
        }
        for b in budgets
    }


def changes(previous: dict[str, dict], current: dict[str, dict]) -> list[Change]:
    """Every alert that started or stopped firing and every state change, per SLO.

    An SLO seen for the first time is compared with HEALTHY and no alerts firing.
    """
    found = []
    for slo_id, now in sorted(current.items()):
        before = previous.get(slo_id, BASELINE)
        for alert in now["firing"]:
            if alert not in before["firing"]:
                found.append(Change(slo_id, "alert_started", alert, "ok", "firing"))
        for alert in before["firing"]:
            if alert not in now["firing"]:
                found.append(Change(slo_id, "alert_stopped", alert, "firing", "ok"))
        if now["state"] != before["state"]:
            found.append(Change(slo_id, "state_changed", "state", before["state"], now["state"]))
    return found


def dashboard_link(base: str, slo_id: str) -> str:
    return f"{base.rstrip('/')}/error-budgets?slo={quote(slo_id, safe='')}"


def message(change: Change, budget: dict[str, Any], link: str) -> dict[str, Any]:
    """The JSON body of one notification."""
    if change.kind == "state_changed":
        text = f"{change.slo_id}: policy state {change.before} → {change.after}"
    else:
        verb = "started firing" if change.kind == "alert_started" else "stopped firing"
        text = f"{change.slo_id}: burn-rate alert {change.subject} {verb}"
    remaining = budget.get("budget_remaining")
    if remaining is not None:
        text += f" (budget remaining {100 * remaining:.1f} %)"
    return plain(
        {
            "text": text,
            "slo_id": change.slo_id,
            "flow_id": budget.get("flow_id"),
            "change": change.kind,
            "subject": change.subject,
            "from": change.before,
            "to": change.after,
            "state": budget.get("state"),
            "budget_remaining": remaining,
            "firing_alerts": budget.get("firing_alerts"),
            "as_of": budget.get("as_of"),
            "dashboard_url": link,
        }
    )


def slack_payload(body: dict[str, Any]) -> dict[str, Any]:
    return {"text": f"{body['text']} <{body['dashboard_url']}|open the error-budget page>"}


def post_json(url: str, payload: dict[str, Any], timeout_s: float = 5.0) -> tuple[bool, str]:
    """POST ``payload``; (delivered, detail). Never raises for network or HTTP errors."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return 200 <= response.status < 300, f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"{type(error).__name__}: {getattr(error, 'reason', error)}"


def redact(url: str) -> str:
    """Webhook URLs carry secrets in their path (Slack): keep scheme, host and port only."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def notify(
    data_dir: DataDir,
    config: BudgetConfig,
    *,
    post: Callable[[str, dict[str, Any]], tuple[bool, str]] = post_json,
    dry_run: bool = False,
) -> list[dict[str, Any]]:
    """Send one message per change since the last run; return the change-log entries written."""
    budgets = {b["slo_id"]: b for b in load_report(data_dir)}
    state_path, log_path = _paths(data_dir)
    previous = json.loads(state_path.read_text()) if state_path.exists() else {}
    current = signals(list(budgets.values()))
    hooks: dict[str, tuple[Webhook, ...]] = {s.slo_id: s.webhooks for s in config.objectives}
    bases = {s.slo_id: s.dashboard_url for s in config.objectives}
    entries = []
    for change in changes(previous, current):
        budget = budgets[change.slo_id]
        base = bases.get(change.slo_id) or os.environ.get(DASHBOARD_ENV) or DEFAULT_DASHBOARD
        body = message(change, budget, dashboard_link(base, change.slo_id))
        targets = hooks.get(change.slo_id, ())
        entry = {**asdict(change), "as_of": body["as_of"], "text": body["text"], "deliveries": []}
        for hook in targets:
            payload = slack_payload(body) if hook.format == "slack" else body
            delivered, detail = (False, "dry run") if dry_run else post(hook.url, payload)
            entry["deliveries"].append(
                {
                    "url": redact(hook.url),
                    "format": hook.format,
                    "delivered": delivered,
                    "detail": detail,
                }
            )
        entry["delivered"] = bool(targets) and all(d["delivered"] for d in entry["deliveries"])
        entries.append(entry)
    if not dry_run:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a") as log:
            for entry in entries:
                log.write(json.dumps(entry) + "\n")
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(current, indent=2, sort_keys=True))
        os.replace(tmp, state_path)
    return entries


def _paths(data_dir: DataDir) -> tuple[Path, Path]:
    folder = data_dir.root / "budgets"
    return folder / "notified.json", folder / "notifications.ndjson"
