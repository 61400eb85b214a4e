"""The maintainers' self-check: everything CI runs, in one command.

    python -m katakit.selfcheck [--jobs N] [PYTEST ARGS ...]

1. the plugin's own tests (katakit/tests), which drive pytest with pytester;
2. ``pytest --solutions``: every reference solution passes its kata's tests;
3. ``pytest --pitfalls``: every known wrong answer is rejected, every alternative accepted;
4. ``pytest --stubs``: every untouched stub is reported as todo in every test.

The steps are independent pytest runs, so they run side by side, two at a time by default (the
longest first); each step's output is printed whole when it finishes. Every step runs even when
another fails, and the last line counts them. Extra arguments go to every pytest run (``-x``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Longest first, so that two workers finish at about the same time.
STEPS = [
    ("pitfalls rejected, alternatives accepted", ["--pitfalls"]),
    ("plugin tests", ["katakit/tests"]),
    ("reference solutions pass", ["--solutions"]),
    ("stubs are todo", ["--stubs"]),
]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m katakit.selfcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", "-j", type=int, default=min(2, os.cpu_count() or 1),
                        help="steps run at the same time (default: 2, or 1 on a one-core machine)")
    options, extra = parser.parse_known_args(argv)
    started = time.perf_counter()
    waiting = list(enumerate(STEPS, 1))
    running: list[tuple] = []
    results = []
    while waiting or running:
        while waiting and len(running) < max(1, options.jobs):
            number, (title, args) = waiting.pop(0)
            log = tempfile.TemporaryFile(mode="w+")
            command = [sys.executable, "-m", "pytest", "-q", *args, *extra]
            print(f"=== selfcheck {number}/{len(STEPS)} started: {title} (pytest {' '.join(args)})", flush=True)
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            running.append((number, title, args, process, log, time.perf_counter()))
        time.sleep(0.5)
        for entry in list(running):
            number, title, args, process, log, step_start = entry
            if process.poll() is None:
                continue
            running.remove(entry)
            seconds = time.perf_counter() - step_start
            log.seek(0)
            print(f"\n=== selfcheck {number}/{len(STEPS)}: {title} (pytest {' '.join(args)}), "
                  f"{seconds:.1f} s, exit {process.returncode} ===", flush=True)
            print(log.read(), flush=True)
            log.close()
            results.append((number, title, process.returncode, seconds))
    print("\n=== selfcheck summary ===")
    for _number, title, code, seconds in sorted(results):
        print(f"  {'ok  ' if code == 0 else 'FAIL'}  {title:<42} {seconds:6.1f} s  (exit {code})")
    failed = sum(1 for _, _, code, _ in results if code != 0)
    print(f"  total {time.perf_counter() - started:.1f} s with {options.jobs} step(s) at a time")
    print(f"selfcheck: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
