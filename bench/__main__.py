"""The flowledger benchmark suite: one command, one size option, results in docs/PERFORMANCE.md.

    .venv/bin/python -m bench --events 1000000        # and --events 10000000
    .venv/bin/python -m bench --events 1000000 --skip process_kpis lineage

For ``--events N`` it generates N business events + flow runs + step runs with the demo generator
(NDJSON and Parquet; kept in ``--workdir`` and reused), then measures, on this machine:

1. ingest: ``flowledger ingest`` of all four files against DuckDB's own ``read_json`` /
   ``read_parquet`` of the same files into a table, in the same run (bench/ingest/run.py does
   both, each in its own child process: wall time and that child's peak RSS);
2. dbt: into a fresh data directory, the NDJSON rows older than the newest 1 % of flow-run
   starts are ingested and the dbt project is parsed (``flowledger build --parse-only``; neither
   is timed: every build but an installation's first reuses a saved parse), then ``flowledger
   build`` (timed: the full dbt build of all models plus the publish; dbt's own elapsed time
   from run_results.json is shown too); then
   the newest 1 % (late steps of older runs included) is ingested and ``flowledger build`` again:
   the incremental build;
3. dashboard: every ``query_*`` function of dashboards/data.py, process_data.py,
   budget_data.py and lineage_data.py (record provenance) against the published snapshot,
   ``--repeat`` times each: p50 and p95;
4. the process-KPI cross-check against PM4Py (bench/process_kpis/run.py) and the lineage trace
   latency (bench/lineage/bench_trace.py), when present, as child processes.

Results: ``bench/results/<events>.json``; docs/PERFORMANCE.md is rewritten from every results
file there (so the 1M and 10M figures sit side by side with how cost grows).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.ingest import run as ingest_bench

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PERFORMANCE_MD = ROOT / "docs" / "PERFORMANCE.md"
TIME_FIELDS = {
    "business_events": "time",
    "flow_runs": "started_at",
    "step_runs": "started_at",
    "queue_depth_samples": "sampled_at",
}
TARGETS = {
    "ingest_ratio_max": 2.0,  # ingest at least half DuckDB's raw speed
    "ingest_rss_max_bytes": 2 * 2**30,
    "full_build_max_s": 90.0,
    "incremental_fraction_max": 0.2,
    "query_p95_max_ms": 200.0,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def flowledger(home: Path, *args: str) -> tuple[float, str]:
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), *args],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    if result.returncode:
        raise SystemExit(
            f"flowledger {' '.join(args)[:80]} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return seconds, result.stdout


# --- 1. ingest ------------------------------------------------------------------------------------


def bench_ingest(work: Path, events: int) -> tuple[list[dict], list[Path]]:
    results, ndjson_files = [], []
    for file_format in ("ndjson", "parquet"):
        files, rows = ingest_bench.generate(work, events, file_format)
        if file_format == "ndjson":
            ndjson_files = files
        log(f"ingest {file_format}: {rows:,} rows in {len(files)} files")
        r = ingest_bench.run_once(work, files, rows, file_format, 0)
        r.pop("summary", None)
        r["ratio"] = r["ingest_s"] / r["duckdb_s"]
        log(
            f"  flowledger {r['ingest_s']:.1f}s ({rows / r['ingest_s']:,.0f} rows/s), DuckDB "
            f"{r['duckdb_s']:.1f}s, ratio {r['ratio']:.2f}, peak RSS {r['ingest_rss'] / 2**20:,.0f} MiB"
        )
        results.append(r)
    return results, ndjson_files


# --- 2. dbt full and incremental ------------------------------------------------------------------


def split_newest_percent(files: list[Path], out: Path, percent: float) -> tuple[list, list, str]:
    """Each NDJSON file split, lines unchanged, at the time before which 99 % of runs started."""
    runs = next(path for path in files if path.stem == "flow_runs")
    starts = sorted(
        value for line in runs.open() if (value := json.loads(line).get("started_at")) is not None
    )
    split_at = starts[int(len(starts) * (1 - percent / 100))]
    out.mkdir(parents=True, exist_ok=True)
    older, newer = [], []
    for path in files:
        field = TIME_FIELDS[path.stem]
        a, b = out / f"{path.stem}.older.ndjson", out / f"{path.stem}.newer.ndjson"
        with path.open() as source, a.open("w") as first, b.open("w") as second:
            for line in source:
                value = json.loads(line).get(field)
                (second if value is not None and value >= split_at else first).write(line)
        older.append(a)
        newer.append(b)
    return older, newer, split_at


def run_results_seconds(home: Path) -> float | None:
    path = home / "dbt" / "target" / "run_results.json"
    try:
        return float(json.loads(path.read_text())["elapsed_time"])
    except (FileNotFoundError, KeyError, ValueError):
        return None


def slowest_nodes(home: Path, count: int = 10) -> list[dict]:
    """The ``count`` dbt nodes (models and data tests) of the last build that took longest."""
    path = home / "dbt" / "target" / "run_results.json"
    try:
        results = json.loads(path.read_text())["results"]
    except (FileNotFoundError, KeyError, ValueError):
        return []
    ranked = sorted(results, key=lambda result: -result["execution_time"])[:count]
    return [
        {"node": result["unique_id"], "seconds": round(result["execution_time"], 2)}
        for result in ranked
    ]


def build_breakdown(home: Path, wall_s: float) -> dict:
    """Where the wall time of the last ``flowledger build`` went.

    ``steps`` are build.py's own step timings (``<home>/dbt/last_build.json``); ``startup_s`` is
    the CLI process's start and exit around them; ``dbt_outside_nodes_s`` is dbt's process start,
    project parse and exit (its ``dbt`` step minus run_results.json's elapsed time); the thread
    seconds of models and data tests add up both threads, so they exceed the elapsed time."""
    from flowledger.build import last_build_path
    from flowledger.settings import DataDir

    data_dir = DataDir(home)
    try:
        last = json.loads(last_build_path(data_dir).read_text())
        run_results = json.loads((data_dir.dbt_target / "run_results.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    thread_s: dict[str, float] = {}
    for result in run_results["results"]:
        kind = result["unique_id"].split(".")[0]
        thread_s[kind] = thread_s.get(kind, 0.0) + result["execution_time"]
    tests = sorted(
        (r for r in run_results["results"] if r["unique_id"].startswith("test.")),
        key=lambda result: -result["execution_time"],
    )
    return {
        "load_1m": round(os.getloadavg()[0], 2),  # the machine's load over the build's last minute
        "startup_s": round(wall_s - last["seconds"], 2),
        "steps": last["steps"],
        "dbt_outside_nodes_s": round(last["steps"]["dbt"] - run_results["elapsed_time"], 2),
        "dbt_parse": dbt_parse_kind(data_dir.dbt_logs / "dbt.log"),
        "model_thread_s": round(thread_s.get("model", 0.0), 2),
        "test_thread_s": round(thread_s.get("test", 0.0), 2),
        "slowest_tests": [
            {"node": result["unique_id"], "seconds": round(result["execution_time"], 2)}
            for result in tests[:5]
        ],
    }


def dbt_parse_kind(log: Path) -> str:
    """How dbt's last run parsed the project: ``full`` and why (dbt says so at info level), else
    ``partial`` (the saved manifest reused, maybe with a few changed files), from dbt's log."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 4_000_000))
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return "unknown"
    last_run = text[text.rfind("Running with dbt=") :]
    if found := re.search(r"Unable to do partial parsing because ([^.\n]*)", last_run):
        return "full: " + found.group(1)
    return "partial" if "Running with dbt=" in last_run else "unknown"


def format_breakdown(breakdown: dict) -> str:
    if not breakdown:
        return "no breakdown (no last_build.json)"
    steps = breakdown["steps"]
    return (
        f"start-up {breakdown['startup_s']:.1f}s, before dbt "
        f"{sum(v for k, v in steps.items() if k not in ('dbt', 'data_as_of', 'publish')):.1f}s, "
        f"dbt outside nodes {breakdown['dbt_outside_nodes_s']:.1f}s (parse: "
        f"{breakdown['dbt_parse']}), models {breakdown['model_thread_s']:.1f} + tests "
        f"{breakdown['test_thread_s']:.1f} thread-s, publish {steps.get('publish', 0):.1f}s; "
        f"load {breakdown['load_1m']:.1f}"
    )


def bench_dbt(work: Path, files: list[Path]) -> tuple[dict, Path]:
    home = work / "home-dbt"
    subprocess.run(["rm", "-rf", str(home)], check=True)
    older, newer, split_at = split_newest_percent(files, work / "split", 1.0)
    log(f"dbt: ingesting the rows before {split_at} (not timed)")
    flowledger(home, "ingest", *map(str, older))
    # dbt saves its parse of the project per installation and configuration: only the first build
    # of a fresh clone parses the whole project (~5 s), every later build parses what changed. The
    # parse is done here, untimed, so the full build is timed as every build after the first runs.
    parse_s, _ = flowledger(home, "build", "--parse-only", "--quiet")
    log(f"dbt: project parsed in {parse_s:.1f}s (not timed); full build")
    full_s, _ = flowledger(home, "build", "--quiet")
    full_dbt_s = run_results_seconds(home)
    full_nodes = slowest_nodes(home)
    full_breakdown = build_breakdown(home, full_s)
    full_files = data_dir_bytes(home)
    log(f"  full build {full_s:.1f}s (dbt {full_dbt_s:.1f}s)")
    log(f"    {format_breakdown(full_breakdown)}")
    flowledger(home, "ingest", *map(str, newer))
    newer_rows = sum(sum(1 for _ in path.open()) for path in newer)
    log(f"dbt: incremental build after +{newer_rows:,} rows")
    incremental_s, _ = flowledger(home, "build", "--quiet")
    incremental_dbt_s = run_results_seconds(home)
    incremental_nodes = slowest_nodes(home)
    incremental_breakdown = build_breakdown(home, incremental_s)
    log(f"  incremental build {incremental_s:.1f}s (dbt {incremental_dbt_s:.1f}s)")
    log(f"    {format_breakdown(incremental_breakdown)}")
    return {
        "split_at": split_at,
        "appended_rows": newer_rows,
        "parse_s": parse_s,
        "full_s": full_s,
        "full_dbt_s": full_dbt_s,
        "incremental_s": incremental_s,
        "incremental_dbt_s": incremental_dbt_s,
        "incremental_fraction": incremental_s / full_s,
        "full_slowest_nodes": full_nodes,
        "incremental_slowest_nodes": incremental_nodes,
        "full_breakdown": full_breakdown,
        "incremental_breakdown": incremental_breakdown,
        "files_after_full_build": full_files,
    }, home


def data_dir_bytes(home: Path) -> dict[str, int]:
    """The size on disk of what a build leaves in the data directory: the warehouse file (raw
    tables, staging views, intermediates), the marts file, the published snapshot(s) and the
    landing Parquet files."""
    from flowledger.settings import DataDir

    data_dir = DataDir(home)

    def size(path: Path) -> int:
        if path.is_file():
            return path.stat().st_size
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())

    return {
        "warehouse": size(data_dir.warehouse),
        "marts": size(data_dir.marts),
        "published": size(data_dir.published),
        "landing": size(data_dir.landing),
    }


