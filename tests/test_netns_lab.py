"""The partition tests' lab (``tests/netns_support.py``) keeps its rules:
a cut drops packets between the hosts named and no others, healing restores
them, and closing removes every namespace and link and restores the
sysctl, after a failure too."""

from __future__ import annotations

import socket
import subprocess

import pytest

from redis_server import RedisServer
from tests.netns_support import FORWARD_SYSCTL, Lab, labs_alive, unavailable

WHY_NOT = unavailable()
pytestmark = [
    pytest.mark.partition,
    pytest.mark.skipif(bool(WHY_NOT), reason=f"no network namespaces: {WHY_NOT}"),
]


def forwarding() -> str:
    with open(FORWARD_SYSCTL, encoding="ascii") as f:
        return f.read().strip()


def reaches(netns: str, address: str) -> bool:
    """Whether a client inside ``netns`` gets a TCP connection to the Redis
    at ``address`` within 0.5 s."""
    code = (
        "import socket,sys;s=socket.socket();s.settimeout(0.5);"
        f"sys.exit(s.connect_ex(('{address}', 6379)))"
    )
    done = subprocess.run(
        ["ip", "netns", "exec", netns, "python3", "-c", code], timeout=10
    )
    return done.returncode == 0


def test_cut_heal_and_close_leave_nothing_behind() -> None:
    before = forwarding()
    lab = Lab()
    a, b, c = lab.add_host(), lab.add_host(), lab.add_host()
    servers = []
    for host in (a, b, c):
        server = RedisServer(
            kind="plain", host=host.address, port=6379, netns=host.netns
        )
        lab.on_close(server.stop)
        servers.append(server.start())
    assert reaches(a.netns, b.address) and reaches(b.netns, c.address)
    lab.cut([a], [b])
    assert not reaches(a.netns, b.address) and not reaches(b.netns, a.address)
    assert reaches(a.netns, c.address) and reaches(c.netns, b.address)
    with socket.create_connection((a.address, 6379), timeout=1):
        pass  # the root namespace still reaches the cut-off host
    lab.heal()
    assert reaches(a.netns, b.address) and reaches(b.netns, a.address)
    lab.close()
    assert lab.leftovers() == []
    assert forwarding() == before or labs_alive()  # the last lab restores it
    assert not any(s.running for s in servers)


def test_close_after_a_failure_leaves_nothing_behind() -> None:
    before = forwarding()
    lab = Lab()
    with pytest.raises(RuntimeError):
        try:
            lab.add_host()
            host = lab.add_host()
            lab.cut([host], [lab.hosts[0]])
            raise RuntimeError("a test failed here")
        finally:
            lab.close()
    assert lab.leftovers() == []
    assert forwarding() == before or labs_alive()  # the last lab restores it
