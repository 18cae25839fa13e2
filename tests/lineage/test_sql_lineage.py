"""Column lineage of hand-written queries: every edge, type and subtype written out by hand."""

from __future__ import annotations

import pytest

from lineage.sql_lineage import SqlLineageError, analyze_query

SCHEMA = {
    "db.raw.orders": ["order_id", "customer_id", "amount", "status", "placed_at", "data"],
    "db.raw.customers": ["customer_id", "region", "is_test"],
    "db.seeds.keys": ["key_field", "kind"],
}


def edges(sql: str, column: str, **kwargs) -> set[tuple[str, str, str, str]]:
    lineage = analyze_query(sql, SCHEMA, **kwargs)
    return {(e.table, e.column, e.type, e.subtype) for e in lineage.fields[column]}


def test_identity_through_ctes_and_star() -> None:
    sql = """
    with source as (select * from db.raw.orders),
    renamed as (select order_id as id, amount from source)
    select * from renamed
    """
    lineage = analyze_query(sql, SCHEMA)
    assert lineage.columns == ["id", "amount"]
    assert edges(sql, "id") == {("db.raw.orders", "order_id", "DIRECT", "IDENTITY")}
    assert lineage.tables == ["db.raw.orders"]
    assert lineage.dataset == []


def test_transformation_aggregation_and_count_star() -> None:
    sql = """
    select o.customer_id, sum(o.amount) * 2 as doubled, count(*) as orders,
           coalesce(o.customer_id, 'x') || '!' as label
    from db.raw.orders as o
    where o.status = 'paid'
    group by o.customer_id
    """
    filter_ = ("db.raw.orders", "status", "INDIRECT", "FILTER")
    group = ("db.raw.orders", "customer_id", "INDIRECT", "GROUP_BY")
    assert edges(sql, "doubled") == {
        ("db.raw.orders", "amount", "DIRECT", "AGGREGATION"),
        filter_,
        group,
    }
    # count(*) reads no column: what decides its rows is its lineage (dbt-ol gives it none).
    assert edges(sql, "orders") == {filter_, group}
    assert edges(sql, "label") == {
        ("db.raw.orders", "customer_id", "DIRECT", "TRANSFORMATION"),
        filter_,
        group,
    }
    dataset = {(e.table, e.column, e.type, e.subtype) for e in analyze_query(sql, SCHEMA).dataset}
    assert dataset == {filter_, group}


def test_join_window_conditional_sort() -> None:
    sql = """
    with ranked as (
        select o.order_id, c.region,
               row_number() over (partition by o.customer_id order by o.placed_at) as n,
               case when c.is_test then 0 else o.amount end as real_amount
        from db.raw.orders as o
        inner join db.raw.customers as c on o.customer_id = c.customer_id
    )
    select order_id, n, real_amount, string_agg(region, ',' order by order_id) over () as regions
    from ranked
    """
    join = {
        ("db.raw.orders", "customer_id", "INDIRECT", "JOIN"),
        ("db.raw.customers", "customer_id", "INDIRECT", "JOIN"),
    }
    assert edges(sql, "order_id") == {("db.raw.orders", "order_id", "DIRECT", "IDENTITY")} | join
    assert (
        edges(sql, "n")
        == {
            ("db.raw.orders", "customer_id", "INDIRECT", "WINDOW"),
            ("db.raw.orders", "placed_at", "INDIRECT", "WINDOW"),
        }
        | join
    )
    assert (
        edges(sql, "real_amount")
        == {
            ("db.raw.orders", "amount", "DIRECT", "TRANSFORMATION"),
            ("db.raw.customers", "is_test", "INDIRECT", "CONDITIONAL"),
        }
        | join
    )
    assert (
        edges(sql, "regions")
        == {
            ("db.raw.customers", "region", "DIRECT", "AGGREGATION"),
            ("db.raw.orders", "order_id", "INDIRECT", "SORT"),
        }
        | join
    )


