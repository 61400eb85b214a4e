"""A tf.data input pipeline for batch inference.

Training pipelines shuffle, repeat and drop the ragged last batch, and nobody minds: the
next epoch brings every example back. An inference pipeline has a different contract. Every
input must come out exactly once, in the order it went in (the i-th prediction belongs to
the i-th request or file row), including the few examples of the last, partial batch. The
batch dimension is therefore not a constant: all batches but the last have ``batch_size``
examples, the last may have fewer, and the dataset's ``element_spec`` says so with a batch
dimension of ``None``. A model exported with a ``None`` batch dimension accepts all of them.

For speed, the pipeline still overlaps work: ``prefetch(tf.data.AUTOTUNE)`` at the end lets
tf.data prepare the next batches while the model runs on the current one, and a parallel
``map`` may preprocess several examples at once, as long as it keeps their order (tf.data's
default; ``deterministic=False`` would trade the order for speed, which inference cannot).

In this kata you build that pipeline twice: from an in-memory numpy array and from a Python
generator (rows read lazily from a file or a socket, say). The preprocessing is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import tensorflow as tf

MIN_SPREAD = 1e-3


def preprocess(example):
    """Standardise ONE example by its own mean and spread (given; do not change it).

    `example` is a 1-D tensor of features of any real dtype. It is cast to float32, its own
    mean is subtracted, and it is divided by its own population standard deviation, or by
    MIN_SPREAD when that is smaller (a constant example becomes all zeros). This works on a
    single example only: on a batch, the mean and spread would be taken over the whole batch.
    """
    x = tf.cast(example, tf.float32)
    mean = tf.reduce_mean(x)
    spread = tf.math.reduce_std(x)
    return (x - mean) / tf.maximum(spread, MIN_SPREAD)


def dataset_from_array(features: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """An inference dataset over the rows of a 2-D array, preprocessed and batched in order.

    Build a ``tf.data.Dataset`` whose elements are batches of preprocessed rows:

    1. one element per row of `features` (``tf.data.Dataset.from_tensor_slices``),
    2. each row passed through ``preprocess`` (the given function, which works on ONE row),
    3. consecutive rows grouped into batches of `batch_size`; the last batch holds the rows
       that are left over (fewer than `batch_size`, never zero) and is NOT dropped,
    4. and, as the last step, ``prefetch(tf.data.AUTOTUNE)``, so that batches are prepared
       while the model works.

    Rows come out in their original order, each exactly once, and the dataset can be iterated
    any number of times with the same result. Nothing is shuffled or repeated. If you map
    with ``num_parallel_calls``, keep the order (do not pass ``deterministic=False`` or set
    that option).

    Args:
        features: a numpy array of shape ``(n, num_features)`` with ``n >= 0`` and
            ``num_features >= 1``, of any real dtype (float32, float64, int32, uint8, ...).
            It is not modified.
        batch_size: an int >= 1.

    Returns:
        A ``tf.data.Dataset`` whose ``element_spec`` is
        ``tf.TensorSpec(shape=(None, num_features), dtype=tf.float32)``: the batch dimension
        is unknown (None) because the last batch may be smaller. Iterating it gives
        ``ceil(n / batch_size)`` float32 tensors; batch i holds
        ``preprocess(features[j])`` for j in ``range(i * batch_size, min((i + 1) * batch_size, n))``.
        For n = 0 it yields nothing, with the same ``element_spec``.

    Raises:
        ValueError: if `features` is not 2-D, if it has no columns, or if `batch_size` is not
            an int >= 1.

    Example:
        >>> features = np.array([[1, 2, 3], [4, 4, 4], [0, 10, 20], [5, 6, 7], [9, 8, 7]])
        >>> ds = dataset_from_array(features, batch_size=2)
        >>> ds.element_spec
        TensorSpec(shape=(None, 3), dtype=tf.float32, name=None)
        >>> [batch.shape for batch in ds.as_numpy_iterator()]
        [(2, 3), (2, 3), (1, 3)]
        >>> next(ds.as_numpy_iterator())
        array([[-1.2247448,  0.       ,  1.2247448],
               [ 0.       ,  0.       ,  0.       ]], dtype=float32)
    """
    raise NotImplementedError


def dataset_from_generator(make_rows: Callable[[], Iterator], num_features: int,
                           batch_size: int) -> tf.data.Dataset:
    """The same pipeline as dataset_from_array, reading rows lazily from a Python generator.

    `make_rows` is a function with no arguments that returns a NEW iterator over the rows
    each time it is called (a generator function, for example). Build the dataset with
    ``tf.data.Dataset.from_generator``, giving it an ``output_signature`` that states the
    shape and dtype of one row, then preprocess, batch and prefetch exactly as
    dataset_from_array does.

    Rows are read lazily: building the dataset reads no row, iterating it does. And the
    dataset must be re-iterable: a second pass yields the same batches again.
    ``from_generator`` calls `make_rows` afresh for every pass; a dataset built on one
    generator object, already used up by the first pass, yields nothing the second time.

    Args:
        make_rows: a callable with no arguments returning an iterator of rows; each row is a
            1-D numpy array of `num_features` real numbers (any real dtype). It may yield no
            rows at all.
        num_features: the length of each row, an int >= 1.
        batch_size: an int >= 1.

    Returns:
        A ``tf.data.Dataset`` with ``element_spec``
        ``tf.TensorSpec(shape=(None, num_features), dtype=tf.float32)``, yielding the
        preprocessed rows in the generator's order, in batches of `batch_size`, the last one
        possibly smaller and not dropped.

    Raises:
        ValueError: if `num_features` or `batch_size` is not an int >= 1.

    Example:
        >>> def make_rows():
        ...     for i in range(5):
        ...         yield np.array([i, i + 1.0, i + 2.0])
        >>> ds = dataset_from_generator(make_rows, num_features=3, batch_size=2)
        >>> ds.element_spec
        TensorSpec(shape=(None, 3), dtype=tf.float32, name=None)
        >>> [batch.shape for batch in ds.as_numpy_iterator()]
        [(2, 3), (2, 3), (1, 3)]
        >>> len(list(ds)) == len(list(ds)) == 3  # a second pass gives the same batches
        True
    """
    raise NotImplementedError
