"""File ingest keeps the CloudEvents 1.0 JSON format as the receiver does (issue #3): an event
the receiver refuses is quarantined with the receiver's reason, from NDJSON, JSON arrays, CSV
and Parquet; the format's two evaluators (ingest/cloudevents.py: Python per event for the
receiver, one DuckDB query per batch for files) give the same reasons for the same events."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pytest
from ingest_test_files import (
    BUSINESS_EVENTS,
    query,
    write_csv,
    write_json_array,
    write_ndjson,
    write_parquet,
)

from flowledger.settings import DataDir
from ingest import RecordKind, ingest_paths
from ingest.cloudevents import EVENT_PROBLEM, event_problem, with_event_problem
from ingest.contracts import load_contracts
from ingest.server.edge import EdgeChecker
from ingest.server.formats import BATCH, cloudevent_items

PAYLOADS = Path(__file__).parents[1] / "server" / "public_payloads"
EVENT = {
    "specversion": "1.0",
    "id": "ok-1",
    "source": "/acme/shop",
    "type": "com.acme.shop.order.placed",
    "time": "2026-08-01T09:00:00Z",
    "data": {"order_id": "O-1"},
}
#: Members changed, added or (``...``) taken out of EVENT: the issue's examples, then what else
#: the format rules read, each value at and past its limit.
VARIANTS: list[dict[str, Any]] = [
    {"id": 25},
    {"MyExtension": "x"},
    {"subject": ""},
    {"id": []},
    {"specversion": 1.0, "source": {"a": 1}, "type": True},
    {"time": 1735689600},
    {"subject": None, "dataschema": None, "MyExtension": None},
    {"my.extension": 1, "Other": 2, "tenant": "acme"},
    {"X" * 60: 1},
    {"ñ": "x"},
    {"tenant": 1.5},
    {"tenant": 2**31 - 1, "region": -(2**31), "flag": False},
    {"tenant": 2**31},
    {"tenant": -(2**31) - 1},
    {"tenant": 2**64},
    {"tenant": {"a": 1}, "region": [1]},
    {"datacontenttype": 5},
    {"datacontenttype": "xyz"},
    {"datacontenttype": "application/json; charset=utf-8"},
    {"datacontenttype": "application/json\u00a0"},
    {"subject": " \t"},
    {"subject": "\u00a0\u2003"},
    {"dataschema": "/schema"},
    {"dataschema": "https://acme.example/order.json"},
    {"dataschema": "urn:x y"},
    {"dataschema": "a" * 100},
    {"time": "2018-04-05T18:31:00+05"},
    {"time": "2018-04-05T18:31:00+0500"},
    {"time": "2018-04-05T18:31:00"},
    {"time": "2018-04-05t18:31:00z"},
    {"time": "2018-04-05T18:31:00.123-03:30"},
    {"time": "lunchtime"},
    {"data_base64": "eyJhIjoxfQ=="},
    {"data_base64": "eyJhIjoxfQ==", "data": ...},
    {"data_base64": None},
    {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tenant": "a"},
    {"subject": "", "dataschema": "", "datacontenttype": "", "time": "2018-04-05T18:31:00+05"},
]


#: How many of VARIANTS keep the format (counted by hand): the extensions within their limits
#: and the valid values of each rule, a time of another form (the contract's to refuse).
VARIANTS_KEPT = 8


def variant(members: dict[str, Any], index: int) -> dict[str, Any]:
    event = {**EVENT, "id": f"ok-{index}", **members}
    return {name: value for name, value in event.items() if value is not ...}


def conformance_invalid_events() -> list[dict[str, Any]]:
    """cloudevents/conformance ``format/json/invalid-events.json``, each completed with what
    flowledger requires on top (a time, JSON object data) and an id of its own, as
    tests/server/test_public_payloads.py sends them."""
    tests = json.loads((PAYLOADS / "cloudevents-conformance-invalid-events.json").read_text())
    events = []
    for test in tests["tests"]:
        event = copy.deepcopy(test["event"])
        if isinstance(event.get("id"), str) and event["id"]:
            event["id"] = f"{event['id']}-{test['id']}"
        event.setdefault("time", "2018-04-05T17:31:00Z")
        if "data" not in event and "data_base64" not in event:
            event["data"] = {"case": test["id"]}
        events.append(event)
    return events


def sql_problems(records: list[str]) -> list[str | None]:
    con = duckdb.connect()
    con.register("records", pa.table({"record": pa.array(records, pa.string())}))
    relation = with_event_problem("records", "record")
    return [
        problem for (problem,) in con.execute(f"SELECT {EVENT_PROBLEM} FROM {relation}").fetchall()
    ]


def receiver_reasons(events: list[dict[str, Any]]) -> list[str | None]:
    """What the receiver answers for each event of a batch: its format problem, else the
    contract check's reason (``None``: it is accepted)."""
    checker = EdgeChecker(load_contracts()[RecordKind.BUSINESS_EVENT])
    items = cloudevent_items({"content-type": BATCH}, json.dumps(events).encode())
    return [
        item.problem if item.problem is not None else checker.check(item.record or {})[1]
        for item in items
    ]


