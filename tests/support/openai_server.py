"""A small local OpenAI-compatible (and Ollama-compatible) HTTP server for the tests.

stdlib http.server in a daemon thread on 127.0.0.1 with a free port:

* POST /v1/chat/completions returns a canned `chat.completion` with usage, or, when the body has
  "stream": true, an SSE stream of `chat.completion.chunk` events ending with `data: [DONE]`
  (plus a usage chunk when stream_options.include_usage is true, as OpenAI does);
* POST /api/generate streams Ollama-style NDJSON lines ({"response": ..., "done": false} ...
  {"done": true}).

Each choice of a non-streamed completion also carries `"role": "assistant"`: the seeds' example
reads `response.choices[0].role`, which the real API does not send but the openai package keeps
(its models allow extra fields), so the documented code runs unchanged.

    with OpenAIServer() as server:
        client = openai.OpenAI(api_key="k", base_url=server.base_url)
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OpenAIServer", "ANSWER", "TOKENS", "USAGE", "model_served"]

ANSWER = "Qubits harness quantum physics for faster, more powerful computation."
#: the answer as streamed, one token per chunk
TOKENS = ["Qubits", " harness", " quantum", " physics", " for", " faster,", " more", " powerful", " computation."]
assert "".join(TOKENS) == ANSWER
USAGE = {"prompt_tokens": 26, "completion_tokens": 12, "total_tokens": 38}


def model_served(requested: str) -> str:
    """The model name the server answers with (a dated snapshot, as OpenAI does)."""
    return f"{requested}-2024-07-18"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
        pass

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        return json.loads(raw or b"{}")

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_chunked(self, content_type: str, pieces: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self._body()
        self.server.requests.append((self.path, body))
        if self.path.rstrip("/").endswith("/chat/completions"):
            if body.get("stream"):
                self._send_chunked("text/event-stream", self.server.sse_events(body))
            else:
                self._send_json(200, self.server.completion(body))
        elif self.path.rstrip("/").endswith("/api/generate"):
            self._send_chunked("application/x-ndjson", self.server.ollama_lines(body))
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: str, tokens: list[str], usage: dict[str, Any]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.tokens = tokens
        self.usage = usage
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._n = 0
        self._lock = threading.Lock()

    def _next_id(self) -> str:
        with self._lock:
            self._n += 1
            return f"chatcmpl-test{self._n:06d}"

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self._next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model_served(body.get("model", "gpt-4o-mini")),
            "system_fingerprint": "fp_test",
            "choices": [
                {
                    "index": 0,
                    "role": "assistant",  # not in the real API; read by the seeds' example
                    "message": {"role": "assistant", "content": self.answer, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": dict(self.usage),
        }

    def chunks(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        cid, created = self._next_id(), int(time.time())
        model = model_served(body.get("model", "gpt-4o-mini"))

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            out = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_test",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            return out

        out = [chunk({"role": "assistant", "content": ""}, None)]
        out += [chunk({"content": token}, None) for token in self.tokens]
        out.append(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            out.append({
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_test", "choices": [], "usage": dict(self.usage),
            })
        return out

    def sse_events(self, body: dict[str, Any]) -> list[bytes]:
        events = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in self.chunks(body)]
        return events + [b"data: [DONE]\n\n"]

    def ollama_lines(self, body: dict[str, Any]) -> list[bytes]:
        model = body.get("model", "mistral-7b")
        lines = [
            {"model": model, "created_at": "2024-05-01T12:00:00Z", "response": token, "done": False}
            for token in self.tokens
        ]
        lines.append({
            "model": model, "created_at": "2024-05-01T12:00:01Z", "response": "", "done": True,
            "context": [1, 2, 3], "total_duration": 123456, "eval_count": len(self.tokens),
        })
        return [json.dumps(line).encode() + b"\n" for line in lines]


class OpenAIServer:
    """Start with `with OpenAIServer() as s:` (or start()/stop()); `s.base_url` ends in /v1.
    `usage`: what every completion reports (USAGE by default)."""

    def __init__(self, answer: str = ANSWER, tokens: list[str] | None = None, usage: dict[str, Any] | None = None) -> None:
        self._server = _Server(answer, list(tokens if tokens is not None else TOKENS), dict(usage or USAGE))
        self._thread = threading.Thread(target=self._server.serve_forever, name="openai-test-server", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, JSON body) of every request received, in order."""
        return self._server.requests

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
