"""The read processes' settings: argument > environment > default, one-line errors naming the
variable, and the limits they give the locked path."""

from __future__ import annotations

from pathlib import Path

import pytest

from phospho_sinks import QueryLimits
from phospho_stream import SettingsError
from phospho_stream.read import limits_of
from phospho_stream.settings import ReadSettings


@pytest.fixture
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("PHOSPHO_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults(clean_env):
    settings = ReadSettings.load()
    assert settings.data_dir == Path(".phospho").resolve() and settings.dsn is None
    assert settings.store_dsn == f"chdb://{Path('.phospho').resolve() / 'chdb'}"
    assert (settings.host, settings.port, settings.public_url) == ("127.0.0.1", 0, None)
    assert limits_of(settings) == QueryLimits()


def test_the_environment_then_the_arguments(clean_env, tmp_path):
    clean_env.setenv("PHOSPHO_DATA_DIR", str(tmp_path))
    clean_env.setenv("PHOSPHO_CLICKHOUSE_DSN", "clickhouse://u:p@ch:8123/db")
    clean_env.setenv("PHOSPHO_READ_PORT", "8765")
    clean_env.setenv("PHOSPHO_READ_TIMEOUT_SECONDS", "5")
    clean_env.setenv("PHOSPHO_READ_MAX_ROWS", "10")
    clean_env.setenv("PHOSPHO_READ_MAX_BYTES", "1000")
    clean_env.setenv("PHOSPHO_READ_PUBLIC_URL", "http://127.0.0.1:18000/")
    settings = ReadSettings.load()
    assert (settings.data_dir, settings.store_dsn, settings.port) == (tmp_path, "clickhouse://u:p@ch:8123/db", 8765)
    assert limits_of(settings) == QueryLimits(5.0, 10, 1000) and settings.public_url == "http://127.0.0.1:18000/"
    argued = ReadSettings.load(dsn="chdb:///elsewhere", port=9, host=None)  # None: not given
    assert (argued.store_dsn, argued.port, argued.host) == ("chdb:///elsewhere", 9, "127.0.0.1")


@pytest.mark.parametrize(("name", "value"), [
    ("PHOSPHO_READ_PORT", "http"), ("PHOSPHO_READ_PORT", "70000"), ("PHOSPHO_READ_TIMEOUT_SECONDS", "0"),
    ("PHOSPHO_READ_MAX_ROWS", "-1"),
])
def test_a_bad_value_is_one_line_naming_the_variable(clean_env, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as bad:
        ReadSettings.load()
    assert str(bad.value).startswith(f"{name} (or --") and repr(value) in str(bad.value) and "\n" not in str(bad.value)
