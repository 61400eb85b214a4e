"""Tests for tile_broadcast: tf.tile rebuilt from reshapes and broadcasting.

The contract is tf.tile's own result: the same values, shape and dtype, returned as a
tf.Tensor. tf.tile is the oracle here (tests may call it; the kata may not), alongside the
reference solution through the differential check.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from katakit.testing import describe, exact

DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")


def _elements(dtype: str):
    if dtype == "bool":
        return st.booleans()
    if dtype.startswith(("int", "uint")):
        # Small values mostly, and now and then the dtype's extremes, which a detour through a
        # float (float32 holds integers exactly only up to 2**24) gets wrong.
        info = np.iinfo(dtype)
        return st.one_of(st.integers(max(info.min, -99), 99), st.integers(int(info.min), int(info.max)))
    # No subnormals: TensorFlow flushes them to zero in arithmetic, so a correct answer that
    # multiplies by ones would turn 1e-45 into 0 where tf.tile only copies.
    width, bound = (32, 2.0**100) if dtype == "float32" else (64, 1e300)
    finite = st.floats(-bound, bound, width=width, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    # Now and then inf, -inf or NaN: tiling copies them, arithmetic tricks (inf * 0) do not.
    return st.one_of(finite, finite, finite, st.sampled_from((np.inf, -np.inf, np.nan)))


@st.composite
def tile_cases(draw, min_dim: int = 1, max_dim: int = 4):
    """(x, multiples): x a tf.Tensor or numpy array of rank 1-4, multiples a list or tuple of 0..3."""
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(min_dim, max_dim), min_size=rank, max_size=rank)))
    dtype = draw(st.sampled_from(DTYPES))
    values = draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))
    # Mostly 2 and 3 (where order matters and broadcasts get wide), sometimes 1 or 0.
    multiples = draw(st.lists(st.sampled_from((2, 3, 1, 2, 3, 0)), min_size=rank, max_size=rank))
    if draw(st.booleans()):
        multiples = tuple(multiples)
    # A tf.Tensor, a numpy array, or a numpy array in Fortran order (not C-contiguous from rank 2),
    # which code reading the raw buffer in C order gets wrong.
    kind = draw(st.sampled_from(("tensor", "numpy", "numpy-fortran")))
    x = {"tensor": lambda: tf.constant(values), "numpy": lambda: values,
         "numpy-fortran": lambda: np.asfortranarray(values)}[kind]()
    return x, multiples


def _assert_tensor(result):
    __tracebackhide__ = True
    assert isinstance(result, tf.Tensor), f"the result must be a tf.Tensor, got {type(result).__name__}"


def _check_against_tf_tile(result, x, multiples):
    __tracebackhide__ = True
    expected = tf.tile(x, multiples)
    _assert_tensor(result)
    assert exact(result, expected), (
        f"differs from tf.tile\n  input:    {describe(x)}, multiples={multiples!r}\n"
        f"  expected: {describe(expected)}\n  yours:    {describe(result)}")


# ---- the classic trap: tile copies the whole tensor, repeat copies each element -------------

def test_tile_is_not_repeat_in_two_dimensions(kata):
    x = tf.constant([[1, 2], [3, 4]])
    result = kata.tile_with_broadcast(x, [2, 3])
    repeated = tf.repeat(tf.repeat(x, 2, axis=0), 3, axis=1)
    assert not exact(result, repeated), (
        "each element was repeated in place (what tf.repeat does); tiling copies the whole tensor: "
        "put the new size-1 axis BEFORE each original axis, not after it")
    expected = tf.constant([[1, 2, 1, 2, 1, 2],
                            [3, 4, 3, 4, 3, 4],
                            [1, 2, 1, 2, 1, 2],
                            [3, 4, 3, 4, 3, 4]], dtype=tf.int32)
    assert exact(result, expected), f"expected {describe(expected)}\n  yours:    {describe(result)}"


def test_tile_is_not_repeat_in_one_dimension(kata):
    result = kata.tile_with_broadcast(tf.constant([1, 2, 3]), [2])
    expected = tf.constant([1, 2, 3, 1, 2, 3], dtype=tf.int32)
    assert exact(result, expected), (
        f"expected {describe(expected)} (whole copies; [1, 1, 2, 2, 3, 3] would be repeat)\n"
        f"  yours:    {describe(result)}")


def test_each_multiple_goes_with_its_own_axis(kata):
    x = tf.reshape(tf.range(6, dtype=tf.int64), [1, 2, 3])
    result = kata.tile_with_broadcast(x, [3, 1, 2])
    expected = tf.constant([[[0, 1, 2, 0, 1, 2], [3, 4, 5, 3, 4, 5]]] * 3, dtype=tf.int64)
    assert exact(result, expected), f"expected {describe(expected)}\n  yours:    {describe(result)}"


# ---- multiples of 0 and of 1 ---------------------------------------------------------------

@pytest.mark.parametrize("x, multiples, shape", [
    (tf.constant([1.5, 2.5]), [0], (0,)),
    (tf.constant([[1, 2], [3, 4]], dtype=tf.int64), [0, 3], (0, 6)),
    (tf.constant([[True, False, True], [False, False, True]]), [2, 0], (4, 0)),
    (tf.ones([2, 1, 3], dtype=tf.int32), (0, 0, 0), (0, 0, 0)),
    (tf.zeros([0, 3], dtype=tf.float32), [2, 2], (0, 6)),
    (tf.zeros([2, 0], dtype=tf.bool), [3, 5], (6, 0)),
], ids=["rank1-float", "zero-first-axis", "zero-last-axis-bool", "all-zero-rank3",
        "empty-input-rows", "empty-input-cols-bool"])
def test_zero_multiples_and_empty_inputs(kata, x, multiples, shape):
    result = kata.tile_with_broadcast(x, multiples)
    _assert_tensor(result)
    assert tuple(result.shape) == shape, f"expected shape {shape}, got {tuple(result.shape)}"
    assert result.dtype == x.dtype, f"expected dtype {x.dtype.name}, got {result.dtype}"
    _check_against_tf_tile(result, x, multiples)


@pytest.mark.parametrize("x", [
    tf.constant([7, -3, 5]),
    tf.constant([[0.25, -1.5], [3.0, 1e-30]]),
    tf.constant([[[True], [False]]]),
    tf.reshape(tf.range(24, dtype=tf.int64), [2, 3, 2, 2]),
], ids=["rank1-int32", "rank2-float32", "rank3-bool", "rank4-int64"])
def test_all_ones_gives_x_back(kata, x):
    result = kata.tile_with_broadcast(x, [1] * x.shape.rank)
    assert exact(result, x), (
        f"multiples of 1 must give x back unchanged\n  x:     {describe(x)}\n  yours: {describe(result)}")


# ---- dtypes are preserved exactly ----------------------------------------------------------

@pytest.mark.parametrize("values, dtype", [
    ([2**31 - 1, -(2**31), 16_777_217], tf.int32),
    ([2**53 + 1, -(2**62) - 3, 2**62 + 7], tf.int64),
    ([0, 255, 128], tf.uint8),
    ([True, False, False], tf.bool),
    ([0.1, -2.7182818284590455, 1e300], tf.float64),
    ([0.1, -3.5, 1e-20], tf.float32),
    ([0.1, -65504.0, 6e-5], tf.float16),
    ([-128, 127, 3], tf.int8),
    ([2**64 - 1, 2**63 + 1, 0], tf.uint64),
    ([1 + 2j, -0.5j, 3e30 - 1e-30j], tf.complex64),
], ids=["int32-extremes", "int64-beyond-float64", "uint8", "bool", "float64", "float32", "float16", "int8",
        "uint64-beyond-int64", "complex64"])
def test_dtype_and_values_preserved(kata, values, dtype):
    x = tf.reshape(tf.constant(values, dtype=dtype), [3, 1])
    result = kata.tile_with_broadcast(x, [2, 2])
    _assert_tensor(result)
    assert result.dtype == dtype, f"expected dtype {dtype.name}, got {result.dtype} (do not go through float)"
    _check_against_tf_tile(result, x, [2, 2])


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["float32", "float64"])
def test_non_finite_values_are_copied_as_they_are(kata, dtype):
    # Tiling only copies: inf stays inf and NaN stays NaN where they were. (Tiling by a
    # product with a 0/1 selection matrix does not: inf * 0 is NaN, and NaN spreads.)
    x = tf.constant([[np.inf, 1.0], [np.nan, -np.inf], [-0.0, 2.0]], dtype=dtype)
    result = kata.tile_with_broadcast(x, [2, 3])
    _check_against_tf_tile(result, x, [2, 3])


@pytest.mark.parametrize("shape, multiples", [
    ((2, 1, 3, 2, 2), [2, 3, 1, 2, 2]),
    ((2, 1, 3, 1, 2, 2), (2, 3, 2, 1, 1, 2)),
    ((1, 2, 1, 2, 1, 2, 1), [2, 2, 3, 1, 2, 1, 2]),
], ids=["rank5", "rank6", "rank7"])
def test_ranks_above_four(kata, shape, multiples):
    x = tf.reshape(tf.range(int(np.prod(shape)), dtype=tf.int32), shape)
    result = kata.tile_with_broadcast(x, multiples)
    _check_against_tf_tile(result, x, multiples)


# ---- inputs other than tf.Tensor; the result type; no mutation ------------------------------

def test_python_list_input_is_converted_like_tf_tile(kata):
    x = [[1, 2], [3, 4]]
    result = kata.tile_with_broadcast(x, [1, 2])
    _check_against_tf_tile(result, x, [1, 2])  # tf.convert_to_tensor makes Python ints int32


@pytest.mark.parametrize("dtype", [np.int64, np.float64, np.bool_])
def test_numpy_input_returns_tensor_and_is_not_modified(kata, dtype):
    x = (np.arange(6).reshape(2, 3) % 4).astype(dtype)
    before = x.copy()
    result = kata.tile_with_broadcast(x, (2, 1))
    _assert_tensor(result)
    assert x.dtype == before.dtype and np.array_equal(x, before), "the input array was modified"
    _check_against_tf_tile(result, x, (2, 1))


@pytest.mark.parametrize("layout", ["transposed", "every-other-column", "reversed-rows", "broadcast-view"])
def test_non_contiguous_numpy_input(kata, layout):
    # numpy views are valid input: tf.convert_to_tensor copies them in their logical order.
    # Code that reads the raw buffer as if it were C-contiguous (as_strided, frombuffer) does not.
    base = np.arange(24, dtype=np.int64).reshape(4, 6)
    x = {"transposed": base.T, "every-other-column": base[:, ::2], "reversed-rows": base[::-1],
         "broadcast-view": np.broadcast_to(base[:1, :3], (2, 3))}[layout]
    assert not x.flags.c_contiguous
    before = x.copy()
    result = kata.tile_with_broadcast(x, [2, 3])
    assert np.array_equal(x, before), "the input array was modified"
    _check_against_tf_tile(result, x, [2, 3])


# ---- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("x, multiples", [
    (tf.zeros([2, 3]), [1, 2, 3]),
    (tf.zeros([2, 3]), [2]),
    (tf.constant([1, 2]), []),
    (tf.zeros([1, 2, 3], dtype=tf.int32), (1, 1)),
], ids=["too-many", "too-few", "empty-for-rank1", "tuple-too-few-rank3"])
def test_wrong_number_of_multiples_raises_value_error(kata, x, multiples):
    with pytest.raises(ValueError):
        kata.tile_with_broadcast(x, multiples)


@pytest.mark.parametrize("x, multiples", [
    (tf.zeros([2, 3]), [1, -1]),
    (tf.constant([1, 2, 3]), [-2]),
    (tf.constant([[True, False]]), [0, -1]),
    (tf.zeros([0, 2]), [-1, 1]),
], ids=["rank2", "rank1", "with-a-zero", "empty-input"])
def test_negative_multiples_raise_value_error(kata, x, multiples):
    with pytest.raises(ValueError):
        kata.tile_with_broadcast(x, multiples)


@pytest.mark.parametrize("x, multiples", [
    (tf.constant(5), []),
    (tf.constant(2.5), [3]),
], ids=["no-multiples", "one-multiple"])
def test_scalar_input_raises_value_error(kata, x, multiples):
    with pytest.raises(ValueError):
        kata.tile_with_broadcast(x, multiples)


# ---- against the reference and against tf.tile, on generated inputs ------------------------

@given(tile_cases())
def test_matches_reference(differential, case):
    x, multiples = case
    differential("tile_with_broadcast", x, multiples, equal=exact)


@given(tile_cases())
def test_matches_tf_tile(kata, case):
    x, multiples = case
    result = kata.tile_with_broadcast(x, multiples)
    _check_against_tf_tile(result, x, multiples)


@given(tile_cases(min_dim=0, max_dim=3))
def test_zero_size_axes_match_tf_tile(kata, case):
    x, multiples = case
    result = kata.tile_with_broadcast(x, multiples)
    _check_against_tf_tile(result, x, multiples)
