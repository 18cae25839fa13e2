"""The committed benchmark runs: depth-10 column-lineage traces on 100,000 field edges, each
checked against an independent breadth-first walk. Its speed (target p95 < 50 ms) is printed by
`python bench/lineage/bench_trace.py` and published in docs/lineage.md, not asserted here: a
timed unit test would only measure how busy the CI machine is."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "lineage" / "bench_trace.py"
pytestmark = pytest.mark.slow


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_trace", BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("shape", ["models", "dense"])
def test_depth_10_traces_on_100k_edges_match_an_independent_walk(shape: str) -> None:
    result = load_bench().run(edges=100_000, depth=10, traces=60, shape=shape)
    assert result["field_edges"] == 100_000
    assert result["edges_reached_mean"] > 10_000  # the traces really cross the graph
    assert result["p95_ms"] > 0
