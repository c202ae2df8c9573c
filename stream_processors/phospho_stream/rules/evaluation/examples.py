"""The few-shot pool: the latest tasks users flagged, as many successes as failures per prompt.

Only user feedback enters it (never the judge's own verdicts: a judge that learns from itself
confirms its mistakes); a task whose feedback changes moves to its new side, and one whose
flag is neither success nor failure leaves.
"""

from __future__ import annotations

from .records import Example

__all__ = ["ExamplePool"]


class ExamplePool:
    def __init__(self, keep_per_flag: int) -> None:
        """Keeps the `keep_per_flag` latest examples of each flag."""
        self.keep = keep_per_flag
        self._by_task: dict[str, Example] = {}

    def __len__(self) -> int:
        return len(self._by_task)

    def __contains__(self, task_id: str) -> bool:
        return task_id in self._by_task

    def add(self, example: Example) -> list[Example]:
        """Learn `example` (replacing what its task said before); returns the examples pushed out."""
        self._by_task[example.task_id] = example
        side = sorted((e for e in self._by_task.values() if e.flag == example.flag),
                      key=lambda e: (e.learned_at_ms, e.task_id))
        evicted = side[:max(0, len(side) - self.keep)]
        for old in evicted:
            del self._by_task[old.task_id]
        return evicted

    def remove(self, task_id: str) -> Example | None:
        return self._by_task.pop(task_id, None)

    def examples(self) -> list[Example]:
        return list(self._by_task.values())

    def pick(self, n: int, exclude: str | None = None) -> list[Example]:
        """Up to n examples, as many successes as failures (the latest of each), never the task
        `exclude`; successes and failures alternate, oldest first, so that neither side comes last."""
        sides = {flag: sorted((e for e in self._by_task.values() if e.flag == flag and e.task_id != exclude),
                              key=lambda e: (e.learned_at_ms, e.task_id)) for flag in ("success", "failure")}
        each = min(n // 2, len(sides["success"]), len(sides["failure"]))
        if each == 0:
            return []
        successes, failures = sides["success"][-each:], sides["failure"][-each:]
        return [example for pair in zip(successes, failures, strict=True) for example in pair]
