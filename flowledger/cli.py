"""The ``flowledger`` command line: a thin layer over ingest/, the dbt build and the readers."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

from flowledger import __version__
from flowledger.dbt_process import DbtChild
from flowledger.settings import PROJECT_ROOT, DataDir, DataDirError, port_number

DASHBOARD_APP = PROJECT_ROOT / "dashboards" / "streamlit_app.py"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `flowledger build` starts dbt's process before anything else: dbt's imports (~2 s on 2
    # cores) then run while this process reads its options and readies the warehouse
    with DbtChild() if _command_word(argv) == "build" else nullcontext() as dbt_child:
        return _run(argv, dbt_child)


def _command_word(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` names (the first word that is not an option or --data-dir's
    value), without building the parser."""
    words = iter(argv)
    for word in words:
        if word == "--data-dir":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _run(argv: list[str], dbt_child: DbtChild | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    args.dbt_child = dbt_child
    if args.data_dir is not None and not args.data_dir.strip():
        # `--data-dir "$DIR"` with DIR unset: not ./.flowledger without a word
        print(
            "flowledger: --data-dir is empty (an unset variable?): give a directory",
            file=sys.stderr,
        )
        return EXIT_USAGE
    data_dir = DataDir.resolve(args.data_dir)
    if _is_a_file(data_dir.root):
        print(f"flowledger: data directory {data_dir.root} is not a directory", file=sys.stderr)
        return EXIT_FAILED
    try:
        code = int(args.handler(args, data_dir) or EXIT_OK)
        sys.stdout.flush()  # a reader that went away shows here, not in the flush at exit
        return code
    except BrokenPipeError:
        # `flowledger sql … | head`: stop quietly, as other command-line tools do; stdout goes
        # to /dev/null so that the flush at exit cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return 130
    except (_UserError, DataDirError) as error:
        print(f"flowledger: {error}", file=sys.stderr)
        return EXIT_FAILED


def _is_a_file(path: Path) -> bool:
    """Something other than a directory is at ``path`` (a name the system refuses, too long
    say, is left to the command, which says why it cannot create it)."""
    try:
        return path.exists() and not path.is_dir()
    except OSError:
        return False


class _UserError(Exception):
    """A failure explained to the user in one message, without a traceback."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowledger",
        description="Observability and governance analytics for workflow automation.",
    )
    parser.add_argument("--version", action="version", version=f"flowledger {__version__}")
    parser.add_argument(
        "--data-dir",
        help="directory holding all state (default: $FLOWLEDGER_HOME, else ./.flowledger)",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    generate = commands.add_parser("generate", help="write the deterministic demo data set")
    _add_generate_options(generate)
    generate.add_argument("--out", type=Path, help="output directory (default: <data dir>/demo)")
    generate.set_defaults(handler=_generate)

    ingest = commands.add_parser(
        "ingest",
        help="land NDJSON, JSON, CSV or Parquet files (also .gz, .bz2, .xz) into the warehouse",
    )
    ingest.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="a file, or a directory: every file under it (hidden ones aside)",
    )
    ingest.add_argument(
        "--kind",
        choices=["flow_run", "step_run", "queue_depth_sample", "business_event"],
        help="record kind of every file (default: detected from each file's columns)",
    )
    # Event logs of process-mining and BPM tools (ingest/eventlog/, docs/processes.md).
    ingest.add_argument(
        "--format",
        choices=["xes", "csv"],
        dest="log_format",
        help="read the files as XES or CSV event logs (needs --process)",
    )
    ingest.add_argument("--process", help="process the event log's events belong to")
    for role in ("case", "activity", "timestamp", "resource", "lifecycle"):
        ingest.add_argument(f"--{role}-column", help=f"CSV event log: the {role} column")
    ingest.add_argument(
        "--timestamp-format",
        help='CSV event log: strptime format, e.g. "%%d-%%m-%%Y %%H:%%M", or epoch_s / epoch_ms',
    )
    ingest.set_defaults(handler=_ingest)

    quarantine = commands.add_parser(
        "quarantine", help="list the quarantined rows: file, row, reason and record (scrubbed)"
    )
    quarantine.add_argument("--file", help="only files whose path holds this text")
    quarantine.add_argument(
        "--batch",
        help="only this ingest batch, or the receiver request whose answer gave this request_id",
    )
    quarantine.add_argument(
        "--limit", type=_positive_int, default=20, help="newest rows to list (default 20)"
    )
    quarantine.add_argument("--json", action="store_true", help="print a JSON array of rows")
    quarantine.set_defaults(handler=_quarantine)

    build = commands.add_parser("build", help="run the dbt models and publish fresh marts")
    build.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    build.add_argument("--select", nargs="+", default=[], help="dbt selection (default: all)")
    build.add_argument("--quiet", action="store_true", help="do not stream dbt's progress")
    build.add_argument(
        "--parse-only",
        action="store_true",
        help="only parse the dbt project (saved for later builds, e.g. at deploy); run nothing",
    )
    build.set_defaults(handler=_build)

    demo = commands.add_parser(
        "demo", help="generate, ingest and build the demo, then serve the dashboard"
    )
    _add_generate_options(demo)
    _add_serve_options(demo)
    demo.add_argument(
        "--no-serve",
        action="store_true",
        default=os.environ.get("FLOWLEDGER_NO_SERVE", "") not in ("", "0"),
        help="stop after the build (also: FLOWLEDGER_NO_SERVE=1)",
    )
    demo.set_defaults(handler=_demo)

    dashboard = commands.add_parser("dashboard", help="serve the Streamlit dashboard")
    _add_serve_options(dashboard)
    dashboard.set_defaults(handler=_dashboard)

    sql = commands.add_parser("sql", help="run a read-only query against the published marts")
    sql.add_argument("query", help='e.g. "select * from fct_process_daily limit 5"')
    sql.add_argument("--json", action="store_true", help="print a JSON array of row objects")
    sql.add_argument(
        "--max-rows", type=_positive_int, default=100, help="rows shown as a table (default 100)"
    )
    sql.set_defaults(handler=_sql)

    for register in _feature_commands():
        register(commands)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _feature_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Command groups that live beside their feature; each adds its sub-commands to the parser.

    Each ``register(commands)`` adds parsers whose ``handler(args, data_dir) -> int`` does the work.
    """
    from flowledger.budgets.cli import register as register_budgets
    from flowledger.processes.cli import register as register_processes
    from flowledger.retention import register as register_retention
    from flowledger.service import register as register_service
    from ingest.rescrub import register as register_rescrub
    from lineage.cli import register as register_lineage

    return [
        register_lineage,
        register_processes,
        register_budgets,
        register_service,
        register_retention,
        register_rescrub,
    ]


def _add_generate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--days", type=int, default=90, help="days of history (default 90)")
    parser.add_argument(
        "--target-events",
        type=int,
        help="scale: total records to aim for (e.g. 10000000); default about 90 days of a mid-size company",
    )
    parser.add_argument(
        "--format", choices=["ndjson", "parquet"], default="ndjson", dest="file_format"
    )


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=port_number, default=8501, help="dashboard port (default 8501)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="dashboard address (default 127.0.0.1)")


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _generate(args: argparse.Namespace, data_dir: DataDir) -> int:
    from flowledger.demo import generate

    out = args.out or data_dir.ensure().demo
    summary = generate(
        out,
        seed=args.seed,
        days=args.days,
        target_events=args.target_events,
        file_format=args.file_format,
        progress=_progress,
    )
    for path in summary.files.values():
        _progress(f"wrote {path}")
    return EXIT_OK


def _ingest(args: argparse.Namespace, data_dir: DataDir) -> int:
    if getattr(args, "log_format", None) or getattr(args, "process", None):
        from flowledger.processes.cli import ingest_event_log

        return ingest_event_log(args, data_dir)
    from ingest import ingest_paths

    summary = ingest_paths(args.paths, data_dir.ensure(), kind=args.kind, progress=_progress)
    print(summary.format())
    if summary.failed_files and len(summary.failed_files) == len(summary.files):
        return EXIT_FAILED
    return EXIT_OK


def _build(args: argparse.Namespace, data_dir: DataDir) -> int:
    from flowledger.build import BuildFailed, build, parse_project

    if args.parse_only:
        if args.full_refresh or args.select:
            raise _UserError(
                "--parse-only runs no model: it takes neither --full-refresh nor --select"
            )
        try:
            seconds = parse_project(data_dir, echo=None if args.quiet else print)
        except BuildFailed as error:
            raise _UserError(str(error)) from None
        _progress(f"parsed the dbt project in {seconds:.1f}s; later builds reuse the parse")
        return EXIT_OK
    try:
        result = build(
            data_dir,
            full_refresh=args.full_refresh,
            select=args.select,
            echo=None if args.quiet else print,
            dbt_child=args.dbt_child,
        )
    except BuildFailed as error:
        raise _UserError(str(error)) from None
    _progress(
        f"published {result.snapshot.name} (data as of {result.data_as_of or 'no data'}) "
        f"in {result.seconds:.1f}s"
    )
    return EXIT_OK


def _demo(args: argparse.Namespace, data_dir: DataDir) -> int:
    from flowledger.demo import generate
    from ingest import ingest_paths

    data_dir.ensure()
    if not args.no_serve:
        _port_free_or_stop(args.host, args.port)  # before a minute of work, not after it
    _progress(f"1/4 generating demo data into {data_dir.demo}")
    summary = generate(
        data_dir.demo,
        seed=args.seed,
        days=args.days,
        target_events=args.target_events,
        file_format=args.file_format,
        progress=_progress,
    )
    _progress("2/4 ingesting")
    ingested = ingest_paths(list(summary.files.values()), data_dir, progress=_progress)
    print(ingested.format())
    if ingested.failed_files:
        raise _UserError("the demo files could not all be ingested (see above)")
    _progress("3/4 building the dbt models")
    _build(
        argparse.Namespace(
            full_refresh=False, select=[], quiet=False, parse_only=False, dbt_child=None
        ),
        data_dir,
    )
    if args.no_serve:
        _progress("4/4 skipped serving (--no-serve); run `flowledger dashboard` to see it")
        return EXIT_OK
    _progress(f"4/4 serving the dashboard on http://{args.host}:{args.port}  (Ctrl-C stops)")
    return _dashboard(args, data_dir)


def _port_free_or_stop(host: str, port: int) -> None:
    """Stop with what to do when ``host:port`` is taken (Streamlit said so only once the demo
    had generated, ingested and built)."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise _UserError(
                f"port {port} on {host} is taken (another dashboard?): stop it, or serve on "
                f"another port with `flowledger demo --port N` (make demo PORT=N), or build "
                "without serving with --no-serve"
            ) from None


def _dashboard(args: argparse.Namespace, data_dir: DataDir) -> int:
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(DASHBOARD_APP),
        "--server.port",
        str(args.port),
        "--server.address",
        args.host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    env = {**os.environ, "FLOWLEDGER_HOME": str(data_dir.root)}
    with subprocess.Popen(command, env=env, cwd=PROJECT_ROOT) as child:
        # a service manager stops `flowledger dashboard` with SIGTERM (or SIGHUP when its
        # terminal closes): Streamlit goes with it, instead of serving on, orphaned, on the port
        stop = _forward_stop_signals(child)
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.terminate()
            child.wait(timeout=10)
            return EXIT_OK
        finally:
            stop()


def _forward_stop_signals(child: subprocess.Popen[bytes]) -> Callable[[], None]:
    """Pass SIGTERM and SIGHUP on to the child; returns what puts the handlers back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    forwarded = (signal.SIGTERM, signal.SIGHUP)
    previous = {number: signal.getsignal(number) for number in forwarded}
    for number in forwarded:
        signal.signal(number, lambda received, frame: child.send_signal(received))

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)

    return restore


