"""The history window (``keep_last``): what it costs, side by side in one run.

    python benchmarks/window.py [--quick] [--base-src DIR] [--json PATH]

1. Latency per operation (sync saver, medians in ms, N = 10 and 200 chat
   messages of about 200 characters): ``put`` (the next step), ``put_writes``
   (3 writes), ``get_tuple`` of the latest, ``get_tuple`` by id (at K=10 a
   checkpoint 5 steps back, at K=1 the newest) and ``list`` of the thread.
   Each configuration runs in a child process of its own, and the children
   take turns (``ROUNDS`` rounds, one block each), so a noisy moment of the
   machine hits them alike: ``K=1`` and ``K=10`` of this checkout and, with
   ``--base-src`` (the ``src`` folder of a checkout of the commit before the
   window), that commit's saver, which has no ``keep_last``.
2. Memory per thread after 100 steps (``MEMORY USAGE`` of every key of the
   thread) at K = 1, 3, 10 and 50, for the chat workload with plain
   ``add_messages`` and for a 3-node chain graph, against the stored bytes
   of the distinct values the window refers to (each channel version once).

Uses ``$REDIS_URL`` if set, else an embedded Redis 8.2 (``tools/redis_server.py``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))

OPS = ("put", "put_writes", "get_tuple", "get_tuple_by_id", "list")
ROUNDS = 5
POOL = 10
STEPS_BEFORE = 12  # a full window of 10 before the timed calls
KS = (1, 3, 10, 50)


def child(url: str, keep_last: int, n: int, calls: int) -> dict[str, list[float]]:
    """One block of timed calls of one configuration (in this process)."""
    import random

    import workload
    from langgraph.checkpoint.redis_shallow import ShallowRedisSaver

    kwargs: dict[str, Any] = {"checkpoint_prefix": f"bw{uuid.uuid4().hex[:8]}:cp"}
    kwargs["checkpoint_write_prefix"] = kwargs["checkpoint_prefix"][:-3] + ":w"
    if keep_last != 1:
        kwargs["keep_last"] = keep_last
    base, _ = workload.base_checkpoint(n)
    writes = workload.writes(random.Random(n))
    out: dict[str, list[float]] = {op: [] for op in OPS}
    with ShallowRedisSaver.from_conn_string(url, **kwargs) as saver:
        threads = [workload.Thread(f"t{i}") for i in range(POOL)]
        ids: dict[str, list[str]] = {t.thread_id: [] for t in threads}
        for t in threads:
            for _ in range(STEPS_BEFORE):
                saver.put(*workload.next_put(saver, t, base))
                ids[t.thread_id].append(t.checkpoint_id or "")

        # each operation in a loop of its own, after a collection, so that
        # one operation's garbage (a list of 10 checkpoints) is not
        # collected inside another's timing
        def timed(op: str, call: Any) -> None:
            gc.collect()
            for i in range(calls):
                t0 = time.perf_counter_ns()
                call(threads[i % POOL])
                out[op].append(time.perf_counter_ns() - t0)

        def put(t: Any) -> None:
            args = workload.next_put(saver, t, base)
            t0 = time.perf_counter_ns()
            saver.put(*args)
            out["put"].append(time.perf_counter_ns() - t0)
            ids[t.thread_id].append(t.checkpoint_id or "")

        gc.collect()
        for i in range(calls):
            put(threads[i % POOL])
        timed("put_writes", lambda t: saver.put_writes(t.config(), writes, "task"))
        timed("get_tuple", lambda t: saver.get_tuple(t.config(with_id=False)))
        back = -5 if keep_last >= 5 else -1
        timed(
            "get_tuple_by_id",
            lambda t: saver.get_tuple(
                {
                    "configurable": {
                        "thread_id": t.thread_id,
                        "checkpoint_ns": "",
                        "checkpoint_id": ids[t.thread_id][back],
                    }
                }
            ),
        )
        timed(
            "list",
            lambda t: list(saver.list({"configurable": {"thread_id": t.thread_id}})),
        )
        for t in threads:
            found = saver.get_tuple(t.config(with_id=False))
            assert found is not None and found.checkpoint["id"] == ids[t.thread_id][-1]
            listed = list(saver.list({"configurable": {"thread_id": t.thread_id}}))
            assert len(listed) == min(keep_last, len(ids[t.thread_id]))
        for t in threads:
            saver.delete_thread(t.thread_id)
    return out


def latency(
    url: str, base_src: str | None, sizes: tuple[int, ...], calls: int
) -> dict[str, Any]:
    """Section 1: the children take turns; medians over all their calls."""
    here = os.path.join(ROOT, "src")  # every child imports the saver from a path
    configs = [("K=1", here, 1), ("K=10", here, 10)]
    if base_src:
        configs.insert(0, ("base K=1", base_src, 1))
    result: dict[str, Any] = {}
    for n in sizes:
        samples: dict[str, dict[str, list[float]]] = {
            c[0]: {op: [] for op in OPS} for c in configs
        }
        for r in range(ROUNDS):
            order = configs[r % len(configs) :] + configs[: r % len(configs)]
            for label, src, k in order:
                env = dict(os.environ)
                if src:
                    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
                proc = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        url,
                        str(k),
                        str(n),
                        str(calls),
                    ],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                for op, values in json.loads(proc.stdout).items():
                    samples[label][op] += values
        result[str(n)] = {
            label: {op: statistics.median(v) / 1e6 for op, v in ops.items()}
            for label, ops in samples.items()
        }
    return result


def thread_memory(client: Any, saver: Any, thread_id: str) -> tuple[int, int]:
    """``MEMORY USAGE`` of every key of the thread, and the stored bytes of
    the distinct values its window refers to."""
    keys = [
        k
        for k in client.scan_iter(
            match=f"{saver.keys.checkpoint_prefix}:{{{thread_id}}}*"
        )
    ]
    keys += [
        k for k in client.scan_iter(match=f"{saver.keys.entry_prefix}:{{{thread_id}}}*")
    ]
    used = sum(client.memory_usage(k, samples=0) or 0 for k in keys)
    values = 0
    for key in keys:
        if client.type(key) == b"hash":
            for field in client.hkeys(key):
                if field.startswith(b"v:"):
                    values += client.hstrlen(key, field)
    return used, values


def memory(url: str, steps: int) -> dict[str, Any]:
    """Section 2: one thread per workload and K, ``steps`` steps each."""
    import redis

    import workload
    from langgraph.checkpoint.redis_shallow import ShallowRedisSaver

    client = redis.Redis.from_url(url)
    out: dict[str, Any] = {}
    for k in KS:
        prefix = f"bm{uuid.uuid4().hex[:8]}"
        with ShallowRedisSaver.from_conn_string(
            url,
            keep_last=k,
            checkpoint_prefix=f"{prefix}:cp",
            checkpoint_write_prefix=f"{prefix}:w",
        ) as saver:
            saver.setup()
            chat = workload.Thread("chat")
            base, _ = workload.base_checkpoint(1)
            for step in range(steps):
                grown = {
                    **base,
                    "channel_values": {
                        **base["channel_values"],
                        "messages": workload.messages(step + 1),
                    },
                }
                saver.put(*workload.next_put(saver, chat, grown))
            used, values = thread_memory(client, saver, "chat")
            graph = workload.chain_graph(saver)
            config = {"configurable": {"thread_id": "chain"}}
            for turn in range(steps // 4):
                graph.invoke(
                    workload.user_input(__import__("random").Random(turn)), config
                )
            c_used, c_values = thread_memory(client, saver, "chain")
            out[str(k)] = {
                "chat": {"bytes": used, "values": values, "checkpoints": min(k, steps)},
                "chain": {
                    "bytes": c_used,
                    "values": c_values,
                    "checkpoints": min(k, steps // 4 * 4),
                },
            }
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.unlink(key)
    client.close()
    return out


def report(res: dict[str, Any]) -> None:
    for n, by_label in res["latency"].items():
        print(f"\nlatency, N={n} messages (median ms; ratio to K=1)")
        labels = list(by_label)
        print(
            "| operation | "
            + " | ".join(labels)
            + " | K=10 / K=1 |"
            + (" K=1 / base |" if "base K=1" in by_label else "")
        )
        print("|---" * (len(labels) + 2 + ("base K=1" in by_label)) + "|")
        for op in OPS:
            row = [f"{by_label[label][op]:.3f}" for label in labels]
            ratio = by_label["K=10"][op] / by_label["K=1"][op]
            extra = ""
            if "base K=1" in by_label:
                extra = f" {by_label['K=1'][op] / by_label['base K=1'][op]:.2f}x |"
            print(f"| {op} | " + " | ".join(row) + f" | {ratio:.2f}x |" + extra)
    print("\nmemory per thread after the steps (bytes)")
    print(
        "| K | chat: memory | chat: distinct values | ratio | per checkpoint over the values | chain: memory | chain: values | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for k, m in res["memory"].items():
        chat, chain = m["chat"], m["chain"]
        over = (chat["bytes"] - chat["values"]) / chat["checkpoints"]
        print(
            f"| {k} | {chat['bytes']:,} | {chat['values']:,} | {chat['bytes'] / chat['values']:.2f}x | {over:,.0f} "
            f"| {chain['bytes']:,} | {chain['values']:,} | {chain['bytes'] / chain['values']:.2f}x |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small samples")
    parser.add_argument(
        "--base-src", help="src folder of the commit to compare K=1 with"
    )
    parser.add_argument("--json", default=os.path.join(HERE, "results", "window.json"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, k, n, calls = args.child
        print(json.dumps(child(url, int(k), int(n), int(calls))))
        return 0
    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        from redis_server import RedisServer

        server = RedisServer(modules=True).start()
        url = server.url
    try:
        calls = 40 if args.quick else 200
        res = {
            "latency": latency(url, args.base_src, (10, 200), calls),
            "memory": memory(url, 20 if args.quick else 100),
        }
    finally:
        if server is not None:
            server.stop()
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=1)
    report(res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
