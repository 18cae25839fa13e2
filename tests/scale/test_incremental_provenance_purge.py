"""Record provenance and SLO events forget what ``flowledger purge`` deleted.

The demo world's older 90 % (test_incremental_cases.py's split) is ingested and built, then purged
down to its last 7 days (run logs and business events): writes of purged events vanish, the
writes left of those records are numbered again from 1, writes whose run was purged lose it, and
SLO run groups and event-pair cases lose their events. A copy of the data directory is taken
right after the purge. The original ingests the newer rows and builds incrementally; the copy
ingests them and builds with ``--full-refresh`` (every model computed from the retained raw rows).
Both must hold the same rows in the provenance and error-budget models (ingest-time columns
aside).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scale_support import flowledger, short_window_slos, split_newest_percent, table_rows

pytestmark = pytest.mark.slow

RETENTION = """version: 1
tables:
  flow_runs: {days: 7}
  step_runs: {days: 7}
  queue_depth_samples: {days: 7}
  business_events: {days: 7}
  quarantine: {days: 30}
"""
COMPARED = {
    "marts.fct_record_field_writes": "entity, record_key, field_name, event_id, event_source",
    "marts.fct_ownership_violations": "entity, record_key, field_name, event_id, written_by",
    "intermediate.int_slo_events": "slo_id, event_key",
    "marts.fct_error_budgets": "all",
}


def _all(home: Path) -> dict[str, list[tuple]]:
    return {relation: table_rows(home, relation, keys) for relation, keys in COMPARED.items()}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from flowledger.demo import generate

    work = tmp_path_factory.mktemp("provenance-purge")
    summary = generate(work / "demo", days=14, cases_per_day=12, file_format="ndjson")
    older, newer, _ = split_newest_percent(
        [Path(path) for path in summary.files.values()], work / "split", 10.0
    )
    incremental = work / "home-incremental"
    incremental.mkdir()
    short_window_slos(incremental)
    flowledger(incremental, "ingest", *map(str, older))
    flowledger(incremental, "build", "--quiet")
    before = _all(incremental)
    (incremental / "retention.yml").write_text(RETENTION)
    flowledger(incremental, "purge")

    refreshed = work / "home-refreshed"
    shutil.copytree(incremental, refreshed)
    for home, args in ((incremental, []), (refreshed, ["--full-refresh"])):
        flowledger(home, "ingest", *map(str, newer))
        flowledger(home, "build", "--quiet", *args)
    return {"before": before, "incremental": _all(incremental), "refreshed": _all(refreshed)}


def test_the_purge_changed_the_provenance_and_the_slo_events(builds) -> None:
    before, refreshed = builds["before"], builds["refreshed"]
    writes = "marts.fct_record_field_writes"
    # columns: entity, record_key, field_name, field_value, write_sequence, is_current, event_id,
    # event_source, ...
    kept_events = {row[6:8] for row in refreshed[writes]}
    assert {row[6:8] for row in before[writes]} - kept_events, "no write was purged"
    numbered_before = {row[6:8] + row[2:3]: row[4] for row in before[writes]}
    assert any(
        row[4] < numbered_before.get(row[6:8] + row[2:3], row[4]) for row in refreshed[writes]
    ), "no write was numbered again"
    slo_events = "intermediate.int_slo_events"
    assert {row[:2] for row in before[slo_events]} - {row[:2] for row in refreshed[slo_events]}


@pytest.mark.parametrize("relation", list(COMPARED))
def test_incremental_after_purge_equals_a_full_refresh(builds, relation) -> None:
    got, expected = builds["incremental"][relation], builds["refreshed"][relation]
    extra = sorted(set(got) - set(expected), key=repr)[:2]
    missing = sorted(set(expected) - set(got), key=repr)[:2]
    assert got == expected, (
        f"{len(got)} rows, expected {len(expected)}; unexpected e.g. {extra}; missing e.g. {missing}"
    )
