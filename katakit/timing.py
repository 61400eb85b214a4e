"""Robust speed ratios for katas whose subject is a speedup.

A single timing on a shared 2-core machine is noise. `speedup` warms both functions up,
alternates them so a slow spell hits both alike, keeps the minimum of N runs of each (the
run least disturbed by the rest of the machine), and `assert_speedup` retries the whole
measurement before it calls a kata too slow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Speedup:
    baseline_s: float
    candidate_s: float

    @property
    def ratio(self) -> float:
        return self.baseline_s / self.candidate_s if self.candidate_s > 0 else float("inf")

    def __str__(self):
        return (f"baseline {self.baseline_s * 1e3:.2f} ms, yours {self.candidate_s * 1e3:.2f} ms "
                f"-> {self.ratio:.1f}x")


def _run_once(function: Callable[[], object], sync: Callable[[object], object]) -> float:
    start = time.perf_counter()
    sync(function())
    return time.perf_counter() - start


def speedup(candidate: Callable[[], object], baseline: Callable[[], object], *, runs: int = 7,
            warmup: int = 2, sync: Callable[[object], object] = lambda result: result) -> Speedup:
    """Minimum time of `runs` alternating calls of each, after `warmup` calls of each.

    `sync` is applied to each result before the clock stops: on a GPU pass something that waits
    for the device (for example ``lambda t: t.numpy()``), or the timer reads launch time only.
    """
    for _ in range(warmup):
        sync(baseline())
        sync(candidate())
    baseline_times, candidate_times = [], []
    for _ in range(runs):
        baseline_times.append(_run_once(baseline, sync))
        candidate_times.append(_run_once(candidate, sync))
    return Speedup(min(baseline_times), min(candidate_times))


def assert_speedup(candidate, baseline, *, at_least: float, attempts: int = 3, what: str = "", **options) -> Speedup:
    """Fail unless `candidate` is at least `at_least` times faster, in any of `attempts` measurements."""
    measured = []
    for _ in range(attempts):
        result = speedup(candidate, baseline, **options)
        measured.append(result)
        if result.ratio >= at_least:
            return result
    figures = "; ".join(str(m) for m in measured)
    raise AssertionError(f"{what or 'your function'} is not {at_least:g}x faster than the baseline "
                         f"in any of {attempts} measurements: {figures}")
