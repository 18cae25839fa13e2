"""How many cases start when: daily volume with growth and weekday effects, hour-of-day profile."""

from __future__ import annotations

import math
import random
from bisect import bisect

from flowledger.demo import world
from flowledger.demo.clock import MS_PER_H, cumulative, normalised_weekday_factors, weekday

_WEEKDAY = {p: normalised_weekday_factors(world.WEEKDAY_FACTORS[p]) for p in world.PROCESSES}
_HOURLY_CUM = {p: cumulative(world.HOURLY_WEIGHTS[p]) for p in world.PROCESSES}


def growth_factor(day: int, days: int) -> float:
    """Linear growth of ``GROWTH_OVER_WINDOW`` across the window, averaging 1 over it."""
    g = world.GROWTH_OVER_WINDOW
    position = day / (days - 1) if days > 1 else 0.5
    return (1 + g * position) / (1 + g / 2)


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean < 30:  # Knuth: multiply uniforms until below e^-mean
        limit, count, product = math.exp(-mean), 0, rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
        return count
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def case_starts(
    rng: random.Random, day_start_ms: int, day: int, days: int, cases_per_day: float
) -> list[tuple[int, int, str]]:
    """Start times of the cases of one day as ``(ms, process index, process)``, in time order."""
    starts = []
    dow = weekday(day_start_ms)
    growth = growth_factor(day, days)
    for index, process in enumerate(world.PROCESSES):
        mean = cases_per_day * world.PROCESS_SHARE[process] * growth * _WEEKDAY[process][dow]
        hourly = _HOURLY_CUM[process]
        for _ in range(poisson(rng, mean)):
            hour = bisect(hourly, rng.random())
            starts.append(
                (day_start_ms + hour * MS_PER_H + int(rng.random() * MS_PER_H), index, process)
            )
    starts.sort()
    return starts


def expected_cases(cases_per_day: float, days: int) -> float:
    """Expected number of cases started over the window (without order-related tickets)."""
    return cases_per_day * sum(world.PROCESS_SHARE.values()) * days
