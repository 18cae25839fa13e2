"""One small demo world, generated once per session, read back line by line with `json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from flowledger.demo import GenerationSummary, generate

# 21 days: the cutover falls on day 10, the incident on day 14 (a Saturday, 2026-08-15).
SMALL_DAYS = 21
SMALL_CASES_PER_DAY = 160.0


@dataclass(frozen=True)
class DemoFiles:
    summary: GenerationSummary
    lines: dict[str, list[str]]  # kind -> raw lines as written
    records: dict[str, list[dict]]  # kind -> parsed lines (exact duplicates included)


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
