"""Column lineage of one SQL ``SELECT`` with sqlglot: each output column's input columns, each
with an OpenLineage transformation type and subtype.

The query is qualified (stars expanded, columns bound to their relation) against the known
columns of its input tables, then every output column is followed through CTEs, subqueries and
unions down to the base tables:

- DIRECT IDENTITY: the column is taken as is (``a``, ``t.a as b``);
- DIRECT TRANSFORMATION: computed from it (``a + 1``, ``coalesce(a, b)``, ``cast(a as int)``);
- DIRECT AGGREGATION: aggregated anywhere on its path (``sum(a)``, ``max(a) over (…)``);
- INDIRECT FILTER / JOIN / GROUP_BY / SORT: it decides which rows exist or their order
  (``where``, ``having``, ``qualify``, join conditions, ``group by``, ``order by``);
- INDIRECT WINDOW: it partitions or orders the window of the output column;
- INDIRECT CONDITIONAL: it is tested in a ``case when`` / ``if`` / aggregate ``filter``.

``count(*)`` has no input column of its own: it gets the INDIRECT edges of the rows it counts.
JSON extraction (``json_extract_string(data, '$.order_id')``) yields nested input fields such
as ``data.order_id``; a key computed from a column with known values (a seed) expands to each.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

DIRECT, INDIRECT = "DIRECT", "INDIRECT"
IDENTITY, TRANSFORMATION, AGGREGATION = "IDENTITY", "TRANSFORMATION", "AGGREGATION"
FILTER, JOIN, GROUP_BY, SORT, WINDOW, CONDITIONAL = (
    "FILTER",
    "JOIN",
    "GROUP_BY",
    "SORT",
    "WINDOW",
    "CONDITIONAL",
)
_DIRECT_RANK = {IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2}


class _DuckDBRowid(DuckDB):
    """DuckDB, knowing ``rowid``: a column of every table that no schema lists and no `*`
    selects (the staging views' ``row_locator``, incremental models reading rows by it)."""

    PSEUDOCOLUMNS = {"ROWID"}


def _qualifying_dialect(dialect: str) -> str | type[Dialect]:
    return _DuckDBRowid if dialect == "duckdb" else dialect


class _SqlglotNotes(logging.Handler):
    """sqlglot's warnings (``Cannot traverse scope PIVOT …``) go to the notes of the query the
    thread is analysing (:func:`analyze_query`), not to stderr: a ``lineage trace`` printed a
    dozen of them about other models."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        notes = getattr(self.local, "notes", None)
        if notes is not None:
            notes.append(f"sqlglot: {record.getMessage()[:300]}")


_SQLGLOT_NOTES = _SqlglotNotes()
logging.getLogger("sqlglot").addHandler(_SQLGLOT_NOTES)
logging.getLogger("sqlglot").propagate = False


class SqlLineageError(ValueError):
    """The SQL could not be parsed or is not a query."""


@dataclass(frozen=True, order=True)
class InputEdge:
    """One input column of one output column: ``table`` is ``db.schema.name`` (lower case)."""

    table: str
    column: str
    type: str
    subtype: str
    description: str = ""


@dataclass
class QueryLineage:
    """The lineage of one query: output columns in order, their inputs, whole-query inputs."""

    columns: list[str]
    fields: dict[str, list[InputEdge]]
    dataset: list[InputEdge]
    tables: list[str]  # every base table read
    unresolved: list[str] = field(default_factory=list)  # what could not be placed, and why
    #: each table's key (lower case, as edges name it) → its spelling: the schema's, else the
    #: SQL's (DuckDB keeps a quoted `"RawZone"."Orders"` as written)
    table_spelling: dict[str, str] = field(default_factory=dict)


Schema = Mapping[str, Sequence[str]]  # "db.schema.table" -> column names


def table_key(table: exp.Table, default_db: str = "", default_schema: str = "") -> str:
    parts = [table.catalog or default_db, table.db or default_schema, table.name]
    return ".".join(p.lower() for p in parts if p)


def analyze_query(
    sql: str,
    schema: Schema,
    *,
    dialect: str = "duckdb",
    default_db: str = "",
    default_schema: str = "",
    column_values: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> QueryLineage:
    """Column lineage of ``sql`` (one SELECT, possibly with CTEs) over tables in ``schema``.

    ``column_values`` gives the known values of some columns (e.g. of a seed), used to expand
    JSON paths computed from them. sqlglot's warnings on the way are among the notes.
    """
    warnings: list[str] = []
    _SQLGLOT_NOTES.local.notes = warnings
    try:
        lineage = _analyze_query(sql, schema, dialect, default_db, default_schema, column_values)
    finally:
        _SQLGLOT_NOTES.local.notes = None
    lineage.unresolved += sorted(set(warnings))
    return lineage


def _analyze_query(
    sql: str,
    schema: Schema,
    dialect: str,
    default_db: str,
    default_schema: str,
    column_values: Mapping[tuple[str, str], Sequence[str]] | None,
) -> QueryLineage:
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=dialect) if s is not None]
    except SqlglotError as error:
        raise SqlLineageError(f"cannot parse the SQL ({dialect}): {error}") from None
    if not statements:
        raise SqlLineageError("the SQL is empty")
    notes: list[str] = []
    statement = _pivots_as_selects(statements[-1], notes)
    if isinstance(statement, exp.Create | exp.Insert) and isinstance(
        statement.expression, exp.Query
    ):
        statement = statement.expression
    if not isinstance(statement, exp.Query):
        if notes:  # a pivot whose columns depend on the data
            raise SqlLineageError("; ".join(notes))
        raise SqlLineageError(f"not a query: {statement.sql(dialect=dialect)[:120]}")
    try:
        qualified = _qualify(statement, schema, dialect, default_db, default_schema)
    except SqlglotError as error:
        # A column the schema does not list: resolve what can be resolved without it.
        notes.append(f"the known input columns did not fit the SQL ({error}); read without them")
        try:
            qualified = _qualify(statement, {}, dialect, default_db, default_schema)
        except SqlglotError as second:
            raise SqlLineageError(f"cannot resolve the columns of the SQL: {second}") from None
    root = build_scope(qualified)
    if root is None:
        raise SqlLineageError("the SQL has no SELECT scope")
    tracer = _Tracer(dialect, default_db, default_schema, column_values or {})
    columns = _output_names(root)
    if "*" in columns:
        notes.append(
            "a `*` could not be expanded: the columns of its relation are unknown "
            "(give the input's schema)"
        )
        columns = [name for name in columns if name != "*"]
    fields = {name: _merged(tracer.column_edges(root, name)) for name in columns}
    dataset = _merged(tracer.row_edges(root))
    # sqlglot folds every DuckDB identifier to lower case, quoted or not, but DuckDB keeps the
    # spelling a column was created with ("CustomerId", `id as OrderID`): give names back theirs.
    spell = _Spelling(statement, schema)
    return QueryLineage(
        columns=[spell.output(name) for name in columns],
        fields={
            spell.output(name): [spell.edge(edge) for edge in edges]
            for name, edges in fields.items()
        },
        dataset=[spell.edge(edge) for edge in dataset],
        tables=sorted(tracer.tables),
        unresolved=notes + sorted(set(tracer.unresolved)),
        table_spelling=_table_spelling(statement, schema, default_db, default_schema),
    )


def _table_spelling(
    statement: exp.Expression, schema: Schema, default_db: str, default_schema: str
) -> dict[str, str]:
    """Table keys (lower case) → their spelling, the schema's first, then the SQL's."""
    spelling: dict[str, str] = {}
    for table in statement.find_all(exp.Table):
        if table.name:
            parts = [table.catalog or default_db, table.db or default_schema, table.name]
            spelled = ".".join(part for part in parts if part)
            spelling.setdefault(spelled.lower(), spelled)
    spelling.update({key.lower(): key for key in schema})
    return spelling


def _pivots_as_selects(statement: exp.Expression, notes: list[str]) -> exp.Expression:
    """DuckDB's ``PIVOT`` and ``UNPIVOT`` statements (a model's whole SQL, a CTE, a subquery)
    as the SELECT each stands for, which the lineage follows like any other:

    ``PIVOT t ON c IN ('a', 'b') USING sum(x) GROUP BY g`` is ``SELECT g, sum(x) FILTER (WHERE
    c = 'a') AS a, sum(x) FILTER (WHERE c = 'b') AS b FROM t GROUP BY g`` (several USING
    aggregates name their columns ``a_<alias>``); ``UNPIVOT t ON a, b INTO NAME n VALUE v`` is
    ``SELECT * EXCLUDE (a, b), 'a' AS n, a AS v FROM t UNION ALL …`` for each column. A pivot
    whose columns depend on the data (no ``IN`` list, or no ``GROUP BY``) is left as it is, with
    a note saying what to write."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Pivot) or node.this is None:
            return node  # `FROM t PIVOT (…)`: the pivot is an argument of its table
        unpivot = bool(node.args.get("unpivot"))
        select = _unpivot_select(node) if unpivot else _pivot_select(node)
        if isinstance(select, str):
            notes.append(f"{_short(node)}: {select}")
            return node
        return select

    return statement.transform(rewrite)


