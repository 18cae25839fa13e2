"""Every HTTP request of ``flowledger serve`` counted and timed: the receiver's routes and the
OpenLineage API it mounts alike, by method, route and status.

``route`` is the template of the route that answers (``/api/v1/namespaces/{namespace}/datasets/
{name}``), never the path asked for, so the label takes no more values than there are routes,
whatever names clients send; a path no route knows is counted as ``unmatched``."""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.server.metrics import Metrics

UNMATCHED = "unmatched"
#: The methods counted by name; any other is counted as ``other`` (a server whose HTTP parser
#: takes any token as a method must not get one series per token).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The status counted when the app raised before answering (the server answers 500).
_SERVER_ERROR = 500


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The template of the route that answers ``scope``, as Starlette's router picks it: the
    first route matching path and method, else the first matching the path (its 405)."""
    partial: BaseRoute | None = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return _template(route)
        if match is Match.PARTIAL and partial is None:
            partial = route
    return _template(partial) if partial is not None else UNMATCHED


def _template(route: BaseRoute) -> str:
    return getattr(route, "path_format", UNMATCHED)


class RequestMetrics:
    """ASGI middleware: ``flowledger_receiver_requests_total{method, route, status}`` and the
    ``flowledger_request_duration_seconds{method, route}`` histogram (from the request's arrival
    until its answer is sent)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"] if scope["method"] in _METHODS else "other"
        labels = {"method": method, "route": route_template(self.routes, scope)}
        status = _SERVER_ERROR

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe("flowledger_request_duration_seconds", elapsed, **labels)
            self.metrics.inc("flowledger_receiver_requests_total", status=str(status), **labels)
