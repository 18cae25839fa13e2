"""JSON values land alike whichever reader reads them: the NDJSON block path (polars), the
line-by-line fallback (a broken neighbour line sends its whole block there), JSON arrays, and
the same values as CSV or Parquet text."""

from __future__ import annotations

import io
import json
import math
import random
import struct
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from ingest_test_files import BUSINESS_EVENTS, FLOW_RUNS, query

from flowledger.settings import DataDir
from ingest import ingest_paths
from ingest.json_values import value_as_text

Writer = Callable[[Path, list[str]], Path]


def ndjson(path: Path, lines: list[str]) -> Path:
    path.with_suffix(".ndjson").write_text("".join(f"{line}\n" for line in lines))
    return path.with_suffix(".ndjson")


def ndjson_beside_a_broken_line(path: Path, lines: list[str]) -> Path:
    path.with_suffix(".ndjson").write_text("".join(f"{line}\n" for line in [*lines, "{broken"]))
    return path.with_suffix(".ndjson")


def json_array(path: Path, lines: list[str]) -> Path:
    path.with_suffix(".json").write_text("[" + ",\n".join(lines) + "]")
    return path.with_suffix(".json")


JSON_READERS: dict[str, Writer] = {
    "ndjson": ndjson,
    "ndjson line by line": ndjson_beside_a_broken_line,
    "json": json_array,
}


def land(tmp_path: Path, name: str, path: Path) -> DataDir:
    data_dir = DataDir(tmp_path / f"home-{name}").ensure()
    summary = ingest_paths([path], data_dir)
    assert summary.failed_files == [], summary.format()
    return data_dir


#: A JSON number as written → the text it lands as in a text field: plain decimal, as polars
#: writes it (no exponent, no trailing zeros, integers beyond 64 bits exact).
NUMBER_TEXTS = {
    "1.0": "1",
    "1e5": "100000",
    "2.50": "2.5",
    "1.0e-7": "0.0000001",
    "-0.0": "-0",
    "41.32": "41.32",
    "1e20": "100000000000000000000",
    "12345678901234567890": "12345678901234567890",
}


def json_line(record: dict[str, object], name: str, json_text: str) -> str:
    """``record`` as one JSON line, its field ``name`` written as ``json_text`` (which no
    encoder writes: NaN, a number as typed, an object giving a key twice)."""
    return json.dumps({**record, name: None}).replace(f'"{name}": null', f'"{name}": {json_text}')


def run_line(run_id: str, flow_name: str) -> str:
    """A flow run whose ``flow_name`` (a string field) is the JSON text ``flow_name``."""
    return json_line({**FLOW_RUNS[0], "run_id": run_id}, "flow_name", flow_name)


@pytest.mark.parametrize("reader", JSON_READERS)
def test_a_json_number_in_a_text_field_lands_as_plain_decimal_from_every_reader(
    tmp_path: Path, reader: str
) -> None:
    lines = [run_line(f"r-{n}", text) for n, text in enumerate(NUMBER_TEXTS)]
    data_dir = land(tmp_path, reader, JSON_READERS[reader](tmp_path / "runs", lines))
    landed = query(data_dir, "select flow_name from raw.flow_runs order by _row_number")
    assert [name for (name,) in landed] == list(NUMBER_TEXTS.values())


def test_a_parquet_float_column_in_a_text_field_lands_as_the_json_number_does(
    tmp_path: Path,
) -> None:
    floats = {text: shown for text, shown in NUMBER_TEXTS.items() if text != "12345678901234567890"}
    records = [
        {**FLOW_RUNS[0], "run_id": f"r-{n}", "flow_name": float(text)}
        for n, text in enumerate(floats)
    ]
    path = tmp_path / "runs.parquet"
    pl.DataFrame(records).write_parquet(path)
    data_dir = land(tmp_path, "parquet", path)
    landed = query(data_dir, "select flow_name from raw.flow_runs order by _row_number")
    assert [name for (name,) in landed] == list(floats.values())


#: A number inside ``data`` as written → as it lands in the canonical JSON of ``data``: a whole
#: number as an integer, whichever way it was written.
DATA_NUMBERS = {
    "1.0": "1",
    "1e5": "100000",
    "2.50": "2.5",
    "1.0e-7": "1e-7",
    "-0.0": "0",
    "1e20": "100000000000000000000",
    "12345678901234567890": "12345678901234567890",
}


def event_line(event_id: str, data: str) -> str:
    return json_line({**BUSINESS_EVENTS[0], "id": event_id}, "data", data)


