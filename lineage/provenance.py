"""Record provenance from the published marts: the write history of one field of one record,
and the ownership violations (``fct_record_field_writes``, ``fct_ownership_violations``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import duckdb

from flowledger.settings import DataDir
from flowledger.warehouse import NothingPublished, open_published
from lineage.ownership import declared_entities

WRITES = "fct_record_field_writes"
VIOLATIONS = "fct_ownership_violations"

T = TypeVar("T")


class ProvenanceError(RuntimeError):
    """The question cannot be answered; the message says why and what to do."""


def tied_with_current(writes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of one field's ``writes``, the others at the current write's very time with another value:
    who last wrote the field has no single answer then (the current one is the write whose event
    id, then source, sorts last, an order the sources did not mean). The one rule for
    who-wrote and the provenance page."""
    current = next((w for w in writes if w["is_current"]), None)
    if current is None:
        return []
    return [
        w
        for w in writes
        if w is not current
        and w["occurred_at"] == current["occurred_at"]
        and w["field_value"] != current["field_value"]
    ]


@dataclass
class FieldHistory:
    entity: str
    record_key: str
    field_name: str
    writes: list[dict[str, Any]]  # by write_sequence

    @property
    def current(self) -> dict[str, Any] | None:
        return next((w for w in self.writes if w["is_current"]), None)

    @property
    def violations(self) -> list[dict[str, Any]]:
        return [w for w in self.writes if w["is_ownership_violation"]]

    @property
    def tied_with_current(self) -> list[dict[str, Any]]:
        """The other writes at the current write's very time with another value."""
        return tied_with_current(self.writes)

    def to_dict(self) -> dict[str, Any]:
        current = self.current
        return {
            "entity": self.entity,
            "record_key": self.record_key,
            "field": self.field_name,
            "current_value": current["field_value"] if current else None,
            "last_written_by": _writer(current) if current else None,
            "tied_with": [_writer(w) | {"value": w["field_value"]} for w in self.tied_with_current],
            "system_of_record": self.writes[0]["system_of_record"] if self.writes else None,
            "ownership_violations": len(self.violations),
            "writes": [{k: _plain(v) for k, v in w.items()} for w in self.writes],
        }


def _writer(write: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": write["event_source"],
        "event_id": write["event_id"],
        "event_type": write["event_type"],
        "flow_id": write["flow_id"],
        "run_key": write["run_key"],
        "at": _plain(write["occurred_at"]),
    }


def _plain(value: Any) -> Any:
    """A time as ISO 8601 UTC with its Z (the marts hold UTC without a zone)."""
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    return value


# --- queries on an open connection to the published marts (the dashboard's kept connection) ---


def query_field_writes(
    con: duckdb.DuckDBPyConnection, entity: str, key: str, field_name: str
) -> list[dict[str, Any]]:
    """Every write of one field of one record, by write_sequence."""
    return _rows(
        con,
        f"select * from {WRITES} where entity = ? and record_key = ? and field_name = ? "
        "order by write_sequence",
        [entity, key, field_name],
    )


def query_record_fields(
    con: duckdb.DuckDBPyConnection, entity: str, key: str
) -> list[dict[str, Any]]:
    """Every write of every tracked field of one record, by field then sequence."""
    return _rows(
        con,
        f"select * from {WRITES} where entity = ? and record_key = ? "
        "order by field_name, write_sequence",
        [entity, key],
    )


