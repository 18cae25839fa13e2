"""Edge cases an adversarial file corpus found: each lands, or is refused, with a clear reason."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from ingest_test_files import (
    BUSINESS_EVENTS,
    FLOW_RUNS,
    query,
    write_csv,
    write_json_array,
    write_ndjson,
    write_parquet,
)
from pii_corpus import expected_pseudonym

from flowledger.cli import main
from flowledger.settings import DataDir
from ingest import RecordKind, ingest_paths


def test_an_ndjson_line_that_is_not_utf8_is_quarantined_not_mangled(
    data_dir: DataDir, tmp_path: Path
) -> None:
    good, other = BUSINESS_EVENTS
    broken = json.dumps({**other, "subject": "O-2"}).encode().replace(b'"O-2"', b'"O-\xff2"')
    path = tmp_path / "events.ndjson"
    path.write_bytes(json.dumps(good).encode() + b"\n" + broken + b"\n")
    (result,) = ingest_paths([path], data_dir).files
    assert (result.rows_read, result.accepted, result.quarantined) == (2, 1, 1)
    column = broken.index(b"\xff") + 1
    ((row_number, reason, raw_record),) = query(
        data_dir, "select row_number, reason, raw_record from raw.quarantine"
    )
    assert (row_number, reason) == (2, f"line is not valid UTF-8 (byte 0xff at column {column})")
    assert '"O-\\xff2"' in json.loads(raw_record)
    assert query(data_dir, "select id from raw.business_events") == [("evt-1",)]


def test_quarantined_rows_are_not_quarantined_again_on_re_ingest(
    data_dir: DataDir, tmp_path: Path
) -> None:
    csv_path = tmp_path / "depth.csv"
    csv_path.write_text(
        "source_system,queue_name,sampled_at,depth\n"
        "sqs,orders,2026-08-01T09:01:00Z,five\n"
        "sqs,orders,2026-08-01T09:01:00Z,five\n"
        "sqs,orders,2026-08-01T09:02:00Z,6\n"
    )
    ndjson_path = tmp_path / "events.ndjson"
    ndjson_path.write_text(json.dumps(BUSINESS_EVENTS[0]) + "\n{broken\n")
    counts = []
    for _ in range(2):
        summary = ingest_paths([csv_path, ndjson_path], data_dir)
        counts.append(
            [(r.rows_read, r.accepted, r.duplicates, r.quarantined) for r in summary.files]
        )
        assert all(r.balanced for r in summary.files)
    # the second copy of the broken CSV row is a repeat within the file
    assert counts == [
        [(3, 1, 1, 1), (2, 1, 0, 1)],
        [(3, 0, 3, 0), (2, 0, 2, 0)],
    ]
    assert query(data_dir, "select record_kind, row_number from raw.quarantine order by 1") == [
        ("business_event", 2),
        ("queue_depth_sample", 1),
    ]
    batches = query(
        data_dir, "select duplicates, quarantined from raw.ingest_batches order by started_at"
    )
    assert batches == [(1, 1), (0, 1), (3, 0), (2, 0)]


def test_csv_header_names_with_spaces_are_read_as_detected(
    data_dir: DataDir, tmp_path: Path
) -> None:
    path = tmp_path / "depth.csv"
    path.write_bytes(
        b"\xef\xbb\xbfsource_system, queue_name , sampled_at,depth\r\n"
        b"sqs,orders,2026-08-01T09:00:00Z,5\r\n"
        b"sqs,orders,2026-08-01T09:01:00Z\r\n"
    )
    (result,) = ingest_paths([path], data_dir).files
    assert (result.rows_read, result.accepted, result.quarantined) == (2, 1, 1)
    assert query(
        data_dir,
        "select source_system, queue_name, depth, _row_number from raw.queue_depth_samples",
    ) == [("sqs", "orders", 5, 1)]
    assert query(data_dir, "select row_number, reason from raw.quarantine") == [
        (2, "CSV row 2 has 3 fields, the header has 4")
    ]


def test_a_csv_header_name_on_two_lines_does_not_shift_the_rows(
    data_dir: DataDir, tmp_path: Path
) -> None:
    path = tmp_path / "depth.csv"
    path.write_text(
        '"source_system","queue\nname",sampled_at,depth ,queue_name\n'
        "sqs,x,2026-08-01T09:00:00Z,5,orders\n"
    )
    (result,) = ingest_paths([path], data_dir).files
    assert (result.rows_read, result.accepted) == (1, 1)
    assert query(data_dir, "select queue_name, depth from raw.queue_depth_samples") == [
        ("orders", 5)
    ]


@pytest.mark.parametrize("kind", [None, "queue_depth_sample"])
def test_a_csv_header_naming_a_column_twice_is_refused(
    data_dir: DataDir, tmp_path: Path, kind: str | None
) -> None:
    path = tmp_path / "depth.csv"
    path.write_text(
        "source_system,queue_name,sampled_at,depth, depth\nsqs,orders,2026-08-01T09:00:00Z,5,7\n"
    )
    (result,) = ingest_paths([path], data_dir, kind=kind).files
    assert result.error is not None
    assert "column depth appears twice in the header" in result.error
    assert query(data_dir, "select count(*) from raw.queue_depth_samples") == [(0,)]


@pytest.mark.parametrize("name", ["a-file", "x" * 300])
def test_a_data_dir_that_cannot_be_a_directory_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    taken = tmp_path / name
    is_file = len(name) < 255
    if is_file:
        taken.write_text("x")
    events = write_ndjson(tmp_path / "events.ndjson", BUSINESS_EVENTS)
    assert main(["--data-dir", str(taken), "ingest", str(events)]) == 1
    message = capsys.readouterr().err
    expected = (
        f"flowledger: data directory {taken} is not a directory\n"
        if is_file
        else f"flowledger: data directory {taken} cannot be created (File name too long)\n"
    )
    assert message == expected


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.json", b"[]"),
        ("empty.ndjson", b""),
        ("blank.ndjson", b"\xef\xbb\xbf\n  \r\n\n"),
        ("unknown_header.csv", b"a,b\n\n"),
    ],
)
def test_a_file_without_records_is_a_zero_row_success(
    data_dir: DataDir, tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    summary = ingest_paths([path], data_dir)
    assert summary.failed_files == [], summary.format()
    (result,) = summary.files
    assert (result.rows_read, result.accepted, result.quarantined) == (0, 0, 0)
    assert summary.format().splitlines()[1].split() == [name, "-", "0", "0", "0", "0", "0"]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_csv_header_alone_is_a_zero_row_success_with_or_without_a_line_end(
    data_dir: DataDir, tmp_path: Path, ending: bytes, bom: bytes
) -> None:
    path = tmp_path / "runs.csv"
    path.write_bytes(bom + b'source_system,flow_id,"run_id",status,started_at' + ending)
    summary = ingest_paths([path], data_dir)
    assert summary.failed_files == [], summary.format()
    (result,) = summary.files
    assert result.kind is RecordKind.FLOW_RUN
    assert (result.rows_read, result.accepted, result.quarantined) == (0, 0, 0)
    assert query(data_dir, "select rows_read, accepted from raw.ingest_batches") == [(0, 0)]


def test_a_file_with_records_of_no_known_kind_is_still_refused(
    data_dir: DataDir, tmp_path: Path
) -> None:
    path = tmp_path / "other.ndjson"
    path.write_text('{"a": 1}\n')
    (result,) = ingest_paths([path], data_dir).files
    assert result.error is not None
    assert "cannot tell the record kind from its columns (a)" in result.error


def test_a_collision_repeated_in_a_file_is_one_collision_then_duplicates(
    data_dir: DataDir, tmp_path: Path
) -> None:
    event = BUSINESS_EVENTS[0]
    other = {**event, "subject": "O-other"}
    third = {**event, "subject": "O-third"}
    path = write_ndjson(
        tmp_path / "events.ndjson", [event, event, other, other, BUSINESS_EVENTS[1]]
    )
    (result,) = ingest_paths([path], data_dir).files
    assert (result.accepted, result.duplicates, result.collisions) == (2, 2, 1)
    # against a stored key too: the new payload is one collision, its repeat a duplicate
    later = write_ndjson(tmp_path / "later.ndjson", [third, third, other])
    (again,) = ingest_paths([later], data_dir).files
    assert (again.accepted, again.duplicates, again.collisions) == (0, 2, 1)
    assert query(data_dir, "select row_number from raw.ingest_collisions order by all") == [
        (1,),
        (3,),
    ]


#: A flow run whose producer misnamed ``run_id``, with other fields no contract lists.
MISNAMED_RUN = {
    **{name: value for name, value in FLOW_RUNS[0].items() if name != "run_id"},
    "runid": "r-9",
    "api_token": "s3cr3t-value-123",
    "contact_email": "Bob@Example.com",
    "card": "4111 1111 1111 1111",
}
MISNAMED_WRITERS = {
    "ndjson": write_ndjson,
    "ndjson line by line": lambda path, records: write_lines(
        path, [json.dumps(record) for record in records] + ["{broken"]
    ),
    "json": write_json_array,
    "csv": write_csv,
    "parquet": write_parquet,
}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


@pytest.mark.parametrize("reader", MISNAMED_WRITERS)
def test_a_quarantined_record_keeps_its_fields_the_contract_does_not_know_scrubbed(
    data_dir: DataDir, tmp_path: Path, reader: str
) -> None:
    suffix = "ndjson" if reader.startswith("ndjson") else reader
    path = MISNAMED_WRITERS[reader](tmp_path / f"runs.{suffix}", [FLOW_RUNS[1], MISNAMED_RUN])
    (result,) = ingest_paths([path], data_dir).files
    assert (result.accepted, result.quarantined) == (1, 1 + (reader == "ndjson line by line"))
    ((reason, raw_record),) = query(
        data_dir, "select reason, raw_record from raw.quarantine where row_number = 2"
    )
    assert reason == "run_id: missing (required)"
    raw = json.loads(raw_record)
    pii_key = (data_dir.root / "secrets" / "pii.key").read_bytes()
    assert (raw["runid"], raw["flow_id"], raw["api_token"]) == (
        "r-9",
        "c2f-order-intake",
        "[REDACTED:secret]",
    )
    assert raw["contact_email"] == expected_pseudonym("Bob@Example.com", pii_key)
    assert raw["card"] == "[CARD ****1111]"
    # ingested again: the quarantined record is a repeat, not a second quarantine row
    (again,) = ingest_paths([path], data_dir).files
    assert (again.quarantined, again.duplicates) == (0, 2 + (reader == "ndjson line by line"))
    assert query(data_dir, "select count(*) from raw.quarantine") == [
        (1 + (reader == "ndjson line by line"),)
    ]


def test_a_quarantined_ndjson_record_is_the_same_whichever_path_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWLEDGER_PII_KEY", "one key for both data directories")
    lines = [json.dumps(FLOW_RUNS[1]), json.dumps(MISNAMED_RUN)]
    raw_records = []
    for name, tail in [("block", []), ("line by line", ["{broken"])]:
        data_dir = DataDir(tmp_path / name).ensure()
        path = write_lines(tmp_path / f"{name}.ndjson", lines + tail)
        ingest_paths([path], data_dir)
        raw_records += query(data_dir, "select raw_record from raw.quarantine where row_number = 2")
    block, line_by_line = raw_records
    assert block == line_by_line


def test_parquet_quarantine_rows_hold_every_column_whatever_the_row_group(
    data_dir: DataDir, tmp_path: Path
) -> None:
    runs = [
        {**FLOW_RUNS[0], "run_id": f"r-{n}", "status": "exploded" if n in (2, 7) else "success"}
        for n in range(1, 9)
    ]
    path = tmp_path / "runs.parquet"
    frame = pl.DataFrame(runs).with_columns(extra_n=pl.int_range(1, 9, dtype=pl.Int32))
    frame.write_parquet(path, row_group_size=3)
    (result,) = ingest_paths([path], data_dir, batch_rows=2).files
    assert (result.accepted, result.quarantined) == (6, 2)
    rows = query(data_dir, "select row_number, raw_record from raw.quarantine order by 1")
    held = [(number, json.loads(raw)["run_id"], json.loads(raw)["extra_n"]) for number, raw in rows]
    assert held == [(2, "r-2", 2), (7, "r-7", 7)]


def test_parquet_quarantine_rows_keep_their_values_types(data_dir: DataDir, tmp_path: Path) -> None:
    """The raw row of a Parquet record is the row as the file types it: numbers and booleans
    stay JSON numbers and booleans, nested values objects, date-times text (as in NDJSON)."""
    run = {**FLOW_RUNS[0], "run_id": "r-1", "status": "exploded"}
    frame = pl.DataFrame([run]).with_columns(
        pl.lit(3, dtype=pl.Int64).alias("run_attempt"),
        pl.lit(2.5).alias("cost_eur"),
        pl.lit(True).alias("dead_lettered"),
        pl.lit("2026-03-01T10:00:00").str.to_datetime(time_unit="us").alias("started_at"),
        pl.struct(pl.lit("a").alias("k"), pl.lit(1).alias("n")).alias("extra"),
        pl.lit(float("nan")).alias("ratio"),
        pl.lit(0.1, dtype=pl.Float32).alias("share"),
    )
    path = tmp_path / "runs.parquet"
    frame.write_parquet(path)
    (result,) = ingest_paths([path], data_dir).files
    assert result.quarantined == 1
    (raw,) = query(data_dir, "select raw_record from raw.quarantine")[0]
    record = json.loads(raw)
    assert record["run_attempt"] == 3 and record["cost_eur"] == 2.5
    assert record["dead_lettered"] is True and record["extra"] == {"k": "a", "n": 1}
    assert record["started_at"] == "2026-03-01T10:00:00Z"
    # valid JSON still: NaN as a string (it was written bare), a float32 as its own digits
    strict = json.loads(raw, parse_constant=lambda name: pytest.fail(f"bare {name}"))
    assert (strict["ratio"], strict["share"]) == ("NaN", "0.1")


def test_ndjson_quarantine_rows_hold_their_own_line_in_every_block(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """Blocks of 4 KiB, a byte-order mark and blank lines: each quarantined record is the line
    it came from, read again from the file, and its row number is that line's number (blank
    lines counted, as an editor numbers them)."""
    lines = []
    for n in range(1, 61):
        run = {**FLOW_RUNS[0], "run_id": f"r-{n}", "note": "x" * 40}
        if n % 7 == 0:
            run = {**{k: v for k, v in run.items() if k != "run_id"}, "runid": f"r-{n}"}
        lines.append(json.dumps(run) + ("\n\n" if n % 11 == 0 else "\n"))
    path = tmp_path / "runs.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode())
    (result,) = ingest_paths([path], data_dir, batch_rows=2).files
    assert (result.rows_read, result.quarantined) == (60, 8)
    rows = query(data_dir, "select row_number, raw_record from raw.quarantine order by 1")
    # record n is on line n plus the blank lines after records 11, 22, … before it
    assert [(number, json.loads(raw)["runid"]) for number, raw in rows] == [
        (n + (n - 1) // 11, f"r-{n}") for n in range(7, 61, 7)
    ]


@pytest.mark.parametrize("broken", [False, True], ids=["read-by-polars", "read-line-by-line"])
def test_ndjson_row_numbers_are_line_numbers(
    data_dir: DataDir, tmp_path: Path, broken: bool
) -> None:
    """A quarantined row says which line of the file to open, blank lines or not, whether polars
    read its block or a line polars refused made the reader go line by line."""
    good = json.dumps(FLOW_RUNS[0])
    bad = json.dumps({**FLOW_RUNS[0], "run_id": "r-bad", "status": "exploded"})
    lines = [
        "",
        good,
        "",
        "  ",
        bad,
        "{broken" if broken else "",
        "\t",
        bad.replace("r-bad", "r-2"),
    ]
    path = tmp_path / "runs.ndjson"
    path.write_text("\n".join(lines) + "\n\n")
    (result,) = ingest_paths([path], data_dir).files
    assert result.quarantined == (3 if broken else 2)
    rows = query(data_dir, "select row_number, raw_record from raw.quarantine order by 1")
    expected = [(5, bad), (6, '"{broken"'), (8, bad.replace("r-bad", "r-2"))]
    assert [tuple(row) for row in rows] == [row for row in expected if broken or row[0] != 6]


def test_a_key_the_scrubber_would_rewrite_is_quarantined_not_merged(
    data_dir: DataDir, tmp_path: Path
) -> None:
    # Two events whose ids differ only in what the scrubber redacts: stored under the redacted
    # id they were one event, the second dropped as its duplicate without a word.
    first, _ = BUSINESS_EVENTS
    events = [
        {**first, "id": "session_id=abc123def456"},
        {**first, "id": "session_id=zzz999yyy888"},
    ]
    path = tmp_path / "keys.ndjson"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    (result,) = ingest_paths([path], data_dir).files
    assert (result.accepted, result.duplicates, result.quarantined) == (0, 0, 2)
    reasons = [row[0] for row in query(data_dir, "select reason from raw.quarantine")]
    assert len(set(reasons)) == 2
    assert all(
        r.startswith("id: a key field holds what the scrubber redacts") and "abc123" not in r
        for r in reasons
    )
    # sent again, both are duplicates of what is kept aside
    (again,) = ingest_paths([path], data_dir).files
    assert (again.quarantined, again.duplicates) == (0, 2)


def _struct_events(path: Path, data: list[dict]) -> Path:
    """Business events whose ``data`` is a Parquet struct (as pandas and polars write a column
    of dicts), one per ``data``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(data)
    pq.write_table(
        pa.table(
            {
                "specversion": ["1.0"] * n,
                "id": [f"s-{i}" for i in range(n)],
                "source": ["/acme/shop"] * n,
                "type": ["com.acme.shop.order.placed"] * n,
                "time": ["2026-08-01T09:00:00Z"] * n,
                "data": pa.array(data),
            }
        ),
        path,
    )
    return path


