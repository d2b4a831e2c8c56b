"""Fail if src/ bridges sync and async code instead of having two native twins.

Usage: ``python tools/check_no_bridging.py [ROOT]`` (ROOT defaults to the
repository root, the parent of tools/).  Every ``*.py`` file under ``src/`` is
scanned line by line (comments and strings included) for the constructs below;
each hit is printed as ``file:line: construct: text`` and the exit status is 1.
On success it prints ``no bridging: N files scanned``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# construct -> regex; a sync twin must never run the event loop, and the async
# core must never push blocking work to threads.
FORBIDDEN: dict[str, re.Pattern[str]] = {
    "run_coroutine_threadsafe": re.compile(r"\brun_coroutine_threadsafe\b"),
    "asyncio.run(": re.compile(r"\basyncio\.run\("),
    "to_thread": re.compile(r"\bto_thread\b"),
    "get_event_loop": re.compile(r"\bget_event_loop\b"),
    "get_running_loop": re.compile(r"\bget_running_loop\b"),
    "new_event_loop": re.compile(r"\bnew_event_loop\b"),
    "run_until_complete": re.compile(r"\brun_until_complete\b"),
    "ThreadPoolExecutor": re.compile(r"\bThreadPoolExecutor\b"),
}


def scan(root: Path) -> tuple[int, list[str]]:
    files = sorted(
        p for p in (root / "src").rglob("*.py") if "__pycache__" not in p.parts
    )
    hits: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for lineno, line in enumerate(text.splitlines(), start=1):
            for construct, regex in FORBIDDEN.items():
                if regex.search(line):
                    hits.append(
                        f"{path.relative_to(root).as_posix()}:{lineno}: "
                        f"{construct}: {line.strip()}"
                    )
    return len(files), hits


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve() if argv else Path(__file__).resolve().parents[1]
    if not (root / "src").is_dir():
        print(f"check_no_bridging: no src/ directory in {root}", file=sys.stderr)
        return 2
    count, hits = scan(root)
    for hit in hits:
        print(hit, file=sys.stderr)
    if hits:
        print(
            f"check_no_bridging: {len(hits)} bridging construct(s) in src/ "
            f"({count} files scanned)",
            file=sys.stderr,
        )
        return 1
    print(f"no bridging: {count} files scanned")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
