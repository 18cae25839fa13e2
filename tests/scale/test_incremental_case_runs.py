"""The incremental case-run links (int_case_flow_runs) and their mart (fct_case_flow_runs) agree
with a full build after late-arriving runs, steps and events.

The world: the known world of tests/dbt (cases Q1-Q8; every run's business_key is Q1), plus two
runs linked only by trace: tr4, whose trace is on Q4's invoice event, and tr2, whose trace no event
carries yet. Batch B arrives late: a run whose business_key is the old case Q3 (Q3 gains a link
without a new event), an event of Q2 carrying tr2's trace (an old run gains a case), and a third
attempt of one of r1's steps (Q1's row shows the new step). Q4's link, which batch B does not
touch, is tampered with after the first build and must still be tampered after the incremental
build; every other row must equal a full build of A + B, and ``--full-refresh`` equals it exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

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

pytestmark = pytest.mark.slow

T_A, T_B = "2024-03-08 00:00:00", "2024-03-08 06:00:00"
TRACE_Q4, TRACE_Q2 = "4bf92f3577b34da6a3ce929d0e0e4736", "0af7651916cd43dd8448eb211c80319c"
SELECT = ["+fct_case_flow_runs"]
MODELS = {
    "intermediate.int_case_flow_runs": "case_key, run_key",
    "marts.fct_case_flow_runs": "case_key, run_key",
}


def _run(run_id: str, started: str, **fields: object) -> dict[str, object]:
    run = {**FLOW_RUNS[0], "run_id": run_id, "started_at": started, "ended_at": started}
    run.update(queued_at=None, idempotency_key=None, input_digest=None, **fields)
    return run


def _batches() -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    events = [dict(event) for event in BUSINESS_EVENTS]
    for event in events:
        if event["id"] == "q4-3":
            event["traceparent"] = f"00-{TRACE_Q4}-00f067aa0ba902b7-01"
    runs = [
        *(dict(run) for run in FLOW_RUNS),
        _run("tr4", "2024-03-04 14:29:00", business_key=None, trace_id=TRACE_Q4),
        _run("tr2", "2024-03-04 10:59:00", business_key=None, trace_id=TRACE_Q2),
    ]
    batch_a = {
        "business_events": events,
        "flow_runs": runs,
        "step_runs": [dict(step) for step in STEP_RUNS],
    }
    late_step = {
        **STEP_RUNS[2],
        "attempt": 3,
        "status": "failed",
        "started_at": "2024-03-04 09:00:18",
    }
    batch_b = {
        "business_events": [
            {
                "specversion": "1.0",
                "id": "q2-7",
                "source": "erp",
                "type": "com.acme.erp.invoice.issued",
                "time": "2024-03-04 11:40:00",
                "data": json.dumps({"quote_id": "Q2"}),
                "traceparent": f"00-{TRACE_Q2}-00f067aa0ba902b7-01",
            }
        ],  # fmt: skip
        "flow_runs": [_run("late-q3", "2024-03-04 13:30:00", business_key="Q3")],
        "step_runs": [late_step],
    }
    return ingested_at(batch_a, T_A), ingested_at(batch_b, T_B)


def _build(data_dir: Path, *args: str) -> None:
    build_selected(data_dir, SELECT, *args)


def _rows(data_dir: Path) -> dict[str, list[tuple]]:
    return rows_of(data_dir, MODELS)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    batch_a, batch_b = _batches()
    base = tmp_path_factory.mktemp("case_runs")
    return late_batch_builds(
        base, batch_a, batch_b, _build, _rows, tamper_case_links("quote_to_cash:Q4")
    )


def test_the_late_rows_change_the_links(builds) -> None:
    first = case_run_links(builds["first"]["intermediate.int_case_flow_runs"])
    full = case_run_links(builds["full"]["intermediate.int_case_flow_runs"])
    assert builds["tampered"] == 1
    assert ("quote_to_cash:Q4", "mulesoft:tr4:1") in first
    assert full - first == {
        ("quote_to_cash:Q3", "mulesoft:late-q3:1"),
        ("quote_to_cash:Q2", "mulesoft:tr2:1"),
    }


@pytest.mark.parametrize("model", list(MODELS))
def test_incremental_build_equals_full_build_except_the_untouched_tampered_case(
    builds, model
) -> None:
    assert_incremental_equals_full_but_the_tampered_case(builds, model, "quote_to_cash:Q4")


@pytest.mark.parametrize("model", list(MODELS))
def test_full_refresh_equals_the_full_build(builds, model) -> None:
    assert builds["full_refresh"][model] == builds["full"][model]
