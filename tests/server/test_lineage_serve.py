"""The OpenLineage routes as ``flowledger serve`` mounts them beside the receiver's, against a
real server on 127.0.0.1: a slow lineage read holds up no other request, the receiver's
authenticator accepts and refuses the same tokens on both route families, in the same words, and
the dbt project's lineage is synced once the warehouse is free and again after each build."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from receiver_harness import OTHER_TOKEN, TOKEN, Serve, event, flow_run, lineage_event

from flowledger.settings import PROJECT_ROOT, DataDir
from flowledger.warehouse import writer_lock
from lineage import service
from lineage.service import ProjectLineageSync
from lineage.store import LineageStore

pytestmark = pytest.mark.slow

AUTH = {"authorization": f"Bearer {TOKEN}"}
HMAC_KEY = "hmac-key-for-otel-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    home = tmp_path_factory.mktemp("serve") / "home"
    with Serve(home, env={"FLOWLEDGER_HMAC_KEYS": f"otel={HMAC_KEY}"}) as running:
        yield running


def timed(send: Any) -> tuple[int | None, float]:
    """The status of ``send()`` (None: no answer in its timeout) and the seconds it took."""
    started = time.monotonic()
    try:
        status = send().status_code
    except requests.Timeout:
        status = None
    return status, time.monotonic() - started


@pytest.mark.parametrize(
    "read",
    ["/api/v1/namespaces", "/api/v1/namespaces/tests/jobs", "/api/v1/lineage?nodeId=job:tests:job"],
)
def test_a_slow_lineage_read_holds_up_no_other_request(tmp_path: Path, read: str) -> None:
    # The server's first lineage read stores the column lineage of the last build's manifest,
    # for which it waits (up to 5 s) for the warehouse writer lock, held here as a build holds it.
    data_dir = DataDir(tmp_path / "home").ensure()
    data_dir.dbt_target.mkdir(parents=True)
    (data_dir.dbt_target / "manifest.json").write_text('{"nodes": {}}')
    duckdb.connect(str(data_dir.warehouse)).close()
    with Serve(data_dir.root, "--no-drain") as server:
        answers: list[requests.Response] = []
        with writer_lock(data_dir, timeout_s=5):
            slow = threading.Thread(
                target=lambda: answers.append(
                    requests.get(server.url + read, headers=AUTH, timeout=30)
                )
            )
            slow.start()
            time.sleep(0.5)  # the read is waiting for the lock now
            probes = {
                "healthz": lambda: requests.get(server.url + "/healthz", timeout=3),
                "events": lambda: server.post("/v1/events", [event(f"slow-{read}")], timeout=3),
                "lineage intake": lambda: server.post(
                    "/api/v1/lineage", lineage_event(), timeout=3
                ),
                "metrics": lambda: requests.get(server.url + "/metrics", timeout=3),
            }
            for name, probe in probes.items():
                status, seconds = timed(probe)
                assert status is not None and status < 300, (
                    f"{name}: {status} after {seconds:.1f} s"
                )
                assert seconds < 2.0, f"{name} took {seconds:.1f} s during the slow read"
            assert slow.is_alive(), "the slow read ended before the other requests were sent"
        slow.join(timeout=30)
        # the read answers once the lock is free, with the event stored while it waited
        assert answers[0].status_code == 200, answers[0].text
        assert "tests" in answers[0].text


AUTHORIZATIONS = {
    "the token": f"Bearer {TOKEN}",
    "the token, scheme in lower case": f"bearer {TOKEN}",
    "no header": None,
    "a wrong token": "Bearer not-a-token-0123456789",
    "another scheme": f"Basic {TOKEN}",
    "no token": "Bearer",
}


@pytest.mark.parametrize("name", AUTHORIZATIONS)
def test_both_route_families_accept_and_refuse_the_same_tokens_alike(
    server: Serve, name: str
) -> None:
    authorization = AUTHORIZATIONS[name]
    headers = {"authorization": authorization} if authorization else {}
    answers = {
        "POST /v1/runs": requests.post(
            server.url + "/v1/runs", json=[flow_run(f"auth-{name}")], headers=headers, timeout=10
        ),
        "POST /api/v1/lineage": requests.post(
            server.url + "/api/v1/lineage", json=lineage_event(), headers=headers, timeout=10
        ),
        "GET /api/v1/namespaces": requests.get(
            server.url + "/api/v1/namespaces", headers=headers, timeout=10
        ),
    }
    accepted = {route: answer.status_code != 401 for route, answer in answers.items()}
    assert set(accepted.values()) == {name.startswith("the token")}, accepted
    if name.startswith("the token"):
        return
    # the same refusal, word for word, in each API's {"code", "message"}
    refusals = {route: answer.json() for route, answer in answers.items()}
    expected = (
        "invalid bearer token"
        if name == "a wrong token"
        else ("missing bearer token: send Authorization: Bearer <token>")
    )
    assert refusals == dict.fromkeys(answers, {"code": 401, "message": expected})
    assert {answer.headers["www-authenticate"] for answer in answers.values()} == {"Bearer"}


def test_the_lineage_routes_ask_no_signature(server: Serve) -> None:
    # a source that signs its /v1/* requests: OpenLineage clients cannot sign, its token is enough
    unsigned = server.post("/v1/runs", [flow_run("auth-unsigned")], token=OTHER_TOKEN)
    assert unsigned.status_code == 401 and "signs its requests" in unsigned.json()["message"]
    assert server.post("/api/v1/lineage", lineage_event(), token=OTHER_TOKEN).status_code == 201


def test_under_insecure_no_auth_both_route_families_take_anonymous_requests(
    tmp_path: Path,
) -> None:
    with Serve(tmp_path / "home", "--insecure-no-auth", "--no-drain") as anonymous:
        assert anonymous.post("/v1/runs", [flow_run("anon-1")], token=None).status_code == 200
        assert anonymous.post("/api/v1/lineage", lineage_event(), token=None).status_code == 201
        namespaces = requests.get(anonymous.url + "/api/v1/namespaces", timeout=10)
        assert [n["name"] for n in namespaces.json()["namespaces"]] == ["tests"]


def test_open_lineage_reads_answer_gets_without_a_token_and_nothing_else(tmp_path: Path) -> None:
    """--open-lineage-reads: Marquez's web UI sends no Authorization header; its GETs are
    answered, while writing lineage and the receiver's routes still need the token."""
    with Serve(tmp_path / "home", "--open-lineage-reads", "--no-drain") as server:
        assert server.post("/api/v1/lineage", lineage_event(), token=TOKEN).status_code == 201
        namespaces = requests.get(server.url + "/api/v1/namespaces", timeout=10)
        assert namespaces.status_code == 200
        assert [n["name"] for n in namespaces.json()["namespaces"]] == ["tests"]
        assert requests.get(server.url + "/api/v1/search?q=x", timeout=10).status_code == 200
        refused = {
            "POST /api/v1/lineage": server.post("/api/v1/lineage", lineage_event(), token=None),
            "POST /api/v1/lineage/batch": server.post(
                "/api/v1/lineage/batch", [lineage_event()], token=None
            ),
            "POST /v1/runs": server.post("/v1/runs", [flow_run("open-reads")], token=None),
            "GET /metrics": requests.get(server.url + "/metrics", timeout=10),
        }
        statuses = {route: answer.status_code for route, answer in refused.items()}
        assert statuses == {
            "POST /api/v1/lineage": 401,
            "POST /api/v1/lineage/batch": 401,
            "POST /v1/runs": 401,
            "GET /metrics": 200,  # as without the option: the metrics carry no lineage
        }


