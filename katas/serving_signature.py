"""Export a classifier with a serving signature, and speak TensorFlow Serving's REST dialect.

A SavedModel is a directory that holds a model's graph and weights, loadable without the
Python code that built it. What a server may call is listed in its *signatures*: named
concrete functions with named, typed inputs and outputs. TensorFlow Serving (and the cloud
services built on it) runs the signature named ``serving_default`` unless a request names
another, so that signature is the model's public API:

- its inputs have a fixed dtype, a fixed feature width, and a batch dimension of ``None``
  so that one export serves any batch size;
- its outputs are named: a client reads ``probabilities`` and ``class_id`` by name, not
  "the first tensor".

Clients reach TensorFlow Serving's REST API with ``POST /v1/models/<name>:predict`` and a
JSON body in one of two layouts:

- row format: ``{"instances": [...]}``, a list with one entry per example. The answer is
  ``{"predictions": [...]}``, one entry per example; with several named outputs each entry
  is an object ``{"probabilities": [...], "class_id": 2}``.
- columnar format: ``{"inputs": ...}``, one whole batch per named input. The answer is
  ``{"outputs": {"probabilities": [[...], ...], "class_id": [2, ...]}}``.

Either body may name the signature with ``"signature_name"``. In this kata you write both
ends: the export, the loading, the client's request, and the server's handling of it.
"""

from __future__ import annotations

import json  # noqa: F401  (the REST bodies are JSON)

import numpy as np  # noqa: F401
import tensorflow as tf

NUM_FEATURES = 4
NUM_CLASSES = 3
INPUT_NAME = "features"
SIGNATURE_NAME = "serving_default"


class TinyClassifier(tf.Module):
    """The model to export (given): logits = relu(x @ w1 + b1) @ w2 + b2, for x of shape [batch, 4].

    Calling it maps a float32 tensor of shape [batch, NUM_FEATURES] to float32 logits of shape
    [batch, NUM_CLASSES]. Different seeds give different weights.
    """

    def __init__(self, seed: int = 0, hidden: int = 8):
        super().__init__(name="tiny_classifier")
        self.w1 = tf.Variable(tf.random.stateless_normal([NUM_FEATURES, hidden], seed=[seed, 1]), name="w1")
        self.b1 = tf.Variable(tf.random.stateless_normal([hidden], seed=[seed, 2]) * 0.1, name="b1")
        self.w2 = tf.Variable(tf.random.stateless_normal([hidden, NUM_CLASSES], seed=[seed, 3]), name="w2")
        self.b2 = tf.Variable(tf.random.stateless_normal([NUM_CLASSES], seed=[seed, 4]) * 0.1, name="b2")

    def __call__(self, x):
        x = tf.convert_to_tensor(x, dtype=tf.float32)
        return tf.nn.relu(x @ self.w1 + self.b1) @ self.w2 + self.b2


def export_classifier(model, export_dir) -> None:
    """Save `model` to `export_dir` as a SavedModel with a ``serving_default`` signature.

    The signature named ``"serving_default"`` must have:

    - exactly one input, named ``"features"``: float32, shape ``[None, NUM_FEATURES]``
      (any batch size, including 1);
    - exactly two outputs, by name:
        ``"probabilities"``: float32, shape ``[None, NUM_CLASSES]``, the softmax of the
        model's logits over the class axis (each row sums to 1);
        ``"class_id"``: int64, shape ``[None]``, the index of the largest logit of each row.

    The usual way: a ``tf.Module`` that holds the model (so its variables are saved) and a
    ``tf.function`` with an ``input_signature``, passed to ``tf.saved_model.save`` as
    ``signatures={"serving_default": ...}``. The saved model must not depend on the Python
    object after saving: loading it in another process gives the same outputs.

    Args:
        model: a ``tf.Module`` whose call maps float32 ``[batch, NUM_FEATURES]`` to float32
            logits ``[batch, NUM_CLASSES]`` (a TinyClassifier, for example). Its variables
            must not be changed.
        export_dir: a directory path (str or pathlib.Path) that does not exist yet or is empty.

    Returns:
        None. The SavedModel is written to `export_dir`.

    Example:
        >>> export_classifier(TinyClassifier(seed=0), "models/tiny/1")
        >>> signature = tf.saved_model.load("models/tiny/1").signatures["serving_default"]
        >>> signature.structured_input_signature
        ((), {'features': TensorSpec(shape=(None, 4), dtype=tf.float32, name='features')})
        >>> sorted(signature(features=tf.zeros([2, 4])))
        ['class_id', 'probabilities']
    """
    raise NotImplementedError


