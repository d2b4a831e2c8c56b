"""OpenTelemetry spans and log records of the saver, on a real server.

Spans go to the SDK's ``InMemorySpanExporter`` through a ``TracerProvider``
given to the saver (``tracer_provider=``), so no global state is touched.
Round trips on the spans are compared with those a counting client sees.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from langgraph.checkpoint.base import Checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    InvalidConfigError,
    StaleCheckpointError,
    StorageError,
)
from langgraph.checkpoint.redis_shallow import telemetry as tel
from redis_server import RedisServer
from tests._async.conftest import drop
from tests._async.graph_support import approval_graph, config_of
from tests._io_async import RoundTrips, counting_client
from tests.builders import cfg, checkpoint, saver_prefixes

LOGGER = "langgraph.checkpoint.redis_shallow"


class Traced:
    """A saver on a counting client, with its spans in memory."""

    def __init__(
        self,
        saver: AsyncShallowRedisSaver,
        trips: RoundTrips,
        spans: InMemorySpanExporter,
    ) -> None:
        self.saver = saver
        self.trips = trips
        self.exporter = spans

    def reset(self) -> None:
        self.trips.reset()
        self.exporter.clear()

    def only(self, operation: str) -> ReadableSpan:
        """The one span finished since ``reset``, checked to be ``operation``'s."""
        spans = self.exporter.get_finished_spans()
        assert [s.attributes["db.operation.name"] for s in spans] == [operation]
        return spans[0]


def provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp, exporter


@pytest.fixture
async def traced(redis_url: str, prefix: str) -> AsyncIterator[Traced]:
    client, trips = counting_client(redis_url)
    tp, exporter = provider()
    saver = AsyncShallowRedisSaver(
        redis_client=client,
        **saver_prefixes(prefix),
        tracer_provider=tp,
    )
    await client.ping()  # the connection's handshake is not the saver's
    yield Traced(saver, trips, exporter)
    await drop(saver, prefix)
    await client.aclose()


def _checkpoint(step: int) -> Checkpoint:
    return checkpoint({"messages": [f"secret value {step}"] * 5, "x": step}, step)


def _check_common(span: ReadableSpan, redis_url: str, prefix: str) -> None:
    attrs = span.attributes
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"{attrs['db.operation.name']} {prefix}:cp"
    assert attrs["db.system.name"] == "redis"
    assert attrs["db.collection.name"] == f"{prefix}:cp"
    assert attrs["db.namespace"] == "0"
    host_port = redis_url.split("//", 1)[1].split("/", 1)[0]
    assert f"{attrs['server.address']}:{attrs['server.port']}" == host_port
    assert span.status.status_code is StatusCode.UNSET
    assert tel.THREAD_ID not in attrs


def _check_counts(span: ReadableSpan, trips: RoundTrips) -> None:
    attrs = span.attributes
    assert attrs[tel.ROUND_TRIPS] == trips.count
    # payload only: less than what went over the wire, framing included
    assert 0 < attrs[tel.BYTES_SENT] <= trips.bytes


