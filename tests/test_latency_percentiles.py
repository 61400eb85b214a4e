"""Tests for latency_percentiles: percentiles with numpy's definition, and latency measured right.

Percentiles: numpy.percentile (its default, method="linear") is the oracle, alongside the
reference solution through `differential`. Correct answers may order the interpolation's
arithmetic differently, so values are compared to a relative tolerance of 1e-12.

Measurement: the tests pass a simulated accelerator and a simulated clock, so every latency
is known exactly. Calling the fake model takes a little host time (more on the first call,
like tracing or compiling) and queues its device work, which runs in order and takes a
different time for every call; the clock only moves when the host works or waits for the
device in ``sync``. All times are multiples of 2**-10 s, so every sum and difference is exact
in float64, and a missed synchronisation, an unsynchronised warm-up, a timed warm-up call or a
clock read in the wrong place each give latencies that differ from the expected ones.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from katakit.testing import describe

KEYS = ("p50", "p95", "p99")
UNIT = 2.0 ** -10  # about a millisecond


# ---- percentiles ------------------------------------------------------------------------------

def numpy_percentiles(samples):
    values = np.percentile(np.asarray(samples, dtype=np.float64), [50, 95, 99])
    return dict(zip(KEYS, (float(v) for v in values), strict=True))


def percentiles_equal(scale: float):
    """Same keys, float values, equal to 1e-12 relative (and 1e-12 of the data's scale absolute)."""

    def equal(yours, expected):
        if not isinstance(yours, dict) or set(yours) != set(KEYS):
            return False
        return all(isinstance(yours[k], float) and math.isclose(yours[k], expected[k], rel_tol=1e-12,
                                                                abs_tol=1e-12 * scale) for k in KEYS)

    equal.__doc__ = "percentiles equality (rtol=1e-12)"
    return equal


def assert_percentiles(yours, samples, what="latency_percentiles"):
    __tracebackhide__ = True
    expected = numpy_percentiles(samples)
    scale = max(1.0, float(np.max(np.abs(np.asarray(samples, dtype=np.float64)))))
    assert percentiles_equal(scale)(yours, expected), (
        f"{what} differs from numpy.percentile(samples, [50, 95, 99]) (linear interpolation between the "
        f"sorted samples at rank (n - 1) * q / 100)\n  samples:  {describe(np.asarray(samples))}\n"
        f"  expected: {expected}\n  yours:    {yours!r}")


@pytest.mark.parametrize("samples, expected", [
    ([4.0, 1.0, 3.0, 2.0], (2.5, 3.85, 3.97)),
    ([7.25], (7.25, 7.25, 7.25)),
    ([3.0, 1.0], (2.0, 2.9, 2.98)),
    (list(range(100, -1, -1)), (50.0, 95.0, 99.0)),
    ([5.0, 5.0, 5.0, 1.0, 5.0], (5.0, 5.0, 5.0)),
    ([0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], (0.0, 5.0, 9.0)),
], ids=["docstring", "one sample", "two samples", "0 to 100 reversed", "ties", "one outlier in 11"])
def test_exact_cases(kata, samples, expected):
    yours = kata.latency_percentiles(samples)
    assert percentiles_equal(100.0)(yours, dict(zip(KEYS, expected, strict=True))), (
        f"latency_percentiles({samples!r})\n  expected: {dict(zip(KEYS, expected, strict=True))}\n"
        f"  yours:    {yours!r}")


@pytest.mark.parametrize("make", [tuple, np.array, lambda v: np.array(v, dtype=np.float32),
                                  lambda v: np.array(v).astype(np.int64)],
                         ids=["tuple", "float64 array", "float32 array", "int64 array"])
def test_input_types(kata, make):
    samples = make([3.0, 9.0, 1.0, 4.0, 7.0, 2.0])
    assert_percentiles(kata.latency_percentiles(samples), np.asarray(samples, dtype=np.float64))


def test_input_is_not_sorted_in_place(kata):
    samples = np.array([0.5, 0.125, 0.25, 1.0, 0.75])
    before = samples.copy()
    kata.latency_percentiles(samples)
    assert np.array_equal(samples, before), (
        f"latency_percentiles reordered the caller's array (sorted it in place?): before {before.tolist()}, "
        f"after {samples.tolist()}")


@pytest.mark.parametrize("samples", [[], np.zeros((0,)), [[1.0, 2.0], [3.0, 4.0]], [1.0, float("nan")],
                                     [float("inf"), 1.0], [2.0, float("-inf")]],
                         ids=["empty list", "empty array", "2-D", "NaN", "inf", "-inf"])
def test_invalid_samples_raise_value_error(kata, samples):
    with pytest.raises(ValueError):
        kata.latency_percentiles(samples)


# ---- measurement with a simulated device and clock -----------------------------------------

class FakeOutput:
    def __init__(self, call, done):
        self.call, self.done = call, done


class FakeDevice:
    """An accelerator that queues work and runs it in order, and the clock that goes with it.

    infer(batch) costs host time (more on the first call) and queues device time; it returns at
    once. sync(output) waits until that output's work is done. The clock moves only then.
    """

    def __init__(self, asynchronous=True, start=4096.0):
        self.asynchronous = asynchronous
        self.now = start
        self.busy_until = start
        self.calls = 0

    @staticmethod
    def host_time(call):
        return (257 if call == 0 else 1) * UNIT  # the first call also traces and compiles

    @staticmethod
    def device_time(call):
        return (3 + (5 * call) % 7 + (16 if call < 2 else 0)) * UNIT  # differs from call to call

    def clock(self):
        return self.now

    def infer(self, batch):
        assert batch is BATCH, "infer must be called with the batch it was given"
        call = self.calls
        self.calls += 1
        self.now += self.host_time(call)
        self.busy_until = max(self.now, self.busy_until) + self.device_time(call)
        if not self.asynchronous:  # a CPU: the call returns when the work is done
            self.now = self.busy_until
        return FakeOutput(call, self.busy_until)

    def sync(self, output):
        if not isinstance(output, FakeOutput):
            raise TypeError(f"sync must be called with an output of infer, got {type(output).__name__}")
        self.now = max(self.now, output.done)

    def expected_samples(self, runs, warmup):
        """Each timed run starts on an idle device: its host time plus its device time."""
        calls = range(warmup, warmup + runs)
        return np.array([self.host_time(c) + self.device_time(c) for c in calls])


BATCH = object()


def measure(kata, device, runs, warmup, with_sync=True):
    return kata.measure_latency(device.infer, BATCH, runs=runs, warmup=warmup,
                                sync=device.sync if with_sync else None, clock=device.clock)


def assert_report(report, expected, runs, warmup):
    __tracebackhide__ = True
    assert isinstance(report, dict), f"measure_latency must return a dict, got {type(report).__name__}"
    assert set(report) == {"samples", *KEYS}, f"the report's keys must be samples, p50, p95, p99; got {sorted(report)}"
    samples = report["samples"]
    assert isinstance(samples, np.ndarray) and samples.dtype == np.float64 and samples.shape == (runs,), (
        f"samples must be a 1-D float64 numpy array of {runs} latencies, got {describe(samples)}")
    if not np.array_equal(samples, expected):
        raise AssertionError(
            f"measure_latency(runs={runs}, warmup={warmup}) on the simulated device measured the wrong latencies "
            f"(in units of 2**-10 s; each should be the host time plus the device time of its own call, in the "
            f"order of the runs)\n  expected: {(expected / UNIT).tolist()}\n  yours:    {(samples / UNIT).tolist()}")
    assert_percentiles({k: report[k] for k in KEYS}, expected, what="the report's percentiles")


@pytest.mark.parametrize("runs, warmup", [(5, 3), (1, 0), (12, 1), (7, 0), (3, 10)])
def test_exact_latencies_on_an_asynchronous_device(kata, runs, warmup):
    device = FakeDevice()
    report = measure(kata, device, runs, warmup)
    assert_report(report, device.expected_samples(runs, warmup), runs, warmup)
    assert device.calls == warmup + runs, (
        f"infer was called {device.calls} times; it must be called warmup + runs = {warmup + runs} times")


@pytest.mark.parametrize("runs, warmup", [(6, 2), (1, 1), (4, 0)])
def test_synchronous_device_without_sync(kata, runs, warmup):
    device = FakeDevice(asynchronous=False)
    report = measure(kata, device, runs, warmup, with_sync=False)
    assert_report(report, device.expected_samples(runs, warmup), runs, warmup)
    assert device.calls == warmup + runs, (
        f"infer was called {device.calls} times; it must be called warmup + runs = {warmup + runs} times")


class TickClock:
    """A clock that returns the given readings in turn, whatever happens between them."""

    def __init__(self, readings):
        self.readings, self.reads = list(readings), 0

    def __call__(self):
        assert self.reads < len(self.readings), (
            f"the clock was read more than {len(self.readings)} times; measure_latency reads it exactly twice per "
            f"timed run (before infer and after sync) and never during the warm-up")
        self.reads += 1
        return self.readings[self.reads - 1]


@pytest.mark.parametrize("readings, expected", [
    ([10.0, 10.5, 11.0, 12.0, 12.0, 12.25], [0.5, 1.0, 0.25]),
    ([1.0, 1.5, 7.0, 7.25, 100.0, 100.125, 100.5, 101.5], [0.5, 0.25, 0.125, 1.0]),
], ids=["docstring", "time passes between runs"])
def test_two_clock_readings_per_run(kata, readings, expected):
    clock = TickClock(readings)
    report = kata.measure_latency(lambda x: x * 2, 21, runs=len(expected), warmup=2, clock=clock)
    samples = report["samples"] if isinstance(report, dict) else report
    assert isinstance(samples, np.ndarray) and samples.tolist() == expected, (
        f"with a clock that returns {readings} in turn, runs={len(expected)} must give the latencies {expected} "
        f"(each run reads the clock before infer and after it returns, and its latency is the second reading minus "
        f"the first; time that passes between runs belongs to no run), got {describe(samples)}")
    assert clock.reads == len(readings), (
        f"the clock was read {clock.reads} times; measure_latency reads it exactly twice per timed run")
    assert report["p50"] == float(np.percentile(expected, 50)), f"p50 must be {np.percentile(expected, 50)}"


class EventLog:
    """infer, sync and clock that write down, in order, every call made to them."""

    def __init__(self):
        self.events, self.calls, self.now = [], 0, 0.0

    def infer(self, batch):
        assert batch is BATCH, "infer must be called with the batch it was given"
        self.events.append(("infer", self.calls))
        output = FakeOutput(self.calls, None)
        self.calls += 1
        return output

    def sync(self, output):
        self.events.append(("sync", output.call if isinstance(output, FakeOutput) else repr(output)))

    def clock(self):
        self.events.append(("clock",))
        self.now += 1.0
        return self.now


@pytest.mark.parametrize("with_sync", [True, False], ids=["sync", "no-sync"])
@pytest.mark.parametrize("runs, warmup", [(3, 4), (2, 0), (1, 1)])
def test_every_call_is_synced_with_its_own_output(kata, runs, warmup, with_sync):
    """sync(output) right after EVERY call, warm-up ones included, with that call's output; clock around each run."""
    log = EventLog()
    kata.measure_latency(log.infer, BATCH, runs=runs, warmup=warmup, sync=log.sync if with_sync else None,
                         clock=log.clock)
    synced = [("sync", call) for call in range(warmup + runs)] if with_sync else [None] * (warmup + runs)
    expected = []
    for call in range(warmup):
        expected += [("infer", call), synced[call]]
    for call in range(warmup, warmup + runs):
        expected += [("clock",), ("infer", call), synced[call], ("clock",)]
    expected = [event for event in expected if event is not None]
    assert log.events == expected, (
        f"measure_latency(runs={runs}, warmup={warmup}, sync={'given' if with_sync else None}) made these calls, "
        f"in this order (numbers are the infer call each output came from):\n  yours:    {log.events}\n"
        f"  expected: {expected}\n  every infer call, warm-up ones included, is followed at once by sync of its own "
        f"output; a timed run is clock, infer, sync, clock")


def test_the_default_clock_measures_seconds(kata):
    report = kata.measure_latency(lambda seconds: time.sleep(seconds), 0.002, runs=3, warmup=1)
    samples = report["samples"]
    assert samples.shape == (3,) and (samples >= 0.002).all() and (samples < 1.0).all(), (
        f"timing time.sleep(0.002) with the default clock gave {samples.tolist()}; expected latencies of at least "
        f"0.002 s (the default clock is time.perf_counter, in seconds)")


@pytest.mark.parametrize("runs, warmup", [(0, 1), (-3, 1), (2.5, 1), (5, -1), (5, 1.5)],
                         ids=["runs=0", "runs=-3", "runs=2.5", "warmup=-1", "warmup=1.5"])
def test_invalid_counts_raise_value_error(kata, runs, warmup):
    device = FakeDevice()
    with pytest.raises(ValueError):
        kata.measure_latency(device.infer, BATCH, runs=runs, warmup=warmup, sync=device.sync, clock=device.clock)


# ---- generated samples: last, the slowest ----------------------------------------------------

latency_lists = st.lists(st.floats(0.0, 10.0, allow_subnormal=False), min_size=1, max_size=60)


@settings(max_examples=120)
@given(samples=latency_lists, as_array=st.booleans())
def test_matches_reference_and_numpy(differential, samples, as_array):
    data = np.array(samples) if as_array else samples
    scale = max([1.0, *samples])
    yours = differential("latency_percentiles", data, equal=percentiles_equal(scale))
    assert_percentiles(yours, samples)


@settings(max_examples=40)
@given(samples=st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=1, max_size=30))
def test_any_finite_numbers(kata, samples):
    assert_percentiles(kata.latency_percentiles(samples), samples)
