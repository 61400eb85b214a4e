"""Taking a submission in: a folder, a git repository, a .zip or a .tar.gz, unpacked safely.

Only the kata files (``katas/<id>.py``) are used for grading; everything else is compared with
what was released and the differences listed. Archives are unpacked by hand, entry by entry: an
entry with an absolute path, a ``..`` that leaves the folder, a link or a device is skipped and
reported, and the total size and number of entries are capped (a zip bomb stops at the cap).
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_ENTRIES = 20000
MAX_TOTAL_BYTES = 200 * 2**20
MAX_KATA_BYTES = 512 * 2**10
MAX_COMPARED_BYTES = 8 * 2**20
SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".tox", ".venv", "venv",
                ".mypy_cache", ".ipynb_checkpoints", "__MACOSX", "node_modules", ".idea", ".vscode", "build", "dist"}
SKIPPED_FILES = {".DS_Store", ".katas-state.json", ".katas-state.json.corrupt"}


class IntakeError(Exception):
    """The submission cannot be read at all; the message says why."""


@dataclass
class Intake:
    folder: Path | None = None  # the submission's root: where katas/ is
    kata_sources: dict[str, str] = field(default_factory=dict)  # kata id -> source text
    notes: list[str] = field(default_factory=list)
    kind: str = "folder"


def archive_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")):
        return "tar"
    return None


def _safe_name(name: str) -> PurePosixPath | None:
    """The entry's path inside the folder, or None when it would land outside it."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return PurePosixPath(*parts)


class _Budget:
    def __init__(self):
        self.entries = 0
        self.bytes = 0

    def take(self, entries: int = 0, size: int = 0) -> None:
        self.entries += entries
        self.bytes += size
        if self.entries > MAX_ENTRIES:
            raise IntakeError(f"the archive has more than {MAX_ENTRIES} entries")
        if self.bytes > MAX_TOTAL_BYTES:
            raise IntakeError(f"the archive unpacks to more than {MAX_TOTAL_BYTES // 2**20} MB")


def _copy_stream(source, target: Path, budget: _Budget) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        while True:
            chunk = source.read(2**16)
            if not chunk:
                break
            budget.take(size=len(chunk))
            out.write(chunk)


def unpack_zip(path: Path, dest: Path, notes: list[str]) -> None:
    budget = _Budget()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"not a readable zip file: {exc}") from None
    with archive:
        for info in archive.infolist():
            budget.take(entries=1)
            safe = _safe_name(info.filename)
            if safe is None:
                notes.append(f"archive entry {info.filename!r} skipped: its path leaves the submission's folder")
                continue
            mode = (info.external_attr >> 16) & 0xFFFF
            if stat.S_ISLNK(mode):
                notes.append(f"archive entry {info.filename!r} skipped: a symbolic link")
                continue
            target = dest / safe
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            try:
                with archive.open(info) as source:
                    _copy_stream(source, target, budget)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                notes.append(f"archive entry {info.filename!r} skipped: {exc}")


def unpack_tar(path: Path, dest: Path, notes: list[str]) -> None:
    budget = _Budget()
    try:
        archive = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise IntakeError(f"not a readable tar archive: {exc}") from None
    with archive:
        for member in archive:
            budget.take(entries=1)
            safe = _safe_name(member.name)
            if safe is None:
                notes.append(f"archive entry {member.name!r} skipped: its path leaves the submission's folder")
                continue
            target = dest / safe
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                what = "a link" if member.issym() or member.islnk() else "not a regular file"
                notes.append(f"archive entry {member.name!r} skipped: {what}")
                continue
            source = archive.extractfile(member)
            if source is not None:
                with source:
                    _copy_stream(source, target, budget)


def find_root(start: Path, kata_ids: list[str]) -> Path | None:
    """The folder (start, or a few levels below it) that holds katas/<id>.py files."""
    level = [start]
    for _ in range(4):
        best = None
        for folder in level:
            katas = folder / "katas"
            if katas.is_dir() and not katas.is_symlink():
                if any((katas / f"{k}.py").exists() or (katas / f"{k}.py").is_symlink() for k in kata_ids):
                    return folder
                best = best or folder
        if best is not None:
            return best
        following = []
        for folder in level:
            try:
                following.extend(sorted(p for p in folder.iterdir()
                                        if p.is_dir() and not p.is_symlink() and p.name not in SKIPPED_DIRS))
            except OSError:
                pass
        level = following[:200]
    return None


