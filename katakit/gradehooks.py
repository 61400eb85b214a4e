"""Inside a grading run: the result stream, the audit hook, and the time-out cut-off.

A grading run is one pytest process in the sandbox (see sandbox.py), on a scratch copy whose
``conftest.py`` registers this module as a plugin. It is trusted code sharing a process with
untrusted code (the submission's kata files), so it assumes nothing it cannot check:

- Results go out as JSON lines, one per test as it finishes, to a file descriptor the grader
  opened (``KATAKIT_EVENTS_FD``): a run that is killed or exits early has still reported every
  test it finished, and the last ``start`` line names the test it was in.
- An audit hook (PEP 578; it cannot be removed once added) watches what the submission's code
  does. It blocks, and reports, network use, starting processes, frame and object-graph
  introspection and loading C libraries when the call comes straight from a kata file; any read
  of the grader's reference solutions, pitfalls or git data, whoever asks; and importing
  ``solutions`` or ``pitfalls``. An audit hook is a tripwire, not a wall: code that reaches C
  through a library the hook lets through is stopped by the operating-system limits instead
  (namespaces, process and memory limits), and the grader's report lists what the hook saw.
- A kata whose tests ran past their time limit twice is not run further: each more test would
  cost the whole limit again.

Configuration comes from the environment: ``KATAKIT_EVENTS_FD`` and ``KATAKIT_AUDIT`` (JSON:
``{"katas_dir": ..., "protected": [dirs], "allowed": [dirs inside those], "kata_ids": [...]}``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import sysconfig
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from . import plugin

ENV_EVENTS_FD = "KATAKIT_EVENTS_FD"
ENV_AUDIT = "KATAKIT_AUDIT"
TIMEOUTS_BEFORE_CUTOFF = 2
MAX_MESSAGE = 3000
MAX_AUDIT_RECORDS = 200

NETWORK = frozenset({
    "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
    "socket.gethostbyaddr", "socket.getnameinfo", "socket.sendto", "socket.sendmsg", "http.client.connect",
    "urllib.Request", "ftplib.connect", "smtplib.connect", "poplib.connect", "imaplib.open", "nntplib.connect",
    "telnetlib.Telnet.open", "webbrowser.open",
})
PROCESSES = frozenset({
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.startfile",
    "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn",
})
INTROSPECTION = frozenset({
    "sys._getframe", "sys._current_frames", "sys._current_exceptions", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.string_at",
    "ctypes.wstring_at", "ctypes.cdata", "ctypes.cdata/buffer", "ctypes.addressof", "sys.settrace",
    "sys.setprofile", "sys.addaudithook", "sys.monitoring.register_callback", "code.__new__", "function.__new__",
    "cpython.PyInterpreterState_New", "cpython.run_command", "object.__getattr__", "object.__setattr__",
})
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})  # the ways to a caller's frame
FILES = frozenset({"open", "os.listdir", "os.scandir", "glob.glob", "os.walk", "shutil.copyfile", "os.symlink",
                   "os.link", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree", "os.chdir", "mmap.__new__"})
DYNAMIC_CODE = frozenset({"compile", "exec"})
WATCHED = NETWORK | PROCESSES | INTROSPECTION | FILES | DYNAMIC_CODE | {"import"}
BLOCKED_IMPORTS = ("solutions", "pitfalls")


class _Stream:
    """JSON lines to the grader's descriptor; nothing when there is none (a run outside the grader)."""

    def __init__(self):
        fd = os.environ.pop(ENV_EVENTS_FD, None)  # read once; the code under test has no need of it
        self.fd = int(fd) if fd and fd.isdigit() else None
        self.lock = threading.Lock()

    def emit(self, **event) -> None:
        if self.fd is None:
            return
        event.setdefault("t", round(time.time(), 3))
        line = (json.dumps(event, default=str) + "\n").encode("utf-8", "replace")
        with self.lock:
            try:
                os.write(self.fd, line)
            except OSError:
                pass


STREAM = _Stream()


# ---- the audit hook ------------------------------------------------------------------------------

