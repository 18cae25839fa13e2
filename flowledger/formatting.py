"""How numbers read for people, on the command line and on the dashboard alike: durations in
the largest readable unit, rates as percentages, counts with thousands separators, each rounded
half up as a reader rounds the decimal they see.

Pure functions; ``None`` (no data) reads as an em dash, never as zero.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MISSING = "—"

#: seconds in a minute, an hour, a day
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


#: Each unit a duration is shown in: its name, its seconds, its decimals and the magnitude (in
#: the unit) from which the next unit reads better.
_DURATION_UNITS = (
    ("ms", 0.001, 0, 1000.0),
    ("s", 1.0, 1, MINUTE),
    ("min", MINUTE, 1, HOUR / MINUTE),
    ("h", HOUR, 1, DAY / HOUR),
    ("d", DAY, 1, None),
)


def rounded(value: float, places: int, *, scale: int = 0) -> float:
    """``value`` × 10^``scale`` rounded half away from zero to ``places`` decimals, as a reader
    rounds the decimal number they see: 1.65 -> 1.7, 0.125 -> 0.13, and a rate 0.0045 as a
    percentage (``scale=2``) 0.5, not the 0.4 of ``0.0045 * 100`` (0.44999…): a binary float
    makes ``f"{1.65:.1f}"`` read "1.6", and Python's ``round`` goes to the even digit. A value
    that is not finite, or too large for a decimal of 28 digits, is scaled and left as it is."""
    if not math.isfinite(value):
        return value * 10.0**scale
    step = Decimal(1).scaleb(-places)
    try:
        exact = Decimal(repr(float(value))).scaleb(scale)
        return float(exact.quantize(step, rounding=ROUND_HALF_UP))
    except InvalidOperation:  # beyond the decimal context's precision: no digit to round
        return value * 10.0**scale


def format_duration(seconds: float | None) -> str:
    """A duration in the largest unit that keeps it readable: "850 ms", "42.0 s", "2.4 h", "3.1 d".

    The unit is chosen after rounding, so 59.96 s reads "1.0 min", not "60.0 s".
    """
    if seconds is None:
        return MISSING
    for name, unit_seconds, places, next_unit_from in _DURATION_UNITS:
        shown = rounded(seconds / unit_seconds, places)
        if next_unit_from is None or abs(shown) < next_unit_from:
            return f"{shown:.{places}f} {name}"
    raise AssertionError("the last unit takes every duration")


def format_duration_ms(milliseconds: float | None) -> str:
    """:func:`format_duration` for a duration given in milliseconds."""
    return MISSING if milliseconds is None else format_duration(milliseconds / 1000.0)


def format_rate(rate: float | None) -> str:
    """A rate in [0, 1] as a percentage with one decimal: 0.032 -> "3.2%"."""
    return MISSING if rate is None else f"{rounded(rate, 1, scale=2):.1f}%"


def format_count(count: float | None) -> str:
    """A whole count with thousands separators; a non-integer keeps one decimal."""
    if count is None:
        return MISSING
    if float(count).is_integer():
        return f"{int(count):,}"
    return f"{rounded(count, 1):,.1f}"


def format_mean(mean: float | None) -> str:
    """A mean (per day, of a queue's depth), always with one decimal: 10.0 next to 9.5, not
    "10"."""
    return MISSING if mean is None else f"{rounded(mean, 1):,.1f}"
