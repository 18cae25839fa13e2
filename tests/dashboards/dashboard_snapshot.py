"""A small published marts snapshot with hand-made rows, built without dbt.

The rows are few enough that every number the dashboard shows can be worked out by hand; the
expected values are written next to the tests that check them. The mart tables have the columns
of the mart contracts that the dashboard reads; the snapshot is written by the real
:func:`flowledger.warehouse.publish` from a warehouse with a ``marts`` schema.

Timeline (all UTC): data as of 2026-10-29 12:00, so the default range is 2026-09-30..2026-10-29
and the previous period 2026-08-31..2026-09-29. The earliest data day is 2026-09-10.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from flowledger.settings import DataDir
from flowledger.warehouse import connect_warehouse, publish, writer_lock

META = {
    "built_at": "2026-10-29T12:05:00Z",
    "data_as_of": "2026-10-29T12:00:00Z",
    "flowledger_version": "0.1.0",
    "dbt_version": "1.11.0",
}
FIRST_DAY = date(2026, 9, 10)
LAST_DAY = date(2026, 10, 29)

MART_DDL = {
    "fct_cases": """
        case_key varchar, process_name varchar, case_id varchar, started_at timestamp,
        ended_at timestamp, cycle_time_seconds double, event_count bigint,
        distinct_steps bigint, is_complete boolean, has_rework boolean, repeated_steps bigint,
        last_event_at timestamp, last_step_name varchar, last_event_source varchar,
        variant varchar, cycle_measure varchar, has_field_correction boolean,
        has_gray_failure boolean, is_first_pass boolean, sla_started_at timestamp,
        sla_ended_at timestamp, sla_met boolean, sla_decided_at timestamp, idle_seconds double,
        is_stuck boolean""",
    "fct_case_events": """
        case_key varchar, process_name varchar, case_id varchar, event_sequence bigint,
        event_id varchar, event_source varchar, occurred_at timestamp, step_name varchar,
        next_step_name varchar, seconds_to_next_event double""",
    "fct_process_daily": """
        process_name varchar, day date, cases_started bigint, cases_completed bigint,
        cycle_time_mean_seconds double, cycle_time_median_seconds double,
        cycle_time_p95_seconds double, cases_with_rework bigint, rework_rate double""",
    "fct_flow_runs": """
        run_key varchar, source_system varchar, run_id varchar, run_attempt bigint,
        flow_id varchar, flow_name varchar, flow_version varchar, trigger varchar,
        status varchar, raw_status varchar, is_success boolean, is_failed boolean,
        queued_at timestamp, started_at timestamp, ended_at timestamp, duration_ms double,
        end_to_end_ms double, error_type varchar, error_message varchar,
        idempotency_key varchar, business_key varchar, step_attempts bigint,
        step_failures bigint, step_retries bigint, dead_letters bigint,
        is_duplicate_delivery boolean, is_idempotency_collision boolean""",
    "fct_case_flow_runs": """
        case_key varchar, process_name varchar, run_key varchar, linked_by varchar,
        flow_id varchar, flow_name varchar, flow_version varchar, status varchar,
        started_at timestamp, ended_at timestamp, is_gray_failure boolean, steps varchar,
        last_ingested_at timestamp""",
    "fct_gray_failures": """
        run_key varchar, case_key varchar, process_name varchar, flow_id varchar,
        flow_version varchar, run_ended_at timestamp, fix_event_id varchar, fix_kind varchar,
        fix_step_name varchar, fixed_at timestamp, seconds_to_fix double""",
    "fct_step_reliability_daily": """
        flow_id varchar, flow_name varchar, step_name varchar, day date, attempts bigint,
        failed_attempts bigint, attempt_failure_rate double, executions bigint,
        failed_executions bigint, failure_rate double, retries bigint, dead_letters bigint,
        dead_letter_rate double""",
    "fct_flow_health_hourly": """
        flow_id varchar, flow_name varchar, hour timestamp, runs bigint, failed_runs bigint,
        failure_rate double, latency_p50_ms double, latency_p95_ms double,
        step_retries bigint, dead_letters bigint, step_executions bigint,
        dead_letter_rate double, queue_depth_avg double, queue_depth_max bigint,
        duplicate_deliveries bigint, idempotency_collisions bigint""",
    "dim_flows": """
        flow_id varchar, flow_name varchar, source_system varchar,
        latest_flow_version varchar, first_run_at timestamp, last_run_at timestamp,
        runs bigint""",
    "fct_process_flows": "process_name varchar, flow_id varchar, runs bigint",
    # no rows: the provenance page then says no record writes are published
    "fct_record_field_writes": """
        entity varchar, record_key varchar, field_name varchar, write_sequence bigint,
        field_value varchar, event_source varchar, system_of_record varchar,
        occurred_at timestamp, is_current boolean, is_ownership_violation boolean""",
}

Q2C, C2F = "quote_to_cash", "cart_to_fulfillment"
CONTRACT_SYNC, ORDER_INTAKE = "q2c-contract-sync", "c2f-order-intake"
FLOW_NAMES = {CONTRACT_SYNC: "Quote to contract sync", ORDER_INTAKE: "Order intake"}
HOUR = 3600.0


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


DATA_AS_OF = datetime(2026, 10, 29, 12)


# (process, case_id, started_at, ended_at or None, has_rework)
# Cycle times in hours: Q0 6 (previous period), Q1 1, Q2 2, Q3 3, Q4 4, Q5 10, Q6 open;
# O3 24 (previous period), O1 48, O2 24.
CASES = [
    (Q2C, "Q0", "2026-09-10 00:00", "2026-09-10 06:00", True),
    (Q2C, "Q1", "2026-10-01 08:00", "2026-10-01 09:00", False),
    (Q2C, "Q2", "2026-10-02 08:00", "2026-10-02 10:00", True),
    (Q2C, "Q3", "2026-10-03 00:00", "2026-10-03 03:00", False),
    (Q2C, "Q4", "2026-10-03 08:00", "2026-10-03 12:00", False),
    (Q2C, "Q5", "2026-10-04 00:00", "2026-10-04 10:00", True),
    (Q2C, "Q6", "2026-10-28 00:00", None, False),
    (C2F, "O3", "2026-09-20 00:00", "2026-09-21 00:00", False),
    (C2F, "O1", "2026-10-05 00:00", "2026-10-07 00:00", False),
    (C2F, "O2", "2026-10-05 12:00", "2026-10-06 12:00", True),
]

# The process page's columns of each case: (path, field correction, gray failure, SLA met or
# None when undecided). The path's steps are its events, spread evenly from start to end (an
# open case has one event). First pass = no rework of any kind. Stuck: Q6 (idle 36 h).
QUOTE, QUOTE_AGAIN = "quote > approve > sign", "quote > approve > approve > sign"
ORDER, ORDER_AGAIN = "order > pick > ship", "order > pick > pick > ship"
CASE_DETAILS = {
    "Q0": (QUOTE, False, False, True),
    "Q1": (QUOTE, False, False, True),
    "Q2": (QUOTE_AGAIN, True, False, True),
    "Q3": (QUOTE, False, False, True),
    "Q4": (QUOTE, False, False, True),
    "Q5": (QUOTE_AGAIN, False, True, False),
    "Q6": ("quote", False, False, None),
    "O3": (ORDER, False, False, None),
    "O1": (ORDER, False, False, None),
    "O2": (ORDER_AGAIN, True, False, None),
}

# (process, day, started, completed, mean h, median h, p95 h, with rework, rework rate)
PROCESS_DAILY = [
    (Q2C, "2026-09-10", 1, 1, 6.0, 6.0, 6.0, 1, 1.0),
    (Q2C, "2026-10-01", 1, 1, 1.0, 1.0, 1.0, 0, 0.0),
    (Q2C, "2026-10-02", 1, 1, 2.0, 2.0, 2.0, 1, 1.0),
    (Q2C, "2026-10-03", 2, 2, 3.5, 3.5, 3.95, 0, 0.0),
    (Q2C, "2026-10-04", 1, 1, 10.0, 10.0, 10.0, 1, 1.0),
    (Q2C, "2026-10-28", 1, 0, None, None, None, 0, 0.0),
    (C2F, "2026-09-20", 1, 0, None, None, None, 0, 0.0),
    (C2F, "2026-09-21", 0, 1, 24.0, 24.0, 24.0, 0, None),
    (C2F, "2026-10-05", 2, 0, None, None, None, 1, 0.5),
    (C2F, "2026-10-06", 0, 1, 24.0, 24.0, 24.0, 0, None),
    (C2F, "2026-10-07", 0, 1, 48.0, 48.0, 48.0, 0, None),
]

# (flow, run_id, started_at, end_to_end_ms or None if still running, status, business_key,
#  step_failures, step_retries, dead_letters, duplicate delivery, idempotency collision)
RUNS = [
    (CONTRACT_SYNC, "r0", "2026-09-10 01:00", 8000, "success", "Q0", 0, 0, 0, False, False),
    (CONTRACT_SYNC, "r1", "2026-10-01 08:10", 1000, "success", "Q1", 0, 0, 0, False, False),
    (CONTRACT_SYNC, "r2", "2026-10-01 08:20", 2000, "failed", "Q2", 2, 1, 1, False, False),
    (CONTRACT_SYNC, "r3", "2026-10-02 09:00", 3000, "success", "Q2", 0, 0, 0, False, False),
    (CONTRACT_SYNC, "r4", "2026-10-02 09:30", 4000, "success", "Q3", 0, 0, 0, True, False),
    (CONTRACT_SYNC, "r5", "2026-10-03 10:00", 10000, "timed_out", "Q4", 3, 2, 0, False, False),
    (CONTRACT_SYNC, "r6", "2026-10-03 11:00", None, "running", "Q5", 0, 0, 0, False, False),
    (ORDER_INTAKE, "s1", "2026-10-05 01:00", 500, "success", "O1", 0, 0, 0, False, False),
    (ORDER_INTAKE, "s2", "2026-10-05 02:00", 1500, "failed", "O2", 3, 3, 2, False, True),
]

# (flow, hour, runs, failed, p50, p95, retries, dead letters, executions, queue avg, queue max,
#  duplicates, collisions)
HOURLY = [
    (CONTRACT_SYNC, "2026-09-10 01:00", 1, 0, 8000, 8000, 0, 0, 2, 1.0, 1, 0, 0),
    (CONTRACT_SYNC, "2026-10-01 08:00", 2, 1, 1500, 1950, 1, 1, 4, 3.0, 5, 0, 0),
    (CONTRACT_SYNC, "2026-10-02 09:00", 2, 0, 3500, 3950, 0, 0, 4, None, None, 1, 0),
    (CONTRACT_SYNC, "2026-10-03 10:00", 1, 1, 10000, 10000, 2, 0, 2, 8.5, 12, 0, 0),
    (CONTRACT_SYNC, "2026-10-03 11:00", 1, 0, None, None, 0, 0, 1, None, None, 0, 0),
    (CONTRACT_SYNC, "2026-10-04 00:00", 0, 0, None, None, 0, 0, 0, 2.0, 2, 0, 0),
    (ORDER_INTAKE, "2026-10-05 01:00", 1, 0, 500, 500, 0, 0, 3, 4.0, 6, 0, 0),
    (ORDER_INTAKE, "2026-10-05 02:00", 1, 1, 1500, 1500, 3, 2, 3, None, None, 0, 1),
]

# (flow, step, day, attempts, failed attempts, executions, failed executions, dead letters)
STEPS = [
    (CONTRACT_SYNC, "fetch quote", "2026-09-10", 1, 0, 1, 0, 0),
    (CONTRACT_SYNC, "post contract", "2026-09-10", 1, 0, 1, 0, 0),
    (CONTRACT_SYNC, "fetch quote", "2026-10-01", 2, 0, 2, 0, 0),
    (CONTRACT_SYNC, "post contract", "2026-10-01", 3, 2, 2, 1, 1),
    (CONTRACT_SYNC, "fetch quote", "2026-10-02", 2, 0, 2, 0, 0),
    (CONTRACT_SYNC, "post contract", "2026-10-02", 2, 0, 2, 0, 0),
    (CONTRACT_SYNC, "fetch quote", "2026-10-03", 1, 0, 1, 0, 0),
    (CONTRACT_SYNC, "post contract", "2026-10-03", 4, 3, 2, 1, 0),
    (ORDER_INTAKE, "validate order", "2026-10-05", 6, 3, 3, 1, 2),
]


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _sla_decided_at(start: datetime, end: datetime | None, sla_met: bool | None) -> datetime | None:
    """A met SLA decided at the case's end, a missed one at its deadline (8 h after the start
    here, before the end of the one late case, Q5), an open one not yet."""
    if sla_met is None:
        return None
    return end if sla_met else start + timedelta(hours=8)


def _case_rows() -> list[tuple]:
    rows = []
    for process, case_id, started, ended, rework in CASES:
        start, end = _ts(started), _ts(ended) if ended else None
        cycle = (end - start).total_seconds() if end else None
        path, correction, gray, sla_met = CASE_DETAILS[case_id]
        last = end or start
        rows.append(
            (
                f"{process}:{case_id}", process, case_id, start, end, cycle, 3, 3,
                end is not None, rework, 1 if rework else 0, last, "last step",
                "com.acme.test", path, "start_to_end_event", correction, gray,
                not (rework or correction or gray),
                # only quote_to_cash has an SLA: cart_to_fulfillment's cases have no SLA clock
                *((start, end) if process == Q2C else (None, None)), sla_met,
                _sla_decided_at(start, end, sla_met), (DATA_AS_OF - last).total_seconds(),
                case_id == "Q6",
            )
        )  # fmt: skip
    return rows


def _case_event_rows() -> list[tuple]:
    rows = []
    for process, case_id, started, ended, _ in CASES:
        steps = CASE_DETAILS[case_id][0].split(" > ")
        start = _ts(started)
        step_length = (_ts(ended) - start) / (len(steps) - 1) if ended else timedelta(0)
        for number, step in enumerate(steps, start=1):
            last = number == len(steps)
            rows.append(
                (f"{process}:{case_id}", process, case_id, number, f"{case_id}-e{number}",
                 "com.acme.test", start + (number - 1) * step_length, step,
                 None if last else steps[number],
                 None if last else step_length.total_seconds())
            )  # fmt: skip
    return rows


def _process_daily_rows() -> list[tuple]:
    def hours(value: float | None) -> float | None:
        return None if value is None else value * HOUR

    return [
        (process, date.fromisoformat(day), started, completed, hours(mean), hours(median),
         hours(p95), rework, rate)
        for process, day, started, completed, mean, median, p95, rework, rate in PROCESS_DAILY
    ]  # fmt: skip


def _run_rows() -> list[tuple]:
    rows = []
    for flow, run_id, started, e2e, status, key, failures, retries, dead, dup, coll in RUNS:
        start = _ts(started)
        ended = None if e2e is None else start + timedelta(milliseconds=e2e)
        rows.append(
            (
                f"test:{run_id}:1", "test", run_id, 1, flow, FLOW_NAMES[flow], "1", "schedule",
                status, status, status == "success", status in ("failed", "timed_out"),
                start, start, ended, e2e, e2e,
                "HTTPError" if status in ("failed", "timed_out") else None,
                f"{status} in a test run" if status in ("failed", "timed_out") else None,
                f"idem-{run_id}", key, 2 + retries, failures, retries, dead, dup, coll,
            )
        )  # fmt: skip
    return rows


def _case_flow_run_rows() -> list[tuple]:
    # every run worked on the case of its business key: contract sync on quote-to-cash cases,
    # order intake on order cases
    process_of = {CONTRACT_SYNC: Q2C, ORDER_INTAKE: C2F}
    rows = []
    for flow, run_id, started, e2e, status, case_id, *_ in RUNS:
        start = _ts(started)
        ended = None if e2e is None else start + timedelta(milliseconds=e2e)
        rows.append(
            (f"{process_of[flow]}:{case_id}", process_of[flow], f"test:{run_id}:1",
             "business_key", flow, FLOW_NAMES[flow], "1", status, start, ended, False, "[]",
             start)
        )  # fmt: skip
    return rows


def _hourly_rows() -> list[tuple]:
    return [
        (flow, FLOW_NAMES[flow], _ts(hour), runs, failed, _rate(failed, runs), p50, p95,
         retries, dead, executions, _rate(dead, executions), q_avg, q_max, dup, coll)
        for (flow, hour, runs, failed, p50, p95, retries, dead, executions, q_avg, q_max, dup,
             coll) in HOURLY
    ]  # fmt: skip


def _step_rows() -> list[tuple]:
    return [
        (flow, FLOW_NAMES[flow], step, date.fromisoformat(day), attempts, failed_attempts,
         _rate(failed_attempts, attempts), executions, failed_executions,
         _rate(failed_executions, executions), attempts - executions, dead,
         _rate(dead, executions))
        for (flow, step, day, attempts, failed_attempts, executions, failed_executions,
             dead) in STEPS
    ]  # fmt: skip


def _dim_flow_rows() -> list[tuple]:
    rows = []
    for flow, name in sorted(FLOW_NAMES.items()):
        starts = [_ts(run[2]) for run in RUNS if run[0] == flow]
        rows.append((flow, name, "test", "1", min(starts), max(starts), len(starts)))
    return rows


def _process_flow_rows() -> list[tuple]:
    # Runs keyed to a case id: contract sync ran for Q0..Q5 (Q2 twice), order intake for O1, O2.
    return [(C2F, ORDER_INTAKE, 2), (Q2C, CONTRACT_SYNC, 7)]


def _gray_failure_rows() -> list[tuple]:
    # Q5's gray failure: the contract sync run r5 reported success, the case was corrected 3 h on
    return [
        ("test:r5:1", f"{Q2C}:Q5", Q2C, CONTRACT_SYNC, "1", _ts("2026-10-04 02:00"), "fix-q5",
         "field_correction", "approve", _ts("2026-10-04 05:00"), 10800.0)
    ]  # fmt: skip


MART_ROWS = {
    "fct_gray_failures": _gray_failure_rows,
    "fct_case_flow_runs": _case_flow_run_rows,
    "fct_cases": _case_rows,
    "fct_case_events": _case_event_rows,
    "fct_process_daily": _process_daily_rows,
    "fct_flow_runs": _run_rows,
    "fct_step_reliability_daily": _step_rows,
    "fct_flow_health_hourly": _hourly_rows,
    "dim_flows": _dim_flow_rows,
    "fct_process_flows": _process_flow_rows,
    "fct_record_field_writes": list,
}


def build_published_snapshot(
    root: Path, meta: dict[str, str] | None = None, *, empty: bool = False
) -> Path:
    """Write the hand-made marts into ``root``'s warehouse and publish them; return the snapshot.

    ``empty``: the marts without rows, as a build before any ingest publishes them.
    """
    data_dir = DataDir(root).ensure()
    with writer_lock(data_dir):
        con = connect_warehouse(data_dir)
        try:
            for table, columns in MART_DDL.items():
                con.execute(f"create or replace table marts.{table} ({columns})")
                rows = [] if empty else MART_ROWS[table]()
                if not rows:
                    continue
                placeholders = ", ".join("?" for _ in rows[0])
                con.executemany(f"insert into marts.{table} values ({placeholders})", rows)
        finally:
            con.close()
        return publish(data_dir, meta or META)
