"""The store adds each batch of stored events to the graph in event-time order: by the instant
each eventTime names, whatever its UTC offset or fractional seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_out_of_order_lineage import DOWNSTREAM, MODEL, SECOND, THIRD, WAREHOUSE

from flowledger.settings import DataDir
from lineage.graph import FieldKey
from lineage.store import LineageStore


@pytest.mark.parametrize(
    ("model_time", "downstream_time"),
    [
        ("2026-05-01T13:00:00+02:00", "2026-05-01T12:00:00Z"),  # 11:00Z, then 12:00Z
        ("2026-05-01T12:00:00Z", "2026-05-01T12:00:00.500Z"),  # ".5Z" sorts before "Z"
    ],
    ids=["utc-offset", "fractional-seconds"],
)
def test_a_batch_is_added_in_the_order_of_its_instants(
    tmp_path: Path, model_time: str, downstream_time: str
) -> None:
    """m1's event is the older by instant, but the newer by its eventTime's text: m2's
    `select *` over m1 is parsed after m1's own SQL, so it expands to m1's columns."""
    store = LineageStore(DataDir(tmp_path).ensure())
    store.append([{**SECOND, "eventTime": model_time}, {**THIRD, "eventTime": downstream_time}])
    downstream = store.graph().datasets[(WAREHOUSE, DOWNSTREAM)]
    assert (downstream.derived_columns, list(downstream.fields)) == (["id", "rn"], ["id", "rn"])
    [edge] = store.graph().upstream_edges(FieldKey(WAREHOUSE, DOWNSTREAM, "rn"))
    assert edge.input == FieldKey(WAREHOUSE, MODEL, "rn")
