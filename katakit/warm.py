"""Fast re-checks for watch mode: a warm parent process and a fresh forked child per check.

Importing TensorFlow takes seconds; a kata's tests often take less. So the watch process
imports, once, everything the current kata's tests need (the frameworks, pytest, Hypothesis,
the test module's own imports and optional oracles), and each check forks a child that runs
exactly what a cold ``pytest tests/test_<id>.py`` runs. The child loads the learner's file
afresh, so every save is seen; nothing a check does (a patched module, a hung thread, a crash)
survives into the next one. Where there is no fork (Windows), each check is a cold subprocess.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Kata
from .loading import HEAVY_FRAMEWORKS, prepare_frameworks

CAN_FORK = hasattr(os, "fork")


@dataclass
class CheckResult:
    """One check of one kata: its status and what to show about it."""

    kata_id: str
    status: str  # done, failing, todo, error, skipped
    counts: dict[str, int] = field(default_factory=dict)  # outcome -> number of tests
    first_problem: str = ""  # the first failure's message, or the todo/error line
    seconds: float = 0.0
    tests: dict[str, dict] = field(default_factory=dict)  # nodeid -> {"outcome", "message"}


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
    def __init__(self, root: Path):
        self.root = Path(root)
        self.warmed: set[str] = set()

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


class RunningCheck:
    """A check in progress: poll it with done(), read result(), or cancel() it (a new save)."""

    def __init__(self, runner: WarmRunner, kata: Kata, extra: tuple[str, ...]):
        self.kata, self.root = kata, runner.root
        self.workdir = Path(tempfile.mkdtemp(prefix="katas-check-"))
        self.results_path = self.workdir / "results.json"
        self.log_path = self.workdir / "output.log"
        self.started = time.perf_counter()
        self._result: CheckResult | None = None
        args = pytest_args(kata, self.root, self.results_path, extra)
        if CAN_FORK:
            self.pid, self.process = self._fork(args), None
        else:
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=self.root,
                                                stdout=log, stderr=subprocess.STDOUT)
            self.pid = self.process.pid

    def _fork(self, args: list[str]) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            return pid
        code = 70
        try:  # the child: run pytest as a cold run would, with its output in a file
            os.setpgid(0, 0)  # its own process group, so cancel() reaches anything it starts
            log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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

    def done(self) -> bool:
        if self._result is not None:
            return True
        if self.process is not None:
            returncode = self.process.poll()
            if returncode is None:
                return False
        else:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == 0:
                return False
            returncode = os.waitstatus_to_exitcode(status)
        self._result = self._read(returncode)
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
        try:
            os.killpg(self.pid, signal.SIGKILL) if CAN_FORK else self.process.kill()
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.waitpid(self.pid, 0) if CAN_FORK else self.process.wait()
        except ChildProcessError:
            pass
        self._result = CheckResult(self.kata.id, "cancelled", seconds=time.perf_counter() - self.started)

    def _read(self, returncode: int) -> CheckResult:
        seconds = time.perf_counter() - self.started
        try:
            data = json.loads(self.results_path.read_text())
        except (OSError, ValueError):
            tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            reason = (f"the check ended without a result (exit status {returncode}); "
                      f"does the kata file exit the process, or crash it?\n{tail}")
            return CheckResult(self.kata.id, "error", first_problem=reason.strip(), seconds=seconds)
        tests = data.get("tests", {})
        counts: dict[str, int] = {}
        first_problem = ""
        for entry in tests.values():
            counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
        for wanted in ("broken", "failed", "todo"):
            first_problem = next((e["message"] for e in tests.values() if e["outcome"] == wanted), "")
            if first_problem:
                break
        status = data.get("katas", {}).get(self.kata.id) or ("error" if returncode not in (0, 1) else "skipped")
        return CheckResult(self.kata.id, status, counts, first_problem, seconds, tests)
