"""``put`` of a large value with and without compression, client and server.

    python benchmarks/put_compression.py [--n 200] [--rounds 40]

One embedded Redis (``tools/redis_server.py``, no modules), three sync
savers taking turns in blocks of 10 puts: ``compression=False``, the
default (zstd level 1) and level -1. Each put carries a ``messages``
channel of ``--n`` messages of English text (``workload.py``). Prints the
median wall time per ``put``, then each saver's server time per put (Redis
``INFO commandstats``, ``usec_per_call`` of ``EVALSHA`` over 200 more puts)
and the memory of its thread, and the client-side cost of serializing and
of compressing the value alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

import redis  # noqa: E402

import workload  # noqa: E402
from langgraph.checkpoint.redis_shallow import ShallowRedisSaver  # noqa: E402
from langgraph.checkpoint.redis_shallow.compression import Compression  # noqa: E402
from redis_server import RedisServer  # noqa: E402

VARIANTS: dict[str, Any] = {
    "uncompressed": False,
    "zstd level 1 (default)": True,
    "zstd level -1": Compression(level=-1),
}


def _median_us(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e6:,.0f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="messages in the value")
    parser.add_argument("--rounds", type=int, default=40, help="blocks of 10 puts")
    opts = parser.parse_args()
    base, _ = workload.base_checkpoint(opts.n)
    with RedisServer(kind="plain") as server:
        url = f"redis://127.0.0.1:{server.port}"
        savers = {}
        for i, (name, compression) in enumerate(VARIANTS.items()):
            manager = ShallowRedisSaver.from_conn_string(
                url,
                compression=compression,
                checkpoint_prefix=f"v{i}:cp",
                checkpoint_write_prefix=f"v{i}:w",
            )
            saver = manager.__enter__()
            saver.setup()
            savers[name] = (saver, workload.Thread(f"t{i}"), f"v{i}:cp")
        times: dict[str, list[float]] = {name: [] for name in savers}
        for _ in range(opts.rounds):
            for name, (saver, thread, _) in savers.items():
                for _ in range(10):
                    args = workload.next_put(saver, thread, base)
                    started = time.perf_counter()
                    saver.put(*args)
                    times[name].append(time.perf_counter() - started)
        client = redis.Redis(port=server.port)
        print(f"put, N={opts.n}, {opts.rounds * 10} puts each, interleaved")
        for name, (saver, thread, prefix) in savers.items():
            client.config_resetstat()
            for _ in range(200):
                saver.put(*workload.next_put(saver, thread, base))
            evalsha = client.info("commandstats")["cmdstat_evalsha"]
            memory = sum(
                client.memory_usage(k, samples=0) or 0
                for k in client.scan_iter(prefix + "*")
            )
            print(
                f"  {name:<24} wall {_median_us(times[name]):>10}   server "
                f"{evalsha['usec_per_call']:6.0f} µs/put   thread memory {memory:,} B"
            )
        serde = savers["uncompressed"][0].serde
        type_name, data = serde.dumps_typed(base["channel_values"]["messages"])
        spent = []
        for _ in range(200):
            started = time.perf_counter()
            serde.dumps_typed(base["channel_values"]["messages"])
            spent.append(time.perf_counter() - started)
        print(f"  serializing the value: {_median_us(spent)} ({len(data):,} B)")
        for level in (1, -1):
            codec, spent = Compression(level=level), []
            for _ in range(200):
                started = time.perf_counter()
                packed = codec.pack(type_name.encode(), data)
                spent.append(time.perf_counter() - started)
            print(
                f"  compressing it, level {level}: {_median_us(spent)} ({len(packed):,} B)"
            )


if __name__ == "__main__":
    main()
