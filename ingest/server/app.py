"""The receiver as a Starlette app: routes, limits, back-pressure, and its background parts.

``create_app(data_dir, config)`` returns the ASGI app; its lifespan starts the spool writer, the
drainer and (when ``build_every_s`` is set) the background builder, and stops them in the
reverse order. ``flowledger serve`` runs it with uvicorn (see :mod:`flowledger.service`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from flowledger.request_guard import (
    CLIENT_CLOSED_REQUEST,
    DEFAULT_BODY_IDLE_S,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_INFLIGHT_REQUESTS,
    DEFAULT_RETRY_AFTER_S,
    ClientError,
    RequestGuard,
    json_error,
)
from flowledger.settings import DataDir
from ingest.contracts import load_contracts
from ingest.scrub import load_pii_key, scrub_secrets
from ingest.server import otlp
from ingest.server.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, Authenticator, Refused
from ingest.server.builder import Builder
from ingest.server.drain import Drainer, DrainResult
from ingest.server.formats import (
    DEFAULT_MAX_RECORDS,
    Item,
    check_record_count,
    cloudevent_items,
    run_items,
)
from ingest.server.intake import (
    DEFAULT_INDEX_SIZE,
    DEFAULT_MAX_RECORD_BYTES,
    Intake,
    PendingWrite,
    Prepared,
)
from ingest.server.metrics import Metrics
from ingest.server.request_metrics import RequestMetrics
from ingest.server.spool import Spool, SpoolError

log = logging.getLogger("flowledger.receiver")


@dataclass
class ReceiverConfig:
    """Every knob of the receiver; the CLI fills it from its options."""

    tokens: dict[str, str]
    hmac_keys: dict[str, str] = field(default_factory=dict)
    #: token source → the record sources its requests may write (none: any)
    token_sources: dict[str, frozenset[str]] = field(default_factory=dict)
    hmac_tolerance_s: float = 300.0
    require_auth: bool = True
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_records: int = DEFAULT_MAX_RECORDS
    max_inflight_requests: int = DEFAULT_MAX_INFLIGHT_REQUESTS
    #: the longest wait for the next chunk of a body before the request is answered 408
    body_idle_s: float = DEFAULT_BODY_IDLE_S
    max_backlog_records: int = 2_000_000
    retry_after_s: int = DEFAULT_RETRY_AFTER_S
    segment_seconds: float = 1.0
    drain_interval_s: float = 1.0
    drain_lock_wait_s: float = 0.5
    index_size: int = DEFAULT_INDEX_SIZE
    build_every_s: float | None = None
    drain: bool = True
    #: Routes served beside the receiver's (the OpenLineage API, lineage.api), built with its
    #: authenticator (None under ``require_auth=False``), so that they accept and refuse the same
    #: bearer tokens, and its request guard, so that their POSTs share its in-flight slots and
    #: body limit.
    extra_routes: Callable[[Authenticator | None, RequestGuard], list[BaseRoute]] | None = None


class Receiver:
    """The state behind the routes (one per app)."""

    def __init__(self, data_dir: DataDir, config: ReceiverConfig) -> None:
        self.data_dir = data_dir
        self.config = config
        self.metrics = Metrics()
        self.auth = Authenticator(
            config.tokens,
            config.hmac_keys,
            tolerance_s=config.hmac_tolerance_s,
            seen_path=data_dir.root / "receiver" / "signatures-seen.txt"
            if config.hmac_keys
            else None,
        )
        pii_key = functools.cache(lambda: load_pii_key(data_dir.root / "secrets"))
        self.intake = Intake(
            load_contracts(),
            pii_key,
            self.metrics,
            max_record_bytes=config.max_record_bytes,
            index_size=config.index_size,
        )
        self.spool = Spool(
            data_dir.root / "spool",
            segment_seconds=config.segment_seconds,
            on_commit=self._on_commit,
        )
        self.drainer = Drainer(
            data_dir,
            self.spool,
            interval_s=config.drain_interval_s,
            lock_wait_s=config.drain_lock_wait_s,
            on_result=self._on_drain,
            on_busy=lambda: self.metrics.inc("flowledger_drain_rounds_total", result="busy"),
            on_error=self._on_drain_error,
        )
        #: the error of the last drain round when it failed (a full disk, a broken warehouse):
        #: not ready then, though intake still takes records into the spool
        self.drain_failure: str | None = None
        self.builder = (
            Builder(data_dir, config.build_every_s, self.metrics) if config.build_every_s else None
        )
        self.guard = RequestGuard(
            config.max_body_bytes,
            config.max_inflight_requests,
            config.retry_after_s,
            body_idle_s=config.body_idle_s,
        )
        self.metrics.gauge("flowledger_spool_backlog_records", lambda: self.spool.backlog_records)
        self.metrics.gauge("flowledger_intake_inflight_requests", lambda: self.guard.inflight)

    # -- background parts ---------------------------------------------------------------------

    def start(self) -> None:
        self.data_dir.ensure()
        self.spool.start()
        if self.config.drain:
            self.drainer.start()
        if self.builder is not None:
            self.builder.start()

    def stop(self) -> None:
        if self.builder is not None:
            self.builder.stop()
        self.spool.stop()
        if self.config.drain:
            self.drainer.stop(final_drain=True)
        self.auth.close()

    def _on_commit(self, requests: int, records: int, seconds: float) -> None:
        self.metrics.inc("flowledger_spool_commits_total")
        self.metrics.inc("flowledger_spool_committed_requests_total", requests)

    def _on_drain(self, result: DrainResult) -> None:
        self.drain_failure = None
        self.metrics.inc("flowledger_drain_rounds_total", result="ok")
        for (kind, outcome), count in result.counts.items():
            self.metrics.inc("flowledger_drain_records_total", count, kind=kind, outcome=outcome)

    def _on_drain_error(self, message: str) -> None:
        self.drain_failure = message
        self.metrics.inc("flowledger_drain_rounds_total", result="error")
        log.error(message)

    # -- request handling ---------------------------------------------------------------------

    def backlog_full(self) -> str | None:
        """Why the spool takes no more records (its backlog at the limit), or None."""
        backlog = self.spool.backlog_records
        if backlog < self.config.max_backlog_records:
            return None
        return (
            f"{backlog:,} records wait to be drained into the warehouse (limit "
            f"{self.config.max_backlog_records:,})"
        )

    def source_of(self, request: Request) -> str:
        """The bearer token's source (before the body is read)."""
        if not self.config.require_auth:
            return "anonymous"
        return self.auth.source_of(request.headers.get("authorization"))

    def verify_signature(self, request: Request, source: str, raw_body: bytes) -> None:
        """A signing source's HMAC over the body as sent (still compressed, when it is)."""
        if self.config.require_auth and self.auth.needs_signature(source):
            self.auth.verify_signature(
                source,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                raw_body,
                query=request.url.query,
                headers=request.headers,
            )

    async def ingest(self, items: list[Item], request_id: str, source: str) -> Prepared:
        """Check, spool and count ``items`` of one request of token source ``source``.

        The checks and scrubbing run in a worker thread, so a large request does not hold the
        event loop (health checks and other clients are answered meanwhile). Classifying the
        records against the edge index and handing the write to the spool happen together on
        the loop, so the index sees the writes in the spool's order."""
        check_record_count(len(items), self.config.max_records)
        bound = self.config.token_sources.get(source) if self.config.require_auth else None
        binding = (source, bound) if bound else None
        prepared = await asyncio.to_thread(self.intake.prepare, items, request_id, binding)
        pending = PendingWrite()
        rests_on = self.intake.admit(prepared, pending)
        # The write goes on if this request is cancelled (its client went away): its keys are
        # settled by what the spool did, not by the cancellation.
        write = asyncio.ensure_future(self.spool.append(prepared.write))
        write.add_done_callback(
            lambda done: self.intake.settle(
                prepared, pending, stored=not done.cancelled() and done.exception() is None
            )
        )
        await asyncio.shield(write)
        for earlier in rests_on:
            if not await earlier.stored():
                raise SpoolError(
                    "a concurrent request holding records of this one could not be stored; "
                    "send again"
                )
        self.intake.counted(prepared)
        if prepared.write:
            self.drainer.wake()
        return prepared


