"""Tests for tf_function_speedup: the rollout as one tf.function graph, traced once, and faster.

The tests trust nothing in the learner's module that could be edited to make a check easier:
they build their own copy of W and b the same way the module does, and their own eager
rollout, which is both the value oracle and the baseline the speed is measured against.

Order matters for `pytest --pitfalls`, which stops running a wrong answer once a test has
rejected it: cheap checks first, the timing last.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from katakit.testing import close, describe
from katakit.timing import assert_speedup, speedup

STATE_SIZE = 16
BATCH_SIZES = (1, 7, 64)
STEP_COUNTS = (10, 50, 200)
STEP_FORMS = ("python int", "tf.int32 tensor")

# Float32 rounding differs a little between eager ops and a graph (fused kernels, XLA), and
# the running sum adds it up over the steps; a wrong answer is off by a whole state (~0.1-1).
VALUES = close(rtol=1e-5, atol=1e-6)

# The speed workload: long enough that the per-call cost is small next to the per-step cost.
SPEED_BATCH, SPEED_STEPS = 16, 400
CPU_AT_LEAST, GPU_AT_LEAST = 3.0, 5.0

# The test's own copy of the given weights, made exactly as the kata module makes them.
with tf.device("/CPU:0"):
    W = tf.random.stateless_normal([STATE_SIZE, STATE_SIZE], seed=[2, 1], dtype=tf.float32) * 0.2
    b = tf.random.stateless_normal([STATE_SIZE], seed=[2, 2], dtype=tf.float32) * 0.5


def eager_rollout(x, steps):
    """The oracle and timing baseline: slow_rollout as the kata gives it, with the test's weights."""
    total = tf.zeros_like(x)
    for _ in range(int(steps)):
        x = tf.tanh(x @ W + b)
        total = total + x
    return total


def graph_rollout(x, steps):
    """The same loop written for tf.function; the GPU test compiles it with XLA for comparison."""
    total = tf.zeros_like(x)
    for _ in tf.range(steps):
        x = tf.tanh(x @ W + b)
        total += x
    return total


def initial_state(batch: int, seed: int = 0):
    """A deterministic float32 state of shape [batch, 16]."""
    return tf.random.stateless_normal([batch, STATE_SIZE], seed=[seed, batch], dtype=tf.float32)


def steps_as(form: str, steps: int):
    return steps if form == "python int" else tf.constant(steps, dtype=tf.int32)


def assert_matches_eager(yours, x, steps):
    __tracebackhide__ = True
    expected = eager_rollout(x, steps)
    call = f"fast_rollout(x of shape {list(x.shape)}, steps={steps!r})"
    assert isinstance(yours, tf.Tensor), f"{call} must return a tf.Tensor, got {type(yours).__name__}"
    assert yours.dtype == tf.float32, f"{call} returned dtype {yours.dtype.name}; it must be float32"
    assert yours.shape == expected.shape, (
        f"{call} returned shape {list(yours.shape)}; expected {list(expected.shape)}")
    if not VALUES(yours, expected):
        worst = float(np.max(np.abs(yours.numpy() - expected.numpy())))
        raise AssertionError(
            f"{call} differs from slow_rollout (rtol=1e-5, atol=1e-6); largest difference {worst:.3g}\n"
            f"  expected: {describe(expected)}\n  yours:    {describe(yours)}")


# The class of the objects tf.function returns. The tracing count is read through this class,
# not through an attribute of the learner's object, which the module could have replaced.
TF_FUNCTION = type(tf.function(lambda: None))

# Ops through which a graph calls back into Python (tf.py_function, tf.numpy_function).
PYTHON_OPS = {"EagerPyFunc", "PyFunc", "PyFuncStateless"}

# A graph that loops with tf.range / tf.while_loop has a few dozen nodes whatever the number of
# steps (25 to 45 for the known answers). A Python loop unrolled up to a fixed cap, with a
# tf.cond per step, adds about 13 nodes per step; the cap must then exceed the longest rollout
# ever asked for, so such a graph runs into the thousands.
MAX_GRAPH_NODES = 1000

