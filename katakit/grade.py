"""``katas grade``: grade take-home submissions, each in a sandbox, and report per submission and per batch.

    katas grade SUBMISSION... --release TAKE_HOME --out REPORT [-j N]

A submission is a folder, a git repository, or a .zip/.tar.gz of one. Only its kata files
(``katas/<id>.py``) are used: the tests, the plugin and the answers come from this repository,
and anything else the candidate changed is listed in the report and ignored.

Before any submission runs, a trusted run records the reference solutions' answers for this
batch's secret seed (the hidden checks: the kata's tests on inputs the candidate never saw, with
the known wrong answers' outputs, so that a failure can be named) and for the public seed (the
checks the candidate ran). Then each submission runs in a scratch copy under every control
sandbox.py finds on this machine, with the recorded answers and never the reference code, and a
watchdog per submission. A run that hangs, crashes or exits early is resumed without the kata
it was in; every submission gets its report, whatever happened.

Per submission: ``<name>/results.json`` (Gradescope), ``<name>/junit.xml`` and ``<name>/report.md``.
Per batch: ``summary.csv`` and ``summary.md``, written even when submissions fail.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Kata
from .cli import CommandError, find_root, load_catalog, resolve_kata
from .constraints import find_forbidden, unfinished_functions
from .intake import IntakeError, changed_files, take_in
from .sandbox import Limits, Sandbox, SandboxUnavailable, parse_size
from .takehome import (
    CANDIDATE_CONFTEST,
    MANIFEST,
    TakeHomeError,
    build_grading_tree,
    file_digest,
    protected_paths,
    pytest_argv,
    read_events,
    read_manifest,
    record_answers,
    sandbox_env,
    test_args,
)

FORBIDDEN_CHECK = "forbidden_calls"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "grade", help="grade take-home submissions in a sandbox: Gradescope results.json, JUnit XML, summaries",
        description="Grade take-home submissions, each in a sandbox, and report per submission (report.md, "
                    "results.json for Gradescope, junit.xml) and per batch (summary.md, summary.csv). "
                    + " ".join(__doc__.split("\n\n")[2].split()))
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                        help="a folder, git repository, .zip or .tar.gz per candidate")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="where the reports go")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--release", type=Path, metavar="DIR",
                       help="the take-home as released (katas release --out DIR): its katas, and its files to "
                            "compare submissions with")
    which.add_argument("--katas", metavar="ID,ID,...", help="the katas to grade, without a released copy")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="submissions graded at once (default 1)")
    parser.add_argument("--seed", type=int, help="the hidden checks' seed (default: a new secret one per batch; "
                                                 "the summary records it, so a batch can be graded again alike)")
    parser.add_argument("--time-limit", type=float, default=900.0, metavar="S",
                        help="seconds for all of one submission (default 900)")
    parser.add_argument("--test-time-limit", type=float, metavar="S",
                        help="cap each test's time limit at S seconds (default: each kata's own limit)")
    parser.add_argument("--memory", default="4G", metavar="SIZE", help="memory per submission (default 4G)")
    parser.add_argument("--processes", type=int, default=256, metavar="N",
                        help="processes and threads per submission (default 256)")
    parser.add_argument("--similarity", type=float, default=None, metavar="X",
                        help="flag pairs of kata files at least this similar, 0 to 1 (default 0.7)")
    parser.add_argument("--no-namespaces", action="store_true", help=argparse_suppress())
    parser.add_argument("--no-cgroups", action="store_true", help=argparse_suppress())
    parser.add_argument("--keep-work", action="store_true", help="keep the scratch folder (for debugging the grader)")
    parser.set_defaults(func=run)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


# ---- results ----------------------------------------------------------------------------------------

@dataclass
class Check:
    kata: str
    nodeid: str
    hidden: bool
    status: str  # passed, failed, todo, error, timeout, not run
    message: str = ""
    duration: float = 0.0

    @property
    def name(self) -> str:
        test = self.nodeid.split("::", 1)[-1]
        return "no forbidden calls" if test == FORBIDDEN_CHECK else test

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def constraint(self) -> bool:
        """The forbidden-calls check: a rule to keep, worth no points by itself (a stub keeps it too)."""
        return self.nodeid.endswith("::" + FORBIDDEN_CHECK)


@dataclass
class KataResult:
    kata: Kata
    hidden: list[Check] = field(default_factory=list)
    public: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    known_mistakes: list[str] = field(default_factory=list)

    @property
    def broke_rules(self) -> bool:
        return any(c.constraint and c.status == "failed" for c in self.hidden)

    @property
    def score(self) -> float:
        """Points times the share of hidden checks passed; 0 when the code uses a forbidden call.

        A kata forbids a call because the exercise is to do without it: code that makes the call
        passes the other checks without doing the exercise.
        """
        scored = [c for c in self.hidden if not c.constraint]
        if not scored or self.broke_rules:
            return 0.0
        return round(self.kata.points * sum(c.passed for c in scored) / len(scored), 2)

    def counts(self, hidden: bool = True) -> tuple[int, int]:
        checks = [c for c in (self.hidden if hidden else self.public) if not c.constraint]
        return sum(c.passed for c in checks), len(checks)


@dataclass
class SubmissionResult:
    name: str
    source: str
    kind: str = "?"
    katas: dict[str, KataResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    git: dict | None = None
    progress: dict | None = None
    suspicious: dict[str, list[str]] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)
    unrecorded: dict[str, int] = field(default_factory=dict)  # kata -> hidden comparisons not made
    similar: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    runs: int = 0
    error: str | None = None  # the submission could not be graded at all

    @property
    def score(self) -> float:
        return round(sum(k.score for k in self.katas.values()), 2)

    @property
    def max_score(self) -> int:
        return sum(k.kata.points for k in self.katas.values())


# ---- messages ----------------------------------------------------------------------------------------

def headline(message: str) -> str:
    """The line of a pytest failure that says what went wrong."""
    lines = [line.rstrip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("E "):
            return line[1:].strip()[:300]
    for line in lines:
        if not line.startswith(("    ", "\t", ">")):
            return line.strip()[:300]
    return lines[0].strip()[:300] if lines else ""


KNOWN_MISTAKE = re.compile(r"known mistake: (.*)")


def known_mistake(message: str) -> str | None:
    match = KNOWN_MISTAKE.search(message)
    return match.group(1).strip() if match else None


def kata_of_nodeid(nodeid: str) -> str | None:
    stem = Path(nodeid.split("::")[0]).stem
    return stem[len("test_"):] if stem.startswith("test_") else None


class TestWatch:
    """Reads the run's result stream as it grows; says when a test has run past its hard limit."""

    def __init__(self, events_path: Path, limits: dict[str, float], grace: float):
        self.path, self.limits, self.grace = events_path, limits, grace
        self.offset, self.partial = 0, b""
        self.current: str | None = None
        self.since = 0.0

    def __call__(self) -> str | None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            data = b""
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if event.get("event") == "start":
                self.current, self.since = event.get("nodeid"), time.monotonic()
            elif event.get("event") == "result" and event.get("nodeid") == self.current:
                self.current = None
        if self.current:
            limit = self.limits.get(kata_of_nodeid(self.current) or "", 120.0)
            ran = time.monotonic() - self.since
            if ran > limit + self.grace:
                return (f"{self.current} ran {ran:.0f} s, past its {limit:g} s limit, and the in-process timer "
                        f"did not stop it")
        return None