Handler = Callable[[Request, bytes, str, str], Awaitable[Response]]
#: How a route answers a failure: (request, HTTP status, message, headers) → response.
ErrorAnswer = Callable[[Request, int, str, dict[str, str] | None], Response]


def create_app(data_dir: DataDir, config: ReceiverConfig) -> Starlette:
    receiver = Receiver(data_dir, config)

    def intake_route(
        route: str, handler: Handler, error_answer: ErrorAnswer = json_error
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                # The bearer token first: a client without a valid one gets 401, learns nothing
                # of the receiver's load and takes no slot. Capacity next, before the body is
                # read, so a full receiver does not read megabytes only to refuse them. A signing
                # source's HMAC covers the body, so it is checked once the body is read: at
                # capacity, a valid token with a bad signature is answered 429, not 401.
                source = receiver.source_of(request)
                with receiver.guard.capacity_slot(receiver.backlog_full()):
                    raw_body = await receiver.guard.read_body(request)
                    receiver.verify_signature(request, source, raw_body)
                    body = await asyncio.to_thread(receiver.guard.decode_body, request, raw_body)
                    request_id = uuid.uuid4().hex
                    response = await handler(request, body, source, request_id)
            except Refused as refused:
                response = error_answer(
                    request, 401, refused.message, {"WWW-Authenticate": "Bearer"}
                )
            except ClientError as error:
                response = error_answer(request, error.status, error.message, error.headers)
            except ClientDisconnect:  # the client went away mid-body: nothing to answer
                log.info("client disconnected before sending the whole body on %s", route)
                response = Response(status_code=CLIENT_CLOSED_REQUEST)
            except SpoolError as error:
                response = error_answer(
                    request, 503, str(error), {"Retry-After": str(config.retry_after_s)}
                )
            except Exception as error:  # a bug: answer 500 without leaking the body
                log.exception("unexpected error on %s", route)
                message = f"internal error ({type(error).__name__}); nothing stored"
                response = error_answer(request, 500, scrub_secrets(message), None)
            return response

        return endpoint

    def answer(prepared: Prepared) -> JSONResponse:
        nothing_kept = prepared.rejected_count and not (
            prepared.accepted or prepared.duplicates or prepared.collisions
        )
        return JSONResponse(prepared.answer(), status_code=422 if nothing_kept else 200)

    async def post_events(request: Request, body: bytes, source: str, request_id: str) -> Response:
        items = await asyncio.to_thread(cloudevent_items, request.headers, body, config.max_records)
        return answer(await receiver.ingest(items, request_id, source))

    async def post_runs(request: Request, body: bytes, source: str, request_id: str) -> Response:
        kinds = request.query_params.getlist("kind")
        if len(kinds) > 1:
            raise ClientError(
                400, f"?kind= given {len(kinds)} times ({', '.join(kinds)}): give one, or none"
            )
        items = await asyncio.to_thread(
            run_items, request.headers, body, kinds[0] if kinds else None, config.max_records
        )
        return answer(await receiver.ingest(items, request_id, source))

    async def post_traces(request: Request, body: bytes, source: str, request_id: str) -> Response:
        return await otlp.handle_traces(receiver, request, body, source, request_id)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        problems = []
        if not receiver.spool.alive:
            problems.append(
                f"spool writer down: {receiver.spool.failed}"
                if receiver.spool.failed
                else "spool writer not running"
            )
        backlog = receiver.spool.backlog_records
        if backlog >= config.max_backlog_records:
            problems.append(f"spool backlog {backlog:,} at its limit")
        if receiver.drain_failure is not None:
            problems.append(
                f"{receiver.drain_failure}; {backlog:,} records wait in the spool, kept, "
                "and are landed once a round succeeds"
            )
        if problems:
            return PlainTextResponse("not ready: " + "; ".join(problems) + "\n", status_code=503)
        return PlainTextResponse("ready\n")

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(
            receiver.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        receiver.start()
        try:
            yield
        finally:
            receiver.stop()

    routes: list[BaseRoute] = [
        Route("/v1/events", intake_route("/v1/events", post_events), methods=["POST"]),
        Route("/v1/runs", intake_route("/v1/runs", post_runs), methods=["POST"]),
        Route(
            "/v1/traces",
            intake_route("/v1/traces", post_traces, otlp.error_answer),
            methods=["POST"],
        ),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *(
            config.extra_routes(receiver.auth if config.require_auth else None, receiver.guard)
            if config.extra_routes
            else []
        ),
    ]
    # every request counted and timed, the mounted routes' too (ingest/server/request_metrics.py)
    counted = Middleware(RequestMetrics, metrics=receiver.metrics, routes=routes)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[counted],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.receiver = receiver
    return app


async def _http_error(request: Request, error: Exception) -> Response:
    """A path no route serves (404) or a method its route does not take (405, with Allow), in
    the shape of every other refusal, ``{"code", "message"}``, not Starlette's plain text."""
    assert isinstance(error, HTTPException)
    return json_error(request, error.status_code, error.detail, error.headers)
