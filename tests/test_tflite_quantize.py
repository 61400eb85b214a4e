"""Tests for tflite_quantize: float, dynamic-range and full-integer TensorFlow Lite conversions.

The model is the tests' own: a Keras MLP, 64 -> 512 (ReLU) -> 10 (softmax), whose hidden
layer is a fixed random projection and whose output layer is fitted in closed form (ridge
regression on one-hot targets) to a synthetic 10-class problem. No training loop: it is
built in well under a second, and its float accuracy on held-out data is about 83%. The
test generates the representative rows and the held-out rows from the same distribution.

run_tflite is checked first, on flat buffers the test converts itself (so a mistake there is
not confused with a mistake in a conversion), against the test's own interpreter loop; then
each of the learner's conversions is run with the test's loop and compared with Keras.
Conversions take about 0.2 s each and are made once per module; the test's own are kept in
pytest's cache between runs.

Measured with this model (TF 2.21, CPU): the float buffer is ~155 KB; dynamic range is 3.23x
smaller, mean |p - p_keras| ~0.0025; full integer is 2.85x smaller, mean ~0.0037, and the 95th
percentile of each row's largest change ~0.035. Calibrating on standard-normal or uniform
noise gives a mean of 0.07-0.12; on the first row only, a 95th percentile of ~0.10.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from katakit.testing import describe, kept_between_runs, snapshot

pytestmark = [
    # tf.lite.Interpreter warns that it moves to the ai-edge-litert package; not the learner's concern.
    pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning"),
    # The converter warns about int8 inputs whenever inference_input_type is int8.
    pytest.mark.filterwarnings("ignore:Statistics for quantized inputs were expected:UserWarning"),
]

keras = tf.keras
FEATURES, HIDDEN, CLASSES = 64, 512, 10

# Tolerances stated in the kata's docstrings.
FLOAT_ATOL = 1e-5
DYNAMIC_MEAN_DIFF, DYNAMIC_ACCURACY_DROP, DYNAMIC_SIZE_RATIO = 0.006, 0.01, 3.0
INT8_MEAN_DIFF, INT8_ACCURACY_DROP, INT8_SIZE_RATIO = 0.008, 0.02, 2.5
# Full integer: for 95% of the rows, the largest change of any class's probability.
INT8_ROW_DIFF_P95 = 0.06


# ---- the test's model and data ----------------------------------------------------------------

class Problem:
    """A synthetic 10-class problem and a fitted Keras MLP for it."""

    def __init__(self, seed: int = 0, separation: float = 0.5):
        # Raw, unnormalised features: each has its own scale and offset, as sensor readings or
        # prices do. Calibrating on standard-normal or uniform noise then misses their ranges.
        features = np.random.default_rng(seed + 1000)
        self.feature_scale = features.uniform(0.5, 4.0, FEATURES)
        self.feature_offset = features.normal(0.0, 3.0, FEATURES)
        rng = np.random.default_rng(seed)
        self.centers = rng.normal(0.0, separation, (CLASSES, FEATURES))
        self.rng = rng
        x, y = self.sample(3000)
        w1 = rng.normal(0.0, 1.0 / np.sqrt(FEATURES), (FEATURES, HIDDEN)).astype(np.float32)
        b1 = rng.normal(0.0, 0.1, HIDDEN).astype(np.float32)
        hidden = np.c_[np.maximum(x @ w1 + b1, 0.0), np.ones(len(x))]
        targets = np.eye(CLASSES)[y] * 6.0 - 3.0
        solution = np.linalg.solve(hidden.T @ hidden + np.eye(HIDDEN + 1), hidden.T @ targets)
        w2, b2 = solution[:-1].astype(np.float32), solution[-1].astype(np.float32)
        self.model = keras.Sequential([
            keras.Input((FEATURES,)),
            keras.layers.Dense(HIDDEN, activation="relu"),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ])
        self.model.set_weights([w1, b1, w2, b2])

    def sample(self, n):
        """n rows (float32) and their labels; heavy-ish tails (Student t, 5 dof) so that ranges matter."""
        y = self.rng.integers(0, CLASSES, n)
        x = (self.centers[y] + self.rng.standard_t(5, (n, FEATURES))) * self.feature_scale + self.feature_offset
        return x.astype(np.float32), y


@pytest.fixture(scope="module")
def problem():
    p = Problem()
    p.representative = p.sample(500)[0].astype(np.float64)  # float64, as most numpy data is
    p.held_out, p.labels = p.sample(2000)
    p.keras_probs = p.model(p.held_out, training=False).numpy()
    p.keras_accuracy = float(np.mean(p.keras_probs.argmax(axis=1) == p.labels))
    p.weights = [w.copy() for w in p.model.get_weights()]
    return p


def convert(model, *, optimize=False, representative=None, int8_io=False) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if representative is not None:
        rows = np.asarray(representative, dtype=np.float32)
        converter.representative_dataset = lambda: ([row[None, :]] for row in rows)
    if int8_io:
        converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


class Buffers(dict):
    """{'float', 'dynamic', 'int8'} -> bytes, with a short repr for Hypothesis's failure reports."""

    def __repr__(self):
        return f"<the test's conversions: {', '.join(f'{k} ({len(v)} bytes)' for k, v in self.items())}>"


