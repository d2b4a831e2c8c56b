"""Run one graph scenario on the shallow saver and on ``InMemorySaver``, compare.

A scenario is a function ``scenario(checkpointer, config)`` that builds its
graph with the given checkpointer, drives it on the thread of ``config`` and
returns what it observed (invoke results, ``StateSnapshot`` objects, counters).
``run_both`` runs it twice, once per checkpointer, and asserts that the two
observations are equal after ``normalize``: the ids that are random per run
(checkpoint ids, task ids, interrupt ids) are replaced by labels given in order
of first appearance, so equal labels still prove that the same id shows up in
the same places. Timestamps and ``parent_config`` are left out: the shallow
saver keeps no parent by design.

The scenarios run with the durability mode ``SCENARIO_DURABILITY`` (set in
the config, so an explicit ``durability=`` argument still wins); the test of
the three modes passes each one explicitly.
"""

from __future__ import annotations

import difflib
import operator
import pprint
import re
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import set_config_context
from langgraph._internal._constants import CONFIG_KEY_DURABILITY
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.message import add_messages
from langgraph.types import Command, Interrupt, PregelTask, StateSnapshot, interrupt

from tests.builders import chain_graph

__all__ = [
    "SCENARIO_DURABILITY",
    "Labels",
    "Log",
    "approval_graph",
    "approval_scenario",
    "check_approval",
    "config_of",
    "normalize",
    "run_both",
]