def take_in(path: Path, scratch: Path, kata_ids: list[str]) -> Intake:
    """Unpack (if an archive) and locate a submission; read its kata files."""
    intake = Intake()
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    if path.is_dir():
        start = path
        intake.kind = "git repository" if (path / ".git").exists() else "folder"
    elif path.is_file():
        kind = archive_kind(path)
        if kind is None:
            raise IntakeError("not a folder, .zip, .tar or .tar.gz")
        start = scratch / "unpacked"
        if start.exists():
            shutil.rmtree(start)
        start.mkdir(parents=True)
        (unpack_zip if kind == "zip" else unpack_tar)(path, start, intake.notes)
        intake.kind = f"{kind} archive"
    else:
        raise IntakeError("not found")
    root = find_root(start, kata_ids)
    if root is None:
        raise IntakeError("no katas/ folder in it")
    intake.folder = root
    if intake.kind.endswith("archive") and (root / ".git").is_dir():
        intake.kind += " of a git repository"
    for kata_id in kata_ids:
        file = root / "katas" / f"{kata_id}.py"
        if file.is_symlink():
            intake.notes.append(f"katas/{kata_id}.py is a symbolic link: not read, the kata scores 0")
            continue
        if not file.exists():
            intake.notes.append(f"katas/{kata_id}.py is missing: the kata scores 0")
            continue
        if not file.is_file():
            intake.notes.append(f"katas/{kata_id}.py is not a regular file: not read, the kata scores 0")
            continue
        if file.stat().st_size > MAX_KATA_BYTES:
            intake.notes.append(f"katas/{kata_id}.py is larger than {MAX_KATA_BYTES // 1024} KB: not read, "
                                f"the kata scores 0")
            continue
        data = file.read_bytes()
        try:
            intake.kata_sources[kata_id] = data.decode("utf-8")
        except UnicodeDecodeError:
            intake.kata_sources[kata_id] = data.decode("utf-8", errors="replace")
            intake.notes.append(f"katas/{kata_id}.py is not valid UTF-8: undecodable bytes were replaced")
    return intake


def submitted_files(root: Path) -> dict[str, Path]:
    """Relative path -> file for what a submission holds, caches and git data left out; no links followed."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")
                         and not Path(folder, d).is_symlink())
        for name in sorted(files):
            if name in SKIPPED_FILES or name.startswith(".katas-state."):
                continue
            found[Path(folder, name).relative_to(root).as_posix()] = Path(folder, name)
            if len(found) >= MAX_ENTRIES:
                return found
    return found


def changed_files(root: Path, expected: dict[str, str | None], graded: set[str]) -> list[str]:
    """'path (changed|added|deleted|a link)' for files that differ from what was released.

    `expected` maps each released path to its sha256, or None where only presence is checked;
    `graded` is the kata files, which are meant to differ.
    """
    import hashlib

    found = submitted_files(root)
    changes = []
    for rel, path in found.items():
        if rel in graded:
            continue
        if path.is_symlink():
            changes.append(f"{rel} (a link)")
        elif not path.is_file():
            changes.append(f"{rel} (not a regular file)")
        elif rel not in expected:
            changes.append(f"{rel} (added)")
        elif expected[rel] is not None:
            try:
                if path.stat().st_size > MAX_COMPARED_BYTES:
                    changes.append(f"{rel} (changed: too large to compare)")
                elif hashlib.sha256(path.read_bytes()).hexdigest() != expected[rel]:
                    changes.append(f"{rel} (changed)")
            except OSError:
                changes.append(f"{rel} (unreadable)")
    absent = [rel for rel in expected if rel not in found and rel not in graded]
    if absent:  # sending only the kata files is fine: say so once, not file by file
        shown = ", ".join(absent[:3]) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
        changes.append(f"{len(absent)} released file{'s' if len(absent) != 1 else ''} not in the submission "
                       f"({shown})")
    return changes
