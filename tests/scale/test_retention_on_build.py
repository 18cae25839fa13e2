"""The builder's part of retention: ``enforce_on_build: true`` makes ``flowledger build`` purge
once it has published; false (the default) leaves the raw tables alone; a bad value stops the
build before anything runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from scale_support import (
    FLOW_RUNS,
    QUEUE_DEPTH_SAMPLES,
    STEP_RUNS,
    make_raw_warehouse,
    shifted,
    without_slos,
)

from dashboards.data import query_meta
from dashboards.ui import purged_runs_text
from flowledger.build import BuildFailed, build
from flowledger.retention import RetentionError, enforce_on_build
from flowledger.settings import DataDir

KEEP_3_DAYS = """version: 1
enforce_on_build: {enforce}
tables:
  flow_runs: {{days: 3}}
  step_runs: {{days: 3}}
  queue_depth_samples: {{days: 3}}
"""


def _data_dir(tmp_path: Path, enforce: str) -> DataDir:
    sources = {
        "flow_runs": FLOW_RUNS,
        "step_runs": STEP_RUNS,
        "queue_depth_samples": QUEUE_DEPTH_SAMPLES,
    }
    world = {
        t: [r for day in range(6) for r in shifted(rows, day, "2024-03-10 06:00:00")]
        for t, rows in sources.items()
    }
    make_raw_warehouse(tmp_path, world)
    (tmp_path / "retention.yml").write_text(KEEP_3_DAYS.format(enforce=enforce))
    without_slos(tmp_path)
    return DataDir(tmp_path)


def _counts(data_dir: DataDir) -> tuple[int, int, int]:
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        return tuple(
            con.execute(f"select count(*) from raw.{t}").fetchone()[0]
            for t in ("flow_runs", "step_runs", "queue_depth_samples")
        )
    finally:
        con.close()


def test_enforced_on_build_purges_the_hand_counted_rows(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path, "true")
    messages: list[str] = []
    plan = enforce_on_build(data_dir, messages.append)
    assert {item.table: item.rows for item in plan} == {
        "flow_runs": 35,
        "step_runs": 50,
        "queue_depth_samples": 20,
    }
    assert _counts(data_dir) == (19, 28, 10)
    assert any("purged 35 flow_runs rows before 2024-03-08 00:00:00" in m for m in messages)
    # printed before the build's "published …" line, it read as if that snapshot were purged
    assert messages[-1] == (
        "retention (retention.yml): purged after the snapshot was published, which still holds "
        "those rows; the next build publishes without them"
    )


def test_not_enforced_by_default(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path, "false")
    assert enforce_on_build(data_dir) is None
    assert _counts(data_dir) == (54, 78, 30)
    assert (
        "enforce_on_build: false"
        in (Path(__file__).parents[2] / "config" / "retention.yml").read_text()
    )


def test_a_bad_setting_stops_the_build_before_dbt(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path, "sometimes")
    with pytest.raises(
        RetentionError, match="enforce_on_build must be true or false, got 'sometimes'"
    ):
        enforce_on_build(data_dir)
    with pytest.raises(BuildFailed, match="nothing was built"):
        build(data_dir, echo=None)
    assert _counts(data_dir) == (54, 78, 30)


def test_a_quiet_build_still_reports_what_it_purged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flowledger.build import _enforce_retention  # the build's last step, without dbt

    _enforce_retention(_data_dir(tmp_path, "true"), None)  # echo=None: `build --quiet`
    assert "purged 35 flow_runs rows before 2024-03-08 00:00:00" in capsys.readouterr().err


def test_the_build_counts_what_its_purge_deletes(tmp_path: Path) -> None:
    """Purging before the build deleted the rows ingested since the last build before any
    aggregate counted them (a first build: every day but the last three was lost from the
    hourly and daily marts). The build purges once it has published: its marts count all 54
    runs, the raw tables keep three days."""
    from flowledger.warehouse import open_published

    data_dir = _data_dir(tmp_path, "true")
    messages: list[str] = []
    build(data_dir, echo=messages.append)
    assert _counts(data_dir) == (19, 28, 10)
    assert any("purged 35 flow_runs rows before 2024-03-08 00:00:00" in m for m in messages)
    with open_published(data_dir) as con:
        (runs,) = con.execute("select sum(runs) from fct_flow_health_hourly").fetchone()
    assert runs == 54
    with open_published(data_dir) as con:
        meta = query_meta(con)
    assert meta.runs_retained_from == ""  # published before its purge: it holds every run

    build(data_dir)
    with open_published(data_dir) as con:
        meta = query_meta(con)
        (latency_runs,) = con.execute("select count(*) from fct_flow_runs").fetchone()
    assert (meta.runs_retained_from, latency_runs) == ("2024-03-08T00:00:00Z", 19)
    # counts from the kept aggregates, latency from 19 runs: the pages say so for such days
    assert "before 2024-03-08 00:00 UTC were purged" in purged_runs_text(meta, date(2024, 3, 4))
    assert purged_runs_text(meta, date(2024, 3, 8)) is None


def test_a_horizon_that_purged_no_run_is_no_purge_for_the_pages() -> None:
    """A retention whose cut-off came before every run records a horizon with 0 rows: the pages
    said runs before it were purged."""
    from flowledger.build import runs_retained_from

    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw.retention_horizons "
        "(table_name varchar primary key, purged_before timestamp, purged_rows bigint)"
    )
    con.execute("insert into raw.retention_horizons values ('flow_runs', '2024-03-08', 0)")
    assert runs_retained_from(con) == ""
    con.execute("update raw.retention_horizons set purged_rows = 3")
    assert runs_retained_from(con) == "2024-03-08T00:00:00Z"
