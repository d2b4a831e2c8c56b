"""Hosts of their own for the partition tests: one network namespace each.

:class:`Lab` gives every Redis and Sentinel process of a test a network
namespace of its own, linked to the root namespace (where the test and its
savers run) by a veth pair on a private /30: ``10.X.i.1`` on the root side,
``10.X.i.2`` inside namespace ``i``. The root namespace routes between the
links (``net.ipv4.ip_forward``, restored when the last lab alive closes),
and each namespace has a route to each other host's ``/32`` and nothing
else, so no packet can leave for an address the lab did not make. :meth:`Lab.cut` partitions hosts
from each other with ``blackhole`` routes on both sides (the root namespace
still reaches every host, as clients that sit on the primary's side of a
partition do); :meth:`Lab.heal` puts the routes back.

Rules kept here, because the machine is shared: only namespaces and links
this object creates, with names unique per run (``lgs`` + 5 hex digits +
host number; links add ``r``/``n``); ``X`` is a second octet that no
address or route of the machine uses; everything it made (processes first,
then links, namespaces, routes, the sysctl) is removed or restored by
:meth:`Lab.close`, which also runs at interpreter exit, after a failure or
Ctrl-C. :func:`unavailable` says why a machine cannot run it (not root, no
``ip``), for a skip.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import random
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

FORWARD_SYSCTL = "/proc/sys/net/ipv4/ip_forward"
FORWARD_BEFORE = os.path.join(tempfile.gettempdir(), "lgs-ip-forward.before")
"""The sysctl's value before the first of the labs alive at once (several
test processes may each run one) enabled it; the last one to close
restores it."""
LAB_NAMESPACE = re.compile(r"^lgs[0-9a-f]{5}\d+\b", re.MULTILINE)


def labs_alive() -> bool:
    """Whether a namespace of some lab (of any test process) exists."""
    names = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    return LAB_NAMESPACE.search(names) is not None


@contextlib.contextmanager
def _forwarding_lock() -> Iterator[None]:
    """Between test processes: a lock on this module's own file (no lock
    file to leave behind)."""
    with open(__file__, "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _ip(*args: str, netns: str | None = None) -> None:
    cmd = ["ip", *args] if netns is None else ["ip", "-n", netns, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")


def unavailable() -> str | None:
    """Why this machine cannot build a lab (``None``: it can)."""
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    name = "lgsprobe" + uuid.uuid4().hex[:5]
    try:
        _ip("netns", "add", name)
    except (RuntimeError, OSError) as exc:
        return f"`ip netns add` is not allowed here: {exc}"
    _ip("netns", "del", name)
    return None


def _free_second_octet() -> int:
    """A ``10.X.0.0/16`` that no address or route of the machine touches."""
    seen = subprocess.run(
        ["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True
    ).stdout
    seen += subprocess.run(
        ["ip", "-4", "route", "show", "table", "all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    used = {int(m) for m in re.findall(r"\b10\.(\d+)\.", seen)}
    free = [x for x in range(100, 250) if x not in used]
    if not free:
        raise RuntimeError("no free 10.X.0.0/16 for the lab")
    return random.choice(free)


@dataclass(frozen=True)
class Host:
    """One namespace: its name, its address, the root side's address."""

    netns: str
    address: str
    gateway: str


