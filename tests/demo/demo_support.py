"""The small demo world's shape, shared by tests/demo (a uniquely named module: with several test
folders collected, `from conftest import …` would pick whichever conftest was imported first)."""

from __future__ import annotations

from dataclasses import dataclass

from flowledger.demo import GenerationSummary

# 21 days: the cutover falls on day 10, the incident on day 14 (a Saturday, 2026-08-15).
SMALL_DAYS = 21
SMALL_CASES_PER_DAY = 160.0


@dataclass(frozen=True)
class DemoFiles:
    summary: GenerationSummary
    lines: dict[str, list[str]]  # kind -> raw lines as written
    records: dict[str, list[dict]]  # kind -> parsed lines (exact duplicates included)