class _Auditor:
    def __init__(self, config: dict):
        self.katas_dir = str(Path(config.get("katas_dir", "katas")).resolve()) + os.sep
        self.protected = tuple(str(Path(p)) for p in config.get("protected", ()))
        self.allowed = tuple(str(Path(p)) for p in config.get("allowed", ()))  # inside a protected folder
        self.kata_ids = frozenset(config.get("kata_ids", ()))
        paths = sysconfig.get_paths()
        self.stdlib = tuple({paths["stdlib"], paths["platstdlib"]})
        self.site = tuple({paths["purelib"], paths["platlib"]})
        self.installation = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, *self.stdlib, *self.site})
        self.local = threading.local()
        self.seen: Counter = Counter()
        self.submission_loaded = False

    # -- which code asked
    def _is_stdlib(self, filename: str) -> bool:
        if filename.startswith("<frozen") or filename.startswith("<string>"):
            return True
        return filename.startswith(self.stdlib) and not filename.startswith(self.site)

    def _attribute(self, frame) -> tuple[str | None, bool]:
        """(where, direct): the innermost kata-file line on the stack, and whether the operation came
        from it straight, or through the standard library only (not through another library)."""
        direct, where = None, None
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(self.katas_dir):
                where = f"katas/{Path(filename).name}:{frame.f_lineno}"
                if direct is None:
                    direct = True
                break
            if direct is None and not self._is_stdlib(filename):
                direct = False
            frame = frame.f_back
        return where, bool(direct)

    def _direct(self, frame) -> bool:
        """Whether the first frame outside the standard library is a kata file's (cheap: no full walk)."""
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(self.katas_dir):
                return True
            if not self._is_stdlib(filename):
                return False
            frame = frame.f_back
        return False

    def _module_file(self, path) -> bool:
        """Whether `path` is code the import system reads: the installation's own files."""
        if not isinstance(path, str):
            return False
        return path.startswith(self.installation) or path.startswith("<frozen")

    # -- what is protected
    def _protected_path(self, path) -> bool:
        if isinstance(path, int):
            return STREAM.fd is not None and path == STREAM.fd  # os.fdopen of the result stream
        try:
            text = os.fsdecode(path)
        except (TypeError, ValueError):
            return False
        resolved = os.path.abspath(text)
        if resolved.startswith(("/proc/self/fd", "/proc/self/mem", "/proc/self/environ", "/dev/fd")) \
                or re.match(r"/proc/\d+/(fd|mem|environ)", resolved):
            return True  # the result stream, or this process's memory, by another name
        if any(resolved == p or resolved.startswith(p + os.sep) for p in self.protected) \
                and not any(resolved == p or resolved.startswith(p + os.sep) for p in self.allowed):
            return True
        parts = Path(resolved).parts
        if len(parts) >= 2 and parts[-2] in ("solutions", "pitfalls") and parts[-1].endswith(".py") \
                and parts[-1][:-3] in self.kata_ids:
            return True
        return False

    def record(self, event: str, detail: str, where: str | None, blocked: bool) -> None:
        key = (event, where, blocked, detail[:120])
        self.seen[key] += 1
        if self.seen[key] == 1 and len(self.seen) <= MAX_AUDIT_RECORDS:
            STREAM.emit(event="audit", name=event, detail=detail[:300], where=where, blocked=blocked)

    def __call__(self, event: str, args) -> None:
        __tracebackhide__ = True  # a blocked call's traceback ends in the kata file, not here
        if event not in WATCHED or getattr(self.local, "busy", False):
            return
        self.local.busy = True
        try:
            self._check(event, args, sys._getframe(1))
        finally:
            self.local.busy = False

    def _check(self, event: str, args, frame) -> None:
        __tracebackhide__ = True
        if event == "import":
            name = str(args[0]) if args else ""
            if name.split(".")[0] in BLOCKED_IMPORTS:
                where, _ = self._attribute(frame)
                self.record(event, name, where, True)
                raise ImportError(f"blocked by the grader: importing {name!r}")
            return
        if event in DYNAMIC_CODE:
            if event == "compile":
                filename = args[1] if len(args) > 1 else None
            else:
                filename = getattr(args[0], "co_filename", None) if args else None
            if isinstance(filename, str) and filename.startswith(self.katas_dir):
                self.submission_loaded = True
                return
            if self.submission_loaded and not self._module_file(filename):  # an import is not dynamic code
                where, direct = self._attribute(frame)
                if where is not None and direct:
                    self.record(event, f"dynamic code ({filename})", where, False)
            return
        if event in FILES:
            path = args[0] if args else None
            if self._protected_path(path):
                where, _ = self._attribute(frame)
                self.record(event, os.fsdecode(path) if not isinstance(path, int) else str(path), where, True)
                raise PermissionError(f"blocked by the grader: {event} on a protected path")
            if self.submission_loaded and not self._module_file(path):
                where, direct = self._attribute(frame)
                if where is not None and direct:
                    self.record(event, repr(path), where, False)
            return
        if not self.submission_loaded:
            return
        if event == "object.__getattr__":
            if len(args) < 2 or args[1] not in FRAME_ATTRIBUTES or not self._direct(frame):
                return
        elif event == "object.__setattr__":  # replacing a function's __code__: rewriting someone else's code
            if not self._direct(frame):
                return
        elif event in INTROSPECTION and not self._direct(frame):
            return  # libraries introspect all the time (tf.function, torch): only the kata file's own use counts
        where, direct = self._attribute(frame)
        if where is None:
            return
        if event in NETWORK:  # no graded kata needs the network, whoever makes the call
            self.record(event, repr(args)[:200], where, True)
            raise PermissionError(f"blocked by the grader: network access ({event})")
        if direct:
            self.record(event, repr(args)[:200], where, True)
            raise PermissionError(f"blocked by the grader: {event} from a kata file")
        self.record(event, repr(args)[:200], where, False)


