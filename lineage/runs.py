"""OpenLineage run events as flow runs: every finished run (COMPLETE, FAIL or ABORT) becomes a
``flow_run`` record (contracts/flow_run.odcs.yaml) that ingest lands in ``raw.flow_runs``, so
jobs reported by Airflow, Spark, dbt-ol or the Python client show up in the run-log marts.

Mapping: ``source_system`` = ``openlineage:<job namespace>``, ``flow_id`` = the job name as
flowledger keeps it (lineage/jobs.py ``JobNames``, as the lineage graph: one name per dbt model
whatever the dbt-ol mode, learnt from any event of the job, so a run whose own events lack the
``dbt_node`` facet is a run of the model's flow once another run's events link the names),
``flow_name`` = the model's name for a dbt model, else the whole job name, ``run_id`` = the
OpenLineage runId (attempt 1), ``started_at`` = the START event time (of two, the earlier; else
the earliest event's), ``ended_at`` = the terminal event's time (of two, the newer), status
COMPLETE → success, FAIL → failed, ABORT → cancelled (``raw_status`` keeps the OpenLineage word),
``error_message`` / ``error_type`` from the ``errorMessage`` run facet, ``parent_run_id`` /
``root_run_id`` from the ``parent`` facet. Facets and ends are in event-time order, whatever the
arrival order (lineage/event_order.py): a late older event changes no record. A run
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowledger.settings import DataDir
from lineage.event_order import NewestFacets, Order, epoch_seconds, utc_time
from lineage.jobs import JobKey, JobNames, flow_name, is_statement_job, simple_name
from lineage.store import LineageStore

TERMINAL = {"COMPLETE": "success", "FAIL": "failed", "ABORT": "cancelled"}


def flow_run_records(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return run_log_records(events)[0]


@dataclass
class _RunEvents:
    """What the events of one run said, each thing as the newest event by event time said it
    (of one time, the later arrival's), whatever the order they arrive in
    (lineage/event_order.py): a late older event changes neither its facets nor its end."""

    job: dict[str, Any]  # the job as the run's first arriving event names it
    key: JobKey
    first: str  # the earliest event's time
    start: str | None = None  # the earliest START's time
    end: tuple[Order, str, str] | None = None  # the newest terminal event: order, time, type
    facets: NewestFacets = field(default_factory=NewestFacets)
    job_facets: NewestFacets = field(default_factory=NewestFacets)

    def add(self, event: dict[str, Any], order: Order) -> None:
        when = str(event.get("eventTime") or "")
        self.first = min(self.first, when, key=epoch_seconds)
        self.facets.record(event["run"].get("facets") or {}, order)
        self.job_facets.record(event["job"].get("facets") or {}, order)
        event_type = event.get("eventType")
        if event_type == "START":
            self.start = when if self.start is None else min(self.start, when, key=epoch_seconds)
        elif event_type in TERMINAL and (self.end is None or order >= self.end[0]):
            self.end = order, when, str(event_type)


def run_log_records(
    events: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(flow_run records, step_run records) of every finished run in ``events``."""
    names = JobNames()  # every event with a job may teach a kept name, of any run's job
    runs: dict[str, _RunEvents] = {}
    for arrival, event in enumerate(events):
        run, job = event.get("run"), event.get("job")
        if not isinstance(job, dict) or not job.get("name"):
            continue
        key, _ = names.learn(job, run)
        if not isinstance(run, dict) or not run.get("runId"):
            continue
        when = str(event.get("eventTime") or "")
        state = runs.setdefault(str(run["runId"]), _RunEvents(job, key, when))
        state.add(event, (epoch_seconds(when), arrival))
    # A job's facets over all its runs, so every run of one flow gets the same flow name.
    job_facets: dict[JobKey, NewestFacets] = defaultdict(NewestFacets)
    for state in runs.values():
        job_facets[names.kept(state.key)].merge(state.job_facets)
    flows, steps = [], []
    for run_id, state in sorted(runs.items()):
        if state.end is None:
            continue
        _, ended, event_type = state.end
        job = state.job
        name = str(job.get("name"))
        facets = state.facets.current
        error = facets.get("errorMessage") if isinstance(facets.get("errorMessage"), dict) else {}
        parent = facets.get("parent") if isinstance(facets.get("parent"), dict) else {}
        parent_run = str((parent.get("run") or {}).get("runId") or "")
        parent_job = str((parent.get("job") or {}).get("name") or "")
        outcome = {
            "status": TERMINAL[event_type],
            "raw_status": event_type,
            "started_at": _utc(state.start or state.first),
            "ended_at": _utc(ended),
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
            job_type = state.job_facets.current.get("jobType") or {}
            steps.append(
                {
                    "source_system": f"openlineage:{namespace}",
                    "run_id": parent_run,
                    "run_attempt": 1,
                    "step_id": step,
                    "attempt": 1,
                    "flow_id": names.kept(owner.key if owner else (namespace, parent_job))[1],
                    "step_name": step,
                    "step_type": job_type.get("jobType") if isinstance(job_type, dict) else None,
                    **outcome,
                }
            )
            continue
        kept = names.kept(state.key)
        flows.append(
            {
                "source_system": f"openlineage:{job.get('namespace')}",
                "tenant": None,
                "flow_id": kept[1],
                "flow_name": flow_name(kept[1], job_facets[kept].current),
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
    from datetime import UTC

    return utc_time(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


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
