"""Tests for replicated_inference: data-parallel inference with MirroredStrategy, rows in order.

The oracle is the model itself on one device. Most checks use "probe" models whose output
row is (2 * input row + 1, the replica that ran it, how many rows that replica was given):
with small whole numbers as inputs every value is exact, so the result must equal the
single-device output exactly, and the two extra columns show whether the rows were really
split across the replicas as the docstring says (and not, say, computed outside
``strategy.run``, or interleaved by ``Dataset.shard``).

Two replicas need two devices. On a CPU-only machine these tests split the CPU into three
logical devices (two replicas for most checks, and three for one that catches code written
for exactly two), which TensorFlow allows only before it first initialises its devices, and
other TensorFlow katas may already have run something in this pytest process. So:

- When this module is imported (at collection, before any test runs) it tries to split the
  CPU. That works whenever no test module collected before it ran TensorFlow at import time,
  and then every check runs here, in-process. The split is harmless to other katas: their
  work still goes to /CPU:0.
- If the devices were fixed already, the checks that need several replicas run in one fresh
  Python process per kata module (this file, run as a script), which splits its CPU first
  thing; each test then reports that process's verdict for its own check. This costs one
  TensorFlow import, but only in that situation.

Checks that do not need several replicas (invalid input, one replica, generated inputs) always
run in-process, on the best strategy this process has. There is no `differential` check
against the reference solution: a strategy cannot be copied the way that check copies its
arguments, and the model run on one device is the oracle anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from katakit.testing import close, describe

REPLICAS = 2
MOST_REPLICAS = 3  # one check runs on three replicas: code written for exactly two does not pass it
ROOT = Path(__file__).resolve().parents[1]


def _split_the_cpu(count: int) -> list[str]:
    """Ask for `count` logical CPU devices (possible only before TF initialises its devices); the ones there are."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        for gpu in tf.config.list_physical_devices("GPU"):
            # Listing the devices below initialises them; without this TensorFlow would reserve
            # nearly all of each GPU's memory at once, for the whole pytest process.
            tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError:
        pass  # TensorFlow has fixed its devices already; the two-replica checks go to a fresh process
    return [device.name for device in tf.config.list_logical_devices("CPU")]


CPU_DEVICES = _split_the_cpu(MOST_REPLICAS)
ALL_REPLICAS_HERE = len(CPU_DEVICES) >= MOST_REPLICAS


# ---- models -----------------------------------------------------------------------------------

def probe_model(strategy):
    """Output row: 2 * x + 1, then the replica that ran the row (-1 outside strategy.run), then its row count."""

    def model(x):
        context = tf.distribute.get_replica_context()
        # get_strategy() is `strategy` only inside strategy.run (or its scope, where the context is None).
        inside = context is not None and tf.distribute.get_strategy() is strategy
        replica = tf.cast(context.replica_id_in_sync_group, tf.float32) if inside else tf.constant(-1.0)
        rows = tf.shape(x)[0]
        column = tf.ones(tf.stack([rows, 1]), tf.float32)
        return tf.concat([2.0 * x + 1.0, column * replica, column * tf.cast(rows, tf.float32)], axis=1)

    return model


