"""Section 5: the floor no saver can beat.

A PING round trip; a pipelined SET + GET of a value the size of the
serialized checkpoint (one round trip carrying the bytes both ways); and
the default serializer's own cost for the checkpoint. Same counting
connection classes as the savers use.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from counting import async_client, sync_client
from stats import settle, summary


def serde_cost(checkpoint: Any, samples: int) -> dict[str, Any]:
    """``dumps_typed`` and ``loads_typed`` of the whole checkpoint."""
    serde = JsonPlusSerializer()
    typed = serde.dumps_typed(checkpoint)
    for _ in range(10):  # first calls build pydantic validators
        serde.loads_typed(serde.dumps_typed(checkpoint))
    settle()
    dumps, loads = [], []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        serde.dumps_typed(checkpoint)
        dumps.append(time.perf_counter_ns() - t0)
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        serde.loads_typed(typed)
        loads.append(time.perf_counter_ns() - t0)
    return {"bytes": len(typed[1]), "dumps": summary(dumps), "loads": summary(loads)}


def sync_floor(
    url: str, values: dict[int, bytes], samples: int, tag: str
) -> dict[str, Any]:
    client, _ = sync_client(url)
    try:
        for _ in range(20):
            client.ping()
        settle()
        times = []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            client.ping()
            times.append(time.perf_counter_ns() - t0)
        out: dict[str, Any] = {"ping": summary(times)}
        for n, value in values.items():
            key = f"{tag}_floor_sync_{n}"
            times = []
            for i in range(samples + 20):
                pipe = client.pipeline(transaction=False)
                t0 = time.perf_counter_ns()
                pipe.set(key, value)
                pipe.get(key)
                pipe.execute()
                if i >= 20:
                    times.append(time.perf_counter_ns() - t0)
            out[f"set_get_n{n}"] = summary(times)
            client.delete(key)
        return out
    finally:
        client.close()
        client.connection_pool.disconnect()


async def async_floor(
    url: str, values: dict[int, bytes], samples: int, tag: str
) -> dict[str, Any]:
    client, _ = async_client(url)
    try:
        for _ in range(20):
            await client.ping()
        settle()
        times = []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            await client.ping()
            times.append(time.perf_counter_ns() - t0)
        out: dict[str, Any] = {"ping": summary(times)}
        for n, value in values.items():
            key = f"{tag}_floor_async_{n}"
            times = []
            for i in range(samples + 20):
                pipe = client.pipeline(transaction=False)
                t0 = time.perf_counter_ns()
                pipe.set(key, value)
                pipe.get(key)
                await pipe.execute()
                if i >= 20:
                    times.append(time.perf_counter_ns() - t0)
            out[f"set_get_n{n}"] = summary(times)
            await client.delete(key)
        return out
    finally:
        await client.aclose()
        await client.connection_pool.disconnect()
