"""`phospho-stream topics`: one run groups the inputs of recent tasks into topics and writes
them as rows (phospho.topics, phospho.task_topics) through the row topics; the sink owns the
store. A run has its own id; analysts read the latest (or compare runs)."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

import orjson

from phospho_schemas import Topics

from ..config import ProjectConfig
from ..engine.output import Output, partition_of
from ..engine.topics import ensure_topics
from ..errors import EngineError
from ..rules.clustering import Clustering, cluster_texts
from ..settings import WorkerSettings
from .naming import TopicNamer
from .source import Reader, TaskInput, read_task_inputs

__all__ = ["TopicsRun", "run_topics", "parse_since"]

_EXAMPLE_CHARS = 300
_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_since(text: str) -> int:
    """'7d', '24h', '30m', '2w' -> milliseconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", text or "")
    if match is None:
        raise ValueError(f"--since {text!r}: give a number and a unit, e.g. 30m, 24h, 7d or 2w")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class TopicsRun:
    run_id: str
    clustering: Clustering
    names: tuple[str, ...]  # per topic id
    inputs: tuple[TaskInput, ...]
    rows: int


def _run_id(now_ms: int, inputs: list[TaskInput], seed: int, k: int | None, method: str) -> str:
    digest = hashlib.sha256(orjson.dumps([[i.task_id for i in inputs], seed, k, method])).hexdigest()[:10]
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now_ms / 1000))}-{digest}"


def run_topics(settings: WorkerSettings, config: ProjectConfig, read: Reader, since_ms: int, limit: int = 20_000,
               k: int | None = None, seed: int = 0, now_ms: int | None = None) -> TopicsRun:
    """Read, group, name, write. Raises ValueError when there are too few inputs, LLMError when
    the configured embeddings cannot be had."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    inputs = read_task_inputs(read, now_ms - since_ms, limit)
    texts = [i.input for i in inputs]
    namer = TopicNamer(config) if config.llm is not None else None
    try:
        vectors = namer.embed(texts) if namer is not None and config.llm.embeddings_model else None
        clustering = cluster_texts(texts, seed=seed, k=k, vectors=vectors)
        names = tuple(_name(namer, topic.name, [texts[i] for i in topic.examples]) for topic in clustering.topics)
    finally:
        if namer is not None:
            namer.close()
    run_id = _run_id(now_ms, inputs, seed, k, clustering.method)
    rows = _write(settings, run_id, clustering, names, inputs, now_ms)
    return TopicsRun(run_id, clustering, names, tuple(inputs), rows)


def _name(namer: TopicNamer | None, terms_name: str, examples: list[str]) -> str:
    if namer is None:
        return terms_name
    return namer.title(examples) or terms_name


def _write(settings: WorkerSettings, run_id: str, clustering: Clustering, names: tuple[str, ...],
           inputs: list[TaskInput], now_ms: int) -> int:
    topics = Topics(settings.topic_prefix)
    ensure_topics(settings.bootstrap, [topics.rows("topics"), topics.rows("task_topics")], settings.topic_partitions,
                  settings.state_replication, error=EngineError)
    out = Output(settings.bootstrap, topics, settings.worker_producer_batch_bytes)
    n = settings.topic_partitions
    try:
        for topic, name in zip(clustering.topics, names, strict=True):
            examples = [inputs[i].input[:_EXAMPLE_CHARS] for i in topic.examples]
            out.row("topics", partition_of(run_id, n), {
                "run_id": run_id, "topic_id": topic.topic_id, "name": name, "size": topic.size,
                "examples": orjson.dumps(examples).decode(), "terms": orjson.dumps(list(topic.terms)).decode(),
                "method": clustering.method, "created_at_ms": now_ms})
        for task, topic_id in zip(inputs, clustering.labels, strict=True):
            out.row("task_topics", partition_of(task.task_id, n), {
                "run_id": run_id, "task_id": task.task_id, "topic_id": topic_id, "created_at_ms": now_ms})
        return out.send()
    finally:
        out.close()
