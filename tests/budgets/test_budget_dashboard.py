"""The error-budget page through streamlit.testing.v1.AppTest on the published hand-made world,
and its pure chart functions."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from budget_world import AS_OF, H
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from dashboards import budget_charts  # noqa: E402
from flowledger.settings import DataDir  # noqa: E402
from flowledger.warehouse import connect_warehouse, publish, writer_lock  # noqa: E402

APP = REPO_ROOT / "dashboards" / "streamlit_app.py"
PAGE = "app_pages/error_budgets.py"


@pytest.fixture
def budget_home(budget_build, monkeypatch):
    monkeypatch.setenv("FLOWLEDGER_HOME", str(budget_build.data_dir.root))
    st.cache_data.clear()
    yield budget_build
    st.cache_data.clear()


def _page(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page(PAGE)
    at.query_params.clear()
    at.query_params.update(params or {})
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


@pytest.mark.slow
def test_slo_list_sorted_by_remaining_and_lowest_selected(budget_home):
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Error budgets"
    listing = at.dataframe[0].value
    remaining = listing["budget_remaining"].tolist()
    assert remaining == sorted(remaining)
    # Lowest: sliced-tiny 1 − 2 / (0.01 · 12) = −15.67, then pay-attempts 1 − 7/1.09 = −5.42.
    assert listing["slo_id"].tolist()[:2] == ["sliced-tiny", "pay-attempts"]
    assert listing["slo_id"].tolist()[-1] == "ghost-success"  # unknown remaining last
    assert at.selectbox[0].value == "sliced-tiny"
    assert _metrics(at)["State"] == "INSUFFICIENT_DATA"
    assert any("Insufficient data: fewer than 20 units" in w.value for w in at.warning)
    at.selectbox[0].set_value("pay-attempts").run()
    assert _metrics(at)["State"] == "EXHAUSTED"
    assert any("change freeze" in e.value for e in at.error)
    assert at.query_params["slo"] == "pay-attempts"


@pytest.mark.slow
def test_deep_link_shows_one_slo_with_its_tables(budget_home):
    at = _page({"slo": "pay-success"})
    assert not at.exception, [e.value for e in at.exception]
    metrics = _metrics(at)
    assert metrics["Budget remaining"] == f"{100 * (1 - 5 / 1.07):.1f}%"
    assert metrics["Budget remaining (raw)"] == f"{100 * (1 - 6 / 1.08):.1f}%"
    assert metrics["SLI"] == f"{100 * 102 / 107:.3f}%"
    alerts = at.dataframe[1].value
    assert alerts["alert"].tolist() == ["page-1h", "page-6h", "ticket-1d", "ticket-3d"]
    assert alerts["threshold"].tolist() == pytest.approx([14.4, 6, 3, 1])
    assert alerts["firing"].tolist() == [True, True, True, True]
    rates = at.dataframe[2].value
    assert rates.set_index("window")["burn_rate"]["1h"] == pytest.approx(100 * 2 / 7)
    attribution = at.dataframe[3].value
    assert dict(zip(attribution["value"], attribution["budget_consumed"], strict=True)) == (
        pytest.approx({"capture": 4 / 1.07, "notify": 1 / 1.07})
    )
    history = at.dataframe[4].value
    assert history["to_state"].tolist() == ["EXHAUSTED", "HEALTHY", "INSUFFICIENT_DATA"]
    at.radio[0].set_value("flow_version").run()
    versions = at.dataframe[3].value
    assert dict(zip(versions["value"], versions["budget_consumed"], strict=True)) == (
        pytest.approx({"1.0": 2 / 1.07, "2.0": 3 / 1.07})
    )


@pytest.mark.slow
def test_each_slo_picked_in_turn_is_shown(budget_home):
    """The pick must win over the URL the previous pick wrote (every second pick was lost)."""
    at = _page()
    for slo_id in ("pay-attempts", "ship-success", "pay-success"):
        at.selectbox[0].set_value(slo_id).run()
        assert (at.selectbox[0].value, at.query_params["slo"]) == (slo_id, slo_id)


@pytest.mark.slow
def test_healthy_slo_has_no_warning(budget_home):
    at = _page({"slo": "ship-success"})
    assert not at.exception
    assert _metrics(at)["State"] == "HEALTHY"
    assert not at.error
    assert any("Nothing consumed the budget" in c.value for c in at.caption)
    # its last run started 4 hours before the as-of time: no burn rate, not "never", as the
    # report says it
    captions = " ".join(c.value for c in at.caption)
    assert "Time to exhaustion at the 1h burn rate: unknown (no units in the last hour)." in (
        captions
    )


def test_nothing_published(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLEDGER_HOME", str(tmp_path))
    st.cache_data.clear()
    at = _page()
    assert not at.exception
    assert "Nothing is published yet" in at.info[0].value


def test_a_build_without_data_lists_the_slos_and_says_why_there_is_no_budget(tmp_path, monkeypatch):
    """A first build before any ingest: the SLOs are configured, but nothing has an as-of time."""
    data_dir = DataDir(tmp_path).ensure()
    with writer_lock(data_dir):
        con = connect_warehouse(data_dir)
        try:
            con.execute(
                "create table marts.fct_error_budgets as select 'pay-success' as slo_id, "
                "'Payments succeed' as display_name, 'pay' as flow_id, 0.99 as target, "
                "'28d' as window_text, 'Occurrences' as method, null::double as sli, "
                "null::double as budget_remaining, null::double as budget_remaining_raw, "
                "null::varchar as state, null::varchar as firing_alerts, "
                "null::double as hours_to_exhaustion, null::timestamp as as_of"
            )
        finally:
            con.close()
        publish(data_dir, {"built_at": "2026-10-29T12:05:00Z", "data_as_of": ""})
    monkeypatch.setenv("FLOWLEDGER_HOME", str(tmp_path))
    st.cache_data.clear()
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    assert "no SLO has data yet" in at.info[0].value
    assert at.dataframe[0].value["slo_id"].tolist() == ["pay-success"]
    assert not at.metric


def test_burndown_chart_marks_versions_and_adjustments():
    series = pl.DataFrame(
        {
            "step_at": [AS_OF - 2 * H, AS_OF - H, AS_OF],
            "burndown_remaining": [1.0, 0.5, -0.2],
            "ideal_remaining": [1.0, 0.5, 0.0],
            "budget_remaining_raw": [1.0, 0.4, -0.3],
        }
    )
    annotations = pl.DataFrame(
        {
            "kind": ["flow_version", "flow_version", "incident"],
            "label": ["2.0", "0.9", "psp"],
            "starts_at": [AS_OF - H, AS_OF - 100 * H, AS_OF - 2 * H],
            "ends_at": [None, None, AS_OF - H],
        }
    )
    figure = budget_charts.burndown_chart(series, annotations)
    assert [trace.name for trace in figure.data] == ["remaining", "ideal (spent evenly)"]
    assert list(figure.data[0].y) == [1.0, 0.5, -0.2]
    shapes = figure.layout.shapes
    kinds = sorted(shape.type for shape in shapes)
    # zero line, one version inside the period (0.9 is before it), one shaded incident
    assert kinds == ["line", "line", "rect"]
    assert [a.text for a in figure.layout.annotations if a.text.startswith("v")] == ["v2.0"]


def test_burndown_chart_empty():
    empty = pl.DataFrame(
        schema={
            "step_at": pl.Datetime,
            "burndown_remaining": pl.Float64,
            "ideal_remaining": pl.Float64,
        }
    )
    figure = budget_charts.burndown_chart(empty, pl.DataFrame())
    assert figure.layout.annotations[0].text == budget_charts.NO_DATA_TEXT


def test_attribution_bars_pareto_order():
    attribution = pl.DataFrame(
        {
            "dimension": ["failing_step", "failing_step", "error_type"],
            "value": ["notify", "capture", "timeout"],
            "budget_consumed": [0.2, 0.7, 0.9],
        }
    )
    figure = budget_charts.attribution_bars(attribution, "failing_step")
    assert list(figure.data[0].x) == ["capture", "notify"]
    assert list(figure.data[0].y) == [0.7, 0.2]
