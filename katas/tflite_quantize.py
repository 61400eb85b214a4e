"""Convert a Keras model to TensorFlow Lite: float, dynamic-range and full-integer quantization.

TensorFlow Lite runs models on phones and microcontrollers from one flat buffer (a
``.tflite`` file, bytes in memory). ``tf.lite.TFLiteConverter`` writes that buffer, and can
shrink the model on the way by storing numbers in 8 bits instead of 32:

- float: no quantization. The same numbers as the Keras model, about the same size.
- dynamic-range quantization (``optimizations = [tf.lite.Optimize.DEFAULT]``, nothing else):
  the weights are stored as int8, about 4x smaller; activations stay float, the model's
  input and output are still float32, and the results move a little.
- full-integer quantization: weights AND activations in int8, which is what integer-only
  accelerators (Edge TPU, many NPUs and DSPs) need. The converter must know the range of
  every activation, so it runs a *representative dataset* (a generator of a few hundred real
  inputs) through the model to calibrate. With ``inference_input_type`` and
  ``inference_output_type`` set to ``tf.int8``, the model's input and output are int8 too.

An int8 tensor stands for real numbers through its quantization parameters, a scale and a
zero point: ``real = (q - zero_point) * scale`` and ``q = round(real / scale) + zero_point``
(clipped to [-128, 127]). A caller of a full-integer model must quantize its input and
dequantize the output itself; forgetting either gives numbers that look plausible and are
wrong.

Models are run with ``tf.lite.Interpreter``. TensorFlow 2.21 warns that it is deprecated in
favour of the ``ai-edge-litert`` package (same API); the tests silence that warning.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf  # noqa: F401  (tf.lite lives here)


def convert_float(model) -> bytes:
    """Convert `model` to a TensorFlow Lite flat buffer without any quantization.

    Args:
        model: a built Keras model (``tf.keras.Model``) with one input ``(batch, features)``
            and one output ``(batch, outputs)``. It is not modified.

    Returns:
        The ``.tflite`` model as bytes. Its input and output are float32, every weight is
        float32, and running it gives the Keras model's outputs within 1e-5.

    Example:
        >>> model = tf.keras.Sequential([tf.keras.Input((64,)), tf.keras.layers.Dense(512, activation="relu"),
        ...                              tf.keras.layers.Dense(10, activation="softmax")])
        >>> flat = convert_float(model)
        >>> isinstance(flat, bytes), len(flat) > 4 * (64 * 512 + 512 * 10)
        (True, True)
    """
    raise NotImplementedError


def convert_dynamic_range(model) -> bytes:
    """Convert `model` with dynamic-range quantization: int8 weights, float32 input and output.

    Set the converter's ``optimizations`` to ``[tf.lite.Optimize.DEFAULT]`` and give it no
    representative dataset (and no float16 target): the weights are stored as int8.

    Args:
        model: a built Keras model, as for convert_float. It is not modified.

    Returns:
        The ``.tflite`` model as bytes: float32 input and output, int8 weights. For the
        tests' model (64 -> 512 -> 10, softmax) it is at least 3x smaller than the float
        conversion, its accuracy on held-out data is within 1 percentage point of the Keras
        model's, and its probabilities differ from Keras's by at most 0.006 on average.

    Example:
        >>> len(convert_float(model)) / len(convert_dynamic_range(model)) >= 3
        True
    """
    raise NotImplementedError


def convert_full_integer(model, representative_data) -> bytes:
    """Convert `model` with full-integer quantization, calibrated on `representative_data`.

    Set ``optimizations = [tf.lite.Optimize.DEFAULT]``, a ``representative_dataset`` and
    ``inference_input_type = inference_output_type = tf.int8`` (restricting the ops to
    ``tf.lite.OpsSet.TFLITE_BUILTINS_INT8`` is allowed). The representative dataset is a
    function with no arguments returning an iterator; each item is a list holding one input
    array: float32, with a batch axis (``[row[None, :]]``, shape ``(1, features)``, is the
    usual form; the converter refuses float64). Calibrate on the rows of
    `representative_data` (all of them or at least the first 100), not on anything else:
    ranges taken from other data clip or waste the int8 range of real inputs.

    Args:
        model: a built Keras model, as for convert_float. It is not modified.
        representative_data: a 2-D numpy array ``(n, features)``, float32 or float64, with
            n >= 1 rows drawn like the inputs the model will see. It is not modified.

    Returns:
        The ``.tflite`` model as bytes: int8 input and int8 output, every tensor an integer
        (int8 activations and weights, int32 biases). For the tests' model (64 -> 512 -> 10)
        it is at least 2.5x smaller than the float conversion, and on held-out data drawn
        like `representative_data` its accuracy is within 2 percentage points of the Keras
        model's, its dequantized probabilities differ from Keras's by at most 0.008 on
        average, and on 95% of the rows no probability moves by more than 0.06.

    Raises:
        ValueError: if `representative_data` is not a 2-D array with at least one row.

    Example:
        >>> rows = np.random.default_rng(0).normal(size=(200, 64))  # float64, like most numpy data
        >>> flat = convert_full_integer(model, rows)
        >>> details = tf.lite.Interpreter(model_content=flat).get_input_details()[0]
        >>> details["dtype"], len(details["quantization"])  # (scale, zero_point)
        (<class 'numpy.int8'>, 2)
    """
    raise NotImplementedError


def run_tflite(model_content: bytes, x) -> np.ndarray:
    """Run a ``.tflite`` model (float, dynamic-range or full-integer) on a batch; return float32.

    Use ``tf.lite.Interpreter(model_content=...)``. The model has one input and one output;
    the flat buffer fixes a batch of 1, so resize the input to ``x``'s batch (then allocate
    the tensors again) or run the rows one at a time.

    - If the input tensor is int8, quantize ``x`` with the input's (scale, zero_point) from
      ``get_input_details()[0]["quantization"]``:
      ``q = clip(round(x / scale) + zero_point, -128, 127)`` as int8 (round to nearest).
    - If the output tensor is int8, dequantize it with the output's (scale, zero_point):
      ``(q - zero_point) * scale`` as float32.
    - Otherwise pass ``x`` as float32 and return the output as float32.

    Args:
        model_content: the ``.tflite`` model, bytes.
        x: a 2-D float array ``(batch, features)`` with batch >= 1 and the model's number of
            features, any float dtype. It is not modified.

    Returns:
        A NEW float32 numpy array ``(batch, outputs)``: the model's outputs for every row of
        ``x``, in order, dequantized when the model's output is int8.

    Raises:
        ValueError: if ``x`` is not 2-D, has no rows, or its number of features differs
            from the model's input.

    Example:
        >>> x = np.random.default_rng(1).normal(size=(5, 64)).astype(np.float32)
        >>> probs = run_tflite(convert_float(model), x)
        >>> probs.shape, probs.dtype, bool(np.allclose(probs, model(x).numpy(), atol=1e-5))
        ((5, 10), dtype('float32'), True)
        >>> run_tflite(convert_full_integer(model, rows), x).dtype  # dequantized
        dtype('float32')
    """
    raise NotImplementedError
