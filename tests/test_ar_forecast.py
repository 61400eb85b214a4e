"""Tests for ar_forecast: conditional least squares for AR(p), and recursive forecasts.

statsmodels' AutoReg is the oracle; the reference solution is compared through `differential`.
Generated series are simulated from stationary AR processes with Gaussian noise and kept
well conditioned, so that every correct way of solving the least-squares problem (lstsq, QR,
normal equations, a pseudo-inverse) agrees with the oracle to the tolerance used here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

RTOL = 1e-8
MAX_P = 4

# ---- generated data -------------------------------------------------------------------------


def ar_coefficients(partial):
    """AR coefficients from partial autocorrelations in (-1, 1); the result is always stationary."""
    phi = np.zeros(0)
    for r in partial:
        phi = np.append(phi - r * phi[::-1], r)
    return phi


def simulate(seed, n, partial, mean=0.0, sigma=1.0, burn_in=50):
    """n values of a stationary AR(len(partial)) process with the given mean and Gaussian noise."""
    rng = np.random.default_rng(seed)
    phi = [float(v) for v in ar_coefficients(partial)]
    p = len(phi)
    c = mean * (1 - sum(phi))
    noise = rng.normal(0.0, sigma, n + burn_in)
    values = [mean] * p
    for t in range(p, n + burn_in):
        values.append(c + sum(phi[i] * values[t - 1 - i] for i in range(p)) + float(noise[t]))
    return np.array(values[burn_in:])


def design_condition(y, p):
    n = len(y)
    design = np.column_stack([np.ones(n - p)] + [y[p - i:n - i] for i in range(1, p + 1)])
    return np.linalg.cond(design)


@st.composite
def ar_series(draw):
    """(y, p): a simulated AR series of length 2p+2 up to 2p+42, fitted with order p."""
    p = draw(st.integers(1, MAX_P), label="p")
    n = draw(st.integers(2 * p + 2, 2 * p + 42), label="n")
    true_order = draw(st.integers(1, MAX_P), label="true order")
    partial = draw(st.lists(st.floats(-0.8, 0.8), min_size=true_order, max_size=true_order), label="partial")
    mean = draw(st.floats(-3.0, 3.0), label="mean")
    sigma = draw(st.floats(0.5, 2.0), label="sigma")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    y = simulate(seed, n, partial, mean, sigma)
    # Rounding alone can separate correct methods on a nearly collinear design; keep away from it.
    assume(design_condition(y, p) < 1e3)
    return y, p


def tolerance(y):
    """Absolute tolerance, scaled to the size of the data."""
    return 1e-9 * max(1.0, float(np.max(np.abs(np.asarray(y, dtype=np.float64)))))


# ---- comparisons ----------------------------------------------------------------------------


def fit_equal(atol):
    """Same fit: a 2-tuple (float intercept, 1-D float64 array of length p), values within tolerance."""

    def equal(yours, expected):
        if not isinstance(yours, tuple) or len(yours) != 2:
            return False
        c, phi = yours
        c_array = np.asarray(c)
        if c_array.shape != () or c_array.dtype.kind != "f":
            return False
        if not isinstance(phi, np.ndarray) or phi.dtype != np.float64 or phi.shape != np.shape(expected[1]):
            return False
        return (math.isclose(float(c), float(expected[0]), rel_tol=RTOL, abs_tol=atol)
                and bool(np.allclose(phi, expected[1], rtol=RTOL, atol=atol)))

    equal.__doc__ = f"fit_ar equality (rtol={RTOL}, atol={atol:.1e})"
    return equal


def forecast_equal(atol):
    """Same forecast: a 1-D float64 array of the expected length, values within tolerance."""

    def equal(yours, expected):
        return (isinstance(yours, np.ndarray) and yours.dtype == np.float64
                and yours.shape == np.shape(expected)
                and bool(np.allclose(yours, expected, rtol=RTOL, atol=atol)))

    equal.__doc__ = f"forecast_ar equality (rtol={RTOL}, atol={atol:.1e})"
    return equal


def oracle(y, p, steps):
    """statsmodels' conditional least-squares fit and forecast: (intercept, phi, forecast)."""
    ar_model = pytest.importorskip("statsmodels.tsa.ar_model", reason="statsmodels is the oracle for this check")
    result = ar_model.AutoReg(np.asarray(y, dtype=np.float64), lags=p, trend="c").fit()
    params = np.asarray(result.params)
    return float(params[0]), params[1:], np.asarray(result.forecast(steps))


