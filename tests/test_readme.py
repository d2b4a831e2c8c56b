"""The README's code runs as written.

Every ```` ```python ```` block of ``README.md`` is run as a program of its
own (``sys.executable``, in an empty directory) with ``REDIS_URL`` set to the
session's Redis, and must exit with status 0. Each such block is followed by
``It prints:`` and a ```` ```text ```` block, and what the program prints
must be exactly that text, so the README shows the reader the true output.
A block whose first line says ``Python 3.11+`` is skipped on older Pythons.

Every ```` ```console ```` block is a shell session, run as written: each
line starting with ``$ `` is a command for ``sh`` (in an empty directory
holding a copy of ``examples/``, with ``REDIS_URL`` set to the session's
Redis and the running Python's ``bin`` first on ``PATH``, where ``pip``
put the ``lgshallow`` console script), and the lines up to the next ``$ ``
are what it prints (stdout and stderr together), where ``...`` stands for
any text within a line (sizes differ between servers). Before a session
runs, the threads it names in ``delete`` commands are deleted, so it starts
from the same state each time. Bare ```` ``` ```` blocks (installation
commands, the ACL) are not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"

# A python block, optionally followed by "It prints:" and a text block.
BLOCK = re.compile(
    r"^```python\n(?P<code>.*?)^```\n"
    r"(?:\s*It prints:\s*\n\s*^```text\n(?P<out>.*?)^```$)?",
    re.MULTILINE | re.DOTALL,
)
TIMEOUT = 120  # seconds per block


def readme_blocks() -> list[tuple[int, str, str | None]]:
    """(line number, code, expected output or None) of each python block."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m["code"], m["out"])
        for m in BLOCK.finditer(text)
    ]


BLOCKS = readme_blocks()


def test_readme_has_a_sync_and_an_async_example() -> None:
    codes = [code for _, code, _ in BLOCKS]
    assert any("ShallowRedisSaver.from_conn_string" in c for c in codes)
    assert any(
        "AsyncShallowRedisSaver.from_conn_string" in c and "asyncio.run(" in c
        for c in codes
    )


@pytest.mark.parametrize(
    ("line", "code", "expected"),
    BLOCKS,
    ids=[f"README.md:{line}" for line, _, _ in BLOCKS],
)
def test_readme_block_runs(
    line: int, code: str, expected: str | None, redis_url: str, tmp_path: Path
) -> None:
    assert expected is not None, (
        f"README.md:{line}: a python block must be followed by 'It prints:' "
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
        f"README.md:{line} exited with {proc.returncode}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    assert proc.stdout == expected, (
        f"README.md:{line} printed\n{proc.stdout}\nbut the README says\n{expected}"
    )


CONSOLE = re.compile(r"^```console\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def console_blocks() -> list[tuple[int, list[tuple[str, str]]]]:
    """(line number, [(command, expected output)]) of each console block."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for m in CONSOLE.finditer(text):
        steps: list[tuple[str, list[str]]] = []
        for line in m["body"].splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                assert steps, (
                    f"README.md: console block starts without a command: {line}"
                )
                steps[-1][1].append(line)
        blocks.append(
            (
                text.count("\n", 0, m.start()) + 1,
                [(cmd, "".join(out + "\n" for out in lines)) for cmd, lines in steps],
            )
        )
    return blocks


CONSOLE_BLOCKS = console_blocks()


def test_readme_has_a_command_line_session() -> None:
    commands = [cmd for _, steps in CONSOLE_BLOCKS for cmd, _ in steps]
    assert any(cmd.startswith("lgshallow ") for cmd in commands)


def _pattern(expected: str) -> re.Pattern[str]:
    """``expected`` as a regex where ``...`` matches any text within a line."""
    parts = [re.escape(p) for p in expected.split("...")]
    return re.compile("[^\\n]*?".join(parts) + r"\Z")


@pytest.mark.parametrize(
    ("line", "steps"),
    CONSOLE_BLOCKS,
    ids=[f"README.md:{line}" for line, _ in CONSOLE_BLOCKS],
)
def test_readme_console_block_runs(
    line: int, steps: list[tuple[str, str]], redis_url: str, tmp_path: Path
) -> None:
    from langgraph.checkpoint.redis_shallow import ShallowRedisSaver

    shutil.copytree(README.parent / "examples", tmp_path / "examples")
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
            f"README.md:{line}: $ {cmd}\nprinted\n{proc.stdout}\n"
            f"but the README says\n{expected}"
        )