@pytest.fixture(scope="module")
def oracle_buffers(problem, pytestconfig):
    """The test's own conversions: {'float', 'dynamic', 'int8'} -> bytes.

    They depend only on this file and the library versions (the converter gives the same bytes
    every time), and take 0.6 s, so pytest's cache keeps them between runs.
    """
    return Buffers(kept_between_runs(
        pytestconfig, "katas-tflite_quantize", [Path(__file__), tf.__version__, np.__version__],
        lambda: {"float": convert(problem.model),
                 "dynamic": convert(problem.model, optimize=True),
                 "int8": convert(problem.model, optimize=True, representative=problem.representative,
                                 int8_io=True)}))


def interpreter_details(flat):
    interpreter = tf.lite.Interpreter(model_content=flat)
    return interpreter, interpreter.get_input_details()[0], interpreter.get_output_details()[0]


def oracle_run(flat, x) -> np.ndarray:
    """The test's interpreter loop: one row at a time, quantizing and dequantizing by the book."""
    interpreter, inp, out = interpreter_details(flat)
    interpreter.allocate_tensors()
    rows = []
    for row in np.asarray(x, dtype=np.float32):
        feed = row[None, :]
        if inp["dtype"] == np.int8:
            scale, zero = inp["quantization"]
            feed = np.clip(np.round(feed / scale) + zero, -128, 127).astype(np.int8)
        interpreter.set_tensor(inp["index"], feed)
        interpreter.invoke()
        result = interpreter.get_tensor(out["index"])[0]
        if out["dtype"] == np.int8:
            scale, zero = out["quantization"]
            result = (result.astype(np.float64) - zero) * scale
        rows.append(result)
    return np.asarray(rows, dtype=np.float32)


def output_step(flat) -> float:
    """One quantization step of the output (0 for a float output)."""
    _, _, out = interpreter_details(flat)
    return float(out["quantization"][0]) if out["dtype"] == np.int8 else 0.0


# ---- checks -----------------------------------------------------------------------------------

def assert_flatbuffer(flat, what):
    __tracebackhide__ = True
    assert isinstance(flat, bytes | bytearray), (
        f"{what} must return the .tflite model as bytes, got {type(flat).__name__}")
    assert len(flat) > 8 and flat[4:8] == b"TFL3", f"{what} did not return a TensorFlow Lite flat buffer"


def assert_io_types(flat, dtype, what):
    __tracebackhide__ = True
    _, inp, out = interpreter_details(flat)
    assert inp["dtype"] == dtype and out["dtype"] == dtype, (
        f"{what}: the model's input and output must be {np.dtype(dtype).name}; yours are "
        f"{np.dtype(inp['dtype']).name} and {np.dtype(out['dtype']).name}"
        + (" (set inference_input_type and inference_output_type to tf.int8)" if dtype == np.int8 else ""))


def assert_calibrated_on(flat, data, what):
    """The int8 input's range (its scale and zero point) is that of the first 100 rows, or of more of them.

    The calibrator takes the input's range from the minimum and maximum of the rows it ran, widened to
    include 0, and moves the ends by less than one step when it rounds the zero point. So the range must
    reach the extremes of the first 100 rows and stay within those of all rows, one step either way.
    """
    __tracebackhide__ = True
    _, inp, _ = interpreter_details(flat)
    scale, zero_point = (float(v) for v in inp["quantization"])
    low, high = (-128 - zero_point) * scale, (127 - zero_point) * scale
    first, every = np.asarray(data[:100], np.float64), np.asarray(data, np.float64)
    need = (min(0.0, first.min()), max(0.0, first.max()))
    allowed = (min(0.0, every.min()), max(0.0, every.max()))
    assert low <= need[0] + scale and high >= need[1] - scale and low >= allowed[0] - scale \
        and high <= allowed[1] + scale, (
        f"{what}: the int8 input covers [{low:.3f}, {high:.3f}] (scale {scale:.4g}, zero point {zero_point:g}); "
        f"calibrated on the first 100 rows of representative_data it would cover about [{need[0]:.3f}, "
        f"{need[1]:.3f}], and on all {len(every)} rows at most [{allowed[0]:.3f}, {allowed[1]:.3f}]. Calibrate "
        f"on the rows of representative_data (all of them, or at least the first 100), nothing else")


