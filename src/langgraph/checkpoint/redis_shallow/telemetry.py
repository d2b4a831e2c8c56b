"""Traces and logs of the savers: OpenTelemetry spans and the package's logger.

The saver opens one span per operation (:meth:`Telemetry.span`) and reports
to it each request it sends and each reply it gets; this module turns that
into an OpenTelemetry span following the database semantic conventions.
Nothing here does I/O, and nothing imports ``opentelemetry`` unless a saver
is made with ``tracing=True`` (the default) and ``opentelemetry-api`` is
installed (``pip install langgraph-checkpoint-redis-shallow[otel]``).
Without it, or with ``tracing=False``, :meth:`Telemetry.span` returns
:data:`NO_SPAN`, whose methods do nothing; so it does when the tracer makes
a span that does not record (no SDK configured, or not sampled).

A span, kind ``CLIENT``, is named ``"<operation> <checkpoint prefix>"``
(``"put lgshallow:cp"``) and carries:

- ``db.system.name`` (``"redis"``), ``db.operation.name`` (the saver's
  operation, the same for both APIs: ``put``, ``put_writes``,
  ``get_tuple``, ``list``, ``delete_thread``, ``copy_thread``, ``prune``,
  ``delete_for_runs``, ``copy_from``, ``setup``, ``dump_thread``,
  ``restore_thread``;
  ``get_delta_channel_history`` when it reads, not when it is answered from
  the preceding ``get_tuple``'s read; ``put_delta_history``, the step of
  ``copy_from`` that stores a ``DeltaChannel``'s history), ``db.collection.name``
  (the checkpoint key prefix), ``db.namespace`` (the database index),
  ``server.address`` and ``server.port`` (when the client connects to one
  host: not for Sentinel or cluster clients);
- :data:`ROUND_TRIPS`, :data:`BYTES_SENT`, :data:`BYTES_RECEIVED` (the
  payload of the requests and replies: keys, arguments, reply values, not
  the protocol's framing; neither redis-py's own retries nor a new
  connection's handshake are counted), :data:`NAMESPACE`, :data:`WRITES`
  (``put_writes``: writes sent; ``get_tuple``: pending writes returned),
  :data:`THREADS` (``prune``), :data:`NAMESPACES` (``delete_for_runs``:
  namespaces found);
- :data:`THREAD_ID` (and :data:`TARGET_THREAD_ID` for ``copy_thread``)
  only with ``trace_thread_ids=True``: thread ids can be personal data;
- on failure: status ``ERROR``, ``error.type`` (the exception's qualified
  class name) and :data:`ERROR_CAUSE` (that of its ``__cause__``, the
  redis-py error). The exception's message names the thread, so it is
  recorded (status description, exception event) only with
  ``trace_thread_ids=True``.

Spans are made current while the operation runs (children, such as
redis-py's own instrumentation, nest under them), except ``list``'s: it is
a generator and runs in its consumer's context. ``copy_from`` is an
``INTERNAL`` span whose reads and writes are child spans; it carries
:data:`THREADS`, :data:`NAMESPACES` and :data:`WRITES` copied.

The package logs to :data:`logger` (``"langgraph.checkpoint.redis_shallow"``):
retries of the saver's default retry policy (``WARNING``), resends of a
refused ``put`` and fallbacks (``NOSCRIPT`` to ``EVAL``, no Search module;
``INFO``). Never a value; thread ids only with ``trace_thread_ids=True``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

__all__ = [
    "BYTES_RECEIVED",
    "BYTES_SENT",
    "ERROR_CAUSE",
    "LOGGER_NAME",
    "NAMESPACE",
    "NAMESPACES",
    "NO_SPAN",
    "ROUND_TRIPS",
    "TARGET_THREAD_ID",
    "THREADS",
    "THREAD_ID",
    "WRITES",
    "AsyncLoggedRetry",
    "LoggedRetry",
    "Span",
    "Telemetry",
    "logger",
    "payload_size",
]

LOGGER_NAME = "langgraph.checkpoint.redis_shallow"
"""Name of the package's logger."""
logger = logging.getLogger(LOGGER_NAME)
"""The package's logger; never given a value, thread ids only when opted in."""

