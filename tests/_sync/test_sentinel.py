# This file is generated from tests/_async/test_sentinel.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""The saver from a ``redis+sentinel://`` URL, on a real primary and Sentinel.

A plain ``redis-server`` primary and one Sentinel process monitoring it as
``mymaster`` (quorum 1) are started for this module and stopped by pid at the
end. The saver gets only the Sentinel's URL: it must find the primary through
the Sentinel, store there (checked with a direct client of the primary), keep
the default retry, and close what it created. Malformed sentinel URLs are
refused with ``InvalidConfigError`` before any connection.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph.checkpoint.redis_shallow import (
    InvalidConfigError,
    ShallowRedisSaver,
    StorageError,
)
from redis_server import RedisServer, SentinelServer, free_port
from tests._io_sync import Redis, Retry, sleep
from tests._sync.graph_support import approval_scenario, check_approval, run_both
from tests._sync.storage import write_fields
from tests._sync.test_security import TLS_BINARY, make_certificates
from tests.builders import cfg, checkpoint, saver_prefixes

SERVICE = "mymaster"


@pytest.fixture(scope="module")
def sentinel_setup(plain_kind: str) -> Iterator[tuple[int, int]]:
    """(primary port, sentinel port): a primary and a Sentinel watching it,
    both of the session's binary."""
    with RedisServer(kind=plain_kind) as primary:
        assert primary.port is not None
        with SentinelServer(primary.port, SERVICE, kind=plain_kind) as sentinel:
            assert sentinel.port is not None
            yield primary.port, sentinel.port


@pytest.fixture
def sentinel_url(sentinel_setup: tuple[int, int]) -> str:
    return f"redis+sentinel://127.0.0.1:{sentinel_setup[1]}/{SERVICE}"


@pytest.fixture
def primary(sentinel_setup: tuple[int, int]) -> Iterator[Redis]:
    """A direct client of the primary (db 0)."""
    client = Redis(host="127.0.0.1", port=sentinel_setup[0])
    yield client
    client.close()


@pytest.fixture
def sentinel_node(sentinel_setup: tuple[int, int]) -> Iterator[Redis]:
    """A direct client of the Sentinel process."""
    client = Redis(host="127.0.0.1", port=sentinel_setup[1])
    yield client
    client.close()


def wait_until(condition: Any) -> bool:
    """Whether ``await condition()`` becomes true within ~2 s."""
    for _ in range(40):
        if condition():
            return True
        sleep(0.05)
    return False


def client_names(node: Redis) -> list[str]:
    return [c.get("name", "") for c in node.client_list()]


@pytest.mark.parametrize("db_part", ["", "/0"])
def test_put_writes_get_list_delete_on_the_primary(
    sentinel_url: str, primary: Redis, db_part: str
) -> None:
    tid = "sentinel-" + uuid.uuid4().hex
    prefix = "snt-" + uuid.uuid4().hex[:8]
    ref = InMemorySaver()
    with ShallowRedisSaver.from_conn_string(
        sentinel_url + db_part, **saver_prefixes(prefix)
    ) as saver:
        saver.setup()
        results = []
        cp = checkpoint({"a": {"n": 1, "s": "ü"}})
        for cp_saver in (saver, ref):
            stored = cp_saver.put(
                cfg(tid), cp, {"source": "input", "step": 1}, {"a": 1}
            )
            cp_saver.put_writes(stored, [("a", 2), ("b", [1])], "task-1")
            got = cp_saver.get_tuple(cfg(tid))
            listed = [t for t in cp_saver.list(cfg(tid))]
            results.append((stored, got, listed))
        (stored, got, listed), (ref_stored, ref_got, ref_listed) = results
        assert stored == ref_stored
        assert got is not None and ref_got is not None
        assert got.checkpoint == ref_got.checkpoint
        assert got.metadata == ref_got.metadata
        assert got.pending_writes == ref_got.pending_writes
        assert [t.checkpoint for t in listed] == [t.checkpoint for t in ref_listed]
        assert [t.checkpoint["id"] for t in listed] == [got.checkpoint["id"]]
        assert listed[0].pending_writes == got.pending_writes

        # stored on the primary itself
        cp_key, _, registry_key = saver.keys.for_namespace(tid, "")
        assert primary.hgetall(cp_key)
        assert len(write_fields(primary, cp_key)) == 2
        assert primary.exists(registry_key) == 1

        saver.delete_thread(tid)
        assert saver.get_tuple(cfg(tid)) is None
        assert primary.exists(cp_key, registry_key) == 0


def test_db_in_the_url_selects_the_primarys_db(
    sentinel_setup: tuple[int, int], sentinel_url: str
) -> None:
    tid = "sentinel-db-" + uuid.uuid4().hex
    prefix = "snt-" + uuid.uuid4().hex[:8]
    db1 = Redis(host="127.0.0.1", port=sentinel_setup[0], db=1)
    db0 = Redis(host="127.0.0.1", port=sentinel_setup[0], db=0)
    try:
        with ShallowRedisSaver.from_conn_string(
            sentinel_url + "/1", **saver_prefixes(prefix)
        ) as saver:
            saver.setup()
            saver.put(cfg(tid), checkpoint({"a": 1}), {}, {"a": 1})
            cp_key, _, _ = saver.keys.for_namespace(tid, "")
            assert db1.exists(cp_key) == 1
            assert db0.exists(cp_key) == 0
            saver.delete_thread(tid)
    finally:
        db1.close()
        db0.close()


