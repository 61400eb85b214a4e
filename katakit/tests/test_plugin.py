"""The plugin's contract, proven on a toy kata repository (see toyrepo.py)."""

import json

import pytest

from katakit.plugin import SEED
from katakit.state import STATE_FILE

from .toyrepo import make_repo, write_kata

PITFALLS_WITH_ALTERNATIVES = '''
    from katakit.pitfalls import alternative, pitfall

    @pitfall("double", "Adds the factor instead of multiplying by it.")
    def adds(x):
        return [v + 2 for v in x] if isinstance(x, list) else x + 2

    @alternative("double", "Doubles with a bit shift.")
    def shifts_left(x):
        return [v << 1 for v in x] if isinstance(x, list) else x << 1

    @alternative("double", "Claims to be right, but breaks on lists: the tests must say so.")
    def loops_and_forgets_lists(x):
        return x * 2
    '''


def outcomes(result) -> dict:
    """The counts on pytest's last line, custom statuses ("todo") included, warnings left out."""
    return {k: v for k, v in result.parseoutcomes().items() if k not in ("warnings", "warning")}


def solve(pytester, kata_id, body):
    (pytester.path / "katas" / f"{kata_id}.py").write_text(f"def {kata_id}(x):\n{body}\n")


# ---- learner mode: todo status and summary ---------------------------------------------------

def test_stub_is_todo_without_traceback_and_summary_names_next_kata(pytester):
    make_repo(pytester)
    result = pytester.runpytest()
    assert outcomes(result) == dict(todo=6)
    result.stdout.fnmatch_lines([
        "tests/test_double.py TTT*",
        "*progress: 0/2 katas done*",
        "*1. double*todo*",
        "next: double (Multiply by 2): edit katas/double.py",
        "*check it:*pytest tests/test_double.py",
        "*get a hint:*pytest --hint tests/test_double.py",
    ])
    assert "Traceback" not in result.stdout.str()
    assert "raise NotImplementedError" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # not done is not a pass


def test_summary_counts_done_katas_and_moves_on(pytester):
    make_repo(pytester)
    solve(pytester, "double", "    return [v * 2 for v in x] if isinstance(x, list) else x * 2")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*progress: 1/2 katas done*", "*1. double*done*", "next: triple*"])


def test_all_done_says_so_and_exits_zero(pytester):
    make_repo(pytester)
    solve(pytester, "double", "    return [v * 2 for v in x] if isinstance(x, list) else x * 2")
    solve(pytester, "triple", "    return [v * 3 for v in x] if isinstance(x, list) else x * 3")
    result = pytester.runpytest()
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*progress: 2/2 katas done*", "*every kata is done*"])


def test_status_of_katas_not_run_comes_from_the_state_file(pytester):
    make_repo(pytester)
    solve(pytester, "double", "    return [v * 2 for v in x] if isinstance(x, list) else x * 2")
    pytester.runpytest()
    result = pytester.runpytest("tests/test_triple.py")
    result.stdout.fnmatch_lines(["*progress: 1/2 katas done*", "*double*done (last run)*"])


# ---- the other modes ---------------------------------------------------------------------------

def test_solutions_mode_passes(pytester):
    make_repo(pytester)
    result = pytester.runpytest("--solutions")
    assert outcomes(result) == dict(passed=6)
    assert result.ret == 0


def test_pitfalls_mode_passes_when_every_pitfall_is_rejected(pytester):
    make_repo(pytester)
    result = pytester.runpytest("--pitfalls")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["double: 2 of 2 pitfalls rejected", "*caught*adds*", "*caught*squares*"])


def test_pitfalls_mode_fails_and_names_a_surviving_pitfall(pytester):
    make_repo(pytester, double={"pitfalls": '''
        from katakit.pitfalls import pitfall

        @pitfall("double", "Adds the input to itself, which is right; no test can reject it.")
        def adds_to_itself(x):
            return [v + v for v in x] if isinstance(x, list) else x + x
        '''})
    result = pytester.runpytest("--pitfalls")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["double: 0 of 1 pitfalls rejected", "*SURVIVED*adds_to_itself: Adds the input*"])


