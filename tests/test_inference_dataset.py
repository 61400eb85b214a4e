"""Tests for inference_dataset: a tf.data pipeline that keeps every example, in order.

The value oracle is a numpy version of the given per-example standardisation, computed in
float64 from the float32 values. There is no `differential` check against the reference
solution: the oracle gives every expected batch exactly, and `assert_dataset` the exact
element_spec, which is all the reference could add, while building and reading its pipeline
on every generated input would double the tests' time.
The structure of the pipeline (prefetch with AUTOTUNE after the batching, no reordering) is
read from the dataset's own graph, which tf.data serialises on request.

Order matters for `pytest --pitfalls`, which stops running a wrong answer once a test has
rejected it: the element_spec and a small worked case come first.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from katakit.testing import describe, snapshot

MIN_SPREAD = 1e-3  # the test's own copy of the given constant
EPS32 = float(np.finfo(np.float32).eps)


# ---- the oracle -------------------------------------------------------------------------------

def standardise_rows(features) -> np.ndarray:
    """What ``preprocess`` gives for each row, in float64, from the row's float32 values."""
    x = np.asarray(features).astype(np.float32).astype(np.float64)
    if x.size == 0:
        return x.reshape(x.shape)
    mean = x.mean(axis=1, keepdims=True)
    spread = np.maximum(x.std(axis=1, keepdims=True), MIN_SPREAD)
    return (x - mean) / spread


def row_tolerance(features) -> np.ndarray:
    """Per-row absolute tolerance: float32 rounding of the mean and spread, scaled up by 1/spread.

    A correct float32 answer may sum in another order (per example or over a batch axis);
    its error grows with the size of the values relative to their spread.
    """
    x = np.asarray(features).astype(np.float32).astype(np.float64)
    if x.size == 0:
        return np.zeros((x.shape[0], 1))
    width = x.shape[1]
    scale = np.abs(x).max(axis=1, keepdims=True)
    spread = np.maximum(x.std(axis=1, keepdims=True), MIN_SPREAD)
    return 1e-5 + 8 * width * EPS32 * scale / spread


def expected_batch_sizes(n: int, batch_size: int) -> list[int]:
    return [min(batch_size, n - start) for start in range(0, n, batch_size)]


# ---- reading a dataset ------------------------------------------------------------------------

def assert_dataset(ds, num_features: int):
    """A tf.data.Dataset whose element_spec is TensorSpec((None, num_features), float32)."""
    __tracebackhide__ = True
    assert isinstance(ds, tf.data.Dataset), f"expected a tf.data.Dataset, got {type(ds).__name__}"
    spec = ds.element_spec
    wanted = tf.TensorSpec(shape=(None, num_features), dtype=tf.float32)
    assert isinstance(spec, tf.TensorSpec), (
        f"each element must be one float32 tensor (a batch of rows); element_spec is {spec!r}")
    assert spec.dtype == tf.float32, f"the batches must be float32; element_spec is {spec!r}"
    shape = spec.shape.as_list() if spec.shape.rank is not None else None
    assert shape is not None and len(shape) == 2 and shape[1] == num_features, (
        f"element_spec must have shape (None, {num_features}); yours is {spec!r}")
    assert shape[0] is None, (
        f"the batch dimension of element_spec must be None (unknown), yours is {shape[0]}: with "
        f"drop_remainder=True tf.data knows every batch is full, because it throws the last, partial "
        f"batch away; an inference pipeline must keep it.\n  expected: {wanted!r}\n  yours:    {spec!r}")


def materialise(ds, expected_batches: int) -> list[np.ndarray]:
    """The batches of `ds`, reading at most one more than expected (a repeated dataset never ends)."""
    __tracebackhide__ = True
    cardinality = int(ds.cardinality())
    assert cardinality != tf.data.INFINITE_CARDINALITY, (
        "the dataset is infinite (.repeat()?): an inference pipeline yields every example exactly once")
    return [np.asarray(batch) for batch in ds.take(expected_batches + 1).as_numpy_iterator()]


