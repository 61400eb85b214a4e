"""Known wrong answers, and known right answers written differently.

A pitfalls file, ``pitfalls/<id>.py``, holds functions that each make one common mistake::

    from katakit.pitfalls import alternative, pitfall

    @pitfall("top_p_filter", "Drops the token that crosses top_p, so the kept mass falls short of top_p.")
    def drops_crossing_token(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
        ...

and may hold correct answers that work differently from the reference (another algorithm,
another order of floating-point operations), which the tests must accept::

    @alternative("top_p_filter", "Sorts ascending and removes the low tail, as Hugging Face does.")
    def ascending_sort(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
        ...

``pytest --pitfalls`` runs the kata's tests once per variant, with the reference solution's
module in which that one function is replaced: every pitfall must be rejected by some test,
and every alternative must pass them all. In learner mode, a failing output that equals a
pitfall's output is diagnosed with its one-line message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .loading import load_module


@dataclass(frozen=True)
class Pitfall:
    name: str
    replaces: str
    diagnosis: str
    function: Callable
    lines: tuple[int, int]  # first and last line of the function in its file, for the forbidden-call check
    correct: bool = False  # True for an alternative: the tests must accept it, not reject it


def _marker(replaces: str, text: str, correct: bool):
    if "\n" in text.strip():
        raise ValueError("a pitfall's diagnosis, or an alternative's description, is one line")

    def mark(function):
        code = function.__code__
        last = max((line for _, _, line in code.co_lines() if line is not None), default=code.co_firstlineno)
        function.__katakit_pitfall__ = Pitfall(
            name=function.__name__,
            replaces=replaces,
            diagnosis=text.strip(),
            function=function,
            lines=(code.co_firstlineno, last),
            correct=correct,
        )
        return function

    return mark


def pitfall(replaces: str, diagnosis: str):
    """Mark a function as a known wrong answer for the kata function named `replaces`."""
    return _marker(replaces, diagnosis, correct=False)


def alternative(replaces: str, description: str):
    """Mark a function as a correct answer, written differently from the reference, for `replaces`."""
    return _marker(replaces, description, correct=True)


def collect(module) -> list[Pitfall]:
    """The pitfalls and alternatives defined in a loaded pitfalls module, in file order."""
    found = [getattr(v, "__katakit_pitfall__", None) for v in vars(module).values()]
    return sorted((p for p in found if p is not None), key=lambda p: p.lines)


def reference_solution(pitfalls_file: str):
    """The reference solution of the kata a pitfalls file belongs to, for the parts a mistake keeps.

    Call it as ``reference_solution(__file__)`` from ``pitfalls/<id>.py``.
    """
    path = Path(pitfalls_file)
    return load_module(path.parent.parent / "solutions" / path.name, "solutions")


def apply(solution_module, chosen: Pitfall):
    """A fresh copy of the solution module with one function replaced by the pitfall."""
    variant = load_module(Path(solution_module.__file__), f"pitfall_{chosen.name}")
    setattr(variant, chosen.replaces, chosen.function)
    variant.__katakit_pitfall__ = chosen
    return variant
