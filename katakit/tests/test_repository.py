"""The repository itself: every catalog entry is complete, and the project files are valid."""

import ast
import json
import os
from pathlib import Path

import pytest

from katakit import catalog as catalog_module
from katakit.constraints import unfinished_functions
from katakit.loading import load_module
from katakit.pitfalls import collect

ROOT = Path(__file__).resolve().parents[2]
CATALOG = catalog_module.load(ROOT)
KATAS = [kata.id for kata in CATALOG]


def test_catalog_lists_katas_in_a_course_order_with_unique_ids():
    assert len(KATAS) == len(set(KATAS)) >= 4


@pytest.mark.parametrize("kata_id", KATAS)
def test_every_kata_has_its_four_files(kata_id):
    kata = CATALOG.get(kata_id)
    for path in (kata.stub_path(ROOT), kata.solution_path(ROOT), kata.pitfalls_path(ROOT), kata.test_path(ROOT)):
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing for kata {kata_id}"


def test_every_kata_test_file_has_a_catalog_entry():
    orphans = [p.name for p in (ROOT / "tests").glob("test_*.py") if CATALOG.kata_for_test_file(p) is None]
    assert not orphans, f"test files without a katas.toml entry: {orphans}"


@pytest.mark.parametrize("kata_id", KATAS)
def test_stub_states_the_task_and_raises_not_implemented(kata_id):
    tree = ast.parse(CATALOG.get(kata_id).stub_path(ROOT).read_text())
    docstring = ast.get_docstring(tree) or ""
    stubs = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
             and any(isinstance(s, ast.Raise) and "NotImplementedError" in ast.unparse(s) for s in node.body)]
    assert stubs, "the stub must have at least one function whose body raises NotImplementedError"
    for function in stubs:
        text = ast.get_docstring(function) or ""
        assert len(text) > 200, f"{function.name}: the docstring must state the whole task"
    assert "Example" in docstring + "".join(ast.get_docstring(f) or "" for f in stubs), \
        "the task needs an example (an 'Example' section in a docstring)"


@pytest.mark.parametrize("kata_id", KATAS)
def test_solution_keeps_the_stubs_task_and_given_code(kata_id):
    """The solution is the stub completed: same task text, same signatures, the given code unchanged."""
    kata = CATALOG.get(kata_id)
    stub = ast.parse(kata.stub_path(ROOT).read_text())
    solution = ast.parse(kata.solution_path(ROOT).read_text())
    assert ast.get_docstring(stub) == ast.get_docstring(solution), "the module docstrings differ"
    unfinished = set(unfinished_functions(kata.stub_path(ROOT).read_text()))
    assert unfinished, f"katas/{kata_id}.py has no function left to write (a body of raise NotImplementedError)"
    solved = {node.name: node for node in solution.body if isinstance(node, ast.FunctionDef)}
    for node in stub.body:
        if isinstance(node, ast.FunctionDef) and node.name in unfinished:
            assert node.name in solved, f"solutions/{kata_id}.py does not define {node.name}"
            theirs = solved[node.name]
            assert ast.dump(node.args) == ast.dump(theirs.args), f"{node.name}: the signatures differ"
            assert ast.get_docstring(node) == ast.get_docstring(theirs), f"{node.name}: the docstrings differ"
        else:
            given = ast.dump(node)
            assert any(ast.dump(other) == given for other in solution.body), (
                f"katas/{kata_id}.py line {node.lineno}: this given code is not in the solution unchanged")


@pytest.mark.parametrize("kata_id", KATAS)
def test_at_least_four_pitfalls_with_one_line_diagnoses_that_replace_real_functions(kata_id):
    kata = CATALOG.get(kata_id)
    found = collect(load_module(kata.pitfalls_path(ROOT), "pitfalls"))
    wrong = [chosen for chosen in found if not chosen.correct]
    assert len(wrong) >= 4, f"pitfalls/{kata_id}.py has {len(wrong)} pitfalls; at least four are needed"
    solution = load_module(kata.solution_path(ROOT), "solutions")
    for chosen in found:
        assert "\n" not in chosen.diagnosis and len(chosen.diagnosis) >= 15
        assert callable(getattr(solution, chosen.replaces, None)), \
            f"{chosen.name} replaces {chosen.replaces}, which solutions/{kata_id}.py does not define"


@pytest.mark.parametrize("kata_id", KATAS)
def test_solution_respects_the_forbidden_calls(kata_id):
    from katakit.constraints import find_forbidden

    kata = CATALOG.get(kata_id)
    assert find_forbidden(kata.solution_path(ROOT).read_text(), kata.forbidden) == []


def test_state_file_is_git_ignored():
    from katakit.state import STATE_FILE

    assert STATE_FILE in (ROOT / ".gitignore").read_text().split()


def load_devcontainer():
    return json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())


def test_devcontainer_meets_the_project_requirements():
    config = load_devcontainer()
    assert config["image"].startswith("mcr.microsoft.com/devcontainers/python:")
    assert any(v in config["image"] for v in (":3-3.11", ":3-3.12", ":1-3.11", ":1-3.12"))
    assert config["hostRequirements"] == {"cpus": 4, "memory": "8gb", "gpu": "optional"}
    assert "runArgs" not in config, "never hard-code --gpus: it breaks machines without a GPU"
    assert "download.pytorch.org/whl/cpu" in config["postCreateCommand"]
    assert config["containerEnv"]["TF_CPP_MIN_LOG_LEVEL"]
    vscode = config["customizations"]["vscode"]
    assert "ms-python.python" in vscode["extensions"]
    settings = vscode["settings"]
    assert settings["python.testing.pytestEnabled"] is True
    for hidden in ("files.exclude", "search.exclude"):
        assert settings[hidden].get("solutions/**") and settings[hidden].get("pitfalls/**")


def test_devcontainer_validates_against_the_official_schema():
    schema_path = os.environ.get("DEVCONTAINER_SCHEMA")
    if not schema_path or not Path(schema_path).is_file():
        pytest.skip("set DEVCONTAINER_SCHEMA to the official devContainer.base.schema.json "
                    "(devcontainers/spec repository) to validate .devcontainer/devcontainer.json")
    import jsonschema

    schema = json.loads(Path(schema_path).read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_class(schema).iter_errors(load_devcontainer()), key=str)
    assert not errors, "\n".join(e.message for e in errors)


def test_devcontainer_schema_check_rejects_a_broken_config():
    """The schema check above can fail: a config with a wrong type is rejected."""
    schema_path = os.environ.get("DEVCONTAINER_SCHEMA")
    if not schema_path or not Path(schema_path).is_file():
        pytest.skip("DEVCONTAINER_SCHEMA not set")
    import jsonschema

    schema = json.loads(Path(schema_path).read_text())
    broken = dict(load_devcontainer(), hostRequirements={"cpus": "four"})
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))
