"""A hand-made world whose error budgets are known by construction (see each block's numbers).

Everything is relative to AS_OF = 2024-03-31 12:00 UTC, the instant the budgets are evaluated.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from flowledger.settings import DataDir
from flowledger.warehouse import open_published

AS_OF = datetime(2024, 3, 31, 12, 0, 0)
H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)


def _ts(value: datetime) -> str:
    return value.isoformat(sep=" ")


def _run(flow, run_id, started, *, status="success", attempt=1, key=None, version="1.0",
         error=None, seconds=1.0):  # fmt: skip
    return {
        "source_system": "test",
        "tenant": "acme",
        "flow_id": flow,
        "flow_name": flow,
        "flow_version": version,
        "run_id": run_id,
        "run_attempt": attempt,
        "trigger": "webhook",
        "status": status,
        "started_at": _ts(started),
        "ended_at": _ts(started + timedelta(seconds=seconds)),
        "error_type": error,
        "idempotency_key": key or run_id,
    }


def _step(run, step_id, system, status, error=None):
    return {
        "source_system": "test",
        "run_id": run["run_id"],
        "run_attempt": run["run_attempt"],
        "step_id": step_id,
        "attempt": 1,
        "flow_id": run["flow_id"],
        "step_name": step_id,
        "step_type": "http",
        "status": status,
        "started_at": run["started_at"],
        "ended_at": run["ended_at"],
        "error_type": error,
        "system": system,
    }


FLOW_RUNS: list[dict] = []
STEP_RUNS: list[dict] = []

# --- flow "pay": SLO pay-success (outcome, 30d rolling, 99 %) ------------------------------
# 100 runs every 5h from AS_OF − 600h (r0 … r99), version 1.0 below r50 and 2.0 from r50.
# r10, r20, r30 fail in step capture (psp, validation_error); r60 fails in notify (mail,
# timeout). Key k-retry fails at −50h then succeeds at −49h (outcome good; 2 attempts).
# Last hour: runs at −50, −40, −30, −20 min succeed, −10 min fails, −4 min succeeds, −2 min
# fails (both failures in capture/psp/timeout, version 2.0).
# Outcomes in the window: 100 + 1 + 7 = 108, bad 4 + 2 = 6.
PAY_RUN_START = AS_OF - 600 * H
for i in range(100):
    failing = {10: ("capture", "psp", "validation_error"), 20: ("capture", "psp", "validation_error"),
               30: ("capture", "psp", "validation_error"), 60: ("notify", "mail", "timeout")}.get(i)  # fmt: skip
    run = _run(
        "pay",
        f"r{i}",
        PAY_RUN_START + 5 * i * H,
        status="failed" if failing else "success",
        version="1.0" if i < 50 else "2.0",
        error=failing[2] if failing else None,
    )
    FLOW_RUNS.append(run)
    if failing:
        STEP_RUNS.append(_step(run, "receive", "shop", "success"))
        STEP_RUNS.append(_step(run, failing[0], failing[1], "failed", failing[2]))
FLOW_RUNS.append(_run("pay", "rx", AS_OF - 50 * H, status="failed", key="k-retry",
                      version="2.0", error="timeout"))  # fmt: skip
FLOW_RUNS.append(_run("pay", "rx", AS_OF - 49 * H, attempt=2, key="k-retry", version="2.0"))
for minutes, ok in ((50, True), (40, True), (30, True), (20, True), (10, False), (4, True), (2, False)):  # fmt: skip
    run = _run("pay", f"recent-{minutes}", AS_OF - minutes * M - 1 * S,
               status="success" if ok else "failed", version="2.0",
               error=None if ok else "timeout")  # fmt: skip
    FLOW_RUNS.append(run)
    if not ok:
        STEP_RUNS.append(_step(run, "capture", "psp", "failed", "timeout"))
# SLO pay-anchored: monthly periods anchored at the 15th, 09:00 in New York (OpenSLO's
# calendar.startTime, unquoted as in its examples). AS_OF is 08:00 EDT on 31 March, so the period
# is 15 March 09:00 EDT (13:00 UTC, AS_OF − 383h) to 15 April: r44 (ends −380h + 1s) … r99, rx's
# final attempt and the last hour's 7: 56 + 1 + 7 = 64 outcomes, bad r60 and 2 recent = 3.
PAY_ANCHOR = "2024-01-15 09:00:00"
# SLO pay-fortnight: 2w calendar periods in UTC without a startTime, the fortnights from Monday
# 1 January 2001: 25 March 00:00 (AS_OF − 156h) to 8 April. It holds r89 (−155h) … r99, rx's
# final attempt and the last hour's 7: 11 + 1 + 7 = 19 outcomes, 2 bad (target 0.9: the budget
# is 1.9 outcomes). The fortnight before, from 11 March (−492h), holds r22 … r88: 67 outcomes,
# r30 and r60 bad.
# r10 ends at AS_OF − 550h + 1s: the incident declared for pay-success covers it.
INCIDENT_START = AS_OF - 551 * H
INCIDENT_MINUTES = 120

# --- flow "ship": 50 successful runs, one every 4h from AS_OF − 200h; run j lasts j + 1 s ----
for j in range(50):
    FLOW_RUNS.append(_run("ship", f"s{j}", AS_OF - 200 * H + 4 * j * H, seconds=j + 1))

# --- flow "sliced": three SLOs that differ only in their budgeting method --------------------
# Slice 10:00-11:00: 9 good + 1 bad (ratio 0.9); slice 11:00-12:00: 1 good + 1 bad (0.5).
for k in range(10):
    FLOW_RUNS.append(_run("sliced", f"a{k}", AS_OF - 2 * H + (5 + 5 * k) * M,
                          status="failed" if k == 9 else "success"))  # fmt: skip
FLOW_RUNS.append(_run("sliced", "b0", AS_OF - 50 * M))
FLOW_RUNS.append(_run("sliced", "b1", AS_OF - 40 * M, status="failed"))

# --- flow "spent": a budget spent exactly (SLOs spent-ratio, target 0.999, and spent-percent,
# targetPercent 99.9, 30d rolling) ---------------------------------------------------------------
# 999 successful runs every 30 min from AS_OF − 500h, then one failure at AS_OF − 10 min: 1000
# outcomes, budget 0.001 · 1000 = 1 run, 1 bad: remaining exactly 0, EXHAUSTED in both forms.
for n in range(999):
    FLOW_RUNS.append(_run("spent", f"sp{n}", AS_OF - 500 * H + 30 * n * M))
FLOW_RUNS.append(_run("spent", "sp-failed", AS_OF - 10 * M, status="failed", error="timeout"))

# --- business events: payment captured -> order shipped within 48h ---------------------------
PAID = "com.test.order.paid"
SHIPPED = "com.test.order.shipped"
_EVENTS = [
    ("e1", PAID, AS_OF - 240 * H, "O1"),
    ("e2", SHIPPED, AS_OF - 216 * H, "O1"),  # 24h: good
    ("e3", PAID, AS_OF - 240 * H, "O2"),
    ("e4", SHIPPED, AS_OF - 168 * H, "O2"),  # 72h: late
    ("e5", PAID, AS_OF - 240 * H, "O3"),  # never shipped: missing
    ("e6", PAID, AS_OF - 24 * H, "O4"),
    ("e7", SHIPPED, AS_OF - 20 * H, "O4"),  # in flight (deadline ahead), already met
    ("e8", PAID, AS_OF - 24 * H, "O5"),  # in flight
    ("e9", PAID, AS_OF - 120 * H, "O6"),
    ("e10", PAID, AS_OF - 108 * H, "O6"),  # a second start: the first one counts
    ("e11", SHIPPED, AS_OF - 96 * H, "O6"),  # 24h after the first start: good
    ("e12", SHIPPED, AS_OF + 1 * H, "O5"),  # after as_of: not seen yet
]
BUSINESS_EVENTS = [
    {
        "id": eid,
        "source": "shop",
        "type": etype,
        "time": _ts(at),
        "data": f'{{"order_id": "{order}"}}',
        "specversion": "1.0",
    }  # fmt: skip
    for eid, etype, at, order in _EVENTS
]


def slos_yaml() -> str:
    """The SLO file of this world (AS_OF-relative times filled in)."""
    start = INCIDENT_START.isoformat() + "Z"
    return f"""
