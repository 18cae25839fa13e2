"""`flowledger sql`: read-only queries over a real published snapshot, printed as a table or JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
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


@pytest.mark.parametrize(
    "query",
    [
        "insert into dim_flows values ('f2', 'Flow 2')",
        "update dim_flows set name = 'x'",
        "delete from dim_flows",
        "create table t as select 1",
        "create temp table t as select 1",
        "drop table dim_flows",
        "attach '/tmp/other.duckdb' as other",
        "copy dim_flows to '/tmp/flows.csv'",
        "install httpfs",
        "load httpfs",
        "set threads = 1",
        "reset threads",
        "pragma threads = 1",
        "pragma database_list",
        "call pragma_version()",
        "begin",
        "checkpoint",
        "prepare p as select 1",
        "update extensions",
        "select 1; drop table dim_flows",
        "select 1; select 2",
        "with x as (select 1) insert into dim_flows select * from dim_flows",
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/passwd')",
        "select * from glob('/etc/*')",
        "selec 1",
        "select * from nosuch",
        "select 9223372036854775807::bigint + 1",
        "",
    ],
)
def test_every_refused_query_is_one_clear_line_and_exit_1(data_dir, capsys, query):
    code, out, err = _sql(data_dir, capsys, query)
    assert code == 1 and out == ""
    assert err.startswith("flowledger: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_writes_and_settings_are_refused_as_read_only(data_dir, capsys):
    for query in ("create temp table t as select 1", "set threads = 1", "pragma database_list"):
        code, _, err = _sql(data_dir, capsys, query)
        assert code == 1 and "read-only" in err, (query, err)
    assert "one statement" in _sql(data_dir, capsys, "select 1; select 2")[2]
    # "not a ATTACH statement"
    assert "not an ATTACH statement" in _sql(data_dir, capsys, "attach 'x.duckdb' as x")[2]


def test_an_unknown_table_names_the_published_tables(data_dir, capsys):
    _, _, err = _sql(data_dir, capsys, "select * from fct_case")
    assert 'Did you mean "fct_cases"?' in err
    assert "Published tables: _meta, dim_flows, fct_cases." in err


@pytest.mark.parametrize(
    "query",
    [
        "select * from dim_flows;",
        "from dim_flows",
        "describe fct_cases",
        "show tables",
        "summarize fct_cases",
        "explain select 1",
        "select * from pragma_table_info('dim_flows')",
        "select * from pragma_version()",
        "pivot dim_flows on flow_id using first(name)",
    ],
)
def test_reads_in_every_form_run(data_dir, capsys, query):
    code, out, err = _sql(data_dir, capsys, query)
    assert code == 0 and err == "" and out.rstrip().endswith(")"), (out, err)


def test_output_into_a_pipe_closed_early_ends_quietly(data_dir):
    """`flowledger sql … | head -1`: the reader goes away mid-output, no traceback follows."""
    command = [str(Path(sys.executable).parent / "flowledger"), "--data-dir", str(data_dir.root)]
    with subprocess.Popen(
        [*command, "sql", "--json", "select * from range(200000)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.read(10)
        child.stdout.close()
        err = child.stderr.read().decode()
        assert child.wait(timeout=60) != 0
    assert err == ""


@pytest.mark.parametrize("rows", ["0", "-1", "many"])
def test_max_rows_must_be_a_positive_count(data_dir, capsys, rows):
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(data_dir.root), "sql", "--max-rows", rows, "select 1"])
    assert exit_.value.code == 2
    assert "--max-rows" in capsys.readouterr().err


def test_table_lines_up_line_breaks_tabs_and_wide_characters(data_dir, capsys):
    """A value with a line break continues on the next line, marked "+" as psql does; a tab
    is escaped; CJK and emoji take two columns."""
    query = (
        "select * from (values ('a\nb', 1, 'x'::blob), ('日本語🌍', 22, null), ('c\td', 3, null))"
        " t(text, n, b)"
    )
    code, out, err = _sql(data_dir, capsys, query)
    assert code == 0, err
    assert out.splitlines() == [
        "text     | n  | b   ",
        "---------+----+-----",
        "a       +| 1  | 78  ",
        "b        |    |     ",
        "日本語🌍 | 22 | NULL",
        "c\\td     | 3  | NULL",
        "(3 rows)",
    ]


#: Values whose Python form loses what DuckDB writes → the text `flowledger sql` prints, in the
#: table and in --json: DuckDB's own CAST(... AS VARCHAR) (checked below, not typed by hand).
DUCKDB_TEXT = {
    "interval '1 day 2 hours'": "1 day 02:00:00",  # Python's timedelta: 1 day, 2:00:00
    "interval '1 month'": "1 month",  # a timedelta has no months: 30 days, 0:00:00
    "interval '-1 year 3 days 00:00:01.5'": "-1 year 3 days 00:00:01.5",
    "'infinity'::date": "infinity",  # Python: 9999-12-31
    "'-infinity'::date": "-infinity",  # Python: 0001-01-01
    "'-infinity'::timestamp": "-infinity",
    "'infinity'::timestamptz": "infinity",
    "'infinity'::timestamp_ns": "infinity",
}


@pytest.mark.parametrize("expression", DUCKDB_TEXT)
def test_intervals_and_infinite_dates_print_as_duckdb_writes_them(data_dir, capsys, expression):
    text = DUCKDB_TEXT[expression]
    assert duckdb.connect().execute(f"select cast({expression} as varchar)").fetchone() == (text,)
    code, out, err = _sql(data_dir, capsys, f"select {expression} as v")
    assert code == 0, err
    assert out.splitlines()[2].rstrip() == text
    code, out, err = _sql(data_dir, capsys, f"select {expression} as v", "--json")
    assert code == 0, err
    assert json.loads(out) == [{"v": text}]


def test_intervals_and_infinities_inside_lists_structs_and_maps(data_dir, capsys):
    query = """
        select {'wait': interval '1 day 2 hours', 'until': 'infinity'::date, 'n': 1} as s,
            [interval '1 hour', interval '2 months', null] as l,
            map {'k': interval '3 days'} as m, map {interval '1 day': 1} as by_interval,
            [interval '1 day']::interval[1] as a, [date '2026-10-29'] as days,
            [uuid '00000000-0000-0000-0000-000000000001'] as ids, [1.5::decimal(3, 1)] as decimals,
            date '9999-12-31' as last_day, [timestamp '0001-01-01 00:00:00'] as first_moments
    """
    code, out, err = _sql(data_dir, capsys, query, "--json")
    assert code == 0, err
    assert json.loads(out) == [
        {
            "s": {"wait": "1 day 02:00:00", "until": "infinity", "n": 1},
            "l": ["01:00:00", "2 months", None],
            "m": {"k": "3 days"},
            "by_interval": {"1 day": 1},
            "a": ["1 day"],
            "days": ["2026-10-29"],
            "ids": ["00000000-0000-0000-0000-000000000001"],
            "decimals": [1.5],
            # real dates at the ends of Python's range are not taken for infinities
            "last_day": "9999-12-31",
            "first_moments": ["0001-01-01T00:00:00"],
        }
    ]
    # the table shows a nested value as DuckDB writes it (Python's repr showed
    # datetime.timedelta(...), datetime.date(...), UUID('...'), Decimal('...'))
    code, out, err = _sql(data_dir, capsys, query)
    assert code == 0, err
    header, _, row, _ = out.splitlines()
    names = [name.strip() for name in header.split("|")]
    cells = dict(zip(names, (cell.strip() for cell in row.split("|")), strict=True))
    expected = (
        duckdb.connect()
        .execute(
            "select "
            + ", ".join(f"cast({name} as varchar) as {name}" for name in names)
            + f" from ({query})"
        )
        .fetchone()
    )
    assert [cells[name] for name in names] == list(expected)
    assert "datetime" not in out and "UUID(" not in out and "Decimal(" not in out


def test_a_pivot_of_intervals_prints_them_as_duckdb_writes_them(data_dir, capsys):
    query = "pivot (select 'a' as k, interval '2 months' as i) on k using first(i)"
    code, out, err = _sql(data_dir, capsys, query, "--json")
    assert code == 0, err
    assert json.loads(out) == [{"a": "2 months"}]
