"""Preprocessing fitted on training data, applied the same way at training time and in serving.

Raw features rarely go into a model as they are: numbers are normalised to mean 0 and
variance 1, and strings are turned into integer ids. Both steps have STATE that is learned
from data, the mean and variance of each numeric column and the vocabulary of the string
column, and two rules keep a deployed model honest:

- Fit that state on the TRAINING data only, once. At inference the state is frozen: a
  request is never normalised with its own batch's mean, and an unseen string does not
  grow the vocabulary.
- Apply exactly the same transformation in training and in serving. Training pipelines
  are often numpy or pandas code, while the serving side needs a TensorFlow graph that
  can be exported; when the two differ in any detail (a variance with n - 1, a missing
  value filled with 0 in one and the mean in the other, ids shifted by one), the model
  meets inputs in production unlike any it was trained on. That is training/serving skew.

This kata has one numeric table (NaN marks a missing value) and one categorical column
(the empty string "" marks a missing value). You fit the statistics, write the numpy path
used at training time, and export the same preprocessing as a TensorFlow module that can
be saved as a SavedModel and served. The tests check both paths against Keras' own
``Normalization`` and ``StringLookup`` layers, and against each other.
"""

from __future__ import annotations

from collections import Counter

import numpy as np  # noqa: F401 (for your solution)
import tensorflow as tf  # noqa: F401 (for your solution)

EPSILON = 1e-7  # Keras' epsilon: the smallest standard deviation divided by


def _table(numeric, columns=None) -> np.ndarray:
    """numeric as a new 2-D float64 array, checked (and with `columns` columns when given)."""
    table = np.array(numeric, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"numeric must be 2-D, got shape {table.shape}")
    if columns is not None and table.shape[1] != columns:
        raise ValueError(f"numeric must have {columns} columns, got {table.shape[1]}")
    if np.isinf(table).any():
        raise ValueError("numeric must not hold infinite values (NaN marks a missing value)")
    return table


def _strings(categories, rows: int) -> list:
    """categories as a list of str, checked to be 1-D with `rows` entries."""
    shape = np.shape(categories)
    if len(shape) != 1 or shape[0] != rows:
        raise ValueError(f"categories must be 1-D with {rows} entries, got shape {shape}")
    return [str(c) for c in categories]


class _ServingPreprocessor(tf.Module):
    """The fitted statistics as constants, and a lookup table, behind one tf.function."""

    def __init__(self, stats: dict):
        super().__init__(name="serving_preprocessor")
        mean = np.asarray(stats["mean"], dtype=np.float64)
        scale = np.maximum(np.sqrt(np.asarray(stats["variance"], dtype=np.float64)), EPSILON)
        vocabulary = [str(word) for word in stats["vocabulary"]]
        self.mean = tf.constant(mean, dtype=tf.float32)
        self.scale = tf.constant(scale, dtype=tf.float32)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(vocabulary, dtype=tf.string, shape=[len(vocabulary)]),
                                                tf.range(2, len(vocabulary) + 2, dtype=tf.int64)),
            default_value=tf.constant(1, dtype=tf.int64))
        self.serve = tf.function(self._serve, input_signature=[
            tf.TensorSpec([None, len(mean)], tf.float32, name="numeric"),
            tf.TensorSpec([None], tf.string, name="category")])

    def _serve(self, numeric, category):
        filled = tf.where(tf.math.is_nan(numeric), self.mean, numeric)
        ids = tf.where(tf.equal(category, ""), tf.constant(0, dtype=tf.int64), self.table.lookup(category))
        return {"numeric": (filled - self.mean) / self.scale, "category": ids}


def fit_preprocessing(numeric, categories) -> dict:
    """Learn the normalisation statistics and the vocabulary from the training data.

    - mean[j] and variance[j] are the mean and the POPULATION variance (divide by the
      count, not count - 1, as Keras' ``Normalization.adapt`` does) of column j of
      `numeric`, over its non-missing values only (NaN is missing).
    - The vocabulary holds every distinct non-empty string of `categories` (the empty
      string "" is missing, never a word), the most frequent first. Strings that occur
      equally often are ordered by the string itself, in DESCENDING order (so "b" comes
      before "a"), which is what Keras' ``StringLookup.adapt`` does. Strings are taken as
      they are: "A", "a" and " a" are three different words.

    Args:
        numeric: the training table, a 2-D array-like of shape (n, d) with n >= 1 and
            d >= 1, read as float64; NaN marks a missing value. It must not be modified.
        categories: the training strings, a 1-D list or array of n Python strings; ""
            marks a missing value. It must not be modified.

    Returns:
        A dict with exactly three keys: "mean" and "variance", float64 numpy arrays of
        shape (d,), and "vocabulary", a non-empty list of str.

    Raises:
        ValueError: if numeric is not 2-D or has no rows or no columns, if categories is
            not 1-D or its length differs from n, if numeric holds an infinite value, if
            a column of numeric has no non-missing value, or if every string is missing
            (an empty vocabulary cannot be looked up in).

    Example:
        >>> stats = fit_preprocessing([[1.0, 10.0], [3.0, float("nan")], [5.0, 20.0]],
        ...                           ["b", "a", "b"])
        >>> stats["mean"], stats["variance"], stats["vocabulary"]
        (array([ 3., 15.]), array([ 2.66666667, 25.        ]), ['b', 'a'])
    """
    table = _table(numeric)
    rows, columns = table.shape
    if rows == 0 or columns == 0:
        raise ValueError(f"numeric needs at least one row and one column, got shape {table.shape}")
    strings = _strings(categories, rows)
    if not (~np.isnan(table)).any(axis=0).all():
        raise ValueError("every numeric column needs at least one value that is not missing")
    counts = Counter(word for word in strings if word != "")
    if not counts:
        raise ValueError("categories has no string that is not missing: the vocabulary would be empty")
    vocabulary = sorted(counts, key=lambda word: (counts[word], word), reverse=True)
    return {"mean": np.nanmean(table, axis=0), "variance": np.nanvar(table, axis=0), "vocabulary": vocabulary}


