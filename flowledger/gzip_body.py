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


def _one_stream(
    wbits: int, data: bytes, room: int, limit: int, name: str, ends_before: str
) -> tuple[bytes, bytes]:
    """One compressed stream of ``data`` (``wbits`` as :func:`zlib.decompressobj` takes them),
    decompressed to at most ``room`` bytes (what is left of the body's ``limit``): (its bytes,
    the data after it). Refused: data that is no such stream (400), more than ``room`` bytes
    (413), a stream cut short (400)."""
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, room + 1)
    except zlib.error as error:
        raise GzipBodyError(400, f"the {name} body cannot be decompressed: {error}") from None
    if len(out) > room or inflater.unconsumed_tail:
        raise GzipBodyError(413, f"the body decompresses to more than {limit:,} bytes")
    if not inflater.eof:
        raise GzipBodyError(
            400,
            f"the {name} body is truncated (it ends before its {ends_before}); nothing stored: "
            "send the whole body again",
        )
    return out, inflater.unused_data


def gunzip_bounded(body: bytes, limit: int) -> bytes:
    """Every member of the gzip ``body``, at most ``limit`` bytes in all."""
    out = bytearray()
    rest = body
    while True:
        member, rest = _one_stream(
            16 + zlib.MAX_WBITS, rest, limit - len(out), limit, "gzip", "gzip trailer"
        )
        out += member
        if not rest:
            return bytes(out)
        if not rest.startswith(_GZIP_MAGIC):
            raise GzipBodyError(
                400,
                f"the gzip body has {len(rest):,} bytes after its end that are not another gzip "
                "member; nothing stored",
            )


def inflate_bounded(body: bytes, limit: int) -> bytes:
    """The ``Content-Encoding: deflate`` ``body`` (RFC 9110: a zlib stream, RFC 1950; a raw
    deflate stream, which some clients send under that name, is read too), at most ``limit``
    bytes; truncated streams and trailing bytes are refused as for gzip."""
    zlib_header = len(body) >= 2 and (body[0] & 0x0F) == 8 and ((body[0] << 8) | body[1]) % 31 == 0
    wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
    out, rest = _one_stream(wbits, body, limit, limit, "deflate", "end of stream")
    if rest:
        raise GzipBodyError(
            400, f"the deflate body has {len(rest):,} bytes after its end; nothing stored"
        )
    return out
