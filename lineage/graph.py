"""The lineage graph in memory: datasets, jobs, runs and field edges with validity intervals,
built from OpenLineage events, with adjacency indexes for fast traces.

A field edge says "output field ← input field" with a transformation type/subtype; it is valid
from the time of the event that declared it until the time of the next newer event writing that
output dataset (of any job, in whatever order the events arrive), which replaced its column
lineage (``valid_to``), so lineage can be read as of a past time.

Node ids are Marquez's: ``dataset:<ns>:<name>``, ``datasetField:<ns>:<name>:<field>``,
``job:<ns>:<name>``. Namespaces may be URIs with colons (``duckdb:///x.duckdb``,
``postgres://h:5432``): ids are resolved against the stored (namespace, name) pairs, never by
splitting alone.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from lineage.dataset_details import DatasetDetails
from lineage.dataset_versions import read_version, run_version
from lineage.event_order import NEVER, History, NewestFacets, Order, epoch_seconds, is_deleted
from lineage.jobs import JobKey, JobNames
from lineage.lineage_facet import LINEAGE_FACET, column_lineage_of, job_lineage_outputs

RUN_STATES = {
    "START": "RUNNING",
    "RUNNING": "RUNNING",
    "COMPLETE": "COMPLETED",
    "ABORT": "ABORTED",
    "FAIL": "FAILED",
}
FAR_FUTURE = "9999-12-31T23:59:59Z"


class NodeNotFound(LookupError):
    """No dataset, field or job matches the node id."""


@dataclass(frozen=True, order=True)
class FieldKey:
    namespace: str
    dataset: str
    field: str

    @property
    def node_id(self) -> str:
        return f"datasetField:{self.namespace}:{self.dataset}:{self.field}"

    @property
    def dataset_id(self) -> str:
        return f"dataset:{self.namespace}:{self.dataset}"


@dataclass
class FieldEdge:
    output: FieldKey
    input: FieldKey
    type: str  # DIRECT | INDIRECT
    subtype: str
    description: str
    job: tuple[str, str] | None  # (namespace, name)
    valid_from: str
    valid_to: str = FAR_FUTURE
    origin: str = "event"  # event | parser
    dataset_level: bool = False  # from columnLineage.dataset (affects every field)
    #: the transformation's `masking` (the input is masked or hashed: a pseudonym, a hash);
    #: None where the producer did not say
    masking: bool | None = None

    def valid_at(self, as_of: str | None) -> bool:
        if as_of is None:
            return self.valid_to == FAR_FUTURE
        return epoch_seconds(self.valid_from) <= epoch_seconds(as_of) < epoch_seconds(self.valid_to)

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": {
                "namespace": self.output.namespace,
                "dataset": self.output.dataset,
                "field": self.output.field,
            },
            "input": {
                "namespace": self.input.namespace,
                "dataset": self.input.dataset,
                "field": self.input.field,
            },
            "type": self.type,
            "subtype": self.subtype,
            "description": self.description,
            "job": {"namespace": self.job[0], "name": self.job[1]} if self.job else None,
            "validFrom": self.valid_from,
            "validTo": None if self.valid_to == FAR_FUTURE else self.valid_to,
            "origin": self.origin,
            "masking": self.masking,
        }


@dataclass
class DatasetNode:
    """A dataset: its details are recorded in ``details`` as the newest event by eventTime left
    them, whatever the arrival order (lineage/dataset_details.py), and read from the
    properties below."""

    namespace: str
    name: str
    created_at: str  # the earliest event naming it
    listed_at: str | None = None  # the newest event listing it as an input or output
    producers: set[tuple[str, str]] = field(default_factory=set)
    consumers: set[tuple[str, str]] = field(default_factory=set)
    details: DatasetDetails = field(default_factory=DatasetDetails)

    @property
    def updated_at(self) -> str:
        """The newest event listing it as an input or output (else the earliest naming it)."""
        return self.listed_at or self.created_at

    @property
    def fields(self) -> Mapping[str, str | None]:
        """name → type, now."""
        return self.details.fields.current()

    def fields_at(self, as_of: str | None) -> Mapping[str, str | None]:
        """name → type as of ``as_of`` (now when None)."""
        return self.fields if as_of is None else self.details.fields.as_of(epoch_seconds(as_of))

    @property
    def facets(self) -> dict[str, Any]:
        return self.details.facets

    @property
    def description(self) -> str | None:
        return self.details.description

    @property
    def derived_columns(self) -> list[str]:
        """The columns parsed from the SQL writing it (what ``select *`` over it expands to)."""
        return self.details.derived_columns

    @property
    def lineage_notes(self) -> list[str]:
        """What the parser could not place."""
        return self.details.lineage_notes


@dataclass
class JobNode:
    """A job: its facets (and so its SQL and documentation) are each the newest event's by
    eventTime that sent it, whatever the arrival order (lineage/event_order.py)."""

    namespace: str
    name: str
    created_at: str  # the earliest event naming it
    updated_at: str  # the newest event naming it
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    latest_run: str | None = None
    io_at: str | None = None  # when the current inputs/outputs were set (a finished run's end)
    sent_facets: NewestFacets = field(default_factory=NewestFacets)
    sql_sent: History = field(default_factory=History)  # every event's `sql` facet, by order
    #: every facet every event sent, by name and order: what the job's facets were at a time
    facets_sent: dict[str, History] = field(default_factory=dict)
    #: the outputs of its events that sent no SQL, parsed from the job's, in event order
    sql_less: list[SqlLessOutput] = field(default_factory=list)

    @property
    def facets(self) -> dict[str, Any]:
        return self.sent_facets.current

    @property
    def description(self) -> str | None:
        return self.sent_facets.description

    def facets_as_of(self, as_of: str | None) -> dict[str, Any]:
        """The job's facets as they were at ``as_of`` (each the newest sent no later than it,
        as in-order arrival had them then); the current ones when ``as_of`` is None."""
        if as_of is None:
            return self.facets
        at: Order = (epoch_seconds(as_of), sys.maxsize)
        return {
            name: facet
            for name, history in self.facets_sent.items()
            if (facet := history.as_of(at)[1]) is not None and not is_deleted(facet)
        }


@dataclass
class SqlLessOutput:
    """An output of an event that sent no ``sql`` facet and wants its column lineage parsed: it
    is parsed from the job's SQL as of the event (the newest no newer than it, as in-order
    arrival has it), so again when an older event's SQL that is the newer of the two arrives."""

    order: Order
    when: str
    dataset: tuple[str, str]
    inputs: list[dict[str, str]]  # the event's inputs (namespace, name)
    run_id: str | None
    sql_order: Order = NEVER  # the order of the event whose SQL it was parsed from
    version: LineageVersion | None = None  # the column lineage the event wrote
    producer_edges: list[int] = field(default_factory=list)  # the version's, before the parse
    read: set[tuple[str, str]] = field(default_factory=set)  # the event's inputs and outputs
    written: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class RunNode:
    """A run: its facets are each the newest event's by eventTime of the run that sent it, and
    its state and end the newest terminal event's, whatever the arrival order
    (lineage/event_order.py)."""

    run_id: str
    job: tuple[str, str]
    state: str
    created_at: str  # the run's earliest event
    updated_at: str  # the run's newest event
    started_at: str | None = None
    ended_at: str | None = None  # the newest terminal event's (COMPLETE, FAIL or ABORT)
    end_order: Order = NEVER  # that event's order
    inputs: set[tuple[str, str]] = field(default_factory=set)  # over all the run's events
    outputs: set[tuple[str, str]] = field(default_factory=set)
    sent_facets: NewestFacets = field(default_factory=NewestFacets)

    @property
    def facets(self) -> dict[str, Any]:
        return self.sent_facets.current

    @property
    def nominal_start(self) -> str | None:
        return self._nominal("nominalStartTime")

    @property
    def nominal_end(self) -> str | None:
        return self._nominal("nominalEndTime")

    def _nominal(self, bound: str) -> str | None:
        nominal = self.facets.get("nominalTime")
        return nominal.get(bound) if isinstance(nominal, dict) else None

    @property
    def duration_ms(self) -> int | None:
        if not self.started_at or not self.ended_at:
            return None
        return int((epoch_seconds(self.ended_at) - epoch_seconds(self.started_at)) * 1000)


