"""Benchmark the shallow Redis savers against upstream and InMemorySaver.

    python benchmarks/run.py [--quick] [--only conversation|tracing] [--json PATH]

One run, one Redis: ``$REDIS_URL`` if set, else an embedded Redis 8.2 with
Search and JSON (``tools/redis_server.py``), stopped at the end. Savers side
by side: ours (async and sync), ``langgraph-checkpoint-redis`` 0.5.2's
shallow savers (skipped, and said so, when not installed) and LangGraph's
``InMemorySaver``. Sections: 1. per-operation latency, 2. throughput,
3. a 3-node chain graph, 4. round trips, bytes and memory per thread,
5. the floor, 6. a long conversation (``conversation.py``: 400 turns with
plain ``add_messages`` and with a ``DeltaChannel``; ``--only conversation``
runs this section alone), 7. what tracing costs per operation
(``tracing.py``: off, the no-op tracer, an SDK; ``--only tracing``). Prints tables with ratios and the issue's targets (PASS/MISS,
informational: the exit code is 0 either way) and writes the raw numbers
to JSON (default ``benchmarks/results/latest.json``). On a ``$REDIS_URL``
server, the keys the run wrote are removed at the end (the search indexes
the savers create are left). ``profile_ops.py`` profiles our savers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import redis  # noqa: E402
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402
from redis.utils import HIREDIS_AVAILABLE  # noqa: E402

import chain  # noqa: E402
import conversation  # noqa: E402
import floor  # noqa: E402
import memory  # noqa: E402
import ops  # noqa: E402
import report  # noqa: E402
import savers  # noqa: E402
import throughput  # noqa: E402
import tracing  # noqa: E402
import workload  # noqa: E402

FULL = {
    "sizes": (10, 200),
    "samples": {10: 300, 200: 100},
    "warmup": {10: 30, 200: 12},
    "throughput_n": 10,
    "throughput_seconds": 3.0,
    "throughput_warmup_seconds": 0.5,
    "throughput_rounds": 3,
    "graph_invocations": 200,
    "graph_warmup": 5,
    "memory": {10: (50, (1, 100)), 200: (8, (1, 100))},
    "floor_samples": 500,
    "conversation_turns": 400,
    "tracing_samples": 300,
    "tracing_loops": 20_000,
}
QUICK = {
    "sizes": (10, 200),
    "samples": {10: 40, 200: 10},
    "warmup": {10: 5, 200: 2},
    "throughput_n": 10,
    "throughput_seconds": 0.8,
    "throughput_warmup_seconds": 0.2,
    "throughput_rounds": 1,
    "graph_invocations": 40,
    "graph_warmup": 2,
    "memory": {10: (8, (1, 100)), 200: (4, (1, 5))},
    "floor_samples": 100,
    "conversation_turns": 40,
    "tracing_samples": 40,
    "tracing_loops": 2_000,
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _loads(values: Any) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def packages() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in (
        "langgraph-checkpoint-redis-shallow",
        "langgraph-checkpoint-redis",
        "langgraph",
        "langgraph-checkpoint",
        "langchain-core",
        "redis",
        "ormsgpack",
    ):
        try:
            out[name] = version(name)
        except Exception:
            out[name] = None
    return out


def sizes_of(bases: dict[int, Any]) -> dict[str, dict[str, int]]:
    """Serialized size of each checkpoint and of the whole state of a thread
    (checkpoint, metadata and one task's 3 pending writes), default serde."""
    import random

    serde = JsonPlusSerializer()
    out = {}
    for n, (checkpoint, metadata) in bases.items():
        cp = len(serde.dumps_typed(checkpoint)[1])
        md = len(serde.dumps_typed(metadata)[1])
        wr = sum(
            len(serde.dumps_typed(v)[1]) for _, v in workload.writes(random.Random(0))
        )
        out[str(n)] = {"checkpoint_bytes": cp, "state_bytes": cp + md + wr}
    return out


async def bench(
    url: str, cfg: dict[str, Any], quick: bool, only: str | None = None
) -> dict[str, Any]:
    tag = "bm" + format(int(time.time() * 1000) % 36**6, "x")
    skipped = savers.upstream_missing()
    if skipped:
        log(f"upstream SKIPPED: {skipped}")
    elif (found := savers.upstream_version()) != savers.UPSTREAM_VERSION:
        log(f"note: upstream is {found}, not {savers.UPSTREAM_VERSION}")
    entries = await savers.open_savers(url, with_upstream=skipped is None)
    plain = redis.Redis.from_url(url)
    info = plain.info("server")
    try:
        modules = sorted(
            _text(m.get(b"name", m.get("name", "?"))) for m in plain.module_list()
        )
    except redis.ResponseError:
        modules = []
    res: dict[str, Any] = {
        "meta": {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "load_average_start": os.getloadavg(),
            "quick": quick,
            "machine": machine(),
            "redis": {
                "version": info.get("redis_version"),
                "url_from_env": bool(os.environ.get("REDIS_URL")),
                "modules": modules,
            },
            "packages": packages(),
            "resp_parser": "hiredis" if HIREDIS_AVAILABLE else "python",
        },
        "upstream": {"available": skipped is None, "skipped_reason": skipped},
        "config": {
            k: (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()})
            for k, v in cfg.items()
        }
        | {"graph_reused_threads": chain.REUSED, "ops_pool_threads": ops.POOL},
    }
    res["errors"] = {}

    def errors(section: str) -> dict[str, str]:
        """Where a section records the savers that raised (by saver key)."""
        return res["errors"].setdefault(section, {})

    bases = {n: workload.base_checkpoint(n) for n in cfg["sizes"]}
    res["sizes"] = sizes_of(bases)
    try:
        if only == "conversation":
            log("6. long conversation")
            res["conversation"] = conversation.summarize(
                await conversation.measure(
                    entries,
                    plain,
                    cfg["conversation_turns"],
                    tag,
                    errors("conversation"),
                )
            )
            res["labels"] = {e.key: e.label for e in entries}
            return res
        if only == "tracing":
            log("7. tracing")
            res["tracing"] = await tracing.measure(
                url, cfg["tracing_samples"], cfg["tracing_loops"]
            )
            return res
        log("5. floor")
        values = {
            n: JsonPlusSerializer().dumps_typed(bases[n][0])[1] for n in cfg["sizes"]
        }
        res["floor"] = {
            "serde": {
                str(n): floor.serde_cost(bases[n][0], cfg["floor_samples"] // 2)
                for n in cfg["sizes"]
            },
            "sync": floor.sync_floor(url, values, cfg["floor_samples"], tag),
            "async": await floor.async_floor(url, values, cfg["floor_samples"], tag),
        }
        # Memory first, on a server holding nothing else yet: deletions in
        # later sections make the search index's GC free memory meanwhile.
        res["memory"] = {}
        for n, (threads, steps) in cfg["memory"].items():
            res["memory"][str(n)] = {}
            for entry in entries:
                if entry.family == "memory":
                    continue
                log(f"4. memory N={n}: {entry.label}")
                try:
                    res["memory"][str(n)][entry.key] = await memory.measure(
                        entry, plain, n, bases[n][0], threads, steps, tag
                    )
                except Exception as exc:
                    errors(f"memory N={n}")[entry.key] = savers.describe(exc)
        await memory.cleanup([e for e in entries if e.family != "memory"], plain, tag)
        res["ops"] = {}
        for n in cfg["sizes"]:
            log(f"1. latency N={n}")
            res["ops"][str(n)] = await ops.measure(
                entries,
                n,
                bases[n][0],
                cfg["samples"][n],
                cfg["warmup"][n],
                tag,
                errors(f"latency N={n}"),
            )
        log("2. throughput")
        tn = cfg["throughput_n"]
        res["throughput"] = await throughput.measure(
            entries,
            bases[tn][0],
            cfg["throughput_seconds"],
            cfg["throughput_warmup_seconds"],
            cfg["throughput_rounds"],
            tag,
            errors("throughput"),
        )
        log("3. graph")
        res["graph"] = await chain.measure(
            entries, cfg["graph_invocations"], cfg["graph_warmup"], tag, errors("graph")
        )
        log("6. long conversation")
        res["conversation"] = conversation.summarize(
            await conversation.measure(
                entries, plain, cfg["conversation_turns"], tag, errors("conversation")
            )
        )
        res["labels"] = {e.key: e.label for e in entries}
        log("7. tracing")
        res["tracing"] = await tracing.measure(
            url, cfg["tracing_samples"], cfg["tracing_loops"]
        )
    finally:
        await savers.close_savers(entries)
        if os.environ.get("REDIS_URL"):  # leave a user's server as we found it
            for key in plain.scan_iter(match=f"*{tag}_*", count=1000):
                plain.unlink(key)
        plain.close()
    res["targets"] = report.targets(res)
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small samples; under a minute"
    )
    parser.add_argument(
        "--json",
        default=os.path.join(HERE, "results", "latest.json"),
        help="where to write the raw numbers (default: benchmarks/results/latest.json)",
    )
    parser.add_argument(
        "--only",
        choices=["conversation", "tracing"],
        help="run one section alone (6. the long conversation, 7. tracing)",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    started = time.perf_counter()
    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        from redis_server import RedisServer

        server = RedisServer(modules=True).start()
        url = server.url
        log(f"started embedded Redis at {url} (pid {server.pid})")
    try:
        res = asyncio.run(bench(url, cfg, args.quick, args.only))
    finally:
        if server is not None:
            server.stop()
    res["meta"]["seconds"] = time.perf_counter() - started
    res["meta"]["load_average_end"] = os.getloadavg()
    meta = res["meta"]
    lines = [
        f"Benchmark {'--quick ' if args.quick else ''}{meta['date']}: "
        f"{meta['machine']['cpu']} x{meta['machine']['cpus']}, "
        f"Python {meta['machine']['python']}, Redis {meta['redis']['version']} "
        f"({', '.join(meta['redis']['modules']) or 'no modules'}), "
        + (
            f"upstream {meta['packages']['langgraph-checkpoint-redis']}"
            if res["upstream"]["available"]
            else "upstream SKIPPED"
        ),
        f"redis-py {meta['packages']['redis']} with the {meta['resp_parser']} "
        f"RESP parser; load average (1/5/15 min) at start "
        f"{_loads(meta['load_average_start'])}, at end "
        f"{_loads(meta['load_average_end'])}",
    ]
    if not res["upstream"]["available"]:
        lines.append(
            f"NOTE: upstream savers SKIPPED: {res['upstream']['skipped_reason']}"
        )
    if args.only is None:
        lines += report.tables(res)
    if "conversation" in res:
        lines += conversation.lines(res["conversation"], res["labels"])
    if "tracing" in res:
        lines += [
            "",
            "== 7. What tracing costs: ours with tracing off, the API's no-op "
            "tracer, an SDK (benchmarks/tracing.py) ==",
        ]
        lines += tracing.lines(res["tracing"])
    failures = [
        f"  {section}: {saver}: {message}"
        for section, found in res["errors"].items()
        for saver, message in found.items()
    ]
    if failures:
        lines += [
            "",
            "== Savers that raised (left out of that section from then on) ==",
        ]
        lines += failures
    if args.only is None:
        lines += report.target_lines(res["targets"])
    lines.append(f"\ntotal {meta['seconds']:.0f} s; raw numbers in {args.json}")
    print("\n".join(lines))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