def _quarantine(args: argparse.Namespace, data_dir: DataDir) -> int:
    import json

    import duckdb

    from flowledger.warehouse import connect_warehouse
    from ingest.quarantine import count_quarantined, quarantined_rows

    if not data_dir.warehouse.exists():
        raise _UserError(f"nothing is ingested in {data_dir.root}: run `flowledger ingest` first")
    con = connect_warehouse(data_dir, read_only=True, attach_marts=False)
    try:
        rows = quarantined_rows(con, args.file, args.limit, args.batch)
        total = count_quarantined(con, args.file, args.batch)
    except duckdb.CatalogException:
        rows, total = [], 0  # ingest has not created its tables yet
    finally:
        con.close()
    if args.json:
        print(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print(
            "no quarantined row"
            + (f" of a file whose path holds {args.file!r}" if args.file else "")
            + (f" in batch or request {args.batch!r}" if args.batch else "")
        )
        return EXIT_OK
    for row in rows:
        text = row["raw_record"] or ""
        record = text if len(text) <= 300 else text[:299] + "…"
        print(
            f"{row['quarantined_at']:%Y-%m-%d %H:%M:%S}  {Path(row['source_file']).name} "
            f"row {row['row_number']} ({row['record_kind']}, batch {row['batch_id']}): "
            f"{row['reason']}\n    {record}"
        )
    if total > len(rows):
        print(f"… the newest {len(rows):,} of {total:,} rows: --limit {total} lists them all")
    return EXIT_OK


def _sql(args: argparse.Namespace, data_dir: DataDir) -> int:
    from flowledger.query import QueryError, run_query

    try:
        result = run_query(data_dir, args.query)
    except QueryError as error:
        raise _UserError(str(error)) from None
    print(result.to_json() if args.json else result.to_table(args.max_rows))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
