"""The in-process comparison of benchmarks/tracing_overhead.py: `python _tracing_interleaved.py
CONFIG.json` prints one JSON line.

One process, phospho.init(tracing=True) (OpenTelemetry SDK, opentelemetry-instrumentation-openai,
phospho's span processor), real openai chat.completions.create calls against the local server.
Short blocks of calls alternate between phospho's tracing on and off (the runtime's tracing
flag, which `init(tracing=False)` clears: the processor stays on the provider but returns at
once, and `phospho.log` links no span), in ABBA order over many rounds, so that load from other
processes, drift and warm-up hit both sides alike. A block is `pairs` pairs of calls, each pair
followed by the phospho.log it belongs to (which links them when on).

Per call = median call + half the median log, over every call of a side; added = on - off. The
rounds are also cut into `chunks` consecutive groups, each giving its own added figure: their
standard deviation over the square root of their number is the figure's standard error. Timed
twice: wall clock (perf_counter_ns), which includes the time the sender thread holds the GIL to
build and encode span events, and the caller thread's CPU time (thread_time_ns), which does not
(nor the time the call waits for the server). As the sender encodes in batches (every tick), its
work lands on both sides alike and cancels out of the difference; its own cost is measured
apart: the CPU time of the other threads per call, over a run with tracing off and one with
tracing on. Also counted: the caller thread's garbage collections on each side (gc.callbacks),
and the processor's own on_start / on_end, timed in place after the rounds.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

__all__ = ["main", "added"]

_MEASURES = ("call_wall", "call_cpu", "log_wall", "log_cpu")


def _block(call: Any, log: Any, pairs: int, into: dict[str, list[int]]) -> None:
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    for _ in range(pairs):
        for fn, name in ((call, "call"), (call, "call"), (log, "log")):
            w, c = wall(), cpu()
            fn()
            c, w = cpu() - c, wall() - w
            into[f"{name}_wall"].append(w)
            into[f"{name}_cpu"].append(c)


def added(on: dict[str, list[int]], off: dict[str, list[int]]) -> dict[str, float]:
    """Medians of each side (us), per call (a call and half its log), and on - off."""
    med = statistics.median
    out: dict[str, float] = {}
    for clock in ("wall", "cpu"):
        for side, data in (("on", on), ("off", off)):
            out[f"{side}_call_{clock}_us"] = med(data[f"call_{clock}"]) / 1000
            out[f"{side}_log_{clock}_us"] = med(data[f"log_{clock}"]) / 1000
            out[f"{side}_per_call_{clock}_us"] = out[f"{side}_call_{clock}_us"] + out[f"{side}_log_{clock}_us"] / 2
        for what in ("call", "log", "per_call"):
            out[f"added_{what}_{clock}_us"] = out[f"on_{what}_{clock}_us"] - out[f"off_{what}_{clock}_us"]
    return out


def _other_threads_cpu_us(call: Any, log: Any, on: bool, pairs: int) -> float:
    """CPU time of every thread but the caller's (phospho's sender, librdkafka's), per call, over
    a run of `pairs` pairs and their logs with tracing on or off, flushed: what competes with
    the app for the GIL and the cores, outside the caller."""
    import phospho
    from phospho._api.init import RUNTIME

    RUNTIME.tracing = on
    process, caller = time.process_time_ns(), time.thread_time_ns()
    _block(call, log, pairs, {m: [] for m in _MEASURES})
    phospho.flush(60)
    process, caller = time.process_time_ns() - process, time.thread_time_ns() - caller
    return (process - caller) / (2 * pairs) / 1000


class _GcWatch:
    """The caller thread's garbage collections (count by generation, CPU time) on each side."""

    def __init__(self) -> None:
        import threading

        self.side = True
        self.counts = {True: [0, 0, 0], False: [0, 0, 0]}
        self.cpu_ns = {True: 0, False: 0}
        self._caller, self._started = threading.get_ident(), 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        import threading

        if threading.get_ident() != self._caller:
            return
        if phase == "start":
            self._started = time.thread_time_ns()
        else:
            self.counts[self.side][info["generation"]] += 1
            self.cpu_ns[self.side] += time.thread_time_ns() - self._started


