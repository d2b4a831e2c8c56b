"""What tracing costs per operation: off, the API's no-op tracer, an SDK.

    python benchmarks/tracing.py [--samples N] [--json PATH]

(also section 7 of ``nox -s bench``, and ``nox -s bench -- --only tracing``)

One Redis: ``$REDIS_URL`` if set, else an embedded Redis 8.2
(``tools/redis_server.py``), stopped at the end. Three savers of each kind
(async, sync), one per mode:

- ``off``: ``tracing=False`` (the same code path as without
  ``opentelemetry-api``: every span is the no-op ``NO_SPAN``);
- ``noop``: ``tracing=True`` with no SDK configured (the default when the
  API is installed): the global no-op tracer;
- ``sdk``: an OpenTelemetry SDK ``TracerProvider`` with a
  ``SimpleSpanProcessor`` feeding an exporter that drops the spans: span
  creation, attributes and end run on every call, export I/O does not.

Each operation (``put`` of a 10-message chat checkpoint, ``put_writes`` of
3 writes, ``get_tuple``) runs on the three modes in turn, in blocks of
``BLOCK`` calls with the order rotating, so a noisy moment hits all alike.
Printed: the median wall time and this thread's CPU time per call, in
microseconds, and each mode's difference from ``off``. Then the cost of the
telemetry calls alone (no I/O), per operation, from a tight loop: the
numbers to trust on a noisy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import redis  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

import workload  # noqa: E402
from langgraph.checkpoint.redis_shallow import (  # noqa: E402
    AsyncShallowRedisSaver,
    ShallowRedisSaver,
)
from langgraph.checkpoint.redis_shallow.telemetry import Telemetry  # noqa: E402

MODES = ("off", "noop", "sdk")
OPS = ("put", "put_writes", "get_tuple")
BLOCK = 10
N_MESSAGES = 10


class Drop(SpanExporter):
    """Exports nothing: the SDK's per-span work without export I/O."""

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def sdk_provider() -> TracerProvider:
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(Drop()))
    return tp


def settings(mode: str, provider: TracerProvider) -> dict[str, Any]:
    if mode == "off":
        return {"tracing": False}
    if mode == "noop":
        return {}
    return {"tracer_provider": provider}


class Runner:
    """One saver and its thread for one mode and kind."""

    def __init__(self, saver: Any, is_async: bool, tag: str) -> None:
        self.saver = saver
        self.is_async = is_async
        self.thread = workload.Thread(f"bench-tracing-{tag}")
        self.rng = random.Random(1)

    async def call(self, op: str, base: Any) -> tuple[int, int]:
        """Run one operation; its wall and thread CPU time in ns."""
        saver, thread = self.saver, self.thread
        if op == "put":
            args: tuple[Any, ...] = workload.next_put(saver, thread, base)
        elif op == "put_writes":
            args = (thread.config(), workload.writes(self.rng), "task-1")
        else:
            args = (thread.config(with_id=False),)
        name = ("a" + op) if self.is_async else op
        fn = getattr(saver, name)
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        if self.is_async:
            await fn(*args)
        else:
            fn(*args)
        t1 = time.perf_counter_ns()
        return t1 - t0, time.thread_time_ns() - c0


