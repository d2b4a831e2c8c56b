"""Security: TLS, restricted ACL users, crafted stored data, injection.

- TLS (``rediss://``) with a throwaway CA made by ``openssl`` in the test,
  against Debian's ``redis-server`` (built with TLS; the bundled one is not),
  logged in as a restricted ACL user.
- The minimal ACL the saver needs (``SAVER_ACL``) is proven both ways on
  dedicated servers with and without Search: everything works with it, and
  removing any one rule breaks some operation.
- Values written straight into Redis, crafted to make a reader import or
  run code, come back as data or are refused: nothing is imported, nothing
  runs (a canary module would record it).
- Thread ids, namespaces, metadata filter values and run ids full of key
  glob and RediSearch syntax address exactly what they name.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import ormsgpack
import pytest
import redis
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from langgraph.checkpoint.redis_shallow.errors import (
    SearchUnavailableError,
    StorageError,
    ThreadDeletedError,
)
from langgraph.checkpoint.redis_shallow.serialization import pack_write
from redis_server import RedisServer
from tests._async.storage import is_data_key, write_fields
from tests._io_async import AsyncRedis
from tests.builders import cfg, checkpoint, saver_prefixes

TLS_BINARY = "/usr/bin/redis-server"  # Debian's, built with TLS

# Commands the saver's Lua scripts call: ACL applies inside scripts too.
SCRIPT_COMMANDS = [
    "+hexists",
    "+hkeys",
    "+hdel",
    "+hset",
    "+hsetnx",
    "+hget",
    "+hgetall",
    "+sadd",
    "+smembers",
    "+srem",
    "+scard",
    "+del",
    "+pexpire",
    "+pttl",
    "+persist",
]
# Top-level commands: the scripts (EVAL after a server lost its script
# cache), the layout version (GET, and SET when it is not recorded yet), the
# HGETALL of get_tuple and the PEXPIREs of refresh_on_read (listed above),
# and on a server with Search: detect it, create the index, query it.
CORE_COMMANDS = [
    "+evalsha",
    "+eval",
    "+script|load",
    "+get",
    "+set",
    *SCRIPT_COMMANDS,
]
# Used only with Search: HMGET (put, delete_for_runs), COPY (a run starting
# over another run's checkpoint keeps it aside), RENAME (rollback).
SEARCH_COMMANDS = [
    "+ft._list",
    "+ft.create",
    "+ft.search",
    "+hmget",
    "+copy",
    "+rename",
]


def saver_acl(prefix: str, search: bool) -> list[str]:
    """The minimal ACL rules of a saver using ``{prefix}:cp`` / ``{prefix}:w``."""
    rules = [f"~{prefix}:cp:*", f"~{prefix}:w:*", "resetchannels", "-@all"]
    return rules + CORE_COMMANDS + (SEARCH_COMMANDS if search else [])


def user_url(url: str, user: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"


async def exercise(
    saver: AsyncShallowRedisSaver, admin: AsyncRedis, search: bool
) -> None:
    """Every operation, along every path that sends a distinct command:
    required fields (HEXISTS), stale fields (HDEL), TTL (PEXPIRE), writes
    with no checkpoint pruned (SREM), copy, delete, listing and deleting by
    run across threads, and EVAL after the script cache was flushed."""
    await saver.asetup()
    thread = "acl-thread"
    cp1 = checkpoint({"a": 1, "b": 1})
    await saver.aput(cfg(thread), cp1, {"run_id": "run-1"}, {"a": 1, "b": 1})
    await saver.aput_writes(cfg(thread, "", cp1["id"]), [("a", 2)], "task")
    cp2 = checkpoint({"a": 2, "b": 1}, versions={"a": 2, "b": 1})
    await saver.aput(cfg(thread, "", cp1["id"]), cp2, {"run_id": "run-1"}, {"a": 2})
    tup = await saver.aget_tuple(cfg(thread))
    assert tup is not None and tup.checkpoint["channel_values"] == {"a": 2, "b": 1}
    assert (
        len([t async for t in saver.alist({"configurable": {"thread_id": thread}})])
        == 1
    )
    await saver.aput_writes(
        cfg(thread, "orphan", "no-such-checkpoint"), [("a", 3)], "t"
    )
    await saver.aprune([thread], strategy="keep_latest")
    await saver.acopy_thread(thread, "acl-copy")
    assert (await saver.aget_tuple(cfg("acl-copy"))).checkpoint["id"] == cp2["id"]
    await saver.adelete_thread("acl-copy")
    # a late write of the deleted copy is refused (its tombstone); a new
    # run's write ahead of its put expires with the tombstone (PTTL) until
    # the put of a saver without ttl makes it the thread's (PERSIST)
    with pytest.raises(ThreadDeletedError):
        await saver.aput_writes(cfg("acl-copy", "", cp2["id"]), [("a", 4)], "late")
    ahead = checkpoint({"a": 5})
    await saver.aput_writes(cfg("acl-copy", "", ahead["id"]), [("a", 6)], "early")
    forever = AsyncShallowRedisSaver(
        redis_client=saver.client,
        checkpoint_prefix=saver.keys.checkpoint_prefix,
        checkpoint_write_prefix=saver.keys.entry_prefix,
    )
    await forever.aput(cfg("acl-copy"), ahead, {}, {"a": 1})
    assert (await saver.aget_tuple(cfg("acl-copy"))).pending_writes == [
        ("early", "a", 6)
    ]
    if search:
        found = [t async for t in saver.alist(None, filter={"run_id": "run-1"})]
        assert [t.checkpoint["id"] for t in found] == [cp2["id"]]
        # another run writes over run-1's checkpoint (its state is kept
        # aside: COPY), then is rolled back (RENAME)
        cp3 = checkpoint({"a": 3, "b": 1}, versions={"a": 3, "b": 1})
        await saver.aput(cfg(thread, "", cp2["id"]), cp3, {"run_id": "run-2"}, {"a": 3})
        await saver.adelete_for_runs(["run-2"])
        assert (await saver.aget_tuple(cfg(thread))).checkpoint["id"] == cp2["id"]
        await saver.adelete_for_runs(["run-1"])
        assert await saver.aget_tuple(cfg(thread)) is None
    else:
        with pytest.raises(SearchUnavailableError):
            [t async for t in saver.alist(None)]
    await admin.script_flush()
    cp4 = checkpoint({"a": 4, "b": 1}, versions={"a": 4, "b": 1})
    await saver.aput(cfg(thread), cp4, {}, {"a": 4, "b": 1})
    assert (await saver.aget_tuple(cfg(thread))).checkpoint["id"] == cp4["id"]
    await saver.adelete_thread(thread)


# -- servers -----------------------------------------------------------------


@pytest.fixture(scope="module", params=["plain", "search"])
def acl_server(
    request: pytest.FixtureRequest, plain_kind: str
) -> Iterator[tuple[RedisServer, bool]]:
    """A dedicated server (its script cache gets flushed): Redis 8.2 with the
    Search module, or the session's binary without it."""
    search = request.param == "search"
    with RedisServer(kind="modules" if search else plain_kind) as srv:
        yield srv, search


