"""`dbt-ol build` of a shop-shaped dbt project (tests/lineage/dbt_shop) against a real
`flowledger serve` on loopback, with only OPENLINEAGE_URL and OPENLINEAGE_API_KEY set, then an
incremental `dbt-ol run`; the column lineage read back through the Marquez-compatible API and
`flowledger lineage trace` is compared with edges written out by hand from the project's SQL.

What dbt-ol gets wrong and flowledger must not repeat: it names CTEs as input datasets
(`orders.order_id` for `with orders as (…)`), takes a union's second-branch aliases as columns,
leaves seeds out of a model's inputs, and names a source by its dbt name, not its identifier."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import requests

from flowledger.cli import main

pytestmark = pytest.mark.slow
KEY = "shop-test-key-0123456789abcdef"
PROJECT = Path(__file__).parent / "dbt_shop"
D, IND = "DIRECT", "INDIRECT"
STG, LANDING = "w.analytics.", "w.analytics_landing."


class Shop:
    def __init__(self, url: str, data_dir: Path, namespace: str) -> None:
        self.url = url
        self.data_dir = data_dir
        self.ns = namespace

    def get(self, path: str, **params: object) -> requests.Response:
        return requests.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=30,
        )

    def node(self, dataset: str, column: str) -> dict:
        node_id = f"datasetField:{self.ns}:{dataset}:{column}"
        answer = self.get("/api/v1/column-lineage", nodeId=node_id, depth=1)
        assert answer.status_code == 200, answer.text
        return {node["id"]: node for node in answer.json()["graph"]}[node_id]

    def edges(self, dataset: str, column: str) -> set[tuple[str, str, str, str]]:
        return {
            (item["dataset"], item["field"], t["type"], t["subtype"])
            for item in self.node(dataset, column)["data"]["inputFields"]
            for t in item["transformations"]
        }

    def trace(self, *args: str, capsys: pytest.CaptureFixture[str]) -> dict:
        code = main(["--data-dir", str(self.data_dir), "lineage", "trace", *args, "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        return json.loads(out)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("dbt_ol_shop")
    warehouse = root / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute(
        'create schema tracking; create table tracking."PageViews"("ViewId" int, '
        '"CustomerId" int, "PageUrl" varchar, "ViewedAt" date); '
        "insert into tracking.\"PageViews\" values (1, 1, '/Home', '2024-04-01')"
    )
    con.close()
    project = root / "project"
    shutil.copytree(PROJECT, project)
    data_dir = root / "flowledger"
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENLINEAGE")}
    env.update(
        {
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
            "FLOWLEDGER_TOKENS": f"dbt={KEY}",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(data_dir), "serve",
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "flowledger serve did not start in 30 s"
                time.sleep(0.1)
        env.update(
            {"OPENLINEAGE_URL": url, "OPENLINEAGE_API_KEY": KEY, "SHOP_WAREHOUSE": str(warehouse)}
        )
        dbt_args = ["--project-dir", str(project), "--profiles-dir", str(project),
                    "--target-path", str(root / "target"), "--log-path", str(root / "logs")]  # fmt: skip
        # a build, then an incremental run of daily_revenue (its is_incremental() filter)
        for command in (["build"], ["run", "-s", "daily_revenue"]):
            completed = subprocess.run(
                [str(Path(bin_dir) / "dbt-ol"), *command, *dbt_args],
                cwd=project, env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            output = completed.stdout + completed.stderr
            assert completed.returncode == 0, output[-3000:]
            assert "Emitted 0 " not in output and "Emitted" in output, output[-3000:]
        yield Shop(url, data_dir, f"duckdb://{warehouse}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_staging_over_seeds_and_a_quoted_source(shop: Shop) -> None:
    # seeds in a custom schema, read through `select *` in a CTE (dbt-ol sends no lineage)
    assert shop.edges(STG + "stg_customers", "customer_id") == {
        (LANDING + "raw_customers", "id", D, "IDENTITY")
    }
    assert shop.edges(STG + "stg_customers", "signed_up_on") == {
        (LANDING + "raw_customers", "signup_date", D, "TRANSFORMATION")
    }
    assert shop.edges(STG + "stg_payments", "amount") == {
        (LANDING + "raw_payments", "amount_cents", D, "TRANSFORMATION")
    }
    # quoted mixed-case columns keep their spelling; one field per column, not two
    not_null = ("w.tracking.PageViews", "CustomerId", IND, "FILTER")
    assert shop.edges(STG + "stg_page_views", "customer_id") == {
        ("w.tracking.PageViews", "CustomerId", D, "IDENTITY"),
        not_null,
    }
    assert shop.edges(STG + "stg_page_views", "page_url") == {
        ("w.tracking.PageViews", "PageUrl", D, "TRANSFORMATION"),
        not_null,
    }
    fields = shop.get(f"/api/v1/namespaces/{requests.utils.quote(shop.ns, safe='')}/datasets")
    names = {d["name"]: [f["name"] for f in d["fields"]] for d in fields.json()["datasets"]}
    assert sorted(names["w.tracking.PageViews"]) == ["CustomerId", "PageUrl", "ViewId", "ViewedAt"]
    # dbt-ol's CTE names are no datasets
    assert not {"orders", "payments", "customer_orders", "source", "renamed"} & set(names)
    # a field id in another case finds the column (DuckDB's names are case-insensitive)
    answer = shop.get(
        "/api/v1/column-lineage",
        nodeId=f"datasetField:{shop.ns}:w.tracking.PageViews:customerid",
        depth=1,
    )
    assert f"datasetField:{shop.ns}:w.tracking.PageViews:CustomerId" in {
        node["id"] for node in answer.json()["graph"]
    }


def test_windows_ephemeral_model_and_cte_chain(shop: Shop) -> None:
    window = {
        (STG + "stg_orders", "customer_id", IND, "WINDOW"),
        (STG + "stg_orders", "ordered_on", IND, "WINDOW"),
        (STG + "stg_orders", "order_id", IND, "WINDOW"),
    }
    assert shop.edges(STG + "int_orders_ranked", "customer_order_number") == window
    assert shop.edges(STG + "int_orders_ranked", "previous_ordered_on") == window | {
        (STG + "stg_orders", "ordered_on", D, "TRANSFORMATION")  # lag takes a value as it is
    }
    assert shop.edges(STG + "int_orders_ranked", "status") == {
        (STG + "stg_orders", "status", D, "IDENTITY")  # `o.*`
    }
    # orders: `select *` CTEs over a view and over the ephemeral int_order_payments (a CTE of
    # the compiled SQL: its group by and the join decide every row)
    rows = {
        (STG + "int_orders_ranked", "order_id", IND, "JOIN"),
        (STG + "stg_payments", "order_id", IND, "JOIN"),
        (STG + "stg_payments", "order_id", IND, "GROUP_BY"),
    }
    assert shop.edges(STG + "orders", "order_id") == rows | {
        (STG + "int_orders_ranked", "order_id", D, "IDENTITY")
    }
    assert shop.edges(STG + "orders", "customer_order_number") == rows | {
        (STG + "int_orders_ranked", "customer_order_number", D, "IDENTITY")
    }
    assert shop.edges(STG + "orders", "card_amount") == rows | {
        (STG + "stg_payments", "amount", D, "AGGREGATION"),
        (STG + "stg_payments", "payment_method", IND, "CONDITIONAL"),
    }
    assert shop.edges(STG + "orders", "net_amount") == rows | {
        (STG + "stg_payments", "amount", D, "AGGREGATION"),
        (STG + "int_orders_ranked", "status", IND, "CONDITIONAL"),
    }


def test_marts_with_count_star_using_joins_union_and_incremental(shop: Shop) -> None:
    orders = STG + "orders"
    rows = {
        (orders, "customer_id", IND, "GROUP_BY"),  # both CTEs group by it
        (orders, "customer_id", IND, "JOIN"),  # `using (customer_id)`, `on c.… = cp.…`
        (orders, "status", IND, "FILTER"),  # customer_payments' where, through its join key
        (STG + "stg_customers", "customer_id", IND, "JOIN"),
    }
    customers = STG + "customers"
    assert shop.edges(customers, "number_of_orders") == rows  # count(*)
    assert shop.edges(customers, "distinct_statuses") == rows | {
        (orders, "status", D, "AGGREGATION")
    }
    assert shop.edges(customers, "full_name") == rows | {
        (STG + "stg_customers", "first_name", D, "TRANSFORMATION"),
        (STG + "stg_customers", "last_name", D, "TRANSFORMATION"),
    }
    assert shop.edges(customers, "lifetime_value") == rows | {(orders, "amount", D, "AGGREGATION")}
    # incremental, after its incremental run: the filter on its input, no edge to itself
    by_day = {(orders, "ordered_on", IND, "GROUP_BY"), (orders, "ordered_on", IND, "FILTER")}
    assert shop.edges(STG + "daily_revenue", "revenue") == by_day | {
        (orders, "amount", D, "AGGREGATION")
    }
    assert shop.edges(STG + "daily_revenue", "buyers") == by_day | {
        (orders, "customer_id", D, "AGGREGATION")
    }
    # alias `touchpoints` in the custom schema `reporting`; union all; an in-subquery filter
    touchpoints = "w.analytics_reporting.touchpoints"
    branch_filter = {
        (STG + "stg_page_views", "customer_id", IND, "FILTER"),
        (STG + "stg_customers", "customer_id", IND, "FILTER"),
    }
    assert shop.edges(touchpoints, "touched_at") == branch_filter | {
        (STG + "stg_orders", "ordered_on", D, "IDENTITY"),
        (STG + "stg_page_views", "viewed_at", D, "IDENTITY"),
    }
    assert shop.edges(touchpoints, "channel") == branch_filter  # constants
    dataset = shop.get(
        f"/api/v1/namespaces/{requests.utils.quote(shop.ns, safe='')}/datasets/{touchpoints}"
    )
    assert [f["name"] for f in dataset.json()["fields"]] == ["customer_id", "touched_at", "channel"]
    # the snapshot
    assert shop.edges("w.snapshots.customers_snapshot", "first_name") == {
        (STG + "stg_customers", "first_name", D, "IDENTITY")
    }


def test_marquez_lineage_graph_reaches_the_seeds(shop: Shop) -> None:
    answer = shop.get("/api/v1/lineage", nodeId=f"dataset:{shop.ns}:{STG}customers", depth=20)
    assert answer.status_code == 200, answer.text
    ids = {node["id"] for node in answer.json()["graph"]}
    # dbt-ol leaves seeds out of a model's inputs; the parsed SQL puts them back
    assert f"dataset:{shop.ns}:{LANDING}raw_payments" in ids
    assert f"dataset:{shop.ns}:w.tracking.PageViews" in ids
    # dbt-ol's `….build.run` is kept as the model's one job name (dbt-ol run's), and answers
    assert "job:dbt:w.analytics.shop.stg_payments" in ids
    assert "job:dbt:w.analytics.shop.stg_payments.build.run" not in ids
    job = shop.get("/api/v1/namespaces/dbt/jobs/w.analytics.shop.stg_payments.build.run").json()
    assert job["name"] == job["simpleName"] == "w.analytics.shop.stg_payments"
    assert {(i["namespace"], i["name"]) for i in job["inputs"]} == {
        (shop.ns, LANDING + "raw_payments")
    }
    upstream_only = shop.get(
        "/api/v1/column-lineage", nodeId=f"datasetField:{shop.ns}:{STG}orders:amount", depth=20
    ).json()["graph"]
    with_downstream = shop.get(
        "/api/v1/column-lineage",
        nodeId=f"datasetField:{shop.ns}:{STG}orders:amount",
        depth=20,
        withDownstream="true",
    ).json()["graph"]
    up = {n["id"].rsplit(":", 2)[-2] + "." + n["id"].rsplit(":", 1)[-1] for n in upstream_only}
    both = {n["id"].rsplit(":", 2)[-2] + "." + n["id"].rsplit(":", 1)[-1] for n in with_downstream}
    assert LANDING + "raw_payments.amount_cents" in up
    assert STG + "customers.lifetime_value" not in up
    assert {STG + "customers.lifetime_value", STG + "daily_revenue.revenue"} <= both - up


def test_trace_cli_up_and_down(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    result = shop.trace("customers.lifetime_value", capsys=capsys)
    leaves = {(leaf["dataset"], leaf["field"]) for leaf in result["leaves"]}
    assert leaves == {
        (LANDING + "raw_payments", "amount_cents"),
        (LANDING + "raw_payments", "order_id"),
        (LANDING + "raw_orders", "id"),
        (LANDING + "raw_orders", "user_id"),
        (LANDING + "raw_orders", "status"),
        (LANDING + "raw_customers", "id"),
    }
    direct = shop.trace("customers.lifetime_value", "--direct-only", capsys=capsys)
    assert {(leaf["dataset"], leaf["field"]) for leaf in direct["leaves"]} == {
        (LANDING + "raw_payments", "amount_cents")
    }
    down = shop.trace("PageViews.ViewedAt", "--downstream", capsys=capsys)
    assert {(leaf["dataset"], leaf["field"]) for leaf in down["leaves"]} == {
        ("w.analytics_reporting.touchpoints", "touched_at")
    }
