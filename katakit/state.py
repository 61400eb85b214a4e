"""The learner's progress: a small, git-ignored JSON file at the repository root.

Per kata it keeps the last status seen, the hint level reached, how many checks it took to
pass, when it first passed, an estimate of the time spent on it, and whether its solution was
shown before it passed. A missing or corrupt file is rebuilt (the corrupt one kept aside),
never a crash. Writes go through a temporary file and a rename, so a crash never leaves half a
file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

STATE_FILE = ".katas-state.json"
VERSION = 1
# Time spent is estimated from the gaps between checks of a kata; a gap longer than this is
# counted as this long, so a lunch break between two saves is not an hour of work.
MAX_COUNTED_GAP_S = 300.0


def _now_iso(now: float) -> str:
    return datetime.fromtimestamp(now, tz=timezone.utc).isoformat(timespec="seconds")


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

    def _read(self, kata_id: str) -> dict:
        """The kata's entry for reading (an empty dict when there is none; nothing is created)."""
        entry = self.data["katas"].get(kata_id)
        return entry if isinstance(entry, dict) else {}

    def _number(self, kata_id: str, key: str, default=0):
        value = self._read(kata_id).get(key, default)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else default

    def status(self, kata_id: str) -> str | None:
        status = self._read(kata_id).get("status")
        return status if isinstance(status, str) else None

    def hint_level(self, kata_id: str) -> int:
        level = self._number(kata_id, "hint_level")
        return int(level) if 0 <= level <= 3 else 0

    def next_hint(self, kata_id: str, available: int) -> int:
        """Move to the next hint level (at most `available`) and return it."""
        level = min(self.hint_level(kata_id) + 1, available)
        self.kata(kata_id)["hint_level"] = level
        return level

    def record_check(self, kata_id: str, status: str, now: float | None = None) -> None:
        """A check of this kata ended with `status`; count it until the kata first passes."""
        now = time.time() if now is None else now
        entry = self.kata(kata_id)
        entry["status"] = status
        if entry.get("first_passed"):
            return
        last = self._number(kata_id, "last_checked", None)
        if last is not None and now >= last:
            entry["time_spent_s"] = round(self._number(kata_id, "time_spent_s") + min(now - last, MAX_COUNTED_GAP_S), 1)
        entry["last_checked"] = now
        entry["attempts"] = int(self._number(kata_id, "attempts")) + 1
        if status == "done":
            entry["first_passed"] = _now_iso(now)

    def progress(self, kata_id: str) -> dict:
        """What `katas progress --json` reports for one kata."""
        entry = self._read(kata_id)
        return {
            "status": self.status(kata_id) or "not run",
            "attempts": int(self._number(kata_id, "attempts")),
            "first_passed": entry.get("first_passed") if isinstance(entry.get("first_passed"), str) else None,
            "time_spent_s": float(self._number(kata_id, "time_spent_s")),
            "hints_used": self.hint_level(kata_id),
            "solution_forced": entry.get("solution_forced") is True,
        }

    @property
    def current(self) -> str | None:
        current = self.data.get("current")
        return current if isinstance(current, str) else None

    @current.setter
    def current(self, kata_id: str) -> None:
        self.data["current"] = kata_id

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
