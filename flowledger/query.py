"""Read-only queries against the published marts, for `flowledger sql` and scripts."""

from __future__ import annotations

import json
import math
import re
import unicodedata
import uuid
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
    """Rows as Python values, but for what Python's conversion would lose: intervals (months and
    days apart) as DuckDB writes them (``1 day 02:00:00``), infinite dates and timestamps as
    ``infinity`` / ``-infinity``, inside lists, structs and maps too. ``texts``: per row, the
    table cell DuckDB writes for a value of a nested type (``None`` for the other columns)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    texts: list[tuple[str | None, ...]] | None = None

    def records(self) -> list[dict[str, Any]]:
        """One dict per row; a repeated column name gets a suffix (``a``, ``a_1``), as in DuckDB's
        data frames, so no value is lost."""
        names = _unique_names(self.columns)
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def to_json(self) -> str:
        """The rows as a JSON array of objects (RFC 8259): NaN and infinities are ``null``,
        decimals are numbers with every digit, temporal values ISO 8601, blobs hex, map keys
        text."""
        marker = uuid.uuid4().hex  # decimals travel as marked strings, then lose the quotes
        text = json.dumps(_json_ready(self.records(), marker), indent=2, allow_nan=False)
        return re.sub(f'"{marker}([^"]*){marker}"', r"\1", text)

    def to_table(self, max_rows: int = 100) -> str:
        """The first ``max_rows`` rows as aligned text columns. A value with line breaks spans
        several lines, each but the last marked with ``+`` after it, as psql does; other control
        characters are escaped and wide characters count as two columns."""
        shown = self.rows[:max_rows]
        texts = self.texts or [(None,) * len(self.columns)] * len(self.rows)
        header = [_escape_controls(name) for name in self.columns]
        cells = [
            [
                _cell(value if text is None else text).split("\n")
                for value, text in zip(row, row_texts, strict=True)
            ]
            for row, row_texts in zip(shown, texts[:max_rows], strict=True)
        ]
        widths = [
            max(_width(text) for text in (name, *(line for cell in column for line in cell)))
            for name, *column in zip(header, *cells, strict=True)
        ]

        def line(texts: list[str], continued: list[bool]) -> str:
            columns = [
                text + " " * (w - _width(text)) + ("+" if more else " ")
                for text, w, more in zip(texts, widths, continued, strict=True)
            ]
            return "| ".join(columns).removesuffix(" ")

        lines = [line(header, [False] * len(header)), "-+-".join("-" * w for w in widths)]
        for row in cells:
            for i in range(max((len(cell) for cell in row), default=1)):
                texts = [cell[i] if i < len(cell) else "" for cell in row]
                lines.append(line(texts, [i < len(cell) - 1 for cell in row]))
        more = (
            f", {len(self.rows) - len(shown)} not shown (use --max-rows or --json)"
            if len(self.rows) > len(shown)
            else ""
        )
        lines.append(f"({len(self.rows)} row{'s' if len(self.rows) != 1 else ''}{more})")
        return "\n".join(lines)


#: The statements `flowledger sql` runs: queries (SELECT, and FROM, VALUES, DESCRIBE, SHOW and
#: SUMMARIZE, which parse as SELECT), PIVOT (several statements to DuckDB) and EXPLAIN. Anything
#: else (writes, SET, PRAGMA, CALL, transactions…) is refused before it runs, even what the
#: read-only snapshot would let through, such as a temporary table or a setting.
READ_STATEMENTS = frozenset({"SELECT", "MULTI", "EXPLAIN"})
READ_ONLY = (
    "sql is read-only: it runs one SELECT (or FROM, DESCRIBE, SHOW, SUMMARIZE, PIVOT, EXPLAIN)"
)


def run_query(data_dir: DataDir, sql: str) -> QueryResult:
    """Run ``sql``, one read statement, on the newest published snapshot (opened read-only).

    Raises :class:`QueryError` with a one-line message for anything that cannot run.
    """
    if not sql.strip():
        raise QueryError("the query is empty")
    try:
        with open_published(data_dir) as con:
            try:
                statement = _read_statement(con, sql)
                if statement.type.name in ("SELECT", "MULTI"):
                    return _select(con, statement.query)
                cursor = con.execute(statement)
                if cursor.description is None:
                    return QueryResult(columns=[], rows=[])
                columns = [column[0] for column in cursor.description]
                return QueryResult(columns=columns, rows=cursor.fetchall())
            except duckdb.CatalogException as error:
                raise QueryError(_one_line(error) + _table_hint(con, error)) from None
    except NothingPublished as error:
        raise QueryError(str(error)) from None
    except duckdb.Error as error:
        raise QueryError(_one_line(error)) from None


def _read_statement(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    statements = con.extract_statements(sql)
    if not statements:
        raise QueryError("the query is empty")
    if len(statements) > 1:
        raise QueryError(f"{READ_ONLY}, one statement at a time: this text holds {len(statements)}")
    statement = statements[0]
    try:
        kind = statement.type.name
    except ValueError:  # a type DuckDB's Python API has no name for (UPDATE EXTENSIONS)
        kind = None
    if kind not in READ_STATEMENTS:
        shown = f"{'an' if kind and kind[0] in 'AEIOU' else 'a'} {kind}" if kind else "this"
        raise QueryError(f"{READ_ONLY}, not {shown} statement")
    return statement


#: Types whose Python values lose what DuckDB writes: an interval's months and days (a
#: ``timedelta`` has days only), a date's or timestamp's infinity (``date.max``, a real date).
_TEMPORAL = frozenset(
    {"date", "timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns", "timestamp with time zone"}
)
_NESTED = frozenset({"struct", "list", "array", "map", "union"})
_INFINITIES = frozenset({"infinity", "-infinity"})


def _select(con: duckdb.DuckDBPyConnection, query: str) -> QueryResult:
    """A query (SELECT, FROM, DESCRIBE…, PIVOT): its values, and DuckDB's own text where Python's
    would differ (:class:`QueryResult`), read in the same run: each such column is selected
    again cast to that text (:func:`_text_type`; a nested column also whole, for the table)."""
    relation = con.sql(query)  # bound, not run
    types = relation.types
    casts = [_text_type(duck_type) for duck_type in types]
    nested = [duck_type.id in _NESTED for duck_type in types]
    if not any(casts) and not any(nested):
        cursor = con.execute(query)
        return QueryResult(columns=[c[0] for c in cursor.description], rows=cursor.fetchall())
    count = len(types)
    selected = [f"#{i + 1} AS {_identifier(name)}" for i, name in enumerate(relation.columns)]
    selected += [f"CAST(#{i + 1} AS {cast})" for i, cast in enumerate(casts) if cast]
    selected += [f"CAST(#{i + 1} AS VARCHAR)" for i in range(count) if nested[i]]
    body = query.rstrip().rstrip(";")
    cursor = con.execute(f"SELECT {', '.join(selected)} FROM (\n{body}\n)")
    columns = [column[0] for column in cursor.description[:count]]
    rows, texts = [], []
    for fetched in cursor.fetchall():
        extra = iter(fetched[count:])
        cast_values = [next(extra) if cast else None for cast in casts]
        texts.append(tuple(next(extra) if is_nested else None for is_nested in nested))
        rows.append(
            tuple(
                value if cast is None else _merged(duck_type, value, cast_value)
                for duck_type, value, cast, cast_value in zip(
                    types, fetched[:count], casts, cast_values, strict=True
                )
            )
        )
    return QueryResult(columns=columns, rows=rows, texts=texts)


def _text_type(duck_type: duckdb.DuckDBPyType) -> str | None:
    """The type to cast a value of ``duck_type`` to so that DuckDB writes what Python's
    conversion would lose: intervals, dates and timestamps as VARCHAR, also inside lists,
    arrays, structs and maps (a union whole); ``None`` when nothing is lost."""
    kind = duck_type.id
    if kind == "interval" or kind in _TEMPORAL:
        return "VARCHAR"
    children = duck_type.children if kind in _NESTED else []
    # an array's children: its element type and its size (an int)
    casts = [
        (name, _text_type(child), child) for name, child in children if not isinstance(child, int)
    ]
    if not any(cast for _, cast, _ in casts):
        return None
    kept = [cast or str(child) for _, cast, child in casts]
    if kind == "struct":
        fields = (
            f"{_identifier(name)} {cast}" for (name, _, _), cast in zip(casts, kept, strict=True)
        )
        return f"STRUCT({', '.join(fields)})"
    if kind == "list":
        return f"{kept[0]}[]"
    if kind == "array":
        return f"{kept[0]}[{children[1][1]}]"
    if kind == "map":
        return f"MAP({kept[0]}, {kept[1]})"
    return "VARCHAR"  # a union: its member as DuckDB writes it


def _merged(duck_type: duckdb.DuckDBPyType, value: Any, text: Any) -> Any:
    """``value`` with DuckDB's text (``text``, the value cast by :func:`_text_type`) where
    Python's conversion loses something: every interval, infinite dates and timestamps."""
    kind = duck_type.id
    if value is None or kind in ("interval", "union"):
        return text
    if kind in _TEMPORAL:
        return text if text in _INFINITIES else value
    if kind == "struct":
        return {name: _merged(child, value[name], text[name]) for name, child in duck_type.children}
    if kind in ("list", "array"):
        child = duck_type.children[0][1]
        items = [
            _merged(child, item, item_text) for item, item_text in zip(value, text, strict=True)
        ]
        return tuple(items) if isinstance(value, tuple) else items
    if kind == "map":
        key_type, value_type = (child for _, child in duck_type.children)
        if key_type.id in _UNHASHABLE:
            # DuckDB gives such a map as {"key": [keys], "value": [values]}: keyed by the keys'
            # text as DuckDB writes it ("[1]")
            return {
                str(key_text): _merged(value_type, item, item_text)
                for item, key_text, item_text in zip(
                    value["value"], text["key"], text["value"], strict=True
                )
            }
        return {
            _merged(key_type, key, key_text): _merged(value_type, item, item_text)
            for (key, item), (key_text, item_text) in zip(value.items(), text.items(), strict=True)
        }
    return value


