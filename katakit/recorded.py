"""Answers recorded from the reference solution, replayed where the reference must not be.

Two places run a kata's tests without its reference solution:

- a take-home candidate's copy (``katas release``), which has no ``solutions/`` at all;
- a submission being graded (``katas grade``), whose process must not hold the reference code,
  because the submission runs in that process and could call it.

Both replay a table of the reference's answers recorded beforehand, in a trusted process, by
running the same tests with the reference as the code under test. The tests draw their inputs
with Hypothesis from a fixed seed, so the code under test sees exactly the inputs recorded, for
as long as it answers like the reference; each ``differential`` call looks its expected output up
by a digest of its arguments. An input that was not recorded (possible only after the code under
test already diverged, or on another Hypothesis version) is not compared, and is counted.

A kata repository opts in through its ``conftest.py``, which imports the fixtures and hooks named
in ``__all__`` (a conftest's fixtures override the plugin's ``reference`` and ``differential``).
Environment variables choose the mode; with none set, a copy that has ``tests/recorded/`` is a
candidate's copy and anything else behaves exactly as the plugin alone would.

- ``KATAKIT_RECORD=DIR``: record. Tables go to ``DIR/<test folder>/<kata>.json.gz``.
  ``KATAKIT_RECORD_PITFALLS=1`` also records each known wrong answer's output on every input, so
  that replay can still name a known mistake.
- ``KATAKIT_TABLES=folder=DIR;folder=DIR``: replay the tables in DIR for the tests in that test
  folder. ``KATAKIT_TABLES_DELETE=1`` deletes the files once read.
- ``KATAKIT_GRADING=1``: no shrinking and no health checks (a grade must not depend on them);
  ``KATAKIT_GRADING_SEED=N`` draws the tests in ``tests/`` from seed N instead of the fixed seed.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from . import plugin
from .loading import load_module
from .testing import Differential, exact, snapshot

__all__ = [
    "reference", "differential",
    "pytest_configure", "pytest_collection_modifyitems", "pytest_runtest_setup",
    "pytest_report_header", "pytest_terminal_summary", "pytest_sessionfinish", "pytest_unconfigure",
]

FORMAT = 1
ENV_RECORD = "KATAKIT_RECORD"
ENV_RECORD_PITFALLS = "KATAKIT_RECORD_PITFALLS"
ENV_TABLES = "KATAKIT_TABLES"
ENV_TABLES_DELETE = "KATAKIT_TABLES_DELETE"
ENV_GRADING = "KATAKIT_GRADING"
ENV_GRADING_SEED = "KATAKIT_GRADING_SEED"
CANDIDATE_TABLES = "tests/recorded"  # where a candidate's copy keeps its tables
MAX_VALUE_BYTES = 4 * 2**20  # larger outputs are not recorded (their inputs then go unchecked)
MAX_CALLS_PER_TEST = 1000
TABLES = pytest.StashKey["Tables"]()


class NotRecorded(Exception):
    """No answer was recorded for this input."""

    def __init__(self, key: str):
        name = key.split(":")[0].split("#")[0]
        super().__init__(f"no answer was recorded from the reference for this input of {name} "
                         f"(the reference solution is not in this copy)")


class Unencodable(Exception):
    """A value this module cannot store (not an array, tensor, number, string or container of those)."""


# ---- values: a stable digest, and a lossless JSON encoding --------------------------------------

def _framework(value) -> str | None:
    module = type(value).__module__ or ""
    if module.startswith("torch") and hasattr(value, "detach"):
        return "torch"
    if module.startswith("tensorflow") and hasattr(value, "numpy") and hasattr(value, "dtype"):
        return "tf"
    return None


MAX_DATASET_ELEMENTS = 10000


def _is_tf_dataset(value) -> bool:
    module = type(value).__module__ or ""
    return module.startswith("tensorflow") and hasattr(value, "element_spec") and hasattr(value, "cardinality")


def _encode_spec(spec):
    """A tf.data element_spec of TensorSpecs, in tuples, lists and dicts."""
    if type(spec).__name__ == "TensorSpec":
        return {"t": "spec", "shape": None if spec.shape.rank is None else spec.shape.as_list(),
                "dtype": spec.dtype.name, "name": spec.name}
    if type(spec) in (tuple, list):
        return {"t": type(spec).__name__, "v": [_encode_spec(s) for s in spec]}
    if type(spec) is dict:
        return {"t": "dict", "v": [[k, _encode_spec(v)] for k, v in spec.items()]}
    raise Unencodable(f"a tf.data element spec of {type(spec).__name__}")


def _decode_spec(data):
    import tensorflow as tf

    if data["t"] == "spec":
        return tf.TensorSpec(data["shape"], tf.as_dtype(data["dtype"]), name=data["name"])
    if data["t"] in ("tuple", "list"):
        items = [_decode_spec(v) for v in data["v"]]
        return tuple(items) if data["t"] == "tuple" else items
    return {k: _decode_spec(v) for k, v in data["v"]}


def _encode_dataset(dataset, budget):
    """A finite tf.data.Dataset: its element spec and every element (replayed through from_generator)."""
    import tensorflow as tf

    if int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise Unencodable("an infinite tf.data.Dataset")
    spec = _encode_spec(dataset.element_spec)
    elements = []
    for element in dataset.take(MAX_DATASET_ELEMENTS + 1):
        if len(elements) == MAX_DATASET_ELEMENTS:
            raise Unencodable(f"a tf.data.Dataset of more than {MAX_DATASET_ELEMENTS} elements")
        elements.append(encode(element, budget))
    return {"t": "tfdata", "spec": spec, "elements": elements}


def _decode_dataset(data):
    import tensorflow as tf

    elements = [decode(e) for e in data["elements"]]

    def generate():
        yield from elements

    return tf.data.Dataset.from_generator(generate, output_signature=_decode_spec(data["spec"]))


def _torch_bytes(tensor) -> tuple[str, list[int], bytes, bool]:
    import torch

    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    data = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
    return str(tensor.dtype).removeprefix("torch."), list(tensor.shape), data, bool(tensor.requires_grad)


def _tf_bytes(tensor) -> tuple[str, list[int], bytes]:
    array = np.asarray(tensor.numpy())
    if array.dtype == object:
        raise Unencodable("a string tensor")
    return tensor.dtype.name, list(array.shape), np.ascontiguousarray(array).tobytes()


def encode(value, budget: list[int] | None = None):
    """`value` as JSON-able data that `decode` turns back into an equal value of the same type."""
    budget = [MAX_VALUE_BYTES] if budget is None else budget

    def blob(data: bytes) -> str:
        budget[0] -= len(data)
        if budget[0] < 0:
            raise Unencodable(f"larger than {MAX_VALUE_BYTES} bytes")
        return base64.b64encode(data).decode("ascii")

    kind = _framework(value)
    if kind == "torch":
        dtype, shape, data, grad = _torch_bytes(value)
        return {"t": "torch", "dtype": dtype, "shape": shape, "data": blob(data), "grad": grad}
    if _is_tf_dataset(value):
        return _encode_dataset(value, budget)
    if kind == "tf":
        dtype, shape, data = _tf_bytes(value)
        return {"t": "tf", "dtype": dtype, "shape": shape, "data": blob(data)}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise Unencodable("a numpy array of Python objects")
        return {"t": "np", "dtype": value.dtype.str, "shape": list(value.shape),
                "data": blob(np.ascontiguousarray(value).tobytes())}
    if isinstance(value, np.generic):
        if value.dtype.hasobject:
            raise Unencodable("a numpy object scalar")
        return {"t": "npscalar", "dtype": value.dtype.str, "data": blob(value.tobytes())}
    if value is None or isinstance(value, bool):
        return {"t": "const", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if isinstance(value, complex):
        return {"t": "complex", "v": [repr(value.real), repr(value.imag)]}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, bytes):
        return {"t": "bytes", "v": blob(value)}
    if type(value) in (tuple, list):
        return {"t": type(value).__name__, "v": [encode(v, budget) for v in value]}
    if type(value) is dict:
        return {"t": "dict", "v": [[encode(k, budget), encode(v, budget)] for k, v in value.items()]}
    raise Unencodable(f"a {type(value).__module__}.{type(value).__qualname__}")


def decode(data):
    kind = data["t"]
    if kind == "tfdata":
        return _decode_dataset(data)
    if kind == "np":
        raw = base64.b64decode(data["data"])
        return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
    if kind == "npscalar":
        return np.frombuffer(base64.b64decode(data["data"]), dtype=np.dtype(data["dtype"]))[0]
    if kind == "torch":
        import torch

        dtype = getattr(torch, data["dtype"])
        raw = bytearray(base64.b64decode(data["data"]))
        tensor = (torch.frombuffer(raw, dtype=dtype).clone() if raw else torch.empty(0, dtype=dtype))
        tensor = tensor.reshape(data["shape"])
        return tensor.requires_grad_(True) if data.get("grad") else tensor
    if kind == "tf":
        import tensorflow as tf

        dtype = tf.as_dtype(data["dtype"])
        raw = base64.b64decode(data["data"])
        return tf.constant(np.frombuffer(raw, dtype=dtype.as_numpy_dtype).reshape(data["shape"]), dtype=dtype)
    if kind == "const":
        return data["v"]
    if kind == "int":
        return int(data["v"])
    if kind == "float":
        return float(data["v"])
    if kind == "complex":
        return complex(float(data["v"][0]), float(data["v"][1]))
    if kind == "str":
        return data["v"]
    if kind == "bytes":
        return base64.b64decode(data["v"])
    if kind in ("tuple", "list"):
        items = [decode(v) for v in data["v"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {decode(k): decode(v) for k, v in data["v"]}
    raise ValueError(f"unknown recorded value kind {kind!r}")


def _feed(hasher, value) -> None:
    """Hash `value`'s type and content; raises Unencodable for what `encode` cannot store."""
    kind = _framework(value)
    if kind == "torch":
        dtype, shape, data, grad = _torch_bytes(value)
        hasher.update(f"torch|{dtype}|{shape}|{grad}|".encode())
        hasher.update(data)
    elif kind == "tf":
        dtype, shape, data = _tf_bytes(value)
        hasher.update(f"tf|{dtype}|{shape}|".encode())
        hasher.update(data)
    elif isinstance(value, np.ndarray | np.generic):
        if value.dtype.hasobject:
            raise Unencodable("a numpy array of Python objects")
        hasher.update(f"np|{value.dtype.str}|{np.shape(value)}|{type(value).__name__}|".encode())
        hasher.update(np.ascontiguousarray(value).tobytes())
    elif value is None or isinstance(value, bool | int | float | complex | str | bytes):
        hasher.update(f"{type(value).__name__}|{value!r}|".encode())
    elif type(value) in (tuple, list):
        hasher.update(f"{type(value).__name__}|{len(value)}|".encode())
        for item in value:
            _feed(hasher, item)
    elif type(value) is dict:
        hasher.update(f"dict|{len(value)}|".encode())
        for key, item in value.items():
            _feed(hasher, key)
            _feed(hasher, item)
    else:
        raise Unencodable(f"a {type(value).__module__}.{type(value).__qualname__}")


