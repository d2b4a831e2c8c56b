"""Neither saver bridges to the other API: the package never runs an event loop
from sync code nor pushes sync work to threads from async code.

Hand-written: it reads the source files, it does not run the savers.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

FORBIDDEN = {
    "run_coroutine_threadsafe": re.compile(r"\brun_coroutine_threadsafe\b"),
    "asyncio.run(": re.compile(r"\basyncio\.run\("),
    "to_thread": re.compile(r"\bto_thread\b"),
    "get_event_loop": re.compile(r"\bget_event_loop\b"),
    "get_running_loop": re.compile(r"\bget_running_loop\b"),
    "new_event_loop": re.compile(r"\bnew_event_loop\b"),
    "run_until_complete": re.compile(r"\brun_until_complete\b"),
}


def source_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_package_sources_are_found():
    names = {p.name for p in source_files()}
    assert {"saver.py", "keys.py", "layout.py"} <= names
    assert any(p.parent.name == "_sync" for p in source_files())


def test_no_bridging_constructs_in_src():
    hits = []
    for path in source_files():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for construct, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    where = path.relative_to(SRC.parent).as_posix()
                    hits.append(f"{where}:{lineno}: {construct}: {line.strip()}")
    assert not hits, "bridging between the sync and async APIs:\n" + "\n".join(hits)


def test_the_check_catches_a_bridge():
    sample = "import asyncio\n\ndef get(x):\n    return asyncio.run(aget(x))\n"
    found = [
        c
        for c, p in FORBIDDEN.items()
        for line in sample.splitlines()
        if p.search(line)
    ]
    assert found == ["asyncio.run("]
