"""The SDK's unit tests run without a broker: `sdk` is the phospho module initialised with an
in-memory exporter (tests/support/memory_exporter.py), `wire` reads the Avro records it got."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.memory_exporter import MemorySdk, memory_sdk


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MemorySdk]:
    with memory_sdk(tmp_path_factory.mktemp("spool")) as sdk:
        yield sdk


@pytest.fixture
def sdk(wire: MemorySdk) -> object:
    """The phospho module, on the module's in-memory exporter."""
    import phospho

    return phospho
