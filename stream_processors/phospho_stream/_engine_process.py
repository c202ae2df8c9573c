"""Where a worker's `Engine` runs: in a child process (the default) or in a thread.

faust's per-message machinery costs about 75-90 us of CPU per event, and the engine (decoding,
session and join rules, state, rows) about as much again. In one CPython process they share one
core (the GIL), so a worker made ~2.8k tasks/s. With the engine in a child process, the two run
on two cores, batch N in the engine while faust reads batch N+1.

The client is synchronous (call it from a thread: `asyncio.to_thread(engine.call, ...)`), and
one command runs at a time, in the order they were called. The child:
- is started with `spawn` from the worker's main thread, and dies with it (PR_SET_PDEATHSIG on
  Linux; otherwise it exits when its pipe closes): a worker killed with -9 leaves nothing behind;
- ignores SIGINT, so that Ctrl-C stops the worker, which then closes its engine in order;
- answers each command with (True, result) or (False, "ErrorType: message"), in order;
- prepares a batch (decoding, rules, in memory) while the previous batch's rows are on their
  way to the broker, and answers that previous batch once they are acknowledged; only then
  does it write the new batch's state (recovery relies on that order). With nothing queued,
  a batch is answered as soon as its rows are acknowledged;
- after a failed command, refuses every later one (the worker stops on the first failure).
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from ._errors import EngineError
from .settings import WorkerSettings

__all__ = ["EngineProcess", "ThreadEngine", "start_engine", "COMMANDS"]

#: what a worker may ask its engine
COMMANDS = frozenset({"batch", "expire", "drop", "ensure_topics"})


class _Turns:
    """Commands run in the order they were submitted, whichever thread submitted them: several
    batches can be in the engine's queue, so that it starts the next one without waiting for
    the worker to hand it over."""

    def __init__(self) -> None:
        self.submit = threading.Lock()  # held while a ticket is taken (and, for a pipe, its command sent)
        self._turn = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def ticket(self) -> int:
        ticket, self._next_ticket = self._next_ticket, self._next_ticket + 1
        return ticket

    def wait_turn(self, ticket: int) -> None:
        with self._turn:
            while self._serving != ticket:
                self._turn.wait()

    def done(self) -> None:
        with self._turn:
            self._serving += 1
            self._turn.notify_all()

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) when its turn comes."""
        with self.submit:
            ticket = self.ticket()
        self.wait_turn(ticket)
        try:
            return fn(*args)
        finally:
            self.done()


class ThreadEngine:
    """The Engine in the worker's own process (PHOSPHO_WORKER_ENGINE=thread)."""

    def __init__(self, settings: WorkerSettings) -> None:
        from ._engine import Engine

        self._engine = Engine(settings)
        self._turns = _Turns()

    def call(self, command: str, *args: Any) -> Any:
        if command not in COMMANDS:
            raise ValueError(f"unknown engine command {command!r}")
        try:
            return self._turns.run(getattr(self._engine, command), *args)
        except Exception as exc:
            raise EngineError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        self._turns.run(self._engine.close)


class EngineProcess:
    """The Engine in a child process (PHOSPHO_WORKER_ENGINE=process, the default)."""

    def __init__(self, settings: WorkerSettings) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork of faust's threads and event loop
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, settings), name="phospho-engine", daemon=True)
        self._process.start()
        child.close()  # the child holds the only other end: its death closes the pipe
        self._turns = _Turns()
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def call(self, command: str, *args: Any) -> Any:
        if command not in COMMANDS:
            raise ValueError(f"unknown engine command {command!r}")
        ok, value = self._exchange(command, args)
        if not ok:
            raise EngineError(value)
        return value

    def _exchange(self, command: str, args: tuple[Any, ...], closing: bool = False) -> tuple[bool, Any]:
        """Send a command (in submission order), then read its answer (answers come in the same
        order: each caller reads when its turn comes)."""
        turns = self._turns
        with turns.submit:
            if self._closed:
                raise EngineError("the engine is closed")
            self._closed = closing
            ticket = turns.ticket()
            try:
                self._conn.send((command, args))
                sent = None
            except (EOFError, OSError) as exc:
                sent = exc
        turns.wait_turn(ticket)
        try:
            if sent is not None:
                raise sent
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            raise EngineError(f"the engine process is gone (exit code {self._process.exitcode})") from exc
        finally:
            turns.done()

    def close(self, timeout: float = 30.0) -> None:
        """Finish the commands under way, close the engine's producers, stop the child. Idempotent."""
        try:
            self._exchange("close", (), closing=True)
        except EngineError:
            pass  # already closed, or the child is gone
        else:
            self._conn.close()
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


