"""A late write of a cancelled run, through LangGraph's own server.

``langgraph dev`` serves ``tests/server_late/`` (one node, ``work``, which
waits ``delay`` seconds) on ``tests/server_late/checkpointer.py``'s
``LateWriteSaver``: the server's saver, built as ``server_checkpointer``
builds it, whose step put of a run with topic ``"late"`` is sent but reaches
Redis only once the thread has moved on from the put's parent (a write held
up on the way; see that module). A ``"late"`` run is started; once it has
sent that put, a ``"fast"`` run with ``multitask_strategy`` ``"interrupt"``
or ``"rollback"`` supersedes it. The late put descends from the cancelled
run's checkpoint; it must be refused (LangGraph issue 8810: a late write of
a cancelled run overwrote a newer checkpoint), and the client must see only
the new run's state:

- ``interrupt``, on a fresh thread or after a turn: the new run wrote over
  the cancelled run's checkpoint; the late put is refused with
  ``StaleCheckpointError``.
- ``rollback`` on a fresh thread (Search only): the server deletes what the
  cancelled run wrote while handling the request (``adelete_for_runs``);
  the new run starts 2 s later (``after_seconds``), so the late put meets
  the deleted thread and is refused with ``ThreadDeletedError``: the thread
  stays empty until the new run writes.
- ``rollback`` after a turn (Search only): the server restores the earlier
  turn; the late put is refused with ``StaleCheckpointError``.

Each runs with the late run's ``durability`` ``"sync"`` (the run waits for
its put: the cancellation cancels that wait, the put outlives the run) and
the server's default ``"async"`` (the put runs beside the node; the run's
end waits for it). With ``"async"`` and ``interrupt`` the cancelled run
therefore ends after the new run wrote, and the server then records the
cancelled run's last streamed values in its own thread record (what
``threads.get`` and ``runs.join`` answer), not in the checkpointer: those
two are checked only in the other cases; ``threads.get_state`` (the
checkpointer) is checked in all.

Needs ``langgraph-cli[inmem]`` (Python 3.11+), as tests/test_langgraph_server.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
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

import redis.asyncio as aioredis  # noqa: E402

from tests.test_langgraph_server import LangGraphDev, _final_status  # noqa: E402

APP = Path(__file__).resolve().parent / "server_late"
LOG_KEY_ENV = "LATE_WRITES_LOG_KEY"  # read by tests/server_late/checkpointer.py
LATE = {"topic": "late", "delay": 5}  # its step put arrives late
WAIT = 20.0  # seconds to wait for a record of the late put
DURABILITY = pytest.mark.parametrize(
    "durability", ["sync", None], ids=["sync", "default-async"]
)
TURNS = pytest.mark.parametrize(
    "earlier_turn", [False, True], ids=["fresh", "after-a-turn"]
)


class LateServer(LangGraphDev):
    """``langgraph dev`` serving a copy of ``tests/server_late``."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        super().__init__(workdir, env, custom=True)
        for name in ("graph.py", "checkpointer.py", "langgraph.json"):
            shutil.copy(APP / name, workdir / name)


@pytest.fixture(scope="module")
def late_server(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LateServer, str]]:
    """(the running server, the Redis list of the late puts' records)."""
    prefix = f"lglate{os.getpid()}x{int(time.time() * 1000) % 10**8}"
    log_key = f"{prefix}:late-writes"
    server = LateServer(
        tmp_path_factory.mktemp("langgraph-server-late") / "app",
        {
            "REDIS_URL": redis_url,
            "LANGGRAPH_REDIS_CHECKPOINT_PREFIX": f"{prefix}:cp",
            "LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX": f"{prefix}:w",
            LOG_KEY_ENV: log_key,
        },
    )
    try:
        server.start()
        server.wait_ready()
        yield server, log_key
    finally:
        server.stop()


