"""Known wrong answers for precision_recall, and correct answers written differently."""

from __future__ import annotations

import numpy as np

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _counts(y_true, scores, threshold, strict=False):
    labels, values = ref._checked(y_true, scores)
    if np.isnan(float(threshold)):
        raise ValueError("threshold must not be NaN")
    predicted = values > threshold if strict else values >= threshold
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    return tp, fp, fn


def _curve(y_true, scores):
    """Precision and recall at each distinct score, highest first, and the number of positives."""
    labels, values = ref._checked(y_true, scores)
    distinct = np.unique(values)[::-1]
    positives = int(labels.sum())
    precision, recall = [], []
    for t in distinct:
        predicted = values >= t
        tp = int(np.sum(predicted & labels))
        precision.append(tp / int(predicted.sum()))
        recall.append(tp / positives if positives else 0.0)
    return np.array(precision), np.array(recall), positives


# ---- precision_recall_f1 ---------------------------------------------------------------------

@pitfall("precision_recall_f1",
         "Predicts positive only when score > threshold (Keras' convention), so a score exactly at the "
         "threshold is counted as negative.")
def strictly_above_threshold(y_true, scores, threshold=0.5):
    tp, fp, fn = _counts(y_true, scores, threshold, strict=True)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (2 * tp / (2 * tp + fp + fn) if tp else 0.0)


@pitfall("precision_recall_f1",
         "Divides with numpy without guarding the empty cases, so 0 / 0 gives NaN instead of 0.0 when nothing "
         "is predicted positive or no label is 1.")
def nan_on_zero_division(y_true, scores, threshold=0.5):
    tp, fp, fn = _counts(y_true, scores, threshold)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.float64(tp) / np.float64(tp + fp)
        recall = np.float64(tp) / np.float64(tp + fn)
        f1 = 2 * precision * recall / (precision + recall)
    return float(precision), float(recall), float(f1)


@pitfall("precision_recall_f1", "Averages precision and recall arithmetically; F1 is their harmonic mean.")
def f1_arithmetic_mean(y_true, scores, threshold=0.5):
    precision, recall, _ = ref.precision_recall_f1(y_true, scores, threshold)
    return precision, recall, (precision + recall) / 2


@pitfall("precision_recall_f1",
         "Swaps the denominators: divides tp by the real positives for precision and by the predicted "
         "positives for recall.")
def precision_and_recall_swapped(y_true, scores, threshold=0.5):
    precision, recall, f1 = ref.precision_recall_f1(y_true, scores, threshold)
    return recall, precision, f1


@pitfall("precision_recall_f1",
         "Reads the labels as truthy values instead of checking them, so a label of 2, -1 or 0.5 is taken as "
         "a positive without a ValueError.")
def labels_not_checked(y_true, scores, threshold=0.5):
    labels = np.asarray(y_true) != 0
    values = np.asarray(scores, dtype=np.float64)
    if labels.ndim != 1 or values.ndim != 1 or len(labels) != len(values) or len(labels) == 0:
        raise ValueError("y_true and scores must be 1-D, non-empty and the same length")
    if not np.all(np.isfinite(values)) or np.isnan(float(threshold)):
        raise ValueError("scores and threshold must not be NaN")
    predicted = values >= threshold
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    return (tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0,
            2 * tp / (2 * tp + fp + fn) if tp else 0.0)


@pitfall("precision_recall_f1",
         "Checks only that the scores are 1-D, so 2-D labels of the same length broadcast against the "
         "scores instead of raising a ValueError.")
def labels_ndim_not_checked(y_true, scores, threshold=0.5):
    labels = np.asarray(y_true)
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or len(labels) != len(values) or len(labels) == 0:
        raise ValueError("scores must be 1-D, non-empty and as long as y_true")
    if not np.all((labels == 0) | (labels == 1)) or not np.all(np.isfinite(values)):
        raise ValueError("bad labels or scores")
    if np.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    labels = labels == 1
    predicted = values >= threshold
    tp, fp, fn = int(np.sum(predicted & labels)), int(np.sum(predicted & ~labels)), int(np.sum(~predicted & labels))
    return (tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0,
            2 * tp / (2 * tp + fp + fn) if tp else 0.0)


@pitfall("precision_recall_f1",
         "Checks only that the labels are 1-D, so 2-D scores with as many rows as there are labels are "
         "compared with the threshold element by element instead of raising a ValueError.")
def scores_ndim_not_checked(y_true, scores, threshold=0.5):
    labels = np.asarray(y_true)
    values = np.asarray(scores, dtype=np.float64)
    if labels.ndim != 1 or len(labels) != len(values) or len(labels) == 0:
        raise ValueError("y_true must be 1-D, non-empty and as long as scores")
    if not np.all((labels == 0) | (labels == 1)) or not np.all(np.isfinite(values)):
        raise ValueError("bad labels or scores")
    if np.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    labels = labels == 1
    predicted = values >= threshold
    tp, fp, fn = int(np.sum(predicted & labels)), int(np.sum(predicted & ~labels)), int(np.sum(~predicted & labels))
    return (tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0,
            2 * tp / (2 * tp + fp + fn) if tp else 0.0)