# ---- one batch -----------------------------------------------------------------------------------------

class Batch:
    def __init__(self, root: Path, catalog, katas: list[Kata], *, out: Path, work: Path, limits: Limits,
                 seed: int, test_cap: float | None, release: Path | None, manifest: dict | None,
                 allow_namespaces: bool, allow_cgroups: bool, say):
        self.root, self.catalog, self.katas = root, catalog, katas
        self.out, self.work, self.limits, self.seed, self.test_cap = out, work, limits, seed, test_cap
        self.release, self.manifest = release, manifest
        self.allow_namespaces, self.allow_cgroups, self.say = allow_namespaces, allow_cgroups, say
        self.private, self.trees, self.subs, self.runs = (work / n for n in ("private", "trees", "subs", "runs"))
        for folder in (self.private, self.trees, self.subs, self.runs):
            folder.mkdir(parents=True, exist_ok=True)
        self.notes: list[str] = []
        self.prepare_s = 0.0

    # -- once per batch
    def prepare(self) -> None:
        started = time.perf_counter()
        ids = ", ".join(k.id for k in self.katas)
        self.say(f"recording the reference's answers for {ids} (hidden seed {self.seed}) ...")
        self.tables, outcomes = record_answers(self.root, self.catalog, self.katas, self.private, seed=self.seed,
                                               pitfalls=True, public=True, grading=True, time_cap=self.test_cap)
        shutil.rmtree(self.private / "recording", ignore_errors=True)  # it held the reference code
        ignore = self.tables / "tripwire-ignore.json"
        self.tripwire_ignore = ignore.read_text() if ignore.is_file() else "[]"
        ignore.unlink(missing_ok=True)
        self.expected: dict[str, dict[str, list[str]]] = {k.id: {"tests": [], "public": []} for k in self.katas}
        for nodeid, outcome in outcomes.items():
            kata_id, folder = outcome["kata"], outcome["folder"]
            if kata_id not in self.expected or folder not in ("tests", "public"):
                continue
            if outcome["outcome"] == "passed":
                self.expected[kata_id][folder].append(nodeid)
            elif outcome["outcome"] != "skipped":
                self.notes.append(f"{nodeid} {outcome['outcome']} on the reference solution with this batch's seed; "
                                  f"not scored: {headline(outcome['message'])}")
        self.template = build_grading_tree(self.root, self.catalog, self.katas, self.private / "template",
                                           with_reference=False, public=True, time_cap=self.test_cap)
        self.expected_files = self._expected_files()
        hide = protected_paths(self.root) + [str(self.private), str(self.trees), str(self.subs)]
        self.say("probing what this machine allows for the sandbox ...")
        try:
            self.sandbox = Sandbox.probe(self.limits, hide=hide, work=self.work,
                                         allow_namespaces=self.allow_namespaces, allow_cgroups=self.allow_cgroups)
        except SandboxUnavailable as exc:
            raise TakeHomeError(str(exc)) from None
        self.hide = hide
        self.stubs = {k.id: k.stub_path(self.root).read_text(encoding="utf-8") for k in self.katas}
        self.test_limits = {k.id: min(k.time_limit, self.test_cap) if self.test_cap else k.time_limit
                            for k in self.katas}
        self.prepare_s = time.perf_counter() - started

    def _expected_files(self) -> dict[str, str | None]:
        """Released path -> sha256 (None: presence only), for listing what a candidate changed."""
        if self.manifest is not None and isinstance(self.manifest.get("files"), dict):
            found = {rel: digest for rel, digest in self.manifest["files"].items() if isinstance(rel, str)}
            found[MANIFEST] = None
            return found
        expected: dict[str, str | None] = {}
        for kata in self.katas:
            expected[f"tests/test_{kata.id}.py"] = file_digest(kata.test_path(self.root))
            expected[f"tests/recorded/{kata.id}.json.gz"] = None
        package = self.template / "katakit"
        for path in sorted(package.rglob("*")):
            if path.is_file():
                expected[f"katakit/{path.relative_to(package).as_posix()}"] = file_digest(path)
        import hashlib

        expected["conftest.py"] = hashlib.sha256(CANDIDATE_CONFTEST.encode()).hexdigest()
        for rel in ("katas.toml", "pyproject.toml", "README.md", ".gitignore", ".devcontainer/devcontainer.json",
                    ".github/workflows/public-checks.yml"):
            expected[rel] = None
        expected[MANIFEST] = None
        return expected

    # -- one submission
    def grade(self, name: str, path: Path) -> SubmissionResult:
        result = SubmissionResult(name=name, source=str(path))
        started = time.perf_counter()
        scratch = self.subs / name
        scratch.mkdir(parents=True, exist_ok=True)
        try:
            self._grade(result, path, scratch)
        except Exception as exc:  # a grader bug must not cost the batch, nor this submission its report
            result.error = f"the grader failed on this submission: {type(exc).__name__}: {exc}"
            result.notes.append(result.error)
            (self.out / name).mkdir(parents=True, exist_ok=True)
            (self.out / name / "grader-error.txt").write_text(traceback.format_exc())
        finally:
            result.wall_s = time.perf_counter() - started
            for kata in self.katas:  # every kata appears, scored 0 where nothing ran
                if kata.id not in result.katas:
                    result.katas[kata.id] = self._unrun(kata, result.error or "not graded")
            shutil.rmtree(self.trees / name, ignore_errors=True)
        return result

    def _unrun(self, kata: Kata, why: str) -> KataResult:
        found = KataResult(kata)
        found.hidden = [Check(kata.id, n, True, "not run", why) for n in self.expected[kata.id]["tests"]]
        found.public = [Check(kata.id, n, False, "not run", why) for n in self.expected[kata.id]["public"]]
        return found

    def _grade(self, result: SubmissionResult, path: Path, scratch: Path) -> None:
        from . import integrity

        ids = [k.id for k in self.katas]
        try:
            intake = take_in(path, scratch, ids)
        except IntakeError as exc:
            result.error = f"cannot read the submission: {exc}"
            result.notes.append(result.error)
            return
        result.kind = intake.kind
        result.notes.extend(intake.notes)
        result.sources = intake.kata_sources
        result.git = integrity.git_history(intake.folder)
        result.progress = integrity.progress(intake.folder, ids)
        graded = {f"katas/{k}.py" for k in ids}
        result.changed = changed_files(intake.folder, self.expected_files, graded)
        for kata_id, source in intake.kata_sources.items():
            found = integrity.suspicious_constructs(source)
            if found:
                result.suspicious[kata_id] = found
        runnable, static = [], {}
        for kata in self.katas:
            source = intake.kata_sources.get(kata.id)
            if source is None:
                result.katas[kata.id] = self._unrun(kata, "no kata file")
                continue
            try:
                ast.parse(source)
            except SyntaxError as exc:
                why = f"SyntaxError in katas/{kata.id}.py, line {exc.lineno}: {exc.msg}"
                result.katas[kata.id] = self._unrun(kata, why)
                result.katas[kata.id].notes.append(why)
                for check in result.katas[kata.id].hidden + result.katas[kata.id].public:
                    check.status = "error"
                continue
            static[kata.id] = self._forbidden(kata, source)
            runnable.append(kata)
        events = self._run(result, runnable, intake.kata_sources, scratch) if runnable else {}
        for kata in runnable:
            if kata.id not in result.katas:  # _run already settled katas it could not run at all
                result.katas[kata.id] = self._score(kata, events, static[kata.id])
            missed = result.unrecorded.get(kata.id)
            if missed:  # inputs drawn are those recorded whatever the code does; answers too big to store are not
                result.katas[kata.id].notes.append(
                    f"{missed} comparison(s) with the reference were not made: no answer was recorded for their "
                    f"input (too large or not storable, or an input not drawn in the recording); the other checks "
                    f"stand")

    def _forbidden(self, kata: Kata, source: str) -> tuple[str, str]:
        """The forbidden-calls check, decided here from the source (trusted), not in the sandbox."""
        violations = find_forbidden(source, kata.forbidden) if kata.forbidden else []
        if violations:
            return "failed", "forbidden calls: " + "; ".join(str(v) for v in violations)
        unfinished = unfinished_functions(source)
        if unfinished:
            return "todo", f"{', '.join(unfinished)} still raise NotImplementedError"
        return "passed", ""

    def _tree(self, name: str, sources: dict[str, str]) -> Path:
        tree = self.trees / name
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(self.template, tree)
        for kata_id, source in sources.items():
            (tree / "katas" / f"{kata_id}.py").write_text(source, encoding="utf-8")
        shutil.copytree(self.tables, tree / ".katakit" / "tables")
        return tree

    def _run(self, result: SubmissionResult, katas: list[Kata], sources: dict[str, str], scratch: Path
             ) -> dict[str, dict]:
        """Run the checks of `katas` in the sandbox, resuming after a crash or hang; nodeid -> result event."""
        name = result.name
        deadline = time.monotonic() + self.limits.submission_s
        results: dict[str, dict] = {}
        remaining = list(katas)
        attempt = 0
        while remaining:
            left = deadline - time.monotonic()
            if left < 1:
                self._stop_all(result, remaining, f"the submission used up its {self.limits.submission_s:g} s")
                break
            tree = self._tree(name, {k.id: sources[k.id] for k in remaining})
            run_dir = self.runs / f"{name}-{attempt}"
            inside = run_dir if self.sandbox.use_tmpfs else tree
            env = sandbox_env({
                "KATAKIT_TABLES": "tests=.katakit/tables/tests;public=.katakit/tables/public",
                "KATAKIT_TABLES_DELETE": "1", "KATAKIT_GRADING": "1", "KATAKIT_GRADING_SEED": str(self.seed),
                "KATAKIT_TRIPWIRE": "enforce", "KATAKIT_TRIPWIRE_IGNORE": self.tripwire_ignore,
                # Without a mount namespace the run works in its tree under trees/, which is hidden
                # from everyone else; `allowed` lets it in there.
                "KATAKIT_AUDIT": json.dumps({"katas_dir": str(inside / "katas"), "kata_ids": [k.id for k in katas],
                                             "protected": self.hide, "allowed": [str(inside)]}),
            })
            tag = f"run{attempt}"
            watch = TestWatch(scratch / f"events-{tag}.jsonl", self.test_limits, self.limits.test_grace_s)
            run = self.sandbox.run(pytest_argv(test_args(remaining)), tree, env, run_dir=run_dir, scratch=scratch,
                                   tag=tag, watch=watch, time_limit_s=left)
            result.runs += 1
            events = read_events(run.events_path)
            finished = any(e.get("event") == "finish" for e in events)
            for event in events:
                if event.get("event") == "result" and isinstance(event.get("nodeid"), str):
                    results[event["nodeid"]] = event
                elif event.get("event") == "audit":
                    result.audit.append(event)
                elif event.get("event") == "tamper":
                    changed = ", ".join(str(c) for c in event.get("changed", [])[:10])
                    result.notes.append(f"the code under test replaced what the checks rely on ({changed}) during "
                                        f"{event.get('nodeid')}: every check passed from then on counts as failed")
                elif event.get("event") == "replay" and event.get("folder") == "tests":
                    kata_id = str(event.get("kata"))
                    missed = int(event.get("unrecorded") or 0) + int(event.get("unstorable") or 0)
                    if missed:
                        result.unrecorded[kata_id] = result.unrecorded.get(kata_id, 0) + missed
            shutil.rmtree(tree, ignore_errors=True)
            try:
                run_dir.rmdir()
            except OSError:
                pass
            if finished and not run.killed and run.exit_code in (0, 1):
                break
            reason = self._why_stopped(run, finished)
            started = [e["nodeid"] for e in events if e.get("event") == "start" and isinstance(e.get("nodeid"), str)]
            culprit_node = started[-1] if started and started[-1] not in results else None
            culprit = kata_of_nodeid(culprit_node) if culprit_node else None
            if culprit_node:
                results[culprit_node] = {"nodeid": culprit_node, "outcome": "error", "timeout": "time" in reason,
                                         "message": f"stopped: {reason}"}
            if culprit is None:
                if not any(e.get("event") == "result" for e in events):
                    self._stop_all(result, remaining, f"{reason} before any check ran")
                    result.notes.append(f"the run stopped before any check ran: {reason}")
                    if run.output_tail.strip():
                        result.notes.append("its last output: " + run.output_tail.strip().splitlines()[-1][:300])
                    break
                culprit = next((k.id for k in remaining
                                if any(kata_of_nodeid(n) == k.id and n not in results
                                       for n in self.expected[k.id]["tests"] + self.expected[k.id]["public"])), None)
            note = f"{culprit}: the run was stopped in {culprit_node or 'it'}: {reason}; its checks not run by then " \
                   f"count as failed" if culprit else f"the run was stopped: {reason}"
            result.notes.append(note)
            for kata in remaining:
                if kata.id == culprit:
                    for nodeid in self.expected[kata.id]["tests"] + self.expected[kata.id]["public"]:
                        results.setdefault(nodeid, {"nodeid": nodeid, "outcome": "not run",
                                                    "message": f"the run was stopped ({reason})"})
            remaining = [k for k in remaining if k.id != culprit and any(
                n not in results for n in self.expected[k.id]["tests"] + self.expected[k.id]["public"])]
            attempt += 1
        return results

    def _stop_all(self, result, katas, why) -> None:
        for kata in katas:
            result.katas[kata.id] = self._unrun(kata, why)

    @staticmethod
    def _why_stopped(run, finished: bool) -> str:
        if run.killed:
            return run.killed
        code = run.exit_code
        if run.oom:
            return "the memory limit's out-of-memory killer ended it"
        if code == 121:
            tail = run.output_tail.strip().splitlines()
            return "the sandbox could not start it" + (f" ({tail[-1][:200]})" if tail else "")
        if code is not None and code > 128:
            import signal

            try:
                name = signal.Signals(code - 128).name
            except ValueError:
                name = f"signal {code - 128}"
            return f"the process died of {name}"
        if not finished:
            return f"the process exited early (status {code})"
        return f"pytest ended with status {code}"

    def _score(self, kata: Kata, events: dict[str, dict], static: tuple[str, str]) -> KataResult:
        found = KataResult(kata)
        for folder, target in (("tests", found.hidden), ("public", found.public)):
            for nodeid in self.expected[kata.id][folder]:
                event = events.get(nodeid)
                if nodeid.endswith("::" + FORBIDDEN_CHECK):
                    status, message = static
                    target.append(Check(kata.id, nodeid, folder == "tests", status, message))
                    continue
                if event is None:
                    target.append(Check(kata.id, nodeid, folder == "tests", "not run", "no result"))
                    continue
                outcome = event.get("outcome", "error")
                status = "timeout" if event.get("timeout") else outcome
                if status == "skipped":
                    status = "not run"  # it passed on the reference, so a skip here is not a pass
                message = str(event.get("message", ""))
                target.append(Check(kata.id, nodeid, folder == "tests", status, message,
                                    float(event.get("duration") or 0.0)))
                mistake = known_mistake(message) if folder == "tests" else None
                if mistake and mistake not in found.known_mistakes:
                    found.known_mistakes.append(mistake)
        if found.broke_rules:
            found.notes.append(f"uses a forbidden call, so the kata scores 0: {static[1]}")
        messages = [c.message for c in found.hidden + found.public]
        timeouts = sum(c.status == "timeout" for c in found.hidden + found.public)
        if timeouts:
            found.notes.append(f"{timeouts} check(s) ran past the time limit")
        if any("MemoryError" in m for m in messages):
            found.notes.append("the memory limit stopped an allocation (MemoryError)")
        if any("blocked by the grader" in m for m in messages):
            found.notes.append("the sandbox blocked something the code tried (see the audit log)")
        return found


