"""The text files of a candidate's take-home repository (README, pyproject, devcontainer, CI, .gitignore)."""

from __future__ import annotations

import json
from pathlib import Path

from .catalog import Catalog, Kata
from .takehome import install_command, needs_torch, pytest_ini_section, toml_value

HINTS_RULE = {
    "none": "There are no hints in this take-home: each kata's docstring states the whole task.",
    "first": "Each kata has one hint (a nudge): `pytest --hint tests/test_<id>.py` shows it. Using it is "
             "recorded in `.katas-state.json`, which is part of your submission.",
    "all": "Each kata has three hints (a nudge, an approach, a near-solution): each `pytest --hint "
           "tests/test_<id>.py` reveals the next one. Hints used are recorded in `.katas-state.json`, which is "
           "part of your submission.",
}


def readme(catalog: Catalog, katas: list[Kata], *, title: str, hints: str, time_guide: str | None) -> str:
    total = sum(k.points for k in katas)
    rows = "\n".join(f"| {n} | `{k.id}` | {k.title} | {k.topic} | {k.difficulty} | {k.points} |"
                     for n, k in enumerate(katas, 1))
    forbidden = [k for k in katas if k.forbidden]
    rules_forbidden = ""
    if forbidden:
        rules_forbidden = "\n".join(
            f"- `{k.id}` may not use: " + ", ".join(f"`{name}`" for name in k.forbidden) for k in forbidden)
        rules_forbidden = ("\nSome katas forbid calls (their docstrings say why); a static check names any use, "
                           "whatever alias it is imported under:\n\n" + rules_forbidden + "\n")
    guide = f"\nPlan on about **{time_guide}**. Partial work counts: every check passed earns credit.\n" \
        if time_guide else "\nPartial work counts: every check passed earns credit.\n"
    frameworks = sorted({fw for k in katas for fw in k.frameworks})
    torch_note = ("\nThe install uses PyTorch's CPU-only wheels (`--extra-index-url "
                  "https://download.pytorch.org/whl/cpu`); without that index pip fetches the CUDA build, "
                  "several GB.\n") if needs_torch(katas) else ""
    return f"""# {title}

A take-home exercise of {len(katas)} kata{'s' if len(katas) != 1 else ''} ({total} points). Each kata is a
function stub in `katas/`: its docstring is the whole task, with an example. Replace
`raise NotImplementedError` with your code until the kata's checks pass.
{guide}
| # | kata | title | topic | difficulty | points |
| ---: | --- | --- | --- | --- | ---: |
{rows}

## Set up

Python 3.11 to 3.13, and the packages this exercise needs ({', '.join(frameworks)}):

```bash
python3 -m venv .venv && . .venv/bin/activate
{install_command(katas)}
pytest
```
{torch_note}
Or open the repository in a **devcontainer or GitHub Codespaces**: it installs everything and runs
the checks once. Every push also runs them in GitHub Actions (`.github/workflows/public-checks.yml`).

## Run the checks

```bash
pytest                          # every kata: todo, passed or failed, and what to do next
pytest tests/test_<id>.py       # one kata
```

A failure shows the input, the expected output and yours. What the letters mean: `T` todo (the
function still raises `NotImplementedError`), `.` passed, `F` failed, `E` the file could not be loaded.

**These are the public checks.** They check properties of your code and compare it with answers
recorded from a reference solution on fixed inputs. When your work is graded, **hidden checks** run
as well: the same tests on new inputs compared with the reference solution itself, recognition of
common mistakes, and the rules below. Passing every public check is a good sign, not a full score:
write code that is right for every input the docstring allows, not for the inputs you have seen.

## Rules

- Edit only the files in `katas/`. Keep each function's name and signature. Only `katas/<id>.py`
  is taken from your submission: tests, the `katakit/` tooling and everything else come from the
  grader's own copy, so changing them changes nothing (changes are listed in the report).
- Your functions must not modify their inputs.
- Each check has a time limit; an endless loop fails that check.
- The code runs offline, without access to the network, other processes or files outside the
  repository. Code that tries these is stopped and the attempt is reported.
{rules_forbidden}- {HINTS_RULE[hints]}
- Work on your own. Looking things up in documentation is fine.

## Submit

Send the repository as it is, with its git history: push it to the repository you were given,
or send a `.zip` or `.tar.gz` of the whole folder (the `.git` folder included). Commit as you
go; the history is part of what the reviewers see.

## What is graded, and what the reviewers see

- Each kata is worth its points, shared equally among its hidden checks: passing 18 of 20 checks
  of a 10-point kata earns 9 points.
- The report shows, per kata, the public and the hidden checks passed, and the first line of
  each failure.
- Also shown to the reviewers, as context and never as a verdict: your git history (how many
  commits, over what time), your progress file `.katas-state.json` (when checks ran, hints
  used), and whether two submissions' code is unusually similar.
"""


def pyproject(root: Path, katas: list[Kata], title: str) -> str:
    import tomllib

    from .takehome import candidate_requirements

    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    requirements = "\n".join(f"    {toml_value(r)}," for r in candidate_requirements(root, katas))
    python = project.get("requires-python", ">=3.11")
    return f"""[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "katas-take-home"
version = "1.0.0"
description = {toml_value(title)}
readme = "README.md"
requires-python = {toml_value(python)}
# Hypothesis is pinned: the public checks compare with answers recorded for the inputs this
# version draws.
dependencies = [
{requirements}
]

[project.entry-points.pytest11]
katakit = "katakit.plugin"

[tool.setuptools]
packages = ["katakit"]

[tool.setuptools.package-data]
katakit = ["catalog.schema.json"]

{pytest_ini_section(root)}"""


def devcontainer(root: Path, katas: list[Kata], title: str) -> str:
    source = root / ".devcontainer" / "devcontainer.json"
    try:
        config = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {"image": "mcr.microsoft.com/devcontainers/python:3-3.12-bookworm",
                  "hostRequirements": {"cpus": 2, "memory": "8gb", "gpu": "optional"}}
    config["name"] = title
    config["postCreateCommand"] = f"{install_command(katas)} && python -m pytest -q || true"
    settings = config.get("customizations", {}).get("vscode", {}).get("settings", {})
    for key in ("files.exclude", "search.exclude"):
        settings.pop(key, None)  # they hid solutions/ and pitfalls/, which this copy does not have
    return json.dumps(config, indent=2) + "\n"


def workflow(katas: list[Kata]) -> str:
    return f"""# The public checks, on every push. Hidden checks run when the work is graded.
name: public checks
on:
  push:
  pull_request:
  workflow_dispatch:

jobs:
  public-checks:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install
        run: {install_command(katas)}
      - name: Public checks (hidden checks run at grading)
        env:
          TF_CPP_MIN_LOG_LEVEL: "2"
        run: python -m pytest
"""


def gitignore(root: Path) -> str:
    try:
        lines = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = ["__pycache__/", "*.py[cod]", "*.egg-info/", ".venv/", ".pytest_cache/", ".hypothesis/"]
    # The progress file is part of a take-home submission: do not ignore it (its backups, yes).
    kept = [line for line in lines if line.strip() != ".katas-state.json"
            and "learner progress" not in line]
    return "# .katas-state.json (your progress) is committed: it is part of the submission\n" + "\n".join(kept) + "\n"
