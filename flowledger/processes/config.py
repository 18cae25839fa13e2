"""Processes as configuration: load and validate ``processes.yml`` (see docs/processes.md).

Two files are read, in this order; a process declared in the second replaces the one of the same
name in the first:

1. ``config/processes.yml`` in the repository (the demo's processes), and
2. ``<data dir>/processes.yml``, the instance's own (created by
   ``flowledger ingest --format xes|csv --process NAME`` when NAME is not declared yet).

``FLOWLEDGER_PROCESSES`` (a path) replaces both. Every error names the file, the process and the
key that is wrong, and says what is expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowledger.settings import PROJECT_ROOT
from flowledger.yaml_text import load_yaml, yaml_problem

DEFAULT_CONFIG = PROJECT_ROOT / "config" / "processes.yml"
CONFIG_ENV = "FLOWLEDGER_PROCESSES"
INSTANCE_FILE = "processes.yml"
FIRST, LAST = "first", "last"
#: Fields an imported event log's events carry in ``data`` besides the case id.
EVENTLOG_ACTIVITY, EVENTLOG_RESOURCE, EVENTLOG_LIFECYCLE = "activity", "resource", "lifecycle"
EVENTLOG_CASE_FIELD = "case_id"

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PROCESS_KEYS = {
    "description",
    "case_key",
    "events",
    "event_source",
    "activity_field",
    "start",
    "end",
    "sla",
    "timeout",
    "segments",
    "steps",
    "correction_fields",
    "manual_fix_steps",
    "gray_failure_window",
    "flows",
}


class ConfigError(ValueError):
    """The process configuration is wrong; the message says where and what to do."""


@dataclass(frozen=True)
class StepCost:
    manual_minutes: float = 0.0
    unit_cost: float = 0.0


@dataclass(frozen=True)
class Sla:
    from_step: str
    to_step: str
    within_seconds: float


@dataclass(frozen=True)
class Process:
    """One declared process (the YAML keys, validated and normalised)."""

    name: str
    case_key: str
    #: CloudEvents type -> step name; empty for an event-log process.
    events: Mapping[str, str] = field(default_factory=dict)
    #: CloudEvents source whose events are all steps (imported event logs); step = data[activity_field].
    event_source: str | None = None
    activity_field: str = EVENTLOG_ACTIVITY
    start: tuple[str, ...] | str = FIRST
    end: tuple[str, ...] | str = LAST
    sla: Sla | None = None
    timeout_seconds: float | None = None
    segments: tuple[str, ...] = ()
    steps: Mapping[str, StepCost] = field(default_factory=dict)
    correction_fields: tuple[str, ...] | None = None
    manual_fix_steps: tuple[str, ...] = ()
    gray_failure_window_seconds: float = 86400.0
    flows: tuple[str, ...] = ()
    description: str = ""
    defined_in: str = ""

    def named_steps(self) -> dict[str, tuple[str, ...]]:
        """The steps the configuration names by role (``start``, ``end``, ``sla.from``,
        ``sla.to``, ``manual_fix_steps``), to check against the steps the data holds."""
        roles: dict[str, tuple[str, ...]] = {}
        for role, bound in (("start", self.start), ("end", self.end)):
            if isinstance(bound, tuple):
                roles[role] = bound
        if self.sla is not None:
            roles["sla.from"] = (self.sla.from_step,)
            roles["sla.to"] = (self.sla.to_step,)
        if self.manual_fix_steps:
            roles["manual_fix_steps"] = self.manual_fix_steps
        return roles

    def unseen_steps(self, seen: set[str]) -> list[str]:
        """One warning per configured step no event of the data is: a typo (`pay compensaton`)
        gave 0 completed cases, every cycle time empty and every case stuck, without a word.
        Nothing when the data holds no step at all (nothing imported yet)."""
        if not seen:
            return []
        shown = ", ".join(sorted(seen)[:12]) + (", …" if len(seen) > 12 else "")
        return [
            f"process {self.name}: {role} step {step!r} occurs in none of its events "
            f"(its steps: {shown})"
            for role, steps in self.named_steps().items()
            for step in steps
            if step not in seen
        ]

    @property
    def step_names(self) -> set[str]:
        return set(self.events.values())

    @property
    def cycle_measure(self) -> str:
        """Which measure ``cycle_time_seconds`` is for this process."""
        if self.start == FIRST and self.end == LAST:
            return "first_to_last_event"
        return "start_to_end_event"

    def ignored_fields(self) -> tuple[str, ...]:
        """Data fields that are not business values (never counted as corrections)."""
        fields = [self.case_key]
        if self.event_source is not None:
            fields += [self.activity_field, EVENTLOG_RESOURCE, EVENTLOG_LIFECYCLE]
        return tuple(dict.fromkeys(fields))


@dataclass(frozen=True)
class ProcessConfig:
    processes: Mapping[str, Process]
    files: tuple[Path, ...]

    def get(self, name: str) -> Process:
        try:
            return self.processes[name]
        except KeyError:
            known = ", ".join(sorted(self.processes)) or "none"
            raise ConfigError(
                f"process {name!r} is not declared (declared: {known}); add it to "
                f"{self.files[-1] if self.files else DEFAULT_CONFIG} (see docs/processes.md)"
            ) from None


def config_files(data_dir_root: Path | None) -> list[Path]:
    """The files that make up the configuration, lowest precedence first."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={explicit}: no such file")
        return [path]
    files = [DEFAULT_CONFIG]
    if data_dir_root is not None and (data_dir_root / INSTANCE_FILE).is_file():
        files.append(data_dir_root / INSTANCE_FILE)
    return files


