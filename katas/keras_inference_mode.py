"""Run a Keras model with dropout and batch normalisation in inference mode.

Two layers behave differently in training and at inference, and Keras picks the behaviour
from the ``training`` argument of the call:

- ``Dropout(rate)``: in training it zeroes a random fraction ``rate`` of its inputs and
  scales the rest by ``1 / (1 - rate)`` ("inverted" dropout, so that the expected value is
  unchanged). At inference it passes its input through untouched: no zeroing, no scaling.
- ``BatchNormalization``: in training it normalises each unit with the mean and variance of
  the CURRENT BATCH, and updates its ``moving_mean`` and ``moving_variance`` towards them.
  At inference it normalises with those moving statistics, learned over the whole training
  set: ``(h - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta``.

Calling a model with ``training=True`` to make predictions is a classic bug. The results are
random (dropout), each example's prediction depends on the other examples in its batch (a
batch of one is normalised to ``beta`` alone), and every call silently overwrites the moving
statistics, so the model gets worse the more it serves. ``model(x, training=False)`` (or
``model.predict(x)``) is deterministic, treats every example on its own, and leaves the
model as it was.

The model and a helper that reads its weights are given.
"""

from __future__ import annotations

import numpy as np
from tensorflow import keras

NUM_FEATURES, HIDDEN, NUM_CLASSES = 8, 16, 3
DROPOUT_RATE = 0.5
BN_EPSILON = 1e-3


def build_model(seed: int = 0):
    """The classifier (given): Dense(16) -> BatchNormalization -> ReLU -> Dropout(0.5) -> Dense(3).

    It returns logits. Its weights are set as if it had been trained: in particular the
    moving mean and variance of the batch normalisation are far from their initial 0 and 1.
    The layers are named "dense", "bn", "relu", "dropout" and "logits".
    """
    rng = np.random.default_rng(seed)
    model = keras.Sequential([
        keras.Input((NUM_FEATURES,)),
        keras.layers.Dense(HIDDEN, name="dense"),
        keras.layers.BatchNormalization(epsilon=BN_EPSILON, name="bn"),
        keras.layers.ReLU(name="relu"),
        keras.layers.Dropout(DROPOUT_RATE, name="dropout"),
        keras.layers.Dense(NUM_CLASSES, name="logits"),
    ], name="classifier")
    model.get_layer("dense").set_weights([rng.normal(0.0, 0.6, (NUM_FEATURES, HIDDEN)),
                                          rng.normal(0.0, 0.5, HIDDEN)])
    model.get_layer("bn").set_weights([rng.uniform(0.5, 2.0, HIDDEN),    # gamma
                                       rng.normal(0.0, 0.5, HIDDEN),     # beta
                                       rng.normal(0.0, 1.5, HIDDEN),     # moving_mean
                                       rng.uniform(0.2, 3.0, HIDDEN)])   # moving_variance
    model.get_layer("logits").set_weights([rng.normal(0.0, 0.5, (HIDDEN, NUM_CLASSES)),
                                           rng.normal(0.0, 0.2, NUM_CLASSES)])
    return model


def model_params(model) -> dict[str, np.ndarray]:
    """The model's weights by "layer/weight" name, as new float32 numpy arrays (given).

    Keys: "dense/kernel" (features, hidden), "dense/bias" (hidden,), "bn/gamma", "bn/beta",
    "bn/moving_mean", "bn/moving_variance" (each (hidden,)), "logits/kernel"
    (hidden, classes) and "logits/bias" (classes,).
    """
    return {f"{layer.name}/{weight.name}": np.array(weight.numpy(), dtype=np.float32)
            for layer in model.layers for weight in layer.weights}


def predict(model, x) -> np.ndarray:
    """The model's logits for a batch, computed in inference mode.

    Inference mode: Dropout passes its input through, and BatchNormalization normalises with
    its moving statistics, not with the batch's. So the result is deterministic (the same x
    gives the same logits on every call), each row's logits do not depend on the other rows
    of x, and the model is left exactly as it was: no weight, moving statistic or layer
    setting (a dropout rate, a trainable flag) may change, not even temporarily.

    Args:
        model: a built Keras model like the one build_model returns (any weights).
        x: a numpy array or tf.Tensor of shape ``(n, NUM_FEATURES)`` with n >= 1, float32
            or float64. It is not modified.

    Returns:
        A numpy float32 array of shape ``(n, NUM_CLASSES)``: what
        ``model(x, training=False)`` computes.

    Raises:
        ValueError: if x is not 2-D, has no rows, or does not have NUM_FEATURES columns.

    Example:
        >>> model = build_model()
        >>> x = np.random.default_rng(0).normal(size=(4, NUM_FEATURES))
        >>> logits = predict(model, x)
        >>> logits.shape, logits.dtype
        ((4, 3), dtype('float32'))
        >>> bool(np.array_equal(logits, predict(model, x)))  # deterministic
        True
        >>> bool(np.allclose(logits[2:3], predict(model, x[2:3]), atol=1e-5))  # rows are independent
        True
    """
    raise NotImplementedError


def forward_numpy(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The same inference computation in numpy alone, from the weights model_params returns.

    For each row of x, in order:

    1. the dense layer: ``h = x @ params["dense/kernel"] + params["dense/bias"]``;
    2. batch normalisation at inference: each unit of h is normalised with the MOVING mean
       and variance, with BN_EPSILON added to the variance under the square root as Keras
       does, then scaled by gamma and shifted by beta;
    3. ReLU;
    4. dropout at inference (Keras's dropout is inverted: nothing to do here);
    5. the output layer: ``h @ params["logits/kernel"] + params["logits/bias"]``.

    The sizes are whatever the arrays say (not necessarily 8, 16 and 3): features from
    dense/kernel's first axis, hidden units from its second, classes from logits/kernel's
    second. Use numpy only: no Keras, no TensorFlow. Any order of operations that computes
    this is fine; the tests allow for float32 rounding (they compare with a float64
    computation, relative to the size of the intermediate values).

    Args:
        params: a dict with the keys model_params returns, float32 arrays of consistent
            shapes, every moving variance >= 0. Neither the dict nor its arrays are modified.
        x: a float32 or float64 numpy array of shape ``(n, features)`` with n >= 1. It is not
            modified.

    Returns:
        A float32 numpy array of shape ``(n, classes)``, equal to the model's
        ``model(x, training=False)`` up to float32 rounding.

    Example:
        >>> model = build_model()
        >>> x = np.random.default_rng(0).normal(size=(4, NUM_FEATURES)).astype(np.float32)
        >>> logits = forward_numpy(model_params(model), x)
        >>> bool(np.allclose(logits, predict(model, x), rtol=1e-5, atol=1e-5))
        True
    """
    raise NotImplementedError
