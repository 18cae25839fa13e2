"""Reading NDJSON, JSON, CSV and Parquet files into batches of text columns.

Every reader yields :class:`RawBatch` objects: one polars ``String`` column per contract field
(``None`` where the record has no value), plus ``_row_number`` (1-based position of the record in
the file: its line in an NDJSON file, blank lines counted, as an editor numbers them; its data
row in a CSV file, its element in a JSON array, its row in a Parquet file). Values keep the text form of the source so that validation and hashing treat every
format alike; nested JSON (a CloudEvent's ``data``) becomes JSON text. The one exception:
Parquet integer, boolean and date-time columns the caller allows stay typed (:func:`keeps_typed`:
only where typing their text would give the same value). Records that cannot be
parsed at all (a broken NDJSON line, a CSV row with the wrong number of fields, a JSON element
that is not an object) come back as :class:`RejectedRow` for the quarantine; a batch also
gives its records as the file holds them, all their fields (:attr:`RawBatch.originals`), for
the quarantine rows of those that break the contract.

NDJSON, CSV and Parquet stream in batches, so memory does not grow with the file. A ``.json``
file holds one array, which is decoded whole: use NDJSON for large files.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import decimal
import functools
import io
import itertools
import json
import os
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ingest.contracts import LogicalType, RecordKind, load_contracts
from ingest.csv_dialect import CsvDialect, sniff_dialect
from ingest.json_values import (
    ElementText,
    NotStandardJson,
    Pairs,
    bytes_text,
    decoded_document,
    finite_json,
    loads_as_written,
    loads_standard,
    plain_decimal,
    value_as_text,
)

ROW_NUMBER = "_row_number"
#: The column a batch adds when asked (``records=True``): each record's top-level members as
#: JSON text, for rules that read a whole record (:mod:`ingest.cloudevents`). From NDJSON and
#: JSON arrays, the record as the file gives it; from CSV and Parquet, the row's non-empty
#: columns (typed ones as JSON numbers, booleans, objects and arrays, date-times as the text
#: :func:`as_text` writes), ``data`` as ``null``: its value is the contract's to check.
RECORD = "_record"
DEFAULT_BATCH_ROWS = 150_000
#: Rough size of one text record, to turn a row count into a block size for NDJSON and CSV.
_BYTES_PER_ROW = 320
_SNIFF_RECORDS = 1000
#: A CSV header longer than this is not taken for a file holding nothing but its header.
_HEADER_MAX_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"


class SourceFormat(StrEnum):
    NDJSON = "ndjson"
    JSON = "json"
    CSV = "csv"
    PARQUET = "parquet"


FORMAT_BY_SUFFIX: dict[str, SourceFormat] = {
    ".ndjson": SourceFormat.NDJSON,
    ".jsonl": SourceFormat.NDJSON,
    ".json": SourceFormat.JSON,
    ".csv": SourceFormat.CSV,
    ".parquet": SourceFormat.PARQUET,
}
#: Compressed files are read as the format their name gives before one of these
#: (``runs.ndjson.gz``; :mod:`ingest.compressed`).
COMPRESSION_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz")


class UnreadableFile(Exception):
    """The file cannot be read at all (missing, wrong format, unknown kind)."""


@dataclass(frozen=True)
class RejectedRow:
    """A record that could not be parsed: where it was, why, and its text."""

    row_number: int
    reason: str
    raw_text: str


#: A record as its file holds it, every field of it: its line (NDJSON), the decoded element
#: (JSON arrays), or a row's non-empty values by column name, as text (CSV, Parquet).
Original = str | dict[str, Any]
#: The originals of some of a batch's rows, by row number, in the order asked.
Originals = Callable[[Sequence[int]], list[Original]]


@dataclass
class RawBatch:
    frame: pl.DataFrame
    rejected: list[RejectedRow] = field(default_factory=list)
    #: The frame's records as the file holds them (asked only for the rows that break the
    #: contract); ``None`` where the frame holds all there is of them.
    originals: Originals | None = None

    @property
    def rows_read(self) -> int:
        return self.frame.height + len(self.rejected)


class Source(Protocol):
    path: Path

    def columns(self) -> list[str]:
        """The field names the file's records carry (for kind detection)."""
        ...

    def batches(
        self, fields: Sequence[str], batch_rows: int, *, records: bool = False
    ) -> Iterator[RawBatch]:
        """Batches of ``fields`` as text columns, plus :data:`RECORD` when ``records``."""
        ...


class FileSource(Source, Protocol):
    """A file reader :func:`open_source` picks."""

    def holds_no_records(self) -> bool:
        """Whether the file holds no record at all (an empty export: a 0-row success)."""
        ...


def open_source(path: Path) -> FileSource:
    """A reader for ``path``, chosen by its extension."""
    if not path.exists():
        raise UnreadableFile(f"{path}: no such file")
    if path.is_dir():
        raise UnreadableFile(f"{path}: a directory without any file to ingest")
    if not path.is_file():
        raise UnreadableFile(f"{path}: not a regular file")
    source_format = FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if source_format is None:
        raise UnreadableFile(
            f"{path}: unsupported file type {path.suffix or '(no extension)'!r}; "
            f"expected one of {', '.join(FORMAT_BY_SUFFIX)}, each also compressed "
            f"({', '.join(COMPRESSION_SUFFIXES)})"
        )
    readers: dict[SourceFormat, type[FileSource]] = {
        SourceFormat.NDJSON: NdjsonSource,
        SourceFormat.JSON: JsonArraySource,
        SourceFormat.CSV: CsvSource,
        SourceFormat.PARQUET: ParquetSource,
    }
    return readers[source_format](path)