def test_a_parquet_struct_holding_bytes_is_read_not_a_crash_of_every_file(
    data_dir: DataDir, tmp_path: Path
) -> None:
    # polars' JSON encoder panicked on bytes (a BaseException, which stopped every file after)
    events = _struct_events(tmp_path / "bytes.parquet", [{"order_id": "O-1", "blob": b"\x00\x01"}])
    runs = write_ndjson(tmp_path / "runs.ndjson", FLOW_RUNS)
    summary = ingest_paths([events, runs], data_dir)
    assert [(r.error, r.accepted) for r in summary.files] == [(None, 1), (None, len(FLOW_RUNS))]
    assert query(data_dir, "select data from raw.business_events") == [
        ('{"blob":"AAE=","order_id":"O-1"}',)
    ]


def test_nan_and_infinity_in_a_parquet_struct_are_quarantined_not_nulled(
    data_dir: DataDir, tmp_path: Path
) -> None:
    path = _struct_events(
        tmp_path / "nan.parquet",
        [{"order_id": "O-1", "amount": float("inf")}, {"order_id": "O-2", "amount": float("nan")}],
    )
    (result,) = ingest_paths([path], data_dir).files
    assert (result.accepted, result.quarantined) == (0, 2)
    reasons = sorted(row[0] for row in query(data_dir, "select reason from raw.quarantine"))
    assert reasons == [
        "data.amount: Infinity is not valid JSON (JSON numbers are finite; write null)",
        "data.amount: NaN is not valid JSON (JSON numbers are finite; write null)",
    ]


