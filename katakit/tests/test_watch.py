"""Watch mode, driven for real in a pseudo-terminal: keys typed, files saved, the screen read.

Also the proof that a warm re-check (a forked child of a process that already imported what
the tests need) gives exactly the results of a cold `pytest` run.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from .toyrepo import make_repo

pexpect = pytest.importorskip("pexpect", reason="pexpect drives watch mode in a pseudo-terminal")

DOUBLE = "def double(x):\n    return [v * 2 for v in x] if isinstance(x, list) else x * 2\n"
WRONG_DOUBLE = "def double(x):\n    return [v + 2 for v in x] if isinstance(x, list) else x + 2\n"
BROKEN = "def double(x)\n    return x\n"


def watch(pytester, *args):
    env = dict(os.environ, NO_COLOR="1", TERM="xterm")
    child = pexpect.spawn(sys.executable, ["-m", "katakit", *args], cwd=str(pytester.path), env=env,
                          encoding="utf-8", dimensions=(60, 140), timeout=60)
    return child


def save(pytester, kata_id, text):
    path = pytester.path / "katas" / f"{kata_id}.py"
    path.write_text(text)
    # Some filesystems keep modification times to the second: make sure a poller sees a new one.
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))


def quit_cleanly(child):
    child.send("q")
    child.expect("bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.fixture
def repo(pytester):
    return make_repo(pytester)


def test_watch_shows_the_task_rechecks_on_save_and_n_moves_on_only_after_a_pass(repo):
    child = watch(repo)
    child.expect("kata 1/2: ")
    child.expect("double")
    child.expect("edit katas/double.py")
    child.expect("Return x times 2")  # the task, from the stub's docstring
    child.expect("TODO")
    child.expect("0/2 katas done")

    child.send("n")
    child.expect("double does not pass yet \\(todo\\): n moves on only once it passes")

    save(repo, "double", WRONG_DOUBLE)
    child.expect("FAILING")
    child.expect("double differs from the reference")
    child.expect("known mistake: Adds the factor instead of multiplying by it.")
    child.send("n")
    child.expect("does not pass yet \\(failing\\)")
    child.send("s")
    child.expect("opens once your kata passes")

    save(repo, "double", DOUBLE)
    child.expect("PASSED")
    child.expect("1/2 katas done")
    child.send("s")
    child.expect("return x \\* 2")  # the reference solution, now that it passes
    child.send("n")
    child.expect("kata 2/2: ")
    child.expect("triple")
    child.expect("TODO")
    quit_cleanly(child)
    state = json.loads((repo.path / ".katas-state.json").read_text())
    assert state["current"] == "triple" and state["katas"]["double"]["status"] == "done"


def test_hint_list_and_a_syntax_error_that_does_not_stop_watching(repo):
    child = watch(repo, "watch", "triple")
    child.expect("triple")
    child.expect("TODO")
    child.send("h")
    child.expect("triple: hint 1 of 3")
    child.expect("1. nudge: Think about multiplication.")
    child.send("l")
    child.expect("double")
    child.expect("▶ triple")
    save(repo, "triple", BROKEN.replace("double", "triple"))
    child.expect("ERROR")
    child.expect("cannot load the kata: katas/triple.py, line 1: SyntaxError")
    save(repo, "triple", DOUBLE.replace("double", "triple").replace("2", "3"))
    child.expect("PASSED")
    quit_cleanly(child)


def test_polling_notices_saves_where_file_events_never_arrive(repo):
    child = watch(repo, "--poll")
    child.expect("polling for saves")
    child.expect("TODO")
    save(repo, "double", DOUBLE)
    child.expect("PASSED")
    quit_cleanly(child)


def test_manual_run_checks_only_when_asked(repo):
    child = watch(repo, "--manual-run")
    child.expect("press r to check")
    child.expect("TODO")
    save(repo, "double", DOUBLE)
    with pytest.raises(pexpect.TIMEOUT):
        child.expect("PASSED", timeout=3)
    child.send("r")
    child.expect("PASSED")
    quit_cleanly(child)


def test_piped_keys_work_without_a_terminal(repo):
    save(repo, "double", DOUBLE)
    process = subprocess.Popen([sys.executable, "-m", "katakit", "--manual-run"], cwd=repo.path, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=dict(os.environ, NO_COLOR="1"))
    time.sleep(4)
    output, _ = process.communicate("r\nq\n", timeout=120)
    assert process.returncode == 0
    assert "\x1b[" not in output  # plain lines when piped: no escape codes
    assert "PASSED" in output and "bye" in output


# ---- warm re-checks give exactly the results of a cold run -------------------------------------

WARM_CHECK = """
import json, sys
from pathlib import Path
from katakit.catalog import load
from katakit.warm import WarmRunner
root = Path.cwd()
kata = load(root).get(sys.argv[1])
runner = WarmRunner(root, jobs=int(sys.argv[2]), share_above_s=float(sys.argv[3]))
runner.warm_up(kata)
results = [runner.start(kata).wait(timeout=120) for _ in range(2)]
print(json.dumps([{"status": r.status, "tests": r.tests, "runs": r.runs} for r in results]))
"""

# One child per check, or (after the first check, which measures the tests) two side by side.
HOW = {"one process": ("1", "0.4"), "in shares": ("2", "0")}


def run_warm_checks(repo, kata_id, how):
    """Two warm checks of `kata_id`, one process each or in shares: their results, as JSON."""
    done = subprocess.run([sys.executable, "-c", WARM_CHECK, kata_id, *HOW[how]], cwd=repo.path,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    return without_addresses(json.loads(done.stdout))


def warm_checks(repo, kata_id, how):
    """Two warm checks that each give a result; the second ran in shares when `how` says so."""
    warm = run_warm_checks(repo, kata_id, how)
    runs = [w.pop("runs") for w in warm]
    if how == "one process":
        assert runs == [1, 1]
    else:  # the first check measures the tests; the second is split
        assert runs[0] == 1 and runs[1] >= 2
    return warm


def without_addresses(value):
    """Object addresses ("at 0x7f..."), which differ between any two processes, cold or warm."""
    return json.loads(re.sub(r" at 0x[0-9a-f]+", " at 0x...", json.dumps(value)))


def cold_check(repo, kata_id):
    results = repo.path / "cold.json"
    subprocess.run([sys.executable, "-m", "pytest", f"tests/test_{kata_id}.py", "-q", "--katas-json", str(results)],
                   cwd=repo.path, capture_output=True, timeout=120)
    data = json.loads(results.read_text())
    return without_addresses({"status": data["katas"].get(kata_id), "tests": data["tests"]})


@pytest.mark.parametrize("how", list(HOW))
@pytest.mark.parametrize("variant", ["stub", "wrong", "right", "syntax error", "exits at import"])
def test_a_warm_recheck_gives_the_same_results_as_a_cold_pytest_run(repo, variant, how):
    source = {"stub": None, "wrong": WRONG_DOUBLE, "right": DOUBLE, "syntax error": BROKEN,
              "exits at import": "import os\nos._exit(3)\n"}[variant]
    if source is not None:
        save(repo, "double", source)
    if variant == "exits at import":
        warm = run_warm_checks(repo, "double", how)
        # No result at all, cold or warm; watch mode says so instead of waiting forever.
        assert [w["status"] for w in warm] == ["error", "error"]
        return
    warm = warm_checks(repo, "double", how)
    cold = cold_check(repo, "double")
    assert warm[0] == cold and warm[1] == cold


@pytest.mark.parametrize("how", list(HOW))
def test_warm_and_cold_agree_on_a_real_kata_with_a_subtle_mistake(pytester, how):
    """ar_forecast with a forecast that never feeds itself back: Hypothesis has to search and shrink."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for name in ("katas.toml", "pyproject.toml"):
        shutil.copy(root / name, pytester.path / name)
    for folder, name in (("katas", "ar_forecast.py"), ("solutions", "ar_forecast.py"),
                         ("pitfalls", "ar_forecast.py"), ("tests", "test_ar_forecast.py")):
        (pytester.path / folder).mkdir(exist_ok=True)
        shutil.copy(root / folder / name, pytester.path / folder / name)
    solution = (root / "solutions" / "ar_forecast.py").read_text()
    mistake = solution.replace("history.append(forecasts[k])", "pass")
    assert mistake != solution
    (pytester.path / "katas" / "ar_forecast.py").write_text(mistake)
    warm = warm_checks(pytester, "ar_forecast", how)
    cold = cold_check(pytester, "ar_forecast")
    assert cold["status"] == "failing"
    assert warm[0] == cold and warm[1] == cold


