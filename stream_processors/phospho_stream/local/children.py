"""`up`'s stage workers: one child process each (`phospho-stream worker --stage ...`), dying with
`up`, their output in the data directory's logs/, restarted with backoff when they stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .process import die_with_parent, stop_process

__all__ = ["Child", "Children"]

_MAX_BACKOFF = 30.0


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    nice: int = 0
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    last_exit: int | None = None
    _restart_at: float = 0.0
    _backoff: float = 1.0
    _started_at: float = field(default=0.0, repr=False)

    def start(self) -> None:
        def setup() -> None:
            die_with_parent()
            if self.nice:
                os.nice(self.nice)

        log = self.log_path.open("ab")
        # a session of its own: a Ctrl-C at the terminal reaches `up`, which stops the workers in order
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=setup, start_new_session=True)  # noqa: PLW1509
        log.close()
        self._started_at = time.monotonic()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def watch(self) -> str | None:
        """Restart a child that stopped (after a backoff); returns a line saying so, or None."""
        if self.proc is None or self.proc.poll() is None:
            return None
        now = time.monotonic()
        if self._restart_at == 0.0:
            self.last_exit = self.proc.returncode
            if now - self._started_at > 60:  # it ran a while: a fresh failure, not a crash loop
                self._backoff = 1.0
            self._restart_at = now + self._backoff
            self._backoff = min(self._backoff * 2, _MAX_BACKOFF)
            return (f"the {self.name} worker stopped (exit {self.last_exit}); restarting in {self._restart_at - now:.0f} s "
                    f"(see {self.log_path})")
        if now >= self._restart_at:
            self._restart_at = 0.0
            self.restarts += 1
            self.start()
        return None

    def stop(self, timeout: float = 30.0) -> None:
        proc, self.proc = self.proc, None
        stop_process(proc, timeout)


class Children:
    """The stage workers `up` runs (start them from the main thread: they die with it)."""

    def __init__(self, data_dir: Path, env: dict[str, str], log_level: str = "warn") -> None:
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env, self.log_level = env, log_level
        self.items: list[Child] = []

    def add(self, stage: str, nice: int = 0) -> Child:
        cli = str(Path(sys.executable).parent / "phospho-stream")
        argv = [cli, "worker", "--stage", stage, "--loglevel", self.log_level]
        child = Child(stage, argv, self.env, self.logs / f"{stage}.log", nice)
        self.items.append(child)
        child.start()
        return child

    def watch(self) -> list[str]:
        return [line for child in self.items if (line := child.watch()) is not None]

    def stop(self, timeout: float = 30.0) -> None:
        for child in self.items:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        for child in self.items:
            child.stop(timeout)
