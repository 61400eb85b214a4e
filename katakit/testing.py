"""What kata tests use: value comparison, the differential check, and input-mutation checks.

Values may be numpy arrays, torch or TensorFlow tensors, Python scalars, or tuples, lists and
dicts of those. Nothing here imports torch or TensorFlow: a value's type is recognised by its
module name, so a numpy kata never pays for a framework it does not use.
"""

from __future__ import annotations

import copy
import math
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

Equal = Callable[[object, object], bool]


class Mismatch(AssertionError):
    """The learner's output differs from the reference's; the message is input / expected / yours."""


def _kind(value) -> str:
    """torch / tf (tensors), torch-module (an nn.Module), numpy, or python (anything else, compared with ==)."""
    module = type(value).__module__ or ""
    if module.startswith("torch"):
        if hasattr(value, "detach") and hasattr(value, "dtype"):
            return "torch"
        if hasattr(value, "state_dict") and hasattr(value, "named_modules"):
            return "torch-module"
        return "python"  # torch.dtype, torch.device, torch.Size: plain values
    if module.startswith(("tensorflow", "tf_keras", "keras")):
        return "tf" if hasattr(value, "numpy") and hasattr(value, "dtype") else "python"
    if isinstance(value, np.ndarray | np.generic):
        return "numpy"
    return "python"


def _modules_match(a, b, equal) -> bool:
    """Two nn.Modules are equal when their types, training flags and state (parameters, buffers) are."""
    if type(a) is not type(b):
        return False
    if [(n, type(m), m.training) for n, m in a.named_modules()] != [(n, type(m), m.training) for n, m in
                                                                    b.named_modules()]:
        return False
    state_a, state_b = a.state_dict(), b.state_dict()
    return state_a.keys() == state_b.keys() and all(equal(state_a[k], state_b[k]) for k in state_a)


def to_numpy(value) -> np.ndarray:
    kind = _kind(value)
    if kind == "torch":
        return value.detach().cpu().numpy()
    if kind == "tf":
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    return np.asarray(value)


def _dtype_name(value) -> str:
    name = str(getattr(value, "dtype", type(value).__name__))
    return name.replace("torch.", "").replace("<dtype: '", "").rstrip("'>")  # torch.float32, <dtype: 'float32'>


def _arrays_match(a, b, rtol, atol) -> bool:
    if _kind(a) != _kind(b) or _dtype_name(a) != _dtype_name(b):
        return False
    if _kind(a) == "torch" and a.device != b.device:
        return False
    x, y = to_numpy(a), to_numpy(b)
    if x.shape != y.shape:
        return False
    if x.dtype.kind in "fc" and (rtol or atol):
        return bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True))
    if x.dtype.kind in "fc":
        return bool(np.array_equal(x, y, equal_nan=True))
    return bool(np.array_equal(x, y))


def close(rtol: float = 0.0, atol: float = 0.0) -> Equal:
    """Equality with a tolerance on floats; kinds, dtypes, shapes and containers must still match exactly.

    ``close()`` (no tolerance) is exact equality, NaN equal to NaN and -inf to -inf.
    """

    def equal(a, b) -> bool:
        if isinstance(a, dict) or isinstance(b, dict):
            return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                    and all(equal(a[k], b[k]) for k in a))
        if isinstance(a, tuple | list) or isinstance(b, tuple | list):
            return (type(a) is type(b) and len(a) == len(b)
                    and all(equal(x, y) for x, y in zip(a, b, strict=True)))
        if _kind(a) == "torch-module" or _kind(b) == "torch-module":
            return _modules_match(a, b, equal)
        if _kind(a) != "python" or _kind(b) != "python":
            return _arrays_match(a, b, rtol, atol)
        if isinstance(a, float) or isinstance(b, float):
            if not isinstance(a, int | float) or not isinstance(b, int | float):
                return False
            if math.isnan(a) or math.isnan(b):
                return math.isnan(a) and math.isnan(b)
            return a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
        return type(a) is type(b) and a == b

    equal.__doc__ = f"close(rtol={rtol}, atol={atol})"
    return equal


exact = close()


def describe(value, limit: int = 700) -> str:
    """A short, readable rendering of a value for failure messages."""
    if _kind(value) == "torch-module":
        text = f"{type(value).__name__} module ({'training' if value.training else 'eval'} mode): {value!r}"
    elif _kind(value) in ("torch", "tf") or isinstance(value, np.ndarray):
        array = to_numpy(value)
        body = np.array2string(array, precision=6, threshold=60, max_line_width=100)
        label = {"torch": "tensor", "tf": "tf.Tensor"}.get(_kind(value), "array")
        text = f"{label}(shape={tuple(array.shape)}, dtype={_dtype_name(value)}) {body}"
    elif isinstance(value, tuple | list):
        inner = ", ".join(describe(v, limit) for v in value)
        text = f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k!r}: {describe(v, limit)}" for k, v in value.items()) + "}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_call(args, kwargs) -> str:
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return "\n          ".join(parts) if parts else "(no arguments)"


