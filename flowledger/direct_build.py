"""Run the compiled SQL of some dbt models without dbt: the same SQL, none of dbt's start-up.

A dbt invocation spends seconds starting, parsing and running tests before the first query; for a
question asked now of the landed events (``flowledger kpi process NAME --fresh``) that is most of
the time. The SQL of the dbt models stays the one definition of every figure; this module only
executes it:

1. :func:`compiled_plan` runs ``dbt compile --full-refresh`` once for a set of marts and their
   parents (incremental models compile as a full rebuild), and keeps each model's compiled SELECT,
   in DAG order, as a plan file under ``<data dir>/direct_build/``. The plan is keyed by a digest
   of models/, macros/, dbt_project.yml, profiles.yml, the dbt version, the ``--vars`` and the
   marts asked for, so editing a model or the process configuration compiles again.
2. :func:`run_plan` executes the plan in one in-process DuckDB connection: in-memory catalogs
   named like the warehouse (whose raw tables are views over the warehouse file opened
   read-only) and like the marts file get one table (or view) per model. Nothing is written to
   the warehouse or published.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from flowledger.settings import PROJECT_ROOT, DataDir

PLAN_FORMAT = 2
PLANS_KEPT = 4
#: what the compiled SQL depends on besides the --vars
PROJECT_INPUTS = ("models", "macros", "dbt_project.yml", "profiles.yml")


class DirectBuildFailed(RuntimeError):
    """The plan could not be compiled or executed; the message says which step and why."""


class NothingIngested(DirectBuildFailed):
    """The warehouse holds no raw tables yet."""


@dataclass(frozen=True)
class Step:
    """One model: where it goes and the SELECT that fills it."""

    model: str
    database: str
    schema: str
    materialized: str  # "view" or "table"
    sql: str


@dataclass(frozen=True)
class Plan:
    """The models to run, parents first, and the warehouse tables they read (sources, seeds)."""

    database: str  # of the warehouse, where the sources are
    sources: tuple[tuple[str, str], ...]  # (schema, table)
    steps: tuple[Step, ...]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": PLAN_FORMAT,
                "database": self.database,
                "sources": self.sources,
                "steps": [vars(step) for step in self.steps],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        return cls(
            database=data["database"],
            sources=tuple(tuple(source) for source in data["sources"]),
            steps=tuple(Step(**step) for step in data["steps"]),
        )


@dataclass(frozen=True)
class CompiledPlan:
    plan: Plan
    path: Path
    compile_seconds: float | None  # None: taken from the cache


def plan_key(marts: Sequence[str], dbt_vars: dict[str, Any], root: Path = PROJECT_ROOT) -> str:
    """Digest of everything the compiled SQL of ``marts`` depends on (not the data)."""
    digest = hashlib.sha256()
    digest.update(f"format {PLAN_FORMAT}; dbt-core {version('dbt-core')}; ".encode())
    digest.update(f"dbt-duckdb {version('dbt-duckdb')}\n".encode())
    digest.update(json.dumps(sorted(marts)).encode() + b"\n")
    digest.update(json.dumps(dbt_vars, sort_keys=True, default=str).encode() + b"\n")
    for path in _project_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def _project_files(root: Path) -> Iterable[Path]:
    for name in PROJECT_INPUTS:
        path = root / name
        if path.is_dir():
            yield from sorted(file for file in path.rglob("*") if file.is_file())
        elif path.exists():
            yield path


def plans_dir(data_dir: DataDir) -> Path:
    return data_dir.root / "direct_build"


def compiled_plan(
    data_dir: DataDir, marts: Sequence[str], dbt_vars: dict[str, Any]
) -> CompiledPlan:
    """The plan for ``marts`` and their parents: from the cache, else compiled by dbt now."""
    from flowledger.warehouse import writer_lock

    key = plan_key(marts, dbt_vars)
    path = plans_dir(data_dir) / f"plan-{key}.json"
    if path.exists():
        return CompiledPlan(Plan.from_json(path.read_text()), path, None)
    started = time.perf_counter()
    with writer_lock(data_dir):  # dbt opens the warehouse; one compile at a time
        if path.exists():  # compiled by another process while this one waited
            return CompiledPlan(Plan.from_json(path.read_text()), path, None)
        _ensure_raw(data_dir)
        manifest = _compile(data_dir, marts, dbt_vars, plans_dir(data_dir) / f"target-{key}")
        plan = plan_from_manifest(manifest, marts)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(plan.to_json())
        tmp.replace(path)
        _remove_old(path)
    return CompiledPlan(plan, path, time.perf_counter() - started)


def _compile(
    data_dir: DataDir, marts: Sequence[str], dbt_vars: dict[str, Any], target: Path
) -> dict[str, Any]:
    """``dbt compile --full-refresh`` of ``marts`` and their parents into its own target path
    (the build's target, which lineage reads, is left alone)."""
    import shutil
    import subprocess

    from flowledger.build import dbt_command

    args = ["compile", "--full-refresh", "--select", *(f"+{mart}" for mart in marts)]
    # from the raw rows alone: no model reads back what its last build kept (built_before_purge)
    from_raw = {**dbt_vars, "flowledger_from_raw": True}
    dbt = dbt_command(data_dir, [*args, "--vars", json.dumps(from_raw)])
    dbt.argv[dbt.argv.index("--target-path") + 1] = str(target.absolute())
    result = subprocess.run(dbt.argv, cwd=dbt.cwd, env=dbt.env, capture_output=True, text=True)
    try:
        if result.returncode:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
            raise DirectBuildFailed(
                f"dbt {' '.join(args)} failed (exit {result.returncode}):\n{tail}"
            )
        return json.loads((target / "manifest.json").read_text())
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _ensure_raw(data_dir: DataDir) -> None:
    from flowledger.warehouse import connect_warehouse
    from ingest import ensure_raw_tables

    data_dir.ensure()
    con = connect_warehouse(data_dir)
    try:
        ensure_raw_tables(con)
    finally:
        con.close()


def plan_from_manifest(manifest: dict[str, Any], marts: Sequence[str]) -> Plan:
    """The compiled models ``marts`` depend on (themselves included), parents first."""
    nodes = manifest["nodes"]
    by_name = {
        node["name"]: unique_id
        for unique_id, node in nodes.items()
        if node["resource_type"] == "model"
    }
    missing = [mart for mart in marts if mart not in by_name]
    if missing:
        raise DirectBuildFailed(f"no dbt model named {', '.join(missing)}")
    ordered: list[str] = []
    sources: set[tuple[str, str]] = set()
    databases: set[str] = set()

    def visit(unique_id: str) -> None:
        if unique_id in ordered:
            return
        if unique_id.startswith("source."):  # a raw table
            source = manifest["sources"][unique_id]
            sources.add((source["schema"], source["identifier"]))
            databases.add(source["database"])
            return
        if nodes[unique_id]["resource_type"] == "seed":  # loaded into the warehouse by a build
            sources.add((nodes[unique_id]["schema"], nodes[unique_id]["alias"]))
            databases.add(nodes[unique_id]["database"])
            return
        for parent in nodes[unique_id]["depends_on"]["nodes"]:
            visit(parent)
        ordered.append(unique_id)

    for mart in marts:
        visit(by_name[mart])
    steps = []
    for unique_id in ordered:
        node = nodes[unique_id]
        if node["resource_type"] != "model":
            continue
        if node.get("compiled_code") is None:
            raise DirectBuildFailed(f"dbt did not compile {node['name']}")
        materialized = "view" if node["config"]["materialized"] == "view" else "table"
        steps.append(
            Step(
                node["alias"],
                node["database"],
                node["schema"],
                materialized,
                node["compiled_code"].strip(),
            )
        )
    if len(databases) != 1:
        raise DirectBuildFailed(
            f"the sources of {', '.join(marts)} are in {len(databases)} databases, not one"
        )
    return Plan(databases.pop(), tuple(sorted(sources)), tuple(steps))


def _remove_old(keep: Path) -> None:
    plans = sorted(keep.parent.glob("plan-*.json"), key=lambda path: path.stat().st_mtime)
    for path in plans[:-PLANS_KEPT]:
        if path != keep:
            path.unlink(missing_ok=True)


def run_plan(
    plan: Plan, warehouse: Path, echo: Callable[[str], None] | None = None
) -> duckdb.DuckDBPyConnection:
    """Execute ``plan`` over the raw tables of ``warehouse`` (opened read-only) in memory.

    Returns the in-memory connection, its catalogs named like the warehouse (``plan.database``,
    the one in use) and the marts file, so that the compiled relation names (and
    ``marts.<table>``) resolve, holding every model materialized as a table
    (views over the raw tables are no longer readable: the warehouse file is detached before
    returning); the caller closes it. The caller holds the data directory's writer lock, so no
    ingest writes the file meanwhile.
    """
    if not warehouse.exists():
        raise NothingIngested(f"{warehouse} does not exist: nothing was ingested yet")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{warehouse}' as landed (read_only)")
        landed = {
            (schema, table)
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = 'landed'"
            ).fetchall()
        }
        absent = [
            f"{schema}.{table}" for schema, table in plan.sources if (schema, table) not in landed
        ]
        if absent:
            raise NothingIngested(
                f"{warehouse} has no table {', '.join(absent)}: nothing was ingested yet "
                "(or, for a seed table, never built: run `flowledger build` once)"
            )
        schemas = {(plan.database, schema) for schema, _ in plan.sources} | {
            (step.database, step.schema) for step in plan.steps
        }
        for database in sorted({database for database, _ in schemas}):
            con.execute(f"attach ':memory:' as \"{database}\"")
        con.execute(f'use "{plan.database}"')
        for database, schema in sorted(schemas):
            con.execute(f'create schema if not exists "{database}"."{schema}"')
        for schema, table in plan.sources:
            con.execute(
                f'create view "{schema}"."{table}" as select * from landed."{schema}"."{table}"'
            )
        for step in plan.steps:
            started, cpu = time.perf_counter(), time.process_time()
            relation = f'"{step.database}"."{step.schema}"."{step.model}"'
            try:
                con.execute(f"create {step.materialized} {relation} as\n{step.sql}\n")
            except duckdb.Error as error:
                raise DirectBuildFailed(f"model {step.model} failed: {error}") from None
            if echo:  # CPU: every thread of this process (DuckDB's included)
                echo(
                    f"{step.model}: {time.perf_counter() - started:.2f}s "
                    f"(CPU {time.process_time() - cpu:.2f}s)"
                )
        con.execute("detach landed")  # release the file; the views over raw tables go with it
    except BaseException:
        con.close()
        raise
    return con
