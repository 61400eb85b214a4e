"""Fast re-checks for watch mode: a warm parent process and a fresh forked child per check.

Importing TensorFlow takes seconds; a kata's tests often take less. So the watch process
imports, once, everything the current kata's tests need (the frameworks, pytest, Hypothesis,
the test module's own imports and optional oracles), and each check forks a child that runs
exactly what a cold ``pytest tests/test_<id>.py`` runs. The child loads the learner's file
afresh, so every save is seen; nothing a check does (a patched module, a hung thread, a crash)
survives into the next one. Where there is no fork (Windows), each check is a cold subprocess.

A kata whose tests took long enough last time is checked in shares (see ``shares``): one child
per core, each kept to CPUs of its own, runs its share of the tests side by side, then the tests
marked ``speed`` run alone, and the results are merged into what a single run reports. Every
test runs exactly as it would in a single run (each starts from the same seeds, and Hypothesis
derives its examples from the test), so the merged result is the same; the tests in
``tests/test_watch.py`` prove that they agree.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Kata
from .loading import HEAVY_FRAMEWORKS, prepare_frameworks
from .plugin import status_from_tally
from .shares import SPEED
from .state import State

CAN_FORK = hasattr(os, "fork")
SHARE_ABOVE_S = 0.4  # tests that took less than this in all are not worth a second child's start-up


@dataclass
class CheckResult:
    """One check of one kata: its status and what to show about it."""

    kata_id: str
    status: str  # done, failing, todo, error, skipped
    counts: dict[str, int] = field(default_factory=dict)  # outcome -> number of tests
    first_problem: str = ""  # the first failure's message, or the todo/error line
    seconds: float = 0.0
    tests: dict[str, dict] = field(default_factory=dict)  # nodeid -> {"outcome", "message"}
    runs: int = 1  # how many pytest runs the check took: more than one when it ran in shares


def pytest_args(kata: Kata, root: Path, results_path: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """The command line of one check, the same for a warm child and a cold run."""
    return [str(kata.test_path(root).relative_to(root)), "-q", "--katas-json", str(results_path), *extra]


def _module_imports(test_file: Path) -> list[str]:
    """Modules a test file imports at the top, and the optional oracles it asks importorskip for."""
    try:
        tree = ast.parse(test_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "importorskip"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.append(node.args[0].value)
    return names


class WarmRunner:
    def __init__(self, root: Path, jobs: int | None = None, share_above_s: float = SHARE_ABOVE_S):
        self.root = Path(root)
        self.warmed: set[str] = set()
        self.jobs = max(1, jobs if jobs is not None else min(2, os.cpu_count() or 1))
        self.share_above_s = share_above_s
        self.last_results: dict[str, dict] = {}  # kata id -> the last complete --katas-json data

    def plan(self, kata: Kata) -> list[list[str]]:
        """The waves of shares for the next check of `kata`; [] means one plain run.

        A check is split only when the last complete one says the tests are worth it. The shares
        of the first wave run side by side; the speed tests, if any, run after them, alone.
        """
        last = self.last_results.get(kata.id)
        if not CAN_FORK or self.jobs < 2 or not last:
            return []
        speed = set(last.get("speed", []))
        durations = last.get("durations", {})
        others_s = sum(s for nodeid, s in durations.items() if nodeid not in speed)
        if others_s < self.share_above_s:
            return []
        waves = [[f"{k}/{self.jobs}" for k in range(1, self.jobs + 1)]]
        return waves + [[SPEED]] if speed else waves

    def warm_up(self, kata: Kata) -> float:
        """Import what the kata's tests need; returns the seconds it took (0 when already warm)."""
        if not CAN_FORK or kata.id in self.warmed:
            return 0.0
        started = time.perf_counter()
        prepare_frameworks([kata])
        import _pytest.python  # noqa: F401  (collection machinery)
        import hypothesis  # noqa: F401
        import pytest  # noqa: F401

        from . import plugin, testing  # noqa: F401
        for name in _module_imports(kata.test_path(self.root)):
            if name.split(".")[0] in HEAVY_FRAMEWORKS and name.split(".")[0] not in kata.frameworks:
                continue  # never import a framework the catalog does not list, or in the wrong order
            try:
                importlib.import_module(name)
            except Exception:  # an optional oracle that is not installed: the check will say so
                pass
        self.warmed.add(kata.id)
        return time.perf_counter() - started

    def start(self, kata: Kata, extra: tuple[str, ...] = ()) -> RunningCheck:
        return RunningCheck(self, kata, extra)


def _cpus_for(index: int, count: int) -> set[int] | None:
    """The CPUs for share `index` of `count` side by side: every count-th one this process may use.

    Shares that keep to CPUs of their own ran a third faster (inference_dataset on 2 cores: 1.7 s
    against 2.1 s a share): the threads each framework starts stay with their own share's work.
    Which CPU runs a thread changes no result; the thread counts stay what the frameworks chose.
    """
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    mine = set(allowed[index::count])
    return mine if len(allowed) >= count and mine else None


@dataclass
class _Child:
    """One pytest run of a check: the whole check, or one share of it."""

    share: str | None
    results_path: Path
    log_path: Path
    pid: int = 0
    process: subprocess.Popen | None = None
    returncode: int | None = None


