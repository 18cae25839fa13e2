"""Dashboard queries before/after, in one run, on the same published snapshot.

    .venv/bin/python bench/dashboard/run.py --data-dir DIR [--baseline COMMIT] [--repeat 20]

``DIR`` is a data directory with a published snapshot built by the current code. The baseline is
the ``dashboards`` package at ``COMMIT`` (git archive into a temporary directory) read the way it
read then: open the snapshot, run the query, close, on a copy of the snapshot written without
the row order ``publish`` once gave the large marts (as it wrote them then). The current code reads
as pages do now: a cursor of the one connection a dashboard process keeps per snapshot. Both
run each query alternately, so they share the machine's load; the load average is printed.
Every query's answers are also compared (floats to a relative 1e-9); exit 1 if one differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
from polars.testing import assert_frame_equal  # noqa: E402

from bench.__main__ import _query_arguments  # noqa: E402
from flowledger.settings import DataDir  # noqa: E402
from flowledger.warehouse import connect_snapshot, current_snapshot  # noqa: E402

FLOAT_TOLERANCE = 1e-9
BASELINE = "90628bb"  # the dashboards before the read-path work of issue 7
MODULES = ("data", "process_data", "budget_data")
#: Baseline query -> current query, where a query was replaced.
RENAMED = {
    "process_data.query_cycle_times": "process_data.query_cycle_time_bins",
    # the process page follows the date range since: whole-process answers no longer compare
    "process_data.query_kpis": "process_data.query_range_counts",
}
NOW_OVER_A_RANGE = {
    "process_data.query_cycle_time_bins",
    "process_data.query_weekly",
    "process_data.query_directly_follows",
    "process_data.query_stuck_cases",
}


def load_queries(package_root: Path) -> dict[str, Callable]:
    """The ``query_*`` functions of the ``dashboards`` package found under ``package_root``."""
    for name in [n for n in sys.modules if n == "dashboards" or n.startswith("dashboards.")]:
        del sys.modules[name]
    sys.path.insert(0, str(package_root))
    try:
        modules = [importlib.import_module(f"dashboards.{name}") for name in MODULES]
    finally:
        sys.path.remove(str(package_root))
        for name in [n for n in sys.modules if n == "dashboards" or n.startswith("dashboards.")]:
            del sys.modules[name]
    return {
        f"{module.__name__.split('.')[-1]}.{name}": function
        for module in modules
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("query_") and function.__module__ == module.__name__
    }


def unordered_copy(snapshot: Path, target: Path) -> None:
    """``snapshot``'s tables copied as they are (the layout ``publish`` wrote before)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{snapshot}' as source (read_only)")
        con.execute(f"attach '{target}' as target")
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'source'"
        ).fetchall():
            con.execute(f'create table target."{table}" as select * from source."{table}"')
    finally:
        con.close()


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def same_answer(before: object, after: object) -> bool:
    """Equal, floats to a relative 1e-9: a float sum or mean depends on the order of the rows,
    and the snapshot's row order is what changed."""
    if isinstance(before, pl.DataFrame) and isinstance(after, pl.DataFrame):
        try:
            assert_frame_equal(before, after, rel_tol=FLOAT_TOLERANCE)
        except AssertionError:
            return False
        return True
    if dataclasses.is_dataclass(before) and dataclasses.is_dataclass(after):
        return same_answer(dataclasses.asdict(before), dataclasses.asdict(after))  # type: ignore[arg-type]
    if isinstance(before, dict) and isinstance(after, dict):
        return before.keys() == after.keys() and all(
            same_answer(before[key], after[key]) for key in before
        )
    if isinstance(before, list) and isinstance(after, list):
        return len(before) == len(after) and all(map(same_answer, before, after))
    if isinstance(before, float) and isinstance(after, float):
        return math.isclose(before, after, rel_tol=FLOAT_TOLERANCE)
    return before == after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--baseline", default=BASELINE, help="commit of the baseline dashboards")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    snapshot = current_snapshot(DataDir(args.data_dir))
    with tempfile.TemporaryDirectory(prefix="flowledger-dashboard-bench-") as work:
        old_root, old_snapshot = Path(work) / "baseline", Path(work) / "unordered.duckdb"
        old_root.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline, "dashboards"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_root)], input=archive, check=True)
        unordered_copy(snapshot, old_snapshot)
        old, new = load_queries(old_root), load_queries(ROOT)
        return compare(old, new, old_snapshot, snapshot, args.repeat, args.baseline)


def compare(
    old: dict[str, Callable],
    new: dict[str, Callable],
    old_snapshot: Path,
    snapshot: Path,
    repeat: int,
    baseline: str,
) -> int:
    opens = []
    for number in range(repeat + 1):
        began = time.perf_counter()
        connect_snapshot(snapshot).close()
        if number:
            opens.append((time.perf_counter() - began) * 1000)
    shared = connect_snapshot(snapshot)
    with shared.cursor() as cursor:
        arguments = _query_arguments(cursor, importlib.import_module("dashboards.data"))
    load_before, rows = os.getloadavg(), []
    for name, old_query in sorted(old.items()):
        new_name = RENAMED.get(name, name)
        new_query = new[new_name]
        old_args, new_args = (
            {p: arguments[p] for p in inspect.signature(f).parameters if p in arguments}
            for f in (old_query, new_query)
        )
        before, after = [], []
        for number in range(repeat + 1):
            began = time.perf_counter()
            con = connect_snapshot(old_snapshot)
            old_answer = old_query(con, **old_args)
            con.close()
            middle = time.perf_counter()
            with shared.cursor() as cursor:
                new_answer = new_query(cursor, **new_args)
            ended = time.perf_counter()
            if number:  # the first run warms the OS page cache
                before.append((middle - began) * 1000)
                after.append((ended - middle) * 1000)
        label = name if new_name == name else f"{name} → {new_name.split('.')[-1]}"
        replaced = new_name != name or new_name in NOW_OVER_A_RANGE
        same = "replaced" if replaced else same_answer(old_answer, new_answer)
        rows.append((label, *p50_p95(before), *p50_p95(after), same))
    shared.close()
    load_after = os.getloadavg()
    print(f"snapshot {snapshot} ({snapshot.stat().st_size / 2**20:,.0f} MiB); baseline {baseline}")
    print(f"{os.cpu_count()} cores; load average before {load_before}, after {load_after}")
    print(f"repeat {repeat}; snapshot open+close alone: p50 {p50_p95(opens)[0]:.1f} ms, "
          f"p95 {p50_p95(opens)[1]:.1f} ms (now once per snapshot per process)")  # fmt: skip
    print("\n| query | before p50 | before p95 | after p50 | after p95 | p95 ratio | same answer |")
    print("|---|--:|--:|--:|--:|--:|---|")
    for label, b50, b95, a50, a95, same in sorted(rows, key=lambda row: -row[2]):
        print(f"| `{label}` | {b50:.1f} ms | {b95:.1f} ms | {a50:.1f} ms | {a95:.1f} ms "
              f"| {b95 / a95:.1f}x | {same} |")  # fmt: skip
    over = [row[0] for row in rows if row[4] >= 200]
    print(f"\nafter: {len(rows) - len(over)} of {len(rows)} queries under 200 ms p95"
          + (f"; over: {', '.join(over)}" if over else ""))  # fmt: skip
    return 1 if any(row[5] is False for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
