"""Child processes that die with the process that started them (Linux: PR_SET_PDEATHSIG), so a
killed `up` leaves no broker acknowledging events into nothing, nor a worker writing stale state;
stopping one (SIGTERM, then SIGKILL); whether a port is taken."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys

__all__ = ["die_with_parent", "port_in_use", "stop_process"]

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A `preexec_fn`: the child gets SIGKILL when its parent thread ends. Start children from
    the main thread (the signal follows the thread that forked, not the process)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (binding it fails; connections of a
    stopped server still closing do not count, as for a server that binds with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; nothing when it is gone already."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