TRACER_NAME = "langgraph.checkpoint.redis_shallow"
"""Instrumentation scope of the spans (with the package's version)."""

# OpenTelemetry semantic conventions (database client spans, Redis)
DB_SYSTEM_NAME = "db.system.name"
"""Always ``"redis"``."""
DB_OPERATION_NAME = "db.operation.name"
"""The saver's operation (``put``, ``get_tuple``, ...)."""
DB_COLLECTION_NAME = "db.collection.name"
"""The checkpoint key prefix, the nearest thing Redis has to a table."""
DB_NAMESPACE = "db.namespace"
"""The database index, as a string (``"0"``)."""
SERVER_ADDRESS = "server.address"
"""Host (or Unix socket path) of a client that connects to one server."""
SERVER_PORT = "server.port"
"""Port of a client that connects to one server."""
ERROR_TYPE = "error.type"
"""Qualified class name of the exception a failed operation raised."""

# ours
ROUND_TRIPS = "langgraph.checkpoint.round_trips"
"""Requests the saver sent, each waiting for its reply (a pipeline is one)."""
BYTES_SENT = "langgraph.checkpoint.bytes_sent"
"""Bytes of the keys and arguments sent (protocol framing not counted)."""
BYTES_RECEIVED = "langgraph.checkpoint.bytes_received"
"""Bytes of the reply values received (protocol framing not counted)."""
NAMESPACE = "langgraph.checkpoint.ns"
"""The checkpoint namespace (``""`` for the root graph)."""
WRITES = "langgraph.checkpoint.writes"
"""``put_writes``: writes sent; ``get_tuple``: pending writes returned."""
THREADS = "langgraph.checkpoint.threads"
"""``prune``: threads pruned; ``copy_from``: threads copied."""
NAMESPACES = "langgraph.checkpoint.namespaces"
"""``delete_for_runs``: namespaces found; ``copy_from``: namespaces copied."""
THREAD_ID = "langgraph.checkpoint.thread_id"
"""The thread id; only with ``trace_thread_ids=True``."""
TARGET_THREAD_ID = "langgraph.checkpoint.target_thread_id"
"""``copy_thread``'s target thread id; only with ``trace_thread_ids=True``."""
ERROR_CAUSE = "langgraph.checkpoint.error.cause"
"""Qualified class name of the failed operation's ``__cause__``."""