def test_the_same_events_as_ndjson_and_as_a_parquet_struct_are_duplicates(
    data_dir: DataDir, tmp_path: Path
) -> None:
    # every row of a struct column has every field: the nulls of the fields an event lacks, and
    # a decimal written as text, made each event a collision with itself
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    data = [{"order_id": "O-1", "amount": 158.6}, {"order_id": "O-1", "payment_status": "ok"}]
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text(
        "".join(
            json.dumps({"specversion": "1.0", "id": f"s-{i}", "source": "/acme/shop",
                        "type": "com.acme.shop.order.placed", "time": "2026-08-01T09:00:00Z",
                        "data": d}) + "\n"
            for i, d in enumerate(data)
        )
    )  # fmt: skip
    parquet = _struct_events(tmp_path / "events.parquet", data)
    table = pq.read_table(parquet)
    amount = pa.array([Decimal("158.60"), None], type=pa.decimal128(10, 2))
    decimals = tmp_path / "decimals.parquet"
    data_type = pa.struct(
        [
            ("order_id", pa.string()),
            ("amount", pa.decimal128(10, 2)),
            ("payment_status", pa.string()),
        ]
    )
    structs = pa.StructArray.from_arrays(
        [pa.array(["O-1", "O-1"]), amount, pa.array([None, "ok"])],
        fields=list(data_type),
    )
    pq.write_table(table.set_column(5, "data", structs), decimals)
    results = ingest_paths([ndjson, parquet, decimals], data_dir).files
    assert [(r.accepted, r.duplicates, r.collisions) for r in results] == [
        (2, 0, 0),
        (0, 2, 0),
        (0, 2, 0),
    ]


