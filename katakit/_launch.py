"""Start one command inside the grading sandbox (run as a script: ``python -I -S _launch.py SPEC``).

Standard library only, and run isolated (-I -S), so nothing from a submission's folder or the
environment can change it. SPEC is a JSON file written by the grader (sandbox.py) with:

    argv, cwd, env            the command (argv[0] an absolute path), its folder and its environment
    cgroup_procs              cgroup.procs files to join first, so every child is counted
    namespaces                which of user, mount, pid, net, ipc, uts to unshare
    readonly                  remount every existing mount read-only (needs the mount namespace)
    run_tmpfs                 {path, size, copy_from}: a size-limited tmpfs at `path`, filled with a
                              copy of `copy_from`, where the command runs and may write
    hide                      paths covered by an empty read-only tmpfs (or /dev/null for a file)
    rlimits                   {"DATA": bytes, "FSIZE": bytes, "NOFILE": n, "NPROC": n, "CORE": 0}
    drop_caps                 drop every capability, lock root out of regaining them, no_new_privs
    pass_fds                  descriptors the command keeps (the grader's result stream)

With a pid namespace the launcher forks a process that is pid 1 there; pid 1 starts the command,
reaps every orphan, and exits with the command's status, and the kernel then kills whatever else
is left in the namespace (a fork loop, a daemonised child). The launcher dies with SIGKILL from
the grader's watchdog, and pid 1 follows it (PR_SET_PDEATHSIG). On a setup failure the exit
status is 121 with the reason on stderr, so the grader can try a weaker configuration.
"""

import ctypes
import ctypes.util
import errno
import json
import os
import resource
import shutil
import signal
import sys

SETUP_FAILED = 121

CLONE = {"mount": 0x00020000, "uts": 0x04000000, "ipc": 0x08000000, "user": 0x10000000,
         "pid": 0x20000000, "net": 0x40000000}
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 1, 24, 28, 38
SECURE_NOROOT_ALL_LOCKED = 0x3F  # NOROOT, NO_SETUID_FIXUP, KEEP_CAPS_LOCKED and their locks
SYS_MOUNT_SETATTR = 442  # the same number on every architecture since Linux 5.12
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 0x1

libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def prctl(*args) -> int:
    """prctl where libc has it (Linux); -1 elsewhere."""
    function = getattr(libc, "prctl", None)
    return function(*args) if function is not None else -1


class SetupError(Exception):
    pass


def check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)} (errno {err})")


def mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
          f"mount {fstype or ''} {target}")


class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def make_readonly():
    """Every mount read-only: mount_setattr(AT_RECURSIVE) where the kernel has it, else one by one."""
    attr = MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    result = libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr),
                          ctypes.sizeof(attr))
    if result == 0:
        return
    if ctypes.get_errno() not in (errno.ENOSYS, errno.EINVAL):
        check(result, "mount_setattr read-only")
    with open("/proc/self/mountinfo") as handle:
        points = [line.split()[4] for line in handle]
    for point in points:
        point = point.encode().decode("unicode_escape")
        # Keep the flags a mount has (nosuid, nodev, noexec): a remount must not clear locked ones.
        stat = os.statvfs(point) if os.path.exists(point) else None
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        if stat is not None:
            flags |= stat.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
        libc.mount(None, point.encode(), None, ctypes.c_ulong(flags), None)  # best effort per mount


def write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def enter_namespaces(spec):
    names = [n for n, on in spec.get("namespaces", {}).items() if on]
    if not names:
        return
    flags = 0
    for name in names:
        flags |= CLONE[name]
    uid, gid = os.getuid(), os.getgid()
    if not hasattr(libc, "unshare"):
        raise SetupError("this system has no namespaces (no unshare in its C library)")
    check(libc.unshare(flags), f"unshare {'+'.join(sorted(names))}")
    if "user" in names:  # map ourselves to root in the new namespace, so that mounting is allowed there
        write("/proc/self/setgroups", "deny")
        write("/proc/self/uid_map", f"0 {uid} 1")
        write("/proc/self/gid_map", f"0 {gid} 1")


def set_up_mounts(spec, pid_namespace):
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here is seen outside
    if spec.get("readonly"):
        make_readonly()
    run = spec.get("run_tmpfs")
    if run:
        mount("tmpfs", run["path"], "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(run['size'])},mode=0755")
        shutil.copytree(run["copy_from"], run["path"], dirs_exist_ok=True, symlinks=True)
    if os.path.isdir("/dev/shm"):
        try:
            mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
        except SetupError:
            pass
    for path in spec.get("hide", ()):
        if os.path.isdir(path):
            mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0000")
        elif os.path.exists(path):
            mount("/dev/null", path, None, MS_BIND)
    if pid_namespace:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities():
    for cap in range(64):
        result = prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        if result != 0 and ctypes.get_errno() == errno.EINVAL:  # past the last capability
            break
    # Without NOROOT, root regains every capability in its bounding set at execve: lock it out.
    prctl(PR_SET_SECUREBITS, SECURE_NOROOT_ALL_LOCKED, 0, 0, 0)
    data = (CapData * 2)()
    check(libc.capset(ctypes.byref(CapHeader(0x20080522, 0)), data), "capset")


def exec_command(spec):
    for name, value in spec.get("rlimits", {}).items():
        if value is not None:
            resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (int(value), int(value)))
    if spec.get("drop_caps"):
        drop_capabilities()
    if sys.platform.startswith("linux"):
        check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for fd in spec.get("pass_fds", ()):
        os.set_inheritable(int(fd), True)
    os.chdir(spec["cwd"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


def wait_as_init(child):
    """pid 1: reap everything; when the command exits, exit with its status (the rest are killed)."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(128 + signal.SIGTERM))
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        except InterruptedError:
            continue
        if pid == child:
            os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def main():
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the grader gone, nothing of the run outlives it
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    try:
        for procs in spec.get("cgroup_procs", ()):
            write(procs, str(os.getpid()))
        enter_namespaces(spec)
        pid_namespace = bool(spec.get("namespaces", {}).get("pid"))
        if pid_namespace:
            init = os.fork()
            if init:  # outside the namespace: wait for its pid 1, and exit as it did
                _, status = os.waitpid(init, 0)
                sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() == 1:  # the launcher died before the line above
                os._exit(SETUP_FAILED)
        if spec.get("namespaces", {}).get("mount"):
            set_up_mounts(spec, pid_namespace)
    except (SetupError, OSError, AttributeError) as exc:
        print(f"sandbox setup failed: {exc}", file=sys.stderr, flush=True)
        os._exit(SETUP_FAILED)
    if not pid_namespace:
        try:
            exec_command(spec)
        except (SetupError, OSError, AttributeError) as exc:
            print(f"sandbox setup failed: {exc}", file=sys.stderr, flush=True)
            os._exit(SETUP_FAILED)
    child = os.fork()
    if child == 0:
        try:
            exec_command(spec)
        except (SetupError, OSError, AttributeError) as exc:
            print(f"sandbox setup failed: {exc}", file=sys.stderr, flush=True)
        os._exit(SETUP_FAILED)
    wait_as_init(child)


if __name__ == "__main__":
    main()
