"""The savers under test, each with its own counting Redis client."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from counting import Counter, async_client, sync_client
from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver, ShallowRedisSaver

UPSTREAM_VERSION = "0.5.2"


@dataclass
class Entry:
    key: str  # "ours_async", "plain_async", "upstream_sync", "memory_async", ...
    label: str
    family: str  # "ours" | "plain" (ours, compression off) | "upstream" | "memory"
    mode: str  # "async" | "sync"
    saver: Any
    counter: Counter | None = None
    client: Any = None

    @property
    def is_async(self) -> bool:
        return self.mode == "async"


def upstream_missing() -> str | None:
    """``None`` if langgraph-checkpoint-redis's shallow savers import, else
    why not."""
    try:
        import langgraph.checkpoint.redis.ashallow
        import langgraph.checkpoint.redis.shallow  # noqa: F401
    except Exception as exc:
        return f"langgraph-checkpoint-redis not importable: {type(exc).__name__}: {exc}"
    return None


def upstream_version() -> str | None:
    try:
        return version("langgraph-checkpoint-redis")
    except PackageNotFoundError:
        return None


async def open_savers(url: str, with_upstream: bool) -> list[Entry]:
    """Create and set up every saver; distinct prefixes for ours."""
    entries: list[Entry] = []

    client, counter = async_client(url)
    saver: Any = AsyncShallowRedisSaver(
        redis_client=client,
        checkpoint_prefix="bench:oa:cp",
        checkpoint_write_prefix="bench:oa:w",
    )
    await saver.asetup()
    entries.append(
        Entry("ours_async", "ours async", "ours", "async", saver, counter, client)
    )

    client, counter = sync_client(url)
    saver = ShallowRedisSaver(
        redis_client=client,
        checkpoint_prefix="bench:os:cp",
        checkpoint_write_prefix="bench:os:w",
    )
    saver.setup()
    entries.append(
        Entry("ours_sync", "ours sync", "ours", "sync", saver, counter, client)
    )

    # Ours with compression off: the same code storing every value plain,
    # so one run shows what compression costs and saves.
    client, counter = async_client(url)
    saver = AsyncShallowRedisSaver(
        redis_client=client,
        checkpoint_prefix="bench:pa:cp",
        checkpoint_write_prefix="bench:pa:w",
        compression=False,
    )
    await saver.asetup()
    entries.append(
        Entry(
            "plain_async",
            "uncompressed async",
            "plain",
            "async",
            saver,
            counter,
            client,
        )
    )

    client, counter = sync_client(url)
    saver = ShallowRedisSaver(
        redis_client=client,
        checkpoint_prefix="bench:ps:cp",
        checkpoint_write_prefix="bench:ps:w",
        compression=False,
    )
    saver.setup()
    entries.append(
        Entry(
            "plain_sync", "uncompressed sync", "plain", "sync", saver, counter, client
        )
    )

    if with_upstream:
        # Default prefixes, as upstream's users run it (its custom-prefix
        # paths have known defects); thread ids keep the savers apart.
        from langgraph.checkpoint.redis.ashallow import (
            AsyncShallowRedisSaver as UpstreamAsync,
        )
        from langgraph.checkpoint.redis.shallow import (
            ShallowRedisSaver as UpstreamSync,
        )

        client, counter = async_client(url)
        saver = UpstreamAsync(redis_client=client)
        await saver.asetup()
        entries.append(
            Entry(
                "upstream_async",
                "upstream async",
                "upstream",
                "async",
                saver,
                counter,
                client,
            )
        )
        client, counter = sync_client(url)
        saver = UpstreamSync(redis_client=client)
        saver.setup()
        entries.append(
            Entry(
                "upstream_sync",
                "upstream sync",
                "upstream",
                "sync",
                saver,
                counter,
                client,
            )
        )

    entries.append(
        Entry("memory_async", "InMemory async", "memory", "async", InMemorySaver())
    )
    entries.append(
        Entry("memory_sync", "InMemory sync", "memory", "sync", InMemorySaver())
    )
    return entries


def describe(exc: BaseException) -> str:
    """One line for a saver's failure, recorded instead of ending the run."""
    return f"{type(exc).__name__}: {exc}"[:300]


async def close_savers(entries: list[Entry]) -> None:
    for entry in entries:
        if entry.client is None:
            continue
        if entry.is_async:
            await entry.client.aclose()
            await entry.client.connection_pool.disconnect()
        else:
            entry.client.close()
            entry.client.connection_pool.disconnect()
