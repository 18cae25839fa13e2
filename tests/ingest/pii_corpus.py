"""Personal data seeded into flow runs and business events, and how to look for it afterwards.

Shared by ``tests/ingest/test_ingest_pii.py`` (file ingest) and ``tests/server/test_pii.py``
(the receiver), so both paths are held to the same inputs and the same expected outputs.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import duckdb

EMAIL = "Dana.Scully@Example.org"
NAME = "Dana Katherine Scully"
PHONE = "+1 202 555 0143"
CARD = "4000 0566 5566 5556"  # passes Luhn
BIRTH = "1964-02-23"
NESTED_EMAIL = "fox.mulder@example.org"
NESTED_NAME = "Fox William Mulder"
NESTED_PHONE = "+1 202 555 0199"
IDEMPOTENCY_KEY = "signup:walter.skinner@example.org"
BROKEN_KEY = "signup:monica.reyes@example.org"

#: Every cleartext form that must not appear in any file under the data directory.
NEEDLES = [
    EMAIL,
    EMAIL.lower(),
    NAME,
    PHONE,
    "2025550143",
    CARD,
    CARD.replace(" ", ""),
    BIRTH,
    NESTED_EMAIL,
    NESTED_NAME,
    NESTED_PHONE,
    IDEMPOTENCY_KEY,
    BROKEN_KEY,
    "walter.skinner",
    "monica.reyes",
]


def expected_pseudonym(value: str, key: bytes) -> str:
    """Computed here with the standard library, independently of ``ingest.scrub``."""
    normalised = value.strip()
    if "@" in normalised and " " not in normalised:
        normalised = normalised.lower()
    key_id = hmac.new(key, b"flowledger pii key id", hashlib.sha256).hexdigest()[:6]
    digest = hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()[:16]
    return f"<pii:{key_id}:{digest}>"


def run(run_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "source_system": "n8n",
        "flow_id": "wf-signup",
        "flow_name": "Newsletter sign-up",
        "run_id": run_id,
        "run_attempt": 1,
        "status": "success",
        "started_at": "2026-08-01T09:00:00Z",
        **extra,
    }


def event(event_id: str, data: Any, **extra: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/acme/shop",
        "type": "com.acme.shop.order.placed",
        "time": "2026-08-01T09:00:00Z",
        "data": data,
        **extra,
    }


def flow_runs() -> list[dict[str, Any]]:
    """Two deliveries of one sign-up (one key, one digest), an idempotency collision (same
    key, another digest), a broken run."""
    return [
        run("r-1", idempotency_key=IDEMPOTENCY_KEY, input_digest="d-1"),
        run("r-2", idempotency_key=IDEMPOTENCY_KEY, input_digest="d-1"),
        run("r-3", idempotency_key=IDEMPOTENCY_KEY, input_digest="d-2"),
        run("r-broken", status="exploded", idempotency_key=BROKEN_KEY),
    ]


def business_events() -> list[dict[str, Any]]:
    """Every classified field of ``data``, the same person under two field names, a nested
    object and a list of them, and two broken events that carry personal data."""
    placed = {
        "order_id": "O-1",
        "customer_email": EMAIL,
        "customer_name": NAME,
        "phone": PHONE,
        "card_number": CARD,
        "date_of_birth": BIRTH,
        "customer": {"email": NESTED_EMAIL, "name": NESTED_NAME, "phone": NESTED_PHONE},
        "amount": 10.5,
    }
    return [
        event("e-1", placed),
        event("e-2", {"order_id": "O-1", "signed_by": EMAIL.lower()}),
        event("e-3", {"order_id": "O-2", "customer": [{"email": NESTED_EMAIL, "tier": "gold"}]}),
        event("e-broken-time", {"customer_email": EMAIL, "customer_name": NAME}, time="yesterday"),
        event("e-broken-data", [{"customer_email": EMAIL, "customer_name": NAME}]),
    ]


def assert_no_cleartext(root: Path, warehouse: Path) -> list[Path]:
    """No needle in any file under ``root`` (bytes), nor in any raw table or landing Parquet
    file as DuckDB decodes them (compression could hide a string from a byte search).

    Returns the files searched.
    """
    files = [path for path in root.rglob("*") if path.is_file()]
    for path in files:
        content = path.read_bytes()
        for needle in NEEDLES:
            assert needle.encode() not in content, f"{needle!r} found in {path}"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        ]
        blobs = {
            f"raw.{table}": con.execute(
                f"select coalesce(string_agg(to_json(t)::varchar, ''), '') from raw.{table} t"
            ).fetchone()[0]
            for table in tables
        }
        for parquet in root.rglob("*.parquet"):
            blobs[str(parquet)] = con.execute(
                f"select string_agg(to_json(t)::varchar, '') from read_parquet('{parquet}') t"
            ).fetchone()[0]
    finally:
        con.close()
    for where, blob in blobs.items():
        for needle in NEEDLES:
            assert needle not in blob, f"{needle!r} in {where}"
    return files
