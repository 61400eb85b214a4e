"""Look inside tf.function: concrete functions, their graphs, and when they are traced again.

``tf.function`` does not run your Python code on every call. The first time it sees a new
kind of argument it TRACES the function: it runs the Python code once with symbolic
tensors, records every TensorFlow operation into a graph, and keeps the result as a
*concrete function*, one graph for one input signature. Later calls whose arguments fit an
existing signature run that graph directly, and the Python code does not run at all.

What counts as a new kind of argument decides how often it traces:

- a tensor (or a numpy array) is matched by dtype and shape only: new VALUES reuse the graph;
- a Python scalar (int, float, bool) is matched by its VALUE: every new number traces again,
  because the number is baked into the graph as a constant;
- an ``input_signature`` (a list of ``tf.TensorSpec``, one per argument) fixes the one
  signature the function accepts; Python scalars are then converted to tensors, a ``None``
  in a shape accepts any size on that axis, and a shape of ``None`` accepts any rank. A
  function with a signature traces once.

``fn.get_concrete_function(*specs)`` traces (or finds) the concrete function for the
``tf.TensorSpec``s you give, without calling it. Its ``.graph`` is an ordinary graph: one
node per operation, each with a name (``"mul_1"``) and an op type (``"Mul"``). Inputs are
``Placeholder`` nodes and outputs pass through ``Identity``. Control flow does not put its
body in that graph: ``while`` over tensors becomes one ``While``/``StatelessWhile`` node, ``if``
on a tensor one ``If``/``StatelessIf`` node, and a call of another tf.function a
``PartitionedCall``-like node; each refers by name to functions kept in the graph's FUNCTION
LIBRARY (``graph.as_graph_def().library.function``), where the body's operations live.
"""

from __future__ import annotations

import tensorflow as tf


def concrete_op_types(fn, *specs) -> set[str]:
    """Every op type in the concrete function of `fn` for `specs`, control-flow bodies included.

    Get the concrete function with ``fn.get_concrete_function(*specs)`` and collect the op
    types (``node.op`` / ``operation.type``, such as "MatMul", never node names such as
    "MatMul_1") of:

    - every node of the concrete function's graph, ``Placeholder`` and ``Identity`` included;
    - every node of every function in that graph's function library
      (``concrete.graph.as_graph_def().library.function``, each a FunctionDef whose nodes are
      in ``node_def``): the bodies of loops and conditionals and of nested tf.function calls.

    Args:
        fn: a tf.function (the object ``tf.function`` returns).
        *specs: one ``tf.TensorSpec`` per positional argument of fn, as
            ``get_concrete_function`` takes them.

    Returns:
        A set of str (a set, not a list): each op type once.

    Example:
        >>> @tf.function
        ... def double_relu(x):
        ...     return tf.nn.relu(x) * 2.0
        >>> sorted(concrete_op_types(double_relu, tf.TensorSpec([None], tf.float32)))
        ['Const', 'Identity', 'Mul', 'Placeholder', 'Relu']
        >>> @tf.function
        ... def repeat_sqrt(x, n):
        ...     for _ in tf.range(n):
        ...         x = tf.sqrt(x)
        ...     return x
        >>> ops = concrete_op_types(repeat_sqrt, tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32))
        >>> "Sqrt" in ops, "StatelessWhile" in ops or "While" in ops  # Sqrt lives in the loop body
        (True, True)
    """
    concrete = fn.get_concrete_function(*specs)
    graph_def = concrete.graph.as_graph_def()
    types = {node.op for node in graph_def.node}
    # Loop, branch and nested-call bodies are not in the graph itself but in its library.
    for function in graph_def.library.function:
        types.update(node.op for node in function.node_def)
    return types


def trace_log(python_fn, calls) -> list[bool]:
    """Which calls of a new tf.function of `python_fn` trace it: one bool per call.

    Make ONE new ``tf.function(python_fn)`` (no input_signature, no other options; a new one
    on every call of trace_log, so nothing is remembered from earlier logs), call it with
    each entry of `calls` in order (``f(*args)``), and report for each call whether it traced
    a new concrete function (True) or reused one made by an earlier call (False).

    Measure it, do not predict it: ``f.experimental_get_tracing_count()`` before and after
    each call tells you, and so does counting how often python_fn's Python code runs.

    Args:
        python_fn: a plain Python function (not yet a tf.function) of positional arguments,
            written with TensorFlow operations. It creates no variables.
        calls: a list of tuples, each the positional arguments of one call: tensors, numpy
            arrays, Python ints, floats and bools.

    Returns:
        A list of bools, one per call, in order (empty for no calls).

    Example:
        >>> def scale(x, factor):
        ...     return x * factor
        >>> trace_log(scale, [(tf.ones([2]), 2.0), (tf.zeros([2]), 2.0), (tf.ones([2]), 3.0),
        ...                   (tf.ones([5]), 2.0), (tf.ones([2]), 2.0)])
        [True, False, True, True, False]
    """
    traced = tf.function(python_fn)  # a new one: its trace cache starts empty
    log = []
    for args in calls:
        before = traced.experimental_get_tracing_count()
        traced(*args)
        log.append(traced.experimental_get_tracing_count() > before)
    return log


