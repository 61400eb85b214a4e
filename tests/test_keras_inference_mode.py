"""Tests for keras_inference_mode: dropout and batch normalisation at inference.

The oracle is Keras itself: ``model(x, training=False)`` on a pristine copy of the test's own
model (the tests trust nothing in the learner's module and build their own copy of the given
model). Each test hands the learner a fresh model, so a wrong answer that changes the model
(training mode updates the moving statistics) cannot spoil the next test. The tests also show
what a training-mode call does instead: random, batch-dependent, and it rewrites the model.

forward_numpy is compared with a float64 computation, with a tolerance relative to the size
of the intermediate values (so any order of float32 operations passes), and with Keras.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tensorflow import keras

from katakit.testing import describe, snapshot

NUM_FEATURES, HIDDEN, NUM_CLASSES = 8, 16, 3
DROPOUT_RATE, BN_EPSILON = 0.5, 1e-3
KEYS = ("dense/kernel", "dense/bias", "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance",
        "logits/kernel", "logits/bias")
PREDICT_RTOL, PREDICT_ATOL = 1e-5, 1e-5  # Keras against Keras: batching may change float32 rounding


# ---- the test's own model -----------------------------------------------------------------------

def make_model(features=NUM_FEATURES, hidden=HIDDEN, classes=NUM_CLASSES):
    return keras.Sequential([
        keras.Input((features,)),
        keras.layers.Dense(hidden, name="dense"),
        keras.layers.BatchNormalization(epsilon=BN_EPSILON, name="bn"),
        keras.layers.ReLU(name="relu"),
        keras.layers.Dropout(DROPOUT_RATE, name="dropout"),
        keras.layers.Dense(classes, name="logits"),
    ], name="classifier")


def random_params(rng, features=NUM_FEATURES, hidden=HIDDEN, classes=NUM_CLASSES, variance_low=0.2):
    """Weights 'as if trained', float32, keyed like model_params."""
    values = {
        "dense/kernel": rng.normal(0.0, 0.6, (features, hidden)),
        "dense/bias": rng.normal(0.0, 0.5, hidden),
        "bn/gamma": rng.uniform(0.5, 2.0, hidden),
        "bn/beta": rng.normal(0.0, 0.5, hidden),
        "bn/moving_mean": rng.normal(0.0, 1.5, hidden),
        "bn/moving_variance": rng.uniform(variance_low, 3.0, hidden),
        "logits/kernel": rng.normal(0.0, 0.5, (hidden, classes)),
        "logits/bias": rng.normal(0.0, 0.2, classes),
    }
    return {k: v.astype(np.float32) for k, v in values.items()}


def model_with(params):
    features, hidden = params["dense/kernel"].shape
    model = make_model(features, hidden, params["logits/kernel"].shape[1])
    model.get_layer("dense").set_weights([params["dense/kernel"], params["dense/bias"]])
    model.get_layer("bn").set_weights([params[k] for k in ("bn/gamma", "bn/beta", "bn/moving_mean",
                                                           "bn/moving_variance")])
    model.get_layer("logits").set_weights([params["logits/kernel"], params["logits/bias"]])
    return model


def state_of(model):
    """Everything inference mode must leave alone: every weight, and the layers' settings."""
    weights = {w.path: np.array(w.numpy()) for w in model.weights}
    settings_ = {layer.name: (layer.trainable, getattr(layer, "rate", None)) for layer in model.layers}
    return weights, settings_, model.trainable


def assert_model_unchanged(model, before, what):
    __tracebackhide__ = True
    weights, layer_settings, trainable = state_of(model)
    changed = [name for name in before[0] if not np.array_equal(before[0][name], weights[name])]
    assert not changed, (
        f"{what} changed the model's {', '.join(changed)}: a call with training=True updates the batch "
        f"normalisation's moving statistics towards the batch's, so the model drifts with every request")
    assert layer_settings == before[1] and trainable == before[2], (
        f"{what} changed the layers' settings (trainable flags or the dropout rate)\n"
        f"  before: {before[1]}\n  after:  {layer_settings}")


PARAMS = random_params(np.random.default_rng(2024))


@pytest.fixture()
def model():
    """A fresh copy of the test's model for each test."""
    return model_with(PARAMS)


def expected_logits(x):
    """Keras in inference mode, on a pristine model."""
    return model_with(PARAMS)(np.asarray(x, dtype=np.float32), training=False).numpy()


def batch(n, seed=0, scale=1.0):
    return (np.random.default_rng(seed).normal(size=(n, NUM_FEATURES)) * scale).astype(np.float32)


