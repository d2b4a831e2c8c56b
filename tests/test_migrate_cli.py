"""The ``migrate`` command line: bulk data, resumption, races, deletion, errors.

The data is written by ``langgraph-checkpoint-redis`` 0.5.2 itself (its
``put`` / ``put_writes``, see ``tests/upstream_data.py``) on the session's
server. On a server without RedisJSON (``--redis-kind=plain``) the tests that
need upstream data assert instead that ``migrate`` refuses the source.
"""

from __future__ import annotations

import io
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver, migration
from langgraph.checkpoint.redis_shallow.cli import main
from langgraph.checkpoint.redis_shallow.cli import migrate as migrate_cmd
from langgraph.checkpoint.redis_shallow.cli._common import Progress
from tests.cli_support import saver_on
from tests.upstream_data import (
    KINDS,
    drop_upstream,
    migrate_cli,
    upstream_prefixes,
    upstream_tuple,
    write_bulk,
)


@dataclass
class Migrate:
    """One test's migration: upstream data under its prefixes on the
    session's server, our saver (``target``) on ``{prefix}:cp`` /
    ``{prefix}:w``, and the command line between them."""

    url: str
    prefix: str
    target: ShallowRedisSaver
    client: redis.Redis
    capsys: pytest.CaptureFixture[str]
    cleanup: list[str] = field(default_factory=list)
    """Thread ids whose upstream keys are dropped after the test."""

    def run(self, *extra: str, target: str | None = None) -> int:
        """``migrate`` from the test's upstream prefixes into its saver."""
        return migrate_cli(self.url, self.prefix, *extra, target=target)

    def output(self) -> pytest.CaptureResult[str]:
        """stdout and stderr since the last call (``.out``, ``.err``)."""
        return self.capsys.readouterr()

    def dataset(self, per_kind: dict[str, int]) -> dict[str, list[str]]:
        """Write bulk threads of each upstream kind; their ids by kind."""
        ids = {
            kind: [f"{kind}-{i}-{uuid.uuid4().hex[:8]}" for i in range(n)]
            for kind, n in per_kind.items()
        }
        write_bulk(self.url, self.prefix, ids)
        self.cleanup += all_ids(ids)
        return ids

    def source_state(self, thread_ids: list[str]) -> dict[bytes, Any]:
        """Every upstream key of the test with its DUMP (to prove nothing
        changed)."""
        cp, wp = upstream_prefixes(self.prefix)
        keys: set[bytes] = set()
        patterns = [f"{cp}*", f"{wp}*"] + [f"write_*:{t}:*" for t in thread_ids]
        for pattern in patterns:
            keys.update(self.client.scan_iter(match=pattern, count=1000))
        return {k: self.client.dump(k) for k in sorted(keys)}

    def assert_refused(self) -> None:
        """On a server without RedisJSON: migrate refuses the source (exit 2)."""
        assert self.run() == 2
        err = self.output().err
        assert "no RedisJSON module" in err and "RediSearch" in err, err


@pytest.fixture
def case(
    redis_url: str, prefix: str, capsys: pytest.CaptureFixture[str]
) -> Iterator[Migrate]:
    """The test's migration, on any server."""
    with saver_on(redis_url, prefix) as target:
        client = redis.Redis.from_url(redis_url)
        migrate = Migrate(redis_url, prefix, target, client, capsys)
        try:
            yield migrate
        finally:
            drop_upstream(redis_url, prefix, migrate.cleanup)
            client.close()


@pytest.fixture
def up(case: Migrate, has_search: bool) -> Migrate:
    """The test's migration on a server that holds upstream data (RedisJSON);
    on a plain server the test is skipped once the refusal is asserted."""
    if not has_search:
        case.assert_refused()
        pytest.skip("no RedisJSON here: migrate refuses the source (asserted)")
    return case


def all_ids(ids: dict[str, list[str]]) -> list[str]:
    return [t for kind in KINDS for t in ids.get(kind, [])]


