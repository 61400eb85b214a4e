"""The maintainers' self-check: everything CI runs, in one command.

    python -m katakit.selfcheck

1. the plugin's own tests (katakit/tests), which drive pytest with pytester;
2. ``pytest --solutions``: every reference solution passes its kata's tests;
3. ``pytest --pitfalls``: every known wrong answer is rejected, every alternative accepted;
4. ``pytest --stubs``: every untouched stub is reported as todo in every test.

Every step runs even when an earlier one fails, and the last line counts them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = [
    ("plugin tests", ["katakit/tests"]),
    ("reference solutions pass", ["--solutions"]),
    ("pitfalls rejected, alternatives accepted", ["--pitfalls"]),
    ("stubs are todo", ["--stubs"]),
]


def main(argv: list[str]) -> int:
    extra = argv  # passed to every pytest run, e.g. -x or -k
    results = []
    started = time.perf_counter()
    for number, (title, args) in enumerate(STEPS, 1):
        print(f"\n=== selfcheck {number}/{len(STEPS)}: {title} (pytest {' '.join(args)}) ===", flush=True)
        step_start = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", "pytest", "-q", *args, *extra], cwd=ROOT)
        results.append((title, code, time.perf_counter() - step_start))
    print("\n=== selfcheck summary ===")
    for title, code, seconds in results:
        print(f"  {'ok  ' if code == 0 else 'FAIL'}  {title:<32} {seconds:6.1f} s  (exit {code})")
    failed = sum(1 for _, code, _ in results if code != 0)
    print(f"  total {time.perf_counter() - started:.1f} s")
    print(f"selfcheck: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
