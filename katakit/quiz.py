"""Quiz katas: conceptual questions with locked answers.

Some interview questions have no code to write ("why does tf.function retrace?", "what does an
A/B test need?"). A quiz kata asks them as multiple-choice or short-answer items, checked like
any other kata: it is a normal ``katas.toml`` entry, it counts in progress, and it has a stub,
a solution, pitfalls and tests. What is special is that its tests hold the expected answers
LOCKED, so reading them reveals nothing.

Writing a quiz kata
-------------------

A quiz kata's id starts with ``quiz_`` (``quiz_frameworks``). Its five parts:

``katas/quiz_<topic>.py``, the stub. One function per item, named ``qNN_<what_it_asks>``,
taking no arguments, with the question as its docstring and a body of
``raise NotImplementedError``. The module docstring says how to answer and has an Example.
How an item is answered follows from its docstring:

- **one letter**: the docstring lists choices on lines of their own, ``a) ...``, ``b) ...``
  (letters from ``a``, in order). The learner returns ``"b"``.
- **several letters**: the same, and the docstring contains the words "every letter that
  applies". The learner returns ``"ac"`` (or ``"a, c"``, or ``["a", "c"]``).
- **a number**: no choices, and the answer is a number. The learner returns ``"3"`` or ``3``.
- **a word or a short phrase**: no choices, and the answer is not a number. Keep these for
  answers that have one natural spelling (a keyword argument, a technical term); list the
  spellings that are equally right in ``ALSO_ACCEPTED`` (below).

Every docstring must make its question answerable alone, with one defensible answer.

``solutions/quiz_<topic>.py``, the answer key: the stub with every body replaced by
``return "<the right answer>"``, plus two module-level dicts the tests never see:
``EXPLANATIONS`` (item name -> a short explanation in your own words, shown to a learner who
answers right) and, when needed, ``ALSO_ACCEPTED`` (item name -> a tuple of other right answers,
for word answers with synonyms).

``pitfalls/quiz_<topic>.py``: the misconceptions, as for any kata, at least four::

    @pitfall("q03_tf2_default_execution", "That is TF 1.x graph mode: TF 2 runs operations eagerly ...")
    def thinks_tf2_needs_a_session():
        return "a"

The pitfall replaces the item's function and returns the wrong answer; its one-line diagnosis
is the message a learner who gives that answer sees. ``@alternative`` functions return right
answers written differently (``"(B)"``, ``"5/2"`` for ``2.5``), which the tests must accept.

``tests/test_quiz_<topic>.py`` is generated: never hand-compute a hash. Run

    python -m katakit.quiz lock quiz_<topic>

It reads the stub, the answer key and the pitfalls, and writes the locked block into the test
file (creating the file the first time). Run it again after any change to a question, an
answer, an explanation or a misconception; ``python -m katakit.quiz verify`` (part of the
self-check, through katakit/tests) fails while a locked block is out of date. Re-locking keeps
each item's salt and any ciphertext whose text has not changed, so diffs stay small.

The catalog entry is an ordinary one, with ``frameworks = []`` (the tests import no framework).

How answers are locked
----------------------

An answer is first normalised, by kind (``normalise``):

- letters: Unicode NFKC and case folded; ``"b"``, ``"B"``, ``"(b)"``, ``"b)"``, ``"b."``,
  and ``"b) the text of choice b"`` all mean ``b``. For several letters, commas, spaces,
  slashes, ``and``, ``&`` and brackets separate them; order and repeats do not matter.
- numbers: ``int``, ``float`` or a string that Python's ``Fraction`` reads (``"2.5"``,
  ``"5/2"``, ``"25e-1"``), with an optional ``%`` (a hundredth) or a trailing ``x`` or
  ``times``; compared exactly, as a reduced fraction. One number among words also counts
  (``"3 traces"``, ``"epoch 5"``), unless there are two numbers or a word that makes it a
  range or a denial (``"3 or 4"``, ``"at least 3"``, ``"not 3"``: a format error).
- words: NFKC and case folded, every run of characters other than letters and digits becomes
  one space (so ``top-p``, ``top_p`` and ``Top P`` are the same), and a leading "a", "an" or
  "the" is dropped.

An answer that cannot be read as its kind is a format error, reported as such (not as a
wrong answer). Each item has a random salt; the tests store, per accepted answer and per
misconception, ``HMAC-SHA256(salt, normalised answer)`` (truncated to 128 bits), and the text
to show (explanation or misconception message) encrypted with a key derived the same way from
that answer (a SHA-256 counter-mode keystream with a random nonce). Only the right answer
opens its explanation; only that wrong answer opens its message.

This keeps answers out of sight of a learner who reads the tests, as okpy's locked tests do.
It does not stop a determined one: four letters are four tries, and the tests themselves are
an oracle. Hiring teams that grade quiz answers should grade the submitted file.

What the learner sees
---------------------

A right answer passes, and its explanation is recorded on the test (the ``record_property``
fixture, under ``EXPLANATION_PROPERTY``); the plugin prints explanations unlocked for the first
time in an "unlocked explanations" section of the summary. ``python -m katakit.quiz explain``
prints every explanation the learner's current answers unlock, at any time.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import hmac
import json
import re
import secrets
import sys
import textwrap
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

EXPLANATION_PROPERTY = "katakit_quiz_explanation"  # (item, explanation), recorded on a passing quiz test
QUIZ_PREFIX = "quiz_"
KINDS = ("choice", "letters", "number", "text")
BEGIN = "# ---- locked answers: written by `python -m katakit.quiz lock {kata_id}`; do not edit by hand ----"
END = "# ---- end of locked answers ----"
CHUNK = 100  # characters of a locked blob per line of the test file

_CHOICE_LINE = re.compile(r"^\s*([a-z])\)\s+\S", re.MULTILINE)
_SEVERAL = re.compile(r"every\s+letter\s+that\s+applies", re.IGNORECASE)
_ONE_LETTER = re.compile(r"^[(\[]?\s*([a-z])\s*[)\]]?\s*[.:]?$")  # b  (b)  b)  b.  [b]  b:
_LETTER_THEN_TEXT = re.compile(r"^[(\[]?\s*([a-z])\s*[)\].:]\s*\S")  # "b) text of the choice"
_SEPARATORS = re.compile(r"[\s,;/&+()\[\].:|-]+")
_ARTICLE = re.compile(r"^(?:a|an|the) ")
_TIMES = re.compile(r"\s*(?:x|×|times)$")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?(?:\s*/\s*\d+)?%?")
# Words that turn a number into a range or a denial: "at least 3", "3 or more", "not 3" are not "3".
_HEDGES = {"not", "no", "never", "nor", "neither", "except", "or", "more", "less", "fewer", "least", "most",
           "than", "over", "under", "above", "below", "between", "plus", "minus", "up", "to", "and"}
_WORDS_AROUND_A_NUMBER = re.compile(r"^[^\W\d_]*(?:[\s~=:,.()-]+[^\W\d_]*)*$")  # letters, spaces, light punctuation


class FormatProblem(ValueError):
    """The answer cannot be read as its item's kind (not a letter, not a number...)."""


