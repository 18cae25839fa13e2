"""Burn-rate arithmetic that the CLI explains and the config linter needs (pure functions).

The marts compute the same quantities in SQL (``macros/error_budgets/``); the tests check the
two agree. Rule for periods other than 30 days (SRE Workbook / Sloth): keep each alert's budget
fraction ``f`` and its windows, recompute the factor ``b* = f · P / w_long``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

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
    for_seconds: int | None = None  # Pyrra's ``for:`` (how long the condition must hold)


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


_PROMETHEUS_DURATION = re.compile(
    r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$"
)
_PROMETHEUS_UNITS = (365 * DAY, 7 * DAY, DAY, HOUR, MINUTE, SECOND, 0.001)


def prometheus_duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration such as ``5m``, ``1h30m`` or ``2w`` (as Sloth writes them)."""
    match = _PROMETHEUS_DURATION.match(str(text).strip())
    if not match or not str(text).strip():
        raise ValueError(
            f"{text!r} is not a duration: write e.g. 5m, 1h30m, 3d or 2w (units y w d h m s ms)"
        )
    numbers = match.groups()[1::2]
    return sum(int(n) * size for n, size in zip(numbers, _PROMETHEUS_UNITS, strict=True) if n)


def format_prometheus(seconds: float) -> str:
    """A duration as Prometheus prints it: 5400 → '1h30m', 1209600 → '2w', 0 → '0s'."""
    if seconds == 0:
        return "0s"
    parts, rest = [], int(round(seconds * 1000))
    for unit, size in (("y", 365 * DAY), ("w", 7 * DAY), ("d", DAY), ("h", HOUR), ("m", MINUTE),
                       ("s", SECOND)):  # fmt: skip
        count, rest = divmod(rest, size * 1000)
        if count:
            parts.append(f"{count}{unit}")
    if rest:
        parts.append(f"{rest}ms")
    return "".join(parts)


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


def alert_rules(
    target: float,
    period_seconds: float,
    windows: tuple[AlertWindow, ...] = ALERT_WINDOWS,
) -> list[AlertRule]:
    """The multi-window alerts for one target and period, factors recomputed for ``P``.

    ``windows`` defaults to the SRE Workbook's table; a Sloth alert-windows catalog
    (:func:`sloth_alert_windows`) gives other budget fractions and windows, with the same rule.
    """
    budget = error_budget_ratio(target)
    rules = []
    for window in windows:
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


def sloth_alert_windows(document: object) -> tuple[float, tuple[AlertWindow, ...]]:
    """The period and the four windows of a Sloth alert-windows catalog (parsed YAML).

    Both forms Sloth reads: ``apiVersion: sloth.slok.dev/v1`` / ``kind: AlertWindows`` with the
    fields under ``spec``, and the ``version: alertWindows/v1`` form of its built-in catalogs.
    Each of ``page``/``ticket`` × ``quick``/``slow`` has ``errorBudgetPercent``, ``shortWindow``
    and ``longWindow``; the factor is then ``b* = f · P / w_long``, as for the Workbook's table.
    Raises ``ValueError`` naming the missing or malformed field.
    """
    if not isinstance(document, dict):
        raise ValueError("an alert-windows catalog is a YAML mapping (Sloth's AlertWindows)")
    if document.get("kind") == "AlertWindows":
        spec = document.get("spec")
    elif document.get("version") == "alertWindows/v1":
        spec = document
    else:
        raise ValueError(
            "not a Sloth alert-windows catalog: expected kind: AlertWindows (apiVersion "
            "sloth.slok.dev/v1) or version: alertWindows/v1"
        )
    if not isinstance(spec, dict) or "sloPeriod" not in spec:
        raise ValueError("the catalog has no sloPeriod (e.g. sloPeriod: 7d)")
    period = prometheus_duration_seconds(spec["sloPeriod"])
    windows = []
    for severity in ("page", "ticket"):
        for speed in ("quick", "slow"):
            place = f"{severity}.{speed}"
            entry = (spec.get(severity) or {}).get(speed)
            if not isinstance(entry, dict):
                raise ValueError(f"{place} is missing")
            try:
                percent = float(entry["errorBudgetPercent"])
                short = prometheus_duration_seconds(entry["shortWindow"])
                long = prometheus_duration_seconds(entry["longWindow"])
            except KeyError as missing:
                raise ValueError(f"{place}.{missing.args[0]} is missing") from None
            except (TypeError, ValueError) as error:
                raise ValueError(f"{place}: {error}") from None
            if not (percent > 0 and short > 0 and long > 0):
                raise ValueError(f"{place}: errorBudgetPercent and both windows must be positive")
            windows.append(
                AlertWindow(
                    f"{severity}-{speed}",
                    severity,
                    percent / 100,
                    format_prometheus(long),
                    long,
                    format_prometheus(short),
                    short,
                )
            )
    return period, tuple(windows)


#: Pyrra's alerts (``pyrra-dev/pyrra: slo/rules.go``, ``Windows``): fixed factors, and windows
#: that are fractions of the period, defined for 28 days (1h & 5m, 6h & 30m, 1d & 2h, 4d & 6h,
#: ``for`` 2m, 15m, 1h, 3h) and rounded to whole minutes. Rows: name, severity, factor, and the
#: period divided by: long, short, for.
PYRRA_WINDOWS: tuple[tuple[str, str, int, int, int, int], ...] = (
    ("critical-1", "critical", 14, 28 * 24, 28 * 24 * 12, 28 * 24 * 30),
    ("critical-2", "critical", 7, 28 * 4, 28 * 24 * 2, 28 * 24 * 4),
    ("warning-1", "warning", 2, 28, 28 * 12, 28 * 24),
    ("warning-2", "warning", 1, 7, 28 * 4, 28 * 8),
)


def _round_minutes(seconds: Fraction) -> int:
    """Seconds rounded to whole minutes, halves away from zero (Go's ``Duration.Round``)."""
    return int((seconds / MINUTE + Fraction(1, 2)) // 1) * MINUTE


def pyrra_alert_rules(target: float, period_seconds: float) -> list[AlertRule]:
    """Pyrra's four alerts for one target and period: factors 14, 7, 2, 1 whatever the period.

    The windows scale with the period instead (28 days: the Workbook's windows, with 4d for the
    last); each alert fires when both windows' error ratios exceed ``factor · (1 − T)``. The
    budget fraction an alert catches is then ``factor · w_long / P`` (1/48, 1/16, 1/14, 1/7).
    """
    budget = error_budget_ratio(target)
    period = Fraction(int(period_seconds))
    rules = []
    for name, severity, factor, long_div, short_div, for_div in PYRRA_WINDOWS:
        long, short = _round_minutes(period / long_div), _round_minutes(period / short_div)
        window = AlertWindow(
            name,
            severity,
            factor * long / period_seconds,
            format_prometheus(long),
            long,
            format_prometheus(short),
            short,
            for_seconds=_round_minutes(period / for_div),
        )
        threshold = factor * budget
        rules.append(
            AlertRule(
                window=window,
                factor=float(factor),
                error_ratio_threshold=threshold,
                can_fire=threshold < 1,
                detection_at_full_outage_seconds=detection_seconds(target, long, factor, 1.0),
            )
        )
    return rules