def _processor_us(call: Any, log: Any, pairs: int) -> tuple[float, float]:
    """Medians of phospho's processor's own on_start and on_end on real calls (tracing on): its
    methods timed in place, on the processor instance, for this run only."""
    from phospho._api.init import RUNTIME
    from phospho._tracing import setup as _tracing

    processor, clock = _tracing._STATE["processor"], time.perf_counter_ns
    starts: list[int] = []
    ends: list[int] = []

    def on_start(span: Any, parent_context: Any = None) -> None:
        t = clock()
        type(processor).on_start(processor, span, parent_context)
        starts.append(clock() - t)

    def on_end(span: Any) -> None:
        t = clock()
        type(processor).on_end(processor, span)
        ends.append(clock() - t)

    RUNTIME.tracing = True
    processor.on_start, processor.on_end = on_start, on_end
    try:
        _block(call, log, pairs, {m: [] for m in _MEASURES})
    finally:
        del processor.on_start, processor.on_end
    return statistics.median(starts) / 1000, statistics.median(ends) / 1000


def main(config: dict[str, Any]) -> dict[str, Any]:
    import gc

    import openai

    import phospho
    from phospho._api.init import RUNTIME

    phospho.init(project_id="bench-tracing", bootstrap_servers=config["bootstrap"], spool_dir=config["spool_dir"],
                 tracing=True)
    client = openai.OpenAI(api_key="k", base_url=config["base_url"])

    def call() -> None:
        client.chat.completions.create(messages=[{"role": "user", "content": "Say a color"}], model="gpt-4o-mini")

    def log() -> None:
        phospho.log(input="Give me a color and an animal", output="Blue, otter")

    rounds, pairs, chunks = config["rounds"], config.get("pairs", 2), config.get("chunks", 20)
    for on in (True, False):  # warm-up, both sides
        RUNTIME.tracing = on
        _block(call, log, 25, {m: [] for m in _MEASURES})
    others = {on: _other_threads_cpu_us(call, log, on, config.get("cpu_pairs", 200)) for on in (False, True)}
    per_round: list[dict[bool, dict[str, list[int]]]] = []
    watch = _GcWatch()
    gc.callbacks.append(watch)
    for r in range(rounds):
        sides: dict[bool, dict[str, list[int]]] = {True: {m: [] for m in _MEASURES}, False: {m: [] for m in _MEASURES}}
        for on in ((True, False) if r % 2 == 0 else (False, True)):
            RUNTIME.tracing = watch.side = on
            _block(call, log, pairs, sides[on])
        per_round.append(sides)
    gc.callbacks.remove(watch)
    on_start_us, on_end_us = _processor_us(call, log, config.get("cpu_pairs", 200))
    ok = phospho.flush(120)
    stats = phospho.stats()

    def pooled(group: list[dict[bool, dict[str, list[int]]]], on: bool) -> dict[str, list[int]]:
        return {m: [v for sides in group for v in sides[on][m]] for m in _MEASURES}

    out: dict[str, Any] = {"rounds": rounds, "calls_per_block": 2 * pairs, "calls_per_side": rounds * 2 * pairs,
                           "flush_ok": ok, "failed": stats["failed"], "delivered": stats["delivered"],
                           "instrumentations": list(phospho.instrumentations),
                           "others_cpu_off_us": others[False], "others_cpu_on_us": others[True],
                           "processor_on_start_us": on_start_us, "processor_on_end_us": on_end_us,
                           "gc_on": watch.counts[True], "gc_off": watch.counts[False],
                           "gc_cpu_per_call_on_us": watch.cpu_ns[True] / (rounds * 2 * pairs) / 1000,
                           "gc_cpu_per_call_off_us": watch.cpu_ns[False] / (rounds * 2 * pairs) / 1000}
    out.update(added(pooled(per_round, True), pooled(per_round, False)))
    size = max(1, rounds // chunks)
    groups = [per_round[i:i + size] for i in range(0, rounds - size + 1, size)]
    if len(groups) >= 4:
        for clock in ("wall", "cpu"):
            spread = [added(pooled(g, True), pooled(g, False))[f"added_per_call_{clock}_us"] for g in groups]
            out[f"added_per_call_{clock}_se"] = statistics.stdev(spread) / len(spread) ** 0.5
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(json.dumps(main(json.load(f))), flush=True)
