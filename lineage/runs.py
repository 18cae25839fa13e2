"""OpenLineage run events as flow runs: every finished run (COMPLETE, FAIL or ABORT) becomes a
``flow_run`` record (contracts/flow_run.odcs.yaml) that ingest lands in ``raw.flow_runs``, so
jobs reported by Airflow, Spark, dbt-ol or the Python client show up in the run-log marts.

Mapping: ``source_system`` = ``openlineage:<job namespace>``, ``flow_id`` = the job name as
flowledger keeps it (lineage/jobs.py ``JobNames``, as the lineage graph: one name per dbt model
whatever the dbt-ol mode, learnt from any event of the job, so a run whose own events lack the
``dbt_node`` facet is a run of the model's flow once another run's events link the names),
``flow_name`` = the model's name for a dbt model, else the whole job name, ``run_id`` = the
OpenLineage runId (attempt 1), ``started_at`` = the START event time (else the first event's),
``ended_at`` = the terminal event's time, status COMPLETE → success, FAIL → failed, ABORT →
cancelled (``raw_status`` keeps the OpenLineage word), ``error_message`` / ``error_type`` from the
``errorMessage`` run facet, ``parent_run_id`` / ``root_run_id`` from the ``parent`` facet. A run
whose job is named under its parent's job (dbt-ol's per-statement ``model.p.m.sql.1`` under
``model.p.m``) is a ``step_run`` of the parent's run instead (``step_id`` = ``sql.1``). Runs still
going are left for a later sync: ingest never overwrites a run once landed.

Where no event links a name as sent to its kept name (an older dbt-ol's runs of
``model.<project>.<model>`` without the ``dbt_node`` facet, and no run with it), the runs stay a
flow of that name: nothing in the name says which database and schema the model is built in.
And a run landed before the linking event arrived keeps the flow it landed with (a later sync's
record of it under the kept name is an ingest collision): only runs landed together, or after
the link, are one flow.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flowledger.settings import DataDir
from lineage.graph import _ts
from lineage.jobs import JobKey, JobNames, flow_name, is_statement_job, simple_name
from lineage.store import LineageStore

TERMINAL = {"COMPLETE": "success", "FAIL": "failed", "ABORT": "cancelled"}


def flow_run_records(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return run_log_records(events)[0]


def run_log_records(
    events: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(flow_run records, step_run records) of every finished run in ``events``."""
    names = JobNames()  # every event with a job may teach a kept name, of any run's job
    runs: dict[str, dict[str, Any]] = {}
    for event in events:
        run, job = event.get("run"), event.get("job")
        if not isinstance(job, dict) or not job.get("name"):
            continue
        key, _ = names.learn(job, run)
        if not isinstance(run, dict) or not run.get("runId"):
            continue
        state = runs.setdefault(
            str(run["runId"]),
            {"job": job, "key": key, "job_facets": {}, "times": [], "start": None, "end": None,
             "type": None, "facets": {}},
        )  # fmt: skip
        when = str(event.get("eventTime") or "")
        state["times"].append(when)
        state["facets"].update(run.get("facets") or {})
        state["job_facets"].update(job.get("facets") or {})
        event_type = event.get("eventType")
        if event_type == "START":
            state["start"] = when
        elif event_type in TERMINAL:
            state["end"], state["type"] = when, event_type
    # A job's facets over all its runs, so every run of one flow gets the same flow name.
    job_facets: dict[JobKey, dict[str, Any]] = defaultdict(dict)
    for state in runs.values():
        job_facets[names.kept(state["key"])].update(state["job_facets"])
    flows, steps = [], []
    for run_id, state in sorted(runs.items()):
        if state["type"] is None:
            continue
        job = state["job"]
        name = str(job.get("name"))
        facets = state["facets"]
        error = facets.get("errorMessage") if isinstance(facets.get("errorMessage"), dict) else {}
        parent = facets.get("parent") if isinstance(facets.get("parent"), dict) else {}
        parent_run = str((parent.get("run") or {}).get("runId") or "")
        parent_job = str((parent.get("job") or {}).get("name") or "")
        started = state["start"] or min(state["times"], key=_ts)
        outcome = {
            "status": TERMINAL[state["type"]],
            "raw_status": state["type"],
            "started_at": _utc(started),
            "ended_at": _utc(state["end"]),
            "error_type": error.get("programmingLanguage")
            and f"{error['programmingLanguage']} error",
            "error_message": error.get("message"),
        }
        if parent_run and is_statement_job(name, parent_job):
            # dbt-ol's `model.p.m.sql.1` under `model.p.m` is a step of the model's run, not a
            # flow of its own (an Airflow task `dag.task` under `dag` stays a run)
            step = simple_name(name, parent_job)
            owner = runs.get(parent_run)
            namespace = str((parent.get("job") or {}).get("namespace") or job.get("namespace"))
            job_type = state["job_facets"].get("jobType") or {}
            steps.append(
                {
                    "source_system": f"openlineage:{namespace}",
                    "run_id": parent_run,
                    "run_attempt": 1,
                    "step_id": step,
                    "attempt": 1,
                    "flow_id": names.kept(owner["key"] if owner else (namespace, parent_job))[1],
                    "step_name": step,
                    "step_type": job_type.get("jobType") if isinstance(job_type, dict) else None,
                    **outcome,
                }
            )
            continue
        kept = names.kept(state["key"])
        flows.append(
            {
                "source_system": f"openlineage:{job.get('namespace')}",
                "tenant": None,
                "flow_id": kept[1],
                "flow_name": flow_name(kept[1], job_facets[kept]),
                "flow_version": None,
                "run_id": run_id,
                "run_attempt": 1,
                "parent_run_id": parent_run or None,
                "root_run_id": ((parent.get("root") or {}).get("run") or {}).get("runId"),
                "trigger": None,
                "queued_at": None,
                "idempotency_key": None,
                "input_digest": None,
                "business_key": None,
                "trace_id": None,
                "url": None,
                **outcome,
            }
        )
    return flows, steps


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

    flows, steps = run_log_records(LineageStore(data_dir).events())
    if not flows and not steps:
        return None
    paths: list[Path] = []
    try:
        for prefix, records in (("openlineage-runs-", flows), ("openlineage-steps-", steps)):
            if not records:
                continue
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=".ndjson", dir=data_dir.root)
            paths.append(Path(name))
            with os.fdopen(fd, "w") as handle:
                for record in records:
                    handle.write(json.dumps(record) + "\n")
        return ingest_paths(paths, data_dir, progress=progress)  # kind from the columns
    finally:
        for path in paths:
            path.unlink(missing_ok=True)
