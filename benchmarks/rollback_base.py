"""What keeping the rollback base costs: time of the first put of a new run,
and memory of a namespace with its base (docs/design.md, "delete_for_runs").

    python benchmarks/rollback_base.py      # starts its own Redis with Search

For N = 10 and 200 chat messages of ~200 characters, 30 threads each: one
run's checkpoint, a second put of the same run (timed), then the first put
of another run (timed; it copies the namespace hash aside). Prints medians.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import redis
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import empty_checkpoint

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from redis_server import RedisServer

THREADS = 30
TEXT = " ".join(Path(redis.client.__file__).read_text().split())


def messages(n: int) -> list[Any]:
    kinds = (HumanMessage, AIMessage)
    return [kinds[i % 2](TEXT[i * 200 : (i + 1) * 200], id=str(i)) for i in range(n)]


def checkpoint(n: int, version: int) -> Any:
    cp = empty_checkpoint()
    cp["channel_values"] = {"messages": messages(n)}
    cp["channel_versions"] = {"messages": version}
    return cp


def main() -> None:
    with RedisServer(modules=True) as server:
        admin = redis.Redis.from_url(server.url)
        with ShallowRedisSaver.from_conn_string(server.url) as saver:
            saver.setup()
            for n in (10, 200):
                same, new, alone, with_base = [], [], [], []
                for i in range(THREADS):
                    config: Any = {"configurable": {"thread_id": f"t{n}-{i}"}}
                    config = saver.put(
                        config, checkpoint(n, 1), {"run_id": "r1"}, {"messages": 1}
                    )
                    t0 = time.perf_counter()
                    config = saver.put(
                        config, checkpoint(n, 2), {"run_id": "r1"}, {"messages": 2}
                    )
                    same.append(time.perf_counter() - t0)
                    hk = saver.keys.for_namespace(f"t{n}-{i}", "")[0]
                    alone.append(admin.memory_usage(hk))
                    t0 = time.perf_counter()
                    saver.put(
                        config, checkpoint(n, 3), {"run_id": "r2"}, {"messages": 3}
                    )
                    new.append(time.perf_counter() - t0)
                    base = (
                        admin.memory_usage(saver.keys.rollback_base(f"t{n}-{i}", ""))
                        or 0
                    )
                    with_base.append(admin.memory_usage(hk) + base)
                ratio = statistics.median(with_base) / statistics.median(alone)
                print(
                    f"N={n}: put within a run {statistics.median(same) * 1e3:.3f} ms, "
                    f"first put of a new run {statistics.median(new) * 1e3:.3f} ms; "
                    f"namespace {statistics.median(alone):,.0f} bytes, with its base "
                    f"{statistics.median(with_base):,.0f} bytes ({ratio:.2f}x)"
                )
        admin.close()


if __name__ == "__main__":
    main()
