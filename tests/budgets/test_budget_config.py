"""SLO file validation and the burn-rate arithmetic (pure Python, no dbt)."""

from __future__ import annotations

import pytest
import yaml

from flowledger.budgets.config import (
    DEFAULT_CONFIG,
    FIXED_ALERTS,
    ConfigError,
    load_config,
    parse_documents,
)
from flowledger.budgets.math import alert_rules, burn_rate_threshold, error_budget_ratio
from flowledger.cli import main

DAY = 86400


def _slo(
    objective: str = "{target: 0.99}", window: str = "[{duration: 30d}]", extra: str = ""
) -> list:
    text = f"""
apiVersion: openslo/v1
kind: SLO
metadata: {{name: s1}}
spec:
  service: f1
  indicator: {{kind: runSuccess}}
  timeWindow: {window}
  objectives: [{objective}]
{extra}
"""
    return list(yaml.safe_load_all(text))


def _error(documents: list) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_documents(documents, "slos.yml")
    return str(caught.value)


def test_standard_factors_for_30_days():
    rules = alert_rules(0.999, 30 * DAY)
    assert [r.factor for r in rules] == pytest.approx([14.4, 6.0, 3.0, 1.0])
    assert [r.error_ratio_threshold for r in rules] == pytest.approx([0.0144, 0.006, 0.003, 0.001])
    assert [r.window.short_window for r in rules] == ["5m", "30m", "2h", "6h"]


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        # b* = f · P / w: 28 d = 672 h; 7 d = 168 h; a 31-day month 744 h; 90 d = 2160 h.
        (28, [13.44, 5.6, 2.8, 0.1 * 672 / 72]),
        (7, [3.36, 1.4, 0.7, 0.1 * 168 / 72]),
        (31, [14.88, 6.2, 3.1, 0.1 * 744 / 72]),
        (90, [43.2, 18.0, 9.0, 3.0]),
    ],
)
def test_factors_recomputed_for_other_periods(days, expected):
    assert [r.factor for r in alert_rules(0.999, days * DAY)] == pytest.approx(expected)


def test_threshold_that_can_never_fire():
    # 90 % target over 90 days: page factor 43.2 · 0.1 = 4.32 > 100 % errors.
    rules = alert_rules(0.9, 90 * DAY)
    assert [r.can_fire for r in rules] == [False, False, True, True]
    assert burn_rate_threshold(0.02, 30 * DAY, 3600) == pytest.approx(14.4)


def test_demo_config_is_valid():
    config = load_config(DEFAULT_CONFIG)
    ids = {slo.slo_id for slo in config.objectives}
    assert {"payment-capture-success", "order-intake-latency/p90-2m", "order-shipped-48h"} <= ids
    assert config.adjustments[0].starts_at == "2026-09-30 10:00:00"
    assert config.adjustments[0].ends_at == "2026-09-30 14:30:00"


def test_target_percent_and_ratio_normalised():
    config = parse_documents(_slo("{targetPercent: 99.9}"))
    assert config.objectives[0].target == pytest.approx(0.999)


@pytest.mark.parametrize(
    ("ratio", "percent", "budget"),
    [
        ("0.999", "99.9", 0.001),
        ("0.95", "95", 0.05),
        ("0.99", "99", 0.01),
        ("0.9995", "99.95", 0.0005),
    ],
)
def test_target_and_target_percent_give_the_same_exact_budget(ratio, percent, budget):
    # 99.9 / 100 is 0.9990000000000001 and 1 − 0.95 is 0.050000000000000044 in doubles: both forms
    # are rounded to 12 decimals, so they are one target (OpenSLO: equivalent) and the budget of
    # 0.05 · 20160 slices is exactly 1008.
    by_ratio = parse_documents(_slo(f"{{target: {ratio}}}")).objectives[0]
    by_percent = parse_documents(_slo(f"{{targetPercent: {percent}}}")).objectives[0]
    assert by_ratio.target == by_percent.target == float(ratio)
    assert by_ratio.dbt_row()["target"] == by_percent.dbt_row()["target"] == float(ratio)
    assert error_budget_ratio(by_percent.target) == budget  # exactly, not approx
    assert error_budget_ratio(0.95) * 20160 == 1008


