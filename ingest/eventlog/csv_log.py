"""A streaming reader of event logs in CSV with a column mapping (docs/processes.md).

The mapping names the columns holding the case id, the activity and the timestamp (required),
and optionally the resource and the lifecycle transition. When a column is not named, the usual
names are tried (PM4Py's ``case:concept:name``, ``concept:name``, ``time:timestamp``,
``org:resource``, ``lifecycle:transition``, and ``case_id``, ``activity``, ``timestamp``,
``resource``, ``lifecycle``). Every other column is kept in the event's data. The file is read in
blocks (pyarrow's streaming CSV reader, every column as text): memory does not grow with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from ingest.eventlog.records import LogEvent

GUESSES: dict[str, tuple[str, ...]] = {
    "case": ("case:concept:name", "case_id", "case", "caseid", "case id"),
    "activity": ("concept:name", "activity", "activity_name", "event", "task"),
    "timestamp": ("time:timestamp", "timestamp", "time", "complete timestamp", "end_time"),
    "resource": ("org:resource", "resource", "user"),
    "lifecycle": ("lifecycle:transition", "lifecycle", "transition"),
}
REQUIRED = ("case", "activity", "timestamp")


class CsvLogError(ValueError):
    """The CSV cannot be read as an event log with the given mapping."""


@dataclass(frozen=True)
class ColumnMapping:
    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    resource: str | None = None
    lifecycle: str | None = None
    #: strptime format of the timestamps (e.g. "%d-%m-%Y %H:%M:%S"); default: ISO 8601 / RFC 3339
    timestamp_format: str | None = None

    def resolve(self, header: list[str], path: Path) -> dict[str, str | None]:
        """Role -> column, checking named columns exist and guessing the unnamed ones."""
        lowered = {name.lower(): name for name in header}
        chosen: dict[str, str | None] = {}
        for role in ("case", "activity", "timestamp", "resource", "lifecycle"):
            named = getattr(self, role)
            if named is not None:
                if named not in header:
                    raise CsvLogError(
                        f"{path}: --{role}-column {named!r} is not a column; columns: {', '.join(header)}"
                    )
                chosen[role] = named
                continue
            chosen[role] = next((lowered[g] for g in GUESSES[role] if g in lowered), None)
            if chosen[role] is None and role in REQUIRED:
                raise CsvLogError(
                    f"{path}: no {role} column found (tried {', '.join(GUESSES[role])}); name it "
                    f"with --{role}-column. Columns: {', '.join(header)}"
                )
        return chosen


def read_csv_log(
    path: Path, mapping: ColumnMapping, block_bytes: int = 8 << 20
) -> Iterator[LogEvent]:
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=block_bytes),
            convert_options=pa_csv.ConvertOptions(
                column_types=_all_text(path, block_bytes), strings_can_be_null=True
            ),
        )
    except (pa.ArrowInvalid, OSError) as error:
        raise CsvLogError(f"{path}: cannot be read as CSV ({error})") from None
    header = reader.schema.names
    roles = mapping.resolve(header, path)
    used = {column for column in roles.values() if column is not None}
    others = [name for name in header if name not in used]
    for batch in reader:
        columns = {name: batch.column(name).to_pylist() for name in header}
        for i in range(batch.num_rows):
            yield LogEvent(
                case_id=columns[roles["case"]][i],  # type: ignore[index]
                activity=columns[roles["activity"]][i],  # type: ignore[index]
                timestamp=_parse(columns[roles["timestamp"]][i], mapping.timestamp_format),  # type: ignore[index]
                resource=columns[roles["resource"]][i] if roles["resource"] else None,
                lifecycle=columns[roles["lifecycle"]][i] if roles["lifecycle"] else None,
                attributes={
                    name: columns[name][i] for name in others if columns[name][i] is not None
                },
            )


def _parse(value: str | None, timestamp_format: str | None) -> str | datetime | None:
    """The timestamp as written, or parsed with the user's strptime format (kept as written,
    hence quarantined with the reason, when it does not match)."""
    if value is None or timestamp_format is None:
        return value
    try:
        return datetime.strptime(value.strip(), timestamp_format)
    except ValueError:
        return value


def _all_text(path: Path, block_bytes: int) -> dict[str, pa.DataType]:
    try:
        header = pa_csv.open_csv(
            path, read_options=pa_csv.ReadOptions(block_size=block_bytes)
        ).schema.names
    except (pa.ArrowInvalid, OSError) as error:
        raise CsvLogError(f"{path}: cannot be read as CSV ({error})") from None
    return {name: pa.string() for name in header}
