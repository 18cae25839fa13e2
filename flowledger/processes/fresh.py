"""``flowledger kpi process NAME --fresh``: the KPI document computed now from the landed events.

The same SQL as ``flowledger build`` (the compiled dbt models of the marts the document reads and
their parents, flowledger/direct_build.py), run in memory over the warehouse's raw tables without
starting dbt; nothing is written to the warehouse or published. The document is the one
``flowledger kpi process NAME`` prints after a build of the same data, ``built_at`` aside.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowledger.direct_build import DirectBuildFailed, NothingIngested, compiled_plan, run_plan
from flowledger.processes.config import load_config
from flowledger.processes.kpis import MARTS_READ, UnknownProcess, process_kpis
from flowledger.settings import DataDir
from flowledger.warehouse import MARTS_CATALOG, META_TABLE, writer_lock

#: fct_flow_runs too: the data's as-of time is the newest event or run, as after a build
FRESH_MARTS = (*MARTS_READ, "fct_flow_runs")
FRESH_ORIGIN = ("the landed events", "ingest its events (`flowledger ingest ... --process NAME`)")


@dataclass(frozen=True)
class FreshKpis:
    document: dict[str, Any]
    compile_seconds: float | None  # None: the compiled plan was cached
    compute_seconds: float


def fresh_process_kpis(data_dir: DataDir, name: str) -> FreshKpis:
    """The KPI document of process ``name`` from the events landed in ``data_dir`` now.

    Raises ConfigError (invalid process configuration), NothingIngested / DirectBuildFailed
    (flowledger.direct_build) and UnknownProcess (no case of ``name``).
    """
    from flowledger.build import BuildFailed, marts_data_as_of
    from flowledger.build import dbt_vars as build_vars

    config = load_config(data_dir.root)
    if name not in config.processes:
        raise UnknownProcess(
            f"process {name!r} is not declared in {', '.join(map(str, config.files))} "
            f"(declared: {', '.join(config.processes) or 'none'}); check the name or declare it "
            "(docs/processes.md)"
        )
    if not data_dir.warehouse.exists():
        raise NothingIngested(
            f"nothing was ingested in {data_dir.root} yet: "
            f"`flowledger ingest ... --process {name}` first"
        )
    try:
        all_vars = build_vars(data_dir)  # the vars of a build: the same compiled SQL
    except BuildFailed as error:
        raise DirectBuildFailed(str(error)) from None
    compiled = compiled_plan(data_dir, FRESH_MARTS, all_vars)
    started = time.perf_counter()
    with writer_lock(data_dir):
        con = run_plan(compiled.plan, data_dir.warehouse)
    try:
        data_as_of = marts_data_as_of(con)
        con.execute(f"use {MARTS_CATALOG}")
        con.execute(f"create table {META_TABLE} (built_at varchar, data_as_of varchar)")
        con.execute(
            f"insert into {META_TABLE} values (?, ?)",
            [datetime.now(UTC).isoformat(timespec="seconds"), data_as_of or ""],
        )
        document = process_kpis(con, name, FRESH_ORIGIN)
    finally:
        con.close()
    return FreshKpis(document, compiled.compile_seconds, time.perf_counter() - started)
