"""The README's code runs as written.

Every ```` ```python ```` block of ``README.md`` is run as a program of its
own (``sys.executable``, in an empty directory) with ``REDIS_URL`` set to the
session's Redis, and must exit with status 0. Each such block is followed by
``It prints:`` and a ```` ```text ```` block, and what the program prints
must be exactly that text, so the README shows the reader the true output.
Bare ```` ``` ```` blocks (shell commands, the ACL) are not run. A block
whose first line says ``Python 3.11+`` is skipped on older Pythons.
"""

from __future__ import annotations

import os
import re
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