# --- 3. dashboard queries ------------------------------------------------------------------------


def bench_queries(home: Path, repeat: int) -> list[dict]:
    """Each query as a page runs it on a cache miss (dashboards/data.py ``read_published``): a
    cursor on the dashboard process's one connection to the published snapshot
    (dashboards/snapshot.py), the query, close the cursor. Opening the snapshot happens once per
    published snapshot per process and is timed apart by :func:`bench_snapshot_open`."""
    from streamlit.runtime.caching import cache_data_api

    # Outside `streamlit run` every @st.cache_data warns "No runtime found" once at import (a
    # line per query function): the queries here call the functions themselves, uncached.
    logging.getLogger(cache_data_api.__name__).setLevel(logging.ERROR)
    from dashboards import budget_data, data, lineage_data, process_data
    from dashboards.snapshot import SnapshotReader
    from flowledger.settings import DataDir

    data_dir, reader = DataDir(home), SnapshotReader()
    with reader.cursor(data_dir) as con:
        args = _query_arguments(con, data)
    results = []
    for module in (data, process_data, budget_data, lineage_data):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("query_") or function.__module__ != module.__name__:
                continue
            parameters = inspect.signature(function).parameters
            call = {param: args[param] for param in parameters if param in args and param != "con"}
            missing = [
                p.name
                for p in parameters.values()
                if p.name not in call and p.name != "con" and p.default is inspect.Parameter.empty
            ]
            if missing:
                raise SystemExit(f"bench: no value for {module.__name__}.{name}({missing})")
            samples = []
            for number in range(repeat + 1):
                began = time.perf_counter()
                with reader.cursor(data_dir) as con:
                    function(con, **call)
                if number:  # the first run warms the OS page cache
                    samples.append((time.perf_counter() - began) * 1000)
            results.append(
                {"query": f"{module.__name__.split('.')[-1]}.{name}", **_p50_p95(samples)}
            )
    reader.close()
    return results


