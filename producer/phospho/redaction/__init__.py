"""PII redaction shared by the SDK (before produce) and the pipeline (before storage).

    from phospho.redaction import Redactor
    redactor = Redactor([{"detector": "email", "mode": "mask"},
                         {"detector": "regex", "pattern": r"EMP-\\d{5}", "mode": "hash",
                          "name": "employee_id"}], salt=secret)
    redactor.redact_text("mail bob@example.com about EMP-12345")
    # Redaction(value='mail <EMAIL> about <EMPLOYEE_ID:3f0c...>', counts={'email': 1, 'employee_id': 1})
    EventRedactor(redactor).redact("task", record)   # an event record's free-text fields, counts summed

Imports nothing else of the SDK, so the pipeline imports it alone.
"""

from .errors import RedactionError, RuleError
from .records import EventRedactor
from .redactor import Redaction, Redactor
from .rules import (
    BUILTIN_DETECTORS,
    MODES,
    Detector,
    Mode,
    RedactionRule,
    check_rules,
    default_rules,
    parse_rules,
)
from .tokens import HASH_HEX_CHARS, MIN_SALT_BYTES, SALT_ENV, salt_from_env

__all__ = [
    "Redactor", "Redaction", "EventRedactor", "RedactionRule", "RedactionError", "RuleError", "Detector", "Mode",
    "BUILTIN_DETECTORS", "MODES", "parse_rules", "check_rules", "default_rules", "salt_from_env",
    "SALT_ENV", "HASH_HEX_CHARS", "MIN_SALT_BYTES",
]
