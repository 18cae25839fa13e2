"""The demo generator's pure building blocks, against numbers worked out by hand."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import polars as pl
import pytest

from flowledger.demo.clock import next_tick, next_working_time, rfc3339, to_ms, weekday
from flowledger.demo.generator import make_window
from flowledger.demo.records import QUEUE_DEPTH_SAMPLES
from flowledger.demo.simulation import incident_backlog_ms, lognormal
from flowledger.demo.truth import parallel_run_facts
from flowledger.demo.volume import expected_cases, growth_factor, poisson
from flowledger.demo.writers import ChunkedWriter


def ms(*parts: int) -> int:
    return to_ms(datetime(*parts, tzinfo=UTC))


def test_rfc3339_keeps_milliseconds_and_ends_in_z():
    assert rfc3339(ms(2026, 8, 1, 10, 0, 0) + 123) == "2026-08-01T10:00:00.123Z"
    assert rfc3339(ms(2026, 12, 31, 23, 59, 59)) == "2026-12-31T23:59:59.000Z"


def test_weekday_of_the_default_start_is_saturday():
    assert weekday(ms(2026, 8, 1)) == 5
    assert weekday(ms(2026, 8, 3, 23, 59)) == 0  # Monday


@pytest.mark.parametrize(
    ("arrives", "earliest"),
    [
        (ms(2026, 8, 1, 10), ms(2026, 8, 3, 8)),  # Saturday morning -> Monday 08:00
        (ms(2026, 8, 4, 7), ms(2026, 8, 4, 8)),  # Tuesday 07:00 -> Tuesday 08:00
        (ms(2026, 8, 7, 18, 30), ms(2026, 8, 10, 8)),  # Friday evening -> Monday 08:00
    ],
)
def test_work_arriving_outside_hours_starts_in_the_first_two_hours_of_the_next_day(
    arrives, earliest
):
    picked_up = next_working_time(arrives, random.Random(1))
    assert earliest <= picked_up < earliest + 2 * 3_600_000


def test_work_arriving_in_hours_starts_at_once():
    assert next_working_time(ms(2026, 8, 4, 12), random.Random(1)) == ms(2026, 8, 4, 12)
    # the warehouse works Saturdays from 06:00 to 22:00
    saturday = ms(2026, 8, 1, 21, 59)
    assert next_working_time(saturday, random.Random(1), 6, 22, 6) == saturday


def test_scheduled_flows_pick_up_work_on_the_next_tick():
    assert next_tick(ms(2026, 8, 4, 10, 7, 30), 900) == ms(2026, 8, 4, 10, 15)
    assert next_tick(ms(2026, 8, 4, 10, 15), 900) == ms(2026, 8, 4, 10, 30)


def test_incident_backlog_grows_then_drains_in_as_long_again():
    # outage from 0 to 1000 ms, the wait grows 0.7 ms per ms
    assert [incident_backlog_ms(t, 0, 1000, 0.7) for t in (-5, 500, 1000, 1500, 2000, 3000)] == [
        0,
        350,
        700,
        350,
        0,
        0,
    ]


def test_growth_is_thirty_percent_and_averages_one():
    assert growth_factor(0, 90) == pytest.approx(1 / 1.15)
    assert growth_factor(89, 90) == pytest.approx(1.3 / 1.15)
    assert sum(growth_factor(d, 90) for d in range(90)) / 90 == pytest.approx(1.0)


def test_default_volume_is_about_twenty_thousand_cases():
    # 250 cases/day x (0.18 + 0.72 + 0.05) x 90 days; order-related tickets come on top
    assert expected_cases(250, 90) == pytest.approx(21_375)


def test_poisson_and_lognormal_draws():
    rng = random.Random(3)
    assert poisson(rng, 0) == 0
    draws = [poisson(rng, 4.0) for _ in range(20_000)]
    assert sum(draws) / len(draws) == pytest.approx(4.0, rel=0.03)
    waits = [lognormal(rng, 3_600, 0.9) for _ in range(20_000)]
    assert median(waits) == pytest.approx(3_600, rel=0.05)


def test_window_places_incident_on_day_60_and_cutover_on_day_45():
    window = make_window(ms(2026, 8, 1), 90)
    assert rfc3339(window.incident_start_ms) == "2026-09-30T10:00:00.000Z"
    assert rfc3339(window.incident_end_ms) == "2026-09-30T14:30:00.000Z"
    assert rfc3339(window.cutover_ms) == "2026-09-15T09:00:00.000Z"
    assert rfc3339(window.end_ms) == "2026-10-30T00:00:00.000Z"


def test_writer_chunks_and_holds_redeliveries_until_the_end_of_the_chunk(tmp_path: Path):
    def sample(queue: str) -> tuple:
        return ("rabbitmq", queue, ms(2026, 8, 1), 1, "c2f-warehouse-dispatch", 0.5)

    writer = ChunkedWriter(tmp_path / "q.ndjson", QUEUE_DEPTH_SAMPLES, "ndjson", chunk_rows=2)
    writer.add(sample("a"))
    writer.add_later(sample("b"))
    writer.add(sample("c"))  # the chunk is full: a, c, then the held-back b
    writer.add(sample("d"))
    writer.close()
    lines = (tmp_path / "q.ndjson").read_text().splitlines()
    assert [json.loads(line)["queue_name"] for line in lines] == ["a", "c", "b", "d"]
    assert writer.rows_written == 4
    assert json.loads(lines[0]) == {
        "source_system": "rabbitmq",
        "queue_name": "a",
        "sampled_at": "2026-08-01T00:00:00.000Z",
        "depth": 1,
        "flow_id": "c2f-warehouse-dispatch",
        "oldest_message_age_s": 0.5,
    }


def test_parquet_writer_without_rows_still_writes_the_schema(tmp_path: Path):
    writer = ChunkedWriter(tmp_path / "q.parquet", QUEUE_DEPTH_SAMPLES, "parquet")
    writer.close()
    frame = pl.read_parquet(tmp_path / "q.parquet")
    assert frame.height == 0
    assert frame.columns == list(QUEUE_DEPTH_SAMPLES.fields)
    assert frame.schema["sampled_at"] == pl.Datetime("ms", "UTC")


def test_parallel_run_facts_compare_the_latest_outputs_per_side():
    runs = [
        # K1: live retried (the failed first attempt has no outputs); shadow a cent off
        ("K1", "1", "live", 10, "s:a:1", None),
        ("K1", "1", "live", 20, "s:a:2", '{"amount":5.0,"currency":"EUR"}'),
        ("K1", "2", "shadow", 10, "s:b:1", '{"amount":5.01,"currency":"EUR"}'),
        # K2: the same outputs; a later duplicate delivery without outputs changes nothing
        ("K2", "1", "live", 30, "s:c:1", '{"amount":7,"currency":"USD"}'),
        ("K2", "1", "live", 40, "s:d:1", None),
        ("K2", "2", "shadow", 30, "s:e:1", '{"amount":7,"currency":"USD"}'),
        # K3: the shadow run failed: both fields differ
        ("K3", "1", "live", 50, "s:f:1", '{"amount":1,"currency":"EUR"}'),
        ("K3", "2", "shadow", 50, "s:g:1", None),
        # K4: no shadow run, not compared
        ("K4", "1", "live", 60, "s:h:1", '{"amount":1}'),
    ]
    facts = parallel_run_facts(runs, {"K1", "K2", "K3"})
    assert facts == {
        "1->2": {
            "keys_compared": 3,
            "keys_mismatched": 2,
            "mismatch_rate": 0.6667,
            "differing_fields": {"amount": 2, "currency": 1},
        }
    }
