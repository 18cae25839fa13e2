"""Build the dbt project into the warehouse and publish the marts for readers."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import duckdb

from flowledger import __version__, dbt_parse_cache
from flowledger.dbt_process import DbtChild, dbt_process_command
from flowledger.retention import forget_cases_with_purged_payloads
from flowledger.settings import PROJECT_ROOT, DataDir
from flowledger.warehouse import (
    MARTS_CATALOG,
    WarehouseBusy,
    connect_warehouse,
    own_marts_file,
    publish,
    purged_since_published,
    rewrite_database_file,
    writer_lock,
)


class BuildFailed(RuntimeError):
    """dbt reported errors; nothing was published."""


@dataclass(frozen=True)
class BuildResult:
    snapshot: Path
    data_as_of: str | None
    seconds: float
    #: Wall seconds of each step, in the order they ran (also in ``<data dir>/dbt/last_build.json``).
    steps: dict[str, float] = field(default_factory=dict)


@dataclass
class _StepClock:
    """Wall seconds per build step, so a slow build says where its time went."""

    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - began


def dbt_launcher() -> list[str]:
    """The command that runs dbt: this interpreter running :mod:`flowledger.dbt_process` (dbt's
    command line, without Python's teardown at the end), ``-P`` so that nothing in the data
    directory it runs in shadows a module."""
    if importlib.util.find_spec("dbt.cli") is None:
        raise BuildFailed("dbt is not installed: run `make bootstrap` (or `pip install -e .`)")
    return dbt_process_command()


#: DuckDB threads of each dbt query (profiles.yml `settings.threads`); set unless already set.
DUCKDB_THREADS_ENV = "FLOWLEDGER_DUCKDB_THREADS"
#: dbt threads of the DuckDB target (profiles.yml `threads`)
DBT_THREADS = 2
#: dbt's file log level unless the environment sets ``DBT_LOG_LEVEL_FILE``: node results, warnings
#: and errors. dbt's default, debug, also writes every statement and adapter call, while holding
#: the GIL: 0.3 s of a 17.5 s incremental 10M build (median of 4 interleaved runs each). Set
#: ``DBT_LOG_LEVEL_FILE=debug`` for them; the compiled SQL is in ``<data dir>/dbt/target`` anyway.
DBT_FILE_LOG_LEVEL = "info"


def duckdb_threads_per_query(cores: int | None = None) -> int:
    """The cores shared out among dbt's threads: each of the models dbt runs at once gets its
    share, instead of every query spreading over every core while another one does too."""
    return max(1, (cores or os.cpu_count() or 1) // DBT_THREADS)


class DbtCommand(NamedTuple):
    """A dbt process for a data directory: its arguments, environment and working directory."""

    argv: list[str]
    env: dict[str, str]
    #: the data directory: the profile names the warehouse files relative to it, so dbt's saved
    #: parse (flowledger/dbt_parse_cache.py) is the same in every data directory
    cwd: Path

    @property
    def dbt_args(self) -> list[str]:
        """dbt's own arguments: ``argv`` without the command that launches dbt's process."""
        return self.argv[len(dbt_process_command()) :]


def dbt_command(
    data_dir: DataDir, args: Sequence[str], keys_valid_through: str | None = None
) -> DbtCommand:
    """The dbt command line, environment and working directory for this data directory;
    ``keys_valid_through`` is passed to the key tests as :data:`KEYS_VALID_ENV` (never inherited
    from this process)."""
    root = data_dir.root.absolute()
    argv = [
        *dbt_launcher(),
        *args,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--target-path",
        str(data_dir.dbt_target.absolute()),
        "--log-path",
        str(data_dir.dbt_logs.absolute()),
    ]
    env = {
        **os.environ,
        "FLOWLEDGER_WAREHOUSE": str(data_dir.warehouse.relative_to(data_dir.root)),
        "FLOWLEDGER_MARTS": str(data_dir.marts.relative_to(data_dir.root)),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.setdefault(DUCKDB_THREADS_ENV, str(duckdb_threads_per_query()))
    env.setdefault("DBT_LOG_LEVEL_FILE", DBT_FILE_LOG_LEVEL)
    env.pop(KEYS_VALID_ENV, None)
    if keys_valid_through is not None:
        env[KEYS_VALID_ENV] = keys_valid_through
    if not sys.stdout.isatty():
        env.setdefault("DBT_USE_COLORS", "false")
    return DbtCommand(argv, env, root)


def run_dbt(
    data_dir: DataDir,
    args: Sequence[str],
    echo: Callable[[str], None] | None = print,
    *,
    keys_valid_through: str | None = None,
    dbt_child: DbtChild | None = None,
) -> None:
    """Run dbt in a child process (so no DuckDB handle outlives it), ``dbt_child`` if the caller
    started one; stream its progress lines. A data directory without a saved parse starts from
    the one another data directory saved."""
    dbt = dbt_command(data_dir, args, keys_valid_through)
    dbt_parse_cache.seed(data_dir.dbt_target, args)
    # dbt attaches the marts file (profiles.yml): never a published snapshot, never an empty file
    # where a snapshot holds the marts. What dbt writes into it is published, which syncs it,
    # or rebuilt by the next build: the copy need not be synced first.
    own_marts_file(data_dir, published_next=True)
    with dbt_child or DbtChild() as started:
        child = started.send(dbt.dbt_args, dbt.env, dbt.cwd)
        tail: list[str] = []
        assert child.stdout is not None
        for line in child.stdout:
            line = line.rstrip("\n")
            tail = (tail + [line])[-40:]
            if echo:
                echo(line)
        code = child.wait()
    if code != 0:
        shown = "" if echo else "\n" + "\n".join(tail)
        raise BuildFailed(
            f"dbt {_shown_args(args)} failed (exit {code}); nothing was published{shown}"
        )
    dbt_parse_cache.save(data_dir.dbt_target, args)


def _shown_args(args: Sequence[str]) -> str:
    """dbt's arguments for an error message, the ``--vars`` JSON (every SLO, process and
    ownership row: pages of it) left out."""
    shown = list(args)
    if "--vars" in shown:
        at = shown.index("--vars")
        shown[at : at + 2] = ["--vars", "<the build's vars>"]
    return " ".join(shown)


def build(
    data_dir: DataDir,
    *,
    full_refresh: bool = False,
    select: Sequence[str] = (),
    echo: Callable[[str], None] | None = print,
    budget_at: datetime | None = None,
    dbt_child: DbtChild | None = None,
) -> BuildResult:
    """``dbt build`` into the warehouse, then publish a fresh snapshot of the marts.

    ``dbt_child``: a dbt process the caller started (the command line does, first thing); by
    default one is started here. Either way dbt's imports run while the steps before it ready
    the warehouse."""
    started = datetime.now(UTC)
    data_dir.ensure()
    with dbt_child or DbtChild() as child:
        return _build(
            data_dir,
            child,
            started,
            full_refresh=full_refresh,
            select=select,
            echo=echo,
            budget_at=budget_at,
        )


def _build(
    data_dir: DataDir,
    dbt_child: DbtChild,
    started: datetime,
    *,
    full_refresh: bool,
    select: Sequence[str],
    echo: Callable[[str], None] | None,
    budget_at: datetime | None,
) -> BuildResult:
    from ingest import ensure_raw_tables  # the raw tables must exist before dbt reads them

    clock = _StepClock()
    with clock.step("retention"):
        purge_after = _retention_enforced(data_dir)
    with clock.step("openlineage"):
        _land_openlineage_runs(data_dir, echo)
    with clock.step("vars"):
        configuration = configuration_fingerprint(data_dir)
        variables = dbt_vars(data_dir, budget_at)
        project = project_fingerprint(variables)
    with writer_lock(data_dir):
        # read under the lock: a rescrub the build waited for asks it to refresh fully
        built_with = _built_with(data_dir)
        if not full_refresh and built_with != configuration:
            full_refresh = True
            if echo and built_with is not None:
                echo(
                    "the process configuration or the field ownership changed since the last "
                    "build: --full-refresh"
                )
        refresh_asked = _refresh_fully_asked(data_dir)
        if not full_refresh and refresh_asked is not None:
            full_refresh = True
            if echo:
                echo(f"{refresh_asked} since the last build: --full-refresh")
        # Unit tests check the SQL against fixed fixtures, not the data: they run where the SQL
        # changes (tests/dbt, CI), not on every build (~20 s of model-free work at any size).
        args = ["build", "--exclude-resource-type", "unit_test"]
        if full_refresh:
            args.append("--full-refresh")
        if select:
            args += ["--select", *select]
        with clock.step("raw_tables"):
            con = connect_warehouse(data_dir, published_next=True)
            try:
                ensure_raw_tables(con)
                vouched = _take_keys_valid_through(data_dir, con, project)
                ingested = _raw_ingested_through(con, None)
            finally:
                con.close()
        if full_refresh or select:
            vouched = None
        with clock.step("dbt"):
            run_dbt(
                data_dir,
                [*args, "--vars", json.dumps(variables)],
                echo,
                keys_valid_through=vouched,
                dbt_child=dbt_child,
            )
        if full_refresh:
            # the SQL a full run compiled for each incremental model: the lineage of later
            # incremental runs is parsed from it (lineage/compiled_sql.py)
            from lineage.compiled_sql import save_full_build_sql

            save_full_build_sql(data_dir.dbt_target)
        if not select:
            _built_with_path(data_dir).write_text(configuration + "\n")
            if refresh_asked is not None:
                _refresh_fully_path(data_dir).unlink(missing_ok=True)
            invocation = _key_tests_all_passed(data_dir)
            if invocation is not None:
                recorded = {"project": project, "dbt_invocation": invocation, **ingested}
                _keys_valid_path(data_dir).write_text(json.dumps(recorded, indent=2) + "\n")
        with clock.step("data_as_of"):
            con = connect_warehouse(data_dir, published_next=True)
            try:
                feeds = feeds_as_of(con)
                retained = runs_retained_from(con)
            finally:
                con.close()
            data_as_of = newest_feed_time(feeds)
        if purged_since_published(data_dir):
            # the first publish after a purge: no file keeps the bytes of what it deleted, nor
            # of the values this build replaced (README, Retention)
            with clock.step("rewrite"):
                rewrite_database_file(data_dir.warehouse)
                rewrite_database_file(data_dir.marts)
        with clock.step("publish"):
            snapshot = publish(
                data_dir,
                {
                    "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "data_as_of": data_as_of or "",
                    **feeds,
                    "runs_retained_from": retained,
                    "flowledger_version": __version__,
                    "dbt_version": _dbt_version(),
                },
            )
        if not select:  # every case model ran, and its marts are published: the cases a purge
            # listed are recomputed (forgotten before the publish, a crash in between would have
            # left the marts file's copy of them, restored from the older snapshot, unerased)
            con = connect_warehouse(data_dir, attach_marts=False)
            try:
                forget_cases_with_purged_payloads(con)
            finally:
                con.close()
    if purge_after:
        with clock.step("retention"):
            _enforce_retention(data_dir, echo)
    seconds = (datetime.now(UTC) - started).total_seconds()
    steps = {name: round(value, 3) for name, value in clock.steps.items()}
    last_build_path(data_dir).write_text(
        json.dumps({"seconds": round(seconds, 3), "steps": steps}, indent=2) + "\n"
    )
    return BuildResult(snapshot=snapshot, data_as_of=data_as_of, seconds=seconds, steps=steps)


def parse_project(data_dir: DataDir, echo: Callable[[str], None] | None = print) -> float:
    """``dbt parse`` with the vars a build of ``data_dir`` passes: dbt saves the parse in the data
    directory and in the shared cache (:mod:`flowledger.dbt_parse_cache`), so the next build of
    this installation with the same configuration parses only what changed (~1 s, against ~5 s
    for the whole project on 2 cores). No model runs and nothing is published; an invalid
    configuration file stops it as it would stop a build. Returns the wall seconds."""
    began = time.perf_counter()
    data_dir.ensure()
    variables = dbt_vars(data_dir)
    with writer_lock(data_dir):  # dbt writes the data directory's target, as a build does
        run_dbt(data_dir, ["parse", "--vars", json.dumps(variables)], echo)
    return time.perf_counter() - began


def last_build_path(data_dir: DataDir) -> Path:
    """The wall seconds of the last complete build and of each of its steps (JSON)."""
    return data_dir.dbt_target.parent / "last_build.json"


#: Environment variable of dbt's process (macros/keys_written_since.sql): the ingest time through
#: which every row passed every key test; set only when this module can vouch for it, so the key
#: tests check only the key groups written since. Not a dbt var: the tests read it when they run,
#: while a var that changes would make dbt parse the whole project again on every build.
KEYS_VALID_ENV = "FLOWLEDGER_KEYS_VALID_THROUGH"
#: What the project's SQL and settings are made of: a change to any of them may change rows that
#: no new ingest time marks, so the next build checks every key again.
PROJECT_INPUTS = ("models", "macros", "data-tests", "dbt_project.yml", "profiles.yml")


def _keys_valid_path(data_dir: DataDir) -> Path:
    """JSON: the ingest time through which the last build's key tests all passed, the rows each
    raw table held through it, and the project fingerprint that build ran with."""
    return data_dir.dbt_target.parent / "keys_valid_through.json"


def _take_keys_valid_through(
    data_dir: DataDir, con: duckdb.DuckDBPyConnection, project: str
) -> str | None:
    """The ingest time through which this build may trust the keys (``None``: check every row),
    and forget it, so that if this build fails the next one checks every row again.

    Trusted only if the last build that finished recorded it (every key test passed), with the
    same project fingerprint, and every raw table still holds exactly the rows it held through
    that time: a purge, a restored warehouse or a row landed with an older ingest time (a clock
    set back) changes those counts.
    """
    path = _keys_valid_path(data_dir)
    try:
        recorded = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    path.unlink()
    through = recorded.get("ingested_through")
    if recorded.get("project") != project or not isinstance(through, str):
        return None
    if recorded.get("dbt_invocation") != _dbt_invocation(data_dir):
        return None  # dbt ran by hand into this data directory since
    if _raw_ingested_through(con, through)["raw_rows"] != recorded.get("raw_rows"):
        return None
    return through


def _raw_ingested_through(con: duckdb.DuckDBPyConnection, through: str | None) -> dict:
    """The newest ingest time of any raw row (``through`` if given) and, per raw table, how many
    rows were ingested through it."""
    from ingest.contracts import load_contracts

    tables = sorted(contract.table for contract in load_contracts().values())
    if through is None:
        newest = con.execute(
            "select cast(greatest("
            + ", ".join(f"(select max(_ingested_at) from {table})" for table in tables)
            + ") as varchar)"
        ).fetchone()
        through = newest[0] if newest and newest[0] else "-infinity"
    counts = {
        table: con.execute(
            f"select count(*) from {table} where _ingested_at <= cast(? as timestamp)", [through]
        ).fetchone()[0]
        for table in tables
    }
    return {"ingested_through": through, "raw_rows": counts}


def _dbt_invocation(data_dir: DataDir) -> str | None:
    """The invocation id of the last dbt run whose results are in the data directory."""
    try:
        run_results = json.loads((data_dir.dbt_target / "run_results.json").read_text())
        return run_results["metadata"]["invocation_id"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def _key_tests_all_passed(data_dir: DataDir) -> str | None:
    """The invocation id of the dbt build that just ran if it built every model and every key
    test that reads :data:`KEYS_VALID_ENV` passed (a warning counts as a failure here; other
    tests may warn), else None."""
    try:
        run_results = json.loads((data_dir.dbt_target / "run_results.json").read_text())
        nodes = json.loads((data_dir.dbt_target / "manifest.json").read_text())["nodes"]
    except (FileNotFoundError, ValueError, KeyError):
        return None
    for result in run_results["results"]:
        unique_id, status = result["unique_id"], result["status"]
        if unique_id.startswith("model.") and status != "success":
            return None
        if unique_id.startswith("test."):
            kwargs = (nodes.get(unique_id, {}).get("test_metadata") or {}).get("kwargs", {})
            passed = ("pass",) if kwargs.get("ingested_column") else ("pass", "warn")
            if status not in passed:
                return None
    return run_results["metadata"]["invocation_id"]


def project_fingerprint(variables: dict) -> str:
    """SHA-256 of what the models compute with: the project files (:data:`PROJECT_INPUTS`), the
    dbt and flowledger versions and the build's vars but the time the budgets are evaluated at."""
    digest = hashlib.sha256()
    settings = {k: v for k, v in variables.items() if k != "flowledger_budget_as_of"}
    digest.update(
        json.dumps([__version__, _dbt_version(), settings], sort_keys=True, default=str).encode()
    )
    for name in PROJECT_INPUTS:
        root = PROJECT_ROOT / name
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file():
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _retention_enforced(data_dir: DataDir) -> bool:
    """Whether the retention file says ``enforce_on_build: true``; an invalid file stops the
    build before anything runs."""
    from flowledger.retention import RetentionError, config_path, enforced_on_build

    try:
        return enforced_on_build(config_path(data_dir))
    except RetentionError as error:
        raise BuildFailed(f"{error}\nnothing was built") from None