# ---- the command -------------------------------------------------------------------------------------------

def _names(paths: list[Path]) -> list[str]:
    names, seen = [], {}
    for path in paths:
        base = path.name
        for suffix in (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip"):
            if base.lower().endswith(suffix):
                base = base[: -len(suffix)]
                break
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "submission"
        count = seen.get(base, 0)
        seen[base] = count + 1
        names.append(base if count == 0 else f"{base}-{count + 1}")
    return names


def run(args) -> int:
    from . import integrity, reports

    root = find_root()
    catalog = load_catalog(root)
    manifest = None
    if args.release is not None:
        try:
            manifest = read_manifest(args.release.resolve())
        except TakeHomeError as exc:
            raise CommandError(str(exc)) from None
        ids = manifest["katas"]
    else:
        ids = [part.strip() for part in args.katas.split(",") if part.strip()]
    if not ids:
        raise CommandError("no katas to grade")
    katas = [resolve_kata(catalog, kata_id) for kata_id in ids]
    missing = [str(p.relative_to(root)) for k in katas for p in (k.test_path(root), k.solution_path(root))
               if not p.is_file()]
    if missing:
        raise CommandError("cannot grade without these files: " + ", ".join(missing))
    if args.jobs < 1:
        raise CommandError("-j must be at least 1")
    try:
        memory = parse_size(args.memory)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    threshold = integrity.DEFAULT_THRESHOLD if args.similarity is None else args.similarity
    if not 0 < threshold <= 1:
        raise CommandError("--similarity is between 0 and 1")
    limits = Limits(submission_s=args.time_limit, memory_bytes=memory, processes=args.processes,
                    test_s=args.test_time_limit)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    submissions = [Path(p).resolve() if Path(p).exists() else Path(p) for p in args.submissions]
    names = _names(submissions)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    work = Path(tempfile.mkdtemp(prefix="katas-grade-"))
    started = time.perf_counter()
    results: list[SubmissionResult] = []
    batch = Batch(root, catalog, katas, out=out, work=work, limits=limits, seed=seed, test_cap=args.test_time_limit,
                  release=args.release, manifest=manifest, allow_namespaces=not args.no_namespaces,
                  allow_cgroups=not args.no_cgroups, say=say)
    try:
        try:
            batch.prepare()
        except TakeHomeError as exc:
            raise CommandError(str(exc)) from None
        _grade_all(batch, list(zip(names, submissions, strict=True)), args.jobs, results)
        for kata_id, first, second, score in integrity.similar_pairs(
                {r.name: r.sources for r in results}, batch.stubs, threshold):
            for mine, other in ((first, second), (second, first)):
                found = next(r for r in results if r.name == mine)
                found.similar.append(f"{kata_id}: {score:.2f} with {other}")
    finally:  # also after Ctrl-C or a crash of the grader: whatever was graded gets its reports
        wall = time.perf_counter() - started
        if len(results) < len(submissions) and getattr(batch, "sandbox", None) is not None:
            batch.notes.append(f"grading was interrupted: {len(results)} of {len(submissions)} submissions graded")
        if results or getattr(batch, "sandbox", None) is not None:
            for found in results:
                reports.write_submission(out / found.name, found, batch)
            reports.write_summary(out, results, batch, wall_s=wall, jobs=args.jobs, threshold=threshold)
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"scratch kept in {work}")
    graded = [r for r in results if r.error is None]
    print(f"graded {len(graded)} of {len(results)} submissions in {wall:.1f} s "
          f"(preparation {batch.prepare_s:.1f} s, -j {args.jobs}); seed {seed}")
    for found in results:
        print(f"  {found.name:<28} {found.score:>7.2f} / {found.max_score:<4} {found.wall_s:6.1f} s"
              + (f"  {found.error}" if found.error else ""))
    print(f"report: {out / 'summary.md'} (and summary.csv; per submission: results.json, junit.xml, report.md)")
    return 0


