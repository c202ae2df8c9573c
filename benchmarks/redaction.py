#!/usr/bin/env python3
"""Redaction benchmark: what phospho.redaction costs per task, against doing nothing and against
one regex pass for candidates alone.

    .venv/bin/python benchmarks/redaction.py            # 20,000 tasks, best of 5 passes per row
    .venv/bin/python benchmarks/redaction.py --quick    # 2,000 tasks, 2 passes; BENCHMARKS.md left alone

A task is what the core stage redacts: the user's input, the assistant's output, the system
prompt and four metadata values. Inputs are the suite's labelled user messages
(tests/unit/analytics/corpus, 10 languages, a fifth of them several messages long); one task in
ten instead carries personal data or a secret (a message of tests/unit/privacy/corpus/planted.yaml);
outputs are the analytics benchmark's answers (150-700 characters, six languages); one metadata
value in twenty holds an e-mail address. One process, one thread; each row is the best of its
passes in CPU time of the process (the machine may be shared), per task.

Rows: doing nothing (reading the fields: the floor); the regex pre-filter alone (one pattern
joining every detector's candidate pattern, run over each field, nothing validated); the pass
over each field's digits that the number detectors' gates read; the screen's one search per
field; the Redactor with every built-in detector (mask, then hash); with two custom patterns more; tasks
that all carry personal data; long answers; each detector alone; and phonenumbers'
PhoneNumberMatcher over the same fields (the way of finding phone numbers not taken).
Rewrites BENCHMARKS.md's <!-- redaction:start/end --> section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import phonenumbers
import yaml
from _markdown import rewrite_section  # benchmarks/ is on sys.path when a script runs
from analytics import ANSWERS, SYSTEM_PROMPTS
from pipeline import machine_info
from rich.console import Console
from rich.table import Table

from phospho.redaction import BUILTIN_DETECTORS, Redactor, default_rules
from phospho.redaction.contact import EMAIL_CANDIDATE, PHONE_CANDIDATES
from phospho.redaction.credentials import SECRET_CANDIDATES
from phospho.redaction.financial import CARD_CANDIDATE, IBAN_CANDIDATE
from phospho.redaction.network import IPV4_CANDIDATE, IPV6_CANDIDATE
from phospho.redaction.spans import ascii_digits, text_facts

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
ANALYTICS_CORPUS = REPO / "tests/unit/analytics/corpus"
PLANTED = REPO / "tests/unit/privacy/corpus/planted.yaml"
START, END = "<!-- redaction:start -->", "<!-- redaction:end -->"
TARGET_US = 100.0
#: the row the target reads: all built-in detectors, mask, typical tasks
HEADLINE = 4
CUSTOM = [{"detector": "regex", "pattern": r"EMP-\d{5}", "name": "employee_id"},
          {"detector": "regex", "pattern": r"(?i)\bproject [a-z]+\b", "name": "codename"}]
SALT = "benchmark salt, not a secret of anyone"


class Task(NamedTuple):
    input: str
    output: str
    system_prompt: str
    metadata: dict[str, str]


def make_tasks(count: int, pii_share: float = 0.1, long_output: bool = False, seed: int = 11) -> list[Task]:
    rng = random.Random(seed)
    messages = [text for path in sorted(ANALYTICS_CORPUS.glob("*.yaml"))
                for group in yaml.safe_load(path.read_text(encoding="utf-8")).values() for text in group]
    planted = [item["text"] for item in yaml.safe_load(PLANTED.read_text(encoding="utf-8"))]
    tasks = []
    for _ in range(count):
        if rng.random() < pii_share:
            text = rng.choice(planted)
        elif rng.random() < 0.2:
            text = " ".join(rng.sample(messages, rng.randint(2, 4)))
        else:
            text = rng.choice(messages)
        output = "\n\n".join(rng.sample(ANSWERS, 5)) if long_output else rng.choice(ANSWERS)
        metadata = {"user_tier": rng.choice(["free", "pro", "enterprise"]), "app_version": "2.3.1",
                    "locale": rng.choice(["en-US", "fr-FR", "ja-JP"]),
                    "note": "escalated by ana.souza@example.com" if rng.random() < 0.05 else "first contact"}
        tasks.append(Task(text, output, rng.choice(SYSTEM_PROMPTS), metadata))
    return tasks


def redact_task(redactor: Redactor) -> Callable[[Task], dict[str, int]]:
    """What the core stage does per task: each field, then the counts column summed."""
    def work(task: Task) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in (redactor.redact_text(task.input), redactor.redact_text(task.output),
                       redactor.redact_text(task.system_prompt), redactor.redact_map(task.metadata)):
            for key, count in result.counts.items():
                counts[key] = counts.get(key, 0) + count
        return counts
    return work


def nothing(task: Task) -> int:
    return len(task.input) + len(task.output) + len(task.system_prompt) + len(dict(task.metadata))


#: every detector's candidate pattern in one alternation: candidates found, none validated
PREFILTER = re.compile("|".join(f"(?:{p.pattern})" for p in (
    EMAIL_CANDIDATE, *PHONE_CANDIDATES[:1], CARD_CANDIDATE, IBAN_CANDIDATE, IPV4_CANDIDATE, IPV6_CANDIDATE,
    *SECRET_CANDIDATES)).replace("(?P<s>", "(?:").replace("(?P=s)", "[ -]"))


def prefilter(task: Task) -> int:
    return sum(len(PREFILTER.findall(text)) for text in (task.input, task.output, task.system_prompt,
                                                         *task.metadata.values()))


def gates(task: Task) -> int:
    """The number gates' one pass per field (digits made ASCII, digit count, digit runs)."""
    return sum(text_facts(ascii_digits(text)).digits
               for text in (task.input, task.output, task.system_prompt, *task.metadata.values()))


