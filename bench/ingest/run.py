"""Ingest benchmark: ``flowledger ingest`` against DuckDB's own raw load of the same files.

    .venv/bin/python bench/ingest/run.py [--events 1000000] [--format ndjson parquet]
        [--workdir DIR] [--repeat 1]

For each format: the demo generator writes about ``--events`` business events + flow runs + step
runs (plus queue depth samples) into ``<workdir>/data-<events>-<format>/`` (kept and reused when
already there: same seed and arguments give the same files). Then, per repeat, in the same run:

1. ``flowledger ingest <all four files>`` into a fresh data directory, as a child process:
   wall time and the child's own peak RSS (``os.wait4``, so other children do not count);
2. DuckDB's raw load (the speed limit of this machine): a child process that runs
   ``CREATE TABLE t AS SELECT * FROM read_json(<file>)`` (``read_parquet`` for Parquet) for each
   file into a fresh DuckDB file, timed the same way. When the schema sample misses a key that
   appears later (CloudEvents ``data`` of a rare type), ``read_json`` fails and is re-run with
   ``sample_size=-1`` (the time of both attempts counts: that is what the load costs).

Prints rows/s of both, the ratio (ingest time / DuckDB time; the target of issue 7 is ≤ 2),
the CPU seconds of both (user + system; steadier than wall time on a loaded machine) and their
ratio, both peak RSS figures, the machine's cores and memory and the load average before and after.
Results go to docs/ingest-performance.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DUCKDB_LOAD = r"""
import json, sys, time, duckdb
db, fmt, *files = sys.argv[1:]
con = duckdb.connect(db)
reader = "read_json" if fmt == "ndjson" else "read_parquet"
seconds = {}
for number, path in enumerate(files):
    began = time.perf_counter()
    try:
        con.execute(f"CREATE TABLE t{number} AS SELECT * FROM {reader}('{path}')")
    except duckdb.InvalidInputException:  # a key the schema sample did not see: sample it all
        con.execute(f"CREATE TABLE t{number} AS SELECT * FROM {reader}('{path}', sample_size=-1)")
    con.execute("CHECKPOINT")
    seconds[path] = time.perf_counter() - began
print(json.dumps(seconds))
"""


def generate(work: Path, events: int, file_format: str) -> tuple[list[Path], int]:
    """The data set's files (generated unless already there) and their total row count."""
    out = work / f"data-{events}-{file_format}"
    marker = out / "rows.json"
    if not marker.exists():
        from flowledger.demo import generate as demo_generate

        print(f"generating {events:,} events as {file_format} into {out} …", flush=True)
        summary = demo_generate(out, target_events=events, file_format=file_format)
        marker.write_text(
            json.dumps({"files": {k: str(v) for k, v in summary.files.items()}, **summary.rows})
        )
    written = json.loads(marker.read_text())
    files = [Path(path) for path in written.pop("files").values()]
    return files, sum(written.values())


def timed_child(argv: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS in bytes (this child only) and
    output of one child process."""
    with tempfile.TemporaryFile("w+") as out:
        began = time.perf_counter()
        child = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if child.returncode:
        raise SystemExit(
            f"{' '.join(argv[1:3])[:60]} … failed ({child.returncode}):\n{text[-4000:]}"
        )
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, text


def machine() -> str:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return f"{os.cpu_count()} cores, {pages / 2**30:.1f} GiB memory"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run_once(work: Path, files: list[Path], rows: int, file_format: str, repeat: int) -> dict:
    home = work / f"home-{file_format}-{repeat}"
    subprocess.run(["rm", "-rf", str(home)], check=True)
    load_before = load_average()
    ingest_s, ingest_cpu, ingest_rss, log = timed_child(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), "ingest"]
        + [str(path) for path in files]
    )
    database = work / f"duckdb-{file_format}.duckdb"
    database.unlink(missing_ok=True)
    duck_s, duck_cpu, duck_rss, duck_out = timed_child(
        [sys.executable, "-c", DUCKDB_LOAD, str(database), file_format]
        + [str(path) for path in files]
    )
    database.unlink(missing_ok=True)
    subprocess.run(["rm", "-rf", str(home)], check=True)
    return {
        "format": file_format,
        "rows": rows,
        "ingest_s": ingest_s,
        "ingest_rss": ingest_rss,
        "ingest_cpu": ingest_cpu,
        "duckdb_cpu": duck_cpu,
        "duckdb_s": duck_s,
        "duckdb_rss": duck_rss,
        "duckdb_files": json.loads(duck_out.strip().splitlines()[-1]),
        "load": f"{load_before} → {load_average()}",
        "summary": "\n".join(line for line in log.splitlines() if not line.startswith("  ")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--format", nargs="+", default=["ndjson", "parquet"])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "fl-bench")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--show-log", action="store_true", help="print the ingest summary")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}; load average {load_average()}")
    print(
        "| format | rows | ingest s | ingest rows/s | DuckDB s | DuckDB rows/s | ratio "
        "| ingest CPU s | DuckDB CPU s | CPU ratio | ingest peak RSS | DuckDB peak RSS "
        "| load avg (1/5/15 min) |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for file_format in args.format:
        files, rows = generate(args.workdir, args.events, file_format)
        for repeat in range(args.repeat):
            r = run_once(args.workdir, files, rows, file_format, repeat)
            print(
                f"| {r['format']} | {rows:,} | {r['ingest_s']:.1f} | {rows / r['ingest_s']:,.0f} "
                f"| {r['duckdb_s']:.1f} | {rows / r['duckdb_s']:,.0f} "
                f"| {r['ingest_s'] / r['duckdb_s']:.2f} | {r['ingest_cpu']:.1f} "
                f"| {r['duckdb_cpu']:.1f} | {r['ingest_cpu'] / r['duckdb_cpu']:.2f} "
                f"| {r['ingest_rss'] / 2**20:,.0f} MiB "
                f"| {r['duckdb_rss'] / 2**20:,.0f} MiB | {r['load']} |",
                flush=True,
            )
            if args.show_log:
                print(r["summary"])
                for path, seconds in r["duckdb_files"].items():
                    print(f"  duckdb {Path(path).name}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
