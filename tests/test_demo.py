"""``examples/demo.py`` (``nox -s demo``) runs as written and prints what it says.

The demo runs as a program of its own (``sys.executable``) without
``REDIS_URL``, so it starts its own embedded Redis (with Search and JSON), as
on a fresh clone; the session's server is not involved. It must exit with
status 0, write nothing alarming to stderr, and print, for the sync and the
async saver, both steps of the approval graph (the interrupt, then the
resumed run and its final state) and after each step the Redis keys of the
thread: the layout record, the thread's namespace registry, its namespace
hash and its search entry, each with its type, length and memory.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo.py"
TIMEOUT = 60  # seconds; the demo takes a few
ASYNC_RUNS = sys.version_info >= (3, 11)
"""The demo's async run needs Python 3.11+ (LangGraph's interrupt() in an
async graph); on 3.10 it prints :data:`ASYNC_NOTE` instead."""
ASYNC_HEADER = r"^== AsyncShallowRedisSaver: await graph\.ainvoke ==$"
ASYNC_NOTE = (
    r"^\(the async run needs Python 3\.11\+: LangGraph's interrupt\(\) in an "
    r"async graph; this is Python 3\.\d+\)$"
)


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    """The demo's run: exit status, stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return subprocess.run(
        [sys.executable, str(DEMO)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def section(stdout: str, title: str) -> str:
    """The part of the output from the ``== title ==`` line to the next
    ``==`` line (or the end)."""
    match = re.search(
        rf"^== {re.escape(title)} ==\n(.*?)(?=^== |\Z)", stdout, re.M | re.S
    )
    assert match, f"no '== {title} ==' section in:\n{stdout}"
    return match[1]


def storage_lines(prefix: str, thread: str) -> list[str]:
    """Patterns of the lines of one storage listing (after one step)."""
    p, t = re.escape(prefix), re.escape("{" + thread + "}")
    size = r"\s+[1-9]\d* bytes$"
    return [
        rf"^    in Redis \({p}:\*\):$",
        r"^      key\s+type\s+length\s+memory$",
        rf"^      {p}:cp:layout\s+string\s+[1-9]\d* bytes?{size}",
        rf"^      {p}:cp:{t}\s+set\s+1 member{size}",
        rf"^      {p}:cp:{t}:\s+hash\s+[1-9]\d* fields{size}",
        rf"^      {p}:w:{t}:\s+hash\s+[1-9]\d* fields{size}",
        r"^      total: [1-9]\d* bytes of memory$",
    ]


def assert_lines_in_order(text: str, patterns: list[str]) -> None:
    """Each pattern matches a whole line of ``text``, in this order."""
    pos = 0
    for pattern in patterns:
        match = re.compile(pattern, re.M).search(text, pos)
        assert match, f"no line matching {pattern!r} after:\n{text[:pos]}\nin:\n{text}"
        pos = match.end()


def run_patterns(
    prefix: str, thread: str, question: str, answer: str, sent: str, approved: bool
) -> list[str]:
    """Patterns of one saver's run, in order: step 1 up to the interrupt,
    its state and storage, step 2 resumed with ``answer``, its final state
    and storage."""
    q = re.escape(question)
    draft = re.escape(f"Draft reply to {question!r}: refund $40.")
    return [
        r"^  step 1, until the approval interrupt: \d+\.\d ms$",
        rf"^    HumanMessage\s+{q}$",
        rf"^    AIMessage\s+{draft}$",
        r"^    next: \['approve'\]; approved: None$",
        rf"^    waiting on: \{{'review': \"{draft}\"\}}$",
        *storage_lines(prefix, thread),
        rf"^  step 2, resumed with '{answer}': \d+\.\d ms$",
        rf"^    HumanMessage\s+{q}$",
        rf"^    AIMessage\s+{draft}$",
        rf"^    AIMessage\s+{re.escape(sent)}$",
        rf"^    next: done; approved: {approved}$",
        *storage_lines(prefix, thread),
    ]


def test_demo_exits_cleanly(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, f"stdout:\n{demo.stdout}\nstderr:\n{demo.stderr}"
    assert "Traceback" not in demo.stderr, demo.stderr
    assert "warning" not in demo.stderr.lower(), demo.stderr
    assert "Traceback" not in demo.stdout, demo.stdout


def test_demo_starts_its_own_redis_and_runs_both_savers(
    demo: subprocess.CompletedProcess[str],
) -> None:
    assert_lines_in_order(
        demo.stdout,
        [
            r"^embedded Redis started at redis://127\.0\.0\.1:\d+ \(pid \d+\)$",
            r"^== ShallowRedisSaver: graph\.invoke ==$",
            ASYNC_HEADER if ASYNC_RUNS else ASYNC_NOTE,
        ],
    )
    assert demo.stdout.rstrip().endswith("\ndone"), demo.stdout


def test_demo_sync_run(demo: subprocess.CompletedProcess[str]) -> None:
    text = section(demo.stdout, "ShallowRedisSaver: graph.invoke")
    assert_lines_in_order(
        text,
        run_patterns(
            "demo-sync", "ticket-42", "Where is my refund?", "yes", "Sent.", True
        ),
    )


def test_demo_async_run(demo: subprocess.CompletedProcess[str]) -> None:
    if not ASYNC_RUNS:  # the demo says why it leaves the async run out
        assert re.search(ASYNC_NOTE, demo.stdout, re.M), demo.stdout
        assert not re.search(ASYNC_HEADER, demo.stdout, re.M), demo.stdout
        return
    text = section(demo.stdout, "AsyncShallowRedisSaver: await graph.ainvoke")
    assert_lines_in_order(
        text,
        run_patterns(
            "demo-async",
            "ticket-43",
            "Cancel my order",
            "no",
            "Discarded; a human will follow up.",
            False,
        ),
    )
