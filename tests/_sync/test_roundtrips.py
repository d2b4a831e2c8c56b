# This file is generated from tests/_async/test_roundtrips.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""Round trips per operation, counted on an instrumented real client."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.base import Checkpoint

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from redis_server import RedisServer
from tests._io_sync import RoundTrips, counting_client
from tests._sync.graph_support import config_of
from tests.builders import cfg, checkpoint, saver_prefixes


def _checkpoint(n_messages: int) -> Checkpoint:
    return checkpoint({"messages": [f"m{i}" * 50 for i in range(n_messages)], "x": 1})


@pytest.mark.parametrize("ttl", [None, {"default_ttl": 5, "refresh_on_read": True}])
@pytest.mark.parametrize("n_writes", [0, 1, 50])
@pytest.mark.parametrize("n_messages", [10, 400], ids=["small", "large"])
def test_one_round_trip_each(
    redis_url: str, prefix: str, thread_id: str, ttl, n_writes, n_messages
):
    client, trips = counting_client(redis_url)
    saver = ShallowRedisSaver(redis_client=client, ttl=ttl, **saver_prefixes(prefix))
    saver.setup()
    config = cfg(thread_id)
    cp = _checkpoint(n_messages)

    trips.reset()
    stored = saver.put(
        config, cp, {"source": "loop", "step": 1}, cp["channel_versions"]
    )
    assert trips.count == 1

    trips.reset()
    saver.put_writes(stored, [("messages", i) for i in range(n_writes)], "task-1")
    assert trips.count == (1 if n_writes else 0)

    trips.reset()
    tup = saver.get_tuple(config)
    assert trips.count == 1
    assert tup is not None and len(tup.pending_writes) == n_writes
    assert tup.checkpoint["channel_values"] == cp["channel_values"]

    trips.reset()
    saver.delete_thread(thread_id)
    assert trips.count == 1
    assert saver.get_tuple(config) is None
    client.close()


@pytest.mark.parametrize("ttl", [None, {"default_ttl": 5, "refresh_on_read": True}])
@pytest.mark.parametrize("keep_last", [2, 10])
def test_one_round_trip_each_with_a_window(
    redis_url: str, prefix: str, thread_id: str, ttl, keep_last
):
    """With a history window: ``put``, ``put_writes`` (to the newest and to
    an older checkpoint), ``get_tuple`` (latest and by id, newest and
    older) and ``list`` of the whole window (one namespace, or the thread)
    are one round trip each, with a window longer than the thread and
    with one that drops checkpoints."""
    client, trips = counting_client(redis_url)
    saver = ShallowRedisSaver(
        redis_client=client, ttl=ttl, keep_last=keep_last, **saver_prefixes(prefix)
    )
    saver.setup()
    config, stored = cfg(thread_id), []
    for step in range(4):
        cp = checkpoint(
            {"messages": [f"m{step}"], "x": 1}, versions={"messages": step, "x": 1}
        )
        trips.reset()
        parent = stored[-1] if stored else config
        stored.append(saver.put(parent, cp, {"step": step}, {"messages": step, "x": 1}))
        assert trips.count == 1
        for target in {
            stored[-1]["configurable"]["checkpoint_id"],
            stored[0]["configurable"]["checkpoint_id"],
        }:
            trips.reset()
            saver.put_writes(cfg(thread_id, "", target), [("x", step)], f"task-{step}")
            assert trips.count == 1
    for name, target in (
        ("latest", config),
        ("newest", stored[-1]),
        ("older", stored[-2]),
    ):
        trips.reset()
        tup = saver.get_tuple(target)
        assert trips.count == 1, name
        assert tup is not None
    for where in (config, {"configurable": {"thread_id": thread_id}}):
        trips.reset()
        found = [t for t in saver.list(where)]
        assert trips.count == 1
        assert len(found) == min(keep_last, 4)
    saver.delete_thread(thread_id)
    client.close()


def test_counted_fixture(counted: tuple[ShallowRedisSaver, RoundTrips], thread_id: str):
    saver, trips = counted
    assert saver.get_tuple({"configurable": {"thread_id": thread_id}}) is None
    assert trips.count == 1


def test_thread_operations_round_trips(
    counted: tuple[ShallowRedisSaver, RoundTrips], thread_id: str
):
    saver, trips = counted
    cp = _checkpoint(3)
    for ns in ("", "child:1"):
        config = cfg(thread_id, ns)
        stored = saver.put(config, cp, {"step": 1}, cp["channel_versions"])
        saver.put_writes(stored, [("messages", 1), ("x", 2)], "task")

    trips.reset()
    found = [t for t in saver.list({"configurable": {"thread_id": thread_id}})]
    assert len(found) == 2 and trips.count == 1  # every namespace in one script

    trips.reset()
    one = cfg(thread_id, "child:1")
    found = [t for t in saver.list(one)]
    assert len(found) == 1 and trips.count == 1  # one namespace: its hash

    trips.reset()
    saver.copy_thread(thread_id, thread_id + "-copy")
    assert trips.count == 2  # read the source, write the target

    trips.reset()
    saver.prune([thread_id, thread_id + "-copy"], strategy="keep_latest")
    assert trips.count == 2  # one per thread

    trips.reset()
    saver.delete_thread(thread_id + "-copy")
    assert trips.count == 1


