"""Concurrent requests against a real ``flowledger serve``: what each client is told agrees with
what the warehouse keeps, and a large request does not hold the others up.

* Twenty clients send the same run key at once, each with another payload: one is told
  ``accepted`` and nineteen ``collision``, as the warehouse judges them (one row, nineteen
  collisions). Before, the edge index learnt a key only after the fsync, so several clients
  were told ``accepted`` for records the warehouse then set aside.
* The same record sent by twenty clients at once: one ``accepted``, nineteen duplicates, one
  row.
* A valid request of 10,000 events with nested data takes seconds to check and scrub; health
  checks are answered meanwhile (before, the checks ran on the event loop and every other
  request waited for them).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from receiver_harness import TOKEN, Serve, event, flow_run, query

pytestmark = pytest.mark.slow

CLIENTS = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    root = tmp_path_factory.mktemp("serve")
    with Serve(root / "home") as running:
        yield running


def _all_at_once(server: Serve, bodies: list[list[dict]]) -> list[dict]:
    """POST each body to /v1/runs from its own thread, released together; the answers."""
    barrier = threading.Barrier(len(bodies))
    answers: list[dict] = [{} for _ in bodies]

    def send(at: int) -> None:
        barrier.wait()
        answer = server.post("/v1/runs", bodies[at])
        answers[at] = {"status": answer.status_code, **answer.json()}

    threads = [threading.Thread(target=send, args=(at,)) for at in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def _outcomes(answers: list[dict]) -> Counter:
    return Counter((a["status"], a["accepted"], a["duplicates"], a["collisions"]) for a in answers)


def test_concurrent_collisions_are_told_as_the_warehouse_judges_them(server: Serve) -> None:
    bodies = [
        [flow_run("race-collide", error_message=f"payload {at}", status="failed")]
        for at in range(CLIENTS)
    ]
    answers = _all_at_once(server, bodies)
    assert _outcomes(answers) == {(200, 1, 0, 0): 1, (200, 0, 0, 1): CLIENTS - 1}
    told_accepted = next(
        body[0]["error_message"]
        for body, answer in zip(bodies, answers, strict=True)
        if answer["accepted"]
    )
    server.wait_drained()
    rows = query(
        server.data_dir, "select error_message from raw.flow_runs where run_id = 'race-collide'"
    )
    assert rows == [(told_accepted,)]
    collisions = query(
        server.data_dir,
        "select count(*) from raw.ingest_collisions where natural_key like '%race-collide%'",
    )
    assert collisions == [(CLIENTS - 1,)]


def test_concurrent_copies_of_one_record_are_one_row(server: Serve) -> None:
    answers = _all_at_once(server, [[flow_run("race-same")] for _ in range(CLIENTS)])
    assert _outcomes(answers) == {(200, 1, 0, 0): 1, (200, 0, 1, 0): CLIENTS - 1}
    server.wait_drained()
    assert query(
        server.data_dir, "select count(*) from raw.flow_runs where run_id = 'race-same'"
    ) == [(1,)]
    assert query(
        server.data_dir,
        "select count(*) from raw.ingest_collisions where natural_key like '%race-same%'",
    ) == [(0,)]


def test_health_checks_are_answered_while_a_large_request_is_checked(server: Serve) -> None:
    events = [
        event(
            f"big-{at}",
            data={
                "order_id": f"o{at}",
                "items": [{"sku": f"A{n}", "qty": n, "name": "widget"} for n in range(20)],
            },
        )
        for at in range(10_000)
    ]
    body = json.dumps(events)
    big: dict[str, float] = {}

    def send_big() -> None:
        answer = requests.post(
            server.url + "/v1/events",
            data=body,
            headers={
                "content-type": "application/cloudevents-batch+json",
                "authorization": f"Bearer {TOKEN}",
            },
            timeout=300,
        )
        big["status"] = answer.status_code
        big["accepted"] = answer.json()["accepted"]
        big["done"] = time.monotonic()

    sender = threading.Thread(target=send_big)
    sender.start()
    answered_during: list[float] = []
    while sender.is_alive():
        asked = time.monotonic()
        assert requests.get(server.url + "/healthz", timeout=300).status_code == 200
        answered = time.monotonic()
        if sender.is_alive():
            answered_during.append(answered - asked)
        time.sleep(0.02)
    sender.join()
    assert (big["status"], big["accepted"]) == (200, 10_000)
    # answered again and again while the large request was worked on: the event loop was free
    assert len(answered_during) >= 5, answered_during


def test_the_server_log_has_no_errors(server: Serve) -> None:
    log = Path(server.data_dir.parent / f"serve-{server.port}.out").read_text()
    assert "Traceback" not in log


def test_a_kind_given_twice_is_refused_not_read_as_the_last(server: Serve) -> None:
    answer = server.post("/v1/runs?kind=flow_run&kind=step_run", [flow_run("kind-twice")])
    assert answer.status_code == 400
    assert "?kind= given 2 times" in answer.json()["message"]
    once = server.post("/v1/runs?kind=flow_run", [flow_run("kind-once")])
    assert (once.status_code, once.json()["accepted"]) == (200, 1)


def test_payloads_of_a_write_in_flight_repeated_in_one_request_are_duplicates() -> None:
    """Request A (K, payload a) is in flight; request B carries K with a, b, a. B's first and
    third records are duplicates of A's (resting on A's write), its second a collision: one
    record written, not two (the third was written as a collision with B's second)."""
    import asyncio

    from ingest.contracts import load_contracts
    from ingest.server.formats import run_items
    from ingest.server.intake import Intake, PendingWrite
    from ingest.server.metrics import Metrics

    def items(*messages: str) -> list:
        body = json.dumps([flow_run("in-flight", error_message=m) for m in messages]).encode()
        return run_items({"content-type": "application/json"}, body, None)

    async def scenario() -> tuple:
        intake = Intake(load_contracts(), lambda: b"k" * 32, Metrics())
        first = intake.prepare(items("a"), "A")
        first_write = PendingWrite()
        intake.admit(first, first_write)
        second = intake.prepare(items("a", "b", "a"), "B")
        rests_on = intake.admit(second, PendingWrite())
        return second, rests_on, first_write

    second, rests_on, first_write = asyncio.run(scenario())
    assert (second.accepted, second.duplicates, second.collisions) == (0, 2, 1)
    assert second.write.records == 1
    assert rests_on == {first_write}