class RunningCheck:
    """A check in progress: poll it with done(), read result(), or cancel() it (a new save)."""

    def __init__(self, runner: WarmRunner, kata: Kata, extra: tuple[str, ...]):
        self.runner, self.kata, self.root, self.extra = runner, kata, runner.root, extra
        self.workdir = Path(tempfile.mkdtemp(prefix="katas-check-"))
        self.started = time.perf_counter()
        self._result: CheckResult | None = None
        self.waves = runner.plan(kata)
        if self.waves:
            self.durations_path = self.workdir / "durations.json"
            self.durations_path.write_text(json.dumps({"durations": runner.last_results[kata.id]["durations"]}))
        self.finished: list[_Child] = []
        self.running: list[_Child] = []
        self._start_wave(self.waves.pop(0) if self.waves else [None])

    def _start_wave(self, shares: list[str | None]) -> None:
        # Side by side, each share keeps to CPUs of its own; but a kata that splits the CPU into
        # logical devices runs its replicas on threads at once, and kept to one CPU they would
        # take turns (replicated_inference: 2.25 s a check, not 1.9).
        pinned = len(shares) > 1 and self.kata.logical_cpus == 1
        for index, share in enumerate(shares):
            number = len(self.finished) + len(self.running)
            child = _Child(share, self.workdir / f"results-{number}.json", self.workdir / f"output-{number}.log")
            extra = self.extra
            if share is not None:
                # The shares share one cache folder: leave the last-failed and new-first records alone.
                extra += ("--katas-share", share, "--katas-durations", str(self.durations_path),
                          "-p", "no:lfplugin", "-p", "no:nfplugin")
            args = pytest_args(self.kata, self.root, child.results_path, extra)
            if CAN_FORK:
                child.pid = self._fork(args, child.log_path, _cpus_for(index, len(shares)) if pinned else None)
            else:
                with open(child.log_path, "wb") as log:
                    child.process = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=self.root,
                                                     stdout=log, stderr=subprocess.STDOUT)
                child.pid = child.process.pid
            self.running.append(child)

    def _fork(self, args: list[str], log_path: Path, cpus: set[int] | None = None) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            return pid
        code = 70
        try:  # the child: run pytest as a cold run would, with its output in a file
            os.setpgid(0, 0)  # its own process group, so cancel() reaches anything it starts
            if cpus:
                os.sched_setaffinity(0, cpus)
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(log, 1)
            os.dup2(log, 2)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.chdir(self.root)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            import pytest

            code = int(pytest.main(args))
        except BaseException:  # noqa: BLE001 (anything at all: the parent reads the log)
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    @staticmethod
    def _poll(child: _Child) -> bool:
        if child.returncode is not None:
            return True
        if child.process is not None:
            child.returncode = child.process.poll()
            return child.returncode is not None
        pid, status = os.waitpid(child.pid, os.WNOHANG)
        if pid == 0:
            return False
        child.returncode = os.waitstatus_to_exitcode(status)
        return True

    def done(self) -> bool:
        if self._result is not None:
            return True
        if not all([self._poll(child) for child in self.running]):
            return False
        self.finished += self.running
        self.running = []
        if self.waves:
            self._start_wave(self.waves.pop(0))
            return False
        self._result = self._read()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return True

    def wait(self, timeout: float | None = None) -> CheckResult:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done():
            if deadline is not None and time.monotonic() > deadline:
                self.cancel()
                raise TimeoutError(f"the check of {self.kata.id} took longer than {timeout} s")
            time.sleep(0.02)
        return self._result

    def result(self) -> CheckResult:
        if not self.done():
            raise RuntimeError("the check is still running")
        return self._result

    def cancel(self) -> None:
        if self._result is not None:
            return
        for child in self.running:
            try:
                os.killpg(child.pid, signal.SIGKILL) if CAN_FORK else child.process.kill()
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.waitpid(child.pid, 0) if CAN_FORK else child.process.wait()
            except ChildProcessError:
                pass
        self.running, self.waves = [], []
        shutil.rmtree(self.workdir, ignore_errors=True)
        self._result = CheckResult(self.kata.id, "cancelled", seconds=time.perf_counter() - self.started)

    def _read(self) -> CheckResult:
        seconds = time.perf_counter() - self.started
        runs = []
        for child in self.finished:
            try:
                runs.append(json.loads(child.results_path.read_text()))
            except (OSError, ValueError):
                tail = child.log_path.read_text(errors="replace")[-2000:] if child.log_path.exists() else ""
                reason = (f"the check ended without a result (exit status {child.returncode}); "
                          f"does the kata file exit the process, or crash it?\n{tail}")
                return CheckResult(self.kata.id, "error", first_problem=reason.strip(), seconds=seconds)
        # In the order a single run would have run them, whichever share ran them.
        tests = {nodeid: run["tests"][nodeid] for nodeid in runs[0].get("collected", [])
                 for run in runs if nodeid in run["tests"]}
        for run in runs:
            tests.update({nodeid: entry for nodeid, entry in run["tests"].items() if nodeid not in tests})
        tally: dict[str, int] = {}
        for run in runs:
            for outcome, number in run.get("tally", {}).get(self.kata.id, {}).items():
                tally[outcome] = tally.get(outcome, 0) + number
        counts: dict[str, int] = {}
        for entry in tests.values():
            counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
        first_problem = ""
        for wanted in ("broken", "failed", "todo"):
            first_problem = next((e["message"] for e in tests.values() if e["outcome"] == wanted), "")
            if first_problem:
                break
        tested = status_from_tally(tally)
        crashed = any(child.returncode not in (0, 1) for child in self.finished)
        status = tested or ("error" if crashed else "skipped")
        if len(self.finished) > 1 and runs[0].get("mode") == "learner" and tested not in (None, "skipped"):
            state = State.load(self.root)  # what a single run's summary records, from the merged result
            state.record_check(self.kata.id, tested)
            state.save()
        self.runner.last_results[self.kata.id] = {
            "speed": sorted({nodeid for run in runs for nodeid in run.get("speed", [])}),
            "durations": {nodeid: s for run in runs for nodeid, s in run.get("durations", {}).items()}}
        return CheckResult(self.kata.id, status, counts, first_problem, seconds, tests, runs=len(self.finished))
