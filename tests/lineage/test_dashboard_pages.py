"""The lineage explorer and record provenance pages through streamlit's AppTest, on the demo
data (the planted ownership violation must be shown), plus the pure table/graph builders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
import streamlit as st
from lineage_support import CLEAN_SQL, SUMMARY_SQL, SUMMARY_SQL_NEW, write_manifest
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


def test_lineage_explorer_takes_the_cli_s_model_column_form(home: DataDir) -> None:
    # `flowledger lineage trace fct_cases.cycle_time_seconds` and docs/lineage.md name columns
    # so: the page warned "not a known column" and showed another one
    at = page("app_pages/lineage_explorer.py", {"column": "fct_cases.cycle_time_seconds"})
    clean(at)
    assert not at.warning
    assert at.selectbox[0].value == "marts.main.fct_cases.cycle_time_seconds"
    assert at.query_params["column"] == "marts.main.fct_cases.cycle_time_seconds"


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


@pytest.fixture()
def shop_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataDir]:
    """The two-model project of test_partial_build.py, nothing built or published; the page's
    cached reads (keyed by column, not data directory) start and end empty."""
    data_dir = DataDir(tmp_path / "home").ensure()
    monkeypatch.setenv("FLOWLEDGER_HOME", str(data_dir.root))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield data_dir
    st.cache_data.clear()
    st.cache_resource.clear()


def test_lineage_explorer_says_which_jobs_sql_is_from_an_older_build(
    shop_home: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `flowledger build --select orders_summary` the trace crosses orders_clean with the
    SQL of the build before: the page names the job and that build's time; after a full build
    (or for a trace read before `olderBuilds` existed) it says nothing of it."""
    params = {"column": "w.shop.orders.amount", "direction": "downstream"}
    write_manifest(
        shop_home, generated_at="2026-12-01T10:00:00Z", clean_sql=CLEAN_SQL, summary_sql=SUMMARY_SQL
    )
    at = page("app_pages/lineage_explorer.py", params)
    clean(at)
    assert set(at.dataframe[0].value["job"]) == {"w.main.p.orders_clean", "w.main.p.orders_summary"}
    assert not at.warning, [w.value for w in at.warning]

    write_manifest(
        shop_home, generated_at="2026-12-02T10:00:00Z", clean_sql=None, summary_sql=SUMMARY_SQL_NEW
    )
    st.cache_data.clear()
    st.cache_resource.clear()
    at = page("app_pages/lineage_explorer.py", params)
    clean(at)
    assert [w.value for w in at.warning] == [
        "**SQL from an older build.** The last build (`flowledger build --select`) did not "
        "compile this job of the trace: its steps are parsed from the SQL an older build "
        "compiled. A full `flowledger build` compiles every model again.\n\n"
        "- `w.main.p.orders_clean`: SQL of the build of 2026-12-01 10:00 UTC"
    ]

    traced = lineage_data.column_trace  # a trace stored before the field: no note, no error
    monkeypatch.setattr(
        lineage_data,
        "column_trace",
        lambda *args: {k: v for k, v in traced(*args).items() if k != "olderBuilds"},
    )
    at = page("app_pages/lineage_explorer.py", params)
    clean(at)
    assert not at.warning, [w.value for w in at.warning]
    monkeypatch.setattr(lineage_data, "column_trace", traced)

    write_manifest(
        shop_home, generated_at="2026-12-03T10:00:00Z", clean_sql=CLEAN_SQL, summary_sql=SUMMARY_SQL
    )
    st.cache_data.clear()
    st.cache_resource.clear()
    at = page("app_pages/lineage_explorer.py", params)
    clean(at)
    assert len(at.dataframe[0].value) > 0
    assert not at.warning, [w.value for w in at.warning]


