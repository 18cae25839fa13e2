"""Secret forms the scrubber let through (review of the receiver, B1): vendor tokens glued to a
name by `_`, URL passwords behind JSON-escaped slashes or written with blanks, and the header
and key names of API subscription and function keys. Each is redacted on every path (free
text, event data, a quarantined line, `flowledger rescrub`), and every prefilter flags it, so
no path skips it unseen."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pytest

from ingest.contracts import RecordKind, load_contracts
from ingest.quarantine import text_record
from ingest.rescrub import _rescrubbed_record
from ingest.scrub import (
    EVENT_DATA_PREFILTER,
    SECRET_HINT_PATTERN,
    TEXT_PREFILTER,
    is_secret_key_name,
    may_hold_a_secret,
    scrub_data,
    scrub_free_text,
    scrub_secrets,
    scrubber_for,
)

KEY = b"glued-unit-key"
EVENTS = load_contracts()[RecordKind.BUSINESS_EVENT]
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
SLACK = "xoxb-999988887777-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
OPENAI = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"
NPM = "npm_" + "A1b2C3d4E5" * 3 + "F6g7H8"  # npm_ and 36 letters and digits

SECRETS = [
    # a token glued to a name by `_` (an env listing, a config dump): `\b` saw no edge there
    (f"SLACK_BOT_{SLACK}", "SLACK_BOT_[REDACTED:slack_token]"),
    (f"OPENAI_{OPENAI} rejected", "OPENAI_[REDACTED:openai_key] rejected"),
    (f"JWT_{JWT}", "JWT_[REDACTED:jwt]"),
    (f"NPM_{NPM}_PROD", "NPM_[REDACTED:npm_token]_PROD"),
    (
        "ANTHROPIC_sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx0123",
        "ANTHROPIC_[REDACTED:anthropic_key]",
    ),
    ("SENDGRID_SG.abcdefghijklmnop.ABCDEFGHIJKLMNOPQRSTUV", "SENDGRID_[REDACTED:sendgrid_key]"),
    (
        "TELEGRAM_123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0",
        "TELEGRAM_[REDACTED:telegram_bot_token]",
    ),
    ("DOCKER_dckr_pat_AbCdEfGhIjKlMnOpQrStUvWx012", "DOCKER_[REDACTED:docker_token]"),
    # a URL's password behind JSON-escaped slashes (PHP's json_encode, JSON inside a string)
    (r"mysql:\/\/root:pw@db\/x", r"mysql:\/\/[REDACTED:url_credentials]@db\/x"),
    (
        r'{"dsn":"postgres:\/\/admin:S3cr3t@db.internal:5432\/shop"}',
        r'{"dsn":"postgres:\/\/[REDACTED:url_credentials]@db.internal:5432\/shop"}',
    ),
    (
        r"{\"dsn\":\"mysql:\\\/\\\/root:pw@db\\\/x\"}",
        r"{\"dsn\":\"mysql:\\\/\\\/[REDACTED:url_credentials]@db\\\/x\"}",
    ),
    (r"https:\/\/svc:pa\/ss@host\/x", r"https:\/\/[REDACTED:url_credentials]@host\/x"),
    # a password with blanks: encoded, as a URL writes them, or as typed
    ("postgres://admin:my%20pass@db/x", "postgres://[REDACTED:url_credentials]@db/x"),
    (
        "postgres://admin:correct horse battery staple@db/x",
        "postgres://[REDACTED:url_credentials]@db/x",
    ),
    # the names of API subscription keys and function keys, as headers and as key=value
    (
        "Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef",
        "Ocp-Apim-Subscription-Key: [REDACTED:secret]",
    ),
    ("x-functions-key: aBcD1234eFgH5678==", "x-functions-key: [REDACTED:secret]"),
    ('{"subscription_key": "k3y-v4lue"}', '{"subscription_key": "[REDACTED:secret]"}'),
    ("AZURE_STORAGE_ACCOUNT_KEY=abc123", "AZURE_STORAGE_ACCOUNT_KEY=[REDACTED:secret]"),
    ("ALGOLIA_ADMIN_KEY=abc123", "ALGOLIA_ADMIN_KEY=[REDACTED:secret]"),
    ("SUPABASE_SERVICE_ROLE_KEY=abc123", "SUPABASE_SERVICE_ROLE_KEY=[REDACTED:secret]"),
]


@pytest.mark.parametrize(("text", "expected"), SECRETS)
def test_each_secret_is_redacted_and_stays_so(text: str, expected: str) -> None:
    assert scrub_secrets(text) == expected
    assert scrub_free_text(text) == expected
    assert scrub_secrets(expected) == expected  # idempotent: the drainer may scrub again


@pytest.mark.parametrize(("text", "_"), SECRETS)
def test_every_prefilter_flags_each_secret(text: str, _: str) -> None:
    """The polars prefilters (file ingest, rescrub), Python's (free text, OpenLineage) and the
    SQL one over reasons (DuckDB's RE2: ingest/validate.py) flag the text, as written and as
    stored JSON text (a quarantined line: its backslashes doubled)."""
    con = duckdb.connect()
    for written in (text, json.dumps(text)):
        column = pl.Series([written])
        assert column.str.contains(TEXT_PREFILTER).item()
        assert column.str.contains(EVENT_DATA_PREFILTER).item()
        assert column.str.contains(scrubber_for(EVENTS).record_prefilter).item()
        assert may_hold_a_secret(written)
        matched = con.execute(
            "select regexp_matches(lower(?), ?)", [written, SECRET_HINT_PATTERN]
        ).fetchone()
        assert matched == (True,)


@pytest.mark.parametrize(
    "text",
    [
        # a port, a path and an address after it: no password
        r"https:\/\/host:8080\/path\/x@y.com",
        r'{"a":"https:\/\/x:y","b":"z@h"}',
        "connect to https://db.internal:8443 failed, mail admin@example.com",
        "see https://docs.example.com: ask ops at admin@example.com",
        "ftp://mirror.example.com/pub and support: write to help desk@example.com",
        # a name glued to what only resembles a token
        "TASK_sk-short XO_xoxo-indieweb NPM_npm_install_ok MY_eyJustAWord",
        # keys that are identifiers, not credentials
        "account_key=42 primary_key=5 sort_key: 3 subscription_id=sub-1 function_name=f",
        # a URL's port before punctuation, then an email further on
        "Service at http://localhost:8080, contact ops@example.com",
        "dashboards (https://example.com:443) owned by bob@example.com",
    ],
)
def test_near_misses_stay(text: str) -> None:
    assert scrub_secrets(text) == text


SECRET_NAMES = [
    "Ocp-Apim-Subscription-Key", "subscription_key", "subscriptionKey", "x-functions-key",
    "functionKey", "AZURE_STORAGE_KEY", "storage_account_key", "SharedKey", "admin_key",
    "ALGOLIA_ADMIN_KEY", "SUPABASE_SERVICE_ROLE_KEY",
    # the family already covered, kept so
    "api-key", "x-api-key", "apikey", "client_secret", "access_token", "refresh_token",
    "private_key", "SharedAccessKey",
]  # fmt: skip


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_subscription_function_and_admin_key_names_are_secrets(name: str) -> None:
    assert is_secret_key_name(name)
    assert scrub_data({name: "v4lue"}, lambda: KEY) == {name: "[REDACTED:secret]"}
    assert scrub_secrets(f"{name}: v4lue") == f"{name}: [REDACTED:secret]"


@pytest.mark.parametrize(
    "name",
    [
        "account_key", "primary_key", "subscription_id", "function_name", "service",
        # an object's path or a record's id as often as a secret: scrubbing would lose them
        "storage_key", "service_key", "serviceKey", "subscription_keyword",
    ],
)  # fmt: skip
def test_identifier_key_names_stay_ordinary(name: str) -> None:
    assert not is_secret_key_name(name)


def test_a_subscription_key_inside_data_is_redacted_on_both_intake_paths() -> None:
    event = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/acme/api",
        "type": "com.acme.called",
        "data": {"request": {"headers": {"Ocp-Apim-Subscription-Key": "0123abcd"}}},
        "subscription_key": "0123abcd",
    }
    scrubber = scrubber_for(EVENTS)
    record = scrubber.scrub_record(event, lambda: KEY)
    assert "0123abcd" not in json.dumps(record)
    frame = pl.DataFrame({name: [json.dumps(event["data"])] for name in ["data"]})
    scrubbed = scrubber.scrub_frame(frame, lambda: KEY).frame
    assert "0123abcd" not in scrubbed["data"].item()


def test_a_quarantined_line_and_rescrub_redact_an_escaped_url_password() -> None:
    line = r'{"id": "e-1", "dsn": "mysql:\/\/root:hunter22@db\/x"'  # broken NDJSON: no `}`
    stored = text_record(line)
    assert "hunter22" not in stored
    # a line stored before this rule: `flowledger rescrub` finds and scrubs it
    assert "hunter22" not in _rescrubbed_record(json.dumps(line), EVENTS, lambda: KEY)


def test_escaped_question_marks_after_a_url_user_take_linear_time() -> None:
    """Two alternatives of the password could both take `\\?`: every split was tried (57
    characters took 2 s, each more tripled it). Measured against a bound a thousand times what
    the fixed rule takes, so the test fails only on the exponential form."""
    import time

    text = "://a:" + "\\?" * 30 + '",@'
    started = time.process_time()
    scrub_secrets(text)
    assert time.process_time() - started < 5.0
