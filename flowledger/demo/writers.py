"""Chunked, streaming writers: rows in, NDJSON or Parquet out, memory bounded by the chunk size.

Both formats go through the same polars frame per chunk, so they hold the same rows in the
same order. NDJSON: one JSON object per line, every contract field present (null when absent)
except in CloudEvents, where absent optional attributes are left out as the CloudEvents JSON
format expects; timestamps as ``2026-08-01T10:00:00.123Z``. Parquet: timestamps as
``timestamp[ms, UTC]``, CloudEvents ``data`` as JSON text.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, TypeVar

import polars as pl
import pyarrow.parquet as pq

from flowledger.demo.records import BUSINESS_EVENTS, RecordKind

FileFormat = Literal["ndjson", "parquet"]
RFC3339_MS = "%Y-%m-%dT%H:%M:%S%.3fZ"
DEFAULT_CHUNK_ROWS = 50_000
_T = TypeVar("_T")


class RowSink(Protocol):
    """Where the simulation puts rows of one kind."""

    rows_written: int

    def add(self, row: tuple) -> None: ...

    def add_later(self, row: tuple) -> None: ...


class RowCounter:
    """A sink that only counts: used to calibrate ``target_events`` without writing."""

    def __init__(self) -> None:
        self.rows_written = 0

    def add(self, row: tuple) -> None:
        self.rows_written += 1

    def add_later(self, row: tuple) -> None:
        self.rows_written += 1


class ChunkedWriter:
    """Writes rows of one kind to ``path`` in chunks of ``chunk_rows``.

    ``add_later`` holds a row back until the end of the current chunk: a redelivered record
    then appears later in the file than the original, as it would in a real export.
    """

    def __init__(
        self,
        path: Path,
        kind: RecordKind,
        file_format: FileFormat,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        if file_format not in ("ndjson", "parquet"):
            raise ValueError(f"file_format must be 'ndjson' or 'parquet', got {file_format!r}")
        self.path = path
        self.kind = kind
        self.file_format = file_format
        self.chunk_rows = chunk_rows
        self.rows_written = 0
        self._rows: list[tuple] = []
        self._later: list[tuple] = []
        self._ndjson: BinaryIO | None = None
        self._parquet: pq.ParquetWriter | None = None
        # Chunks are built and written on one background thread, in order: polars and pyarrow
        # release the GIL while formatting and writing, so that overlaps the simulation.
        # At most one chunk per writer waits, which keeps memory bounded.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix=kind.name)
        self._pending: Future[None] | None = None
        if file_format == "ndjson":
            self._ndjson = path.open("wb")

    def add(self, row: tuple) -> None:
        self._rows.append(row)
        self.rows_written += 1
        if len(self._rows) >= self.chunk_rows:
            self.flush()

    def add_later(self, row: tuple) -> None:
        self._later.append(row)
        self.rows_written += 1

    def extend_frame(self, frame: pl.DataFrame) -> None:
        """Write an already columnar chunk (same schema as the kind) straight through."""
        self.flush()
        self.rows_written += frame.height
        self._submit(self._write, frame)

    def flush(self) -> None:
        if not self._rows and not self._later:
            return
        rows = self._rows + self._later
        self._rows, self._later = [], []
        self._submit(self._write_rows, rows)

    def close(self) -> None:
        """Write what is left and close the file; re-raises a failure of the background write."""
        try:
            self.flush()
            self._wait()
            if self.file_format == "parquet" and self._parquet is None:
                self._write(pl.DataFrame(schema=self.kind.schema))  # no rows: schema only
        finally:
            self._background.shutdown(wait=True)
            if self._ndjson is not None:
                self._ndjson.close()
                self._ndjson = None
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None

    def _submit(self, work: Callable[[_T], None], chunk: _T) -> None:
        self._wait()
        self._pending = self._background.submit(work, chunk)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def _write_rows(self, rows: list[tuple]) -> None:
        columns = zip(*rows, strict=True)
        frame = pl.DataFrame(
            dict(zip(self.kind.fields, map(list, columns), strict=True)), schema=self.kind.schema
        )
        self._write(frame)

    def _write(self, frame: pl.DataFrame) -> None:
        if self.file_format == "ndjson":
            assert self._ndjson is not None
            if self.kind is BUSINESS_EVENTS:
                frame.select(_cloudevent_line()).write_csv(
                    self._ndjson, include_header=False, quote_style="never"
                )
            else:
                frame.with_columns(
                    pl.col(name).cast(pl.Datetime("ms", "UTC")).dt.strftime(RFC3339_MS)
                    for name in self.kind.timestamp_fields
                ).write_ndjson(self._ndjson)
            return
        table = frame.with_columns(
            pl.col(name).cast(pl.Datetime("ms", "UTC")) for name in self.kind.timestamp_fields
        ).to_arrow(compat_level=pl.CompatLevel.oldest())
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._parquet.write_table(table)


def _optional_attribute(name: str) -> pl.Expr:
    value = pl.col(name)
    return (
        pl.when(value.is_null())
        .then(pl.lit(""))
        .otherwise(pl.concat_str(pl.lit(f',"{name}":"'), value, pl.lit('"')))
    )


def _cloudevent_line() -> pl.Expr:
    """One CloudEvents JSON object per row. Attribute values are generated ids, sources, types
    and case keys (no quotes or backslashes, see `simulation.py`); ``data`` is JSON already."""
    time = pl.col("time").cast(pl.Datetime("ms", "UTC")).dt.strftime(RFC3339_MS)
    return pl.concat_str(
        pl.lit('{"specversion":"'),
        pl.col("specversion"),
        pl.lit('","id":"'),
        pl.col("id"),
        pl.lit('","source":"'),
        pl.col("source"),
        pl.lit('","type":"'),
        pl.col("type"),
        pl.lit('","time":"'),
        time,
        pl.lit('"'),
        _optional_attribute("subject"),
        _optional_attribute("datacontenttype"),
        _optional_attribute("dataschema"),
        _optional_attribute("traceparent"),
        pl.lit(',"data":'),
        pl.col("data"),
        pl.lit("}"),
    ).alias("line")