def _install_audit_hook() -> _Auditor | None:
    text = os.environ.pop(ENV_AUDIT, None)
    if not text:
        return None
    auditor = _Auditor(json.loads(text))
    sys.addaudithook(auditor)
    return auditor


AUDITOR = _install_audit_hook()  # at import: before any kata file can be loaded
STREAM.emit(event="hello", pid=os.getpid(), audit=AUDITOR is not None)


# ---- results ---------------------------------------------------------------------------------------

def _kata_of(item) -> str | None:
    return item.stash.get(plugin.KATA_ID, None)


_phases: dict[str, dict] = {}
_timeouts: Counter = Counter()

# What the checks rely on, by name: replacing one of these (np.allclose = lambda *a, **k: True,
# builtins.isinstance, a test module's tolerance) would make a check pass without the work.
WATCHED_MODULES = ("builtins", "math", "operator", "functools", "numpy", "numpy.testing", "numpy.linalg", "torch",
                   "torch.testing", "tensorflow", "tensorflow.experimental.numpy", "hypothesis", "_pytest.runner",
                   "_pytest.python", "_pytest.reports", "_pytest.outcomes", "pluggy", "katakit.testing",
                   "katakit.plugin", "katakit.recorded", "katakit.gradehooks", "katakit.constraints", "katakit.timing",
                   "katakit.pitfalls")
WATCHED_CLASSES = (("torch", "Tensor"), ("numpy", "ndarray"), ("_pytest.python", "Function"),
                   ("_pytest.reports", "TestReport"), ("katakit.testing", "Differential"),
                   ("katakit.recorded", "ReplayDifferential"), ("katakit.recorded", "ReplayReference"),
                   ("katakit.recorded", "Table"), ("katakit.plugin", "KataRunner"))


class _Tripwire:
    """Ids of what the checks rely on, taken before any kata file runs, compared after every test.

    ``KATAKIT_TRIPWIRE=enforce`` (grading) fails every check that passes after a change;
    otherwise (the trusted recording run) changes are only reported, so that the grader can
    tell the sandbox to ignore what the tests themselves change (``KATAKIT_TRIPWIRE_IGNORE``).
    """

    def __init__(self):
        self.watched: dict[tuple[str, str], tuple[dict, dict]] = {}
        self.tripped = False
        self.enforce = os.environ.pop("KATAKIT_TRIPWIRE", "") == "enforce"
        try:
            self.ignore = set(json.loads(os.environ.pop("KATAKIT_TRIPWIRE_IGNORE", "[]")))
        except ValueError:
            self.ignore = set()

    def take(self, test_modules) -> None:
        places = [(name, sys.modules[name]) for name in WATCHED_MODULES if name in sys.modules]
        places += [(module.__name__, module) for module in test_modules]
        for module_name, class_name in WATCHED_CLASSES:
            cls = getattr(sys.modules.get(module_name), class_name, None)
            if isinstance(cls, type):
                places.append((f"{module_name}.{class_name}", cls))
        for label, place in places:
            namespace = vars(place)
            whole = label.startswith(("katakit.", "tests.", "public.")) or place in test_modules
            self.watched[(label, str(id(place)))] = (namespace, {
                key: id(value) for key, value in list(namespace.items())
                if whole or callable(value) or isinstance(value, type)})

    def changes(self) -> list[str]:
        found = []
        for (label, _), (namespace, ids) in self.watched.items():
            for key, before in list(ids.items()):
                now = id(namespace.get(key, _MISSING))
                if now != before and f"{label}.{key}" not in self.ignore:
                    found.append(f"{label}.{key}")
                    if not self.enforce:
                        ids[key] = now  # reported once
        return found


