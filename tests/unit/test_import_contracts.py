"""The import contracts of .importlinter hold (`lint-imports`), and an import against them breaks
the check: the SDK's layers (_api above _tracing | _export above _core), no import circle, no
pipeline code in the SDK or the wire contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / ".importlinter")], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=120)


def test_every_import_contract_is_kept() -> None:
    done = lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_ground_importing_the_api_breaks_the_layers_and_makes_a_circle(tmp_path: Path) -> None:
    copy = tmp_path / "phospho"
    shutil.copytree(ROOT / "producer" / "phospho", copy, ignore=shutil.ignore_patterns("__pycache__"))
    stats = copy / "_core" / "stats.py"
    stats.write_text(stats.read_text() + "\nfrom .._api import runtime  # noqa: E402, F401\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "schemas")])}
    done = lint_imports(env)
    assert done.returncode == 1, done.stdout + done.stderr
    report = done.stdout
    assert "SDK: _api above _tracing | _export above _core" in report
    assert "phospho._core.stats -> phospho._api.runtime" in report
    assert "2 broken" in report, report