def preprocess(stats: dict, numeric, categories) -> dict:
    """The training-time path, in numpy: apply fitted statistics to a batch of examples.

    Numeric column j: a missing value (NaN) is first replaced by mean[j]; then every value
    becomes ``(x - mean[j]) / max(sqrt(variance[j]), 1e-7)``. (The 1e-7 floor is Keras'
    epsilon: a column that was constant in training does not divide by zero.) So a
    missing value always comes out as exactly 0.0.

    Categorical column: each string becomes an integer id, exactly as Keras'
    ``StringLookup(vocabulary=stats["vocabulary"], mask_token="")`` numbers them:

        0            the empty string "" (missing)
        1            a string that is not in the vocabulary (out of vocabulary)
        2 + i        the string stats["vocabulary"][i]

    Every row is transformed on its own: the result for one example never depends on the
    other examples in the batch.

    Args:
        stats: a dict from fit_preprocessing. It must not be modified.
        numeric: the batch's table, a 2-D array-like of shape (m, d) with the same d as in
            training (m may be 0), read as float64; NaN marks a missing value. It must not
            be modified.
        categories: the batch's strings, a 1-D list or array of m Python strings. It must
            not be modified.

    Returns:
        A dict with exactly two keys: "numeric", a float32 numpy array of shape (m, d), and
        "category", an int64 numpy array of shape (m,).

    Raises:
        ValueError: if numeric is not 2-D with d columns, if categories is not 1-D with m
            entries, or if numeric holds an infinite value.

    Example:
        >>> stats = {"mean": np.array([3.0]), "variance": np.array([4.0]), "vocabulary": ["b", "a"]}
        >>> out = preprocess(stats, [[5.0], [float("nan")], [2.0]], ["a", "", "zebra"])
        >>> out["numeric"]
        array([[ 1. ],
               [ 0. ],
               [-0.5]], dtype=float32)
        >>> out["category"]
        array([3, 0, 1])
    """
    mean = np.asarray(stats["mean"], dtype=np.float64)
    table = _table(numeric, columns=len(mean))
    strings = _strings(categories, table.shape[0])
    filled = np.where(np.isnan(table), mean, table)
    scale = np.maximum(np.sqrt(np.asarray(stats["variance"], dtype=np.float64)), EPSILON)
    ids = {word: i + 2 for i, word in enumerate(stats["vocabulary"])}
    category = np.array([0 if word == "" else ids.get(word, 1) for word in strings], dtype=np.int64)
    return {"numeric": ((filled - mean) / scale).astype(np.float32), "category": category}


def export_preprocessing(stats: dict) -> tf.Module:
    """The serving path: the same preprocessing as a TensorFlow module that can be exported.

    Return an object that ``tf.saved_model.save`` can export (a ``tf.Module``, or a Keras
    layer or model) with a method ``serve`` decorated with

        @tf.function(input_signature=[tf.TensorSpec([None, d], tf.float32),
                                      tf.TensorSpec([None], tf.string)])
        def serve(self, numeric, category): ...

    that returns ``{"numeric": <float32 tensor (m, d)>, "category": <int64 tensor (m,)>}``
    with the values preprocess(stats, numeric, category) gives (float32 rounding aside),
    for any batch size m, 0 included. The statistics are frozen into the module: nothing is
    computed from the batch it is called with.

    The module must work after ``tf.saved_model.save(module, path, signatures={
    "serving_default": module.serve})`` and ``tf.saved_model.load(path)``, both through the
    loaded ``serve`` and through the loaded ``signatures["serving_default"](numeric=...,
    category=...)``. That means TensorFlow operations only: no ``tf.py_function`` or
    ``tf.numpy_function`` (a served model has no Python to call back). Keras'
    ``Normalization`` and ``StringLookup`` layers may be used, given the fitted values
    (not adapted again); build them before ``serve`` is traced, for example by calling
    ``layer.build((None, d))`` in ``__init__``, or saving fails.

    Args:
        stats: a dict from fit_preprocessing. It must not be modified.

    Returns:
        The module (the object with the ``serve`` method).

    Example:
        >>> stats = {"mean": np.array([3.0]), "variance": np.array([4.0]), "vocabulary": ["b", "a"]}
        >>> module = export_preprocessing(stats)
        >>> out = module.serve(tf.constant([[5.0], [float("nan")]]), tf.constant(["a", "zebra"]))
        >>> out["numeric"].numpy().tolist(), out["category"].numpy().tolist()
        ([[1.0], [0.0]], [3, 1])
    """
    return _ServingPreprocessor(stats)
