"""Personal data by contract classification: contract loading, each redaction mode's exact
output, and file ingest with no personal data in cleartext in any file while joins still work."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import duckdb
import polars as pl
import pytest
from pii_corpus import (
    BROKEN_KEY,
    EMAIL,
    IDEMPOTENCY_KEY,
    NAME,
    NESTED_EMAIL,
    NESTED_NAME,
    assert_no_cleartext,
    business_events,
    expected_pseudonym,
    flow_runs,
)

from flowledger.settings import DataDir
from ingest import RecordKind, ingest_paths
from ingest.contracts import (
    ContractError,
    DataField,
    PersonalRedaction,
    load_contract,
    load_contracts,
)
from ingest.scrub import (
    MASKED,
    mask_card,
    pseudonymise,
    redact,
    scrub_data,
    scrubber_for,
)

KEY = b"test-key-0123456789abcdef"


def key() -> bytes:
    return KEY


# -- contracts -------------------------------------------------------------------------------


def test_shipped_contracts_classify_personal_data() -> None:
    contracts = load_contracts()
    run = contracts[RecordKind.FLOW_RUN]
    classified = [(p.name, p.classification, p.redaction) for p in run.properties if p.redaction]
    assert classified == [("idempotency_key", "restricted", PersonalRedaction.PSEUDONYMISE)]
    data = contracts[RecordKind.BUSINESS_EVENT].property("data")
    assert data.classification is None and data.redaction is None
    assert {f.name: (f.classification, f.redaction) for f in data.fields} == {
        "customer_email": ("pii", PersonalRedaction.PSEUDONYMISE),
        "customer_name": ("pii", PersonalRedaction.PSEUDONYMISE),
        "signed_by": ("pii", PersonalRedaction.PSEUDONYMISE),
        "phone": ("pii", PersonalRedaction.MASK),
        "card_number": ("restricted", PersonalRedaction.MASK_CARD),
        "date_of_birth": ("pii", PersonalRedaction.DROP),
        "shipping_address": ("pii", PersonalRedaction.PSEUDONYMISE),
        "customer": (None, None),
    }
    customer = next(f for f in data.fields if f.name == "customer")
    assert customer.fields == (
        DataField("email", "pii", PersonalRedaction.PSEUDONYMISE),
        DataField("name", "pii", PersonalRedaction.PSEUDONYMISE),
        DataField("phone", "pii", PersonalRedaction.MASK),
    )
    # the step and queue contracts hold no personal data
    for kind in (RecordKind.STEP_RUN, RecordKind.QUEUE_DEPTH_SAMPLE):
        assert not any(p.redaction or p.fields for p in contracts[kind].properties)


def write_contract(tmp_path: Path, properties: str) -> Path:
    path = tmp_path / "flow_run.odcs.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            apiVersion: v3.1.0
            kind: DataContract
            schema:
              - name: flow_run
                physicalName: raw.flow_runs
                properties:
                  - {name: run_id, logicalType: string, required: true, primaryKey: true, primaryKeyPosition: 1}
            """
        )
        + textwrap.indent(textwrap.dedent(properties), " " * 6)
    )
    return path


def test_classification_without_a_mode_is_pseudonymised_and_items_nest(tmp_path: Path) -> None:
    path = write_contract(
        tmp_path,
        """\
        - {name: owner, logicalType: string, classification: PII}
        - {name: note, logicalType: string, classification: public}
        - name: payload
          logicalType: object
          properties:
            - name: contacts
              logicalType: array
              items:
                logicalType: object
                properties:
                  - {name: phone, classification: restricted, customProperties: [{property: redaction, value: drop}]}
        """,
    )
    contract = load_contract(path)
    assert contract.property("owner").redaction is PersonalRedaction.PSEUDONYMISE
    assert contract.property("note").redaction is None
    assert contract.property("note").classification == "public"
    (contacts,) = contract.property("payload").fields
    assert contacts == DataField(
        "contacts", fields=(DataField("phone", "restricted", PersonalRedaction.DROP),)
    )