def summary_value(out: str, label: str) -> str:
    for line in out.splitlines():
        if line.strip().startswith(label):
            return line.strip()[len(label) :].strip()
    raise AssertionError(f"no {label!r} in:\n{out}")


def test_bulk_1000_threads(
    up: Migrate,
) -> None:
    ids = up.dataset({"sync_shallow": 400, "async_shallow": 300, "full": 300})
    before = up.source_state(all_ids(ids))

    assert up.run() == 0
    out, err = up.output()
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
    assert up.source_state(all_ids(ids)) == before

    # what upstream's get_tuple returns is what ours returns, minus stale writes
    for kind in KINDS:
        for tid in ids[kind][:3]:
            theirs = upstream_tuple(kind, up.url, up.prefix, tid)
            ours = up.target.get_tuple(
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
    up: Migrate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = up.dataset(dict.fromkeys(KINDS, 20))
    cp, wp = upstream_prefixes(up.prefix)
    prefixes = migration.UpstreamPrefixes(cp, wp)

    # 1: stopped from the progress callback after 25 threads
    def stop_at_25(done: int, total: int) -> None:
        if done == 25:
            raise Stop

    with pytest.raises(Stop):
        migration.migrate_threads(up.client, up.target, prefixes, progress=stop_at_25)

    # 2: killed between a put and its put_writes (a crash mid-thread)
    calls = {"n": 0}
    real = ShallowRedisSaver.put_writes

    def dying_put_writes(self: ShallowRedisSaver, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Stop
        real(self, *args, **kwargs)

    monkeypatch.setattr(ShallowRedisSaver, "put_writes", dying_put_writes)
    up.target.setup()
    with pytest.raises(Stop):
        migration.migrate_threads(up.client, up.target, prefixes)
    monkeypatch.undo()

    # 3: the same command again finishes; 27 threads were complete already
    assert up.run() == 0
    out = up.output().out
    assert (
        summary_value(out, "threads")
        == "60 done: 33 copied, 27 already migrated; 0 failed"
    )
    # every thread once: its checkpoint and exactly its 2 writes
    for tid in all_ids(ids):
        got = up.target.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
        )
        assert got is not None and len(got.pending_writes) == 2
    assert up.run() == 0
    assert "0 copied, 60 already migrated" in up.output().out


def test_thread_changed_during_the_run(
    up: Migrate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = up.dataset(dict.fromkeys(KINDS, 2))
    once = ids["sync_shallow"][0]  # changes once, right after it was read
    always = ids["full"][0]  # changes after every read
    real = migration.read_thread

    def racing_read(client: Any, decoder: Any, prefixes: Any, source: Any) -> Any:
        data = real(client, decoder, prefixes, source)
        tid = source.thread_id
        if tid == always or (tid == once and not racing_read.done):  # type: ignore[attr-defined]
            racing_read.done = True  # type: ignore[attr-defined]
            kind = "full" if tid == always else "sync_shallow"
            write_bulk(up.url, up.prefix, {kind: [tid]})  # a newer checkpoint
        return data

    racing_read.done = False  # type: ignore[attr-defined]
    monkeypatch.setattr(migration, "read_thread", racing_read)
    assert up.run() == 1
    out = up.output().out
    assert (
        summary_value(out, "threads")
        == "5 done: 5 copied, 0 already migrated; 1 failed"
    )
    assert f"thread {always!r}: changed on the source during the migration" in out
    # the thread that changed once was copied in its newest state
    newest = upstream_tuple("sync_shallow", up.url, up.prefix, once)
    ours = up.target.get_tuple(
        {"configurable": {"thread_id": once, "checkpoint_ns": ""}}
    )
    assert ours is not None and ours.checkpoint["id"] == newest.checkpoint["id"]


def test_delete_source_deletes_verified_threads_only(
    up: Migrate,
) -> None:
    ids = up.dataset(dict.fromkeys(KINDS, 3))
    kept = ids["async_shallow"][1]
    # the application already went on with our saver on this thread
    up.target.setup()
    theirs = upstream_tuple("async_shallow", up.url, up.prefix, kept)
    newer = dict(theirs.checkpoint, id="ffffffff-ffff-6fff-8fff-ffffffffffff")
    up.target.put(
        {"configurable": {"thread_id": kept, "checkpoint_ns": ""}},
        newer,  # type: ignore[arg-type]
        theirs.metadata,
        dict(newer["channel_versions"]),
    )
    assert up.run("--delete-source") == 1
    out = up.output().out
    assert "source deleted    8 threads" in out
    assert f"thread {kept!r}: the target holds a newer checkpoint" in out
    cp, wp = upstream_prefixes(up.prefix)
    left = migration.discover(up.client, migration.UpstreamPrefixes(cp, wp))
    assert list(left) == [kept]
    for tid in all_ids(ids):
        registries = list(up.client.scan_iter(match=f"write_*:{tid}:*"))
        assert bool(registries) == (tid == kept), tid
    remaining = up.source_state(all_ids(ids))
    assert remaining and all(kept.encode() in k for k in remaining)
    # the deleted threads are in the target
    for tid in all_ids(ids):
        assert up.target.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
        )


def test_writes_wait_for_the_targets_replicas(up: Migrate, replicated: Any) -> None:
    # the target: a primary with one replica; with --wait-for-replicas 1
    # every copied thread is on the replica when the command returns
    ids = up.dataset(dict.fromkeys(KINDS, 1))
    primary, replica = replicated
    args = ("--wait-for-replicas", "1", "--wait-timeout", "2")
    assert up.run(*args, target=primary.url) == 0
    assert "3 of 3 threads" in up.output().out
    with ShallowRedisSaver.from_conn_string(
        replica.url,
        checkpoint_prefix=f"{up.prefix}:cp",
        checkpoint_write_prefix=f"{up.prefix}:w",
    ) as on_replica:
        for tid in all_ids(ids):
            config = {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
            assert on_replica.get_tuple(config) is not None
    with saver_on(primary.url, up.prefix):
        pass  # its keys on the primary are dropped on exit


def test_dry_run_and_thread_filter_write_nothing(
    up: Migrate,
) -> None:
    ids = up.dataset(dict.fromkeys(KINDS, 2))
    before = up.source_state(all_ids(ids))
    assert up.run("--dry-run", "--delete-source") == 0
    out = up.output().out
    assert "dry run, nothing written" in out and "6 of 6 threads" in out
    assert summary_value(out, "writes kept") == "12"
    assert list(up.client.scan_iter(match=f"{up.prefix}:*")) == []
    assert up.source_state(all_ids(ids)) == before

    one, two = ids["full"][0], ids["sync_shallow"][1]
    assert up.run("--thread-id", one, "--thread-id", two) == 0
    assert "2 of 2 threads" in up.output().out
    for tid in all_ids(ids):
        got = up.target.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
        )
        assert (got is not None) == (tid in (one, two))
    assert up.run("--thread-id", "no-such-thread") == 1
    assert "thread 'no-such-thread': not found on the source" in up.output().out
    assert up.run("--limit", "1") == 0
    assert "1 of 1 threads" in up.output().out
    # --json: the summary as one JSON document
    assert up.run("--thread-id", one, "--thread-id", "no-such-thread", "--json") == 1
    data = json.loads(up.output().out)
    assert data["threads_total"] == 1 and data["threads_done"] == 1
    assert data["failures"] == [
        {"thread_id": "no-such-thread", "reason": "not found on the source"}
    ]


def test_values_come_across_as_upstream_returns_them(
    up: Migrate,
) -> None:
    """Upstream's JSON step already changed some types; they stay changed."""
    import datetime
    import decimal
    import math

    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.redis.shallow import ShallowRedisSaver as Upstream

    tid = f"values-{uuid.uuid4().hex}"
    up.cleanup.append(tid)
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
    ucp, uwp = upstream_prefixes(up.prefix)
    with Upstream.from_conn_string(
        up.url, checkpoint_prefix=ucp, checkpoint_write_prefix=uwp
    ) as source:
        source.setup()
        config = source.put(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}},
            cp,
            {"source": "input", "step": -1, "parents": {}},
            dict(cp["channel_versions"]),
        )
        source.put_writes(
            config, [("when", values["when"]), ("price", values["price"])], "t1"
        )
        theirs = source.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
        )
    assert theirs is not None
    assert up.run() == 0
    ours = up.target.get_tuple(
        {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
    )
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
    case: Migrate,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redis_url, prefix, client = case.url, case.prefix, case.client
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
    assert migrate_cli(redis_url, prefix, "--wait-for-replicas", "-1") == 2
    assert "wait_for_replicas must be an int >= 0" in capsys.readouterr().err
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
        "--wait-for-replicas", "--wait-timeout",
    ):  # fmt: skip
        assert option in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "migrate" in capsys.readouterr().out


