"""The confluent-kafka Producer (its configuration) and the Avro serializers of the Kafka export."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException, Producer

from phospho_schemas import SingleObjectSerializer, Topics, raw_schema

from .._core.errors import ConfigurationError
from .._core.settings import Settings

__all__ = ["PRODUCER_DEFAULTS", "producer_config", "make_producer", "make_serializers"]

logger = logging.getLogger("phospho")

#: librdkafka settings of the SDK's producer; anything passed through kafka_config wins
PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": "zstd",
    "linger.ms": 20,
    "batch.num.messages": 10_000,
    "queue.buffering.max.messages": 200_000,
    "queue.buffering.max.kbytes": 131_072,
    "message.timeout.ms": 30_000,
    # murmur2 like the Java client, faust and aiokafka: a key lands on the same partition
    "partitioner": "murmur2_random",
    "reconnect.backoff.ms": 100,
    "reconnect.backoff.max.ms": 2_000,
    "socket.connection.setup.timeout.ms": 10_000,
}


def producer_config(settings: Settings) -> dict[str, Any]:
    conf = {"bootstrap.servers": settings.bootstrap_servers, "client.id": f"phospho-sdk-{os.getpid()}"}
    conf.update(PRODUCER_DEFAULTS)
    conf.update({k: v for k, v in settings.kafka_config.items() if not k.startswith("schema.registry.")})
    # phospho's api_key carries the SASL password when a SASL username is configured without one
    if settings.api_key and conf.get("sasl.username") and not conf.get("sasl.password"):
        conf["sasl.password"] = settings.api_key
    return conf


class _LibrdkafkaLog:
    """librdkafka's own log lines go to the 'phospho.kafka' logger at DEBUG: the SDK reports
    what matters (unreachable broker, spooling) itself, once, instead of a line per retry."""

    _logger = logging.getLogger("phospho.kafka")

    def log(self, level: int, msg: str, *args: Any) -> None:
        self._logger.debug(msg, *args)


def make_producer(settings: Settings, on_error: Callable, on_delivery: Callable) -> Producer:
    conf = producer_config(settings)
    conf["error_cb"] = on_error
    conf["on_delivery"] = on_delivery
    conf.setdefault("logger", _LibrdkafkaLog())
    try:
        return Producer(conf)
    except (KafkaException, TypeError, ValueError) as exc:
        raise ConfigurationError(f"invalid Kafka producer configuration: {exc}") from exc


def make_serializers(settings: Settings) -> dict[str, Callable[[dict[str, Any]], bytes]]:
    """kind -> serialize(record). Single-object Avro without a registry; with one, the Confluent
    wire format, falling back to single-object encoding (which readers also accept) while the
    registry cannot be reached, so that nothing waits on it."""
    single = {kind: SingleObjectSerializer(raw_schema(kind)) for kind in ("task", "span", "feedback")}
    if not settings.schema_registry_url:
        return {kind: (lambda record, s=s: s(record)) for kind, s in single.items()}
    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext
    except ImportError as exc:
        raise ConfigurationError(
            "a schema registry URL is configured but confluent-kafka's schema registry support is "
            f"not installed ({exc}); install phospho-stream[registry]"
        ) from exc
    registry_conf = {"url": settings.schema_registry_url}
    registry_conf.update(
        {k[len("schema.registry.") :]: _typed(v) for k, v in settings.kafka_config.items() if k.startswith("schema.registry.")}
    )
    try:
        client = SchemaRegistryClient(registry_conf)
    except Exception as exc:
        raise ConfigurationError(f"invalid schema registry configuration: {exc}") from exc
    topics = Topics(settings.topic_prefix)
    serializers = {}
    for kind in single:
        avro = AvroSerializer(client, json.dumps(raw_schema(kind)), conf={"auto.register.schemas": True})
        ctx = SerializationContext(topics.for_kind(kind), MessageField.VALUE)
        serializers[kind] = _with_fallback(avro, ctx, single[kind], kind)
    return serializers


def _typed(value: Any) -> Any:
    """Environment values are text; the registry client wants numbers and booleans typed."""
    if not isinstance(value, str):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


#: after a registry failure, events use single-object encoding for this long before retrying
REGISTRY_RETRY_AFTER = 30.0


def _with_fallback(avro: Any, ctx: Any, single: SingleObjectSerializer, kind: str) -> Callable[[dict[str, Any]], bytes]:
    retry_at = 0.0  # a circuit breaker: one slow failure, then no registry call for a while

    def serialize(record: dict[str, Any]) -> bytes:
        nonlocal retry_at
        if retry_at and time.monotonic() < retry_at:
            return single(record)
        try:
            value = avro(record, ctx)
        except UnicodeEncodeError:
            raise
        except Exception as exc:
            if not retry_at:
                logger.warning("phospho: schema registry unavailable for %s events (%s); using Avro single-object "
                               "encoding (readers accept both) and retrying in %.0fs", kind, exc, REGISTRY_RETRY_AFTER)
            retry_at = time.monotonic() + REGISTRY_RETRY_AFTER
            return single(record)
        if retry_at:
            logger.warning("phospho: schema registry reachable again for %s events", kind)
            retry_at = 0.0
        return value

    return serialize