@pitfall("precision_recall_f1",
         "Rejects an infinite threshold with a ValueError; only NaN is invalid, and an infinite threshold "
         "predicts nothing (+inf) or everything (-inf) positive.")
def infinite_threshold_rejected(y_true, scores, threshold=0.5):
    if not np.isfinite(float(threshold)):
        raise ValueError("threshold must be finite")
    return ref.precision_recall_f1(y_true, scores, threshold)


# ---- average_precision -----------------------------------------------------------------------

@pitfall("average_precision",
         "Integrates the precision-recall curve with the trapezoidal rule; average precision is a step-wise "
         "sum, with no interpolation between thresholds.")
def trapezoidal_area(y_true, scores):
    precision, recall, positives = _curve(y_true, scores)
    if positives == 0:
        return 0.0
    r = np.concatenate([[0.0], recall])
    p = np.concatenate([[precision[0]], precision])
    return float(np.sum(np.diff(r) * (p[1:] + p[:-1]) / 2))


@pitfall("average_precision",
         "Ranks the examples and takes one threshold per example, so tied scores are split and the result "
         "depends on the order of the examples.")
def ties_split_per_example(y_true, scores):
    labels, values = ref._checked(y_true, scores)
    positives = int(labels.sum())
    if positives == 0:
        return 0.0
    order = np.argsort(-values, kind="stable")
    tp = np.cumsum(labels[order])
    precision = tp / np.arange(1, len(values) + 1)
    recall = tp / positives
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


@pitfall("average_precision",
         "Uses the interpolated precision (the best precision at any higher recall), as the Pascal VOC "
         "benchmark does; average precision uses the precision at each threshold as it is.")
def interpolated_precision_envelope(y_true, scores):
    precision, recall, positives = _curve(y_true, scores)
    if positives == 0:
        return 0.0
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * envelope))


@pitfall("average_precision",
         "Weights each recall step by the precision at the START of the step (1.0 for the first), not at "
         "its end.")
def precision_at_step_start(y_true, scores):
    precision, recall, positives = _curve(y_true, scores)
    if positives == 0:
        return 0.0
    before = np.concatenate([[1.0], precision[:-1]])
    return float(np.sum(np.diff(recall, prepend=0.0) * before))


@pitfall("average_precision",
         "Returns NaN when no example is labelled 1 (recall is 0 / 0); the docstring defines it as 0.0.")
def nan_without_positives(y_true, scores):
    labels, _ = ref._checked(y_true, scores)
    if not labels.any():
        return float("nan")
    return ref.average_precision(y_true, scores)


@pitfall("average_precision",
         "Averages the precision over the distinct thresholds instead of weighting it by the recall gained "
         "at each one.")
def mean_precision_over_thresholds(y_true, scores):
    precision, _, positives = _curve(y_true, scores)
    return float(precision.mean()) if positives else 0.0


# ---- correct answers written differently: the tests must accept every one of them -------------

@alternative("precision_recall_f1",
             "Counts with a plain Python loop and takes F1 as the harmonic mean of precision and recall.")
def python_loop_harmonic_mean(y_true, scores, threshold=0.5):
    labels, values = ref._checked(y_true, scores)
    if threshold != threshold:
        raise ValueError("threshold must not be NaN")
    tp = fp = fn = 0
    for label, score in zip(labels.tolist(), values.tolist(), strict=True):
        if score >= threshold:
            tp, fp = tp + label, fp + (not label)
        else:
            fn += label
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


@alternative("precision_recall_f1", "Computes the ratios with numpy means over boolean masks, as numpy floats.")
def numpy_means(y_true, scores, threshold=0.5):
    labels, values = ref._checked(y_true, scores)
    if np.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    predicted = values >= threshold
    precision = labels[predicted].mean() if predicted.any() else np.float64(0.0)
    recall = predicted[labels].mean() if labels.any() else np.float64(0.0)
    f1 = 2 / (1 / precision + 1 / recall) if precision > 0 and recall > 0 else np.float64(0.0)
    return precision, recall, f1


@alternative("average_precision",
             "Averages, over the positive examples, the precision at the threshold equal to each one's score.")
def mean_precision_at_each_positive(y_true, scores):
    labels, values = ref._checked(y_true, scores)
    if not labels.any():
        return 0.0
    precisions = [labels[values >= s].mean() for s in values[labels]]
    return float(np.mean(precisions))


@alternative("average_precision",
             "Walks the distinct scores in a Python loop, counting with searchsorted on the sorted scores.")
def searchsorted_walk(y_true, scores):
    labels, values = ref._checked(y_true, scores)
    positives = labels.sum()
    if positives == 0:
        return 0.0
    positive_scores = np.sort(values[labels])
    all_scores = np.sort(values)
    total, previous_recall = 0.0, 0.0
    for t in np.unique(values)[::-1]:
        tp = len(positive_scores) - np.searchsorted(positive_scores, t, side="left")
        predicted = len(all_scores) - np.searchsorted(all_scores, t, side="left")
        recall = tp / positives
        total += (recall - previous_recall) * (tp / predicted)
        previous_recall = recall
    return total
