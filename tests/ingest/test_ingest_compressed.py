"""Compressed exports (``.gz``, ``.bz2``, ``.xz``) land as the file they hold, or are refused."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from pathlib import Path

import polars as pl
import pytest
from ingest_test_files import BUSINESS_EVENTS, FLOW_RUNS, query

from flowledger.settings import DataDir
from ingest import ingest_paths

COMPRESSORS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def ndjson(records: list[dict]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_a_compressed_ndjson_file_lands_as_the_ndjson_it_holds(
    data_dir: DataDir, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"events.ndjson{suffix}"
    path.write_bytes(COMPRESSORS[suffix](ndjson(BUSINESS_EVENTS) + b"{not json\n"))
    (result,) = ingest_paths([path], data_dir).files
    assert (result.path, result.rows_read, result.accepted, result.quarantined) == (path, 3, 2, 1)
    # the batch is recorded under the file as it was given, the quarantined line read back
    # from the decompressed copy
    assert query(data_dir, "select distinct _source_file from raw.business_events") == [
        (str(path.resolve()),)
    ]
    ((row_number, record),) = query(data_dir, "select row_number, raw_record from raw.quarantine")
    assert (row_number, json.loads(record)) == (3, "{not json")
    # the scratch copy is gone, and a second delivery of the same file is all duplicates (the
    # broken line too: it is in the quarantine already)
    assert not list(data_dir.root.glob(".ingest-*"))
    (again,) = ingest_paths([path], data_dir).files
    assert (again.accepted, again.duplicates, again.quarantined) == (0, 3, 0)


def test_compressed_csv_and_parquet_land_too(data_dir: DataDir, tmp_path: Path) -> None:
    frame = pl.DataFrame(FLOW_RUNS)
    csv = tmp_path / "runs.csv.gz"
    csv.write_bytes(gzip.compress(frame.write_csv().encode()))
    parquet_bytes = io.BytesIO()
    frame.write_parquet(parquet_bytes)
    parquet = tmp_path / "runs-2.parquet.bz2"
    parquet.write_bytes(bz2.compress(parquet_bytes.getvalue()))
    results = ingest_paths([csv, parquet], data_dir).files
    assert [(r.accepted, r.duplicates, r.error) for r in results] == [
        (len(FLOW_RUNS), 0, None),
        (0, len(FLOW_RUNS), None),
    ]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "events.ndjson.gz",
            gzip.compress(ndjson(BUSINESS_EVENTS))[:40],
            "cannot be decompressed as .gz (the file is cut short",
        ),
        ("events.ndjson.gz", ndjson(BUSINESS_EVENTS), "cannot be decompressed as .gz (Not a gzip"),
        ("events.ndjson.xz", gzip.compress(b"{}\n"), "cannot be decompressed as .xz ("),
        ("export.gz", gzip.compress(ndjson(BUSINESS_EVENTS)), "a compressed file is read as the"),
    ],
    ids=["truncated", "not-gzip", "not-xz", "no-format-in-the-name"],
)
def test_a_compressed_file_that_cannot_be_read_is_refused_with_the_reason(
    data_dir: DataDir, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    good = tmp_path / "runs.ndjson.gz"
    good.write_bytes(gzip.compress(ndjson(FLOW_RUNS)))
    refused, landed = ingest_paths([path, good], data_dir).files
    assert refused.error is not None and refused.error.startswith(f"{path}: {reason}")
    assert (refused.accepted, landed.accepted, landed.error) == (0, len(FLOW_RUNS), None)
    assert query(data_dir, "select count(*) from raw.business_events") == [(0,)]
    assert not list(data_dir.root.glob(".ingest-*"))


def test_a_directory_stands_for_every_file_under_it(data_dir: DataDir, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    (exports / "2026" / "12" / "07").mkdir(parents=True)
    (exports / "2026" / "12" / "07" / "events.ndjson.gz").write_bytes(
        gzip.compress(ndjson(BUSINESS_EVENTS))
    )
    (exports / "runs.ndjson").write_bytes(ndjson(FLOW_RUNS))
    (exports / "notes.txt").write_text("not an export")
    (exports / ".DS_Store").write_bytes(b"\0")
    (exports / ".cache").mkdir()
    (exports / ".cache" / "old.ndjson").write_bytes(ndjson(FLOW_RUNS))
    (tmp_path / "empty").mkdir()
    summary = ingest_paths([exports, tmp_path / "empty"], data_dir)
    assert [(r.path.relative_to(tmp_path).as_posix(), r.accepted) for r in summary.files] == [
        ("exports/2026/12/07/events.ndjson.gz", len(BUSINESS_EVENTS)),
        ("exports/notes.txt", 0),
        ("exports/runs.ndjson", len(FLOW_RUNS)),
        ("empty", 0),
    ]
    errors = [r.error for r in summary.files]
    assert errors[0] is None and errors[2] is None
    assert errors[1] is not None and "unsupported file type '.txt'" in errors[1]
    assert errors[3] == f"{tmp_path / 'empty'}: a directory without any file to ingest"


def test_a_scratch_copy_left_by_a_stopped_ingest_is_removed_by_the_next(
    data_dir: DataDir, tmp_path: Path
) -> None:
    ingest_paths([], data_dir)
    stale = data_dir.root / ".ingest-k1ll3d"
    stale.mkdir()
    (stale / "runs.ndjson").write_bytes(ndjson(FLOW_RUNS))
    path = tmp_path / "runs.ndjson.gz"
    path.write_bytes(gzip.compress(ndjson(FLOW_RUNS)))
    (result,) = ingest_paths([path], data_dir).files
    assert result.accepted == len(FLOW_RUNS)
    assert not stale.exists()
