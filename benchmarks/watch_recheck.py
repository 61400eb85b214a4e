"""How fast watch mode answers a save: warm re-checks against cold `pytest` runs, in the same run.

    python benchmarks/watch_recheck.py [--saves 5] [--jobs N] [KATA ...]

For each kata (default: one numpy, one TensorFlow and one torch kata), a scratch copy of the
repository gets the reference solution as the learner's file, so every check runs every test.
Cold: ``python -m pytest tests/test_<id>.py`` in a fresh interpreter, as a learner without
watch mode would run it. Warm: what watch mode does on a save, a forked child of a process that
imported the kata's frameworks once, each kata in a process of its own as a watch session on it
would be; with the default two jobs, a kata whose tests take a while runs them in two shares side
by side (the `runs` column counts the pytest runs of the last warm check, speed tests included).
Saves alternate cold and warm; medians are compared with the goals: at most 1.0 s for a numpy
kata, 2.0 s for a TensorFlow or torch kata. Pass `all` to measure every kata.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from katakit.catalog import load
from katakit.loading import HEAVY_FRAMEWORKS
from katakit.warm import WarmRunner

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KATAS = ("ar_forecast", "tile_broadcast", "top_p")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def goal(kata) -> float:
    return 2.0 if set(HEAVY_FRAMEWORKS) & set(kata.frameworks) else 1.0


def scratch_copy(kata_ids) -> Path:
    copy = Path(tempfile.mkdtemp(prefix="katas-bench-"))
    for name in ("katas.toml", "pyproject.toml", "conftest.py"):
        shutil.copy(ROOT / name, copy / name)
    for folder in ("katas", "solutions", "pitfalls", "tests"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for kata_id in kata_ids:
        shutil.copy(copy / "solutions" / f"{kata_id}.py", copy / "katas" / f"{kata_id}.py")
    return copy


def cold(copy: Path, kata) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", str(kata.test_path(copy).relative_to(copy))],
                   cwd=copy, env=ENV, capture_output=True)
    return time.perf_counter() - started


def measure_one(copy: Path, kata_id: str, saves: int, jobs: int | None) -> dict:
    """One kata, as a watch session started on it measures it: in this (fresh) process."""
    os.chdir(copy)
    kata = load(copy).get(kata_id)
    cold(copy, kata)  # the first run writes bytecode caches; not a save anyone waits for twice
    runner = WarmRunner(copy, jobs=jobs)
    warm_up = runner.warm_up(kata)
    runner.start(kata).wait()  # the first check after starting watch mode
    cold_times, warm_times, runs = [], [], 1
    for _ in range(saves):
        cold_times.append(cold(copy, kata))
        os.utime(kata.stub_path(copy))  # a save
        result = runner.start(kata).wait()
        warm_times.append(result.seconds)
        runs = result.runs
        if result.status != "done":
            sys.exit(f"{kata_id}: the reference solution did not pass in the warm check ({result.status})")
    return {"warm_up": warm_up, "cold": statistics.median(cold_times), "warm": statistics.median(warm_times),
            "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("katas", nargs="*", default=list(DEFAULT_KATAS), help="kata ids (default: %(default)s)")
    parser.add_argument("--saves", type=int, default=5, help="saves measured for each side (default 5)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="test processes side by side, as `katas --jobs` (default: watch mode's, 2 on 2 cores)")
    parser.add_argument("--one", metavar="COPY", help=argparse.SUPPRESS)  # internal: measure in this process
    options = parser.parse_args()
    if options.one:
        print(json.dumps(measure_one(Path(options.one), options.katas[0], options.saves, options.jobs)))
        return 0
    if options.katas == ["all"]:
        options.katas = [kata.id for kata in load(ROOT)]
    copy = scratch_copy(options.katas)
    catalog = load(copy)
    print(f"{'kata':<22} {'frameworks':<24} {'warm-up s':>9} {'cold s':>7} {'warm s':>7} {'runs':>4} {'goal s':>6}  "
          f"verdict")
    all_met = True
    for kata_id in options.katas:
        kata = catalog.get(kata_id)
        # Each kata in a process of its own, as `katas watch <id>` would start (and as watch mode
        # starts afresh when the next kata needs other frameworks).
        jobs = ["--jobs", str(options.jobs)] if options.jobs else []
        done = subprocess.run([sys.executable, __file__, "--one", str(copy), "--saves", str(options.saves), *jobs,
                               kata_id],
                              env=ENV, capture_output=True, text=True)
        if done.returncode:
            sys.exit(done.stderr or done.stdout)
        figures = json.loads(done.stdout)
        met = figures["warm"] <= goal(kata)
        all_met &= met
        print(f"{kata_id:<22} {','.join(kata.frameworks) or '-':<24} {figures['warm_up']:>9.2f} "
              f"{figures['cold']:>7.2f} {figures['warm']:>7.2f} {figures['runs']:>4} {goal(kata):>6.1f}  "
              f"{'OK' if met else 'OVER THE GOAL'} ({figures['cold'] / figures['warm']:.1f}x faster than cold)",
              flush=True)
    shutil.rmtree(copy, ignore_errors=True)
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
