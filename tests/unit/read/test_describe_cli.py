"""`phospho-stream describe`: the views, a view's columns with their type and meaning, the
README's tables (the same text, which this test holds in place), and one line for a view that
does not exist. No store is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from phospho_sinks import VIEW_DOCS
from phospho_stream.read.describe import README_END, README_START, markdown

CLI = Path(sys.executable).parent / "phospho-stream"
README = Path(__file__).resolve().parents[3] / "README.md"


def describe(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOSPHO_")}
    return subprocess.run([str(CLI), "describe", *args], capture_output=True, text=True, timeout=60, env=env)


def test_without_a_view_it_lists_them_all():
    done = describe()
    assert done.returncode == 0, done.stderr
    for doc in VIEW_DOCS:
        assert f"phospho.{doc.name}" in done.stdout and doc.summary in done.stdout


def test_a_view_prints_each_column_with_its_type_and_meaning():
    for name in ("events", "phospho.sessions"):
        done = describe(name)
        assert done.returncode == 0, done.stderr
        doc = next(d for d in VIEW_DOCS if d.name == name.removeprefix("phospho."))
        lines = done.stdout.splitlines()
        for column in doc.columns:
            assert any(line.split()[:2] == [column.name, column.type.split()[0]] and column.meaning in line
                       for line in lines if line.strip()), column.name


def test_an_unknown_view_is_one_line_and_exit_code_2():
    done = describe("nope")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("phospho-stream describe: no view 'nope': one of tasks, sessions,")


def test_the_readme_holds_the_same_tables():
    text = README.read_text()
    section = text[text.index(README_START):text.index(README_END) + len(README_END)]
    assert section == markdown(), "README.md's view tables differ: paste `phospho-stream describe --markdown` there"
    assert describe("--markdown").stdout.rstrip("\n") == markdown()
    assert describe("tasks", "--markdown").stdout.startswith("#### `phospho.tasks`")