@pytest.fixture
async def acl_admin(acl_server: tuple[RedisServer, bool]) -> AsyncIterator[AsyncRedis]:
    client = AsyncRedis.from_url(acl_server[0].url)
    yield client
    await client.aclose()


async def make_user(admin: AsyncRedis, rules: list[str]) -> tuple[str, str]:
    name, password = "u" + uuid.uuid4().hex[:10], uuid.uuid4().hex
    await admin.execute_command(
        "ACL", "SETUSER", name, "reset", "on", f">{password}", *rules
    )
    return name, password


def restricted_saver(
    url: str, user: str, password: str, prefix: str
) -> AsyncShallowRedisSaver:
    return AsyncShallowRedisSaver(
        user_url(url, user, password),
        **saver_prefixes(prefix),
        ttl={"default_ttl": 5, "refresh_on_read": True},
    )


# -- the minimal ACL -----------------------------------------------------------


async def test_minimal_acl_is_enough(
    acl_server: tuple[RedisServer, bool], acl_admin: AsyncRedis, prefix: str
):
    server, search = acl_server
    user, password = await make_user(acl_admin, saver_acl(prefix, search))
    saver = restricted_saver(server.url, user, password, prefix)
    await exercise(saver, acl_admin, search)
    await saver.aclose()
    denied = [e for e in await acl_admin.acl_log() if e.get("username") == user]
    # nothing denied but the client's optional CLIENT SETINFO and MODULE LIST
    # (ACL LOG names the subcommand since Redis 7.0; 6.2 names the command)
    if int(server.version().split(".")[0]) >= 7:
        allowed = {"client|setinfo", "module|list"}
    else:
        allowed = {"client", "module"}
    assert {e.get("object") for e in denied} <= allowed


