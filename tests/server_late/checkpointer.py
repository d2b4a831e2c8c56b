"""The server's checkpointer with one fault injected: a put that arrives late.

For ``tests/test_langgraph_server_late_writes.py``. ``late_checkpointer``
builds the saver as ``server_checkpointer`` does (``REDIS_URL``,
``LANGGRAPH_REDIS_*``), from :class:`LateWriteSaver`, a subclass of
``AsyncShallowRedisSaver`` that changes one thing: the put of a step of a
run whose topic is :data:`LATE_TOPIC` (the checkpoint after its input was
applied: ``metadata["source"] == "loop"``) is sent, but reaches Redis late.

What it simulates: a write the run sent before it was cancelled, held up
on the way (a slow network, a stalled proxy) while the server cancels the
run and starts another. The put runs in a task of its own behind
``asyncio.shield``, so the run's cancellation (which cancels the put it is
waiting for) does not stop it; it waits until Redis shows that the thread
moved on from the put's parent (another run wrote, or a rollback deleted or
restored the namespace; at most :data:`MAX_DELAY` seconds), then calls the
real ``put``, whose answer is what this test checks. Nothing else is
changed: every other call, and the late put itself, is the saver's own.

Each late put appends two JSON records to the Redis list named by
``LATE_WRITES_LOG_KEY``: ``{"event": "sent", ...}`` when the run sends it
and ``{"event": "landed", "outcome": ...}`` with the saver's answer:
``"stored"``, or the class name of the exception it raised.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from langgraph.checkpoint.redis_shallow.server import settings_from_env

LATE_TOPIC = "late"
"""Input topic of the runs whose step put arrives late."""
ENV_LOG_KEY = "LATE_WRITES_LOG_KEY"
"""The Redis list that receives the records of the late puts."""
MAX_DELAY = 10.0
"""Seconds a late put waits at most for the thread to move on."""
POLL = 0.02


def _is_late(checkpoint: Any, metadata: Any) -> bool:
    values = checkpoint.get("channel_values") or {}
    return values.get("topic") == LATE_TOPIC and metadata.get("source") == "loop"


class LateWriteSaver(AsyncShallowRedisSaver):
    """``AsyncShallowRedisSaver`` whose step puts of late runs arrive late."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_flight: set[asyncio.Task[Any]] = set()

    async def _record(self, **fields: Any) -> None:
        fields["at"] = time.time()
        await self.client.rpush(os.environ[ENV_LOG_KEY], json.dumps(fields))

    async def _stored_id(self, thread_id: str, ns: str) -> str | None:
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
        stored = await super().aget_tuple(config)  # type: ignore[arg-type]
        return (
            None if stored is None else stored.config["configurable"]["checkpoint_id"]
        )

    async def aput(
        self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any
    ) -> Any:
        if not _is_late(checkpoint, metadata):
            return await super().aput(config, checkpoint, metadata, new_versions)
        conf = config["configurable"]
        await self._record(
            event="sent",
            thread_id=conf["thread_id"],
            run_id=metadata.get("run_id"),
            parent=conf.get("checkpoint_id"),
            checkpoint_id=checkpoint["id"],
        )
        task = asyncio.ensure_future(
            self._deliver_late(config, checkpoint, metadata, new_versions)
        )
        self._in_flight.add(task)
        task.add_done_callback(self._forget)
        return await asyncio.shield(task)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: its waiter may have been cancelled

    async def _deliver_late(
        self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any
    ) -> Any:
        conf = config["configurable"]
        thread_id, ns = conf["thread_id"], conf.get("checkpoint_ns", "")
        parent = conf.get("checkpoint_id")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_DELAY
        met = parent
        while loop.time() < deadline:
            met = await self._stored_id(thread_id, ns)
            if met != parent:
                break
            await asyncio.sleep(POLL)
        landed = {
            "event": "landed",
            "thread_id": thread_id,
            "run_id": metadata.get("run_id"),
            "parent": parent,
            "met": met,
        }
        try:
            stored = await super().aput(config, checkpoint, metadata, new_versions)
        except Exception as exc:
            await self._record(**landed, outcome=type(exc).__name__)
            raise
        await self._record(**landed, outcome="stored")
        return stored


@asynccontextmanager
async def late_checkpointer() -> AsyncIterator[LateWriteSaver]:
    """Yield a :class:`LateWriteSaver` configured as ``server_checkpointer``
    configures its saver (from the environment)."""
    settings = settings_from_env()
    async with LateWriteSaver.from_conn_string(**settings.saver_kwargs()) as saver:
        await saver.asetup()
        yield saver  # type: ignore[misc]
