"""What checking one numpy/statsmodels kata costs, against the imports it cannot avoid.

    python benchmarks/plugin_overhead.py [--runs 7] [--kata ar_forecast]

Baseline: a fresh interpreter that imports numpy, pytest and statsmodels' AutoReg module.
Check: a fresh interpreter that runs ``pytest --solutions tests/test_<kata>.py`` (every test
against the reference, plugin included). The runs alternate, the medians are compared, and
the goal is a ratio of at most 1.5. The check also fails if torch or TensorFlow got imported.

Both run in Python's default configuration, where bytecode is cached: PYTHONDONTWRITEBYTECODE
is removed from their environment. Where it is set (some containers and CI images) and nothing
cached the bytecode before, pytest recompiles every module it rewrites for assertion
introspection (Hypothesis among them) on every run, about 0.5 s more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5

BASELINE = "import numpy, pytest, statsmodels.tsa.ar_model"
CHECK = """
import sys, pytest
code = pytest.main(["-q", "--solutions", sys.argv[1]])
loaded = sorted({"torch", "tensorflow"} & set(sys.modules))
if loaded:
    print("imported although the kata does not need them:", loaded)
sys.exit(1 if code or loaded else 0)
"""

DEFAULT_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{completed.stdout}\n{completed.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="alternating runs of each (default 7)")
    parser.add_argument("--kata", default="ar_forecast", help="a numpy/statsmodels kata id (default ar_forecast)")
    options = parser.parse_args()
    test_file = f"tests/test_{options.kata}.py"

    # Warm-up: the file cache, pytest's cache (the validated catalog) and the bytecode caches.
    timed(["-c", BASELINE], DEFAULT_ENV)
    timed(["-c", CHECK, test_file], DEFAULT_ENV)
    baseline, check = [], []
    for run in range(options.runs):
        baseline.append(timed(["-c", BASELINE], DEFAULT_ENV))
        check.append(timed(["-c", CHECK, test_file], DEFAULT_ENV))
        print(f"run {run + 1}/{options.runs}: imports {baseline[-1]:.2f} s, check {check[-1]:.2f} s", flush=True)
    base, full = statistics.median(baseline), statistics.median(check)
    ratio = full / base
    print(f"\nimports only (numpy, pytest, statsmodels.tsa.ar_model): median {base:.2f} s")
    print(f"pytest --solutions {test_file}:  median {full:.2f} s")
    print(f"ratio: {ratio:.2f}  (goal <= {GOAL})  {'OK' if ratio <= GOAL else 'OVER THE GOAL'}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
