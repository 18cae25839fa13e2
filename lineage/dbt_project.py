"""Column lineage of a dbt project from its ``manifest.json`` and compiled SQL, as OpenLineage
JobEvents (design-time lineage: one job per model, its inputs and output with a ``schema`` and a
``columnLineage`` facet that keeps every transformation type and subtype).

Sources take their columns from the manifest, seeds from their CSV header, models from the
analysis of their own SQL in dependency order, so ``select *`` resolves even when a model's
columns are not documented. A JSON column read by path (``data_json ->> '$.order_id'``) gets
nested fields (``data_json.order_id``) that are followed through identity steps down to the
source (``raw.business_events`` field ``data.order_id``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, JobEvent, OutputDataset
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    job_type_job,
    schema_dataset,
    sql_job,
)
from openlineage.client.serde import Serde

from lineage.compiled_sql import (
    OlderSql,
    code_checksum,
    relation_name,
)
from lineage.dataset_details import NOTES_FACET
from lineage.sql_lineage import (
    DIRECT,
    IDENTITY,
    InputEdge,
    SqlLineageError,
    analyze_query,
)

PRODUCER = "https://github.com/flowledger/flowledger/tree/main/lineage"
PARSER_MARK = "flowledger-sqlglot"  # marks parser-derived column lineage
JOB_NAMESPACE = "flowledger"  # the namespace of the project's jobs
#: custom job facet: which build compiled the SQL of a model's JobEvent
COMPILED_SQL_FACET = "flowledger_compiledSql"


class ManifestError(RuntimeError):
    """The dbt manifest is missing or unreadable."""


@dataclass
class ModelLineage:
    """The column lineage of one dbt model (or seed/source: no SQL, no inputs)."""

    unique_id: str
    name: str  # model name, e.g. fct_cases
    dataset: str  # db.schema.alias, e.g. marts.main.fct_cases (a mart) or warehouse.intermediate.int_cases_built
    resource_type: str
    columns: list[str]
    column_types: dict[str, str]
    sql: str = ""
    inputs: list[str] = field(default_factory=list)  # datasets read
    fields: dict[str, list[InputEdge]] = field(default_factory=dict)
    dataset_edges: list[InputEdge] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    description: str = ""
    #: the manifest ``generated_at`` of the older build whose compiled SQL this lineage is
    #: parsed from, when the manifest read lacks it (``flowledger build --select``); else None
    older_build: str | None = None
    #: the checksum of the model's code and its project's macros (lineage/compiled_sql.py)
    checksum: str = ""
    #: the manifest ``generated_at`` of the full build whose SQL an incremental model's lineage
    #: is parsed from (its code unchanged since), else None
    full_build: str | None = None


@dataclass
class ProjectLineage:
    project: str
    namespace: str  # OpenLineage dataset namespace: duckdb://<warehouse path>
    dbt_version: str
    manifest_sha256: str
    generated_at: str
    models: dict[str, ModelLineage]  # by dataset name

    def by_model_name(self, name: str) -> ModelLineage | None:
        lowered = name.lower()
        for model in self.models.values():
            if lowered in (model.name.lower(), model.dataset.lower()):
                return model
        return None


def manifest_path(target_dir: Path) -> Path:
    return target_dir / "manifest.json"


#: What a stat tells of a manifest file: (inode, size, modification time in ns).
ManifestStamp = tuple[int, int, int]


def manifest_stamp(target_dir: Path) -> ManifestStamp | None:
    """The manifest's stamp (None: no manifest): a build that writes the manifest changes it,
    and telling so reads nothing."""
    try:
        stat = manifest_path(target_dir).stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def load_manifest(target_dir: Path) -> tuple[dict[str, Any], str]:
    path = manifest_path(target_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(
            f"no dbt manifest at {path}: run `flowledger build` first (it writes the manifest "
            "and the compiled SQL)"
        ) from None
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ManifestError(
            f"{path} is not valid JSON ({error}); re-run `flowledger build`"
        ) from None
    return manifest, hashlib.sha256(raw).hexdigest()


def project_lineage(
    target_dir: Path,
    namespace: str,
    catalog: dict[str, list[str]] | None = None,
    column_values: dict[tuple[str, str], list[str]] | None = None,
    older_sql: Callable[[str], OlderSql | None] | None = None,
    full_sql: Callable[[str], OlderSql | None] | None = None,
) -> ProjectLineage:
    """Column lineage of every model of the manifest in ``target_dir``.

    ``catalog`` (``db.schema.table`` → columns, as built in the warehouse) fills in the columns
    of relations whose SQL cannot say them (Python models, ``select *`` over those).
    ``older_sql`` (dataset → the SQL an earlier sync stored for the model writing it) stands in
    for the compiled SQL the manifest lacks (``dbt build --select`` compiles the models selected
    only); such a model's ``older_build`` says which build compiled it. ``full_sql`` (dataset →
    the SQL the last full run of an incremental model compiled, :func:`full_build_sql`) stands
    for an incremental run's SQL while the model's code is unchanged (``full_build``).
    """
    catalog = {key.lower(): columns for key, columns in (catalog or {}).items()}
    manifest, digest = load_manifest(target_dir)
    metadata = manifest.get("metadata", {})
    nodes: dict[str, dict[str, Any]] = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    relations = {uid: relation_name(node) for uid, node in nodes.items() if _is_relation(node)}
    models: dict[str, ModelLineage] = {}
    schema: dict[str, list[str]] = {}
    values: dict[tuple[str, str], list[str]] = dict(column_values or {})
    for uid in _topological(nodes, relations):
        node = nodes[uid]
        dataset = relations[uid]
        kind = node["resource_type"]
        documented = {
            name: col.get("data_type") or "" for name, col in node.get("columns", {}).items()
        }
        lineage = ModelLineage(
            unique_id=uid,
            name=node.get("name", dataset),
            dataset=dataset,
            resource_type=kind,
            columns=list(documented),
            column_types=dict(documented),
            description=node.get("description") or "",
        )
        if kind == "seed":
            header, seed_values = _seed_columns(node)
            lineage.columns = header or lineage.columns
            for column, column_values in seed_values.items():
                values[(dataset, column.lower())] = column_values
        elif kind == "model" and node.get("language", "sql") != "sql":
            lineage.unresolved.append(
                f"{uid} is a {node.get('language')} model: its column lineage cannot be parsed; "
                "its documented columns are kept"
            )
        elif kind == "model":
            sql = node.get("compiled_code") or ""
            lineage.checksum = code_checksum(node, manifest.get("macros", {}))
            older = older_sql(dataset) if older_sql is not None and not sql else None
            incremental = node.get("config", {}).get("materialized") == "incremental"
            full = full_sql(dataset) if full_sql is not None and incremental else None
            if older is not None:
                sql, lineage.older_build = older.query, older.manifest_generated_at
            elif (
                full is not None
                and full.manifest_generated_at != metadata.get("generated_at")
                and full.checksum == lineage.checksum
            ):
                # A build after the last full one ran the model incrementally: its SQL reads the
                # rows landed since a watermark (a literal of that build) and the model's own
                # table, so its lineage differed from build to build. The model's code is the
                # full build's: that build's SQL says where each column comes from, whichever
                # way the rows were written.
                sql, lineage.full_build = full.query, full.manifest_generated_at
            if not sql:
                raise ManifestError(
                    f"model {uid} has no compiled SQL in {manifest_path(target_dir)}, and no "
                    "earlier build's is stored: run a full `flowledger build` (a build with "
                    "--select compiles the models selected only)"
                )
            lineage.sql = sql
            # an incremental build's SQL reads the model's own table (`{{ this }}`): its columns
            # as built, else as documented
            own_columns = catalog.get(dataset) or list(documented)
            if own_columns and dataset not in schema:
                schema[dataset] = own_columns
            try:
                query = analyze_query(
                    sql, schema, default_db=node.get("database") or "", column_values=values
                )
            except SqlLineageError as error:
                lineage.unresolved.append(f"{uid}: {error}")
            else:
                lineage.columns = query.columns
                lineage.fields = query.fields
                lineage.dataset_edges = query.dataset
                lineage.inputs = query.tables
                lineage.unresolved = query.unresolved
        if dataset in catalog and (
            kind in ("source", "seed") or lineage.unresolved or not lineage.columns
        ):  # what was built is the truth for tables no SQL of the project defines
            lineage.columns = list(catalog[dataset])
            schema[dataset] = lineage.columns
        elif dataset in catalog or (
            lineage.columns and (kind != "model" or lineage.sql) and not lineage.unresolved
        ):
            schema[dataset] = lineage.columns  # complete: `select *` over it can be expanded
        models[dataset] = lineage
    _propagate_nested_fields(models)
    return ProjectLineage(
        project=metadata.get("project_name") or "",
        namespace=namespace,
        dbt_version=metadata.get("dbt_version") or "",
        manifest_sha256=digest,
        generated_at=metadata.get("generated_at") or datetime.now(UTC).isoformat(),
        models=models,
    )


def _is_relation(node: dict[str, Any]) -> bool:
    return node.get("resource_type") in ("model", "seed", "source", "snapshot") and (
        node.get("config", {}).get("materialized") != "ephemeral"
    )


def _topological(nodes: dict[str, dict[str, Any]], relations: dict[str, str]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(uid: str) -> None:
        if state.get(uid) == 2:
            return
        if state.get(uid) == 1:
            raise ManifestError(f"the manifest has a dependency cycle through {uid}")
        state[uid] = 1
        for parent in nodes[uid].get("depends_on", {}).get("nodes", []):
            if parent in relations:
                visit(parent)
        state[uid] = 2
        order.append(uid)

    for uid in sorted(relations):
        visit(uid)
    return order


def _seed_columns(node: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    path = Path(node.get("root_path") or "") / node.get("original_file_path", "")
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError:
        return [], {}
    if not rows:
        return [], {}
    header = rows[0]
    values = {
        column: sorted({row[i] for row in rows[1:] if i < len(row) and row[i]})
        for i, column in enumerate(header)
    }
    return header, values


def _propagate_nested_fields(models: dict[str, ModelLineage]) -> None:
    """``x.data_json.order_id`` ← ``y.data.order_id`` when ``x.data_json`` is ``y.data`` as is."""
    changed = True
    while changed:
        changed = False
        for model in models.values():
            for edges in model.fields.values():
                for edge in edges:
                    if "." not in edge.column:
                        continue
                    upstream = models.get(edge.table)
                    if upstream is None or edge.column in upstream.fields:
                        continue
                    head, _, rest = edge.column.partition(".")
                    nested: list[InputEdge] = []
                    for parent in upstream.fields.get(head, []):
                        if parent.type == DIRECT and parent.subtype == IDENTITY:
                            nested.append(
                                InputEdge(
                                    parent.table,
                                    f"{parent.column}.{rest}",
                                    DIRECT,
                                    IDENTITY,
                                    parent.description,
                                )
                            )
                    if nested:
                        upstream.fields[edge.column] = nested
                        changed = True


# --------------------------------------------------------------------------- OpenLineage


def job_name(project: ProjectLineage, model: ModelLineage) -> str:
    """dbt-ol's job name for a model: ``<db>.<schema>.<project>.<model>``."""
    db_schema = model.dataset.rsplit(".", 1)[0]
    return f"{db_schema}.{project.project}.{model.name}"