def test_lineage_requests_are_counted_by_route_template(server: Serve) -> None:
    requests_total = 'flowledger_receiver_requests_total{method="%s",route="%s",status="%s"}'
    duration_count = 'flowledger_request_duration_seconds_count{method="%s",route="%s"}'
    dataset = "/api/v1/namespaces/{namespace}/datasets/{name}"
    before = server.metrics()
    assert server.post("/api/v1/lineage", lineage_event()).status_code == 201
    assert server.post("/api/v1/lineage", lineage_event(), token=None).status_code == 401
    assert server.post("/api/v1/lineage/batch", [lineage_event()]).status_code == 200
    assert requests.get(server.url + "/api/v1/lineage", headers=AUTH, timeout=10).status_code == 400
    for name in ("metrics-secret-a", "metrics-secret-b"):  # two paths, one route
        missing = requests.get(
            server.url + f"/api/v1/namespaces/tests/datasets/{name}", headers=AUTH, timeout=10
        )
        assert missing.status_code == 404
    assert server.post("/v1/runs", [flow_run("metrics-1")]).status_code == 200
    assert requests.put(server.url + "/api/v1/lineage", timeout=10).status_code == 405
    assert requests.get(server.url + "/metrics-secret-c", timeout=10).status_code == 404
    after = server.metrics()
    expected = {
        requests_total % ("POST", "/api/v1/lineage", "201"): 1,
        requests_total % ("POST", "/api/v1/lineage", "401"): 1,
        requests_total % ("POST", "/api/v1/lineage/batch", "200"): 1,
        requests_total % ("GET", "/api/v1/lineage", "400"): 1,
        requests_total % ("GET", dataset, "404"): 2,
        requests_total % ("POST", "/v1/runs", "200"): 1,
        requests_total % ("PUT", "/api/v1/lineage", "405"): 1,
        requests_total % ("GET", "unmatched", "404"): 1,
        duration_count % ("POST", "/api/v1/lineage"): 2,
        duration_count % ("POST", "/api/v1/lineage/batch"): 1,
        duration_count % ("GET", "/api/v1/lineage"): 1,
        duration_count % ("GET", dataset): 2,
        duration_count % ("POST", "/v1/runs"): 1,
    }
    assert {key: after.get(key, 0) - before.get(key, 0) for key in expected} == expected
    bucket = 'flowledger_request_duration_seconds_bucket{method="GET",route="%s",le="+Inf"}'
    assert after[bucket % dataset] == after[duration_count % ("GET", dataset)]
    # the names asked for are no label values: one series per route, whatever clients send
    assert not any("metrics-secret" in sample for sample in after)


