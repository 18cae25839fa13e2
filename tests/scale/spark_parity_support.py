"""The Spark parity fixture: one small demo, built once on DuckDB and once on Spark.

The world is a small demo (7 days, about 4,000 events) made with the real CLI: `flowledger
generate` plants the automation failures, process cases, corrections, gray failures, parallel
(shadow) runs and ownership violations every mart reports, and `flowledger ingest` validates it
into the warehouse's raw tables and lands every accepted row as Parquet
(``landing/<table>/<batch>.parquet``). DuckDB reads the raw tables; Spark reads the landing
Parquet (registered by the on-run-start hook, macros/spark/). Both get the dbt vars
`flowledger build` passes: the default process configuration, the default SLOs
(config/slos.yml) evaluated at the data's as-of time, and the contract's field ownership.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from scale_support import DbtRun, run_dbt

from flowledger.build import dbt_vars
from flowledger.settings import PROJECT_ROOT, DataDir

MODELS_DIR = PROJECT_ROOT / "models"


def _mart_keys() -> dict[str, list[str]]:
    """Every mart (models/marts/**.sql) with the primary key its YAML tests (a
    composite_primary_key or model-level unique test, else the one `unique` column)."""
    keys: dict[str, list[str]] = {}
    for path in sorted((MODELS_DIR / "marts").rglob("_*models.yml")):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            for test in model.get("data_tests") or []:
                if isinstance(test, dict) and "composite_primary_key" in test:
                    arguments = test["composite_primary_key"]
                    keys[model["name"]] = list(arguments.get("arguments", arguments)["columns"])
                if isinstance(test, dict) and "unique" in test:  # unique over an expression
                    arguments = test["unique"]
                    keys[model["name"]] = [arguments.get("arguments", arguments)["column_name"]]
            for column in model.get("columns") or []:
                if "unique" in (column.get("data_tests") or []):
                    keys.setdefault(model["name"], [column["name"]])
    marts = {path.stem for path in (MODELS_DIR / "marts").rglob("*.sql")}
    missing = marts - set(keys)
    if missing:
        raise AssertionError(f"marts without a tested primary key: {sorted(missing)}")
    return {mart: keys[mart] for mart in sorted(marts)}


#: every mart -> the columns that order its rows for the comparison
MARTS: dict[str, list[str]] = _mart_keys()


@dataclass(frozen=True)
class ParityBuilds:
    """The DuckDB warehouse and the folder of Spark's marts (Parquet), built from one world."""

    warehouse: Path
    spark_marts: Path
    #: Spark's warehouse folder: one <database>.db folder per database the build wrote
    spark_warehouse: Path
    duck: DbtRun
    spark: DbtRun
    model_count: int


DEMO_DAYS = 7
DEMO_EVENTS = 4000


#: The Spark build's database prefix (var schema_prefix), as on a cluster shared with others.
SPARK_SCHEMA_PREFIX = "fl_"


def flowledger(data_dir: DataDir, *args: str) -> None:
    """Run the ``flowledger`` CLI on ``data_dir``, as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(data_dir.root), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"flowledger {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


#: Corrections of the first order's amount to numbers each engine writes its own way when read
#: from JSON (Spark's get_json_object gives Java's Double text: 1.23456785E7, 1.5E-7, 1.0E-4,
#: 1.0E21, 1.5E20): the field writes and the field changes of fct_case_events must read the same
#: on both (macros/cross_db/json_fields.sql).
NUMBER_AMOUNTS = [12345678.5, 1.5e-7, 0.0001, 1e21, 1.5e20]
NUMBER_CORRECTIONS = [
    {
        "specversion": "1.0",
        "id": f"numbers-{day}",
        "source": "/acme/shop",
        "type": "com.acme.shop.order.corrected",
        "time": f"2026-08-0{day}T12:00:00.000Z",
        "subject": "O-00000001",
        "datacontenttype": "application/json",
        "data": {"order_id": "O-00000001", "amount": amount},
    }
    for day, amount in enumerate(NUMBER_AMOUNTS, start=2)
]


#: A live and a shadow run of one business key whose outputs use field names that JSON path
#: syntax reads as operators or cannot hold ('' . [ ] * $ " ' / ~): every field is read by its
#: name on both engines, and only `a.b` differs (a unit test cannot carry the double quote:
#: dbt-spark writes a fixture's backslash into a Spark literal unescaped).
HOSTILE_KEY_OUTPUTS = {"": 1, "a.b": 5, "k[0]": True, "*": "x", "$": {"y": 1}, 'q"x': 2,
                       "it's": 3, "a/b": 4, "t~1": [1]}  # fmt: skip
HOSTILE_KEY_RUNS = [
    {
        "source_system": "parity",
        "flow_id": "hostile-keys",
        "flow_name": "Hostile output keys",
        "flow_version": version,
        "run_id": f"hostile-keys-{mode}",
        "run_attempt": 1,
        "status": "success",
        "started_at": "2026-08-03T08:00:00Z",
        "ended_at": "2026-08-03T08:00:01Z",
        "business_key": "BK-HOSTILE",
        "execution_mode": mode,
        "outputs": json.dumps(outputs),
    }
    for version, mode, outputs in (
        ("1", "live", HOSTILE_KEY_OUTPUTS),
        ("2", "shadow", {**HOSTILE_KEY_OUTPUTS, "a.b": 6}),
    )
]


def make_demo(root: Path) -> DataDir:
    """A small demo generated and ingested (raw tables + landing Parquet) in ``root``, with
    NUMBER_CORRECTIONS and HOSTILE_KEY_RUNS."""
    data_dir = DataDir(root).ensure()
    flowledger(data_dir, "generate", "--days", str(DEMO_DAYS), "--target-events", str(DEMO_EVENTS))
    (data_dir.demo / "number_corrections.ndjson").write_text(
        "".join(json.dumps(event) + "\n" for event in NUMBER_CORRECTIONS)
    )
    (data_dir.demo / "hostile_key_runs.ndjson").write_text(
        "".join(json.dumps(run) + "\n" for run in HOSTILE_KEY_RUNS)
    )
    files = sorted(str(p) for p in data_dir.demo.iterdir() if p.suffix == ".ndjson")
    flowledger(data_dir, "ingest", *files)
    return data_dir


def model_count() -> int:
    return sum(1 for _ in MODELS_DIR.rglob("*.sql")) + sum(1 for _ in MODELS_DIR.rglob("*.py"))


def build_on_both_engines(root: Path) -> ParityBuilds:
    """Build the whole project on DuckDB, then on Spark (one dbt invocation each)."""
    if shutil.which("java") is None:
        raise AssertionError("java is not installed: run `bash scripts/install-spark.sh`")
    data_dir = make_demo(root)
    landed = {table.name for table in data_dir.landing.iterdir()}
    assert landed == {"flow_runs", "step_runs", "queue_depth_samples", "business_events"}, landed
    # the vars `flowledger build` passes (budgets evaluated at the data's as-of time)
    with_vars = ["--vars", json.dumps(dbt_vars(data_dir))]
    duck = run_dbt(data_dir.root, ["build", *with_vars])
    spark_dir = data_dir.root / "spark"
    # on a database prefix of its own (a shared cluster): fl_raw, fl_staging, ... fl_marts
    spark_vars = {**dbt_vars(data_dir), "schema_prefix": SPARK_SCHEMA_PREFIX}
    spark = run_dbt(
        data_dir.root,
        ["build", "--vars", json.dumps(spark_vars)],
        target="spark",
        env={
            "FLOWLEDGER_SPARK_DIR": str(spark_dir),
            "FLOWLEDGER_LANDING": str(data_dir.landing),
        },
    )
    print(f"dbt build: DuckDB {duck.seconds:.1f} s, Spark {spark.seconds:.1f} s")
    return ParityBuilds(
        warehouse=data_dir.warehouse,
        spark_marts=spark_dir / "warehouse" / f"{SPARK_SCHEMA_PREFIX}marts.db",
        spark_warehouse=spark_dir / "warehouse",
        duck=duck,
        spark=spark,
        model_count=model_count(),
    )
