"""Known wrong answers for graph_inspect, and correct answers written differently."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


# ---- concrete_op_types ------------------------------------------------------------------------

@pitfall("concrete_op_types",
         "Collects node names ('mul', 'Relu_1') instead of op types ('Mul', 'Relu').")
def node_names_not_types(fn, *specs):
    graph_def = fn.get_concrete_function(*specs).graph.as_graph_def()
    names = {node.name for node in graph_def.node}
    for function in graph_def.library.function:
        names.update(node.name for node in function.node_def)
    return names


@pitfall("concrete_op_types",
         "Looks at the graph's own operations only: the bodies of loops, branches and nested tf.function calls "
         "live in the function library, so their ops are missed.")
def top_level_only(fn, *specs):
    return {operation.type for operation in fn.get_concrete_function(*specs).graph.get_operations()}


@pitfall("concrete_op_types",
         "Reads concrete.function_def, where the inputs are arguments of the function, not Placeholder nodes.")
def function_def_nodes(fn, *specs):
    concrete = fn.get_concrete_function(*specs)
    types = {node.op for node in concrete.function_def.node_def}
    for function in concrete.graph.as_graph_def().library.function:
        types.update(node.op for node in function.node_def)
    return types


@pitfall("concrete_op_types",
         "Returns a sorted list, not a set.")
def returns_a_list(fn, *specs):
    return sorted(ref.concrete_op_types(fn, *specs))


# ---- trace_log --------------------------------------------------------------------------------

@pitfall("trace_log",
         "Wraps python_fn in a new tf.function for every call, so every call traces: the trace cache lives in "
         "the tf.function object.")
def new_function_per_call(python_fn, calls):
    return [tf.function(python_fn)(*args) is not None for args in calls]


_CACHE = {}


@pitfall("trace_log",
         "Keeps one tf.function per python_fn across logs, so a second log of the same calls sees no traces.")
def reuses_the_function_across_logs(python_fn, calls):
    traced = _CACHE.setdefault(python_fn, tf.function(python_fn))
    log = []
    for args in calls:
        before = traced.experimental_get_tracing_count()
        traced(*args)
        log.append(traced.experimental_get_tracing_count() > before)
    return log


def _key(arg):
    if isinstance(arg, tf.Tensor | np.ndarray):
        return ("tensor", tuple(arg.shape), str(arg.dtype))
    return ("python", type(arg).__name__, arg)


@pitfall("trace_log",
         "Predicts instead of measuring: a call traces when its arguments differ from the PREVIOUS call's, which "
         "forgets that every earlier signature stays cached.")
def compares_with_the_previous_call(python_fn, calls):
    log, previous = [], None
    for args in calls:
        key = tuple(_key(arg) for arg in args)
        log.append(key != previous)
        previous = key
    return log


@pitfall("trace_log",
         "Predicts from every earlier call's (type, value) or (dtype, shape): TensorFlow matches Python numbers "
         "by value, so 1, 1.0 and True share one trace, and only measuring shows what it does.")
def predicts_from_types_and_values(python_fn, calls):
    def key(arg):
        if isinstance(arg, bool | int | float):
            return ("python", type(arg).__name__, arg)
        tensor = tf.convert_to_tensor(arg)
        return ("tensor", tensor.dtype.name, tuple(tensor.shape))

    seen, log = set(), []
    for args in calls:
        signature = tuple(key(arg) for arg in args)
        log.append(signature not in seen)
        seen.add(signature)
    return log


@pitfall("trace_log",
         "Makes the tf.function with reduce_retracing=True: after a second shape it relaxes to None and stops "
         "tracing for new shapes, which a default tf.function does not do.")
def with_reduce_retracing(python_fn, calls):
    traced = tf.function(python_fn, reduce_retracing=True)
    log = []
    for args in calls:
        before = traced.experimental_get_tracing_count()
        traced(*args)
        log.append(traced.experimental_get_tracing_count() > before)
    return log


@pitfall("trace_log",
         "Returns the running tracing count after each call instead of whether that call traced.")
def running_counts(python_fn, calls):
    traced = tf.function(python_fn)
    counts = []
    for args in calls:
        traced(*args)
        counts.append(traced.experimental_get_tracing_count())
    return counts


# ---- relaxed_signature ------------------------------------------------------------------------

def _python_dtype(arg, *, bool_as_int=False, float_as_float64=False, int_always_int32=False):
    if isinstance(arg, np.ndarray | np.generic | tf.Tensor):  # before float: np.float64 is a float
        return tf.as_dtype(arg.dtype)
    if isinstance(arg, bool) and not bool_as_int:
        return tf.bool
    if isinstance(arg, int):
        return tf.int32 if int_always_int32 or -2**31 <= arg < 2**31 else tf.int64
    if isinstance(arg, float):
        return tf.float64 if float_as_float64 else tf.float32
    return tf.convert_to_tensor(arg).dtype  # nested lists and the like


def _relaxed(calls, *, bool_as_int=False, float_as_float64=False, first_shape=False, all_none=False,
             rank_mismatch_raises=False, check_dtypes=True, int_always_int32=False):
    """The relaxed signature from first principles; each keyword switches on one mistake."""
    calls = list(calls)
    if not calls or len({len(args) for args in calls}) != 1:
        raise ValueError("bad calls")
    signature = []
    for column in zip(*calls, strict=True):
        dtypes = [_python_dtype(a, bool_as_int=bool_as_int, float_as_float64=float_as_float64,
                                int_always_int32=int_always_int32) for a in column]
        shapes = [tuple(np.shape(a)) for a in column]
        if check_dtypes and len(set(dtypes)) != 1:
            raise ValueError("dtypes differ")
        ranks = {len(shape) for shape in shapes}
        if first_shape:
            shape = tf.TensorShape(shapes[0])
        elif len(ranks) != 1:
            if rank_mismatch_raises:
                raise ValueError("ranks differ")
            shape = tf.TensorShape(None)
        elif all_none:
            shape = tf.TensorShape([None] * ranks.pop())
        else:
            shape = tf.TensorShape([sizes[0] if len(set(sizes)) == 1 else None for sizes in zip(*shapes, strict=True)])
        signature.append(tf.TensorSpec(shape, dtypes[0]))
    return signature


@pitfall("relaxed_signature",
         "Checks isinstance(arg, int) before bool, and True is an int in Python: bools come out as int32.")
def bool_as_int32(calls):
    return _relaxed(calls, bool_as_int=True)


@pitfall("relaxed_signature",
         "Maps every Python int to int32: tf.convert_to_tensor makes an int beyond the int32 range int64, which a "
         "TensorSpec(int32) signature then rejects.")
def int_always_int32(calls):
    return _relaxed(calls, int_always_int32=True)


@pitfall("relaxed_signature",
         "Takes Python floats as float64 (what np.asarray gives); tf.convert_to_tensor makes them float32.")
def python_float_as_float64(calls):
    return _relaxed(calls, float_as_float64=True)


@pitfall("relaxed_signature",
         "Uses the first call's shapes as they are: every other batch size is then rejected.")
def first_call_shapes(calls):
    return _relaxed(calls, first_shape=True)


@pitfall("relaxed_signature",
         "Makes every axis None, also where all calls agree: accepted, but not the most specific signature.")
def every_axis_unknown(calls):
    return _relaxed(calls, all_none=True)


@pitfall("relaxed_signature",
         "Raises when the ranks differ, where an unknown shape, TensorShape(None), accepts them all.")
def rejects_different_ranks(calls):
    return _relaxed(calls, rank_mismatch_raises=True)


@pitfall("relaxed_signature",
         "Takes the first call's dtype without checking the others: calls with another dtype then fail, or are "
         "converted silently, instead of a ValueError here.")
def no_dtype_check(calls):
    return _relaxed(calls, check_dtypes=False)


# ---- traced_once ------------------------------------------------------------------------------

@pitfall("traced_once",
         "tf.function without an input_signature: every new Python number (and every new shape) traces again.")
def no_signature(python_fn, calls):
    ref.relaxed_signature(calls)  # for the ValueError
    return tf.function(python_fn)


@pitfall("traced_once",
         "reduce_retracing=True: it relaxes shapes after a retrace, but Python numbers are still traced by value, "
         "so the function retraces on every new Python scalar.")
def reduce_retracing_instead(python_fn, calls):
    ref.relaxed_signature(calls)
    return tf.function(python_fn, reduce_retracing=True)


@pitfall("traced_once",
         "Builds the signature from the first call alone, so a call with another shape is rejected.")
def signature_of_the_first_call(python_fn, calls):
    ref.relaxed_signature(calls)
    first = [tf.TensorSpec.from_tensor(tf.convert_to_tensor(arg)) for arg in calls[0]]
    return tf.function(python_fn, input_signature=first)


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("concrete_op_types",
             "Follows the function attributes of each node (body, cond, then_branch, f, ...) through the library, "
             "from the graph's operations down.")
def follows_function_attributes(fn, *specs):
    concrete = fn.get_concrete_function(*specs)
    library = {f.signature.name: f for f in concrete.graph.as_graph_def().library.function}

    def called(attrs):
        for value in attrs.values():
            if value.HasField("func"):
                yield value.func.name
            if value.HasField("list"):
                yield from (f.name for f in value.list.func)

    types = {operation.type for operation in concrete.graph.get_operations()}
    pending = [name for operation in concrete.graph.get_operations() for name in called(operation.node_def.attr)]
    done = set()
    while pending:
        name = pending.pop()
        if name in done or name not in library:
            continue
        done.add(name)
        for node in library[name].node_def:
            types.add(node.op)
            pending.extend(called(node.attr))
    return frozenset(types)


@alternative("trace_log",
             "Counts how often the Python body runs (it runs once per trace) through a wrapper.")
def counts_python_executions(python_fn, calls):
    runs = [0]

    def counted(*args):
        runs[0] += 1
        return python_fn(*args)

    traced = tf.function(counted)
    log = []
    for args in calls:
        before = runs[0]
        traced(*args)
        log.append(runs[0] > before)
    return log


@alternative("relaxed_signature",
             "Folds the specs with tf.TensorSpec.most_specific_common_supertype and returns a tuple.")
def common_supertype(calls):
    calls = list(calls)
    if not calls or len({len(args) for args in calls}) != 1:
        raise ValueError("calls must be non-empty and of one length")
    signature = []
    for column in zip(*calls, strict=True):
        specs = [tf.TensorSpec.from_tensor(tf.convert_to_tensor(arg)) for arg in column]
        common = specs[0].most_specific_common_supertype(specs[1:])
        if common is None:
            raise ValueError("dtypes differ")
        signature.append(common)
    return tuple(signature)


@alternative("relaxed_signature",
             "Pure shape arithmetic on np.shape with the dtype rules written out, one spec name per position.")
def shape_arithmetic(calls):
    calls = list(calls)
    if not calls or len({len(args) for args in calls}) != 1:
        raise ValueError("calls must be non-empty and of one length")
    signature = []
    for position, column in enumerate(zip(*calls, strict=True)):
        dtypes = {_python_dtype(arg) for arg in column}
        if len(dtypes) != 1:
            raise ValueError(f"argument {position}: dtypes {dtypes}")
        shapes = [np.shape(arg) for arg in column]
        if len({len(shape) for shape in shapes}) > 1:
            shape = None
        else:
            shape = [shapes[0][axis] if all(s[axis] == shapes[0][axis] for s in shapes) else None
                     for axis in range(len(shapes[0]))]
        signature.append(tf.TensorSpec(shape, dtypes.pop(), name=f"arg{position}"))
    return signature


@alternative("traced_once", "Applies tf.function as a decorator factory to a wrapper that forwards the arguments.")
def decorator_on_a_wrapper(python_fn, calls):
    @tf.function(input_signature=ref.relaxed_signature(calls))
    def wrapper(*args):
        return python_fn(*args)

    return wrapper
