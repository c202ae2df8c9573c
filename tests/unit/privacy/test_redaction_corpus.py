"""Planted personal data and secrets vanish in every mode and are counted; look-alikes stay."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from phospho.redaction import BUILTIN_DETECTORS, Redactor, default_rules
from phospho_stream.local.demo_traffic import CONVERSATIONS

HERE = Path(__file__).parent
PLANTED = yaml.safe_load((HERE / "corpus/planted.yaml").read_text(encoding="utf-8"))
NEAR_MISSES = yaml.safe_load((HERE / "corpus/near_misses.yaml").read_text(encoding="utf-8"))
ANALYTICS_CORPUS = HERE.parent / "analytics/corpus"
SALT = "a test salt of more than sixteen bytes"


def _redactor(mode: str) -> Redactor:
    return Redactor(default_rules(mode), salt=SALT)  # type: ignore[arg-type]


def test_the_planted_corpus_covers_every_detector_in_several_languages():
    kinds = {detector for item in PLANTED for detector in item["planted"]}
    assert kinds == set(BUILTIN_DETECTORS)
    for item in PLANTED:
        for values in item["planted"].values():
            assert all(value in item["text"] for value in values), item["text"]
    assert any("電話" in item["text"] for item in PLANTED) and any("邮箱" in item["text"] for item in PLANTED)
    assert sum(len(item["planted"].get("iban", ())) for item in PLANTED) >= 12


@pytest.mark.parametrize("mode", ["mask", "hash"])
def test_every_planted_value_is_replaced_and_counted(mode: str):
    redactor = _redactor(mode)
    for item in PLANTED:
        result = redactor.redact_text(item["text"])
        for detector, values in item["planted"].items():
            for value in values:
                assert value not in result.value, (detector, value, result.value)
            expected = item.get("counts", {}).get(detector, len(values))
            assert result.counts.get(detector) == expected, (detector, result.counts, result.value)
            label = "<" + detector.upper() + (":" if mode == "hash" else ">")
            assert label in result.value
        assert set(result.counts) == set(item["planted"]), result
        assert not result.dropped and result.errors == ()


def test_drop_mode_empties_every_planted_text_and_still_counts():
    redactor = _redactor("drop")
    for item in PLANTED:
        result = redactor.redact_text(item["text"])
        assert result.value == "" and result.dropped
        assert set(result.counts) == set(item["planted"])


def test_planted_values_inside_a_json_value_and_a_metadata_map_are_replaced():
    redactor = _redactor("mask")
    messages = [{"role": "user", "content": item["text"]} for item in PLANTED]
    result = redactor.redact_value({"messages": messages})
    flat = repr(result.value)
    for item in PLANTED:
        for values in item["planted"].values():
            assert all(value not in flat for value in values)
    assert sum(result.counts.values()) == sum(
        item.get("counts", {}).get(d, len(v)) for item in PLANTED for d, v in item["planted"].items())
    metadata = redactor.redact_map({f"field_{i}": item["text"] for i, item in enumerate(PLANTED)})
    assert list(metadata.value) == [f"field_{i}" for i in range(len(PLANTED))]
    assert metadata.counts == result.counts


@pytest.mark.parametrize(("kind", "text"), [(kind, text) for kind, texts in NEAR_MISSES.items() for text in texts])
def test_look_alikes_are_left_alone(kind: str, text: str):
    result = _redactor("mask").redact_text(text)
    assert result.value == text, (kind, result.counts, result.value)
    assert result.counts == {}


def test_no_false_positive_on_the_analytics_labelled_texts_nor_the_demo_conversations():
    redactor = _redactor("mask")
    texts = [text for path in sorted(ANALYTICS_CORPUS.glob("*.yaml"))
             for group in yaml.safe_load(path.read_text(encoding="utf-8")).values() for text in group]
    texts += [message for _, turns in CONVERSATIONS for turn in turns for message in turn]
    assert len(texts) > 350
    flagged = [(text, result.counts) for text in texts if (result := redactor.redact_text(text)).counts]
    assert flagged == []
