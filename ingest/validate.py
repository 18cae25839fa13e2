"""Row checks derived from a contract, as one vectorised DuckDB query per batch.

The query reads a batch of text columns (see :mod:`ingest.readers`) and returns, per row, the
typed contract fields (defaults applied), ``_reason`` (NULL when the row keeps the contract,
otherwise every problem, each naming the field, joined with ``'; '``) and ``_payload_hash``: the
SHA-256 of the canonical JSON of the typed fields with sorted keys, computed before scrubbing, so
the same record hashes the same from NDJSON, CSV or Parquet.

File ingest asks for ``_canonical`` (that JSON text) instead and hashes it inside the same
query with :data:`SHA256_FUNCTION`, a vectorised Arrow function of the connection that runs
polars-hash (Rust: about three times DuckDB's ``sha256`` per row, see
:func:`register_sha256`); both give the same lower-case hex digest of the same UTF-8 bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet

import duckdb
import polars as pl
import polars_hash as plh
import pyarrow as pa

from ingest.contracts import Contract, LogicalType, Property
from ingest.scrub import SECRET_HINT_PATTERN, may_hold_a_secret

ROW_NUMBER = "_row_number"
REASON = "_reason"
PAYLOAD_HASH = "_payload_hash"
CANONICAL = "_canonical"
#: The connection function :func:`register_sha256` creates: ``flowledger_sha256(text)``.
SHA256_FUNCTION = "flowledger_sha256"

#: Values that stand in for an absent field before any check runs.
DEFAULT_VALUES: Mapping[str, str] = {"run_attempt": "1", "attempt": "1", "dead_lettered": "false"}
#: Fields that take another field's value when absent (after typing).
DEFAULT_FROM_FIELD: Mapping[str, str] = {"raw_status": "status"}

#: RFC 3339 date-time ('T', 't' or a space between date and time); an absent offset means UTC.
#: An offset's hours are 00-23 and its minutes 00-59 (RFC 3339 ``time-numoffset``): DuckDB
#: reads ``+25:00`` as 25 hours and Python ``+05:99`` as 6:39.
#: Written with ASCII classes: the patterns also run in Python (the receiver's edge checks,
#: ingest/server/edge.py; CloudEvents' ``time``), whose ``\d`` takes any script's digits
#: (``٣``, ``１２``) and ``\s`` any blank, where DuckDB's RE2 takes ASCII digits and
#: ``[\t\n\f\r ]``: the same text gets one verdict on both paths.
_BLANK = r"[\t\n\f\r ]"
RFC3339_PATTERN = (
    rf"^{_BLANK}*[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[Tt ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}"
    rf"(\.[0-9]+)?{_BLANK}*([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?{_BLANK}*$"
)
INTEGER_PATTERN = rf"^{_BLANK}*[+-]?[0-9]+(\.0*)?{_BLANK}*$"
#: What DuckDB's ``trim`` strips (around a boolean's word): spaces, Unicode's too (category
#: Zs), not tabs or line ends; Python's ``str.strip()`` strips both.
TRIMMED_BLANKS = "".join(
    map(chr, (0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000))
)
_BOOLEANS = {"true": "true", "false": "false", "1": "true", "0": "false"}
_QUOTED_VALUE_CHARS = 80


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def validation_sql(
    contract: Contract,
    relation: str,
    *,
    hash_in_sql: bool = True,
    typed_fields: AbstractSet[str] = frozenset(),
    prior_reason: str | None = None,
) -> str:
    """The query over ``relation`` (text columns + ``_row_number``) that types and checks rows.

    With ``hash_in_sql=False`` the last column is ``_canonical``, the text that
    :func:`payload_hash` turns into ``_payload_hash``, instead of the hash itself.
    ``typed_fields`` arrive already typed (Parquet integers, booleans and date-times, see
    :func:`ingest.readers.keeps_typed`): they are taken as they are instead of parsed from text,
    and no value of theirs can fail its type. ``prior_reason``: a column of ``relation`` holding
    a reason found before the contract's (the CloudEvents format, :mod:`ingest.cloudevents`);
    where it is not NULL it is the row's ``_reason``, as the receiver answers it alone.
    """
    present = [
        f"{_present_value(prop, prop.name in typed_fields)} AS {quote_identifier(prop.name)}"
        for prop in contract.properties
    ]
    typed = [
        f"{_typed_value(prop, prop.name in typed_fields)} AS {quote_identifier(prop.name)}"
        for prop in contract.properties
    ]
    raw_copies = [
        f"{quote_identifier(prop.name)} AS {quote_identifier(_raw(prop.name))}"
        for prop in contract.properties
    ]
    with_defaults = [
        _in_range(prop, prop.name in typed_fields) + f" AS {quote_identifier(prop.name)}"
        for prop in contract.properties
    ]
    reasons = ", ".join(_reason(prop, prop.name in typed_fields) for prop in contract.properties)
    canonical = canonical_json_sql(contract)
    if hash_in_sql:
        last = f"sha256({canonical}) END AS {PAYLOAD_HASH}"
    else:
        last = f"{canonical} END AS {CANONICAL}"
    fields = ", ".join(quote_identifier(prop.name) for prop in contract.properties)
    carried = ROW_NUMBER if prior_reason is None else f"{ROW_NUMBER}, {prior_reason}"
    reason = f"nullif(concat_ws('; ', {reasons}), '')"
    if prior_reason is not None:
        reason = f"coalesce({prior_reason}, {reason})"
    return f"""
