"""Tests for precision_recall: precision, recall and F1 at a threshold, and average precision.

Three oracles: the reference solution (through `differential`), an exact definition kept
in this file (the counts and every ratio in rational arithmetic, so nothing is rounded),
and Keras' own metrics. Keras predicts positive when ``score > threshold`` (strictly), so
it is asked only about thresholds that no score equals; the case of a score exactly at the
threshold is tested on its own. Keras' AUC(curve="PR") is an approximation of average
precision (it interpolates between thresholds); with thresholds placed between the
distinct scores, its "minoring" and "majoring" sums bound the step-wise average precision
from below and above, and Keras' Precision and Recall at those thresholds rebuild it.

Scores in the generated cases are multiples of 1/8 or 1/64: exact in binary, so a score
equal to a threshold is really equal whatever the code does, and ties are frequent.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

RTOL, ATOL = 1e-9, 1e-12
DOC_Y = [1, 0, 1, 1, 0, 0]
DOC_S = [0.9, 0.8, 0.7, 0.4, 0.4, 0.1]


# ---- the exact definition, in rational arithmetic ---------------------------------------------

def exact_counts(labels, scores, threshold):
    tp = sum(1 for y, s in zip(labels, scores, strict=True) if s >= threshold and y == 1)
    fp = sum(1 for y, s in zip(labels, scores, strict=True) if s >= threshold and y == 0)
    fn = sum(1 for y, s in zip(labels, scores, strict=True) if s < threshold and y == 1)
    return tp, fp, fn


def exact_metrics(labels, scores, threshold):
    """(precision, recall, f1) as Fractions, with the zero-division cases of the docstring."""
    tp, fp, fn = exact_counts(labels, scores, threshold)
    precision = Fraction(tp, tp + fp) if tp + fp else Fraction(0)
    recall = Fraction(tp, tp + fn) if tp + fn else Fraction(0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else Fraction(0)
    return precision, recall, f1


def exact_average_precision(labels, scores):
    """sum over the distinct scores t_k, highest first, of (R_k - R_(k-1)) * P_k, as a Fraction."""
    total, previous_recall = Fraction(0), Fraction(0)
    for t in sorted(set(float(s) for s in scores), reverse=True):
        precision, recall, _ = exact_metrics(labels, scores, t)
        total += (recall - previous_recall) * precision
        previous_recall = recall
    return total


# ---- comparisons -------------------------------------------------------------------------------

def _is_float(value):
    return isinstance(value, float | np.floating) and np.ndim(value) == 0


def scalar_close(yours, expected):
    """A float (Python or numpy float64) within RTOL/ATOL of the expected number."""
    return (_is_float(yours) and not isinstance(yours, np.float16 | np.float32)
            and math.isclose(float(yours), float(expected), rel_tol=RTOL, abs_tol=ATOL))


def triple_close(yours, expected):
    """A tuple of three floats, each close to the expected one."""
    return (isinstance(yours, tuple) and len(yours) == 3
            and all(scalar_close(a, b) for a, b in zip(yours, expected, strict=True)))


scalar_close.__doc__ = triple_close.__doc__ = f"close (rtol={RTOL}, atol={ATOL}), floats only"


def assert_metrics(kata, labels, scores, threshold, expected, why=""):
    __tracebackhide__ = True
    yours = kata.precision_recall_f1(labels, scores, threshold)
    shown = tuple(float(v) for v in expected)
    assert triple_close(yours, shown), (
        f"precision_recall_f1(y_true={labels!r}, scores={scores!r}, threshold={threshold!r})\n"
        f"  expected: (precision, recall, f1) = {shown!r}\n  yours:    {yours!r}" + (f"\n  {why}" if why else ""))


def assert_ap(kata, labels, scores, expected, why=""):
    __tracebackhide__ = True
    yours = kata.average_precision(labels, scores)
    assert scalar_close(yours, expected), (
        f"average_precision(y_true={labels!r}, scores={scores!r})\n"
        f"  expected: {float(expected)!r}\n  yours:    {yours!r}" + (f"\n  {why}" if why else ""))


# ---- fixed cases, cheapest first ---------------------------------------------------------------

def test_docstring_examples(kata):
    assert_metrics(kata, DOC_Y, DOC_S, 0.4, (0.6, 1.0, 0.75))
    assert_metrics(kata, DOC_Y, DOC_S, 0.95, (0.0, 0.0, 0.0))
    assert_ap(kata, DOC_Y, DOC_S, Fraction(34, 45))
    assert_ap(kata, [1, 0], [0.5, 0.5], 0.5)


def test_return_types(kata):
    result = kata.precision_recall_f1(DOC_Y, DOC_S, 0.5)
    assert isinstance(result, tuple) and len(result) == 3, \
        f"precision_recall_f1 returns a tuple (precision, recall, f1), got {result!r}"
    assert all(_is_float(v) for v in result), f"precision, recall and f1 must be floats, got {result!r}"
    ap = kata.average_precision(DOC_Y, DOC_S)
    assert _is_float(ap), f"average_precision returns a float, got {ap!r} ({type(ap).__name__})"


@pytest.mark.parametrize("threshold, expected", [
    (0.4, (Fraction(3, 5), 1, Fraction(3, 4))),
    (0.7, (Fraction(2, 3), Fraction(2, 3), Fraction(2, 3))),
    (0.8, (Fraction(1, 2), Fraction(1, 3), Fraction(2, 5))),
    (0.9, (1, Fraction(1, 3), Fraction(1, 2))),
    (0.1, (Fraction(1, 2), 1, Fraction(2, 3))),
], ids=["at-0.4", "at-0.7", "at-0.8", "at-0.9", "at-0.1"])
def test_a_score_equal_to_the_threshold_is_positive(kata, threshold, expected):
    assert_metrics(kata, DOC_Y, DOC_S, threshold, expected,
                   "a score exactly at the threshold is predicted positive (score >= threshold)")


@pytest.mark.parametrize("labels, scores, threshold, expected, why", [
    ([1, 0, 1], [0.2, 0.3, 0.1], 0.5, (0, 0, 0), "nothing predicted positive: precision 0.0, not NaN"),
    ([0, 0, 0], [0.9, 0.2, 0.6], 0.5, (0, 0, 0), "no positive labels: recall 0.0, and F1 0.0"),
    ([0, 0], [0.1, 0.2], 0.5, (0, 0, 0), "no positives and no positive predictions: all three 0.0"),
    ([1, 1, 0], [0.1, 0.2, 0.9], 0.5, (0, 0, 0), "tp = 0 with predictions and positives: F1 is 0.0, not NaN"),
    ([1, 1], [0.7, 0.6], 0.5, (1, 1, 1), "every example right"),
    ([1], [0.5], 0.5, (1, 1, 1), "one example, its score at the threshold"),
    ([0], [0.5], 0.5, (0, 0, 0), "one negative example predicted positive"),
], ids=["no-predicted-positive", "no-positive-label", "neither", "tp-zero", "perfect", "single-positive",
        "single-negative"])
def test_zero_division_cases(kata, labels, scores, threshold, expected, why):
    assert_metrics(kata, labels, scores, threshold, expected, why)


@pytest.mark.parametrize("labels, scores, expected", [
    ([1, 0], [0.5, 0.5], Fraction(1, 2)),
    ([0, 1], [0.5, 0.5], Fraction(1, 2)),
    ([1, 1, 0, 0], [0.3, 0.3, 0.3, 0.3], Fraction(1, 2)),
    ([0, 1, 1, 0, 1], [0.8, 0.8, 0.4, 0.4, 0.1], Fraction(1, 3) * Fraction(1, 2) + Fraction(1, 3) * Fraction(1, 2)
     + Fraction(1, 3) * Fraction(3, 5)),
    ([1, 0, 1, 0], [0.8, 0.8, 0.8, 0.1], Fraction(2, 3)),
], ids=["pos-first", "neg-first", "all-tied", "two-tie-groups", "tie-group-then-negative"])
def test_tied_scores_are_one_threshold(kata, labels, scores, expected):
    assert_ap(kata, labels, scores, expected,
              "examples with equal scores enter the positive predictions together, whatever their order")


@pytest.mark.parametrize("labels, scores, expected, why", [
    ([0, 0, 0], [0.9, 0.5, 0.1], 0, "no positive labels: every recall is 0, so the average precision is 0.0"),
    ([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], 1, "every positive ranked above every negative: 1.0"),
    ([1], [0.3], 1, "a single positive example"),
    ([0, 0, 1], [0.9, 0.8, 0.1], Fraction(1, 3), "the only positive ranked last"),
    ([1, 0, 1, 1], [0.9, 0.8, 0.7, 0.6],
     Fraction(1, 3) + Fraction(1, 3) * Fraction(2, 3) + Fraction(1, 3) * Fraction(3, 4),
     "no interpolation: each recall step weighs the precision at the end of that step"),
    ([0, 1, 0, 1, 1], [5.0, 4.0, 3.0, 2.0, -1.0], Fraction(1, 3) * Fraction(1, 2) + Fraction(1, 3) * Fraction(1, 2)
     + Fraction(1, 3) * Fraction(3, 5), "scores outside [0, 1] are fine"),
], ids=["no-positives", "perfect-ranking", "single-positive", "positive-last", "step-not-interpolated",
        "unbounded-scores"])
def test_average_precision_fixed_cases(kata, labels, scores, expected, why):
    assert_ap(kata, labels, scores, expected, why)


# ---- invalid input -----------------------------------------------------------------------------

INVALID = {
    "2-D labels": (np.array([[1, 0], [0, 1]]), np.array([[0.1, 0.2], [0.3, 0.4]])),
    "2-D scores": ([1, 0, 1, 0], np.array([[0.1, 0.2], [0.3, 0.4]])),
    # one side 2-D, the lengths equal: only a check of that side's ndim catches these
    "2-D labels, 1-D scores": (np.array([[1, 0], [0, 1]]), np.array([0.1, 0.2])),
    "1-D labels, 2-D scores": (np.array([1, 0]), np.array([[0.1, 0.2], [0.3, 0.4]])),
    "column labels": (np.array([[1], [0], [1]]), np.array([0.1, 0.2, 0.3])),
    "lengths differ": ([1, 0, 1], [0.1, 0.2]),
    "empty": ([], []),
    "label 2": ([1, 2, 0], [0.1, 0.2, 0.3]),
    "label -1": ([1, -1, 0], [0.1, 0.2, 0.3]),
    "label 0.5": ([1.0, 0.5, 0.0], [0.1, 0.2, 0.3]),
    "NaN score": ([1, 0, 1], [0.1, float("nan"), 0.3]),
    "inf score": ([1, 0, 1], [0.1, float("inf"), 0.3]),
    "-inf score": (np.array([1, 0, 1]), np.array([-np.inf, 0.2, 0.3])),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_precision_recall_f1_rejects_invalid_input(kata, case):
    labels, scores = INVALID[case]
    with pytest.raises(ValueError):
        kata.precision_recall_f1(labels, scores, 0.5)


def test_precision_recall_f1_rejects_a_nan_threshold(kata):
    with pytest.raises(ValueError):
        kata.precision_recall_f1([1, 0, 1], [0.1, 0.2, 0.3], float("nan"))


@pytest.mark.parametrize("threshold, expected", [
    (float("inf"), (0, 0, 0)), (-float("inf"), (Fraction(1, 2), 1, Fraction(2, 3))),
    (np.float64(0.4), (Fraction(3, 5), 1, Fraction(3, 4))), (1, (0, 0, 0)), (0, (Fraction(1, 2), 1, Fraction(2, 3))),
], ids=["inf", "-inf", "numpy-float", "int-1", "int-0"])
def test_any_real_threshold_is_accepted(kata, threshold, expected):
    """Only a NaN threshold is invalid: an infinite one predicts nothing (or everything) positive."""
    assert_metrics(kata, DOC_Y, DOC_S, threshold, expected,
                   "the threshold may be any real number that is not NaN, infinities and ints included")


@pytest.mark.parametrize("case", list(INVALID))
def test_average_precision_rejects_invalid_input(kata, case):
    labels, scores = INVALID[case]
    with pytest.raises(ValueError):
        kata.average_precision(labels, scores)


@pytest.mark.parametrize("form", ["bool", "float", "int8", "list of bool"])
def test_label_forms_are_accepted(kata, form):
    labels = {"bool": np.array(DOC_Y, dtype=bool), "float": np.array(DOC_Y, dtype=np.float64),
              "int8": np.array(DOC_Y, dtype=np.int8), "list of bool": [bool(v) for v in DOC_Y]}[form]
    assert_metrics(kata, labels, DOC_S, 0.4, (0.6, 1.0, 0.75))
    assert_ap(kata, labels, DOC_S, Fraction(34, 45))


def test_inputs_are_not_modified(kata):
    labels, scores = np.array(DOC_Y), np.array(DOC_S)
    labels_list, scores_list = list(DOC_Y), list(DOC_S)
    for y, s in ((labels, scores), (labels_list, scores_list)):
        kata.precision_recall_f1(y, s, 0.4)
        kata.average_precision(y, s)
    assert np.array_equal(labels, DOC_Y) and labels.dtype == np.array(DOC_Y).dtype, "y_true was modified"
    assert np.array_equal(scores, DOC_S) and scores.dtype == np.float64, "scores was modified"
    assert labels_list == DOC_Y and scores_list == DOC_S, "a list argument was modified"


# ---- generated cases: the reference and the exact definition -----------------------------------

@st.composite
def labelled_scores(draw, max_size=30):
    """(labels, scores): 1 to max_size examples, scores on a grid of eighths (many ties), in some input form."""
    n = draw(st.integers(1, max_size), label="n")
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n), label="labels")
    low = draw(st.sampled_from((0, -16)), label="lowest score (eighths)")
    scores = [k / 8 for k in draw(st.lists(st.integers(low, 8), min_size=n, max_size=n), label="scores")]
    form = draw(st.sampled_from(("arrays", "lists", "bool labels")), label="form")
    if form == "arrays":
        return np.array(labels), np.array(scores)
    if form == "bool labels":
        return np.array(labels, dtype=bool), np.array(scores)
    return labels, scores


def thresholds_for(scores):
    """A score itself (the boundary), a grid value between or beyond them, or any float."""
    return st.one_of(st.sampled_from(sorted(set(float(s) for s in scores))),
                     st.integers(-20, 12).map(lambda k: k / 8),
                     st.floats(-3.0, 3.0))


# Each generated test first calls the kata once on a fixed input: an unfinished stub is then
# reported as todo at once, instead of after Hypothesis has searched and shrunk its way there.

def test_precision_recall_f1_matches_reference(differential, kata):
    kata.precision_recall_f1(DOC_Y, DOC_S)

    @settings(max_examples=150)
    @given(data=labelled_scores(), choice=st.data())
    def check(data, choice):
        labels, scores = data
        threshold = choice.draw(thresholds_for(scores), label="threshold")
        differential("precision_recall_f1", labels, scores, threshold, equal=triple_close)

    check()


def test_average_precision_matches_reference(differential, kata):
    kata.average_precision(DOC_Y, DOC_S)

    @settings(max_examples=150)
    @given(data=labelled_scores())
    def check(data):
        labels, scores = data
        differential("average_precision", labels, scores, equal=scalar_close)

    check()


def test_matches_the_exact_definition(kata):
    kata.precision_recall_f1(DOC_Y, DOC_S)
    kata.average_precision(DOC_Y, DOC_S)

    @settings(max_examples=60)
    @given(data=labelled_scores(), choice=st.data())
    def check(data, choice):
        labels, scores = data
        plain_labels, plain_scores = [int(v) for v in labels], [float(v) for v in scores]
        threshold = choice.draw(thresholds_for(scores), label="threshold")
        assert_metrics(kata, labels, scores, threshold, exact_metrics(plain_labels, plain_scores, threshold))
        assert_ap(kata, labels, scores, exact_average_precision(plain_labels, plain_scores))

    check()


def test_average_precision_ignores_the_order_of_examples_and_the_scale_of_scores(kata):
    kata.average_precision(DOC_Y, DOC_S)

    @settings(max_examples=60)
    @given(data=labelled_scores(), seed=st.integers(0, 2**32 - 1))
    def check(data, seed):
        labels, scores = np.asarray(data[0]), np.asarray(data[1], dtype=np.float64)
        expected = kata.average_precision(labels, scores)
        order = np.random.default_rng(seed).permutation(len(labels))
        shuffled = kata.average_precision(labels[order], scores[order])
        assert scalar_close(shuffled, expected), (
            f"average_precision changed when the examples were shuffled: {expected!r} -> {shuffled!r}\n"
            f"  y_true={labels.tolist()}, scores={scores.tolist()}; tied scores must enter together")
        rescaled = kata.average_precision(labels, 4 * scores - 3)  # exact: the same ranking and ties
        assert scalar_close(rescaled, expected), (
            f"average_precision changed when the scores went through 4 * s - 3, which keeps their order: "
            f"{expected!r} -> {rescaled!r}")

    check()


# ---- Keras as the oracle -----------------------------------------------------------------------

KERAS_THRESHOLDS = (0.1, 0.3, 0.7, 0.9)  # not multiples of 1/64, so no score equals one of them


def _keras_case(rng, n, positive_rate):
    labels = (rng.random(n) < positive_rate).astype(np.int64)
    raw = rng.normal(0.5 + 0.2 * (labels - 0.5), 0.2)
    scores = np.clip(np.round(raw * 64), 1, 63) / 64  # multiples of 1/64, exact in float32
    return labels, scores


def _keras_results(labels, scores):
    """What Keras says about one data set: P, R, F1 at KERAS_THRESHOLDS, and its view of AP."""
    keras = tf.keras
    y, s = labels.astype(np.float32), scores.astype(np.float32)
    at_thresholds = []
    for t in KERAS_THRESHOLDS:
        precision = keras.metrics.Precision(thresholds=t)
        recall = keras.metrics.Recall(thresholds=t)
        f1 = keras.metrics.F1Score(threshold=t)
        precision.update_state(y, s)
        recall.update_state(y, s)
        f1.update_state(y.reshape(-1, 1), s.reshape(-1, 1))
        at_thresholds.append((t, float(precision.result()), float(recall.result()), float(f1.result()[0])))
    # One threshold just below each distinct score: Keras' "score > t" is then "score >= that score".
    distinct = np.unique(scores)[::-1]
    below = list((distinct[:-1] + distinct[1:]) / 2) + [distinct[-1] / 2]
    precision = keras.metrics.Precision(thresholds=below)
    recall = keras.metrics.Recall(thresholds=below)
    precision.update_state(y, s)
    recall.update_state(y, s)
    p = np.atleast_1d(np.asarray(precision.result(), dtype=np.float64))
    r = np.atleast_1d(np.asarray(recall.result(), dtype=np.float64))
    rebuilt = float(np.sum(np.diff(r, prepend=0.0) * p))
    sums = {}
    for method in ("minoring", "majoring", "interpolation"):
        auc = keras.metrics.AUC(curve="PR", summation_method=method, thresholds=sorted(below))
        auc.update_state(y, s)
        sums[method] = float(auc.result())
    return at_thresholds, rebuilt, sums


@pytest.fixture(scope="module")
def keras_cases():
    """Keras' results on a fixed set of data sets, computed once for every variant under test."""
    rng = np.random.default_rng(20240607)
    shapes = [(1, 0.5), (6, 0.5), (12, 0.0), (12, 1.0), (30, 0.3), (30, 0.7), (200, 0.4), (2000, 0.3)]
    cases = []
    for n, rate in shapes:
        labels, scores = _keras_case(rng, n, rate)
        cases.append((labels, scores, *_keras_results(labels, scores)))
    return cases


