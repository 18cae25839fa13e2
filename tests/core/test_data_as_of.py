""" "Data as of" (the newest event or run time of the marts) ignores times from the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from flowledger.build import feeds_as_of, marts_data_as_of


def marts_with(
    case_times: list[str], run_times: list[tuple[str, str | None]]
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("attach ':memory:' as marts")
    con.execute("create table marts.fct_cases (last_event_at timestamp)")
    con.execute("create table marts.fct_flow_runs (started_at timestamp, ended_at timestamp)")
    for time in case_times:
        con.execute("insert into marts.fct_cases values (?)", [time])
    for started, ended in run_times:
        con.execute("insert into marts.fct_flow_runs values (?, ?)", [started, ended])
    return con


def test_the_newest_time_of_cases_and_runs() -> None:
    con = marts_with(["2026-12-01 10:00:00"], [("2026-12-02 08:00:00", "2026-12-02 09:00:00")])
    assert marts_data_as_of(con) == "2026-12-02T09:00:00Z"
    assert marts_data_as_of(marts_with([], [])) is None


def test_a_time_from_the_future_does_not_set_it() -> None:
    # an OTLP span ending at the largest uint64 nanosecond lands in 2554: "data as of" stayed
    # there, and every dashboard's default date range ended in 2554 (empty charts)
    tomorrow = (datetime.now(UTC) + timedelta(hours=20)).replace(tzinfo=None, microsecond=0)
    con = marts_with(
        ["2026-12-01 10:00:00", "2554-07-21 23:34:33"],
        [("2026-11-30 08:00:00", "2999-01-01 00:00:00"), (tomorrow.isoformat(), None)],
    )
    # clocks drift: a time within a day ahead still counts
    assert marts_data_as_of(con) == tomorrow.isoformat() + "Z"


def test_each_feed_has_its_own_newest_time() -> None:
    con = marts_with(
        ["2026-12-05 10:00:00", "2554-07-21 23:34:33"],
        [("2026-12-01 08:00:00", "2026-12-01 09:00:00")],
    )
    assert feeds_as_of(con) == {
        "runs_as_of": "2026-12-01T09:00:00Z",
        "events_as_of": "2026-12-05T10:00:00Z",
    }
    # a build of selected models may leave a mart out: its feed is unknown, not an error
    con.execute("drop table marts.fct_flow_runs")
    assert feeds_as_of(con) == {"runs_as_of": "", "events_as_of": "2026-12-05T10:00:00Z"}