def integer_rows(n: int, d: int = 2, seed: int = 0) -> np.ndarray:
    """n rows of small whole numbers, row i starting with i: any arithmetic order gives exact results."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(-50, 50, size=(n, d)).astype(np.float32)
    rows[:, 0] = np.arange(n, dtype=np.float32)
    return rows


def keras_model(strategy, d: int, k: int):
    with strategy.scope():  # mirrored variables: one copy per replica
        model = tf.keras.Sequential([tf.keras.Input((d,)), tf.keras.layers.Dense(8, activation="tanh"),
                                     tf.keras.layers.Dense(k)])
    # Fixed weights, whatever Keras's initialisers and random state do.
    rng = np.random.default_rng(d * 100 + k)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def rowwise_model(d: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    weights = tf.constant(rng.normal(size=(d, k)).astype(np.float32))
    bias = tf.constant(rng.normal(size=(k,)).astype(np.float32))
    return lambda x: tf.tanh(tf.matmul(x, weights) + bias)


# ---- what every result must be ----------------------------------------------------------------

def assert_result(result, n: int, k: int):
    __tracebackhide__ = True
    assert isinstance(result, tf.Tensor), f"replicated_predict must return a tf.Tensor, got {type(result).__name__}"
    assert result.dtype == tf.float32, f"the result must be float32, got {result.dtype.name}"
    assert result.shape.as_list() == [n, k], f"the result must have shape {[n, k]}, got {result.shape.as_list()}"


def check_probe_result(result, inputs, per_replica: int, replicas: int):
    """Values in order, and full global batches split into per-replica parts exactly as specified."""
    __tracebackhide__ = True
    n, d = inputs.shape
    assert_result(result, n, d + 2)
    out = result.numpy()
    call = f"replicated_predict(probe model, {n} rows, {replicas} replica(s), per_replica_batch_size={per_replica})"
    values, replica, rows = out[:, :d], out[:, d], out[:, d + 1]
    if not np.array_equal(values, 2 * inputs + 1):
        expected_first = (2 * inputs[:, 0] + 1).tolist()
        raise AssertionError(
            f"{call}: the rows are not the model's outputs in input order (or some are missing).\n"
            f"  first column expected: {expected_first}\n  first column yours:    {values[:, 0].tolist()}")
    if (replica < 0).any():
        raise AssertionError(f"{call}: the model ran outside strategy.run (no replica context of this strategy) "
                             f"for rows {np.flatnonzero(replica < 0).tolist()}; call it inside strategy.run")
    global_batch = per_replica * replicas
    full = (n // global_batch) * global_batch
    expected_replica = (np.arange(full) % global_batch) // per_replica
    where = (f"\n  replica of each row: {replica.astype(int).tolist()}"
             f"\n  rows given per call: {rows.astype(int).tolist()}")
    if not (np.array_equal(replica[:full], expected_replica) and (rows[:full] == per_replica).all()):
        raise AssertionError(
            f"{call}: each full global batch of {global_batch} rows must be split into {replicas} contiguous parts of "
            f"{per_replica} rows, replica 0 first; expected replicas {expected_replica.tolist()} for the first "
            f"{full} rows, each given {per_replica} rows" + where)
    tail_replica, tail_rows = replica[full:], rows[full:]
    if len(tail_replica):
        ordered = bool((np.diff(tail_replica) >= 0).all())
        # A replica's part holds at most the rows its call was given (more than its real rows if padded).
        consistent = all((tail_replica == r).sum() <= tail_rows[tail_replica == r].min()
                         for r in np.unique(tail_replica))
        if not (ordered and consistent and (tail_rows <= per_replica).all()):
            raise AssertionError(
                f"{call}: the last, shorter global batch (rows {full} to {n - 1}) must be split into contiguous "
                f"parts in replica order, at most {per_replica} rows each" + where)


# ---- the checks that need several replicas: run here, or in a fresh process -----------------

CHECKS = {}


def replica_check(*cases, replicas=REPLICAS):
    """Register a check(kata, strategy, *case) that needs a strategy with `replicas` replicas."""

    def register(function):
        CHECKS[function.__name__] = (function, [tuple(case) for case in cases] or [()], replicas)
        return function

    return register


two_replica_check = replica_check


@two_replica_check((11, 2), (8, 4), (1, 3), (6, 1), (5, 4))
def rows_in_order_split_as_specified(kata, strategy, n, per_replica):
    inputs = integer_rows(n, seed=n)
    result = kata.replicated_predict(probe_model(strategy), inputs, strategy, per_replica)
    check_probe_result(result, inputs, per_replica, strategy.num_replicas_in_sync)


@two_replica_check()
def tensor_input_and_wider_rows(kata, strategy):
    inputs = integer_rows(7, d=5, seed=3)
    result = kata.replicated_predict(probe_model(strategy), tf.constant(inputs), strategy, 2)
    check_probe_result(result, inputs, 2, strategy.num_replicas_in_sync)


@replica_check((11, 2), (7, 3), (4, 1), replicas=3)
def three_replicas(kata, strategy, n, per_replica):
    inputs = integer_rows(n, seed=n + 100)
    result = kata.replicated_predict(probe_model(strategy), inputs, strategy, per_replica)
    check_probe_result(result, inputs, per_replica, strategy.num_replicas_in_sync)


@two_replica_check()
def mirrored_keras_model_equals_single_device(kata, strategy):
    model = keras_model(strategy, d=4, k=3)
    inputs = np.random.default_rng(7).normal(size=(9, 4)).astype(np.float32)
    expected = model(inputs)  # the single-device result, all rows at once
    result = kata.replicated_predict(model, inputs, strategy, 2)
    assert_result(result, 9, 3)
    if not close(rtol=1e-5, atol=1e-6)(result, expected):
        raise AssertionError(
            "replicated_predict(Keras model built under strategy.scope(), 9 rows, per_replica_batch_size=2) differs "
            f"from the model on one device\n  expected: {describe(expected)}\n  yours:    {describe(result)}")


class ThreeReplicaStrategy(tf.distribute.MirroredStrategy):
    """A MirroredStrategy whose collective ops use group keys of their own.

    Every MirroredStrategy numbers its groups of devices from group key 1, so a second strategy
    over other devices in the same process would reuse key 1 for another group, and a gather
    compiled in a tf.function would abort ("joining a group with size 3, but that group has
    size 2"). TensorFlow's own tests offset the keys with this class attribute.
    """

    _collective_key_base = 1000


def _strategies():
    """One MirroredStrategy per replica count the checks use."""
    counts = sorted({replicas for _, _, replicas in CHECKS.values()})
    kinds = {REPLICAS: tf.distribute.MirroredStrategy, MOST_REPLICAS: ThreeReplicaStrategy}
    return {count: kinds[count](CPU_DEVICES[:count]) for count in counts}


def _run_check(kata, strategies, name, case):
    function, _, replicas = CHECKS[name]
    function(kata, strategies[replicas], *case)


class ReplicaRunner:
    """Runs the several-replica checks in this process when it has the CPU devices, else in a fresh one."""

    def __init__(self):
        self.strategies = _strategies() if ALL_REPLICAS_HERE else None
        self.strategy = self.strategies[REPLICAS] if self.strategies else None
        self._verdicts = {}

    def check(self, kata, name, case=()):
        __tracebackhide__ = True
        if self.strategies is not None:
            return _run_check(kata, self.strategies, name, case)
        verdict = self._verdicts_for(kata)[_key(name, case)]
        if verdict is None:
            return None
        if verdict["error"] == "NotImplementedError":
            _raise_here(kata)  # so that an untouched stub is reported as todo, from its own line
        error = "" if verdict["error"] == "AssertionError" else f"{verdict['error']}: "
        raise AssertionError(f"{error}{verdict['message']}\n(checked in a separate Python process with "
                             f"{MOST_REPLICAS} logical CPU devices: this one had initialised TensorFlow's devices "
                             f"already)")

    def _verdicts_for(self, kata):
        if id(kata) not in self._verdicts:
            self._verdicts[id(kata)] = _run_worker(kata)
        return self._verdicts[id(kata)]


def _key(name, case):
    return f"{name}{list(case)}"


def _raise_here(kata):
    kata.replicated_predict(lambda x: x, np.zeros((1, 1), np.float32), one_replica(), 1)
    raise AssertionError("replicated_predict raised NotImplementedError in the separate process, but not here")


def _run_worker(kata) -> dict:
    chosen = getattr(kata, "__katakit_pitfall__", None)
    spec = {"module": kata.__file__,
            "pitfall_file": chosen.function.__code__.co_filename if chosen else None,
            "pitfall_name": chosen.name if chosen else None}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "verdicts.json"
        done = subprocess.run([sys.executable, __file__, json.dumps(spec), str(out)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not out.is_file():
            raise AssertionError(f"the two-device check process failed (exit {done.returncode}):\n"
                                 f"{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def _worker_main(spec_json: str, out_path: str) -> int:
    """Run every several-replica check on one kata module in this fresh process, and write the verdicts."""
    from katakit.loading import load_module
    from katakit.pitfalls import apply, collect

    spec = json.loads(spec_json)
    if not ALL_REPLICAS_HERE:
        raise SystemExit(f"could not split the CPU into {MOST_REPLICAS} logical devices in a fresh process")
    module = load_module(Path(spec["module"]), "worker")
    if spec["pitfall_name"]:
        found = collect(load_module(Path(spec["pitfall_file"]), "pitfalls"))
        module = apply(module, next(p for p in found if p.name == spec["pitfall_name"]))
    strategies = _strategies()
    verdicts = {}
    for name, (_, cases, _) in CHECKS.items():
        for case in cases:
            try:
                _run_check(module, strategies, name, case)
                verdicts[_key(name, case)] = None
            except Exception as exc:  # every check gets a verdict, whatever the code under test raises
                verdicts[_key(name, case)] = {"error": type(exc).__name__, "message": str(exc)}
    Path(out_path).write_text(json.dumps(verdicts))
    return 0


_ONE_REPLICA = []


def one_replica():
    if not _ONE_REPLICA:
        _ONE_REPLICA.append(tf.distribute.MirroredStrategy(CPU_DEVICES[:1]))
    return _ONE_REPLICA[0]


@pytest.fixture(scope="module")
def replicas():
    return ReplicaRunner()


@pytest.fixture(scope="module")
def best_strategy(replicas):
    """Two replicas where this process has them, else one."""
    return replicas.strategy or one_replica()


# ---- cheap checks first ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (2, 3, 1), (0, 3)], ids=["1-D", "3-D", "no rows"])
def test_inputs_that_are_not_rows_raise_value_error(kata, best_strategy, shape):
    with pytest.raises(ValueError):
        kata.replicated_predict(lambda x: x, np.zeros(shape, np.float32), best_strategy, 2)


@pytest.mark.parametrize("size", [0, -1, 1.5, 2.0], ids=["0", "-1", "1.5", "2.0"])
def test_bad_per_replica_batch_size_raises_value_error(kata, best_strategy, size):
    with pytest.raises(ValueError):
        kata.replicated_predict(lambda x: x, np.ones((4, 2), np.float32), best_strategy, size)


def test_one_replica_and_the_input_left_alone(kata):
    strategy = one_replica()
    inputs = integer_rows(5, seed=1)
    before = inputs.copy()
    result = kata.replicated_predict(probe_model(strategy), inputs, strategy, 2)
    assert np.array_equal(inputs, before), "replicated_predict modified its input array; leave it untouched"
    check_probe_result(result, inputs, 2, 1)


# ---- two replicas ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", CHECKS["rows_in_order_split_as_specified"][1],
                         ids=[f"{n}-rows-per-replica-{b}" for n, b in CHECKS["rows_in_order_split_as_specified"][1]])
def test_rows_in_order_split_as_specified(kata, replicas, case):
    replicas.check(kata, "rows_in_order_split_as_specified", case)


def test_tensor_input_and_wider_rows(kata, replicas):
    replicas.check(kata, "tensor_input_and_wider_rows")


@pytest.mark.parametrize("case", CHECKS["three_replicas"][1],
                         ids=[f"{n}-rows-per-replica-{b}" for n, b in CHECKS["three_replicas"][1]])
def test_three_replicas(kata, replicas, case):
    replicas.check(kata, "three_replicas", case)


def test_mirrored_keras_model_equals_single_device(kata, replicas):
    replicas.check(kata, "mirrored_keras_model_equals_single_device")


@settings(max_examples=5)
@given(n=st.integers(1, 13), d=st.integers(1, 4), k=st.integers(1, 3), per_replica=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_matches_the_model_on_one_device(kata, best_strategy, n, d, k, per_replica, seed):
    inputs = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    model = rowwise_model(d, k, seed)
    result = kata.replicated_predict(model, inputs, best_strategy, per_replica)
    expected = model(inputs)
    assert_result(result, n, k)
    # Batches of other sizes may round a little differently on some kernels.
    assert close(rtol=1e-5, atol=1e-6)(result, expected), (
        f"replicated_predict(tanh(x @ W + b), {n} rows, per_replica_batch_size={per_replica}) differs from the "
        f"model run on one device\n  expected: {describe(expected)}\n  yours:    {describe(result)}")


@pytest.mark.gpu
def test_two_gpus(kata):
    gpus = [device.name for device in tf.config.list_logical_devices("GPU")]
    if len(gpus) < 2:
        pytest.skip(f"needs two GPUs visible to TensorFlow, found {len(gpus)}; the CPU tests check the same "
                    f"contract on two logical CPU devices")
    strategy = tf.distribute.MirroredStrategy(gpus[:2])
    for n, per_replica in CHECKS["rows_in_order_split_as_specified"][1]:
        inputs = integer_rows(n, seed=n)
        result = kata.replicated_predict(probe_model(strategy), inputs, strategy, per_replica)
        check_probe_result(result, inputs, per_replica, 2)


if __name__ == "__main__":  # the fresh process of ReplicaRunner
    tf.get_logger().setLevel("ERROR")
    sys.exit(_worker_main(sys.argv[1], sys.argv[2]))
