"""Queue-depth samples every five minutes for each queue-fed flow, vectorised with numpy.

Depth ~ Poisson(background + arrival rate x wait). Normally a message waits about a minute;
during the incident the wait of the incident flow's queue grows (the same backlog that delays
its runs, see `simulation.incident_backlog_ms`), so its depth rises, then drains.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from flowledger.demo import world
from flowledger.demo.clock import MS_PER_DAY, MS_PER_H, normalised_weekday_factors
from flowledger.demo.records import QUEUE_DEPTH_SAMPLES
from flowledger.demo.simulation import Window
from flowledger.demo.volume import growth_factor

SAMPLE_EVERY_MS = 5 * 60_000
BACKGROUND_DEPTH = 1.5  # other message types sharing the queue
BASE_WAIT_S = 60.0

_PROCESS_OF_QUEUE_FLOW = {
    world.INVOICE_POST.flow_id: world.QUOTE_TO_CASH,
    world.ORDER_INTAKE.flow_id: world.CART_TO_FULFILLMENT,
    world.PAYMENT_CAPTURE.flow_id: world.CART_TO_FULFILLMENT,
    world.WAREHOUSE_DISPATCH.flow_id: world.CART_TO_FULFILLMENT,
}


def queue_depth_frame(seed: int, window: Window, days: int, cases_per_day: float) -> pl.DataFrame:
    """All samples of the window, ordered by time then queue, in contract column order."""
    rng = np.random.default_rng([seed, 0x5155455545])
    times = np.arange(window.start_ms, window.end_ms, SAMPLE_EVERY_MS, dtype=np.int64)
    day_index = (times - window.start_ms) // MS_PER_DAY
    weekday = (times // MS_PER_DAY + 3) % 7
    hour = (times % MS_PER_DAY) // MS_PER_H
    growth = np.array([growth_factor(d, days) for d in range(days)])[day_index]
    incident = world.WMS_OUTAGE
    backlog_s = _backlog_seconds(times, window, incident.backlog_growth)
    frames = []
    for flow in world.QUEUE_FED_FLOWS:
        process = _PROCESS_OF_QUEUE_FLOW[flow.flow_id]
        weekday_factor = np.array(normalised_weekday_factors(world.WEEKDAY_FACTORS[process]))
        hourly = np.array(world.HOURLY_WEIGHTS[process], dtype=float)
        hourly_share = hourly / hourly.sum()
        per_day = cases_per_day * world.PROCESS_SHARE[process] * growth * weekday_factor[weekday]
        arrivals_per_s = per_day * hourly_share[hour] / 3600.0
        wait_s = BASE_WAIT_S + (backlog_s if flow is incident.flow else 0.0)
        depth = rng.poisson(BACKGROUND_DEPTH + arrivals_per_s * wait_s)
        age = np.where(depth > 0, wait_s * rng.uniform(0.4, 1.6, len(times)), 0.0).round(1)
        frames.append(
            pl.DataFrame(
                {
                    "source_system": flow.source_system,
                    "queue_name": flow.queue_name,
                    "sampled_at": times,
                    "depth": depth.astype(np.int64),
                    "flow_id": flow.flow_id,
                    "oldest_message_age_s": age,
                },
                schema=QUEUE_DEPTH_SAMPLES.schema,
            )
        )
    return pl.concat(frames).sort("sampled_at", "queue_name", maintain_order=True)


def _backlog_seconds(times: np.ndarray, window: Window, growth: float) -> np.ndarray:
    start, end = window.incident_start_ms, window.incident_end_ms
    rising = np.clip(times - start, 0, end - start) * growth
    draining = np.clip(times - end, 0, None) * growth
    return np.clip(rising - draining, 0, None) / 1000.0
