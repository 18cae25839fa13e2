"""`dbt-ol build` of a small dbt project (tests/lineage/dbt_tiny) against the lineage routes on
loopback, with only OPENLINEAGE_URL and OPENLINEAGE_API_KEY set; the column lineage read back
through the Marquez-compatible API and `flowledger lineage trace` is compared with edges written
out by hand from the project's SQL (dbt-ol itself leaves out count(*), filters, joins, types)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import requests
from lineage_support import LoopbackServer

from flowledger.cli import main
from flowledger.settings import DataDir

pytestmark = pytest.mark.slow
KEY = "tiny-key"
PROJECT = Path(__file__).parent / "dbt_tiny"


@pytest.fixture(scope="module")
def dbt_ol_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("dbt_ol")
    warehouse = root / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute(
        "create schema raw; "
        "create table raw.orders(order_id int, customer_id int, amount double, status varchar); "
        "create table raw.customers(customer_id int, region varchar)"
    )
    con.close()
    project = root / "project"
    shutil.copytree(PROJECT, project)
    data_dir = DataDir(root / "flowledger").ensure()
    with LoopbackServer(data_dir, api_key=KEY) as server:
        bin_dir = str(Path(sys.executable).parent)
        env = {key: value for key, value in os.environ.items() if not key.startswith("OPENLINEAGE")}
        env.update(
            {
                "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
                "OPENLINEAGE_URL": server.url,
                "OPENLINEAGE_API_KEY": KEY,
                "TINY_WAREHOUSE": str(warehouse),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            }
        )
        completed = subprocess.run(
            [str(Path(bin_dir) / "dbt-ol"), "build", "--project-dir", str(project),
             "--profiles-dir", str(project), "--target-path", str(root / "target"),
             "--log-path", str(root / "logs")],
            cwd=project, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
        assert "Emitted" in completed.stdout + completed.stderr
        yield server, data_dir, f"duckdb://{warehouse}"


def column_node(server: LoopbackServer, namespace: str, dataset: str, column: str) -> dict:
    node_id = f"datasetField:{namespace}:{dataset}:{column}"
    answer = requests.get(
        f"{server.url}/api/v1/column-lineage",
        params={"nodeId": node_id, "depth": 1},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {node["id"]: node for node in answer.json()["graph"]}[node_id]


def typed_edges(node: dict) -> set[tuple[str, str, str, str]]:
    return {
        (item["dataset"], item["field"], t["type"], t["subtype"])
        for item in node["data"]["inputFields"]
        for t in item["transformations"]
    }


def test_column_lineage_matches_hand_written_edges(dbt_ol_run) -> None:
    server, _, ns = dbt_ol_run
    rows_decided_by = {
        ("w.main.stg_orders", "customer_id", "INDIRECT", "JOIN"),
        ("w.raw.customers", "customer_id", "INDIRECT", "JOIN"),
        ("w.main.stg_orders", "status", "INDIRECT", "FILTER"),
        ("w.raw.customers", "region", "INDIRECT", "GROUP_BY"),
    }
    revenue = column_node(server, ns, "w.main.region_revenue", "revenue")
    assert typed_edges(revenue) == rows_decided_by | {
        ("w.main.stg_orders", "order_amount", "DIRECT", "AGGREGATION")
    }
    # count(*): dbt-ol sends no lineage for it at all
    paid = column_node(server, ns, "w.main.region_revenue", "paid_orders")
    assert typed_edges(paid) == rows_decided_by
    region = column_node(server, ns, "w.main.region_revenue", "region")
    assert typed_edges(region) == rows_decided_by | {
        ("w.raw.customers", "region", "DIRECT", "IDENTITY")
    }
    amount = column_node(server, ns, "w.main.stg_orders", "order_amount")
    assert typed_edges(amount) == {("w.raw.orders", "amount", "DIRECT", "IDENTITY")}
    assert amount["inEdges"] == [
        {"origin": amount["id"], "destination": f"datasetField:{ns}:w.raw.orders:amount"}
    ]


def test_select_star_over_a_seed_uses_the_warehouse_catalog(dbt_ol_run) -> None:
    server, _, ns = dbt_ol_run
    join = {
        ("w.main.regions", "region", "INDIRECT", "JOIN"),
        ("w.main.region_revenue", "region", "INDIRECT", "JOIN"),
    }
    manager = column_node(server, ns, "w.main.region_managers", "manager")
    assert typed_edges(manager) == join | {("w.main.regions", "manager", "DIRECT", "IDENTITY")}
    revenue = column_node(server, ns, "w.main.region_managers", "revenue")
    assert typed_edges(revenue) == join | {
        ("w.main.region_revenue", "revenue", "DIRECT", "IDENTITY")
    }


def test_jobs_and_runs_from_dbt_ol(dbt_ol_run) -> None:
    server, _, ns = dbt_ol_run
    graph = requests.get(
        f"{server.url}/api/v1/lineage",
        params={"nodeId": f"dataset:{ns}:w.main.region_revenue"},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    ).json()["graph"]
    ids = [node["id"] for node in graph]
    assert ids == sorted(ids)
    # one job per model, named as under `dbt-ol run` (lineage/jobs.py), not `….build.run`
    assert "job:dbt:w.main.tiny.region_revenue" in ids
    assert "job:dbt:w.main.tiny.stg_orders" in ids
    assert f"dataset:{ns}:w.raw.orders" in ids  # two job hops away, undirected walk
    job = next(n for n in graph if n["id"] == "job:dbt:w.main.tiny.region_revenue")
    assert job["data"]["latestRun"]["state"] == "COMPLETED"
    assert job["data"]["parentJobName"] == "dbt-run-tiny"
    # Marquez: the job's own name, as it is not named under its parent's
    assert job["data"]["simpleName"] == "w.main.tiny.region_revenue"


def test_trace_cli_reads_ingested_lineage(dbt_ol_run, capsys) -> None:
    _, data_dir, _ = dbt_ol_run
    code = main(
        ["--data-dir", str(data_dir.root), "lineage", "trace", "region_revenue.revenue", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    leaves = {(leaf["dataset"], leaf["field"]) for leaf in result["leaves"]}
    assert leaves == {
        ("w.raw.orders", "amount"),
        ("w.raw.orders", "customer_id"),
        ("w.raw.orders", "status"),
        ("w.raw.customers", "customer_id"),
        ("w.raw.customers", "region"),
    }
    assert any("count(*)" in sql.lower() for sql in result["sql"].values())