def load_config(data_dir_root: Path | None = None) -> ProcessConfig:
    """Read and validate every configuration file; later files replace same-named processes."""
    files = config_files(data_dir_root)
    processes: dict[str, Process] = {}
    for path in files:
        processes.update(parse_config_text(path.read_text(), str(path)))
    return ProcessConfig(processes=processes, files=tuple(files))


def parse_config_text(text: str, where: str) -> dict[str, Process]:
    """The processes of one YAML document; ``where`` names it in error messages."""
    try:
        document = load_yaml(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{where}: not valid YAML ({yaml_problem(error)})") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{where}: expected a mapping with a 'processes' key")
    unknown = set(document) - {"version", "processes"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown top-level key(s) {sorted(unknown)}; expected 'version', 'processes'"
        )
    if document.get("version", 1) != 1:
        raise ConfigError(f"{where}: version {document.get('version')!r} is not supported; use 1")
    raw = document.get("processes") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'processes' must map process names to their settings")
    return {name: _parse_process(name, body, where) for name, body in raw.items()}


def _parse_process(name: Any, body: Any, where: str) -> Process:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"{where}: process name {name!r} must start with a letter and hold only letters, digits and _"
        )
    at = f"{where}: process {name}"
    if not isinstance(body, dict):
        raise ConfigError(f"{at}: expected a mapping of settings")
    unknown = set(body) - _PROCESS_KEYS
    if unknown:
        raise ConfigError(
            f"{at}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_PROCESS_KEYS)}"
        )
    case_key = _text(body.get("case_key"), f"{at}: case_key", required=True)
    events = _events(body.get("events"), at)
    event_source = _text(body.get("event_source"), f"{at}: event_source")
    if bool(events) == bool(event_source):
        raise ConfigError(
            f"{at}: declare exactly one of 'events' (CloudEvents type -> step name) or "
            "'event_source' (every event of that source is a step, e.g. an imported event log)"
        )
    activity_field = _text(body.get("activity_field"), f"{at}: activity_field") or EVENTLOG_ACTIVITY
    known_steps = set(events.values()) if events else None
    start = _bound(body.get("start", FIRST), FIRST, "start", at, known_steps)
    end = _bound(body.get("end", LAST), LAST, "end", at, known_steps)
    steps = _step_costs(body.get("steps"), at, known_steps)
    return Process(
        name=name,
        case_key=case_key,
        events=events,
        event_source=event_source,
        activity_field=activity_field,
        start=start,
        end=end,
        sla=_sla(body.get("sla"), at, known_steps),
        timeout_seconds=_duration(body.get("timeout"), f"{at}: timeout"),
        segments=_names(body.get("segments"), f"{at}: segments"),
        steps=steps,
        correction_fields=(
            None
            if body.get("correction_fields") is None
            else _names(body.get("correction_fields"), f"{at}: correction_fields")
        ),
        manual_fix_steps=_step_list(
            body.get("manual_fix_steps"), f"{at}: manual_fix_steps", known_steps
        ),
        gray_failure_window_seconds=(
            _duration(body.get("gray_failure_window"), f"{at}: gray_failure_window") or 86400.0
        ),
        flows=_names(body.get("flows"), f"{at}: flows", pattern=None),
        description=str(body.get("description") or ""),
        defined_in=where,
    )