def test_plain_server_is_refused_as_source(case: Migrate, has_search: bool) -> None:
    if has_search:
        pytest.skip("the session's server has the modules; the plain run covers this")
    case.assert_refused()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_log_lines_otherwise() -> None:
    # the shared progress line (cli._common.Progress), redrawn at most ten
    # times a second and always at the end
    tty = Tty()
    progress = Progress("migrate", tty, log_every=migrate_cmd.LOG_EVERY)
    show = migrate_cmd._progress_callback(progress)
    for done in range(4):
        show(done, 3)
    progress.done()
    text = tty.getvalue()
    assert text.startswith("\r\x1b[Kmigrate: 1/3 threads, ")
    assert text.count("\r\x1b[Kmigrate: ") in (2, 3)  # 2/3 may come too soon
    assert "\r\x1b[Kmigrate: 3/3 threads, " in text and text.endswith("/s\n")

    log = io.StringIO()
    progress = Progress("migrate", log, log_every=migrate_cmd.LOG_EVERY)
    show = migrate_cmd._progress_callback(progress)
    for done in range(2501):
        show(done, 2500)
    progress.done()
    lines = log.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "migrate: 1000/2500 threads",
        "migrate: 2000/2500 threads",
        "migrate: 2500/2500 threads",
    ]


