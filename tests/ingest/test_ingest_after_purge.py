"""After `flowledger purge`, ingest quarantines rows of the purged period (with the horizon in the
reason) instead of putting them back, while late rows of retained data still land.

The world: keeping 2 days from the as-of day 2026-08-07 puts the cut-off at 2026-08-06 00:00.
Run r-old (08-01) and event e-old go; run r-span started 08-05 23:50 but a step of it ran after
midnight, so it stays with both its steps; run r-new and event e-new stay.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from ingest_test_files import query, write_ndjson

from flowledger.retention import purge
from flowledger.settings import DataDir
from ingest import ingest_paths

RETAIN_2_DAYS = """version: 1
tables:
  business_events: {days: 2}
  flow_runs: {days: 2}
  step_runs: {days: 2}
  queue_depth_samples: {days: 2}
"""
CUTOFF = datetime(2026, 8, 6)


def _run(run_id: str, started_at: str, **fields: str) -> dict:
    return {
        "source_system": "n8n",
        "flow_id": "f-1",
        "flow_name": "Flow one",
        "run_id": run_id,
        "run_attempt": 1,
        "status": "success",
        "started_at": started_at,
        **fields,
    }


def _step(run_id: str, step_id: str, started_at: str, attempt: int = 1) -> dict:
    return {
        "source_system": "n8n",
        "run_id": run_id,
        "run_attempt": 1,
        "step_id": step_id,
        "attempt": attempt,
        "step_name": step_id,
        "status": "success",
        "started_at": started_at,
    }


def _event(event_id: str, time: str) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/shop",
        "type": "com.acme.order.placed",
        "time": time,
        "data": {"order_id": event_id},
    }


def _sample(sampled_at: str) -> dict:
    return {"source_system": "sqs", "queue_name": "q", "sampled_at": sampled_at, "depth": 3}


def _files(directory: Path, prefix: str, tables: dict[str, list[dict]]) -> list[Path]:
    directory.mkdir(exist_ok=True)
    return [
        write_ndjson(directory / f"{prefix}_{name}.ndjson", rows) for name, rows in tables.items()
    ]


@pytest.fixture
def purged(data_dir: DataDir, tmp_path: Path) -> tuple[DataDir, list[Path]]:
    originals = _files(
        tmp_path / "files",
        "original",
        {
            "runs": [
                _run("r-old", "2026-08-01T09:00:00Z"),
                _run("r-span", "2026-08-05T23:50:00Z"),
                _run("r-new", "2026-08-07T10:00:00Z", idempotency_key="K-1"),
            ],
            "steps": [
                _step("r-old", "s1", "2026-08-01T09:00:01Z"),
                _step("r-span", "s1", "2026-08-05T23:55:00Z"),
                _step("r-span", "s2", "2026-08-06T00:10:00Z"),
                _step("r-new", "s1", "2026-08-07T10:00:01Z"),
            ],
            "events": [
                _event("e-old", "2026-08-01T09:00:00Z"),
                _event("e-new", "2026-08-07T09:00:00Z"),
            ],
            "samples": [_sample("2026-08-01T09:00:00Z"), _sample("2026-08-07T09:00:00Z")],
        },
    )
    assert not ingest_paths(originals, data_dir).failed_files
    (data_dir.root / "slos.yml").write_text("# no SLOs: a retention of days is tested here\n")
    (data_dir.root / "retention.yml").write_text(RETAIN_2_DAYS)
    plan = {item.table: (item.cutoff, item.rows) for item in purge(data_dir)}
    assert plan == {
        "business_events": (CUTOFF, 1),
        "flow_runs": (CUTOFF, 1),
        "step_runs": (CUTOFF, 1),
        "queue_depth_samples": (CUTOFF, 1),
    }
    return data_dir, originals


def _counts(data_dir: DataDir) -> dict[str, int]:
    tables = ("business_events", "flow_runs", "step_runs", "queue_depth_samples", "quarantine")
    return {t: query(data_dir, f"select count(*) from raw.{t}")[0][0] for t in tables}


def test_re_ingesting_purged_files_quarantines_the_purged_rows_with_the_horizon(purged) -> None:
    data_dir, originals = purged
    before = _counts(data_dir)
    summary = ingest_paths(originals, data_dir)
    assert not summary.failed_files
    by_file = {r.path.name: (r.accepted, r.duplicates, r.quarantined) for r in summary.files}
    assert by_file == {
        "original_runs.ndjson": (0, 2, 1),
        "original_steps.ndjson": (0, 3, 1),
        "original_events.ndjson": (0, 1, 1),
        "original_samples.ndjson": (0, 1, 1),
    }
    after = _counts(data_dir)
    assert {t: after[t] - before[t] for t in after} == {
        "business_events": 0,
        "flow_runs": 0,
        "step_runs": 0,
        "queue_depth_samples": 0,
        "quarantine": 4,
    }
    reasons = dict(
        query(
            data_dir,
            "select record_kind, reason from raw.quarantine "
            "where reason like '%retention horizon%' order by record_kind",
        )
    )
    assert sorted(reasons) == ["business_event", "flow_run", "queue_depth_sample", "step_run"]
    assert reasons["flow_run"] == (
        "purged period: started_at 2026-08-01T09:00:00Z is before the retention horizon "
        "2026-08-06T00:00:00Z of raw.flow_runs (raw.retention_horizons): `flowledger purge` "
        "removed that period, and its marts keep what they were built from"
    )
    raw_records = query(
        data_dir, "select raw_record from raw.quarantine where record_kind = 'business_event'"
    )
    assert '"id": "e-old"' in raw_records[0][0]
    # `data` is the object the file held, not its JSON text in a string: the record as kept can
    # be sent again as it is
    assert isinstance(json.loads(raw_records[0][0])["data"], dict)


def test_a_purged_row_quarantined_once_is_a_duplicate_the_next_time(purged) -> None:
    """OpenLineage runs land again before every build: a purged one must not pile up."""
    data_dir, originals = purged
    ingest_paths(originals, data_dir)
    quarantined = _counts(data_dir)["quarantine"]
    again = {
        r.path.name: (r.accepted, r.duplicates, r.quarantined)
        for r in ingest_paths(originals, data_dir).files
    }
    assert again == {
        "original_runs.ndjson": (0, 3, 0),
        "original_steps.ndjson": (0, 4, 0),
        "original_events.ndjson": (0, 2, 0),
        "original_samples.ndjson": (0, 2, 0),
    }
    assert _counts(data_dir)["quarantine"] == quarantined


@pytest.mark.parametrize("batch_rows", [1, 1000])
def test_copies_of_a_purged_row_in_one_file_are_quarantined_once(
    purged, tmp_path: Path, batch_rows: int
) -> None:
    """As with any repeated row: the first copy is judged (here: quarantined), the others are
    duplicates, whether they share a batch with it or not."""
    data_dir, _ = purged
    gone = _event("e-gone", "2026-08-02T12:00:00Z")
    files = _files(
        tmp_path / "files",
        f"copies{batch_rows}",
        {"events": [gone, _event("e-kept", "2026-08-06T12:00:00Z"), gone, gone]},
    )
    before = _counts(data_dir)["quarantine"]
    [result] = ingest_paths(files, data_dir, batch_rows=batch_rows).files
    assert (result.accepted, result.duplicates, result.quarantined) == (1, 2, 1)
    assert _counts(data_dir)["quarantine"] == before + 1
    again = ingest_paths(files, data_dir, batch_rows=batch_rows).files[0]
    assert (again.accepted, again.duplicates, again.quarantined) == (0, 4, 0)


def test_late_rows_of_retained_data_still_land_after_a_purge(purged, tmp_path: Path) -> None:
    data_dir, _ = purged
    late = _files(
        tmp_path / "files",
        "late",
        {
            "runs": [
                # started before the cut-off, ended after it: a purge would keep it
                _run("r-spans", "2026-08-05T23:00:00Z", ended_at="2026-08-06T00:30:00Z"),
                # an earlier delivery of a kept idempotency key: a purge keeps the group whole
                _run("r-first-try", "2026-08-05T08:00:00Z", idempotency_key="K-1"),
                _run("r-gone", "2026-08-05T08:00:00Z"),  # a purged day: quarantined
            ],
            "steps": [
                # a retry, before the cut-off, of a step of the run the purge kept
                _step("r-span", "s1", "2026-08-05T23:58:00Z", attempt=2),
                # a new run's steps across the cut-off, in one file, before its run arrives
                _step("r-later", "s1", "2026-08-05T23:59:00Z"),
                _step("r-later", "s2", "2026-08-06T00:01:00Z"),
                _step("r-gone", "s1", "2026-08-05T08:00:01Z"),  # quarantined
            ],
            "events": [
                _event("e-late", "2026-08-06T12:00:00Z"),  # after the cut-off: lands
                _event("e-purged-day", "2026-08-02T12:00:00Z"),  # a purged day: quarantined
            ],
        },
    )
    summary = {r.path.name: (r.accepted, r.quarantined) for r in ingest_paths(late, data_dir).files}
    assert summary == {
        "late_runs.ndjson": (2, 1),
        "late_steps.ndjson": (3, 1),
        "late_events.ndjson": (1, 1),
    }
    assert query(data_dir, "select id from raw.business_events order by id") == [
        ("e-late",),
        ("e-new",),
    ]


def test_ingest_before_any_purge_takes_old_rows(data_dir: DataDir, tmp_path: Path) -> None:
    files = _files(tmp_path / "files", "old", {"events": [_event("e-1", "2020-01-01T00:00:00Z")]})
    assert [r.accepted for r in ingest_paths(files, data_dir).files] == [1]


def test_a_purged_key_sent_again_with_another_payload_is_a_collision(
    purged, tmp_path: Path
) -> None:
    """After the purge, e-old's (source, id) came back with a later time and other data, and
    r-old's run key with a later start: both were accepted as new rows (the stored row that
    made them collisions was gone), and a case then held one event id twice."""
    data_dir, _ = purged
    reused = _files(
        tmp_path / "files",
        "reused",
        {
            "events": [_event("e-old", "2026-08-07T12:00:00Z")],
            "runs": [_run("r-old", "2026-08-07T12:00:00Z")],
        },
    )
    summary = {
        r.path.name: (r.accepted, r.collisions, r.quarantined)
        for r in ingest_paths(reused, data_dir).files
    }
    assert summary == {"reused_events.ndjson": (0, 1, 0), "reused_runs.ndjson": (0, 1, 0)}
    assert query(data_dir, "select id from raw.business_events order by id") == [("e-new",)]
    assert query(data_dir, "select run_id from raw.flow_runs order by run_id") == [
        ("r-new",),
        ("r-span",),
    ]
    assert query(
        data_dir, "select record_kind, natural_key from raw.ingest_collisions order by 1"
    ) == [
        ("business_event", '{"source":"/shop","id":"e-old"}'),
        ("flow_run", '{"source_system":"n8n","run_id":"r-old","run_attempt":1}'),
    ]
    # sent again: the collision is known, so a duplicate
    again = {r.path.name: r.duplicates for r in ingest_paths(reused, data_dir).files}
    assert again == {"reused_events.ndjson": 1, "reused_runs.ndjson": 1}


def test_quarantine_rows_past_retention_go_without_a_newer_one(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """The quarantine counted back from its own newest row: while nothing new was quarantined,
    rows 200 days old stayed for good. It counts back from the wall clock now."""
    no_source = {k: v for k, v in _event("e-x", "2026-08-07T09:00:00Z").items() if k != "source"}
    broken = _files(tmp_path / "files", "broken", {"events": [no_source]})
    assert ingest_paths(broken, data_dir).files[0].quarantined == 1
    con = duckdb.connect(str(data_dir.warehouse))
    try:
        con.execute("update raw.quarantine set quarantined_at = quarantined_at - interval 200 day")
    finally:
        con.close()
    (data_dir.root / "slos.yml").write_text("# no SLOs: a retention of days is tested here\n")
    (data_dir.root / "retention.yml").write_text("version: 1\ntables:\n  quarantine: {days: 30}\n")
    assert {item.table: item.rows for item in purge(data_dir)} == {"quarantine": 1}
    assert query(data_dir, "select count(*) from raw.quarantine") == [(0,)]


def test_a_purged_step_sent_again_for_its_late_run_is_welcome(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """Steps without their run were purged; the run came late (it ended after the horizon, so
    a purge would keep it) and its steps were sent again: a step of a stored run is welcome, and
    the purged keys' ledger must not make the same payload a duplicate of what was purged."""
    first = _files(
        tmp_path / "files",
        "first",
        {
            "steps": [_step("r-late", "s1", "2026-08-01T09:00:01Z")],
            "events": [_event("e-new", "2026-08-07T09:00:00Z")],
        },
    )
    assert not ingest_paths(first, data_dir).failed_files
    (data_dir.root / "slos.yml").write_text("# no SLOs: a retention of days is tested here\n")
    (data_dir.root / "retention.yml").write_text(RETAIN_2_DAYS)
    assert {i.table: i.rows for i in purge(data_dir)}["step_runs"] == 1
    late_run = _files(
        tmp_path / "files",
        "late",
        {"runs": [_run("r-late", "2026-08-01T09:00:00Z", ended_at="2026-08-06T01:00:00Z")]},
    )
    assert ingest_paths(late_run, data_dir).files[0].accepted == 1
    again = ingest_paths([first[0]], data_dir).files[0]
    assert (again.accepted, again.duplicates, again.collisions) == (1, 0, 0)
