"""The background builder: ``flowledger build`` on a schedule, in a child process.

The build holds the warehouse writer lock while dbt runs; meanwhile the drainer's rounds find
the lock busy and skip, and the receiver keeps acknowledging into the spool, which the next
drain round lands. Intake never waits for a build. Output goes to ``<data dir>/logs/builder.log``.
The builds' dbt processes are forked from a dbt fork server the builder starts with its first
build (flowledger/dbt_forkserver.py): dbt is imported once, not once per build.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from flowledger.dbt_forkserver import SOCKET_ENV, ForkServer
from flowledger.settings import PROJECT_ROOT, DataDir
from ingest.server.metrics import Metrics


class Builder:
    def __init__(self, data_dir: DataDir, every_s: float, metrics: Metrics) -> None:
        self.data_dir = data_dir
        self.every_s = every_s
        self.metrics = metrics
        self._stop = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self.last_finished: float | None = None
        self.last_ok: bool | None = None
        self._fork_server = ForkServer()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="builder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._fork_server.stop()

    def _run(self) -> None:
        while not self._stop.wait(timeout=self.every_s):
            self.build_once()

    def build_once(self) -> bool:
        logs = self.data_dir.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "flowledger.cli",
            "--data-dir",
            str(self.data_dir.root),
            "build",
            "--quiet",
        ]
        env = dict(os.environ)
        if os.environ.get(SOCKET_ENV) is None:
            socket_path = self._fork_server.socket_path or self._fork_server.start()
            if socket_path is not None:
                env[SOCKET_ENV] = socket_path
        with open(logs / "builder.log", "ab") as log:
            log.write(f"--- build started {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
            log.flush()
            self._child = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            code = self._child.wait()
            self._child = None
        self.last_ok = code == 0
        self.last_finished = time.time()
        self.metrics.inc("flowledger_builds_total", result="ok" if self.last_ok else "failed")
        return self.last_ok
