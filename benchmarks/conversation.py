"""Section 6: a long conversation, with plain ``add_messages`` and with a
``DeltaChannel`` messages channel.

    python benchmarks/conversation.py [--turns N]   # this section alone

One thread per saver and variant; each turn is one ``invoke`` with a user
message (about 250 characters of ``corpus.text``) whose one node answers
with a reply (about 350 characters), run with ``durability="sync"`` so that
every saver call belongs to its turn. Every saver call is timed and its
round trips and bytes sent are counted on the saver's counting client
(``counting.py``); the savers take turns turn by turn. Reported: per-turn
saver time, bytes sent and round trips at a few turns (the median of the 5
turns ending there), ``put`` apart with the puts that carry a
``DeltaChannel`` snapshot apart from the others, the whole run's saver
time, Redis memory per thread at the end and the state check (the final
state must hold every message).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

import corpus
from savers import Entry, describe

VARIANTS = ("plain", "delta")
WINDOW = 10
RTTS_MS = (0.5, 1.0)


def _is_snapshot(value: Any) -> bool:
    return type(value).__name__ == "_DeltaSnapshot"


class Timed(BaseCheckpointSaver[Any]):
    """A saver that times each call of the one it wraps and counts the
    round trips and bytes of its client, attributing them to ``turn``."""

    def __init__(self, inner: Any, counter: Any) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self.counter = counter
        self.turn = 0
        # LangGraph runs some saver calls in the background, overlapping the
        # next ones; one call at a time keeps each call's time, round trips
        # and bytes its own (the clock starts once the lock is held)
        self.alock = asyncio.Lock()
        self.lock = threading.Lock()
        # (turn, op, ns, calls, bytes, snapshot put)
        self.calls: list[tuple[int, str, int, int, int, bool]] = []

    def _mark(self) -> tuple[int, int, int]:
        calls, sent = self.counter.snapshot() if self.counter else (0, 0)
        return time.perf_counter_ns(), calls, sent

    def _done(self, op: str, mark: tuple[int, int, int], snap: bool = False) -> None:
        now = time.perf_counter_ns()
        calls, sent = self.counter.snapshot() if self.counter else (0, 0)
        self.calls.append(
            (self.turn, op, now - mark[0], calls - mark[1], sent - mark[2], snap)
        )

    def get_next_version(self, current: Any, channel: Any = None) -> Any:
        return self.inner.get_next_version(current, channel)

    # -- async ---------------------------------------------------------------
    async def aget_tuple(self, config: Any) -> Any:
        async with self.alock:
            m = self._mark()
            out = await self.inner.aget_tuple(config)
            self._done("get_tuple", m)
        return out

    async def aget_delta_channel_history(
        self, *, config: Any, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        async with self.alock:
            m = self._mark()
            out = await self.inner.aget_delta_channel_history(
                config=config, channels=channels
            )
            self._done("history", m)
        return out

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, nv: Any) -> Any:
        snap = any(map(_is_snapshot, checkpoint["channel_values"].values()))
        async with self.alock:
            m = self._mark()
            out = await self.inner.aput(config, checkpoint, metadata, nv)
            self._done("put", m, snap)
        return out

    async def aput_writes(
        self, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None:
        async with self.alock:
            m = self._mark()
            await self.inner.aput_writes(config, writes, task_id, task_path)
            self._done("put_writes", m)

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for tup in self.inner.alist(config, **kwargs):
            yield tup

    # -- sync ----------------------------------------------------------------
    def get_tuple(self, config: Any) -> Any:
        with self.lock:
            m = self._mark()
            out = self.inner.get_tuple(config)
            self._done("get_tuple", m)
        return out

    def get_delta_channel_history(
        self, *, config: Any, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        with self.lock:
            m = self._mark()
            out = self.inner.get_delta_channel_history(config=config, channels=channels)
            self._done("history", m)
        return out

    def put(self, config: Any, checkpoint: Any, metadata: Any, nv: Any) -> Any:
        snap = any(map(_is_snapshot, checkpoint["channel_values"].values()))
        with self.lock:
            m = self._mark()
            out = self.inner.put(config, checkpoint, metadata, nv)
            self._done("put", m, snap)
        return out

    def put_writes(
        self, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None:
        with self.lock:
            m = self._mark()
            self.inner.put_writes(config, writes, task_id, task_path)
            self._done("put_writes", m)

    def list(self, config: Any, **kwargs: Any) -> Iterator[Any]:
        yield from self.inner.list(config, **kwargs)


def add_all(state: list[Any], writes: list[Any]) -> list[Any]:
    """``add_messages`` over a batch of writes (a ``DeltaChannel`` reducer)."""
    for w in writes:
        state = add_messages(state, w)
    return state


def chat_graph(cp: Any, variant: str, replies: list[str]) -> Any:
    """One node answering each user message, messages as ``variant``."""
    if variant == "delta":
        from langgraph.channels.delta import DeltaChannel

        reducer: Any = DeltaChannel(add_all)  # default snapshot_frequency
    else:
        reducer = add_messages
    State = TypedDict(  # noqa: UP013
        "State", {"messages": Annotated[list[AnyMessage], reducer]}
    )

    def reply(state: Any) -> dict[str, Any]:
        turn = len(state["messages"]) // 2
        return {"messages": [AIMessage(replies[turn], id=f"a{turn}")]}

    builder = StateGraph(State)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=cp)


def _thread_memory(entry: Entry, plain: Any, thread_id: str) -> int | None:
    """Redis memory of one thread's keys (``MEMORY USAGE``), or the bytes
    ``InMemorySaver`` holds for it."""
    if entry.family == "memory":
        saver = entry.saver
        total = 0
        for ns in saver.storage.get(thread_id, {}).values():
            for cp, meta, _ in ns.values():
                total += len(cp[1]) + len(meta[1])
        total += sum(len(v[1]) for k, v in saver.blobs.items() if k[0] == thread_id)
        for k, ws in saver.writes.items():
            if k[0] == thread_id:
                total += sum(len(w[2][1]) for w in ws.values())
        return total
    keys = list(plain.scan_iter(match=f"*{thread_id}*", count=1000))
    pipe = plain.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    return sum(v or 0 for v in pipe.execute())


async def measure(
    entries: list[Entry],
    plain: Any,
    turns: int,
    tag: str,
    errors: dict[str, str],
) -> dict[str, Any]:
    """Run ``turns`` turns on every saver, both variants; raw per-call data
    and the summary ``summarize`` makes of it."""
    rng = random.Random(400)
    users = [corpus.text(rng, 250) for _ in range(turns)]
    replies = [corpus.text(rng, 350) for _ in range(turns)]
    runs: dict[str, dict[str, Any]] = {}
    for variant in VARIANTS:
        timed = {e.key: Timed(e.saver, e.counter) for e in entries}
        graphs = {e.key: chat_graph(timed[e.key], variant, replies) for e in entries}
        failed: dict[str, str] = {}
        thread = {e.key: f"{tag}_conv_{variant}_{e.key}" for e in entries}
        for turn in range(turns):
            for e in entries:
                if e.key in failed:
                    continue
                timed[e.key].turn = turn
                inp = {"messages": [HumanMessage(users[turn], id=f"u{turn}")]}
                config = {"configurable": {"thread_id": thread[e.key]}}
                try:
                    if e.is_async:
                        await graphs[e.key].ainvoke(inp, config, durability="sync")
                    else:
                        graphs[e.key].invoke(inp, config, durability="sync")
                except Exception as exc:
                    failed[e.key] = f"turn {turn}: {describe(exc)}"
                    errors[f"{variant} {e.key}"] = failed[e.key]
        for e in entries:
            out: dict[str, Any] = {"calls": timed[e.key].calls}
            if e.key in failed:
                out["failed"] = failed[e.key]
            else:
                config = {"configurable": {"thread_id": thread[e.key]}}
                graph = chat_graph(e.saver, variant, replies)
                try:
                    state = (
                        await graph.aget_state(config)
                        if e.is_async
                        else graph.get_state(config)
                    )
                    got = [m.content for m in state.values.get("messages", [])]
                    want = [
                        m for pair in zip(users, replies, strict=True) for m in pair
                    ]
                    out["state_ok"] = got == want
                    out["messages"] = len(got)
                except Exception as exc:
                    out["state_ok"] = False
                    out["state_error"] = describe(exc)
            out["memory_bytes"] = _thread_memory(e, plain, thread[e.key])
            runs[f"{variant} {e.key}"] = out
    return {"turns": turns, "runs": runs}


def _at(calls: list[Any], turn: int, pick: Any) -> list[Any]:
    return [c for c in calls if turn - WINDOW < c[0] + 1 <= turn and pick(c)]


def _turn_totals(calls: list[Any], turn: int) -> dict[str, float]:
    """Median over the window of per-turn sums: ms, bytes, round trips."""
    per: dict[int, list[int]] = {}
    for c in _at(calls, turn, lambda c: True):
        s = per.setdefault(c[0], [0, 0, 0])
        s[0] += c[2]
        s[1] += c[4]
        s[2] += c[3]
    if not per:
        return {}
    rows = list(per.values())
    return {
        "ms": statistics.median(r[0] for r in rows) / 1e6,
        "bytes": statistics.median(r[1] for r in rows),
        "trips": statistics.median(r[2] for r in rows),
    }


def _puts(calls: list[Any], turn: int, snap: bool) -> dict[str, float]:
    found = _at(calls, turn, lambda c: c[1] == "put" and c[5] == snap)
    if not found:
        return {}
    return {
        "us": statistics.median(c[2] for c in found) / 1e3,
        "bytes": statistics.median(c[4] for c in found),
        "n": len(found),
    }


def summarize(res: dict[str, Any]) -> dict[str, Any]:
    """Per run: totals at the report turns, put figures, whole-run time."""
    turns = res["turns"]
    at = sorted({t for t in (10, 100, 400, turns) if t <= turns})
    out: dict[str, Any] = {"at": at, "runs": {}}
    for name, run in res["runs"].items():
        calls = run["calls"]
        snaps = [c for c in calls if c[1] == "put" and c[5]]
        out["runs"][name] = {
            "turns": {str(t): _turn_totals(calls, t) for t in at},
            "puts": {str(t): _puts(calls, t, False) for t in at},
            "snapshot_puts": {
                "n": len(snaps),
                "median_us": statistics.median(c[2] for c in snaps) / 1e3
                if snaps
                else None,
                "median_bytes": statistics.median(c[4] for c in snaps)
                if snaps
                else None,
            },
            "total_s": sum(c[2] for c in calls) / 1e9,
            "total_trips": sum(c[3] for c in calls),
            "memory_bytes": run.get("memory_bytes"),
            "state_ok": run.get("state_ok"),
            "messages": run.get("messages"),
            "failed": run.get("failed") or run.get("state_error"),
        }
    return out


def targets(summary: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """The issue's targets for our savers: (what, met, measured)."""
    out: list[tuple[str, bool | None, str]] = []
    first, last = str(summary["at"][0]), str(summary["at"][-1])
    for mode in ("async", "sync"):
        delta = summary["runs"].get(f"delta ours_{mode}")
        plain = summary["runs"].get(f"plain ours_{mode}")
        if not delta or not plain:
            continue
        p0, p1 = delta["puts"].get(first), delta["puts"].get(last)
        if p0 and p1:
            for key, unit in (("us", "time"), ("bytes", "bytes")):
                ratio = p1[key] / p0[key]
                out.append(
                    (
                        f"ours {mode} DeltaChannel: non-snapshot put {unit} at "
                        f"turn {last} <= 1.5x turn {first}",
                        ratio <= 1.5,
                        f"{p0[key]:.0f} -> {p1[key]:.0f} ({ratio:.2f}x)",
                    )
                )
        ratio = plain["total_s"] / delta["total_s"]
        out.append(
            (
                f"ours {mode}: {summary['at'][-1]}-turn saver time, plain "
                "add_messages / DeltaChannel >= 3x",
                ratio >= 3,
                f"{plain['total_s']:.2f} s / {delta['total_s']:.2f} s = {ratio:.2f}x",
            )
        )
    return out


