"""Run untrusted code (a graded submission's pytest run) under every limit this machine allows.

The controls, strongest first; each is probed for real once per batch (``Sandbox.probe``), used
where it works, and listed in the report either way, with the reason where it does not:

- namespaces (``_launch.py``): a network namespace (no interface but a downed loopback: no
  network at all), a pid namespace (the run's pid 1 exits, the kernel kills everything left:
  fork loops, daemonised children), a mount namespace in which every mount is read-only, the run
  has a size-limited tmpfs of its own, and the grader's solutions, pitfalls and git data are
  covered by empty mounts; ipc and uts namespaces. As root, every capability is dropped and root
  is locked out of regaining them. Not root: a user namespace makes the same possible where the
  kernel allows unprivileged ones.
- cgroups: ``pids.max`` (the process and thread limit; RLIMIT_NPROC does not bind root) and a
  memory limit, in a child of this process's own cgroup when that is delegated (v2), or at the
  top of a v1 hierarchy this process sits at the top of. Never anywhere else: a cgroup above us
  belongs to whoever started us.
- rlimits: RLIMIT_DATA (the memory limit; RLIMIT_AS is not used because TensorFlow and torch
  reserve large address ranges at import), RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE=0, and
  RLIMIT_NPROC when not root.
- a watchdog in the grader: the wall-clock limit per submission, a hard limit per test (for
  code that blocks or ignores the in-process timer), memory (proportional set size, summed over
  the run's processes) and the process count; it kills the whole process tree.

The audit hook inside the run (gradehooks.py) is the last line, and the only one where nothing
else is available.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).with_name("_launch.py")
SETUP_FAILED = 121
POLL_S = 0.2


@dataclass
class Limits:
    submission_s: float = 900.0  # wall clock for all of one submission's runs
    test_s: float | None = None  # caps each kata's per-test time limit (None: the catalog's)
    memory_bytes: int = 4 * 2**30
    processes: int = 256  # tasks (processes and threads): TensorFlow alone starts dozens of threads
    file_bytes: int = 256 * 2**20  # largest file the run may write
    tmpfs_bytes: int = 512 * 2**20  # all the run may write, where it runs in a tmpfs
    open_files: int = 1024
    test_grace_s: float = 10.0  # past a test's limit before the watchdog kills instead of the timer


class SandboxUnavailable(Exception):
    """Not even an unconfined process could be started the way the sandbox starts them."""


@dataclass
class Control:
    name: str
    active: bool
    detail: str


@dataclass
class RunResult:
    exit_code: int | None
    killed: str | None  # why the watchdog killed the run, or None
    wall_s: float
    output_tail: str
    peak_memory: int = 0
    peak_tasks: int = 0
    oom: bool = False
    events_path: Path | None = None


# ---- cgroups ------------------------------------------------------------------------------------

def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, filesystem type, super options) for every mount."""
    found = []
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                left, _, right = line.partition(" - ")
                fields, tail = left.split(), right.split()
                if len(fields) >= 5 and len(tail) >= 3:
                    found.append((fields[4].encode().decode("unicode_escape"), tail[0], tail[2]))
    except OSError:
        pass
    return found


def _own_cgroups() -> dict[str, str]:
    """Controller (or '' for v2) -> this process's cgroup path."""
    own = {}
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(",") if controllers else [""]:
                    own[controller] = path
    except OSError:
        pass
    return own


