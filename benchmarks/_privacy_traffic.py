"""The privacy benchmark's traffic: realistic tasks logged with the real SDK, every input and answer
unique (the redactor's cache gets no help a real app would not give), one task in ten carrying
personal data or a secret, system prompts shared as an app shares them; some tasks with steps,
some with feedback notes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
ANALYTICS_CORPUS = REPO / "tests/unit/analytics/corpus"
PLANTED = REPO / "tests/unit/privacy/corpus/planted.yaml"
SYSTEM_PROMPTS = (
    "You are the support assistant of Acme Shop. Be brief and polite. Escalations go to support@acme.example.",
    "You are a travel planner. Answer in the user's language, suggest at most three options.",
    "You are a coding assistant. Show code first, then one paragraph of explanation.",
    "You are a careful medical information assistant: never diagnose, always suggest seeing a doctor.",
)
WORDS = ("amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "heron", "iris", "juniper", "kestrel",
         "lumen", "maple", "nectar", "opal", "prism", "quartz", "raven", "sable", "tundra")

__all__ = ["messages", "log_traffic"]


def messages() -> tuple[list[str], list[str]]:
    """(the suite's labelled user messages in 10 languages, the planted PII messages)."""
    texts = [text for path in sorted(ANALYTICS_CORPUS.glob("*.yaml"))
             for group in yaml.safe_load(path.read_text(encoding="utf-8")).values() for text in group]
    planted = [item["text"] for item in yaml.safe_load(PLANTED.read_text(encoding="utf-8"))]
    return texts, planted


def _unique(i: int) -> str:
    """A tag no other task has, in words (digits would wake the number detectors' gates)."""
    return " ".join(WORDS[(i // len(WORDS) ** k) % len(WORDS)] for k in range(4))


def log_traffic(phospho: Any, tasks: int, seed: int = 19) -> dict[str, int]:
    rng = random.Random(seed)
    texts, planted = messages()
    counts = {"tasks": 0, "spans": 0, "feedback": 0}
    for i in range(tasks):
        question = rng.choice(planted) if rng.random() < 0.1 else " ".join(rng.sample(texts, rng.randint(1, 2)))
        question = f"{question} (ref {_unique(i)})"
        answer = f"About {_unique(i)}: " + " ".join(rng.sample(texts, rng.randint(3, 7)))
        prompt = rng.choice(SYSTEM_PROMPTS)
        steps = None
        if rng.random() < 0.3:
            steps = [{"name": "retrieve", "input": question, "output": "3 help-center articles", "duration_ms": 30},
                     {"name": "llm", "input": question, "output": answer, "gen_ai.operation.name": "chat",
                      "provider": "openai", "model": "gpt-4o-mini", "duration_ms": 400}]
            counts["spans"] += 2
        task_id = f"bench-{seed}-t{i}"
        phospho.log(task_id=task_id, input={"messages": [{"role": "system", "content": prompt},
                                                         {"role": "user", "content": question}], "model": "gpt-4o-mini"},
                    output=answer, session_id=f"bench-s{i // 5}", user_id=f"bench-u{i % 97}", steps=steps,
                    metadata={"channel": rng.choice(["web", "mobile"]), "plan": rng.choice(["free", "pro"]),
                              "note": "escalated by ana.souza@example.com" if rng.random() < 0.05 else "first contact"})
        counts["tasks"] += 1
        if rng.random() < 0.2:
            phospho.user_feedback(task_id, flag=rng.choice(["success", "failure"]), notes=f"{rng.choice(texts)}")
            counts["feedback"] += 1
    return counts
