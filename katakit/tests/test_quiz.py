"""Quiz katas: answer normalisation, locking, the maintainer's tool, and what a learner sees.

The last part checks every quiz kata of this repository: its locked block is up to date, each
misconception unlocks exactly its pitfall's diagnosis, each right answer its explanation, and
the test file shows neither answers nor texts in the clear.
"""

import io
import json
from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katakit import catalog as catalog_module
from katakit import quiz
from katakit.loading import load_module
from katakit.pitfalls import collect

from .toyrepo import CATALOG_ENTRY, HINTS

ROOT = Path(__file__).resolve().parents[2]
QUIZ_KATAS = [k.id for k in catalog_module.load(ROOT) if k.id.startswith(quiz.QUIZ_PREFIX)]


# ---- normalisation -----------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["b", "B", " b ", "(b)", "b)", "b.", "[B]", "b:", "b) the second choice",
                                    "(B) Second", "B. second", "\uff42"])  # the last: a full-width b
def test_one_letter_accepts_the_usual_spellings(answer):
    assert quiz.normalise(answer, "choice", "abcd") == "b"


@pytest.mark.parametrize("answer", ["", "bc", "b c", "e", "(e)", "second", "a tf.function", 2, None, ["b"]])
def test_one_letter_rejects_what_is_not_one_of_the_letters(answer):
    with pytest.raises(quiz.FormatProblem):
        quiz.normalise(answer, "choice", "abcd")


@pytest.mark.parametrize("answer", ["ac", "ca", "a, c", "A and C", "(a) (c)", "a/c", "a c c", ["c", "a"], ("a", "c"),
                                    {"a", "c"}, "a;c", "a & c"])
def test_several_letters_ignore_order_case_separators_and_repeats(answer):
    assert quiz.normalise(answer, "letters", "abcd") == "ac"


@pytest.mark.parametrize("answer", ["", "none", "a, e", "a1", ["a", "xy"], 3])
def test_several_letters_reject_unknown_letters_and_other_text(answer):
    with pytest.raises(quiz.FormatProblem):
        quiz.normalise(answer, "letters", "abcd")


@pytest.mark.parametrize("answer", ["2.5", "5/2", " 2.50 ", "25e-1", 2.5, "250%", "2.5x", "2.5 times", "+2.5"])
def test_numbers_compare_exactly_as_fractions(answer):
    assert quiz.normalise(answer, "number") == "5/2"


def test_numbers_read_floats_by_their_decimal_digits():
    assert quiz.normalise(0.1, "number") == quiz.normalise("1/10", "number") == "1/10"
    assert quiz.normalise(3, "number") == quiz.normalise("3.0", "number") == "3/1"
    assert quiz.normalise("\u22122", "number") == "-2/1"  # a typographic minus


@pytest.mark.parametrize("answer", [
    "3 traces", "3-fold", "epoch 3", "about 3 times", "(3)", "3.", "= 3", "~3", "3 (three)"])
def test_one_number_among_words_counts(answer):
    assert quiz.normalise(answer, "number") == "3/1"


@pytest.mark.parametrize("answer", ["three", "", "2,5", True, float("nan"), float("inf"), "1/0", None,
                                    "3 or 4", "3-4", "at least 3", "3 or more", "not 3", "more than 3",
                                    "between 2 and 3", "3 and 4"])
def test_numbers_reject_what_is_not_one_number(answer):
    with pytest.raises(quiz.FormatProblem):
        quiz.normalise(answer, "number")


@pytest.mark.parametrize("answer", ["nucleus sampling", "Nucleus Sampling", "nucleus-sampling", "nucleus_sampling",
                                    "  NUCLEUS   sampling. ", "the nucleus sampling", "`nucleus sampling`"])
def test_words_ignore_case_punctuation_spacing_and_a_leading_article(answer):
    assert quiz.normalise(answer, "text") == "nucleus sampling"


