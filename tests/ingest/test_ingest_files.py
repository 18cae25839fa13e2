"""End to end: files in, raw tables, quarantine, collisions and landing Parquet out."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
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

from flowledger.settings import DataDir
from ingest import RecordKind, ingest_paths
from ingest.readers import open_source
from ingest.scrub import pseudonymise

WRITERS = {
    "ndjson": write_ndjson,
    "json": write_json_array,
    "csv": write_csv,
    "parquet": write_parquet,
}


def _table_rows(data_dir: DataDir, table: str) -> list[tuple[object, ...]]:
    return query(
        data_dir,
        f"select * exclude (_batch_id, _ingested_at, _source_file) from {table} "
        "order by _row_number",
    )


def test_every_format_lands_the_same_rows_and_hashes(tmp_path: Path) -> None:
    landed: dict[str, tuple[object, ...]] = {}
    for name, write in WRITERS.items():
        data_dir = DataDir(tmp_path / name)
        runs = write(tmp_path / f"runs.{name}", FLOW_RUNS)
        events = write(tmp_path / f"events.{name}", BUSINESS_EVENTS)
        summary = ingest_paths([runs, events], data_dir)
        assert summary.failed_files == [], summary.format()
        assert [(r.kind, r.rows_read, r.accepted) for r in summary.files] == [
            (RecordKind.FLOW_RUN, 3, 3),
            (RecordKind.BUSINESS_EVENT, 2, 2),
        ]
        landed[name] = (
            _table_rows(data_dir, "raw.flow_runs"),
            _table_rows(data_dir, "raw.business_events"),
        )
    assert landed["json"] == landed["ndjson"]
    assert landed["csv"] == landed["ndjson"]
    assert landed["parquet"] == landed["ndjson"]
    runs, events = landed["ndjson"]
    first = runs[0]
    assert first[:3] == ("n8n", None, "c2f-order-intake")
    row = dict(zip(_columns(tmp_path / "ndjson", "raw.flow_runs"), runs[1], strict=False))
    assert (row["run_attempt"], row["raw_status"], row["status"]) == (1, "crashed", "failed")
    started = [
        dict(zip(_columns(tmp_path / "ndjson", "raw.flow_runs"), r, strict=False)) for r in runs
    ]
    assert [str(r["started_at"]) for r in started] == [
        "2026-08-01 09:00:02",
        "2026-08-01 09:10:00",
        "2026-08-01 09:00:00",
    ]
    # object fields land as canonical JSON (keys sorted), the receiver's form
    assert events[0][9] == '{"amount":129.9,"customer_id":"C-42","lines":[1,2],"order_id":"O-1"}'


def _columns(root: Path, table: str) -> list[str]:
    rows = query(
        DataDir(root),
        f"select column_name from information_schema.columns where table_schema || '.' || "
        f"table_name = '{table}' order by ordinal_position",
    )
    return [r[0] for r in rows if r[0] not in ("_batch_id", "_ingested_at", "_source_file")]


def test_ingesting_the_same_file_twice_changes_nothing(data_dir: DataDir, tmp_path: Path) -> None:
    runs = write_ndjson(tmp_path / "runs.ndjson", FLOW_RUNS)
    events = write_csv(tmp_path / "events.csv", BUSINESS_EVENTS)
    first = ingest_paths([runs, events], data_dir)
    snapshot = (
        query(data_dir, "select * from raw.flow_runs order by run_id"),
        query(data_dir, "select * from raw.business_events order by id"),
    )
    second = ingest_paths([runs, events], data_dir)
    assert [(r.accepted, r.duplicates) for r in first.files] == [(3, 0), (2, 0)]
    assert [
        (r.rows_read, r.accepted, r.duplicates, r.collisions, r.quarantined) for r in second.files
    ] == [(3, 0, 3, 0, 0), (2, 0, 2, 0, 0)]
    assert (
        query(data_dir, "select * from raw.flow_runs order by run_id"),
        query(data_dir, "select * from raw.business_events order by id"),
    ) == snapshot
    batches = query(
        data_dir,
        "select record_kind, rows_read, accepted, duplicates from raw.ingest_batches "
        "order by started_at",
    )
    assert batches == [
        ("flow_run", 3, 3, 0),
        ("business_event", 2, 2, 0),
        ("flow_run", 3, 0, 3),
        ("business_event", 2, 0, 2),
    ]
    # one landing file per batch that accepted rows
    assert len(list((data_dir.landing / "flow_runs").glob("*.parquet"))) == 1
    assert len(list((data_dir.landing / "business_events").glob("*.parquet"))) == 1


def test_every_landed_row_carries_its_batch_ingest_time_and_source_file(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """Staging keeps only the contract's fields, row number and hash; the batch id, ingest
    time and source file join each row on its way into raw.<table> and the landing file."""
    runs = write_ndjson(tmp_path / "runs.ndjson", FLOW_RUNS)
    ingest_paths([runs], data_dir)
    [(batch_id, source_file, started_at)] = query(
        data_dir, "select batch_id, source_file, started_at from raw.ingest_batches"
    )
    assert source_file == str(runs.resolve())
    rows = query(
        data_dir, "select _batch_id, _source_file, _ingested_at, _row_number from raw.flow_runs"
    )
    assert sorted(rows, key=lambda row: row[3]) == [
        (batch_id, source_file, started_at, number) for number in (1, 2, 3)
    ]
    landing = data_dir.landing / "flow_runs" / f"{batch_id}.parquet"
    landed = duckdb.sql(
        f"select _batch_id, _source_file, _ingested_at, count(*) from '{landing}' group by all"
    ).fetchall()
    assert landed == [(batch_id, source_file, started_at, 3)]


def test_a_raw_table_with_a_column_the_contract_dropped_still_takes_rows(
    data_dir: DataDir, tmp_path: Path
) -> None:
    runs = write_ndjson(tmp_path / "runs.ndjson", FLOW_RUNS)
    ingest_paths([runs], data_dir)
    con = duckdb.connect(str(data_dir.warehouse))
    con.execute("ALTER TABLE raw.flow_runs ADD COLUMN legacy_note VARCHAR")
    con.close()
    again = write_ndjson(
        tmp_path / "more.ndjson", [{**run, "run_id": f"{run['run_id']}-b"} for run in FLOW_RUNS]
    )
    summary = ingest_paths([again], data_dir)
    assert [(r.accepted, r.quarantined) for r in summary.files] == [(3, 0)]
    assert query(data_dir, "select count(*), count(legacy_note) from raw.flow_runs") == [(6, 0)]


def test_broken_rows_are_quarantined_and_the_good_ones_land(
    data_dir: DataDir, tmp_path: Path
) -> None:
    good = FLOW_RUNS[0]
    path = tmp_path / "mixed.ndjson"
    path.write_text(
        "\n".join(
            [
                json.dumps(good),
                json.dumps({**good, "run_id": "r-bad-status", "status": "exploded"}),
                "{not json",
                json.dumps({**good, "run_id": "r-no-start", "started_at": None}),
                "",
                json.dumps([1, 2]),
                json.dumps({**good, "run_id": "r-ok-2", "run_attempt": "2"}),
                json.dumps({**good, "run_id": "r-bad-time", "started_at": "yesterday"}),
            ]
        )
        + "\n"
    )
    summary = ingest_paths([path], data_dir, batch_rows=2)
    (result,) = summary.files
    assert (result.rows_read, result.accepted, result.quarantined) == (7, 2, 5)
    # row numbers are line numbers: the blank line 5 counts
    assert query(data_dir, "select run_id, _row_number from raw.flow_runs order by 2") == [
        ("r-1", 1),
        ("r-ok-2", 7),
    ]
    assert query(data_dir, "select row_number, reason from raw.quarantine order by 1") == [
        (
            2,
            "status: 'exploded' is not one of queued, running, success, failed, cancelled, "
            "timed_out, skipped, waiting, unknown",
        ),
        (
            3,
            "line is not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        ),
        (4, "started_at: missing (required)"),
        (6, "line is a JSON list, not an object"),
        (8, "time: 'yesterday' is not an RFC 3339 timestamp".replace("time", "started_at", 1)),
    ]
    raw_record = query(data_dir, "select raw_record from raw.quarantine where row_number = 2")[0][0]
    assert json.loads(raw_record)["status"] == "exploded"
    assert json.loads(raw_record)["run_id"] == "r-bad-status"
    assert result.balanced


def test_in_file_duplicates_and_collisions(data_dir: DataDir, tmp_path: Path) -> None:
    first = FLOW_RUNS[1]
    changed = {**first, "status": "success"}
    path = write_ndjson(tmp_path / "runs.ndjson", [first, first, changed, FLOW_RUNS[0]])
    (result,) = ingest_paths([path], data_dir).files
    assert (result.accepted, result.duplicates, result.collisions) == (2, 1, 1)
    stored = query(data_dir, "select status, _payload_hash from raw.flow_runs where run_id = 'r-2'")
    assert [row[0] for row in stored] == ["failed"]
    collision = query(
        data_dir,
        "select row_number, natural_key, first_payload_hash, payload_hash, raw_record "
        "from raw.ingest_collisions",
    )
    assert len(collision) == 1
    row_number, natural_key, first_hash, payload_hash, raw_record = collision[0]
    assert row_number == 3
    assert json.loads(natural_key) == {"source_system": "n8n", "run_id": "r-2", "run_attempt": 1}
    assert first_hash == stored[0][1]
    assert payload_hash != first_hash
    assert json.loads(raw_record)["status"] == "success"
    # a later file: same payload again is a duplicate, a third payload is a new collision,
    # and the collision already recorded is not recorded twice
    third = {**first, "status": "cancelled"}
    later = write_ndjson(tmp_path / "later.ndjson", [first, third, changed])
    (again,) = ingest_paths([later], data_dir).files
    assert (again.accepted, again.duplicates, again.collisions) == (0, 2, 1)
    assert query(data_dir, "select count(*) from raw.ingest_collisions") == [(2,)]


SECRET_IN_MESSAGE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
SECRET_PASSWORD = "hunter2-very-secret"
SECRET_IN_DATA = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
CARD = "4111111111111111"
EMAIL = "carol@example.com"


def test_no_seeded_secret_reaches_any_file(data_dir: DataDir, tmp_path: Path) -> None:
    run = {
        **FLOW_RUNS[1],
        "error_message": f"stripe said no to {SECRET_IN_MESSAGE} (password={SECRET_PASSWORD})",
        "url": f"https://bob:{SECRET_PASSWORD}@n8n.example",
    }
    broken_run = {**run, "run_id": "r-broken", "status": "exploded"}
    colliding_run = {**run, "flow_name": "renamed"}
    event = {
        **BUSINESS_EVENTS[0],
        # a card number in the subject, free text a producer writes
        "subject": f"payments/{CARD}",
        "data": {
            "order_id": "O-1",
            "customer_email": EMAIL,
            "card": CARD,
            "note": f"token {SECRET_IN_DATA}",
            "auth": {"password": SECRET_PASSWORD},
        },
    }
    broken_event = {**event, "id": "evt-broken", "time": "yesterday"}
    runs = write_ndjson(tmp_path / "runs.ndjson", [run, broken_run, colliding_run])
    events = write_ndjson(tmp_path / "events.ndjson", [event, broken_event])
    summary = ingest_paths([runs, events], data_dir)
    assert [(r.accepted, r.collisions, r.quarantined) for r in summary.files] == [
        (1, 1, 1),
        (1, 0, 1),
    ]
    needles = [SECRET_IN_MESSAGE, SECRET_PASSWORD, SECRET_IN_DATA, CARD, EMAIL]
    files = [p for p in data_dir.root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    for path in files:
        content = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in content, f"{needle} found in {path}"
    # compression could hide a string from a byte search: ask DuckDB too
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        for table in ("flow_runs", "business_events", "quarantine", "ingest_collisions"):
            text = con.execute(f"select string_agg(to_json(t)::varchar, '') from raw.{table} t")
            blob = text.fetchone()[0]
            for needle in needles:
                assert needle not in blob, f"{needle} in raw.{table}"
        for parquet in data_dir.landing.rglob("*.parquet"):
            blob = con.execute(
                f"select string_agg(to_json(t)::varchar, '') from read_parquet('{parquet}') t"
            ).fetchone()[0]
            for needle in needles:
                assert needle not in blob, f"{needle} in {parquet}"
        data = json.loads(con.execute("select data from raw.business_events").fetchone()[0])
        subject = con.execute("select subject from raw.business_events").fetchone()[0]
        message = con.execute("select error_message, url from raw.flow_runs").fetchone()
    finally:
        con.close()
    key = (data_dir.root / "secrets" / "pii.key").read_bytes()
    assert data["customer_email"] == pseudonymise(EMAIL, key)
    assert data["card"] == "[CARD ****1111]"
    assert subject == "payments/[CARD ****1111]"
    assert data["note"] == "token [REDACTED:github_token]"
    assert data["auth"] == {"password": "[REDACTED:secret]"}
    # an unquoted value runs to the next space, comma or semicolon, so the ")" goes too:
    # losing punctuation is better than leaking the end of a password that contains one
    assert message == (
        "stripe said no to [REDACTED:stripe_key] (password=[REDACTED:secret]",
        "https://[REDACTED:url_credentials]@n8n.example",
    )


def test_an_unreadable_file_is_reported_and_the_others_still_land(
    data_dir: DataDir, tmp_path: Path
) -> None:
    unknown = write_ndjson(tmp_path / "mystery.ndjson", [{"colour": "blue"}])
    fake_parquet = tmp_path / "fake.parquet"
    fake_parquet.write_text("this is not parquet\n")
    good = write_ndjson(tmp_path / "runs.ndjson", FLOW_RUNS)
    missing = tmp_path / "missing.csv"
    unsupported = tmp_path / "runs.xml"
    unsupported.write_text("<runs/>")
    summary = ingest_paths([unknown, fake_parquet, good, missing, unsupported], data_dir)
    assert [r.path.name for r in summary.failed_files] == [
        "mystery.ndjson",
        "fake.parquet",
        "missing.csv",
        "runs.xml",
    ]
    errors = {r.path.name: r.error for r in summary.failed_files}
    assert "cannot tell the record kind from its columns (colour)" in errors["mystery.ndjson"]
    assert "pass --kind" in errors["mystery.ndjson"]
    assert "not a readable Parquet file" in errors["fake.parquet"]
    assert "no such file" in errors["missing.csv"]
    assert "unsupported file type '.xml'" in errors["runs.xml"]
    assert summary.accepted == 3
    assert query(data_dir, "select count(*) from raw.flow_runs") == [(3,)]
    text = summary.format()
    assert "runs.ndjson" in text and "error: " in text
    assert text.splitlines()[0].split() == [
        "file",
        "kind",
        "read",
        "accepted",
        "duplicates",
        "collisions",
        "quarantined",
    ]


def test_kind_can_be_forced(data_dir: DataDir, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "runs.ndjson", [{"colour": "blue"}])
    (result,) = ingest_paths([path], data_dir, kind="flow_run").files
    assert (result.kind, result.rows_read, result.quarantined) == (RecordKind.FLOW_RUN, 1, 1)
    assert query(data_dir, "select reason from raw.quarantine") == [
        (
            "source_system: missing (required); flow_id: missing (required); flow_name: missing "
            "(required); run_id: missing (required); status: missing (required); started_at: "
            "missing (required)",
        )
    ]


def test_ingest_waits_for_the_writer_lock(data_dir: DataDir, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "runs.ndjson", FLOW_RUNS)
    ready = tmp_path / "holding"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import pathlib, time
                from flowledger.settings import DataDir
                from flowledger.warehouse import writer_lock
                with writer_lock(DataDir(pathlib.Path({str(data_dir.root)!r}))):
                    pathlib.Path({str(ready)!r}).touch()
                    time.sleep(1.5)
                """
            ),
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert holder.poll() is None, "the lock holder died"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        started = time.monotonic()
        summary = ingest_paths([path], data_dir)
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0
    assert waited >= 1.0
    assert summary.accepted == 3


