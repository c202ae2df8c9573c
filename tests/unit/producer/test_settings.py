"""phospho's settings: explicit argument > environment variable > named default, for every
setting; PHOSPHO_KAFKA_<NAME> librdkafka passthrough; configuration errors from phospho.init.
Anything that touches the SDK's global state runs in
a child process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from phospho import ConfigurationError
from phospho._core.settings import DEFAULTS, ENV, kafka_env_config, resolve_settings
from phospho._export.kafka import producer_config

from tests.support.sdk_driver import SdkProcess, clean_env

# setting -> (explicit value, value of its environment variable, what the env value resolves to)
CASES: dict[str, tuple[Any, str, Any]] = {
    "project_id": ("p-arg", "p-env", "p-env"),
    "api_key": ("key-arg", "key-env", "key-env"),
    "bootstrap_servers": ("arg-host:1", "env-host:2", "env-host:2"),
    "schema_registry_url": ("http://arg:8081", "http://env:8081", "http://env:8081"),
    "topic_prefix": ("arg.", "env.", "env."),
    "spool_dir": (None, None, None),  # paths: filled in per test (tmp_path)
    "version_id": ("v-arg", "v-env", "v-env"),
    "max_queue_size": (7, "123", 123),
    "flush_interval": (0.5, "0.25", 0.25),
    "exit_timeout": (1.5, "2.5", 2.5),
    "max_field_chars": (5_000, "6000", 6000),
    "max_event_bytes": (20_000, "30000", 30000),
    "spool_max_bytes": (2 << 20, str(3 << 20), 3 << 20),
    "trace_link_timeout": (4.0, "7.5", 7.5),
}


def test_every_setting_is_covered() -> None:
    assert set(CASES) == set(ENV), "a setting was added or removed: update CASES"


def _case(name: str, tmp_path: Path) -> tuple[Any, str, Any]:
    if name == "spool_dir":
        return tmp_path / "arg-spool", str(tmp_path / "env-spool"), tmp_path / "env-spool"
    return CASES[name]


def _resolve(tmp_path: Path, environ: dict[str, str], **explicit: Any):
    explicit.setdefault("project_id", None)
    if "spool_dir" not in explicit and not any(v in environ for v in ENV["spool_dir"]):
        explicit["spool_dir"] = tmp_path / "spool"  # never the user's real default spool
    if not explicit["project_id"] and not any(v in environ for v in ENV["project_id"]):
        explicit["project_id"] = "p"
    return resolve_settings(environ=environ, **explicit)


@pytest.mark.parametrize("name", sorted(ENV))
def test_explicit_argument_beats_environment(name: str, tmp_path: Path) -> None:
    explicit, env_value, _ = _case(name, tmp_path)
    environ = {var: env_value for var in ENV[name]}
    settings = _resolve(tmp_path, environ, **{name: explicit})
    assert getattr(settings, name) == explicit


@pytest.mark.parametrize("name", sorted(ENV))
def test_each_environment_variable_beats_the_default(name: str, tmp_path: Path) -> None:
    _, env_value, resolved = _case(name, tmp_path)
    for var in ENV[name]:
        settings = _resolve(tmp_path, {var: env_value})
        assert getattr(settings, name) == resolved, var
        assert type(getattr(settings, name)) is type(resolved), var


@pytest.mark.parametrize("name", sorted(n for n in ENV if len(ENV[n]) > 1))
def test_first_environment_variable_wins(name: str, tmp_path: Path) -> None:
    first, second = ENV[name][0], ENV[name][1]
    assert _resolve(tmp_path, {first: "first:1", second: "second:2"}).bootstrap_servers == "first:1"
    assert _resolve(tmp_path, {first: "", second: "second:2"}).bootstrap_servers == "second:2"  # empty = unset


def test_bootstrap_falls_back_to_kafka_bootstrap_servers(tmp_path: Path) -> None:
    assert ENV["bootstrap_servers"] == ("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS")
    assert _resolve(tmp_path, {"KAFKA_BOOTSTRAP_SERVERS": "k:9"}).bootstrap_servers == "k:9"
    both = {"KAFKA_BOOTSTRAP_SERVERS": "k:9", "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": "p:9"}
    assert _resolve(tmp_path, both).bootstrap_servers == "p:9"
    assert _resolve(tmp_path, both, bootstrap_servers="arg:9").bootstrap_servers == "arg:9"
    # the bootstrap variable is a setting, not a librdkafka passthrough
    assert "bootstrap.servers" not in _resolve(tmp_path, both).kafka_config


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_named_defaults(name: str, tmp_path: Path) -> None:
    assert getattr(_resolve(tmp_path, {}), name) == DEFAULTS[name]


def test_defaults_without_a_named_value(tmp_path: Path) -> None:
    settings = _resolve(tmp_path, {})
    assert settings.api_key is None and settings.schema_registry_url is None
    assert settings.kafka_config == {}
    # version_id: phospho's format "YYYYMMDD_<adjective>-<animal>"
    assert len(settings.version_id.split("_", 1)[0]) == 8 and "-" in settings.version_id
    assert set(ENV) - set(DEFAULTS) == {"project_id", "api_key", "schema_registry_url", "spool_dir", "version_id"}


def test_missing_project_id_raises_in_resolve(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        resolve_settings(environ={}, spool_dir=tmp_path)
    with pytest.raises(ConfigurationError):
        resolve_settings(environ={"PHOSPHO_PROJECT_ID": ""}, spool_dir=tmp_path)


@pytest.mark.parametrize("name,bad", [("max_queue_size", "lots"), ("max_queue_size", "0"), ("flush_interval", "x"),
                                      ("exit_timeout", "-1"), ("max_event_bytes", "10"), ("spool_max_bytes", "1")])
def test_invalid_environment_values_raise_configuration_error(name: str, bad: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        _resolve(tmp_path, {ENV[name][0]: bad})


def test_invalid_registry_url_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        _resolve(tmp_path, {"PHOSPHO_SCHEMA_REGISTRY_URL": "registry:8081"})


def test_default_spool_dir_under_xdg_state_home(tmp_path: Path) -> None:
    """The computed default spool_dir, in a child process whose XDG_STATE_HOME is tmp_path."""
    code = textwrap.dedent("""
        from phospho._core.settings import resolve_settings
        print(resolve_settings(project_id="p").spool_dir)
    """)
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    spool = Path(out.stdout.strip())
    assert spool == tmp_path / "state" / "phospho" / "spool" and spool.is_dir()


# -- PHOSPHO_KAFKA_<NAME> -> librdkafka settings --------------------------------------------------

def test_kafka_env_passthrough(tmp_path: Path) -> None:
    environ = {
        "PHOSPHO_KAFKA_SASL_MECHANISMS": "PLAIN",
        "PHOSPHO_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "PHOSPHO_KAFKA_SSL_ENDPOINT__IDENTIFICATION__ALGORITHM": "none",
        "PHOSPHO_KAFKA_LINGER_MS": "5",
        "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": "b:1",
        "KAFKA_SASL_USERNAME": "not ours",
        "PHOSPHO_PROJECT_ID": "p",
    }
    expected = {
        "sasl.mechanisms": "PLAIN",
        "security.protocol": "SASL_SSL",
        "ssl.endpoint_identification_algorithm": "none",
        "linger.ms": "5",
    }
    assert kafka_env_config(environ) == expected
    settings = resolve_settings(environ=environ, spool_dir=tmp_path)
    assert settings.kafka_config == expected
    # explicit kafka_config wins over the environment, key by key
    settings = resolve_settings(environ=environ, spool_dir=tmp_path, kafka_config={"linger.ms": 50, "acks": "1"})
    assert settings.kafka_config == {**expected, "linger.ms": 50, "acks": "1"}
    # and reaches the producer's configuration, over the SDK's own defaults
    conf = producer_config(settings)
    assert conf["sasl.mechanisms"] == "PLAIN" and conf["linger.ms"] == 50 and conf["acks"] == "1"
    assert conf["bootstrap.servers"] == "b:1"


# -- phospho.init, in child processes ---------------------------------------------------------------

def _run(code: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                         text=True, timeout=90)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_missing_project_id_raises_configuration_error_from_init(tmp_path: Path) -> None:
    result = _run("""
        import json, threading, phospho
        try:
            phospho.init(bootstrap_servers="127.0.0.1:1")
        except Exception as exc:
            print(json.dumps({"type": type(exc).__name__, "value_error": isinstance(exc, ValueError),
                              "configuration_error": isinstance(exc, phospho.ConfigurationError),
                              "message": str(exc),
                              "senders": sum(t.name == "phospho-sender" for t in threading.enumerate())}))
        else:
            print(json.dumps({"type": None}))
    """, clean_env(XDG_STATE_HOME=str(tmp_path / "state")))
    assert result["type"] == "ConfigurationError", result
    assert result["value_error"] and result["configuration_error"]
    assert "PHOSPHO_PROJECT_ID" in result["message"]
    assert result["senders"] == 0


def test_invalid_kafka_config_key_raises_configuration_error_at_init(tmp_path: Path) -> None:
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    init = {"project_id": "p", "bootstrap_servers": "127.0.0.1:1", "spool_dir": str(tmp_path / "spool"),
            "kafka_config": {"no.such.librdkafka.property": "1"}}
    with SdkProcess(init, env) as sdk:
        hello = sdk.hello
        rc = sdk.proc.wait(30)
    assert hello.get("init_error") == "ConfigurationError", hello
    assert hello["is_value_error"] and hello["is_configuration_error"]
    assert "no.such.librdkafka.property" in hello["message"]
    assert hello["threads"] == [] and rc == 3


def test_invalid_kafka_env_key_raises_configuration_error_at_init(tmp_path: Path) -> None:
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"), PHOSPHO_KAFKA_NO_SUCH_THING="1")
    with SdkProcess({"project_id": "p", "bootstrap_servers": "127.0.0.1:1", "spool_dir": str(tmp_path)}, env) as sdk:
        hello = sdk.hello
    assert hello.get("init_error") == "ConfigurationError" and "no.such.thing" in hello["message"], hello


def test_schema_registry_settings_from_the_environment(tmp_path: Path) -> None:
    """PHOSPHO_KAFKA_SCHEMA_REGISTRY_<NAME> reaches the schema registry client (the SDK routes
    schema.registry.* keys there); environment values are text, so a numeric client setting
    such as max.retries must still be accepted."""
    assert kafka_env_config({"PHOSPHO_KAFKA_SCHEMA_REGISTRY_MAX_RETRIES": "0"}) == {"schema.registry.max.retries": "0"}
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"), PHOSPHO_KAFKA_SCHEMA_REGISTRY_MAX_RETRIES="0")
    init = {"project_id": "p", "bootstrap_servers": "127.0.0.1:1", "spool_dir": str(tmp_path / "spool"),
            "schema_registry_url": "http://127.0.0.1:1", "exit_timeout": 0}
    with SdkProcess(init, env) as sdk:
        hello = sdk.hello
    assert hello.get("ready") is True, f"init failed: {hello}"
