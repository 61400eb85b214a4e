"""Known wrong answers for tf_function_speedup: each makes one mistake people make with tf.function."""

import dataclasses

import tensorflow as tf

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)
W, b = ref.W, ref.b

SIGNATURE = [tf.TensorSpec([None, 16], tf.float32), tf.TensorSpec([], tf.int32)]


def graph_pitfall(diagnosis, **tf_function_options):
    """Like @pitfall("fast_rollout", ...), for a mistake that is itself a tf.function.

    The tests read the tracing count of fast_rollout, so the wrong answer must be the object
    tf.function returns. pitfall() needs a plain Python function (it reads its code for line
    numbers), so mark the Python function first, then point the mark at the tf.function.
    """

    def mark(python_function):
        marked = pitfall("fast_rollout", diagnosis)(python_function)
        graph = tf.function(marked, **tf_function_options)
        graph.__katakit_pitfall__ = dataclasses.replace(marked.__katakit_pitfall__, function=graph)
        return graph

    return mark


@pitfall(
    "fast_rollout",
    "Still eager: a plain Python function with no tf.function, so every small op pays Python overhead.",
)
def eager_python_loop(x, steps):
    total = tf.zeros_like(x)
    for _ in range(int(steps)):
        x = tf.tanh(x @ W + b)
        total = total + x
    return total


@graph_pitfall(
    "tf.function without an input_signature: every new Python int steps and every new batch size traces a new graph.",
)
def no_input_signature(x, steps):
    total = tf.zeros_like(x)
    for _ in tf.range(steps):
        x = tf.tanh(x @ W + b)
        total += x
    return total


@graph_pitfall(
    "The input_signature fixes the batch size to 1 (TensorSpec([1, 16])), so any other batch size is rejected.",
    input_signature=[tf.TensorSpec([1, 16], tf.float32), tf.TensorSpec([], tf.int32)],
)
def fixed_batch_signature(x, steps):
    total = tf.zeros_like(x)
    for _ in tf.range(steps):
        x = tf.tanh(x @ W + b)
        total += x
    return total


@graph_pitfall(
    "Calls .numpy() inside the tf.function: a traced tensor has no value yet, so tracing fails.",
    input_signature=SIGNATURE,
)
def numpy_inside_graph(x, steps):
    total = tf.zeros_like(x)
    for _ in range(int(steps.numpy())):  # steps is symbolic while tracing: there is no number to read
        x = tf.tanh(x @ W + b)
        total += x
    return total


def _eager_loop(x, steps):
    total = tf.zeros_like(x)
    for _ in range(int(steps.numpy())):
        x = tf.tanh(x @ W + b)
        total = total + x
    return total


@graph_pitfall(
    "Wraps the eager loop in tf.py_function: traced once and correct, but the loop still runs op by op in Python.",
    input_signature=SIGNATURE,
)
def py_function_escape(x, steps):
    total = tf.py_function(_eager_loop, [x, steps], Tout=tf.float32)
    total.set_shape(x.shape)
    return total


@graph_pitfall(
    "Adds the state to the sum before updating it, so the sum holds x_0 ... x_(steps-1) instead of x_1 ... x_steps.",
    input_signature=SIGNATURE,
)
def adds_state_before_update(x, steps):
    total = tf.zeros_like(x)
    for _ in tf.range(steps):
        total += x
        x = tf.tanh(x @ W + b)
    return total


@graph_pitfall(
    "Loops over tf.range(1, steps), which runs one update fewer than asked.",
    input_signature=SIGNATURE,
)
def skips_last_step(x, steps):
    total = tf.zeros_like(x)
    for _ in tf.range(1, steps):
        x = tf.tanh(x @ W + b)
        total += x
    return total


