"""The demo SLOs (config/slos.yml) on data directories built through the real CLI (`flowledger
ingest`, `flowledger build`) where their flows never ran, or ran in a few hours of the window.

No data is not good service (OpenSLO, SRE Workbook; the reference's insufficient-data rule): a
Timeslices slice without runs is neither good nor bad. Before, `shipment-tracking-availability`
(28d of 1h slices) counted its 672 empty slices good and was HEALTHY with burn rates 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from budget_world import published_budgets
from streamlit.testing.v1 import AppTest

from flowledger.cli import main
from flowledger.settings import PROJECT_ROOT, DataDir
from flowledger.warehouse import open_published

pytestmark = pytest.mark.slow

AS_OF = datetime(2026, 3, 11, 12, 0, 0)
H = timedelta(hours=1)
TRACKING = "shipment-tracking-availability"
BURN_COLUMNS = [f"burn_rate_{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "period")]
#: Every demo SLO and its kind: none of them has a run or a decided case in these worlds.
DEMO_SLOS = {
    "payment-capture-success": "Occurrences, run outcomes",
    "invoice-post-success": "Occurrences, run outcomes",
    "warehouse-dispatch-success": "Occurrences, run outcomes",
    "order-intake-latency/p90-2m": "latency",
    "order-intake-latency/p99-10m": "latency",
    "order-shipped-48h": "event pair",
    TRACKING: "Timeslices",
    "payment-reconcile-success": "RatioTimeslices",
}


def _event(event_id: str, event_type: str, at: datetime, order_id: str) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/test",
        "type": event_type,
        "time": at.isoformat() + "Z",
        "data": {"order_id": order_id},
    }


#: A payment captured and its order shipped a day later: business events, no flow run. The
#: newest (AS_OF) is the instant the budgets are evaluated at; the 48h deadline has not passed,
#: so the event pair has no decided case either.
EVENTS = [
    _event("e1", "com.acme.psp.payment.captured", AS_OF - 24 * H, "O1"),
    _event("e2", "com.acme.wms.order.shipped", AS_OF, "O1"),
]
#: An open order whose last event was two hours before AS_OF, and an event of another order
#: dated 2062 (a year typo): as-of stays AS_OF (the wall clock bounds it), so every budget below
#: is as without it and the open order has been idle two hours, not 36 years.
OPEN_ORDER = "O3"
FUTURE_EVENTS = [
    _event("e3", "com.acme.shop.order.placed", AS_OF - 2 * H, OPEN_ORDER),
    _event("e4", "com.acme.shop.order.placed", datetime(2062, 3, 11, 12), "O4"),
]


def _tracking_run(k: int, status: str) -> dict:
    """One run of the tracked flow 10 minutes into the hour k hours before AS_OF."""
    started = AS_OF - k * H + timedelta(minutes=10)
    return {
        "source_system": "test",
        "flow_id": "c2f-shipment-tracking",
        "flow_name": "Shipment tracking",
        "run_id": f"t{k}",
        "run_attempt": 1,
        "status": status,
        "started_at": started.isoformat() + "Z",
        "ended_at": (started + timedelta(seconds=1)).isoformat() + "Z",
    }


#: 12 hourly runs in the last 12 hours of the 28-day window (672 slices), the one 10 hours
#: before AS_OF failed: 12 slices with data, 11 good, 1 bad; 660 slices without data.
PARTIAL_RUNS = [_tracking_run(k, "failed" if k == 10 else "success") for k in range(1, 13)]


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _build(root: Path, files: dict[str, list[dict]]) -> Path:
    """Ingest the NDJSON files and build, through the CLI, with the demo SLO file."""
    home = root / "home"
    paths = []
    for name, records in files.items():
        path = root / name
        path.write_text("".join(json.dumps(record) + "\n" for record in records))
        paths.append(str(path))
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("FLOWLEDGER_SLOS", raising=False)
        patch.delenv("FLOWLEDGER_HOME", raising=False)
        assert main(["--data-dir", str(home), "ingest", *paths]) == 0
        assert main(["--data-dir", str(home), "build", "--quiet"]) == 0
    assert not (home / "slos.yml").exists()  # the demo SLOs of config/slos.yml
    return home


@pytest.fixture(scope="module")
def no_runs_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("no-runs"), {"events.ndjson": EVENTS})


@pytest.fixture(scope="module")
def partial_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(
        tmp_path_factory.mktemp("partial-runs"),
        {"events.ndjson": EVENTS + FUTURE_EVENTS, "runs.ndjson": PARTIAL_RUNS},
    )


def test_a_record_from_the_future_moves_no_as_of(partial_home: Path) -> None:
    with open_published(DataDir(partial_home)) as con:
        as_of = con.execute("select distinct as_of from fct_error_budgets").fetchall()
        idle = con.execute(
            "select idle_seconds from fct_cases where case_id = ?", [OPEN_ORDER]
        ).fetchall()
    assert as_of == [(AS_OF,)]
    assert idle == [(2 * 3600,)]


@pytest.mark.parametrize("slo_id", list(DEMO_SLOS))
def test_no_runs_means_no_data_for_every_slo_kind(no_runs_home, slo_id):
    budget = published_budgets(no_runs_home)[slo_id]
    assert budget["as_of"] == AS_OF
    assert (budget["good"], budget["total"]) == (0, 0), DEMO_SLOS[slo_id]
    assert budget["sli"] is None
    assert budget["budget_consumed"] is None and budget["budget_remaining"] is None
    assert budget["budget_remaining_units"] is None and budget["budget_remaining_raw"] is None
    # no budget in units either (it was 0.0 events), except Timeslices' (1 − T) · N
    if DEMO_SLOS[slo_id] != "Timeslices":
        assert budget["budget_total"] is None and budget["budget_total_raw"] is None
    assert {column: budget[column] for column in BURN_COLUMNS} == dict.fromkeys(BURN_COLUMNS)
    assert budget["hours_to_exhaustion"] is None
    assert budget["state"] == "INSUFFICIENT_DATA"
    assert budget["firing_alerts"] == "" and not budget["is_frozen"]
    assert budget["feasibility_warning"] == "no events in the period: the SLI is unknown, not good"


def test_timeslices_without_runs_keep_their_budget_size_but_spend_nothing_known(no_runs_home):
    tracking = published_budgets(no_runs_home)[TRACKING]
    # N = 28 d / 1 h = 672 slices, budget (1 − 0.99) · 672 = 6.72 slices: known in advance
    assert tracking["expected_units"] == 672
    assert tracking["budget_total"] == pytest.approx(6.72)
    with open_published(DataDir(no_runs_home)) as con:
        log = con.execute(
            "select to_state, reason from fct_error_budget_state_log where slo_id = ?", [TRACKING]
        ).fetchall()
        burndown = con.execute(
            "select count(burndown_remaining) from fct_error_budget_series where slo_id = ?",
            [TRACKING],
        ).fetchone()
    assert log == [("INSUFFICIENT_DATA", "no units in the period: no data")]
    assert burndown == (0,)


def test_cli_reports_no_data_not_healthy(no_runs_home, capsys):
    home = str(no_runs_home)
    code, out, _ = _cli(capsys, "--data-dir", home, "budget", "report", "--json")
    assert code == 0
    tracking = {s["slo_id"]: s for s in json.loads(out)["slos"]}[TRACKING]
    assert tracking["state"] == "INSUFFICIENT_DATA"
    assert (tracking["good"], tracking["total"], tracking["sli"]) == (0, 0, None)
    assert tracking["budget_remaining"] is None
    assert {w: r["burn_rate"] for w, r in tracking["burn_rates"].items()} == dict.fromkeys(
        ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "period"]
    )

    code, out, _ = _cli(capsys, "--data-dir", home, "budget", "report", "--slo", TRACKING)
    assert code == 0
    assert (
        f"| {TRACKING} | c2f-shipment-tracking | 99.000 % | 28d | Timeslices | 0 / 0 | n/a "
        "| n/a | INSUFFICIENT_DATA | - |"
    ) in out
    assert "- No data: no time slices with events in the period" in out
    assert "time to exhaustion at the 1h burn rate: unknown (no data)" in out
    assert "HEALTHY" not in out

    code, out, _ = _cli(capsys, "--data-dir", home, "budget", "gate", "c2f-shipment-tracking")
    assert code == 0  # no data is no freeze
    assert out.strip() == (
        f"ship: c2f-shipment-tracking is not frozen: {TRACKING} INSUFFICIENT_DATA (no data)"
    )


@pytest.fixture
def no_runs_page(no_runs_home, monkeypatch) -> Iterator[AppTest]:
    monkeypatch.setenv("FLOWLEDGER_HOME", str(no_runs_home))
    st.cache_data.clear()
    at = AppTest.from_file(
        str(PROJECT_ROOT / "dashboards" / "streamlit_app.py"), default_timeout=60
    ).run()
    at.switch_page("app_pages/error_budgets.py")
    at.query_params.clear()
    at.query_params.update({"slo": TRACKING})
    yield at.run()
    st.cache_data.clear()


def test_dashboard_shows_no_data_not_healthy(no_runs_page):
    at = no_runs_page
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox[0].value == TRACKING
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["State"] == "INSUFFICIENT_DATA"
    assert metrics["Budget remaining"] == "n/a" and metrics["SLI"] == "n/a"
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("No data: no time slices with events in the period") for w in warnings)
    captions = " ".join(c.value for c in at.caption)
    assert "slices: N = 672: 0 good, 0 bad, " in captions
    assert "without data (neither good nor bad)" in captions and "SLI = 1 − bad / N" in captions
    assert "Time to exhaustion at the 1h burn rate: unknown (no data)." in captions
    listing = at.dataframe[0].value
    assert "HEALTHY" not in listing["state"].tolist()


def test_partial_timeslices_count_only_slices_with_data(partial_home):
    tracking = published_budgets(partial_home)[TRACKING]
    # 12 slices with data of 672, one bad, 660 without data (neither good nor bad): budget 6.72
    # slices of which 1 is spent. The SLI and the period's burn rate have the budget's
    # denominator N (SLI 1 − 1/672, b_P = (1/672) / 0.01 = 1 − remaining): 11/12 = 91.7 % was
    # below the 99 % target while 85 % of the budget was left.
    assert (tracking["good"], tracking["total"]) == (11, 12)
    assert (tracking["slices_good"], tracking["slices_bad"]) == (11, 1)
    assert (tracking["slices_without_data"], tracking["slices_total"]) == (660, 672)
    assert tracking["sli"] == pytest.approx(1 - 1 / 672)
    assert tracking["budget_total"] == pytest.approx(6.72)
    assert tracking["budget_remaining"] == pytest.approx(1 - 1 / 6.72)
    assert tracking["burn_rate_period"] == pytest.approx(100 / 672)
    # the alert windows are over the slices with data: 3d holds the 12, one bad
    assert tracking["burn_rate_3d"] == pytest.approx(100 / 12)
    # the last hour's slice (ending at as_of) ran fine: 0, a measured burn rate
    assert tracking["burn_rate_1h"] == 0
    # 12 slices with data reach minEvents (10): a state, no alert (the 2h and 6h windows hold
    # no bad slice)
    assert tracking["state"] == "HEALTHY" and tracking["firing_alerts"] == ""
    with open_published(DataDir(partial_home)) as con:
        low_volume = dict(
            con.execute(
                "select window_name, is_low_volume from fct_error_budget_burn_rates "
                "where slo_id = ? and window_name in ('1h', 'period')",
                [TRACKING],
            ).fetchall()
        )
    # minEvents counts slices with data: 1 in the last hour is below it, 12 in the period not
    assert low_volume == {"1h": True, "period": False}


def _payment_run(k: int, status: str, *, ended: bool = True) -> dict:
    """A payment-capture run k hours before AS_OF; without ``ended_at`` when not ``ended``."""
    started = AS_OF - k * H
    run = {
        "source_system": "test",
        "flow_id": "c2f-payment-capture",
        "flow_name": "Payment capture",
        "run_id": f"p{k}",
        "run_attempt": 1,
        "status": status,
        "started_at": started.isoformat() + "Z",
    }
    if ended:
        run["ended_at"] = (started + timedelta(seconds=2)).isoformat() + "Z"
    return run


@pytest.fixture(scope="module")
def unended_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nine payment captures that ended well and one that failed without saying when it ended
    (a crashed worker): the failure is a bad unit at its start, as flow health counts it."""
    runs = [_payment_run(k, "success") for k in range(2, 11)]
    runs.append(_payment_run(1, "failed", ended=False))
    return _build(tmp_path_factory.mktemp("unended"), {"runs.ndjson": runs})


def test_a_failed_run_without_an_end_counts(unended_home: Path) -> None:
    budget = published_budgets(unended_home)["payment-capture-success"]
    assert (budget["good"], budget["total"]) == (9, 10)
    with open_published(DataDir(unended_home)) as con:
        failed = con.execute(
            "select sum(failed_runs) from fct_flow_health_hourly "
            "where flow_id = 'c2f-payment-capture'"
        ).fetchone()
    assert failed == (1,)
