"""A data directory's first build starts from the parse another data directory saved: dbt parses
only what differs (flowledger/dbt_parse_cache.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flowledger import dbt_parse_cache
from flowledger.build import build, dbt_command
from flowledger.settings import PROJECT_ROOT, DataDir
from flowledger.warehouse import current_snapshot


def _last_parse(data_dir: DataDir) -> str:
    """``full: <dbt's reason>`` or ``partial``, from the last run in dbt's log."""
    log = (data_dir.dbt_logs / "dbt.log").read_text()
    last_run = log[log.rfind("Running with dbt=") :]
    if found := re.search(r"Unable to do partial parsing because ([^.\n]*)", last_run):
        return "full: " + found.group(1)
    return "partial"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(dbt_parse_cache.CACHE_ENV, str(directory))
    return directory


def test_the_key_is_the_target_and_vars_not_the_command_or_paths() -> None:
    key = dbt_parse_cache.cache_key
    vars_a = ["--vars", json.dumps({"a": 1})]
    assert key(["build", *vars_a]) == key(["compile", "--select", "x+", *vars_a])
    assert key(["build", *vars_a, "--target-path", "/a"]) == key(["build", *vars_a])
    assert key(["build", *vars_a]) != key(["build", "--vars", json.dumps({"a": 2})])
    assert key(["build", *vars_a]) != key(["build", *vars_a, "--target", "spark"])
    assert key(["build"]) != key(["build", *vars_a])


def test_a_saved_parse_is_copied_in_only_where_there_is_none(tmp_path: Path, cache: Path) -> None:
    args = ["build", "--vars", "{}"]
    first, second = tmp_path / "a" / "target", tmp_path / "b" / "target"
    assert not dbt_parse_cache.seed(first, args)  # nothing cached yet
    assert not dbt_parse_cache.save(first, args)  # nothing parsed yet
    first.mkdir(parents=True)
    (first / dbt_parse_cache.SAVED_PARSE).write_bytes(b"parse of a")
    assert dbt_parse_cache.save(first, args)
    assert dbt_parse_cache.seed(second, args)
    assert (second / dbt_parse_cache.SAVED_PARSE).read_bytes() == b"parse of a"
    (second / dbt_parse_cache.SAVED_PARSE).write_bytes(b"parse of b")
    assert not dbt_parse_cache.seed(second, args)  # its own parse is kept
    assert (second / dbt_parse_cache.SAVED_PARSE).read_bytes() == b"parse of b"
    assert not dbt_parse_cache.seed(tmp_path / "c" / "target", ["build", "--vars", '{"x": 1}'])
    assert [p.name for p in cache.iterdir()] == [f"{dbt_parse_cache.cache_key(args)}.msgpack"]


def test_only_the_most_recently_saved_parses_are_kept(
    tmp_path: Path, cache: Path, monkeypatch
) -> None:
    monkeypatch.setattr(dbt_parse_cache, "KEPT_PARSES", 2)
    target = tmp_path / "target"
    target.mkdir()
    (target / dbt_parse_cache.SAVED_PARSE).write_bytes(b"parse")
    configurations = [["build", "--vars", json.dumps({"n": n})] for n in range(3)]
    for at, args in enumerate(configurations):
        assert dbt_parse_cache.save(target, args)
        os.utime(cache / f"{dbt_parse_cache.cache_key(args)}.msgpack", (at, at))
    kept = {path.name for path in cache.iterdir()}
    assert kept == {f"{dbt_parse_cache.cache_key(args)}.msgpack" for args in configurations[1:]}


def test_the_cache_can_be_turned_off_and_a_broken_one_costs_nothing_but_time(
    tmp_path: Path, monkeypatch
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / dbt_parse_cache.SAVED_PARSE).write_bytes(b"parse")
    monkeypatch.setenv(dbt_parse_cache.CACHE_ENV, "off")
    assert dbt_parse_cache.cache_dir() is None
    assert not dbt_parse_cache.save(target, ["build"])
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv(dbt_parse_cache.CACHE_ENV, str(blocked / "cache"))
    assert not dbt_parse_cache.save(target, ["build"])
    assert not dbt_parse_cache.seed(tmp_path / "other" / "target", ["build"])
    monkeypatch.delenv(dbt_parse_cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dbt_parse_cache.cache_dir() == tmp_path / "xdg" / "flowledger" / "dbt-parse"


def test_the_profile_is_the_same_in_every_data_directory(tmp_path: Path) -> None:
    # dbt compares the profile's connection settings with the saved parse's: an absolute warehouse
    # path would make every data directory parse the whole project
    one, other = (dbt_command(DataDir(tmp_path / name), ["build"]) for name in ("a", "b"))
    for variable in ("FLOWLEDGER_WAREHOUSE", "FLOWLEDGER_MARTS"):
        assert one.env[variable] == other.env[variable]
        assert not Path(one.env[variable]).is_absolute()
    assert one.cwd == (tmp_path / "a").absolute()
    assert (one.cwd / one.env["FLOWLEDGER_WAREHOUSE"]) == DataDir(tmp_path / "a").warehouse


def test_a_new_data_directory_builds_from_the_saved_parse(tmp_path: Path, cache: Path) -> None:
    first, second = DataDir(tmp_path / "first"), DataDir(tmp_path / "second")
    build(first, echo=None)
    assert _last_parse(first) == "full: saved manifest not found"
    assert len(list(cache.glob("*.msgpack"))) == 1

    build(second, echo=None)
    assert _last_parse(second) == "partial"
    # the warehouse is the second data directory's own, and nothing was written where dbt's
    # project lives
    for data_dir in (first, second):
        con = duckdb.connect(str(current_snapshot(data_dir)), read_only=True)
        try:
            assert con.execute("select count(*) from main.fct_flow_runs").fetchone() == (0,)
        finally:
            con.close()
    assert not (PROJECT_ROOT / "warehouse.duckdb").exists()


def test_parse_only_saves_the_parse_the_first_build_then_reuses(
    tmp_path: Path, monkeypatch
) -> None:
    # the cache off: the data directory's own saved parse is what the build reuses
    monkeypatch.setenv(dbt_parse_cache.CACHE_ENV, "off")
    data_dir = DataDir(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(data_dir.root), "build",
         "--parse-only", "--quiet"],
        capture_output=True, text=True, env={**os.environ}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "parsed the dbt project" in done.stderr + done.stdout
    assert _last_parse(data_dir) == "full: saved manifest not found"
    assert (data_dir.dbt_target / dbt_parse_cache.SAVED_PARSE).is_file()
    assert not data_dir.published.exists() or not any(data_dir.published.iterdir())

    build(data_dir, echo=None)
    assert _last_parse(data_dir) == "partial"


@pytest.mark.parametrize("extra", [["--select", "fct_cases"], ["--full-refresh"]])
def test_parse_only_runs_no_model_so_takes_no_selection(tmp_path: Path, extra: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(tmp_path / "home"), "build",
         "--parse-only", *extra],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "--parse-only runs no model" in done.stderr
    assert not (tmp_path / "home" / "dbt" / "target").exists()