def test_older_build_note_names_the_jobs_and_their_builds() -> None:
    job = {"namespace": "flowledger", "name": "w.main.p.orders_clean"}
    result = {
        "direction": "upstream",
        "tree": {"dataset": "m", "field": "total", "children": [
            {"dataset": "c", "field": "cents", "job": job, "children": [
                {"dataset": "s", "field": "amount", "job": {"namespace": "flowledger", "name": "j"},
                 "children": []},
            ]},
        ]},
        "olderBuilds": [
            {"job": "flowledger:w.main.p.orders_clean", "manifestGeneratedAt": "2026-12-01T10:00:00.5Z"},
            {"job": "flowledger:j", "manifestGeneratedAt": None},
        ],
    }  # fmt: skip
    assert lineage_data.older_builds(result) == [
        {"job": "j", "built": None},
        {"job": "w.main.p.orders_clean", "built": "2026-12-01T10:00:00.5Z"},
    ]
    note = lineage_data.older_build_note(result)
    assert note is not None and "compile these 2 jobs of the trace" in note
    assert note.endswith(
        "- `j`: SQL of an older build (time unknown)\n"
        "- `w.main.p.orders_clean`: SQL of the build of 2026-12-01 10:00 UTC"
    )
    assert lineage_data.older_build_note({**result, "olderBuilds": []}) is None
    without = {k: v for k, v in result.items() if k != "olderBuilds"}  # stored before the field
    assert lineage_data.older_builds(without) == []
    assert lineage_data.older_build_note(without) is None


def test_record_provenance_before_the_first_build_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the page reads through the dashboard's kept connection to the newest snapshot: before any
    # build there is none, and the page says so instead of failing
    monkeypatch.setenv("FLOWLEDGER_HOME", str(tmp_path))
    st.cache_data.clear()
    st.cache_resource.clear()
    st.cache_resource.clear()
    at = page("app_pages/record_provenance.py", {"entity": "order", "key": "O-1"})
    assert not at.exception, [e.value for e in at.exception]
    assert any("Nothing is published yet" in info.value for info in at.info)


def test_provenance_queries_read_one_open_snapshot_connection(home: DataDir) -> None:
    # the page's loaders are the query_* functions on a cursor of the kept connection (what the
    # benchmark times): the same answers as the CLI's own connection per question
    from dashboards.snapshot import SnapshotReader

    planted = ownership_violations(home)[0]
    reader = SnapshotReader()
    try:
        with reader.cursor(home) as con:
            entities = lineage_data.query_entities(con)
            writes = lineage_data.query_record_writes(con, "order", planted["record_key"])
            violations = lineage_data.query_violations(con)
    finally:
        reader.close()
    assert "order" in entities
    assert set(writes["record_key"]) == {planted["record_key"]}
    assert writes["field_name"].to_list() == sorted(writes["field_name"].to_list())
    assert len(violations) == len(ownership_violations(home))


TILE_PAGES = {
    "app_pages/leadership.py": {},
    "app_pages/flow_health.py": {},
    "app_pages/process.py": {},
    "app_pages/error_budgets.py": {},
    "app_pages/case_timeline.py": {"case": "cart_to_fulfillment:O-00000001"},
}
LINEAGE_LINK = re.compile(r"\[([^\]]+)\]\(lineage\?column=([^&)]+)&direction=upstream\)")


@pytest.mark.parametrize("path", sorted(TILE_PAGES))
def test_every_number_links_to_the_lineage_of_its_mart_columns(home: DataDir, path: str) -> None:
    """A dashboard number -> the mart columns it is computed from -> their lineage (issue: "from
    a dashboard number back to the event field"). Each tile names columns the lineage graph of
    the build knows, and the explorer opens on each."""
    at = page(path, TILE_PAGES[path])
    assert not at.exception, [e.value for e in at.exception]  # an exhausted budget is an error box
    links = [LINEAGE_LINK.findall(caption.value) for caption in at.caption]
    links = [found for found in links if found]
    assert at.metric and len(links) == len(at.metric)  # one line of links under each number
    for found in links:
        for shown, target in found:
            assert unquote(target) == shown
            assert lineage_data.column_label(shown) == f"marts.main.{shown}", shown


def test_a_tile_link_opens_the_explorer_on_its_column(home: DataDir) -> None:
    at = page("app_pages/leadership.py", {})
    clean(at)
    (first, *_), *_ = [LINEAGE_LINK.findall(c.value) for c in at.caption if "lineage?" in c.value]
    target = first[1]
    explorer = page("app_pages/lineage_explorer.py", {"column": unquote(target)})
    clean(explorer)
    assert explorer.selectbox[0].value == f"marts.main.{unquote(target)}"
    assert len(explorer.dataframe[0].value) > 0  # its steps, down to the event fields