class Cgroups:
    """Child cgroups for each run, where this process may make them; see the module docstring."""

    def __init__(self, enabled: bool = True):
        self.bases: dict[str, Path] = {}  # controller -> the folder in which runs get their cgroups
        self.version = None
        self.notes: list[str] = []
        self._counter = 0
        if not enabled:
            self.notes.append("cgroups: turned off (--no-cgroups)")
            return
        own = _own_cgroups()
        mounts = _mounts()
        v2 = next((point for point, fstype, _ in mounts if fstype == "cgroup2" and point == "/sys/fs/cgroup"), None)
        if v2 and "" in own and len(own) == 1:
            base = Path(v2) / own[""].lstrip("/")
            try:
                delegated = set((base / "cgroup.subtree_control").read_text().split())
            except OSError:
                delegated = set()
            for controller in ("pids", "memory"):
                if controller in delegated and os.access(base, os.W_OK):
                    self.bases[controller] = base
                else:
                    self.notes.append(f"cgroup v2 {controller}: not delegated to this process's cgroup "
                                      f"({own['']}); not used")
            self.version = 2
        else:
            for controller in ("pids", "memory"):
                point = next((p for p, fstype, opts in mounts if fstype == "cgroup"
                              and controller in opts.split(",")), None)
                path = own.get(controller)
                if point is None or path is None:
                    self.notes.append(f"cgroup v1 {controller}: no hierarchy mounted")
                elif path != "/":
                    self.notes.append(f"cgroup v1 {controller}: this process is in {path}, a cgroup managed by "
                                      f"whoever started it; not used")
                elif not os.access(point, os.W_OK):
                    self.notes.append(f"cgroup v1 {controller}: {point} is not writable")
                else:
                    self.bases[controller] = Path(point)
            self.version = 1
        for controller, base in list(self.bases.items()):
            try:  # prove it: make one, set a limit, remove it
                probe = self._make(controller, base, "probe")
                if controller == "pids":
                    (probe / "pids.max").write_text("1000")
                else:
                    (probe / self._memory_file()).write_text(str(2**40))
                probe.rmdir()
            except OSError as exc:
                self.notes.append(f"cgroup {controller}: cannot create a child cgroup in {base}: {exc}")
                del self.bases[controller]
        self._remove_stale()

    def _memory_file(self) -> str:
        return "memory.max" if self.version == 2 else "memory.limit_in_bytes"

    def _make(self, controller: str, base: Path, tag: str) -> Path:
        self._counter += 1
        path = base / f"katakit-{os.getpid()}-{tag}-{self._counter}"
        path.mkdir()
        return path

    def _remove_stale(self) -> None:
        """Empty cgroups left by a grader that was killed before it could clean up."""
        for base in set(self.bases.values()):
            for path in base.glob("katakit-*"):
                try:
                    pid = int(path.name.split("-")[1])
                    os.kill(pid, 0)
                except ProcessLookupError:
                    try:
                        path.rmdir()
                    except OSError:
                        pass
                except (ValueError, IndexError, PermissionError):
                    pass

    def create(self, limits: Limits) -> dict[str, Path]:
        made = {}
        try:
            for controller, base in self.bases.items():
                path = self._make(controller, base, "run")
                made[controller] = path
                if controller == "pids":
                    (path / "pids.max").write_text(str(limits.processes))
                else:
                    (path / self._memory_file()).write_text(str(limits.memory_bytes))
                    for swap in ("memory.swap.max", "memory.memsw.limit_in_bytes"):
                        if (path / swap).exists():
                            try:
                                (path / swap).write_text("0" if swap.endswith(".max") else str(limits.memory_bytes))
                            except OSError:
                                pass
        except OSError:
            self.remove(made)
            raise
        return made

    @staticmethod
    def pids(made: dict[str, Path]) -> list[int]:
        for path in made.values():
            try:
                return [int(p) for p in (path / "cgroup.procs").read_text().split()]
            except OSError:
                continue
        return []

    @staticmethod
    def tasks(made: dict[str, Path]) -> int | None:
        path = made.get("pids")
        if path is None:
            return None
        try:
            return int((path / "pids.current").read_text())
        except (OSError, ValueError):
            return None

    def memory(self, made: dict[str, Path]) -> int | None:
        path = made.get("memory")
        if path is None:
            return None
        name = "memory.current" if self.version == 2 else "memory.usage_in_bytes"
        try:
            return int((path / name).read_text())
        except (OSError, ValueError):
            return None

    def oom_killed(self, made: dict[str, Path]) -> bool:
        path = made.get("memory")
        if path is None:
            return False
        try:
            if self.version == 2:
                events = dict(line.split() for line in (path / "memory.events").read_text().splitlines())
                return int(events.get("oom_kill", 0)) > 0
            return int((path / "memory.failcnt").read_text()) > 0
        except (OSError, ValueError):
            return False

    def kill(self, made: dict[str, Path]) -> None:
        for path in made.values():
            if (path / "cgroup.kill").exists():
                try:
                    (path / "cgroup.kill").write_text("1")
                    continue
                except OSError:
                    pass
            for _ in range(50):
                pids = self.pids({"x": path})
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.02)

    def remove(self, made: dict[str, Path]) -> None:
        for path in made.values():
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill({"x": path})
                    time.sleep(0.02)


# ---- the process tree, seen from outside ------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    found.extend(int(p) for p in handle.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return found


