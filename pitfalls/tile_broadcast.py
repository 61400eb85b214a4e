"""Known wrong answers for tile_broadcast."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from katakit.pitfalls import alternative, pitfall


def _checked(x, multiples):
    """The validation the correct answer does, shared by the mistakes that get it right."""
    x = tf.convert_to_tensor(x)
    shape = x.shape.as_list()
    multiples = list(multiples)
    if len(shape) == 0 or len(multiples) != len(shape) or any(m < 0 for m in multiples):
        raise ValueError("bad multiples")
    return x, shape, multiples


def _tile_each_axis(x, multiples, *, new_axis_first=True, in_float32=False):
    """Tiles one axis at a time as the reference does; the keywords switch on one mistake each."""
    result = tf.cast(x, tf.float32) if in_float32 else x
    for axis, m in enumerate(multiples):
        shape_now = result.shape.as_list()
        before, d, after = math.prod(shape_now[:axis]), shape_now[axis], math.prod(shape_now[axis + 1:])
        if in_float32:
            stretched = tf.reshape(result, [before, 1, d, after]) * tf.ones([before, m, d, after])
        elif new_axis_first:
            stretched = tf.broadcast_to(tf.reshape(result, [before, 1, d, after]), [before, m, d, after])
        else:
            stretched = tf.broadcast_to(tf.reshape(result, [before, d, 1, after]), [before, d, m, after])
        result = tf.reshape(stretched, shape_now[:axis] + [m * d] + shape_now[axis + 1:])
    return result


@pitfall("tile_with_broadcast",
         "Puts the new size-1 axis AFTER the original axis, so every element is repeated in place "
         "(tf.repeat) instead of the whole tensor being copied (tf.tile).")
def new_axis_after_each_axis(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    return _tile_each_axis(x, multiples, new_axis_first=False)


@pitfall("tile_with_broadcast",
         "Multiplies by tf.ones, which is float32, so integer and bool inputs come back as float32.")
def multiplies_by_float_ones(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    return _tile_each_axis(x, multiples, in_float32=True)


@pitfall("tile_with_broadcast",
         "Goes through float32 and casts back, so integers beyond 2**24 and float64 values lose precision.")
def round_trips_through_float32(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    return tf.cast(_tile_each_axis(x, multiples, in_float32=True), x.dtype)


@pitfall("tile_with_broadcast",
         "Hard-codes the reshape for a 2-D input, so any other rank fails.")
def only_handles_rank_two(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    d0, d1 = shape
    m0, m1 = multiples
    stretched = tf.broadcast_to(tf.reshape(x, [1, d0, 1, d1]), [m0, d0, m1, d1])
    return tf.reshape(stretched, [m0 * d0, m1 * d1])


@pitfall("tile_with_broadcast",
         "Inserts every new axis in one broadcast, to (m0, d0, m1, d1, ...): TensorFlow broadcasts over "
         "at most 5 axes, so inputs of rank 3 or more fail.")
def all_axes_in_one_broadcast(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    spread = [n for d in shape for n in (1, d)]
    target = [n for m, d in zip(multiples, shape, strict=True) for n in (m, d)]
    stretched = tf.broadcast_to(tf.reshape(x, spread), target)
    return tf.reshape(stretched, [m * d for m, d in zip(multiples, shape, strict=True)])


@pitfall("tile_with_broadcast",
         "Does not validate its inputs: negative multiples raise a TensorFlow error instead of ValueError, "
         "and a scalar x is silently accepted.")
def no_validation(x, multiples):
    return _tile_each_axis(tf.convert_to_tensor(x), list(multiples))


@pitfall("tile_with_broadcast",
         "Checks only for negative multiples and forgets that multiples must have one entry per axis of x.")
def accepts_wrong_length(x, multiples):
    if any(m < 0 for m in multiples):
        raise ValueError("negative multiple")
    x = tf.convert_to_tensor(x)
    return _tile_each_axis(x, list(multiples)[:x.shape.rank])


@pitfall("tile_with_broadcast",
         "Calls tf.tile itself, which this kata forbids: the point is to build tiling from broadcasting.")
def calls_tf_tile(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    return tf.tile(x, multiples)


@pitfall("tile_with_broadcast",
         "Pairs the multiples with the axes in reverse order, so axis 0 gets the last multiple.")
def reversed_multiples(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    return _tile_each_axis(x, multiples[::-1])


@pitfall("tile_with_broadcast",
         "Tiles correctly with numpy but returns the numpy array, not a tf.Tensor.")
def returns_numpy_array(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    return _tile_each_axis(x, multiples).numpy()


@pitfall("tile_with_broadcast",
         "Tiles by multiplying with a 0/1 selection matrix (tensordot) instead of copying: inf * 0 is NaN, "
         "so infinities and NaNs leak into every copy's neighbours.")
def selection_matrix_product(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    work = x if x.dtype.is_floating else tf.cast(x, tf.int64)
    for axis, (m, d) in enumerate(zip(multiples, shape, strict=True)):
        rows = tf.range(m * d)[:, None] % max(d, 1)
        select = tf.cast(tf.equal(rows, tf.range(d)[None, :]), work.dtype)  # (m * d, d)
        moved = tf.tensordot(select, work, axes=[[1], [axis]])  # the new axis comes first
        order = list(range(1, axis + 1)) + [0] + list(range(axis + 1, len(shape)))
        work = tf.transpose(moved, order)
    return work if x.dtype.is_floating else tf.cast(work, x.dtype)


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("tile_with_broadcast",
             "Gathers along each axis with indices i % d, which also copies whole blocks in the tile order.")
def gather_modulo_indices(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    for axis, (m, d) in enumerate(zip(multiples, shape, strict=True)):
        x = tf.gather(x, tf.range(m * d) % d if d else tf.zeros([0], tf.int32), axis=axis)
    return x


@alternative("tile_with_broadcast",
             "Broadcasts every axis at once in numpy (which has no 5-axis limit) and converts back.")
def numpy_broadcast_in_one_step(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    spread = [n for d in shape for n in (1, d)]
    target = [n for m, d in zip(multiples, shape, strict=True) for n in (m, d)]
    tiled = np.broadcast_to(x.numpy().reshape(spread), target)
    return tf.convert_to_tensor(tiled.reshape([m * d for m, d in zip(multiples, shape, strict=True)]), dtype=x.dtype)


@alternative("tile_with_broadcast",
             "Adds a zero tensor of the target shape (logical or with False for bool): arithmetic broadcasting.")
def adds_broadcast_zeros(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    for axis, m in enumerate(multiples):
        now = x.shape.as_list()
        before, d, after = math.prod(now[:axis]), now[axis], math.prod(now[axis + 1:])
        block = tf.reshape(x, [before, 1, d, after])
        if x.dtype == tf.bool:
            stretched = tf.logical_or(block, tf.zeros([before, m, d, after], tf.bool))
        else:
            stretched = block + tf.zeros([before, m, d, after], x.dtype)
        x = tf.reshape(stretched, now[:axis] + [m * d] + now[axis + 1:])
    return x


@alternative("tile_with_broadcast",
             "Computes, for every output position, the flat index of its source element from meshgrid "
             "coordinates modulo the input shape, and gathers from the flattened input.")
def flat_index_gather(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    out_shape = [m * d for m, d in zip(multiples, shape, strict=True)]
    flat = tf.reshape(x, [-1])
    if 0 in out_shape:
        return tf.reshape(tf.gather(flat, tf.zeros([0], tf.int32)), out_shape)
    grids = tf.meshgrid(*[tf.range(n) % d for n, d in zip(out_shape, shape, strict=True)], indexing="ij")
    index, stride = tf.zeros(out_shape, tf.int32), 1
    for grid, d in reversed(list(zip(grids, shape, strict=True))):
        index, stride = index + grid * stride, stride * d
    return tf.gather(flat, index)


@pitfall("tile_with_broadcast",
         "Reads a numpy input's buffer as if it were C-contiguous (as_strided with strides computed from "
         "the shape), so a transposed, sliced or broadcast numpy view is tiled from the wrong elements.")
def strides_from_shape_on_numpy_views(x, multiples):
    tensor, shape, multiples = _checked(x, multiples)
    src = x if isinstance(x, np.ndarray) else tensor.numpy()
    c_strides = [math.prod(shape[i + 1:]) * src.itemsize for i in range(len(shape))]
    view = np.lib.stride_tricks.as_strided(
        src, shape=[n for m, d in zip(multiples, shape, strict=True) for n in (m, d)],
        strides=[n for s in c_strides for n in (0, s)])
    tiled_shape = [m * d for m, d in zip(multiples, shape, strict=True)]
    return tf.constant(np.array(view).reshape(tiled_shape), dtype=tensor.dtype)


@pitfall("tile_with_broadcast",
         "Tiles each axis with np.resize, which fills the new shape by repeating the data: tiling under "
         "another name, which the static check forbids like np.tile.")
def tiles_with_numpy_resize(x, multiples):
    tensor, shape, multiples = _checked(x, multiples)
    a = tensor.numpy()
    for axis, m in enumerate(multiples):
        front = np.moveaxis(a, axis, 0)
        new_shape = (m * front.shape[0],) + front.shape[1:]
        front = np.resize(front, new_shape) if front.size else np.zeros(new_shape, front.dtype)
        a = np.moveaxis(front, 0, axis)
    return tf.constant(a, dtype=tensor.dtype)


@pitfall("tile_with_broadcast",
         "Writes m copies into a tf.TensorArray and calls its .stack(): a stack by another route, which "
         "the static check forbids like tf.stack.")
def stacks_copies_in_a_tensor_array(x, multiples):
    result, shape, multiples = _checked(x, multiples)
    for axis, m in enumerate(multiples):
        shape_now = result.shape.as_list()
        copies = tf.TensorArray(result.dtype, size=m, element_shape=shape_now)
        for i in range(m):
            copies = copies.write(i, result)
        stacked = copies.stack()
        perm = list(range(1, axis + 1)) + [0] + list(range(axis + 1, len(shape_now) + 1))
        shape_now[axis] *= m
        result = tf.reshape(tf.transpose(stacked, perm), shape_now)
    return result


@pitfall("tile_with_broadcast",
         "Multiplies by ones in float64 for every dtype that is not an integer or bool, to keep float "
         "precision; complex values lose their imaginary part in the cast (tf.tile takes any dtype).")
def float64_ones_for_non_integer_dtypes(x, multiples):
    x, shape, multiples = _checked(x, multiples)
    if x.dtype.is_integer or x.dtype == tf.bool:
        return _tile_each_axis(x, multiples)
    return tf.cast(_tile_each_axis(tf.cast(x, tf.float64), multiples), x.dtype)