def data_texts() -> list[str]:
    return [f'{{"amount": {text}, "items": [{text}]}}' for text in DATA_NUMBERS]


def expected_data() -> list[str]:
    return [f'{{"amount":{shown},"items":[{shown}]}}' for shown in DATA_NUMBERS.values()]


@pytest.mark.parametrize("reader", JSON_READERS)
def test_a_number_inside_data_lands_alike_from_every_json_reader(
    tmp_path: Path, reader: str
) -> None:
    lines = [event_line(f"e-{n}", data) for n, data in enumerate(data_texts())]
    data_dir = land(tmp_path, reader, JSON_READERS[reader](tmp_path / "events", lines))
    landed = query(data_dir, "select data from raw.business_events order by _row_number")
    assert [data for (data,) in landed] == expected_data()


def events_with_data_text(tmp_path: Path, suffix: str, data_by_id: dict[str, str]) -> Path:
    """A CSV or Parquet file of events, each with its ``data`` as the JSON text given."""
    frame = pl.DataFrame(
        [
            {**BUSINESS_EVENTS[0], "id": event_id, "data": data}
            for event_id, data in data_by_id.items()
        ]
    )
    path = tmp_path / f"events.{suffix}"
    frame.write_csv(path) if suffix == "csv" else frame.write_parquet(path)
    return path


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_number_inside_data_text_lands_as_from_json(tmp_path: Path, suffix: str) -> None:
    texts = {f"e-{n}": data for n, data in enumerate(data_texts())}
    data_dir = land(tmp_path, suffix, events_with_data_text(tmp_path, suffix, texts))
    landed = query(data_dir, "select data from raw.business_events order by _row_number")
    assert [data for (data,) in landed] == expected_data()


def test_value_as_text_writes_numbers_as_polars_reads_them() -> None:
    """polars itself is the reference: the text it reads a JSON number into, top level and
    nested, for hand-picked and random doubles (every exponent)."""
    rng = random.Random(20260801)
    doubles = [
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(2000)
    ]
    numbers = [1.0, -0.0, 1e5, 1e16, 1e21, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3]
    numbers += [d for d in doubles if math.isfinite(d)]
    numbers += [round(rng.uniform(-1e6, 1e6), rng.randint(0, 8)) for _ in range(1000)]
    lines = "".join(json.dumps({"a": n, "d": {"n": [n]}}) + "\n" for n in numbers)
    read = pl.read_ndjson(io.BytesIO(lines.encode()), schema={"a": pl.String, "d": pl.String})
    assert read["a"].to_list() == [value_as_text(n) for n in numbers]
    assert read["d"].to_list() == [value_as_text({"n": [n]}) for n in numbers]


#: Numbers JSON does not have (RFC 8259), as written → the reason their record is quarantined.
NOT_JSON_NUMBERS = {
    "NaN": "data.amount: NaN is not valid JSON (JSON numbers are finite; write null)",
    "Infinity": "data.amount: Infinity is not valid JSON (JSON numbers are finite; write null)",
    "-Infinity": "data.amount: -Infinity is not valid JSON (JSON numbers are finite; write null)",
    "1e400": "data.amount: 1e400 is out of range (a JSON number here is a double, ±1.8e308)",
}


def events_with_not_json_numbers() -> list[str]:
    """A good event, then one per number JSON does not have, each beside a customer email."""
    good = event_line("e-good", '{"amount": 1}')
    email = '"customer_email": "Ann@Example.com"'
    return [good] + [
        event_line(f"e-{n}", f'{{{email}, "amount": {text}}}')
        for n, text in enumerate(NOT_JSON_NUMBERS)
    ]


def assert_quarantined_with_reasons(data_dir: DataDir) -> None:
    assert query(data_dir, "select id from raw.business_events") == [("e-good",)]
    rows = query(
        data_dir,
        "select row_number, reason, raw_record from raw.quarantine "
        "where reason not like 'line is not valid JSON%' order by 1",
    )
    assert [(number, reason) for number, reason, _ in rows] == [
        (n + 2, reason) for n, reason in enumerate(NOT_JSON_NUMBERS.values())
    ]
    for _, _, raw_record in rows:  # scrubbed like any quarantined record
        assert "Ann@Example.com" not in raw_record and "<pii:" in raw_record


