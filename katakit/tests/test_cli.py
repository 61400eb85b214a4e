"""The `katas` subcommands, run as a learner runs them, on the toy kata repository."""

import json
import os
import subprocess
import sys

import pytest

from katakit.state import STATE_FILE

from .toyrepo import make_repo

DOUBLE = "def double(x):\n    return [v * 2 for v in x] if isinstance(x, list) else x * 2\n"


def katas(pytester, *args, stdin=""):
    """Run `python -m katakit ARGS` in the toy repository, as a piped (non-terminal) process."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "katakit", *args], cwd=pytester.path, input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def repo(pytester):
    make_repo(pytester)
    subprocess.run(["git", "init", "-q"], cwd=pytester.path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=pytester.path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "katas"],
                   cwd=pytester.path, check=True)
    return pytester


def solve_double(repo):
    (repo.path / "katas" / "double.py").write_text(DOUBLE)


def test_list_shows_every_kata_in_course_order(repo):
    result = katas(repo, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Inference Katas: 0/2 done"
    assert lines[1].split() == ["#", "id", "status", "hints", "difficulty", "topic", "title"]
    assert lines[2].split()[:4] == ["1", "double", "not", "run"] and lines[3].split()[1] == "triple"


def test_list_json_is_for_machines(repo):
    rows = json.loads(katas(repo, "list", "--json").stdout)
    assert [r["id"] for r in rows] == ["double", "triple"]
    assert rows[0] == {"id": "double", "title": "Multiply by 2", "topic": "basics", "difficulty": "easy",
                       "points": 1, "status": "not run", "hints_used": 0}


def test_check_exit_status_is_zero_only_when_every_selected_kata_passes(repo):
    first = katas(repo, "check", "double")
    assert first.returncode == 1 and "todo" in first.stdout
    solve_double(repo)
    assert katas(repo, "check", "double").returncode == 0
    everything = katas(repo, "check", "--all")
    assert everything.returncode == 1 and "progress: 1/2 katas done" in everything.stdout
    assert json.loads(katas(repo, "list", "--json").stdout)[0]["status"] == "done"


def test_check_without_ids_checks_the_current_kata(repo):
    result = katas(repo, "check")
    assert "tests/test_double.py" in result.stdout and "test_triple" not in result.stdout


def test_a_wrong_kata_id_names_the_closest_ones(repo):
    result = katas(repo, "check", "dubble")
    assert result.returncode == 2
    assert result.stderr.strip() == "katas: no kata called 'dubble': did you mean double?"
    assert "katas list shows them all" in katas(repo, "hint", "zzz").stderr


def test_hint_reveals_one_level_at_a_time_and_remembers(repo):
    first = katas(repo, "hint", "triple")
    assert "triple: hint 1 of 3" in first.stdout and "1. nudge: Think about multiplication." in first.stdout
    second = katas(repo, "hint", "triple")
    assert "2. approach: Multiply x by the factor." in second.stdout
    for _ in range(2):
        last = katas(repo, "hint", "triple")
    assert "hint 3 of 3" in last.stdout and "that was the last hint" in last.stdout
    assert json.loads(katas(repo, "progress", "--json").stdout)["katas"]["triple"]["hints_used"] == 3


def test_solution_waits_until_the_kata_passes(repo):
    refused = katas(repo, "solution", "double")
    assert refused.returncode == 2 and "does not pass yet" in refused.stderr and "--force" in refused.stderr
    solve_double(repo)
    katas(repo, "check", "double")
    shown = katas(repo, "solution", "double")
    assert shown.returncode == 0 and "return x * 2" in shown.stdout
    assert json.loads(katas(repo, "progress", "--json").stdout)["katas"]["double"]["solution_forced"] is False


def test_solution_force_shows_it_and_records_that(repo):
    shown = katas(repo, "solution", "triple", "--force")
    assert shown.returncode == 0 and "return x * 3" in shown.stdout
    assert json.loads(katas(repo, "progress", "--json").stdout)["katas"]["triple"]["solution_forced"] is True


def test_reset_asks_keeps_a_backup_and_restores_the_stub(repo):
    stub = (repo.path / "katas" / "double.py").read_text()
    solve_double(repo)
    declined = katas(repo, "reset", "double", stdin="n\n")
    assert declined.returncode == 1 and (repo.path / "katas" / "double.py").read_text() == DOUBLE
    accepted = katas(repo, "reset", "double", stdin="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert (repo.path / "katas" / "double.py").read_text() == stub
    backups = list((repo.path / ".katas-backup").glob("double-*.py"))
    assert len(backups) == 1 and backups[0].read_text() == DOUBLE


def test_reset_finds_the_stub_behind_a_commit_of_the_learners_work(repo):
    stub = (repo.path / "katas" / "double.py").read_text()
    solve_double(repo)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "my work"],
                   cwd=repo.path, check=True)
    assert katas(repo, "reset", "double", "--yes").returncode == 0
    assert (repo.path / "katas" / "double.py").read_text() == stub


def test_progress_json_reports_attempts_first_pass_time_and_hints(repo):
    katas(repo, "check", "double")
    katas(repo, "check", "double")
    solve_double(repo)
    katas(repo, "check", "double")
    katas(repo, "check", "double")  # checks after the first pass are not attempts
    katas(repo, "hint", "double")
    report = json.loads(katas(repo, "progress", "--json").stdout)["katas"]
    double = report["double"]
    assert double["status"] == "done" and double["attempts"] == 3 and double["hints_used"] == 1
    assert double["first_passed"].endswith("+00:00") and double["time_spent_s"] >= 0
    assert report["triple"] == {"status": "not run", "attempts": 0, "first_passed": None, "time_spent_s": 0.0,
                                "hints_used": 0, "solution_forced": False}


def test_a_corrupt_state_file_is_rebuilt_not_a_crash(repo):
    (repo.path / STATE_FILE).write_text("{broken")
    result = katas(repo, "progress", "--json")
    assert result.returncode == 0
    assert "rebuilt" in json.loads(result.stdout)["note"]
    assert (repo.path / (STATE_FILE + ".corrupt")).read_text() == "{broken"


def test_bench_refuses_a_kata_without_speed_checks(repo):
    result = katas(repo, "bench", "double")
    assert result.returncode == 2 and "double has no speed checks" in result.stderr


def test_bench_runs_the_speed_checks_and_shows_their_figures(repo):
    (repo.path / "tests" / "test_double.py").write_text(
        "import pytest\n\n@pytest.mark.speed\ndef test_speed(kata):\n    kata.double(1)\n"
        "    print('figures: 4.2x faster')\n\ndef test_other(kata):\n    kata.double(2)\n")
    solve_double(repo)
    result = katas(repo, "bench", "double")
    assert result.returncode == 0 and "figures: 4.2x faster" in result.stdout and "1 deselected" in result.stdout


def test_a_partial_run_never_marks_a_kata_done(repo):
    solve_double(repo)
    katas(repo, "bench", "double")  # a -m selection
    repo.runpytest("tests/test_double.py::test_small_example")
    assert json.loads(katas(repo, "list", "--json").stdout)[0]["status"] == "not run"


def test_every_subcommand_has_help_with_an_example(repo):
    for command in ("watch", "list", "check", "hint", "solution", "reset", "progress", "bench"):
        result = katas(repo, command, "--help")
        assert result.returncode == 0 and "example:" in result.stdout, command


def test_outside_a_kata_repository_the_error_says_where_to_run(tmp_path):
    result = subprocess.run([sys.executable, "-m", "katakit", "list"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2 and "no katas.toml" in result.stderr and "inside the kata repository" in result.stderr


@pytest.mark.parametrize("jobs", ["0", "two", "-1"])
def test_watch_options_without_a_command_are_checked_like_any_other(repo, jobs):
    result = katas(repo, "--jobs", jobs)
    assert result.returncode == 2
    assert f"argument --jobs: expected a whole number of processes, 1 or more, not '{jobs}'" in result.stderr


def test_watch_options_without_a_command_start_watch_mode(repo):
    result = katas(repo, "--jobs", "1", "--manual-run", stdin="q\n")
    assert result.returncode == 0, result.stderr
    assert "Getting double ready" in result.stdout and "bye" in result.stdout