def assert_batches(ds, features, batch_size: int, what: str = ""):
    """ds yields exactly the expected batches: sizes, order, dtype and values."""
    __tracebackhide__ = True
    features = np.asarray(features)
    n, d = features.shape
    assert_dataset(ds, d)
    sizes = expected_batch_sizes(n, batch_size)
    batches = materialise(ds, len(sizes))
    got_sizes = [b.shape[0] if b.ndim else None for b in batches]
    where = f"{what}{n} rows of {d} features, batch_size={batch_size}"
    assert got_sizes == sizes, (
        f"{where}: expected batches of sizes {sizes}, got {got_sizes}"
        + ("; the last, partial batch is missing (drop_remainder?)" if got_sizes == sizes[:-1] else ""))
    expected, tolerance = standardise_rows(features), row_tolerance(features)
    start = 0
    for i, batch in enumerate(batches):
        stop = start + batch.shape[0]
        assert batch.dtype == np.float32, f"{where}: batch {i} has dtype {batch.dtype}; it must be float32"
        assert batch.shape == (stop - start, d), f"{where}: batch {i} has shape {batch.shape}"
        diff = np.abs(batch.astype(np.float64) - expected[start:stop])
        if not np.all(diff <= tolerance[start:stop]):
            row = start + int(np.argwhere(~(diff <= tolerance[start:stop]))[0][0])
            hint = ""
            others = [j for j in range(n) if j != row and np.all(np.abs(
                batch[row - start].astype(np.float64) - expected[j]) <= tolerance[j])]
            if others:
                hint = f" (it is the preprocessed row {others[0]}: the order changed)"
            raise AssertionError(
                f"{where}: batch {i}, row {row} of the input differs{hint}\n"
                f"  input row: {describe(features[row])}\n"
                f"  expected:  {describe(expected[row].astype(np.float32))}  (preprocess(row), one row at a time)\n"
                f"  yours:     {describe(batch[row - start])}")
        start = stop


def rows_generator(features):
    """A make_rows callable over the rows of `features`, counting the rows it yields."""
    rows = [np.array(r) for r in np.asarray(features)]

    def make_rows():
        for r in rows:
            make_rows.rows_read += 1
            yield r.copy()

    make_rows.rows_read = 0
    return make_rows


# ---- the dataset's own graph ------------------------------------------------------------------

def pipeline_graph(ds):
    """{node name: NodeDef} of the dataset's serialised graph, and the name of its output node."""
    graph_def = tf.compat.v1.GraphDef.FromString(
        tf.raw_ops.DatasetToGraphV2(input_dataset=tf.data.experimental.to_variant(ds)).numpy())
    nodes = {node.name: node for node in graph_def.node}
    output = next(node for node in graph_def.node if node.op == "_Retval")
    return nodes, output.input[0]


def _inputs(node):
    return [name.lstrip("^").split(":")[0] for name in node.input]


def ancestors(nodes, name) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        for parent in _inputs(nodes[current]):
            if parent in nodes and parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def constant_value(nodes, name):
    node = nodes.get(name)
    if node is None or node.op != "Const":
        return None
    return tf.make_ndarray(node.attr["value"].tensor)


def assert_prefetches_batches_with_autotune(ds):
    __tracebackhide__ = True
    nodes, output = pipeline_graph(ds)
    reachable = ancestors(nodes, output) | {output}
    prefetches = [nodes[n] for n in reachable if nodes[n].op == "PrefetchDataset"]
    assert prefetches, "the pipeline has no prefetch: end it with .prefetch(tf.data.AUTOTUNE)"
    sizes = [constant_value(nodes, _inputs(p)[1]) for p in prefetches]
    autotuned = [p for p, size in zip(prefetches, sizes, strict=True)
                 if size is not None and int(size) == tf.data.AUTOTUNE]
    assert autotuned, (
        f"prefetch buffer size {[None if s is None else int(s) for s in sizes]}: use tf.data.AUTOTUNE "
        f"(-1), which lets tf.data tune the buffer to the model's speed")
    # Nothing may batch after the prefetch: prefetching single rows does not prepare batches.
    last = [p for p in autotuned
            if not any("Batch" in nodes[n].op for n in reachable if p.name in ancestors(nodes, n))]
    assert last, ("the prefetch comes before the batching: prefetch then prepares single rows, not "
                  "batches; make .prefetch(tf.data.AUTOTUNE) the last step")


def assert_keeps_order(ds):
    __tracebackhide__ = True
    nodes, output = pipeline_graph(ds)
    loose = sorted({nodes[n].op for n in ancestors(nodes, output) | {output}
                    if nodes[n].attr["deterministic"].s == b"false"})
    assert not loose, (f"{', '.join(loose)} runs with deterministic=False, which lets elements out in any "
                       f"order; inference results must stay in the order of their inputs")
    assert ds.options().deterministic is not False, (
        "the dataset's options set deterministic = False, which lets elements out in any order; "
        "inference results must stay in the order of their inputs")


# ---- generated inputs -------------------------------------------------------------------------

DTYPES = ("float32", "float64", "int32", "uint8")


