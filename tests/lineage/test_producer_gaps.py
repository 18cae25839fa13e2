"""What real producers send that the parsed lineage must complete or override: dbt-ol's empty
`inputFields`, sources whose columns only a `schema` facet lists, JSON paths under a producer's
whole-column edge, DuckDB's `group by all`, and relation names spelt in another case."""

from __future__ import annotations

from lineage.graph import FieldKey, LineageGraph
from lineage.sql_lineage import analyze_query

NS = "duckdb://warehouse"


def _event(sql: str, output: str, inputs: list[dict], fields: dict | None = None) -> dict:
    out: dict = {"namespace": NS, "name": output}
    if fields is not None:
        out["facets"] = {"columnLineage": {"_producer": "dbt-ol", "fields": fields}}
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/dbt",
        "run": {"runId": "0190a7f0-0000-7000-8000-0000000000bb"},
        "job": {"namespace": "dbt", "name": output, "facets": {"sql": {"query": sql}}},
        "inputs": inputs,
        "outputs": [out],
    }


def _edges(graph: LineageGraph, dataset: str, field: str) -> set[tuple[str, str, str, str]]:
    return {
        (e.input.dataset, e.input.field, e.type, e.subtype)
        for e in graph.upstream_edges(FieldKey(NS, dataset, field))
    }


def test_group_by_all_groups_by_every_plain_selected_expression() -> None:
    schema = {"db.s.orders": ["region", "status", "amount"]}
    lineage = analyze_query(
        "select region, upper(status) as s, sum(amount) as total,"
        " row_number() over (order by region) as n from db.s.orders group by all",
        schema,
    )
    total = {(e.column, e.type, e.subtype) for e in lineage.fields["total"]}
    assert total == {
        ("amount", "DIRECT", "AGGREGATION"),
        ("region", "INDIRECT", "GROUP_BY"),
        ("status", "INDIRECT", "GROUP_BY"),
    }


def test_empty_input_fields_are_parsed_and_a_schema_facet_expands_star() -> None:
    # The source's columns come only from its schema facet; another event's lineage named one.
    source = {
        "namespace": NS,
        "name": "db.raw.payments",
        "facets": {
            "schema": {"fields": [{"name": "payment_id"}, {"name": "amount"}, {"name": "payload"}]}
        },
    }
    graph = LineageGraph.from_events(
        [
            _event(
                "select payment_id from db.raw.payments",
                "db.s.ids",
                [source],
                {"payment_id": {"inputFields": []}},
            ),
            _event(
                "select *, json_extract(payload, '$.qty')::int as qty from db.raw.payments",
                "db.s.payments",
                [{"namespace": NS, "name": "db.raw.payments"}],
                {
                    # dbt-ol's guesses: nothing for what its parser cannot place, and the whole
                    # JSON column for a path read out of it
                    "amount": {"inputFields": []},
                    "qty": {
                        "inputFields": [
                            {"namespace": NS, "name": "db.raw.payments", "field": "payload"}
                        ]
                    },
                },
            ),
        ]
    )
    assert _edges(graph, "db.s.ids", "payment_id") == {
        ("db.raw.payments", "payment_id", "DIRECT", "IDENTITY")
    }
    # `*` expanded from the schema facet: every column, not only those named by lineage so far
    assert graph.datasets[(NS, "db.s.payments")].derived_columns == [
        "payment_id",
        "amount",
        "payload",
        "qty",
    ]
    assert _edges(graph, "db.s.payments", "amount") == {
        ("db.raw.payments", "amount", "DIRECT", "IDENTITY")
    }
    # the parsed JSON path replaces dbt-ol's untyped edge from the whole column
    assert _edges(graph, "db.s.payments", "qty") == {
        ("db.raw.payments", "payload.qty", "DIRECT", "TRANSFORMATION")
    }


def test_relation_names_resolve_in_any_case() -> None:
    graph = LineageGraph.from_events(
        [
            _event(
                "select Amount from db.raw.Orders",
                "db.s.Totals",
                [{"namespace": NS, "name": "db.raw.Orders"}],
            )
        ]
    )
    assert graph.resolve_dataset(f"{NS}:db.s.totals") == (NS, "db.s.Totals")
    key = graph.resolve_field(f"{NS}:DB.S.TOTALS:amount")
    assert (key.dataset, key.field) == ("db.s.Totals", "Amount")


def test_a_table_only_the_sql_names_keeps_its_spelling() -> None:
    """A quoted `"RawZone"` source reached through an ephemeral model (no event names it) became
    a second dataset `db.rawzone.payments` beside the producer's `db.RawZone.…` ones."""
    graph = LineageGraph.from_events(
        [
            _event(
                'select order_id, amount from "db"."RawZone"."Payments"',
                "db.s.paid",
                [],
            )
        ]
    )
    assert _edges(graph, "db.s.paid", "amount") == {
        ("db.RawZone.Payments", "amount", "DIRECT", "IDENTITY")
    }
    assert (NS, "db.rawzone.payments") not in graph.datasets


def test_a_producer_edge_from_a_column_its_input_lacks_goes() -> None:
    """dbt-ol took a lateral alias (`amount_eur`, computed in the same SELECT) for a column of
    the table read: the edge stayed beside the parsed ones, and `stg_orders` listed a field
    `amount_eur` it does not have."""
    staging = _event(
        "select order_id, amount from db.raw.orders",
        "db.s.stg_orders",
        [{"namespace": NS, "name": "db.raw.orders"}],
    )
    guessed = {"inputFields": [{"namespace": NS, "name": "db.s.stg_orders", "field": "amount_eur"}]}
    fx = _event(
        "select order_id, amount * 2 as amount_eur, round(amount_eur, 2) as amount_eur_rounded"
        " from db.s.stg_orders",
        "db.s.fx_orders",
        [{"namespace": NS, "name": "db.s.stg_orders"}],
        {"amount_eur_rounded": guessed},
    )
    fx["eventTime"] = "2026-01-01T00:01:00Z"
    fx["run"]["runId"] = "0190a7f0-0000-7000-8000-0000000000cc"
    graph = LineageGraph.from_events([staging, fx])
    assert _edges(graph, "db.s.fx_orders", "amount_eur_rounded") == {
        ("db.s.stg_orders", "amount", "DIRECT", "TRANSFORMATION")
    }
    assert list(graph.datasets[(NS, "db.s.stg_orders")].fields) == ["order_id", "amount"]


def test_a_transformations_masking_is_kept_and_read_back() -> None:
    """OpenLineage's `masking: true` (the input is masked or hashed) was dropped: the API and
    the export said nothing of it."""
    from lineage.export import edge_rows
    from lineage.marquez import column_lineage

    fields = {
        "customer_hash": {
            "inputFields": [
                {
                    "namespace": NS, "name": "db.raw.customers", "field": "email",
                    "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}],
                }
            ]
        },
        "region": {
            "inputFields": [
                {
                    "namespace": NS, "name": "db.raw.customers", "field": "region",
                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                }
            ]
        },
    }  # fmt: skip
    event = _event("", "db.s.customers", [{"namespace": NS, "name": "db.raw.customers"}], fields)
    event["job"]["facets"] = {}
    graph = LineageGraph.from_events([event])
    node_id = f"datasetField:{NS}:db.s.customers:customer_hash"
    node = next(n for n in column_lineage(graph, node_id, depth=1)["graph"] if n["id"] == node_id)
    (given,) = node["data"]["inputFields"]
    assert [t["masking"] for t in given["transformations"]] == [True]
    masking = {row["output_field"]: row["masking"] for row in edge_rows(graph)}
    assert masking == {"customer_hash": "true", "region": ""}
