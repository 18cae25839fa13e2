"""``flowledger budget …``: report, gate, explain, validate and build error budgets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from flowledger.budgets.config import (
    CALENDAR_DURATION,
    ConfigError,
    calendar_period,
    config_path,
    load_config,
    parse_instant,
)
from flowledger.budgets.math import (
    BUDGET_DIGITS,
    DAY,
    HOUR,
    AlertRule,
    AlertWindow,
    alert_rules,
    duration_seconds,
    error_budget_ratio,
    format_prometheus,
    pyrra_alert_rules,
    sloth_alert_windows,
    target_ratio,
)
from flowledger.budgets.periods import period_holding
from flowledger.budgets.report import (
    BudgetsMissing,
    load_report,
    no_data_note,
    plain,
    slice_counts,
    time_to_exhaustion,
    window_label,
)
from flowledger.settings import DataDir
from flowledger.warehouse import NothingPublished

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FROZEN = 0, 1, 2, 3
SCHEMES = ("workbook", "pyrra")
RULES = {
    "workbook": "b* = f · P / w_long (SRE Workbook / Sloth): fractions and windows fixed, factors "
    "recomputed",
    "sloth-catalog": "b* = f · P / w_long (Sloth, custom alert-windows catalog): the catalog's "
    "fractions and windows, factors recomputed",
    "pyrra": "factors fixed at 14, 7, 2, 1 (Pyrra): windows scaled from 28 days to the period and "
    "rounded to minutes, f = b* · w_long / P",
}
ALWAYS_ALLOWED = ("fix", "security")
#: what `budget gate --change-type` takes: a freeze stops the first three (a typo such as
#: `hotfix` is refused, not taken for a feature)
CHANGE_TYPES = ("feature", "refactor", "config", *ALWAYS_ALLOWED)


def register(commands: argparse._SubParsersAction) -> None:
    budget = commands.add_parser("budget", help="error budgets: report, gate, explain, validate")
    sub = budget.add_subparsers(title="budget commands", metavar="COMMAND")
    budget.set_defaults(handler=lambda args, data_dir: _help(budget))

    report = sub.add_parser("report", help="every SLO's budget, burn rates, alerts and state")
    report.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    report.add_argument("--slo", help="only this SLO id")
    report.set_defaults(handler=report_command)

    gate = sub.add_parser(
        "gate", help="exit 0 when FLOW may ship changes, 3 when its budget is exhausted"
    )
    gate.add_argument("flow", metavar="FLOW", help="flow id (the SLOs' service)")
    gate.add_argument(
        "--change-type",
        default="feature",
        choices=CHANGE_TYPES,
        help="kind of change; fix and security changes pass a freeze (default: feature)",
    )
    gate.set_defaults(handler=gate_command)

    explain = sub.add_parser(
        "explain", help="the burn-rate alerts for a period and target, in words and numbers"
    )
    explain.add_argument(
        "--period", help="e.g. 30d, 28d, 7d, or 1M/1Q/1Y (default: 30d, or the catalog's sloPeriod)"
    )
    explain.add_argument("--target", required=True, help="e.g. 99.9 (percent) or 0.999")
    explain.add_argument(
        "--at",
        help="explain the calendar period holding this instant (days, weeks, months, quarters, "
        "years, as isRolling: false; needed for 1M, 1Q, 1Y); without it days and weeks are "
        "fixed 24-hour multiples",
    )
    explain.add_argument(
        "--time-zone", default="UTC", help="with --at: the calendar's IANA time zone"
    )
    explain.add_argument(
        "--scheme",
        choices=SCHEMES,
        default="workbook",
        help="workbook (default, what the marts use): the SRE Workbook / Sloth windows and budget "
        "fractions, factors recomputed for the period; pyrra: Pyrra's fixed factors 14, 7, 2, 1 "
        "with windows scaled to the period",
    )
    explain.add_argument(
        "--alert-windows",
        metavar="FILE",
        help="a Sloth alert-windows catalog (kind: AlertWindows): its budget percentages and "
        "windows instead of the Workbook's, factors b* = f · P / w_long",
    )
    explain.add_argument("--json", action="store_true", help="print JSON")
    explain.set_defaults(handler=explain_command)

    validate = sub.add_parser(
        "validate", help="check the SLO file, and its flows and windows against the data"
    )
    validate.add_argument("--config", help="SLO file (default: as `flowledger build` picks it)")
    validate.set_defaults(handler=validate_command)

    notify = sub.add_parser(
        "notify", help="POST alert and policy-state changes to the SLOs' webhooks (once each)"
    )
    notify.add_argument("--config", help="SLO file (default: as `flowledger build` picks it)")
    notify.add_argument("--dry-run", action="store_true", help="show the changes, send nothing")
    notify.set_defaults(handler=notify_command)

    build = sub.add_parser("build", help="build and publish, evaluating the budgets at --at")
    build.add_argument("--at", help="ISO 8601 instant (default: the data's as-of time)")
    build.add_argument("--quiet", action="store_true", help="do not stream dbt's progress")
    build.set_defaults(handler=build_command)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"flowledger budget: {message}", file=sys.stderr)
    return code


def _load(data_dir: DataDir) -> list[dict[str, Any]] | str:
    try:
        return load_report(data_dir)
    except (NothingPublished, BudgetsMissing) as error:
        return str(error)


# ----------------------------------------------------------------------------------- report


def report_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    budgets = _load(data_dir)
    if isinstance(budgets, str):
        return _fail(budgets)
    if args.slo:
        budgets = [b for b in budgets if b["slo_id"] == args.slo]
        if not budgets:
            return _fail(
                f"no SLO {args.slo!r} in the published marts (see `flowledger budget report`)"
            )
    if args.json:
        print(
            json.dumps(
                {"alert_rule": RULES["workbook"], "slos": [_json_slo(b) for b in budgets]},
                indent=2,
            )
        )
    else:
        print(render_markdown(budgets))
    return EXIT_OK


def _json_slo(budget: dict[str, Any]) -> dict[str, Any]:
    keep = {
        k: v
        for k, v in budget.items()
        if k not in ("burn_rates", "alerts", "top_contributors", "last_state_change")
    }
    keep["burn_rates"] = {
        r["window_name"]: {
            "good": r["good"],
            "total": r["total"],
            "error_ratio": r["error_ratio"],
            "burn_rate": r["burn_rate"],
            "hours_to_exhaustion": r["hours_to_exhaustion"],
        }
        for r in budget["burn_rates"]
    }
    keep["alerts"] = [
        {k: a[k] for k in a if k not in ("slo_id", "alert_order")} for a in budget["alerts"]
    ]
    keep["top_contributors"] = [
        {
            k: c[k]
            for k in ("dimension", "value", "bad_events", "budget_consumed", "share_of_consumed")
        }
        for c in budget["top_contributors"]
    ]
    keep["last_state_change"] = budget["last_state_change"] and {
        k: budget["last_state_change"][k]
        for k in ("changed_at", "from_state", "to_state", "reason")
    }
    return plain(keep)


def _pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f} %"


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.{digits}f}"


def render_markdown(budgets: list[dict[str, Any]]) -> str:
    if not budgets:
        return "No SLOs are configured (see config/slos.yml and docs/error-budgets.md)."
    as_of = budgets[0]["as_of"]
    lines = [
        f"# Error budgets as of {as_of:%Y-%m-%d %H:%M:%S} UTC",
        "",
        "Calendar periods count the budget against the units so far (no forecast of the period total).",
        f"Alerts: {RULES['workbook']} (Pyrra's fixed factors: `flowledger budget explain --scheme "
        "pyrra`).",
        "",
        "| SLO | flow | target | window | method | good / total | SLI | budget left | state | alerts |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in budgets:
        lines.append(
            f"| {b['slo_id']} | {b['flow_id']} | {_pct(b['target'], 3)} | {b['window_text']} "
            f"| {b['method']} | {_num(b['good'])} / {_num(b['total'])} | {_pct(b['sli'], 3)} "
            f"| {_pct(b['budget_remaining'], 1)} | {b['state']} | {b['firing_alerts'] or '-'} |"
        )
    for b in budgets:
        lines += ["", f"## {b['slo_id']}: {b['display_name']}", ""]
        period = f"{b['period_start']:%Y-%m-%d %H:%M} → {b['as_of']:%Y-%m-%d %H:%M} UTC"
        lines.append(
            f"- {b['indicator']} ({b['count_by']}), target {_pct(b['target'], 3)}, "
            f"{window_label(b)}, {b['method']}; period {period}"
        )
        lines.append(
            f"- budget: {_num(b['budget_total'])} units, consumed {_pct(b['budget_consumed'], 1)}, "
            f"remaining {_pct(b['budget_remaining'], 1)} "
            f"(raw, before adjustments: {_pct(b['budget_remaining_raw'], 1)})"
        )
        slices = slice_counts(b)
        if slices:
            lines.append(f"- {slices}")
        tte = b["hours_to_exhaustion"]
        lines.append(
            f"- state **{b['state']}** since {b['state_since']:%Y-%m-%d %H:%M}"
            if b["state_since"]
            else f"- state **{b['state']}**"
        )
        no_data = no_data_note(b)
        if no_data:
            lines.append(f"- {no_data}")
        hour = next((r for r in b.get("burn_rates", []) if r["window_name"] == "1h"), None)
        lines.append(
            "- time to exhaustion at the 1h burn rate: "
            + time_to_exhaustion(bool(no_data), hour and hour["total"], tte)
        )
        if b["feasibility_warning"]:
            lines.append(f"- feasibility: {b['feasibility_warning']}")
        if b.get("alerts_that_cannot_fire"):
            lines.append(
                f"- alerts that cannot fire: {b['alerts_that_cannot_fire']} (a threshold of 100 % "
                "errors or more)"
            )
        if b.get("alerts_at_slice_ends_only"):
            lines.append(
                f"- alerts that fire only at a slice's end: {b['alerts_at_slice_ends_only']} "
                "(their short window is shorter than a time slice, so it holds a slice only "
                "just after one ends; use shorter slices or Occurrences to page)"
            )
        if b["indicator"] == "event_pair":
            lines.append(
                f"- in flight (deadline ahead): {b['in_flight_cases']} cases, "
                f"{b['in_flight_already_met']} already met"
            )
        lines += ["", "| window | good / total | error ratio | burn rate |", "|---|---|---|---|"]
        for r in b["burn_rates"]:
            lines.append(
                f"| {r['window_name']} | {_num(r['good'])} / {_num(r['total'])} "
                f"| {_pct(r['error_ratio'], 3)} | {_num(r['burn_rate'])} |"
            )
        lines += [
            "",
            "| alert | windows | threshold (burn / errors) | burn long / short | firing |",
            "|---|---|---|---|---|",
        ]
        for a in b["alerts"]:
            lines.append(
                f"| {a['alert_name']} | {a['long_window']} & {a['short_window']} "
                f"| {_num(a['burn_rate_threshold'])} / {_pct(a['error_ratio_threshold'], 3)} "
                f"| {_num(a['long_burn_rate'])} / {_num(a['short_burn_rate'])} "
                f"| {'FIRING' if a['is_firing'] else 'no'} |"
            )
        if b["top_contributors"]:
            lines += ["", "Top burn contributors:", ""]
            for c in b["top_contributors"]:
                lines.append(
                    f"- {c['dimension']} = {c['value']}: {_pct(c['budget_consumed'], 1)} of the budget "
                    f"({_pct(c['share_of_consumed'], 1)} of what was spent)"
                )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- gate


def gate_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    budgets = _load(data_dir)
    if isinstance(budgets, str):
        return _fail(budgets)
    mine = [b for b in budgets if b["flow_id"] == args.flow]
    if not mine:
        known = ", ".join(sorted({b["flow_id"] for b in budgets})) or "none"
        return _fail(f"no SLO covers flow {args.flow!r} (flows with SLOs: {known})", EXIT_USAGE)
    frozen = [b for b in mine if b["state"] == "EXHAUSTED"]
    if not frozen:
        states = ", ".join(
            f"{b['slo_id']} {b['state']} "
            + ("(no data)" if no_data_note(b) else f"({_pct(b['budget_remaining'], 1)} left)")
            for b in mine
        )
        print(f"ship: {args.flow} is not frozen: {states}")
        return EXIT_OK
    reasons = "; ".join(
        f"{b['slo_id']} is EXHAUSTED since {b['state_since']:%Y-%m-%d %H:%M} UTC "
        f"({_pct(b['budget_remaining'], 1)} of the budget left)"
        for b in frozen
    )
    if args.change_type in ALWAYS_ALLOWED:
        print(f"ship ({args.change_type} changes pass a freeze): {reasons}")
        return EXIT_OK
    print(
        f"freeze: {args.flow} may not ship {args.change_type} changes: {reasons}. "
        "Only fix and security changes pass (--change-type fix)."
    )
    return EXIT_FROZEN


# ---------------------------------------------------------------------------------- explain


def parse_target(text: str) -> float:
    """``99.9`` (percent) or ``0.999`` (ratio) → 0.999; 0 and 100 % are rejected."""
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise ConfigError(f"--target {text!r} is not a number (e.g. 99.9 or 0.999)") from None
    ratio = target_ratio(value, percent=value > 1)
    if not 0 < ratio < 1:
        raise ConfigError(
            f"--target {text!r} leaves no error budget or is not positive; "
            "give a target between 0 and 100 % exclusive (e.g. 99.9)"
        )
    return ratio


def period_seconds(text: str, at: str | None, zone: str) -> tuple[float, str]:
    """Seconds in the period and a label; calendar periods are the real one holding ``at``.

    With ``at``, every duration an SLO file can write as a calendar window (``1d``, ``7d``,
    ``2w``, ``1M``, ``6M``, ``1Q``, ``1Y``) is the calendar period of the SLO with
    ``isRolling: false`` holding ``at`` in ``zone``, as ``budget report`` evaluates it (a day or
    week holding a DST change is an hour shorter or longer); without ``at``, days and weeks are
    fixed multiples of 24 hours (a rolling window), and months, quarters and years are refused.
    Hours (``36h``) are always fixed."""
    calendar = CALENDAR_DURATION.fullmatch(text)
    if calendar is None or (calendar[2] in "dw" and not at):
        try:
            seconds = duration_seconds(text)
        except ValueError as error:
            raise ConfigError(f"--period: {error}") from None
        if seconds <= 0:
            raise ConfigError(f"--period {text}: a period is longer than nothing (e.g. 30d)")
        if seconds < HOUR or seconds % HOUR:
            # as an SLO file's rolling window: budgets move hourly, and a period of minutes
            # gave alert factors for windows longer than the period
            month = ", a calendar month is 1M" if text.endswith("m") else ""
            raise ConfigError(
                f"--period {text}: a period is whole hours or days (e.g. 28d, 30d, 1w){month}"
            )
        return seconds, text
    if not at:
        raise ConfigError(
            f"--period {text} is a calendar period whose length varies (a month has 28 to 31 "
            "days): give --at 2024-02-10 (and --time-zone) to pick one, or a fixed period like 30d"
        )
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--time-zone {zone!r} is not an IANA time zone") from None
    unit, count = calendar_period(text, "--period")
    period = period_holding(parse_instant(at), unit, zone, count=count)
    return period.seconds, (
        f"{text} ({period.local_start:%Y-%m-%d} to {period.local_end:%Y-%m-%d} in {zone})"
    )


def explain(
    target: float,
    seconds: float,
    label: str,
    scheme: str = "workbook",
    rules: list[AlertRule] | None = None,
) -> dict[str, Any]:
    """What ``budget explain`` prints; ``rules`` default to the scheme's for ``seconds``."""
    budget = error_budget_ratio(target)
    if rules is None:
        rules = (
            pyrra_alert_rules(target, seconds)
            if scheme == "pyrra"
            else alert_rules(target, seconds)
        )
    return {
        "target": target,
        "target_percent": round(100 * target, BUDGET_DIGITS - 2),
        "period": label,
        "period_seconds": seconds,
        "error_budget_ratio": budget,
        # Sloth's ErrorBudget (100 − objective, in percent): 0.1 for 99.9 (Sloth's doubles give
        # 0.09999999999999432).
        "error_budget_percent": round(100 * budget, BUDGET_DIGITS - 2),
        "full_outage_budget_seconds": budget * seconds,
        "max_burn_rate": 1 / budget,
        "scheme": scheme,
        "rule": RULES[scheme],
        "alerts": [
            {
                "name": r.window.name,
                "severity": r.window.severity,
                "budget_fraction": r.window.budget_fraction,
                "long_window": r.window.long_window,
                "short_window": r.window.short_window,
                "burn_rate_threshold": r.factor,
                "error_ratio_threshold": r.error_ratio_threshold,
                "can_fire": r.can_fire,
                "detection_seconds_at_full_outage": r.detection_at_full_outage_seconds,
                # A burn held at the threshold spends the whole budget in P / b*; the text is
                # Pyrra's ``exhaustion`` label (whole seconds, truncated as Pyrra does).
                # to the millisecond: 30 days / 0.1 · 720 h / 72 h is 2591999.9999999995
                "exhaustion_seconds": round(seconds / r.factor, 3),
                "exhaustion": format_prometheus(int(round(seconds / r.factor, 3))),
                **(
                    {"for": format_prometheus(r.window.for_seconds)}
                    if r.window.for_seconds is not None
                    else {}
                ),
            }
            for r in rules
        ],
    }