def digest(args, kwargs) -> str | None:
    """A digest of a call's arguments, the same in every process; None when they cannot be hashed."""
    hasher = hashlib.sha256()
    try:
        _feed(hasher, (tuple(args), dict(sorted(kwargs.items()))))
    except Unencodable:
        return None
    return hasher.hexdigest()[:40]


# ---- tables -------------------------------------------------------------------------------------

class Table:
    """One kata's recorded answers for one test folder: call key -> expected output."""

    def __init__(self, kata_id: str, data: dict | None = None):
        self.kata_id = kata_id
        self.data = data or {"format": FORMAT, "kata": kata_id, "calls": {}, "pitfalls": []}
        self.hits = self.misses = 0
        self.unstorable = 0  # recorded inputs whose answer could not be stored (see MAX_VALUE_BYTES, encode)

    @classmethod
    def read(cls, path: Path) -> Table:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: recorded with another format ({data.get('format')!r})")
        return cls(data["kata"], data)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # mtime=0: the same answers give the same bytes, so a release is reproducible.
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
            handle.write(json.dumps(self.data, sort_keys=True, separators=(",", ":")).encode("utf-8"))

    @property
    def calls(self) -> dict:
        return self.data["calls"]

    def expected(self, key: str):
        entry = self.calls.get(key)
        if entry is None or entry.get("expected") is None:
            if entry is None:
                self.misses += 1
            else:
                self.unstorable += 1
            raise NotRecorded(key)
        self.hits += 1
        return decode(entry["expected"])