@st.composite
def feature_arrays(draw, max_rows: int = 23, max_features: int = 6):
    """A 2-D array of a real dtype (rows of small integers or exact eighths, so no value is a rounding edge)."""
    n = draw(st.integers(0, max_rows), label="rows")
    d = draw(st.integers(1, max_features), label="features")
    dtype = draw(st.sampled_from(DTYPES), label="dtype")
    if dtype == "uint8":
        return draw(hnp.arrays(np.uint8, (n, d)), label="features")
    if dtype == "int32":
        return draw(hnp.arrays(np.int32, (n, d), elements=st.integers(-1000, 1000)), label="features")
    eighths = draw(hnp.arrays(np.int32, (n, d), elements=st.integers(-4000, 4000)), label="eighths")
    return (eighths / 8).astype(dtype)  # exact in float32, fractional


# ---- cheap checks first -----------------------------------------------------------------------

def test_array_dataset_has_an_unknown_batch_dimension(kata):
    ds = kata.dataset_from_array(np.arange(15, dtype=np.float64).reshape(5, 3), 2)
    assert_dataset(ds, 3)


def test_generator_dataset_has_an_unknown_batch_dimension_and_a_known_row_length(kata):
    ds = kata.dataset_from_generator(rows_generator(np.ones((5, 4))), 4, 2)
    assert_dataset(ds, 4)


def test_worked_example_keeps_the_last_partial_batch(kata):
    features = np.array([[1, 2, 3], [4, 4, 4], [0, 10, 20], [5, 6, 7], [9, 8, 7]])
    assert_batches(kata.dataset_from_array(features, 2), features, 2)


def test_generator_worked_example(kata):
    features = np.array([[i, i + 1.0, i + 2.0] for i in range(5)])
    assert_batches(kata.dataset_from_generator(rows_generator(features), 3, 2), features, 2, "generator: ")


def test_each_row_is_standardised_on_its_own_not_with_its_batch(kata):
    # Rows on very different scales: statistics taken over a batch instead of a row show at once.
    features = np.array([[0.0, 1.0, 2.0, 3.0], [100.0, 300.0, 200.0, 400.0], [-5.0, -5.0, -5.0, -5.0],
                         [1e3, -1e3, 0.0, 0.5], [7.0, 8.0, 7.0, 8.0], [0.25, 0.5, 0.75, 1.0]], dtype=np.float32)
    assert_batches(kata.dataset_from_array(features, 3), features, 3)


def test_order_is_preserved_across_many_batches(kata):
    rng = np.random.default_rng(5)
    features = rng.normal(size=(41, 5)) * rng.uniform(0.5, 20.0, size=(41, 1)) + np.arange(41)[:, None]
    assert_batches(kata.dataset_from_array(features, 4), features, 4)


def test_generator_order_is_preserved_across_many_batches(kata):
    rng = np.random.default_rng(6)
    features = rng.normal(size=(37, 3)) * rng.uniform(0.5, 20.0, size=(37, 1)) - np.arange(37)[:, None]
    assert_batches(kata.dataset_from_generator(rows_generator(features), 3, 5), features, 5, "generator: ")


# ---- the pipeline's structure -----------------------------------------------------------------

def test_array_pipeline_prefetches_batches_with_autotune(kata):
    assert_prefetches_batches_with_autotune(kata.dataset_from_array(np.ones((6, 2)), 4))


def test_generator_pipeline_prefetches_batches_with_autotune(kata):
    assert_prefetches_batches_with_autotune(kata.dataset_from_generator(rows_generator(np.ones((6, 2))), 2, 4))


def test_pipelines_keep_their_order(kata):
    assert_keeps_order(kata.dataset_from_array(np.ones((6, 2)), 4))
    assert_keeps_order(kata.dataset_from_generator(rows_generator(np.ones((6, 2))), 2, 4))


# ---- every pass gives every row ---------------------------------------------------------------

def test_array_dataset_can_be_iterated_again(kata):
    features = np.arange(21, dtype=np.float32).reshape(7, 3) ** 2
    ds = kata.dataset_from_array(features, 3)
    assert_batches(ds, features, 3, "first pass: ")
    assert_batches(ds, features, 3, "second pass: ")


def test_generator_rows_are_read_lazily(kata):
    make_rows = rows_generator(np.arange(12.0).reshape(4, 3))
    ds = kata.dataset_from_generator(make_rows, 3, 2)
    assert make_rows.rows_read == 0, (
        f"building the dataset already read {make_rows.rows_read} rows from the generator; read them lazily "
        f"(tf.data.Dataset.from_generator), only when the dataset is iterated")
    assert_batches(ds, np.arange(12.0).reshape(4, 3), 2, "generator: ")


