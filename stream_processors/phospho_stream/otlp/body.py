"""An OTLP request's body, read with a bound: plain or gzip (OTLP/HTTP's one compression), never
more than `limit` bytes once decompressed, and a gzip bomb is stopped as soon as it passes it."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable

from ..errors import OtlpRequestError

__all__ = ["read_body", "check_encoding", "Gunzip"]

_GZIP = 16 + zlib.MAX_WBITS


def check_encoding(content_encoding: str | None) -> bool:
    """Whether the body is gzip (True) or plain (False); 415 for another encoding."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return False
    if encoding in ("gzip", "x-gzip"):
        return True
    raise OtlpRequestError(415, f"Content-Encoding {encoding!r} is not supported: send gzip or no Content-Encoding")


def _too_large(limit: int) -> OtlpRequestError:
    return OtlpRequestError(413, f"the request body is larger than {limit:,} bytes uncompressed "
                                 "(PHOSPHO_OTLP_MAX_BODY_BYTES): send smaller batches")


class Gunzip:
    """Incremental gunzip whose output stops one byte past `limit` (members one after another
    are read, as gzip does)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.out = bytearray()
        self._inflate = zlib.decompressobj(_GZIP)
        self._started = False

    def feed(self, data: bytes) -> None:
        inflate = self._inflate
        try:
            while data:
                if inflate.eof:  # the next gzip member
                    inflate = self._inflate = zlib.decompressobj(_GZIP)
                self._started = True
                self.out += inflate.decompress(data, self.limit + 1 - len(self.out))
                if len(self.out) > self.limit:
                    raise _too_large(self.limit)
                data = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
        except zlib.error as exc:
            raise OtlpRequestError(400, f"the body is not valid gzip ({exc})") from None

    def finish(self) -> bytes:
        if not self._started or not self._inflate.eof:
            raise OtlpRequestError(400, "the gzip body is truncated (no end of stream)")
        return bytes(self.out)


async def read_body(chunks: AsyncIterable[bytes], gzip: bool, limit: int, content_length: str | None) -> bytes:
    """The whole body (decompressed), or OtlpRequestError 413 past `limit` bytes, 400 for broken gzip."""
    if not gzip and content_length is not None and content_length.strip().isdigit() and int(content_length) > limit:
        raise _too_large(limit)
    if gzip:
        gunzip = Gunzip(limit)
        async for chunk in chunks:
            gunzip.feed(chunk)
        return gunzip.finish()
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)
