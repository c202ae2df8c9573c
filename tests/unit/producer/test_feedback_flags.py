"""phospho.user_feedback: the default raw_flag mapping, and the flag it gives the returned dict."""

from __future__ import annotations

import uuid

import pytest

from phospho._api.feedback import default_flag

SUCCESS_RAW = ["success", "👍", "🙂", "😀"]


def tid() -> str:
    return f"fb-{uuid.uuid4().hex}"


@pytest.mark.parametrize("raw", SUCCESS_RAW)
def test_default_mapping_success(raw):
    assert default_flag(raw) == "success"


@pytest.mark.parametrize("raw", ["failure", "👎", "🙁", "ok", "", 1, 0, None, True])
def test_default_mapping_failure(raw):
    assert default_flag(raw) == "failure"


@pytest.mark.parametrize("raw, expected", [(r, "success") for r in SUCCESS_RAW] + [("👎", "failure"), ("meh", "failure")])
def test_raw_flag_default_mapping(sdk, raw, expected):
    sent = sdk.user_feedback(tid(), raw_flag=raw)
    assert sent["flag"] == expected
    assert sent["raw_flag"] == raw


def test_explicit_flag_wins_over_raw_flag(sdk):
    sent = sdk.user_feedback(tid(), flag="failure", raw_flag="👍")
    assert sent["flag"] == "failure" and sent["raw_flag"] == "👍"


