"""The config package's errors: one line a person can act on (file, line, field, problem)."""

from __future__ import annotations

from ..errors import PhosphoStreamError

__all__ = ["ConfigError", "ConfigFieldError", "format_loc"]


class ConfigError(PhosphoStreamError):
    """A project config that cannot be used; str(error) is the one line to show."""


class ConfigFieldError(ConfigError):
    """A check across fields failed at `loc` (the field's path, as pydantic writes it)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        self.loc = loc
        self.problem = message
        super().__init__(f"{format_loc(loc)}: {message}")


def format_loc(loc: tuple[str | int, ...]) -> str:
    """('events', 2, 'regex_pattern') -> 'events[2].regex_pattern'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