def _pivot_select(node: exp.Pivot) -> exp.Select | str:
    ons = node.expressions
    if not ons or not all(
        isinstance(on, exp.In)
        and on.expressions
        and all(isinstance(v, exp.Literal) for v in on.expressions)
        for on in ons
    ):
        return (
            "its columns are the values the data holds; list them (ON c IN ('a', 'b')) for lineage"
        )
    group = node.args.get("group")
    if group is None:
        return "without GROUP BY it groups by every other column; write the GROUP BY for lineage"
    usings = node.args.get("using") or [exp.Count(this=exp.Star())]
    projections: list[exp.Expression] = [column.copy() for column in group.expressions]
    for values in itertools.product(*(on.expressions for on in ons)):
        condition = exp.and_(
            *(
                exp.EQ(this=on.this.copy(), expression=value.copy())
                for on, value in zip(ons, values, strict=True)
            )
        )
        stem = "_".join(value.name for value in values)
        for using in usings:
            aggregate = using.unalias() if isinstance(using, exp.Alias) else using
            if isinstance(using, exp.Alias):
                name = f"{stem}_{using.alias}"
            else:
                name = stem if len(usings) == 1 else f"{stem}_{aggregate.sql(dialect='duckdb')}"
            filtered = exp.Filter(
                this=aggregate.copy(), expression=exp.Where(this=condition.copy())
            )
            projections.append(exp.alias_(filtered, name, quoted=True))
    return (
        exp.select(*projections)
        .from_(node.this.copy())
        .group_by(*(column.copy() for column in group.expressions))
    )


