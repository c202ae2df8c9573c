"""One SDK under measurement, in a process of its own: `python _sdk_child.py CONFIG.json`.

Run by benchmarks/sdk_overhead.py with phospho 0.3.45's venv python (config "sdk": "baseline")
or with this project's venv python ("sdk": "ours"). Both SDKs are imported as `phospho`, so
each needs its own interpreter. The measuring code below is the same for both: same payload,
same warm-up, same timed loop. Standard library only (plus the `phospho` being measured).

Timestamps meant for the parent are time.monotonic_ns() (CLOCK_MONOTONIC: one clock for all
processes on Linux). The result goes to config["result_path"] as JSON (a partial result is
written after each phase, so that a hang still tells where it happened). SIGUSR1 dumps every
thread's stack to stderr (the parent sends it before killing a child that hangs).
"""

from __future__ import annotations

import faulthandler
import json
import math
import os
import platform
import resource
import signal
import sys
import time
from typing import Any

faulthandler.register(signal.SIGUSR1, all_threads=True)


def progress(msg: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] child: {msg}\n")  # one write: no interleaving
    sys.stderr.flush()


def rss_kb() -> int:
    """Current resident set size (VmRSS), in KiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def maxrss_kb() -> int:
    """Peak resident set size since the process started (ru_maxrss: KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def timed_calls(log: Any, n: int, inp: str, out: str) -> list[int]:
    """n calls of log(input=inp, output=out), each timed with perf_counter_ns (ns)."""
    durations = [0] * n
    clock = time.perf_counter_ns
    for i in range(n):
        t = clock()
        log(input=inp, output=out)
        durations[i] = clock() - t
    return durations


def timer_overhead(n: int = 100_000) -> int:
    """Median ns of an empty timed slot (the measurement's own cost, not subtracted)."""
    durations = [0] * n
    clock = time.perf_counter_ns
    for i in range(n):
        t = clock()
        durations[i] = clock() - t
    durations.sort()
    return durations[n // 2]


def summarize(durations: list[int]) -> dict[str, float]:
    s = sorted(durations)
    n = len(s)

    def rank(q: float) -> float:  # nearest-rank percentile, in microseconds
        return s[max(0, math.ceil(q * n) - 1)] / 1000.0

    return {
        "n": n,
        "median_us": (s[(n - 1) // 2] + s[n // 2]) / 2000.0,
        "mean_us": sum(s) / n / 1000.0,
        "p90_us": rank(0.90),
        "p99_us": rank(0.99),
        "p999_us": rank(0.999),
        "max_us": s[-1] / 1000.0,
        "min_us": s[0] / 1000.0,
    }


class Sampler:
    """A daemon thread that records phospho.stats() and VmRSS every `interval` seconds during
    the sustained run (a timeline to tell a slow sender from a stuck one; negligible cost)."""

    def __init__(self, phospho: Any, interval: float, t0_ns: int) -> None:
        import threading

        self.phospho, self.interval, self.t0_ns = phospho, interval, t0_ns
        self.timeline: list[dict[str, Any]] = []
        self.peak_rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def sample(self) -> dict[str, Any]:
        st = self.phospho.stats()
        row = {"t": round((time.monotonic_ns() - self.t0_ns) / 1e9, 2), "rss_mb": round(rss_kb() / 1024, 1)}
        row.update({k: st.get(k) for k in ("queued", "delivered", "spooled", "failed", "pending", "in_flight", "spool_backlog_bytes")})
        self.peak_rss_kb = max(self.peak_rss_kb, rss_kb())
        self.timeline.append(row)
        return row

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            row = self.sample()
            progress("  t={t:6.1f}s delivered={delivered} spooled={spooled} failed={failed} "
                     "pending={pending} in_flight={in_flight} rss={rss_mb}MB".format(**row))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


class Result:
    def __init__(self, path: str, data: dict[str, Any]) -> None:
        self.path, self.data = path, data

    def write(self, phase: str) -> None:
        self.data["phase"] = phase
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1)
        os.replace(tmp, self.path)


def per_call_phase(phospho: Any, cfg: dict[str, Any], res: Result) -> None:
    inp, out = cfg["input"], cfg["output"]
    warmup, calls = cfg["warmup"], cfg["calls"]
    progress(f"per-call: {warmup} warm-up calls, then {calls} timed calls of phospho.log")
    res.data["timer_overhead_ns"] = timer_overhead()
    res.data["first_log_ns"] = time.monotonic_ns()
    timed_calls(phospho.log, warmup, inp, out)
    durations = timed_calls(phospho.log, calls, inp, out)
    res.data["logged_ns"] = time.monotonic_ns()
    res.data["per_call"] = summarize(durations)
    res.data["per_call_sent"] = warmup + calls
    pc = res.data["per_call"]
    progress(f"per-call: median {pc['median_us']:.2f} us, p99 {pc['p99_us']:.2f} us")


def run_baseline(cfg: dict[str, Any], res: Result) -> None:
    import importlib.metadata

    import phospho

    res.data["sdk_version"] = importlib.metadata.version("phospho")
    res.data["sdk_file"] = phospho.__file__
    phospho.init(api_key=cfg["api_key"], project_id=cfg["project_id"], base_url=cfg["base_url"])
    per_call_phase(phospho, cfg, res)
    res.write("per_call")
    # phospho 0.3.45: flush() sends the queued batch once, synchronously; the consumer thread
    # sends every tick (0.5 s) and once more when stopped (as at exit).
    phospho.flush()
    res.data["flushed_ns"] = time.monotonic_ns()
    phospho.consumer.stop()
    res.data["stopped_ns"] = time.monotonic_ns()
    res.data["queue_left"] = len(phospho.log_queue.events)
    res.data["rss_after_kb"] = rss_kb()
    res.data["maxrss_after_kb"] = maxrss_kb()
    res.write("done")


def run_ours(cfg: dict[str, Any], res: Result) -> None:
    import phospho

    res.data["sdk_version"] = getattr(phospho, "__version__", "?")
    res.data["sdk_file"] = phospho.__file__
    init_kwargs: dict[str, Any] = {
        "project_id": cfg["project_id"],
        "bootstrap_servers": cfg["bootstrap"],
        "spool_dir": cfg["spool_dir"],
    }
    if cfg.get("max_queue_size"):
        init_kwargs["max_queue_size"] = cfg["max_queue_size"]
    phospho.init(**init_kwargs)
    flush_timeout = cfg["flush_timeout"]

    # (a) caller cost, measured exactly like the baseline's
    per_call_phase(phospho, cfg, res)
    res.data["per_call_flush_ok"] = phospho.flush(flush_timeout)
    res.data["flushed_ns"] = time.monotonic_ns()
    res.data["stats_after_per_call"] = phospho.stats()
    res.write("per_call")

    # (b) sustained delivery: as fast as possible from one thread, then flush
    n = cfg["sustained"]
    inp, out, log = cfg["input"], cfg["output"], phospho.log
    res.data["rss_before_sustained_kb"] = rss_kb()
    res.data["maxrss_before_sustained_kb"] = maxrss_kb()
    progress(f"sustained: {n} calls of phospho.log from one thread, then phospho.flush({flush_timeout})")
    t0 = time.monotonic_ns()
    with Sampler(phospho, cfg.get("sample_interval", 5.0), t0) as sampler:
        for _ in range(n):
            log(input=inp, output=out)
        t_logged = time.monotonic_ns()
        res.data["stats_after_sustained_loop"] = phospho.stats()
        res.data["rss_after_sustained_loop_kb"] = rss_kb()
        brief = {k: res.data["stats_after_sustained_loop"][k] for k in ("queued", "delivered", "spooled", "failed", "pending", "in_flight")}
        progress(f"sustained: {n} calls in {(t_logged - t0) / 1e9:.2f} s; flushing (stats {brief})")
        res.data["timeline"] = sampler.timeline
        res.write("sustained_logged")
        ok = phospho.flush(flush_timeout)
        t_flushed = time.monotonic_ns()
        res.data.update({
            "sustained_sent": n, "sustained_start_ns": t0, "sustained_logged_ns": t_logged,
            "sustained_flushed_ns": t_flushed, "sustained_flush_ok": ok,
            "stats_after_sustained_flush": phospho.stats(),
        })
        progress(f"sustained: flush -> {ok} after {(t_flushed - t_logged) / 1e9:.2f} s")
        if not ok:  # diagnose: slow, or stuck?
            res.write("sustained_flush_failed")
            extra = cfg.get("extra_flush_timeout", 60.0)
            progress(f"sustained: flush returned False; one more phospho.flush({extra}) to tell slow from stuck")
            res.data["extra_flush_ok"] = phospho.flush(extra)
            res.data["extra_flushed_ns"] = time.monotonic_ns()
            res.data["stats_after_extra_flush"] = phospho.stats()
    res.data["timeline"] = sampler.timeline
    res.data["sampled_peak_rss_kb"] = sampler.peak_rss_kb
    if res.data["stats_after_sustained_flush"].get("failed"):
        st = res.data["stats_after_sustained_flush"]
        progress(f"sustained: phospho.stats() counts {st['failed']} failed events; last_failure: {st.get('last_failure')}")
    res.data["rss_after_kb"] = rss_kb()
    res.data["maxrss_after_kb"] = maxrss_kb()
    res.write("sustained_flushed")
    t = time.monotonic()
    res.data["shutdown_ok"] = phospho.shutdown(10.0)
    res.data["shutdown_s"] = time.monotonic() - t
    res.data["stats_final"] = phospho.stats()
    res.write("done")


def main() -> None:
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    res = Result(cfg["result_path"], {
        "sdk": cfg["sdk"], "python": platform.python_version(), "executable": sys.executable,
        "pid": os.getpid(), "gc_enabled": True,
    })
    res.write("started")
    if cfg["sdk"] == "baseline":
        run_baseline(cfg, res)
    else:
        run_ours(cfg, res)
    progress("done")


if __name__ == "__main__":
    main()
