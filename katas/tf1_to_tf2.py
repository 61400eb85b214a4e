"""Port a TensorFlow 1.x graph to TensorFlow 2: eager first, then as a tf.function.

TensorFlow 1.x separated describing a computation from running it. You first built a graph:
``tf.compat.v1.placeholder`` for the inputs you would feed later, ``get_variable`` for state,
and ops wired between them, none of which computed anything. Then you opened a
``tf.compat.v1.Session``, ran the variable initializer once, and called ``session.run`` with
the tensors you wanted (the fetches) and a ``feed_dict`` giving the placeholders their
values. Only the ops the fetches depend on ran, once per ``run``.

TensorFlow 2 runs ops eagerly, as Python reaches them: a placeholder becomes a function
argument, ``placeholder_with_default`` an argument with a default, ``get_variable`` a
``tf.Variable`` made once and kept in a Python object (usually a ``tf.Module``), the
initializer disappears (a variable holds its value from the moment it is made),
``session.run`` becomes a function call, and ``tf.compat.v1.cond`` becomes a plain Python
``if``. For speed and for export you then wrap the eager function in ``tf.function``, which
traces it back into a graph: AutoGraph turns an ``if`` on a tensor into a graph conditional,
and an ``input_signature`` plays the part the placeholder shapes played, so one graph
serves every batch size.

Below is the TensorFlow 1.x model you will port, as it was written and used. It is a small
classifier: 4 features, a hidden ReLU layer of 8 units, 3 classes, a temperature that
flattens or sharpens the probabilities (a temperature of 0 or less means "greedy": a one-hot
vector at the top class), and a counter of how many examples it has scored. Leave it as it
is; the tests run their own copy of it in a session and compare your port with it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

N_FEATURES, N_HIDDEN, N_CLASSES = 4, 8, 3

# The trained weights, as the TF1 code loaded them.
W1 = np.array([[0.0, 0.8, 0.6, 0.6, 1.3, -1.0, -0.5, -1.1],
               [-0.1, 0.8, 0.0, 0.4, -1.5, 0.1, -0.7, 1.4],
               [0.7, 0.8, 0.0, 0.5, 0.5, -0.3, -0.4, -0.1],
               [-0.5, -0.5, -0.2, -0.6, 0.6, -1.3, 0.7, -0.5]], dtype=np.float32)
B1 = np.array([-0.2, -0.4, 0.0, -0.1, 0.1, -0.2, 0.0, 0.5], dtype=np.float32)
W2 = np.array([[0.3, -0.5, 0.8],
               [-0.1, 0.5, 0.5],
               [-0.3, -1.5, -0.3],
               [0.4, -0.3, 0.4],
               [0.8, -0.4, 1.0],
               [1.3, 0.9, 0.9],
               [0.9, 1.8, 0.1],
               [0.0, 0.5, -0.7]], dtype=np.float32)


def build_v1_graph():
    """The TensorFlow 1.x model: returns (graph, feeds, fetches, init_op). Given; do not change.

    feeds: {"x": the float32 placeholder of shape [None, 4], "temperature": a float32 scalar
    placeholder that defaults to 1.0}. fetches: {"probs", "label", "confidence", "seen"}.
    """
    graph = tf.Graph()  # a graph of its own, so that the eager default is left alone
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, shape=[None, N_FEATURES], name="x")
        temperature = tf.compat.v1.placeholder_with_default(1.0, shape=[], name="temperature")

        w1 = tf.compat.v1.get_variable("w1", initializer=W1)
        b1 = tf.compat.v1.get_variable("b1", initializer=B1)
        w2 = tf.compat.v1.get_variable("w2", initializer=W2)
        seen = tf.compat.v1.get_variable("seen", initializer=np.int64(0), trainable=False)

        hidden = tf.nn.relu(tf.compat.v1.nn.xw_plus_b(x, w1, b1))
        logits = tf.matmul(hidden, w2)
        probs = tf.compat.v1.cond(
            temperature > 0.0,
            lambda: tf.nn.softmax(logits / temperature),
            lambda: tf.one_hot(tf.compat.v1.argmax(logits, axis=1), N_CLASSES),
        )
        label = tf.compat.v1.argmax(logits, axis=1)  # int64
        confidence = tf.compat.v1.reduce_max(probs, axis=1, keep_dims=True)
        # assign_add returns the counter's value after the addition.
        seen_after = tf.compat.v1.assign_add(seen, tf.compat.v1.to_int64(tf.shape(x)[0]))

        init_op = tf.compat.v1.global_variables_initializer()
    feeds = {"x": x, "temperature": temperature}
    fetches = {"probs": probs, "label": label, "confidence": confidence, "seen": seen_after}
    return graph, feeds, fetches, init_op


def run_v1(calls):
    """How the TF1 model was used: one session, initialised once, one session.run per call.

    `calls` is a list of (x, temperature) pairs, temperature None to use the default. Returns
    one dict of numpy values per call. Given, as an example of use; do not change.
    """
    graph, feeds, fetches, init_op = build_v1_graph()
    results = []
    with tf.compat.v1.Session(graph=graph) as session:
        session.run(init_op)
        for x, temperature in calls:
            feed_dict = {feeds["x"]: x}
            if temperature is not None:
                feed_dict[feeds["temperature"]] = temperature
            results.append(session.run(fetches, feed_dict=feed_dict))
    return results


def make_model() -> tf.Module:
    """The TF2 replacement for the graph's variables: a new tf.Module holding four tf.Variables.

    Each call returns a NEW, independent model (its own variables, its own counter), with
    these attributes:

    - ``w1``, ``b1``, ``w2``: trainable float32 variables holding W1 (4 x 8), B1 (8,) and
      W2 (8 x 3). Assigning to them must not change the module's W1, B1 and W2 arrays.
    - ``seen``: a NON-trainable int64 scalar variable starting at 0, as the TF1 graph's
      ``get_variable("seen", ..., trainable=False)``.

    So ``model.trainable_variables`` holds exactly the three weights and
    ``model.non_trainable_variables`` exactly the counter. Any tf.Module works: a plain
    ``tf.Module()`` with the attributes set, or a subclass.

    Example:
        >>> model = make_model()
        >>> sorted(v.shape.as_list() for v in model.trainable_variables)
        [[4, 8], [8], [8, 3]]
        >>> [(v.dtype.name, int(v.numpy())) for v in model.non_trainable_variables]
        [('int64', 0)]
    """
    raise NotImplementedError


def predict(model, x, temperature=1.0) -> dict:
    """One ``session.run(fetches, feed_dict)`` of the TF1 graph, in eager TensorFlow 2.

    Computes what the graph computes, with the model's variables:

        hidden     = relu(x @ w1 + b1)
        logits     = hidden @ w2
        probs      = softmax(logits / temperature)           if temperature > 0
                     one_hot(argmax(logits, axis=1), 3)       otherwise (0 or negative)
        label      = argmax(logits, axis=1), as int64
        confidence = the largest entry of each row of probs, kept as a column: shape (batch, 1)
        seen       = model.seen after adding the batch size to it (the graph's assign_add)

    Each call adds the batch size of x to ``model.seen``, as each ``session.run`` did.

    Write it with TensorFlow operations only (no ``.numpy()``, no ``float(temperature)``, no
    ``x.shape[0]``, which is None inside a traced graph), so that it also works when a
    tf.function calls it: ``make_serving_fn`` may simply wrap it.

    Args:
        model: a model from ``make_model()``.
        x: the features, a float32 numpy array or tf.Tensor of shape (batch, 4); batch may be
            0. A numpy array must not be modified.
        temperature: a Python float or int, or a float32 scalar tensor; 1.0 when omitted.

    Returns:
        A dict with exactly the keys "probs" (float32, (batch, 3)), "label" (int64, (batch,)),
        "confidence" (float32, (batch, 1)) and "seen" (int64, shape ()). Every value is a
        tf.Tensor holding its value at the end of this call: "seen" in particular is a
        tensor, not the variable (``assign_add`` in eager mode returns an object that reads
        the variable again later; take its value, e.g. with ``tf.identity``).
        Values equal the TF1 session's within rtol=1e-5, atol=1e-6; labels and counts exactly.

    Raises:
        ValueError: if x is not 2-D with 4 columns (the TF1 placeholder rejected such a feed),
            before anything else happens: ``model.seen`` is then left unchanged.

    Example:
        >>> model = make_model()
        >>> out = predict(model, np.array([[1.0, 0.0, 0.0, 0.0]], dtype=np.float32))
        >>> sorted(out), out["label"].numpy(), out["seen"].numpy()
        (['confidence', 'label', 'probs', 'seen'], array([2]), 1)
        >>> predict(model, np.zeros([2, 4], np.float32), 0.0)["seen"].numpy()
        3
    """
    raise NotImplementedError


def make_serving_fn(model):
    """Wrap predict for `model` in a tf.function that is traced once for every batch size.

    Returns the object ``tf.function`` returns (it has ``get_concrete_function`` and
    ``experimental_get_tracing_count``), called as ``serve(x)`` or ``serve(x, temperature)``
    and returning exactly what ``predict(model, x, temperature)`` returns, counter included:
    it uses the model's own variables (it creates none), so calls of ``predict`` and of
    ``serve`` on the same model add to the same ``model.seen``.

    Give it an ``input_signature`` in place of the TF1 placeholders: x as
    ``tf.TensorSpec([None, 4], tf.float32)`` and temperature as
    ``tf.TensorSpec([], tf.float32)``, with temperature defaulting to 1.0. Then
    ``serve.get_concrete_function()`` works with no arguments, and calls with any batch size
    and any temperature (a Python number or a float32 scalar tensor) reuse one trace:
    ``serve.experimental_get_tracing_count()`` stays 1.

    Example:
        >>> model = make_model()
        >>> serve = make_serving_fn(model)
        >>> serve(np.ones([5, 4], np.float32))["seen"].numpy()
        5
        >>> serve(np.ones([2, 4], np.float32), 0.5)["probs"].shape
        TensorShape([2, 3])
        >>> predict(model, np.ones([1, 4], np.float32))["seen"].numpy()  # the same counter
        8
        >>> serve.experimental_get_tracing_count()
        1
    """
    raise NotImplementedError
