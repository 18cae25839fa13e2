"""Record provenance and SLO events, built incrementally by the real CLI, agree with a full build.

The demo world (NDJSON) is split at its newest 10 % of flow-run starts, as in
test_incremental_cases.py. Besides the newer rows, the second batch brings late rows:

- a late write: a copy of the oldest order's first event, one second later, from the warehouse
  system (not allowed to write the order's fields): every later write of those fields is
  renumbered (write_sequence), and new ownership violations appear;
- a late run: the payment-capture run whose trace an old event carries, held back from the first
  batch: the old writes of that event get their writing run (fct_record_field_writes recomputes
  the record for the run alone: no newer event writes it), and the run's SLO gets its event;
- a late failed final attempt of an order-intake run that succeeded: the latency SLO's group of
  that run loses its event (the group comes out empty: the marker row path);
- two late start events of the event-pair SLO (payment captured -> order shipped): the capture of
  an order whose shipment was in the first batch (a new case that must find its end event among
  the events built before), and a second capture of another order an hour before its first one
  (the case starts earlier: its deadline moves).

Before the incremental build, one record no late row touches is tampered with in a column no
other mart reads (is_current), and must still be tampered after it (it was not recomputed); the
inputs digest of one SLO's events is tampered with too, so the build must recompute that SLO
whole (as after an edit of the SLO file), and so are the extracted start and end events of the
event-pair SLO (their definition digest and case keys), which must be extracted again whole. Every mart and the SLO events must then equal a full
build of the same files (ingest-time columns aside).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from scale_support import (
    flowledger,
    marts_without_ingest_times,
    split_newest_percent,
    table_rows,
    write_warehouse,
)

pytestmark = pytest.mark.slow

WRITES = "fct_record_field_writes"
WRITE_KEYS = "entity, record_key, field_name, event_id, event_source"
INTERMEDIATE = {
    "int_slo_events": "slo_id, event_key",
    "int_slo_pair_events": "slo_id, event_source, event_id",
}
LATE_RUN_FLOW = "c2f-payment-capture"
LATE_ATTEMPT_FLOW = "c2f-order-intake"
REBUILT_SLO = "payment-capture-success"
PAIR_SLO, PAIR_START, PAIR_END = (
    "order-shipped-48h", "com.acme.psp.payment.captured", "com.acme.wms.order.shipped"
)  # fmt: skip


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _shifted(value: str, seconds: float) -> str:
    moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _record_keys(event: dict) -> set[tuple[str, str]]:
    """The values of the event's id fields: a superset of the record keys it writes."""
    return {
        (name, value) for name, value in (event.get("data") or {}).items() if name.endswith("_id")
    }