def test_a_csv_quote_never_closed_refuses_the_file_saying_where(
    data_dir: DataDir, tmp_path: Path
) -> None:
    # pyarrow read the unclosed field to the end of the file: one ragged row, quarantined, and
    # every record after it neither landed nor kept (rows_read 1 for a file of 4)
    path = tmp_path / "stray.csv"
    path.write_text(
        "source_system,flow_id,flow_name,run_id,status,started_at\n"
        'n8n,f,"Import 3.5 disks,r1,success,2026-08-01T09:00:00Z\n'
        "n8n,f,F,r2,success,2026-08-01T09:01:00Z\n"
        "n8n,f,F,r3,success,2026-08-01T09:02:00Z\n"
    )
    literal = tmp_path / "inches.csv"  # a quote inside an unquoted field is read as written
    literal.write_text(
        "source_system,flow_id,flow_name,run_id,status,started_at\n"
        'n8n,f,Monitor 27" stock,r9,success,2026-08-01T09:00:00Z\n'
    )
    stray, inches = ingest_paths([path, literal], data_dir).files
    assert stray.error == (
        f"{path}: the quoted field that starts on line 2 is never closed, so every line after it "
        "would be read as part of one value; close the quote (a quote inside a quoted field is "
        'written twice: "") and ingest the file again'
    )
    assert (inches.error, inches.accepted) == (None, 1)
    assert query(data_dir, "select count(*) from raw.quarantine") == [(0,)]


