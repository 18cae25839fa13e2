"""What Marquez clients ask that flowledger does not keep: job versions answer a 404 that says
so (not "no job '…/versions'"), and ``/tags`` (the web UI, marquez-python's ``list_tags``)
answers Marquez's shape, ``{"tags": []}``: flowledger keeps no tags."""

from __future__ import annotations

import pytest
from lineage_support import LoopbackServer, api_get, post_event

JOB_EVENT = {
    "eventTime": "2026-12-01T10:00:00Z",
    "producer": "https://example.com/unsupported",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
    "job": {"namespace": "etl", "name": "etl.daily_sales"},
    "inputs": [],
    "outputs": [],
}


@pytest.fixture()
def server(lineage_server: LoopbackServer) -> LoopbackServer:
    """The routes with one job, etl.daily_sales."""
    answer = post_event(lineage_server, JOB_EVENT)
    assert answer.status_code == 201, answer.text
    return lineage_server


@pytest.mark.parametrize("suffix", ["versions", "versions/1b2c3d4e-0000-4000-8000-000000000000"])
def test_job_versions_answer_that_they_are_not_supported(
    server: LoopbackServer, suffix: str
) -> None:
    answer = api_get(server, f"namespaces/etl/jobs/etl.daily_sales/{suffix}")
    assert answer.status_code == 404
    message = answer.json()["message"]
    assert message.startswith("job versions are not supported")
    assert "'etl.daily_sales' in 'etl'" in message and "/versions'" not in message
    unknown = api_get(server, f"namespaces/etl/jobs/etl.nightly/{suffix}")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "no job 'etl.nightly' in namespace 'etl'"
    # the job itself still answers
    assert (
        api_get(server, "namespaces/etl/jobs/etl.daily_sales").json()["name"] == "etl.daily_sales"
    )


def test_tags_answer_marquez_shape(server: LoopbackServer) -> None:
    answer = api_get(server, "tags")
    assert answer.status_code == 200
    assert answer.json() == {"tags": []}
    assert api_get(server, "tags", limit=10, offset=0).json() == {"tags": []}
    assert api_get(server, "tags", limit=-1).status_code == 400