@pytest.mark.parametrize("reader", JSON_READERS)
def test_nan_and_infinity_inside_data_are_quarantined_by_every_json_reader(
    tmp_path: Path, reader: str
) -> None:
    path = JSON_READERS[reader](tmp_path / "events", events_with_not_json_numbers())
    data_dir = land(tmp_path, reader, path)
    assert_quarantined_with_reasons(data_dir)
    (broken,) = query(data_dir, "select count(*) from raw.quarantine where reason like 'line%'")
    assert broken == ((reader == "ndjson line by line"),)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_nan_and_infinity_inside_data_text_are_quarantined(tmp_path: Path, suffix: str) -> None:
    lines = events_with_not_json_numbers()
    ids = [line[line.index('"id": "') + 7 :].split('"', 1)[0] for line in lines]
    data = [line[line.index('"data": ') + 8 : -1] for line in lines]
    path = events_with_data_text(tmp_path, suffix, dict(zip(ids, data, strict=True)))
    assert_quarantined_with_reasons(land(tmp_path, suffix, path))


@pytest.mark.parametrize("reader", JSON_READERS)
def test_nan_in_a_text_field_is_quarantined_not_landed_as_text(tmp_path: Path, reader: str) -> None:
    lines = [run_line("r-1", '"Order intake"'), run_line("r-2", "NaN")]
    data_dir = land(tmp_path, reader, JSON_READERS[reader](tmp_path / "runs", lines))
    assert query(data_dir, "select run_id from raw.flow_runs") == [("r-1",)]
    assert query(
        data_dir, "select row_number, reason from raw.quarantine where row_number = 2"
    ) == [(2, "flow_name: NaN is not valid JSON (JSON numbers are finite; write null)")]


REPEATED = {
    # a contract field given twice at the top level: the record is quarantined, naming it
    '"id": "e-1", "id": "e-2"': "id: duplicate key (JSON object keys must be unique)",
    # twice inside data, however deep (also in an array's object)
    '"id": "e-3", "data": {"amount": 1, "amount": 2}': (
        "data.amount: duplicate key (JSON object keys must be unique)"
    ),
    '"id": "e-4", "data": {"items": [{"sku": "a"}, {"sku": "b", "sku": "c"}]}': (
        "data.items[1].sku: duplicate key (JSON object keys must be unique)"
    ),
    # a key spelled with an escape is the same key
    '"id": "e-5", "i\\u0064": "e-6"': "id: duplicate key (JSON object keys must be unique)",
}
#: Not duplicates: the same name at another level, and a key no contract lists given twice
#: (it is not stored either way).
NOT_REPEATED = [
    '"id": "e-7", "data": {"id": 1, "type": "x", "nested": {"id": 2}}',
    '"id": "e-8", "note": 1, "note": 2',
]


def events_naming_keys_twice() -> list[str]:
    base = '"specversion": "1.0", "source": "/acme/shop", "type": "t.x", "time": "2026-08-01T09:00:00Z"'
    with_data = [f"{{{base}, {members}}}" for members in [*REPEATED, *NOT_REPEATED]]
    return [line if '"data"' in line else line[:-1] + ', "data": {"a": 1}}' for line in with_data]


@pytest.mark.parametrize("reader", JSON_READERS)
def test_a_record_naming_a_key_twice_is_quarantined_by_every_json_reader(
    tmp_path: Path, reader: str
) -> None:
    path = JSON_READERS[reader](tmp_path / "events", events_naming_keys_twice())
    data_dir = land(tmp_path, reader, path)
    assert query(data_dir, "select id from raw.business_events order by 1") == [
        ("e-7",),
        ("e-8",),
    ]
    assert query(
        data_dir,
        "select row_number, reason from raw.quarantine "
        "where reason not like 'line is not valid JSON%' order by 1",
    ) == [(n + 1, reason) for n, reason in enumerate(REPEATED.values())]
    # the quarantined record shows both values
    (raw_record,) = query(data_dir, "select raw_record from raw.quarantine where row_number = 1")
    assert '"id": "e-1", "id": "e-2"' in raw_record[0]


def test_the_same_records_in_one_block_land_alike_beside_a_broken_line(tmp_path: Path) -> None:
    landed = []
    for name, tail in [("block", []), ("line by line", ["{broken"])]:
        path = ndjson(tmp_path / name, [*events_naming_keys_twice(), *tail])
        data_dir = land(tmp_path, name, path)
        landed.append(
            (
                query(
                    data_dir, "select id, data, _payload_hash from raw.business_events order by 1"
                ),
                query(
                    data_dir, "select row_number, reason from raw.quarantine where row_number < 7"
                ),
            )
        )
    assert landed[0] == landed[1]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_data_text_naming_a_key_twice_is_quarantined(tmp_path: Path, suffix: str) -> None:
    texts = [
        '{"amount": 1}',
        '{"amount": 1, "amount": 2}',
        '{"a": {"b": 1, "b": 1}}',
        # a quote written as an escape, before a colon: written back, it looked like a key
        '{"c":1,"c":2,"note":"x\\u0022:"}',
    ]
    path = events_with_data_text(tmp_path, suffix, {f"e-{n}": t for n, t in enumerate(texts)})
    data_dir = land(tmp_path, suffix, path)
    assert query(data_dir, "select id from raw.business_events") == [("e-0",)]
    assert query(data_dir, "select row_number, reason from raw.quarantine order by 1") == [
        (2, "data.amount: duplicate key (JSON object keys must be unique)"),
        (3, "data.a.b: duplicate key (JSON object keys must be unique)"),
        (4, "data.c: duplicate key (JSON object keys must be unique)"),
    ]


