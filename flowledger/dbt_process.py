"""The dbt child process of a build: ``python -m flowledger.dbt_process ARGS`` runs ``dbt ARGS``.

``python -m flowledger.dbt_process --await-request`` is the same with the arguments sent later:
it imports dbt and its DuckDB adapter (~2 s of every build on 2 cores), then reads one JSON line
from stdin, ``{"argv": [...], "env": {...}, "cwd": "..."}``, and runs ``dbt argv`` with that
environment in that directory. A
build starts it first and sends the request once it knows the arguments, so dbt's imports run on
one core while the build readies the warehouse on the other. End of stdin without a request ends
it with exit 0, having run nothing.

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
import sys

#: the argument that makes this process wait for its request on stdin
AWAIT_REQUEST = "--await-request"


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


def main() -> None:
    code = run_request() if sys.argv[1:] == [AWAIT_REQUEST] else run(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()  # dbt's file log
    exit_function = getattr(multiprocessing.util, "_exit_function", None)
    if exit_function is not None:  # what multiprocessing's atexit does: run its finalizers
        exit_function()
    os._exit(code)


if __name__ == "__main__":
    main()