def check_against_oracle(kata, y, p, steps):
    c, phi, expected_forecast = oracle(y, p, steps)
    atol = tolerance(y)
    fitted = kata.fit_ar(y, p)
    assert isinstance(fitted, tuple) and len(fitted) == 2, \
        f"fit_ar must return a tuple (intercept, phi), got {type(fitted).__name__}"
    assert fit_equal(atol)(fitted, (c, phi)), (
        f"fit_ar(y, p={p}) differs from statsmodels AutoReg\n"
        f"  expected: c={c!r}, phi={phi!r}\n  yours:    {fitted!r}")
    forecast = kata.forecast_ar(y, p, steps)
    assert forecast_equal(atol)(forecast, expected_forecast), (
        f"forecast_ar(y, p={p}, steps={steps}) differs from statsmodels AutoReg\n"
        f"  expected: {expected_forecast!r}\n  yours:    {forecast!r}")


# ---- against the reference and the oracle ---------------------------------------------------


# Example counts are modest on purpose: checking this kata should cost little more than importing
# statsmodels (see benchmarks/plugin_overhead.py), so each generated series checks both functions,
# and the fixed cases below cover the edges.
@settings(max_examples=20)
@given(ar_series(), st.integers(1, 10))
def test_fit_and_forecast_match_reference(differential, data, steps):
    y, p = data
    differential("fit_ar", y, p, equal=fit_equal(tolerance(y)))
    differential("forecast_ar", y, p, steps, equal=forecast_equal(tolerance(y)))


@settings(max_examples=15)
@given(ar_series(), st.integers(1, 10))
def test_matches_statsmodels_autoreg(kata, data, steps):
    y, p = data
    check_against_oracle(kata, y, p, steps)


@settings(max_examples=10)
@given(ar_series(), st.integers(2, 10))
def test_each_forecast_feeds_the_next(kata, data, steps):
    """f[k] = c + phi_1 * z[n+k-1] + ... + phi_p * z[n+k-p], where z is y followed by the forecasts."""
    y, p = data
    forecast = kata.forecast_ar(y, p, steps)
    c, phi = kata.fit_ar(y, p)
    phi = np.asarray(phi, dtype=np.float64)
    extended = np.concatenate([y, np.asarray(forecast, dtype=np.float64)])
    n = len(y)
    for k in range(steps):
        lags = extended[n + k - 1::-1][:p]  # z[n+k-1], z[n+k-2], ..., z[n+k-p]
        expected = float(c) + float(phi @ lags)
        assert math.isclose(forecast[k], expected, rel_tol=1e-7, abs_tol=10 * tolerance(y)), (
            f"forecast[{k}] = {forecast[k]!r}, but c + phi . (the {p} values before it, forecasts included) "
            f"= {expected!r}; each forecast must be fed back in as the most recent value")


# ---- fixed cases ----------------------------------------------------------------------------

DOC_Y = [0.5, 1.0, 0.2, 1.1, 0.4, 0.8]


