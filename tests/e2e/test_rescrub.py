"""`flowledger rescrub`: rows stored before a field was classified (and a key an older scrubber
let through) are scrubbed as ingest would scrub them now, in the raw tables, the landing Parquet,
the quarantine and the collisions; the next build refreshes fully and no table keeps a value in
clear.

The world: order events ingested under the contracts of 0.1.0 (`shipping_address` not yet
personal data), one of them quarantined, one colliding; two flow runs, one of whose run ids holds
an AWS access key (written into the table directly: as an older version's rules would have let it
through)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flowledger.settings import DataDir
from ingest import ingest_paths
from ingest.contracts import load_contracts
from ingest.scrub import pseudonymise
from ingest.validate import canonical_json_sql

from .conftest import run_cli

pytestmark = pytest.mark.slow

KEY = "rescrub-test-key-0123456789"
ADDRESSES = {"O-1": "1 Main St, Springfield", "O-2": "22 Elm Rd, Shelbyville"}
QUARANTINED_ADDRESS = "9 Bad Ln, Ogdenville"
COLLIDING_ADDRESS = "1 Main Street, Springfield"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
CLEAR = [*ADDRESSES.values(), QUARANTINED_ADDRESS, COLLIDING_ADDRESS, AWS_KEY]


def _event(order: str, address: str, **changes: object) -> dict:
    event = {
        "specversion": "1.0", "id": f"placed-{order}", "source": "/acme/shop",
        "type": "com.acme.shop.order.placed", "time": "2026-09-01T10:00:00Z",
        "data": {"order_id": order, "amount": 10, "shipping_address": address},
    }  # fmt: skip
    return {**event, **changes}


def _run(run_id: str) -> dict:
    return {"source_system": "n8n", "flow_id": "c2f-order-intake", "flow_name": "Order intake",
            "run_id": run_id, "run_attempt": 1, "status": "success",
            "started_at": "2026-09-01T10:00:01Z", "ended_at": "2026-09-01T10:00:09Z"}  # fmt: skip


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def _contracts_before_the_classification(directory: Path) -> Path:
    from ingest.contracts import CONTRACTS_DIR

    directory.mkdir()
    for path in CONTRACTS_DIR.glob("*.odcs.yaml"):
        lines = path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if "{name: shipping_address, logicalType" not in line]
        (directory / path.name).write_text("".join(kept))
    return directory


def _stored(data_dir: DataDir) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        return {
            "events": con.execute(
                "select id, data, _payload_hash, _batch_id from raw.business_events order by id"
            ).fetchall(),
            "runs": con.execute(
                "select run_id, _payload_hash from raw.flow_runs order by run_id"
            ).fetchall(),
            "quarantine": con.execute(
                "select record_kind, reason, raw_record from raw.quarantine order by all"
            ).fetchall(),
            "collisions": con.execute(
                "select raw_record from raw.ingest_collisions order by all"
            ).fetchall(),
            "hashes_recomputed": [
                con.execute(
                    f"select count(*) from {contract.table} "
                    f"where _payload_hash is distinct from sha256({canonical_json_sql(contract)})"
                ).fetchone()[0]
                for contract in load_contracts().values()
            ],
        }
    finally:
        con.close()


def _clear_values_in(paths: list[Path]) -> dict[str, list[str]]:
    """Which of the clear values each file's tables hold, read through SQL (every text column of
    every table of a DuckDB file, every column of a Parquet file as text)."""
    found: dict[str, list[str]] = {}
    con = duckdb.connect()
    try:
        for path in paths:
            if path.suffix == ".parquet":
                text = con.execute(
                    f"select string_agg(cast(columns(*) as varchar), ' ') from read_parquet('{path}')"
                ).fetchone()
                texts = " ".join(str(value) for value in text if value is not None)
            else:
                con.execute(f"attach '{path}' as f (read_only)")
                columns = con.execute(
                    "select table_schema, table_name, column_name from information_schema.columns "
                    "where table_catalog = 'f' and data_type in ('VARCHAR', 'JSON')"
                ).fetchall()
                texts = " ".join(
                    str(
                        con.execute(
                            f'select string_agg("{column}", \' \') from f."{schema}"."{table}"'
                        ).fetchone()[0]
                    )
                    for schema, table, column in columns
                )
                con.execute("detach f")
            found[str(path)] = [value for value in CLEAR if value in texts]
    finally:
        con.close()
    return found


def _first_payload_hashes(data_dir: DataDir) -> list[tuple]:
    """Each collision's first payload hash, and the payload hash of the stored row it names."""
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        return con.execute(
            "select c.first_payload_hash, e._payload_hash from raw.ingest_collisions as c "
            "left join raw.business_events as e on e._payload_hash = c.first_payload_hash"
        ).fetchall()
    finally:
        con.close()


