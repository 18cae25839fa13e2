"""SnapshotReader: one connection per published snapshot, reused by every query, closed once a
newer snapshot is current and its last cursor is done."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest
from dashboard_snapshot import MART_DDL, MART_ROWS, build_published_snapshot

from dashboards.snapshot import SnapshotReader
from flowledger.settings import DataDir
from flowledger.warehouse import NothingPublished

NEWER = {
    "built_at": "2026-10-30T08:00:00Z",
    "data_as_of": "2026-10-30T07:00:00Z",
    "flowledger_version": "0.1.0",
    "dbt_version": "1.11.0",
}


def _as_of(reader: SnapshotReader, data_dir: DataDir) -> str:
    with reader.cursor(data_dir) as con:
        return con.execute("select data_as_of from _meta").fetchone()[0]


def test_every_query_reuses_the_one_connection_of_the_snapshot(published_home: Path) -> None:
    data_dir, reader = DataDir(published_home), SnapshotReader()
    with reader.cursor(data_dir) as first, reader.cursor(data_dir) as second:
        assert first is not second  # a cursor each: safe across threads
        assert first.execute("select count(*) from fct_cases").fetchone()[0] > 0
        assert second.execute("select count(*) from fct_cases").fetchone()[0] > 0
    current = (data_dir.published / "CURRENT").read_text().strip()
    assert reader.open_paths() == [data_dir.published / current]


def test_a_new_snapshot_is_read_and_the_old_connection_closed(published_home: Path) -> None:
    data_dir, reader = DataDir(published_home), SnapshotReader()
    old = data_dir.published / (data_dir.published / "CURRENT").read_text().strip()
    assert _as_of(reader, data_dir) == "2026-10-29T12:00:00Z"
    newer = build_published_snapshot(published_home, NEWER)
    assert _as_of(reader, data_dir) == "2026-10-30T07:00:00Z"
    assert reader.open_paths() == [newer]
    # The old snapshot is no longer held open: a writer can take it (DuckDB locks per process).
    duckdb.connect(str(old)).close()


def test_a_retired_snapshot_closes_only_after_its_last_cursor(published_home: Path) -> None:
    data_dir, reader = DataDir(published_home), SnapshotReader()
    with reader.cursor(data_dir) as busy:
        build_published_snapshot(published_home, NEWER)
        assert _as_of(reader, data_dir) == "2026-10-30T07:00:00Z"
        # Still usable although a newer snapshot replaced it.
        assert busy.execute("select data_as_of from _meta").fetchone()[0] == "2026-10-29T12:00:00Z"
    with pytest.raises(duckdb.ConnectionException):
        busy.execute("select 1")


def test_threads_share_the_connection(published_home: Path) -> None:
    data_dir, reader = DataDir(published_home), SnapshotReader()
    counts: list[int] = []

    def count_cases() -> None:
        for _ in range(20):
            with reader.cursor(data_dir) as con:
                counts.append(con.execute("select count(*) from fct_cases").fetchone()[0])

    threads = [threading.Thread(target=count_cases) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counts) == 80 and len(set(counts)) == 1
    assert len(reader.open_paths()) == 1


def test_close_releases_every_snapshot(published_home: Path) -> None:
    data_dir, reader = DataDir(published_home), SnapshotReader()
    assert _as_of(reader, data_dir)
    reader.close()
    assert reader.open_paths() == []
    assert _as_of(reader, data_dir)  # reopens on the next query


def test_nothing_published_and_a_vanished_snapshot_are_errors(empty_home: Path) -> None:
    data_dir, reader = DataDir(empty_home).ensure(), SnapshotReader()
    with pytest.raises(NothingPublished), reader.cursor(data_dir):
        pass
    (data_dir.published / "CURRENT").write_text("marts-gone.duckdb\n")
    with pytest.raises(duckdb.IOException), reader.cursor(data_dir):
        pass
    assert reader.open_paths() == []


def test_the_snapshot_holds_the_marts_and_meta(published_home: Path) -> None:
    """A snapshot is the marts file plus ``_meta``: the hand-made marts, row for row."""
    data_dir, reader = DataDir(published_home), SnapshotReader()
    with reader.cursor(data_dir) as con:
        tables = {
            row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()
        }
        cases = con.execute("select count(*) from fct_cases").fetchone()[0]
    assert tables == {*MART_DDL, "_meta"}
    assert cases == len(MART_ROWS["fct_cases"]())
