"""Each contract check, run through the real DuckDB query on one-row batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import polars as pl
import pytest

from ingest.contracts import RecordKind, load_contracts
from ingest.validate import validation_sql

GOOD_RUN = {
    "source_system": "n8n",
    "flow_id": "f",
    "flow_name": "Flow",
    "run_id": "r-1",
    "status": "success",
    "started_at": "2026-08-01T09:00:00Z",
}
GOOD_STEP = {
    "source_system": "n8n",
    "run_id": "r-1",
    "step_id": "s-1",
    "step_name": "post",
    "status": "failed",
    "started_at": "2026-08-01T09:00:00Z",
}
GOOD_EVENT = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "/shop",
    "type": "com.acme.order.placed",
    "time": "2026-08-01T09:00:00Z",
    "data": '{"order_id": "O-1"}',
}
GOOD_SAMPLE = {
    "source_system": "sqs",
    "queue_name": "orders",
    "sampled_at": "2026-08-01T09:00:00Z",
    "depth": "3",
}


def check(kind: RecordKind, record: dict[str, Any]) -> dict[str, Any]:
    """The typed row, ``_reason`` and ``_payload_hash`` the contract query gives one record."""
    contract = load_contracts()[kind]
    frame = pl.DataFrame(
        {name: pl.Series([record.get(name)], dtype=pl.String) for name in contract.field_names}
    ).with_columns(pl.lit(1, pl.Int64).alias("_row_number"))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("batch", frame)
    return con.sql(validation_sql(contract, "batch")).pl().row(0, named=True)


def reason(kind: RecordKind, good: dict[str, Any], **changes: Any) -> str | None:
    return check(kind, {**good, **changes})["_reason"]


def test_a_good_row_has_no_reason_and_gets_its_defaults() -> None:
    row = check(RecordKind.FLOW_RUN, GOOD_RUN)
    assert row["_reason"] is None
    assert row["run_attempt"] == 1
    assert row["raw_status"] == "success"
    assert row["started_at"] == datetime(2026, 8, 1, 9, 0)
    assert len(row["_payload_hash"]) == 64
    step = check(RecordKind.STEP_RUN, GOOD_STEP)
    assert (step["attempt"], step["dead_lettered"]) == (1, False)


def test_missing_required_fields() -> None:
    assert reason(RecordKind.FLOW_RUN, GOOD_RUN, started_at=None) == (
        "started_at: missing (required)"
    )
    assert reason(RecordKind.FLOW_RUN, GOOD_RUN, flow_id="  ") == "flow_id: missing (required)"


def test_value_outside_the_closed_set() -> None:
    assert reason(RecordKind.FLOW_RUN, GOOD_RUN, status="exploded") == (
        "status: 'exploded' is not one of queued, running, success, failed, cancelled, "
        "timed_out, skipped, waiting, unknown"
    )
    assert reason(RecordKind.BUSINESS_EVENT, GOOD_EVENT, specversion="0.3") == (
        "specversion: '0.3' is not one of 1.0"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-08-01T11:00:00+02:00", datetime(2026, 8, 1, 9, 0)),
        ("2026-08-01T04:00:00.5-0500", datetime(2026, 8, 1, 9, 0, 0, 500000)),
        ("2026-08-01t09:00:00z", datetime(2026, 8, 1, 9, 0)),
        ("2026-08-01 09:00:00", datetime(2026, 8, 1, 9, 0)),
    ],
)
def test_timestamps_become_utc(value: str, expected: datetime) -> None:
    row = check(RecordKind.BUSINESS_EVENT, {**GOOD_EVENT, "time": value})
    assert (row["_reason"], row["time"]) == (None, expected)


@pytest.mark.parametrize("value", ["yesterday", "2026-08-01", "2026-13-01T00:00:00Z", "1754038800"])
def test_not_a_timestamp(value: str) -> None:
    assert reason(RecordKind.BUSINESS_EVENT, GOOD_EVENT, time=value) == (
        f"time: '{value}' is not an RFC 3339 timestamp"
    )


def test_integers_booleans_numbers() -> None:
    assert reason(RecordKind.FLOW_RUN, GOOD_RUN, run_attempt="two") == (
        "run_attempt: 'two' is not an integer"
    )
    assert reason(RecordKind.FLOW_RUN, GOOD_RUN, run_attempt="2.5") == (
        "run_attempt: '2.5' is not an integer"
    )
    assert check(RecordKind.FLOW_RUN, {**GOOD_RUN, "run_attempt": "3.0"})["run_attempt"] == 3
    assert reason(RecordKind.STEP_RUN, GOOD_STEP, dead_lettered="maybe") == (
        "dead_lettered: 'maybe' is not a boolean (true or false)"
    )
    assert check(RecordKind.STEP_RUN, {**GOOD_STEP, "dead_lettered": "TRUE"})["dead_lettered"]
    assert reason(RecordKind.QUEUE_DEPTH_SAMPLE, GOOD_SAMPLE, oldest_message_age_s="nan") == (
        "oldest_message_age_s: 'nan' is not a number"
    )


def test_minimum() -> None:
    assert reason(RecordKind.FLOW_RUN, GOOD_RUN, run_attempt="0") == (
        "run_attempt: 0 is below the minimum 1"
    )
    assert reason(RecordKind.QUEUE_DEPTH_SAMPLE, GOOD_SAMPLE, oldest_message_age_s="-0.5") == (
        "oldest_message_age_s: -0.5 is below the minimum 0"
    )


def test_pattern_and_json_object() -> None:
    assert reason(RecordKind.BUSINESS_EVENT, GOOD_EVENT, type="order placed!") == (
        "type: 'order placed!' does not match the pattern ^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )
    assert reason(RecordKind.BUSINESS_EVENT, GOOD_EVENT, data="[1, 2]") == (
        "data: '[1, 2]' is not a JSON object"
    )


def test_several_problems_are_joined_in_contract_order() -> None:
    assert reason(
        RecordKind.FLOW_RUN, GOOD_RUN, run_attempt="0", status="exploded", started_at="yesterday"
    ) == (
        "run_attempt: 0 is below the minimum 1; status: 'exploded' is not one of queued, "
        "running, success, failed, cancelled, timed_out, skipped, waiting, unknown; "
        "started_at: 'yesterday' is not an RFC 3339 timestamp"
    )


def test_long_values_are_cut_in_the_reason() -> None:
    assert reason(RecordKind.FLOW_RUN, GOOD_RUN, status="x" * 100) == (
        "status: '" + "x" * 80 + "…' is not one of queued, running, success, failed, "
        "cancelled, timed_out, skipped, waiting, unknown"
    )


def test_the_hash_ignores_json_spacing_and_timestamp_spelling() -> None:
    compact = check(RecordKind.BUSINESS_EVENT, {**GOOD_EVENT, "data": '{"order_id":"O-1"}'})
    offset = check(RecordKind.BUSINESS_EVENT, {**GOOD_EVENT, "time": "2026-08-01T10:00:00+01:00"})
    plain = check(RecordKind.BUSINESS_EVENT, GOOD_EVENT)
    assert compact["_payload_hash"] == offset["_payload_hash"] == plain["_payload_hash"]
    other = check(RecordKind.BUSINESS_EVENT, {**GOOD_EVENT, "data": '{"order_id": "O-2"}'})
    assert other["_payload_hash"] != plain["_payload_hash"]


def test_surrounding_whitespace_is_tolerated_and_blank_is_missing() -> None:
    row = check(
        RecordKind.FLOW_RUN,
        {**GOOD_RUN, "run_attempt": " 2 ", "started_at": " 2026-08-01T09:00:00Z ", "tenant": " "},
    )
    assert (row["_reason"], row["run_attempt"], row["tenant"]) == (None, 2, None)
    assert row["started_at"] == datetime(2026, 8, 1, 9, 0)
    assert reason(RecordKind.FLOW_RUN, GOOD_RUN, run_id="\t ") == "run_id: missing (required)"


def test_file_ingest_hashes_the_canonical_json_exactly_as_duckdb_sha256_does() -> None:
    """File ingest hashes ``_canonical`` with polars-hash; DuckDB's sha256 and hashlib agree."""
    import hashlib

    from ingest.validate import payload_hash

    cases = {
        RecordKind.BUSINESS_EVENT: [
            GOOD_EVENT,
            {**GOOD_EVENT, "id": "e-2", "data": '{"city": "Zürich ✓", "path": "C:\\\\tmp"}'},
        ],
        RecordKind.FLOW_RUN: [GOOD_RUN, {**GOOD_RUN, "run_id": "r-2", "execution_mode": "shadow"}],
    }
    for kind, records in cases.items():
        contract = load_contracts()[kind]
        frame = pl.DataFrame(
            {
                name: pl.Series([r.get(name) for r in records], dtype=pl.String)
                for name in contract.field_names
            }
        ).with_columns(pl.int_range(1, len(records) + 1, dtype=pl.Int64).alias("_row_number"))
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.register("batch", frame)
        in_sql = con.sql(validation_sql(contract, "batch")).pl().sort("_row_number")
        text = (
            con.sql(validation_sql(contract, "batch", hash_in_sql=False)).pl().sort("_row_number")
        )
        hashed = text.with_columns(payload_hash())
        assert hashed["_payload_hash"].to_list() == in_sql["_payload_hash"].to_list()
        assert hashed["_payload_hash"].to_list() == [
            hashlib.sha256(canonical.encode()).hexdigest() for canonical in text["_canonical"]
        ]
        if kind is RecordKind.BUSINESS_EVENT:
            # the canonical form, written out by hand (docs/architecture.md): sorted keys, nulls
            # kept, timestamps as UTC 'YYYY-MM-DD hh:mm:ss', objects as compact JSON
            assert text["_canonical"][0] == (
                '{"data":{"order_id":"O-1"},"datacontenttype":null,"dataschema":null,"id":"e-1",'
                '"source":"/shop",'
                '"specversion":"1.0","subject":null,"time":"2026-08-01 09:00:00","traceparent":null,'
                '"type":"com.acme.order.placed"}'
            )


def test_connection_sha256_function_gives_duckdb_sha256_digests() -> None:
    """``flowledger_sha256`` (polars-hash over Arrow vectors, used by file ingest inside the
    contract query) gives DuckDB's ``sha256`` for every text, NULL for NULL, over several
    vectors of 2,048 rows; creating it twice on one connection keeps the first."""
    import hashlib

    from ingest.validate import SHA256_FUNCTION, register_sha256

    con = duckdb.connect()
    register_sha256(con)
    register_sha256(con)
    mismatches, nulls, rows = con.execute(
        f"SELECT count(*) FILTER ({SHA256_FUNCTION}(text) IS DISTINCT FROM sha256(text)), "
        f"count(*) FILTER ({SHA256_FUNCTION}(text) IS NULL), count(*) FROM ("
        "SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE i::VARCHAR || repeat('Zürich ✓', i % 5) END "
        "AS text FROM range(10000) r(i))"
    ).fetchone()
    assert (mismatches, nulls, rows) == (0, 104, 10000)
    [(digest,)] = con.execute(f"SELECT {SHA256_FUNCTION}('{{\"a\":1}}')").fetchall()
    assert digest == hashlib.sha256(b'{"a":1}').hexdigest()
