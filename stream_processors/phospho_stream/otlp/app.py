"""The OTLP/HTTP receiver's web app: `POST /v1/traces` as the OTLP specification says.

Binary protobuf or JSON in (`Content-Type`), gzip or not (`Content-Encoding`); the response in
the request's encoding: an ExportTraceServiceResponse, with `partial_success` (rejected_spans,
error_message) when some spans could not be used; a google.rpc.Status for a refused request:
400 malformed body, 401 missing token (when one is set), 413 body over the limit, 415 another
content type or encoding (its Status in JSON).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import OtlpRequestError
from .body import check_encoding, read_body
from .decode import JSON, PROTOBUF, answer_encoding, encoding_of
from .spans import Received

__all__ = ["build_app", "TRACES_PATH"]

logger = logging.getLogger("phospho_stream.otlp")
TRACES_PATH = "/v1/traces"
#: HTTP status -> google.rpc.Code
_GRPC_CODES = {400: 3, 401: 16, 413: 3, 415: 3, 500: 13}


def _message(encoding: str, message: ExportTraceServiceResponse | Status, status: int = 200) -> Response:
    if encoding == PROTOBUF:
        return Response(message.SerializeToString(), status, media_type=PROTOBUF)
    return Response(json_format.MessageToJson(message, indent=None), status, media_type=JSON)


def _refused(encoding: str, error: OtlpRequestError) -> Response:
    response = _message(encoding, Status(code=_GRPC_CODES.get(error.status, 2), message=str(error)), error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _accepted(encoding: str, received: Received) -> Response:
    response = ExportTraceServiceResponse()
    if received.rejected:
        response.partial_success.rejected_spans = received.rejected
        response.partial_success.error_message = received.error_message
    return _message(encoding, response)


def build_app(ingest: Callable[[bytes, str], Received], max_body_bytes: int, token: str | None = None) -> Starlette:
    """The receiver's app: `ingest(body, encoding)` takes each decompressed body (in a thread)."""
    expected = f"Bearer {token}".encode() if token else None

    async def traces(request: Request) -> Response:
        content_type = request.headers.get("content-type")
        answer_in = answer_encoding(content_type)
        try:
            if expected is not None and not secrets.compare_digest(
                    request.headers.get("authorization", "").encode("utf-8", "replace"), expected):
                raise OtlpRequestError(401, "this receiver needs Authorization: Bearer <PHOSPHO_OTLP_TOKEN>")
            encoding = encoding_of(content_type)
            gzip = check_encoding(request.headers.get("content-encoding"))
            body = await read_body(request.stream(), gzip, max_body_bytes, request.headers.get("content-length"))
            received = await run_in_threadpool(ingest, body, encoding)
        except OtlpRequestError as exc:
            logger.info("OTLP request refused (%d): %s", exc.status, exc)
            return _refused(answer_in, exc)
        except ClientDisconnect:  # the exporter gave up mid-body: nothing was taken, nobody to answer
            return Response(status_code=400)
        except Exception:  # a bug of ours: the client hears of it, the receiver keeps serving
            logger.exception("OTLP request failed")
            return _refused(answer_in, OtlpRequestError(500, "the receiver failed on this request; see its log"))
        return _accepted(encoding, received)

    return Starlette(routes=[Route(TRACES_PATH, traces, methods=["POST"])])
