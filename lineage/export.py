"""The audit pack: the whole lineage graph (datasets, jobs, every field edge with its
transformation and validity), the field ownership and the violations count, stamped with the
time it was built and the flowledger and dbt versions; as JSON, CSV (one row per edge) or a
self-contained HTML page."""

from __future__ import annotations

import csv
import html
import io
import json
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flowledger import __version__
from flowledger.settings import DataDir
from lineage.graph import FAR_FUTURE, LineageGraph
from lineage.service import load_graph

EDGE_COLUMNS = [
    "output_namespace", "output_dataset", "output_field",
    "input_namespace", "input_dataset", "input_field",
    "type", "subtype", "description", "job_namespace", "job_name",
    "valid_from", "valid_to", "origin", "masking",
]  # fmt: skip


class ExportError(RuntimeError):
    """The export cannot be written; the message says why."""


def audit_metadata(data_dir: DataDir) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "flowledger_version": __version__,
        "dbt_version": _dbt_version(),
        "data_dir": str(data_dir.root),
        "marts_built_at": None,
        "data_as_of": None,
    }
    try:
        from flowledger.warehouse import open_published

        with open_published(data_dir) as con:
            row = con.execute("select built_at, data_as_of from _meta").fetchone()
            if row:
                meta["marts_built_at"], meta["data_as_of"] = row[0], row[1] or None
    except Exception:  # noqa: BLE001 - nothing published yet: the pack says so with nulls
        pass
    return meta


def _dbt_version() -> str | None:
    try:
        return version("dbt-core")
    except PackageNotFoundError:
        return None


def edge_rows(graph: LineageGraph) -> list[dict[str, Any]]:
    rows = []
    for edge in graph.edges:
        rows.append(
            {
                "output_namespace": edge.output.namespace,
                "output_dataset": edge.output.dataset,
                "output_field": edge.output.field or "*",
                "input_namespace": edge.input.namespace,
                "input_dataset": edge.input.dataset,
                "input_field": edge.input.field,
                "type": edge.type,
                "subtype": edge.subtype,
                "description": edge.description,
                "job_namespace": edge.job[0] if edge.job else "",
                "job_name": edge.job[1] if edge.job else "",
                "valid_from": edge.valid_from,
                "valid_to": "" if edge.valid_to == FAR_FUTURE else edge.valid_to,
                "origin": edge.origin,
                # the producer's `masking`: true, false, or empty where it did not say
                "masking": "" if edge.masking is None else str(edge.masking).lower(),
            }
        )
    rows.sort(
        key=lambda r: (
            r["output_dataset"],
            r["output_field"],
            r["input_dataset"],
            r["input_field"],
            r["type"],
            r["subtype"],
            r["valid_from"],
        )
    )
    return rows


def audit_pack(data_dir: DataDir) -> dict[str, Any]:
    graph = load_graph(data_dir)
    pack: dict[str, Any] = {
        **audit_metadata(data_dir),
        "datasets": [
            {
                "namespace": d.namespace,
                "name": d.name,
                "fields": [{"name": n, "type": t} for n, t in d.fields.items() if n],
                "producers": [f"{ns}:{name}" for ns, name in sorted(d.producers)],
                "consumers": [f"{ns}:{name}" for ns, name in sorted(d.consumers)],
                "lineage_notes": d.lineage_notes,
            }
            for d in sorted(graph.datasets.values(), key=lambda d: (d.namespace, d.name))
        ],
        "jobs": [
            {
                "namespace": j.namespace,
                "name": j.name,
                "inputs": [f"{ns}:{name}" for ns, name in sorted(j.inputs)],
                "outputs": [f"{ns}:{name}" for ns, name in sorted(j.outputs)],
                "sql": (j.facets.get("sql") or {}).get("query"),
                "latest_run_state": graph.runs[j.latest_run].state if j.latest_run else None,
            }
            for j in sorted(graph.jobs.values(), key=lambda j: (j.namespace, j.name))
        ],
        "field_edges": edge_rows(graph),
        "ownership": _ownership(data_dir),
        "ownership_violations": _violations(data_dir),
    }
    pack["counts"] = {
        "datasets": len(pack["datasets"]),
        "jobs": len(pack["jobs"]),
        "field_edges": len(pack["field_edges"]),
        "current_field_edges": sum(1 for e in pack["field_edges"] if not e["valid_to"]),
        "events": graph.events,
    }
    return pack


