"""``flowledger lineage …``: trace a column, show who wrote a field, export the audit pack."""

from __future__ import annotations

import argparse
import json
import sys

from flowledger.settings import DataDir

EXIT_OK, EXIT_FAILED = 0, 1


def register(commands: argparse._SubParsersAction) -> None:
    lineage = commands.add_parser(
        "lineage", help="field lineage and record provenance for auditors"
    )
    sub = lineage.add_subparsers(title="lineage commands", metavar="COMMAND")
    lineage.set_defaults(handler=lambda args, data_dir: _help(lineage))

    trace = sub.add_parser(
        "trace", help="the tree from a column to the source event fields (or what it feeds)"
    )
    trace.add_argument("column", metavar="MODEL.COLUMN", help="e.g. fct_cases.cycle_time_seconds")
    trace.add_argument("--downstream", action="store_true", help="what the column feeds instead")
    trace.add_argument("--depth", type=int, default=20, help="hops to follow (default 20)")
    trace.add_argument("--as-of", help="lineage as it was at this time (ISO 8601)")
    trace.add_argument("--sql", action="store_true", help="print the SQL of each step")
    trace.add_argument(
        "--direct-only",
        action="store_true",
        help="follow DIRECT steps only (hide filters, joins, grouping, windows, conditions)",
    )
    trace.add_argument("--json", action="store_true", help="print JSON")
    trace.set_defaults(handler=_trace)

    who = sub.add_parser("who-wrote", help="the write history of one field of one record")
    who.add_argument("entity", help="e.g. order")
    who.add_argument("key", help="e.g. O-00000123")
    who.add_argument("field", help="e.g. payment_status")
    who.add_argument("--json", action="store_true", help="print JSON")
    who.set_defaults(handler=_who_wrote)

    runs = sub.add_parser(
        "ingest-runs",
        help="land the finished OpenLineage runs (COMPLETE/FAIL/ABORT) as flow runs in the warehouse",
    )
    runs.set_defaults(handler=_ingest_runs)

    export = sub.add_parser("export", help="an audit pack of the whole lineage graph")
    export.add_argument("--format", choices=["json", "csv", "html"], default="json")
    export.add_argument("--out", help="file to write (default: standard output)")
    export.set_defaults(handler=_export)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _fail(message: str) -> int:
    print(f"flowledger lineage: {message}", file=sys.stderr)
    return EXIT_FAILED


def _trace(args: argparse.Namespace, data_dir: DataDir) -> int:
    from lineage.dbt_project import ManifestError
    from lineage.service import LineageError, load_graph, render_trace, resolve_column, trace

    if args.depth < 1:
        return _fail(f"--depth must be at least 1, not {args.depth}")
    if args.as_of is not None:
        from lineage.event_order import utc_time

        try:
            utc_time(args.as_of.strip())
        except ValueError:
            # read as no time at all, it traced an empty lineage (no sources, exit 0)
            return _fail(
                f"--as-of {args.as_of!r} is not an ISO 8601 date-time, e.g. 2026-08-01T12:00:00Z"
            )
    try:
        graph = load_graph(data_dir)
        start = resolve_column(graph, args.column)
        result = trace(
            graph,
            start,
            downstream=args.downstream,
            depth=args.depth,
            as_of=args.as_of,
            direct_only=args.direct_only,
        )
    except (LineageError, ManifestError) as error:
        return _fail(str(error))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render_trace(result, show_sql=args.sql))
    return EXIT_OK


def _who_wrote(args: argparse.Namespace, data_dir: DataDir) -> int:
    from lineage.provenance import ProvenanceError, field_history, render_history

    try:
        history = field_history(data_dir, args.entity, args.key, args.field)
    except ProvenanceError as error:
        return _fail(str(error))
    print(
        json.dumps(history.to_dict(), indent=2, default=str)
        if args.json
        else render_history(history)
    )
    return EXIT_OK


def _export(args: argparse.Namespace, data_dir: DataDir) -> int:
    from lineage.export import ExportError, export_graph

    try:
        payload = export_graph(data_dir, args.format)
    except ExportError as error:
        return _fail(str(error))
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as handle:
            handle.write(payload)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(payload)
    return EXIT_OK


def _ingest_runs(args: argparse.Namespace, data_dir: DataDir) -> int:
    from lineage.runs import ingest_run_events

    summary = ingest_run_events(data_dir.ensure())
    if summary is None:
        print("no finished OpenLineage runs in the lineage store")
        return EXIT_OK
    print(summary.format())
    return EXIT_FAILED if summary.failed_files else EXIT_OK
