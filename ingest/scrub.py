"""Secret and personal-data scrubbing, applied before anything is written.

Pure functions over strings and decoded JSON, plus two column helpers that run the cheap
vectorised prefilter (polars, Rust regex) over a whole batch and call the exact Python scrubber
only on the few values that might hold something to scrub.

* secrets (in fields whose contract says ``redaction: scrub_secrets`` and in every string inside
  a business event's ``data``) become typed placeholders such as ``[REDACTED:jwt]``;
* inside ``data``: values of keys named like ``*email*`` become a keyed pseudonym
  ``<email:0123456789abcdef>`` (HMAC-SHA256, so joins still work, key kept outside DuckDB), and
  card numbers that pass the Luhn check become ``[CARD ****1234]``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

PII_KEY_ENV = "FLOWLEDGER_PII_KEY"
SECRET_PLACEHOLDER = "[REDACTED:secret]"

_SECRET_KEY_WORDS = r"password|passwd|secret|token|api[_-]?key|apikey"


@dataclass(frozen=True)
class SecretRule:
    """One kind of secret: what it looks like and what replaces it."""

    name: str
    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str]


def _keep_or_redact_value(match: re.Match[str]) -> str:
    value = match["value"]
    bare = value.strip("\"'")
    if bare.lower() in {"", "null", "none", "true", "false"} or bare.startswith("[REDACTED:"):
        return match[0]
    quote = value[0] if value[0] in "\"'" and value[-1] == value[0] and len(value) > 1 else ""
    return f"{match['key']}{match['sep']}{quote}{SECRET_PLACEHOLDER}{quote}"


#: Applied in this order; the character classes never cross a JSON string's closing quote.
SECRET_RULES: tuple[SecretRule, ...] = (
    SecretRule(
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[^\"]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
        ),
        "[REDACTED:private_key]",
    ),
    SecretRule(
        "private_key_unterminated",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[A-Za-z0-9+/=\s\\]*"),
        "[REDACTED:private_key]",
    ),
    SecretRule(
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        "[REDACTED:jwt]",
    ),
    SecretRule(
        "aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "[REDACTED:aws_key]"
    ),
    SecretRule(
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
        "[REDACTED:github_token]",
    ),
    SecretRule(
        "slack_token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{8,}"), "[REDACTED:slack_token]"
    ),
    SecretRule(
        "stripe_key", re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{8,}"), "[REDACTED:stripe_key]"
    ),
    SecretRule(
        "bearer_token",
        re.compile(r"\b(?P<word>(?i:bearer))\s+[A-Za-z0-9._~+/=-]{8,}"),
        r"\g<word> [REDACTED:bearer_token]",
    ),
    SecretRule(
        "url_credentials",
        re.compile(r"://[^/?#\s:@\"]+:[^/?#\s@\"]*@"),
        "://[REDACTED:url_credentials]@",
    ),
    SecretRule(
        "key_value",
        re.compile(
            r"(?P<key>[\"']?\b[\w.-]*?(?i:" + _SECRET_KEY_WORDS + r")\b[\"']?)"
            r"(?P<sep>\s*[:=]\s*)"
            r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&\"'}\]]+)"
        ),
        _keep_or_redact_value,
    ),
)

_SECRET_KEY_NAME = re.compile(r"[\w.-]*?(?:" + _SECRET_KEY_WORDS + ")", re.IGNORECASE)
_EMAIL_KEY_NAME = re.compile(r"e[-_]?mail", re.IGNORECASE)
_CARD_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PSEUDONYM = re.compile(r"<email:[0-9a-f]{16}>")

#: Rust-regex prefilters (supersets of what the rules above change), for polars columns.
TEXT_PREFILTER = (
    r"(?i)(private key|eyj|akia|asia|gh[pousr]_|github_pat_|xox[abprs]-|k_live_|k_test_|bearer"
    r"|://[^/?#\s@]*@|passw|secret|token|api[_-]?key)"
)
EVENT_DATA_PREFILTER = TEXT_PREFILTER + r"|(?i:e[-_]?mail)|(?:\d[ -]?){12}\d"


def scrub_secrets(text: str) -> str:
    """Replace every secret the rules recognise by its typed placeholder."""
    for rule in SECRET_RULES:
        text = rule.pattern.sub(rule.replacement, text)
    return text


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of decimal digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def mask_card_numbers(text: str) -> str:
    """Runs of 13–19 digits (spaces or dashes allowed between) that pass Luhn → last four only."""

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match[0])
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return f"[CARD ****{digits[-4:]}]"
        return match[0]

    return _CARD_CANDIDATE.sub(mask, text)


def pseudonymise_email(value: str, key: bytes) -> str:
    """``<email:…>`` with the first 16 hex digits of HMAC-SHA256(key, trimmed lower-cased value)."""
    if _PSEUDONYM.fullmatch(value):
        return value
    normalised = value.strip().lower().encode()
    return f"<email:{hmac.new(key, normalised, hashlib.sha256).hexdigest()[:16]}>"


def scrub_event_data(value: Any, key: bytes) -> Any:
    """Scrub decoded CloudEvents ``data`` recursively: secrets, email keys, card numbers."""
    if isinstance(value, str):
        return mask_card_numbers(scrub_secrets(value))
    if isinstance(value, list):
        return [scrub_event_data(item, key) for item in value]
    if isinstance(value, dict):
        return {name: _scrub_member(name, item, key) for name, item in value.items()}
    return value


def scrub_event_data_json(text: str, key: bytes) -> str:
    """:func:`scrub_event_data` over JSON text; the result is compact JSON."""
    scrubbed = scrub_event_data(json.loads(text), key)
    return json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":"))


def scrub_event_data_text(text: str, key: bytes) -> str:
    """Like :func:`scrub_event_data_json`, but text that is not JSON is scrubbed as free text."""
    try:
        return scrub_event_data_json(text, key)
    except json.JSONDecodeError:
        return mask_card_numbers(scrub_secrets(text))


def _scrub_member(name: str, value: Any, key: bytes) -> Any:
    if value is None:
        return None
    if _SECRET_KEY_NAME.fullmatch(name):
        return SECRET_PLACEHOLDER
    if _EMAIL_KEY_NAME.search(name):
        if isinstance(value, str):
            return pseudonymise_email(value, key)
        if isinstance(value, list):
            return [
                pseudonymise_email(item, key) if isinstance(item, str) else item for item in value
            ]
    return scrub_event_data(value, key)


def scrub_text_column(values: pl.Series) -> pl.Series:
    """:func:`scrub_secrets` over a string column, calling Python only where the prefilter hits."""
    return _scrub_where(values, TEXT_PREFILTER, scrub_secrets)


def scrub_event_data_column(values: pl.Series, key: bytes) -> pl.Series:
    """:func:`scrub_event_data_json` over a column of JSON text, only where the prefilter hits."""
    return _scrub_where(values, EVENT_DATA_PREFILTER, lambda text: scrub_event_data_json(text, key))


def _scrub_where(values: pl.Series, prefilter: str, scrub: Callable[[str], str]) -> pl.Series:
    hits = values.str.contains(prefilter).fill_null(False)
    indices = hits.arg_true()
    if indices.len() == 0:
        return values
    scrubbed = [scrub(text) for text in values.gather(indices).to_list()]
    return values.scatter(indices, pl.Series(scrubbed, dtype=pl.String))


def load_pii_key(secrets_dir: Path) -> bytes:
    """The pseudonymisation key: ``FLOWLEDGER_PII_KEY``, else ``<secrets_dir>/pii.key``.

    The file is created on first use with 32 random bytes and mode 0600. The key never goes
    into DuckDB.
    """
    from_env = os.environ.get(PII_KEY_ENV)
    if from_env:
        return from_env.encode()
    path = secrets_dir / "pii.key"
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if not key:
            raise ValueError(
                f"the pseudonymisation key file {path} is empty; restore it from a backup "
                f"(or set {PII_KEY_ENV}) so pseudonyms stay stable"
            ) from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
