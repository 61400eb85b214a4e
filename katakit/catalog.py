"""The course catalog: katas.toml, validated against catalog.schema.json."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

CATALOG_FILE = "katas.toml"
SCHEMA_FILE = Path(__file__).with_name("catalog.schema.json")
DEFAULT_TIME_LIMIT = 120.0
HINT_LEVELS = ("nudge", "approach", "near-solution")


class CatalogError(Exception):
    """katas.toml is missing, unreadable or does not match the schema."""


@dataclass(frozen=True)
class Kata:
    id: str
    title: str
    topic: str
    seed: tuple[str, ...]
    difficulty: str
    points: int
    frameworks: tuple[str, ...]
    hints: tuple[str, ...]
    forbidden: tuple[str, ...] = ()
    time_limit: float = DEFAULT_TIME_LIMIT
    logical_cpus: int = 1

    def stub_path(self, root: Path) -> Path:
        return root / "katas" / f"{self.id}.py"

    def solution_path(self, root: Path) -> Path:
        return root / "solutions" / f"{self.id}.py"

    def pitfalls_path(self, root: Path) -> Path:
        return root / "pitfalls" / f"{self.id}.py"

    def test_path(self, root: Path) -> Path:
        return root / "tests" / f"test_{self.id}.py"

    def hints_up_to(self, level: int) -> list[str]:
        """The hints revealed at `level`, each as "n. label: text"."""
        return [f"{n + 1}. {HINT_LEVELS[n]}: {self.hints[n]}" for n in range(min(level, len(self.hints)))]


@dataclass(frozen=True)
class Catalog:
    root: Path
    katas: tuple[Kata, ...]
    by_id: dict[str, Kata] = field(repr=False)
    digest: str = ""  # of katas.toml and the schema together: what a cached validation vouches for

    def __iter__(self):
        return iter(self.katas)

    def __len__(self):
        return len(self.katas)

    def get(self, kata_id: str) -> Kata | None:
        return self.by_id.get(kata_id)

    def kata_for_test_file(self, path: Path) -> Kata | None:
        """The kata a test module belongs to: tests/test_<id>.py."""
        stem = Path(path).stem
        if not stem.startswith("test_"):
            return None
        return self.by_id.get(stem[len("test_"):])


def validate(data: dict) -> list[str]:
    """Every way `data` breaks the schema, as readable lines (empty when valid)."""
    import jsonschema  # only needed here; keeps the plugin's import cheap elsewhere

    schema = json.loads(SCHEMA_FILE.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        problems.append(f"{where}: {error.message}")
    ids = [entry.get("id") for entry in data.get("kata", []) if isinstance(entry, dict)]
    for kata_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"kata id {kata_id!r} appears more than once")
    return problems


def load(root: Path, *, known_valid: str | None = None) -> Catalog:
    """Read and validate katas.toml.

    `known_valid` is the digest of a catalog validated before (pytest's cache keeps it):
    when the file and the schema are unchanged, the schema check, which needs jsonschema
    and costs a tenth of a second, is not repeated.
    """
    path = Path(root) / CATALOG_FILE
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise CatalogError(f"{path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path} is not valid TOML: {exc}") from None
    digest = hashlib.sha256(text.encode() + SCHEMA_FILE.read_bytes()).hexdigest()
    problems = validate(data) if digest != known_valid else []
    if problems:
        raise CatalogError(f"{path} does not match the catalog schema:\n  " + "\n  ".join(problems))
    default_limit = float(data.get("default_time_limit", DEFAULT_TIME_LIMIT))
    katas = tuple(
        Kata(
            id=entry["id"],
            title=entry["title"],
            topic=entry["topic"],
            seed=tuple(entry["seed"]),
            difficulty=entry["difficulty"],
            points=entry["points"],
            frameworks=tuple(entry["frameworks"]),
            hints=tuple(entry["hints"]),
            forbidden=tuple(entry.get("forbidden", ())),
            time_limit=float(entry.get("time_limit", default_limit)),
            logical_cpus=int(entry.get("logical_cpus", 1)),
        )
        for entry in data["kata"]
    )
    return Catalog(root=Path(root), katas=katas, by_id={k.id: k for k in katas}, digest=digest)
