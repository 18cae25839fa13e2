"""A hand-made data set whose KPIs are known by construction, through the real CLI and dbt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowledger.query import run_query
from flowledger.settings import DataDir

from .conftest import run_cli

pytestmark = pytest.mark.slow
DAY = "2026-08-03"


def _event(n: int, type_: str, at: str, **data: object) -> dict:
    return {
        "specversion": "1.0",
        "id": f"evt-{n}",
        "source": "/acme/test",
        "type": type_,
        "time": f"{DAY}T{at}Z",
        "data": data,
    }


APPROVED = "com.acme.crm.quote.approved"
SIGNED = "com.acme.clm.contract.signed"
INVOICED = "com.acme.erp.invoice.issued"
PAID = "com.acme.erp.payment.captured"

EVENTS = [
    # Q1: 09:00 → 12:00, 3 h
    _event(1, APPROVED, "09:00:00", quote_id="Q1"),
    _event(2, SIGNED, "10:00:00", quote_id="Q1"),
    _event(3, INVOICED, "11:00:00", quote_id="Q1"),
    _event(4, PAID, "12:00:00", quote_id="Q1"),
    # Q2: 08:00 → 14:00, 6 h, contract signed twice (rework)
    _event(5, APPROVED, "08:00:00", quote_id="Q2"),
    _event(6, SIGNED, "09:00:00", quote_id="Q2"),
    _event(7, SIGNED, "10:00:00", quote_id="Q2"),
    _event(8, INVOICED, "11:00:00", quote_id="Q2"),
    _event(9, PAID, "14:00:00", quote_id="Q2"),
    # Q3: 07:00 → 16:00, 9 h
    _event(10, APPROVED, "07:00:00", quote_id="Q3"),
    _event(11, PAID, "16:00:00", quote_id="Q3"),
    # Q4: not complete
    _event(12, APPROVED, "10:00:00", quote_id="Q4"),
    _event(13, SIGNED, "11:00:00", quote_id="Q4"),
]


def _run(run_id: str, status: str, queued: str, ended: str, key: str, digest: str) -> dict:
    return {
        "source_system": "n8n",
        "flow_id": "f1",
        "flow_name": "Flow one",
        "flow_version": "1.0.0",
        "run_id": run_id,
        "trigger": "webhook",
        "status": status,
        "queued_at": f"{DAY}T10:{queued}Z",
        "started_at": f"{DAY}T10:{queued[:-2]}{int(queued[-2:]) + 1:02d}Z",
        "ended_at": f"{DAY}T10:{ended}Z",
        "idempotency_key": key,
        "input_digest": digest,
        "business_key": "Q1",
    }


RUNS = [
    _run("r1", "success", "00:00", "00:03", "k1", "d1"),  # 3000 ms end to end
    _run("r2", "failed", "00:00", "00:10", "k2", "d2"),  # 10000 ms
    _run("r3", "success", "01:00", "01:02", "k1", "d1"),  # 2000 ms, duplicate delivery of r1
    _run("r4", "success", "02:00", "02:04", "k2", "d9"),  # 4000 ms, collision with r2
]


def _step(run_id: str, attempt: int, status: str, minute: str, dead: bool = False) -> dict:
    return {
        "source_system": "n8n",
        "run_id": run_id,
        "flow_id": "f1",
        "step_id": "s1",
        "step_name": "post to erp",
        "attempt": attempt,
        "status": status,
        "started_at": f"{DAY}T10:{minute}Z",
        "dead_lettered": dead,
    }


STEPS = [
    _step("r1", 1, "failed", "00:01"),
    _step("r1", 2, "success", "00:02"),
    _step("r2", 1, "failed", "00:01"),
    _step("r2", 2, "failed", "00:05", dead=True),
    _step("r3", 1, "success", "01:01"),
    _step("r4", 1, "success", "02:01"),
]

QUEUE = [
    {
        "source_system": "n8n",
        "queue_name": "q1",
        "flow_id": "f1",
        "sampled_at": f"{DAY}T10:{m}:00Z",
        "depth": d,
    }
    for m, d in (("00", 5), ("05", 15), ("10", 10))
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    root = tmp_path_factory.mktemp("constructed")
    data_dir = DataDir(root / "home").ensure()
    files = [
        _write(root / "events.ndjson", EVENTS),
        _write(root / "runs.ndjson", RUNS),
        _write(root / "steps.ndjson", STEPS),
        _write(root / "queue.ndjson", QUEUE),
    ]
    run_cli(data_dir, "ingest", *map(str, files))
    run_cli(data_dir, "build", "--quiet")
    return data_dir


def _one(data_dir: DataDir, sql: str) -> dict:
    records = run_query(data_dir, sql).records()
    assert len(records) == 1, records
    return records[0]


def test_cycle_times_per_case(built):
    rows = run_query(
        built,
        "select case_id, cycle_time_seconds, is_complete, has_rework from fct_cases order by case_id",
    ).rows
    assert rows == [
        ("Q1", 10800.0, True, False),
        ("Q2", 21600.0, True, True),
        ("Q3", 32400.0, True, False),
        ("Q4", None, False, False),
    ]


def test_daily_median_p95_throughput_and_rework(built):
    day = _one(
        built,
        f"select * from fct_process_daily where process_name = 'quote_to_cash' and day = '{DAY}'",
    )
    assert day["cases_started"] == 4
    assert day["cases_completed"] == 3
    assert day["cycle_time_mean_seconds"] == pytest.approx(21600.0)
    assert day["cycle_time_median_seconds"] == pytest.approx(21600.0)
    # continuous quantile: position 0.95 * (3 - 1) = 1.9 → 21600 + 0.9 * (32400 - 21600)
    assert day["cycle_time_p95_seconds"] == pytest.approx(31320.0)
    assert day["cases_with_rework"] == 1
    assert day["rework_rate"] == pytest.approx(0.25)


def test_run_flags(built):
    rows = run_query(
        built,
        "select run_id, is_failed, is_duplicate_delivery, is_idempotency_collision, step_retries, dead_letters "
        "from fct_flow_runs order by run_id",
    ).rows
    assert rows == [
        ("r1", False, False, False, 1, 0),
        ("r2", True, False, False, 1, 1),
        ("r3", False, True, False, 0, 0),
        ("r4", False, False, True, 0, 0),
    ]


def test_step_failure_retry_and_dead_letter_rates(built):
    step = _one(built, "select * from fct_step_reliability_daily where flow_id = 'f1'")
    assert (step["attempts"], step["failed_attempts"], step["executions"]) == (6, 3, 4)
    assert step["attempt_failure_rate"] == pytest.approx(0.5)
    assert (step["failed_executions"], step["retries"], step["dead_letters"]) == (1, 2, 1)
    assert step["failure_rate"] == pytest.approx(0.25)
    assert step["dead_letter_rate"] == pytest.approx(0.25)


def test_hourly_infrastructure_health(built):
    hour = _one(built, "select * from fct_flow_health_hourly where flow_id = 'f1'")
    assert (hour["runs"], hour["failed_runs"]) == (4, 1)
    assert hour["failure_rate"] == pytest.approx(0.25)
    # end-to-end latencies 2000, 3000, 4000, 10000 ms
    assert hour["latency_p50_ms"] == pytest.approx(3500.0)
    assert hour["latency_p95_ms"] == pytest.approx(9100.0)
    assert (hour["step_retries"], hour["dead_letters"], hour["step_executions"]) == (2, 1, 4)
    assert hour["dead_letter_rate"] == pytest.approx(0.25)
    assert hour["queue_depth_avg"] == pytest.approx(10.0)
    assert hour["queue_depth_max"] == 15
    assert (hour["duplicate_deliveries"], hour["idempotency_collisions"]) == (1, 1)


def test_data_as_of_is_the_newest_fact(built):
    meta = _one(built, "select data_as_of from _meta")
    assert meta["data_as_of"] == f"{DAY}T16:00:00Z"
