"""The admin command line (``lgshallow``): every command on the session's
server (with modules, and with ``--redis-kind plain`` without them), text
and ``--json`` output, errors and exit statuses, and the backup round trip
under a real graph compared with ``InMemorySaver``."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver, backup, inventory
from langgraph.checkpoint.redis_shallow.cli._common import Progress
from langgraph.checkpoint.redis_shallow.compression import is_envelope
from langgraph.checkpoint.redis_shallow.layout import LAYOUT_VERSION
from tests.builders import layout_key, saver_prefixes
from tests.cli_support import Cli, cfg, messages_of, prefixes, review_graph, saver_on


@pytest.fixture
def saver(redis_url: str, prefix: str) -> Iterator[ShallowRedisSaver]:
    """The test's saver (set up); everything under its prefix dropped after."""
    with saver_on(redis_url, prefix) as s:
        s.setup()
        yield s


@pytest.fixture
def cli(redis_url: str, prefix: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """The command line on the test's server and prefixes."""
    return Cli(redis_url, prefix, capsys)


def chat(saver: ShallowRedisSaver, thread_id: str, *texts: str) -> None:
    """Turns of the review graph up to its interrupt (each text a new run)."""
    graph = review_graph(saver)
    for text in texts:
        graph.invoke({"messages": [("user", text)]}, cfg(thread_id))


def keys_under(client: redis.Redis, prefix: str) -> set[bytes]:
    return set(client.scan_iter(match=f"{prefix}:*", count=1000))


# -- stats and threads ---------------------------------------------------------


def test_stats(cli: Cli, saver: ShallowRedisSaver, has_search: bool) -> None:
    chat(saver, "a", "hello")
    chat(saver, "b", "hi", "again")
    with saver_on(cli.url, cli.prefix, ttl={"default_ttl": 30}) as expiring:
        expiring.setup()  # else it writes search entries on a plain server
        chat(expiring, "c", "soon gone")
        r = cli("--json", "stats")
        assert r.status == 0, r.err
        data = r.json()
        # namespaces: the root and the review subgraph's, one per run
        namespaces = sum(len(saver.dump_thread(t)) for t in "abc")
        assert namespaces == 7  # b's second run has its own subgraph namespace
        assert data["threads"] == 3
        assert data["namespaces"] == namespaces
        # a registry per thread, a hash and (with Search) an entry per namespace
        assert data["keys"] == len(keys_under(saver.client, cli.prefix)) - 1
        assert data["keys"] == 3 + namespaces * (2 if has_search else 1)
        assert data["found_by"] == ("index" if has_search else "scan")
        sizes = sorted(t["bytes"] for t in data["largest"])
        assert len(sizes) == 3 and sum(sizes) == data["bytes"]
        assert data["bytes_per_thread"]["median"] == sizes[1]
        assert data["bytes_per_thread"]["p99"] == data["bytes_per_thread"]["max"]
        assert data["bytes_per_thread"]["max"] == sizes[2]
        assert data["largest"][0]["thread_id"] == "b"  # two turns
        ttl = data["ttl"]
        assert ttl["threads_with_ttl"] == 1 and ttl["threads_without_ttl"] == 2
        assert 1700 < ttl["min_s"] <= 1800 and ttl["min_s"] == ttl["max_s"]

        r = cli("stats", "--scan", "--count", "5", "--pause", "0.001")
        assert r.status == 0, r.err
        lines = dict(
            line.split(None, 1) for line in r.out.splitlines() if line[:1] != " "
        )
        assert lines["threads"] == "3"
        assert lines["namespaces"] == "7"
        assert lines["found"] == "by     SCAN (COUNT 5, pause 0.001 s)"
        assert re.search(
            r"^TTL +1 of 3 threads expire: in (29m \d+s|30m 0s) ", r.out, re.M
        )
        assert r.out.count(" b\n") == 1  # largest first
        assert r.err == ""  # not a terminal: no progress


def test_threads(cli: Cli, saver: ShallowRedisSaver, has_search: bool) -> None:
    for tid in ("t1", "t2", "t3"):
        chat(saver, tid, f"question {tid}")
    chat(saver, "t1", "later")  # t1 is now the newest
    r = cli("--json", "threads")
    assert r.status == 0, r.err
    rows = r.json()["threads"]
    assert [row["thread_id"] for row in rows] == ["t1", "t3", "t2"]
    stored = saver.get_tuple(cfg("t1", ""))
    assert stored is not None
    assert rows[0]["checkpoint_id"] == stored.checkpoint["id"]
    assert rows[0]["step"] == stored.metadata["step"]
    assert rows[0]["namespaces"] == 3 and rows[0]["ttl_s"] is None  # 2 runs
    assert rows[0]["bytes"] > rows[1]["bytes"]

    r = cli("threads", "--limit", "1")
    assert r.status == 0
    header, row, footer = r.out.splitlines()
    assert header.split() == ["THREAD", "CHECKPOINT", "STEP", "NS", "BYTES", "TTL"]
    if has_search:  # newest first through the index: the limit keeps the newest
        assert row.split()[:3] == [
            "t1",
            stored.checkpoint["id"],
            str(stored.metadata["step"]),
        ]
        assert footer == "1 thread(s), newest first (search index)"
    else:
        assert footer.endswith(
            "found by SCAN: sorted by checkpoint id within what was found"
        )

    step = stored.metadata["step"]
    r = cli("--json", "threads", "--filter", f"step={step}")
    assert [row["thread_id"] for row in r.json()["threads"]] == ["t1"]
    r = cli("--json", "threads", "--filter", "source=loop", "--filter", "step=-99")
    assert r.json()["threads"] == []
    r = cli("threads", "--filter", "nokey")
    assert r.status == 2 and "expected KEY=VALUE" in r.err


# -- show ------------------------------------------------------------------------


def test_show(cli: Cli, saver: ShallowRedisSaver, has_search: bool) -> None:
    chat(saver, "s", "order 1234 arrived broken")
    r = cli("show", "s")
    assert r.status == 0, r.err
    text = r.out
    assert "thread 's'  namespace ''  checkpoint" in text
    assert "      [human] order 1234 arrived broken" in text
    assert "      [ai] draft for order 1234 arrived broken" in text
    assert "    source: 'loop'" in text
    # the pending interrupt of the root namespace: task, channel, value
    assert "channel __interrupt__" in text
    assert "review': 'draft for order 1234 arrived broken'" in text
    assert "namespace 'review:" in text  # the subgraph's namespace too

    data = cli("--json", "show", "s").json()
    root, sub = data["namespaces"]
    assert root["checkpoint_ns"] == "" and sub["checkpoint_ns"].startswith("review:")
    tup = saver.get_tuple(cfg("s", ""))
    assert tup is not None
    assert root["checkpoint_id"] == tup.checkpoint["id"]
    assert root["metadata"]["step"] == tup.metadata["step"]
    messages = next(c for c in root["channels"] if c["channel"] == "messages")
    assert messages["value"] == [
        {"role": "human", "text": "order 1234 arrived broken"},
        {"role": "ai", "text": "draft for order 1234 arrived broken"},
    ]
    assert [(w["task_id"], w["channel"]) for w in root["pending_writes"]] == [
        (t, c) for t, c, _ in tup.pending_writes
    ]
    stored = saver.dump_thread("s")
    root_fields = next(s.fields for s in stored if s.checkpoint_ns == "")
    assert root["bytes"] == sum(len(k) + len(v) for k, v in root_fields.items())
    # every field is in one of the parts shown
    parts = (
        root["checkpoint_bytes"]
        + root["metadata_bytes"]
        + len(b"id") + len(root["checkpoint_id"])
        + sum(c["bytes"] for c in root["channels"])
        + sum(w["bytes"] for w in root["pending_writes"])
        + root["other_writes"]["bytes"]
        + root["other_fields"]["bytes"]
    )  # fmt: skip
    assert parts == root["bytes"]
    assert root["other_fields"]["count"] == (2 if has_search else 0)  # run, solo
    assert messages["bytes"] < root["bytes"]

    # a value stored compressed (4 KiB or more) is shown as any other
    chat(saver, "big", "y" * 5000)
    assert any(
        is_envelope(v)
        for s in saver.dump_thread("big")
        for k, v in s.fields.items()
        if k.startswith(b"v:8:messages:")
    )
    r = cli("show", "big")
    assert r.status == 0 and "      [human] " + "y" * 200 in r.out
    assert "(5008 characters; --full shows all)" in r.out
    assert "y" * 5000 in cli("show", "big", "--full").out

    only = cli("--json", "show", "s", "--ns", sub["checkpoint_ns"]).json()
    assert [n["checkpoint_ns"] for n in only["namespaces"]] == [sub["checkpoint_ns"]]
    r = cli("show", "s", "--ns", "nope")
    assert r.status == 3 and "has no namespace 'nope'" in r.err
    r = cli("show", "no-such-thread")
    assert r.status == 3 and "no thread 'no-such-thread'" in r.err


def test_show_encrypted_values(
    cli: Cli,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    monkeypatch.setenv("LANGGRAPH_AES_KEY", "0123456789abcdef")
    serde = EncryptedSerializer.from_pycryptodome_aes()
    (tmp_path / "my_serde.py").write_text(
        "from langgraph.checkpoint.serde.encrypted import EncryptedSerializer\n"
        "def make():\n"
        "    return EncryptedSerializer.from_pycryptodome_aes()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with saver_on(redis_url, prefix, serde=serde) as enc:
        chat(enc, "secret", "my card number")
        r = cli("show", "secret")
        assert r.status == 0, r.err
        assert "my card number" not in r.out
        assert "could not decode: serde type 'msgpack+aes'" in r.out
        assert "value(s) could not be decoded with this serde" in r.out
        data = cli("--json", "show", "secret").json()
        root = data["namespaces"][0]
        assert root["metadata"]["undecodable"] == "msgpack+aes"

        r = cli("--serde", "my_serde:make", "show", "secret")
        assert r.status == 0, r.err
        assert "[human] my card number" in r.out and "could not" not in r.out
        r = cli("show", "secret", "--serde", "my_serde:nothing")
        assert r.status == 2 and "--serde 'my_serde:nothing'" in r.err
        r = cli("show", "secret", "--serde", "json:dumps")
        assert r.status == 2


# -- delete and prune ------------------------------------------------------------


class Tty(io.StringIO):
    """A terminal for stdin (with the user's answer) or stderr."""

    def isatty(self) -> bool:
        return True


def test_delete(
    cli: Cli,
    saver: ShallowRedisSaver,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for tid in ("d1", "d2", "d3"):
        chat(saver, tid, "hi")
    # no terminal and no --yes: refused, nothing deleted
    r = cli("delete", "d1")
    assert r.status == 2 and "pass --yes" in r.err
    # a terminal: asked; "n" keeps the thread
    monkeypatch.setattr(sys, "stdin", Tty("n\n"))
    r = cli("delete", "d1")
    assert r.status == 1 and "Delete 1 thread(s): 'd1'? [y/N]" in r.err
    assert saver.get_tuple(cfg("d1")) is not None
    monkeypatch.setattr(sys, "stdin", Tty("y\n"))
    r = cli("delete", "d1")
    assert r.status == 0 and r.out == "deleted 1 thread(s)\n"
    assert saver.get_tuple(cfg("d1")) is None
    assert list(saver.list(cfg("d1"))) == []
    # an unknown thread: the others are deleted, exit 3 names it
    r = cli("--json", "delete", "d2", "ghost", "--yes")
    assert r.status == 3
    assert r.json() == {"deleted": ["d2"], "not_found": ["ghost"]}
    assert saver.get_tuple(cfg("d2")) is None
    assert saver.get_tuple(cfg("d3")) is not None
    r = cli("delete", "--yes")
    assert r.status == 2 and "name the threads" in r.err


def test_writes_wait_for_replicas(
    replicated: Any, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--wait-for-replicas``: a command's writes return once the replica
    has them; asking for more replicas than there are fails with exit 1,
    saying the write is on the primary only."""
    primary, replica = replicated
    cli = Cli(primary.url, prefix, capsys)
    with (
        saver_on(primary.url, prefix) as s,
        ShallowRedisSaver.from_conn_string(
            replica.url, **saver_prefixes(prefix)
        ) as on_replica,
    ):
        for tid in ("w1", "w2"):
            s.put(cfg(tid, ""), _checkpoint(), {}, {})
        r = cli("--wait-for-replicas", "1", "delete", "w1", "--yes")
        assert r.status == 0, r.err
        # no sleep: the command returned after the replica acknowledged
        assert on_replica.get_tuple(cfg("w1")) is None
        assert on_replica.get_tuple(cfg("w2")) is not None
        r = cli(
            "delete", "w2", "--yes", "--wait-for-replicas", "2", "--wait-timeout", "0.1"
        )
        assert r.status == 1
        assert "replica" in r.err, r.err
        assert s.get_tuple(cfg("w2")) is None  # on the primary all the same
        r = cli("--wait-for-replicas", "-1", "stats")
        assert r.status == 2 and "wait_for_replicas" in r.err


def _checkpoint() -> Any:
    from langgraph.checkpoint.base import empty_checkpoint

    return empty_checkpoint()


def test_delete_run(cli: Cli, saver: ShallowRedisSaver, has_search: bool) -> None:
    from langgraph.checkpoint.base import empty_checkpoint

    cp = empty_checkpoint()
    saver.put(cfg("r1", ""), cp, {"run_id": "run-1"}, {})
    r = cli("delete", "--run-id", "run-1", "--yes")
    if not has_search:
        assert r.status == 1
        assert "needs the Redis Search module" in r.err
        assert saver.get_tuple(cfg("r1")) is not None
        return
    assert r.status == 0, r.err
    assert r.out == "undone: run(s) run-1\n"
    assert saver.get_tuple(cfg("r1")) is None


def test_prune(cli: Cli, saver: ShallowRedisSaver, prefix: str) -> None:
    chat(saver, "p1", "hi", "again")
    chat(saver, "p2", "hi")
    before = saver.get_tuple(cfg("p1", ""))
    # writes of other checkpoints (the parent's) are dropped, get_tuple is unchanged
    root = next(s for s in saver.dump_thread("p1") if s.checkpoint_ns == "")
    assert any(f[:1].isdigit() for f in root.fields)
    r = cli("--json", "prune", "p1", "ghost")
    assert r.status == 3
    assert r.json() == {"strategy": "keep_latest", "threads": 1, "not_found": ["ghost"]}
    assert saver.get_tuple(cfg("p1", "")) == before
    r = cli("prune", "--all")
    assert r.status == 0 and r.out == "pruned (keep_latest) 2 thread(s)\n"
    # delete_all (the LangGraph server's name) deletes, as delete does
    r = cli("--json", "prune", "p1", "--strategy", "delete_all", "--yes")
    assert r.status == 0 and r.json()["threads"] == 1
    assert saver.get_tuple(cfg("p1", "")) is None
    assert saver.get_tuple(cfg("p2")) is not None
    r = cli("prune", "--all", "--strategy", "delete", "--yes")
    assert r.status == 0 and r.out == "deleted 1 thread(s)\n"
    assert saver.get_tuple(cfg("p2")) is None
    assert keys_under(saver.client, prefix) == {
        layout_key(prefix),
        *(saver.keys.tombstone(t).encode() for t in ("p1", "p2")),
    }


# -- export and import -------------------------------------------------------------


def test_round_trip_under_a_graph(
    cli: Cli,
    saver: ShallowRedisSaver,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    has_search: bool,
) -> None:
    """export, delete, import: every get_tuple as before, and the graph goes
    on as it does on InMemorySaver."""
    graph = review_graph(saver)
    threads = ["rt-a", "rt-b", "rt/ü:{x}"]
    for tid in threads:
        graph.invoke({"messages": [("user", f"refund for {tid}")]}, cfg(tid))

    def everything() -> dict[str, Any]:
        return {tid: list(saver.list(cfg(tid))) for tid in threads}

    before = everything()
    assert all(len(v) == 2 for v in before.values())
    out = tmp_path / "backup.jsonl.gz"
    r = cli("--json", "export", *threads[:2], "--out", str(out))
    assert r.status == 0, r.err
    assert r.json()["threads"] == 2 and r.json()["namespaces"] == 4
    assert out.read_bytes()[:2] == b"\x1f\x8b"  # gzip, as the name says
    r = cli("export", threads[2], "--out", str(tmp_path / "one.jsonl"))
    assert r.status == 0 and "exported 1 thread(s), 2 namespace(s)" in r.out
    assert not list(tmp_path.glob("*.partial"))
    assert cli("delete", *threads, "--yes").status == 0
    assert all(saver.get_tuple(cfg(t)) is None for t in threads)

    r = cli("import", str(out))
    assert r.status == 0, r.err
    assert r.out.startswith(f"imported {out}: 2 thread(s) restored, 0 already")
    assert cli("import", str(tmp_path / "one.jsonl")).status == 0
    assert everything() == before
    if has_search:  # the index finds them again
        found = {t.config["configurable"]["thread_id"] for t in saver.list(None)}
        assert found == set(threads)
    # idempotent
    r = cli("--json", "import", str(out))
    assert r.status == 0
    assert r.json()["restored"] == 0 and r.json()["unchanged"] == 2

    # the graph goes on as on InMemorySaver
    memory = InMemorySaver()
    reference = review_graph(memory)
    tid = threads[0]
    reference.invoke({"messages": [("user", f"refund for {tid}")]}, cfg(tid))
    for g in (graph, reference):
        g.invoke(Command(resume="approved"), cfg(tid))
    ours, theirs = graph.get_state(cfg(tid)), reference.get_state(cfg(tid))
    assert messages_of(ours.values) == messages_of(theirs.values)
    assert messages_of(ours.values)[-1] == ("ai", "decision: approved")
    assert ours.next == theirs.next == ()

    # delete_thread after an import leaves nothing behind but the tombstones
    for t in threads:
        saver.delete_thread(t)
    assert keys_under(saver.client, prefix) == {
        layout_key(prefix),
        *(saver.keys.tombstone(t).encode() for t in threads),
    }


def test_export_all_to_other_prefixes_and_stdout(
    cli: Cli,
    saver: ShallowRedisSaver,
    redis_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat(saver, "x1", "a")
    chat(saver, "x2", "b")
    out = tmp_path / "all.jsonl"
    r = cli("export", "--out", str(out))
    assert r.status == 0 and "exported 2 thread(s), 4 namespace(s)" in r.out
    lines = out.read_text().splitlines()
    header, end = json.loads(lines[0]), json.loads(lines[-1])
    assert header["format"] == backup.FORMAT and header["version"] == 1
    assert header["layout_version"] == LAYOUT_VERSION
    assert header["checkpoint_prefix"] == prefixes(cli.prefix)[0]
    assert end == {"end": True, "threads": 2, "namespaces": 4}
    assert sorted(json.loads(line)["thread"] for line in lines[1:-1]) == ["x1", "x2"]

    other = "o" + uuid.uuid4().hex[:10]
    with saver_on(redis_url, other) as target:
        r = Cli(redis_url, other, capsys)("import", str(out))
        assert r.status == 0, r.err
        for tid in ("x1", "x2"):
            assert list(target.list(cfg(tid))) == list(saver.list(cfg(tid)))

    # stdout: the file on stdout, the summary on stderr
    r = cli("export", "x1", "--out", "-")
    assert r.status == 0 and "exported 1 thread(s)" in r.err
    assert json.loads(r.out.splitlines()[0])["format"] == backup.FORMAT
    # and back from stdin
    saver.delete_thread("x1")
    monkeypatch.setattr(sys, "stdin", io.StringIO(r.out))
    r = cli("import", "-")
    assert r.status == 0 and r.out.startswith("imported stdin: 1 thread(s) restored")
    assert saver.get_tuple(cfg("x1")) is not None


def test_import_refuses_what_is_not_an_export(
    cli: Cli, saver: ShallowRedisSaver, prefix: str, tmp_path: Path
) -> None:
    chat(saver, "f1", "a")
    chat(saver, "f2", "b")
    good = tmp_path / "good.jsonl"
    assert cli("export", "--out", str(good)).status == 0
    lines = good.read_text().splitlines()
    cli("delete", "f1", "f2", "--yes")
    keys = keys_under(saver.client, prefix)

    def file(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return str(path)

    header = json.loads(lines[0])
    cases = {
        file("notes.txt", "hello\nworld\n"): "is not an export",
        file("empty.jsonl", ""): "is not an export",
        file("binary.bin", b"\x00\xff\xfe" * 50): "not an export",
        file("gz.gz", gzip.compress(b"hello")): "is not an export",
        file("v9.jsonl", json.dumps({**header, "version": 9}) + "\n"): (
            "backup format version 9; this version of "
            "langgraph-checkpoint-redis-shallow reads version 1 only"
        ),
        file("l7.jsonl", json.dumps({**header, "layout_version": 7}) + "\n"): (
            "holds storage layout 7"
        ),
        str(tmp_path / "missing.jsonl"): "cannot open",
    }
    for path, message in cases.items():
        r = cli("import", path)
        assert r.status == 2, (path, r)
        assert message in r.err, (path, r.err)
        assert keys_under(saver.client, prefix) == keys  # nothing written

    # truncated (no end line): what came before is restored, exit 1
    r = cli("import", file("cut.jsonl", "\n".join(lines[:2]) + "\n"))
    assert r.status == 1 and "is truncated" in r.out
    assert saver.get_tuple(cfg("f1")) is not None or saver.get_tuple(cfg("f2"))
    # a damaged record in the middle: exit 1, names the line
    r = cli("import", file("bad.jsonl", "\n".join([lines[0], "{oops", *lines[1:]])))
    assert r.status == 1 and "bad.jsonl, line 2: not a JSON record" in r.err

    # a thread holding other data is not overwritten without --replace
    first = json.loads(lines[1])["thread"]
    saver.delete_thread(first)
    chat(saver, first, "something else")
    r = cli("import", str(good))
    assert r.status == 1
    assert f"skipped thread {first!r}: it holds other data" in r.out
    r = cli("import", str(good), "--replace", "--ttl", "5")
    assert r.status == 0, r.err
    assert 0 < saver.client.pttl(saver.keys.registry(first)) <= 300_000


# -- global options, errors, the installed entry points --------------------------


def test_errors_and_global_options(
    cli: Cli, saver: ShallowRedisSaver, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat(saver, "g", "a")
    r = cli("stats", url="http://nowhere")
    assert r.status == 2 and "cannot use redis_url 'http://nowhere'" in r.err
    r = cli("--json", "stats", url="redis://user:s3cret@127.0.0.1:1")
    assert r.status == 1
    assert "cannot reach the server at redis://user:***@127.0.0.1:1" in r.err
    assert "s3cret" not in r.err
    r = cli("show", "g", "--checkpoint-prefix", "a{b}")
    assert r.status == 2 and "braces" in r.err
    r = cli("stats", "--pause", "-1")
    assert r.status == 2 and "must be 0 or more" in r.err
    r = cli("threads", "--limit", "0")
    assert r.status == 2
    # global options after the command override those before it
    r = cli("show", "g", "--checkpoint-prefix", "elsewhere")
    assert r.status == 3  # no such thread under that prefix
    # --url from REDIS_URL
    monkeypatch.setenv("REDIS_URL", cli.url)
    cp, wp = prefixes(cli.prefix)
    r = Result_of(
        cli,
        ["--checkpoint-prefix", cp, "--checkpoint-write-prefix", wp, "--json", "stats"],
    )
    assert r[0] == 0 and json.loads(r[1])["threads"] == 1


def Result_of(cli: Cli, argv: list[str]) -> tuple[int, str]:
    from langgraph.checkpoint.redis_shallow.cli import main

    cli.capsys.readouterr()
    status = main(argv)
    return status, cli.capsys.readouterr().out


def test_console_script_and_python_m(saver: ShallowRedisSaver, cli: Cli) -> None:
    chat(saver, "cs", "a")
    script = Path(sys.executable).parent / "lgshallow"
    assert script.exists()
    env = {**os.environ, "REDIS_URL": cli.url}
    cp, wp = prefixes(cli.prefix)
    opts = ["--checkpoint-prefix", cp, "--checkpoint-write-prefix", wp]
    proc = subprocess.run(
        [str(script), *opts, "--json", "threads"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [t["thread_id"] for t in json.loads(proc.stdout)["threads"]] == ["cs"]
    proc = subprocess.run(
        [sys.executable, "-m", "langgraph.checkpoint.redis_shallow", *opts, "show", "nope"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 3 and "show: error: no thread 'nope'" in proc.stderr
    assert proc.stderr.count("\n") == 1


# -- the plain modules -------------------------------------------------------------


def test_progress_only_on_a_terminal() -> None:
    tty = Tty()
    p = Progress("export", tty)
    p.update("1 threads", force=True)
    p.update("2 threads", force=True)
    p.done()
    assert tty.getvalue() == "\r\x1b[Kexport: 1 threads\r\x1b[Kexport: 2 threads\n"
    log = io.StringIO()
    p = Progress("export", log)
    p.update("1 threads", force=True)
    p.done()
    assert log.getvalue() == ""


def test_percentile_and_stats() -> None:
    assert inventory.percentile([], 99) == 0
    assert inventory.percentile(list(range(1, 101)), 99) == 99
    assert inventory.percentile(list(range(1, 101)), 50) == 50
    assert inventory.percentile([5], 99) == 5
    stats = inventory.Stats(top=2)
    for i, n in enumerate([10, 30, 20]):
        stats.add(inventory.ThreadInfo(f"t{i}", [], keys=1, bytes=n, ttl_ms=None))
    summary = stats.summary()
    assert summary["largest"] == [
        {"thread_id": "t1", "bytes": 30},
        {"thread_id": "t2", "bytes": 20},
    ]
    assert summary["bytes_per_thread"] == {"median": 20, "p99": 30, "max": 30}
    assert inventory.parse_filter_value("3") == 3
    assert inventory.parse_filter_value('"3"') == "3"
    assert inventory.parse_filter_value("loop") == "loop"


# -- the ACL of docs/operations.md, with real restricted users ----------------------

OPERATIONS = Path(__file__).resolve().parent.parent / "docs" / "operations.md"

ACL_RUNS = {
    "`stats`, `threads`": [["stats"], ["threads"]],
    "`show`": [["show", "acl-a"]],
    "`delete THREAD`": [["delete", "acl-a", "--yes"]],
    "`delete --run-id`": [["delete", "--run-id", "run-1", "--yes"]],
    "`prune`": [["prune", "acl-b"], ["prune", "--all"]],
    "`export`": [
        ["export", "acl-b", "--out", "{tmp}/one.jsonl"],
        ["export", "--out", "{tmp}/all.jsonl"],
    ],
    "`import`": [["import", "{tmp}/all.jsonl", "--replace"]],
}


def documented_acl() -> dict[str, tuple[list[str], list[str]]]:
    """The rules (always, with Search) of each row of the ACL table."""
    text = OPERATIONS.read_text()
    table = text[text.index("<!-- acl:start -->") : text.index("<!-- acl:end -->")]
    rows = {}
    for line in table.splitlines()[3:]:
        cells = [c.strip() for c in line.replace("\\|", "\x00").strip("|").split("|")]
        command, always, search = (c.replace("\x00", "|") for c in cells)
        rows[command] = (always.strip("`").split(), search.strip("`").split())
    return rows


def test_the_documented_acl_is_enough(
    cli: Cli,
    saver: ShallowRedisSaver,
    has_search: bool,
    server_kind: str,
    tmp_path: Path,
) -> None:
    """Each command, run as a user with exactly the documented rules, works
    and the server refuses it nothing (but CLIENT SETINFO, which redis-py
    does without; MODULE LIST, after which the saver asks FT._LIST)."""
    from langgraph.checkpoint.base import empty_checkpoint

    if server_kind == "external":
        pytest.skip("creates ACL users: only on the servers the tests start")
    rows = documented_acl()
    assert set(rows) == set(ACL_RUNS)
    admin = saver.client
    cp, wp = prefixes(cli.prefix)
    for command, runs in ACL_RUNS.items():
        chat(saver, "acl-a", "hi")
        chat(saver, "acl-b", "hi", "again")
        saver.put(cfg("acl-r", ""), empty_checkpoint(), {"run_id": "run-1"}, {})
        always, search = rows[command]
        rules = [f"~{cp}:*", f"~{wp}:*", "resetchannels", "-@all", *always]
        rules += search if has_search else []
        user, password = "u" + uuid.uuid4().hex[:10], uuid.uuid4().hex
        admin.execute_command(
            "ACL", "SETUSER", user, "reset", "on", f">{password}", *rules
        )
        try:
            admin.acl_log_reset()
            scheme, rest = cli.url.split("://", 1)
            url = f"{scheme}://{user}:{password}@{rest}"
            for argv in runs:
                argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
                r = cli(*argv, url=url)
                if command == "`delete --run-id`" and not has_search:
                    assert r.status == 1 and "needs the Redis Search module" in r.err
                else:
                    assert r.status == 0, (command, argv, r.err)
            denied = {
                e.get("object") for e in admin.acl_log() if e.get("username") == user
            }
            assert denied <= {"client|setinfo", "module|list", "client", "module"}, (
                command,
                denied,
            )
        finally:
            admin.execute_command("ACL", "DELUSER", user)

    # one rule less: refused, said plainly, exit 1
    always, _ = rows["`show`"]
    user, password = "u" + uuid.uuid4().hex[:10], uuid.uuid4().hex
    rules = [f"~{cp}:*", f"~{wp}:*", "resetchannels", "-@all"]
    rules += [r for r in always if r != "+hgetall"]
    admin.execute_command("ACL", "SETUSER", user, "reset", "on", f">{password}", *rules)
    try:
        scheme, rest = cli.url.split("://", 1)
        r = cli("show", "acl-a", url=f"{scheme}://{user}:{password}@{rest}")
        assert r.status == 1
        assert f"redis://{user}:***@" in r.err and password not in r.err
        assert "refused a command to this user" in r.err
        # Redis 7+ names the command; 6.2 says "can't run this command"
        assert "'hgetall'" in r.err or "can't run this command" in r.err
        assert "docs/operations.md" in r.err, r.err
    finally:
        admin.execute_command("ACL", "DELUSER", user)
