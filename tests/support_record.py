"""What ``test_server_support`` found the session's server can do.

``OPERATIONS`` maps each public operation to ``"works"`` or to the name of
the documented error it raised (``"SearchUnavailableError"``); the
session's summary (``tests/conftest.py``) copies it for
``tools/matrix_report.py``.
"""

from __future__ import annotations

OPERATIONS: dict[str, str] = {}


def record(operation: str, outcome: str) -> None:
    """Record ``outcome``; both savers must find the same for an operation."""
    seen = OPERATIONS.setdefault(operation, outcome)
    if seen != outcome:
        raise AssertionError(
            f"{operation}: one saver found {seen!r}, the other {outcome!r}"
        )