@pytest.fixture()
def shop(tmp_path: Path) -> DataDir:
    """A data directory as a build leaves it, by hand: a manifest of one model ``orders_clean``
    over the table ``warehouse.shop.orders``, and that table in the warehouse."""
    data_dir = DataDir(tmp_path / "home").ensure()
    write_manifest(data_dir)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute("create schema shop; create table shop.orders (id integer, amount integer)")
    return data_dir


def write_manifest(data_dir: DataDir, *, compiled: bool = True) -> None:
    """The manifest of :func:`shop`; without the model's SQL unless ``compiled`` (as
    ``flowledger build --select`` of another model leaves it)."""
    source = {
        "resource_type": "source", "name": "orders", "database": "warehouse", "schema": "shop",
        "identifier": "orders", "config": {}, "columns": {"id": {}, "amount": {}},
    }  # fmt: skip
    model = {
        "resource_type": "model", "name": "orders_clean", "database": "warehouse",
        "schema": "main", "alias": "orders_clean", "columns": {}, "config": {},
        "depends_on": {"nodes": ["source.shop.shop.orders"]},
        "compiled_code": "select id as order_id, amount * 100 as amount_cents "
        'from "warehouse"."shop"."orders"',
    }  # fmt: skip
    if not compiled:
        del model["compiled_code"]
    manifest = {
        "metadata": {"project_name": "shop"},
        "nodes": {"model.shop.orders_clean": model},
        "sources": {"source.shop.shop.orders": source},
    }
    data_dir.dbt_target.mkdir(parents=True, exist_ok=True)
    (data_dir.dbt_target / "manifest.json").write_text(json.dumps(manifest))


