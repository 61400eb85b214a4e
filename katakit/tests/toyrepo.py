"""A tiny kata repository written into a pytester directory, for testing the plugin itself.

Two numpy-free katas, `double` and `triple`, with stubs, solutions, pitfalls and tests that
use the same fixtures as the real katas.
"""

from textwrap import dedent

HINTS = '["Think about multiplication.", "Multiply x by the factor.", "return x * factor"]'

CATALOG_ENTRY = """
[[kata]]
id = "{id}"
title = "{title}"
topic = "basics"
seed = ["Q1"]
difficulty = "easy"
points = 1
frameworks = {frameworks}
hints = {hints}
{extra}
"""

STUB = '''
def {id}(x):
    """Return x times {factor}, for an int or a list of ints (elementwise); do not modify x."""
    raise NotImplementedError
'''

SOLUTION = '''
def {id}(x):
    if isinstance(x, list):
        return [v * {factor} for v in x]
    return x * {factor}
'''

PITFALLS = '''
from katakit.pitfalls import pitfall

@pitfall("{id}", "Adds the factor instead of multiplying by it.")
def adds(x):
    return [v + {factor} for v in x] if isinstance(x, list) else x + {factor}

@pitfall("{id}", "Squares the input.")
def squares(x):
    return [v * v for v in x] if isinstance(x, list) else x * x
'''

TESTS = '''
from hypothesis import given, strategies as st

@given(st.integers(-1000, 1000))
def test_matches_reference(differential, x):
    differential("{id}", x)

def test_small_example(kata):
    assert kata.{id}(2) == 2 * {factor}

def test_list_input_untouched(differential):
    differential("{id}", [1, 2, 3])
'''


def write_kata(pytester, kata_id, factor, *, frameworks='["numpy"]', extra="", stub=None,
               solution=None, pitfalls=None, tests=None):
    fields = dict(id=kata_id, factor=factor)
    files = {
        f"katas/{kata_id}.py": stub if stub is not None else STUB.format(**fields),
        f"solutions/{kata_id}.py": solution if solution is not None else SOLUTION.format(**fields),
        f"pitfalls/{kata_id}.py": pitfalls if pitfalls is not None else PITFALLS.format(**fields),
        f"tests/test_{kata_id}.py": tests if tests is not None else TESTS.format(**fields),
    }
    for path, text in files.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dedent(text))
    entry = CATALOG_ENTRY.format(id=kata_id, title=f"Multiply by {factor}", frameworks=frameworks,
                                 hints=HINTS, extra=extra)
    catalog = pytester.path / "katas.toml"
    catalog.write_text((catalog.read_text() if catalog.exists() else "") + entry)


def make_repo(pytester, **overrides):
    """The default toy repository: `double` then `triple`, both untouched stubs."""
    pytester.makefile(".toml", pyproject='[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    write_kata(pytester, "double", 2, **overrides.get("double", {}))
    write_kata(pytester, "triple", 3, **overrides.get("triple", {}))
    return pytester
