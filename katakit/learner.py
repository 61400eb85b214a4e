"""The learner's subcommands: list, check, hint, solution, reset, progress, bench (and watch).

Checks always run pytest itself (a subprocess), so `katas check` and `pytest` can never
disagree; watch mode (katakit.watch) runs the same command line in a warm forked child.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from . import course
from .catalog import Catalog, Kata
from .cli import CommandError, find_root, load_catalog, resolve_kata
from .state import State

BACKUP_DIR = ".katas-backup"
STATUS_STYLE = {"done": "green", "failing": "red", "error": "red", "todo": "yellow"}


def console() -> Console:
    # rich honours NO_COLOR and prints plain text when the output is not a terminal.
    return Console(highlight=False, soft_wrap=True)


def _context() -> tuple[Path, Catalog, State]:
    root = find_root()
    return root, load_catalog(root), State.load(root)


def _help(description: str, example: str) -> dict:
    return dict(description=f"{description}\n\nexample:\n  {example}",
                formatter_class=argparse.RawDescriptionHelpFormatter)


def register(subparsers) -> None:
    from . import watch

    watch.register(subparsers)

    p = subparsers.add_parser("list", help="every kata with its status and hints used",
                              **_help("A table of every kata in course order.", "katas list --json"))
    p.add_argument("--json", action="store_true", help="print JSON for machines instead of a table")
    p.set_defaults(func=cmd_list)

    p = subparsers.add_parser("check", help="run the checks of some katas (default: the current one)",
                              **_help("Run each selected kata's tests with pytest and print the summary. "
                                      "The exit status is 0 only when every selected kata passes.",
                                      "katas check top_p ar_forecast"))
    p.add_argument("ids", nargs="*", metavar="ID", help="kata ids (default: the current kata)")
    p.add_argument("--all", action="store_true", help="check every kata")
    p.set_defaults(func=cmd_check)

    p = subparsers.add_parser("hint", help="reveal the next hint level of a kata",
                              **_help("Reveal the next of three hints (nudge, approach, near-solution); "
                                      "the level reached is remembered.", "katas hint top_p"))
    p.add_argument("id", nargs="?", metavar="ID", help="kata id (default: the current kata)")
    p.set_defaults(func=cmd_hint)

    p = subparsers.add_parser("solution", help="show a kata's reference solution once it passes",
                              **_help("Print the reference solution of a kata that passes. --force shows it "
                                      "earlier and records in your progress that it was forced.",
                                      "katas solution top_p"))
    p.add_argument("id", metavar="ID")
    p.add_argument("--force", action="store_true", help="show it even though the kata does not pass yet")
    p.set_defaults(func=cmd_solution)

    p = subparsers.add_parser("reset", help="restore a kata's original stub (keeps a backup of yours)",
                              **_help(f"Put back the original stub of a kata. Your file is copied to "
                                      f"{BACKUP_DIR}/ first.", "katas reset top_p"))
    p.add_argument("id", metavar="ID")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_reset)

    p = subparsers.add_parser("progress", help="your progress per kata: status, attempts, time, hints",
                              **_help("Per kata: status, checks until it first passed, when it first passed, "
                                      "estimated time spent, hints used, solution forced.",
                                      "katas progress --json"))
    p.add_argument("--json", action="store_true", help="print JSON for machines instead of a table")
    p.set_defaults(func=cmd_progress)

    p = subparsers.add_parser("bench", help="measure a speed kata and print the figures",
                              **_help("Run the speed checks of a kata about speed (tests marked `speed`) "
                                      "and show their figures.", "katas bench tf_function_speedup"))
    p.add_argument("id", metavar="ID")
    p.add_argument("--solutions", action="store_true", help="measure the reference solution instead of yours")
    p.set_defaults(func=cmd_bench)


# ---- list and progress ------------------------------------------------------------------------

def _status_text(status: str | None) -> str:
    return status or "not run"


def cmd_list(args) -> int:
    root, catalog, state = _context()
    rows = [{"id": k.id, "title": k.title, "topic": k.topic, "difficulty": k.difficulty, "points": k.points,
             "status": _status_text(state.status(k.id)), "hints_used": state.hint_level(k.id)} for k in catalog]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    title = f"Inference Katas: {sum(r['status'] == 'done' for r in rows)}/{len(rows)} done"
    print_table(title, ("#", "id", "status", "hints", "difficulty", "topic", "title"),
                [(str(n), r["id"], r["status"], f"{r['hints_used']}/3", r["difficulty"], r["topic"], r["title"])
                 for n, r in enumerate(rows, 1)])
    return 0


def cmd_progress(args) -> int:
    root, catalog, state = _context()
    report = {k.id: state.progress(k.id) for k in catalog}
    if args.json:
        print(json.dumps({"katas": report, "note": state.note}, indent=2))
        return 0
    rows = []
    for kata_id, entry in report.items():
        minutes = entry["time_spent_s"] / 60
        rows.append((kata_id, entry["status"], str(entry["attempts"]), entry["first_passed"] or "-",
                     f"{minutes:.0f} min" if entry["attempts"] else "-", f"{entry['hints_used']}/3",
                     "yes" if entry["solution_forced"] else "no"))
    if state.note:
        print(state.note)
    print_table("Your progress", ("id", "status", "checks", "first passed", "time spent", "hints", "solution forced"),
                rows)
    return 0


def print_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A rich table on a terminal; plain aligned lines when the output is piped or redirected."""
    out = console()
    if not out.is_terminal:
        widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
        print(title)
        for line in (columns, *rows):
            print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="ellipsis", no_wrap=True)
    for row in rows:
        style = STATUS_STYLE.get(row[columns.index("status")], "") if "status" in columns else ""
        table.add_row(*row, style=style or None)
    out.print(table)


