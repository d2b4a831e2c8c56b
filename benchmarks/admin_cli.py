"""How long the admin commands take on 1,000 threads (docs/operations.md).

    python benchmarks/admin_cli.py            # Redis 8.2 with Search
    python benchmarks/admin_cli.py plain      # the same without modules

Writes 1,000 threads (a chat graph with a subgraph, paused at an interrupt:
two namespaces each, a ~230-character question), then runs ``stats --scan``,
``stats``, ``threads`` (100 rows), ``export`` (gzip), ``import`` of that
file onto itself (every thread already identical) and into fresh prefixes,
in-process, three times each. Prints medians.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

from tests.cli_support import cfg, review_graph  # noqa: E402

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver  # noqa: E402
from langgraph.checkpoint.redis_shallow.cli import main  # noqa: E402
from redis_server import RedisServer  # noqa: E402

THREADS = 1000
RUNS = 3


def run() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "modules"
    backup = os.path.join(tempfile.mkdtemp(), "backup.jsonl.gz")
    with RedisServer(kind=kind) as srv:
        with ShallowRedisSaver.from_conn_string(srv.url) as saver:
            saver.setup()
            graph = review_graph(saver)
            for i in range(THREADS):
                graph.invoke(
                    {"messages": [("user", f"question {i} " + "x" * 220)]},
                    cfg(f"t{i}"),
                )
        commands: list[tuple[str, list[list[str]]]] = [
            ("stats --scan", [["stats", "--scan"]] * RUNS),
            ("stats", [["stats"]] * RUNS),
            ("threads (100 rows)", [["threads"]] * RUNS),
            ("export", [["export", "--out", backup]] * RUNS),
            ("import, all identical", [["import", backup]] * RUNS),
            (
                "import into fresh prefixes",
                [
                    ["--checkpoint-prefix", f"new{k}:cp",
                     "--checkpoint-write-prefix", f"new{k}:w", "import", backup]
                    for k in range(RUNS)
                ],
            ),
        ]  # fmt: skip
        print(f"{kind}: {THREADS} threads")
        for name, runs in commands:
            times = []
            for argv in runs:
                start = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    status = main(["--url", srv.url, *argv])
                times.append(time.perf_counter() - start)
                assert status == 0, (name, status)
            print(f"  {name:<28} median {statistics.median(times):.2f} s of {RUNS}")
        print(f"  backup file                  {os.path.getsize(backup):,} bytes")


if __name__ == "__main__":
    run()
