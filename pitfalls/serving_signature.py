"""Known wrong answers for serving_signature, and correct answers written differently."""

from __future__ import annotations

import json
import math
from unittest import mock

import numpy as np
import tensorflow as tf

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)
SIGNATURE = "serving_default"


def _save_with(model, export_dir, serve, **options):
    """Save `model` inside a tf.Module with `serve` (a Python function of (model, x)) as serving_default."""
    module = tf.Module()
    module.model = model
    spec = options.pop("spec", tf.TensorSpec([None, 4], tf.float32, name="features"))
    module.serve = tf.function(lambda features: serve(module.model, features), input_signature=[spec])
    tf.saved_model.save(module, str(export_dir), signatures=options.pop("signatures", {SIGNATURE: module.serve}))


def _both(logits):
    return {"probabilities": tf.nn.softmax(logits), "class_id": tf.argmax(logits, axis=-1)}


# ---- the export -------------------------------------------------------------------------------

@pitfall("export_classifier",
         "Fixes the batch dimension to 1 in the TensorSpec: the server rejects every request of more than one "
         "example.")
def batch_of_one(model, export_dir):
    _save_with(model, export_dir, lambda m, x: _both(m(x)), spec=tf.TensorSpec([1, 4], tf.float32, name="features"))


@pitfall("export_classifier",
         "Leaves the TensorSpec unnamed and calls the argument x: the signature's input is named 'x', so "
         "clients sending 'features' are refused.")
def input_named_after_the_argument(model, export_dir):
    module = tf.Module()
    module.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def serve(x):
        return _both(module.model(x))

    module.serve = serve
    tf.saved_model.save(module, str(export_dir), signatures={SIGNATURE: serve})


@pitfall("export_classifier",
         "Returns the bare probabilities tensor instead of a dict: the only output is called 'output_0' and "
         "class_id is missing.")
def unnamed_single_output(model, export_dir):
    _save_with(model, export_dir, lambda m, x: tf.nn.softmax(m(x)))


@pitfall("export_classifier",
         "Calls the logits 'probabilities' without a softmax: the values are not probabilities.")
def logits_as_probabilities(model, export_dir):
    _save_with(model, export_dir, lambda m, x: {"probabilities": m(x), "class_id": tf.argmax(m(x), axis=-1)})


@pitfall("export_classifier",
         "Takes the softmax and the argmax over axis 0, the batch, instead of the class axis.")
def softmax_over_the_batch(model, export_dir):
    _save_with(model, export_dir,
               lambda m, x: {"probabilities": tf.nn.softmax(m(x), axis=0), "class_id": tf.argmax(m(x), axis=0)})


@pitfall("export_classifier",
         "Calls tf.argmax(logits) without axis=-1: it defaults to axis 0, the batch, and class_id gets one "
         "entry per class instead of one per example.")
def argmax_default_axis(model, export_dir):
    _save_with(model, export_dir, lambda m, x: {"probabilities": tf.nn.softmax(m(x)), "class_id": tf.argmax(m(x))})


@pitfall("export_classifier", "Casts class_id to int32: the signature promises int64, tf.argmax's default.")
def class_id_as_int32(model, export_dir):
    _save_with(model, export_dir, lambda m, x: {"probabilities": tf.nn.softmax(m(x)),
                                                "class_id": tf.argmax(m(x), axis=-1, output_type=tf.int32)})


@pitfall("export_classifier",
         "Traces the signature from a sample batch (get_concrete_function(tf.zeros([2, 4]))): the batch size "
         "is frozen at 2.")
def traced_from_a_sample_batch(model, export_dir):
    module = tf.Module()
    module.model = model
    module.serve = tf.function(lambda features: _both(module.model(features)))
    sample = module.serve.get_concrete_function(tf.zeros([2, 4], tf.float32, name="features"))
    tf.saved_model.save(module, str(export_dir), signatures={SIGNATURE: sample})


# ---- loading ----------------------------------------------------------------------------------

class _NumpySoftmax(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="features")])
    def serve(self, features):
        logits = self.model(features)

        def softmax(z):
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

        probabilities = tf.ensure_shape(tf.numpy_function(softmax, [logits], tf.float32), [None, 3])
        return {"probabilities": probabilities, "class_id": tf.argmax(logits, axis=-1)}


@pitfall("export_classifier",
         "Computes the softmax with tf.numpy_function: the SavedModel loads and runs in the saving process, but "
         "another process (a server) has no such Python function and fails when it calls the signature.")
def numpy_function_softmax(model, export_dir):
    module = _NumpySoftmax(model)
    tf.saved_model.save(module, str(export_dir), signatures={"serving_default": module.serve})


