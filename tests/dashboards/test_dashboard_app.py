"""The app as a user sees it, through streamlit.testing.v1.AppTest, against the hand-made
snapshot of dashboard_snapshot.py (expected numbers worked out in test_dashboard_data.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dashboard_snapshot import META, build_published_snapshot
from dashboard_support import APP
from streamlit.testing.v1 import AppTest

from flowledger.settings import DataDir

PAGES = ["app_pages/leadership.py", "app_pages/flow_health.py", "app_pages/process.py"]


def _app(params: dict[str, str | list[str]] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(params or {})
    return at


def _metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {metric.label: (metric.value, metric.delta) for metric in at.metric}


def _flow_health(params: dict[str, str] | None = None) -> AppTest:
    at = _app().run()
    at.switch_page("app_pages/flow_health.py")
    at.query_params.clear()
    at.query_params.update(params or {})
    return at.run()


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [item.value for item in at.exception]
    assert not at.error, [item.value for item in at.error]


def test_default_view_shows_the_last_30_days(published_home: Path) -> None:
    at = _app().run()
    _assert_clean(at)
    assert not at.warning
    assert at.title[0].value == "Leadership — outcomes and health"
    captions = [caption.value for caption in at.caption]
    assert "Data as of 2026-10-29 12:00 UTC (built 2026-10-29 12:05 UTC)" in captions
    metrics = _metrics(at)
    # previous period 2026-08-31..2026-09-29: cycle times 6 h and 24 h, rework 1 of 2
    assert metrics["Cycle time median"] == ("4.0 h", "-11.0 h")
    assert metrics["Cycle time p95"] == ("1.7 d", "+17.7 h")  # 40.8 h vs 23.1 h
    assert metrics["Cases completed"] == ("7", "+5")
    # 7/30 vs 2/30: the change is 5/30 = 0.17 (the shown 0.2 less 2/30 was +0.1)
    assert metrics["Throughput per day"] == ("0.2", "+0.2")
    assert metrics["Rework rate"] == ("37.5%", "-12.5 pp")
    assert metrics["Cases started"][0] == "8"
    # previous period: one run r0, 8000 ms, not failed
    assert metrics["Latency p50"] == ("2.0 s", "-6.0 s")
    assert metrics["Latency p95"] == ("8.2 s", "+200 ms")
    assert metrics["Failure rate"] == ("37.5%", "+37.5 pp")
    assert metrics["Dead-letter rate"] == ("17.6%", "+17.6 pp")
    assert metrics["Step retries"] == ("6", "+6")
    assert metrics["Queue depth max"] == ("12", "+11")
    assert metrics["Queue depth avg"][0] == "4.4"
    assert metrics["Duplicate deliveries"] == ("1", "+1")
    assert metrics["Idempotency collisions"] == ("1", "+1")
    assert metrics["Runs"] == ("8", "+7")
    assert at.query_params == {"from": "2026-09-30", "to": "2026-10-29"}
    assert at.date_input(key="leadership.range").value == (date(2026, 9, 30), date(2026, 10, 29))


def test_query_params_set_the_filters(published_home: Path) -> None:
    params = {
        "from": "2026-10-02",
        "to": "2026-10-04",
        "process": "quote_to_cash",
        "flow": "q2c-contract-sync",
    }
    at = _app(params).run()
    _assert_clean(at)
    assert not at.warning
    assert at.date_input(key="leadership.range").value == (date(2026, 10, 2), date(2026, 10, 4))
    assert at.selectbox(key="leadership.process").value == "quote_to_cash"
    assert at.selectbox(key="leadership.flow").value == "q2c-contract-sync"
    metrics = _metrics(at)
    # cases completed 10-02..10-04: 2, 3, 4, 10 h -> median 3.5 h, p95 4 + 0.85 * 6 = 9.1 h;
    # previous period 09-29..10-01: Q1 with 1 h
    assert metrics["Cycle time median"] == ("3.5 h", "+2.5 h")
    assert metrics["Cycle time p95"] == ("9.1 h", "+8.1 h")
    assert metrics["Cases completed"] == ("4", "+3")
    assert metrics["Rework rate"] == ("50.0%", "+50.0 pp")  # Q2, Q5 of Q2..Q5; before 0 of Q1
    # runs r3 3000, r4 4000, r5 10000 ms (r6 still running); before r1, r2: 1000, 2000 ms
    assert metrics["Latency p50"] == ("4.0 s", "+2.5 s")
    assert metrics["Latency p95"][0] == "9.4 s"  # 4000 + 0.9 * 6000 ms
    assert metrics["Failure rate"] == ("25.0%", "-25.0 pp")  # 1 of 4; before 1 of 2
    assert metrics["Dead-letter rate"] == ("0.0%", "-25.0 pp")  # 0 of 7; before 1 of 4
    assert metrics["Queue depth max"][0] == "12"
    assert at.query_params == params


def test_changing_a_filter_writes_it_to_the_url(published_home: Path) -> None:
    at = _app().run()
    at.selectbox(key="leadership.process").set_value("cart_to_fulfillment").run()
    _assert_clean(at)
    assert at.query_params["process"] == "cart_to_fulfillment"
    assert _metrics(at)["Cases completed"][0] == "2"  # O1 and O2
    at.date_input(key="leadership.range").set_value((date(2026, 10, 5), date(2026, 10, 6))).run()
    assert (at.query_params["from"], at.query_params["to"]) == ("2026-10-05", "2026-10-06")
    assert _metrics(at)["Cases completed"][0] == "1"  # O2 ended 10-06; O1 ended 10-07
    at.selectbox(key="leadership.process").set_value("(all)").run()
    assert "process" not in at.query_params


def test_invalid_query_params_are_ignored_with_warnings(published_home: Path) -> None:
    at = _app({"from": "2026-13-01", "process": "nope", "flow": "ghost"}).run()
    _assert_clean(at)
    warnings = " ".join(warning.value for warning in at.warning)
    assert "`from=2026-13-01`" in warnings
    assert "`process=nope`" in warnings
    assert "`flow=ghost`" in warnings
    assert len(at.warning) == 3
    assert _metrics(at)["Cases completed"][0] == "7"  # the default view
    assert at.query_params == {"from": "2026-09-30", "to": "2026-10-29"}


def test_nothing_published_says_run_flowledger_build(empty_home: Path) -> None:
    for page in PAGES:
        at = _app().run()
        if page != PAGES[0]:
            at.switch_page(page).run()
        assert not at.exception
        assert not at.metric
        assert "flowledger build" in at.info[0].value


def test_a_build_without_data_says_so_on_every_filtered_page(empty_home: Path) -> None:
    build_published_snapshot(empty_home, {**META, "data_as_of": ""}, empty=True)
    at = _app().run()
    for page in PAGES:
        if page != PAGES[0]:
            _switch(at, page)
        _assert_clean(at)
        assert not at.metric and not at.get("plotly_chart")
        assert "flowledger build" in at.info[0].value


def test_unreadable_snapshot_shows_an_error_not_a_traceback(empty_home: Path) -> None:
    data_dir = DataDir(empty_home).ensure()
    (data_dir.published / "CURRENT").write_text("marts-gone.duckdb\n")
    at = _app().run()
    assert not at.exception
    assert "Could not read the published marts" in at.error[0].value

    broken = data_dir.published / "marts-broken.duckdb"
    con = duckdb.connect(str(broken))
    con.execute("create table _meta as select '2026-10-29T12:00:00Z' as data_as_of, '' as built_at")
    con.close()
    (data_dir.published / "CURRENT").write_text(broken.name + "\n")
    at = _app().run()
    assert not at.exception
    assert "fct_process_daily" in at.error[0].value  # the table the snapshot lacks


def test_a_new_snapshot_is_picked_up_when_the_cache_expires(published_home: Path) -> None:
    import streamlit as st

    at = _app().run()
    assert "Data as of 2026-10-29 12:00 UTC" in at.caption[0].value
    newer = {
        "built_at": "2026-10-30T08:00:00Z",
        "data_as_of": "2026-10-30T07:00:00Z",
        "flowledger_version": "0.1.0",
        "dbt_version": "1.11.0",
    }
    build_published_snapshot(published_home, newer)
    st.cache_data.clear()  # what the 30 s TTL does in a running app
    at = _app().run()
    _assert_clean(at)
    assert at.caption[0].value == "Data as of 2026-10-30 07:00 UTC (built 2026-10-30 08:00 UTC)"


def test_a_feed_that_stopped_is_said_under_data_as_of(published_home: Path) -> None:
    """The "data as of" line is the newest of every feed: run logs that stopped four days before the
    business events looked like a calm system (no runs, every SLO healthy)."""
    import streamlit as st

    feeds = {
        "built_at": "2026-10-30T08:00:00Z",
        "data_as_of": "2026-10-29T12:00:00Z",
        "runs_as_of": "2026-10-25T18:00:00Z",
        "events_as_of": "2026-10-29T12:00:00Z",
        "flowledger_version": "0.1.0",
        "dbt_version": "1.11.0",
    }
    build_published_snapshot(published_home, feeds)
    st.cache_data.clear()
    at = _app().run()
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "Flow runs end 2026-10-25 18:00 UTC, business events 2026-10-29 12:00 UTC: no data of "
        "the first since then may be a feed that stopped, not a quiet system."
    ]
    build_published_snapshot(published_home, {**feeds, "runs_as_of": "2026-10-29T10:00:00Z"})
    st.cache_data.clear()
    assert not _app().run().warning  # two hours apart: no note


def test_reads_while_another_process_writes_the_warehouse(published_home: Path) -> None:
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from pathlib import Path\n"
            "from flowledger.settings import DataDir\n"
            "from flowledger.warehouse import connect_warehouse\n"
            f"con = connect_warehouse(DataDir(Path({str(published_home)!r})))\n"
            "con.execute('create table if not exists marts.busy as select 1 as x')\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        at = _app().run()
        _assert_clean(at)
        assert _metrics(at)["Cases completed"][0] == "7"
    finally:
        writer.communicate(input="", timeout=30)


def test_flow_health_page_for_one_flow(published_home: Path) -> None:
    at = _flow_health({"flow": "q2c-contract-sync"})
    _assert_clean(at)
    assert at.title[0].value == "Flow health"
    assert any(caption.value.startswith("Data as of 2026-10-29") for caption in at.caption)
    metrics = _metrics(at)
    assert metrics["Runs"][0] == "6"
    assert metrics["Failure rate"][0] == "33.3%"
    assert metrics["Latency p95"][0] == "8.8 s"
    assert metrics["Step retries"][0] == "3"
    assert metrics["Dead-letter rate"][0] == "9.1%"
    assert metrics["Duplicates / collisions"][0] == "1 / 0"
    steps = at.dataframe[0].value
    assert list(steps["step_name"]) == ["post contract", "fetch quote"]
    assert list(steps["executions"]) == [6, 5]
    assert steps["failure_rate"].iloc[0] == pytest.approx(1 / 3)
    assert steps["dead_letter_rate"].iloc[0] == pytest.approx(1 / 6)
    failed = at.dataframe[1].value
    assert list(failed["run_id"]) == ["r5", "r2"]
    assert list(failed["succeeded_later"]) == [False, False]
    # each failed run opens the timeline of the case it worked on
    assert list(failed["timeline"]) == [
        "case-timeline?case=quote_to_cash%3AQ4",
        "case-timeline?case=quote_to_cash%3AQ2",
    ]
    assert "case_key" not in failed.columns
    assert any(
        caption.value.startswith("2 of these 2 not followed by a successful run")
        for caption in at.caption
    )
    assert at.query_params["flow"] == "q2c-contract-sync"


def test_flow_health_defaults_to_the_first_flow(published_home: Path) -> None:
    at = _flow_health()
    _assert_clean(at)
    assert at.selectbox(key="flow_health.flow").value == "c2f-order-intake"
    assert at.query_params["flow"] == "c2f-order-intake"
    assert _metrics(at)["Duplicates / collisions"][0] == "0 / 1"


@pytest.mark.parametrize("page", PAGES)
def test_smoke_every_page_runs_without_exceptions(published_home: Path, page: str) -> None:
    at = _app().run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    _assert_clean(at)
    assert at.metric
    assert at.get("plotly_chart")


def test_a_process_alone_narrows_health_to_the_flows_serving_it(published_home: Path) -> None:
    at = _app({"process": "quote_to_cash"}).run()
    _assert_clean(at)
    subheaders = [subheader.value for subheader in at.subheader]
    assert "Outcomes — quote_to_cash" in subheaders
    assert "Infrastructure health — 1 flow serving quote_to_cash" in subheaders
    metrics = _metrics(at)
    assert metrics["Runs"][0] == "6"  # q2c-contract-sync only
    assert metrics["Idempotency collisions"] == ("0", "±0")  # the collision is in order intake


def _switch(at: AppTest, page: str) -> AppTest:
    """Switch pages as the sidebar does: the new page's URL has no query parameters."""
    at.switch_page(page)
    at.query_params.clear()
    return at.run()


