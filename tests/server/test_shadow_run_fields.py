"""The receiver takes flow runs' execution_mode and outputs as file ingest does."""

from __future__ import annotations

from pathlib import Path

import pytest
from receiver_harness import Serve, flow_run, query

pytestmark = pytest.mark.slow


def test_receiver_accepts_shadow_runs_with_outputs(tmp_path: Path) -> None:
    with Serve(tmp_path / "home") as server:
        response = server.post(
            "/v1/runs",
            [
                flow_run("live-1", business_key="O-1", outputs={"amount": 85.3, "currency": "EUR"}),
                flow_run("shadow-1", business_key="O-1", execution_mode="shadow",
                         outputs={"amount": 85}),
                flow_run("bad-1", execution_mode="canary"),
                flow_run("bad-2", outputs=[1, 2]),
            ],
        )  # fmt: skip
        answer = response.json()
        assert answer["accepted"] == 2
        assert [(r["index"], r["reason"]) for r in answer["rejected"]] == [
            (2, "execution_mode: 'canary' is not one of live, shadow"),
            (3, "outputs: '[1, 2]' is not a JSON object"),
        ]
        server.wait_drained()
    rows = query(
        server.data_dir,
        "select run_id, execution_mode, outputs from raw.flow_runs order by run_id",
    )
    assert rows == [
        ("live-1", None, '{"amount":85.3,"currency":"EUR"}'),
        ("shadow-1", "shadow", '{"amount":85}'),
    ]
