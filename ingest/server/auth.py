"""Who may push: bearer tokens per source, and optional HMAC-SHA256 webhook signatures.

Tokens and signing keys live outside the repository and outside the data directory's database:
in the environment (``FLOWLEDGER_TOKENS``, ``FLOWLEDGER_HMAC_KEYS``) or in a secrets file
(``--tokens-file``, ``--hmac-file``), one ``source=secret`` per line (``#`` comments). Tokens are
compared with :func:`hmac.compare_digest` against every configured token, so the time taken
does not depend on which token (or how much of one) matched.

A source with an HMAC key must also sign each request::

    X-Flowledger-Timestamp: <unix seconds>
    X-Flowledger-Signature: sha256=<hex HMAC-SHA256(key, "<timestamp>." + raw body)>

A request that carries more than its body (a query string, CloudEvents binary mode's ``ce-*``
headers, which hold the event's id, source and type) signs those too, before the body:
``"<timestamp>." + query + "\n" + one "name:value\n" per ce-* header (names lower case,
sorted) + "\n" + raw body`` (:func:`signed_message`): changing a captured request's headers
breaks its signature.

A timestamp further than the tolerance (300 s) from the server's clock is refused (a replay of
an old capture), and so is a signature already seen inside the tolerance window (a replay of a
fresh capture), also across a restart of the server (the signatures seen are kept in a file):
a client that re-sends must sign again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOKENS_ENV = "FLOWLEDGER_TOKENS"
HMAC_KEYS_ENV = "FLOWLEDGER_HMAC_KEYS"
TIMESTAMP_HEADER = "x-flowledger-timestamp"
SIGNATURE_HEADER = "x-flowledger-signature"
DEFAULT_TOLERANCE_S = 300.0
#: the byte order mark Windows editors write at the start of a UTF-8 file
_BOM = "\ufeff"
#: Unix seconds as :func:`sign` writes them, a fraction allowed: finite by construction.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


class AuthConfigError(ValueError):
    """The token or key configuration cannot be used; the message says where and why."""


class Refused(Exception):
    """A request that may not push; ``message`` never contains a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_secrets(text: str, where: str) -> dict[str, str]:
    """``source=secret`` pairs separated by commas or newlines (``\\r\\n`` too); ``#`` starts a
    comment; a leading byte order mark (Notepad's UTF-8) is no part of the first source."""
    pairs: dict[str, str] = {}
    for number, raw in enumerate(text.removeprefix(_BOM).replace(",", "\n").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        source, sep, secret = line.partition("=")
        source, secret = source.strip(), secret.strip()
        if not sep or not source or not secret:
            raise AuthConfigError(
                f"{where}, entry {number}: expected source=secret (e.g. n8n=0f3c…), got "
                f"{'an entry without =' if not sep else 'an empty source or secret'}"
            )
        if not (source + secret).isprintable():
            # an invisible character (a zero-width space, a BOM mid-file) would be part of the
            # source's name, which no record's source then matches, or of its token
            raise AuthConfigError(
                f"{where}, entry {number}: the source name or its secret holds an invisible or "
                "control character; save the file as plain UTF-8 text"
            )
        if len(secret) < 16:
            raise AuthConfigError(
                f"{where}, entry {number}: the secret for {source!r} is shorter than 16 "
                "characters; use a long random value (python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            )
        if source in pairs:
            raise AuthConfigError(f"{where}: source {source!r} is listed twice")
        pairs[source] = secret
    return pairs


def _read_secrets_file(file: Path) -> str:
    """A secrets file's text: UTF-8 whatever the locale, a leading byte order mark dropped."""
    try:
        return file.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise AuthConfigError(f"cannot read {file}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise AuthConfigError(
            f"cannot read {file}: not UTF-8 text (byte {error.start}); save it as UTF-8"
        ) from None


def load_secrets(env_name: str, file: Path | None) -> dict[str, str]:
    """The pairs from ``file`` when given, else from the environment variable."""
    if file is not None:
        text = _read_secrets_file(file)
        return parse_secrets(text, str(file))
    return parse_secrets(os.environ.get(env_name, ""), f"${env_name}")


TOKEN_SOURCES_ENV = "FLOWLEDGER_TOKEN_SOURCES"


def parse_token_sources(
    text: str, where: str, tokens: Mapping[str, str]
) -> dict[str, frozenset[str]]:
    """``token_source=record source, record source`` entries, one per line or separated by
    ``;`` (``#`` comments): the record sources (a run's ``source_system``, a CloudEvent's
    ``source``) each token may write. A token without an entry writes any source."""
    bindings: dict[str, frozenset[str]] = {}
    for number, raw in enumerate(text.removeprefix(_BOM).replace(";", "\n").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, listed = line.partition("=")
        name = name.strip()
        sources = frozenset(part.strip() for part in listed.split(",") if part.strip())
        if not sep or not name or not sources:
            raise AuthConfigError(
                f"{where}, entry {number}: expected token_source=record source[, record "
                "source…] (e.g. crm=/acme/crm, crm)"
            )
        if name not in tokens:
            raise AuthConfigError(
                f"{where}, entry {number}: {name!r} is no token's source (tokens: "
                f"{', '.join(sorted(tokens)) or 'none'})"
            )
        if name in bindings:
            raise AuthConfigError(f"{where}: {name!r} is listed twice")
        bindings[name] = sources
    return bindings


def load_token_sources(
    env_name: str, file: Path | None, tokens: Mapping[str, str]
) -> dict[str, frozenset[str]]:
    """The bindings from ``file`` when given, else from the environment variable."""
    if file is not None:
        text = _read_secrets_file(file)
        return parse_token_sources(text, str(file), tokens)
    return parse_token_sources(os.environ.get(env_name, ""), f"${env_name}", tokens)


@dataclass(frozen=True)
class _Token:
    source: str
    secret: bytes


class Authenticator:
    """Maps ``Authorization: Bearer <token>`` to its source, and checks signatures."""

    def __init__(
        self,
        tokens: dict[str, str],
        hmac_keys: dict[str, str] | None = None,
        *,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        seen_path: Path | None = None,
    ) -> None:
        self._tokens = [_Token(source, token.encode()) for source, token in tokens.items()]
        self._hmac_keys = {source: key.encode() for source, key in (hmac_keys or {}).items()}
        unknown = set(self._hmac_keys) - set(tokens)
        if unknown:
            raise AuthConfigError(
                f"HMAC keys for sources without a bearer token: {', '.join(sorted(unknown))}"
            )
        self.tolerance_s = tolerance_s
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._seen_lock = threading.Lock()
        #: the signatures seen, one "<hex digest> <unix seconds>" line each, so that a restart
        #: forgets none still inside the window (written, not fsync'd: a killed process loses
        #: nothing the kernel holds, and a machine that boots again takes longer than the window)
        self._seen_file = None if seen_path is None else self._open_seen(seen_path)

    def _open_seen(self, path: Path) -> Any:
        horizon = time.time() - 2 * self.tolerance_s
        kept: list[str] = []
        try:
            for line in path.read_text(encoding="ascii", errors="replace").splitlines():
                digest_hex, _, seen_at = line.partition(" ")
                try:
                    digest, when = bytes.fromhex(digest_hex), float(seen_at)
                except ValueError:
                    continue  # a line a killed process left half written
                if when >= horizon:
                    self._seen[digest] = when
                    kept.append(f"{digest_hex} {seen_at}\n")
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(kept), encoding="ascii")  # the old ones left out
        return open(path, "a", encoding="ascii")  # noqa: SIM115 - open while the server runs

    @property
    def sources(self) -> list[str]:
        return [token.source for token in self._tokens]

    def source_of(self, authorization: str | None) -> str:
        """The source a bearer token belongs to; :class:`Refused` when there is none."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused("missing bearer token: send Authorization: Bearer <token>")
        given = token.strip().encode()
        found: str | None = None
        for candidate in self._tokens:  # compare with every token: no early exit
            if hmac.compare_digest(given, candidate.secret):
                found = candidate.source
        if found is None:
            raise Refused("invalid bearer token")
        return found

    def needs_signature(self, source: str) -> bool:
        return source in self._hmac_keys

    def verify_signature(
        self,
        source: str,
        timestamp: str | None,
        signature: str | None,
        body: bytes,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Refuse an unsigned, forged, stale or replayed request of a source that signs
        (``query`` and the request's ``headers``: :func:`signed_message`)."""
        key = self._hmac_keys.get(source)
        if key is None:
            return
        if not timestamp or not signature:
            raise Refused(
                f"source {source!r} signs its requests: send {TIMESTAMP_HEADER} and "
                f"{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of '<timestamp>.' + body>"
            )
        if not _UNIX_SECONDS.fullmatch(timestamp.strip()):
            # float() would also take nan (which no tolerance check refuses), inf and 1e3
            raise Refused(f"{TIMESTAMP_HEADER} must be unix seconds (digits, e.g. 1767225600)")
        sent_at = float(timestamp.strip())
        now = time.time()
        if abs(now - sent_at) > self.tolerance_s:
            raise Refused(
                f"signature timestamp is {abs(now - sent_at):.0f} s away from the server's "
                f"clock (tolerance {self.tolerance_s:.0f} s): sign again with the current time"
            )
        scheme, _, given_hex = signature.strip().partition("=")
        if scheme.lower() != "sha256" or not given_hex:
            raise Refused(f"{SIGNATURE_HEADER} must look like sha256=<hex>")
        message = signed_message(timestamp.strip(), body, query, headers or {})
        expected = hmac.new(key, message, hashlib.sha256)
        if not hmac.compare_digest(
            given_hex.strip().lower().encode(), expected.hexdigest().encode()
        ):
            body_only = message == timestamp.strip().encode() + b"." + body
            covered = "the body" if body_only else "the query string, the ce-* headers and the body"
            raise Refused(f"signature does not match {covered}")
        self._refuse_replay(expected.digest(), now)

    def _refuse_replay(self, digest: bytes, now: float) -> None:
        with self._seen_lock:
            horizon = now - 2 * self.tolerance_s
            while self._seen and next(iter(self._seen.values())) < horizon:
                self._seen.popitem(last=False)
            if digest in self._seen:
                raise Refused("replayed request: this signature was already used; sign again")
            self._seen[digest] = now
            if self._seen_file is not None:
                self._seen_file.write(f"{digest.hex()} {now:.3f}\n")
                self._seen_file.flush()

    def close(self) -> None:
        if self._seen_file is not None:
            self._seen_file.close()
            self._seen_file = None


def signed_message(
    timestamp: str, body: bytes, query: str = "", headers: Mapping[str, str] | None = None
) -> bytes:
    """What a signature covers: ``"<timestamp>." + body``; for a request with a query string
    or CloudEvents binary-mode ``ce-*`` headers, ``"<timestamp>." + query + "\n"``, each
    ``ce-*`` header as ``"name:value\n"`` (name lower case, sorted by name), ``"\n"``, then the
    body."""
    attributes = sorted(
        (name.lower(), value)
        for name, value in (headers or {}).items()
        if name.lower().startswith("ce-")
    )
    if not query and not attributes:
        return timestamp.encode() + b"." + body
    lines = "".join(f"{name}:{value}\n" for name, value in attributes)
    return f"{timestamp}.{query}\n{lines}\n".encode("utf-8", "surrogateescape") + body


def sign(
    key: str,
    body: bytes,
    timestamp: float | None = None,
    *,
    query: str = "",
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The two signature headers for ``body`` (and the ``query`` string and ``ce-*``
    ``headers`` a request sends with it; for clients and tests)."""
    stamp = str(int(timestamp if timestamp is not None else time.time()))
    message = signed_message(stamp, body, query, headers)
    digest = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"sha256={digest}"}
