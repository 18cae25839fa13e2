"""The process and case timeline pages (Streamlit AppTest) over the imported generated logs;
expected numbers from PM4Py / pandas on the same log."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboards.formatting import format_count, format_duration, format_rate
from flowledger.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
pm4py = pytest.importorskip("pm4py")
PAGES = PROJECT_ROOT / "dashboards" / "app_pages"


@pytest.fixture(scope="module")
def log_frame(imported_logs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.read_xes(str(imported_logs.xes), variant="iterparse")


@pytest.fixture
def home(imported_logs, monkeypatch):
    monkeypatch.setenv("FLOWLEDGER_HOME", str(imported_logs.home))
    st.cache_data.clear()
    yield imported_logs
    st.cache_data.clear()


def process_page(process: str, log_frame: pd.DataFrame) -> AppTest:
    """The process page over every day of the log (it shows a date range, by default 30 days)."""
    app = AppTest.from_file(str(PAGES / "process.py"), default_timeout=60)
    times = pd.to_datetime(log_frame["time:timestamp"], utc=True)  # the page's days are UTC
    app.query_params.update(
        {"process": process, "from": f"{times.min():%Y-%m-%d}", "to": f"{times.max():%Y-%m-%d}"}
    )
    return app.run()


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def expected_stuck(frame: pd.DataFrame) -> set[str]:
    as_of = frame["time:timestamp"].max()
    ends = {"Pay compensation", "Reject request"}
    stuck = set()
    for case_id, events in frame.groupby("case:concept:name"):
        if events["concept:name"].isin(ends).any():
            continue
        if as_of - events["time:timestamp"].max() > pd.Timedelta(days=30):
            stuck.add(case_id)
    return stuck


def test_process_page_shows_pm4py_numbers(home, log_frame):
    app = process_page("gen_xes", log_frame)
    assert not app.exception
    durations = np.array(pm4py.get_all_case_durations(log_frame))
    shown = metrics(app)
    assert shown["Cases started"] == format_count(400)
    assert shown["Median cycle time"] == format_duration(float(np.quantile(durations, 0.5)))
    assert shown["p95 cycle time"] == format_duration(float(np.quantile(durations, 0.95)))
    repeated = log_frame.groupby(["case:concept:name", "concept:name"]).size()
    share = repeated[repeated > 1].reset_index()["case:concept:name"].nunique() / 400
    assert shown["Rework (repeated activity)"] == format_rate(share)
    assert shown["Stuck cases"] == "0"
    assert app.query_params["process"] == "gen_xes"


def test_process_page_draws_the_directly_follows_graph_and_sla_trend(home, log_frame):
    app = process_page("gen_ends", log_frame)
    assert not app.exception
    headings = [h.value for h in app.subheader]
    assert "SLA attainment by week" in headings
    charts = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    (sankey,) = [c["data"][0] for c in charts if c["data"][0]["type"] == "sankey"]
    pairs = log_frame.assign(
        next_step=log_frame.groupby("case:concept:name")["concept:name"].shift(-1)
    ).dropna(subset=["next_step"])
    expected = pairs.groupby(["concept:name", "next_step"]).size()
    labels = sankey["node"]["label"]
    drawn = {
        (labels[s], labels[t]): v
        for s, t, v in zip(
            sankey["link"]["source"], sankey["link"]["target"], sankey["link"]["value"], strict=True
        )
    }
    assert drawn == {pair: int(count) for pair, count in expected.items()}
    (trend,) = [c["data"][0] for c in charts if c["data"][0].get("name") == "SLA attainment"]
    assert all(0 <= y <= 1 for y in trend["y"] if y is not None)


def test_stuck_cases_are_listed_with_timeline_links(home, log_frame):
    app = process_page("gen_ends", log_frame)
    assert not app.exception
    stuck = expected_stuck(log_frame)
    assert stuck  # the log has open cases older than the timeout
    assert metrics(app)["Stuck cases"] == format_count(len(stuck))
    table = app.dataframe[-1].value
    assert set(table["case_id"]) == stuck
    assert all(link.startswith("case-timeline?case=gen_ends%3A") for link in table["timeline"])


def test_case_timeline_shows_the_events_in_order_and_field_values(home, log_frame):
    case_id = "case-0000001"
    app = AppTest.from_file(str(PAGES / "case_timeline.py"), default_timeout=60)
    app.query_params["case"] = f"gen_xes:{case_id}"
    app.run()
    assert not app.exception
    trace = log_frame[log_frame["case:concept:name"] == case_id]
    events = app.dataframe[0].value
    assert list(events["step_name"]) == list(trace["concept:name"])
    assert metrics(app)["Events"] == str(len(trace))
    changes = app.dataframe[1].value
    assert "case_region" in set(changes["field"])


def test_each_case_typed_in_turn_is_shown(home):
    """What is typed must win over the URL the previous case wrote (every second one was lost)."""
    app = AppTest.from_file(str(PAGES / "case_timeline.py"), default_timeout=60).run()
    for number in (1, 2, 3):
        case_id = f"case-{number:07d}"
        app.text_input[0].set_value(f"gen_xes:{case_id}").run()
        assert app.subheader[0].value == f"gen_xes · {case_id}"
        assert app.query_params["case"] == f"gen_xes:{case_id}"


def test_a_case_key_with_blanks_around_it_is_found(home):
    # a pasted key brings a blank along: "No case …" (the provenance page trims)
    app = AppTest.from_file(str(PAGES / "case_timeline.py"), default_timeout=60)
    app.query_params["case"] = " gen_xes:case-0000001 "
    app.run()
    assert not app.warning
    assert app.subheader[0].value == "gen_xes · case-0000001"


def test_case_timeline_says_when_the_case_does_not_exist(home):
    app = AppTest.from_file(str(PAGES / "case_timeline.py"), default_timeout=60)
    app.query_params["case"] = "gen_xes:nope"
    app.run()
    assert "No case `gen_xes:nope`" in app.warning[0].value


@pytest.mark.parametrize("page", ["process.py", "case_timeline.py"])
def test_pages_before_the_first_build_say_what_to_do(tmp_path, monkeypatch, page):
    monkeypatch.setenv("FLOWLEDGER_HOME", str(tmp_path))
    st.cache_data.clear()
    app = AppTest.from_file(str(PAGES / page), default_timeout=60)
    app.query_params["case"] = "p:1"
    app.run()
    assert not app.exception
    assert "flowledger build" in app.info[0].value