def test_a_secret_in_the_file_path_is_not_stored(data_dir: DataDir, tmp_path: Path) -> None:
    token = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    folder = tmp_path / f"token={token}"
    folder.mkdir()
    path = write_ndjson(folder / "runs.ndjson", FLOW_RUNS)
    (result,) = ingest_paths([path], data_dir).files
    assert result.accepted == len(FLOW_RUNS)
    stored = query(
        data_dir,
        "select distinct _source_file from raw.flow_runs "
        "union all select source_file from raw.ingest_batches",
    )
    assert stored and all(token not in row[0] and "[REDACTED" in row[0] for row in stored)
    landing = data_dir.root / "landing"
    assert not any(token.encode() in f.read_bytes() for f in landing.rglob("*") if f.is_file())


def test_a_csv_header_in_upper_case_is_read_as_the_contract_spells_it(
    data_dir: DataDir, tmp_path: Path
) -> None:
    # an export's own header style (RUN_ID, IDEMPOTENCY_KEY): every row was quarantined, and
    # the classified idempotency key kept in clear text in its raw record
    runs = [{**run, "idempotency_key": f"key-{i}"} for i, run in enumerate(FLOW_RUNS)]
    upper = write_csv(tmp_path / "upper.csv", [{k.upper(): v for k, v in r.items()} for r in runs])
    lower = write_csv(tmp_path / "lower.csv", runs)
    first, again = ingest_paths([upper, lower], data_dir).files
    assert (first.accepted, first.quarantined) == (len(runs), 0)
    assert (again.accepted, again.duplicates) == (0, len(runs))  # the same records
    keys = query(data_dir, "select idempotency_key from raw.flow_runs")
    assert all(key.startswith("<pii:") for (key,) in keys)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_csv_with_another_separator_is_read(
    data_dir: DataDir, tmp_path: Path, delimiter: str
) -> None:
    # Excel's semicolons (German, French, Dutch settings): every row was quarantined as one
    # field, its classified idempotency key in clear text in the quarantine
    runs = [
        {**run, "idempotency_key": f"key-{i}", "error_message": f"line one\nline{delimiter} two"}
        for i, run in enumerate(FLOW_RUNS)
    ]
    path = write_csv(tmp_path / "runs.csv", runs, delimiter=delimiter)
    (result,) = ingest_paths([path], data_dir).files
    assert (result.kind, result.accepted, result.quarantined) == (
        RecordKind.FLOW_RUN, len(runs), 0
    )  # fmt: skip
    stored = query(data_dir, "select idempotency_key, error_message from raw.flow_runs")
    assert all(key.startswith("<pii:") for key, _ in stored)
    assert {message for _, message in stored} == {f"line one\nline{delimiter} two"}


