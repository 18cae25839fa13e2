"""``flowledger budget …`` through the real CLI entry point, on the published hand-made world."""

from __future__ import annotations

import json

import pytest

from flowledger.cli import main

pytestmark = pytest.mark.slow


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_json_has_every_figure(budget_build, capsys):
    code, out, _ = _run(
        capsys, "--data-dir", str(budget_build.data_dir.root), "budget", "report", "--json"
    )
    assert code == 0
    slos = {s["slo_id"]: s for s in json.loads(out)["slos"]}
    assert len(slos) == 17
    pay = slos["pay-success"]
    assert pay["as_of"] == "2024-03-31T12:00:00Z"
    assert (pay["good"], pay["total"]) == (102, 107)
    assert pay["budget_remaining"] == pytest.approx(1 - 5 / 1.07)
    assert pay["budget_remaining_raw"] == pytest.approx(1 - 6 / 1.08)
    assert pay["burn_rates"]["1h"]["burn_rate"] == pytest.approx(100 * 2 / 7)
    assert pay["burn_rates"]["5m"]["burn_rate"] == pytest.approx(50)
    assert [
        a["name"] if "name" in a else a["alert_name"] for a in pay["alerts"] if a["is_firing"]
    ] == [
        "page-1h",
        "page-6h",
        "ticket-1d",
        "ticket-3d",
    ]
    assert pay["state"] == "EXHAUSTED"
    top = {(c["dimension"], c["value"]): c["budget_consumed"] for c in pay["top_contributors"]}
    assert top[("failing_step", "capture")] == pytest.approx(4 / 1.07)
    assert slos["ship-success"]["state"] == "HEALTHY"


def test_report_of_a_period_anchored_at_a_start_time(budget_build, capsys):
    # budget_world.py, pay-anchored: the month from 15 March 09:00 EDT (13:00 UTC) holds 64 of
    # pay's outcomes, 3 bad; the budget is 0.64 runs, so 1 − 3 / 0.64 is left.
    home = str(budget_build.data_dir.root)
    code, out, _ = _run(capsys, "--data-dir", home, "budget", "report", "--json")
    assert code == 0
    anchored = {s["slo_id"]: s for s in json.loads(out)["slos"]}["pay-anchored"]
    assert (anchored["good"], anchored["total"]) == (61, 64)
    assert anchored["period_start"] == "2024-03-15T13:00:00Z"
    assert anchored["period_end"] == "2024-04-15T13:00:00Z"
    assert anchored["period_seconds"] == 31 * 86400
    assert anchored["budget_remaining"] == pytest.approx(1 - 3 / 0.64)
    code, out, _ = _run(capsys, "--data-dir", home, "budget", "report")
    assert "| pay-anchored | pay | 99.000 % | 1M | Occurrences | 61 / 64 |" in out
    assert "calendar 1M (America/New_York, from 2024-01-15 09:00:00)" in out


def test_report_markdown(budget_build, capsys):
    code, out, _ = _run(capsys, "--data-dir", str(budget_build.data_dir.root), "budget", "report")
    assert code == 0
    assert out.startswith("# Error budgets as of 2024-03-31 12:00:00 UTC")
    assert (
        "| pay-success | pay | 99.000 % | 30d | Occurrences | 102 / 107 | 95.327 % | -367.3 % | EXHAUSTED |"
        in out
    )
    # 5m: 1 bad of 2 over an exact budget ratio 0.01 is a burn rate of exactly 50
    assert "| page-1h | 1h & 5m | 14.40 / 14.400 % | 28.57 / 50 | FIRING |" in out


def test_gate_blocks_exhausted_flow_lets_fixes_through(budget_build, capsys):
    home = str(budget_build.data_dir.root)
    code, out, _ = _run(capsys, "--data-dir", home, "budget", "gate", "pay")
    assert code == 3
    assert "freeze: pay may not ship feature changes" in out and "pay-success is EXHAUSTED" in out
    code, out, _ = _run(capsys, "--data-dir", home, "budget", "gate", "pay", "--change-type", "fix")
    assert code == 0 and out.startswith("ship (fix changes pass a freeze)")
    code, out, _ = _run(capsys, "--data-dir", home, "budget", "gate", "ship")
    assert code == 0 and "ship-success HEALTHY (100.0 % left)" in out
    code, _, err = _run(capsys, "--data-dir", home, "budget", "gate", "nope")
    assert code == 2 and "no SLO covers flow 'nope'" in err
    # a change type the gate does not know was taken for a feature without a word
    with pytest.raises(SystemExit) as refused:
        _run(capsys, "--data-dir", home, "budget", "gate", "pay", "--change-type", "hotfix")
    assert refused.value.code == 2
    assert "invalid choice: 'hotfix'" in capsys.readouterr().err


