"""Reading a request body: plain or gzip (several members too), bounded once decompressed (a gzip
bomb stops a byte past the limit), broken gzip a 400, another Content-Encoding a 415."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest

from phospho_stream.errors import OtlpRequestError
from phospho_stream.otlp.body import Gunzip, check_encoding, read_body

LIMIT = 64 * 1024


def read(chunks: list[bytes], is_gzip: bool, limit: int = LIMIT, content_length: str | None = None) -> bytes:
    async def stream():
        for chunk in chunks:
            yield chunk

    return asyncio.run(read_body(stream(), is_gzip, limit, content_length))


def pieces(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def refused(call) -> OtlpRequestError:
    with pytest.raises(OtlpRequestError) as info:
        call()
    return info.value


def test_a_plain_body_is_read_whole() -> None:
    body = bytes(range(256)) * 100
    assert read(pieces(body), False) == body
    assert read([], False) == b""


def test_a_gzip_body_is_decompressed_whatever_its_chunks() -> None:
    body = b"otlp " * 10_000
    compressed = gzip.compress(body)
    assert read([compressed], True) == body
    assert read(pieces(compressed, 7), True) == body


def test_gzip_members_one_after_another_are_read() -> None:
    assert read([gzip.compress(b"first,") + gzip.compress(b"second")], True) == b"first,second"


def test_a_plain_body_over_the_limit_is_413_before_it_is_read() -> None:
    error = refused(lambda: read([b"never read"], False, content_length=str(LIMIT + 1)))
    assert error.status == 413 and f"{LIMIT:,} bytes" in str(error) and "PHOSPHO_OTLP_MAX_BODY_BYTES" in str(error)
    assert refused(lambda: read(pieces(b"x" * (LIMIT + 1)), False)).status == 413  # no Content-Length
    assert read([b"x" * LIMIT], False) == b"x" * LIMIT  # the limit itself is accepted


def test_a_gzip_bomb_is_stopped_a_byte_past_the_limit() -> None:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = deflate.compress(b"\0" * (256 << 20)) + deflate.flush()  # 256 MiB of zeros in ~250 KB of gzip
    gunzip = Gunzip(LIMIT)
    error = refused(lambda: gunzip.feed(bomb))
    assert error.status == 413 and len(gunzip.out) == LIMIT + 1
    assert refused(lambda: read(pieces(bomb, 16_384), True)).status == 413
    exactly = gzip.compress(b"y" * LIMIT)
    assert read([exactly], True) == b"y" * LIMIT


@pytest.mark.parametrize("body, reason", [
    (b"this is not gzip at all", "not valid gzip"),
    (gzip.compress(b"cut short" * 100)[:-12], "truncated"),
    (b"", "truncated"),
    (gzip.compress(b"fine") + b"trailing garbage", "not valid gzip"),
])
def test_broken_gzip_is_a_400(body: bytes, reason: str) -> None:
    error = refused(lambda: read([body], True))
    assert error.status == 400 and reason in str(error)


@pytest.mark.parametrize("header, is_gzip", [(None, False), ("identity", False), ("gzip", True), (" GZIP ", True),
                                             ("x-gzip", True)])
def test_content_encodings(header: str | None, is_gzip: bool) -> None:
    assert check_encoding(header) is is_gzip


@pytest.mark.parametrize("header", ["br", "deflate", "zstd", "gzip, br"])
def test_another_content_encoding_is_415(header: str) -> None:
    error = refused(lambda: check_encoding(header))
    assert error.status == 415 and "send gzip" in str(error)
