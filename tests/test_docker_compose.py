"""docker-compose.yml, the production stack, checked without a Docker engine.

`docker-compose config` (Debian's docker-compose 1.29, installed by `make compose-cli`) validates
the file against the Compose schema and resolves every ${VAR:-default}; the tests then read the
resolved configuration: the services exist, Kafka runs in KRaft mode, the demo producer is
configured with exactly the phospho SDK's variable names (and they resolve with the SDK's own
settings code), ClickHouse mounts the system-log TTL file, and the topic-init script, run by bash
against a stand-in kafka-topics.sh, creates the contract's four topics.

docker-compose 1.29 prints YAML and the project does not depend on a YAML library, so the
output is read with the Python interpreter that runs docker-compose itself (it imports PyYAML).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from phospho._settings import ENV, resolve_settings
from phospho_schemas import Topics

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
TTL_FILE = ROOT / "deploy" / "clickhouse" / "config.d" / "system-log-ttl.xml"
TTL_TARGET = "/etc/clickhouse-server/config.d/system-log-ttl.xml"

SERVICES = {"kafka", "schema-registry", "topic-init", "clickhouse", "demo"}
SYSTEM_LOGS = {
    "query_log", "query_thread_log", "part_log", "trace_log", "text_log", "metric_log",
    "asynchronous_metric_log",
}
# every environment variable the SDK reads (producer/phospho/_settings.py), plus its
# PHOSPHO_KAFKA_<LIBRDKAFKA_SETTING> passthrough
SDK_VARIABLES = {name for names in ENV.values() for name in names}
SDK_PASSTHROUGH_PREFIX = "PHOSPHO_KAFKA_"


@pytest.fixture(scope="module")
def cli() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.fail(
            "docker-compose is not installed: run `make compose-cli` (as root it installs Debian's "
            "docker-compose with apt-get), or `apt-get install docker-compose`"
        )
    return path


@pytest.fixture(scope="module")
def empty_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stands in for a developer's .env, so that the defaults of the file are what is tested."""
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


