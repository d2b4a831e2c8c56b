"""Generate the sync twin of the async code with unasync.

Usage::

    python tools/generate.py           # (re)write every _sync file, delete orphans
    python tools/generate.py --check   # change nothing; fail if _sync is stale

The async code under ``_async/`` is the only code written by hand.  Every
``*.py`` file below an ``_async`` directory of ``PAIRS`` is converted token by
token with unasync's ``Rule._unasync_tokens`` (``async``/``await`` dropped,
names looked up in ``REPLACEMENTS``), given a "generated, do not edit" header,
sorted (``ruff check --fix --select I``) and formatted (``ruff format``) with
the ruff of the running environment and the repository's ``pyproject.toml``,
and written to the same relative path below the matching ``_sync`` directory.

Besides writing, both modes fail (exit status 1) when:

* a name shaped ``Async[A-Z]...`` is not in the replacement table (unasync
  would silently rename it to a ``Sync...`` name that does not exist);
* an entry of ``REPLACEMENTS`` is never used by any source (keeps the table
  honest, as httpcore's script does);
* a generated file still contains async constructs (``LEFTOVER_PATTERNS``);
* a generated file defines the same name twice in one class body or at module
  level (``@overload`` and ``@x.setter``/``@x.deleter`` are allowed);
* an ``_async`` directory lacks its ``__init__.py``.

``--check`` additionally fails when a committed ``_sync`` file differs from a
fresh generation (a short diff is shown), is missing, or is an orphan (a
``.py`` file under ``_sync`` without a source under ``_async``).  Normal mode
deletes such orphans instead.

The generator runs on Python 3.11 only: tokenization (f-strings in particular)
differs between versions, and with it the output.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import re
import shutil
import subprocess
import sys
import tempfile
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REQUIRED_PYTHON = (3, 11)

# ---------------------------------------------------------------------------
# Replacement table: async name -> sync name.
#
# Keys are whole tokens (NAME tokens, or a string literal whose content is
# exactly the key); dotted keys never match.  unasync's own defaults
# (``__aenter__``, ``__aexit__``, ``__aiter__``, ``__anext__``,
# ``StopAsyncIteration`` ...) apply on top of this table.
#
# To extend: add one line here.  Every entry must be used by at least one
# source file, otherwise generation fails (remove entries that are no longer
# needed).  A name shaped ``Async[A-Z]...`` that must stay as it is needs an
# identity entry (``"AsyncFoo": "AsyncFoo"``), otherwise generation fails.
# ---------------------------------------------------------------------------
REPLACEMENTS: dict[str, str] = {
    # the saver and the hand-written twin modules
    "AsyncShallowRedisSaver": "ShallowRedisSaver",
    "_io_async": "_io_sync",
    "_async": "_sync",
    # saver API (BaseCheckpointSaver async methods -> sync methods)
    "aget_tuple": "get_tuple",
    "aget_delta_channel_history": "get_delta_channel_history",
    "aput": "put",
    "aput_writes": "put_writes",
    "alist": "list",
    "adelete_thread": "delete_thread",
    "asetup": "setup",
    "aprune": "prune",
    "acopy_thread": "copy_thread",
    "adelete_for_runs": "delete_for_runs",
    "acopy_from": "copy_from",
    "adump_thread": "dump_thread",
    "arestore_thread": "restore_thread",
    # LangGraph graph API used by the tests
    "aget_state": "get_state",
    "aupdate_state": "update_state",
    "ainvoke": "invoke",
    "astream": "stream",
    "aget_state_history": "get_state_history",
    # builtins, clients, helpers
    "aclose": "close",
    "asaver": "saver",
    "aclient": "client",
    "AsyncRedis": "Redis",
    "AsyncIterator": "Iterator",
    "AsyncExitStack": "ExitStack",
    "enter_async_context": "enter_context",
    "asynccontextmanager": "contextmanager",
}

# ---------------------------------------------------------------------------
# Directory pairs, relative to the repository root.
# ---------------------------------------------------------------------------
PAIRS: list[tuple[str, str]] = [
    (
        "src/langgraph/checkpoint/redis_shallow/_async",
        "src/langgraph/checkpoint/redis_shallow/_sync",
    ),
    ("tests/_async", "tests/_sync"),
]

HEADER = (
    "# This file is generated from {source} by tools/generate.py (unasync).\n"
    "# Do not edit it by hand: change the async source and run `nox -s generate`.\n"
)
HEADER_LINES = HEADER.count("\n")

# Async constructs that must not survive in a generated file.  They are looked
# for in code and string literals; the header, comments and docstrings are
# skipped (prose such as "``_async/saver.py`` is the source" is legitimate in
# both variants) unless LEFTOVER_SCAN_PROSE is True.
LEFTOVER_SCAN_PROSE = False
LEFTOVER_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (p, re.compile(p))
    for p in (
        r"\bawait\b",
        r"\basync def\b",
        r"\basync with\b",
        r"\basync for\b",
        r"redis\.asyncio",
        r"\basyncio\.",
        r"pytest\.mark\.asyncio",
        r"\bSync[A-Z]\w*",
        r"_async\b",
        r"\bAsyncShallowRedisSaver\b",
    )
]

ROOT = Path(__file__).resolve().parent.parent
ASYNC_NAME = re.compile(r"Async[A-Z]")


@dataclass
class Generated:
    """One converted file, before it is compared or written."""

    source: Path  # absolute path of the _async file
    target: Path  # absolute path of the _sync file
    content: str  # header + converted, import-sorted, formatted source


@dataclass
class Result:
    files: list[Generated] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _import_unasync() -> tuple[Any, Any]:
    try:
        import tokenize_rt
        import unasync
    except ImportError as exc:  # environment problem
        sys.exit(
            f"generate: cannot import {exc.name!r}; install the dev extra "
            "(unasync==0.6.0 setuptools tokenize-rt) or run `nox -s generate`"
        )
    return unasync, tokenize_rt


def string_inner(src: str) -> str:
    """What unasync 0.6.0 looks up for a STRING token: its src minus the
    first and last character."""
    return src[1:-1]


def convert(source: Path, result: Result) -> str | None:
    """Token-convert one async file; None (and errors recorded) on failure."""
    unasync, tokenize_rt = _import_unasync()
    rule = unasync.Rule(
        fromdir="/_async/", todir="/_sync/", additional_replacements=REPLACEMENTS
    )
    table: dict[str, str] = rule.token_replacements
    text = source.read_text(encoding="utf-8")
    tokens = tokenize_rt.src_to_tokens(text)

    ok = True
    for tok in tokens:
        if tok.name == "NAME":
            name = tok.src
        elif tok.name == "STRING":
            name = string_inner(tok.src)
        else:
            continue
        if name in REPLACEMENTS:
            result.used.add(name)
        if name not in table and ASYNC_NAME.match(name):
            # exactly unasync's silent "AsyncXxx" -> "SyncXxx" rule
            shown = name if tok.name == "NAME" else tok.src
            result.errors.append(
                f"{rel(source)}:{tok.line}: unknown async name {shown!r}: unasync "
                f"would rename it to 'Sync{name[5:]}'; add it to REPLACEMENTS in "
                "tools/generate.py (an identity entry keeps it unchanged)"
            )
            ok = False
    if not ok:
        return None
    return str(tokenize_rt.tokens_to_src(list(rule._unasync_tokens(tokens))))


def ruff(args: list[str], stdin: str, filename: Path) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(filename), "-"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def format_source(text: str, target: Path) -> tuple[str | None, str]:
    """Sort imports then format, as if ``text`` were ``target`` in the repo
    (same config discovery, same first-party detection) without touching it."""
    rc, out, err = ruff(["check", "--fix", "--select", "I", "--quiet"], text, target)
    if rc != 0:
        return None, f"ruff check --fix --select I failed:\n{err or out}"
    rc, out2, err = ruff(["format", "--quiet"], out, target)
    if rc != 0:
        return None, f"ruff format failed:\n{err or out2}"
    return out2, ""


def _allowed_duplicate(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in node.decorator_list:
        if isinstance(dec, ast.Name) and dec.id == "overload":
            return True
        if isinstance(dec, ast.Attribute) and dec.attr in {
            "overload",
            "setter",
            "getter",
            "deleter",
        }:
            return True
    return False


def duplicate_definitions(tree: ast.Module) -> list[tuple[int, str, str]]:
    """(line, scope, name) for each function defined twice in one class body
    or at module level."""
    scopes: list[tuple[str, list[ast.stmt]]] = [("module level", tree.body)]
    scopes += [
        (f"class {node.name}", node.body)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    ]
    found: list[tuple[int, str, str]] = []
    for scope, body in scopes:
        seen: dict[str, int] = {}
        for stmt in body:
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if _allowed_duplicate(stmt):
                continue
            if stmt.name in seen:
                found.append(
                    (stmt.lineno, scope, f"{stmt.name} (first at {seen[stmt.name]})")
                )
            else:
                seen[stmt.name] = stmt.lineno
    return found


def split_lines(content: str) -> list[str]:
    """Lines as tokenize sees them (split on newlines only)."""
    return [line.rstrip("\r\n") for line in io.StringIO(content).readlines()]


def code_lines(content: str, tree: ast.Module) -> list[str]:
    """The lines of ``content`` with comments and docstrings blanked out."""
    lines = split_lines(content)
    if LEFTOVER_SCAN_PROSE:
        return lines
    docstrings = [
        ((node.lineno, node.col_offset), (node.end_lineno or 0, node.end_col_offset))
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    masked = [list(line) for line in lines]
    for tok in tokenize.generate_tokens(io.StringIO(content).readline):
        prose = tok.type == tokenize.COMMENT or (
            tok.type == tokenize.STRING
            and any(a <= tok.start and tok.end <= b for a, b in docstrings)
        )
        if not prose:
            continue
        (srow, scol), (erow, ecol) = tok.start, tok.end
        for row in range(srow, erow + 1):
            chars = masked[row - 1]
            start = scol if row == srow else 0
            end = ecol if row == erow else len(chars)
            chars[start:end] = " " * (end - start)
    return ["".join(chars) for chars in masked]


def validate(target: Path, content: str) -> list[str]:
    """Leftover async constructs and duplicate definitions in one file."""
    problems: list[str] = []
    try:
        tree = ast.parse(content, filename=str(target))
    except SyntaxError as exc:
        return [f"{rel(target)}:{exc.lineno}: syntax error: {exc.msg}"]
    lines = split_lines(content)
    code = code_lines(content, tree)
    for lineno in range(HEADER_LINES + 1, len(lines) + 1):
        for pattern, regex in LEFTOVER_PATTERNS:
            m = regex.search(code[lineno - 1])
            if m:
                problems.append(
                    f"{rel(target)}:{lineno}: leftover async construct "
                    f"{m.group(0)!r} (pattern {pattern}): {lines[lineno - 1].strip()}"
                )
    for lineno, scope, name in duplicate_definitions(tree):
        problems.append(
            f"{rel(target)}:{lineno}: duplicate definition in {scope}: {name}"
        )
    return problems


def sources_of(async_dir: Path) -> list[Path]:
    return sorted(p for p in async_dir.rglob("*.py") if "__pycache__" not in p.parts)


def generate_all() -> Result:
    result = Result()
    for async_rel, sync_rel in PAIRS:
        async_dir, sync_dir = ROOT / async_rel, ROOT / sync_rel
        if not (async_dir / "__init__.py").is_file():
            result.errors.append(
                f"{async_rel}/__init__.py: missing; every _async directory needs "
                f"one so that {sync_rel}/__init__.py is generated from it"
            )
            continue
        for source in sources_of(async_dir):
            target = sync_dir / source.relative_to(async_dir)
            converted = convert(source, result)
            if converted is None:
                continue
            text = HEADER.format(source=rel(source)) + converted
            try:
                ast.parse(text, filename=str(source))
            except SyntaxError as exc:
                result.errors.append(
                    f"{rel(source)}:{exc.lineno}: converted source is not valid "
                    f"Python ({exc.msg}); format the async source first "
                    "(e.g. `await(f())` breaks)"
                )
                continue
            formatted, err = format_source(text, target)
            if formatted is None:
                result.errors.append(f"{rel(target)}: {err}")
                continue
            result.files.append(Generated(source, target, formatted))
            result.errors.extend(validate(target, formatted))
    unused = sorted(set(REPLACEMENTS) - result.used)
    if unused:
        result.errors.append(
            "tools/generate.py: REPLACEMENTS entries used by no source: "
            + ", ".join(unused)
            + " (remove them from the table, or use them)"
        )
    return result


def orphans(files: Iterable[Generated]) -> list[Path]:
    expected = {g.target for g in files}
    found: list[Path] = []
    for async_rel, sync_rel in PAIRS:
        sync_dir = ROOT / sync_rel
        if not sync_dir.is_dir():
            continue
        for path in sorted(sync_dir.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            source = ROOT / async_rel / path.relative_to(sync_dir)
            if path not in expected and not source.is_file():
                found.append(path)
    return found


def short_diff(old: str, new: str, name: str, limit: int = 40) -> str:
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{name} (committed)",
            tofile=f"{name} (generated)",
        )
    )
    text = "".join("    " + line.rstrip("\n") + "\n" for line in lines[:limit])
    if len(lines) > limit:
        text += f"    ... ({len(lines) - limit} more diff lines)\n"
    return text


def check(result: Result) -> list[str]:
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="generate-check-") as tmp:
        for g in result.files:
            fresh = Path(tmp) / rel(g.target)
            fresh.parent.mkdir(parents=True, exist_ok=True)
            fresh.write_text(g.content, encoding="utf-8")
            if not g.target.is_file():
                problems.append(
                    f"{rel(g.target)}: missing (generated from {rel(g.source)})"
                )
                continue
            committed = g.target.read_text(encoding="utf-8")
            if committed != fresh.read_text(encoding="utf-8"):
                problems.append(
                    f"{rel(g.target)}: differs from a fresh generation from "
                    f"{rel(g.source)}\n"
                    + short_diff(committed, g.content, rel(g.target)).rstrip("\n")
                )
    for path in orphans(result.files):
        problems.append(f"{rel(path)}: orphan: no source under _async")
    return problems


def write(result: Result) -> tuple[int, int, list[Path]]:
    written = unchanged = 0
    for g in result.files:
        if g.target.is_file() and g.target.read_text(encoding="utf-8") == g.content:
            unchanged += 1
            continue
        g.target.parent.mkdir(parents=True, exist_ok=True)
        g.target.write_text(g.content, encoding="utf-8")
        written += 1
    deleted = orphans(result.files)
    sync_roots = {ROOT / sync_rel for _, sync_rel in PAIRS}
    for path in deleted:
        path.unlink()
        # drop sub-directories left empty (a __pycache__ does not count)
        parent = path.parent
        while parent not in sync_roots and all(
            p.name == "__pycache__" for p in parent.iterdir()
        ):
            shutil.rmtree(parent)
            parent = parent.parent
    return written, unchanged, deleted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if the committed _sync code is stale",
    )
    args = parser.parse_args(argv)

    if sys.version_info[:2] != REQUIRED_PYTHON:
        want = ".".join(map(str, REQUIRED_PYTHON))
        print(
            f"generate: refusing to run on Python {sys.version.split()[0]}: the "
            f"generator is pinned to Python {want} because tokenization (and so "
            f"the generated code) differs between versions. Run it with "
            f"python{want}, or `nox -s generate`.",
            file=sys.stderr,
        )
        return 2

    result = generate_all()
    problems = list(result.errors)

    if args.check:
        problems += check(result)
        for problem in problems:
            print(f"generate --check: {problem}", file=sys.stderr)
        if problems:
            print(
                f"generate --check: FAILED, {len(problems)} problem(s); "
                "run `nox -s generate` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"generate --check: OK, {len(result.files)} generated files up to date")
        return 0

    # A file that failed to convert is not in result.files: do not treat its
    # committed twin as an orphan while its source still exists.
    written, unchanged, deleted = write(result)
    for path in deleted:
        print(f"generate: deleted orphan {rel(path)}")
    for problem in problems:
        print(f"generate: {problem}", file=sys.stderr)
    print(
        f"generate: {len(result.files)} files from {len(PAIRS)} pairs: "
        f"{written} written, {unchanged} unchanged, {len(deleted)} orphans "
        f"deleted, {len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
