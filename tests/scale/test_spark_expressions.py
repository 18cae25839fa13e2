"""Cross-database expressions give the same values on Spark as on DuckDB, at the edges the parity
build's data does not reach.

A local wall time becomes the same UTC instant on Spark as on DuckDB (the calendar SLO
periods of macros/error_budgets/budget_config.sql): a wall time that happens twice, the hour the
clocks go back, is its second occurrence on both. Spark's to_utc_timestamp takes the first, so
a Berlin SLO's daily periods anchored at 02:30 started an hour apart on 2026-10-25.

A double rounded for text rounds as its decimal form reads on both (DuckDB's round(0.145, 2)
was 0.14, Spark's 0.15: the budget's feasibility warning read differently).

The macros are rendered from the project's files with Jinja alone (they call nothing of dbt's)
and run by one local pyspark session and by DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import duckdb
import jinja2
import pytest

from flowledger.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

WALL_TIMES = [
    "2026-10-25 02:00:00",  # Berlin: twice (02:00 CEST, then 02:00 CET)
    "2026-10-25 02:30:00",
    "2026-10-25 02:59:59",
    "2026-10-25 03:00:00",
    "2026-10-25 01:59:59",
    "2026-11-01 01:30:00",  # New York: twice
    "2026-03-29 02:30:00",  # Berlin: never (the clocks go forward)
    "2026-03-08 02:30:00",  # New York: never
    "2026-04-05 02:30:00",  # Sydney, Lord Howe (a 30-minute change): twice
    "2026-06-01 12:00:00",
]
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "UTC"]


def _macro(path: str, name: str) -> jinja2.runtime.Macro:
    source = (PROJECT_ROOT / "macros" / path).read_text()
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    return getattr(env.from_string(source).module, name)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("set timezone = 'UTC'")
    return connection


def test_a_wall_time_is_the_same_instant_on_spark_as_on_duckdb(spark, con) -> None:
    spark_local_to_utc = _macro("error_budgets/budget_config.sql", "spark_local_to_utc")
    differing = []
    for zone in ZONES:
        for wall in WALL_TIMES:
            duck = con.execute(
                f"select strftime(timezone('{zone}', timestamp '{wall}'), '%Y-%m-%d %H:%M:%S')"
            ).fetchone()[0]
            expression = spark_local_to_utc(f"timestamp '{wall}'", f"'{zone}'")
            (row,) = spark.sql(
                f"select date_format({expression}, 'yyyy-MM-dd HH:mm:ss') as utc"
            ).collect()
            if row.utc != duck:
                differing.append((zone, wall, duck, row.utc))
    assert differing == []


@pytest.mark.parametrize(
    ("value", "digits", "rounded"),
    [("0.145", 2, 0.15), ("0.005 * 29", 2, 0.15), ("99.9", 3, 99.9), ("-0.125", 2, -0.13),
     ("14.45", 1, 14.5), ("1.0 / 3", 1, 0.3), ("2.675", 2, 2.68)],
)  # fmt: skip
def test_a_double_rounded_for_text_is_the_same_on_both(spark, con, value, digits, rounded):
    decimal_round = _macro("cross_db/decimal_round.sql", "decimal_round")
    expression = decimal_round(f"cast({value} as double)", digits)
    on_duckdb = con.execute(f"select {expression}").fetchone()[0]
    on_spark = spark.sql(f"select {expression} as rounded").collect()[0].rounded
    assert (on_duckdb, on_spark) == (rounded, rounded)
    # text too: the warning concatenates the number
    text = f"'allows ' || {expression}"
    assert (
        con.execute(f"select {text}").fetchone()[0]
        == spark.sql(f"select {text} as t").collect()[0].t
    )