def _enforce_retention(data_dir: DataDir, echo: Callable[[str], None] | None) -> None:
    """Retention as code (flowledger/retention.py), the builder's part: purge after the build
    has published, so every row it deletes was counted by a build first (purging first deleted
    the rows ingested since the last build before any aggregate counted them)."""
    from flowledger.retention import RetentionError, enforce_on_build

    def report(message: str) -> None:
        # a purge deletes for good: it is reported even when the build is quiet (on stderr)
        (echo or functools.partial(print, file=sys.stderr))(message)

    try:
        enforce_on_build(data_dir, report)
    except (RetentionError, WarehouseBusy) as error:
        raise BuildFailed(f"{error}\nthe build was published; nothing was purged") from None


def dbt_vars(data_dir: DataDir, budget_at: datetime | None = None) -> dict:
    """Every dbt var a build passes: the SLOs, the process configuration and the contract's
    field ownership, validated (an invalid file stops the build). To run dbt by hand (on Spark,
    say): ``--vars "$(python -c 'import json; from flowledger.build import dbt_vars; from
    flowledger.settings import DataDir; print(json.dumps(dbt_vars(DataDir.resolve())))')"``."""
    return {
        **_budget_vars(data_dir, budget_at),
        **_process_vars(data_dir),
        **_ownership_vars(data_dir),
    }


