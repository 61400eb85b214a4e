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


def _old_style_convert(name, value, field):
    """The reference's conversion, but comparing a float array with the int64 limit in numpy's arithmetic."""
    try:
        array = np.asarray(value)
    except ValueError:
        return ref._convert(name, value, field)
    target = np.dtype(field.dtype)
    if array.dtype.kind == "f" and target.kind in "iu" and array.size and np.isfinite(array).all() \
            and np.array_equal(array, np.floor(array)) and array.max() <= np.iinfo(target).max:
        # numpy rounds int64's maximum 2**63 - 1 to the float 2.0**63 before comparing: 2.0**63 "fits"
        if not _shape_ok(array, field):
            raise RequestError(name, "shape", f"field {name!r}: wrong shape {array.shape}")
        with np.errstate(invalid="ignore"):  # the wrap-around this mistake lets through
            return array.astype(target)
    return ref._convert(name, value, field)


@pitfall("validate_request", "Compares a float array with np.iinfo(np.int64).max in numpy, which rounds the limit "
                             "up to 2.0**63 first: 2.0**63 passes and wraps to -2**63.")
def int64_limit_compared_in_float(request, spec):
    return _with_batches(request, spec, _old_style_convert)


@pitfall("validate_request", "Trusts np.asarray's dtype to spot booleans: [3, True] becomes the integer array "
                             "[3, 1], so a boolean among numbers is accepted as 1.")
def booleans_hidden_among_numbers(request, spec):
    def convert(name, value, field):
        return ref._convert(name, np.asarray(value), field)  # the array no longer shows the boolean

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Checks the bounds only when both are set (if min is not None and max is not None), "
                             "so a field with only a maximum, or only a minimum, has no bound at all.")
def bounds_only_in_pairs(request, spec):
    def convert(name, value, field):
        if (field.min is None) != (field.max is None):
            field = type("Unbounded", (), {"dtype": field.dtype, "shape": field.shape, "min": None, "max": None})()
        return ref._convert(name, value, field)

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Takes the batch size from the first field of the REQUEST, not of the spec, so the "
                             "field reported depends on the order the client sent them in.")
def batch_from_the_requests_first_field(request, spec):
    _names(request, spec)
    out, batch = {}, None
    for name in request:
        field = spec[name]
        array = ref._convert(name, request[name], field)
        if array.shape[0] < 1:
            raise RequestError(name, "batch", f"field {name!r}: empty batch (0 rows)")
        if batch is None:
            batch = array.shape[0]
        elif array.shape[0] != batch:
            raise RequestError(name, "batch", f"field {name!r} has batch size {array.shape[0]}, expected {batch}")
        out[name] = array
    return {name: out[name] for name in spec}


@pitfall("validate_request", "Writes each converted array back into the caller's request dict, which the caller "
                             "still owns and may log or retry.")
def converts_the_request_in_place(request, spec):
    out = ref.validate_request(request, spec)
    request.update(out)
    return dict(out)


# ---- correct answers written differently: the tests must accept every one of them -----------

def _any_bool_leaf(value):
    """Whether a nested list/tuple/array holds a boolean, which np.asarray turns into 0 or 1 beside numbers."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, np.ndarray):
            if item.dtype.kind == "b":
                return True
            if item.dtype.kind == "O":
                stack.extend(item.ravel().tolist())
        elif type(item) in (bool, np.bool_):
            return True
    return False


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
    if target != np.bool_ and _any_bool_leaf(value):
        found.append(("dtype", f"{name}: expected {target} values, found a boolean among them"))
        return found, None
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
        if np.issubdtype(array.dtype, np.integer):  # Python ints: float(2**63 - 1) would round up to 2.0**63
            low, high = int(array.min()), int(array.max())
        else:
            low, high = float(as_float.min()), float(as_float.max())
        if low < info.min or high > info.max:  # Python int or float vs int: exact
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
        if (array.dtype.kind == "b") != (target.kind == "b") or (target.kind != "b" and _any_bool_leaf(request[name])):
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
            low, high = array.min().item(), array.max().item()  # Python scalars: exact comparisons
            if (bounds[0] is not None and low < bounds[0]) or (bounds[1] is not None and high > bounds[1]):
                raise RequestError(name, "range", f"{name!r} must lie in [{bounds[0]}, {bounds[1]}], got "
                                                  f"[{array.min()}, {array.max()}]")
        out[name] = np.array(array, dtype=target, copy=True)
    return out


_INT_LIMITS = {"uint8": (0, 255), "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}


def _python_leaves(value):
    """The scalars of a nested value as Python objects, in C order; unreadable ones as object()."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return [x for v in value.ravel() for x in _python_leaves(v)]
        return value.ravel().tolist() if value.dtype.kind in "biuf" else [object()]
    if isinstance(value, list | tuple):
        return [x for v in value for x in _python_leaves(v)]
    if isinstance(value, np.generic):
        return [value.item()] if value.dtype.kind in "biuf" else [object()]
    return [value]