def openlineage_events(
    project: ProjectLineage, job_namespace: str = JOB_NAMESPACE, event_time: str | None = None
) -> list[JobEvent]:
    """One JobEvent per model: its inputs and its output with schema and column lineage."""
    when = event_time or datetime.now(UTC).isoformat().replace("+00:00", "Z")
    events = []
    for model in project.models.values():
        if model.resource_type != "model":
            continue
        events.append(_model_event(project, model, job_namespace, when))
    return events


def event_dicts(events: list[JobEvent]) -> list[dict[str, Any]]:
    return [Serde.to_dict(event) for event in events]


def _model_event(
    project: ProjectLineage, model: ModelLineage, job_namespace: str, when: str
) -> JobEvent:
    ns = project.namespace
    fields = {
        column: column_lineage_dataset.Fields(
            inputFields=[_input_field(ns, edge) for edge in model.fields.get(column, [])]
        )
        for column in model.columns
        if model.fields.get(column)
    }
    # nested JSON fields (data_json.order_id) that downstream models read
    for column, edges in model.fields.items():
        if column not in fields and edges:
            fields[column] = column_lineage_dataset.Fields(
                inputFields=[_input_field(ns, edge) for edge in edges]
            )
    output_facets: dict[str, Any] = {
        "schema": schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(
                    name=column, type=model.column_types.get(column) or None
                )
                for column in model.columns
            ]
        ),
        "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
            fields=fields,
            dataset=[_input_field(ns, edge) for edge in model.dataset_edges],
        ),
    }
    if model.unresolved:
        output_facets[NOTES_FACET] = _notes_facet(model.unresolved)
    return JobEvent(
        eventTime=when,
        producer=PRODUCER,
        job=Job(
            namespace=job_namespace,
            name=job_name(project, model),
            facets={
                "sql": sql_job.SQLJobFacet(query=model.sql, dialect="duckdb"),
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration="DBT", jobType="MODEL"
                ),
                COMPILED_SQL_FACET: _compiled_sql_facet(
                    model.older_build or model.full_build or project.generated_at,
                    model.older_build is not None,
                    model.checksum,
                ),
            },
        ),
        inputs=[InputDataset(namespace=ns, name=name) for name in model.inputs],
        outputs=[OutputDataset(namespace=ns, name=model.dataset, facets=output_facets)],
    )