def start_engine(settings: WorkerSettings) -> EngineProcess | ThreadEngine:
    """The engine the settings ask for. Call it from the main thread: the child process's life
    is tied to the thread that started it."""
    return EngineProcess(settings) if settings.engine == "process" else ThreadEngine(settings)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # then the pipe closing ends it


#: seconds between full garbage collections in the engine process (see `_serve`)
FULL_GC_EVERY = 120.0


def _serve(conn: Any, settings: WorkerSettings) -> None:
    """The child's loop: one command at a time until "close" or the parent is gone.

    The engine holds every key's state in memory: millions of objects that live for hours.
    CPython's full collections scan all of them (hundreds of ms each, more as state grows),
    so after each command the survivors are frozen out of the collector's sight; every
    FULL_GC_EVERY seconds they are unfrozen and collected once, so that cyclic garbage
    cannot pile up. State is freed by reference counting either way."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    from ._engine import Engine, Sending

    full_gc_at = time.monotonic() + FULL_GC_EVERY
    # a batch allocates ~100 short-lived objects per event, freed by reference counting: the
    # young generation is collected every 100k allocations, not 700 (-5 % of the rules' time)
    gc.set_threshold(100_000, 20, 1000)

    engine, broken = None, None
    try:
        engine = Engine(settings)
    except Exception as exc:  # answered to every command: the worker fails with the reason
        broken = f"the engine could not start: {type(exc).__name__}: {exc}"
    sending: Sending | None = None  # the last batch, answered once its rows are acknowledged

    def fail(exc: BaseException) -> None:
        """Answer a failed command. The engine then refuses every later command: a failed batch
        may have left rows unacknowledged, and no state write may come before them (recovery
        relies on that order). The worker stops anyway."""
        nonlocal broken
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        broken = broken or f"an earlier command failed: {detail}"
        conn.send((False, detail))

    def settle() -> None:
        """Answer the batch whose rows are on their way, once they are acknowledged."""
        nonlocal sending
        if sending is not None:
            done, sending = sending, None
            try:
                result = done.finish()
            except Exception as exc:
                fail(exc)
            else:
                conn.send((True, result))

    while True:
        if sending is not None and not conn.poll(0):
            settle()  # nothing else to do meanwhile
        try:
            command, args = conn.recv()
        except (EOFError, OSError):
            break
        if command == "close":
            settle()
            if engine is not None:
                engine.close()
            conn.send((True, None))
            break
        if broken is not None:
            settle()
            conn.send((False, broken))
            continue
        try:
            # a batch is applied in memory while the last one's rows are on their way; anything
            # that writes comes only once they are acknowledged
            prepared = engine.prepare(*args) if command == "batch" else None
            settle()
            if broken is not None:  # the last batch failed
                conn.send((False, broken))
            elif prepared is not None:
                sending = engine.commit(prepared)
            else:
                conn.send((True, getattr(engine, command)(*args)))
        except Exception as exc:
            settle()
            fail(exc)
        if time.monotonic() >= full_gc_at:
            gc.unfreeze()
            gc.collect()
            full_gc_at = time.monotonic() + FULL_GC_EVERY
        gc.freeze()
