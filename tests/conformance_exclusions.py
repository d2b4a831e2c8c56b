"""The conformance tests a shallow saver is expected to fail, and why.

``tests/test_conformance.py`` runs every test of ``langgraph-checkpoint-conformance``
against both savers. The tests named here still run: they are marked
``xfail(strict=True)``, so one that starts passing fails the run and must be
removed from this file. Every test not named here must pass.

Keys are the conformance suite's own test function names.
"""

from __future__ import annotations

_ONE = "the saver keeps one checkpoint per (thread, namespace)"

BY_DESIGN: dict[str, str] = {
    # -- put ---------------------------------------------------------------
    "test_put_multiple_checkpoints_same_thread": (
        f"reads back each of 3 sequential checkpoints by id; {_ONE}, so the "
        "first two are gone after the third put (reading one raises "
        "StaleCheckpointError)"
    ),
    "test_put_parent_config": (
        "expects parent_config to name the previous checkpoint; a shallow "
        "saver keeps no lineage and always returns parent_config=None "
        "(the parent is not stored, a parent_config would dangle)"
    ),
    "test_put_incremental_channel_update": (
        "after the 2nd put reads the 1st checkpoint back by id; "
        f"{_ONE}, so it is gone: StaleCheckpointError (the 2nd checkpoint's "
        "mixed-version values are read correctly before that)"
    ),
    # -- get_tuple ---------------------------------------------------------
    "test_get_tuple_specific_checkpoint_id": (
        "fetches the 1st checkpoint by id after a 2nd put on the thread; "
        f"{_ONE}, so it raises StaleCheckpointError"
    ),
    "test_get_tuple_parent_config": (
        "expects the 2nd checkpoint's parent_config to name the 1st; a "
        "shallow saver keeps no lineage (parent_config is always None)"
    ),
    # -- list --------------------------------------------------------------
    "test_list_all": (f"expects 4 checkpoints of one thread and namespace; {_ONE}"),
    "test_list_by_thread": (
        f"expects 4 checkpoints of one thread and namespace; {_ONE}"
    ),
    "test_list_ordering": (
        f"expects 4 checkpoints of one namespace newest first; {_ONE}"
    ),
    "test_list_metadata_filter_single_key": (
        "expects the 2 of 4 checkpoints (steps 0, 2) with source='input'; "
        f"{_ONE}: only step 3 (source='loop') is left"
    ),
    "test_list_metadata_filter_step": (
        f"expects the checkpoint of step 1 out of 4; {_ONE}: only step 3 is left"
    ),
    "test_list_metadata_custom_keys": (
        "filters score=42, held by the 1st of 2 checkpoints of one namespace; "
        f"{_ONE}: only score=99 is left"
    ),
    "test_list_before": (
        "expects the 2 checkpoints older than the 3rd of 4; "
        f"{_ONE}: only the 4th is left"
    ),
    "test_list_limit": (
        f"expects limit=2 to return 2 checkpoints of one namespace; {_ONE} "
        "(limit=1 is checked first and passes)"
    ),
    "test_list_limit_plus_before": (
        "expects the 3rd of 4 checkpoints (before the 4th); "
        f"{_ONE}: only the 4th is left"
    ),
    "test_list_combined_thread_and_filter": (
        "expects the 2 of 4 checkpoints (steps 1, 3) with source='loop'; "
        f"{_ONE}: only step 3 is left"
    ),
    # -- delete_for_runs ---------------------------------------------------
    "test_delete_for_runs_single": (
        "before deleting, lists one namespace expecting the checkpoints of "
        f"2 runs written one after the other; {_ONE}"
    ),
    "test_delete_for_runs_multiple": (
        "before deleting, lists one namespace expecting the checkpoints of "
        f"3 runs written one after the other; {_ONE}"
    ),
    "test_delete_for_runs_preserves_other_runs": (
        "before deleting, lists one namespace expecting the checkpoints of "
        f"2 runs written one after the other; {_ONE}"
    ),
    # -- copy_thread -------------------------------------------------------
    "test_copy_thread_basic": (
        "expects the target to receive 3 checkpoints of one namespace; "
        f"{_ONE}, so the source holds (and the target gets) 1"
    ),
}
"""Conformance tests a saver keeping only the latest checkpoint cannot pass."""

_OLDER_RUN = (
    "deletes a run that wrote an older checkpoint of the window, not the "
    "newest one: the search index finds a namespace by its newest "
    "checkpoint's run, so delete_for_runs removes a run only while it wrote "
    "the newest checkpoint (the LangGraph server's rollback of the running "
    "run); not done yet (issue 18)"
)

WINDOW_GAPS: dict[str, str] = {
    "test_delete_for_runs_single": _OLDER_RUN,
    "test_delete_for_runs_multiple": _OLDER_RUN,
}
"""Conformance tests that fail with ``keep_last`` above 1, and why: work
left, not a design decision."""

_BY_RUN = (
    "delete_for_runs finds the checkpoints of a run by their run_id metadata "
    "across all threads, through the search index"
)

NEEDS_SEARCH: dict[str, str] = {
    "test_delete_for_runs_removes_writes": _BY_RUN,
    "test_delete_for_runs_nonexistent_noop": (
        f"{_BY_RUN}; without it the saver cannot tell that no checkpoint "
        "has the run id, so it refuses rather than silently doing nothing"
    ),
    "test_delete_for_runs_across_namespaces": _BY_RUN,
}
"""Conformance tests that need the Search module (listing across threads,
finding checkpoints by metadata): on a server without it they must raise
``SearchUnavailableError`` (and are expected failures there only)."""

NEEDS_SEARCH_IN_WINDOW: dict[str, str] = {
    "test_delete_for_runs_preserves_other_runs": _BY_RUN,
}
"""Tests failed by design with ``keep_last=1`` that with a window reach
``delete_for_runs``, and so need the Search module as well."""

if set(BY_DESIGN) & set(NEEDS_SEARCH):  # pragma: no cover - guards the lists
    raise AssertionError(
        "a test is both by design and needs search: "
        f"{sorted(set(BY_DESIGN) & set(NEEDS_SEARCH))}"
    )