KERAS_RTOL = 1e-6  # Keras counts in float32


def test_matches_keras_precision_recall_and_f1(kata, request):
    kata.precision_recall_f1(DOC_Y, DOC_S)  # an unfinished kata stops here, before Keras does any work
    keras_cases = request.getfixturevalue("keras_cases")
    for labels, scores, at_thresholds, _, _ in keras_cases:
        for t, precision, recall, f1 in at_thresholds:
            yours = kata.precision_recall_f1(labels, scores, t)
            assert isinstance(yours, tuple) and len(yours) == 3, f"expected a tuple of three floats, got {yours!r}"
            assert np.allclose(np.asarray(yours, dtype=np.float64), [precision, recall, f1],
                               rtol=KERAS_RTOL, atol=KERAS_RTOL), (
                f"differs from keras.metrics Precision, Recall and F1Score at threshold {t} "
                f"(n={len(labels)}, {int(labels.sum())} positive)\n"
                f"  keras: {(precision, recall, f1)!r}\n  yours: {yours!r}")


def test_matches_keras_precision_and_recall_summed_over_every_threshold(kata, request):
    kata.average_precision(DOC_Y, DOC_S)  # an unfinished kata stops here, before Keras does any work
    keras_cases = request.getfixturevalue("keras_cases")
    for labels, scores, _, rebuilt, _ in keras_cases:
        yours = kata.average_precision(labels, scores)
        assert math.isclose(float(yours), rebuilt, rel_tol=KERAS_RTOL, abs_tol=KERAS_RTOL), (
            f"differs from sum((R_k - R_(k-1)) * P_k) with Keras' Precision and Recall at one threshold "
            f"below each distinct score (n={len(labels)}, {int(labels.sum())} positive)\n"
            f"  keras: {rebuilt!r}\n  yours: {yours!r}")