# A rollout far longer than the step counts above: a loop cut short at a fixed cap (an unrolled
# Python loop, tf.minimum(steps, cap)) gives a visibly different sum. Float32 rounding adds up
# over this many steps (a sum by tf.reduce_sum or in float64 drifts to about 1.4x the default
# tolerance from the eager loop), so the tolerance is ten times looser; a missing or extra
# state is off by about 0.1 to 1.
LONG_STEPS = 1000
LONG_VALUES = close(rtol=1e-4, atol=1e-5)


def _assert_tf_function(function):
    __tracebackhide__ = True
    assert isinstance(function, TF_FUNCTION), (
        f"fast_rollout must be a tf.function: the object tf.function returns, with "
        f"experimental_get_tracing_count(); yours is {type(function).__name__}")


def tracing_count(function):
    __tracebackhide__ = True
    _assert_tf_function(function)
    return TF_FUNCTION.experimental_get_tracing_count(function)


def _node_count(graph_def):
    """Nodes in a GraphDef, those of its function library (loop bodies, conditions) included."""
    return len(graph_def.node) + sum(len(function.node_def) for function in graph_def.library.function)


def _op_types(graph_def):
    """Every op type in a GraphDef, those of its function library (loop bodies, conditions) included."""
    types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        types.update(node.op for node in function.node_def)
    return types


# ---- cheap checks first -----------------------------------------------------------------------

def test_weights_unchanged_and_a_first_call(kata):
    for name, ours in (("W", W), ("b", b)):
        theirs = getattr(kata, name, None)
        assert theirs is not None, f"the module no longer defines {name}; keep the given weights"
        theirs = tf.convert_to_tensor(theirs)
        assert theirs.dtype == ours.dtype and theirs.shape == ours.shape and np.array_equal(
            theirs.numpy(), ours.numpy()), (
            f"the module's {name} was changed; fast_rollout must use the given weights unchanged\n"
            f"  given: {describe(ours)}\n  yours: {describe(theirs)}")
    x = initial_state(3)
    assert_matches_eager(kata.fast_rollout(x, 5), x, 5)


def test_traced_once_across_batch_sizes_and_step_counts(kata):
    for batch in BATCH_SIZES:
        for steps in STEP_COUNTS:
            for form in STEP_FORMS:
                kata.fast_rollout(initial_state(batch), steps_as(form, steps))
    count = tracing_count(kata.fast_rollout)
    assert count == 1, (
        f"fast_rollout was traced {count} times for batch sizes {BATCH_SIZES}, step counts {STEP_COUNTS} "
        f"and steps as a Python int or a tf.int32 tensor; it must be traced once. A tf.function traces "
        f"again for every new Python value and every new input shape unless its signature says otherwise.")


def test_no_python_inside_the_graph(kata):
    kata.fast_rollout(initial_state(2), 3)
    _assert_tf_function(kata.fast_rollout)
    concrete = TF_FUNCTION.get_concrete_function(
        kata.fast_rollout, tf.TensorSpec([None, STATE_SIZE], tf.float32), tf.TensorSpec([], tf.int32))
    graph_def = concrete.graph.as_graph_def()
    found = sorted(_op_types(graph_def) & PYTHON_OPS)
    assert not found, (
        f"the graph of fast_rollout calls back into Python ({', '.join(found)}: tf.py_function or "
        f"tf.numpy_function), so the loop still runs eagerly; write the whole rollout in TensorFlow ops")
    nodes = _node_count(graph_def)
    assert nodes <= MAX_GRAPH_NODES, (
        f"the graph of fast_rollout has {nodes} nodes; a loop over tf.range(steps) needs a few dozen. "
        f"A Python loop over range(...) is unrolled into the graph, one copy per step: loop with "
        f"tf.range(steps) so that AutoGraph makes one tf.while_loop")


# ---- values -----------------------------------------------------------------------------------

@pytest.mark.parametrize("form", STEP_FORMS)
@pytest.mark.parametrize("steps", STEP_COUNTS)
@pytest.mark.parametrize("batch", BATCH_SIZES)
def test_matches_eager_rollout(kata, batch, steps, form):
    x = initial_state(batch, seed=steps)
    assert_matches_eager(kata.fast_rollout(x, steps_as(form, steps)), x, steps)


