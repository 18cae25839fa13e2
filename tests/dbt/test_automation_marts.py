"""fct_flow_runs, fct_step_reliability_daily, fct_flow_health_hourly and dim_flows over the known
world (see conftest.py), numbers by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest

pytestmark = pytest.mark.slow

INVOICE = "q2c-invoice-post"
ORDERS = "c2f-order-intake"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_flow_run_outcomes_durations_and_step_rollups(known_build):
    rows = known_build.rows(
        "select run_key, is_success, is_failed, duration_ms, end_to_end_ms, step_attempts, "
        "step_failures, step_retries, dead_letters, step_executions "
        "from marts.fct_flow_runs order by run_key"
    )
    assert rows == [
        ("mulesoft:r1:1", True, False, 10000.0, 20000.0, 3, 1, 1, 0, 2),
        ("mulesoft:r2:1", False, True, 30000.0, 30000.0, 4, 3, 2, 1, 2),
        ("mulesoft:r2:2", True, False, 40000.0, 50000.0, 2, 0, 0, 0, 2),
        ("mulesoft:r3:1", False, False, None, None, 0, 0, 0, 0, 0),
        ("mulesoft:r4:1", True, False, 5000.0, 5000.0, 0, 0, 0, 0, 0),
        ("mulesoft:r5:1", False, True, 1000.0, 1000.0, 0, 0, 0, 0, 0),
        ("mulesoft:r6:1", True, False, 2000.0, 4000.0, 0, 0, 0, 0, 0),
        ("n8n:b1:1", True, False, 3000.0, 3000.0, 1, 0, 0, 0, 1),
        ("n8n:b2:1", True, False, 120000.0, 120000.0, 2, 1, 1, 0, 1),
    ]


def test_duplicate_deliveries_and_idempotency_collisions(known_build):
    rows = known_build.rows(
        "select run_key from marts.fct_flow_runs where is_duplicate_delivery order by run_key"
    )
    # r2 repeats r1's k1/d1, in both of its attempts; r1's own retry would not count
    assert rows == [("mulesoft:r2:1",), ("mulesoft:r2:2",)]
    rows = known_build.rows(
        "select run_key from marts.fct_flow_runs where is_idempotency_collision order by run_key"
    )
    assert rows == [("mulesoft:r4:1",)]  # k2 first came with d2, r4 brings d3


def test_flow_run_keeps_source_words(known_build):
    run = known_build.one("select * from marts.fct_flow_runs where run_key = 'mulesoft:r5:1'")
    assert (run["status"], run["raw_status"], run["trigger"]) == (
        "timed_out",
        "TIMED_OUT",
        "webhook",
    )
    assert (run["flow_id"], run["flow_name"], run["flow_version"]) == (
        INVOICE,
        "Invoice posting",
        "v2",
    )
    assert run["run_attempt"] == 1


def test_step_reliability_per_flow_step_and_day(known_build):
    rows = known_build.rows(
        "select flow_id, flow_name, step_name, day, attempts, failed_attempts, executions, "
        "failed_executions, retries, dead_letters from marts.fct_step_reliability_daily "
        "order by flow_id, step_name, day"
    )
    renamed = "Invoice posting (renamed)"
    assert rows == [
        (ORDERS, "Order intake", "validate order", date(2024, 3, 4), 1, 0, 1, 0, 0, 0),
        # b2's failed first attempt and the ghost run's dead-lettered failure
        (ORDERS, "Order intake", "write order", date(2024, 3, 4), 2, 2, 2, 1, 0, 1),
        # b2's successful retry after midnight
        (ORDERS, "Order intake", "write order", date(2024, 3, 5), 1, 0, 1, 0, 0, 0),
        (INVOICE, renamed, "fetch quote", date(2024, 3, 4), 3, 0, 3, 0, 0, 0),
        (INVOICE, renamed, "post invoice", date(2024, 3, 4), 6, 4, 3, 1, 3, 1),
    ]


def test_step_reliability_rates(known_build):
    rates = {
        (row[0], row[1]): row[2:]
        for row in known_build.rows(
            "select step_name, day, attempt_failure_rate, failure_rate, dead_letter_rate "
            "from marts.fct_step_reliability_daily"
        )
    }
    assert rates[("post invoice", date(2024, 3, 4))] == pytest.approx((4 / 6, 1 / 3, 1 / 3))
    assert rates[("write order", date(2024, 3, 4))] == (1.0, 0.5, 0.5)
    assert rates[("write order", date(2024, 3, 5))] == (0.0, 0.0, 0.0)
    assert rates[("fetch quote", date(2024, 3, 4))] == (0.0, 0.0, 0.0)


def test_flow_health_busy_hour(known_build):
    hour = known_build.one(
        f"select * from marts.fct_flow_health_hourly where flow_id = '{INVOICE}' "
        "and hour = timestamp '2024-03-04 09:00:00'"
    )
    assert hour["flow_name"] == "Invoice posting (renamed)"
    assert (hour["runs"], hour["failed_runs"]) == (6, 2)
    assert hour["failure_rate"] == pytest.approx(1 / 3)
    # ended runs' end-to-end: 1000, 5000, 20000, 30000, 50000 ms (r3 still runs)
    assert hour["latency_p50_ms"] == 20000.0
    # h = 0.95 * 4 = 3.8 → 30000 + 0.8 * 20000
    assert hour["latency_p95_ms"] == pytest.approx(46000.0, rel=1e-12)
    assert (hour["step_retries"], hour["dead_letters"], hour["step_executions"]) == (3, 1, 6)
    assert hour["dead_letter_rate"] == pytest.approx(1 / 6)
    assert (hour["queue_depth_avg"], hour["queue_depth_max"]) == (7.0, 10)
    assert (hour["duplicate_deliveries"], hour["idempotency_collisions"]) == (2, 1)


def test_flow_health_quiet_hours_and_queue_only_flows(known_build):
    rows = known_build.rows(
        "select flow_id, flow_name, hour, runs, failed_runs, failure_rate, latency_p50_ms, "
        "latency_p95_ms, step_retries, dead_letters, step_executions, dead_letter_rate, "
        "queue_depth_avg, queue_depth_max, duplicate_deliveries, idempotency_collisions "
        "from marts.fct_flow_health_hourly "
        f"where not (flow_id = '{INVOICE}' and hour = timestamp '2024-03-04 09:00:00') "
        "order by flow_id, hour"
    )
    renamed = "Invoice posting (renamed)"
    assert rows == [
        (ORDERS, "Order intake", at("2024-03-04 12:00"), 1, 0, 0.0, 3000.0, 3000.0,
         0, 0, 1, 0.0, None, None, 0, 0),
        (ORDERS, "Order intake", at("2024-03-04 23:00"), 1, 0, 0.0, 120000.0, 120000.0,
         1, 0, 1, 0.0, None, None, 0, 0),
        # known only from a queue sample: named by its id, no runs, rates unknown
        ("c2f-payment-capture", "c2f-payment-capture", at("2024-03-04 12:00"), 0, 0, None,
         None, None, 0, 0, 0, None, 5.0, 5, 0, 0),
        (INVOICE, renamed, at("2024-03-04 10:00"), 1, 0, 0.0, 4000.0, 4000.0,
         0, 0, 0, None, None, None, 0, 0),
        (INVOICE, renamed, at("2024-03-04 11:00"), 0, 0, None, None, None,
         0, 0, 0, None, 3.0, 3, 0, 0),
    ]  # fmt: skip


def test_dim_flows_latest_name_version_and_span(known_build):
    rows = known_build.rows("select * from marts.dim_flows order by flow_id")
    assert rows == [
        (ORDERS, "Order intake", "n8n", "v1", at("2024-03-04 12:00"), at("2024-03-04 23:59"), 2),
        # r6 renamed the flow and reported no version: the latest version seen is r5's v2
        (INVOICE, "Invoice posting (renamed)", "mulesoft", "v2",
         at("2024-03-04 09:00:10"), at("2024-03-04 10:05"), 7),
    ]  # fmt: skip