@pytest.mark.parametrize("suffix", ["ndjson", "csv", "parquet"])
def test_batches_do_not_change_the_result(data_dir: DataDir, tmp_path: Path, suffix: str) -> None:
    records = [{**FLOW_RUNS[0], "run_id": f"r-{i}", "run_attempt": 1 + i % 2} for i in range(50)]
    records.append(records[10])
    path = WRITERS[suffix](tmp_path / f"runs.{suffix}", records)
    (result,) = ingest_paths([path], data_dir, batch_rows=7).files
    assert (result.rows_read, result.accepted, result.duplicates) == (51, 50, 1)
    assert query(data_dir, "select min(_row_number), max(_row_number) from raw.flow_runs") == [
        (1, 50)
    ]


def test_malformed_csv_rows_and_json_elements_are_quarantined(
    data_dir: DataDir, tmp_path: Path
) -> None:
    csv_path = tmp_path / "runs.csv"
    csv_path.write_text(
        "source_system,flow_id,flow_name,run_id,status,started_at,dead\n"
        "n8n,f,F,r-1,success,2026-08-01T09:00:00Z,\n"
        "n8n,f,F,r-2,success\n"
        "n8n,f,F,r-3,running,2026-08-01T09:00:00Z,,extra\n"
        "n8n,f,F,r-4,success,2026-08-01T09:00:00Z,\n"
    )
    json_path = tmp_path / "events.json"
    json_path.write_text(json.dumps([BUSINESS_EVENTS[0], "just text", BUSINESS_EVENTS[1]]))
    summary = ingest_paths([csv_path, json_path], data_dir)
    assert [(r.rows_read, r.accepted, r.quarantined) for r in summary.files] == [
        (4, 2, 2),
        (3, 2, 1),
    ]
    assert query(data_dir, "select run_id, _row_number from raw.flow_runs order by 2") == [
        ("r-1", 1),
        ("r-4", 4),
    ]
    assert query(
        data_dir, "select record_kind, row_number, reason from raw.quarantine order by 1, 2"
    ) == [
        ("business_event", 2, "array element is a JSON str, not an object"),
        ("flow_run", 2, "CSV row 2 has 5 fields, the header has 7"),
        ("flow_run", 3, "CSV row 3 has 8 fields, the header has 7"),
    ]


