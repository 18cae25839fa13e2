"""flowledger up: receiver + builder + dashboard start together and stop cleanly on SIGTERM;
the background builder publishes marts while intake keeps answering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from receiver_harness import TOKENS, Serve, flow_run, free_port

from flowledger.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def wait_for(url: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


def test_up_starts_all_and_stops_cleanly(tmp_path: Path) -> None:
    port, dashboard_port = free_port(), free_port()
    env = {**os.environ, "FLOWLEDGER_TOKENS": ",".join(f"{k}={v}" for k, v in TOKENS.items())}
    process = subprocess.Popen(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(tmp_path / "home"), "up",
         "--port", str(port), "--dashboard-port", str(dashboard_port), "--build-every", "3600"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        wait_for(f"http://127.0.0.1:{dashboard_port}/_stcore/health")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{dashboard_port}/_stcore/health", timeout=2)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_builder_publishes_while_intake_answers(tmp_path: Path) -> None:
    with Serve(tmp_path / "home", "--build-every", "2") as server:
        statuses = []
        deadline = time.monotonic() + 240
        number = 0
        while time.monotonic() < deadline:
            statuses.append(server.post("/v1/runs", [flow_run(f"b-{number}")]).status_code)
            number += 1
            if server.metrics().get('flowledger_builds_total{result="ok"}', 0) >= 1:
                break
            time.sleep(0.2)
        assert server.metrics().get('flowledger_builds_total{result="ok"}', 0) >= 1
        assert set(statuses) == {200}
        assert (server.data_dir / "published" / "CURRENT").exists()
        busy = server.metrics().get('flowledger_drain_rounds_total{result="busy"}', 0)
        print(f"{number} requests answered 200 during the build; {busy:.0f} drain rounds waited")
        server.wait_drained(timeout_s=120)