def tensor_dtypes(flat) -> set[str]:
    interpreter, _, _ = interpreter_details(flat)
    return {np.dtype(d["dtype"]).name for d in interpreter.get_tensor_details()}


def assert_model_unchanged(problem, what):
    __tracebackhide__ = True
    for before, after in zip(problem.weights, problem.model.get_weights(), strict=True):
        assert np.array_equal(before, after), f"{what} changed the Keras model's weights"


def assert_quality(probs, problem, *, mean_diff, accuracy_drop, what, row_diff_p95=None):
    __tracebackhide__ = True
    assert probs.shape == problem.keras_probs.shape, f"{what}: outputs of shape {probs.shape}"
    errors = np.abs(probs.astype(np.float64) - problem.keras_probs)
    diff = float(np.mean(errors))
    accuracy = float(np.mean(probs.argmax(axis=1) == problem.labels))
    assert diff <= mean_diff, (
        f"{what}: on 2000 held-out rows the probabilities differ from the Keras model's by {diff:.4f} on "
        f"average; at most {mean_diff} is expected (a correct conversion gives about half of that)"
        + (". Calibrate on representative_data itself: ranges from other data clip or waste the int8 range"
           if "integer" in what else ""))
    if row_diff_p95 is not None:
        p95 = float(np.quantile(errors.max(axis=1), 0.95))
        assert p95 <= row_diff_p95, (
            f"{what}: on 5% of the held-out rows some probability moves by more than {p95:.3f} (at most "
            f"{row_diff_p95} is expected; a correct conversion gives about 0.035): activations outside the "
            f"calibrated ranges are clipped. Calibrate on the rows of representative_data, all or at least 100")
    assert accuracy >= problem.keras_accuracy - accuracy_drop, (
        f"{what}: held-out accuracy {accuracy:.3f} against Keras's {problem.keras_accuracy:.3f}; at most "
        f"{accuracy_drop:.2f} lower is expected")


def assert_run(yours, expected, step, what):
    """run_tflite's output against the test's loop: equal, give or take one output quantization step."""
    __tracebackhide__ = True
    assert isinstance(yours, np.ndarray), f"{what}: run_tflite must return a numpy array, got {type(yours).__name__}"
    assert yours.dtype == np.float32, f"{what}: run_tflite must return float32, got {yours.dtype}"
    assert yours.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {yours.shape}"
    atol = step * 1.001 + 1e-6
    if not np.allclose(yours, expected, rtol=1e-5, atol=atol):
        row = int(np.argwhere(~np.isclose(yours, expected, rtol=1e-5, atol=atol))[0][0])
        raise AssertionError(
            f"{what}: row {row} differs from the model's output"
            + (f" (dequantized, one step = {step:.5f})" if step else "")
            + f"\n  expected: {describe(expected[row])}\n  yours:    {describe(yours[row])}")


# ---- run_tflite, on the test's own conversions --------------------------------------------------

def test_run_float_model_on_a_batch(kata, problem, oracle_buffers):
    x = problem.held_out[:7]
    yours = kata.run_tflite(oracle_buffers["float"], x)
    assert_run(yours, problem.keras_probs[:7].astype(np.float32), 0.0, "float model, batch of 7")


def test_run_full_integer_model_quantizes_and_dequantizes(kata, problem, oracle_buffers):
    flat = oracle_buffers["int8"]
    x = problem.held_out[:50]
    assert_run(kata.run_tflite(flat, x), oracle_run(flat, x), output_step(flat),
               "full-integer model: quantize x with the input's scale and zero point, dequantize the output")


def test_run_dynamic_range_model(kata, problem, oracle_buffers):
    flat = oracle_buffers["dynamic"]
    x = problem.held_out[:20]
    assert_run(kata.run_tflite(flat, x), oracle_run(flat, x), 0.0, "dynamic-range model")


