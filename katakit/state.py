"""The learner's progress: a small, git-ignored JSON file at the repository root.

A missing or corrupt file is rebuilt (and the corrupt one kept aside), never a crash.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

STATE_FILE = ".katas-state.json"
VERSION = 1


class State:
    def __init__(self, path: Path, data: dict, note: str | None = None):
        self.path, self.data, self.note = path, data, note

    @classmethod
    def load(cls, root: Path) -> State:
        path = Path(root) / STATE_FILE
        empty = {"version": VERSION, "katas": {}}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path, empty)
        except (OSError, ValueError):
            return cls._rebuilt(path, empty)
        if not isinstance(data, dict) or not isinstance(data.get("katas"), dict):
            return cls._rebuilt(path, empty)
        return cls(path, data)

    @classmethod
    def _rebuilt(cls, path: Path, empty: dict) -> State:
        aside = path.with_name(path.name + ".corrupt")
        try:
            os.replace(path, aside)
        except OSError:
            aside = None
        note = f"{path.name} was unreadable and has been rebuilt" + (f" (old copy: {aside.name})" if aside else "")
        return cls(path, empty, note)

    def kata(self, kata_id: str) -> dict:
        entry = self.data["katas"].get(kata_id)
        if not isinstance(entry, dict):
            entry = self.data["katas"][kata_id] = {}
        return entry

    def hint_level(self, kata_id: str) -> int:
        level = self.kata(kata_id).get("hint_level", 0)
        return level if isinstance(level, int) and 0 <= level <= 3 else 0

    def save(self) -> None:
        text = json.dumps(self.data, indent=2, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".katas-state.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
