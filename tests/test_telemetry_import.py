"""Without ``opentelemetry`` the savers work and trace nothing.

``opentelemetry-api`` is an optional extra (``[otel]``). A subprocess makes
every ``opentelemetry`` import fail, then runs both savers against the
session's server.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import asyncio, sys, uuid
sys.modules["opentelemetry"] = None  # every opentelemetry import fails

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver, ShallowRedisSaver

url, prefix = sys.argv[1], sys.argv[2]
args = dict(checkpoint_prefix=prefix + ":cp", checkpoint_write_prefix=prefix + ":w")
cp = empty_checkpoint()
cp["channel_values"] = {"x": 1}
cp["channel_versions"] = {"x": 1}

with ShallowRedisSaver.from_conn_string(url, **args) as saver:
    assert not saver._telemetry.enabled
    config = {"configurable": {"thread_id": str(uuid.uuid4()), "checkpoint_ns": ""}}
    saver.put(config, cp, {}, cp["channel_versions"])
    assert saver.get_tuple(config).checkpoint["channel_values"] == {"x": 1}
    saver.delete_thread(config["configurable"]["thread_id"])


async def main():
    async with AsyncShallowRedisSaver.from_conn_string(url, **args) as saver:
        assert not saver._telemetry.enabled
        config = {"configurable": {"thread_id": str(uuid.uuid4()), "checkpoint_ns": ""}}
        await saver.aput(config, cp, {}, cp["channel_versions"])
        assert (await saver.aget_tuple(config)).checkpoint["channel_values"] == {"x": 1}
        await saver.adelete_thread(config["configurable"]["thread_id"])

asyncio.run(main())
print("loaded:", sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""


def test_savers_work_without_opentelemetry(redis_url: str, prefix: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, redis_url, prefix],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded: ['opentelemetry']"  # the blocked entry


def test_savers_trace_with_opentelemetry(redis_url: str, prefix: str) -> None:
    from langgraph.checkpoint.redis_shallow import ShallowRedisSaver

    with ShallowRedisSaver.from_conn_string(redis_url) as saver:
        assert saver._telemetry.enabled  # no-op spans until an SDK is set up
