"""Event-log events as CloudEvents business events of one process (docs/processes.md).

Each event of a log becomes one business event:

* ``source`` = ``/eventlog/<process>``, ``type`` = ``flowledger.eventlog.event``, ``subject`` = case id;
* ``id`` = ``<rank, 6 digits>-<first 16 hex digits of the SHA-256 of the event's time and
  data>``, the rank counting the events of the same case at the same time so far in the file:
  the same event gets the same id from the same log re-saved (CRLF, another compression), from
  an export that has grown since (rows added anywhere), so importing it again doubles nothing;
  and events of a case with equal timestamps keep their order in the file (the models order
  ties by id). The ranks of the last :data:`RANKED_KEYS` case-and-time pairs are remembered
  (memory does not grow with the file): tied rows of one case further apart than that in a CSV
  log restart their count, which matters only for identical rows (they would be one event);
* ``time`` = the timestamp converted to UTC (offsets honoured; a timestamp without offset is UTC);
* ``data`` = ``{"case_id", "activity", "resource", "lifecycle", ...}`` plus every other attribute
  of the event, and the trace's (case's) attributes prefixed ``case_``; attribute names are made
  field names (characters other than letters, digits and _ become _).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from flowledger.processes.config import (
    EVENTLOG_ACTIVITY,
    EVENTLOG_CASE_FIELD,
    EVENTLOG_LIFECYCLE,
    EVENTLOG_RESOURCE,
    eventlog_source,
)
from ingest.readers import RECORD, ROW_NUMBER, RawBatch, RejectedRow, record_json
from ingest.scrub import may_hold_a_secret, scrub_secrets

EVENT_TYPE = "flowledger.eventlog.event"
#: how many (case, time) pairs the ranks of tied events are remembered for
RANKED_KEYS = 200_000
_NOT_FIELD = re.compile(r"[^A-Za-z0-9_]")


def field_name(attribute: str) -> str:
    """An attribute key as a data field name: 'org:group' -> 'org_group'. A secret in the key
    (a header `api_key=…`) is scrubbed first: once its `=` is a `_`, no rule would find it."""
    if may_hold_a_secret(attribute):
        attribute = scrub_secrets(attribute)
    name = _NOT_FIELD.sub("_", attribute.strip())
    return name if name and not name[0].isdigit() else f"_{name}"


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
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:  # beyond year 1–9999 in UTC: quarantined by the check, as written
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class LogEvent:
    """One event as read from a log: its case, activity, time and other attributes."""

    case_id: str | None
    activity: str | None
    timestamp: str | datetime | None
    resource: str | None = None
    lifecycle: str | None = None
    attributes: dict[str, Any] | None = None


@dataclass
class ImportNotes:
    """What a user should hear about a log's events once it is imported."""

    without_case: int = 0
    without_activity: int = 0
    without_timestamp: int = 0
    unreadable_timestamps: int = 0
    unreadable_example: str | None = None
    #: cases whose events the file lists out of time order (counted where it shows)
    cases_out_of_order: int = 0
    _previous: tuple[str | None, str | None] = field(default=(None, None), repr=False)

    def see(self, case_id: str | None, activity: str | None, time: str | None) -> None:
        self.without_case += case_id is None
        self.without_activity += activity is None
        if time is None:
            self.without_timestamp += 1
        elif not _UTC_TEXT.fullmatch(time):
            self.unreadable_timestamps += 1
            self.unreadable_example = self.unreadable_example or time
        else:
            previous_case, previous_time = self._previous
            if previous_case == case_id and previous_time is not None and time < previous_time:
                self.cases_out_of_order += 1
                self._previous = (case_id, None)  # once per case
                return
            if previous_case != case_id or previous_time is not None:
                self._previous = (case_id, time)

    def lines(self, file_format: str) -> list[str]:
        """One sentence per finding, saying what happened and what to do."""
        lines = []
        for count, what in (
            (self.without_case, "without a case id (XES: trace concept:name)"),
            (self.without_activity, "without an activity (concept:name)"),
            (self.without_timestamp, "without a timestamp (time:timestamp)"),
        ):
            if count:
                lines.append(
                    f"{count:,} events {what} were quarantined (raw.quarantine): a case needs "
                    "each; PM4Py refuses such events too (format_dataframe drops them)"
                )
        if self.unreadable_timestamps:
            hint = (
                " give their format with --timestamp-format (Python strptime codes)"
                if file_format == "csv"
                else " XES dates are xs:dateTime (2024-01-31T10:00:00.000+01:00)"
            )
            lines.append(
                f"{self.unreadable_timestamps:,} events with an unreadable timestamp (e.g. "
                f"{self.unreadable_example!r}) were quarantined;{hint}"
            )
        if self.cases_out_of_order:
            lines.append(
                f"{self.cases_out_of_order:,} cases list events out of time order in the file: "
                "each case's events are taken in time order (as PM4Py's format_dataframe sorts "
                "them; pm4py.read_xes alone keeps the file's order)"
            )
        return lines