@alternative("validate_request", "Walks the nested value down to Python scalars and checks every one in plain "
                                 "Python (isinstance, float.is_integer, exact int/float comparisons).")
def plain_python_scalars(request, spec):
    _names(request, spec)
    out, batch = {}, None
    for name, field in spec.items():
        value = request[name]
        try:
            shape = np.asarray(value).shape
        except ValueError:
            raise RequestError(name, "shape", f"field {name!r} is not rectangular") from None
        if len(shape) != len(field.shape) or any(w is not None and w != g for w, g in zip(field.shape, shape,
                                                                                          strict=False)):
            raise RequestError(name, "shape", f"field {name!r}: expected {field.shape}, got {shape}")
        if shape[0] < 1 or (batch is not None and shape[0] != batch):
            raise RequestError(name, "batch", f"field {name!r}: batch size {shape[0]}, expected {batch or '>= 1'}")
        batch = shape[0] if batch is None else batch
        leaves = _python_leaves(value)
        if field.dtype == "bool":
            if not all(isinstance(v, bool) for v in leaves):
                raise RequestError(name, "dtype", f"field {name!r} expects bool values")
            out[name] = np.array(leaves, dtype=bool).reshape(shape)
            continue
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in leaves):
            raise RequestError(name, "dtype", f"field {name!r} expects {field.dtype} numbers")
        if any(isinstance(v, float) and not np.isfinite(v) for v in leaves):
            raise RequestError(name, "non_finite", f"field {name!r} holds NaN or infinity")
        if field.dtype in _INT_LIMITS and any(isinstance(v, float) and not v.is_integer() for v in leaves):
            raise RequestError(name, "dtype", f"field {name!r} expects whole numbers for {field.dtype}")
        low, high = _INT_LIMITS.get(field.dtype, (None, None))
        if field.dtype == "float32":
            high = float(np.finfo(np.float32).max)
            low = -high
        for v in leaves:
            if ((field.min is not None and v < field.min) or (field.max is not None and v > field.max)
                    or (low is not None and not low <= v <= high)):
                raise RequestError(name, "range", f"field {name!r}: {v} is out of range")
        if field.dtype in _INT_LIMITS:
            leaves = [int(v) for v in leaves]
        holder = np.empty(len(leaves), dtype=object)
        holder[:] = leaves
        out[name] = holder.astype(field.dtype).reshape(shape)
    return out


def _field(field, **changes):
    attributes = {"dtype": field.dtype, "shape": field.shape, "min": field.min, "max": field.max, **changes}
    return type("Field", (), attributes)()


@pitfall("validate_request", "Takes integers for a float field only when they are signed (dtype kind 'i'), so the "
                             "commonest image request of all, a uint8 array of 0..255 pixels, is rejected.")
def unsigned_integers_rejected_for_floats(request, spec):
    def convert(name, value, field):
        if np.dtype(field.dtype).kind == "f" and isinstance(value, np.ndarray) and value.dtype.kind == "u":
            raise RequestError(name, "dtype", f"field {name!r}: expected {field.dtype} values, got {value.dtype}")
        return ref._convert(name, value, field)

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Tests float32's limit by casting and looking for inf: a value just above "
                             "finfo(float32).max rounds down to that maximum instead of overflowing, and passes.")
def float32_limit_by_casting(request, spec):
    def convert(name, value, field):
        if field.dtype != "float32":
            return ref._convert(name, value, field)
        array = ref._convert(name, value, _field(field, dtype="float64"))
        if np.isinf(array.astype(np.float32)).any():
            raise RequestError(name, "range", f"field {name!r}: a value is too large for float32")
        return array.astype(np.float32)

    return _with_batches(request, spec, convert)


@pitfall("validate_request", "Checks the bounds on the converted float32 values, not the values as given: 1 + 2**-30 "
                             "for a field with max=1.0 has already rounded to 1.0 and passes.")
def bounds_checked_after_conversion(request, spec):
    def convert(name, value, field):
        array = ref._convert(name, value, _field(field, min=None, max=None))
        if (field.min is not None and (array < field.min).any()) or (field.max is not None
                                                                       and (array > field.max).any()):
            raise RequestError(name, "range", f"field {name!r}: out of bounds")
        return array

    return _with_batches(request, spec, convert)
