"""Known wrong answers for tflite_quantize, and correct answers written differently."""

from __future__ import annotations

import tempfile

import numpy as np
import tensorflow as tf

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _converter(model, optimize=True):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter


def _checked(representative_data):
    rows = np.asarray(representative_data)
    if rows.ndim != 2 or rows.shape[0] < 1:
        raise ValueError("representative_data must be 2-D with at least one row")
    return rows


def _full_integer(model, make_rows):
    converter = _converter(model)
    converter.representative_dataset = make_rows
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


# ---- conversions ------------------------------------------------------------------------------

@pitfall("convert_float", "Sets Optimize.DEFAULT in the float conversion too: the weights are quantized.")
def float_with_optimizations(model):
    return _converter(model).convert()


@pitfall("convert_float",
         "Converts a concrete function of the Keras 3 model (from_concrete_functions): in TF 2.21 its variables "
         "are not frozen into the flat buffer and every output is NaN.")
def from_concrete_function(model):
    spec = tf.TensorSpec([None, model.input_shape[-1]], tf.float32)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    return tf.lite.TFLiteConverter.from_concrete_functions([concrete], model).convert()


@pitfall("convert_dynamic_range",
         "Leaves out optimizations: the converter writes a float model, no smaller than before.")
def dynamic_without_optimizations(model):
    return _converter(model, optimize=False).convert()


@pitfall("convert_dynamic_range",
         "Asks for float16 weights (target_spec.supported_types = [tf.float16]): half the size, not a quarter.")
def float16_instead_of_int8(model):
    converter = _converter(model)
    converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


@pitfall("convert_full_integer",
         "Sets the representative dataset but not inference_input_type/inference_output_type: the model "
         "still takes and returns float32, so integer-only hardware cannot run it end to end.")
def float_input_and_output(model, representative_data):
    rows = _checked(representative_data).astype(np.float32)
    converter = _converter(model)
    converter.representative_dataset = lambda: ([row[None, :]] for row in rows)
    return converter.convert()


@pitfall("convert_full_integer",
         "Yields the rows as float64, numpy's default: the calibrator refuses them (it wants float32).")
def yields_float64_rows(model, representative_data):
    rows = _checked(representative_data)
    return _full_integer(model, lambda: ([row[None, :]] for row in rows))


@pitfall("convert_full_integer",
         "Calibrates on standard-normal noise instead of the representative data: the int8 ranges do not fit "
         "the real inputs.")
def calibrates_on_noise(model, representative_data):
    rows = _checked(representative_data)
    rng = np.random.default_rng(0)
    return _full_integer(model, lambda: ([rng.standard_normal((1, rows.shape[1])).astype(np.float32)]
                                         for _ in range(100)))


@pitfall("convert_full_integer",
         "Calibrates on the first row only: the activation ranges of one example are far too narrow.")
def calibrates_on_one_row(model, representative_data):
    rows = _checked(representative_data).astype(np.float32)
    return _full_integer(model, lambda: iter([[rows[:1]]]))


@pitfall("convert_full_integer",
         "Calibrates on the first 50 rows only, to save time: the extremes among rows 50 to 99 are clipped.")
def calibrates_on_the_first_50_rows(model, representative_data):
    rows = _checked(representative_data).astype(np.float32)[:50]
    return _full_integer(model, lambda: ([row[None, :]] for row in rows))


@pitfall("convert_full_integer",
         "Calibrates on the last 100 rows (rows[-100:]) instead of the first: other rows than those stated, "
         "so the input range misses the extremes of the first 100.")
def calibrates_on_the_last_100_rows(model, representative_data):
    rows = _checked(representative_data).astype(np.float32)[-100:]
    return _full_integer(model, lambda: ([row[None, :]] for row in rows))


# ---- running ----------------------------------------------------------------------------------

def _interpreter(model_content, x):
    x = np.asarray(x)
    interpreter = tf.lite.Interpreter(model_content=model_content)
    width = int(interpreter.get_input_details()[0]["shape"][-1])
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != width:
        raise ValueError("bad x")
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], list(x.shape))
    interpreter.allocate_tensors()
    return interpreter, interpreter.get_input_details()[0], interpreter.get_output_details()[0], x


@pitfall("run_tflite",
         "Casts x straight to int8 (x.astype(np.int8)) without the input's scale and zero point.")
def casts_instead_of_quantizing(model_content, x):
    interpreter, inp, out, x = _interpreter(model_content, x)
    interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
    interpreter.invoke()
    result = interpreter.get_tensor(out["index"]).astype(np.float32)
    if out["dtype"] == np.int8:
        scale, zero = out["quantization"]
        result = (result - zero) * np.float32(scale)
    return result


@pitfall("run_tflite",
         "Returns the int8 output as it is (cast to float32), without dequantizing it.")
def forgets_to_dequantize(model_content, x):
    interpreter, inp, out, x = _interpreter(model_content, x)
    feed = x.astype(np.float32)
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        feed = np.clip(np.round(feed / scale) + zero, -128, 127).astype(np.int8)
    interpreter.set_tensor(inp["index"], feed)
    interpreter.invoke()
    return interpreter.get_tensor(out["index"]).astype(np.float32)


@pitfall("run_tflite",
         "Dequantizes with (q + zero_point) * scale: the zero point's sign is flipped.")
