"""Key fields given as a JSON object, array or boolean: refused on every path.

Readers hand every value over as text, so ``"run_id": {"id": "o2"}`` became the key text
``{"id": "o2"}`` and ``"step_id": true`` the key ``true``: keys that join nothing, stored
without a word. A key field of the contract (its natural key's string fields) must be a JSON
string or number; the record is quarantined otherwise, with the same reason whether it came from
a file (NDJSON, JSON array, Parquet: the value as the file types it) or through the receiver.
Other string fields keep an object as its JSON text (an ``error_message`` sent as an object is
information, not a broken record).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ingest.contracts import Contract, LogicalType, RecordKind
from ingest.json_values import Pairs, loads_as_written


def string_key_fields(contract: Contract) -> tuple[str, ...]:
    """The contract's natural-key fields of type string (business events' ``id`` and ``source``
    are CloudEvents attributes, checked as such: :mod:`ingest.cloudevents`)."""
    if contract.kind is RecordKind.BUSINESS_EVENT:
        return ()
    return tuple(
        prop.name
        for prop in contract.properties
        if prop.primary_key_position is not None and prop.logical_type is LogicalType.STRING
    )


def key_type_problem(record: Mapping[str, Any] | Pairs, fields: Sequence[str]) -> str | None:
    """The reason a decoded record's key fields are no key (``None`` when they all are)."""
    problems = []
    for name, value in record.items():
        if name not in fields:
            continue
        kind = _json_kind(value)
        if kind is not None:
            problems.append(f"{name}: a JSON {kind} is not a key (keys are strings or numbers)")
    return "; ".join(dict.fromkeys(problems)) or None


def _json_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict | Pairs):
        return "object"
    if isinstance(value, list):
        return "array"
    return None


def may_be_no_key(frame: pl.DataFrame, fields: Sequence[str]) -> list[int]:
    """Positions of the rows whose key text may stand for an object, array or boolean (the
    text a reader makes of them); their originals tell."""
    present = [name for name in fields if name in frame.columns]
    if not present or not frame.height:
        return []
    looks = [
        (pl.col(name).str.starts_with("{") & pl.col(name).str.ends_with("}"))
        | (pl.col(name).str.starts_with("[") & pl.col(name).str.ends_with("]"))
        | pl.col(name).is_in(["true", "false"])
        for name in present
    ]
    return frame.select(pl.any_horizontal(looks).fill_null(False)).to_series().arg_true().to_list()


def original_key_problem(original: str | Mapping[str, Any], fields: Sequence[str]) -> str | None:
    """:func:`key_type_problem` of a record as its file holds it (an NDJSON line, a decoded
    element, a Parquet row with its types; a CSV row's values are text: never a problem)."""
    if isinstance(original, str):
        try:
            original = loads_as_written(original)
        except (ValueError, RecursionError):
            return None
    if not isinstance(original, Mapping | Pairs):
        return None
    return key_type_problem(original, fields)
