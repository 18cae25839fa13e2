"""Webhook notifications when a burn-rate alert starts or stops firing or a policy state changes.

``flowledger budget notify`` compares the published marts with what was last notified
(``<data dir>/budgets/notified.json``), POSTs one message per change to the SLO's webhooks (plain
JSON, or Slack's ``{"text": …}``), and appends every change with its delivery outcome to
``<data dir>/budgets/notifications.ndjson``. A delivery is tried three times (a 5xx, a 429 or
a network error) and counts only with a 2xx answer: a redirect is not followed (a moved hook or
a login page would swallow every page). A change not delivered to every webhook stays pending:
``notified.json`` keeps the signal as it was, so the next run sends it again. An SLO seen for the
first time is announced only when it is not HEALTHY or has alerts firing, as its first state.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from flowledger.budgets.config import BudgetConfig, Webhook, redacted_url
from flowledger.budgets.report import load_report, plain
from flowledger.settings import DataDir

DASHBOARD_ENV = "FLOWLEDGER_DASHBOARD_URL"
DEFAULT_DASHBOARD = "http://127.0.0.1:8501"
#: What an SLO seen for the first time is compared with: no state yet, no alert firing.
BASELINE: dict[str, Any] = {"state": None, "firing": []}
#: A first state worth a message: anything but HEALTHY.
QUIET_FIRST_STATE = "HEALTHY"
#: Delivery attempts of one message, and the pause before each retry (seconds).
ATTEMPTS = 3
RETRY_PAUSE_S = 0.5


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

    An SLO seen for the first time has no state before (``none``): its state is a change only
    when it is not HEALTHY (a first run does not announce transitions that never happened).
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
        first = before["state"] is None
        if now["state"] != before["state"] and not (first and now["state"] == QUIET_FIRST_STATE):
            found.append(
                Change(slo_id, "state_changed", "state", before["state"] or "none", now["state"])
            )
    return found


def notified(
    previous: dict[str, dict], current: dict[str, dict], delivered: list[Change]
) -> dict[str, dict]:
    """What was notified after this run: each SLO's signals as they are now, except what a
    change not delivered touches, which stays as it was (so the next run finds it again)."""
    result = {slo_id: dict(signal) for slo_id, signal in previous.items()}
    pending = {(c.slo_id, c.kind, c.subject) for c in changes(previous, current)} - {
        (c.slo_id, c.kind, c.subject) for c in delivered
    }
    for slo_id, now in current.items():
        before = previous.get(slo_id, BASELINE)
        firing = {a for a in now["firing"] if (slo_id, "alert_started", a) not in pending} | {
            a for a in before["firing"] if (slo_id, "alert_stopped", a) in pending
        }
        state = before["state"] if (slo_id, "state_changed", "state") in pending else now["state"]
        result[slo_id] = {"state": state, "firing": sorted(firing)}
    return result


def dashboard_link(base: str, slo_id: str) -> str:
    return f"{base.rstrip('/')}/error-budgets?slo={quote(slo_id, safe='')}"


def message(change: Change, budget: dict[str, Any], link: str) -> dict[str, Any]:
    """The JSON body of one notification."""
    if change.kind == "state_changed" and change.before == "none":
        text = f"{change.slo_id}: policy state {change.after} (first notification of this SLO)"
    elif change.kind == "state_changed":
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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the answer: urllib would follow it as a GET without the body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post_json(
    url: str,
    payload: dict[str, Any],
    timeout_s: float = 5.0,
    attempts: int = ATTEMPTS,
    pause_s: float = RETRY_PAUSE_S,
) -> tuple[bool, str]:
    """POST ``payload``; (delivered, detail): delivered only with a 2xx answer. A 5xx, a 429
    or a network error is tried again, ``attempts`` times in all. Never raises; the detail
    never holds the URL's path (webhook URLs carry secrets)."""
    detail = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause_s * attempt)
        delivered, detail, retry = _post_once(url, payload, timeout_s)
        if delivered or not retry:
            return delivered, detail
    return False, f"{detail} (after {attempts} attempts)"


def _post_once(url: str, payload: dict[str, Any], timeout_s: float) -> tuple[bool, str, bool]:
    headers = {"Content-Type": "application/json"}
    try:
        parts = urlsplit(url)
        if parts.username is not None:  # user:password@ in the URL: HTTP basic authentication
            credentials = f"{parts.username}:{parts.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
            netloc = parts.hostname or ""
            netloc += f":{parts.port}" if parts.port else ""
            url = parts._replace(netloc=netloc).geturl()
        request = urllib.request.Request(
            url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        with _OPENER.open(request, timeout=timeout_s) as response:
            return 200 <= response.status < 300, f"HTTP {response.status}", False
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            return False, f"HTTP {error.code}: a redirect, not followed (give the final URL)", False
        return False, f"HTTP {error.code}", error.code >= 500 or error.code == 429
    except (ValueError, http.client.InvalidURL) as error:
        return False, f"not a usable URL ({type(error).__name__})", False
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        return False, f"{type(error).__name__}: {reason}", True


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
    done: list[Change] = []
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
                    "url": redacted_url(hook.url),
                    "format": hook.format,
                    "delivered": delivered,
                    "detail": detail,
                }
            )
        entry["delivered"] = bool(targets) and all(d["delivered"] for d in entry["deliveries"])
        # an SLO without webhooks has nothing to deliver: its change is logged, not pending
        if entry["delivered"] or not targets:
            done.append(change)
        entries.append(entry)
    if not dry_run:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a") as log:
            for entry in entries:
                log.write(json.dumps(entry) + "\n")
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(notified(previous, current, done), indent=2, sort_keys=True))
        os.replace(tmp, state_path)
    return entries


def _paths(data_dir: DataDir) -> tuple[Path, Path]:
    folder = data_dir.root / "budgets"
    return folder / "notified.json", folder / "notifications.ndjson"
