"""Known wrong answers for autoregressive_order, and correct answers written differently."""

from __future__ import annotations

import math

import numpy as np

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _rss(series, first, p):
    """Sum of squared residuals of y[t] ~ 1, y[t-1..t-p] over t = first..n-1, by lstsq."""
    n = len(series)
    x = np.column_stack([np.ones(n - first)] + [series[first - i:n - i] for i in range(1, p + 1)])
    target = series[first:]
    residuals = target - x @ np.linalg.lstsq(x, target, rcond=None)[0]
    return float(residuals @ residuals)


def _penalty(ic, nobs):
    return {"aic": 2.0, "bic": math.log(nobs), "hqic": 2.0 * math.log(math.log(nobs))}[ic]


def _criterion(rss, nobs, penalty, k):
    return nobs * (math.log(2 * math.pi * rss / nobs) + 1) + penalty * k


# ---- information_criteria ----------------------------------------------------------------------

@pitfall("information_criteria",
         "Fits each order on its own sample (y[p:], as AutoReg(y, p) alone does), so the criteria of different "
         "orders are computed on different observations and cannot be compared.")
def each_order_on_its_own_sample(y, maxlag, ic="bic"):
    series = ref._checked(y, maxlag, ic)
    n = len(series)
    return np.array([_criterion(_rss(series, p, p), n - p, _penalty(ic, n - p), p + 1) for p in range(maxlag + 1)])


@pitfall("information_criteria",
         "Estimates sigma2 with the degrees-of-freedom correction RSS / (nobs - p - 1); the likelihood uses "
         "RSS / nobs.")
def sigma2_with_degrees_of_freedom(y, maxlag, ic="bic"):
    series = ref._checked(y, maxlag, ic)
    nobs = len(series) - maxlag
    out = []
    for p in range(maxlag + 1):
        sigma2 = _rss(series, maxlag, p) / (nobs - p - 1)
        out.append(nobs * (math.log(2 * math.pi * sigma2) + 1) + _penalty(ic, nobs) * (p + 1))
    return np.array(out)


@pitfall("information_criteria",
         "Counts only the p lag coefficients as parameters, not the constant: every criterion is off by one "
         "penalty.")
def constant_not_counted(y, maxlag, ic="bic"):
    series = ref._checked(y, maxlag, ic)
    nobs = len(series) - maxlag
    return np.array([_criterion(_rss(series, maxlag, p), nobs, _penalty(ic, nobs), p) for p in range(maxlag + 1)])


@pitfall("information_criteria", "Uses log(n), the whole series' length, in the BIC and HQIC penalties instead of "
                                 "log(nobs), the observations actually fitted.")
def penalty_from_the_full_length(y, maxlag, ic="bic"):
    series = ref._checked(y, maxlag, ic)
    n, nobs = len(series), len(series) - maxlag
    return np.array([_criterion(_rss(series, maxlag, p), nobs, _penalty(ic, n), p + 1) for p in range(maxlag + 1)])


@pitfall("information_criteria",
         "Reports the criteria per observation (log(sigma2) + penalty * k / nobs, as in Lutkepohl's book); "
         "statsmodels reports -2 llf + penalty * k.")
def criteria_per_observation(y, maxlag, ic="bic"):
    series = ref._checked(y, maxlag, ic)
    nobs = len(series) - maxlag
    return np.array([math.log(_rss(series, maxlag, p) / nobs) + _penalty(ic, nobs) * (p + 1) / nobs
                     for p in range(maxlag + 1)])


@pitfall("information_criteria", "Starts at order 1, so AR(0), the constant-only model, is never a candidate.")
def order_zero_left_out(y, maxlag, ic="bic"):
    return ref.information_criteria(y, maxlag, ic)[1:].copy()


@pitfall("information_criteria",
         "Subtracts the mean and fits without a constant: not the same least-squares problem as fitting the "
         "constant, so the residuals differ.")