_T = TypeVar("_T")
_DONE = object()


def read_ahead(items: Iterator[_T], depth: int = 1) -> Iterator[_T]:
    """``items``, produced on a background thread up to ``depth`` items ahead of the consumer.

    polars and pyarrow release the GIL while they parse, so the next batch is read while the
    caller works on this one (DuckDB releases it too). An exception of the producer is raised
    here, in order; when the consumer stops early the producer is told to stop and is joined.
    """
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((_DONE, None))
        except BaseException as error:  # handed to the consumer, raised there
            offer((_DONE, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name="ingest-read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        producer.join()


@functools.cache
def _contract_field_names() -> frozenset[str]:
    return frozenset(p.name for c in load_contracts().values() for p in c.properties)


def _contract_spelling(name: str) -> str:
    """A CSV header name as the contracts spell it when only its style differs (``RUN_ID``,
    ``Status``, ``Ended At``, ``business-key``, ``errorMessage``, ``runID``: an export's own
    header style); any other name as written."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    snake = re.sub(r"[^0-9A-Za-z]+", "_", spaced).strip("_").lower()
    if snake != name and snake in _contract_field_names():
        return snake
    return name


@functools.cache
def _own_field_names(kind: RecordKind, other: RecordKind) -> frozenset[str]:
    """The fields of one kind's contract that the other kind's does not have."""
    contracts = load_contracts()
    names = {p.name for p in contracts[kind].properties}
    return frozenset(names - {p.name for p in contracts[other].properties})


@functools.cache
def _required_field_names(kind: RecordKind) -> frozenset[str]:
    return frozenset(p.name for p in load_contracts()[kind].properties if p.required)


def detect_kind(columns: Iterable[str]) -> RecordKind | None:
    """The record kind a set of column names implies (see docs/architecture.md); None when it
    cannot be told."""
    names = set(columns)
    if "specversion" in names:
        return RecordKind.BUSINESS_EVENT
    if "step_id" in names and "flow_name" in names:
        # a flow run export that carries its current step (step_id, even step_name), or step
        # runs that carry their flow's name: the kind whose required fields are all there, else
        # the kind whose own fields the columns hold more of
        runs, steps = RecordKind.FLOW_RUN, RecordKind.STEP_RUN
        complete = [k for k in (runs, steps) if _required_field_names(k) <= names]
        if len(complete) == 1:
            return complete[0]
        as_run = len(names & _own_field_names(runs, steps))
        as_step = len(names & _own_field_names(steps, runs))
        return runs if as_run > as_step else steps if as_step > as_run else None
    if "step_id" in names:
        return RecordKind.STEP_RUN
    if {"depth", "queue_name"} <= names:
        return RecordKind.QUEUE_DEPTH_SAMPLE
    if {"run_id", "flow_id"} <= names:
        return RecordKind.FLOW_RUN
    return None


def frame_from_records(
    records: Sequence[dict[str, Any]],
    row_numbers: Sequence[int],
    fields: Sequence[str],
    record_texts: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The batch frame for already-decoded records (the slow, always-works path), with their
    JSON texts as :data:`RECORD` when given."""
    columns: dict[str, pl.Series] = {
        name: pl.Series(name, [value_as_text(r.get(name)) for r in records], dtype=pl.String)
        for name in fields
    }
    columns[ROW_NUMBER] = pl.Series(ROW_NUMBER, list(row_numbers), dtype=pl.Int64)
    if record_texts is not None:
        columns[RECORD] = pl.Series(RECORD, list(record_texts), dtype=pl.String)
    return pl.DataFrame(columns)


def _with_row_numbers(frame: pl.DataFrame, first: int) -> pl.DataFrame:
    return frame.with_columns(
        pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(ROW_NUMBER)
    )


class NdjsonSource:
    """Newline-delimited JSON, read in blocks cut at line ends and parsed by polars."""

    #: False for files known to hold no nested objects or arrays (the receiver's spool writes
    #: object fields as JSON text): their backslashes then need no second decode.
    nested_values = True
    #: False for files known to give no key twice (the receiver's spool writes decoded
    #: records): their lines need no look for a contract field given twice.
    may_repeat_keys = True

    def __init__(self, path: Path) -> None:
        self.path = path

    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        seen = 0
        with open(self.path, "rb") as handle:
            for line in handle:
                if not line.strip().removeprefix(_BOM):
                    continue
                seen += 1
                try:
                    record = json.loads(line)
                # not JSON, not UTF-8, an integer too long for Python to read (ValueError)
                except ValueError:
                    if seen == 1 and not line.lstrip().startswith((b"{", b"\xef\xbb\xbf{")):
                        raise UnreadableFile(
                            f"{self.path}: not newline-delimited JSON (the first line is not a "
                            "JSON object)"
                        ) from None
                    continue
                if isinstance(record, dict):
                    names.update(dict.fromkeys(record))
                if seen >= _SNIFF_RECORDS:
                    break
        return list(names)

    def holds_no_records(self) -> bool:
        with open(self.path, "rb") as handle:
            return not any(line.strip().removeprefix(_BOM) for line in handle)

    def batches(
        self, fields: Sequence[str], batch_rows: int, *, records: bool = False
    ) -> Iterator[RawBatch]:
        schema = dict.fromkeys(fields, pl.String)
        next_line = 1
        offset = len(_BOM) if self._starts_with_bom() else 0
        for block in self._blocks(max(batch_rows * _BYTES_PER_ROW, 4096)):
            try:
                frame = pl.read_ndjson(io.BytesIO(block), schema=schema)
                if self.nested_values and b"\\" in block:
                    frame = _reencode_nested_with_escapes(frame, block, fields)
                if records:
                    frame = frame.with_columns(_line_column(block, frame.height).alias(RECORD))
                batch = RawBatch(
                    frame.with_columns(_record_line_numbers(block, frame.height, next_line)),
                    originals=self._lines_at(offset, len(block), next_line),
                )
                if self.may_repeat_keys:
                    _refuse_repeated_fields(batch, block, fields)
            except Exception:  # polars refuses the whole block: sort it out line by line
                batch = self._parse_lines(block, fields, next_line, records)
            next_line += _lines_in(block)
            offset += len(block)
            yield batch

    def _starts_with_bom(self) -> bool:
        with open(self.path, "rb") as handle:
            return handle.read(len(_BOM)) == _BOM

    def _lines_at(self, offset: int, length: int, first_line: int) -> Originals:
        """The originals of a block polars read: its lines by line number, read again from
        the file when asked (the block is not kept for the few rows that break the contract)."""

        def originals(rows: Sequence[int]) -> list[Original]:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                lines = handle.read(length).split(b"\n")
            return [lines[row - first_line].decode() for row in rows]

        return originals

    def _blocks(self, block_bytes: int) -> Iterator[bytes]:
        """Blocks of about ``block_bytes`` that end at a line end (a longer line grows one).

        The part of a read after its last line end is read again with the next block (a seek
        back) rather than carried over, so a block is copied once, not twice.
        """
        with open(self.path, "rb") as handle:
            if handle.read(len(_BOM)) != _BOM:
                handle.seek(0)
            longer_line = b""
            while True:
                chunk = handle.read(block_bytes)
                if not chunk:
                    if longer_line.strip():
                        yield longer_line
                    return
                cut = chunk.rfind(b"\n")
                if cut < 0:
                    longer_line += chunk
                    continue
                after_cut = len(chunk) - cut - 1
                if after_cut:
                    handle.seek(-after_cut, os.SEEK_CUR)
                    chunk = chunk[: cut + 1]
                yield longer_line + chunk if longer_line else chunk
                longer_line = b""

    @staticmethod
    def _parse_lines(
        block: bytes, fields: Sequence[str], first_row: int, with_records: bool = False
    ) -> RawBatch:
        records: list[dict[str, Any]] = []
        numbers: list[int] = []
        texts: dict[int, Original] = {}
        rejected: list[RejectedRow] = []
        row = first_row
        for line in block.split(b"\n"):
            if not line.strip():
                row += 1
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                reason = (
                    f"line is not valid UTF-8 (byte 0x{line[error.start]:02x} at column "
                    f"{error.start + 1})"
                )
                rejected.append(RejectedRow(row, reason, line.decode(errors="backslashreplace")))
                row += 1
                continue
            try:
                record = loads_standard(text, fields)
            except NotStandardJson as problem:
                rejected.append(RejectedRow(row, problem.reason, text))
            except json.JSONDecodeError as error:
                reason = f"line is not valid JSON ({error.msg} at column {error.colno})"
                rejected.append(RejectedRow(row, reason, text))
            else:
                if isinstance(record, dict):
                    records.append(record)
                    numbers.append(row)
                    texts[row] = text
                else:
                    kind = type(record).__name__
                    rejected.append(RejectedRow(row, f"line is a JSON {kind}, not an object", text))
            row += 1
        record_texts = [str(texts[number]) for number in numbers] if with_records else None
        return RawBatch(
            frame_from_records(records, numbers, fields, record_texts),
            rejected,
            _by_row_number(texts),
        )


def _record_lines(block: bytes) -> list[bytes]:
    """The lines of an NDJSON block that hold a record, in order (polars skips blank lines)."""
    return [line for line in block.split(b"\n") if line.strip()]


def _lines_in(block: bytes) -> int:
    """How many lines a block of whole lines holds (the last may lack its line end)."""
    return block.count(b"\n") + (0 if block.endswith(b"\n") else 1)


def _record_line_numbers(block: bytes, height: int, first_line: int) -> pl.Series:
    """The line number of each of the ``height`` records polars read from ``block``: a
    record's row number in an NDJSON file is its line, as an editor shows it (polars skips
    blank lines, so they are counted here)."""
    if _lines_in(block) == height:
        return pl.int_range(first_line, first_line + height, dtype=pl.Int64, eager=True).alias(
            ROW_NUMBER
        )
    lines = block.split(b"\n")
    if block.endswith(b"\n"):
        lines.pop()
    numbers = [first_line + index for index, line in enumerate(lines) if line.strip()]
    if len(numbers) != height:
        raise ValueError("block lines and parsed rows differ")  # the caller re-reads line by line
    return pl.Series(ROW_NUMBER, numbers, dtype=pl.Int64)


def _refuse_repeated_fields(batch: RawBatch, block: bytes, fields: Sequence[str]) -> None:
    """Move the rows of a block polars read that give a contract field twice to the rejected.

    polars keeps a field's first value and Python's decoder its last, so such a line would
    land one way or the other depending on its neighbours: it is refused on both paths
    (:func:`loads_standard`). One regex pass over the lines finds those that may (a field's
    key twice, nested ones included, or a key spelled with an escape); the decoder decides."""
    lines = _line_column(block, batch.frame.height)
    may = lines.str.contains(_repeated_field_pattern(tuple(fields))).arg_true().to_list()
    refused: dict[int, str] = {}
    for position in may:
        try:
            loads_standard(lines[position], fields)
        except NotStandardJson as problem:
            refused[position] = problem.reason
    if not refused:
        return
    numbers = batch.frame[ROW_NUMBER]
    batch.rejected.extend(
        RejectedRow(numbers[position], reason, lines[position])
        for position, reason in refused.items()
    )
    kept = pl.Series([position not in refused for position in range(batch.frame.height)])
    batch.frame = batch.frame.filter(kept)


def _line_column(block: bytes, height: int) -> pl.Series:
    """The lines of a block polars read into ``height`` rows, as a text column (the block's
    bytes are not copied to make it)."""
    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    offsets = np.concatenate(([0], np.minimum(ends + 1, len(block)))).astype(np.int64)
    lines = pl.Series(
        "line",
        pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(block)),
    )
    if lines.len() != height:  # blank lines (polars skips them)
        lines = lines.filter(lines.str.strip_chars().str.len_bytes() > 0)
    if lines.len() != height:
        raise ValueError("block lines and parsed rows differ")  # the caller re-reads line by line
    return lines


@functools.lru_cache(maxsize=16)
def _repeated_field_pattern(fields: tuple[str, ...]) -> str:
    """A line that may give one of ``fields`` twice: its key twice (nested keys of that name
    too: the decoder tells), or any key spelled with a ``\\u`` escape (``"run\\u005fid"`` is
    ``run_id``)."""
    blank = r"[ \t\r]*"
    twice = [f'"{re.escape(name)}"{blank}:[^\\n]*"{re.escape(name)}"{blank}:' for name in fields]
    escaped_key = r'"(?:[^"\\\n]|\\[^u\n])*\\u(?:[^"\\\n]|\\[^\n])*"' + blank + ":"
    return "|".join([*twice, escaped_key])


def _by_row_number(originals: Mapping[int, Original]) -> Originals:
    return lambda rows: [originals[row] for row in rows]


def _rows_of(
    columns: pa.RecordBatch, numbers: Sequence[int], names: Mapping[str, str]
) -> Originals:
    """The originals of a CSV batch (``columns``: those of the header as read, ``numbers``: the
    row numbers of its rows, ``names``: the names to give the columns)."""

    def originals(rows: Sequence[int]) -> list[Original]:
        index = {number: position for position, number in enumerate(numbers)}
        return _records_as_text(columns.take([index[row] for row in rows]), names)

    return originals


def _records_as_text(
    columns: pa.RecordBatch | pa.Table, names: Mapping[str, str] | None = None
) -> list[Original]:
    """Each row's non-empty values by (re)name, as text (typed values as :func:`as_text`)."""
    frame = pl.from_arrow(columns)
    assert isinstance(frame, pl.DataFrame)
    return [
        {name: value for name, value in record.items() if value is not None}
        for record in as_text(frame.rename(names or {})).iter_rows(named=True)
    ]


def _records_typed(columns: pa.Table) -> list[Original]:
    """Each row's non-empty values by column name, typed as a JSON record holds them (a
    Parquet integer is a number in the quarantine's record, not text): numbers, booleans,
    objects and arrays as they are, date-times and bytes as :func:`as_text` writes them, other
    values as :func:`_json_ready` writes them."""
    frame = pl.from_arrow(columns)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(
        _as_text(name, dtype)
        for name, dtype in frame.schema.items()
        # float32 and decimals as text: as doubles they gain digits (0.1 -> 0.10000000149…)
        if isinstance(dtype, pl.Datetime | pl.Binary | pl.Float32 | pl.Decimal)
    )
    return [finite_json(_json_ready(record)) for record in frame.iter_rows(named=True)]


def _reencode_nested_with_escapes(
    frame: pl.DataFrame, block: bytes, fields: Sequence[str]
) -> pl.DataFrame:
    """Re-encode nested values of lines that hold a backslash with a real JSON encoder.

    polars renders an object or array read into a String column with its strings unescaped, so
    a value such as ``"C:\\temp"`` or ``"\\n"`` inside a CloudEvent's ``data`` would become
    invalid JSON text. Only lines with a backslash can be affected; they are decoded again here.
    """
    starts_nested = [
        (pl.col(name).str.starts_with("{") | pl.col(name).str.starts_with("[")).fill_null(False)
        for name in fields
    ]
    flags = frame.select(starts_nested)
    columns = [name for name in flags.columns if flags[name].any()]
    if not columns:  # no object or array in the block: nothing polars could have mangled
        return frame
    candidates = flags.select(pl.any_horizontal(columns)).to_series().arg_true().to_list()
    lines = _record_lines(block)
    if len(lines) != frame.height:
        raise ValueError("block lines and parsed rows differ")  # the caller re-reads line by line
    fixes: dict[str, dict[int, str]] = {}
    for index in candidates:
        line = lines[index]
        if b"\\" not in line:
            continue
        try:  # orjson first: several times faster; most such lines hold no nested value
            record = orjson.loads(line)
        except orjson.JSONDecodeError:  # NaN: the standard decoder reads it (or raises)
            record = json.loads(line)
        if not isinstance(record, dict):
            continue
        nested = [name for name in columns if isinstance(record.get(name), dict | list)]
        if not nested:
            continue
        # the standard decoder for the values kept: orjson reads integers beyond 64 bits as
        # floats, and keeps one value of a key given twice (polars keeps them all)
        record = loads_as_written(line)
        for name in nested:
            fixes.setdefault(name, {})[index] = value_as_text(record[name])
    for name, cells in fixes.items():
        values = frame.get_column(name).to_list()
        for index, text in cells.items():
            values[index] = text
        frame = frame.with_columns(pl.Series(name, values, dtype=pl.String))
    return frame


class JsonArraySource:
    """A ``.json`` file holding one array of objects (decoded whole)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._elements: list[Any] | None = None

    def _load(self) -> list[Any]:
        """The array's elements, decoded, or as :class:`ElementText` if ingest may refuse them
        (NaN, a key given twice: the contract's fields decide, :meth:`batches`)."""
        if self._elements is None:
            data = self.path.read_bytes()
            try:
                text = data.decode(json.detect_encoding(data), "surrogatepass")
                document = decoded_document(text)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise UnreadableFile(f"{self.path}: not valid JSON ({error})") from None
            if isinstance(document, ElementText):
                document = loads_as_written(document.text)
            if not isinstance(document, list):
                raise UnreadableFile(
                    f"{self.path}: a .json file must hold an array of objects, found a "
                    f"{type(document).__name__}; use .ndjson for one object per line"
                )
            self._elements = document
        return self._elements

    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for element in self._load()[:_SNIFF_RECORDS]:
            if isinstance(element, ElementText):
                element = loads_as_written(element.text)
            if isinstance(element, dict | Pairs):
                names.update((name, None) for name, _ in element.items())
        return list(names)

    def holds_no_records(self) -> bool:
        return not self._load()

    def batches(
        self, fields: Sequence[str], batch_rows: int, *, records: bool = False
    ) -> Iterator[RawBatch]:
        elements = self._load()
        for start in range(0, len(elements), batch_rows):
            found: dict[int, dict[str, Any]] = {}
            rejected: list[RejectedRow] = []
            for offset, element in enumerate(elements[start : start + batch_rows]):
                row = start + offset + 1
                if isinstance(element, ElementText):
                    try:
                        element = loads_standard(element.text, fields)
                    except NotStandardJson as problem:
                        rejected.append(RejectedRow(row, problem.reason, element.text))
                        continue
                if isinstance(element, dict):
                    found[row] = element
                else:
                    reason = f"array element is a JSON {type(element).__name__}, not an object"
                    rejected.append(RejectedRow(row, reason, json.dumps(element)))
            texts = [str(value_as_text(record)) for record in found.values()] if records else None
            frame = frame_from_records(list(found.values()), list(found), fields, texts)
            yield RawBatch(frame, rejected, _by_row_number(found))


class CsvSource:
    """CSV with a header row; every value is read as text (empty fields are missing). The
    separator (``,`` ``;`` tab ``|``) and the encoding (UTF-8, else a Windows export's cp1252 or
    latin-1) are those the first block of the file shows (:func:`ingest.csv_dialect.sniff_dialect`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @functools.cached_property
    def dialect(self) -> CsvDialect:
        try:
            return sniff_dialect(self.path)
        except ValueError as error:
            raise UnreadableFile(str(error)) from None

    def columns(self) -> list[str]:
        return list(self._header_names())

    def _header_names(self) -> dict[str, str]:
        """The header's names stripped of spaces, each with the name as written."""
        dialect = self.dialect
        try:
            with open(self.path, newline="", encoding=dialect.python_encoding) as handle:
                header = next(csv.reader(handle, delimiter=dialect.delimiter), None)
        except UnicodeDecodeError:
            raise UnreadableFile(f"{self.path}: not a UTF-8 CSV file") from None
        if not header:
            raise UnreadableFile(f"{self.path}: empty CSV file (no header row)")
        names: dict[str, str] = {}
        as_written = {written.strip() for written in header}
        for written in header:
            name = _contract_spelling(written.strip())
            if name != written.strip() and name in as_written:
                name = written.strip()  # the column spelt as the contract does is that field
            if name and name in names:
                raise UnreadableFile(
                    f"{self.path}: column {name} appears twice in the header; "
                    "keep one of them and ingest the file again"
                )
            names[name] = written
        return names

    def _header_without_line_end(self) -> bool:
        """The file is one header line without a line end, which pyarrow reads with one."""
        with open(self.path, "rb") as handle:
            text = handle.read(_HEADER_MAX_BYTES + 1)
        if len(text) > _HEADER_MAX_BYTES or b"\n" in text or b"\r" in text:
            return False
        try:
            pa_csv.read_csv(io.BytesIO(text + b"\n"), **self._pyarrow_options())
        except pa.ArrowInvalid:
            return False
        return True

    def _pyarrow_options(self) -> dict[str, Any]:
        return {
            "read_options": pa_csv.ReadOptions(encoding=self.dialect.encoding),
            "parse_options": pa_csv.ParseOptions(delimiter=self.dialect.delimiter),
        }

    def holds_no_records(self) -> bool:
        """A header and no data row (blank lines are no rows, as pyarrow reads them)."""
        dialect = self.dialect
        with open(
            self.path, newline="", encoding=dialect.python_encoding, errors="replace"
        ) as handle:
            rows = csv.reader(handle, delimiter=dialect.delimiter)
            next(rows, None)
            return not any(row for row in rows)

    def unclosed_quote_line(self) -> int | None:
        """The line where a quoted field starts that the file never closes, else ``None``.

        pyarrow (which reads values holding line ends) reads such a field to the end of the
        file: every row after it would be one value, read as one row (a ragged one, or worse,
        an accepted one). Python's C reader, strict, says where; only that error is taken
        from it (pyarrow decides on the rest). A field longer than
        :data:`_CSV_FIELD_MAX_CHARS` is taken for one, too: no record is that long."""
        limit = csv.field_size_limit(_CSV_FIELD_MAX_CHARS)
        try:
            dialect = self.dialect
            with open(
                self.path, newline="", encoding=dialect.python_encoding, errors="replace"
            ) as handle:
                rows = csv.reader(handle, delimiter=dialect.delimiter, strict=True)
                start = 1
                while True:
                    try:
                        if next(rows, None) is None:
                            return None
                    except csv.Error as error:
                        unclosed = ("unexpected end of data", "field larger than field limit")
                        return start if str(error).startswith(unclosed) else None
                    start = rows.line_num + 1
        finally:
            csv.field_size_limit(limit)

    def batches(
        self, fields: Sequence[str], batch_rows: int, *, records: bool = False
    ) -> Iterator[RawBatch]:
        unclosed = self.unclosed_quote_line()
        if unclosed is not None:
            raise UnreadableFile(
                f"{self.path}: the quoted field that starts on line {unclosed} is never closed, "
                "so every line after it would be read as part of one value; close the quote (a "
                'quote inside a quoted field is written twice: "") and ingest the file again'
            )
        rejected: list[RejectedRow] = []

        def on_invalid_row(row: pa_csv.InvalidRow) -> str:
            # pyarrow numbers rows from 1 at the header, so data row n is CSV row n + 1
            number = row.number - 1 if row.number is not None and row.number > 1 else 0
            reason = (
                f"CSV row {number} has {row.actual_columns} fields, the header has "
                f"{row.expected_columns}"
            )
            rejected.append(RejectedRow(number, reason, row.text or ""))
            return "skip"

        # pyarrow matches names as written: read each field under its name in the header
        # (" depth"), then rename it, so reading finds what detection saw; the other columns
        # are read too, for the originals
        header = {name: as_written for name, as_written in self._header_names().items() if name}
        columns = [header.get(name, name) for name in fields]
        others = [as_written for name, as_written in header.items() if name not in fields]
        try:
            reader = pa_csv.open_csv(
                self.path,
                read_options=pa_csv.ReadOptions(
                    block_size=max(batch_rows * _BYTES_PER_ROW, 4096),
                    use_threads=False,
                    encoding=self.dialect.encoding,
                ),
                parse_options=pa_csv.ParseOptions(
                    delimiter=self.dialect.delimiter,
                    invalid_row_handler=on_invalid_row,
                    newlines_in_values=True,
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(columns + others, pa.string()),
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    include_columns=columns + others,
                    include_missing_columns=True,
                ),
            )
        except (pa.ArrowInvalid, OSError) as error:
            if isinstance(error, pa.ArrowInvalid) and self._header_without_line_end():
                return  # pyarrow cannot tell its columns; with the line end it holds no rows
            raise UnreadableFile(f"{self.path}: not a readable CSV file ({error})") from None
        next_row = 1
        in_file = {as_written: name for name, as_written in header.items()}
        for record_batch in reader:
            frame = pl.from_arrow(record_batch.select(columns))
            assert isinstance(frame, pl.DataFrame)
            frame = frame.rename(dict(zip(columns, fields, strict=True)))
            frame = frame.with_columns(pl.col(name).cast(pl.String) for name in fields)
            numbers = _numbers_around(next_row, frame.height, {r.row_number for r in rejected})
            frame = frame.with_columns(pl.Series(ROW_NUMBER, numbers, dtype=pl.Int64))
            if records:
                frame = frame.with_columns(
                    record_json(record_batch.select(list(in_file)), in_file).alias(RECORD)
                )
            originals = _rows_of(record_batch.select(list(in_file)), numbers, in_file)
            batch = RawBatch(frame, rejected[:], originals)
            next_row = max([next_row - 1, *numbers, *(r.row_number for r in rejected)]) + 1
            rejected.clear()
            yield batch
        if rejected:
            yield RawBatch(frame_from_records([], [], fields, [] if records else None), rejected[:])


#: The longest CSV field :meth:`CsvSource.unclosed_quote_line` takes for one (64 MiB of text).
_CSV_FIELD_MAX_CHARS = 64 << 20


def _numbers_around(first: int, count: int, taken: set[int]) -> list[int]:
    """``count`` row numbers from ``first`` on, skipping those of rows already rejected."""
    if not taken:
        return list(range(first, first + count))
    numbers: list[int] = []
    candidate = first
    while len(numbers) < count:
        if candidate not in taken:
            numbers.append(candidate)
        candidate += 1
    return numbers


class ParquetSource:
    """Parquet, read in row batches; typed columns are rendered as the text other formats carry,
    except those :func:`keeps_typed` lets through as they are (the contract query then skips
    parsing them back)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as error:
            raise UnreadableFile(f"{path}: not a readable Parquet file ({error})") from None
        self._row_group: tuple[int, pa.Table] | None = None

    def columns(self) -> list[str]:
        return list(self._file.schema_arrow.names)

    def timestamps_without_zone(self) -> list[str]:
        """The timestamp columns that carry no time zone (read as UTC)."""
        return [
            field.name
            for field in self._file.schema_arrow
            if pa.types.is_timestamp(field.type) and field.type.tz is None
        ]

    def holds_no_records(self) -> bool:
        return self._file.metadata.num_rows == 0

    def batches(
        self,
        fields: Sequence[str],
        batch_rows: int,
        typed_ok: Mapping[str, LogicalType] | None = None,
        *,
        records: bool = False,
    ) -> Iterator[RawBatch]:
        """``typed_ok``: the fields that may stay typed, with their logical types."""
        present = [name for name in fields if name in self._file.schema_arrow.names]
        allowed = typed_ok or {}
        next_row = 1
        columns = None if records else present  # every column makes the record
        for read in self._file.iter_batches(batch_size=batch_rows, columns=columns):
            record_batch = _zoned_as_utc(read)
            whole = record_json(record_batch).alias(RECORD) if records else None
            frame = pl.from_arrow(record_batch.select(present))
            assert isinstance(frame, pl.DataFrame)
            frame = frame.with_columns(
                (
                    _typed(name, frame.schema[name])
                    if name in allowed and keeps_typed(allowed[name], frame.schema[name])
                    else _as_text(name, frame.schema[name])
                )
                if name in present
                else pl.lit(None, pl.String).alias(name)
                for name in fields
            ).select(fields)
            if whole is not None:
                frame = frame.with_columns(whole)
            yield RawBatch(_with_row_numbers(frame, next_row), originals=self._original_rows)
            next_row += frame.height

    def _original_rows(self, rows: Sequence[int]) -> list[Original]:
        """Rows by row number with every column, read by row group when asked (the batches
        read the contract's columns alone; only rows that break the contract are asked for)."""
        starts = list(
            itertools.accumulate(
                (
                    self._file.metadata.row_group(i).num_rows
                    for i in range(self._file.num_row_groups)
                ),
                initial=0,
            )
        )
        found: dict[int, Original] = {}
        for group, in_group in itertools.groupby(
            sorted(rows), key=lambda row: bisect.bisect_right(starts, row - 1) - 1
        ):
            numbers = list(in_group)
            picked = self._read_row_group(group).take([row - 1 - starts[group] for row in numbers])
            found.update(zip(numbers, _records_typed(picked), strict=True))
        return [found[row] for row in rows]

    def _read_row_group(self, group: int) -> pa.Table:
        """One row group, every column, the last one kept (a handle of its own: the batches are
        read on another thread)."""
        if self._row_group is None or self._row_group[0] != group:
            self._row_group = (
                group,
                _zoned_as_utc(pq.ParquetFile(self.path).read_row_group(group)),
            )
        return self._row_group[1]


_Columns = TypeVar("_Columns", pa.RecordBatch, pa.Table)


def _zoned_as_utc(columns: _Columns) -> _Columns:
    """Time-zone-aware timestamp columns labelled UTC (the instants do not change: Arrow keeps
    them in UTC whatever the label). pandas writes a fixed offset (``+05:30``) as the zone of
    offset date-times, which polars refuses to read. Extension-typed columns as the type they
    are stored as: DuckDB writes its JSON type as ``arrow.json`` (JSON text), which polars
    refused to read as text (the whole file failed)."""
    schema = columns.schema
    fields = [
        field.with_type(pa.timestamp(field.type.unit, tz="UTC"))
        if pa.types.is_timestamp(field.type) and field.type.tz not in (None, "UTC")
        else field.with_type(field.type.storage_type)
        if isinstance(field.type, pa.BaseExtensionType)
        else field
        for field in schema
    ]
    if all(new is old for new, old in zip(fields, schema, strict=True)):
        return columns
    return columns.cast(pa.schema(fields, metadata=schema.metadata))


_KEPT_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)


def keeps_typed(logical_type: LogicalType, dtype: pl.DataType) -> bool:
    """Whether a Parquet column of ``dtype`` holds exactly the values the contract query would
    type from its text: integers that fit a BIGINT, booleans, and date-times in milliseconds or
    microseconds (rendering nanoseconds as text and parsing them back rounds them)."""
    match logical_type:
        case LogicalType.INTEGER:
            return isinstance(dtype, _KEPT_INTEGERS)
        case LogicalType.BOOLEAN:
            return isinstance(dtype, pl.Boolean)
        case LogicalType.TIMESTAMP:
            return isinstance(dtype, pl.Datetime) and dtype.time_unit in ("ms", "us")
    return False


def _typed(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column kept typed: date-times in UTC without a zone (what the text form's offset
    gives), integers as 64-bit."""
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return column.dt.convert_time_zone("UTC").dt.replace_time_zone(None).alias(name)
    if isinstance(dtype, _KEPT_INTEGERS):
        return column.cast(pl.Int64).alias(name)
    return column


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every typed column rendered as :class:`ParquetSource` renders text."""
    return frame.with_columns(
        _as_text(name, dtype)
        for name, dtype in frame.schema.items()
        if name != ROW_NUMBER and dtype != pl.String
    )


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if isinstance(dtype, pl.Float32 | pl.Float64):
        return column.cast(pl.String).map_batches(_plain_floats, return_dtype=pl.String)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return column.dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ").alias(name)
    if isinstance(dtype, pl.Struct | pl.List | pl.Array):
        return column.map_elements(_nested_json, return_dtype=pl.String).alias(name)
    if isinstance(dtype, pl.Binary):
        return _binary_text(column).alias(name)
    return column.cast(pl.String, strict=False).alias(name)


def _binary_text(column: pl.Expr) -> pl.Expr:
    """A binary column as :func:`ingest.json_values.bytes_text` writes bytes (a cast alone made
    bytes that are not UTF-8 null: a value lost)."""
    return column.map_elements(bytes_text, return_dtype=pl.String)


def _nested_json(value: Any) -> str:
    """A Parquet struct or list as the JSON text an NDJSON file would hold for it: a struct
    field that is null is absent (Parquet cannot tell the two apart, and every row of a struct
    column has every field: kept, the same event sent as NDJSON and as Parquet would hash
    apart), bytes base64 (polars' encoder panics on them), decimals as numbers, date-times as
    :func:`_as_text` writes them, and NaN and Infinity written as such, so that the object
    check refuses the row as it refuses them in NDJSON (polars' encoder wrote them as null)."""
    return json.dumps(_json_ready(value.to_list() if hasattr(value, "to_list") else value))


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, bytes):
        return bytes_text(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return str(value)
    return value


def record_json(
    columns: pa.RecordBatch | pa.Table, names: Mapping[str, str] | None = None
) -> pl.Series:
    """Each row's non-empty columns as one JSON object (:data:`RECORD`), under their ``names``
    (by column as read; default: as read): typed values as JSON numbers, booleans, objects and
    arrays, date-times as the text :func:`as_text` writes, bytes as
    :func:`ingest.json_values.bytes_text` writes them, ``data`` as ``null``."""
    frame = pl.from_arrow(columns)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.rename(names or {})
    members = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if name == "data":
            member = pl.lit('"data":null')
        else:
            if isinstance(dtype, pl.Datetime):
                column = _as_text(name, dtype)
            elif isinstance(dtype, pl.Date | pl.Time | pl.Duration):
                column = column.cast(pl.String)
            elif isinstance(dtype, pl.Decimal):
                column = column.cast(pl.Float64)
            elif isinstance(dtype, pl.Binary):  # bytes have no JSON form (polars panics)
                column = _binary_text(column)
            encoded = pl.struct(column.alias(name)).struct.json_encode()
            member = encoded.str.strip_prefix("{").str.strip_suffix("}")
        members.append(pl.when(pl.col(name).is_not_null()).then(member))
    if not members:
        return pl.Series(RECORD, ["{}"] * frame.height, dtype=pl.String)
    joined = pl.concat_str(members, separator=",", ignore_nulls=True)
    return frame.select(pl.concat_str(pl.lit("{"), joined, pl.lit("}")).alias(RECORD)).to_series()


def _plain_floats(texts: pl.Series) -> pl.Series:
    """Floats cast to text, in plain decimal as a JSON number read by polars (``1.0`` → ``1``,
    ``1e+20`` → ``100000000000000000000``): cast floats keep ``.0`` and use exponents."""
    plain = texts.str.strip_suffix(".0")
    exponents = texts.str.contains("e", literal=True).fill_null(False).arg_true()
    if exponents.len() == 0:
        return plain
    written = [plain_decimal(text) for text in texts.gather(exponents).to_list()]
    return plain.scatter(exponents, pl.Series(written, dtype=pl.String))