def test_connection_args_and_default_retry_apply_to_the_primary(
    sentinel_url: str, primary: Redis
) -> None:
    name = "snt-" + uuid.uuid4().hex[:12]
    with ShallowRedisSaver.from_conn_string(
        sentinel_url, connection_args={"client_name": name}
    ) as saver:
        assert saver.client.ping()
        assert name in client_names(primary)
        retry = saver.client.get_connection_kwargs()["retry"]
        assert isinstance(retry, Retry)
        assert retry.get_retries() == 3


def test_from_conn_string_closes_primary_and_sentinel_connections(
    sentinel_url: str, primary: Redis, sentinel_node: Redis
) -> None:
    def sentinel_clients() -> int:
        return len(sentinel_node.client_list())

    baseline = sentinel_clients()
    name = "snt-" + uuid.uuid4().hex[:12]
    with ShallowRedisSaver.from_conn_string(
        sentinel_url, connection_args={"client_name": name}
    ) as saver:
        saver.setup()
        assert name in client_names(primary)
        assert sentinel_clients() > baseline

    def primary_closed() -> bool:
        return name not in client_names(primary)

    def sentinel_closed() -> bool:
        return sentinel_clients() == baseline

    assert wait_until(primary_closed), "the primary connection stayed open"
    assert wait_until(sentinel_closed), "a sentinel connection stayed open"


def test_graph_interrupt_and_resume_as_in_memory(sentinel_url: str) -> None:
    prefix = "snt-" + uuid.uuid4().hex[:8]
    tid = "graph-" + uuid.uuid4().hex
    with ShallowRedisSaver.from_conn_string(
        sentinel_url, **saver_prefixes(prefix)
    ) as saver:
        saver.setup()
        check_approval(run_both(saver, tid, approval_scenario))
        saver.delete_thread(tid)


def test_no_reachable_sentinel_is_a_storage_error() -> None:
    url = f"redis+sentinel://127.0.0.1:{free_port()}/{SERVICE}"
    with ShallowRedisSaver.from_conn_string(url) as saver:
        with pytest.raises(StorageError, match="No master found") as info:
            saver.setup()
        assert type(info.value.__cause__).__name__ == "MasterNotFoundError"


def test_tls_sentinel_and_primary(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """``rediss+sentinel://``: TLS to the Sentinel and to the primary it names
    (Debian's redis-server: the bundled one has no TLS)."""
    if not os.path.exists(TLS_BINARY) or shutil.which("openssl") is None:
        why = f"needs {TLS_BINARY} and openssl: the bundled redis-server has no TLS"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    tls = make_certificates(tmp_path_factory.mktemp("sentinel-tls"))
    ca = tls["ca_cert_file"]
    tid = "sentinel-tls-" + uuid.uuid4().hex
    with (
        RedisServer(modules=False, tls=tls, binary=TLS_BINARY) as primary_server,
        SentinelServer(
            int(primary_server.port or 0), SERVICE, binary=TLS_BINARY, tls=tls
        ) as sentinel,
    ):
        assert sentinel.url.startswith("rediss+sentinel://")
        direct = Redis.from_url(primary_server.url, ssl_ca_certs=ca)
        try:
            with ShallowRedisSaver.from_conn_string(
                sentinel.url + "/0", connection_args={"ssl_ca_certs": ca}
            ) as saver:
                saver.setup()
                cp = checkpoint({"a": "over tls"})
                stored = saver.put(cfg(tid), cp, {"step": 1}, {"a": 1})
                saver.put_writes(stored, [("a", "w")], "task-1")
                got = saver.get_tuple(cfg(tid))
                assert got is not None
                assert got.checkpoint["channel_values"] == {"a": "over tls"}
                assert [w[1:] for w in got.pending_writes or []] == [("a", "w")]
                cp_key, _, _ = saver.keys.for_namespace(tid, "")
                assert direct.hgetall(cp_key)
                saver.delete_thread(tid)
            # without the CA the sentinel's certificate is not trusted
            with ShallowRedisSaver.from_conn_string(sentinel.url) as bad:
                with pytest.raises(StorageError, match=r"(?i)certificate|ssl"):
                    bad.setup()
        finally:
            direct.close()


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://127.0.0.1:26379",  # no service
        "redis+sentinel://127.0.0.1:26379/",  # empty service
        "redis+sentinel://127.0.0.1:x/mymaster",  # bad port
        "redis+sentinel://127.0.0.1:70000/mymaster",  # port out of range
        "redis+sentinel://127.0.0.1:26379/mymaster/y",  # bad db
        "redis+sentinel://127.0.0.1:26379/mymaster/-1",  # negative db
        "redis+sentinel://127.0.0.1:26379/mymaster/0/extra",  # extra path
        "redis+sentinel:///mymaster",  # no host
        "redis+sentinel://a:1,,b:2/mymaster",  # empty address
        "redis+sentinel://127.0.0.1:26379/mymaster?db=1",  # query string
    ],
)
def test_malformed_sentinel_url_is_refused_before_connecting(url: str) -> None:
    with pytest.raises(InvalidConfigError, match="sentinel"):
        ShallowRedisSaver(url)
