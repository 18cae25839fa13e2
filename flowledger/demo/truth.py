"""Facts the generator knows by construction, counted as rows are written (so they match the files)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields


@dataclass
class Truth:
    cases_started: Counter[str] = field(default_factory=Counter)  # process -> cases
    cases_completed: Counter[str] = field(default_factory=Counter)  # end event written
    cases_incomplete: Counter[str] = field(default_factory=Counter)  # no end event in the files
    # incomplete and last event at least `stale_after_days` before the window end
    cases_stale: Counter[str] = field(default_factory=Counter)
    # stopped on purpose: run failed for good, dead letter never replayed, or lost hand-off
    cases_halted: Counter[str] = field(default_factory=Counter)
    lost_handoffs: Counter[str] = field(default_factory=Counter)
    rework_cases: Counter[str] = field(default_factory=Counter)  # a step (event type) repeated
    repeated_events: Counter[str] = field(default_factory=Counter)  # event type -> repeats
    corrections: Counter[str] = field(default_factory=Counter)  # correction event type -> count
    corrected_fields: Counter[str] = field(default_factory=Counter)  # field -> corrections
    # corrections of a field that an earlier event, emitted by a successful flow run on the
    # same business key, had set: the run reported success but the value was wrong
    gray_failures: int = 0
    tickets_with_order: int = 0
    # writes of a field by a source that does not own it (contracts/business_event.odcs.yaml)
    ownership_violations: list[dict[str, str]] = field(default_factory=list)

    flow_runs: Counter[str] = field(default_factory=Counter)  # flow -> distinct run attempts
    failed_runs: Counter[str] = field(default_factory=Counter)  # flow -> attempts with failed
    # runs whose last attempt in the files failed (a replay after the window end is not there)
    runs_failed_for_good: Counter[str] = field(default_factory=Counter)
    re_executions: Counter[str] = field(default_factory=Counter)  # trigger -> run_attempt 2 rows
    failed_step_attempts: int = 0  # step rows with status failed or timed_out
    retried_step_attempts: int = 0  # step rows with attempt >= 2
    error_types: Counter[str] = field(default_factory=Counter)  # step rows by error_type
    dead_letters: Counter[str] = field(default_factory=Counter)  # flow -> dead-lettered steps
    duplicate_deliveries: Counter[str] = field(default_factory=Counter)  # status of extra run
    idempotency_collisions: int = 0  # (flow, key) pairs seen with a second input_digest
    duplicate_flow_run_lines: int = 0  # exact copies of a flow-run line
    duplicate_event_lines: int = 0  # exact copies of a CloudEvent line
    event_id_collisions: int = 0  # same (source, id), different data
    error_messages_with_secret: Counter[str] = field(default_factory=Counter)  # kind -> rows
    urls_with_secret: int = 0

    incident: dict[str, object] = field(default_factory=dict)
    cutover: dict[str, object] = field(default_factory=dict)
    cutover_runs: Counter[str] = field(default_factory=Counter)  # version -> attempt-1 runs
    cutover_failures: Counter[str] = field(default_factory=Counter)  # version -> failed ones
    queue_peak_depth: dict[str, int] = field(default_factory=dict)  # queue -> max depth
    # shadow runs beside live runs on the same business keys, compared (parallel_run_facts)
    parallel_runs: dict[str, object] = field(default_factory=dict)
    stale_after_days: int = 7

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able dict (Counters become dicts with sorted keys)."""
        out: dict[str, object] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            out[spec.name] = dict(sorted(value.items())) if isinstance(value, dict) else value
        out["cutover"] = {**self.cutover, **_failure_rates(self)}
        return out


def _failure_rates(truth: Truth) -> dict[str, float]:
    return {
        f"failure_rate_{version}": round(truth.cutover_failures[version] / runs, 4)
        for version, runs in sorted(truth.cutover_runs.items())
        if runs
    }


def parallel_run_facts(
    runs: Iterable[tuple[str, str, str, int, str, str | None]], shadow_keys: set[str]
) -> dict[str, object]:
    """Compare, per business key with a shadow run, each live version's result with each other
    shadow version's. A version's result for a key is the outputs of its latest run (started,
    then run key) that produced outputs, or nothing. A field differs when the values differ or
    only one side has it; a key is a mismatch when a field differs.

    ``runs``: (business_key, version, execution_mode, started_ms, run_key, outputs JSON or None).
    """
    ran: set[tuple[str, str, str]] = set()
    latest: dict[tuple[str, str, str], tuple[int, str, dict[str, object]]] = {}
    for key, version, mode, started_ms, run_key, outputs in runs:
        if key not in shadow_keys:
            continue
        slot = (key, version, mode)
        ran.add(slot)
        if outputs is not None and (slot not in latest or (started_ms, run_key) > latest[slot][:2]):
            latest[slot] = (started_ms, run_key, json.loads(outputs))
    pairs: Counter[tuple[str, str]] = Counter()
    mismatched: Counter[tuple[str, str]] = Counter()
    differing: dict[tuple[str, str], Counter[str]] = {}
    versions: dict[str, dict[str, set[str]]] = {}  # key -> mode -> versions
    for key, version, mode in ran:
        versions.setdefault(key, {}).setdefault(mode, set()).add(version)
    for key, modes in sorted(versions.items()):
        for live_version, shadow_version in sorted(
            (live, shadow)
            for live in modes.get("live", ())
            for shadow in modes.get("shadow", ())
            if live != shadow
        ):
            pair = (live_version, shadow_version)
            baseline = latest.get((key, live_version, "live"), (0, "", {}))[2]
            candidate = latest.get((key, shadow_version, "shadow"), (0, "", {}))[2]
            fields_differing = sorted(
                name
                for name in set(baseline) | set(candidate)
                if name not in baseline
                or name not in candidate
                or baseline[name] != candidate[name]
            )
            pairs[pair] += 1
            mismatched[pair] += bool(fields_differing)
            differing.setdefault(pair, Counter()).update(fields_differing)
    return {
        f"{live_version}->{shadow_version}": {
            "keys_compared": compared,
            "keys_mismatched": mismatched[(live_version, shadow_version)],
            "mismatch_rate": round(mismatched[(live_version, shadow_version)] / compared, 4),
            "differing_fields": dict(sorted(differing[(live_version, shadow_version)].items())),
        }
        for (live_version, shadow_version), compared in sorted(pairs.items())
    }
