"""One read-only connection per published snapshot, shared by every page of a process.

Opening a snapshot costs a DuckDB database open (catalog read, tens of ms, more on a busy
machine); a cursor on an open connection costs microseconds. So :class:`SnapshotReader` opens the
snapshot ``CURRENT`` names once, hands every query its own cursor (DuckDB cursors are the
thread-safe way to share one database between Streamlit's session threads) and closes the
connection of a snapshot once a newer one is current and its last cursor is done. A process
serves one data directory, so it holds one snapshot open (two while a publish is taken over).

``CURRENT`` is re-read on every query: a publish is picked up by the next cache miss, and a
running ingest or build never blocks a reader (snapshots are immutable files).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flowledger.settings import DataDir
from flowledger.warehouse import connect_snapshot, current_snapshot

OPEN_ATTEMPTS = 3


@dataclass
class _Shared:
    """An open snapshot, how many cursors use it, and whether a newer snapshot replaced it."""

    con: duckdb.DuckDBPyConnection
    users: int = 0
    retired: bool = False


@dataclass
class SnapshotReader:
    """The open snapshot of this process (and any replaced one still in use), by path."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _open: dict[Path, _Shared] = field(default_factory=dict)

    @contextmanager
    def cursor(
        self, data_dir: DataDir, snapshot: Path | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on ``snapshot`` (the one a page render pinned), by default on the newest
        published snapshot of ``data_dir``, closed on exit.

        Raises :class:`flowledger.warehouse.NothingPublished` before the first build and
        :class:`duckdb.Error` when the snapshot cannot be opened.
        """
        shared, cursor = self._acquire(data_dir, snapshot)
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                shared.users -= 1
                if shared.retired and not shared.users:
                    shared.con.close()

    def open_paths(self) -> list[Path]:
        """The snapshots this reader holds open (for tests and the benchmark)."""
        with self._lock:
            return sorted(self._open)

    def close(self) -> None:
        """Retire every snapshot; each closes once its last cursor is done."""
        with self._lock:
            for path in list(self._open):
                self._retire(path)

    def _acquire(
        self, data_dir: DataDir, snapshot: Path | None
    ) -> tuple[_Shared, duckdb.DuckDBPyConnection]:
        for attempt in range(OPEN_ATTEMPTS):
            # a pinned snapshot first; the newest once it is gone (or on a retry)
            path = snapshot if snapshot is not None and attempt == 0 else current_snapshot(data_dir)
            with self._lock:
                shared = self._open.get(path)
                if shared is None:
                    try:
                        shared = _Shared(connect_snapshot(path))
                    except duckdb.IOException:
                        # CURRENT moved on and the snapshot it named was removed meanwhile.
                        if attempt == OPEN_ATTEMPTS - 1:
                            raise
                        shared = None
                    else:
                        if path == current_snapshot(data_dir):
                            # the newest: the older ones close once their last cursor is done
                            # (a render that pinned one before the publish keeps it till then)
                            for other in list(self._open):
                                self._retire(other)
                        self._open[path] = shared
                if shared is not None:
                    shared.users += 1
                    try:
                        return shared, shared.con.cursor()
                    except BaseException:
                        shared.users -= 1
                        raise
            time.sleep(0.05)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retire(self, path: Path) -> None:
        """Forget ``path`` (lock held); close it now if no cursor uses it, else at the last one."""
        shared = self._open.pop(path)
        shared.retired = True
        if not shared.users:
            shared.con.close()
