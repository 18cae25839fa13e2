"""docs/PERFORMANCE.md from the benchmark results (bench/results/<events>.json), sizes side by side."""

from __future__ import annotations

import json
import re
from pathlib import Path

TARGETS_TEXT = (
    "Targets of issue 7 at 10M events on 2 cores: ingest at least half DuckDB's raw load speed "
    "(ratio ≤ 2.0) with validation, dedupe and scrubbing on; peak ingest memory < 2 GiB; full "
    "dbt build < 90 s; incremental build after +1 % < a fifth of the full build; every dashboard "
    "query < 200 ms p95."
)


def _load(results_dir: Path) -> list[dict]:
    runs = [json.loads(path.read_text()) for path in sorted(results_dir.glob("*.json"))]
    return sorted(runs, key=lambda r: r["events"])


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}{unit}"


def render(runs: list[dict], notes: str = "") -> str:
    lines = [
        "# Performance",
        "",
        "Measured by the benchmark suite (`bench/`); every figure below was produced by the command",
        "shown with it, on the machine described with it. Re-run and this file is rewritten from",
        "`bench/results/*.json`:",
        "",
        "```sh",
        ".venv/bin/python -m bench --events 1000000     # ~3 min on 2 idle cores (data generated once)",
        ".venv/bin/python -m bench --events 10000000    # ~12 min on 2 idle cores, plus ~5 min to generate",
        "```",
        "",
        TARGETS_TEXT,
        "",
    ]
    for run in runs:
        m = run["machine"]
        lines += [
            f"## {run['events']:,} events",
            "",
            f"`{run['command']}` — {run['started']}"
            + (f", at {run['commit']}" if run.get("commit") else "")
            + f"; {m['cores']} cores, {m['memory_gib']} GiB, "
            f"{m['cpu']}; load average before {', '.join(f'{x:.1f}' for x in run['load_before'])}, "
            f"after {', '.join(f'{x:.1f}' for x in run['load_after'])} (1/5/15 min; the machine was "
            "shared with other work when the load exceeds the core count); whole run "
            f"{run['seconds'] / 60:.0f} min.",
            "",
        ]
        if run.get("ingest"):
            lines += [
                "### Ingest",
                "",
                "| format | rows | flowledger ingest | rows/s | DuckDB raw load | rows/s | ratio "
                "| ingest peak RSS | target |",
                "|---|--:|--:|--:|--:|--:|--:|--:|---|",
            ]
            for r in run["ingest"]:
                ok = r["ratio"] <= 2.0 and r["ingest_rss"] < 2 * 2**30
                lines.append(
                    f"| {r['format']} | {r['rows']:,} | {r['ingest_s']:.1f} s "
                    f"| {r['rows'] / r['ingest_s']:,.0f} | {r['duckdb_s']:.1f} s "
                    f"| {r['rows'] / r['duckdb_s']:,.0f} | {r['ratio']:.2f} "
                    f"| {r['ingest_rss'] / 2**20:,.0f} MiB | {_mark(ok)} |"
                )
            lines.append("")
        d = run["dbt"]
        lines += [
            "### dbt build (all models, then publish)",
            "",
            "| build | wall (flowledger build) | dbt elapsed | of which: dbt step | publish "
            "| model + test thread-s | target |",
            "|---|--:|--:|--:|--:|--:|---|",
            f"| full | {d['full_s']:.1f} s | {_fmt(d['full_dbt_s'], ' s')} "
            f"| {_breakdown_cells(d.get('full_breakdown'))} "
            f"| {_mark(d['full_s'] < 90)} (< 90 s) |",
            f"| incremental after +{d['appended_rows']:,} rows (newest 1 % of run starts, from "
            f"{d['split_at']}) | {d['incremental_s']:.1f} s | {_fmt(d['incremental_dbt_s'], ' s')} "
            f"| {_breakdown_cells(d.get('incremental_breakdown'))} "
            f"| {d['incremental_fraction']:.2f} of full: "
            f"{_mark(d['incremental_fraction'] < 0.2)} (< 0.20) |",
            "",
            "dbt step: the dbt child process (start-up, parse, nodes); publish: `_meta` written "
            "into the marts file, which then becomes the new snapshot (since 2026-12-06 afternoon "
            "moved, not copied); thread-s: seconds summed over dbt's threads "
            "(`<data dir>/dbt/last_build.json`).",
            "",
            *_files_line(d.get("files_after_full_build")),
            "### Dashboard queries (published snapshot)",
            "",
            "| query | p50 | p95 | target |",
            "|---|--:|--:|---|",
        ]
        for q in sorted(run["queries"], key=lambda q: -q["p95_ms"]):
            lines.append(
                f"| `{q['query']}` | {q['p50_ms']:.1f} ms | {q['p95_ms']:.1f} ms "
                f"| {_mark(q['p95_ms'] < 200)} |"
            )
        if "snapshot_open" in run:
            opened = run["snapshot_open"]
            lines += [
                "",
                "Each query runs on a cursor of the dashboard process's one connection to the "
                "snapshot, as a page does on a cache miss; opening the snapshot (once per "
                f"published snapshot per process) took p50 {opened['p50_ms']:.1f} ms, "
                f"p95 {opened['p95_ms']:.1f} ms.",
            ]
        lines.append("")
        for key, title in (
            ("process_kpis", "Process KPIs against PM4Py"),
            ("lineage", "Lineage trace"),
        ):
            child = run.get(key)
            if not child:
                continue
            lines += [f"### {title} (`{child['script']}`)", ""]
            if "skipped" in child:
                lines += [f"Not run: {child['skipped']}.", ""]
                continue
            lines += [
                f"Exit {child['exit']}, {child['seconds']:.0f} s. Its output (tail):",
                "",
                "```",
                _clean(child["output"]),
                "```",
                "",
            ]
    if len(runs) >= 2:
        lines += _growth(runs[0], runs[-1])
    if notes:
        lines += ["", notes.strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def _files_line(files: dict[str, int] | None) -> list[str]:
    """The data directory's files after the full build (results without them: nothing)."""
    if not files:
        return []
    return [
        "On disk after the full build: "
        + ", ".join(f"{name} {size / 2**30:.2f} GiB" for name, size in files.items())
        + " (warehouse: raw tables and intermediates; published: the snapshots, the newest of "
        "them the marts file the build wrote. Since 2026-12-06 afternoon there is no marts file "
        "between builds (0 GiB): the next build copies the snapshot; before, the marts file was a "
        "copy of the snapshot).",
        "",
    ]


def _breakdown_cells(breakdown: dict | None) -> str:
    """dbt step | publish | model + test thread-s of one build, dashes for older results."""
    if not breakdown:
        return "– | – | –"
    steps = breakdown.get("steps", {})
    return (
        f"{_fmt(steps.get('dbt'), ' s')} | {_fmt(steps.get('publish'), ' s')} "
        f"| {breakdown['model_thread_s']:.1f} + {breakdown['test_thread_s']:.1f}"
    )


def _clean(output: str) -> str:
    """A child's output without colour codes and without banners after a rule of '='."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    kept = []
    for line in plain.strip().splitlines():
        if set(line.strip()) == {"="}:
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _growth(small: dict, large: dict) -> list[str]:
    factor = large["events"] / small["events"]
    rows = [
        f"## How cost grows from {small['events']:,} to {large['events']:,} events (×{factor:.0f})",
        "",
        "| measure | small | large | growth |",
        "|---|--:|--:|--:|",
    ]

    def add(name: str, a: float | None, b: float | None, unit: str) -> None:
        if a and b:
            rows.append(f"| {name} | {a:,.1f}{unit} | {b:,.1f}{unit} | ×{b / a:.1f} |")

    for a, b in zip(small.get("ingest", []), large.get("ingest", []), strict=False):
        add(f"ingest {a['format']}", a["ingest_s"], b["ingest_s"], " s")
        add(
            f"ingest {a['format']} peak RSS",
            a["ingest_rss"] / 2**20,
            b["ingest_rss"] / 2**20,
            " MiB",
        )
    add("full build", small["dbt"]["full_s"], large["dbt"]["full_s"], " s")
    add("incremental build", small["dbt"]["incremental_s"], large["dbt"]["incremental_s"], " s")
    worst = lambda run: max(q["p95_ms"] for q in run["queries"])  # noqa: E731
    add("slowest dashboard query p95", worst(small), worst(large), " ms")
    return rows + [""]


def write_performance_md(results_dir: Path, target: Path) -> None:
    notes_path = results_dir / "NOTES.md"
    notes = notes_path.read_text() if notes_path.exists() else ""
    target.write_text(render(_load(results_dir), notes))


if __name__ == "__main__":  # re-render after editing bench/results/NOTES.md
    ROOT = Path(__file__).resolve().parents[1]
    write_performance_md(ROOT / "bench" / "results", ROOT / "docs" / "PERFORMANCE.md")
    print("wrote docs/PERFORMANCE.md")
