"""Replicated topologies whose links the partition tests cut.

Every Redis and Sentinel process runs in a network namespace of its own
(:class:`netns_support.Lab`), so that a primary can be cut off from its
replicas and Sentinels (or from the other cluster primaries) while the
test's savers, in the root namespace, still reach it, as clients on the
primary's side of a partition do. :class:`SentinelLab`: a primary, two
replicas, three Sentinels (quorum 2). :class:`ClusterLab`: three primaries
with a replica each. Plain synchronous process management, shared by the
async and the generated sync tests (``tests/_async/test_partitions.py``);
the tests run :func:`partition_round` and :func:`flapping_round` in a thread
of their own beside the writers.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from redis_server import SENTINEL_PORT, RedisServer, SentinelServer
from tests.failover_support import SETTLE_TIMEOUT, _call, _info, _synced, _wait_for
from tests.netns_support import Host, Lab

SERVICE = "partition"
PORT = 6379
DOWN_AFTER_MS = 1000
"""Sentinel ``down-after-milliseconds``; ``cluster-node-timeout`` is the same."""
FAILOVER_TIMEOUT_MS = 3000
SLOT_RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]
Address = tuple[str, int]


@dataclass
class Round:
    """What the writers and the partition share during one round."""

    stop: bool = False
    cut_at: float | None = None
    promoted_at: float | None = None
    healed_at: float | None = None
    old_primary: Address | None = None
    shard: int | None = None
    """The cluster slot range whose primary was cut off (Sentinel: None)."""
    events: list[str] = field(default_factory=list)


class _Topology:
    lab: Lab
    kind: str
    server_args: list[str]

    def __init__(self, kind: str, server_args: list[str] | None = None) -> None:
        self.kind = kind
        self.server_args = list(server_args or [])
        self.lab = Lab()
        self.servers: dict[Address, tuple[Host, RedisServer]] = {}

    def _server(self, extra_args: list[str]) -> Address:
        host = self.lab.add_host()
        server = RedisServer(
            kind=self.kind,
            host=host.address,
            port=PORT,
            netns=host.netns,
            extra_args=self.server_args + extra_args,
        )
        self.lab.on_close(server.stop)
        server.start()
        address = (host.address, PORT)
        self.servers[address] = (host, server)
        return address

    def host(self, address: Address) -> Host:
        return self.servers[address][0]

    def stop(self) -> None:
        """Stop every process and remove the lab (namespaces, links, routes)."""
        self.lab.close()
        assert self.lab.leftovers() == [], self.lab.leftovers()

    def roles(self) -> str:
        return ", ".join(
            f"{addr[0]}: {_info(addr).get('role', 'down')}" for addr in self.servers
        )


class SentinelLab(_Topology):
    """A primary, two replicas and three Sentinels (quorum 2), each in a
    namespace of its own."""

    def start(self) -> SentinelLab:
        try:
            primary = self._server([])
            for _ in range(2):
                self._server(["--replicaof", primary[0], str(PORT)])
            _wait_for(lambda: _synced(primary, 2), "replicas in sync")
            self.sentinels: list[Address] = []
            for _ in range(3):
                host = self.lab.add_host()
                sentinel = SentinelServer(
                    PORT,
                    SERVICE,
                    kind=self.kind,
                    quorum=2,
                    down_after_ms=DOWN_AFTER_MS,
                    failover_timeout_ms=FAILOVER_TIMEOUT_MS,
                    host=host.address,
                    primary_host=primary[0],
                    netns=host.netns,
                )
                self.lab.on_close(sentinel.stop)
                sentinel.start()
                self.sentinels.append((host.address, SENTINEL_PORT))
            self.sentinel_hosts = [self.lab.hosts[-3 + i] for i in range(3)]
            _wait_for(self._sentinels_know_each_other, "sentinels see each other")
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def url(self) -> str:
        """``redis+sentinel://`` URL naming the three Sentinels."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def _sentinels_know_each_other(self) -> bool:
        for sentinel in self.sentinels:
            others = _call(sentinel, "SENTINEL", "SENTINELS", SERVICE)
            replicas = _call(sentinel, "SENTINEL", "REPLICAS", SERVICE)
            if not others or len(others) != 2 or not replicas or len(replicas) != 2:
                return False
        return True

    def named(self) -> list[Address | None]:
        """The primary each Sentinel names (``None``: no answer)."""
        named: list[Address | None] = []
        for sentinel in self.sentinels:
            got = _call(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            named.append((got[0].decode(), int(got[1])) if got else None)
        return named

    def primary(self) -> Address:
        """The primary all Sentinels name and that says it is one."""
        found: list[Address] = []

        def agreed() -> bool:
            named = set(self.named())
            if len(named) != 1 or None in named:
                return False
            (address,) = named
            assert address is not None
            found[:] = [address]
            return _info(address).get("role") == "master"

        _wait_for(agreed, "the Sentinels agree on a primary", describe=self.describe)
        return found[0]

    def cut_primary(self) -> Address:
        """Cut the primary off from the replicas and the Sentinels."""
        primary = self.primary()
        others = [h for a, (h, _) in self.servers.items() if a != primary]
        self.lab.cut([self.host(primary)], others + self.sentinel_hosts)
        return primary

    def promoted(self, old: Address) -> bool:
        """Whether a Sentinel names another primary that says it is one."""
        return any(
            a is not None and a != old and _info(a).get("role") == "master"
            for a in self.named()
        )

    def healthy(self) -> bool:
        """One primary named by all, two replicas online and in sync."""
        named = set(self.named())
        if len(named) != 1 or None in named:
            return False
        (address,) = named
        return address is not None and _synced(address, 2)

    def settled(self) -> bool:
        """One primary named by all, its two replicas online (under load
        they are never seen in sync)."""
        named = set(self.named())
        if len(named) != 1 or None in named:
            return False
        (address,) = named
        info = _info(address) if address is not None else {}
        online = [info.get(f"slave{i}", {}).get("state") == "online" for i in (0, 1)]
        return info.get("role") == "master" and all(online)

    def describe(self) -> str:
        return f"servers: {self.roles()}\nsentinels name: {self.named()}"


class ClusterLab(_Topology):
    """Three primaries with one replica each, each in a namespace of its own."""

    def _node(self) -> Address:
        return self._server(
            [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                str(DOWN_AFTER_MS),
                "--cluster-replica-validity-factor",
                "0",
            ]
        )

    def start(self) -> ClusterLab:
        try:
            primaries = [self._node() for _ in SLOT_RANGES]
            replicas = [self._node() for _ in SLOT_RANGES]
            for node, (first, last) in zip(primaries, SLOT_RANGES, strict=True):
                _call(node, "CLUSTER", "ADDSLOTS", *range(first, last + 1))
            for node in primaries[1:] + replicas:
                _call(node, "CLUSTER", "MEET", primaries[0][0], PORT)
            _wait_for(
                lambda: all(self._knows_all(n) for n in self.servers),
                "nodes meet each other",
            )
            for primary, replica in zip(primaries, replicas, strict=True):
                node_id = _call(primary, "CLUSTER", "MYID")
                _wait_for(
                    lambda r=replica, n=node_id: (
                        _call(r, "CLUSTER", "REPLICATE", n) is not None
                    ),
                    "CLUSTER REPLICATE accepted",
                )
            _wait_for(self.healthy, "cluster ok", describe=self.describe)
        except BaseException:
            self.stop()
            raise
        return self

    def _knows_all(self, node: Address) -> bool:
        nodes = _call(node, "CLUSTER", "NODES")
        if nodes is None:
            return False
        text = nodes.decode() if isinstance(nodes, bytes) else str(nodes)
        lines = [line for line in text.splitlines() if line.strip()]
        return len(lines) == len(self.servers) and "handshake" not in text

    def shards(
        self, asked: Address | None = None
    ) -> list[tuple[Address, list[Address]]]:
        """``(primary, replicas)`` of each slot range, as ``asked`` (or the
        first node that answers) sees them."""
        for node in [asked] if asked else list(self.servers):
            slots = _call(node, "CLUSTER", "SLOTS")
            if not slots:
                continue
            shards = []
            for first, _ in SLOT_RANGES:
                for entry in slots:
                    if int(entry[0]) == first:
                        shards.append(
                            (
                                (entry[2][0].decode(), int(entry[2][1])),
                                [(n[0].decode(), int(n[1])) for n in entry[3:]],
                            )
                        )
            return shards
        return []

    def cut_primary(self, shard: int) -> Address:
        """Cut the primary of slot range ``shard`` off from every other node."""
        primary = self.shards()[shard][0]
        others = [h for a, (h, _) in self.servers.items() if a != primary]
        self.lab.cut([self.host(primary)], others)
        return primary

    def promoted(self, old: Address, shard: int) -> bool:
        """Whether the other nodes give slot range ``shard`` a new primary."""
        asked = next(a for a in self.servers if a != old)
        shards = self.shards(asked)
        if len(shards) != len(SLOT_RANGES):
            return False
        new = shards[shard][0]
        return new != old and _info(new).get("role") == "master"

    def healthy(self) -> bool:
        """Every node ``cluster_state:ok``, each primary with its replica in sync."""
        for node in self.servers:
            info = _call(node, "CLUSTER", "INFO")
            if info is None or b"cluster_state:ok" not in info:
                return False
        shards = self.shards()
        return len(shards) == len(SLOT_RANGES) and all(
            len(replicas) == 1 and _synced(primary, 1) for primary, replicas in shards
        )

    def describe(self) -> str:
        return f"servers: {self.roles()}\nshards: {self.shards()}"


def rejoined(old: Address) -> bool:
    """Whether ``old`` is a replica now, its link to its primary up."""
    info = _info(old)
    return info.get("role") == "slave" and info.get("master_link_status") == "up"


def partition_round(topology: Any, state: Round, cut_for: float, load: float) -> None:
    """One partition under load: cut the primary off (a cluster: the next
    slot range's) for ``cut_for`` s after a replica is promoted, heal, and
    wait until the old primary has rejoined as a replica and the topology is
    healthy; ``load`` s of writes before the cut and after. Sets ``state``'s
    times; ``state.stop`` at the end, whatever happens."""
    try:
        time.sleep(load)
        if isinstance(topology, ClusterLab):
            old = topology.cut_primary(state.shard or 0)
            promoted: Any = lambda: topology.promoted(old, state.shard or 0)  # noqa: E731
        else:
            old = topology.cut_primary()
            promoted = lambda: topology.promoted(old)  # noqa: E731
        state.old_primary, state.cut_at = old, time.monotonic()
        _wait_for(promoted, "a replica promoted", describe=topology.describe)
        state.promoted_at = time.monotonic()
        time.sleep(cut_for)
        topology.lab.heal()
        state.healed_at = time.monotonic()
        _wait_for(
            lambda: rejoined(old),
            "the old primary rejoined as a replica",
            timeout=SETTLE_TIMEOUT,
            describe=topology.describe,
        )
        state.events.append(
            f"rejoined {time.monotonic() - state.healed_at:.1f} s after the heal"
        )
        time.sleep(load)
    finally:
        topology.lab.heal()
        state.stop = True


def flapping_round(
    topology: SentinelLab, state: Round, flaps: int, rng: random.Random
) -> None:
    """The primary's link flaps ``flaps`` times: cut for 0.3-2.5 s (some
    cuts outlast ``down-after-milliseconds``, some do not), healed for
    0.3-1.5 s; then wait until the topology is healthy."""
    try:
        time.sleep(0.5)
        state.cut_at = time.monotonic()
        for _ in range(flaps):
            cut = topology.cut_primary()
            down = rng.uniform(0.3, 2.5)
            time.sleep(down)
            topology.lab.heal()
            state.events.append(f"{cut[0]} cut {down:.1f} s")
            time.sleep(rng.uniform(0.3, 1.5))
        state.healed_at = time.monotonic()
        _wait_for(
            topology.settled, "settled after the flaps", describe=topology.describe
        )
        time.sleep(0.5)
    finally:
        topology.lab.heal()
        state.stop = True
