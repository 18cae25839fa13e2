"""The benchmark harness's own logic: the +1 % split and the report (hand-made inputs)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from bench.__main__ import (
    build_breakdown,
    data_dir_bytes,
    dbt_parse_kind,
    main,
    split_newest_percent,
)
from bench.report import render


def _ndjson(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_split_keeps_lines_and_cuts_at_the_newest_percent_of_run_starts(tmp_path: Path) -> None:
    starts = [f"2026-08-01T00:{minute:02d}:00Z" for minute in range(50)] * 2  # 100 runs
    runs = _ndjson(
        tmp_path / "flow_runs.ndjson",
        [{"run_id": i, "started_at": s} for i, s in enumerate(starts)],
    )
    steps = _ndjson(
        tmp_path / "step_runs.ndjson",
        [
            {"started_at": "2026-08-01T00:48:59Z"},
            {"started_at": "2026-08-01T00:49:00Z"},
            {"started_at": None},
        ],
    )
    events = _ndjson(tmp_path / "business_events.ndjson", [{"time": "2026-08-01T01:00:00Z"}])
    samples = _ndjson(
        tmp_path / "queue_depth_samples.ndjson", [{"sampled_at": "2026-08-01T00:00:00Z"}]
    )
    older, newer, split_at = split_newest_percent(
        [runs, steps, events, samples], tmp_path / "out", 2.0
    )
    # 100 starts sorted; index int(100 * 0.98) = 98 is the second 00:49: both 00:49 runs are newer
    assert split_at == "2026-08-01T00:49:00Z"
    counts = {p.stem: sum(1 for _ in p.open()) for p in newer}
    assert counts == {
        "flow_runs.newer": 2,
        "step_runs.newer": 1,
        "business_events.newer": 1,
        "queue_depth_samples.newer": 0,
    }
    # a row without a time stays with the older part; lines are copied byte for byte
    assert (tmp_path / "out" / "step_runs.older.ndjson").read_text() == (
        '{"started_at": "2026-08-01T00:48:59Z"}\n{"started_at": null}\n'
    )
    assert sum(sum(1 for _ in p.open()) for p in older) == 98 + 2 + 0 + 1


def _run(events: int, ingest_s: float, full_s: float, incremental_s: float, p95: float) -> dict:
    return {
        "events": events,
        "command": f"python -m bench --events {events}",
        "started": "2026-11-28T09:00:00+00:00",
        "machine": {"cores": 2, "memory_gib": 23.5, "cpu": "cpu"},
        "load_before": [1.0, 1.0, 1.0],
        "load_after": [2.0, 2.0, 2.0],
        "seconds": 600,
        "ingest": [
            {"format": "ndjson", "rows": events, "ingest_s": ingest_s, "duckdb_s": 10.0, "ingest_rss": 2**30, "ratio": ingest_s / 10.0}
        ],
        "dbt": {
            "split_at": "x", "appended_rows": events // 100, "full_s": full_s, "full_dbt_s": None,
            "incremental_s": incremental_s, "incremental_dbt_s": None,
            "incremental_fraction": incremental_s / full_s,
        },
        "queries": [{"query": "data.query_x", "p50_ms": p95 / 2, "p95_ms": p95}],
    }  # fmt: skip


def test_report_marks_targets_and_shows_growth() -> None:
    text = render(
        [_run(1_000_000, 15.0, 60.0, 10.0, 150.0), _run(10_000_000, 300.0, 240.0, 60.0, 250.0)]
    )
    assert (
        "| ndjson | 1,000,000 | 15.0 s | 66,667 | 10.0 s | 100,000 | 1.50 | 1,024 MiB | met |"
        in text
    )
    assert (
        "| ndjson | 10,000,000 | 300.0 s | 33,333 | 10.0 s | 1,000,000 | 30.00 | 1,024 MiB | **missed** |"
        in text
    )
    assert "| 0.17 of full: met (< 0.20) |" in text
    assert "| 0.25 of full: **missed** (< 0.20) |" in text
    assert "| `data.query_x` | 125.0 ms | 250.0 ms | **missed** |" in text
    assert "| full build | 60.0 s | 240.0 s | ×4.0 |" in text
    assert "from 1,000,000 to 10,000,000 events (×10)" in text


def test_files_after_the_full_build_are_measured_and_reported(tmp_path: Path) -> None:
    (tmp_path / "warehouse.duckdb").write_bytes(b"w" * 3000)
    (tmp_path / "marts.duckdb").write_bytes(b"m" * 2000)
    (tmp_path / "published").mkdir()
    (tmp_path / "published" / "marts-1.duckdb").write_bytes(b"p" * 2000)
    (tmp_path / "landing" / "flow_runs").mkdir(parents=True)
    (tmp_path / "landing" / "flow_runs" / "a.parquet").write_bytes(b"l" * 700)
    (tmp_path / "landing" / "flow_runs" / "b.parquet").write_bytes(b"l" * 300)
    files = data_dir_bytes(tmp_path)
    assert files == {"warehouse": 3000, "marts": 2000, "published": 2000, "landing": 1000}

    run = _run(1_000_000, 15.0, 60.0, 10.0, 150.0)
    assert "On disk after the full build" not in render([run])  # results from before
    run["dbt"]["files_after_full_build"] = {name: size * 2**20 for name, size in files.items()}
    assert (
        "On disk after the full build: warehouse 2.93 GiB, marts 1.95 GiB, published 1.95 GiB, "
        "landing 0.98 GiB" in render([run])
    )


def test_build_breakdown_adds_up_what_the_build_and_dbt_recorded(tmp_path: Path) -> None:
    (tmp_path / "dbt" / "target").mkdir(parents=True)
    (tmp_path / "dbt" / "logs").mkdir()
    (tmp_path / "dbt" / "last_build.json").write_text(
        json.dumps({"seconds": 20.0, "steps": {"vars": 0.1, "dbt": 15.0, "publish": 4.0}})
    )
    results = [
        {"unique_id": "model.flowledger.fct_cases", "execution_time": 6.0},
        {"unique_id": "model.flowledger.fct_flow_runs", "execution_time": 4.0},
        {"unique_id": "test.flowledger.unique_fct_cases_case_key", "execution_time": 1.5},
        {"unique_id": "test.flowledger.not_null_fct_cases_case_key", "execution_time": 0.5},
    ]
    (tmp_path / "dbt" / "target" / "run_results.json").write_text(
        json.dumps({"elapsed_time": 9.0, "results": results})
    )
    (tmp_path / "dbt" / "logs" / "dbt.log").write_text(
        "Running with dbt=1.11\nUnable to do partial parsing because saved manifest not found. "
        "Starting full parse.\nRunning with dbt=1.11\nFound 58 models\n"
    )

    breakdown = build_breakdown(tmp_path, wall_s=20.6)

    assert breakdown["startup_s"] == 0.6
    assert breakdown["dbt_outside_nodes_s"] == 6.0
    assert (breakdown["model_thread_s"], breakdown["test_thread_s"]) == (10.0, 2.0)
    assert breakdown["slowest_tests"][0]["node"] == "test.flowledger.unique_fct_cases_case_key"
    assert breakdown["dbt_parse"] == "partial"  # the last run's, not the first's


def test_dbt_parse_kind_says_why_dbt_parsed_everything(tmp_path: Path) -> None:
    log = tmp_path / "dbt.log"
    log.write_text(
        "Running with dbt=1.11\nUnable to do partial parsing because profile has changed\n"
    )
    assert dbt_parse_kind(log) == "full: profile has changed"
    assert dbt_parse_kind(tmp_path / "missing.log") == "unknown"


def test_ingest_floor_runs_every_pipeline_and_leaves_nothing_behind(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "ingest"))
    from floor import PIPELINES, measure

    events = _ndjson(
        tmp_path / "business_events.ndjson",
        [
            # CloudEvents the contract pipelines check (an unknown record kind cannot be)
            {
                "specversion": "1.0",
                "id": "e1",
                "source": "/shop",
                "type": "order.placed",
                "time": "2026-08-01T10:00:00Z",
                "data": {"order_id": "O-1", "amount": 10.5},
            },
            {
                "specversion": "1.0",
                "id": "e2",
                "source": "/shop",
                "type": "order.placed",
                "time": "2026-08-01T11:00:00Z",
                "data": {"order_id": "O-2", "amount": None},
            },
        ],
    )
    work = tmp_path / "work"
    work.mkdir()
    results = [measure(work, [events], "ndjson", pipeline) for pipeline in PIPELINES]
    assert [r["pipeline"] for r in results] == list(PIPELINES)
    assert all(r["wall_s"] > 0 and r["cpu_s"] > 0 and r["rss"] > 0 for r in results)
    assert list(work.iterdir()) == []  # the DuckDB file and the landing Parquet are removed


def test_bench_without_pm4py_stops_before_running_and_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pm4py" else real_find_spec(name, *a),
    )
    with pytest.raises(SystemExit) as stopped:
        main(["--events", "1000", "--workdir", str(tmp_path / "work")])
    assert stopped.value.code == 2
    assert "make test-env" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()


def test_the_console_prints_every_figure_of_the_child_benchmarks(capsys) -> None:
    """The PM4Py ratios and the lineage trace latency were only in the results file."""
    from bench.__main__ import log_child_figures, source_commit

    log_child_figures(
        {"script": "bench/process_kpis/run.py", "exit": 0, "seconds": 85.0,
         "output": "noise\nratio PM4Py / flowledger build path = 0.24x\n  build path: identical: "
                   "cases\n"},
        ("ratio ", "  build path: "),
    )  # fmt: skip
    log_child_figures({"script": "bench/lineage/bench_trace.py", "skipped": "not present"}, ())
    printed = capsys.readouterr().out
    assert "ratio PM4Py / flowledger build path = 0.24x" in printed
    assert "build path: identical: cases" in printed and "noise" not in printed
    assert "bench/lineage/bench_trace.py: skipped (not present)" in printed
    assert source_commit().split("+")[0]  # a commit, so the figures say which code they measured
