"""Calendar periods (OpenSLO ``isRolling: false``): where the period holding an instant starts
and ends, in UTC, for an SLO's unit, IANA time zone and anchor.

Periods are anchored at a local wall time (OpenSLO's ``calendar.startTime``, read in
``calendar.timeZone``) and repeat every ``count`` units (``2w``: 2 weeks), forwards and
backwards:

- months, quarters and years add 1, 3 or 12 calendar months (times the count) to the anchor,
  keeping its day of the month and time of day; a day the month lacks is its last day
  (anchored on the 31st: the period after January's ends on 29 February 2024, the next on
  31 March);
- days and weeks are 1 and 7 days (times the count) of local wall time, so a period crossing a
  DST change is an hour shorter or longer in UTC.

Without a ``startTime`` the anchor is :data:`DEFAULT_ANCHOR`, local midnight on Monday
1 January 2001: periods of one unit are the calendar's days, ISO weeks, months, quarters and
years; periods of several count from that anchor (``2w``: the fortnights from Monday
1 January 2001, ``6M``: January to June and July to December).
``macros/error_budgets/budget_config.sql`` (``budget_period_start``) computes the same periods
in SQL, with the same default anchor; a local time that a DST change skips is read with the
offset before the change, one that occurs twice as its second occurrence, as DuckDB does.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

#: The anchor of calendar windows without a startTime (local midnight, a Monday and a 1 January).
DEFAULT_ANCHOR = datetime(2001, 1, 1)
#: OpenSLO's startTime layout (Go's ``2006-01-02 15:04:05``), a local wall time.
START_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MONTHS_PER_PERIOD = {"month": 1, "quarter": 3, "year": 12}
DAYS_PER_PERIOD = {"day": 1, "week": 7}


@dataclass(frozen=True)
class CalendarPeriod:
    """One period ``[start, end)``: UTC instants, and the local wall times they are."""

    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def period_holding(
    at: datetime, unit: str, zone: str, anchor: datetime | None = None, count: int = 1
) -> CalendarPeriod:
    """The period of ``count`` units (day, week, month, quarter, year) in ``zone`` that holds
    the instant ``at`` (timezone-aware; naive is UTC), periods anchored at the local
    ``anchor``."""
    tz = ZoneInfo(zone)
    origin = anchor or DEFAULT_ANCHOR
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz).replace(tzinfo=None)
    if unit in MONTHS_PER_PERIOD:
        step = MONTHS_PER_PERIOD[unit] * count
        months = (local.year - origin.year) * 12 + local.month - origin.month
        k = months // step * step
        if add_months(origin, k) > local:
            k -= step
        local_start, local_end = add_months(origin, k), add_months(origin, k + step)
    else:
        length = timedelta(days=DAYS_PER_PERIOD[unit] * count)
        local_start = origin + (local - origin) // length * length
        local_end = local_start + length
    return CalendarPeriod(
        utc_instant(local_start, tz), utc_instant(local_end, tz), local_start, local_end
    )


def add_months(local: datetime, months: int) -> datetime:
    """``local`` plus calendar months, its day clamped to the last day of a shorter month."""
    year, month_index = divmod(local.month - 1 + months, 12)
    year += local.year
    day = min(local.day, calendar.monthrange(year, month_index + 1)[1])
    return local.replace(year=year, month=month_index + 1, day=day)


def utc_instant(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: a time a DST change skips with the offset before
    it, a time that occurs twice as its second occurrence (DuckDB's ``timezone()``)."""
    second = local.replace(tzinfo=tz, fold=1)
    if second.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local:
        return second.astimezone(UTC)
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def parse_start_time(text: str) -> datetime:
    """OpenSLO's ``calendar.startTime`` (``2022-01-01 12:00:00``, local, no offset), the same
    with ISO 8601's ``T`` (which earlier versions took), or a date (midnight): YAML reads an
    unquoted date as one. Raises ``ValueError``."""
    for layout in (START_TIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a local date-time YYYY-MM-DD HH:MM:SS")


def starts_unanchored_periods(anchor: datetime, unit: str, count: int = 1) -> bool:
    """Whether periods of ``count`` units anchored at ``anchor`` are the unanchored ones (those
    of :data:`DEFAULT_ANCHOR`): midnight on the first day of a month a whole number of periods
    from January 2001 (for one unit: 1 January for years, a quarter's first month for quarters),
    a whole number of periods of days from Monday 1 January 2001 (for one unit: a Monday for
    weeks, any day for days)."""
    if anchor.time() != DEFAULT_ANCHOR.time():
        return False
    if unit in MONTHS_PER_PERIOD:
        months = (anchor.year - DEFAULT_ANCHOR.year) * 12 + anchor.month - DEFAULT_ANCHOR.month
        return anchor.day == 1 and months % (MONTHS_PER_PERIOD[unit] * count) == 0
    return (anchor - DEFAULT_ANCHOR).days % (DAYS_PER_PERIOD[unit] * count) == 0
