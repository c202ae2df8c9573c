"""The evaluation stage's state, one changelog record per entity on the partition of the input
that made it: each session's latest tasks (the context of later prompts, and what user feedback
teaches), the answer cache, the few-shot pool, and the budget spent per UTC day.

The session histories are per partition; the cache, the pool and the budget are shared by the
partitions this worker owns (each entry remembers its partition, for its record).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from ...config import ProjectConfig
from ...llm import AnswerCache, CachedAnswer
from ...rules.analytics import TaskText
from ...rules.evaluation import DailyBudget, Example, ExamplePool
from ..history import SessionHistory
from ..state_store import StateStore

__all__ = ["EvaluationState", "MIN_HISTORY"]

_FORMAT = 1
#: tasks kept per session whatever the prompts' context: feedback finds its task among them
MIN_HISTORY = 10


class EvaluationState:
    def __init__(self, store: StateStore, config: ProjectConfig, partitions: int, retention_ms: int) -> None:
        """`retention_ms`: a session with no task for this long is forgotten (its texts too)."""
        llm = config.llm
        assert llm is not None
        self.store, self.llm, self.retention_ms = store, llm, retention_ms
        self._touched: dict[int, dict[str, int]] = {}  # partition -> session key -> wall time of its last task
        self.keep = max(llm.context_tasks, MIN_HISTORY)
        few_shot = config.evaluation.few_shot if config.evaluation is not None else 0
        self.histories: dict[int, SessionHistory] = {}
        self.cache = AnswerCache(llm.cache_entries)
        self.pool = ExamplePool(few_shot)
        self.budget = DailyBudget(llm.daily_budget_usd, partitions)
        self._example_partition: dict[str, int] = {}
        self._pool_dirty: set[str] = set()
        self._pool_removed: list[tuple[int, str]] = []

    @property
    def owned(self) -> set[int]:
        return set(self.histories)

    def history(self, partition: int) -> SessionHistory:
        """The partition's histories, read back from the changelog the first time."""
        history = self.histories.get(partition)
        if history is None:
            history = self.histories[partition] = SessionHistory(self.keep, self.llm.max_chars)
            self._load(partition, self.store.recover(partition))
            now_ms = int(time.time() * 1000)
            self._touched[partition] = dict.fromkeys(history.sessions, now_ms)
        return history

    def touch(self, partition: int, skey: str, now_ms: int) -> None:
        self._touched.setdefault(partition, {})[skey] = now_ms

    def _expire(self, now_ms: int) -> None:
        """Sessions idle past the retention leave, with a tombstone per task kept."""
        for partition, touched in self._touched.items():
            history = self.histories.get(partition)
            if history is None:
                continue
            for skey in [k for k, at in touched.items() if now_ms - at > self.retention_ms]:
                del touched[skey]
                for task_id in history.sessions.pop(skey, {}):
                    history.dirty.discard((skey, task_id))
                    history.removed.add((skey, task_id))

    def _load(self, partition: int, records: dict[bytes, bytes]) -> None:
        self.histories[partition].load(records)
        for key, blob in records.items():
            tag, name = key[:2], key[2:].decode("utf-8", "surrogatepass")
            if tag == b"c\x00":
                self.cache.load(name, CachedAnswer.loads(blob, partition))
            elif tag == b"x\x00":
                _, (inp, out, flag, learned) = orjson.loads(blob)
                self._example_partition[name] = partition
                for old in self.pool.add(Example(name, inp, out, flag, learned)):
                    self._forget_example(old.task_id)
            elif tag == b"b\x00":
                _, usd = orjson.loads(blob)
                self.budget.load(partition, name, usd)

    def learn(self, partition: int, record: dict[str, Any], now_ms: int) -> bool:
        """A task's user feedback changed: its text joins the pool (success or failure) or
        leaves it. False when the task's text is no longer kept."""
        task_id, flag = record["task_id"], record.get("flag")
        if flag not in ("success", "failure"):
            if self.pool.remove(task_id) is not None:
                self._forget_example(task_id)
            return True
        entry = self.history(partition).sessions.get(record["session_key"], {}).get(task_id)
        if entry is None:
            return False
        text: TaskText = entry.text
        self._example_partition[task_id] = partition
        self._pool_dirty.add(task_id)
        for old in self.pool.add(Example(task_id, text.input, text.output, flag, now_ms)):
            self._forget_example(old.task_id)
        return True

    def _forget_example(self, task_id: str) -> None:
        self._pool_dirty.discard(task_id)
        partition = self._example_partition.pop(task_id, None)
        if partition is not None:
            self._pool_removed.append((partition, task_id))

    def put_records(self, now_s: float) -> None:
        """Everything changed since the last call, as pending changelog records."""
        self._expire(int(now_s * 1000))
        put = self.store.put
        for partition, history in self.histories.items():
            for key, blob in history.records():
                put(partition, key, blob)
        written, removed = self.cache.take_changes()
        for partition, key, entry in written:
            put(partition, b"c\x00" + key.encode(), entry.dumps())
        for partition, key in removed:
            put(partition, b"c\x00" + key.encode(), b"")
        examples = {e.task_id: e for e in self.pool.examples()}
        for task_id in self._pool_dirty:
            example, partition = examples.get(task_id), self._example_partition.get(task_id)
            if example is not None and partition is not None:
                put(partition, b"x\x00" + task_id.encode("utf-8", "surrogatepass"), orjson.dumps(
                    [_FORMAT, [example.input, example.output, example.flag, example.learned_at_ms]]))
        for partition, task_id in self._pool_removed:
            put(partition, b"x\x00" + task_id.encode("utf-8", "surrogatepass"), b"")
        self._pool_dirty.clear()
        self._pool_removed.clear()
        for partition, day in self.budget.old_days(now_s):
            put(partition, b"b\x00" + day.encode(), b"")
        for partition, day, usd in self.budget.take_dirty():
            put(partition, b"b\x00" + day.encode(), orjson.dumps([_FORMAT, usd]))

    def write(self, now_s: float) -> int:
        self.put_records(now_s)
        return self.store.write()

    def drop(self, partitions: set[int]) -> None:
        """Forget what belongs to partitions this worker no longer owns."""
        for partition in partitions:
            self.histories.pop(partition, None)
            self._touched.pop(partition, None)
        self.cache.drop(partitions)
        self.budget.drop(partitions)
        for task_id in [t for t, p in self._example_partition.items() if p in partitions]:
            self.pool.remove(task_id)
            self._pool_dirty.discard(task_id)
            del self._example_partition[task_id]
        self._pool_removed = [(p, t) for p, t in self._pool_removed if p not in partitions]
        self.store.discard(partitions)
