"""How fast watch mode answers a save: warm re-checks against cold `pytest` runs, in the same run.

    python benchmarks/watch_recheck.py [--saves 5] [KATA ...]

For each kata (default: one numpy, one TensorFlow and one torch kata), a scratch copy of the
repository gets the reference solution as the learner's file, so every check runs every test.
Cold: ``python -m pytest tests/test_<id>.py`` in a fresh interpreter, as a learner without
watch mode would run it. Warm: what watch mode does on a save, a forked child of a process that
imported the kata's frameworks once. Saves alternate cold and warm; medians are compared with
the goals: at most 1.0 s for a numpy kata, 2.0 s for a TensorFlow or torch kata.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from katakit.catalog import load
from katakit.warm import WarmRunner

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KATAS = ("ar_forecast", "tile_broadcast", "top_p")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def goal(kata) -> float:
    return 2.0 if {"torch", "tensorflow"} & set(kata.frameworks) else 1.0


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("katas", nargs="*", default=list(DEFAULT_KATAS), help="kata ids (default: %(default)s)")
    parser.add_argument("--saves", type=int, default=5, help="saves measured for each side (default 5)")
    options = parser.parse_args()
    copy = scratch_copy(options.katas)
    os.chdir(copy)
    catalog = load(copy)
    runner = WarmRunner(copy)
    print(f"{'kata':<20} {'frameworks':<18} {'warm-up s':>9} {'cold s':>7} {'warm s':>7} {'goal s':>6}  verdict")
    all_met = True
    for kata_id in options.katas:
        kata = catalog.get(kata_id)
        cold(copy, kata)  # the first run writes bytecode caches; not a save anyone waits for twice
        warm_up = runner.warm_up(kata)
        runner.start(kata).wait()  # the first check after starting watch mode
        cold_times, warm_times = [], []
        for _ in range(options.saves):
            cold_times.append(cold(copy, kata))
            os.utime(kata.stub_path(copy))  # a save
            result = runner.start(kata).wait()
            warm_times.append(result.seconds)
            if result.status != "done":
                sys.exit(f"{kata_id}: the reference solution did not pass in the warm check ({result.status})")
        cold_s, warm_s = statistics.median(cold_times), statistics.median(warm_times)
        met = warm_s <= goal(kata)
        all_met &= met
        print(f"{kata_id:<20} {','.join(kata.frameworks):<18} {warm_up:>9.2f} {cold_s:>7.2f} {warm_s:>7.2f} "
              f"{goal(kata):>6.1f}  {'OK' if met else 'OVER THE GOAL'} ({cold_s / warm_s:.1f}x faster than cold)")
    shutil.rmtree(copy, ignore_errors=True)
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
