# This file is generated from tests/_async/test_migration.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""Threads of ``langgraph-checkpoint-redis`` 0.5.2 continue on our saver.

Each test runs real graph turns on one of upstream's savers (sync shallow,
async shallow, full sync and full async), migrates the thread with the ``migrate`` command, runs
the remaining turns on our saver, and compares every result and the final
state with the same turns run on ``InMemorySaver``: the pending interrupt
resumes, and the ``Command(update=...)`` applied on upstream is applied once
(upstream itself would apply it again on the next turn).

On a server without RedisJSON (``--redis-kind=plain``) upstream cannot run;
there each test asserts that ``migrate`` refuses the source with a clear error.
"""

from __future__ import annotations

import uuid

import pytest

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from tests.upstream_data import (
    GRAPH_KINDS,
    SCENARIOS,
    chat_graph,
    migrate_cli,
    reference,
    result_of,
    run_turns,
    state_of,
    upstream_dataset,
)


def assert_source_refused(
    redis_url: str, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a plain server: exit status 2 and the RedisJSON message."""
    assert migrate_cli(redis_url, prefix) == 2
    err = capsys.readouterr().err
    assert "RedisJSON" in err and "RediSearch" in err, err


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("kind", GRAPH_KINDS)
def test_thread_continues_after_migration(
    redis_url: str,
    has_search: bool,
    prefix: str,
    saver: ShallowRedisSaver,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    scenario: str,
) -> None:
    if not has_search:
        assert_source_refused(redis_url, prefix, capsys)
        return
    thread_id = f"mig-{kind}-{uuid.uuid4().hex}"
    config = {"configurable": {"thread_id": thread_id}}
    before_turns, after_turns = SCENARIOS[scenario]
    with upstream_dataset(redis_url, prefix, [thread_id]):
        before = run_turns(kind, scenario, redis_url, prefix, thread_id)
        expected, final = reference(scenario, thread_id)
        n = len(before_turns)
        assert before == expected[:n], "upstream itself diverged before migrating"
        assert before[-1]["interrupts"] == ["approve?"]

        assert migrate_cli(redis_url, prefix) == 0
        out = capsys.readouterr().out
        assert "1 copied" in out, out

        graph = chat_graph(saver, scenario)
        waiting = graph.get_state(config)
        assert [i.value for i in waiting.interrupts] == ["approve?"]
        after = [result_of(graph.invoke(t, config)) for t in after_turns]
        assert after == expected[n:]
        assert state_of(graph.get_state(config)) == final

        # a second run finds the thread already migrated and leaves it alone
        # (here the target is newer: the graph went on with our saver)
        assert migrate_cli(redis_url, prefix) == 1
        assert "newer checkpoint" in capsys.readouterr().out
        assert state_of(graph.get_state(config)) == final
