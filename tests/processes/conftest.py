"""One data directory per session: generated XES and CSV logs imported through the real CLI
(``flowledger ingest --format xes|csv --process NAME``) and one ``flowledger build``."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from flowledger.settings import PROJECT_ROOT

sys.path.insert(0, str(Path(__file__).parent))
from logs import generate, write_csv, write_xes  # noqa: E402

CASES = 400
STUCK_PROCESS = """\
  gen_ends:
    case_key: case_id
    event_source: /eventlog/gen_xes
    start: first
    end: [Pay compensation, Reject request]
    timeout: 30d
    sla: {from: Register request, to: Decide, within: 2d}
    segments: [case_region]
"""


@dataclass(frozen=True)
class ImportedLogs:
    home: Path
    xes: Path
    csv: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flowledger.cli", "--data-dir", str(self.home), *args],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    def kpis(self, process: str) -> dict:
        result = self.cli("kpi", "process", process, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def sql(self, query: str) -> list[dict]:
        result = self.cli("sql", query, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="session")
def imported_logs(tmp_path_factory: pytest.TempPathFactory) -> ImportedLogs:
    root = tmp_path_factory.mktemp("process_logs")
    logs = ImportedLogs(root / "home", root / "generated.xes", root / "generated.csv")
    write_xes(generate(CASES, seed=3), logs.xes)
    write_csv(generate(CASES, seed=3), logs.csv)
    for fmt, path, process in (("xes", logs.xes, "gen_xes"), ("csv", logs.csv, "gen_csv")):
        result = logs.cli("ingest", "--format", fmt, str(path), "--process", process)
        assert result.returncode == 0, result.stdout + result.stderr
    # the same events seen as a process with end events, a timeout and an SLA: open and stuck cases
    with (logs.home / "processes.yml").open("a") as config:
        config.write(STUCK_PROCESS)
    # the process marts and what they read, and the hourly flow health and flows whose days and
    # names the pages' filter bar reads (a build of only what these tests need)
    result = logs.cli(
        "build", "--quiet", "--select", "+path:models/marts/processes", "+fct_flow_runs",
        "+fct_flow_health_hourly", "+dim_flows",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return logs
