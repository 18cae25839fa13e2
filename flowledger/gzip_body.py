"""Undo ``Content-Encoding: gzip`` on a request body without trusting it: decompression stops
past a size limit (a zip bomb costs at most that), every member of a multi-member body is read
(RFC 1952: ``cat a.gz b.gz``, pigz), and a truncated stream or trailing bytes are refused.
:class:`flowledger.request_guard.RequestGuard` uses it for every POST of ``flowledger serve``."""

from __future__ import annotations

import zlib

_GZIP_MAGIC = b"\x1f\x8b"


class GzipBodyError(ValueError):
    """A gzip body refused: ``status`` is 400 (not gzip, truncated, trailing bytes) or 413 (it
    decompresses to more than the limit)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def gunzip_bounded(body: bytes, limit: int) -> bytes:
    """Every member of the gzip ``body``, at most ``limit`` bytes in all."""
    out = bytearray()
    rest = body
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error as error:
            raise GzipBodyError(400, f"the gzip body cannot be decompressed: {error}") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise GzipBodyError(413, f"the body decompresses to more than {limit:,} bytes")
        if not inflater.eof:
            raise GzipBodyError(
                400,
                "the gzip body is truncated (it ends before its gzip trailer); nothing stored: "
                "send the whole body again",
            )
        rest = inflater.unused_data
        if not rest:
            return bytes(out)
        if not rest.startswith(_GZIP_MAGIC):
            raise GzipBodyError(
                400,
                f"the gzip body has {len(rest):,} bytes after its end that are not another gzip "
                "member; nothing stored",
            )
