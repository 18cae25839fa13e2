"""The same dbt models on DuckDB and on Apache Spark (dbt-spark, session method, local pyspark)
hold the same rows.

The hand-made raw world of tests/dbt is loaded into DuckDB, and written as Parquet in ingest's
landing layout (``landing/<table>/*.parquet``); the dbt project is built (models, data tests,
contracts, unit tests) once on each engine; each portable mart is then compared row by row.
Spark writes its tables as Parquet below its warehouse directory, which DuckDB reads, so the
comparison needs no second JVM.

Float tolerance: doubles agree to a relative 1e-9 (absolute 1e-9 near zero); every other value
(strings, integers, booleans, dates, timestamps to the microsecond) must be equal.
"""

from __future__ import annotations

import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import RAW_WORLD, make_raw_warehouse, run_dbt

pytestmark = pytest.mark.slow

#: Marts whose whole lineage is portable SQL (docs/PERFORMANCE.md, "Spark").
PORTABLE_MARTS: dict[str, list[str]] = {
    "fct_flow_runs": ["run_key"],
    "fct_step_reliability_daily": ["flow_id", "step_name", "day"],
    "fct_flow_health_hourly": ["flow_id", "hour"],
    "dim_flows": ["flow_id"],
}
SELECT = [f"+{mart}" for mart in PORTABLE_MARTS]
FLOAT_REL_TOL = 1e-9
FLOAT_ABS_TOL = 1e-9
#: The Spark build must stay well inside CI's 90 minutes: about 3 min on 2 idle cores, 8.5 min
#: measured while other test suites loaded the same 2 cores (load average 15).
SPARK_BUILD_BUDGET_S = 900


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if shutil.which("java") is None:
        pytest.fail("java is not installed: run `bash scripts/install-spark.sh` (or `make test`)")
    data_dir = tmp_path_factory.mktemp("spark_parity")
    warehouse = make_raw_warehouse(data_dir, RAW_WORLD)
    landing = data_dir / "landing"
    con = duckdb.connect(str(warehouse))
    try:
        for table in RAW_WORLD:
            (landing / table).mkdir(parents=True)
            con.execute(
                f"copy raw.{table} to '{landing / table / 'fixture.parquet'}' (format parquet)"
            )
    finally:
        con.close()
    duck = run_dbt(data_dir, ["build", "--select", *SELECT])
    spark_dir = data_dir / "spark"
    spark = run_dbt(
        data_dir,
        ["build", "--select", *SELECT],
        target="spark",
        env={"FLOWLEDGER_SPARK_DIR": str(spark_dir), "FLOWLEDGER_LANDING": str(landing)},
    )
    print(f"dbt build: DuckDB {duck.seconds:.1f}s, Spark {spark.seconds:.1f}s")
    return {
        "warehouse": warehouse,
        "spark_marts": spark_dir / "warehouse" / "marts.db",
        "duck": duck,
        "spark": spark,
    }


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


@pytest.mark.parametrize("mart", list(PORTABLE_MARTS))
def test_mart_holds_the_same_rows_on_spark(built: dict[str, object], mart: str) -> None:
    keys = PORTABLE_MARTS[mart]
    spark_files = Path(built["spark_marts"]) / mart
    assert list(spark_files.glob("*.parquet")), (
        f"Spark wrote no Parquet for {mart} in {spark_files}"
    )
    con = duckdb.connect(str(built["warehouse"]), read_only=True)
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


def test_spark_ran_the_contracts_and_unit_tests(built: dict[str, object]) -> None:
    log = built["spark"].log
    assert "Completed successfully" in log
    # 5 unit tests of the automation models and every mart's contract ran on Spark too.
    assert "5 unit tests" in log, log[-3000:]
    assert built["spark"].seconds < SPARK_BUILD_BUDGET_S
