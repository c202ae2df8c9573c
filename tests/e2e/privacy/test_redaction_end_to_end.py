"""PII redaction end to end (issue 19): a corpus with personal data and secrets planted in every
field kind (task input, output, system prompt, raw input, metadata values, span texts and
attributes, feedback notes) is logged through the real SDK into `phospho-stream up` (embedded
broker, the stage workers, the sink, chDB). Afterwards no planted value is in any text column of
any table or view: scanned through the read side while up runs, then on the store itself (every
String, map and array column of system.columns, base64 bytes decoded). Both placements and each
mode: in the SDK (`init(redact=...)`: Kafka never sees a raw value either) and in the core stage
(the config's `privacy.redact`: Kafka holds the raw events, the store does not). Look-alikes are
stored as logged."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from phospho.redaction import BUILTIN_DETECTORS
from phospho_schemas import Topics

from tests.support.kafka import consume_raw, topic_configs
from tests.support.pii_scan import needles_of, scan_views
from tests.support.up_process import app_environment, clean_environment, running_up

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO / "tests/unit/privacy/corpus"
PLANTED = yaml.safe_load((CORPUS / "planted.yaml").read_text(encoding="utf-8"))
NEAR_MISSES = [text for group in yaml.safe_load((CORPUS / "near_misses.yaml").read_text(encoding="utf-8")).values()
               for text in group]
VALUES = [value for item in PLANTED for values in item["planted"].values() for value in values]
SALT = "an end-to-end test salt, 32 bytes+"

APP = textwrap.dedent("""
    import json, os, sys
    import phospho
    from opentelemetry import trace
    from phospho.redaction import Redactor, default_rules

    corpus, tag, mode = json.loads(open(sys.argv[1]).read()), sys.argv[2], sys.argv[3]
    redact = Redactor(default_rules(mode), salt=os.environ["PHOSPHO_REDACTION_SALT"]) if mode != "none" else False
    phospho.init(redact=redact, tracing=True)
    tracer = trace.get_tracer("pii-app")
    for i, text in enumerate(corpus["planted"]):
        task_id = f"{tag}-p{i}"
        with phospho.tracer(task_id=task_id):
            with tracer.start_as_current_span("llm", attributes={
                    "gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": text,
                    "gen_ai.completion.0.content": text, "app.ticket": text}):
                pass
            message = [{"role": "system", "content": text}, {"role": "user", "content": text}] if i % 2 else text
            phospho.log(task_id=task_id, input=message, output=text, system_prompt=text, user_id=f"{tag}-u{i % 5}",
                        session_id=f"{tag}-s{i % 7}", metadata={"note": text, "nested": {"deep": text}},
                        steps=[{"name": "lookup", "input": text, "output": text, "detail": text}])
        phospho.user_feedback(task_id, flag="failure", notes=text)
    for i, text in enumerate(corpus["near"]):
        phospho.log(task_id=f"{tag}-n{i}", input=text, output="ok", user_id=f"{tag}-near", session_id=f"{tag}-near")
    phospho.shutdown(120)
    assert phospho.stats()["failed"] == 0, phospho.stats()
