"""Known wrong answers for serving_preprocessing, and correct answers written differently."""

from __future__ import annotations

import statistics
import warnings
from collections import Counter

import numpy as np
import tensorflow as tf

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _fit_checks(numeric, categories):
    """The reference's checks (its result is not used), then the table and the strings."""
    ref.fit_preprocessing(numeric, categories)
    return np.array(numeric, dtype=np.float64), [str(c) for c in categories]


def _with_vocabulary(numeric, categories, order):
    """The reference's statistics with the vocabulary put in another order."""
    stats = ref.fit_preprocessing(numeric, categories)
    counts = Counter(c for c in (str(c) for c in categories) if c != "")
    return {**stats, "vocabulary": order(counts, [str(c) for c in categories])}


def _serving_module(stats, body):
    """A tf.Module whose serve runs body(module, numeric, category) with the right signature."""
    module = tf.Module()
    module.mean = tf.constant(np.asarray(stats["mean"]), tf.float32)
    module.scale = tf.constant(np.maximum(np.sqrt(np.asarray(stats["variance"])), 1e-7), tf.float32)
    vocabulary = list(stats["vocabulary"])
    module.table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(vocabulary), tf.range(2, len(vocabulary) + 2, dtype=tf.int64)),
        default_value=tf.constant(1, tf.int64))
    module.serve = tf.function(lambda numeric, category: body(module, numeric, category), input_signature=[
        tf.TensorSpec([None, len(stats["mean"])], tf.float32), tf.TensorSpec([None], tf.string)])
    return module


def _ids(module, category):
    return tf.where(tf.equal(category, ""), tf.constant(0, tf.int64), module.table.lookup(category))


# ---- fit_preprocessing -----------------------------------------------------------------------

@pitfall("fit_preprocessing",
         "Uses the sample variance (n - 1, pandas' default); Keras' Normalization uses the population variance "
         "(n), so the two paths disagree.")
