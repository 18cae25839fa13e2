"""The purge's SLO guard: each SLO protects the raw rows it is computed from, and an SLO file
that cannot be read stops the purge (it cannot tell what the SLOs need)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flowledger.retention import RetentionError, check_against_slos
from flowledger.settings import DataDir

SLOS = """apiVersion: openslo/v1
kind: SLO
metadata: {name: runs-week}
spec:
  service: f
  indicator: {kind: runSuccess}
  timeWindow: [{duration: 7d, isRolling: true}]
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: pair-3d}
spec:
  service: s
  indicator: {kind: eventPair, startEvent: start, endEvent: end, joinKey: order_id, deadline: 48h}
  timeWindow: [{duration: 3d, isRolling: true}]
  objectives: [{target: 0.95}]
"""


@pytest.fixture
def guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from ingest import ensure_raw_tables

    monkeypatch.delenv("FLOWLEDGER_SLOS", raising=False)
    (tmp_path / "slos.yml").write_text(SLOS)
    con = duckdb.connect()
    ensure_raw_tables(con)
    con.execute(
        "insert into raw.flow_runs (source_system, run_id, flow_id, status, started_at) "
        "values ('t', 'r', 'f', 'success', timestamp '2026-01-01')"
    )
    con.execute(
        "insert into raw.business_events (specversion, id, source, type, time, data) "
        "values ('1.0', 'e', '/s', 'start', timestamp '2026-01-01', '{}')"
    )
    yield DataDir(tmp_path), con
    con.close()


def test_each_slo_guards_its_own_tables(guarded) -> None:
    data_dir, con = guarded
    where = data_dir.root / "retention.yml"
    # the event pair needs 3 d + 48 h + the cut-off's day = 6 days of events; the run SLO 8 of
    # runs: 6 days of events were refused in the run SLO's name
    check_against_slos({"business_events": 6, "flow_runs": 8, "step_runs": 8}, data_dir, where, con)
    with pytest.raises(
        RetentionError, match=r"tables.business_events.days is 5, but SLO 'pair-3d'"
    ):
        check_against_slos({"business_events": 5}, data_dir, where, con)
    with pytest.raises(RetentionError, match=r"tables.flow_runs.days is 7, but SLO 'runs-week'"):
        check_against_slos({"business_events": 30, "flow_runs": 7}, data_dir, where, con)


def test_an_slo_file_that_cannot_be_read_stops_the_purge(guarded) -> None:
    data_dir, con = guarded
    (data_dir.root / "slos.yml").write_text("kind: [unclosed")
    with pytest.raises(RetentionError, match="the SLO file cannot be read"):
        check_against_slos({"flow_runs": 2}, data_dir, data_dir.root / "retention.yml", con)
