"""The same dbt models on DuckDB and on Apache Spark (dbt-spark, session method, local pyspark)
hold the same rows, for every mart: automation, processes, error budgets, provenance, dashboards.

One world (spark_parity_support.py): a small demo generated and ingested with the real CLI, so
ingest itself lands the Parquet Spark reads (``landing/<table>/<batch>.parquet``). The whole dbt
project is built (models, data tests, contracts, unit tests) once on each engine, one dbt
invocation each, with the vars `flowledger build` passes; every mart is then compared row by
row, ordered by the primary key its YAML tests. Spark writes its tables as Parquet below its
warehouse directory, which DuckDB reads, so the comparison needs no second JVM.

Float tolerance: doubles agree to a relative 1e-9 (absolute 1e-9 near zero); every other value
(strings, integers, booleans, dates, timestamps to the microsecond) must be equal.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import duckdb
import pytest
from scale_support import read_warehouse, run_dbt
from spark_parity_support import (
    HOSTILE_KEY_OUTPUTS,
    MARTS,
    SPARK_SCHEMA_PREFIX,
    ParityBuilds,
    build_on_both_engines,
)

# A hang guard, not a speed check: the two builds take ~10 min on 2 loaded cores (the JVM runs
# one Spark job per model and test), above the suite's default 900 s per test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

FLOAT_REL_TOL = 1e-9
FLOAT_ABS_TOL = 1e-9


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> ParityBuilds:
    return build_on_both_engines(tmp_path_factory.mktemp("spark_parity"))


def _rows(con: duckdb.DuckDBPyConnection, relation: str, keys: list[str]):
    cursor = con.execute(f"select * from {relation} order by {', '.join(keys)}")
    return [column[0] for column in cursor.description], cursor.fetchall()


def _utc_naive(value: object) -> object:
    """Spark writes timestamps as instants (UTC-adjusted Parquet); DuckDB's are UTC wall times."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _same(a: object, b: object) -> bool:
    a, b = _utc_naive(a), _utc_naive(b)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)
    return a == b


def test_every_mart_of_the_project_is_compared() -> None:
    """A new mart joins the comparison by itself (MARTS is read from models/marts/)."""
    assert {"fct_flow_runs", "fct_cases", "fct_error_budgets", "fct_record_field_writes"} <= set(
        MARTS
    )
    assert len(MARTS) >= 27


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_mart_holds_the_same_rows_on_spark(builds: ParityBuilds, mart: str) -> None:
    keys = MARTS[mart]
    spark_files = builds.spark_marts / mart
    assert list(spark_files.glob("*.parquet")), (
        f"Spark wrote no Parquet for {mart} in {spark_files}"
    )
    con = read_warehouse(builds.warehouse.parent)
    try:
        duck_columns, duck_rows = _rows(con, f"marts.{mart}", keys)
        spark_columns, spark_rows = _rows(con, f"read_parquet('{spark_files}/*.parquet')", keys)
    finally:
        con.close()
    assert spark_columns == duck_columns
    assert len(duck_rows) > 0, f"the fixture gives {mart} no rows: the comparison would be empty"
    assert len(spark_rows) == len(duck_rows)
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        differing = [
            (name, d, s)
            for name, d, s in zip(duck_columns, duck_row, spark_row, strict=True)
            if not _same(d, s)
        ]
        assert not differing, (
            f"{mart} {dict(zip(duck_columns, duck_row, strict=True))}: {differing}"
        )


def test_numbers_of_the_field_changes_read_the_same_on_both(builds: ParityBuilds) -> None:
    """The fixture's corrections of an amount reach fct_case_events in DuckDB's form, so the row
    comparison of fct_case_events and fct_record_field_writes above is what checks that Spark
    writes them the same (12345678.5, not Java's 1.23456785E7): without these rows it could not
    fail on the Spark number text."""
    con = read_warehouse(builds.warehouse.parent)
    try:
        (changes,) = con.execute(
            "select string_agg(field_changes, ' ') from marts.fct_case_events "
            "where case_key = 'cart_to_fulfillment:O-00000001' and event_id like 'numbers-%'"
        ).fetchone()
    finally:
        con.close()
    # (ingest writes the whole amounts 1e21 and 1.5e20 as integers: the same text on both)
    for text in ("12345678.5", "1.5e-7", "0.0001", "1000000000000000000000"):
        assert f'"to":"{text}"' in changes, (text, changes)


def test_output_fields_are_read_by_name_whatever_the_name(builds: ParityBuilds) -> None:
    """The fixture's hostile-key pair reaches the marts on DuckDB with every field compared and
    only `a.b` differing, so the row comparison of the parallel-run marts above is what checks
    Spark reads those names too (a JSON path read them as operators: NULL, a mismatch)."""
    con = read_warehouse(builds.warehouse.parent)
    try:
        fields = con.execute(
            "select field_name, keys_differing from marts.fct_parallel_run_fields "
            "where flow_id = 'hostile-keys' order by field_name"
        ).fetchall()
        comparison = con.execute(
            "select fields_compared, fields_differing, differing_fields "
            "from marts.fct_parallel_run_comparison where flow_id = 'hostile-keys'"
        ).fetchall()
    finally:
        con.close()
    assert fields == sorted((name, int(name == "a.b")) for name in HOSTILE_KEY_OUTPUTS)
    assert comparison == [(len(HOSTILE_KEY_OUTPUTS), 1, "a.b")]


def test_spark_built_every_model_and_ran_the_tests(builds: ParityBuilds) -> None:
    log = builds.spark.log
    assert "Completed successfully" in log
    # every model, and the unit tests of the project, ran on Spark too
    assert f"{builds.model_count} models" in log, log[-3000:]
    assert "unit tests" in log, log[-3000:]


def test_the_tolerance_is_not_vacuous() -> None:
    assert _same(0.1 + 0.2, 0.3)
    assert not _same(1.0, 1.0 + 1e-6)
    assert not _same("1.0", 1.0)
    assert _same(datetime(2024, 3, 4, 9, tzinfo=UTC), datetime(2024, 3, 4, 9))


def test_spark_writes_only_to_the_databases_of_its_prefix(builds: ParityBuilds) -> None:
    # var schema_prefix: flowledger shares a cluster with databases named raw, staging, marts
    databases = {path.name for path in builds.spark_warehouse.glob("*.db")}
    assert databases == {
        f"{SPARK_SCHEMA_PREFIX}{name}.db" for name in ("raw", "staging", "intermediate", "marts")
    }


def test_a_schema_prefix_spark_cannot_name_a_database_with_is_refused(tmp_path) -> None:
    with pytest.raises(AssertionError, match="is not a Spark database name prefix"):
        run_dbt(tmp_path, ["parse", "--vars", '{"schema_prefix": "fl-"}'], target="spark")