@pytest.mark.parametrize("kind", ["float", "dynamic", "int8"])
@pytest.mark.parametrize("batch", [1, 3, 2000], ids=lambda b: f"batch{b}")
def test_run_any_batch_size(kata, problem, oracle_buffers, kind, batch):
    flat = oracle_buffers[kind]
    x = problem.held_out[:batch]
    assert_run(kata.run_tflite(flat, x), oracle_run(flat, x), output_step(flat), f"{kind} model, batch of {batch}")


def test_run_accepts_float64_and_leaves_x_alone(kata, problem, oracle_buffers):
    x = problem.held_out[:9].astype(np.float64)
    before = snapshot(x)
    for kind in ("float", "int8"):
        flat = oracle_buffers[kind]
        assert_run(kata.run_tflite(flat, x), oracle_run(flat, x), output_step(flat), f"{kind} model, float64 x")
        assert np.array_equal(x, before) and x.dtype == before.dtype, f"run_tflite modified x ({kind} model)"


def test_run_returns_a_new_array_each_call(kata, problem, oracle_buffers):
    flat = oracle_buffers["float"]
    first = kata.run_tflite(flat, problem.held_out[:4])
    kept = first.copy()
    kata.run_tflite(flat, problem.held_out[4:8])
    assert np.array_equal(first, kept), "a second call changed the array the first call returned"


@pytest.mark.parametrize("shape", [(64,), (0, 64), (3, 63), (3, 65), (2, 4, 64)],
                         ids=["1-D", "no-rows", "63-features", "65-features", "3-D"])
def test_run_rejects_bad_x(kata, oracle_buffers, shape):
    with pytest.raises(ValueError):
        kata.run_tflite(oracle_buffers["float"], np.zeros(shape, dtype=np.float32))


@settings(max_examples=20)
@given(x=hnp.arrays(np.float32, st.tuples(st.integers(1, 6), st.just(FEATURES)),
                    elements=st.floats(-8, 8, width=32, allow_subnormal=False)),
       kind=st.sampled_from(["float", "dynamic", "int8"]))
def test_run_matches_reference_on_generated_inputs(kata, differential, oracle_buffers, x, kind):
    flat = oracle_buffers[kind]
    step = output_step(flat)
    assert_run(kata.run_tflite(flat, x), oracle_run(flat, x), step, f"{kind} model")
    differential("run_tflite", flat, x, equal=lambda a, b: isinstance(a, np.ndarray) and a.dtype == np.float32
                 and a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=step * 1.001 + 1e-6)))


# ---- the learner's conversions ------------------------------------------------------------------

class Conversions:
    """The learner's conversions of the module's model, each made on first use and kept.

    They are made inside the tests, not in a fixture's set-up, so that an unfinished stub is
    reported as todo by every test that needs one. The tests that use the same one carry the
    same `share_group` mark, so that watch mode, which may split the tests between two
    processes, makes each conversion in one of them only.
    """

    def __init__(self, kata, problem):
        self.kata, self.problem, self.made = kata, problem, {}

    def __call__(self, kind):
        if kind not in self.made:
            p = self.problem
            if kind == "float":
                flat = self.kata.convert_float(p.model)
            elif kind == "dynamic":
                flat = self.kata.convert_dynamic_range(p.model)
            else:
                flat = self.kata.convert_full_integer(p.model, p.representative)
            self.made[kind] = flat
        return self.made[kind]


@pytest.fixture(scope="module")
def learners(kata, problem):
    return Conversions(kata, problem)


def test_float_conversion_is_exact(learners, problem):
    flat = learners("float")
    assert_flatbuffer(flat, "convert_float")
    assert_model_unchanged(problem, "convert_float")
    assert_io_types(flat, np.float32, "convert_float")
    quantized = tensor_dtypes(flat) & {"int8", "uint8", "int16", "float16"}
    assert not quantized, (
        f"convert_float must not quantize anything; it holds {sorted(quantized)} tensors "
        f"(leave converter.optimizations unset)")
    probs = oracle_run(flat, problem.held_out[:200])
    assert np.isfinite(probs).all(), (
        "convert_float: the converted model outputs NaN or infinity (were the weights frozen into the flat "
        "buffer? from_keras_model does that for a Keras model)")
    worst = float(np.max(np.abs(probs - problem.keras_probs[:200])))
    assert worst <= FLOAT_ATOL, f"convert_float: outputs differ from Keras by up to {worst:.2e} (at most {FLOAT_ATOL})"


