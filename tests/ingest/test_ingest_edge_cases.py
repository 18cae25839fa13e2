"""Edge cases an adversarial file corpus found: each lands, or is refused, with a clear reason."""

from __future__ import annotations

import json
from pathlib import Path

from ingest_test_files import BUSINESS_EVENTS, query

from flowledger.settings import DataDir
from ingest import ingest_paths


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
