"""A local wall time becomes the same UTC instant on Spark as on DuckDB (the calendar SLO
periods of macros/error_budgets/budget_config.sql): a wall time that happens twice, the hour the
clocks go back, is its second occurrence on both. Spark's to_utc_timestamp takes the first, so
a Berlin SLO's daily periods anchored at 02:30 started an hour apart on 2026-10-25.

The macro is rendered from the project's file with Jinja alone (it calls nothing of dbt's) and
run by a local pyspark session; DuckDB's timezone() is the reference."""

from __future__ import annotations

import jinja2
import pytest

from flowledger.settings import PROJECT_ROOT

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


def _macro() -> jinja2.runtime.Macro:
    source = (PROJECT_ROOT / "macros" / "error_budgets" / "budget_config.sql").read_text()
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    return env.from_string(source).module.spark_local_to_utc


def test_a_wall_time_is_the_same_instant_on_spark_as_on_duckdb() -> None:
    import duckdb
    from pyspark.sql import SparkSession

    spark_local_to_utc = _macro()
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
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
    finally:
        spark.stop()
