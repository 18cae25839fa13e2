"""The dbt child process of a build: ``python -m flowledger.dbt_process ARGS`` runs ``dbt ARGS``.

It is dbt's own command line (:class:`dbt.cli.main.dbtRunner`: the same options, environment
variables, output and artifacts) with the exit codes of the ``dbt`` command: 0 when everything
passed, 1 when a node failed, 2 when dbt could not run. What differs is the end: once dbt is done
(its DuckDB connections closed, its artifacts and log written), the process ends without
Python's teardown of dbt's thousands of modules and objects, which took 0.5-1 s of every build
on 2 cores (measured with a 10M-event warehouse and with an empty one).
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import sys


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
    code = run(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()  # dbt's file log
    exit_function = getattr(multiprocessing.util, "_exit_function", None)
    if exit_function is not None:  # what multiprocessing's atexit does: run its finalizers
        exit_function()
    os._exit(code)


if __name__ == "__main__":
    main()
