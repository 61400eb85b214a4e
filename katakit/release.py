"""``katas release``: write a take-home repository for candidates.

    katas release --katas top_p,ar_forecast --out take-home [--hints none|first|all]
                  [--title "..."] [--time-guide 3h]

The repository has the chosen stubs, their tests, the plugin, a candidate README, a devcontainer
and a CI workflow that runs the public checks on every push; it has no reference solution, no
pitfall and no hint beyond what --hints allows. Its tests run without the reference: they check
properties, and compare with answers recorded from the reference for the inputs their fixed
seed draws (see recorded.py).

Nothing is written to --out until the built copy has checked itself, in a temporary folder:
no file in it gives an answer away (``takehome.find_leaks``), every test reports the untouched
stubs as todo, and with the reference solutions dropped into ``katas/`` every test passes and
every comparison finds its recorded answer.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .cli import CommandError, find_root, load_catalog, resolve_kata
from .takehome import (
    HINT_POLICIES,
    TakeHomeError,
    build_candidate_tree,
    find_leaks,
    record_answers,
    sandbox_env,
    write_manifest,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "release", help="write a take-home repository for candidates (no solutions; public checks only)",
        description="Write a take-home repository for candidates: the chosen stubs and their public tests, the "
                    "plugin, a README, a devcontainer and a CI workflow; no solution, pitfall or held-back hint. "
                    "The copy checks itself before anything is written.")
    parser.add_argument("--katas", required=True, metavar="ID,ID,...",
                        help="the katas to include, comma-separated, in the order the candidate sees them")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="where to write the repository (must not exist, or be empty)")
    parser.add_argument("--hints", choices=HINT_POLICIES, default="none",
                        help="hints the candidate may reveal: none (default), the first (a nudge), or all three")
    parser.add_argument("--title", default="Inference Katas take-home", help="the exercise's title")
    parser.add_argument("--time-guide", metavar="TEXT", help="how long to plan for, as the README says it (e.g. 3h)")
    parser.set_defaults(func=run)


def _chosen(catalog, text: str) -> list:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise CommandError("--katas names no kata")
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CommandError(f"--katas names {', '.join(duplicates)} twice")
    return [resolve_kata(catalog, kata_id) for kata_id in ids]


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CommandError(f"{out} already exists and is not an empty folder: choose another --out")


def run(args) -> int:
    root = find_root()
    catalog = load_catalog(root)
    katas = _chosen(catalog, args.katas)
    out = args.out.resolve()
    _check_out(out)
    missing = [str(p.relative_to(root)) for k in katas
               for p in (k.stub_path(root), k.test_path(root), k.solution_path(root)) if not p.is_file()]
    if missing:
        raise CommandError("cannot release without these files: " + ", ".join(missing))
    started = time.perf_counter()
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    try:
        with tempfile.TemporaryDirectory(prefix="katas-release-") as folder:
            work = Path(folder)
            say(f"recording the reference's answers for {', '.join(k.id for k in katas)} ...")
            tables, outcomes = record_answers(root, catalog, katas, work, seed=None, pitfalls=False, public=False,
                                             grading=False)
            failing = [f"{nodeid}: {o['outcome']}" for nodeid, o in outcomes.items()
                       if o["outcome"] not in ("passed", "skipped")]
            if failing:
                raise TakeHomeError("the reference solutions fail their own tests:\n  " + "\n  ".join(failing[:20]))
            tree = build_candidate_tree(root, catalog, katas, work / "candidate", tables=tables, hints=args.hints,
                                        title=args.title, time_guide=args.time_guide)
            write_manifest(tree, katas=katas, hints=args.hints, title=args.title, time_guide=args.time_guide)
            say("checking the copy: nothing gives an answer away, stubs are todo, the reference passes ...")
            problems = self_check(tree, root, catalog, katas, args.hints, work)
            if problems:
                raise TakeHomeError("the release failed its own checks; nothing was written:\n  "
                                    + "\n  ".join(problems))
            _check_out(out)
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.exists():
                out.rmdir()
            shutil.copytree(tree, out, symlinks=False)
    except TakeHomeError as exc:
        raise CommandError(str(exc)) from None
    total = sum(k.points for k in katas)
    print(f"wrote {out}: {len(katas)} katas, {total} points, hints: {args.hints} "
          f"({time.perf_counter() - started:.1f} s)")
    print("  checked: no reference code, pitfall diagnosis or held-back hint in it; every stub todo; "
          "the reference passes every public check")
    print(f"  next: make it a repository (git init && git add -A && git commit) and send it; grade the work "
          f"that comes back with: katas grade SUBMISSION... --release {out} --out REPORT")
    return 0


def _pytest(tree: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    env = sandbox_env({"HOME": str(tree.parent), "TMPDIR": str(tree.parent)})
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def self_check(tree: Path, root: Path, catalog, katas, hints: str, work: Path) -> list[str]:
    """Everything wrong with a built candidate tree (empty when it is fit to send)."""
    problems = find_leaks(tree, root, catalog, katas, hints)
    stubs = work / "check-stubs"
    shutil.copytree(tree, stubs)
    result = _pytest(stubs, "--stubs")
    if result.returncode != 0:
        problems.append("with the untouched stubs, not every test is todo (pytest --stubs):\n"
                        + (result.stdout + result.stderr)[-3000:])
    solved = work / "check-solved"
    shutil.copytree(tree, solved)
    for kata in katas:
        shutil.copy2(kata.solution_path(root), solved / "katas" / f"{kata.id}.py")
    result = _pytest(solved)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        problems.append("with the reference solutions in katas/, the public checks fail:\n" + output[-3000:])
    elif "had no recorded answer" in output:
        problems.append("with the reference solutions in katas/, some inputs drawn were not recorded:\n"
                        + output[-2000:])
    for copy in (stubs, solved):
        shutil.rmtree(copy, ignore_errors=True)
    return problems