def render_explanation(e: dict[str, Any]) -> str:
    target, budget = e["target"], e["error_budget_ratio"]
    lines = [
        f"Target {100 * target:g} % over {e['period']}: the error budget is {100 * budget:.4g} % of "
        f"all units, i.e. {_human(e['full_outage_budget_seconds'])} of total outage per period.",
        f"A burn rate of 1 spends exactly the budget by the end of the period; the highest possible "
        f"burn rate is 1 / (1 − T) = {e['max_burn_rate']:.4g}.",
        "Each alert fires when BOTH its long and its short window"
        + (" (1/12 of the long one)" if e["scheme"] == "workbook" else "")
        + " have an error ratio above the threshold; the short window makes it stop soon after "
        "recovery"
        + (
            ", and (Pyrra) only once the condition has held for the alert's `for` duration."
            if e["scheme"] == "pyrra"
            else "."
        ),
        f"Rule: {e['rule']}.",
        "",
        "| severity | budget spent f | long window | short window | burn-rate factor b* | error-ratio threshold | fires after (100 % errors) |",
        "|---|---|---|---|---|---|---|",
    ]
    for a in e["alerts"]:
        fires = (
            _human(a["detection_seconds_at_full_outage"])
            if a["can_fire"]
            else "never (threshold ≥ 100 %)"
        )
        lines.append(
            f"| {a['severity']} | {100 * a['budget_fraction']:g} % | {a['long_window']} "
            f"| {a['short_window']} | {a['burn_rate_threshold']:.4g} "
            f"| {100 * a['error_ratio_threshold']:.4g} % | {fires} |"
        )
    lines.append("")
    for a in e["alerts"]:
        lines.append(
            f"- {a['severity']} ({a['name']}): more than {100 * a['error_ratio_threshold']:.4g} % "
            f"errors over the last {a['long_window']} and the last {a['short_window']} means a burn "
            f"rate above {a['burn_rate_threshold']:.4g}, which spends {100 * a['budget_fraction']:g} % "
            f"of the period's budget within {a['long_window']}"
            + (f" (for {a['for']})." if "for" in a else ".")
            + (
                ""
                if a["can_fire"]
                else " This threshold is 100 % errors or more: it can never fire."
            )
        )
    return "\n".join(lines)


