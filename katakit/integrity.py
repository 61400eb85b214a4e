"""Integrity signals for a graded submission: context for a reviewer, never a verdict.

- git history: commits, authors, first and last commit time (when the submission is a repository);
- the candidate's own progress file, ``.katas-state.json``: self-reported, and easy to edit;
- constructs a kata function rarely needs (file, process, network or interpreter access), found
  statically in the submitted kata files;
- pairs of submissions whose code for the same kata is unusually similar.

Similarity: each kata file is parsed, its docstrings dropped and the rest re-printed by
``ast.unparse`` (so layout and comments do not count), then tokenised with every local name
replaced by ``ID``, every number by ``NUM`` and every string by ``STR`` (renaming variables
does not count); attribute names (``.softmax``), keywords and builtins are kept. Two files
are compared by the Jaccard index of their sets of 5-token sequences, leaving out those the
untouched stub already has (the signature and given code every submission shares). Below
``MIN_FINGERPRINTS`` sequences a file is too short to say anything. The threshold is justified
by measurement in ``katakit/tests/test_integrity.py`` and docs/benchmarks.md.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import keyword
import subprocess
import tokenize
from datetime import datetime, timezone
from pathlib import Path

K = 5
MIN_FINGERPRINTS = 15
DEFAULT_THRESHOLD = 0.7

# ---- git -----------------------------------------------------------------------------------------

GIT_SAFE = ["-c", "safe.directory=*", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
            "-c", "protocol.allow=never", "--no-pager"]


def git_history(folder: Path) -> dict | None:
    """Commit count, authors and time span of the repository at `folder`; None when it is not one.

    git runs with no system or global configuration and nothing that could run a program the
    repository names (fsmonitor, hooks, a pager), and only reads the history.
    """
    if not (folder / ".git").exists():
        return None
    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
           "GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin:/usr/local/bin", "LC_ALL": "C"}
    try:
        completed = subprocess.run(["git", *GIT_SAFE, "-C", str(folder), "log", "--all", "--format=%ct%x09%ae"],
                                   capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": f"git could not read the history: {exc}"}
    if completed.returncode != 0:
        return {"error": "git could not read the history: " + completed.stderr.strip()[:200]}
    stamps, authors = [], set()
    for line in completed.stdout.splitlines():
        stamp, _, author = line.partition("\t")
        if stamp.isdigit():
            stamps.append(int(stamp))
            authors.add(author)
    if not stamps:
        return {"commits": 0}
    first, last = min(stamps), max(stamps)
    return {"commits": len(stamps), "authors": len(authors), "first": _iso(first), "last": _iso(last),
            "span_s": last - first}


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=timezone.utc).isoformat(timespec="minutes")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def describe_git(history: dict | None) -> str:
    if history is None:
        return "not a git repository"
    if "error" in history:
        return history["error"]
    if not history.get("commits"):
        return "a git repository with no commits"
    return (f"{history['commits']} commit{'s' if history['commits'] != 1 else ''} by {history['authors']} "
            f"author{'s' if history['authors'] != 1 else ''}, {history['first']} to {history['last']} "
            f"({duration(history['span_s'])})")


# ---- the progress file -----------------------------------------------------------------------------

def progress(folder: Path, kata_ids: list[str]) -> dict | None:
    """What the candidate's .katas-state.json says, per kata; None when there is none."""
    path = folder / ".katas-state.json"
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 2**20:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"error": "present but unreadable"}
    if not isinstance(data, dict):
        return {"error": "present but not a JSON object"}
    katas = data.get("katas") if isinstance(data.get("katas"), dict) else {}
    found = {}
    for kata_id in kata_ids:
        entry = katas.get(kata_id)
        if not isinstance(entry, dict):
            continue
        kept = {}
        for key in ("status", "attempts", "hint_level", "time_spent_s", "first_passed", "solution_forced"):
            value = entry.get(key)
            if isinstance(value, str | int | float | bool) and not (isinstance(value, str) and len(value) > 60):
                kept[key] = value
        if kept:
            found[kata_id] = kept
    result = {"katas": found}
    log = data.get("take_home")
    if isinstance(log, dict):
        first, last, runs = log.get("first_run"), log.get("last_run"), log.get("runs")
        if isinstance(first, int | float) and isinstance(last, int | float):
            result["checks_run"] = {"first": _iso(first), "last": _iso(last), "span_s": last - first,
                                    "runs": runs if isinstance(runs, int) else None}
    return result


def describe_progress(found: dict | None) -> str:
    if found is None:
        return "no progress file"
    if "error" in found:
        return f"progress file {found['error']}"
    parts = []
    runs = found.get("checks_run")
    if runs:
        parts.append(f"checks run {runs['runs'] or '?'} times, {runs['first']} to {runs['last']}")
    for kata_id, entry in found.get("katas", {}).items():
        bits = [str(entry["status"])] if "status" in entry else []
        if "attempts" in entry:
            bits.append(f"{entry['attempts']} attempts")
        if entry.get("hint_level"):
            bits.append(f"{entry['hint_level']} hint{'s' if entry['hint_level'] != 1 else ''}")
        if "time_spent_s" in entry:
            bits.append(duration(entry["time_spent_s"]))
        if entry.get("solution_forced"):
            bits.append("solution shown")
        parts.append(f"{kata_id}: {', '.join(bits) or 'no data'}")
    return "; ".join(parts) or "progress file with nothing in it"