apiVersion: openslo/v1
kind: SLO
metadata: {{name: pay-success}}
spec:
  service: pay
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  objectives: [{{target: 0.99}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: pay-attempts}}
spec:
  service: pay
  indicator: {{kind: runSuccess, countBy: attempt}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  objectives: [{{target: 0.99}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: pay-month}}
spec:
  service: pay
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 1M, isRolling: false, calendar: {{timeZone: Europe/Berlin}}}}]
  objectives: [{{targetPercent: 99}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: pay-anchored}}
spec:
  service: pay
  indicator: {{kind: runSuccess}}
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar: {{startTime: {PAY_ANCHOR}, timeZone: America/New_York}}
  objectives: [{{target: 0.99}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: pay-fortnight}}
spec:
  service: pay
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 2w, isRolling: false, calendar: {{timeZone: UTC}}}}]
  objectives: [{{target: 0.9}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: ship-success}}
spec:
  service: ship
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 28d, isRolling: true}}]
  objectives: [{{target: 0.9}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: ship-latency}}
spec:
  service: ship
  indicator: {{kind: latency, span: run}}
  timeWindow: [{{duration: 28d, isRolling: true}}]
  objectives:
    - {{name: fast, value: 10s, target: 0.1}}
    - {{name: slow, value: 60s, target: 0.9}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: sliced-occurrences}}