@graph_pitfall(
    "Computes in float64 and returns a float64 tensor: the result must be float32, like the input and slow_rollout.",
    input_signature=SIGNATURE,
)
def computes_in_float64(x, steps):
    x = tf.cast(x, tf.float64)
    weights, bias = tf.cast(W, tf.float64), tf.cast(b, tf.float64)
    total = tf.zeros_like(x)
    for _ in tf.range(steps):
        x = tf.tanh(x @ weights + bias)
        total += x
    return total


def _retracing_rollout(x, steps):
    total = tf.zeros_like(x)
    for _ in tf.range(steps):
        x = tf.tanh(x @ W + b)
        total += x
    return total


@pitfall("fast_rollout",
         "Hides retracing: a tf.function without a signature whose experimental_get_tracing_count is "
         "replaced by a function that always says 1.")
def fakes_the_tracing_count(x, steps):
    return _retracing_rollout(x, steps)


_faked = tf.function(_retracing_rollout)
_faked.experimental_get_tracing_count = lambda: 1
_faked.__katakit_pitfall__ = dataclasses.replace(fakes_the_tracing_count.__katakit_pitfall__, function=_faked)
fakes_the_tracing_count = _faked
del _faked


@graph_pitfall("Clamps the loop at a fixed cap, tf.range(tf.minimum(steps, 256)): right for the usual step counts, "
               "wrong for any longer rollout, and the speed test then times less work.",
               input_signature=SIGNATURE)
def clamped_at_a_fixed_cap(x, steps):
    total = tf.zeros_like(x)
    for _ in tf.range(tf.minimum(steps, 256)):
        x = tf.tanh(x @ W + b)
        total += x
    return total


@graph_pitfall("Unrolls a Python loop up to a fixed cap with a tf.cond per step: traced once, but the graph "
               "grows with the cap and every call runs all the conditions; loop over tf.range(steps).",
               input_signature=SIGNATURE)
def unrolled_up_to_a_cap(x, steps):
    total = tf.zeros_like(x)
    for i in range(96):  # a Python range: AutoGraph unrolls it, one tf.cond per step
        if i < steps:
            x = tf.tanh(x @ W + b)
            total += x
    return total


# ---- correct answers written differently: the tests must accept every one of them -----------

def graph_alternative(description, **tf_function_options):
    """Like graph_pitfall, for a correct answer that is itself a tf.function."""

    def mark(python_function):
        marked = alternative("fast_rollout", description)(python_function)
        graph = tf.function(marked, **tf_function_options)
        graph.__katakit_pitfall__ = dataclasses.replace(marked.__katakit_pitfall__, function=graph)
        return graph

    return mark


@graph_alternative("Compiles the loop with XLA (jit_compile=True): fused kernels round a little differently.",
                   input_signature=SIGNATURE, jit_compile=True)
def compiled_with_xla(x, steps):
    total = tf.zeros_like(x)
    for _ in tf.range(steps):
        x = tf.tanh(x @ W + b)
        total += x
    return total


@graph_alternative("Writes the loop as an explicit tf.while_loop.", input_signature=SIGNATURE)
def explicit_while_loop(x, steps):
    def body(i, state, total):
        state = tf.tanh(tf.matmul(state, W) + b)
        return i + 1, state, total + state

    _, _, total = tf.while_loop(lambda i, state, total: i < steps, body,
                                (tf.constant(0), x, tf.zeros_like(x)))
    return total


@graph_alternative("Collects every state in a TensorArray and sums them at the end: another summation order.",
                   input_signature=SIGNATURE)
def tensor_array_then_sum(x, steps):
    states = tf.TensorArray(tf.float32, size=steps)
    for i in tf.range(steps):
        x = tf.tanh(x @ W + b)
        states = states.write(i, x)
    return tf.reduce_sum(states.stack(), axis=0)


@graph_alternative("Runs the recurrence with tf.scan and sums the states it returns.", input_signature=SIGNATURE)
def scan_then_sum(x, steps):
    states = tf.scan(lambda state, _: tf.tanh(state @ W + b), tf.range(steps), initializer=x)
    return tf.reduce_sum(states, axis=0)

