"""kept_between_runs: a test's own slow results, kept in pytest's cache and made again when needed."""

from pathlib import Path

import pytest

from katakit.testing import kept_between_runs


class Config:
    """The part of pytest's config that kept_between_runs uses: a cache, or none."""

    def __init__(self, folder: Path | None):
        self.cache = None if folder is None else Cache(folder)


class Cache:
    def __init__(self, folder: Path):
        self.folder = folder

    def mkdir(self, name: str) -> Path:
        path = self.folder / name
        path.mkdir(parents=True, exist_ok=True)
        return path


@pytest.fixture
def made():
    calls = []

    def make():
        calls.append(1)
        return {"a": b"\x00\x01 first", "b": b"second"}

    make.calls = calls
    return make


def test_made_once_then_read_back(tmp_path, made):
    config = Config(tmp_path)
    first = kept_between_runs(config, "thing", ["v1"], made)
    second = kept_between_runs(config, "thing", ["v1"], made)
    assert first == second == {"a": b"\x00\x01 first", "b": b"second"}
    assert len(made.calls) == 1


def test_made_again_when_what_it_depends_on_changes(tmp_path, made):
    config = Config(tmp_path)
    source = tmp_path / "test_source.py"
    source.write_text("x = 1\n")
    kept_between_runs(config, "thing", [source, "v1"], made)
    kept_between_runs(config, "thing", [source, "v2"], made)
    source.write_text("x = 2\n")
    kept_between_runs(config, "thing", [source, "v2"], made)
    assert len(made.calls) == 3


@pytest.mark.parametrize("damage", ["garbage", "truncated", "altered"])
def test_a_damaged_file_is_made_again(tmp_path, made, damage):
    config = Config(tmp_path)
    kept_between_runs(config, "thing", ["v1"], made)
    [path] = (tmp_path / "thing").iterdir()
    text = path.read_text()
    path.write_text({"garbage": "{not json", "truncated": text[: len(text) // 2],
                     "altered": text.replace("c2Vjb25k", "c2Vjb25l")}[damage])  # base64 of b"second"
    assert kept_between_runs(config, "thing", ["v1"], made) == made()
    assert len(made.calls) == 3  # the first, the remake, and the call in this assert


def test_without_a_cache_it_is_made_every_time(made):
    config = Config(None)
    kept_between_runs(config, "thing", ["v1"], made)
    kept_between_runs(config, "thing", ["v1"], made)
    assert len(made.calls) == 2