spec:
  service: sliced
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.9}}]
  policy: {{minEvents: 1}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: sliced-timeslices}}
spec:
  service: sliced
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: Timeslices
  objectives: [{{target: 0.9, timeSliceTarget: 0.9, timeSliceWindow: 1h}}]
  policy: {{minEvents: 1}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: sliced-ratio}}
spec:
  service: sliced
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: RatioTimeslices
  objectives: [{{target: 0.9, timeSliceWindow: 1h}}]
  policy: {{minEvents: 1}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: order-shipped}}
spec:
  service: orders
  indicator: {{kind: eventPair, startEvent: {PAID}, endEvent: {SHIPPED}, joinKey: order_id, deadline: 48h}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  objectives: [{{target: 0.5}}]
  policy: {{minEvents: 1}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: ship-strict}}
spec:
  service: ship
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 28d, isRolling: true}}]
  objectives: [{{targetPercent: 99.9}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: sliced-tiny}}
spec:
  service: sliced
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  objectives: [{{target: 0.99}}]
  policy: {{minEvents: 20}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: ghost-success}}
spec:
  service: ghost
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  objectives: [{{target: 0.99}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: spent-ratio}}
spec:
  service: spent
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  objectives: [{{target: 0.999}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: spent-percent}}
spec:
  service: spent
  indicator: {{kind: runSuccess}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  objectives: [{{targetPercent: 99.9}}]
---
apiVersion: openslo/v1
kind: BudgetAdjustment
metadata: {{name: psp-incident}}
spec:
  kind: incident
  start: "{start}"
  duration: {INCIDENT_MINUTES}m
  slos: [pay-success]
"""


def published_budgets(home: Path) -> dict[str, dict]:
    """``fct_error_budgets`` of ``home``'s published snapshot: SLO id → its row by column."""
    with open_published(DataDir(home)) as con:
        cursor = con.execute("select * from fct_error_budgets")
        names = [column[0] for column in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
