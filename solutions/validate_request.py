"""Validate and coerce an inference request against the model's input specification.

Most production incidents with a deployed model are not the model's fault: a client sends
pixel values of 0..255 to a model trained on 0..1, a float where an index is expected, a
batch of images cropped one pixel short, or leaves a field out. Some of these crash the
model with an error nobody can read; worse, many do not crash at all. ``np.asarray(300)
.astype(np.uint8)`` is 44, ``int(2.7)`` is 2, and NaN passes every range check written as
``x < low or x > high``, because every comparison with NaN is False. The model then answers
confidently, and wrongly.

So a serving layer checks each request against the model's input spec (what TensorFlow
Serving calls the signature: a name, a dtype and a shape per input, with the batch axis left
free) before the model sees it, converts what can be converted without losing anything, and
rejects the rest with an error that tells the client exactly which field is wrong and how.

``InputSpec`` and ``RequestError`` are given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DTYPES = ("bool", "uint8", "int32", "int64", "float32", "float64")
PROBLEMS = ("missing", "unexpected", "dtype", "shape", "batch", "non_finite", "range")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its dtype (one of DTYPES), its shape and optional inclusive bounds.

    ``shape[0]`` is the batch axis and is always None (any batch size); every later entry is
    either an int (that axis must have exactly that size) or None (any size).
    """

    dtype: str
    shape: tuple[int | None, ...]
    min: float | None = None
    max: float | None = None


class RequestError(ValueError):
    """A request that does not fit the spec: which field, which of PROBLEMS, and a readable message."""

    def __init__(self, field: str, problem: str, message: str):
        super().__init__(message)
        self.field = field
        self.problem = problem


