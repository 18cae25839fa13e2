"""`flowledger lineage trace` after a `flowledger build --select`: the manifest holds the compiled
SQL of the selected models only, and the trace crosses the others with the SQL an earlier sync
stored, saying so."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lineage_support import CLEAN_SQL, SUMMARY_SQL, SUMMARY_SQL_NEW, write_manifest

from flowledger.cli import main
from flowledger.settings import DataDir
from lineage.schemas import validation_errors
from lineage.service import COMPILED_SQL_FACET, load_graph, render_trace, resolve_column, trace
from lineage.store import LineageStore


def trace_cli(data_dir: DataDir, column: str, capsys, *flags: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir.root), "lineage", "trace", column, *flags])
    out, err = capsys.readouterr()
    return code, out, err


def test_trace_after_a_select_build_crosses_the_models_it_did_not_compile(
    tmp_path: Path, capsys, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = DataDir(tmp_path / "home").ensure()
    write_manifest(
        data_dir, generated_at="2026-12-01T10:00:00Z", clean_sql=CLEAN_SQL, summary_sql=SUMMARY_SQL
    )
    code, out, _ = trace_cli(data_dir, "orders_summary.total_cents", capsys, "--json")
    assert code == 0
    assert json.loads(out)["olderBuilds"] == []

    # `flowledger build --select orders_summary`: a new column, orders_clean not compiled
    write_manifest(
        data_dir, generated_at="2026-12-02T10:00:00Z", clean_sql=None, summary_sql=SUMMARY_SQL_NEW
    )
    code, out, err = trace_cli(data_dir, "orders_summary.orders", capsys, "--json")
    assert code == 0, err
    result = json.loads(out)
    # the new model's lineage, through orders_clean (parsed from the SQL stored before) down to
    # the source: count(*) reads no column, so the INDIRECT edges are none and it ends there
    assert result["leaves"] == []
    code, out, err = trace_cli(data_dir, "orders_summary.total_cents", capsys, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert {(leaf["dataset"], leaf["field"]) for leaf in result["leaves"]} == {
        ("w.shop.orders", "amount")
    }
    assert result["olderBuilds"] == [
        {
            "job": "flowledger:w.main.p.orders_clean",
            "manifestGeneratedAt": "2026-12-01T10:00:00Z",
        }
    ]
    assert (
        "lacks the compiled SQL of orders_clean: their lineage is parsed from the SQL an older "
        "build compiled" in caplog.text
    )
    code, out, _ = trace_cli(data_dir, "orders_summary.total_cents", capsys)
    assert code == 0
    assert (
        "note: the lineage of job flowledger:w.main.p.orders_clean is parsed from the SQL "
        "compiled by an older build (manifest of 2026-12-01T10:00:00Z)" in out
    )

    for event in LineageStore(data_dir).events():  # the custom job facet is a valid JobFacet
        assert validation_errors(event) == []

    # a second `--select` build keeps the older build's time; a full build ends the note
    write_manifest(
        data_dir, generated_at="2026-12-03T10:00:00Z", clean_sql=None, summary_sql=SUMMARY_SQL
    )
    graph = load_graph(data_dir)
    again = trace(graph, resolve_column(graph, "orders_summary.total_cents"))
    assert again.older_builds == {"flowledger:w.main.p.orders_clean": "2026-12-01T10:00:00Z"}
    write_manifest(
        data_dir, generated_at="2026-12-04T10:00:00Z", clean_sql=CLEAN_SQL, summary_sql=SUMMARY_SQL
    )
    graph = load_graph(data_dir)
    assert trace(graph, resolve_column(graph, "orders_summary.total_cents")).older_builds == {}


def test_a_select_build_before_any_full_one_still_says_what_to_do(tmp_path: Path, capsys) -> None:
    data_dir = DataDir(tmp_path / "home").ensure()
    write_manifest(
        data_dir, generated_at="2026-12-02T10:00:00Z", clean_sql=None, summary_sql=SUMMARY_SQL
    )
    code, _, err = trace_cli(data_dir, "orders_summary.total_cents", capsys)
    assert code == 1
    assert "model model.p.orders_clean has no compiled SQL" in err
    assert "run a full `flowledger build`" in err


def test_an_older_build_facet_without_its_time_still_traces(tmp_path: Path) -> None:
    # a flowledger_compiledSql facet that says olderBuild but no manifestGeneratedAt (another
    # producer's event): the trace names the job, the time is unknown, nothing raises
    data_dir = DataDir(tmp_path / "home").ensure()
    write_manifest(
        data_dir, generated_at="2026-12-01T10:00:00Z", clean_sql=CLEAN_SQL, summary_sql=SUMMARY_SQL
    )
    load_graph(data_dir)  # the full build's SQL synced
    write_manifest(
        data_dir, generated_at="2026-12-02T10:00:00Z", clean_sql=None, summary_sql=SUMMARY_SQL
    )
    graph = load_graph(data_dir)
    job = graph.jobs[("flowledger", "w.main.p.orders_clean")]
    assert job.facets[COMPILED_SQL_FACET].pop("manifestGeneratedAt") == "2026-12-01T10:00:00Z"
    result = trace(graph, resolve_column(graph, "orders_summary.total_cents"))
    assert result.older_builds == {"flowledger:w.main.p.orders_clean": None}
    assert result.to_dict()["olderBuilds"] == [
        {"job": "flowledger:w.main.p.orders_clean", "manifestGeneratedAt": None}
    ]
    assert (
        "note: the lineage of job flowledger:w.main.p.orders_clean is parsed from the SQL "
        "compiled by an older build (manifest time unknown)" in render_trace(result)
    )


def _now_between_syncs() -> str:
    """A time after the sync before and before the next (event times are the syncs' clocks)."""
    time.sleep(0.02)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.02)
    return now


def test_an_as_of_trace_shows_the_sql_and_older_builds_of_that_time(tmp_path: Path) -> None:
    clean_then = CLEAN_SQL
    clean_now = CLEAN_SQL.replace("amount * 100", "amount * 1000")
    clean = "flowledger:w.main.p.orders_clean"
    data_dir = DataDir(tmp_path / "home").ensure()
    write_manifest(
        data_dir, generated_at="2026-12-01T10:00:00Z", clean_sql=clean_then, summary_sql=SUMMARY_SQL
    )
    load_graph(data_dir)
    first_build = _now_between_syncs()
    write_manifest(
        data_dir, generated_at="2026-12-02T10:00:00Z", clean_sql=clean_now, summary_sql=SUMMARY_SQL
    )
    load_graph(data_dir)
    second_build = _now_between_syncs()
    # `flowledger build --select orders_summary`: orders_clean's SQL is the second build's
    write_manifest(
        data_dir, generated_at="2026-12-03T10:00:00Z", clean_sql=None, summary_sql=SUMMARY_SQL
    )
    graph = load_graph(data_dir)
    column = resolve_column(graph, "orders_summary.total_cents")

    then = trace(graph, column, as_of=first_build)
    assert then.sql[clean] == clean_then
    assert then.older_builds == {}
    assert trace(graph, column, as_of=second_build).sql[clean] == clean_now
    assert trace(graph, column, as_of=second_build).older_builds == {}
    now = trace(graph, column)
    assert now.sql[clean] == clean_now
    assert now.older_builds == {clean: "2026-12-02T10:00:00Z"}
    # as of a time after the --select build: the same as now
    later = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    assert trace(graph, column, as_of=later).older_builds == {clean: "2026-12-02T10:00:00Z"}
    assert "amount * 100 " in render_trace(then, show_sql=True)
    assert "amount * 1000 " in render_trace(now, show_sql=True)
