"""Raw rows written without an ingest time (by hand, not by ``flowledger ingest``).

The incremental models pick up rows by ``_ingested_at``. When no mapped event has one, an
incremental build maps every event again; before the fix, ``int_case_events_mapped`` also read
its own rows back, so a second build with no new data held every case event twice (and so did
``fct_case_events``, the directly-follows pairs and the field changes). Such rows also make the
source's ``not_null`` test on ``_ingested_at`` warn, so the build output says why they matter.
"""

from __future__ import annotations

import pytest
from scale_support import RAW_WORLD, make_raw_warehouse, read_warehouse

from flowledger.build import build
from flowledger.settings import DataDir

pytestmark = pytest.mark.slow

CASE_TABLES = (
    "intermediate.int_case_events_mapped",
    "intermediate.int_case_field_changes",
    "marts.fct_case_events",
    "marts.fct_cases",
    "marts.fct_process_directly_follows",
)


def _rows(data_dir: DataDir) -> dict[str, list[tuple]]:
    con = read_warehouse(data_dir.root)
    try:
        return {
            table: con.execute(f"select * from {table} order by all").fetchall()
            for table in CASE_TABLES
        }
    finally:
        con.close()


def test_a_second_build_without_ingest_times_keeps_every_case_event_once(tmp_path) -> None:
    data_dir = DataDir(tmp_path / "home")
    make_raw_warehouse(data_dir.root, RAW_WORLD)  # no _ingested_at on any row
    build(data_dir, echo=None)
    first = _rows(data_dir)
    assert first["marts.fct_case_events"], "the world must have case events"

    said: list[str] = []
    build(data_dir, echo=said.append)

    assert _rows(data_dir) == first
    assert any("not_null" in line and "_ingested_at" in line for line in said)
