"""A process that imports dbt once and forks a ready dbt process for each build that asks.

Every build runs dbt in a child process (:mod:`flowledger.dbt_process`), and each child imports
dbt and its DuckDB adapter first: ~2 s of CPU on 2 cores, before dbt parses anything. Where builds
come one after another in one place (a test session, a long-running service), a fork server
pays that once: ``python -m flowledger.dbt_forkserver SOCKET`` imports dbt, listens on the Unix
socket ``SOCKET`` and, for each connection, forks a child that already holds dbt in memory. A
build finds the server through :data:`SOCKET_ENV` (:class:`flowledger.dbt_process.DbtChild`);
without it, or when the server does not answer, the build starts its own process as before.

The protocol, one connection per dbt run:

* the client sends an 8-byte length and, with it (``SCM_RIGHTS``), the write end of the pipe
  that is to be the child's stdout and stderr, then the JSON request
  ``{"argv": [...], "env": {...}, "cwd": "..."}``;
* the forked child answers its pid (a line), runs ``dbt argv`` with that environment in that
  directory, answers its exit code (a line) and ends;
* a client that closes the connection before the exit code (it was killed, or stops the build)
  ends the child at once, as a build's own dbt process ends with the build.

The server holds no state between runs: each child starts from the server's memory as it was
right after the imports (its only other thread, the watchdog that ends it with the process that
started it, holds no lock a child could need), and the server ignores SIGCHLD, so finished
children are reaped by the kernel.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

#: the environment variable naming the fork server's socket
SOCKET_ENV = "FLOWLEDGER_DBT_FORKSERVER"
_LENGTH_BYTES = 8


class ForkedDbt:
    """A dbt run in a child of the fork server, with the part of :class:`subprocess.Popen` a
    build uses: ``stdout`` (text lines), :meth:`wait`, :meth:`poll`, :meth:`kill`, ``pid``."""

    def __init__(
        self, connection: socket.socket, answers: BinaryIO, pid: int, stdout_fd: int
    ) -> None:
        self._connection = connection
        self._answers = answers  # the reader the pid was read with: it may hold the exit code
        self.pid = pid
        self.stdout = os.fdopen(stdout_fd, encoding="utf-8", errors="replace")
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._connection.settimeout(timeout)
            line = self._answers.readline()
            # no exit code: the child was killed (or the server's child crashed)
            self.returncode = int(line) if line.strip() else -signal.SIGKILL
            self._close_connection()
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None:
            readable, _, _ = select.select([self._connection], [], [], 0)
            if not readable:
                return None
            self.wait()
        return self.returncode

    def kill(self) -> None:
        """End the run: the child ends when the connection closes (and is sent SIGKILL, so it
        is gone, its DuckDB handles with it, by the time :meth:`wait` returns)."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)
            self._close_connection()
            self.returncode = -signal.SIGKILL
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the server's child: gone once reaped
                try:
                    os.kill(self.pid, 0)
                except (ProcessLookupError, PermissionError):
                    break
                time.sleep(0.01)

    def _close_connection(self) -> None:
        with contextlib.suppress(OSError):
            self._answers.close()
            self._connection.close()


class ForkServer:
    """A fork server this process starts (it ends with this process): the test session's, or
    the background builder's of ``flowledger serve``. Its socket is in a directory of its own
    under the temporary directory (a Unix socket's path is limited to ~100 bytes)."""

    def __init__(self) -> None:
        self.socket_path: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: str | None = None

    def start(self) -> str | None:
        """Start the server; its socket path, or None when it did not start (builds then start
        their own dbt processes)."""
        self._directory = tempfile.mkdtemp(prefix="flowledger-dbt-")
        socket_path = os.path.join(self._directory, "sock")
        self._process = subprocess.Popen(
            # -P: nothing in the directory it starts in shadows a module (as dbt_process)
            [sys.executable, "-P", "-m", __name__, socket_path, str(os.getpid())],
            stdout=subprocess.PIPE,
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != b"ready":
            self.stop()
            return None
        self.socket_path = socket_path
        return socket_path

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        self.socket_path = None


def fork_dbt(argv: Sequence[str], env: dict[str, str], cwd: Path) -> ForkedDbt | None:
    """``dbt argv`` forked by the server :data:`SOCKET_ENV` names; None when no server is set
    or it does not answer (the caller then starts its own dbt process)."""
    path = os.environ.get(SOCKET_ENV)
    if not path:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    read_end, write_end = os.pipe()
    try:
        connection.connect(path)
        request = json.dumps({"argv": list(argv), "env": env, "cwd": str(cwd)}).encode()
        socket.send_fds(connection, [len(request).to_bytes(_LENGTH_BYTES, "big")], [write_end])
        connection.sendall(request)
        os.close(write_end)
        write_end = -1
        answers = connection.makefile("rb")
        pid = int(answers.readline())
    except (OSError, ValueError):
        connection.close()
        os.close(read_end)
        if write_end != -1:
            os.close(write_end)
        return None
    return ForkedDbt(connection, answers, pid, read_end)


def serve(path: Path) -> None:
    """Import dbt, then fork a dbt run for each connection on ``path`` (until killed)."""
    import dbt.cli.main  # noqa: F401  (the point of the server)

    with contextlib.suppress(ImportError):
        import dbt.adapters.duckdb  # noqa: F401
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            listener.close()
            _run_forked(connection)  # never returns
        connection.close()


def _received(connection: socket.socket) -> tuple[dict, int]:
    header, fds, _flags, _address = socket.recv_fds(connection, _LENGTH_BYTES, 1)
    if len(header) != _LENGTH_BYTES or len(fds) != 1:
        raise ValueError("not a dbt request")
    length = int.from_bytes(header, "big")
    body = bytearray()
    while len(body) < length:
        chunk = connection.recv(length - len(body))
        if not chunk:
            raise ValueError("the request ended early")
        body += chunk
    return json.loads(body), fds[0]


def _run_forked(connection: socket.socket) -> None:
    """The forked child: run the connection's request, answer its exit code, end."""
    from flowledger.dbt_process import finish, run

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # dbt and Spark wait for their own children
    try:
        request, output = _received(connection)
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(nothing)
        os.close(output)
        connection.sendall(f"{os.getpid()}\n".encode())
    except (OSError, ValueError):
        os._exit(2)

    def end_when_the_client_goes() -> None:
        with contextlib.suppress(OSError):
            while connection.recv(1):
                pass
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=end_when_the_client_goes, daemon=True).start()
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        code = run(request["argv"])
    except BaseException:  # dbt's own errors end in its exit code; anything else is a crash
        logging.getLogger(__name__).exception("dbt failed")
        code = 2
    finish()
    with contextlib.suppress(OSError):
        connection.sendall(f"{code}\n".encode())
    os._exit(code)


def main() -> None:
    from flowledger.parent_death import end_with_parent

    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m flowledger.dbt_forkserver SOCKET PARENT_PID")
    end_with_parent(int(sys.argv[2]))
    serve(Path(sys.argv[1]))


if __name__ == "__main__":
    main()
