"""What `katas release` and `katas grade` share: the trees they build and the runs they record.

Three trees, all built from the kata repository this runs in (the grader's copy):

- the candidate's tree (``build_candidate_tree``): stubs, public tests with recorded answers, the
  plugin, a catalog without the hints held back, README, devcontainer and CI workflow. No
  reference solution, no pitfall, nothing that names one (``find_leaks`` checks the built tree).
- the recording tree (``build_grading_tree(with_reference=True)``): the tests and the reference
  solutions and pitfalls, where a trusted run records the reference's answers
  (``record_answers``; see recorded.py).
- the grading tree (``build_grading_tree``): the same without the reference; each submission's
  kata files are dropped into a copy of it, in the sandbox. It holds the tests twice: ``tests/``
  (the hidden checks: drawn from the batch's secret seed) and ``public/`` (the public checks,
  exactly as the candidate ran them).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import catalog as catalog_module
from .catalog import Catalog, Kata

PACKAGE = Path(__file__).resolve().parent
NO_HINT = "No hint is given in this take-home: the kata's docstring states the whole task."
HINT_POLICIES = ("none", "first", "all")
GRADING_CONFTEST = '''\
# A grading run (katas grade): answers recorded from the reference replace the reference itself,
# and the grader's hooks stream the results and watch what the code under test does.
from katakit.recorded import *  # noqa: F401,F403

pytest_plugins = ["katakit.gradehooks"]
'''
CANDIDATE_CONFTEST = '''\
# The public checks replay answers recorded from the reference solution, which is not in this
# copy (see katakit/recorded.py). Leave this file as it is: grading uses its own copy anyway.
from katakit.recorded import *  # noqa: F401,F403
'''
IGNORED_NAMES = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".tox", ".venv", "venv",
                 ".mypy_cache", ".ipynb_checkpoints", "__MACOSX", ".DS_Store", ".idea", ".vscode"}


class TakeHomeError(Exception):
    """Something the user can fix: printed as one clear message."""


# ---- small helpers ---------------------------------------------------------------------------------

def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")


def catalog_text(catalog: Catalog, katas: list[Kata], *, hints: str = "all", time_cap: float | None = None,
                 header: str = "") -> str:
    """katas.toml for `katas`, with only the hints `hints` allows and time limits capped at `time_cap`."""
    default = _default_time_limit(catalog.root)
    lines = [header.rstrip("\n")] if header else []
    lines.append(f"default_time_limit = {toml_value(min(default, time_cap) if time_cap else default)}")
    for kata in katas:
        shown = {"none": 0, "first": 1, "all": len(kata.hints)}[hints]
        entry = {"id": kata.id, "title": kata.title, "topic": kata.topic, "seed": list(kata.seed),
                 "difficulty": kata.difficulty, "points": kata.points, "frameworks": list(kata.frameworks),
                 "hints": [h if i < shown else NO_HINT for i, h in enumerate(kata.hints)]}
        if kata.forbidden:
            entry["forbidden"] = list(kata.forbidden)
        limit = min(kata.time_limit, time_cap) if time_cap else kata.time_limit
        if limit != default or time_cap:
            entry["time_limit"] = limit
        lines.append("\n[[kata]]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in entry.items())
    return "\n".join(lines) + "\n"


def _default_time_limit(root: Path) -> float:
    import tomllib

    data = tomllib.loads((root / catalog_module.CATALOG_FILE).read_text(encoding="utf-8"))
    return float(data.get("default_time_limit", catalog_module.DEFAULT_TIME_LIMIT))


def copy_katakit(dest: Path) -> None:
    """The tooling package, without its own tests and caches."""
    shutil.copytree(PACKAGE, dest / "katakit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"), dirs_exist_ok=True)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_files(root: Path) -> dict[str, Path]:
    """Relative path -> file, for every regular file under `root`, caches and git data left out."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_NAMES and not d.endswith(".egg-info"))
        for name in sorted(files):
            if name in IGNORED_NAMES:
                continue
            path = Path(folder) / name
            found[path.relative_to(root).as_posix()] = path
    return found