async def test_minimal_acl_has_no_spare_rule(
    acl_server: tuple[RedisServer, bool], acl_admin: AsyncRedis
):
    """Without any one of its rules some operation fails."""
    server, search = acl_server
    refusals: list[tuple[str, str]] = []
    for i, rule in enumerate(saver_acl("x", search)):
        if rule in ("resetchannels", "-@all"):
            continue
        prefix = f"spare{uuid.uuid4().hex[:8]}"
        rules = saver_acl(prefix, search)
        del rules[i]
        user, password = await make_user(acl_admin, rules)
        saver = restricted_saver(server.url, user, password, prefix)
        with pytest.raises(Exception) as info:
            await exercise(saver, acl_admin, search)
        refusals.append((rule, type(info.value).__name__))
        await saver.aclose()
    print(f"\n[acl] without one rule ({'search' if search else 'plain'}): {refusals}")


async def test_acl_key_patterns_apply_to_keys_built_in_scripts(
    acl_server: tuple[RedisServer, bool], acl_admin: AsyncRedis, prefix: str
):
    """Listing a thread reads keys whose names the script builds from the
    registry's members; a user allowed the checkpoint keys only is refused
    them, and a user of another prefix is refused everything."""
    server, search = acl_server
    owner = AsyncShallowRedisSaver(server.url, **saver_prefixes(prefix))
    await owner.asetup()
    cp = checkpoint({"a": 1})
    await owner.aput(cfg("t"), cp, {}, {"a": 1})
    await owner.aput_writes(cfg("t", "", cp["id"]), [("a", 2)], "task")

    half = [r for r in saver_acl(prefix, search) if r != f"~{prefix}:w:*"]
    user, password = await make_user(acl_admin, half)
    reader = restricted_saver(server.url, user, password, prefix)
    with pytest.raises(StorageError) as info:  # the registry is allowed, not ek
        [t async for t in reader.alist({"configurable": {"thread_id": "t"}})]
    # Redis 7+/Valkey: "... No permissions to access a key"; Redis 6.2: "The
    # user executing the script can't access at least one of the keys ..."
    text = str(info.value).lower()
    assert "permission" in text or "can't access at least one of the keys" in text
    assert isinstance(info.value.__cause__, ResponseError)

    other = f"{prefix}x"
    user, password = await make_user(acl_admin, saver_acl(other, search))
    intruder = restricted_saver(server.url, user, password, prefix)  # not its keys
    for call in (
        lambda: intruder.aget_tuple(cfg("t")),
        lambda: intruder.adelete_thread("t"),
        lambda: intruder.aput(cfg("t"), cp, {}, {"a": 1}),
    ):
        with pytest.raises(StorageError) as info:
            await call()
        assert isinstance(info.value.__cause__, NoPermissionError)
    assert (await owner.aget_tuple(cfg("t"))).pending_writes == [("task", "a", 2)]
    await owner.adelete_thread("t")
    for s in (owner, reader, intruder):
        await s.aclose()


async def test_setup_refused_by_acl_raises_storage_error(
    acl_server: tuple[RedisServer, bool], acl_admin: AsyncRedis, prefix: str
):
    server, search = acl_server
    rules = [r for r in saver_acl(prefix, search) if r != "+ft.create"]
    user, password = await make_user(acl_admin, rules)
    saver = restricted_saver(server.url, user, password, prefix)
    if search:
        with pytest.raises(StorageError, match="setup"):
            await saver.asetup()
    else:  # no index to create: the plain rule set is enough
        await saver.asetup()
    await saver.aclose()


# -- TLS --------------------------------------------------------------------


def make_certificates(directory: Path) -> dict[str, str]:
    """A throwaway CA and a server certificate for 127.0.0.1 it signed."""

    def run(*args: str) -> None:
        subprocess.run(
            ["openssl", *args], check=True, capture_output=True, cwd=directory
        )

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=throwaway test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run(
        "req",
        *ec,
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (directory / "ext.cnf").write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "authorityKeyIdentifier=keyid\n"
        "subjectKeyIdentifier=hash\n"
    )
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf")  # fmt: skip
    return {
        "cert_file": str(directory / "server.crt"),
        "key_file": str(directory / "server.key"),
        "ca_cert_file": str(directory / "ca.crt"),
    }


