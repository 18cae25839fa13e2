"""The lineage HTTP endpoints as Starlette routes, for the flowledger server to mount.

    routes = lineage_routes(data_dir, Authenticator({"openlineage": "<key>"}), guard=guard)

- ``POST /api/v1/lineage``: one OpenLineage event (RunEvent, DatasetEvent or JobEvent; gzip
  bodies); 201 once it is on disk (fsync'd), 400 unreadable, 422 a required field missing.
- ``POST /api/v1/lineage/batch``: a JSON array of events; 200 with the spec's summary.
- ``GET /api/v1/lineage?nodeId=&depth=`` and ``GET /api/v1/column-lineage?nodeId=&depth=&
  withDownstream=`` in Marquez's shapes; ``asOf=`` (or ``#<time>`` on the id) reads the past.
- Marquez's lists: ``/api/v1/namespaces``, ``…/namespaces/{ns}/datasets[/{name}[/versions[/{v}]]]``,
  ``…/namespaces/{ns}/jobs[/{name}[/runs]]``, ``/api/v1/jobs/runs/{id}[/facets]``,
  ``/api/v1/events/lineage``, ``/api/v1/search``.
- flowledger's own: ``GET /api/v1/flowledger/trace?column=MODEL.COLUMN&downstream=&asOf=``
  (the trace tree with transformation types and SQL).

``authenticator`` (:class:`ingest.server.auth.Authenticator`; the receiver's when ``flowledger
serve`` mounts the routes) checks ``Authorization: Bearer <token>`` on every route when given, and
refuses as on ``/v1/*``, in Marquez's shape: 401 ``{"code": 401, "message": "invalid bearer
token"}``. Bearer only: OpenLineage clients do not sign, so a source's HMAC key is not asked for
here. After the token, both POSTs pass ``guard``
(:class:`flowledger.request_guard.RequestGuard`; the receiver's when ``flowledger serve`` mounts
the routes, so they share its limits): an in-flight slot (429 with ``Retry-After``), then the body
read and un-gzipped within the size limit (413), as on ``/v1/events``. The GETs are answered in
a worker thread, one at a time, so a slow read holds up no other request of the server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from flowledger.request_guard import CLIENT_CLOSED_REQUEST, ClientError, RequestGuard, json_error
from flowledger.settings import DataDir
from ingest.server.auth import Authenticator, Refused
from lineage.dataset_versions import dataset_versions, version_time
from lineage.event_order import Order, epoch_seconds, instant_text, utc_time
from lineage.graph import LineageGraph, NodeNotFound
from lineage.intake import IntakeError, check_event, parse_json
from lineage.marquez import (
    BadRequest,
    column_lineage,
    dataset_data,
    dataset_version_data,
    job_data,
    lineage,
    node_version,
    run_data,
    run_facets,
    search,
)
from lineage.service import LineageError, ProjectLineageSync, resolve_column, trace
from lineage.stats import BadStatsQuery, lineage_event_counts, running_totals
from lineage.stats import zone as stats_zone
from lineage.store import LineageStore

Endpoint = Callable[[Request], Awaitable[Response]]


def lineage_routes(
    data_dir: DataDir,
    authenticator: Authenticator | None = None,
    guard: RequestGuard | None = None,
    *,
    open_reads: bool = False,
) -> list[BaseRoute]:
    """The routes; ``authenticator`` checks every request's bearer token (None: anyone may call
    them; ``open_reads``: anyone may call the GETs, as Marquez's web UI does, which sends no
    token), ``guard`` bounds the POSTs (a guard of their own, with the default limits, when none
    is given)."""
    guard = guard if guard is not None else RequestGuard()
    store = LineageStore(data_dir)
    project_lineage = ProjectLineageSync(data_dir, store)
    # The reads run in a worker thread, never on the event loop: rebuilding the graph takes
    # seconds at 10^5 edges, and a read that syncs the dbt project's lineage (the first, and the
    # first after a build) waits up to 5 s for the warehouse writer lock (ProjectLineageSync),
    # which on the loop would stall every request of the server, /v1/events included. One read
    # at a time (this limiter's one token): the graph is refreshed in place while it is read, so
    # reads must not overlap; the reads waiting for the token are tasks, not threads. The POSTs
    # only append to the event files (LineageStore.append, under a file lock and fsync'd, in a
    # thread of their own): they never touch the graph, which picks up their complete lines on
    # its next refresh, and do not wait for a read.
    one_read_at_a_time = anyio.CapacityLimiter(1)

    def graph() -> LineageGraph:
        project_lineage.refresh()
        return store.graph()

    def guarded(handler: Endpoint, *, needs_token: bool = True) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                if authenticator is not None and needs_token:
                    authenticator.source_of(request.headers.get("authorization"))
                return await handler(request)
            except Refused as refused:
                return json_error(request, 401, refused.message, {"WWW-Authenticate": "Bearer"})
            except ClientError as error:
                return json_error(request, error.status, error.message, error.headers)
            except ClientDisconnect:  # the client went away mid-body: nothing to answer
                return Response(status_code=CLIENT_CLOSED_REQUEST)
            except IntakeError as error:
                return json_error(request, error.status, error.message)
            except BadRequest as error:
                return json_error(request, 400, str(error))
            except (NodeNotFound, LineageError) as error:
                # the message as raised (str() of a LookupError's subclass KeyError quotes it)
                return json_error(request, 404, str(error.args[0]) if error.args else "")

        return endpoint

    def read(handler: Callable[[Request], Response]) -> Endpoint:
        """A GET answered by ``handler`` in a worker thread, one read at a time."""

        async def endpoint(request: Request) -> Response:
            return await anyio.to_thread.run_sync(handler, request, limiter=one_read_at_a_time)

        return endpoint

    def intake(handler: Callable[[Any], Awaitable[Response]]) -> Endpoint:
        """A POST (its key already checked) that takes an in-flight slot, reads its body within
        the limit and hands the JSON document to ``handler``, which stores it in the slot."""

        async def endpoint(request: Request) -> Response:
            with guard.capacity_slot():
                body = guard.decode_body(request, await guard.read_body(request))
                return await handler(parse_json(body))

        return endpoint

    async def stored(events: list[dict[str, Any]]) -> None:
        """Append and fsync the events; a write that fails (a full disk) leaves nothing behind
        and is answered 503 with ``Retry-After``: nothing was stored, the client sends again."""
        try:
            await anyio.to_thread.run_sync(store.append, events)
        except OSError as error:
            raise ClientError(
                503,
                f"the lineage store could not write the events ({error.strerror or error}); "
                f"nothing was stored, retry after {guard.retry_after_s} s",
                {"Retry-After": str(guard.retry_after_s)},
            ) from None

    async def post_event(document: Any) -> Response:
        if isinstance(document, list):
            raise IntakeError(400, "the body is a JSON array: post arrays to /api/v1/lineage/batch")
        await stored([check_event(document)])
        return Response(status_code=201)

    async def post_batch(document: Any) -> Response:
        if not isinstance(document, list):
            raise IntakeError(400, "the batch body must be a JSON array of OpenLineage events")
        accepted, failed = [], []
        for index, item in enumerate(document):
            try:
                accepted.append(check_event(item, where=f"[{index}]."))
            except IntakeError as error:
                failed.append({"index": index, "reason": error.message, "retriable": False})
        await stored(accepted)
        status = "success" if not failed else "partial_success"
        return JSONResponse(
            {
                "status": status,
                "summary": {
                    "received": len(document),
                    "successful": len(accepted),
                    "failed": len(failed),
                },
                "failed_events": failed,
            },
            status_code=200,
        )

    def get_lineage(request: Request) -> Response:
        depth = _int(request, "depth", 20)
        return JSONResponse(lineage(graph(), request.query_params.get("nodeId", ""), depth))

    def get_column_lineage(request: Request) -> Response:
        depth = _int(request, "depth", 20)
        downstream = _bool(request, "withDownstream")
        as_of = request.query_params.get("asOf")
        node_id = request.query_params.get("nodeId", "")
        version = node_version(node_id)
        if version is not None and "T" not in version and not downstream:
            # a Marquez dataset version (…/datasets/{name}/versions): the lineage of its time
            # (with withDownstream=true a version is a 400, which column_lineage answers)
            when = version_time(store.events(), version)
            if when is None:
                raise NodeNotFound(f"no dataset version {version!r}")
            node_id = f"{node_id.split('#', 1)[0]}#{when}"
        return JSONResponse(column_lineage(graph(), node_id, depth, downstream, as_of))

    def get_trace(request: Request) -> Response:
        column = request.query_params.get("column", "")
        if not column:
            raise BadRequest("column is required: MODEL.COLUMN, e.g. fct_cases.cycle_time_seconds")
        current = graph()
        result = trace(
            current,
            resolve_column(current, column),
            downstream=_bool(request, "downstream"),
            depth=_int(request, "depth", 20),
            as_of=request.query_params.get("asOf"),
        )
        return JSONResponse(result.to_dict())

    def namespace_names() -> list[str]:
        current = graph()
        return sorted({ns for ns, _ in current.datasets} | {ns for ns, _ in current.jobs})

    def namespaces(request: Request) -> Response:
        items = list(_namespaces(graph()).values())
        return JSONResponse({"namespaces": _page(request, items)})

    def namespace(request: Request) -> Response:
        """``/namespaces/{ns}`` (marquez-python's ``get_namespace``), the namespace in one
        encoded segment as clients send a URI namespace."""
        segments = _raw_segments(request)
        at = segments.index("namespaces") if "namespaces" in segments else -1
        if at >= 0 and len(segments) == at + 2:
            name = unquote(segments[at + 1])
        else:
            name = request.path_params["namespace"]
        found = _namespaces(graph()).get(name)
        if found is None:
            raise NodeNotFound(f"no namespace {name!r}")
        return JSONResponse(found)

    def known_namespace(request: Request) -> str:
        """The namespace of a list's path; 404 when nothing is in it, as Marquez's
        ``throwIfNotExists`` answers (an empty list would hide a misspelt namespace)."""
        ns = _names(request)[0]
        if ns not in namespace_names():
            raise NodeNotFound(f"no namespace {ns!r}")
        return ns

    def datasets(request: Request) -> Response:
        ns = known_namespace(request)
        current = graph()
        keys = sorted(k for k in current.datasets if k[0] == ns)
        items = [dataset_data(current, k) for k in keys]
        return JSONResponse({"datasets": _page(request, items), "totalCount": len(items)})

    def dataset(request: Request) -> Response:
        asked, versions_asked, version = _dataset_path(request)
        current = graph()
        key = current.dataset_key(asked)  # a symlink name answers with its dataset
        if key not in current.datasets:
            raise NodeNotFound(f"no dataset {key[1]!r} in namespace {key[0]!r}")
        if not versions_asked:
            return JSONResponse(dataset_data(current, key))
        kept = dataset_versions(store.events(), only=key).get(key, [])
        if version is None:
            items = [dataset_version_data(current, v) for v in kept]
            return JSONResponse({"versions": _page(request, items), "totalCount": len(items)})
        for found in kept:
            if found.version == version:
                return JSONResponse(dataset_version_data(current, found))
        raise NodeNotFound(f"no version {version!r} of dataset {key[1]!r} in {key[0]!r}")

    def jobs(request: Request) -> Response:
        ns = known_namespace(request)
        current = graph()
        items = [job_data(current, k) for k in sorted(current.jobs) if k[0] == ns]
        return JSONResponse({"jobs": _page(request, items), "totalCount": len(items)})

    def job(request: Request) -> Response:
        current = graph()
        key = current.canonical_job(_names(request))
        if key not in current.jobs:
            versions = _job_versions_asked(request)
            if versions is not None and current.canonical_job(versions) not in current.jobs:
                key = versions
            elif versions is not None:
                raise NodeNotFound(
                    f"job versions are not supported: flowledger keeps no versions of job "
                    f"{versions[1]!r} in {versions[0]!r} (Marquez's …/jobs/{{job}}/versions); "
                    "its current inputs, outputs and facets are at …/jobs/{job}, its runs at "
                    "…/jobs/{job}/runs"
                )
            raise NodeNotFound(f"no job {key[1]!r} in namespace {key[0]!r}")
        return JSONResponse(job_data(current, key))

    def tags(request: Request) -> Response:
        _page(request, [])  # limit and offset checked as Marquez checks them
        # Marquez's TagResource: {"tags": [{name, description}]}; flowledger keeps no tags
        return JSONResponse({"tags": []})

    def job_runs(request: Request) -> Response:
        if not _asks_runs(request):  # a job named `…/runs`, its slash encoded: the job
            return job(request)
        current = graph()
        key = current.canonical_job(_names(request))
        if key not in current.jobs:
            raise NodeNotFound(f"no job {key[1]!r} in namespace {key[0]!r}")
        runs = sorted(
            (r for r in current.runs.values() if r.job == key),
            key=lambda r: epoch_seconds(r.created_at),
            reverse=True,
        )
        items = [run_data(current, r.run_id) for r in runs]
        return JSONResponse({"runs": _page(request, items), "totalCount": len(items)})

    def run(request: Request) -> Response:
        run_id = request.path_params["run_id"].lower()  # stored as intake stores it
        current = graph()
        if run_id not in current.runs:
            raise NodeNotFound(f"no run {run_id!r}")
        return JSONResponse(run_data(current, run_id))

    def facets_of_run(request: Request) -> Response:
        run_id = request.path_params["run_id"].lower()  # stored as intake stores it
        current = graph()
        if run_id not in current.runs:
            raise NodeNotFound(f"no run {run_id!r}")
        facet_type = request.query_params.get("type") or "run"
        return JSONResponse(run_facets(current, run_id, facet_type.lower()))

    def search_names(request: Request) -> Response:
        params = request.query_params
        return JSONResponse(
            search(
                graph(),
                params.get("q", ""),
                kind=params.get("filter") or None,
                sort=params.get("sort") or "NAME",
                limit=_int(request, "limit", 10),
                namespace=params.get("namespace") or None,
            )
        )

    def stats(request: Request) -> Response:
        """``/stats/{lineage-events|jobs|datasets|sources}?period=DAY|WEEK&timezone=`` (the
        counts on Marquez's web UI home page; lineage/stats.py)."""
        asset = request.path_params["asset"]
        period = request.query_params.get("period") or "DAY"
        try:
            tz = stats_zone(request.query_params.get("timezone"))
            now = datetime.now(UTC)
            if asset == "lineage-events":
                return JSONResponse(lineage_event_counts(store.events(), period, tz, now))
            current = graph()
            created: dict[str, list[str]] = {
                "jobs": [job.created_at for job in current.jobs.values()],
                "datasets": [dataset.created_at for dataset in current.datasets.values()],
                "sources": list(_sources(current).values()),
            }
            if asset not in created:
                raise NodeNotFound(f"no stats {asset!r}: lineage-events, jobs, datasets or sources")
            return JSONResponse(running_totals(created[asset], period, tz, now))
        except BadStatsQuery as error:
            raise BadRequest(str(error)) from None

    def raw_events(request: Request) -> Response:
        before, after = _instant(request, "before"), _instant(request, "after")
        ordered: list[tuple[Order, dict[str, Any]]] = []
        for arrival, stored in enumerate(store.iter_stored()):
            when = epoch_seconds(str(stored.event.get("eventTime") or ""))
            if (before is None or when < before) and (after is None or when > after):
                ordered.append(((when, arrival), stored.event))
        direction = (request.query_params.get("sortDirection") or "desc").lower()
        if direction not in ("asc", "desc"):
            raise BadRequest(f"sortDirection must be asc or desc, not {direction!r}")
        # the newest first, as Marquez, unless sortDirection=asc (its web UI's events page)
        ordered.sort(key=lambda item: item[0], reverse=direction == "desc")
        events = [event for _, event in ordered]
        return JSONResponse({"events": _page(request, events), "totalCount": len(events)})

    def post(path: str, handler: Callable[[Any], Awaitable[Response]]) -> Route:
        return Route(f"/api/v1{path}", guarded(intake(handler)), methods=["POST"])

    def get(path: str, handler: Callable[[Request], Response]) -> Route:
        return Route(
            f"/api/v1{path}", guarded(read(handler), needs_token=not open_reads), methods=["GET"]
        )

    return [
        _one_route(post("/lineage", post_event), get("/lineage", get_lineage)),
        post("/lineage/batch", post_batch),
        get("/column-lineage", get_column_lineage),
        get("/flowledger/trace", get_trace),
        get("/namespaces", namespaces),
        get("/namespaces/{namespace:path}/datasets", datasets),
        get("/namespaces/{namespace:path}/datasets/{name:path}", dataset),
        get("/namespaces/{namespace:path}/jobs", jobs),
        get("/namespaces/{namespace:path}/jobs/{name:path}/runs", job_runs),
        get("/namespaces/{namespace:path}/jobs/{name:path}", job),
        get("/namespaces/{namespace:path}", namespace),  # after the routes under it
        get("/jobs/runs/{run_id}", run),
        get("/jobs/runs/{run_id}/facets", facets_of_run),
        get("/events/lineage", raw_events),
        get("/stats/{asset}", stats),
        get("/search", search_names),
        get("/search/", search_names),  # Marquez's web UI asks /search/?q=…
        get("/tags", tags),
    ]


def _one_route(*routes: Route) -> Route:
    """The ``routes`` of one path (each for other methods) as one route, so that a method none
    takes is answered 405 with an ``Allow`` naming every method the path takes (Starlette
    answers from the first route that matches the path)."""
    by_method = {method: route.endpoint for route in routes for method in route.methods or ()}

    async def endpoint(request: Request) -> Response:
        return await by_method[request.method](request)

    return Route(routes[0].path, endpoint, methods=sorted(by_method))


def _names(request: Request) -> tuple[str, str]:
    """The namespace and the dataset or job name of ``/namespaces/{ns}/(datasets|jobs)/{name}``,
    each one encoded path segment as Marquez clients send them: a URI namespace
    (``duckdb%3A%2F%2F%2Fw.duckdb``) holds slashes the decoded path no longer tells apart."""
    segments = _raw_segments(request)
    if "namespaces" in segments:
        at = segments.index("namespaces")
        rest = [unquote(segment) for segment in segments[at + 1 :]]
        if len(rest) == 3 or (len(rest) == 4 and rest[3] == "runs"):
            return rest[0], rest[2]
        if len(rest) == 2:
            return rest[0], ""
    return request.path_params["namespace"], request.path_params.get("name", "")


def _raw_segments(request: Request) -> list[str]:
    """The path's segments as sent, still percent-encoded (``[]`` without a raw path): the
    routes match the decoded path, where an encoded ``/`` inside a name is a separator."""
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1").split("?", 1)[0].split("/") if raw else []


def _job_versions_asked(request: Request) -> tuple[str, str] | None:
    """The job of ``/namespaces/{ns}/jobs/{job}/versions[/{version}]`` (Marquez's job versions,
    ``versions`` not encoded), None for any other path."""
    segments = _raw_segments(request)
    if "namespaces" not in segments:
        return None
    rest = [unquote(s) for s in segments[segments.index("namespaces") + 1 :]]
    if len(rest) in (4, 5) and rest[1] == "jobs" and rest[3] == "versions":
        return rest[0], rest[2]
    return None


def _asks_runs(request: Request) -> bool:
    """Whether ``/namespaces/{ns}/jobs/{name}/runs`` asks for the job's runs: the route matched
    the decoded path, where a job named ``nightly/runs`` sent as ``nightly%2Fruns`` looks alike."""
    segments = [segment for segment in _raw_segments(request) if segment]
    # the last segment as sent: `runs` asks for runs (whatever slashes the names hold), an
    # encoded `nightly%2Fruns` is the end of a job's name
    return not segments or segments[-1] == "runs"


def _sources(graph: LineageGraph) -> dict[str, str]:
    """Each source (a dataset's ``dataSource`` name, else its namespace, as its ``sourceName``)
    and the earliest time a dataset of it was named."""
    first: dict[str, str] = {}
    for dataset in graph.datasets.values():
        name = dataset_data(graph, (dataset.namespace, dataset.name))["sourceName"]
        if name not in first or epoch_seconds(dataset.created_at) < epoch_seconds(first[name]):
            first[name] = dataset.created_at
    return first


def _namespaces(graph: LineageGraph) -> dict[str, dict[str, Any]]:
    """Every namespace as Marquez shows one, by name, in name order: created with the earliest
    event naming a dataset or job of it, updated with the newest (one pass over the graph)."""
    found: dict[str, dict[str, Any]] = {}
    for node in [*graph.datasets.values(), *graph.jobs.values()]:
        namespace = found.setdefault(
            node.namespace,
            {
                "name": node.namespace,
                "createdAt": node.created_at,
                "updatedAt": node.updated_at,
                "ownerName": None,
                "description": None,
                "isHidden": False,
            },
        )
        namespace["createdAt"] = min(namespace["createdAt"], node.created_at, key=epoch_seconds)
        namespace["updatedAt"] = max(namespace["updatedAt"], node.updated_at, key=epoch_seconds)
    for namespace in found.values():  # instants in UTC, as Marquez writes them
        namespace["createdAt"] = instant_text(namespace["createdAt"])
        namespace["updatedAt"] = instant_text(namespace["updatedAt"])
    return dict(sorted(found.items()))


def _dataset_path(request: Request) -> tuple[tuple[str, str], bool, str | None]:
    """``/namespaces/{ns}/datasets/{name}[/versions[/{version}]]``: the dataset, whether its
    versions are asked, and which one. Read from the encoded path as :func:`_names` reads it
    (a name holding ``/versions`` sent in one encoded segment is the dataset's name)."""
    segments = _raw_segments(request)
    if "namespaces" in segments:
        rest = [unquote(s) for s in segments[segments.index("namespaces") + 1 :]]
        if len(rest) == 3:
            return (rest[0], rest[2]), False, None
        if len(rest) in (4, 5) and rest[3] == "versions":
            return (rest[0], rest[2]), True, rest[4] if len(rest) == 5 else None
    namespace, name = request.path_params["namespace"], request.path_params.get("name", "")
    head, _, last = name.rpartition("/versions/")
    if head and last and "/" not in last:
        return (namespace, head), True, last
    if name.endswith("/versions"):
        return (namespace, name.removesuffix("/versions")), True, None
    return (namespace, name), False, None


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, not {raw!r}") from None
    if value < 0:
        raise BadRequest(f"{name} must not be negative")
    return value


def _instant(request: Request, name: str) -> float | None:
    """The query parameter ``name`` as an instant (epoch seconds, as the graph orders events)."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        # (not epoch_seconds, whose 0.0 for what it cannot read is also the epoch itself)
        return utc_time(raw.strip()).timestamp()
    except (ValueError, OverflowError):
        raise BadRequest(
            f"{name} {raw!r} is not an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z"
        ) from None


def _bool(request: Request, name: str) -> bool:
    raw = (request.query_params.get(name) or "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} must be true or false, not {raw!r}")
    return raw in ("true", "1")


def _page(request: Request, items: list[Any]) -> list[Any]:
    limit = _int(request, "limit", 100)
    offset = _int(request, "offset", 0)
    return items[offset : offset + limit]
