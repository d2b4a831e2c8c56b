"""What the command-line tests share: a saver on a test's own prefixes,
running the command line in-process, and a small graph with a subgraph and
an interrupt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import interrupt

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from langgraph.checkpoint.redis_shallow.cli import main
from tests.builders import saver_prefixes


def prefixes(prefix: str) -> tuple[str, str]:
    """The saver prefixes of a test prefix, as the command line's
    ``--checkpoint-prefix`` and ``--checkpoint-write-prefix`` take them."""
    names = saver_prefixes(prefix)
    return names["checkpoint_prefix"], names["checkpoint_write_prefix"]


def drop_prefix(client: redis.Redis, prefix: str, index: str | None = None) -> None:
    """Delete every key under ``prefix`` and, if given, the search index."""
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for i in range(0, len(keys), 1000):
        client.unlink(*keys[i : i + 1000])
    if index is not None:
        try:
            client.execute_command("FT.DROPINDEX", index)
        except redis.ResponseError:
            pass


@contextmanager
def saver_on(redis_url: str, prefix: str, **kwargs: Any) -> Iterator[ShallowRedisSaver]:
    """A sync saver on the test's prefixes; its keys and index dropped after."""
    with ShallowRedisSaver.from_conn_string(
        redis_url, **saver_prefixes(prefix), **kwargs
    ) as saver:
        try:
            yield saver
        finally:
            drop_prefix(saver.client, prefix, saver.keys.index_name)


@dataclass
class Result:
    """What one run of the command line did."""

    status: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as JSON (for ``--json`` runs)."""
        return json.loads(self.out)


class Cli:
    """Runs the command line in-process on one server and pair of prefixes."""

    def __init__(
        self, url: str, prefix: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.capsys = capsys

    def global_args(self, url: str | None = None) -> list[str]:
        """``--url`` and the prefixes."""
        cp, wp = prefixes(self.prefix)
        return [
            "--url", url or self.url,
            "--checkpoint-prefix", cp,
            "--checkpoint-write-prefix", wp,
        ]  # fmt: skip

    def __call__(self, *argv: str, url: str | None = None) -> Result:
        """``main([global options, *argv])``, its status and output."""
        self.capsys.readouterr()
        try:
            status = main([*self.global_args(url), *argv])
        except SystemExit as exc:  # argparse's usage errors
            status = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return Result(status, out, err)


def cfg(thread_id: str, ns: str | None = None) -> RunnableConfig:
    """The config of a thread (and namespace)."""
    conf: dict[str, Any] = {"thread_id": thread_id}
    if ns is not None:
        conf["checkpoint_ns"] = ns
    return {"configurable": conf}


def review_graph(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    """``draft`` answers; ``review``, a subgraph, asks a human (``interrupt``)
    and records the decision: a thread with two namespaces and a pending
    interrupt."""

    def ask(state: MessagesState) -> dict[str, Any]:
        decision = interrupt({"review": state["messages"][-1].content})
        return {"messages": [("ai", f"decision: {decision}")]}

    sub = StateGraph(MessagesState)
    sub.add_node("ask", ask)
    sub.add_edge(START, "ask")

    def draft(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", f"draft for {state['messages'][-1].content}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("draft", draft)
    builder.add_node("review", sub.compile())
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    return builder.compile(checkpointer=checkpointer)


def messages_of(state: Any) -> list[tuple[str, Any]]:
    """``(role, text)`` of the messages of a graph state (ids are random)."""
    return [(m.type, m.content) for m in state["messages"]]
