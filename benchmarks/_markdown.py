"""BENCHMARKS.md is shared: each benchmark script rewrites only its own marked section."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["rewrite_section"]

HEADER = ("# Benchmarks\n\nEach section below is written by its own script; a script rewrites only "
          "its own section (between its `<!-- name:start -->` and `<!-- name:end -->` markers).\n\n")


def rewrite_section(path: Path, start: str, end: str, section: str) -> None:
    """Replace the text between `start` and `end` (markers included) by `section`, or append it."""
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
