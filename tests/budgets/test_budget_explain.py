"""``flowledger budget explain``: windows, factors and thresholds for a period and target."""

from __future__ import annotations

import json

import pytest

from flowledger.cli import main


def _explain(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["budget", "explain", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_30_days_at_99_9(capsys):
    code, out, _ = _explain(capsys, "--period", "30d", "--target", "99.9", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["error_budget_ratio"] == 0.001  # exactly: 1 − 0.999 rounded to 12 decimals
    assert data["target"] == 0.999  # not 99.9 / 100 = 0.9990000000000001
    assert data["full_outage_budget_seconds"] == pytest.approx(2592)  # 43.2 minutes
    rows = [
        (a["long_window"], a["short_window"], a["burn_rate_threshold"], a["error_ratio_threshold"])
        for a in data["alerts"]
    ]
    assert [r[:2] for r in rows] == [("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h")]
    assert [r[2] for r in rows] == pytest.approx([14.4, 6, 3, 1])
    assert [r[3] for r in rows] == pytest.approx([0.0144, 0.006, 0.003, 0.001])
    # Detection at 100 % errors: (1 − T) · w · b* = 0.001 · 3600 · 14.4 = 51.84 s.
    assert data["alerts"][0]["detection_seconds_at_full_outage"] == pytest.approx(51.84)


def test_words(capsys):
    code, out, _ = _explain(capsys, "--target", "0.999")
    assert code == 0
    assert "43.2 min of total outage per period" in out
    assert "| page | 2 % | 1h | 5m | 14.4 | 1.44 % | 51.8 s |" in out
    assert "spends 2 % of the period's budget within 1h" in out


def test_28_days_recomputes_factors(capsys):
    _, out, _ = _explain(capsys, "--period", "28d", "--target", "99.5", "--json")
    factors = [a["burn_rate_threshold"] for a in json.loads(out)["alerts"]]
    assert factors == pytest.approx([13.44, 5.6, 2.8, 0.1 * 672 / 72])


def test_calendar_month_uses_its_real_length(capsys):
    # February 2024 (leap) 29 d; March 2024 in Berlin 31 d − 1 h.
    _, out, _ = _explain(capsys, "--period", "1M", "--at", "2024-02-10", "--target", "99", "--json")
    assert json.loads(out)["period_seconds"] == 29 * 86400
    _, out, _ = _explain(
        capsys,
        "--period",
        "1M",
        "--at",
        "2024-03-10",
        "--time-zone",
        "Europe/Berlin",
        "--target",
        "99",
        "--json",
    )
    data = json.loads(out)
    assert data["period_seconds"] == 743 * 3600
    assert data["alerts"][0]["burn_rate_threshold"] == pytest.approx(0.02 * 743)


def test_calendar_periods_of_several_units_and_weeks(capsys):
    # 6M was refused ("months, quarters and years are calendar windows") and 2w taken as 14
    # fixed days whatever --at said
    def seconds(*argv: str) -> float:
        _, out, _ = _explain(capsys, "--target", "99", "--json", *argv)
        return json.loads(out)["period_seconds"]

    # January to June 2024 in Berlin: 182 days less the DST hour
    assert seconds("--period", "6M", "--at", "2024-03-12", "--time-zone", "Europe/Berlin") == (
        182 * 86400 - 3600
    )
    # the fortnight from Monday 25 March 2024 in Berlin holds the DST change
    assert seconds("--period", "2w", "--at", "2024-03-31", "--time-zone", "Europe/Berlin") == (
        14 * 86400 - 3600
    )
    assert seconds("--period", "2w") == 14 * 86400  # without --at, 14 × 24 hours


def test_thresholds_that_cannot_fire(capsys):
    _, out, _ = _explain(capsys, "--period", "90d", "--target", "90", "--json")
    assert [a["can_fire"] for a in json.loads(out)["alerts"]] == [False, False, True, True]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "100"], "leaves no error budget"),
        (["--target", "0"], "leaves no error budget"),
        (["--target", "abc"], "is not a number"),
        (["--target", "99", "--period", "1M"], "give --at"),
        (["--target", "99", "--period", "5x"], "not a fixed duration"),
        # a lowercase m is a minute: the month was taken for one, with alerts for a 1-minute
        # period; minutes are no period an SLO file takes either
        (
            ["--target", "99", "--period", "1m"],
            "whole hours or days (e.g. 28d, 30d, 1w), a calendar month is 1M",
        ),
        (["--target", "99", "--period", "90m"], "--period 90m: a period is whole hours or days"),
    ],
)
def test_bad_input(capsys, argv, message):
    code, _, err = _explain(capsys, *argv)
    assert code == 2 and message in err


