"""The README's generated parts match what they document: the pipeline's settings table is
`settings_markdown()`, and it links nothing that a clone does not hold."""

from __future__ import annotations

import re
from pathlib import Path

from phospho_stream.settings import settings_markdown

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_the_settings_table_is_the_settings():
    table = README.split("<!-- settings:start -->", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert table.strip() == settings_markdown().strip(), "paste `phospho-stream settings --markdown`'s table there"


def test_every_relative_link_exists_in_the_clone():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not target.startswith(("http://", "https://", "mailto:")):
            assert (ROOT / target).exists(), target


def test_the_two_commands_of_a_fresh_machine_are_shown():
    assert "make demo" in README and "make test" in README
