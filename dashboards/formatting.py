"""How numbers read on the dashboard: durations, rates, counts (flowledger.formatting, shared with
the command line) and their deltas.

Pure functions; ``None`` (no data) always reads as an em dash, never as zero.
"""

from __future__ import annotations

import json
import re

from flowledger.formatting import (
    DAY,
    HOUR,
    MINUTE,
    MISSING,
    format_count,
    format_duration,
    format_duration_ms,
    format_mean,
    format_rate,
    rounded,
)

# the shared number formats (flowledger.formatting, as the command line reads them) and the
# dashboard's own: deltas, axes, quoted text
__all__ = [
    "MISSING",
    "QUOTED_TEXT_MAX",
    "code_span",
    "count_delta",
    "duration_axis",
    "duration_delta",
    "duration_ms_delta",
    "field_value_text",
    "format_count",
    "format_duration",
    "format_duration_ms",
    "format_mean",
    "format_rate",
    "is_no_change",
    "is_purged_value",
    "mean_delta",
    "rate_delta",
    "rounded",
    "steps_text",
]

#: The most characters of an outside text (a URL value) a message repeats.
QUOTED_TEXT_MAX = 60


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
    change = rounded(current - previous, 1, scale=2)
    return f"{_sign(change)}{abs(change):.1f} pp"


def count_delta(current: float | None, previous: float | None) -> str | None:
    """Signed change of a count: 12 vs 9 -> "+3"."""
    if current is None or previous is None:
        return None
    change = rounded(current - previous, 1)  # as shown: +0.03 a day is no change
    return _sign(change) + format_count(abs(change))


def mean_delta(current: float | None, previous: float | None) -> str | None:
    """Signed change of a mean, with the mean's one decimal: 10.0 vs 9.5 -> "+0.5", 10.0 vs
    0.0 -> "+10.0" (beside a tile reading "10.0")."""
    if current is None or previous is None:
        return None
    change = rounded(current - previous, 1)
    return _sign(change) + format_mean(abs(change))


def is_no_change(delta: str | None) -> bool:
    """True for a delta that says "nothing changed" (it starts with ±)."""
    return delta is not None and delta.startswith("±")


def duration_axis(max_seconds: float | None) -> tuple[str, float]:
    """Axis unit and divisor for a series of durations whose largest value is ``max_seconds``."""
    if max_seconds is None or max_seconds < MINUTE:
        return "s", 1.0
    if max_seconds < HOUR:
        return "min", MINUTE
    if max_seconds < 2 * DAY:
        return "h", HOUR
    return "d", DAY


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


#: How a purged event's value reads in the case marts (macros/purged_payloads.sql): a JSON string.
PURGED_VALUE_PREFIX = '"(purged) sha256:'


def field_value_text(json_text: str | None) -> str | None:
    """A field value of the case marts (JSON text) as the case timeline shows it: as stored, but
    a purged event's digest as ``(purged 3f2a9c1d)``, its first eight hex digits (equal values
    keep equal digests, so a reader still sees which purged values were the same)."""
    if json_text is None or not json_text.startswith(PURGED_VALUE_PREFIX):
        return json_text
    return f"(purged {json_text[len(PURGED_VALUE_PREFIX) :][:8]})"


def is_purged_value(shown: str | None) -> bool:
    """Whether a value as :func:`field_value_text` shows it is a purged one."""
    return shown is not None and shown.startswith("(purged ")
