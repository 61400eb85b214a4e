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
``{"katas_dir": ..., "protected": [dirs], "kata_ids": [...]}``).
"""

from __future__ import annotations

import json
import os
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
    "cpython.PyInterpreterState_New", "cpython.run_command", "object.__getattr__",
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
        fd = os.environ.get(ENV_EVENTS_FD)
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
        self.kata_ids = frozenset(config.get("kata_ids", ()))
        paths = sysconfig.get_paths()
        self.stdlib = tuple({paths["stdlib"], paths["platstdlib"]})
        self.site = tuple({paths["purelib"], paths["platlib"]})
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

    # -- what is protected
    def _protected_path(self, path) -> bool:
        if isinstance(path, int):
            return False
        try:
            text = os.fsdecode(path)
        except (TypeError, ValueError):
            return False
        resolved = os.path.abspath(text)
        if any(resolved == p or resolved.startswith(p + os.sep) for p in self.protected):
            return True
        parts = Path(resolved).parts
        if len(parts) >= 2 and parts[-2] in ("solutions", "pitfalls") and parts[-1].endswith(".py") \
                and parts[-1][:-3] in self.kata_ids:
            return True
        return False

    def record(self, event: str, detail: str, where: str | None, blocked: bool) -> None:
        key = (event, where, blocked)
        self.seen[key] += 1
        if self.seen[key] == 1 and len(self.seen) <= MAX_AUDIT_RECORDS:
            STREAM.emit(event="audit", name=event, detail=detail[:300], where=where, blocked=blocked)

    def __call__(self, event: str, args) -> None:
        if event not in WATCHED or getattr(self.local, "busy", False):
            return
        self.local.busy = True
        try:
            self._check(event, args, sys._getframe(1))
        finally:
            self.local.busy = False

    def _check(self, event: str, args, frame) -> None:
        if event == "import":
            name = str(args[0]) if args else ""
            if name.split(".")[0] in BLOCKED_IMPORTS:
                where, _ = self._attribute(frame)
                self.record(event, name, where, True)
                raise ImportError(f"blocked by the grader: importing {name!r}")
            return
        if event in DYNAMIC_CODE:
            filename = args[1] if event == "compile" and len(args) > 1 else None
            if isinstance(filename, str) and filename.startswith(self.katas_dir):
                self.submission_loaded = True
                return
            if self.submission_loaded:
                where, direct = self._attribute(frame)
                if where is not None and direct:
                    self.record(event, "dynamic code", where, False)
            return
        if event in FILES:
            path = args[0] if args else None
            if self._protected_path(path):
                where, _ = self._attribute(frame)
                self.record(event, os.fsdecode(path) if not isinstance(path, int) else str(path), where, True)
                raise PermissionError(f"blocked by the grader: {event} on a protected path")
            if self.submission_loaded:
                where, direct = self._attribute(frame)
                if where is not None and direct:
                    self.record(event, repr(path), where, False)
            return
        if not self.submission_loaded:
            return
        if event == "object.__getattr__":
            if len(args) < 2 or args[1] not in FRAME_ATTRIBUTES or not self._direct(frame):
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
    text = os.environ.get(ENV_AUDIT)
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


def pytest_collection_finish(session):
    STREAM.emit(event="collected", items=[
        {"nodeid": item.nodeid, "kata": _kata_of(item), "folder": Path(item.path).parent.name}
        for item in session.items])


def pytest_runtest_logstart(nodeid, location):
    STREAM.emit(event="start", nodeid=nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    kata_id = _kata_of(item)
    if kata_id is not None and _timeouts[kata_id] >= TIMEOUTS_BEFORE_CUTOFF:
        pytest.skip(f"not run: {kata_id} already ran past its time limit {TIMEOUTS_BEFORE_CUTOFF} times")


def _message(report) -> str:
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:  # a skip: (file, line, reason)
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    text = report.longreprtext if report.longrepr is not None else ""
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
    timed_out = "ran longer than its time limit" in message
    if timed_out and kata_id:
        _timeouts[kata_id] += 1
    duration = sum(r.duration for r in phases.values())
    STREAM.emit(event="result", nodeid=report.nodeid, kata=kata_id, outcome=outcome, message=message,
                duration=round(duration, 3), timeout=timed_out,
                constraint=bool(getattr(report, "kata_is_constraint", False)))


def pytest_sessionfinish(session, exitstatus):
    STREAM.emit(event="finish", exitstatus=int(exitstatus))
