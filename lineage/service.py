"""What the CLI, the API and the dashboard ask of lineage: one graph of the ingested events and
of flowledger's own dbt project, and traces through it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from flowledger.settings import DataDir
from lineage.compiled_sql import OlderSql, full_build_sql
from lineage.dbt_project import (
    COMPILED_SQL_FACET,
    JOB_NAMESPACE,
    PRODUCER,
    ManifestError,
    ManifestStamp,
    event_dicts,
    load_manifest,
    manifest_stamp,
    openlineage_events,
    project_lineage,
)
from lineage.graph import FieldEdge, FieldKey, LineageGraph
from lineage.store import LineageStore, lineage_dir

PARSER_PRODUCER = PRODUCER + "#parser"

log = logging.getLogger("flowledger.lineage")


class LineageError(RuntimeError):
    """A lineage question that cannot be answered; the message says why and what to do."""


def warehouse_namespace(data_dir: DataDir) -> str:
    """dbt-ol's dataset namespace for a dbt-duckdb warehouse: ``duckdb://<path>``."""
    return f"duckdb://{data_dir.warehouse}"


def sync_project_lineage(
    data_dir: DataDir, store: LineageStore | None = None, catalog_wait_s: float = 5.0
) -> bool:
    """Store the column lineage of flowledger's own dbt project (from the manifest of the last
    build) as OpenLineage JobEvents, once per manifest (by its SHA-256). True when the store holds
    the lineage of the manifest as it is (stored now or before, or no manifest to read); False
    when a writer kept the warehouse busy for ``catalog_wait_s``: nothing stored, sync later.

    A model whose compiled SQL the manifest lacks (``flowledger build --select`` compiles the
    models selected only) is parsed from the SQL stored for it by an earlier sync, with a
    warning, and its JobEvent says which build compiled it (a ManifestError when none is
    stored)."""
    store = store or LineageStore(data_dir)
    try:
        manifest, digest = load_manifest(data_dir.dbt_target)
    except ManifestError:
        return True
    marker = lineage_dir(data_dir) / "dbt-manifest.sha256"
    if marker.exists() and marker.read_text().strip() == digest:
        return True
    config_tables = frozenset(
        ".".join(str(p).lower() for p in (n.get("database"), n.get("schema"), n.get("alias")) if p)
        for n in manifest.get("nodes", {}).values()
        if n.get("resource_type") == "seed"
        or n.get("language") == "python"
        # SQL models rendered from a configuration file (e.g. int_processes_configured)
        or (n.get("config") or {}).get("meta", {}).get("configuration_table") is True
    )
    found = warehouse_catalog(data_dir, catalog_wait_s, config_tables)
    if found is None:
        return False  # sync later, with the warehouse's columns
    catalog, values = found
    namespace = warehouse_namespace(data_dir)
    stored: dict[str, OlderSql] | None = None

    def older_sql(dataset: str) -> OlderSql | None:
        nonlocal stored
        if stored is None:  # read the store only when the manifest is partial
            stored = stored_model_sql(store.graph(), namespace)
        return stored.get(dataset)

    project = project_lineage(
        data_dir.dbt_target,
        namespace,
        catalog,
        column_values=values,
        older_sql=older_sql,
        full_sql=full_build_sql(data_dir.dbt_target).get,
    )
    older = sorted(model.name for model in project.models.values() if model.older_build)
    if older:
        log.warning(
            "the last build's manifest (a `flowledger build --select`) lacks the compiled SQL "
            "of %s: their lineage is parsed from the SQL an older build compiled; a full "
            "`flowledger build` refreshes it",
            ", ".join(older),
        )
    events = event_dicts(openlineage_events(project))
    for event in events:
        for output in event.get("outputs", []):
            facet = output.get("facets", {}).get("columnLineage")
            if facet is not None:
                facet["_producer"] = PARSER_PRODUCER
    store.append(events)
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(digest + "\n")
    tmp.replace(marker)
    return True


