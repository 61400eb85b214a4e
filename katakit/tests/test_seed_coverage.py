"""The seed coverage map (docs/seed-coverage.md) agrees with the catalog and the prompts.

- Every seed id a catalog entry lists is a row of the map, and that row names the entry.
- Every row names at least one kata in katas.toml, or (Q26 to Q28 only) a prompt section of
  docs/behavioural-prompts.md, and every name in the map exists.
- The map has exactly one row per seed id: Q1 to Q28 and the worked answers.

Each failure message lists everything that is missing, not just the first problem.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from katakit import catalog as catalog_module

ROOT = Path(__file__).resolve().parents[2]
MAP_FILE = Path("docs") / "seed-coverage.md"
PROMPTS_FILE = Path("docs") / "behavioural-prompts.md"
HEADER = ["seed", "topic", "covered by"]
WORKED = ("worked:torch-sum", "worked:broadcast-tile", "worked:autoregressive", "worked:top-p")
EXPECTED_IDS = [f"Q{n}" for n in range(1, 29)] + list(WORKED)
PROMPT_QUESTIONS = ("Q26", "Q27", "Q28")


def read_map(root: Path) -> dict[str, list[str]]:
    """seed id -> the names in its 'covered by' cell, from the map's table (the one with HEADER)."""
    rows: dict[str, list[str]] = {}
    in_table = False
    for number, line in enumerate((root / MAP_FILE).read_text(encoding="utf-8").splitlines(), 1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells == HEADER:
            in_table = True
            continue
        if not in_table or set("".join(cells)) <= set("-: "):
            continue
        assert len(cells) == len(HEADER), f"{MAP_FILE}:{number}: a row needs {len(HEADER)} cells: {line}"
        seed, covered = cells[0], cells[2]
        assert seed not in rows, f"{MAP_FILE}:{number}: {seed} has two rows"
        rows[seed] = re.findall(r"`([^`]+)`", covered)
    assert rows, f"{MAP_FILE} has no table with the header | {' | '.join(HEADER)} |"
    return rows


def prompt_sections(root: Path) -> set[str]:
    """The seed ids that have a '## Q26: ...' section in the prompts document."""
    text = (root / PROMPTS_FILE).read_text(encoding="utf-8")
    return set(re.findall(r"^##\s+(Q\d+)\b", text, flags=re.MULTILINE))


def map_shape_problems(root: Path) -> list[str]:
    rows = read_map(root)
    problems = [f"{seed}: no row in {MAP_FILE}" for seed in EXPECTED_IDS if seed not in rows]
    problems += [f"{seed}: a row in {MAP_FILE} for an id the seed does not have" for seed in rows
                 if seed not in EXPECTED_IDS]
    return problems


def catalog_problems(root: Path) -> list[str]:
    """Catalog entries whose seed ids are missing from the map, or whose row does not name them."""
    rows = read_map(root)
    problems = []
    for kata in catalog_module.load(root):
        for seed in kata.seed:
            if seed not in rows:
                problems.append(f"katas.toml entry {kata.id!r} lists seed {seed}, which has no row in {MAP_FILE}")
            elif kata.id not in rows[seed]:
                problems.append(f"katas.toml entry {kata.id!r} lists seed {seed}, but the {seed} row of "
                                f"{MAP_FILE} does not name it (it names {', '.join(rows[seed]) or 'nothing'})")
    return problems


def _exists(name: str, seed: str, katas: set[str], prompts: set[str]) -> bool:
    if name.startswith("prompt:"):
        question = name[len("prompt:"):]
        return question == seed and question in PROMPT_QUESTIONS and question in prompts
    return name in katas


def uncovered_problems(root: Path) -> list[str]:
    """Rows that name nothing that exists: the questions the course does not cover yet."""
    katas = {kata.id for kata in catalog_module.load(root)}
    prompts = prompt_sections(root)
    problems = []
    for seed, names in read_map(root).items():
        if not any(_exists(name, seed, katas, prompts) for name in names):
            where = (f"in katas.toml, nor a '## {seed}' section of {PROMPTS_FILE}" if seed in PROMPT_QUESTIONS
                     else "in katas.toml")
            problems.append(f"{seed}: not covered: no kata or prompt it names ({', '.join(names) or 'none'}) "
                            f"exists {where}")
    return problems


def dangling_problems(root: Path) -> list[str]:
    """Names in the map that exist nowhere: each is a claim of coverage that is not true."""
    katas = {kata.id for kata in catalog_module.load(root)}
    prompts = prompt_sections(root)
    return [f"{seed}: {name} is named in {MAP_FILE} but "
            + (f"is not a '## {seed}' section of {PROMPTS_FILE} for this row" if name.startswith("prompt:")
               else "is not a kata in katas.toml")
            for seed, names in read_map(root).items() for name in names
            if not _exists(name, seed, katas, prompts)]


def _fail_with(problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems), pytrace=False)


def test_the_map_has_one_row_per_seed_question_and_worked_answer():
    _fail_with(map_shape_problems(ROOT))


def test_every_catalog_entrys_seed_questions_are_mapped_to_it():
    _fail_with(catalog_problems(ROOT))


