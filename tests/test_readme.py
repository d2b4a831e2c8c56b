"""The README and the pages of ``docs/``: their code runs as written, their
links lead somewhere.

Every ```` ```python ```` block of ``README.md`` and of each ``docs/*.md`` is
run as a program of its own (``sys.executable``, in an empty directory) with
``REDIS_URL`` set to the session's Redis, and must exit with status 0. Each
such block is followed by ``It prints:`` and a ```` ```text ```` block, and
what the program prints must be exactly that text, so the page shows the
reader the true output. A block whose first line says ``Python 3.11+`` is
skipped on older Pythons.

Every ```` ```console ```` block is a shell session, run as written: each
line starting with ``$ `` is a command for ``sh`` (in an empty directory
holding a copy of ``examples/``, with ``REDIS_URL`` set to the session's
Redis and the running Python's ``bin`` first on ``PATH``, where ``pip``
put the ``lgshallow`` console script), and the lines up to the next ``$ ``
are what it prints (stdout and stderr together), where ``...`` stands for
any text within a line (sizes differ between servers). Before a session
runs, the threads it names in ``delete`` commands are deleted, so it starts
from the same state each time. Only fences at the start of a line count.
Bare ```` ``` ```` blocks (installation commands, the ACL, ``langgraph.json``)
and blocks of any other label are not run.

Every Markdown link to a local path (``[text](path)``, ``[text](path#anchor)``,
``[text](#anchor)``; not in code) must name a file or directory that exists,
and an anchor into a ``.md`` file must be the GitHub anchor of one of its
headings.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The README first, then docs/ in name order.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


def _name(page: Path) -> str:
    """``page`` relative to the repository, as in the test ids."""
    return page.relative_to(ROOT).as_posix()


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# A python block, optionally followed by "It prints:" and a text block.
BLOCK = re.compile(
    r"^```python\n(?P<code>.*?)^```\n"
    r"(?:\s*It prints:\s*\n\s*^```text\n(?P<out>.*?)^```$)?",
    re.MULTILINE | re.DOTALL,
)
TIMEOUT = 120  # seconds per block


def python_blocks() -> list[tuple[str, int, str, str | None]]:
    """(page, line, code, expected output or None) of each python block."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        blocks += [
            (_name(page), _line(text, m.start()), m["code"], m["out"])
            for m in BLOCK.finditer(text)
        ]
    return blocks


BLOCKS = python_blocks()


def test_readme_has_a_sync_and_an_async_example() -> None:
    codes = [code for page, _, code, _ in BLOCKS if page == "README.md"]
    assert any("ShallowRedisSaver.from_conn_string" in c for c in codes)
    assert any(
        "AsyncShallowRedisSaver.from_conn_string" in c and "asyncio.run(" in c
        for c in codes
    )


@pytest.mark.parametrize(
    ("page", "line", "code", "expected"),
    BLOCKS,
    ids=[f"{page}:{line}" for page, line, _, _ in BLOCKS],
)
def test_python_block_runs(
    page: str,
    line: int,
    code: str,
    expected: str | None,
    redis_url: str,
    tmp_path: Path,
) -> None:
    assert expected is not None, (
        f"{page}:{line}: a python block must be followed by 'It prints:' "
        "and a ```text block with its output"
    )
    if code.startswith("# Python 3.11+") and sys.version_info < (3, 11):
        pytest.skip(code.splitlines()[0].lstrip("# "))
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, (
        f"{page}:{line} exited with {proc.returncode}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    assert proc.stdout == expected, (
        f"{page}:{line} printed\n{proc.stdout}\nbut the page says\n{expected}"
    )


CONSOLE = re.compile(r"^```console\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def console_blocks() -> list[tuple[str, int, list[tuple[str, str]]]]:
    """(page, line, [(command, expected output)]) of each console block."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in CONSOLE.finditer(text):
            line = _line(text, m.start())
            steps: list[tuple[str, list[str]]] = []
            for out in m["body"].splitlines():
                if out.startswith("$ "):
                    steps.append((out[2:], []))
                else:
                    assert steps, (
                        f"{_name(page)}:{line}: console block starts without "
                        f"a command: {out}"
                    )
                    steps[-1][1].append(out)
            blocks.append(
                (
                    _name(page),
                    line,
                    [(cmd, "".join(o + "\n" for o in outs)) for cmd, outs in steps],
                )
            )
    return blocks


CONSOLE_BLOCKS = console_blocks()


def test_docs_have_a_command_line_session() -> None:
    commands = [cmd for _, _, steps in CONSOLE_BLOCKS for cmd, _ in steps]
    assert any(cmd.startswith("lgshallow ") for cmd in commands)


def _pattern(expected: str) -> re.Pattern[str]:
    """``expected`` as a regex where ``...`` matches any text within a line."""
    parts = [re.escape(p) for p in expected.split("...")]
    return re.compile("[^\\n]*?".join(parts) + r"\Z")


@pytest.mark.parametrize(
    ("page", "line", "steps"),
    CONSOLE_BLOCKS,
    ids=[f"{page}:{line}" for page, line, _ in CONSOLE_BLOCKS],
)
def test_console_block_runs(
    page: str,
    line: int,
    steps: list[tuple[str, str]],
    redis_url: str,
    tmp_path: Path,
) -> None:
    from langgraph.checkpoint.redis_shallow import ShallowRedisSaver

    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",
    }
    with ShallowRedisSaver.from_conn_string(redis_url) as saver:
        for cmd, _ in steps:
            words = cmd.split()
            if words[:2] == ["lgshallow", "delete"]:
                for tid in words[2:]:
                    if not tid.startswith("-"):
                        saver.delete_thread(tid)
    for cmd, expected in steps:
        proc = subprocess.run(
            cmd,
            shell=True,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=TIMEOUT,
        )
        assert _pattern(expected).match(proc.stdout), (
            f"{page}:{line}: $ {cmd}\nprinted\n{proc.stdout}\n"
            f"but the page says\n{expected}"
        )


# Fenced blocks and code spans: no links or headings in them.
FENCED = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`]*`")
# [text](target) and ![alt](target); the target has no spaces.
LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(?P<title>.+?)[ \t#]*$", re.MULTILINE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _prose(text: str) -> str:
    """``text`` without fenced blocks and code spans (same line numbers)."""
    text = FENCED.sub(lambda m: "\n" * m[0].count("\n"), text)
    return CODE_SPAN.sub(lambda m: "\n" * m[0].count("\n"), text)


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the headings of ``page``."""
    text = FENCED.sub("", page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set()
    for m in HEADING.finditer(text):
        slug = re.sub(r"[^\w\- ]", "", m["title"].strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=[_name(p) for p in PAGES])
def test_local_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    prose = _prose(text)
    broken = []
    for m in LINK.finditer(prose):
        target = m["target"]
        if SCHEME.match(target):
            continue  # https:, mailto:, ...
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        where = f"{_name(page)}:{_line(prose, m.start())}: {target}"
        if not dest.exists():
            broken.append(f"{where}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{where}: no heading with that anchor in {dest.name}")
    assert not broken, "broken links:\n" + "\n".join(broken)
