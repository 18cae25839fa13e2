"""Secret and personal-data scrubbing, applied before anything is written.

One implementation for both intake paths: :class:`RecordScrubber` compiles one contract's rules
once, and both the file path (:meth:`RecordScrubber.scrub_frame`, a batch of text columns,
before the contract check) and the receiver (:meth:`RecordScrubber.scrub_record`, one decoded
record, before the spool write) go through its :meth:`RecordScrubber.scrub_field`.

* secrets in every text field and in every string inside an object field (a CloudEvent's
  ``data``) become typed placeholders such as ``[REDACTED:jwt]``; values of keys named like
  passwords or tokens become ``[REDACTED:secret]``;
* fields the contract classifies as personal data (``classification: pii`` or ``restricted``,
  also inside ``data`` through nested ``properties``) are redacted as the contract's
  ``redaction`` says: ``pseudonymise`` (a keyed HMAC ``<pii:KEYID:DIGEST>``, stable, so joins
  still work; the key stays outside DuckDB), ``mask_card`` (``[CARD ****1234]``), ``mask``
  (``[MASKED]``) or ``drop``;
* a safety net inside ``data`` for what no contract lists: keys named like ``*email*`` are
  pseudonymised, and card numbers that pass the Luhn check in free text keep their last four.

Every redaction is idempotent (a pseudonym, a mask or a placeholder comes out unchanged), so the
receiver's drainer may land already-scrubbed records through the file path.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import polars_hash  # noqa: F401  (registers the ``chash`` expression namespace)

from ingest.contracts import Contract, DataField, LogicalType, PersonalRedaction
from ingest.json_values import (
    NotStandardJson,
    Pairs,
    loads_standard,
    may_hold_whole_floats,
    value_as_text,
    whole_numbers_as_integers,
)

PII_KEY_ENV = "FLOWLEDGER_PII_KEY"
SECRET_PLACEHOLDER = "[REDACTED:secret]"


@dataclass(frozen=True)
class SecretRule:
    """One kind of secret: what it looks like and what replaces it."""

    name: str
    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str]


def _keep_or_redact_value(match: re.Match[str]) -> str:
    """``name=value`` / ``"name": "value"`` in text: the value redacted when the name is a
    secret's (:func:`is_secret_key_name`) and the value is not empty, null or a boolean."""
    if not is_secret_key_name(match["name"]):
        return match[0]
    value = match["value"]
    opening = _VALUE_QUOTE.match(value)
    quote = opening[0] if opening and len(value) > len(opening[0]) else ""
    if quote and not value.endswith(quote):
        quote = ""
    bare = value[len(quote) : len(value) - len(quote)] if quote else value
    if bare.lower() in {"", "null", "none", "true", "false", "{}", "[]"} or bare.startswith(
        "[REDACTED:"
    ):
        return match[0]
    return f"{match['name']}{match['close']}{match['sep']}{quote}{SECRET_PLACEHOLDER}{quote}"


def _redact_named_value(match: re.Match[str]) -> str:
    """``<password>x</password>``, ``key="Password" value="x"``: the text of group ``value``
    redacted when group ``name`` is a secret's (:func:`is_secret_key_name`) and the text is not
    blank or already redacted; the rest of the match stays."""
    value = match["value"].strip()
    if not is_secret_key_name(match["name"]) or not value or value.startswith("[REDACTED:"):
        return match[0]
    start, end = match.span("value")
    whole = match.string
    return whole[match.start() : start] + SECRET_PLACEHOLDER + whole[end : match.end()]


def _redact_basic_credentials(match: re.Match[str]) -> str:
    """``Basic <base64 of user:password>`` (HTTP Basic authentication): only when the text
    decodes to printable ``user:password``, so ``basic authentication`` stays."""
    token = match["value"]
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode()
    except (binascii.Error, ValueError):
        return match[0]
    if ":" not in decoded or not decoded.isprintable():
        return match[0]
    return f"{match['word']} [REDACTED:basic_auth]"


