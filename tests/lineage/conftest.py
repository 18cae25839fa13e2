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


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    """A 7-day demo generated, ingested and built through the CLI (with the planted violation)."""
    from flowledger.cli import main

    root = tmp_path_factory.mktemp("demo")
    assert main(["--data-dir", str(root), "demo", "--no-serve", "--days", "7"]) == 0
    return DataDir(root)


def copy_data_dir(source: DataDir, destination: Path) -> DataDir:
    """A fresh data directory with a copy of ``source``'s warehouse and dbt target."""
    data_dir = DataDir(destination).ensure()
    shutil.copytree(source.dbt_target, data_dir.dbt_target)
    shutil.copy2(source.warehouse, data_dir.warehouse)
    return data_dir


class LoopbackServer:
    """A Starlette app with the lineage routes, served by uvicorn on a free 127.0.0.1 port."""

    def __init__(self, data_dir: DataDir, api_key: str | None = None) -> None:
        import socket
        import threading

        import uvicorn
        from starlette.applications import Starlette

        from lineage.api import bearer_keys, lineage_routes

        auth = bearer_keys([api_key]) if api_key else None
        app = Starlette(routes=lineage_routes(data_dir, auth))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LoopbackServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
