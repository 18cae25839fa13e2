"""``flowledger kpi process NAME [--json]``, ``flowledger kpi parallel-runs FLOW [--json]`` and
``flowledger processes check|list``."""

from __future__ import annotations

import argparse
import contextlib
import sys

from flowledger.processes.config import ConfigError, ProcessConfig, load_config
from flowledger.settings import DataDir

EXIT_OK, EXIT_FAILED, EXIT_GATE_FAILED = 0, 1, 2


def _group(
    commands: argparse._SubParsersAction, name: str, help_text: str
) -> argparse._SubParsersAction:
    """The sub-commands of group ``name`` (created if no other feature created it yet)."""
    parser = commands.choices.get(name)
    if parser is None:
        parser = commands.add_parser(name, help=help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(title=f"{name} commands", metavar="COMMAND")


def register(commands: argparse._SubParsersAction) -> None:
    kpi = _group(commands, "kpi", "print KPIs from the published marts")
    process = kpi.add_parser(
        "process", help="the KPIs of one process (cases, cycle time, rework, ...)"
    )
    process.add_argument("name", help="process name, as declared in config/processes.yml")
    process.add_argument("--json", action="store_true", help="print the KPIs as JSON")
    process.add_argument(
        "--fresh",
        action="store_true",
        help="compute them now from the landed events (the process models' SQL run in memory, "
        "without dbt; nothing is built or published)",
    )
    process.set_defaults(handler=kpi_process)
    parallel = kpi.add_parser(
        "parallel-runs",
        help="a flow's live and shadow versions compared per business key (cutover gate)",
    )
    parallel.add_argument("flow", help="flow id (flow_id in the run log)")
    parallel.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parallel.add_argument(
        "--max-mismatch-rate",
        type=float,
        metavar="RATE",
        help="exit with status 2 when a version pair's mismatch rate is above RATE (0..1)",
    )
    parallel.set_defaults(handler=kpi_parallel_runs)

    processes = _group(commands, "processes", "check and list the declared processes")
    check = processes.add_parser("check", help="validate the process configuration")
    check.set_defaults(handler=processes_check)
    listing = processes.add_parser("list", help="list the declared processes")
    listing.set_defaults(handler=processes_check)
    dbt_vars = processes.add_parser(
        "vars", help="print the process configuration as dbt --vars JSON (to run dbt by hand)"
    )
    dbt_vars.set_defaults(handler=processes_vars)


def kpi_process(args: argparse.Namespace, data_dir: DataDir) -> int:
    from flowledger.direct_build import DirectBuildFailed
    from flowledger.processes.kpis import UnknownProcess, process_kpis, to_json, to_table
    from flowledger.warehouse import NothingPublished, open_published

    try:
        if args.fresh:
            document = _fresh_kpis(data_dir, args.name)
        else:
            with open_published(data_dir) as con:
                document = process_kpis(con, args.name)
    except (NothingPublished, UnknownProcess, DirectBuildFailed, ConfigError) as error:
        print(f"flowledger: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(to_json(document) if args.json else to_table(document))
    if not args.fresh:
        with contextlib.suppress(ConfigError):
            config = load_config(data_dir.root)
            for warning in _unseen_step_warnings(config, data_dir, only=args.name):
                print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _fresh_kpis(data_dir: DataDir, name: str) -> dict:
    from flowledger.processes.fresh import fresh_process_kpis

    fresh = fresh_process_kpis(data_dir, name)
    if fresh.compile_seconds is not None:
        print(
            f"flowledger: compiled the process models in {fresh.compile_seconds:.1f}s "
            "(once per change of the models or the process configuration)",
            file=sys.stderr,
        )
    return fresh.document


def kpi_parallel_runs(args: argparse.Namespace, data_dir: DataDir) -> int:
    from flowledger.processes.kpis import to_json
    from flowledger.processes.parallel_runs import (
        NoParallelRuns,
        gate_failures,
        parallel_run_kpis,
        to_table,
    )
    from flowledger.warehouse import NothingPublished, open_published

    limit = args.max_mismatch_rate
    if limit is not None and not 0 <= limit <= 1:
        print(
            f"flowledger: --max-mismatch-rate must be between 0 and 1 (a share), got {limit}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        with open_published(data_dir) as con:
            document = parallel_run_kpis(con, args.flow)
    except (NothingPublished, NoParallelRuns) as error:
        print(f"flowledger: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(to_json(document) if args.json else to_table(document))
    failures = gate_failures(document, limit) if limit is not None else []
    for failure in failures:
        print(f"flowledger: cutover gate: {failure}", file=sys.stderr)
    return EXIT_GATE_FAILED if failures else EXIT_OK


def processes_check(args: argparse.Namespace, data_dir: DataDir) -> int:
    try:
        config = load_config(data_dir.root)
    except ConfigError as error:
        print(f"flowledger: {error}", file=sys.stderr)
        return EXIT_FAILED
    print("configuration: " + ", ".join(str(path) for path in config.files))
    for process in config.processes.values():
        matched = (
            f"events of source {process.event_source}"
            if process.event_source
            else f"{len(process.events)} event types"
        )
        print(
            f"  {process.name:<24} case key {process.case_key:<12} {matched}; "
            f"cycle time = {process.cycle_measure}"
        )
    for warning in _unseen_step_warnings(config, data_dir):
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _unseen_step_warnings(
    config: ProcessConfig, data_dir: DataDir, only: str | None = None
) -> list[str]:
    """Configured steps the published data never shows (none before the first build), of
    every process or of process ``only``. The published steps are those of the last build's
    configuration: after a change not built yet, each warning says so (a step just mapped was
    reported as a typo)."""
    from flowledger.build import configuration_changed_since_build
    from flowledger.processes.kpis import steps_seen
    from flowledger.warehouse import NothingPublished, open_published

    try:
        with open_published(data_dir) as con:
            seen = steps_seen(con)
    except NothingPublished:
        return []
    stale = (
        "; the published marts were built before the last change of the process "
        "configuration (or field ownership): run `flowledger build` and check again"
        if configuration_changed_since_build(data_dir)
        else ""
    )
    return [
        warning + stale
        for process in config.processes.values()
        if only is None or process.name == only
        for warning in process.unseen_steps(seen.get(process.name, set()))
    ]


def processes_vars(args: argparse.Namespace, data_dir: DataDir) -> int:
    import json

    from flowledger.processes.dbt_tables import dbt_vars

    try:
        print(json.dumps(dbt_vars(data_dir.root)))
    except ConfigError as error:
        print(f"flowledger: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def ingest_event_log(args: argparse.Namespace, data_dir: DataDir) -> int:
    """``flowledger ingest --format xes|csv PATH... --process NAME [--<role>-column COL]``."""
    from ingest.eventlog.csv_log import ColumnMapping
    from ingest.eventlog.pipeline import ingest_event_logs

    if not args.log_format or not args.process:
        print(
            "flowledger: an event log needs both --format xes|csv and --process NAME "
            "(e.g. flowledger ingest --format xes log.xes --process claims)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if getattr(args, "kind", None) not in (None, "business_event"):
        print("flowledger: event logs land as business events; drop --kind", file=sys.stderr)
        return EXIT_FAILED
    mapping = ColumnMapping(
        case=args.case_column,
        activity=args.activity_column,
        timestamp=args.timestamp_column,
        resource=args.resource_column,
        lifecycle=args.lifecycle_column,
        timestamp_format=getattr(args, "timestamp_format", None),
    )
    if args.log_format == "xes" and any(vars(mapping).values()):
        print("flowledger: --*-column options apply to CSV event logs only", file=sys.stderr)
        return EXIT_FAILED
    try:
        summary = ingest_event_logs(
            args.paths,
            data_dir,
            file_format=args.log_format,
            process_name=args.process,
            mapping=mapping,
            progress=lambda message: print(message, flush=True),
        )
    except ConfigError as error:
        print(f"flowledger: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(summary.format())
    if summary.failed_files and len(summary.failed_files) == len(summary.files):
        return EXIT_FAILED
    return EXIT_OK