class LockError(Exception):
    """The stub, answer key or pitfalls of a quiz kata are inconsistent; the message says where."""


# ---- normalisation ---------------------------------------------------------------------------

def _folded(answer) -> str:
    if not isinstance(answer, str):
        raise FormatProblem(f"return a string, not {type(answer).__name__} ({answer!r})")
    return unicodedata.normalize("NFKC", answer).casefold().strip()


def _letters_list(letters: str) -> str:
    return ", ".join(letters)


def _one_letter(answer, letters: str) -> str:
    text = _folded(answer)
    match = _ONE_LETTER.match(text) or _LETTER_THEN_TEXT.match(text)
    if match is None:
        raise FormatProblem(f"answer with one letter, one of {_letters_list(letters)} (you gave {answer!r})")
    letter = match.group(1)
    if letter not in letters:
        raise FormatProblem(f"there is no choice {letter!r}: answer with one of {_letters_list(letters)}")
    return letter


def _several_letters(answer, letters: str) -> str:
    if isinstance(answer, list | tuple | set | frozenset):
        chosen = {_one_letter(part, letters) for part in answer}
    else:
        text = _folded(answer)
        text = re.sub(r"\band\b", " ", text)
        squeezed = _SEPARATORS.sub("", text)
        if not squeezed or not squeezed.isalpha() or not squeezed.isascii():
            raise FormatProblem(f"answer with the letters that apply, like \"ac\" or \"a, c\" (you gave {answer!r})")
        unknown = sorted(set(squeezed) - set(letters))
        if unknown:
            raise FormatProblem(f"there is no choice {', '.join(map(repr, unknown))}: "
                                f"the choices are {_letters_list(letters)}")
        chosen = set(squeezed)
    if not chosen:
        raise FormatProblem("answer with at least one letter")
    return "".join(sorted(chosen))