def stored_model_sql(graph: LineageGraph, namespace: str) -> dict[str, OlderSql]:
    """The SQL an earlier sync stored for each model of the project (by the dataset it writes
    in ``namespace``), and the build that compiled it."""
    found: dict[str, OlderSql] = {}
    for job in graph.jobs.values():
        query = (job.facets.get("sql") or {}).get("query")
        if job.namespace != JOB_NAMESPACE or not query:
            continue
        compiled = job.facets.get(COMPILED_SQL_FACET) or {}
        built = compiled.get("manifestGeneratedAt") or job.updated_at  # synced before the facet
        checksum = str(compiled.get("modelChecksum") or "")
        for dataset_namespace, dataset in job.outputs:
            if dataset_namespace == namespace:
                found[dataset] = OlderSql(query, built, checksum)
    return found


class ProjectLineageSync:
    """Keeps the dbt project's lineage in a long-lived reader's store (the server's) current:
    :meth:`refresh` runs :func:`sync_project_lineage` until it succeeds, and again once a build
    wrote a new manifest. A refresh that finds the manifest as at the last successful sync (by
    a stat: inode, size, modification time) reads nothing.

    A sync waits up to ``catalog_wait_s`` for the warehouse writer lock; while a writer (an
    ingest, a build) keeps it busy, the sync stays pending and each next refresh waits only
    ``retry_wait_s``, so the reads during a long build are not each held up for seconds. A
    manifest the lineage cannot be computed from (``flowledger build --select`` before any
    full build: no compiled SQL of the models not selected is stored) is logged and skipped:
    the reads answer with the lineage stored before, until a build writes another manifest.
    """

    def __init__(
        self,
        data_dir: DataDir,
        store: LineageStore,
        catalog_wait_s: float = 5.0,
        retry_wait_s: float = 0.5,
    ) -> None:
        self.data_dir = data_dir
        self.store = store
        self.catalog_wait_s = catalog_wait_s
        self.retry_wait_s = retry_wait_s
        self._synced = False  # a sync succeeded, for the manifest of ``_synced_stamp``
        self._synced_stamp: ManifestStamp | None = None
        self._busy = False  # the last sync found the warehouse busy
        self._mutex = threading.Lock()

    def refresh(self) -> None:
        with self._mutex:
            # the stamp before the sync: a manifest written meanwhile is synced on the next call
            stamp = manifest_stamp(self.data_dir.dbt_target)
            if self._synced and stamp == self._synced_stamp:
                return
            wait_s = self.retry_wait_s if self._busy else self.catalog_wait_s
            try:
                self._busy = not sync_project_lineage(self.data_dir, self.store, wait_s)
            except ManifestError as error:
                log.warning("the dbt project's lineage is not updated: %s", error)
                self._busy = False
            self._synced = not self._busy
            self._synced_stamp = stamp


def warehouse_columns(data_dir: DataDir, wait_s: float = 5.0) -> dict[str, list[str]]:
    """Columns of every relation built in the warehouse and the marts file (``db.schema.table``
    → names, e.g. ``marts.main.fct_cases``), read
    under the writer lock; empty when there is no warehouse or a writer keeps it busy."""
    found = warehouse_catalog(data_dir, wait_s)
    return found[0] if found is not None else {}


def warehouse_catalog(
    data_dir: DataDir, wait_s: float = 5.0, value_tables: frozenset[str] = frozenset()
) -> tuple[dict[str, list[str]], dict[tuple[str, str], list[str]]] | None:
    """The warehouse's columns, and the distinct values of the text columns of the small
    ``value_tables`` (configuration tables: a JSON path computed from them expands to these);
    both empty without a warehouse, None when a writer keeps the warehouse busy (its lock held
    past ``wait_s``, or DuckDB cannot open it read-only)."""
    import duckdb

    from flowledger.warehouse import WarehouseBusy, connect_warehouse, writer_lock

    if not data_dir.warehouse.exists():
        return {}, {}
    values: dict[tuple[str, str], list[str]] = {}
    try:
        with writer_lock(data_dir, timeout_s=wait_s, announce=False):
            con = connect_warehouse(data_dir, read_only=True)
            try:
                rows = con.execute(
                    "select table_catalog, table_schema, table_name, column_name, data_type "
                    "from information_schema.columns order by table_catalog, table_schema, "
                    "table_name, ordinal_position"
                ).fetchall()
                for db, schema, table, column, data_type in rows:
                    key = f"{db}.{schema}.{table}".lower()
                    if key not in value_tables or data_type != "VARCHAR":
                        continue
                    found = con.execute(
                        f'select distinct "{column}" from "{db}"."{schema}"."{table}" '
                        f'where "{column}" is not null order by 1 limit {MAX_CONFIG_VALUES + 1}'
                    ).fetchall()
                    if len(found) <= MAX_CONFIG_VALUES:
                        values[(key, column.lower())] = [str(v[0]) for v in found]
            finally:
                con.close()
    except (WarehouseBusy, duckdb.Error):
        return None
    columns: dict[str, list[str]] = {}
    for db, schema, table, column, _ in rows:
        columns.setdefault(f"{db}.{schema}.{table}".lower(), []).append(column)
    return columns, values