async def test_a_span_per_operation(
    traced: Traced, redis_url: str, prefix: str, thread_id: str, has_search: bool
):
    saver = traced.saver
    traced.reset()
    await saver.asetup()
    span = traced.only("setup")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)

    config = cfg(thread_id)
    cp = _checkpoint(1)
    traced.reset()
    stored = await saver.aput(config, cp, {"step": 1}, cp["channel_versions"])
    span = traced.only("put")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)
    assert span.attributes[tel.ROUND_TRIPS] == 1
    assert span.attributes[tel.NAMESPACE] == ""

    traced.reset()
    await saver.aput_writes(stored, [("messages", 1), ("x", 2), ("x", 3)], "task")
    span = traced.only("put_writes")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)
    assert span.attributes[tel.ROUND_TRIPS] == 1
    assert span.attributes[tel.WRITES] == 3

    traced.reset()
    tup = await saver.aget_tuple(config)
    span = traced.only("get_tuple")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)
    assert tup is not None and span.attributes[tel.WRITES] == 3
    assert span.attributes[tel.ROUND_TRIPS] == 1
    assert span.attributes[tel.BYTES_RECEIVED] > 0

    child = cfg(thread_id, "child:1")
    await saver.aput(child, cp, {"step": 1}, cp["channel_versions"])
    traced.reset()
    found = [t async for t in saver.alist({"configurable": {"thread_id": thread_id}})]
    span = traced.only("list")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)
    assert len(found) == 2 and span.attributes[tel.ROUND_TRIPS] == 1
    assert tel.NAMESPACE not in span.attributes  # every namespace

    traced.reset()
    found = [t async for t in saver.alist(child)]
    span = traced.only("list")
    assert len(found) == 1 and span.attributes[tel.NAMESPACE] == "child:1"
    _check_counts(span, traced.trips)

    if has_search:
        traced.reset()
        found = [t async for t in saver.alist(None, filter={"step": 1})]
        span = traced.only("list")
        _check_counts(span, traced.trips)
        # one search, then each namespace's hash
        assert len(found) == 2 and span.attributes[tel.ROUND_TRIPS] == 3

        traced.reset()
        await saver.adelete_for_runs(["no-such-run"])
        span = traced.only("delete_for_runs")
        _check_counts(span, traced.trips)
        assert span.attributes[tel.NAMESPACES] == 0

    traced.reset()
    await saver.acopy_thread(thread_id, thread_id + "-copy")
    span = traced.only("copy_thread")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)
    assert span.attributes[tel.ROUND_TRIPS] == 2
    assert tel.TARGET_THREAD_ID not in span.attributes

    traced.reset()
    dumped = await saver.adump_thread(thread_id)
    span = traced.only("dump_thread")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)
    assert span.attributes[tel.ROUND_TRIPS] == 1

    traced.reset()
    await saver.arestore_thread(thread_id, dumped)
    span = traced.only("restore_thread")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)
    assert span.attributes[tel.ROUND_TRIPS] == 1

    traced.reset()
    await saver.aprune([thread_id, thread_id + "-copy"])
    span = traced.only("prune")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)
    assert span.attributes[tel.ROUND_TRIPS] == 2
    assert span.attributes[tel.THREADS] == 2

    traced.reset()
    await saver.adelete_thread(thread_id + "-copy")
    span = traced.only("delete_thread")
    _check_common(span, redis_url, prefix)
    _check_counts(span, traced.trips)
    assert span.attributes[tel.ROUND_TRIPS] == 1


async def test_round_trips_of_a_resend_and_of_noscript(
    traced: Traced, thread_id: str, caplog: pytest.LogCaptureFixture
):
    saver = traced.saver
    await saver.asetup()
    config = cfg(thread_id)
    cp = _checkpoint(1)
    caplog.set_level(logging.INFO, logger=LOGGER)

    # "messages" not in new_versions, and not stored: refused, sent again
    traced.reset()
    stored = await saver.aput(config, cp, {}, {"x": 1})
    span = traced.only("put")
    _check_counts(span, traced.trips)
    assert span.attributes[tel.ROUND_TRIPS] == 2
    resent = [r for r in caplog.records if "sending the checkpoint again" in r.message]
    assert len(resent) == 1 and resent[0].name == LOGGER
    assert resent[0].levelno == logging.INFO

    # the server lost its scripts: NOSCRIPT, then EVAL with the source
    await saver.client.script_flush()
    caplog.clear()
    traced.reset()
    cp2 = _checkpoint(2)
    await saver.aput(stored, cp2, {}, cp2["channel_versions"])
    span = traced.only("put")
    _check_counts(span, traced.trips)
    assert span.attributes[tel.ROUND_TRIPS] == 2
    noscript = [r for r in caplog.records if "NOSCRIPT" in r.message]
    assert len(noscript) == 1 and noscript[0].name == LOGGER

    # never a value, and no thread id unless asked for
    for record in caplog.records:
        assert "secret value" not in record.getMessage()
        assert thread_id not in record.getMessage()