def descendants(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo and len(seen) < 100000:
        current = todo.pop()
        seen.append(current)
        todo.extend(_children(current))
    return seen


def _memory_and_tasks(pid: int) -> tuple[int, int]:
    """Proportional set size (shared pages counted once overall) and thread count of one process."""
    memory = tasks = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    memory = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("Threads:"):
                    tasks = int(line.split()[1])
                elif not memory and line.startswith("VmRSS:"):
                    memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    return memory, tasks


# ---- the sandbox ----------------------------------------------------------------------------------

PROBE_SCRIPT = r"""
import json, os, resource, socket, sys
spec = json.loads(sys.argv[1])
found = {"pid": os.getpid()}
try:
    found["interfaces"] = [name for _, name in socket.if_nameindex()]
except OSError as exc:
    found["interfaces"] = [str(exc)]
try:
    with open("probe-write", "w") as handle:
        handle.write("x")
    found["cwd_writable"] = True
except OSError:
    found["cwd_writable"] = False
try:
    with open(os.path.join(spec["outside"], "probe-write"), "w") as handle:
        handle.write("x")
    found["outside_writable"] = True
except OSError:
    found["outside_writable"] = False
found["hidden"] = {}
for path in spec["hide"]:
    try:
        found["hidden"][path] = not os.listdir(path) if os.path.isdir(path) else not open(path, "rb").read(1)
    except OSError:
        found["hidden"][path] = True
with open("/proc/self/status") as handle:
    found["caps"] = next((l.split()[1] for l in handle if l.startswith("CapEff:")), "?")
found["data"] = resource.getrlimit(resource.RLIMIT_DATA)[0]
print(json.dumps(found))
"""


def _is_root() -> bool:
    return os.geteuid() == 0


class Sandbox:
    """How runs are confined on this machine (from ``probe``), and ``run`` to confine one."""

    def __init__(self, limits: Limits, python: str, namespaces: dict, readonly: bool, drop_caps: bool,
                 hide: list[str], cgroups: Cgroups, controls: list[Control], use_tmpfs: bool):
        self.limits, self.python = limits, python
        self.namespaces, self.readonly, self.drop_caps = namespaces, readonly, drop_caps
        self.hide, self.cgroups, self.controls, self.use_tmpfs = hide, cgroups, controls, use_tmpfs

    # -- probing
    @classmethod
    def probe(cls, limits: Limits, *, hide: list[str], python: str | None = None, work: Path | None = None,
              allow_namespaces: bool = True, allow_cgroups: bool = True) -> Sandbox:
        python = python or sys.executable
        hide = sorted({str(Path(p)) for p in hide if Path(p).exists()})
        user = not _is_root()
        attempts = [
            ("namespaces: user, mount, pid, network, ipc, uts" if user else "namespaces: mount, pid, network, ipc, uts",
             dict(user=user, mount=True, pid=True, net=True, ipc=True, uts=True), True),
            ("namespaces: pid, network" + (", user" if user else ""), dict(user=user, pid=True, net=True), False),
            ("namespace: network" + (", user" if user else ""), dict(user=user, net=True), False),
        ] if allow_namespaces else []
        attempts.append(("no namespaces", {}, False))
        notes, chosen, found = [], None, {}
        with tempfile.TemporaryDirectory(prefix="katas-probe-", dir=work) as folder:
            for label, namespaces, mount in attempts:
                sandbox = cls(limits, python, namespaces, readonly=mount, drop_caps=mount, hide=hide,
                              cgroups=Cgroups(enabled=False), controls=[], use_tmpfs=mount)
                tree = Path(folder) / f"tree-{len(notes)}"
                tree.mkdir()
                argv = [python, "-I", "-c", PROBE_SCRIPT, json.dumps({"outside": str(tree), "hide": hide})]
                result = sandbox.run(argv, tree, {}, run_dir=Path(folder) / f"run-{len(notes)}", scratch=Path(folder),
                                     tag=str(len(notes)), watch=None, time_limit_s=60)
                if result.exit_code == 0:
                    try:
                        found = json.loads(result.output_tail.strip().splitlines()[-1])
                    except (ValueError, IndexError):
                        found = {}
                    chosen = (label, namespaces, mount)
                    break
                notes.append(f"{label}: not available ({result.output_tail.strip().splitlines()[-1:] or ['?']})")
        if chosen is None:
            raise SandboxUnavailable("the grading sandbox cannot start a process here: " + "; ".join(notes))
        label, namespaces, mount = chosen
        cgroups = Cgroups(enabled=allow_cgroups)
        controls = cls._describe(limits, label, namespaces, mount, found, hide, cgroups, notes)
        # Capabilities go wherever there is a mount namespace: root's, or those a user namespace
        # grants, with which the run could otherwise remount its read-only view writable.
        return cls(limits, python, namespaces, readonly=mount, drop_caps=mount, hide=hide,
                   cgroups=cgroups, controls=controls, use_tmpfs=mount)

    @staticmethod
    def _describe(limits, label, namespaces, mount, found, hide, cgroups, notes) -> list[Control]:
        gib = lambda n: f"{n / 2**30:g} GiB"  # noqa: E731
        controls = []
        net = bool(namespaces.get("net")) and found.get("interfaces") == ["lo"]
        controls.append(Control("network", net, "network namespace: only a downed loopback, no route anywhere"
                                if net else "no network namespace here: the audit hook blocks Python's socket "
                                            "calls from kata code; a C library could still connect"))
        pid = bool(namespaces.get("pid")) and found.get("pid") == 2
        controls.append(Control("process tree", pid, "pid namespace: when the run ends or is killed, every process "
                                "it started dies with it" if pid else "no pid namespace: the watchdog kills the "
                                "process group and what it finds below the run; a process that leaves both survives"))
        hidden = mount and hide and all(found.get("hidden", {}).get(p) for p in hide)
        ro = mount and found.get("cwd_writable") and not found.get("outside_writable")
        controls.append(Control("filesystem", bool(ro), "mount namespace: everything read-only except the run's own "
                                f"tmpfs ({gib(limits.tmpfs_bytes)})" if ro else "no mount namespace: the run writes in "
                                "its scratch copy and can read what this user can read"))
        controls.append(Control("grader's solutions", bool(hidden) or not hide,
                                ("covered by empty mounts: " + ", ".join(hide)) if hidden else
                                "still on disk and readable by the run; the audit hook blocks opening them"))
        caps = found.get("caps")
        dropped = caps == "0000000000000000"
        if _is_root():
            controls.append(Control("privileges", dropped, "root, with every capability dropped and locked out of "
                                    "regaining them" if dropped else "runs as root with its capabilities: run the "
                                    "grader where namespaces work, or as an unprivileged user"))
        else:
            controls.append(Control("privileges", True, "this user's, with no capability"
                                    + (" (the user namespace's dropped too)" if dropped and mount else "")))
        def why(controller: str) -> str:
            return "; ".join(n for n in cgroups.notes if controller in n or "turned off" in n) or "none found"

        pids = "pids" in cgroups.bases
        nproc = not _is_root()
        controls.append(Control("process count", pids or nproc or pid,
                                f"pids cgroup, at most {limits.processes} tasks" if pids else
                                f"RLIMIT_NPROC {limits.processes} (this user)" if nproc else
                                f"watchdog: killed above {limits.processes} tasks (RLIMIT_NPROC does not bind root; "
                                "no pids cgroup: " + why("pids") + ")"))
        memory = "memory" in cgroups.bases
        controls.append(Control("memory", True, f"RLIMIT_DATA {gib(limits.memory_bytes)} per process"
                                + (", memory cgroup " + gib(limits.memory_bytes) if memory else "")
                                + f"; watchdog: killed above {gib(limits.memory_bytes)} in total"
                                + ("" if memory else " (no memory cgroup: " + why("memory") + ")")))
        controls.append(Control("time", True, "per test: the kata's time limit in the run, then the watchdog "
                                f"{limits.test_grace_s:g} s later; per submission: {limits.submission_s:g} s"))
        controls.append(Control("audit hook", True, "network, new processes, introspection and C libraries "
                                "blocked when called from kata code; the grader's files blocked for everyone"))
        for note in notes:
            controls.append(Control("tried", False, note))
        return controls

    # -- running
    def _spec(self, argv, tree: Path, run_dir: Path, env: dict, events_fd: int, cgroup_procs) -> dict:
        limits = self.limits
        rlimits = {"DATA": limits.memory_bytes, "FSIZE": limits.file_bytes, "NOFILE": limits.open_files, "CORE": 0}
        if not _is_root():
            rlimits["NPROC"] = _user_tasks() + limits.processes
        cwd = run_dir if self.use_tmpfs else tree
        return {
            "argv": argv, "cwd": str(cwd), "env": {**env, "HOME": str(cwd / ".home"), "TMPDIR": str(cwd / ".tmp")},
            "namespaces": self.namespaces, "readonly": self.readonly, "drop_caps": self.drop_caps,
            "run_tmpfs": {"path": str(run_dir), "size": limits.tmpfs_bytes, "copy_from": str(tree)}
            if self.use_tmpfs else None,
            "hide": self.hide if self.namespaces.get("mount") else [],
            "rlimits": rlimits, "pass_fds": [events_fd], "cgroup_procs": cgroup_procs,
        }

    def run(self, argv: list[str], tree: Path, env: dict, *, run_dir: Path, scratch: Path, tag: str, watch,
            time_limit_s: float) -> RunResult:
        """Run `argv` confined, in a copy of `tree` at `run_dir` (in the tree itself without a mount namespace).

        `scratch` holds the run's spec, output and result stream (``events-<tag>.jsonl``); `watch()`
        is called each poll and returns a reason to kill the run, or None.
        """
        if self.use_tmpfs:
            run_dir.mkdir(parents=True, exist_ok=True)
        else:
            run_dir = tree
        for sub in (".home", ".tmp"):
            (tree / sub).mkdir(exist_ok=True)
        events_path = scratch / f"events-{tag}.jsonl"
        made = self.cgroups.create(self.limits) if self.cgroups.bases else {}
        events_fd = os.open(events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        env = {**env, "KATAKIT_EVENTS_FD": str(events_fd)}
        spec = self._spec(argv, tree, run_dir, env, events_fd, [str(p / "cgroup.procs") for p in made.values()])
        spec_path = scratch / f"sandbox-{tag}.json"
        spec_path.write_text(json.dumps(spec))
        output_path = scratch / f"output-{tag}.txt"
        start = time.monotonic()
        killed, peak_memory, peak_tasks = None, 0, 0
        try:
            with open(output_path, "wb") as output:
                process = subprocess.Popen(
                    [sys.executable, "-I", "-S", str(LAUNCHER), str(spec_path)], stdin=subprocess.DEVNULL,
                    stdout=output, stderr=subprocess.STDOUT, pass_fds=(events_fd,), start_new_session=True)
            os.close(events_fd)
            events_fd = -1
            while process.poll() is None:
                time.sleep(POLL_S)
                elapsed = time.monotonic() - start
                pids = Cgroups.pids(made) or descendants(process.pid)
                memory = tasks = 0
                for pid in pids:
                    m, t = _memory_and_tasks(pid)
                    memory, tasks = memory + m, tasks + t
                cgroup_memory = self.cgroups.memory(made)
                memory = max(memory, cgroup_memory or 0)
                tasks = max(tasks, self.cgroups.tasks(made) or 0)
                peak_memory, peak_tasks = max(peak_memory, memory), max(peak_tasks, tasks)
                reason = None
                if elapsed > time_limit_s:
                    reason = f"ran past the time limit for a submission ({time_limit_s:g} s)"
                elif memory > self.limits.memory_bytes * 1.05:
                    reason = f"used more than {self.limits.memory_bytes / 2**30:g} GiB of memory"
                elif tasks >= self.limits.processes:
                    # At the limit, forks fail, and a fork loop's processes spin on: end it now.
                    reason = f"reached the limit of {self.limits.processes} processes and threads (a fork loop?)"
                elif watch is not None:
                    reason = watch()
                if reason:
                    killed = reason
                    self._kill(process, made)
                    break
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._kill(process, made)
                process.wait(timeout=30)
        finally:
            if events_fd >= 0:
                os.close(events_fd)
            oom = self.cgroups.oom_killed(made)
            self.cgroups.remove(made)
        exit_code = process.returncode
        if exit_code is not None and exit_code < 0:
            exit_code = 128 - exit_code
        return RunResult(exit_code=exit_code, killed=killed, wall_s=time.monotonic() - start,
                         output_tail=_tail(output_path), peak_memory=peak_memory, peak_tasks=peak_tasks, oom=oom,
                         events_path=events_path)

    def _kill(self, process, made) -> None:
        for pid in descendants(process.pid)[::-1]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        self.cgroups.kill(made)


def _tail(path: Path, limit: int = 6000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _user_tasks() -> int:
    """Tasks (threads included) this user runs now: RLIMIT_NPROC counts them all."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return count


def parse_size(text: str) -> int:
    """'4G', '512M', '1.5GiB', '1000000' -> bytes."""
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (cleaned[:-1], cleaned[-1]) if cleaned and cleaned[-1] in units else (cleaned, "")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise ValueError(f"not a size: {text!r} (try 4G or 512M)") from None
    if value <= 0:
        raise ValueError(f"not a size: {text!r}")
    return int(value)

