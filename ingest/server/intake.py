"""From items to a spool write and an answer: contract check, scrub, edge dedupe, quarantine.

The edge index remembers the payload hash of every record key acknowledged since the receiver
started (up to ``index_size`` keys, oldest forgotten first), so a re-sent record is answered as
a duplicate at once and never written twice, and a same-key-other-payload record is counted as
a collision. A request's keys are *reserved* in the index when its write is handed to the spool
(:meth:`Intake.admit`, on the event loop, in the order the writes reach the spool) and become
acknowledged once the write is on disk (:meth:`Intake.settle`): of two concurrent requests with
the same key, the one whose write lands second is told ``collision`` (or ``duplicate``), as the
warehouse will judge it, and a request answered ``duplicate`` of a write still in flight waits
for that write (:meth:`PendingWrite.stored`) and is answered 503 if it failed. The index starts
empty after a restart; the drainer's natural-key dedupe in the warehouse is the authority and
its counts are in ``flowledger_drain_records_total``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.contracts import Contract, RecordKind
from ingest.json_values import finite_json, value_as_text
from ingest.quarantine import cap_raw_record, encodable
from ingest.server.edge import (
    EdgeChecker,
    RewrittenKey,
    depth_exceeds,
    line_hash,
    scrub_reason,
    scrub_rejected,
)
from ingest.server.formats import Item
from ingest.server.metrics import Metrics
from ingest.server.spool import QUARANTINE_STREAM, SpoolWrite

DEFAULT_MAX_RECORD_BYTES = 1 << 20
DEFAULT_INDEX_SIZE = 500_000
#: Rejections listed in an answer (with index and reason); every one is quarantined.
MAX_LISTED_REJECTIONS = 100


@dataclass(frozen=True)
class Candidate:
    """A checked, scrubbed and encoded record, not yet classified against the edge index."""

    kind: RecordKind
    key: tuple[Any, ...]
    digest: int
    line: bytes


class PendingWrite:
    """A request's write between its hand-over to the spool and its fsync: whether it was
    stored, for the requests that found their records in it. Created on the event loop."""

    def __init__(self) -> None:
        self._stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def settle(self, stored: bool) -> None:
        if not self._stored.done():
            self._stored.set_result(stored)

    async def stored(self) -> bool:
        return await asyncio.shield(self._stored)


@dataclass
class Prepared:
    """What one request will write, and what it will answer once the write is durable."""

    request_id: str
    write: SpoolWrite = field(default_factory=SpoolWrite)
    accepted: int = 0
    duplicates: int = 0
    collisions: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_count: int = 0
    by_kind: dict[tuple[str, str], int] = field(default_factory=dict)
    keys: list[tuple[tuple[Any, ...], int, bool]] = field(default_factory=list)
    #: records that passed the checks, in request order, for :meth:`Intake.admit` to classify
    candidates: list[Candidate] = field(default_factory=list)

    def count(self, kind: RecordKind, outcome: str) -> None:
        self.by_kind[(kind.value, outcome)] = self.by_kind.get((kind.value, outcome), 0) + 1

    def answer(self) -> dict[str, Any]:
        """The response body; ``rejected`` lists the first :data:`MAX_LISTED_REJECTIONS`,
        ``rejected_not_listed`` (only when there are more) counts the rest."""
        answer = {
            "request_id": self.request_id,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "collisions": self.collisions,
            "rejected": self.rejected,
        }
        if self.rejected_count > len(self.rejected):
            answer["rejected_not_listed"] = self.rejected_count - len(self.rejected)
        return answer


class EdgeIndex:
    """Natural key → payload hash of acknowledged records (bounded, FIFO), and the keys of
    writes still in flight (:class:`PendingWrite`)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._first: dict[tuple[Any, ...], int] = {}
        self._collided: dict[tuple[tuple[Any, ...], int], None] = {}
        self._pending_first: dict[tuple[Any, ...], tuple[int, PendingWrite]] = {}
        self._pending_collided: dict[tuple[tuple[Any, ...], int], PendingWrite] = {}
        self._lock = threading.Lock()

    def classify(self, key: tuple[Any, ...], digest: int) -> tuple[str, PendingWrite | None]:
        """``accepted``, ``duplicate`` or ``collision``, and the write in flight the outcome
        rests on (None when it rests on acknowledged records only)."""
        with self._lock:
            first = self._first.get(key)
            if first is not None:
                if first == digest or (key, digest) in self._collided:
                    return "duplicate", None
                pending = self._pending_collided.get((key, digest))
                return ("duplicate", pending) if pending else ("collision", None)
            in_flight = self._pending_first.get(key)
            if in_flight is None:
                return "accepted", None
            pending_digest, pending = in_flight
            if pending_digest == digest:
                return "duplicate", pending
            collided = self._pending_collided.get((key, digest))
            return ("duplicate", collided) if collided else ("collision", pending)

    def reserve(
        self, entries: Sequence[tuple[tuple[Any, ...], int, bool]], pending: PendingWrite
    ) -> None:
        """Mark ``entries`` as written by ``pending`` (still in flight)."""
        with self._lock:
            for key, digest, collided in entries:
                if collided:
                    self._pending_collided.setdefault((key, digest), pending)
                else:
                    self._pending_first.setdefault(key, (digest, pending))

    def release(
        self,
        entries: Sequence[tuple[tuple[Any, ...], int, bool]],
        pending: PendingWrite,
        *,
        stored: bool,
    ) -> None:
        """``pending`` is done: its reservations go, and become acknowledged if ``stored``."""
        with self._lock:
            for key, digest, collided in entries:
                if collided:
                    if self._pending_collided.get((key, digest)) is pending:
                        del self._pending_collided[(key, digest)]
                elif self._pending_first.get(key, (None, None))[1] is pending:
                    del self._pending_first[key]
        if stored:
            self.remember(entries)

    def remember(self, entries: Sequence[tuple[tuple[Any, ...], int, bool]]) -> None:
        with self._lock:
            for key, digest, collided in entries:
                if collided:
                    self._collided[(key, digest)] = None
                    if len(self._collided) > self.size:
                        del self._collided[next(iter(self._collided))]
                elif key not in self._first:
                    self._first[key] = digest
                    if len(self._first) > self.size:
                        del self._first[next(iter(self._first))]

    def __len__(self) -> int:
        return len(self._first)


