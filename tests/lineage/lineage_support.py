"""Helpers of the lineage tests (a module name of its own: `conftest` is shared by every test
folder, so `from conftest import …` would pick whichever was imported first)."""

from __future__ import annotations

import shutil
from pathlib import Path

from flowledger.settings import DataDir


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

        from ingest.server.auth import Authenticator
        from lineage.api import lineage_routes

        auth = Authenticator({"openlineage": api_key}) if api_key else None
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