# ---- check and bench --------------------------------------------------------------------------

def run_pytest(root: Path, args: list[str]) -> int:
    """pytest in a subprocess, its output streamed to the terminal."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=root, env=env)


def _selected(catalog: Catalog, state: State, ids: list[str], everything: bool) -> list[Kata]:
    if everything:
        return list(catalog)
    if ids:
        return [resolve_kata(catalog, kata_id) for kata_id in ids]
    return [course.current_kata(catalog, state)]


def cmd_check(args) -> int:
    root, catalog, state = _context()
    katas = _selected(catalog, state, args.ids, args.all)
    files = [str(k.test_path(root).relative_to(root)) for k in katas]
    return run_pytest(root, files)


def cmd_bench(args) -> int:
    root, catalog, state = _context()
    kata = resolve_kata(catalog, args.id)
    extra = ["--solutions"] if args.solutions else []
    code = run_pytest(root, [str(kata.test_path(root).relative_to(root)), "-m", "speed", "-s", "-q",
                             "-p", "no:cacheprovider", *extra])
    if code == 5:  # pytest: no tests collected
        speed = [k.id for k in catalog if "@pytest.mark.speed" in _read(k.test_path(root))]
        raise CommandError(f"{kata.id} has no speed checks; the speed katas are: {', '.join(speed) or 'none'}")
    return code


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


# ---- hint and solution ------------------------------------------------------------------------

def show_hint(kata: Kata, state: State) -> list[str]:
    """Reveal the next hint level, save it, and return the lines to show."""
    level = state.next_hint(kata.id, len(kata.hints))
    state.save()
    lines = [f"{kata.id}: hint {level} of {len(kata.hints)}", *(f"  {line}" for line in kata.hints_up_to(level))]
    if level == len(kata.hints):
        lines.append("  (that was the last hint)")
    return lines


def cmd_hint(args) -> int:
    root, catalog, state = _context()
    kata = resolve_kata(catalog, args.id) if args.id else course.current_kata(catalog, state)
    out = console()
    for line in show_hint(kata, state):
        out.print(line, markup=False)
    return 0


def solution_text(root: Path, kata: Kata) -> str:
    path = kata.solution_path(root)
    if not path.is_file():
        raise CommandError(f"this copy has no reference solution for {kata.id} (solutions/{kata.id}.py)")
    return path.read_text(encoding="utf-8")


def cmd_solution(args) -> int:
    root, catalog, state = _context()
    kata = resolve_kata(catalog, args.id)
    status = state.status(kata.id)
    if status != "done" and not args.force:
        raise CommandError(
            f"{kata.id} does not pass yet (last check: {_status_text(status)}). Solve it first "
            f"(`katas check {kata.id}` updates its status), or see it anyway with "
            f"`katas solution {kata.id} --force`, which is recorded in your progress.")
    text = solution_text(root, kata)
    if status != "done":
        state.kata(kata.id)["solution_forced"] = True
        state.save()
    console().print(Syntax(text, "python", line_numbers=False, word_wrap=True))
    return 0


# ---- reset ------------------------------------------------------------------------------------

def cmd_reset(args) -> int:
    root, catalog, state = _context()
    kata = resolve_kata(catalog, args.id)
    original = course.pristine_stub(root, kata)
    if original is None:
        raise CommandError(f"cannot find the original stub of {kata.id}: this copy has no git history for "
                           f"katas/{kata.id}.py; download that file again from the repository")
    target = kata.stub_path(root)
    current = target.read_text(encoding="utf-8") if target.exists() else None
    if current == original:
        print(f"katas/{kata.id}.py is already the original stub; nothing to do")
        return 0
    if not args.yes:
        try:
            answer = input(f"Reset katas/{kata.id}.py to its original stub? Your version is kept in "
                           f"{BACKUP_DIR}/. [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("not reset")
            return 1
    if current is not None:
        backup = root / BACKUP_DIR / f"{kata.id}-{time.strftime('%Y%m%d-%H%M%S')}.py"
        backup.parent.mkdir(exist_ok=True)
        backup.write_text(current, encoding="utf-8")
        print(f"your version is saved as {backup.relative_to(root)}")
    target.write_text(original, encoding="utf-8")
    state.kata(kata.id)["status"] = "todo"
    state.save()
    print(f"katas/{kata.id}.py is the original stub again")
    return 0