def _unpivot_select(node: exp.Pivot) -> exp.Expression | str:
    columns = node.expressions
    if not columns or not all(isinstance(column, exp.Column) for column in columns):
        return "its columns are chosen by an expression; name them (ON a, b) for lineage"
    into = node.args.get("into")
    name_column = into.this.name if into is not None else "name"
    values = into.expressions if into is not None else []
    if len(values) > 1:
        return "several VALUE columns are not read; unpivot one value column at a time"
    value_column = values[0].name if values else "value"
    excluded = [column.copy() for column in columns]
    branches = [
        exp.select(
            exp.Star(except_=[c.copy() for c in excluded]),
            exp.alias_(exp.Literal.string(column.name), name_column, quoted=True),
            exp.alias_(column.copy(), value_column, quoted=True),
        ).from_(node.this.copy())
        for column in columns
    ]
    return functools.reduce(lambda left, right: exp.union(left, right, distinct=False), branches)


class _Spelling:
    """The spelling of a column as its table's schema or the SQL writes it (sqlglot lowers
    identifiers of case-insensitive dialects)."""

    def __init__(self, statement: exp.Expression, schema: Schema) -> None:
        self.written: dict[str, str] = {}
        for identifier in statement.find_all(exp.Identifier):
            self.written.setdefault(identifier.name.lower(), identifier.name)
        first = statement
        while isinstance(first, exp.SetOperation):
            first = first.this
        self.outputs = {
            p.alias_or_name.lower(): p.alias_or_name
            for p in getattr(first, "selects", [])
            if p.alias_or_name and p.alias_or_name != "*"
        }
        self.catalog = {
            (table.lower(), column.lower()): column
            for table, columns in schema.items()
            for column in columns
        }

    def output(self, name: str) -> str:
        lowered = name.lower()
        if lowered in self.outputs:
            return self.outputs[lowered]
        for (_, column), spelled in self.catalog.items():  # from a `*`: as its table spells it
            if column == lowered:
                return spelled
        return self.written.get(lowered, name)

    def edge(self, edge: InputEdge) -> InputEdge:
        head, dot, rest = edge.column.partition(".")  # data.order_id: a JSON path keeps its keys
        known = self.catalog.get((edge.table, head.lower()))
        spelled = known or self.written.get(head.lower(), head)
        if spelled == head:
            return edge
        return InputEdge(
            edge.table, spelled + dot + rest, edge.type, edge.subtype, edge.description
        )


