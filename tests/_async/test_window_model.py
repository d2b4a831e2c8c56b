"""Random sequences of operations, on the saver and on the window reference.

``tests/window_reference.py`` says what the saver must do: ``InMemorySaver``
pruned to the last ``keep_last`` checkpoints of each (thread, namespace),
with the saver's refusals. Here hypothesis draws sequences of ``put`` (a
graph's next step, a fork from an older checkpoint, a new run without a
parent, a run's first checkpoint arriving late), ``put_writes`` (to the
newest checkpoint or an older one, regular and special channels),
``get_tuple`` by id, ``list`` with ``before`` / ``limit`` / ``filter``,
``delete_thread`` and ``prune``, over two threads of two namespaces, and
runs each on both. After every operation the outcome (the returned config,
or the error's class) and every namespace's newest checkpoint and every
thread's ``list`` must be the same, for ``keep_last`` 1, 2, 3 and 10.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.serde.types import ERROR

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from langgraph.checkpoint.redis_shallow.errors import StaleCheckpointError
from tests.builders import cfg, checkpoint
from tests.window_reference import WindowReference

NAMESPACES = ("", "child:1")
OPERATIONS = (
    "step", "step", "step", "fork", "fresh", "late_first",
    "writes", "writes", "read", "list", "delete", "prune",
)  # fmt: skip


def comparable(tup: CheckpointTuple | None) -> Any:
    """A tuple with its pending writes in one order (the saver returns
    them by task path, ``InMemorySaver`` by arrival)."""
    if tup is None:
        return None
    return (
        tup.config,
        tup.checkpoint,
        tup.metadata,
        tup.parent_config,
        sorted(tup.pending_writes or [], key=repr),
    )


class Run:
    """One drawn sequence: the saver, the reference, and what was made."""

    def __init__(self, saver: AsyncShallowRedisSaver, data: st.DataObject) -> None:
        self.saver = saver
        self.ref = WindowReference(keep_last=saver.keep_last)
        self.data = data
        run = uuid4().hex
        self.threads = [f"{run}-0", f"{run}-1"]
        self.ids: dict[tuple[str, str], list[str]] = {}
        # for late_first: made before every other, with versions of their
        # own (one version, one value, as in a graph), and each id in one
        # namespace only (LangGraph's ids are unique)
        self.early = {
            (thread_id, ns): [
                checkpoint({"a": -i, "b": "same"}, versions={"a": 1000 + i, "b": 1})
                for i in range(1, 4)
            ]
            for thread_id in self.threads
            for ns in NAMESPACES
        }
        self.step = 0

    def draw(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self.data.draw(strategy, label=label)

    def checkpoint_for(self, thread_id: str, ns: str) -> tuple[Any, dict[str, Any]]:
        """A new checkpoint: ``a`` changes; ``b`` (always ``"same"`` at
        version 1) is sent only to a namespace the reference holds nothing
        of, as a graph sends only the channels that changed."""
        self.step += 1
        cp = checkpoint(
            {"a": self.step, "b": "same"}, versions={"a": self.step, "b": 1}
        )
        new_versions: dict[str, Any] = {"a": self.step}
        if not self.ref.window(thread_id, ns):
            new_versions["b"] = 1
        return cp, new_versions

    async def both(self, what: str, mine: Any, theirs: Any) -> None:
        """Run one operation on both; the same result or the same error
        (``--hypothesis-show-statistics`` counts the outcomes)."""
        try:
            expected = ("ok", theirs())
        except StaleCheckpointError as exc:
            expected = ("error", type(exc).__name__)
        event(f"{what}: {expected[1] if expected[0] == 'error' else 'ok'}")
        try:
            got = ("ok", await mine())
        except StaleCheckpointError as exc:
            got = ("error", type(exc).__name__)
        if expected[0] == "ok" and isinstance(expected[1], list):
            expected = ("ok", [comparable(t) for t in expected[1]])
            got = ("ok", [comparable(t) for t in got[1]])
        elif expected[0] == "ok" and isinstance(expected[1], CheckpointTuple):
            expected, got = ("ok", comparable(expected[1])), ("ok", comparable(got[1]))
        assert got == expected

    async def put(self, kind: str) -> None:
        thread_id = self.draw(st.sampled_from(self.threads), "thread")
        ns = self.draw(st.sampled_from(NAMESPACES), "ns")
        seen = self.ids.setdefault((thread_id, ns), [])
        cp, new_versions = self.checkpoint_for(thread_id, ns)
        parent = None
        if kind == "step" and self.ref.window(thread_id, ns):
            parent = self.ref.window(thread_id, ns)[0]
        elif kind == "fork" and seen:
            parent = self.draw(st.sampled_from(seen), "parent")
        elif kind == "late_first":
            early = self.early[(thread_id, ns)]
            cp = self.draw(st.sampled_from(early), "early checkpoint")
            new_versions = dict(cp["channel_versions"])
        config = cfg(thread_id, ns, parent)
        meta = {"source": "loop", "step": self.step, "kind": kind}
        await self.both(
            kind,
            lambda: self.saver.aput(config, cp, meta, new_versions),
            lambda: self.ref.put(config, cp, meta, new_versions),
        )
        if cp["id"] not in seen:
            seen.append(cp["id"])

    async def writes(self) -> None:
        keys = [k for k, ids in self.ids.items() if ids]
        if not keys:
            return
        thread_id, ns = self.draw(st.sampled_from(keys), "namespace")
        checkpoint_id = self.draw(st.sampled_from(self.ids[(thread_id, ns)]), "id")
        channel = self.draw(st.sampled_from(["w", "w", ERROR]), "channel")
        task_id = self.draw(st.sampled_from(["task-1", "task-2"]), "task")
        self.step += 1
        writes = [(channel, f"value-{self.step}"), ("w", self.step)]
        config = cfg(thread_id, ns, checkpoint_id)
        await self.both(
            "put_writes",
            lambda: self.saver.aput_writes(config, writes, task_id, "~path"),
            lambda: self.ref.put_writes(config, writes, task_id, "~path"),
        )

    async def read(self) -> None:
        keys = [k for k, ids in self.ids.items() if ids]
        if not keys:
            return
        thread_id, ns = self.draw(st.sampled_from(keys), "namespace")
        checkpoint_id = self.draw(
            st.sampled_from(self.ids[(thread_id, ns)] + [str(uuid4())]), "id"
        )
        config = cfg(thread_id, ns, checkpoint_id)
        await self.both(
            "get_tuple by id",
            lambda: self.saver.aget_tuple(config),
            lambda: self.ref.get_tuple(config),
        )

    async def listing(self) -> None:
        thread_id = self.draw(st.sampled_from(self.threads), "thread")
        config: Any = {"configurable": {"thread_id": thread_id}}
        if self.draw(st.booleans(), "one namespace"):
            config = cfg(thread_id, self.draw(st.sampled_from(NAMESPACES), "ns"))
        every = [i for ids in self.ids.values() for i in ids]
        before = None
        if every and self.draw(st.booleans(), "before"):
            before = cfg(thread_id, "", self.draw(st.sampled_from(every), "before"))
        limit = self.draw(st.none() | st.integers(1, 3), "limit")
        wanted = self.draw(
            st.none() | st.sampled_from([{"kind": "step"}, {"source": "loop"}]),
            "filter",
        )

        async def mine() -> list[CheckpointTuple]:
            return [
                t
                async for t in self.saver.alist(
                    config, filter=wanted, before=before, limit=limit
                )
            ]

        await self.both(
            "list",
            mine,
            lambda: self.ref.list(config, filter=wanted, before=before, limit=limit),
        )

    async def delete(self, prune: bool) -> None:
        thread_id = self.draw(st.sampled_from(self.threads), "thread")
        if not prune:
            await self.both(
                "delete_thread",
                lambda: self.saver.adelete_thread(thread_id),
                lambda: self.ref.delete_thread(thread_id),
            )
            return
        strategy = self.draw(st.sampled_from(["keep_latest", "delete"]), "strategy")
        await self.both(
            f"prune {strategy}",
            lambda: self.saver.aprune([thread_id], strategy=strategy),
            lambda: self.ref.prune([thread_id], strategy),
        )

    async def check_all(self) -> None:
        """Every namespace's newest checkpoint and every thread's list."""
        for thread_id in self.threads:
            for ns in NAMESPACES:
                config = cfg(thread_id, ns)
                ours = await self.saver.aget_tuple(config)
                assert comparable(ours) == comparable(self.ref.get_tuple(config))
            whole: Any = {"configurable": {"thread_id": thread_id}}
            ours_listed = [comparable(t) async for t in self.saver.alist(whole)]
            assert ours_listed == [comparable(t) for t in self.ref.list(whole)]

    async def go(self) -> None:
        count = self.draw(st.integers(1, 25), "operations")
        for _ in range(count):
            kind = self.draw(st.sampled_from(OPERATIONS), "operation")
            if kind in ("step", "fork", "fresh", "late_first"):
                await self.put(kind)
            elif kind == "writes":
                await self.writes()
            elif kind == "read":
                await self.read()
            elif kind == "list":
                await self.listing()
            else:
                await self.delete(prune=kind == "prune")
            await self.check_all()
        for thread_id in self.threads:
            await self.saver.adelete_thread(thread_id)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_random_operations_match_the_window_reference(
    window_saver: AsyncShallowRedisSaver, data: st.DataObject
) -> None:
    await Run(window_saver, data).go()