def _human(seconds: float) -> str:
    """52 s, 4.3 min, 12 h 0 min: durations for people."""
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.3g} min"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60} min"


def load_alert_windows(path: str) -> tuple[float, tuple[AlertWindow, ...]]:
    """A Sloth alert-windows catalog from ``path``: its period and windows (``ConfigError``)."""
    try:
        document = yaml.safe_load(Path(path).read_text())
        return sloth_alert_windows(document)
    except OSError as error:
        raise ConfigError(f"--alert-windows {path}: {error.strerror or error}") from None
    except (yaml.YAMLError, ValueError) as error:
        raise ConfigError(f"--alert-windows {path}: {error}") from None


def explain_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    try:
        target = parse_target(args.target)
        rules, scheme = None, args.scheme
        if args.alert_windows:
            if scheme != "workbook":
                raise ConfigError(
                    "--alert-windows is a Sloth catalog; it does not go with --scheme pyrra"
                )
            catalog_period, windows = load_alert_windows(args.alert_windows)
            if args.period is None:  # the catalog's own period, written in days where it can be
                days, rest = divmod(catalog_period, DAY)
                seconds = catalog_period
                label = f"{int(days)}d" if days and not rest else format_prometheus(seconds)
            else:
                seconds, label = period_seconds(args.period, args.at, args.time_zone)
            if seconds != catalog_period:
                raise ConfigError(
                    f"--alert-windows {args.alert_windows} is for a "
                    f"{format_prometheus(catalog_period)} period, not {label} (as in Sloth, a "
                    "catalog serves its sloPeriod only)"
                )
            rules, scheme = alert_rules(target, seconds, windows), "sloth-catalog"
        else:
            seconds, label = period_seconds(args.period or "30d", args.at, args.time_zone)
    except ConfigError as error:
        return _fail(str(error), EXIT_USAGE)
    explanation = explain(target, seconds, label, scheme, rules)
    print(
        json.dumps(plain(explanation), indent=2) if args.json else render_explanation(explanation)
    )
    return EXIT_OK