def _ownership(data_dir: DataDir) -> list[dict[str, Any]]:
    from lineage.ownership import OwnershipError, load_ownership

    try:
        owners = load_ownership(data_dir=data_dir.root)
    except OwnershipError:
        return []
    return [
        {
            "entity": o.entity,
            "key_field": o.key_field,
            "field": o.field_name,
            "system_of_record": o.system_of_record,
            "also_written_by": list(o.also_written_by),
        }
        for o in owners
    ]


def _violations(data_dir: DataDir) -> int | None:
    from lineage.provenance import ProvenanceError, ownership_violations

    try:
        return len(ownership_violations(data_dir, limit=1_000_000))
    except ProvenanceError:
        return None


def export_graph(data_dir: DataDir, fmt: str) -> str:
    if fmt not in ("json", "csv", "html"):
        raise ExportError(f"unknown format {fmt!r}: choose json, csv or html")
    pack = audit_pack(data_dir)
    if fmt == "json":
        return json.dumps(pack, indent=2, default=str) + "\n"
    if fmt == "csv":
        return _csv(pack)
    return _html(pack)


def _csv(pack: dict[str, Any]) -> str:
    buffer = io.StringIO()
    meta = ["exported_at", "marts_built_at", "flowledger_version", "dbt_version"]
    writer = csv.DictWriter(buffer, fieldnames=EDGE_COLUMNS + meta, lineterminator="\n")
    writer.writeheader()
    for row in pack["field_edges"]:
        cells = {**row, **{key: pack[key] for key in meta}}
        writer.writerow({key: spreadsheet_safe(value) for key, value in cells.items()})
    return buffer.getvalue()


#: what makes a spreadsheet read a cell as a formula (OWASP "CSV Injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a string starting as a formula does (``=``,
    ``+``, ``-``, ``@``, a tab, a carriage return: a dataset named ``=HYPERLINK(…)``) gets a
    ``'`` in front, as OWASP's CSV Injection page recommends; other values are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _html(pack: dict[str, Any]) -> str:
    e = html.escape
    rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{e(str(row[c]))}</td>"
            for c in (
                "output_dataset",
                "output_field",
                "type",
                "subtype",
                "input_dataset",
                "input_field",
                "description",
                "job_name",
                "valid_from",
                "valid_to",
                "origin",
            )
        )
        + "</tr>"
        for row in pack["field_edges"]
    )
    datasets = "\n".join(
        f"<tr><td>{e(d['namespace'])}</td><td>{e(d['name'])}</td><td>{len(d['fields'])}</td>"
        f"<td>{e(', '.join(d['producers']))}</td></tr>"
        for d in pack["datasets"]
    )
    owners = "\n".join(
        f"<tr><td>{e(o['entity'])}</td><td>{e(o['field'])}</td><td>{e(o['system_of_record'])}</td>"
        f"<td>{e(', '.join(o['also_written_by']))}</td></tr>"
        for o in pack["ownership"]
    )
    counts = pack["counts"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flowledger lineage audit pack</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}}th{{background:#f3f3f3}}</style>
</head><body>
<h1>flowledger lineage audit pack</h1>
<table id="meta">
<tr><th>exported at</th><td>{e(str(pack["exported_at"]))}</td></tr>
<tr><th>marts built at</th><td>{e(str(pack["marts_built_at"]))}</td></tr>
<tr><th>data as of</th><td>{e(str(pack["data_as_of"]))}</td></tr>
<tr><th>flowledger version</th><td>{e(str(pack["flowledger_version"]))}</td></tr>
<tr><th>dbt version</th><td>{e(str(pack["dbt_version"]))}</td></tr>
<tr><th>datasets / jobs / field edges (current)</th><td>{counts["datasets"]} / {counts["jobs"]} / {counts["field_edges"]} ({counts["current_field_edges"]})</td></tr>
<tr><th>ownership violations</th><td>{e(str(pack["ownership_violations"]))}</td></tr>
</table>
<h2>Field edges</h2>
<table id="edges"><tr><th>output dataset</th><th>output field</th><th>type</th><th>subtype</th><th>input dataset</th><th>input field</th><th>expression</th><th>job</th><th>valid from</th><th>valid to</th><th>origin</th></tr>
{rows}
</table>
<h2>Datasets</h2>
<table id="datasets"><tr><th>namespace</th><th>name</th><th>fields</th><th>produced by</th></tr>
{datasets}
</table>
<h2>Field ownership</h2>
<table id="ownership"><tr><th>entity</th><th>field</th><th>system of record</th><th>also written by</th></tr>
{owners}
</table>
</body></html>
"""
