"""What grading take-home submissions costs: COUNT generated submissions of one kata, graded with -j J.

    python benchmarks/take_home.py [--kata ar_forecast] [--count 40] [-j 2]

The submissions are folders holding ``katas/<kata>.py``: a quarter the reference solution, a
quarter the untouched stub, a quarter the reference with its last function broken (it raises),
and a quarter the reference with a comment added (so no two files are alike). They are graded
with ``katas grade --katas KATA -j J``, as a hiring team would, and the script prints:

- the batch: wall time, and the one-off preparation inside it (recording the reference's answers
  for the batch's seed, building the grading tree, probing the sandbox);
- per submission: the batch's wall time divided by COUNT, and the mean and median time one
  submission took, from intake to report, sandbox included;
- the floor: the same pytest run (hidden and public checks, recorded answers, the reference as
  the code under test) in a plain subprocess, without the sandbox, median of 3;
- the overhead per submission: the median sandboxed time minus the floor.

Runs in parallel share the CPU, so with -j 2 on 2 cores each submission's own time is longer
than the floor even without any overhead; the floor is measured alone, before the batch.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from katakit.catalog import load as load_catalog  # noqa: E402
from katakit.takehome import build_grading_tree, pytest_argv, record_answers, sandbox_env, test_args  # noqa: E402


def submissions(kata, count: int, folder: Path) -> list[Path]:
    solution = kata.solution_path(ROOT).read_text()
    stub = kata.stub_path(ROOT).read_text()
    last = [line.split("(")[0][4:] for line in solution.splitlines() if line.startswith("def ")][-1]
    broken = solution + f"\n\ndef {last}(*args, **kwargs):\n    raise ValueError('not finished')\n"
    kinds = [solution, stub, broken, None]
    made = []
    for number in range(count):
        text = kinds[number % 4] or f"# submission {number}\n" + solution
        path = folder / f"candidate-{number:02d}"
        (path / "katas").mkdir(parents=True)
        (path / "katas" / f"{kata.id}.py").write_text(text)
        made.append(path)
    return made


def floor(kata, catalog, work: Path, runs: int = 3) -> float:
    """The grading run's own pytest, on the reference, without the sandbox (median of `runs`)."""
    tables, _ = record_answers(ROOT, catalog, [kata], work / "floor", seed=12345, pitfalls=True, public=True,
                               grading=True)
    tree = build_grading_tree(ROOT, catalog, [kata], work / "floor" / "tree", with_reference=False, public=True)
    shutil.copy2(kata.solution_path(ROOT), tree / "katas" / f"{kata.id}.py")
    env = sandbox_env({"KATAKIT_GRADING": "1", "KATAKIT_GRADING_SEED": "12345", "HOME": str(work),
                       "TMPDIR": str(work)})
    times = []
    for _ in range(runs):
        copy = work / "floor" / "run"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(tree, copy)
        shutil.copytree(tables, copy / ".katakit" / "tables")
        env["KATAKIT_TABLES"] = "tests=.katakit/tables/tests;public=.katakit/tables/public"
        start = time.perf_counter()
        done = subprocess.run(pytest_argv(test_args([kata])), cwd=copy, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"the floor run failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kata", default="ar_forecast", help="the kata to grade (default ar_forecast)")
    parser.add_argument("--count", type=int, default=40, help="how many submissions (default 40)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    options = parser.parse_args()
    catalog = load_catalog(ROOT)
    kata = catalog.get(options.kata)
    if kata is None:
        sys.exit(f"no kata {options.kata!r}")
    with tempfile.TemporaryDirectory(prefix="katas-bench-") as folder:
        work = Path(folder)
        base = floor(kata, catalog, work)
        made = submissions(kata, options.count, work / "in")
        out = work / "report"
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "katakit", "grade", *map(str, made), "--katas", kata.id,
                               "--out", str(out), "-j", str(options.jobs)], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"grading failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        preparation = float(done.stdout.split("(preparation ")[1].split(" s")[0])
        with open(out / "summary.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        each = [float(row["time_s"]) for row in rows]
        scores = [float(row["score"]) for row in rows]
    median = statistics.median(each)
    print(f"kata {kata.id} ({', '.join(kata.frameworks)}), {options.count} submissions, -j {options.jobs}")
    print(f"  batch wall time                 {wall:8.1f} s  (preparation {preparation:.1f} s)")
    print(f"  per submission, batch / count   {wall / options.count:8.2f} s")
    print(f"  per submission, own time        {statistics.mean(each):8.2f} s mean, {median:.2f} s median")
    print(f"  floor: the same pytest, alone   {base:8.2f} s")
    print(f"  overhead per submission         {median - base:8.2f} s  (median own time - floor)")
    print(f"  scores: {sum(s == kata.points for s in scores)} full, {sum(s == 0 for s in scores)} zero, "
          f"{sum(0 < s < kata.points for s in scores)} partial")
    return 0


if __name__ == "__main__":
    sys.exit(main())