def test_a_json_file_that_is_not_an_array_is_refused(data_dir: DataDir, tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(FLOW_RUNS[0]))
    (result,) = ingest_paths([path], data_dir).files
    assert result.error is not None
    assert "must hold an array of objects, found a dict" in result.error


def test_a_file_that_fails_halfway_leaves_nothing_behind(data_dir: DataDir, tmp_path: Path) -> None:
    from collections.abc import Iterator, Sequence

    from flowledger.warehouse import open_warehouse
    from ingest.contracts import load_contracts
    from ingest.landing import FileLanding
    from ingest.readers import NdjsonSource, RawBatch

    path = write_ndjson(tmp_path / "runs.ndjson", FLOW_RUNS * 3)

    class BreaksAfterOneBatch(NdjsonSource):
        def batches(
            self, fields: Sequence[str], batch_rows: int, *, records: bool = False
        ) -> Iterator[RawBatch]:
            batches = super().batches(fields, batch_rows, records=records)
            yield next(batches)
            raise OSError("disk went away")

    ingest_paths([], data_dir)  # creates the raw tables
    with open_warehouse(data_dir) as con:
        landing = FileLanding(
            con=con,
            contract=load_contracts()[RecordKind.FLOW_RUN],
            source=BreaksAfterOneBatch(path),
            landing_root=data_dir.landing,
            pii_key=lambda: b"k",
            batch_rows=1,
            progress=lambda message: None,
        )
        with pytest.raises(OSError, match="disk went away"):
            landing.run()
    for table in ("flow_runs", "quarantine", "ingest_batches", "ingest_collisions"):
        assert query(data_dir, f"select count(*) from raw.{table}") == [(0,)]
    assert query(
        data_dir,
        "select count(*) from information_schema.schemata where schema_name = 'ingest_staging'",
    ) == [(0,)]
    assert not list(data_dir.landing.rglob("*parquet*"))
    # and the next ingest of the same file lands it whole
    (result,) = ingest_paths([path], data_dir).files
    assert (result.rows_read, result.accepted, result.duplicates) == (9, 3, 6)


