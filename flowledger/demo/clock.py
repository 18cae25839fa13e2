"""Time in the demo world: integer milliseconds since the Unix epoch, UTC.

Pure helpers for business hours, schedule ticks and daily volume; nothing here reads the clock.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

MS_PER_S = 1000
MS_PER_H = 3_600_000
MS_PER_DAY = 86_400_000

DEFAULT_START = datetime(2026, 8, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def rfc3339(ms: int) -> str:
    """``2026-08-01T10:00:00.123Z``: the format every demo file uses."""
    return to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def weekday(ms: int) -> int:
    """0 = Monday … 6 = Sunday (the epoch was a Thursday)."""
    return (ms // MS_PER_DAY + 3) % 7


def hour_of_day(ms: int) -> float:
    return (ms % MS_PER_DAY) / MS_PER_H


def within_hours(ms: int, open_h: float, close_h: float, workdays: int) -> bool:
    return weekday(ms) < workdays and open_h <= hour_of_day(ms) < close_h


def next_working_time(
    ms: int, rng: random.Random, open_h: float = 8, close_h: float = 18, workdays: int = 5
) -> int:
    """``ms`` if it falls in working hours, else a moment in the first two hours of the next
    working period (people pick up work that arrived overnight in the morning)."""
    if within_hours(ms, open_h, close_h, workdays):
        return ms
    day_start = ms - ms % MS_PER_DAY
    if hour_of_day(ms) < open_h and weekday(ms) < workdays:
        candidate = day_start
    else:
        candidate = day_start + MS_PER_DAY
    while weekday(candidate) >= workdays:
        candidate += MS_PER_DAY
    return candidate + int(open_h * MS_PER_H) + int(rng.random() * 2 * MS_PER_H)


def next_tick(ms: int, interval_s: int) -> int:
    """The first schedule tick strictly after ``ms``."""
    interval = interval_s * MS_PER_S
    return (ms // interval + 1) * interval


def normalised_weekday_factors(factors: tuple[float, ...]) -> tuple[float, ...]:
    mean = sum(factors) / len(factors)
    return tuple(f / mean for f in factors)


def cumulative(weights: tuple[float, ...]) -> list[float]:
    """Cumulative distribution of ``weights`` for `bisect`-based draws."""
    total = sum(weights)
    running, out = 0.0, []
    for weight in weights:
        running += weight
        out.append(running / total)
    out[-1] = 1.0
    return out