@pitfall("load_serving_signature",
         "Takes the first signature in the SavedModel instead of serving_default by name.")
def first_signature(export_dir):
    signatures = tf.saved_model.load(str(export_dir)).signatures
    if not signatures:
        raise ValueError("no signatures")
    return next(iter(signatures.values()))


@pitfall("load_serving_signature",
         "Returns the loaded object itself; it is not callable, the function to call is in its signatures.")
def returns_the_loaded_object(export_dir):
    loaded = tf.saved_model.load(str(export_dir))
    if SIGNATURE not in loaded.signatures:
        raise ValueError("no serving_default")
    return loaded


# ---- the client's request ---------------------------------------------------------------------

@pitfall("build_predict_request",
         "Rounds the numbers to 4 decimals to keep the body short: the model no longer sees the values sent.")
def rounds_the_numbers(features, *, columnar=False):
    batch = np.asarray(features, dtype=np.float32)
    if batch.ndim != 2 or 0 in batch.shape or not np.isfinite(batch).all():
        raise ValueError("bad features")
    rows = np.round(batch.astype(np.float64), 4).tolist()
    key, value = ("inputs", {"features": rows}) if columnar else ("instances", rows)
    return json.dumps({"signature_name": SIGNATURE, key: value})


@pitfall("build_predict_request",
         "Puts the columnar batch under 'instances' and the rows under 'inputs': the two layouts swapped.")
def swaps_the_layouts(features, *, columnar=False):
    batch = np.asarray(features, dtype=np.float32)
    if batch.ndim != 2 or 0 in batch.shape or not np.isfinite(batch).all():
        raise ValueError("bad features")
    rows = batch.tolist()
    key, value = ("instances", {"features": rows}) if columnar else ("inputs", rows)
    return json.dumps({"signature_name": SIGNATURE, key: value})


@pitfall("build_predict_request",
         "Lets NaN and infinity through: json.dumps writes them as NaN and Infinity, which is not JSON, and the "
         "server refuses the whole body.")
def lets_nan_through(features, *, columnar=False):
    batch = np.asarray(features, dtype=np.float32)
    if batch.ndim != 2 or 0 in batch.shape:
        raise ValueError("bad features")
    rows = batch.tolist()
    key, value = ("inputs", {"features": rows}) if columnar else ("instances", rows)
    return json.dumps({"signature_name": SIGNATURE, key: value})


# ---- the server -------------------------------------------------------------------------------

def _reply(signature, batch, columnar):
    outputs = {k: v.numpy() for k, v in signature(features=tf.constant(batch)).items()}
    if columnar:
        return json.dumps({"outputs": {k: v.tolist() for k, v in outputs.items()}})
    return json.dumps({"predictions": [{k: v[i].tolist() for k, v in outputs.items()} for i in range(len(batch))]})


@pitfall("handle_predict_request",
         "Always answers in row format ('predictions'), also to a columnar request that expects 'outputs'.")
def always_row_format(signature, body):
    batch, _ = ref._parse_request(body)
    return _reply(signature, batch, columnar=False)


@pitfall("handle_predict_request",
         "Answers a row-format request with the columnar dict under 'predictions' instead of one object per "
         "instance.")
def predictions_as_columns(signature, body):
    batch, columnar = ref._parse_request(body)
    if columnar:
        return _reply(signature, batch, columnar=True)
    outputs = {k: v.numpy().tolist() for k, v in signature(features=tf.constant(batch)).items()}
    return json.dumps({"predictions": outputs})


@pitfall("handle_predict_request",
         "Converts the rows with np.asarray(rows, np.float32) and checks nothing else: true becomes 1.0, "
         "'1.0' becomes 1.0, and a row of the wrong width reaches the model.")
def trusts_numpy_to_check(signature, body):
    request = json.loads(body)
    if not isinstance(request, dict) or ("instances" in request) == ("inputs" in request):
        raise ValueError("need exactly one of instances and inputs")
    if request.get("signature_name", SIGNATURE) != SIGNATURE:
        raise ValueError("unknown signature")
    columnar = "inputs" in request
    data = request["inputs"] if columnar else request["instances"]
    if isinstance(data, dict):
        data = data["features"]
    if not isinstance(data, list) or not data:
        raise ValueError("empty")
    data = [row["features"] if isinstance(row, dict) else row for row in data]
    return _reply(signature, np.asarray(data, dtype=np.float32).reshape(-1, 4), columnar)