def _late_rows(older: list[Path], newer: list[Path], out: Path) -> dict:
    """Hold the late run back from ``older`` (rewritten in place); the late files and what they
    touch. The late run's trace is carried by events of records that no ``newer`` event (nor the
    late write) writes, so only the late run changes them."""
    by_stem = {path.name.split(".")[0]: path for path in older}
    events, runs = _lines(by_stem["business_events"]), _lines(by_stem["flow_runs"])
    orders = sorted(
        (event for event in events if "order_id" in (event.get("data") or {})),
        key=lambda event: event["time"],
    )
    first = orders[0]
    late_write = {
        **first,
        "id": "late-write-of-an-old-order",
        "source": "/acme/wms",
        "time": _shifted(first["time"], 1),
        "data": {**first["data"], "channel": "late-channel"},
    }

    # the event-pair SLO's late starts: a held-back capture of a shipped order, a second capture
    shipped = {
        event["data"]["order_id"]
        for event in events
        if event["type"] == PAIR_END and event.get("data")
    }
    captures = [
        event
        for event in events
        if event["type"] == PAIR_START
        and event["data"].get("order_id") in shipped
        and event["data"]["order_id"] != first["data"]["order_id"]
    ]
    held_back, moved = captures[0], captures[1]
    assert held_back["data"]["order_id"] != moved["data"]["order_id"]
    earlier_capture = {
        **moved,
        "id": "late-earlier-capture",
        "time": _shifted(moved["time"], -3600),
    }
    _write(
        by_stem["business_events"], [event for event in events if event["id"] != held_back["id"]]
    )
    # the late run (below) must not be the run of these events: its events stay in the first batch
    pair_traces = {
        event["traceparent"].split("-")[1]
        for event in (held_back, moved)
        if event.get("traceparent")
    }

    (newer_events,) = [path for path in newer if path.name.startswith("business_events")]
    written_later = set().union(
        *map(_record_keys, [*_lines(newer_events), late_write, held_back, earlier_capture])
    )

    keys_per_trace: dict[str, set[tuple[str, str]]] = {}
    for event in events:
        if event.get("traceparent"):
            trace = event["traceparent"].split("-")[1]
            keys_per_trace.setdefault(trace, set()).update(_record_keys(event))
    late_run = next(
        run
        for run in runs
        if run["flow_id"] == LATE_RUN_FLOW
        and run["trace_id"] not in pair_traces
        and run["trace_id"] in keys_per_trace
        and not keys_per_trace[run["trace_id"]] & written_later
    )
    _write(by_stem["flow_runs"], [run for run in runs if run["trace_id"] != late_run["trace_id"]])

    succeeded = next(
        run for run in runs if run["flow_id"] == LATE_ATTEMPT_FLOW and run["status"] == "success"
    )
    failed_attempt = {
        **succeeded,
        "run_attempt": succeeded["run_attempt"] + 1,
        "status": "failed",
        "raw_status": "failed",
        "queued_at": _shifted(succeeded["ended_at"], 1),
        "started_at": _shifted(succeeded["ended_at"], 1),
        "ended_at": _shifted(succeeded["ended_at"], 2),
        "error_type": "LateFailure",
        "error_message": "the final attempt failed after the build",
    }
    return {
        "files": [
            _write(out / "business_events.late.ndjson", [late_write, held_back, earlier_capture]),
            _write(out / "flow_runs.late.ndjson", [late_run, failed_attempt]),
        ],
        "order": first["data"]["order_id"],
        "late_run_key": f"{late_run['source_system']}:{late_run['run_id']}:{late_run['run_attempt']}",
        "failed_run_id": succeeded["run_id"],
        "pair_cases": {
            "held_back": held_back["data"]["order_id"],
            "moved": (moved["data"]["order_id"], moved["time"]),
        },
    }


