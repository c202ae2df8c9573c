"""Fixtures of the evaluation stage's tests: the OpenAI-compatible judge server (a real process);
their settings on per-test topics come from tests/integration/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.judge_server import JudgeServer


@pytest.fixture(scope="module")
def judge() -> Iterator[JudgeServer]:
    with JudgeServer() as server:
        yield server
