"""The OpenLineage routes as ``flowledger serve`` mounts them beside the receiver's: a slow
lineage read holds up no other request, against a real server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from receiver_harness import TOKEN, Serve, event

from flowledger.settings import DataDir
from flowledger.warehouse import writer_lock

pytestmark = pytest.mark.slow

AUTH = {"authorization": f"Bearer {TOKEN}"}


def lineage_event() -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-03-01T10:00:00Z",
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "serve", "name": "job"},
        "inputs": [],
        "outputs": [],
    }


def timed(send: Any) -> tuple[int | None, float]:
    """The status of ``send()`` (None: no answer in its timeout) and the seconds it took."""
    started = time.monotonic()
    try:
        status = send().status_code
    except requests.Timeout:
        status = None
    return status, time.monotonic() - started


@pytest.mark.parametrize(
    "read",
    ["/api/v1/namespaces", "/api/v1/namespaces/serve/jobs", "/api/v1/lineage?nodeId=job:serve:job"],
)
def test_a_slow_lineage_read_holds_up_no_other_request(tmp_path: Path, read: str) -> None:
    # The first read after a build stores the new manifest's column lineage, for which it waits
    # (up to 5 s) for the warehouse writer lock, held here as a dbt build would hold it.
    data_dir = DataDir(tmp_path / "home").ensure()
    data_dir.dbt_target.mkdir(parents=True)
    (data_dir.dbt_target / "manifest.json").write_text('{"nodes": {}}')
    duckdb.connect(str(data_dir.warehouse)).close()
    with Serve(data_dir.root, "--no-drain") as server:
        answers: list[requests.Response] = []
        with writer_lock(data_dir, timeout_s=5):
            slow = threading.Thread(
                target=lambda: answers.append(
                    requests.get(server.url + read, headers=AUTH, timeout=30)
                )
            )
            slow.start()
            time.sleep(0.5)  # the read is waiting for the lock now
            probes = {
                "healthz": lambda: requests.get(server.url + "/healthz", timeout=3),
                "events": lambda: server.post("/v1/events", [event(f"slow-{read}")], timeout=3),
                "lineage intake": lambda: server.post(
                    "/api/v1/lineage", lineage_event(), timeout=3
                ),
                "metrics": lambda: requests.get(server.url + "/metrics", timeout=3),
            }
            for name, probe in probes.items():
                status, seconds = timed(probe)
                assert status is not None and status < 300, (
                    f"{name}: {status} after {seconds:.1f} s"
                )
                assert seconds < 1.0, f"{name} took {seconds:.1f} s during the slow read"
            assert slow.is_alive(), "the slow read ended before the other requests were sent"
        slow.join(timeout=30)
        # the read answers once the lock is free, with the event stored while it waited
        assert answers[0].status_code == 200, answers[0].text
        assert "serve" in answers[0].text
