"""Process configuration: parsing, defaults and the error messages (no dbt)."""

from __future__ import annotations

import pytest

from flowledger.processes.config import (
    ConfigError,
    as_rows,
    declare_eventlog_process,
    load_config,
    parse_config_text,
)

GOOD = """
version: 1
processes:
  orders:
    case_key: order_id
    events:
      shop.order.placed: placed
      wms.order.shipped: {step: shipped}
    start: placed
    end: [shipped]
    sla: {from: placed, to: shipped, within: 48h}
    timeout: 7d
    segments: [region]
    steps:
      placed: {manual_minutes: 3, unit_cost: 0.5}
"""


def test_a_good_file_is_normalised():
    process = parse_config_text(GOOD, "f.yml")["orders"]
    assert process.events == {"shop.order.placed": "placed", "wms.order.shipped": "shipped"}
    assert process.start == ("placed",) and process.end == ("shipped",)
    assert process.sla.within_seconds == 48 * 3600
    assert process.timeout_seconds == 7 * 86400
    assert process.cycle_measure == "start_to_end_event"
    assert process.gray_failure_window_seconds == 86400


def test_rows_for_dbt_flag_start_end_and_costs():
    rows = as_rows(type("C", (), {"processes": parse_config_text(GOOD, "f.yml")})())
    steps = {row["step_name"]: row for row in rows["steps"]}
    assert steps["placed"]["is_start"] and not steps["placed"]["is_end"]
    assert steps["shipped"]["is_end"]
    assert (steps["placed"]["manual_minutes"], steps["placed"]["unit_cost"]) == (3.0, 0.5)
    assert rows["processes"][0]["sla_within_seconds"] == 172800.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("processes: [1]", "'processes' must map process names"),
        ("processes:\n  orders: {events: {a: b}}", "process orders: case_key is required"),
        ("processes:\n  orders: {case_key: id}", "declare exactly one of 'events'"),
        (
            "processes:\n  orders: {case_key: id, events: {a: b}, end: c}",
            "end: unknown step(s) ['c']",
        ),
        (
            "processes:\n  orders: {case_key: id, events: {a: b}, timeout: soon}",
            "timeout: expected a duration",
        ),
        (
            "processes:\n  orders: {case_key: id, events: {a: b}, sla: {from: b}}",
            "sla must have exactly",
        ),
        (
            "processes:\n  orders: {case_key: id, events: {a: b}, colour: red}",
            "unknown key(s) ['colour']",
        ),
        ("processes:\n  9lives: {case_key: id, events: {a: b}}", "must start with a letter"),
        (
            "processes:\n  o: {case_key: id, events: {a: b}, steps: {b: {unit_cost: -1}}}",
            "unit_cost must be a number >= 0",
        ),
        ("version: 2", "version 2 is not supported"),
        ("processes: {o: [", "not valid YAML"),
        # a process written twice kept the last one without a word
        (
            "processes:\n  orders: {case_key: id, events: {a: b}}\n"
            "  orders: {case_key: other, events: {a: b}}",
            "key 'orders' appears twice",
        ),
        # a tab: the position, not the name of an in-memory string
        ("processes:\n\torders: {}", "line 2, column 1"),
        # an XES/CSV attribute key where its field name is meant: say the field name
        (
            "processes:\n  o: {case_key: case_id, event_source: /eventlog/o, "
            "segments: ['case:creator']}",
            "'case:creator' -> 'case_creator'",
        ),
    ],
)
def test_errors_say_where_and_what(text, message):
    with pytest.raises(ConfigError) as error:
        parse_config_text(text, "conf.yml")
    assert "conf.yml" in str(error.value)
    assert message in str(error.value)
    assert "<unicode string>" not in str(error.value)


def test_the_shipped_file_is_valid_and_holds_the_demo_processes():
    config = load_config(None)
    assert set(config.processes) >= {"quote_to_cash", "cart_to_fulfillment", "ticket_escalation"}
    assert config.get("cart_to_fulfillment").sla.within_seconds == 48 * 3600


def test_ingest_declares_an_unknown_process_once(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWLEDGER_PROCESSES", raising=False)
    written = declare_eventlog_process(tmp_path, "claims")
    assert written == tmp_path / "processes.yml"
    assert declare_eventlog_process(tmp_path, "claims") is None
    declare_eventlog_process(tmp_path, "loans")
    config = load_config(tmp_path)
    assert config.get("claims").event_source == "/eventlog/claims"
    assert config.get("loans").cycle_measure == "first_to_last_event"
    with pytest.raises(ConfigError, match="process name starts with a letter"):
        declare_eventlog_process(tmp_path, "bad name")


def test_unknown_process_names_the_declared_ones():
    with pytest.raises(ConfigError, match="'nope' is not declared .*quote_to_cash"):
        load_config(None).get("nope")


def test_configured_steps_the_data_never_shows_are_warned_about():
    """`end: pay compensaton` (a typo) gave 0 completed cases and every case stuck, silently."""
    text = (
        "processes:\n  claims:\n    case_key: case_id\n    event_source: /eventlog/claims\n"
        "    start: [register request]\n    end: [pay compensaton, reject request]\n"
    )
    process = parse_config_text(text, "conf.yml")["claims"]
    seen = {"register request", "pay compensation", "reject request", "decide"}
    assert process.unseen_steps(seen) == [
        "process claims: end step 'pay compensaton' occurs in none of its events (its steps: "
        "decide, pay compensation, register request, reject request)"
    ]
    assert process.unseen_steps(set()) == []  # nothing imported yet: nothing to compare with