def _fraction(text: str) -> Fraction:
    """A number written alone: "2.5", "5/2", "25e-1", "250%", "2.5x", "2.5 times"; ValueError otherwise."""
    scale = Fraction(1)
    if text.endswith("%"):
        text, scale = text[:-1], Fraction(1, 100)
    else:
        text = _TIMES.sub("", text)
    return Fraction(re.sub(r"\s+", "", text)) * scale


def _number(answer) -> str:
    if isinstance(answer, bool):
        raise FormatProblem(f"answer with a number, not {answer!r}")
    if isinstance(answer, int):
        value = Fraction(answer)
    elif isinstance(answer, float):
        if answer != answer or answer in (float("inf"), float("-inf")):
            raise FormatProblem(f"answer with a finite number, not {answer!r}")
        value = Fraction(repr(answer))  # 0.1 means one tenth, not the binary double nearest to it
    else:
        text = _folded(answer).replace("\u2212", "-").replace("_", "")
        numbers = _NUMBER.findall(text)
        try:
            value = _fraction(text)
        except (ValueError, ZeroDivisionError):
            # One number among words ("3 traces", "epoch 5", "about 4 times"); never two ("3 or 4").
            rest = _NUMBER.sub(" ", text)
            hedged = set(rest.replace("(", " ").replace(")", " ").split()) & _HEDGES
            if len(numbers) != 1 or not _WORDS_AROUND_A_NUMBER.match(rest) or hedged:
                raise FormatProblem(f"answer with a number, such as \"3\", \"0.75\" or \"3/4\" "
                                    f"(you gave {answer!r})") from None
            try:
                value = _fraction(numbers[0])
            except (ValueError, ZeroDivisionError):
                raise FormatProblem(f"answer with a number, such as \"3\", \"0.75\" or \"3/4\" "
                                    f"(you gave {answer!r})") from None
    return f"{value.numerator}/{value.denominator}"


def _words(answer) -> str:
    text = _folded(answer)
    text = "".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in text)
    text = _ARTICLE.sub("", " ".join(text.split()))
    if not text:
        raise FormatProblem(f"answer with a word or a short phrase (you gave {answer!r})")
    return text


def normalise(answer, kind: str, letters: str = "") -> str:
    """The canonical form of `answer` for an item of `kind`; FormatProblem if it has none."""
    if kind == "choice":
        return _one_letter(answer, letters)
    if kind == "letters":
        return _several_letters(answer, letters)
    if kind == "number":
        return _number(answer)
    if kind == "text":
        return _words(answer)
    raise ValueError(f"unknown quiz item kind {kind!r}")


def item_kind(docstring: str, answer) -> tuple[str, str]:
    """(kind, letters) of an item, from its question's text and its right answer."""
    letters = "".join(_CHOICE_LINE.findall(docstring or ""))
    if letters:
        if letters != "abcdefghijklmnopqrstuvwxyz"[: len(letters)] or len(letters) < 2:
            raise LockError(f"choices must be lettered a), b), c)... in order, one per line (found {letters!r})")
        return ("letters" if _SEVERAL.search(docstring) else "choice"), letters
    try:
        normalise(answer, "number")
    except FormatProblem:
        return "text", ""
    return "number", ""


# ---- locking ---------------------------------------------------------------------------------

def _mac(salt: str, label: bytes, normalised: str) -> bytes:
    return hmac.new(bytes.fromhex(salt), label + b"\0" + normalised.encode("utf-8"), hashlib.sha256).digest()