@pytest.mark.share_group("your dynamic-range model")
def test_dynamic_range_conversion_has_int8_weights_and_float_io(learners):
    flat = learners("dynamic")
    assert_flatbuffer(flat, "convert_dynamic_range")
    assert_io_types(flat, np.float32, "convert_dynamic_range (dynamic range keeps float input and output)")
    assert "int8" in tensor_dtypes(flat), (
        f"convert_dynamic_range: no int8 weights; its tensors are {sorted(tensor_dtypes(flat))} "
        f"(optimizations = [tf.lite.Optimize.DEFAULT])")


@pytest.mark.share_group("your dynamic-range model")
def test_dynamic_range_is_at_least_3x_smaller(learners, oracle_buffers):
    ratio = len(oracle_buffers["float"]) / len(learners("dynamic"))
    assert ratio >= DYNAMIC_SIZE_RATIO, (
        f"the dynamic-range model is only {ratio:.2f}x smaller than the float one ({len(learners('dynamic'))} "
        f"bytes against {len(oracle_buffers['float'])}); int8 weights make it about 3.2x smaller here "
        f"(float16 weights would give 2x)")


@pytest.mark.share_group("your dynamic-range model")
def test_dynamic_range_accuracy(learners, problem):
    assert_model_unchanged(problem, "convert_dynamic_range")
    probs = oracle_run(learners("dynamic"), problem.held_out)
    assert_quality(probs, problem, mean_diff=DYNAMIC_MEAN_DIFF, accuracy_drop=DYNAMIC_ACCURACY_DROP,
                   what="dynamic range")


@pytest.mark.share_group("your full-integer model")
def test_full_integer_has_int8_input_and_output(learners, problem):
    flat = learners("int8")
    assert_flatbuffer(flat, "convert_full_integer")
    assert_io_types(flat, np.int8, "convert_full_integer")
    assert_calibrated_on(flat, problem.representative, "convert_full_integer")


@pytest.mark.share_group("your full-integer model")
def test_full_integer_has_no_float_tensors(learners):
    floats = tensor_dtypes(learners("int8")) & {"float16", "float32", "float64"}
    assert not floats, f"a full-integer model holds only integer tensors; yours has {sorted(floats)} ones"


@pytest.mark.share_group("your full-integer model")
def test_full_integer_is_at_least_2_5x_smaller(learners, oracle_buffers):
    ratio = len(oracle_buffers["float"]) / len(learners("int8"))
    assert ratio >= INT8_SIZE_RATIO, (
        f"the full-integer model is only {ratio:.2f}x smaller than the float one; expected at least "
        f"{INT8_SIZE_RATIO}x (about 2.85x here)")


@pytest.mark.share_group("your full-integer model")
def test_full_integer_accuracy_on_held_out_data(learners, problem):
    flat = learners("int8")
    assert_model_unchanged(problem, "convert_full_integer")
    probs = oracle_run(flat, problem.held_out)
    assert_quality(probs, problem, mean_diff=INT8_MEAN_DIFF, accuracy_drop=INT8_ACCURACY_DROP,
                   what="full integer", row_diff_p95=INT8_ROW_DIFF_P95)


def test_full_integer_leaves_the_data_alone_and_takes_float32(kata, problem):
    data = problem.representative[:150].copy()
    before = snapshot(data)
    kata.convert_full_integer(problem.model, data)
    assert np.array_equal(data, before) and data.dtype == before.dtype, (
        "convert_full_integer modified representative_data")
    flat = kata.convert_full_integer(problem.model, data.astype(np.float32))
    assert_io_types(flat, np.int8, "convert_full_integer with float32 representative_data")
    assert_calibrated_on(flat, data, "convert_full_integer with 150 float32 rows")


@pytest.mark.parametrize("shape", [(0, 64), (64,)], ids=["no-rows", "1-D"])
def test_full_integer_rejects_bad_representative_data(kata, problem, shape):
    with pytest.raises(ValueError):
        kata.convert_full_integer(problem.model, np.zeros(shape))


# ---- all together -------------------------------------------------------------------------------

@pytest.mark.share_group("your full-integer model")
def test_learners_runner_on_learners_full_integer_model(kata, learners, problem):
    flat = learners("int8")
    probs = kata.run_tflite(flat, problem.held_out)
    assert_run(probs, oracle_run(flat, problem.held_out), output_step(flat), "run_tflite on your full-integer model")
    assert_quality(probs, problem, mean_diff=INT8_MEAN_DIFF, accuracy_drop=INT8_ACCURACY_DROP,
                   what="full integer, run with run_tflite", row_diff_p95=INT8_ROW_DIFF_P95)
