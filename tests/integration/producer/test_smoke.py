import pytest

from tests.support.kafka import consume

pytestmark = pytest.mark.integration


def test_a_logged_task_arrives(sdk, broker):
    logged = sdk.log(input="smoke", output="ok", session_id="smoke-session")
    assert sdk.flush(20)
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: any(r["task_id"] == logged["task_id"] for _, r, _ in rs))
    (record,) = [r for _, r, _ in records if r["task_id"] == logged["task_id"]]
    assert record["input"] == "smoke" and record["session_id"] == "smoke-session"