async def test_thread_ids_only_when_asked(
    redis_url: str, prefix: str, thread_id: str, caplog: pytest.LogCaptureFixture
):
    tp, exporter = provider()
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url,
        **saver_prefixes(prefix),
        tracer_provider=tp,
        trace_thread_ids=True,
    ) as saver:
        config = cfg(thread_id)
        cp = _checkpoint(1)
        caplog.set_level(logging.INFO, logger=LOGGER)
        await saver.aput(config, cp, {}, {"x": 1})  # resent: logged
        await saver.aget_tuple(config)
        # the other API (the async saver's sync one) traces the same way
        saver.get_tuple(config)
        await saver.acopy_thread(thread_id, thread_id + "-copy")
        await saver.adelete_thread(thread_id + "-copy")
        await saver.adelete_thread(thread_id)
        spans = exporter.get_finished_spans()
        names = [s.attributes["db.operation.name"] for s in spans]
        assert names == [
            "put",
            "get_tuple",
            "get_tuple",
            "copy_thread",
            "delete_thread",
            "delete_thread",
        ]
        assert all(s.attributes[tel.THREAD_ID] == thread_id for s in spans[:4])
        assert spans[3].attributes[tel.TARGET_THREAD_ID] == thread_id + "-copy"
        assert any(thread_id in r.getMessage() for r in caplog.records)
        await drop(saver, prefix)


async def test_a_graph_traced_under_the_callers_span(traced: Traced, thread_id: str):
    saver = traced.saver
    await saver.asetup()
    tracer = TracerProvider().get_tracer("test")  # the caller's own provider
    graph = approval_graph(saver)
    config = config_of(thread_id)
    traced.reset()
    with tracer.start_as_current_span("request") as root:
        await graph.ainvoke({"log": ["start"]}, config)
        state = await graph.aget_state(config)
        done = await graph.ainvoke(Command(resume="yes"), config)
    assert state.next == ("approve",)
    assert done["log"] == ["start", "draft", "approved:yes"]
    # the same on InMemorySaver
    ref = approval_graph(InMemorySaver())
    await ref.ainvoke({"log": ["start"]}, config)
    assert (await ref.ainvoke(Command(resume="yes"), config)) == done

    spans = traced.exporter.get_finished_spans()
    ops = {s.attributes["db.operation.name"] for s in spans}
    assert {"put", "put_writes", "get_tuple"} <= ops
    trace_id = root.get_span_context().trace_id
    for span in spans:
        assert span.kind is SpanKind.CLIENT
        assert span.context.trace_id == trace_id  # under the caller's span
        assert span.parent is not None
        assert span.status.status_code is StatusCode.UNSET
        assert tel.THREAD_ID not in span.attributes
        assert thread_id not in repr(dict(span.attributes))
    # one round trip each, as tests/_async/test_roundtrips.py counts them
    for span in spans:
        if span.attributes["db.operation.name"] in ("put", "put_writes", "get_tuple"):
            assert span.attributes[tel.ROUND_TRIPS] == 1
    # every request is on a span; the client also counts the handshakes of
    # the connections the graph's concurrent writes open
    total = sum(s.attributes[tel.ROUND_TRIPS] for s in spans)
    assert 0 < total <= traced.trips.count


async def test_copy_from_is_a_span_over_its_writes(traced: Traced, thread_id: str):
    saver = traced.saver
    await saver.asetup()
    source = InMemorySaver()
    graph = approval_graph(source)
    await graph.ainvoke({"log": ["start"]}, config_of(thread_id))
    traced.reset()
    summary = await saver.acopy_from(source)
    spans = traced.exporter.get_finished_spans()
    top = [s for s in spans if s.attributes["db.operation.name"] == "copy_from"]
    assert len(top) == 1 and top[0].kind is SpanKind.INTERNAL
    assert top[0].attributes[tel.NAMESPACES] == summary.namespaces == 1
    assert top[0].attributes[tel.WRITES] == summary.writes
    children = [s for s in spans if s is not top[0]]
    assert {s.attributes["db.operation.name"] for s in children} == {
        "get_tuple",
        "put",
        "put_writes",
    }
    assert all(s.parent.span_id == top[0].context.span_id for s in children)
    assert sum(s.attributes[tel.ROUND_TRIPS] for s in children) == traced.trips.count


