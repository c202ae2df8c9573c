"""The core engine in a child process, so that faust's loop and the engine each have a CPU
(one GIL each): calls go to it over a pipe, in order, and their results (or errors) come back
in the same order, so a caller may send the next batch before the last one is done.

The child owns the engine's producers and state; it exits when the pipe closes (the worker
stopped or died), so it never outlives its worker.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import signal
import threading
from concurrent.futures import Future, InvalidStateError
from typing import Any

from ..config import ProjectConfig
from ..engine.core import CoreEngine
from ..errors import EngineError
from ..settings import WorkerSettings

__all__ = ["EngineProcess"]

logger = logging.getLogger("phospho.worker")


def _serve(settings: WorkerSettings, config: ProjectConfig, conn: Any, loglevel: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the worker, and the worker this
    logging.basicConfig(level=loglevel, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    privacy = config.privacy
    engine = CoreEngine(settings, privacy.redactor(), privacy.retention.topic_ms)
    try:
        while True:
            try:
                method, args = conn.recv()
            except (EOFError, OSError):
                return
            if method == "close":
                conn.send((True, None))
                return
            try:
                conn.send((True, getattr(engine, method)(*args)))
            except Exception as exc:  # noqa: BLE001 - the worker decides (it stops unacknowledged)
                conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        engine.close()
        conn.close()


class EngineProcess:
    """CoreEngine's methods run in a child process: `submit(method, *args)` returns a Future
    resolved with the result, or with EngineError when the call failed or the child died."""

    def __init__(self, settings: WorkerSettings, config: ProjectConfig | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")  # the worker's threads are not forked
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(settings, config or ProjectConfig(), child, logger.getEffectiveLevel()),
                                    name="phospho-core-engine", daemon=True)
        self._process.start()
        child.close()
        self._sending = threading.Lock()
        self._waiting: collections.deque[Future[Any]] = collections.deque()
        self._reader = threading.Thread(target=self._read, name="core-engine-results", daemon=True)
        self._reader.start()

    def submit(self, method: str, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._sending:
            self._waiting.append(future)
            try:
                self._conn.send((method, args))
            except (OSError, ValueError) as exc:
                self._waiting.remove(future)
                future.set_exception(EngineError(f"the core engine's process is gone: {exc}"))
        return future

    def _read(self) -> None:
        while True:
            try:
                ok, value = self._conn.recv()
            except (EOFError, OSError):
                break
            _settle(self._waiting.popleft(), value if ok else None, None if ok else EngineError(value))
        with self._sending:
            while self._waiting:
                _settle(self._waiting.popleft(), None,
                        EngineError(f"the core engine's process exited (code {self._process.exitcode})"))

    def close(self) -> None:
        """Stop the child once what it was sent is done."""
        if self._process.is_alive():
            try:
                self.submit("close").result(30)
            except Exception:  # noqa: BLE001 - it is stopping either way
                pass
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()


def _settle(future: Future[Any], result: Any, error: EngineError | None) -> None:
    """Give a call its result or error, unless its caller stopped waiting and cancelled it."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:  # cancelled: the agent is shutting down
        pass