def adds_the_zero_point(model_content, x):
    interpreter, inp, out, x = _interpreter(model_content, x)
    feed = x.astype(np.float32)
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        feed = np.clip(np.round(feed / scale) + zero, -128, 127).astype(np.int8)
    interpreter.set_tensor(inp["index"], feed)
    interpreter.invoke()
    result = interpreter.get_tensor(out["index"]).astype(np.float32)
    if out["dtype"] == np.int8:
        scale, zero = out["quantization"]
        result = (result + zero) * np.float32(scale)
    return result


@pitfall("run_tflite",
         "Quantizes with astype(np.int8) after dividing by the scale, which truncates toward zero instead of "
         "rounding to nearest.")
def truncates_instead_of_rounding(model_content, x):
    interpreter, inp, out, x = _interpreter(model_content, x)
    feed = x.astype(np.float32)
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        feed = np.clip(feed / scale + zero, -128, 127).astype(np.int8)
    interpreter.set_tensor(inp["index"], feed)
    interpreter.invoke()
    result = interpreter.get_tensor(out["index"]).astype(np.float32)
    if out["dtype"] == np.int8:
        scale, zero = out["quantization"]
        result = (result - zero) * np.float32(scale)
    return result


@pitfall("run_tflite",
         "Never resizes the input: only the first row is run, because the flat buffer's batch is 1.")
def runs_the_first_row_only(model_content, x):
    x = np.asarray(x)
    interpreter = tf.lite.Interpreter(model_content=model_content)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != inp["shape"][-1]:
        raise ValueError("bad x")
    feed = x[:1].astype(np.float32)
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        feed = np.clip(np.round(feed / scale) + zero, -128, 127).astype(np.int8)
    interpreter.set_tensor(inp["index"], feed)
    interpreter.invoke()
    result = interpreter.get_tensor(out["index"]).astype(np.float32)
    if out["dtype"] == np.int8:
        scale, zero = out["quantization"]
        result = (result - zero) * np.float32(scale)
    return result


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("convert_float",
             "Exports the Keras model as a SavedModel (model.export) and converts the directory, with an explicitly "
             "empty optimizations list.")
def via_keras_export(model):
    with tempfile.TemporaryDirectory() as directory:
        model.export(directory, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(directory)
        converter.optimizations = []
        return converter.convert()


@alternative("convert_dynamic_range", "Exports a SavedModel to a temporary directory and converts that.")
def via_saved_model(model):
    with tempfile.TemporaryDirectory() as directory:
        model.export(directory, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(directory)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()


@alternative("convert_full_integer",
             "Feeds the calibration rows from a tf.data pipeline, 100 rows in batches of one, without "
             "restricting the op set.")
def calibrates_from_tf_data(model, representative_data):
    rows = _checked(representative_data)
    dataset = tf.data.Dataset.from_tensor_slices(rows.astype(np.float32)).take(100).batch(1)
    return _full_integer(model, lambda: ([batch] for batch in dataset))


@alternative("convert_full_integer",
             "Calibrates on the first 100 rows only (the docstring allows it), 32 rows per item instead of one.")
def calibrates_on_the_first_100_rows_in_batches(model, representative_data):
    rows = _checked(representative_data).astype(np.float32)[:100]
    return _full_integer(model, lambda: ([rows[i:i + 32]] for i in range(0, len(rows), 32)))


@alternative("run_tflite",
             "Runs the rows one at a time through a signature runner, quantizing in float64.")
def signature_runner_row_by_row(model_content, x):
    x = np.asarray(x)
    interpreter = tf.lite.Interpreter(model_content=model_content)
    runner = interpreter.get_signature_runner()
    (input_name, input_info), = runner.get_input_details().items()
    (output_name, output_info), = runner.get_output_details().items()
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != input_info["shape"][-1]:
        raise ValueError(f"x must have shape (batch >= 1, {input_info['shape'][-1]}), got {x.shape}")
    rows = []
    for row in x.astype(np.float64):
        feed = row[None, :]
        if input_info["dtype"] == np.int8:
            scale, zero = input_info["quantization"]
            feed = np.clip(np.rint(feed / scale) + zero, -128, 127).astype(np.int8)
        else:
            feed = feed.astype(np.float32)
        result = runner(**{input_name: feed})[output_name]
        if output_info["dtype"] == np.int8:
            scale, zero = output_info["quantization"]
            result = (result.astype(np.float64) - zero) * scale
        rows.append(result[0])
    return np.array(rows, dtype=np.float32)


@alternative("run_tflite",
             "Quantizes with a multiply by 1/scale and np.trunc(v + copysign(0.5, v)) (round half away from zero, "
             "as TensorFlow Lite itself rounds).")
def round_half_away_from_zero(model_content, x):
    interpreter, inp, out, x = _interpreter(model_content, x)
    feed = x.astype(np.float32)
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        v = feed * np.float32(1.0 / scale)
        feed = np.clip(np.trunc(v + np.copysign(0.5, v)) + zero, -128, 127).astype(np.int8)
    interpreter.set_tensor(inp["index"], feed)
    interpreter.invoke()
    result = np.array(interpreter.get_tensor(out["index"]), dtype=np.float32)
    if out["dtype"] == np.int8:
        scale, zero = out["quantization"]
        result = np.float32(scale) * (result - np.float32(zero))
    return result