def test_words_keep_what_distinguishes_them():
    assert quiz.normalise("top-p", "text") == quiz.normalise("top_p", "text") == "top p"
    assert quiz.normalise("topp", "text") != "top p"
    with pytest.raises(quiz.FormatProblem):
        quiz.normalise("?!", "text")


@given(st.sampled_from("abcd"), st.sampled_from(["{}", "({})", "{})", "{}.", " {} "]), st.booleans())
def test_any_spelling_of_a_letter_normalises_to_that_letter(letter, template, upper):
    written = template.format(letter.upper() if upper else letter)
    assert quiz.normalise(written, "choice", "abcd") == letter


def test_item_kind_follows_from_the_question():
    choices = "Question?\n\n    a) one\n    b) two\n    c) three\n"
    assert quiz.item_kind(choices, "b") == ("choice", "abc")
    assert quiz.item_kind(choices + "\nAnswer with every letter that applies.", "ab") == ("letters", "abc")
    assert quiz.item_kind("How many?", "3") == ("number", "")
    assert quiz.item_kind("Which name?", "keepdim") == ("text", "")
    with pytest.raises(quiz.LockError):
        quiz.item_kind("Question?\n    a) one\n    c) three\n", "a")


# ---- locking -----------------------------------------------------------------------------------

def test_sealed_text_opens_only_with_its_answer():
    salt = "00" * 16
    token = quiz.seal("because", salt, "b")
    assert quiz.unseal(token, salt, "b") == "because"
    try:
        opened = quiz.unseal(token, salt, "c")
    except UnicodeDecodeError:
        opened = None
    assert opened != "because"
    assert "because" not in token and quiz.seal("because", salt, "b") != token  # a fresh nonce each time


def test_hashes_depend_on_the_salt():
    assert quiz.answer_hash("00" * 16, "b") != quiz.answer_hash("01" * 16, "b")
    assert quiz.answer_hash("00" * 16, "b") != quiz.answer_hash("00" * 16, "c")


def test_a_locked_item_grades_right_known_wrong_and_unknown_answers():
    salt = "ab" * 16
    locked = quiz.Locked("choice", "abcd", salt,
                         right={quiz.answer_hash(salt, "b"): quiz.seal("why b", salt, "b")},
                         wrong={quiz.answer_hash(salt, "a"): quiz.seal("why not a", salt, "a")})
    assert quiz.Locked.from_blob(locked.to_blob()) == locked
    assert quiz.unpack({"q": locked.to_blob()}) == {"q": locked}
    assert locked.grade("(B)") == quiz.Verdict(True, "b", "why b")
    assert locked.grade("a") == quiz.Verdict(False, "a", "why not a")
    assert locked.grade("c") == quiz.Verdict(False, "c", None)
    with pytest.raises(quiz.FormatProblem):
        locked.grade("bc")


# ---- a toy quiz kata, for the tool and the plugin -------------------------------------------------

TOY_STUB = '''
"""A toy quiz. Example: return "b"."""


def q01_axis() -> str:
    """Which axis does torch.sum(a, 0) remove from a 2-D tensor?

    a) the first axis
    b) the last axis
    """
    raise NotImplementedError


def q02_count() -> str:
    """How many elements does a tensor of shape (2, 3) hold? Answer with a number."""
    raise NotImplementedError
'''

TOY_SOLUTION = TOY_STUB.replace("raise NotImplementedError", 'return "a"', 1).replace(
    "raise NotImplementedError", 'return "6"') + '''
EXPLANATIONS = {
    "q01_axis": "Reducing over dim 0 adds the rows together, so the first axis disappears.",
    "q02_count": "The number of elements is the product of the sizes: 2 * 3 = 6.",
}
'''

TOY_PITFALLS = '''
from katakit.pitfalls import alternative, pitfall


@pitfall("q01_axis", "dim=0 is the first axis; the rows are added together.")
def last_axis():
    return "b"


@pitfall("q02_count", "The sizes multiply: 2 + 3 counts the axes' lengths, not the elements.")
def adds_sizes():
    return "5"


@alternative("q02_count", "The count as an int.")
def count_as_int():
    return 6
'''