def assert_logits(yours, expected, what):
    __tracebackhide__ = True
    assert isinstance(yours, np.ndarray), f"{what}: return a numpy array, got {type(yours).__name__}"
    assert yours.dtype == np.float32, f"{what}: return float32, got {yours.dtype}"
    assert yours.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {yours.shape}"
    if not np.allclose(yours, expected, rtol=PREDICT_RTOL, atol=PREDICT_ATOL):
        row = int(np.argwhere(~np.isclose(yours, expected, rtol=PREDICT_RTOL, atol=PREDICT_ATOL))[0][0])
        raise AssertionError(f"{what}: row {row} differs from model(x, training=False)\n"
                             f"  expected: {describe(expected[row])}\n  yours:    {describe(yours[row])}")


# ---- predict: cheap checks first ----------------------------------------------------------------

def test_predict_gives_the_inference_mode_logits(kata, model):
    x = batch(32)
    assert_logits(kata.predict(model, x), expected_logits(x), "predict on a batch of 32")


def test_predict_is_deterministic(kata, model):
    x = batch(16, seed=1)
    first, second = kata.predict(model, x), kata.predict(model, x)
    assert np.array_equal(np.asarray(first), np.asarray(second)), (
        "two calls on the same x gave different logits: dropout is active (a training-mode call?)\n"
        f"  first:  {describe(np.asarray(first)[0])}\n  second: {describe(np.asarray(second)[0])}")


def test_each_row_is_predicted_on_its_own(kata, model):
    x = batch(6, seed=2)
    together = kata.predict(model, x)
    for i in range(len(x)):
        alone = kata.predict(model, x[i:i + 1])
        assert np.allclose(alone[0], together[i], rtol=PREDICT_RTOL, atol=PREDICT_ATOL), (
            f"row {i} predicted alone differs from the same row predicted with its batch: in training mode "
            f"batch normalisation uses the batch's statistics, and a batch of one is normalised to beta\n"
            f"  in the batch: {describe(together[i])}\n  alone:        {describe(alone[0])}")


def test_predict_leaves_the_model_alone(kata, model):
    before = state_of(model)
    for seed in range(3):
        kata.predict(model, batch(8, seed=seed, scale=3.0))
    assert_model_unchanged(model, before, "predict")


# Layer settings a wrong answer flips and flips back: a dropout rate of 0 with a frozen batch
# normalisation gives inference-mode numbers from a training=True call, and restoring them afterwards
# leaves nothing for a before/after comparison to see. So the writes themselves are watched.
WATCHED_SETTINGS = {"trainable", "rate", "noise_shape", "momentum", "epsilon", "center", "scale", "axis",
                    "activation", "use_bias", "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"}


def watch_setting_writes(model):
    """Make the model and its layers record every change of a setting in WATCHED_SETTINGS, in a list.

    Only these objects are watched (a clone the learner makes and sets up is its own business), and
    only writes that change a value count.
    """
    writes, watched = [], set()
    missing = object()

    def watch(obj):
        base = obj.__class__

        def __setattr__(self, name, value):
            if id(self) in watched and name in WATCHED_SETTINGS:
                old = getattr(self, name, missing)
                try:
                    same = old is value or bool(old == value)
                except Exception:
                    same = False
                if not same:
                    writes.append(f"{self.name}.{name} = {value!r} (was {old!r})")
            super(watched_class, self).__setattr__(name, value)

        watched_class = type(base.__name__, (base,), {"__setattr__": __setattr__})
        obj.__class__ = watched_class
        watched.add(id(obj))

    for layer in model.layers:
        watch(layer)
    watch(model)
    return writes


def test_predict_changes_no_layer_setting_even_for_a_moment(kata):
    model = model_with(PARAMS)
    writes = watch_setting_writes(model)
    x = batch(8, seed=12)
    yours = kata.predict(model, x)
    assert not writes, (
        "predict changed layer settings, even if it set them back afterwards: "
        + "; ".join(writes[:6])
        + ". Inference mode comes from the call itself: model(x, training=False), or model.predict(x)")
    assert_logits(yours, expected_logits(x), "predict on a watched model")


def test_training_mode_would_have_been_wrong(kata, model):
    """Why training=True is wrong at inference, shown on a copy of the model."""
    x = batch(8, seed=3)
    yours = kata.predict(model, x)
    assert_logits(yours, expected_logits(x), "predict")
    trained_call = model_with(PARAMS)
    in_training_mode = trained_call(x, training=True).numpy()
    assert not np.allclose(in_training_mode, yours, atol=1e-3), "(the test's demonstration is broken)"
    assert not np.array_equal(trained_call.get_layer("bn").moving_mean.numpy(), PARAMS["bn/moving_mean"]), (
        "(the test's demonstration is broken: a training-mode call should update the moving mean)")


