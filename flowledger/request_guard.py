"""The guards every POST of ``flowledger serve`` passes before its body is parsed: a free
in-flight slot (429 with ``Retry-After`` when there is none), a body read that stops at the size
limit (413: a Content-Length over it is refused before a byte is read, a chunked body is cut off
there) and a Content-Encoding undone within the same limit (:mod:`flowledger.gzip_body`).

The receiver's routes (``/v1/events``, ``/v1/runs``, ``/v1/traces``) and the OpenLineage intake
(``/api/v1/lineage[/batch]``) share one :class:`RequestGuard`, so ``--max-inflight`` counts
them all and ``--max-body-bytes`` bounds them all. Each route checks its bearer token first and
writes a :class:`ClientError` as its API answers failures: :func:`json_error` (``{code,
message}``), or OTLP's ``Status`` on ``/v1/traces``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flowledger.gzip_body import GzipBodyError, gunzip_bounded, inflate_bounded

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

DEFAULT_MAX_BODY_BYTES = 16 << 20
DEFAULT_MAX_INFLIGHT_REQUESTS = 256
DEFAULT_RETRY_AFTER_S = 2
#: A body that stops arriving frees its in-flight slot: at most this long between two chunks,
#: and this long for the whole body (408). A client sending a byte now and then held its slot
#: for ever, and a few of them made every other request a 429.
DEFAULT_BODY_IDLE_S = 30.0
DEFAULT_BODY_TOTAL_S = 300.0
#: The status counted for a request whose client hung up before its body was read (nginx's).
CLIENT_CLOSED_REQUEST = 499


class ClientError(Exception):
    """A request refused with a 4xx: ``status``, what was wrong and what to do (``message``),
    and the ``headers`` the answer must carry (``Retry-After`` on 429)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def json_error(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """A failed request's answer on ``/v1/events``, ``/v1/runs`` and the lineage API:
    ``{"code": <HTTP status>, "message"}`` (Marquez's shape; ``/v1/traces`` answers as OTLP/HTTP
    says: :func:`ingest.server.otlp.error_answer`)."""
    # imported here: the CLI imports this module for its defaults, and starlette.responses
    # costs it 0.1 s at every start
    from starlette.responses import JSONResponse

    return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)


class RequestGuard:
    """The in-flight slots and the body limit of one server (shared by all its POST routes)."""

    def __init__(
        self,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_inflight_requests: int = DEFAULT_MAX_INFLIGHT_REQUESTS,
        retry_after_s: int = DEFAULT_RETRY_AFTER_S,
        body_idle_s: float = DEFAULT_BODY_IDLE_S,
        body_total_s: float = DEFAULT_BODY_TOTAL_S,
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_inflight_requests = max_inflight_requests
        self.retry_after_s = retry_after_s
        self.body_idle_s = body_idle_s
        self.body_total_s = body_total_s
        self.inflight = 0

    @contextlib.contextmanager
    def capacity_slot(self, full: str | None = None) -> Iterator[None]:
        """One of the ``max_inflight_requests`` slots while a request is read and stored;
        :class:`ClientError` 429 when none is free, or when the caller's store is ``full`` (why,
        e.g. the spool backlog at its limit)."""
        if self.inflight >= self.max_inflight_requests:
            full = f"{self.inflight} requests in flight (limit {self.max_inflight_requests})"
        if full is not None:
            raise ClientError(
                429,
                f"the receiver is full ({full}); retry after {self.retry_after_s} s",
                {"Retry-After": str(self.retry_after_s)},
            )
        self.inflight += 1
        try:
            yield
        finally:
            self.inflight -= 1

    async def read_body(self, request: Request) -> bytes:
        """The body as sent (before any Content-Encoding is undone), within the size limit."""
        limit = self.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise ClientError(400, "Content-Length is not a number") from None
            if size > limit:
                raise ClientError(413, f"the body is {size:,} bytes; the limit is {limit:,}")
        import anyio

        chunks: list[bytes] = []
        received = 0
        stream = request.stream().__aiter__()
        deadline = anyio.current_time() + self.body_total_s
        while True:
            wait = min(self.body_idle_s, deadline - anyio.current_time())
            try:
                with anyio.fail_after(max(wait, 0)):
                    chunk = await stream.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise ClientError(
                    408,
                    f"the body stopped arriving ({received:,} bytes read; at most "
                    f"{self.body_idle_s:.0f} s between chunks and {self.body_total_s:.0f} s in "
                    "all): nothing was stored, send it again",
                ) from None
            received += len(chunk)
            if received > limit:
                raise ClientError(413, f"the body is over the limit of {limit:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def decode_body(self, request: Request, body: bytes) -> bytes:
        """The body with its Content-Encoding undone (gzip, deflate), within the size limit."""
        encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
        if encoding in ("", "identity"):
            return body
        decode = {"gzip": gunzip_bounded, "x-gzip": gunzip_bounded, "deflate": inflate_bounded}
        if encoding in decode:
            try:
                return decode[encoding](body, self.max_body_bytes)
            except GzipBodyError as error:
                raise ClientError(error.status, error.message) from None
        raise ClientError(
            415, f"unsupported Content-Encoding {encoding!r}: use gzip, deflate or none"
        )
