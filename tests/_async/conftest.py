"""Fixtures of the async tests; generated into ``tests/_sync/conftest.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from tests._io_async import AsyncRedis, RoundTrips, counting_client
from tests.builders import saver_prefixes


@pytest.fixture
async def aclient(redis_url: str) -> AsyncIterator[AsyncRedis]:
    """A plain client of the session's server."""
    client = AsyncRedis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def asaver(redis_url: str, prefix: str) -> AsyncIterator[AsyncShallowRedisSaver]:
    """A set-up saver with key prefixes of its own; its keys are removed after."""
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, **saver_prefixes(prefix)
    ) as saver:
        await saver.asetup()
        yield saver
        await drop(saver, prefix)


@pytest.fixture(params=[1, 2, 3, 10], ids=lambda k: f"keep_last={k}")
async def window_saver(
    request: pytest.FixtureRequest, redis_url: str, prefix: str
) -> AsyncIterator[AsyncShallowRedisSaver]:
    """A set-up saver keeping the last 1, 2, 3 or 10 checkpoints."""
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, keep_last=request.param, **saver_prefixes(prefix)
    ) as saver:
        await saver.asetup()
        yield saver
        await drop(saver, prefix)


@pytest.fixture
async def counted(
    redis_url: str, prefix: str
) -> AsyncIterator[tuple[AsyncShallowRedisSaver, RoundTrips]]:
    """A set-up saver on a client that counts its round trips."""
    client, trips = counting_client(redis_url)
    saver = AsyncShallowRedisSaver(redis_client=client, **saver_prefixes(prefix))
    await saver.asetup()
    trips.reset()
    yield saver, trips
    await drop(saver, prefix)
    await client.aclose()


async def drop(saver: AsyncShallowRedisSaver, prefix: str) -> None:
    """Remove every key and the index a test's saver made."""
    client = saver.client
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    try:
        await client.execute_command("FT.DROPINDEX", saver.keys.index_name)
    except Exception:
        pass  # no Search module, or no index
