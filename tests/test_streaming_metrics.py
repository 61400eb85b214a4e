"""Tests for streaming_metrics: a state of counts and sums that adds up to the full-data result.

The oracle kept in this file works example by example in exact rational arithmetic: the
bin of a confidence c is the k with k/B <= c < (k+1)/B (c = 1.0 in the last bin), decided
with fractions, not floats. The reference solution is compared through `differential`.

Generated probabilities are multiples of 1/63 or 1/64, and the bin counts are chosen so
that no confidence lies within rounding error of an inner bin edge (1/63 never meets k/B
for B in BINS_63, and with 1/64 and a power-of-two B every edge is exact), so every way of
binning (floor of c * B, comparisons with the edges, np.digitize, np.histogram) agrees.
Batches are cut at arbitrary points, empty batches included, and merged in any order.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

KEYS = ("confusion", "bin_count", "bin_correct", "bin_confidence")
INT_KEYS = ("confusion", "bin_count", "bin_correct")
SUM_RTOL, SUM_ATOL = 1e-12, 1e-12  # float sums in another order
RTOL, ATOL = 1e-9, 1e-12
BINS_63 = (1, 2, 4, 5, 8, 10, 16, 20)  # no k/B equals j/63 for 0 < k < B
BINS_64 = (1, 2, 4, 8, 16)  # every j/64 and k/B exact in binary

DOC_Y = [0, 2, 1]
DOC_P = [[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.25, 0.25, 0.5]]


# ---- the exact oracle -------------------------------------------------------------------------

def exact_state(num_classes, num_bins, labels, probs):
    """The state of the whole data, counted one example at a time; bin_confidence as Fractions."""
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    count, correct = [0] * num_bins, [0] * num_bins
    confidence = [Fraction(0)] * num_bins
    for label, row in zip(labels, probs, strict=True):
        row = [float(v) for v in row]
        predicted = row.index(max(row))  # the first of the largest
        c = Fraction(row[predicted])
        k = num_bins - 1 if c >= 1 else max(j for j in range(num_bins) if Fraction(j, num_bins) <= c)
        confusion[int(label), predicted] += 1
        count[k] += 1
        correct[k] += int(predicted == int(label))
        confidence[k] += c
    return confusion, count, correct, confidence


def exact_metrics(confusion, count, correct, confidence):
    n = int(confusion.sum())
    if n == 0:
        return {"count": 0, "accuracy": 0.0, "ece": 0.0}
    ece = sum((abs(r - c) for r, c in zip(correct, confidence, strict=True)), Fraction(0)) / n
    return {"count": n, "accuracy": float(Fraction(int(np.trace(confusion)), n)), "ece": float(ece)}


# ---- comparisons ------------------------------------------------------------------------------

def state_problem(state, expected) -> str | None:
    """Why `state` is not the expected state, or None. expected: a state dict or exact_state()."""
    if isinstance(expected, tuple):
        expected = dict(zip(KEYS, (expected[0], np.array(expected[1], dtype=np.int64),
                                   np.array(expected[2], dtype=np.int64),
                                   np.array([float(v) for v in expected[3]])), strict=True))
    if not isinstance(state, dict):
        return f"a state is a dict, got {type(state).__name__}"
    if set(state) != set(KEYS):
        return f"a state has exactly the keys {list(KEYS)}, got {sorted(state)}"
    for key in KEYS:
        value, want = state[key], expected[key]
        dtype = np.float64 if key == "bin_confidence" else np.int64
        if not isinstance(value, np.ndarray) or value.dtype != dtype or value.shape != want.shape:
            return (f"state[{key!r}] must be a numpy {np.dtype(dtype).name} array of shape {want.shape}, got "
                    f"{type(value).__name__} {getattr(value, 'dtype', '')} {getattr(value, 'shape', '')}")
        same = (np.array_equal(value, want) if key in INT_KEYS
                else np.allclose(value, want, rtol=SUM_RTOL, atol=SUM_ATOL))
        if not same:
            return f"state[{key!r}] differs:\n    expected: {want!r}\n    yours:    {value!r}"
    return None


def state_equal(yours, expected):
    return state_problem(yours, expected) is None


state_equal.__doc__ = f"same state: int arrays exact, bin_confidence within rtol={SUM_RTOL}, atol={SUM_ATOL}"


def _is_int(value):
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_float(value):
    return isinstance(value, float | np.floating) and np.ndim(value) == 0


def metrics_problem(metrics, expected) -> str | None:
    if not isinstance(metrics, dict) or set(metrics) != {"count", "accuracy", "ece"}:
        return f"compute_metrics returns a dict with the keys count, accuracy and ece, got {metrics!r}"
    if not _is_int(metrics["count"]) or metrics["count"] != expected["count"]:
        return f"count: expected {expected['count']!r}, yours {metrics['count']!r}"
    for key in ("accuracy", "ece"):
        value = metrics[key]
        if not _is_float(value) or not math.isclose(float(value), expected[key], rel_tol=RTOL, abs_tol=ATOL):
            return f"{key}: expected {expected[key]!r}, yours {value!r}"
    return None


def metrics_equal(yours, expected):
    return metrics_problem(yours, expected) is None


metrics_equal.__doc__ = f"same metrics: count exact, accuracy and ece within rtol={RTOL}, atol={ATOL}"


def assert_state(state, expected, what):
    __tracebackhide__ = True
    problem = state_problem(state, expected)
    if problem is not None:
        raise AssertionError(f"{what}: {problem}")


def assert_metrics(metrics, expected, what):
    __tracebackhide__ = True
    problem = metrics_problem(metrics, expected)
    if problem is not None:
        raise AssertionError(f"{what}: {problem}")


# ---- fixed cases, cheapest first --------------------------------------------------------------

def test_docstring_example(kata):
    state = kata.init_state(3, num_bins=4)
    state = kata.update_state(state, DOC_Y[:2], DOC_P[:2])
    state = kata.update_state(state, DOC_Y[2:], DOC_P[2:])
    expected = {"confusion": np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0]]), "bin_count": np.array([0, 0, 3, 0]),
                "bin_correct": np.array([0, 0, 1, 0]), "bin_confidence": np.array([0.0, 0.0, 1.7, 0.0])}
    assert_state(state, expected, "the docstring example")
    assert_metrics(kata.compute_metrics(state), {"count": 3, "accuracy": 1 / 3, "ece": 0.7 / 3},
                   "the docstring example")
    left = kata.update_state(kata.init_state(2, 2), [0], [[0.9, 0.1]])
    right = kata.update_state(kata.init_state(2, 2), [0], [[0.4, 0.6]])
    assert np.array_equal(kata.merge_states(left, right)["confusion"], [[1, 1], [0, 0]])


@pytest.mark.parametrize("num_classes, num_bins", [(2, 1), (2, 10), (5, 3), (3, 15)])
def test_init_state(kata, num_classes, num_bins):
    state = kata.init_state(num_classes, num_bins)
    zeros = {"confusion": np.zeros((num_classes, num_classes), dtype=np.int64),
             "bin_count": np.zeros(num_bins, dtype=np.int64), "bin_correct": np.zeros(num_bins, dtype=np.int64),
             "bin_confidence": np.zeros(num_bins)}
    assert_state(state, zeros, f"init_state({num_classes}, {num_bins})")


def test_default_number_of_bins_is_ten(kata):
    state = kata.init_state(4)
    assert_state(state, {"confusion": np.zeros((4, 4), dtype=np.int64), "bin_count": np.zeros(10, dtype=np.int64),
                         "bin_correct": np.zeros(10, dtype=np.int64), "bin_confidence": np.zeros(10)},
                 "init_state(4)")


@pytest.mark.parametrize("num_bins, confidence, expected_bin", [
    (4, 0.25, 1), (4, 0.5, 2), (4, 0.75, 3), (4, 1.0, 3), (4, 255 / 1024, 0), (4, 0.0, 0),
    (8, 0.375, 3), (8, 0.999, 7), (1, 1.0, 0), (1, 0.5, 0), (2, 0.5, 1), (2, 0.4990234375, 0),
    (10, 0.5, 5), (10, 1.0, 9), (16, 0.0625, 1),
], ids=lambda v: repr(v))
def test_binning_at_and_near_the_edges(kata, num_bins, confidence, expected_bin):
    """Bins are [k/B, (k+1)/B): an inner edge belongs to the bin above it; 1.0 is in the last bin."""
    row = [confidence, 0.0, 0.0, 0.0]  # rows need not sum to 1; the first column is the largest
    state = kata.update_state(kata.init_state(4, num_bins), [0], [row])
    counts = np.zeros(num_bins, dtype=np.int64)
    counts[expected_bin] = 1
    assert isinstance(state, dict) and "bin_count" in state, f"update_state must return a state dict, got {state!r}"
    assert np.array_equal(state["bin_count"], counts), (
        f"a confidence of {confidence!r} with {num_bins} bins belongs in bin {expected_bin} "
        f"(bin k holds [k/{num_bins}, (k+1)/{num_bins}); 1.0 is in the last bin); yours counted it in "
        f"{state['bin_count'].tolist()}")


def test_ties_predict_the_lowest_class(kata):
    probs = [[0.5, 0.5, 0.0], [0.25, 0.375, 0.375], [0.25, 0.25, 0.5], [0.25, 0.25, 0.25]]
    state = kata.update_state(kata.init_state(3, 4), [1, 2, 2, 0], probs)
    expected = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 1]])
    assert_state(state, exact_state(3, 4, [1, 2, 2, 0], probs), "tied probabilities")
    assert np.array_equal(state["confusion"], expected)


def test_confidence_is_the_largest_probability_not_the_true_class_probability(kata):
    probs = [[0.75, 0.25], [0.125, 0.875], [0.5, 0.5]]
    state = kata.update_state(kata.init_state(2, 4), [1, 0, 1], probs)
    assert_state(state, exact_state(2, 4, [1, 0, 1], probs), "every prediction wrong, confidences 0.75, 0.875, 0.5")
    assert_metrics(kata.compute_metrics(state), {"count": 3, "accuracy": 0.0, "ece": (0.75 + 0.875 + 0.5) / 3},
                   "every prediction wrong")


def assert_new_state(result, sources, what):
    """The docstrings promise a new dict with new arrays: nothing shared with the states given."""
    __tracebackhide__ = True
    for source in sources:
        assert result is not source, f"{what} returned the state it was given; return a new dict"
        for key in KEYS:
            if key in result and isinstance(result[key], np.ndarray) and isinstance(source.get(key), np.ndarray):
                assert not np.shares_memory(result[key], source[key]), (
                    f"{what}: state[{key!r}] shares its memory with the state it was given; return new arrays "
                    f"(a caller who updates one in place would change the other)")


def test_empty_batch_counts_nothing(kata):
    state = kata.update_state(kata.init_state(3, 4), DOC_Y, DOC_P)
    for labels, probs in (([], np.zeros((0, 3))), (np.zeros(0, dtype=np.int64), np.zeros((0, 3)))):
        after = kata.update_state(state, labels, probs)
        assert_state(after, state, "an empty batch")
        assert_new_state(after, [state], "update_state with an empty batch")


def test_metrics_of_nothing_are_zero(kata):
    metrics = kata.compute_metrics(kata.init_state(3, 5))
    assert_metrics(metrics, {"count": 0, "accuracy": 0.0, "ece": 0.0}, "no examples counted")


def test_empty_bins_contribute_nothing(kata):
    probs = [[1.0, 0.0], [0.0, 1.0], [0.75, 0.25]]
    state = kata.update_state(kata.init_state(2, 10), [0, 0, 0], probs)
    metrics = kata.compute_metrics(state)
    assert_metrics(metrics, {"count": 3, "accuracy": 2 / 3, "ece": (1.0 + 0.25) / 3},
                   "eight of ten bins are empty; they must not turn the ECE into NaN")


def test_metrics_weight_bins_by_their_size(kata):
    # Bin 3 (4 bins): 3 examples, all right, confidence 0.75 -> gap 0.25 each. Bin 2: 1 example, wrong, 0.5.
    probs = [[0.75, 0.25]] * 3 + [[0.5, 0.5]]
    state = kata.update_state(kata.init_state(2, 4), [0, 0, 0, 1], probs)
    assert_metrics(kata.compute_metrics(state), {"count": 4, "accuracy": 0.75, "ece": (3 * 0.25 + 0.5) / 4},
                   "ECE weighs each bin's gap by the share of examples in the bin")


# ---- not modifying the state ------------------------------------------------------------------

def test_update_and_merge_leave_their_states_alone(kata):
    state = kata.update_state(kata.init_state(3, 4), DOC_Y, DOC_P)
    before = {key: value.copy() for key, value in state.items()}
    kata.update_state(state, [1, 1], [[0.125, 0.75, 0.125], [0.5, 0.25, 0.25]])
    assert_state(state, before, "update_state modified the state it was given; return a new one")
    other = kata.update_state(kata.init_state(3, 4), [2], [[0.0, 0.0, 1.0]])
    other_before = {key: value.copy() for key, value in other.items()}
    merged = kata.merge_states(state, other)
    assert_state(state, before, "merge_states modified its first state; return a new one")
    assert_state(other, other_before, "merge_states modified its second state; return a new one")
    kata.update_state(merged, [0], [[1.0, 0.0, 0.0]])
    assert_state(state, before, "updating a merged state changed one of the states merged into it (shared arrays)")
    assert_new_state(kata.update_state(state, [0], [[1.0, 0.0, 0.0]]), [state], "update_state")
    assert_new_state(merged, [state, other], "merge_states")
    empty = kata.init_state(3, 4)
    assert_new_state(kata.merge_states(state, empty), [state, empty], "merge_states with an empty state")
    assert_new_state(kata.merge_states(empty, state), [state, empty], "merge_states with an empty state")
    metrics_state = {key: value.copy() for key, value in merged.items()}
    kata.compute_metrics(merged)
    assert_state(merged, metrics_state, "compute_metrics modified the state")


# ---- invalid input ----------------------------------------------------------------------------

@pytest.mark.parametrize("num_classes, num_bins", [(1, 10), (0, 10), (3, 0), (3, -2)])
def test_init_state_rejects_invalid_sizes(kata, num_classes, num_bins):
    with pytest.raises(ValueError):
        kata.init_state(num_classes, num_bins)


INVALID = {
    "2-D labels": (np.array([[0], [1]]), [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]),
    "1-D probs": ([0], [0.5, 0.25, 0.25]),
    "too few columns": ([0, 1], [[0.5, 0.5], [0.25, 0.75]]),
    "too many columns": ([0], [[0.5, 0.25, 0.125, 0.125]]),
    "fewer labels than rows": ([0], [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]),
    "more labels than rows": ([0, 1, 2], [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]),
    "label -1": ([0, -1], [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]),
    "label 3": ([3], [[0.5, 0.25, 0.25]]),
    "NaN probability": ([0], [[float("nan"), 0.5, 0.5]]),
    "probability above 1": ([0], [[1.5, 0.25, 0.25]]),
    "negative probability": ([1], [[-0.25, 1.0, 0.25]]),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_update_state_rejects_invalid_input(kata, case):
    labels, probs = INVALID[case]
    with pytest.raises(ValueError):
        kata.update_state(kata.init_state(3, 4), labels, probs)


@pytest.mark.parametrize("other", [(2, 4), (3, 5), (4, 2), (3, 1)])
def test_merge_states_rejects_different_sizes(kata, other):
    with pytest.raises(ValueError):
        kata.merge_states(kata.init_state(3, 4), kata.init_state(*other))


# ---- generated data ---------------------------------------------------------------------------

@st.composite
def probability_rows(draw, num_classes, denominator):
    """One row: a random split of 1 into multiples of 1/denominator, one-hot, or two classes tied."""
    kind = draw(st.sampled_from(("split", "split", "one-hot", "tie")))
    if kind == "one-hot":
        row = [0] * num_classes
        row[draw(st.integers(0, num_classes - 1))] = denominator
    elif kind == "tie":
        first, second = sorted(draw(st.lists(st.integers(0, num_classes - 1), min_size=2, max_size=2, unique=True)))
        row = [0] * num_classes
        row[first] = row[second] = denominator // 2
    else:
        cuts = sorted(draw(st.lists(st.integers(0, denominator), min_size=num_classes - 1,
                                    max_size=num_classes - 1)))
        row = [b - a for a, b in zip([0, *cuts], [*cuts, denominator], strict=True)]
    return [v / denominator for v in row]


@st.composite
def datasets(draw, max_examples=40):
    """(num_classes, num_bins, labels, probs), in one of several input forms."""
    num_classes = draw(st.integers(2, 5), label="num_classes")
    denominator = draw(st.sampled_from((63, 64)), label="probabilities in multiples of 1/")
    num_bins = draw(st.sampled_from(BINS_63 if denominator == 63 else BINS_64), label="num_bins")
    n = draw(st.integers(0, max_examples), label="n")
    rows = draw(st.lists(probability_rows(num_classes, denominator), min_size=n, max_size=n), label="probs")
    labels = draw(st.lists(st.integers(0, num_classes - 1), min_size=n, max_size=n), label="labels")
    form = draw(st.sampled_from(("arrays", "lists", "float32 probs", "int32 labels")), label="form")
    probs = np.array(rows, dtype=np.float64).reshape(n, num_classes)
    if form == "lists" and n > 0:  # an empty list of rows would be 1-D, not (0, num_classes)
        return num_classes, num_bins, labels, probs.tolist()
    if form == "float32 probs":
        return num_classes, num_bins, np.array(labels, dtype=np.int64), probs.astype(np.float32)
    if form == "int32 labels":
        return num_classes, num_bins, np.array(labels, dtype=np.int32), probs
    return num_classes, num_bins, np.array(labels, dtype=np.int64), probs


def cut_into_batches(num_classes, labels, probs, cuts):
    """Batches between sorted cut points (a repeated cut gives an empty batch)."""
    n = len(labels)
    table = np.asarray(probs).reshape(n, num_classes)
    bounds = [0, *sorted(min(c, n) for c in cuts), n]
    return [(labels[a:b], table[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _full_probs(num_classes, probs):
    return np.asarray(probs, dtype=np.float64).reshape(-1, num_classes)


# Each generated test first calls the kata once on a fixed input: an unfinished stub is then
# reported as todo at once, instead of after Hypothesis has searched and shrunk its way there.

def test_update_state_matches_reference(differential, kata, reference):
    kata.update_state(kata.init_state(3, 4), DOC_Y, DOC_P)

    @settings(max_examples=100)
    @given(data=datasets(), cut=st.integers(0, 40))
    def check(data, cut):
        num_classes, num_bins, labels, probs = data
        # Count the data up to the cut with the reference, then ask for the rest as one batch.
        (first_labels, first_probs), _ = cut_into_batches(num_classes, labels, probs, [cut])
        start = reference.update_state(reference.init_state(num_classes, num_bins), first_labels, first_probs)
        rest_labels, rest_probs = labels[min(cut, len(labels)):], probs[min(cut, len(labels)):]
        if len(rest_labels) == 0 and isinstance(rest_probs, list):
            rest_probs = np.zeros((0, num_classes))  # [] would be 1-D, not (0, num_classes)
        differential("update_state", start, rest_labels, rest_probs, equal=state_equal)

    check()


def test_compute_metrics_and_merge_match_reference(differential, kata, reference):
    kata.compute_metrics(kata.init_state(3, 4))

    @settings(max_examples=100)
    @given(data=datasets(), cut=st.integers(0, 40))
    def check(data, cut):
        num_classes, num_bins, labels, probs = data
        halves = cut_into_batches(num_classes, labels, probs, [cut])
        (first_labels, first_probs), (second_labels, second_probs) = halves
        empty = reference.init_state(num_classes, num_bins)
        first = reference.update_state(empty, first_labels, first_probs)
        second = reference.update_state(empty, second_labels, second_probs)
        differential("merge_states", first, second, equal=state_equal)
        differential("compute_metrics", reference.merge_states(first, second), equal=metrics_equal)

    check()


def test_any_batching_gives_the_full_data_result(kata):
    """Feeding the data batch by batch, cut anywhere, equals the exact full-data state and metrics."""
    kata.update_state(kata.init_state(3, 4), DOC_Y, DOC_P)

    @settings(max_examples=100)
    @given(data=datasets(), cuts=st.lists(st.integers(0, 40), max_size=6))
    def check(data, cuts):
        num_classes, num_bins, labels, probs = data
        full = _full_probs(num_classes, probs)
        expected = exact_state(num_classes, num_bins, [int(v) for v in labels], full.tolist())
        state = kata.init_state(num_classes, num_bins)
        for batch_labels, batch_probs in cut_into_batches(num_classes, labels, probs, cuts):
            state = kata.update_state(state, batch_labels, batch_probs)
        assert_state(state, expected, f"after the data in batches cut at {sorted(cuts)}")
        assert_metrics(kata.compute_metrics(state), exact_metrics(*expected), "metrics of the batched state")

    check()


def test_merging_in_any_order_gives_the_full_data_result(kata):
    """States of separate shards, merged pairwise in a random order, equal the full-data state."""
    kata.merge_states(kata.init_state(3, 4), kata.init_state(3, 4))

    @settings(max_examples=60)
    @given(data=datasets(), cuts=st.lists(st.integers(0, 40), min_size=1, max_size=6), seed=st.integers(0, 2**16))
    def check(data, cuts, seed):
        num_classes, num_bins, labels, probs = data
        full = _full_probs(num_classes, probs)
        expected = exact_state(num_classes, num_bins, [int(v) for v in labels], full.tolist())
        shards = [kata.update_state(kata.init_state(num_classes, num_bins), batch_labels, batch_probs)
                  for batch_labels, batch_probs in cut_into_batches(num_classes, labels, probs, cuts)]
        rng = np.random.default_rng(seed)
        while len(shards) > 1:
            i, j = sorted(rng.choice(len(shards), size=2, replace=False))
            merged = kata.merge_states(shards[i], shards[j]) if rng.random() < 0.5 else \
                kata.merge_states(shards[j], shards[i])
            shards = [s for k, s in enumerate(shards) if k not in (i, j)] + [merged]
        assert_state(shards[0], expected, f"after merging the states of shards cut at {sorted(cuts)}")
        assert_metrics(kata.compute_metrics(shards[0]), exact_metrics(*expected), "metrics of the merged state")

    check()
