"""Timeslices through the real CLI (`flowledger ingest`, `flowledger budget build --at`): the SLI
has the budget's denominator N, the report says what the slice counts are, and slices follow
the local days of a calendar window's time zone (docs/error-budgets.md, "Windows and budgeting
methods").

Before: 7 days of 1m slices with one run an hour, one failed, gave SLI 167/168 = 99.40 % (the
slices with traffic) beside a budget over N = 10080 slices with 0.79 % left, HEALTHY; and March
2026 in New York with 1d slices had N = 743 h / 24 h = 30.958 UTC days, the run at 23:30 EST on
28 February counting in 1 March's UTC day.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from budget_world import published_budgets

from flowledger.cli import main

pytestmark = pytest.mark.slow

AS_OF = datetime(2026, 3, 20, 12, 0, 0)
H = timedelta(hours=1)
SLOS = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: ts7}
spec:
  service: ts7
  indicator: {kind: runSuccess}
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{target: 0.9999, timeSliceTarget: 0.99, timeSliceWindow: 1m}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: tsny}
spec:
  service: tsny
  indicator: {kind: runSuccess}
  timeWindow: [{duration: 1M, isRolling: false, calendar: {timeZone: America/New_York}}]
  budgetingMethod: Timeslices
  objectives: [{target: 0.9, timeSliceTarget: 0.9, timeSliceWindow: 1d}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: rtsny}
spec:
  service: tsny
  indicator: {kind: runSuccess}
  timeWindow: [{duration: 1M, isRolling: false, calendar: {timeZone: America/New_York}}]
  budgetingMethod: RatioTimeslices
  objectives: [{target: 0.9, timeSliceWindow: 1d}]
"""


def _run(flow: str, run_id: str, started: datetime, status: str = "success") -> dict:
    return {
        "source_system": "test",
        "flow_id": flow,
        "flow_name": flow,
        "run_id": run_id,
        "run_attempt": 1,
        "status": status,
        "started_at": started.isoformat() + "Z",
        "ended_at": (started + timedelta(seconds=1)).isoformat() + "Z",
    }


#: ts7: one run 10 minutes into each of the 168 hours of the 7-day window, the one 100 hours
#: before AS_OF failed: 168 one-minute slices with data (167 good, 1 bad) of N = 10080.
TS7_RUNS = [
    _run("ts7", f"h{k}", AS_OF - k * H + timedelta(minutes=10), "failed" if k == 100 else "success")
    for k in range(1, 169)
]
#: tsny: a good run at 16:00 UTC on each of 1-19 March 2026 (11:00 EST, from the 8th 12:00 EDT),
#: and a failed one at 04:30 UTC on 1 March, 23:30 EST on 28 February: February's.
TSNY_RUNS = [_run("tsny", f"d{day}", datetime(2026, 3, day, 16)) for day in range(1, 20)] + [
    _run("tsny", "feb", datetime(2026, 3, 1, 4, 30), "failed")
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("timeslices")
    home = root / "home"
    home.mkdir()
    (home / "slos.yml").write_text(SLOS)
    runs = root / "runs.ndjson"
    runs.write_text("".join(json.dumps(r) + "\n" for r in TS7_RUNS + TSNY_RUNS))
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("FLOWLEDGER_SLOS", raising=False)
        patch.delenv("FLOWLEDGER_HOME", raising=False)
        assert main(["--data-dir", str(home), "ingest", str(runs)]) == 0
        at = AS_OF.isoformat() + "Z"
        assert main(["--data-dir", str(home), "budget", "build", "--at", at, "--quiet"]) == 0
    return home


def _report(home: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["--data-dir", str(home), "budget", "report", *argv]) == 0
    return capsys.readouterr().out


def test_timeslices_sli_has_the_budgets_denominator(home):
    ts7 = published_budgets(home)["ts7"]
    # budget (1 − 0.9999) · 10080 = 1.008 slices, 1 spent: 1 − 1/1.008 left
    assert ts7["budget_total"] == pytest.approx(1.008)
    assert ts7["budget_remaining"] == pytest.approx(1 - 1 / 1.008)
    # SLI 1 − 1/10080 = 99.990 % ≥ 99.99 %, as budget is left (not 167/168 = 99.40 %)
    assert ts7["sli"] == pytest.approx(1 - 1 / 10080)
    assert ts7["sli"] >= ts7["target"]
    assert ts7["slices_total"] == 10080 and ts7["slices_elapsed"] == 10080
    assert (ts7["slices_good"], ts7["slices_bad"], ts7["slices_without_data"]) == (167, 1, 9912)
    assert ts7["slices_with_data"] == 168
    # the period's burn rate is over N too: remaining = 1 − b_P
    assert ts7["burn_rate_period"] == pytest.approx(1 - ts7["budget_remaining"])
    assert ts7["state"] == "HEALTHY"


def test_report_says_what_the_slices_are(home, capsys):
    out = _report(home, capsys, "--slo", "ts7")
    assert (
        "- slices: N = 10080: 167 good, 1 bad, 9912 without data (neither good nor bad); "
        "SLI = 1 − bad / N, budget (1 − T) · N slices"
    ) in out
    data = json.loads(_report(home, capsys, "--slo", "ts7", "--json"))["slos"][0]
    assert (data["slices_total"], data["slices_good"], data["slices_bad"]) == (10080, 167, 1)
    assert data["slices_without_data"] == 9912
    assert data["sli"] == round(1 - 1 / 10080, 12)


def test_calendar_slices_are_the_local_days(home):
    tsny = published_budgets(home)["tsny"]
    # March 2026 in New York: 31 local days (one of 23 h), N = 31, budget 0.1 · 31 = 3.1
    assert tsny["expected_units"] == 31
    assert tsny["budget_total"] == pytest.approx(3.1)
    # 1-19 March are over; the failed run at 23:30 EST on 28 February is February's
    assert (tsny["good"], tsny["total"]) == (19, 19)
    assert tsny["budget_remaining"] == 1.0 and tsny["sli"] == 1.0
    assert tsny["slices_total"] == 31 and tsny["slices_elapsed"] == 19
    assert (tsny["slices_good"], tsny["slices_bad"], tsny["slices_without_data"]) == (19, 0, 0)


def test_ratio_timeslices_count_the_slices_with_data(home, capsys):
    rtsny = published_budgets(home)["rtsny"]
    # budget over the slices with data: 0.1 · 19 (the run on 28 February, 23:30 EST, is not in
    # 1 March's slice: 0.5 there, 18.5 / 19); the SLI their mean ratio, 1
    assert rtsny["budget_total"] == pytest.approx(1.9)
    assert rtsny["sli"] == 1.0
    assert (rtsny["slices_total"], rtsny["slices_with_data"]) == (31, 19)
    assert rtsny["slices_good"] is None and rtsny["slices_bad"] is None
    out = _report(home, capsys, "--slo", "rtsny")
    assert (
        "- slices: N = 31: 19 with data, 0 without data (not counted); 12 still ahead in the "
        "period; SLI = mean ratio of the slices with data, budget (1 − T) · slices with data"
    ) in out
