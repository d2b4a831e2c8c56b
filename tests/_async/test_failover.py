"""Failover under write load: a primary is ``kill -9``'d, a replica takes over.

Two topologies of real processes (``tests/failover_support.py``), started
for this module and stopped by pid: Sentinel (a primary, two replicas,
three Sentinels; the saver gets the ``redis+sentinel://`` URL) and Redis
Cluster (three primaries with a replica each; the saver gets a
``RedisCluster`` client). Several writers (tasks here, threads in the
generated sync tests) each write their own thread, checkpoint then pending
writes, step after step. During the load the primary is killed; once a
replica is promoted the killed server is started again (empty) as a
replica. The same saver object carries on; nothing is recreated.

After each failover every thread must read back whole: a checkpoint of its
own thread with exactly that checkpoint's writes, never a mix, and no later
step than was attempted. An acknowledged checkpoint (``put`` returned)
older than what the thread holds afterwards was lost. With
``wait_for_replicas=1`` none may be lost; without it the count is reported
(Redis replicates asynchronously: that is the documented risk).

``FAILOVER_ROUNDS`` (default 1) sets the failovers per test; the long run is
``FAILOVER_ROUNDS=20 pytest tests/_async/test_failover.py -s --redis-kind
plain`` (see docs/reliability.md). These tests start their own servers: they
are marked ``topology``, which nox runs in one session only (noxfile.py
``TOPOLOGY_KIND``).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from langgraph.types import Command
from redis.crc import key_slot

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    ReplicationError,
    StorageError,
)
from tests._async.graph_support import approval_graph, check_approval, run_both
from tests._io_async import RedisCluster, run_concurrently, sleep
from tests.builders import cfg, checkpoint, saver_prefixes
from tests.failover_support import SETTLE_TIMEOUT, ClusterTopology, SentinelTopology

pytestmark = pytest.mark.topology

ROUNDS = int(os.environ.get("FAILOVER_ROUNDS", "1"))
WRITERS_PER_SHARD = 2
LOAD_BEFORE = 0.4
"""Seconds of load before the kill."""
LOAD_AFTER = 0.2
"""Seconds of load after every writer has written again."""


@pytest.fixture(scope="module")
def sentinel_topology(plain_kind: str) -> Iterator[SentinelTopology]:
    topology = SentinelTopology(plain_kind).start()
    yield topology
    topology.stop()


@pytest.fixture(scope="module")
def cluster_topology(plain_kind: str) -> Iterator[ClusterTopology]:
    topology = ClusterTopology(plain_kind).start()
    yield topology
    topology.stop()


@pytest.fixture(params=["sentinel", "cluster"])
def topology(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{request.param}_topology")


@asynccontextmanager
async def saver_on(
    topology: Any, **kwargs: Any
) -> AsyncIterator[AsyncShallowRedisSaver]:
    """A set-up saver of the topology: from the Sentinel URL, or on a
    ``RedisCluster`` client; its keys are its own (a fresh prefix)."""
    prefix = "fo-" + uuid.uuid4().hex[:8]
    names = saver_prefixes(prefix)
    if isinstance(topology, SentinelTopology):
        async with AsyncShallowRedisSaver.from_conn_string(
            topology.url, **names, **kwargs
        ) as saver:
            await saver.asetup()
            yield saver
        return
    client = RedisCluster(host="127.0.0.1", port=topology.startup_port)
    try:
        async with AsyncShallowRedisSaver.from_conn_string(
            redis_client=client, **names, **kwargs
        ) as saver:
            await saver.asetup()
            yield saver
    finally:
        await client.aclose()


def thread_ids(saver: AsyncShallowRedisSaver) -> list[tuple[str, int]]:
    """``(thread id, slot range)``: ``WRITERS_PER_SHARD`` on each cluster
    slot range."""
    found: dict[int, list[str]] = {0: [], 1: [], 2: []}
    while any(len(ids) < WRITERS_PER_SHARD for ids in found.values()):
        tid = "fo-" + uuid.uuid4().hex[:12]
        slot = key_slot(saver.keys.registry(tid).encode())
        shard = 0 if slot <= 5460 else 1 if slot <= 10922 else 2
        if len(found[shard]) < WRITERS_PER_SHARD:
            found[shard].append(tid)
    return [(tid, shard) for shard, ids in found.items() for tid in ids]


@dataclass
class Round:
    """What the writers and the killer share during one failover."""

    stop: bool = False
    killed_at: float | None = None
    shard: int | None = None
    """The cluster slot range whose primary was killed (Sentinel: None)."""


@dataclass
class Writer:
    """Writes its thread step after step: checkpoint ``k`` holds
    ``[thread id, k]`` and gets one pending write with the same value."""

    thread_id: str
    shard: int
    step: int = 0
    acked: int = -1
    writes_acked: int = -1
    attempts: int = 0
    failures: int = 0
    recovered_at: float | None = None
    last_ok: float = 0.0
    checkpoint: Any = None

    def _checkpoint(self) -> Any:
        if self.checkpoint is None:  # one per step; a retry sends it again
            self.checkpoint = checkpoint(
                {"a": [self.thread_id, self.step]}, self.step + 1
            )
        return self.checkpoint

    async def run(self, saver: AsyncShallowRedisSaver, state: Round) -> None:
        while not state.stop:
            k = self.step
            cp = self._checkpoint()
            self.attempts += 1
            started = time.monotonic()
            try:
                stored = await saver.aput(
                    cfg(self.thread_id), cp, {"step": k}, {"a": k + 1}
                )
                self.acked = k
                await saver.aput_writes(stored, [("a", [self.thread_id, k])], f"t{k}")
                self.writes_acked = k
            except (StorageError, ReplicationError):
                self.failures += 1
                await sleep(0.02)
                continue
            self.step += 1
            self.checkpoint = None
            self.last_ok = time.monotonic()
            killed_at = state.killed_at
            if killed_at is not None and started > killed_at and not self.recovered_at:
                self.recovered_at = self.last_ok  # first write begun after the kill

    async def check(self, saver: AsyncShallowRedisSaver) -> int:
        """Assert the thread is whole and its own; the acknowledged
        checkpoints (and writes) it lost."""
        tup = await saver.aget_tuple(cfg(self.thread_id))
        stored, has_writes = -1, False
        if tup is not None:
            value = tup.checkpoint["channel_values"]["a"]
            assert value[0] == self.thread_id, f"another thread's checkpoint: {value}"
            stored = value[1]
            assert tup.metadata["step"] == stored
            assert tup.pending_writes in ([], [(f"t{stored}", "a", value)]), (
                f"writes of another checkpoint with checkpoint {stored}: "
                f"{tup.pending_writes}"
            )
            has_writes = bool(tup.pending_writes)
        assert stored <= self.step, f"step {stored} was never written"
        lost = max(0, self.acked - stored)
        if stored == self.writes_acked and not has_writes:
            lost += 1
        # what the thread holds now is the base of the next round
        self.acked = stored
        self.writes_acked = stored if has_writes else -1
        self.recovered_at = None
        return lost


async def retried(operation: Callable[[], Any], attempts: int = 20) -> Any:
    """``await operation()``, again after a ``StorageError`` (connections
    to a demoted primary are dropped one at a time as they are used)."""
    for attempt in range(attempts):
        try:
            return await operation()
        except StorageError:
            if attempt == attempts - 1:
                raise
            await sleep(0.1)


async def until(condition: Callable[[], bool], what: str, topology: Any) -> None:
    """Poll ``condition`` until true; fail after ``SETTLE_TIMEOUT`` s with
    ``what`` and the topology as its processes see it."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not within {SETTLE_TIMEOUT:.0f} s: {what}\n{topology.describe()}"
            )
        await sleep(0.05)