def test_lies_between_keras_lower_and_upper_riemann_sums(kata, request):
    kata.average_precision(DOC_Y, DOC_S)  # an unfinished kata stops here, before Keras does any work
    keras_cases = request.getfixturevalue("keras_cases")
    for labels, scores, _, _, sums in keras_cases:
        yours = float(kata.average_precision(labels, scores))
        assert sums["minoring"] - KERAS_RTOL <= yours <= sums["majoring"] + KERAS_RTOL, (
            f"keras.metrics.AUC(curve='PR') bounds the step-wise average precision: its 'minoring' sum "
            f"{sums['minoring']!r} <= AP <= its 'majoring' sum {sums['majoring']!r}; yours is {yours!r} "
            f"(n={len(labels)})")


def test_close_to_keras_interpolated_pr_auc_on_a_large_sample(kata, request):
    """Keras' default PR AUC interpolates between thresholds; with 2000 examples it is within 0.005 of AP."""
    kata.average_precision(DOC_Y, DOC_S)  # an unfinished kata stops here, before Keras does any work
    keras_cases = request.getfixturevalue("keras_cases")
    labels, scores, _, _, sums = keras_cases[-1]
    yours = float(kata.average_precision(labels, scores))
    assert abs(yours - sums["interpolation"]) < 5e-3, (
        f"average precision {yours!r} is far from Keras' interpolated PR AUC {sums['interpolation']!r} "
        f"on {len(labels)} examples")
