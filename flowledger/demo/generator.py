"""The deterministic demo data generator: ``generate(out_dir)`` writes four files.

``flow_runs``, ``step_runs``, ``queue_depth_samples`` and ``business_events`` (CloudEvents 1.0),
as NDJSON or Parquet. Same seed and arguments give byte-identical files: all randomness comes
from the seed, ``start`` defaults to a fixed date, nothing reads the clock. Rows are streamed
to disk in chunks, so memory stays flat even for ten million rows.

Files are ordered by case start (a case's rows are written together), not strictly by time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from flowledger.demo import world
from flowledger.demo.clock import DEFAULT_START, MS_PER_DAY, MS_PER_H, rfc3339, to_ms
from flowledger.demo.processes import CASE_SCRIPTS
from flowledger.demo.queues import queue_depth_frame
from flowledger.demo.records import (
    BUSINESS_EVENTS,
    FLOW_RUNS,
    QUEUE_DEPTH_SAMPLES,
    RECORD_KINDS,
    STEP_RUNS,
)
from flowledger.demo.simulation import Simulation, Window
from flowledger.demo.truth import parallel_run_facts
from flowledger.demo.volume import case_starts, expected_cases
from flowledger.demo.writers import ChunkedWriter, FileFormat, RowCounter, RowSink

DEFAULT_CASES_PER_DAY = 250.0
CUSTOMERS_PER_CASE = 1 / 3  # customers come back: about three cases each
PROBE_CASES = 4_000  # cases simulated (not written) to calibrate `target_events`

Progress = Callable[[str], None]


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate`` wrote and what it knows about it by construction."""

    out_dir: Path
    file_format: str
    seed: int
    days: int
    start: datetime
    cases_per_day: float
    files: dict[str, Path]  # record kind (file stem) -> path
    rows: dict[str, int]  # record kind -> lines/rows written, exact duplicates included
    cases: dict[str, int]  # process -> cases started
    truth: dict[str, object]  # see `truth.Truth`
    elapsed_s: float  # wall time (not part of the files; they do not depend on it)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def event_run_step_rows(self) -> int:
        """Rows that ``target_events`` aims at: business events + flow runs + step runs."""
        return sum(self.rows[k.name] for k in (BUSINESS_EVENTS, FLOW_RUNS, STEP_RUNS))

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.elapsed_s if self.elapsed_s else float("inf")


