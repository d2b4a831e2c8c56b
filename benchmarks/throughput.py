"""Section 2: throughput of put + put_writes + get_tuple cycles.

Async savers run ``COROUTINES`` coroutines on the one event loop, sync
savers ``THREADS`` OS threads; each worker owns one LangGraph thread and
loops for a fixed time after a short warm-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import workload
from savers import Entry, describe
from stats import settle

COROUTINES = 50
THREADS = 8


async def _async_worker(
    entry: Entry, thread: workload.Thread, base: Any, stop: float
) -> int:
    saver = entry.saver
    rng = random.Random(thread.thread_id)
    done = 0
    while time.perf_counter() < stop:
        config = await saver.aput(*workload.next_put(saver, thread, base))
        await saver.aput_writes(
            config, workload.writes(rng), str(uuid.uuid4()), workload.TASK_PATH
        )
        await saver.aget_tuple(thread.config(with_id=False))
        done += 1
    return done


def _sync_worker(entry: Entry, thread: workload.Thread, base: Any, stop: float) -> int:
    saver = entry.saver
    rng = random.Random(thread.thread_id)
    done = 0
    while time.perf_counter() < stop:
        config = saver.put(*workload.next_put(saver, thread, base))
        saver.put_writes(
            config, workload.writes(rng), str(uuid.uuid4()), workload.TASK_PATH
        )
        saver.get_tuple(thread.config(with_id=False))
        done += 1
    return done


async def _run(
    entry: Entry, threads: list[workload.Thread], base: Any, seconds: float
) -> tuple[int, float]:
    start = time.perf_counter()
    stop = start + seconds
    if entry.is_async:
        counts = await asyncio.gather(
            *(_async_worker(entry, t, base, stop) for t in threads)
        )
    else:
        with ThreadPoolExecutor(len(threads)) as pool:
            futures = [pool.submit(_sync_worker, entry, t, base, stop) for t in threads]
            counts = [f.result() for f in futures]
    return sum(counts), time.perf_counter() - start


async def measure(
    entries: list[Entry],
    base: Any,
    seconds: float,
    warmup: float,
    rounds: int,
    tag: str,
    errors: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """Each saver runs ``rounds`` times for ``seconds / rounds``, the savers
    taking turns, so the machine's noise spreads over all of them. A saver
    that raises is recorded in ``errors`` and left out from then on."""
    state = {}
    for e in entries:
        workers = COROUTINES if e.is_async else THREADS
        threads = [workload.Thread(f"{tag}_{e.key}_tp{i}") for i in range(workers)]
        state[e.key] = {"threads": threads, "cycles": 0, "seconds": 0.0, "calls": 0}
        try:
            await _run(e, threads, base, warmup)
        except Exception as exc:
            errors[e.key] = describe(exc)
    for r in range(rounds):
        order = entries[r % len(entries) :] + entries[: r % len(entries)]
        for e in order:
            if e.key in errors:
                continue
            st = state[e.key]
            settle()
            before = e.counter.snapshot()[0] if e.counter else 0
            try:
                cycles, elapsed = await _run(e, st["threads"], base, seconds / rounds)
            except Exception as exc:
                errors[e.key] = describe(exc)
                continue
            st["cycles"] += cycles
            st["seconds"] += elapsed
            st["calls"] += (e.counter.snapshot()[0] - before) if e.counter else 0
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        st = state[e.key]
        if e.key not in errors:
            out[e.key] = {
                "workers": len(st["threads"]),
                "worker_kind": "coroutines" if e.is_async else "threads",
                "cycles": st["cycles"],
                "seconds": st["seconds"],
                "cycles_per_s": st["cycles"] / st["seconds"],
            }
            if e.counter is not None and st["cycles"]:
                out[e.key]["round_trips_per_cycle"] = st["calls"] / st["cycles"]
        for thread in st["threads"]:
            with contextlib.suppress(Exception):
                if e.is_async:
                    await e.saver.adelete_thread(thread.thread_id)
                else:
                    e.saver.delete_thread(thread.thread_id)
    return out
