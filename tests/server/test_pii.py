"""Personal data classified by the contracts never reaches a file the receiver writes, and the
receiver's pseudonyms are the file path's (one scrubber, one key): joins and dedupe still work."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from receiver_harness import Serve, query

sys.path.insert(0, str(Path(__file__).parents[1] / "ingest"))
from pii_corpus import (  # noqa: E402
    EMAIL,
    IDEMPOTENCY_KEY,
    NEEDLES,
    NESTED_EMAIL,
    assert_no_cleartext,
    business_events,
    event,
    expected_pseudonym,
    flow_runs,
)

from flowledger.settings import DataDir  # noqa: E402
from ingest import ingest_paths  # noqa: E402

pytestmark = pytest.mark.slow


def test_receiver_leaves_no_personal_data_in_cleartext_and_matches_the_file_path(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with Serve(home) as server:
        answer = server.post("/v1/events", business_events(), "application/cloudevents-batch+json")
        events = answer.json()
        runs = server.post("/v1/runs", flow_runs()).json()
        server.wait_drained()
    assert (events["accepted"], runs["accepted"]) == (3, 3)
    rejected = [(r["index"], r["reason"]) for r in events["rejected"] + runs["rejected"]]
    assert sorted(index for index, _ in rejected) == [3, 3, 4]
    for _, reason in rejected:  # answers quote values: scrubbed ones
        assert not any(needle in reason for needle in NEEDLES), reason
    assert not any(needle in answer.text for needle in NEEDLES)

    pii_key = (home / "secrets" / "pii.key").read_bytes()
    data = dict(query(home, "select id, data from raw.business_events"))
    placed, signed = json.loads(data["e-1"]), json.loads(data["e-2"])
    assert placed["customer_email"] == signed["signed_by"] == expected_pseudonym(EMAIL, pii_key)
    assert (placed["phone"], placed["card_number"]) == ("[MASKED]", "[CARD ****5556]")
    assert "date_of_birth" not in placed
    assert placed["customer"]["email"] == expected_pseudonym(NESTED_EMAIL, pii_key)
    keys = query(home, "select distinct idempotency_key from raw.flow_runs")
    assert keys == [(expected_pseudonym(IDEMPOTENCY_KEY, pii_key),)]
    quarantined = query(home, "select reason, raw_record from raw.quarantine order by row_number")
    assert len(quarantined) == 3

    # the file path, same data directory and key: the same event is a duplicate (same payload
    # hash after scrubbing), and a new event about the same person joins on the same pseudonym
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    same_person = event("e-file", {"order_id": "O-9", "customer_email": EMAIL.upper()})
    path = inbox / "events.ndjson"
    # written in the corpus's key order (unsorted, inside data too): the receiver sorts keys,
    # and the file path lands object fields as the same canonical JSON, so hashes agree
    assert list(business_events()[0]["data"]) != sorted(business_events()[0]["data"])
    lines = [json.dumps(e) + "\n" for e in [business_events()[0], same_person]]
    path.write_text("".join(lines))
    (result,) = ingest_paths([path], DataDir(home)).files
    assert (result.accepted, result.duplicates, result.collisions) == (1, 1, 0)
    path.unlink()
    (row,) = query(home, "select data from raw.business_events where id = 'e-file'")
    assert json.loads(row[0])["customer_email"] == placed["customer_email"]

    searched = assert_no_cleartext(home, home / "warehouse.duckdb")
    assert any(p.parent.name == "logs" for p in searched)  # the receiver's log was searched
