"""`up --demo`: the demo traffic logged once into the running pipeline, then its insights."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phospho_sinks import StoreError

from ..read import insight_results, render_insights, store_reader
from .demo_traffic import generate_traffic

__all__ = ["demo_in_up", "DEMO_CONFIG", "DEMO_SEED"]

#: the demo project's config (a few events, a price for its local model)
DEMO_CONFIG = Path(__file__).resolve().parents[1] / "config" / "examples" / "demo.yaml"
DEMO_SEED = 7


def _settled(store: Any, pattern: dict[str, str], expected: int) -> bool:
    """The demo's tasks are queryable, in their sessions, and analysed."""
    visible, analysed = store.query("SELECT count(), countIf(analyzed) FROM phospho.tasks WHERE task_id LIKE {p:String}",
                                    pattern).rows[0]
    in_sessions, tasks = store.query("SELECT (SELECT sum(task_count) FROM phospho.sessions), "
                                     "(SELECT count() FROM phospho.tasks)").rows[0]
    return visible >= expected and analysed >= expected and in_sessions >= tasks


def demo_in_up(conversations: int, data_dir: Path, keep_running: bool, outcome: list[bool],
               project_id: str = "demo-project") -> Callable[[Any, threading.Event, str], None]:
    """What `up` runs in a thread once it started: log the demo (unless its ids are already
    stored), wait until it is analysed, print the insights, and stop `up` unless `keep_running`."""

    def run(store: Any, stop: threading.Event, bootstrap: str) -> None:
        import phospho

        pattern = {"p": f"demo-{DEMO_SEED}-%"}
        try:
            already = store.query("SELECT count() FROM phospho.tasks WHERE task_id LIKE {p:String}", pattern).rows[0][0]
            if already:
                print(f"\nphospho-stream up: the demo's {already} tasks are already stored (same ids each run): "
                      "not logged again", file=sys.stderr)
            else:
                phospho.init(project_id=project_id, bootstrap_servers=bootstrap, spool_dir=str(data_dir / "spool"))
                counts = generate_traffic(phospho, conversations, seed=DEMO_SEED)
                phospho.flush(60)
                deadline = time.monotonic() + 300
                while not _settled(store, pattern, counts["tasks"]) and time.monotonic() < deadline:
                    time.sleep(0.5)
            print(render_insights(insight_results(store_reader(store))), file=sys.__stdout__, flush=True)
            outcome.append(True)
        except StoreError as exc:  # `up` is stopping and closed the store
            print(f"\nphospho-stream up --demo: {exc}", file=sys.stderr)
        finally:
            if not keep_running:
                stop.set()

    return run