@pitfall("handle_predict_request",
         "Checks that each number is finite, but not that float32 can hold it: 1e39 becomes an infinity in "
         "the float32 batch, and the reply holds NaN, which is not JSON.")
def finite_in_float64_only(signature, body):
    def finite(number):
        try:
            return math.isfinite(number)
        except OverflowError:
            return False

    # The reference's checks, with its float32 range check swapped for a float64 one.
    with mock.patch.object(ref, "_fits_float32", finite), np.errstate(over="ignore"):
        batch, columnar = ref._parse_request(body)
    return _reply(signature, batch, columnar)


@pitfall("handle_predict_request",
         "Reads 'instances' first and never notices that the request also has 'inputs'.")
def accepts_both_layouts(signature, body):
    request = json.loads(body)
    if isinstance(request, dict) and "instances" in request and "inputs" in request:
        del request["inputs"]
        body = json.dumps(request)
    batch, columnar = ref._parse_request(body)
    return _reply(signature, batch, columnar)


@pitfall("handle_predict_request",
         "Ignores signature_name, so a request meant for another signature is silently answered by this one.")
def ignores_signature_name(signature, body):
    request = json.loads(body)
    if isinstance(request, dict):
        request.pop("signature_name", None)
    batch, columnar = ref._parse_request(json.dumps(request))
    return _reply(signature, batch, columnar)


@pitfall("handle_predict_request",
         "Writes the output names 'probabilities' and 'class_id' into the handler: a signature with other or "
         "more outputs is answered with only those two.")
def hard_coded_output_names(signature, body):
    batch, columnar = ref._parse_request(body)
    outputs = signature(features=tf.constant(batch))
    probabilities, class_id = outputs["probabilities"].numpy(), outputs["class_id"].numpy()
    if columnar:
        return json.dumps({"outputs": {"probabilities": probabilities.tolist(), "class_id": class_id.tolist()}})
    return json.dumps({"predictions": [{"probabilities": p, "class_id": c}
                                       for p, c in zip(probabilities.tolist(), class_id.tolist(), strict=True)]})


@pitfall("handle_predict_request",
         "Rounds the probabilities to 6 decimals for a tidier reply: they are no longer the float32 values the "
         "signature returned.")
def rounds_the_probabilities(signature, body):
    batch, columnar = ref._parse_request(body)
    outputs = {k: v.numpy().tolist() for k, v in signature(features=tf.constant(batch)).items()}
    outputs["probabilities"] = [[round(p, 6) for p in row] for row in outputs["probabilities"]]
    if columnar:
        return json.dumps({"outputs": outputs})
    return json.dumps({"predictions": [{k: v[i] for k, v in outputs.items()} for i in range(len(batch))]})


@pitfall("handle_predict_request",
         "Assumes the parsed body is a dict or a list: a body of 3 or null fails with a TypeError, not a "
         "ValueError that says what is wrong.")
def assumes_an_object_or_a_list(signature, body):
    request = json.loads(body)
    if "instances" in request and "inputs" in request:
        raise ValueError("both instances and inputs")
    return ref.handle_predict_request(signature, body)


def _parse_leniently(body, *, finite_only=True, one_key_instances=True):
    """The reference's checks, each of two switchable: a mistake is one switch turned off."""
    request = json.loads(body)
    if not isinstance(request, dict) or ("instances" in request) == ("inputs" in request):
        raise ValueError("need a JSON object with exactly one of instances and inputs")
    if request.get("signature_name", SIGNATURE) != SIGNATURE:
        raise ValueError("unknown signature")
    columnar = "inputs" in request
    data = request["inputs"] if columnar else request["instances"]
    if columnar and isinstance(data, dict):
        if set(data) != {"features"}:
            raise ValueError("inputs must name features only")
        data = data["features"]
    if not isinstance(data, list) or not data:
        raise ValueError("no examples")
    rows = []
    for row in data:
        if not columnar and isinstance(row, dict):
            if ("features" not in row) if not one_key_instances else (set(row) != {"features"}):
                raise ValueError("instances must name features")
            row = row["features"]
        if not isinstance(row, list) or len(row) != 4 or any(
                isinstance(v, bool) or not isinstance(v, int | float) for v in row):
            raise ValueError(f"bad example {row!r}")
        if finite_only and not all(np.isfinite(row)):
            raise ValueError("NaN or infinity")
        rows.append(row)
    return np.array(rows, dtype=np.float32), columnar


@pitfall("handle_predict_request",
         "Takes the NaN and Infinity that Python's json module reads as numbers: JSON has none, the model runs on "
         "them, and a NaN probability makes the reply itself invalid JSON.")
