"""The machinery that turns the world into rows: flow runs with steps, retries, re-executions,
dead letters and duplicate deliveries, and the CloudEvents they emit.

Every random draw comes from one ``random.Random`` seeded from the generator's seed, and rows are
produced in a fixed order, so the same seed and arguments give byte-identical files.
Values placed in CloudEvents attributes (ids, sources, types, case keys) never contain quotes or
backslashes: the NDJSON writer relies on that.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from flowledger.demo import world
from flowledger.demo.clock import MS_PER_DAY, MS_PER_H, cumulative, next_tick, rfc3339
from flowledger.demo.truth import Truth
from flowledger.demo.world import Action, Flow, Step
from flowledger.demo.writers import RowSink

RETRY_PERSISTS = 0.25  # chance that a retry of a transient failure fails again (normal times)
AUTO_RETRY, MANUAL_REPLAY = 0.60, 0.25  # what happens to a run that failed (rest: nothing)
DEAD_LETTER_REPLAY = 0.5  # share of dead letters someone replays by hand
DUPLICATE_DELIVERY_SKIPPED = 0.7  # the idempotency guard catches most duplicate deliveries
DUPLICATE_RUN_LINE_RATE = 0.002  # exporter writes a flow-run line twice
REDELIVERED_EVENT_RATE = 0.003  # broker delivers a CloudEvent twice, identical
EVENT_ID_COLLISION_RATE = 0.001  # producer re-uses an event id with different data

Status = Literal["done", "halted", "in_flight"]


@dataclass(frozen=True)
class Window:
    """The generated period and the moments of its incident and flow-version cutover."""

    start_ms: int
    end_ms: int
    incident_start_ms: int
    incident_end_ms: int
    cutover_ms: int


@dataclass
class Attempt:
    """One run attempt, built but not yet written (it may fall past the window end)."""

    run_row: tuple
    step_rows: list[tuple]
    status: str
    queued_ms: int
    ended_ms: int
    business_ms: int | None  # when the business step succeeded
    dead_lettered: bool
    version: str
    secret_messages: int  # step rows whose error message leaks a credential


@dataclass(frozen=True)
class Outcome:
    """What an action achieved for its case."""

    status: Status
    at_ms: int = 0  # business time of the success (status == "done")


DONE_NOTHING = Outcome("in_flight")


# Standard normal quantiles at 2**14 evenly spaced probabilities: drawing an index is five times
# faster than `random.gauss` and just as good for waits and durations (tails end at ±3.8 sigma).
_NORMAL_BITS = 14
_STANDARD_NORMALS = tuple(
    NormalDist().inv_cdf((i + 0.5) / 2**_NORMAL_BITS) for i in range(2**_NORMAL_BITS)
)


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    """A log-normal draw with the given median and shape ``sigma``."""
    return median * math.exp(sigma * _STANDARD_NORMALS[rng.getrandbits(_NORMAL_BITS)])


# exp(0.5 z) for every table entry: the spread of step durations, looked up without math.exp
_DURATION_SPREAD = tuple(math.exp(0.5 * z) for z in _STANDARD_NORMALS)


def pick(rng: random.Random, options: Sequence[str], cumulative_weights: Sequence[float]) -> str:
    return options[bisect(cumulative_weights, rng.random())]


def splitmix64(value: int) -> int:
    """A well-mixed 64-bit hash of an integer (for attributes derived from an id)."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


_RETRYABLE_CUM = cumulative(world.RETRYABLE_WEIGHTS)
_INCIDENT_CUM = cumulative(world.INCIDENT_ERROR_WEIGHTS)