def test_docstring_example(kata):
    c, phi = kata.fit_ar(DOC_Y, 1)
    assert math.isclose(float(c), 1.2856209150326798, rel_tol=1e-9)
    assert np.allclose(phi, [-0.9150326797385621], rtol=1e-9, atol=0)
    expected = [0.5535947712418301, 0.7790636080140118, 0.572752254104826]
    assert np.allclose(kata.forecast_ar(DOC_Y, 1, 3), expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_shortest_series_is_accepted(kata, p):
    """Exactly 2p + 2 observations is enough: n - p = p + 2 equations for p + 1 unknowns."""
    y = simulate(100 + p, 2 * p + 2, [0.5, -0.3, 0.2][:p], mean=1.5, sigma=1.0)
    assert len(y) == 2 * p + 2 and design_condition(y, p) < 1e2
    check_against_oracle(kata, y, p, steps=2 * p + 3)


def test_lag_order_intercept_and_recursion(kata):
    """An AR(3) with a clear mean and unequal coefficients, forecast well past p steps.

    Reversed coefficients, a fit with no constant, a demeaned or Yule-Walker fit, shifted
    lags, and a forecast that does not feed itself back all give visibly different numbers.
    """
    y = simulate(7, 60, [0.6, -0.4, 0.3], mean=4.0, sigma=1.0)
    c, phi, _ = oracle(y, 3, 1)
    assert abs(phi[0] - phi[2]) > 0.1 and abs(c) > 0.5  # the case can tell these mistakes apart
    check_against_oracle(kata, y, 3, steps=8)


def test_list_and_integer_input(kata):
    """A plain list, and integer values, are read as float64."""
    y = simulate(11, 30, [0.5, 0.2], mean=2.0, sigma=1.0)
    check_against_oracle(kata, y.tolist(), 2, steps=4)
    integers = [int(round(3 * v)) for v in y]
    check_against_oracle(kata, integers, 2, steps=4)


def test_float32_array_is_computed_in_float64(kata):
    """A float32 array is read as float64: the fit and the forecast keep float64 precision."""
    y = simulate(13, 40, [0.6, -0.3], mean=2.5, sigma=1.0).astype(np.float32)
    before = y.copy()
    check_against_oracle(kata, y, 2, steps=5)
    assert y.dtype == np.float32 and np.array_equal(y, before), "the float32 input was modified"


def test_return_types(kata):
    y = simulate(3, 25, [0.4, 0.3], mean=1.0)
    fitted = kata.fit_ar(y, 2)
    assert isinstance(fitted, tuple) and len(fitted) == 2, "fit_ar returns a tuple (intercept, phi)"
    c, phi = fitted
    assert np.asarray(c).shape == () and np.asarray(c).dtype.kind == "f", f"the intercept must be a float, got {c!r}"
    assert isinstance(phi, np.ndarray) and phi.dtype == np.float64 and phi.shape == (2,), \
        f"phi must be a 1-D float64 array of length p, got {phi!r}"
    forecast = kata.forecast_ar(y, 2, 5)
    assert isinstance(forecast, np.ndarray) and forecast.dtype == np.float64 and forecast.shape == (5,), \
        f"forecast_ar must return a 1-D float64 array of length steps, got {forecast!r}"


def test_inputs_not_modified(kata):
    y = simulate(5, 40, [0.7, -0.2], mean=-2.0)
    before = y.copy()
    kata.fit_ar(y, 2)
    assert np.array_equal(y, before) and y.dtype == np.float64, "fit_ar modified its input array"
    kata.forecast_ar(y, 2, 6)
    assert np.array_equal(y, before) and y.dtype == np.float64, "forecast_ar modified its input array"
    as_list = before.tolist()
    kata.forecast_ar(as_list, 2, 3)
    assert as_list == before.tolist(), "forecast_ar modified its input list"


# ---- invalid input --------------------------------------------------------------------------

_GOOD = simulate(9, 20, [0.5], mean=1.0).tolist()
_WITH_NAN = _GOOD[:7] + [float("nan")] + _GOOD[8:]
_WITH_INF = _GOOD[:3] + [float("inf")] + _GOOD[4:]
_WITH_NEG_INF = _GOOD[:-1] + [float("-inf")]

INVALID = {
    "2-D column": (np.array(_GOOD).reshape(-1, 1), 1),
    "2-D rows": (np.array(_GOOD).reshape(2, -1), 1),
    "0-D array": (np.array(2.5), 1),
    "scalar": (2.5, 1),
    "empty": ([], 1),
    "NaN": (_WITH_NAN, 2),
    "inf": (_WITH_INF, 2),
    "-inf in an array": (np.array(_WITH_NEG_INF), 1),
    "p = 0": (_GOOD, 0),
    "p = -1": (_GOOD, -1),
    "2p + 1 observations, p = 1": (_GOOD[:3], 1),
    "2p + 1 observations, p = 3": (_GOOD[:7], 3),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_fit_rejects_invalid_input(kata, case):
    y, p = INVALID[case]
    with pytest.raises(ValueError):
        kata.fit_ar(y, p)


@pytest.mark.parametrize("case", list(INVALID))
def test_forecast_rejects_invalid_input(kata, case):
    y, p = INVALID[case]
    with pytest.raises(ValueError):
        kata.forecast_ar(y, p, 3)


@pytest.mark.parametrize("steps", [0, -1])
def test_forecast_rejects_steps_below_one(kata, steps):
    with pytest.raises(ValueError):
        kata.forecast_ar(_GOOD, 2, steps)