def _grade_all(batch: Batch, work: list[tuple[str, Path]], jobs: int, results: list[SubmissionResult]) -> None:
    """Grade every submission, `jobs` at a time, with a progress bar; `results` fills as they finish."""
    from rich.console import Console

    console = Console(stderr=True)  # rich honours NO_COLOR, and draws no bar where stderr is not a terminal
    done: dict[int, SubmissionResult] = {}
    lock = threading.Lock()

    def line(found: SubmissionResult, count: int) -> str:
        status = found.error or f"{found.score:.2f} / {found.max_score}"
        return f"[{count}/{len(work)}] {found.name}: {status} ({found.wall_s:.1f} s)"

    def graded(index: int, name: str, path: Path) -> SubmissionResult:
        found = batch.grade(name, path)
        with lock:
            done[index] = found
            results[:] = [done[i] for i in sorted(done)]
        return found

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(graded, i, name, path): i for i, (name, path) in enumerate(work)}
        try:
            _follow(futures, console, line, len(work))
        except BaseException:  # Ctrl-C: finish what is running, start nothing more
            for future in futures:
                future.cancel()
            raise


def _follow(futures, console, line, total: int) -> None:
    """One line per submission as it finishes, under a progress bar where stderr is a terminal."""
    if not console.is_terminal:
        for count, future in enumerate(as_completed(futures), 1):
            print(line(future.result(), count), file=sys.stderr, flush=True)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task("grading", total=total)
        for count, future in enumerate(as_completed(futures), 1):
            bar.console.print(line(future.result(), count), markup=False, highlight=False)
            bar.advance(task)
