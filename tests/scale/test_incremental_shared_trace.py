"""A trace id that becomes shared by more run attempts than one transaction makes (a traceparent
hard-coded into a flow: int_traces_shared, more than 1,000 runs) stops linking: the case it linked
loses that link on the next incremental build, as a full build computes it, and no case is linked
to the runs that share it.

The world: the known world of tests/dbt (every run's business_key is Q1), plus run tr4, linked to
case Q4 only by the trace of Q4's invoice event. Batch B brings 1,000 more runs carrying that
trace (a flow sending the W3C example's traceparent): 1,001 in all. Q1's links, which batch B
does not touch, are tampered with after the first build and must still be tampered after the
incremental build (the build recomputes the cases of the changed runs' traces, not every case).
"""

from __future__ import annotations

import pytest
from scale_support import (
    BUSINESS_EVENTS,
    FLOW_RUNS,
    STEP_RUNS,
    assert_incremental_equals_full_but_the_tampered_case,
    build_selected,
    case_run_links,
    ingested_at,
    late_batch_builds,
    rows_of,
    tamper_case_links,
)
from test_incremental_case_runs import TRACE_Q4, _run

pytestmark = pytest.mark.slow

T_A, T_B = "2024-03-08 00:00:00", "2024-03-08 06:00:00"
SHARING_RUNS = 1000  # with tr4: one more than int_traces_shared allows by default
MODELS = {
    "intermediate.int_case_flow_runs": "case_key, run_key",
    "marts.fct_case_flow_runs": "case_key, run_key",
    "intermediate.int_traces_shared": "trace_id",
}


def _batches() -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    events = [dict(event) for event in BUSINESS_EVENTS]
    for event in events:
        if event["id"] == "q4-3":
            event["traceparent"] = f"00-{TRACE_Q4}-00f067aa0ba902b7-01"
    batch_a = {
        "business_events": events,
        "flow_runs": [
            *(dict(run) for run in FLOW_RUNS),
            _run("tr4", "2024-03-04 14:29:00", business_key=None, trace_id=TRACE_Q4),
        ],
        "step_runs": [dict(step) for step in STEP_RUNS],
    }
    batch_b = {
        "flow_runs": [
            _run(f"shared-{number}", "2024-03-05 09:00:00", business_key=None, trace_id=TRACE_Q4)
            for number in range(SHARING_RUNS)
        ]
    }
    return ingested_at(batch_a, T_A), ingested_at(batch_b, T_B)


def _build(data_dir, *args: str) -> None:
    build_selected(data_dir, ["+fct_case_flow_runs"], *args)


def _rows(data_dir) -> dict[str, list[tuple]]:
    return rows_of(data_dir, MODELS)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    batch_a, batch_b = _batches()
    base = tmp_path_factory.mktemp("shared_trace")
    return late_batch_builds(
        base, batch_a, batch_b, _build, _rows, tamper_case_links("quote_to_cash:Q1")
    )


def test_the_trace_linked_q4_until_it_was_shared(builds) -> None:
    first = case_run_links(builds["first"]["intermediate.int_case_flow_runs"])
    full = case_run_links(builds["full"]["intermediate.int_case_flow_runs"])
    assert ("quote_to_cash:Q4", "mulesoft:tr4:1") in first
    assert builds["first"]["intermediate.int_traces_shared"] == []
    assert first - full == {("quote_to_cash:Q4", "mulesoft:tr4:1")}
    assert not any(run.startswith("mulesoft:shared-") for _, run in full)
    ((trace, runs, flows, *_),) = builds["full"]["intermediate.int_traces_shared"]
    assert (trace, runs, flows) == (TRACE_Q4, SHARING_RUNS + 1, 1)


@pytest.mark.parametrize("model", list(MODELS))
def test_incremental_build_equals_full_build_except_the_untouched_tampered_case(
    builds, model
) -> None:
    assert_incremental_equals_full_but_the_tampered_case(builds, model, "quote_to_cash:Q1")


@pytest.mark.parametrize("model", list(MODELS))
def test_full_refresh_equals_the_full_build(builds, model) -> None:
    assert builds["full_refresh"][model] == builds["full"][model]