async def test_error_span_of_a_stale_put(traced: Traced, thread_id: str):
    saver = traced.saver
    await saver.asetup()
    config = cfg(thread_id)
    cp = _checkpoint(1)
    first = await saver.aput(config, cp, {}, cp["channel_versions"])
    cp2 = _checkpoint(2)
    await saver.aput(first, cp2, {}, cp2["channel_versions"])
    traced.reset()
    cp3 = _checkpoint(3)
    with pytest.raises(StaleCheckpointError):
        await saver.aput(first, cp3, {}, cp3["channel_versions"])  # stale parent
    span = traced.only("put")
    _check_counts(span, traced.trips)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is None  # the message names the thread
    assert span.attributes["error.type"] == (
        "langgraph.checkpoint.redis_shallow.errors.StaleCheckpointError"
    )
    assert span.events == ()  # no exception event without the opt-in


async def test_error_span_of_a_stopped_server(plain_kind: str, thread_id: str):
    # (the retries' log records: test_faults.py's
    # test_connection_dropped_mid_command, where every redis-py retries)
    tp, exporter = provider()
    config = {"configurable": {"thread_id": thread_id}}
    with RedisServer(kind=plain_kind) as server:
        # the default retry policy (3 retries) and thread ids on spans
        async with AsyncShallowRedisSaver.from_conn_string(
            server.url, tracer_provider=tp, trace_thread_ids=True
        ) as saver:
            assert await saver.aget_tuple(config) is None  # connected
            server.kill()
            exporter.clear()
            with pytest.raises(StorageError):
                await saver.aget_tuple(config)
    (span,) = exporter.get_finished_spans()
    assert span.attributes["db.operation.name"] == "get_tuple"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == (
        "langgraph.checkpoint.redis_shallow.errors.StorageError"
    )
    assert span.attributes[tel.ERROR_CAUSE] == "redis.exceptions.ConnectionError"
    assert span.attributes[tel.ROUND_TRIPS] == 1  # retries are redis-py's own
    # with the opt-in, the message and an exception event are recorded
    assert thread_id in span.status.description
    assert [e.name for e in span.events] == ["exception"]


async def test_no_search_module_is_logged(
    prefix: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger=LOGGER)
    with RedisServer(modules=False) as server:
        async with AsyncShallowRedisSaver.from_conn_string(
            server.url, checkpoint_prefix=f"{prefix}:cp"
        ) as saver:
            await saver.asetup()
    found = [r for r in caplog.records if "no Search module" in r.getMessage()]
    assert len(found) == 1 and found[0].levelno == logging.INFO


async def test_tracing_off_never_loads_opentelemetry(
    redis_url: str, prefix: str, thread_id: str, monkeypatch: pytest.MonkeyPatch
):
    def refuse() -> None:
        raise AssertionError("opentelemetry loaded with tracing=False")

    monkeypatch.setattr(tel, "_load_otel", refuse)
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url,
        **saver_prefixes(prefix),
        tracing=False,
    ) as saver:
        assert not saver._telemetry.enabled
        config = cfg(thread_id)
        cp = _checkpoint(1)
        await saver.aput(config, cp, {}, cp["channel_versions"])
        assert await saver.aget_tuple(config) is not None
        # the other API (on the async saver: the sync one) inherits it
        assert saver.get_tuple(config) is not None
        await drop(saver, prefix)


@pytest.mark.parametrize("name", ["tracing", "trace_thread_ids"])
async def test_flags_must_be_bools(redis_url: str, name: str):
    with pytest.raises(InvalidConfigError, match=f"^{name} must be a bool, got 'yes'$"):
        AsyncShallowRedisSaver(redis_url, **{name: "yes"})
