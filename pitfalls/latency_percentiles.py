"""Known wrong answers for latency_percentiles, and correct answers written differently."""

from __future__ import annotations

import math
import statistics
import time

import numpy as np

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _checked(samples):
    values = np.asarray(samples, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("samples must be a non-empty 1-D sequence")
    if not np.isfinite(values).all():
        raise ValueError("samples must be finite")
    return values


def _check_counts(runs, warmup):
    for name, value, least in (("runs", runs, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an int >= {least}, got {value!r}")


# ---- percentiles ------------------------------------------------------------------------------

@pitfall("latency_percentiles",
         "Passes fractions (0.5, 0.95, 0.99) to np.percentile, which expects percents: that asks for the 0.5th, "
         "0.95th and 0.99th percentiles, all near the minimum.")
def fractions_to_np_percentile(samples):
    values = np.percentile(_checked(samples), [0.5, 0.95, 0.99])
    return {"p50": float(values[0]), "p95": float(values[1]), "p99": float(values[2])}


@pitfall("latency_percentiles",
         "Uses the nearest-rank definition (the ceil(q/100 * n)-th smallest sample) instead of numpy's linear "
         "interpolation between neighbours.")
def nearest_rank(samples):
    ordered = np.sort(_checked(samples))
    n = len(ordered)
    return {f"p{q}": float(ordered[max(math.ceil(q / 100 * n), 1) - 1]) for q in (50, 95, 99)}


@pitfall("latency_percentiles",
         "Truncates the rank to an index (x[int((n - 1) * q / 100)]) and drops the interpolation to the next sample.")
def truncated_rank(samples):
    ordered = np.sort(_checked(samples))
    return {f"p{q}": float(ordered[int((len(ordered) - 1) * q / 100)]) for q in (50, 95, 99)}


@pitfall("latency_percentiles",
         "Interpolates between neighbours in the order the samples were measured, without sorting them first.")
def forgets_to_sort(samples):
    values = _checked(samples)
    result = {}
    for q in (50, 95, 99):
        rank = (len(values) - 1) * q / 100
        low = int(rank)
        high = min(low + 1, len(values) - 1)
        result[f"p{q}"] = float(values[low] + (rank - low) * (values[high] - values[low]))
    return result


@pitfall("latency_percentiles",
         "Calls statistics.quantiles with its default method='exclusive', which puts the rank at (n + 1) * q / 100, "
         "not numpy's (n - 1) * q / 100.")
def statistics_exclusive_method(samples):
    values = _checked(samples)
    if len(values) == 1:
        return {"p50": float(values[0]), "p95": float(values[0]), "p99": float(values[0])}
    cuts = statistics.quantiles(values.tolist(), n=100)
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


@pitfall("latency_percentiles",
         "Sorts the caller's numpy array in place (samples.sort()) to find the percentiles, reordering the "
         "measured latencies.")
def sorts_in_place(samples):
    if isinstance(samples, np.ndarray) and samples.dtype == np.float64:
        samples.sort()
    return ref.latency_percentiles(samples)


# ---- measurement ------------------------------------------------------------------------------

@pitfall("measure_latency",
         "Reads the clock right after infer returns, without calling sync: on an asynchronous device that times "
         "only the launch, not the work.")
def never_syncs(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    _check_counts(runs, warmup)
    for _ in range(warmup):
        infer(batch)
    samples = []
    for _ in range(runs):
        start = clock()
        infer(batch)
        samples.append(clock() - start)
    samples = np.array(samples, dtype=np.float64)
    return {"samples": samples, **ref.latency_percentiles(samples)}


@pitfall("measure_latency",
         "Reads the end time before calling sync, so the clock stops when the work is launched, not when it is done.")
def reads_clock_before_sync(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    _check_counts(runs, warmup)
    for _ in range(warmup):
        output = infer(batch)
        if sync is not None:
            sync(output)
    samples = np.empty(runs)
    for run in range(runs):
        start = clock()
        output = infer(batch)
        samples[run] = clock() - start
        if sync is not None:
            sync(output)
    return {"samples": samples, **ref.latency_percentiles(samples)}


@pitfall("measure_latency",
         "Does not sync after the warm-up calls, so their queued device work is still running when the first timed "
         "run starts and is billed to it.")
def unsynced_warmup(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    _check_counts(runs, warmup)
    for _ in range(warmup):
        infer(batch)
    samples = np.empty(runs)
    for run in range(runs):
        start = clock()
        output = infer(batch)
        if sync is not None:
            sync(output)
        samples[run] = clock() - start
    return {"samples": samples, **ref.latency_percentiles(samples)}


@pitfall("measure_latency",
         "Syncs once after the whole warm-up loop (with the last warm-up output) instead of after each warm-up call; "
         "the docstring asks for sync after every call, with that call's output.")
def syncs_once_after_warmup(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    _check_counts(runs, warmup)
    output = None
    for _ in range(warmup):
        output = infer(batch)
    if warmup and sync is not None:
        sync(output)
    samples = np.empty(runs)
    for run in range(runs):
        start = clock()
        output = infer(batch)
        if sync is not None:
            sync(output)
        samples[run] = clock() - start
    return {"samples": samples, **ref.latency_percentiles(samples)}


@pitfall("measure_latency",
         "Syncs a timed run with the previous run's output (kept from the loop before), one call behind.")
def syncs_the_previous_output(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    _check_counts(runs, warmup)
    previous = None
    for _ in range(warmup):
        previous = infer(batch)
        if sync is not None:
            sync(previous)
    samples = np.empty(runs)
    for run in range(runs):
        start = clock()
        output = infer(batch)
        if sync is not None:
            sync(previous if previous is not None else output)
        previous = output
        samples[run] = clock() - start
    return {"samples": samples, **ref.latency_percentiles(samples)}


@pitfall("measure_latency",
         "Times the warm-up calls too and computes the percentiles over them, so the slow first calls (tracing, "
         "compiling) land in the tail.")
def times_the_warmup(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    _check_counts(runs, warmup)
    samples = []
    for _ in range(warmup + runs):
        start = clock()
        output = infer(batch)
        if sync is not None:
            sync(output)
        samples.append(clock() - start)
    samples = np.array(samples, dtype=np.float64)
    return {"samples": samples[warmup:], **ref.latency_percentiles(samples)}


@pitfall("measure_latency",
         "Calls time.perf_counter directly instead of the clock it was given, so the injected clock is ignored.")
def ignores_the_clock(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    return ref.measure_latency(infer, batch, runs=runs, warmup=warmup, sync=sync, clock=time.perf_counter)


@pitfall("measure_latency",
         "Times all runs together and reports the mean for every run, which hides the spread the percentiles are for.")
def one_timer_around_all_runs(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    _check_counts(runs, warmup)
    for _ in range(warmup):
        output = infer(batch)
        if sync is not None:
            sync(output)
    start = clock()
    for _ in range(runs):
        output = infer(batch)
        if sync is not None:
            sync(output)
    samples = np.full(runs, (clock() - start) / runs)
    return {"samples": samples, **ref.latency_percentiles(samples)}


@pitfall("measure_latency", "Returns the samples sorted instead of in the order the runs were made.")
def returns_sorted_samples(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    report = ref.measure_latency(infer, batch, runs=runs, warmup=warmup, sync=sync, clock=clock)
    return dict(report, samples=np.sort(report["samples"]))


@pitfall("measure_latency",
         "Lap timing: reads the clock once per run and takes the difference from the previous reading, so time "
         "that passes between runs is billed to the next run and the clock is not read twice per run.")
def lap_timing(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    _check_counts(runs, warmup)
    finish = sync if sync is not None else (lambda output: None)
    for _ in range(warmup):
        finish(infer(batch))
    stamps = [clock()]
    for _ in range(runs):
        finish(infer(batch))
        stamps.append(clock())
    samples = np.diff(np.array(stamps, dtype=np.float64))
    return {"samples": samples, **numpy_quantile(samples)}


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("latency_percentiles", "Calls np.quantile with fractions, numpy's other spelling of the same definition.")
def numpy_quantile(samples):
    values = np.quantile(_checked(samples), [0.5, 0.95, 0.99])
    return dict(zip(("p50", "p95", "p99"), values, strict=True))


@alternative("latency_percentiles",
             "Interpolates in pure Python on sorted(), weighting both neighbours: (1 - f) * x[i] + f * x[i + 1].")
def pure_python_weighted(samples):
    values = sorted(float(v) for v in _checked(samples))
    result = {}
    for q in (50, 95, 99):
        rank = (len(values) - 1) * q / 100
        i = math.floor(rank)
        f = rank - i
        result[f"p{q}"] = values[i] if i + 1 >= len(values) else (1 - f) * values[i] + f * values[i + 1]
    return result


@alternative("latency_percentiles", "Uses statistics.quantiles with method='inclusive', which is numpy's definition.")
def statistics_inclusive_method(samples):
    values = _checked(samples).tolist()
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "p99": values[0]}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


@alternative("measure_latency", "Collects start and end readings in two lists and subtracts them at the end.")
def start_and_end_lists(infer, batch, *, runs=100, warmup=10, sync=None, clock=time.perf_counter):
    _check_counts(runs, warmup)
    for _ in range(warmup):
        out = infer(batch)
        if sync:
            sync(out)
    starts, ends = [], []
    for _ in range(runs):
        starts.append(clock())
        out = infer(batch)
        if sync:
            sync(out)
        ends.append(clock())
    samples = np.subtract(ends, starts, dtype=np.float64)
    return {"samples": samples, **pure_python_weighted(samples)}