@dataclass
class LineageVersion:
    """The column lineage one event wrote for an output dataset: its edges, valid from the
    event's time (inclusive) until the time of the next newer event writing the dataset
    (exclusive; ``FAR_FUTURE`` while none is known)."""

    event: int  # the event's arrival number (``LineageGraph.events``)
    valid_from: str
    valid_to: str
    edges: list[int] = field(default_factory=list)

    def order(self) -> Order:
        """Event time, then arrival: of two events of the same time, the later arrival wins."""
        return epoch_seconds(self.valid_from), self.event


class TraceEdges(Sequence[tuple[int, FieldEdge]]):
    """The (hop, edge) pairs of a trace, kept as edge indexes per hop: a trace over tens of
    thousands of edges builds no per-edge object until it is read."""

    def __init__(self, edges: list[FieldEdge]) -> None:
        self._edges = edges
        self.levels: list[tuple[int, list[int]]] = []

    def __len__(self) -> int:
        return sum(len(indexes) for _, indexes in self.levels)

    def __iter__(self) -> Iterator[tuple[int, FieldEdge]]:
        edges = self._edges
        for hop, indexes in self.levels:
            for index in indexes:
                yield hop, edges[index]

    def __getitem__(self, position):  # type: ignore[override]
        return list(self)[position]

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    @property
    def max_hop(self) -> int:
        return self.levels[-1][0] if self.levels else 0


