"""Helpers of the lineage tests (a module name of its own: `conftest` is shared by every test
folder, so `from conftest import …` would pick whichever was imported first)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import requests

from flowledger.settings import DataDir


def copy_data_dir(source: DataDir, destination: Path) -> DataDir:
    """A fresh data directory with a copy of ``source``'s warehouse and dbt target."""
    data_dir = DataDir(destination).ensure()
    shutil.copytree(source.dbt_target, data_dir.dbt_target)
    shutil.copy2(source.warehouse, data_dir.warehouse)
    return data_dir


# A dbt project of two models for `flowledger build --select` (test_partial_build.py, the
# lineage explorer page).
SOURCE = {
    "resource_type": "source", "name": "orders", "database": "w", "schema": "shop",
    "identifier": "orders", "config": {}, "columns": {"id": {}, "amount": {}, "state": {}},
}  # fmt: skip
CLEAN_SQL = 'select id as order_id, amount * 100 as amount_cents from "w"."shop"."orders"'
SUMMARY_SQL = 'select sum(amount_cents) as total_cents from "w"."main"."orders_clean"'
SUMMARY_SQL_NEW = (
    'select sum(amount_cents) as total_cents, count(*) as orders from "w"."main"."orders_clean"'
)


def write_manifest(
    data_dir: DataDir, *, generated_at: str, clean_sql: str | None, summary_sql: str
) -> None:
    """Two models, ``orders_clean`` over a source and ``orders_summary`` over it; without
    ``orders_clean``'s compiled SQL when ``clean_sql`` is None (a build that selected only
    ``orders_summary``)."""
    clean: dict = {
        "resource_type": "model", "name": "orders_clean", "database": "w", "schema": "main",
        "alias": "orders_clean", "columns": {}, "config": {},
        "depends_on": {"nodes": ["source.p.shop.orders"]},
    }  # fmt: skip
    if clean_sql is not None:
        clean["compiled_code"] = clean_sql
    summary = {
        "resource_type": "model", "name": "orders_summary", "database": "w", "schema": "main",
        "alias": "orders_summary", "columns": {}, "config": {},
        "depends_on": {"nodes": ["model.p.orders_clean"]}, "compiled_code": summary_sql,
    }  # fmt: skip
    manifest = {
        "metadata": {"project_name": "p", "generated_at": generated_at},
        "nodes": {"model.p.orders_clean": clean, "model.p.orders_summary": summary},
        "sources": {"source.p.shop.orders": SOURCE},
    }
    data_dir.dbt_target.mkdir(parents=True, exist_ok=True)
    (data_dir.dbt_target / "manifest.json").write_text(json.dumps(manifest))


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


def post_event(server: LoopbackServer, event: object) -> requests.Response:
    """POST one OpenLineage event to ``server``'s ``/api/v1/lineage``."""
    return requests.post(f"{server.url}/api/v1/lineage", json=event, timeout=30)


def api_get(server: LoopbackServer, path: str, **params: object) -> requests.Response:
    """GET ``/api/v1/<path>`` of ``server`` with ``params``."""
    return requests.get(f"{server.url}/api/v1/{path}", params=params, timeout=30)


def post_ok(server: LoopbackServer, event: object) -> None:
    """:func:`post_event`, which must be stored (201)."""
    answer = post_event(server, event)
    assert answer.status_code == 201, answer.text


def get_json(server: LoopbackServer, path: str, **params: object) -> Any:
    """:func:`api_get`'s JSON, which must answer 200."""
    answer = api_get(server, path, **params)
    assert answer.status_code == 200, answer.text
    return answer.json()