def _interrupted_landing_write(data_dir: DataDir, landing: Path, clear_bytes: bytes) -> dict:
    """A run cut short after its commit: its landing file still holds the clear values and is
    still listed as pending; a dry run says so, the next run writes it."""
    con = duckdb.connect(str(data_dir.warehouse))
    try:
        con.execute(
            "insert into raw.rescrub_pending_landing values (?, ?)",
            [landing.parent.name, landing.stem],
        )
    finally:
        con.close()
    landing.write_bytes(clear_bytes)
    (landing.parent / f".{landing.name}.rescrub.tmp").write_bytes(b"cut short")
    dry_run = run_cli(data_dir, "rescrub", "--dry-run").stdout
    clear_after_dry_run = _clear_values_in([landing])[str(landing)]
    run = run_cli(data_dir, "rescrub").stdout
    return {
        "dry_run": dry_run,
        "clear_after_dry_run": clear_after_dry_run,
        "run": run,
        "clear_after_run": _clear_values_in([landing])[str(landing)],
        "tmp_left": sorted(p.name for p in landing.parent.glob(".*.rescrub.tmp")),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    import ingest.pipeline

    root = tmp_path_factory.mktemp("rescrub")
    data_dir = DataDir(root / "home").ensure()
    earlier = _contracts_before_the_classification(root / "contracts-0.1.0")
    events = _write(
        root / "events.ndjson",
        [
            *(_event(order, address) for order, address in ADDRESSES.items()),
            _event("O-3", QUARANTINED_ADDRESS, time="yesterday"),
        ],
    )
    colliding = _write(root / "colliding.ndjson", [_event("O-1", COLLIDING_ADDRESS)])
    runs = _write(root / "runs.ndjson", [_run("r-1"), _run("r-2")])
    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("FLOWLEDGER_PII_KEY", KEY)
        patched.setattr(ingest.pipeline, "load_contracts", lambda: load_contracts(earlier))
        ingest_paths([events, runs], data_dir)
        ingest_paths([colliding], data_dir)
    con = duckdb.connect(str(data_dir.warehouse))
    try:  # as an older scrubber let it through: in the table and its landing file
        con.execute(f"update raw.flow_runs set run_id = 'r-2-{AWS_KEY}' where run_id = 'r-2'")
        runs_contract = next(c for c in load_contracts().values() if c.table == "raw.flow_runs")
        con.execute(
            f"update raw.flow_runs set _payload_hash = sha256({canonical_json_sql(runs_contract)})"
        )
        (batch,) = con.execute("select _batch_id from raw.flow_runs limit 1").fetchone()
        con.execute(
            f"copy (select * from raw.flow_runs where _batch_id = '{batch}') to "
            f"'{data_dir.landing / 'flow_runs' / f'{batch}.parquet'}' (format parquet)"
        )
    finally:
        con.close()
    env = {"FLOWLEDGER_PII_KEY": KEY}
    run_cli(data_dir, "build", "--quiet")
    landing = sorted(data_dir.landing.rglob("*.parquet"))
    before = _stored(data_dir)
    clear_before = _clear_values_in([data_dir.warehouse, *landing])
    with pytest.MonkeyPatch.context() as patched:
        for name, value in env.items():
            patched.setenv(name, value)
        nothing_stored = run_cli(DataDir(root / "never-ingested"), "rescrub")
        warehouse_bytes = data_dir.warehouse.read_bytes()
        dry_run = run_cli(data_dir, "rescrub", "--dry-run")
        dry_run_kept_the_file = data_dir.warehouse.read_bytes() == warehouse_bytes
        after_dry_run = _stored(data_dir)
        clear_landing_file = landing[0].read_bytes()
        rescrubbed = run_cli(data_dir, "rescrub")
        after = _stored(data_dir)
        clear_landing = _clear_values_in(sorted(data_dir.landing.rglob("*.parquet")))
        first_hashes = _first_payload_hashes(data_dir)
        warehouse_bytes = data_dir.warehouse.read_bytes()
        again = run_cli(data_dir, "rescrub")
        again_kept_the_file = data_dir.warehouse.read_bytes() == warehouse_bytes
        interrupted = _interrupted_landing_write(data_dir, landing[0], clear_landing_file)
        build = run_cli(data_dir, "build")
        steps = json.loads((data_dir.dbt_target.parent / "last_build.json").read_text())["steps"]
        snapshots = sorted(data_dir.published.glob("marts-*.duckdb"))
        clear_after_build = _clear_values_in([data_dir.warehouse, *snapshots])
        reingested = ingest_paths([events, runs, colliding], data_dir)
        next_build = run_cli(data_dir, "build")
    return {
        "data_dir": data_dir,
        "before": before,
        "clear_before": clear_before,
        "dry_run": dry_run.stdout,
        "after_dry_run": after_dry_run,
        "rescrubbed": rescrubbed.stdout,
        "after": after,
        "clear_landing": clear_landing,
        "again": again.stdout,
        "nothing_stored": nothing_stored.stdout,
        "dry_run_kept_the_file": dry_run_kept_the_file,
        "again_kept_the_file": again_kept_the_file,
        "first_hashes": first_hashes,
        "interrupted": interrupted,
        "build": build.stdout,
        "steps": steps,
        "clear_after_build": clear_after_build,
        "reingested": reingested,
        "next_build": next_build.stdout,
    }


def test_the_world_stored_values_in_clear(world) -> None:
    found = {value for values in world["clear_before"].values() for value in values}
    assert found == set(CLEAR)
    assert world["before"]["hashes_recomputed"] == [0, 0, 0, 0]


def test_a_dry_run_reports_and_changes_nothing(world) -> None:
    out = world["dry_run"]
    assert "business_events" in out and "would rewrite 2, would move 0" in out
    assert "flow_runs" in out and "would rewrite 0, would move 1 to the quarantine" in out
    assert "quarantine             would rewrite 1 records" in out
    assert "ingest_collisions      would rewrite 1 records" in out
    assert world["after_dry_run"] == world["before"]


def test_stored_values_become_what_ingest_writes_now(world) -> None:
    events = {row[0]: json.loads(row[1]) for row in world["after"]["events"]}
    for order, address in ADDRESSES.items():
        assert events[f"placed-{order}"]["shipping_address"] == pseudonymise(address, KEY.encode())
        assert events[f"placed-{order}"]["order_id"] == order  # the rest as it was
    # each rewritten row's payload hash is the one its record hashes to now
    assert world["after"]["hashes_recomputed"] == [0, 0, 0, 0]
    assert {row[2] for row in world["after"]["events"]}.isdisjoint(
        row[2] for row in world["before"]["events"]
    )


def test_a_row_whose_key_holds_a_secret_moves_to_the_quarantine(world) -> None:
    assert [run_id for run_id, _ in world["after"]["runs"]] == ["r-1"]
    moved = [row for row in world["after"]["quarantine"] if row[0] == "flow_run"]
    assert len(moved) == 1
    kind, reason, record = moved[0]
    assert "moved from flow_runs by flowledger rescrub" in reason
    assert AWS_KEY not in record and AWS_KEY not in reason
    moved_record = json.loads(record)
    assert moved_record["run_id"].startswith("r-2-[REDACTED")
    # every field the row had, not only the texts the scrubbing reads
    assert moved_record["run_attempt"] == "1"
    assert moved_record["started_at"].startswith("2026-09-01")
    assert moved_record["status"] == "success"


def test_the_quarantine_and_the_collisions_are_scrubbed_too(world) -> None:
    (quarantined,) = [row for row in world["after"]["quarantine"] if row[0] == "business_event"]
    data = json.loads(quarantined[2])["data"]
    assert data["shipping_address"] == pseudonymise(QUARANTINED_ADDRESS, KEY.encode())
    ((collision,),) = world["after"]["collisions"]
    data = json.loads(collision)["data"]
    assert data["shipping_address"] == pseudonymise(COLLIDING_ADDRESS, KEY.encode())


def test_the_landing_parquet_is_written_again(world) -> None:
    assert world["clear_landing"] and all(not found for found in world["clear_landing"].values())
    assert "wrote 2 landing Parquet files again" in world["rescrubbed"]


def test_a_second_run_changes_nothing_not_even_the_file(world) -> None:
    assert "nothing to change" in world["again"]
    assert "landing Parquet" not in world["again"]
    assert world["again_kept_the_file"]


def test_a_dry_run_leaves_the_file_as_it_was(world) -> None:
    assert world["dry_run_kept_the_file"]


def test_a_data_directory_without_a_warehouse_is_told_so(world) -> None:
    assert "nothing is stored in" in world["nothing_stored"]
    assert "scrubbed as the contracts say" not in world["nothing_stored"]


def test_a_collision_names_the_rewritten_row_s_hash(world) -> None:
    ((first, stored),) = world["first_hashes"]
    assert first == stored  # the rewritten row's new hash


def test_landing_files_an_interrupted_run_left_are_written_by_the_next(world) -> None:
    found = world["interrupted"]
    assert "1 landing Parquet files are still to be written again" in found["dry_run"]
    assert found["clear_after_dry_run"]  # a dry run writes nothing
    assert "wrote 1 landing Parquet files again" in found["run"]
    assert found["clear_after_run"] == []
    assert found["tmp_left"] == []


def test_the_next_build_refreshes_fully_and_no_file_keeps_a_clear_value(world) -> None:
    assert (
        "scrubbed again (flowledger rescrub) since the last build: --full-refresh"
        in (world["build"])
    )
    assert "rewrite" in world["steps"]
    assert "--full-refresh" not in world["next_build"]  # asked once, done once
    assert world["clear_after_build"] and all(
        not found for found in world["clear_after_build"].values()
    )


def test_the_same_files_ingested_again_are_duplicates(world) -> None:
    by_file = {result.path.name: result for result in world["reingested"].files}
    events, runs = by_file["events.ndjson"], by_file["runs.ndjson"]
    colliding = by_file["colliding.ndjson"]
    # the collision's record and hash are what ingest computes now: a repeat, not a second one
    assert (colliding.accepted, colliding.duplicates, colliding.collisions) == (0, 1, 0)
    # the quarantined event too: ingest finds its record, as it writes it now, already there
    # (the same record kind, reason and record text)
    assert (events.accepted, events.duplicates, events.collisions) == (0, 3, 0)
    assert events.quarantined == 0
    # r-2's run id is stored nowhere now: the run arrives again as a new row
    assert (runs.accepted, runs.duplicates, runs.collisions) == (1, 1, 0)