class Tables:
    """Every table of this session, by (test folder name, kata id), and what was replayed."""

    def __init__(self):
        self.by_key: dict[tuple[str, str], Table] = {}
        self.recording: str | None = None  # the output folder when recording
        self.record_pitfalls = False
        self.candidate = False  # a candidate's copy: tables in tests/recorded, no grading
        self.current_test: str | None = None
        self.call_counter = 0

    def unrecorded(self) -> int:
        return sum(t.misses for t in self.by_key.values())

    def unstorable(self) -> int:
        return sum(t.unstorable for t in self.by_key.values())

    def compared(self) -> int:
        return sum(t.hits for t in self.by_key.values())


def _tables(config) -> Tables | None:
    return config.stash.get(TABLES, None)


def _parse_table_dirs(text: str) -> dict[str, Path]:
    dirs = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        folder, _, path = part.partition("=")
        dirs[folder.strip()] = Path(path.strip())
    return dirs


def _call_key(tables: Tables, function_name: str, args, kwargs) -> str:
    found = digest(args, kwargs)
    if found is not None:
        return f"{function_name}:{found}"
    # Arguments that cannot be hashed (a model object, say): the n-th such call of this test.
    tables.call_counter += 1
    return f"{function_name}#{tables.current_test}#{tables.call_counter}"