class Lab:
    """Network namespaces of one test run; see the module docstring."""

    def __init__(self) -> None:
        self.tag = "lgs" + uuid.uuid4().hex[:5]
        self.octet = _free_second_octet()
        self.hosts: list[Host] = []
        self.cuts: set[tuple[int, int]] = set()
        self._closers: list[object] = []  # processes to stop first
        self._forwarding = False
        atexit.register(self.close)

    def _enable_forwarding(self) -> None:
        if self._forwarding:
            return
        with _forwarding_lock():
            if not os.path.exists(FORWARD_BEFORE):
                with open(FORWARD_SYSCTL, encoding="ascii") as f:
                    before = f.read().strip()
                with open(FORWARD_BEFORE, "w", encoding="ascii") as f:
                    f.write(before)
            with open(FORWARD_SYSCTL, "w", encoding="ascii") as f:
                f.write("1")
        self._forwarding = True

    def _restore_forwarding(self) -> None:
        """Put the sysctl back, unless another lab is still alive."""
        with _forwarding_lock():
            if labs_alive() or not os.path.exists(FORWARD_BEFORE):
                return
            with open(FORWARD_BEFORE, encoding="ascii") as f:
                before = f.read().strip()
            with open(FORWARD_SYSCTL, "w", encoding="ascii") as f:
                f.write(before)
            os.remove(FORWARD_BEFORE)

    def add_host(self) -> Host:
        """A new namespace, linked to the root namespace and routed to every
        host made before it (and they to it)."""
        i = len(self.hosts) + 1
        name = f"{self.tag}{i}"
        net = f"10.{self.octet}.{i}"
        host = Host(name, f"{net}.2", f"{net}.1")
        _ip("netns", "add", name)
        self.hosts.append(host)  # from here on, close() removes it
        _ip("link", "add", name + "r", "type", "veth", "peer", "name", name + "n")
        _ip("link", "set", name + "n", "netns", name)
        _ip("addr", "add", f"{host.gateway}/30", "dev", name + "r")
        _ip("link", "set", name + "r", "up")
        _ip("addr", "add", f"{host.address}/30", "dev", name + "n", netns=name)
        _ip("link", "set", name + "n", "up", netns=name)
        _ip("link", "set", "lo", "up", netns=name)
        self._enable_forwarding()
        for other in self.hosts[:-1]:
            self._route(host, other)
            self._route(other, host)
        return host

    def _route(self, src: Host, dst: Host, blackhole: bool = False) -> None:
        target = f"{dst.address}/32"
        if blackhole:
            _ip("route", "replace", "blackhole", target, netns=src.netns)
        else:
            _ip("route", "replace", target, "via", src.gateway, netns=src.netns)

    def cut(self, hosts: list[Host], others: list[Host]) -> None:
        """Drop every packet between ``hosts`` and ``others``, both ways."""
        for a in hosts:
            for b in others:
                self._route(a, b, blackhole=True)
                self._route(b, a, blackhole=True)
                self.cuts.add((self.hosts.index(a), self.hosts.index(b)))

    def heal(self) -> None:
        """Put back every route :meth:`cut` took away."""
        for a, b in sorted(self.cuts):
            self._route(self.hosts[a], self.hosts[b])
            self._route(self.hosts[b], self.hosts[a])
        self.cuts.clear()

    def on_close(self, stop: object) -> None:
        """Have :meth:`close` call ``stop()`` (a process's) before it
        removes the namespaces."""
        self._closers.append(stop)

    def close(self) -> None:
        """Stop the processes, then remove every link and namespace and
        restore the sysctl. Safe to call more than once."""
        closers, self._closers = self._closers, []
        for stop in reversed(closers):
            with contextlib.suppress(Exception):
                stop()  # type: ignore[operator]
        hosts, self.hosts = self.hosts, []
        for host in hosts:
            with contextlib.suppress(RuntimeError, OSError):
                _ip("link", "del", host.netns + "r")  # takes its peer along
            with contextlib.suppress(RuntimeError, OSError):
                _ip("netns", "del", host.netns)
        if self._forwarding:
            self._restore_forwarding()
            self._forwarding = False
        atexit.unregister(self.close)

    def leftovers(self) -> list[str]:
        """Namespaces and links of this lab that still exist (none after
        :meth:`close`)."""
        names = subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, check=True
        ).stdout
        links = subprocess.run(
            ["ip", "-o", "link"], capture_output=True, text=True, check=True
        ).stdout
        return sorted(set(re.findall(rf"\b{self.tag}\d+[rn]?\b", names + links)))
