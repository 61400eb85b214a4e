"""Known wrong answers for drift_monitor, and correct answers written differently."""

from __future__ import annotations

import math

import numpy as np

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _checked(train, live, bins=2, eps=0.5):
    if bins < 2 or not 0 < eps < 1:
        raise ValueError("bins must be >= 2 and eps in (0, 1)")
    return ref._sample(train, "train"), ref._sample(live, "live")


def _psi_from(p_counts, q_counts, n, m, eps):
    p = np.maximum(np.asarray(p_counts) / n, eps)
    q = np.maximum(np.asarray(q_counts) / m, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def _counts(values, edges, bins, side="right"):
    return np.bincount(np.searchsorted(edges, values, side=side), minlength=bins)


# ---- psi -----------------------------------------------------------------------------------------

@pitfall("psi", "Takes the quantile edges from the live window instead of the training sample, so the bins "
                "follow the data that is supposed to be checked against them.")
def psi_bins_from_live(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    edges = np.quantile(live, np.arange(1, bins) / bins)
    return _psi_from(_counts(train, edges, bins), _counts(live, edges, bins), train.size, live.size, eps)


@pitfall("psi", "Uses equal-width bins between the training minimum and maximum instead of quantile bins, so "
                "the bins do not hold equal shares of the training sample.")
def psi_equal_width_bins(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    edges = np.linspace(train.min(), train.max(), bins + 1)[1:-1]
    return _psi_from(_counts(train, edges, bins), _counts(live, edges, bins), train.size, live.size, eps)


@pitfall("psi", "Takes the quantile levels from np.linspace(0, 1, bins + 1)[1:-1], which rounds some of them "
                "(0.6000000000000001 for 3/5), so an edge that should be exactly a training value lies just above it "
                "and values on it fall into the bin below.")
def psi_levels_from_linspace(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    edges = np.quantile(train, np.linspace(0, 1, bins + 1)[1:-1])
    return _psi_from(_counts(train, edges, bins), _counts(live, edges, bins), train.size, live.size, eps)


@pitfall("psi", "Computes the one-sided KL divergence sum(q * ln(q / p)) instead of the PSI "
                "sum((q - p) * ln(q / p)).")
def psi_as_kl_divergence(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    edges = np.quantile(train, np.arange(1, bins) / bins)
    p = np.maximum(_counts(train, edges, bins) / train.size, eps)
    q = np.maximum(_counts(live, edges, bins) / live.size, eps)
    return float(np.sum(q * np.log(q / p)))


@pitfall("psi", "Adds eps to every fraction instead of replacing only the fractions below eps.")
def psi_adds_eps_everywhere(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    edges = np.quantile(train, np.arange(1, bins) / bins)
    p = _counts(train, edges, bins) / train.size + eps
    q = _counts(live, edges, bins) / live.size + eps
    return float(np.sum((q - p) * np.log(q / p)))


@pitfall("psi", "Puts a value that equals an edge into the bin BELOW it (searchsorted side='left', or "
                "np.digitize(..., right=True)).")
def psi_edge_values_go_below(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    edges = np.quantile(train, np.arange(1, bins) / bins)
    return _psi_from(_counts(train, edges, bins, "left"), _counts(live, edges, bins, "left"),
                     train.size, live.size, eps)


@pitfall("psi", "Counts with np.histogram between the training minimum and maximum, which silently drops live "
                "values outside the training range.")
def psi_histogram_drops_outliers(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    edges = np.quantile(train, np.linspace(0, 1, bins + 1))
    p_counts, _ = np.histogram(train, bins=edges)
    q_counts, _ = np.histogram(live, bins=edges)
    return _psi_from(p_counts, q_counts, train.size, live.size, eps)


@pitfall("psi", "Replaces only EMPTY fractions by eps (np.where(p == 0, eps, p)); a fraction that is small "
                "but not zero stays below eps.")
def psi_floors_only_empty_bins(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    edges = np.quantile(train, np.arange(1, bins) / bins)
    p = _counts(train, edges, bins) / train.size
    q = _counts(live, edges, bins) / live.size
    p, q = np.where(p == 0, eps, p), np.where(q == 0, eps, q)
    return float(np.sum((q - p) * np.log(q / p)))


# ---- ks_statistic -----------------------------------------------------------------------------------

@pitfall("ks_statistic", "Evaluates the two CDFs only at the training values, so a largest gap that sits at a "
                         "live value is missed.")
def ks_only_at_training_values(train, live):
    train, live = np.sort(ref._sample(train, "train")), np.sort(ref._sample(live, "live"))
    gap = np.searchsorted(train, train, side="right") / train.size - \
        np.searchsorted(live, train, side="right") / live.size
    return float(np.max(np.abs(gap)))


@pitfall("ks_statistic", "Takes the one-sided gap max(F_train - F_live) instead of the largest absolute gap.")
def ks_one_sided(train, live):
    train, live = np.sort(ref._sample(train, "train")), np.sort(ref._sample(live, "live"))
    points = np.concatenate([train, live])
    gap = np.searchsorted(train, points, side="right") / train.size - \
        np.searchsorted(live, points, side="right") / live.size
    return float(max(np.max(gap), 0.0))


@pitfall("ks_statistic", "Walks the merged sorted values one at a time and measures the gap after each, so tied "
                         "values inside or across the samples create gaps that are not there.")
def ks_merge_walk_ignores_ties(train, live):
    train, live = np.sort(ref._sample(train, "train")), np.sort(ref._sample(live, "live"))
    i = j = 0
    best = 0.0
    while i < train.size or j < live.size:
        if j == live.size or (i < train.size and train[i] <= live[j]):
            i += 1
        else:
            j += 1
        best = max(best, abs(i / train.size - j / live.size))
    return best


# ---- drift_report -------------------------------------------------------------------------------------

@pitfall("drift_report", "Requires BOTH statistics to cross their thresholds before a feature counts as drifted, "
                         "instead of either one.")
def report_needs_both_statistics(train, live, *, bins=10, eps=1e-4, psi_threshold=0.2, ks_alpha=0.05):
    report = ref.drift_report(train, live, bins=bins, eps=eps, psi_threshold=psi_threshold, ks_alpha=ks_alpha)
    report["drifted"] = (report["psi"] >= psi_threshold) & (report["ks"] > report["ks_critical"])
    report["alert"] = bool(report["drifted"].any())
    return report


@pitfall("drift_report", "Inverts the size factor of the critical value, sqrt(n * m / (n + m)) instead of "
                         "sqrt((n + m) / (n * m)), so the KS test never fires on real sample sizes.")
def report_inverted_critical_value(train, live, *, bins=10, eps=1e-4, psi_threshold=0.2, ks_alpha=0.05):
    report = ref.drift_report(train, live, bins=bins, eps=eps, psi_threshold=psi_threshold, ks_alpha=ks_alpha)
    n, m = len(np.asarray(train)), len(np.asarray(live))
    report["ks_critical"] = math.sqrt(-math.log(ks_alpha / 2) / 2) * math.sqrt(n * m / (n + m))
    report["drifted"] = (report["psi"] >= psi_threshold) | (report["ks"] > report["ks_critical"])
    report["alert"] = bool(report["drifted"].any())
    return report


@pitfall("drift_report", "Loops over the rows of a 2-D sample as if they were features: each statistic then "
                         "compares one training example with one live example.")
def report_rows_as_features(train, live, *, bins=10, eps=1e-4, psi_threshold=0.2, ks_alpha=0.05):
    train, live = np.atleast_2d(np.asarray(train, dtype=np.float64)), np.atleast_2d(np.asarray(live, dtype=float))
    return ref.drift_report(train.T, live.T, bins=bins, eps=eps, psi_threshold=psi_threshold, ks_alpha=ks_alpha)


def _redecided(report, psi_drift, ks_drift):
    report["drifted"] = psi_drift | ks_drift
    report["alert"] = bool(report["drifted"].any())
    return report


@pitfall("drift_report", "Counts a KS statistic EQUAL to the critical value as drift (ks >= ks_critical); the "
                         "test rejects only when the statistic is strictly greater.")
def report_ks_at_the_critical_value_drifts(train, live, *, bins=10, eps=1e-4, psi_threshold=0.2, ks_alpha=0.05):
    report = ref.drift_report(train, live, bins=bins, eps=eps, psi_threshold=psi_threshold, ks_alpha=ks_alpha)
    return _redecided(report, report["psi"] >= psi_threshold, report["ks"] >= report["ks_critical"])


@pitfall("drift_report", "Counts a feature as drifted only when its PSI is strictly above psi_threshold; a PSI "
                         "equal to the threshold is drift.")
def report_psi_strictly_above_threshold(train, live, *, bins=10, eps=1e-4, psi_threshold=0.2, ks_alpha=0.05):
    report = ref.drift_report(train, live, bins=bins, eps=eps, psi_threshold=psi_threshold, ks_alpha=ks_alpha)
    return _redecided(report, report["psi"] > psi_threshold, report["ks"] > report["ks_critical"])


@pitfall("drift_report", "Returns alert as numpy's bool_ (drifted.any()), not a Python bool: `alert is True` is "
                         "False and json.dumps refuses it.")
def report_alert_numpy_bool(train, live, *, bins=10, eps=1e-4, psi_threshold=0.2, ks_alpha=0.05):
    report = ref.drift_report(train, live, bins=bins, eps=eps, psi_threshold=psi_threshold, ks_alpha=ks_alpha)
    report["alert"] = report["drifted"].any()
    return report


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("psi", "np.percentile edges, np.digitize and a loop with math.log; returns an np.float64, which is a "
                    "float.")
def psi_percentile_digitize(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    edges = np.percentile(train, [100 * k / bins for k in range(1, bins)])
    p_counts = np.bincount(np.digitize(train, edges), minlength=bins)
    q_counts = np.bincount(np.digitize(live, edges), minlength=bins)
    total = 0.0
    for pc, qc in zip(p_counts, q_counts, strict=True):
        p, q = max(pc / train.size, eps), max(qc / live.size, eps)
        total += (q - p) * (math.log(q) - math.log(p))
    return total


@alternative("psi", "np.histogram over edges padded with -inf and +inf, and the quantiles interpolated by hand.")
def psi_histogram_with_infinite_ends(train, live, *, bins=10, eps=1e-4):
    train, live = _checked(train, live, bins, eps)
    ordered = np.sort(train)
    positions = (ordered.size - 1) * np.arange(1, bins) / bins
    below = np.floor(positions).astype(int)
    above = np.minimum(below + 1, ordered.size - 1)
    edges = ordered[below] + (positions - below) * (ordered[above] - ordered[below])
    full = np.concatenate([[-np.inf], edges, [np.inf]])
    p = np.maximum(np.histogram(train, bins=full)[0] / train.size, eps)
    q = np.maximum(np.histogram(live, bins=full)[0] / live.size, eps)
    return float(((q - p) * np.log(q / p)).sum())


@alternative("ks_statistic", "Left limits of the CDFs (values strictly below) at every sample value, which give "
                             "the same largest gap.")
def ks_left_limits(train, live):
    train, live = np.sort(ref._sample(train, "train")), np.sort(ref._sample(live, "live"))
    points = np.unique(np.concatenate([train, live]))
    gaps = np.searchsorted(train, points, side="left") / train.size - \
        np.searchsorted(live, points, side="left") / live.size
    return float(np.abs(gaps).max())


@alternative("ks_statistic", "A two-pointer walk that steps past every copy of the current value in both samples "
                             "before measuring the gap.")
def ks_two_pointer_walk(train, live):
    a, b = np.sort(ref._sample(train, "train")), np.sort(ref._sample(live, "live"))
    i = j = 0
    best = 0.0
    while i < a.size and j < b.size:
        value = min(a[i], b[j])
        while i < a.size and a[i] == value:
            i += 1
        while j < b.size and b[j] == value:
            j += 1
        best = max(best, abs(i / a.size - j / b.size))
    return float(best)


@alternative("drift_report", "Vectorised over the features with apply_along_axis-style list comprehensions over "
                             "the transposed arrays, the critical value from math.")
def report_over_transposed_columns(train, live, *, bins=10, eps=1e-4, psi_threshold=0.2, ks_alpha=0.05):
    train, live = np.asarray(train, dtype=float), np.asarray(live, dtype=float)
    if train.ndim == 1:
        train = train.reshape(-1, 1)
    if live.ndim == 1:
        live = live.reshape(-1, 1)
    if train.ndim != 2 or live.ndim != 2 or train.shape[1] != live.shape[1] or train.shape[1] == 0:
        raise ValueError("train and live must be 1-D or 2-D with the same, non-zero number of columns")
    if psi_threshold <= 0 or not 0 < ks_alpha < 1:
        raise ValueError("psi_threshold must be > 0 and ks_alpha in (0, 1)")
    psis = np.array([ref.psi(a, b, bins=bins, eps=eps) for a, b in zip(train.T, live.T, strict=True)])
    kss = np.array([ref.ks_statistic(a, b) for a, b in zip(train.T, live.T, strict=True)])
    n, m = len(train), len(live)
    limit = math.sqrt(-0.5 * math.log(ks_alpha / 2)) * math.sqrt(1 / n + 1 / m)
    drifted = np.logical_or(psis >= psi_threshold, kss > limit)
    return {"psi": psis, "ks": kss, "ks_critical": limit, "drifted": drifted, "alert": bool(np.any(drifted))}
