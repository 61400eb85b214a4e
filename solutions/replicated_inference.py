"""Data-parallel inference with tf.distribute.MirroredStrategy.

One way to serve more requests per second is data parallelism: put a copy of the model on
every device (every GPU, or every logical CPU device), give each copy its own slice of the
batch, and put the slices' results back together. TensorFlow's ``MirroredStrategy`` does the
bookkeeping. Variables created under ``strategy.scope()`` are mirrored onto every device;
``strategy.run(fn, args=...)`` calls ``fn`` once per replica, each in that replica's context
and with that replica's slice of the arguments; and the per-replica results come back as
one ``PerReplica`` value, which ``strategy.gather`` or ``strategy.experimental_local_results``
turns back into ordinary tensors.

The part that goes wrong is the order. A batch is cut into slices, the slices run at the
same time on different devices, and the results must come back in the order of the inputs,
with none dropped when the number of rows does not divide evenly.

A machine without two accelerators can still try this: TensorFlow can split the one CPU
into several logical devices, as long as that happens before TensorFlow first runs anything
(afterwards its devices are fixed, and changing them raises RuntimeError).
``make_cpu_strategy`` below does that.
"""

from __future__ import annotations

import tensorflow as tf


def make_cpu_strategy(num_devices: int = 2) -> tf.distribute.MirroredStrategy:
    """A MirroredStrategy over `num_devices` logical CPU devices, to try the kata on a laptop.

    Call it before anything else in the process uses TensorFlow: the CPU can only be split
    into logical devices before TensorFlow initialises them. If that has already happened,
    the strategy uses the logical CPU devices that exist (possibly just one).
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError:
        pass  # the devices are fixed already; use what there is
    devices = [device.name for device in tf.config.list_logical_devices("CPU")][:num_devices]
    return tf.distribute.MirroredStrategy(devices)


def replicated_predict(model, inputs, strategy, per_replica_batch_size: int):
    """Run `model` over `inputs` across the replicas of `strategy`, and return its outputs in input order.

    Do it in these steps:

    1. Cut `inputs` into consecutive global batches of G = per_replica_batch_size *
       strategy.num_replicas_in_sync rows each, in order: rows 0 to G-1, then rows G to
       2G-1, and so on. The last global batch holds the rows that are left and may be
       shorter than G. No row is dropped or repeated.
    2. Split each global batch into one contiguous part per replica, in replica order:
       replica 0 gets the first rows of the global batch, replica 1 the rows after those,
       and so on. In a full global batch every part has exactly per_replica_batch_size rows.
       In a shorter last batch every part has at most per_replica_batch_size rows; how the
       rows are shared out there is up to you, a part may be empty, and padding a part up
       to per_replica_batch_size rows is fine as long as the padding's outputs are dropped.
    3. Call `model` on the parts inside ``strategy.run``: one call per replica per global
       batch, each in that replica's context, on that replica's part.
    4. Put each global batch's outputs back together in replica order, and the global
       batches in order, so that row i of the result is the row that the model returned for
       input row i.

    tf.data and the strategy can do steps 1, 2 and 4 for you: a dataset of the rows, batched
    with the global batch size (keep the remainder) and passed through
    ``strategy.experimental_distribute_dataset``, yields exactly the per-replica parts of
    step 2, and ``strategy.gather(per_replica_output, axis=0)`` puts one global batch back
    together in replica order. Cutting the parts yourself is fine too.

    The result must equal what the model gives on a single device, row for row. The tests
    check that, and they also use models that report which replica ran each row and how many
    rows that replica was given, so a result computed outside ``strategy.run``, in another
    order, or with other batch sizes than above does not pass.

    Args:
        model: a callable that maps a float32 tensor of shape (b, d) to a float32 tensor of
            shape (b, k), for any b >= 0; row j of its output belongs to row j of its input.
            It may be a Keras model whose variables were created under ``strategy.scope()``.
        inputs: a float32 numpy array or tf.Tensor of shape (n, d), with n >= 1 and d >= 1;
            it must not be modified.
        strategy: a ``tf.distribute.MirroredStrategy`` with one or more replicas.
        per_replica_batch_size: the number of rows each replica is given per call, an int >= 1.

    Returns:
        A float32 tf.Tensor of shape (n, k) whose row i is the model's output for input row i.

    Raises:
        ValueError: if `inputs` is not 2-D or has no rows, or if per_replica_batch_size is not
            an int of at least 1.

    Example:
        >>> strategy = make_cpu_strategy(2)  # first thing in the process: two logical CPUs
        >>> x = tf.reshape(tf.range(10, dtype=tf.float32), (5, 2))
        >>> out = replicated_predict(lambda batch: 2.0 * batch, x, strategy, per_replica_batch_size=2)
        >>> out.numpy()[:, 0]  # global batches of 4 rows: [0, 1 | 2, 3] and then [4 | nothing]
        array([ 0.,  4.,  8., 12., 16.], dtype=float32)
    """
    if isinstance(per_replica_batch_size, bool) or not isinstance(per_replica_batch_size, int):
        raise ValueError(f"per_replica_batch_size must be an int, got {per_replica_batch_size!r}")
    if per_replica_batch_size < 1:
        raise ValueError(f"per_replica_batch_size must be at least 1, got {per_replica_batch_size}")
    rows = tf.convert_to_tensor(inputs, dtype=tf.float32)
    if rows.shape.rank != 2 or rows.shape[0] == 0:
        raise ValueError(f"inputs must be 2-D with at least one row, got shape {rows.shape.as_list()}")

    global_batch_size = per_replica_batch_size * strategy.num_replicas_in_sync
    # Keep the remainder: the last global batch may be short, and the strategy shares it out.
    dataset = tf.data.Dataset.from_tensor_slices(rows).batch(global_batch_size, drop_remainder=False)
    outputs = []
    for per_replica_rows in strategy.experimental_distribute_dataset(dataset):
        per_replica_outputs = strategy.run(model, args=(per_replica_rows,))
        # One tensor per replica, replica 0 first. (strategy.gather(..., axis=0) does the same
        # with collective ops, which also works across machines but costs far more here.)
        outputs.extend(strategy.experimental_local_results(per_replica_outputs))
    return tf.concat(outputs, axis=0)
