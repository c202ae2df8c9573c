"""A topics run as a terminal table (rich): topics by size with their share and an example."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table

from .job import TopicsRun

__all__ = ["render_run"]


def render_run(run: TopicsRun) -> str:
    total = len(run.inputs)
    table = Table("topic", "name", "tasks", "share", "example", box=box.SIMPLE_HEAD,
                  title=f"run {run.run_id}: {total:,} tasks, {len(run.clustering.topics)} topics "
                        f"({run.clustering.method})")
    for topic, name in zip(run.clustering.topics, run.names, strict=True):
        example = run.inputs[topic.examples[0]].input if topic.examples else ""
        table.add_row(str(topic.topic_id), name, f"{topic.size:,}", f"{topic.size / total:.0%}",
                      " ".join(example.split())[:70])
    out = io.StringIO()
    Console(file=out, width=160, color_system=None, emoji=False, highlight=False).print(table)
    return out.getvalue().rstrip()
