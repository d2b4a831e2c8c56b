"""Session-wide test setup: one real Redis server for the whole run.

The server is started on a free port for the session (``tools/redis_server.py``)
and stopped by its process id at the end, unless ``REDIS_URL`` is set, in
which case that server is used and nothing is started.

``--redis-kind=modules`` (default) starts Redis 8.2 with Search and JSON;
``--redis-kind=plain`` starts the same binary without modules, to prove what
works on ElastiCache-like servers and that what needs Search says so.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from langgraph.checkpoint.redis_shallow.search import has_search_module
from redis_server import RedisServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis-kind",
        choices=("modules", "plain"),
        default="modules",
        help="start Redis with Search/JSON (modules) or without (plain)",
    )


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of the session's Redis server."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    kind = request.config.getoption("--redis-kind")
    with RedisServer(modules=kind == "modules") as server:
        yield server.url


@pytest.fixture(scope="session")
def has_search(redis_url: str) -> bool:
    """Whether the session's server has the Search module."""
    client = redis.Redis.from_url(redis_url)
    try:
        return has_search_module(client.module_list())
    finally:
        client.close()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def thread_id() -> str:
    """A thread id no other test uses."""
    return "thread-" + uuid.uuid4().hex


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the conformance suite's result per saver (by-design exclusions
    are listed by -rxX with their reasons)."""
    module = sys.modules.get("tests.test_conformance")
    lines = getattr(module, "CONFORMANCE_SUMMARY", [])
    if lines:
        terminalreporter.write_sep("-", "langgraph-checkpoint-conformance")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_report_header(config: pytest.Config) -> str:
    kind = config.getoption("--redis-kind")
    src = os.environ.get("REDIS_URL") or f"embedded Redis ({kind})"
    return f"redis: {src}"
