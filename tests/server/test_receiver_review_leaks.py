"""The review's receiver findings through a real `flowledger serve` (B1, B5, B6): a tokens file
and a token-sources file saved by Notepad (byte order mark, CRLF) name their sources right; a
URL password behind JSON-escaped slashes, a token glued to a name by `_` and an API
subscription key reach no file the service writes, from accepted records or a broken NDJSON
line; a count in another script's digits is refused with file ingest's reason."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from receiver_harness import OTHER_TOKEN, TOKEN, Serve, event, flow_run

pytestmark = pytest.mark.slow

SEEDED = ["LeakB1aEscPw", "LeakB1bSlackTok", "LeakB1cSubKey", "LeakB1dApimKey", "LeakB1eQuarPw"]


def test_the_reviewed_cases_through_a_real_receiver(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_bytes(
        b"\xef\xbb\xbfcrm=" + TOKEN.encode() + b"\r\n# comment\r\notel=" + OTHER_TOKEN.encode()
    )
    bindings = tmp_path / "token-sources.txt"
    bindings.write_bytes(b"\xef\xbb\xbfcrm=n8n, /crm/leads\r\n")
    server = Serve(
        tmp_path / "home", "--tokens-file", str(tokens), "--token-sources", str(bindings)
    )
    with server:
        data = {
            # JSON inside a string, slashes escaped (PHP's json_encode)
            "config": r'{"dsn":"mysql:\/\/root:LeakB1aEscPw@db\/x"}',
            "env": "SLACK_BOT_xoxb-999988887777-LeakB1bSlackTok",
            "subscription_key": "LeakB1cSubKey",
            "request": "Ocp-Apim-Subscription-Key: LeakB1dApimKey",
        }
        response = server.post(
            "/v1/events", [event("b1-1", data=data)], "application/cloudevents-batch+json"
        )
        assert response.json()["accepted"] == 1, response.text
        broken = r'{"run_id": "b1-q", "dsn": "mysql:\/\/root:LeakB1eQuarPw@db\/x"' + "\n"
        server.post("/v1/runs", broken, "application/x-ndjson")
        answer = server.post("/v1/runs", [flow_run("b5-run", run_attempt="٣")]).json()
        assert answer["accepted"] == 0
        assert "run_attempt: '٣' is not an integer" in answer["rejected"][0]["reason"]
        server.wait_drained()
    leaks = [
        f"{secret} in {path.relative_to(server.data_dir)}"
        for path in sorted(server.data_dir.rglob("*"))
        if path.is_file()
        for secret in SEEDED
        if secret.encode() in path.read_bytes()
    ]
    assert not leaks
    con = duckdb.connect(str(server.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        stored = con.execute(
            "select (select string_agg(data, ' ') from raw.business_events)"
            " || (select string_agg(raw_record, ' ') from raw.quarantine)"
        ).fetchone()[0]
        assert "REDACTED" in stored and not [s for s in SEEDED if s in stored]
        assert con.execute(
            "select count(*) from raw.flow_runs where run_id = 'b5-run'"
        ).fetchone() == (0,)
    finally:
        con.close()
