"""Latency cost of ``wait_for_replicas``: put and put_writes with 0, 1 and 2
replicas attached.

    python benchmarks/replicas.py [--calls N] [--messages N]

Starts a primary (the plain Redis 8.2 of ``tools/redis_server.py``) and two
replicas on this machine, stopped by pid at the end; ignores ``$REDIS_URL``
(it needs replicas it controls). For each number of attached replicas
(0, then 1, then 2: the second is started for the last step) it times the
sync saver's ``put`` and ``put_writes`` without the option and with
``wait_for_replicas`` = 1 .. attached. The configurations take turns in
blocks of ``BLOCK`` calls on a pool of threads, so a noisy moment hits all
alike; warm-up calls are not timed. Prints the median and p99 in
microseconds and the ratio to the option off with the same replicas.

On one machine a replica's acknowledgement costs a loopback hop and the
replica's own processing; across hosts add the network round trip between
primary and replica.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

import redis  # noqa: E402

import workload  # noqa: E402
from langgraph.checkpoint.redis_shallow import ShallowRedisSaver  # noqa: E402
from redis_server import RedisServer  # noqa: E402
from stats import settle  # noqa: E402

POOL = 20
BLOCK = 5
WARMUP = 50


def _wait_online(primary: RedisServer, replicas: int) -> None:
    client = redis.Redis(port=primary.port)
    try:
        deadline = time.monotonic() + 30
        while True:
            info = client.info("replication")
            online = [
                info[f"slave{i}"]
                for i in range(replicas)
                if info.get(f"slave{i}", {}).get("state") == "online"
            ]
            if len(online) == replicas:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{replicas} replicas not online: {info}")
            time.sleep(0.05)
    finally:
        client.close()


def _time(savers: dict[str, Any], calls: int, n_messages: int) -> dict[str, Any]:
    """Median and p99 (µs) of put and put_writes per configuration."""
    base, _ = workload.base_checkpoint(n_messages)
    rng = random.Random(1)
    pools = {
        name: [workload.Thread("bench-" + uuid.uuid4().hex) for _ in range(POOL)]
        for name in savers
    }
    samples: dict[str, dict[str, list[int]]] = {
        name: {"put": [], "put_writes": []} for name in savers
    }
    order = list(savers)
    done = 0
    while done < calls + WARMUP:
        order = order[1:] + order[:1]
        for name in order:
            saver = savers[name]
            settle()
            for i in range(BLOCK):
                thread = pools[name][(done + i) % POOL]
                args = workload.next_put(saver, thread, base)
                t0 = time.perf_counter_ns()
                stored = saver.put(*args)
                t1 = time.perf_counter_ns()
                writes = workload.writes(rng)
                t2 = time.perf_counter_ns()
                saver.put_writes(stored, writes, "task-" + uuid.uuid4().hex)
                t3 = time.perf_counter_ns()
                if done + i >= WARMUP:
                    samples[name]["put"].append(t1 - t0)
                    samples[name]["put_writes"].append(t3 - t2)
        done += BLOCK
    out: dict[str, Any] = {}
    for name, ops in samples.items():
        out[name] = {}
        for op, values in ops.items():
            values.sort()
            out[name][op] = (
                statistics.median(values) / 1000,
                values[int(0.99 * (len(values) - 1))] / 1000,
            )
        for thread in pools[name]:
            savers[name].delete_thread(thread.thread_id)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="timed calls each")
    parser.add_argument(
        "--messages", type=int, default=20, help="messages in the checkpoint"
    )
    args = parser.parse_args()
    rows = []
    with RedisServer(kind="plain") as primary:
        replicas: list[RedisServer] = []
        try:
            for attached in (0, 1, 2):
                while len(replicas) < attached:
                    replicas.append(
                        RedisServer(
                            kind="plain",
                            extra_args=["--replicaof", "127.0.0.1", str(primary.port)],
                        ).start()
                    )
                _wait_online(primary, attached)
                savers = {
                    f"wait_for_replicas={n}": ShallowRedisSaver(
                        primary.url, wait_for_replicas=n, wait_timeout=5.0
                    )
                    for n in range(attached + 1)
                }
                for saver in savers.values():
                    saver.setup()
                try:
                    timed = _time(savers, args.calls, args.messages)
                finally:
                    for saver in savers.values():
                        saver.close()
                off = timed["wait_for_replicas=0"]
                for name, ops in timed.items():
                    rows.append(
                        (
                            attached,
                            name,
                            *(
                                f"{ops[op][0]:.0f} / {ops[op][1]:.0f} "
                                f"({ops[op][0] / off[op][0]:.2f}x)"
                                for op in ("put", "put_writes")
                            ),
                        )
                    )
        finally:
            for replica in replicas:
                replica.stop()
    print(
        f"{args.calls} timed calls each, checkpoint of {args.messages} messages; "
        "median / p99 in µs (ratio of the medians to the option off)"
    )
    print(f"{'replicas':>8}  {'saver':<22} {'put':<24} {'put_writes':<24}")
    for attached, name, put, put_writes in rows:
        print(f"{attached:>8}  {name:<22} {put:<24} {put_writes:<24}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
