"""EventRedactor: every free-text field of a task, span and feedback record redacted, JSON fields
kept valid JSON, ids and figures left alone, counts summed with what redacted the event before."""

from __future__ import annotations

import json

from phospho.redaction import EventRedactor, Redactor, default_rules

MAIL, CARD, PHONE = "ana.souza@example.com", "4111 1111 1111 1111", "+33 6 12 34 56 78"
EVENTS = EventRedactor(Redactor(default_rules()))


def task(**fields):
    record = {"event_id": "e1", "task_id": "t1", "session_id": "s1", "user_id": "u-1", "input": f"mail {MAIL}",
              "output": f"call {PHONE}", "system_prompt": f"never repeat {CARD}",
              "raw_input": json.dumps({"messages": [{"role": "user", "content": f"mail {MAIL}"}]}),
              "raw_output": None, "metadata": {"note": f"from {MAIL}", "plan": "pro"},
              "metadata_json": json.dumps({"note": f"from {MAIL}", "plan": "pro", "card": 4111111111111111}),
              "errors": [], "redactions": {}, "model": "gpt-4o", "total_tokens": 12}
    return {**record, **fields}


def test_every_text_field_of_a_task_is_redacted_and_counted():
    record = task()
    assert EVENTS.redact("task", record)
    assert record["input"] == "mail <EMAIL>" and record["output"] == "call <PHONE>"
    assert record["system_prompt"] == "never repeat <CREDIT_CARD>"
    assert json.loads(record["raw_input"]) == {"messages": [{"role": "user", "content": "mail <EMAIL>"}]}
    assert record["metadata"] == {"note": "from <EMAIL>", "plan": "pro"}
    assert json.loads(record["metadata_json"]) == {"note": "from <EMAIL>", "plan": "pro", "card": "<CREDIT_CARD>"}
    assert record["redactions"] == {"email": 4, "phone": 1, "credit_card": 2}
    assert (record["user_id"], record["model"], record["total_tokens"]) == ("u-1", "gpt-4o", 12)


def test_counts_add_to_those_the_sdk_wrote_and_its_tokens_are_left_alone():
    record = task(input="mail <EMAIL> or bob@example.org", redactions={"email": 1, "employee_id": 2})
    EVENTS.redact("task", record)
    assert record["input"] == "mail <EMAIL> or <EMAIL>"
    assert record["redactions"]["email"] == 1 + 1 + 3 and record["redactions"]["employee_id"] == 2


def test_nothing_found_leaves_the_record_as_it_was():
    record = task(input="hello", output="hi", system_prompt="be nice", raw_input=None,
                  metadata={"plan": "pro"}, metadata_json='{"plan":"pro"}')
    before = json.dumps(record, sort_keys=True)
    assert EVENTS.redact("task", record) is False
    assert json.dumps(record, sort_keys=True) == before


def test_a_span_its_texts_status_and_attributes():
    record = {"event_id": "s1", "input_text": f"to {MAIL}", "output_text": "ok", "status_message": f"bad card {CARD}",
              "attributes": {"gen_ai.prompt.0.content": f"call {PHONE}", "gen_ai.system": "openai"},
              "attributes_json": json.dumps({"gen_ai.prompt.0.content": f"call {PHONE}"}), "errors": [],
              "redactions": {}, "name": "chat"}
    EVENTS.redact("span", record)
    assert (record["input_text"], record["status_message"]) == ("to <EMAIL>", "bad card <CREDIT_CARD>")
    assert record["attributes"] == {"gen_ai.prompt.0.content": "call <PHONE>", "gen_ai.system": "openai"}
    assert json.loads(record["attributes_json"]) == {"gen_ai.prompt.0.content": "call <PHONE>"}
    assert record["redactions"] == {"email": 1, "credit_card": 1, "phone": 2}


def test_feedback_notes():
    record = {"event_id": "f1", "notes": f"reach me at {MAIL}", "raw_flag": "👎", "flag": "failure", "errors": [],
              "redactions": {}}
    EVENTS.redact("feedback", record)
    assert record["notes"] == "reach me at <EMAIL>" and record["redactions"] == {"email": 1}


def test_drop_empties_the_field_it_fired_in_and_only_that_metadata_value():
    events = EventRedactor(Redactor([{"detector": "credit_card", "mode": "drop"}, "email"]))
    record = task(input=f"my card {CARD}", metadata={"card": CARD, "plan": "pro"},
                  metadata_json=json.dumps({"card": CARD, "plan": "pro"}))
    events.redact("task", record)
    assert record["input"] == "" and record["system_prompt"] == ""
    assert record["metadata"] == {"card": "", "plan": "pro"}
    assert record["metadata_json"] == "{}"  # one field: emptied whole, still JSON
    assert record["raw_input"] == json.dumps({"messages": [{"role": "user", "content": "mail <EMAIL>"}]},
                                             separators=(",", ":"))


def test_a_json_field_cut_short_is_searched_as_text():
    cut = json.dumps({"messages": [{"content": f"write to {MAIL} please"}]})[:-8]
    record = task(raw_input=cut)
    EVENTS.redact("task", record)
    assert MAIL not in record["raw_input"] and "<EMAIL>" in record["raw_input"]


def test_a_search_that_times_out_drops_its_field_and_says_so_without_the_text():
    events = EventRedactor(Redactor([{"detector": "regex", "pattern": r"(a|aa)+$", "name": "runaway"}],
                                    regex_timeout_ms=5))
    slow = "a" * 5000 + "b"
    record = task(input=slow, output="fine")
    assert events.redact("task", record)
    assert record["input"] == "" and record["output"] == "fine"
    assert len(record["errors"]) == 1 and "runaway" in record["errors"][0] and slow not in record["errors"][0]


def test_errors_lines_that_quote_a_value_are_redacted():
    record = task(errors=[f"prompt_tokens: '{MAIL}' is not an integer; stored as null"])
    EVENTS.redact("task", record)
    assert record["errors"] == ["prompt_tokens: '<EMAIL>' is not an integer; stored as null"]


def test_texts_met_again_are_redacted_once_with_the_same_counts():
    events = EventRedactor(Redactor(default_rules()), cache_size=16)
    first, second = task(), task()
    events.redact("task", first)
    events.redact("task", second)
    assert first == second