#: Map key types Python cannot hash (DuckDB returns their maps as key and value lists).
_UNHASHABLE = ("list", "array", "struct", "map")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one_line(error: duckdb.Error) -> str:
    """DuckDB's message without the quoted query and caret lines, on one line."""
    message = str(error).split("\nLINE ", 1)[0]
    return " ".join(message.split())


def _table_hint(con: duckdb.DuckDBPyConnection, error: duckdb.CatalogException) -> str:
    if "Table with name" not in str(error):
        return ""
    tables = [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables order by table_name"
        ).fetchall()
    ]
    return f" Published tables: {', '.join(tables)}."


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return repr(value)  # every digit the double holds (the shortest text that reads back)
    text = _text(value).replace("\r\n", "\n")
    return "\n".join(_escape_controls(part) for part in text.split("\n"))


def _escape_controls(text: str) -> str:
    """``text`` with tabs, line breaks and other control characters written as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide characters two, combining marks none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _unique_names(names: list[str]) -> list[str]:
    taken: set[str] = set()
    unique = []
    for name in names:
        candidate, suffix = name, 0
        while candidate in taken:
            suffix += 1
            candidate = f"{name}_{suffix}"
        taken.add(candidate)
        unique.append(candidate)
    return unique


def _json_ready(value: Any, decimal_marker: str) -> Any:
    """``value`` as what :func:`json.dumps` writes as valid JSON (decimals marked, see to_json)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return f"{decimal_marker}{value}{decimal_marker}" if value.is_finite() else None
    if isinstance(value, dict):
        return {_text(key): _json_ready(item, decimal_marker) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item, decimal_marker) for item in value]
    return _text(value)


def _text(value: Any) -> str:
    """A value as text: temporal values ISO 8601, blobs hex, anything else ``str``."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
