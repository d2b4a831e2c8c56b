"""Section 3: a real 3-node LangGraph chain with ``add_messages``.

``invocations`` runs on distinct threads (every invocation starts a new
thread), then ``invocations`` on ``REUSED`` threads taken round-robin, so a
thread's state grows by 4 messages a turn. Each invocation is timed alone;
the first and last 10% are reported separately.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

import workload
from savers import Entry, describe
from stats import settle

REUSED = 10


async def _invoke(
    entry: Entry, graph: Any, inp: dict[str, Any], config: dict[str, Any]
) -> int:
    if entry.is_async:
        t0 = time.perf_counter_ns()
        await graph.ainvoke(inp, config)
        return time.perf_counter_ns() - t0
    t0 = time.perf_counter_ns()
    graph.invoke(inp, config)
    return time.perf_counter_ns() - t0


def _part(times_ns: list[int]) -> dict[str, Any]:
    ms = [t / 1e6 for t in times_ns]
    return {
        "invocations": len(ms),
        "median_ms": statistics.median(ms),
        "mean_ms": statistics.fmean(ms),
        "per_s": len(ms) / (sum(ms) / 1e3),
    }


def _report(times_ns: list[int]) -> dict[str, Any]:
    tenth = max(1, len(times_ns) // 10)
    out = _part(times_ns)
    out["samples_us"] = [round(t / 1e3) for t in times_ns]
    out["first_10pct"] = _part(times_ns[:tenth])
    out["last_10pct"] = _part(times_ns[-tenth:])
    out["last_vs_first"] = (
        out["last_10pct"]["median_ms"] / out["first_10pct"]["median_ms"]
    )
    return out


async def measure(
    entries: list[Entry],
    invocations: int,
    warmup: int,
    tag: str,
    errors: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """Both runs for every saver; the savers take turns invocation by
    invocation, so the machine's noise spreads over all of them. A saver
    that raises is recorded in ``errors`` and left out from then on."""
    graphs = {e.key: workload.chain_graph(e.saver) for e in entries}
    rng = random.Random(11)
    for e in entries:
        try:
            for i in range(warmup):
                config = {"configurable": {"thread_id": f"{tag}_{e.key}_gw{i}"}}
                await _invoke(e, graphs[e.key], workload.user_input(rng), config)
        except Exception as exc:
            errors[e.key] = describe(exc)

    distinct: dict[str, list[int]] = {e.key: [] for e in entries}
    reused: dict[str, list[int]] = {e.key: [] for e in entries}
    calls: dict[str, dict[str, int]] = {"d": {}, "r": {}}
    for label, runs in (("d", distinct), ("r", reused)):
        settle()
        before = {e.key: e.counter.snapshot()[0] for e in entries if e.counter}
        for i in range(invocations):
            inp = workload.user_input(rng)
            thread = i if label == "d" else i % REUSED
            for k in range(len(entries)):
                e = entries[(i + k) % len(entries)]
                if e.key in errors:
                    continue
                config = {
                    "configurable": {"thread_id": f"{tag}_{e.key}_g{label}{thread}"}
                }
                try:
                    runs[e.key].append(await _invoke(e, graphs[e.key], inp, config))
                except Exception as exc:
                    errors[e.key] = describe(exc)
        calls[label] = {
            e.key: e.counter.snapshot()[0] - before[e.key] for e in entries if e.counter
        }
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.key in errors:
            continue
        out[e.key] = {
            "distinct": _report(distinct[e.key]),
            "reused": _report(reused[e.key]),
        }
        out[e.key]["reused"]["threads"] = REUSED
        for label, part in (("d", "distinct"), ("r", "reused")):
            if e.key in calls[label]:
                out[e.key][part]["round_trips_per_invocation"] = (
                    calls[label][e.key] / invocations
                )
    return out
