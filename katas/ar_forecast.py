"""Fit an autoregressive model by least squares and forecast with it.

An autoregressive model of order p, written AR(p), says that each value of a series is a
linear function of a constant and the p values just before it, plus random noise:

    y[t] = c + phi_1 * y[t-1] + phi_2 * y[t-2] + ... + phi_p * y[t-p] + e[t]

Here c is the intercept, phi_1 ... phi_p are the autoregressive coefficients (phi_1 goes
with the most recent value), and e[t] is noise with mean zero.
"""

from __future__ import annotations

import numpy as np


def fit_ar(y, p: int) -> tuple[float, np.ndarray]:
    """Estimate the intercept and coefficients of an AR(p) model by conditional least squares.

    Conditional least squares treats the first p observations as given and regresses every
    later value on a constant and the p values before it. For each t = p, p+1, ..., n-1
    (n = len(y)) there is one equation

        y[t] ~ c + phi_1 * y[t-1] + ... + phi_p * y[t-p]

    and (c, phi_1, ..., phi_p) is the ordinary least-squares solution of those n - p
    equations. Do not subtract the mean first, and do not use the Yule-Walker equations:
    they give different numbers. The result must match
    ``statsmodels.tsa.ar_model.AutoReg(y, lags=p, trend="c").fit().params`` to a relative
    tolerance of 1e-8 (you may not use statsmodels here).

    Args:
        y: the observed series, a 1-D list or numpy array of finite numbers; it is read as
            float64 (a float32 array too: compute in float64) and must not be modified. The
            tests use series whose least-squares problem is well conditioned; for a constant
            series, or any other whose lagged values are exactly collinear, the solution is
            not unique and the result is not tested.
        p: the order of the model, an integer of at least 1.

    Returns:
        A tuple ``(c, phi)``: the intercept as a float, and a 1-D float64 numpy array of
        length p holding ``[phi_1, ..., phi_p]`` in that order (phi_1 multiplies y[t-1]).

    Raises:
        ValueError: if y is not 1-D, contains NaN or infinity, has fewer than 2 * p + 2
            observations, or if p < 1.

    Example:
        >>> c, phi = fit_ar([0.5, 1.0, 0.2, 1.1, 0.4, 0.8], p=1)
        >>> round(c, 6), np.round(phi, 6)
        (1.285621, array([-0.915033]))
    """
    raise NotImplementedError


def forecast_ar(y, p: int, steps: int) -> np.ndarray:
    """Fit an AR(p) model to y as fit_ar does, then forecast the next `steps` values recursively.

    With (c, phi) from fit_ar(y, p), the first forecast uses the last p observations:

        f[0] = c + phi_1 * y[n-1] + phi_2 * y[n-2] + ... + phi_p * y[n-p]

    Each later forecast uses the same formula on the series extended by the forecasts made so
    far, so f[1] uses f[0] in place of the (unknown) y[n], f[2] uses f[1] and f[0], and so on.
    The result must match
    ``statsmodels.tsa.ar_model.AutoReg(y, lags=p, trend="c").fit().forecast(steps)`` to a
    relative tolerance of 1e-8 (you may not use statsmodels here).

    Args:
        y: the observed series, a 1-D list or numpy array of finite numbers; it is read as
            float64 and must not be modified.
        p: the order of the model, an integer of at least 1.
        steps: how many future values to forecast, an integer of at least 1.

    Returns:
        A 1-D float64 numpy array of length `steps`: the forecasts of y[n], ..., y[n+steps-1].

    Raises:
        ValueError: for the same inputs as fit_ar, or if steps < 1.

    Example:
        >>> np.round(forecast_ar([0.5, 1.0, 0.2, 1.1, 0.4, 0.8], p=1, steps=3), 6)
        array([0.553595, 0.779064, 0.572752])
    """
    raise NotImplementedError