async def latency(url: str, samples: int) -> dict[str, Any]:
    base, _ = workload.base_checkpoint(N_MESSAGES)
    provider = sdk_provider()
    runners: dict[tuple[str, str], Runner] = {}
    closers: list[Any] = []
    for mode in MODES:
        a = AsyncShallowRedisSaver(
            url,
            checkpoint_prefix=f"bench:tr:{mode}:a:cp",
            checkpoint_write_prefix=f"bench:tr:{mode}:a:w",
            **settings(mode, provider),
        )
        await a.asetup()
        s = ShallowRedisSaver(
            url,
            checkpoint_prefix=f"bench:tr:{mode}:s:cp",
            checkpoint_write_prefix=f"bench:tr:{mode}:s:w",
            **settings(mode, provider),
        )
        s.setup()
        runners[(mode, "async")] = Runner(a, True, f"{mode}-a")
        runners[(mode, "sync")] = Runner(s, False, f"{mode}-s")
        closers += [a, s]
    wall: dict[str, list[int]] = {}
    cpu: dict[str, list[int]] = {}
    try:
        for runner in runners.values():  # warm up: connections, first put
            for op in OPS:
                for _ in range(5):
                    await runner.call(op, base)
        for kind in ("async", "sync"):
            for op in OPS:
                order = list(MODES)
                done = 0
                while done < samples:
                    for mode in order:
                        key = f"{kind}/{op}/{mode}"
                        for _ in range(BLOCK):
                            w, c = await runners[(mode, kind)].call(op, base)
                            wall.setdefault(key, []).append(w)
                            cpu.setdefault(key, []).append(c)
                    order = order[1:] + order[:1]
                    done += BLOCK
    finally:
        for saver in closers:
            if isinstance(saver, AsyncShallowRedisSaver):
                await saver.aclose()
            else:
                saver.close()
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match="bench:tr:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    med = {k: statistics.median(v) / 1e3 for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) / 1e3 for k, v in cpu.items()}
    return {"wall_us": med, "cpu_us": med_cpu, "samples": samples}


def telemetry_alone(loops: int) -> dict[str, float]:
    """µs per operation of the telemetry calls a ``put`` makes, no I/O."""
    provider = sdk_provider()
    kwargs = {"host": "127.0.0.1", "port": 6379, "db": 0}
    parts = ("a" * 40, ("k1", "k2", "k3", "k4"), [b"v" * 100] * 30)
    out: dict[str, float] = {}
    for mode in MODES:
        tele = Telemetry(
            tracing=mode != "off",
            trace_thread_ids=False,
            tracer_provider=provider if mode == "sdk" else None,
            connection_kwargs=kwargs,
            collection="lgshallow:cp",
        )
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter_ns()
            for _ in range(loops):
                with tele.span("put", "thread", "") as span:
                    span.request(*parts)
                    span.response(None)
            best = min(best, (time.perf_counter_ns() - t0) / loops / 1e3)
        out[mode] = best
    return out


async def measure(url: str, samples: int, loops: int = 20_000) -> dict[str, Any]:
    """Latency per operation and mode on ``url``, and the telemetry calls
    alone (``loops`` per mode)."""
    result = await latency(url, samples)
    result["samples"] = samples
    result["loops"] = loops
    result["telemetry_alone_us"] = telemetry_alone(loops)
    return result


def lines(result: dict[str, Any]) -> list[str]:
    """The report of :func:`measure`."""
    alone = result["telemetry_alone_us"]
    out = [
        f"median µs per call ({result['samples']} calls per op and mode; wall / CPU)",
        f"{'op':<22}" + "".join(f"{m:>20}" for m in MODES) + "   sdk - off (wall)",
    ]
    for kind in ("async", "sync"):
        for op in OPS:
            row = f"{kind + ' ' + op:<22}"
            for mode in MODES:
                key = f"{kind}/{op}/{mode}"
                row += (
                    f"{result['wall_us'][key]:>12.1f} / {result['cpu_us'][key]:>5.1f}"
                )
            diff = (
                result["wall_us"][f"{kind}/{op}/sdk"]
                - result["wall_us"][f"{kind}/{op}/off"]
            )
            out.append(row + f"   {diff:+.1f}")
    out.append(
        f"telemetry calls alone, µs per operation (best of 5 x {result['loops']:,}):"
    )
    out.append("  " + ", ".join(f"{m}: {alone[m]:.2f}" for m in MODES))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=300, help="calls per op/mode")
    parser.add_argument("--json", default=None, help="write the numbers here")
    opts = parser.parse_args()
    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        from redis_server import RedisServer

        server = RedisServer().start()
        url = server.url
    try:
        result = asyncio.run(measure(url, opts.samples))
    finally:
        if server is not None:
            server.stop()
    print("\n".join(lines(result)))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
