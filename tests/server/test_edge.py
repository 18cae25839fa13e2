"""The edge checks (Python, per record) agree with the file-ingest checks (one DuckDB query per
batch, ingest/validate.py) on the same tricky values: same verdict, same reasons."""

from __future__ import annotations

import json

import duckdb
import pytest

from ingest.contracts import RecordKind, load_contracts
from ingest.landing import _as_arrow
from ingest.readers import frame_from_records
from ingest.server.edge import EdgeChecker
from ingest.validate import REASON, validation_sql

BASE_RUN = {
    "source_system": "n8n",
    "flow_id": "f",
    "flow_name": "F",
    "run_id": "r",
    "status": "success",
    "started_at": "2025-01-01T00:00:00Z",
}
RUN_VARIANTS = [
    {},
    {"run_attempt": "2"},
    {"run_attempt": " 3 "},
    {"run_attempt": "1.0"},
    {"run_attempt": 1.5},
    {"run_attempt": 0},
    {"run_attempt": "9223372036854775808"},
    {"run_attempt": True},
    {"run_attempt": ""},
    {"status": "SUCCESS"},
    {"status": None},
    {"status": "   "},
    {"trigger": "manual"},
    {"trigger": "cron"},
    {"started_at": "2025-01-01 00:00:00"},
    {"started_at": "2025-01-01t00:00:00z"},
    {"started_at": "2025-01-01T00:00:00.123456789+02:00"},
    {"started_at": "2025-01-01T00:00:00+0530"},
    {"started_at": "2025-02-30T00:00:00Z"},
    {"started_at": "01/02/2025"},
    {"started_at": 1735689600},
    {"started_at": "9999-12-31T23:30:00-01:00"},
    {"started_at": "0001-01-01T00:10:00+01:00"},
    {"started_at": "9999-12-31T23:59:59.999999Z"},
    {"started_at": "0001-01-01T00:00:00Z"},
    {"started_at": "0000-06-01T00:00:00Z"},
    {"ended_at": "9999-12-31T23:59:59-05:00"},
    {"run_attempt": "9" * 400 + ".0"},
    {"run_attempt": "-00002.000"},
    {"started_at": "x" * 200},
    {"flow_id": 42},
    {"flow_id": {"nested": 1}},
    {"run_id": "'; DROP TABLE raw.flow_runs; --"},
    # a run that ends before it starts: no duration (its latency was -1 h on the dashboard)
    {"ended_at": "2024-12-31T23:00:00Z"},
    {"ended_at": "2024-12-31T23:00:00Z", "status": "bogus", "trigger": 5},
    {"started_at": "2025-01-01T02:30:00+02:00", "ended_at": "2025-01-01T00:30:00Z"},
    {"started_at": "2025-01-01T02:30:00+02:00", "ended_at": "2025-01-01T00:29:59.999Z"},
    {"ended_at": "2025-01-01T00:00:00Z"},
]
BASE_EVENT = {
    "specversion": "1.0",
    "id": "e",
    "source": "/s",
    "type": "com.acme.x",
    "time": "2025-01-01T00:00:00Z",
    "data": {"a": 1},
}
EVENT_VARIANTS = [
    {},
    {"type": "com acme"},
    {"type": "-leading"},
    {"data": "not an object"},
    {"data": '{"a": 1}'},
    {"data": [1, 2]},
    {"data": None},
    {"specversion": 1.0},
    {"specversion": "1.0 "},
    {"time": "2025-01-01T25:00:00Z"},
    {"time": "9999-12-31T23:30:00-01:00"},
    # cloudevents/conformance format/json/invalid-events.json, invalidTimeOffsetOutOfRange:
    # DuckDB read it as a 25-hour offset, the edge refused it
    {"time": "2018-04-05T18:31:00+25:00"},
    {"time": "2018-04-05T18:31:00+05:99"},
    {"time": "2018-04-05T18:31:00-2400"},
    {"time": "2018-04-05T18:31:00+23:59"},
]
SAMPLE_VARIANTS = [
    {},
    {"depth": "-1"},
    {"depth": "0"},
    {"oldest_message_age_s": "-0.5"},
    {"oldest_message_age_s": "nan"},
    {"oldest_message_age_s": "1_000"},
    {"oldest_message_age_s": " 2.5 "},
    {"oldest_message_age_s": "1e3"},
]
BASE_SAMPLE = {
    "source_system": "rabbitmq",
    "queue_name": "q",
    "sampled_at": "2025-01-01T00:00:00Z",
    "depth": 1,
}


