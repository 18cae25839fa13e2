"""Ingest: read files, check them against the ODCS contracts, scrub, dedupe, quarantine, land."""

from ingest.contracts import RecordKind
from ingest.pipeline import ingest_paths
from ingest.summary import FileResult, IngestSummary
from ingest.tables import ensure_raw_tables

__all__ = ["FileResult", "IngestSummary", "RecordKind", "ensure_raw_tables", "ingest_paths"]