def test_every_seed_question_is_covered_by_something_that_exists():
    _fail_with(uncovered_problems(ROOT))


def test_every_name_in_the_map_exists():
    _fail_with(dangling_problems(ROOT))


def test_the_behavioural_prompts_have_their_sections():
    missing = [q for q in PROMPT_QUESTIONS if q not in prompt_sections(ROOT)]
    assert not missing, f"{PROMPTS_FILE} lacks the sections: {', '.join(f'## {q}' for q in missing)}"


# ---- the checks themselves, on a small repository written for the purpose ----------------------

TOY_ENTRY = """
[[kata]]
id = "{id}"
title = "Toy {id}"
topic = "toys"
seed = {seed}
difficulty = "easy"
points = 1
frameworks = []
hints = ["a nudge of some length", "an approach of some length", "a near-solution of some length"]
"""


def write_toy(root: Path, *, entries: dict[str, list[str]], rows: dict[str, str], prompts=PROMPT_QUESTIONS):
    root.joinpath("docs").mkdir(parents=True, exist_ok=True)
    root.joinpath("katas.toml").write_text("".join(
        TOY_ENTRY.format(id=kata_id, seed=str(seeds).replace("'", '"')) for kata_id, seeds in entries.items()))
    table = ["| seed | topic | covered by |", "| --- | --- | --- |"]
    table += [f"| {seed} | topic of {seed} | {names} |" for seed, names in rows.items()]
    root.joinpath(MAP_FILE).write_text("# Map\n\nSome prose.\n\n" + "\n".join(table) + "\n\nMore prose.\n")
    root.joinpath(PROMPTS_FILE).write_text("# Prompts\n\n" + "".join(f"## {q}: a prompt\n\ntext\n\n" for q in prompts))
    return root


def full_rows(**changes: str) -> dict[str, str]:
    rows = {seed: "`alpha`" for seed in EXPECTED_IDS}
    rows.update({q: f"`prompt:{q}`" for q in PROMPT_QUESTIONS})
    rows["Q2"] = "`beta`, `alpha`"
    rows.update(changes)
    return {seed: names for seed, names in rows.items() if names is not None}


ENTRIES = {"alpha": ["Q1", "worked:top-p"], "beta": ["Q2"]}


def all_problems(root):
    return (map_shape_problems(root) + catalog_problems(root) + uncovered_problems(root)
            + dangling_problems(root))


def test_a_consistent_repository_has_no_problems(tmp_path):
    assert all_problems(write_toy(tmp_path, entries=ENTRIES, rows=full_rows())) == []


def test_a_catalog_seed_whose_row_does_not_name_the_entry_is_reported(tmp_path):
    root = write_toy(tmp_path, entries=ENTRIES, rows=full_rows(Q2="`alpha`"))
    assert catalog_problems(root) == [
        "katas.toml entry 'beta' lists seed Q2, but the Q2 row of docs/seed-coverage.md does not name it "
        "(it names alpha)"]


def test_a_missing_row_is_reported_by_the_shape_and_catalog_checks(tmp_path):
    root = write_toy(tmp_path, entries=ENTRIES, rows=full_rows(**{"worked:top-p": None}))
    assert map_shape_problems(root) == ["worked:top-p: no row in docs/seed-coverage.md"]
    assert catalog_problems(root) == [
        "katas.toml entry 'alpha' lists seed worked:top-p, which has no row in docs/seed-coverage.md"]


def test_rows_naming_only_missing_katas_are_each_reported(tmp_path):
    root = write_toy(tmp_path, entries={"beta": ["Q2"]}, rows=full_rows(Q5="`gamma`, `delta`"))
    uncovered = uncovered_problems(root)
    assert len(uncovered) == len(EXPECTED_IDS) - 1 - len(PROMPT_QUESTIONS)  # all but Q2 and the prompts
    assert "Q5: not covered: no kata or prompt it names (gamma, delta) exists in katas.toml" in uncovered
    assert not any(p.startswith(("Q2:", "Q26:")) for p in uncovered)
    dangling = dangling_problems(root)
    assert "Q5: gamma is named in docs/seed-coverage.md but is not a kata in katas.toml" in dangling
    assert "Q2: alpha is named in docs/seed-coverage.md but is not a kata in katas.toml" in dangling


def test_a_prompt_counts_only_for_its_own_question_and_only_when_its_section_exists(tmp_path):
    root = write_toy(tmp_path, entries=ENTRIES, rows=full_rows(Q27="`prompt:Q26`"), prompts=("Q26", "Q28"))
    assert uncovered_problems(root) == [
        "Q27: not covered: no kata or prompt it names (prompt:Q26) exists in katas.toml, nor a '## Q27' "
        "section of docs/behavioural-prompts.md"]
    assert dangling_problems(root) == [
        "Q27: prompt:Q26 is named in docs/seed-coverage.md but is not a '## Q27' section of "
        "docs/behavioural-prompts.md for this row"]


def test_a_row_for_an_unknown_id_is_reported(tmp_path):
    root = write_toy(tmp_path, entries=ENTRIES, rows=full_rows(Q29="`alpha`"))
    assert map_shape_problems(root) == ["Q29: a row in docs/seed-coverage.md for an id the seed does not have"]