#: A cookie's value (RFC 6265 4.1.1): its octets, or the same inside double quotes (escaped when
#: the header is inside JSON text: ``\\"abc\\"``). A quote never starts an unquoted value, so a
#: JSON string's closing quote is not taken for one.
_COOKIE_VALUE = r'(?:\\*"[^;\s",\\]*\\*"|[^;\s"\'\\]*)'
_COOKIE_PAIR = re.compile(r"(?P<name>[^=;\s]+)=(?P<value>" + _COOKIE_VALUE + ")")
#: What follows a cookie in a Set-Cookie header (RFC 6265 and its drafts): no secret.
_COOKIE_ATTRIBUTES = frozenset(
    {"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "partitioned"}
    | {"priority", "version", "comment"}
)


def _redact_cookie_values(match: re.Match[str]) -> str:
    """``Cookie: a=1; b=2`` / ``Set-Cookie: a=1; Path=/``: each cookie's value becomes
    ``[REDACTED:cookie]`` (a session id is a credential, and any cookie may be one)."""

    def redact_pair(pair: re.Match[str]) -> str:
        value = pair["value"]
        if (
            not value.strip('\\"')
            or value.lstrip('\\"').startswith("[REDACTED:")
            or pair["name"].lower() in _COOKIE_ATTRIBUTES
        ):
            return pair[0]
        return f"{pair['name']}=[REDACTED:cookie]"

    return match["head"] + _COOKIE_PAIR.sub(redact_pair, match["pairs"])


#: A token's edges: no letter or digit beside it. Not ``\b``, which also needs a non-word
#: character there and so misses a token glued to a name by ``_`` (``SLACK_BOT_xoxb-…``,
#: ``OPENAI_sk-proj-…``, ``JWT_eyJ…``), as a config dump or an env listing writes it.
_TOKEN_START = r"(?<![A-Za-z0-9])"
_TOKEN_END = r"(?![A-Za-z0-9])"

#: API tokens that carry a vendor's prefix (the forms of gitleaks' rules), one alternative per
#: vendor, each named for its placeholder: ``[REDACTED:sendgrid_key]``.
_VENDOR_TOKEN = re.compile(
    "|".join(
        f"(?P<{name}>{pattern})"
        for name, pattern in (
            ("sendgrid_key", _TOKEN_START + r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}"),
            ("google_oauth_token", _TOKEN_START + r"ya29\.[0-9A-Za-z_-]{20,}"),
            ("twilio_key", _TOKEN_START + r"SK[0-9a-fA-F]{32}" + _TOKEN_END),
            ("npm_token", _TOKEN_START + r"npm_[A-Za-z0-9]{36}" + _TOKEN_END),
            ("shopify_token", _TOKEN_START + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _TOKEN_END),
            ("huggingface_token", _TOKEN_START + r"hf_[A-Za-z]{34}" + _TOKEN_END),
            ("pypi_token", _TOKEN_START + r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
            ("postman_key", _TOKEN_START + r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}" + _TOKEN_END),
            # also inside a Bot API URL: https://api.telegram.org/bot<token>/sendMessage
            (
                "telegram_bot_token",
                "(?:" + _TOKEN_START + r"|(?<=/bot))\d{5,16}:A[A-Za-z0-9_-]{34}" + _TOKEN_END,
            ),
            ("mailgun_key", _TOKEN_START + r"key-[0-9a-f]{32}" + _TOKEN_END),
            ("notion_token", _TOKEN_START + r"(?:secret|ntn)_[A-Za-z0-9]{43}" + _TOKEN_END),
            ("age_secret_key", _TOKEN_START + r"AGE-SECRET-KEY-1[0-9A-Z]{58}" + _TOKEN_END),
            ("digitalocean_token", _TOKEN_START + r"do[opr]_v1_[a-f0-9]{64}" + _TOKEN_END),
            ("linear_key", _TOKEN_START + r"lin_api_[A-Za-z0-9]{40}" + _TOKEN_END),
            ("doppler_token", _TOKEN_START + r"dp\.(?:st|ct|sa|scim|audit)\.[A-Za-z0-9._-]{40,}"),
            ("databricks_token", _TOKEN_START + r"dapi[a-f0-9]{32}(?:-\d)?" + _TOKEN_END),
            ("vault_token", _TOKEN_START + r"hv[sbr]\.[A-Za-z0-9_-]{24,}"),
            ("sentry_token", _TOKEN_START + r"sntry[su]_[A-Za-z0-9+/=_]{40,}"),
            ("mapbox_token", _TOKEN_START + r"sk\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
            ("groq_key", _TOKEN_START + r"gsk_[A-Za-z0-9]{48,}"),
            ("new_relic_key", _TOKEN_START + r"NRAK-[A-Z0-9]{27}" + _TOKEN_END),
            ("brevo_key", _TOKEN_START + r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}" + _TOKEN_END),
            ("mailchimp_key", _TOKEN_START + r"[0-9a-f]{32}-us\d{1,2}" + _TOKEN_END),
            ("tailscale_key", _TOKEN_START + r"tskey-[a-z]+-[A-Za-z0-9]{6,}-[A-Za-z0-9]{6,}"),
            ("atlassian_token", _TOKEN_START + r"ATATT3[A-Za-z0-9_=-]{100,}"),
            ("square_token", _TOKEN_START + r"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,}"),
            ("firebase_key", _TOKEN_START + r"AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,}"),
            ("supabase_token", _TOKEN_START + r"sbp_[a-f0-9]{40}" + _TOKEN_END),
            ("planetscale_token", _TOKEN_START + r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9=._-]{32,}"),
            (
                "grafana_token",
                _TOKEN_START
                + r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"
                + _TOKEN_END
                + "|"
                + _TOKEN_START
                + r"glc_[A-Za-z0-9+/]{32,}={0,2}",
            ),
            ("perplexity_key", _TOKEN_START + r"pplx-[A-Za-z0-9]{48}" + _TOKEN_END),
            ("xai_key", _TOKEN_START + r"xai-[A-Za-z0-9]{80}" + _TOKEN_END),
            ("replicate_token", _TOKEN_START + r"r8_[A-Za-z0-9]{37}" + _TOKEN_END),
            ("heroku_key", _TOKEN_START + r"HRKU-[A-Za-z0-9_-]{60}" + _TOKEN_END),
            ("docker_token", _TOKEN_START + r"dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,}"),
            ("dropbox_token", _TOKEN_START + r"sl\.[A-Za-z0-9_.-]{130,}"),
            (
                "azure_client_secret",
                r"(?<![\w~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![\w~.-])",
            ),
        )
    )
)


def _redact_vendor_token(match: re.Match[str]) -> str:
    return f"[REDACTED:{match.lastgroup}]"


_VALUE_QUOTE = re.compile(r"""\\*["']""")
#: Where a key name may contain a secret word (the candidates :func:`is_secret_key_name` decides
#: on); the stems also make up the prefilter below.
_KEY_NAME_STEMS = r"pass|pwd|secret|token|credential|key|sig|sess|connect\.sid|cv[vcn]"
#: What makes ``<prefix>key`` a secret's key name (``api_key``, ``privKey``, ``APP_KEY``); also
#: alternatives of the prefilter below. Each starts with a literal character.
_SECRET_KEY_PREFIXES = (
    "api", "priv(?:ate)?", "access", "signing", "enc(?:ryption)?", "sentry", "master", "client",
    "auth", "app", "hmac", "licen[cs]e",
)  # fmt: skip
#: The same for services' key names, where ``<prefix>key`` must end the name or a word of it
#: (``subscription_keyword`` is none): Azure API Management's Ocp-Apim-Subscription-Key, Azure
#: Functions' x-functions-key, a storage account's key (AZURE_STORAGE_KEY), Azure's shared key, Algolia's admin key,
#: Supabase's service role key. A bare ``storage_key`` or ``service_key`` is no secret's name: it
#: is as often an object's path or a record's id, which scrubbing would lose.
_SERVICE_KEY_PREFIXES = (
    "subscription", "functions?", "storage[_.-]?account", "azure[_.-]?storage", "shared", "admin",
    "service[_.-]?role",
)  # fmt: skip

#: Where a header's name starts: at a word boundary, or right after an escaped line end or tab
#: (a header dumped into JSON text: ``…\\nAuthorization: …``, where the ``n`` leaves no boundary).
_HEADER_START = r"(?:\b|(?<=\\[nrt]))"

#: Applied in this order; the character classes never cross a JSON string's closing quote.
SECRET_RULES: tuple[SecretRule, ...] = (
    SecretRule(
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[^\"]*?"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        ),
        "[REDACTED:private_key]",
    ),
    SecretRule(
        "private_key_unterminated",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s\\]*"),
        "[REDACTED:private_key]",
    ),
    SecretRule(
        # PuTTY's own key file (.ppk, versions 2 and 3): its private lines end at Private-MAC
        "putty_private_key",
        re.compile(r"PuTTY-User-Key-File-\d+:[^\"]*?Private-MAC:\s*[0-9A-Fa-f]+"),
        "[REDACTED:private_key]",
    ),
    SecretRule(
        "putty_private_key_unterminated",
        re.compile(r"PuTTY-User-Key-File-\d+:[^\"]*"),
        "[REDACTED:private_key]",
    ),
    SecretRule(
        "jwt",
        re.compile(_TOKEN_START + r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        "[REDACTED:jwt]",
    ),
    SecretRule(
        # (after a `_` too: `AWS_KEY_AKIA…`, which a word boundary misses)
        "aws_access_key",
        re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"),
        "[REDACTED:aws_key]",
    ),
    SecretRule(
        "github_token",
        re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
        "[REDACTED:github_token]",
    ),
    SecretRule(
        # personal, OAuth, deploy, runner, CI job, pipeline trigger, feed, incoming mail,
        # SCIM, agent, feature flag and workspace tokens; runner registration tokens
        "gitlab_token",
        re.compile(
            r"(?<![A-Za-z0-9])(?:gl(?:pat|oas|dt|rt|rtr|cbt|ptt|ft|imt|agent|soat|ffct|wt)-[A-Za-z0-9_-]{20,}"
            r"|GR1348941[A-Za-z0-9_-]{20,})"
        ),
        "[REDACTED:gitlab_token]",
    ),
    SecretRule(
        "google_api_key",
        re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{30,}"),
        "[REDACTED:google_api_key]",
    ),
    SecretRule(
        # Anthropic: sk-ant-api03-…, sk-ant-admin01-…, OAuth sk-ant-oat01-… / sk-ant-ort01-…
        "anthropic_key",
        re.compile(_TOKEN_START + r"sk-ant-[a-z]+\d*-[A-Za-z0-9_-]{20,}"),
        "[REDACTED:anthropic_key]",
    ),
    SecretRule(
        "openai_key",
        re.compile(
            _TOKEN_START + r"sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,})"
        ),
        "[REDACTED:openai_key]",
    ),
    SecretRule(
        # bot, user, app, legacy and refresh tokens; xoxe-/xoxo- only with the digits that
        # follow in Slack's forms, so a name like "xoxo-indieweb" stays
        "slack_token",
        re.compile(
            _TOKEN_START + r"(?:xox[abprs]-[A-Za-z0-9-]{8,}|xox[eo]-\d+-[A-Za-z0-9-]{8,}"
            r"|xapp-\d-[A-Za-z0-9-]{8,})"
        ),
        "[REDACTED:slack_token]",
    ),
    SecretRule(
        # incoming webhooks: the URL path is the credential (anyone holding it can post)
        "webhook_url",
        re.compile(
            r"(?i:\b(?P<host>hooks\.slack\.com/(?:services|workflows|triggers)"
            r"|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks"
            r"|hooks\.zapier\.com/hooks/catch|hook\.[a-z0-9]+\.make\.com"
            r"|[a-z0-9-]+\.webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook))"
            r"/[A-Za-z0-9_/+@-]{8,}"
        ),
        r"\g<host>/[REDACTED:webhook]",
    ),
    SecretRule(
        # secret and restricted keys, and webhook signing secrets
        "stripe_key",
        re.compile(
            r"(?<![A-Za-z0-9])(?:[rs]k_(?:live|test)_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9+/=]{24,})"
        ),
        "[REDACTED:stripe_key]",
    ),
    SecretRule("vendor_token", _VENDOR_TOKEN, _redact_vendor_token),
    SecretRule(
        # Azure storage connection strings (AccountKey=…; base64)
        "azure_account_key",
        re.compile(r"(?P<name>\b(?i:AccountKey)=)[A-Za-z0-9+/]{20,}={0,2}"),
        r"\g<name>[REDACTED:secret]",
    ),
    SecretRule(
        "bearer_token",
        re.compile(_HEADER_START + r"(?P<word>(?i:bearer)):?\s+[A-Za-z0-9._~+/=-]{8,}"),
        r"\g<word> [REDACTED:bearer_token]",
    ),
    SecretRule(
        "basic_auth",
        re.compile(
            _HEADER_START + r"(?P<word>(?i:basic))\s+(?P<value>[A-Za-z0-9+/]{4,}={0,2})(?![\w+/=])"
        ),
        _redact_basic_credentials,
    ),
    SecretRule(
        # user:password@ (the password may hold an @: up to the last one before the path), or
        # a token alone as the user, as in a Sentry DSN (https://<public key>@o1.ingest.sentry.io/2)
        "url_credentials",
        # the slashes also escaped, as JSON text may write them (PHP's json_encode, JSON inside a
        # JSON string: `mysql:\/\/root:pw@db\/x`); a password may hold `/`, `?` or `#`
        # unencoded when an `@` follows before the next `/` (`https://svc:pa#ss@host`), and
        # quotes: escaped inside JSON text, or one that no `,` or `:` follows (which would end a
        # JSON string: the rule never crosses into the next member); a port and a path
        # (`host:8080/x@y`) are none. A password written with blanks (`admin:my pass@db`; a
        # URL would encode them, `%20`, which the first form takes) is one when each blank has
        # a word on both sides, at most four of them, and a host follows the `@`.
        re.compile(
            r"(?P<slashes>:(?:\\*/){2})(?:[^/?#\s:@\"]*:(?!\d+\\*[/?#])"
            r"(?:(?>[^\s\"\\/?#]|\\[^/]|\"(?![,:])|\\*[/?#](?=[^\s@/]*@)))*"
            r"|[^/?#\s:@\"\\]+:(?!\d+(?!\w))[^\s\"\\/?#@]+(?: [^\s\"\\/?#@]+){1,4}(?=@[\w\[])"
            r"|(?=[\w-]*\d)[\w-]{16,})@"
        ),
        r"\g<slashes>[REDACTED:url_credentials]@",
    ),
    SecretRule(
        # a client's user:password flag (`curl -u admin:pw`, `--user=admin:pw`): the password
        "user_password_flag",
        re.compile(
            r"(?<![\w-])(?P<flag>-u|--user|--proxy-user)(?P<sep>[ \t]+|=)(?P<quote>['\"]?)"
            r"(?P<user>[^\s:'\"@]+):(?![\s'\"])(?:[^\s'\"]|\\['\"])+"
        ),
        r"\g<flag>\g<sep>\g<quote>\g<user>:[REDACTED:secret]",
    ),
    SecretRule(
        # MySQL's and MariaDB's clients take the password run together: `mysql -uroot -ppw`
        "mysql_password_flag",
        re.compile(
            r"(?P<head>\b(?:mysql(?:dump|admin|import|check|show|slap)?|mariadb(?:-dump)?)\b"
            r"[^\n|;&]*?\s-p)(?P<value>'[^']*'|\"[^\"]*\"|[^\s'\"-][^\s'\"]*)"
        ),
        r"\g<head>[REDACTED:secret]",
    ),
    SecretRule(
        "sshpass_password",
        re.compile(r"(?P<head>\bsshpass\s+-p\s*)(?P<value>'[^']*'|\"[^\"]*\"|\S+)"),
        r"\g<head>[REDACTED:secret]",
    ),
    SecretRule(
        # HTTP Digest authentication's response hash (replayable within its nonce)
        "digest_response",
        re.compile(r"(?P<name>\b(?i:response)\s*=\s*\\*\"?)[0-9a-fA-F]{32,128}\b"),
        r"\g<name>[REDACTED:authorization]",
    ),
    SecretRule(
        # any scheme (Token, Bot, SSWS, AWS4-HMAC-SHA256…) or none: the credential after the
        # header name, when it holds a digit (Bearer and Basic are redacted above)
        "authorization_header",
        re.compile(
            _HEADER_START + r"(?P<name>(?i:(?:proxy-)?authorization)\\*[\"']?\s*[:=]\s*\\*[\"']?)"
            r"(?P<scheme>[A-Za-z][\w.-]*\s+)?(?=[A-Za-z_.~+/=:-]*\d)[\w.~+/=:-]{8,}"
        ),
        r"\g<name>\g<scheme>[REDACTED:authorization]",
    ),
    SecretRule(
        # Cookie and Set-Cookie headers: every cookie's value (Set-Cookie's attributes stay)
        "cookie_header",
        re.compile(
            _HEADER_START + r"(?P<head>(?i:set-cookie|cookie)\\*[\"']?\s*:\s*\\*[\"']?)"
            r"(?P<pairs>[^=;\s\"'\\]+="
            + _COOKIE_VALUE
            + r"(?:;\s*[^=;\s\"'\\]+(?:="
            + _COOKIE_VALUE
            + r")?)*)"
        ),
        _redact_cookie_values,
    ),
    SecretRule(
        "key_value",
        re.compile(
            r"(?<![\w.-])(?P<name>[\w.-]*?(?i:" + _KEY_NAME_STEMS + r")[\w.-]*)"
            r"(?P<close>\\*[\"']?\]?)"  # `"name"`, `cfg["name"]`, `cfg[name]`
            # `:` `=`, Ruby's and PHP's `=>`, a URL-encoded `=`; or blanks before a quoted value
            # (`with password 'x'`)
            r"(?P<sep>\s*(?:=>|[:=]|%3[dD])\s*|\s+(?=\\*[\"']))"
            # (an object or a list without nested brackets under a secret's name, `"token":
            # {"value": "…"}`, is a value whole; an unquoted value never starts with a bracket)
            r"(?P<value>\\+\"[^\"]*?\\+\"|\"[^\"]*\"|'[^']*'|\{[^{}]*\}|\[[^\[\]]*\]"
            r"|(?![{\[])(?:[^\s,;&\"'}\]\\]|\\(?![\"']))+)"
        ),
        _keep_or_redact_value,
    ),
    SecretRule(
        # a secret's name, blanks and a value with letters and digits, no `:` or `=` between
        # (`client-secret X7f…`, `api_key abc123…`, as a message or a log line writes them)
        "spaced_key_value",
        re.compile(
            r"(?<![\w.-])(?P<name>[\w.-]*(?i:secret|token|passw(?:or)?d|pwd|api[_.-]?key)[\w.-]*)"
            r"(?P<close>)(?P<sep>[ \t]+)"
            r"(?P<value>(?=[^\s]*\d)(?=[^\s]*[A-Za-z])[A-Za-z0-9_+/=.~-]{8,})(?![\w.~/+=-])"
        ),
        _keep_or_redact_value,
    ),
    SecretRule(
        # a command line's flag and its value: `--password hunter2`, `--api-key "k"`
        "command_line_flag",
        re.compile(
            r"(?<![\w.-])(?P<name>--[\w.-]*?(?i:" + _KEY_NAME_STEMS + r")[\w.-]*)(?P<close>)"
            r"(?P<sep>[ \t]+)"
            r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"'\\-][^\s,;&\"'}\]\\]*)"
        ),
        _keep_or_redact_value,
    ),
    SecretRule(
        # an XML element named for a secret (SOAP and XML-RPC APIs): `<password>x</password>`,
        # `<ns:ApiKey>x</ns:ApiKey>`; its attributes stay
        "xml_element",
        re.compile(
            r"<(?P<tag>(?:[\w.-]+:)?(?P<name>[\w.-]*?(?i:" + _KEY_NAME_STEMS + r")[\w.-]*))"
            r"(?P<attributes>\s[^<>]*)?>(?P<value>[^<]*)</(?P=tag)\s*>"
        ),
        _redact_named_value,
    ),
    SecretRule(
        # a setting as a name and a value attribute (.NET app.config, Java properties in XML):
        # `<add key="Password" value="x"/>`, `<property name="api.key" value="x"/>`
        "named_value_attributes",
        re.compile(
            r"\b(?P<head>(?i:key|name)\s*=\s*(?P<quote>\\*[\"'])(?P<name>[^\"'\\<>]*)(?P=quote)"
            r"\s+(?i:value)\s*=\s*(?P<open>\\*[\"']))(?P<value>[^\"'\\]*)(?P=open)"
        ),
        _redact_named_value,
    ),
)

#: A key name is a secret's when (lower-cased) it contains ``passw``; or a word of it (split at
#: ``_ . -``, blanks, digits and camelCase) is password, pwd, secret, credential, passphrase,
#: passcode, apikey…, or a card's security code (cvv, cvc); or it has api, private (priv),
#: access, signing, encryption (enc), sentry, master, client, auth, app, hmac or license + key;
#: or its last word is pass, token, authorization or cookie; or it ends in secret, token or
#: token value, or names a session id or key (``sessionid``, ``session_key``, ``JSESSIONID``,
#: ``PHPSESSID``, ``connect.sid``); or, written run together, it holds secret (not secretary)
#: or ends in a system's name and pass (``dbpass``). So
#: ``aws_secret_access_key``, ``password1``, ``accessKey``, ``db_pass``, ``x-api-key``,
#: ``Set-Cookie``, ``apisecretkey``, ``dbpass`` are, and ``token_count``, ``tokens_used``,
#: ``pass_rate``, ``passport``, ``bypass``, ``secretary``, ``idempotency_key``, ``session``,
#: ``cookie_consent`` are not (a count of tokens is no secret).
_SECRET_WORDS = frozenset(
    {"password", "passwords", "passwd", "pwd", "secret", "secrets", "credential", "credentials"}
    | {"passphrase", "passcode", "apikey", "apikeys", "privatekey", "accesskey", "secretkey"}
    # a card's security code (PCI DSS: never stored after authorisation)
    | {"cvv", "cvc", "cvn"}
)
_SECRET_LAST_WORDS = frozenset(
    {"pass", "token", "sig", "signature", "authorization", "cookie", "cookies"}
)
#: Last words that make a key name a secret's as a header's name (see :func:`_names_a_header`).
_HEADER_NAME_WORDS = frozenset({"authorization", "cookie", "cookies"})
_SECRET_KEY_PAIR = re.compile(
    r"(?:" + "|".join(_SECRET_KEY_PREFIXES) + r")[_.-]?key"
    r"|(?:" + "|".join(_SERVICE_KEY_PREFIXES) + r")[_.-]?key(?![a-z])"
)
_SECRET_NAME_END = re.compile(
    r"(?:secret|token|token[_.-]?(?:value|string)|sess(?:ion)?[_.-]?(?:id|key)|connect\.sid)$"
)
#: Secret words inside a name written run together in lower case (``apisecretkey``,
#: ``webhooksecretkey``, ``dbpass``; a CloudEvents extension attribute's name is always so):
#: ``secret`` anywhere but in secretary, secretariat, secretion; ``pass`` at the end after a
#: system's name.
_SECRET_NAME_PART = re.compile(
    r"secret(?!ar|ion)"
    r"|(?:db|user|smtp|sql|pg|redis|ftp|ldap|admin|root|mail|proxy|ssh|api|app|login|auth|bind"
    r"|master|mongo|rabbit|amqp|vault|keystore|truststore)pass$"
)
_NAME_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_EMAIL_KEY_NAME = re.compile(r"e[-_]?mail", re.IGNORECASE)
_EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
_CARD_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PSEUDONYM = re.compile(r"<pii:[0-9a-f]{6}:[0-9a-f]{16}>")
_CARD_MASK = re.compile(r"\[CARD \*{4}\d{0,4}\]")
MASKED = "[MASKED]"

#: Rust-regex prefilters (supersets of what the rules above change), for polars columns. Each
#: alternative starts with a literal character: Python's ``re`` then skips, in C, every position
#: no alternative can start at (``_SECRET_HINT``: three times as fast as with one alternative that
#: starts with a class or a group).
TEXT_PREFILTER = (
    r"(?i)(private key|putty-user-key-file|eyj|akia|asia|gh[pousr]_|github_pat_|aiza"
    r"|gl(?:pat|oas|dt|rt|rtr|cbt|ptt|ft|imt|agent|soat|ffct|wt)-|gr1348941|ya29\."
    r"|-u\s|--user|--proxy-user|mysql|mariadb|sshpass|response\s*="
    r"|sk-|xox[abeoprs]-|xapp-|hooks\.slack\.com/|discord(?:app)?\.com/api/"
    r"|k_live_|k_test_|bearer|basic\s|:\\*/\\*/(?:[^\s@]*@|[^\s@/]+:[^\s@/]+ [^@/]*@)"
    r"|sg\.|sk[0-9a-f]{32}|npm_|shp(?:at|ca|pa|ss)_|hf_|pypi-|pmak-"
    r"|:a[a-z0-9_-]{34}(?:[^a-z0-9]|$)"
    r"|key-[0-9a-f]{32}|ntn_|age-secret-key-|do[opr]_v1_|lin_api_|dp\.(?:st|ct|sa|scim|audit)\."
    r"|dapi[0-9a-f]{32}|accountkey=|hooks\.zapier\.com/|\.make\.com/|webhook\.office\.com/"
    r"|outlook\.office(?:365)?\.com/webhook|sig(?:nature)?[-_\d]*[\"'\\]*\s*[:=]"
    r"|passw|pass(?:[^a-z]|$)|passphrase|passcode|pwd|secret|token|credential"
    + "".join(f"|{prefix}[_.-]?key" for prefix in (*_SECRET_KEY_PREFIXES, *_SERVICE_KEY_PREFIXES))
    + r"|cv[vcn]|sess(?:ion)?[_.-]?(?:id|key)|connect\.sid|cookie|authorization"
    r"|whsec_|hv[sbr]\.|sntry[su]_|gsk_|nrak-|xkeysib-|-us\d|tskey-|atatt3"
    r"|sq0(?:atp|csp)-|:apa91b|sbp_|pscale_|glsa_|glc_|pplx-|xai-|r8_|hrku-|dckr_|q~"
    r"|sl\.[a-z0-9_.-]{130})"
)
#: what may be an IBAN: a country code, two check digits and 11-30 letters or digits (spaces
#: between them allowed, as IBANs are printed), upper case (``(?-i:…)`` inside a case-blind
#: prefilter)
_IBAN_SHAPE = r"\b(?-i:[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b"
#: card numbers and IBANs: account numbers free text may hold
_CARD_PREFILTER = r"|(?:\d[ -]?){12}\d|" + _IBAN_SHAPE
EVENT_DATA_PREFILTER = TEXT_PREFILTER + r"|(?i:e[-_]?mail)" + _CARD_PREFILTER
#: The same prefilters for Python's ``re`` (one or two searches instead of every rule on each
#: string); the first over the lower-cased text, four times faster than ``(?i)``.
_SECRET_HINT = re.compile(TEXT_PREFILTER.removeprefix("(?i)"))
_CARD_HINT = re.compile(_CARD_PREFILTER.removeprefix("|"))
#: The secret prefilter as a pattern over lower-cased text (DuckDB's RE2 reads it alike).
SECRET_HINT_PATTERN = _SECRET_HINT.pattern


def may_hold_a_secret(text: str) -> bool:
    """Whether the secret prefilter flags ``text`` (a superset of what the rules redact)."""
    return _SECRET_HINT.search(text.lower()) is not None


Key = Callable[[], bytes]


def scrub_secrets(text: str) -> str:
    """Replace every secret the rules recognise by its typed placeholder. A secret hidden from
    the rules by JSON escapes (`passw\\u006frd=…` on a line that is not JSON, kept as text) or
    zero-width characters (`pass\u200bword=…`) is found in the text read without them, and that
    text, scrubbed, is what is kept."""
    scrubbed = _scrub_rules(text)
    if _HIDDEN.search(scrubbed) is None:
        return scrubbed
    plain = _HIDDEN.sub(_unhidden, scrubbed)
    plain_scrubbed = _scrub_rules(plain)
    return plain_scrubbed if plain_scrubbed != plain else scrubbed


def _scrub_rules(text: str) -> str:
    for rule in SECRET_RULES:
        text = rule.pattern.sub(rule.replacement, text)
    return text


#: what hides a secret's letters from the rules: a JSON `\\uXXXX` escape of a letter, digit or
#: separator, and the characters that show as nothing (zero-width space, joiners, soft hyphen, BOM)
_HIDDEN = re.compile(r"\\u00(?:[2-7][0-9a-fA-F])|[\u00ad\u200b-\u200d\u2060\ufeff]")


def _unhidden(match: re.Match[str]) -> str:
    found = match[0]
    return chr(int(found[2:], 16)) if found.startswith("\\u") else ""


def scrub_secrets_in(value: Any) -> Any:
    """Secrets in a JSON document no contract describes (an OpenLineage event: its facets, its
    job's SQL, a dataset namespace's URL): every text through :func:`scrub_secrets`, a value
    under a secret's name (``token``, ``password``) replaced whole. Personal data and account
    numbers are left as they are: the document's names and identifiers must stay as sent."""
    if isinstance(value, str):
        return scrub_secrets(value) if may_hold_a_secret(value) else value
    if isinstance(value, list):
        return [scrub_secrets_in(item) for item in value]
    if isinstance(value, dict):
        return {
            scrub_secrets_in(name): (
                SECRET_PLACEHOLDER
                if is_secret_key_name(name)
                and isinstance(item, str | int | float)
                and not isinstance(item, bool)
                else scrub_secrets_in(item)
            )
            for name, item in value.items()
        }
    return value


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


#: Card networks' issuer prefixes (IIN ranges) and the lengths of their numbers, as PCI DSS
#: data-discovery tools check them: (first digits, low, high) -> lengths. Visa, Mastercard
#: (51-55, 2221-2720), Mir (2200-2204), American Express (34, 37), Diners Club (300-305, 36, 38,
#: 39, 3095), JCB (3528-3589), Discover (6011, 644-649, 65), UnionPay (62, 81), Maestro (50,
#: 56-69), RuPay (60, 65, 81, 82, 508), UATP (1, 15 digits).
_CARD_NETWORKS: tuple[tuple[int, int, int, frozenset[int]], ...] = tuple(
    (width, low, high, frozenset(lengths))
    for width, low, high, lengths in (
        (1, 4, 4, (13, 16, 19)),
        (2, 51, 55, (16,)),
        (4, 2221, 2720, (16,)),
        (4, 2200, 2204, (16, 17, 18, 19)),
        (2, 34, 34, (15,)),
        (2, 37, 37, (15,)),
        (3, 300, 305, range(14, 20)),
        (4, 3095, 3095, range(14, 20)),
        (2, 36, 36, range(14, 20)),
        (2, 38, 39, range(14, 20)),
        (4, 3528, 3589, range(16, 20)),
        (2, 50, 50, range(13, 20)),
        (2, 56, 69, range(13, 20)),
        (2, 81, 82, (16,)),
        (1, 1, 1, (15,)),
    )
)


def _card_issuer_length(digits: str) -> bool:
    """Whether a digit string starts with a card network's prefix and has one of its lengths."""
    return any(
        len(digits) in lengths and low <= int(digits[:width]) <= high
        for width, low, high, lengths in _CARD_NETWORKS
    )


def _card_grouping(written: str) -> bool:
    """A number written in groups is grouped as cards are printed: 4-4-4-4(-3), 4-6-5 (Amex),
    4-6-4 (Diners), 4-4-4-1..4 (13-19 digits): groups of four, or a first group of four then
    one of six. An order key ``800-4500012317-00010`` is not."""
    groups = re.split(r"[ -]", written)
    if len(groups) == 1:
        return True
    if len(groups[0]) != 4 or any(not group for group in groups):
        return False
    if len(groups) == 3 and len(groups[1]) == 6:
        return len(groups[2]) in (4, 5)
    return all(len(group) == 4 for group in groups[1:-1]) and 1 <= len(groups[-1]) <= 4


def is_card_number(written: str) -> bool:
    """A run of 13–19 digits (one space or dash allowed between) that a card network could have
    issued: its prefix and length, its grouping, and the Luhn check (what PCI DSS scanners
    check). A bare identifier of as many digits passes Luhn one time in ten; the prefix, length
    and grouping leave most of them alone (an SAP key, a 16-digit case id starting with 1)."""
    digits = re.sub(r"[ -]", "", written)
    return (
        13 <= len(digits) <= 19
        and _card_issuer_length(digits)
        and _card_grouping(written)
        and luhn_valid(digits)
    )


def mask_card_numbers(text: str) -> str:
    """Card numbers in free text (:func:`is_card_number`) → their last four digits only."""

    def mask(match: re.Match[str]) -> str:
        if is_card_number(match[0]):
            digits = re.sub(r"[ -]", "", match[0])
            return f"[CARD ****{digits[-4:]}]"
        return match[0]

    return _CARD_CANDIDATE.sub(mask, text)


#: IBAN lengths by country (ISO 13616 registry): a candidate of another length is no IBAN
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_CANDIDATE = re.compile(_IBAN_SHAPE)


def is_iban(written: str) -> bool:
    """An IBAN as ISO 13616 defines it: a registered country code, that country's length, and
    the mod-97 check (the four first characters moved to the end, letters as 10-35, the number
    leaves 1 when divided by 97)."""
    compact = written.replace(" ", "")
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def mask_ibans(text: str) -> str:
    """IBANs in free text → country code, check digits and last four characters only
    (``[IBAN DE89 ****3000]``), as the reference's partial mask asks."""

    def mask(match: re.Match[str]) -> str:
        if is_iban(match[0]):
            compact = match[0].replace(" ", "")
            return f"[IBAN {compact[:4]} ****{compact[-4:]}]"
        return match[0]

    return _IBAN_CANDIDATE.sub(mask, text)


def mask_account_numbers(text: str) -> str:
    """Card numbers and IBANs in free text, masked (:func:`mask_card_numbers`,
    :func:`mask_ibans`)."""
    return mask_ibans(mask_card_numbers(text))


@functools.lru_cache(maxsize=16)
def pii_key_id(key: bytes) -> str:
    """Six hex digits naming a pseudonymisation key (HMAC of a fixed label), never the key."""
    return hmac.new(key, b"flowledger pii key id", hashlib.sha256).hexdigest()[:6]


def pseudonymise(value: str, key: bytes) -> str:
    """``<pii:KEYID:DIGEST>``: the first 16 hex digits of HMAC-SHA256(key, normalised value).

    The value is trimmed; an email address is also lower-cased (``Bob@X.com`` and ``bob@x.com``
    are one person); other values keep their case, so distinct ids stay distinct. The key id
    says which key made the pseudonym (after a key rotation, old and new pseudonyms of one
    value differ and the key id tells them apart). A pseudonym is returned unchanged.
    """
    if _PSEUDONYM.fullmatch(value):
        return value
    normalised = value.strip()
    if _EMAIL_ADDRESS.fullmatch(normalised):
        normalised = normalised.lower()
    digest = hmac.digest(key, normalised.encode(), "sha256").hex()[:16]
    return f"<pii:{pii_key_id(key)}:{digest}>"


def mask_card(value: str) -> str:
    """A field classified as a card number: ``[CARD ****1234]`` (its last four digits), whatever
    the value looks like (no Luhn check: the contract says it is a card)."""
    if _CARD_MASK.fullmatch(value):
        return value
    digits = "".join(char for char in value if char.isdigit())
    return f"[CARD ****{digits[-4:]}]"


def redact(value: Any, mode: PersonalRedaction, key: Key) -> Any:
    """One classified value redacted as its contract says (``None`` for ``drop``).

    Absent or blank values stay as they are (nothing to hide, and a required field's emptiness
    must still be seen by the contract check); lists are redacted item by item, objects leaf by
    leaf; numbers and booleans are redacted in their text form (:func:`value_as_text`).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return value
    if mode is PersonalRedaction.DROP:
        return None
    if isinstance(value, list):
        return [redact(item, mode, key) for item in value]
    if isinstance(value, dict):
        return {name: redact(item, mode, key) for name, item in value.items()}
    if isinstance(value, Pairs):
        return Pairs([(name, redact(item, mode, key)) for name, item in value.items()])
    text = value if isinstance(value, str) else value_as_text(value)
    match mode:
        case PersonalRedaction.PSEUDONYMISE:
            return pseudonymise(text, key())
        case PersonalRedaction.MASK_CARD:
            return mask_card(text)
        case PersonalRedaction.MASK:
            return MASKED
    raise AssertionError(mode)


#: Printable ASCII without surrounding blanks: where the polars expressions below give exactly
#: what :func:`redact` gives value by value (Python's ``strip``, ``lower``, ``isdigit`` and
#: ``\\s`` differ from Rust's only outside it). Other values go through :func:`redact`.
_PLAIN_ASCII = r"^[!-~](?:[ -~]*[!-~])?$"
_EMAIL_ADDRESS_TEXT = r"^[^@\s]+@[^@\s]+$"
_PSEUDONYM_TEXT = "^" + _PSEUDONYM.pattern + "$"
_HMAC_BLOCK_BYTES = 64


def hmac_sha256_hex(text: pl.Expr, key: bytes) -> pl.Expr:
    """HMAC-SHA256 (RFC 2104) of each UTF-8 text, lower-case hex, as a polars expression: the
    same digest as :func:`hmac.digest`, computed in Rust over the whole column. The key stays in
    this process (it never reaches DuckDB)."""
    if len(key) > _HMAC_BLOCK_BYTES:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(_HMAC_BLOCK_BYTES, b"\0")
    inner_pad = pl.lit(bytes(b ^ 0x36 for b in padded), pl.Binary)
    outer_pad = pl.lit(bytes(b ^ 0x5C for b in padded), pl.Binary)
    inner = (inner_pad + text.cast(pl.Binary)).chash.sha2_256().str.decode("hex")
    return (outer_pad + inner).chash.sha2_256()


def _redacted_text(text: pl.Expr, mode: PersonalRedaction, key: Key) -> pl.Expr:
    """:func:`redact` of present plain-ASCII texts (see ``_PLAIN_ASCII``) as an expression."""
    match mode:
        case PersonalRedaction.PSEUDONYMISE:
            secret = key()
            normalised = (
                pl.when(text.str.contains(_EMAIL_ADDRESS_TEXT))
                .then(text.str.to_lowercase())
                .otherwise(text)
            )
            pseudonym = pl.concat_str(
                pl.lit(f"<pii:{pii_key_id(secret)}:"),
                hmac_sha256_hex(normalised, secret).str.slice(0, 16),
                pl.lit(">"),
            )
            return pl.when(text.str.contains(_PSEUDONYM_TEXT)).then(text).otherwise(pseudonym)
        case PersonalRedaction.MASK_CARD:
            digits = text.str.replace_all(r"[^0-9]", "")
            return pl.concat_str(pl.lit("[CARD ****"), digits.str.slice(-4), pl.lit("]"))
        case PersonalRedaction.MASK:
            return pl.lit(MASKED, pl.String)
        case PersonalRedaction.DROP:
            return pl.lit(None, pl.String)
    raise AssertionError(mode)


def redact_column(values: pl.Series, mode: PersonalRedaction, key: Key) -> pl.Series:
    """:func:`redact` of every value of a text column: vectorised for plain-ASCII values (all of
    them, in practice), :func:`redact` in Python for the others; the same values either way."""
    plain = values.str.contains(_PLAIN_ASCII).fill_null(False)
    column = pl.col(values.name)
    redacted = values.to_frame().select(
        pl.when(pl.lit(plain))
        .then(_redacted_text(column, mode, key))
        .otherwise(column)
        .alias(values.name)
    )[values.name]
    others = values.is_not_null() & ~plain
    return _scrub_where(redacted, others, lambda text: redact(text, mode, key))


def canonical_json(value: Any) -> str:
    """Compact JSON with the keys of every object sorted (recursively) and whole numbers written
    as integers (:func:`ingest.json_values.whole_numbers_as_integers`): the one text form of a
    decoded object field, so the same object stores and hashes alike from a file in any key
    order or format and from the receiver."""
    text = _sorted_compact_json(value)
    if may_hold_whole_floats(text):  # rare: a float holding a whole number (or such text)
        return _sorted_compact_json(whole_numbers_as_integers(value))
    return text


def _sorted_compact_json(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits: the standard encoder takes it
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class _Rule:
    """What to do with one key of an object: redact it, or descend with the nested rules."""

    redaction: PersonalRedaction | None
    children: dict[str, _Rule]


class _Rules(dict[str, _Rule]):
    """The rules of one object's keys, also found by a key's spelling (:func:`_spelling`): an
    event log's header `Customer Name` becomes the key `Customer_Name`, and its trace attribute
    `customer_name` the key `case_customer_name` (docs/processes.md); both are the contract's
    `customer_name` all the same."""

    def __init__(self, rules: dict[str, _Rule]) -> None:
        super().__init__(rules)
        self.by_spelling = {_spelling(name): rule for name, rule in rules.items()}

    def of(self, name: str) -> _Rule | None:
        rule = self.get(name)
        if rule is not None or not self.by_spelling:
            return rule
        rule = self.by_spelling.get(_spelling(name))
        if rule is None and name[:5].lower() == "case_":
            rule = self.by_spelling.get(_spelling(name[5:]))
        return rule


_NO_RULES = _Rules({})


def _rules(fields: tuple[DataField, ...]) -> _Rules:
    return _Rules({f.name: _Rule(f.redaction, _rules(f.fields)) for f in fields})


def _rule_names(rules: dict[str, _Rule]) -> list[str]:
    names: list[str] = []
    for name, rule in rules.items():
        names.append(name)
        names.extend(_rule_names(rule.children))
    return names


def scrub_data(value: Any, key: Key, rules: _Rules = _NO_RULES) -> Any:
    """Scrub decoded JSON (a CloudEvent's ``data``, a rejected record) with the contract's
    nested rules (which apply to the items of a list too) and the safety net for the rest."""
    if isinstance(value, str):
        return scrub_free_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and is_card_number(str(value)):
        # a card number written as a JSON number (`"cardNumber": 4539004477121481`) is one
        return f"[CARD ****{str(value)[-4:]}]"
    if isinstance(value, list):
        return _scrubbed_list(value, key, rules)
    if not isinstance(value, dict):
        if isinstance(value, Pairs):  # a key given twice (a quarantined record): each as given
            return Pairs(_scrubbed_members(value, lambda member: scrub_data(member, key, rules)))
        return value
    scrubbed: dict[str, Any] = {}
    for name, item in value.items():
        rule = rules.of(name)
        # keys are text too (``{"https://u:pw@host/": …}``); a contract's names hold no secret
        out = name if rule is not None else scrub_free_text(name)
        if item is None:
            scrubbed[out] = None
        elif rule is not None and rule.redaction is PersonalRedaction.DROP:
            continue
        elif rule is not None and rule.redaction is not None:
            scrubbed[out] = redact(item, rule.redaction, key)
        elif (
            is_secret_key_name(name)
            and not isinstance(item, bool)
            and not (isinstance(item, dict) and _names_a_header(name))
        ):
            scrubbed[out] = SECRET_PLACEHOLDER
        elif rule is None and _is_email_key_name(name) and isinstance(item, str | list):
            scrubbed[out] = _pseudonymise_strings(item, key)
        elif rule is None and isinstance(item, str | int) and is_kept_identifier(name, str(item)):
            scrubbed[out] = scrub_secrets(item) if isinstance(item, str) else item
        else:
            scrubbed[out] = scrub_data(item, key, rule.children if rule else _NO_RULES)
    return scrubbed


#: Where a private key's text starts and ends (PEM, PuTTY): a list of text lines (a log split
#: into lines) carries the key's body in the items between, which no rule can tell from other
#: base64 on its own.
_KEY_BLOCK_START = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d+:"
)
_KEY_BLOCK_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|Private-MAC:")
PRIVATE_KEY_PLACEHOLDER = "[REDACTED:private_key]"


def _scrubbed_list(items: list[Any], key: Key, rules: dict[str, _Rule]) -> list[Any]:
    """Each item scrubbed; a text item that opens a private key without closing it makes the
    text items after it, up to and including the one that closes it, the key's lines: each
    becomes the placeholder."""
    scrubbed: list[Any] = []
    in_key = False
    for item in items:
        if not isinstance(item, str):
            in_key = False
            scrubbed.append(scrub_data(item, key, rules))
        elif in_key:
            scrubbed.append(PRIVATE_KEY_PLACEHOLDER)
            in_key = _KEY_BLOCK_END.search(item) is None
        else:
            scrubbed.append(scrub_free_text(item))
            starts = list(_KEY_BLOCK_START.finditer(item))
            in_key = bool(starts) and _KEY_BLOCK_END.search(item, starts[-1].end()) is None
    return scrubbed


def _scrubbed_members(
    pairs: Pairs, scrub: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[tuple[str, Any]]:
    """The members of an object giving a key twice, each scrubbed as a one-member object."""
    return [member for name, item in pairs.items() for member in scrub({name: item}).items()]


def _pseudonymise_strings(value: str | list[Any], key: Key) -> Any:
    """The safety net for an unlisted ``*email*`` key: its text (or the texts of its list)."""
    if isinstance(value, str):
        return redact(value, PersonalRedaction.PSEUDONYMISE, key)
    return [_pseudonymise_strings(item, key) if isinstance(item, str) else item for item in value]


@functools.lru_cache(maxsize=4096)
def _names_a_header(name: str) -> bool:
    """Whether a key name is a secret's only as a header's name (``authorization``, ``cookie``):
    an object under it (a payment's ``authorization``: status, amount, code) is scrubbed member by
    member rather than replaced whole; a text or number under it is replaced."""
    words = [word.lower() for word in _NAME_WORDS.findall(name)]
    return (
        bool(words)
        and words[-1] in _HEADER_NAME_WORDS
        and not is_secret_key_name(" ".join(words[:-1]))
    )


@functools.lru_cache(maxsize=8192)
def is_secret_key_name(name: str) -> bool:
    """Whether values under this key name are secrets (the rules are at ``_SECRET_WORDS``);
    cached: data objects repeat their keys."""
    lower = name.lower()
    if (
        "passw" in lower
        or _SECRET_KEY_PAIR.search(lower)
        or _SECRET_NAME_END.search(lower)
        or _SECRET_NAME_PART.search(lower)
    ):
        return True
    words = [word.lower() for word in _NAME_WORDS.findall(name)]
    return bool(words) and (not _SECRET_WORDS.isdisjoint(words) or words[-1] in _SECRET_LAST_WORDS)


#: the last word of a key that names an identifier, and CloudEvents' subject (the id of what an
#: event is about); words that make it a card's or an account's identifier all the same
_IDENTIFIER_WORDS = frozenset({"id", "ids", "key", "ref", "reference", "subject"})
_ACCOUNT_WORDS = frozenset({"card", "cc", "pan", "iban", "account", "acct", "bank"})
#: an identifier's whole value: letters and digits, no blank or dash a printed number has
_COMPACT_IDENTIFIER = re.compile(r"[A-Za-z0-9]+")


@functools.lru_cache(maxsize=4096)
def is_identifier_name(name: str) -> bool:
    """Whether a key names an identifier (``case_id``, ``orderId``, ``order_key``, ``subject``),
    and not a card's or an account's (``card_id``, ``account_ref``)."""
    words = [word.lower() for word in _NAME_WORDS.findall(name)]
    return bool(words) and words[-1] in _IDENTIFIER_WORDS and _ACCOUNT_WORDS.isdisjoint(words)


def is_kept_identifier(name: str, value: str) -> bool:
    """Whether ``value`` under ``name`` is an identifier the card and IBAN net leaves alone: the
    whole value of an identifier key, one compact token. A 16-digit order number or case id
    with a card network's prefix passes the Luhn check one time in ten, and an account-shaped
    case id is an IBAN's shape: masked to their last four, two cases became one."""
    return is_identifier_name(name) and _COMPACT_IDENTIFIER.fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _is_email_key_name(name: str) -> bool:
    return _EMAIL_KEY_NAME.search(name) is not None


def scrub_free_text(text: str) -> str:
    """Secrets, card numbers and IBANs in free text (log lines, reasons, unparsed rows).

    Text the prefilter does not flag (most of it) is returned without running the rules."""
    if not (_SECRET_HINT.search(text.lower()) or _CARD_HINT.search(text)):
        return text
    return mask_account_numbers(scrub_secrets(text))


@functools.lru_cache(maxsize=8192)
def _spelling(name: str) -> str:
    """A field name without its case and separators (``IDEMPOTENCY_KEY``, ``Idempotency Key``
    and ``idempotency-key`` are ``idempotencykey``)."""
    return re.sub(r"[\s_.-]+", "", name).lower()


def rewritten_key_reason(name: str, original: str, scrubbed: Any, key: Key) -> str:
    """Why a record whose key field the scrubber rewrote is refused: stored under the rewritten
    key, two records differing only in the secret would be one, and the second dropped as a
    duplicate of the first (file ingest and the receiver give this reason alike). The original
    value's pseudonym tells such records apart (and a resent one is a duplicate)."""
    return (
        f"{name}: a key field holds what the scrubber redacts as a secret or a card number "
        f"({scrubbed!s:.120}, {pseudonymise(str(original), key())}); a key is stored as sent "
        "or not at all, so the record is kept aside instead of being stored under a rewritten key"
    )


@dataclass(frozen=True)
class ScrubbedFrame:
    """A batch scrubbed (:meth:`RecordScrubber.scrub_frame`), and the rows it refused, by
    position, with the reason: an object field holding JSON text that JSON does not allow
    (NaN, Infinity: :func:`ingest.json_values.loads_standard`), which no scrubbing can vouch for.
    """

    frame: pl.DataFrame
    refused: dict[int, str]


class RecordScrubber:
    """One contract's scrubbing, compiled once (get it with :func:`scrubber_for`)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.key_fields = frozenset(contract.natural_key)
        self._redacted = {p.name: p.redaction for p in contract.properties if p.redaction}
        self._redacted_by_spelling = {_spelling(name): name for name in self._redacted}
        self._objects = {
            p.name: _rules(p.fields)
            for p in contract.properties
            if p.logical_type is LogicalType.OBJECT
        }
        self._free_text = frozenset(p.name for p in contract.properties if p.scrub_secrets)
        self._known = frozenset(p.name for p in contract.properties)
        nested = sorted({n for rules in self._objects.values() for n in _rule_names(rules)})
        self.object_prefilter = EVENT_DATA_PREFILTER + _names_prefilter(nested, "")
        #: Over a whole record's JSON: any secret, email key, card-like digits, or a classified
        #: field with a value (top level: a string; nested: anything).
        self.record_prefilter = self.object_prefilter + _names_prefilter(
            sorted(self._redacted), '"'
        )

    def scrub_field(self, name: str, value: Any, key: Key) -> Any:
        """One field of a record (decoded: text, number, or the object of an object field)."""
        if value is None:
            return None
        mode = self._redacted.get(name)
        if mode is not None:
            return redact(value, mode, key)
        rules = self._objects.get(name)
        if rules is not None:
            return scrub_data(value, key, rules)
        if isinstance(value, str):
            value = scrub_secrets(value)
            # card masking only in free text: a long numeric id must never become a card mask
            free_text = name in self._free_text and not is_kept_identifier(name, value)
            return mask_account_numbers(value) if free_text else value
        if isinstance(value, dict | list | Pairs):
            return scrub_data(value, key)
        return value

    def scrub_record(self, record: Mapping[str, Any] | Pairs, key: Key) -> Any:
        """Every field of one decoded record (the receiver's normalised records, rejected raw
        records): a dict, or :class:`Pairs` for a record giving a key twice; keys the contract
        does not know are scrubbed like event data (their names too, and values under secret
        names)."""
        if isinstance(record, Pairs):
            return Pairs(_scrubbed_members(record, lambda member: self.scrub_record(member, key)))
        scrubbed: dict[str, Any] = {}
        for name, value in record.items():
            if name in self._known:
                scrubbed[name] = self.scrub_field(name, value, key)
            elif (classified := self._redacted_by_spelling.get(_spelling(name))) is not None:
                # a classified field under another spelling (`IDEMPOTENCY_KEY`, `Customer Email`
                # in a CSV header): its value is personal data all the same
                scrubbed[name] = self.scrub_field(classified, value, key)
            else:
                scrubbed.update(scrub_data({name: value}, key))
        return scrubbed

    def scrub_frame(self, frame: pl.DataFrame, key: Key) -> ScrubbedFrame:
        """A batch of text columns (the file path, before its contract check).

        Classified columns: every present value. Object columns (JSON text) and the other text
        columns: only the values the prefilter (polars, Rust regex) flags go through Python.
        """
        columns: list[pl.Series] = []
        refused: dict[int, str] = {}
        for prop in self.contract.properties:
            if prop.name not in frame.columns:
                continue
            values = frame[prop.name]
            name = prop.name
            if name in self._redacted:
                columns.append(redact_column(values, self._redacted[name], key))
            elif name in self._objects:
                column, not_standard = self._object_column(name, values, key)
                columns.append(column)
                for position, reason in not_standard.items():
                    refused.setdefault(position, reason)
            elif prop.logical_type is LogicalType.STRING:
                prefilter = TEXT_PREFILTER + (_CARD_PREFILTER if name in self._free_text else "")
                hits = values.str.contains(prefilter).fill_null(False)
                # (scatter writes into the series it is given: the key's values kept to compare)
                original = values.clone() if name in self.key_fields and hits.any() else None
                scrubbed = _scrub_where(values, hits, lambda t, n=name: self.scrub_field(n, t, key))
                if original is not None:
                    rewritten = (scrubbed != original).fill_null(False).arg_true().to_list()
                    for position in rewritten:
                        refused.setdefault(
                            position,
                            rewritten_key_reason(name, original[position], scrubbed[position], key),
                        )
                columns.append(scrubbed)
        return ScrubbedFrame(frame.with_columns(columns) if columns else frame, refused)

    def _object_column(
        self, name: str, values: pl.Series, key: Key
    ) -> tuple[pl.Series, dict[int, str]]:
        """Every value of an object column (JSON text) decoded once and written back as
        :func:`canonical_json`; the values the prefilter flags are scrubbed in between. Texts
        JSON does not allow are kept as they are, and refused (by position, with the reason)."""
        flagged = values.str.contains(self.object_prefilter).fill_null(False)
        # orjson reads integers beyond 64 bits as floats: such texts take the standard decoder
        long_numbers = values.str.contains(r"\d{19}").fill_null(False)
        texts: list[str | None] = []
        refused: dict[int, str] = {}
        for position, (text, hit, exact) in enumerate(
            zip(values.to_list(), flagged.to_list(), long_numbers.to_list(), strict=True)
        ):
            try:
                texts.append(
                    None if text is None else self._object_text(name, text, hit, exact, key)
                )
            except NotStandardJson as problem:
                texts.append(text)
                refused[position] = problem.within(name).reason
        return pl.Series(values.name, texts, dtype=pl.String), refused

    def _object_text(self, name: str, text: str, flagged: bool, exact: bool, key: Key) -> str:
        if not exact:
            try:
                decoded = orjson.loads(text)
            except orjson.JSONDecodeError:
                pass  # what orjson refuses (NaN, not JSON at all): the standard decoder says
            else:
                scrubbed = self._object_json(name, decoded, text, flagged, key)
                # orjson keeps one value of a key given twice: as many keys as written, or the
                # standard decoder looks (scrubbing only ever drops keys)
                if _keys_written(text) == scrubbed.count('":'):
                    return scrubbed
        try:
            decoded = loads_standard(text)
        except NotStandardJson:
            raise  # NaN, a key given twice: the row is refused (:meth:`_object_column`)
        except (ValueError, RecursionError):
            # not JSON: the contract check will quarantine it
            return scrub_free_text(text) if flagged else text
        return self._object_json(name, decoded, text, flagged, key)

    def _object_json(self, name: str, decoded: Any, text: str, flagged: bool, key: Key) -> str:
        if flagged:
            decoded = self.scrub_field(name, decoded, key)
        if isinstance(decoded, dict):
            return canonical_json(decoded)
        # not an object (the check quarantines it, quoting the text): kept as written unless
        # scrubbed
        return json.dumps(decoded, ensure_ascii=False, separators=(",", ":")) if flagged else text


def _keys_written(text: str) -> int | None:
    """How many keys JSON text names (repeats included), read off the text; ``None`` where it
    may not be: an escaped quote (``\\"`` or ``\\u0022``: ``"a\\u0022:"`` is one key, written
    back as two ``":``), a tab or line end (JSON text holds them only as blanks between tokens),
    or a blank after a quote (perhaps between a key and its colon)."""
    if '\\"' in text or "\\u0022" in text:
        return None
    if "\t" in text or "\n" in text or "\r" in text or '" ' in text:
        return None
    return text.count('":')


@functools.lru_cache(maxsize=32)
def scrubber_for(contract: Contract) -> RecordScrubber:
    return RecordScrubber(contract)


def scrub_frame(contract: Contract, frame: pl.DataFrame, key: Key) -> ScrubbedFrame:
    """:meth:`RecordScrubber.scrub_frame` of ``contract`` (the file-ingest path's one call)."""
    return scrubber_for(contract).scrub_frame(frame, key)


def _names_prefilter(names: list[str], quote: str) -> str:
    """``"name":`` for each name, its quotes escaped or not (inside an object field written as
    JSON text), in any case and with any separators, `case_` before it or not (as
    :class:`_Rules` finds rules); ``quote`` = ``"`` also asks for a string value after it."""
    if not names:
        return ""
    spelled = sorted({_name_pattern(name) for name in names})
    return r'|\\?"(?i:(?:case_)?(?:' + "|".join(spelled) + r'))\\?":' + quote


def _name_pattern(name: str) -> str:
    """``name``'s words with any separators between them (`customer_name`: `Customer Name`,
    `customerName`, `customer-name`)."""
    return r"[\s_.-]*".join(re.escape(part) for part in re.split(r"[\s_.-]+", name) if part)


def _scrub_where(values: pl.Series, hits: pl.Series, scrub: Callable[[str], Any]) -> pl.Series:
    indices = hits.arg_true()
    if indices.len() == 0:
        return values
    scrubbed = [scrub(text) for text in values.gather(indices).to_list()]
    return values.scatter(indices, pl.Series(scrubbed, dtype=pl.String))


def load_pii_key(secrets_dir: Path) -> bytes:
    """The pseudonymisation key: ``FLOWLEDGER_PII_KEY``, else ``<secrets_dir>/pii.key``.

    The file is created on first use with 32 random bytes and mode 0600: written and synced
    under a name of its own, then linked into place, so a process or thread that loses the race
    to create it reads the winner's whole key, never an empty file. The key never goes into
    DuckDB.
    """
    from_env = os.environ.get(PII_KEY_ENV)
    if from_env:
        return from_env.encode()
    path = secrets_dir / "pii.key"
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd, candidate = tempfile.mkstemp(dir=secrets_dir, prefix=".pii.key.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(candidate, 0o600)
            with contextlib.suppress(FileExistsError):  # another one created it first
                os.link(candidate, path)
        finally:
            os.unlink(candidate)
    key = path.read_bytes()
    if not key:
        raise ValueError(
            f"the pseudonymisation key file {path} is empty; restore it from a backup "
            f"(or set {PII_KEY_ENV}) so pseudonyms stay stable"
        )
    return key
