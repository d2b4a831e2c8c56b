"""Section 4b: Redis memory per stored thread after 1 and after many steps.

A step is what one graph step stores: a new checkpoint (the ``messages``
version bumped) and one task's 3 pending writes. Two measures per thread:
``used_memory`` growth of the server divided by the number of threads
(includes index entries and allocator overhead, but not client
buffers), and the sum of
``MEMORY USAGE key SAMPLES 0`` over the thread's keys.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from typing import Any

import redis

import workload
from savers import Entry


def used_memory(r: redis.Redis, timeout: float = 5.0) -> int:
    """``used_memory`` minus client buffers (which grow and shrink with the
    size of recent commands, not with what is stored), once the server has
    no objects left to free in the background."""
    deadline = time.monotonic() + timeout
    while True:
        info = r.info("memory")
        if not info.get("lazyfree_pending_objects") or time.monotonic() > deadline:
            return int(info["used_memory"]) - int(info.get("mem_clients_normal", 0))
        time.sleep(0.02)


def thread_keys(r: redis.Redis, pattern: str) -> list[bytes]:
    return list(r.scan_iter(match=pattern, count=1000))


def key_usage(r: redis.Redis, keys: list[bytes]) -> int:
    pipe = r.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    return sum(int(v or 0) for v in pipe.execute())


async def _step(
    entry: Entry, thread: workload.Thread, base: Any, rng: random.Random
) -> None:
    saver = entry.saver
    args = workload.next_put(saver, thread, base)
    task = (workload.writes(rng), str(uuid.uuid4()), workload.TASK_PATH)
    if entry.is_async:
        config = await saver.aput(*args)
        await saver.aput_writes(config, *task)
    else:
        config = saver.put(*args)
        saver.put_writes(config, *task)


async def measure(
    entry: Entry,
    r: redis.Redis,
    n: int,
    base: Any,
    threads: int,
    steps: tuple[int, ...],
    tag: str,
) -> dict[str, Any]:
    name = f"{tag}_{entry.key}_n{n}_m"
    pool = [workload.Thread(f"{name}{i}") for i in range(threads)]
    rng = random.Random(n)
    baseline = used_memory(r)
    done = 0
    out: dict[str, Any] = {"threads": threads}
    for target in steps:
        while done < target:
            for thread in pool:
                await _step(entry, thread, base, rng)
            done += 1
        used = used_memory(r)
        keys = thread_keys(r, f"*{name}*")
        first = [k for k in keys if pool[0].thread_id.encode() in k]  # "_m0"
        out[str(target)] = {
            "used_memory_per_thread": (used - baseline) / threads,
            "key_usage_per_thread": key_usage(r, keys) / threads,
            "keys_per_thread": len(keys) / threads,
            "first_thread_keys": {
                k.decode(errors="replace"): key_usage(r, [k]) for k in sorted(first)[:8]
            },
        }
    return out


async def cleanup(entries: list[Entry], r: redis.Redis, tag: str) -> None:
    """Delete every memory-section thread, once all are measured: the search
    index frees deleted documents later, in the background, which would
    shrink ``used_memory`` in the middle of the next saver's measurement."""
    for entry in entries:
        threads = {
            m.group(0)
            for key in thread_keys(r, f"*{tag}_{entry.key}_n*_m*")
            if (m := re.search(rf"{tag}_{entry.key}_n\d+_m\d+", key.decode()))
        }
        for thread_id in threads:
            if entry.is_async:
                await entry.saver.adelete_thread(thread_id)
            else:
                entry.saver.delete_thread(thread_id)