def answer_hash(salt: str, normalised: str) -> str:
    """What the tests store for an answer: a salted HMAC of its normalised form (128 bits, hex)."""
    return _mac(salt, b"answer", normalised).hex()[:32]


def _keystream(key: bytes, nonce: bytes, size: int) -> bytes:
    blocks = (hashlib.sha256(key + nonce + n.to_bytes(8, "big")).digest() for n in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def seal(text: str, salt: str, normalised: str, *, nonce: bytes | None = None) -> str:
    """`text` encrypted with a key that only `normalised` (with `salt`) derives."""
    nonce = nonce if nonce is not None else secrets.token_bytes(12)
    data = text.encode("utf-8")
    stream = _keystream(_mac(salt, b"key", normalised), nonce, len(data))
    return base64.b64encode(nonce + bytes(a ^ b for a, b in zip(data, stream, strict=True))).decode("ascii")


def unseal(token: str, salt: str, normalised: str) -> str:
    """The text `seal` locked; garbage (or UnicodeDecodeError) with any other answer."""
    raw = base64.b64decode(token)
    nonce, body = raw[:12], raw[12:]
    stream = _keystream(_mac(salt, b"key", normalised), nonce, len(body))
    return bytes(a ^ b for a, b in zip(body, stream, strict=True)).decode("utf-8")


@dataclass(frozen=True)
class Verdict:
    right: bool
    normalised: str
    text: str | None  # the explanation (right), the misconception's message (known wrong), or None


@dataclass(frozen=True)
class Locked:
    """One item's locked answers: hashes of the right and the known wrong answers, texts sealed."""

    kind: str
    letters: str
    salt: str
    right: dict  # answer hash -> sealed explanation
    wrong: dict  # answer hash -> sealed misconception message

    def grade(self, answer) -> Verdict:
        """Right, known wrong (with its message) or wrong; FormatProblem if `answer` is unreadable."""
        normalised = normalise(answer, self.kind, self.letters)
        digest = answer_hash(self.salt, normalised)
        if digest in self.right:
            return Verdict(True, normalised, unseal(self.right[digest], self.salt, normalised))
        if digest in self.wrong:
            return Verdict(False, normalised, unseal(self.wrong[digest], self.salt, normalised))
        return Verdict(False, normalised, None)

    def to_blob(self) -> str:
        data = {"kind": self.kind, "letters": self.letters, "salt": self.salt, "right": self.right, "wrong": self.wrong}
        return base64.b64encode(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).decode("ascii")

    @classmethod
    def from_blob(cls, blob: str) -> Locked:
        data = json.loads(base64.b64decode(blob))
        if data.get("kind") not in KINDS:
            raise ValueError(f"not a locked quiz item: {blob[:20]}...")
        return cls(data["kind"], data["letters"], data["salt"], dict(data["right"]), dict(data["wrong"]))


def unpack(blobs: dict) -> dict[str, Locked]:
    """The locked items of a quiz test file, from the block `lock` writes (item -> blob)."""
    return {item: Locked.from_blob(blob) for item, blob in blobs.items()}


# ---- the check a quiz test runs --------------------------------------------------------------

def check(kata, item: str, locked: Locked, record_property=None) -> None:
    """Grade the answer `kata.<item>()` returns; on success record the explanation it unlocks.

    A stub's NotImplementedError passes through (the plugin reports it as todo). Any failure is
    a one-paragraph message without a traceback: a format problem, a known misconception's
    message, or a plain "not right".
    """
    import pytest

    __tracebackhide__ = True
    function = getattr(kata, item, None)
    if not callable(function):
        pytest.fail(f"{item}: your quiz file has no function {item}(); keep one function per question, "
                    f"with the name it was given", pytrace=False)
    answer = function()
    try:
        verdict = locked.grade(answer)
    except FormatProblem as problem:
        unreadable = str(problem)
    else:
        unreadable = None
    if unreadable is not None:  # failed outside the except block: no "during handling" chain in the report
        pytest.fail(f"{item}: {unreadable}", pytrace=False)
    if verdict.right:
        if record_property is not None:
            record_property(EXPLANATION_PROPERTY, (item, verdict.text))
        return
    if verdict.text:
        pytest.fail(f"{item}: {answer!r} is not right. {verdict.text}", pytrace=False)
    pytest.fail(f"{item}: {answer!r} is not right. Read the question again, and each choice on its own "
                f"terms; `pytest --hint` gives a nudge.", pytrace=False)


# ---- the maintainer's tool: building and checking the locked block ---------------------------

def _find_root(start: Path | None = None) -> Path:
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "katas.toml").is_file():
            return folder
    raise LockError(f"no katas.toml in {here} or above it: run this inside the kata repository")


