"""How numbers read on the dashboard: durations, rates, counts and their deltas.

Pure functions; ``None`` (no data) always reads as an em dash, never as zero.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal

MISSING = "—"
#: The most characters of an outside text (a URL value) a message repeats.
QUOTED_TEXT_MAX = 60

_MINUTE = 60.0
_HOUR = 3600.0
_DAY = 86400.0


#: Each unit a duration is shown in: its name, its seconds, its decimals and the magnitude (in
#: the unit) from which the next unit reads better.
_DURATION_UNITS = (
    ("ms", 0.001, 0, 1000.0),
    ("s", 1.0, 1, _MINUTE),
    ("min", _MINUTE, 1, _HOUR / _MINUTE),
    ("h", _HOUR, 1, _DAY / _HOUR),
    ("d", _DAY, 1, None),
)


def rounded(value: float, places: int) -> float:
    """``value`` rounded half away from zero to ``places`` decimals, as a reader rounds the
    decimal number they see: 1.65 -> 1.7, 0.125 -> 0.13 (a binary float makes
    ``f"{1.65:.1f}"`` read "1.6" and Python's ``round`` goes to the even digit)."""
    step = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP))


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
    return MISSING if rate is None else f"{rounded(rate * 100.0, 1):.1f}%"


def format_count(count: float | None) -> str:
    """A whole count with thousands separators; a non-integer keeps one decimal."""
    if count is None:
        return MISSING
    if float(count).is_integer():
        return f"{int(count):,}"
    return f"{rounded(count, 1):,.1f}"


def format_per_day(mean: float | None) -> str:
    """A mean per day, always with one decimal (10.0 next to 9.5, not "10")."""
    return MISSING if mean is None else f"{rounded(mean, 1):,.1f}"


def _sign(value: float) -> str:
    if value > 0:
        return "+"
    if value < 0:
        return "-"
    return "±"


def duration_delta(current: float | None, previous: float | None) -> str | None:
    """Signed change of a duration in seconds ("+30.0 min"); ``None`` when either side is missing."""
    if current is None or previous is None:
        return None
    change = current - previous
    shown = format_duration(abs(change))
    return ("±" if shown == "0 ms" else _sign(change)) + shown


def duration_ms_delta(current: float | None, previous: float | None) -> str | None:
    """:func:`duration_delta` for durations given in milliseconds."""
    if current is None or previous is None:
        return None
    return duration_delta(current / 1000.0, previous / 1000.0)


def rate_delta(current: float | None, previous: float | None) -> str | None:
    """Change of a rate in percentage points: 0.05 vs 0.03 -> "+2.0 pp"."""
    if current is None or previous is None:
        return None
    change = rounded((current - previous) * 100.0, 1)
    return f"{_sign(change)}{abs(change):.1f} pp"


def count_delta(current: float | None, previous: float | None) -> str | None:
    """Signed change of a count: 12 vs 9 -> "+3"."""
    if current is None or previous is None:
        return None
    change = rounded(current - previous, 1)  # as shown: +0.03 a day is no change
    return _sign(change) + format_count(abs(change))


def is_no_change(delta: str | None) -> bool:
    """True for a delta that says "nothing changed" (it starts with ±)."""
    return delta is not None and delta.startswith("±")


def duration_axis(max_seconds: float | None) -> tuple[str, float]:
    """Axis unit and divisor for a series of durations whose largest value is ``max_seconds``."""
    if max_seconds is None or max_seconds < _MINUTE:
        return "s", 1.0
    if max_seconds < _HOUR:
        return "min", _MINUTE
    if max_seconds < 2 * _DAY:
        return "h", _HOUR
    return "d", _DAY


def code_span(text: str, limit: int = QUOTED_TEXT_MAX) -> str:
    """``text`` from outside (a URL value: anything) as one Markdown code span, shown as typed.

    Control characters are escaped (no line breaks), text longer than ``limit`` is cut with "…",
    and the fence has more backticks than any run inside, so no link, image or heading in
    ``text`` is rendered and the span cannot end early.
    """
    shown = repr(text)[1:-1]
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    fence = "`" * (max((len(run) for run in re.findall("`+", shown)), default=0) + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def steps_text(steps_json: str | None) -> str:
    """A run's steps (the JSON list ``fct_case_flow_runs.steps`` holds) in words, in order:
    ``Fetch quote: success → Post contract: failed (attempt 2)``; a step's attempt shown only
    past the first."""
    if not steps_json:
        return ""
    shown = []
    for step in json.loads(steps_json):
        attempt = step.get("attempt")
        again = f" (attempt {attempt})" if isinstance(attempt, int) and attempt > 1 else ""
        shown.append(f"{step.get('step')}: {step.get('status')}{again}")
    return " → ".join(shown)
