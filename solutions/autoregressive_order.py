"""Choose the order of an autoregressive model with an information criterion.

An AR(p) model predicts each value of a series from a constant and the p values before it:

    y[t] = c + phi_1 * y[t-1] + ... + phi_p * y[t-p] + e[t]

A larger p always fits the data at hand at least as well, so the fit alone cannot choose
p: it would always pick the largest order tried, and a model with needless lags forecasts
worse. An information criterion trades the fit (the log-likelihood) against the number of
parameters, and the order with the SMALLEST criterion wins. AIC charges 2 per parameter,
BIC log(nobs), HQIC 2 * log(log(nobs)); BIC picks the smallest models of the three on all
but the shortest series.

One detail decides whether the comparison is fair: every order must be fitted on the SAME
observations. An AR(1) fitted by itself can use every y[t] from t = 1, an AR(5) only from
t = 5; criteria computed on different samples are not comparable. So all the orders up to
maxlag are fitted on the observations t = maxlag, ..., n - 1, as statsmodels'
``statsmodels.tsa.ar_model.ar_select_order(y, maxlag, ic=..., trend="c")`` does. Your
functions must match it, without using statsmodels.
"""

from __future__ import annotations

import numpy as np

CRITERIA = ("aic", "bic", "hqic")


def _checked(y, maxlag: int, ic: str) -> np.ndarray:
    """The series as a new float64 array, after checking the inputs the functions share."""
    series = np.array(y, dtype=np.float64)  # a copy: the caller's data is never touched
    if series.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {series.shape}")
    if not np.all(np.isfinite(series)):
        raise ValueError("y must not contain NaN or infinity")
    if maxlag < 1:
        raise ValueError(f"maxlag must be at least 1, got {maxlag}")
    if len(series) < 2 * maxlag + 2:
        raise ValueError(f"maxlag={maxlag} needs at least {2 * maxlag + 2} observations, got {len(series)}")
    if np.all(series == series[0]):
        raise ValueError("y is constant: every model fits it exactly and no criterion is defined")
    if ic not in CRITERIA:
        raise ValueError(f"ic must be one of {CRITERIA}, got {ic!r}")
    return series



def information_criteria(y, maxlag: int, ic: str = "bic") -> np.ndarray:
    """The information criterion of the AR(p) model for each order p = 0, 1, ..., maxlag.

    With n = len(y) and nobs = n - maxlag, for each p:

    1. Fit by ordinary least squares, on the nobs equations t = maxlag, ..., n - 1 (the
       same equations for every p),
           y[t] ~ c + phi_1 * y[t-1] + ... + phi_p * y[t-p]
       (for p = 0 the model is the constant alone, whose fit is the mean of y[maxlag:]).
    2. From the residuals, sigma2 = (sum of squared residuals) / nobs (divide by nobs, not
       by nobs - p - 1), and the Gaussian log-likelihood
           llf = -nobs / 2 * (log(2 * pi * sigma2) + 1)
    3. With k = p + 1 estimated parameters (the p coefficients and the constant):
           "aic":  -2 * llf + 2 * k
           "bic":  -2 * llf + log(nobs) * k
           "hqic": -2 * llf + 2 * log(log(nobs)) * k
       (natural logarithms throughout).

    These are the values statsmodels' ``ar_select_order(y, maxlag, ic=ic, trend="c")``
    reports (its ``.aic``, ``.bic`` and ``.hqic`` dicts, keyed 0, (1,), (1, 2), ...). The
    result must match them to a relative tolerance of about 1e-9.

    Args:
        y: the series, a 1-D list or array of finite numbers, read as float64, with at
            least 2 * maxlag + 2 values (so that even the largest model leaves a residual
            degree of freedom), and not constant. It must not be modified. A float32 array
            is read as float64 too. The tests use series that no AR(p) up to maxlag fits
            exactly (a constant tail, a straight line, a repeating pattern would be): for
            those the residuals are rounding noise, and the result is not tested.
        maxlag: the largest order to consider, an int >= 1.
        ic: "aic", "bic" or "hqic".

    Returns:
        A 1-D float64 numpy array of length maxlag + 1; entry p is the criterion of AR(p).

    Raises:
        ValueError: if y is not 1-D, holds NaN or infinity, is constant, or has fewer than
            2 * maxlag + 2 values; if maxlag < 1; or if ic is not one of the three names.

    Example:
        >>> y = [1.0, 3.0, 2.0, 4.0, 3.5, 5.0, 4.0, 6.5, 5.0, 7.0]
        >>> np.round(information_criteria(y, maxlag=2, ic="aic"), 4)
        array([31.3554, 31.9093, 10.9539])
    """
    series = _checked(y, maxlag, ic)
    n = len(series)
    nobs = n - maxlag
    target = series[maxlag:]
    lags = [series[maxlag - i:n - i] for i in range(1, maxlag + 1)]  # lags[i - 1] holds y[t - i]
    penalty = {"aic": 2.0, "bic": np.log(nobs), "hqic": 2.0 * np.log(np.log(nobs))}[ic]
    criteria = np.empty(maxlag + 1)
    for p in range(maxlag + 1):
        design = np.column_stack([np.ones(nobs)] + lags[:p])
        beta, *_ = np.linalg.lstsq(design, target, rcond=None)
        residuals = target - design @ beta
        sigma2 = residuals @ residuals / nobs
        llf = -nobs / 2 * (np.log(2 * np.pi * sigma2) + 1)
        criteria[p] = -2 * llf + penalty * (p + 1)
    return criteria


def choose_order(criteria) -> int:
    """The order whose criterion is smallest; at an exact tie, the SMALLEST such order.

    Args:
        criteria: a non-empty 1-D list or array of numbers, entry p for AR(p), as
            information_criteria returns them. -inf and inf are allowed (-inf wins), NaN is
            not. It must not be modified.

    Returns:
        The chosen order p, an int (a numpy integer is accepted too).

    Raises:
        ValueError: if criteria is empty, not 1-D, or holds a NaN.

    Example:
        >>> choose_order([10.5, 7.25, 8.0, 7.25])  # orders 1 and 3 tie: the smaller wins
        1
    """
    values = np.array(criteria, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"criteria must be a non-empty 1-D sequence, got shape {values.shape}")
    if np.isnan(values).any():
        raise ValueError("criteria must not contain NaN")
    return int(np.argmin(values))  # np.argmin returns the first of equal minima


def select_order(y, maxlag: int, ic: str = "bic") -> int:
    """The order statsmodels' ``ar_select_order(y, maxlag, ic=ic, trend="c")`` selects.

    That is the order with the smallest criterion among information_criteria(y, maxlag, ic),
    the smallest order at an exact tie (choose_order). statsmodels reports it as
    ``ar_select_order(...).ar_lags``: None for order 0, else [1, 2, ..., p].

    Args:
        y, maxlag, ic: as for information_criteria. y must not be modified.

    Returns:
        The selected order p, an int between 0 and maxlag (a numpy integer is accepted too).

    Raises:
        ValueError: for the same inputs as information_criteria.

    Example:
        >>> y = [1.0, 3.0, 2.0, 4.0, 3.5, 5.0, 4.0, 6.5, 5.0, 7.0]
        >>> select_order(y, maxlag=2, ic="aic"), select_order(y, maxlag=2, ic="bic")
        (2, 2)
    """
    return choose_order(information_criteria(y, maxlag, ic))
