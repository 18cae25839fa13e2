"""Shared fixtures: flowledger's own dbt project built once per session (on empty raw tables),
so the manifest, the compiled SQL and every relation of the warehouse exist."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from flowledger.build import BuildFailed, build, run_dbt
from flowledger.settings import DataDir


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    data_dir = DataDir(tmp_path_factory.mktemp("built")).ensure()
    try:
        build(data_dir, echo=None)
    except BuildFailed:
        # A failing data test elsewhere in the project must not hide the lineage: the models
        # are built and compiled all the same.
        for args in (["run"], ["compile"]):
            with contextlib.suppress(BuildFailed):
                run_dbt(data_dir, args, echo=None)
    assert (data_dir.dbt_target / "manifest.json").exists()
    return data_dir


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    """A 7-day demo generated, ingested and built through the CLI (with the planted violation)."""
    from flowledger.cli import main

    root = tmp_path_factory.mktemp("demo")
    assert main(["--data-dir", str(root), "demo", "--no-serve", "--days", "7"]) == 0
    return DataDir(root)


@pytest.fixture()
def lineage_server(tmp_path: Path):
    """The lineage routes on loopback over an empty data dir (no API key)."""
    from lineage_support import LoopbackServer

    with LoopbackServer(DataDir(tmp_path).ensure()) as running:
        yield running