@pytest.mark.parametrize("period", ["0d", "0h"])
def test_a_period_of_nothing_is_refused(capsys, period):
    code, out, err = _explain(capsys, "--period", period, "--target", "99.9")
    assert code != 0 and not out
    assert f"--period {period}: a period is longer than nothing" in err


def test_exhaustion_is_not_a_crumb_short_of_its_period(capsys):
    """30 days / 0.1 at 3d windows (b* = 1) is 30 days, not 2591999.9999999995 s shown as
    4w1d23h59m59s; Berlin's March 2024 is an hour shorter."""
    _, out, _ = _explain(capsys, "--period", "30d", "--target", "99.9", "--json")
    ticket_3d = json.loads(out)["alerts"][3]
    assert (ticket_3d["exhaustion_seconds"], ticket_3d["exhaustion"]) == (2592000.0, "4w2d")
    _, out, _ = _explain(
        capsys, "--period", "1M", "--at", "2024-03-15T00:00:00Z", "--time-zone",
        "Europe/Berlin", "--target", "99.9", "--json",
    )  # fmt: skip
    ticket_3d = json.loads(out)["alerts"][3]
    assert ticket_3d["exhaustion"] == "4w2d"


def test_days_and_weeks_with_at_are_calendar_periods_as_the_report_has_them(capsys):
    """--at made 1w and 2w calendar periods but left 1d, 7d and 14d at 24-hour multiples: a
    calendar 1d SLO on the 25-hour day of 1 November 2026 in New York has factors over 25 h
    in `budget report`, and explain gave them over 24 h."""

    def explained(*argv: str) -> dict:
        _, out, _ = _explain(capsys, "--target", "99", "--json", *argv)
        return json.loads(out)

    ny = ("--time-zone", "America/New_York")
    fall_back = explained("--period", "1d", "--at", "2026-11-01T12:00:00Z", *ny)
    assert fall_back["period_seconds"] == 25 * 3600
    assert fall_back["alerts"][0]["burn_rate_threshold"] == 0.02 * 25
    assert fall_back["period"] == "1d (2026-11-01 to 2026-11-02 in America/New_York)"
    # 7d is the ISO week (as an SLO file reads it), 14d the fortnight: each holds 8 March
    assert explained("--period", "7d", "--at", "2026-03-08T12:00:00Z", *ny)["period_seconds"] == (
        7 * 86400 - 3600
    )
    assert explained("--period", "14d", "--at", "2026-03-08T12:00:00Z", *ny)["period_seconds"] == (
        14 * 86400 - 3600
    )
    # without --at, days are 24 hours each
    assert explained("--period", "1d")["period_seconds"] == 86400


def test_json_numbers_have_12_significant_digits(capsys):
    # 1 / (1 − 0.99999) in doubles is 99999.99999999999; 0.1 · 672 h / 72 h 0.9333333333333333,
    # which the marts round to 12 decimals (0.933333333333)
    _, out, _ = _explain(capsys, "--period", "28d", "--target", "99.999", "--json")
    data = json.loads(out)
    assert data["max_burn_rate"] == 100000
    assert data["alerts"][3]["burn_rate_threshold"] == 0.933333333333
    assert '"burn_rate_threshold": 0.933333333333,' in out