def test_switching_pages_keeps_the_date_range_and_the_process(published_home: Path) -> None:
    at = _app({"from": "2026-10-02", "to": "2026-10-04", "process": "quote_to_cash"}).run()
    _switch(at, "app_pages/flow_health.py")
    _assert_clean(at)
    assert at.date_input(key="flow_health.range").value == (date(2026, 10, 2), date(2026, 10, 4))
    assert (at.query_params["from"], at.query_params["to"]) == ("2026-10-02", "2026-10-04")
    at.selectbox(key="flow_health.flow").set_value("q2c-contract-sync").run()
    at.date_input(key="flow_health.range").set_value((date(2026, 10, 1), date(2026, 10, 4))).run()
    _switch(at, "app_pages/leadership.py")
    _assert_clean(at)
    assert at.date_input(key="leadership.range").value == (date(2026, 10, 1), date(2026, 10, 4))
    assert at.selectbox(key="leadership.process").value == "quote_to_cash"
    # the flow health page's flow (always one) does not narrow the leadership page
    assert at.selectbox(key="leadership.flow").value == "(all)"
    assert at.query_params == {"from": "2026-10-01", "to": "2026-10-04", "process": "quote_to_cash"}
    assert _metrics(at)["Cases completed"][0] == "5"  # Q1..Q5
    _switch(at, "app_pages/flow_health.py")
    assert at.selectbox(key="flow_health.flow").value == "q2c-contract-sync"


