"""The lineage explorer and record provenance pages through streamlit's AppTest, on the demo
data (the planted ownership violation must be shown), plus the pure table/graph builders."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboards import lineage_data
from flowledger.settings import DataDir
from lineage.provenance import ownership_violations

pytestmark = pytest.mark.slow
APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "streamlit_app.py")


@pytest.fixture()
def home(demo_data_dir: DataDir, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    monkeypatch.setenv("FLOWLEDGER_HOME", str(demo_data_dir.root))
    return demo_data_dir


def page(path: str, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(path)
    at.query_params.clear()
    at.query_params.update(params)
    return at.run()


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error or all("broke field ownership" in e.value for e in at.error)


def test_lineage_explorer_upstream_deep_link(home: DataDir) -> None:
    column = "marts.main.fct_step_reliability_daily.attempts"
    at = page("app_pages/lineage_explorer.py", {"column": column, "direction": "upstream"})
    clean(at)
    assert at.title[0].value == "Lineage explorer"
    assert at.selectbox[0].value == column
    steps = at.dataframe[0].value
    first = steps[steps["hop"] == 1]
    assert sorted(first["to"]) == [
        "warehouse.intermediate.int_step_attempts_enriched.flow_id",
        "warehouse.intermediate.int_step_attempts_enriched.started_at",
        "warehouse.intermediate.int_step_attempts_enriched.step_name",
    ]
    assert set(first["subtype"]) == {"GROUP_BY"}
    leaves = set(at.dataframe[1].value["field"])
    assert {"started_at", "step_name", "flow_id"} <= leaves


def test_lineage_explorer_downstream_from_an_event_field(home: DataDir) -> None:
    at = page(
        "app_pages/lineage_explorer.py",
        {"column": "warehouse.raw.business_events.time", "direction": "downstream"},
    )
    clean(at)
    assert at.selectbox[0].value == "warehouse.raw.business_events.time"
    reached = set(at.dataframe[0].value["to"])
    assert "marts.main.fct_record_field_writes.occurred_at" in reached


def test_record_provenance_highlights_the_planted_violation(home: DataDir) -> None:
    planted = ownership_violations(home)[0]
    at = page("app_pages/record_provenance.py", {"entity": "order", "key": planted["record_key"]})
    clean(at)
    assert at.metric[0].value == "1"
    summary = at.dataframe[0].value
    row = summary[summary["field_name"] == "shipping_address"].iloc[0]
    assert row["last_written_by"] == "/acme/wms" and row["ownership_violations"] == 1
    assert row["system_of_record"] == "/acme/shop"
    assert any("broke field ownership" in e.value for e in at.error)


def test_each_entity_key_and_question_picked_in_turn_is_shown(home: DataDir) -> None:
    """A pick must win over the URL the previous pick wrote (every second pick was lost)."""
    at = page("app_pages/record_provenance.py", {})
    entities = at.selectbox[0].options
    for entity in [*entities[1:], entities[0]]:
        at.selectbox[0].set_value(entity).run()
        assert (at.selectbox[0].value, at.query_params["entity"]) == (entity, entity)
    at.selectbox[0].set_value("order").run()
    for key in ("O-00000001", "O-00000002", "O-00000003"):
        at.text_input[0].set_value(key).run()
        assert at.markdown[0].value == f"#### order {key}: current values"
    at = page("app_pages/lineage_explorer.py", {})
    for direction in ("downstream", "upstream", "downstream"):
        at.radio[0].set_value(direction).run()
        clean(at)
        assert (at.radio[0].value, at.query_params["direction"]) == (direction, direction)
        assert not at.warning, [w.value for w in at.warning]


def test_trace_builders_are_pure() -> None:
    result = {
        "direction": "upstream",
        "leaves": [],
        "tree": {
            "dataset": "m", "field": "total", "children": [
                {"dataset": "s", "field": "amount", "children": [],
                 "transformation": {"type": "DIRECT", "subtype": "AGGREGATION", "description": "sum(amount)"}, "job": {"name": "j"}},
                {"dataset": "s", "field": "status", "children": [],
                 "transformation": {"type": "INDIRECT", "subtype": "FILTER", "description": "status = 'paid'"}, "job": {"name": "j"}},
            ],
        },
    }  # fmt: skip
    table = lineage_data.trace_table(result)
    assert table.rows() == [
        (1, "m.total", "s.amount", "DIRECT", "AGGREGATION", "sum(amount)", "j"),
        (1, "m.total", "s.status", "INDIRECT", "FILTER", "status = 'paid'", "j"),
    ]
    dot = lineage_data.trace_dot(result)
    assert '"s.amount" -> "m.total"' in dot and "style=dashed" in dot
    assert '"s.status"' not in lineage_data.trace_dot(result, direct_only=True)
