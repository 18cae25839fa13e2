"""Parallel runs (shadow mode): a hand-made run log and the demo, ingested and built through the
CLI; the comparison is checked against numbers worked out by hand and against the demo's truth
(counted by the generator as it planted the mismatches)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowledger.demo import generate
from flowledger.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
BUILD = (
    "build", "--quiet", "--select", "+path:models/marts/processes", "+fct_flow_runs",
    "+fct_flow_health_hourly", "+dim_flows",
)  # fmt: skip
# the filter bar of the pages reads the days of fct_flow_health_hourly and the flows of dim_flows


def run(run_id, version, key, status, outputs=None, mode=None, minute=0):
    record = {
        "source_system": "n8n", "flow_id": "billing", "flow_name": "Billing",
        "flow_version": version, "run_id": run_id, "status": status, "business_key": key,
        "started_at": f"2024-05-06T10:{minute:02d}:00Z", "outputs": outputs,
        "execution_mode": mode,
    }  # fmt: skip
    return {name: value for name, value in record.items() if value is not None}


RUNS = [
    # Q1: the shadow version reports the currency in lower case; 100 and 100.0 are the same amount
    run("l1", "v1", "Q1", "success", {"amount": 100, "currency": "EUR"}, minute=1),
    run("s1", "v2", "Q1", "success", {"amount": 100.0, "currency": "eur"}, "shadow", minute=1),
    # Q2: the same outputs
    run("l2", "v1", "Q2", "success", {"amount": 5, "currency": "EUR"}, "live", minute=2),
    run("s2", "v2", "Q2", "success", {"amount": 5, "currency": "EUR"}, "shadow", minute=2),
    # Q3: the shadow run failed: no outputs, both fields differ
    run("l3", "v1", "Q3", "success", {"amount": 7, "currency": "EUR"}, minute=3),
    run("s3", "v2", "Q3", "failed", None, "shadow", minute=3),
    # Q4: live only, not compared
    run("l4", "v1", "Q4", "success", {"amount": 9, "currency": "EUR"}, minute=4),
]
EVENT = {
    "specversion": "1.0", "id": "q1-1", "source": "/acme/test",
    "type": "com.acme.crm.quote.approved", "time": "2024-05-06T10:00:00Z",
    "data": {"quote_id": "Q1", "amount": 100},
}  # fmt: skip


class Home:
    def __init__(self, home: Path) -> None:
        self.home = home

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flowledger.cli", "--data-dir", str(self.home), *args],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900,
        )  # fmt: skip

    def ok(self, *args: str) -> str:
        result = self.cli(*args)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    def sql(self, query: str) -> list[dict]:
        return json.loads(self.ok("sql", query, "--json"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Home:
    root = tmp_path_factory.mktemp("parallel_runs")
    (root / "runs.ndjson").write_text("".join(json.dumps(r) + "\n" for r in RUNS))
    (root / "events.ndjson").write_text(json.dumps(EVENT) + "\n")
    home = Home(root / "home")
    home.ok("ingest", str(root / "runs.ndjson"), str(root / "events.ndjson"))
    home.ok(*BUILD)
    return home


def test_comparison_per_key_by_hand(world: Home) -> None:
    rows = world.sql(
        "select business_key, baseline_run_key, candidate_run_key, fields_compared, "
        "fields_differing, differing_fields, is_mismatch from fct_parallel_run_comparison "
        "order by business_key"
    )
    assert [tuple(r.values()) for r in rows] == [
        ("Q1", "n8n:l1:1", "n8n:s1:1", 2, 1, "currency", True),
        ("Q2", "n8n:l2:1", "n8n:s2:1", 2, 0, None, False),
        ("Q3", "n8n:l3:1", "n8n:s3:1", 2, 2, "amount, currency", True),
    ]


def test_summary_and_cli_json_by_hand(world: Home) -> None:
    document = json.loads(world.ok("kpi", "parallel-runs", "billing", "--json"))
    (pair,) = document["pairs"]
    assert (pair["baseline_version"], pair["candidate_version"]) == ("v1", "v2")
    assert (pair["keys_compared"], pair["keys_mismatched"]) == (3, 2)
    assert pair["mismatch_rate"] == pytest.approx(2 / 3)
    assert (pair["keys_without_baseline_outputs"], pair["keys_without_candidate_outputs"]) == (0, 1)
    assert pair["differing_fields"] == {"currency": 2, "amount": 1}
    assert [(f["field"], f["keys_with_field"], f["keys_differing"]) for f in pair["fields"]] == [
        ("currency", 3, 2),
        ("amount", 3, 1),
    ]
    assert [k["business_key"] for k in pair["mismatched_keys"]] == ["Q1", "Q3"]
    summary = world.sql("select differing_fields from fct_parallel_run_summary")
    assert summary == [{"differing_fields": "currency: 2, amount: 1"}]


def test_cli_table_gate_and_errors(world: Home) -> None:
    table = world.ok("kpi", "parallel-runs", "billing")
    assert "v1 (live) vs v2 (shadow)" in table and "66.67%" in table
    gated = world.cli("kpi", "parallel-runs", "billing", "--max-mismatch-rate", "0.5")
    assert gated.returncode == 2
    assert "mismatch rate 0.6667 is above the allowed 0.5000 (2 of 3 keys)" in gated.stderr
    assert (
        world.cli("kpi", "parallel-runs", "billing", "--max-mismatch-rate", "0.7").returncode == 0
    )
    bad = world.cli("kpi", "parallel-runs", "billing", "--max-mismatch-rate", "5")
    assert bad.returncode == 1 and "between 0 and 1" in bad.stderr
    unknown = world.cli("kpi", "parallel-runs", "nope")
    assert unknown.returncode == 1
    assert (
        "no parallel (shadow) runs of flow 'nope'" in unknown.stderr and "billing" in unknown.stderr
    )


def test_shadow_runs_do_not_touch_cases(world: Home) -> None:
    runs = world.sql("select run_key from fct_case_flow_runs where case_key = 'quote_to_cash:Q1'")
    assert runs == [{"run_key": "n8n:l1:1"}]


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, dict]:
    root = tmp_path_factory.mktemp("parallel_demo")
    summary = generate(root / "demo", seed=7, days=21, cases_per_day=60.0)
    home = Home(root / "home")
    home.ok("ingest", *(str(path) for path in summary.files.values()))
    home.ok(*BUILD)
    return home, summary.truth["parallel_runs"]


def test_demo_shadow_comparison_matches_the_planted_truth(demo_world: tuple[Home, dict]) -> None:
    home, truth = demo_world
    document = json.loads(home.ok("kpi", "parallel-runs", truth["flow_id"], "--json"))
    planted = truth["pairs"]["1.4.2->2.0.0"]
    (pair,) = document["pairs"]
    assert (pair["baseline_version"], pair["candidate_version"]) == ("1.4.2", "2.0.0")
    assert pair["keys_compared"] == planted["keys_compared"] > 50
    assert pair["keys_mismatched"] == planted["keys_mismatched"] > 0
    assert pair["mismatch_rate"] == pytest.approx(planted["mismatch_rate"], abs=5e-5)
    assert pair["differing_fields"] == planted["differing_fields"]


def test_process_page_shows_the_parallel_runs_of_its_flows(
    world: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("FLOWLEDGER_HOME", str(world.home))
    st.cache_data.clear()
    app = AppTest.from_file(
        str(PROJECT_ROOT / "dashboards/app_pages/process.py"), default_timeout=60
    )
    app.query_params["process"] = "quote_to_cash"
    app.run()
    st.cache_data.clear()
    assert not app.exception
    assert "Parallel runs (shadow mode)" in [h.value for h in app.subheader]
    (table,) = [d.value for d in app.dataframe if "mismatch_rate" in d.value.columns]
    assert table[["flow_id", "keys_compared", "keys_mismatched"]].values.tolist() == [
        ["billing", 3, 2]
    ]
    assert table["differing_fields"].tolist() == ["currency: 2, amount: 1"]
    # quote_to_cash has an SLA, but no case here reached an SLA outcome: no trend to draw
    assert "SLA attainment by week" not in [h.value for h in app.subheader]
