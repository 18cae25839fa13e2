"""A flow that burned its budget and then went quiet: the ticket alert's short windows (2h, 6h)
hold no runs, so the burn is not still going on and the alert must not fire (0 / 0 is not an
error ratio above the threshold)."""

from __future__ import annotations

from datetime import UTC, timedelta

import duckdb
import pytest
from budget_world import AS_OF, H, _run
from raw_world import create_raw_tables, insert_rows

from flowledger.build import build
from flowledger.settings import DataDir

pytestmark = pytest.mark.slow

QUARTER = timedelta(minutes=15)
# 40 runs every 15 min from AS_OF − 20h to AS_OF − 10h15m, every fourth one failed (10 of 40):
# the 1d and 3d error ratios are 0.25, far above the ticket thresholds (0.03 and 0.01 for a
# 30-day 99 % SLO). Nothing ran in the last 10 hours.
RUNS = [
    _run(
        "quiet",
        f"q{i}",
        AS_OF - 20 * H + i * QUARTER,
        status="failed" if i % 4 == 3 else "success",
        error="timeout" if i % 4 == 3 else None,
    )  # fmt: skip
    for i in range(40)
]
SLOS = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: quiet-success}
spec:
  service: quiet
  indicator: {kind: runSuccess}
  timeWindow: [{duration: 30d, isRolling: true}]
  objectives: [{target: 0.99}]
"""


@pytest.fixture(scope="module")
def quiet_series(tmp_path_factory: pytest.TempPathFactory) -> dict[int, bool]:
    root = tmp_path_factory.mktemp("quiet-budget")
    data_dir = DataDir(root).ensure()
    (root / "slos.yml").write_text(SLOS)
    con = duckdb.connect(str(data_dir.warehouse))
    try:
        create_raw_tables(con)
        insert_rows(con, "flow_runs", RUNS)
    finally:
        con.close()
    build(data_dir, echo=None, budget_at=AS_OF.replace(tzinfo=UTC))
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select s, is_ticket_firing from intermediate.int_slo_series "
            "where slo_id = 'quiet-success'"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def test_no_ticket_when_the_short_windows_hold_no_runs(quiet_series: dict[int, bool]):
    # At AS_OF the 2h and 6h windows are empty: not firing.
    assert quiet_series[0] is False
    # 6 hours before AS_OF the 6h window still ends empty (last run at −10h15m): not firing.
    assert quiet_series[4] is False


def test_ticket_fires_while_the_short_window_sees_the_failures(quiet_series: dict[int, bool]):
    # At AS_OF − 12h the 2h window holds 8 runs, 2 failed (0.25 > 0.03): firing.
    assert quiet_series[12] is True
