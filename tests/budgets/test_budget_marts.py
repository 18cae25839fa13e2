"""The error-budget marts over the hand-made world: every figure computed by hand (see
budget_world.py for the world and the counts)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from budget_world import AS_OF, H

pytestmark = pytest.mark.slow


def test_outcome_budget_negative_remaining_raw_and_adjusted(budget_build):
    # Raw: 108 outcomes, 6 bad; budget 0.01 · 108 = 1.08 events; remaining 1 − 6 / 1.08.
    # Adjusted: the incident window removes r10 (bad): 107 outcomes, 5 bad.
    row = budget_build.budget("pay-success")
    assert row["as_of"] == AS_OF
    assert (row["total_raw"], row["bad_raw"]) == (108, 6)
    assert row["budget_remaining_raw"] == pytest.approx(1 - 6 / 1.08)
    assert (row["total"], row["bad"]) == (107, 5)
    assert row["sli"] == pytest.approx(102 / 107)
    assert row["budget_total"] == pytest.approx(1.07)
    assert row["budget_consumed"] == pytest.approx(5 / 1.07)
    assert row["budget_remaining"] == pytest.approx(1 - 5 / 1.07)
    assert row["budget_remaining"] < 0
    assert row["budget_remaining_units"] == pytest.approx(1.07 - 5)
    assert row["state"] == "EXHAUSTED" and row["is_frozen"]
    assert row["hours_to_exhaustion"] == 0


def test_attempt_counting_sees_the_retried_failure(budget_build):
    # Every attempt: 109 attempts (k-retry twice), 7 failed.
    row = budget_build.budget("pay-attempts")
    assert (row["total"], row["bad"]) == (109, 7)
    assert row["budget_remaining"] == pytest.approx(1 - 7 / 1.09)


def test_burn_rates_per_window(budget_build):
    rates = {
        r["window_name"]: r
        for r in budget_build.records(
            "select * from fct_error_budget_burn_rates where slo_id = 'pay-success'"
        )
    }
    # Last 5 min: −4 min good, −2 min bad; last 30 min: −20, −10, −4, −2; last hour: 7 runs.
    assert (rates["5m"]["total"], rates["5m"]["bad"]) == (2, 1)
    assert rates["5m"]["burn_rate"] == pytest.approx(0.5 / 0.01)
    assert (rates["30m"]["total"], rates["30m"]["bad"]) == (4, 2)
    assert (rates["1h"]["total"], rates["1h"]["bad"]) == (7, 2)
    assert rates["1h"]["burn_rate"] == pytest.approx((2 / 7) / 0.01)
    # 1d: nothing older than the last hour (r99 ended at −105h); 3d adds k-retry's final run (−49h).
    assert (rates["1d"]["total"], rates["3d"]["total"]) == (7, 8)
    assert rates["period"]["total"] == 107


def test_alert_factors_30_days_and_firing(budget_build):
    alerts = {
        a["alert_name"]: a
        for a in budget_build.records(
            "select * from fct_error_budget_alerts where slo_id = 'pay-success'"
        )
    }
    factors = {name: a["burn_rate_threshold"] for name, a in alerts.items()}
    assert factors == pytest.approx(
        {"page-1h": 14.4, "page-6h": 6.0, "ticket-1d": 3.0, "ticket-3d": 1.0}
    )
    assert alerts["page-1h"]["error_ratio_threshold"] == pytest.approx(0.144)
    # e_1h = 2/7 = 0.286 > 0.144 and e_5m = 0.5 > 0.144: the fast page fires, and so on.
    assert all(a["is_firing"] for a in alerts.values())
    row = budget_build.budget("pay-success")
    assert row["is_page_firing"] and row["is_ticket_firing"]
    assert row["firing_alerts"] == "page-1h, page-6h, ticket-1d, ticket-3d"


def test_alert_factors_recomputed_for_28_days_and_a_dst_month(budget_build):
    ship = {
        a["alert_name"]: a["burn_rate_threshold"]
        for a in budget_build.records(
            "select * from fct_error_budget_alerts where slo_id = 'ship-success'"
        )
    }
    # b* = f · P / w with P = 28 d = 672 h: 0.02·672/1 = 13.44, 0.05·672/6 = 5.6, 0.1·672/24 = 2.8, 0.1·672/72.
    assert ship == pytest.approx(
        {"page-1h": 13.44, "page-6h": 5.6, "ticket-1d": 2.8, "ticket-3d": 0.1 * 672 / 72}
    )
    month = {
        a["alert_name"]: a["burn_rate_threshold"]
        for a in budget_build.records(
            "select * from fct_error_budget_alerts where slo_id = 'pay-month'"
        )
    }
    # March 2024 in Europe/Berlin: 31 d − 1 h (DST) = 743 h.
    assert month["page-1h"] == pytest.approx(0.02 * 743)
    assert month["ticket-3d"] == pytest.approx(0.1 * 743 / 72)
    row = budget_build.budget("pay-month")
    assert row["period_seconds"] == 743 * 3600
    assert str(row["period_start"]) == "2024-02-29 23:00:00"


def test_three_budgeting_methods_on_the_same_runs(budget_build):
    occ = budget_build.budget("sliced-occurrences")
    ts = budget_build.budget("sliced-timeslices")
    ratio = budget_build.budget("sliced-ratio")
    # Occurrences: 10 good of 12 runs. Budget 1.2 runs, 2 bad.
    assert occ["sli"] == pytest.approx(10 / 12)
    assert occ["budget_remaining"] == pytest.approx(1 - 2 / 1.2)
    # Timeslices (1h, slice target 0.9): N = 24 slices in the rolling day; 10:00 slice good
    # (0.9 ≥ 0.9), 11:00 slice bad (0.5), 22 slices without runs are no data (neither good nor
    # bad). Budget 0.1 · 24 = 2.4 slices (N known), 1 bad; the SLI over the
    # same N, 1 − 1/24 (not 1/2 of the slices with data, below the 90 % target with budget
    # left), and so the period's burn rate, (1/24) / 0.1 = 1 − remaining.
    assert (ts["good"], ts["total"]) == (1, 2)
    assert (ts["slices_total"], ts["slices_elapsed"], ts["slices_without_data"]) == (24, 24, 22)
    assert ts["sli"] == pytest.approx(1 - 1 / 24)
    assert ts["budget_remaining"] == pytest.approx(1 - 1 / 2.4)
    assert ts["burn_rate_period"] == pytest.approx(1 - ts["budget_remaining"])
    # burn rates over the slices with data: 1d e = 1/2, b = 0.5 / 0.1 (not 1/24 / 0.1);
    # the 1h window holds the bad 11:00 slice only: e = 1, b = 10
    assert ts["burn_rate_1d"] == pytest.approx(5)
    assert ts["burn_rate_1h"] == pytest.approx(10)
    # RatioTimeslices: mean of the slice ratios (0.9 + 0.5) / 2 = 0.7; remaining 1 − 0.3/0.1.
    assert ratio["sli"] == pytest.approx(0.7)
    assert ratio["budget_remaining"] == pytest.approx(-2.0)


def test_event_pair_late_missing_and_in_flight(budget_build):
    row = budget_build.budget("order-shipped")
    # Decided: O1 good, O2 late, O3 missing, O6 good (first start counts). In flight: O4 (met), O5.
    assert (row["good"], row["total"]) == (2, 4)
    assert row["sli"] == pytest.approx(0.5)
    assert (row["in_flight_cases"], row["in_flight_already_met"]) == (2, 1)
    errors = {
        r["value"]: r["bad_events"]
        for r in budget_build.records(
            "select * from fct_error_budget_attribution "
            "where slo_id = 'order-shipped' and dimension = 'error_type'"
        )
    }
    assert errors == {"late": 1, "missing": 1}


def test_latency_thresholds(budget_build):
    # Run j lasts j + 1 s: 10 of 50 runs within 10 s, all 50 within 60 s.
    fast = budget_build.budget("ship-latency/fast")
    slow = budget_build.budget("ship-latency/slow")
    assert (fast["good"], fast["total"]) == (10, 50)
    assert (slow["good"], slow["total"]) == (50, 50)
    assert slow["budget_remaining"] == 1.0 and slow["state"] == "HEALTHY"


def test_healthy_flow(budget_build):
    row = budget_build.budget("ship-success")
    assert (row["good"], row["total"], row["budget_remaining"]) == (50, 50, 1.0)
    assert row["state"] == "HEALTHY"
    assert row["firing_alerts"] == ""
    # Data starts at −200h, after the 28-day window's start: the window is not covered.
    assert not row["is_window_covered"]


def test_attribution_adds_up_exactly(budget_build):
    rows = budget_build.records(
        "select * from fct_error_budget_attribution where slo_id = 'pay-success'"
    )
    consumed = budget_build.budget("pay-success")["budget_consumed"]
    by_dim: dict[str, dict[str, float]] = {}
    for r in rows:
        by_dim.setdefault(r["dimension"], {})[r["value"]] = r["budget_consumed"]
    assert set(by_dim) == {"failing_step", "error_type", "connector", "flow_version"}
    for parts in by_dim.values():
        assert sum(parts.values()) == pytest.approx(consumed, abs=1e-12)
    # r10 is adjusted away: capture r20, r30, two recent; notify r60. Budget 1.07.
    assert by_dim["failing_step"] == pytest.approx({"capture": 4 / 1.07, "notify": 1 / 1.07})
    assert by_dim["flow_version"] == pytest.approx({"1.0": 2 / 1.07, "2.0": 3 / 1.07})
    assert by_dim["connector"] == pytest.approx({"psp": 4 / 1.07, "mail": 1 / 1.07})


def test_attribution_weighs_each_bad_event_by_its_slice(budget_build):
    """Occurrences: each bad run weighs 1. Timeslices: the good 10:00 slice (0.9) weighs nothing,
    the bad 11:00 slice's one bad run weighs 1 / 1. RatioTimeslices: a bad run weighs 1 / the
    events of its slice: 1/10 at 10:00, 1/2 at 11:00."""

    def attributed(slo_id: str) -> tuple[float, int, float]:
        rows = budget_build.records(
            "select bad_units, bad_events, budget_consumed from fct_error_budget_attribution "
            "where slo_id = ? and dimension = 'flow_version'",
            [slo_id],
        )
        return (
            sum(r["bad_units"] for r in rows),
            sum(r["bad_events"] for r in rows),
            sum(r["budget_consumed"] for r in rows),
        )

    assert attributed("sliced-occurrences") == pytest.approx((2.0, 2, 2 / 1.2))
    assert attributed("sliced-timeslices") == pytest.approx((1.0, 1, 1 / 2.4))
    assert attributed("sliced-ratio") == pytest.approx((0.6, 2, 0.6 / 0.2))


def test_a_calendar_window_of_two_weeks(budget_build):
    # budget_world.py, pay-fortnight: 2w from Monday 1 January 2001, UTC
    row = budget_build.budget("pay-fortnight")
    assert (row["good"], row["total"]) == (17, 19)
    assert str(row["period_start"]) == "2024-03-25 00:00:00"
    assert row["period_seconds"] == 14 * 86400
    assert row["budget_remaining"] == pytest.approx(1 - 2 / 1.9)
    # the burn-rate alerts scale to the 336-hour period: b* = f · P / w
    alerts = {
        a["alert_name"]: a["burn_rate_threshold"]
        for a in budget_build.records(
            "select * from fct_error_budget_alerts where slo_id = 'pay-fortnight'"
        )
    }
    assert alerts["page-1h"] == pytest.approx(0.02 * 336)
    # the series resets where the fortnight starts: the step before is the last of the
    # fortnight from 11 March (67 outcomes, 2 bad)
    series = {
        r["hours_before_as_of"]: r
        for r in budget_build.records(
            "select * from fct_error_budget_series where slo_id = 'pay-fortnight' "
            "and hours_before_as_of in (0, 156, 157)"
        )
    }
    assert str(series[157]["period_start"]) == "2024-03-11 00:00:00"
    assert (series[157]["good"], series[157]["total"]) == (65, 67)
    assert str(series[156]["period_start"]) == "2024-03-25 00:00:00"
    assert (series[0]["good"], series[0]["total"]) == (17, 19)


def test_series_ends_at_the_headline_and_state_log(budget_build):
    last = budget_build.one(
        "select * from fct_error_budget_series where slo_id = 'pay-success' "
        "and hours_before_as_of = 0"
    )
    assert last["budget_remaining"] == pytest.approx(1 - 5 / 1.07)
    assert last["burndown_remaining"] == pytest.approx(1 - 5 / 1.07)
    assert last["ideal_remaining"] == pytest.approx(0.0)
    log = budget_build.records(
        "select * from fct_error_budget_state_log where slo_id = 'pay-success' order by changed_at"
    )
    states = [(r["from_state"], r["to_state"], r["changed_at"]) for r in log]
    # r9 (10th run) ends at −555h + 1s: counted from step −554h. r10 is adjusted away; r20 ends at
    # −500h + 1 s, so the budget (1 − 1/0.2 < 0) is gone from step −499h.
    assert states == [
        (None, "INSUFFICIENT_DATA", AS_OF - 2160 * H),
        ("INSUFFICIENT_DATA", "HEALTHY", AS_OF - 554 * H),
        ("HEALTHY", "EXHAUSTED", AS_OF - 499 * H),
    ]
    assert log[-1]["reason"].startswith("budget remaining <= 0")


def test_version_markers(budget_build):
    rows = budget_build.records(
        "select label, starts_at from fct_error_budget_annotations "
        "where slo_id = 'pay-success' and kind = 'flow_version' order by starts_at"
    )
    assert [(r["label"], r["starts_at"]) for r in rows] == [
        ("1.0", AS_OF - 600 * H),
        ("2.0", AS_OF - 600 * H + timedelta(hours=250)),
    ]


def test_low_traffic_feasibility_and_insufficient_data(budget_build):
    strict = budget_build.budget("ship-strict")
    # 99.9 % of 50 runs a period allows 0.05 failures.
    assert strict["allowed_failures"] == pytest.approx(0.05)
    assert strict["feasibility_warning"] == (
        "at 99.9 % of about 50 units per period the budget allows 0.05 failures: "
        "one failure breaches the SLO"
    )
    tiny = budget_build.budget("sliced-tiny")
    # 12 runs < minEvents 20: no state but INSUFFICIENT_DATA, and no alert fires although the
    # 1h burn rate is (1/2) / 0.01 = 50.
    assert tiny["total"] == 12 and tiny["state"] == "INSUFFICIENT_DATA"
    assert tiny["burn_rate_1h"] == pytest.approx(50)
    assert tiny["firing_alerts"] == ""


def test_unknown_flow_has_no_data(budget_build):
    ghost = budget_build.budget("ghost-success")
    assert not ghost["is_flow_known"]
    assert ghost["total"] == 0 and ghost["budget_remaining"] is None
    assert ghost["state"] == "INSUFFICIENT_DATA"