def _qualify(
    statement: exp.Expression, schema: Schema, dialect: str, default_db: str, default_schema: str
) -> exp.Expression:
    return qualify(
        statement.copy(),
        schema=_nested_schema(schema),
        dialect=_qualifying_dialect(dialect),
        catalog=default_db or None,
        db=default_schema or None,
        validate_qualify_columns=False,
        identify=False,
    )


def _edge_order(edge: InputEdge) -> tuple[str, str, str, str]:
    return (edge.table, edge.column, edge.type, edge.subtype)


def _merged(edges: Iterable[InputEdge]) -> list[InputEdge]:
    """One edge per (table, column, type, subtype); the descriptions of its occurrences joined."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for edge in edges:
        descriptions = grouped.setdefault(_edge_order(edge), [])
        if edge.description and edge.description not in descriptions:
            descriptions.append(edge.description)
    return [
        InputEdge(*key, "; ".join(sorted(descriptions)))
        for key, descriptions in sorted(grouped.items())
    ]


def _nested_schema(schema: Schema) -> dict:
    nested: dict = {}
    for key, columns in schema.items():
        parts = key.split(".")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = {c: "varchar" for c in columns}
    return nested


def _output_names(scope: Scope) -> list[str]:
    """The columns a scope selects; of a set operation, its first branch's, and for one ``BY
    NAME`` (DuckDB's ``union all by name``) every branch's, each name once in first-seen order,
    as DuckDB names them."""
    expression = scope.expression
    if not isinstance(expression, exp.SetOperation):
        return [projection.alias_or_name for projection in expression.selects]
    if not expression.args.get("by_name"):
        return _output_names(scope.set_operation_scopes[0])
    names: dict[str, str] = {}
    for branch in scope.set_operation_scopes:
        for name in _output_names(branch):
            names.setdefault(name.lower(), name)
    return list(names.values())


class _Tracer:
    def __init__(
        self,
        dialect: str,
        default_db: str,
        default_schema: str,
        column_values: Mapping[tuple[str, str], Sequence[str]],
    ) -> None:
        self.dialect = dialect
        self.default_db = default_db
        self.default_schema = default_schema
        self.column_values = column_values
        self.tables: set[str] = set()
        self.unresolved: list[str] = []
        self._columns: dict[tuple[int, str], frozenset[InputEdge]] = {}
        self._rows: dict[int, frozenset[InputEdge]] = {}
        self._own_rows: dict[int, frozenset[InputEdge]] = {}

    # ------------------------------------------------------------------ output columns

    def column_edges(self, scope: Scope, name: str) -> frozenset[InputEdge]:
        key = (id(scope), name.lower())
        if key not in self._columns:
            self._columns[key] = frozenset()  # guards against cycles
            self._columns[key] = frozenset(self._column_edges(scope, name))
        return self._columns[key]

    def _column_edges(self, scope: Scope, name: str) -> set[InputEdge]:
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            # branches match by position, or by name for `union all by name` (a branch without
            # the column gives it NULLs)
            by_name = bool(expression.args.get("by_name"))
            names = [n.lower() for n in _output_names(scope)]
            if name.lower() not in names:
                self.unresolved.append(f"column {name!r} is not selected by {_short(expression)}")
                return set()
            position = names.index(name.lower())
            edges: set[InputEdge] = set()
            for branch in scope.set_operation_scopes:
                branch_names = _output_names(branch)
                if by_name:
                    matching = [n for n in branch_names if n.lower() == name.lower()]
                else:
                    matching = branch_names[position : position + 1]
                for branch_name in matching:
                    edges |= self.column_edges(branch, branch_name)
            return edges
        projection = next(
            (p for p in expression.selects if p.alias_or_name.lower() == name.lower()), None
        )
        if projection is None:
            self.unresolved.append(f"column {name!r} is not selected by {_short(expression)}")
            return set()
        value = projection.unalias()
        text = value.sql(dialect=self.dialect)
        subtype = _direct_subtype(value)
        edges = set(self._own_rows_edges(scope))
        has_column = False
        json_edges, json_columns = self._json_fields(scope, value, text)
        edges |= json_edges
        for column, context in _column_contexts(value):
            has_column = True
            if id(column) in json_columns:
                continue  # read through a JSON path: the nested fields are its inputs
            for inner in self._resolve(scope, column, context, text):
                edges.add(_combine(inner, context, subtype, text))
        for inner, context in self._subquery_edges(scope, value):
            has_column = True
            edges.add(_combine(inner, context, subtype, text))
        if not has_column:
            # count(*), a constant, row_number(): only the rows they are computed over count.
            edges |= self.row_edges(scope)
        return edges

    def _json_fields(
        self, scope: Scope, value: exp.Expression, text: str
    ) -> tuple[set[InputEdge], set[int]]:
        """Nested input fields read by JSON extraction (``data.order_id``), and the ids of the
        JSON columns they replace."""
        edges: set[InputEdge] = set()
        replaced: set[int] = set()
        subtype = AGGREGATION if _has_aggregate(value) else TRANSFORMATION
        for node in value.find_all(exp.JSONExtractScalar, exp.JSONExtract):
            target = node.this
            if not isinstance(target, exp.Column):
                continue
            keys = list(self._json_keys(scope, node.expression))
            if not keys:
                continue
            replaced.add(id(target))
            for base in self._resolve(scope, target, ("direct", None), text):
                if base.type != DIRECT:
                    edges.add(base)
                    continue
                for key in keys:
                    edges.add(
                        InputEdge(
                            base.table,
                            f"{base.column}.{key}",
                            DIRECT,
                            max(subtype, base.subtype, key=_DIRECT_RANK.__getitem__),
                            text,
                        )
                    )
        return edges, replaced

    def _json_keys(self, scope: Scope, path: exp.Expression) -> Iterator[str]:
        if isinstance(path, exp.JSONPath):
            keys = [
                str(part.this) for part in path.expressions if isinstance(part, exp.JSONPathKey)
            ]
            if keys:
                yield ".".join(keys)
            return
        if isinstance(path, exp.Array):  # several paths at once (DuckDB): each a field
            for item in path.expressions:
                yield from self._json_keys(scope, item)
            return
        if isinstance(path, exp.Literal) and path.is_string:
            if path.this.startswith("/"):  # a JSON Pointer (RFC 6901): /key/inner, ~1 is /, ~0 ~
                parts = path.this[1:].split("/")
                literal = ".".join(p.replace("~1", "/").replace("~0", "~") for p in parts)
            else:
                literal = path.this.removeprefix("$").lstrip(".").replace('"', "")
            if literal:
                yield literal
            return
        # A path computed from a column ('$."' || seed.key_field || '"'): expand its values.
        for column in path.find_all(exp.Column):
            for base in self._resolve(scope, column, ("direct", None), ""):
                if base.type == DIRECT:  # the key's own values, not those of its filters
                    yield from self.column_values.get((base.table, base.column.lower()), ())

    # ------------------------------------------------------------------ rows

    def row_edges(self, scope: Scope) -> frozenset[InputEdge]:
        """INDIRECT edges of everything that decides the rows of ``scope``."""
        key = id(scope)
        if key not in self._rows:
            self._rows[key] = frozenset()
            edges = set(self._own_rows_edges(scope))
            if isinstance(scope.expression, exp.SetOperation):
                for branch in scope.set_operation_scopes:
                    edges |= self.row_edges(branch)
            else:
                for _, source in scope.selected_sources.values():
                    if isinstance(source, Scope):
                        edges |= self.row_edges(source)
                    elif isinstance(source, exp.Table):
                        self.tables.add(self._table_key(source))
            self._rows[key] = frozenset(edges)
        return self._rows[key]

    def _own_rows_edges(self, scope: Scope) -> frozenset[InputEdge]:
        """INDIRECT edges of the row clauses of ``scope`` itself (where, joins, group by, …)."""
        key = id(scope)
        if key in self._own_rows:
            return self._own_rows[key]
        self._own_rows[key] = frozenset()
        expression = scope.expression
        edges: set[InputEdge] = set()
        if isinstance(expression, exp.Select):
            clauses: list[tuple[str, exp.Expression | None]] = [
                (FILTER, expression.args.get("where")),
                (FILTER, expression.args.get("having")),
                (FILTER, expression.args.get("qualify")),
                (GROUP_BY, expression.args.get("group")),
                (SORT, expression.args.get("order")),
            ]
            group = expression.args.get("group")
            if group is not None and group.args.get("all"):
                # DuckDB's `group by all`: every selected expression that aggregates nothing
                clauses += [
                    (GROUP_BY, projection.unalias())
                    for projection in expression.selects
                    if not _has_aggregate(projection.unalias())
                    and not projection.unalias().find(exp.Window)
                ]
            clauses += [(JOIN, join.args.get("on")) for join in expression.args.get("joins") or []]
            for join in expression.args.get("joins") or []:
                for identifier in join.args.get("using") or []:
                    name = identifier.name
                    for alias in scope.selected_sources:
                        clauses.append((JOIN, exp.column(name, table=alias)))
            for subtype, clause in clauses:
                if clause is None:
                    continue
                text = clause.sql(dialect=self.dialect)
                context = ("indirect", subtype)
                for column in _own_columns(clause):
                    for inner in self._resolve(scope, column, context, text):
                        edges.add(_combine(inner, context, IDENTITY, text))
                for inner, _ in self._subquery_edges(scope, clause):
                    edges.add(_combine(inner, context, IDENTITY, text))
        self._own_rows[key] = frozenset(edges)
        return self._own_rows[key]

    def _subquery_edges(
        self, scope: Scope, value: exp.Expression
    ) -> Iterator[tuple[InputEdge, tuple[str, str | None]]]:
        """Edges of the subqueries inside ``value`` (``(select max(x) from t)``, ``in (select …)``)."""
        for subscope in scope.subquery_scopes:
            query = subscope.expression
            if not _is_inside(query, value):
                continue
            context = _context_of(query, value)
            for name in _output_names(subscope):
                for inner in self.column_edges(subscope, name):
                    yield inner, context
            for inner in self.row_edges(subscope):
                yield inner, context

    # ------------------------------------------------------------------ resolution

    def _resolve(
        self,
        scope: Scope,
        column: exp.Column,
        context: tuple[str, str | None],
        text: str,
    ) -> Iterator[InputEdge]:
        """The base-table edges behind ``column`` as seen in ``scope``."""
        sources = scope.sources
        alias = column.table
        if not alias:
            candidates = list(scope.selected_sources)
            if len(candidates) == 1:
                alias = candidates[0]
            else:
                self.unresolved.append(
                    f"column {column.name!r} in {_short(scope.expression)} could belong to "
                    f"any of {sorted(candidates)}: qualify it or give the input's schema"
                )
                return
        source = sources.get(alias)
        if source is None:
            # A correlated column from an outer scope, or an unknown alias.
            parent = scope.parent
            if parent is not None and alias in parent.sources:
                yield from self._resolve(parent, column, context, text)
                return
            self.unresolved.append(f"column {column.sql()} refers to an unknown relation {alias!r}")
            return
        if isinstance(source, Scope) and not isinstance(
            source.expression, exp.Select | exp.SetOperation
        ):
            # A table function (unnest, generate_series, lateral): its columns are computed
            # from the columns it is given.
            for inner_column in _own_columns(source.expression):
                if inner_column.table != alias:
                    yield from self._resolve(scope, inner_column, context, text)
        elif isinstance(source, Scope):
            yield from self.column_edges(source, column.name)
        elif isinstance(source, exp.Table):
            key = self._table_key(source)
            self.tables.add(key)
            yield InputEdge(key, column.name, DIRECT, IDENTITY, "")

    def _table_key(self, table: exp.Table) -> str:
        return table_key(table, self.default_db, self.default_schema)


def _combine(
    inner: InputEdge, context: tuple[str, str | None], subtype: str, text: str
) -> InputEdge:
    kind, indirect_subtype = context
    if inner.type == INDIRECT:
        return inner
    if kind == "indirect":
        assert indirect_subtype is not None
        return InputEdge(inner.table, inner.column, INDIRECT, indirect_subtype, text)
    combined = max(subtype, inner.subtype, key=_DIRECT_RANK.__getitem__)
    # An identity step keeps the description of the step that did the work.
    description = inner.description if subtype == IDENTITY and inner.description else text
    return InputEdge(inner.table, inner.column, DIRECT, combined, description)


def _direct_subtype(value: exp.Expression) -> str:
    if isinstance(value, exp.Column):
        return IDENTITY
    if _has_aggregate(value):
        return AGGREGATION
    return TRANSFORMATION


# Window functions that take one row's value as it is (sqlglot counts them as aggregates).
_VALUE_WINDOW_FUNCTIONS = (exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue)


def _has_aggregate(value: exp.Expression) -> bool:
    return any(
        not isinstance(node, _VALUE_WINDOW_FUNCTIONS) for node in value.find_all(exp.AggFunc)
    )


def _column_contexts(
    value: exp.Expression,
) -> Iterator[tuple[exp.Column, tuple[str, str | None]]]:
    """Every column of a projection with how it is used: direct, or an INDIRECT subtype."""
    for column in _own_columns(value):
        yield column, _context_of(column, value)


def _own_columns(value: exp.Expression) -> Iterator[exp.Column]:
    """The columns of ``value`` itself, not those of the subqueries inside it."""
    for column in value.find_all(exp.Column):
        # `*`, and DuckDB's rowid: the row's place in its table, no data of its own
        if isinstance(column.this, exp.Star) or isinstance(column, exp.Pseudocolumn):
            continue
        node: exp.Expression | None = column
        inside_subquery = False
        while node is not None and node is not value:
            if isinstance(node, exp.Query):
                inside_subquery = True
                break
            node = node.parent
        if not inside_subquery:
            yield column


def _is_inside(node: exp.Expression, container: exp.Expression) -> bool:
    current: exp.Expression | None = node
    while current is not None:
        if current is container:
            return True
        current = current.parent
    return False


def _context_of(column: exp.Column, top: exp.Expression) -> tuple[str, str | None]:
    node: exp.Expression = column
    while node is not top and node.parent is not None:
        parent = node.parent
        key = node.arg_key
        if isinstance(parent, exp.Window) and key in ("partition_by", "order"):
            return ("indirect", WINDOW)
        if isinstance(parent, exp.If) and key == "this":
            return ("indirect", CONDITIONAL)
        if isinstance(parent, exp.Case) and key == "this":
            return ("indirect", CONDITIONAL)  # case <column> when …
        if isinstance(parent, exp.Filter) and key == "expression":
            return ("indirect", CONDITIONAL)
        if isinstance(parent, exp.Order) and key == "expressions":
            if isinstance(parent.parent, exp.Window):
                return ("indirect", WINDOW)
            return ("indirect", SORT)  # string_agg(a order by b)
        if isinstance(parent, exp.WithinGroup) and key == "expression":
            return ("indirect", SORT)
        node = parent
    return ("direct", None)


def _short(expression: exp.Expression) -> str:
    text = expression.sql()
    return text if len(text) <= 80 else text[:77] + "..."


def iter_tables(sql: str, dialect: str = "duckdb") -> Iterable[str]:
    """Base tables read by ``sql`` (``db.schema.name``), without resolving columns."""
    statement = sqlglot.parse_one(sql, dialect=dialect)
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    for table in statement.find_all(exp.Table):
        if table.name.lower() not in ctes or table.db:
            yield table_key(table)
