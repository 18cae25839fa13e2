"""What the first block of a CSV file tells of how to read it: its separator and its encoding.

One answer for both CSV readers: the record files of ``flowledger ingest`` and the event logs of
``flowledger processes import`` (Excel's semicolons in much of Europe, a Windows export's cp1252).
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

DELIMITERS = (",", ";", "\t", "|")
#: bytes read to detect the separator
SNIFF_BYTES = 64 << 10


@dataclass(frozen=True)
class CsvDialect:
    """What the first block of a CSV file tells: its separator and its text encoding."""

    delimiter: str = ","
    #: "utf8" (pyarrow's default, a byte-order mark skipped), else a Windows export's "cp1252"
    #: or "latin-1"
    encoding: str = "utf8"

    @property
    def python_encoding(self) -> str:
        """The encoding as Python's ``open`` takes it (a byte-order mark skipped)."""
        return "utf-8-sig" if self.encoding == "utf8" else self.encoding


def _head(path: Path, size: int) -> tuple[bytes, bool]:
    """The first ``size`` bytes of the (maybe gzipped) file, and whether there is more."""
    # here, not at the top: ingest.compressed imports the readers, which import this module
    from ingest.compressed import open_binary

    with open_binary(path) as raw:
        head = raw.read(size)
        return head, bool(raw.read(1))


def _encoding(head: bytes, truncated: bool) -> str:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if not (truncated and error.start >= len(head) - 3):  # not a character cut by the sample
            for encoding in ("cp1252", "latin-1"):
                try:
                    head.decode(encoding)
                except UnicodeDecodeError:
                    continue
                return encoding
    return "utf8"


def sniff_dialect(path: Path) -> CsvDialect:
    """The encoding (UTF-8 unless the first block is not, then cp1252 or latin-1) and the
    separator: of , ; tab |, the one that splits the header into the most columns and every
    following line of the first block into as many (``,`` if none does). A ValueError when the
    file cannot be read."""
    from ingest.compressed import DECOMPRESSION_ERRORS

    try:
        head, truncated = _head(path, SNIFF_BYTES)
    except DECOMPRESSION_ERRORS as error:
        raise ValueError(f"{path}: cannot be read as CSV ({error})") from None
    encoding = _encoding(head, truncated)
    dialect = CsvDialect(encoding=encoding)
    text = head.decode(dialect.python_encoding, errors="replace")
    best, best_width, best_consistent = ",", 1, False
    for delimiter in DELIMITERS:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        widths = [len(row) for row in itertools.islice((r for r in rows if r), 51)]
        if truncated and len(widths) > 1:
            widths = widths[:-1]  # the last row may be cut by the sample
        if not widths or widths[0] < 2:
            continue
        consistent = all(width == widths[0] for width in widths)
        if (consistent, widths[0]) > (best_consistent, best_width):
            best, best_width, best_consistent = delimiter, widths[0], consistent
    return CsvDialect(best, encoding)
