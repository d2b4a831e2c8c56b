"""Durable acknowledgement: waiting for replicas (and the append-only file)
after each write.

Redis replicates asynchronously: a write the primary acknowledged can vanish
with it if it dies before a replica has it. With ``wait_for_replicas=n`` the
saver sends ``WAIT n timeout_ms`` right after each write script, in the same
pipeline on the same connection (one round trip), and raises
:class:`~.errors.ReplicationError` when fewer than ``n`` replicas
acknowledged in time. With ``wait_for_aof=True`` it sends
``WAITAOF 1 n timeout_ms`` instead (Redis >= 7.2): the primary's own
append-only file, and ``n`` replicas' files, hold the write on disk.

This module parses the settings and reads the replies; the saver sends the
commands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidConfigError, ReplicationError

__all__ = ["DEFAULT_WAIT_TIMEOUT", "Durability", "parse_durability"]

DEFAULT_WAIT_TIMEOUT = 1.0
"""Seconds a write waits for its replicas by default (``wait_timeout``)."""


@dataclass(frozen=True)
class Durability:
    """Parsed ``wait_for_replicas`` / ``wait_timeout`` / ``wait_for_aof``.

    Attributes:
        replicas: replicas that must acknowledge each write (0: none).
        timeout: seconds to wait for them.
        aof: whether the append-only files must hold the write (``WAITAOF``).
    """

    replicas: int = 0
    timeout: float = DEFAULT_WAIT_TIMEOUT
    aof: bool = False

    @property
    def enabled(self) -> bool:
        """Whether writes wait at all."""
        return self.replicas > 0 or self.aof

    @property
    def command(self) -> tuple[Any, ...]:
        """The command sent after each write script, in its pipeline."""
        timeout_ms = max(1, round(self.timeout * 1000))
        if self.aof:
            return ("WAITAOF", 1, self.replicas, timeout_ms)
        return ("WAIT", self.replicas, timeout_ms)

    def result(self, replies: Sequence[Any]) -> Any:
        """The write script's reply, from the pipeline's ``[script, wait]``
        replies.

        Raises:
            Exception: the script's (or the wait command's) error reply, as
                redis-py returned it.
            ReplicationError: the write was not acknowledged by enough
                replicas (or not synced to the append-only file) in time.
        """
        written, waited = replies[0], replies[1]
        if isinstance(written, Exception):
            raise written
        if isinstance(waited, Exception):
            raise waited
        if self.aof:
            local, acknowledged = int(waited[0]), int(waited[1])
            if local < 1 or acknowledged < self.replicas:
                raise ReplicationError(
                    acknowledged, self.replicas, self.timeout, aof_synced=local >= 1
                )
        elif int(waited) < self.replicas:
            raise ReplicationError(int(waited), self.replicas, self.timeout)
        return written


def parse_durability(
    wait_for_replicas: object, wait_timeout: object, wait_for_aof: object
) -> Durability:
    """Check the saver's durability keywords.

    Raises:
        InvalidConfigError: ``wait_for_replicas`` is not an int >= 0,
            ``wait_timeout`` not a positive finite number of seconds (at
            least a millisecond), or ``wait_for_aof`` not a bool.
    """
    if (
        isinstance(wait_for_replicas, bool)
        or not isinstance(wait_for_replicas, int)
        or wait_for_replicas < 0
    ):
        raise InvalidConfigError(
            "wait_for_replicas must be an int >= 0 (the replicas that must "
            f"acknowledge each write; 0 waits for none), got {wait_for_replicas!r}"
        )
    if (
        isinstance(wait_timeout, bool)
        or not isinstance(wait_timeout, (int, float))
        or not math.isfinite(wait_timeout)
        or wait_timeout < 0.001
    ):
        raise InvalidConfigError(
            "wait_timeout must be a finite number of seconds, at least 0.001 "
            f"(how long a write waits for its replicas), got {wait_timeout!r}"
        )
    if not isinstance(wait_for_aof, bool):
        raise InvalidConfigError(
            f"wait_for_aof must be a bool, got {type(wait_for_aof).__name__} "
            f"{wait_for_aof!r}"
        )
    return Durability(wait_for_replicas, float(wait_timeout), wait_for_aof)