def query_entities(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The entities with a tracked field written."""
    return [r["entity"] for r in _rows(con, f"select distinct entity from {WRITES} order by 1", [])]


def query_ownership_violations(
    con: duckdb.DuckDBPyConnection, limit: int = 1000
) -> list[dict[str, Any]]:
    """The newest ``limit`` writes by a system that does not own the field."""
    return _rows(con, f"select * from {VIOLATIONS} order by occurred_at desc limit ?", [limit])


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    try:
        cursor = con.execute(sql, params)
    except duckdb.CatalogException:
        raise ProvenanceError(
            f"the published marts have no {WRITES}: run `flowledger build` with this version"
        ) from None
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- the same, each on its own connection to the newest published snapshot (CLI, export) --------


def _published(data_dir: DataDir, query: Callable[..., T], *args: Any) -> T:
    try:
        with open_published(data_dir) as con:
            return query(con, *args)
    except NothingPublished as error:
        raise ProvenanceError(str(error)) from None


def field_history(data_dir: DataDir, entity: str, key: str, field_name: str) -> FieldHistory:
    declared = declared_entities(data_dir.root)
    return _published(data_dir, _field_history, entity, key, field_name, declared)


def _field_history(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    key: str,
    field_name: str,
    declared: list[str],
) -> FieldHistory:
    writes = query_field_writes(con, entity, key, field_name)
    if writes:
        return FieldHistory(entity, key, field_name, writes)
    entities = query_entities(con)
    if entity not in entities:
        written = f"entities with writes: {', '.join(entities) or 'none'}"
        if entity in declared:
            raise ProvenanceError(
                f"no {entity} has a tracked field written in the published data ({written}): "
                f"no built event of the {entity} event types carries its key field"
            )
        raise ProvenanceError(
            f"no entity {entity!r}: declared entities are {', '.join(declared) or 'none'} "
            "(in contracts/business_event.odcs.yaml, fieldOwnership, and in "
            f"<data dir>/field_ownership.yml); {written}"
        )
    fields = sorted({w["field_name"] for w in query_record_fields(con, entity, key)})
    if not fields:
        raise ProvenanceError(f"no {entity} with key {key!r} has any tracked field written")
    raise ProvenanceError(
        f"{entity} {key} has no writes of {field_name!r}; its written fields are {', '.join(fields)}"
    )


def record_fields(data_dir: DataDir, entity: str, key: str) -> list[dict[str, Any]]:
    """Every write of every tracked field of one record, by field then sequence."""
    return _published(data_dir, query_record_fields, entity, key)


def ownership_violations(data_dir: DataDir, limit: int = 1000) -> list[dict[str, Any]]:
    return _published(data_dir, query_ownership_violations, limit)


def render_history(history: FieldHistory) -> str:
    data = history.to_dict()
    lines = [
        f"{history.entity} {history.record_key} · {history.field_name}",
        f"current value: {data['current_value']!r}",
    ]
    last = data["last_written_by"]
    if last:
        via = f" via flow {last['flow_id']} run {last['run_key']}" if last["flow_id"] else ""
        lines.append(
            f"last written by: {last['source']} at {last['at']}{via} (event {last['event_id']})"
        )
    if tied := history.tied_with_current:
        others = ", ".join(f"{w['field_value']!r} by {w['event_source']}" for w in tied)
        lines.append(
            f"TIE: also written at that very time: {others}; the current value is the one "
            "whose event id sorts last, not a later write"
        )
    lines.append(f"system of record: {data['system_of_record']}")
    lines.append(f"ownership violations: {data['ownership_violations']}")
    lines.append("")
    lines.append(
        "#  at                           value                          source        flow / run"
    )
    for write in history.writes:
        flag = "  ← VIOLATION (not the system of record)" if write["is_ownership_violation"] else ""
        run = _run_label(write)
        lines.append(
            f"{write['write_sequence']:<2} {_plain(write['occurred_at'])!s:<28} "
            f"{str(write['field_value'])[:30]:<30} {write['event_source']:<13} {run}{flag}"
        )
        lines.append(f"   event {write['event_id']} ({write['event_type']})")
    return "\n".join(lines)


def _run_label(write: dict[str, Any]) -> str:
    """The flow and run a write is credited to; without one, whether its event named a trace
    no ingested run carries (a run log missing, or late) or none at all (the system itself)."""
    if write["flow_id"]:
        return f"{write['flow_id']} / {write['run_key']}"
    if write.get("trace_id"):
        return f"(trace {write['trace_id']}: no run of it ingested)"
    return "(sent by the system)"
