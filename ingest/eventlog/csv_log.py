"""A streaming reader of event logs in CSV with a column mapping (docs/processes.md).

The mapping names the columns holding the case id, the activity and the timestamp (required),
and optionally the resource and the lifecycle transition. When a column is not named, the usual
names are tried (PM4Py's ``case:concept:name``, ``concept:name``, ``time:timestamp``,
``org:resource``, ``lifecycle:transition``, and ``case_id``, ``activity``, ``timestamp``,
``resource``, ``lifecycle``). Every other column is kept in the event's data. The file is read in
blocks (pyarrow's streaming CSV reader, every column as text): memory does not grow with it.

What tools export is read without options: the separator (``,`` ``;`` tab ``|``) is detected from
the first lines, a UTF-8 byte-order mark, a Windows (cp1252) encoding and a ``.gz`` compression
are handled, repeated column
names get pandas' suffixes (``x``, ``x.1``), and timestamps not in ISO 8601 are read in the
usual export formats (``16.01.2017 13:29``, ``2017/01/16 13:29:00``, ``1/16/2017 1:29 PM``) when
the first block tells day-first from month-first; otherwise the error names --timestamp-format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from ingest.csv_dialect import CsvDialect, sniff_dialect
from ingest.eventlog.records import LogEvent

GUESSES: dict[str, tuple[str, ...]] = {
    "case": ("case:concept:name", "case id", "case", "caseid"),
    "activity": ("concept:name", "activity", "activity name", "event", "task"),
    # the completion time, as PM4Py takes it (a start column stays data)
    "timestamp": (
        "time:timestamp",
        "timestamp",
        "time",
        "complete timestamp",
        "end timestamp",
        "end time",
        "end",
    ),
    "resource": ("org:resource", "resource", "user"),
    "lifecycle": ("lifecycle:transition", "lifecycle", "transition"),
}
REQUIRED = ("case", "activity", "timestamp")
#: timestamps of the first block looked at to choose their format
FORMAT_SAMPLE = 1000
#: date orders of the usual exports; each a family of strptime formats (time and offset optional)
DATE_ORDERS: dict[str, tuple[str, ...]] = {
    "year-first": ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"),
    "day-first": ("%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y"),
    "month-first": ("%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y"),
}
TIMES = (
    "",
    " %H:%M",
    " %H:%M:%S",
    " %H:%M:%S.%f",
    "T%H:%M",
    "T%H:%M:%S",
    "T%H:%M:%S.%f",
    " %I:%M %p",
    " %I:%M:%S %p",
)
#: an offset, or UTC named (BigQuery and Postgres exports: `2017-01-16 13:29:00 UTC`)
OFFSETS = ("", "%z", " %z", " UTC", " GMT")


class CsvLogError(ValueError):
    """The CSV cannot be read as an event log with the given mapping."""


@dataclass(frozen=True)
class ColumnMapping:
    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    resource: str | None = None
    lifecycle: str | None = None
    #: strptime format of the timestamps (e.g. "%d-%m-%Y %H:%M:%S"); default: ISO 8601 / RFC 3339,
    #: else inferred from the first block (timestamp_formats)
    timestamp_format: str | None = None

    def resolve(self, header: list[str], path: Path) -> dict[str, str | None]:
        """Role -> column, checking named columns exist and guessing the unnamed ones."""
        lowered = {_loose(name): name for name in reversed(header)}
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


def _loose(name: str) -> str:
    """A column name as guesses compare it: case, "_", "-" and spaces aside ("Case_ID" = "case id")."""
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


def read_csv_log(
    path: Path, mapping: ColumnMapping, block_bytes: int = 8 << 20
) -> Iterator[LogEvent]:
    try:
        dialect = sniff_dialect(path)
    except ValueError as error:
        raise CsvLogError(str(error)) from None
    header = unique_names(_header(path, dialect, block_bytes))
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(
                block_size=block_bytes,
                column_names=header,
                skip_rows=1,
                encoding=dialect.encoding,
            ),
            parse_options=pa_csv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=True
            ),
        )
    except (pa.ArrowInvalid, OSError) as error:
        raise CsvLogError(f"{path}: cannot be read as CSV ({error})") from None
    roles = mapping.resolve(header, path)
    used = {column for column in roles.values() if column is not None}
    others = [name for name in header if name not in used]
    formats: tuple[str, ...] | None = (
        (mapping.timestamp_format,) if mapping.timestamp_format else None
    )
    first = True
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            hint = (
                "; the file is not UTF-8 past its first block: save it as UTF-8 "
                "(e.g. iconv -f cp1252 -t utf-8)"
                if "UTF8" in str(error)
                else ""
            )
            raise CsvLogError(f"{path}: cannot be read as CSV ({error}){hint}") from None
        columns = {name: batch.column(i).to_pylist() for i, name in enumerate(header)}
        times = columns[roles["timestamp"]]  # type: ignore[index]
        if first and formats is None:
            formats = timestamp_formats(times, path, roles["timestamp"])  # type: ignore[arg-type]
        first = False
        for i in range(batch.num_rows):
            yield LogEvent(
                case_id=columns[roles["case"]][i],  # type: ignore[index]
                activity=columns[roles["activity"]][i],  # type: ignore[index]
                timestamp=_parse(times[i], formats),
                resource=columns[roles["resource"]][i] if roles["resource"] else None,
                lifecycle=columns[roles["lifecycle"]][i] if roles["lifecycle"] else None,
                attributes={
                    name: columns[name][i] for name in others if columns[name][i] is not None
                },
            )


#: --timestamp-format names of Unix times (seconds, milliseconds since 1970-01-01 UTC), also
#: inferred from a column of 10- or 13-digit integers
EPOCH_UNITS = {"epoch_s": 1, "epoch_ms": 1_000}
_EPOCH_DIGITS = {"epoch_s": re.compile(r"\d{9,10}"), "epoch_ms": re.compile(r"\d{12,13}")}
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse(value: str | None, formats: Sequence[str] | None) -> str | datetime | None:
    """The timestamp as written (ISO, read later), or parsed with the first format that fits
    (kept as written, hence quarantined with the reason, when none does)."""
    if value is None or not formats:
        return value
    text = value.strip()
    for timestamp_format in formats:
        per_second = EPOCH_UNITS.get(timestamp_format)
        if per_second is not None:
            if text.isdigit():
                return _UNIX_EPOCH + timedelta(microseconds=int(text) * 1_000_000 // per_second)
            continue
        try:
            return datetime.strptime(text, timestamp_format)
        except ValueError:
            continue
    return value


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        return False
    return True


def timestamp_formats(
    values: Sequence[str | None], path: Path, column: str
) -> tuple[str, ...] | None:
    """The strptime formats of a timestamp column, chosen from its first values.

    None when ISO 8601 reads them (read as such later). Else the formats of the one date order
    (year-, day- or month-first) that reads every sampled value some format reads (values no
    format reads are left as written, to be quarantined with the reason). Values that day-first
    and month-first both read (no day above 12), or that no known format reads, are an error
    naming --timestamp-format.
    """
    sample = [v.strip() for v in values[: FORMAT_SAMPLE * 4] if v and v.strip()][:FORMAT_SAMPLE]
    if not sample:
        return None
    iso = {i for i, text in enumerate(sample) if _is_iso(text)}
    if len(iso) == len(sample):
        return None
    for unit, digits in _EPOCH_DIGITS.items():  # Unix times, as databases and Kafka export them
        if all(digits.fullmatch(text) for text in sample):
            return (unit,)
    read = {order: _reading(sample, dates) for order, dates in DATE_ORDERS.items()}
    readable = set(iso).union(*(indices for _, indices in read.values()))
    example = next(text for text in sample if not _is_iso(text))
    if not readable:
        raise CsvLogError(
            f"{path}: the timestamps of column {column!r} (e.g. {example!r}) are in no known "
            f"format; give it with --timestamp-format (Python strptime codes, or epoch_s / "
            f"epoch_ms for Unix times): '%d.%m.%Y %H:%M:%S' reads '16.01.2017 13:29:00', "
            f"'%Y-%m-%d %H:%M:%S %Z' reads '2017-01-16 13:29:00 UTC'"
        )
    if iso == readable:
        return None
    fitting = {order: formats for order, (formats, indices) in read.items() if indices == readable}
    if "day-first" in fitting and "month-first" in fitting:
        raise CsvLogError(
            f"{path}: the timestamps of column {column!r} (e.g. {example!r}) can be read day "
            f"first or month first; say which with --timestamp-format, e.g. "
            f"--timestamp-format '{fitting['day-first'][0]}' (day first) or "
            f"'{fitting['month-first'][0]}' (month first)"
        )
    if not fitting:
        raise CsvLogError(
            f"{path}: the timestamps of column {column!r} mix date orders (e.g. {example!r}); "
            f"give theirs with --timestamp-format (Python strptime codes)"
        )
    return next(iter(fitting.values()))


def _reading(sample: Sequence[str], dates: Sequence[str]) -> tuple[tuple[str, ...], set[int]]:
    """The formats of one date order that read the sample (most used first seen) and the
    positions of the values they read."""
    candidates = [date + time + offset for date in dates for time in TIMES for offset in OFFSETS]
    seen: list[str] = []
    read: set[int] = set()
    for position, text in enumerate(sample):
        for timestamp_format in [*seen, *(c for c in candidates if c not in seen)]:
            try:
                datetime.strptime(text, timestamp_format)
            except ValueError:
                continue
            if timestamp_format not in seen:
                seen.append(timestamp_format)
            read.add(position)
            break
    return tuple(seen), read


def unique_names(header: Sequence[str]) -> list[str]:
    """Column names made unique as pandas does: a repeated ``x`` becomes ``x.1``, ``x.2``."""
    names: list[str] = []
    counts: dict[str, int] = {}
    for name in header:
        if name in counts:
            counts[name] += 1
            candidate = f"{name}.{counts[name]}"
            while candidate in counts:
                counts[name] += 1
                candidate = f"{name}.{counts[name]}"
            counts[candidate] = 0
            names.append(candidate)
        else:
            counts[name] = 0
            names.append(name)
    return names


def _header(path: Path, dialect: CsvDialect, block_bytes: int) -> list[str]:
    try:
        return pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=block_bytes, encoding=dialect.encoding),
            parse_options=pa_csv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(strings_can_be_null=True),
        ).schema.names
    except (pa.ArrowInvalid, OSError) as error:
        raise CsvLogError(f"{path}: cannot be read as CSV ({error})") from None