async def kill_and_recover(topology: Any, writers: list[Writer], state: Round) -> None:
    """Kill the primary under load; restart it once a replica took over;
    stop the load once every writer has written since."""
    try:
        await sleep(LOAD_BEFORE)
        topology.kill_primary()
        state.killed_at = time.monotonic()
        state.shard = getattr(topology, "killed_shard", None)
        await until(topology.promoted, "a replica promoted", topology)
        topology.restart_killed()
        restarted_at = time.monotonic()
        await until(
            lambda: all(
                w.last_ok > restarted_at and w.recovered_at is not None for w in writers
            ),
            "every writer wrote again after the failover",
            topology,
        )
        await sleep(LOAD_AFTER)
    finally:
        state.stop = True


@dataclass
class Tally:
    failovers: int = 0
    attempted: int = 0
    acknowledged: int = 0
    failed: int = 0
    lost: int = 0
    first_write: list[float] = field(default_factory=list)
    all_writers: list[float] = field(default_factory=list)

    def line(self, name: str) -> str:
        def ms(values: list[float]) -> str:
            return (
                f"median {statistics.median(values) * 1000:.0f} ms, "
                f"max {max(values) * 1000:.0f} ms"
            )

        return (
            f"FAILOVER {name}: {self.failovers} failovers, {self.attempted} "
            f"checkpoints attempted, {self.acknowledged} acknowledged, "
            f"{self.failed} failed attempts, {self.lost} acknowledged-then-lost; "
            "kill to the first write begun after it, of the first writer of "
            f"the killed primary: {ms(self.first_write)}; of the last one: "
            f"{ms(self.all_writers)}"
        )