""")


def _config(path: Path, mode: str | None) -> Path:
    privacy = {"redact": [{"detector": d, "mode": mode} for d in BUILTIN_DETECTORS]} if mode else {}
    path.write_text(yaml.safe_dump({"privacy": {**privacy, "retention": {"raw_text_days": 30, "aggregates_days": 365}}}))
    return path


def _log(up, tmp_path: Path, tag: str, sdk_mode: str) -> None:
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps({"planted": [item["text"] for item in PLANTED], "near": NEAR_MISSES}))
    env = app_environment(up, PHOSPHO_SPOOL_DIR=str(tmp_path / f"spool-{tag}"))
    subprocess.run([sys.executable, "-c", APP, str(corpus), tag, sdk_mode], env=env, check=True, timeout=300)


def _wait_stored(up, tags: list[str]) -> None:
    n, near = len(PLANTED) * len(tags), len(NEAR_MISSES) * len(tags)
    like = " OR ".join(f"task_id LIKE '{tag}-%'" for tag in tags)
    up.wait(f"""SELECT (SELECT count() FROM phospho.tasks WHERE {like}) AS tasks,
        (SELECT countIf(analyzed) FROM phospho.tasks WHERE {like}) AS analyzed,
        (SELECT count() FROM phospho.spans WHERE {like}) AS spans,
        (SELECT count() FROM phospho.feedback WHERE {like}) AS feedback,
        (SELECT sum(task_count) FROM phospho.sessions WHERE session_id LIKE '{tags[0][:3]}%') AS in_sessions""",
            lambda r: r["tasks"] == r["analyzed"] == r["in_sessions"] == n + near and r["spans"] == 2 * n
            and r["feedback"] == n, timeout=300)


def _check_store(tmp_path: Path, up_data: Path) -> dict:
    needles = tmp_path / "needles.json"
    needles.write_text(json.dumps(needles_of(VALUES)))
    done = subprocess.run([sys.executable, "-m", "tests.support.pii_scan", str(up_data / "chdb"), str(needles)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _event_topics_hold_raw_values(up) -> bool:
    topics = Topics(up.info.topic_prefix or "phospho.")
    raw = [value.encode() for value in VALUES if len(value) >= 8]
    for topic in topics.event_topics():
        for message in consume_raw(up.info.bootstrap, topic, until=lambda got: False, timeout=5):
            if any(value in (message.value() or b"") for value in raw):
                return True
    return False


def _scan(up, tmp_path: Path, tags: list[str], modes: list[str]) -> None:
    _wait_stored(up, tags)
    assert scan_views(up.read, needles_of(VALUES)) == []
    for tag, mode in zip(tags, modes, strict=True):
        redacted = up.read(f"SELECT countIf(length(redactions) > 0) AS n FROM phospho.tasks WHERE task_id LIKE '{tag}-p%'")
        assert redacted.rows == [(len(PLANTED),)], mode  # each planted task says what was redacted in it
        near = up.read(f"SELECT input FROM phospho.tasks WHERE task_id LIKE '{tag}-n%' ORDER BY toUInt32(substring("
                       f"task_id, {len(tag) + 3}))").rows
        assert [text for (text,) in near] == NEAR_MISSES, mode  # look-alikes are stored as logged
        marks = up.read(f"SELECT input FROM phospho.tasks WHERE task_id = '{tag}-p0'").rows[0][0]
        assert {"mask": "<EMAIL>" in marks, "hash": "<EMAIL:" in marks, "drop": marks == ""}[mode], marks


def test_redacted_in_the_sdk_no_raw_value_leaves_the_app(tmp_path):
    env = clean_environment(tmp_path / "data", PHOSPHO_REDACTION_SALT=SALT)
    modes, tags = ["mask", "hash", "drop"], ["sdkmask", "sdkhash", "sdkdrop"]
    with running_up(env, tmp_path / "up.log", "--config", str(_config(tmp_path / "c.yaml", None))) as up:
        for tag, mode in zip(tags, modes, strict=True):
            _log(up, tmp_path, tag, mode)
        _scan(up, tmp_path, tags, modes)
        assert not _event_topics_hold_raw_values(up)  # Kafka never held a raw value
    store = _check_store(tmp_path, tmp_path / "data")
    assert store["hits"] == [] and "phospho_store.tasks" in store["tables"]


@pytest.mark.parametrize("mode", ["mask", "hash", "drop"])
def test_redacted_in_the_core_stage_no_raw_value_is_stored(tmp_path, mode):
    env = clean_environment(tmp_path / "data", PHOSPHO_REDACTION_SALT=SALT)
    tag = f"core{mode}"
    with running_up(env, tmp_path / "up.log", "--config", str(_config(tmp_path / "c.yaml", mode))) as up:
        _log(up, tmp_path, tag, "none")
        _scan(up, tmp_path, [tag], [mode])
        assert _event_topics_hold_raw_values(up)  # the trade-off: Kafka holds them until its retention
        topics = Topics(up.info.topic_prefix or "phospho.")
        configs = topic_configs(up.info.bootstrap, [*topics.event_topics(), topics.analysis_tasks])
        assert {c["retention.ms"] for c in configs.values()} == {str(30 * 86_400_000)}  # raw_text_days
    store = _check_store(tmp_path, tmp_path / "data")
    assert store["hits"] == []
    assert store["ttls"]["tasks"] == {"rows": 365, "columns": {c: 30 for c in store["ttls"]["tasks"]["columns"]}}


def test_without_redaction_the_scan_finds_the_planted_values_in_every_field_kind(tmp_path):
    """The control: the same corpus with no rule anywhere, so that a scan finding nothing above
    means nothing was there, not that the scan looks in the wrong place."""
    env = clean_environment(tmp_path / "data")
    with running_up(env, tmp_path / "up.log", "--config", str(_config(tmp_path / "c.yaml", None))) as up:
        _log(up, tmp_path, "plain", "none")
        _wait_stored(up, ["plain"])
        hits = {hit.split(":")[0] for hit in scan_views(up.read, needles_of(VALUES))}
    for column in ("tasks.input", "tasks.output", "tasks.system_prompt", "tasks.raw_input", "tasks.metadata",
                   "tasks.metadata_json", "tasks.feedback_notes", "spans.input_text", "spans.output_text",
                   "spans.attributes", "spans.attributes_json", "feedback.notes", "sessions.first_input",
                   "sessions.last_input"):
        assert f"phospho.{column}" in hits, (column, sorted(hits))
    store = _check_store(tmp_path, tmp_path / "data")
    assert {hit.split(":")[0] for hit in store["hits"]} >= {"phospho_store.tasks.input", "phospho_store.spans.attributes",
                                                             "phospho_store.feedback.notes"}