def sample_variance(numeric, categories):
    table, _ = _fit_checks(numeric, categories)
    stats = ref.fit_preprocessing(numeric, categories)
    counts = (~np.isnan(table)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {**stats, "variance": np.where(counts > 1, np.nanvar(table, axis=0, ddof=1), 0.0)}


@pitfall("fit_preprocessing", "Takes np.mean and np.var over columns with missing values, so NaN gets into the "
                              "statistics.")
def nan_in_the_statistics(numeric, categories):
    table, _ = _fit_checks(numeric, categories)
    stats = ref.fit_preprocessing(numeric, categories)
    return {**stats, "mean": table.mean(axis=0), "variance": table.var(axis=0)}


@pitfall("fit_preprocessing", "Fills the missing values with 0 before computing the mean and variance, which "
                              "drags both toward 0.")
def missing_counted_as_zero(numeric, categories):
    table, _ = _fit_checks(numeric, categories)
    stats = ref.fit_preprocessing(numeric, categories)
    filled = np.nan_to_num(table, nan=0.0)
    return {**stats, "mean": filled.mean(axis=0), "variance": filled.var(axis=0)}


@pitfall("fit_preprocessing", "Orders the vocabulary by first appearance instead of by count.")
def vocabulary_in_order_of_appearance(numeric, categories):
    return _with_vocabulary(numeric, categories, lambda counts, words: list(counts))


@pitfall("fit_preprocessing",
         "Breaks ties in the vocabulary alphabetically (ascending); Keras breaks them in descending order.")
def ties_in_ascending_order(numeric, categories):
    return _with_vocabulary(numeric, categories, lambda counts, words: sorted(counts, key=lambda w: (-counts[w], w)))


@pitfall("fit_preprocessing", "Counts the empty string as a word, so the missing marker gets a vocabulary id.")
def missing_marker_in_the_vocabulary(numeric, categories):
    def order(counts, words):
        every = Counter(words)
        return sorted(every, key=lambda w: (every[w], w), reverse=True)
    return _with_vocabulary(numeric, categories, order)


@pitfall("fit_preprocessing", "Lower-cases and strips the strings when fitting, so 'A', ' a' and 'a' become one "
                              "word in training but not in serving.")
def normalises_the_strings(numeric, categories):
    cleaned = [str(c).strip().lower() for c in categories]
    return ref.fit_preprocessing(numeric, cleaned) if any(cleaned) else ref.fit_preprocessing(numeric, categories)


@pitfall("fit_preprocessing", "Computes the variance as E[x^2] - E[x]^2: for a constant column of inexact values "
                              "(0.1) it comes out slightly negative, and its square root is NaN.")
def variance_from_the_mean_of_squares(numeric, categories):
    table, _ = _fit_checks(numeric, categories)
    stats = ref.fit_preprocessing(numeric, categories)
    return {**stats, "variance": np.nanmean(table ** 2, axis=0) - np.nanmean(table, axis=0) ** 2}


# ---- preprocess -------------------------------------------------------------------------------

def _numpy_parts(stats, numeric, categories):
    out = ref.preprocess(stats, numeric, categories)  # the reference's checks and ids
    table = np.array(numeric, dtype=np.float64)
    return out, table, np.asarray(stats["mean"]), np.asarray(stats["variance"])


@pitfall("preprocess", "Fills a missing number with 0 before normalising instead of with the training mean, so it "
                       "comes out as -mean / std, not 0.")
def missing_filled_with_zero(stats, numeric, categories):
    out, table, mean, variance = _numpy_parts(stats, numeric, categories)
    filled = np.nan_to_num(table, nan=0.0)
    return {**out, "numeric": ((filled - mean) / np.maximum(np.sqrt(variance), 1e-7)).astype(np.float32)}


@pitfall("preprocess", "Adds the epsilon under the square root, batch-norm style: sqrt(variance + 1e-7) instead of "
                       "max(sqrt(variance), 1e-7), which differs for a constant training column.")
def epsilon_under_the_square_root(stats, numeric, categories):
    out, table, mean, variance = _numpy_parts(stats, numeric, categories)
    filled = np.where(np.isnan(table), mean, table)
    return {**out, "numeric": ((filled - mean) / np.sqrt(variance + 1e-7)).astype(np.float32)}


@pitfall("preprocess", "Adds the epsilon to the standard deviation, std + 1e-7, instead of taking "
                       "max(std, 1e-7): the same for a constant column, not for a std near 1e-7.")
def epsilon_added_to_the_std(stats, numeric, categories):
    out, table, mean, variance = _numpy_parts(stats, numeric, categories)
    filled = np.where(np.isnan(table), mean, table)
    return {**out, "numeric": ((filled - mean) / (np.sqrt(variance) + 1e-7)).astype(np.float32)}


@pitfall("preprocess", "Treats a blank string (' ') as missing, id 0, like ''; only the empty string is missing, "
                       "a blank one is just not in the vocabulary (id 1).")
def blank_strings_are_missing(stats, numeric, categories):
    out = ref.preprocess(stats, numeric, categories)
    blank = np.array([str(c) != "" and not str(c).strip() for c in categories], dtype=bool)
    return {**out, "category": np.where(blank, 0, out["category"]).astype(np.int64)}


@pitfall("preprocess", "Flattens the strings (np.ravel) instead of rejecting a 2-D categories argument.")
def flattens_the_strings(stats, numeric, categories):
    return ref.preprocess(stats, numeric, np.asarray(categories, dtype=object).ravel())


@pitfall("preprocess", "Divides by the variance instead of the standard deviation.")
def divides_by_the_variance(stats, numeric, categories):
    out, table, mean, variance = _numpy_parts(stats, numeric, categories)
    filled = np.where(np.isnan(table), mean, table)
    return {**out, "numeric": ((filled - mean) / np.maximum(variance, 1e-7)).astype(np.float32)}


@pitfall("preprocess", "Numbers the vocabulary from 1 and sends both missing and unseen strings to 0, forgetting "
                       "that StringLookup(mask_token='') keeps 0 for missing and 1 for out-of-vocabulary.")
def ids_from_one(stats, numeric, categories):
    out, _, _, _ = _numpy_parts(stats, numeric, categories)
    ids = {word: i + 1 for i, word in enumerate(stats["vocabulary"])}
    return {**out, "category": np.array([ids.get(str(c), 0) for c in categories], dtype=np.int64)}


@pitfall("preprocess", "Normalises the batch with its own mean and standard deviation instead of the training "
                       "statistics.")
def batch_statistics(stats, numeric, categories):
    out, table, _, _ = _numpy_parts(stats, numeric, categories)
    if len(table) == 0:
        return out
    with warnings.catch_warnings():  # an all-missing column of the batch has no mean
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, variance = np.nanmean(table, axis=0), np.nanvar(table, axis=0)
        mean, variance = np.nan_to_num(mean), np.nan_to_num(variance)
        filled = np.where(np.isnan(table), mean, table)
        return {**out, "numeric": ((filled - mean) / np.maximum(np.sqrt(variance), 1e-7)).astype(np.float32)}


# ---- export_preprocessing ---------------------------------------------------------------------

@pitfall("export_preprocessing", "The serving graph normalises each request with the batch's own mean and variance "
                                 "(tf.nn.moments), not the frozen training statistics: training/serving skew.")
def serving_uses_batch_statistics(stats):
    def body(module, numeric, category):
        filled = tf.where(tf.math.is_nan(numeric), module.mean, numeric)
        mean, variance = tf.nn.moments(filled, axes=[0])
        return {"numeric": (filled - mean) / tf.maximum(tf.sqrt(variance), 1e-7), "category": _ids(module, category)}
    return _serving_module(stats, body)


@pitfall("export_preprocessing", "The serving graph fills missing numbers with 0 while training fills them with the "
                                 "mean: training/serving skew.")
def serving_fills_missing_with_zero(stats):
    def body(module, numeric, category):
        filled = tf.where(tf.math.is_nan(numeric), tf.zeros_like(numeric), numeric)
        return {"numeric": (filled - module.mean) / module.scale, "category": _ids(module, category)}
    return _serving_module(stats, body)


@pitfall("export_preprocessing", "Uses StringLookup(vocabulary=...) without mask_token='', so '' is just another "
                                 "unseen string and every known id is one lower than in training.")
def serving_lookup_without_mask(stats):
    lookup = tf.keras.layers.StringLookup(vocabulary=list(stats["vocabulary"]))

    def body(module, numeric, category):
        filled = tf.where(tf.math.is_nan(numeric), module.mean, numeric)
        return {"numeric": (filled - module.mean) / module.scale, "category": lookup(category)}
    module = _serving_module(stats, body)
    module.lookup = lookup
    return module


@pitfall("export_preprocessing", "Wraps the numpy path in tf.numpy_function: it runs in this Python process, but the "
                                 "exported graph calls back into Python, which a served model does not have.")
def serving_calls_back_into_python(stats):
    frozen = {key: (np.array(value) if key != "vocabulary" else list(value)) for key, value in stats.items()}

    def run(numeric, category):
        out = ref.preprocess(frozen, numeric, [c.decode("utf-8") for c in category])
        return out["numeric"], out["category"]

    def body(module, numeric, category):
        values, ids = tf.numpy_function(run, [numeric, category], [tf.float32, tf.int64])
        return {"numeric": tf.reshape(values, tf.shape(numeric)), "category": tf.reshape(ids, tf.shape(category))}
    return _serving_module(stats, body)


@pitfall("export_preprocessing", "Casts the caller's statistics to float32 in place (stats['mean'] = ...) before "
                                 "freezing them, so the dict it was given is modified.")
def casts_the_statistics_in_place(stats):
    stats["mean"] = np.asarray(stats["mean"], dtype=np.float32)
    stats["variance"] = np.asarray(stats["variance"], dtype=np.float32)
    return ref.export_preprocessing(stats)


# ---- correct answers written differently: the tests must accept every one of them -------------

@alternative("fit_preprocessing", "Plain Python: statistics.fmean and pvariance per column, Counter.most_common "
                                  "re-sorted for the ties.")
def python_statistics(numeric, categories):
    table, words = _fit_checks(numeric, categories)
    columns = [[v for v in table[:, j].tolist() if v == v] for j in range(table.shape[1])]
    counts = Counter(w for w in words if w)
    ranked = sorted(counts.most_common(), key=lambda item: (item[1], item[0]), reverse=True)
    return {"mean": np.array([statistics.fmean(c) for c in columns]),
            "variance": np.array([statistics.pvariance(c) for c in columns], dtype=np.float64),
            "vocabulary": [word for word, _ in ranked]}


@alternative("preprocess", "Looks the strings up with np.searchsorted in a sorted copy of the vocabulary, and "
                           "normalises in float32 throughout.")
def searchsorted_lookup_in_float32(stats, numeric, categories):
    ref.preprocess(stats, numeric, categories)  # the reference's checks
    vocabulary = np.array(stats["vocabulary"], dtype=object)
    order = np.argsort(vocabulary.astype(str))
    keys = vocabulary.astype(str)[order]
    words = np.array([str(c) for c in categories], dtype=str).reshape(-1)
    at = np.clip(np.searchsorted(keys, words), 0, len(keys) - 1) if len(keys) else np.zeros(len(words), int)
    found = keys[at] == words if len(words) else np.zeros(0, bool)
    ids = np.where(words == "", 0, np.where(found, order[at] + 2, 1)).astype(np.int64)
    mean = np.asarray(stats["mean"]).astype(np.float32)
    scale = np.maximum(np.sqrt(np.asarray(stats["variance"]).astype(np.float32)), np.float32(1e-7))
    table = np.array(numeric, dtype=np.float32).reshape(len(words), len(mean))
    table = np.where(np.isnan(table), mean, table)
    return {"numeric": (table - mean) / scale, "category": ids}


@alternative("export_preprocessing", "Keras layers: Normalization(mean, variance) built in __init__ and "
                                     "StringLookup(vocabulary, mask_token=''), inside a Keras layer of its own.")
def keras_layers(stats):
    mean, variance = np.asarray(stats["mean"]), np.asarray(stats["variance"])
    d = len(mean)

    class Preprocessor(tf.keras.layers.Layer):  # not a tf.Module in Keras 3, but savable all the same
        def __init__(self):
            super().__init__()
            self.mean = tf.constant(mean, tf.float32)
            self.normalize = tf.keras.layers.Normalization(mean=mean, variance=variance)
            self.normalize.build((None, d))
            self.lookup = tf.keras.layers.StringLookup(vocabulary=list(stats["vocabulary"]), mask_token="")

        @tf.function(input_signature=[tf.TensorSpec([None, d], tf.float32), tf.TensorSpec([None], tf.string)])
        def serve(self, numeric, category):
            filled = tf.where(tf.math.is_nan(numeric), self.mean, numeric)
            return {"numeric": self.normalize(filled), "category": self.lookup(category)}

    return Preprocessor()


@alternative("export_preprocessing", "No lookup table: compares each string with the whole vocabulary and takes "
                                     "the position of the match.")
def match_against_the_vocabulary(stats):
    vocabulary = tf.constant(list(stats["vocabulary"]), tf.string)
    mean = tf.constant(np.asarray(stats["mean"]), tf.float32)
    scale = tf.constant(np.maximum(np.sqrt(np.asarray(stats["variance"])), 1e-7), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, len(stats["mean"])], tf.float32),
                                  tf.TensorSpec([None], tf.string)])
    def serve(numeric, category):
        matches = tf.equal(category[:, None], vocabulary[None, :])
        position = tf.argmax(tf.cast(matches, tf.int64), axis=1, output_type=tf.int64)
        ids = tf.where(tf.reduce_any(matches, axis=1), position + 2, tf.constant(1, tf.int64))
        ids = tf.where(tf.equal(category, ""), tf.constant(0, tf.int64), ids)
        numbers = tf.where(tf.math.is_nan(numeric), mean, numeric)
        return {"numeric": (numbers - mean) / scale, "category": ids}

    module = tf.Module()
    module.serve = serve
    return module
