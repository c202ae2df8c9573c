"""Stopping the child processes a test started (workers, sinks, `up`)."""

from __future__ import annotations

import signal
import subprocess

__all__ = ["stop"]


def stop(*procs: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Send `sig` to each process still running, wait for all; kill those that outlive `timeout`."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(sig)
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
