"""Measure inference latency correctly, and summarise it with percentiles.

"How fast is the model?" is answered with a distribution, not one number: the median (p50)
says what a typical request sees, and the tail (p95, p99) says what the unlucky ones see,
which is what a latency budget for real-time inference is written against. Getting those
numbers right takes three habits:

- Warm up first. The first calls of a model pay one-off costs (tracing a tf.function,
  compiling kernels, allocating memory, filling caches); they are not the latency a
  request will see later, so they are run and not timed.
- Synchronise before reading the clock. An accelerator runs work asynchronously: calling a
  model on a GPU returns as soon as the work is queued, long before it is done. Reading the
  clock then measures the launch, not the inference. Wait for the result first
  (``torch.cuda.synchronize()``, ``tensor.numpy()``, ``tensor.item()``), also after the
  warm-up calls, or their queued work is billed to the first timed call.
- Use a monotonic, high-resolution clock (``time.perf_counter``), not the wall clock.

Here the clock and the synchronisation are passed in, so the same code measures a CPU
function, a GPU model, or (in the tests) a simulated device on a simulated clock.
"""

from __future__ import annotations

import time

import numpy as np


def latency_percentiles(samples) -> dict[str, float]:
    """The 50th, 95th and 99th percentiles of `samples`, with numpy's default definition.

    The percentile definition (numpy.percentile's default, method="linear", which is type 7
    of Hyndman and Fan): sort the n samples in ascending order, x[0] <= x[1] <= ... <= x[n-1].
    The q-th percentile sits at rank h = (n - 1) * q / 100. With i = floor(h) and
    f = h - i, it is x[i] + f * (x[i + 1] - x[i]), or just x[n - 1] when i = n - 1. So the
    0th percentile is the minimum, the 100th the maximum, and with a single sample every
    percentile is that sample. The result must match
    ``numpy.percentile(samples, [50, 95, 99])`` to a relative tolerance of 1e-12 (other
    orders of the same arithmetic round a little differently; that is fine).

    Args:
        samples: a non-empty 1-D list, tuple or numpy array of finite real numbers (for
            example latencies in seconds), in any order; read as float64. It must not be
            modified (sorting a numpy array in place modifies it).

    Returns:
        A dict ``{"p50": ..., "p95": ..., "p99": ...}`` of floats (a Python float or a numpy
        float64).

    Raises:
        ValueError: if `samples` is empty, not 1-D, or holds NaN or an infinity.

    Example:
        >>> latency_percentiles([4.0, 1.0, 3.0, 2.0])  # say, milliseconds
        {'p50': 2.5, 'p95': 3.85, 'p99': 3.97}
    """
    raise NotImplementedError


def measure_latency(infer, batch, *, runs: int = 100, warmup: int = 10, sync=None,
                    clock=time.perf_counter) -> dict[str, np.ndarray | float]:
    """Time `infer(batch)` `runs` times after `warmup` untimed calls, and summarise the latencies.

    Do exactly this:

    1. Warm-up: call ``infer(batch)`` `warmup` times. After each call, if `sync` is given,
       call ``sync(output)`` with that call's output. None of this is timed.
    2. Measurement: `runs` times, read ``clock()``, call ``output = infer(batch)``, then (if
       `sync` is given) ``sync(output)``, then read ``clock()`` again. That run's latency is
       the second reading minus the first.
    3. Summarise the latencies with ``latency_percentiles``.

    So `infer` is called exactly ``warmup + runs`` times and `sync`, when given, exactly once
    after each of those calls with that call's output. Read the time only through `clock`
    (the tests pass a simulated clock); nothing else may happen between a run's two clock
    readings. `sync` is how the caller makes the device finish its work: for PyTorch on a
    GPU, ``lambda out: torch.cuda.synchronize()``; for TensorFlow, ``lambda out: out.numpy()``.
    Leave it None for code that runs synchronously on the CPU.

    Args:
        infer: the function to time; it is called with `batch` as its only argument.
        batch: the input passed to every call.
        runs: the number of timed calls, an int >= 1.
        warmup: the number of untimed calls before them, an int >= 0.
        sync: None, or a function called with each output before the clock is read.
        clock: a function returning the current time as a float (seconds for the default,
            ``time.perf_counter``).

    Returns:
        A dict with ``"samples"``: a 1-D float64 numpy array of the `runs` latencies, in the
        order the runs were made (not sorted), in the clock's units; and ``"p50"``,
        ``"p95"``, ``"p99"``: the percentiles of those samples as latency_percentiles
        computes them.

    Raises:
        ValueError: if `runs` is not an int >= 1 or `warmup` is not an int >= 0.

    Example:
        >>> ticks = iter([10.0, 10.5, 11.0, 12.0, 12.0, 12.25])  # a clock that returns these readings
        >>> report = measure_latency(lambda x: x * 2, 21, runs=3, warmup=2, clock=lambda: next(ticks))
        >>> report["samples"], report["p50"]
        (array([0.5 , 1.  , 0.25]), 0.5)
    """
    raise NotImplementedError
