"""Edge cases an adversarial file corpus found: each lands, or is refused, with a clear reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ingest_test_files import BUSINESS_EVENTS, query, write_ndjson

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
