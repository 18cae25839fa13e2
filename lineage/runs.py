"""OpenLineage run events as flow runs: every finished run (COMPLETE, FAIL or ABORT) becomes a
``flow_run`` record (contracts/flow_run.odcs.yaml) that ingest lands in ``raw.flow_runs``, so
jobs reported by Airflow, Spark, dbt-ol or the Python client show up in the run-log marts.

Mapping: ``source_system`` = ``openlineage:<job namespace>``, ``flow_id`` = the job name,
``flow_name`` = its last dotted part, ``run_id`` = the OpenLineage runId (attempt 1),
``started_at`` = the START event time (else the first event's), ``ended_at`` = the terminal
event's time, status COMPLETE → success, FAIL → failed, ABORT → cancelled (``raw_status`` keeps
the OpenLineage word), ``error_message`` / ``error_type`` from the ``errorMessage`` run facet,
``parent_run_id`` / ``root_run_id`` from the ``parent`` facet. Runs still going are left for a
later sync: ingest never overwrites a run once landed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flowledger.settings import DataDir
from lineage.graph import _ts
from lineage.store import LineageStore

TERMINAL = {"COMPLETE": "success", "FAIL": "failed", "ABORT": "cancelled"}


def flow_run_records(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    for event in events:
        run, job = event.get("run"), event.get("job")
        if not isinstance(run, dict) or not isinstance(job, dict) or not run.get("runId"):
            continue
        state = runs.setdefault(
            str(run["runId"]),
            {"job": job, "times": [], "start": None, "end": None, "type": None, "facets": {}},
        )
        when = str(event.get("eventTime") or "")
        state["times"].append(when)
        state["facets"].update(run.get("facets") or {})
        event_type = event.get("eventType")
        if event_type == "START":
            state["start"] = when
        elif event_type in TERMINAL:
            state["end"], state["type"] = when, event_type
    records = []
    for run_id, state in sorted(runs.items()):
        if state["type"] is None:
            continue
        job = state["job"]
        name = str(job.get("name"))
        facets = state["facets"]
        error = facets.get("errorMessage") if isinstance(facets.get("errorMessage"), dict) else {}
        parent = facets.get("parent") if isinstance(facets.get("parent"), dict) else {}
        started = state["start"] or min(state["times"], key=_ts)
        records.append(
            {
                "source_system": f"openlineage:{job.get('namespace')}",
                "tenant": None,
                "flow_id": name,
                "flow_name": name.rsplit(".", 1)[-1] if "." in name else name,
                "flow_version": None,
                "run_id": run_id,
                "run_attempt": 1,
                "parent_run_id": (parent.get("run") or {}).get("runId"),
                "root_run_id": ((parent.get("root") or {}).get("run") or {}).get("runId"),
                "trigger": None,
                "status": TERMINAL[state["type"]],
                "raw_status": state["type"],
                "queued_at": None,
                "started_at": _utc(started),
                "ended_at": _utc(state["end"]),
                "error_type": error.get("programmingLanguage")
                and f"{error['programmingLanguage']} error",
                "error_message": error.get("message"),
                "idempotency_key": None,
                "input_digest": None,
                "business_key": None,
                "trace_id": None,
                "url": None,
            }
        )
    return records


def _utc(value: str) -> str:
    from datetime import UTC, datetime

    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ingest_run_events(data_dir: DataDir, progress=None):
    """Land every finished OpenLineage run of the lineage store in ``raw.flow_runs`` (through
    ingest: contract checks, dedupe; a run already landed is a duplicate)."""
    from ingest import ingest_paths

    records = flow_run_records(LineageStore(data_dir).events())
    if not records:
        return None
    fd, name = tempfile.mkstemp(prefix="openlineage-runs-", suffix=".ndjson", dir=data_dir.root)
    path = Path(name)
    try:
        with os.fdopen(fd, "w") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
        return ingest_paths([path], data_dir, kind="flow_run", progress=progress)
    finally:
        path.unlink(missing_ok=True)
