"""Benchmark: the process KPIs of a generated event log, flowledger against PM4Py, same run.

    .venv/bin/python bench/process_kpis/run.py [--events 1000000] [--workdir DIR]

1. writes a CSV event log of about --events events (tests/processes/logs.py: time-zone offsets,
   equal timestamps, single-event cases, rework);
2. flowledger: ``flowledger ingest --format csv`` (not timed), then timed: ``flowledger build``
   of the process marts and their inputs, and ``flowledger kpi process bench --json``;
3. PM4Py (test-only dependency): the CSV is read with pandas and formatted (not timed), then timed:
   case durations, median and p95, rework per activity, frequency and performance DFG, variants;
4. checks that the numbers are identical and prints both times and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "processes"))
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
    started = time.perf_counter()
    flowledger(
        home, "build", "--quiet", "--select", "+path:models/marts/processes", "+fct_flow_runs"
    )
    built = time.perf_counter() - started
    started = time.perf_counter()
    ours = json.loads(flowledger(home, "kpi", "process", "bench", "--json"))
    queried = time.perf_counter() - started
    ours_seconds = built + queried
    print(f"flowledger build {built:.1f}s + kpi {queried:.1f}s = {ours_seconds:.1f}s")

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
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        durations = np.array(pm4py.get_all_case_durations(frame))
        median, p95 = np.quantile(durations, 0.5), np.quantile(durations, 0.95)
        rework = {k: v for k, v in pm4py.get_rework_cases_per_activity(frame).items() if v > 0}
        dfg, _, _ = pm4py.discover_dfg(frame)
        performance = pm4py.discover_performance_dfg(frame)[0]
        variants = pm4py.get_variants(frame)
    theirs_seconds = time.perf_counter() - started
    print(f"PM4Py KPIs: {theirs_seconds:.1f}s")

    checks = {
        "cases": ours["cases"] == len(durations),
        "events": ours["events"] == len(frame),
        "median": abs(ours["case_duration_seconds"]["median"] - median) < 1e-6,
        "p95": abs(ours["case_duration_seconds"]["p95"] - p95) < 1e-6,
        "mean": abs(ours["case_duration_seconds"]["mean"] - durations.mean()) < 1e-6,
        "rework_by_activity": ours["rework"]["cases_by_activity"] == rework,
        "dfg_counts": {(r["from_step"], r["to_step"]): r["count"] for r in ours["directly_follows"]}
        == dict(dfg),
        "dfg_mean_waits": all(
            abs(r["mean_seconds"] - performance[(r["from_step"], r["to_step"])]["mean"]) < 1e-6
            for r in ours["directly_follows"]
        ),
        "variants": ours["variants"]["count"] == len(variants),
    }
    print(f"cases {ours['cases']:,}; median {median:.3f}s; p95 {p95:.3f}s")
    for name, ok in checks.items():
        print(f"  {'identical' if ok else 'DIFFERENT'}: {name}")
    print(f"ratio PM4Py / flowledger = {theirs_seconds / ours_seconds:.2f}x")
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
