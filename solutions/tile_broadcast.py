"""Rebuild tf.tile from broadcasting.

Broadcasting and tiling both make a tensor look bigger, but they are different things.
Broadcasting makes shapes compatible without copying any data: axes of size 1 are
stretched on the fly, so adding a tensor of shape (5, 1) to one of shape (1, 6) gives a
(5, 6) result, yet neither input was ever copied out to (5, 6). Tiling really copies the
data: ``tf.tile(x, [2, 3])`` lays out 2 copies of x along axis 0 and 3 copies along
axis 1, one after another, and stores every element of the bigger tensor.

In this kata you build tiling out of broadcasting (plus reshapes), without calling the
tiling, repeating or joining functions themselves.
"""

from __future__ import annotations

import math

import tensorflow as tf


def tile_with_broadcast(x, multiples) -> tf.Tensor:
    """Return exactly what ``tf.tile(x, multiples)`` returns, without calling tf.tile.

    Along each axis i, the result holds ``multiples[i]`` whole copies of x placed one after
    another, so the result has shape ``[multiples[i] * x.shape[i] for each axis i]`` and
    ``result[j0, j1, ...] == x[j0 % d0, j1 % d1, ...]`` where ``d0, d1, ...`` is x's shape.
    A multiple of 1 leaves its axis as it is; a multiple of 0 makes that axis empty
    (size 0). Note the order: tiling [1, 2] twice gives [1, 2, 1, 2] (whole copies), not
    [1, 1, 2, 2] (each element repeated, which is what tf.repeat does).

    You may not call tile, repeat, concat or stack, whether from TensorFlow or from numpy
    (a static check rejects them, as it does np.concatenate, np.hstack, np.kron, np.resize,
    np.pad, tf.TensorArray and the like). Reshaping and broadcasting (tf.reshape,
    tf.broadcast_to) are allowed. Keep in mind that TensorFlow broadcasts over at most 5
    axes at a time (it first merges neighbouring axes that stretch alike; tf.broadcast_to
    and arithmetic alike raise an error when more than 5 remain, so a trick that works on a
    small example may fail on a bigger one), and x may have any rank from 1 up.

    Args:
        x: a tf.Tensor of rank at least 1, or anything ``tf.convert_to_tensor`` accepts
            (a numpy array, a nested Python list); it is converted with
            ``tf.convert_to_tensor`` first, so a Python list of ints becomes int32, just
            as tf.tile would treat it. Any dtype: float, integer and bool all occur. x must
            not be modified.
        multiples: a list or tuple of Python ints, one per axis of x, each 0 or more.

    Returns:
        A tf.Tensor with the same dtype as x (no conversion to float: int32 stays int32,
        bool stays bool) and the values and shape ``tf.tile(x, multiples)`` would give.

    Raises:
        ValueError: if x has rank 0 (a scalar), if ``len(multiples)`` differs from the rank
            of x, or if any multiple is negative.

    Example:
        >>> x = tf.constant([[1, 2], [3, 4]])
        >>> tile_with_broadcast(x, [2, 3])
        <tf.Tensor: shape=(4, 6), dtype=int32, numpy=
        array([[1, 2, 1, 2, 1, 2],
               [3, 4, 3, 4, 3, 4],
               [1, 2, 1, 2, 1, 2],
               [3, 4, 3, 4, 3, 4]], dtype=int32)>
        >>> tile_with_broadcast(tf.constant([1, 2, 3]), [2]).numpy()
        array([1, 2, 3, 1, 2, 3], dtype=int32)
        >>> tile_with_broadcast(tf.constant([1.5, 2.5]), [0]).shape
        TensorShape([0])
    """
    x = tf.convert_to_tensor(x)
    shape = x.shape.as_list()  # eager tensors always have a fully known shape
    multiples = list(multiples)
    if len(shape) == 0:
        raise ValueError("x must have rank 1 or more; a scalar cannot be tiled")
    if len(multiples) != len(shape):
        raise ValueError(f"multiples has {len(multiples)} entries but x has rank {len(shape)}")
    if any(m < 0 for m in multiples):
        raise ValueError(f"multiples must be 0 or more, got {multiples}")

    # One axis at a time. For axis i of size d with multiple m, view the tensor as
    # (before, 1, d, after), where before and after are the products of the sizes of the
    # axes before and after axis i, broadcast the size-1 axis to m, and merge (m, d) back
    # into one axis of size m * d. Reading (m, d) in row-major order walks through m whole copies of
    # the d values, which is tiling. The size-1 axis must come BEFORE d: after it,
    # (d, m) would repeat every element in place, which is tf.repeat.
    # Doing all axes in a single broadcast to (m0, d0, m1, d1, ...) would be shorter, but
    # TensorFlow's broadcast_to supports at most 5 axes, so that fails from rank 3 on.
    result = x
    for axis, m in enumerate(multiples):
        shape_now = result.shape.as_list()
        before, d, after = math.prod(shape_now[:axis]), shape_now[axis], math.prod(shape_now[axis + 1:])
        stretched = tf.broadcast_to(tf.reshape(result, [before, 1, d, after]), [before, m, d, after])
        result = tf.reshape(stretched, shape_now[:axis] + [m * d] + shape_now[axis + 1:])
    return result
