"""Write a dataset of ``langgraph-checkpoint-redis`` 0.5.2 threads to migrate.

    python benchmarks/upstream_dataset.py REDIS_URL --threads 10000

Each thread gets two checkpoints with pending writes on both, written by
upstream's own ``put`` / ``put_writes`` (``tests/upstream_data.py``): the
threads are split 40/30/30 between upstream's sync ``ShallowRedisSaver``,
its ``AsyncShallowRedisSaver`` and its full ``RedisSaver``, under upstream's
default prefixes. Needs ``langgraph-checkpoint-redis==0.5.2`` (the ``test``
extra). Used for the 10,000-thread run quoted in ``docs/migration.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import upstream_data


def main() -> int:
    """Write the dataset; print what was written and how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="Redis with RedisJSON and RediSearch")
    parser.add_argument("--threads", type=int, default=10_000)
    args = parser.parse_args()
    n = args.threads
    counts = {"sync_shallow": n * 4 // 10, "async_shallow": n * 3 // 10}
    counts["full"] = n - sum(counts.values())
    run = uuid.uuid4().hex[:6]
    ids = {k: [f"{k}-{run}-{i:05d}" for i in range(c)] for k, c in counts.items()}
    # upstream_data writes under the prefixes of a test; here: upstream's defaults
    upstream_data.upstream_prefixes = lambda prefix: ("checkpoint", "checkpoint_write")
    start = time.monotonic()
    upstream_data.write_bulk(args.url, "", ids)
    print(f"wrote {counts} in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