def test_flow_health_follows_the_process_and_the_flow_picked_on_leadership(
    published_home: Path,
) -> None:
    """Flow health opened from the sidebar showed the first flow by id, whatever the process
    or the flow the user had narrowed the leadership page to."""
    at = _app({"process": "quote_to_cash"}).run()
    _switch(at, "app_pages/flow_health.py")
    _assert_clean(at)
    # the first flow by id is c2f-order-intake; the one serving quote_to_cash is contract sync
    assert at.selectbox(key="flow_health.flow").value == "q2c-contract-sync"
    _switch(at, "app_pages/leadership.py")
    at.selectbox(key="leadership.flow").set_value("c2f-order-intake").run()
    _switch(at, "app_pages/flow_health.py")
    assert at.selectbox(key="flow_health.flow").value == "c2f-order-intake"
    assert at.query_params["flow"] == "c2f-order-intake"
    # a flow picked here stays this page's own after a visit elsewhere
    at.selectbox(key="flow_health.flow").set_value("q2c-contract-sync").run()
    _switch(at, "app_pages/process.py")
    _switch(at, "app_pages/flow_health.py")
    assert at.selectbox(key="flow_health.flow").value == "q2c-contract-sync"
    # until a flow is picked on the leadership page again
    _switch(at, "app_pages/leadership.py")
    at.selectbox(key="leadership.flow").set_value("(all)").run()
    at.selectbox(key="leadership.flow").set_value("c2f-order-intake").run()
    _switch(at, "app_pages/flow_health.py")
    assert at.selectbox(key="flow_health.flow").value == "c2f-order-intake"


