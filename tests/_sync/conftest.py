# This file is generated from tests/_async/conftest.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""Fixtures of the async tests; generated into ``tests/_sync/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from tests._io_sync import Redis, RoundTrips, counting_client
from tests.builders import saver_prefixes


@pytest.fixture
def client(redis_url: str) -> Iterator[Redis]:
    """A plain client of the session's server."""
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def saver(redis_url: str, prefix: str) -> Iterator[ShallowRedisSaver]:
    """A set-up saver with key prefixes of its own; its keys are removed after."""
    with ShallowRedisSaver.from_conn_string(
        redis_url, **saver_prefixes(prefix)
    ) as saver:
        saver.setup()
        yield saver
        drop(saver, prefix)


@pytest.fixture(params=[1, 2, 3, 10], ids=lambda k: f"keep_last={k}")
def window_saver(
    request: pytest.FixtureRequest, redis_url: str, prefix: str
) -> Iterator[ShallowRedisSaver]:
    """A set-up saver keeping the last 1, 2, 3 or 10 checkpoints."""
    with ShallowRedisSaver.from_conn_string(
        redis_url, keep_last=request.param, **saver_prefixes(prefix)
    ) as saver:
        saver.setup()
        yield saver
        drop(saver, prefix)


@pytest.fixture
def counted(
    redis_url: str, prefix: str
) -> Iterator[tuple[ShallowRedisSaver, RoundTrips]]:
    """A set-up saver on a client that counts its round trips."""
    client, trips = counting_client(redis_url)
    saver = ShallowRedisSaver(redis_client=client, **saver_prefixes(prefix))
    saver.setup()
    trips.reset()
    yield saver, trips
    drop(saver, prefix)
    client.close()


def drop(saver: ShallowRedisSaver, prefix: str) -> None:
    """Remove every key and the index a test's saver made."""
    client = saver.client
    keys = [k for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        client.delete(*keys)
    try:
        client.execute_command("FT.DROPINDEX", saver.keys.index_name)
    except Exception:
        pass  # no Search module, or no index
