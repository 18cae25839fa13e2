"""The counts on Marquez's web UI home page (``/api/v1/stats/…``), as Marquez's ``StatsDao``
computes them:

- ``lineage-events``: the run events of each interval by type (FAIL, START, COMPLETE, ABORT);
- ``jobs``, ``datasets``, ``sources``: how many there were at the end of each interval (those
  created before it, created being the time of the first event naming them, as Marquez keeps
  it), so the series never falls.

``period=DAY`` is the last 24 hours by the hour (the current hour last); ``WEEK`` the last 7 days
by the day in ``timezone`` (today last). Pure functions of the events or times and ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lineage.event_order import epoch_seconds

PERIODS = ("DAY", "WEEK")
EVENT_TYPES = ("fail", "start", "complete", "abort")


class BadStatsQuery(ValueError):
    """``period`` or ``timezone`` cannot be used (HTTP 400)."""


def zone(name: str | None) -> tzinfo:
    """The IANA time zone ``name`` (UTC when none is given)."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadStatsQuery(f"timezone {name!r} is no IANA time zone, e.g. Europe/Berlin") from None


def intervals(period: str, tz: tzinfo, now: datetime) -> list[tuple[datetime, datetime]]:
    """The (start, end) of each interval, oldest first."""
    period = period.upper()
    if period == "DAY":
        current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        starts = [current - timedelta(hours=h) for h in range(23, -1, -1)]
        return [(start, start + timedelta(hours=1)) for start in starts]
    if period == "WEEK":
        today = now.astimezone(tz).date()
        days = [today - timedelta(days=d) for d in range(6, -1, -1)]
        return [(_midnight(day, tz), _midnight(day + timedelta(days=1), tz)) for day in days]
    raise BadStatsQuery(f"period must be DAY or WEEK, not {period!r}")


def lineage_event_counts(
    events: Iterable[dict[str, Any]], period: str, tz: tzinfo, now: datetime
) -> list[dict[str, Any]]:
    """Run events per interval and type (RUNNING and OTHER are not counted, as in Marquez)."""
    buckets = intervals(period, tz, now)
    counts = [dict.fromkeys(EVENT_TYPES, 0) for _ in buckets]
    bounds = [(start.timestamp(), end.timestamp()) for start, end in buckets]
    for event in events:
        kind = str(event.get("eventType") or "").lower()
        if kind not in EVENT_TYPES or not isinstance(event.get("run"), dict):
            continue
        when = epoch_seconds(str(event.get("eventTime") or ""))
        for index, (start, end) in enumerate(bounds):
            if start <= when < end:
                counts[index][kind] += 1
                break
    return [
        {"startInterval": _iso(start), "endInterval": _iso(end), **count}
        for (start, end), count in zip(buckets, counts, strict=True)
    ]


def running_totals(
    created: Iterable[str], period: str, tz: tzinfo, now: datetime
) -> list[dict[str, Any]]:
    """How many of the things created at the times ``created`` existed by each interval's end
    (none created after ``now`` counts)."""
    buckets = intervals(period, tz, now)
    times = sorted(epoch_seconds(when) for when in created)
    cutoff = now.timestamp()
    result = []
    for start, end in buckets:
        limit = min(end.timestamp(), cutoff)
        result.append(
            {
                "startInterval": _iso(start),
                "endInterval": _iso(end),
                "count": sum(1 for t in times if t < limit),
            }
        )
    return result


def _midnight(day: Any, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
