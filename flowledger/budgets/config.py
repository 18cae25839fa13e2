"""SLOs as configuration: load the OpenSLO-style YAML, validate it, render it to dbt ``--vars``.

The file holds YAML documents of ``kind: SLO`` (one per flow and indicator, one budget per
objective), ``kind: SLI`` (an indicator that SLOs name in ``spec.indicatorRef`` instead of
writing ``spec.indicator``, as in OpenSLO v1) and ``kind: BudgetAdjustment`` (declared
maintenance windows and vendor incidents).
``config/slos.schema.json`` checks the shape; :func:`load_config` adds the checks a schema
cannot express (targets of 0 or 100 %, windows, time zones, slice sizes) and says where.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import yaml

from flowledger.budgets.math import DAY, HOUR, duration_seconds, target_ratio
from flowledger.budgets.periods import (
    START_TIME_FORMAT,
    parse_start_time,
    starts_unanchored_periods,
)
from flowledger.settings import PROJECT_ROOT, DataDir
from flowledger.yaml_text import load_all_yaml, yaml_problem

SLOS_ENV = "FLOWLEDGER_SLOS"
AT_ENV = "FLOWLEDGER_BUDGET_AT"
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "slos.yml"
SCHEMA_PATH = PROJECT_ROOT / "config" / "slos.schema.json"
DEFAULT_HISTORY_DAYS = 90
MAX_ADJUSTMENT_WINDOWS = 2000

#: A calendar window's duration (``isRolling: false``): a whole number of local days (d), weeks
#: (w), months (M), quarters (Q) or years (Y); ``1d`` is the local day (23 or 25 hours on a DST
#: change; so is ``budget explain --period 1d --at …``, and without ``--at`` 24h).
CALENDAR_DURATION = re.compile(r"([1-9][0-9]{0,3})([dwMQY])")
#: The longest window, rolling or calendar (days, weeks); calendar months end at a year (12M).
MAX_WINDOW_DAYS = 400
INDICATORS = {"runSuccess": "run_success", "latency": "latency", "eventPair": "event_pair"}
#: Slice lengths that tile every hour (and so every calendar period) exactly.
SLICE_SECONDS_ALLOWED = sorted(
    {s for s in range(60, HOUR + 1, 60) if HOUR % s == 0}
    | {h * HOUR for h in (1, 2, 3, 4, 6, 8, 12, 24)}
)


class ConfigError(ValueError):
    """The SLO file is invalid; the message says where and what to change."""


@dataclass(frozen=True)
class Policy:
    at_risk_remaining: float = 0.5
    recover_remaining: float = 0.1
    recover_hours: int = 24
    clear_hours: int = 6
    min_events: int = 10


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str = "json"  # json | slack


@dataclass(frozen=True)
class Indicator:
    """What an SLO counts: written inline (``spec.indicator``) or as the ``spec`` of a
    ``kind: SLI`` document that SLOs name in ``spec.indicatorRef``."""

    kind: str  # run_success | latency | event_pair
    count_by: str  # outcome | attempt
    latency_span: str | None  # run | end_to_end (latency only)
    start_event: str | None
    end_event: str | None
    join_key: str | None
    deadline_seconds: float | None
    event_source: str | None


@dataclass(frozen=True)
class SloObjective:
    """One error budget: an SLO document's objective, with everything normalised."""

    slo_id: str
    slo_name: str
    display_name: str
    flow_id: str
    indicator: str  # run_success | latency | event_pair
    count_by: str  # outcome | attempt
    latency_span: str | None  # run | end_to_end
    threshold_ms: float | None
    threshold_inclusive: bool
    start_event: str | None
    end_event: str | None
    join_key: str | None
    deadline_seconds: float | None
    event_source: str | None
    target: float
    window_text: str
    window_kind: str  # rolling | calendar
    window_seconds: int | None  # rolling windows
    calendar_unit: str | None  # day | week | month | quarter | year
    #: units per calendar period (2 for 2w); 1 for one unit, None for rolling windows
    calendar_count: int | None
    #: the local wall time calendar periods are anchored at (OpenSLO's calendar.startTime,
    #: as YYYY-MM-DD HH:MM:SS); None: flowledger/budgets/periods.py DEFAULT_ANCHOR
    calendar_anchor: str | None
    time_zone: str
    method: str  # Occurrences | Timeslices | RatioTimeslices
    slice_seconds: int | None
    slice_target: float | None
    policy: Policy = field(default_factory=Policy)
    webhooks: tuple[Webhook, ...] = ()
    dashboard_url: str | None = None

    def dbt_row(self) -> dict[str, Any]:
        row = {k: v for k, v in asdict(self).items() if k not in ("policy", "webhooks")}
        row.update({k: v for k, v in asdict(self.policy).items()})
        row["threshold_inclusive"] = bool(self.threshold_inclusive)
        return row