# ---- the reference stand-ins --------------------------------------------------------------------

class RecordingReference:
    """The reference module, recording every answer it gives (and each pitfall's, if asked)."""

    def __init__(self, module, table: Table, tables: Tables, variants):
        self._module, self._table, self._tables, self._variants = module, table, tables, variants

    def __getattr__(self, name):
        value = getattr(self._module, name)
        if not callable(value) or isinstance(value, type):
            if not name.startswith("__"):
                encoded = _encode_or_none(value)
                if encoded is not None:
                    self._table.data.setdefault("attrs", {})[name] = encoded
            return value

        def recorded(*args, **kwargs):
            key = _call_key(self._tables, name, args, kwargs)
            pitfall_inputs = (snapshot(args), snapshot(kwargs)) if self._tables.record_pitfalls else None
            result = value(*args, **kwargs)
            if key not in self._table.calls and len(self._table.calls) < MAX_CALLS_PER_TEST * 50:
                entry = {"expected": _encode_or_none(result)}
                if pitfall_inputs is not None:
                    entry["pitfalls"] = self._pitfall_outputs(name, *pitfall_inputs)
                self._table.calls[key] = entry
            return result

        return recorded

    def _pitfall_outputs(self, name, args, kwargs) -> dict:
        outputs = {}
        for variant in self._variants():
            chosen = variant.__katakit_pitfall__
            if chosen.correct or chosen.replaces != name:
                continue
            try:
                outputs[chosen.name] = _encode_or_none(getattr(variant, name)(*snapshot(args), **snapshot(kwargs)))
            except Exception:
                outputs[chosen.name] = None
        return outputs


def _encode_or_none(value):
    try:
        return encode(value)
    except Unencodable:
        return None