def test_pitfalls_mode_runs_alternatives_and_fails_when_one_is_rejected(pytester):
    make_repo(pytester, double={"pitfalls": PITFALLS_WITH_ALTERNATIVES})
    result = pytester.runpytest("--pitfalls", "tests/test_double.py")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "double: 1 of 1 pitfalls rejected, 1 of 2 alternatives accepted",
        "*caught*adds*",
        "*accepted*shifts_left*",
        "*REJECTED*loops_and_forgets_lists (a correct answer) by test_*",
        "*1 correct alternative(s) fail a test*",
    ])
    result.stdout.fnmatch_lines(["*the correct alternative loops_and_forgets_lists was rejected*"])


def test_stubs_mode_passes_on_untouched_stubs(pytester):
    make_repo(pytester)
    result = pytester.runpytest("--stubs")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["2 of 2 stubs reported as todo"])


def test_stubs_mode_flags_a_check_that_passes_on_the_stub(pytester):
    make_repo(pytester, triple={"tests": '''
        def test_cannot_fail(kata):
            assert kata is not None
        '''})
    result = pytester.runpytest("--stubs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*test_cannot_fail: passes on the untouched stub*"])


def test_modes_are_exclusive(pytester):
    make_repo(pytester)
    result = pytester.runpytest("--solutions", "--pitfalls")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*choose one of --solutions, --pitfalls, --stubs*"])


# ---- hints and state ---------------------------------------------------------------------------

def test_hint_reveals_the_next_level_and_remembers_it(pytester):
    make_repo(pytester)
    first = pytester.runpytest("--hint", "tests/test_double.py")
    first.stdout.fnmatch_lines(["double (hint 1 of 3):*", "*1. nudge: Think about multiplication.*"])
    assert "approach" not in first.stdout.str()
    second = pytester.runpytest("--hint", "tests/test_double.py")
    second.stdout.fnmatch_lines(["double (hint 2 of 3):*", "*1. nudge*", "*2. approach: Multiply x by the factor.*"])
    state = json.loads((pytester.path / STATE_FILE).read_text())
    assert state["katas"]["double"]["hint_level"] == 2
    assert "triple" not in state["katas"] or "hint_level" not in state["katas"]["triple"]


def test_hint_stops_at_the_last_level(pytester):
    make_repo(pytester)
    for _ in range(4):
        result = pytester.runpytest("--hint", "tests/test_double.py")
    result.stdout.fnmatch_lines(["double (hint 3 of 3):*", "*3. near-solution: return x * factor*",
                                 "*that was the last hint*"])


def test_corrupt_state_file_is_rebuilt_not_a_crash(pytester):
    make_repo(pytester)
    (pytester.path / STATE_FILE).write_text("{not json")
    result = pytester.runpytest("--hint", "tests/test_double.py")
    result.stdout.fnmatch_lines(["*was unreadable and has been rebuilt*", "double (hint 1 of 3):*"])
    assert json.loads((pytester.path / STATE_FILE).read_text())["katas"]["double"]["hint_level"] == 1


# ---- differential checks and diagnosis ---------------------------------------------------------

def test_differential_failure_shows_shrunk_input_expected_yours(pytester):
    make_repo(pytester)
    solve(pytester, "double", "    return x * 2 if x < 37 else x * 2 + 1")
    result = pytester.runpytest("tests/test_double.py")
    result.stdout.fnmatch_lines([
        "*double differs from the reference",
        "*input:    37",
        "*expected: 74",
        "*yours:    75",
    ])


def test_differential_names_the_known_mistake(pytester):
    make_repo(pytester)
    solve(pytester, "double", "    return [v + 2 for v in x] if isinstance(x, list) else x + 2")
    result = pytester.runpytest("tests/test_double.py")
    result.stdout.fnmatch_lines(["*known mistake: Adds the factor instead of multiplying by it. (adds)*"])


