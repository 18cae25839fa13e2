"""Read-only queries against the published marts, for `flowledger sql` and scripts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import duckdb

from flowledger.settings import DataDir
from flowledger.warehouse import NothingPublished, open_published


class QueryError(RuntimeError):
    """The query could not run; the message says why."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_json(self) -> str:
        return json.dumps(self.records(), default=_json_value, indent=2)

    def to_table(self, max_rows: int = 100) -> str:
        shown = self.rows[:max_rows]
        cells = [[_cell(value) for value in row] for row in shown]
        widths = [
            max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(self.columns)
        ]
        lines = [
            " | ".join(name.ljust(w) for name, w in zip(self.columns, widths, strict=True)),
            "-+-".join("-" * w for w in widths),
        ]
        lines += [
            " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in cells
        ]
        more = (
            f", {len(self.rows) - len(shown)} not shown (use --max-rows or --json)"
            if len(self.rows) > len(shown)
            else ""
        )
        lines.append(f"({len(self.rows)} row{'s' if len(self.rows) != 1 else ''}{more})")
        return "\n".join(lines)


def run_query(data_dir: DataDir, sql: str) -> QueryResult:
    """Run ``sql`` on the newest published snapshot, which is opened read-only."""
    if not sql.strip():
        raise QueryError("the query is empty")
    try:
        with open_published(data_dir) as con:
            cursor = con.execute(sql)
            if cursor.description is None:
                return QueryResult(columns=[], rows=[])
            columns = [column[0] for column in cursor.description]
            return QueryResult(columns=columns, rows=cursor.fetchall())
    except NothingPublished as error:
        raise QueryError(str(error)) from None
    except duckdb.Error as error:
        raise QueryError(f"{type(error).__name__}: {error}") from None


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
