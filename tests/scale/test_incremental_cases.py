"""The whole project, built incrementally by the real CLI, agrees with a full build on every mart.

A small demo world (NDJSON) is split at its newest 10 % of flow-run starts (the benchmark's split,
bench/__main__.py). One data directory ingests the older rows and runs ``flowledger build``, then
ingests the newer rows plus a late event for the oldest case (a copy of one of its events, new id,
an old time: the case gains a repeated step and every later event is renumbered) and builds again,
incrementally; a second data directory ingests the same files and builds once. Every table of the
marts schema must hold the same rows, except the ingest-time columns (wall-clock times of each
directory's own ingest) and one case the late rows do not touch, which was tampered with before
the incremental build and must still be tampered after it (proof the case was not recomputed; the
tampered columns feed no other mart). Both directories pseudonymise with the same PII key.
``flowledger build --full-refresh`` then gives exactly the full build.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scale_support import (
    flowledger,
    marts_without_ingest_times,
    read_warehouse,
    split_newest_percent,
    table_rows,
    write_warehouse,
)

pytestmark = pytest.mark.slow

TAMPERED_MARTS = {"fct_cases", "fct_case_events"}
# fct_cases columns: case_key, process_name, case_id, started_at, ended_at, cycle_time_seconds,
# event_count, distinct_steps, is_complete, has_rework, repeated_steps, last_event_at,
# last_step_name, last_event_source, ...
EVENT_COUNT, LAST_EVENT_SOURCE = 6, 13
# intermediate case models the marts are computed from, compared too (without ingest times)
INTERMEDIATES = {"intermediate.int_case_step_occurrences": "case_key, step_name"}


def _late_event(home: Path, older_events: Path, out: Path) -> tuple[Path, str]:
    """A copy, under a new id, of the second event of the oldest case built in ``home``: the case
    gains a repeated step at an old time, and its later events are renumbered."""
    con = read_warehouse(home)
    try:
        case_id, event_id, source = con.execute(
            "select case_id, event_id, event_source from marts.fct_case_events "
            "where event_sequence = 2 order by occurred_at, case_key limit 1"
        ).fetchone()
    finally:
        con.close()
    original = next(
        event
        for line in older_events.open()
        if (event := json.loads(line))["id"] == event_id and event["source"] == source
    )
    path = out / "business_events.late.ndjson"
    path.write_text(json.dumps({**original, "id": "late-event-for-an-old-case"}) + "\n")
    return path, str(case_id)


@pytest.fixture(scope="session")
def demo_split(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from flowledger.demo import generate

    work = tmp_path_factory.mktemp("incremental-cases")
    summary = generate(work / "demo", days=14, cases_per_day=12, file_format="ndjson")
    files = [Path(path) for path in summary.files.values()]
    older, newer, _ = split_newest_percent(files, work / "split", 10.0)
    return {"work": work, "older": older, "newer": newer}


def _untouched_case(home: Path, late_case_id: str) -> str:
    """The oldest case whose events all came with the older rows."""
    con = read_warehouse(home)
    try:
        return con.execute(
            "select case_key from marts.fct_cases where case_id <> ? "
            "order by last_event_at, case_key limit 1",
            [late_case_id],
        ).fetchone()[0]
    finally:
        con.close()


def _tamper(home: Path, case_key: str) -> None:
    con = write_warehouse(home)
    try:
        con.execute(
            "update marts.fct_cases set last_event_source = 'tampered' where case_key = ?",
            [case_key],
        )
        con.execute(
            "update marts.fct_case_events set step_name = 'tampered' where case_key = ?",
            [case_key],
        )
    finally:
        con.close()


def _intermediates(home: Path) -> dict[str, list[tuple]]:
    return {
        relation: table_rows(home, relation, order_by)
        for relation, order_by in INTERMEDIATES.items()
    }


@pytest.fixture(scope="session")
def case_builds(demo_split: dict) -> dict:
    work = demo_split["work"]
    incremental = work / "home-incremental"
    flowledger(incremental, "ingest", *map(str, demo_split["older"]))
    flowledger(incremental, "build", "--quiet")
    first = marts_without_ingest_times(incremental)
    first_intermediates = _intermediates(incremental)
    older_events = next(p for p in demo_split["older"] if p.name.startswith("business_events"))
    late, late_case_id = _late_event(incremental, older_events, work)
    newer = [*demo_split["newer"], late]
    untouched = _untouched_case(incremental, late_case_id)
    _tamper(incremental, untouched)
    flowledger(incremental, "ingest", *map(str, newer))
    flowledger(incremental, "build", "--quiet")
    after_incremental = marts_without_ingest_times(incremental)
    incremental_intermediates = _intermediates(incremental)
    flowledger(incremental, "build", "--quiet", "--full-refresh")
    after_full_refresh = marts_without_ingest_times(incremental)

    full = work / "home-full"
    (full / "secrets").mkdir(parents=True)
    shutil.copy(incremental / "secrets" / "pii.key", full / "secrets" / "pii.key")
    flowledger(full, "ingest", *map(str, demo_split["older"]))
    flowledger(full, "ingest", *map(str, newer))
    flowledger(full, "build", "--quiet")
    return {
        "first": first,
        "incremental": after_incremental,
        "full_refresh": after_full_refresh,
        "full": marts_without_ingest_times(full),
        "first_intermediates": first_intermediates,
        "incremental_intermediates": incremental_intermediates,
        "full_intermediates": _intermediates(full),
        "untouched": untouched,
        "late_case_id": late_case_id,
    }


def test_the_late_event_changes_an_old_case(case_builds) -> None:
    def event_count(build: str) -> int:
        rows = [r for r in case_builds[build]["fct_cases"] if r[2] == case_builds["late_case_id"]]
        assert len(rows) == 1
        return rows[0][EVENT_COUNT]

    assert event_count("full") == event_count("first") + 1
    assert event_count("incremental") == event_count("full")


def test_the_late_event_repeats_a_step_of_the_old_case(case_builds) -> None:
    def occurrences(build: str) -> dict[str, int]:
        rows = case_builds[build]["intermediate.int_case_step_occurrences"]
        return {r[2]: r[3] for r in rows if r[0].endswith(":" + case_builds["late_case_id"])}

    first, full = occurrences("first_intermediates"), occurrences("full_intermediates")
    assert sum(full.values()) == sum(first.values()) + 1
    assert [step for step in full if full[step] != first.get(step)] != []
    assert occurrences("incremental_intermediates") == full


@pytest.mark.parametrize("relation", list(INTERMEDIATES))
def test_incremental_build_equals_full_build_on_the_case_intermediates(
    case_builds, relation
) -> None:
    assert (
        case_builds["incremental_intermediates"][relation]
        == (case_builds["full_intermediates"][relation])
    )


def test_the_incremental_build_left_the_untouched_case_alone(case_builds) -> None:
    untouched = case_builds["untouched"]
    cases = [r for r in case_builds["incremental"]["fct_cases"] if r[0] == untouched]
    events = [r for r in case_builds["incremental"]["fct_case_events"] if r[0] == untouched]
    assert [r[LAST_EVENT_SOURCE] for r in cases] == ["tampered"], "the case was recomputed"
    assert events and {r[8] for r in events} == {"tampered"}


def _difference(mart: str, got: list[tuple], expected: list[tuple]) -> str:
    extra, missing = set(got) - set(expected), set(expected) - set(got)
    return (
        f"{mart}: {len(got)} rows, expected {len(expected)}; "
        f"unexpected e.g. {sorted(extra, key=repr)[:2]}; missing e.g. {sorted(missing, key=repr)[:2]}"
    )


def _without_tampered(rows: list[tuple], untouched: str) -> list[tuple]:
    return [row for row in rows if row[0] != untouched]


def test_every_mart_is_compared(case_builds) -> None:
    assert set(case_builds["incremental"]) == set(case_builds["full"])
    assert {"fct_cases", "fct_case_events", "fct_flow_runs", "fct_process_daily"} <= set(
        case_builds["full"]
    )


def test_incremental_build_equals_full_build_on_every_mart(case_builds) -> None:
    untouched = case_builds["untouched"]
    differing = []
    for mart, full_rows in case_builds["full"].items():
        incremental_rows = case_builds["incremental"][mart]
        if mart in TAMPERED_MARTS:
            incremental_rows = _without_tampered(incremental_rows, untouched)
            full_rows = _without_tampered(full_rows, untouched)
        if incremental_rows != full_rows:
            differing.append(_difference(mart, incremental_rows, full_rows))
    assert differing == [], "\n".join(differing)


def test_full_refresh_equals_the_full_build_on_every_mart(case_builds) -> None:
    differing = [
        _difference(mart, case_builds["full_refresh"][mart], rows)
        for mart, rows in case_builds["full"].items()
        if case_builds["full_refresh"][mart] != rows
    ]
    assert differing == [], "\n".join(differing)