def test_union_both_branches() -> None:
    sql = """
    select customer_id as id from db.raw.orders
    union
    select customer_id from db.raw.customers where not is_test
    """
    assert edges(sql, "id") == {
        ("db.raw.orders", "customer_id", "DIRECT", "IDENTITY"),
        ("db.raw.customers", "customer_id", "DIRECT", "IDENTITY"),
        ("db.raw.customers", "is_test", "INDIRECT", "FILTER"),
    }


def test_union_by_name_matches_branches_by_name() -> None:
    """DuckDB's `union all by name` matched by position gave `paid` the 2024 table's `method`:
    the two tables list their columns in other orders, and the second has one more."""
    schema = {
        "db.raw.p23": ["order_id", "method", "amount_cents"],
        "db.raw.p24": ["amount_cents", "order_id", "method", "note"],
    }
    sql = """
    with payments as (select * from db.raw.p23 union all by name select * from db.raw.p24)
    select order_id, sum(amount_cents) as paid, note from payments group by order_id, note
    """
    lineage = analyze_query(sql, schema)
    assert lineage.columns == ["order_id", "paid", "note"]
    group_by = {
        (table, column, "INDIRECT", "GROUP_BY")
        for table in ("db.raw.p23", "db.raw.p24")
        for column in ("order_id",)
    } | {("db.raw.p24", "note", "INDIRECT", "GROUP_BY")}
    paid = {(e.table, e.column, e.type, e.subtype) for e in lineage.fields["paid"]}
    assert paid == group_by | {
        ("db.raw.p23", "amount_cents", "DIRECT", "AGGREGATION"),
        ("db.raw.p24", "amount_cents", "DIRECT", "AGGREGATION"),
    }
    note = {(e.table, e.column, e.type, e.subtype) for e in lineage.fields["note"]}
    assert note == group_by | {("db.raw.p24", "note", "DIRECT", "IDENTITY")}
    whole = analyze_query(
        "select * from db.raw.p23 union all by name select * from db.raw.p24", schema
    )
    assert whole.columns == ["order_id", "method", "amount_cents", "note"]
    assert {(e.table, e.column) for e in whole.fields["method"]} == {
        ("db.raw.p23", "method"), ("db.raw.p24", "method")
    }  # fmt: skip


def test_json_paths_become_nested_fields() -> None:
    literal = "select json_extract_string(data, '$.payment_status') as status from db.raw.orders"
    assert edges(literal, "status") == {
        ("db.raw.orders", "data.payment_status", "DIRECT", "TRANSFORMATION")
    }
    computed = """
    select json_extract_string(o.data, '$."' || k.key_field || '"') as case_id
    from db.raw.orders as o inner join db.seeds.keys as k on o.status = k.kind
    """
    values = {("db.seeds.keys", "key_field"): ["order_id", "quote_id"]}
    assert edges(computed, "case_id", column_values=values) == {
        ("db.raw.orders", "data.order_id", "DIRECT", "TRANSFORMATION"),
        ("db.raw.orders", "data.quote_id", "DIRECT", "TRANSFORMATION"),
        ("db.seeds.keys", "key_field", "DIRECT", "TRANSFORMATION"),
        ("db.raw.orders", "status", "INDIRECT", "JOIN"),
        ("db.seeds.keys", "kind", "INDIRECT", "JOIN"),
    }


def test_json_pointers_and_path_lists_become_nested_fields() -> None:
    """The models read fields by JSON Pointer (macros/cross_db/json_fields.sql), several at once
    where one parse serves many fields (fct_record_field_writes)."""
    pointer = "select json_extract_string(data, '/payment_status') as status from db.raw.orders"
    assert edges(pointer, "status") == {
        ("db.raw.orders", "data.payment_status", "DIRECT", "TRANSFORMATION")
    }
    listed = (
        "select json_extract_string(data, ['/order_id', '/ship~1to', '$.amount']) as fields "
        "from db.raw.orders"
    )
    assert edges(listed, "fields") == {
        ("db.raw.orders", "data.order_id", "DIRECT", "TRANSFORMATION"),
        ("db.raw.orders", "data.ship/to", "DIRECT", "TRANSFORMATION"),
        ("db.raw.orders", "data.amount", "DIRECT", "TRANSFORMATION"),
    }


