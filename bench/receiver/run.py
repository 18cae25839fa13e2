"""Receiver benchmark: events/s and p50/p99 acknowledgement latency on loopback.

    .venv/bin/python bench/receiver/run.py [--clients 8] [--seconds 10] [--batch 1 100 500 1000]

Starts ``flowledger serve`` (a child process, fsync'd group-committed spool, drainer on) in a
fresh temporary data directory per batch size, then ``--clients`` processes each keep one
keep-alive connection busy posting CloudEvents batches (unique ids, prepared before the clock
starts) for ``--seconds``. Latency is measured per request, from send to the 200 answer, which
the server gives only after the fsync. Prints one table (Markdown) for docs/receiver.md, with
the machine's 1-minute load average at the end of each run (other work on the cores shows).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bodies(client: int, batch: int, count: int) -> list[bytes]:
    out = []
    for number in range(count):
        events = [
            {
                "specversion": "1.0",
                "id": f"b{client}-{number}-{i}",
                "source": "/bench/orders",
                "type": "com.acme.order.placed",
                "time": "2025-03-01T10:00:00Z",
                "subject": f"order/{number}",
                "data": {"order_id": f"O-{client}-{number}-{i}", "amount": 99.5, "items": 3},
            }
            for i in range(batch)
        ]
        out.append(json.dumps(events).encode())
    return out


def client_main(port: int, client: int, batch: int, seconds: float, start_at: float, queue) -> None:
    prepared = bodies(client, batch, max(50, int(40_000 / batch) + 1))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {
        "content-type": "application/cloudevents-batch+json",
        "authorization": f"Bearer {TOKEN}",
    }
    latencies: list[float] = []
    sent = 0
    while time.time() < start_at:
        time.sleep(0.001)
    stop_at = start_at + seconds
    number = 0
    errors = 0
    while time.time() < stop_at:
        body = prepared[number % len(prepared)]
        if number >= len(prepared):  # ran out of fresh ids: keep them unique anyway
            body = body.replace(b'"b', f'"r{number}-b'.encode())
        number += 1
        began = time.perf_counter()
        connection.request("POST", "/v1/events", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        if response.status == 200:
            sent += batch
        else:
            errors += 1
    connection.close()
    queue.put((sent, latencies, errors))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_one(batch: int, clients: int, seconds: float, extra: list[str]) -> dict:
    home = Path(tempfile.mkdtemp(prefix="flowledger-bench-"))
    port = free_port()
    env = {**os.environ, "FLOWLEDGER_TOKENS": f"bench={TOKEN}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), "serve",
         "--port", str(port), "--no-lineage", "--max-backlog", "50000000", *extra],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        queue: mp.Queue = mp.Queue()
        start_at = time.time() + 3
        workers = [
            mp.Process(target=client_main, args=(port, c, batch, seconds, start_at, queue))
            for c in range(clients)
        ]
        for worker in workers:
            worker.start()
        results = [queue.get() for _ in workers]
        for worker in workers:
            worker.join()
        events = sum(r[0] for r in results)
        latencies = [value for r in results for value in r[1]]
        errors = sum(r[2] for r in results)
        return {
            "batch": batch,
            "clients": clients,
            "events_per_s": events / seconds,
            "requests_per_s": len(latencies) / seconds,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "errors": errors,
            "load": os.getloadavg()[0],
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 100, 500, 1000])
    parser.add_argument(
        "--no-drain",
        action="store_true",
        help="intake only: the drainer does not land the spool into DuckDB during the run",
    )
    args = parser.parse_args()
    extra = ["--no-drain"] if args.no_drain else []
    print(
        f"{os.cpu_count()} CPUs; {args.clients} clients; {args.seconds:.0f} s per batch size; "
        f"drainer {'off' if args.no_drain else 'on'}"
    )
    print(
        "| batch | clients | events/s | requests/s | p50 ack ms | p99 ack ms | errors | load 1 min |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for batch in args.batch:
        r = run_one(batch, args.clients, args.seconds, extra)
        print(
            f"| {r['batch']} | {r['clients']} | {r['events_per_s']:,.0f} | "
            f"{r['requests_per_s']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
            f"{r['load']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