async def _record(
    redis: aioredis.Redis, log_key: str, thread_id: str, event: str
) -> dict[str, Any]:
    """The late put's record ``event`` on the thread, once it is there."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for raw in await redis.lrange(log_key, 0, -1):
            record = json.loads(raw)
            if record["thread_id"] == thread_id and record["event"] == event:
                return dict(record)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {event!r} record of a late put on thread {thread_id}")


def _runs(runs: list[dict[str, Any]]) -> dict[str, str]:
    """The status of the ``"late"`` and ``"fast"`` runs."""
    return {
        topic: r["status"]
        for r in runs
        if (topic := (r["kwargs"].get("input") or {}).get("topic")) in ("late", "fast")
    }


async def _supersede_late(
    server: LateServer,
    redis_url: str,
    log_key: str,
    strategy: str,
    *,
    durability: str | None,
    earlier_turn: bool,
    after_seconds: int | None = None,
) -> dict[str, Any]:
    """On a new thread (with a finished turn ``"first"`` if ``earlier_turn``)
    start a ``"late"`` run; once it has sent its late put, start a ``"fast"``
    run with ``multitask_strategy=strategy``. What the client sees."""
    client = langgraph_sdk.get_client(url=server.url)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        tid = (await client.threads.create())["thread_id"]
        if earlier_turn:
            await client.runs.wait(tid, "late", input={"topic": "first"})
        late = await client.runs.create(tid, "late", input=LATE, durability=durability)
        sent = await _record(redis, log_key, tid, "sent")
        fast = await client.runs.create(
            tid,
            "late",
            input={"topic": "fast"},
            multitask_strategy=strategy,
            after_seconds=after_seconds,
        )
        landed = await _record(redis, log_key, tid, "landed")
        at_landing = await client.threads.get_state(tid)
        result = await client.runs.join(tid, fast["run_id"])
        fast_status = await _final_status(client, tid, fast["run_id"])
        state = await client.threads.get_state(tid)
        # the late put was answered long ago: nothing changes the state now
        await asyncio.sleep(0.5)
        return {
            "late_run_id": late["run_id"],
            "sent": sent,
            "landed": landed,
            "at_landing": at_landing["values"],
            "result": result,
            "fast_status": fast_status,
            "runs": _runs(await client.runs.list(tid)),
            "state": state,
            "again": await client.threads.get_state(tid),
            "thread_values": (await client.threads.get(tid))["values"],
        }
    except BaseException:
        print("--- server log ---\n" + server.tail(40))
        raise
    finally:
        await client.aclose()
        await redis.aclose()


def _check_late_put(got: dict[str, Any], refusal: str) -> None:
    """The late put was the cancelled run's, sent before the new run was
    created; the saver refused it with ``refusal``, and right after it the
    thread shows nothing of the cancelled run (had the put been stored, the
    thread would hold ``LATE``, whose delay the new run would inherit)."""
    sent, landed = got["sent"], got["landed"]
    assert sent["run_id"] == landed["run_id"] == got["late_run_id"]
    assert sent["parent"] is not None and landed["parent"] == sent["parent"]
    assert landed["met"] != landed["parent"]  # it arrived after the thread moved on
    assert landed["outcome"] == refusal
    assert got["at_landing"].get("topic") != LATE["topic"]
    assert got["at_landing"].get("delay", 0) == 0


def _check_new_runs_state(
    got: dict[str, Any], log: list[str], *, server_record: bool = True
) -> None:
    """The new run succeeded and the thread holds its state (the
    checkpointer's, and the server's record of it where ``server_record``),
    unchanged after the late put was answered."""
    assert got["fast_status"] == "success"
    want = {"topic": "fast", "log": log, "delay": 0}
    assert got["state"]["values"] == want
    assert got["state"]["next"] == []
    assert got["again"]["values"] == want
    assert (
        got["again"]["checkpoint"]["checkpoint_id"]
        == got["state"]["checkpoint"]["checkpoint_id"]
    )
    if server_record:
        assert got["result"] == want
        assert got["thread_values"] == want


@DURABILITY
@TURNS
async def test_interrupt_a_late_put_of_the_cancelled_run_is_refused(
    late_server: tuple[LateServer, str],
    redis_url: str,
    durability: str | None,
    earlier_turn: bool,
) -> None:
    server, log_key = late_server
    got = await _supersede_late(
        server,
        redis_url,
        log_key,
        "interrupt",
        durability=durability,
        earlier_turn=earlier_turn,
    )
    _check_late_put(got, "StaleCheckpointError")
    assert got["landed"]["met"] is not None  # the new run's checkpoint
    assert got["runs"] == {"late": "interrupted", "fast": "success"}
    first = ["work: first"] if earlier_turn else []
    # with "async" the server's own thread record ends with the cancelled
    # run's values (see the module's docstring): not the checkpointer's doing
    _check_new_runs_state(
        got, [*first, "work: fast"], server_record=durability == "sync"
    )


@DURABILITY
@TURNS
async def test_rollback_a_late_put_of_the_rolled_back_run_is_refused(
    late_server: tuple[LateServer, str],
    redis_url: str,
    has_search: bool,
    durability: str | None,
    earlier_turn: bool,
) -> None:
    if not has_search:
        pytest.skip(
            "rollback needs the Search module: without it adelete_for_runs "
            "raises SearchUnavailableError by design (the create request "
            "answers 500, see tests/test_langgraph_server.py)"
        )
    server, log_key = late_server
    got = await _supersede_late(
        server,
        redis_url,
        log_key,
        "rollback",
        durability=durability,
        earlier_turn=earlier_turn,
        # fresh thread: the new run starts after the late put arrived at the
        # deleted thread
        after_seconds=None if earlier_turn else 2,
    )
    # the rolled-back run is deleted, and what it wrote
    assert got["runs"] == {"fast": "success"}
    if earlier_turn:
        # the rollback restored the earlier turn's checkpoint
        _check_late_put(got, "StaleCheckpointError")
        assert got["landed"]["met"] is not None
        _check_new_runs_state(got, ["work: first", "work: fast"])
    else:
        # the rollback deleted the thread's only checkpoint and left a
        # tombstone: the late put is refused and the thread stays empty
        _check_late_put(got, "ThreadDeletedError")
        assert got["landed"]["met"] is None
        assert got["at_landing"] == {}
        _check_new_runs_state(got, ["work: fast"])