def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    days: int = 90,
    cases_per_day: float | None = None,
    target_events: int | None = None,
    start: datetime | None = None,
    file_format: FileFormat = "ndjson",
    progress: Progress | None = None,
) -> GenerationSummary:
    """Write the demo world of ``days`` days from ``start`` (default 2026-08-01T00:00:00Z) into
    ``out_dir``. Volume: ``cases_per_day`` (default 250), or ``target_events``, the number of
    business events + flow runs + step runs to aim at (cases_per_day is then calibrated)."""
    began = time.perf_counter()
    if file_format not in ("ndjson", "parquet"):
        raise ValueError(f"file_format must be 'ndjson' or 'parquet', got {file_format!r}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if cases_per_day is not None and target_events is not None:
        raise ValueError("give cases_per_day or target_events, not both")
    if cases_per_day is not None and cases_per_day <= 0:
        raise ValueError(f"cases_per_day must be positive, got {cases_per_day}")
    if target_events is not None and target_events < 1000:
        raise ValueError(f"target_events must be at least 1000, got {target_events}")
    start = start or DEFAULT_START
    window = make_window(to_ms(start), days)
    if target_events is not None:
        if progress:
            progress(f"calibrating cases per day for {target_events:,} rows")
        cases_per_day = calibrate_cases_per_day(seed, window, days, target_events)
    rate = DEFAULT_CASES_PER_DAY if cases_per_day is None else float(cases_per_day)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = {
        kind.name: ChunkedWriter(out_dir / f"{kind.name}.{file_format}", kind, file_format)
        for kind in RECORD_KINDS
    }
    try:
        sim = Simulation(
            seed,
            window,
            writers[FLOW_RUNS.name],
            writers[STEP_RUNS.name],
            writers[BUSINESS_EVENTS.name],
        )
        simulate_cases(sim, days, rate, progress)
        queues = queue_depth_frame(seed, window, days, rate)
        writers[QUEUE_DEPTH_SAMPLES.name].extend_frame(queues)
    finally:
        for writer in writers.values():
            writer.close()
    truth = sim.truth
    peaks = queues.group_by("queue_name").agg(pl.col("depth").max()).sort("queue_name")
    truth.queue_peak_depth = dict(zip(peaks["queue_name"], peaks["depth"], strict=True))
    truth.incident = incident_facts(window)
    truth.cutover = cutover_facts(window)
    truth.parallel_runs = {
        "flow_id": world.PAYMENT_CAPTURE_SHADOW.cutover.flow.flow_id,
        "shadow_from": rfc3339(
            window.cutover_ms - world.PAYMENT_CAPTURE_SHADOW.days_before_cutover * MS_PER_DAY
        ),
        "shadow_to": rfc3339(window.cutover_ms),
        "pairs": parallel_run_facts(sim.shadowed_flow_runs, sim.shadow_keys),
    }
    summary = GenerationSummary(
        out_dir=out_dir,
        file_format=file_format,
        seed=seed,
        days=days,
        start=start,
        cases_per_day=rate,
        files={name: writer.path for name, writer in writers.items()},
        rows={name: writer.rows_written for name, writer in writers.items()},
        cases={p: truth.cases_started[p] for p in world.PROCESSES},
        truth=truth.as_dict(),
        elapsed_s=time.perf_counter() - began,
    )
    if progress:
        progress(
            f"wrote {summary.total_rows:,} rows in {summary.elapsed_s:.1f} s "
            f"({summary.rows_per_second:,.0f} rows/s) to {out_dir}"
        )
    return summary


def make_window(start_ms: int, days: int) -> Window:
    """The incident falls on day ``2*days//3`` (day 60 of 90), the cutover on ``days//2``."""
    incident = world.WMS_OUTAGE
    incident_start = (
        start_ms + (2 * days // 3) * MS_PER_DAY + int(incident.start_hour_utc * MS_PER_H)
    )
    return Window(
        start_ms=start_ms,
        end_ms=start_ms + days * MS_PER_DAY,
        incident_start_ms=incident_start,
        incident_end_ms=incident_start + int(incident.duration_h * MS_PER_H),
        cutover_ms=start_ms
        + (days // 2) * MS_PER_DAY
        + world.PAYMENT_CAPTURE_V2.hour_utc * MS_PER_H,
    )


def simulate_cases(
    sim: Simulation, days: int, cases_per_day: float, progress: Progress | None
) -> None:
    customers = max(50, int(expected_cases(cases_per_day, days) * CUSTOMERS_PER_CASE))
    rng = sim.rng
    for day in range(days):
        day_start = sim.window.start_ms + day * MS_PER_DAY
        for start_ms, _, process in case_starts(rng, day_start, day, days, cases_per_day):
            customer_number = 1 + int(rng.random() ** 2 * customers)
            CASE_SCRIPTS[process](sim, sim.next_case_number(process), start_ms, customer_number)
        if progress and (day % 10 == 9 or day == days - 1):
            written = sim.flow_runs.rows_written + sim.step_runs.rows_written
            written += sim.business_events.rows_written
            progress(f"day {day + 1}/{days}: {written:,} events, runs and steps")


def calibrate_cases_per_day(seed: int, window: Window, days: int, target_events: int) -> float:
    """Simulate a few thousand cases without writing, count rows per unit of cases_per_day,
    and scale to ``target_events`` (rows per case do not depend on the volume)."""
    probe_rate = max(5.0, PROBE_CASES / days)
    counters: list[RowSink] = [RowCounter(), RowCounter(), RowCounter()]
    probe = Simulation(seed, window, *counters)
    simulate_cases(probe, days, probe_rate, None)
    rows = sum(c.rows_written for c in counters)
    return target_events * probe_rate / max(rows, 1)


def incident_facts(window: Window) -> dict[str, object]:
    incident = world.WMS_OUTAGE
    return {
        "flow_id": incident.flow.flow_id,
        "queue_name": incident.flow.queue_name,
        "system": incident.system,
        "day": (window.incident_start_ms - window.start_ms) // MS_PER_DAY,
        "start": rfc3339(window.incident_start_ms),
        "end": rfc3339(window.incident_end_ms),
    }


def cutover_facts(window: Window) -> dict[str, object]:
    cutover = world.PAYMENT_CAPTURE_V2
    return {
        "flow_id": cutover.flow.flow_id,
        "from_version": cutover.flow.version,
        "to_version": cutover.new_version,
        "at": rfc3339(window.cutover_ms),
        "direction": "regression: version 2.0.0 fails more often",
    }