@pytest.mark.parametrize("wait_for_replicas", [0, 1])
async def test_writes_carry_on_through_failovers(
    topology: Any, wait_for_replicas: int
) -> None:
    tally = Tally()
    async with saver_on(
        topology, wait_for_replicas=wait_for_replicas, wait_timeout=0.5
    ) as saver:
        writers = [Writer(tid, shard) for tid, shard in thread_ids(saver)]
        for _ in range(ROUNDS):
            topology.wait_healthy()
            state = Round()
            before = sum(w.step for w in writers)
            await run_concurrently(
                [lambda w=w, s=state: w.run(saver, s) for w in writers]
                + [lambda s=state: kill_and_recover(topology, writers, s)]
            )
            killed_at = state.killed_at
            assert killed_at is not None
            recovered = [
                w.recovered_at - killed_at
                for w in writers
                if w.recovered_at is not None and state.shard in (None, w.shard)
            ]
            tally.failovers += 1
            tally.first_write.append(min(recovered))
            tally.all_writers.append(max(recovered))
            tally.acknowledged += sum(w.step for w in writers) - before
            for writer in writers:
                tally.lost += await writer.check(saver)
        tally.attempted = sum(w.attempts for w in writers)
        tally.failed = sum(w.failures for w in writers)
        print(
            "\n"
            + tally.line(
                f"{type(topology).__name__} wait_for_replicas={wait_for_replicas}"
            )
        )
        if wait_for_replicas:
            assert tally.lost == 0
        topology.wait_healthy()
        for writer in writers:
            await retried(lambda w=writer: saver.adelete_thread(w.thread_id))


async def test_graph_interrupted_by_a_failover_resumes(topology: Any) -> None:
    tid = "fo-graph-" + uuid.uuid4().hex
    async with saver_on(topology, wait_for_replicas=1, wait_timeout=2.0) as saver:
        topology.wait_healthy()

        async def scenario(cp: Any, config: Any) -> Any:
            graph = approval_graph(cp)
            paused = await graph.ainvoke({"log": ["start"]}, config)
            if cp is saver:
                topology.kill_primary()
                await until(topology.promoted, "a replica promoted", topology)
                topology.restart_killed()
                topology.wait_healthy()
            waiting = await graph.aget_state(config)
            done = await graph.ainvoke(Command(resume="yes"), config)
            final = await graph.aget_state(config)
            return paused, waiting, done, final

        check_approval(await run_both(saver, tid, scenario))
        await saver.adelete_thread(tid)


async def test_writes_on_a_demoted_primary_follow_the_sentinels(
    sentinel_topology: SentinelTopology,
) -> None:
    """After a switch-over the saver's pooled connections, its own API's
    and the other API's, lead to a replica. The next write through either
    gets ``READONLY`` there (redis-py's retries reconnect to the same
    server: redis-py issue 3874); the saver asks the Sentinels and writes on
    the new primary. No error reaches the caller."""
    tid = "fo-follow-" + uuid.uuid4().hex
    sentinel_topology.wait_healthy()
    async with saver_on(sentinel_topology) as saver:
        first = await saver.aput(cfg(tid), checkpoint({"a": 1}), {}, {"a": 1})
        saver.put(first, checkpoint({"a": 2}), {}, {"a": 2})  # the other API
        old = sentinel_topology.switch_over()
        assert sentinel_topology.primary_port() != old
        third = await saver.aput(cfg(tid), checkpoint({"a": 3}), {}, {"a": 3})
        fourth = saver.put(third, checkpoint({"a": 4}), {}, {"a": 4})
        tup = await saver.aget_tuple(cfg(tid))
        assert tup is not None and tup.config == fourth
        assert tup.checkpoint["channel_values"] == {"a": 4}
        await saver.adelete_thread(tid)
    sentinel_topology.wait_healthy()
