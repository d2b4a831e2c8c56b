"""The committed dependency lock: ``constraints.txt``.

The test sessions but ``lowest`` and ``latest`` install with ``-c
constraints.txt``, so a new release of a dependency cannot change what they
test; ``nox -s lock`` refreshes the file on purpose (``docs/design.md``,
"Reproducible tests"). ``latest`` installs the newest releases and its
pytest header names every package that differs from the lock
(:func:`drift`), so a failure there comes with what changed.

    python tools/lock.py            # the installed packages that differ from the lock
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parent.parent / "constraints.txt"
"""The lock file, at the top of the repository."""

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)\s*(?:;\s*(.+))?$")


def pins(path: Path = LOCK) -> dict[str, str]:
    """``{canonical name: version}`` of the lock's lines that apply to this
    interpreter (their environment markers evaluated here)."""
    out = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match is None:
            continue
        name, version, marker = match.groups()
        if marker is None or Marker(marker).evaluate():
            out[canonicalize_name(name)] = version
    return out


def drift(path: Path = LOCK) -> list[str]:
    """``"name installed (locked X)"`` for each locked package whose
    installed version differs, ``"name missing (locked X)"`` for one not
    installed; empty when this environment matches the lock."""
    lines = []
    for name, locked in sorted(pins(path).items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            lines.append(f"{name} missing (locked {locked})")
            continue
        if installed != locked:
            lines.append(f"{name} {installed} (locked {locked})")
    return lines


def main() -> int:
    """Print the drift; exit 0 either way (it informs, it does not judge)."""
    lines = drift()
    print(f"differs from {LOCK.name}: " + (", ".join(lines) if lines else "nothing"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