def _notes_facet(notes: list[str]) -> Any:
    """A custom dataset facet listing what the parser could not place, and why."""
    from openlineage.client.generated.base import DatasetFacet

    facet = DatasetFacet().with_additional_properties(notes=list(notes))
    facet._producer = PRODUCER
    facet._schemaURL = PRODUCER + "#lineageNotes"
    return facet


def _compiled_sql_facet(manifest_generated_at: str, older_build: bool, checksum: str) -> Any:
    """A custom job facet: the ``generated_at`` of the manifest (the build) that compiled the
    job's SQL, whether that is an older build than the manifest the lineage was synced from
    (sent on every model's event, so a later full build's event replaces an older one's), and
    the checksum of the model's code."""
    from openlineage.client.generated.base import JobFacet

    facet = JobFacet().with_additional_properties(
        manifestGeneratedAt=manifest_generated_at,
        olderBuild=older_build,
        modelChecksum=checksum,
    )
    facet._producer = PRODUCER
    facet._schemaURL = PRODUCER + "#compiledSql"
    return facet


def _input_field(namespace: str, edge: InputEdge) -> column_lineage_dataset.InputField:
    return column_lineage_dataset.InputField(
        namespace=namespace,
        name=edge.table,
        field=edge.column,
        transformations=[
            column_lineage_dataset.Transformation(
                type=edge.type,
                subtype=edge.subtype,
                description=edge.description or None,
                masking=False,
            )
        ],
    )


def iter_edges(project: ProjectLineage) -> Iterator[tuple[str, str, InputEdge]]:
    """(output dataset, output column, input edge) for every field edge of the project."""
    for model in project.models.values():
        for column, edges in model.fields.items():
            for edge in edges:
                yield model.dataset, column, edge