def test_ambiguous_column_is_reported_not_guessed() -> None:
    lineage = analyze_query(
        "select region from db.raw.unknown_a, db.raw.unknown_b", {}, dialect="duckdb"
    )
    assert lineage.fields["region"] == []
    assert any("could belong to" in reason for reason in lineage.unresolved)


def test_bad_sql_is_a_clear_error() -> None:
    with pytest.raises(SqlLineageError, match="cannot parse"):
        analyze_query("select from from where", SCHEMA)
    with pytest.raises(SqlLineageError, match="not a query"):
        analyze_query("delete from db.raw.orders", SCHEMA)


PIVOT_SCHEMA = {
    "db.s.orders": ["order_id", "customer_id", "status", "amount"],
    "db.s.by_status": ["customer_id", "placed", "shipped"],
}


def test_duckdb_pivot_statements_have_lineage() -> None:
    """DuckDB's PIVOT statement (a dbt model's whole SQL) had no lineage at all, only a note
    about a `*`: it is read as the SELECT it stands for."""
    sql = """
    with p as (pivot db.s.orders on status in ('placed', 'shipped') using sum(amount)
               group by customer_id)
    select * from p
    """
    lineage = analyze_query(sql, PIVOT_SCHEMA)
    assert lineage.columns == ["customer_id", "placed", "shipped"]
    assert lineage.unresolved == []
    group_by = ("db.s.orders", "customer_id", "INDIRECT", "GROUP_BY")
    for column in ("placed", "shipped"):
        assert {(e.table, e.column, e.type, e.subtype) for e in lineage.fields[column]} == {
            ("db.s.orders", "amount", "DIRECT", "AGGREGATION"),
            ("db.s.orders", "status", "INDIRECT", "CONDITIONAL"),
            group_by,
        }
    named = analyze_query(
        "pivot db.s.orders on status in ('placed') using sum(amount) as total, count(*) as n"
        " group by customer_id",
        PIVOT_SCHEMA,
    )
    assert named.columns == ["customer_id", "placed_total", "placed_n"]
    assert {(e.column, e.subtype) for e in named.fields["placed_n"]} == {
        ("status", "CONDITIONAL"), ("customer_id", "GROUP_BY")
    }  # fmt: skip


def test_duckdb_unpivot_statements_have_lineage() -> None:
    lineage = analyze_query(
        "unpivot db.s.by_status on placed, shipped into name status value total", PIVOT_SCHEMA
    )
    assert lineage.columns == ["customer_id", "status", "total"]
    assert {(e.column, e.subtype) for e in lineage.fields["total"]} == {
        ("placed", "IDENTITY"), ("shipped", "IDENTITY")
    }  # fmt: skip
    assert {(e.column, e.subtype) for e in lineage.fields["customer_id"]} == {
        ("customer_id", "IDENTITY")
    }


def test_a_pivot_whose_columns_the_data_decides_says_so(capsys) -> None:
    """Without an IN list the columns are the values in the data: the note says what to write,
    and sqlglot's own warnings are notes too, not lines on stderr."""
    sql = "pivot db.s.orders on status using sum(amount) group by customer_id"
    with pytest.raises(SqlLineageError, match=r"list them \(ON c IN \('a', 'b'\)\)"):
        analyze_query(sql, PIVOT_SCHEMA)
    lineage = analyze_query(f"with p as ({sql}) select * from p", PIVOT_SCHEMA)
    assert any("list them (ON c IN" in note for note in lineage.unresolved)
    assert any(note.startswith("sqlglot: Cannot traverse scope") for note in lineage.unresolved)
    assert capsys.readouterr().err == ""
