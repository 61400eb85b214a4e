"""Known wrong answers for inference_dataset, and correct answers written differently."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)
preprocess = ref.preprocess
AUTOTUNE = tf.data.AUTOTUNE


def _checked_array(features, batch_size):
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] < 1:
        raise ValueError(f"features must be 2-D with at least one column, got shape {features.shape}")
    return features, ref._check_batch_size(batch_size)


def _checked_generator(num_features, batch_size):
    if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
        raise ValueError(f"num_features must be an int >= 1, got {num_features!r}")
    return num_features, ref._check_batch_size(batch_size)


# ---- wrong answers ----------------------------------------------------------------------------

@pitfall("dataset_from_array",
         "Batches with drop_remainder=True, as training pipelines do: the last, partial batch is thrown away "
         "and element_spec gets a fixed batch dimension.")
def drops_the_last_batch(features, batch_size):
    features, batch_size = _checked_array(features, batch_size)
    return (tf.data.Dataset.from_tensor_slices(features)
            .map(preprocess, num_parallel_calls=AUTOTUNE)
            .batch(batch_size, drop_remainder=True)
            .prefetch(AUTOTUNE))


@pitfall("dataset_from_array",
         "Shuffles, copied from a training pipeline: predictions no longer line up with their inputs.")
def shuffles_like_training(features, batch_size):
    features, batch_size = _checked_array(features, batch_size)
    return (tf.data.Dataset.from_tensor_slices(features)
            .shuffle(buffer_size=1024)
            .map(preprocess, num_parallel_calls=AUTOTUNE)
            .batch(batch_size)
            .prefetch(AUTOTUNE))


@pitfall("dataset_from_array",
         "Maps the per-example preprocess after batching: the mean and spread are taken over the whole batch.")
def preprocesses_whole_batches(features, batch_size):
    features, batch_size = _checked_array(features, batch_size)
    return (tf.data.Dataset.from_tensor_slices(features)
            .batch(batch_size)
            .map(preprocess, num_parallel_calls=AUTOTUNE)
            .prefetch(AUTOTUNE))


@pitfall("dataset_from_array",
         "Prefetches before batching: tf.data then prepares single rows ahead, not whole batches.")
def prefetches_before_batching(features, batch_size):
    features, batch_size = _checked_array(features, batch_size)
    return (tf.data.Dataset.from_tensor_slices(features)
            .map(preprocess, num_parallel_calls=AUTOTUNE)
            .prefetch(AUTOTUNE)
            .batch(batch_size))


@pitfall("dataset_from_array", "Leaves out prefetch, so the model waits while each batch is prepared.")
def no_prefetch(features, batch_size):
    features, batch_size = _checked_array(features, batch_size)
    return (tf.data.Dataset.from_tensor_slices(features)
            .map(preprocess, num_parallel_calls=AUTOTUNE)
            .batch(batch_size))


@pitfall("dataset_from_array",
         "Maps with deterministic=False for speed, which lets rows come out in any order.")
def maps_out_of_order(features, batch_size):
    features, batch_size = _checked_array(features, batch_size)
    return (tf.data.Dataset.from_tensor_slices(features)
            .map(preprocess, num_parallel_calls=AUTOTUNE, deterministic=False)
            .batch(batch_size)
            .prefetch(AUTOTUNE))


@pitfall("dataset_from_array",
         "Checks only that batch_size is a whole number >= 1, so a float such as 2.0 is accepted (and cast) "
         "instead of raising ValueError.")
def accepts_a_whole_float_batch_size(features, batch_size):
    if isinstance(batch_size, float) and batch_size.is_integer() and batch_size >= 1:
        batch_size = int(batch_size)
    return ref.dataset_from_array(features, batch_size)


@pitfall("dataset_from_array",
         "Ends with .repeat(), copied from a training pipeline: the dataset never ends.")
def repeats_forever(features, batch_size):
    features, batch_size = _checked_array(features, batch_size)
    return (tf.data.Dataset.from_tensor_slices(features)
            .map(preprocess, num_parallel_calls=AUTOTUNE)
            .batch(batch_size)
            .repeat()
            .prefetch(AUTOTUNE))


@pitfall("dataset_from_generator",
         "Calls make_rows once and hands from_generator that one generator: the first pass uses it up and "
         "every later pass is empty.")
def one_shot_generator(make_rows, num_features, batch_size):
    num_features, batch_size = _checked_generator(num_features, batch_size)
    rows = make_rows()
    return (tf.data.Dataset.from_generator(
        lambda: rows, output_signature=tf.TensorSpec(shape=(num_features,), dtype=tf.float32))
        .map(preprocess, num_parallel_calls=AUTOTUNE)
        .batch(batch_size)
        .prefetch(AUTOTUNE))


@pitfall("dataset_from_generator",
         "Declares the rows as TensorSpec(shape=(None,)): the row length is lost, so element_spec is "
         "(None, None) and a model with a fixed input width cannot be traced on it.")
def unknown_row_length(make_rows, num_features, batch_size):
    num_features, batch_size = _checked_generator(num_features, batch_size)
    return (tf.data.Dataset.from_generator(
        make_rows, output_signature=tf.TensorSpec(shape=(None,), dtype=tf.float32))
        .map(preprocess, num_parallel_calls=AUTOTUNE)
        .batch(batch_size)
        .prefetch(AUTOTUNE))


@pitfall("dataset_from_generator",
         "Batches the generator's rows with drop_remainder=True: the last rows are lost.")
def generator_drops_the_last_batch(make_rows, num_features, batch_size):
    num_features, batch_size = _checked_generator(num_features, batch_size)
    return (tf.data.Dataset.from_generator(
        make_rows, output_signature=tf.TensorSpec(shape=(num_features,), dtype=tf.float32))
        .map(preprocess)
        .batch(batch_size, drop_remainder=True)
        .prefetch(AUTOTUNE))


@pitfall("dataset_from_generator",
         "Reads every row into memory first (from_tensor_slices on list(make_rows())): not lazy, and an "
         "empty generator loses the row shape.")
def reads_everything_up_front(make_rows, num_features, batch_size):
    num_features, batch_size = _checked_generator(num_features, batch_size)
    rows = np.array(list(make_rows()), dtype=np.float32)
    return (tf.data.Dataset.from_tensor_slices(rows)
            .map(preprocess, num_parallel_calls=AUTOTUNE)
            .batch(batch_size)
            .prefetch(AUTOTUNE))


# ---- correct answers written differently: the tests must accept every one of them -----------

def _standardise_batch(batch):
    """preprocess, vectorised over a batch: statistics along the feature axis, row by row."""
    x = tf.cast(batch, tf.float32)
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    spread = tf.math.reduce_std(x, axis=-1, keepdims=True)
    return (x - mean) / tf.maximum(spread, ref.MIN_SPREAD)


@alternative("dataset_from_array",
             "Batches first, then standardises each row of the batch with statistics along axis -1 "
             "(another summation order); casts to float32 before slicing.")
def batch_then_vectorised_map(features, batch_size):
    features, batch_size = _checked_array(features, batch_size)
    return (tf.data.Dataset.from_tensor_slices(tf.cast(features, tf.float32))
            .batch(batch_size)
            .map(_standardise_batch)
            .prefetch(buffer_size=tf.data.experimental.AUTOTUNE))


@alternative("dataset_from_array",
             "Walks the row indices with Dataset.range and gathers each row; a sequential map; "
             "tf.map_fn applies preprocess row by row inside each batch.")
def range_gather_and_map_fn(features, batch_size):
    features, batch_size = _checked_array(features, batch_size)
    table = tf.constant(features)
    return (tf.data.Dataset.range(features.shape[0])
            .map(lambda i: tf.gather(table, i))
            .batch(batch_size, drop_remainder=False)
            .map(lambda b: tf.map_fn(preprocess, b, fn_output_signature=tf.float32))
            .prefetch(AUTOTUNE))


@alternative("dataset_from_generator",
             "Reads the generator's rows as float64 and lets preprocess do the cast; the parallel map "
             "asks for deterministic=True explicitly.")
def generator_rows_as_float64(make_rows, num_features, batch_size):
    num_features, batch_size = _checked_generator(num_features, batch_size)
    rows = tf.data.Dataset.from_generator(
        lambda: (np.asarray(row, dtype=np.float64) for row in make_rows()),
        output_signature=tf.TensorSpec(shape=(num_features,), dtype=tf.float64))
    return (rows
            .map(preprocess, num_parallel_calls=AUTOTUNE, deterministic=True)
            .batch(batch_size)
            .prefetch(AUTOTUNE))


@alternative("dataset_from_generator",
             "Batches the rows inside Python (a list per batch) and yields whole batches of shape "
             "(None, num_features), then standardises them vectorised.")
def python_side_batching(make_rows, num_features, batch_size):
    num_features, batch_size = _checked_generator(num_features, batch_size)

    def batches():
        pending = []
        for row in make_rows():
            pending.append(np.asarray(row, dtype=np.float32))
            if len(pending) == batch_size:
                yield np.stack(pending)
                pending = []
        if pending:
            yield np.stack(pending)

    return (tf.data.Dataset.from_generator(
        batches, output_signature=tf.TensorSpec(shape=(None, num_features), dtype=tf.float32))
        .map(_standardise_batch)
        .prefetch(AUTOTUNE))