_UTC_TEXT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


class EventBatcher:
    """Turns LogEvents into the text batches ingest's FileLanding checks and lands."""

    def __init__(
        self,
        process_name: str,
        fields: Sequence[str],
        batch_rows: int,
        *,
        records: bool = False,
    ):
        """``records``: add each event's JSON text (:data:`ingest.readers.RECORD`)."""
        self.source = eventlog_source(process_name)
        self._ranks: OrderedDict[tuple[str | None, str | None], int] = OrderedDict()
        self.fields = list(fields)
        self.batch_rows = batch_rows
        self.records = records
        self.notes = ImportNotes()

    def batches(self, events: Iterator[LogEvent]) -> Iterator[RawBatch]:
        columns: dict[str, list[str | None]] = {name: [] for name in self.fields}
        numbers: list[int] = []
        rejected: list[RejectedRow] = []
        for position, event in enumerate(events, start=1):
            record = self.record(position, event)
            missing = _missing(event)
            if missing:
                rejected.append(RejectedRow(position, missing, json.dumps(record)))
                continue
            for name in self.fields:
                columns[name].append(record.get(name))
            numbers.append(position)
            if len(numbers) >= self.batch_rows:
                yield self._batch(columns, numbers, rejected)
                columns = {name: [] for name in self.fields}
                numbers, rejected = [], []
        if numbers or rejected:
            yield self._batch(columns, numbers, rejected)

    def record(self, position: int, event: LogEvent) -> dict[str, str | None]:
        data: dict[str, Any] = {}
        taken = {EVENTLOG_CASE_FIELD, EVENTLOG_ACTIVITY, EVENTLOG_RESOURCE, EVENTLOG_LIFECYCLE}
        for key, value in (event.attributes or {}).items():
            name = field_name(key)
            # two attributes of one name as a field (cost:total, cost_total), or an attribute
            # named as a field this import sets: the later one is numbered, not lost
            if name in data or name in taken:
                name = next(f"{name}_{n}" for n in itertools.count(2) if f"{name}_{n}" not in data)
            data[name] = value
        data[EVENTLOG_CASE_FIELD] = event.case_id
        data[EVENTLOG_ACTIVITY] = event.activity
        if event.resource is not None:
            data[EVENTLOG_RESOURCE] = event.resource
        if event.lifecycle is not None:
            data[EVENTLOG_LIFECYCLE] = event.lifecycle
        if event.case_id is None or event.activity is None:
            data = {k: v for k, v in data.items() if v is not None}
        time = utc_text(event.timestamp)
        self.notes.see(event.case_id, event.activity, time)
        text = json.dumps(data, ensure_ascii=False, default=str)
        return {
            "specversion": "1.0",
            "id": f"{self._rank(event.case_id, time):06d}-{_content_digest(time, text)}",
            "source": self.source,
            "type": EVENT_TYPE,
            "time": time,
            "subject": event.case_id,
            "data": text,
        }

    def _rank(self, case_id: str | None, time: str | None) -> int:
        """1 for the first event of this case at this time, 2 for the next..."""
        key = (case_id, time)
        rank = self._ranks.pop(key, 0) + 1
        self._ranks[key] = rank
        if len(self._ranks) > RANKED_KEYS:
            self._ranks.popitem(last=False)
        return rank

    def _batch(
        self,
        columns: dict[str, list[str | None]],
        numbers: list[int],
        rejected: list[RejectedRow],
    ) -> RawBatch:
        frame = pl.DataFrame(
            {name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()}
        )
        if self.records:
            frame = frame.with_columns(record_json(frame.to_arrow()).alias(RECORD))
        frame = frame.with_columns(pl.Series(ROW_NUMBER, numbers, dtype=pl.Int64))
        return RawBatch(frame=frame, rejected=rejected)


def _content_digest(time: str | None, data: str) -> str:
    return hashlib.sha256(f"{time}\n{data}".encode()).hexdigest()[:16]


def _missing(event: LogEvent) -> str | None:
    """Why an event cannot belong to a case (quarantined then), or None."""
    if event.case_id is None:
        return f"data.{EVENTLOG_CASE_FIELD}: missing (the event has no case id)"
    if event.activity is None:
        return f"data.{EVENTLOG_ACTIVITY}: missing (the event has no activity)"
    return None
