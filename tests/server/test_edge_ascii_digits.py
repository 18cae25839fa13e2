"""Digits of other scripts and Unicode blanks get one verdict on both paths (review B5): the
receiver's edge checks (Python: ``int()``, ``float()``, ``\\d``, ``\\s`` and ``strip()`` take
``٣``, ``１２`` and a no-break space) stored ``run_attempt: "٣"`` as 3 where `flowledger ingest`
(DuckDB) quarantines it as no integer. Both now read numbers, booleans and timestamps as DuckDB
does, and give the same reasons."""

from __future__ import annotations

import pytest
from test_edge import BASE_RUN, BASE_SAMPLE, sql_reasons

from ingest.contracts import RecordKind, load_contracts
from ingest.server.edge import EdgeChecker

BASE_STEP = {
    "source_system": "crm",
    "run_id": "r",
    "step_id": "s",
    "step_name": "S",
    "status": "success",
    "started_at": "2025-01-01T00:00:00Z",
}
RUN_VARIANTS = [
    {"run_attempt": "٣"},  # Arabic-Indic three
    {"run_attempt": "１２"},  # fullwidth
    {"run_attempt": "৭"},  # Bengali seven
    {"run_attempt": "\u00a07"},
    {"run_attempt": "7\u2003"},
    {"run_attempt": "\v7"},
    {"run_attempt": "\f7\f"},
    {"run_attempt": " 7 "},
    {"run_attempt": " \u00a0"},
    {"run_attempt": "\t\v"},
    {"started_at": "２０２６-12-01T10:00:00Z"},
    {"started_at": "2026-12-01T1٠:00:00Z"},
    {"started_at": "2026-12-01T10:00:00.５Z"},
    {"started_at": "2026-12-01T10:00:00+0٥:00"},
    {"started_at": "\u00a02026-12-01T10:00:00Z"},
]
STEP_VARIANTS = [
    {"items_in": "１２"},
    {"items_in": "١٢"},
    {"items_in": "12"},
    {"dead_lettered": "true"},
    {"dead_lettered": " TRUE "},
    {"dead_lettered": "\ttrue"},
    {"dead_lettered": "true\n"},
    {"dead_lettered": "true\u00a0"},
    {"dead_lettered": "\u3000false"},
    {"dead_lettered": "true\u2028"},
    {"dead_lettered": "１"},
    {"dead_lettered": "٠"},
]
SAMPLE_VARIANTS = [
    {"depth": "７"},
    {"depth": "\u0967"},  # Devanagari one
    {"oldest_message_age_s": "１.５"},
    {"oldest_message_age_s": "٣"},
    {"oldest_message_age_s": "\u00a02.5"},
    {"oldest_message_age_s": "2.5\u2003"},
    {"oldest_message_age_s": "2.5\x85"},
    {"oldest_message_age_s": "\t2.5\n"},
    {"oldest_message_age_s": "2.5"},
]


@pytest.mark.parametrize(
    ("kind", "base", "variants"),
    [
        (RecordKind.FLOW_RUN, BASE_RUN, RUN_VARIANTS),
        (RecordKind.STEP_RUN, BASE_STEP, STEP_VARIANTS),
        (RecordKind.QUEUE_DEPTH_SAMPLE, BASE_SAMPLE, SAMPLE_VARIANTS),
    ],
)
def test_edge_and_sql_agree_on_other_scripts_digits_and_blanks(
    kind: RecordKind, base: dict, variants: list[dict]
) -> None:
    records = [{**base, **variant} for variant in variants]
    checker = EdgeChecker(load_contracts()[kind])
    assert [checker.check(record)[1] for record in records] == sql_reasons(kind, records)


@pytest.mark.parametrize(
    ("kind", "base", "field", "value", "problem"),
    [
        (RecordKind.FLOW_RUN, BASE_RUN, "run_attempt", "٣", "is not an integer"),
        (RecordKind.STEP_RUN, BASE_STEP, "items_in", "１２", "is not an integer"),
        (RecordKind.QUEUE_DEPTH_SAMPLE, BASE_SAMPLE, "depth", "７", "is not an integer"),
        (RecordKind.QUEUE_DEPTH_SAMPLE, BASE_SAMPLE, "oldest_message_age_s", "１.５", "number"),
        (RecordKind.STEP_RUN, BASE_STEP, "dead_lettered", "\ttrue", "is not a boolean"),
    ],
)
def test_the_receiver_refuses_what_file_ingest_quarantines(
    kind: RecordKind, base: dict, field: str, value: str, problem: str
) -> None:
    """The reviewer's values, by hand: refused with file ingest's reason, not stored typed."""
    _, reason = EdgeChecker(load_contracts()[kind]).check({**base, field: value})
    assert reason is not None and reason.startswith(f"{field}: ") and problem in reason