_MISSING = object()
TRIPWIRE = _Tripwire()


def pytest_collection_finish(session):
    STREAM.emit(event="collected", items=[
        {"nodeid": item.nodeid, "kata": _kata_of(item), "folder": Path(item.path).parent.name}
        for item in session.items])
    modules = {getattr(item, "module", None) for item in session.items} - {None}
    TRIPWIRE.take(modules)


def pytest_runtest_logstart(nodeid, location):
    STREAM.emit(event="start", nodeid=nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    kata_id = _kata_of(item)
    if kata_id is not None and _timeouts[kata_id] >= TIMEOUTS_BEFORE_CUTOFF:
        pytest.skip(f"{kata_id} already ran past its time limit {TIMEOUTS_BEFORE_CUTOFF} times")


def _message(report) -> str:
    """The failure, its exception line first (the grader's report quotes that line)."""
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:  # a skip: (file, line, reason)
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    text = report.longreprtext if report.longrepr is not None else ""
    crash = getattr(getattr(report.longrepr, "reprcrash", None), "message", None)
    if crash:
        text = f"E   {crash.splitlines()[0] if crash.strip() else crash}\n{text}"
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 20] + "\n... (truncated)"


def pytest_runtest_logreport(report):
    phases = _phases.setdefault(report.nodeid, {})
    phases[report.when] = report
    if report.when != "teardown":
        return
    _phases.pop(report.nodeid, None)
    failed = [r for r in phases.values() if r.failed]
    outcome, message = "passed", ""
    if failed:
        first = failed[0]
        kata_outcome = getattr(first, "kata_outcome", None)
        outcome = {"todo": "todo", "broken": "error"}.get(kata_outcome, "failed")
        message = _message(first)
    elif "setup" in phases and phases["setup"].skipped:
        outcome, message = "skipped", _message(phases["setup"])
    elif "call" in phases and phases["call"].skipped:
        outcome, message = "skipped", _message(phases["call"])
    elif "call" not in phases:
        outcome = "error"
    kata_id = getattr(report, "kata_id", None)
    changed = TRIPWIRE.changes() if not TRIPWIRE.tripped else []
    if changed:
        TRIPWIRE.tripped = TRIPWIRE.enforce
        STREAM.emit(event="tamper", nodeid=report.nodeid, changed=changed[:50])
    if TRIPWIRE.tripped and outcome == "passed":
        outcome, message = "failed", "not trusted: the code under test replaced what the checks rely on"
    timed_out = "ran longer than its time limit" in message
    if timed_out and kata_id:
        _timeouts[kata_id] += 1
    duration = sum(r.duration for r in phases.values())
    STREAM.emit(event="result", nodeid=report.nodeid, kata=kata_id, outcome=outcome, message=message,
                duration=round(duration, 3), timeout=timed_out,
                constraint=bool(getattr(report, "kata_is_constraint", False)))


def pytest_sessionfinish(session, exitstatus):
    from .recorded import TABLES

    tables = session.config.stash.get(TABLES, None)
    for (folder, kata_id), table in (tables.by_key.items() if tables is not None else ()):
        STREAM.emit(event="replay", folder=folder, kata=kata_id, compared=table.hits, unrecorded=table.misses,
                    unstorable=table.unstorable)
    STREAM.emit(event="finish", exitstatus=int(exitstatus))
