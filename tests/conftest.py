"""Shared fixtures: one embedded broker per test session, and the phospho SDK pointed at it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from phospho_stream import EmbeddedBroker


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as running:
        yield running


@pytest.fixture(scope="session")
def sdk(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The phospho module, initialised once against the session broker."""
    import phospho

    os.environ.pop("PHOSPHO_SCHEMA_REGISTRY_URL", None)
    phospho.init(
        project_id="test-project",
        bootstrap_servers=broker.bootstrap,
        spool_dir=tmp_path_factory.mktemp("spool"),
        version_id="test-version",
    )
    logging.getLogger("phospho").setLevel(logging.INFO)
    yield phospho
    phospho.shutdown(5)


@pytest.fixture(scope="session")
def chdb_store(tmp_path_factory: pytest.TempPathFactory):
    """The test session's chDB store (chDB opens one data path per process)."""
    from phospho_sinks import connect

    store = connect(f"chdb://{tmp_path_factory.mktemp('chdb')}")
    yield store
    store.close()
