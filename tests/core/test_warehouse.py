"""The writer lock, published snapshots and read-only queries, on real DuckDB files."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import duckdb
import pytest

from flowledger import build as build_module
from flowledger import warehouse
from flowledger.query import QueryError, run_query
from flowledger.settings import DataDir
from flowledger.warehouse import (
    MARTS_COPY_RECORD,
    NothingPublished,
    WarehouseBusy,
    connect_warehouse,
    current_snapshot,
    open_published,
    open_warehouse,
    publish,
    writer_lock,
)


def _hold_lock(root: str, seconds: float, ready) -> None:
    with writer_lock(DataDir(Path(root))):
        ready.set()
        time.sleep(seconds)


def _publish_marts(data_dir: DataDir, value: int) -> Path:
    con = connect_warehouse(data_dir)
    try:
        con.execute("create or replace table marts.fct_demo as select ? as value", [value])
    finally:
        con.close()
    return publish(data_dir, {"built_at": "2026-11-28T00:00:00+00:00", "data_as_of": "x"})


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLEDGER_HOME", str(tmp_path / "from-env"))
    assert DataDir.resolve().root == tmp_path / "from-env"
    assert DataDir.resolve(tmp_path / "flag").root == tmp_path / "flag"
    monkeypatch.delenv("FLOWLEDGER_HOME")
    monkeypatch.chdir(tmp_path)
    assert DataDir.resolve().root == tmp_path / ".flowledger"


def test_second_writer_waits_for_the_first_and_says_so(tmp_path, capsys):
    data_dir = DataDir(tmp_path)
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(tmp_path), 1.0, ready))
    holder.start()
    assert ready.wait(10)
    started = time.monotonic()
    with writer_lock(data_dir, timeout_s=20):
        waited = time.monotonic() - started
    holder.join()
    assert waited > 0.3, "the second writer must wait until the first releases the lock"
    said = capsys.readouterr().err
    assert said.count("flowledger: waiting (up to 20s) for another flowledger process") == 1


def test_writer_gives_up_with_a_clear_message(tmp_path):
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(tmp_path), 3.0, ready))
    holder.start()
    assert ready.wait(10)
    with (
        pytest.raises(WarehouseBusy, match="being written by another flowledger process"),
        writer_lock(DataDir(tmp_path), timeout_s=0.2),
    ):
        pass
    holder.join()


def test_nothing_published_is_explained(tmp_path):
    with pytest.raises(NothingPublished, match="flowledger build"):
        current_snapshot(DataDir(tmp_path))
    with pytest.raises(QueryError, match="nothing is published"):
        run_query(DataDir(tmp_path), "select 1")


def test_publish_makes_an_immutable_snapshot_current(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    first = _publish_marts(data_dir, 1)
    with open_published(data_dir) as con:
        assert con.execute("select value from fct_demo").fetchall() == [(1,)]
        assert con.execute("select data_as_of from _meta").fetchall() == [("x",)]
    second = _publish_marts(data_dir, 2)
    assert first != second and first.exists(), "older snapshots stay for readers still using them"
    assert current_snapshot(data_dir) == second
    with open_published(data_dir) as con:
        assert con.execute("select value from fct_demo").fetchall() == [(2,)]


def test_marts_live_in_their_own_file_attached_as_catalog_marts(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    con = connect_warehouse(data_dir)
    try:
        con.execute("create schema raw")
        con.execute("create table raw.landed as select 1 as value")
        con.execute("create table marts.fct_demo as select value + 1 as value from raw.landed")
    finally:
        con.close()
    con = duckdb.connect(str(data_dir.marts), read_only=True)
    try:
        assert con.execute("select value from main.fct_demo").fetchall() == [(2,)]
    finally:
        con.close()
    con = connect_warehouse(data_dir, read_only=True)
    try:
        assert con.execute("select value from marts.fct_demo").fetchall() == [(2,)]
    finally:
        con.close()


def test_a_writer_drops_the_marts_schema_older_versions_built_in_the_warehouse(tmp_path):
    """Up to flowledger 0.1 the marts were schema ``marts`` of the warehouse; the first
    read-write connection drops it, so ``marts.<table>`` names the marts file only."""
    data_dir = DataDir(tmp_path).ensure()
    con = duckdb.connect(str(data_dir.warehouse))
    try:
        con.execute("create schema marts")
        con.execute("create table marts.fct_demo as select 'stale' as value")
    finally:
        con.close()
    con = connect_warehouse(data_dir, read_only=True)  # not migrated yet: the old tables
    try:
        assert con.execute("select value from marts.fct_demo").fetchall() == [("stale",)]
    finally:
        con.close()
    con = connect_warehouse(data_dir)
    try:
        schemas = con.execute(
            "select schema_name from information_schema.schemata "
            "where catalog_name = current_database()"
        ).fetchall()
        assert ("marts",) not in schemas
        with pytest.raises(duckdb.CatalogException):
            con.execute("select value from marts.fct_demo")
    finally:
        con.close()


def test_a_snapshot_is_a_self_contained_copy_of_the_marts_plus_meta(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    con = connect_warehouse(data_dir)
    try:
        con.execute("create schema raw")
        con.execute("create table raw.landed as select 1 as value")
        con.execute("create table marts.fct_one as select * from range(3) as t(id)")
        con.execute("create table marts.dim_two as select 'x' as name")
    finally:
        con.close()
    snapshot = publish(data_dir, {"built_at": "b", "data_as_of": "d"})
    con = connect_warehouse(data_dir)  # the marts change after publishing
    try:
        con.execute("insert into marts.fct_one values (9)")
    finally:
        con.close()
    data_dir.warehouse.unlink()  # and the snapshot needs no other file
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        assert tables == [("main", "_meta"), ("main", "dim_two"), ("main", "fct_one")]
        assert con.execute("select * from fct_one order by 1").fetchall() == [(0,), (1,), (2,)]
        assert con.execute("select * from _meta").fetchall() == [("b", "d")]
        assert not con.execute("select * from duckdb_views() where not internal").fetchall()
    finally:
        con.close()


def _values(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select value from fct_demo order by 1").fetchall()
    finally:
        con.close()


def _insert_into_marts(data_dir: DataDir, value: int, *, published_next: bool = False) -> None:
    con = connect_warehouse(data_dir, published_next=published_next)
    try:
        con.execute("insert into marts.fct_demo values (?)", [value])
    finally:
        con.close()


def _record(data_dir: DataDir) -> dict | None:
    path = data_dir.root / MARTS_COPY_RECORD
    return json.loads(path.read_text()) if path.exists() else None


def test_the_marts_file_becomes_the_snapshot_and_the_next_build_copies_it(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    snapshot = _publish_marts(data_dir, 1)
    # the snapshot is the file dbt built (nothing copied or synced at publish); no marts file
    # is left, so nothing can write into the snapshot until a writer copies it
    assert snapshot.stat().st_nlink == 1
    assert not data_dir.marts.exists() and _record(data_dir) is None
    # a build copies it without a sync (recorded: its publish syncs it) and writes the copy
    _insert_into_marts(data_dir, 5, published_next=True)
    assert _record(data_dir) == {"snapshot": snapshot.name, "boot": warehouse._boot_id()}
    assert data_dir.marts.stat().st_ino != snapshot.stat().st_ino
    assert _values(snapshot) == [(1,)]
    assert _values(data_dir.marts) == [(1,), (5,)]
    _insert_into_marts(data_dir, 6, published_next=True)  # the same copy, still unsynced
    assert _record(data_dir) is not None
    # its publish checkpoints (syncs) the file and moves it: the record goes
    newer = publish(data_dir, {"built_at": "b", "data_as_of": "d"})
    assert _record(data_dir) is None and not data_dir.marts.exists()
    assert _values(newer) == [(1,), (5,), (6,)] and _values(snapshot) == [(1,)]


def test_a_writer_that_does_not_publish_gets_a_synced_copy(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    snapshot = _publish_marts(data_dir, 1)
    _insert_into_marts(data_dir, 2)  # purge: its writes must outlive a crash, no publish follows
    assert _record(data_dir) is None
    assert _values(data_dir.marts) == [(1,), (2,)] and _values(snapshot) == [(1,)]


def test_a_build_that_stopped_leaves_a_copy_the_next_writer_syncs(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    _publish_marts(data_dir, 1)
    _insert_into_marts(data_dir, 2, published_next=True)  # a build that failed: no publish
    _insert_into_marts(data_dir, 3)  # purge syncs that copy before writing and forgets it
    assert _record(data_dir) is None
    assert _values(data_dir.marts) == [(1,), (2,), (3,)]


def test_ingest_leaves_the_marts_file_alone(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    _publish_marts(data_dir, 1)
    with open_warehouse(data_dir, attach_marts=False) as con:
        con.execute("create table if not exists main.landed as select 1 as one")
        assert con.execute(
            "select count(*) from duckdb_databases() where database_name = 'marts'"
        ).fetchone() == (0,)
    assert not data_dir.marts.exists()  # no 1 GB copy for a batch of events


def test_a_read_only_connection_between_builds_reads_the_snapshot_as_marts(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    _publish_marts(data_dir, 4)
    con = connect_warehouse(data_dir, read_only=True)
    try:
        assert con.execute("select value from marts.fct_demo").fetchall() == [(4,)]
    finally:
        con.close()
    assert not data_dir.marts.exists()


def test_a_dbt_run_between_builds_starts_from_the_snapshot(tmp_path):
    """dbt attaches the marts file itself (profiles.yml): run_dbt copies the snapshot first,
    or DuckDB would make an empty marts file and every incremental mart would start over."""
    data_dir = DataDir(tmp_path).ensure()
    snapshot = _publish_marts(data_dir, 5)
    with pytest.raises(build_module.BuildFailed):
        build_module.run_dbt(data_dir, ["no-such-dbt-command"], echo=None)
    assert _values(data_dir.marts) == [(5,)] and _values(snapshot) == [(5,)]


def test_a_marts_file_linked_to_a_snapshot_is_copied_before_any_write(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    _publish_marts(data_dir, 1)
    _insert_into_marts(data_dir, 2)
    # an earlier version's publish linked the marts file into published/ and could stop there
    linked = data_dir.published / "marts-20261206T000000000000Z-1.duckdb"
    os.link(data_dir.marts, linked)
    _insert_into_marts(data_dir, 7)
    assert _values(linked) == [(1,), (2,)]
    assert _values(data_dir.marts) == [(1,), (2,), (7,)]
    assert data_dir.marts.stat().st_nlink == 1 and linked.stat().st_nlink == 1


def test_a_copy_a_crash_of_the_machine_may_have_torn_is_made_again(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    snapshot = _publish_marts(data_dir, 3)
    _insert_into_marts(data_dir, 9, published_next=True)  # a build, then the machine went down:
    # its last write still in the write-ahead log, which belongs to that file, not to a new copy
    con = duckdb.connect(str(data_dir.marts))
    try:
        con.execute("pragma disable_checkpoint_on_shutdown")
        con.execute("insert into fct_demo values (10)")
    finally:
        con.close()
    wal = data_dir.marts.with_name("marts.duckdb.wal")
    assert wal.exists()
    # and the copy had not reached the disk: half of it is zeros
    size = data_dir.marts.stat().st_size
    with open(data_dir.marts, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\0" * (size - size // 2))
    record_path = data_dir.root / MARTS_COPY_RECORD
    record_path.write_text(json.dumps({**_record(data_dir), "boot": "an-earlier-boot"}))
    _insert_into_marts(data_dir, 4)
    assert not wal.exists()
    assert _values(data_dir.marts) == [(3,), (4,)]  # the unpublished 9 and 10 went with the crash
    assert _values(snapshot) == [(3,)]


def test_a_marts_file_linked_outside_published_gets_a_synced_copy(tmp_path):
    data_dir = DataDir(tmp_path / "home").ensure()
    _publish_marts(data_dir, 6)
    _insert_into_marts(data_dir, 7)  # a synced copy of the snapshot
    backup = tmp_path / "backup.duckdb"  # a hard link someone made, not a snapshot
    os.link(data_dir.marts, backup)
    _insert_into_marts(data_dir, 8, published_next=True)
    assert _values(backup) == [(6,), (7,)]
    assert _values(data_dir.marts) == [(6,), (7,), (8,)]
    assert _record(data_dir) is None  # nothing to make it again from: synced


def test_without_a_boot_id_a_build_s_copy_is_synced(tmp_path, monkeypatch):
    monkeypatch.setattr(warehouse, "_boot_id", lambda: None)
    data_dir = DataDir(tmp_path).ensure()
    snapshot = _publish_marts(data_dir, 2)
    _insert_into_marts(data_dir, 8, published_next=True)
    assert _record(data_dir) is None  # a torn copy could not be told apart after a crash
    assert _values(snapshot) == [(2,)]
    assert _values(data_dir.marts) == [(2,), (8,)]


def test_readers_never_block_on_a_writer(tmp_path):
    """A process holding the warehouse read-write does not stop readers of the snapshot."""
    data_dir = DataDir(tmp_path).ensure()
    _publish_marts(data_dir, 7)
    writer = duckdb.connect(str(data_dir.warehouse))  # as ingest or dbt would hold it
    try:
        assert run_query(data_dir, "select value from fct_demo").rows == [(7,)]
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("create table x (a int)", "read-only"),
        ("select * from read_csv('/etc/passwd')", "disabled by configuration"),
        ("attach '/tmp/other.duckdb'", "read-only"),
        ("selec 1", "syntax error"),
        ("select * from no_such_mart", "does not exist"),
        ("   ", "empty"),
    ],
)
def test_sql_is_read_only_and_errors_are_clear(tmp_path, sql, message):
    data_dir = DataDir(tmp_path).ensure()
    _publish_marts(data_dir, 1)
    with pytest.raises(QueryError, match=message):
        run_query(data_dir, sql)


def test_query_result_formats(tmp_path):
    data_dir = DataDir(tmp_path).ensure()
    _publish_marts(data_dir, 3)
    result = run_query(
        data_dir, "select value, timestamp '2026-08-01 10:00:00' as at, null as n from fct_demo"
    )
    assert result.records() == [
        {"value": 3, "at": result.rows[0][1], "n": None},
    ]
    assert '"at": "2026-08-01T10:00:00"' in result.to_json()
    table = result.to_table()
    assert table.splitlines()[0].split(" | ")[0].strip() == "value"
    assert "NULL" in table and table.endswith("(1 row)")


def test_the_table_shows_every_digit_and_maps_with_list_keys(tmp_path):
    # floats were cut to 6 digits (95082838.86299983 as 9.50828e+07), and a map keyed by lists
    # whose values DuckDB writes as text stopped the command with a traceback
    data_dir = DataDir(tmp_path).ensure()
    _publish_marts(data_dir, 3)
    result = run_query(
        data_dir,
        "select 95082838.86299983::double as total, map {[1]: interval 1 day} as m from fct_demo",
    )
    table = result.to_table()
    assert "95082838.86299983" in table and "e+07" not in table
    assert json.loads(result.to_json())[0]["m"] == {"[1]": "1 day"}
    assert "{[1]=1 day}" in table


def test_a_server_s_short_repeated_waits_are_not_announced(tmp_path, capsys):
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(tmp_path), 1.0, ready))
    holder.start()
    assert ready.wait(10)
    with writer_lock(DataDir(tmp_path), timeout_s=20, announce=False):
        pass
    holder.join()
    assert "waiting" not in capsys.readouterr().err


def test_snapshots_published_before_a_purge_go_with_the_next_publish(tmp_path: Path) -> None:
    """After a purge and a build, the snapshots published before still served the purged rows
    (a run's error message) while they were among the newest three or in the grace period."""
    data_dir = DataDir(tmp_path / "home").ensure()
    data_dir.published.mkdir(parents=True, exist_ok=True)
    now = time.time()
    names = [f"marts-2026120{n}T000000000000Z-1.duckdb" for n in range(1, 5)]
    for age, name in zip((4000, 3000, 60, 30), names, strict=True):
        path = data_dir.published / name
        path.write_bytes(b"x")
        os.utime(path, (now - age, now - age))
    warehouse._remove_old_snapshots(data_dir, keep=names[-1])
    # without a purge: the newest three stay, the oldest goes once past the grace
    assert sorted(p.name for p in data_dir.published.glob("marts-*")) == names[1:]
    warehouse.mark_purged(data_dir)
    newest = data_dir.published / "marts-20261209T000000000000Z-1.duckdb"
    newest.write_bytes(b"x")  # published after the purge
    warehouse._remove_old_snapshots(data_dir, keep=newest.name)
    assert [p.name for p in data_dir.published.glob("marts-*")] == [newest.name]


def test_a_rewrite_keeps_the_database_and_drops_the_bytes_of_deleted_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    secret = "purged-value-7f3a9c0e51"
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    con.execute("create table raw.events (id varchar primary key, data varchar)")
    con.execute("create view raw.recent as select id from raw.events")
    con.execute(
        "insert into raw.events select 'e' || i, 'kept ' || i from range(20000) as t(i) "
        f"union all select 'gone', '{secret}'"
    )
    con.execute("checkpoint")
    con.execute("delete from raw.events where id = 'gone'")
    con.execute("checkpoint")
    con.close()
    assert secret.encode() in path.read_bytes()  # DuckDB left it in a freed block

    warehouse.rewrite_database_file(path)

    assert secret.encode() not in path.read_bytes()
    assert not list(tmp_path.glob(".w.duckdb.rewrite*"))
    con = duckdb.connect(str(path))
    try:
        assert con.execute("select count(*) from raw.recent").fetchone()[0] == 20000
        with pytest.raises(duckdb.ConstraintException):  # the primary key came along
            con.execute("insert into raw.events values ('e1', 'again')")
    finally:
        con.close()
