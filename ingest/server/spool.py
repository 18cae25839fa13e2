"""The write-ahead spool: a 2xx answer means the records are in a file that was fsync'd.

Layout under ``<data dir>/spool/``::

    <stream>/<stamp>-<seq>.ndjson.open   the segment being appended to (one per stream)
    <stream>/<stamp>-<seq>.ndjson        sealed segments, waiting for the drainer

A *stream* is a record kind (``business_event``, ``flow_run``, ``step_run``,
``queue_depth_sample``) or ``quarantine``. Each line is one scrubbed record.

**Group commit.** Request handlers hand a :class:`SpoolWrite` to :meth:`Spool.append` and wait.
One writer thread takes every write queued since its last round, appends them, calls
``fdatasync`` once per touched segment (and fsyncs the directory when it created a segment),
and only then releases the waiting handlers. Under load many requests share one fsync.

**Crash safety.** A segment only ever grows by whole lines, and a write is acknowledged after
the fsync that covers it. After a ``kill -9`` the tail of an open segment may hold a line that
was never acknowledged, possibly cut in the middle: :meth:`Spool.recover` cuts every open
segment after its last newline and seals it. Complete but unacknowledged lines may survive;
clients re-send what they saw no answer for and the warehouse dedupes on the natural key.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("flowledger.receiver")

OPEN_SUFFIX = ".ndjson.open"
SEALED_SUFFIX = ".ndjson"
QUARANTINE_STREAM = "quarantine"


class SpoolError(RuntimeError):
    """The spool could not write (disk full, permissions); nothing was acknowledged."""


@dataclass
class SpoolWrite:
    """Lines per stream, written together; ``records`` counts the lines for the backlog."""

    lines: dict[str, list[bytes]] = field(default_factory=dict)

    def add(self, stream: str, line: bytes) -> None:
        self.lines.setdefault(stream, []).append(line)

    @property
    def records(self) -> int:
        return sum(len(lines) for lines in self.lines.values())

    def __bool__(self) -> bool:
        return any(self.lines.values())


@dataclass
class Segment:
    path: Path
    records: int

    @property
    def stream(self) -> str:
        return self.path.parent.name


class _OpenSegment:
    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / (name + OPEN_SUFFIX)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = 0
        self.records = 0
        self.opened = time.monotonic()

    def write(self, lines: list[bytes]) -> None:
        data = b"".join(lines)
        start = self.size
        try:
            view = memoryview(data)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except OSError:
            os.ftruncate(self.fd, start)  # never leave half a write behind
            raise
        self.size += len(data)
        self.records += len(lines)


@dataclass
class _Pending:
    write: SpoolWrite
    done: Callable[[BaseException | None], None]


class Spool:
    """Durable, group-committed appends; sealed segments for the drainer."""

    def __init__(
        self,
        root: Path,
        *,
        segment_bytes: int = 64 << 20,
        segment_seconds: float = 1.0,
        on_commit: Callable[[int, int, float], None] | None = None,
    ) -> None:
        self.root = root
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self._on_commit = on_commit or (lambda writes, records, seconds: None)
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._open: dict[str, _OpenSegment] = {}
        self._sealed: dict[Path, int] = {}
        self._sealed_lock = threading.Lock()
        self._counter = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.failed: BaseException | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.recover()
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for stream in list(self._open):
            self._seal(stream)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.failed is None

    def recover(self) -> None:
        """Seal what a previous process left open (cut after the last newline); count backlog.
        Logs what it found: after a crash, how many segments were left open, how many bytes of
        unacknowledged writes were cut, and the backlog the drainer will land."""
        left_open, cut_bytes = 0, 0
        for path in sorted(self.root.glob(f"*/*{OPEN_SUFFIX}")):
            left_open += 1
            cut_bytes += _cut_after_last_newline(path)
            sealed = path.with_name(path.name[: -len(".open")])
            os.replace(path, sealed)
            _fsync_dir(path.parent)
        with self._sealed_lock:
            for path in sorted(self.root.glob(f"*/*{SEALED_SUFFIX}")):
                if path not in self._sealed:
                    self._sealed[path] = _count_lines(path)
            backlog = sum(self._sealed.values())
        if left_open:
            log.warning(
                "spool recovery: %d segment(s) left open by a process that did not stop cleanly "
                "were sealed; %d byte(s) of an unacknowledged write cut; %d record(s) wait to "
                "be landed",
                left_open,
                cut_bytes,
                backlog,
            )
        elif backlog:
            log.info("spool: %d record(s) from before the start wait to be landed", backlog)

    # -- appending ----------------------------------------------------------------------------

    def submit(self, write: SpoolWrite, done: Callable[[BaseException | None], None]) -> None:
        with self._cond:
            if self._stopping:
                done(SpoolError("the receiver is shutting down; send again"))
                return
            self._pending.append(_Pending(write, done))
            self._cond.notify()

    async def append(self, write: SpoolWrite) -> None:
        """Return once ``write`` is on disk (fsync'd); raise :class:`SpoolError` otherwise."""
        if not write:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def done(error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, future, error)

        self.submit(write, done)
        await future

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending and not self._stopping:
                    self._cond.wait(timeout=self._wait_seconds())
                batch, self._pending = self._pending, []
                stopping = self._stopping
            if batch:
                self._commit(batch)
            self._seal_due()
            if stopping and not batch:
                return

    def _wait_seconds(self) -> float | None:
        if not self._open:
            return None
        oldest = min(segment.opened for segment in self._open.values())
        return max(0.01, oldest + self.segment_seconds - time.monotonic())

    def _commit(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        error: BaseException | None = None
        touched: dict[str, _OpenSegment] = {}
        created: set[Path] = set()
        records = 0
        try:
            for pending in batch:
                for stream, lines in pending.write.lines.items():
                    segment = self._open.get(stream)
                    if segment is None:
                        segment = self._open_segment(stream)
                        created.add(segment.path.parent)
                    segment.write(lines)
                    touched[stream] = segment
                records += pending.write.records
            for segment in touched.values():
                os.fdatasync(segment.fd)
            for directory in created:
                _fsync_dir(directory)
        except OSError as problem:
            error = SpoolError(f"the spool could not write to {self.root}: {problem.strerror}")
            self.failed = error
        for pending in batch:
            pending.done(error)
        if error is None:
            self.failed = None
            self._on_commit(len(batch), records, time.perf_counter() - started)

    def _open_segment(self, stream: str) -> _OpenSegment:
        directory = self.root / stream
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._counter += 1
        name = f"{time.time_ns():020d}-{os.getpid()}-{self._counter:06d}"
        segment = _OpenSegment(directory, name)
        self._open[stream] = segment
        return segment

    def _seal_due(self) -> None:
        now = time.monotonic()
        for stream, segment in list(self._open.items()):
            if segment.size >= self.segment_bytes or now - segment.opened >= self.segment_seconds:
                self._seal(stream)

    def _seal(self, stream: str) -> None:
        # The segment stays counted as open until, under the lock, it is counted as sealed: the
        # backlog never reads as drained while its records are being renamed and fsync'd.
        segment = self._open[stream]
        os.close(segment.fd)
        sealed = segment.path.with_name(segment.path.name[: -len(".open")])
        if segment.records == 0:
            segment.path.unlink(missing_ok=True)
            del self._open[stream]
            return
        os.replace(segment.path, sealed)
        _fsync_dir(sealed.parent)
        with self._sealed_lock:
            self._sealed[sealed] = segment.records
            del self._open[stream]

    # -- for the drainer ----------------------------------------------------------------------

    def sealed_segments(self) -> list[Segment]:
        with self._sealed_lock:
            return [Segment(path, count) for path, count in sorted(self._sealed.items())]

    def remove(self, segments: Iterable[Segment]) -> None:
        """Delete drained segments (their records are in the warehouse)."""
        directories = set()
        with self._sealed_lock:
            for segment in segments:
                segment.path.unlink(missing_ok=True)
                self._sealed.pop(segment.path, None)
                directories.add(segment.path.parent)
        for directory in directories:
            _fsync_dir(directory)

    @property
    def backlog_records(self) -> int:
        """Records on disk that the drainer has not yet moved into the warehouse."""
        with self._sealed_lock:  # both under the lock: a segment being sealed counts once
            sealed = sum(self._sealed.values())
            return sealed + sum(segment.records for segment in list(self._open.values()))


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _cut_after_last_newline(path: Path) -> int:
    """Cut a torn last line off ``path``; returns how many bytes were cut."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "r+b") as handle:
        block = 1 << 16
        end = size
        while end > 0:
            start = max(0, end - block)
            handle.seek(start)
            chunk = handle.read(end - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            end = start
        else:
            keep = 0
        if keep != size:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        return size - keep


def _count_lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
