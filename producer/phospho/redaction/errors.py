"""The redaction package's errors: one line that names the rule at fault."""

from __future__ import annotations

__all__ = ["RedactionError", "RuleError"]


class RedactionError(ValueError):
    """The root of the redaction errors: rules or a salt that cannot be used; str() is one line."""


class RuleError(RedactionError):
    """Rule number `index` (0-based) is wrong in `field` (None: the rule as a whole)."""

    def __init__(self, index: int, field: str | None, problem: str, rule: str = "") -> None:
        self.index = index
        self.field = field
        self.problem = problem
        where = f"redact[{index}]" + (f" ({rule})" if rule else "") + (f".{field}" if field else "")
        super().__init__(f"{where}: {problem}")
