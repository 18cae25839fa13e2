"""Request bodies are read as file ingest reads files (ingest/json_values.py): a record giving one
of its contract's fields twice (also spelled with an escape), a key twice anywhere inside
``data``, or NaN, Infinity or 1e400 is quarantined with the reason file ingest gives, and the
other records of the body land. A body that is one whole (OTLP/JSON) is refused with 400 naming
the key; an OpenLineage event, with 400 naming it (in a batch, that event only).

The reasons are compared with what ``ingest_paths`` gives for the same records in a file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from receiver_harness import TOKEN, Serve, flow_run, lineage_event, query

from flowledger.settings import DataDir
from ingest import ingest_paths

pytestmark = pytest.mark.slow

ENVELOPE = (
    '"specversion": "1.0", "source": "/dup/shop", "type": "t.x", "time": "2026-08-01T09:00:00Z"'
)
#: Event members → the reason (None: the event lands). The same cases as file ingest's tests.
EVENTS = {
    '"id": "k-1", "data": {"a": 1}': None,
    '"id": "k-2", "id": "k-3", "data": {"a": 1}': "id: duplicate key",
    '"id": "k-4", "data": {"amount": 1, "amount": 2}': "data.amount: duplicate key",
    '"id": "k-5", "data": {"items": [{"sku": "a"}, {"sku": "b", "sku": "c"}]}': (
        "data.items[1].sku: duplicate key"
    ),
    '"id": "k-6", "i\\u0064": "k-7", "data": {"a": 1}': "id: duplicate key",
    '"id": "k-8", "data": {"price": NaN}': "data.price: NaN is not valid JSON",
    '"id": "k-9", "data": {"price": 1e400}': "data.price: 1e400 is out of range",
    # not duplicates: the same name at another level; a key no contract lists (not stored)
    '"id": "k-10", "data": {"id": 1, "nested": {"id": 2}}': None,
    '"id": "k-11", "note": 1, "note": 2, "data": {"a": 1}': None,
}
DUPLICATE = " (JSON object keys must be unique)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with Serve(tmp_path_factory.mktemp("json-rules") / "home") as running:
        yield running


def events_as_lines() -> list[str]:
    return [f"{{{ENVELOPE}, {members}}}" for members in EVENTS]


def file_ingest_reasons(tmp_path: Path, lines: list[str], suffix: str = "ndjson") -> list[str]:
    """The quarantine reasons of file ingest for ``lines`` (one record each), in order."""
    path = tmp_path / f"records.{suffix}"
    path.write_text("\n".join(lines) + "\n" if suffix == "ndjson" else f"[{', '.join(lines)}]")
    data_dir = DataDir(tmp_path / "file-home").ensure()
    assert ingest_paths([path], data_dir).failed_files == []
    rows = query(data_dir.root, "select reason from raw.quarantine order by row_number")
    return [reason for (reason,) in rows]


def quarantined(server: Serve, request_id: str) -> list[tuple[int, str, str]]:
    server.wait_drained()
    return query(
        server.data_dir,
        "select row_number, reason, raw_record from raw.quarantine where batch_id = ? "
        "order by row_number",
        [request_id],
    )


def expected_rejections() -> list[tuple[int, str]]:
    return [
        (index, reason + (DUPLICATE if reason.endswith("duplicate key") else ""))
        for index, reason in enumerate(EVENTS.values())
        if reason is not None
    ]


def test_a_batch_quarantines_each_event_as_file_ingest_does_and_lands_the_others(
    server: Serve, tmp_path: Path
) -> None:
    body = "[" + ",\n".join(events_as_lines()) + "]"
    response = server.post("/v1/events", body, "application/cloudevents-batch+json")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["accepted"] == 3
    rejected = [(r["index"], r["reason"]) for r in answer["rejected"]]
    assert [index for index, _ in rejected] == [1, 2, 3, 4, 5, 6]
    assert [reason.split(" (")[0] for _, reason in rejected] == [
        reason.split(" (")[0] for _, reason in expected_rejections()
    ]
    # word for word what file ingest gives the same records
    assert [reason for _, reason in rejected] == file_ingest_reasons(tmp_path, events_as_lines())
    rows = quarantined(server, answer["request_id"])
    assert [(n, reason) for n, reason, _ in rows] == rejected
    # the quarantined record keeps both values of the key it gives twice
    assert '"id": "k-2", "id": "k-3"' in rows[0][2]
    ids = query(
        server.data_dir,
        "select id from raw.business_events where source = '/dup/shop' order by id",
    )
    assert ids == [("k-1",), ("k-10",), ("k-11",)]


def test_a_structured_event_giving_a_key_twice_is_quarantined(server: Serve) -> None:
    body = f'{{{ENVELOPE}, "id": "s-1", "data": {{"amount": 1, "amount": 2}}}}'
    response = server.post("/v1/events", body, "application/cloudevents+json")
    assert response.status_code == 422, response.text
    reason = "data.amount: duplicate key" + DUPLICATE
    assert response.json()["rejected"] == [{"index": 0, "reason": reason}]
    plain = server.post("/v1/events", body.replace("s-1", "s-2"), "application/json")
    assert plain.json()["rejected"] == [{"index": 0, "reason": reason}]
    top = server.post(
        "/v1/events",
        f'{{{ENVELOPE}, "id": "s-3", "type": "t.y", "data": {{}}}}',
        "application/json",
    )
    assert top.json()["rejected"] == [{"index": 0, "reason": "type: duplicate key" + DUPLICATE}]
    rows = quarantined(server, response.json()["request_id"])
    assert [(n, r) for n, r, _ in rows] == [(0, reason)]


def test_binary_mode_data_giving_a_key_twice_is_quarantined(server: Serve) -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "b-1", "ce-source": "/dup/bin", "ce-type": "t.x",
               "ce-time": "2026-08-01T09:00:00Z"}  # fmt: skip
    response = server.post(
        "/v1/events", b'{"order": {"id": 1, "id": 2}}', "application/json", headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["rejected"] == [
        {"index": 0, "reason": "data.order.id: duplicate key" + DUPLICATE}
    ]
    headers["ce-id"] = "b-2"
    nan = server.post("/v1/events", b'{"v": Infinity}', "application/json", headers=headers)
    assert nan.json()["rejected"] == [
        {"index": 0, "reason": "data.v: Infinity is not valid JSON (JSON numbers are finite; "
         "write null)"}
    ]  # fmt: skip


def test_runs_giving_a_field_twice_are_quarantined_the_others_land(
    server: Serve, tmp_path: Path
) -> None:
    lines = [
        json.dumps(flow_run("dk-1")),
        json.dumps(flow_run("dk-2"))[:-1] + ', "status": "failed"}',
        json.dumps(flow_run("dk-3"))[:-1] + ', "attributes": 1, "attributes": 2}',
        json.dumps(flow_run("dk-4", outputs={}))[:-3] + '{"total": 1, "total": 2}}',
        json.dumps(flow_run("dk-5"))[:-1] + ', "error_message": NaN}',
    ]
    expected = [
        (1, "status: duplicate key" + DUPLICATE),
        (3, "outputs.total: duplicate key" + DUPLICATE),
        (4, "error_message: NaN is not valid JSON (JSON numbers are finite; write null)"),
    ]
    assert file_ingest_reasons(tmp_path, lines) == [reason for _, reason in expected]
    ndjson = server.post("/v1/runs", "\n".join(lines).replace("dk-", "dn-"), "application/x-ndjson")
    assert ndjson.json()["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in ndjson.json()["rejected"]] == expected
    array = server.post("/v1/runs", "[" + ",".join(lines) + "]")
    assert array.status_code == 200, array.text
    assert array.json()["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in array.json()["rejected"]] == expected
    server.wait_drained()
    runs = query(
        server.data_dir,
        "select run_id, status from raw.flow_runs where run_id like 'dk-%' or run_id like 'dn-%' "
        "order by 1",
    )
    assert runs == [("dk-1", "success"), ("dk-3", "success"), ("dn-1", "success"),
                    ("dn-3", "success")]  # fmt: skip


def test_an_otlp_json_export_giving_a_key_twice_is_refused_naming_it(server: Serve) -> None:
    span = (
        '{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", '
        '"name": "step", "name": "other", "startTimeUnixNano": "1740823200000000000", '
        '"endTimeUnixNano": "1740823201000000000"}'
    )
    body = f'{{"resourceSpans": [{{"scopeSpans": [{{"spans": [{span}]}}]}}]}}'
    response = server.post("/v1/traces", body, "application/json")
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert "resourceSpans[0].scopeSpans[0].spans[0].name: duplicate key" in message
    envelope = server.post("/v1/traces", '{"resourceSpans": [], "resourceSpans": []}')
    assert envelope.status_code == 400
    assert "resourceSpans: duplicate key" in envelope.json()["message"]


def test_openlineage_events_giving_a_key_twice_are_refused_naming_it(server: Serve) -> None:
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    one = json.dumps(lineage_event())
    twice = one[:-1] + ', "eventType": "FAIL"}'
    response = requests.post(
        server.url + "/api/v1/lineage", data=twice, headers=headers, timeout=10
    )
    assert response.status_code == 400, response.text
    assert "eventType: duplicate key" + DUPLICATE in response.text
    batch = requests.post(
        server.url + "/api/v1/lineage/batch",
        data=f"[{one}, {twice}, {json.dumps(lineage_event())}]",
        headers=headers,
        timeout=10,
    )
    assert batch.status_code == 200, batch.text
    answer = batch.json()
    assert answer["summary"] == {"received": 3, "successful": 2, "failed": 1}
    assert answer["failed_events"] == [
        {"index": 1, "reason": "[1].eventType: duplicate key" + DUPLICATE, "retriable": False}
    ]