def load_serving_signature(export_dir):
    """Load the SavedModel in `export_dir` and return its ``serving_default`` signature.

    Use ``tf.saved_model.load`` and return the signature itself: the ConcreteFunction found
    under ``"serving_default"`` in the loaded object's ``signatures``. It is called with
    keyword arguments named after the signature's inputs and returns a dict of tensors named
    after its outputs. The SavedModel may hold other signatures too; pick ``serving_default``
    by name, whatever the others are called and in whatever order they come.

    Args:
        export_dir: the SavedModel directory (str or pathlib.Path).

    Returns:
        The ``serving_default`` ConcreteFunction, usable after this function returns.

    Raises:
        ValueError: if the SavedModel has no ``serving_default`` signature.

    Example:
        >>> signature = load_serving_signature("models/tiny/1")
        >>> outputs = signature(features=tf.constant([[0.5, -1.0, 2.0, 0.0]]))
        >>> outputs["probabilities"].shape, outputs["class_id"].dtype
        (TensorShape([1, 3]), tf.int64)
    """
    raise NotImplementedError


def build_predict_request(features, *, columnar: bool = False) -> str:
    """The JSON body of a TensorFlow Serving REST predict request for a batch of examples.

    Row format (``columnar=False``)::

        {"signature_name": "serving_default", "instances": [[f, f, f, f], [f, f, f, f], ...]}

    one list of numbers per example (the short form TensorFlow Serving accepts when the
    signature has a single input). Columnar format (``columnar=True``)::

        {"signature_name": "serving_default", "inputs": {"features": [[f, f, f, f], ...]}}

    the whole batch under the input's name. Numbers are plain JSON numbers that read back
    as exactly the float32 values of `features` (``tolist()`` on a float32 array gives
    them; do not round). The body has no other keys.

    Args:
        features: a 2-D array-like of real numbers, shape ``(batch, width)`` with batch >= 1
            and width >= 1 (any width: the client does not check it against the model). It
            is not modified.
        columnar: False for the row format, True for the columnar format.

    Returns:
        The request body, a JSON text (str).

    Raises:
        ValueError: if `features` is not 2-D, is empty, or holds NaN or an infinity (JSON
            has no number for them).

    Example:
        >>> build_predict_request(np.array([[1.0, 2.0, 3.0, 4.5]]))
        '{"signature_name": "serving_default", "instances": [[1.0, 2.0, 3.0, 4.5]]}'
        >>> json.loads(build_predict_request([[1, 2, 3, 4], [0, 0, 0, 0.25]], columnar=True))
        {'signature_name': 'serving_default', 'inputs': {'features': [[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.25]]}}
    """
    raise NotImplementedError


def handle_predict_request(signature, body) -> str:
    """What TensorFlow Serving does with a predict request: parse, check, run, answer.

    1. Parse `body` (a JSON text) and check it. It must be a JSON object with exactly one
       of ``"instances"`` (row format) and ``"inputs"`` (columnar format). An optional
       ``"signature_name"`` must be ``"serving_default"``. Any other key of the body is
       ignored.

       - ``"instances"``: a non-empty list; each instance is either a list of NUM_FEATURES
         numbers or an object ``{"features": [NUM_FEATURES numbers]}`` with no other key.
       - ``"inputs"``: either an object ``{"features": batch}`` with no other key, or the
         batch itself, where a batch is a non-empty list of lists of NUM_FEATURES numbers
         each.

       Numbers are JSON numbers (ints or floats); ``true``/``false``, strings, nulls and
       nested lists are not numbers, and neither are ``NaN``, ``Infinity`` and
       ``-Infinity``, which Python's json module reads but JSON does not have. A number
       too large for float32 (such as ``1e39``, which float32 would make an infinity) is
       refused too.
    2. Run `signature` on the batch as float32, calling it with the keyword ``features=``.
    3. Answer in the format of the request, with every output of the signature by name:

       - row format: ``{"predictions": [{"probabilities": [p0, p1, p2], "class_id": 2}, ...]}``,
         one object per instance, in order;
       - columnar format: ``{"outputs": {"probabilities": [[p0, p1, p2], ...], "class_id": [2, ...]}}``.

       Numbers are the outputs' values: floats for probabilities (exactly the float32 values,
       as ``tolist()`` gives them), JSON integers for class ids.

    Args:
        signature: a serving signature like the one load_serving_signature returns (called
            as ``signature(features=...)``, returning a dict of tensors).
        body: the request body, a JSON text (str).

    Returns:
        The response body, a JSON text (str).

    Raises:
        ValueError: for any request that breaks the rules in step 1 (a body that is not
            JSON, both or neither of "instances" and "inputs", an empty batch, a row of the
            wrong length, a value that is not a number or too large for float32, an unknown
            signature_name), with a message that says what is wrong. The signature is not
            called then.

    Example:
        >>> signature = load_serving_signature("models/tiny/1")
        >>> reply = handle_predict_request(signature, '{"instances": [[0.5, -1.0, 2.0, 0.0]]}')
        >>> sorted(json.loads(reply)["predictions"][0])
        ['class_id', 'probabilities']
        >>> reply = handle_predict_request(signature, '{"inputs": {"features": [[0.5, -1.0, 2.0, 0.0]]}}')
        >>> sorted(json.loads(reply)["outputs"])
        ['class_id', 'probabilities']
        >>> handle_predict_request(signature, '{"instances": [[1, 2, 3]]}')
        Traceback (most recent call last):
            ...
        ValueError: instance 0 must be a list of 4 numbers, got [1, 2, 3]
    """
    raise NotImplementedError