def _text(value: Any, at: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise ConfigError(f"{at} is required")
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{at} must be text, got {value!r}")
    return value


def _events(value: Any, at: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{at}: events must map CloudEvents types to step names")
    events: dict[str, str] = {}
    for event_type, step in value.items():
        if isinstance(step, dict):
            step = step.get("step")
        if not isinstance(event_type, str) or not isinstance(step, str) or not step:
            raise ConfigError(
                f"{at}: events: {event_type!r} must map to a step name (text), got {step!r}"
            )
        events[event_type] = step
    return events


def _bound(
    value: Any, default: str, key: str, at: str, known_steps: set[str] | None
) -> tuple[str, ...] | str:
    if value == default:
        return default
    steps = _step_list(value, f"{at}: {key}", known_steps)
    if not steps:
        raise ConfigError(f"{at}: {key} must be {default!r} or one or more step names")
    return steps


def _step_list(value: Any, at: str, known_steps: set[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ConfigError(f"{at} must be a step name or a list of step names, got {value!r}")
    if known_steps is not None:
        unknown = [item for item in items if item not in known_steps]
        if unknown:
            raise ConfigError(
                f"{at}: unknown step(s) {unknown}; the process's steps are {sorted(known_steps)}"
            )
    return tuple(items)


def _names(value: Any, at: str, pattern: re.Pattern[str] | None = _NAME) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
        raise ConfigError(f"{at} must be a list of names, got {value!r}")
    if pattern is not None:
        bad = [item for item in items if not pattern.match(item)]
        if bad:
            # an event log's attribute keys become field names the way the import makes them
            # (`case:creator` -> `case_creator`, `org:resource` -> `resource`): say which
            from ingest.eventlog.records import field_name

            hint = ", ".join(f"{item!r} -> {field_name(item)!r}" for item in bad)
            raise ConfigError(
                f"{at}: {bad} are not field names (letters, digits, _); an imported event log's "
                f"attribute is named as its data field: {hint} (org:resource, "
                "lifecycle:transition and the case id are `resource`, `lifecycle`, `case_id`)"
            )
    return tuple(items)


def _duration(value: Any, at: str) -> float | None:
    """Seconds of '48h', '30m', '7d', '2w', '90s' (or a bare number of seconds)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{at}: expected a duration such as 48h, 30m or 7d, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigError(f"{at}: expected a duration such as 48h, 30m or 7d, got {value!r}")
        seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds <= 0:
        raise ConfigError(f"{at}: must be longer than 0, got {value!r}")
    return seconds


def _sla(value: Any, at: str, known_steps: set[str] | None) -> Sla | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"from", "to", "within"}:
        raise ConfigError(
            f"{at}: sla must have exactly 'from' (step), 'to' (step) and 'within' (e.g. 48h), "
            f"got {value!r}"
        )
    (from_step,) = _step_list(value["from"], f"{at}: sla.from", known_steps)[:1] or (None,)
    (to_step,) = _step_list(value["to"], f"{at}: sla.to", known_steps)[:1] or (None,)
    if not isinstance(value["from"], str) or not isinstance(value["to"], str):
        raise ConfigError(f"{at}: sla.from and sla.to must each be one step name")
    within = _duration(value["within"], f"{at}: sla.within")
    assert from_step and to_step and within
    return Sla(from_step, to_step, within)


def _step_costs(value: Any, at: str, known_steps: set[str] | None) -> dict[str, StepCost]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{at}: steps must map step names to {{manual_minutes, unit_cost}}")
    costs: dict[str, StepCost] = {}
    for step, body in value.items():
        _step_list(step, f"{at}: steps", known_steps)
        if not isinstance(body, dict) or not set(body) <= {"manual_minutes", "unit_cost"}:
            raise ConfigError(
                f"{at}: steps.{step} must be a mapping with manual_minutes and/or unit_cost"
            )
        numbers = {}
        for key in ("manual_minutes", "unit_cost"):
            number = body.get(key, 0)
            if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
                raise ConfigError(f"{at}: steps.{step}.{key} must be a number >= 0, got {number!r}")
            numbers[key] = float(number)
        costs[step] = StepCost(**numbers)
    return costs


def eventlog_source(process_name: str) -> str:
    """The CloudEvents ``source`` of the events imported for ``process_name``."""
    return f"/eventlog/{process_name}"


def eventlog_declaration(process_name: str) -> str:
    """The YAML text that declares an imported event log's process (appended by ingest)."""
    return (
        f"  {process_name}:\n"
        f"    description: Event log imported with `flowledger ingest --process {process_name}`.\n"
        f"    case_key: {EVENTLOG_CASE_FIELD}\n"
        f"    event_source: {eventlog_source(process_name)}\n"
        f"    activity_field: {EVENTLOG_ACTIVITY}\n"
        f"    start: first\n"
        f"    end: last\n"
        "    # an event's attributes (cost, resource…) are values of that event, not fields of a\n"
        "    # record: no field corrections are counted until fields are listed here\n"
        "    correction_fields: []\n"
    )


def check_process_name(process_name: str) -> None:
    """Raise ConfigError unless ``process_name`` can name a process."""
    if not _NAME.match(process_name):
        raise ConfigError(
            f"--process {process_name!r}: a process name starts with a letter and holds only "
            "letters, digits and _"
        )


def declare_eventlog_process(data_dir_root: Path, process_name: str) -> Path | None:
    """Declare ``process_name`` as an event-log process in the instance file unless declared.

    Returns the file written, or None when the process was already declared.
    """
    check_process_name(process_name)
    if process_name in load_config(data_dir_root).processes:
        return None
    path = data_dir_root / INSTANCE_FILE
    if path.is_file():
        text = path.read_text()
        document = yaml.safe_load(text) or {}
        if not document.get("processes"):
            text = text.rstrip("\n") + ("\n" if text.strip() else "") + "processes:\n"
        elif not text.endswith("\n"):
            text += "\n"
    else:
        text = (
            "# Processes of this flowledger instance (see docs/processes.md); they add to and\n"
            "# override config/processes.yml of the installation.\nversion: 1\nprocesses:\n"
        )
    text += eventlog_declaration(process_name)
    parse_config_text(text, str(path))  # never write a file that would not load
    data_dir_root.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def as_rows(config: ProcessConfig) -> dict[str, list[dict[str, Any]]]:
    """The configuration as the rows of the dbt model ``int_process_config`` and friends."""
    processes, event_types, steps, fields = [], [], [], []
    for process in config.processes.values():
        processes.append(
            {
                "process_name": process.name,
                "case_key_field": process.case_key,
                "event_source": process.event_source,
                "activity_field": process.activity_field,
                "start_rule": process.start if isinstance(process.start, str) else "steps",
                "end_rule": process.end if isinstance(process.end, str) else "steps",
                "cycle_measure": process.cycle_measure,
                "sla_from_step": process.sla.from_step if process.sla else None,
                "sla_to_step": process.sla.to_step if process.sla else None,
                "sla_within_seconds": process.sla.within_seconds if process.sla else None,
                "timeout_seconds": process.timeout_seconds,
                "gray_failure_window_seconds": process.gray_failure_window_seconds,
                "segments": ",".join(process.segments),
                "correction_fields": (
                    None
                    if process.correction_fields is None
                    else ",".join(process.correction_fields)
                ),
                "ignored_fields": ",".join(process.ignored_fields()),
                "flows": ",".join(process.flows),
            }
        )
        for event_type, step in process.events.items():
            event_types.append(
                {"process_name": process.name, "event_type": event_type, "step_name": step}
            )
        bounds = [b for b in (process.start, process.end) if isinstance(b, tuple)]
        names: Sequence[str] = sorted(
            process.step_names
            | set(process.steps)
            | set(process.manual_fix_steps)
            | {step for bound in bounds for step in bound}
        )
        for step in names:
            cost = process.steps.get(step, StepCost())
            steps.append(
                {
                    "process_name": process.name,
                    "step_name": step,
                    "is_start": isinstance(process.start, tuple) and step in process.start,
                    "is_end": isinstance(process.end, tuple) and step in process.end,
                    "is_manual_fix": step in process.manual_fix_steps,
                    "manual_minutes": cost.manual_minutes,
                    "unit_cost": cost.unit_cost,
                }
            )
        for segment in process.segments:
            fields.append({"process_name": process.name, "segment_name": segment})
    return {
        "processes": processes,
        "event_types": event_types,
        "steps": steps,
        "segments": fields,
    }
