# This file is generated from tests/_async/test_faults.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""Faults: a killed server, dropped connections, timeouts, refused writes.

Every scenario runs real saver operations against a dedicated server (never
the session's one) while real faults are injected, and reads the thread back
after every failure. The contract checked each time:

- an operation either completes or raises ``StorageError`` naming the
  operation and the thread, with the redis-py error as ``__cause__``;
- ``get_tuple`` then returns the previous checkpoint with its own writes or
  the new one with its own, never a mix: every checkpoint carries its own id
  as channel value and metadata, and every pending write carries the id of
  the checkpoint it was written for, so a mix cannot go unnoticed.

The counters (faults injected, operations attempted, errors surfaced, states
verified) are printed per scenario (``pytest -s``) and recorded in
``docs/reliability.md``.
"""

from __future__ import annotations

import itertools
import logging
import operator
import random
import threading
from collections.abc import Iterator
from functools import partial
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import (
    ConnectionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TimeoutError,
)
from typing_extensions import TypedDict

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from langgraph.checkpoint.redis_shallow.errors import StorageError
from redis_server import RedisServer
from tests._io_sync import Redis, Retry, gather, sleep
from tests.builders import cfg, chain_graph, saver_prefixes

N_OPS = 1000  # operations per randomized scenario
N_WORKERS = 4  # threads of the graph, one worker each
N_WRITES = 3  # pending writes per checkpoint (one put_writes call)
LARGE_PAD = 100_000  # bytes of a large channel value

SUMMARY: dict[str, dict[str, int]] = {}


def refused_in_script(
    cause: BaseException | None,
    error: type[ResponseError],
    code: str,
    server: RedisServer,
) -> bool:
    """Whether ``cause`` is the server's ``code`` refusal (READONLY, OOM) of
    a write, in a plain command or inside one of the saver's scripts.

    Redis 7+ and Valkey reply with the refused command's own error, which
    redis-py maps to ``error``, for both. Redis 6.2 replies ``Error running script
    (call to f_...): @user_script:N: -READONLY ...``, which redis-py can only
    map to a plain ``ResponseError``; the refusal is the same (a script is
    refused at its first write, before it changed anything).
    """
    if isinstance(cause, error):
        return True
    if int(server.version().split(".")[0]) >= 7:
        return False
    return (
        isinstance(cause, ResponseError)
        and str(cause).startswith("Error running script")
        and f"-{code} " in str(cause)
    )


# -- fixtures ----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(plain_kind: str) -> Iterator[RedisServer]:
    """A dedicated server (the session's binary) with an fsync-always AOF, so
    a SIGKILL loses nothing it acknowledged (data survive the restart)."""
    with RedisServer(
        kind=plain_kind,
        extra_args=["--appendonly", "yes", "--appendfsync", "always"],
    ) as srv:
        yield srv
    for name, counts in SUMMARY.items():
        print(f"\n[faults] {name}: {counts}")


@pytest.fixture
def admin(server: RedisServer) -> Iterator[Redis]:
    """A second client of the dedicated server, to inject faults; puts the
    server back in order after the test."""
    if not server.running:
        server.restart()
    client = Redis.from_url(server.url)
    yield client
    if not server.running:
        server.restart()
        client.close()
        client = Redis.from_url(server.url)
    client.execute_command("CLIENT", "UNPAUSE")
    client.config_set("maxmemory", 0)
    client.close()


def saver_for(url: str, prefix: str, **kwargs: Any) -> ShallowRedisSaver:
    """A saver on ``url``; without retries unless ``connection_args`` says
    otherwise, so that every injected fault reaches the caller."""
    connection_args = dict(kwargs.pop("connection_args", {}))
    connection_args.setdefault("retry", Retry(NoBackoff(), 0))
    return ShallowRedisSaver(
        url,
        **saver_prefixes(prefix),
        connection_args=connection_args,
        **kwargs,
    )


# -- the model of what may be stored -----------------------------------------


class Stats:
    """Counters of one scenario (shared by its workers)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.causes: list[str] = []  # the redis-py errors behind failures
        self.counts = {
            "faults_injected": 0,
            "ops_attempted": 0,
            "ops_failed": 0,
            "states_verified": 0,
        }

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


class Budget:
    """A fixed number of operations shared by the workers."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._taken = itertools.count()
        self.taken = 0

    def take(self) -> bool:
        n = next(self._taken)  # atomic
        self.taken = max(self.taken, n + 1)
        return n < self.total

    @property
    def exhausted(self) -> bool:
        return self.taken >= self.total

    def finish(self) -> None:
        """End the run: no operation starts after this."""
        self.total = 0


class Ledger:
    """What one thread may hold: the checkpoint known to be stored, plus the
    ones whose ``put`` failed since (each may or may not have been applied)."""

    def __init__(self, thread_id: str, pad: int = 0) -> None:
        self.thread_id = thread_id
        self.pad = pad  # > 0: each checkpoint also sends a value this large
        self.stored: str | None = None
        self.maybe: list[str] = []
        self.full_writes: set[str] = set()  # ids whose put_writes succeeded
        self.step = 0

    @property
    def config(self) -> dict[str, Any]:
        return cfg(self.thread_id)

    def put_config(self) -> dict[str, Any]:
        conf = self.config
        if self.stored is not None:
            conf["configurable"]["checkpoint_id"] = self.stored
        return conf

    def values(self, cid: str) -> dict[str, Any]:
        """The channel values of checkpoint ``cid``."""
        values: dict[str, Any] = {"step": cid, "const": "c"}
        if self.pad:
            values["pad"] = "x" * self.pad + cid
        return values

    def check(self, tup: Any) -> None:
        """Assert ``tup`` is one whole checkpoint that may be stored, with
        exactly its own writes; then it is the known state."""
        if tup is None:
            assert self.stored is None, f"{self.thread_id}: stored checkpoint lost"
            return
        cid = tup.checkpoint["id"]
        assert cid == self.stored or cid in self.maybe, (
            f"{self.thread_id}: {cid} was never written after {self.stored}"
        )
        assert tup.checkpoint["channel_values"] == self.values(cid)
        assert tup.metadata["cid"] == cid
        values = [v for _, _, v in tup.pending_writes]
        assert values == [cid] * len(values), f"writes of another checkpoint: {values}"
        assert len(values) in (0, N_WRITES), f"partial writes: {values}"
        if cid in self.full_writes:
            assert len(values) == N_WRITES
        self.stored = cid
        self.maybe = []


def make_checkpoint(ledger: Ledger) -> tuple[dict[str, Any], dict[str, Any]]:
    """The next checkpoint of the ledger's thread and its ``new_versions``."""
    ledger.step += 1
    cp: dict[str, Any] = dict(empty_checkpoint())
    cp["channel_values"] = ledger.values(cp["id"])
    cp["channel_versions"] = {"step": ledger.step, "const": 1}
    if ledger.pad:  # a large value, sent with every put
        cp["channel_versions"]["pad"] = ledger.step
    # "const" is sent once; later puts rely on the stored value
    versions = dict(cp["channel_versions"])
    if ledger.stored is not None:
        del versions["const"]
    return cp, versions


def check_error(err: StorageError, operation: str, thread_id: str) -> None:
    """The documented shape of a storage failure."""
    assert err.operation == operation
    assert err.thread_id == thread_id
    assert operation in str(err) and repr(thread_id) in str(err)
    assert isinstance(err.__cause__, RedisError)


def verify(
    saver: ShallowRedisSaver, ledger: Ledger, stats: Stats, patience: float = 10
) -> None:
    """Read the thread back (waiting while the server is unavailable) and
    check what it holds."""
    waited = 0.0
    while True:
        try:
            tup = saver.get_tuple(ledger.config)
        except StorageError as err:
            check_error(err, "get_tuple", ledger.thread_id)
            assert waited < patience, f"server unavailable for {patience} s"
            sleep(0.02)
            waited += 0.02
            continue
        ledger.check(tup)
        stats.add("states_verified")
        return


def attempt(stats: Stats, ledger: Ledger, operation: str, call: Any) -> bool:
    """Run one operation; True if it completed, False if it raised the
    documented ``StorageError`` (anything else fails the test)."""
    stats.add("ops_attempted")
    try:
        call()
    except StorageError as err:
        check_error(err, operation, ledger.thread_id)
        stats.add("ops_failed")
        stats.causes.append(
            f"{operation}: {type(err.__cause__).__name__}: {err.__cause__}"
        )
        return False
    return True


def drive(
    saver: ShallowRedisSaver, ledger: Ledger, budget: Budget, stats: Stats
) -> None:
    """One worker: put, put_writes, get_tuple, over and over, verifying the
    thread after every failure."""
    while True:
        if not budget.take():
            break
        cp, versions = make_checkpoint(ledger)
        cid = cp["id"]
        meta = {"source": "loop", "step": ledger.step, "cid": cid}
        config = ledger.put_config()
        ok = attempt(
            stats, ledger, "put", partial(saver.put, config, cp, meta, versions)
        )
        if ok:
            ledger.stored, ledger.maybe = cid, []
        else:
            ledger.maybe.append(cid)
            verify(saver, ledger, stats)
            if ledger.stored != cid:
                continue
        if not budget.take():
            break
        stored = {
            "configurable": {**ledger.config["configurable"], "checkpoint_id": cid}
        }
        writes = [(f"ch{i}", cid) for i in range(N_WRITES)]
        ok = attempt(
            stats,
            ledger,
            "put_writes",
            partial(saver.put_writes, stored, writes, f"task-{ledger.step}"),
        )
        if ok:
            ledger.full_writes.add(cid)
        else:
            verify(saver, ledger, stats)
            continue
        if not budget.take():
            break
        stats.add("ops_attempted")
        try:
            tup = saver.get_tuple(ledger.config)
        except StorageError as err:
            check_error(err, "get_tuple", ledger.thread_id)
            stats.add("ops_failed")
            stats.causes.append(
                f"aget_tuple: {type(err.__cause__).__name__}: {err.__cause__}"
            )
            verify(saver, ledger, stats)
        else:
            ledger.check(tup)
            stats.add("states_verified")


def run_scenario(
    name: str,
    saver: ShallowRedisSaver,
    inject: Any,
    stats: Stats,
    n_ops: int = N_OPS,
) -> list[Ledger]:
    """``n_ops`` operations by N_WORKERS workers while ``inject(budget)`` runs."""
    saver.setup()
    budget = Budget(n_ops)
    # one worker in four sends a large value with every put
    ledgers = [
        Ledger(f"{name}-{i}", pad=LARGE_PAD if i % 4 == 3 else 0)
        for i in range(N_WORKERS)
    ]
    workers = [
        (lambda ledger=ledger: drive(saver, ledger, budget, stats))
        for ledger in ledgers
    ]
    gather(*workers, lambda: inject(budget))
    for ledger in ledgers:  # the final state, once the faults are over
        verify(saver, ledger, stats)
        assert ledger.stored is not None
    SUMMARY[name] = dict(stats.counts)
    return ledgers


def wait_for(budget: Budget, point: int) -> bool:
    """Wait until ``point`` operations were taken; False if the run ended."""
    while budget.taken < point:
        if budget.exhausted:
            return False
        sleep(0.002)
    return True


# -- randomized scenarios: 1,000 operations each -------------------------------


def test_server_killed_and_restarted(server: RedisServer, admin: Redis, prefix: str):
    """SIGKILL the server at three random points; restart it on its port."""
    rng = random.Random(5)
    stats = Stats()
    saver = saver_for(server.url, prefix)

    def inject(budget: Budget) -> None:
        for point in sorted(rng.sample(range(50, N_OPS - 100), 3)):
            if not wait_for(budget, point):
                return
            server.kill()
            stats.add("faults_injected")
            sleep(0.15)
            server.restart()

    run_scenario("server killed and restarted", saver, inject, stats)
    assert stats.counts["faults_injected"] == 3
    assert stats.counts["ops_failed"] > 0
    saver.close()


def test_connections_killed(server: RedisServer, admin: Redis, prefix: str):
    """``CLIENT KILL`` every connection of the saver at random points."""
    rng = random.Random(6)
    stats = Stats()
    saver = saver_for(server.url, prefix)

    def inject(budget: Budget) -> None:
        for point in sorted(rng.sample(range(10, N_OPS - 10), 40)):
            if not wait_for(budget, point):
                return
            admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            stats.add("faults_injected")

    run_scenario("connections killed", saver, inject, stats)
    assert stats.counts["faults_injected"] == 40
    saver.close()


#: The last command of a connection that redis-py's pool is still setting
#: up (``client`` is ``CLIENT SETINFO`` on Redis 6.2, ``NULL`` none yet).
HANDSHAKE_COMMANDS = {"NULL", "hello", "auth", "select", "client", "client|setinfo"}


def kill_established(admin: Redis) -> int:
    """``CLIENT KILL`` every normal connection but ``admin``'s that has sent
    a command of its own; return how many."""
    me = admin.client_id()
    established = [
        c["id"]
        for c in admin.client_list(_type="normal")
        if int(c["id"]) != me and c["cmd"] not in HANDSHAKE_COMMANDS
    ]
    for client_id in established:
        admin.execute_command("CLIENT", "KILL", "ID", client_id)
    return len(established)


def test_connections_killed_with_retry_surface_no_error(
    server: RedisServer, admin: Redis, prefix: str
):
    """The same drops on a saver created with redis-py's ``Retry``: every
    call is sent again on a new connection and no error reaches the caller
    (the scripts are idempotent, so a resent call is harmless).

    Only connections past their handshake are dropped, 100 ms apart:
    ``Retry`` covers the command, not the pool's checkout, and a connection
    dropped while the pool is replacing a dropped one (its ``CLIENT SETINFO``
    handshake, or the ``can_read`` check after it) raises from the checkout,
    unretried. That is redis-py's pools (every release from 6.0 to 8.2): seen
    about once per 70 drops at 10-20 ms intervals, at 40 ms on a machine
    loaded to 4-5x its cores, and once in a CI run at 100 ms with
    ``TYPE normal``, on the threads of the sync variant."""
    stats = Stats()
    saver = saver_for(
        server.url, prefix, connection_args={"retry": Retry(ExponentialBackoff(), 3)}
    )

    def inject(budget: Budget) -> None:
        wait_for(budget, 10)
        drops = 0
        while drops < 25:
            killed = kill_established(admin)
            drops += killed > 0
            stats.add("faults_injected", killed)
            sleep(0.1 if killed else 0.01)
        budget.finish()

    run_scenario("connections killed, with Retry", saver, inject, stats, 10**6)
    assert stats.counts["faults_injected"] >= 25  # connections killed in 25 drops
    assert stats.counts["ops_failed"] == 0, stats.causes
    saver.close()


def test_commands_time_out(server: RedisServer, admin: Redis, prefix: str):
    """``CLIENT PAUSE`` the server for longer than the saver's socket timeout."""
    rng = random.Random(7)
    stats = Stats()
    saver = saver_for(server.url, prefix, connection_args={"socket_timeout": 0.05})

    def inject(budget: Budget) -> None:
        for point in sorted(rng.sample(range(10, N_OPS - 50), 10)):
            if not wait_for(budget, point):
                return
            admin.execute_command("CLIENT", "PAUSE", 150, "WRITE")
            stats.add("faults_injected")
            sleep(0.2)

    run_scenario("commands time out", saver, inject, stats)
    assert stats.counts["ops_failed"] > 0
    saver.close()


def test_writes_refused_out_of_memory(server: RedisServer, admin: Redis, prefix: str):
    """``maxmemory`` reached with ``noeviction``: writes get ``OOM``."""
    rng = random.Random(8)
    stats = Stats()
    saver = saver_for(server.url, prefix)
    admin.config_set("maxmemory-policy", "noeviction")

    def inject(budget: Budget) -> None:
        for point in sorted(rng.sample(range(10, N_OPS - 50), 10)):
            if not wait_for(budget, point):
                return
            admin.config_set("maxmemory", 1)
            stats.add("faults_injected")
            sleep(0.03)
            admin.config_set("maxmemory", 0)

    run_scenario("writes refused (OOM)", saver, inject, stats)
    assert stats.counts["ops_failed"] > 0
    saver.close()


# -- deterministic faults: one operation, its connection dropped mid-command ----


def kill_parked(admin: Redis, stats: Stats) -> None:
    """Wait until a write of the saver (a script, or the PEXPIREs of a read
    that refreshes TTLs) is parked by ``CLIENT PAUSE``, kill its connection,
    then end the pause."""
    me = admin.client_id()
    for _ in range(2000):
        parked = [
            c
            for c in admin.client_list()
            if "b" in c.get("flags", "") and int(c["id"]) != me
        ]
        if parked:
            for c in parked:
                admin.execute_command("CLIENT", "KILL", "ID", c["id"])
                stats.add("faults_injected")
            break
        sleep(0.002)
    else:
        raise AssertionError("the saver's command never reached the server")
    sleep(0.05)
    admin.execute_command("CLIENT", "UNPAUSE")


@pytest.mark.parametrize(
    "retry", [False, True, "default"], ids=["no-retry", "retry", "default"]
)
@pytest.mark.parametrize("operation", ["put", "aput_large", "put_writes", "get_tuple"])
def test_connection_dropped_mid_command(
    server: RedisServer,
    admin: Redis,
    prefix: str,
    operation: str,
    retry: Any,
    caplog: pytest.LogCaptureFixture,
):
    """The connection is killed while the command waits in the server.

    Without retries the call raises ``StorageError``; with redis-py's
    ``Retry`` it is sent again on a new connection and completes, no error
    surfacing (every script of the saver is idempotent). Either way the
    thread holds one whole checkpoint with its own writes. The saver's
    default retry logs the retry to the package's logger; a ``Retry`` of
    the caller's is not logged.
    """
    caplog.set_level(logging.WARNING, logger="langgraph.checkpoint.redis_shallow")
    stats = Stats()
    args: dict[str, Any] = {}
    if retry is True:
        args["connection_args"] = {"retry": Retry(ExponentialBackoff(), 3)}
    if operation == "get_tuple":
        # a plain read is not parked by CLIENT PAUSE WRITE; one that
        # refreshes TTLs is (its pipeline holds PEXPIREs)
        args["ttl"] = {"default_ttl": 60, "refresh_on_read": True}
    if retry == "default":  # the saver's own default: it retries
        saver = ShallowRedisSaver(
            server.url,
            **saver_prefixes(prefix),
            **args,
        )
    else:
        saver = saver_for(server.url, prefix, **args)
    saver.setup()
    ledger = Ledger(
        "dropped-" + operation, pad=LARGE_PAD if operation == "aput_large" else 0
    )
    if operation == "aput_large":
        operation = "put"
    first, versions = make_checkpoint(ledger)
    saver.put(ledger.config, first, {"cid": first["id"]}, versions)
    ledger.stored = first["id"]
    first_cfg = {
        "configurable": {**ledger.config["configurable"], "checkpoint_id": first["id"]}
    }
    saver.put_writes(
        first_cfg, [(f"ch{i}", first["id"]) for i in range(N_WRITES)], "t1"
    )
    ledger.full_writes.add(first["id"])

    second, versions = make_checkpoint(ledger)
    if operation == "put":
        call = partial(
            saver.put, ledger.put_config(), second, {"cid": second["id"]}, versions
        )
        ledger.maybe.append(second["id"])
    elif operation == "put_writes":
        call = partial(saver.put_writes, first_cfg, [("extra", first["id"])], "t2")
    else:
        call = partial(saver.get_tuple, ledger.config)

    admin.execute_command("CLIENT", "PAUSE", 10000, "WRITE")
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except StorageError as err:
            outcome.append(err)

    gather(run, lambda: kill_parked(admin, stats))
    assert stats.counts["faults_injected"] == 1
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.name == "langgraph.checkpoint.redis_shallow"
    ]
    if retry == "default":
        assert len(logged) == 1 and "retry 1 of 3" in logged[0], logged
        assert "ConnectionError" in logged[0]
    else:
        assert logged == []
    if retry:
        assert not isinstance(outcome[0], StorageError), outcome[0]
    else:
        assert isinstance(outcome[0], StorageError)
        check_error(outcome[0], operation, ledger.thread_id)
        assert isinstance(outcome[0].__cause__, ConnectionError)
    tup = saver.get_tuple(ledger.config)
    if operation == "put_writes":
        # a fourth write of the same checkpoint, applied once or not at all
        extra = [w for w in tup.pending_writes if w[1] == "extra"]
        assert len(extra) == (1 if retry else 0)
        tup.pending_writes[:] = [w for w in tup.pending_writes if w[1] != "extra"]
    ledger.check(tup)
    if operation == "put" and retry:
        assert ledger.stored == second["id"]
    if operation == "get_tuple" and retry:
        assert outcome[0].checkpoint["id"] == first["id"]
    saver.close()


# -- refused writes: a read-only replica ---------------------------------------


def test_read_only_replica(server: RedisServer, admin: Redis, prefix: str):
    """A saver pointed at a replica reads what the primary wrote; its writes
    fail with ``READONLY`` and change nothing; once the replica is promoted
    the same thread takes writes again (it was never poisoned)."""
    primary = saver_for(server.url, prefix)
    primary.setup()
    ledger = Ledger("replica")
    cp, versions = make_checkpoint(ledger)
    primary.put(ledger.config, cp, {"cid": cp["id"]}, versions)
    ledger.stored = cp["id"]
    stored_cfg = {
        "configurable": {**ledger.config["configurable"], "checkpoint_id": cp["id"]}
    }
    primary.put_writes(stored_cfg, [(f"ch{i}", cp["id"]) for i in range(N_WRITES)], "t")
    ledger.full_writes.add(cp["id"])

    admin.config_set("repl-diskless-sync-delay", 0)
    with RedisServer(
        kind=server.kind, extra_args=["--replicaof", "127.0.0.1", str(server.port)]
    ) as replica_server:
        replica_admin = Redis.from_url(replica_server.url)
        for _ in range(500):
            info = replica_admin.info("replication")
            if (
                info.get("master_link_status") == "up"
                and replica_admin.dbsize() == admin.dbsize()
            ):
                break
            sleep(0.02)
        replica = saver_for(replica_server.url, prefix)
        replica.setup()
        stats = Stats()
        ledger.check(replica.get_tuple(ledger.config))

        new, versions = make_checkpoint(ledger)
        calls = {
            "put": lambda: replica.put(
                ledger.put_config(), new, {"cid": new["id"]}, versions
            ),
            "put_writes": lambda: replica.put_writes(
                stored_cfg, [("x", cp["id"])], "t2"
            ),
            "delete_thread": lambda: replica.delete_thread(ledger.thread_id),
        }
        for operation, call in calls.items():
            stats.add("ops_attempted")
            with pytest.raises(StorageError) as info:
                call()
            stats.add("faults_injected")
            stats.add("ops_failed")
            check_error(info.value, operation, ledger.thread_id)
            assert refused_in_script(
                info.value.__cause__, ReadOnlyError, "READONLY", server
            )
            ledger.check(replica.get_tuple(ledger.config))
            ledger.check(primary.get_tuple(ledger.config))
            stats.add("states_verified", 2)

        # a read that refreshes the TTL writes (PEXPIRE): refused on a replica
        refreshing = saver_for(
            replica_server.url, prefix, ttl={"default_ttl": 5, "refresh_on_read": True}
        )
        with pytest.raises(StorageError) as info:
            refreshing.get_tuple(ledger.config)
        assert refused_in_script(
            info.value.__cause__, ReadOnlyError, "READONLY", server
        )

        replica_admin.execute_command("REPLICAOF", "NO", "ONE")
        replica.put(ledger.put_config(), new, {"cid": new["id"]}, versions)
        ledger.maybe.append(new["id"])
        ledger.check(replica.get_tuple(ledger.config))
        assert ledger.stored == new["id"]
        SUMMARY["read-only replica"] = dict(stats.counts)
        refreshing.close()
        replica.close()
        replica_admin.close()
    primary.close()


@pytest.mark.parametrize("pad", [0, LARGE_PAD], ids=["small", "large"])
def test_out_of_memory_writes_whole_or_refused(
    server: RedisServer, admin: Redis, prefix: str, pad: int
):
    """Under ``OOM`` (``maxmemory`` reached, ``noeviction``) a write that
    would only add data is refused before it changes anything: the first put
    of a thread and put_writes. A put replacing a checkpoint starts by
    deleting the old values, which Redis allows under ``OOM``, after which a
    script may finish its writes: it is applied whole. Reads work."""
    saver = saver_for(server.url, prefix)
    saver.setup()
    ledger = Ledger("oom", pad)
    cp, versions = make_checkpoint(ledger)
    saver.put(ledger.config, cp, {"cid": cp["id"]}, versions)
    ledger.stored = cp["id"]
    stored_cfg = {
        "configurable": {**ledger.config["configurable"], "checkpoint_id": cp["id"]}
    }
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", 1)
    try:
        fresh = Ledger("oom-fresh", pad)
        first, versions = make_checkpoint(fresh)
        keys_before = admin.dbsize()
        with pytest.raises(StorageError) as info:
            saver.put(fresh.config, first, {"cid": first["id"]}, versions)
        check_error(info.value, "put", fresh.thread_id)
        assert refused_in_script(info.value.__cause__, OutOfMemoryError, "OOM", server)
        assert admin.dbsize() == keys_before
        fresh.check(saver.get_tuple(fresh.config))

        with pytest.raises(StorageError) as info:
            saver.put_writes(
                stored_cfg, [(f"ch{i}", cp["id"]) for i in range(N_WRITES)], "t"
            )
        check_error(info.value, "put_writes", ledger.thread_id)
        assert refused_in_script(info.value.__cause__, OutOfMemoryError, "OOM", server)
        ledger.check(saver.get_tuple(ledger.config))

        new, versions = make_checkpoint(ledger)
        ledger.maybe.append(new["id"])
        try:
            saver.put(ledger.put_config(), new, {"cid": new["id"]}, versions)
        except StorageError as err:
            check_error(err, "put", ledger.thread_id)
        ledger.check(saver.get_tuple(ledger.config))
    finally:
        admin.config_set("maxmemory", 0)
    stored_cfg["configurable"]["checkpoint_id"] = ledger.stored
    saver.put_writes(
        stored_cfg, [(f"ch{i}", ledger.stored) for i in range(N_WRITES)], "t"
    )
    ledger.full_writes.add(ledger.stored)
    ledger.check(saver.get_tuple(ledger.config))
    saver.close()


def test_timed_out_write_is_whole_before_and_after(
    server: RedisServer, admin: Redis, prefix: str
):
    """A write that timed out may still be applied by the server later (it
    was sent); before and after that the thread holds one whole checkpoint."""
    saver = saver_for(server.url, prefix, connection_args={"socket_timeout": 0.1})
    reader = saver_for(server.url, prefix)
    saver.setup()
    ledger = Ledger("timeout")
    cp, versions = make_checkpoint(ledger)
    saver.put(ledger.config, cp, {"cid": cp["id"]}, versions)
    ledger.stored = cp["id"]
    admin.execute_command("CLIENT", "PAUSE", 400, "WRITE")
    new, versions = make_checkpoint(ledger)
    with pytest.raises(StorageError) as info:
        saver.put(ledger.put_config(), new, {"cid": new["id"]}, versions)
    check_error(info.value, "put", ledger.thread_id)
    assert isinstance(info.value.__cause__, TimeoutError)
    ledger.maybe.append(new["id"])
    admin.execute_command("CLIENT", "UNPAUSE")
    ledger.check(reader.get_tuple(ledger.config))
    saver.close()
    reader.close()


# -- a graph interrupted by a fault resumes once the server is back ------------


class GraphState(TypedDict):
    log: Annotated[list[str], operator.add]


def build_graph(checkpointer: Any, on_b: Any) -> Any:
    """a -> b -> c, each appending its name; ``on_b`` runs inside b."""

    def a(state: GraphState) -> dict[str, Any]:
        return {"log": ["a"]}

    def b(state: GraphState) -> dict[str, Any]:
        on_b()
        return {"log": ["b"]}

    def c(state: GraphState) -> dict[str, Any]:
        return {"log": ["c"]}

    return chain_graph(GraphState, a, b, c).compile(checkpointer=checkpointer)


def test_graph_resumes_after_server_restart(
    server: RedisServer, admin: Redis, prefix: str
):
    """The server dies while node b runs: invoke raises ``StorageError``.
    Once it is back (same port, its data kept), invoking again with no input
    resumes from the stored checkpoint, and the final state equals an
    uninterrupted run on ``InMemorySaver``."""
    killed: list[bool] = []

    def kill_once() -> None:
        if not killed:
            killed.append(True)
            server.kill()

    # with retries, as the saver's default: the pool's connections to the
    # killed server are dead after the restart, and on Python 3.12+ the async
    # pool hands one out without noticing; the retry replaces it
    saver = saver_for(
        server.url, prefix, connection_args={"retry": Retry(ExponentialBackoff(), 3)}
    )
    saver.setup()
    graph = build_graph(saver, kill_once)
    config = {"configurable": {"thread_id": "graph-resume"}}
    with pytest.raises(StorageError) as info:
        graph.invoke({"log": ["start"]}, config, durability="sync")
    assert info.value.thread_id == "graph-resume"
    assert isinstance(info.value.__cause__, ConnectionError)
    assert killed

    server.restart()
    stored = saver.get_tuple(config)
    assert stored is not None  # the checkpoint written before the fault
    assert stored.checkpoint["channel_values"]["log"] == ["start", "a"]
    result = graph.invoke(None, config, durability="sync")

    reference = build_graph(InMemorySaver(), lambda: None)
    expected = reference.invoke({"log": ["start"]}, config, durability="sync")
    assert result == expected == {"log": ["start", "a", "b", "c"]}
    state = graph.get_state(config)
    assert state.values == expected and state.next == ()
    saver.close()
