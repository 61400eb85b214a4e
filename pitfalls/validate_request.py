"""Known wrong answers for validate_request, and correct answers written differently."""

from __future__ import annotations

import numpy as np

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)
RequestError = ref.RequestError


def _names(request, spec):
    for name in spec:
        if name not in request:
            raise RequestError(name, "missing", f"field {name!r} is missing")
    for name in request:
        if name not in spec:
            raise RequestError(name, "unexpected", f"field {name!r} is not an input of this model")


def _with_batches(request, spec, convert):
    """Name checks, `convert(name, value, field)` per field, then the batch rule."""
    _names(request, spec)
    out, batch = {}, None
    for name, field in spec.items():
        array = convert(name, request[name], field)
        if array.shape[0] < 1:
            raise RequestError(name, "batch", f"field {name!r}: empty batch (0 rows)")
        if batch is None:
            batch = array.shape[0]
        elif array.shape[0] != batch:
            raise RequestError(name, "batch", f"field {name!r} has batch size {array.shape[0]}, expected {batch}")
        out[name] = array
    return out


def _shape_ok(array, field):
    return array.ndim == len(field.shape) and all(w is None or w == g for w, g in zip(field.shape, array.shape,
                                                                                       strict=True))


@pitfall("validate_request", "Converts floats to an integer dtype with astype, which truncates: 7.5 is "
                             "accepted as 7 instead of rejected.")
def truncates_fractions(request, spec):
    def convert(name, value, field):
        target = np.dtype(field.dtype)
        array = np.asarray(value)
        if target.kind in "iu" and array.dtype.kind == "f" and np.isfinite(array).all():
            array = array.astype(target)  # 7.5 -> 7, and the integrality check below sees nothing wrong
        return ref._convert(name, array, field)

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Converts to the field's dtype first and range-checks afterwards, so 300 for a "
                             "uint8 field has already wrapped around to 44 and passes.")
def casts_before_the_range_check(request, spec):
    def convert(name, value, field):
        target = np.dtype(field.dtype)
        array = np.asarray(value)
        if array.dtype.kind in "iu" and target.kind in "iu":
            array = array.astype(target)  # wraps around silently
        return ref._convert(name, array, field)

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Checks the bounds with x < min or x > max and never checks for NaN, so NaN passes "
                             "every range check.")
def nan_passes_the_range_check(request, spec):
    def convert(name, value, field):
        array = np.asarray(value)
        if array.dtype.kind == "f" and np.isnan(array).any() and np.dtype(field.dtype).kind == "f":
            if not _shape_ok(array, field):
                raise RequestError(name, "shape", f"field {name!r}: wrong shape {array.shape}")
            return array.astype(field.dtype)  # the comparisons below would all be False anyway
        return ref._convert(name, array, field)

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Silently drops fields the model does not have instead of rejecting them: a typo in "
                             "a field name goes unnoticed.")
def ignores_unexpected_fields(request, spec):
    return ref.validate_request({name: value for name, value in request.items() if name in spec}, spec)


@pitfall("validate_request", "Checks each field's shape on its own but never compares batch sizes across fields.")
def no_batch_agreement(request, spec):
    _names(request, spec)
    out = {}
    for name, field in spec.items():
        out[name] = ref._convert(name, request[name], field)
        if out[name].shape[0] < 1:
            raise RequestError(name, "batch", f"field {name!r}: empty batch (0 rows)")
    return out


@pitfall("validate_request", "Accepts booleans for numeric fields (True becomes 1), since numpy happily converts "
                             "them.")
def booleans_as_numbers(request, spec):
    def convert(name, value, field):
        array = np.asarray(value)
        if array.dtype.kind == "b" and np.dtype(field.dtype).kind != "b":
            array = array.astype(np.int64)
        return ref._convert(name, array, field)

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Lets numpy's own ValueError escape for ragged lists: the client gets 'inhomogeneous "
                             "shape' with no field name.")
def numpy_error_escapes(request, spec):
    def convert(name, value, field):
        return ref._convert(name, np.array(value), field)  # np.array raises outside the try

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Compares the shape with zip(spec.shape, value.shape), which stops at the shorter "
                             "one, so an extra axis (or a missing one) goes unnoticed.")
def zip_misses_extra_axes(request, spec):
    def convert(name, value, field):
        array = np.asarray(value)
        if array.ndim > len(field.shape):
            array = array.reshape(array.shape[:len(field.shape) - 1] + (-1,))  # how a model would then read it
            return ref._convert(name, array, field)
        return ref._convert(name, array, field)

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Accepts an empty batch (0 rows), which the model cannot answer.")
def accepts_an_empty_batch(request, spec):
    _names(request, spec)
    out, batch = {}, None
    for name, field in spec.items():
        array = ref._convert(name, request[name], field)
        if batch is None:
            batch = array.shape[0]
        elif array.shape[0] != batch:
            raise RequestError(name, "batch", f"field {name!r} has batch size {array.shape[0]}, expected {batch}")
        out[name] = array
    return out


@pitfall("validate_request", "Raises RequestError with the right field and problem but a generic message "
                             "('invalid request') that does not say which field is wrong.")
def message_without_the_field(request, spec):
    try:
        return ref.validate_request(request, spec)
    except RequestError as error:
        raise RequestError(error.field, error.problem, f"invalid request: {error.problem}") from None


# ---- correct answers written differently: the tests must accept every one of them -----------

