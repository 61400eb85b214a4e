"""Load a kata file (stub, solution or pitfalls) as a fresh module, with errors that name file and line."""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import tempfile
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


# The frameworks that take seconds to import, in the order they must be imported: torch before
# TensorFlow in any process that loads both.
HEAVY_FRAMEWORKS = ("torch", "tensorflow")

# TensorFlow 2.21 prints these lines (each twice) when it is imported, whatever
# TF_CPP_MIN_LOG_LEVEL says: its C++ logging starts before that setting is read.
STARTUP_BANNER = ("All log messages before absl::InitializeLog() is called", "oneDNN custom operations are on")


def import_framework(module_name: str):
    """Import torch or TensorFlow with TensorFlow's start-up banner dropped from stderr.

    Anything else the import prints (a real warning or error) is passed through.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # OpenMP (torch's CPU threads) reads this once, when torch loads it. Idle threads that spin
    # hold their core; with two test processes side by side (watch mode's shares, `grade -j2`)
    # each spins on the core the other needs, and a 0.5 s check took 1.5 s. Waiting passively
    # changes no result and cost nothing measurable in a process on its own.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if module_name in sys.modules:
        return sys.modules[module_name]
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            return __import__(module_name)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not any(marker in line for marker in STARTUP_BANNER):
                    sys.stderr.write(line)


def prepare_frameworks(katas) -> None:
    """Import what `katas` need, torch before TensorFlow, and give TensorFlow the logical CPUs they ask for.

    TensorFlow accepts a device layout only before it first initialises its devices, which any
    test module may do while it is being collected; so this runs before collection.
    """
    needed = {framework for kata in katas for framework in kata.frameworks}
    for framework in HEAVY_FRAMEWORKS:
        if framework in needed:
            import_framework(framework)
    count = max((kata.logical_cpus for kata in katas), default=1)
    if "tensorflow" in needed and count > 1:
        tf = sys.modules["tensorflow"]
        try:
            tf.config.set_logical_device_configuration(
                tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError:
            pass  # devices already initialised: the kata's tests say what they found