def _paths(root: Path, kata_id: str) -> dict[str, Path]:
    return {"stub": root / "katas" / f"{kata_id}.py", "solution": root / "solutions" / f"{kata_id}.py",
            "pitfalls": root / "pitfalls" / f"{kata_id}.py", "tests": root / "tests" / f"test_{kata_id}.py"}


def _questions(stub: Path) -> dict[str, str]:
    """item -> question, in file order: the stub's functions whose body raises NotImplementedError."""
    from .constraints import unfinished_functions

    source = stub.read_text(encoding="utf-8")
    unfinished = set(unfinished_functions(source))
    tree = ast.parse(source)
    questions = {node.name: ast.get_docstring(node) or "" for node in tree.body
                 if isinstance(node, ast.FunctionDef) and node.name in unfinished}
    if not questions:
        raise LockError(f"{stub.name}: no question (a function whose body is raise NotImplementedError)")
    for name, question in questions.items():
        if not question.strip():
            raise LockError(f"{stub.name}: {name} has no docstring; the docstring is the question")
    return questions


def read_block(test_file: Path, kata_id: str) -> dict[str, str] | None:
    """item -> blob from a test file's locked block; None when the file or the block is absent."""
    if not test_file.is_file():
        return None
    text = test_file.read_text(encoding="utf-8")
    begin, end = BEGIN.format(kata_id=kata_id), END
    if begin not in text or end not in text:
        return None
    block = text[text.index(begin) + len(begin): text.index(end)]
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.Dict):
            return ast.literal_eval(node)
    return None


def _reseal(old: dict, text: str, salt: str, normalised: str) -> str:
    """The previous ciphertext when it still holds `text` (quiet diffs), a fresh one otherwise."""
    token = old.get(answer_hash(salt, normalised))
    if token is not None:
        try:
            if unseal(token, salt, normalised) == text:
                return token
        except (UnicodeDecodeError, ValueError):
            pass
    return seal(text, salt, normalised)


def build(root: Path, kata_id: str) -> dict[str, Locked]:
    """The locked items of a quiz kata, from its stub, answer key and pitfalls (reusing old salts)."""
    from .loading import load_module
    from .pitfalls import collect

    paths = _paths(root, kata_id)
    for part in ("stub", "solution", "pitfalls"):
        if not paths[part].is_file():
            raise LockError(f"{paths[part].relative_to(root)} is missing")
    questions = _questions(paths["stub"])
    solution = load_module(paths["solution"], "solutions")
    explanations = getattr(solution, "EXPLANATIONS", None)
    also = getattr(solution, "ALSO_ACCEPTED", {})
    where = f"solutions/{kata_id}.py"
    if not isinstance(explanations, dict):
        raise LockError(f"{where} needs a dict EXPLANATIONS: item name -> explanation")
    for name, mapping in (("EXPLANATIONS", explanations), ("ALSO_ACCEPTED", also)):
        extra = sorted(set(mapping) - set(questions))
        if extra:
            raise LockError(f"{where}: {name} names no question: {', '.join(extra)}")
    misconceptions: dict[str, list] = {item: [] for item in questions}
    for chosen in collect(load_module(paths["pitfalls"], "pitfalls")):
        if chosen.replaces not in questions:
            raise LockError(f"pitfalls/{kata_id}.py: {chosen.name} replaces {chosen.replaces}, which is no question")
        if not chosen.correct:
            misconceptions[chosen.replaces].append((chosen.name, chosen.function(), chosen.diagnosis))
    previous = read_block(paths["tests"], kata_id) or {}
    locked = {}
    for item, question in questions.items():
        explanation = explanations.get(item, "")
        if not isinstance(explanation, str) or len(explanation.strip()) < 20:
            raise LockError(f"{where}: EXPLANATIONS[{item!r}] is missing or too short")
        answer = getattr(solution, item)()
        try:
            kind, letters = item_kind(question, answer)
            accepted = [normalise(a, kind, letters) for a in (answer, *also.get(item, ()))]
        except (FormatProblem, LockError) as problem:
            raise LockError(f"{where}: {item}: {problem}") from None
        old = Locked.from_blob(previous[item]) if item in previous else None
        same_kind = old is not None and (old.kind, old.letters) == (kind, letters)
        salt = old.salt if same_kind else secrets.token_hex(16)
        right = {answer_hash(salt, n): _reseal(old.right if same_kind else {}, explanation.strip(), salt, n)
                 for n in dict.fromkeys(accepted)}
        wrong = {}
        for name, wrong_answer, message in misconceptions[item]:
            try:
                n = normalise(wrong_answer, kind, letters)
            except FormatProblem as problem:
                raise LockError(f"pitfalls/{kata_id}.py: {name}: a misconception must be a readable answer: "
                                f"{problem}") from None
            if n in accepted:
                raise LockError(f"pitfalls/{kata_id}.py: {name} returns a right answer of {item} ({wrong_answer!r})")
            digest = answer_hash(salt, n)
            if digest in wrong:
                raise LockError(f"pitfalls/{kata_id}.py: {name}: two misconceptions of {item} give the same answer")
            wrong[digest] = _reseal(old.wrong if same_kind else {}, message, salt, n)
        locked[item] = Locked(kind, letters, salt, right, wrong)
    return locked


