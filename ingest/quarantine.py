"""The record text of a ``raw.quarantine`` row: what broke the contract, as the file gave it,
scrubbed of secrets and personal data, capped at 64 KiB.

A record that could be read holds every field the file gave it (a misnamed ``runid`` shows), a
key given twice with each of its values, scrubbed by the contract's rules for its fields (an
object field given as JSON text is decoded for them) and by those of event data for the others,
secrets and card numbers scrubbed in every text (:func:`record_text`). Text that is no JSON
object is kept as a JSON string, its secrets and cards scrubbed (:func:`text_record`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

import duckdb

from ingest.contracts import Contract, LogicalType
from ingest.json_values import Pairs, loads_as_written, value_as_text
from ingest.readers import Original
from ingest.scrub import Key, mask_account_numbers, scrub_free_text, scrub_secrets, scrubber_for

RAW_RECORD_MAX_BYTES = 64 * 1024


def record_text(original: Original | None, contract: Contract, key: Key) -> str | None:
    """A record as quarantine text, every field of it; ``None`` when there is no original, or
    it is not a JSON object (Python cannot decode a line polars read, say)."""
    try:
        record = loads_as_written(original) if isinstance(original, str) else original
        if not isinstance(record, dict | Pairs):
            return None
        objects = {p.name for p in contract.properties if p.logical_type is LogicalType.OBJECT}
        members = [
            (name, _decoded_if_json(value) if name in objects and isinstance(value, str) else value)
            for name, value in record.items()
        ]
        record = Pairs(members) if isinstance(record, Pairs) else dict(members)
        scrubbed = scrubber_for(contract).scrub_record(record, key)
        members = [
            (name, scrub_free_text(value) if isinstance(value, str) else value)
            for name, value in scrubbed.items()
        ]
        text = value_as_text(Pairs(members) if isinstance(scrubbed, Pairs) else dict(members))
    except (ValueError, RecursionError):
        return None
    return cap_raw_record(text or "")


def text_record(text: str) -> str:
    """Text that is no JSON object (a broken line, a CSV row), as a JSON string."""
    return cap_raw_record(json.dumps(mask_account_numbers(scrub_secrets(text))))


def fields_record(values: Mapping[str, Any], objects: Collection[str] = ()) -> str:
    """A row's contract fields (text, already scrubbed by their rules), its non-empty ones, with
    secrets and card numbers scrubbed as free text (rows of a purged period; broken rows
    without originals). The ``objects`` fields (a CloudEvent's ``data``) are written as the JSON
    objects their text holds, as a file gives them (as text, the record could not be sent again:
    `data` is no JSON object)."""
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        text = mask_account_numbers(scrub_secrets(value))
        decoded = _decoded_if_json(text) if name in objects else None
        kept[name] = decoded if isinstance(decoded, dict) else text
    return cap_raw_record(json.dumps(kept, ensure_ascii=False))


def encodable(text: str) -> str:
    """``text`` as UTF-8 can hold it: a lone surrogate (JSON's ``"\\ud800"``, which the
    decoders refuse, but a quarantined record is kept whatever it holds) as its escape text."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


def cap_raw_record(text: str, limit: int = RAW_RECORD_MAX_BYTES) -> str:
    """``text`` if it fits in ``limit`` UTF-8 bytes, else a JSON object holding a prefix of it
    (lone surrogates written as their escapes: :func:`encodable`)."""
    text = encodable(text)
    size = len(text.encode())
    if size <= limit:
        return text
    budget = limit - 200
    while True:
        prefix = text.encode()[:budget].decode(errors="ignore")
        capped = json.dumps(
            {"_truncated": True, "_original_bytes": size, "_prefix": prefix}, ensure_ascii=False
        )
        if len(capped.encode()) <= limit:
            return capped
        budget //= 2


def _decoded_if_json(text: str) -> Any:
    """JSON text decoded as written (:func:`loads_as_written`), or the text itself when it is
    not JSON."""
    try:
        return loads_as_written(text)
    except (ValueError, RecursionError):
        return text


#: how many of a file's quarantine reasons ingest prints under its table
SHOWN_REASONS = 3


def quarantine_reasons(
    con: duckdb.DuckDBPyConnection, batch_id: str, shown: int = SHOWN_REASONS
) -> tuple[list[tuple[str, int]], int]:
    """The most frequent reasons of one ingested file's quarantined rows, with their counts,
    and the number of distinct reasons."""
    # a purged period's reason names each row's own time: one reason for all of them here
    kind = (
        r"regexp_replace(reason, '^(purged period: \S+) .+? (is before the retention horizon)', "
        r"'\1 … \2')"
    )
    rows = con.execute(
        f"SELECT {kind} AS kind, count(*) AS n FROM raw.quarantine WHERE batch_id = ? "
        "GROUP BY kind ORDER BY n DESC, kind",
        [batch_id],
    ).fetchall()
    return [(str(reason), int(n)) for reason, n in rows[:shown]], len(rows)


def quarantined_rows(
    con: duckdb.DuckDBPyConnection,
    file: str | None = None,
    limit: int = 20,
    batch: str | None = None,
) -> list[dict[str, Any]]:
    """The newest quarantined rows (of the files whose path holds ``file``, of the ingest
    batch or receiver request ``batch``, when given): when, which batch, file and row, why, and
    the record as stored (scrubbed)."""
    where, parameters = _quarantine_filter(file, batch)
    cursor = con.execute(
        "SELECT quarantined_at, batch_id, source_file, row_number, record_kind, reason, "
        f"raw_record FROM raw.quarantine {where} "
        "ORDER BY quarantined_at DESC, source_file, row_number LIMIT ?",
        [*parameters, limit],
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def count_quarantined(
    con: duckdb.DuckDBPyConnection, file: str | None = None, batch: str | None = None
) -> int:
    """How many rows :func:`quarantined_rows` would list without its limit."""
    where, parameters = _quarantine_filter(file, batch)
    return con.execute(f"SELECT count(*) FROM raw.quarantine {where}", parameters).fetchone()[0]


def _quarantine_filter(file: str | None, batch: str | None) -> tuple[str, list[str]]:
    conditions, parameters = [], []
    if file:
        conditions.append("contains(source_file, ?)")
        parameters.append(file)
    if batch:
        conditions.append("batch_id = ?")
        parameters.append(batch)
    return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), parameters
