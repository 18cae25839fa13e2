"""Incremental automation marts (fct_flow_runs, fct_step_reliability_daily, fct_flow_health_hourly)
agree with a full build after late-arriving data.

The world: the known world of tests/dbt copied onto four days (2024-03-04 … 03-07). Batch A is
ingested first and built; batch B arrives late: day 1's first delivery r1 (so r2, built as a first
delivery, becomes a duplicate), the failing final attempt 3 of r2's step s2 (the execution's
outcome and dead letter move), b2's run (its steps were built under '(unknown flow)'), a queue
sample of an old hour, and a run on a new day that renames the invoice flow. One row of day 3,
which batch B does not touch, is tampered with after the first build: it must still be tampered
after the incremental build (the day was not recomputed), and every other row must equal a full
build of A + B; ``--full-refresh`` then gives exactly the full build.

The intermediate models under them (step attempts, step executions, flow runs) are incremental too:
after the incremental build they hold exactly the rows of the full build, except one row each of
day 3, tampered with in a column no mart reads, which must still be tampered (not recomputed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scale_support import (
    AUTOMATION_SELECT,
    FLOW_RUNS,
    QUEUE_DEPTH_SAMPLES,
    STEP_RUNS,
    append_rows,
    make_raw_warehouse,
    marts,
    read_warehouse,
    run_dbt,
    shifted,
    write_warehouse,
)

pytestmark = pytest.mark.slow

T_A, T_B = "2024-03-08 00:00:00", "2024-03-08 06:00:00"


def _late(row: dict[str, object]) -> bool:
    """Rows of day 1 (``-d1``) held back to batch B."""
    run = str(row.get("run_id", ""))
    if run == "r1-d1" and "step_id" not in row:
        return True
    if run == "r2-d1" and row.get("step_id") == "s2" and row.get("attempt") == 3:
        return True
    if run == "b2-d1" and "step_id" not in row:
        return True
    return row.get("sampled_at") == "2024-03-05 11:15:00"


def _batches() -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    batch_a: dict[str, list[dict]] = {"flow_runs": [], "step_runs": [], "queue_depth_samples": []}
    batch_b: dict[str, list[dict]] = {"flow_runs": [], "step_runs": [], "queue_depth_samples": []}
    sources = {
        "flow_runs": FLOW_RUNS,
        "step_runs": STEP_RUNS,
        "queue_depth_samples": QUEUE_DEPTH_SAMPLES,
    }
    for table, rows in sources.items():
        for day in range(4):
            for row in shifted(rows, day, T_A):
                if day == 1 and _late(row):
                    row["_ingested_at"] = T_B
                    batch_b[table].append(row)
                else:
                    batch_a[table].append(row)
    rename = shifted([FLOW_RUNS[0]], 4, T_B)[0]
    rename.update(run_id="rename-d4", flow_name="Invoice posting v3", idempotency_key=None)
    batch_b["flow_runs"].append(rename)
    return batch_a, batch_b


def _tamper(warehouse: Path) -> None:
    con = write_warehouse(warehouse.parent)
    try:
        con.execute(
            "update marts.fct_step_reliability_daily set attempts = -1 "
            "where day = date '2024-03-07' and step_name = 'fetch quote'"
        )
        con.execute(
            "update marts.fct_flow_health_hourly set runs = -1 "
            "where hour = timestamp '2024-03-07 12:00:00' and flow_id = 'c2f-order-intake'"
        )
        con.execute(
            "update marts.fct_flow_runs set step_attempts = -1 where run_key = 'mulesoft:r5-d3:1'"
        )
    finally:
        con.close()


INTERMEDIATES = {
    "int_step_attempts_enriched": ["step_execution_key", "attempt"],
    "int_flow_runs_enriched": ["run_key"],
}
# one execution and one run of day 3 (untouched by batch B), tampered in columns no mart reads
TAMPERED_INTERMEDIATES = {
    "int_step_attempts_enriched": (
        "step_type",
        "step_execution_key = 'mulesoft:r1-d3:1:s2' and attempt = 1",
    ),
    "int_flow_runs_enriched": ("run_identity", "run_key = 'mulesoft:r5-d3:1'"),
}


def _intermediates(warehouse: Path) -> dict[str, list[tuple]]:
    con = read_warehouse(warehouse.parent)
    try:
        return {
            model: con.execute(
                f"select * from intermediate.{model} order by {', '.join(keys)}"
            ).fetchall()
            for model, keys in INTERMEDIATES.items()
        }
    finally:
        con.close()


def _tamper_intermediates(warehouse: Path) -> None:
    con = write_warehouse(warehouse.parent)
    try:
        for model, (column, where) in TAMPERED_INTERMEDIATES.items():
            touched = con.execute(
                f"update intermediate.{model} set {column} = 'tampered' where {where}"
            ).fetchone()[0]
            assert touched >= 1, f"{model}: nothing to tamper with"
    finally:
        con.close()


TAMPERED = {
    "fct_step_reliability_daily": lambda row: (
        str(row[3]) == "2024-03-07" and row[2] == "fetch quote"
    ),
    "fct_flow_health_hourly": lambda row: (
        str(row[2]) == "2024-03-07 12:00:00" and row[0] == "c2f-order-intake"
    ),
    "fct_flow_runs": lambda row: row[0] == "mulesoft:r5-d3:1",
}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[tuple]]]:
    batch_a, batch_b = _batches()
    incremental = tmp_path_factory.mktemp("incremental")
    make_raw_warehouse(incremental, batch_a)
    run_dbt(incremental, ["build", "--select", *AUTOMATION_SELECT])
    first = marts(incremental / "warehouse.duckdb")
    intermediates_first = _intermediates(incremental / "warehouse.duckdb")
    _tamper(incremental / "warehouse.duckdb")
    _tamper_intermediates(incremental / "warehouse.duckdb")
    append_rows(incremental / "warehouse.duckdb", batch_b)
    run_dbt(incremental, ["build", "--select", *AUTOMATION_SELECT])
    after_incremental = marts(incremental / "warehouse.duckdb")
    intermediates_incremental = _intermediates(incremental / "warehouse.duckdb")
    run_dbt(incremental, ["build", "--full-refresh", "--select", *AUTOMATION_SELECT])
    after_full_refresh = marts(incremental / "warehouse.duckdb")
    intermediates_full_refresh = _intermediates(incremental / "warehouse.duckdb")

    full = tmp_path_factory.mktemp("full")
    make_raw_warehouse(full, {t: batch_a[t] + batch_b[t] for t in batch_a})
    run_dbt(full, ["build", "--select", *AUTOMATION_SELECT])
    return {
        "first": first,
        "incremental": after_incremental,
        "full_refresh": after_full_refresh,
        "full": marts(full / "warehouse.duckdb"),
        "intermediates_first": intermediates_first,
        "intermediates_incremental": intermediates_incremental,
        "intermediates_full_refresh": intermediates_full_refresh,
        "intermediates_full": _intermediates(full / "warehouse.duckdb"),
    }


def test_the_late_data_changes_the_marts(builds) -> None:
    """The scenario is not vacuous: batch B changes rows that were already built."""
    first = {row[0]: row for row in builds["first"]["fct_flow_runs"]}
    full = {row[0]: row for row in builds["full"]["fct_flow_runs"]}
    # r2 of day 1 becomes a duplicate delivery once r1 (its first delivery) arrives late
    duplicate = 25  # column index of is_duplicate_delivery
    assert first["mulesoft:r2-d1:1"][duplicate] is False
    assert full["mulesoft:r2-d1:1"][duplicate] is True
    # the late third attempt of s2 adds a step attempt (s1 + s2 x2 -> + s2 x3) and a dead letter
    assert (first["mulesoft:r2-d1:1"][21], full["mulesoft:r2-d1:1"][21]) == (3, 4)
    assert (first["mulesoft:r2-d1:1"][24], full["mulesoft:r2-d1:1"][24]) == (0, 1)
    names = {row[1] for row in builds["full"]["fct_step_reliability_daily"]}
    assert "Invoice posting v3" in names and "Invoice posting (renamed)" not in names


@pytest.mark.parametrize(
    "mart", ["fct_flow_runs", "fct_step_reliability_daily", "fct_flow_health_hourly", "dim_flows"]
)
def test_incremental_build_equals_full_build_except_the_untouched_tampered_row(
    builds, mart
) -> None:
    tampered = TAMPERED.get(mart, lambda row: False)
    incremental = builds["incremental"][mart]
    full = builds["full"][mart]
    assert len(incremental) == len(full)
    kept_tampered = [row for row in incremental if tampered(row)]
    if mart in TAMPERED:
        assert len(kept_tampered) == 1 and -1 in kept_tampered[0], (
            f"{mart}: the untouched period was recomputed (the incremental build is not incremental)"
        )
    assert [row for row in incremental if not tampered(row)] == [
        row for row in full if not tampered(row)
    ]


@pytest.mark.parametrize(
    "mart", ["fct_flow_runs", "fct_step_reliability_daily", "fct_flow_health_hourly", "dim_flows"]
)
def test_full_refresh_equals_the_full_build(builds, mart) -> None:
    assert builds["full_refresh"][mart] == builds["full"][mart]


@pytest.mark.parametrize("model", list(INTERMEDIATES))
def test_incremental_intermediates_equal_the_full_build_except_the_untouched_tampered_row(
    builds, model
) -> None:
    incremental = builds["intermediates_incremental"][model]
    full = builds["intermediates_full"][model]
    assert len(incremental) == len(full)
    tampered = [row for row in incremental if "tampered" in row]
    assert len(tampered) >= 1, f"{model}: the untouched day 3 was recomputed (not incremental)"
    # the full build's version of a tampered row differs from it in the tampered column alone
    assert [row for row in incremental if "tampered" not in row] == [
        row
        for row in full
        if not any(sum(a != b for a, b in zip(row, kept, strict=True)) == 1 for kept in tampered)
    ]


def _by_attempt(rows: list[tuple]) -> dict[str, tuple]:
    """int_step_attempts_enriched rows by `<step_execution_key>:<attempt>` (columns 0 and 6)."""
    return {f"{row[0]}:{row[6]}": row for row in rows}


def test_late_rows_reach_the_intermediates(builds) -> None:
    """Not vacuous: the late attempt 3 of r2's s2 takes the final attempt and the dead letter
    from attempt 2; b2's steps, built under '(unknown flow)', get their late run's flow."""
    flow_id, is_final, dead_lettered = 7, 21, 23  # int_step_attempts_enriched columns

    def attempts(build: str) -> dict[str, tuple]:
        return _by_attempt(builds[build]["int_step_attempts_enriched"])

    first, incremental = attempts("intermediates_first"), attempts("intermediates_incremental")
    second = "mulesoft:r2-d1:1:s2:2"
    assert (first[second][is_final], first[second][dead_lettered]) == (True, False)
    assert (incremental[second][is_final], incremental[second][dead_lettered]) == (False, True)
    assert incremental["mulesoft:r2-d1:1:s2:3"][is_final] is True
    b2 = [key for key in first if key.startswith("n8n:b2-d1:1:")]
    assert b2 and {first[key][flow_id] for key in b2} == {"(unknown flow)"}
    assert {incremental[key][flow_id] for key in b2} == {"c2f-order-intake"}


@pytest.mark.parametrize("model", list(INTERMEDIATES))
def test_full_refresh_intermediates_equal_the_full_build(builds, model) -> None:
    assert builds["intermediates_full_refresh"][model] == builds["intermediates_full"][model]


def test_every_attempt_carries_when_its_execution_last_landed(builds) -> None:
    """execution_last_ingested_at, by which the models after int_step_attempts_enriched find the
    changed executions: on every attempt, the newest ingest time of the execution's attempts and
    of its run (b2's steps landed with batch A, its run with batch B)."""
    key, ingested, run_ingested, last_landed = 0, 16, 17, 25  # int_step_attempts_enriched columns
    rows = builds["intermediates_incremental"]["int_step_attempts_enriched"]
    newest: dict[str, object] = {}
    for row in rows:
        landed = max(row[ingested], row[run_ingested] or row[ingested])
        newest[row[key]] = max(newest.get(row[key], landed), landed)
    assert all(row[last_landed] == newest[row[key]] for row in rows)
    by_attempt = {name: str(row[last_landed]) for name, row in _by_attempt(rows).items()}
    assert by_attempt["mulesoft:r2-d1:1:s2:1"] == by_attempt["mulesoft:r2-d1:1:s2:3"] == T_B
    assert {by_attempt[k] for k in by_attempt if k.startswith("n8n:b2-d1:1:")} == {T_B}
    assert by_attempt["mulesoft:r1-d3:1:s2:1"] == T_A
