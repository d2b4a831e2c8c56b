"""LangGraph's checkpointer conformance suite, run against both savers.

Every test of ``langgraph-checkpoint-conformance`` runs once per saver, as
``test_conformance[<saver>-<capability>-<conformance test>]``, each on a fresh
set-up saver with key prefixes of its own:

- ``AsyncShallowRedisSaver`` directly;
- ``ShallowRedisSaver`` through ``SyncSaverAdapter``, a test-only shim that
  exposes the async method names the suite awaits by calling the sync
  saver's own methods (the package itself never bridges the two APIs).

The tests a saver keeping only the latest checkpoint cannot pass are listed
with their reason in ``tests/conformance_exclusions.py`` (``BY_DESIGN``) and
run as strict expected failures, as are, on a server without the Search
module only, those listed in ``NEEDS_SEARCH`` (which must then fail with
``SearchUnavailableError``). Everything else must pass.

``test_validate_report`` also runs the suite through its own entry point
(``checkpointer_test`` + ``validate``), which detects the capabilities a saver
implements, and prints the suite's report (shown by ``pytest -rA``).

This file is written by hand (not generated): the sync saver is exercised
through the adapter here, in the async test.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

pytest.register_assert_rewrite("langgraph.checkpoint.conformance")

from langchain_core.runnables import RunnableConfig  # noqa: E402
from langgraph.checkpoint.base import (  # noqa: E402
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.conformance import checkpointer_test, validate  # noqa: E402
from langgraph.checkpoint.conformance.spec import (  # noqa: E402
    test_copy_thread,
    test_delete_for_runs,
    test_delete_thread,
    test_get_tuple,
    test_list,
    test_prune,
    test_put,
    test_put_writes,
)

from langgraph.checkpoint.redis_shallow import (  # noqa: E402
    AsyncShallowRedisSaver,
    SearchUnavailableError,
    ShallowRedisSaver,
    StaleCheckpointError,
)
from tests._async.conftest import drop as adrop  # noqa: E402
from tests._sync.conftest import drop as sdrop  # noqa: E402
from tests.builders import saver_prefixes  # noqa: E402
from tests.conformance_exclusions import (  # noqa: E402
    BY_DESIGN,
    NEEDS_SEARCH,
    NEEDS_SEARCH_IN_WINDOW,
    WINDOW_GAPS,
)

ConformanceTest = Callable[[BaseCheckpointSaver[Any]], Coroutine[Any, Any, None]]

# capability -> the suite's tests of it, in the suite's order
SUITE: dict[str, list[ConformanceTest]] = {
    "put": test_put.ALL_PUT_TESTS,
    "put_writes": test_put_writes.ALL_PUT_WRITES_TESTS,
    "get_tuple": test_get_tuple.ALL_GET_TUPLE_TESTS,
    "list": test_list.ALL_LIST_TESTS,
    "delete_thread": test_delete_thread.ALL_DELETE_THREAD_TESTS,
    "delete_for_runs": test_delete_for_runs.ALL_DELETE_FOR_RUNS_TESTS,
    "copy_thread": test_copy_thread.ALL_COPY_THREAD_TESTS,
    "prune": test_prune.ALL_PRUNE_TESTS,
}
CASES = [(cap, fn) for cap, fns in SUITE.items() for fn in fns]
ALL_NAMES = {fn.__name__ for _, fn in CASES}

VARIANTS = ("AsyncShallowRedisSaver", "ShallowRedisSaver")

# the saver methods the suite's capabilities map to (async name, sync name)
METHODS = {
    "put": ("aput", "put"),
    "put_writes": ("aput_writes", "put_writes"),
    "get_tuple": ("aget_tuple", "get_tuple"),
    "list": ("alist", "list"),
    "delete_thread": ("adelete_thread", "delete_thread"),
    "delete_for_runs": ("adelete_for_runs", "delete_for_runs"),
    "copy_thread": ("acopy_thread", "copy_thread"),
    "prune": ("aprune", "prune"),
}


class SyncSaverAdapter(BaseCheckpointSaver[str]):
    """Test-only: the async method names the suite awaits, each calling the
    sync saver's method of the same meaning, nothing more."""

    def __init__(self, saver: ShallowRedisSaver) -> None:
        super().__init__(serde=saver.serde)
        self.saver = saver

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.saver.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for tup in self.saver.list(config, filter=filter, before=before, limit=limit):
            yield tup

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.saver.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.saver.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.saver.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.saver.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.saver.copy_thread(source_thread_id, target_thread_id)

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest"
    ) -> None:
        self.saver.prune(thread_ids, strategy=strategy)


@asynccontextmanager
async def saver_under_test(
    variant: str, redis_url: str, prefix: str, keep_last: int = 1
) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """A set-up saver of the variant with its own prefixes; its keys are
    removed after."""
    prefixes = saver_prefixes(prefix)
    if variant == "AsyncShallowRedisSaver":
        asaver = AsyncShallowRedisSaver(redis_url, keep_last=keep_last, **prefixes)
        try:
            await asaver.asetup()
            yield asaver
        finally:
            await adrop(asaver, prefix)
            await asaver.aclose()
    else:
        saver = ShallowRedisSaver(redis_url, keep_last=keep_last, **prefixes)
        try:
            saver.setup()
            yield SyncSaverAdapter(saver)
        finally:
            sdrop(saver, prefix)
            saver.close()


