"""An incremental build's key tests read only the key groups it could have written, and only when
the last build vouches for every other row (flowledger/build.py, macros/keys_written_since.sql).

One data directory, four real ``flowledger build`` runs on the known world of tests/dbt: a first
build, a ``--full-refresh``, a build after a batch whose step attempt repeats the key of an OLD
attempt, and the build after that failed build (the bad row is still there)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from scale_support import RAW_WORLD, STEP_RUNS, append_rows, make_raw_warehouse

from bench.__main__ import dbt_parse_kind
from flowledger.build import BuildFailed, build
from flowledger.settings import DataDir

pytestmark = pytest.mark.slow

FIRST_INGESTED_AT, SECOND_INGESTED_AT = "2024-03-10 06:00:00", "2024-03-11 06:00:00"
#: the key tests that read the step attempts the colliding batch writes
SOURCE_TEST = "source_composite_primary_key_flowledger_step_runs_"
MODEL_TEST = "composite_primary_key_int_step_attempts_enriched_"


@dataclass(frozen=True)
class KeyTestResult:
    status: str
    failures: int | None
    limited: bool  # the compiled SQL reads only the key groups written since a time


@dataclass(frozen=True)
class BuildRun:
    succeeded: bool
    keys_valid_through: str | None  # the time the limited tests read from
    tests: dict[str, KeyTestResult]  # by test name
    parse: str  # how dbt parsed the project (bench.__main__.dbt_parse_kind)

    def test(self, prefix: str) -> KeyTestResult:
        (found,) = [result for name, result in self.tests.items() if name.startswith(prefix)]
        return found


def _build(data_dir: DataDir, *, full_refresh: bool = False) -> BuildRun:
    try:
        build(data_dir, full_refresh=full_refresh, echo=None)
        succeeded = True
    except BuildFailed:
        succeeded = False
    run_results = json.loads((data_dir.dbt_target / "run_results.json").read_text())
    limited_since = {
        found.group(1)
        for result in run_results["results"]
        if "written_key_groups" in (result.get("compiled_code") or "")
        and (found := re.search(r"cast\('([^']*)' as timestamp\)", result["compiled_code"]))
    }
    assert len(limited_since) <= 1, limited_since
    tests = {
        result["unique_id"].split(".")[2]: KeyTestResult(
            result["status"],
            result["failures"],
            "written_key_groups" in (result.get("compiled_code") or ""),
        )
        for result in run_results["results"]
        if result["unique_id"].startswith("test.")
    }
    return BuildRun(
        succeeded,
        next(iter(limited_since), None),
        tests,
        dbt_parse_kind(data_dir.dbt_logs / "dbt.log"),
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, BuildRun]:
    data_dir = DataDir(Path(tmp_path_factory.mktemp("tests_scope")) / "home")
    stamped = {
        table: [{**row, "_ingested_at": FIRST_INGESTED_AT} for row in rows]
        for table, rows in RAW_WORLD.items()
    }
    warehouse = make_raw_warehouse(data_dir.root, stamped)
    out = {"first": _build(data_dir), "full_refresh": _build(data_dir, full_refresh=True)}
    # the same step attempt as an old one (same natural key), another outcome, landed later
    collision = {**STEP_RUNS[0], "status": "failed", "_ingested_at": SECOND_INGESTED_AT}
    append_rows(warehouse, {"step_runs": [collision]})
    out["colliding"] = _build(data_dir)
    out["after_failure"] = _build(data_dir)
    return out


def test_a_first_build_and_a_full_refresh_check_every_row(runs) -> None:
    for name in ("first", "full_refresh"):
        run = runs[name]
        assert run.succeeded, name
        assert run.keys_valid_through is None, name
        assert not any(result.limited for result in run.tests.values()), name


def test_after_a_complete_build_the_key_tests_read_only_what_was_written(runs) -> None:
    run = runs["colliding"]
    assert run.keys_valid_through == f"{FIRST_INGESTED_AT}"
    # the time reaches the tests outside dbt's vars: the project parsed before is reused
    assert run.parse == "partial"
    assert run.test(SOURCE_TEST).limited and run.test(MODEL_TEST).limited
    # tests without an ingest-time column read the whole table
    assert not run.test("unique_int_flows_summarized_flow_id").limited


def test_a_new_row_repeating_the_key_of_an_old_row_is_caught_by_the_limited_tests(runs) -> None:
    run = runs["colliding"]
    assert not run.succeeded
    assert run.test(SOURCE_TEST) == KeyTestResult("warn", 1, True)
    assert run.test(MODEL_TEST) == KeyTestResult("fail", 1, True)


def test_after_a_failed_build_every_row_is_checked_and_the_bad_row_is_caught_again(runs) -> None:
    run = runs["after_failure"]
    assert run.keys_valid_through is None
    assert not run.succeeded
    assert run.test(SOURCE_TEST) == KeyTestResult("warn", 1, False)
    assert run.test(MODEL_TEST) == KeyTestResult("fail", 1, False)