def demeaned_without_constant(y, maxlag, ic="bic"):
    series = ref._checked(y, maxlag, ic)
    centred = series - series.mean()
    n, nobs = len(series), len(series) - maxlag
    out = []
    for p in range(maxlag + 1):
        target = centred[maxlag:]
        if p == 0:
            rss = float(target @ target)
        else:
            x = np.column_stack([centred[maxlag - i:n - i] for i in range(1, p + 1)])
            residuals = target - x @ np.linalg.lstsq(x, target, rcond=None)[0]
            rss = float(residuals @ residuals)
        out.append(_criterion(rss, nobs, _penalty(ic, nobs), p + 1))
    return np.array(out)


@pitfall("information_criteria", "Takes HQIC's penalty as 2 * log(nobs) per parameter; it is 2 * log(log(nobs)).")
def hqic_with_a_single_log(y, maxlag, ic="bic"):
    if ic != "hqic":
        return ref.information_criteria(y, maxlag, ic)
    series = ref._checked(y, maxlag, ic)
    nobs = len(series) - maxlag
    return np.array([_criterion(_rss(series, maxlag, p), nobs, 2 * math.log(nobs), p + 1) for p in range(maxlag + 1)])


@pitfall("information_criteria",
         "Tests for a constant series with np.std(y) == 0; the mean of [0.1] * 20 is not exactly 0.1, so its "
         "standard deviation is 1e-17 and the constant series slips through. Compare the values themselves.")
def constant_by_std(y, maxlag, ic="bic"):
    series = np.array(y, dtype=np.float64)
    if series.ndim != 1 or not np.isfinite(series).all() or maxlag < 1 or len(series) < 2 * maxlag + 2:
        raise ValueError("invalid y or maxlag")
    if np.std(series) == 0:
        raise ValueError("y is constant")
    if ic not in ("aic", "bic", "hqic"):
        raise ValueError(f"unknown criterion {ic!r}")
    nobs = len(series) - maxlag
    rss = np.array([_rss(series, maxlag, p) for p in range(maxlag + 1)])
    with np.errstate(divide="ignore"):
        return nobs * (np.log(2 * np.pi * rss / nobs) + 1) + _penalty(ic, nobs) * np.arange(1, maxlag + 2)


@pitfall("information_criteria",
         "Squeezes y before checking that it is 1-D, so a column of shape (n, 1) is accepted instead of raising "
         "ValueError.")
def squeezed_input(y, maxlag, ic="bic"):
    return ref.information_criteria(np.squeeze(np.asarray(y, dtype=np.float64)), maxlag, ic)


@pitfall("information_criteria",
         "Keeps a float32 input in float32 (np.asarray(y) without a dtype), so the criteria carry float32 "
         "rounding; y is read as float64.")
def computes_in_float32(y, maxlag, ic="bic"):
    series = np.asarray(y)
    if series.dtype.kind != "f":
        series = series.astype(np.float64)
    ref._checked(series, maxlag, ic)
    n, nobs = len(series), len(series) - maxlag
    target = series[maxlag:]
    penalty = {"aic": 2.0, "bic": math.log(nobs), "hqic": 2.0 * math.log(math.log(nobs))}[ic]
    values = []
    for p in range(maxlag + 1):
        x = np.column_stack([np.ones(n - maxlag, dtype=series.dtype)]
                            + [series[maxlag - i:n - i] for i in range(1, p + 1)])
        residuals = target - x @ np.linalg.lstsq(x, target, rcond=None)[0]
        sigma2 = (residuals @ residuals) / series.dtype.type(nobs)
        llf = -series.dtype.type(nobs / 2) * (np.log(series.dtype.type(2 * math.pi) * sigma2) + 1)
        values.append(-2 * llf + series.dtype.type(penalty * (p + 1)))
    return np.array(values, dtype=np.float64)


# ---- choose_order and select_order -------------------------------------------------------------