def _problems(name, value, field):
    """Every problem of one field, in no particular order, as (problem, message) pairs."""
    found = []
    try:
        array = np.asarray(value)
    except ValueError:
        return [("shape", f"{name}: the nested lists are ragged")], None
    target = np.dtype(field.dtype)
    if not (np.issubdtype(array.dtype, np.bool_) or np.issubdtype(array.dtype, np.number)) \
            or np.issubdtype(array.dtype, np.complexfloating):
        return [("dtype", f"{name}: cannot read {array.dtype} values as {target}")], None
    if array.ndim != len(field.shape) or any(w not in (None, g) for w, g in zip(field.shape, array.shape,
                                                                                strict=False)):
        found.append(("shape", f"{name}: shape {array.shape} does not fit {field.shape}"))
    is_bool = np.issubdtype(array.dtype, np.bool_)
    if (target == np.bool_) != is_bool:
        found.append(("dtype", f"{name}: expected {target} values, got {array.dtype}"))
        return found, None
    if is_bool:
        return found, array
    as_float = array.astype(np.float64)
    if np.issubdtype(array.dtype, np.floating):
        if np.isnan(as_float).any() or np.isinf(as_float).any():
            found.append(("non_finite", f"{name}: has NaN or infinity"))
            return found, None
        if np.issubdtype(target, np.integer) and np.any(np.mod(as_float, 1) != 0):
            found.append(("dtype", f"{name}: {target} needs whole numbers"))
    if np.issubdtype(target, np.integer) and array.size:
        info = np.iinfo(target)
        exact = array.astype(object) if np.issubdtype(array.dtype, np.integer) else as_float  # Python ints
        if exact.min() < info.min or exact.max() > info.max:
            found.append(("range", f"{name}: {target} holds {info.min}..{info.max}"))
    elif target == np.float32 and array.size and np.abs(as_float).max() > np.finfo(np.float32).max:
        found.append(("range", f"{name}: too large for float32"))
    if array.size and field.min is not None and (array < field.min).any():
        found.append(("range", f"{name}: below {field.min}"))
    if array.size and field.max is not None and (array > field.max).any():
        found.append(("range", f"{name}: above {field.max}"))
    return found, array


@alternative("validate_request", "Collects every problem of every field first and raises the LAST one found, "
                                 "using np.issubdtype and exact integer comparisons.")
def collects_everything_raises_the_last(request, spec):
    problems = [(name, "missing", f"{name} is missing") for name in spec if name not in request]
    problems += [(name, "unexpected", f"{name} is not a model input") for name in sorted(request)
                 if name not in spec]
    arrays = {}
    for name, field in spec.items():
        if name in request:
            found, array = _problems(name, request[name], field)
            problems += [(name, problem, message) for problem, message in found]
            if array is not None and not found:
                arrays[name] = array
    first = next(iter(spec))
    if first in arrays:
        batch = arrays[first].shape[0]
        for name, array in arrays.items():
            if array.shape[0] == 0 or array.shape[0] != batch:
                problems.append((name, "batch", f"{name} has {array.shape[0]} rows, {first} has {batch}"))
    if problems:
        raise RequestError(*problems[-1])
    return {name: arrays[name].astype(spec[name].dtype) for name in spec}


@alternative("validate_request", "Checks rule by rule across all fields (names, then shapes, then batch, then "
                                 "dtypes and values), converting with np.array(..., copy=True) at the end.")
def rule_by_rule(request, spec):
    missing = sorted(set(spec) - set(request))
    if missing:
        raise RequestError(missing[0], "missing", f"required input {missing[0]!r} was not sent")
    extra = sorted(set(request) - set(spec))
    if extra:
        raise RequestError(extra[0], "unexpected", f"{extra[0]!r}: no such input")
    arrays = {}
    for name, field in spec.items():
        try:
            arrays[name] = np.asarray(request[name])
        except ValueError:
            raise RequestError(name, "shape", f"{name!r} is not a rectangular array") from None
        if arrays[name].dtype.kind not in "biuf":
            raise RequestError(name, "dtype", f"{name!r} must hold {field.dtype} values, not {arrays[name].dtype}")
        if not _shape_ok(arrays[name], field):
            raise RequestError(name, "shape", f"{name!r} has shape {arrays[name].shape}, the model takes "
                                              f"{tuple(field.shape)}")
    sizes = [a.shape[0] for a in arrays.values()]
    for name, size in zip(arrays, sizes, strict=True):
        if size == 0 or size != sizes[0]:
            raise RequestError(name, "batch", f"{name!r} has {size} rows; expected {max(sizes[0], 1)}")
    out = {}
    for name, field in spec.items():
        array, target = arrays[name], np.dtype(field.dtype)
        if (array.dtype.kind == "b") != (target.kind == "b"):
            raise RequestError(name, "dtype", f"{name!r}: {array.dtype} cannot be read as {target.name}")
        if array.dtype.kind == "f":
            if not np.all(np.isfinite(array)):
                raise RequestError(name, "non_finite", f"{name!r} contains NaN or inf")
            if target.kind in "iu" and not np.all(array == np.round(array)):
                raise RequestError(name, "dtype", f"{name!r} must hold whole numbers for {target.name}")
        if target.kind != "b" and array.size:
            bounds = [field.min, field.max]
            if target.kind in "iu":
                info = np.iinfo(target)
                bounds = [max(b, info.min) if b is not None else info.min for b in bounds[:1]] + \
                         [min(b, info.max) if b is not None else info.max for b in bounds[1:]]
            elif target == np.float32:
                limit = float(np.finfo(np.float32).max)
                bounds = [max(bounds[0], -limit) if bounds[0] is not None else -limit,
                          min(bounds[1], limit) if bounds[1] is not None else limit]
            if (bounds[0] is not None and array.min() < bounds[0]) or (bounds[1] is not None
                                                                          and array.max() > bounds[1]):
                raise RequestError(name, "range", f"{name!r} must lie in [{bounds[0]}, {bounds[1]}], got "
                                                  f"[{array.min()}, {array.max()}]")
        out[name] = np.array(array, dtype=target, copy=True)
    return out