def test_back_to_the_process_page_with_another_page_s_filters_keeps_the_process(
    published_home: Path,
) -> None:
    # Browser Back after Process → Flow health can hand the process page the flow health URL
    # (no process): it showed the first process, one never chosen, and wrote it into the URL
    at = _app({"from": "2026-10-02", "to": "2026-10-04", "process": "quote_to_cash"}).run()
    _switch(at, "app_pages/process.py")
    _switch(at, "app_pages/flow_health.py")
    flow_health_url = dict(at.query_params)
    assert "process" not in flow_health_url and "flow" in flow_health_url
    at.switch_page("app_pages/process.py")
    at.query_params.clear()
    at.query_params.update(flow_health_url)
    at.run()
    _assert_clean(at)
    assert at.selectbox(key="process.process").value == "quote_to_cash"
    assert at.query_params["process"] == "quote_to_cash"


def test_a_repeated_parameter_is_written_back_once(published_home: Path) -> None:
    """The last value wins, and the URL then holds only it (a copied link is unambiguous)."""
    at = _app({"from": ["2026-10-01", "2026-10-02"], "to": "2026-10-04"}).run()
    _assert_clean(at)
    assert at.date_input(key="leadership.range").value == (date(2026, 10, 2), date(2026, 10, 4))
    assert at.query_params["from"] == "2026-10-02"