def sql_reasons(kind: RecordKind, records: list[dict]) -> list[str | None]:
    contract = load_contracts()[kind]
    frame = frame_from_records(records, list(range(1, len(records) + 1)), contract.field_names)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("batch", _as_arrow(frame))
    rows = con.sql(validation_sql(contract, "batch")).pl().sort("_row_number")
    return rows[REASON].to_list()


@pytest.mark.parametrize(
    ("kind", "base", "variants"),
    [
        (RecordKind.FLOW_RUN, BASE_RUN, RUN_VARIANTS),
        (RecordKind.BUSINESS_EVENT, BASE_EVENT, EVENT_VARIANTS),
        (RecordKind.QUEUE_DEPTH_SAMPLE, BASE_SAMPLE, SAMPLE_VARIANTS),
    ],
)
def test_edge_and_sql_checks_agree(kind: RecordKind, base: dict, variants: list[dict]) -> None:
    records = [{**base, **variant} for variant in variants]
    expected = sql_reasons(kind, records)
    checker = EdgeChecker(load_contracts()[kind])
    got = [checker.check(record)[1] for record in records]
    assert got == expected
    # a sanity anchor computed by hand
    assert got[0] is None


def test_normalised_values() -> None:
    checker = EdgeChecker(load_contracts()[RecordKind.FLOW_RUN])
    record, reason = checker.check({**BASE_RUN, "started_at": "2025-01-01T02:30:00+02:00"})
    assert reason is None and record is not None
    assert record["started_at"] == "2025-01-01T00:30:00.000000Z"
    assert (record["run_attempt"], record["raw_status"]) == (1, "success")


def test_timestamps_out_of_range_in_utc_and_huge_integers_are_invalid_not_errors() -> None:
    checker = EdgeChecker(load_contracts()[RecordKind.FLOW_RUN])
    _, reason = checker.check({**BASE_RUN, "started_at": "9999-12-31T23:30:00-01:00"})
    assert reason == "started_at: '9999-12-31T23:30:00-01:00' is not an RFC 3339 timestamp"
    _, reason = checker.check({**BASE_RUN, "run_attempt": "9" * 400 + ".0"})
    assert reason is not None and reason.endswith("is not an integer")


def test_json_numbers_normalise_as_the_file_path_lands_them() -> None:
    """A number in a text field as polars reads it (plain decimal); a whole number inside an
    object field as an integer: the receiver spools what a file of the same records lands."""
    runs = EdgeChecker(load_contracts()[RecordKind.FLOW_RUN])
    record, reason = runs.check({**BASE_RUN, "flow_name": 1e-7, "run_id": 2.50})
    assert reason is None and record is not None
    assert (record["flow_name"], record["run_id"]) == ("0.0000001", "2.5")
    events = EdgeChecker(load_contracts()[RecordKind.BUSINESS_EVENT])
    record, reason = events.check({**BASE_EVENT, "data": {"amount": 129.0, "big": 1e20}})
    assert reason is None and record is not None
    (line,) = events.spool_lines([record], lambda: b"k")
    assert json.loads(line)["data"] == '{"amount":129,"big":100000000000000000000}'


def test_data_text_holding_nan_is_refused_as_the_file_path_refuses_it() -> None:
    events = EdgeChecker(load_contracts()[RecordKind.BUSINESS_EVENT])
    record, reason = events.check({**BASE_EVENT, "data": '{"a": {"b": [1, NaN]}}'})
    assert record is None
    assert reason == "data.a.b[1]: NaN is not valid JSON (JSON numbers are finite; write null)"