def relaxed_signature(calls) -> list[tf.TensorSpec]:
    """The most specific input_signature that accepts every call in `calls`.

    Each argument is seen as the tensor ``tf.convert_to_tensor(arg)`` would make: a Python
    bool becomes tf.bool, an int tf.int32 (tf.int64 if it does not fit in int32), a float
    tf.float32 (all of shape ()), a numpy array or scalar keeps its dtype and shape, and a
    tensor is itself. Then, position by position:

    - the dtype must be the same in every call, else ValueError;
    - if every call has the same rank, each axis keeps its size where all calls agree and
      becomes None where they differ;
    - if the ranks differ, the shape is unknown: ``tf.TensorShape(None)``.

    This is what ``tf.TensorSpec.most_specific_common_supertype`` computes; a tf.function
    given the result as its input_signature accepts every call with one trace.

    Args:
        calls: a non-empty list of tuples of positional arguments, all the same length.

    Returns:
        A list (or tuple) with one ``tf.TensorSpec`` per argument position. Spec names do
        not matter.

    Raises:
        ValueError: if `calls` is empty, if the calls have different numbers of arguments,
            or if the dtypes at one position differ.

    Example:
        >>> relaxed_signature([(tf.zeros([2, 3]), 0.5), (tf.zeros([7, 3]), 2.0)])
        [TensorSpec(shape=(None, 3), dtype=tf.float32, name=None), TensorSpec(shape=(), dtype=tf.float32, name=None)]
        >>> relaxed_signature([(tf.zeros([4]), True), (tf.zeros([2, 2]), False)])
        [TensorSpec(shape=<unknown>, dtype=tf.float32, name=None), TensorSpec(shape=(), dtype=tf.bool, name=None)]
    """
    calls = [tuple(args) for args in calls]
    if not calls:
        raise ValueError("relaxed_signature needs at least one call")
    if len({len(args) for args in calls}) != 1:
        raise ValueError("every call must have the same number of arguments")
    signature = []
    for position, column in enumerate(zip(*calls, strict=True)):
        specs = [tf.TensorSpec.from_tensor(tf.convert_to_tensor(arg)) for arg in column]
        dtypes = {spec.dtype for spec in specs}
        if len(dtypes) != 1:
            raise ValueError(f"argument {position} has different dtypes across calls: "
                             f"{sorted(dtype.name for dtype in dtypes)}")
        shapes = [spec.shape for spec in specs]
        if len({shape.rank for shape in shapes}) != 1:
            shape = tf.TensorShape(None)  # different ranks: any rank
        else:
            shape = tf.TensorShape([sizes[0] if len(set(sizes)) == 1 else None
                                    for sizes in zip(*(s.as_list() for s in shapes), strict=True)])
        signature.append(tf.TensorSpec(shape, specs[0].dtype))
    return signature


def traced_once(python_fn, calls):
    """A tf.function of `python_fn` that runs every call in `calls` with a single trace.

    A tf.function without a signature traces again for every new Python number, and
    ``reduce_retracing=True`` does not help with that: it relaxes shapes, not Python values.
    Give it the signature relaxed_signature(calls) computes instead.

    Args:
        python_fn: a plain Python function, as for trace_log; it works when its Python-number
            arguments arrive as scalar tensors.
        calls: a non-empty list of tuples of positional arguments, as for relaxed_signature.

    Returns:
        The object ``tf.function`` returns: calling it with each entry of `calls`, in any
        order, returns what ``python_fn(*args)`` returns eagerly (up to float rounding), and
        ``experimental_get_tracing_count()`` is 1 after all of them.

    Raises:
        ValueError: in the cases relaxed_signature raises it.

    Example:
        >>> def scale(x, factor):
        ...     return x * factor
        >>> calls = [(tf.ones([2]), 2.0), (tf.ones([3]), 0.5), (tf.ones([4]), 3.0)]
        >>> f = traced_once(scale, calls)
        >>> [f(*args).numpy().tolist() for args in calls]
        [[2.0, 2.0], [0.5, 0.5, 0.5], [3.0, 3.0, 3.0, 3.0]]
        >>> f.experimental_get_tracing_count()
        1
    """
    # Python numbers in the calls become scalar tensors: one graph for all of them.
    return tf.function(python_fn, input_signature=relaxed_signature(calls))