# None: every scenario runs in LangGraph's default durability ("async"), where
# a step's writes may reach Redis before the put of its checkpoint (covered
# by test_interrupt_survives_late_put_of_previous_checkpoint).
SCENARIO_DURABILITY: str | None = None

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Labels:
    """Replaces run-specific ids by ``id0``, ``id1`` ... in order of appearance."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def of(self, raw: str) -> str:
        """The label of one id."""
        return self.ids.setdefault(raw, f"id{len(self.ids)}")

    def text(self, value: str) -> str:
        """``value`` with every UUID in it replaced by its label."""
        return _UUID.sub(lambda m: self.of(m.group()), value)


def config_of(thread_id: str) -> RunnableConfig:
    """The config of a root thread (with ``SCENARIO_DURABILITY``)."""
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if SCENARIO_DURABILITY is not None:
        # the config key behind invoke's durability argument
        configurable[CONFIG_KEY_DURABILITY] = SCENARIO_DURABILITY
    return {"configurable": configurable}


def normalize(value: Any, labels: Labels | None = None) -> Any:
    """A comparable form of what a scenario observed (see the module doc)."""
    lab = labels if labels is not None else Labels()
    return _norm(value, lab)


def _interrupts(items: Any, lab: Labels) -> list[Any]:
    # parallel tasks may report their interrupts in either order
    ordered = sorted(items, key=lambda i: repr(i.value))
    return [("interrupt", _norm(i.value, lab), lab.of(i.id)) for i in ordered]


def _norm(value: Any, lab: Labels) -> Any:
    if isinstance(value, StateSnapshot):
        return {
            "values": _norm(value.values, lab),
            "next": value.next,
            "config": _norm(value.config, lab),
            "metadata": _norm(value.metadata, lab),
            "tasks": [_norm(t, lab) for t in value.tasks],
            "interrupts": _interrupts(value.interrupts, lab),
        }
    if isinstance(value, PregelTask):
        return {
            "id": lab.of(value.id),
            "name": value.name,
            "path": _norm(value.path, lab),
            "error": None if value.error is None else _norm(value.error, lab),
            "interrupts": _interrupts(value.interrupts, lab),
            "state": _norm(value.state, lab),
            "result": _norm(value.result, lab),
        }
    if isinstance(value, Interrupt):
        return ("interrupt", _norm(value.value, lab), lab.of(value.id))
    if isinstance(value, BaseException):
        return ("error", type(value).__name__, lab.text(repr(value)))
    if isinstance(value, str):
        return lab.text(value)
    if isinstance(value, dict):
        return {
            _norm(k, lab): (
                _interrupts(v, lab) if k == "__interrupt__" else _norm(v, lab)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_norm(v, lab) for v in value)
    return value


async def run_both(
    asaver: BaseCheckpointSaver[Any],
    thread_id: str,
    scenario: Callable[..., Any],
    reference_saver: BaseCheckpointSaver[Any] | None = None,
) -> Any:
    """Run ``scenario`` on the saver and on an ``InMemorySaver`` (or the
    given reference, such as ``tests.window_reference.WindowReference``).

    Asserts that both observations are equal once normalized and returns the
    normalized observation (for further checks of its own).
    """
    ours = normalize(await scenario(asaver, config_of(thread_id)))
    if reference_saver is None:
        reference_saver = InMemorySaver()
    reference = normalize(await scenario(reference_saver, config_of(thread_id)))
    assert ours == reference, _diff(ours, reference)
    return ours


def _diff(ours: Any, reference: Any) -> str:
    lines = difflib.unified_diff(
        pprint.pformat(reference, width=100).splitlines(),
        pprint.pformat(ours, width=100).splitlines(),
        "InMemorySaver",
        "shallow saver",
        lineterm="",
    )
    return "observations differ:\n" + "\n".join(lines)


def interrupt_in(config: RunnableConfig, value: Any) -> Any:
    """``interrupt(value)`` from a node that takes its ``config``.

    ``interrupt`` reads the node's config from a context variable. On Python
    < 3.11 asyncio cannot start a task in a given context, so that variable
    does not reach the nodes of an async graph (sync nodes included: the
    async loop runs them in an executor); LangGraph's way for Python < 3.11
    is for the node to accept ``config: RunnableConfig`` and pass it on.
    This runs ``interrupt`` in a context holding that config, so the graphs
    of the tests work the same on every Python the package supports.
    """
    with set_config_context(config) as context:
        return context.run(interrupt, value)


class Log(TypedDict):
    """A state that records, in order, what the nodes did."""

    log: Annotated[list[str], operator.add]


def approval_graph(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    """``draft``, then ``approve``, which interrupts asking ``"publish?"``."""

    def draft(state: Log) -> dict[str, Any]:
        return {"log": ["draft"]}

    def approve(state: Log, config: RunnableConfig) -> dict[str, Any]:
        return {"log": [f"approved:{interrupt_in(config, 'publish?')}"]}

    return chain_graph(Log, draft, approve).compile(checkpointer=checkpointer)


async def approval_scenario(cp: BaseCheckpointSaver[Any], config: Any) -> Any:
    """Run the approval graph to its interrupt, then resume it with "yes"."""
    graph = approval_graph(cp)
    paused = await graph.ainvoke({"log": ["start"]}, config)
    waiting = await graph.aget_state(config)
    done = await graph.ainvoke(Command(resume="yes"), config)
    final = await graph.aget_state(config)
    return paused, waiting, done, final


def check_approval(observed: Any) -> None:
    """What ``approval_scenario`` must have observed (after ``run_both``)."""
    paused, waiting, done, final = observed
    assert paused["__interrupt__"][0][1] == "publish?"
    assert waiting["next"] == ("approve",)
    assert done["log"] == ["start", "draft", "approved:yes"]
    assert final["next"] == ()


class Chat(TypedDict):
    """A chat's state: messages, merged by ``add_messages``."""

    messages: Annotated[list[AnyMessage], add_messages]


def chat_graph(cp: Any) -> Any:
    """One node answering the last message; every message has a fixed id."""

    def answer(state: Chat) -> dict[str, Any]:
        last = state["messages"][-1]
        turn = len(state["messages"]) // 2
        return {"messages": [AIMessage(f"echo {last.content}", id=f"ai-{turn}")]}

    return chain_graph(Chat, answer).compile(checkpointer=cp)