class LineageGraph:
    """Everything known from the events, with upstream/downstream field indexes."""

    def __init__(self) -> None:
        #: the last build's dbt lineage could not be read in (a writer kept the warehouse busy):
        #: a column of the project may be missing until a later load (lineage.service.load_graph)
        self.project_sync_deferred = False
        self.datasets: dict[tuple[str, str], DatasetNode] = {}
        self.jobs: dict[tuple[str, str], JobNode] = {}
        self.runs: dict[str, RunNode] = {}
        self.job_names = JobNames()
        self.edges: list[FieldEdge] = []
        self._upstream: dict[FieldKey, list[int]] = defaultdict(list)
        self._downstream: dict[FieldKey, list[int]] = defaultdict(list)
        self._job_edges: dict[tuple[str, str], list[int]] = defaultdict(list)  # job -> its edges
        # output dataset -> the column lineage each event wrote for it, in event-time order
        self._versions: dict[tuple[str, str], list[LineageVersion]] = {}
        # output dataset -> the version the last event arrived writing it wrote
        self._last_written: dict[tuple[str, str], LineageVersion] = {}
        # dataset -> every event that wrote it, in order, with the dataset version a run's event
        # wrote (lineage/dataset_versions.py; None: a DatasetEvent's or a JobEvent's)
        self._writes: dict[tuple[str, str], list[tuple[Order, str | None]]] = {}
        # dataset -> its first read and the version a dataset only ever read has
        self._first_reads: dict[tuple[str, str], tuple[Order, str]] = {}
        self.events = 0
        self._changes = 0  # bumped by every event; the compiled index is rebuilt when stale
        self._compiled: tuple[int, dict[FieldKey, int], Any, Any] | None = None

    # ------------------------------------------------------------------ building

    @classmethod
    def from_events(cls, events: Iterable[dict[str, Any]]) -> LineageGraph:
        graph = cls()
        for event in events:
            graph.add_event(event)
        return graph

    def add_event(self, event: dict[str, Any]) -> None:
        self.events += 1
        self._changes += 1
        when = str(event.get("eventTime") or "")
        job_doc = event.get("job")
        job_key: tuple[str, str] | None = None
        sql_facet: Any = None
        sent_sql = False
        if isinstance(job_doc, dict) and job_doc.get("name"):
            job_key = self._kept_job_key(job_doc, event.get("run"))
            job = self.jobs.get(job_key)
            if job is None:
                job = self.jobs[job_key] = JobNode(*job_key, created_at=when, updated_at=when)
            job.created_at = min(job.created_at, when, key=epoch_seconds)
            job.updated_at = max(job.updated_at, when, key=epoch_seconds)
            job.sent_facets.record(job_doc.get("facets") or {}, self._order(when))
            for name, facet in (job_doc.get("facets") or {}).items():
                job.facets_sent.setdefault(name, History()).record(facet, self._order(when))
            sql_facet = (job_doc.get("facets") or {}).get("sql")
            sent_sql = sql_facet is not None
            if sent_sql:
                job.sql_sent.record(sql_facet, self._order(when))
        run_doc = event.get("run")
        if job_key and isinstance(run_doc, dict) and run_doc.get("runId"):
            self._add_run(run_doc, job_key, event, when)
            self._add_parent_placeholder(run_doc, job_key, event, when)
        inputs = [d for d in event.get("inputs") or [] if isinstance(d, dict)]
        outputs = [d for d in event.get("outputs") or [] if isinstance(d, dict)]
        if isinstance(event.get("dataset"), dict):
            outputs.append(event["dataset"])
        # the job's explicit `lineage` facet: its DATASET entries are outputs, their sources
        # inputs, and each entry's field lineage is read as the columnLineage it stands for
        job_facets = job_doc.get("facets") if isinstance(job_doc, dict) else None
        declared: dict[tuple[str, str], dict[str, Any]] = {}
        if isinstance(job_facets, dict) and LINEAGE_FACET in job_facets:
            entries, sources = job_lineage_outputs(job_facets[LINEAGE_FACET])
            listed = {_doc_key(d) for d in outputs}
            for entry in entries:
                if _doc_key(entry) not in listed:
                    outputs.append({"namespace": entry["namespace"], "name": entry["name"]})
                if "facets" in entry:
                    declared.setdefault(_doc_key(entry), entry["facets"]["columnLineage"])
            listed = {_doc_key(d) for d in inputs}
            inputs += [d for d in sources if _doc_key(d) not in listed]
        read: set[tuple[str, str]] = set()
        written: set[tuple[str, str]] = set()
        run_id = (
            str(run_doc["runId"]) if isinstance(run_doc, dict) and run_doc.get("runId") else None
        )
        sql_less: list[SqlLessOutput] = []
        for doc in inputs:
            dataset = self._dataset(doc, when)
            read.add((dataset.namespace, dataset.name))
            self._record_read((dataset.namespace, dataset.name), doc, when)
        for doc in outputs:
            dataset = self._dataset(doc, when)
            self._record_write((dataset.namespace, dataset.name), doc, run_id, when)
            if job_key and "dataset" not in event:
                written.add((dataset.namespace, dataset.name))
            facets = doc.get("facets") or {}
            lineage = facets.get("columnLineage")
            if not isinstance(lineage, dict):  # else the explicit lineage facet's, if any
                lineage = column_lineage_of(facets.get(LINEAGE_FACET)) or declared.get(
                    (dataset.namespace, dataset.name)
                )
            if isinstance(lineage, dict) and not lineage.get("_deleted"):
                self._replace_column_lineage(dataset, lineage, job_key, when)
            if job_key and "dataset" not in event and _needs_parsing(lineage):
                if sent_sql:
                    read |= self._derive_from_sql(dataset, job_key, sql_facet, inputs, when)
                else:  # the job's SQL as of the event; parsed again if an older one comes late
                    output = SqlLessOutput(
                        self._order(when),
                        when,
                        (dataset.namespace, dataset.name),
                        [
                            {
                                "namespace": str(d.get("namespace", "")),
                                "name": str(d.get("name", "")),
                            }
                            for d in inputs
                        ],
                        run_id,
                    )
                    last = self._last_written.get(output.dataset)
                    if last is not None and last.event == self.events:
                        output.version = last  # the producer's column lineage of the event
                        output.producer_edges = list(last.edges)
                    read |= self._parse_sql_less(job_key, output)
                    sql_less.append(output)
        if job_key:
            for output in sql_less:
                output.read, output.written = read, written
                insort(self.jobs[job_key].sql_less, output, key=_sql_less_order)
            self._record_job_io(job_key, run_id, read, written, when)
            if sent_sql:  # the outputs of newer events without SQL that are parsed from it now
                self._catch_up_sql_less(job_key, self._order(when))

    def _record_job_io(
        self,
        job_key: tuple[str, str],
        run_id: str | None,
        read: set[tuple[str, str]],
        written: set[tuple[str, str]],
        when: str,
    ) -> None:
        """A job's current inputs and outputs are those of its latest finished run (Marquez's
        current job version, made when a run completes, fails or aborts), or of its latest
        JobEvent (design-time lineage); until a run finishes, what its runs read and wrote."""
        job = self.jobs[job_key]
        if run_id is None:
            if job.io_at is None or epoch_seconds(when) >= epoch_seconds(job.io_at):
                self._set_job_io(job_key, read, written, when)
            return
        run = self.runs[run_id]
        run.inputs |= read
        run.outputs |= written
        if run.state in ("COMPLETED", "FAILED", "ABORTED"):
            ended = run.ended_at or when
            if job.io_at is None or epoch_seconds(ended) >= epoch_seconds(job.io_at):
                self._set_job_io(job_key, run.inputs, run.outputs, ended)
        elif job.io_at is None:
            self._set_job_io(job_key, job.inputs | read, job.outputs | written, None)

    def _set_job_io(
        self,
        job_key: tuple[str, str],
        read: set[tuple[str, str]],
        written: set[tuple[str, str]],
        at: str | None,
    ) -> None:
        job = self.jobs[job_key]
        for key in job.inputs - read:
            if key in self.datasets:
                self.datasets[key].consumers.discard(job_key)
        for key in job.outputs - written:
            if key in self.datasets:
                self.datasets[key].producers.discard(job_key)
        job.inputs = {k for k in read if k in self.datasets}
        job.outputs = {k for k in written if k in self.datasets}
        for key in job.inputs:
            self.datasets[key].consumers.add(job_key)
        for key in job.outputs:
            self.datasets[key].producers.add(job_key)
        if at is not None:
            job.io_at = at

    def _kept_job_key(self, job_doc: dict[str, Any], run_doc: Any) -> JobKey:
        """The job's (namespace, name) as kept (lineage/jobs.py: one name per dbt model whatever
        the dbt-ol mode); the name as sent stays an alias of it. A job stored under a name the
        event taught to be an alias moves to its kept name, so the graph is the same whichever
        event arrived first."""
        job_key, taught = self.job_names.learn(job_doc, run_doc)
        for sent, kept in taught:
            if sent in self.jobs:
                self._move_job(sent, kept)
                self._catch_up_sql_less(kept, NEVER)  # the SQL either name was sent
        return job_key

    def _move_job(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        """Move the job stored as ``old`` into ``new`` (made, or merged into): its runs, its
        field edges, and its inputs and outputs (those of the later finished run, as
        ``_record_job_io`` keeps them; while neither has finished, what both read and wrote)."""
        moved = self.jobs.pop(old)
        for key in moved.inputs:
            self.datasets[key].consumers.discard(old)
        for key in moved.outputs:
            self.datasets[key].producers.discard(old)
        job = self.jobs.get(new)
        if job is None:
            job = self.jobs[new] = JobNode(*new, moved.created_at, moved.updated_at)
        job.created_at = min(job.created_at, moved.created_at, key=epoch_seconds)
        job.updated_at = max(job.updated_at, moved.updated_at, key=epoch_seconds)
        job.sent_facets.merge(moved.sent_facets)
        job.sql_sent.merge(moved.sql_sent)
        for name, history in moved.facets_sent.items():
            job.facets_sent.setdefault(name, History()).merge(history)
        for output in moved.sql_less:
            insort(job.sql_less, output, key=_sql_less_order)
        for run in self.runs.values():
            if run.job == old:
                run.job = new
                job.latest_run = _latest(self.runs, job.latest_run, run.run_id)
        for index in self._job_edges.pop(old, []):
            self.edges[index].job = new
            self._job_edges[new].append(index)
        if moved.io_at is not None and (
            job.io_at is None or epoch_seconds(moved.io_at) >= epoch_seconds(job.io_at)
        ):
            self._set_job_io(new, moved.inputs, moved.outputs, moved.io_at)
        elif job.io_at is None:
            self._set_job_io(new, job.inputs | moved.inputs, job.outputs | moved.outputs, None)

    def canonical_job(self, key: tuple[str, str]) -> tuple[str, str]:
        """The kept (namespace, name) of a job named as a producer sent it."""
        return self.job_names.kept(key)

    def _parse_sql_less(
        self, job_key: tuple[str, str], output: SqlLessOutput
    ) -> set[tuple[str, str]]:
        """Parse ``output`` (of an event that sent no SQL) from the job's SQL as of its event (a
        START may carry the SQL its COMPLETE leaves out), never a newer event's: a late older
        event's lineage is its own SQL's. A parse made before from another SQL is undone first:
        its typed edges go, the producer's edges it replaced come back. Added as the event it
        is (its arrival number), so its column lineage and the dataset's details take their
        places in event order. Returns the datasets the SQL reads that the event does not list."""
        sql_order, sql_facet = self.jobs[job_key].sql_sent.as_of(output.order)
        dataset = self.datasets.get(output.dataset)
        if dataset is None or sql_order == output.sql_order:
            return set()
        arrived, self.events = self.events, output.order[1]
        try:
            version = output.version
            if version is not None:  # undo the parse from the other SQL
                for index in version.edges:
                    edge = self.edges[index]
                    if edge.origin == "parser":
                        edge.valid_to = edge.valid_from  # never valid
                for index in output.producer_edges:
                    self.edges[index].valid_to = version.valid_to
                version.edges = list(output.producer_edges)
                self._last_written[output.dataset] = version
            read = self._derive_from_sql(dataset, job_key, sql_facet, output.inputs, output.when)
            last = self._last_written.get(output.dataset)
            if output.version is None and last is not None and last.event == output.order[1]:
                output.version = last
            output.sql_order = sql_order
            self._changes += 1
            return read
        finally:
            self.events = arrived

    def _catch_up_sql_less(self, job_key: tuple[str, str], since: Order) -> None:
        """Parse again the outputs of the job's events without SQL, from ``since`` on, whose
        SQL as of their event is no longer the one they were parsed from (an older event's SQL
        arrived late, or the SQL of a job merged into this one)."""
        job = self.jobs[job_key]
        at = bisect_left(job.sql_less, since, key=_sql_less_order)
        for output in job.sql_less[at:]:
            read = self._parse_sql_less(job_key, output)
            if read - output.read:
                output.read |= read
                self._record_job_io(
                    job_key, output.run_id, output.read, output.written, output.when
                )

    def _derive_from_sql(
        self,
        dataset: DatasetNode,
        job_key: tuple[str, str],
        sql_facet: Any,
        inputs: list[dict[str, Any]],
        when: str,
    ) -> set[tuple[str, str]]:
        """Column lineage parsed from the event's ``sql`` facet (``_event_sql``), with
        transformation types; what producers like dbt-ol leave out (types, count(*), filters,
        joins) is filled in. Returns the datasets the SQL reads that the event does not list
        (dbt-ol omits seeds)."""
        from lineage.sql_lineage import SqlLineageError, analyze_query

        order = self._order(when)
        if not isinstance(sql_facet, dict) or not sql_facet.get("query"):
            return set()
        namespaces = {d.get("name", "").lower(): d.get("namespace", "") for d in inputs}
        # Columns of the tables the SQL may read: complete lists (parsed from the producing
        # SQL, or a `schema` facet) first, then the warehouse file's catalog, then the partial
        # lists learnt from other events' inputFields (dbt-ol sends no schema for sources, so
        # `select *` over one would otherwise miss every column no lineage has named yet).
        complete: dict[str, list[str]] = {}
        partial: dict[str, list[str]] = {}
        depth = dataset.name.count(".")
        for key, node in self.datasets.items():
            if key[1].count(".") != depth:
                # sqlglot wants one nesting level; a producer's CTE named as a dataset
                # (dbt-ol's `orders` for `with orders as (…)`) must not shadow the tables
                continue
            declared = (node.facets.get("schema") or {}).get("fields")
            if node.derived_columns and not node.lineage_notes:
                complete[key[1].lower()] = node.derived_columns
            elif isinstance(declared, list) and declared:
                complete[key[1].lower()] = [
                    str(f["name"]) for f in declared if isinstance(f, dict) and f.get("name")
                ]
            else:
                columns = node.derived_columns or [f for f in node.fields if f and "." not in f]
                if columns:
                    partial[key[1].lower()] = columns
        catalog = {
            table: columns
            for table, columns in _duckdb_catalog(dataset.namespace).items()
            if table.count(".") == depth
        }
        schema = {**partial, **catalog, **complete}
        dialect = _sqlglot_dialect(str(sql_facet.get("dialect") or ""))
        try:
            query = analyze_query(str(sql_facet["query"]), schema, dialect=dialect)
        except (SqlLineageError, Exception) as error:  # noqa: BLE001 - never refuse an event
            dataset.details.noted([f"the job's SQL could not be analysed: {error}"], order)
            return set()
        dataset.details.noted(list(query.unresolved), order)
        dataset.details.derived(query.columns, order)
        fields = {}
        for column, edges in query.fields.items():
            items = []
            for edge in edges:
                table = _listed_input(edge.table, namespaces)
                source_ns = namespaces.get(table) or self._namespace_of(table, dataset)
                if (source_ns, table) == (dataset.namespace, dataset.name.lower()):
                    continue  # an incremental model reading itself ({{ this }}): no lineage
                items.append(
                    {
                        "namespace": source_ns,
                        "name": self._name_of(table, source_ns, query.table_spelling),
                        "field": edge.column,
                        "transformations": [
                            {
                                "type": edge.type,
                                "subtype": edge.subtype,
                                "description": edge.description,
                            }
                        ],
                    }
                )
            fields[column] = {"inputFields": items}
        facet = {"_producer": "flowledger#parser", "fields": fields, "dataset": []}
        self._replace_column_lineage(dataset, facet, job_key, when)
        self._retire_producer_guesses(
            dataset,
            job_key,
            query.columns,
            fields,
            {(str(d.get("namespace", "")), str(d.get("name", ""))) for d in inputs},
            when,
            complete=not query.unresolved,
        )
        read: set[tuple[str, str]] = set()
        for table in query.tables:  # inputs the producer left out (dbt-ol omits seeds)
            table = _listed_input(table, namespaces)
            source_ns = namespaces.get(table) or self._namespace_of(table, dataset)
            source = self.datasets.get(
                (source_ns, self._name_of(table, source_ns, query.table_spelling))
            )
            if source is not None and (source.namespace, source.name) != (
                dataset.namespace,
                dataset.name,
            ):
                read.add((source.namespace, source.name))
        return read

    def _retire_producer_guesses(
        self,
        dataset: DatasetNode,
        job_key: tuple[str, str],
        columns: list[str],
        parsed: dict[str, dict[str, Any]],
        event_inputs: set[tuple[str, str]],
        when: str,
        *,
        complete: bool,
    ) -> None:
        """Where the parser placed a column, the producer's untyped edges of that column are
        replaced: those from an input the parser placed too (or from a column whose nested field
        it placed: `payload.qty` read by JSON path replaces `payload`) are closed at the parse
        time, so every reader (upstream, downstream, traces, the export) sees only the typed
        edges; those from datasets the event does not list as inputs go (dbt-ol names CTEs as
        input datasets: ``orders.order_id`` for ``with orders as (…)``); a column the producer
        names but the query does not select (dbt-ol takes a union's second branch's aliases as
        columns) goes too, when the parser resolved the query; and so does an edge from a
        column its input does not have (dbt-ol took a lateral alias, `amount_eur`, for a column
        of the table it reads), when that input's columns are known whole: it is no longer named
        among that input's fields."""
        known = {c.lower() for c in columns}
        placed: dict[str, set[FieldKey]] = {}
        for column, spec in parsed.items():
            for item in spec["inputFields"]:
                source = FieldKey(item["namespace"], item["name"], str(item["field"]))
                nested = FieldKey(source.namespace, source.dataset, source.field.split(".")[0])
                placed.setdefault(column.lower(), set()).update((source, nested))
        version = self._lineage_version((dataset.namespace, dataset.name), when)
        kept: list[int] = []
        dropped_inputs: set[tuple[str, str]] = set()
        for index in version.edges:  # this event's own: never an older or newer event's
            edge = self.edges[index]
            name = edge.output.field.lower()
            if edge.origin != "event" or edge.subtype:
                kept.append(index)
                continue
            phantom = complete and bool(name) and name not in known
            unlisted = (edge.input.namespace, edge.input.dataset) not in event_inputs
            if (name in placed and unlisted) or phantom:
                edge.valid_to = edge.valid_from  # never valid
                dropped_inputs.add((edge.input.namespace, edge.input.dataset))
            elif complete and name in placed and self._lacks_column(edge.input):
                edge.valid_to = edge.valid_from  # never valid: the input has no such column
                upstream = self.datasets.get((edge.input.namespace, edge.input.dataset))
                if upstream is not None:
                    upstream.details.fields.unnamed(edge.input.field, self._order(when))
            elif edge.input in placed.get(name, ()):
                edge.valid_to = when  # replaced by the typed edges parsed from the same event
            else:
                kept.append(index)
        version.edges = kept
        for key in dropped_inputs:
            self._forget_if_unused(key)
        if complete:  # the fields neither selected nor in the schema go, as of this event
            dataset.details.fields.selected(known, self._order(when))

    def _lacks_column(self, field: FieldKey) -> bool:
        """Whether ``field``'s dataset has a known whole list of columns (a complete parse of
        the SQL writing it, or a ``schema`` facet) without the field's column."""
        node = self.datasets.get((field.namespace, field.dataset))
        if node is None:
            return False
        declared = (node.facets.get("schema") or {}).get("fields")
        if node.derived_columns and not node.lineage_notes:
            columns = node.derived_columns
        elif isinstance(declared, list) and declared:
            columns = [str(f.get("name")) for f in declared if isinstance(f, dict)]
        else:
            return False
        return field.field.split(".")[0].lower() not in {c.lower() for c in columns}

    def _forget_if_unused(self, key: tuple[str, str]) -> None:
        """Drop a dataset only a retired edge named (a CTE): no job, facet or live edge has it."""
        node = self.datasets.get(key)
        if node is None or node.producers or node.consumers or node.facets:
            return
        for name in node.fields:
            for index in self._downstream.get(FieldKey(*key, name), ()):
                if self.edges[index].valid_to != self.edges[index].valid_from:
                    return
        del self.datasets[key]

    def _namespace_of(self, table: str, output: DatasetNode) -> str:
        for namespace, name in self.datasets:
            if name.lower() == table and namespace == output.namespace:
                return namespace
        for namespace, name in self.datasets:
            if name.lower() == table:
                return namespace
        return output.namespace

    def _name_of(self, table: str, namespace: str, spelling: dict[str, str] | None = None) -> str:
        """The dataset of ``namespace`` named ``table`` in any case; for a table no event has
        named yet, its spelling in the SQL or the catalog (``kiosk.RawZone.payments_2023``,
        not a second, lower-cased dataset)."""
        for ns, name in self.datasets:
            if ns == namespace and name.lower() == table:
                return name
        return (spelling or {}).get(table, table)

    def _add_run(
        self, run_doc: dict[str, Any], job_key: tuple[str, str], event: dict[str, Any], when: str
    ) -> None:
        run_id = str(run_doc["runId"])
        event_type = str(event.get("eventType") or "OTHER")
        run = self.runs.get(run_id)
        if run is None:
            run = self.runs[run_id] = RunNode(
                run_id, job_key, "RUNNING", created_at=when, updated_at=when
            )
        created_earlier = epoch_seconds(when) < epoch_seconds(run.created_at)
        if created_earlier:
            run.created_at = when
        order = self._order(when)
        run.sent_facets.record(run_doc.get("facets") or {}, order)
        if event_type in ("COMPLETE", "FAIL", "ABORT"):
            if order >= run.end_order:  # of two ends, the newer's (a late older end is none)
                run.state, run.ended_at, run.end_order = RUN_STATES[event_type], when, order
        elif event_type in RUN_STATES and run.ended_at is None:
            run.state = RUN_STATES[event_type]
        if event_type == "START":
            run.started_at = (
                when if not run.started_at else min(run.started_at, when, key=epoch_seconds)
            )
        run.updated_at = max(run.updated_at, when, key=epoch_seconds)
        job = self.jobs[job_key]
        if created_earlier and job.latest_run == run_id:  # another run may be the latest now
            job.latest_run = None
            for other in self.runs.values():
                if other.job == job_key:
                    job.latest_run = _latest(self.runs, job.latest_run, other.run_id)
        else:
            job.latest_run = _latest(self.runs, job.latest_run, run_id)

    def _add_parent_placeholder(
        self, run_doc: dict[str, Any], child_job: JobKey, event: dict[str, Any], when: str
    ) -> None:
        """The parent run a run's ``parent`` facet names, and its job, when no event made them
        yet, as Marquez makes them (``OpenLineageDao.createParentJobRunRecord``): the job named
        in the facet (in the child's namespace when the facet names none), and a run of it in the
        state of the child's event, at its time. The parent's own events, when they come, are
        merged into both as into any job and run."""
        parent = (run_doc.get("facets") or {}).get("parent")
        if not isinstance(parent, dict):
            return
        run = parent.get("run") if isinstance(parent.get("run"), dict) else {}
        job = parent.get("job") if isinstance(parent.get("job"), dict) else {}
        run_id, name = str(run.get("runId") or ""), str(job.get("name") or "")
        if not run_id or not name or run_id in self.runs:
            return
        key = self.canonical_job((str(job.get("namespace") or child_job[0]), name))
        if key == child_job:
            return  # a run naming a run of its own job as its parent: no job to make
        if key not in self.jobs:
            self.jobs[key] = JobNode(*key, created_at=when, updated_at=when)
        self._add_run({"runId": run_id}, key, event, when)

    def _record_write(
        self, key: tuple[str, str], doc: dict[str, Any], run_id: str | None, when: str
    ) -> None:
        version = run_version(key, doc, run_id) if run_id is not None else None
        insort(self._writes.setdefault(key, []), (self._order(when), version), key=_first)

    def _record_read(self, key: tuple[str, str], doc: dict[str, Any], when: str) -> None:
        first = self._first_reads.get(key)
        if first is None or self._order(when) < first[0]:
            self._first_reads[key] = (self._order(when), read_version(key, doc, when))

    def _dataset(self, doc: dict[str, Any], when: str) -> DatasetNode:
        """The dataset an input or output of the event lists, with the event's facets."""
        dataset = self._named_dataset(
            str(doc.get("namespace") or ""), str(doc.get("name") or ""), when
        )
        dataset.listed_at = max(dataset.listed_at or when, when, key=epoch_seconds)
        dataset.details.listed(doc.get("facets") or {}, self._order(when))
        return dataset

    def _named_dataset(self, namespace: str, name: str, when: str) -> DatasetNode:
        """The dataset an event at ``when`` names, made when none is stored yet."""
        dataset = self.datasets.get((namespace, name))
        if dataset is None:
            dataset = self.datasets[(namespace, name)] = DatasetNode(namespace, name, when)
        elif epoch_seconds(when) < epoch_seconds(dataset.created_at):
            dataset.created_at = when
        return dataset

    def _order(self, when: str) -> Order:
        """The order of the event being added (at ``when``) among all events: newer wins."""
        return epoch_seconds(when), self.events

    def _replace_column_lineage(
        self,
        dataset: DatasetNode,
        facet: dict[str, Any],
        job_key: tuple[str, str] | None,
        when: str,
    ) -> None:
        origin = "parser" if str(facet.get("_producer", "")).endswith("#parser") else "event"
        version = self._lineage_version((dataset.namespace, dataset.name), when)
        new: list[int] = []
        fields = facet.get("fields") or {}
        dataset_inputs = [i for i in facet.get("dataset") or [] if isinstance(i, dict)]
        dataset.details.fields.named(
            [str(name) for name, spec in fields.items() if isinstance(spec, dict)],
            self._order(when),
        )
        for out_field, spec in fields.items():
            if not isinstance(spec, dict):
                continue
            output = FieldKey(dataset.namespace, dataset.name, str(out_field))
            for item in spec.get("inputFields") or []:
                if isinstance(item, dict):
                    new += self._add_input(output, item, spec, job_key, when, origin, False)
        whole = FieldKey(dataset.namespace, dataset.name, "")  # affects every field
        for item in dataset_inputs:
            new += self._add_input(whole, item, {}, job_key, when, origin, True)
        for index in new:
            self.edges[index].valid_to = version.valid_to
        version.edges += new

    def _lineage_version(self, key: tuple[str, str], when: str) -> LineageVersion:
        """The version of dataset ``key``'s column lineage that the event being added (at time
        ``when``) writes; the producer's edges, then the parser's, of one event stand together.

        A new event writing the dataset defines its column lineage from its time on, whatever
        its job is called (dbt-ol names a model's job differently per mode), as Marquez answers
        from the dataset's current version. Events may arrive out of event-time order, so the
        versions are kept in event-time order and their intervals never overlap: the new one
        ends the version valid at its time (an older event's, or one of the same time that
        arrived before it), and itself ends where the next newer event's begins."""
        last = self._last_written.get(key)
        if last is not None and last.event == self.events:
            return last
        versions = self._versions.setdefault(key, [])
        at = bisect_right(versions, self._order(when), key=LineageVersion.order)
        following = versions[at].valid_from if at < len(versions) else FAR_FUTURE
        version = LineageVersion(self.events, when, following)
        if at:
            previous = versions[at - 1]
            previous.valid_to = when
            for index in previous.edges:
                edge = self.edges[index]
                if epoch_seconds(edge.valid_to) > epoch_seconds(
                    when
                ):  # a retired edge (never valid) stays so
                    edge.valid_to = when
        versions.insert(at, version)
        self._last_written[key] = version
        return version

    def _add_input(
        self,
        output: FieldKey,
        item: dict[str, Any],
        spec: dict[str, Any],
        job_key: tuple[str, str] | None,
        when: str,
        origin: str,
        dataset_level: bool,
    ) -> list[int]:
        source = FieldKey(
            str(item.get("namespace") or ""), str(item.get("name") or ""), str(item.get("field"))
        )
        upstream = self._named_dataset(source.namespace, source.dataset, when)
        upstream.details.fields.named([source.field], self._order(when))
        transformations = [t for t in item.get("transformations") or [] if isinstance(t, dict)]
        if not transformations:
            # Deprecated per-field form (and dbt-ol's empty list): DIRECT, subtype unknown.
            legacy = str(spec.get("transformationType") or "")
            subtype = "IDENTITY" if legacy == "IDENTITY" else ""
            transformations = [
                {
                    "type": "INDIRECT" if dataset_level else "DIRECT",
                    "subtype": subtype,
                    "description": spec.get("transformationDescription") or "",
                }
            ]
        added = []
        seen: set[tuple[str, str]] = set()
        for transformation in transformations:
            kind = (
                str(transformation.get("type") or "DIRECT"),
                str(transformation.get("subtype") or ""),
            )
            if kind in seen:
                continue
            seen.add(kind)
            masking = transformation.get("masking")
            edge = FieldEdge(
                output=output,
                input=source,
                type=kind[0],
                subtype=kind[1],
                description=str(transformation.get("description") or ""),
                job=job_key,
                valid_from=when,
                origin=origin,
                dataset_level=dataset_level,
                masking=masking if isinstance(masking, bool) else None,
            )
            index = len(self.edges)
            self.edges.append(edge)
            self._upstream[output].append(index)
            self._downstream[source].append(index)
            if job_key:
                self._job_edges[job_key].append(index)
            added.append(index)
        return added

    # ------------------------------------------------------------------ reading

    def upstream_edges(self, key: FieldKey, as_of: str | None = None) -> list[FieldEdge]:
        """Edges into ``key``: its own, then its dataset's whole-dataset edges not already there."""
        own = [self.edges[i] for i in self._upstream.get(key, ()) if self.edges[i].valid_at(as_of)]
        whole = self._upstream.get(FieldKey(key.namespace, key.dataset, ""))
        if not whole or not key.field:
            return own
        kinds = {(e.input, e.type, e.subtype) for e in own}
        for index in whole:
            edge = self.edges[index]
            if edge.valid_at(as_of) and (edge.input, edge.type, edge.subtype) not in kinds:
                own.append(edge)
        return own

    def shown_version(self, key: tuple[str, str], as_of: str | None = None) -> str | None:
        """The dataset version of ``key`` whose column lineage is read as of ``as_of`` (now
        when None): the version the run event that sent the lineage wrote (None when no run's
        event sent it). A dataset without column lineage: its version at that time."""
        lineage = self._lineage_at(key, as_of)
        if lineage is None:
            return self.version_before(key, _read_order(as_of))
        writes = self._writes.get(key, [])
        at = bisect_left(writes, lineage.order(), key=_first)
        return writes[at][1] if at < len(writes) and writes[at][0] == lineage.order() else None

    def version_read(
        self, source: tuple[str, str], output: tuple[str, str], as_of: str | None = None
    ) -> str | None:
        """The version of dataset ``source`` that the event which sent ``output``'s column
        lineage (as read as of ``as_of``) read: the newest written before that event."""
        lineage = self._lineage_at(output, as_of)
        return self.version_before(source, lineage.order()) if lineage is not None else None

    def version_before(self, key: tuple[str, str], before: Order) -> str | None:
        """The version of dataset ``key`` the newest event before ``before`` wrote (None when a
        DatasetEvent or a JobEvent wrote it, or it was not written yet); a dataset only ever
        read has the one version of its first read, as in lineage/dataset_versions.py."""
        writes = self._writes.get(key)
        if not writes:
            first = self._first_reads.get(key)
            return first[1] if first is not None else None
        at = bisect_left(writes, before, key=_first)
        return writes[at - 1][1] if at else None

    def _lineage_at(self, key: tuple[str, str], as_of: str | None) -> LineageVersion | None:
        """The column lineage of output dataset ``key`` valid at ``as_of`` (now when None)."""
        versions = self._versions.get(key, [])
        at = bisect_right(versions, _read_order(as_of), key=LineageVersion.order)
        if not at:
            return None
        lineage = versions[at - 1]
        if as_of is None:
            return lineage if lineage.valid_to == FAR_FUTURE else None
        return lineage if epoch_seconds(as_of) < epoch_seconds(lineage.valid_to) else None

    def downstream_edges(self, key: FieldKey, as_of: str | None = None) -> list[FieldEdge]:
        return [
            self.edges[i] for i in self._downstream.get(key, ()) if self.edges[i].valid_at(as_of)
        ]

    def field_keys(self) -> Iterator[FieldKey]:
        for dataset in self.datasets.values():
            for name in dataset.fields:
                yield FieldKey(dataset.namespace, dataset.name, name)

    def trace(
        self,
        start: FieldKey,
        *,
        depth: int = 20,
        downstream: bool = False,
        as_of: str | None = None,
        direct_only: bool = False,
    ) -> Sequence[tuple[int, FieldEdge]]:
        """Breadth-first walk from ``start``: (hop, edge) for every edge reached within ``depth``."""
        if as_of is None and not direct_only:
            return self._fast_trace(start, depth, downstream)
        step = self.downstream_edges if downstream else self.upstream_edges
        seen = {start}
        frontier = [start]
        found: list[tuple[int, FieldEdge]] = []
        for hop in range(1, depth + 1):
            following: list[FieldKey] = []
            for key in frontier:
                for edge in step(key, as_of):
                    if direct_only and edge.type != "DIRECT":
                        continue
                    found.append((hop, edge))
                    nxt = edge.output if downstream else edge.input
                    if nxt not in seen:
                        seen.add(nxt)
                        following.append(nxt)
            if not following:
                break
            frontier = following
        return found

    def _index(self):
        """Integer adjacency of the current edges (as ``upstream_edges`` answers them), built once
        per change of the graph: per node, the indexes of its edges and the set of its
        neighbours, upstream and downstream, so a trace runs level by level in C (set unions,
        list extends) instead of edge by edge in Python."""
        if self._compiled is not None and self._compiled[0] == self._changes:
            return self._compiled
        ids: dict[FieldKey, int] = {}
        edge_index = {id(edge): i for i, edge in enumerate(self.edges)}
        keys = list(dict.fromkeys([*self._upstream, *self._downstream]))
        for key in keys:
            ids.setdefault(key, len(ids))
        up_edges: dict[int, list[int]] = defaultdict(list)
        down_edges: dict[int, list[int]] = defaultdict(list)
        up_nodes: dict[int, set[int]] = defaultdict(set)
        down_nodes: dict[int, set[int]] = defaultdict(set)
        for key in keys:
            if not key.field:
                continue
            node = ids[key]
            for edge in self.upstream_edges(key):
                source = ids.setdefault(edge.input, len(ids))
                index = edge_index[id(edge)]
                up_edges[node].append(index)
                down_edges[source].append(index)
                up_nodes[node].add(source)
                down_nodes[source].add(node)
        self._compiled = (
            self._changes,
            ids,
            (dict(up_edges), {k: frozenset(v) for k, v in up_nodes.items()}),
            (dict(down_edges), {k: frozenset(v) for k, v in down_nodes.items()}),
        )
        return self._compiled

    def _fast_trace(self, start: FieldKey, depth: int, downstream: bool) -> TraceEdges:
        _, ids, up, down = self._index()
        origin = ids.get(start)
        if origin is None:
            return TraceEdges(self.edges)
        edge_lists, neighbour_sets = down if downstream else up
        edges = self.edges
        empty: frozenset[int] = frozenset()
        seen = {origin}
        frontier: set[int] | list[int] = [origin]
        found = TraceEdges(edges)
        for hop in range(1, depth + 1):
            reached = list(chain.from_iterable(edge_lists.get(n, ()) for n in frontier))
            if not reached:
                break
            found.levels.append((hop, reached))
            frontier = set().union(*(neighbour_sets.get(n, empty) for n in frontier)) - seen
            if not frontier:
                break
            seen |= frontier
        return found

    # ------------------------------------------------------------------ node ids

    def resolve_dataset(self, namespace_and_name: str) -> tuple[str, str]:
        """``<ns>:<name>`` → the stored (namespace, name) it names."""
        for namespace, name in self.datasets:
            if namespace_and_name == f"{namespace}:{name}":
                return namespace, name
        lowered = namespace_and_name.lower()  # DuckDB's relation names are case-insensitive
        for namespace, name in self.datasets:
            if lowered == f"{namespace}:{name}".lower():
                return namespace, name
        for alias, target in self.symlinks():
            if namespace_and_name == f"{alias[0]}:{alias[1]}":
                return target
        raise NodeNotFound(f"no dataset {namespace_and_name!r}")

    def symlinks(self) -> Iterator[tuple[tuple[str, str], tuple[str, str]]]:
        """(alias, dataset) for each identifier a dataset's ``symlinks`` facet lists that names
        no dataset of its own: Marquez answers a dataset's symlink names with the dataset
        (``DatasetDao.findDatasetByName``: ``(namespace, name) = ANY(dataset_symlinks)``), so a
        Hive table written by path (Spark) is found by its table name too."""
        for key, dataset in self.datasets.items():
            facet = dataset.facets.get("symlinks")
            identifiers = facet.get("identifiers") if isinstance(facet, dict) else None
            for identifier in identifiers if isinstance(identifiers, list) else []:
                if not isinstance(identifier, dict) or not identifier.get("name"):
                    continue
                alias = (str(identifier.get("namespace") or ""), str(identifier["name"]))
                if alias not in self.datasets:
                    yield alias, key

    def dataset_key(self, key: tuple[str, str]) -> tuple[str, str]:
        """``key``, or the dataset it is a symlink name of (:meth:`symlinks`)."""
        if key in self.datasets:
            return key
        return next((target for alias, target in self.symlinks() if alias == key), key)

    def resolve_job(self, namespace_and_name: str) -> tuple[str, str]:
        for namespace, name in chain(self.jobs, self.job_names.aliases):
            if namespace_and_name == f"{namespace}:{name}":
                return self.canonical_job((namespace, name))
        raise NodeNotFound(f"no job {namespace_and_name!r}")

    def resolve_field(self, rest: str) -> FieldKey:
        """``<ns>:<dataset>:<field>`` → the stored field (longest dataset match first)."""
        for (namespace, name), _dataset in sorted(
            self.datasets.items(), key=lambda item: -len(item[0][0]) - len(item[0][1])
        ):
            prefix = f"{namespace}:{name}:"
            if rest.startswith(prefix) or rest.lower().startswith(prefix.lower()):
                asked = rest[len(prefix) :]
                if asked not in _dataset.fields:  # DuckDB columns are case-insensitive
                    lowered = asked.lower()
                    asked = next((f for f in _dataset.fields if f.lower() == lowered), asked)
                return FieldKey(namespace, name, asked)
        for (namespace, name), target in self.symlinks():
            prefix = f"{namespace}:{name}:"
            if rest.startswith(prefix):
                return self.resolve_field(f"{target[0]}:{target[1]}:{rest[len(prefix) :]}")
        raise NodeNotFound(f"no dataset field {rest!r}")

    def find_column(self, reference: str) -> list[FieldKey]:
        """``MODEL.COLUMN`` (or ``db.schema.table.column``, or a field node id) → matching fields.

        The dataset part matches a whole stored name or its last dotted parts.
        """
        if reference.startswith("datasetField:"):
            return [self.resolve_field(reference.removeprefix("datasetField:"))]
        matches: list[FieldKey] = []
        for (namespace, name), dataset in self.datasets.items():
            lowered = name.lower()
            for field_name in dataset.fields:
                full = f"{lowered}.{field_name.lower()}"
                target = reference.lower()
                if full == target or full.endswith("." + target):
                    matches.append(FieldKey(namespace, name, field_name))
        return sorted(set(matches))


def _listed_input(table: str, listed: dict[str, str]) -> str:
    """The event's input dataset a table of the SQL names: ``runs`` in ``from runs`` is the
    input ``public.runs`` when exactly one input ends so; else the table as written."""
    if table in listed:
        return table
    matches = [name for name in listed if name.endswith("." + table)]
    return matches[0] if len(matches) == 1 else table


_CATALOGS: dict[tuple[str, float], dict[str, list[str]]] = {}


def _duckdb_catalog(namespace: str) -> dict[str, list[str]]:
    """Columns of every table in a ``duckdb://<path>`` namespace's file (``db.schema.table`` →
    names), read-only; empty when the file is missing or another process holds it."""
    import os

    if not namespace.startswith("duckdb://"):
        return {}
    path = namespace.removeprefix("duckdb://")
    try:
        stamp = os.path.getmtime(path)
    except OSError:
        return {}
    cached = _CATALOGS.get((path, stamp))
    if cached is not None:
        return cached
    import duckdb

    try:
        con = duckdb.connect(path, read_only=True)
        try:
            rows = con.execute(
                "select table_catalog, table_schema, table_name, column_name "
                "from information_schema.columns order by 1, 2, 3, ordinal_position"
            ).fetchall()
        finally:
            con.close()
    except duckdb.Error:
        return {}
    catalog: dict[str, list[str]] = {}
    for db, schema, table, column in rows:
        catalog.setdefault(f"{db}.{schema}.{table}".lower(), []).append(column)
    _CATALOGS.clear()
    _CATALOGS[(path, stamp)] = catalog
    return catalog


def _first(item: tuple[Order, Any]) -> Order:
    return item[0]


def _read_order(as_of: str | None) -> Order:
    """The order of a read as of ``as_of`` (after every event of that time; now when None)."""
    return (epoch_seconds(as_of) if as_of is not None else float("inf"), sys.maxsize)


def _sql_less_order(output: SqlLessOutput) -> Order:
    return output.order


def _doc_key(doc: dict[str, Any]) -> tuple[str, str]:
    return str(doc.get("namespace") or ""), str(doc.get("name") or "")


def _needs_parsing(facet: Any) -> bool:
    """True when a columnLineage facet is absent or leaves transformation types out."""
    if not isinstance(facet, dict):
        return True
    if str(facet.get("_producer", "")).endswith("#parser"):
        return False
    for spec in (facet.get("fields") or {}).values():
        if not (spec or {}).get("inputFields"):
            return True  # dbt-ol sends `inputFields: []` for what its parser cannot place
        for item in (spec or {}).get("inputFields") or []:
            if not (item or {}).get("transformations"):
                return True
    return not facet.get("fields")


_DIALECTS = {"postgresql": "postgres", "sparksql": "spark", "mssql": "tsql", "sqlserver": "tsql"}


def _sqlglot_dialect(name: str) -> str:
    from sqlglot.dialects.dialect import Dialect

    lowered = _DIALECTS.get(name.lower(), name.lower())
    try:
        Dialect.get_or_raise(lowered)
    except ValueError:
        return ""
    return lowered


def _latest(runs: dict[str, RunNode], current: str | None, candidate: str) -> str:
    if current is None or current not in runs:
        return candidate
    return (
        candidate
        if epoch_seconds(runs[candidate].created_at) >= epoch_seconds(runs[current].created_at)
        else current
    )
