"""A child process that must not outlive the process that started it (the receiver's landing
worker, a build's dbt): orphaned, it would hold DuckDB's lock on the warehouse with no one
left to wait for it."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time

_PR_SET_PDEATHSIG = 1


def end_with_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` does, even after a ``kill -9``: Linux's parent-death
    signal, and a watchdog thread where that is not available (or the thread that started this
    process ended before the process did). Ends at once when the parent is gone already."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
