"""The project's generic data tests (data-tests/generic/) find exactly the rows they promise.

The test's SQL is rendered with plain Jinja (dbt's ``{% test %}`` block is a macro) and run on
DuckDB against a hand-made table, so no dbt project is built."""

from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2

from flowledger.settings import PROJECT_ROOT

GENERIC = PROJECT_ROOT / "data-tests" / "generic"


def _render(path: Path, **arguments) -> str:
    text = (
        path.read_text().replace("{% test ", "{% macro ").replace("{% endtest %}", "{% endmacro %}")
    )
    module = jinja2.Environment().from_string(text).module
    return str(getattr(module, path.stem)(**arguments))


def test_composite_primary_key_reports_null_and_repeated_keys_only() -> None:
    con = duckdb.connect()
    con.execute(
        """
        create table runs as select * from (values
            ('a', 1, 'x'), ('a', 1, 'y'), ('a', 1, 'z'),  -- key (a, 1) three times
            ('a', 2, 'x'),                                -- unique
            ('b', 1, 'x'), ('b', 1, 'y'),                 -- key (b, 1) twice
            (null, 3, 'x'),                               -- a null key column
            ('c', null, 'x'), ('c', null, 'y')            -- null key column, twice
        ) as t(source_system, run_id, payload)
        """
    )
    sql = _render(
        GENERIC / "composite_primary_key.sql", model="runs", columns=["source_system", "run_id"]
    )

    found = sorted(con.execute(sql).fetchall(), key=str)

    assert found == sorted(
        [
            ("a", 1, "repeated key", 3),
            ("b", 1, "repeated key", 2),
            (None, 3, "null key column", 1),
            ("c", None, "null key column", 1),
            ("c", None, "null key column", 1),
            ("c", None, "repeated key", 2),
        ],
        key=str,
    )


def test_composite_primary_key_passes_a_unique_key() -> None:
    con = duckdb.connect()
    con.execute(
        "create table steps as select range % 1000 as run_id, range // 1000 as attempt "
        "from range(100000)"
    )
    sql = _render(
        GENERIC / "composite_primary_key.sql", model="steps", columns=["run_id", "attempt"]
    )
    assert con.execute(sql).fetchall() == []
