"""Load a kata file (stub, solution or pitfalls) as a fresh module, with errors that name file and line."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import traceback
from pathlib import Path

_counter = itertools.count()


class KataLoadError(Exception):
    """A kata file could not be imported: a syntax error, a failed import, or an error at import time."""

    def __init__(self, path: Path, line: int | None, message: str):
        self.path, self.line, self.message = Path(path), line, message
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {message}")


def load_module(path: Path, kind: str):
    """Execute `path` as a new module named `_katakit.<kind>.<stem>_<n>`.

    Each call gives a fresh module, so a learner's edits are always picked up and one
    variant (a pitfall patched in) never leaks into another. The module is registered
    in sys.modules because tf.function and inspect look functions' modules up there.
    """
    path = Path(path)
    if not path.is_file():
        raise KataLoadError(path, None, "file not found")
    name = f"_katakit.{kind}.{path.stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise KataLoadError(path, exc.lineno, f"SyntaxError: {exc.msg}") from None
    except Exception as exc:  # anything raised while importing the learner's file
        sys.modules.pop(name, None)
        raise KataLoadError(path, _line_in(path, exc), f"{type(exc).__name__}: {exc}") from None
    return module


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The last line of `path` in the exception's traceback: where the learner's file failed."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    return line