@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_predict_any_batch_size(kata, model, n):
    x = batch(n, seed=n, scale=2.0)
    assert_logits(kata.predict(model, x), expected_logits(x), f"predict on a batch of {n}")


def test_predict_accepts_float64_and_tensors_and_leaves_x_alone(kata, model):
    x = batch(5, seed=4).astype(np.float64)
    before = snapshot(x)
    assert_logits(kata.predict(model, x), expected_logits(x), "predict on float64 x")
    assert np.array_equal(x, before) and x.dtype == before.dtype, "predict modified x"
    assert_logits(kata.predict(model, tf.constant(batch(3, seed=5))), expected_logits(batch(3, seed=5)),
                  "predict on a tf.Tensor")
    # tf.convert_to_tensor(x, tf.float32) casts a float64 numpy array but raises for a float64 tensor.
    x64 = tf.constant(batch(2, seed=13), dtype=tf.float64)
    assert_logits(kata.predict(model, x64), expected_logits(batch(2, seed=13)), "predict on a float64 tf.Tensor")


@pytest.mark.parametrize("shape", [(NUM_FEATURES,), (2, NUM_FEATURES - 1), (0, NUM_FEATURES), (2, 2, NUM_FEATURES)],
                         ids=["1-D", "7-features", "no-rows", "3-D"])
def test_predict_rejects_bad_x(kata, model, shape):
    with pytest.raises(ValueError):
        kata.predict(model, np.zeros(shape, dtype=np.float32))


def test_predict_works_for_any_weights(kata):
    params = random_params(np.random.default_rng(77))
    x = batch(10, seed=6)
    expected = model_with(params)(x, training=False).numpy()
    assert_logits(kata.predict(model_with(params), x), expected, "predict on a model with other weights")


# ---- forward_numpy ------------------------------------------------------------------------------

