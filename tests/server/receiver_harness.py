"""A real ``flowledger serve`` in a child process on a free loopback port, and helpers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import requests

from flowledger.settings import PROJECT_ROOT

TOKEN = "tok-crm-0123456789abcdef"
OTHER_TOKEN = "tok-otel-fedcba9876543210"
TOKENS = {"crm": TOKEN, "otel": OTHER_TOKEN}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Serve:
    """``python -m flowledger.cli --data-dir DIR serve --port N …`` with tokens in the env."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "FLOWLEDGER_TOKENS": ",".join(f"{k}={v}" for k, v in TOKENS.items()),
            **(env or {}),
        }
        self.env.pop("FLOWLEDGER_PII_KEY", None)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Serve:
        command = [
            sys.executable, "-m", "flowledger.cli", "--data-dir", str(self.data_dir),
            "serve", "--port", str(self.port), *self.args,
        ]  # fmt: skip
        self.log = open(self.data_dir.parent / f"serve-{self.port}.out", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"flowledger serve exited with {self.process.returncode}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("flowledger serve did not answer /healthz within 60 s")

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.log.close()
        return self.process.returncode

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.log.close()

    def __enter__(self) -> Serve:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def post(
        self,
        path: str,
        body: bytes | str | list | dict,
        content_type: str = "application/json",
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> requests.Response:
        if isinstance(body, list | dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        sent = {"content-type": content_type, **(headers or {})}
        if token:
            sent["authorization"] = f"Bearer {token}"
        return requests.post(self.url + path, data=body, headers=sent, timeout=timeout)

    def metrics(self) -> dict[str, float]:
        """Every sample line of /metrics: ``name{labels}`` → value."""
        text = requests.get(self.url + "/metrics", timeout=5).text
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def wait_for_inflight(self, count: int, timeout_s: float = 30) -> None:
        """Until ``count`` requests hold an in-flight slot (``--max-inflight``)."""
        deadline = time.monotonic() + timeout_s
        while self.metrics()["flowledger_intake_inflight_requests"] != count:
            assert time.monotonic() < deadline, f"never {count} requests in flight"
            time.sleep(0.05)

    def wait_drained(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.metrics()["flowledger_spool_backlog_records"] == 0:
                return
            time.sleep(0.2)
        raise AssertionError("the spool was not drained in time")


def query(data_dir: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Read the warehouse (the server must be stopped, or between drain rounds)."""
    from flowledger.settings import DataDir
    from flowledger.warehouse import writer_lock

    with writer_lock(DataDir(data_dir), timeout_s=30):
        con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()


def event(
    event_id: str, source: str = "/crm/leads", data: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": "com.acme.crm.lead.created",
        "time": "2025-03-01T10:00:00Z",
        "data": data if data is not None else {"lead_id": event_id, "amount": 10},
        **extra,
    }


def flow_run(run_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "source_system": "n8n",
        "flow_id": "wf-1",
        "flow_name": "Lead sync",
        "run_id": run_id,
        "status": "success",
        "started_at": "2025-03-01T10:00:00Z",
        "ended_at": "2025-03-01T10:00:05Z",
        **extra,
    }


def lineage_event(pad: int = 0) -> dict[str, Any]:
    """A valid OpenLineage RunEvent of job ``tests``/``job``; ``pad`` characters in a custom run
    facet make it as large as wanted."""
    facets = {"padding": {"_producer": "https://example.com/t", "_schemaURL": "#", "x": "x" * pad}}
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-03-01T10:00:00Z",
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4()), "facets": facets},
        "job": {"namespace": "tests", "name": "job"},
        "inputs": [],
        "outputs": [],
    }
