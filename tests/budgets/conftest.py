"""One ``flowledger build`` per session over the hand-made world of ``budget_world.py``.

The raw tables get the fixed DDL of ``tests/dbt/raw_world.py`` (imported, not copied); the build
is the real one (``flowledger.build.build``: SLO file rendered to dbt vars, dbt build, publish),
evaluated at ``budget_world.AS_OF``. Tests read the published marts like the CLI does.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import budget_world  # noqa: E402
from raw_world import create_raw_tables, insert_rows  # noqa: E402

from flowledger.build import build  # noqa: E402
from flowledger.settings import DataDir  # noqa: E402
from flowledger.warehouse import open_published  # noqa: E402


@dataclass(frozen=True)
class BudgetBuild:
    data_dir: DataDir
    slos_path: Path

    def records(self, sql: str, params: list | None = None) -> list[dict[str, object]]:
        with open_published(self.data_dir) as con:
            cursor = con.execute(sql, params or [])
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, sql: str, params: list | None = None) -> dict[str, object]:
        rows = self.records(sql, params)
        assert len(rows) == 1, f"expected one row from {sql!r}, got {rows}"
        return rows[0]

    def budget(self, slo_id: str) -> dict[str, object]:
        return self.one("select * from fct_error_budgets where slo_id = ?", [slo_id])


@pytest.fixture(scope="session")
def budget_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BudgetBuild]:
    root = tmp_path_factory.mktemp("budgets")
    data_dir = DataDir(root).ensure()
    slos_path = root / "slos.yml"
    slos_path.write_text(budget_world.slos_yaml())
    con = duckdb.connect(str(data_dir.warehouse))
    try:
        create_raw_tables(con)
        insert_rows(con, "flow_runs", budget_world.FLOW_RUNS)
        insert_rows(con, "step_runs", budget_world.STEP_RUNS)
        insert_rows(con, "business_events", budget_world.BUSINESS_EVENTS)
    finally:
        con.close()
    build(data_dir, echo=None, budget_at=budget_world.AS_OF.replace(tzinfo=UTC))
    yield BudgetBuild(data_dir, slos_path)