@dataclass(frozen=True)
class AdjustmentWindow:
    """A declared maintenance window or vendor incident applied to one SLO."""

    slo_id: str
    name: str
    kind: str
    starts_at: str  # UTC, ISO without offset
    ends_at: str
    description: str


@dataclass(frozen=True)
class BudgetConfig:
    path: Path
    objectives: tuple[SloObjective, ...]
    adjustments: tuple[AdjustmentWindow, ...]
    #: what the file says that flowledger does not apply (an OpenSLO alert policy), to tell
    notes: tuple[str, ...] = ()

    def by_flow(self, flow_id: str) -> list[SloObjective]:
        return [slo for slo in self.objectives if slo.flow_id == flow_id]

    def dbt_vars(self, as_of: datetime | None = None, history_days: int | None = None) -> dict:
        """The ``--vars`` the error-budget models read (see ``macros/error_budgets/``)."""
        return {
            "flowledger_slos": [slo.dbt_row() for slo in self.objectives],
            "flowledger_budget_adjustments": [asdict(a) for a in self.adjustments],
            "flowledger_budget_as_of": _utc_text(as_of) if as_of else None,
            "flowledger_budget_history_days": history_days or DEFAULT_HISTORY_DAYS,
        }


def config_path(data_dir: DataDir | None = None) -> Path:
    """``$FLOWLEDGER_SLOS``, else ``<data dir>/slos.yml`` when present, else ``config/slos.yml``."""
    if os.environ.get(SLOS_ENV):
        return Path(os.environ[SLOS_ENV]).expanduser()
    if data_dir is not None and (data_dir.root / "slos.yml").exists():
        return data_dir.root / "slos.yml"
    return DEFAULT_CONFIG


def dbt_vars_for_build(data_dir: DataDir, at: datetime | None = None) -> dict:
    """Hook for ``flowledger build``: the SLO file rendered to dbt vars, evaluated at ``at``.

    Without ``at`` the marts are evaluated at ``$FLOWLEDGER_BUDGET_AT`` when set, else at the
    data's as-of time (the newest run or event), so a rebuild is reproducible.
    """
    if at is None and os.environ.get(AT_ENV):
        at = parse_instant(os.environ[AT_ENV], AT_ENV)
    return load_config(config_path(data_dir)).dbt_vars(as_of=at)


