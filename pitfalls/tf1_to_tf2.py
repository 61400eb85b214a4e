"""Known wrong answers for tf1_to_tf2, and correct answers written differently.

Mistakes in predict are also mistakes of the reference's make_serving_fn, which wraps
whatever predict the module holds: a predict that only works eagerly is caught there.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)
W1, B1, W2, N_FEATURES, N_CLASSES = ref.W1, ref.B1, ref.W2, ref.N_FEATURES, ref.N_CLASSES
SIGNATURE = [tf.TensorSpec([None, 4], tf.float32), tf.TensorSpec([], tf.float32)]


def _module(seen_dtype=tf.int64, seen_trainable=False):
    model = tf.Module()
    model.w1, model.b1, model.w2 = tf.Variable(W1), tf.Variable(B1), tf.Variable(W2)
    model.seen = tf.Variable(0, dtype=seen_dtype, trainable=seen_trainable)
    return model


def _checked(x):
    x = tf.convert_to_tensor(x, dtype=tf.float32)
    if x.shape.rank != 2 or x.shape[1] != N_FEATURES:
        raise ValueError("x must be (batch, 4)")
    return x


def _logits(model, x):
    return tf.nn.relu(x @ model.w1 + model.b1) @ model.w2


def _greedy(logits):
    return tf.one_hot(tf.argmax(logits, axis=1), N_CLASSES)


# ---- make_model -------------------------------------------------------------------------------

@pitfall("make_model",
         "Makes the counter with tf.Variable's default trainable=True: get_variable(..., trainable=False) in "
         "TF1 means trainable=False in TF2, or an optimizer would try to train the counter.")
def counter_is_trainable():
    return _module(seen_trainable=True)


@pitfall("make_model",
         "Keeps the weights as tf.constant: a module with no variables, which cannot be assigned, checkpointed "
         "or listed in trainable_variables.")
def weights_as_constants():
    model = tf.Module()
    model.w1, model.b1, model.w2 = tf.constant(W1), tf.constant(B1), tf.constant(W2)
    model.seen = tf.Variable(0, dtype=tf.int64, trainable=False)
    return model


_SHARED_SEEN = tf.Variable(0, dtype=tf.int64, trainable=False)


@pitfall("make_model",
         "Makes the counter once at import and hands the same variable to every model, so two models count "
         "together (TF1's variable reuse, carried over).")
def one_counter_for_every_model():
    _SHARED_SEEN.assign(0)
    model = _module()
    model.seen = _SHARED_SEEN
    return model


@pitfall("make_model",
         "Makes the counter as tf.Variable(0), an int32: the graph's counter was int64, and so is 'seen'.")
def counter_is_int32():
    return _module(seen_dtype=tf.int32)


# ---- predict ----------------------------------------------------------------------------------

@pitfall("predict",
         "Ports the cond as `temperature == 0`: a negative temperature then divides the logits by a negative "
         "number instead of going greedy.")
def greedy_only_at_zero(model, x, temperature=1.0):
    x = _checked(x)
    logits = _logits(model, x)
    if temperature == 0.0:
        probs = _greedy(logits)
    else:
        probs = tf.nn.softmax(logits / temperature)
    seen = tf.identity(model.seen.assign_add(tf.cast(tf.shape(x)[0], tf.int64)))
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


@pitfall("predict",
         "Drops the cond and always takes softmax(logits / temperature): a temperature of 0 gives NaN, not the "
         "greedy one-hot.")
def always_softmax(model, x, temperature=1.0):
    x = _checked(x)
    logits = _logits(model, x)
    probs = tf.nn.softmax(logits / temperature)
    seen = tf.identity(model.seen.assign_add(tf.cast(tf.shape(x)[0], tf.int64)))
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


@pitfall("predict",
         "Ports keep_dims=True as nothing: reduce_max without keepdims gives confidence of shape (batch,), not "
         "(batch, 1).")
def confidence_without_keepdims(model, x, temperature=1.0):
    out = ref.predict(model, x, temperature)
    out["confidence"] = tf.reduce_max(out["probs"], axis=1)
    return out


@pitfall("predict",
         "Returns what assign_add returns in eager mode: a handle that reads the counter again later, so an "
         "earlier result's 'seen' changes after later calls.")
def returns_the_counter_handle(model, x, temperature=1.0):
    out = ref.predict(model, x, temperature)
    model.seen.assign_add(-out["seen"] + out["seen"])  # keep the count; only the returned object changes
    out["seen"] = model.seen.assign_add(0)
    return out


@pitfall("predict",
         "Adds 1 per call instead of the batch size: the graph's counter counts examples, not session runs.")
def counts_calls_not_examples(model, x, temperature=1.0):
    x = _checked(x)
    logits = _logits(model, x)
    probs = tf.nn.softmax(logits / temperature) if temperature > 0 else _greedy(logits)
    seen = tf.identity(model.seen.assign_add(1))
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


@pitfall("predict",
         "Reads the counter before adding the batch: assign_add returned the value AFTER the addition.")
def reads_the_counter_before_adding(model, x, temperature=1.0):
    x = _checked(x)
    logits = _logits(model, x)
    probs = tf.nn.softmax(logits / temperature) if temperature > 0 else _greedy(logits)
    seen = tf.identity(model.seen)
    model.seen.assign_add(tf.cast(tf.shape(x)[0], tf.int64))
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


@pitfall("predict",
         "Counts with x.shape[0], which is None while a tf.function traces a [None, 4] signature: fine eagerly, "
         "broken in the serving function. Use tf.shape(x)[0].")
def static_batch_size(model, x, temperature=1.0):
    x = _checked(x)
    logits = _logits(model, x)
    probs = tf.nn.softmax(logits / temperature) if temperature > 0 else _greedy(logits)
    seen = tf.identity(model.seen.assign_add(tf.constant(x.shape[0], tf.int64)))
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


@pitfall("predict",
         "Reads the temperature into numpy to branch on it: works eagerly, but a traced temperature has no value, "
         "so the serving function cannot be built. Compare tensors and let AutoGraph turn the if into tf.cond.")
def numpy_temperature(model, x, temperature=1.0):
    x = _checked(x)
    logits = _logits(model, x)
    t = float(np.asarray(temperature))
    probs = tf.nn.softmax(logits / t) if t > 0 else _greedy(logits)
    seen = tf.identity(model.seen.assign_add(tf.cast(tf.shape(x)[0], tf.int64)))
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


@pitfall("predict",
         "Returns numpy values, as session.run did: TF2 functions return tensors, and .numpy() fails inside "
         "a tf.function.")
def returns_numpy_like_session_run(model, x, temperature=1.0):
    return {key: value.numpy() for key, value in ref.predict(model, x, temperature).items()}


@pitfall("predict",
         "Asks tf.argmax for int32 labels (output_type=tf.int32): tf.compat.v1.argmax gave int64.")
def int32_labels(model, x, temperature=1.0):
    out = ref.predict(model, x, temperature)
    out["label"] = tf.cast(out["label"], tf.int32)
    return out


@pitfall("predict",
         "Has no shape check: the counter is updated first and a feed of the wrong shape fails later inside "
         "matmul, with InvalidArgumentError instead of ValueError.")
def no_shape_check(model, x, temperature=1.0):
    x = tf.convert_to_tensor(x, dtype=tf.float32)
    seen = tf.identity(model.seen.assign_add(tf.cast(tf.shape(x)[0], tf.int64)))
    logits = _logits(model, x)
    probs = tf.nn.softmax(logits / temperature) if temperature > 0 else _greedy(logits)
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


# ---- make_serving_fn --------------------------------------------------------------------------

@pitfall("make_serving_fn",
         "tf.function without an input_signature: every new batch size and every new Python temperature traces "
         "again, and get_concrete_function() needs example arguments.")
def no_input_signature(model):
    return tf.function(lambda x, temperature=1.0: ref.predict(model, x, temperature))


@pitfall("make_serving_fn",
         "Makes a new model inside the serving function, so serving keeps its own counter apart from the model "
         "it was given.")
def new_model_inside_the_function(model):
    own = []

    @tf.function(input_signature=SIGNATURE)
    def serve(x, temperature=1.0):
        if not own:
            own.append(ref.make_model())
        return ref.predict(own[0], x, temperature)

    return serve


@pitfall("make_serving_fn",
         "Returns an eager wrapper of predict rather than a tf.function: nothing is traced, and there is no graph "
         "to export.")
def eager_wrapper(model):
    return functools.partial(ref.predict, model)


@pitfall("make_serving_fn",
         "Fixes the batch size in the signature (TensorSpec([1, 4])) where the placeholder said None: any other "
         "batch size is rejected.")
def fixed_batch_signature(model):
    signature = [tf.TensorSpec([1, 4], tf.float32), tf.TensorSpec([], tf.float32)]
    return tf.function(lambda x, temperature=1.0: ref.predict(model, x, temperature), input_signature=signature)


# ---- correct answers written differently: the tests must accept every one of them -----------

class Classifier(tf.Module):
    """The model as a tf.Module subclass: variables made in __init__."""

    def __init__(self):
        super().__init__(name="classifier")
        self.w1 = tf.Variable(np.array(W1), name="w1")
        self.b1 = tf.Variable(np.array(B1), name="b1")
        self.w2 = tf.Variable(np.array(W2), name="w2")
        self.seen = tf.Variable(tf.constant(0, tf.int64), trainable=False, name="seen")


@pitfall("predict",
         "Takes the label as the argmax of probs instead of logits: at a large temperature the probabilities "
         "round to equal values and the argmax falls on class 0; the graph's label is argmax(logits).")
def label_from_probs(model, x, temperature=1.0):
    out = ref.predict(model, x, temperature)
    out["label"] = tf.argmax(out["probs"], axis=1)
    return out


@pitfall("predict",
         "Sharpens with softmax(logits) ** (1 / temperature), renormalised: equal on paper, but at a small "
         "temperature every power underflows to 0 and the rows become 0 / 0 = NaN.")
def softmax_to_the_power(model, x, temperature=1.0):
    x = _checked(x)
    logits = _logits(model, x)
    temperature = tf.convert_to_tensor(temperature, tf.float32)
    if temperature > 0.0:
        powered = tf.nn.softmax(logits) ** (1.0 / temperature)
        probs = powered / tf.reduce_sum(powered, axis=1, keepdims=True)
    else:
        probs = _greedy(logits)
    seen = tf.identity(model.seen.assign_add(tf.cast(tf.shape(x)[0], tf.int64)))
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


@pitfall("predict",
         "Writes the softmax as exp(z) / sum(exp(z)) without subtracting the row maximum: at a small temperature "
         "exp overflows to inf and the row becomes inf / inf = NaN.")
def naive_softmax(model, x, temperature=1.0):
    x = _checked(x)
    logits = _logits(model, x)
    temperature = tf.convert_to_tensor(temperature, tf.float32)
    if temperature > 0.0:
        e = tf.exp(logits / temperature)
        probs = e / tf.reduce_sum(e, axis=1, keepdims=True)
    else:
        probs = _greedy(logits)
    seen = tf.identity(model.seen.assign_add(tf.cast(tf.shape(x)[0], tf.int64)))
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


@alternative("make_model", "A tf.Module subclass whose __init__ makes the four variables.")
def module_subclass():
    return Classifier()


@alternative("predict",
             "Computes both branches and picks with tf.where (the greedy one wins where temperature <= 0), with "
             "bias_add, and read_value() after assign_add(read_value=False).")
def both_branches_with_where(model, x, temperature=1.0):
    x = tf.convert_to_tensor(x, dtype=tf.float32)
    if len(x.shape) != 2 or x.shape[-1] != 4:
        raise ValueError(f"bad shape {x.shape}")
    temperature = tf.cast(temperature, tf.float32)
    logits = tf.matmul(tf.nn.relu(tf.nn.bias_add(tf.matmul(x, model.w1), model.b1)), model.w2)
    label = tf.math.argmax(logits, axis=-1, output_type=tf.int64)
    greedy = tf.one_hot(label, depth=3, dtype=tf.float32)
    safe = tf.where(temperature > 0, temperature, 1.0)  # no division by zero in the branch not taken
    probs = tf.where(temperature > 0, tf.nn.softmax(logits / safe, axis=-1), greedy)
    model.seen.assign_add(tf.cast(tf.size(label), tf.int64), read_value=False)
    return {"probs": probs, "label": label, "confidence": tf.math.reduce_max(probs, axis=-1, keepdims=True),
            "seen": model.seen.read_value()}


@alternative("predict", "Writes the conditional as an explicit tf.cond, as the TF1 graph did.")
def explicit_tf_cond(model, x, temperature=1.0):
    x = _checked(x)
    temperature = tf.convert_to_tensor(temperature, tf.float32)
    logits = _logits(model, x)
    probs = tf.cond(temperature > 0.0, lambda: tf.nn.softmax(logits / temperature), lambda: _greedy(logits))
    seen = tf.convert_to_tensor(model.seen.assign_add(tf.shape(x, out_type=tf.int64)[0]))
    return {"probs": probs, "label": tf.argmax(logits, 1),
            "confidence": tf.expand_dims(tf.reduce_max(probs, 1), -1), "seen": seen}


@alternative("make_serving_fn", "tf.function over a functools.partial of predict, with the signature.")
def partial_of_predict(model):
    return tf.function(functools.partial(ref.predict, model), input_signature=SIGNATURE)


@alternative("predict",
             "A hand-written stable softmax (subtract the row maximum, exp, divide by the sum) and a Python if.")
def hand_written_stable_softmax(model, x, temperature=1.0):
    x = _checked(x)
    logits = _logits(model, x)
    label = tf.argmax(logits, axis=1)
    temperature = tf.convert_to_tensor(temperature, tf.float32)
    if temperature > 0.0:
        z = logits / temperature
        e = tf.exp(z - tf.reduce_max(z, axis=1, keepdims=True))
        probs = e / tf.reduce_sum(e, axis=1, keepdims=True)
    else:
        probs = tf.cast(tf.equal(tf.range(N_CLASSES, dtype=tf.int64)[None, :], label[:, None]), tf.float32)
    model.seen.assign_add(tf.cast(tf.shape(x)[0], tf.int64))
    return {"probs": probs, "label": label, "confidence": tf.reduce_max(probs, axis=1, keepdims=True),
            "seen": tf.identity(model.seen.value())}


@alternative("predict",
             "Computes the logits and the softmax in float64 (more exact than the session) and casts to float32.")
def float64_inside(model, x, temperature=1.0):
    x = _checked(x)
    wide = lambda value: tf.cast(value, tf.float64)
    logits = tf.nn.relu(wide(x) @ wide(model.w1) + wide(model.b1)) @ wide(model.w2)
    temperature = wide(tf.convert_to_tensor(temperature, tf.float32))
    if temperature > 0.0:
        probs = tf.cast(tf.nn.softmax(logits / temperature), tf.float32)
    else:
        probs = _greedy(logits)
    seen = tf.identity(model.seen.assign_add(tf.cast(tf.shape(x)[0], tf.int64)))
    return {"probs": probs, "label": tf.argmax(logits, axis=1),
            "confidence": tf.reduce_max(probs, axis=1, keepdims=True), "seen": seen}


@alternative("predict",
             "einsum for the layers, tf.cond with the branches swapped (t <= 0 first), and the counter read under "
             "control_dependencies on its assign_add.")
def einsum_and_control_dependencies(model, x, temperature=1.0):
    x = _checked(x)
    t = tf.constant(1.0) * temperature
    hidden = tf.maximum(tf.einsum("bi,ih->bh", x, model.w1) + model.b1, 0.0)
    logits = tf.einsum("bh,hc->bc", hidden, model.w2)
    probs = tf.cond(t <= 0.0, lambda: _greedy(logits), lambda: tf.nn.softmax(logits / t, axis=-1))
    with tf.control_dependencies([model.seen.assign_add(tf.shape(x, out_type=tf.int64)[0])]):
        seen = model.seen.read_value()
    return {"probs": probs, "label": tf.argmax(logits, 1), "confidence": tf.expand_dims(tf.reduce_max(probs, -1), -1),
            "seen": seen}


class _Server(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=SIGNATURE)
    def serve(self, x, temperature=1.0):
        return ref.predict(self.model, x, temperature)


@alternative("make_serving_fn",
             "A tf.function method of a tf.Module that holds the model; the model keeps the server alive, since a "
             "bound tf.function holds its instance only weakly.")
def bound_method_of_a_server(model):
    server = _Server(model)
    model.server = server
    return server.serve
