"""The compiled SQL flowledger keeps of its own dbt project's models, beside the manifest.

An incremental run of a model compiles other SQL than a full run: it reads the rows landed since
a watermark (a literal of that build) and the model's own table. Its column lineage would differ
from build to build, though the model's code says the same of where each column comes from. So
each full build (``--full-refresh``, which every first build is) keeps the SQL it compiled for
each incremental model, with the checksum of the model's code and of its project's macros
(:func:`save_full_build_sql`); the lineage of a later incremental run is parsed from it while
neither changed (lineage/dbt_project.py). Light on purpose: the build calls it, and imports
nothing of the OpenLineage client or the SQL parser.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: beside the dbt target directory
FULL_BUILD_SQL = "full_build_sql.json"


@dataclass(frozen=True)
class OlderSql:
    """A model's compiled SQL as stored earlier, and when its build wrote it."""

    query: str
    manifest_generated_at: str
    checksum: str = ""


def relation_name(node: dict[str, Any]) -> str:
    """A manifest node's relation as ``db.schema.name``, lower case."""
    name = node.get("alias") or node.get("identifier") or node["name"]
    parts = [node.get("database"), node.get("schema"), name]
    return ".".join(str(p).lower() for p in parts if p)


def code_checksum(node: dict[str, Any], macros: dict[str, Any]) -> str:
    """The model's code and the code of every macro of its project, as one SHA-256: the SQL a
    full build compiled stands for the model while none changed. (The macros a model depends on
    are not enough: dbt lists those its last run called, which an incremental run's branches
    change.)"""
    digest = hashlib.sha256(str((node.get("checksum") or {}).get("checksum") or "").encode())
    package = node.get("package_name")
    for name in sorted(macros):
        if macros[name].get("package_name") == package:
            digest.update(name.encode() + b"\0" + str(macros[name].get("macro_sql", "")).encode())
    return digest.hexdigest()


def save_full_build_sql(target_dir: Path) -> None:
    """Keep the SQL a full build (``--full-refresh``, which every first build is) compiled for
    each incremental model, beside the manifest in ``target_dir``, merged with what earlier
    full builds kept (a full build with ``--select`` compiles the selected models only)."""
    try:
        manifest = json.loads((target_dir / "manifest.json").read_bytes())
    except (FileNotFoundError, ValueError):
        return  # no manifest to keep anything of (dbt stopped before writing it)
    generated_at = manifest.get("metadata", {}).get("generated_at") or ""
    path = target_dir.parent / FULL_BUILD_SQL
    try:
        kept = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        kept = {}
    for node in manifest.get("nodes", {}).values():
        sql = node.get("compiled_code") or ""
        if node.get("config", {}).get("materialized") == "incremental" and sql:
            kept[relation_name(node)] = {
                "sql": sql,
                "checksum": code_checksum(node, manifest.get("macros", {})),
                "generated_at": generated_at,
            }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(kept, sort_keys=True) + "\n")
    tmp.replace(path)


def full_build_sql(target_dir: Path) -> dict[str, OlderSql]:
    """What :func:`save_full_build_sql` kept, by dataset."""
    try:
        kept = json.loads((target_dir.parent / FULL_BUILD_SQL).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {
        dataset: OlderSql(entry["sql"], entry["generated_at"], entry["checksum"])
        for dataset, entry in kept.items()
        if isinstance(entry, dict) and {"sql", "generated_at", "checksum"} <= entry.keys()
    }
