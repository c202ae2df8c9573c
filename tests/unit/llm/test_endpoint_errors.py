"""What a failed call means (retry, retry and report, or give up on the request), Retry-After in
its three spellings, and the key read from the variable the config names."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from phospho_stream.config import parse_config
from phospho_stream.errors import LLMError
from phospho_stream.llm import api_key_of, retry_after_seconds


def test_retry_after_in_seconds_milliseconds_or_an_http_date():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    now = datetime(2025, 3, 24, 12, tzinfo=UTC)
    later = format_datetime(datetime(2025, 3, 24, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds({"retry-after": later}, now.timestamp()) == 30.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None and retry_after_seconds(None) is None
    assert retry_after_seconds({"retry-after": "-5"}) == 0.0


def test_the_key_comes_from_the_variable_the_config_names(monkeypatch):
    config = parse_config("llm: {model: m, api_key_env: JUDGE_KEY}\n")
    monkeypatch.delenv("JUDGE_KEY", raising=False)
    with pytest.raises(LLMError, match="the environment variable JUDGE_KEY is not set"):
        api_key_of(config.llm)
    monkeypatch.setenv("JUDGE_KEY", "sk-test")
    assert api_key_of(config.llm) == "sk-test"
    assert api_key_of(parse_config("llm: {model: m}\n").llm) == "no-key"  # a local server needs none