@pytest.mark.parametrize(
    ("objective", "message"),
    [
        ("{target: 1}", "leaves no error budget"),
        ("{target: 0}", "must be above 0"),
        ("{targetPercent: 100}", "leaves no error budget"),
        ("{targetPercent: 0}", "must be above 0"),
        # a ratio written as a percent: 0.999 % made a budget of 99 % that never froze
        (
            "{targetPercent: 0.999}",
            "0.999 % is a ratio written as a percent; write targetPercent: 99.9",
        ),
        # NaN passed every check: the report showed nan % and the gate never froze
        ("{target: .nan}", "target: nan is not a number"),
        ("{targetPercent: .nan}", "targetPercent: nan is not a number"),
        ("{target: .inf}", "target: inf is not a number"),
        ("{target: 99.9}", "write targetPercent: 99.9 or target: 0.999"),
        ("{target: 0.9, targetPercent: 90}", "exactly one of target"),
        ("{target: 0.9, timeSliceWindow: 5m}", "apply to budgetingMethod Timeslices"),
    ],
)
def test_bad_targets_are_named(objective, message):
    error = _error(_slo(objective))
    assert "slos.yml: document 1 (SLO 's1'): spec.objectives[0]" in error
    assert message in error


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("[{duration: 1M}]", "not a rolling window"),
        ("[{duration: 30m}]", "whole hours"),
        ("[{duration: 1M, isRolling: false}]", "needs calendar"),
        (
            "[{duration: 1h, isRolling: false, calendar: {timeZone: UTC}}]",
            "a whole number of local days, weeks, months, quarters or years: 1d, 1w, 2w, 1M, "
            "6M, 1Q, 1Y (got '1h')",
        ),
        (
            "[{duration: 0M, isRolling: false, calendar: {timeZone: UTC}}]",
            "(got '0M')",
        ),
        (
            "[{duration: 1m, isRolling: false, calendar: {timeZone: UTC}}]",
            "'1m' is 1 minute(s) (OpenSLO's m), a calendar month is 1M",
        ),
        (
            "[{duration: 13M, isRolling: false, calendar: {timeZone: UTC}}]",
            "'13M' is longer than a year (1Y), the longest window",
        ),
        (
            "[{duration: 2Y, isRolling: false, calendar: {timeZone: UTC}}]",
            "'2Y' is longer than a year (1Y), the longest window",
        ),
        (
            "[{duration: 58w, isRolling: false, calendar: {timeZone: UTC}}]",
            "'58w' is longer than 400 days, the longest window",
        ),
        (
            "[{duration: 1M, isRolling: false, calendar: {timeZone: Mars/Olympus}}]",
            "not an IANA time zone",
        ),
        (
            "[{duration: 1M, isRolling: false, calendar: {timeZone: UTC, startTime: '2024-01-15T09:00:00.5'}}]",
            "'2024-01-15T09:00:00.5' is not a local date-time as OpenSLO writes it, YYYY-MM-DD HH:MM:SS",
        ),
        (
            "[{duration: 1M, isRolling: false, calendar: {timeZone: UTC, startTime: 'next monday'}}]",
            "spec.timeWindow[0].calendar.startTime: 'next monday' is not a local date-time",
        ),
        (
            "[{duration: 1M, isRolling: false, calendar: {timeZone: Mars/Olympus, startTime: '2024-01-15 09:00:00'}}]",
            "spec.timeWindow[0].calendar.timeZone: 'Mars/Olympus' is not an IANA time zone",
        ),
    ],
)
def test_bad_windows_are_named(window, message):
    assert message in _error(_slo(window=window))