def _budget_vars(data_dir: DataDir, at: datetime | None) -> dict:
    """The SLO file (flowledger/budgets) rendered to dbt vars; an invalid file stops the build."""
    from flowledger.budgets.config import ConfigError, dbt_vars_for_build

    try:
        return dbt_vars_for_build(data_dir, at)
    except ConfigError as error:
        raise BuildFailed(f"{error}\nnothing was built") from None


def _process_vars(data_dir: DataDir) -> dict:
    """The process configuration rendered to dbt vars; an invalid file stops the build."""
    from flowledger.processes.config import ConfigError
    from flowledger.processes.dbt_tables import dbt_vars

    try:
        return dbt_vars(data_dir.root)
    except ConfigError as error:
        raise BuildFailed(f"{error}\nnothing was built") from None


def _ownership_vars(data_dir: DataDir) -> dict:
    """The field ownership of the business-event contract and of the data directory's
    field_ownership.yml rendered to dbt vars (the rows of int_field_ownership_declared); an
    invalid declaration stops the build."""
    from lineage.ownership import OwnershipError, dbt_vars

    try:
        return dbt_vars(data_dir=data_dir.root)
    except OwnershipError as error:
        raise BuildFailed(f"{error}\nnothing was built") from None


def configuration_fingerprint(data_dir: DataDir) -> str:
    """SHA-256 of what the incremental models were built under, as dbt gets it: the process
    configuration (case chain) and the contract's field ownership (provenance models)."""
    rendered = json.dumps(
        {"processes": _process_vars(data_dir), "ownership": _ownership_vars(data_dir)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(rendered.encode()).hexdigest()


def configuration_changed_since_build(data_dir: DataDir) -> bool:
    """True when the process configuration or field ownership changed since the last complete
    build: the published marts then map events to steps (and records to fields) as before the
    change, until the next build."""
    built_with = _built_with(data_dir)
    if built_with is None:
        return False
    try:
        return configuration_fingerprint(data_dir) != built_with
    except BuildFailed:  # an invalid configuration is reported by whoever reads it
        return False


def _built_with_path(data_dir: DataDir) -> Path:
    return data_dir.dbt_target.parent / "process_config.sha256"


def _refresh_fully_path(data_dir: DataDir) -> Path:
    return data_dir.dbt_target.parent / "refresh_fully"


def refresh_fully_next(data_dir: DataDir, why: str) -> None:
    """Make the next complete build refresh every model (``--full-refresh``), saying ``why``:
    the stored rows changed in a way the incremental models cannot see."""
    path = _refresh_fully_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(why + "\n")


def _refresh_fully_asked(data_dir: DataDir) -> str | None:
    """Why the next complete build must refresh fully (:func:`refresh_fully_next`), if it must."""
    try:
        return _refresh_fully_path(data_dir).read_text().strip() or "asked"
    except FileNotFoundError:
        return None


def _built_with(data_dir: DataDir) -> str | None:
    """The configuration fingerprint of the last complete build, None before the first.

    The case and provenance models are incremental: a case or record no new event touches keeps
    the rows it was built with, so a build under another process configuration or field
    ownership (or the first build of a warehouse built by an older flowledger) must rebuild every
    model (``--full-refresh``).
    """
    try:
        return _built_with_path(data_dir).read_text().strip()
    except FileNotFoundError:
        return None


def _land_openlineage_runs(data_dir: DataDir, echo: Callable[[str], None] | None) -> None:
    """OpenLineage runs received by the server become flow runs before every build.

    Runs already landed are duplicates for ingest, so this is idempotent; it takes the writer
    lock itself, so it runs before the build takes it.
    """
    from lineage.runs import ingest_run_events
    from lineage.store import lineage_dir

    if not lineage_dir(data_dir).exists():
        return
    summary = ingest_run_events(data_dir)
    if summary is not None and summary.accepted and echo:
        echo(f"landed {summary.accepted} OpenLineage run(s) as flow runs")


#: How far past the build's clock a time still counts as data (producers' clocks drift).
DATA_AS_OF_SKEW = timedelta(days=1)


#: each feed's newest time in the marts (``_meta`` columns)
FEED_TIMES = {
    "runs_as_of": ("fct_flow_runs", "coalesce(ended_at, started_at)"),
    "events_as_of": ("fct_cases", "last_event_at"),
}


def feeds_as_of(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The newest time of each feed the marts know of (``runs_as_of``: flow runs,
    ``events_as_of``: business events; UTC, ISO 8601, "" for none), among those not later than
    now (plus :data:`DATA_AS_OF_SKEW`): one record from the future (a producer's clock, an OTLP
    span ending in 2554) would otherwise set it for good. A feed that stopped while the other
    goes on shows here, where "data as of" (:func:`newest_feed_time`) hides it."""
    cap = datetime.now(UTC).replace(tzinfo=None) + DATA_AS_OF_SKEW
    found = {}
    for name, (table, column) in FEED_TIMES.items():
        try:
            (value,) = con.execute(
                f"select max({column}) filter (where {column} <= $cap) "
                f"from {MARTS_CATALOG}.{table}",
                {"cap": cap},
            ).fetchone() or (None,)
        except duckdb.CatalogException:  # not built (a build of selected models)
            value = None
        found[name] = value.isoformat(timespec="seconds") + "Z" if value else ""
    return found


def runs_retained_from(con: duckdb.DuckDBPyConnection) -> str:
    """The flow runs' retention horizon (``raw.retention_horizons``; UTC, ISO 8601), "" before
    any purge of them: the dashboard says that latency and single runs start there while the
    hourly aggregates go back further."""
    from flowledger.retention import HORIZONS_TABLE

    try:
        row = con.execute(
            f"select purged_before from {HORIZONS_TABLE} "
            "where table_name = 'flow_runs' and purged_rows > 0"
        ).fetchone()
    except duckdb.CatalogException:  # never purged
        return ""
    return row[0].isoformat(timespec="seconds") + "Z" if row and row[0] else ""


def newest_feed_time(feeds: dict[str, str]) -> str | None:
    """ "Data as of": the newest of the feeds' times (the end of every dashboard's default date
    range), None when the marts hold no run and no case."""
    return max((time for time in feeds.values() if time), default=None)


def marts_data_as_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The "data as of" time of the marts ``con`` reaches (catalog ``marts``)."""
    return newest_feed_time(feeds_as_of(con))


def _dbt_version() -> str:
    from importlib.metadata import version

    return version("dbt-core")
