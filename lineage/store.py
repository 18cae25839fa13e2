"""Durable storage of OpenLineage events: append-only NDJSON files under ``<data dir>/lineage/``.

An event is acknowledged only after its line is written and fsync'd (``events-<UTC day>.ndjson``),
under an advisory lock so the server and CLI commands can append at the same time. The graph is
rebuilt in memory from the files, and kept: a reader re-reads only the bytes appended since.
A stored event with a value of another JSON type than the OpenLineage schemas give (intake
refuses those since 2026-12-07; an older version stored them, or a hand-edited file) is passed
over by every reader, with a warning, instead of stopping them all.

Nothing here touches ``warehouse.duckdb`` (which ingest and dbt lock).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowledger.settings import DataDir
from ingest.scrub import scrub_secrets_in
from lineage.event_order import epoch_seconds
from lineage.graph import LineageGraph
from lineage.schemas import type_problems

log = logging.getLogger(__name__)

EVENT_FILE_GLOB = "events-*.ndjson"


def lineage_dir(data_dir: DataDir) -> Path:
    return data_dir.root / "lineage"


@dataclass(frozen=True)
class StoredEvent:
    received_at: str
    event: dict[str, Any]


class LineageStore:
    """Append events durably; read them back as a list or as a :class:`LineageGraph`."""

    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir
        self.root = lineage_dir(data_dir)
        self._graph: LineageGraph | None = None
        self._offsets: dict[str, int] = {}
        self._mutex = threading.Lock()

    # ------------------------------------------------------------------ writing

    def append(self, events: Sequence[dict[str, Any]]) -> int:
        """Write ``events`` (already validated), their secrets scrubbed (:func:`scrub_secrets_in`:
        a facet's token, a password in a job's SQL or a namespace's URL), and fsync before
        returning; returns how many."""
        if not events:
            return 0
        events = [scrub_secrets_in(event) for event in events]
        self.root.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        received = now.isoformat(timespec="microseconds").replace("+00:00", "Z")
        lines = b"".join(
            json.dumps({"receivedAt": received, "event": event}, separators=(",", ":")).encode()
            + b"\n"
            for event in events
        )
        path = self.root / f"events-{now:%Y%m%d}.ndjson"
        with self._locked():
            new_file = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    # the torn end of a write a crash cut short (its request was not answered
                    # 2xx): cut it off, or the next event would be glued onto it and lost
                    size -= len(_torn_tail(fd, size))
                    os.ftruncate(fd, size)
                try:
                    view = memoryview(lines)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                    os.fsync(fd)
                except BaseException:
                    # a full disk, a file size limit: leave no half line behind (the request
                    # is answered 503, and the client sends the events again)
                    os.ftruncate(fd, size)
                    os.fsync(fd)
                    raise
            finally:
                os.close(fd)
            if new_file:
                _fsync_dir(self.root)
        return len(events)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ reading

    def files(self) -> list[Path]:
        if not self.root.exists():
            return []
        return sorted(self.root.glob(EVENT_FILE_GLOB))

    def iter_stored(self) -> Iterator[StoredEvent]:
        for path in self.files():
            yield from _read_lines(path, 0)[0]

    def events(self) -> list[dict[str, Any]]:
        return [stored.event for stored in self.iter_stored()]

    def graph(self) -> LineageGraph:
        """The graph of every stored event; refreshed with what was appended since last time."""
        with self._mutex:
            if self._graph is None:
                self._graph = LineageGraph()
                self._offsets = {}
            for path in self.files():
                start = self._offsets.get(path.name, 0)
                stored, end = _read_lines(path, start)
                # in event-time order: by instant, as eventTimes differ in offset and precision
                for item in sorted(
                    stored, key=lambda s: epoch_seconds(str(s.event.get("eventTime") or ""))
                ):
                    self._graph.add_event(item.event)
                self._offsets[path.name] = end
            return self._graph


def _read_lines(path: Path, start: int) -> tuple[list[StoredEvent], int]:
    """Complete lines from byte ``start``; a torn last line (a crash mid-write) is left for later."""
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read()
    end = data.rfind(b"\n") + 1
    stored = []
    for line in data[:end].splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # only a torn line can be malformed: appends are whole lines
        event = record.get("event") if isinstance(record, dict) else None
        problem = _type_problem(line, event)
        if problem is not None:
            log.warning("%s: a stored event is passed over: %s", path.name, problem)
            continue
        stored.append(StoredEvent(record.get("receivedAt", ""), event))
    return stored, start + end


#: The type check's verdict on each stored line, by the line's hash: every read of the whole
#: store (``events()``, which several API reads call) would otherwise walk the schemas for
#: every event again (about 0.1-0.9 ms each, against 20 µs to parse the line).
_CHECKED: dict[int, str | None] = {}
_CHECKED_MAX = 200_000


def _type_problem(line: bytes, event: Any) -> str | None:
    key = hash(line)
    if key in _CHECKED:
        return _CHECKED[key]
    problems = type_problems(event) if isinstance(event, dict) else ["not a JSON object"]
    if len(_CHECKED) >= _CHECKED_MAX:
        _CHECKED.clear()
    _CHECKED[key] = problems[0] if problems else None
    return _CHECKED[key]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _torn_tail(fd: int, size: int) -> bytes:
    """The bytes after the last newline of a file of ``size`` bytes (all of it when it holds
    none), read backwards in blocks."""
    end = size
    while end > 0:
        start = max(0, end - 65536)
        block = os.pread(fd, end - start, start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return os.pread(fd, size - (start + newline + 1), start + newline + 1)
        end = start
    return os.pread(fd, size, 0)
