"""Counters, gauges and a latency histogram, rendered in the Prometheus text format (0.0.4)."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_HELP = {
    "flowledger_receiver_records_total": (
        "counter",
        "Records seen at the edge by kind and outcome: accepted (spooled), rejected "
        "(quarantined), duplicate (same key and payload as an acknowledged record: dropped), "
        "collision (same key, other payload: spooled, kept aside by the drainer)",
    ),
    "flowledger_receiver_requests_total": (
        "counter",
        "HTTP requests by method, route (its template) and status code",
    ),
    "flowledger_drain_records_total": (
        "counter",
        "Records the drainer moved into the warehouse by kind and outcome "
        "(stored, duplicate, collision, quarantined): the warehouse's own dedupe",
    ),
    "flowledger_drain_rounds_total": ("counter", "Drain rounds by result (ok, busy, error)"),
    "flowledger_spool_commits_total": ("counter", "Group commits (one fsync round each)"),
    "flowledger_spool_committed_requests_total": ("counter", "Requests made durable"),
    "flowledger_builds_total": ("counter", "Background dbt builds by result (ok, failed)"),
    "flowledger_spool_backlog_records": (
        "gauge",
        "Queue depth: records fsync'd in the spool, not yet drained into the warehouse",
    ),
    "flowledger_intake_inflight_requests": ("gauge", "Requests being parsed or waiting for fsync"),
    "flowledger_request_duration_seconds": (
        "histogram",
        "Time from request start to answer, by method and route (its template)",
    ),
}


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{name}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for name, value in labels
    )
    return "{" + inner + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._histograms: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
        self._gauges: dict[str, Callable[[], float]] = {}

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + amount

    def get(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters.get((name, tuple(sorted(labels.items()))), 0)

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        self._gauges[name] = read

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            state = self._histograms.get(key)
            if state is None:
                # one count per bucket, then +Inf count, then the sum
                state = self._histograms[key] = [0.0] * (len(LATENCY_BUCKETS) + 2)
            state[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            state[-1] += seconds

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            counters = dict(self._counters)
            histograms = {key: list(value) for key, value in self._histograms.items()}
        names = sorted(
            {name for name, _ in counters}
            | set(self._gauges)
            | {name for name, _ in histograms}
            | {name for name, (kind, _) in _HELP.items() if kind == "counter"}
        )
        for name in names:
            kind, text = _HELP.get(name, ("untyped", name))
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")
            if name in self._gauges:
                lines.append(f"{name} {_number(self._gauges[name]())}")
            for (metric, labels), value in sorted(counters.items()):
                if metric == name:
                    lines.append(f"{name}{_labels(labels)} {_number(value)}")
            for (metric, labels), state in sorted(histograms.items()):
                if metric != name:
                    continue
                cumulative = 0.0
                for bound, count in zip(LATENCY_BUCKETS, state, strict=False):
                    cumulative += count
                    le = (*labels, ("le", repr(bound)))
                    lines.append(f"{name}_bucket{_labels(le)} {_number(cumulative)}")
                cumulative += state[len(LATENCY_BUCKETS)]
                lines.append(
                    f"{name}_bucket{_labels((*labels, ('le', '+Inf')))} {_number(cumulative)}"
                )
                lines.append(f"{name}_sum{_labels(labels)} {state[-1]!r}")
                lines.append(f"{name}_count{_labels(labels)} {_number(cumulative)}")
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
