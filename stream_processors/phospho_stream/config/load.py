"""Read a project config from YAML; a bad one is one line: `file:line: field.path: problem`."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import ConfigError, ConfigFieldError, format_loc
from .model import ProjectConfig

__all__ = ["load_config", "parse_config", "config_path_from_env", "CONFIG_ENV"]

#: the environment variable naming the config file when no --config is given
CONFIG_ENV = "PHOSPHO_CONFIG"


def config_path_from_env(argument: str | os.PathLike[str] | None = None) -> Path | None:
    """The config path: the argument, else $PHOSPHO_CONFIG, else None (no config: defaults)."""
    chosen = argument if argument is not None else os.environ.get(CONFIG_ENV) or None
    return Path(chosen) if chosen is not None else None


def load_config(path: str | os.PathLike[str]) -> ProjectConfig:
    """Read and validate the YAML file at `path`; raise ConfigError (one line) when it is not usable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}") from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "<config>") -> ProjectConfig:
    """Validate a config given as YAML text; `source` names it in error messages."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _refuse_duplicate_keys(root, source)
        data = loader.construct_document(root) if root is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}{line}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: the config is a mapping of sections (events:, pricing:, "
                          f"analytics:, llm:, evaluation:, privacy:), not a {type(data).__name__}")
    try:
        return ProjectConfig.model_validate(data)
    except ConfigFieldError as exc:
        raise ConfigError(_line(source, root, exc.loc, f"{format_loc(exc.loc)}: {exc.problem}")) from None
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        first = errors[0]
        loc = tuple(first["loc"])
        where = format_loc(loc) or "config"
        raise ConfigError(_line(source, root, loc, f"{where}: {_problem(first)}{more}")) from None


def _problem(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field (a typo, or a section this version does not have?)"
    if error["type"] == "missing":
        return "required field missing"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _line(source: str, root: Node | None, loc: tuple[str | int, ...], message: str) -> str:
    node = _node_at(root, loc) if root is not None else None
    return f"{source}:{node.start_mark.line + 1}: {message}" if node is not None else f"{source}: {message}"


def _node_at(root: Node, loc: tuple[str | int, ...]) -> Node:
    """The deepest YAML node along `loc`; a mapping entry that ends `loc` is found by its key."""
    node = root
    for depth, part in enumerate(loc, 1):
        if isinstance(node, MappingNode):
            entry = next(((k, v) for k, v in node.value
                          if isinstance(k, ScalarNode) and k.value == str(part)), None)
            if entry is None:
                return node
            node = entry[0] if depth == len(loc) else entry[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _refuse_duplicate_keys(node: Node, source: str) -> None:
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                if key.value in seen:
                    raise ConfigError(f"{source}:{key.start_mark.line + 1}: {key.value!r} appears twice "
                                      "in the same mapping")
                seen.add(key.value)
            _refuse_duplicate_keys(value, source)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item, source)