LONE_SURROGATE_REASON = (
    "a lone surrogate escape (\\ud800-\\udfff without its pair) is no Unicode character: JSON "
    "text must be Unicode (RFC 8259 section 8.2)"
)


@pytest.mark.parametrize("reader", JSON_READERS)
def test_a_lone_surrogate_escape_is_quarantined_and_the_other_records_land(
    tmp_path: Path, reader: str
) -> None:
    # "\ud800" is JSON syntax but no character UTF-8 can hold: the whole file failed on it
    # (UnicodeEncodeError quarantining it), the good records with it
    base = '"specversion": "1.0", "source": "/acme/shop", "type": "t.x", "time": "2026-08-01T09:00:00Z"'
    lines = [
        f'{{{base}, "id": "e-1", "data": {{"note": "\\ud800"}}}}',
        f'{{{base}, "id": "e-2\\udfff", "data": {{}}}}',
        f'{{{base}, "id": "e-3", "data": {{"emoji": "\\ud83d\\ude00"}}}}',  # a pair: one character
    ]
    data_dir = land(tmp_path, reader, JSON_READERS[reader](tmp_path / "events", lines))
    assert query(data_dir, "select id, data from raw.business_events") == [
        ("e-3", '{"emoji":"😀"}')
    ]
    rows = query(
        data_dir,
        "select row_number, reason, raw_record from raw.quarantine "
        "where reason not like 'line is not valid JSON%' order by 1",
    )
    assert [(number, reason) for number, reason, _ in rows] == [
        (1, f"data.note: {LONE_SURROGATE_REASON}"),
        (2, f"id: {LONE_SURROGATE_REASON}"),
    ]
    assert '"note": "\\ud800"' in rows[0][2]  # the escape as text: UTF-8 holds it


def test_loads_standard_refuses_lone_surrogates_where_they_are() -> None:
    from ingest.json_values import NotStandardJson, loads_standard

    for text, path in [
        ('{"a": "\\ud800"}', "a"),
        ('{"a": [1, {"b\\udc00": 2}]}', "a[1].b\\udc00"),
        ('["x", "\\uDBFF"]', "[1]"),
    ]:
        with pytest.raises(NotStandardJson) as refused:
            loads_standard(text)
        assert (refused.value.path, refused.value.problem) == (path, LONE_SURROGATE_REASON)
    # a pair, an escaped backslash before "ud800", and plain text pass
    assert loads_standard('{"a": "\\ud83d\\ude00", "b": "\\\\ud800"}') == {
        "a": "😀",
        "b": "\\ud800",
    }


@pytest.mark.parametrize("reader", JSON_READERS)
def test_an_integer_too_long_for_python_is_quarantined_by_every_json_reader(
    tmp_path: Path, reader: str
) -> None:
    """A 5,000-digit integer (Python reads at most 4,300 digits) failed the whole NDJSON file
    with a ValueError, good rows and all; the receiver answered 500."""
    long = "9" * 5000
    lines = [run_line("r-good", '"intake"'), run_line("r-long", long)]
    lines.append(json_line({**FLOW_RUNS[0], "run_id": "r-data"}, "outputs", f'{{"n": {long}}}'))
    data_dir = land(tmp_path, reader, JSON_READERS[reader](tmp_path / "runs", lines))
    assert query(data_dir, "select run_id from raw.flow_runs") == [("r-good",)]
    reasons = query(
        data_dir,
        "select reason from raw.quarantine where reason not like 'line is not valid JSON%' "
        "order by row_number",
    )
    expected = "an integer of 5,000 digits is out of range (at most 4,300; write a long identifier"
    assert [reason for (reason,) in reasons] == [
        f"flow_name: {expected} as a string)", f"outputs.n: {expected} as a string)"
    ]  # fmt: skip