TIMED_TESTS = """
import os, time
import pytest

def log(kind, started):
    with open("timeline.log", "a") as timeline:
        cpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
        timeline.write(f"{kind} {os.getpid()} {started} {time.time()} {cpus}\\n")

@pytest.mark.parametrize("n", range(6))
def test_plain(kata, n):
    started = time.time()
    time.sleep(0.2)
    try:
        assert kata.double(n) == 2 * n
    finally:
        log("plain", started)

@pytest.mark.speed
def test_speed(kata):
    started = time.time()
    time.sleep(0.2)
    try:
        assert kata.double(1) == 2
    finally:
        log("speed", started)
"""


@pytest.mark.parametrize("logical_cpus", [1, 2])
def test_shares_run_side_by_side_then_the_speed_tests_alone_and_progress_counts_one_check(pytester, logical_cpus):
    from katakit.state import State

    extra = f"logical_cpus = {logical_cpus}" if logical_cpus > 1 else ""
    make_repo(pytester, double={"tests": TIMED_TESTS, "extra": extra})
    save(pytester, "double", WRONG_DOUBLE)  # failing: every check counts as an attempt until the first pass
    warm = warm_checks(pytester, "double", "in shares")
    assert [w["status"] for w in warm] == ["failing", "failing"]
    assert warm[0] == warm[1]
    assert list(warm[0]["tests"]) == list(warm[1]["tests"])  # the order of a single run
    lines = [line.split() for line in (pytester.path / "timeline.log").read_text().splitlines()]
    assert len(lines) == 14
    second = lines[7:]  # the check that ran in shares
    plain = [(int(pid), float(start), float(end)) for kind, pid, start, end, _ in second if kind == "plain"]
    speed = [(int(pid), float(start), float(end)) for kind, pid, start, end, _ in second if kind == "speed"]
    assert len({pid for pid, _, _ in plain}) == 2, "the plain tests ran in one process, not two side by side"
    assert len(speed) == 1 and speed[0][1] >= max(end for _, _, end in plain), (
        "the speed test started before the other tests had finished")
    assert speed[0][0] not in {pid for pid, _, _ in plain}
    # Each share keeps to CPUs of its own, unless the kata runs replicas on threads at once
    # (it splits the CPU into logical devices); the speed tests, alone, may use every CPU.
    cpus = {kind + pid: set(cpus.split(",")) for kind, pid, _, _, cpus in second}
    every_cpu = {str(cpu) for cpu in os.sched_getaffinity(0)}
    shares = [cpus[key] for key in cpus if key.startswith("plain")]
    if logical_cpus > 1:
        assert shares == [every_cpu, every_cpu]
    elif len(every_cpu) >= 2:
        assert not shares[0] & shares[1] and shares[0] | shares[1] == every_cpu
    assert next(cpus[key] for key in cpus if key.startswith("speed")) == every_cpu
    assert State.load(pytester.path).progress("double")["attempts"] == 2  # one per check, not per share


def test_moving_to_a_kata_with_other_frameworks_starts_a_lean_process(pytester):
    make_repo(pytester, triple={"frameworks": '["torch"]'})
    save(pytester, "double", DOUBLE)
    child = watch(pytester)
    child.expect("PASSED")
    child.send("n")
    child.expect("starting afresh for triple")
    child.expect("Getting triple ready \\(importing torch once\\)")
    child.expect("kata 2/2: ")
    child.expect("TODO")
    quit_cleanly(child)


def test_the_problem_panel_shows_the_counterexample_once():
    from katakit.watch import _without_repeated_example

    mismatch = ["fit_ar differs from the reference", "  input:    [0.3, -1.2, 0.1, 0.6]", "  expected: 1.0",
                "  yours:    2.0", "Failing test case: test_fit(", "    data=([0.3, -1.2, 0.1, 0.6], 2),", ")"]
    assert _without_repeated_example(mismatch) == mismatch[:4]
    # Without input / expected / yours, Hypothesis's example is the only account of the input: keep it.
    plain = ["assert 3 == 4", "Falsifying example: test_double(", "    x=1,", ")"]
    assert _without_repeated_example(plain) == plain
