"""fct_cases and fct_process_daily over the known world (see conftest.py), numbers by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest

pytestmark = pytest.mark.slow

CASE_COLUMNS = (
    "case_id, started_at, ended_at, cycle_time_seconds, event_count, distinct_steps, "
    "is_complete, has_rework, repeated_steps"
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_quote_to_cash_cases_have_their_constructed_bounds_and_rework(known_build):
    rows = known_build.rows(
        f"select {CASE_COLUMNS} from marts.fct_cases "
        "where process_name = 'quote_to_cash' order by case_id"
    )
    assert rows == [
        ("Q1", at("2024-03-04 09:00"), at("2024-03-04 09:30"), 1800.0, 4, 4, True, False, 0),
        ("Q2", at("2024-03-04 10:00"), at("2024-03-04 12:00"), 7200.0, 6, 5, True, True, 1),
        ("Q3", at("2024-03-04 13:00"), None, None, 2, 2, False, False, 0),
        ("Q4", at("2024-03-04 14:00"), at("2024-03-04 15:00"), 3600.0, 4, 4, True, False, 0),
        ("Q5", at("2024-03-04 16:00"), at("2024-03-04 17:30"), 5400.0, 2, 2, True, False, 0),
        ("Q6", at("2024-03-04 23:30"), at("2024-03-05 00:30"), 3600.0, 2, 2, True, False, 0),
        # the 08:00 payment precedes the start: the case ends at the 09:00 one
        ("Q7", at("2024-03-05 08:30"), at("2024-03-05 09:00"), 1800.0, 3, 2, True, True, 1),
        ("Q8", at("2024-03-05 22:00"), at("2024-03-06 01:00"), 10800.0, 2, 2, True, False, 0),
    ]


def test_case_keys_join_process_and_case_id_and_are_unique(known_build):
    keys = [row[0] for row in known_build.rows("select case_key from marts.fct_cases order by 1")]
    assert keys == [
        "cart_to_fulfillment:O1",
        "quote_to_cash:Q1",
        "quote_to_cash:Q2",
        "quote_to_cash:Q3",
        "quote_to_cash:Q4",
        "quote_to_cash:Q5",
        "quote_to_cash:Q6",
        "quote_to_cash:Q7",
        "quote_to_cash:Q8",
        "ticket_escalation:42",
        "ticket_escalation:T1",
        "ticket_escalation:T2",
    ]


def test_a_case_without_start_event_starts_at_its_first_event(known_build):
    case = known_build.one("select * from marts.fct_cases where case_id = 'O1'")
    assert case["started_at"] == at("2024-03-04 11:50")
    assert case["ended_at"] == at("2024-03-04 18:30")
    assert case["cycle_time_seconds"] == 24000.0
    assert case["variant"] == "payment captured > order picked > order shipped > order delivered"
    assert (case["last_step_name"], case["last_event_source"]) == ("order delivered", "carrier")


def test_variants_follow_time_then_event_id(known_build):
    variants = dict(known_build.rows("select case_id, variant from marts.fct_cases"))
    assert variants["Q2"] == (
        "quote approved > contract signed > invoice issued > invoice corrected > "
        "invoice issued > payment captured"
    )
    assert variants["Q7"] == "payment captured > quote approved > payment captured"
    # t2-a (escalated) and t2-b (opened) share 10:00: event id 't2-a' sorts first
    assert variants["T2"] == "ticket escalated > ticket opened"
    assert variants["42"] == "ticket opened"


def test_last_event_tells_where_an_open_case_waits(known_build):
    rows = known_build.rows(
        "select case_id, last_event_at, last_step_name, last_event_source from marts.fct_cases "
        "where not is_complete order by case_id"
    )
    assert rows == [
        ("42", at("2024-03-04 11:00"), "ticket opened", "desk"),
        ("Q3", at("2024-03-04 13:20"), "contract signed", "clm"),
        # tie at 10:00 broken by event id: t2-b (opened) is the last event
        ("T2", at("2024-03-04 10:00"), "ticket opened", "desk"),
    ]


def test_events_outside_any_case_are_ignored(known_build):
    # x-1 has an unlisted type, x-2 lacks quote_id: Q1 keeps its own four events
    assert known_build.one("select event_count from marts.fct_cases where case_id = 'Q1'") == {
        "event_count": 4
    }
    assert known_build.rows("select count(*) from marts.fct_cases") == [(12,)]


def test_quote_to_cash_day_one_quantiles_throughput_and_rework(known_build):
    day = known_build.one(
        "select * from marts.fct_process_daily "
        "where process_name = 'quote_to_cash' and day = date '2024-03-04'"
    )
    assert (day["cases_started"], day["cases_completed"], day["cases_with_rework"]) == (6, 4, 1)
    # completed: 1800, 3600, 5400, 7200 s
    assert day["cycle_time_mean_seconds"] == 4500.0
    assert day["cycle_time_median_seconds"] == 4500.0
    # h = 0.95 * 3 = 2.85 → 5400 + 0.85 * 1800 = 6930
    assert day["cycle_time_p95_seconds"] == pytest.approx(6930.0, rel=1e-12)
    assert day["rework_rate"] == pytest.approx(1 / 6, rel=1e-12)


def test_quote_to_cash_later_days(known_build):
    rows = known_build.rows(
        "select day, cases_started, cases_completed, cycle_time_mean_seconds, "
        "cycle_time_median_seconds, cycle_time_p95_seconds, cases_with_rework, rework_rate "
        "from marts.fct_process_daily where process_name = 'quote_to_cash' and day > date '2024-03-04' "
        "order by day"
    )
    assert rows == [
        # Q6 (3600) and Q7 (1800) complete; p95 = 1800 + 0.95 * 1800 = 3510; Q7 of Q7, Q8 reworked
        (date(2024, 3, 5), 2, 2, 2700.0, 2700.0, 3510.0, 1, 0.5),
        # only Q8 completes; nothing starts, so the rework rate has no denominator
        (date(2024, 3, 6), 0, 1, 10800.0, 10800.0, 10800.0, 0, None),
    ]


def test_other_processes_daily(known_build):
    rows = known_build.rows(
        "select process_name, day, cases_started, cases_completed, cycle_time_median_seconds, "
        "cycle_time_p95_seconds, rework_rate from marts.fct_process_daily "
        "where process_name <> 'quote_to_cash' order by process_name"
    )
    assert rows == [
        ("cart_to_fulfillment", date(2024, 3, 4), 1, 1, 24000.0, 24000.0, 0.0),
        ("ticket_escalation", date(2024, 3, 4), 3, 1, 2700.0, 2700.0, 0.0),
    ]
