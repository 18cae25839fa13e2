"""Calendar periods anchored at OpenSLO's calendar.startTime (flowledger/budgets/periods.py),
with boundaries worked out by hand; the SQL twin is tested by the dbt unit test
int_slo_definitions_anchored_periods_across_dst and by the budget world's pay-anchored SLO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest

from flowledger.budgets.periods import period_holding, starts_unanchored_periods

NEW_YORK = "America/New_York"
MID_MARCH = datetime(2024, 1, 15, 9, 0)  # the 15th at 09:00, local


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_monthly_anchor_across_the_spring_dst_change():
    # 15 Feb 09:00 EST = 14:00 UTC; 15 Mar 09:00 EDT = 13:00 UTC (DST began on 10 March):
    # 29 days (2024 is a leap year) less the hour DST took.
    period = period_holding(_utc(2024, 3, 12, 12), "month", NEW_YORK, MID_MARCH)
    assert (period.start, period.end) == (_utc(2024, 2, 15, 14), _utc(2024, 3, 15, 13))
    assert (period.local_start, period.local_end) == (
        datetime(2024, 2, 15, 9),
        datetime(2024, 3, 15, 9),
    )
    assert period.seconds == 29 * 86400 - 3600


def test_monthly_anchor_at_its_boundary_and_across_the_autumn_change():
    before = period_holding(_utc(2024, 3, 15, 12, 59, 59), "month", NEW_YORK, MID_MARCH)
    at = period_holding(_utc(2024, 3, 15, 13), "month", NEW_YORK, MID_MARCH)
    assert before.end == at.start == _utc(2024, 3, 15, 13)
    assert at.end == _utc(2024, 4, 15, 13)
    # 15 Oct 09:00 EDT (13:00 UTC) to 15 Nov 09:00 EST (14:00 UTC): 31 days and the hour back
    autumn = period_holding(_utc(2024, 11, 3, 12), "month", NEW_YORK, MID_MARCH)
    assert (autumn.start, autumn.end) == (_utc(2024, 10, 15, 13), _utc(2024, 11, 15, 14))
    assert autumn.seconds == 31 * 86400 + 3600


def test_periods_repeat_before_the_anchor():
    period = period_holding(_utc(2023, 12, 20), "month", NEW_YORK, MID_MARCH)
    assert (period.start, period.end) == (_utc(2023, 12, 15, 14), _utc(2024, 1, 15, 14))


def test_an_anchor_on_the_31st_is_clamped_to_shorter_months():
    anchor = datetime(2024, 1, 31)
    assert period_holding(_utc(2024, 2, 29, 12), "month", "UTC", anchor).start == _utc(2024, 2, 29)
    april = period_holding(_utc(2024, 4, 29), "month", "UTC", anchor)
    assert (april.start, april.end) == (_utc(2024, 3, 31), _utc(2024, 4, 30))
    may = period_holding(_utc(2024, 4, 30), "month", "UTC", anchor)
    assert (may.start, may.end) == (_utc(2024, 4, 30), _utc(2024, 5, 31))


def test_quarters_and_years_add_calendar_months_to_the_anchor():
    quarter = period_holding(_utc(2024, 3, 12), "quarter", NEW_YORK, datetime(2024, 2, 15, 9))
    assert (quarter.start, quarter.end) == (_utc(2024, 2, 15, 14), _utc(2024, 5, 15, 13))
    year = period_holding(_utc(2025, 3, 1), "year", "UTC", datetime(2024, 2, 29, 6))
    assert (year.start, year.end) == (_utc(2025, 2, 28, 6), _utc(2026, 2, 28, 6))


def test_weeks_and_days_are_local_days():
    # Wednesday 6 March 09:00: the week holding the DST change is 7 days less an hour in UTC
    week = period_holding(_utc(2024, 3, 12, 12), "week", NEW_YORK, datetime(2024, 3, 6, 9))
    assert (week.start, week.end) == (_utc(2024, 3, 6, 14), _utc(2024, 3, 13, 13))
    assert week.seconds == 7 * 86400 - 3600
    # 12:00 UTC on 10 March is 08:00 EDT: the day from 9 March 09:00 EST, 23 hours long
    day = period_holding(_utc(2024, 3, 10, 12), "day", NEW_YORK, datetime(2024, 1, 1, 9))
    assert (day.start, day.end, day.seconds) == (
        _utc(2024, 3, 9, 14),
        _utc(2024, 3, 10, 13),
        23 * 3600,
    )


def test_without_an_anchor_the_periods_are_the_calendars():
    # March 2024 in Berlin (DST on the 31st), the ISO week holding Sunday 31 March, Q1
    march = period_holding(_utc(2024, 3, 31, 12), "month", "Europe/Berlin")
    assert (march.start, march.end) == (_utc(2024, 2, 29, 23), _utc(2024, 3, 31, 22))
    week = period_holding(_utc(2024, 3, 31, 12), "week", NEW_YORK)
    assert (week.start, week.end) == (_utc(2024, 3, 25, 4), _utc(2024, 4, 1, 4))
    quarter = period_holding(_utc(2024, 3, 31, 12), "quarter", "Europe/Berlin")
    assert (quarter.start, quarter.end) == (_utc(2023, 12, 31, 23), _utc(2024, 3, 31, 22))


@pytest.mark.parametrize("unit", ["day", "week", "month", "quarter", "year"])
def test_an_anchor_that_starts_unanchored_periods_gives_the_same_periods(unit):
    # the loader drops such an anchor (builds then use date_trunc): it must change nothing
    anchors = [
        datetime(2019, 1, 1),
        datetime(2026, 4, 1),
        datetime(2026, 1, 5),
        datetime(2026, 7, 2),
    ]
    for anchor in [a for a in anchors if starts_unanchored_periods(a, unit)]:
        for hours in range(0, 24 * 800, 37):
            at = _utc(2024, 1, 1) + timedelta(hours=hours)
            assert period_holding(at, unit, NEW_YORK, anchor) == period_holding(at, unit, NEW_YORK)
    assert any(starts_unanchored_periods(a, unit) for a in anchors)
    assert not all(starts_unanchored_periods(a, unit) for a in anchors) or unit == "day"


def test_periods_of_several_units():
    # 2w without a startTime: the fortnights from Monday 1 January 2001 (11 March 2024 is 605
    # fortnights later)
    fortnight = period_holding(_utc(2024, 3, 12, 12), "week", "UTC", count=2)
    assert (fortnight.start, fortnight.end) == (_utc(2024, 3, 11), _utc(2024, 3, 25))
    # 6M (2 quarters) in Berlin: January to June, 182 days less the hour DST takes
    half = period_holding(_utc(2024, 3, 12, 12), "quarter", "Europe/Berlin", count=2)
    assert (half.start, half.end) == (_utc(2023, 12, 31, 23), _utc(2024, 6, 30, 22))
    assert half.seconds == 182 * 86400 - 3600
    # 2M from 15 January 09:00 New York, the month days clamped as for one month
    two = period_holding(_utc(2024, 3, 15, 13), "month", NEW_YORK, MID_MARCH, count=2)
    assert (two.start, two.end) == (_utc(2024, 3, 15, 13), _utc(2024, 5, 15, 13))
    before = period_holding(_utc(2024, 3, 15, 12, 59), "month", NEW_YORK, MID_MARCH, count=2)
    assert (before.start, before.end) == (_utc(2024, 1, 15, 14), _utc(2024, 3, 15, 13))
    # 3d in New York across the spring DST change: 71 hours
    days = period_holding(_utc(2024, 3, 12, 12), "day", NEW_YORK, count=3)
    assert (days.start, days.end) == (_utc(2024, 3, 10, 5), _utc(2024, 3, 13, 4))
    # periods before the anchor count backwards from it
    early = period_holding(_utc(2023, 12, 20), "month", NEW_YORK, MID_MARCH, count=2)
    assert (early.start, early.end) == (_utc(2023, 11, 15, 14), _utc(2024, 1, 15, 14))


@pytest.mark.parametrize(
    ("unit", "count"), [("day", 3), ("week", 2), ("month", 2), ("quarter", 2), ("month", 5)]
)
def test_a_start_time_on_the_default_periods_of_several_units_changes_nothing(unit, count):
    anchors = [datetime(2001, 1, 1) + timedelta(days=d) for d in range(0, 9000, 13)]
    anchors += [datetime(year, month, 1) for year in (1999, 2024, 2025) for month in range(1, 13)]
    same = [a for a in anchors if starts_unanchored_periods(a, unit, count)]
    assert same and len(same) < len(anchors)
    for anchor in same:
        for hours in range(0, 24 * 800, 97):
            at = _utc(2024, 1, 1) + timedelta(hours=hours)
            assert period_holding(at, unit, NEW_YORK, anchor, count) == period_holding(
                at, unit, NEW_YORK, count=count
            )
    # and the others do change them
    for anchor in [a for a in anchors if a not in same][:20]:
        assert any(
            period_holding(at, unit, NEW_YORK, anchor, count)
            != period_holding(at, unit, NEW_YORK, count=count)
            for at in (_utc(2024, 1, 1) + timedelta(hours=h) for h in range(0, 24 * 800, 97))
        )


@pytest.mark.parametrize(
    "local",
    [
        datetime(2024, 3, 10, 2, 30),  # skipped by the spring change
        datetime(2024, 11, 3, 1, 30),  # occurs twice in the autumn
        datetime(2024, 7, 1, 9, 0),
    ],
)
def test_skipped_and_repeated_local_times_resolve_as_duckdb_does(local):
    # a daily period anchored at that time of day starts, on that day, where DuckDB's
    # timezone() (which the SQL twin uses) puts the local time
    day = period_holding(
        datetime(local.year, local.month, local.day, 12, tzinfo=ZoneInfo(NEW_YORK)),
        "day",
        NEW_YORK,
        datetime(2024, 1, 1, local.hour, local.minute),
    )
    con = duckdb.connect()
    try:
        duck = con.execute(
            "select timezone('UTC', timezone(?, cast(? as timestamp)))",
            [NEW_YORK, f"{local:%Y-%m-%d %H:%M:%S}"],
        ).fetchall()[0][0]
    finally:
        con.close()
    assert day.start == duck.replace(tzinfo=UTC)
