"""The quarantine's and the collisions' records scrubbed again by `flowledger rescrub`
(ingest/rescrub.py): each kind of stored text becomes what ingest writes now."""

from __future__ import annotations

import json

from ingest.contracts import RecordKind, load_contracts
from ingest.quarantine import text_record
from ingest.rescrub import _rescrubbed_record
from ingest.scrub import pseudonymise

KEY = b"rescrub-unit-key"
EVENTS = load_contracts()[RecordKind.BUSINESS_EVENT]


def key() -> bytes:
    return KEY


def test_an_object_record_is_scrubbed_by_its_contract() -> None:
    record = {"id": "e-1", "source": "/acme/shop", "data": {"shipping_address": "1 Main St"}}
    rewritten = json.loads(_rescrubbed_record(json.dumps(record), EVENTS, key))
    assert rewritten["data"]["shipping_address"] == pseudonymise("1 Main St", KEY)
    assert rewritten["id"] == "e-1"


def test_a_record_scrubbed_as_today_stays_as_it_is() -> None:
    record = {"id": "e-1", "data": {"shipping_address": pseudonymise("1 Main St", KEY)}}
    once = _rescrubbed_record(json.dumps(record), EVENTS, key)
    assert _rescrubbed_record(once, EVENTS, key) == once


def test_text_that_was_no_object_stays_a_json_string_scrubbed() -> None:
    line = "broken line token=abc123def456ghi789"
    stored = json.dumps(line)  # as ingest stored it before it knew the token's form
    assert _rescrubbed_record(stored, EVENTS, key) == text_record(line)
    assert "abc123def456ghi789" not in _rescrubbed_record(stored, EVENTS, key)


def test_a_record_cut_at_its_cap_is_scrubbed_as_free_text() -> None:
    cut = '{"id": "e-1", "note": "password=hunter2hunter2 and more'  # no longer JSON
    rewritten = _rescrubbed_record(cut, EVENTS, key)
    assert "hunter2hunter2" not in rewritten and rewritten.startswith('{"id": "e-1"')


def test_a_record_of_no_known_kind_is_scrubbed_as_event_data() -> None:
    record = {"customer_email": "Bob@Example.com", "id": "x"}
    rewritten = json.loads(_rescrubbed_record(json.dumps(record), None, key))
    assert rewritten == {"customer_email": pseudonymise("bob@example.com", KEY), "id": "x"}


def test_no_record_stays_none() -> None:
    assert _rescrubbed_record(None, EVENTS, key) is None
