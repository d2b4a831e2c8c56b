"""Development sessions.

``nox`` alone runs the default sessions: the generation check, lint and tests.

    nox -s generate               # regenerate the _sync code from _async
    nox -s generate -- --check    # fail if the committed _sync code is stale
    nox -s lint                   # ruff, ruff format --check, mypy --strict, bridging
    nox -s tests -- -k shallow    # pytest (starts its own Redis unless REDIS_URL)
    nox -s demo
    nox -s bench -- --help
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["generate_check", "lint", "tests"]

PYTHON = "3.11"  # the generator is pinned to it; everything else runs on it too
GENERATE_DEPS = ["unasync==0.6.0", "setuptools", "ruff==0.17.6", "tokenize-rt"]


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Regenerate _sync from _async (pass `-- --check` to only check)."""
    session.install(*GENERATE_DEPS)
    session.run("python", "tools/generate.py", *session.posargs)


@nox.session(python=PYTHON)
def generate_check(session: nox.Session) -> None:
    """Fail if the committed _sync code differs from a fresh generation."""
    session.install(*GENERATE_DEPS)
    session.run("python", "tools/generate.py", "--check")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, mypy --strict (both _async and _sync),
    no sync/async bridging in src/."""
    session.install("-e", ".[test,dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # src/ holds both the hand-written _async package and the generated _sync
    # package; mypy takes every file below it (config: [tool.mypy]).
    session.run("mypy", "--strict", "src/")
    session.run("python", "tools/check_no_bridging.py")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """pytest twice: on Redis with Search/JSON, then on Redis without modules.

    The tests start their own Redis unless REDIS_URL is set (then only the
    first run happens, against that server). ``-rxX`` lists every expected
    failure with its reason (the conformance suite's by-design exclusions).
    """
    session.install("-e", ".[test]")
    session.run("python", "tools/redis_server.py", "--version")
    args = ["pytest", "-q", "-rxX", "-p", "no:cacheprovider", *session.posargs]
    session.run(*args, "--redis-kind=modules")
    if not os.environ.get("REDIS_URL"):
        session.run(*args, "--redis-kind=plain")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Run examples/demo.py against an embedded Redis."""
    session.install("-e", ".[test]")
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against langgraph-checkpoint-redis 0.5.2."""
    session.install("-e", ".[test]", "langgraph-checkpoint-redis==0.5.2")
    session.run("python", "benchmarks/run.py", *session.posargs)
