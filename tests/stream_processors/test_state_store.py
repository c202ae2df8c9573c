"""The worker's state store against the real (embedded) broker: what one owner flushed, the
next owner of the partition reads back, exactly, however many flushes and batches it took."""

from __future__ import annotations

import uuid

import pytest

from phospho_stream.state_store import StateStore

pytestmark = pytest.mark.integration


def test_flushed_states_are_recovered_by_the_next_owner(broker):
    topic = f"state-{uuid.uuid4().hex[:8]}"
    first = StateStore(broker.bootstrap, topic, 4)
    first.ensure_topic()
    first.ensure_topic()  # already there: fine
    for p in range(4):
        assert first.recover(p) == 0
    for round_ in range(5):  # several flushes: later values win
        for i in range(300):
            first.put(i % 4, f"k{i}".encode(), {"round": round_, "i": i, "pad": "x" * (i % 50)})
        assert first.flush() == 300
    first.put(1, b"k1", None)  # a deletion
    assert first.flush() == 1
    assert first.flush() == 0  # nothing changed
    first.close()

    second = StateStore(broker.bootstrap, topic, 4)
    assert second.recover(1) == 74  # 75 keys of partition 1, one deleted
    assert not second.is_loaded(0)
    assert second.get(1, b"k5") == {"round": 4, "i": 5, "pad": "x" * 5}
    assert second.get(1, b"k1") is None
    for p in (0, 2, 3):
        second.recover(p)
    assert sorted(len(second.items(p)) for p in range(4)) == [74, 75, 75, 75]
    second.drop({2})
    assert not second.is_loaded(2) and second.loaded() == [1, 0, 3]
    second.close()


def test_a_broker_gone_fails_the_flush_and_the_recovery_instead_of_acknowledging(tmp_path):
    from phospho_stream.broker import EmbeddedBroker
    from phospho_stream.state_store import StateStoreError

    with EmbeddedBroker(log_path=tmp_path / "broker.log") as gone:
        store = StateStore(gone.bootstrap, "state-gone", 2, flush_timeout=3)
        store.ensure_topic()
        store.recover(0)
    store.put(0, b"k", {"v": 1})
    with pytest.raises(StateStoreError, match="not acknowledged"):
        store.flush()
    with pytest.raises(StateStoreError):
        store.recover(1, timeout=2)


def test_recovery_names_the_keys_of_the_last_write_whose_rows_may_not_have_gone_out(broker):
    topic = f"state-{uuid.uuid4().hex[:8]}"
    store = StateStore(broker.bootstrap, topic, 2)
    store.ensure_topic()
    store.recover(0)
    for keys in ([b"a", b"b"], [b"b", b"c"]):
        for key in keys:
            store.put(0, key, {"v": key})
        store.flush()
    reader = StateStore(broker.bootstrap, topic, 2)
    reader.recover(0)
    assert reader.last_written(0) == {b"b", b"c"}  # the last group, between the last two markers
    assert reader.last_written(0) == set()  # taken once
    reader.close()
    # a write cut short (records without their marker): those keys are the last group
    store.put(0, b"d", {"v": b"d"})
    store.put(0, b"a", {"v": b"a2"})
    store.write()  # its marker is sent but never waited for: a crash may lose it
    store.close()
    again = StateStore(broker.bootstrap, topic, 2)
    again.recover(0)
    assert again.last_written(0) == {b"a", b"d"} and again.get(0, b"a") == {"v": b"a2"}
    again.close()
