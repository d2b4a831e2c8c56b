"""The saver behind LangGraph's own server (``langgraph dev``), driven by
``langgraph_sdk``, compared with the same app on the server's in-memory
checkpointer.

Two ``langgraph dev`` processes serve ``examples/server/graph.py``: one with
``langgraph.checkpoint.redis_shallow.server_checkpointer`` (on the session's
Redis, under a key prefix of its own), one without a ``"checkpointer"`` (the
server's own). The same scenario runs against both; every answer is
normalized (ids and timestamps replaced) and compared. Where a shallow
checkpointer answers differently by design (history of one, no forking from
an old checkpoint; rollback without the Search module), the test asserts
what each server answers. Rollback of a run on a thread with earlier turns
answers as the in-memory server does where Redis has Search.

Needs ``langgraph-cli[inmem]`` (``langgraph-api`` and
``langgraph-runtime-inmem``, Python 3.11+; the ``test`` extra installs them
there). No network: analytics, version checks and tracing are off.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "langgraph_api", reason="langgraph-api (the server) needs Python 3.11+"
)
pytest.importorskip("langgraph_runtime_inmem", reason="langgraph-runtime-inmem")
langgraph_sdk = pytest.importorskip("langgraph_sdk")

import httpx  # noqa: E402  (a dependency of langgraph_sdk)
from langgraph_sdk.errors import (  # noqa: E402
    BadRequestError,
    InternalServerError,
    NotFoundError,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "server"
CHECKPOINTER = "langgraph.checkpoint.redis_shallow.server_checkpointer"
START_TIMEOUT = 90.0  # seconds until /ok answers (the machine may be loaded)
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
CONCURRENT_THREADS = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LangGraphDev:
    """A ``langgraph dev`` process serving a copy of the example app."""

    def __init__(self, workdir: Path, env: dict[str, str], *, custom: bool) -> None:
        self.workdir = workdir
        self.custom = custom
        workdir.mkdir(parents=True)
        shutil.copy(EXAMPLE / "graph.py", workdir / "graph.py")
        config = json.loads((EXAMPLE / "langgraph.json").read_text())
        assert config["checkpointer"]["path"] == CHECKPOINTER
        if not custom:
            del config["checkpointer"]
        (workdir / "langgraph.json").write_text(json.dumps(config))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.env = {
            **os.environ,
            **env,
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGGRAPH_NO_VERSION_CHECK": "true",
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
            "PYTHONUNBUFFERED": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process in a process group of its own."""
        command = [
            sys.executable,
            "-m",
            "langgraph_cli",
            "dev",
            "--no-reload",
            "--no-browser",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n-jobs-per-worker",
            "10",
            "--config",
            str(self.workdir / "langgraph.json"),
        ]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Wait until ``GET /ok`` answers 200."""
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"langgraph dev exited with {self.proc.returncode}:\n{self.tail()}"
                )
            try:
                if httpx.get(f"{self.url}/ok", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(
            f"langgraph dev not ready in {START_TIMEOUT}s:\n{self.tail()}"
        )

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after ``STOP_TIMEOUT``."""
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)  # its own group: start_new_session
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # children left in the group
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 60) -> str:
        """The end of the server's log, without colour codes."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def servers(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LangGraphDev, LangGraphDev]]:
    """(ours, in-memory): two running ``langgraph dev`` processes."""
    tmp = tmp_path_factory.mktemp("langgraph-server")
    prefix = f"lgsrv{os.getpid()}x{int(time.time() * 1000) % 10**8}"
    ours = LangGraphDev(
        tmp / "redis",
        {
            "REDIS_URL": redis_url,
            "LANGGRAPH_REDIS_CHECKPOINT_PREFIX": f"{prefix}:cp",
            "LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX": f"{prefix}:w",
        },
        custom=True,
    )
    inmem = LangGraphDev(tmp / "inmem", {}, custom=False)
    try:
        ours.start()
        inmem.start()
        ours.wait_ready()
        inmem.wait_ready()
        yield ours, inmem
    finally:
        ours.stop()
        inmem.stop()


# -- normalization -------------------------------------------------------------

_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
_HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
_DROP = {"created_at", "updated_at", "state_updated_at", "assistant_id", "graph_id"}


class Normalizer:
    """Replaces ids with ``<id0>``, ``<id1>``… in order of first appearance
    (so that equal ids stay equal) and drops timestamps."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _name(self, match: re.Match[str]) -> str:
        found = match.group(0).lower()
        if found not in self.names:
            self.names[found] = f"<id{len(self.names)}>"
        return self.names[found]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                self(k): self(v) for k, v in sorted(value.items()) if k not in _DROP
            }
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        if isinstance(value, str):
            return _HEX32.sub(self._name, _UUID.sub(self._name, value))
        return value


