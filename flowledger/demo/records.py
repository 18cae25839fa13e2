"""The four record kinds the generator writes, field for field as in ``contracts/*.odcs.yaml``.

Rows travel as plain tuples in contract order (fast to build); timestamps inside rows are
integer milliseconds since the epoch (UTC) and become RFC 3339 strings or Parquet timestamps
only when written. ``tests/demo`` checks these field lists against the contracts.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class RecordKind:
    name: str  # file stem: flow_runs, step_runs, …
    schema: dict[str, type[pl.DataType] | pl.DataType]  # contract order; timestamps as Int64 ms
    timestamp_fields: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema)


_S, _I, _F, _B = pl.String, pl.Int64, pl.Float64, pl.Boolean

FLOW_RUNS = RecordKind(
    "flow_runs",
    {
        "source_system": _S,
        "tenant": _S,
        "flow_id": _S,
        "flow_name": _S,
        "flow_version": _S,
        "run_id": _S,
        "run_attempt": _I,
        "parent_run_id": _S,
        "root_run_id": _S,
        "trigger": _S,
        "status": _S,
        "raw_status": _S,
        "queued_at": _I,
        "started_at": _I,
        "ended_at": _I,
        "error_type": _S,
        "error_message": _S,
        "idempotency_key": _S,
        "input_digest": _S,
        "business_key": _S,
        "trace_id": _S,
        "url": _S,
        "execution_mode": _S,
        "outputs": _S,  # JSON object text, like a CloudEvent's data
    },
    ("queued_at", "started_at", "ended_at"),
)

STEP_RUNS = RecordKind(
    "step_runs",
    {
        "source_system": _S,
        "run_id": _S,
        "run_attempt": _I,
        "step_id": _S,
        "attempt": _I,
        "flow_id": _S,
        "step_name": _S,
        "step_type": _S,
        "parent_step_id": _S,
        "max_attempts": _I,
        "status": _S,
        "raw_status": _S,
        "started_at": _I,
        "ended_at": _I,
        "error_type": _S,
        "error_message": _S,
        "system": _S,
        "queue_name": _S,
        "message_id": _S,
        "dead_lettered": _B,
        "items_in": _I,
        "items_out": _I,
    },
    ("started_at", "ended_at"),
)

QUEUE_DEPTH_SAMPLES = RecordKind(
    "queue_depth_samples",
    {
        "source_system": _S,
        "queue_name": _S,
        "sampled_at": _I,
        "depth": _I,
        "flow_id": _S,
        "oldest_message_age_s": _F,
    },
    ("sampled_at",),
)

# `data` travels as compact JSON text; NDJSON writes it as a nested object, Parquet as text.
BUSINESS_EVENTS = RecordKind(
    "business_events",
    {
        "specversion": _S,
        "id": _S,
        "source": _S,
        "type": _S,
        "time": _I,
        "subject": _S,
        "datacontenttype": _S,
        "dataschema": _S,
        "traceparent": _S,
        "data": _S,
    },
    ("time",),
)

RECORD_KINDS: tuple[RecordKind, ...] = (FLOW_RUNS, STEP_RUNS, QUEUE_DEPTH_SAMPLES, BUSINESS_EVENTS)