@pytest.fixture(scope="module")
def tls_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RedisServer, str]]:
    """Debian's redis-server on TLS only, the default user disabled, an
    ``admin`` user for the test; yields the server and the CA file."""
    if not os.path.exists(TLS_BINARY) or shutil.which("openssl") is None:
        why = (
            f"needs {TLS_BINARY} (apt-get install redis-server) and openssl: "
            "the bundled redis-server has no TLS"
        )
        if os.environ.get("CI"):  # .ci/run installs both: never skip there
            pytest.fail(why)
        pytest.skip(why)
    tls = make_certificates(tmp_path_factory.mktemp("tls"))
    with RedisServer(modules=False, tls=tls, binary=TLS_BINARY) as srv:
        admin = redis.Redis.from_url(srv.url, ssl_ca_certs=tls["ca_cert_file"])
        admin.execute_command(
            "ACL", "SETUSER", "admin", "on", ">admin-pw", "~*", "&*", "+@all"
        )
        admin.execute_command("ACL", "SETUSER", "default", "off")
        admin.close()
        yield srv, tls["ca_cert_file"]


@pytest.fixture
async def tls_admin(tls_server: tuple[RedisServer, str]) -> AsyncIterator[AsyncRedis]:
    server, ca = tls_server
    client = AsyncRedis.from_url(
        user_url(server.url, "admin", "admin-pw"), ssl_ca_certs=ca
    )
    yield client
    await client.aclose()


async def test_tls_with_a_restricted_acl_user(
    tls_server: tuple[RedisServer, str], tls_admin: AsyncRedis, prefix: str
):
    server, ca = tls_server
    assert server.url.startswith("rediss://")
    user, password = await make_user(tls_admin, saver_acl(prefix, False))
    saver = AsyncShallowRedisSaver(
        user_url(server.url, user, password),
        connection_args={"ssl_ca_certs": ca},
        **saver_prefixes(prefix),
        ttl={"default_ttl": 5, "refresh_on_read": True},
    )
    await exercise(saver, tls_admin, search=False)

    memory = InMemorySaver()
    cp = checkpoint({"messages": ["über TLS"]})
    for target in (saver, memory):
        await target.aput(cfg("tls"), cp, {"step": 1}, {"messages": 1})
        await target.aput_writes(cfg("tls", "", cp["id"]), [("messages", "ok")], "task")
    ours, theirs = (
        await saver.aget_tuple(cfg("tls")),
        await memory.aget_tuple(cfg("tls")),
    )
    assert (ours.checkpoint, ours.metadata, ours.pending_writes) == (
        theirs.checkpoint,
        theirs.metadata,
        theirs.pending_writes,
    )
    info = await tls_admin.client_list()
    assert any(c.get("user") == user for c in info)
    await saver.adelete_thread("tls")
    await saver.aclose()


async def test_tls_refuses_what_it_should(
    tls_server: tuple[RedisServer, str], prefix: str
):
    """A wrong password, a CA that did not sign the server's certificate,
    plain TCP, and the disabled default user: each fails ``setup`` with
    ``StorageError``."""
    server, ca = tls_server
    port = server.port
    cases = [
        (user_url(server.url, "admin", "wrong"), {"ssl_ca_certs": ca}, AuthenticationError),
        (server.url, {"ssl_ca_certs": ca}, AuthenticationError),  # default user is off
        (user_url(server.url, "admin", "admin-pw"), {}, redis.exceptions.ConnectionError),
        (f"redis://admin:admin-pw@127.0.0.1:{port}", {"socket_timeout": 2}, redis.exceptions.ConnectionError),
    ]  # fmt: skip
    for url, args, cause in cases:
        saver = AsyncShallowRedisSaver(url, connection_args=args)
        with pytest.raises(StorageError, match="setup") as info:
            await saver.asetup()
        assert isinstance(info.value.__cause__, cause), (url, info.value.__cause__)
        await saver.aclose()


# -- crafted stored data ---------------------------------------------------------


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A module that records being imported and its function being called."""
    name = f"lgshallow_canary_{uuid.uuid4().hex[:8]}"
    imported, called = tmp_path / "imported", tmp_path / "called"
    (tmp_path / f"{name}.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(imported)!r}).touch()\n"
        "def boom(*args, **kwargs):\n"
        f"    Path({str(called)!r}).touch()\n"
        "    return 'BOOM'\n"
        "class Boom:\n"
        "    def __init__(self, *args, **kwargs):\n"
        f"        Path({str(called)!r}).touch()\n"
        "    def __reduce__(self):\n"
        "        return (boom, ())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    shell = tmp_path / "shell-ran"
    yield {"name": name, "imported": imported, "called": called, "shell": shell}
    sys.modules.pop(name, None)


class _Shell:
    """Pickles into a call of ``os.system`` (pickling runs nothing)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (os.system, (f"touch {self.path}",))


