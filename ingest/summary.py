"""What an ingest did, per file and in total."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.contracts import RecordKind
from ingest.scrub import may_hold_a_secret, scrub_secrets

_COUNTS = ("rows_read", "accepted", "duplicates", "collisions", "quarantined")


@dataclass
class FileResult:
    """One file: how many rows were read and where each went, or why it could not be read."""

    path: Path
    kind: RecordKind | None = None
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    collisions: int = 0
    quarantined: int = 0
    batch_id: str | None = None
    error: str | None = None
    #: what the user should know of rows that landed (timestamps read as UTC for want of an
    #: offset), printed under the table
    notes: list[str] = field(default_factory=list)
    #: the most frequent reasons of this file's quarantined rows, with their counts, and how
    #: many distinct reasons there are in all
    quarantine_reasons: list[tuple[str, int]] = field(default_factory=list)
    distinct_reasons: int = 0

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def balanced(self) -> bool:
        """Nothing silently dropped: every row read went somewhere."""
        return (
            self.rows_read == self.accepted + self.duplicates + self.collisions + self.quarantined
        )


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)

    @property
    def failed_files(self) -> list[FileResult]:
        return [result for result in self.files if result.failed]

    @property
    def rows_read(self) -> int:
        return sum(result.rows_read for result in self.files)

    @property
    def accepted(self) -> int:
        return sum(result.accepted for result in self.files)

    @property
    def duplicates(self) -> int:
        return sum(result.duplicates for result in self.files)

    @property
    def collisions(self) -> int:
        return sum(result.collisions for result in self.files)

    @property
    def quarantined(self) -> int:
        return sum(result.quarantined for result in self.files)

    def format(self) -> str:
        """A plain-text table: one line per file, then the totals, then any file errors."""
        header = ("file", "kind", "read", "accepted", "duplicates", "collisions", "quarantined")
        rows: list[tuple[str, ...]] = []
        for result in self.files:
            kind = result.kind.value if result.kind else "-"
            if result.failed:
                rows.append((result.path.name, kind, "-", "-", "-", "-", "-"))
            else:
                rows.append((result.path.name, kind, *(f"{getattr(result, c):,}" for c in _COUNTS)))
        rows.append(("total", "", *(f"{getattr(self, c):,}" for c in _COUNTS)))
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

        def line(cells: tuple[str, ...]) -> str:
            left = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
            right = [cell.rjust(width) for cell, width in zip(cells[2:], widths[2:], strict=True)]
            return "  ".join(left + right).rstrip()

        lines = [line(header), *(line(row) for row in rows)]
        for result in self.files:
            lines.extend(f"note: {result.path.name}: {note}" for note in result.notes)
        for result in self.files:
            for reason, count in result.quarantine_reasons:
                lines.append(f"quarantined: {result.path.name}: {count:,} × {reason}")
            if result.distinct_reasons > len(result.quarantine_reasons):
                others = result.distinct_reasons - len(result.quarantine_reasons)
                lines.append(f"quarantined: {result.path.name}: … and {others:,} other reasons")
        if any(result.quarantine_reasons for result in self.files):
            lines.append("every quarantined row, its reason and record: flowledger quarantine")
        for result in self.failed_files:
            lines.append(f"error: {result.error}")
        return shown("\n".join(lines))


def shown(text: str) -> str:
    """``text`` as ingest prints it: file and column names and quoted values may hold secrets
    (`exports/token=ghp_…/runs.ndjson`, a header `password=…`), and printed lines end up in
    cron mails, CI logs and journals, where no secret may go."""
    return scrub_secrets(text) if may_hold_a_secret(text) else text


def shown_progress(progress: Callable[[str], None] | None) -> Callable[[str], None]:
    """``progress`` (nothing when None), each message :func:`shown` first."""
    if progress is None:
        return lambda message: None
    return lambda message: progress(shown(message))