@pytest.mark.parametrize(
    ("prop", "message"),
    [
        (
            "{name: owner, logicalType: string, classification: pii, customProperties: [{property: redaction, value: shred}]}",
            "field 'owner' has redaction 'shred'; expected one of pseudonymise, mask_card, mask, drop",
        ),
        (
            "{name: owner, logicalType: string, customProperties: [{property: redaction, value: mask}]}",
            "field 'owner' has redaction mask but classification None; personal-data redaction needs classification pii or restricted",
        ),
        (
            "{name: owner, logicalType: string, required: true, classification: pii, customProperties: [{property: redaction, value: drop}]}",
            "field 'owner' (redaction drop): a required or key field cannot be dropped",
        ),
        (
            "{name: age, logicalType: integer, classification: pii, customProperties: [{property: redaction, value: mask}]}",
            "field 'age' (redaction mask): only string fields can be redacted with mask; use drop",
        ),
        (
            "{name: owner, logicalType: string, classification: pii, logicalTypeOptions: {pattern: '^u-'}}",
            "the redacted value would fail the field's value set or pattern",
        ),
        (
            "{name: owner, logicalType: string, classification: pii, customProperties: [{property: redaction, value: mask}, {property: redaction, value: drop}]}",
            "field 'owner' has 2 redaction modes",
        ),
        (
            "{name: payload, logicalType: object, properties: [{logicalType: string, classification: pii}]}",
            "a field inside 'payload' has no name",
        ),
    ],
)
def test_bad_classifications_are_clear_errors(tmp_path: Path, prop: str, message: str) -> None:
    path = write_contract(tmp_path, f"- {prop}\n")
    with pytest.raises(ContractError) as raised:
        load_contract(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_a_key_field_may_only_be_pseudonymised(tmp_path: Path) -> None:
    path = tmp_path / "flow_run.odcs.yaml"
    path.write_text(
        "schema:\n  - name: flow_run\n    physicalName: raw.flow_runs\n    properties:\n"
        "      - {name: run_id, logicalType: string, primaryKey: true, primaryKeyPosition: 1, "
        "classification: pii, customProperties: [{property: redaction, value: mask}]}\n"
    )
    with pytest.raises(ContractError, match="a key field can only be pseudonymised"):
        load_contract(path)


# -- each redaction mode, exact outputs -------------------------------------------------------


def test_pseudonymise_is_keyed_stable_and_carries_its_key_id() -> None:
    first = redact(EMAIL, PersonalRedaction.PSEUDONYMISE, key)
    assert first == expected_pseudonym(EMAIL, KEY)
    assert first == redact(f"  {EMAIL.lower()} ", PersonalRedaction.PSEUDONYMISE, key)
    # names keep their case (only email addresses are case-insensitive)
    assert pseudonymise(NAME, KEY) != pseudonymise(NAME.lower(), KEY)
    assert pseudonymise(NAME, KEY) == expected_pseudonym(NAME, KEY)
    # another key: another pseudonym and another key id
    other = pseudonymise(EMAIL, b"rotated-key")
    assert other != first and other[5:11] != first[5:11]
    assert pseudonymise(first, KEY) == first  # idempotent: the drainer scrubs again
    # a number is pseudonymised in its JSON text form
    assert redact(2025550143, PersonalRedaction.PSEUDONYMISE, key) == expected_pseudonym(
        "2025550143", KEY
    )


def test_mask_card_keeps_the_last_four_digits() -> None:
    assert mask_card("4000 0566 5566 5556") == "[CARD ****5556]"
    assert mask_card("5500-0000-0000-0004") == "[CARD ****0004]"
    assert mask_card("4111111111111112") == "[CARD ****1112]"  # the contract says card: no Luhn
    assert mask_card("[CARD ****5556]") == "[CARD ****5556]"
    assert redact(4000056655665556, PersonalRedaction.MASK_CARD, key) == "[CARD ****5556]"


def test_mask_and_drop() -> None:
    assert redact("+1 202 555 0143", PersonalRedaction.MASK, key) == MASKED == "[MASKED]"
    assert redact(MASKED, PersonalRedaction.MASK, key) == MASKED
    assert redact("x", PersonalRedaction.DROP, key) is None
    # absent and blank values stay as they are (a required field's emptiness stays visible)
    assert redact(None, PersonalRedaction.MASK, key) is None
    assert redact("  ", PersonalRedaction.PSEUDONYMISE, key) == "  "
    # lists item by item, objects leaf by leaf
    assert redact(["a", None, 7], PersonalRedaction.MASK, key) == [MASKED, None, MASKED]
    assert redact({"first": "Dana", "last": None}, PersonalRedaction.MASK, key) == {
        "first": MASKED,
        "last": None,
    }


def test_event_data_is_redacted_by_the_contract_and_the_safety_net() -> None:
    data_rules = scrubber_for(load_contracts()[RecordKind.BUSINESS_EVENT])
    placed = business_events()[0]["data"]
    scrubbed = data_rules.scrub_field("data", placed, key)
    assert scrubbed == {
        "order_id": "O-1",
        "customer_email": expected_pseudonym(EMAIL, KEY),
        "customer_name": expected_pseudonym(NAME, KEY),
        "phone": MASKED,
        "card_number": "[CARD ****5556]",
        "customer": {
            "email": expected_pseudonym(NESTED_EMAIL, KEY),
            "name": expected_pseudonym(NESTED_NAME, KEY),
            "phone": MASKED,
        },
        "amount": 10.5,
    }  # date_of_birth dropped
    assert data_rules.scrub_field("data", scrubbed, key) == scrubbed  # idempotent
    # nested rules apply to the items of a list; unlisted keys pass; unlisted email keys and
    # Luhn-valid cards in free text are caught by the safety net
    listed = {"customer": [{"email": NESTED_EMAIL, "tier": "gold"}], "backup_email": EMAIL}
    assert data_rules.scrub_field("data", listed, key) == {
        "customer": [{"email": expected_pseudonym(NESTED_EMAIL, KEY), "tier": "gold"}],
        "backup_email": expected_pseudonym(EMAIL, KEY),
    }
    assert scrub_data({"note": "card 4111 1111 1111 1111"}, key) == {"note": "card [CARD ****1111]"}


def test_classified_top_level_field_in_a_frame_and_in_a_record() -> None:
    rules = scrubber_for(load_contracts()[RecordKind.FLOW_RUN])
    frame = pl.DataFrame({"idempotency_key": [IDEMPOTENCY_KEY, None, " ", "k-2"]})
    assert rules.scrub_frame(frame, key).frame["idempotency_key"].to_list() == [
        expected_pseudonym(IDEMPOTENCY_KEY, KEY),
        None,
        " ",
        expected_pseudonym("k-2", KEY),
    ]
    record = {"run_id": "r-1", "idempotency_key": IDEMPOTENCY_KEY, "error_message": None}
    assert rules.scrub_record(record, key) == {
        "run_id": "r-1",
        "idempotency_key": expected_pseudonym(IDEMPOTENCY_KEY, KEY),
        "error_message": None,
    }


# -- file ingest ------------------------------------------------------------------------------


def write_ndjson(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def ingest_corpus(data_dir: DataDir, folder: Path) -> list[tuple[int, int, int, int]]:
    runs = write_ndjson(folder / "runs.ndjson", flow_runs())
    events = write_ndjson(folder / "events.ndjson", business_events())
    summary = ingest_paths([runs, events], data_dir)
    return [(f.accepted, f.duplicates, f.collisions, f.quarantined) for f in summary.files]


def test_file_ingest_leaves_no_personal_data_in_cleartext_and_joins_still_work(
    data_dir: DataDir, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    assert ingest_corpus(data_dir, folder) == [(3, 0, 0, 1), (3, 0, 0, 2)]
    # the same files again: every record is a duplicate (scrubbing is stable, so the payload
    # hash and the quarantined raw record are too), never a collision, nothing quarantined twice
    assert ingest_corpus(data_dir, folder) == [(0, 4, 0, 0), (0, 5, 0, 0)]
    for path in folder.iterdir():
        path.unlink()  # the inputs hold cleartext on purpose; everything else must not
    searched = assert_no_cleartext(data_dir.root, data_dir.warehouse)
    assert {path.name for path in searched} >= {"warehouse.duckdb", "pii.key"}
    assert sum(path.suffix == ".parquet" for path in searched) == 2  # one landing file per kind

    pii_key = (data_dir.root / "secrets" / "pii.key").read_bytes()
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        # joins: the three runs of one sign-up carry one pseudonym, so they still group (two
        # deliveries of one payload, one idempotency collision: the marts' counts stay right)
        deliveries = con.execute(
            "select idempotency_key, count(*), count(distinct input_digest) from raw.flow_runs "
            "group by all"
        ).fetchall()
        events = dict(con.execute("select id, data from raw.business_events").fetchall())
        quarantined = con.execute(
            "select record_kind, reason, raw_record from raw.quarantine order by all"
        ).fetchall()
    finally:
        con.close()
    assert deliveries == [(expected_pseudonym(IDEMPOTENCY_KEY, pii_key), 3, 2)]
    placed, signed = json.loads(events["e-1"]), json.loads(events["e-2"])
    assert placed["customer_email"] == signed["signed_by"] == expected_pseudonym(EMAIL, pii_key)
    assert "date_of_birth" not in placed and placed["phone"] == MASKED
    assert json.loads(events["e-3"])["customer"] == [
        {"email": expected_pseudonym(NESTED_EMAIL, pii_key), "tier": "gold"}
    ]
    # quarantined rows are scrubbed by the same rules, reasons included
    by_kind = {(kind, json.loads(raw).get("id") or json.loads(raw).get("run_id")): (reason, raw)
               for kind, reason, raw in quarantined}  # fmt: skip
    reason, raw = by_kind[("flow_run", "r-broken")]
    assert json.loads(raw)["idempotency_key"] == expected_pseudonym(BROKEN_KEY, pii_key)
    reason, raw = by_kind[("business_event", "e-broken-data")]
    assert expected_pseudonym(EMAIL, pii_key) in reason and "is not a JSON object" in reason


def test_a_field_classified_later_makes_a_reingested_row_a_collision(
    data_dir: DataDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows stored before a field was classified keep its value; the same file again has another
    payload under their keys: collisions kept aside, not second copies (docs/contracts.md)."""
    import ingest.pipeline
    from ingest.contracts import CONTRACTS_DIR

    earlier = tmp_path / "contracts-before"
    earlier.mkdir()
    for path in CONTRACTS_DIR.glob("*.odcs.yaml"):
        lines = path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if "{name: shipping_address, logicalType" not in line]
        (earlier / path.name).write_text("".join(kept))
    event = {
        "specversion": "1.0", "id": "o-1", "source": "/acme/shop",
        "type": "com.acme.shop.order.placed", "time": "2026-01-01T10:00:00Z",
        "data": {"order_id": "O-1", "shipping_address": "1 Main St, Springfield"},
    }  # fmt: skip
    folder = tmp_path / "in"
    folder.mkdir()
    events = write_ndjson(folder / "events.ndjson", [event])

    def counts() -> tuple[int, int, int, int]:
        (result,) = ingest_paths([events], data_dir).files
        return result.accepted, result.duplicates, result.collisions, result.quarantined

    with monkeypatch.context() as patched:
        patched.setattr(ingest.pipeline, "load_contracts", lambda: load_contracts(earlier))
        assert counts() == (1, 0, 0, 0)
    assert counts() == (0, 0, 1, 0)
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        stored = con.execute("select data from raw.business_events").fetchall()
        collided = con.execute("select count(*) from raw.ingest_collisions").fetchone()[0]
    finally:
        con.close()
    assert [json.loads(data)["shipping_address"] for (data,) in stored] == [
        "1 Main St, Springfield"
    ]
    assert collided == 1


def _first_uses(secrets_dir: Path, threads: int) -> tuple[list[bytes], list[Exception]]:
    """``load_pii_key`` in ``threads`` threads at once: the keys they read, the errors."""
    import threading

    from ingest.scrub import load_pii_key

    keys: list[bytes] = []
    errors: list[Exception] = []
    together = threading.Barrier(threads)

    def first_use() -> None:
        together.wait()
        try:
            keys.append(load_pii_key(secrets_dir))
        except Exception as error:  # noqa: BLE001  (the assertion names it)
            errors.append(error)

    started = [threading.Thread(target=first_use) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return keys, errors


def test_concurrent_first_uses_of_the_key_file_read_one_whole_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiver checks requests in worker threads: the first requests of a new data
    directory race to create ``pii.key``. The loser read the winner's file before its bytes
    were written ("the key file is empty", 97 of 200 rounds of four threads); now each reads
    the one whole key, and no temporary file is left."""
    monkeypatch.delenv("FLOWLEDGER_PII_KEY", raising=False)
    for round_number in range(50):
        secrets_dir = tmp_path / f"round-{round_number}" / "secrets"
        keys, errors = _first_uses(secrets_dir, 8)
        assert errors == [] and len(keys) == 8 and len(set(keys)) == 1
        assert len(keys[0]) == 32
        assert [path.name for path in secrets_dir.iterdir()] == ["pii.key"]
        assert (secrets_dir / "pii.key").stat().st_mode & 0o777 == 0o600