class Simulation:
    """Runs actions of flows for cases and writes what happened to the four sinks."""

    def __init__(
        self,
        seed: int,
        window: Window,
        flow_runs: RowSink,
        step_runs: RowSink,
        business_events: RowSink,
    ) -> None:
        self.rng = random.Random(f"flowledger-demo:{seed}")
        self.window = window
        self.flow_runs = flow_runs
        self.step_runs = step_runs
        self.business_events = business_events
        self.truth = Truth()
        self._run_counters: dict[str, int] = {}
        self._case_numbers: dict[str, int] = {}
        self._seed_salt = splitmix64(seed)
        # shadow runs draw from their own stream, so adding them changes no other row
        self.shadow_rng = random.Random(f"flowledger-demo-shadow:{seed}")
        # every written run of the shadowed flow:
        # (business_key, version, execution_mode, started_ms, run_key, outputs JSON or None)
        self.shadowed_flow_runs: list[tuple[str, str, str, int, str, str | None]] = []
        self.shadow_keys: set[str] = set()

    # ------------------------------------------------------------------------------ ids

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def hex_id(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def _run_id(self, flow: Flow, queued_ms: int) -> str:
        system = flow.source_system
        if flow.schedule_interval_s:
            queued_ms = next_tick(queued_ms, flow.schedule_interval_s)
        number = self._run_counters.get(system, 40_000) + 1
        self._run_counters[system] = number
        if system in ("mulesoft", "aws-lambda"):
            return self.uuid()
        if system == "airflow":
            return f"scheduled__{rfc3339(queued_ms)[:19]}+00:00_{number}"
        return str(number)

    def next_case_number(self, process: str) -> int:
        number = self._case_numbers.get(process, 0) + 1
        self._case_numbers[process] = number
        return number

    def derived(self, number: int, salt: int) -> int:
        """A stable pseudo-random integer for attribute ``salt`` of entity ``number``."""
        return splitmix64(number * 1_000_003 + salt + self._seed_salt)

    # --------------------------------------------------------------------------- events

    def emit_event(
        self,
        event_type: str,
        source: str,
        time_ms: int,
        case_id: str,
        data: dict[str, object],
        trace_id: str | None = None,
    ) -> tuple:
        traceparent = f"00-{trace_id}-{self.hex_id(64)}-01" if trace_id else None
        row = (
            "1.0",
            self.uuid(),
            source,
            event_type,
            time_ms,
            case_id,
            "application/json",
            None,
            traceparent,
            compact_json(data),
        )
        self.business_events.add(row)
        draw = self.rng.random()
        if draw < REDELIVERED_EVENT_RATE:
            self.business_events.add_later(row)
            self.truth.duplicate_event_lines += 1
        elif draw < REDELIVERED_EVENT_RATE + EVENT_ID_COLLISION_RATE:
            altered = dict(data)
            if isinstance(altered.get("amount"), float):
                altered["amount"] = round(float(altered["amount"]) + 1.0, 2)
            else:
                altered["revision"] = 2
            self.business_events.add_later((*row[:9], compact_json(altered)))
            self.truth.event_id_collisions += 1
        return row

    # ----------------------------------------------------------------------------- runs

    def perform(
        self,
        action: Action,
        case_id: str,
        trigger_ms: int,
        event_data: dict[str, object] | None = None,
        *,
        seq: int = 1,
    ) -> Outcome:
        """Run ``action`` for ``case_id``, triggered at ``trigger_ms``: first attempt, a possible
        re-execution, duplicate deliveries and key collisions; emit the event on success."""
        if trigger_ms >= self.window.end_ms:
            return DONE_NOTHING
        flow = action.flow
        key = f"{flow.flow_id}:{case_id}:{action.key}" + (f"#{seq}" if seq > 1 else "")
        digest = _digest(key, 1)
        message_id = self.uuid() if flow.queue_name else None
        run_id = self._run_id(flow, trigger_ms)
        trace_id = self.hex_id(128)
        shadow = world.PAYMENT_CAPTURE_SHADOW
        outputs = None
        if flow is shadow.cutover.flow and event_data is not None:
            outputs = {name: event_data[name] for name in shadow.output_fields}
        first = self._attempt(
            action,
            run_id,
            1,
            flow.trigger,
            trigger_ms,
            key,
            digest,
            message_id,
            case_id,
            trace_id,
            outputs=outputs,
        )
        if not self._commit(first, flow, 1, flow.trigger):
            return DONE_NOTHING
        if outputs is not None and self.in_shadow_window(trigger_ms):
            self._shadow_run(action, case_id, trigger_ms, key, digest, outputs)
        final = first
        if first.status == "failed":
            replay = self._replay_trigger(first)
            if replay is not None:
                trigger, delay_ms = replay
                second = self._attempt(
                    action,
                    run_id,
                    2,
                    trigger,
                    first.ended_ms + delay_ms,
                    key,
                    digest,
                    message_id,
                    case_id,
                    trace_id,
                    outputs=outputs,
                )
                if not self._commit(second, flow, 2, trigger):  # replay after the window
                    self.truth.runs_failed_for_good[flow.flow_id] += 1
                    return DONE_NOTHING
                final = second
        if final.status == "failed":
            self.truth.runs_failed_for_good[flow.flow_id] += 1
            return Outcome("halted")
        assert final.business_ms is not None
        event_row = None
        if action.event_type is not None:
            assert action.event_source is not None and event_data is not None
            event_row = self.emit_event(
                action.event_type,
                action.event_source,
                final.business_ms,
                case_id,
                event_data,
                trace_id,
            )
        self._maybe_deliver_twice(action, case_id, final, key, digest, message_id, event_row)
        self._maybe_collide(action, case_id, final, key)
        return Outcome("done", final.business_ms)

    def in_shadow_window(self, trigger_ms: int) -> bool:
        shadow = world.PAYMENT_CAPTURE_SHADOW
        cutover_ms = self.window.cutover_ms
        return cutover_ms - shadow.days_before_cutover * MS_PER_DAY <= trigger_ms < cutover_ms

    def _shadow_run(
        self,
        action: Action,
        case_id: str,
        trigger_ms: int,
        key: str,
        digest: str,
        live_outputs: dict[str, object],
    ) -> None:
        """The new version handles the same trigger in shadow mode, with its planted bugs. It
        has its own idempotency key (the live run's guard must not skip it), message and trace,
        and no re-execution; its random draws come from the shadow stream."""
        shadow = world.PAYMENT_CAPTURE_SHADOW
        flow = action.flow
        main_rng, self.rng = self.rng, self.shadow_rng
        try:
            outputs = dict(live_outputs)
            if self.rng.random() < shadow.amount_off_by_a_cent:
                outputs["amount"] = round(float(str(outputs["amount"])) + 0.01, 2)
            if self.rng.random() < shadow.currency_lowercased:
                outputs["currency"] = str(outputs["currency"]).lower()
            attempt = self._attempt(
                action,
                self.uuid(),
                1,
                flow.trigger,
                trigger_ms,
                f"{key}#shadow",
                digest,
                self.uuid() if flow.queue_name else None,
                case_id,
                self.hex_id(128),
                outputs=outputs,
                execution_mode="shadow",
            )
            if self._commit(attempt, flow, 1, flow.trigger):
                self.shadow_keys.add(case_id)
                if attempt.status == "failed":  # never re-executed
                    self.truth.runs_failed_for_good[flow.flow_id] += 1
        finally:
            self.rng = main_rng

    def _replay_trigger(self, failed: Attempt) -> tuple[str, int] | None:
        draw = self.rng.random()
        if failed.dead_lettered:
            if draw < DEAD_LETTER_REPLAY:
                return "manual", int(lognormal(self.rng, 5 * MS_PER_H, 0.8))
            return None
        if draw < AUTO_RETRY:
            return "retry", int(lognormal(self.rng, 8 * 60_000, 0.6))
        if draw < AUTO_RETRY + MANUAL_REPLAY:
            return "manual", int(lognormal(self.rng, 4 * MS_PER_H, 0.8))
        return None

    def _maybe_deliver_twice(
        self,
        action: Action,
        case_id: str,
        original: Attempt,
        key: str,
        digest: str,
        message_id: str | None,
        event_row: tuple | None,
    ) -> None:
        flow = action.flow
        if self.rng.random() >= flow.duplicate_delivery_rate:
            return
        skipped = self.rng.random() < DUPLICATE_DELIVERY_SKIPPED
        queued = original.queued_ms + int(lognormal(self.rng, 90_000, 0.7))
        duplicate = self._attempt(
            action,
            self._run_id(flow, queued),
            1,
            flow.trigger,
            queued,
            key,
            digest,
            message_id,
            case_id,
            self.hex_id(128),
            mode="skip" if skipped else "clean",
            start_after_ms=original.run_row[13],  # the original always started first
        )
        if not self._commit(duplicate, flow, 1, flow.trigger):
            return
        self.truth.duplicate_deliveries[duplicate.status] += 1
        if not skipped and event_row is not None:  # processed twice: the same event again
            self.business_events.add_later(event_row)
            self.truth.duplicate_event_lines += 1

    def _maybe_collide(self, action: Action, case_id: str, original: Attempt, key: str) -> None:
        flow = action.flow
        if self.rng.random() >= flow.collision_rate:
            return
        queued = original.ended_ms + int(lognormal(self.rng, 20 * 60_000, 1.0))
        collision = self._attempt(
            action,
            self._run_id(flow, queued),
            1,
            flow.trigger,
            queued,
            key,
            _digest(key, 2),  # same key, another payload: the guard wrongly skips it
            self.uuid() if flow.queue_name else None,
            case_id,
            self.hex_id(128),
            mode="skip",
        )
        if self._commit(collision, flow, 1, flow.trigger):
            self.truth.idempotency_collisions += 1

    def _commit(self, attempt: Attempt, flow: Flow, run_attempt: int, trigger: str) -> bool:
        """Write the attempt unless it ends after the window (then it is still in flight)."""
        if attempt.ended_ms >= self.window.end_ms:
            return False
        truth = self.truth
        self.flow_runs.add(attempt.run_row)
        if self.rng.random() < DUPLICATE_RUN_LINE_RATE:
            self.flow_runs.add_later(attempt.run_row)
            truth.duplicate_flow_run_lines += 1
        for row in attempt.step_rows:
            self.step_runs.add(row)
        truth.flow_runs[flow.flow_id] += 1
        if attempt.status == "failed":
            truth.failed_runs[flow.flow_id] += 1
        if run_attempt > 1:
            truth.re_executions[trigger] += 1
        if attempt.secret_messages:
            truth.error_messages_with_secret["step_runs"] += attempt.secret_messages
            if attempt.run_row[16] and _leaks_secret(attempt.run_row[16]):
                truth.error_messages_with_secret["flow_runs"] += 1
        if attempt.run_row[21].startswith("https://admin:"):
            truth.urls_with_secret += 1
        for row in attempt.step_rows:
            if row[4] > 1:
                truth.retried_step_attempts += 1
            if row[14] is not None:
                truth.failed_step_attempts += 1
                truth.error_types[row[14]] += 1
            if row[19]:
                truth.dead_letters[flow.flow_id] += 1
        row = attempt.run_row
        execution_mode = row[22] or "live"
        if flow is world.PAYMENT_CAPTURE and run_attempt == 1 and execution_mode == "live":
            truth.cutover_runs[attempt.version] += 1
            if attempt.status == "failed":
                truth.cutover_failures[attempt.version] += 1
        if flow is world.PAYMENT_CAPTURE_SHADOW.cutover.flow:
            self.shadowed_flow_runs.append(
                (row[19], row[4], execution_mode, row[13], f"{row[0]}:{row[5]}:{row[6]}", row[23])
            )
        return True

    def _attempt(
        self,
        action: Action,
        run_id: str,
        run_attempt: int,
        trigger: str,
        queued_ms: int,
        key: str,
        digest: str,
        message_id: str | None,
        case_id: str,
        trace_id: str,
        mode: Literal["normal", "clean", "skip"] = "normal",
        start_after_ms: int = 0,
        outputs: dict[str, object] | None = None,
        execution_mode: Literal["shadow"] | None = None,
    ) -> Attempt:
        """Build one run attempt: pick-up delay, steps with retries, final status.

        ``clean``: no failures (a duplicate delivery that went through); ``skip``: only the
        first step runs and the run ends ``skipped`` (the idempotency guard stopped it).
        ``outputs`` are written when the run succeeds; a ``shadow`` run is the new version's."""
        rng, flow, window = self.rng, action.flow, self.window
        incident = world.WMS_OUTAGE
        if flow.schedule_interval_s and trigger == "schedule":
            queued_ms = next_tick(queued_ms, flow.schedule_interval_s)
            started = queued_ms + int(lognormal(rng, 4_000, 0.5))
        elif flow.queue_name:
            started = queued_ms + int(lognormal(rng, 1_500, 0.8))
            if flow is incident.flow:
                started += self.backlog_ms(queued_ms)
        else:
            started = queued_ms + int(lognormal(rng, 150, 0.6))
        started = max(started, start_after_ms + 1)
        cutover = world.PAYMENT_CAPTURE_V2
        after_cutover = flow is cutover.flow and (
            started >= window.cutover_ms or execution_mode == "shadow"
        )
        version = cutover.new_version if after_cutover else flow.version
        system, raw = flow.source_system, world.RAW_STATUS[flow.source_system]
        queue_name = flow.queue_name
        steps: list[tuple] = []
        t = started
        items = 1
        status, business_ms, dead = "success", None, False
        run_error: tuple[str, str] | None = None
        secret_messages = 0
        random_bits, uniform = rng.getrandbits, rng.random
        for index, step in enumerate(action.steps):
            if mode == "skip" and index == 1:
                status = "skipped"
                break
            fatal = step.fatal_fail
            if after_cutover and step.step_id == cutover.step_id:
                fatal = cutover.fatal_fail_after
            clean_above = fatal + step.transient_fail
            attempt = 1
            while True:
                in_incident = (
                    step.system == incident.system
                    and window.incident_start_ms <= t < window.incident_end_ms
                )
                duration = step.median_ms * _DURATION_SPREAD[random_bits(_NORMAL_BITS)]
                if in_incident:
                    duration *= incident.slowdown
                error_type = None
                if mode == "normal":
                    draw = uniform()
                    if attempt > 1 or in_incident or draw < clean_above:
                        error_type = self._draw_error(draw, step, attempt, fatal, in_incident)
                if error_type == "timeout":
                    duration = world.TIMEOUT_MS + rng.random() * 50
                ended = t + int(duration) + 1
                if error_type is None:
                    out = 0 if mode == "skip" else step.items
                    steps.append(
                        (system, run_id, run_attempt, step.step_id, attempt, flow.flow_id,
                         step.step_name, step.step_type, None, step.max_attempts, "success",
                         raw["success"], t, ended, None, None, step.system, queue_name,
                         message_id, False, items, out)
                    )  # fmt: skip
                    items = out
                    if index == action.business_step:
                        business_ms = ended
                    t = ended + 20 + int(uniform() * 40)
                    break
                final = error_type == world.FATAL_ERROR or attempt >= step.max_attempts
                message, leaks = self._error_message(error_type, step)
                secret_messages += leaks
                step_status = "timed_out" if error_type == "timeout" else "failed"
                raw_status = raw[step_status]
                if system == "airflow" and not final:
                    raw_status = world.AIRFLOW_RETRY_STATUS
                dead_here = final and queue_name is not None
                steps.append(
                    (system, run_id, run_attempt, step.step_id, attempt, flow.flow_id,
                     step.step_name, step.step_type, None, step.max_attempts, step_status,
                     raw_status, t, ended, error_type, message, step.system, queue_name,
                     message_id, dead_here, items, 0)
                )  # fmt: skip
                if final:
                    status, dead, run_error = "failed", dead_here, (error_type, message)
                    t = ended
                    break
                t = ended + self._backoff_ms(error_type, attempt)
                attempt += 1
            if status == "failed":
                break
        ended_ms = t + int(lognormal(rng, 25, 0.5))
        if business_ms is None and status == "success":
            business_ms = ended_ms
        url_template = world.RUN_URL[system]
        if system == "airflow" and rng.random() < world.SECRET_URL_RATE:
            url_template = world.SECRET_RUN_URL
        run_row = (
            system, world.TENANT, flow.flow_id, flow.flow_name, version, run_id, run_attempt,
            None, None, trigger, status, raw[status], queued_ms, started, ended_ms,
            run_error[0] if run_error else None, run_error[1] if run_error else None,
            key, digest, case_id, trace_id,
            url_template.format(flow_id=flow.flow_id, run_id=run_id),
            execution_mode,
            compact_json(outputs) if outputs is not None and status == "success" else None,
        )  # fmt: skip
        return Attempt(
            run_row, steps, status, queued_ms, ended_ms, business_ms, dead, version, secret_messages
        )

    def _draw_error(
        self, draw: float, step: Step, attempt: int, fatal: float, in_incident: bool
    ) -> str | None:
        """The error of one attempt, or None; ``draw`` is a uniform number in [0, 1)."""
        rng = self.rng
        incident = world.WMS_OUTAGE
        if attempt == 1:
            if draw < fatal:
                return world.FATAL_ERROR
            transient = incident.transient_fail if in_incident else step.transient_fail
            if draw >= fatal + transient:
                return None
        else:
            persists = incident.persist if in_incident else RETRY_PERSISTS
            if draw >= persists:
                return None
        weights = _INCIDENT_CUM if in_incident else _RETRYABLE_CUM
        return pick(rng, world.RETRYABLE_ERRORS, weights)

    def _backoff_ms(self, error_type: str, attempt: int) -> int:
        if error_type == "rate_limited":
            return int(10_000 + self.rng.random() * 50_000)
        return int(2_000 * 2 ** (attempt - 1) * (0.5 + self.rng.random()))

    def _error_message(self, error_type: str, step: Step) -> tuple[str, int]:
        rng = self.rng
        leaks = rng.random() < world.SECRET_ERROR_RATE
        templates = (world.SECRET_ERROR_TEMPLATES if leaks else world.ERROR_TEMPLATES)[error_type]
        template = templates[int(rng.random() * len(templates))]
        message = template.format(
            system=step.system,
            path=step.step_id.replace("-", "_"),
            ms=world.TIMEOUT_MS if error_type == "timeout" else int(200 + rng.random() * 4000),
            seconds=int(5 + rng.random() * 55),
            amount=round(-rng.random() * 100, 2),
            jwt=self._fake_jwt() if leaks else "",
            api_key=f"sk_live_{self.hex_id(96)}" if leaks else "",
        )
        return message, int(leaks)

    def _fake_jwt(self) -> str:
        return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtZGVtbyJ9." + self.hex_id(172)

    def backlog_ms(self, at_ms: int) -> int:
        """How long a message waits in the incident flow's queue because of the incident:
        grows during the outage, then drains in as long again."""
        window, incident = self.window, world.WMS_OUTAGE
        return incident_backlog_ms(
            at_ms, window.incident_start_ms, window.incident_end_ms, incident.backlog_growth
        )


def incident_backlog_ms(at_ms: int, start_ms: int, end_ms: int, growth: float) -> int:
    if at_ms < start_ms:
        return 0
    peak = (end_ms - start_ms) * growth
    if at_ms < end_ms:
        return int((at_ms - start_ms) * growth)
    drained = (at_ms - end_ms) * growth
    return int(max(0.0, peak - drained))


def _digest(key: str, variant: int) -> str:
    return "sha256:" + hashlib.sha256(f"{key}|{variant}".encode()).hexdigest()


def _leaks_secret(message: str) -> bool:
    return any(marker in message for marker in world.SECRET_MARKERS)