def screen(redactor: Redactor) -> Callable[[Task], int]:
    """The screen's one search per field, which rules a field out for every detector at once."""
    passes = redactor.screen.passes if redactor.screen is not None else bool

    def work(task: Task) -> int:
        return sum(passes(text) for text in (task.input, task.output, task.system_prompt, *task.metadata.values()))
    return work


def phone_matcher(task: Task) -> int:
    return sum(1 for text in (task.input, task.output, task.system_prompt, *task.metadata.values())
               for _ in phonenumbers.PhoneNumberMatcher(text, None, leniency=phonenumbers.Leniency.VALID))


def best_us(tasks: Sequence[Task], work: Callable[[Task], Any], passes: int) -> float:
    """CPU µs per task of `work`: the best of `passes` passes over `tasks`."""
    best = float("inf")
    for _ in range(passes):
        start = time.process_time()
        for task in tasks:
            work(task)
        best = min(best, time.process_time() - start)
    return best / len(tasks) * 1e6


def measure(count: int, passes: int) -> list[dict[str, Any]]:
    typical = make_tasks(count)
    all_pii = make_tasks(count // 4, pii_share=1.0, seed=12)
    long_answers = make_tasks(count // 4, long_output=True, seed=13)
    builtin = Redactor(default_rules())
    rows: list[tuple[str, Sequence[Task], Callable[[Task], Any]]] = [
        ("nothing (read the fields: the floor)", typical, nothing),
        ("regex pre-filter alone (one pattern of all candidates)", typical, prefilter),
        ("the number gates' pass alone (digit count, digit runs)", typical, gates),
        ("the screen alone (one search per field for every detector)", typical, screen(builtin)),
        ("all built-in detectors, mask (chosen default)", typical, redact_task(builtin)),
        ("all built-in detectors, hash", typical, redact_task(Redactor(default_rules("hash"), salt=SALT))),
        ("all built-in + 2 custom patterns", typical, redact_task(Redactor([*default_rules(), *CUSTOM]))),
        ("all built-in, every task with personal data", all_pii, redact_task(builtin)),
        ("all built-in, answers of ~2,000 characters", long_answers, redact_task(builtin)),
        *((f"{detector} alone", typical, redact_task(Redactor([detector]))) for detector in BUILTIN_DETECTORS),
        ("phonenumbers.PhoneNumberMatcher alone (not used)", typical[:max(200, count // 20)], phone_matcher),
    ]
    for _, tasks, work in rows:
        for task in tasks[:50]:
            work(task)
    out = []
    for name, tasks, work in rows:
        us = best_us(tasks, work, passes)
        chars = sum(len(t.input) + len(t.output) + len(t.system_prompt) + sum(map(len, t.metadata.values()))
                    for t in tasks) / len(tasks)
        out.append({"row": name, "us_per_task": us, "tasks_per_s": 1e6 / us, "chars": chars})
    floor, pre = out[0]["us_per_task"], out[1]["us_per_task"]
    for row in out:
        row["vs_nothing"] = row["us_per_task"] / floor
        row["vs_prefilter"] = row["us_per_task"] / pre
    return out


def show(report: dict[str, Any]) -> None:
    table = Table(title=f"redaction per task ({report['tasks']:,} tasks, CPU time, best of {report['passes']})")
    for column in ("row", "chars/task", "µs/task", "tasks/s", "x nothing", "x pre-filter"):
        table.add_column(column, justify="left" if column == "row" else "right")
    for row in report["rows"]:
        table.add_row(row["row"], f"{row['chars']:,.0f}", f"{row['us_per_task']:.1f}", f"{row['tasks_per_s']:,.0f}",
                      f"{row['vs_nothing']:,.0f}", f"{row['vs_prefilter']:.2f}")
    console = Console()
    console.print(table)
    console.print(f"target < {TARGET_US:g} µs per typical task: {verdict(report)} "
                  f"({report['rows'][HEADLINE]['us_per_task']:.1f} µs)")


def verdict(report: dict[str, Any]) -> str:
    return "PASS" if report["rows"][HEADLINE]["us_per_task"] < TARGET_US else "FAIL"


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    headline = report["rows"][HEADLINE]
    lines = [
        START, "## Redaction (`benchmarks/redaction.py`)", "",
        f"Run {report['when']} on {m['nproc']} CPUs ({m['cpu'] or 'unknown CPU'}), load average "
        f"{m['loadavg_at_start'][0]} at start; Python {m['python']}. Command: `python benchmarks/redaction.py`.", "",
        f"{report['tasks']:,} tasks, each an input (the suite's labelled user messages in 10 languages; one task in "
        "ten carries personal data or a secret from tests/unit/privacy/corpus/planted.yaml), an answer of 150-700 "
        "characters, a system prompt and four metadata values (one in twenty with an e-mail address); redacted as "
        "the core stage does (each field, then the counts column summed). One process, one thread; CPU time of the "
        f"process per task, best of {report['passes']} passes. `x nothing`: over reading the fields; `x pre-filter`: "
        "over one regex joining every detector's candidate pattern, run on every field with nothing validated.", "",
        f"All built-in detectors: **{headline['us_per_task']:.1f} µs per task, {headline['tasks_per_s']:,.0f} tasks/s** "
        f"(target < {TARGET_US:g} µs: **{verdict(report)}**).", "",
        "| row | chars/task | µs/task | tasks/s | x nothing | x pre-filter |", "|---|---:|---:|---:|---:|---:|",
        *(f"| {r['row']} | {r['chars']:,.0f} | {r['us_per_task']:.1f} | {r['tasks_per_s']:,.0f} | "
          f"{r['vs_nothing']:,.0f} | {r['vs_prefilter']:.2f} |" for r in report["rows"]),
        "", "How the cost stays low: first a screen (redaction/screen.py), one regex search per field led by one "
        "character class, rules a field out for every detector at once when it holds nothing any of them needs "
        "(an '@', 4 digits, a secret's prefix...); most fields stop there. In a field it lets through, a digit "
        "count on the text's bytes and one pass over its digit runs decide "
        "which number detectors run at all (a card needs a run of 13 characters or more, an IPv4 address a run "
        "with three dots, an IBAN a run right after two letters); secrets are searched only when one of their "
        "prefixes is in the text (`sk-`, `AKIA`, `ghp_`, `eyJ`...); every candidate pattern opens with a "
        "character class so the regex engine skips to possible first characters; phonenumbers, python-stdnum and "
        "Luhn run on candidates only. PhoneNumberMatcher, which reads every text itself, is the last row.",
        END, "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 tasks, 2 passes, BENCHMARKS.md left alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.passes = 2_000, 2
    report: dict[str, Any] = {"when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                              "machine": machine_info(), "tasks": args.tasks, "passes": args.passes}
    report["rows"] = measure(args.tasks, args.passes)
    show(report)
    if not args.quick:
        rewrite_section(BENCHMARKS_MD, START, END, markdown(report))


if __name__ == "__main__":
    main()