def test_schema_errors_name_the_field():
    documents = _slo()
    documents[0]["spec"]["indicatr"] = {}
    error = _error(documents)
    assert "'indicatr' was unexpected" in error and "check the spelling" in error


def test_timeslices_need_their_fields():
    error = _error(_slo("{target: 0.99}", extra="  budgetingMethod: Timeslices"))
    assert "needs timeSliceWindow" in error
    error = _error(
        _slo(
            "{target: 0.99, timeSliceWindow: 7m, timeSliceTarget: 0.9}",
            extra="  budgetingMethod: Timeslices",
        )
    )
    assert "must tile hours and days" in error


def test_duplicate_names_and_unknown_adjustment_targets():
    documents = _slo() + _slo()
    assert "defined 2 times" in _error(documents)
    adjustment = {
        "apiVersion": "openslo/v1",
        "kind": "BudgetAdjustment",
        "metadata": {"name": "m"},
        "spec": {
            "kind": "maintenance",
            "start": "2024-01-01T00:00:00Z",
            "duration": "1h",
            "slos": ["nope"],
        },
    }
    assert "no SLO named 'nope'" in _error(_slo() + [adjustment])


def test_recurring_maintenance_expands():
    adjustment = {
        "apiVersion": "openslo/v1",
        "kind": "BudgetAdjustment",
        "metadata": {"name": "sunday"},
        "spec": {
            "kind": "maintenance",
            "start": "2024-03-03T02:00:00+01:00",
            "duration": "2h",
            "rrule": "FREQ=WEEKLY;COUNT=3",
        },
    }
    config = parse_documents(_slo() + [adjustment])
    assert [(a.starts_at, a.ends_at) for a in config.adjustments] == [
        ("2024-03-03 01:00:00", "2024-03-03 03:00:00"),
        ("2024-03-10 01:00:00", "2024-03-10 03:00:00"),
        ("2024-03-17 01:00:00", "2024-03-17 03:00:00"),
    ]
    adjustment["spec"]["rrule"] = "FREQ=WEEKLY"
    assert "needs COUNT= or UNTIL=" in _error(_slo() + [adjustment])