def test_no_deltas_against_a_previous_period_before_the_data(published_home: Path) -> None:
    # the data starts 2026-09-10: 09-10..09-19 compared with 08-31..09-09, which holds no data,
    # showed every count as growth (+1 case, +1 run…)
    at = _app({"from": "2026-09-10", "to": "2026-09-19"}).run()
    _assert_clean(at)
    metrics = _metrics(at)
    assert metrics["Cases completed"] == ("1", "")  # Q0
    assert all(not delta for _, delta in metrics.values())
    captions = [caption.value for caption in at.caption]
    assert (
        "2026-09-10 to 2026-09-19 (10 days); no deltas: the data starts after the previous 10 days."
        in captions
    )
    # a previous period the data covers in part: deltas, and a note saying so
    at = _app().run()
    captions = [caption.value for caption in at.caption]
    assert any("start before the data does (2026-09-10)" in caption for caption in captions)


def test_a_one_day_range_reads_one_day(published_home: Path) -> None:
    at = _app({"from": "2026-10-04", "to": "2026-10-04"}).run()
    captions = [caption.value for caption in at.caption]
    assert "2026-10-04 to 2026-10-04 (1 day); deltas against the previous 1 day." in captions


ALL_PAGES = [
    "app_pages/leadership.py",
    "app_pages/flow_health.py",
    "app_pages/process.py",
    "app_pages/case_timeline.py",
    "app_pages/error_budgets.py",
    "app_pages/lineage_explorer.py",
    "app_pages/record_provenance.py",
]
DATA_AS_OF = "Data as of 2026-10-29 12:00 UTC (built 2026-10-29 12:05 UTC)"


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_says_what_time_its_data_is_of(published_home: Path, page: str) -> None:
    """The same line under every page's title (ui.show_data_as_of), whatever the page shows."""
    at = _switch(_app().run(), page)
    assert not at.exception, [item.value for item in at.exception]
    assert at.caption[0].value == DATA_AS_OF


@pytest.mark.parametrize("page", ALL_PAGES)
def test_before_the_first_build_every_page_says_nothing_is_published(
    empty_home: Path, page: str
) -> None:
    at = _switch(_app().run(), page)
    assert not at.exception, [item.value for item in at.exception]
    assert at.caption[0].value == "Data as of: nothing published yet"


def test_the_process_page_follows_the_process_and_range_picked_on_leadership(
    published_home: Path,
) -> None:
    at = _app({"from": "2026-10-02", "to": "2026-10-04"}).run()
    at.selectbox(key="leadership.process").set_value("quote_to_cash").run()
    leadership = _metrics(at)
    _switch(at, "app_pages/process.py")
    _assert_clean(at)
    assert at.selectbox(key="process.process").value == "quote_to_cash"
    assert at.date_input(key="process.range").value == (date(2026, 10, 2), date(2026, 10, 4))
    assert at.query_params == {"from": "2026-10-02", "to": "2026-10-04", "process": "quote_to_cash"}
    metrics = _metrics(at)
    # Q2..Q5 started and completed in the range (2, 3, 4, 10 h); rework Q2, Q5; SLA met by Q2,
    # Q3, Q4 and missed by Q5; the one stuck case (Q6) started 10-28
    assert metrics["Cases started"] == ("4", "")
    assert metrics["Median cycle time"][0] == "3.5 h" == leadership["Cycle time median"][0]
    assert metrics["p95 cycle time"][0] == "9.1 h" == leadership["Cycle time p95"][0]
    assert metrics["Rework (repeated activity)"][0] == "50.0%" == leadership["Rework rate"][0]
    assert metrics["SLA attainment"][0] == "75.0%"
    assert metrics["Stuck cases"][0] == "0"
    paths = at.dataframe[0].value
    assert list(paths["cases"]) == [2, 2]
    assert list(paths["median cycle time"]) == ["6.0 h", "3.5 h"]
    # the case with the gray failure, the run and version it is blamed on, the fix
    (gray,) = [df.value for df in at.dataframe if "fix_kind" in df.value.columns]
    assert gray[
        ["case_id", "run_key", "flow_version", "fix_kind", "fixed after"]
    ].values.tolist() == [["Q5", "test:r5:1", "1", "field_correction", "3.0 h"]]
    assert list(gray["timeline"]) == ["case-timeline?case=quote_to_cash%3AQ5"]