class ReplayReference:
    """Stands in for the reference module: answers the recorded inputs, raises NotRecorded for others."""

    def __init__(self, table: Table, tables: Tables):
        self._table, self._tables = table, tables

    def key(self, name, args, kwargs) -> str:
        return _call_key(self._tables, name, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        attrs = self._table.data.get("attrs", {})
        if name in attrs:
            return decode(attrs[name])

        def replayed(*args, **kwargs):
            return self._table.expected(self.key(name, args, kwargs))

        return replayed


class _RecordedPitfall:
    """A known wrong answer, as far as replay knows it: its outputs on the recorded inputs."""

    def __init__(self, info: dict, table: Table, tables: Tables):
        self._table, self._tables = table, tables
        self.__katakit_pitfall__ = _PitfallInfo(info["name"], info["replaces"], info["diagnosis"])

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def replayed(*args, **kwargs):
            key = _call_key(self._tables, name, args, kwargs)
            output = self._table.calls.get(key, {}).get("pitfalls", {}).get(self.__katakit_pitfall__.name)
            if output is None:
                raise NotRecorded(key)
            return decode(output)

        return replayed


class _PitfallInfo:
    correct = False

    def __init__(self, name, replaces, diagnosis):
        self.name, self.replaces, self.diagnosis = name, replaces, diagnosis


class ReplayDifferential(Differential):
    """The differential check against recorded answers; an input never recorded is not compared."""

    def __call__(self, function_name: str, *args, equal=exact, **kwargs):
        __tracebackhide__ = True
        # The key of what the reference is given: a snapshot, as the base class passes it.
        key = self.reference.key(function_name, snapshot(args), snapshot(kwargs))
        if key in self.reference._table.calls and self.reference._table.calls[key].get("expected") is not None:
            # The counter of unhashable calls was advanced by key(); the base class advances it
            # again when it asks the reference, so step it back first.
            if "#" in key:
                self.reference._tables.call_counter -= 1
            return super().__call__(function_name, *args, equal=equal, **kwargs)
        if key in self.reference._table.calls:  # recorded, but the answer was not a value that can be stored
            self.reference._table.unstorable += 1
        else:
            self.reference._table.misses += 1
        return getattr(self.kata, function_name)(*args, **kwargs)


# ---- fixtures (a conftest imports these to override the plugin's) --------------------------------

def _runner(request):
    runner = request.config.stash.get(plugin.RUNNER, None)
    if runner is None:
        pytest.fail("the kata fixtures need a katas.toml at the rootdir", pytrace=False)
    return runner


def _kata_id(request) -> str:
    kata = _runner(request).catalog.kata_for_test_file(Path(request.node.path))
    if kata is None:
        pytest.fail(f"{request.node.path.name} is not test_<id>.py for a kata in katas.toml", pytrace=False)
    return kata.id


def _folder(request) -> str:
    return Path(request.node.path).parent.name


@pytest.fixture(scope="module")
def reference(request):
    """The reference solution; or, without one, its answers recorded beforehand."""
    runner, kata_id, tables = _runner(request), _kata_id(request), _tables(request.config)
    table = tables.by_key.get((_folder(request), kata_id)) if tables else None
    if table is not None and tables.recording is None:
        return ReplayReference(table, tables)
    path = runner.catalog.get(kata_id).solution_path(runner.root)
    if not path.is_file():
        pytest.skip(f"differential check skipped: this copy has no reference solution "
                    f"(solutions/{kata_id}.py) and no recorded answers; the hidden checks run when the work is graded")
    module = runner.cached(("reference", kata_id), lambda: load_module(path, "reference"))
    if tables is not None and tables.recording is not None:
        table = tables.by_key.setdefault((_folder(request), kata_id), Table(kata_id))
        return RecordingReference(module, table, tables, lambda: runner.pitfall_variants(kata_id))
    return module


@pytest.fixture(scope="module")
def differential(request, kata, reference):
    """Call as ``differential("fn", *args, equal=..., **kwargs)``: compares yours with the reference."""
    runner, kata_id, tables = _runner(request), _kata_id(request), _tables(request.config)
    if isinstance(reference, ReplayReference):
        table = reference._table
        variants = [_RecordedPitfall(info, table, tables) for info in table.data.get("pitfalls", [])]
        return ReplayDifferential(kata, reference, lambda: variants)
    return Differential(kata, reference, lambda: runner.pitfall_variants(kata_id))


# ---- hooks ------------------------------------------------------------------------------------

def _ignore_local_constants() -> bool:
    """Stop Hypothesis from drawing constants found in the source of loaded local modules.

    Hypothesis (6.13x and later) mixes literals from every imported module outside site-packages
    into the values it draws: the kata file under test included. Then the inputs drawn from a
    fixed seed depend on the code under test, and a recording could not be replayed (and a
    submission could steer what it is tested on). Returns False where this Hypothesis has no
    such feature, or has moved it.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:
        return False
    if not hasattr(providers, "_get_local_constants") or not hasattr(providers, "_local_constants"):
        return False
    empty = providers._local_constants
    providers._get_local_constants = lambda: empty
    return True


@pytest.hookimpl(trylast=True)  # after the plugin's own configure, which loads its Hypothesis profile
def pytest_configure(config):
    if config.stash.get(plugin.RUNNER, None) is None:
        return
    tables = Tables()
    config.stash[TABLES] = tables
    root = config.rootpath
    replaying = bool(os.environ.get(ENV_TABLES)) or (root / CANDIDATE_TABLES).is_dir()
    if os.environ.get(ENV_RECORD) or os.environ.get(ENV_GRADING) == "1" or replaying:
        _ignore_local_constants()
    # The profile changes which inputs are drawn (health checks draw some), so a recording is
    # replayed under the profile it was made with: grading's for grading, the plain one otherwise.
    if os.environ.get(ENV_GRADING) == "1":
        from hypothesis import HealthCheck, Phase, settings

        # Grading, and the recording made for it: no shrinking (it would only feed inputs nobody
        # recorded) and no health checks (a slow machine must not fail a candidate's test).
        settings.register_profile(
            "katas-grading", parent=settings.get_profile("katas"),
            phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=list(HealthCheck))
        settings.load_profile("katas-grading")
    if os.environ.get(ENV_RECORD):
        tables.recording = os.environ[ENV_RECORD]
        tables.record_pitfalls = os.environ.get(ENV_RECORD_PITFALLS) == "1"
        return
    if os.environ.get(ENV_TABLES):
        dirs = _parse_table_dirs(os.environ[ENV_TABLES])
    elif (root / CANDIDATE_TABLES).is_dir():
        dirs = {"tests": root / CANDIDATE_TABLES}
        tables.candidate = True
    else:
        return
    for folder, directory in dirs.items():
        directory = directory if directory.is_absolute() else root / directory
        for path in sorted(directory.glob("*.json.gz")):
            table = Table.read(path)
            tables.by_key[(folder, table.kata_id)] = table
    if os.environ.get(ENV_TABLES_DELETE) == "1":
        for directory in dirs.values():
            shutil.rmtree(directory if directory.is_absolute() else root / directory, ignore_errors=True)


def pytest_collection_modifyitems(session, config, items):
    seed = os.environ.get(ENV_GRADING_SEED)
    if not seed or config.stash.get(plugin.RUNNER, None) is None:
        return
    from hypothesis import seed as use_seed

    for item in items:
        function = getattr(item, "obj", None)
        if Path(item.path).parent.name == "tests" and getattr(function, "is_hypothesis_test", False):
            use_seed(int(seed))(function)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    tables = _tables(item.config)
    if tables is not None:
        path, _, rest = item.nodeid.partition("::")
        tables.current_test = f"{Path(path).name}::{rest}"
        tables.call_counter = 0


def pytest_report_header(config):
    tables = _tables(config)
    if tables is not None and tables.candidate:
        return ("take-home: these are the PUBLIC checks; hidden checks run when your work is graded "
                "(see README.md)")
    return None


PUBLIC_BANNER = (
    "These are the PUBLIC checks of this take-home. They check properties of your code and compare",
    "it with answers recorded from the reference solution on fixed inputs. When your work is graded,",
    "HIDDEN checks run as well: the same tests on new inputs compared with the reference solution",
    "itself, recognition of known mistakes, and the forbidden-call rules. Passing every public check",
    "does not mean a full score.",
)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tables = _tables(config)
    if tables is None or not tables.candidate:
        return
    write = terminalreporter.write_line
    terminalreporter.section("public checks only")
    for line in PUBLIC_BANNER:
        write(line, bold=True)
    compared, unrecorded, unstorable = tables.compared(), tables.unrecorded(), tables.unstorable()
    write(f"comparisons with recorded answers in this run: {compared}")
    if unstorable:
        write(f"{unstorable} answer(s) of the reference could not be recorded (too large, or not an array, "
              f"tensor, number or string) and were not compared here; the hidden checks compare them.")
    failed = any(terminalreporter.stats.get(key) for key in ("failed", "error", "todo"))
    if unrecorded and not failed:
        # After a failure Hypothesis tries smaller inputs, which nobody recorded: expected. Without
        # one, the inputs drawn differ from those recorded, which means another Hypothesis version.
        write(f"{unrecorded} input(s) had no recorded answer and were not compared: install the "
              f"Hypothesis version pinned in pyproject.toml to draw the recorded inputs.", yellow=True)


def pytest_sessionfinish(session, exitstatus):
    tables = _tables(session.config)
    if tables is None or tables.recording is None:
        return
    runner = session.config.stash[plugin.RUNNER]
    out = Path(tables.recording)
    import hypothesis

    for (folder, kata_id), table in tables.by_key.items():
        table.data["hypothesis"] = hypothesis.__version__
        if tables.record_pitfalls:
            table.data["pitfalls"] = [
                {"name": p.name, "replaces": p.replaces, "diagnosis": p.diagnosis}
                for p in runner.pitfalls(kata_id) if not p.correct]
        table.write(out / folder / f"{kata_id}.json.gz")


def pytest_unconfigure(config):
    """In a candidate's copy, note when checks ran in the progress file (part of the submission)."""
    tables = _tables(config)
    runner = config.stash.get(plugin.RUNNER, None)
    if tables is None or not tables.candidate or runner is None or runner.mode != "learner":
        return
    from .state import State

    try:
        state = State.load(runner.root)
        log = state.data.get("take_home")
        log = log if isinstance(log, dict) else {}
        now = round(time.time())
        log.setdefault("first_run", now)
        log["last_run"] = now
        log["runs"] = int(log.get("runs", 0)) + 1 if isinstance(log.get("runs", 0), int) else 1
        state.data["take_home"] = log
        state.save()
    except OSError:
        pass