def test_an_slo_file_that_is_no_utf8_text_or_a_directory(tmp_path):
    latin = tmp_path / "latin1.yml"
    latin.write_bytes(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: caf\xe9}\n".encode("latin-1")
    )
    with pytest.raises(
        ConfigError, match=r"not UTF-8 text \(byte 0xe9 .*save the SLO file as UTF-8"
    ):
        load_config(latin)
    with pytest.raises(ConfigError, match="a directory, not an SLO file"):
        load_config(tmp_path)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="SLO file not found"):
        load_config(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("kind: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    # a key given twice kept the last value without a word (a target overwritten)
    bad.write_text("slos:\n  - id: a\n    target: 0.99\n    target: 0.5\n")
    with pytest.raises(ConfigError, match="key 'target' appears twice"):
        load_config(bad)


# --- OpenSLO files as published ------------------------------------------------------------------


def _calendar_slo(start_time: str) -> list:
    # unquoted, as in the OpenSLO spec and examples: YAML reads it as a timestamp or a date
    window = f"[{{duration: 1M, isRolling: false, calendar: {{startTime: {start_time}, timeZone: UTC}}}}]"
    return _slo(window=window)


@pytest.mark.parametrize(
    ("start_time", "anchor"),
    [
        ("2022-01-01 12:00:00", "2022-01-01 12:00:00"),  # the OpenSLO spec's example
        ("2022-01-15", "2022-01-15 00:00:00"),
        ("2024-01-15 09:00:00", "2024-01-15 09:00:00"),
        ("'2024-01-15T09:00:00'", "2024-01-15 09:00:00"),  # ISO's T, as earlier versions took
    ],
)
def test_unquoted_calendar_start_time_anchors_the_periods(start_time, anchor):
    slo = parse_documents(_calendar_slo(start_time)).objectives[0]
    assert (slo.calendar_unit, slo.calendar_anchor, slo.time_zone) == ("month", anchor, "UTC")
    assert slo.dbt_row()["calendar_anchor"] == anchor


@pytest.mark.parametrize(
    ("duration", "start_time", "anchored"),
    [
        # on the unanchored boundaries: the same periods as without a startTime, which builds
        # compute with date_trunc
        ("1M", "2022-01-01", False),
        ("1M", "2026-07-01 00:00:00", False),
        ("1Q", "2026-04-01", False),
        ("1Y", "2020-01-01", False),
        ("1w", "2026-01-05 00:00:00", False),
        ("1d", "2026-03-29", False),
        # off them: an anchor
        ("1M", "2022-01-01 00:00:01", True),
        ("1Q", "2026-02-01", True),
        ("1Y", "2020-04-01", True),
        ("1w", "2026-01-06", True),
        ("1d", "2026-03-29 06:00:00", True),
    ],
)
def test_a_start_time_anchors_only_off_the_unanchored_boundaries(duration, start_time, anchored):
    window = f"[{{duration: {duration}, isRolling: false, calendar: {{startTime: '{start_time}', timeZone: Europe/Berlin}}}}]"
    slo = parse_documents(_slo(window=window)).objectives[0]
    assert (slo.calendar_anchor is not None) == anchored


def test_calendar_without_start_time_has_no_anchor():
    window = "[{duration: 1w, isRolling: false, calendar: {timeZone: Europe/Berlin}}]"
    slo = parse_documents(_slo(window=window)).objectives[0]
    assert (slo.calendar_unit, slo.calendar_anchor) == ("week", None)


def test_an_offset_in_the_start_time_is_refused():
    # YAML reads it as an aware timestamp; OpenSLO's startTime is local to timeZone
    error = _error(_calendar_slo("2022-01-01 12:00:00+02:00"))
    assert "calendar.startTime: '2022-01-01 12:00:00+02:00' is not a local date-time" in error


def test_slices_must_tile_an_anchored_period():
    window = (
        "[{duration: 1M, isRolling: false, "
        "calendar: {timeZone: UTC, startTime: '2024-01-15 09:10:00'}}]"
    )
    ok = "{target: 0.9, timeSliceTarget: 0.9, timeSliceWindow: 5m}"
    slo = parse_documents(_slo(ok, window, "  budgetingMethod: Timeslices")).objectives[0]
    assert slo.slice_seconds == 300
    bad = "{target: 0.9, timeSliceTarget: 0.9, timeSliceWindow: 15m}"
    error = _error(_slo(bad, window, "  budgetingMethod: Timeslices"))
    assert "slices of 900 s do not tile periods starting at 09:10:00" in error


def test_time_slice_window_as_a_number_is_minutes():
    slo = parse_documents(
        _slo(
            "{target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 5}",
            extra="  budgetingMethod: Timeslices",
        )
    ).objectives[0]
    assert slo.slice_seconds == 300
    error = _error(
        _slo(
            "{target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 7}",
            extra="  budgetingMethod: Timeslices",
        )
    )
    assert "spec.objectives[0].timeSliceWindow: 7 must tile hours and days" in error


@pytest.mark.parametrize(
    "policies", ["", "[]", "[{kind: AlertPolicy, metadata: {name: p}}]", "[page-me]"]
)
def test_openslo_alert_policies_are_accepted_and_ignored(policies):
    config = parse_documents(_slo(extra=f"  alertPolicies: {policies}"))
    assert [slo.slo_id for slo in config.objectives] == ["s1"]


@pytest.mark.parametrize("metric", ["ratioMetric", "thresholdMetric"])
def test_openslo_metric_indicators_get_a_clear_message(metric):
    documents = _slo()
    documents[0]["spec"]["indicator"] = {
        "metadata": {"name": "web-availability"},
        "spec": {metric: {"good": {"metricSource": {"type": "Any", "spec": {"query": "Any"}}}}},
    }
    error = _error(documents)
    assert f"spec.indicator: an OpenSLO SLI with {metric} (a metric query) is not read" in error
    assert "runSuccess, latency or eventPair" in error
    assert "'kind' is a required property" not in error and "check the spelling" not in error


def test_op_other_than_a_latency_comparison_is_explained():
    error = _error(_slo("{target: 0.99, op: gt}"))
    assert "spec.objectives[0].op: 'gt' is not one of ['lte', 'lt']" in error
    assert "op compares a latency indicator's duration with value" in error


# --- OpenSLO indicatorRef: the SLI in a document of its own ---------------------------------------


def _sli(name: str, spec: str) -> dict:
    return yaml.safe_load(
        f"apiVersion: openslo/v1\nkind: SLI\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    )


def _referring(ref: str, documents: list | None = None) -> list:
    slo = _slo()
    del slo[0]["spec"]["indicator"]
    slo[0]["spec"]["indicatorRef"] = ref
    return slo + (documents or [])


@pytest.mark.parametrize(
    ("indicator", "objectives"),
    [
        ("{kind: runSuccess, countBy: attempt}", "[{target: 0.99}]"),
        (
            "{kind: latency, span: endToEnd}",
            "[{name: p90-2m, target: 0.9, value: 2m}, {name: p99-10m, targetPercent: 99, "
            "value: 10m, op: lt}]",
        ),
        (
            "{kind: eventPair, startEvent: com.acme.psp.payment.captured, endEvent: "
            "com.acme.wms.order.shipped, joinKey: order_id, deadline: 48h, source: psp}",
            "[{target: 0.95}]",
        ),
    ],
)
def test_indicator_ref_builds_the_same_budget_as_the_indicator_inline(
    tmp_path, indicator, objectives
):
    slo = f"""apiVersion: openslo/v1
kind: SLO
metadata: {{name: lead-sync}}
spec:
  service: lead-sync
  INDICATOR
  timeWindow: [{{duration: 28d}}]
  objectives: {objectives}
"""
    inline = tmp_path / "inline.yml"
    inline.write_text(slo.replace("INDICATOR", f"indicator: {indicator}"))
    # a stream of documents, the SLI after the SLO that names it
    referenced = tmp_path / "referenced.yml"
    referenced.write_text(
        slo.replace("INDICATOR", "indicatorRef: lead-sync-sli")
        + "---\napiVersion: openslo/v1\nkind: SLI\nmetadata: {name: lead-sync-sli}\n"
        + f"spec: {indicator}\n"
    )
    expected, actual = load_config(inline), load_config(referenced)
    assert actual.objectives == expected.objectives
    assert actual.dbt_vars() == expected.dbt_vars()


def test_an_sli_document_may_describe_itself_and_serve_several_slos():
    sli = _sli("runs-succeed", "{description: the final attempt succeeds, kind: runSuccess}")
    second = _referring("runs-succeed")[0]
    second["metadata"]["name"] = "s2"
    config = parse_documents([sli, *_referring("runs-succeed"), second])
    assert [(slo.slo_id, slo.indicator) for slo in config.objectives] == [
        ("s1", "run_success"),
        ("s2", "run_success"),
    ]


def test_indicator_ref_to_a_missing_sli_names_it():
    error = _error(_referring("runs-suceed", [_sli("runs-succeed", "{kind: runSuccess}")]))
    assert (
        "document 1 (SLO 's1'): spec.indicatorRef: no SLI named 'runs-suceed' in this file "
        "(SLIs here: runs-succeed)"
    ) in error
    assert "is a required property" not in error and "check the spelling" not in error
    assert "(SLIs here: none)" in _error(_referring("runs-succeed"))


def test_indicator_and_indicator_ref_together_are_refused():
    documents = _referring("runs-succeed", [_sli("runs-succeed", "{kind: runSuccess}")])
    documents[0]["spec"]["indicator"] = {"kind": "runSuccess"}
    error = _error(documents)
    assert "spec: give indicator or indicatorRef, not both" in error
    assert "check the spelling" not in error


def test_an_slo_without_indicator_or_indicator_ref_is_told_both_options():
    documents = _slo()
    del documents[0]["spec"]["indicator"]
    assert "spec: an SLO needs indicator" in _error(documents)
    assert "or indicatorRef" in _error(documents)


def test_sli_documents_are_checked_where_they_are_written():
    duplicate = _error(
        _referring(
            "runs-succeed",
            [_sli("runs-succeed", "{kind: runSuccess}"), _sli("runs-succeed", "{kind: latency}")],
        )
    )
    assert "SLI 'runs-succeed' is defined 2 times" in duplicate
    incomplete = _error(_referring("pairs", [_sli("pairs", "{kind: eventPair, joinKey: id}")]))
    assert (
        "document 2 (SLI 'pairs'): spec: an eventPair indicator needs startEvent, endEvent, "
        "deadline"
    ) in incomplete
    metric = _error(
        _referring("web", [_sli("web", "{ratioMetric: {good: {metricSource: {type: Any}}}}")])
    )
    assert (
        "document 2 (SLI 'web'): spec: an OpenSLO SLI with ratioMetric (a metric query) is not read"
        in metric
    )


@pytest.mark.parametrize(
    ("duration", "unit", "count", "anchor"),
    [
        ("7d", "week", 1, None),
        ("3M", "quarter", 1, None),
        ("12M", "year", 1, None),
        ("4Q", "year", 1, "2026-04-01 00:00:00"),  # a fiscal year from April
        # several units: in the largest unit that divides them, the same periods
        ("2w", "week", 2, None),
        ("14d", "week", 2, None),
        ("3d", "day", 3, None),
        ("2M", "month", 2, None),
        ("6M", "quarter", 2, None),
        ("2Q", "quarter", 2, None),
        ("57w", "week", 57, None),
    ],
)
def test_a_calendar_duration_is_read_in_the_largest_unit_that_divides_it(
    duration, unit, count, anchor
):
    start = f", startTime: '{anchor}'" if anchor else ""
    window = f"[{{duration: {duration}, isRolling: false, calendar: {{timeZone: Europe/Berlin{start}}}}}]"
    slo = parse_documents(_slo(window=window)).objectives[0]
    assert (slo.window_text, slo.calendar_unit, slo.calendar_count, slo.calendar_anchor) == (
        duration,
        unit,
        count,
        anchor,
    )
    assert slo.dbt_row()["calendar_count"] == count


@pytest.mark.parametrize(
    ("duration", "start_time", "kept"),
    [
        # the periods of the default anchor (Monday 1 January 2001): no anchor needed
        ("2w", "2024-03-11 00:00:00", False),  # 605 fortnights after it
        ("2w", "2024-03-18 00:00:00", True),  # a Monday between those fortnights
        ("6M", "2026-07-01 00:00:00", False),
        ("6M", "2026-04-01 00:00:00", True),  # halves from April: a fiscal half-year
        ("2M", "2025-03-01 00:00:00", False),
        ("2M", "2025-02-01 00:00:00", True),
    ],
)
def test_a_start_time_on_the_default_periods_of_several_units_is_no_anchor(
    duration, start_time, kept
):
    window = (
        f"[{{duration: {duration}, isRolling: false, "
        f"calendar: {{timeZone: UTC, startTime: '{start_time}'}}}}]"
    )
    slo = parse_documents(_slo(window=window)).objectives[0]
    assert slo.calendar_anchor == (start_time if kept else None)


def test_a_rolling_window_has_no_calendar_count():
    slo = parse_documents(_slo(window="[{duration: 28d, isRolling: true}]")).objectives[0]
    assert (slo.calendar_unit, slo.calendar_count) == (None, None)


def test_openslo_files_as_written_with_services_alert_policies_and_inline_slis():
    # a Service document, an AlertPolicy the SLO refers to by name, and OpenSLO's inline SLI
    # (`indicator: {metadata, spec}`) with a flowledger indicator kind: the file was refused
    # ("'Service' is not one of …", "an OpenSLO SLI with a metric … is not read")
    text = """
apiVersion: openslo/v1
kind: Service
metadata: {name: f1, displayName: Order intake}
spec: {description: the order intake flow}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: page-on-fast-burn}
spec:
  conditions: [{conditionRef: fast-burn}]
  notificationTargets: [{targetRef: on-call}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: s1, displayName: Order intake succeeds}
spec:
  service: f1
  indicator:
    metadata: {name: intake-success}
    spec: {kind: runSuccess}
  timeWindow: [{duration: 30d, isRolling: true}]
  objectives: [{targetPercent: 99}]
  alertPolicies: [page-on-fast-burn]
"""
    config = parse_documents(list(yaml.safe_load_all(text)))
    (slo,) = config.objectives
    assert (slo.slo_id, slo.flow_id, slo.indicator, slo.target) == ("s1", "f1", "run_success", 0.99)
    # the alert policy and the SLO's reference to it were accepted without a word, as if its
    # conditions would fire; the Service needs none
    assert [note.split(": ", 2)[1:] for note in config.notes] == [
        [
            "document 2 (AlertPolicy 'page-on-fast-burn')",
            "AlertPolicy not applied; " + FIXED_ALERTS,
        ],
        ["document 3 (SLO 's1')", "spec.alertPolicies not applied; " + FIXED_ALERTS],
    ]


def test_validate_prints_what_the_file_says_that_is_not_applied(tmp_path, capsys):
    path = tmp_path / "slos.yml"
    path.write_text(yaml.safe_dump_all(_slo(extra="  alertPolicies: [page-me]")))
    code = main(["--data-dir", str(tmp_path / "home"), "budget", "validate", "--config", str(path)])
    output = capsys.readouterr().out
    assert code == 0
    assert "note: " in output and "spec.alertPolicies not applied" in output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:18765/ok/SECRET TOKEN4", "holds a blank or a control character"),
        ("http://127.0.0.1:18765/ok/SECRET\nTOKEN4", "holds a blank or a control character"),
        ("http://127.0.0.1:abc/SECRET", "has a port that is no number"),
        ("ftp://example.com/SECRET", "does not match"),
    ],
)
def test_an_unusable_webhook_url_is_refused_without_its_path(url, message):
    # `budget notify` crashed on such a URL, printing its secret path, and sent the earlier
    # changes again on every run
    (document,) = _slo()
    document["spec"]["notifications"] = {"webhooks": [{"url": url}]}
    error = _error([document])
    assert message in error and "SECRET" not in error


def test_messages_say_what_to_change():
    # two windows: the schema's "[{...}, {...}] is too long" printed the list
    two = _error(_slo(window="[{duration: 30d, isRolling: true}, {duration: 7d, isRolling: true}]"))
    assert "spec.timeWindow: gives 2 items; at most 1 is read" in two
    # two objectives of one SLO with one name: the objective names are what to change
    twice = _error(_slo(objective="{name: x, target: 0.9}, {name: x, target: 0.99}"))
    assert "SLO id 's1/x' is defined 2 times" in twice
    assert "and each of its objectives a unique name" in twice


def test_a_rolling_window_is_a_whole_number_of_slices():
    # N = 25 h / 2 h = 12.5 slices would be a budget of half a slice's worth of N
    error = _error(
        _slo(
            "{target: 0.99, timeSliceTarget: 0.9, timeSliceWindow: 2h}",
            "[{duration: 25h, isRolling: true}]",
            "  budgetingMethod: Timeslices",
        )
    )
    assert "slices of 7200 s do not tile the rolling 25h window (12.5 slices)" in error
    ok = parse_documents(
        _slo(
            "{target: 0.99, timeSliceWindow: 1d}",
            "[{duration: 7d, isRolling: true}]",
            "  budgetingMethod: RatioTimeslices",
        )
    )
    assert ok.objectives[0].slice_seconds == DAY