# --------------------------------------------------------------------------- validate/build


def validate_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    path = Path(args.config) if args.config else config_path(data_dir)
    try:
        config = load_config(path)
    except ConfigError as error:
        return _fail(str(error))
    print(
        f"{path}: {len(config.objectives)} error budgets, {len(config.adjustments)} adjustment windows"
    )
    for note in config.notes:
        print(f"note: {note}")
    if not config.objectives:
        print(
            "warning: the file defines no SLO: no flow has an error budget, and `budget gate` "
            "lets every change ship (see config/slos.yml for the form)"
        )
    budgets = _load(data_dir)
    if isinstance(budgets, str):
        print(f"data checks skipped: {budgets}")
        return EXIT_OK
    published = {b["slo_id"]: b for b in budgets}
    problems = []
    for slo in config.objectives:
        b = published.get(slo.slo_id)
        if b is None:
            problems.append(f"{slo.slo_id}: not in the published marts; run `flowledger build`")
        elif not b["is_flow_known"]:
            what = (
                f"start event {slo.start_event!r}"
                if slo.indicator == "event_pair"
                else f"flow {slo.flow_id!r}"
            )
            problems.append(
                f"{slo.slo_id}: unknown {what}: no data has it; check spec.service / the event types"
            )
        elif not b["is_window_covered"]:
            # a young instance, not a mistake in the file: a warning (an error failed every CI
            # gate running `budget validate` for the first weeks of an install)
            print(
                f"warning: {slo.slo_id}: the data starts at {b['data_starts_at']:%Y-%m-%d %H:%M} "
                f"UTC, after the period's start {b['period_start']:%Y-%m-%d %H:%M}: the "
                f"{slo.window_text} window cannot be filled yet (its budget counts the data there "
                "is); shorten the window or wait for more data"
            )
        if b is not None and b["feasibility_warning"]:
            print(f"warning: {slo.slo_id}: {b['feasibility_warning']}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return EXIT_FAILED if problems else EXIT_OK


def build_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    from flowledger.build import BuildFailed, build

    try:
        at = parse_instant(args.at) if args.at else None
        result = build(data_dir, echo=None if args.quiet else print, budget_at=at)
    except (ConfigError, BuildFailed) as error:
        return _fail(str(error))
    print(
        f"published {result.snapshot.name}; budgets evaluated at {args.at or 'the data as-of time'}"
    )
    return EXIT_OK


def notify_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    from flowledger.budgets.notify import notify

    path = Path(args.config) if args.config else config_path(data_dir)
    try:
        config = load_config(path)
        entries = notify(data_dir, config, dry_run=args.dry_run)
    except ConfigError as error:
        return _fail(str(error))
    except (NothingPublished, BudgetsMissing) as error:
        return _fail(str(error))
    if not entries:
        print("no alert or policy-state changes since the last notification")
    failed = 0
    for entry in entries:
        deliveries = entry["deliveries"]
        if not deliveries:
            outcome = "no webhook configured"
        else:
            outcome = ", ".join(f"{d['url']} {d['detail']}" for d in deliveries)
            failed += not entry["delivered"]
        print(f"{entry['text']}: {outcome}")
    return EXIT_FAILED if failed and not args.dry_run else EXIT_OK
