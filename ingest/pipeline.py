"""``ingest_paths``: land files into the warehouse under the writer lock, one batch per file."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from flowledger.settings import DataDir
from flowledger.warehouse import open_warehouse
from ingest.compressed import decompressed, remove_stale_scratch
from ingest.contracts import Contract, RecordKind, load_contracts
from ingest.landing import FileLanding, prepare_connection
from ingest.readers import (
    DEFAULT_BATCH_ROWS,
    FileSource,
    UnreadableFile,
    detect_kind,
    open_source,
)
from ingest.scrub import load_pii_key, scrub_secrets
from ingest.summary import FileResult, IngestSummary, shown_progress
from ingest.tables import ensure_raw_tables

#: DuckDB may use this much memory while ingesting; staged rows beyond it spill to disk.
DUCKDB_MEMORY_LIMIT = "512MB"


def ingest_paths(
    paths: Sequence[Path],
    data_dir: DataDir,
    *,
    kind: RecordKind | str | None = None,
    progress: Callable[[str], None] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> IngestSummary:
    """Land every file in ``paths``; a file that cannot be read is reported, the others still land.

    ``kind`` forces one record kind for every file; otherwise each file's kind is detected from
    its columns. A directory stands for the files under it (:func:`files_of`). Takes the
    warehouse writer lock (waiting while another writer holds it).
    """
    forced_kind = RecordKind(kind) if kind is not None else None
    report = shown_progress(progress)
    contracts = load_contracts()
    pii_key = functools.cache(lambda: load_pii_key(data_dir.root / "secrets"))
    summary = IngestSummary()
    with open_warehouse(data_dir, attach_marts=False) as con:
        prepare_connection(con, DUCKDB_MEMORY_LIMIT)
        ensure_raw_tables(con)
        remove_stale_scratch(data_dir.root)
        for path in files_of(paths):
            file_kind: RecordKind | None = None
            readable = path
            try:
                with decompressed(path, data_dir.root) as readable:
                    source = open_source(readable)
                    columns = source.columns()
                    file_kind = forced_kind or _detect(source, columns, path)
                    if file_kind is None:  # nothing in the file to tell its kind by, nor to land
                        result = FileResult(path=path)
                    else:
                        report(f"ingesting {path} as {file_kind.value}")
                        landing = FileLanding(
                            con=con,
                            contract=contracts[file_kind],
                            source=source,
                            landing_root=data_dir.landing,
                            pii_key=pii_key,
                            batch_rows=batch_rows,
                            progress=report,
                            origin=path,
                        )
                        result = landing.run()
                        if note := _not_stored(columns, contracts[file_kind]):
                            result.notes.append(note)
            except UnreadableFile as error:
                # a decompressed file's problems are told of the file as it was given
                message = str(error).replace(str(readable), str(path))
                result = FileResult(path=path, kind=file_kind, error=scrub_secrets(message))
            # one bad file must not stop the others (a polars panic is no Exception)
            except (Exception, pl.exceptions.PanicException) as error:
                message = f"{path}: could not be ingested ({type(error).__name__}: {error})"
                result = FileResult(path=path, kind=file_kind, error=scrub_secrets(message))
            if result.failed:
                report(f"skipped {path}: {result.error}")
            else:
                report(
                    f"{path.name}: {result.accepted:,} accepted, {result.duplicates:,} duplicates, "
                    f"{result.collisions:,} collisions, {result.quarantined:,} quarantined"
                )
            summary.files.append(result)
    return summary


def files_of(paths: Sequence[Path | str]) -> list[Path]:
    """``paths`` with each directory replaced by the files under it, at any depth, in name
    order (an export partitioned by day: ``exports/2026/12/07/runs.ndjson.gz``); hidden files
    and directories (``.DS_Store``, ``.git``) are left out. Every other file is kept, so one
    the readers do not know is reported, not passed over, and a directory without a file is
    kept as it is, to be reported too."""
    files: list[Path] = []
    for given in map(Path, paths):
        if not given.is_dir():
            files.append(given)
            continue
        found = sorted(
            path
            for path in given.rglob("*")
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(given).parts)
        )
        files.extend(found or [given])
    return files


def _detect(source: FileSource, columns: list[str], path: Path) -> RecordKind | None:
    """The file's record kind from its ``columns``; None for a file without records (an empty
    export is a 0-row success whatever its kind)."""
    detected = detect_kind(columns)
    if detected is None and source.holds_no_records():
        return None
    if detected is None:
        shown = ", ".join(columns[:12]) + (", …" if len(columns) > 12 else "")
        raise UnreadableFile(
            f"{path}: cannot tell the record kind from its columns ({shown or 'none'}); "
            "expected specversion (business_event), step_id (step_run), depth + queue_name "
            "(queue_depth_sample) or run_id + flow_id (flow_run), and with step_id and "
            "flow_name more of one kind's own fields than of the other's; pass --kind to say "
            "which"
        )
    return detected


def _not_stored(columns: list[str], contract: Contract) -> str | None:
    """A note naming the file's ``columns`` its record kind's contract has no field for: their
    values are not stored (a misspelt header, a tool's own extra columns)."""
    fields = set(contract.field_names)
    others = [name for name in columns if name and name not in fields]
    if not others:
        return None
    shown = ", ".join(others[:12]) + (f" and {len(others) - 12} more" if len(others) > 12 else "")
    return (
        f"column{'s' if len(others) > 1 else ''} {shown} "
        f"{'are' if len(others) > 1 else 'is'} not in the {contract.kind.value} contract: "
        "not stored (docs/contracts.md lists its fields; rename a column to store it)"
    )
