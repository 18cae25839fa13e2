"""One small demo world, generated once per session, read back line by line with `json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from demo_support import SMALL_CASES_PER_DAY, SMALL_DAYS, DemoFiles

from flowledger.demo import generate


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    out = tmp_path_factory.mktemp("demo-ndjson")
    summary = generate(out, seed=7, days=SMALL_DAYS, cases_per_day=SMALL_CASES_PER_DAY)
    lines = {kind: read_lines(path) for kind, path in summary.files.items()}
    records = {
        kind: [json.loads(line) for line in kind_lines] for kind, kind_lines in lines.items()
    }
    return DemoFiles(summary, lines, records)
