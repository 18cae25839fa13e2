"""``ingest_event_logs``: land XES or CSV event logs as business events of one process."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flowledger.processes.config import check_process_name, declare_eventlog_process
from flowledger.settings import DataDir
from flowledger.warehouse import open_warehouse
from ingest.contracts import RecordKind, load_contracts
from ingest.eventlog.csv_log import ColumnMapping, CsvLogError, read_csv_log
from ingest.eventlog.records import EventBatcher, ImportNotes, LogEvent
from ingest.eventlog.xes import XesError, read_xes
from ingest.landing import FileLanding
from ingest.pipeline import DUCKDB_MEMORY_LIMIT
from ingest.readers import RawBatch
from ingest.scrub import load_pii_key, scrub_secrets
from ingest.summary import FileResult, IngestSummary, shown_progress
from ingest.tables import ensure_raw_tables

FORMATS = ("xes", "csv")
#: Events are smaller than generic records: land them in batches of this many.
EVENTLOG_BATCH_ROWS = 200_000


@dataclass
class EventLogSource:
    """An event log file as a Source for ingest's FileLanding (see ingest/readers.py)."""

    path: Path
    file_format: str
    process_name: str
    mapping: ColumnMapping
    notes: ImportNotes = field(default_factory=ImportNotes)

    def columns(self) -> list[str]:
        return ["specversion", "id", "source", "type", "time", "data"]

    def events(self) -> Iterator[LogEvent]:
        if self.file_format == "xes":
            return read_xes(self.path)
        return read_csv_log(self.path, self.mapping)

    def batches(
        self, fields: Sequence[str], batch_rows: int, *, records: bool = False
    ) -> Iterator[RawBatch]:
        batcher = EventBatcher(self.process_name, fields, batch_rows, records=records)
        self.notes = batcher.notes
        return batcher.batches(self.events())


def ingest_event_logs(
    paths: Sequence[Path],
    data_dir: DataDir,
    *,
    file_format: str,
    process_name: str,
    mapping: ColumnMapping | None = None,
    progress: Callable[[str], None] | None = None,
    batch_rows: int = EVENTLOG_BATCH_ROWS,
) -> IngestSummary:
    """Land each log as business events of ``process_name``; declare the process if it is new.

    Raises ConfigError for a bad process name. A file that cannot be read is reported in the
    summary; the others still land.
    """
    if file_format not in FORMATS:
        raise ValueError(f"--format {file_format!r}: expected one of {', '.join(FORMATS)}")
    report = shown_progress(progress)
    data_dir.ensure()
    check_process_name(process_name)
    contract = load_contracts()[RecordKind.BUSINESS_EVENT]
    pii_key = functools.cache(lambda: load_pii_key(data_dir.root / "secrets"))
    summary = IngestSummary()
    with open_warehouse(data_dir, attach_marts=False) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        ensure_raw_tables(con)
        for path in map(Path, paths):
            if not path.is_file():
                summary.files.append(
                    FileResult(
                        path=path, kind=RecordKind.BUSINESS_EVENT, error=f"{path}: no such file"
                    )
                )
                report(f"skipped {path}: no such file")
                continue
            report(f"ingesting {path} as a {file_format} event log of process {process_name}")
            source = EventLogSource(path, file_format, process_name, mapping or ColumnMapping())
            try:
                result = FileLanding(
                    con=con,
                    contract=contract,
                    source=source,  # type: ignore[arg-type]
                    landing_root=data_dir.landing,
                    pii_key=pii_key,
                    batch_rows=batch_rows,
                    progress=report,
                ).run()
            except (XesError, CsvLogError) as error:
                result = FileResult(
                    path=path, kind=RecordKind.BUSINESS_EVENT, error=scrub_secrets(str(error))
                )
            if result.failed:
                report(f"skipped {path}: {result.error}")
            else:
                report(
                    f"{path.name}: {result.accepted:,} accepted, {result.duplicates:,} duplicates, "
                    f"{result.collisions:,} collisions, {result.quarantined:,} quarantined"
                )
                for line in source.notes.lines(file_format):
                    report(f"{path.name}: {line}")
            summary.files.append(result)
    # declared once a log was read: a log refused whole (a broken file, a wrong mapping) left a
    # process with no event declared in processes.yml
    if any(not result.failed for result in summary.files):
        declared = declare_eventlog_process(data_dir.root, process_name)
        if declared is not None:
            report(
                f"declared process {process_name} (event log, start: first, end: last) "
                f"in {declared}"
            )
    return summary
