"""An imported event log's per-event attributes are no record fields: a cost that differs from
one event to the next is no correction, so first-pass yield is not zero on every real log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from logs import flowledger_cli

from flowledger.processes.config import load_config

pytestmark = pytest.mark.slow

LOG = """case,activity,time,cost,resource
1,register request,2011-01-01T10:00:00Z,50,Pete
1,examine casually,2011-01-02T10:00:00Z,400,Sue
1,decide,2011-01-03T10:00:00Z,200,Sara
2,register request,2011-01-01T11:00:00Z,50,Mike
2,check ticket,2011-01-02T11:00:00Z,100,Mike
2,check ticket,2011-01-03T11:00:00Z,100,Mike
"""


def test_per_event_attributes_are_no_field_corrections(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = tmp_path / "running.csv"
    log.write_text(LOG)
    flowledger_cli(home, "ingest", "--format", "csv", str(log), "--process", "running")
    assert load_config(home).get("running").correction_fields == ()
    # the process marts alone (the run marts, which "data as of" also reads, are not selected:
    # the build stopped with a traceback after dbt)
    flowledger_cli(home, "build", "--quiet", "--select", "+path:models/marts/processes")
    cases = json.loads(
        flowledger_cli(
            home, "sql", "--json",
            "select case_id, has_rework, has_field_correction, is_first_pass "
            "from fct_cases where process_name = 'running' order by case_id",
        )
    )  # fmt: skip
    rows = [tuple(row.values()) for row in cases]  # a JSON array of objects
    # case 2 repeats a step (rework); neither corrects a field, case 1 is first pass
    assert rows == [("1", False, False, True), ("2", True, False, False)]


def test_check_and_kpi_warn_about_a_step_the_log_never_shows(tmp_path: Path) -> None:
    import subprocess
    import sys

    from flowledger.settings import PROJECT_ROOT

    home = tmp_path / "home"
    log = tmp_path / "running.csv"
    log.write_text(LOG)
    flowledger_cli(home, "ingest", "--format", "csv", str(log), "--process", "running")
    with (home / "processes.yml").open("a") as config:
        config.write(
            "  running_typo:\n    case_key: case_id\n    event_source: /eventlog/running\n"
            "    end: [decidee]\n"
        )
    flowledger_cli(home, "build", "--quiet", "--select", "+path:models/marts/processes")
    warning = (
        "warning: process running_typo: end step 'decidee' occurs in none of its events "
        "(its steps: check ticket, decide, examine casually, register request)"
    )
    for args in (["processes", "check"], ["kpi", "process", "running_typo"]):
        result = subprocess.run(
            [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), *args],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert warning in result.stderr


def test_a_step_warning_after_an_unbuilt_change_says_the_marts_predate_it(tmp_path: Path) -> None:
    """A step just mapped in processes.yml was reported as in none of the events until the
    next build: the published marts map events to steps as the last build's configuration did.
    Here the steps become the log's resources, and the process ends at Sara's."""
    import subprocess
    import sys

    from flowledger.settings import PROJECT_ROOT

    home = tmp_path / "home"
    log = tmp_path / "running.csv"
    log.write_text(LOG)
    flowledger_cli(home, "ingest", "--format", "csv", str(log), "--process", "running")
    flowledger_cli(home, "build", "--quiet")
    config = home / "processes.yml"
    text = config.read_text()
    assert "activity_field: activity\n    start: first\n    end: last\n" in text
    config.write_text(
        text.replace(
            "activity_field: activity\n    start: first\n    end: last\n",
            "activity_field: resource\n    start: first\n    end: [Sara]\n",
        )
    )

    def check() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), "processes", "check"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stderr

    before = check()
    assert "end step 'Sara' occurs in none of its events" in before
    assert (
        "built before the last change of the process configuration (or field ownership): run "
        "`flowledger build`" in before
    )
    flowledger_cli(home, "build", "--quiet")
    assert "occurs in none" not in check()