def _shape_text(shape) -> str:
    return "(" + ", ".join("any" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _holds_a_bool(value) -> bool:
    """Whether a nested value holds a boolean anywhere: np.asarray([3, True]) would hide it as the integer 1."""
    if isinstance(value, bool | np.bool_):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "b" or (value.dtype.kind == "O" and any(map(_holds_a_bool, value.flat)))
    if isinstance(value, list | tuple):
        return any(map(_holds_a_bool, value))
    return False


def _convert(name: str, value, field) -> np.ndarray:
    """One field's value as an array of the field's dtype, or a RequestError for its first problem."""
    try:
        given = np.asarray(value)
    except (ValueError, TypeError):  # numpy refuses ragged nesting
        raise RequestError(name, "shape", f"field {name!r}: the value is not a rectangular array "
                                          f"(rows of different lengths?)") from None
    target = np.dtype(field.dtype)
    kind = given.dtype.kind
    if kind not in "biuf":
        raise RequestError(name, "dtype", f"field {name!r}: expected {target.name} values, got values of type "
                                          f"{given.dtype} (strings, None and other objects are not accepted)")
    wanted = tuple(field.shape)
    if given.ndim != len(wanted) or any(w is not None and w != g for w, g in zip(wanted, given.shape, strict=False)):
        raise RequestError(name, "shape", f"field {name!r}: expected shape {_shape_text(wanted)}, "
                                          f"got shape {given.shape}")
    if target.kind == "b":
        if kind != "b":
            raise RequestError(name, "dtype", f"field {name!r}: expected bool values, got {given.dtype}")
        return given.astype(target)
    if kind == "b" or _holds_a_bool(value):
        raise RequestError(name, "dtype", f"field {name!r}: expected {target.name} values, got booleans "
                                          f"(booleans are not accepted as numbers)")
    if kind == "f":
        if not np.isfinite(given).all():
            raise RequestError(name, "non_finite", f"field {name!r}: NaN or infinite values are not allowed")
        if target.kind in "iu" and not np.array_equal(given, np.floor(given)):
            raise RequestError(name, "dtype", f"field {name!r}: expected {target.name} values, got floats that "
                                              f"are not whole numbers")
    if given.size:
        # Python scalars compare exactly: the float 2.0**63 is above int64's maximum 2**63 - 1, which numpy would
        # first round to the float 2.0**63 and call equal.
        low, high = given.min().item(), given.max().item()
        if target.kind in "iu":
            limits = np.iinfo(target)
            if low < limits.min or high > limits.max:
                raise RequestError(name, "range", f"field {name!r}: {target.name} holds {limits.min} to "
                                                  f"{limits.max}, got values from {low} to {high}")
        elif target == np.float32 and max(abs(low), abs(high)) > float(np.finfo(np.float32).max):
            raise RequestError(name, "range", f"field {name!r}: a value is too large for float32")
        if field.min is not None and low < field.min:
            raise RequestError(name, "range", f"field {name!r}: values must be >= {field.min}, got {low}")
        if field.max is not None and high > field.max:
            raise RequestError(name, "range", f"field {name!r}: values must be <= {field.max}, got {high}")
    return given.astype(target)


def validate_request(request: dict, spec: dict[str, InputSpec]) -> dict[str, np.ndarray]:
    """Check `request` against `spec` and return its values as arrays of the spec's dtypes.

    `request` maps field names to values: numpy arrays, numpy or Python scalars, or nested
    lists and tuples of them. `spec` maps each input's name to its ``InputSpec`` (anything with
    the attributes ``dtype``, ``shape``, ``min`` and ``max`` will do).

    The request is valid when all of the following hold; each rule names the ``problem`` to
    report when it fails:

    - ``"missing"``: every name in `spec` is in `request`.
    - ``"unexpected"``: every name in `request` is in `spec`.
    - ``"shape"``: the value is rectangular (``np.asarray`` can make a regular array of it:
      ``[[1, 2], [3]]`` is not), has ``len(spec.shape)`` axes, and every axis whose spec entry
      is an int has exactly that size (None entries accept any size).
    - ``"batch"``: the first axis (the batch) is at least 1, and equal to the first axis of the
      FIRST field in `spec`'s order; a field whose batch differs is the one reported.
    - ``"dtype"``: the values can be converted without changing their meaning:

      * a ``"bool"`` field takes booleans only;
      * an integer field (``"uint8"``, ``"int32"``, ``"int64"``) takes integers, and floats
        whose every value is a whole number (``3.0`` becomes ``3``; ``2.5`` is an error);
      * a float field (``"float32"``, ``"float64"``) takes integers and floats;
      * booleans are not numbers here (``True`` for a numeric field is an error), and
        strings, ``None``, complex numbers and other objects are errors for every field.

    - ``"non_finite"``: a float value given for a numeric field is not NaN or +/-infinity.
    - ``"range"``: every value lies within the field's bounds, ``min <= value <= max`` (each
      bound only when it is not None), and within what the field's dtype can hold: 0..255 for
      uint8, the int32 and int64 limits, and ``abs(value) <= np.finfo(np.float32).max`` for
      float32. Compare the values as given, BEFORE converting them (after the conversion 300
      has already become 44 and 2.7 has become 2).

    When a request breaks several rules, raise for any one of them.

    Args:
        request: the request, a dict; neither it nor its values may be modified. Python
            ints in it lie within the int64 limits.
        spec: the model's inputs, a dict from name to InputSpec. It is valid: dtypes from
            DTYPES, ``shape[0]`` None, bounds only on numeric fields.

    Returns:
        A new dict with exactly the names of `spec`, each mapped to a numpy array of the
        field's dtype (``np.dtype(spec[name].dtype)``) and the value's shape, holding the given
        values converted to that dtype.

    Raises:
        RequestError: (a subclass of ValueError) at the first problem found, with ``field``
            the field's name, ``problem`` one of PROBLEMS, and a message that names the field
            and says what was expected and what was found: at least the expected dtype for a
            ``"dtype"`` problem, the shape found for a ``"shape"`` problem (when the value is
            rectangular) and the batch size found for a ``"batch"`` problem.

    Example:
        >>> spec = {"pixels": InputSpec("float32", (None, 2, 2), min=0.0, max=1.0),
        ...         "label": InputSpec("int64", (None,), min=0, max=9)}
        >>> out = validate_request({"pixels": [[[0, 0.5], [1, 0.25]]], "label": [7.0]}, spec)
        >>> out["pixels"].dtype, out["pixels"].shape, out["label"]
        (dtype('float32'), (1, 2, 2), array([7]))
        >>> try:
        ...     validate_request({"pixels": [[[0, 0.5], [1, 0.25]]], "label": [7.5]}, spec)
        ... except RequestError as error:
        ...     print(error.field, error.problem)
        label dtype
        >>> try:
        ...     validate_request({"pixels": [[[0, 0.5], [1, 2.0]]], "label": [7]}, spec)
        ... except RequestError as error:
        ...     print(error.field, error.problem)
        pixels range
    """
    for name in spec:
        if name not in request:
            raise RequestError(name, "missing", f"field {name!r} is missing from the request")
    for name in request:
        if name not in spec:
            raise RequestError(name, "unexpected", f"field {name!r} is not an input of this model "
                                                   f"(its inputs are {', '.join(map(repr, spec))})")
    converted, batch, first = {}, None, None
    for name, field in spec.items():
        array = _convert(name, request[name], field)
        rows = array.shape[0]
        if rows < 1:
            raise RequestError(name, "batch", f"field {name!r}: the batch is empty (batch size {rows})")
        if batch is None:
            batch, first = rows, name
        elif rows != batch:
            raise RequestError(name, "batch", f"field {name!r} has batch size {rows}, but field {first!r} has "
                                              f"{batch}; every field needs the same batch size")
        converted[name] = array
    return converted
