"""Known wrong answers for ar_forecast.

The fit_ar pitfalls also change forecast_ar, because the reference forecast calls fit_ar.
"""

from __future__ import annotations

import numpy as np

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _lags(series, p, first_row, shift=0):
    """Rows t = first_row..n-1; column i (1..p) holds y[t - i - shift]."""
    n = len(series)
    return np.column_stack([series[first_row - i - shift:n - i - shift] for i in range(1, p + 1)])


@pitfall("fit_ar",
         "Fits without a constant term, so the intercept is forced to zero and the coefficients absorb "
         "the mean.")
def fit_without_intercept(y, p):
    series = ref._checked(y, p)
    phi, *_ = np.linalg.lstsq(_lags(series, p, p), series[p:], rcond=None)
    return 0.0, phi


@pitfall("fit_ar", "Returns the coefficients in reverse order: phi_1 must go with y[t-1], the most recent value.")
def reversed_lag_order(y, p):
    c, phi = ref.fit_ar(y, p)
    return c, phi[::-1].copy()


@pitfall("fit_ar",
         "Solves the Yule-Walker equations on the demeaned series; conditional least squares regresses "
         "on the raw lags with a constant.")
def yule_walker(y, p):
    series = ref._checked(y, p)
    mean = series.mean()
    centred = series - mean
    n = len(series)
    acov = np.array([centred[k:] @ centred[:n - k] / n for k in range(p + 1)])
    toeplitz = np.array([[acov[abs(i - j)] for j in range(p)] for i in range(p)])
    phi = np.linalg.solve(toeplitz, acov[1:])
    return float(mean * (1 - phi.sum())), phi


@pitfall("fit_ar",
         "Subtracts the sample mean and fits without a constant; that is not the same least-squares "
         "problem as fitting the constant.")
def demeaned_least_squares(y, p):
    series = ref._checked(y, p)
    mean = series.mean()
    centred = series - mean
    phi, *_ = np.linalg.lstsq(_lags(centred, p, p), centred[p:], rcond=None)
    return float(mean * (1 - phi.sum())), phi


@pitfall("fit_ar", "Lags are off by one: y[t] is regressed on y[t-2], ..., y[t-p-1] instead of y[t-1], ..., y[t-p].")
def lags_shifted_by_one(y, p):
    series = ref._checked(y, p)
    n = len(series)
    design = np.column_stack([np.ones(n - p - 1), _lags(series, p, p + 1, shift=1)])
    beta, *_ = np.linalg.lstsq(design, series[p + 1:], rcond=None)
    return float(beta[0]), beta[1:]


@pitfall("fit_ar", "Drops the first usable equation: the regression must use every t from p to n-1.")
def drops_first_usable_row(y, p):
    series = ref._checked(y, p)
    n = len(series)
    design = np.column_stack([np.ones(n - p - 1), _lags(series, p, p + 1)])
    beta, *_ = np.linalg.lstsq(design, series[p + 1:], rcond=None)
    return float(beta[0]), beta[1:]


@pitfall("forecast_ar",
         "Uses only observed values at every step, dropping the lags that fall on earlier forecasts "
         "instead of feeding the forecasts back in.")
def forecast_without_feedback(y, p, steps):
    if steps < 1:
        raise ValueError("steps must be at least 1")
    c, phi = ref.fit_ar(y, p)
    series = np.asarray(y, dtype=np.float64)
    n = len(series)
    out = np.empty(steps)
    for k in range(steps):
        # Lag i of step k is y[n + k - i]; keep it only when that is an observation.
        out[k] = c + sum(phi[i - 1] * series[n + k - i] for i in range(1, p + 1) if n + k - i < n)
    return out


@pitfall("forecast_ar",
         "Repeats the one-step-ahead forecast for every step instead of feeding each forecast into the "
         "next.")
