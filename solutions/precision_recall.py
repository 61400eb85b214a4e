"""Precision, recall and F1 at a threshold, and average precision over every threshold.

A binary classifier gives each example a score, and a threshold turns the scores into
decisions: an example is predicted positive when its score is at least the threshold.
Comparing the decisions with the true labels gives three counts:

    tp (true positives):  predicted positive and labelled 1
    fp (false positives): predicted positive but labelled 0
    fn (false negatives): predicted negative but labelled 1

Precision, tp / (tp + fp), is the share of the positive predictions that are right: a
spam filter with high precision rarely flags good mail. Recall, tp / (tp + fn), is the
share of the real positives that are found: a cancer screen needs high recall. Raising
the threshold usually trades recall for precision; F1, their harmonic mean, is one number
that is high only when both are. Average precision summarises the whole trade-off, over
every threshold at once, so it depends only on how the scores rank the examples.
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (for your solution)


def _checked(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """The labels as a new bool array and the scores as a new float64 array, after checking both."""
    labels = np.array(y_true)
    values = np.array(scores, dtype=np.float64)
    if labels.ndim != 1 or values.ndim != 1:
        raise ValueError(f"y_true and scores must be 1-D, got shapes {labels.shape} and {values.shape}")
    if len(labels) != len(values):
        raise ValueError(f"y_true and scores differ in length: {len(labels)} and {len(values)}")
    if len(labels) == 0:
        raise ValueError("y_true and scores are empty")
    if not np.all((labels == 0) | (labels == 1)):
        raise ValueError("every label must be 0 or 1")
    if not np.all(np.isfinite(values)):
        raise ValueError("scores must be finite (no NaN or infinity)")
    return labels == 1, values


def precision_recall_f1(y_true, scores, threshold: float = 0.5) -> tuple[float, float, float]:
    """Precision, recall and F1 of the decisions ``score >= threshold``.

    An example is predicted positive when its score is greater than OR EQUAL to the
    threshold (a score exactly at the threshold is positive). Count tp, fp and fn as in
    the module docstring, then:

        precision = tp / (tp + fp), or 0.0 when tp + fp == 0 (nothing predicted positive)
        recall    = tp / (tp + fn), or 0.0 when tp + fn == 0 (no example labelled 1)
        f1        = 2 * precision * recall / (precision + recall),
                    or 0.0 when precision + recall == 0

    (F1 is also 2 * tp / (2 * tp + fp + fn), which is 0.0 exactly when tp == 0.) None of
    the three is ever NaN.

    Args:
        y_true: the true labels, a 1-D list or array of 0s and 1s (ints, bools, or the
            floats 0.0 and 1.0). It must not be modified.
        scores: the classifier's scores, a 1-D list or array of finite real numbers, the
            same length as y_true. They need not lie in [0, 1]. It must not be modified.
        threshold: a real number (not NaN).

    Returns:
        A tuple ``(precision, recall, f1)`` of three floats, each in [0, 1] (Python
        floats; numpy float64 scalars are accepted too).

    Raises:
        ValueError: if y_true or scores is not 1-D, if they differ in length or are
            empty, if a label is anything but 0 or 1, if a score is NaN or infinite, or
            if threshold is NaN.

    Example:
        >>> y = [1, 0, 1, 1, 0, 0]
        >>> s = [0.9, 0.8, 0.7, 0.4, 0.4, 0.1]
        >>> precision_recall_f1(y, s, 0.4)  # tp=3, fp=2, fn=0: the two 0.4s count as positive
        (0.6, 1.0, 0.75)
        >>> precision_recall_f1(y, s, 0.95)  # nothing predicted positive
        (0.0, 0.0, 0.0)
    """
    labels, values = _checked(y_true, scores)
    threshold = float(threshold)
    if np.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    predicted = values >= threshold
    tp = int(np.count_nonzero(predicted & labels))
    fp = int(np.count_nonzero(predicted & ~labels))
    fn = int(np.count_nonzero(~predicted & labels))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return precision, recall, f1


def average_precision(y_true, scores) -> float:
    """Average precision: the step-wise area under the precision-recall curve.

    Let t_1 > t_2 > ... > t_m be the DISTINCT values in scores, from highest to lowest.
    For each k, predict positive every example with ``score >= t_k`` and let P_k and R_k
    be the precision and recall of those decisions (as in precision_recall_f1). Then

        AP = sum over k = 1..m of (R_k - R_(k-1)) * P_k,    with R_0 = 0.

    Tied scores are one threshold, never split: examples with equal scores always enter
    the positive predictions together, so the order of the examples does not matter. No
    interpolation either: each recall step is weighted by the precision at the end of the
    step (this is what scikit-learn's ``average_precision_score`` computes). When no
    example is labelled 1, every recall is 0 and the average precision is 0.0.

    Args:
        y_true: the true labels, as in precision_recall_f1. It must not be modified.
        scores: the scores, as in precision_recall_f1. It must not be modified.

    Returns:
        The average precision, a float in [0, 1] (a Python float; a numpy float64
        scalar is accepted too).

    Raises:
        ValueError: for the same inputs as precision_recall_f1 (threshold aside).

    Example:
        >>> y = [1, 0, 1, 1, 0, 0]
        >>> s = [0.9, 0.8, 0.7, 0.4, 0.4, 0.1]
        >>> round(average_precision(y, s), 6)  # 1/3 * 1 + 0 + 1/3 * 2/3 + 1/3 * 3/5 + 0 = 34/45
        0.755556
        >>> average_precision([1, 0], [0.5, 0.5])  # one threshold: precision 1/2 at recall 1
        0.5
    """
    labels, values = _checked(y_true, scores)
    positives = int(np.count_nonzero(labels))
    if positives == 0:
        return 0.0
    order = np.argsort(-values, kind="stable")
    ranked_scores, ranked_labels = values[order], labels[order]
    tp = np.cumsum(ranked_labels)
    predicted = np.arange(1, len(values) + 1)
    # The last position of each run of equal scores: all the ties enter together.
    ends = np.flatnonzero(np.append(ranked_scores[1:] != ranked_scores[:-1], True))
    precision = tp[ends] / predicted[ends]
    recall = tp[ends] / positives
    steps = np.diff(recall, prepend=0.0)
    return float(np.sum(steps * precision))
