"""One side of benchmarks/tracing_overhead.py, in a process of its own (OpenTelemetry
instrumentation is process-wide): `python _tracing_child.py CONFIG.json`, with config "mode"
"untraced" (phospho.init()), "instrumented" (opentelemetry-instrumentation-openai on an
OpenTelemetry TracerProvider without processors, phospho.init()) or "traced"
(phospho.init(tracing=True)). Prints one JSON line.

Measured in the caller's thread, each call timed with perf_counter_ns after a warm-up:
- llm_call: the real openai client's chat.completions.create against the local server;
- log_after_calls: the phospho.log that follows each pair of calls (it links them when traced);
- span_auto / span_context: a span with 12 GenAI attributes started and ended by hand, on a
  TracerProvider with only phospho's processor ("traced") or with no processor ("untraced"):
  what the processor adds, outside a tracer block (plus log_after_100_spans, the log that links
  them) and inside one;
- log_steps / log_plain: phospho.log with 3 steps / without.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

ATTRS = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
         "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": 26,
         "gen_ai.usage.output_tokens": 12, "gen_ai.request.max_tokens": 64, "gen_ai.is_streaming": False,
         "gen_ai.response.id": "chatcmpl-1", "gen_ai.response.finish_reasons": ("stop",),
         "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "Say a color"}]}]',
         "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "text", "content": "Blue"}]}]'}
STEPS = [{"name": "retrieval", "input": "capital of France?", "output": ["doc 1", "doc 2"], "k": 2},
         {"name": "rerank", "input": ["doc 1", "doc 2"], "output": ["doc 2"], "model": "rerank-v3", "duration_ms": 12},
         {"name": "answer", "input": "capital of France?", "output": "Paris", "usage": {"prompt_tokens": 30}}]


def timed(fn: Any, n: int) -> list[int]:
    clock, out = time.perf_counter_ns, [0] * n
    for i in range(n):
        t = clock()
        fn()
        out[i] = clock() - t
    return out


def summary(ns: list[int]) -> dict[str, float]:
    ordered = sorted(ns)
    return {"median_us": ordered[len(ordered) // 2] / 1000, "p99_us": ordered[int(len(ordered) * 0.99)] / 1000,
            "mean_us": sum(ordered) / len(ordered) / 1000}


def main(config: dict[str, Any]) -> dict[str, Any]:
    import openai
    from opentelemetry.sdk.trace import TracerProvider

    import phospho

    traced = config["mode"] == "traced"
    if config["mode"] == "instrumented":  # the instrumentation and the OpenTelemetry SDK, without phospho's processor
        from opentelemetry import trace
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        trace.set_tracer_provider(TracerProvider())
        OpenAIInstrumentor().instrument()
    phospho.init(project_id="bench-tracing", bootstrap_servers=config["bootstrap"], spool_dir=config["spool_dir"],
                 tracing=traced)
    client = openai.OpenAI(api_key="k", base_url=config["base_url"])
    n, warmup = config["calls"], config["warmup"]

    def call() -> None:
        client.chat.completions.create(messages=[{"role": "user", "content": "Say a color"}], model="gpt-4o-mini")

    timed(call, warmup)
    phospho.log(input="warm-up", output="ok")
    calls, logs = [], []
    for _ in range(n // 2):  # two calls, then the log they belong to
        calls += timed(call, 2)
        logs += timed(lambda: phospho.log(input="Give me a color and an animal", output="Blue, otter"), 1)

    provider = TracerProvider()
    if traced:
        from phospho._api.init import RUNTIME
        from phospho._tracing.processor import PhosphoSpanProcessor

        provider.add_span_processor(PhosphoSpanProcessor(RUNTIME, RUNTIME.links))
    tracer = provider.get_tracer("bench")

    def span() -> None:
        tracer.start_span("openai.chat", attributes=ATTRS).end()

    def bursts(burst_logs: list[int]) -> list[int]:
        """Bursts of 100 spans, each burst then logged (the log timed on its own)."""
        out: list[int] = []
        for _ in range(max(1, n // 100)):
            out += timed(span, 100)
            burst_logs += timed(lambda: phospho.log(input="burst", output="ok"), 1)
        return out

    timed(span, warmup)
    auto_logs: list[int] = []
    auto = bursts(auto_logs)  # no tracer block: each span waits for the log of this thread
    with phospho.tracer(session_id="bench") if traced else _nothing():
        context = bursts([])  # inside a block: each span is queued when it ends
    plain = timed(lambda: phospho.log(input="q", output="a"), n)
    steps = timed(lambda: phospho.log(input="q", output="a", steps=STEPS), n)
    ok = phospho.flush(120)
    stats = phospho.stats()
    return {"mode": config["mode"], "llm_call": summary(calls), "log_after_calls": summary(logs),
            "span_auto": summary(auto), "log_after_100_spans": summary(auto_logs), "span_context": summary(context),
            "log_plain": summary(plain), "log_steps": summary(steps), "flush_ok": ok, "delivered": stats["delivered"],
            "failed": stats["failed"], "instrumentations": list(phospho.instrumentations)}


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(json.dumps(main(json.load(f))), flush=True)