def git_dirs(root: Path) -> list[str]:
    """The grader's git data (it holds every solution ever committed): this repository's and its worktrees'."""
    found = set()
    try:
        common = subprocess.run(["git", "-C", str(root), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                capture_output=True, text=True, timeout=20).stdout.strip()
        if common:
            found.add(common)
            listing = subprocess.run(["git", "-C", str(root), "worktree", "list", "--porcelain"],
                                     capture_output=True, text=True, timeout=20).stdout
            for line in listing.splitlines():
                if line.startswith("worktree "):
                    tree = Path(line[len("worktree "):])
                    found.update(str(tree / name) for name in ("solutions", "pitfalls"))
    except (OSError, subprocess.SubprocessError):
        pass
    if (root / ".git").exists():
        found.add(str(root / ".git"))
    return sorted(p for p in found if Path(p).exists())


def protected_paths(root: Path) -> list[str]:
    """What a graded submission must not read: the reference solutions, pitfalls and git data."""
    paths = {str(root / "solutions"), str(root / "pitfalls"), *git_dirs(root)}
    return sorted(p for p in paths if Path(p).exists())


# ---- the trees -------------------------------------------------------------------------------------

def build_grading_tree(root: Path, catalog: Catalog, katas: list[Kata], dest: Path, *, with_reference: bool,
                       public: bool = True, time_cap: float | None = None) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    copy_katakit(dest)
    (dest / catalog_module.CATALOG_FILE).write_text(catalog_text(catalog, katas, time_cap=time_cap))
    shutil.copy2(root / "pyproject.toml", dest / "pyproject.toml")
    (dest / "conftest.py").write_text(GRADING_CONFTEST)
    folders = ["tests", "public"] if public else ["tests"]
    for folder in (*folders, "katas"):
        (dest / folder).mkdir(exist_ok=True)
    for kata in katas:
        for folder in folders:
            shutil.copy2(kata.test_path(root), dest / folder / f"test_{kata.id}.py")
        if with_reference:
            shutil.copy2(kata.stub_path(root), dest / "katas" / f"{kata.id}.py")
            for kind in ("solutions", "pitfalls"):
                source = root / kind / f"{kata.id}.py"
                if source.is_file():
                    (dest / kind).mkdir(exist_ok=True)
                    shutil.copy2(source, dest / kind / f"{kata.id}.py")
    return dest


def test_args(katas: list[Kata], folders=("tests", "public")) -> list[str]:
    """Test files in kata order, each kata's hidden tests before its public ones."""
    return [f"{folder}/test_{kata.id}.py" for kata in katas for folder in folders]


def sandbox_env(extra: dict | None = None) -> dict:
    """A plain environment for runs of kata tests: nothing of the caller's leaks in."""
    env = {
        "PATH": os.pathsep.join(dict.fromkeys([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin",
                                               "/bin"])),
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2", "NO_COLOR": "1", "PYTEST_ADDOPTS": "",
        # Small thread pools: several runs share the machine, and each thread counts as a task.
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
    }
    env.update(extra or {})
    return env


def pytest_argv(args: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "--tb=short",
            "-o", "console_output_style=classic", *extra, *args]


def read_events(path: Path) -> list[dict]:
    events = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return events
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def run_trusted(argv: list[str], cwd: Path, env: dict, timeout: float) -> tuple[int, list[dict], str]:
    """Run trusted code (the reference, the grader's tests) with a result stream; (status, events, output)."""
    with tempfile.TemporaryDirectory(prefix="katas-events-") as folder:
        events_path = Path(folder) / "events.jsonl"
        fd = os.open(events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            completed = subprocess.run(argv, cwd=cwd, env={**env, "KATAKIT_EVENTS_FD": str(fd)}, pass_fds=(fd,),
                                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise TakeHomeError(f"{' '.join(argv[2:])} ran past {timeout:g} s in {cwd}") from exc
        finally:
            os.close(fd)
        return completed.returncode, read_events(events_path), completed.stdout + completed.stderr


def record_answers(root: Path, catalog: Catalog, katas: list[Kata], work: Path, *, seed: int | None,
                   pitfalls: bool, public: bool, grading: bool, time_cap: float | None = None,
                   timeout: float = 3600) -> tuple[Path, dict[str, dict]]:
    """Run the tests with the reference solutions, recording its answers.

    Returns the folder of tables (``<folder>/<tests|public>/<kata>.json.gz``) and the reference's
    outcome per test: ``{nodeid: {"kata", "outcome", "message", "folder"}}``. `grading` records
    under the grading profile, for grading runs; without it, under the plain one candidates use.
    """
    tree = build_grading_tree(root, catalog, katas, work / "recording", with_reference=True, public=public,
                              time_cap=time_cap)
    tables = work / "tables"
    env = sandbox_env({"KATAKIT_RECORD": str(tables), "KATAKIT_RECORD_PITFALLS": "1" if pitfalls else "0",
                       "KATAKIT_GRADING": "1" if grading else "0", "HOME": str(work), "TMPDIR": str(work)})
    if seed is not None:
        env["KATAKIT_GRADING_SEED"] = str(seed)
    folders = ("tests", "public") if public else ("tests",)
    status, events, output = run_trusted(pytest_argv(test_args(katas, folders), "--solutions"), tree, env, timeout)
    results = {e["nodeid"]: e for e in events if e.get("event") == "result"}
    changed = sorted({name for e in events if e.get("event") == "tamper" for name in e.get("changed", [])})
    (tables / "tripwire-ignore.json").parent.mkdir(parents=True, exist_ok=True)
    (tables / "tripwire-ignore.json").write_text(json.dumps(changed))  # what the tests change themselves
    collected = next((e["items"] for e in events if e.get("event") == "collected"), None)
    if collected is None or status not in (0, 1):
        raise TakeHomeError(f"the reference solutions could not be run (pytest exit status {status}):\n"
                            + output[-3000:])
    outcomes = {}
    for item in collected:
        found = results.get(item["nodeid"], {"outcome": "error", "message": "no result"})
        outcomes[item["nodeid"]] = {"kata": item["kata"], "folder": item["folder"], "outcome": found["outcome"],
                                    "message": found.get("message", "")}
    return tables, outcomes


# ---- the candidate's tree ------------------------------------------------------------------------

def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.\-]+", requirement.strip())
    return (match.group(0) if match else requirement).lower().replace("_", "-")


FRAMEWORK_PACKAGES = {"torch": "torch", "tensorflow": "tensorflow", "tensorflow-cpu": "tensorflow",
                      "statsmodels": "statsmodels", "scipy": "scipy"}


def candidate_requirements(root: Path, katas: list[Kata]) -> list[str]:
    """The grader's dependencies, less frameworks no chosen kata needs, with Hypothesis pinned.

    The recorded answers are for the inputs Hypothesis draws from its fixed seed, which can change
    between Hypothesis versions; the candidate gets the version they were recorded with.
    """
    import hypothesis
    import tomllib

    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {fw for kata in katas for fw in kata.frameworks}
    kept = []
    for requirement in data.get("project", {}).get("dependencies", []):
        name = _requirement_name(requirement)
        framework = FRAMEWORK_PACKAGES.get(name)
        if framework is not None and framework not in needed:
            continue
        if name == "hypothesis":
            requirement = f"hypothesis=={hypothesis.__version__}"
        kept.append(requirement)
    return kept


def pytest_ini_section(root: Path) -> str:
    """The grader's [tool.pytest.ini_options] table, verbatim."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r"^\[tool\.pytest\.ini_options\]\n.*?(?=^\[|\Z)", text, flags=re.S | re.M)
    return match.group(0).rstrip() + "\n" if match else ""


def needs_torch(katas: list[Kata]) -> bool:
    return any("torch" in kata.frameworks for kata in katas)


TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def install_command(katas: list[Kata]) -> str:
    index = f"--extra-index-url {TORCH_CPU_INDEX} " if needs_torch(katas) else ""
    return f"python -m pip install {index}-e ."


def build_candidate_tree(root: Path, catalog: Catalog, katas: list[Kata], dest: Path, *, tables: Path, hints: str,
                         title: str, time_guide: str | None) -> Path:
    """Write the candidate's repository into `dest` (which must not exist yet)."""
    from . import release_text

    dest.mkdir(parents=True)
    (dest / "katas").mkdir()
    (dest / "tests" / "recorded").mkdir(parents=True)
    for kata in katas:
        shutil.copy2(kata.stub_path(root), dest / "katas" / f"{kata.id}.py")
        shutil.copy2(kata.test_path(root), dest / "tests" / f"test_{kata.id}.py")
        table = tables / "tests" / f"{kata.id}.json.gz"
        if table.is_file():
            shutil.copy2(table, dest / "tests" / "recorded" / table.name)
    copy_katakit(dest)
    header = (f"# {title}: the katas of this take-home, in order. Points are what each kata is worth.\n"
              f"# (The schema, katakit/catalog.schema.json, says what each field means.)")
    (dest / catalog_module.CATALOG_FILE).write_text(catalog_text(catalog, katas, hints=hints, header=header))
    (dest / "conftest.py").write_text(CANDIDATE_CONFTEST)
    (dest / "pyproject.toml").write_text(release_text.pyproject(root, katas, title))
    (dest / "README.md").write_text(release_text.readme(catalog, katas, title=title, hints=hints,
                                                         time_guide=time_guide))
    (dest / ".devcontainer").mkdir()
    (dest / ".devcontainer" / "devcontainer.json").write_text(release_text.devcontainer(root, katas, title))
    (dest / ".github" / "workflows").mkdir(parents=True)
    (dest / ".github" / "workflows" / "public-checks.yml").write_text(release_text.workflow(katas))
    (dest / ".gitignore").write_text(release_text.gitignore(root))
    return dest


MANIFEST = ".katas-release.json"


def write_manifest(tree: Path, *, katas: list[Kata], hints: str, title: str, time_guide: str | None) -> dict:
    import datetime

    import hypothesis

    from . import __version__

    files = {rel: file_digest(path) for rel, path in tree_files(tree).items() if rel != MANIFEST}
    manifest = {"format": 1, "title": title, "katas": [k.id for k in katas], "hints": hints,
                "time_guide": time_guide, "katakit": __version__, "hypothesis": hypothesis.__version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "files": files}
    (tree / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(release: Path) -> dict:
    path = release / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TakeHomeError(f"{release} is not a released take-home: it has no {MANIFEST}") from None
    except ValueError as exc:
        raise TakeHomeError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(manifest.get("katas"), list):
        raise TakeHomeError(f"{path} lists no katas")
    return manifest


# ---- nothing that reveals an answer --------------------------------------------------------------

def _text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except OSError:
            return None
    if b"\0" in data[:4096]:
        return None
    return data.decode("utf-8", errors="replace")


def _norm(line: str) -> str:
    return " ".join(line.split())


def pitfall_diagnoses(source: str) -> list[tuple[str, str]]:
    """(function name, text) of each @pitfall and @alternative in a pitfalls file, read without running it.

    Running the files would import every kata's frameworks into one process, TensorFlow and torch
    in whatever order the catalog lists them (an order that can hang).
    """
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call) or len(decorator.args) < 2:
                continue
            name = decorator.func.id if isinstance(decorator.func, ast.Name) else getattr(decorator.func, "attr", "")
            text = decorator.args[1]
            if name in ("pitfall", "alternative") and isinstance(text, ast.Constant) and isinstance(text.value, str):
                found.append((node.name, text.value.strip()))
    return found


def find_leaks(tree: Path, root: Path, catalog: Catalog, chosen: list[Kata], hints: str) -> list[str]:
    """Everything in `tree` that gives an answer away: reference code, pitfall diagnoses, held-back hints.

    Reference code is every solution line of at least 30 characters that is not also in a stub,
    a public test or the tooling (those are public anyway); pitfall
    diagnoses and held-back hints are matched verbatim. Every kata in the catalog is checked,
    not only the chosen ones.
    """
    chosen_ids = {k.id for k in chosen}
    shown = {"none": 0, "first": 1, "all": 3}[hints]
    needles: list[tuple[str, str]] = []  # (normalised text, what it is)
    # Lines anyone may see: every stub and public test, and the tooling. A solution line that is
    # also one of these (a validation message another kata's test repeats) gives nothing away.
    public_lines = []
    for path in [*(k.stub_path(root) for k in catalog), *(k.test_path(root) for k in catalog),
                 *sorted(PACKAGE.rglob("*.py"))]:
        if path.is_file():
            public_lines.extend(_norm(line) for line in path.read_text(encoding="utf-8").splitlines())
    public, public_text = set(public_lines), "\n".join(public_lines)
    for kata in catalog:
        solution = kata.solution_path(root)
        if solution.is_file():
            for number, line in enumerate(solution.read_text(encoding="utf-8").splitlines(), 1):
                text = _norm(line)
                # Part of a public line counts as public too (`@tf.function(input_signature=[` is in tests).
                if len(text) >= 30 and text not in public and text not in public_text:
                    needles.append((text, f"line {number} of solutions/{kata.id}.py"))
        pitfalls_path = kata.pitfalls_path(root)
        if pitfalls_path.is_file():
            for name, diagnosis in pitfall_diagnoses(pitfalls_path.read_text(encoding="utf-8")):
                if len(diagnosis) >= 20:
                    needles.append((_norm(diagnosis), f"the diagnosis of pitfalls/{kata.id}.py::{name}"))
        for level, hint in enumerate(kata.hints):
            if kata.id not in chosen_ids or level >= shown:
                needles.append((_norm(hint), f"hint {level + 1} of {kata.id}"))
    leaks = []
    for rel, path in tree_files(tree).items():
        parts = Path(rel).parts
        if "solutions" in parts or "pitfalls" in parts:
            leaks.append(f"{rel}: a solutions/ or pitfalls/ path")
            continue
        text = _text_of(path)
        if text is None:
            continue
        flat = _norm(text)
        for needle, what in needles:
            if needle and needle in flat:
                leaks.append(f"{rel}: contains {what}")
    return leaks