def make_quiz_repo(pytester):
    pytester.makefile(".toml", pyproject='[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    for folder, text in (("katas", TOY_STUB), ("solutions", TOY_SOLUTION), ("pitfalls", TOY_PITFALLS)):
        (pytester.path / folder).mkdir(exist_ok=True)
        (pytester.path / folder / "quiz_toy.py").write_text(dedent(text))
    (pytester.path / "tests").mkdir(exist_ok=True)
    (pytester.path / "katas.toml").write_text(CATALOG_ENTRY.format(
        id="quiz_toy", title="Toy quiz", frameworks="[]", hints=HINTS, extra=""))
    quiz.write(pytester.path, "quiz_toy")
    return pytester


def answer(pytester, item, value):
    stub = pytester.path / "katas" / "quiz_toy.py"
    text = stub.read_text()
    start = text.index(f"def {item}")
    at = text.index("raise NotImplementedError", start)
    stub.write_text(text[:at] + f"return {value!r}" + text[at + len("raise NotImplementedError"):])


def test_lock_writes_a_test_file_that_reveals_nothing(pytester):
    make_quiz_repo(pytester)
    text = (pytester.path / "tests" / "test_quiz_toy.py").read_text()
    for secret in ("the rows are added", "product of the sizes", "2 + 3", '"6"', "'6'"):
        assert secret not in text
    assert quiz.verify(pytester.path, "quiz_toy") == []


def test_relocking_an_unchanged_kata_changes_nothing(pytester):
    make_quiz_repo(pytester)
    test_file = pytester.path / "tests" / "test_quiz_toy.py"
    before = test_file.read_text()
    quiz.write(pytester.path, "quiz_toy")
    assert test_file.read_text() == before


def test_verify_names_the_item_whose_key_changed(pytester):
    make_quiz_repo(pytester)
    solution = pytester.path / "solutions" / "quiz_toy.py"
    solution.write_text(solution.read_text().replace("2 * 3 = 6.", "two times three."))
    problems = quiz.verify(pytester.path, "quiz_toy")
    assert len(problems) == 1 and "q02_count" in problems[0] and "q01_axis" not in problems[0]
    assert "python -m katakit.quiz lock quiz_toy" in problems[0]
    quiz.write(pytester.path, "quiz_toy")
    assert quiz.verify(pytester.path, "quiz_toy") == []


def test_lock_refuses_a_misconception_that_is_a_right_answer(pytester):
    make_quiz_repo(pytester)
    pitfalls = pytester.path / "pitfalls" / "quiz_toy.py"
    pitfalls.write_text(pitfalls.read_text().replace('return "5"', 'return "6.0"'))
    with pytest.raises(quiz.LockError, match="adds_sizes returns a right answer"):
        quiz.build(pytester.path, "quiz_toy")


def test_lock_refuses_an_item_without_explanation(pytester):
    make_quiz_repo(pytester)
    solution = pytester.path / "solutions" / "quiz_toy.py"
    solution.write_text(solution.read_text().replace('    "q01_axis": "Reducing', '    "q09_other": "Reducing'))
    with pytest.raises(quiz.LockError, match="EXPLANATIONS names no question: q09_other"):
        quiz.build(pytester.path, "quiz_toy")


def test_quiz_kata_runs_in_every_mode(pytester):
    make_quiz_repo(pytester)
    result = pytester.runpytest("--solutions")
    assert result.ret == 0
    result = pytester.runpytest("--pitfalls")
    result.stdout.fnmatch_lines(["*quiz_toy: 2 of 2 pitfalls rejected, 1 of 1 alternatives accepted*"])
    assert result.ret == 0
    result = pytester.runpytest("--stubs")
    result.stdout.fnmatch_lines(["*1 of 1 stubs reported as todo*"])
    assert result.ret == 0


def test_learner_sees_a_misconception_message_and_a_format_problem_without_traceback(pytester):
    make_quiz_repo(pytester)
    answer(pytester, "q01_axis", "B")
    answer(pytester, "q02_count", "six")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([
        "q01_axis: 'B' is not right. dim=0 is the first axis; the rows are added together.",
        "q02_count: answer with a number*you gave 'six'*",
    ])
    assert "Traceback" not in result.stdout.str() and "During handling" not in result.stdout.str()


def test_a_wrong_answer_that_is_no_known_misconception_gets_a_plain_message(pytester):
    make_quiz_repo(pytester)
    answer(pytester, "q02_count", "7")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["q02_count: '7' is not right. Read the question again*"])