def _load_yaml(cli: str, text: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        pass
    else:
        return yaml.safe_load(text)
    shebang = Path(cli).read_bytes().split(b"\n", 1)[0].decode(errors="replace")
    if not (shebang.startswith("#!") and "python" in shebang):
        pytest.fail(f"cannot read YAML: no PyYAML here and {cli} is not a Python script ({shebang!r})")
    proc = subprocess.run(
        [*shebang[2:].split(), "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
        input=text, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, f"reading YAML with {shebang[2:]} failed: {proc.stderr}"
    return json.loads(proc.stdout)


def compose(cli: str, env_file: Path, *args: str, file: Path = COMPOSE_FILE, **env: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose ... config` in a clean environment (plus `env`)."""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
    return subprocess.run(
        [cli, "--project-directory", str(ROOT), "--env-file", str(env_file), "-f", str(file), *args],
        env={**base, **env}, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )


def resolved(cli: str, env_file: Path, *args: str, **env: str) -> dict[str, Any]:
    proc = compose(cli, env_file, *args, "config", **env)
    assert proc.returncode == 0, f"docker-compose config failed:\n{proc.stderr}"
    config = _load_yaml(cli, proc.stdout)
    assert isinstance(config, dict) and isinstance(config.get("services"), dict), proc.stdout
    return config


@pytest.fixture(scope="module")
def config(cli: str, empty_env_file: Path) -> dict[str, Any]:
    return resolved(cli, empty_env_file)


@pytest.fixture(scope="module")
def demo_config(cli: str, empty_env_file: Path) -> dict[str, Any]:
    return resolved(cli, empty_env_file, "--profile", "demo")


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _listeners(value: str) -> dict[str, str]:
    """'NAME://host:port,...' -> {NAME: 'host:port'}"""
    out = {}
    for item in value.split(","):
        name, _, address = item.partition("://")
        out[name] = address
    return out


def _volume(entry: Any) -> tuple[str, str, bool]:
    """(source, target, read_only) of a short ('src:dst[:mode]') or long volume entry."""
    if isinstance(entry, dict):
        return str(entry.get("source", "")), str(entry["target"]), bool(entry.get("read_only"))
    parts = entry.split(":")
    return parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")


# --- the file as docker-compose sees it ------------------------------------------------------


def test_docker_compose_validates_the_file(cli: str, empty_env_file: Path) -> None:
    version = subprocess.run([cli, "version", "--short"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, version.stderr
    for args in ((), ("--profile", "demo")):
        proc = compose(cli, empty_env_file, *args, "config", "--quiet")
        assert proc.returncode == 0, f"docker-compose {' '.join(args)} config: {proc.stderr}"
        assert "WARNING" not in proc.stderr, proc.stderr  # e.g. an unset variable without default


def test_docker_compose_config_rejects_an_invalid_file(cli: str, empty_env_file: Path, tmp_path: Path) -> None:
    """The validation above means something: the same file with one misspelt key fails."""
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE_FILE.read_text()
    assert "    healthcheck:\n" in text
    broken.write_text(text.replace("    healthcheck:\n", "    healthchek:\n", 1))
    proc = compose(cli, empty_env_file, "config", "--quiet", file=broken)
    assert proc.returncode != 0
    assert "healthchek" in proc.stderr


def test_every_service_of_the_stack_exists(config: dict[str, Any], demo_config: dict[str, Any]) -> None:
    assert SERVICES <= set(demo_config["services"]), sorted(demo_config["services"])
    assert SERVICES <= set(config["services"])
    assert set(config["volumes"]) >= {"kafka-data", "clickhouse-data"}
    # the pipeline's services are comments until the pipeline exists
    raw = COMPOSE_FILE.read_text()
    for placeholder in ("stream-worker", "--scale", "clickhouse-sink"):
        assert re.search(rf"^\s*#.*{re.escape(placeholder)}", raw, re.MULTILINE), placeholder
    assert not {"stream-worker", "clickhouse-sink"} & set(config["services"])


def test_only_the_demo_is_behind_a_profile(demo_config: dict[str, Any]) -> None:
    for name, service in demo_config["services"].items():
        assert service.get("profiles", []) == (["demo"] if name == "demo" else []), name


def test_images_are_pinned_and_ports_and_tags_come_from_the_environment(
    cli: str, empty_env_file: Path, demo_config: dict[str, Any]
) -> None:
    images = {name: s["image"] for name, s in demo_config["services"].items()}
    assert images["kafka"].startswith("apache/kafka:")
    assert images["topic-init"] == images["kafka"]
    assert images["schema-registry"].startswith("confluentinc/cp-schema-registry:")
    assert images["clickhouse"].startswith("clickhouse/clickhouse-server:")
    for name, image in images.items():
        tag = image.rpartition(":")[2]
        assert re.fullmatch(r"\d+(\.\d+)+", tag), f"{name}: {image} is not pinned to a version"
    raw = _load_yaml(cli, COMPOSE_FILE.read_text())
    for name, service in raw["services"].items():
        if name != "demo":
            assert re.search(r"\$\{[A-Z_]+:-[^}]+\}", service["image"]), f"{name}: image tag is not ${{VAR:-default}}"
        for port in service.get("ports", []):
            assert re.match(r'^\$\{[A-Z_]+:-\d+\}:\d+$', str(port)), f"{name}: port {port}"

    moved = resolved(
        cli, empty_env_file, "--profile", "demo", KAFKA_HOST_PORT="29092", KAFKA_IMAGE_TAG="4.0.0",
        CLICKHOUSE_HTTP_PORT="18123", SCHEMA_REGISTRY_HOST_PORT="18081",
    )["services"]
    assert moved["kafka"]["image"] == moved["topic-init"]["image"] == "apache/kafka:4.0.0"
    published = {name: {int(p["published"]) for p in s.get("ports", [])} for name, s in moved.items()}
    assert 29092 in published["kafka"] and 18123 in published["clickhouse"] and 18081 in published["schema-registry"]
    # the host listener is advertised on the port that is published
    assert _listeners(_env(moved["kafka"])["KAFKA_ADVERTISED_LISTENERS"])["EXTERNAL"] == "localhost:29092"


# --- Kafka and the Schema Registry ----------------------------------------------------------


def test_kafka_runs_in_kraft_mode(demo_config: dict[str, Any]) -> None:
    services = demo_config["services"]
    kafka = services["kafka"]
    env = _env(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["CLUSTER_ID"]
    listeners = _listeners(env["KAFKA_LISTENERS"])
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(protocols)
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in listeners
    assert any(v.endswith(":9093") for k, v in listeners.items() if k == env["KAFKA_CONTROLLER_LISTENER_NAMES"])
    # no ZooKeeper anywhere
    assert not [name for name in services if "zookeeper" in name.lower()]
    assert not [s["image"] for s in services.values() if "zookeeper" in s["image"]]
    assert not [k for s in services.values() for k in _env(s) if "ZOOKEEPER" in k]
    # data on a volume, a healthcheck that the other services wait for
    assert any(_volume(v)[1] == env["KAFKA_LOG_DIRS"] for v in kafka["volumes"])
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])
    for dependant in ("schema-registry", "topic-init"):
        assert services[dependant]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_the_inside_listener_is_what_the_other_services_use(demo_config: dict[str, Any]) -> None:
    services = demo_config["services"]
    inside = _listeners(_env(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"])["INTERNAL"]
    assert inside == "kafka:19092"
    assert _env(services["schema-registry"])["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"] == f"PLAINTEXT://{inside}"
    assert _env(services["topic-init"])["KAFKA_BOOTSTRAP"] == inside
    assert _env(services["demo"])["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"] == inside
    registry = _env(services["schema-registry"])
    assert registry["SCHEMA_REGISTRY_LISTENERS"] == "http://0.0.0.0:8081"
    assert registry["SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR"] == "1"  # one broker
    assert "http://localhost:8081/" in " ".join(services["schema-registry"]["healthcheck"]["test"])


# --- the demo producer ------------------------------------------------------------------------


def test_demo_environment_uses_exactly_the_sdk_variable_names(demo_config: dict[str, Any], tmp_path: Path) -> None:
    demo = demo_config["services"]["demo"]
    env = _env(demo)
    unknown = {k for k in env if k not in SDK_VARIABLES and not k.startswith(SDK_PASSTHROUGH_PREFIX)}
    assert not unknown, f"not variables of the phospho SDK: {sorted(unknown)}"
    assert env["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:19092"
    assert env["PHOSPHO_SCHEMA_REGISTRY_URL"] == "http://schema-registry:8081"
    assert env["PHOSPHO_PROJECT_ID"]
    # ...and the SDK's own settings code accepts them as they are
    settings = resolve_settings(environ=env, spool_dir=tmp_path / "spool")
    assert settings.bootstrap_servers == "kafka:19092"
    assert settings.schema_registry_url == "http://schema-registry:8081"
    assert settings.project_id == env["PHOSPHO_PROJECT_ID"]
    assert settings.topic_prefix == _env(demo_config["services"]["topic-init"])["TOPIC_PREFIX"]
    assert settings.kafka_config == {}

    assert demo["command"][:2] == ["phospho-stream", "demo"]
    assert demo["build"]["dockerfile"] == "Dockerfile"
    assert (Path(demo["build"]["context"]) / demo["build"]["dockerfile"]).is_file()
    assert demo["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"
    assert demo["depends_on"]["schema-registry"]["condition"] == "service_healthy"
    spool = env["PHOSPHO_SPOOL_DIR"]
    assert any(_volume(v)[1] == spool for v in demo["volumes"])


def test_demo_project_id_comes_from_the_environment(cli: str, empty_env_file: Path) -> None:
    demo = resolved(cli, empty_env_file, "--profile", "demo", PHOSPHO_PROJECT_ID="acme-prod")["services"]["demo"]
    assert _env(demo)["PHOSPHO_PROJECT_ID"] == "acme-prod"


def test_the_image_installs_the_project() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", dockerfile, re.MULTILINE)
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}", dockerfile, re.MULTILINE)
    assert re.search(r"pip install \"?/tmp/src\[registry,pipeline\]", dockerfile)  # SDK + registry + the pipeline
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", ".bench", ".git"} <= ignored
    assert "**/__pycache__" in ignored
    # what the image needs is not ignored
    assert not {"pyproject.toml", "producer", "schemas", "stream_processors", "sinks"} & ignored


# --- topics -----------------------------------------------------------------------------------


STUB = textwrap.dedent(
    """\
    #!/bin/bash
    # stands in for /opt/kafka/bin/kafka-topics.sh: records the call, answers --describe
    echo "$*" >> "$STUB_LOG"
    topic=""
    describe=0
    while [ $# -gt 0 ]; do
      case "$1" in
        --topic) topic="$2"; shift ;;
        --describe) describe=1 ;;
      esac
      shift
    done
    if [ "$describe" = 1 ]; then
      printf 'Topic: %s\\tTopicId: AAAAAAAAAAAAAAAAAAAAAA\\tPartitionCount: %s\\tReplicationFactor: 1\\tConfigs: \\n' "$topic" "$STUB_PARTITIONS"
      printf '\\tTopic: %s\\tPartition: 0\\tLeader: 1\\tReplicas: 1\\tIsr: 1\\n' "$topic"
    fi
    """
)


def run_topic_init(service: dict[str, Any], tmp_path: Path, existing_partitions: int) -> list[list[str]]:
    """Runs topic-init's command as the container would (bash -c), with the service's resolved
    environment, against a stand-in kafka-topics.sh; returns the kafka-topics.sh calls."""
    assert service["entrypoint"] == ["/bin/bash", "-c"]
    script = service["command"][0].replace("$$", "$")  # compose's escape of a literal $
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stub = bindir / "kafka-topics.sh"
    stub.write_text(STUB)
    stub.chmod(0o755)
    log = tmp_path / "calls.log"
    env = {
        **_env(service), "PATH": f"{bindir}:/usr/bin:/bin", "STUB_LOG": str(log),
        "STUB_PARTITIONS": str(existing_partitions),
    }
    proc = subprocess.run(["/bin/bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"topic-init failed:\n{proc.stdout}\n{proc.stderr}"
    return [line.split() for line in log.read_text().splitlines()]


def _option(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def test_topic_init_creates_the_contract_topics(config: dict[str, Any], tmp_path: Path) -> None:
    service = config["services"]["topic-init"]
    assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert service["restart"] == "no"
    env = _env(service)
    assert env["TOPIC_PARTITIONS"] == "6"
    calls = run_topic_init(service, tmp_path, existing_partitions=6)
    creates = [c for c in calls if "--create" in c]
    assert [_option(c, "--topic") for c in creates] == list(Topics("phospho.").all())
    for call in creates:
        assert "--if-not-exists" in call
        assert _option(call, "--partitions") == "6"
        assert _option(call, "--replication-factor") == "1"
        assert _option(call, "--bootstrap-server") == "kafka:19092"
    assert not [c for c in calls if "--alter" in c]


@pytest.mark.parametrize(("existing", "altered"), [(3, True), (24, False)])
def test_topic_init_partition_count_is_configurable(
    cli: str, empty_env_file: Path, tmp_path: Path, existing: int, altered: bool
) -> None:
    """PHOSPHO_TOPIC_PARTITIONS=12: new topics get 12; existing ones with fewer grow to 12,
    ones with more are left alone (Kafka cannot shrink a topic)."""
    services = resolved(cli, empty_env_file, PHOSPHO_TOPIC_PARTITIONS="12", PHOSPHO_TOPIC_PREFIX="acme.")["services"]
    calls = run_topic_init(services["topic-init"], tmp_path, existing_partitions=existing)
    topics = list(Topics("acme.").all())
    assert [_option(c, "--topic") for c in calls if "--create" in c] == topics
    assert {_option(c, "--partitions") for c in calls if "--create" in c} == {"12"}
    alters = [c for c in calls if "--alter" in c]
    assert [_option(c, "--topic") for c in alters] == (topics if altered else [])
    assert {_option(c, "--partitions") for c in alters} <= {"12"}


# --- ClickHouse -------------------------------------------------------------------------------


def test_clickhouse_mounts_the_system_log_ttl_config(config: dict[str, Any]) -> None:
    clickhouse = config["services"]["clickhouse"]
    volumes = [_volume(v) for v in clickhouse["volumes"]]
    assert (str(TTL_FILE), TTL_TARGET, True) in volumes
    assert any(target == "/var/lib/clickhouse" and not source.startswith("/") for source, target, _ in volumes)
    assert "/ping" in " ".join(clickhouse["healthcheck"]["test"])


def test_system_log_ttl_xml_covers_the_system_log_tables() -> None:
    root = ET.parse(TTL_FILE).getroot()
    assert root.tag == "clickhouse"
    sections = {child.tag: child for child in root}
    assert SYSTEM_LOGS <= set(sections), sorted(SYSTEM_LOGS - set(sections))
    for name, section in sections.items():
        ttls = section.findall("ttl")
        assert len(ttls) == 1, name
        assert re.fullmatch(r"event_date \+ INTERVAL \d+ (DAY|WEEK|MONTH) DELETE", (ttls[0].text or "").strip()), name
        # <ttl> cannot be combined with <engine>; everything else is merged from config.xml
        assert section.find("engine") is None, name
    # a section would switch on a log that ClickHouse leaves off by default
    assert not {"session_log", "zookeeper_log", "filesystem_cache_log"} & set(sections)
