"""docker-compose.yml, the production stack, checked without a Docker engine.

`docker-compose config` (Debian's docker-compose 1.29, installed by `make compose-cli`) validates
the file against the Compose schema and resolves every ${VAR:-default}; the tests then read the
resolved configuration: the services exist, Kafka runs in KRaft mode, the demo producer is
configured with exactly the phospho SDK's variable names (and they resolve with the SDK's own
settings code), ClickHouse mounts the system-log TTL file, and the topic-init script, run by bash
against a stand-in kafka-topics.sh, creates the contract's four topics. The pipeline's services
(stream-worker, clickhouse-sink, dashboard) run their own command through the CLI's `main` with
their resolved environment as os.environ, stopped where they would reach Kafka, ClickHouse or a
socket: their variables are the ones that code reads, the worker's settings match topic-init's
topics, and the ClickHouse DSN names the clickhouse service's database and user.

docker-compose 1.29 prints YAML and the project does not depend on a YAML library, so the
output is read with the Python interpreter that runs docker-compose itself (it imports PyYAML).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

import phospho_sinks
from phospho._core.settings import ENV, resolve_settings
from phospho_schemas import Topics
from phospho_stream import cli as stream_cli
from phospho_stream.otlp import run as otlp_run
from phospho_stream.read import run as dashboard_run
from phospho_stream.read import source as read_source
from phospho_stream.settings import (
    OtlpSettings,
    ReadSettings,
    SinkSettings,
    WorkerSettings,
    describe_settings,
)
from phospho_stream.worker import core as stream_worker

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
TTL_FILE = ROOT / "deploy" / "clickhouse" / "config.d" / "system-log-ttl.xml"
TTL_TARGET = "/etc/clickhouse-server/config.d/system-log-ttl.xml"

SERVICES = {
    "kafka", "schema-registry", "topic-init", "clickhouse", "stream-worker", "clickhouse-sink", "dashboard", "demo",
    "otlp-receiver", "analytics-worker",
}
# behind a profile: the demo's traffic, and the evaluation stage (it needs an LLM endpoint)
PROFILES = {"demo": ["demo"], "evaluation-worker": ["llm"]}
STAGE_WORKERS = {"stream-worker": "core", "analytics-worker": "analytics", "evaluation-worker": "evaluation"}
CONFIG_TARGET = "/etc/phospho/project.yaml"
# the services that run the phospho-stream image (Dockerfile)
PROJECT_SERVICES = ("stream-worker", "analytics-worker", "evaluation-worker", "clickhouse-sink", "dashboard",
                    "otlp-receiver", "demo")
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


def _ports(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host_ip, published, target) of each published port: docker-compose 1.29 prints the long
    form, or the short 'ip:published:target/proto' one when a host address is set."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((str(port.get("host_ip", "")), int(port["published"]), int(port["target"])))
        else:
            *ip, published, target = str(port).split("/")[0].split(":")
            out.append((":".join(ip), int(published), int(target)))
    return out


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
    raw = COMPOSE_FILE.read_text()
    assert "Arrive with the pipeline" not in raw  # the placeholder comments became services
    # the header says how to scale the workers
    assert re.search(r"^#.*docker compose up -d --scale stream-worker=\d", raw, re.MULTILINE)


def test_only_the_demo_and_the_evaluation_are_behind_a_profile(cli: str, empty_env_file: Path) -> None:
    everything = resolved(cli, empty_env_file, "--profile", "demo", "--profile", "llm")
    for name, service in everything["services"].items():
        assert service.get("profiles", []) == PROFILES.get(name, []), name
    assert "evaluation-worker" in everything["services"]


def test_every_stage_worker_reads_the_project_config_read_only(cli: str, empty_env_file: Path) -> None:
    services = resolved(cli, empty_env_file, "--profile", "llm")["services"]
    parser = stream_cli.build_parser()
    for name, stage in STAGE_WORKERS.items():
        service = services[name]
        args = parser.parse_args(service["command"][1:])
        assert (args.command, args.stage) == ("worker", stage), name
        assert _env(service)["PHOSPHO_CONFIG"] == CONFIG_TARGET, name
        [(source, target, read_only)] = [_volume(v) for v in service["volumes"]]
        assert (target, read_only) == (CONFIG_TARGET, True), name
        assert Path(source).is_file(), source  # the demo's config unless PHOSPHO_CONFIG_FILE says otherwise
        # the stages share Kafka, the groups' base name and the state settings
        assert {k: v for k, v in _env(service).items() if k != "OPENAI_API_KEY"} == _env(services["stream-worker"]), name


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
            # [${HOST_IP:-address}:]${HOST_PORT:-port}:port
            assert re.match(r'^(\$\{[A-Z_]+:-[\d.]+\}:)?\$\{[A-Z_]+:-\d+\}:\d+$', str(port)), f"{name}: port {port}"

    moved = resolved(
        cli, empty_env_file, "--profile", "demo", KAFKA_HOST_PORT="29092", KAFKA_IMAGE_TAG="4.0.0",
        CLICKHOUSE_HTTP_PORT="18123", SCHEMA_REGISTRY_HOST_PORT="18081",
    )["services"]
    assert moved["kafka"]["image"] == moved["topic-init"]["image"] == "apache/kafka:4.0.0"
    published = {name: {p for _, p, _ in _ports(s)} for name, s in moved.items()}
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
    compacted = {_option(c, "--topic") for c in creates if "--config" in c and _option(c, "--config") == "cleanup.policy=compact"}
    assert compacted == set(Topics("phospho.").compacted())
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


# --- the pipeline: stream workers, ClickHouse sink, dashboard ------------------------------------


class _RecordingEnviron(dict):
    """Stands in for os.environ: a service's resolved environment, remembering every name the
    code looks up, so that a variable no code reads (a typo, a removed setting) shows."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: Any, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


