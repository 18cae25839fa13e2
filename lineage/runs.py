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
A run landed before the linking event arrived is moved to its kept name's flow by the next sync,
as if the events had arrived in order: ingest records the sync's record of it as a collision
with the landed row, and where the two differ only in the flow (``flow_id`` a name the events
link to the record's, ``flow_name``) the landed row takes the record's flow
(:func:`relink_landed_runs`).
A landed run that differs in anything else (an end that changed, …) is a different run: it
stays as landed, the collision recorded.
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
    flows, steps, _ = _run_log(events)
    return flows, steps


def _run_log(
    events: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], JobNames]:
    """:func:`run_log_records`, and the job names the events taught."""
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
    return flows, steps, names


def _utc(value: str) -> str:
    from datetime import UTC

    return utc_time(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


def ingest_run_events(data_dir: DataDir, progress=None):
    """Land every finished OpenLineage run of the lineage store in ``raw.flow_runs`` (through
    ingest: contract checks, dedupe; a run already landed is a duplicate)."""
    from ingest import ingest_paths

    flows, steps, names = _run_log(LineageStore(data_dir).events())
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
        summary = ingest_paths(paths, data_dir, progress=progress)  # kind from the columns
    finally:
        for path in paths:
            path.unlink(missing_ok=True)
    moved = relink_landed_runs(data_dir, names, [*flows, *steps])
    if moved and progress:
        progress(f"moved {moved} landed run(s) to the flow of their job's kept name")
    return summary


#: the columns a run's flow is: a landed run differing from its record in these only is the
#: same run, landed before an event linked its job's name as sent to the kept name
FLOW_COLUMNS = ("flow_id", "flow_name")


def relink_landed_runs(data_dir: DataDir, names: JobNames, records: list[dict[str, Any]]) -> int:
    """Move to their kept name's flow the OpenLineage runs (and statement steps) landed under
    a job name as sent before an event linked it to the kept name; returns how many.

    Ingest never overwrites a landed run, so a sync's record of such a run (one of ``records``)
    collided with the landed row. Where the collision's record (as ingest checked and scrubbed
    it) differs from the landed row only in its flow, and ``names`` links the landed
    ``flow_id`` to the record's, the landed row takes the record's flow, and ``_ingested_at``
    now, so the incremental run models take it again. The rest of the row stays as landed: its
    payload hash and batch (so retention still finds its landing Parquet row, which keeps the
    run as first landed), and the collision stays recorded (the record is a duplicate for the
    next syncs). A landed run that differs in anything else is a different run: left alone."""
    from flowledger.warehouse import open_warehouse
    from ingest.contracts import LogicalType, RecordKind, load_contracts
    from ingest.tables import COLLISIONS_TABLE
    from ingest.validate import PAYLOAD_HASH, quote_identifier

    if not data_dir.warehouse.exists():
        return 0
    contracts = load_contracts()
    moved = 0
    with open_warehouse(data_dir, attach_marts=False) as con:
        con.begin()
        try:
            for kind in (RecordKind.FLOW_RUN, RecordKind.STEP_RUN):
                contract = contracts[kind]
                keys = contract.natural_key
                wanted = {tuple(r.get(k) for k in keys) for r in records if set(keys) <= set(r)}
                row = ", ".join(
                    f"{quote_identifier(p.name)} := t.{quote_identifier(p.name)}"
                    + ("::JSON" if p.logical_type is LogicalType.OBJECT else "")
                    for p in contract.properties
                )
                key = ", ".join(f"{quote_identifier(k)} := t.{quote_identifier(k)}" for k in keys)
                found = con.execute(
                    f"""
                    select c.raw_record, t.{PAYLOAD_HASH}, to_json(struct_pack({row}))::VARCHAR
                    from {COLLISIONS_TABLE} as c join {contract.table} as t
                        on c.first_payload_hash = t.{PAYLOAD_HASH}
                        and c.natural_key = to_json(struct_pack({key}))::VARCHAR
                    where c.record_kind = ? and t.source_system like 'openlineage:%'
                    qualify row_number() over (
                        partition by c.natural_key order by c.seen_at desc, c.row_number desc
                    ) = 1
                    """,
                    [kind.value],
                ).fetchall()
                for record_json, landed_hash, landed_json in found:
                    record, landed = json.loads(record_json), json.loads(landed_json)
                    if tuple(record.get(k) for k in keys) not in wanted:
                        continue  # a run this sync has no record of
                    if not _same_run_relinked(record, landed, names):
                        continue
                    flow = [c for c in FLOW_COLUMNS if c in record]
                    con.execute(
                        f"update {contract.table} set "
                        + ", ".join(f"{quote_identifier(c)} = ?" for c in flow)
                        + f", _ingested_at = ? where {PAYLOAD_HASH} = ? and "
                        + " and ".join(f"{quote_identifier(k)} = ?" for k in keys),
                        [
                            *(record[c] for c in flow),
                            _now(),
                            landed_hash,
                            *(landed[k] for k in keys),
                        ],
                    )
                    moved += 1
            con.commit()
        except BaseException:
            con.rollback()
            raise
    return moved


def _same_run_relinked(record: dict[str, Any], landed: dict[str, Any], names: JobNames) -> bool:
    """True when ``landed`` is ``record``'s run landed under a job name as sent that ``names``
    links to the record's kept name: they differ in their flow only."""
    namespace = str(landed.get("source_system") or "").removeprefix("openlineage:")
    if landed.get("flow_id") == record.get("flow_id"):
        return False  # the same flow: the runs differ otherwise
    if names.kept((namespace, str(landed.get("flow_id")))) != (namespace, record.get("flow_id")):
        return False
    rest = {name: value for name, value in record.items() if name not in FLOW_COLUMNS}
    return rest == {name: value for name, value in landed.items() if name not in FLOW_COLUMNS}


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(tzinfo=None)