def render_block(kata_id: str, locked: dict[str, Locked]) -> str:
    lines = [BEGIN.format(kata_id=kata_id), "LOCKED = quiz.unpack({"]
    for item, entry in locked.items():
        blob = entry.to_blob()
        lines.append(f"    {json.dumps(item)}: (")
        lines.extend(f'        "{blob[i:i + CHUNK]}"' for i in range(0, len(blob), CHUNK))
        lines.append("    ),")
    lines += ["})", END]
    return "\n".join(lines)


TEST_TEMPLATE = '''"""Tests for {kata_id}: each item's answer against its locked answer.

The expected answers are stored locked (salted hashes, see katakit/quiz.py); a right answer
unlocks its explanation and a common wrong one its misconception message. The block below is
written by `python -m katakit.quiz lock {kata_id}` from the answer key and the pitfalls.
"""

import pytest

from katakit import quiz

{block}


@pytest.mark.parametrize("item", LOCKED)
def test_answer(kata, item, record_property):
    quiz.check(kata, item, LOCKED[item], record_property)
'''


def write(root: Path, kata_id: str) -> Path:
    """Lock the kata's answers into tests/test_<id>.py (replacing its block, or creating the file)."""
    test_file = _paths(root, kata_id)["tests"]
    block = render_block(kata_id, build(root, kata_id))
    if not test_file.is_file():
        test_file.write_text(TEST_TEMPLATE.format(kata_id=kata_id, block=block), encoding="utf-8")
        return test_file
    text = test_file.read_text(encoding="utf-8")
    begin = BEGIN.format(kata_id=kata_id)
    if begin not in text or END not in text:
        raise LockError(f"{test_file.relative_to(root)} exists but has no locked block; its markers are:\n"
                        f"  {begin}\n  {END}")
    start, stop = text.index(begin), text.index(END) + len(END)
    test_file.write_text(text[:start] + block + text[stop:], encoding="utf-8")
    return test_file


def verify(root: Path, kata_id: str) -> list[str]:
    """What is wrong with a quiz kata's locked block (empty when it matches the key and pitfalls)."""
    try:
        expected = build(root, kata_id)
    except LockError as problem:
        return [f"{kata_id}: {problem}"]
    found = read_block(_paths(root, kata_id)["tests"], kata_id)
    fix = f"run `python -m katakit.quiz lock {kata_id}`"
    if found is None:
        return [f"{kata_id}: tests/test_{kata_id}.py has no locked block: {fix}"]
    problems = []
    if list(found) != list(expected):
        problems.append(f"{kata_id}: the locked items {list(found)} are not the stub's questions "
                        f"{list(expected)}: {fix}")
    stale = [item for item in expected if item in found and found[item] != expected[item].to_blob()]
    if stale:
        problems.append(f"{kata_id}: locked answers out of date for {', '.join(stale)}: {fix}")
    return problems


