"""The CloudEvents 1.0 JSON-format rules a business event keeps, written once for both paths.

The receiver (:mod:`ingest.server.formats`) checks one decoded event at a time with
:func:`event_problem`; file ingest checks a batch at once with :func:`with_event_problem`, a
DuckDB query over each record's JSON text (:data:`ingest.readers.RECORD`). Both are built
from the patterns and reason texts below, and ``tests/ingest/test_ingest_cloudevents.py`` runs
both over the same tricky events and asserts the same reasons.

The rules (the conformance suite's invalid events, cloudevents/conformance
``format/json/invalid-events.json``), checked in this order, the first that applies giving the
reason: ``specversion``, ``id``, ``source``, ``type``, ``time``, ``subject`` and ``dataschema``
are JSON strings when present (``"id": 25`` is no id, and text forms of such values would
collapse many events onto one dedupe key); ``data`` and ``data_base64`` are exclusive, and a
business event carries no ``data_base64``; then every one of: an attribute name other than
lower-case ASCII letters and digits (``MyExtension``, ``my.extension``), an extension value that
is no string, boolean or 32-bit integer (``1.5``, an object), an empty ``subject``,
``dataschema`` or ``datacontenttype``, a ``datacontenttype`` that is no media type (``xyz``), a
``dataschema`` that is no absolute URI, and a ``time`` without its UTC offset (``+05``).
``null`` is an unset attribute. What the contract checks (required attributes, the
``specversion`` value, a ``time`` that is no RFC 3339 timestamp at all) is left to it.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping
from typing import Any

from ingest.validate import RFC3339_PATTERN, quoted_sql, quoted_value, sql_literal

#: The members of a business event the contract stores (``data`` included).
CLOUDEVENT_FIELDS = (
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "traceparent",
    "data",
)
#: Attributes whose JSON value must be a string when present (id and source are String and
#: URI-reference, specversion the string "1.0").
STRING_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "subject", "dataschema")
#: Attributes that, when present, must hold a non-empty value of their kind.
TEXT_ATTRIBUTES = ("subject", "dataschema", "datacontenttype")
#: ``data`` and ``data_base64`` are the JSON format's members for the data, not attributes.
DATA_MEMBERS = ("data", "data_base64")
KNOWN_MEMBERS = frozenset(CLOUDEVENT_FIELDS) | frozenset(DATA_MEMBERS)
INT32 = (-(2**31), 2**31 - 1)

# Patterns both Python's re and DuckDB's RE2 read alike: ASCII classes written out (their \d,
# \s and \S differ), whitespace as Python's str.isspace() knows it.
_WHITESPACE = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())
_SPACE = "[" + "".join(re.escape(char) for char in _WHITESPACE) + "]"
_NOT_SPACE = "[^" + _SPACE[1:]
BLANK_PATTERN = f"{_SPACE}*"
ATTRIBUTE_NAME_PATTERN = "[a-z0-9]+"
#: RFC 2046 ``type/subtype`` with optional parameters (``application/json; charset=utf-8``).
MEDIA_TYPE_PATTERN = f"(?s)[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+{_SPACE}*(?:;.*)?"
#: An absolute URI starts with its scheme (RFC 3986 section 3.1).
ABSOLUTE_URI_PATTERN = f"[A-Za-z][A-Za-z0-9+.-]*:{_NOT_SPACE}+"
#: RFC 3339 ends a timestamp with its offset from UTC: ``Z`` or ``±hh:mm`` (``+05`` is none).
UTC_OFFSET_PATTERN = f".*(?:[Zz]|[+-][0-9]{{2}}:[0-9]{{2}}){_SPACE}*"

NOT_STRINGS = (
    ': CloudEvents attributes are JSON strings (e.g. "specversion": "1.0", "id": "order-42")'
)
BOTH_DATA = "data and data_base64 are both present: a CloudEvent has one or the other"
DATA_BASE64 = "data_base64 is not accepted: a business event carries a JSON object in data"
NOT_A_NAME = " is not a CloudEvents attribute name (lower-case letters a-z and digits only)"
NOT_AN_EXTENSION_VALUE = ": an extension attribute is a string, a boolean or an integer"
NOT_A_STRING = ", not a string"
EMPTY = " is empty: when present it must have a value"
NOT_A_MEDIA_TYPE = " is not a media type (type/subtype)"
NOT_AN_ABSOLUTE_URI = " is not an absolute URI"
NO_UTC_OFFSET = " has no UTC offset (RFC 3339: Z or +hh:mm / -hh:mm)"
#: Characters of an attribute name quoted in a reason (values: ingest.validate.quoted_value).
QUOTED_NAME_CHARS = 40

_ATTRIBUTE_NAME = re.compile(ATTRIBUTE_NAME_PATTERN)
_BLANK = re.compile(BLANK_PATTERN)
_MEDIA_TYPE = re.compile(MEDIA_TYPE_PATTERN)
_ABSOLUTE_URI = re.compile(ABSOLUTE_URI_PATTERN)
_UTC_OFFSET = re.compile(UTC_OFFSET_PATTERN)
_RFC3339 = re.compile(RFC3339_PATTERN)


# -- one decoded event (the receiver) ------------------------------------------------------------


def event_problem(event: Mapping[str, Any]) -> str | None:
    """Why a structured-mode event breaks the CloudEvents 1.0 JSON format, or ``None``."""
    not_strings = [
        f"{name} is a JSON {json_type(event[name])}"
        for name in STRING_ATTRIBUTES
        if event.get(name) is not None and event[name].__class__ is not str
    ]
    if not_strings:
        return ", ".join(not_strings) + NOT_STRINGS
    if "data_base64" in event and "data" in event:
        return BOTH_DATA
    if "data_base64" in event:
        return DATA_BASE64
    return format_problem(event)


def format_problem(event: Mapping[str, Any]) -> str | None:
    """The format rules after the string and data checks of :func:`event_problem` (binary mode's
    ``ce-*`` headers, all strings, take these alone).

    On the hot path of every event: the contract's names skip the name check, and the verdicts
    on a value (a media type, a time) are cached."""
    problems: list[str] = []
    for name in event:
        if name in KNOWN_MEMBERS:
            continue
        value = event[name]
        if not _is_attribute_name(name):
            problems.append(quoted_value(name, QUOTED_NAME_CHARS) + NOT_A_NAME)
        elif value is not None and not _is_extension_value(value):
            problems.append(f"{name} is a JSON {json_type(value)}{NOT_AN_EXTENSION_VALUE}")
    for name in TEXT_ATTRIBUTES:
        value = event.get(name)
        if value is None:
            continue
        if value.__class__ is not str:
            problems.append(f"{name} is a JSON {json_type(value)}{NOT_A_STRING}")
        else:
            problem = _text_attribute_problem(name, value)
            if problem is not None:
                problems.append(problem)
    moment = event.get("time")
    if moment.__class__ is str and not _offset_given(moment):
        problems.append(f"time {quoted_value(moment)}{NO_UTC_OFFSET}")
    return "; ".join(problems) or None


def json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


@functools.lru_cache(maxsize=1024)
def _is_attribute_name(name: str) -> bool:
    return _ATTRIBUTE_NAME.fullmatch(name) is not None


def _is_extension_value(value: Any) -> bool:
    if value.__class__ is str or value.__class__ is bool:
        return True
    return value.__class__ is int and INT32[0] <= value <= INT32[1]


@functools.lru_cache(maxsize=4096)
def _text_attribute_problem(name: str, value: str) -> str | None:
    if _BLANK.fullmatch(value):
        return name + EMPTY
    if name == "datacontenttype" and not _MEDIA_TYPE.fullmatch(value):
        return f"datacontenttype {quoted_value(value)}{NOT_A_MEDIA_TYPE}"
    if name == "dataschema" and not _ABSOLUTE_URI.fullmatch(value):
        return f"dataschema {quoted_value(value)}{NOT_AN_ABSOLUTE_URI}"
    return None


@functools.lru_cache(maxsize=8192)
def _offset_given(moment: str) -> bool:
    """False for a time the contract would take (others get its reason: not an RFC 3339
    timestamp) that does not end in ``Z`` or ``±hh:mm``."""
    return not _RFC3339.match(moment) or _UTC_OFFSET.fullmatch(moment) is not None


# -- a batch of records as JSON text (file ingest) ------------------------------------------------


#: The column :func:`with_event_problem` adds: :func:`event_problem` of the row's record.
EVENT_PROBLEM = "_event_problem"
_MEMBERS = "__event_members"


def with_event_problem(relation: str, record: str) -> str:
    """A query over ``relation`` giving its columns and :data:`EVENT_PROBLEM`, the reason
    :func:`event_problem` gives for the JSON object in column ``record`` (NULL when it keeps the
    format, or holds no JSON object: the reader refuses those).

    Each record is parsed twice in DuckDB's C++ parser (its keys; the attributes' JSON values).
    A record that plainly keeps the format (:func:`_plainly_kept_sql`: no member but the
    contract's, attributes written as plain strings of the usual forms) costs little more; only
    the others go through every rule. Of a key given twice (allowed outside the contract's
    fields) the first value is checked, the receiver checks the last."""
    members = (
        f"{{'keys': TRY(json_keys({record})), "
        f"'attributes': TRY(from_json({record}, {sql_literal(_attributes_structure())}))}}"
    )
    return (
        f"(SELECT * EXCLUDE ({_MEMBERS}), {_event_problem_sql(record)} AS {EVENT_PROBLEM} "
        f"FROM (SELECT *, {members} AS {_MEMBERS} FROM {relation}))"
    )


def _event_problem_sql(record: str) -> str:
    def attribute(name: str) -> str:
        return f"{_MEMBERS}.attributes.{name}"

    keys = f"{_MEMBERS}.keys"
    not_strings = ", ".join(
        f"CASE WHEN json_type({attribute(name)}) <> 'VARCHAR' THEN "
        f"{sql_literal(name + ' is a JSON ')} || {_json_type_sql(attribute(name))} END"
        for name in STRING_ATTRIBUTES
    )
    has = {name: f"list_contains({keys}, {sql_literal(name)})" for name in DATA_MEMBERS}
    known = "[" + ", ".join(sql_literal(name) for name in sorted(KNOWN_MEMBERS)) + "]"
    # the keys the contract does not know, each once, in the order the record gives them
    unknown = (
        f"list_filter({keys}, lambda k, i: NOT list_contains({known}, k) "
        f"AND list_position({keys}, k) = i)"
    )
    value = f"json_extract({record}, '$.\"' || k || '\"')"
    extension_problem = (
        f"CASE WHEN NOT regexp_full_match(k, {sql_literal(ATTRIBUTE_NAME_PATTERN)}) "
        f"THEN {quoted_sql('k', QUOTED_NAME_CHARS)} || {sql_literal(NOT_A_NAME)} "
        f"WHEN NOT (json_type({value}) IN ('VARCHAR', 'BOOLEAN', 'NULL') OR "
        f"(json_type({value}) IN ('BIGINT', 'UBIGINT') AND "
        f"try_cast({value} AS BIGINT) BETWEEN {INT32[0]} AND {INT32[1]})) "
        f"THEN k || ' is a JSON ' || {_json_type_sql(value)} || "
        f"{sql_literal(NOT_AN_EXTENSION_VALUE)} END"
    )
    extensions = (
        f"CASE WHEN len({unknown}) > 0 THEN nullif(array_to_string(list_filter("
        f"list_transform({unknown}, lambda k: {extension_problem}), "
        "lambda p: p IS NOT NULL), '; '), '') END"
    )
    texts = [_text_attribute_sql(name, attribute(name)) for name in TEXT_ATTRIBUTES]
    moment = f"({attribute('time')} ->> '$')"
    no_offset = (
        f"CASE WHEN json_type({attribute('time')}) = 'VARCHAR' "
        f"AND regexp_matches({moment}, {sql_literal(RFC3339_PATTERN)}) "
        f"AND NOT regexp_full_match({moment}, {sql_literal(UTC_OFFSET_PATTERN)}) "
        f"THEN 'time ' || {quoted_sql(moment)} || "
        f"{sql_literal(NO_UTC_OFFSET)} END"
    )
    return f"""CASE
    WHEN {keys} IS NULL OR {_MEMBERS}.attributes IS NULL THEN NULL
    WHEN {_plainly_kept_sql()} THEN NULL
    WHEN concat_ws(', ', {not_strings}) <> ''
        THEN concat_ws(', ', {not_strings}) || {sql_literal(NOT_STRINGS)}
    WHEN {has["data_base64"]} AND {has["data"]} THEN {sql_literal(BOTH_DATA)}
    WHEN {has["data_base64"]} THEN {sql_literal(DATA_BASE64)}
    ELSE nullif(concat_ws('; ', {extensions}, {", ".join(texts)}, {no_offset}), '')
END"""


#: JSON texts (as :func:`with_event_problem` reads them, quotes included) that plainly keep the
#: format: a string without escapes that is not blank, a media type without parameters, an
#: absolute URI, a time ending in its UTC offset. Others are checked by every rule.
_PLAIN_TEXT = f'"[^"\\\\{_SPACE[1:-1]}][^"\\\\]*"'
_PLAIN_VALUES = {
    "subject": _PLAIN_TEXT,
    "datacontenttype": '"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+"',
    "dataschema": f'"[A-Za-z][A-Za-z0-9+.-]*:[^"\\\\{_SPACE[1:-1]}]+"',
    "time": '"[^"\\\\]*(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"',
}


def _plainly_kept_sql() -> str:
    """A cheap condition, true only of a record :func:`event_problem` has no problem with."""
    members = "[" + ", ".join(sql_literal(name) for name in CLOUDEVENT_FIELDS) + "]"
    conditions = [f"list_has_all({members}, {_MEMBERS}.keys)"]
    for name in dict.fromkeys((*STRING_ATTRIBUTES, *TEXT_ATTRIBUTES)):
        value = f"{_MEMBERS}.attributes.{name}"
        if name in _PLAIN_VALUES:
            plain = f"regexp_full_match({value}, {sql_literal(_PLAIN_VALUES[name])})"
        else:
            plain = f"starts_with({value}, '\"')"
        conditions.append(f"({value} IS NULL OR {plain})")
    return " AND ".join(conditions)


def _attributes_structure() -> str:
    names = dict.fromkeys((*STRING_ATTRIBUTES, *TEXT_ATTRIBUTES))
    return "{" + ", ".join(f'"{name}": "JSON"' for name in names) + "}"


def _json_type_sql(value: str) -> str:
    """The JSON type name :func:`json_type` gives, of a JSON value in SQL."""
    return (
        f"CASE json_type({value}) WHEN 'OBJECT' THEN 'object' WHEN 'ARRAY' THEN 'array' "
        "WHEN 'VARCHAR' THEN 'string' WHEN 'BOOLEAN' THEN 'boolean' WHEN 'NULL' THEN 'null' "
        "ELSE 'number' END"
    )


def _text_attribute_sql(name: str, value: str) -> str:
    text = f"({value} ->> '$')"
    label = sql_literal(name + " ")
    branches = [
        f"WHEN json_type({value}) <> 'VARCHAR' THEN {sql_literal(name + ' is a JSON ')} || "
        f"{_json_type_sql(value)} || {sql_literal(NOT_A_STRING)}",
        f"WHEN regexp_full_match({text}, {sql_literal(BLANK_PATTERN)}) "
        f"THEN {sql_literal(name + EMPTY)}",
    ]
    if name == "datacontenttype":
        branches.append(
            f"WHEN NOT regexp_full_match({text}, {sql_literal(MEDIA_TYPE_PATTERN)}) "
            f"THEN {label} || {quoted_sql(text)} || "
            f"{sql_literal(NOT_A_MEDIA_TYPE)}"
        )
    if name == "dataschema":
        branches.append(
            f"WHEN NOT regexp_full_match({text}, {sql_literal(ABSOLUTE_URI_PATTERN)}) "
            f"THEN {label} || {quoted_sql(text)} || "
            f"{sql_literal(NOT_AN_ABSOLUTE_URI)}"
        )
    return "CASE " + " ".join(branches) + " END"
