"""Small helpers: timing summaries."""

from __future__ import annotations

import gc
import math
import statistics
from typing import Any


def summary(samples_ns: list[int]) -> dict[str, Any]:
    """Median, p99, mean and min in milliseconds, plus the sample count."""
    ms = sorted(s / 1e6 for s in samples_ns)
    n = len(ms)
    return {
        "median_ms": statistics.median(ms),
        "p99_ms": ms[max(0, math.ceil(0.99 * n) - 1)],
        "mean_ms": statistics.fmean(ms),
        "min_ms": ms[0],
        "samples": n,
    }


def settle() -> None:
    """Collect garbage before a timed loop, so one loop does not pay for the
    previous one's garbage."""
    gc.collect()
