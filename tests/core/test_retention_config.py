"""The retention file and `flowledger purge`'s refusals: every mistake is named with its file and
entry, exits 1 and deletes nothing; a data directory with nothing ingested is left untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flowledger.retention import RetentionError, enforced_on_build, load_retention

RUN_LOGS = "flow_runs: {days: 400}, step_runs: {days: 400}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"version: 2\ntables: {{{RUN_LOGS}}}", "version must be 1"),
        (f"tables: {{{RUN_LOGS}}}\nretain_forever: true", "unknown key(s) ['retain_forever']"),
        (
            "tables: {business_events: {days: 400, dayz: 3}}",
            "tables.business_events: unknown key(s) ['dayz']",
        ),
        (f"enforce_on_build: 'yes'\ntables: {{{RUN_LOGS}}}", "enforce_on_build must be true or"),
        (
            "tables:\n  business_events: {days: 3}\n  business_events: {days: 500}\n",
            "'business_events' appears twice",
        ),
        ("tables: {business_events: {days: 1000000}}", "from 1 to 36600, got 1000000"),
        ("tables: {flow_runs: {days: 30}}", "flow_runs and step_runs are the run logs"),
        (f"version: true\ntables: {{{RUN_LOGS}}}", "version must be 1"),
        ("tables: {? [a, b] : {days: 3}}", "not valid YAML"),
        ("tables: {flow_runs: {days: 0}, step_runs: {days: 0}}", "tables.flow_runs.days must be"),
        ("tables: {orders: {days: 3}}", "tables.orders: unknown table"),
        ("tables: [1]", "expected a mapping with `tables:`"),
        ("tables: {flow_runs: {days: x}}", "got 'x'"),
        # a plain number said "days must be a whole number … got None"
        ("tables: {business_events: 30}", "tables.business_events must be a mapping with `days`"),
        # no table: nothing would ever be purged, without a word
        ("tables: {}", "`tables:` names no table"),
    ],
)
def test_mistakes_in_a_retention_file_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "retention.yml"
    path.write_text(text)
    with pytest.raises(RetentionError) as error:
        load_retention(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_a_file_without_version_is_read_as_version_1(tmp_path: Path) -> None:
    path = tmp_path / "retention.yml"
    path.write_text(f"tables: {{{RUN_LOGS}}}")
    assert load_retention(path) == {"flow_runs": 400, "step_runs": 400}


def test_yaml_merge_keys_may_share_settings(tmp_path: Path) -> None:
    path = tmp_path / "retention.yml"
    path.write_text(
        "version: 1\nrun_logs: &run_logs {days: 90}\ntables:\n"
        "  flow_runs: {<<: *run_logs}\n  step_runs: {<<: *run_logs}\n"
    )
    with pytest.raises(RetentionError, match="unknown key"):  # run_logs is not a key of the file
        load_retention(path)
    path.write_text(
        "version: 1\ntables:\n  flow_runs: &run_logs {days: 90}\n  step_runs: {<<: *run_logs}\n"
        "  business_events: {<<: *run_logs, days: 400}\n"
    )
    assert load_retention(path) == {"flow_runs": 90, "step_runs": 90, "business_events": 400}


def test_a_directory_is_not_a_retention_file(tmp_path: Path) -> None:
    with pytest.raises(RetentionError, match="cannot be read"):
        load_retention(tmp_path)


def test_an_unreadable_file_that_may_enforce_retention_stops_the_build(tmp_path: Path) -> None:
    path = tmp_path / "retention.yml"
    assert enforced_on_build(path) is False  # no file: nothing enforced
    path.write_text("enforce_on_build: true\ntables: [\n")
    with pytest.raises(RetentionError, match="not valid YAML"):
        enforced_on_build(path)


def _purge(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(data_dir), "purge", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_purging_a_data_directory_with_nothing_ingested_creates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "never-used"
    for args in (["--dry-run"], []):
        result = _purge(data_dir, *args)
        assert result.returncode == 0, result.stderr
        assert "business_events" in result.stdout
        assert "(empty table)" in result.stdout
    assert not data_dir.exists()


def test_a_warehouse_held_open_by_another_process_is_explained(tmp_path: Path) -> None:
    data_dir = tmp_path / "home"
    data_dir.mkdir()
    holder = duckdb.connect(str(data_dir / "warehouse.duckdb"))  # this process holds the file
    try:
        result = _purge(data_dir, "--dry-run")
    finally:
        holder.close()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "another process holds it open" in result.stderr
    assert "Nothing was purged" in result.stderr


def test_purging_empty_raw_tables_reports_empty_tables(tmp_path: Path) -> None:
    from ingest import ensure_raw_tables

    data_dir = tmp_path / "home"
    data_dir.mkdir()
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    ensure_raw_tables(con)
    con.close()
    for args in (["--dry-run"], []):
        result = _purge(data_dir, *args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("(empty table)") == 6
