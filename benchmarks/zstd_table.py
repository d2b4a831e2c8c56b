"""The compression table of docs/performance.md: sizes, ratios and times.

    python benchmarks/zstd_table.py [--quick] [--redis]

Values are what a chat stores: strings and lists of LangGraph messages of
real English text (``corpus.py``), serialized by LangGraph's default serde,
and random bytes (the worst case). For each size and zstd level it prints
the stored size through this package's envelope (``Compression.pack``),
the ratio to the plain typed blob and the median microseconds to compress
and to decompress (one thread, the codec alone, no Redis).

With ``--redis`` it then times the sync saver's ``put`` and ``get_tuple``
of a checkpoint whose one channel holds N messages, with compression on
(level 1, threshold 0: every size compressed) and off, alternating call by call on one embedded Redis
(``$REDIS_URL`` if set), which goes first alternating too: what compression costs or saves end to end on
loopback, by value size.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402

import corpus  # noqa: E402
from langgraph.checkpoint.redis_shallow.compression import (  # noqa: E402
    Compression,
    codec_name,
    decompress_envelope,
    is_envelope,
)

LEVELS = (-3, 1, 3, 6, 9)


def values() -> list[tuple[str, object]]:
    """(label, value) pairs of increasing serialized size."""
    rng = random.Random(1)
    out: list[tuple[str, object]] = []
    for chars in (100, 250, 500, 1000):
        out.append((f"str {chars} chars", corpus.text(rng, chars)))
    for n in (10, 50, 200, 800):
        msgs = [
            (HumanMessage if i % 2 == 0 else AIMessage)(
                content=corpus.text(rng, 200), id=f"msg-{rng.getrandbits(64):016x}"
            )
            for i in range(n)
        ]
        out.append((f"{n} messages", msgs))
    for size in (1000, 80_000):
        out.append((f"random {size} B", corpus.random_bytes(rng, size)))
    return out


def median_us(fn: object, arg: bytes, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn(arg)  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2] * 1e6


def _messages(n: int, rng: random.Random) -> list[Any]:
    return [
        (HumanMessage if i % 2 == 0 else AIMessage)(
            content=corpus.text(rng, 200), id=f"msg-{rng.getrandbits(64):016x}"
        )
        for i in range(n)
    ]


def end_to_end(url: str, reps: int) -> None:
    """Median ms of put and get_tuple, compression on against off."""
    from langgraph.checkpoint.base import empty_checkpoint

    from langgraph.checkpoint.redis_shallow import ShallowRedisSaver

    savers = {
        on: ShallowRedisSaver(
            url,
            checkpoint_prefix=f"zt:{int(on)}:cp",
            checkpoint_write_prefix=f"zt:{int(on)}:w",
            # threshold 0: every row shows what compressing that size costs
            compression=Compression(threshold=0) if on else False,
        )
        for on in (True, False)
    }
    for saver in savers.values():
        saver.setup()
    rng = random.Random(2)
    print()
    print(
        "| messages | value B | put on/off ms | ratio | get_tuple on/off ms | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for n in (2, 5, 10, 20, 50, 200):
        value = _messages(n, rng)
        size = len(JsonPlusSerializer().dumps_typed(value)[1])
        times: dict[tuple[bool, str], list[float]] = {}
        for i in range(reps + 5):
            # alternate which goes first, so neither always follows the other
            for on in (True, False) if i % 2 else (False, True):
                saver = savers[on]
                cp = empty_checkpoint()
                cp["channel_values"] = {"messages": value}
                cp["channel_versions"] = {"messages": i + 1}
                config = {"configurable": {"thread_id": f"t{n}", "checkpoint_ns": ""}}
                t0 = time.perf_counter()
                saver.put(config, cp, {}, {"messages": i + 1})
                t1 = time.perf_counter()
                saver.get_tuple(config)
                t2 = time.perf_counter()
                if i >= 5:
                    times.setdefault((on, "put"), []).append(t1 - t0)
                    times.setdefault((on, "get"), []).append(t2 - t1)
        med = {k: sorted(v)[len(v) // 2] * 1e3 for k, v in times.items()}
        cells = []
        for op in ("put", "get"):
            a, b = med[(True, op)], med[(False, op)]
            cells += [f"{a:.3f} / {b:.3f}", f"{a / b:.2f}"]
        print(f"| {n} | {size} | " + " | ".join(cells) + " |")
    for saver in savers.values():
        for n in (2, 5, 10, 20, 50, 200):
            saver.delete_thread(f"t{n}")
        saver.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--redis", action="store_true")
    args = parser.parse_args()
    serde = JsonPlusSerializer()
    print(f"codec: {codec_name()}; Python {sys.version.split()[0]}")
    print(
        "| value | plain B | level | stored B | ratio | compress µs | decompress µs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, value in values():
        type_name, data = serde.dumps_typed(value)
        plain = len(type_name) + 1 + len(data)
        reps = 20 if args.quick else max(30, min(2000, 4_000_000 // len(data)))
        for level in LEVELS:
            comp = Compression(threshold=0, level=level)
            name = type_name.encode()
            blob = comp.pack(name, data)
            c_us = median_us(lambda d, c=comp, n=name: c.pack(n, d), data, reps)
            d_us = (
                median_us(decompress_envelope, blob, reps) if is_envelope(blob) else 0.0
            )
            print(
                f"| {label} | {plain} | {level} | {len(blob)} | "
                f"{len(blob) / plain:.2f} | {c_us:.1f} | {d_us:.1f} |"
            )

    if args.redis:
        from redis_server import redis_url_or_start

        with redis_url_or_start() as url:
            end_to_end(url, 30 if args.quick else 200)


if __name__ == "__main__":
    main()