def lines(summary: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """The section's tables."""
    at = summary["at"]
    out = [
        "",
        f"== 6. Long conversation: {at[-1]} turns (user message + reply), "
        'durability="sync" ==',
        "Per-turn saver time (ms), bytes sent (KB), round trips: median of the "
        f"{WINDOW} turns ending at each turn; whole run; memory per thread.",
    ]
    head = "| variant | saver | " + " | ".join(f"turn {t}" for t in at)
    out += [head + " | run (s) | memory (KB) | state |"]
    out += ["|" + "---|" * (len(at) + 5)]
    for name, run in summary["runs"].items():
        variant, key = name.split(" ", 1)
        cells = []
        for t in at:
            v = run["turns"].get(str(t)) or {}
            cells.append(
                f"{v['ms']:.2f} ms, {v['bytes'] / 1024:.1f} KB, {v['trips']:.0f} rt"
                if v
                else "-"
            )
        mem = run["memory_bytes"]
        state = (
            f"FAILED {run['failed']}"
            if run["failed"]
            else ("ok" if run["state_ok"] else f"WRONG ({run['messages']} messages)")
        )
        out.append(
            f"| {variant} | {labels.get(key, key)} | "
            + " | ".join(cells)
            + f" | {run['total_s']:.2f} | "
            + (f"{mem / 1024:.0f}" if mem is not None else "-")
            + f" | {state} |"
        )
    out += [
        "",
        "put alone (median of the window): non-snapshot puts; snapshot puts "
        "(those carrying a DeltaChannel snapshot) apart, over the whole run.",
        "| variant | saver | "
        + " | ".join(f"put @{t} (us, KB)" for t in at)
        + " | snapshot puts: n, us, KB |",
        "|" + "---|" * (len(at) + 3),
    ]
    for name, run in summary["runs"].items():
        variant, key = name.split(" ", 1)
        cells = []
        for t in at:
            p = run["puts"].get(str(t)) or {}
            cells.append(f"{p['us']:.0f}, {p['bytes'] / 1024:.2f}" if p else "-")
        s = run["snapshot_puts"]
        snap = (
            f"{s['n']}, {s['median_us']:.0f}, {s['median_bytes'] / 1024:.1f}"
            if s["n"]
            else "0"
        )
        out.append(
            f"| {variant} | {labels.get(key, key)} | "
            + " | ".join(cells)
            + f" | {snap} |"
        )
    out += [
        "",
        "Per-turn cost on a real network: measured saver time + round trips x RTT "
        "(ms).",
        "| variant | saver | "
        + " | ".join(f"turn {t} @{r} ms" for t in at for r in RTTS_MS)
        + " |",
        "|" + "---|" * (len(at) * len(RTTS_MS) + 2),
    ]
    for name, run in summary["runs"].items():
        variant, key = name.split(" ", 1)
        cells = []
        for t in at:
            v = run["turns"].get(str(t)) or {}
            for r in RTTS_MS:
                cells.append(f"{v['ms'] + v['trips'] * r:.2f}" if v else "-")
        out.append(
            f"| {variant} | {labels.get(key, key)} | " + " | ".join(cells) + " |"
        )
    out += ["", "Targets (ours, DeltaChannel):"]
    for what, met, measured in targets(summary):
        flag = "PASS" if met else "MISS"
        out.append(f"  [{flag}] {what}: {measured}")
    return out


async def _main(turns: int) -> None:
    import redis

    import savers

    sys.path.insert(
        0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools")
    )
    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        from redis_server import RedisServer

        server = RedisServer(modules=True).start()
        url = server.url
    plain = redis.Redis.from_url(url)
    entries = await savers.open_savers(
        url, with_upstream=savers.upstream_missing() is None
    )
    tag = "cv" + format(int(time.time() * 1000) % 36**6, "x")
    errors: dict[str, str] = {}
    try:
        res = await measure(entries, plain, turns, tag, errors)
    finally:
        await savers.close_savers(entries)
        for key in plain.scan_iter(match=f"*{tag}_*", count=1000):
            plain.unlink(key)
        plain.close()
        if server is not None:
            server.stop()
    labels = {e.key: e.label for e in entries}
    print("\n".join(lines(summarize(res), labels)))
    for where, message in errors.items():
        print(f"  raised: {where}: {message}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=40)
    asyncio.run(_main(parser.parse_args().turns))