def test_a_right_answer_unlocks_its_explanation_once(pytester):
    make_quiz_repo(pytester)
    answer(pytester, "q01_axis", "(a)")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([
        "*quiz_toy*todo (1/2 checks pass)*",
        "*unlocked explanations*",
        "quiz_toy.q01_axis:",
        "    Reducing over dim 0 adds the rows together, so the first axis disappears.",
    ])
    state = json.loads((pytester.path / ".katas-state.json").read_text())
    assert state["katas"]["quiz_toy"]["explained"] == ["q01_axis"]
    answer(pytester, "q02_count", 6)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*unlocked explanations*", "quiz_toy.q02_count:",
                                 "*(1 explanation(s) unlocked in earlier runs: python -m katakit.quiz explain)"])
    assert "quiz_toy.q01_axis:" not in result.stdout.str()
    assert result.ret == 0


def test_explanations_are_not_shown_outside_the_learner_run(pytester):
    make_quiz_repo(pytester)
    result = pytester.runpytest("--solutions")
    assert "unlocked explanations" not in result.stdout.str()


def test_explain_prints_what_the_current_answers_unlock(pytester):
    make_quiz_repo(pytester)
    answer(pytester, "q01_axis", "a")
    out = io.StringIO()
    assert quiz.explain(pytester.path, "quiz_toy", out) == 0
    text = out.getvalue()
    assert "q01_axis: right." in text and "first axis disappears" in text
    assert "q02_count: not answered yet" in text and "1 of 2 right" in text


# ---- the quiz katas of this repository -------------------------------------------------------------

def test_the_repository_has_quiz_katas_with_at_least_40_items():
    items = sum(len(quiz.read_block(ROOT / "tests" / f"test_{k}.py", k) or {}) for k in QUIZ_KATAS)
    assert len(QUIZ_KATAS) >= 4 and items >= 40


@pytest.mark.parametrize("kata_id", QUIZ_KATAS)
def test_locked_answers_are_up_to_date(kata_id):
    assert quiz.verify(ROOT, kata_id) == []


@pytest.mark.parametrize("kata_id", QUIZ_KATAS)
def test_each_known_answer_unlocks_exactly_its_text(kata_id):
    locked = quiz.unpack(quiz.read_block(ROOT / "tests" / f"test_{kata_id}.py", kata_id))
    solution = load_module(ROOT / "solutions" / f"{kata_id}.py", "solutions")
    for item, entry in locked.items():
        verdict = entry.grade(getattr(solution, item)())
        assert verdict.right and verdict.text == solution.EXPLANATIONS[item].strip(), item
    for chosen in collect(load_module(ROOT / "pitfalls" / f"{kata_id}.py", "pitfalls")):
        verdict = locked[chosen.replaces].grade(chosen.function())
        if chosen.correct:
            assert verdict.right, f"{chosen.name} is not accepted"
        else:
            assert not verdict.right and verdict.text == chosen.diagnosis, f"{chosen.name}'s message is not unlocked"


@pytest.mark.parametrize("kata_id", QUIZ_KATAS)
def test_the_test_file_shows_no_explanation_or_message(kata_id):
    text = (ROOT / "tests" / f"test_{kata_id}.py").read_text()
    solution = load_module(ROOT / "solutions" / f"{kata_id}.py", "solutions")
    pitfalls = collect(load_module(ROOT / "pitfalls" / f"{kata_id}.py", "pitfalls"))
    for secret in [*solution.EXPLANATIONS.values(), *(p.diagnosis for p in pitfalls)]:
        assert secret[:30] not in text
