"""The dbt child process of a build: ``python -m flowledger.dbt_process ARGS`` runs ``dbt ARGS``.

``python -m flowledger.dbt_process --await-request`` is the same with the arguments sent later:
it imports dbt and its DuckDB adapter (~2 s of every build on 2 cores), then reads one JSON line
from stdin, ``{"argv": [...], "env": {...}, "cwd": "..."}``, and runs ``dbt argv`` with that
environment in that directory. A build starts it first (:class:`DbtChild`) and sends the request
once it knows the arguments, so dbt's imports run on one core while the build readies the
warehouse on the other. End of stdin without a request ends it with exit 0, having run nothing.

It is dbt's own command line (:class:`dbt.cli.main.dbtRunner`: the same options, environment
variables, output and artifacts) with the exit codes of the ``dbt`` command: 0 when everything
passed, 1 when a node failed, 2 when dbt could not run. What differs is the end: once dbt is done
(its DuckDB connections closed, its artifacts and log written), the process ends without
Python's teardown of dbt's thousands of modules and objects, which took 0.5-1 s of every build
on 2 cores (measured with a 10M-event warehouse and with an empty one).
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowledger.dbt_forkserver import ForkedDbt

#: the argument that makes this process wait for its request on stdin
AWAIT_REQUEST = "--await-request"
#: the environment variable naming the process that started this one (see _end_with_parent)
PARENT_PID = "FLOWLEDGER_DBT_PARENT_PID"


def dbt_process_command(*args: str) -> list[str]:
    """This interpreter running this module, ``-P`` so that nothing in the directory it runs in
    shadows a module."""
    return [sys.executable, "-P", "-m", __name__, *args]


class DbtChild:
    """A dbt process started before its command is known (:data:`AWAIT_REQUEST`): it imports dbt
    (~2 s on 2 cores) while the caller readies the warehouse, then :meth:`send` gives it the
    command. Use it as a context manager: one never sent a command is stopped on leaving.

    Started with this process's environment; the command brings the environment and directory
    dbt runs with. Lightweight to import, so the command line can start it first thing.
    """

    def __init__(self) -> None:
        from flowledger.dbt_forkserver import SOCKET_ENV

        self.sent = False
        # a fork server holds dbt imported already: the process is forked when the command comes
        self.process: subprocess.Popen | ForkedDbt | None = (
            None if os.environ.get(SOCKET_ENV) else self._started()
        )

    @staticmethod
    def _started() -> subprocess.Popen:
        return subprocess.Popen(
            dbt_process_command(AWAIT_REQUEST),
            env={
                **os.environ,
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                PARENT_PID: str(os.getpid()),
            },
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def send(
        self, argv: Sequence[str], env: dict[str, str], cwd: Path
    ) -> subprocess.Popen | ForkedDbt:
        """Send ``dbt argv`` (once), to run with ``env`` in ``cwd``; return the process, whose
        output is dbt's."""
        if self.sent:
            raise RuntimeError("this dbt process has run its command already")
        self.sent = True
        if self.process is None:
            from flowledger.dbt_forkserver import fork_dbt

            forked = fork_dbt(argv, env, cwd)
            if forked is not None:
                self.process = forked
                return forked
            self.process = self._started()  # no fork server answered: a process of its own
        assert isinstance(self.process, subprocess.Popen)
        request = {"argv": list(argv), "env": env, "cwd": str(cwd)}
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass  # it ended before reading: its output and exit code say why
        return self.process

    def __enter__(self) -> DbtChild:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None:
            return
        if not self.sent:
            self.process.kill()
        self.process.wait()
        for stream in (getattr(self.process, "stdin", None), self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


def run_captured(
    argv: Sequence[str], env: dict[str, str], cwd: Path, timeout: float | None = None
) -> tuple[int, str]:
    """``dbt argv`` in a child process (forked by the fork server when one is set), its exit
    code and its output (stdout and stderr); killed after ``timeout`` seconds (exit code
    negative). For scripts and tests that run dbt the way a build does."""
    import threading

    with DbtChild() as started:
        child = started.send(argv, env, cwd)
        timer = threading.Timer(timeout, child.kill) if timeout else None
        if timer is not None:
            timer.start()
        try:
            assert child.stdout is not None
            output = child.stdout.read()
            code = child.wait()
        finally:
            if timer is not None:
                timer.cancel()
    return code, output


def run(argv: list[str]) -> int:
    """``dbt argv`` in this process; its exit code."""
    from dbt.cli.main import dbtRunner

    try:
        result = dbtRunner().invoke(argv)
    finally:
        _close_duckdb()
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


def run_request() -> int:
    """Import dbt, then run the request read from stdin (see the module's docstring)."""
    import dbt.cli.main  # noqa: F401  (the point: imported before the request comes)

    with contextlib.suppress(ImportError):  # dbt-duckdb missing: dbt says so at the profile
        import dbt.adapters.duckdb  # noqa: F401
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # the build stopped before it needed dbt
    request = json.loads(line)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    return run(request["argv"])


def _close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open until its exit hook (which ``os._exit``
    skips): closing checkpoints the write-ahead log into the database files."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter (Spark): nothing of DuckDB's to close
        return
    environment = DuckDBConnectionManager._ENV
    DuckDBConnectionManager.close_all_connections()
    if environment is not None:
        environment.close()


def _end_with_parent() -> None:
    """End with the build that started this process: a build killed or stopped (kill -9, a
    service manager's SIGTERM) left dbt running on, orphaned, holding DuckDB's lock on the
    warehouse after the build had let go of the writers' lock, so the next ingest or build met a
    locked file (and once wrote between dbt's connections)."""
    parent = os.environ.get(PARENT_PID)
    if parent is not None:
        from flowledger.parent_death import end_with_parent

        end_with_parent(int(parent))


def finish() -> None:
    """What must happen before ``os._exit`` skips Python's teardown: output flushed, dbt's file
    log closed, multiprocessing's finalizers run (as its atexit hook does)."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()  # dbt's file log
    exit_function = getattr(multiprocessing.util, "_exit_function", None)
    if exit_function is not None:
        exit_function()


def main() -> None:
    _end_with_parent()
    code = run_request() if sys.argv[1:] == [AWAIT_REQUEST] else run(sys.argv[1:])
    finish()
    os._exit(code)


if __name__ == "__main__":
    main()