@pitfall("choose_order", "Takes the LAST of equally small criteria; at an exact tie the smaller order wins.")
def last_of_the_ties(criteria):
    values = np.array(criteria, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or np.isnan(values).any():
        raise ValueError("criteria must be a non-empty 1-D sequence without NaN")
    return int(len(values) - 1 - np.argmin(values[::-1]))


@pitfall("choose_order", "Uses np.nanargmin, which skips a NaN instead of raising ValueError.")
def skips_nan(criteria):
    values = np.array(criteria, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("criteria must be a non-empty 1-D sequence")
    return int(np.nanargmin(values))


@pitfall("choose_order",
         "Treats criteria within np.isclose of the minimum as tied and takes the smallest such order; only EXACT "
         "ties go to the smaller order, a criterion smaller by any amount wins.")
def tolerance_ties(criteria):
    values = np.array(criteria, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or np.isnan(values).any():
        raise ValueError("criteria must be a non-empty 1-D sequence without NaN")
    return int(np.flatnonzero(np.isclose(values, values.min()))[0])


@pitfall("choose_order",
         "Wraps the criteria in np.atleast_1d, so a single number is accepted as one order instead of raising "
         "ValueError: criteria must be 1-D.")
def accepts_a_scalar(criteria):
    return ref.choose_order(np.atleast_1d(np.asarray(criteria, dtype=np.float64)))


@pitfall("select_order", "Picks the order with the LARGEST criterion; the smallest criterion wins.")
def largest_criterion(y, maxlag, ic="bic"):
    return int(np.argmax(ref.information_criteria(y, maxlag, ic)))


@pitfall("select_order", "Always selects with AIC, ignoring the ic argument.")
def always_aic(y, maxlag, ic="bic"):
    ref._checked(y, maxlag, ic)
    return ref.choose_order(ref.information_criteria(y, maxlag, "aic"))


# ---- correct answers written differently: the tests must accept every one of them -------------

@alternative("information_criteria",
             "Solves the normal equations for each order and writes the criterion as nobs * log(RSS) plus constants.")
def normal_equations(y, maxlag, ic="bic"):
    series = ref._checked(y, maxlag, ic)
    n = len(series)
    nobs = n - maxlag
    full = np.column_stack([np.ones(nobs)] + [series[maxlag - i:n - i] for i in range(1, maxlag + 1)])
    target = series[maxlag:]
    out = np.empty(maxlag + 1)
    for p in range(maxlag + 1):
        x = full[:, :p + 1]
        beta = np.linalg.solve(x.T @ x, x.T @ target)
        rss = np.sum((target - x @ beta) ** 2)
        out[p] = nobs * np.log(rss) + nobs * (np.log(2 * np.pi) - np.log(nobs) + 1) + _penalty(ic, nobs) * (p + 1)
    return out


@alternative("information_criteria",
             "One QR decomposition of the largest design: the residual sum of squares of every smaller model follows "
             "from the same Q.")
def one_qr_for_every_order(y, maxlag, ic="bic"):
    series = ref._checked(y, maxlag, ic)
    n = len(series)
    nobs = n - maxlag
    full = np.column_stack([np.ones(nobs)] + [series[maxlag - i:n - i] for i in range(1, maxlag + 1)])
    target = series[maxlag:]
    q, _ = np.linalg.qr(full)  # the first p + 1 columns of Q span the first p + 1 columns of the design
    projections = q.T @ target
    total = float(target @ target)
    out = []
    for p in range(maxlag + 1):
        rss = total - float(projections[:p + 1] @ projections[:p + 1])
        llf = -nobs / 2 * (math.log(2 * math.pi * rss / nobs) + 1)
        out.append(-2 * llf + _penalty(ic, nobs) * (p + 1))
    return np.array(out)


@alternative("choose_order", "A plain loop that moves on only when a criterion is strictly smaller.")
def strict_improvement_loop(criteria):
    values = [float(v) for v in np.asarray(criteria, dtype=np.float64).reshape(-1)]
    if np.ndim(criteria) != 1 or not values or any(v != v for v in values):
        raise ValueError("criteria must be a non-empty 1-D sequence without NaN")
    best = 0
    for p, value in enumerate(values):
        if value < values[best]:
            best = p
    return best


@alternative("select_order", "Sorts (criterion, order) pairs; the order breaks ties toward the smaller one.")
def sorted_pairs(y, maxlag, ic="bic"):
    values = ref.information_criteria(y, maxlag, ic)
    return min((float(v), p) for p, v in enumerate(values))[1]
