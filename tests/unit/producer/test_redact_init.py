"""`phospho.init(redact=...)`: the raw text never reaches the exporter (the wire bytes are
searched), the counts travel in the event, a bad rule is a ConfigurationError, nothing else
raises; `PHOSPHO_REDACT` turns it on without code."""

from __future__ import annotations

import re

import pytest

import phospho
from phospho.redaction import Redactor

from tests.support.memory_exporter import memory_sdk

MAIL, CARD, PHONE = "ana.souza@example.com", "4111 1111 1111 1111", "+33 6 12 34 56 78"
SALT = "a salt of more than sixteen bytes, for tests"


def _log_everything(task_id: str) -> None:
    phospho.log(task_id=task_id, input={"messages": [{"role": "system", "content": f"never repeat {CARD}"},
                                                     {"role": "user", "content": f"mail {MAIL}"}]},
                output=f"call {PHONE}", user_id="u-1", metadata={"note": f"from {MAIL}", "plan": "pro"},
                steps=[{"name": "lookup", "input": f"find {MAIL}", "output": "found", "card": CARD}])
    phospho.user_feedback(task_id, flag="failure", notes=f"write to {MAIL}")


def test_redact_true_masks_every_field_before_the_exporter_sees_a_byte(tmp_path):
    with memory_sdk(tmp_path) as sdk:
        sdk.init(redact=True)
        _log_everything("redact-t1")
        records = sdk.records()
        raw = b"".join(message.value for message in sdk.exporter.messages)
    for value in (MAIL, CARD, PHONE, CARD.replace(" ", ""), "33612345678"):
        assert value.encode() not in raw, value
    task = next(r for r in records if r.get("input") is not None and r.get("task_id") == "redact-t1")
    assert "<EMAIL>" in task["input"] and task["output"] == "call <PHONE>"
    assert task["system_prompt"] == "never repeat <CREDIT_CARD>" and task["metadata"]["note"] == "from <EMAIL>"
    assert task["redactions"]["email"] >= 3 and task["redactions"]["credit_card"] >= 2
    step = next(r for r in records if r.get("name") == "lookup")
    assert step["input_text"] == "find <EMAIL>" and step["attributes"]["card"] == "<CREDIT_CARD>"
    assert step["redactions"] == {"email": 1, "credit_card": 2}
    feedback = next(r for r in records if r.get("notes") is not None)
    assert feedback["notes"] == "write to <EMAIL>" and feedback["redactions"] == {"email": 1}


def test_rules_and_a_redactor_are_accepted_and_hash_rules_read_the_salt(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOSPHO_REDACTION_SALT", SALT)
    with memory_sdk(tmp_path) as sdk:
        sdk.init(redact=[{"detector": "email", "mode": "hash"}, "credit_card"])
        phospho.log(task_id="redact-t2", input=f"{MAIL} and {CARD}")
        first = sdk.task("redact-t2")
        sdk.init(redact=Redactor([{"detector": "email", "mode": "hash"}], salt=SALT))
        phospho.log(task_id="redact-t3", input=f"{MAIL} and {CARD}")
        second = sdk.task("redact-t3")
    token = first["input"].split(" and ")[0]
    assert token.startswith("<EMAIL:") and first["input"].endswith("<CREDIT_CARD>")
    assert second["input"] == f"{token} and {CARD}"  # same salt, same token; no card rule there


def test_the_environment_turns_it_on_and_an_argument_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOSPHO_REDACT", "email, phone")
    with memory_sdk(tmp_path) as sdk:
        sdk.init()
        phospho.log(task_id="redact-t4", input=f"{MAIL} {PHONE} {CARD}")
        assert sdk.task("redact-t4")["input"] == f"<EMAIL> <PHONE> {CARD}"
        sdk.init(redact=False)
        phospho.log(task_id="redact-t5", input=MAIL)
        assert sdk.task("redact-t5")["input"] == MAIL


@pytest.mark.parametrize("redact, message", [
    ([{"detector": "regex", "pattern": "EMP-(", "name": "employee"}], "redact: redact[0] (regex employee).pattern"),
    ([{"detector": "emial"}], "redact: redact[0] (emial).detector: 'emial' is not one of"),
    ([{"detector": "email", "mode": "hash"}], "mode hash needs a salt"),
    ("email", "redact must be True, a list of rules"),
])
def test_a_bad_rule_is_a_configuration_error_at_init(tmp_path, monkeypatch, redact, message):
    monkeypatch.delenv("PHOSPHO_REDACTION_SALT", raising=False)
    with memory_sdk(tmp_path) as sdk, pytest.raises(phospho.ConfigurationError, match=re.escape(message)):
        sdk.init(redact=redact)


def test_redaction_that_finds_nothing_changes_no_byte(tmp_path):
    with memory_sdk(tmp_path) as sdk:
        sdk.init(redact=True)
        phospho.log(task_id="redact-t6", input="where is my order?", output="on its way", metadata={"plan": "pro"})
        task = sdk.task("redact-t6")
    assert (task["input"], task["output"], task["metadata"], task["redactions"]) == (
        "where is my order?", "on its way", {"plan": "pro"}, {})