@pytest.mark.parametrize("steps", (1, 2))
def test_one_and_two_steps(kata, steps):
    x = initial_state(5, seed=11)
    assert_matches_eager(kata.fast_rollout(x, steps), x, steps)


@pytest.mark.parametrize("form", STEP_FORMS)
def test_a_long_rollout_is_not_cut_short(kata, form):
    """Any step count from 1 up: nothing may stop at a fixed cap beyond the counts tested above."""
    x = initial_state(3, seed=21)
    yours = kata.fast_rollout(x, steps_as(form, LONG_STEPS))
    expected = eager_rollout(x, LONG_STEPS)
    assert isinstance(yours, tf.Tensor) and yours.dtype == tf.float32 and yours.shape == expected.shape, \
        f"fast_rollout(x, {LONG_STEPS}) must return a float32 tf.Tensor of shape {list(expected.shape)}"
    if not LONG_VALUES(yours, expected):
        worst = float(np.max(np.abs(yours.numpy() - expected.numpy())))
        raise AssertionError(
            f"fast_rollout(x of shape [3, 16], steps={LONG_STEPS}) differs from slow_rollout by up to {worst:.3g} "
            f"(rtol=1e-4, atol=1e-5 over this many steps): does the loop stop at a fixed number of steps?")


@settings(max_examples=25)
@given(batch=st.integers(1, 12), steps=st.integers(1, 60), seed=st.integers(0, 2**16),
       scale=st.sampled_from([0.1, 1.0, 3.0]), as_tensor=st.booleans())
def test_matches_reference_on_generated_states(differential, batch, steps, seed, scale, as_tensor):
    x = initial_state(batch, seed) * scale
    n = tf.constant(steps, dtype=tf.int32) if as_tensor else steps
    yours = differential("fast_rollout", x, n, equal=VALUES)
    assert_matches_eager(yours, x, steps)


# ---- speed: last, the slowest ---------------------------------------------------------------

@pytest.mark.speed
def test_at_least_3x_faster_than_eager_on_cpu(kata):
    with tf.device("/CPU:0"):
        x = initial_state(SPEED_BATCH, seed=3)
        result = assert_speedup(
            lambda: kata.fast_rollout(x, SPEED_STEPS), lambda: eager_rollout(x, SPEED_STEPS),
            at_least=CPU_AT_LEAST, runs=9, sync=lambda t: t.numpy(),
            what=f"fast_rollout (batch {SPEED_BATCH}, {SPEED_STEPS} steps, CPU)")
    print(f"\nCPU, batch {SPEED_BATCH}, {SPEED_STEPS} steps: {result}")


@pytest.mark.gpu
@pytest.mark.speed
def test_at_least_5x_faster_than_eager_on_gpu(kata):
    if not tf.config.list_physical_devices("GPU"):
        pytest.skip("no GPU visible to TensorFlow (tf.config.list_physical_devices('GPU') is empty); "
                    "the CPU speed test checks the speedup")
    signature = [tf.TensorSpec([None, STATE_SIZE], tf.float32), tf.TensorSpec([], tf.int32)]
    with tf.device("/GPU:0"):
        x = initial_state(SPEED_BATCH, seed=3)
        sync = lambda t: t.numpy()  # waits for the device before the clock stops
        result = assert_speedup(
            lambda: kata.fast_rollout(x, SPEED_STEPS), lambda: eager_rollout(x, SPEED_STEPS),
            at_least=GPU_AT_LEAST, runs=15, sync=sync,
            what=f"fast_rollout (batch {SPEED_BATCH}, {SPEED_STEPS} steps, GPU)")
        compiled = tf.function(graph_rollout, input_signature=signature, jit_compile=True)
        xla = speedup(lambda: compiled(x, SPEED_STEPS), lambda: eager_rollout(x, SPEED_STEPS),
                      runs=15, sync=sync)
    print(f"\nGPU, batch {SPEED_BATCH}, {SPEED_STEPS} steps: {result}"
          f"\n  for comparison, the same loop with jit_compile=True (XLA): {xla}")