MAX_CONFIG_VALUES = 200


def load_graph(
    data_dir: DataDir, store: LineageStore | None = None, catalog_wait_s: float = 5.0
) -> LineageGraph:
    store = store or LineageStore(data_dir)
    synced = sync_project_lineage(data_dir, store, catalog_wait_s)
    graph = store.graph()
    graph.project_sync_deferred = not synced
    return graph


@dataclass
class TraceNode:
    key: FieldKey
    edge: FieldEdge | None = None  # how this node relates to its parent in the tree
    children: list[TraceNode] = field(default_factory=list)
    repeated: bool = False  # already expanded elsewhere in the tree

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "namespace": self.key.namespace,
            "dataset": self.key.dataset,
            "field": self.key.field,
            "nodeId": self.key.node_id,
        }
        if self.edge is not None:
            data["transformation"] = {
                "type": self.edge.type,
                "subtype": self.edge.subtype,
                "description": self.edge.description,
            }
            data["job"] = (
                {"namespace": self.edge.job[0], "name": self.edge.job[1]} if self.edge.job else None
            )
            data["origin"] = self.edge.origin
        if self.repeated:
            data["repeated"] = True
        data["children"] = [child.to_dict() for child in self.children]
        return data


@dataclass
class Trace:
    root: TraceNode
    downstream: bool
    edges: list[tuple[int, FieldEdge]]
    sql: dict[str, str]  # job "ns:name" -> SQL
    leaves: list[FieldKey]
    #: job "ns:name" -> the manifest ``generated_at`` of the older build whose compiled SQL its
    #: lineage is parsed from (the last build, with --select, did not compile it), as of the
    #: trace's time like ``sql``
    older_builds: dict[str, str | None] = field(default_factory=dict)
    #: the time the trace is of, when asked (``--as-of``), as given
    as_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.root.to_dict()["nodeId"],
            "direction": "downstream" if self.downstream else "upstream",
            "tree": self.root.to_dict(),
            "edges": [{"hop": hop, **edge.to_dict()} for hop, edge in self.edges],
            "leaves": [
                {"namespace": k.namespace, "dataset": k.dataset, "field": k.field}
                for k in self.leaves
            ],
            "sql": self.sql,
            "olderBuilds": [
                {"job": job, "manifestGeneratedAt": built}
                for job, built in sorted(self.older_builds.items())
            ],
        }


def resolve_column(graph: LineageGraph, reference: str) -> FieldKey:
    """``MODEL.COLUMN`` → the one field it names, or a clear error."""
    if "." not in reference and not reference.startswith("datasetField:"):
        raise LineageError(
            f"{reference!r} is not MODEL.COLUMN: give a model (or table) and a column, "
            "e.g. fct_cases.cycle_time_seconds"
        )
    matches = graph.find_column(reference)
    if not matches and graph.project_sync_deferred:
        raise LineageError(
            f"no column {reference!r} in the lineage graph yet: the last build's dbt lineage "
            "is not read in, because a build or an ingest keeps the warehouse busy; run this "
            "again when it has finished"
        )
    if not matches:
        raise LineageError(
            f"no column {reference!r} in the lineage graph ({len(graph.datasets)} datasets): "
            "check the name (`flowledger lineage export --format json` lists every field), "
            "or run `flowledger build` so the dbt project's lineage is known"
        )
    if len(matches) > 1:
        names = ", ".join(f"{m.dataset}.{m.field} ({m.namespace})" for m in matches[:10])
        raise LineageError(f"{reference!r} is ambiguous: it matches {names}; give more of the name")
    return matches[0]


