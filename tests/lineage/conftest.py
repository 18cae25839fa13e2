"""Shared fixtures: flowledger's own dbt project built once per session (on empty raw tables),
so the manifest, the compiled SQL and every relation of the warehouse exist."""

from __future__ import annotations

import contextlib
import shutil
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


def copy_data_dir(source: DataDir, destination: Path) -> DataDir:
    """A fresh data directory with a copy of ``source``'s warehouse and dbt target."""
    data_dir = DataDir(destination).ensure()
    shutil.copytree(source.dbt_target, data_dir.dbt_target)
    shutil.copy2(source.warehouse, data_dir.warehouse)
    return data_dir