def forward64(params, x):
    """The float64 oracle, and the size of the values it went through (for the tolerance)."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x = np.asarray(x, dtype=np.float64)
    h = x @ p["dense/kernel"] + p["dense/bias"]
    scale = 1.0 / np.sqrt(p["bn/moving_variance"] + BN_EPSILON)
    h = np.maximum((h - p["bn/moving_mean"]) * scale * p["bn/gamma"] + p["bn/beta"], 0.0)
    logits = h @ p["logits/kernel"] + p["logits/bias"]
    # Magnitudes: the same computation on absolute values bounds every intermediate sum.
    m = np.abs(x) @ np.abs(p["dense/kernel"]) + np.abs(p["dense/bias"])
    m = (m + np.abs(p["bn/moving_mean"])) * scale * np.abs(p["bn/gamma"]) + np.abs(p["bn/beta"])
    size = m @ np.abs(p["logits/kernel"]) + np.abs(p["logits/bias"])
    return logits, size


def assert_forward(yours, params, x, what="forward_numpy"):
    __tracebackhide__ = True
    expected, size = forward64(params, x)
    assert isinstance(yours, np.ndarray), f"{what}: return a numpy array, got {type(yours).__name__}"
    assert yours.dtype == np.float32, f"{what}: return float32, got {yours.dtype}"
    assert yours.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {yours.shape}"
    tolerance = 1e-5 * (1.0 + size)
    bad = np.abs(yours.astype(np.float64) - expected) > tolerance
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise AssertionError(
            f"{what}: row {row} differs from inference-mode batch normalisation "
            f"((h - moving_mean) / sqrt(moving_variance + {BN_EPSILON}) * gamma + beta, dropout as identity)\n"
            f"  x:        {describe(np.asarray(x)[row])}\n"
            f"  expected: {describe(expected[row].astype(np.float32))}\n  yours:    {describe(yours[row])}")


def assert_agrees_with_keras(yours, keras_logits, params, x, what):
    """forward_numpy against Keras: both are float32 computations, each within 1e-5 * (1 + size) of the
    exact values (any order of operations), so they may differ by twice that, not by a fixed 1e-5."""
    __tracebackhide__ = True
    _, size = forward64(params, x)
    assert isinstance(yours, np.ndarray) and yours.shape == keras_logits.shape, (
        f"{what}: expected a numpy array of shape {keras_logits.shape}, got {describe(yours)}")
    bad = np.abs(yours.astype(np.float64) - keras_logits) > 2e-5 * (1.0 + size)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise AssertionError(f"{what}: row {row} differs from model(x, training=False)\n"
                             f"  expected: {describe(keras_logits[row])}\n  yours:    {describe(yours[row])}")


def test_forward_numpy_on_the_model(kata):
    x = batch(20, seed=7)
    assert_forward(kata.forward_numpy(PARAMS, x), PARAMS, x)


def test_forward_numpy_agrees_with_keras(kata):
    x = batch(12, seed=8, scale=2.0)
    yours = kata.forward_numpy(PARAMS, x)
    assert isinstance(yours, np.ndarray) and yours.dtype == np.float32, (
        f"forward_numpy must return a float32 numpy array, got {describe(yours)}")
    assert_agrees_with_keras(yours, expected_logits(x), PARAMS, x, "forward_numpy against model(x, training=False)")


def test_forward_numpy_single_row_uses_moving_statistics(kata):
    x = batch(1, seed=9)
    assert_forward(kata.forward_numpy(PARAMS, x), PARAMS, x, "forward_numpy on one row")


def test_epsilon_goes_under_the_square_root(kata):
    # Tiny moving variances: epsilon dominates, so leaving it out or adding it outside the root shows.
    params = random_params(np.random.default_rng(10))
    params["bn/moving_variance"] = np.array([0.0, 1e-4, 1e-3, 4e-3] * (HIDDEN // 4), dtype=np.float32)
    x = batch(6, seed=10)
    yours = kata.forward_numpy(params, x)
    assert_forward(yours, params, x, "forward_numpy with moving variances near 0")
    assert_agrees_with_keras(yours, model_with(params)(x, training=False).numpy(), params, x,
                             "forward_numpy against Keras, variances near 0")


@pytest.mark.parametrize("features, hidden, classes", [(1, 1, 1), (3, 5, 2), (8, 16, 3), (12, 32, 10)])
def test_forward_numpy_any_sizes_agree_with_keras(kata, features, hidden, classes):
    params = random_params(np.random.default_rng(features * 100 + hidden), features, hidden, classes)
    x = np.random.default_rng(hidden).normal(size=(4, features)).astype(np.float32)
    yours = kata.forward_numpy(params, x)
    assert_forward(yours, params, x, f"forward_numpy with {features} features, {hidden} hidden, {classes} classes")
    keras_logits = model_with(params)(x, training=False).numpy()
    expected, size = forward64(params, x)
    assert np.all(np.abs(keras_logits - expected) <= 1e-5 * (1.0 + size)), (
        "(the test's float64 oracle disagrees with Keras)")


def test_forward_numpy_leaves_params_and_x_alone(kata):
    params = {k: v.copy() for k, v in PARAMS.items()}
    x = batch(5, seed=11).astype(np.float64)
    before_params, before_x = snapshot(params), snapshot(x)
    kata.forward_numpy(params, x)
    assert set(params) == set(before_params), "forward_numpy added or removed keys of params"
    changed = [k for k in KEYS if not np.array_equal(params[k], before_params[k])]
    assert not changed, f"forward_numpy modified params[{changed[0]!r}] in place"
    assert np.array_equal(x, before_x) and x.dtype == before_x.dtype, "forward_numpy modified x"


@st.composite
def forward_cases(draw):
    """(params, x): consistent random sizes and values, moving variances from 0 up."""
    features = draw(st.integers(1, 6), label="features")
    hidden = draw(st.integers(1, 8), label="hidden")
    classes = draw(st.integers(1, 4), label="classes")
    n = draw(st.integers(1, 5), label="rows")
    values = st.floats(-3, 3, width=32, allow_subnormal=False)
    shapes = {"dense/kernel": (features, hidden), "dense/bias": (hidden,), "bn/gamma": (hidden,),
              "bn/beta": (hidden,), "bn/moving_mean": (hidden,), "logits/kernel": (hidden, classes),
              "logits/bias": (classes,)}
    params = {k: draw(hnp.arrays(np.float32, shape, elements=values), label=k) for k, shape in shapes.items()}
    params["bn/moving_variance"] = draw(hnp.arrays(np.float32, (hidden,), elements=st.floats(
        0, 4, width=32, allow_subnormal=False)), label="bn/moving_variance")
    x = draw(hnp.arrays(draw(st.sampled_from([np.float32, np.float64]), label="x dtype"), (n, features),
                        elements=values), label="x")
    return params, x


def forward_close(params, x):
    def equal(yours, expected):
        if not isinstance(yours, np.ndarray) or yours.dtype != np.float32 or yours.shape != expected.shape:
            return False
        _, size = forward64(params, x)
        return bool(np.all(np.abs(yours.astype(np.float64) - expected) <= 2e-5 * (1.0 + size)))

    return equal


@settings(max_examples=60)
@given(case=forward_cases())
def test_forward_numpy_matches_reference_on_generated_weights(kata, differential, case):
    params, x = case
    assert_forward(kata.forward_numpy({k: v.copy() for k, v in params.items()}, x.copy()), params, x)
    differential("forward_numpy", params, x, equal=forward_close(params, x))