def test_event_data_with_escapes_and_mixed_types_lands_unchanged(
    data_dir: DataDir, tmp_path: Path
) -> None:
    """Backslashes, escaped quotes, newlines and mixed-type arrays inside ``data`` survive as-is."""
    data = {
        "order_id": "O-1",
        "note": 'path C:\\temp \\x00 said "hi"\nnext line',
        "nested": {"items": [1, 2.5, {"b": "\\n"}, None, True]},
    }
    plain = {"order_id": "O-2", "amount": 12}
    events = [
        {
            "specversion": "1.0",
            "id": f"e{i}",
            "source": "/s",
            "type": "com.acme.x.y",
            "time": "2026-08-01T00:00:00Z",
            "data": d,
        }
        for i, d in enumerate([data, plain])
    ]
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    summary = ingest_paths([path], data_dir)
    assert (summary.accepted, summary.quarantined) == (2, 0)
    stored = dict(query(data_dir, "select id, data from raw.business_events"))
    assert json.loads(stored["e0"]) == data
    assert json.loads(stored["e1"]) == plain


def test_ndjson_reader_re_decodes_only_objects_and_keeps_json_text_strings(
    tmp_path: Path,
) -> None:
    """A string that holds JSON text with escapes (the demo's ``outputs``) stays that string; an
    object with escapes and a 20-digit integer comes back exact; other columns stay as read."""
    big = 12345678901234567890123
    records = [
        {"run_id": "r1", "outputs": json.dumps({"note": 'say "hi"\n'}), "error_message": "a\\b"},
        {"run_id": "r2", "outputs": {"note": 'C:\\temp "x"', "big": big}, "error_message": None},
        {"run_id": "r3", "outputs": None, "error_message": "[not json"},
    ]
    path = tmp_path / "runs.ndjson"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    fields = ["run_id", "outputs", "error_message"]
    (batch,) = list(open_source(path).batches(fields, 1000))
    outputs = batch.frame["outputs"].to_list()
    assert outputs[0] == records[0]["outputs"]
    assert json.loads(outputs[1]) == records[1]["outputs"]
    assert outputs[2] is None
    assert batch.frame["error_message"].to_list() == ["a\\b", None, "[not json"]