def quiz_katas(root: Path) -> list[str]:
    from . import catalog as catalog_module

    return [kata.id for kata in catalog_module.load(root) if kata.id.startswith(QUIZ_PREFIX)]


# ---- the learner's tool: explanations ---------------------------------------------------------

def explain(root: Path, kata_id: str, out=None) -> int:
    """Print, for each item, the explanation the learner's answer unlocks (or why there is none)."""
    from .loading import KataLoadError, load_module

    out = out or sys.stdout
    paths = _paths(root, kata_id)
    blobs = read_block(paths["tests"], kata_id)
    if blobs is None:
        print(f"{kata_id}: no locked answers found in tests/test_{kata_id}.py", file=out)
        return 1
    try:
        module = load_module(paths["stub"], "katas")
    except KataLoadError as error:
        print(f"{kata_id}: cannot load your answers: {error}", file=out)
        return 1
    right = 0
    print(f"== {kata_id} ==", file=out)
    for item, entry in unpack(blobs).items():
        function = getattr(module, item, None)
        try:
            verdict = entry.grade(function()) if callable(function) else None
        except NotImplementedError:
            print(f"  {item}: not answered yet", file=out)
            continue
        except FormatProblem as problem:
            print(f"  {item}: {problem}", file=out)
            continue
        except Exception as error:  # the learner's function may raise anything
            print(f"  {item}: your function raised {type(error).__name__}: {error}", file=out)
            continue
        if verdict is None:
            print(f"  {item}: missing from katas/{kata_id}.py", file=out)
        elif verdict.right:
            right += 1
            print(f"  {item}: right.", file=out)
            print(textwrap.indent(textwrap.fill(verdict.text, 96), "      "), file=out)
        else:
            print(f"  {item}: not right yet (pytest tests/test_{kata_id}.py says more)", file=out)
    print(f"  {right} of {len(blobs)} right", file=out)
    return 0


# ---- command line ------------------------------------------------------------------------------

def _run(args) -> int:
    try:
        root = _find_root()
        ids = args.kata or quiz_katas(root)
        if args.action == "lock":
            if not args.kata:
                raise LockError("name the quiz katas to lock: python -m katakit.quiz lock quiz_<topic> ...")
            for kata_id in ids:
                path = write(root, kata_id)
                print(f"locked {kata_id}: {path.relative_to(root)}")
            return 0
        if args.action == "verify":
            problems = [p for kata_id in ids for p in verify(root, kata_id)]
            for problem in problems:
                print(problem, file=sys.stderr)
            print(f"{len(ids) - len({p.split(':')[0] for p in problems})} of {len(ids)} quiz katas up to date")
            return 1 if problems else 0
        return max((explain(root, kata_id) for kata_id in ids), default=0)
    except LockError as problem:
        print(f"katakit.quiz: {problem}", file=sys.stderr)
        return 2


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("lock", "verify", "explain"),
                        help="lock: write the locked answers into tests/test_<id>.py (maintainers); "
                             "verify: check every locked block is up to date (maintainers); "
                             "explain: show the explanations your answers unlock (learners)")
    parser.add_argument("kata", nargs="*", help="quiz kata ids (default: every quiz_ kata in katas.toml)")
    parser.set_defaults(func=_run)


def register(subparsers) -> None:
    """Hook for the `katas` command: `katas quiz explain` (add "katakit.quiz" to its SUBCOMMAND_MODULES)."""
    _add_arguments(subparsers.add_parser(
        "quiz", help="quiz katas: explanations, and locking answers",
        description="Reprint the explanations your quiz answers unlock, or (for maintainers) lock and verify the "
                    "answers stored in a quiz kata's tests.\n\nexample:\n  katas quiz explain quiz_frameworks",
        formatter_class=argparse.RawDescriptionHelpFormatter))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m katakit.quiz", description=__doc__.split("\n")[0])
    _add_arguments(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