def trace(
    graph: LineageGraph,
    start: FieldKey,
    *,
    downstream: bool = False,
    depth: int = 20,
    as_of: str | None = None,
    direct_only: bool = False,
) -> Trace:
    """The tree from ``start`` (upstream to the source fields, or downstream to what it feeds)."""
    expanded: set[FieldKey] = set()
    sql: dict[str, str] = {}
    leaves: set[FieldKey] = set()
    older_builds: dict[str, str | None] = {}

    def grow(node: TraceNode, level: int) -> None:
        if node.key in expanded:
            node.repeated = True
            return
        expanded.add(node.key)
        if level >= depth:
            return
        edges = (
            graph.downstream_edges(node.key, as_of)
            if downstream
            else graph.upstream_edges(node.key, as_of)
        )
        if direct_only:
            edges = [edge for edge in edges if edge.type == "DIRECT"]
        if not edges and level > 0:
            leaves.add(node.key)
        for edge in sorted(edges, key=_edge_sort):
            if edge.job:
                job = graph.jobs.get(edge.job)
                facets = job.facets_as_of(as_of) if job else {}  # the SQL of the time asked
                query = (facets.get("sql") or {}).get("query")
                if query:
                    sql[f"{edge.job[0]}:{edge.job[1]}"] = query
                compiled = facets.get(COMPILED_SQL_FACET) or {}
                if compiled.get("olderBuild") is True:
                    older_builds[f"{edge.job[0]}:{edge.job[1]}"] = compiled.get(
                        "manifestGeneratedAt"
                    )
            child = TraceNode(edge.output if downstream else edge.input, edge)
            node.children.append(child)
            grow(child, level + 1)

    root = TraceNode(start)
    grow(root, 0)
    flat = graph.trace(
        start, depth=depth, downstream=downstream, as_of=as_of, direct_only=direct_only
    )
    return Trace(root, downstream, flat, sql, sorted(leaves), older_builds, as_of)


def _edge_sort(edge: FieldEdge) -> tuple[int, str, str, str, str]:
    return (
        0 if edge.type == "DIRECT" else 1,
        edge.input.dataset,
        edge.input.field,
        edge.subtype,
        edge.output.field,
    )


def render_trace(result: Trace, *, show_sql: bool = False) -> str:
    """The trace as an indented tree: each step's transformation and the expression it applies."""
    lines = [_label(result.root.key)]

    def walk(node: TraceNode, prefix: str) -> None:
        for i, child in enumerate(node.children):
            last = i == len(node.children) - 1
            edge = child.edge
            assert edge is not None
            kind = f"{edge.type}/{edge.subtype or '?'}"
            mark = (
                "  (see above)"
                if child.repeated and child.children == [] and _has_edges(child)
                else ""
            )
            lines.append(f"{prefix}{'└─' if last else '├─'} {kind:<26} {_label(child.key)}{mark}")
            inner = prefix + ("   " if last else "│  ")
            if edge.description:
                lines.append(f"{inner}   {_one_line(edge.description)}")
            walk(child, inner)

    walk(result.root, "")
    if not result.root.children:
        direction = "downstream" if result.downstream else "upstream"
        lines.append(
            f"(no {direction} lineage is known for this column"
            + (f" as of {result.as_of}" if result.as_of else "")
            + (": it feeds no column" if result.downstream else ": no column feeds it")
            + (" yet" if result.as_of else "")
            + ", or no event has told its lineage)"
        )
    if result.leaves:
        lines.append("")
        reached = (
            "columns reached (read by nothing further)" if result.downstream else "sources reached"
        )
        lines.append(f"{reached}: " + ", ".join(_label(k) for k in result.leaves))
    for job, built in sorted(result.older_builds.items()):
        lines.append(
            f"note: the lineage of job {job} is parsed from the SQL compiled by an older build "
            f"({f'manifest of {built}' if built else 'manifest time unknown'}): the last build "
            "(--select) did not compile it; a full "
            "`flowledger build` refreshes it"
        )
    if show_sql and result.sql:
        lines.append("")
        for job, query in sorted(result.sql.items()):
            lines.append(f"-- SQL of job {job}")
            lines.append(query.strip())
            lines.append("")
    return "\n".join(lines)


def _has_edges(node: TraceNode) -> bool:
    return node.repeated


def _label(key: FieldKey) -> str:
    return f"{key.dataset}.{key.field}" if key.field else f"{key.dataset} (every field)"


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