WITH present AS (
    SELECT {carried}, {", ".join(present)} FROM {relation}
), typed AS (
    SELECT {carried}, {", ".join(raw_copies)}, {", ".join(typed)} FROM present
), defaulted AS (
    SELECT {carried}, {", ".join(quote_identifier(_raw(p.name)) for p in contract.properties)},
        {", ".join(with_defaults)}
    FROM typed
), checked AS (
    SELECT *, {reason} AS {REASON} FROM defaulted
)
SELECT {ROW_NUMBER}, {fields}, {REASON},
    CASE WHEN {REASON} IS NULL THEN {last}
FROM checked
"""


def typed_passthrough(contract: Contract) -> dict[str, LogicalType]:
    """The fields a typed source (Parquet) may hand over typed: integers, booleans and
    timestamps that no value set, pattern or redaction reads as text."""
    return {
        prop.name: prop.logical_type
        for prop in contract.properties
        if prop.logical_type in (LogicalType.INTEGER, LogicalType.BOOLEAN, LogicalType.TIMESTAMP)
        and prop.valid_values is None
        and prop.pattern is None
        and prop.redaction is None
        and not prop.scrub_secrets
    }


def payload_hash(canonical: str = CANONICAL) -> pl.Expr:
    """``_payload_hash`` from the canonical JSON column: SHA-256 of its UTF-8 bytes, lower-case
    hex, exactly what DuckDB's ``sha256`` gives for the same text (NULL stays NULL)."""
    return plh.col(canonical).chash.sha2_256().alias(PAYLOAD_HASH)


def register_sha256(con: duckdb.DuckDBPyConnection) -> None:
    """Create :data:`SHA256_FUNCTION` on ``con`` (once; a second call keeps it).

    DuckDB hands it whole Arrow vectors (2,048 rows), polars-hash digests them in Rust: SHA-256
    of the UTF-8 bytes, lower-case hex, NULL for NULL, exactly what ``sha256`` gives.
    """
    try:
        con.create_function(
            SHA256_FUNCTION,
            _sha256_arrow,
            [duckdb.sqltypes.VARCHAR],
            duckdb.sqltypes.VARCHAR,
            type="arrow",
            null_handling="special",
            side_effects=False,
        )
    except duckdb.NotImplementedException as error:  # already created on this connection
        if "already created" not in str(error):
            raise


