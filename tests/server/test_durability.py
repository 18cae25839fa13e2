"""kill -9 in the middle of a load: every acknowledged event is stored exactly once after a
restart and a re-send of what was not acknowledged."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests
from receiver_harness import TOKEN, Serve, query

pytestmark = pytest.mark.slow

THREADS = 4
BATCH = 50


def batch_body(thread: int, number: int) -> tuple[list[str], bytes]:
    ids = [f"k-{thread}-{number}-{i}" for i in range(BATCH)]
    events = [
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "/kill",
            "type": "com.acme.kill.test",
            "time": "2025-03-01T10:00:00Z",
            "data": {"n": i, "thread": thread},
        }
        for i, event_id in enumerate(ids)
    ]
    return ids, json.dumps(events).encode()


def test_kill_9_loses_no_acknowledged_event(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = Serve(home).start()
    acked: dict[tuple[int, int], list[str]] = {}
    unacked: dict[tuple[int, int], bytes] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(thread: int) -> None:
        session = requests.Session()
        number = 0
        while not stop.is_set():
            ids, body = batch_body(thread, number)
            try:
                response = session.post(
                    first.url + "/v1/events",
                    data=body,
                    headers={
                        "content-type": "application/cloudevents-batch+json",
                        "authorization": f"Bearer {TOKEN}",
                    },
                    timeout=10,
                )
                ok = response.status_code == 200 and response.json()["accepted"] == BATCH
            except requests.RequestException:
                ok = False
            with lock:
                if ok:
                    acked[(thread, number)] = ids
                else:
                    unacked[(thread, number)] = body
                    if not first.process or first.process.poll() is not None:
                        return
            number += 1

    threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acked) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill9()  # mid-load: requests are in flight
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acked) >= 60, "the load did not get going"

    second = Serve(home).start()
    try:
        for body in unacked.values():
            response = second.post("/v1/events", body, "application/cloudevents-batch+json")
            assert response.status_code == 200
        # a client that is unsure re-sends acknowledged batches too: nothing doubles
        for thread, number in list(acked)[:5]:
            _, body = batch_body(thread, number)
            assert (
                second.post("/v1/events", body, "application/cloudevents-batch+json").status_code
                == 200
            )
        second.wait_drained()
    finally:
        second.stop()

    acked_ids = {event_id for ids in acked.values() for event_id in ids}
    resent_ids = {f"k-{t}-{n}-{i}" for (t, n) in unacked for i in range(BATCH)}
    rows = query(
        home, "select id, count(*) from raw.business_events where source = '/kill' group by id"
    )
    counts = dict(rows)
    assert all(count == 1 for count in counts.values()), "an event was stored twice"
    assert acked_ids <= set(counts), f"{len(acked_ids - set(counts))} acknowledged events lost"
    assert set(counts) == acked_ids | resent_ids
    print(
        f"kill -9: {len(acked)} batches acknowledged, {len(unacked)} re-sent, "
        f"{len(counts)} events stored once each"
    )


def test_the_landing_worker_dies_with_a_killed_receiver(tmp_path: Path) -> None:
    """The drainer lands in a child process: a kill -9 of the receiver must not leave it
    running (it would hold the warehouse lock and delete segments behind the next receiver)."""
    import os
    import subprocess

    server = Serve(tmp_path / "home").start()
    assert server.process is not None
    listed = subprocess.run(
        ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True, check=True
    )
    workers = [int(pid) for pid in listed.stdout.split()]
    assert workers, "the receiver has no landing worker"
    server.kill9()
    deadline = time.monotonic() + 10
    alive = list(workers)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if os.path.exists(f"/proc/{pid}") and _running(pid)]
        time.sleep(0.1)
    assert not alive, f"landing worker(s) {alive} outlived the receiver"


def _running(pid: int) -> bool:
    """A zombie (exited, not yet reaped by init) does not count as running."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
