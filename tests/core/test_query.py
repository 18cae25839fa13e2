"""`flowledger sql`: read-only queries over a real published snapshot, printed as a table or JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowledger.cli import main
from flowledger.settings import DataDir
from flowledger.warehouse import connect_warehouse, publish, writer_lock


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    """A data directory with two small marts published."""
    data_dir = DataDir(tmp_path / "home").ensure()
    with writer_lock(data_dir):
        con = connect_warehouse(data_dir)
        try:
            con.execute("create table marts.dim_flows as select 'f1' as flow_id, 'Flow 1' as name")
            con.execute("create table marts.fct_cases as select 'c1' as case_id, 2.5 as hours")
        finally:
            con.close()
        publish(data_dir, {"built_at": "2026-10-29T12:05:00Z", "data_as_of": "2026-10-29"})
    return data_dir


def _sql(data_dir: DataDir, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir.root), "sql", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_valid_rfc_8259_for_values_python_json_gets_wrong(data_dir, capsys):
    query = """
        select
            'nan'::double as nan, 'inf'::double as inf, ['-inf'::float, 1.5] as floats,
            {'x': 'nan'::double} as struct,
            12345678901234567890.123456789::decimal(38, 9) as big_decimal,
            1.10::decimal(18, 2) as money,
            map {1.5::decimal(3, 1): 'a'} as decimal_keys,
            map {date '2026-10-29': 1} as date_keys,
            170141183460469231731687303715884105727::hugeint as huge,
            1 as dup, 2 as dup
    """
    code, out, err = _sql(data_dir, capsys, query, "--json")
    assert code == 0, err
    (row,) = json.loads(out, parse_constant=pytest.fail)  # NaN / Infinity are not JSON
    assert row["nan"] is None and row["inf"] is None and row["floats"] == [None, 1.5]
    assert row["struct"] == {"x": None}
    assert "12345678901234567890.123456789" in out, "a decimal keeps every digit"
    assert row["money"] == 1.1
    assert row["decimal_keys"] == {"1.5": "a"}
    assert row["date_keys"] == {"2026-10-29": 1}
    assert row["huge"] == 170141183460469231731687303715884105727
    assert (row["dup"], row["dup_1"]) == (1, 2), "a repeated column name keeps both values"


def test_json_of_dates_timestamps_nulls_blobs_and_unicode(data_dir, capsys):
    query = """
        select date '2026-10-29' as day, timestamp '2026-10-29 12:00:00' as ts,
            timestamptz '2026-10-29 12:00:00+02' as tz, null as nothing,
            '\\x00\\xff'::blob as bytes, 'héllo 🌍 日本語' as text
    """
    code, out, err = _sql(data_dir, capsys, query, "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert datetime.fromisoformat(row.pop("tz")) == datetime(2026, 10, 29, 10, tzinfo=UTC)
    assert row == {
        "day": "2026-10-29",
        "ts": "2026-10-29T12:00:00",
        "nothing": None,
        "bytes": "00ff",
        "text": "héllo 🌍 日本語",
    }
