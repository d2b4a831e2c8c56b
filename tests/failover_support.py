"""Replicated topologies whose primaries the failover tests kill.

:class:`SentinelTopology`: a primary, two replicas and three Sentinels
(quorum 2). :class:`ClusterTopology`: three primaries with one replica each.
Every process is a ``tools/redis_server.py`` object, started on a free port
and stopped by its own pid. A primary is killed with ``SIGKILL``
(``kill -9``); once a replica has taken over, the killed server is started
again on its port, empty, and rejoins as a replica (Sentinel reconfigures
it; a cluster node learns it from its ``nodes.conf``).

Plain, synchronous process management shared by the async and the
generated sync tests (``tests/_async/test_failover.py``).
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from typing import Any

import redis

from redis_server import RedisServer, SentinelServer

SERVICE = "failover"
DOWN_AFTER_MS = 500
"""Sentinel ``down-after-milliseconds`` and ``cluster-node-timeout`` (ms)."""
FAILOVER_TIMEOUT_MS = 2000
"""Sentinel ``failover-timeout`` (ms)."""
SETTLE_TIMEOUT = 75.0
"""Seconds a topology may take to promote a replica or to heal. A Sentinel
whose timer is late by more than 2 s (a loaded CI machine) enters TILT mode
and does nothing for 30 s; this bound outlasts two such episodes."""
SLOT_RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]


Node = int | tuple[str, int]
"""A server: its port on 127.0.0.1, or ``(host, port)``."""


def _client(node: Node) -> redis.Redis:
    host, port = node if isinstance(node, tuple) else ("127.0.0.1", node)
    return redis.Redis(
        host=host, port=port, socket_timeout=1.0, socket_connect_timeout=1.0
    )


def _call(node: Node, *args: Any) -> Any:
    """One command on a server; ``None`` when it does not answer."""
    client = _client(node)
    try:
        return client.execute_command(*args)
    except redis.RedisError:
        return None
    finally:
        client.close()


def _info(node: Node) -> dict[str, Any]:
    client = _client(node)
    try:
        return dict(client.info("replication"))
    except redis.RedisError:
        return {}
    finally:
        client.close()


def _wait_for(
    condition: Any,
    what: str,
    timeout: float = SETTLE_TIMEOUT,
    describe: Any = None,
) -> None:
    """Poll ``condition`` until true; after ``timeout`` s fail with ``what``
    and, if given, ``describe()`` (the topology as its processes see it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            state = f"\n{describe()}" if describe is not None else ""
            raise AssertionError(f"not within {timeout:.0f} s: {what}{state}")
        time.sleep(0.05)


def _roles(ports: Any) -> str:
    """``port: role`` of each server (``down`` when it does not answer)."""
    return ", ".join(f"{p}: {_info(p).get('role', 'down')}" for p in ports)


def _log_tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


def _synced(primary: Node, replicas: int) -> bool:
    """Whether ``primary`` is a primary with ``replicas`` online replicas that
    have all it has."""
    info = _info(primary)
    if info.get("role") != "master" or info.get("connected_slaves") != replicas:
        return False
    offset = info.get("master_repl_offset")
    slaves = [info[f"slave{i}"] for i in range(replicas) if f"slave{i}" in info]
    return len(slaves) == replicas and all(
        s.get("state") == "online" and s.get("offset") == offset for s in slaves
    )


class SentinelTopology:
    """A primary, two replicas and three Sentinels watching them (quorum 2)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.servers: dict[int, RedisServer] = {}
        self.sentinels: list[SentinelServer] = []
        self.killed: RedisServer | None = None
        self.failovers = 0
        self._stack = ExitStack()

    def start(self) -> SentinelTopology:
        try:
            primary = self._stack.enter_context(RedisServer(kind=self.kind))
            assert primary.port is not None
            self.servers[primary.port] = primary
            for _ in range(2):
                replica = self._stack.enter_context(
                    RedisServer(
                        kind=self.kind,
                        extra_args=["--replicaof", "127.0.0.1", str(primary.port)],
                    )
                )
                assert replica.port is not None
                self.servers[replica.port] = replica
            _wait_for(lambda: _synced(primary.port or 0, 2), "replicas in sync")
            for _ in range(3):
                self.sentinels.append(
                    self._stack.enter_context(
                        SentinelServer(
                            primary.port,
                            SERVICE,
                            kind=self.kind,
                            quorum=2,
                            down_after_ms=DOWN_AFTER_MS,
                            failover_timeout_ms=FAILOVER_TIMEOUT_MS,
                        )
                    )
                )
            _wait_for(self._sentinels_know_each_other, "sentinels see each other")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stack.close()

    @property
    def url(self) -> str:
        """``redis+sentinel://`` URL naming the three Sentinels."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def _sentinels_know_each_other(self) -> bool:
        for sentinel in self.sentinels:
            assert sentinel.port is not None
            others = _call(sentinel.port, "SENTINEL", "SENTINELS", SERVICE)
            replicas = _call(sentinel.port, "SENTINEL", "REPLICAS", SERVICE)
            if others is None or len(others) != 2 or replicas is None:
                return False
            if len(replicas) != 2:
                return False
        return True

    def primary_port(self) -> int | None:
        """The primary's port as the first Sentinel that answers says."""
        for sentinel in self.sentinels:
            assert sentinel.port is not None
            got = _call(sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            if got:
                return int(got[1])
        return None

    def kill_primary(self) -> None:
        """``kill -9`` the current primary."""
        self.failovers += 1
        port = self.primary_port()
        assert port is not None
        self.killed = self.servers[port]
        self.killed.kill()

    def promoted(self) -> bool:
        """Whether every Sentinel names a live primary other than the killed one."""
        assert self.killed is not None
        for sentinel in self.sentinels:
            assert sentinel.port is not None
            got = _call(sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            if not got or int(got[1]) == self.killed.port:
                return False
        port = self.primary_port()
        return port is not None and _info(port).get("role") == "master"

    def switch_over(self) -> int:
        """``SENTINEL FAILOVER`` (a replica promoted, the primary alive),
        then, as an operator would (Sentinel does it later), make the old
        primary a replica of the new one; wait until every Sentinel names the
        new primary and the old one follows it. The old primary's port."""
        old = self.primary_port()
        assert old is not None and self.sentinels[0].port is not None
        self.failovers += 1
        assert _call(self.sentinels[0].port, "SENTINEL", "FAILOVER", SERVICE)

        def every_sentinel_names_another() -> bool:
            named = set()
            for sentinel in self.sentinels:
                assert sentinel.port is not None
                got = _call(
                    sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE
                )
                named.add(int(got[1]) if got else None)
            return len(named) == 1 and None not in named and old not in named

        _wait_for(every_sentinel_names_another, "a switch-over", describe=self.describe)
        new = self.primary_port()
        _call(old, "REPLICAOF", "127.0.0.1", new)
        _wait_for(
            lambda: _info(old).get("master_link_status") == "up",
            "the old primary follows the new one",
            describe=self.describe,
        )
        return old

    def restart_killed(self) -> None:
        """Start the killed server again on its port (empty: no persistence),
        as a replica of the new primary (as an operator would; Sentinel
        would convert it too, only later)."""
        assert self.killed is not None
        port = self.primary_port()
        assert port is not None
        args = self.killed.extra_args
        if "--replicaof" in args:
            del args[args.index("--replicaof") : args.index("--replicaof") + 3]
        args += ["--replicaof", "127.0.0.1", str(port)]
        self.killed.restart()

    def wait_healthy(self) -> None:
        """Until the primary has both replicas online and in sync."""
        _wait_for(
            lambda: (p := self.primary_port()) is not None and _synced(p, 2),
            "primary with two replicas in sync after the failover",
            describe=self.describe,
        )
        self.killed = None

    def describe(self) -> str:
        """The servers' roles, what each Sentinel names as primary (and
        whether it is in TILT mode), and the end of each Sentinel's log."""
        parts = [f"servers: {_roles(self.servers)}"]
        for sentinel in self.sentinels:
            assert sentinel.port is not None
            named = _call(sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            info = _call(sentinel.port, "INFO", "sentinel") or b""
            text = info.decode() if isinstance(info, bytes) else str(info)
            tilt = "sentinel_tilt:1" in text
            log = os.path.join(sentinel.dir or "", "sentinel.log")
            parts.append(
                f"sentinel {sentinel.port}: primary {named!r}, tilt {tilt}\n"
                + _log_tail(log)
            )
        return "\n".join(parts)


class ClusterTopology:
    """Three primaries with one replica each (``--cluster-enabled yes``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.servers: dict[int, RedisServer] = {}
        self.killed: RedisServer | None = None
        self.killed_shard: int | None = None
        self.failovers = 0
        self._stack = ExitStack()

    def _node(self) -> RedisServer:
        server = self._stack.enter_context(
            RedisServer(
                kind=self.kind,
                extra_args=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(DOWN_AFTER_MS * 2),
                    "--cluster-replica-validity-factor",
                    "0",
                ],
            )
        )
        assert server.port is not None
        self.servers[server.port] = server
        return server

    def start(self) -> ClusterTopology:
        try:
            primaries = [self._node() for _ in SLOT_RANGES]
            replicas = [self._node() for _ in SLOT_RANGES]
            ports = [s.port or 0 for s in primaries + replicas]
            for server, (first, last) in zip(primaries, SLOT_RANGES, strict=True):
                _call(server.port or 0, "CLUSTER", "ADDSLOTS", *range(first, last + 1))
            for port in ports[1:]:
                _call(port, "CLUSTER", "MEET", "127.0.0.1", ports[0])
            _wait_for(
                lambda: all(self._knows_all(p) for p in ports), "nodes meet each other"
            )
            for primary, replica in zip(primaries, replicas, strict=True):
                node_id = _call(primary.port or 0, "CLUSTER", "MYID")
                assert node_id is not None
                _wait_for(
                    lambda r=replica, n=node_id: (
                        _call(r.port or 0, "CLUSTER", "REPLICATE", n) is not None
                    ),
                    "CLUSTER REPLICATE accepted",
                )
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stack.close()

    def _knows_all(self, port: int) -> bool:
        nodes = _call(port, "CLUSTER", "NODES")
        if nodes is None:
            return False
        text = nodes.decode() if isinstance(nodes, bytes) else str(nodes)
        lines = [line for line in text.splitlines() if line.strip()]
        return len(lines) == len(self.servers) and "handshake" not in text

    @property
    def startup_port(self) -> int:
        """A live node's port, to make a cluster client from."""
        for port, server in self.servers.items():
            if server.running:
                return port
        raise AssertionError("no live cluster node")

    def _shards(self) -> list[tuple[int, list[int]]]:
        """``(primary port, replica ports)`` for each slot range, from a live node."""
        slots = _call(self.startup_port, "CLUSTER", "SLOTS")
        assert slots is not None
        shards = []
        for first, _ in SLOT_RANGES:
            for entry in slots:
                if int(entry[0]) == first:
                    shards.append(
                        (int(entry[2][1]), [int(node[1]) for node in entry[3:]])
                    )
        return shards

    def kill_primary(self) -> None:
        """``kill -9`` the primary of the next slot range (in turn)."""
        shard = self.failovers % len(SLOT_RANGES)
        self.failovers += 1
        port = self._shards()[shard][0]
        self.killed = self.servers[port]
        self.killed_shard = shard
        self.killed.kill()

    def promoted(self) -> bool:
        """Whether the killed primary's slots have a live primary again."""
        assert self.killed is not None and self.killed_shard is not None
        try:
            shards = self._shards()
        except (AssertionError, IndexError):
            return False
        if len(shards) != len(SLOT_RANGES):
            return False
        port = shards[self.killed_shard][0]
        return port != self.killed.port and _info(port).get("role") == "master"

    def describe(self) -> str:
        """Each node's role and cluster state, and the slot map."""
        states = []
        for port in self.servers:
            info = _call(port, "CLUSTER", "INFO") or b""
            text = info.decode() if isinstance(info, bytes) else str(info)
            state = next(
                (ln for ln in text.splitlines() if ln.startswith("cluster_state")),
                "down",
            )
            states.append(f"{port}: {state.strip()}")
        try:
            shards = str(self._shards())
        except (AssertionError, IndexError):
            shards = "(no live node answers CLUSTER SLOTS)"
        return (
            f"servers: {_roles(self.servers)}\nstates: {', '.join(states)}\n"
            f"shards (primary, replicas): {shards}"
        )

    def restart_killed(self) -> None:
        """Start the killed node again on its port: it rejoins as a replica."""
        assert self.killed is not None
        self.killed.restart()

    def wait_healthy(self) -> None:
        """Until every node says ``cluster_state:ok`` and each primary has
        its replica online and in sync."""

        def healthy() -> bool:
            for port in self.servers:
                info = _call(port, "CLUSTER", "INFO")
                if info is None:
                    return False
                text = info.decode() if isinstance(info, bytes) else str(info)
                if "cluster_state:ok" not in text:
                    return False
            shards = self._shards()
            return len(shards) == len(SLOT_RANGES) and all(
                len(replicas) == 1 and _synced(primary, 1)
                for primary, replicas in shards
            )

        _wait_for(
            healthy,
            "cluster ok, each primary with its replica in sync",
            describe=self.describe,
        )
        self.killed = None
        self.killed_shard = None