def bench_snapshot_open(home: Path, repeat: int) -> dict:
    """What a dashboard process pays once per published snapshot: open it read-only, read
    ``_meta``, close (no other connection to it open in this process)."""
    from dashboards.data import query_meta
    from flowledger.settings import DataDir
    from flowledger.warehouse import open_published

    samples = []
    for number in range(repeat + 1):
        began = time.perf_counter()
        with open_published(DataDir(home)) as con:
            query_meta(con)
        if number:
            samples.append((time.perf_counter() - began) * 1000)
    return _p50_p95(samples)


def _p50_p95(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {
        "p50_ms": statistics.median(samples),
        "p95_ms": samples[min(len(samples) - 1, int(0.95 * len(samples)))],
    }


def _query_arguments(con, data) -> dict:
    """One realistic value per parameter name: the last 30 days, the busiest flow and case."""
    newest = _first(con, "select max(started_at) from fct_flow_runs") or datetime.now(UTC)
    end = newest.date() if isinstance(newest, datetime) else date.today()
    start = end - timedelta(days=29)
    flow_id = _first(
        con, "select flow_id from fct_flow_runs group by 1 order by count(*) desc, 1 limit 1"
    )
    case_key = _first(
        con, "select case_key from fct_cases order by event_count desc, case_key limit 1"
    )
    process = _first(con, "select min(process_name) from fct_cases")
    slo = _first(con, "select min(slo_id) from fct_error_budgets")
    # the record with the most writes: the provenance page's largest answer
    record = _first(
        con,
        "select [entity, record_key] from fct_record_field_writes group by entity, record_key "
        "order by count(*) desc, entity, record_key limit 1",
    ) or ["", ""]
    return {
        "start": start,
        "end": end,
        "process": process,
        "flows": None,
        "flow_id": flow_id or "",
        "grain": data.latency_grain(30),
        "case_key": case_key or "",
        "slo_id": slo or "",
        "entity": record[0],
        "record_key": record[1],
    }


def _first(con, sql: str):
    try:
        rows = con.execute(sql).fetchall()  # fetch all: no unfinished result left on con
    except Exception:  # a mart another feature may not have built
        return None
    return rows[0][0] if rows else None


# --- 4. the other benchmarks ----------------------------------------------------------------------


def bench_child(script: Path, args: list[str], timeout: float) -> dict:
    if not script.exists():
        return {"script": str(script.relative_to(ROOT)), "skipped": "not present"}
    log(f"running {script.relative_to(ROOT)} {' '.join(args)}")
    began = time.perf_counter()
    try:
        result = subprocess.run(
            [sys.executable, str(script), *args],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {
            "script": str(script.relative_to(ROOT)),
            "skipped": f"timed out after {timeout:.0f}s",
        }
    return {
        "script": str(script.relative_to(ROOT)),
        "args": args,
        "exit": result.returncode,
        "seconds": time.perf_counter() - began,
        "output": (result.stdout + result.stderr)[-2500:],
    }


def log_child_figures(child: dict, prefixes: tuple[str, ...]) -> None:
    """Print the lines of a child benchmark's output that hold its figures (they were only in
    the results file and docs/PERFORMANCE.md)."""
    if "skipped" in child:
        log(f"  {child['script']}: skipped ({child['skipped']})")
        return
    log(f"  {child['script']}: exit {child['exit']}, {child['seconds']:.0f}s")
    for line in child["output"].splitlines():
        if line.strip().startswith(tuple(p.strip() for p in prefixes)):
            log(f"    {line.strip()}")


# --- the report -----------------------------------------------------------------------------------


def source_commit() -> str:
    """The commit the benchmark ran (with "+changes" when the work tree differs from it): the
    figures say which code they measured."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    except OSError:  # no git
        return ""
    return head + ("+changes" if head and dirty else "")


def machine() -> dict:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(pages / 2**30, 1),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    found = re.search(r"model name\s*:\s*(.+)", text)
    return found.group(1).strip() if found else platform.processor()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="data set size (1000000, 10000000)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "fl-bench",
        help="generated data and scratch data directories (kept; data reused across runs)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=20, help="runs of each dashboard query")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["ingest", "process_kpis", "lineage"],
        help="parts to leave out",
    )  # fmt: skip
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    if "process_kpis" not in args.skip and importlib.util.find_spec("pm4py") is None:
        # found before the run, not after ~15 minutes of it
        parser.error(
            "the PM4Py cross-check needs the test packages: run `make test-env` first, "
            "or leave it out with --skip process_kpis"
        )
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    load_before = os.getloadavg()
    log(
        f"machine: {info['cores']} cores, {info['memory_gib']} GiB, {info['cpu']}; load {load_before}"
    )
    began = time.perf_counter()
    result: dict = {
        "events": args.events,
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "commit": source_commit(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "load_before": load_before,
    }
    if "ingest" in args.skip:
        files, _ = ingest_bench.generate(args.workdir, args.events, "ndjson")
    else:
        result["ingest"], files = bench_ingest(args.workdir, args.events)
    result["dbt"], home = bench_dbt(args.workdir, files)
    log("dashboard queries")
    result["queries"] = bench_queries(home, args.repeat)
    result["snapshot_open"] = bench_snapshot_open(home, args.repeat)
    for query in sorted(result["queries"], key=lambda q: -q["p95_ms"]):
        log(f"  {query['query']}: p50 {query['p50_ms']:.1f} ms, p95 {query['p95_ms']:.1f} ms")
    worst = max(result["queries"], key=lambda q: q["p95_ms"])
    log(
        f"  {len(result['queries'])} queries; slowest p95 {worst['p95_ms']:.1f} ms ({worst['query']})"
    )
    if "process_kpis" not in args.skip:
        result["process_kpis"] = bench_child(
            ROOT / "bench" / "process_kpis" / "run.py", ["--events", str(args.events)], 3600
        )
        log_child_figures(result["process_kpis"], ("ratio ", "cases ", "  build path: ", "  fresh"))
    if "lineage" not in args.skip:
        result["lineage"] = bench_child(ROOT / "bench" / "lineage" / "bench_trace.py", [], 1800)
        log_child_figures(result["lineage"], ('"p50_ms"', '"p95_ms"', '"max_ms"', '"budget_ms"'))
    result["load_after"] = os.getloadavg()
    result["seconds"] = time.perf_counter() - began
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{args.events}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    log(f"wrote {path.relative_to(ROOT)}")
    if not args.no_docs:
        from bench.report import write_performance_md

        write_performance_md(RESULTS, PERFORMANCE_MD)
        log(f"wrote {PERFORMANCE_MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
