"""Network partitions under write load: where acknowledged writes are lost.

A primary is cut off from its replicas and Sentinels (or from the other
cluster primaries) while the writers, in the root namespace, still reach it;
a replica is promoted; the link heals and the old primary rejoins as a
replica, throwing away what it acknowledged in between
(``tests/partition_support.py``, on ``tests/netns_support.py``: every
process in a network namespace of its own). Each round runs groups of
writers at once, each writer on its own thread, checkpoint after checkpoint
from the config the last ``put`` returned (as a graph does):

- ``via``: through Sentinel (a ``redis+sentinel://`` URL) or the cluster
  client, savers kept from round to round;
- ``direct``: straight to the old primary (a plain URL, as a pool that has
  not noticed would be), new savers each round;

each with ``wait_for_replicas`` 0, 1 and 2 (the replica count; a cluster
shard has one: 0 and 1).

Counted per group: checkpoints acknowledged, refused (``ReplicationError``,
``StorageError``) and acknowledged-then-lost. After every round each thread
must read back whole and its own (a refused write is absent or present
whole). With ``wait_for_replicas`` equal to the replica count nothing
acknowledged may be lost, nor with 1 in a single partition; the loss
without it (and with 1 of 2 under a flapping link) is reported, not
asserted. Sentinel writers with the option
must write on the promoted primary while the old one is still cut off (the
saver asks the Sentinels when a write is refused; docs/reliability.md,
"Partitions").

``PARTITION_ROUNDS`` (default 1) sets the partitions per topology; the long
run is ``PARTITION_ROUNDS=20 pytest -m partition -s tests/_async/test_partitions.py``.
These tests need root (network namespaces): marked ``partition``, run by
``nox -s partitions`` only.
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.crc import key_slot

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    ReplicationError,
    StaleCheckpointError,
    StorageError,
)
from tests._io_async import RedisCluster, in_thread, run_concurrently, sleep
from tests.builders import cfg, checkpoint, layout_key, saver_prefixes
from tests.failover_support import _wait_for
from tests.netns_support import unavailable
from tests.partition_support import (
    SLOT_RANGES,
    ClusterLab,
    Round,
    SentinelLab,
    flapping_round,
    partition_round,
)

WHY_NOT = unavailable()
if WHY_NOT and os.environ.get("PARTITIONS_REQUIRED") == "1":
    raise RuntimeError(f"the partition tests cannot run here: {WHY_NOT}")
pytestmark = [
    pytest.mark.partition,
    pytest.mark.skipif(bool(WHY_NOT), reason=f"no network namespaces: {WHY_NOT}"),
]

ROUNDS = int(os.environ.get("PARTITION_ROUNDS", "1"))
WAIT_TIMEOUT = 0.5
CUT_AFTER_PROMOTION = 2.0
"""Seconds the old primary stays cut off after a replica was promoted."""
LOAD = 0.5
WRITERS = 2


def levels(topology: Any) -> tuple[int, ...]:
    """The ``wait_for_replicas`` of the groups: 0, 1, and every replica
    of a primary (2 under Sentinel; a cluster shard has 1)."""
    return (0, 1) if isinstance(topology, ClusterLab) else (0, 1, 2)


def group(way: str, w: int) -> str:
    """``via-1``: through Sentinel / the cluster client, ``direct-1``:
    straight to the old primary; with ``wait_for_replicas=1``."""
    return f"{way}-{w}"


SERVER_ARGS = os.environ.get("PARTITION_SERVER_ARGS", "").split()
"""Settings of every Redis of the labs, e.g. ``--min-replicas-to-write 1
--min-replicas-max-lag 1`` (docs/reliability.md measures them)."""


@pytest.fixture(scope="module")
def sentinel_lab(plain_kind: str) -> Any:
    lab = SentinelLab(plain_kind, SERVER_ARGS).start()
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def cluster_lab(plain_kind: str) -> Any:
    lab = ClusterLab(plain_kind, SERVER_ARGS).start()
    yield lab
    lab.stop()


def in_shard(slot: int, shard: int) -> bool:
    first, last = SLOT_RANGES[shard]
    return first <= slot <= last


def shard_of(saver: AsyncShallowRedisSaver, thread_id: str) -> int:
    slot = key_slot(saver.keys.registry(thread_id).encode())
    return next(i for i in range(len(SLOT_RANGES)) if in_shard(slot, i))


def thread_in(saver: AsyncShallowRedisSaver, shard: int | None) -> str:
    """A new thread id (on cluster slot range ``shard``, if given)."""
    while True:
        tid = "pt-" + uuid.uuid4().hex[:12]
        if shard is None or shard_of(saver, tid) == shard:
            return tid


@dataclass
class Writer:
    """Writes its thread checkpoint after checkpoint: checkpoint ``k`` holds
    ``[thread id, k]`` and gets one pending write with the same value; each
    ``put`` names the checkpoint the last one stored as its parent."""

    thread_id: str
    group: str
    shard: int | None = None
    step: int = 0
    highest: int = 0
    """The highest step it ever wrote: without ``wait_for_replicas`` a
    flapping link can bring back a checkpoint the writer saw lost and
    went on without (two primaries took turns)."""
    acked: int = -1
    writes_acked: int = -1
    parent: Any = None
    checkpoint: Any = None
    acknowledged: int = 0
    refused: int = 0
    unreplicated: int = 0
    """Of ``refused``: ``ReplicationError`` (the others: ``StorageError``)."""
    lost: int = 0
    acks: list[tuple[float, float]] = field(default_factory=list)
    """``(begun, acknowledged)`` times of its acknowledged ``put`` calls."""

    def _checkpoint(self) -> Any:
        if self.checkpoint is None:  # one per step; a retry sends it again
            self.checkpoint = checkpoint(
                {"a": [self.thread_id, self.step]}, self.step + 1
            )
        return self.checkpoint

    async def run(self, saver: AsyncShallowRedisSaver, state: Round) -> None:
        while not state.stop:
            k = self.step
            self.highest = max(self.highest, k)
            begun = time.monotonic()
            try:
                stored = await saver.aput(
                    self.parent or cfg(self.thread_id),
                    self._checkpoint(),
                    {"step": k},
                    {"a": k + 1},
                )
                self.acked, self.parent = k, stored
                self.acknowledged += 1
                self.acks.append((begun, time.monotonic()))
                await saver.aput_writes(stored, [("a", [self.thread_id, k])], f"t{k}")
                self.writes_acked = k
            except StaleCheckpointError:  # its parent is gone: a loss, found
                await self.resync(saver)
                continue
            except (StorageError, ReplicationError) as exc:
                self.refused += 1
                self.unreplicated += isinstance(exc, ReplicationError)
                await sleep(0.02)
                continue
            self.step += 1
            self.checkpoint = None

    async def resync(self, saver: AsyncShallowRedisSaver) -> None:
        """Count what the thread lost, and go on from what it holds (as a
        graph resumes from its thread's checkpoint)."""
        tup = await retried(lambda: saver.aget_tuple(cfg(self.thread_id)))
        stored = self._check(tup)
        self.parent = tup.config if tup is not None else None
        self.step = stored + 1
        self.checkpoint = None

    def _check(self, tup: Any) -> int:
        """Assert the thread is whole and its own; count its losses; the
        step it holds."""
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
        assert stored <= self.highest, f"step {stored} was never written"
        self.lost += max(0, self.acked - stored)
        if stored == self.writes_acked and not has_writes:
            self.lost += 1
        self.acked = stored
        self.writes_acked = stored if has_writes else -1
        return stored

    async def check(self, saver: AsyncShallowRedisSaver) -> None:
        """After a round: the thread whole, what it lost counted."""
        self._check(await retried(lambda: saver.aget_tuple(cfg(self.thread_id))))


async def retried(operation: Callable[[], Any], attempts: int = 50) -> Any:
    """``await operation()``, again after a ``StorageError``."""
    for attempt in range(attempts):
        try:
            return await operation()
        except StorageError:
            if attempt == attempts - 1:
                raise
            await sleep(0.1)


@dataclass
class Tally:
    rounds: int = 0
    acknowledged: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    unreplicated: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    recovery: dict[str, list[float]] = field(default_factory=dict)

    def add(self, writers: list[Writer], state: Round) -> None:
        for w in writers:
            for table, n in (
                (self.acknowledged, w.acknowledged),
                (self.refused, w.refused),
                (self.unreplicated, w.unreplicated),
                (self.lost, w.lost),
            ):
                table[w.group] = table.get(w.group, 0) + n
            w.acknowledged = w.refused = w.unreplicated = w.lost = 0
        promoted, cut = state.promoted_at, state.cut_at
        for name in {w.group for w in writers if not w.group.endswith("-0")}:
            # With the option, no write begun after the cut is acknowledged
            # on the cut-off primary: the first one is on the promoted one.
            # (Without, they are acknowledged on the old one throughout.)
            # ``promoted`` is when the test saw it, polling every 50 ms: a
            # time <= 0 means the saver saw it first.
            after = [
                acked
                for w in writers
                if w.group == name and w.shard in (None, state.shard)
                for begun, acked in w.acks
                if cut is not None and begun > cut
            ]
            if after and promoted is not None:
                self.recovery.setdefault(name, []).append(min(after) - promoted)
        for w in writers:
            w.acks.clear()

    def report(self, name: str) -> str:
        lines = [f"PARTITIONS {name}: {self.rounds} rounds"]
        for group in sorted(self.acknowledged):
            rec = self.recovery.get(group, [])
            times = (
                f"; promotion to first acknowledged write median "
                f"{statistics.median(rec):.2f} s, max {max(rec):.2f} s"
                if rec
                else ""
            )
            lines.append(
                f"  {group}: {self.acknowledged[group]} acknowledged, "
                f"{self.refused[group]} refused ({self.unreplicated[group]} "
                f"ReplicationError), {self.lost[group]} "
                f"acknowledged-then-lost{times}"
            )
        return "\n".join(lines)


@asynccontextmanager
async def saver_for(
    url: str | None, client: Any = None, shard: int | None = None, **kwargs: Any
) -> AsyncIterator[AsyncShallowRedisSaver]:
    """A set-up saver with key prefixes of its own, from ``url`` or on
    ``client``. With ``shard``, its layout key is on that cluster slot range
    (a plain client of one cluster node can then set it up)."""
    while True:
        prefix = "pt-" + uuid.uuid4().hex[:8]
        if shard is None or in_shard(key_slot(layout_key(prefix)), shard):
            break
    names = saver_prefixes(prefix)
    async with AsyncShallowRedisSaver.from_conn_string(
        url, redis_client=client, **names, wait_timeout=WAIT_TIMEOUT, **kwargs
    ) as saver:
        await saver.asetup()
        yield saver


def reader(saver: AsyncShallowRedisSaver, client: Any) -> AsyncShallowRedisSaver:
    """A saver of ``saver``'s keys on ``client``."""
    return AsyncShallowRedisSaver(
        redis_client=client,
        checkpoint_prefix=saver.keys.checkpoint_prefix,
        checkpoint_write_prefix=saver.keys.entry_prefix,
    )


def writers_of(
    topology: Any,
    saver: AsyncShallowRedisSaver,
    groups: tuple[str, ...],
    shard: int | None,
) -> list[Writer]:
    """``WRITERS`` writers per group (on a cluster: per slot range, or on
    ``shard`` only when given)."""
    if not isinstance(topology, ClusterLab):
        return [
            Writer(thread_in(saver, None), g) for g in groups for _ in range(WRITERS)
        ]
    shards = range(len(SLOT_RANGES)) if shard is None else [shard]
    return [
        Writer(thread_in(saver, s), g, shard=s)
        for g in groups
        for s in shards
        for _ in range(WRITERS)
    ]


async def partitions(
    topology: Any,
    via: Callable[[int], Any],
    controller: Callable[[Round], None],
    rounds: int = ROUNDS,
) -> Tally:
    """``rounds`` rounds of ``controller`` under the groups' load;
    ``via(w)`` makes the saver through Sentinel / the cluster client."""
    tally = Tally()
    async with AsyncExitStack() as stack:
        ways = levels(topology)
        savers = {
            group("via", w): await stack.enter_async_context(via(w)) for w in ways
        }
        writers = writers_of(topology, savers["via-0"], tuple(savers), None)
        for n in range(rounds):
            state = Round(shard=n % len(SLOT_RANGES))
            cluster = isinstance(topology, ClusterLab)
            primary = await in_thread(lambda s=state: primary_before(topology, s))
            async with AsyncExitStack() as this_round:
                for w in ways:
                    savers[group("direct", w)] = await this_round.enter_async_context(
                        saver_for(
                            f"redis://{primary[0]}:{primary[1]}",
                            shard=state.shard if cluster else None,
                            wait_for_replicas=w,
                        )
                    )
                everyone = writers + writers_of(
                    topology,
                    savers["via-0"],
                    tuple(group("direct", w) for w in ways),
                    state.shard,
                )
                await run_concurrently(
                    [lambda w=w, s=state: w.run(savers[w.group], s) for w in everyone]
                    + [lambda s=state: in_thread(lambda: controller(s))]
                )
                via_client = savers["via-0"].client
                for w in everyone:  # read where the primary is now
                    await w.check(reader(savers[w.group], via_client))
                tally.rounds += 1
                tally.add(everyone, state)
        for w in writers:
            await retried(lambda w=w: savers[w.group].adelete_thread(w.thread_id))
    return tally


def primary_before(topology: Any, state: Round) -> Any:
    """Once the topology is healthy: the primary the round will cut off."""
    _wait_for(topology.healthy, "healthy before the round", describe=topology.describe)
    if isinstance(topology, ClusterLab):
        return topology.shards()[state.shard or 0][0]
    return topology.primary()


def sentinel_saver(lab: SentinelLab) -> Callable[[int], Any]:
    return lambda w: saver_for(lab.url, wait_for_replicas=w)


@asynccontextmanager
async def cluster_saver_of(lab: ClusterLab, w: int) -> AsyncIterator[Any]:
    host, port = next(iter(lab.servers))
    client = RedisCluster(host=host, port=port)
    try:
        async with saver_for(None, client, wait_for_replicas=w) as saver:
            yield saver
    finally:
        await client.aclose()


def check(tally: Tally, name: str, strict: tuple[int, ...]) -> None:
    """Print the tally; nothing acknowledged lost by the groups whose
    ``wait_for_replicas`` is in ``strict``."""
    print("\n" + tally.report(name))
    for w in strict:
        for way in ("via", "direct"):
            assert tally.lost.get(group(way, w), 0) == 0, tally.report(name)


async def test_sentinel_partitions(sentinel_lab: SentinelLab) -> None:
    """A primary cut off from its replicas and Sentinels: a write it
    acknowledged with ``wait_for_replicas`` 1 or 2 is on the replica the
    Sentinels promote (it is the most advanced: the cut stops the stream)."""
    tally = await partitions(
        sentinel_lab,
        sentinel_saver(sentinel_lab),
        lambda state: partition_round(sentinel_lab, state, CUT_AFTER_PROMOTION, LOAD),
    )
    check(tally, "Sentinel", strict=(1, 2))
    # the saver followed the promotion: its durable writes resumed on the
    # new primary while the old one was still cut off; and when the old one
    # was demoted, no call without the option failed (READONLY: the saver
    # asked the Sentinels and wrote on the new primary)
    if not SERVER_ARGS:  # min-replicas-to-write refuses before the promotion
        assert tally.refused["via-0"] == 0, tally.report("Sentinel")
    assert len(tally.recovery["via-1"]) == tally.rounds, tally.report("Sentinel")
    assert max(tally.recovery["via-1"]) < CUT_AFTER_PROMOTION, tally.report("Sentinel")


async def test_cluster_partitions(cluster_lab: ClusterLab) -> None:
    """A shard's primary cut off from every other node; its one replica is
    promoted."""
    tally = await partitions(
        cluster_lab,
        lambda w: cluster_saver_of(cluster_lab, w),
        lambda state: partition_round(cluster_lab, state, CUT_AFTER_PROMOTION, LOAD),
    )
    check(tally, "Cluster", strict=(1,))


async def test_flapping_link(sentinel_lab: SentinelLab) -> None:
    """The primary's link flaps. A heal in the middle of a failover leaves
    two primaries for a while, one replica still following the old one: a
    write acknowledged there by 1 of the 2 replicas is lost when that
    replica is moved to the new primary. Only ``wait_for_replicas`` equal to
    the replica count (2) loses nothing; the loss at 1 is reported
    (docs/reliability.md, "Partitions")."""
    rng = random.Random(int(os.environ.get("PARTITION_SEED", "7")))
    tally = await partitions(
        sentinel_lab,
        sentinel_saver(sentinel_lab),
        lambda state: flapping_round(sentinel_lab, state, 4, rng),
    )
    check(tally, "Sentinel, flapping link", strict=(2,))