def _execute(home: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    con = write_warehouse(home)
    try:
        return con.execute(sql, parameters or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from flowledger.demo import generate

    work = tmp_path_factory.mktemp("incremental-provenance")
    summary = generate(work / "demo", days=14, cases_per_day=12, file_format="ndjson")
    files = [Path(path) for path in summary.files.values()]
    older, newer, _ = split_newest_percent(files, work / "split", 10.0)
    late = _late_rows(older, newer, work)
    second_batch = [*newer, *late["files"]]

    incremental = work / "home-incremental"
    flowledger(incremental, "ingest", *map(str, older))
    flowledger(incremental, "build", "--quiet")
    first = {
        name: table_rows(incremental, f"intermediate.{name}", keys)
        for name, keys in INTERMEDIATE.items()
    }
    first[WRITES] = table_rows(incremental, f"marts.{WRITES}", WRITE_KEYS)
    untouched = _execute(
        incremental,
        "select entity, record_key from marts.fct_record_field_writes where entity <> 'order' "
        "group by all order by max(occurred_at), record_key limit 1",
    )[0]
    _execute(
        incremental,
        "update marts.fct_record_field_writes set is_current = not is_current "
        "where entity = ? and record_key = ?",
        list(untouched),
    )
    _execute(
        incremental,
        "update intermediate.int_slo_events set inputs_digest = 'tampered' where slo_id = ?",
        [REBUILT_SLO],
    )
    # as if the event-pair SLO's join key had been edited: its events are extracted again whole
    _execute(
        incremental,
        "update intermediate.int_slo_pair_events set definition_digest = 'tampered', "
        "case_key = 'tampered-' || case_key where slo_id = ?",
        [PAIR_SLO],
    )
    flowledger(incremental, "ingest", *map(str, second_batch))
    flowledger(incremental, "build", "--quiet")

    full = work / "home-full"
    (full / "secrets").mkdir(parents=True)
    (full / "secrets" / "pii.key").write_bytes((incremental / "secrets" / "pii.key").read_bytes())
    flowledger(full, "ingest", *map(str, older))
    flowledger(full, "ingest", *map(str, second_batch))
    flowledger(full, "build", "--quiet")

    def intermediate(home: Path) -> dict:
        return {
            name: table_rows(home, f"intermediate.{name}", keys)
            for name, keys in INTERMEDIATE.items()
        }

    return {
        **late,
        "homes": {"incremental": incremental, "full": full},
        "first": first,
        "untouched": untouched,
        "incremental": {**marts_without_ingest_times(incremental), **intermediate(incremental)},
        "full": {**marts_without_ingest_times(full), **intermediate(full)},
    }


def _untouched_rows(rows: list[tuple], untouched: tuple) -> list[tuple]:
    return [row for row in rows if tuple(row[:2]) == tuple(untouched)]


def test_the_late_rows_change_what_they_should(builds) -> None:
    # fct_record_field_writes columns: entity, record_key, field_name, field_value,
    # write_sequence (4), is_current, event_id (6), event_source (7), ..., run_key (12)
    full_writes = builds["full"][WRITES]
    first_writes = builds["first"][WRITES]
    late = [row for row in full_writes if row[6] == "late-write-of-an-old-order"]
    assert late and {row[0:2] for row in late} == {("order", builds["order"])}
    renumbered = [
        row
        for row in full_writes
        if row[1] == builds["order"] and row[6] != "late-write-of-an-old-order" and row[4] > 1
    ]
    before = {row[6:8] + row[2:3]: row[4] for row in first_writes}
    assert any(row[4] == before.get(row[6:8] + row[2:3], 0) + 1 for row in renumbered)
    # the late run is the writing run of the old event that carries its trace
    late_run_writes = [row for row in full_writes if row[12] == builds["late_run_key"]]
    assert late_run_writes
    assert not any(row[12] == builds["late_run_key"] for row in first_writes)
    # ... of writes whose record got no new write: the incremental build must recompute the
    # record for the late run alone
    late_run_events = {row[6] for row in late_run_writes}
    first_events = {row[6] for row in first_writes}
    assert late_run_events <= first_events
    late_run_records = {row[:2] for row in late_run_writes}
    newer_writes = {row[6:8] for row in full_writes} - {row[6:8] for row in first_writes}
    assert not any(
        row[:2] in late_run_records for row in full_writes if row[6:8] in newer_writes
    ), "a newer write of the late run's record would recompute it anyway"
    # the order-intake run whose final attempt failed late has no latency event any more
    latency_keys = {
        row[1]
        for row in builds["full"]["int_slo_events"]
        if row[0].startswith("order-intake-latency")
    }
    first_latency_keys = {
        row[1]
        for row in builds["first"]["int_slo_events"]
        if row[0].startswith("order-intake-latency")
    }
    gone = {key for key in first_latency_keys - latency_keys if builds["failed_run_id"] in key}
    assert gone, "the late failed final attempt should remove the run's latency events"


def test_the_untouched_record_was_not_recomputed(builds) -> None:
    untouched = builds["untouched"]
    full = _untouched_rows(builds["full"]["fct_record_field_writes"], untouched)
    incremental = _untouched_rows(builds["incremental"]["fct_record_field_writes"], untouched)
    assert full and len(incremental) == len(full)
    # fct_record_field_writes columns: ..., write_sequence (4), is_current (5)
    assert [not row[5] for row in incremental] == [row[5] for row in full]


def test_incremental_build_equals_full_build(builds) -> None:
    untouched = builds["untouched"]
    differing = []
    for name, full_rows in builds["full"].items():
        incremental_rows = builds["incremental"][name]
        if name == "fct_record_field_writes":
            full_rows = [row for row in full_rows if tuple(row[:2]) != tuple(untouched)]
            incremental_rows = [
                row for row in incremental_rows if tuple(row[:2]) != tuple(untouched)
            ]
        if incremental_rows != full_rows:
            extra = sorted(set(incremental_rows) - set(full_rows), key=repr)[:2]
            missing = sorted(set(full_rows) - set(incremental_rows), key=repr)[:2]
            differing.append(f"{name}: unexpected e.g. {extra}; missing e.g. {missing}")
    assert differing == [], "\n".join(differing)


def test_late_starts_open_and_move_event_pair_cases(builds) -> None:
    # int_slo_events columns: slo_id, event_key, event_at (the deadline), ..., error_type (9)
    def cases(rows: list[tuple]) -> dict[str, tuple]:
        return {row[1]: row for row in rows if row[0] == PAIR_SLO}

    first, full = cases(builds["first"]["int_slo_events"]), cases(builds["full"]["int_slo_events"])
    held_back = builds["pair_cases"]["held_back"]
    assert held_back not in first
    # its end event was built in the first batch: the case is not missing its end
    assert full[held_back][9] != "missing"
    moved, _ = builds["pair_cases"]["moved"]
    assert (first[moved][2] - full[moved][2]).total_seconds() == 3600


#: Mart columns whose lineage runs through the incremental models (their SQL reads their own
#: table and rows by DuckDB's rowid on an incremental build).
TRACED = (
    "fct_cases.case_id",
    "fct_case_events.step_name",
    "fct_case_flow_runs.run_key",
    "fct_record_field_writes.field_value",
    "fct_record_field_writes.record_key",
    "dim_flows.flow_name",
    "fct_step_reliability_daily.flow_name",
    "fct_flow_runs.idempotency_key",
)


def _sources_reached(home: Path, column: str) -> set[str]:
    out = flowledger(home, "lineage", "trace", column, "--direct-only")
    reached = [line for line in out.splitlines() if line.startswith("sources reached: ")]
    assert reached, f"{column}: no sources reached\n{out}"
    return set(reached[0].removeprefix("sources reached: ").split(", "))


def test_incremental_build_keeps_column_lineage(builds) -> None:
    """After an incremental build the marts trace back to the same raw fields as after a full
    one (the incremental SQL once failed to parse: `rowid`, and the model's own table)."""
    homes = builds["homes"]
    assert "warehouse.raw.business_events.data.order_id" in _sources_reached(
        homes["incremental"], "fct_cases.case_id"
    )
    for column in TRACED:
        incremental = _sources_reached(homes["incremental"], column)
        assert any(".raw." in source for source in incremental), (column, incremental)
        assert incremental == _sources_reached(homes["full"], column), column


def test_a_columns_whole_lineage_is_the_same_after_an_incremental_build(builds) -> None:
    """The lineage of a column differed with the last build's kind: an incremental run's SQL
    filters on ingest times against a literal of that build (`> CAST('2026-12-07 12:51…'`) and
    reads row locators, so a trace after it held filters and sources a full build's did not.
    An incremental model's lineage is its last full build's SQL while its code is unchanged."""
    homes = builds["homes"]
    for column in ("dim_flows.first_run_at", "fct_cases.cycle_time_seconds", *TRACED[:3]):
        incremental = flowledger(homes["incremental"], "lineage", "trace", column)
        assert "CAST('20" not in incremental, column  # no watermark of a build
        assert incremental == flowledger(homes["full"], "lineage", "trace", column), column
