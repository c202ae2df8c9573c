"""Helpers of the LLM stages' tests: a config asking the judge server, the core and a stage run
over the broker, analysis records as the core sends them, a clock a test moves."""

from __future__ import annotations

import orjson
from confluent_kafka import Producer

from phospho_schemas import Topics
from phospho_stream.config import ProjectConfig, parse_config
from phospho_stream.engine.core import CoreEngine
from phospho_stream.engine.output import partition_of
from phospho_stream.settings import WorkerSettings

from tests.support.judge_server import JudgeServer
from tests.support.stage import Feeder, produce

__all__ = ["llm_config", "run_stages", "analysis_record", "produce_records", "analysis_feeder", "Clock"]


def llm_config(judge: JudgeServer, extra: str = "", llm: str = "", concurrency: int = 4,
               price: tuple[float, float] = (1.0, 2.0)) -> ProjectConfig:
    """A config asking `judge` (model `judge`, priced at `price` USD per million input and output
    tokens); `llm` adds lines to the llm: section, `extra` sections."""
    return parse_config(f"llm:\n  base_url: {judge.base_url}\n  model: judge\n  max_concurrency: {concurrency}\n"
                        f"  retry_max_wait_s: 0.5\n{llm}pricing:\n  judge: {{input: {price[0]}, output: {price[1]}}}\n"
                        f"evaluation: {{enabled: true, few_shot: 4}}\n{extra}")


def run_stages(settings: WorkerSettings, events: list, stage, rounds: int = 3) -> None:
    """Events through the core, its analysis records through `stage.process`, and the points
    back to the core, `rounds` times."""
    topics = Topics(settings.topic_prefix)
    core = CoreEngine(settings)
    core.ensure_topics()
    produce(settings.bootstrap, topics, events)
    inputs = Feeder(settings.bootstrap, [*topics.event_topics(), topics.core_points])
    analysis = Feeder(settings.bootstrap, [topics.analysis_tasks])
    try:
        for _ in range(rounds):
            inputs.drain(core.process, idle=0.5)
            analysis.drain(stage.process, idle=0.5)
    finally:
        inputs.close()
        analysis.close()
        core.close()


def analysis_record(task_id: str, session: str, text: str, output: str | None = "Here is the answer.",
                    at_ms: int = 0, system_prompt: str | None = None, user: str | None = None) -> dict:
    """A task's analysis record as the core stage sends it."""
    return {"kind": "task", "task_id": task_id, "session_key": f"{session}|", "session_id": session,
            "user_id": user, "created_at_ms": 1_763_700_000_000 + at_ms, "input": text, "output": output,
            "system_prompt": system_prompt, "model": "gpt-4o-mini", "version_id": "v1", "usage": None,
            "span_usage": {}, "jv": 1}


def produce_records(settings: WorkerSettings, records: list[dict]) -> None:
    """Analysis records to their session key's partition, one message per record."""
    producer = Producer({"bootstrap.servers": settings.bootstrap, "log_level": 0})
    for record in records:
        producer.produce(Topics(settings.topic_prefix).analysis_tasks, orjson.dumps([record]),
                         partition=partition_of(record["session_key"], settings.topic_partitions))
    assert producer.flush(10) == 0


def analysis_feeder(settings: WorkerSettings) -> Feeder:
    return Feeder(settings.bootstrap, [Topics(settings.topic_prefix).analysis_tasks])


class Clock:
    """A wall clock a test moves (the budget's UTC day)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