def first_hop(server: Serve, column: str) -> set[tuple[str, str, str, str]] | None:
    """The edges into ``MODEL.COLUMN`` in the trace the server answers (None: no such column)."""
    answer = requests.get(
        server.url + "/api/v1/flowledger/trace",
        params={"column": column},
        headers=AUTH,
        timeout=60,
    )
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    return {
        (e["input"]["dataset"], e["input"]["field"], e["type"], e["subtype"])
        for e in answer.json()["edges"]
        if e["hop"] == 1
    }


ORDERS_CLEAN_AMOUNT = {("warehouse.shop.orders", "amount", "DIRECT", "TRANSFORMATION")}


def test_a_project_sync_put_off_by_a_busy_warehouse_happens_on_a_later_read(
    shop: DataDir,
) -> None:
    with Serve(shop.root, "--no-drain") as server:
        with writer_lock(shop, timeout_s=5):  # as an ingest or a build holds it
            # the first read waits for the lock, in vain, and answers with what the store has
            assert first_hop(server, "orders_clean.amount_cents") is None
            # the next ones try again, waiting 0.5 s, not 5 s, for the lock
            started = time.monotonic()
            assert first_hop(server, "orders_clean.amount_cents") is None
            assert time.monotonic() - started < 3
        assert first_hop(server, "orders_clean.amount_cents") == ORDERS_CLEAN_AMOUNT


def test_a_build_while_the_server_runs_is_synced_on_the_next_read(shop: DataDir) -> None:
    with Serve(shop.root, "--no-drain") as server:
        assert first_hop(server, "orders_clean.amount_cents") == ORDERS_CLEAN_AMOUNT
        assert first_hop(server, "dim_flows.flow_name") is None
        # flowledger's own project, built into the same data directory: a new manifest
        subprocess.run(
            [sys.executable, "-m", "flowledger.cli", "--data-dir", str(shop.root), "build"],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            timeout=600,
        )
        # dim_flows: select flow_name from (select * from int_flows_summarized)
        assert first_hop(server, "dim_flows.flow_name") == {
            ("warehouse.intermediate.int_flows_summarized", "flow_name", "DIRECT", "IDENTITY")
        }
        # the lineage synced before stays
        assert first_hop(server, "orders_clean.amount_cents") == ORDERS_CLEAN_AMOUNT


def test_a_manifest_without_compiled_sql_is_read_with_the_sql_stored_before(shop: DataDir) -> None:
    with Serve(shop.root, "--no-drain") as server:
        assert first_hop(server, "orders_clean.amount_cents") == ORDERS_CLEAN_AMOUNT
        write_manifest(shop, compiled=False)  # `flowledger build --select` of another model
        assert first_hop(server, "orders_clean.amount_cents") == ORDERS_CLEAN_AMOUNT
    log = (shop.root / "logs" / "receiver.log").read_text()
    assert "lacks the compiled SQL of orders_clean: their lineage is parsed from the SQL an " in log


def test_a_manifest_without_compiled_sql_and_none_stored_leaves_the_lineage(
    shop: DataDir,
) -> None:
    write_manifest(shop, compiled=False)  # `flowledger build --select` before any full build
    with Serve(shop.root, "--no-drain") as server:
        assert first_hop(server, "orders_clean.amount_cents") is None
    log = (shop.root / "logs" / "receiver.log").read_text()
    assert "the dbt project's lineage is not updated: model model.shop.orders_clean has no " in log


def test_the_server_reads_the_manifest_again_only_once_a_build_rewrote_it(
    shop: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what the server's reads do before each answer, with every manifest read counted
    reads: list[Path] = []
    read_manifest = service.load_manifest
    monkeypatch.setattr(
        service, "load_manifest", lambda target: reads.append(target) or read_manifest(target)
    )
    store = LineageStore(shop)
    project_lineage = ProjectLineageSync(shop, store)
    for _ in range(3):
        project_lineage.refresh()
    assert len(reads) == 1
    assert store.graph().find_column("orders_clean.amount_cents")
    manifest = shop.dbt_target / "manifest.json"
    manifest.write_bytes(manifest.read_bytes())  # a build that changed nothing
    for _ in range(3):
        project_lineage.refresh()
    assert len(reads) == 2
