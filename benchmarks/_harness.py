"""What the benchmark scripts share: the project's Python, the machine they ran on, progress
lines on stderr, percentiles."""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["REPO", "ensure_project_python", "machine_info", "progress", "pct"]

REPO = Path(__file__).resolve().parent.parent


def ensure_project_python() -> None:
    """Re-run the script with the repository's .venv when phospho_stream is not importable here."""
    try:
        import confluent_kafka  # noqa: F401

        import phospho_stream  # noqa: F401
    except ImportError:
        venv_python = REPO / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
            os.execv(str(venv_python), [str(venv_python), *sys.argv])
        raise SystemExit(f"{Path(sys.argv[0]).name}: phospho_stream is not importable; run `make install` first") from None


def machine_info() -> dict[str, Any]:
    cpu, mem_kb = "", 0
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
        mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                      if ln.startswith("MemTotal:"))
    except (OSError, StopIteration):
        pass
    return {"loadavg_at_start": [round(x, 2) for x in os.getloadavg()], "nproc": len(os.sched_getaffinity(0)),
            "cpu": cpu, "mem_gb": round(mem_kb / 1024 / 1024, 1), "platform": platform.platform(),
            "python": platform.python_version()}


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(sorted_values: list[float], p: float) -> float:
    """The p-th percentile (0-100) of sorted values, interpolated."""
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
