"""Burn-rate arithmetic that the CLI explains and the config linter needs (pure functions).

The marts compute the same quantities in SQL (``macros/error_budgets/``); the tests check the
two agree. Rule for periods other than 30 days (SRE Workbook / Sloth): keep each alert's budget
fraction ``f`` and its windows, recompute the factor ``b* = f · P / w_long``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECOND = 1
MINUTE = 60
HOUR = 3600
DAY = 86400

#: Windows over which the marts report a burn rate (besides the whole period).
BURN_WINDOWS: tuple[tuple[str, int], ...] = (
    ("5m", 5 * MINUTE),
    ("30m", 30 * MINUTE),
    ("1h", HOUR),
    ("2h", 2 * HOUR),
    ("6h", 6 * HOUR),
    ("1d", DAY),
    ("3d", 3 * DAY),
)


@dataclass(frozen=True)
class AlertWindow:
    """One multi-window alert: fires when both windows' error ratios exceed ``factor · (1 − T)``."""

    name: str
    severity: str  # page | ticket
    budget_fraction: float  # f: share of the period's budget this alert catches
    long_window: str
    long_seconds: int
    short_window: str
    short_seconds: int


#: The SRE Workbook's table (approach 6); the short window is 1/12 of the long one.
ALERT_WINDOWS: tuple[AlertWindow, ...] = (
    AlertWindow("page-1h", "page", 0.02, "1h", HOUR, "5m", 5 * MINUTE),
    AlertWindow("page-6h", "page", 0.05, "6h", 6 * HOUR, "30m", 30 * MINUTE),
    AlertWindow("ticket-1d", "ticket", 0.10, "1d", DAY, "2h", 2 * HOUR),
    AlertWindow("ticket-3d", "ticket", 0.10, "3d", 3 * DAY, "6h", 6 * HOUR),
)

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
_UNIT_SECONDS = {"ms": 0.001, "s": SECOND, "m": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY}


def duration_seconds(text: str) -> float:
    """Seconds in a fixed-length duration such as ``5m``, ``48h``, ``30d`` or ``2w``.

    Calendar units (``M``, ``Q``, ``Y``) have no fixed length and raise ``ValueError``.
    """
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(
            f"{text!r} is not a fixed duration: write a whole number and one of "
            "ms, s, m, h, d, w (e.g. 30d, 48h, 5m); months, quarters and years are calendar windows"
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_seconds(seconds: float) -> str:
    """The shortest exact duration text: 2592000 → '30d', 5400 → '90m', 90 → '90s'."""
    for unit, size in (("w", 7 * DAY), ("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", SECOND)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def burn_rate_threshold(
    budget_fraction: float, period_seconds: float, window_seconds: float
) -> float:
    """``b* = f · P / w``: the burn rate that spends fraction ``f`` of the budget within ``w``."""
    return budget_fraction * period_seconds / window_seconds


#: Decimals a target and its budget ratio keep. ``1 − 0.95`` is 0.050000000000000044 in doubles and
#: ``99.9 / 100`` is 0.9990000000000001: rounded, an exactly spent budget leaves exactly 0 and
#: ``target: 0.999`` equals ``targetPercent: 99.9``. The SQL rounds the same way
#: (``macros/error_budgets/budget_config.sql``, ``budget_ratio``).
BUDGET_DIGITS = 12


def target_ratio(value: float, percent: bool = False) -> float:
    """A target as the ratio the budgets use: ``99.9`` percent and ``0.999`` both give 0.999."""
    return round(value / 100 if percent else value, BUDGET_DIGITS)


def error_budget_ratio(target: float) -> float:
    """``B = 1 − T`` for a target ratio 0 < T < 1, rounded to :data:`BUDGET_DIGITS` decimals."""
    if not 0 < target < 1:
        raise ValueError(f"target {target!r} must be a ratio strictly between 0 and 1")
    return round(1 - target, BUDGET_DIGITS)


def detection_seconds(
    target: float, window_seconds: float, factor: float, error_ratio: float
) -> float:
    """Time a constant error ratio ``e`` needs to trip an alert: ``t = (1 − T) · w · b* / e``."""
    return error_budget_ratio(target) * window_seconds * factor / error_ratio


@dataclass(frozen=True)
class AlertRule:
    """An alert window with its factor and thresholds for one period and target."""

    window: AlertWindow
    factor: float
    error_ratio_threshold: float
    can_fire: bool  # the threshold is below 100 % errors
    detection_at_full_outage_seconds: float  # time to fire when every event fails


def alert_rules(target: float, period_seconds: float) -> list[AlertRule]:
    """The four multi-window alerts for one target and period, factors recomputed for ``P``."""
    budget = error_budget_ratio(target)
    rules = []
    for window in ALERT_WINDOWS:
        factor = burn_rate_threshold(window.budget_fraction, period_seconds, window.long_seconds)
        threshold = factor * budget
        rules.append(
            AlertRule(
                window=window,
                factor=factor,
                error_ratio_threshold=threshold,
                can_fire=threshold < 1,
                detection_at_full_outage_seconds=detection_seconds(
                    target, window.long_seconds, factor, 1.0
                ),
            )
        )
    return rules