def crafted_values(canary: dict[str, Any]) -> dict[str, bytes]:
    """Typed blobs (``type\\x00data``) that would import or run code if
    revived without an allowlist."""
    name, shell = canary["name"], str(canary["shell"])

    def ext(code: int, payload: Any) -> bytes:
        return b"msgpack\x00" + ormsgpack.packb(
            ormsgpack.Ext(code, ormsgpack.packb(payload))
        )

    def js(envelope: dict[str, Any]) -> bytes:
        return b"json\x00" + json.dumps(envelope).encode()

    return {
        "ext-call": ext(1, [name, "boom", ["x"]]),
        "ext-kwargs": ext(2, [name, "Boom", {"a": 1}]),
        "ext-single": ext(0, [name, "boom", "x"]),
        "ext-method": ext(3, [name, "Boom", "x", "mro"]),
        "ext-pydantic": ext(5, [name, "Boom", {"a": 1}, None]),
        "ext-os-system": ext(1, ["os", "system", [f"touch {shell}"]]),
        "ext-popen": ext(1, ["subprocess", "Popen", [["touch", shell]]]),
        "json-lc1": js({"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {"command": f"touch {shell}"}}),
        "json-lc2": js({"lc": 2, "type": "constructor", "id": [name, "Boom"], "kwargs": {"a": 1}}),
        "json-lc2-os": js({"lc": 2, "type": "constructor", "id": ["os", "system"], "args": [f"touch {shell}"]}),
        "pickle": b"pickle\x00" + pickle.dumps(_Shell(shell)),
        "unknown-type": b"marshal\x00\x00",
    }  # fmt: skip


def nothing_ran(canary: dict[str, Any]) -> None:
    assert canary["name"] not in sys.modules, "the canary module was imported"
    assert not canary["imported"].exists(), "the canary module was imported"
    assert not canary["called"].exists(), "canary code ran"
    assert not canary["shell"].exists(), "a shell command ran"


async def plant(
    saver: AsyncShallowRedisSaver, client: AsyncRedis, thread_id: str, blob: bytes
) -> None:
    """Store a checkpoint, then overwrite its channel value, its metadata
    and its one write with ``blob``, straight in Redis."""
    cp = checkpoint({"state": "fine"})
    await saver.aput(cfg(thread_id), cp, {"step": 1}, {"state": 1})
    await saver.aput_writes(cfg(thread_id, "", cp["id"]), [("state", "fine")], "task")
    hk = saver.keys.for_namespace(thread_id, "")[0]
    fields = await client.hgetall(hk)
    value_field = next(f for f in fields if f.startswith(b"v:"))
    await client.hset(hk, mapping={value_field: blob, b"meta": blob})
    (write_field,) = await write_fields(client, hk)
    await client.hset(hk, write_field, pack_write("", "state", blob))


STRICT = JsonPlusSerializer(allowed_msgpack_modules=None)


@pytest.mark.parametrize("kind", list(crafted_values({"name": "x", "shell": "y"})))
async def test_crafted_values_never_run_code_with_a_strict_serde(
    redis_url: str, aclient: AsyncRedis, prefix: str, canary: dict[str, Any], kind: str
):
    """With the serde's allowlist on (``allowed_msgpack_modules=None``, or
    ``LANGGRAPH_STRICT_MSGPACK=true``), reading crafted values returns data
    or raises; nothing is imported or run."""
    saver = AsyncShallowRedisSaver(redis_url, serde=STRICT, **saver_prefixes(prefix))
    blob = crafted_values(canary)[kind]
    await plant(saver, aclient, "crafted", blob)
    try:
        tup = await saver.aget_tuple(cfg("crafted"))
    except Exception:  # refused: fine, as long as nothing ran
        pass
    else:
        assert tup is not None
        assert "BOOM" not in repr(tup)
    try:
        [t async for t in saver.alist({"configurable": {"thread_id": "crafted"}})]
    except Exception:
        pass
    nothing_ran(canary)
    await saver.adelete_thread("crafted")
    await saver.aclose()


# -- injection through ids and filters -----------------------------------------

SYNTAX = [
    "*",
    "?",
    "[a-z]*",
    "t*",
    "{t}",
    "}:{",
    ":",
    "%",
    "%2A",
    "",
    "\\",
    "a b",
    "@mt:{x}",
    "-t",
    '"t"',
    "'t'",
    "(t|u)",
    "t|*",
    "~t",
    "$t",
    "t\x00u",
]


async def test_delete_thread_with_glob_ids_deletes_only_that_thread(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str, has_search: bool
):
    ids = {f"id{i}": tid for i, tid in enumerate(["t", "tt", "u", *SYNTAX])}
    checkpoints = {}
    for tid in ids.values():
        for ns in ("", "*", "sub:*"):
            cp = checkpoint({"who": tid, "ns": ns})
            await asaver.aput(cfg(tid, ns), cp, {"thread": tid}, {"who": 1, "ns": 1})
            await asaver.aput_writes(cfg(tid, ns, cp["id"]), [("who", tid)], "task")
            checkpoints[(tid, ns)] = cp["id"]
    # 3 namespaces x (hash, search entry if the server has Search) + registry
    keys_per_thread = 3 * (2 if has_search else 1) + 1
    assert len(
        [k async for k in aclient.scan_iter(match=f"{prefix}:*") if is_data_key(k)]
    ) == keys_per_thread * len(ids)
    remaining = dict(checkpoints)
    buried = set()  # the threads deleted that existed leave their tombstone
    for tid in ["*", "t*", "[a-z]*", "?", "%", "", "}:{", *SYNTAX]:
        await asaver.adelete_thread(tid)
        if tid in ids.values():
            buried.add(asaver.keys.tombstone(tid).encode())
        remaining = {k: v for k, v in remaining.items() if k[0] != tid}
        left = [
            k async for k in aclient.scan_iter(match=f"{prefix}:*") if is_data_key(k)
        ]
        assert buried <= set(left), tid
        assert len(left) == keys_per_thread * len({k[0] for k in remaining}) + len(
            buried
        ), tid
    assert {k[0] for k in remaining} == {"t", "tt", "u"}
    for (other, ns), cid in remaining.items():
        tup = await asaver.aget_tuple(cfg(other, ns))
        assert tup is not None and tup.checkpoint["id"] == cid, (other, ns)
        assert tup.checkpoint["channel_values"] == {"who": other, "ns": ns}
        assert tup.pending_writes == [("task", "who", other)]


async def test_namespaces_with_syntax_stay_apart(asaver: AsyncShallowRedisSaver):
    for ns in SYNTAX:
        cp = checkpoint({"ns": ns})
        await asaver.aput(cfg("nst", ns), cp, {}, {"ns": 1})
    for ns in SYNTAX:
        tup = await asaver.aget_tuple(cfg("nst", ns))
        assert tup.checkpoint["channel_values"] == {"ns": ns}
        assert tup.config["configurable"]["checkpoint_ns"] == ns
        listed = [t async for t in asaver.alist(cfg("nst", ns))]
        assert [t.config["configurable"]["checkpoint_ns"] for t in listed] == [ns]
    every = [t async for t in asaver.alist({"configurable": {"thread_id": "nst"}})]
    assert sorted(t.config["configurable"]["checkpoint_ns"] for t in every) == sorted(
        SYNTAX
    )


async def test_metadata_filters_with_query_syntax_match_exactly(
    asaver: AsyncShallowRedisSaver, has_search: bool
):
    """Filter values and keys full of RediSearch syntax find exactly the
    checkpoints whose metadata equals them, as ``InMemorySaver`` does."""
    memory = InMemorySaver()
    values = [*SYNTAX, "x} | @mt:{*", "*) | (@id:{*", "x\\}", "-@mt:{z}"]
    for i, value in enumerate(values):
        cp = checkpoint({"i": i})
        meta = {"user": value, "k@{*}|": value, "run_id": value}
        for target in (asaver, memory):
            await target.aput(cfg(f"meta-{i}"), cp, meta, {"i": 1})
    probes = [*values, "nobody", "x", "t"]
    for value in probes:
        for flt in ({"user": value}, {"k@{*}|": value}):
            expected = sorted(t.checkpoint["id"] for t in memory.list(None, filter=flt))
            if not has_search:
                with pytest.raises(SearchUnavailableError):
                    [t async for t in asaver.alist(None, filter=flt)]
                continue
            got = sorted(
                [t.checkpoint["id"] async for t in asaver.alist(None, filter=flt)]
            )
            assert got == expected, (flt, got, expected)
    if has_search:
        await asaver.adelete_for_runs(["*"])
        for i, value in enumerate(values):
            tup = await asaver.aget_tuple(cfg(f"meta-{i}"))
            assert (tup is None) == (value == "*"), value
