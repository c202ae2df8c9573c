"""The processes a benchmark starts: spawning them with a log, stopping them by pid (their own
children too, never by name), and the CPU they use, read from /proc (Linux)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["Children", "CpuSampler", "cpu_seconds", "descendants", "thread_cpu_seconds"]

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(path: str) -> list[str]:
    return Path(path).read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    """Every process below pid (children, grandchildren...), from /proc."""
    parent_of: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent_of[int(stat.parent.name)] = int(_stat(str(stat))[1])
        except (OSError, IndexError, ValueError):
            pass
    out, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parent_of.items() if parent in frontier]
        out += kids
        frontier = kids
    return out


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """User + system CPU seconds of pid (and, with tree, of its live descendants)."""
    total = 0.0
    for p in [pid, *(descendants(pid) if tree else [])]:
        try:
            fields = _stat(f"/proc/{p}/stat")
            total += (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            pass
    return total


def thread_cpu_seconds(native_id: int) -> float:
    """CPU seconds of one thread of this process."""
    try:
        fields = _stat(f"/proc/self/task/{native_id}/stat")
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuSampler(threading.Thread):
    """Samples named CPU counters every `every` seconds; `between(t0, t1)` gives each one's
    CPU seconds and cores (CPU seconds / wall seconds) between the samples nearest t0 and t1."""

    def __init__(self, counters: dict[str, Callable[[], float]], every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.counters, self.every = counters, every
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._done = threading.Event()

    def sample(self) -> None:
        self.samples.append((time.time(), {name: read() for name, read in self.counters.items()}))

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.every)

    def stop(self) -> None:
        self._done.set()
        self.join(5)
        self.sample()

    def between(self, t0: float, t1: float) -> dict[str, dict[str, float]]:
        if len(self.samples) < 2:
            return {}
        first = min(self.samples, key=lambda s: abs(s[0] - t0))
        last = min(self.samples, key=lambda s: abs(s[0] - t1))
        wall = last[0] - first[0]
        if wall <= 0:
            return {}
        return {name: {"cpu_s": round(last[1][name] - first[1][name], 2),
                       "cores": round((last[1][name] - first[1][name]) / wall, 2)} for name in self.counters}


class Children:
    """Processes started by a benchmark: `spawn` logs a child's output to a file; `stop_all`
    ends every one still running (SIGTERM, then SIGKILL), with its descendants, by pid."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, cmd: list[str], env: dict[str, str], log: Path,
              nice: int = 0, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=(lambda: os.nice(nice)) if nice else None)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes] | None, timeout: float = 20.0) -> bool:
        """Stop proc and its descendants; True when it had to be killed."""
        if proc is None or proc.poll() is not None:
            return False
        kids = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        killed = False
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            killed = True
        for kid in kids:
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return killed

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc, timeout=10)