def rejected_raw_text(scrubbed: Any) -> str:
    """A rejected record as the JSON text of its quarantine row. JSON has no NaN or Infinity,
    which an OTLP span's double attribute can hold: they are written as the strings "NaN",
    "Infinity", "-Infinity" (a bare NaN made the row's raw_record invalid JSON). A key given
    twice (Pairs): each of its values, as file ingest writes it."""
    try:
        return json.dumps(scrubbed, ensure_ascii=False, allow_nan=False)
    except TypeError:
        return value_as_text(scrubbed) or ""
    except ValueError:  # a non-finite float
        return json.dumps(finite_json(scrubbed), ensure_ascii=False, allow_nan=False)


#: the field of each record kind that names the system it comes from
SOURCE_FIELDS = {
    RecordKind.BUSINESS_EVENT: "source",
    RecordKind.FLOW_RUN: "source_system",
    RecordKind.STEP_RUN: "source_system",
    RecordKind.QUEUE_DEPTH_SAMPLE: "source_system",
}


def _unbound_source(
    kind: RecordKind, record: dict[str, Any], token_source: str, allowed: frozenset[str]
) -> str | None:
    """Why a record of a source its token is not bound to is refused (None when it is)."""
    field_name = SOURCE_FIELDS[kind]
    value = record.get(field_name)
    if value in allowed:
        return None
    return (
        f"{field_name}: {value!r} is not a source the token of {token_source!r} may write "
        f"(it writes {', '.join(repr(v) for v in sorted(allowed))}; see --token-sources)"
    )


