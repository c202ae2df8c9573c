"""Drive a fresh phospho SDK in a child process, one JSON command per line on stdin.

Run as a script, it is the child: `python sdk_driver.py '<init kwargs as JSON>'` calls
`phospho.init(**kwargs)` (settings also come from the PHOSPHO_* environment the parent gives it),
then answers each command line with one JSON line on stdout:

    {"op": "log", "n": 100, "start": 0, "run": "r1"}      -> {"task_ids": [...], "stats": {...}}
        (optional "hog": seconds, the GIL switch interval during the burst: a busy app thread)
    {"op": "log_calls", "calls": [{...}, ...]}             -> {"returned": [...], "stats": {...}}
        (phospho.log(**kwargs) for each JSON kwargs dict; returns what log returned)
    {"op": "feedback", "task_ids": [...]}                  -> {"feedback": [...], "stats": {...}}
    {"op": "flush", "timeout": 60}                         -> {"result": true, "stats": {...}}
    {"op": "wait", "key": "spooled", "min": 10, "timeout": 30} -> {"reached": true, "stats": {...}}
        (with "then_kill": true, the child SIGKILLs itself the moment it is reached, without a word)
    {"op": "init", "kwargs": {...}}                        -> {"threads": [...], "stats": {...}}
    {"op": "stats"}                                        -> {"stats": {...}, "threads": [...]}
    {"op": "exit"}                                         -> (the process exits normally)

Every task logged with op=log carries metadata {"seq": <n>, "run": <run>} so that the parent can
count each event exactly once. At exit, after phospho's own exit hook has flushed and spooled,
the child prints {"final_stats": phospho.stats()} as its last stdout line.

Imported (by the tests), it provides `SdkProcess`, the parent side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


def _sender_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "phospho-sender"]


def _child(init_kwargs: dict[str, Any]) -> int:
    import atexit

    out = sys.stdout

    def reply(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    # registered before phospho.init: atexit runs hooks last-in first-out, so this one runs
    # after phospho's own exit hook (flush within exit_timeout, spool the rest)
    def final() -> None:
        import phospho

        reply({"final_stats": phospho.stats(), "threads": _sender_threads()})

    atexit.register(final)

    import phospho

    try:
        phospho.init(**init_kwargs)
    except Exception as exc:  # reported to the parent, which decides what it means
        reply({"init_error": type(exc).__name__, "message": str(exc),
               "is_value_error": isinstance(exc, ValueError),
               "is_configuration_error": isinstance(exc, phospho.ConfigurationError),
               "threads": _sender_threads()})
        atexit.unregister(final)
        return 3
    reply({"ready": True, "pid": os.getpid(), "threads": _sender_threads()})

    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "log":
            run, start, n = cmd.get("run", "run"), cmd.get("start", 0), cmd["n"]
            ids = []
            # "hog": keep the GIL in this thread for up to that many seconds at a time, like a
            # busy app thread, so that the sender thread cannot drain the queue during the burst
            previous_interval = sys.getswitchinterval()
            if cmd.get("hog"):
                sys.setswitchinterval(cmd["hog"])
            for seq in range(start, start + n):
                logged = phospho.log(
                    input=f"{run} question #{seq}",
                    output=f"{run} answer #{seq}",
                    session_id=f"{run}-session-{seq % 7}",
                    user_id=f"{run}-user-{seq % 5}",
                    metadata={"seq": seq, "run": run},
                )
                ids.append(logged["task_id"])
            sys.setswitchinterval(previous_interval)
            reply({"task_ids": ids, "stats": phospho.stats()})
        elif op == "log_calls":
            returned = [phospho.log(**kwargs) for kwargs in cmd["calls"]]
            reply({"returned": json.loads(json.dumps(returned, default=repr)), "stats": phospho.stats()})
        elif op == "feedback":
            done = [phospho.user_feedback(task_id=t, flag="success", notes=f"note {i}")
                    for i, t in enumerate(cmd["task_ids"])]
            reply({"feedback": done, "stats": phospho.stats()})
        elif op == "flush":
            result = phospho.flush(cmd.get("timeout", 10.0))
            reply({"result": result, "stats": phospho.stats()})
        elif op == "wait":
            deadline = time.monotonic() + cmd.get("timeout", 30.0)
            reached = False
            while time.monotonic() < deadline:
                if phospho.stats()[cmd["key"]] >= cmd["min"]:
                    reached = True
                    if cmd.get("then_kill"):
                        os.kill(os.getpid(), signal.SIGKILL)
                    break
                time.sleep(0.001 if cmd.get("then_kill") else 0.05)
            reply({"reached": reached, "stats": phospho.stats()})
        elif op == "init":
            phospho.init(**cmd.get("kwargs", {}))
            reply({"threads": _sender_threads(), "stats": phospho.stats()})
        elif op == "stats":
            reply({"stats": phospho.stats(), "threads": _sender_threads()})
        elif op == "exit":
            break
        else:
            reply({"error": f"unknown op {op!r}"})
    return 0


# -- parent side ---------------------------------------------------------------------------------

def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without any PHOSPHO_*/KAFKA_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOSPHO_", "KAFKA_"))}
    env.update(extra)
    return env


class SdkProcess:
    """A child process running one fresh phospho SDK (see the module docstring)."""

    def __init__(self, init_kwargs: dict[str, Any], env: dict[str, str], timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE), json.dumps(init_kwargs)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, text=True, bufsize=1,
        )
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, False), daemon=True).start()
        self.hello = self.read(timeout)

    def _pump(self, stream: Any, is_stdout: bool) -> None:
        for line in stream:
            if is_stdout:
                with self._cond:
                    self._lines.append(line)
                    self._cond.notify_all()
            else:
                self.stderr_lines.append(line)
        if is_stdout:
            with self._cond:
                self._lines.append("")  # EOF marker
                self._cond.notify_all()

    def read(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._lines:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no answer from the SDK process within {timeout}s; stderr:\n{self.stderr}")
                self._cond.wait(remaining)
            line = self._lines.pop(0)
        if not line:
            raise EOFError(f"the SDK process closed its stdout (rc={self.proc.poll()}); stderr:\n{self.stderr}")
        return json.loads(line)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines[-60:])

    def call(self, op: str, answer_within: float = 120.0, **cmd: Any) -> dict[str, Any]:
        """Send one command (op=..., its fields as keywords) and return the child's answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **cmd}) + "\n")
        self.proc.stdin.flush()
        return self.read(answer_within)

    def exit(self, timeout: float = 60.0) -> dict[str, Any]:
        """Ask the child to exit normally; returns its final JSON line (final_stats)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": "exit"}) + "\n")
        self.proc.stdin.close()
        rc = self.proc.wait(timeout)
        final = self.read(5)
        final["returncode"] = rc
        return final

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> SdkProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


if __name__ == "__main__":
    sys.exit(_child(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
