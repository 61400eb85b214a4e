"""Known wrong answers for replicated_inference, and correct answers written differently."""

from __future__ import annotations

import tensorflow as tf

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _rows(inputs, per_replica_batch_size):
    """The argument checks the correct answer makes, shared by the mistakes that get them right."""
    if isinstance(per_replica_batch_size, bool) or not isinstance(per_replica_batch_size, int):
        raise ValueError(f"per_replica_batch_size must be an int, got {per_replica_batch_size!r}")
    if per_replica_batch_size < 1:
        raise ValueError(f"per_replica_batch_size must be at least 1, got {per_replica_batch_size}")
    rows = tf.convert_to_tensor(inputs, dtype=tf.float32)
    if rows.shape.rank != 2 or rows.shape[0] == 0:
        raise ValueError(f"inputs must be 2-D with at least one row, got shape {rows.shape.as_list()}")
    return rows


@pitfall("replicated_predict",
         "Batches with drop_remainder=True, as training code often does, so the rows of the last, shorter "
         "global batch are never predicted.")
def drops_the_remainder(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size)
    dataset = tf.data.Dataset.from_tensor_slices(rows).batch(
        per_replica_batch_size * strategy.num_replicas_in_sync, drop_remainder=True)
    outputs = []
    for batch in strategy.experimental_distribute_dataset(dataset):
        outputs.extend(strategy.experimental_local_results(strategy.run(model, args=(batch,))))
    return tf.concat(outputs, axis=0)


@pitfall("replicated_predict",
         "Writes the split for exactly two replicas (the first per_replica_batch_size rows, then the rest), so a "
         "third replica gets nothing it can use and its rows are lost.")
def written_for_two_replicas(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size)
    size = per_replica_batch_size * strategy.num_replicas_in_sync
    outputs = []
    for start in range(0, int(rows.shape[0]), size):
        batch = rows[start:start + size]
        parts = [batch[:per_replica_batch_size], batch[per_replica_batch_size:]]
        values = strategy.experimental_distribute_values_from_function(
            lambda context, parts=parts: parts[min(context.replica_id_in_sync_group, 1)])
        outputs.append(strategy.gather(strategy.run(model, args=(values,)), axis=0))
    return tf.concat(outputs, axis=0)


@pitfall("replicated_predict",
         "Deals the rows out to the replicas in turn, as Dataset.shard does, then puts the outputs back replica by "
         "replica: the rows come back interleaved, out of input order.")
def deals_rows_round_robin(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size).numpy()
    replicas = strategy.num_replicas_in_sync
    global_batch = per_replica_batch_size * replicas
    outputs = []
    for start in range(0, len(rows), global_batch):
        batch = rows[start:start + global_batch]
        parts = [batch[r::replicas] for r in range(replicas)]  # row j goes to replica j % replicas
        values = strategy.experimental_distribute_values_from_function(
            lambda context, parts=parts: tf.constant(parts[context.replica_id_in_sync_group]))
        outputs.extend(strategy.experimental_local_results(strategy.run(model, args=(values,))))
    return tf.concat(outputs, axis=0)


@pitfall("replicated_predict",
         "Keeps only the first replica's output of each step (experimental_local_results(...)[0], or .values[0]), "
         "so the rows the other replicas computed are lost.")
def keeps_the_first_replica_only(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size)
    dataset = tf.data.Dataset.from_tensor_slices(rows).batch(per_replica_batch_size * strategy.num_replicas_in_sync)
    outputs = []
    for batch in strategy.experimental_distribute_dataset(dataset):
        outputs.append(strategy.experimental_local_results(strategy.run(model, args=(batch,)))[0])
    return tf.concat(outputs, axis=0)


@pitfall("replicated_predict",
         "Calls the model on whole batches under strategy.scope() instead of inside strategy.run: the scope only "
         "decides where variables live, so nothing runs on the other replicas.")
def scope_instead_of_run(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size)
    global_batch = per_replica_batch_size * strategy.num_replicas_in_sync
    with strategy.scope():
        return tf.concat([model(batch) for batch in tf.data.Dataset.from_tensor_slices(rows).batch(global_batch)],
                         axis=0)


@pitfall("replicated_predict",
         "Batches the dataset with per_replica_batch_size before experimental_distribute_dataset, which treats "
         "that as the GLOBAL batch and splits it, so each replica gets a fraction of the rows it should.")
