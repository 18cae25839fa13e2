"""The project's generic data tests (data-tests/generic/) find exactly the rows they promise.

The test's SQL is rendered with plain Jinja (dbt's ``{% test %}`` block is a macro) and run on
DuckDB against a hand-made table, so no dbt project is built."""

from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2

from flowledger.settings import PROJECT_ROOT

GENERIC = PROJECT_ROOT / "data-tests" / "generic"


MACROS = PROJECT_ROOT / "macros"


def _render(path: Path, keys_valid_through: str | None = None, **arguments) -> str:
    """The test's SQL when it runs on DuckDB, with FLOWLEDGER_KEYS_VALID_THROUGH set or not."""
    environment = jinja2.Environment(extensions=["jinja2.ext.do"])
    environment.globals.update(
        env_var=lambda name, default=None: (
            (keys_valid_through or "") if name == "FLOWLEDGER_KEYS_VALID_THROUGH" else default
        ),
        execute=True,
        target=type("Target", (), {"type": "duckdb"}),
    )
    scope = environment.from_string((MACROS / "keys_written_since.sql").read_text()).module
    environment.globals["keys_written_since"] = scope.keys_written_since
    text = (
        path.read_text().replace("{% test ", "{% macro ").replace("{% endtest %}", "{% endmacro %}")
    )
    module = environment.from_string(text).module
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


def _field_writes(con: duckdb.DuckDBPyConnection) -> None:
    """Writes of (record, field, event); the build after 10:00 wrote record r1 again, whole."""
    con.execute(
        """
        create table writes as select * from (values
            ('r1', 'status', 'e1', timestamp '2026-11-01 09:00:00'),  -- old row of a rewritten record
            ('r1', 'status', 'e1', timestamp '2026-11-01 09:00:00'),  -- its repeat, also rewritten
            ('r1', 'amount', 'e9', timestamp '2026-11-01 11:00:00'),  -- the new event of r1
            ('r2', 'status', 'e2', timestamp '2026-11-01 11:00:00'),  -- new, repeats an old key:
            ('r2', 'status', 'e2', timestamp '2026-11-01 08:00:00'),  --   both are reported
            ('r3', 'status', 'e3', timestamp '2026-11-01 08:00:00'),  -- old, not written: passed
            ('r3', 'status', 'e3', timestamp '2026-11-01 08:00:00'),  --   the last build's test
            ('r4', 'status', null, cast(null as timestamp))           -- unknown ingest time
        ) as t(record_key, field_name, event_id, last_ingested_at)
        """
    )


def test_the_limited_key_test_reads_the_groups_written_since_the_time() -> None:
    con = duckdb.connect()
    _field_writes(con)
    arguments = {
        "model": "writes",
        "columns": ["record_key", "field_name", "event_id"],
        "ingested_column": "last_ingested_at",
        "recomputed_by": ["record_key"],
    }
    limited = _render(GENERIC / "composite_primary_key.sql", "2026-11-01 10:00:00", **arguments)
    whole = _render(GENERIC / "composite_primary_key.sql", **arguments)

    found = sorted(con.execute(limited).fetchall(), key=str)

    assert found == sorted(
        [
            ("r1", "status", "e1", "repeated key", 2),  # no new stamp, but its record is rewritten
            ("r2", "status", "e2", "repeated key", 2),  # a new row repeating an old row's key
            ("r4", "status", None, "null key column", 1),  # NULL ingest time: checked
        ],
        key=str,
    )
    # without the time, every row is read: r3's pair too
    assert ("r3", "status", "e3", "repeated key", 2) in con.execute(whole).fetchall()
    assert "written_key_groups" not in whole