def test_a_windows_csv_export_is_read_in_its_encoding(data_dir: DataDir, tmp_path: Path) -> None:
    runs = [{**run, "flow_name": "Auftragsprüfung"} for run in FLOW_RUNS]
    path = write_csv(tmp_path / "runs.csv", runs, delimiter=";", encoding="cp1252")
    (result,) = ingest_paths([path], data_dir).files
    assert (result.accepted, result.quarantined) == (len(runs), 0)
    assert query(data_dir, "select distinct flow_name from raw.flow_runs") == [("Auftragsprüfung",)]


def test_csv_header_styles_are_read_as_the_contract_spells_them(
    data_dir: DataDir, tmp_path: Path
) -> None:
    # `Ended At`, `business-key`, `errorMessage`: accepted rows had lost these values silently
    styles = {
        "ended_at": "Ended At",
        "business_key": "business-key",
        "error_message": "errorMessage",
        "idempotency_key": "Idempotency Key",
        "run_id": "runID",
    }
    runs = [
        {**run, "business_key": f"O-{i}", "error_message": "boom", "idempotency_key": f"k{i}"}
        for i, run in enumerate(FLOW_RUNS)
    ]
    styled = [{styles.get(k, k): v for k, v in run.items()} | {"agent": "bob"} for run in runs]
    (result,) = ingest_paths([write_csv(tmp_path / "runs.csv", styled)], data_dir).files
    assert (result.accepted, result.quarantined) == (len(runs), 0)
    stored = query(
        data_dir,
        "select run_id, ended_at is not null, business_key, error_message, "
        "idempotency_key like '<pii:%' from raw.flow_runs order by run_id",
    )
    assert stored == sorted(
        (run["run_id"], run.get("ended_at") is not None, run["business_key"], "boom", True)
        for run in runs
    )
    assert result.notes == [
        "column agent is not in the flow_run contract: not stored (docs/contracts.md lists its "
        "fields; rename a column to store it)"
    ]


def test_a_classified_field_spelt_otherwise_is_redacted_in_the_quarantine(
    data_dir: DataDir, tmp_path: Path
) -> None:
    from ingest.contracts import load_contracts
    from ingest.scrub import scrubber_for

    scrubber = scrubber_for(load_contracts()[RecordKind.FLOW_RUN])
    record = {"Idempotency Key": "order-42", "idempotency-key": "order-43", "run_id": "r1"}
    scrubbed = scrubber.scrub_record(record, lambda: b"k")
    assert scrubbed["run_id"] == "r1"
    assert all(
        scrubbed[name].startswith("<pii:") for name in ("Idempotency Key", "idempotency-key")
    )