def snapshot(value):
    """A deep copy to compare against later; tensors are cloned rather than shared."""
    if _kind(value) == "torch":
        return value.detach().clone()
    if _kind(value) == "torch-module":
        return copy.deepcopy(value)
    if isinstance(value, tuple | list):
        return type(value)(snapshot(v) for v in value)
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    try:
        return copy.deepcopy(value)
    except Exception:  # some framework objects cannot be copied; they are then not checked
        return value


def assert_unchanged(before_args, before_kwargs, args, kwargs, function_name: str):
    """Fail when the learner's function modified an argument in place."""
    __tracebackhide__ = True
    for position, (old, new) in enumerate(zip(before_args, args, strict=True)):
        if old is not new and not exact(old, new):
            raise Mismatch(
                f"{function_name} modified its argument #{position + 1} in place; "
                f"it must leave its inputs untouched.\n  before: {describe(old)}\n  after:  {describe(new)}")
    for key in before_kwargs:
        old, new = before_kwargs[key], kwargs[key]
        if old is not new and not exact(old, new):
            raise Mismatch(
                f"{function_name} modified its argument {key!r} in place; it must leave its inputs untouched."
                f"\n  before: {describe(old)}\n  after:  {describe(new)}")


def _raised_where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" at {Path(last.filename).name}:{last.lineno}"


class Differential:
    """Compares the kata under test with the reference solution on the same inputs.

    Tests receive it as the ``differential`` fixture and call it with the function's name and
    arguments. On a mismatch it raises with the input, the expected output and yours, and names
    a known mistake when your output equals that pitfall's output on the same input.
    """

    def __init__(self, kata_module, reference_module, pitfall_variants: Callable[[], list]):
        self.kata, self.reference = kata_module, reference_module
        self._pitfall_variants = pitfall_variants

    def __repr__(self):  # shown in Hypothesis's "Failing test case"; an address would only be noise
        return "<differential check: yours against the reference>"

    def __call__(self, function_name: str, *args, equal: Equal = exact, **kwargs):
        __tracebackhide__ = True  # the failure is the message, not this helper's code
        expected = getattr(self.reference, function_name)(*snapshot(args), **snapshot(kwargs))
        before_args, before_kwargs = snapshot(args), snapshot(kwargs)
        try:
            yours = getattr(self.kata, function_name)(*args, **kwargs)
        except NotImplementedError:
            raise
        except Exception as exc:
            raise Mismatch(
                f"{function_name} raised {type(exc).__name__}: {exc}{_raised_where(exc)}\n"
                f"  input:    {describe_call(before_args, before_kwargs)}\n"
                f"  expected: {describe(expected)}") from exc
        assert_unchanged(before_args, before_kwargs, args, kwargs, function_name)
        if not equal(yours, expected):
            message = (f"{function_name} differs from the reference\n"
                       f"  input:    {describe_call(before_args, before_kwargs)}\n"
                       f"  expected: {describe(expected)}\n"
                       f"  yours:    {describe(yours)}")
            diagnosis = self.diagnose(function_name, before_args, before_kwargs, yours, equal)
            if diagnosis:
                message += f"\n  known mistake: {diagnosis}"
            raise Mismatch(message)
        return yours

    def diagnose(self, function_name, args, kwargs, yours, equal) -> str | None:
        """The diagnosis of the first pitfall whose output on this input equals yours."""
        for variant in self._pitfall_variants():
            chosen = variant.__katakit_pitfall__
            if chosen.correct or chosen.replaces != function_name:
                continue
            try:
                theirs = getattr(variant, function_name)(*snapshot(args), **snapshot(kwargs))
            except Exception:
                continue
            if equal(theirs, yours):
                return f"{chosen.diagnosis} ({chosen.name})"
        return None


def kept_between_runs(config, name: str, depends_on: list, make: Callable[[], dict[str, bytes]]) -> dict[str, bytes]:
    """What `make()` returns (named byte strings), kept in pytest's cache between runs.

    For slow work a test does with its own code and data only, never with the learner's: watch
    mode re-checks on every save, and need not redo it each time. `depends_on` lists everything
    the result depends on: files (their contents count) and strings such as library versions;
    change any of them and `make` runs again. Without pytest's cache (``-p no:cacheprovider``)
    it always runs; a file that is missing, unreadable or damaged is made again.
    """
    import base64
    import hashlib
    import json
    import os

    def checksum(values: dict[str, bytes]) -> str:
        return hashlib.sha256(b"".join(values[key] for key in sorted(values))).hexdigest()

    cache = getattr(config, "cache", None)
    if cache is None:
        return make()
    digest = hashlib.sha256()
    for part in depends_on:
        digest.update(Path(part).read_bytes() if isinstance(part, Path) else str(part).encode())
        digest.update(b"\0")
    path = cache.mkdir(name) / f"{digest.hexdigest()[:24]}.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        values = {key: base64.b64decode(value) for key, value in stored["values"].items()}
        if stored["sha256"] == checksum(values):
            return values
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    values = make()
    record = {"values": {key: base64.b64encode(value).decode() for key, value in values.items()},
              "sha256": checksum(values)}
    partial = path.with_suffix(f".{os.getpid()}.tmp")  # two checks side by side may both write it
    partial.write_text(json.dumps(record), encoding="utf-8")
    os.replace(partial, path)
    return values