def _state(state: dict[str, Any]) -> dict[str, Any]:
    """What a client reads from a thread state (metadata's bookkeeping keys,
    which the two checkpointers record differently, left out)."""
    meta = state.get("metadata") or {}
    return {
        "values": state["values"],
        "next": state["next"],
        "tasks": [
            {"name": t["name"], "interrupts": t["interrupts"], "error": t["error"]}
            for t in state["tasks"]
        ],
        "interrupts": state.get("interrupts"),
        "step": meta.get("step"),
        "source": meta.get("source"),
        "checkpoint_ns": state["checkpoint"]["checkpoint_ns"],
        "has_checkpoint_id": bool(state["checkpoint"]["checkpoint_id"]),
    }


async def _wait_state(client: Any, thread_id: str, topic: str) -> None:
    """Wait until the thread's stored state has ``topic`` (a run's first
    checkpoint is written)."""
    for _ in range(200):
        state = await client.threads.get_state(thread_id)
        if state["values"].get("topic") == topic:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"thread {thread_id} never reached topic {topic!r}")


async def _final_status(
    client: Any, thread_id: str, run_id: str, timeout: float = 8.0
) -> str:
    """The run's status once it is neither pending nor running, or its
    status after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        status = str((await client.runs.get(thread_id, run_id))["status"])
        if status not in ("pending", "running") or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.1)


async def _supersede(
    client: Any, thread_id: str, strategy: str = "rollback"
) -> dict[str, Any]:
    """Start a slow run, then a run with ``multitask_strategy=strategy``;
    report what the client sees: the create request, the runs, the state."""
    await client.runs.create(thread_id, "approval", input={"topic": "slow", "delay": 4})
    await _wait_state(client, thread_id, "slow")  # its first checkpoint
    out: dict[str, Any] = {}
    try:
        fast = await client.runs.create(
            thread_id,
            "approval",
            input={"topic": "fast"},
            multitask_strategy=strategy,
        )
    except InternalServerError as exc:
        out["create"] = exc.response.status_code
        await asyncio.sleep(5)  # longer than the slow run's delay
    else:
        out["create"] = "ok"
        out["result"] = await client.runs.join(thread_id, fast["run_id"])
    out["runs"] = {
        topic: r["status"]
        for r in await client.runs.list(thread_id)
        if (topic := (r["kwargs"].get("input") or {}).get("topic")) in ("slow", "fast")
    }
    out["state"] = _state(await client.threads.get_state(thread_id))
    return out


# -- the scenario ----------------------------------------------------------------


async def scenario(url: str) -> dict[str, Any]:
    """Drive one server through every operation; return normalized answers.

    ``"same"`` holds the answers both servers must give alike; the other keys
    hold raw observations the test compares by hand.
    """
    client = langgraph_sdk.get_client(url=url)
    norm = Normalizer()
    same: dict[str, Any] = {}
    seen: dict[str, Any] = {}

    # create a thread, run to the interrupt, read the state
    thread = await client.threads.create(metadata={"case": "approval"})
    tid = thread["thread_id"]
    same["create"] = norm({k: thread[k] for k in ("status", "metadata", "values")})
    same["run_to_interrupt"] = norm(
        await client.runs.wait(tid, "approval", input={"topic": "a"})
    )
    state = await client.threads.get_state(tid)
    same["state_at_interrupt"] = norm(_state(state))
    same["thread_at_interrupt"] = norm(
        {k: v for k, v in (await client.threads.get(tid)).items() if k != "config"}
    )
    first_checkpoint = state["checkpoint"]["checkpoint_id"]

    # resume with a Command
    same["resume"] = norm(
        await client.runs.wait(tid, "approval", command={"resume": True})
    )
    same["state_after_resume"] = norm(_state(await client.threads.get_state(tid)))
    history = await client.threads.get_history(tid)
    seen["history_len"] = len(history)
    same["history_latest"] = norm(_state(history[0]))

    # update_state on the latest checkpoint
    updated = await client.threads.update_state(tid, {"topic": "edited"})
    same["update_state"] = sorted(updated)
    same["state_after_update"] = norm(_state(await client.threads.get_state(tid)))

    # copy the thread, read the copy, delete the copy
    copy = await client.threads.copy(tid)
    assert copy["thread_id"] != tid
    copy_state = await client.threads.get_state(copy["thread_id"])
    same["copy_state"] = norm(_state(copy_state))
    seen["copy_metadata_thread_id"] = (
        copy_state["metadata"].get("thread_id") == (copy["thread_id"])
    )
    await client.threads.delete(copy["thread_id"])
    try:
        await client.threads.get(copy["thread_id"])
        same["deleted_thread"] = "found"
    except NotFoundError:
        same["deleted_thread"] = "404"
    same["original_after_copy_delete"] = norm(
        _state(await client.threads.get_state(tid))
    )

    # a run and an update_state from a superseded checkpoint
    try:
        await client.threads.update_state(
            tid, {"topic": "fork"}, checkpoint_id=first_checkpoint
        )
        seen["stale_update"] = "ok"
    except BadRequestError as exc:
        seen["stale_update"] = (exc.response.status_code, exc.response.json())
    stale_run = await client.runs.create(
        tid, "approval", input={"topic": "old"}, checkpoint_id=first_checkpoint
    )
    seen["stale_run_join"] = await client.runs.join(tid, stale_run["run_id"])
    seen["stale_run_status"] = (await client.runs.get(tid, stale_run["run_id"]))[
        "status"
    ]
    seen["state_after_stale"] = _state(await client.threads.get_state(tid))
    seen["thread_status_after_stale"] = (await client.threads.get(tid))["status"]
    # a run without checkpoint_id goes on from the stored checkpoint
    seen["run_after_stale"] = await client.runs.wait(
        tid, "approval", input={"topic": "again"}
    )

    # streaming run: values and updates
    stream_thread = (await client.threads.create())["thread_id"]
    parts = [
        (part.event, part.data)
        async for part in client.runs.stream(
            stream_thread,
            "approval",
            input={"topic": "s"},
            stream_mode=["values", "updates"],
        )
    ]
    same["stream"] = norm(parts)
    same["state_after_stream"] = norm(
        _state(await client.threads.get_state(stream_thread))
    )

    # 20 threads at once: run to the interrupt, resume, read
    async def one(i: int) -> dict[str, Any]:
        t = (await client.threads.create())["thread_id"]
        first = await client.runs.wait(t, "approval", input={"topic": f"t{i}"})
        last = await client.runs.wait(t, "approval", command={"resume": i % 2 == 0})
        st = _state(await client.threads.get_state(t))
        return Normalizer()({"first": first, "last": last, "state": st})

    same["concurrent"] = await asyncio.gather(
        *(one(i) for i in range(CONCURRENT_THREADS))
    )

    # rollback of a run on a fresh thread (the run wrote all the thread holds)
    fresh = (await client.threads.create())["thread_id"]
    seen["rollback_fresh"] = norm(await _supersede(client, fresh))

    # multitask_strategy="interrupt" on a thread with an earlier turn: the
    # old run stops where it is and nothing is deleted
    inter = (await client.threads.create())["thread_id"]
    await client.runs.wait(inter, "approval", input={"topic": "first"})
    await client.runs.wait(inter, "approval", command={"resume": True})
    # a normalizer of its own: the rollback above yields different ids
    # without Search (it fails there), which must not shift these labels
    same["interrupt_turns"] = Normalizer()(await _supersede(client, inter, "interrupt"))

    # rollback of a run on a thread with an earlier turn (last: without
    # Search it leaves the thread stuck, see the test)
    turns = (await client.threads.create())["thread_id"]
    await client.runs.wait(turns, "approval", input={"topic": "first"})
    await client.runs.wait(turns, "approval", command={"resume": True})
    seen["turns_before"] = _state(await client.threads.get_state(turns))
    seen["rollback_turns"] = await _supersede(client, turns)
    seen["turns_history_len"] = len(await client.threads.get_history(turns))
    # is the server still running other threads' runs?
    other = (await client.threads.create())["thread_id"]
    probe = await client.runs.create(other, "approval", input={"topic": "probe"})
    seen["probe"] = await _final_status(client, other, probe["run_id"])
    return {"same": same, **seen}


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _diff(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: redis={a!r} inmem={b!r}"]


async def test_langgraph_dev_with_shallow_redis_checkpointer(
    servers: tuple[LangGraphDev, LangGraphDev], has_search: bool
) -> None:
    ours, inmem = servers
    try:
        got, want = await asyncio.gather(scenario(ours.url), scenario(inmem.url))
    except BaseException:
        print("--- redis server log ---\n" + ours.tail(30))
        print("--- in-memory server log ---\n" + inmem.tail(10))
        raise
    # every ordinary operation answers the same
    differences = _diff(got["same"], want["same"])
    assert not differences, "\n".join(differences)

    # history of one: the server's history endpoint returns one state
    assert got["history_len"] == 1
    assert want["history_len"] > 1
    # copy_thread names the target in the metadata, as the server's own copy
    assert got["copy_metadata_thread_id"] and want["copy_metadata_thread_id"]

    # no forking from a superseded checkpoint: update_state answers 400 with
    # StaleCheckpointError's message; a run fails (run and thread status
    # "error"); nothing is written
    assert want["stale_update"] == "ok"
    status, body = got["stale_update"]
    assert status == 400
    assert (
        "which a shallow saver no longer keeps; nothing was written" in body["detail"]
    )
    assert got["stale_run_status"] == "error"
    assert got["stale_run_join"]["__error__"]["error"] == "StaleCheckpointError"
    assert want["stale_run_status"] == "success"
    assert "__error__" not in want["stale_run_join"]
    assert got["state_after_stale"]["values"]["topic"] == "edited"
    assert got["thread_status_after_stale"] == "error"
    assert got["run_after_stale"]["topic"] == "again"
    assert got["run_after_stale"]["log"] == [
        "draft: a",
        "review: True",
        "published",
        "draft: again",
    ]

    # rollback of a thread's only run: the same as the server's own (the
    # saver deletes what that run wrote) where Redis has the Search module;
    # without it, delete_for_runs cannot find the run's checkpoints and
    # raises SearchUnavailableError: the create request answers 500
    if has_search:
        assert got["rollback_fresh"] == want["rollback_fresh"]
        assert got["rollback_fresh"]["runs"] == {"fast": "success"}
    else:
        assert got["rollback_fresh"]["create"] == 500

    # rollback on a thread with an earlier turn: the in-memory server goes
    # back to the earlier turn's state and runs the new input
    back = want["rollback_turns"]
    assert back["create"] == "ok"
    assert back["runs"] == {"fast": "success"}
    assert back["state"]["values"]["topic"] == "fast"
    assert back["state"]["values"]["log"] == [
        "draft: first",
        "review: True",
        "published",
        "draft: fast",
    ]
    # ours, with Search: the saver kept the checkpoint the rolled-back run
    # started from and restores it, so the thread goes back to the earlier
    # turn and runs the new input, exactly as on the in-memory server.
    # Without Search delete_for_runs cannot find the run (it raises
    # SearchUnavailableError): the create request answers 500, the old run
    # stays "running" and the new one "pending", the earlier turns intact.
    back_here = got["rollback_turns"]
    if has_search:
        assert back_here["create"] == "ok"
        assert back_here["runs"] == {"fast": "success"}
        assert back_here["state"]["values"] == back["state"]["values"]
        assert back_here["state"]["next"] == back["state"]["next"]
    else:
        assert back_here["create"] == 500
        assert back_here["runs"] == {"slow": "running", "fast": "pending"}
        assert (
            back_here["state"]["values"]["log"] == got["turns_before"]["values"]["log"]
        )
    assert got["turns_history_len"] == 1
    assert got["probe"] == want["probe"] == "success"