def test_flow_runs_that_carry_their_current_step_are_flow_runs(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """A run export with the step it stopped at (step_id, step_name) is flow runs: only that
    kind's required fields are all there (a step run needs its attempt)."""
    runs = [{**run, "step_id": "s-2", "step_name": "Create order"} for run in FLOW_RUNS]
    (result,) = ingest_paths([write_ndjson(tmp_path / "runs.ndjson", runs)], data_dir).files
    assert result.kind is RecordKind.FLOW_RUN
    assert (result.accepted, result.quarantined) == (len(FLOW_RUNS), 0)


def test_step_runs_that_carry_their_flow_name_are_step_runs(
    data_dir: DataDir, tmp_path: Path
) -> None:
    step = {
        "source_system": "n8n", "run_id": "r-1", "run_attempt": 1, "step_id": "s-1",
        "attempt": 1, "step_name": "Fetch", "status": "success",
        "started_at": "2026-08-01T09:00:03Z", "flow_name": "Order intake",
    }  # fmt: skip
    (result,) = ingest_paths([write_ndjson(tmp_path / "steps.ndjson", [step])], data_dir).files
    assert result.kind is RecordKind.STEP_RUN


def test_a_file_that_could_be_runs_or_steps_asks_for_its_kind(
    data_dir: DataDir, tmp_path: Path
) -> None:
    path = write_ndjson(
        tmp_path / "both.ndjson", [{"run_id": "r", "flow_name": "F", "step_id": "s"}]
    )
    (result,) = ingest_paths([path], data_dir).files
    assert result.error is not None
    assert "pass --kind" in result.error


def test_run_times_without_a_utc_offset_are_read_as_utc_and_said_so(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """A local-time export (`2026-11-03 12:34:00`) landed as UTC without a word."""
    run = {**FLOW_RUNS[0], "started_at": "2026-08-01 11:00:02", "queued_at": None}
    run.pop("ended_at", None)
    summary = ingest_paths([write_csv(tmp_path / "runs.csv", [run])], data_dir)
    (result,) = summary.files
    assert result.accepted == 1
    assert result.notes == [
        "started_at '2026-08-01 11:00:02' (row 1) has no UTC offset, nor may others: read as "
        "UTC. If the export is in local time, add the offset (+02:00) or convert it to UTC and "
        "ingest it again."
    ]
    assert "note: runs.csv: started_at '2026-08-01 11:00:02' (row 1)" in summary.format()
    # with offsets, no note
    (clean,) = ingest_paths([write_ndjson(tmp_path / "ok.ndjson", FLOW_RUNS[1:])], data_dir).files
    assert clean.notes == []


@pytest.mark.parametrize("zone", [None, "UTC", "Europe/Berlin"])
def test_parquet_times_without_a_zone_are_read_as_utc_and_said_so(
    data_dir: DataDir, tmp_path: Path, zone: str | None
) -> None:
    """A Parquet timestamp column without a time zone (polars', pandas' naive datetimes) is
    read as UTC: said, as for text without an offset (it landed without a word)."""
    from datetime import datetime

    started = pl.Series("started_at", [datetime(2026, 8, 1, 11, 0, 2)]).dt.cast_time_unit("us")
    if zone is not None:
        started = started.dt.replace_time_zone(zone)
    run = {
        k: v for k, v in FLOW_RUNS[0].items() if k not in ("started_at", "ended_at", "queued_at")
    }
    frame = pl.DataFrame({**{k: [v] for k, v in run.items()}, "started_at": started})
    path = tmp_path / "runs.parquet"
    frame.write_parquet(path)
    (result,) = ingest_paths([path], data_dir).files
    assert result.accepted == 1
    naive_note = (
        "started_at is a timestamp column without a time zone, nor may others: read as UTC. If "
        "the export is in local time, write the column with its zone (or convert it to UTC) and "
        "ingest it again."
    )
    assert result.notes == ([naive_note] if zone is None else [])


def test_quarantine_reasons_are_told_and_listed(
    data_dir: DataDir, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ingest prints a file's most frequent quarantine reasons, and `flowledger quarantine`
    lists the rows: a user had to open the warehouse with DuckDB to learn why."""
    runs = [{**run, "status": "yes"} for run in FLOW_RUNS] + [
        {**FLOW_RUNS[0], "run_id": "late", "started_at": "nope"}
    ]
    path = write_ndjson(tmp_path / "runs.ndjson", runs)
    args = ["--data-dir", str(data_dir.root)]
    assert main([*args, "ingest", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "quarantined: runs.ndjson: 3 × status: 'yes' is not one of queued, running, success, "
        "failed, cancelled, timed_out, skipped, waiting, unknown\n"
        "quarantined: runs.ndjson: 1 × started_at: 'nope' is not an RFC 3339 timestamp\n"
        "every quarantined row, its reason and record: flowledger quarantine"
    ) in out
    assert main([*args, "quarantine", "--json", "--file", "runs.ndjson"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted((row["row_number"], row["reason"][:10]) for row in rows) == [
        (1, "status: 'y"), (2, "status: 'y"), (3, "status: 'y"), (4, "started_at")
    ]  # fmt: skip
    assert json.loads(rows[0]["raw_record"])["run_id"] in {run["run_id"] for run in runs}
    assert main([*args, "quarantine", "--file", "other.csv"]) == 0
    assert capsys.readouterr().out == "no quarantined row of a file whose path holds 'other.csv'\n"
    assert main([*args, "quarantine", "--limit", "1"]) == 0
    listed = capsys.readouterr().out
    assert listed.count(" row ") == 1
    # it stopped at the limit without a word
    assert listed.endswith("… the newest 1 of 4 rows: --limit 4 lists them all\n")
    # a rejection found by its batch (the receiver's request_id): the listing did not show it
    batch = rows[0]["batch_id"]
    assert main([*args, "quarantine", "--batch", batch]) == 0
    listed = capsys.readouterr().out
    assert listed.count(" row ") == 4 and f"batch {batch}" in listed
    assert main([*args, "quarantine", "--batch", "no-such-request"]) == 0
    assert capsys.readouterr().out == "no quarantined row in batch or request 'no-such-request'\n"


def test_quarantine_before_any_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "quarantine"]) == 1
    assert "nothing is ingested" in capsys.readouterr().err


def test_ibans_in_event_data_and_run_errors_are_masked_at_ingest(
    data_dir: DataDir, tmp_path: Path
) -> None:
    event = {
        "specversion": "1.0", "id": "e1", "source": "/acme/erp", "type": "com.acme.refund.issued",
        "time": "2026-08-01T10:00:00Z",
        "data": {"order_id": "O-1", "payment_iban": "DE89 3704 0044 0532 0130 00",
                 "note": "paid back to GB82WEST12345698765432"},
    }  # fmt: skip
    run = {**FLOW_RUNS[0], "error_message": "refund to NL91ABNA0417164300 bounced"}
    paths = [
        write_ndjson(tmp_path / "e.ndjson", [event]),
        write_ndjson(tmp_path / "r.ndjson", [run]),
    ]
    assert [r.accepted for r in ingest_paths(paths, data_dir).files] == [1, 1]
    (data,) = query(data_dir, "select data from raw.business_events")[0]
    assert json.loads(data)["payment_iban"] == "[IBAN DE89 ****3000]"
    assert json.loads(data)["note"] == "paid back to [IBAN GB82 ****5432]"
    assert query(data_dir, "select error_message from raw.flow_runs") == [
        ("refund to [IBAN NL91 ****4300] bounced",)
    ]


def test_purged_period_reasons_are_one_reason_in_the_summary() -> None:
    """Each purged-period reason names its row's own time: the summary listed them one by one
    ("2 × purged period: time 2026-08-02T18:09…")."""
    import duckdb

    from ingest.quarantine import quarantine_reasons

    con = duckdb.connect()
    con.execute("create schema raw; create table raw.quarantine (batch_id varchar, reason varchar)")
    purged = (
        "purged period: occurred_at {} is before the retention horizon 2026-08-13T00:00:00Z of "
        "raw.business_events (raw.retention_horizons): kept out"
    )
    for time in ("2026-08-02 18:09:00", "2026-08-03 10:00:00", "2026-08-04 00:00:00"):
        con.execute("insert into raw.quarantine values ('b', ?)", [purged.format(time)])
    con.execute("insert into raw.quarantine values ('b', 'status: ''yes'' is not one of x')")
    assert quarantine_reasons(con, "b") == (
        [(purged.format("…"), 3), ("status: 'yes' is not one of x", 1)],
        2,
    )


def test_ingest_prints_no_secret_of_a_path_a_column_name_or_a_value(
    data_dir: DataDir, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The progress lines, the table and its notes printed paths, column names and quoted
    values as given: `exports/token=ghp_…/runs_password=….ndjson`, a header `password=…`.
    Printed lines end up in cron mails and CI logs."""
    token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    folder = tmp_path / f"token={token}"
    folder.mkdir()
    rows = [{**FLOW_RUNS[0], "password=Hunter22secret": "x"}, {**FLOW_RUNS[1], "status": "yes"}]
    path = write_ndjson(folder / "runs_password=Hunter22file.ndjson", rows)
    assert main(["--data-dir", str(data_dir.root), "ingest", str(path)]) == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    for secret in (token, "Hunter22secret", "Hunter22file"):
        assert secret not in printed, printed
    assert "[REDACTED:" in printed and "not in the flow_run contract" in printed


def test_bytes_holding_text_are_read_as_text_and_scrubbed(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """Parquet bytes were stored as base64, out of every scrubbing rule's sight: a password and
    a token in a struct's bytes landed decodable, and a classified name sent as bytes was
    pseudonymised from its base64 (never matching the same name sent as text)."""
    secret = b"password=Hunter22bytes ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    events = _struct_events(
        tmp_path / "bytes.parquet",
        [{"order_id": "O-1", "blob": secret, "hash": b"\x00\xff\x10", "note": b"ok"}],
    )
    assert ingest_paths([events], data_dir).files[0].accepted == 1
    ((stored,),) = query(data_dir, "select data from raw.business_events")
    assert json.loads(stored) == {
        "blob": "password=[REDACTED:secret] [REDACTED:github_token]",
        "hash": "AP8Q",
        "note": "ok",
        "order_id": "O-1",
    }


NOT_KEYS = [
    ({"run_id": {"id": "o2"}}, "run_id: a JSON object is not a key (keys are strings or numbers)"),
    ({"run_id": ["a", "b"]}, "run_id: a JSON array is not a key (keys are strings or numbers)"),
    (
        {"source_system": True, "run_id": False},
        "source_system: a JSON boolean is not a key (keys are strings or numbers); "
        "run_id: a JSON boolean is not a key (keys are strings or numbers)",
    ),
]


@pytest.mark.parametrize("form", ["ndjson", "ndjson-line-by-line", "json", "parquet"])
def test_a_key_given_as_an_object_array_or_boolean_is_quarantined(
    data_dir: DataDir, tmp_path: Path, form: str
) -> None:
    """`"run_id": {"id": "o2"}` was stored as the key text `{"id": "o2"}` (and `true` as the key
    `true`): keys that join nothing. Quarantined with a reason, on every JSON-typed path; the
    text `"true"` or `"{x}"` is a key like any, and an object in another string field is kept
    as its JSON text."""
    runs = [
        {**FLOW_RUNS[0], "run_id": f"r-{n}", **change} for n, (change, _) in enumerate(NOT_KEYS)
    ]
    runs[2]["run_attempt"] = 2  # each its own key
    runs.append({**FLOW_RUNS[0], "run_id": "true", "error_message": {"code": 7}})
    runs.append({**FLOW_RUNS[0], "run_id": "{x}"})
    path = tmp_path / f"runs.{'parquet' if form == 'parquet' else form.split('-')[0]}"
    if form == "json":
        path.write_text(json.dumps(runs))
    elif form == "parquet":  # each bad row alone: a Parquet column has one type
        for n, run in enumerate(runs):
            pl.DataFrame([run]).write_parquet(tmp_path / f"runs-{n}.parquet")
    else:
        lines = [json.dumps(run) for run in runs]
        if form == "ndjson-line-by-line":
            lines.append("{broken")
        path.write_text("\n".join(lines) + "\n")
    paths = sorted(tmp_path.glob("runs-*.parquet")) if form == "parquet" else [path]
    summary = ingest_paths(paths, data_dir)
    quarantined = sum(result.quarantined for result in summary.files)
    assert quarantined == len(NOT_KEYS) + (form == "ndjson-line-by-line")
    reasons = sorted(row[0] for row in query(data_dir, "select reason from raw.quarantine"))
    expected = sorted(reason for _, reason in NOT_KEYS)
    assert [r for r in reasons if "not a key" in r] == expected
    stored = query(data_dir, "select run_id, error_message from raw.flow_runs order by run_id")
    assert [(key, message and json.loads(message)) for key, message in stored] == [
        ("true", {"code": 7}),
        ("{x}", None),
    ]