def test_an_slo_file_without_slos_is_warned_of(tmp_path, capsys):
    empty = tmp_path / "slos.yml"
    empty.write_text("# nothing yet\n")
    code, out, _ = _run(
        capsys, "--data-dir", str(tmp_path), "budget", "validate", "--config", str(empty)
    )
    assert code == 0
    assert "warning: the file defines no SLO: no flow has an error budget" in out


def test_gate_refuses_an_exactly_spent_budget(budget_build, capsys):
    # 1 bad run of 1000 at 99.9 %: the budget of 1 run is spent exactly, whichever form the
    # target takes (1 − 0.999 and 99.9 / 100 are not exact in doubles).
    home = str(budget_build.data_dir.root)
    code, out, _ = _run(capsys, "--data-dir", home, "budget", "gate", "spent")
    assert code == 3
    assert "spent-ratio is EXHAUSTED" in out and "spent-percent is EXHAUSTED" in out
    assert "-0.0 %" not in out
    code, out, _ = _run(capsys, "--data-dir", home, "budget", "report", "--json")
    slos = {s["slo_id"]: s for s in json.loads(out)["slos"]}
    for slo_id in ("spent-ratio", "spent-percent"):
        assert slos[slo_id]["target"] == 0.999
        assert (slos[slo_id]["budget_total"], slos[slo_id]["budget_remaining"]) == (1.0, 0.0)
        assert slos[slo_id]["state"] == "EXHAUSTED"


def test_validate_reports_windows_the_data_cannot_fill(budget_build, capsys):
    home = str(budget_build.data_dir.root)
    code, out, err = _run(capsys, "--data-dir", home, "budget", "validate")
    assert code == 1
    assert "17 error budgets, 1 adjustment windows" in out
    # a window the data cannot fill yet is a young instance, not a mistake: a warning
    assert "warning: ship-success: the data starts at" in out and "cannot be filled yet" in out
    assert "ship-success" not in err
    assert "ghost-success: unknown flow 'ghost': no data has it" in err  # the exit 1
    assert "order-shipped: unknown" not in err  # the event pair's start event exists
    assert (
        "warning: ship-strict: at 99.9 % of about 50 units per period the budget allows 0.05" in out
    )


def test_nothing_published(tmp_path, capsys):
    code, _, err = _run(capsys, "--data-dir", str(tmp_path), "budget", "report")
    assert code == 1 and "nothing is published" in err


def test_an_exhausted_budget_is_exhausted_whatever_its_last_hour_held():
    from flowledger.budgets.report import time_to_exhaustion

    # docs/error-budgets.md: 0 when exhausted, also when the last hour has no units
    assert time_to_exhaustion(False, 0, 0.0) == "0 h (exhausted)"
    assert time_to_exhaustion(False, 4, 0.0) == "0 h (exhausted)"
    assert time_to_exhaustion(False, 0, None) == "unknown (no units in the last hour)"
    assert time_to_exhaustion(False, 4, 12.25) == "12.2 h"
    assert time_to_exhaustion(True, 0, 0.0) == "unknown (no data)"


def test_an_hour_without_units_has_no_time_to_exhaustion(budget_build, capsys):
    # budget_world.py: ship-success's last run started 4 hours before AS_OF, so the 1h window
    # holds no unit: no burn rate, which the report told as "never (nothing burns)"
    home = str(budget_build.data_dir.root)
    code, out, _ = _run(capsys, "--data-dir", home, "budget", "report", "--slo", "ship-success")
    assert code == 0
    assert "time to exhaustion at the 1h burn rate: unknown (no units in the last hour)" in out
    assert "never (nothing burns)" not in out


def test_a_window_the_data_cannot_fill_yet_does_not_fail_validate(budget_build, capsys, tmp_path):
    """A young instance (data since last week, a 28-day window) made `budget validate` exit 1,
    failing every CI gate that runs it for the first weeks of an install."""
    only = tmp_path / "slos.yml"
    only.write_text(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: ship-success}\nspec:\n"
        "  service: ship\n  indicator: {kind: runSuccess}\n"
        "  timeWindow: [{duration: 28d, isRolling: true}]\n  objectives: [{target: 0.9}]\n"
    )
    home = str(budget_build.data_dir.root)
    code, out, err = _run(capsys, "--data-dir", home, "budget", "validate", "--config", str(only))
    assert (code, err) == (0, "")
    assert "warning: ship-success: the data starts at" in out


def test_json_numbers_lose_the_doubles_noise():
    from flowledger.budgets.report import plain

    # 0.0144 / 0.001 (a burn rate of exactly 14.4) is 14.399999999999999 in doubles
    assert plain({"burn_rate_1h": 0.0144 / 0.001, "rates": [1 / 0.00001]}) == {
        "burn_rate_1h": 14.4,
        "rates": [100000.0],
    }
    assert plain(0.1 * 672 / 72) == round(0.1 * 672 / 72, 12) == 0.933333333333
    assert plain(float("nan")) is None and plain(3) == 3
