"""Monitor a deployed model's inputs for drift: the population stability index and the KS statistic.

A model is only as good as the match between the data it was trained on and the data it
sees in production. When the inputs drift (a new customer segment, a sensor recalibrated, an
upstream field whose unit changed from metres to centimetres) accuracy falls, usually long
before anyone has the labels to measure it. So production systems compare each input
feature's recent values, a window of live requests, with the training sample, and raise an
alert when the two distributions part.

Two statistics do most of this work.

The population stability index (PSI), from credit scoring, cuts the training sample into
bins that each hold about the same share of it, measures the share of the training sample
(p) and of the live window (q) in every bin, and adds up ``(q - p) * ln(q / p)``. Identical
distributions give 0; by the usual rule of thumb, under 0.1 is stable, 0.1 to 0.2 a moderate
shift, and 0.2 or more a shift worth acting on.

The two-sample Kolmogorov-Smirnov statistic D is the largest vertical gap between the two
empirical cumulative distribution functions. It needs no bins, and its sampling distribution
gives a critical value: two samples from one distribution exceed it only with probability
about alpha.
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (for your code)


def _sample(values, what: str) -> np.ndarray:
    """A checked 1-D float64 copy of one sample."""
    array = np.array(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{what} is empty")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} holds NaN or infinity")
    return array


def _fractions(values: np.ndarray, edges: np.ndarray, bins: int, eps: float) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=bins)
    return np.maximum(counts / values.size, eps)


def psi(train, live, *, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of the live window against the training sample.

    Exactly this, so that there is one right answer:

    1. Bin edges from the TRAINING sample only: the ``bins - 1`` interior edges
       ``np.quantile(train, [1/bins, 2/bins, ..., (bins-1)/bins])``, with numpy's default
       ("linear") interpolation, each level computed as k / bins (``np.arange(1, bins) / bins``;
       ``np.linspace(0, 1, bins + 1)`` rounds some levels, 0.6000000000000001 for 3/5, which
       moves an edge off the training value it should sit on). There are no outer edges: the first bin takes everything
       below the first edge and the last bin everything at or above the last edge, so live
       values outside the training range still land in a bin.
    2. A value x goes into bin ``np.searchsorted(edges, x, side="right")`` (0 to bins-1): a
       value equal to an edge goes into the bin ABOVE that edge. When the training sample has
       repeated values, edges may coincide; the bins between equal edges stay empty.
    3. ``p[i]`` is the fraction of the training values in bin i and ``q[i]`` the fraction of
       the live values in bin i. Every fraction below `eps` is replaced by `eps` (an empty bin
       would otherwise give ln(0)); the fractions are not renormalised afterwards.
    4. ``PSI = sum over i of (q[i] - p[i]) * ln(q[i] / p[i])``.

    Args:
        train: the training sample of one feature, a non-empty 1-D array-like of finite
            numbers (read as float64). Not modified.
        live: the live window of the same feature, a non-empty 1-D array-like of finite
            numbers. Not modified.
        bins: the number of bins, an int >= 2.
        eps: the floor for a bin's fraction, a float with 0 < eps < 1.

    Returns:
        The PSI as a Python float, >= 0 (0.0 when every bin has the same fraction in both).

    Raises:
        ValueError: if either sample is empty, not 1-D, or holds NaN or infinity; if
            ``bins < 2``; or if `eps` is not in (0, 1).

    Example:
        >>> train = np.arange(1, 9)  # 1..8; the quartile edges are 2.75, 4.5 and 6.25
        >>> psi(train, train, bins=4)
        0.0
        >>> live = np.array([1.0, 2.0, 3.0, 4.0])  # bins 0, 0, 1, 1: q = [0.5, 0.5, 0, 0]
        >>> round(psi(train, live, bins=4), 6)  # 2 * 0.25*ln(2) + 2 * (1e-4 - 0.25)*ln(1e-4/0.25)
        4.257032
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    if not 0 < eps < 1:
        raise ValueError(f"eps must be in (0, 1), got {eps}")
    train, live = _sample(train, "train"), _sample(live, "live")
    edges = np.quantile(train, np.arange(1, bins) / bins)
    p = _fractions(train, edges, bins, eps)
    q = _fractions(live, edges, bins, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def ks_statistic(train, live) -> float:
    """The two-sample Kolmogorov-Smirnov statistic D of the two samples.

    With ``F(x) = (number of values <= x) / (sample size)`` the empirical CDF of a sample,
    ``D = max over every real x of |F_train(x) - F_live(x)|``. The largest gap is found at one
    of the sample values (mind the values that appear in both samples, or several times in
    one). D is what ``scipy.stats.ks_2samp(train, live).statistic`` returns, to rounding
    (1e-12); you may not use scipy here.

    Args:
        train, live: the two samples, non-empty 1-D array-likes of finite numbers (read as
            float64). Not modified.

    Returns:
        D as a Python float in [0, 1].

    Raises:
        ValueError: if either sample is empty, not 1-D, or holds NaN or infinity.

    Example:
        >>> ks_statistic([1, 2, 2, 3], [2, 2, 4, 5, 6])  # at x = 3: F_train = 1, F_live = 0.4
        0.6
    """
    train, live = np.sort(_sample(train, "train")), np.sort(_sample(live, "live"))
    points = np.concatenate([train, live])
    # Right-continuous CDFs at every sample value: ties within and between samples count fully.
    cdf_train = np.searchsorted(train, points, side="right") / train.size
    cdf_live = np.searchsorted(live, points, side="right") / live.size
    return float(np.max(np.abs(cdf_train - cdf_live)))


def drift_report(train, live, *, bins: int = 10, eps: float = 1e-4, psi_threshold: float = 0.2,
                 ks_alpha: float = 0.05) -> dict:
    """Per-feature PSI and KS between a training sample and a live window, with alerts.

    Each COLUMN is one feature: `train` has shape (n, features) and `live` (m, features); a
    1-D array is a single feature (features = 1). For every feature compute
    ``psi(train[:, j], live[:, j], bins=bins, eps=eps)`` and
    ``ks_statistic(train[:, j], live[:, j])``. A feature has drifted when its PSI is at least
    `psi_threshold` OR its KS statistic is strictly greater than the critical value

        ``ks_critical = sqrt(-ln(ks_alpha / 2) / 2) * sqrt((n + m) / (n * m))``

    (the large-sample critical value of the two-sample KS test at level `ks_alpha`; it depends
    only on the sample sizes, so it is the same for every feature).

    Args:
        train: the training sample, a 1-D or 2-D array-like of finite numbers, n >= 1 rows.
        live: the live window, 1-D or 2-D like `train`, with the same number of features,
            m >= 1 rows. Neither is modified.
        bins, eps: passed on to psi.
        psi_threshold: the PSI at which a feature counts as drifted, a float > 0.
        ks_alpha: the significance level of the KS test, a float with 0 < ks_alpha < 1.

    Returns:
        A dict with exactly these keys:

        - ``"psi"``: float64 array of shape (features,), the PSI of each feature;
        - ``"ks"``: float64 array of shape (features,), the KS statistic of each feature;
        - ``"ks_critical"``: the critical value, a Python float;
        - ``"drifted"``: bool array of shape (features,), which features drifted;
        - ``"alert"``: a Python bool, True when any feature drifted.

    Raises:
        ValueError: for the inputs psi and ks_statistic reject; if `train` or `live` is not
            1-D or 2-D, has no feature (0 columns), or their feature counts differ; if
            ``psi_threshold <= 0``; or if `ks_alpha` is not in (0, 1).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> train = rng.normal(size=(1000, 2))
        >>> live = np.column_stack([rng.normal(size=500), rng.normal(0.5, 1, size=500)])
        >>> report = drift_report(train, live)
        >>> report["drifted"], report["alert"], round(report["ks_critical"], 4)
        (array([False,  True]), True, 0.0744)
    """
    train = np.asarray(train, dtype=np.float64)
    live = np.asarray(live, dtype=np.float64)
    if train.ndim not in (1, 2) or live.ndim not in (1, 2):
        raise ValueError(f"train and live must be 1-D or 2-D, got shapes {train.shape} and {live.shape}")
    train = train[:, None] if train.ndim == 1 else train
    live = live[:, None] if live.ndim == 1 else live
    if train.shape[1] == 0:
        raise ValueError("there are no features (0 columns)")
    if train.shape[1] != live.shape[1]:
        raise ValueError(f"train has {train.shape[1]} features and live {live.shape[1]}")
    if not psi_threshold > 0:
        raise ValueError(f"psi_threshold must be > 0, got {psi_threshold}")
    if not 0 < ks_alpha < 1:
        raise ValueError(f"ks_alpha must be in (0, 1), got {ks_alpha}")
    n, m = train.shape[0], live.shape[0]
    psis = np.array([psi(train[:, j], live[:, j], bins=bins, eps=eps) for j in range(train.shape[1])])
    kss = np.array([ks_statistic(train[:, j], live[:, j]) for j in range(train.shape[1])])
    critical = float(np.sqrt(-np.log(ks_alpha / 2) / 2) * np.sqrt((n + m) / (n * m)))
    drifted = (psis >= psi_threshold) | (kss > critical)
    return {"psi": psis, "ks": kss, "ks_critical": critical, "drifted": drifted, "alert": bool(drifted.any())}