@pytest.mark.parametrize("n_messages", [2, 400], ids=["small", "large"])
def test_put_resends_values_that_are_not_stored(
    counted: tuple[ShallowRedisSaver, RoundTrips], thread_id: str, n_messages
):
    # A checkpoint that refers to a channel value it does not send, which
    # the thread does not hold: the script refuses, the saver sends all.
    saver, trips = counted
    config = cfg(thread_id)
    cp = _checkpoint(n_messages)
    trips.reset()
    saver.put(config, cp, {}, {"x": 1})  # "messages" not in new_versions
    assert trips.count == 2
    tup = saver.get_tuple(config)
    assert tup is not None and tup.checkpoint["channel_values"] == cp["channel_values"]


@pytest.mark.parametrize("n_messages", [10, 400], ids=["small", "large"])
def test_put_after_the_server_lost_its_scripts(
    counted: tuple[ShallowRedisSaver, RoundTrips], thread_id: str, n_messages
):
    # SCRIPT FLUSH (or a restart): the first call gets NOSCRIPT and sends
    # the script's source once, small or large values; then EVALSHA again.
    saver, trips = counted
    config = cfg(thread_id)
    cp = _checkpoint(n_messages)
    saver.client.script_flush()
    trips.reset()
    stored = saver.put(config, cp, {}, cp["channel_versions"])
    assert trips.count == 2
    tup = saver.get_tuple(config)
    assert tup is not None and tup.checkpoint["channel_values"] == cp["channel_values"]
    cp2 = _checkpoint(n_messages)
    trips.reset()
    saver.put(stored, cp2, {}, cp2["channel_versions"])
    assert trips.count == 1


def test_checkpoint_and_history_in_one_round_trip(
    counted: tuple[ShallowRedisSaver, RoundTrips], thread_id: str
) -> None:
    # a DeltaChannel rebuilt from the history kept in the namespace hash
    from tests._sync.test_delta import chat_graph, user

    saver, trips = counted
    graph = chat_graph(saver, 10, sub=False)
    config = config_of(thread_id)
    for t in range(3):
        graph.invoke(user(t), config, durability="sync")
    trips.reset()
    tup = saver.get_tuple(config)
    assert tup is not None and "messages" not in tup.checkpoint["channel_values"]
    history = saver.get_delta_channel_history(config=tup.config, channels=["messages"])
    assert trips.count == 1
    assert len(history["messages"]["writes"]) == 6
    # without a get_tuple before it: one round trip of its own
    trips.reset()
    again = saver.get_delta_channel_history(config=tup.config, channels=["messages"])
    assert trips.count == 1 and again == history
    # loading the thread in a graph: get_tuple and history, one round trip
    trips.reset()
    state = graph.get_state(config)
    assert trips.count == 1
    assert len(state.values["messages"]) == 6


def test_waiting_for_replicas_keeps_one_round_trip_per_write(
    replicated: tuple[RedisServer, RedisServer], prefix: str, thread_id: str
):
    # the write and its WAIT go in one pipeline: the counts above hold;
    # after SCRIPT FLUSH the NOSCRIPT fallback resends both (two, as above)
    client, trips = counting_client(replicated[0].url)
    saver = ShallowRedisSaver(
        redis_client=client,
        **saver_prefixes(prefix),
        wait_for_replicas=1,
    )
    saver.setup()
    config = cfg(thread_id)
    cp = _checkpoint(10)

    trips.reset()
    stored = saver.put(config, cp, {"step": 1}, cp["channel_versions"])
    assert trips.count == 1
    trips.reset()
    saver.put_writes(stored, [("messages", 1), ("x", 2)], "task")
    assert trips.count == 1
    trips.reset()
    saver.copy_thread(thread_id, thread_id + "-copy")
    assert trips.count == 2  # read the source, write the target
    trips.reset()
    saver.prune([thread_id, thread_id + "-copy"], strategy="keep_latest")
    assert trips.count == 2  # one per thread
    trips.reset()
    saver.delete_thread(thread_id + "-copy")
    assert trips.count == 1

    client.script_flush()
    cp2 = _checkpoint(10)
    trips.reset()
    stored = saver.put(stored, cp2, {"step": 2}, cp2["channel_versions"])
    assert trips.count == 2
    tup = saver.get_tuple(config)
    assert tup is not None and tup.checkpoint["id"] == cp2["id"]
    cp3 = _checkpoint(10)
    trips.reset()
    saver.put(stored, cp3, {"step": 3}, cp3["channel_versions"])
    assert trips.count == 1  # EVAL loaded the script again
    saver.delete_thread(thread_id)
    client.close()
