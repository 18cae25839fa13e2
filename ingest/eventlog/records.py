"""Event-log events as CloudEvents business events of one process (docs/processes.md).

Each event of a log becomes one business event:

* ``source`` = ``/eventlog/<process>``, ``type`` = ``flowledger.eventlog.event``, ``subject`` = case id;
* ``id`` = ``<first 16 hex digits of the file's SHA-256>-<position of the event in the file, 12
  digits>``: importing the same file again yields the same ids (duplicates, nothing doubles), and
  events with equal timestamps keep their order in the file (the models order ties by id);
* ``time`` = the timestamp converted to UTC (offsets honoured; a timestamp without offset is UTC);
* ``data`` = ``{"case_id", "activity", "resource", "lifecycle", ...}`` plus every other attribute
  of the event, and the trace's (case's) attributes prefixed ``case_``; attribute names are made
  field names (characters other than letters, digits and _ become _).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from flowledger.processes.config import (
    EVENTLOG_ACTIVITY,
    EVENTLOG_CASE_FIELD,
    EVENTLOG_LIFECYCLE,
    EVENTLOG_RESOURCE,
    eventlog_source,
)
from ingest.readers import ROW_NUMBER, RawBatch

EVENT_TYPE = "flowledger.eventlog.event"
_NOT_FIELD = re.compile(r"[^A-Za-z0-9_]")


def field_name(attribute: str) -> str:
    """An attribute key as a data field name: 'org:group' -> 'org_group'."""
    name = _NOT_FIELD.sub("_", attribute.strip())
    return name if name and not name[0].isdigit() else f"_{name}"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def utc_text(value: str | datetime | None) -> str | None:
    """The timestamp in UTC as RFC 3339 text, or None when it cannot be read (quarantined then)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        except ValueError:
            return value  # left as written: the contract check quarantines it with the reason
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LogEvent:
    """One event as read from a log: its case, activity, time and other attributes."""

    case_id: str | None
    activity: str | None
    timestamp: str | datetime | None
    resource: str | None = None
    lifecycle: str | None = None
    attributes: dict[str, Any] | None = None


class EventBatcher:
    """Turns LogEvents into the text batches ingest's FileLanding checks and lands."""

    def __init__(self, process_name: str, digest: str, fields: Sequence[str], batch_rows: int):
        self.source = eventlog_source(process_name)
        self.digest = digest
        self.fields = list(fields)
        self.batch_rows = batch_rows

    def batches(self, events: Iterator[LogEvent]) -> Iterator[RawBatch]:
        columns: dict[str, list[str | None]] = {name: [] for name in self.fields}
        numbers: list[int] = []
        for position, event in enumerate(events, start=1):
            record = self.record(position, event)
            for name in self.fields:
                columns[name].append(record.get(name))
            numbers.append(position)
            if len(numbers) >= self.batch_rows:
                yield self._batch(columns, numbers)
                columns = {name: [] for name in self.fields}
                numbers = []
        if numbers:
            yield self._batch(columns, numbers)

    def record(self, position: int, event: LogEvent) -> dict[str, str | None]:
        data: dict[str, Any] = {}
        for key, value in (event.attributes or {}).items():
            data[field_name(key)] = value
        data[EVENTLOG_CASE_FIELD] = event.case_id
        data[EVENTLOG_ACTIVITY] = event.activity
        if event.resource is not None:
            data[EVENTLOG_RESOURCE] = event.resource
        if event.lifecycle is not None:
            data[EVENTLOG_LIFECYCLE] = event.lifecycle
        if event.case_id is None or event.activity is None:
            data = {k: v for k, v in data.items() if v is not None}
        return {
            "specversion": "1.0",
            "id": f"{self.digest}-{position:012d}",
            "source": self.source,
            "type": EVENT_TYPE,
            "time": utc_text(event.timestamp),
            "subject": event.case_id,
            "data": json.dumps(data, ensure_ascii=False, default=str),
        }

    def _batch(self, columns: dict[str, list[str | None]], numbers: list[int]) -> RawBatch:
        frame = pl.DataFrame(
            {name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()}
        ).with_columns(pl.Series(ROW_NUMBER, numbers, dtype=pl.Int64))
        return RawBatch(frame=frame)
