"""An OpenAI-compatible server for the LLM stages' tests and benchmark, run as a real process.

    python -m tests.support.judge_server [--port N] [--setup JSON]   # prints its URL, then serves

Answers are deterministic, keyed on the prompt: `rules` are tried in order, each a regex
searched in the request's messages (all of them, joined by newlines); the first that matches
answers. A rule may fail instead, with `status` (429 with `retry_after` seconds in a
Retry-After header, 500...) for its first `times` matching requests, and may be slow
(`delay_s`). Without a matching rule the default judge answers: `success` with a reason to a
success-or-failure question, `No` (log-probabilities P(no)=0.9) to a yes-or-no one, the range's
lowest number, category 0. `delay_s` at the top level slows every answer.

    {"rules": [{"match": "refund", "answer": "failure\\nNo refund was offered."},
               {"match": "ORD-1", "status": 429, "retry_after": 1, "times": 2},
               {"match": "garbage", "answer": "I cannot say", "logprobs": {"Yes": -0.2, "No": -1.7}}],
     "delay_s": 0.0, "usage": true}

/v1/embeddings answers a bag of hashed words (64 dimensions): texts that share words are near.
Admin: POST /admin/setup (the same JSON, replaces everything and resets the counters),
GET /admin/stats ({requests, by_status, in_flight, max_in_flight}), GET /admin/requests (every
chat request's body and status, in order), POST /admin/reset.

`JudgeServer` starts it as a child process and talks to it (for the tests).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["JudgeServer", "build_app"]

ROOT = Path(__file__).resolve().parents[2]


class _Judge:
    def __init__(self) -> None:
        self.setup: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.by_status: dict[str, int] = {}
        self.matched: dict[int, int] = {}
        self.in_flight = self.max_in_flight = 0
        self.n = 0

    def configure(self, setup: dict[str, Any]) -> None:
        self.setup = setup
        for rule in setup.get("rules", []):
            re.compile(rule["match"])
        self.reset()

    def rule_for(self, text: str) -> dict[str, Any] | None:
        for index, rule in enumerate(self.setup.get("rules", [])):
            if re.search(rule["match"], text):
                seen = self.matched.get(index, 0)
                if "times" in rule and seen >= rule["times"]:
                    continue
                self.matched[index] = seen + 1
                return rule
        return None


def _default_answer(text: str) -> tuple[str, dict[str, float] | None]:
    if "success or failure" in text:
        return "success\nThe assistant answered what the user asked.", None
    if "Yes or No" in text:
        return "No", {"No": math.log(0.9), "Yes": math.log(0.1)}
    between = re.search(r"whole number between (-?[\d.]+) and", text)
    if between:
        return str(int(math.ceil(float(between.group(1))))), None
    if "category's number" in text:
        return "0", None
    return "OK", None


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _completion(judge: _Judge, body: dict[str, Any], text: str, answer: str,
                logprobs: dict[str, float] | None) -> dict[str, Any]:
    judge.n += 1
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": answer},
                              "finish_reason": "stop", "logprobs": None}
    if body.get("logprobs"):
        first = (answer.split() or [""])[0]
        top = logprobs or {first: 0.0}
        best = max(top, key=lambda t: top[t])
        choice["logprobs"] = {"content": [{
            "token": best, "logprob": top[best], "bytes": None,
            "top_logprobs": [{"token": t, "logprob": lp, "bytes": None}
                             for t, lp in sorted(top.items(), key=lambda kv: -kv[1])][:body.get("top_logprobs") or 20]}]}
    out = {"id": f"chatcmpl-judge{judge.n:06d}", "object": "chat.completion", "created": int(time.time()),
           "model": body.get("model", "judge"), "choices": [choice]}
    if judge.setup.get("usage", True):
        prompt, completion = _tokens(text), _tokens(answer)
        out["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return out


def _embedding(text: str, dims: int = 64) -> list[float]:
    vector = [0.0] * dims
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % dims] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def build_app(judge: _Judge) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        text = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
        judge.in_flight += 1
        judge.max_in_flight = max(judge.max_in_flight, judge.in_flight)
        try:
            rule = judge.rule_for(text) or {}
            delay = rule.get("delay_s", judge.setup.get("delay_s", 0.0))
            if delay:
                await asyncio.sleep(delay)
            status = rule.get("status", 200)
            judge.log.append({"body": body, "status": status, "at": time.time()})
            judge.by_status[str(status)] = judge.by_status.get(str(status), 0) + 1
            if status != 200:
                headers = {}
                if "retry_after" in rule:
                    headers["Retry-After"] = str(rule["retry_after"])
                return JSONResponse({"error": {"message": rule.get("message", f"injected {status}"),
                                               "type": "injected"}}, status_code=status, headers=headers)
            if "answer" in rule:
                answer, logprobs = rule["answer"], rule.get("logprobs")
            else:
                answer, logprobs = _default_answer(text)
            return JSONResponse(_completion(judge, body, text, answer, logprobs))
        finally:
            judge.in_flight -= 1

    async def embeddings(request: Request) -> JSONResponse:
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        judge.by_status["200"] = judge.by_status.get("200", 0) + 1
        return JSONResponse({"object": "list", "model": body.get("model", "embed"),
                             "data": [{"object": "embedding", "index": i, "embedding": _embedding(t)}
                                      for i, t in enumerate(texts)],
                             "usage": {"prompt_tokens": sum(map(_tokens, texts)),
                                       "total_tokens": sum(map(_tokens, texts))}})

    async def setup(request: Request) -> JSONResponse:
        judge.configure(await request.json())
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"requests": len(judge.log), "by_status": judge.by_status, "in_flight": judge.in_flight,
                             "max_in_flight": judge.max_in_flight})

    async def requests(request: Request) -> JSONResponse:
        return JSONResponse(judge.log)

    async def reset(request: Request) -> JSONResponse:
        judge.reset()
        return JSONResponse({"ok": True})

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "judge", "object": "model", "owned_by": "tests"}]})

    return Starlette(routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/models", models), Route("/admin/setup", setup, methods=["POST"]), Route("/admin/stats", stats),
        Route("/admin/requests", requests), Route("/admin/reset", reset, methods=["POST"])])


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="judge_server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--setup", default="{}", help="the JSON setup (rules, delay_s, usage)")
    args = parser.parse_args(argv)
    judge = _Judge()
    judge.configure(json.loads(args.setup))
    # IPPROTO_TCP spelled out: asyncio turns Nagle off only on a socket that says so, and without
    # it every keep-alive answer waits ~40 ms for the client's delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(build_app(judge), log_level="warning", access_log=False, lifespan="off",
                            backlog=4096, timeout_keep_alive=30)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


class JudgeServer:
    """The server as a child process: `with JudgeServer(setup) as s:` ... `s.base_url` ends in /v1."""

    def __init__(self, setup: dict[str, Any] | None = None, port: int = 0) -> None:
        self.setup, self.port = setup or {}, port
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self, timeout: float = 30.0) -> JudgeServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.judge_server", "--port", str(self.port),
             "--setup", json.dumps(self.setup)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError(f"the judge server did not start (exit {self.proc.poll()})")
        self.port = int(self.url.rsplit(":", 1)[1])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.stats()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the judge server at {self.url} does not answer")

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        import httpx

        response = httpx.request(method, f"{self.url}{path}", json=payload, timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        try:
            return self._call("GET", "/admin/stats")
        except Exception as exc:  # noqa: BLE001 - any failure to connect: not up (yet)
            raise OSError(str(exc)) from exc

    def configure(self, setup: dict[str, Any]) -> None:
        self.setup = setup
        self._call("POST", "/admin/setup", setup)

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/admin/requests")

    def reset(self) -> None:
        self._call("POST", "/admin/reset")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> JudgeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
