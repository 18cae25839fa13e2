"""Typed Parquet columns (integers, booleans, date-times) skip the text round trip: the rows,
hashes, quarantine reasons and quarantined records must be those of the same records as text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from ingest_test_files import query, write_ndjson

from flowledger.settings import DataDir
from ingest import ingest_paths
from ingest.contracts import LogicalType
from ingest.readers import keeps_typed

RUNS = [
    # good, offset timestamps, integer default, boolean default
    {
        "run_id": "s-1",
        "run_attempt": 1,
        "attempt": None,
        "started": "2026-08-01T11:00:02.125+02:00",
    },
    # attempt below its minimum: quarantined, the value quoted as text
    {"run_id": "s-2", "run_attempt": 1, "attempt": 0, "started": "2026-08-01T09:00:03Z"},
    # required timestamp missing: quarantined
    {"run_id": "s-3", "run_attempt": 2, "attempt": 1, "started": None},
    # run_attempt below its minimum
    {"run_id": "s-4", "run_attempt": 0, "attempt": 2, "started": "2026-08-01T09:00:04.5Z"},
]


def _step_records() -> list[dict[str, object]]:
    return [
        {
            "source_system": "n8n",
            "run_id": run["run_id"],
            "run_attempt": run["run_attempt"],
            "step_id": "validate",
            "attempt": run["attempt"],
            "step_name": "Validate",
            "status": "success",
            "started_at": run["started"],
            "dead_lettered": None if run["run_id"] == "s-1" else run["run_id"] == "s-4",
            "items_in": 3,
        }
        for run in RUNS
    ]


def _write_typed(path: Path, records: list[dict[str, object]], zone: timezone | None) -> Path:
    started = [
        None if r["started_at"] is None else datetime.fromisoformat(str(r["started_at"]))
        for r in records
    ]
    columns = {name: [r[name] for r in records] for name in records[0] if name != "started_at"}
    frame = pl.DataFrame(
        {
            **columns,
            "run_attempt": pl.Series(columns["run_attempt"], dtype=pl.Int32),
            "attempt": pl.Series(columns["attempt"], dtype=pl.Int64),
            "items_in": pl.Series(columns["items_in"], dtype=pl.UInt16),
            "dead_lettered": pl.Series(columns["dead_lettered"], dtype=pl.Boolean),
            "started_at": pl.Series(started, dtype=pl.Datetime("ms", "UTC")),
        }
    )
    if zone is not None:
        frame = frame.with_columns(pl.col("started_at").dt.convert_time_zone("Asia/Kolkata"))
    frame.write_parquet(path)
    return path


def _landed(data_dir: DataDir) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    rows = query(
        data_dir,
        "select * exclude (_batch_id, _ingested_at, _source_file) from raw.step_runs "
        "order by _row_number",
    )
    quarantine = query(
        data_dir,
        "select row_number, reason, raw_record from raw.quarantine order by row_number",
    )
    return rows, quarantine


@pytest.mark.parametrize("zone", [None, timezone(timedelta(hours=5, minutes=30))])
def test_typed_parquet_lands_what_the_same_records_as_text_land(
    tmp_path: Path, zone: timezone | None
) -> None:
    records = _step_records()
    as_text = DataDir(tmp_path / "text")
    ingest_paths([write_ndjson(tmp_path / "steps.ndjson", records)], as_text)
    typed = DataDir(tmp_path / "typed")
    ingest_paths([_write_typed(tmp_path / "steps.parquet", records, zone)], typed)
    text_rows, text_quarantine = _landed(as_text)
    typed_rows, typed_quarantine = _landed(typed)
    assert typed_rows == text_rows
    assert [row[:2] for row in typed_quarantine] == [
        (2, "attempt: 0 is below the minimum 1"),
        (3, "started_at: missing (required)"),
        (4, "run_attempt: 0 is below the minimum 1"),
    ]
    assert [row[:2] for row in text_quarantine] == [row[:2] for row in typed_quarantine]
    # the quarantined record holds the values as the file types them, as an NDJSON line
    # gives them (numbers and booleans; date-times as text)
    record = json.loads(typed_quarantine[0][2])
    assert (record["attempt"], record["run_attempt"], record["items_in"]) == (0, 1, 3)
    assert record["started_at"] == "2026-08-01T09:00:03Z"
    assert record["dead_lettered"] is False
    assert json.loads(text_quarantine[0][2]) == record
    [(started, attempt, dead_lettered)] = query(
        typed, "select started_at, attempt, dead_lettered from raw.step_runs"
    )
    assert (started, attempt, dead_lettered) == (datetime(2026, 8, 1, 9, 0, 2, 125000), 1, False)


def test_only_exact_types_stay_typed() -> None:
    assert keeps_typed(LogicalType.INTEGER, pl.Int64())
    assert keeps_typed(LogicalType.INTEGER, pl.UInt32())
    assert not keeps_typed(LogicalType.INTEGER, pl.UInt64())  # may not fit a BIGINT
    assert not keeps_typed(LogicalType.INTEGER, pl.Float64())
    assert keeps_typed(LogicalType.TIMESTAMP, pl.Datetime("ms", "UTC"))
    assert keeps_typed(LogicalType.TIMESTAMP, pl.Datetime("us"))
    assert not keeps_typed(LogicalType.TIMESTAMP, pl.Datetime("ns", "UTC"))  # text rounds
    assert not keeps_typed(LogicalType.TIMESTAMP, pl.Date())
    assert keeps_typed(LogicalType.BOOLEAN, pl.Boolean())
    assert not keeps_typed(LogicalType.STRING, pl.Int64())
    assert not keeps_typed(LogicalType.NUMBER, pl.Float64())


def test_a_nanosecond_parquet_timestamp_lands_as_its_text_would(tmp_path: Path) -> None:
    records = _step_records()[:1]
    stamp = datetime(2026, 8, 1, 9, 0, 2, 125000, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            **{name: [value] for name, value in records[0].items() if name != "started_at"},
            "started_at": pl.Series([stamp], dtype=pl.Datetime("ns", "UTC")),
        }
    )
    path = tmp_path / "steps.parquet"
    frame.write_parquet(path)
    data_dir = DataDir(tmp_path / "home")
    ingest_paths([path], data_dir)
    assert query(data_dir, "select started_at from raw.step_runs") == [
        (datetime(2026, 8, 1, 9, 0, 2, 125000),)
    ]


def test_a_fixed_offset_zone_as_pandas_writes_it_lands_in_utc(
    data_dir: DataDir, tmp_path: Path
) -> None:
    # pd.to_datetime of offset strings gives timestamp[us, tz=+05:30], which polars refused to
    # read: the file was refused whole with a polars error naming its own switch
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "offsets.parquet"
    started = pa.array(
        [datetime(2026, 8, 1, 4, 0, tzinfo=UTC)], type=pa.timestamp("us", tz="+05:30")
    )
    pq.write_table(
        pa.table(
            {
                "source_system": ["n8n"],
                "flow_id": ["f"],
                "flow_name": ["F"],
                "run_id": ["pd1"],
                "status": ["success"],
                "started_at": started,
            }
        ),
        path,
    )
    (result,) = ingest_paths([path], data_dir).files
    assert (result.error, result.accepted) == (None, 1)
    assert query(data_dir, "select started_at from raw.flow_runs") == [
        (datetime(2026, 8, 1, 4, 0),)
    ]


def test_a_duckdb_json_column_is_read_as_its_json_text(data_dir: DataDir, tmp_path: Path) -> None:
    """DuckDB writes its JSON type as Arrow's ``arrow.json`` extension: the whole file failed
    (polars could not cast the extension type to text); the event lands with its data."""
    import duckdb

    path = tmp_path / "events.parquet"
    duckdb.sql(
        "copy (select '1.0' as specversion, 'j1' as id, '/shop' as source, 'order.placed' as type,"
        ' \'2026-08-01T09:00:00Z\' as time, \'{"order_id": "O-1", "n": 2}\'::json as data)'
        f" to '{path}' (format parquet)"
    )
    (result,) = ingest_paths([path], data_dir).files
    assert (result.error, result.accepted) == (None, 1)
    assert query(data_dir, "select id, data from raw.business_events") == [
        ("j1", '{"n":2,"order_id":"O-1"}')
    ]
