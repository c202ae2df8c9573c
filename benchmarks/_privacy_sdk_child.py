"""One SDK run of the privacy benchmark, in a process of its own:
`python _privacy_sdk_child.py BOOTSTRAP off|on TASKS RESULT.json SPOOL_DIR`.

Logs the benchmark's traffic with `phospho.init(redact=...)` off or on (every built-in detector),
times each phospho.log call in the caller (perf_counter_ns), then flushes and reads the CPU time
the sender thread ("phospho-sender") used, from /proc: what redaction costs and which thread pays.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from _privacy_traffic import log_traffic

import phospho


class TimedCalls:
    """phospho as log_traffic sees it, each log call timed."""

    def __init__(self) -> None:
        self.durations: list[int] = []

    def log(self, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        result = phospho.log(**kwargs)
        self.durations.append(time.perf_counter_ns() - start)
        return result

    def user_feedback(self, *args: Any, **kwargs: Any) -> Any:
        return phospho.user_feedback(*args, **kwargs)


def thread_cpu_s(name: str) -> float:
    thread = next(t for t in threading.enumerate() if t.name == name)
    with open(f"/proc/self/task/{thread.native_id}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(bootstrap: str, mode: str, tasks: int, result_path: str, spool: str) -> None:
    phospho.init(project_id="privacy-bench", bootstrap_servers=bootstrap, topic_prefix=f"sdk{mode}.", spool_dir=spool,
                 redact=mode == "on")
    log_traffic(TimedCalls(), 500, seed=3)  # warm-up: imports, regexes, caches
    assert phospho.flush(60)
    before = thread_cpu_s("phospho-sender")
    calls = TimedCalls()
    start = time.monotonic()
    counts = log_traffic(calls, tasks)
    assert phospho.flush(300), phospho.stats()
    elapsed = time.monotonic() - start
    sender = thread_cpu_s("phospho-sender") - before
    events = sum(counts.values())
    durations = sorted(calls.durations)
    n = len(durations)
    result = {"mode": mode, "calls": n, "events": events, "median_us": durations[n // 2] / 1000,
              "p99_us": durations[min(n - 1, int(0.99 * n))] / 1000, "mean_us": sum(durations) / n / 1000,
              "sender_cpu_us_per_event": sender / events * 1e6, "delivered_s": elapsed,
              "failed": phospho.stats()["failed"]}
    phospho.shutdown(30)
    with open(result_path, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