class Intake:
    def __init__(
        self,
        contracts: dict[RecordKind, Contract],
        pii_key: Callable[[], bytes],
        metrics: Metrics,
        *,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        index_size: int = DEFAULT_INDEX_SIZE,
    ) -> None:
        self.checkers = {kind: EdgeChecker(contract) for kind, contract in contracts.items()}
        self.pii_key = pii_key
        self.metrics = metrics
        self.max_record_bytes = max_record_bytes
        self.index = EdgeIndex(index_size)

    def prepare(
        self,
        items: Sequence[Item],
        request_id: str,
        binding: tuple[str, frozenset[str]] | None = None,
    ) -> Prepared:
        """Check, scrub and encode every item (the records that pass become
        ``prepared.candidates``, the others quarantine lines); nothing is written or classified
        yet (:meth:`admit`). The costly part of a request: callers run it off the event loop.
        ``binding``: the request's token source and the record sources it may write (a record
        of another source is rejected: a token must not take another source's keys first)."""
        prepared = Prepared(request_id)
        received_at = datetime.now(UTC).isoformat()
        checked: dict[RecordKind, list[tuple[Item, dict[str, Any]]]] = {}
        for item in items:
            reason = item.problem
            normalised = None
            if reason is None and item.record is not None:
                try:
                    normalised, reason = self.checkers[item.kind].check(item.record)
                    if reason is not None:
                        reason = self._reason_without_personal_data(item, reason)
                except RecursionError:
                    reason = "the record nests too deeply to check"
            if normalised is not None and binding is not None:
                reason = _unbound_source(item.kind, normalised, *binding)
                if reason is not None:
                    normalised = None
            if normalised is None:
                self._reject(prepared, item, reason or "no record", received_at)
            else:
                checked.setdefault(item.kind, []).append((item, normalised))
        for kind, pairs in checked.items():
            checker = self.checkers[kind]
            try:
                lines = checker.spool_lines([record for _, record in pairs], self.pii_key)
            except (TypeError, ValueError, RecursionError):
                # one record the encoder refuses must not take the others with it: one by one
                for item, normalised in pairs:
                    try:
                        line = checker.spool_line(normalised, self.pii_key)
                    except (TypeError, ValueError, RecursionError) as error:
                        self._reject(prepared, item, f"cannot be encoded: {error}", received_at)
                    else:
                        self._candidate(prepared, item, normalised, line, received_at)
                continue
            for (item, normalised), line in zip(pairs, lines, strict=True):
                self._candidate(prepared, item, normalised, line, received_at)
        return prepared

    def _reason_without_personal_data(self, item: Item, reason: str) -> str:
        """The reason as the scrubbed record gives it (reasons quote values), as on the file
        path, which scrubs before it checks."""
        checker = self.checkers[item.kind]
        assert item.record is not None
        if depth_exceeds(item.record):
            # too deep to scrub whole (scrub_rejected refuses it): scrub the top-level values the
            # reason may quote (before they are cut to 80 characters, which could cut a secret
            # short of what its rule needs), keeping the nested ones for the check
            scrubber = checker.scrubber
            scrubbed = {
                name: value
                if isinstance(value, dict | list)
                else scrubber.scrub_field(name, value, self.pii_key)
                for name, value in item.record.items()
            }
        else:
            scrubbed = scrub_rejected(item.record, checker.contract, self.pii_key)
        _, scrubbed_reason = checker.check(scrubbed)
        return scrubbed_reason or reason

    def _candidate(
        self,
        prepared: Prepared,
        item: Item,
        normalised: dict[str, Any],
        line: bytes | RewrittenKey,
        received_at: str,
    ) -> None:
        if isinstance(line, RewrittenKey):
            self._reject(prepared, item, line.reason, received_at)
            return
        if len(line) > self.max_record_bytes:
            reason = (
                f"the record is {len(line):,} bytes once encoded, above the limit of "
                f"{self.max_record_bytes:,}"
            )
            self._reject(prepared, item, reason, received_at)
            return
        key = (item.kind.value, *self.checkers[item.kind].natural_key(normalised))
        prepared.candidates.append(Candidate(item.kind, key, line_hash(line), line))

    def admit(self, prepared: Prepared, pending: PendingWrite) -> set[PendingWrite]:
        """Classify the candidates against the edge index and the request's earlier records,
        add the records to write, and reserve their keys for ``pending``. Runs on the event
        loop, right before the write is handed to the spool, so that the index sees writes in
        the spool's order. Returns the writes in flight this request's answer rests on."""
        in_request: dict[tuple[Any, ...], set[int]] = {}  # the payloads this request writes
        rests_on: set[PendingWrite] = set()
        for candidate in prepared.candidates:
            key, digest, kind = candidate.key, candidate.digest, candidate.kind
            outcome, in_flight = self.index.classify(key, digest)
            written = in_request.get(key)
            if outcome != "duplicate" and written is not None:
                outcome, in_flight = ("duplicate" if digest in written else "collision"), None
            if in_flight is not None:
                rests_on.add(in_flight)
            if outcome == "duplicate":
                prepared.duplicates += 1
                prepared.count(kind, "duplicate")
                continue
            in_request.setdefault(key, set()).add(digest)
            prepared.write.add(kind.value, candidate.line)
            collided = outcome == "collision"
            prepared.keys.append((key, digest, collided))
            if collided:
                prepared.collisions += 1
            else:
                prepared.accepted += 1
            prepared.count(kind, outcome)
        prepared.candidates = []
        self.index.reserve(prepared.keys, pending)
        return rests_on

    def _reject(self, prepared: Prepared, item: Item, reason: str, received_at: str) -> None:
        reason = encodable(scrub_reason(reason))
        prepared.rejected_count += 1
        if len(prepared.rejected) < MAX_LISTED_REJECTIONS:
            prepared.rejected.append({"index": item.index, "reason": reason})
        prepared.count(item.kind, "rejected")
        try:
            scrubbed = scrub_rejected(item.raw, self.checkers[item.kind].contract, self.pii_key)
            raw_text = rejected_raw_text(scrubbed)
        except (RecursionError, TypeError, ValueError):
            raw_text = json.dumps({"_unstored": "the record could not be encoded"})
        line = {
            "request_id": prepared.request_id,
            "received_at": received_at,
            "record_kind": item.kind.value,
            "index": item.index,
            "reason": reason,
            "raw_record": cap_raw_record(raw_text),
        }
        prepared.write.add(QUARANTINE_STREAM, json.dumps(line, ensure_ascii=False).encode() + b"\n")

    def settle(self, prepared: Prepared, pending: PendingWrite, *, stored: bool) -> None:
        """The write of ``prepared`` is on disk (``stored``) or failed: its reservations become
        acknowledged keys or are dropped, and the requests resting on it learn which."""
        self.index.release(prepared.keys, pending, stored=stored)
        pending.settle(stored)

    def counted(self, prepared: Prepared) -> None:
        """The request is answered with its counts: add them to the metrics."""
        for (kind, outcome), count in prepared.by_kind.items():
            self.metrics.inc("flowledger_receiver_records_total", count, kind=kind, outcome=outcome)
