"""Evaluate a classifier over a stream of batches, with exactly the full-data result.

At inference time the predictions often arrive in batches: from a data loader, from a
serving log, from several workers at once. Keeping every prediction until the end is
often impossible, and averaging a metric computed per batch is wrong (batches differ in
size, and a ratio of sums is not a mean of ratios). The way out is to keep a small STATE
of counts and sums that simply add up, batch after batch or worker with worker, and to
compute the metrics from the state only at the end. Done right, the result is exactly the
one you would get on all the data at once, however the data was split.

Here the state tracks two things about a classifier's predicted class probabilities:

- The confusion matrix: how many examples of each true class were predicted as each class.
  Accuracy (and per-class precision and recall) follow from it.
- The expected calibration error (ECE): does a model that says "80% sure" turn out right
  80% of the time? The examples are grouped into bins by their confidence (the largest
  predicted probability), and ECE is the average gap between accuracy and confidence in
  each bin, weighted by how many examples the bin holds.
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (for your solution)


def init_state(num_classes: int, num_bins: int = 10) -> dict:
    """The state of an evaluation that has seen nothing yet.

    The state is a dict with exactly these four keys, all numpy arrays of zeros here:

        "confusion":      int64, shape (num_classes, num_classes). confusion[i, j] counts
                          the examples whose TRUE class is i and whose PREDICTED class is j
                          (rows are true classes, columns predicted classes).
        "bin_count":      int64, shape (num_bins,): the number of examples in each
                          confidence bin.
        "bin_correct":    int64, shape (num_bins,): how many of those were predicted right.
        "bin_confidence": float64, shape (num_bins,): the sum of their confidences.

    update_state explains how examples are counted and binned.

    Args:
        num_classes: the number of classes, an int of at least 2.
        num_bins: the number of equal-width confidence bins on [0, 1], an int of at least 1.

    Returns:
        A new state dict as described above.

    Raises:
        ValueError: if num_classes < 2 or num_bins < 1.

    Example:
        >>> state = init_state(3, num_bins=4)
        >>> state["confusion"].shape, state["bin_confidence"]
        ((3, 3), array([0., 0., 0., 0.]))
    """
    raise NotImplementedError


def update_state(state: dict, y_true, probs) -> dict:
    """A new state: `state` with one more batch of predictions counted in it.

    For each example (row i of probs):

    - its predicted class is the index of the largest probability in the row; when
      several are equally largest, the LOWEST such index (this is what np.argmax does);
    - its confidence is that largest probability, ``probs[i, predicted]``;
    - it is correct when the predicted class equals y_true[i];
    - its bin is ``min(floor(confidence * num_bins), num_bins - 1)``: bin k holds the
      confidences in [k / num_bins, (k + 1) / num_bins), lower edge included, upper edge
      excluded, except the last bin, which also holds a confidence of exactly 1.0.
      With 4 bins, 0.25 goes to bin 1, 0.5 to bin 2, 0.2499 to bin 0 and 1.0 to bin 3.

    Then confusion[y_true[i], predicted] grows by 1, and in the example's bin, bin_count
    grows by 1, bin_correct by 1 if it is correct, and bin_confidence by its confidence.
    An empty batch (zero rows) counts nothing: the new state equals the old one.

    Because the state only holds counts and sums, feeding the data in any batches, in any
    order, gives the same state as one call with all of it (the float sums up to rounding).

    Args:
        state: a state from init_state, update_state or merge_states. It must NOT be
            modified: return a new dict with new arrays.
        y_true: the true classes, a 1-D list or array of ints in [0, num_classes). It must
            not be modified.
        probs: the predicted probabilities, a 2-D list or array of shape
            (len(y_true), num_classes), read as float64, every value in [0, 1]. Each row is
            meant to sum to 1, but you need not check that. It must not be modified.

    Returns:
        The new state: a dict with the same keys, dtypes and shapes as `state`.

    Raises:
        ValueError: if y_true is not 1-D, if probs is not 2-D with num_classes columns, if
            they disagree on the number of examples, if a label is outside
            [0, num_classes), or if a probability is NaN or outside [0, 1].

    Example:
        >>> state = init_state(3, num_bins=4)
        >>> state = update_state(state, [0, 2], [[0.7, 0.2, 0.1], [0.3, 0.5, 0.2]])
        >>> state = update_state(state, [1], [[0.25, 0.25, 0.5]])
        >>> state["confusion"]
        array([[1, 0, 0],
               [0, 0, 1],
               [0, 1, 0]])
        >>> state["bin_count"], state["bin_correct"], state["bin_confidence"]
        (array([0, 0, 3, 0]), array([0, 0, 1, 0]), array([0. , 0. , 1.7, 0. ]))
    """
    raise NotImplementedError


def merge_states(a: dict, b: dict) -> dict:
    """The state that counts everything `a` and `b` counted, such as two workers' states.

    Every array of the result is the element-wise sum of the two states' arrays, so merging
    the states of two halves of the data gives the state of the whole.

    Args:
        a, b: states with the same num_classes and num_bins. Neither may be modified.

    Returns:
        A new state dict.

    Raises:
        ValueError: if a and b differ in num_classes or num_bins.

    Example:
        >>> left = update_state(init_state(2, 2), [0], [[0.9, 0.1]])
        >>> right = update_state(init_state(2, 2), [0], [[0.4, 0.6]])
        >>> merge_states(left, right)["confusion"]
        array([[1, 1],
               [0, 0]])
    """
    raise NotImplementedError


def compute_metrics(state: dict) -> dict:
    """Count, accuracy and expected calibration error from a state.

    With N the number of examples counted (the sum of the confusion matrix):

        accuracy = (sum of the diagonal of confusion) / N
        ece      = sum over the bins k with bin_count[k] > 0 of
                       (bin_count[k] / N) * |bin_correct[k] / bin_count[k]
                                             - bin_confidence[k] / bin_count[k]|
                 = (1 / N) * sum over all bins k of |bin_correct[k] - bin_confidence[k]|

    Empty bins contribute nothing (never NaN). When N is 0, accuracy and ece are both 0.0.

    Args:
        state: a state from init_state, update_state or merge_states. It must not be
            modified.

    Returns:
        A dict with exactly three keys: "count" (N, an int), "accuracy" (a float) and
        "ece" (a float). numpy integer and float scalars are accepted too.

    Example:
        >>> state = update_state(init_state(3, num_bins=4), [0, 2, 1],
        ...                      [[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.25, 0.25, 0.5]])
        >>> metrics = compute_metrics(state)  # one bin: 1 right of 3, confidences sum to 1.7
        >>> metrics["count"], round(metrics["accuracy"], 6), round(metrics["ece"], 6)
        (3, 0.333333, 0.233333)
    """
    raise NotImplementedError
