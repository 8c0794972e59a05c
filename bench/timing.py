"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any


def timed(fn: Callable[[Any], Any], items: Iterable[Any]) -> tuple[list[Any], list[float]]:
    """Call ``fn`` on each item: (its results, the milliseconds each call took)."""
    results, ms = [], []
    for item in items:
        t0 = time.perf_counter()
        results.append(fn(item))
        ms.append((time.perf_counter() - t0) * 1000)
    return results, ms


def p50_p90(ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[int(0.9 * len(ordered))]


def reference_ms() -> float:
    """A fixed single-threaded workload, timed (ms): the same machine runs it in a few ms on a quiet day and
    slower when its cores are shared. Pure Python, so no library's thread pool changes it from one bench to
    another."""
    return statistics.median(timed(lambda _: sum(i * i for i in range(100_000)), range(40))[1][5:])


def machine_reference() -> str:
    """``reference_ms`` as printed beside the timings, so that figures of different days can be compared
    (divide by it)."""
    return f"machine reference: {reference_ms():.2f} ms (a fixed pure-Python loop, median of 35)"
