"""Tests for validate_request: accept and convert what fits the spec, reject the rest precisely.

A rejected request must raise a ValueError carrying ``field`` and ``problem`` (one of the
kata's PROBLEMS), and a message that names the field; for some problems the message must also
carry what was expected or found (the dtype expected, the shape or batch size found). The
wording is free. When a request breaks several rules the task lets the learner report any
one of them, so each check here accepts every (field, problem) the request really has.

The tests build specs with their own dataclass (same four attributes as the kata's
InputSpec) and never rely on the learner's module for anything but validate_request.
Valid generated requests are compared with the reference through `differential`, exactly
(dtype included); invalid ones are made from valid ones by one known mutation each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from katakit.testing import describe, exact

NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
PROBLEMS = ("missing", "unexpected", "dtype", "shape", "batch", "non_finite", "range")


@dataclass(frozen=True)
class Spec:
    """The test's own InputSpec: dtype, shape (batch axis first, None), inclusive bounds."""

    dtype: str
    shape: tuple
    min: float | None = None
    max: float | None = None


FLOAT32_MAX = float(np.finfo(np.float32).max)
ABOVE_FLOAT32_MAX = float(np.nextafter(FLOAT32_MAX, np.inf))  # a float64 that float32 rounds down to its maximum

IMAGE = {
    "pixels": Spec("float32", (None, 2, 3), 0.0, 1.0),
    "label": Spec("int64", (None,), 0, 9),
    "mask": Spec("bool", (None, 3)),
}


def image_request(rows=2):
    """A valid request for IMAGE, as nested Python lists."""
    pixels = [[[0.0, 0.25, 0.5], [0.75, 1.0, 0.125]], [[1.0, 1.0, 0.0], [0.5, 0.5, 0.5]], [[0.0] * 3] * 2]
    return {"pixels": pixels[:rows], "label": [3, 9, 0][:rows],
            "mask": [[True, False, True], [False, False, True], [True] * 3][:rows]}


def expect_valid(kata, request, spec, expected):
    __tracebackhide__ = True
    out = kata.validate_request(request, spec)
    assert isinstance(out, dict), f"validate_request must return a dict, got {type(out).__name__}"
    assert set(out) == set(spec), f"the result must have exactly the spec's fields {sorted(spec)}, got {sorted(out)}"
    for name, want in expected.items():
        assert exact(out[name], want), (
            f"field {name!r}: expected {describe(want)}\n  yours: {describe(out[name])}")
    return out


def expect_error(kata, request, spec, allowed):
    """The call raises a ValueError whose (field, problem) is one of `allowed`.

    `allowed` maps each acceptable (field, problem) to the strings its message must contain
    besides the field's name.
    """
    __tracebackhide__ = True
    options = " or ".join(f"(field={f!r}, problem={p!r})" for f, p in allowed)
    try:
        kata.validate_request(request, spec)
    except ValueError as raised:
        error = raised
    else:
        pytest.fail(f"validate_request accepted an invalid request; expected a RequestError with {options}\n"
                    f"  request: {describe(request)}\n  spec:    {spec}", pytrace=False)
    field = getattr(error, "field", "<no field attribute>")
    problem = getattr(error, "problem", "<no problem attribute>")
    assert (field, problem) in allowed, (
        f"expected a RequestError with {options}; got {type(error).__name__} with field={field!r}, "
        f"problem={problem!r}: {error}")
    message = str(error)
    for needed in (field, *allowed[(field, problem)]):
        assert needed in message, (
            f"the error message must say {needed!r} (it names the field and says what is wrong); yours: {message!r}")
    return error


def dims(shape):
    """What a 'shape' message must contain: every dimension of the shape found."""
    return [str(d) for d in shape]


# ---- valid requests ---------------------------------------------------------------------------------

def test_a_valid_request_is_converted_to_the_spec_dtypes(kata):
    request = image_request()
    expect_valid(kata, request, IMAGE, {
        "pixels": np.array(request["pixels"], dtype=np.float32),
        "label": np.array([3, 9], dtype=np.int64),
        "mask": np.array(request["mask"], dtype=bool),
    })