def load_config(path: Path) -> BudgetConfig:
    """Read and validate an SLO file; raise :class:`ConfigError` naming the place of each problem."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: SLO file not found; create it (see config/slos.yml) or set {SLOS_ENV}"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a directory, not an SLO file (give the YAML file)") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
            f"{error.start}); save the SLO file as UTF-8"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        documents = [doc for doc in load_all_yaml(text) if doc is not None]
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {yaml_problem(error)}") from None
    if documents and isinstance(documents[0], list) and len(documents) == 1:
        documents = documents[0]
    return parse_documents(documents, str(path))


def parse_documents(documents: list[Any], where: str = "<slos>") -> BudgetConfig:
    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors: list[str] = []
    objectives: list[SloObjective] = []
    slo_docs: list[tuple[str, dict]] = []
    #: SLI name → its indicator; None when the SLI document is invalid (and reported)
    slis: dict[str, Indicator | None] = {}
    sli_names: list[str] = []
    adjustment_docs: list[tuple[str, dict]] = []
    notes: list[str] = []
    for index, document in enumerate(documents, start=1):
        place = f"{where}: document {index}"
        if not isinstance(document, dict):
            errors.append(f"{place}: expected a mapping with apiVersion, kind, metadata, spec")
            continue
        document = _as_text_dates(document)
        name = (document.get("metadata") or {}).get("name")
        if name:
            place += f" ({document.get('kind', '?')} {name!r})"
        if document.get("apiVersion") == "openslo/v1alpha":
            # Sloth's OpenSLO examples are v1alpha: say what to change instead of the schema's
            # list of unknown fields.
            errors.append(
                f"{place}: apiVersion openslo/v1alpha is not read; flowledger reads OpenSLO v1: "
                "write apiVersion: openslo/v1, timeWindow: [{duration: 30d, isRolling: true}] "
                "instead of timeWindows: [{count: 30, unit: Day}], and an indicator "
                "(runSuccess, latency or eventPair) instead of objectives[].ratioMetrics "
                "(see docs/error-budgets.md)"
            )
            continue
        if document.get("kind") in IGNORED_OPENSLO_KINDS:
            # a Service, an AlertPolicy… of the same file: read by other tools
            if document.get("kind") in OPENSLO_ALERT_KINDS:
                notes.append(f"{place}: {document['kind']} not applied; {FIXED_ALERTS}")
            continue
        if document.get("kind") == "SLO" and (document.get("spec") or {}).get("alertPolicies"):
            notes.append(f"{place}: spec.alertPolicies not applied; {FIXED_ALERTS}")
        document = _inline_sli(document)
        problems = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        messages = []
        metric_sli = _openslo_metric_sli(document)
        if metric_sli:
            # instead of the schema's "'kind' is a required property" and "'spec' was unexpected"
            path, message = metric_sli
            problems = [p for p in problems if list(p.absolute_path)[: len(path)] != path]
            messages.append(message)
        messages += [_schema_message(problem) for problem in problems]
        if document.get("kind") == "SLI" and isinstance(name, str):
            sli_names.append(name)
            slis[name] = None
        if messages:
            errors.extend(f"{place}: {message}" for message in messages[:5])
            continue
        if document["kind"] == "SLO":
            slo_docs.append((place, document))
        elif document["kind"] == "SLI":
            try:
                slis[name] = _parse_indicator(document["spec"], "spec")
            except ConfigError as error:
                errors.append(f"{place}: {error}")
        else:
            adjustment_docs.append((place, document))
    errors.extend(
        f"{where}: SLI {sli!r} is defined {n} times; give each SLI a unique metadata.name"
        for sli, n in Counter(sli_names).items()
        if n > 1
    )
    for place, document in slo_docs:
        try:
            objectives.extend(_parse_slo(document, _indicator_of(document["spec"], slis)))
        except ConfigError as error:
            errors.append(f"{place}: {error}")
    errors.extend(
        f"{where}: SLO id {slo_id!r} is defined {n} times; give each SLO a unique metadata.name"
        + (" and each of its objectives a unique name" if "/" in slo_id else "")
        for slo_id, n in Counter(slo.slo_id for slo in objectives).items()
        if n > 1
    )
    adjustments: list[AdjustmentWindow] = []
    for place, document in adjustment_docs:
        try:
            adjustments.extend(_parse_adjustment(document, objectives))
        except ConfigError as error:
            errors.append(f"{place}: {error}")
    if errors:
        raise ConfigError("invalid SLO configuration:\n  " + "\n  ".join(errors))
    return BudgetConfig(Path(where), tuple(objectives), tuple(adjustments), tuple(notes))


def _as_text_dates(value: Any) -> Any:
    """Dates and timestamps as the ISO text they were written as: YAML reads an unquoted
    ``startTime: 2022-01-01 12:00:00`` (as in the OpenSLO spec) as a timestamp."""
    if isinstance(value, dict):
        return {key: _as_text_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_text_dates(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


#: OpenSLO kinds a file of SLOs holds besides SLOs and SLIs (a ``Service`` the SLOs name, the
#: ``AlertPolicy`` an SLO's ``alertPolicies`` refers to…): skipped, as ``alertPolicies`` is.
IGNORED_OPENSLO_KINDS = frozenset(
    {"Service", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource"}
)
#: of those, the ones whose conditions a user may expect to fire: a note says they do not
OPENSLO_ALERT_KINDS = frozenset({"AlertPolicy", "AlertCondition", "AlertNotificationTarget"})
FIXED_ALERTS = (
    "flowledger alerts with the SRE Workbook's four multi-window burn-rate alerts (page-1h, "
    "page-6h, ticket-1d, ticket-3d) for every SLO and notifies through spec.notifications "
    '(docs/error-budgets.md, "Multi-window, multi-burn-rate alerts")'
)


def _inline_sli(document: dict) -> dict:
    """An SLO whose indicator is written as OpenSLO's inline SLI, ``indicator: {metadata:
    {name}, spec: {kind: runSuccess}}``, with its ``spec`` as the indicator."""
    spec = document.get("spec")
    indicator = spec.get("indicator") if isinstance(spec, dict) else None
    if (
        document.get("kind") != "SLO"
        or not isinstance(indicator, dict)
        or "kind" in indicator
        or not isinstance(indicator.get("spec"), dict)
        or "kind" not in indicator["spec"]
    ):
        return document
    return {**document, "spec": {**spec, "indicator": indicator["spec"]}}


#: OpenSLO SLI kinds that read a metric query, which flowledger has no source for.
OPENSLO_METRIC_SLIS = ("ratioMetric", "thresholdMetric")


def _openslo_metric_sli(document: dict) -> tuple[list[str], str] | None:
    """Where an OpenSLO metric SLI sits (an SLO's ``indicator: {metadata, spec: {ratioMetric…}}``
    or a ``kind: SLI`` document's ``spec: {ratioMetric…}``) and the message for it, which the
    schema would only call a missing ``kind``."""
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return None
    if document.get("kind") == "SLO":
        indicator = spec.get("indicator")
        if not isinstance(indicator, dict) or "kind" in indicator:
            return None
        if "spec" not in indicator and "metadata" not in indicator:
            return None
        sli_spec = indicator.get("spec") if isinstance(indicator.get("spec"), dict) else {}
        path, example = ["spec", "indicator"], "indicator: {kind: runSuccess}"
    elif document.get("kind") == "SLI":
        if "kind" in spec or not any(key in spec for key in OPENSLO_METRIC_SLIS):
            return None
        sli_spec, path, example = spec, ["spec"], "spec: {kind: runSuccess}"
    else:
        return None
    metric = next((key for key in OPENSLO_METRIC_SLIS if key in sli_spec), "a metric")
    return path, (
        f"{'.'.join(path)}: an OpenSLO SLI with {metric} (a metric query) is not read; "
        "flowledger computes its SLIs from runs and business events: give the kind runSuccess, "
        f"latency or eventPair (e.g. {example}; see docs/error-budgets.md, Indicators)"
    )


def _indicator_of(spec: dict, slis: dict[str, Indicator | None]) -> Indicator:
    """An SLO's indicator: ``spec.indicator``, or the SLI document ``spec.indicatorRef`` names."""
    if "indicator" in spec and "indicatorRef" in spec:
        raise ConfigError(
            "spec: give indicator or indicatorRef, not both (indicatorRef names a kind: SLI "
            "document in this file)"
        )
    if "indicator" in spec:
        return _parse_indicator(spec["indicator"], "spec.indicator")
    if "indicatorRef" not in spec:
        raise ConfigError(
            "spec: an SLO needs indicator (e.g. indicator: {kind: runSuccess}) or indicatorRef "
            "(the metadata.name of a kind: SLI document in this file)"
        )
    ref = spec["indicatorRef"]
    if ref not in slis:
        raise ConfigError(
            f"spec.indicatorRef: no SLI named {ref!r} in this file (SLIs here: "
            f"{', '.join(sorted(slis)) or 'none'}); add a document of kind: SLI with "
            f"metadata.name: {ref} and the indicator as its spec, or write spec.indicator"
        )
    indicator = slis[ref]
    if indicator is None:
        raise ConfigError(f"spec.indicatorRef: the SLI {ref!r} is invalid (see its document)")
    return indicator


def _schema_message(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in error.absolute_path)
    path = path.replace(".[", "[") or "(document)"
    message = error.message
    if "webhooks" in error.absolute_path and isinstance(error.instance, str):
        # a webhook URL carries its secret in the path: quoted as scheme and host only
        message = message.replace(repr(error.instance), repr(redacted_url(error.instance)))
    if error.validator == "additionalProperties":
        message += " (check the spelling; see config/slos.schema.json)"
    if error.validator == "maxItems":
        limit = error.validator_value
        message = f"gives {len(error.instance)} items; at most {limit} {'is' if limit == 1 else 'are'} read"
    if error.validator == "minItems":
        limit = error.validator_value
        message = f"gives {len(error.instance)} items; at least {limit} {'is' if limit == 1 else 'are'} needed"
    if error.validator == "enum" and path.endswith(".op"):
        message += (
            " (op compares a latency indicator's duration with value: lte, the default, or lt; "
            "OpenSLO's op for metric thresholds is not read)"
        )
    return f"{path}: {message}"


def _parse_indicator(indicator: dict, place: str) -> Indicator:
    """A schema-valid indicator mapping, checked; ``place`` is where it is written."""
    kind = INDICATORS[indicator["kind"]]
    span = indicator.get("span")
    if kind == "event_pair":
        missing = [
            k for k in ("startEvent", "endEvent", "joinKey", "deadline") if k not in indicator
        ]
        if missing:
            raise ConfigError(
                f"{place}: an eventPair indicator needs {', '.join(missing)} "
                "(e.g. startEvent: com.acme.psp.payment.captured, endEvent: "
                "com.acme.wms.order.shipped, joinKey: order_id, deadline: 48h)"
            )
        if "countBy" in indicator or "span" in indicator:
            raise ConfigError(f"{place}: countBy and span apply to run indicators only")
        deadline = _fixed_seconds(indicator["deadline"], f"{place}.deadline")
    else:
        extra = [
            k for k in ("startEvent", "endEvent", "joinKey", "deadline", "source") if k in indicator
        ]
        if extra:
            raise ConfigError(f"{place}: {', '.join(extra)} apply to eventPair indicators only")
        if span and kind != "latency":
            raise ConfigError(f"{place}.span applies to latency indicators only")
        deadline = None
    return Indicator(
        kind=kind,
        count_by=indicator.get("countBy", "outcome"),
        latency_span=("end_to_end" if span == "endToEnd" else "run") if kind == "latency" else None,
        start_event=indicator.get("startEvent"),
        end_event=indicator.get("endEvent"),
        join_key=indicator.get("joinKey"),
        deadline_seconds=deadline,
        event_source=indicator.get("source"),
    )


def _parse_slo(document: dict, indicator: Indicator) -> list[SloObjective]:
    name = document["metadata"]["name"]
    spec = document["spec"]
    window = _parse_window(spec["timeWindow"][0])
    method = spec.get("budgetingMethod", "Occurrences")
    policy = _parse_policy(spec.get("policy") or {})
    notifications = spec.get("notifications") or {}
    webhooks = tuple(
        Webhook(
            _webhook_url(hook["url"], f"spec.notifications.webhooks[{i}].url"),
            hook.get("format", "json"),
        )
        for i, hook in enumerate(notifications.get("webhooks", []))
    )
    objectives = spec["objectives"]
    results = []
    for position, objective in enumerate(objectives):
        place = f"spec.objectives[{position}]"
        if len(objectives) == 1:
            slo_id = name
        else:
            key = objective.get("name") or str(position + 1)
            slo_id = f"{name}/{key}"
        target = _parse_target(objective, place)
        threshold_ms, inclusive = None, True
        if indicator.kind == "latency":
            if "value" not in objective:
                raise ConfigError(
                    f"{place}: a latency objective needs value, the threshold (e.g. value: 30s); "
                    "list one objective per threshold"
                )
            value = objective["value"]
            if isinstance(value, bool) or not isinstance(value, str):
                # OpenSLO's value is in its metric's unit (its example's 500 means 500 ms): a
                # number read in some unit of ours would change what the SLO means
                raise ConfigError(
                    f"{place}.value: {value!r} has no unit; a latency threshold says its unit: "
                    f"{value!r}ms, {value!r}s or {value!r}m"
                )
            seconds = _fixed_seconds(value, f"{place}.value")
            if seconds <= 0:
                raise ConfigError(f"{place}.value: the latency threshold must be positive")
            threshold_ms = seconds * 1000.0
            inclusive = objective.get("op", "lte") == "lte"
        elif "value" in objective or "op" in objective:
            raise ConfigError(f"{place}: value/op are latency thresholds; this indicator has none")
        slice_seconds, slice_target = _parse_slices(objective, method, place)
        _check_anchor_tiles(window["calendar_anchor"], slice_seconds, place)
        _check_rolling_tiles(window, slice_seconds, place)
        results.append(
            SloObjective(
                slo_id=slo_id,
                slo_name=name,
                display_name=objective.get("displayName")
                or document["metadata"].get("displayName")
                or name,
                flow_id=spec["service"],
                indicator=indicator.kind,
                count_by=indicator.count_by,
                latency_span=indicator.latency_span,
                threshold_ms=threshold_ms,
                threshold_inclusive=inclusive,
                start_event=indicator.start_event,
                end_event=indicator.end_event,
                join_key=indicator.join_key,
                deadline_seconds=indicator.deadline_seconds,
                event_source=indicator.event_source,
                target=target,
                method=method,
                slice_seconds=slice_seconds,
                slice_target=slice_target,
                policy=policy,
                webhooks=webhooks,
                dashboard_url=notifications.get("dashboardUrl"),
                **window,
            )
        )
    return results


def _parse_target(objective: dict, place: str) -> float:
    if ("target" in objective) == ("targetPercent" in objective):
        raise ConfigError(
            f"{place}: give exactly one of target (ratio, e.g. 0.999) or targetPercent (e.g. 99.9)"
        )
    name = "target" if "target" in objective else "targetPercent"
    value = float(objective[name])
    if not math.isfinite(value):
        raise ConfigError(f"{place}.{name}: {value:g} is not a number; e.g. target: 0.999")
    if "target" in objective:
        target = value
        if 1 < target < 100:
            raise ConfigError(
                f"{place}.target: {target:g} is not a ratio; write targetPercent: {target:g} "
                f"or target: {target / 100:g}"
            )
        if target >= 1:
            raise ConfigError(
                f"{place}.target: {target:g} leaves no error budget (1 − T = 0); "
                "choose a target below 1, e.g. 0.999"
            )
        if target <= 0:
            raise ConfigError(f"{place}.target: {target:g} must be above 0 (e.g. 0.99)")
        return target_ratio(target)
    percent = value
    if 0 < percent <= 1:
        # 0.999 % is no SLO anyone means: a ratio written as a percent
        raise ConfigError(
            f"{place}.targetPercent: {percent:g} % is a ratio written as a percent; write "
            f"targetPercent: {percent * 100:g} or target: {percent:g}"
        )
    if percent >= 100:
        raise ConfigError(
            f"{place}.targetPercent: {percent:g} % leaves no error budget; choose a value below 100, "
            "e.g. 99.9"
        )
    if percent <= 0:
        raise ConfigError(f"{place}.targetPercent: {percent:g} must be above 0 (e.g. 99)")
    return target_ratio(percent, percent=True)


def _parse_window(window: dict) -> dict[str, Any]:
    text = window["duration"]
    rolling = window.get("isRolling", "calendar" not in window)
    place = "spec.timeWindow[0]"
    if rolling:
        if "calendar" in window:
            raise ConfigError(f"{place}: isRolling: true cannot have a calendar; drop one of them")
        try:
            seconds = duration_seconds(text)
        except ValueError:
            raise ConfigError(
                f"{place}.duration: {text!r} is not a rolling window; use hours, days or weeks "
                "(e.g. 28d, 30d), or a calendar window (1d, 1w, 1M, 1Q, 1Y with isRolling: false)"
            ) from None
        if seconds < HOUR or seconds % HOUR:
            raise ConfigError(
                f"{place}.duration: a rolling window must be whole hours (got {text!r})"
            )
        if seconds > MAX_WINDOW_DAYS * DAY:
            raise ConfigError(f"{place}.duration: {text!r} is longer than {MAX_WINDOW_DAYS} days")
        return {
            "window_text": text,
            "window_kind": "rolling",
            "window_seconds": int(seconds),
            "calendar_unit": None,
            "calendar_count": None,
            "calendar_anchor": None,
            "time_zone": "UTC",
        }
    unit, count = calendar_period(text, f"{place}.duration")
    calendar = window.get("calendar")
    if not calendar:
        raise ConfigError(
            f"{place}: isRolling: false needs calendar: {{timeZone: Europe/Berlin}} "
            "(an IANA time zone)"
        )
    zone = calendar["timeZone"]
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{place}.calendar.timeZone: {zone!r} is not an IANA time zone (e.g. Europe/Berlin, UTC)"
        ) from None
    anchor = None
    if calendar.get("startTime"):
        anchor = _parse_start_time(calendar["startTime"], f"{place}.calendar.startTime")
        # a startTime on the unanchored periods' boundary (2026-01-01 00:00:00 for months) is
        # no anchor: the builds then take date_trunc's periods, a third of the cost per unit
        if starts_unanchored_periods(parse_start_time(anchor), unit, count):
            anchor = None
    return {
        "window_text": text,
        "window_kind": "calendar",
        "window_seconds": None,
        "calendar_unit": unit,
        "calendar_count": count,
        "calendar_anchor": anchor,
        "time_zone": zone,
    }


