"""What the lineage pages read: the lineage graph (from the lineage store, never the warehouse
file while a writer holds it) and record provenance from the published marts snapshot, through
the dashboard's one connection to it (``read_published``: ``query_*`` functions, as the other
pages read and the benchmark times them).

Loaders are cached for :data:`CACHE_TTL_SECONDS`; the figure builders (``trace_dot``), table
builders (``trace_table``, ``field_summary``) and notes (``older_build_note``) are pure
functions, testable without a browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st

from dashboards.data import parse_timestamp, published_loader, read_published
from flowledger.settings import DataDir
from lineage import provenance
from lineage.ownership import declared_entities
from lineage.service import load_graph, trace

CACHE_TTL_SECONDS = 30
MART_SCHEMA_PART = ".marts."
COLORS = {
    "IDENTITY": "#2e7d32",
    "TRANSFORMATION": "#1565c0",
    "AGGREGATION": "#6a1b9a",
    "FILTER": "#ef6c00",
    "JOIN": "#8d6e63",
    "GROUP_BY": "#00838f",
    "WINDOW": "#ad1457",
    "CONDITIONAL": "#f9a825",
    "SORT": "#757575",
}


def _graph():
    return _graph_of(str(DataDir.resolve().root))


@st.cache_resource(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def _graph_of(root: str):
    """The lineage graph of a data directory, loaded once per :data:`CACHE_TTL_SECONDS` for
    every loader of every session (each loaded its own: a first visit of the lineage explorer
    read it two or three times, about 0.5-0.9 s each). A short wait for the warehouse catalog:
    the dashboard never blocks behind a build."""
    return load_graph(DataDir(Path(root)), catalog_wait_s=0.5)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def column_choices() -> dict[str, list[str]]:
    """``{"marts": [...], "sources": [...]}``: mart columns and the fields nothing feeds."""
    graph = _graph()
    marts, sources = [], []
    for key in graph.field_keys():
        if not key.field:
            continue
        label = f"{key.dataset}.{key.field}"
        if MART_SCHEMA_PART in f".{key.dataset}." and graph.upstream_edges(key):
            marts.append(label)
        elif not graph.upstream_edges(key) and graph.downstream_edges(key):
            sources.append(label)
    return {"marts": sorted(set(marts)), "sources": sorted(set(sources))}


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def column_label(reference: str) -> str | None:
    """The choice label (``marts.main.fct_cases.cycle_time_seconds``) of a column named as the
    CLI and the docs name it (``fct_cases.cycle_time_seconds``), when it names exactly one."""
    matches = _graph().find_column(reference)
    return f"{matches[0].dataset}.{matches[0].field}" if len(matches) == 1 else None


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def column_trace(label: str, downstream: bool, depth: int = 20) -> dict[str, Any]:
    graph = _graph()
    matches = graph.find_column(label)
    if not matches:
        raise LookupError(f"no column {label!r} in the lineage graph")
    return trace(graph, matches[0], downstream=downstream, depth=depth).to_dict()


def trace_table(result: dict[str, Any]) -> pl.DataFrame:
    """One row per edge of the trace tree (depth-first), with its hop from the picked column."""
    rows: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], hop: int) -> None:
        for child in node["children"]:
            transformation = child.get("transformation") or {}
            rows.append(
                {
                    "hop": hop,
                    "from": f"{node['dataset']}.{node['field']}",
                    "to": f"{child['dataset']}.{child['field']}",
                    "type": transformation.get("type"),
                    "subtype": transformation.get("subtype"),
                    "expression": transformation.get("description"),
                    "job": (child.get("job") or {}).get("name"),
                }
            )
            walk(child, hop + 1)

    walk(result["tree"], 1)
    schema = {"hop": pl.Int64, "from": pl.String, "to": pl.String, "type": pl.String,
              "subtype": pl.String, "expression": pl.String, "job": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def older_builds(result: dict[str, Any]) -> list[dict[str, str | None]]:
    """The jobs of the trace whose lineage is parsed from SQL an older build compiled (the last
    build, a ``flowledger build --select``, did not compile their models), one row each: ``job``
    (its name, as the steps table shows it) and ``built`` (when that older build wrote its
    manifest; None when not known). Empty when there are none, and for a trace without the
    ``olderBuilds`` field (read before it existed)."""
    names: dict[str, str] = {}  # "namespace:name" (how olderBuilds names a job) -> name

    def walk(node: dict[str, Any]) -> None:
        for child in node.get("children") or []:
            job = child.get("job") or {}
            if job.get("name"):
                names[f"{job.get('namespace')}:{job['name']}"] = job["name"]
            walk(child)

    walk(result.get("tree") or {})
    rows = []
    for entry in result.get("olderBuilds") or []:
        job = str(entry.get("job") or "")
        rows.append({"job": names.get(job, job), "built": entry.get("manifestGeneratedAt") or None})
    return sorted(rows, key=lambda row: row["job"] or "")


def older_build_note(result: dict[str, Any]) -> str | None:
    """Markdown saying which jobs of the trace have their steps parsed from SQL an older build
    compiled, and when that build was; None when every job's SQL is from the last build."""
    rows = older_builds(result)
    if not rows:
        return None
    lines = [
        "**SQL from an older build.** The last build (`flowledger build --select`) did not "
        f"compile {'this job' if len(rows) == 1 else f'these {len(rows)} jobs'} of the trace: "
        f"{'its' if len(rows) == 1 else 'their'} steps are parsed from the SQL an older build "
        "compiled. A full `flowledger build` compiles every model again.",
        "",
    ]
    for row in rows:
        built = _build_time(row["built"])
        lines.append(
            f"- `{row['job']}`: "
            + (f"SQL of the build of {built}" if built else "SQL of an older build (time unknown)")
        )
    return "\n".join(lines)