def test_unsigned_integers_for_a_float_field_are_converted(kata):
    # The commonest image request of all: uint8 pixels (dtype kind "u", not "i") for a float model input.
    pixels = np.array([[0, 128, 255]], dtype=np.uint8)
    spec = {"pixels": Spec("float32", (None, 3)), "ids": Spec("int64", (None,))}
    expect_valid(kata, {"pixels": pixels, "ids": np.array([7], dtype=np.uint16)}, spec,
                 {"pixels": pixels.astype(np.float32), "ids": np.array([7])})


def test_numpy_values_of_other_dtypes_are_converted(kata):
    request = {
        "pixels": np.array([[[0, 1, 0], [1, 1, 0]]], dtype=np.int64),  # integers for a float field
        "label": np.array([7.0]),  # whole floats for an integer field
        "mask": np.array([[True, False, False]]),
    }
    expect_valid(kata, request, IMAGE, {
        "pixels": np.array([[[0, 1, 0], [1, 1, 0]]], dtype=np.float32),
        "label": np.array([7], dtype=np.int64),
        "mask": np.array([[True, False, False]]),
    })


def test_values_on_the_bounds_are_accepted(kata):
    request = {"pixels": [[[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]] * 2, "label": (0, 9), "mask": [[False] * 3] * 2}
    expect_valid(kata, request, IMAGE, {"label": np.array([0, 9], dtype=np.int64)})


@pytest.mark.parametrize("dtype, values", [
    ("uint8", [0, 255]), ("int32", [-2**31, 2**31 - 1]), ("int64", [-2**62, 2**62]),
    ("float32", [-1e38, 1e38]), ("float64", [-1e300, 1e300]),
    ("int64", [-2**63, 2**63 - 1]), ("float32", [-FLOAT32_MAX, FLOAT32_MAX]),
], ids=["uint8", "int32", "int64", "float32", "float64", "int64-limits", "float32-limits"])
def test_the_whole_range_of_each_dtype_is_accepted(kata, dtype, values):
    expect_valid(kata, {"x": values}, {"x": Spec(dtype, (None,))}, {"x": np.array(values, dtype=dtype)})


def test_free_axes_take_any_size_and_a_batch_of_one_is_fine(kata):
    spec = {"tokens": Spec("int32", (None, None)), "scale": Spec("float64", (None, None, 2))}
    request = {"tokens": [[1, 2, 3, 4, 5]], "scale": np.ones((1, 4, 2))}
    expect_valid(kata, request, spec, {"tokens": np.array([[1, 2, 3, 4, 5]], dtype=np.int32),
                                       "scale": np.ones((1, 4, 2))})


def test_the_request_is_not_modified(kata):
    pixels = np.array([[[0.0, 0.5, 1.0], [0.25, 0.75, 0.5]]])
    request = {"pixels": pixels, "label": [4], "mask": np.array([[True, True, False]])}
    before = {k: np.array(v, copy=True) for k, v in request.items()}
    objects = dict(request)
    out = kata.validate_request(request, IMAGE)
    assert set(request) == set(before), "the request dict was changed"
    for name, value in before.items():
        assert request[name] is objects[name], (
            f"the request's {name!r} was replaced by another object (the converted array?): leave the request as "
            f"it was and put the converted values in the new dict")
        now = np.asarray(request[name])
        assert now.dtype == value.dtype and np.array_equal(now, value), f"the request's {name!r} was modified"
    assert request["label"] == [4], "the request's 'label' list was modified"
    assert out is not request, "return a new dict"


# ---- each problem on its own ------------------------------------------------------------------------

def _image_with(**changes):
    request = image_request()
    for name, value in changes.items():
        if value is None:
            del request[name]
        else:
            request[name] = value
    return request


SINGLE_PROBLEMS = {
    "missing field": (_image_with(label=None), {("label", "missing"): []}),
    "unexpected field": (dict(image_request(), extra=[1, 2]), {("extra", "unexpected"): []}),
    "wrong axis size": (_image_with(pixels=np.zeros((2, 2, 4))), {("pixels", "shape"): dims((2, 2, 4))}),
    "too few axes": (_image_with(pixels=np.zeros((2, 6))), {("pixels", "shape"): dims((2, 6))}),
    "an extra axis": (_image_with(pixels=np.zeros((2, 2, 3, 1))), {("pixels", "shape"): dims((2, 2, 3, 1))}),
    "a scalar for a batch": (_image_with(label=4), {("label", "shape"): []}),
    "ragged rows": (_image_with(mask=[[True, False, True], [False, True]]), {("mask", "shape"): []}),
    "a fraction for an integer": (_image_with(label=[3, 7.5]), {("label", "dtype"): ["int64"]}),
    "booleans for an integer": (_image_with(label=[True, False]), {("label", "dtype"): ["int64"]}),
    # np.asarray([3, True]) is the integer array [3, 1]: a boolean hidden among numbers is still a boolean.
    "a boolean among integers": (_image_with(label=[3, True]), {("label", "dtype"): ["int64"]}),
    "a boolean among floats": (_image_with(pixels=[[[0.5, 0.5, 0.5], [0.5, True, 0.5]]] * 2),
                               {("pixels", "dtype"): ["float32"]}),
    "a numpy boolean among integers": (_image_with(label=[np.bool_(False), 2]), {("label", "dtype"): ["int64"]}),
    "integers for a bool": (_image_with(mask=[[1, 0, 1], [0, 0, 1]]), {("mask", "dtype"): ["bool"]}),
    "strings for a float": (_image_with(pixels=[[["0", "1", "0"]] * 2] * 2), {("pixels", "dtype"): ["float32"]}),
    "None among floats": (_image_with(pixels=[[[0.0, None, 0.0]] * 2] * 2), {("pixels", "dtype"): ["float32"]}),
    "complex numbers": (_image_with(label=np.array([1 + 0j, 2 + 0j])), {("label", "dtype"): ["int64"]}),
    # NaN fails min <= value <= max as well, so "range" is a fair answer for a field with bounds.
    "NaN within the bounds": (_image_with(pixels=[[[0.5, float("nan"), 0.5]] * 2] * 2),
                              {("pixels", "non_finite"): [], ("pixels", "range"): []}),
    "NaN for an integer": (_image_with(label=[1.0, float("nan")]),
                           {("label", "non_finite"): [], ("label", "dtype"): ["int64"], ("label", "range"): []}),
    "below the minimum": (_image_with(label=[3, -1]), {("label", "range"): []}),
    "above the maximum": (_image_with(pixels=[[[0.5, 1.5, 0.5]] * 2] * 2), {("pixels", "range"): []}),
    "batch sizes differ": (_image_with(label=[1, 2, 3]), {("label", "batch"): ["3"]}),
}


@pytest.mark.parametrize("case", list(SINGLE_PROBLEMS))
def test_each_problem_is_reported_with_its_field(kata, case):
    request, allowed = SINGLE_PROBLEMS[case]
    expect_error(kata, request, IMAGE, allowed)


@pytest.mark.parametrize("dtype, value", [
    ("uint8", 256), ("uint8", 300), ("uint8", -1), ("int32", 2**31), ("int32", -2**31 - 1),
    ("int64", 1e20), ("int64", 2.0**63), ("int64", np.float64(2.0**63)), ("float32", 1e39), ("float32", -1e39),
    ("float32", ABOVE_FLOAT32_MAX), ("float32", -ABOVE_FLOAT32_MAX),
], ids=["uint8-256", "uint8-300", "uint8-neg", "int32-high", "int32-low", "int64-1e20", "int64-2**63",
        "int64-np-2**63", "float32-high", "float32-low", "float32-just-above-max", "float32-just-below-min"])
def test_values_the_dtype_cannot_hold_are_out_of_range(kata, dtype, value):
    # No bounds in the spec: the dtype's own limits apply. Casting first would wrap 300 to 44, and 2.0**63 to
    # -2**63; numpy compares a float64 array with int64's maximum 2**63 - 1 by first rounding that to 2.0**63.
    # The float64 just above float32's maximum casts to that maximum, not to inf: a cast-and-isinf check misses it.
    expect_error(kata, {"x": [1, value]}, {"x": Spec(dtype, (None,))}, {("x", "range"): []})


def test_a_float_array_just_above_the_int64_limit_is_out_of_range(kata):
    expect_error(kata, {"x": np.array([1.0, 2.0**63])}, {"x": Spec("int64", (None,))}, {("x", "range"): []})


@pytest.mark.parametrize("bounds, value", [((None, 9), 10), ((0, None), -1), ((None, 1.0), 1.5), ((-1.0, None), -2.0),
                                            ((None, 1.0), 1 + 2**-30), ((0.0, None), -1e-60)],
                         ids=["int-max-only", "int-min-only", "float-max-only", "float-min-only",
                              "float-max-by-a-hair", "float-min-by-a-hair"])
def test_a_single_bound_is_enforced_on_its_own(kata, bounds, value):
    # The float field is float32: 1 + 2**-30 and -1e-60 round to 1.0 and -0.0 there, inside the bounds, so the
    # bounds must be checked on the values as given.
    dtype = "int64" if isinstance(value, int) else "float32"
    spec = {"x": Spec(dtype, (None,), *bounds)}
    expect_error(kata, {"x": [0, value]}, spec, {("x", "range"): []})
    inside = bounds[0] if bounds[0] is not None else bounds[1]
    expect_valid(kata, {"x": [inside]}, spec, {"x": np.array([inside], dtype=dtype)})


@pytest.mark.parametrize("value", [float("inf"), float("-inf")], ids=["inf", "-inf"])
def test_infinity_is_not_finite(kata, value):
    expect_error(kata, {"x": [[0.5, value]]}, {"x": Spec("float64", (None, 2))}, {("x", "non_finite"): []})


def test_an_empty_batch_is_rejected(kata):
    request = {"pixels": np.zeros((0, 2, 3)), "label": np.zeros(0, dtype=np.int64), "mask": np.zeros((0, 3), bool)}
    expect_error(kata, request, IMAGE, {(name, "batch"): ["0"] for name in IMAGE})


@pytest.mark.parametrize("order", ["abc", "cba", "bca"])
def test_the_first_field_sets_the_batch_size(kata, order):
    spec = {"a": Spec("float64", (None,)), "b": Spec("float64", (None,)), "c": Spec("float64", (None,))}
    # a has 2 rows, so b and c (3 rows each) are the fields in the wrong; a is not, whatever the request's order
    # (the FIRST field in the spec's order sets the batch).
    values = {"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0], "c": [1.0, 2.0, 3.0]}
    request = {name: values[name] for name in order}
    expect_error(kata, request, spec, {("b", "batch"): ["3"], ("c", "batch"): ["3"]})


# ---- several problems: any one of them ------------------------------------------------------------

def test_a_missing_and_an_unexpected_field(kata):
    request = dict(_image_with(mask=None), masks=[[True] * 3] * 2)
    expect_error(kata, request, IMAGE, {("mask", "missing"): [], ("masks", "unexpected"): []})


def test_a_shape_problem_and_a_range_problem(kata):
    request = _image_with(pixels=np.zeros((2, 3, 3)), label=[3, 12])
    expect_error(kata, request, IMAGE, {("pixels", "shape"): dims((2, 3, 3)), ("label", "range"): []})


# ---- generated requests -----------------------------------------------------------------------------

INT_LIMITS = {"uint8": (0, 255), "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}
NAMES = ("features", "ids", "mask", "weights")


@st.composite
def field_specs(draw):
    dtype = draw(st.sampled_from(["bool", "uint8", "int32", "int64", "float32", "float64"]), label="dtype")
    rank = draw(st.integers(1, 3), label="rank")
    shape = (None, *draw(st.lists(st.one_of(st.none(), st.integers(1, 3)), min_size=rank - 1, max_size=rank - 1)))
    low = high = None
    if dtype in INT_LIMITS:
        low = draw(st.sampled_from([None, 0, 2] if dtype == "uint8" else [None, -5, 0]), label="min")
        high = draw(st.sampled_from([None, 9, 200]), label="max")
    elif dtype != "bool":
        low = draw(st.sampled_from([None, -1.0, 0.0]), label="min")
        high = draw(st.sampled_from([None, 1.0, 10.0]), label="max")
    return Spec(dtype, shape, low, high)


def concrete_shape(draw, spec, rows):
    return (rows, *[draw(st.integers(1, 3)) if d is None else d for d in spec.shape[1:]])


def value_for(draw, spec, shape):
    """A valid value for `spec` with `shape`, in one of the forms a client might send."""
    size = int(np.prod(shape))
    if spec.dtype == "bool":
        array = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool).reshape(shape)
        return draw(st.sampled_from([array, array.tolist()]))
    if spec.dtype in INT_LIMITS:
        lo = max(-20 if spec.min is None else spec.min, INT_LIMITS[spec.dtype][0])
        hi = min(20 if spec.max is None else spec.max, INT_LIMITS[spec.dtype][1])
        array = np.array(draw(st.lists(st.integers(lo, hi), min_size=size, max_size=size)), dtype=np.int64)
        array = array.reshape(shape)
        form = draw(st.sampled_from(["list", "int64", "int32", "whole floats", "own dtype"]))
    else:
        lo = -4.0 if spec.min is None else spec.min
        hi = 4.0 if spec.max is None else spec.max
        eighths = draw(st.lists(st.integers(int(lo * 8), int(hi * 8)), min_size=size, max_size=size))
        array = (np.array(eighths, dtype=np.float64) / 8).reshape(shape)
        form = draw(st.sampled_from(["list", "float64", "float32", "own dtype"]))
    return {"list": array.tolist(), "int64": array, "int32": array.astype(np.int32),
            "whole floats": array.astype(np.float64), "float64": array, "float32": array.astype(np.float32),
            "own dtype": array.astype(spec.dtype)}[form]


@st.composite
def valid_cases(draw):
    n = draw(st.integers(1, 3), label="fields")
    names = draw(st.permutations(NAMES), label="names")[:n]
    spec = {name: draw(field_specs(), label=f"spec {name}") for name in names}
    rows = draw(st.integers(1, 3), label="batch")
    shapes = {name: concrete_shape(draw, s, rows) for name, s in spec.items()}
    request = {name: value_for(draw, s, shapes[name]) for name, s in spec.items()}
    return spec, request, shapes


@settings(max_examples=100, phases=NO_EXPLAIN)
@given(case=valid_cases())
def test_generated_valid_requests_match_the_reference(differential, case):
    spec, request, shapes = case
    out = differential("validate_request", request, spec, equal=exact)
    for name, field in spec.items():
        assert out[name].dtype == np.dtype(field.dtype) and out[name].shape == shapes[name]


# The value and batch mutations come twice: they are the ones most often filtered out (bool
# fields, fields without a bound, a single field), and the wrong answers they catch (casting
# before the range check, a bound checked only when both are set, NaN slipping past, batches
# never compared) need them.
MUTATIONS = ("too big", "too small", "nan", "fraction", "batch", "missing", "unexpected", "axis size", "extra axis",
             "batch", "strings", "booleans or numbers", "fraction", "nan", "inf", "too big", "too small")


@st.composite
def invalid_cases(draw):
    """(spec, request, allowed): a valid request broken by one mutation, and the problems that makes."""
    spec, request, shapes = draw(valid_cases())
    names = list(spec)
    mutation = draw(st.sampled_from(MUTATIONS), label="mutation")
    name = draw(st.sampled_from(names[1:] if mutation == "batch" and len(names) > 1 else names), label="field")
    field, shape = spec[name], shapes[name]
    as_array = np.asarray(request[name])
    allowed: dict = {}
    if mutation == "missing":
        del request[name]
        allowed[(name, "missing")] = []
    elif mutation == "unexpected":
        request["extra_input"] = [1.0] * shape[0]
        allowed[("extra_input", "unexpected")] = []
    elif mutation == "axis size":
        fixed = [i for i, d in enumerate(field.shape) if d is not None]
        assume(fixed)
        axis = draw(st.sampled_from(fixed))
        new_shape = tuple(d + 1 if i == axis else d for i, d in enumerate(shape))
        request[name] = value_for(draw, field, new_shape)
        allowed[(name, "shape")] = dims(new_shape)
    elif mutation == "extra axis":
        request[name] = as_array[..., None]
        allowed[(name, "shape")] = dims(shape + (1,))
    elif mutation == "batch":
        assume(len(names) > 1)
        new_shape = (shape[0] + 1, *shape[1:])
        request[name] = value_for(draw, field, new_shape)
        allowed[(name, "batch")] = [str(new_shape[0])]
    elif mutation == "strings":
        request[name] = as_array.astype(str)
        allowed[(name, "dtype")] = [field.dtype]
    elif mutation == "booleans or numbers":
        request[name] = as_array.astype(np.int64) if field.dtype == "bool" else np.ones(shape, dtype=bool)
        allowed[(name, "dtype")] = [field.dtype]
    else:
        assume(field.dtype != "bool")
        broken = as_array.astype(np.float64 if mutation in ("fraction", "nan", "inf") else object).copy()
        where = tuple(draw(st.integers(0, d - 1)) for d in shape)
        if mutation == "fraction":
            assume(field.dtype in INT_LIMITS)
            broken[where] += 0.5
            allowed[(name, "dtype")] = [field.dtype]
            if field.max is not None and broken[where] > field.max:
                allowed[(name, "range")] = []
        elif mutation in ("nan", "inf"):
            broken[where] = np.nan if mutation == "nan" else np.inf
            allowed[(name, "non_finite")] = []
            if field.dtype in INT_LIMITS:
                allowed[(name, "dtype")] = [field.dtype]
            # A bound or a dtype limit: NaN fails min <= value <= max too, and +inf exceeds a maximum.
            if (field.max is not None or field.dtype != "float64"
                    or (mutation == "nan" and field.min is not None)):
                allowed[(name, "range")] = []
        else:
            # int64 and float64 fields have no limit a request can cross without leaving int64 / float64.
            limits = {"uint8": (0, 255), "int32": INT_LIMITS["int32"], "float32": (-1e39, 1e39)}.get(
                field.dtype, (None, None))
            # Cross the field's own bound, or (half the time, and always without a bound) the dtype's limit:
            # a value past the dtype's limit wraps around when cast, whatever bounds the field has.
            past_the_limit = draw(st.booleans(), label="past the dtype's limit")
            if mutation == "too big":
                own = field.max if not (past_the_limit and limits[1] is not None) else None
                bound = own if own is not None else limits[1]
                assume(bound is not None)
                broken[where] = bound + (1 if field.dtype in INT_LIMITS else 0.5) if own is not None \
                    else (bound + 1 if field.dtype in INT_LIMITS else bound)
            else:
                own = field.min if not (past_the_limit and limits[0] is not None) else None
                bound = own if own is not None else limits[0]
                assume(bound is not None)
                broken[where] = bound - (1 if field.dtype in INT_LIMITS else 0.5) if own is not None \
                    else (bound - 1 if field.dtype in INT_LIMITS else bound)
            request[name] = broken.tolist()
            allowed[(name, "range")] = []
            return spec, request, allowed
        request[name] = broken
    return spec, request, allowed


@settings(max_examples=150, phases=NO_EXPLAIN)
@given(case=invalid_cases())
def test_generated_invalid_requests_name_the_field_and_the_problem(kata, case):
    spec, request, allowed = case
    expect_error(kata, request, spec, allowed)
