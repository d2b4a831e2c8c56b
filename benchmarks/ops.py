"""Section 1 and 4a: per-operation latency, round trips and bytes sent.

For each saver, a pool of threads each holds one checkpoint with one task's
3 pending writes. Each operation then runs round-robin over the pool. The
savers take turns in blocks of ``BLOCK`` calls (the order rotating every
round), so a noisy moment of the machine hits them all alike. Warm-up calls
are not timed; round trips and bytes are averaged over the timed calls.
Besides wall time, each call's CPU time in this thread is recorded: it
leaves out waiting for Redis and for other processes on a busy machine.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import time
import uuid
from collections.abc import Coroutine
from typing import Any

import workload
from savers import Entry, describe
from stats import settle, summary

OPS = ("put", "put_writes", "get_tuple", "get_tuple_by_id", "list", "delete_thread")
POOL = 20
BLOCK = 5


async def _call(entry: Entry, op: str, args: tuple[Any, ...]) -> tuple[int, int]:
    """Run one operation; return its wall time and this thread's CPU time in
    ns (argument building and the wrapper's own cost are outside both)."""
    saver = entry.saver
    op = "get_tuple" if op == "get_tuple_by_id" else op
    if entry.is_async:
        if op == "list":
            it = saver.alist(*args)
            c0 = time.thread_time_ns()
            t0 = time.perf_counter_ns()
            _ = [x async for x in it]
        else:
            fn = getattr(saver, "a" + op)
            c0 = time.thread_time_ns()
            t0 = time.perf_counter_ns()
            await fn(*args)
    elif op == "list":
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        _ = list(saver.list(*args))
    else:
        fn = getattr(saver, op)
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        fn(*args)
    t1 = time.perf_counter_ns()
    return t1 - t0, time.thread_time_ns() - c0


async def _untimed(entry: Entry, op: str, args: tuple[Any, ...]) -> Any:
    if entry.is_async:
        return await getattr(entry.saver, "a" + op)(*args)
    return getattr(entry.saver, op)(*args)


class _Bench:
    """One saver's threads and samples at one checkpoint size."""

    def __init__(self, entry: Entry, n: int, base: Any, tag: str, doomed: int) -> None:
        self.entry = entry
        self.base = base
        self.rng = random.Random(n)
        name = f"{tag}_{entry.key}_n{n}"
        self.pool = [workload.Thread(f"{name}_p{i}") for i in range(POOL)]
        self.doomed = [workload.Thread(f"{name}_d{i}") for i in range(doomed)]
        self.i = 0  # calls made so far of the current op
        self.times: dict[str, list[int]] = {}
        self.cpu: dict[str, list[int]] = {}
        self.counts: dict[str, list[int]] = {}

    async def prepare(self, threads: list[workload.Thread]) -> None:
        """One put plus one task's 3 pending writes on each thread."""
        for thread in threads:
            args = workload.next_put(self.entry.saver, thread, self.base)
            config = await _untimed(self.entry, "put", args)
            await _untimed(
                self.entry,
                "put_writes",
                (
                    config,
                    workload.writes(self.rng),
                    str(uuid.uuid4()),
                    workload.TASK_PATH,
                ),
            )

    def args(self, op: str) -> tuple[Any, ...]:
        i = self.i
        self.i += 1
        thread = self.pool[i % POOL]
        if op == "get_tuple":
            return (thread.config(with_id=False),)
        if op == "get_tuple_by_id":
            return (thread.config(with_id=True),)
        if op == "list":
            return ({"configurable": {"thread_id": thread.thread_id}},)
        if op == "put":
            return workload.next_put(self.entry.saver, thread, self.base)
        if op == "put_writes":
            return (
                thread.config(),
                workload.writes(self.rng),
                str(uuid.uuid4()),
                workload.TASK_PATH,
            )
        if op == "delete_thread":
            return (self.doomed[i].thread_id,)
        raise ValueError(op)

    async def run(self, op: str, count: int, timed: bool) -> None:
        counter = self.entry.counter
        before = counter.snapshot() if counter else (0, 0)
        pairs = [await _call(self.entry, op, self.args(op)) for _ in range(count)]
        if not timed:
            return
        self.times.setdefault(op, []).extend(p[0] for p in pairs)
        self.cpu.setdefault(op, []).extend(p[1] for p in pairs)
        if counter:
            after = counter.snapshot()
            acc = self.counts.setdefault(op, [0, 0, 0])
            acc[0] += after[0] - before[0]
            acc[1] += after[1] - before[1]
            acc[2] += count

    def result(self) -> dict[str, Any]:
        out = {}
        for op, times in self.times.items():
            out[op] = summary(times)
            out[op]["cpu_median_ms"] = statistics.median(self.cpu[op]) / 1e6
            out[op]["samples_us"] = [round(t / 1e3, 1) for t in times]
            out[op]["cpu_samples_us"] = [round(t / 1e3, 1) for t in self.cpu[op]]
            if op in self.counts:
                calls, sent, count = self.counts[op]
                out[op]["round_trips"] = calls / count
                out[op]["bytes_sent"] = sent / count
        return out


async def measure(
    entries: list[Entry],
    n: int,
    base: Any,
    samples: int,
    warmup: int,
    tag: str,
    errors: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """Every operation of ``OPS`` on every saver at one checkpoint size. A
    saver that raises is recorded in ``errors`` and left out from then on
    (what it measured before is kept)."""
    benches = [_Bench(e, n, base, tag, warmup + samples) for e in entries]

    async def attempt(b: _Bench, step: Coroutine[Any, Any, None]) -> None:
        if b.entry.key in errors:
            step.close()
            return
        try:
            await step
        except Exception as exc:
            errors[b.entry.key] = describe(exc)

    for b in benches:
        await attempt(b, b.prepare(b.pool))
    # Reads first (each thread holds exactly one checkpoint and 3 writes),
    # then puts, then writes (which pile up on the last checkpoint, so
    # nothing is measured after them), then deletes of fresh threads.
    for op in (
        "get_tuple",
        "get_tuple_by_id",
        "list",
        "put",
        "put_writes",
        "delete_thread",
    ):
        if op == "delete_thread":
            for b in benches:
                await attempt(b, b.prepare(b.doomed))
        for b in benches:
            b.i = 0
            await attempt(b, b.run(op, warmup, timed=False))
        settle()
        rounds = -(-samples // BLOCK)
        for r in range(rounds):
            count = min(BLOCK, samples - r * BLOCK)
            for k in range(len(benches)):
                b = benches[(r + k) % len(benches)]
                await attempt(b, b.run(op, count, timed=True))
    for b in benches:
        for thread in b.pool:
            with contextlib.suppress(Exception):
                await _untimed(b.entry, "delete_thread", (thread.thread_id,))
    return {b.entry.key: b.result() for b in benches}