def json_nan_is_a_number(signature, body):
    return _reply(signature, *_parse_leniently(body, finite_only=False))


@pitfall("handle_predict_request",
         "Checks only that an instance object has a 'features' key, so {\"features\": [...], \"x\": [...]} is "
         "answered with x silently dropped, where the columnar object with an extra name is rejected.")
def instance_object_with_extra_names(signature, body):
    return _reply(signature, *_parse_leniently(body, one_key_instances=False))


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("export_classifier",
             "Saves the model object itself with a get_concrete_function signature that closes over it; the "
             "softmax is written out with exp and the class comes from the probabilities.")
def concrete_function_on_the_model(model, export_dir):
    @tf.function
    def serve(features):
        logits = model(features)
        weights = tf.exp(logits - tf.reduce_max(logits, axis=1, keepdims=True))
        probabilities = weights / tf.reduce_sum(weights, axis=1, keepdims=True)
        return {"class_id": tf.argmax(probabilities, axis=1), "probabilities": probabilities}

    concrete = serve.get_concrete_function(tf.TensorSpec([None, 4], tf.float32, name="features"))
    tf.saved_model.save(model, str(export_dir), signatures=concrete)


@alternative("export_classifier",
             "Makes serving_default the module's __call__ with an input signature, saved without signatures=.")
def call_method_becomes_the_default(model, export_dir):
    class Server(tf.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
        def __call__(self, features):
            logits = self.inner(features)
            return {"probabilities": tf.math.softmax(logits), "class_id": tf.math.argmax(logits, axis=-1)}

    tf.saved_model.save(Server(model), str(export_dir))


@alternative("load_serving_signature", "Loads with the serve tag and looks the signature up with .get().")
def tagged_load(export_dir):
    signature = tf.saved_model.load(str(export_dir), tags=[tf.saved_model.SERVING]).signatures.get(SIGNATURE)
    if signature is None:
        raise ValueError(f"{export_dir} has no serving_default signature")
    return signature


@alternative("build_predict_request",
             "Builds the lists by hand, float(np.float32(v)) per number, and compact separators.")
def hand_built_lists(features, *, columnar=False):
    array = np.array(features, dtype=np.float64, copy=True)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError("features must be a non-empty 2-D array")
    if np.isnan(array).any() or np.isinf(array).any():
        raise ValueError("features must be finite")
    rows = [[float(np.float32(v)) for v in row] for row in array]
    body = {"signature_name": "serving_default"}
    body.update({"inputs": {"features": rows}} if columnar else {"instances": rows})
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


@alternative("handle_predict_request",
             "Validates with a small schema walk, reads the output names from structured_outputs, and calls the "
             "signature through a keyword dict.")
def schema_walk(signature, body):
    def no_constants(name):
        raise ValueError(f"{name} is not a JSON number")

    try:
        request = json.loads(body, parse_constant=no_constants)  # NaN, Infinity, -Infinity
    except ValueError as exc:
        raise ValueError(f"bad JSON: {exc}") from exc
    if type(request) is not dict:
        raise ValueError("the body must be an object")
    if request.get("signature_name", "serving_default") != "serving_default":
        raise ValueError("unknown signature")
    layouts = [k for k in ("instances", "inputs") if k in request]
    if len(layouts) != 1:
        raise ValueError("exactly one of instances / inputs")
    data = request[layouts[0]]
    if layouts[0] == "inputs" and type(data) is dict:
        if list(data) != ["features"]:
            raise ValueError("inputs must name features only")
        data = data["features"]
    if type(data) is not list or len(data) == 0:
        raise ValueError("no examples")
    rows = []
    for item in data:
        if layouts[0] == "instances" and type(item) is dict:
            if list(item) != ["features"]:
                raise ValueError("instances must name features only")
            item = item["features"]
        if type(item) is not list or len(item) != 4 or any(type(v) not in (int, float) for v in item):
            raise ValueError(f"bad example {item!r}")
        try:
            rows.append([float(v) for v in item])
        except OverflowError:
            raise ValueError(f"a number in {item!r} is too large") from None
    with np.errstate(over="ignore"):
        batch = np.array(rows, dtype=np.float32)
    if not np.isfinite(batch).all():
        raise ValueError("a number is too large for float32")
    names = sorted(signature.structured_outputs)
    result = signature(**{"features": tf.convert_to_tensor(batch)})
    columns = {name: result[name].numpy().tolist() for name in names}
    if layouts[0] == "inputs":
        return json.dumps({"outputs": columns})
    return json.dumps({"predictions": [dict(zip(names, values, strict=True))
                                       for values in zip(*(columns[n] for n in names), strict=True)]})