# ---- constructs a kata rarely needs ------------------------------------------------------------------

SUSPICIOUS_MODULES = frozenset({
    "os", "sys", "subprocess", "socket", "ctypes", "gc", "inspect", "builtins", "importlib", "pytest", "_pytest",
    "hypothesis", "katakit", "multiprocessing", "signal", "resource", "shutil", "pathlib", "io", "pickle",
    "marshal", "urllib", "http", "requests", "threading", "glob", "tempfile", "runpy", "pty", "mmap", "sysconfig",
    "site", "atexit", "faulthandler", "tracemalloc", "code", "codeop", "webbrowser", "asyncio", "solutions",
    "pitfalls", "conftest",
})
SUSPICIOUS_CALLS = frozenset({"open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
                              "breakpoint", "input", "exit", "quit"})
SUSPICIOUS_ATTRIBUTES = frozenset({
    "__globals__", "__code__", "__closure__", "__subclasses__", "__builtins__", "__loader__", "__spec__",
    "_getframe", "f_back", "f_globals", "f_locals", "tb_frame", "gi_frame", "cr_frame", "_exit", "system", "popen",
    "fork", "kill", "modules", "setrecursionlimit", "settrace", "setprofile", "addaudithook",
})


def suspicious_constructs(source: str) -> list[str]:
    """'line N: what' for each construct a kata function has little reason to use."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            imported.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else \
            [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
        for target in targets:  # np.allclose = ...: changes what the checks themselves call
            root = target
            while isinstance(root, ast.Attribute | ast.Subscript):
                root = root.value
            if isinstance(target, ast.Attribute) and isinstance(root, ast.Name) and root.id in imported:
                found.append((line, f"assigns to {ast.unparse(target)}"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
            found.append((line, f"{node.func.id}(...)"))
        if isinstance(node, ast.Name) and node.id in ("__builtins__", "__import__", "builtins"):
            found.append((line, node.id))
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SUSPICIOUS_MODULES:
                    found.append((line, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SUSPICIOUS_MODULES:
            found.append((line, f"from {node.module} import ..."))
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((line, "a relative import"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SUSPICIOUS_CALLS:
            found.append((line, f"{node.func.id}(...)"))
        elif isinstance(node, ast.Attribute) and node.attr in SUSPICIOUS_ATTRIBUTES:
            found.append((line, f".{node.attr}"))
    seen, lines = set(), []
    for line, what in sorted(found):
        if (line, what) not in seen:
            seen.add((line, what))
            lines.append(f"line {line}: {what}")
    return lines


# ---- similarity -------------------------------------------------------------------------------------------

_BUILTINS = frozenset(dir(builtins))


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def normalised_tokens(source: str) -> list[str] | None:
    try:
        text = ast.unparse(_strip_docstrings(ast.parse(source)))
    except (SyntaxError, ValueError, RecursionError):
        return None
    tokens, previous = [], None
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, value = token.type, token.string
            if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
                continue
            if kind == tokenize.NAME:
                value = value if keyword.iskeyword(value) or value in _BUILTINS or previous == "." else "ID"
            elif kind == tokenize.NUMBER:
                value = "NUM"
            elif kind == tokenize.STRING or kind == getattr(tokenize, "FSTRING_START", -1):
                value = "STR"
            elif kind == tokenize.NEWLINE:
                value = ";"
            elif kind == tokenize.INDENT:
                value = "{"
            elif kind == tokenize.DEDENT:
                value = "}"
            tokens.append(value)
            previous = token.string
    except (tokenize.TokenError, IndentationError):
        return None
    return tokens


def fingerprints(source: str, stub: str | None = None) -> set[tuple[str, ...]] | None:
    tokens = normalised_tokens(source)
    if tokens is None:
        return None
    grams = {tuple(tokens[i:i + K]) for i in range(len(tokens) - K + 1)}
    if stub is not None:
        stub_tokens = normalised_tokens(stub) or []
        grams -= {tuple(stub_tokens[i:i + K]) for i in range(len(stub_tokens) - K + 1)}
    return grams


def similarity(a: set, b: set) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def similar_pairs(sources: dict[str, dict[str, str]], stubs: dict[str, str], threshold: float
                  ) -> list[tuple[str, str, str, float]]:
    """(kata, submission, submission, similarity) for every pair at or above `threshold`, highest first.

    `sources` is submission -> kata id -> source; `stubs` is kata id -> the untouched stub.
    """
    pairs = []
    kata_ids = sorted({k for by_kata in sources.values() for k in by_kata})
    for kata_id in kata_ids:
        prints = {}
        for name, by_kata in sources.items():
            source = by_kata.get(kata_id)
            if source is None:
                continue
            found = fingerprints(source, stubs.get(kata_id))
            if found is not None and len(found) >= MIN_FINGERPRINTS:
                prints[name] = found
        names = sorted(prints)
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                score = similarity(prints[first], prints[second])
                if score >= threshold:
                    pairs.append((kata_id, first, second, round(score, 3)))
    return sorted(pairs, key=lambda p: (-p[3], p[0], p[1], p[2]))
