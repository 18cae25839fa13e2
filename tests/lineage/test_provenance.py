"""Record provenance on demo data (generated, ingested and built once): the planted ownership
violation is found and counted, and field histories match a recount from the event files."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from dashboards.lineage_data import field_summary
from flowledger.cli import main
from flowledger.settings import DataDir
from lineage.ownership import OwnershipError, load_ownership
from lineage.provenance import (
    FieldHistory,
    ProvenanceError,
    field_history,
    ownership_violations,
    render_history,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_data_dir: DataDir) -> tuple[DataDir, dict]:
    files = demo_data_dir.demo
    events = [json.loads(line) for line in (files / "business_events.ndjson").open()]
    return demo_data_dir, {"events": events}


def recount(events: list[dict], key_field: str, key: str, field: str, types: set[str]):
    """The history of one field from the raw CloudEvents, first (source, id) only, by time."""
    seen: set[tuple[str, str]] = set()
    writes = []
    for event in events:
        natural = (event["source"], event["id"])
        if natural in seen:
            continue  # a redelivery or an id collision: ingest keeps the first
        seen.add(natural)
        data = event["data"]
        if event["type"] in types and data.get(key_field) == key and data.get(field) is not None:
            writes.append((event["time"], event["id"], event["source"], str(data[field])))
    return sorted(writes)


def test_planted_violation_is_listed_and_counted(demo) -> None:
    data_dir, _ = demo
    violations = ownership_violations(data_dir)
    assert len(violations) == 1
    found = violations[0]
    assert (
        found["entity"],
        found["field_name"],
        found["written_by"],
        found["system_of_record"],
    ) == (
        "order",
        "shipping_address",
        "/acme/wms",
        "/acme/shop",
    )
    assert found["flow_id"] == "c2f-shipment-tracking" and found["run_key"]
    history = field_history(data_dir, "order", found["record_key"], "shipping_address")
    assert [w["event_source"] for w in history.writes] == ["/acme/shop", "/acme/wms"]
    assert history.to_dict()["ownership_violations"] == 1
    # the address is personal data (the contract pseudonymises it): the WMS's upper-cased
    # rewrite is another pseudonym, no address is stored
    first, current = history.writes[0]["field_value"], history.current["field_value"]
    assert first.startswith("<pii:") and current.startswith("<pii:") and current != first


def test_history_matches_a_recount_from_the_event_files(demo) -> None:
    data_dir, raw = demo
    owners = {(o.entity, o.field_name): o for o in load_ownership()}
    owner = owners[("order", "payment_status")]
    orders = sorted(
        {
            e["data"]["order_id"]
            for e in raw["events"]
            if e["type"] == "com.acme.psp.payment.captured"
        }
    )
    for order_id in orders[:5]:
        expected = recount(
            raw["events"], "order_id", order_id, "payment_status", set(owner.event_types)
        )
        history = field_history(data_dir, "order", order_id, "payment_status")
        got = [(w["event_id"], w["event_source"], w["field_value"]) for w in history.writes]
        assert got == [(i, s, v) for _, i, s, v in expected]
        assert [w["write_sequence"] for w in history.writes] == list(range(1, len(expected) + 1))
        assert history.current["field_value"] == "captured"
        capture = history.writes[-1]
        assert capture["flow_id"] == "c2f-payment-capture" and capture["run_key"].startswith(
            "aws-lambda:"
        )


def test_who_wrote_cli(demo, capsys) -> None:
    data_dir, _ = demo
    key = ownership_violations(data_dir)[0]["record_key"]
    args = ["--data-dir", str(data_dir.root), "lineage", "who-wrote", "order", key]
    assert main([*args, "shipping_address", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["last_written_by"]["source"] == "/acme/wms"
    assert result["last_written_by"]["at"].endswith("Z")  # UTC, said (it read as local time)
    assert result["system_of_record"] == "/acme/shop"
    assert main([*args, "shipping_address"]) == 0
    assert "VIOLATION" in capsys.readouterr().out
    assert main([*args, "colour"]) == 1
    assert "its written fields are" in capsys.readouterr().err
    assert main(["--data-dir", str(data_dir.root), "lineage", "who-wrote", "planet", "X", "y"]) == 1
    err = capsys.readouterr().err
    assert "no entity 'planet': declared entities are order, quote, invoice, ticket" in err
    assert "entities with writes: invoice, order, quote, ticket" in err


def test_nothing_published_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match="flowledger build"):
        field_history(DataDir(tmp_path), "order", "O-1", "amount")


def test_bad_ownership_declarations_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("kind: DataContract\n")
    with pytest.raises(OwnershipError, match="declares no field ownership"):
        load_ownership(path)
    path.write_text(
        "customProperties:\n  - property: fieldOwnership\n    value:\n      entities:\n"
        "        - {entity: order, key: order_id, fields: [{name: amount}]}\n"
    )
    with pytest.raises(OwnershipError, match="needs `name` and `systemOfRecord`"):
        load_ownership(path)
    # a source list written as one text, or a number: each writer is one source
    for writers in ("systemOfRecord: '/acme/psp,/acme/shop'", "systemOfRecord: 5",
                    "systemOfRecord: /acme/psp, alsoWrittenBy: ['/acme/a,/acme/b']"):  # fmt: skip
        path.write_text(
            "customProperties:\n  - property: fieldOwnership\n    value:\n      entities:\n"
            f"        - {{entity: order, key: order_id, fields: [{{name: amount, {writers}}}]}}\n"
        )
        with pytest.raises(OwnershipError, match="each a string without a comma"):
            load_ownership(path)


def test_record_writes_are_published_in_record_order(demo: tuple[DataDir, dict]) -> None:
    # the lookup of one record (CLI, provenance page) reads only the row groups whose min/max
    # hold it: the rows of a full build lie in (entity, record_key) order, row id by row id
    from flowledger.warehouse import open_published

    with open_published(demo[0]) as con:
        ((rows, out_of_order),) = con.execute(
            "select count(*), count(*) filter ("
            "where before_entity is not null and (entity, record_key) < (before_entity, before_key)) "
            "from (select entity, record_key, lag(entity) over (order by rowid) as before_entity, "
            "lag(record_key) over (order by rowid) as before_key from fct_record_field_writes)"
        ).fetchall()
    assert rows > 1000 and out_of_order == 0


def test_a_data_directory_declares_its_own_entities(tmp_path: Path, capsys) -> None:
    """Ownership was read only from the installed contract: a company's own event types had no
    entity, and "who last wrote it" could not be answered without editing the package. The data
    directory's field_ownership.yml adds entities (and replaces one of the same name)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "field_ownership.yml").write_text(
        "entities:\n"
        "  - entity: deal\n"
        "    key: deal_id\n"
        "    eventTypes: [com.northwind.deal.priced, com.northwind.deal.repriced]\n"
        "    fields:\n"
        "      - {name: amount, systemOfRecord: /northwind/crm}\n"
    )
    events = [
        {"specversion": "1.0", "id": f"e{n}", "source": source, "type": kind,
         "time": f"2026-11-0{n}T10:00:00Z", "data": {"deal_id": "D-7", "amount": amount}}
        for n, source, kind, amount in [
            (1, "/northwind/crm", "com.northwind.deal.priced", 100),
            (2, "/northwind/erp", "com.northwind.deal.repriced", 90),
        ]
    ]  # fmt: skip
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    args = ["--data-dir", str(home)]
    assert main([*args, "ingest", str(path)]) == 0
    assert main([*args, "build", "--quiet"]) == 0
    capsys.readouterr()
    assert main([*args, "lineage", "who-wrote", "deal", "D-7", "amount", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    writes = [(w["event_source"], w["field_value"], w["is_ownership_violation"]) for w in
              history["writes"]]  # fmt: skip
    assert writes == [("/northwind/crm", "100", False), ("/northwind/erp", "90", True)]
    # the contract's entities are still declared beside it
    assert {o.entity for o in load_ownership(data_dir=home)} >= {"deal", "order", "quote"}
    # a declared entity without writes is said to be one (it was called unknown)
    assert main([*args, "lineage", "who-wrote", "quote", "Q-1", "amount"]) == 1
    assert capsys.readouterr().err == (
        "flowledger lineage: no quote has a tracked field written in the published data (entities "
        "with writes: deal): no built event of the quote event types carries its key field\n"
    )
    # and the page shows a deep link's declared entity, not another one in its place
    from streamlit.testing.v1 import AppTest

    from flowledger.settings import PROJECT_ROOT

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLOWLEDGER_HOME", str(home))
        at = AppTest.from_file(str(PROJECT_ROOT / "dashboards" / "streamlit_app.py"))
        at.run(timeout=120)
        at.switch_page("app_pages/record_provenance.py")
        at.query_params.update({"entity": "quote", "key": "Q-1"})
        at.run(timeout=120)
    assert not at.exception
    assert at.selectbox[0].value == "quote"
    assert [w.value for w in at.warning] == ["No tracked field of quote `Q-1` was written."]


def test_a_bad_data_directory_declaration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "field_ownership.yml").write_text("entity: deal\n")
    with pytest.raises(OwnershipError, match="expected one key, `entities`"):
        load_ownership(data_dir=tmp_path)
    (tmp_path / "field_ownership.yml").write_text(
        "entities:\n  - {entity: order, key: order_id, fields: [{name: amount}]}\n"
    )
    with pytest.raises(OwnershipError, match=r"field_ownership.yml entity #1 \(order\)"):
        load_ownership(data_dir=tmp_path)


def _write(sequence: int, value: str, source: str, event_id: str, at: str) -> dict:
    return {
        "write_sequence": sequence,
        "field_value": value,
        "event_source": source,
        "event_id": event_id,
        "event_type": "payment.updated",
        "occurred_at": datetime.fromisoformat(at),
        "flow_id": None,
        "flow_name": None,
        "run_key": None,
        "run_id": None,
        "system_of_record": "/acme/psp",
        "is_ownership_violation": source != "/acme/psp",
        "is_current": False,
    }


def test_a_tie_at_the_current_write_is_said_not_settled_silently() -> None:
    """The shop wrote 'pending' and the psp 'captured' at the same instant: the psp's event id
    sorts last, so it was shown as the last writer without a word."""
    writes = [
        _write(1, "new", "/acme/shop", "a-0", "2026-09-01 10:00:00"),
        _write(2, "pending", "/acme/shop", "ev-004", "2026-09-01 11:00:00"),
        _write(3, "captured", "/acme/psp", "ev-005", "2026-09-01 11:00:00"),
    ]
    writes[-1]["is_current"] = True
    history = FieldHistory("order", "Z2", "payment_status", writes)
    assert [w["event_id"] for w in history.tied_with_current] == ["ev-004"]
    assert [(t["source"], t["value"]) for t in history.to_dict()["tied_with"]] == [
        ("/acme/shop", "pending")
    ]
    assert "TIE: also written at that very time: 'pending' by /acme/shop" in render_history(history)
    summary = field_summary(pl.DataFrame(writes).with_columns(field_name=pl.lit("payment_status")))
    assert summary["tied_with"].to_list() == ["/acme/shop"]

    writes[1]["field_value"] = "captured"  # the same value at the same time: no question
    history = FieldHistory("order", "Z2", "payment_status", writes)
    assert history.tied_with_current == [] and "TIE" not in render_history(history)
    summary = field_summary(pl.DataFrame(writes).with_columns(field_name=pl.lit("payment_status")))
    assert summary["tied_with"].to_list() == [None]


def test_a_write_whose_trace_has_no_run_is_told_from_one_sent_by_the_system() -> None:
    """Both read "(sent by the system)": an event naming a trace of which no run was ingested
    (a missing or late run log) is not one a system sent on its own."""
    orphan = _write(1, "captured", "/acme/psp", "ev-1", "2026-09-01 10:00:00")
    orphan["trace_id"] = "4bf92f3577b34da6a3ce929d0e0e4736"
    own = _write(2, "refunded", "/acme/psp", "ev-2", "2026-09-02 10:00:00") | {"trace_id": None}
    own["is_current"] = True
    text = render_history(FieldHistory("order", "Z7", "payment_status", [orphan, own]))
    assert "(trace 4bf92f3577b34da6a3ce929d0e0e4736: no run of it ingested)" in text
    assert text.count("(sent by the system)") == 1
