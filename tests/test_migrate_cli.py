"""The ``migrate`` command line: bulk data, resumption, races, deletion, errors.

The data is written by ``langgraph-checkpoint-redis`` 0.5.2 itself (its
``put`` / ``put_writes``, see ``tests/upstream_data.py``) on the session's
server. On a server without RedisJSON (``--redis-kind=plain``) the tests that
need upstream data assert instead that ``migrate`` refuses the source.
"""

from __future__ import annotations

import io
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver, migration
from langgraph.checkpoint.redis_shallow.cli import main
from langgraph.checkpoint.redis_shallow.cli import migrate as migrate_cmd
from tests.upstream_data import (
    KINDS,
    drop_upstream,
    migrate_cli,
    upstream_prefixes,
    upstream_tuple,
    write_bulk,
)


@pytest.fixture
def target(redis_url: str, prefix: str) -> Iterator[ShallowRedisSaver]:
    """Our saver on the test's prefixes; its keys and index dropped after."""
    with ShallowRedisSaver.from_conn_string(
        redis_url,
        checkpoint_prefix=f"{prefix}:cp",
        checkpoint_write_prefix=f"{prefix}:w",
    ) as saver:
        yield saver
        keys = list(saver.client.scan_iter(match=f"{prefix}:*", count=1000))
        for i in range(0, len(keys), 1000):
            saver.client.unlink(*keys[i : i + 1000])
        try:
            saver.client.execute_command("FT.DROPINDEX", saver.keys.index_name)
        except redis.ResponseError:
            pass


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the session's server."""
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def refused_here(
    has_search: bool, redis_url: str, prefix: str, capsys: pytest.CaptureFixture[str]
) -> bool:
    """On a plain server, assert the clear refusal (exit 2) and return True."""
    if has_search:
        return False
    assert migrate_cli(redis_url, prefix) == 2
    err = capsys.readouterr().err
    assert "no RedisJSON module" in err and "RediSearch" in err, err
    return True


def dataset(
    redis_url: str, prefix: str, per_kind: dict[str, int]
) -> dict[str, list[str]]:
    """Write bulk threads of each upstream kind; their ids by kind."""
    ids = {
        kind: [f"{kind}-{i}-{uuid.uuid4().hex[:8]}" for i in range(n)]
        for kind, n in per_kind.items()
    }
    write_bulk(redis_url, prefix, ids)
    return ids


@pytest.fixture
def cleanup(redis_url: str, prefix: str) -> Iterator[list[str]]:
    """Thread ids appended here have their upstream keys dropped after."""
    ids: list[str] = []
    yield ids
    drop_upstream(redis_url, prefix, ids)


def all_ids(ids: dict[str, list[str]]) -> list[str]:
    return [t for kind in KINDS for t in ids.get(kind, [])]


def source_state(
    client: redis.Redis, prefix: str, thread_ids: list[str]
) -> dict[bytes, Any]:
    """Every upstream key of the test with its DUMP (to prove nothing changed)."""
    cp, wp = upstream_prefixes(prefix)
    keys: set[bytes] = set()
    for pattern in [f"{cp}*", f"{wp}*"] + [f"write_*:{t}:*" for t in thread_ids]:
        keys.update(client.scan_iter(match=pattern, count=1000))
    return {k: client.dump(k) for k in sorted(keys)}


def summary_value(out: str, label: str) -> str:
    for line in out.splitlines():
        if line.strip().startswith(label):
            return line.strip()[len(label) :].strip()
    raise AssertionError(f"no {label!r} in:\n{out}")