def repeats_one_step_forecast(y, p, steps):
    if steps < 1:
        raise ValueError("steps must be at least 1")
    c, phi = ref.fit_ar(y, p)
    window = np.asarray(y, dtype=np.float64)[::-1][:p]  # most recent first
    return np.full(steps, c + phi @ window)


@pitfall("forecast_ar", "Pairs phi_1 with the oldest value in the window; phi_1 multiplies the most recent value.")
def forecast_window_not_reversed(y, p, steps):
    if steps < 1:
        raise ValueError("steps must be at least 1")
    c, phi = ref.fit_ar(y, p)
    history = list(np.asarray(y, dtype=np.float64)[-p:])
    out = np.empty(steps)
    for k in range(steps):
        out[k] = c + phi @ np.array(history[-p:])
        history.append(out[k])
    return out


@pitfall("fit_ar",
         "Checks the length with len(y) before checking that y is 1-D, so a scalar raises TypeError "
         "instead of ValueError.")
def length_checked_before_rank(y, p):
    if p < 1:
        raise ValueError(f"p must be at least 1, got {p}")
    series = np.array(y, dtype=np.float64)
    if len(series) < 2 * p + 2:
        raise ValueError("too few observations")
    return ref.fit_ar(series, p)


@pitfall("fit_ar",
         "Keeps a float32 input in float32 and solves the least-squares problem at that precision; "
         "y is read as float64 whatever its dtype.")
def computes_in_input_float_dtype(y, p):
    series = np.asarray(y)
    if series.dtype.kind != "f":
        series = series.astype(np.float64)
    ref._checked(series, p)
    n = len(series)
    design = np.column_stack([np.ones(n - p, dtype=series.dtype)]
                             + [series[p - i:n - i] for i in range(1, p + 1)])
    beta, *_ = np.linalg.lstsq(design, series[p:], rcond=None)
    return float(beta[0]), beta[1:].astype(np.float64)


# ---- correct answers written differently: the tests must accept every one of them -----------

def _design(series, p):
    n = len(series)
    return np.column_stack([np.ones(n - p)] + [series[p - i:n - i] for i in range(1, p + 1)])


@alternative("fit_ar", "Solves the normal equations (X^T X) beta = X^T y instead of calling lstsq.")
def normal_equations(y, p):
    series = ref._checked(y, p)
    design = _design(series, p)
    beta = np.linalg.solve(design.T @ design, design.T @ series[p:])
    return float(beta[0]), beta[1:]


@alternative("fit_ar", "Solves the least-squares problem through a QR decomposition.")
def qr_decomposition(y, p):
    series = ref._checked(y, p)
    q, r = np.linalg.qr(_design(series, p))
    beta = np.linalg.solve(r, q.T @ series[p:])
    return beta[0], beta[1:].copy()


@alternative("forecast_ar", "Forecasts with the companion matrix: a state vector of the last p values, "
                            "advanced one step at a time.")
def companion_matrix_forecast(y, p, steps):
    if steps < 1:
        raise ValueError("steps must be at least 1")
    c, phi = ref.fit_ar(y, p)
    companion = np.zeros((p, p))
    companion[0] = phi
    companion[1:, :-1] = np.eye(p - 1)
    state = np.asarray(y, dtype=np.float64)[::-1][:p].copy()  # most recent first
    out = []
    for _ in range(steps):
        state = companion @ state
        state[0] += c
        out.append(state[0])
    return np.array(out)


@alternative("fit_ar", "Multiplies by the Moore-Penrose pseudo-inverse of the design, with its own input checks "
                       "written in another order.")
def pseudo_inverse(y, p):
    if p < 1:
        raise ValueError(f"p must be at least 1, got {p}")
    series = np.asarray(y, dtype=np.float64)
    if series.ndim != 1:
        raise ValueError("y must be 1-D")
    if len(series) < 2 * p + 2:
        raise ValueError("too few observations")
    if not np.isfinite(series).all():
        raise ValueError("y must be finite")
    beta = np.linalg.pinv(_design(series, p)) @ series[p:]
    return float(beta[0]), np.array(beta[1:])
