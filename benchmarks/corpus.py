"""Real English text for the benchmarks: sentences of the standard library's
docstrings.

Word salad from a short vocabulary compresses far better than anything a
user writes, and random characters far worse; neither says what compression
does to a chat. The docstrings of Python's own modules are real prose,
written by many people, and ship with every Python, so every run on every
machine reads the same text (for one Python version).

``sentences()`` is the corpus, in a fixed order; ``text(rng, chars)`` picks
consecutive sentences from a random place, the way a message is a run of
related sentences, not a shuffle.
"""

from __future__ import annotations

import importlib
import inspect
import random
import re
from functools import cache

__all__ = ["MODULES", "random_bytes", "sentences", "text"]

MODULES = (
    "argparse asyncio.events collections concurrent.futures contextlib csv "
    "dataclasses datetime decimal difflib email.message enum fractions "
    "functools heapq http.client inspect io ipaddress itertools json logging "
    "mailbox multiprocessing.pool os pathlib pickle queue random re sched "
    "selectors shutil smtplib socket sqlite3 statistics string subprocess "
    "tarfile tempfile textwrap threading tkinter.ttk typing unittest.case "
    "urllib.parse uuid warnings zipfile"
).split()
"""Modules whose docstrings (module, classes, functions, methods) are read."""

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORDY = re.compile(r"^[A-Z][A-Za-z ,;:'()\-]{30,}[.!?]$")


def _docstrings(module_name: str) -> list[str]:
    try:
        module = importlib.import_module(module_name)
    except ImportError:  # tkinter is optional on some builds
        return []
    docs = [inspect.getdoc(module) or ""]
    for _, obj in sorted(vars(module).items()):
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        docs.append(inspect.getdoc(obj) or "")
        if inspect.isclass(obj):
            for _, member in sorted(vars(obj).items()):
                if callable(member):
                    docs.append(inspect.getdoc(member) or "")
    return docs


@cache
def sentences() -> tuple[str, ...]:
    """Every prose sentence of ``MODULES``' docstrings, in a fixed order.

    Only sentences that look like prose are kept: starting with a capital,
    ending with a full stop, made of words (no code, no tables), at least
    about 30 characters.
    """
    out: list[str] = []
    seen: set[str] = set()
    for name in MODULES:
        for doc in _docstrings(name):
            for paragraph in doc.split("\n\n"):
                flat = " ".join(paragraph.split())
                for sentence in _SENTENCE.split(flat):
                    if _WORDY.match(sentence) and sentence not in seen:
                        seen.add(sentence)
                        out.append(sentence)
    return tuple(out)


def text(rng: random.Random, chars: int) -> str:
    """About ``chars`` characters of consecutive corpus sentences, starting
    at a random sentence (cut at ``chars``)."""
    corpus = sentences()
    i = rng.randrange(len(corpus))
    out: list[str] = []
    size = 0
    while size < chars:
        sentence = corpus[i % len(corpus)]
        out.append(sentence)
        size += len(sentence) + 1
        i += 1
    return " ".join(out)[:chars]


def random_bytes(rng: random.Random, size: int) -> bytes:
    """``size`` incompressible bytes (the worst case for compression)."""
    return rng.randbytes(size)


if __name__ == "__main__":
    corpus = sentences()
    total = sum(map(len, corpus))
    print(f"{len(corpus)} sentences, {total} characters, e.g.:")
    rng = random.Random(0)
    for _ in range(3):
        print(" ", text(rng, 200))