def test_bulk_1000_threads(
    redis_url: str,
    has_search: bool,
    prefix: str,
    target: ShallowRedisSaver,
    client: redis.Redis,
    cleanup: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    if refused_here(has_search, redis_url, prefix, capsys):
        return
    ids = dataset(
        redis_url, prefix, {"sync_shallow": 400, "async_shallow": 300, "full": 300}
    )
    cleanup += all_ids(ids)
    before = source_state(client, prefix, all_ids(ids))

    assert migrate_cli(redis_url, prefix) == 0
    out, err = capsys.readouterr()
    assert "1000 of 1000 threads" in out
    assert (
        summary_value(out, "threads")
        == "1000 done: 1000 copied, 0 already migrated; 0 failed"
    )
    assert summary_value(out, "namespaces") == "1000"
    # 2 writes of the latest checkpoint per thread; the shallow classes keep
    # the 2 writes of the first checkpoint in their registry (stale)
    assert summary_value(out, "writes kept") == "2000"
    assert summary_value(out, "stale writes").startswith("1400 dropped")
    assert summary_value(out, "older checkpoints").startswith("300 not copied")
    assert "MiB" in summary_value(out, "bytes before") or "KiB" in summary_value(
        out, "bytes before"
    )
    # not a terminal: one log line per thousand threads
    assert "migrate: 1000/1000 threads" in err
    assert "\r" not in err
    # the source is untouched
    assert source_state(client, prefix, all_ids(ids)) == before

    # what upstream's get_tuple returns is what ours returns, minus stale writes
    for kind in KINDS:
        for tid in ids[kind][:3]:
            theirs = upstream_tuple(kind, redis_url, prefix, tid)
            ours = target.get_tuple(
                {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
            )
            assert ours is not None
            assert ours.checkpoint["id"] == theirs.checkpoint["id"]
            assert (
                ours.checkpoint["channel_values"] == theirs.checkpoint["channel_values"]
            )
            assert (
                ours.checkpoint["channel_versions"]
                == theirs.checkpoint["channel_versions"]
            )
            assert ours.metadata == theirs.metadata
            current = [w for w in theirs.pending_writes if w[0] == "task-new"]
            assert sorted(ours.pending_writes, key=repr) == sorted(current, key=repr)
            if kind != "full":
                assert len(theirs.pending_writes) == 4  # upstream's 2 stale ones too
            assert len(ours.pending_writes) == 2


class Stop(BaseException):
    """Stands for the process being killed: nothing catches it."""


def test_interrupted_run_finishes_on_the_next(
    redis_url: str,
    has_search: bool,
    prefix: str,
    target: ShallowRedisSaver,
    client: redis.Redis,
    cleanup: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if refused_here(has_search, redis_url, prefix, capsys):
        return
    ids = dataset(redis_url, prefix, dict.fromkeys(KINDS, 20))
    cleanup += all_ids(ids)
    cp, wp = upstream_prefixes(prefix)
    prefixes = migration.UpstreamPrefixes(cp, wp)

    # 1: stopped from the progress callback after 25 threads
    def stop_at_25(done: int, total: int) -> None:
        if done == 25:
            raise Stop

    with pytest.raises(Stop):
        migrate_cmd.migrate_threads(client, target, prefixes, progress=stop_at_25)

    # 2: killed between a put and its put_writes (a crash mid-thread)
    calls = {"n": 0}
    real = ShallowRedisSaver.put_writes

    def dying_put_writes(self: ShallowRedisSaver, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Stop
        real(self, *args, **kwargs)

    monkeypatch.setattr(ShallowRedisSaver, "put_writes", dying_put_writes)
    target.setup()
    with pytest.raises(Stop):
        migrate_cmd.migrate_threads(client, target, prefixes)
    monkeypatch.undo()

    # 3: the same command again finishes; 27 threads were complete already
    assert migrate_cli(redis_url, prefix) == 0
    out = capsys.readouterr().out
    assert (
        summary_value(out, "threads")
        == "60 done: 33 copied, 27 already migrated; 0 failed"
    )
    # every thread once: its checkpoint and exactly its 2 writes
    for tid in all_ids(ids):
        got = target.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
        )
        assert got is not None and len(got.pending_writes) == 2
    assert migrate_cli(redis_url, prefix) == 0
    assert "0 copied, 60 already migrated" in capsys.readouterr().out


def test_thread_changed_during_the_run(
    redis_url: str,
    has_search: bool,
    prefix: str,
    target: ShallowRedisSaver,
    cleanup: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if refused_here(has_search, redis_url, prefix, capsys):
        return
    ids = dataset(redis_url, prefix, dict.fromkeys(KINDS, 2))
    cleanup += all_ids(ids)
    once = ids["sync_shallow"][0]  # changes once, right after it was read
    always = ids["full"][0]  # changes after every read
    real = migration.read_thread

    def racing_read(client: Any, decoder: Any, prefixes: Any, source: Any) -> Any:
        data = real(client, decoder, prefixes, source)
        tid = source.thread_id
        if tid == always or (tid == once and not racing_read.done):  # type: ignore[attr-defined]
            racing_read.done = True  # type: ignore[attr-defined]
            kind = "full" if tid == always else "sync_shallow"
            write_bulk(redis_url, prefix, {kind: [tid]})  # a newer checkpoint
        return data

    racing_read.done = False  # type: ignore[attr-defined]
    monkeypatch.setattr(migration, "read_thread", racing_read)
    assert migrate_cli(redis_url, prefix) == 1
    out = capsys.readouterr().out
    assert (
        summary_value(out, "threads")
        == "5 done: 5 copied, 0 already migrated; 1 failed"
    )
    assert f"thread {always!r}: changed on the source during the migration" in out
    # the thread that changed once was copied in its newest state
    newest = upstream_tuple("sync_shallow", redis_url, prefix, once)
    ours = target.get_tuple({"configurable": {"thread_id": once, "checkpoint_ns": ""}})
    assert ours is not None and ours.checkpoint["id"] == newest.checkpoint["id"]


def test_delete_source_deletes_verified_threads_only(
    redis_url: str,
    has_search: bool,
    prefix: str,
    target: ShallowRedisSaver,
    client: redis.Redis,
    cleanup: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    if refused_here(has_search, redis_url, prefix, capsys):
        return
    ids = dataset(redis_url, prefix, dict.fromkeys(KINDS, 3))
    cleanup += all_ids(ids)
    kept = ids["async_shallow"][1]
    # the application already went on with our saver on this thread
    target.setup()
    theirs = upstream_tuple("async_shallow", redis_url, prefix, kept)
    newer = dict(theirs.checkpoint, id="ffffffff-ffff-6fff-8fff-ffffffffffff")
    target.put(
        {"configurable": {"thread_id": kept, "checkpoint_ns": ""}},
        newer,  # type: ignore[arg-type]
        theirs.metadata,
        dict(newer["channel_versions"]),
    )
    assert migrate_cli(redis_url, prefix, "--delete-source") == 1
    out = capsys.readouterr().out
    assert "source deleted    8 threads" in out
    assert f"thread {kept!r}: the target holds a newer checkpoint" in out
    cp, wp = upstream_prefixes(prefix)
    left = migration.discover(client, migration.UpstreamPrefixes(cp, wp))
    assert list(left) == [kept]
    for tid in all_ids(ids):
        registries = list(client.scan_iter(match=f"write_*:{tid}:*"))
        assert bool(registries) == (tid == kept), tid
    remaining = source_state(client, prefix, all_ids(ids))
    assert remaining and all(kept.encode() in k for k in remaining)
    # the deleted threads are in the target
    for tid in all_ids(ids):
        assert target.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
        )


def test_dry_run_and_thread_filter_write_nothing(
    redis_url: str,
    has_search: bool,
    prefix: str,
    target: ShallowRedisSaver,
    client: redis.Redis,
    cleanup: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    if refused_here(has_search, redis_url, prefix, capsys):
        return
    ids = dataset(redis_url, prefix, dict.fromkeys(KINDS, 2))
    cleanup += all_ids(ids)
    before = source_state(client, prefix, all_ids(ids))
    assert migrate_cli(redis_url, prefix, "--dry-run", "--delete-source") == 0
    out = capsys.readouterr().out
    assert "dry run, nothing written" in out and "6 of 6 threads" in out
    assert summary_value(out, "writes kept") == "12"
    assert list(client.scan_iter(match=f"{prefix}:*")) == []
    assert source_state(client, prefix, all_ids(ids)) == before

    one, two = ids["full"][0], ids["sync_shallow"][1]
    assert migrate_cli(redis_url, prefix, "--thread-id", one, "--thread-id", two) == 0
    assert "2 of 2 threads" in capsys.readouterr().out
    for tid in all_ids(ids):
        got = target.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
        )
        assert (got is not None) == (tid in (one, two))
    assert migrate_cli(redis_url, prefix, "--thread-id", "no-such-thread") == 1
    assert "thread 'no-such-thread': not found on the source" in capsys.readouterr().out
    assert migrate_cli(redis_url, prefix, "--limit", "1") == 0
    assert "1 of 1 threads" in capsys.readouterr().out


def test_values_come_across_as_upstream_returns_them(
    redis_url: str,
    has_search: bool,
    prefix: str,
    target: ShallowRedisSaver,
    cleanup: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Upstream's JSON step already changed some types; they stay changed."""
    import datetime
    import decimal
    import math

    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.redis.shallow import ShallowRedisSaver as Upstream

    if refused_here(has_search, redis_url, prefix, capsys):
        return
    tid = f"values-{uuid.uuid4().hex}"
    cleanup.append(tid)
    values = {
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        "naive": datetime.datetime(2026, 1, 2, 3, 4, 5),
        "id": uuid.UUID(int=7),
        "price": decimal.Decimal("1.10"),
        "tags": {"a"},
        "frozen": frozenset({1}),
        "pair": (1, 2),
        "intkeys": {1: "a"},
        "inf": math.inf,
        "blob": b"\x00\x01",
        "error": ValueError("boom"),
        "msg": [HumanMessage(content="hi", id="m1")],
        "plain": {"x": [1, 2.5, None, True]},
    }
    cp = empty_checkpoint()
    cp["channel_values"] = values
    cp["channel_versions"] = {k: "1" for k in values}
    ucp, uwp = upstream_prefixes(prefix)
    with Upstream.from_conn_string(
        redis_url, checkpoint_prefix=ucp, checkpoint_write_prefix=uwp
    ) as up:
        up.setup()
        config = up.put(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}},
            cp,
            {"source": "input", "step": -1, "parents": {}},
            dict(cp["channel_versions"]),
        )
        up.put_writes(
            config, [("when", values["when"]), ("price", values["price"])], "t1"
        )
        theirs = up.get_tuple({"configurable": {"thread_id": tid, "checkpoint_ns": ""}})
    assert theirs is not None
    assert migrate_cli(redis_url, prefix) == 0
    ours = target.get_tuple({"configurable": {"thread_id": tid, "checkpoint_ns": ""}})
    assert ours is not None
    assert ours.checkpoint["channel_values"] == theirs.checkpoint["channel_values"]
    assert ours.pending_writes == theirs.pending_writes
    got = ours.checkpoint["channel_values"]
    # what upstream had already changed before the migration (the table in
    # docs/migration.md): it stays changed, exactly as upstream returns it
    assert got["when"] == "2026-01-02T03:04:05+00:00"
    assert got["naive"] == "2026-01-02T03:04:05"
    assert got["id"] == "00000000-0000-0000-0000-000000000007"
    assert got["price"] == decimal.Decimal("0")
    assert got["frozen"] == frozenset()
    assert got["pair"] == [1, 2]
    assert got["intkeys"] == {"1": "a"}
    assert got["inf"] is None
    assert got["error"] == "ValueError('boom')"
    # and what upstream kept, it kept
    for name in ("tags", "blob", "msg", "plain"):
        assert got[name] == values[name], name


# -- usage and errors: before anything is written ---------------------------


def test_usage_errors(
    redis_url: str,
    prefix: str,
    client: redis.Redis,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["migrate", "--from-upstream", redis_url, "--to", redis_url, "--bogus"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["migrate", "--to", redis_url])
    assert exc.value.code == 2
    assert "--from-upstream" in capsys.readouterr().err
    assert main([]) == 2
    assert "migrate" in capsys.readouterr().err

    assert main(["migrate", "--from-upstream", "http://x", "--to", redis_url]) == 2
    assert "bad --from-upstream URL 'http://x'" in capsys.readouterr().err
    assert main(["migrate", "--from-upstream", redis_url, "--to", "http://x"]) == 2
    assert "cannot use redis_url 'http://x'" in capsys.readouterr().err
    assert migrate_cli(redis_url, prefix, "--checkpoint-prefix", "a{b}") == 2
    assert "braces" in capsys.readouterr().err
    assert main(["migrate", "--from-upstream", redis_url, "--to", redis_url,
                 "--checkpoint-prefix", "checkpoint"]) == 2  # fmt: skip
    assert "must differ from upstream's" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        migrate_cli(redis_url, prefix, "--limit", "0")
    assert "must be at least 1" in capsys.readouterr().err

    # unreachable source: exit 1, said plainly
    assert (
        main(["migrate", "--from-upstream", "redis://127.0.0.1:1", "--to", redis_url])
        == 1
    )
    assert "cannot reach the source redis://127.0.0.1:1" in capsys.readouterr().err

    # upstream not installed: which package and how, before touching anything
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.redis", None)
    assert migrate_cli(redis_url, prefix) == 2
    err = capsys.readouterr().err
    assert "pip install 'langgraph-checkpoint-redis==0.5.2'" in err
    assert list(client.scan_iter(match=f"{prefix}*")) == []


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["migrate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--from-upstream", "--to", "--checkpoint-prefix", "--checkpoint-write-prefix",
        "--upstream-checkpoint-prefix", "--upstream-checkpoint-write-prefix",
        "--thread-id", "--dry-run", "--delete-source", "--limit",
    ):  # fmt: skip
        assert option in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "migrate" in capsys.readouterr().out


def test_plain_server_is_refused_as_source(
    redis_url: str, has_search: bool, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if has_search:
        pytest.skip("the session's server has the modules; the plain run covers this")
    assert refused_here(has_search, redis_url, prefix, capsys)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_log_lines_otherwise() -> None:
    tty = Tty()
    show = migrate_cmd._progress_printer(tty)
    for done in range(1, 4):
        show(done, 3)
    text = tty.getvalue()
    assert text.count("\r[") == 3 and "3/3 threads" in text and text.endswith("/s\n")
    assert "#" * 30 in text

    log = io.StringIO()
    show = migrate_cmd._progress_printer(log)
    for done in range(1, 2501):
        show(done, 2500)
    lines = log.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "migrate: 1000/2500 threads",
        "migrate: 2000/2500 threads",
        "migrate: 2500/2500 threads",
    ]


def test_full_saver_without_its_key_registry(
    redis_url: str,
    has_search: bool,
    prefix: str,
    target: ShallowRedisSaver,
    cleanup: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Writes of a full saver that kept no ``write_keys_zset`` are found by
    their key prefix (upstream's own get_tuple fails on such data with an
    AttributeError in its fallback; the writes are those it was given)."""
    from langgraph.checkpoint.redis import RedisSaver

    if refused_here(has_search, redis_url, prefix, capsys):
        return
    real_setup = RedisSaver.setup

    def setup_without_registry(self: Any) -> None:
        real_setup(self)
        self._key_registry = None

    monkeypatch.setattr(RedisSaver, "setup", setup_without_registry)
    ids = dataset(redis_url, prefix, {"full": 2})
    cleanup += all_ids(ids)
    client = target.client
    assert not list(client.scan_iter(match=f"write_keys_zset:{ids['full'][0]}:*"))
    assert migrate_cli(redis_url, prefix) == 0
    out = capsys.readouterr().out
    assert summary_value(out, "writes kept") == "4"
    for tid in ids["full"]:
        ours = target.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
        )
        assert ours is not None
        assert ours.pending_writes == [
            ("task-new", "messages", [f"pending {tid}"]),
            ("task-new", "n", 3),
        ]


def test_ctrl_c_prints_what_was_done(
    redis_url: str,
    has_search: bool,
    prefix: str,
    target: ShallowRedisSaver,
    cleanup: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if refused_here(has_search, redis_url, prefix, capsys):
        return
    ids = dataset(redis_url, prefix, dict.fromkeys(KINDS, 2))
    cleanup += all_ids(ids)

    def printer(stream: Any) -> Any:
        def show(done: int, total: int) -> None:
            if done == 2:
                raise KeyboardInterrupt

        return show

    monkeypatch.setattr(migrate_cmd, "_progress_printer", printer)
    assert migrate_cli(redis_url, prefix) == 1
    out, err = capsys.readouterr()
    assert "2 of 6 threads" in out and "2 copied" in out
    assert "interrupted; run the same command again to finish" in err
    monkeypatch.undo()
    assert migrate_cli(redis_url, prefix) == 0
    out = capsys.readouterr().out
    assert (
        summary_value(out, "threads")
        == "6 done: 4 copied, 2 already migrated; 0 failed"
    )
