"""``delete`` and ``prune``: the saver's ``delete_thread``, ``delete_for_runs``
and ``prune``, with a confirmation on a terminal."""

from __future__ import annotations

import argparse
from typing import Any

from .. import inventory
from .._sync.saver import ShallowRedisSaver
from ..config import PRUNE_STRATEGIES
from ._common import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    Progress,
    UsageError,
    confirm,
    emit,
    open_saver,
)

__all__ = ["add_parser", "run_delete", "run_prune"]


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``delete`` and ``prune``."""
    p = commands.add_parser(
        "delete",
        parents=parents,
        help="delete threads, or undo runs",
        description="Delete whole threads (every namespace, checkpoint and "
        "pending write: the saver's delete_thread), or with --run-id undo what "
        "those runs wrote (the saver's delete_for_runs, as the LangGraph "
        "server's rollback does; needs the Search module). Asks for "
        "confirmation on a terminal; --yes skips it and is required when stdin "
        "is not a terminal.",
    )
    p.add_argument("threads", nargs="*", metavar="THREAD", help="thread ids")
    p.add_argument(
        "--run-id",
        action="append",
        default=[],
        metavar="RUN",
        help="undo this run (repeatable) instead of deleting named threads",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.set_defaults(run=run_delete)

    p = commands.add_parser(
        "prune",
        parents=parents,
        help="drop what get_tuple never returns, or delete threads",
        description="The saver's prune. --strategy keep_latest (default) keeps "
        "each namespace's checkpoint and its pending writes and drops the rest "
        "(writes of other checkpoints, namespaces without a checkpoint, "
        "rollback bases); --strategy delete (or delete_all, the same) deletes "
        "the threads.",
    )
    p.add_argument("threads", nargs="*", metavar="THREAD", help="thread ids")
    p.add_argument("--all", action="store_true", help="every thread (found by SCAN)")
    p.add_argument(
        "--strategy",
        choices=PRUNE_STRATEGIES,
        default="keep_latest",
        help="what to keep (default: %(default)s)",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.set_defaults(run=run_prune)


def existing(saver: ShallowRedisSaver, thread_ids: list[str]) -> list[bool]:
    """Whether each thread exists (has a registry): one pipelined round trip."""
    pipe = saver.client.pipeline(transaction=False)
    for tid in thread_ids:
        pipe.exists(saver.keys.registry(tid))
    return [bool(n) for n in pipe.execute()]


def _split(saver: ShallowRedisSaver, names: list[str]) -> tuple[list[str], list[str]]:
    names = list(dict.fromkeys(names))
    flags = existing(saver, names)
    found = [t for t, ok in zip(names, flags, strict=True) if ok]
    missing = [t for t, ok in zip(names, flags, strict=True) if not ok]
    return found, missing


def run_delete(args: argparse.Namespace) -> int:
    """Run ``delete``."""
    if bool(args.threads) == bool(args.run_id):
        raise UsageError("name the threads to delete, or give --run-id, not both")
    with open_saver(args) as saver:
        if args.run_id:
            confirm(
                args,
                f"Undo run(s) {', '.join(args.run_id)}: delete the threads they "
                "created and restore the others to where the runs found them?",
            )
            saver.delete_for_runs(args.run_id)
            emit(
                args,
                {"run_ids": args.run_id, "undone": True},
                [f"undone: run(s) {', '.join(args.run_id)}"],
            )
            return EXIT_OK
        found, missing = _split(saver, args.threads)
        if found:
            confirm(args, f"Delete {len(found)} thread(s): {_names(found)}?")
            for tid in found:
                saver.delete_thread(tid)
    lines = [f"deleted {len(found)} thread(s)"]
    lines += [f"no thread {t!r} (nothing to delete)" for t in missing]
    emit(args, {"deleted": found, "not_found": missing}, lines)
    return EXIT_NOT_FOUND if missing else EXIT_OK


def _names(ids: list[str]) -> str:
    shown = ", ".join(repr(t) for t in ids[:5])
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def run_prune(args: argparse.Namespace) -> int:
    """Run ``prune``."""
    if bool(args.threads) == args.all:
        raise UsageError("name the threads to prune, or give --all, not both")
    deletes = args.strategy != "keep_latest"
    missing: list[str] = []
    done = 0
    progress = Progress("prune")
    with open_saver(args) as saver:
        if args.all:
            if deletes:
                confirm(args, "Delete EVERY thread of this saver?")
            ids = inventory.scan_thread_ids(saver.client, saver.keys)
            for batch in inventory.batched(ids, 100):
                saver.prune(batch, strategy=args.strategy)
                done += len(batch)
                progress.update(f"{done} threads")
        else:
            found, missing = _split(saver, args.threads)
            if found and deletes:
                confirm(args, f"Delete {len(found)} thread(s): {_names(found)}?")
            saver.prune(found, strategy=args.strategy)
            done = len(found)
    progress.done()
    verb = "deleted" if deletes else "pruned (keep_latest)"
    lines = [f"{verb} {done} thread(s)"]
    lines += [f"no thread {t!r}" for t in missing]
    emit(
        args,
        {"strategy": args.strategy, "threads": done, "not_found": missing},
        lines,
    )
    return EXIT_NOT_FOUND if missing else EXIT_OK