def per_replica_size_as_global_batch(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size)
    dataset = tf.data.Dataset.from_tensor_slices(rows).batch(per_replica_batch_size)
    outputs = []
    for batch in strategy.experimental_distribute_dataset(dataset):
        outputs.extend(strategy.experimental_local_results(strategy.run(model, args=(batch,))))
    return tf.concat(outputs, axis=0)


@pitfall("replicated_predict",
         "Gives distribute_datasets_from_function a dataset batched with the GLOBAL batch size; that function "
         "wants per-replica batches (context.get_per_replica_batch_size), so each replica gets too many rows.")
def global_batches_from_dataset_function(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size)
    global_batch = per_replica_batch_size * strategy.num_replicas_in_sync
    dataset = strategy.distribute_datasets_from_function(
        lambda context: tf.data.Dataset.from_tensor_slices(rows).batch(global_batch))
    outputs = []
    for batch in dataset:
        outputs.extend(strategy.experimental_local_results(strategy.run(model, args=(batch,))))
    return tf.concat(outputs, axis=0)


@pitfall("replicated_predict",
         "Combines the replicas' outputs with strategy.reduce(SUM) as in a training loss, which adds the replicas' "
         "rows together instead of putting them side by side.")
def reduces_instead_of_gathering(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size)
    dataset = tf.data.Dataset.from_tensor_slices(rows).batch(per_replica_batch_size * strategy.num_replicas_in_sync)
    outputs = []
    for batch in strategy.experimental_distribute_dataset(dataset):
        outputs.append(strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(model, args=(batch,)), axis=None))
    return tf.concat(outputs, axis=0)


@pitfall("replicated_predict",
         "Checks only that per_replica_batch_size is a whole number >= 1, so a float such as 2.0 is accepted (and "
         "cast) instead of raising ValueError.")
def accepts_a_whole_float_batch_size(model, inputs, strategy, per_replica_batch_size):
    if isinstance(per_replica_batch_size, float) and per_replica_batch_size.is_integer():
        per_replica_batch_size = int(per_replica_batch_size)
    return ref.replicated_predict(model, inputs, strategy, per_replica_batch_size)


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("replicated_predict",
             "Cuts the per-replica parts by hand (replica r gets rows r*b to (r+1)*b of each global batch) and hands "
             "them over with experimental_distribute_values_from_function.")
def slices_by_hand(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size).numpy()
    replicas, size = strategy.num_replicas_in_sync, per_replica_batch_size
    outputs = []
    for start in range(0, len(rows), size * replicas):
        parts = [rows[start + r * size:start + (r + 1) * size] for r in range(replicas)]
        values = strategy.experimental_distribute_values_from_function(
            lambda context, parts=parts: tf.constant(parts[context.replica_id_in_sync_group]))
        outputs.extend(strategy.experimental_local_results(strategy.run(model, args=(values,))))
    return tf.concat(outputs, axis=0)


@alternative("replicated_predict",
             "Runs each step as a tf.function that calls strategy.run and strategy.gather(axis=0), the pattern of "
             "TensorFlow's distributed-training guides.")
def gathers_in_a_tf_function(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size)
    dataset = tf.data.Dataset.from_tensor_slices(rows).batch(per_replica_batch_size * strategy.num_replicas_in_sync)

    @tf.function(reduce_retracing=True)
    def step(batch):
        return strategy.gather(strategy.run(model, args=(batch,)), axis=0)

    return tf.concat([step(batch) for batch in strategy.experimental_distribute_dataset(dataset)], axis=0)


@alternative("replicated_predict",
             "Uses distribute_datasets_from_function with per-replica batches: the batches are dealt to the replicas "
             "in turn, so each step's parts are consecutive and in order.")
def per_replica_dataset_function(model, inputs, strategy, per_replica_batch_size):
    rows = _rows(inputs, per_replica_batch_size)
    global_batch = per_replica_batch_size * strategy.num_replicas_in_sync

    def per_replica_batches(context):
        return tf.data.Dataset.from_tensor_slices(rows).batch(context.get_per_replica_batch_size(global_batch))

    dataset = strategy.distribute_datasets_from_function(per_replica_batches)
    outputs = []
    for batch in dataset:
        outputs.extend(strategy.experimental_local_results(strategy.run(model, args=(batch,))))
    return tf.concat(outputs, axis=0)
