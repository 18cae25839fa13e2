"""Field corrections, gray failures, effort and the cutover comparison on a hand-made world,
ingested and built through the CLI; every number computed by hand below (scipy checks the
p-values)."""

from __future__ import annotations

import json

import pytest
from logs import flowledger_cli

from flowledger.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
stats = pytest.importorskip("scipy.stats")

Q2C = "com.acme.{}"


def event(eid, etype, at, data, trace=None):
    record = {
        "specversion": "1.0", "id": eid, "source": "/acme/test", "type": etype,
        "time": f"2024-05-06T{at}:00Z", "data": data,
    }  # fmt: skip
    if trace:
        record["traceparent"] = f"00-{trace:0>32}-00f067aa0ba902b7-01"
    return record


def run(run_id, version, key, status, start, end, trace):
    return {
        "source_system": "n8n", "flow_id": "billing", "flow_name": "Billing", "flow_version": version,
        "run_id": run_id, "run_attempt": 1, "status": status, "business_key": key,
        "started_at": f"2024-05-06T{start}:00Z", "ended_at": f"2024-05-06T{end}:00Z",
        "trace_id": f"{trace:0>32}",
    }  # fmt: skip


EVENTS = [
    # Q1: amount 100 -> 90 (invoice issued wrong: correction) -> 100 (invoice corrected: correction)
    event("q1-1", "com.acme.crm.quote.approved", "10:00", {"quote_id": "Q1", "amount": 100}),
    event("q1-2", "com.acme.clm.contract.signed", "11:00", {"quote_id": "Q1"}),
    event("q1-3", "com.acme.erp.invoice.issued", "12:00", {"quote_id": "Q1", "amount": 90}, "a3"),
    event(
        "q1-4", "com.acme.erp.invoice.corrected", "14:00", {"quote_id": "Q1", "amount": 100}, "a4"
    ),
    event("q1-5", "com.acme.erp.payment.captured", "15:00", {"quote_id": "Q1", "amount": 100}),
    event("q2-1", "com.acme.crm.quote.approved", "16:30", {"quote_id": "Q2", "amount": 5}),
    event("q3-1", "com.acme.crm.quote.approved", "16:45", {"quote_id": "Q3", "amount": 7}),
]
RUNS = [
    run("r1", "v1", "Q1", "success", "11:59", "12:00", "a3"),  # posted the wrong invoice
    run("r2", "v1", "Q1", "success", "13:59", "14:00", "a4"),  # the fix's own run
    run("r3", "v2", "Q2", "success", "16:31", "16:32", "b1"),
    run("r4", "v2", "Q3", "failed", "16:46", "16:47", "b2"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("rework_world")
    home = root / "home"
    (root / "events.ndjson").write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    (root / "runs.ndjson").write_text("\n".join(json.dumps(r) for r in RUNS) + "\n")

    def cli(*args: str) -> str:
        return flowledger_cli(home, *args)

    cli("ingest", str(root / "events.ndjson"), str(root / "runs.ndjson"))
    cli("build", "--quiet", "--select", "+path:models/marts/processes", "+fct_flow_runs")

    def sql(query: str) -> list[dict]:
        return json.loads(cli("sql", query, "--json"))

    sql.kpis = lambda: json.loads(cli("kpi", "process", "quote_to_cash", "--json"))  # type: ignore[attr-defined]
    sql.cli = cli  # type: ignore[attr-defined]
    sql.home = home  # type: ignore[attr-defined]
    return sql


def test_field_corrections_and_gray_failure(world):
    (q1,) = world("select * from fct_cases where case_id = 'Q1'")
    assert q1["field_corrections"] == 2  # 100 -> 90 and 90 -> 100
    assert q1["gray_failures"] == 1 and q1["is_first_pass"] is False
    (gray,) = world("select * from fct_gray_failures")
    # the 14:00 fix is blamed on r1 (ended 12:00); r2 emitted the fix itself; the 12:00
    # correction has no earlier successful run
    assert (gray["run_key"], gray["fix_event_id"], gray["fix_kind"], gray["seconds_to_fix"]) == (
        "n8n:r1:1", "q1-4", "field_correction", 7200.0,
    )  # fmt: skip
    kpis = world.kpis()
    assert kpis["rework"]["field_corrections"] == {
        "cases": 1,
        "share_of_cases": pytest.approx(1 / 3),
    }
    assert kpis["rework"]["gray_failures"]["runs"] == 1
    assert kpis["rework"]["first_pass_yield"] == pytest.approx(2 / 3)


def test_effort_and_cost_from_the_configured_steps(world):
    effort = world.kpis()["effort"]
    # events: quote approved x3 (10 min, 0.02), contract (15, 0.05), invoice issued (12, 0.04),
    # invoice corrected (manual fix, 0.04), payment (8, 0.03)
    assert effort["cost"] == pytest.approx(3 * 0.02 + 0.05 + 0.04 + 0.04 + 0.03)
    assert effort["successful_events"] == 7
    assert effort["manual_hours_saved"] == pytest.approx((3 * 10 + 15 + 12 + 8) / 60)
    assert effort["cost_per_successful_event"] == pytest.approx(0.22 / 7)


def test_cutover_compares_versions_with_a_significance_test(world):
    rows = world("select * from fct_process_cutover order by first_run_at")
    v1, v2 = rows
    assert (v1["flow_version"], v1["cases"], v1["runs"], v1["failed_runs"]) == ("v1", 1, 2, 0)
    assert (v1["rework_rate"], v1["cycle_time_mean_seconds"]) == (1.0, 18000.0)
    assert (v2["flow_version"], v2["previous_version"], v2["cases"], v2["runs"]) == (
        "v2",
        "v1",
        2,
        2,
    )
    assert (v2["failure_rate"], v2["rework_rate"]) == (0.5, 0.0)
    assert v2["failure_rate_difference"] == 0.5 and v2["rework_rate_difference"] == -1.0
    # two-proportion z-tests, pooled: failures 0/2 vs 1/2, rework 1/1 vs 0/2
    for name, (x1, n1, x2, n2) in {
        "failure_rate": (0, 2, 1, 2),
        "rework_rate": (1, 1, 0, 2),
    }.items():
        pooled = (x1 + x2) / (n1 + n2)
        z = (x2 / n2 - x1 / n1) / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)) ** 0.5
        assert v2[f"{name}_z"] == pytest.approx(z)
        assert v2[f"{name}_p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), abs=1e-6)
    assert v2["cycle_time_p_value"] is None  # no completed case under v2


def test_timeline_marts_show_changes_and_runs(world):
    events = world(
        "select event_id, field_changes from fct_case_events where case_key = 'quote_to_cash:Q1' order by event_sequence"
    )
    changes = {
        e["event_id"]: json.loads(e["field_changes"]) if e["field_changes"] else [] for e in events
    }
    assert changes["q1-3"] == [
        {"field": "amount", "from": "100", "to": "90", "is_correction": True}
    ]
    assert changes["q1-5"] == []  # 100 again: no change
    runs = world(
        "select run_key, linked_by, is_gray_failure from fct_case_flow_runs where case_key = 'quote_to_cash:Q1' order by 1"
    )
    assert [(r["run_key"], r["is_gray_failure"]) for r in runs] == [
        ("n8n:r1:1", True),
        ("n8n:r2:1", False),
    ]


def test_config_change_and_rebuild_changes_the_kpis(world):
    """Nobody edits models: the instance's processes.yml overrides quote_to_cash with a 10 min
    timeout; after a rebuild Q2 (idle 15 min at the as-of time 16:45) is stuck, Q3 (0 min) not."""
    assert world.kpis()["stuck_cases"]["count"] == 0  # shipped timeout: 14 days
    shipped = (PROJECT_ROOT / "config" / "processes.yml").read_text()
    override = shipped.replace("    timeout: 14d", "    timeout: 10m", 1)
    assert override != shipped
    world.home.joinpath("processes.yml").write_text(override)
    world.cli("build", "--quiet", "--select", "+path:models/marts/processes", "+fct_flow_runs")
    stuck = world.kpis()["stuck_cases"]
    assert stuck["count"] == 1
    assert (stuck["listed"][0]["case_id"], stuck["listed"][0]["idle_seconds"]) == ("Q2", 900.0)
    assert stuck["listed"][0]["held_by"] == "/acme/test"