def calendar_period(text: str, place: str) -> tuple[str, int]:
    """A calendar window's duration as its unit and the number of units per period, in the
    largest unit that divides it (``7d`` and ``14d`` are 1 and 2 weeks, ``3M`` a quarter,
    ``6M`` 2 quarters, ``12M`` and ``4Q`` a year): the same periods, and one unit keeps the
    builds' cheaper calendar truncation. Raises :class:`ConfigError` with what to write."""
    match = CALENDAR_DURATION.fullmatch(str(text))
    if match is None:
        # OpenSLO's units are case-sensitive: ``m`` is a minute, ``M`` a month. Its own
        # Timeslices example writes ``1m`` for a contract month; say which was meant.
        if re.fullmatch(r"\d+m", str(text)):
            hint = f"; {text!r} is {text[:-1]} minute(s) (OpenSLO's m), a calendar month is 1M"
        else:
            hint = ""
        raise ConfigError(
            f"{place}: a calendar window is a whole number of local days, weeks, months, "
            f"quarters or years: 1d, 1w, 2w, 1M, 6M, 1Q, 1Y (got {text!r}){hint}"
        )
    number, letter = int(match[1]), match[2]
    if letter in "dw":
        days = number * (7 if letter == "w" else 1)
        if days > MAX_WINDOW_DAYS:
            raise ConfigError(
                f"{place}: {text!r} is longer than {MAX_WINDOW_DAYS} days, the longest window"
            )
        return ("week", days // 7) if days % 7 == 0 else ("day", days)
    months = number * {"M": 1, "Q": 3, "Y": 12}[letter]
    if months > 12:
        raise ConfigError(f"{place}: {text!r} is longer than a year (1Y), the longest window")
    if months % 12 == 0:
        return "year", months // 12
    if months % 3 == 0:
        return "quarter", months // 3
    return "month", months


def redacted_url(url: str) -> str:
    """A webhook URL as messages and logs show it: scheme, host and port only (webhook URLs
    carry secrets in their path, as Slack's do)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is no number: the URL is refused, its host still shown
        port = ":?"
    return f"{parts.scheme}://{host}{port}/…"


def _webhook_url(url: str, place: str) -> str:
    """A webhook URL ``budget notify`` can POST to; the message shows its scheme and host only
    (webhook URLs carry secrets in their path)."""
    parts = urlsplit(url)
    shown = redacted_url(url)
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise ConfigError(
            f"{place}: the URL ({shown}) holds a blank or a control character (a copied line "
            "end?); percent-encode it or remove it"
        )
    try:
        parts.port  # noqa: B018 - raises for a port that is no number
    except ValueError:
        raise ConfigError(f"{place}: the URL ({shown}) has a port that is no number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{place}: the URL ({shown}) is not an http(s) URL with a host")
    return url


def _parse_start_time(value: Any, place: str) -> str:
    """OpenSLO's startTime as ``YYYY-MM-DD HH:MM:SS`` (a local wall time in the timeZone)."""
    try:
        return parse_start_time(str(value)).strftime(START_TIME_FORMAT)
    except ValueError:
        raise ConfigError(
            f"{place}: {value!r} is not a local date-time as OpenSLO writes it, "
            "YYYY-MM-DD HH:MM:SS (e.g. 2022-01-01 12:00:00, read in calendar.timeZone; "
            "no offset, no fraction of a second)"
        ) from None


def _check_anchor_tiles(anchor: str | None, slice_seconds: int | None, place: str) -> None:
    """Time slices (aligned to whole hours) must tile periods anchored at ``anchor``."""
    if anchor is None or slice_seconds is None:
        return
    start = parse_start_time(anchor)
    if (start.minute * 60 + start.second) % min(slice_seconds, HOUR):
        raise ConfigError(
            f"{place}.timeSliceWindow: slices of {slice_seconds} s do not tile periods starting "
            f"at {start:%H:%M:%S} (calendar.startTime); slices align to whole hours, so give a "
            "startTime on a slice boundary or a shorter slice"
        )


def _check_rolling_tiles(window: dict, slice_seconds: int | None, place: str) -> None:
    """A rolling window holds a whole number N = W / Δ of slices (its budget is (1 − T) · N)."""
    if slice_seconds is None or window["window_kind"] != "rolling":
        return
    if window["window_seconds"] % slice_seconds:
        raise ConfigError(
            f"{place}.timeSliceWindow: slices of {slice_seconds} s do not tile the rolling "
            f"{window['window_text']} window ({window['window_seconds'] / slice_seconds:g} "
            "slices); give a window that is a whole number of slices or a shorter slice"
        )


def _parse_slices(objective: dict, method: str, place: str) -> tuple[int | None, float | None]:
    has_window = "timeSliceWindow" in objective
    has_target = "timeSliceTarget" in objective
    if method == "Occurrences":
        if has_window or has_target:
            raise ConfigError(
                f"{place}: timeSliceWindow/timeSliceTarget apply to budgetingMethod Timeslices "
                "or RatioTimeslices; drop them or change the method"
            )
        return None, None
    if not has_window:
        raise ConfigError(f"{place}: budgetingMethod {method} needs timeSliceWindow (e.g. 5m)")
    slice_window = objective["timeSliceWindow"]
    seconds = (
        # OpenSLO: a number is minutes
        float(slice_window) * 60
        if isinstance(slice_window, int | float)
        else _fixed_seconds(slice_window, f"{place}.timeSliceWindow")
    )
    if int(seconds) not in SLICE_SECONDS_ALLOWED or seconds != int(seconds):
        raise ConfigError(
            f"{place}.timeSliceWindow: {objective['timeSliceWindow']!r} must tile hours and days "
            "exactly: a whole number of minutes dividing 60 (1m, 5m, 10m, 15m, 30m) or hours "
            "dividing 24 (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h)"
        )
    slice_target = None
    if method == "Timeslices":
        if not has_target:
            raise ConfigError(
                f"{place}: budgetingMethod Timeslices needs timeSliceTarget, the ratio a slice "
                "must reach to be good (e.g. 0.95)"
            )
        slice_target = float(objective["timeSliceTarget"])
        if not 0 < slice_target <= 1:
            raise ConfigError(f"{place}.timeSliceTarget: {slice_target:g} must be in (0, 1]")
    elif has_target:
        raise ConfigError(
            f"{place}: RatioTimeslices averages slice ratios; timeSliceTarget applies to "
            "Timeslices only"
        )
    return int(seconds), slice_target


def _parse_policy(policy: dict) -> Policy:
    at_risk = float(policy.get("atRiskRemaining", 0.5))
    recover = float(policy.get("recoverRemaining", 0.1))
    for key, value in (("atRiskRemaining", at_risk), ("recoverRemaining", recover)):
        if not 0 < value <= 1:
            raise ConfigError(f"spec.policy.{key}: {value:g} must be a fraction in (0, 1]")
    hours = {}
    for key, default in (("recoverAfter", "24h"), ("clearAfter", "6h")):
        seconds = _fixed_seconds(policy.get(key, default), f"spec.policy.{key}")
        if seconds < HOUR or seconds % HOUR:
            raise ConfigError(f"spec.policy.{key}: must be whole hours (states move hourly)")
        hours[key] = int(seconds // HOUR)
    return Policy(
        at_risk_remaining=at_risk,
        recover_remaining=recover,
        recover_hours=hours["recoverAfter"],
        clear_hours=hours["clearAfter"],
        min_events=int(policy.get("minEvents", 10)),
    )


def _parse_adjustment(document: dict, objectives: list[SloObjective]) -> list[AdjustmentWindow]:
    name = document["metadata"]["name"]
    spec = document["spec"]
    start = parse_instant(spec["start"], "spec.start")
    length = timedelta(seconds=_fixed_seconds(spec["duration"], "spec.duration"))
    known_names = {slo.slo_name for slo in objectives} | {slo.slo_id for slo in objectives}
    known_flows = {slo.flow_id for slo in objectives}
    for ref in spec.get("slos", []):
        if ref not in known_names:
            raise ConfigError(f"spec.slos: no SLO named {ref!r} in this file")
    for ref in spec.get("services", []):
        if ref not in known_flows:
            raise ConfigError(f"spec.services: no SLO covers service {ref!r} in this file")
    scoped = [
        slo
        for slo in objectives
        if (not spec.get("slos") and not spec.get("services"))
        or slo.slo_name in spec.get("slos", [])
        or slo.slo_id in spec.get("slos", [])
        or slo.flow_id in spec.get("services", [])
    ]
    starts = [start]
    if spec.get("rrule"):
        starts = _expand_rrule(spec["rrule"], start)
    return [
        AdjustmentWindow(
            slo_id=slo.slo_id,
            name=name,
            kind=spec["kind"],
            starts_at=_utc_text(begin),
            ends_at=_utc_text(begin + length),
            description=spec.get("description", ""),
        )
        for slo in scoped
        for begin in starts
    ]


def _expand_rrule(rule: str, start: datetime) -> list[datetime]:
    from dateutil.rrule import rrulestr

    if not re.search(r"(COUNT|UNTIL)=", rule):
        raise ConfigError(f"spec.rrule: {rule!r} needs COUNT= or UNTIL= so it ends")
    try:
        occurrences = rrulestr(rule, dtstart=start)
        starts = []
        for begin in occurrences:
            starts.append(begin)
            if len(starts) > MAX_ADJUSTMENT_WINDOWS:
                raise ConfigError(f"spec.rrule: more than {MAX_ADJUSTMENT_WINDOWS} occurrences")
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:
        raise ConfigError(f"spec.rrule: {rule!r} is not an RFC 5545 RRULE: {error}") from None
    return starts


def _fixed_seconds(text: str, place: str) -> float:
    try:
        return duration_seconds(text)
    except ValueError as error:
        raise ConfigError(f"{place}: {error}") from None


def parse_instant(text: str, place: str = "--at") -> datetime:
    """An ISO 8601 instant; without an offset it is UTC. Returned timezone-aware."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{place}: {text!r} is not an ISO 8601 date-time (e.g. 2024-03-31T12:00:00Z)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