def _build_time(text: str | None) -> str | None:
    """A manifest's ``generated_at`` as "2026-12-01 10:00 UTC"; unreadable text as is."""
    parsed = parse_timestamp(text)
    return f"{parsed:%Y-%m-%d %H:%M} UTC" if parsed else text


def trace_dot(result: dict[str, Any], direct_only: bool = False) -> str:
    """The trace as a Graphviz DOT graph: fields grouped by dataset, edges coloured by subtype
    (data flows left to right: sources on the left)."""
    downstream = result["direction"] == "downstream"
    nodes: dict[str, tuple[str, str]] = {}
    edges: set[tuple[str, str, str, str]] = set()

    def node_id(item: dict[str, Any]) -> str:
        ident = f"{item['dataset']}.{item['field']}"
        nodes[ident] = (item["dataset"], item["field"])
        return ident

    def walk(node: dict[str, Any]) -> None:
        parent = node_id(node)
        for child in node["children"]:
            transformation = child.get("transformation") or {}
            if direct_only and transformation.get("type") != "DIRECT":
                continue
            current = node_id(child)
            source, target = (parent, current) if downstream else (current, parent)
            edges.add(
                (
                    source,
                    target,
                    transformation.get("type") or "",
                    transformation.get("subtype") or "",
                )
            )
            walk(child)

    walk(result["tree"])
    by_dataset: dict[str, list[str]] = {}
    for ident, (dataset, _) in nodes.items():
        by_dataset.setdefault(dataset, []).append(ident)
    lines = [
        "digraph lineage {",
        "  rankdir=LR;",
        '  node [shape=box, fontsize=10, style="rounded"];',
    ]
    for i, (dataset, idents) in enumerate(sorted(by_dataset.items())):
        lines.append(
            f'  subgraph cluster_{i} {{ label="{_q(dataset)}"; fontsize=10; color="#bbbbbb";'
        )
        for ident in sorted(idents):
            lines.append(f'    "{_q(ident)}" [label="{_q(nodes[ident][1])}"];')
        lines.append("  }")
    for source, target, kind, subtype in sorted(edges):
        style = "solid" if kind == "DIRECT" else "dashed"
        color = COLORS.get(subtype, "#444444")
        lines.append(
            f'  "{_q(source)}" -> "{_q(target)}" [label="{_q(subtype.lower())}", '
            f'fontsize=8, style={style}, color="{color}", fontcolor="{color}"];'
        )
    lines.append("}")
    return "\n".join(lines)


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


# ------------------------------------------------------------------------- provenance


def query_entities(con: duckdb.DuckDBPyConnection) -> list[str]:
    return provenance.query_entities(con)


def query_record_writes(
    con: duckdb.DuckDBPyConnection, entity: str, record_key: str
) -> pl.DataFrame:
    rows = provenance.query_record_fields(con, entity, record_key)
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def query_violations(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    rows = provenance.query_ownership_violations(con)
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


@published_loader
def entities() -> list[str]:
    """The entities with writes, then those declared without any yet (a deep link to a declared
    entity shows it, not another one)."""
    written = read_published(query_entities)
    if not written:
        return []
    return list(dict.fromkeys([*written, *declared_entities(DataDir.resolve().root)]))


@published_loader
def record_writes(entity: str, key: str) -> pl.DataFrame:
    return read_published(query_record_writes, entity, key)


@published_loader
def violations() -> pl.DataFrame:
    return read_published(query_violations)


def field_summary(writes: pl.DataFrame) -> pl.DataFrame:
    """One row per field of the record: current value, who last wrote it, writes, violations."""
    if writes.is_empty():
        return pl.DataFrame()
    current = writes.filter(pl.col("is_current")).select(
        "field_name",
        pl.col("field_value").alias("current_value"),
        pl.col("event_source").alias("last_written_by"),
        pl.col("occurred_at").alias("last_written_at"),
        pl.col("flow_id").alias("last_flow"),
        "system_of_record",
    )
    counts = writes.group_by("field_name").agg(
        pl.len().alias("writes"),
        pl.col("is_ownership_violation").sum().alias("ownership_violations"),
    )
    # another value written at the current write's very time: no single last writer (the rule
    # `flowledger lineage who-wrote` applies)
    tied = pl.DataFrame(
        [
            {
                "field_name": field_name,
                "tied_with": ", ".join(sorted({w["event_source"] for w in tied_writes})),
            }
            for (field_name,), field_writes in writes.group_by("field_name")
            if (tied_writes := provenance.tied_with_current(field_writes.to_dicts()))
        ],
        schema={"field_name": writes.schema["field_name"], "tied_with": pl.String},
    )
    return (
        current.join(counts, on="field_name")
        .join(tied, on="field_name", how="left")
        .sort("field_name")
    )
