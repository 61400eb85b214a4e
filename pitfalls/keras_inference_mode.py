"""Known wrong answers for keras_inference_mode, and correct answers written differently."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)
BN_EPSILON = ref.BN_EPSILON


def _check(x):
    shape = tuple(x.shape)
    if len(shape) != 2 or shape[0] < 1 or shape[1] != ref.NUM_FEATURES:
        raise ValueError(f"x must have shape (n >= 1, {ref.NUM_FEATURES}), got {shape}")


# ---- predict ----------------------------------------------------------------------------------

@pitfall("predict",
         "Calls the model with training=True: dropout zeroes random units, batch normalisation uses the batch's "
         "statistics and overwrites the moving ones.")
def training_mode(model, x):
    _check(x)
    return np.asarray(model(x, training=True), dtype=np.float32)


@pitfall("predict",
         "Sets the dropout rate to 0 to make a training-mode call deterministic: batch normalisation still uses "
         "the batch's statistics and rewrites the moving ones, and the model's dropout is gone for good.")
def disables_dropout_then_trains(model, x):
    _check(x)
    model.get_layer("dropout").rate = 0.0
    return np.asarray(model(x, training=True), dtype=np.float32)


@pitfall("predict",
         "Freezes batch normalisation (trainable = False, which makes Keras use the moving statistics) but keeps "
         "training=True: dropout is still active, and the model's trainable flag is changed.")
def freezes_batch_norm_only(model, x):
    _check(x)
    model.get_layer("bn").trainable = False
    return np.asarray(model(x, training=True), dtype=np.float32)


@pitfall("predict",
         "Saves the batch normalisation's weights, calls with training=True and restores them afterwards: the "
         "model survives, but the logits are still random and depend on the rest of the batch.")
def restores_the_moving_statistics(model, x):
    _check(x)
    bn = model.get_layer("bn")
    saved = bn.get_weights()
    try:
        return np.asarray(model(x, training=True), dtype=np.float32)
    finally:
        bn.set_weights(saved)


@pitfall("predict",
         "Sets model.trainable = False to put the model 'in inference mode': that only freezes the weights for "
         "fit (and changes the caller's model); the call's training argument is what selects inference.")
def freezes_the_model(model, x):
    _check(x)
    model.trainable = False
    return np.asarray(model(x, training=False), dtype=np.float32)


@pitfall("predict", "Returns the tf.Tensor the model gives instead of a numpy array.")
def returns_a_tensor(model, x):
    _check(x)
    return model(x, training=False)


# ---- forward_numpy ----------------------------------------------------------------------------

def _dense(params, x):
    return np.asarray(x, dtype=np.float32) @ params["dense/kernel"] + params["dense/bias"]


def _head(params, h):
    return (np.maximum(h, 0.0) @ params["logits/kernel"] + params["logits/bias"]).astype(np.float32)


@pitfall("forward_numpy",
         "Normalises with the batch's mean and variance (training-mode batch normalisation) instead of the "
         "moving statistics.")
def batch_statistics(params, x):
    h = _dense(params, x)
    h = (h - h.mean(axis=0)) / np.sqrt(h.var(axis=0) + BN_EPSILON) * params["bn/gamma"] + params["bn/beta"]
    return _head(params, h)


@pitfall("forward_numpy",
         "Adds epsilon outside the square root, sqrt(var) + eps: wrong whenever the variance is small.")
def epsilon_outside_the_root(params, x):
    h = _dense(params, x)
    h = (h - params["bn/moving_mean"]) / (np.sqrt(params["bn/moving_variance"]) + BN_EPSILON)
    return _head(params, h * params["bn/gamma"] + params["bn/beta"])


@pitfall("forward_numpy", "Leaves epsilon out: divides by sqrt(moving_variance) alone.")
def no_epsilon(params, x):
    h = _dense(params, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (h - params["bn/moving_mean"]) / np.sqrt(params["bn/moving_variance"])
    return _head(params, h * params["bn/gamma"] + params["bn/beta"])


@pitfall("forward_numpy",
         "Scales by (1 - rate) at inference, the convention of non-inverted dropout; Keras scales during "
         "training instead, so inference must not.")
def scales_by_keep_probability(params, x):
    h = _dense(params, x)
    h = (h - params["bn/moving_mean"]) / np.sqrt(params["bn/moving_variance"] + BN_EPSILON)
    h = np.maximum(h * params["bn/gamma"] + params["bn/beta"], 0.0) * (1.0 - ref.DROPOUT_RATE)
    return (h @ params["logits/kernel"] + params["logits/bias"]).astype(np.float32)


@pitfall("forward_numpy", "Divides by the variance instead of the standard deviation.")
def divides_by_variance(params, x):
    h = _dense(params, x)
    h = (h - params["bn/moving_mean"]) / (params["bn/moving_variance"] + BN_EPSILON)
    return _head(params, h * params["bn/gamma"] + params["bn/beta"])


@pitfall("forward_numpy", "Applies the ReLU before batch normalisation instead of after it.")
def relu_before_batch_norm(params, x):
    h = np.maximum(_dense(params, x), 0.0)
    h = (h - params["bn/moving_mean"]) / np.sqrt(params["bn/moving_variance"] + BN_EPSILON)
    h = h * params["bn/gamma"] + params["bn/beta"]
    return (h @ params["logits/kernel"] + params["logits/bias"]).astype(np.float32)


@pitfall("forward_numpy",
         "Adds epsilon to params['bn/moving_variance'] in place (+=), changing the caller's weights.")
def adds_epsilon_in_place(params, x):
    variance = params["bn/moving_variance"]
    variance += np.float32(BN_EPSILON)
    h = _dense(params, x)
    h = (h - params["bn/moving_mean"]) / np.sqrt(variance) * params["bn/gamma"] + params["bn/beta"]
    return _head(params, h)


# ---- correct answers written differently: the tests must accept every one of them -----------

@pitfall("predict",
         "Converts x with tf.convert_to_tensor(x, dtype=tf.float32): that casts a float64 numpy array but raises for "
         "a float64 tf.Tensor, which the docstring allows (use tf.cast, or let Keras cast).")
def convert_to_tensor_as_float32(model, x):
    x = tf.convert_to_tensor(x, dtype=tf.float32)
    if x.shape.rank != 2 or x.shape[0] == 0 or x.shape[1] != ref.NUM_FEATURES:
        raise ValueError("x must be (n >= 1, features)")
    return model(x, training=False).numpy()


@alternative("predict", "Uses model.predict (inference mode by default), with verbose=0.")
def keras_predict(model, x):
    _check(x)
    return model.predict(x, verbose=0).astype(np.float32)


@alternative("predict", "Calls the model without a training argument: Keras 3 defaults to inference outside fit.")
def default_call(model, x):
    _check(x)
    return model(tf.cast(x, tf.float32)).numpy()  # tf.cast: also a float64 tensor, which convert_to_tensor rejects


@alternative("forward_numpy",
             "Folds batch normalisation into the dense layer (W * gamma / sqrt(var + eps), and a new bias), "
             "as inference engines do; another order of float32 operations.")
def folded_batch_norm(params, x):
    scale = params["bn/gamma"] / np.sqrt(params["bn/moving_variance"] + np.float32(BN_EPSILON))
    kernel = params["dense/kernel"] * scale
    bias = (params["dense/bias"] - params["bn/moving_mean"]) * scale + params["bn/beta"]
    h = np.maximum(np.asarray(x, dtype=np.float32) @ kernel + bias, 0.0)
    return (h @ params["logits/kernel"] + params["logits/bias"]).astype(np.float32)


@alternative("forward_numpy", "Computes in float64 with einsum, one step at a time, and rounds at the end.")
def float64_einsum(params, x):
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    h = np.einsum("nf,fh->nh", np.asarray(x, dtype=np.float64), p["dense/kernel"]) + p["dense/bias"]
    h = (h - p["bn/moving_mean"]) * (1.0 / np.sqrt(p["bn/moving_variance"] + BN_EPSILON)) * p["bn/gamma"]
    h = np.where(h + p["bn/beta"] > 0, h + p["bn/beta"], 0.0)
    return (np.einsum("nh,hc->nc", h, p["logits/kernel"]) + p["logits/bias"]).astype(np.float32)


# ---- found in review ----------------------------------------------------------------------------

@pitfall("predict",
         "Sets the dropout rate to 0 and freezes batch normalisation for a training=True call, then sets both "
         "back: the numbers are right, but the model's settings changed while it ran, which a concurrent "
         "request or a failure halfway would see.")
def flips_settings_and_restores_them(model, x):
    dropout, batch_norm = model.get_layer("dropout"), model.get_layer("bn")
    rate, trainable = dropout.rate, batch_norm.trainable
    dropout.rate, batch_norm.trainable = 0.0, False
    try:
        return _checked_training_call(model, x)
    finally:
        dropout.rate, batch_norm.trainable = rate, trainable


def _checked_training_call(model, x):
    shape = tuple(x.shape)
    if len(shape) != 2 or shape[0] < 1 or shape[1] != ref.NUM_FEATURES:
        raise ValueError("x must be (n >= 1, NUM_FEATURES)")
    return np.asarray(model(x, training=True), dtype=np.float32)


@alternative("predict", "Calls the layers one by one with training=False, on a float32 tensor.")
def layer_by_layer(model, x):
    x = tf.convert_to_tensor(x)
    if x.shape.rank != 2 or x.shape[0] == 0 or x.shape[1] != ref.NUM_FEATURES:
        raise ValueError("x must be (n >= 1, NUM_FEATURES)")
    h = tf.cast(x, tf.float32)
    for layer in model.layers:
        h = layer(h, training=False)
    return h.numpy().astype(np.float32)


@alternative("forward_numpy",
             "Stays in float32 throughout: einsum, a reciprocal square root, gamma times the normalised value, "
             "np.where for the ReLU.")
def float32_einsum_with_reciprocal(params, x):
    x = np.asarray(x, dtype=np.float32)
    h = np.einsum("nf,fh->nh", x, params["dense/kernel"]) + params["dense/bias"]
    inverse = 1.0 / np.sqrt(params["bn/moving_variance"] + np.float32(BN_EPSILON))
    h = params["bn/gamma"] * ((h - params["bn/moving_mean"]) * inverse) + params["bn/beta"]
    h = np.where(h > 0, h, np.float32(0))
    return (np.einsum("nh,hc->nc", h, params["logits/kernel"]) + params["logits/bias"]).astype(np.float32)
