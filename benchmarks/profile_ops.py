"""Profile our savers' get_tuple and put with cProfile.

    python benchmarks/profile_ops.py [--n 10 200] [--calls 300] [--top 25] [--cpu]

Runs each (variant, operation, N) in a loop under cProfile against
``$REDIS_URL`` or an embedded Redis, and prints the top functions by
cumulative time as a share of the loop's total. ``--cpu`` times with this
thread's CPU clock instead of the wall clock: waiting for Redis (and, on a
busy machine, for the CPU) then drops out, leaving what Python costs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import sys
import time
import uuid
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

import redis.asyncio  # noqa: E402

import workload  # noqa: E402
from langgraph.checkpoint.redis_shallow import (  # noqa: E402
    AsyncShallowRedisSaver,
    ShallowRedisSaver,
)


def top(prof: cProfile.Profile, limit: int) -> str:
    """Top functions by cumulative time, with their share of the total."""
    stats = pstats.Stats(prof)
    total = max(v[3] for v in stats.stats.values())  # the outermost frame
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][3], reverse=True)
    out = io.StringIO()
    print(f"{'cum %':>6} {'cum ms':>9} {'tot ms':>8} {'calls':>8}  function", file=out)
    for (path, line, name), (_, ncalls, tottime, cumtime, _) in rows[:limit]:
        where = f"{os.path.basename(path)}:{line}" if line else path
        print(
            f"{100 * cumtime / total:6.1f} {cumtime * 1e3:9.1f} {tottime * 1e3:8.1f} "
            f"{ncalls:8d}  {name} ({where})",
            file=out,
        )
    return out.getvalue()


def by_own_time(prof: cProfile.Profile, limit: int) -> str:
    stats = pstats.Stats(prof)
    total = max(v[3] for v in stats.stats.values())
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)
    out = io.StringIO()
    print(f"{'own %':>6} {'own ms':>8} {'calls':>8}  function", file=out)
    for (path, line, name), (_, ncalls, tottime, _, _) in rows[:limit]:
        where = f"{os.path.basename(path)}:{line}" if line else path
        print(
            f"{100 * tottime / total:6.1f} {tottime * 1e3:8.1f} {ncalls:8d}  {name} ({where})",
            file=out,
        )
    return out.getvalue()


async def profile_async(
    url: str, n: int, calls: int, cpu: bool
) -> dict[str, cProfile.Profile]:
    client = redis.asyncio.Redis.from_url(url)
    saver = AsyncShallowRedisSaver(
        redis_client=client,
        checkpoint_prefix="prof:a:cp",
        checkpoint_write_prefix="prof:a:w",
    )
    await saver.asetup()
    base = workload.base_checkpoint(n)[0]
    rng = random.Random(0)
    threads = [workload.Thread(f"prof_a_{n}_{i}") for i in range(10)]
    for t in threads:
        config = await saver.aput(*workload.next_put(saver, t, base))
        await saver.aput_writes(
            config, workload.writes(rng), str(uuid.uuid4()), workload.TASK_PATH
        )

    async def get_loop() -> None:
        for i in range(calls):
            await saver.aget_tuple(threads[i % 10].config(with_id=False))

    put_args = [workload.next_put(saver, threads[i % 10], base) for i in range(calls)]

    async def put_loop() -> None:
        for args in put_args:
            await saver.aput(*args)

    out = {}
    await get_loop()  # warm-up
    for name, loop in (("get_tuple", get_loop), ("put", put_loop)):
        prof = cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()
        prof.enable()
        await loop()
        prof.disable()
        out[name] = prof
    for t in threads:
        await saver.adelete_thread(t.thread_id)
    await client.aclose()
    return out


def profile_sync(
    url: str, n: int, calls: int, cpu: bool
) -> dict[str, cProfile.Profile]:
    import redis

    client = redis.Redis.from_url(url)
    saver = ShallowRedisSaver(
        redis_client=client,
        checkpoint_prefix="prof:s:cp",
        checkpoint_write_prefix="prof:s:w",
    )
    saver.setup()
    base = workload.base_checkpoint(n)[0]
    rng = random.Random(0)
    threads = [workload.Thread(f"prof_s_{n}_{i}") for i in range(10)]
    for t in threads:
        config = saver.put(*workload.next_put(saver, t, base))
        saver.put_writes(
            config, workload.writes(rng), str(uuid.uuid4()), workload.TASK_PATH
        )

    def get_loop() -> None:
        for i in range(calls):
            saver.get_tuple(threads[i % 10].config(with_id=False))

    put_args = [workload.next_put(saver, threads[i % 10], base) for i in range(calls)]

    def put_loop() -> None:
        for args in put_args:
            saver.put(*args)

    out = {}
    get_loop()
    for name, loop in (("get_tuple", get_loop), ("put", put_loop)):
        prof = cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()
        prof.enable()
        loop()
        prof.disable()
        out[name] = prof
    for t in threads:
        saver.delete_thread(t.thread_id)
    client.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[10, 200])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cpu", action="store_true", help="CPU time, not wall time")
    args = parser.parse_args(argv)
    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        from redis_server import RedisServer

        server = RedisServer(modules=True).start()
        url = server.url
    try:
        for n in args.n:
            calls = max(30, args.calls if n <= 10 else args.calls // 4)
            results: dict[str, Any] = {
                "async": asyncio.run(profile_async(url, n, calls, args.cpu)),
                "sync": profile_sync(url, n, calls, args.cpu),
            }
            for variant, profs in results.items():
                for op, prof in profs.items():
                    clock = "CPU" if args.cpu else "wall"
                    print(
                        f"\n===== ours {variant} {op}, N={n}, {calls} calls, {clock} ====="
                    )
                    print(top(prof, args.top))
                    print(by_own_time(prof, 12))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
