"""Benchmark: the process KPIs of a generated event log, flowledger against PM4Py, same run.

    .venv/bin/python bench/process_kpis/run.py [--events 1000000] [--workdir DIR]

1. writes a CSV event log of about --events events (tests/processes/logs.py: time-zone offsets,
   equal timestamps, single-event cases, rework);
2. flowledger: ``flowledger ingest --format csv`` (not timed), then two ways, each timed:
   a. the build path: ``flowledger build`` of the process marts and their inputs (dbt), then
      ``flowledger kpi process bench --json`` on the published marts;
   b. the fresh path: the same SQL (the compiled dbt models) run in memory without dbt,
      ``flowledger kpi process bench --fresh --json``: its one-off ``dbt compile`` (once per
      change of the models or the configuration) is reported apart; then timed in-process
      (flowledger.processes.fresh, as PM4Py is timed in-process) and as the whole CLI command;
      one more (untimed) run prints each model's wall and CPU seconds, to show what bounds it;
3. PM4Py (test-only dependency): the CSV is read with pandas and formatted (not timed), then timed:
   case durations, median and p95, rework per activity, frequency and performance DFG, variants;
4. checks that both paths' numbers equal PM4Py's (and each other's), prints the times, CPU
   times, the machine's load average and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "processes")]
from logs import generate, write_csv  # noqa: E402

EVENTS_PER_CASE = 5.66  # measured mean of the generator


def flowledger(home: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), *args],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode:
        raise SystemExit(
            f"flowledger {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="flowledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.csv"
    home = work / "home"
    cases = int(args.events / EVENTS_PER_CASE)
    started = time.perf_counter()
    events = write_csv(generate(cases, seed=42), log)
    print(
        f"log: {events:,} events in {cases:,} cases ({log}, {time.perf_counter() - started:.1f}s)"
    )

    started = time.perf_counter()
    flowledger(home, "ingest", "--format", "csv", str(log), "--process", "bench")
    print(f"flowledger ingest (not timed): {time.perf_counter() - started:.1f}s")

    from flowledger.processes.fresh import fresh_process_kpis
    from flowledger.settings import DataDir

    print(f"load average before the timed parts: {_load()}")
    compiled = fresh_process_kpis(DataDir(home), "bench")
    print(
        "flowledger one-off dbt compile of the process models (cached until a model or the "
        f"configuration changes): {compiled.compile_seconds or 0:.1f}s"
        + ("" if compiled.compile_seconds else " (plan was already cached)")
    )
    started, cpu = time.perf_counter(), time.process_time()
    fresh = fresh_process_kpis(DataDir(home), "bench").document
    fresh_seconds, fresh_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"flowledger fresh path, in-process: {fresh_seconds:.2f}s (CPU {fresh_cpu:.2f}s)")
    _profile_fresh_path(home)
    started = time.perf_counter()
    fresh_cli = json.loads(flowledger(home, "kpi", "process", "bench", "--fresh", "--json"))
    fresh_cli_seconds = time.perf_counter() - started
    print(f"flowledger kpi process --fresh --json, whole command: {fresh_cli_seconds:.2f}s")

    started = time.perf_counter()
    flowledger(
        home, "build", "--quiet", "--select", "+path:models/marts/processes", "+fct_flow_runs"
    )
    built = time.perf_counter() - started
    started = time.perf_counter()
    ours = json.loads(flowledger(home, "kpi", "process", "bench", "--json"))
    queried = time.perf_counter() - started
    build_seconds = built + queried
    print(f"flowledger build path: build {built:.1f}s + kpi {queried:.1f}s = {build_seconds:.1f}s")

    import numpy as np
    import pandas as pd
    import pm4py

    started = time.perf_counter()
    frame = pd.read_csv(log, dtype=str)
    frame["time:timestamp"] = pd.to_datetime(frame["time:timestamp"], utc=True, format="ISO8601")
    frame = pm4py.format_dataframe(
        frame,
        case_id="case:concept:name",
        activity_key="concept:name",
        timestamp_key="time:timestamp",
    )
    print(f"PM4Py read + format (not timed): {time.perf_counter() - started:.1f}s")
    print(f"load average before PM4Py: {_load()}")
    started, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        durations = np.array(pm4py.get_all_case_durations(frame))
        median, p95 = np.quantile(durations, 0.5), np.quantile(durations, 0.95)
        rework = {k: v for k, v in pm4py.get_rework_cases_per_activity(frame).items() if v > 0}
        dfg, _, _ = pm4py.discover_dfg(frame)
        performance = pm4py.discover_performance_dfg(frame)[0]
        variants = pm4py.get_variants(frame)
    theirs_seconds, theirs_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"PM4Py KPIs: {theirs_seconds:.1f}s (CPU {theirs_cpu:.1f}s)")
    print(f"load average after: {_load()}")

    def checks(document: dict) -> dict[str, bool]:
        dfg_rows = document["directly_follows"]
        return {
            "cases": document["cases"] == len(durations),
            "events": document["events"] == len(frame),
            "median": abs(document["case_duration_seconds"]["median"] - median) < 1e-6,
            "p95": abs(document["case_duration_seconds"]["p95"] - p95) < 1e-6,
            "mean": abs(document["case_duration_seconds"]["mean"] - durations.mean()) < 1e-6,
            "rework_by_activity": document["rework"]["cases_by_activity"] == rework,
            "dfg_counts": {(r["from_step"], r["to_step"]): r["count"] for r in dfg_rows}
            == dict(dfg),
            "dfg_mean_waits": all(
                abs(r["mean_seconds"] - performance[(r["from_step"], r["to_step"])]["mean"]) < 1e-6
                for r in dfg_rows
            ),
            "variants": document["variants"]["count"] == len(variants),
        }

    def without_built_at(document: dict) -> dict:
        return {key: value for key, value in document.items() if key != "built_at"}

    print(f"cases {ours['cases']:,}; median {median:.3f}s; p95 {p95:.3f}s")
    results = {"build path": checks(ours), "fresh path": checks(fresh)}
    for path, path_checks in results.items():
        for name, ok in path_checks.items():
            print(f"  {path}: {'identical' if ok else 'DIFFERENT'}: {name}")
    same = without_built_at(fresh) == without_built_at(ours) == without_built_at(fresh_cli)
    print(f"  fresh and build documents (built_at aside): {'identical' if same else 'DIFFERENT'}")
    print(f"ratio PM4Py / flowledger build path = {theirs_seconds / build_seconds:.2f}x")
    print(f"ratio PM4Py / flowledger fresh path = {theirs_seconds / fresh_seconds:.2f}x (wall)")
    print(f"ratio PM4Py / flowledger fresh path = {theirs_cpu / fresh_cpu:.2f}x (CPU)")
    print(
        "ratio PM4Py / flowledger kpi --fresh whole command = "
        f"{theirs_seconds / fresh_cli_seconds:.2f}x"
    )
    if not same or not all(all(path_checks.values()) for path_checks in results.values()):
        raise SystemExit(1)


def _profile_fresh_path(home: Path) -> None:
    """Where the fresh path's time goes: each model of its plan, run once more (not timed above)."""
    from flowledger.build import dbt_vars
    from flowledger.direct_build import compiled_plan, run_plan
    from flowledger.processes.fresh import FRESH_MARTS
    from flowledger.settings import DataDir
    from flowledger.warehouse import writer_lock

    data_dir = DataDir(home)
    plan = compiled_plan(data_dir, FRESH_MARTS, dbt_vars(data_dir)).plan
    lines: list[str] = []
    with writer_lock(data_dir):
        run_plan(plan, data_dir.warehouse, echo=lines.append).close()
    costly = [line for line in lines if not line.endswith(": 0.00s (CPU 0.00s)")]
    print("  per model (one more run, not timed):\n    " + "\n    ".join(costly))


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