def payload_size(value: Any) -> int:
    """Bytes of a request's parts or of a reply, without protocol framing.

    ``bytes`` and ``str`` count their length (``str`` in characters: keys
    and script names are ASCII), integers their decimal form, containers
    the sum of their items (a mapping: keys and values).
    """
    kind = type(value)
    if kind is bytes or kind is str:
        return len(value)
    if kind is list or kind is tuple:
        total = 0
        for item in value:
            kind = type(item)
            if kind is bytes or kind is str:
                total += len(item)
            else:
                total += payload_size(item)
        return total
    if kind is dict:
        total = 0
        for key, item in value.items():
            total += len(key) if type(key) is bytes else payload_size(key)
            total += len(item) if type(item) is bytes else payload_size(item)
        return total
    if kind is int:
        return len(str(value))
    if isinstance(value, (bytes, str, bytearray, memoryview)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(payload_size(v) for v in value)
    if isinstance(value, Mapping):
        return sum(payload_size(k) + payload_size(v) for k, v in value.items())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return len(repr(value))
    return 0


def _qualname(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


class Span:
    """What the saver reports to while an operation runs.

    This base class records nothing: it is :data:`NO_SPAN`, used when
    tracing is off, so the untraced path costs a few no-op calls.
    """

    __slots__ = ()

    def __enter__(self) -> Span:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def request(self, *parts: Any) -> None:
        """One request sent (a round trip); ``parts``: its keys and arguments."""

    def response(self, reply: Any) -> None:
        """The reply of the last request."""

    def set(self, key: str, value: Any) -> None:
        """Set an attribute (a count, never a value of the checkpoint)."""

    def thread(self, key: str, thread_id: str) -> None:
        """Set a thread id attribute, if the saver traces thread ids."""


NO_SPAN = Span()
"""The span of every operation when tracing is off."""


class _Recording(Span):
    """An operation's OpenTelemetry span, with its counters."""

    __slots__ = ("_counts", "_owner", "_received", "_sent", "_span", "_token", "_trips")

    def __init__(
        self, owner: Telemetry, span: Any, current: bool, counts: bool
    ) -> None:
        self._owner = owner
        self._counts = counts
        self._span = span
        self._trips = 0
        self._sent = 0
        self._received = 0
        otel = owner._otel
        self._token = (
            otel.context.attach(otel.trace.set_span_in_context(span))
            if current
            else None
        )

    def request(self, *parts: Any) -> None:
        self._trips += 1
        self._sent += payload_size(parts)

    def response(self, reply: Any) -> None:
        self._received += payload_size(reply)

    def set(self, key: str, value: Any) -> None:
        self._span.set_attribute(key, value)

    def thread(self, key: str, thread_id: str) -> None:
        if self._owner.trace_thread_ids:
            self._span.set_attribute(key, thread_id)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = self._span
        try:
            if self._counts:
                span.set_attributes(
                    {
                        ROUND_TRIPS: self._trips,
                        BYTES_SENT: self._sent,
                        BYTES_RECEIVED: self._received,
                    }
                )
            if exc is not None and not isinstance(exc, GeneratorExit):
                self._owner._failed(span, exc)
        finally:
            span.end()
            if self._token is not None:
                self._owner._otel.context.detach(self._token)


class Telemetry:
    """How one saver traces its operations.

    Args:
        tracing: ``False``: no spans, ``opentelemetry`` never imported.
            ``True``: spans when ``opentelemetry-api`` is installed (they
            are no-ops until an OpenTelemetry SDK is configured).
        trace_thread_ids: put thread ids on spans and in log records.
        tracer_provider: an OpenTelemetry ``TracerProvider``; ``None``:
            the global one.
        connection_kwargs: the client's connection settings (``host``,
            ``port``, ``path``, ``db``), for the server attributes.
        collection: the checkpoint key prefix (``db.collection.name``).
    """

    def __init__(
        self,
        *,
        tracing: bool,
        trace_thread_ids: bool,
        tracer_provider: Any,
        connection_kwargs: Mapping[str, Any],
        collection: str,
    ) -> None:
        self.trace_thread_ids = bool(trace_thread_ids)
        self._otel: Any = _load_otel() if tracing else None
        self._tracer: Any = None
        self._attributes: dict[str, Any] = {}
        if self._otel is None:
            return
        self._tracer = self._otel.trace.get_tracer(
            TRACER_NAME, _version(), tracer_provider=tracer_provider
        )
        self._collection = collection
        attrs: dict[str, Any] = {
            DB_SYSTEM_NAME: "redis",
            DB_COLLECTION_NAME: collection,
        }
        if connection_kwargs.get("host") is not None:
            attrs[SERVER_ADDRESS] = str(connection_kwargs["host"])
            if connection_kwargs.get("port") is not None:
                attrs[SERVER_PORT] = int(connection_kwargs["port"])
        elif connection_kwargs.get("path") is not None:
            attrs[SERVER_ADDRESS] = str(connection_kwargs["path"])
        # every Redis connection has a database index, 0 unless selected
        attrs[DB_NAMESPACE] = str(connection_kwargs.get("db") or 0)
        self._attributes = attrs

    @property
    def enabled(self) -> bool:
        """Whether operations make spans (``opentelemetry-api`` found)."""
        return self._tracer is not None

    def span(
        self,
        operation: str,
        thread_id: str | None = None,
        ns: str | None = None,
        *,
        current: bool = True,
        internal: bool = False,
    ) -> Span:
        """The span of one operation, to use as a context manager.

        ``current``: make it the current span while the operation runs (its
        children nest under it); ``False`` for an async generator, which
        runs in its consumer's context. ``internal``: an ``INTERNAL`` span
        that makes no requests of its own (``copy_from``).
        """
        tracer = self._tracer
        if tracer is None:
            return NO_SPAN
        attrs = dict(self._attributes)
        attrs[DB_OPERATION_NAME] = operation
        if ns is not None:
            attrs[NAMESPACE] = ns
        if thread_id is not None and self.trace_thread_ids:
            attrs[THREAD_ID] = thread_id
        kinds = self._otel.trace.SpanKind
        span = tracer.start_span(
            f"{operation} {self._collection}",
            kind=kinds.INTERNAL if internal else kinds.CLIENT,
            attributes=attrs,
        )
        if not span.is_recording():
            # no SDK (the API's no-op tracer) or not sampled: nothing to
            # count; children see the caller's context, as unsampled as this
            return NO_SPAN
        return _Recording(self, span, current, not internal)

    def _failed(self, span: Any, exc: BaseException) -> None:
        span.set_attribute(ERROR_TYPE, _qualname(type(exc)))
        if exc.__cause__ is not None:
            span.set_attribute(ERROR_CAUSE, _qualname(type(exc.__cause__)))
        status = self._otel.trace.Status
        code = self._otel.trace.StatusCode.ERROR
        if self.trace_thread_ids:
            span.record_exception(exc)
            span.set_status(status(code, f"{type(exc).__name__}: {exc}"))
        else:
            span.set_status(status(code))

    def who(self, thread_id: str | None) -> str:
        """A thread id for a log record: the id when opted in, else hidden."""
        if thread_id is None:
            return "-"
        return repr(thread_id) if self.trace_thread_ids else "(id not logged)"


def _load_otel() -> Any:
    """``opentelemetry``'s ``trace`` and ``context`` modules, or ``None``."""
    try:
        trace = importlib.import_module("opentelemetry.trace")
        context = importlib.import_module("opentelemetry.context")
    except ImportError:
        return None

    class Otel:
        pass

    otel: Any = Otel()
    otel.trace = trace
    otel.context = context
    return otel


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("langgraph-checkpoint-redis-shallow")
    except PackageNotFoundError:
        return "0"


def _logging_fail(fail: Callable[..., Any], retries: int) -> Callable[..., Any]:
    """``fail`` (redis-py's failure handler), logging each failure first.

    One per ``call_with_retry`` call: it counts that call's failures. It
    returns what ``fail`` returns, so an async client awaits it as before.
    """
    failures = 0

    def logged_fail(error: Exception, *rest: Any) -> Any:
        nonlocal failures
        failures += 1
        if retries < 0 or failures <= retries:
            logger.warning(
                "Redis command failed (%s: %s); retry %d of %d",
                type(error).__name__,
                error,
                failures,
                retries,
            )
        else:
            logger.warning(
                "Redis command failed (%s: %s) after %d retries; giving up",
                type(error).__name__,
                error,
                retries,
            )
        return fail(error, *rest)

    return logged_fail


class LoggedRetry:
    """Mixin for redis-py's sync ``redis.retry.Retry``: logs each failure.

    The saver's default retry policy is this mixin (or
    :class:`AsyncLoggedRetry`) on redis-py's class (``_io_async`` /
    ``_io_sync``); a ``retry`` you pass is not logged. A failure that will
    be retried is logged at ``WARNING``, the last one (retries exhausted)
    at ``WARNING`` too, saying the error is raised.
    """

    _retries: int

    def call_with_retry(
        self, do: Callable[[], Any], fail: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """redis-py's ``call_with_retry``, logging each failure first."""
        parent: Any = super()
        fail = _logging_fail(fail, self._retries)
        return parent.call_with_retry(do, fail, *args, **kwargs)


class AsyncLoggedRetry:
    """Mixin for redis-py's ``redis.asyncio.retry.Retry``: logs each failure.

    Its ``call_with_retry`` is a coroutine function: redis-py 8.2 keeps an
    asyncio client's retry only then, and replaces any other (with a
    ``UserWarning``), which would drop the logging.
    """

    _retries: int

    async def call_with_retry(
        self, do: Callable[[], Any], fail: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """redis-py's ``call_with_retry``, logging each failure first."""
        parent: Any = super()
        fail = _logging_fail(fail, self._retries)
        return await parent.call_with_retry(do, fail, *args, **kwargs)