def _in_suite(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc`` is the conformance suite's code."""
    tb = exc.__traceback__
    module = None
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__")
        tb = tb.tb_next
    return bool(module and module.startswith("langgraph.checkpoint.conformance."))


#: The history window the suite runs with: today's saver (1), and a window
#: larger than any of its cases (no case is failed by design there).
WINDOWS = (1, 10)


def _params() -> Iterator[Any]:
    for keep_last, variant in itertools.product(WINDOWS, VARIANTS):
        for cap, fn in CASES:
            name = fn.__name__
            marks = []
            if name in WINDOW_GAPS and keep_last > 1:
                marks.append(
                    pytest.mark.xfail(
                        strict=True,
                        # without Search, delete_for_runs cannot find runs
                        raises=(AssertionError, SearchUnavailableError),
                        reason=f"NOT YET: {WINDOW_GAPS[name]}",
                    )
                )
            if name in BY_DESIGN and keep_last == 1:
                marks.append(
                    pytest.mark.xfail(
                        strict=True,
                        # reading a superseded checkpoint back by its id
                        # raises StaleCheckpointError (see get_tuple)
                        raises=(AssertionError, StaleCheckpointError),
                        reason=f"BY DESIGN: {BY_DESIGN[name]}",
                    )
                )
            yield pytest.param(
                variant,
                fn,
                keep_last,
                id=f"{variant}-keep_last={keep_last}-{cap}-{name}",
                marks=marks,
            )


@pytest.mark.parametrize(("variant", "conformance_test", "keep_last"), list(_params()))
async def test_conformance(
    variant: str,
    conformance_test: ConformanceTest,
    keep_last: int,
    redis_url: str,
    prefix: str,
    has_search: bool,
    request: pytest.FixtureRequest,
) -> None:
    """One conformance test on a fresh saver of one variant."""
    name = conformance_test.__name__
    needs_search = dict(NEEDS_SEARCH)
    if keep_last > 1:
        needs_search.update(NEEDS_SEARCH_IN_WINDOW)
    if name in needs_search and not has_search:
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                raises=SearchUnavailableError,
                reason=f"NEEDS SEARCH (server has none): {needs_search[name]}",
            )
        )
    async with saver_under_test(variant, redis_url, prefix, keep_last) as saver:
        try:
            await conformance_test(saver)
        except AssertionError as exc:
            if name in BY_DESIGN and keep_last == 1 and not _in_suite(exc):
                # a by-design test must fail on the suite's own assertion,
                # not on an assertion inside the saver
                raise RuntimeError(f"{name} failed outside the suite: {exc!r}") from exc
            raise


def expected_failures(has_search: bool) -> set[str]:
    """Names of the conformance tests expected to fail on this server."""
    return set(BY_DESIGN) | (set() if has_search else set(NEEDS_SEARCH))


CONFORMANCE_SUMMARY: list[str] = []
"""One line per variant, printed at the end of the run (tests/conftest.py)."""


@pytest.mark.parametrize("variant", VARIANTS)
async def test_validate_report(
    variant: str, redis_url: str, prefix: str, has_search: bool
) -> None:
    """The suite's own runner detects every capability and fails exactly the
    expected tests; its report is printed."""
    counter = itertools.count()

    @checkpointer_test(name=variant)
    async def factory() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        async with saver_under_test(
            variant, redis_url, f"{prefix}-{next(counter)}"
        ) as saver:
            yield saver

    report = await validate(factory)
    report.print_report()
    failed = {
        failure.split(":", 1)[0]
        for result in report.results.values()
        for failure in result.failures
    }
    expected = expected_failures(has_search)
    passed = sum(r.tests_passed for r in report.results.values())
    summary = (
        f"{variant}: {passed} passed, {len(failed & expected)} expected failures "
        f"({len(failed & set(BY_DESIGN))} by design, "
        f"{len(failed & set(NEEDS_SEARCH))} need Search)"
    )
    print(summary)
    CONFORMANCE_SUMMARY.append(summary)
    assert {cap for cap, r in report.results.items() if not r.detected} == set()
    assert failed == expected, (
        f"unexpected failures: {sorted(failed - expected)}; "
        f"expected failures that passed: {sorted(expected - failed)}"
    )
    assert passed == len(ALL_NAMES) - len(expected)


@pytest.mark.parametrize(
    ("saver_class", "which"),
    [(AsyncShallowRedisSaver, 0), (ShallowRedisSaver, 1)],
    ids=VARIANTS,
)
def test_saver_implements_every_capability(saver_class: type, which: int) -> None:
    """Each saver class itself overrides every method the suite tests (the
    adapter hides the sync saver's own methods from the suite's detection)."""
    missing = [
        names[which]
        for names in METHODS.values()
        if getattr(saver_class, names[which])
        is getattr(BaseCheckpointSaver, names[which])
    ]
    assert missing == []


def test_exclusions_name_conformance_tests() -> None:
    """Every excluded name is a test of the installed suite (no stale entries)."""
    assert set(BY_DESIGN) - ALL_NAMES == set()
    assert set(NEEDS_SEARCH) - ALL_NAMES == set()
    assert set(METHODS) == set(SUITE)
