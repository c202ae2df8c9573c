"""phospho.redaction stands alone: it imports nothing else of the SDK, so the pipeline imports it
without the SDK's runtime (and the SDK's restructuring cannot break it)."""

from __future__ import annotations

import ast
from pathlib import Path

import phospho.redaction

PACKAGE = Path(phospho.redaction.__file__).parent


def test_no_module_of_the_package_imports_another_part_of_the_sdk():
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), (path.name, node.module)
                assert node.level == 1 or not (node.module or "").startswith("phospho"), (path.name, node.module)
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("phospho") for alias in node.names), path.name


def test_the_public_api_is_listed_and_importable():
    assert set(phospho.redaction.__all__) >= {"Redactor", "Redaction", "RedactionRule", "RedactionError",
                                              "RuleError", "default_rules", "salt_from_env"}
    assert all(hasattr(phospho.redaction, name) for name in phospho.redaction.__all__)