def test_differential_is_skipped_with_a_reason_without_solutions(pytester):
    make_repo(pytester)
    solve(pytester, "double", "    return [v * 2 for v in x] if isinstance(x, list) else x * 2")
    for path in (pytester.path / "solutions").iterdir():
        path.unlink()
    (pytester.path / "solutions").rmdir()
    result = pytester.runpytest("-rs", "tests/test_double.py")
    assert outcomes(result) == dict(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*differential check skipped: this copy has no reference solution*"])


def test_modifying_an_input_in_place_fails(pytester):
    make_repo(pytester)
    solve(pytester, "double", "    if isinstance(x, list):\n        x[:] = [v * 2 for v in x]\n        return x\n"
                              "    return x * 2")
    result = pytester.runpytest("tests/test_double.py")
    result.stdout.fnmatch_lines(["*double modified its argument #1 in place*"])
    assert outcomes(result) == dict(passed=2, failed=1)


# ---- constraints -------------------------------------------------------------------------------

@pytest.mark.parametrize("source, name, line", [
    ("import numpy as n\n\ndef double(x):\n    return n.tile(x, 2)\n", "numpy.tile", 4),
    ("from numpy import tile\n\ndef double(x):\n    return tile(x, 2)\n", "numpy.tile", 1),
    ("from numpy import tile as spread\n\ndef double(x):\n    return spread(x, 2)\n", "numpy.tile", 4),
])
def test_forbidden_calls_are_reported_with_name_and_line(pytester, source, name, line):
    make_repo(pytester, double={"extra": 'forbidden = ["numpy.tile"]'})
    (pytester.path / "katas" / "double.py").write_text(source)
    result = pytester.runpytest("tests/test_double.py")
    result.stdout.fnmatch_lines([f"*katas/double.py:line {line}: {name} (forbidden: numpy.tile)*"])


def test_forbidden_check_on_an_untouched_stub_is_todo_not_a_pass(pytester):
    make_repo(pytester, double={"extra": 'forbidden = ["numpy.tile"]'})
    result = pytester.runpytest("tests/test_double.py")
    assert outcomes(result) == dict(todo=4)
    result.stdout.fnmatch_lines(["tests/test_double.py TTTT*"])


def test_forbidden_check_in_pitfall_mode_reads_only_the_pitfall_function(pytester):
    make_repo(pytester, double={"extra": 'forbidden = ["numpy.tile"]', "pitfalls": '''
        import numpy as np
        from katakit.pitfalls import pitfall

        @pitfall("double", "Cheats with np.tile, which the kata forbids.")
        def tiles(x):
            if isinstance(x, list):
                return [v * 2 for v in x]
            return int(np.tile(np.array([x]), 2).sum())

        @pitfall("double", "Adds two.")
        def adds(x):
            return [v + 2 for v in x] if isinstance(x, list) else x + 2
        '''})
    result = pytester.runpytest("--pitfalls", "tests/test_double.py")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*caught*tiles*(by forbidden_calls)*", "*caught*adds*(by test_matches_reference)*"])


# ---- robustness --------------------------------------------------------------------------------

def test_syntax_error_in_one_kata_is_an_error_with_file_and_line_and_others_run(pytester):
    make_repo(pytester)
    (pytester.path / "katas" / "double.py").write_text("def double(x)\n    return x * 2\n")
    solve(pytester, "triple", "    return [v * 3 for v in x] if isinstance(x, list) else x * 3")
    result = pytester.runpytest()
    assert outcomes(result) == dict(errors=3, passed=3)
    result.stdout.fnmatch_lines(["*cannot load the kata: katas/double.py, line 1: SyntaxError*",
                                 "*1. double*error*", "*2. triple*done*"])


def test_import_error_in_a_kata_names_the_line(pytester):
    make_repo(pytester)
    (pytester.path / "katas" / "double.py").write_text("import math\nimport no_such_module_here\n")
    result = pytester.runpytest("tests/test_double.py")
    result.stdout.fnmatch_lines(["*cannot load the kata: katas/double.py, line 2: ModuleNotFoundError*"])


def test_a_hanging_kata_times_out_and_the_others_still_run(pytester):
    make_repo(pytester, double={"extra": "time_limit = 1"})
    solve(pytester, "double", "    while True:\n        pass")
    solve(pytester, "triple", "    return [v * 3 for v in x] if isinstance(x, list) else x * 3")
    result = pytester.runpytest_subprocess(timeout=120)
    result.stdout.fnmatch_lines([
        "timeout: ran longer than its time limit of 1 s (an endless loop?), last seen at katas/double.py:2 (double)",
    ])
    result.stdout.fnmatch_lines(["*1. double*failing*", "*2. triple*done*"])


def test_randomness_is_seeded_for_every_test(pytester):
    make_repo(pytester, double={"tests": f'''
        import random
        import numpy as np

        def test_first(kata):
            kata.double(1)
            assert random.random() == random.Random({SEED}).random()
            assert np.random.random() == np.random.RandomState({SEED}).random_sample()

        def test_second(kata):
            kata.double(1)
            assert random.random() == random.Random({SEED}).random()
        '''})
    solve(pytester, "double", "    return x * 2")
    result = pytester.runpytest("tests/test_double.py")
    assert outcomes(result) == dict(passed=2)


def test_invalid_catalog_is_a_clear_usage_error(pytester):
    make_repo(pytester)
    catalog = pytester.path / "katas.toml"
    catalog.write_text(catalog.read_text().replace('difficulty = "easy"', 'difficulty = "trivial"', 1))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*katas.toml does not match the catalog schema:*", "*kata/0/difficulty*"])


def test_plugin_is_inactive_outside_a_kata_repository(pytester):
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest()
    assert outcomes(result) == dict(passed=1)
    assert "Inference Katas" not in result.stdout.str()


# ---- frameworks are imported only when needed, torch first -------------------------------------

FAKE_FRAMEWORK = '''
import os
with open(os.path.join(os.path.dirname(__file__), "imports.log"), "a") as log:
    log.write(__name__ + "\\n")
'''


def fake_frameworks_repo(pytester):
    make_repo(pytester)
    for name in ("torch", "tensorflow"):
        (pytester.path / f"{name}.py").write_text(FAKE_FRAMEWORK)
    # alphabetical collection would meet the TensorFlow kata first
    write_kata(pytester, "a_tf_kata", 4, frameworks='["tensorflow"]',
               tests="import tensorflow\n\ndef test_it(kata):\n    kata.a_tf_kata(1)\n")
    write_kata(pytester, "b_torch_kata", 5, frameworks='["torch"]',
               tests="import torch\n\ndef test_it(kata):\n    kata.b_torch_kata(1)\n")
    return pytester


def test_torch_is_imported_before_tensorflow_when_both_are_selected(pytester):
    fake_frameworks_repo(pytester)
    pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert (pytester.path / "imports.log").read_text().split() == ["torch", "tensorflow"]


def test_a_numpy_kata_imports_neither_framework(pytester):
    fake_frameworks_repo(pytester)
    pytester.runpytest_subprocess("tests/test_double.py")
    assert not (pytester.path / "imports.log").exists()


def test_a_stub_inside_pytest_raises_exception_is_todo_not_a_pass(pytester):
    make_repo(pytester, double={"tests": '''
        import pytest
        from hypothesis import given, strategies as st

        def test_rejects_bad_input(kata):
            with pytest.raises(Exception):
                kata.double(None)

        @given(st.integers())
        def test_generated(kata, x):
            assert kata.double(x) == 2 * x
        '''})
    result = pytester.runpytest("tests/test_double.py")
    assert outcomes(result) == dict(todo=2)
    stubs = pytester.runpytest("--stubs", "tests/test_double.py")
    assert stubs.ret == 0


def test_stubs_mode_with_a_fixture_that_calls_the_stub(pytester):
    make_repo(pytester, double={"tests": '''
        import pytest

        @pytest.fixture(scope="module")
        def doubled(kata):
            return kata.double(21)

        def test_answer(doubled):
            assert doubled == 42
        '''})
    result = pytester.runpytest("--stubs", "tests/test_double.py")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["1 of 1 stubs reported as todo"])
    learner = pytester.runpytest("tests/test_double.py")
    assert outcomes(learner) == dict(todo=1)
