"""flowledger's process KPIs against PM4Py (test-only, AGPL) on the same generated logs.

The logs (tests/processes/logs.py) have time-zone offsets, equal timestamps inside cases,
single-event cases and repeated activities. Numbers must agree to the second (1e-6 s here).
"""

from __future__ import annotations

import datetime
import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.slow

pm4py = pytest.importorskip("pm4py")


@pytest.fixture(scope="module")
def pm4py_log(imported_logs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.read_xes(str(imported_logs.xes), variant="iterparse")


@pytest.fixture(scope="module", params=["gen_xes", "gen_csv"])
def process(request):
    return request.param


def test_case_count_and_per_case_durations_match(imported_logs, pm4py_log, process):
    ours = {
        row["case_id"]: row["duration_seconds"]
        for row in imported_logs.sql(
            f"select case_id, duration_seconds from fct_cases where process_name = '{process}'"
        )
    }
    theirs = {}
    for case_id, frame in pm4py_log.groupby("case:concept:name"):
        theirs[case_id] = pm4py.get_all_case_durations(frame)[0]
    assert len(ours) == len(theirs) == 400
    assert ours.keys() == theirs.keys()
    worst = max(abs(ours[c] - theirs[c]) for c in ours)
    assert worst < 1e-6, worst
    assert sum(1 for d in theirs.values() if d == 0) > 10  # single-event cases were exercised


def test_median_p95_and_counts_match(imported_logs, pm4py_log, process):
    kpis = imported_logs.kpis(process)
    durations = np.array(pm4py.get_all_case_durations(pm4py_log))
    assert kpis["cases"] == len(durations) == pm4py_log["case:concept:name"].nunique()
    assert kpis["events"] == len(pm4py_log)
    for block in ("cycle_time_seconds", "case_duration_seconds"):
        assert kpis[block]["measure"] == "first_to_last_event"
        assert kpis[block]["count"] == len(durations)
        assert kpis[block]["median"] == pytest.approx(np.quantile(durations, 0.5), abs=1e-6)
        assert kpis[block]["p95"] == pytest.approx(np.quantile(durations, 0.95), abs=1e-6)
        assert kpis[block]["mean"] == pytest.approx(durations.mean(), abs=1e-6)


def test_rework_by_activity_matches(imported_logs, pm4py_log, process):
    kpis = imported_logs.kpis(process)
    theirs = {k: v for k, v in pm4py.get_rework_cases_per_activity(pm4py_log).items() if v > 0}
    assert kpis["rework"]["cases_by_activity"] == theirs
    assert theirs  # the log has rework
    repeated = pm4py_log.groupby(["case:concept:name", "concept:name"]).size()
    cases_with_rework = repeated[repeated > 1].reset_index()["case:concept:name"].nunique()
    assert kpis["rework"]["share_of_cases"] == pytest.approx(cases_with_rework / 400)


def test_directly_follows_counts_and_waits_match(imported_logs, pm4py_log, process):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frequency, _, _ = pm4py.discover_dfg(pm4py_log)
        performance = pm4py.discover_performance_dfg(pm4py_log)[0]
    ours = {
        (row["from_step"], row["to_step"]): row
        for row in imported_logs.kpis(process)["directly_follows"]
    }
    assert {pair: row["count"] for pair, row in ours.items()} == dict(frequency)
    for pair, stats in performance.items():
        assert ours[pair]["mean_seconds"] == pytest.approx(stats["mean"], abs=1e-6), pair
        assert ours[pair]["median_seconds"] == pytest.approx(stats["median"], abs=1e-6), pair


def test_variants_match(imported_logs, pm4py_log, process):
    theirs = pm4py.get_variants(pm4py_log)
    rows = imported_logs.sql(
        f"select variant, cases from fct_process_variants where process_name = '{process}'"
    )
    ours = {tuple(row["variant"].split(" > ")): row["cases"] for row in rows}
    assert ours == {tuple(k): v for k, v in theirs.items()}


def test_the_table_writes_out_variants_throughput_and_stuck_cases(imported_logs):
    """Without --json the table cut every variant at 67 characters (two different paths read
    the same), showed no throughput, and stuck cases only as a count."""
    from flowledger.processes.kpis import to_table

    result = imported_logs.cli("kpi", "process", "gen_ends")
    assert result.returncode == 0, result.stderr
    table = result.stdout
    document = imported_logs.kpis("gen_ends")
    assert "throughput (completed per day)" in table
    oldest = document["stuck_cases"]["listed"][0]
    assert f"    {oldest['case_id']}  " in table and oldest["held_by"] in table
    # two paths alike in their first 67 characters are written out whole, wrapped at blanks
    steps = ["Register request", "Examine thoroughly", "Decide", "Reinitiate request"] * 3
    paths = [" > ".join([*steps, end]) for end in ("Pay compensation", "Reject request")]
    document["variants"]["top"] = [
        {**document["variants"]["top"][0], "variant": path} for path in paths
    ]
    written = " ".join(to_table(document).split())
    assert all(path in written for path in paths) and "..." not in written


@pytest.mark.parametrize("name", ["gen_xes", "gen_ends"])
def test_throughput_counts_the_days_without_a_completion(imported_logs, name):
    """Cases completed per UTC day from the first completion day to the last, the days between
    without one counted as 0 (averaged over the days with one, a bursty process read faster
    than the leadership page's cases per day). From the completed cases themselves."""
    days = imported_logs.sql(
        "select ended_at::date as day, count(*) as completed from fct_cases "
        f"where process_name = '{name}' and is_complete group by 1 order by 1"
    )
    first, last = (datetime.date.fromisoformat(days[i]["day"][:10]) for i in (0, -1))
    span = (last - first).days + 1
    throughput = imported_logs.kpis(name)["throughput"]
    assert throughput["days"] == span and throughput["days_with_completions"] == len(days)
    assert throughput["mean_per_day"] == pytest.approx(sum(d["completed"] for d in days) / span)
    assert throughput["max_per_day"] == max(d["completed"] for d in days)
    assert span > len(days)  # the logs have days without a completion: the case in point
