"""Benchmark: a column-lineage trace of depth 10 on a graph of 100,000 field edges.

    .venv/bin/python bench/lineage/bench_trace.py [--edges 100000] [--depth 10] [--traces 200]

The graph is built through the same path as ingested lineage (OpenLineage JobEvents with
``columnLineage`` facets into ``LineageGraph``): 11 layers of 10 datasets, each field reading
``--fan-in`` random fields (seeded) of the layer below, so a depth-10 trace from the top crosses
every layer. ``--shape models`` (default): each dataset reads 3 datasets of the layer below, as
a dbt model does; ``--shape dense``: any field of the layer below (a trace then reaches ~40 %
of the whole graph, the worst case). Each trace's edge count is checked against an independent breadth-first
walk over a plain dict of the same edges. Prints build time and trace p50 / p95 / max in ms;
exits 1 when p95 is 50 ms or more.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict

from lineage.graph import LineageGraph

NS = "bench"
LAYERS = 11
DATASETS_PER_LAYER = 10
READS = 3  # datasets a model reads, in the "models" shape
BUDGET_MS = 50.0


def build_events(
    edges: int, fan_in: int, seed: int, shape: str = "models"
) -> tuple[list[dict], list[tuple]]:
    rng = random.Random(seed)
    fields_per_layer = edges // ((LAYERS - 1) * fan_in)
    per_dataset = max(1, fields_per_layer // DATASETS_PER_LAYER)
    layer_fields = [
        [(f"l{layer}_d{d}", f"f{i}") for d in range(DATASETS_PER_LAYER) for i in range(per_dataset)]
        for layer in range(LAYERS)
    ]
    events, plain = [], []
    for layer in range(1, LAYERS):
        for d in range(DATASETS_PER_LAYER):
            name = f"l{layer}_d{d}"
            if shape == "dense":  # any field of the layer below: a trace reaches ~40 % of all
                below = layer_fields[layer - 1]
            else:  # like a dbt model: it reads READS datasets of the layer below
                parents = set(rng.sample(range(DATASETS_PER_LAYER), READS))
                below = [f for f in layer_fields[layer - 1] if int(f[0].split("_d")[1]) in parents]
            fields = {}
            for i in range(per_dataset):
                inputs = rng.sample(below, fan_in)
                fields[f"f{i}"] = {
                    "inputFields": [
                        {"namespace": NS, "name": ds, "field": f,
                         "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"}]}
                        for ds, f in inputs
                    ]
                }  # fmt: skip
                plain += [((name, f"f{i}"), source) for source in inputs]
            events.append(
                {
                    "eventTime": "2026-01-01T00:00:00Z",
                    "producer": "bench",
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
                    "job": {"namespace": NS, "name": f"job_{name}"},
                    "inputs": [
                        {"namespace": NS, "name": f"l{layer - 1}_d{x}"}
                        for x in range(DATASETS_PER_LAYER)
                    ],
                    "outputs": [
                        {
                            "namespace": NS,
                            "name": name,
                            "facets": {"columnLineage": {"fields": fields}},
                        }
                    ],
                }
            )
    return events, plain


def reference_edge_count(plain: list[tuple], start: tuple[str, str], depth: int) -> int:
    """Edges reached by a plain breadth-first walk (the independent reference)."""
    upstream: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for output, source in plain:
        upstream[output].append(source)
    seen, frontier, count = {start}, [start], 0
    for _ in range(depth):
        following = []
        for node in frontier:
            for source in upstream.get(node, ()):
                count += 1
                if source not in seen:
                    seen.add(source)
                    following.append(source)
        frontier = following
    return count


def run(
    edges: int = 100_000,
    depth: int = 10,
    traces: int = 200,
    fan_in: int = 4,
    seed: int = 7,
    shape: str = "models",
) -> dict:
    events, plain = build_events(edges, fan_in, seed, shape)
    started = time.perf_counter()
    graph = LineageGraph.from_events(events)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    graph.trace(next(iter(graph.field_keys())), depth=1)  # builds the adjacency index once
    index_s = time.perf_counter() - started
    rng = random.Random(seed + 1)
    top = [key for key in graph.field_keys() if key.dataset.startswith(f"l{LAYERS - 1}_")]
    timings, reached = [], []
    for i in range(traces):
        start = rng.choice(top)
        t0 = time.perf_counter()
        found = graph.trace(start, depth=depth)
        timings.append((time.perf_counter() - t0) * 1000)
        reached.append(len(found))
        if i < 5:  # check against the independent walk
            expected = reference_edge_count(plain, (start.dataset, start.field), depth)
            assert len(found) == expected, (start, len(found), expected)
            assert max(hop for hop, _ in found) == depth == found.max_hop
    timings.sort()
    return {
        "field_edges": len(graph.edges),
        "depth": depth,
        "traces": traces,
        "shape": shape,
        "build_seconds": round(build_s, 2),
        "index_seconds": round(index_s, 2),
        "edges_reached_mean": round(statistics.mean(reached)),
        "p50_ms": round(timings[len(timings) // 2], 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "max_ms": round(timings[-1], 2),
        "budget_ms": BUDGET_MS,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--fan-in", type=int, default=4)
    parser.add_argument("--shape", choices=["models", "dense"], default="models")
    args = parser.parse_args()
    result = run(args.edges, args.depth, args.traces, args.fan_in, shape=args.shape)
    print(json.dumps(result, indent=2))
    return 0 if result["p95_ms"] < BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