def test_full_saver_without_its_key_registry(
    up: Migrate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Writes of a full saver that kept no ``write_keys_zset`` are found by
    their key up.prefix (upstream's own get_tuple fails on such data with an
    AttributeError in its fallback; the writes are those it was given)."""
    from langgraph.checkpoint.redis import RedisSaver

    real_setup = RedisSaver.setup

    def setup_without_registry(self: Any) -> None:
        real_setup(self)
        self._key_registry = None

    monkeypatch.setattr(RedisSaver, "setup", setup_without_registry)
    ids = up.dataset({"full": 2})
    assert not list(up.client.scan_iter(match=f"write_keys_zset:{ids['full'][0]}:*"))
    assert up.run() == 0
    out = up.output().out
    assert summary_value(out, "writes kept") == "4"
    for tid in ids["full"]:
        ours = up.target.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
        )
        assert ours is not None
        assert ours.pending_writes == [
            ("task-new", "messages", [f"pending {tid}"]),
            ("task-new", "n", 3),
        ]


def test_ctrl_c_prints_what_was_done(
    up: Migrate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    up.dataset(dict.fromkeys(KINDS, 2))

    def callback(progress: Any) -> Any:
        def show(done: int, total: int) -> None:
            if done == 2:
                raise KeyboardInterrupt

        return show

    monkeypatch.setattr(migrate_cmd, "_progress_callback", callback)
    # the status of every command's Ctrl-C (EXIT_INTERRUPTED), after the
    # summary of what was done
    assert up.run() == 130
    out, err = up.output()
    assert "2 of 6 threads" in out and "2 copied" in out
    assert "\nmigrate: interrupted; run the same command again to finish" in err
    monkeypatch.undo()
    assert up.run() == 0
    out = up.output().out
    assert (
        summary_value(out, "threads")
        == "6 done: 4 copied, 2 already migrated; 0 failed"
    )


# -- credentials and the serde -------------------------------------------------


@pytest.mark.parametrize("side", ["source", "target"])
def test_unreachable_urls_are_shown_without_their_password(
    case: Migrate, side: str
) -> None:
    """Nothing listens on port 1: the error names the URL, never its
    password (docs/operations.md)."""
    secret = "s3cr3t-" + uuid.uuid4().hex[:8]
    dead = f"redis://admin:{secret}@127.0.0.1:1/0"
    cp, wp = upstream_prefixes(case.prefix)
    argv = [
        "migrate",
        "--from-upstream",
        dead if side == "source" else case.url,
        "--to",
        dead if side == "target" else case.url,
        "--upstream-checkpoint-prefix",
        cp,
        "--upstream-checkpoint-write-prefix",
        wp,
        "--checkpoint-prefix",
        f"{case.prefix}:cp",
        "--checkpoint-write-prefix",
        f"{case.prefix}:w",
    ]
    from langgraph.checkpoint.redis_shallow.cli import main

    status = main(argv)
    out = case.output()
    if side == "target" and "no RedisJSON module" in out.err:
        pytest.skip("a plain server is refused as the source before the target")
    assert status == 1, out.err
    assert f"cannot {'reach' if side == 'source' else 'use'} the {side}" in out.err
    assert "redis://admin:***@127.0.0.1:1/0" in out.err
    assert secret not in out.err + out.out


def test_serde_encrypts_what_migrate_writes(
    up: Migrate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--serde`` names the serde the target is written with (the source is
    read with upstream's default): with an EncryptedSerializer no value is
    stored in clear, and a saver with that serde reads what upstream
    returned."""
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    monkeypatch.setenv("LANGGRAPH_AES_KEY", "0123456789abcdef")
    (tmp_path / "mig_serde.py").write_text(
        "from langgraph.checkpoint.serde.encrypted import EncryptedSerializer\n"
        "serde = EncryptedSerializer.from_pycryptodome_aes()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    ids = up.dataset({"sync_shallow": 2, "full": 2})
    before = {
        t: upstream_tuple(kind, up.url, up.prefix, t)
        for kind, threads in ids.items()
        for t in threads
    }
    assert up.run("--serde", "mig_serde:serde") == 0
    up.output()
    hashes = [
        k
        for k in up.client.scan_iter(match=f"{up.prefix}:cp:*")
        if up.client.type(k) == b"hash"
    ]
    assert len(hashes) == len(before)
    for key in hashes:
        stored = b"".join(up.client.hvals(key))
        # the messages (upstream_data.bulk_ops) are not there in clear
        assert b"hi there" not in stored and b"pending " not in stored, key
        assert b"msgpack+aes" in stored, key
    serde = EncryptedSerializer.from_pycryptodome_aes()
    with saver_on(up.url, up.prefix, serde=serde) as reader:
        for t, theirs in before.items():
            ours = reader.get_tuple(
                {"configurable": {"thread_id": t, "checkpoint_ns": ""}}
            )
            assert ours is not None and theirs is not None
            assert (
                ours.checkpoint["channel_values"] == theirs.checkpoint["channel_values"]
            )
            # upstream's shallow savers also return the writes of the
            # previous checkpoint ("task-old"), which a migration drops
            current = [w for w in theirs.pending_writes if w[0] == "task-new"]
            assert sorted(ours.pending_writes, key=repr) == sorted(current, key=repr)
            assert len(ours.pending_writes) == 2