def _sha256_arrow(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    frame = pl.DataFrame({CANONICAL: pl.Series(texts, dtype=pl.String)})
    return frame.select(payload_hash()).to_series().to_arrow()


def canonical_json_sql(contract: Contract) -> str:
    """The canonical JSON text (sorted keys, typed values) of a checked row: what is hashed.

    Fields marked ``hash_when_present`` join the JSON only when the record has one of them, so
    a record without them hashes as it did before they were added to the contract.
    """

    def canonical(properties: list[Property]) -> str:
        members = ", ".join(
            f"{quote_identifier(prop.name)} := {_canonical(prop)}"
            for prop in sorted(properties, key=lambda p: p.name)
        )
        return f"to_json(struct_pack({members}))::VARCHAR"

    late = [prop for prop in contract.properties if prop.hash_when_present]
    if not late:
        return canonical(list(contract.properties))
    absent = " AND ".join(f"{quote_identifier(prop.name)} IS NULL" for prop in late)
    base = [prop for prop in contract.properties if not prop.hash_when_present]
    return (
        f"CASE WHEN {absent} THEN {canonical(base)} ELSE {canonical(list(contract.properties))} END"
    )


#: Blanks that end a word of a quoted value (the same class in Python and DuckDB's RE2).
_BLANKS = " \\t\\n\\r\\f\\v"
_BLANK_CHARS = frozenset(" \t\n\r\f\v")
_CUT_WORD = re.compile(f"[^{_BLANKS}]+$")
_WHOLE_WORD = re.compile(f"[^{_BLANKS}]*")


def quoted_value(text: str, limit: int = _QUOTED_VALUE_CHARS) -> str:
    """A text value as reasons quote it: in single quotes, cut to ``limit`` characters with "…".

    A word the cut runs through is left out when the whole word may hold a secret (the
    scrubber's prefilter flags it): reasons are scrubbed after they are written, and a secret
    cut short (``https://admin:S3cretPa…``, the ``@`` cut away) is one no rule knows.
    :func:`quoted_sql` writes the same in SQL."""
    if len(text) <= limit:
        return f"'{text}'"
    shown = text[:limit]
    cut_word = _CUT_WORD.search(shown)
    if cut_word is not None and text[limit] not in _BLANK_CHARS:
        rest = _WHOLE_WORD.match(text, limit)
        word = cut_word[0] + (rest[0] if rest else "")
        if may_hold_a_secret(word):
            shown = shown[: cut_word.start()]
    return f"'{shown}…'"


def quoted_sql(text: str, limit: int = _QUOTED_VALUE_CHARS) -> str:
    """The SQL of a text value as reasons quote it (:func:`quoted_value`)."""
    cut_word = f"regexp_extract(left({text}, {limit}), '[^{_BLANKS}]+$')"
    rest = f"regexp_extract(substr({text}, {limit + 1}), '^[^{_BLANKS}]*')"
    hides = (
        f"(NOT regexp_matches(substr({text}, {limit + 1}, 1), '^[{_BLANKS}]') "
        f"AND regexp_matches(lower({cut_word} || {rest}), {sql_literal(SECRET_HINT_PATTERN)}))"
    )
    cut = (
        f"CASE WHEN {hides} THEN regexp_replace(left({text}, {limit}), '[^{_BLANKS}]+$', '') "
        f"ELSE left({text}, {limit}) END"
    )
    return f"'''' || CASE WHEN length({text}) > {limit} THEN {cut} || '…' ELSE {text} END || ''''"


def _raw(name: str) -> str:
    return f"__raw__{name}"


def _present_value(prop: Property, arrives_typed: bool = False) -> str:
    """The text value, NULL when empty or blank, or the field's default when it has one."""
    column = quote_identifier(prop.name)
    default = DEFAULT_VALUES.get(prop.name)
    if arrives_typed:
        if default is None:
            return column
        return f"coalesce({column}, CAST({sql_literal(default)} AS {prop.duckdb_type}))"
    # trim only what starts with whitespace: trimming every value costs more than the checks
    starts_blank = f"ascii({column}) IN (9, 10, 13, 32)"
    blank = f"{column} = '' OR ({starts_blank} AND regexp_matches({column}, '^\\s*$'))"
    value = f"CASE WHEN {blank} THEN NULL ELSE {column} END"
    return f"coalesce({value}, {sql_literal(default)})" if default is not None else value


def _typed_value(prop: Property, arrives_typed: bool = False) -> str:
    column = quote_identifier(prop.name)
    if arrives_typed:
        return f"CAST({column} AS {prop.duckdb_type})"
    match prop.logical_type:
        case LogicalType.STRING:
            return column
        case LogicalType.INTEGER:
            # the pattern admits only whole numbers, so the cast never rounds
            return (
                f"CASE WHEN regexp_matches({column}, {sql_literal(INTEGER_PATTERN)}) "
                f"THEN try_cast({column} AS BIGINT) END"
            )
        case LogicalType.NUMBER:
            return (
                f"CASE WHEN isfinite(try_cast({column} AS DOUBLE)) "
                f"THEN try_cast({column} AS DOUBLE) END"
            )
        case LogicalType.BOOLEAN:
            branches = " ".join(
                f"WHEN {sql_literal(word)} THEN {value}" for word, value in _BOOLEANS.items()
            )
            return f"CASE lower(trim({column})) {branches} END"
        case LogicalType.TIMESTAMP:
            return (
                f"CASE WHEN regexp_matches({column}, {sql_literal(RFC3339_PATTERN)}) "
                f"THEN timezone('UTC', coalesce(try_cast({column} AS TIMESTAMPTZ), "
                f"try_cast(upper({column}) AS TIMESTAMPTZ))) END"
            )
        case LogicalType.OBJECT:
            return (
                f"CASE WHEN json_valid({column}) AND json_type({column}::JSON) = 'OBJECT' "
                f"THEN json({column})::VARCHAR END"
            )
    raise AssertionError(f"unhandled logical type {prop.logical_type}")


#: The date-times RFC 3339 can write (four-digit years) and Python can hold, in UTC: an offset
#: may move a written one out (``9999-12-31T23:30:00-01:00`` is in year 10000 in UTC).
_TIMESTAMP_RANGE = "TIMESTAMP '0001-01-01 00:00:00' AND TIMESTAMP '9999-12-31 23:59:59.999999'"


def _in_range(prop: Property, arrives_typed: bool) -> str:
    """The typed value with its default; a timestamp read from text outside
    :data:`_TIMESTAMP_RANGE` becomes NULL, so the check says it is not a timestamp."""
    value = _with_default_from_field(prop.name)
    if prop.logical_type is not LogicalType.TIMESTAMP or arrives_typed:
        return value
    return f"CASE WHEN {value} BETWEEN {_TIMESTAMP_RANGE} THEN {value} END"


def _with_default_from_field(name: str) -> str:
    source = DEFAULT_FROM_FIELD.get(name)
    column = quote_identifier(name)
    if source is None:
        return column
    return f"coalesce({column}, {quote_identifier(source)})"


_TYPE_PROBLEMS: Mapping[LogicalType, str] = {
    LogicalType.INTEGER: "is not an integer",
    LogicalType.NUMBER: "is not a number",
    LogicalType.BOOLEAN: "is not a boolean (true or false)",
    LogicalType.TIMESTAMP: "is not an RFC 3339 timestamp",
    LogicalType.OBJECT: "is not a JSON object",
}


def _reason(prop: Property, arrives_typed: bool = False) -> str:
    """A CASE that yields this field's problem, or NULL."""
    typed = quote_identifier(prop.name)
    raw = quote_identifier(_raw(prop.name)) + ("::VARCHAR" if arrives_typed else "")
    label = prop.name + ": "
    quoted_raw = quoted_sql(raw)
    branches: list[str] = []
    if prop.required:
        branches.append(f"WHEN {raw} IS NULL THEN {sql_literal(label + 'missing (required)')}")
    if prop.logical_type in _TYPE_PROBLEMS and not arrives_typed:
        problem = sql_literal(" " + _TYPE_PROBLEMS[prop.logical_type])
        branches.append(
            f"WHEN {raw} IS NOT NULL AND {typed} IS NULL "
            f"THEN {sql_literal(label)} || {quoted_raw} || {problem}"
        )
    if prop.valid_values is not None:
        allowed = ", ".join(sql_literal(value) for value in prop.valid_values)
        listed = sql_literal(" is not one of " + ", ".join(prop.valid_values))
        branches.append(
            f"WHEN {typed}::VARCHAR NOT IN ({allowed}) "
            f"THEN {sql_literal(label)} || {quoted_raw} || {listed}"
        )
    if prop.pattern is not None:
        problem = sql_literal(" does not match the pattern " + prop.pattern)
        branches.append(
            f"WHEN NOT regexp_matches({typed}::VARCHAR, {sql_literal(prop.pattern)}) "
            f"THEN {sql_literal(label)} || {quoted_raw} || {problem}"
        )
    if prop.not_before is not None:
        earlier = quote_identifier(prop.not_before)
        problem = sql_literal(f" is before {prop.not_before} ")
        branches.append(
            f"WHEN {typed} < {earlier} THEN {sql_literal(label)} || {quoted_raw} || {problem} "
            f"|| {quoted_sql(quote_identifier(_raw(prop.not_before)) + '::VARCHAR')}"
        )
    if prop.minimum is not None:
        minimum = _number_text(prop.minimum)
        problem = sql_literal(f" is below the minimum {minimum}")
        branches.append(
            f"WHEN {typed} < {minimum} THEN {sql_literal(label)} || {typed}::VARCHAR || {problem}"
        )
    if not branches:
        return "NULL"
    return "CASE " + " ".join(branches) + " END"


def _canonical(prop: Property) -> str:
    column = quote_identifier(prop.name)
    if prop.logical_type is LogicalType.OBJECT:
        return f"{column}::JSON"
    return column


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