def ingested(data_dir: DataDir, path: Path) -> tuple[list[tuple[int, str]], list[str]]:
    """File ingest of ``path``: its quarantine (row number, reason) and the ids it stored."""
    (result,) = ingest_paths([path], data_dir).files
    assert result.error is None
    batch = f"batch_id = '{result.batch_id}'"
    reasons = query(
        data_dir, f"select row_number, reason from raw.quarantine where {batch} order by 1"
    )
    ids = query(data_dir, f"select id from raw.business_events where _{batch} order by _row_number")
    return reasons, [stored for (stored,) in ids]


def test_the_receiver_and_the_batch_query_give_the_same_reasons() -> None:
    variants = [variant(members, index) for index, members in enumerate(VARIANTS)]
    events = variants + conformance_invalid_events()
    python = [event_problem(event) for event in events]
    assert sql_problems([json.dumps(event) for event in events]) == python
    assert python[: len(variants)].count(None) == VARIANTS_KEPT


def test_the_batch_query_gives_no_problem_for_what_is_no_json_object() -> None:
    # the readers refuse such records with reasons of their own
    assert sql_problems(["[1]", "nope", '"text"', "{}"]) == [None, None, None, None]


def test_the_issue_examples_are_quarantined_with_the_receiver_reasons(
    data_dir: DataDir, tmp_path: Path
) -> None:
    events = [
        {**EVENT, "id": 25},
        {**EVENT, "id": "e-2", "MyExtension": "x"},
        {**EVENT, "id": "e-3", "subject": ""},
        {**EVENT, "id": "e-4", "tenant": "acme", "partitionkey": "p", "traceparent": "00-1"},
    ]
    reasons, stored = ingested(data_dir, write_ndjson(tmp_path / "events.ndjson", events))
    assert reasons == [
        (
            1,
            'id is a JSON number: CloudEvents attributes are JSON strings (e.g. "specversion": '
            '"1.0", "id": "order-42")',
        ),
        (
            2,
            "'MyExtension' is not a CloudEvents attribute name (lower-case letters a-z and "
            "digits only)",
        ),
        (3, "subject is empty: when present it must have a value"),
    ]
    assert [reason for _, reason in reasons] == receiver_reasons(events)[:3]
    assert stored == ["e-4"]


@pytest.mark.parametrize("suffix", ["ndjson", "json"])
def test_every_event_the_receiver_refuses_is_quarantined_with_its_reason(
    data_dir: DataDir, tmp_path: Path, suffix: str
) -> None:
    events = conformance_invalid_events()
    events += [variant(members, index) for index, members in enumerate(VARIANTS)]
    write = write_ndjson if suffix == "ndjson" else write_json_array
    reasons, stored = ingested(data_dir, write(tmp_path / f"events.{suffix}", events))
    expected = receiver_reasons(events)
    assert reasons == [
        (row, reason) for row, reason in enumerate(expected, start=1) if reason is not None
    ]
    accepted = [event["id"] for event, reason in zip(events, expected, strict=True) if not reason]
    assert stored == accepted
    # the variants that keep the format land, but "lunchtime", the contract's to refuse
    assert len(accepted) == VARIANTS_KEPT - 1