def test_a_range_picked_on_the_process_page_narrows_it_and_follows_to_leadership(
    published_home: Path,
) -> None:
    at = _switch(_app().run(), "app_pages/process.py")
    _assert_clean(at)
    # no process chosen anywhere: the first one, not passed on
    assert at.selectbox(key="process.process").value == "cart_to_fulfillment"
    at.selectbox(key="process.process").set_value("quote_to_cash").run()
    assert _metrics(at)["Cases started"][0] == "6"  # Q1..Q6 in the default 30 days
    assert _metrics(at)["Stuck cases"][0] == "1"  # Q6
    assert at.dataframe[-1].value["case_id"].to_list() == ["Q6"]
    at.date_input(key="process.range").set_value((date(2026, 10, 1), date(2026, 10, 2))).run()
    _assert_clean(at)
    assert (at.query_params["from"], at.query_params["to"]) == ("2026-10-01", "2026-10-02")
    metrics = _metrics(at)
    assert metrics["Cases started"][0] == "2"  # Q1, Q2
    assert metrics["Median cycle time"][0] == "1.5 h"  # 1 h and 2 h
    assert metrics["Stuck cases"][0] == "0"
    _switch(at, "app_pages/leadership.py")
    assert at.selectbox(key="leadership.process").value == "quote_to_cash"
    assert at.date_input(key="leadership.range").value == (date(2026, 10, 1), date(2026, 10, 2))


def test_the_process_page_shown_by_itself_leaves_leadership_on_all_processes(
    published_home: Path,
) -> None:
    at = _switch(_app().run(), "app_pages/process.py")
    assert at.query_params["process"] == "cart_to_fulfillment"
    _switch(at, "app_pages/leadership.py")
    assert at.selectbox(key="leadership.process").value == "(all)"


def test_a_process_page_link_sets_its_filters_and_warns_about_unknown_ones(
    published_home: Path,
) -> None:
    at = _switch(_app().run(), "app_pages/process.py")
    at.query_params.update({"from": "2026-10-05", "to": "2026-10-07", "process": "nope"})
    at.run()
    assert not at.exception
    assert any("`process=nope`" in warning.value for warning in at.warning)
    assert at.selectbox(key="process.process").value == "cart_to_fulfillment"
    metrics = _metrics(at)
    # O1 (48 h, ended 10-07) and O2 (24 h, ended 10-06); O2 repeats a step; no SLA configured
    assert metrics["Cases started"][0] == "2"
    assert metrics["Median cycle time"][0] == "1.5 d"
    assert metrics["Rework (repeated activity)"][0] == "50.0%"
    assert metrics["SLA attainment"][0] == "no SLA"
    # quote_to_cash has an SLA; none of its cases' SLA was decided 10-20..10-27: not "no SLA"
    at.query_params.update({"from": "2026-10-20", "to": "2026-10-27", "process": "quote_to_cash"})
    at.run()
    assert _metrics(at)["SLA attainment"][0] == "none decided"


def test_a_url_changed_under_the_widgets_wins_as_browser_back_does(published_home: Path) -> None:
    """Back/Forward reruns the page with the URL it returns to; the widgets' state used to win
    and write itself over that URL."""
    at = _app({"from": "2026-10-02", "to": "2026-10-04", "process": "quote_to_cash"}).run()
    at.selectbox(key="leadership.process").set_value("cart_to_fulfillment").run()
    assert at.query_params["process"] == "cart_to_fulfillment"
    at.query_params["process"] = "quote_to_cash"  # the browser went back
    at.run()
    _assert_clean(at)
    assert at.selectbox(key="leadership.process").value == "quote_to_cash"
    assert at.query_params["process"] == "quote_to_cash"
    assert _metrics(at)["Cases completed"][0] == "4"
    # a widget change still wins over the URL it wrote last
    at.date_input(key="leadership.range").set_value((date(2026, 10, 3), date(2026, 10, 4))).run()
    assert (at.query_params["from"], at.query_params["process"]) == ("2026-10-03", "quote_to_cash")