def test_generator_dataset_can_be_iterated_again(kata):
    features = np.arange(21, dtype=np.float64).reshape(7, 3) ** 2
    make_rows = rows_generator(features)
    ds = kata.dataset_from_generator(make_rows, 3, 3)
    assert_batches(ds, features, 3, "first pass: ")
    assert_batches(ds, features, 3, "second pass (from_generator must call make_rows again for each pass): ")


@pytest.mark.parametrize("n, batch_size", [(0, 3), (1, 1), (1, 4), (6, 3), (6, 1), (7, 3), (3, 8), (9, 9)],
                         ids=lambda v: str(v))
def test_batch_boundaries(kata, n, batch_size):
    features = np.arange(n * 4, dtype=np.float64).reshape(n, 4) * np.array([1.0, -2.0, 0.5, 3.0])
    assert_batches(kata.dataset_from_array(features, batch_size), features, batch_size)
    assert_batches(kata.dataset_from_generator(rows_generator(features), 4, batch_size), features, batch_size,
                   "generator: ")


def test_array_dataset_knows_its_number_of_batches_or_leaves_it_unknown(kata):
    ds = kata.dataset_from_array(np.ones((10, 2)), 4)
    cardinality = int(ds.cardinality())
    assert cardinality in (3, tf.data.UNKNOWN_CARDINALITY), (
        f"10 rows in batches of 4 make 3 batches; the dataset's cardinality says {cardinality}")


@pytest.mark.parametrize("dtype", DTYPES + ("int64",))
def test_any_real_dtype_comes_out_float32(kata, dtype):
    features = (np.arange(24).reshape(6, 4) * np.array([3, 1, 4, 1]) % 17).astype(dtype)
    assert_batches(kata.dataset_from_array(features, 4), features, 4, f"{dtype} input: ")
    assert_batches(kata.dataset_from_generator(rows_generator(features), 4, 4), features, 4,
                   f"{dtype} rows from a generator: ")


def test_one_feature_per_row(kata):
    features = np.array([[3.0], [-1.0], [0.5]])
    assert_batches(kata.dataset_from_array(features, 2), features, 2)


# ---- the input is left alone ------------------------------------------------------------------

def test_features_are_not_modified(kata):
    features = np.array([[1.0, 2.0, 4.0], [10.0, 0.0, -10.0], [3.0, 3.0, 3.0]], dtype=np.float64)
    before = snapshot(features)
    ds = kata.dataset_from_array(features, 2)
    list(ds.as_numpy_iterator())
    assert np.array_equal(features, before) and features.dtype == before.dtype, (
        f"dataset_from_array modified its input\n  before: {describe(before)}\n  after:  {describe(features)}")


# ---- generated arrays, against the oracle -----------------------------------------------------

@settings(max_examples=25)
@given(features=feature_arrays(), batch_size=st.integers(1, 8))
def test_array_dataset_matches_the_oracle(kata, features, batch_size):
    before = snapshot(features)
    assert_batches(kata.dataset_from_array(features, batch_size), features, batch_size)
    assert np.array_equal(features, before) and features.dtype == before.dtype, (
        f"dataset_from_array modified its input\n  before: {describe(before)}\n  after:  {describe(features)}")


@settings(max_examples=15)
@given(features=feature_arrays(max_rows=17), batch_size=st.integers(1, 6))
def test_generator_dataset_matches_the_oracle(kata, features, batch_size):
    ds = kata.dataset_from_generator(rows_generator(features), features.shape[1], batch_size)
    assert_batches(ds, features, batch_size, "generator: ")


# ---- invalid arguments ------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [0, -2, 2.5, 2.0, None], ids=["0", "-2", "2.5", "2.0", "None"])
def test_bad_batch_size_raises_value_error(kata, batch_size):
    with pytest.raises(ValueError):
        kata.dataset_from_array(np.ones((4, 2)), batch_size)
    with pytest.raises(ValueError):
        kata.dataset_from_generator(rows_generator(np.ones((4, 2))), 2, batch_size)


@pytest.mark.parametrize("shape", [(4,), (2, 3, 2), (4, 0), ()], ids=["1-D", "3-D", "no-columns", "scalar"])
def test_features_not_a_2d_array_with_columns_raise_value_error(kata, shape):
    with pytest.raises(ValueError):
        kata.dataset_from_array(np.ones(shape), 2)


@pytest.mark.parametrize("num_features", [0, -1, 2.0], ids=["0", "-1", "2.0"])
def test_bad_num_features_raises_value_error(kata, num_features):
    with pytest.raises(ValueError):
        kata.dataset_from_generator(rows_generator(np.ones((4, 2))), num_features, 2)