class _Reached(BaseException):
    """Raised by a stand-in where the command would reach Kafka, ClickHouse or a socket (a
    BaseException: the CLI turns every Exception into one line)."""

    def __init__(self, **seen: Any) -> None:
        super().__init__(seen)
        self.seen = seen


class _FakeClickHouseClient:
    closed = False

    def close(self) -> None:
        self.closed = True


def _run_command(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[_RecordingEnviron, dict[str, Any]]:
    """The service's command through `phospho-stream`'s main, with the service's environment as
    os.environ and stand-ins at the edges: faust's app (the worker), clickhouse-connect's client,
    the migrations and the consumer (the sink), the listening socket (the dashboard). Returns the
    environment (with what was read) and what reached the stand-ins."""
    command = service["command"]
    assert command[0] == "phospho-stream"
    values = _env(service)
    for source, target, _ in map(_volume, service.get("volumes", [])):
        if values.get("PHOSPHO_CONFIG") == target:  # the mounted file, read where the host has it
            values["PHOSPHO_CONFIG"] = source
    environ = _RecordingEnviron(values)
    seen: dict[str, Any] = {}

    def get_client(**kwargs: Any) -> _FakeClickHouseClient:
        seen["clickhouse_dsn"] = kwargs.pop("dsn")
        assert not kwargs, kwargs  # everything comes from the DSN
        return _FakeClickHouseClient()

    def core_app(settings: Any, config: Any = None) -> Any:
        raise _Reached(settings=settings, datadir=str(settings.data_path() / "faust"))

    class SinkRunner:
        def __init__(self, bootstrap: str, store: Any, topics: Topics, **tuning: Any) -> None:
            seen.update(bootstrap=bootstrap, store=store, topics=topics)

        def run(self, stop: Any) -> None:
            seen["ran"] = True

    def listen(source: Any, settings: ReadSettings) -> Any:
        raise _Reached(host=settings.host, port=settings.port, public_url=settings.public_url)

    def start_receiver(project_id: str, bootstrap: str, topic_prefix: str, spool_dir: Path, host: str, port: int,
                       max_body_bytes: int, memory_bytes: int, token: str | None, registry: str | None) -> Any:
        raise _Reached(project_id=project_id, bootstrap=bootstrap, topic_prefix=topic_prefix, spool_dir=str(spool_dir),
                       host=host, port=port, max_body_bytes=max_body_bytes, token=token, registry=registry)

    import clickhouse_connect

    with monkeypatch.context() as m:
        m.setattr(clickhouse_connect, "get_client", get_client)
        m.setattr(stream_worker, "core_app", core_app)
        m.setattr(Path, "mkdir", lambda self, *a, **k: seen.setdefault("mkdir", []).append(str(self)))
        m.setattr(phospho_sinks, "migrate", lambda store: seen.setdefault("migrated", store))
        m.setattr(phospho_sinks, "apply_retention", lambda store, raw, aggregates: seen.setdefault(
            "retention", (raw, aggregates)) and [])
        m.setattr(phospho_sinks, "SinkRunner", SinkRunner)
        m.setattr(read_source, "find_running_up", lambda data_dir, dsn=None: None)  # no `up` on this machine
        m.setattr(dashboard_run, "listen", listen)
        m.setattr(otlp_run, "start_receiver", start_receiver)
        m.setattr(signal, "signal", lambda *args: None)  # the test process keeps its handlers
        m.setattr(stream_cli, "kafka_answers", lambda bootstrap, timeout=10.0: True)  # no Kafka here
        m.setattr(os, "environ", environ)
        try:
            seen["exit"] = stream_cli.main(command[1:])
        except _Reached as reached:
            seen.update(reached.seen)
    return environ, seen


def _dsn_parts(dsn: str) -> dict[str, Any]:
    """The DSN as clickhouse-connect's get_client(dsn=...) reads it (urlparse, percent-decoded
    user and password, the first path segment as database); the store hands clickhouse:// DSNs
    to it unchanged (sinks/phospho_sinks/_server_store.py)."""
    parsed = urlparse(dsn)
    return {
        "scheme": parsed.scheme, "host": parsed.hostname, "port": parsed.port,
        "user": unquote(parsed.username or ""), "password": unquote(parsed.password or ""),
        "database": unquote(parsed.path[1:].split("/")[0]),
    }


def test_the_pipeline_services_run_the_project_image(demo_config: dict[str, Any]) -> None:
    services = demo_config["services"]
    for name in PROJECT_SERVICES:
        service = services[name]
        assert service["image"] == services["demo"]["image"], name
        assert service["image"].startswith("phospho-stream:"), name
        assert service["build"] == services["demo"]["build"], name  # `up` builds it if missing
        assert service["command"][0] == "phospho-stream", name
        if name != "demo":
            assert service["restart"] == "unless-stopped", name
    # each command is one the CLI knows, with arguments it accepts
    parser = stream_cli.build_parser()
    assert parser.parse_args(services["stream-worker"]["command"][1:]).command == "worker"
    assert parser.parse_args(services["clickhouse-sink"]["command"][1:]).command == "sink"
    dashboard = parser.parse_args(services["dashboard"]["command"][1:])
    assert (dashboard.command, dashboard.host, dashboard.port, dashboard.dsn) == ("dashboard", "0.0.0.0", 8000, None)

    def conditions(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert conditions("stream-worker") == {
        "topic-init": "service_completed_successfully", "schema-registry": "service_healthy",
    }
    assert conditions("clickhouse-sink") == {
        "topic-init": "service_completed_successfully", "clickhouse": "service_healthy",
    }
    assert conditions("dashboard") == {"clickhouse": "service_healthy"}
    otlp = parser.parse_args(services["otlp-receiver"]["command"][1:])
    assert (otlp.command, otlp.host, otlp.port) == ("otlp", "0.0.0.0", 4318)
    assert conditions("otlp-receiver") == {
        "topic-init": "service_completed_successfully", "schema-registry": "service_healthy",
    }


def test_stream_worker_can_be_scaled(config: dict[str, Any]) -> None:
    """`docker compose up -d --scale stream-worker=3` needs replicas that do not collide: no fixed
    container name, no fixed host port, nothing on a volume they would share."""
    for name in ("stream-worker", "analytics-worker"):
        worker = config["services"][name]
        assert "container_name" not in worker
        assert not worker.get("ports")
        # the project config, read-only, is all they mount
        assert [_volume(v)[1:] for v in worker.get("volumes", [])] == [(CONFIG_TARGET, True)], name
    # no service needs a fixed name: they find each other by service name
    assert not [name for name, s in config["services"].items() if "container_name" in s]


def test_stream_worker_environment_is_what_the_worker_reads(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = config["services"]
    _, seen = _run_command(services["stream-worker"], monkeypatch)

    settings = seen["settings"]  # WorkerSettings() with this environment
    known = {env for env, *_ in describe_settings((WorkerSettings,))}
    assert set(_env(services["stream-worker"])) <= known, "set on stream-worker but no worker setting reads it"
    topic_init = _env(services["topic-init"])
    assert settings.bootstrap == topic_init["KAFKA_BOOTSTRAP"] == "kafka:19092"
    assert settings.topic_prefix == topic_init["TOPIC_PREFIX"]
    # the state changelog gets as many partitions as the input topics have
    assert settings.topic_partitions == int(topic_init["TOPIC_PARTITIONS"]) == 6
    assert settings.state_replication == int(topic_init["TOPIC_REPLICATION_FACTOR"])
    # the other knobs default to the worker's own defaults
    defaults = WorkerSettings(bootstrap=settings.bootstrap)
    assert settings == defaults.model_copy(update={
        "topic_prefix": settings.topic_prefix, "topic_partitions": settings.topic_partitions,
        "state_replication": settings.state_replication, "schema_registry_url": settings.schema_registry_url,
        "data_dir": settings.data_dir, "config": settings.config})
    assert settings.config is not None and settings.config.is_file()  # the mounted project config
    # events the SDK wrote through the registry are decoded with it
    assert settings.schema_registry_url == _env(services["stream-worker"])["PHOSPHO_SCHEMA_REGISTRY_URL"] == \
        "http://schema-registry:8081"
    data_dir = _env(services["stream-worker"])["PHOSPHO_DATA_DIR"]
    assert data_dir.startswith("/var/lib/phospho/")  # the image's user owns /var/lib/phospho
    assert seen["datadir"] == f"{data_dir}/faust"


def test_stream_worker_follows_the_topic_settings(
    cli: str, empty_env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The knobs topic-init creates the topics with reach the worker through the same variables."""
    services = resolved(
        cli, empty_env_file, PHOSPHO_TOPIC_PARTITIONS="12", PHOSPHO_TOPIC_PREFIX="acme.",
        PHOSPHO_TOPIC_REPLICATION_FACTOR="3", PHOSPHO_APP_ID="acme-pipeline", PHOSPHO_SESSION_TIMEOUT_MINUTES="10",
        PHOSPHO_JOIN_HORIZON_DAYS="2", PHOSPHO_STATE_RETENTION_HOURS="48",
    )["services"]
    _, seen = _run_command(services["stream-worker"], monkeypatch)
    settings = seen["settings"]
    topic_init = _env(services["topic-init"])
    assert (settings.topic_prefix, settings.topic_partitions, settings.state_replication) == ("acme.", 12, 3)
    assert (topic_init["TOPIC_PREFIX"], topic_init["TOPIC_PARTITIONS"], topic_init["TOPIC_REPLICATION_FACTOR"]) == (
        "acme.", "12", "3")
    assert settings.app_id == "acme-pipeline"
    assert (settings.gap_ms, settings.horizon_ms, settings.retention_ms) == (10 * 60_000, 2 * 86_400_000, 48 * 3600_000)


@pytest.mark.parametrize("name", ["clickhouse-sink", "dashboard"])
def test_sink_and_dashboard_use_the_clickhouse_service(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    services = config["services"]
    environ, seen = _run_command(services[name], monkeypatch)
    # pydantic-settings reads the environment whole: the variables the command's settings declare count as read
    model = ReadSettings if name == "dashboard" else SinkSettings
    declared = {env for env, *_ in describe_settings((model,))}
    unread = set(environ) - environ.read - declared
    assert not unread, f"set on {name} but read by no code of its command: {sorted(unread)}"
    # the store took the DSN as a ClickHouse server (not a chDB directory) and passed it on
    dsn = seen["clickhouse_dsn"]
    assert dsn == environ["PHOSPHO_CLICKHOUSE_DSN"] == environ.get(phospho_sinks.DSN_ENV)
    clickhouse = _env(services["clickhouse"])
    assert _dsn_parts(dsn) == {
        "scheme": "clickhouse", "host": "clickhouse", "port": 8123, "user": clickhouse["CLICKHOUSE_USER"],
        "password": clickhouse["CLICKHOUSE_PASSWORD"], "database": clickhouse["CLICKHOUSE_DB"],
    }
    assert "8123" in " ".join(services["clickhouse"]["healthcheck"]["test"])
    if name == "clickhouse-sink":
        assert seen["migrated"] is seen["store"]  # the sink migrates the store it writes
        assert seen["bootstrap"] == "kafka:19092"
        assert seen["topics"].prefix == _env(services["topic-init"])["TOPIC_PREFIX"]
        assert seen["ran"] and seen["exit"] == 0
        assert not services[name].get("ports")  # it serves nothing
    else:
        assert (seen["host"], seen["port"]) == ("0.0.0.0", 8000)  # inside its container
        assert seen["public_url"] == "http://127.0.0.1:8000/"  # the published address browsers use


def test_clickhouse_credentials_reach_the_dsn(cli: str, empty_env_file: Path) -> None:
    services = resolved(
        cli, empty_env_file, CLICKHOUSE_USER="acme", CLICKHOUSE_PASSWORD="s3cret", CLICKHOUSE_DB="analytics",
    )["services"]
    clickhouse = _env(services["clickhouse"])
    assert (clickhouse["CLICKHOUSE_USER"], clickhouse["CLICKHOUSE_PASSWORD"], clickhouse["CLICKHOUSE_DB"]) == (
        "acme", "s3cret", "analytics")
    for name in ("clickhouse-sink", "dashboard"):
        parts = _dsn_parts(_env(services[name])["PHOSPHO_CLICKHOUSE_DSN"])
        assert (parts["user"], parts["password"], parts["database"]) == ("acme", "s3cret", "analytics"), name


def test_the_dashboard_is_published_on_loopback(cli: str, empty_env_file: Path, config: dict[str, Any]) -> None:
    """The host's loopback by default, a port from the environment; the address browsers use
    (its Host and Origin are the ones the dashboard accepts) follows the published port."""
    assert _ports(config["services"]["dashboard"]) == [("127.0.0.1", 8000, 8000)]
    moved = resolved(cli, empty_env_file, PHOSPHO_DASHBOARD_HOST_PORT="18000")["services"]["dashboard"]
    assert _ports(moved) == [("127.0.0.1", 18000, 8000)]
    assert _env(moved)["PHOSPHO_READ_PUBLIC_URL"] == "http://127.0.0.1:18000/"
    # beyond loopback only when asked for, under the name browsers use
    exposed = resolved(cli, empty_env_file, PHOSPHO_DASHBOARD_HOST_IP="0.0.0.0",
                       PHOSPHO_DASHBOARD_HOST="analytics.example")["services"]["dashboard"]
    assert _ports(exposed) == [("0.0.0.0", 8000, 8000)]
    assert _env(exposed)["PHOSPHO_READ_PUBLIC_URL"] == "http://analytics.example:8000/"
    # the container port is the one the command listens on
    command = config["services"]["dashboard"]["command"]
    assert command[command.index("--port") + 1] == "8000"
    assert command[command.index("--host") + 1] == "0.0.0.0"


def test_the_otlp_receiver_produces_to_the_stacks_kafka_like_the_sdk(
    cli: str, empty_env_file: Path, config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its environment is what `phospho-stream otlp` reads; it produces where the demo's SDK does
    (Kafka, the registry, the topic prefix), spools on its volume, and is published on loopback."""
    services = config["services"]
    service = services["otlp-receiver"]
    environ, seen = _run_command(service, monkeypatch)
    unread = set(environ) - environ.read - {env for env, *_ in describe_settings((OtlpSettings,))}
    assert not unread, f"set on otlp-receiver but read by no code of its command: {sorted(unread)}"
    demo = _env(resolved(cli, empty_env_file, "--profile", "demo")["services"]["demo"])
    assert (seen["bootstrap"], seen["registry"], seen["topic_prefix"]) == (
        demo["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"], demo["PHOSPHO_SCHEMA_REGISTRY_URL"], demo["PHOSPHO_TOPIC_PREFIX"])
    assert (seen["host"], seen["port"], seen["project_id"], seen["max_body_bytes"]) == ("0.0.0.0", 4318, "otlp", 4 << 20)
    assert not seen["token"]  # none unless PHOSPHO_OTLP_TOKEN is set
    assert [v.split(":")[1] for v in service["volumes"]] == [seen["spool_dir"]] == ["/var/lib/phospho/otlp-spool"]
    assert _ports(service) == [("127.0.0.1", 4318, 4318)]
    moved = resolved(cli, empty_env_file, PHOSPHO_OTLP_HOST_PORT="14318", PHOSPHO_OTLP_TOKEN="t0ken",
                     PHOSPHO_OTLP_PROJECT_ID="acme")["services"]["otlp-receiver"]
    assert _ports(moved) == [("127.0.0.1", 14318, 4318)]
    _, seen = _run_command(moved, monkeypatch)
    assert (seen["token"], seen["project_id"]) == ("t0ken", "acme")
