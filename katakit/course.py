"""Where a learner stands in the course: statuses, the current kata, a kata's task, its original stub.

Shared by the `katas` subcommands and watch mode; nothing here runs tests.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from .catalog import Catalog, Kata
from .constraints import unfinished_functions
from .state import State


def statuses(catalog: Catalog, state: State) -> dict[str, str | None]:
    """Each kata's last known status (done, failing, todo, error, skipped), or None if never checked."""
    return {kata.id: state.status(kata.id) for kata in catalog}


def first_pending(catalog: Catalog, state: State, after: str | None = None) -> Kata | None:
    """The first kata in course order that is not done, starting after `after` and wrapping around."""
    katas = list(catalog)
    start = next((i + 1 for i, k in enumerate(katas) if k.id == after), 0)
    for kata in katas[start:] + katas[:start]:
        if state.status(kata.id) != "done" and kata.id != after:
            return kata
    return None


def current_kata(catalog: Catalog, state: State) -> Kata:
    """The kata the learner is on: the one remembered, else the first not done, else the last."""
    remembered = catalog.get(state.current) if state.current else None
    return remembered or first_pending(catalog, state) or list(catalog)[-1]


def topic_progress(catalog: Catalog, state: State) -> list[tuple[str, int, int]]:
    """(topic, done, total) in course order of first appearance."""
    order: dict[str, list[int]] = {}
    for kata in catalog:
        done_total = order.setdefault(kata.topic, [0, 0])
        done_total[1] += 1
        done_total[0] += state.status(kata.id) == "done"
    return [(topic, done, total) for topic, (done, total) in order.items()]


def task_summary(kata: Kata, root: Path) -> list[tuple[str, str]]:
    """(signature, first paragraph of its docstring) for each function the learner has to write.

    Read from the pristine stub where it can be found (the learner's file may be half-edited
    or broken), else from the learner's file, else from the solution.
    """
    for source in (pristine_stub(root, kata), _read(kata.stub_path(root)), _read(kata.solution_path(root))):
        if not source:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        wanted = set(unfinished_functions(source)) or {
            node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
        found = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in wanted:
                doc = ast.get_docstring(node) or ""
                found.append((f"{node.name}({ast.unparse(node.args)})", doc.split("\n\n")[0].replace("\n", " ")))
        if found:
            return found
    return []


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def pristine_stub(root: Path, kata: Kata) -> str | None:
    """The kata's original stub, from git history: the newest committed version with the most
    functions still raising NotImplementedError (so a learner's own commits of partial work are
    passed over). None when there is no git history for the file.
    """
    relative = kata.stub_path(root).relative_to(root).as_posix()
    commits = _git(root, "log", "--format=%H", "--", relative)
    if not commits:
        return None
    best, best_count = None, 0
    for commit in commits.split()[:200]:
        text = _git(root, "show", f"{commit}:{relative}")
        if text is None:
            continue
        try:
            count = len(unfinished_functions(text))
        except SyntaxError:
            continue
        if count > best_count:
            best, best_count = text, count
    return best