def test_csv_and_parquet_columns_keep_the_format(data_dir: DataDir, tmp_path: Path) -> None:
    """A column is a member of every row that has a value in it: a column name the format
    refuses, or a Parquet column of numbers where a string must be, quarantines those rows."""
    events = [
        {**EVENT, "id": "c-1", "MyExtension": "x"},
        {**EVENT, "id": "c-2", "subject": "S-2", "tenant": "acme"},
        {**EVENT, "id": "c-3", "time": "2018-04-05T18:31:00+05", "tenant": "acme"},
    ]
    csv_reasons, csv_stored = ingested(data_dir, write_csv(tmp_path / "events.csv", events))
    assert csv_reasons == [
        (
            1,
            "'MyExtension' is not a CloudEvents attribute name (lower-case letters a-z and "
            "digits only)",
        ),
        (3, "time '2018-04-05T18:31:00+05' has no UTC offset (RFC 3339: Z or +hh:mm / -hh:mm)"),
    ]
    assert csv_stored == ["c-2"]

    typed = tmp_path / "typed.parquet"
    pl.DataFrame(
        {
            "specversion": ["1.0", "1.0"],
            "id": [41, 42],
            "source": ["/acme/erp", "/acme/erp"],
            "type": ["t.x", "t.x"],
            "time": ["2026-08-01T09:00:00Z", "2026-08-01T09:00:00Z"],
            "tenant": [None, 1.5],
            "data": ['{"a": 1}', '{"a": 2}'],
        }
    ).write_parquet(typed)
    parquet_reasons, _ = ingested(data_dir, typed)
    assert parquet_reasons[-2:] == [
        (
            1,
            'id is a JSON number: CloudEvents attributes are JSON strings (e.g. "specversion": '
            '"1.0", "id": "order-42")',
        ),
        (
            2,
            'id is a JSON number: CloudEvents attributes are JSON strings (e.g. "specversion": '
            '"1.0", "id": "order-42")',
        ),
    ]


def test_parquet_timestamps_and_a_valid_extension_column_land(
    data_dir: DataDir, tmp_path: Path
) -> None:
    events = [
        {**EVENT, "id": "p-1", "tenant": "acme", "partitionkey": "k-1"},
        {**EVENT, "id": "p-2", "time": "2026-08-01T11:00:00+02:00", "tenant": None},
    ]
    reasons, stored = ingested(data_dir, write_parquet(tmp_path / "events.parquet", events))
    assert (reasons, stored) == ([], ["p-1", "p-2"])


def test_parquet_bytes_columns_are_members_as_text(data_dir: DataDir, tmp_path: Path) -> None:
    """A column of bytes (no JSON form) is a member written as base64 text: an extension of
    bytes lands, ``data_base64`` as bytes is quarantined for what it is, and nothing crashes."""
    path = tmp_path / "bytes.parquet"
    pl.DataFrame(
        {
            "specversion": ["1.0", "1.0"],
            "id": ["b-1", "b-2"],
            "source": ["/acme/erp", "/acme/erp"],
            "type": ["t.x", "t.x"],
            "time": ["2026-08-01T09:00:00Z", "2026-08-01T09:00:00Z"],
            "checksum": [b"\x00\x01", b"\x02"],
            "data": ['{"a": 1}', None],
            "data_base64": [None, b"payload"],
        }
    ).write_parquet(path)
    reasons, stored = ingested(data_dir, path)
    assert stored == ["b-1"]
    assert [row for row, _ in reasons] == [2]
    assert "data_base64" in reasons[0][1]


@pytest.mark.parametrize(
    ("value", "secret_part"),
    [
        (
            "bad value " + "y" * 40 + " https://admin:S3cretPassw0rdXYZ-hunter2@db.internal/x",
            "S3cret",
        ),
        ("bad value " + "y" * 50 + " ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "ghp_A1b2"),
    ],
)
def test_a_value_cut_in_a_reason_never_leaves_a_secret_cut_short(
    value: str, secret_part: str
) -> None:
    # reasons quote 80 characters and are scrubbed after: cut inside its word, the secret was
    # one no rule recognised (the receiver answered it, the quarantine stored it)
    event = {**BUSINESS_EVENTS[0], "datacontenttype": value}
    (python,) = [event_problem(event)]
    (sql,) = sql_problems([json.dumps(event)])
    assert python == sql
    assert python is not None and secret_part not in python
    assert python.startswith("datacontenttype 'bad value yyyy")
