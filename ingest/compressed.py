"""Compressed export files: ``runs.ndjson.gz`` is ingested as the ``runs.ndjson`` it holds.

Automation platforms and object stores hand exports over gzip-, bzip2- or xz-compressed. The
readers need a file they can read more than once (a quarantined line is read again from it), so
the file is decompressed, streaming, into a scratch directory beside the warehouse (not /tmp: a
10M-event export is gigabytes) and removed when its landing is done. A file that is not what its
suffix says, or that is cut short, is refused with the reason; nothing of it lands.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ingest.readers import COMPRESSION_SUFFIXES, FORMAT_BY_SUFFIX, UnreadableFile

#: How to open a file compressed as its last suffix says (each opener takes the path and "rb").
OPENERS: dict[str, Callable[[Path, str], IO[bytes]]] = dict(
    zip(COMPRESSION_SUFFIXES, (gzip.open, gzip.open, bz2.open, lzma.open), strict=True)
)
_CHUNK = 1 << 20
#: What reading a compressed file raises when it is not that compression, or is cut short.
DECOMPRESSION_ERRORS = (OSError, EOFError, lzma.LZMAError)


def open_binary(path: Path) -> IO[bytes]:
    """``path`` opened for reading its bytes, decompressed as its last suffix says (an event
    log read once, front to back: ``log.xes.gz``); reading it may raise
    :data:`DECOMPRESSION_ERRORS`."""
    opener = OPENERS.get(path.suffix.lower())
    return opener(path, "rb") if opener is not None else path.open("rb")


_SCRATCH_PREFIX = ".ingest-"


@contextmanager
def decompressed(path: Path, scratch_root: Path) -> Iterator[Path]:
    """``path`` itself when it is not compressed; else its content, decompressed into a scratch
    directory under ``scratch_root`` under the name it has without the compression suffix,
    removed on exit.

    Raises :class:`UnreadableFile` when the name does not say which format the file holds, when
    the file is missing, or when it cannot be decompressed (not that compression, truncated).
    """
    opener = OPENERS.get(path.suffix.lower())
    if opener is None:
        yield path
        return
    inner = Path(path.stem)
    if inner.suffix.lower() not in FORMAT_BY_SUFFIX:
        raise UnreadableFile(
            f"{path}: a compressed file is read as the format its name gives before "
            f"{path.suffix!r} (e.g. runs.ndjson{path.suffix}); expected one of "
            f"{', '.join(FORMAT_BY_SUFFIX)} before it"
        )
    if not path.is_file():
        raise UnreadableFile(
            f"{path}: no such file" if not path.exists() else f"{path}: not a regular file"
        )
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch_root, prefix=_SCRATCH_PREFIX) as scratch:
        target = Path(scratch) / inner.name
        try:
            with opener(path, "rb") as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
        except (*DECOMPRESSION_ERRORS, ValueError) as error:
            raise UnreadableFile(
                f"{path}: cannot be decompressed as {path.suffix} ({_reason(error)})"
            ) from error
        yield target


def remove_stale_scratch(scratch_root: Path) -> None:
    """Remove the scratch directories an ingest stopped before its end left (``kill -9``
    while a file was being decompressed). Called under the writer lock: no other ingest is
    using one."""
    for stale in scratch_root.glob(_SCRATCH_PREFIX + "*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


def _reason(error: Any) -> str:
    text = str(error)
    if isinstance(error, EOFError):
        return f"the file is cut short: {text}" if text else "the file is cut short"
    return text or type(error).__name__
