"""Known wrong answers for streaming_metrics, and correct answers written differently."""

from __future__ import annotations

import math

import numpy as np

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _batch(state, y_true, probs):
    """Checked labels and probabilities of one batch, as the reference reads them."""
    num_classes, _ = ref._sizes(state)
    ref.update_state(state, y_true, probs)  # the reference's checks (its result is not used)
    labels = np.asarray(y_true).astype(np.int64)
    return labels, np.asarray(probs, dtype=np.float64).reshape(len(labels), num_classes)


def _add(state, labels, predicted, confidence, bins):
    num_classes, num_bins = ref._sizes(state)
    new = {key: value.copy() for key, value in state.items()}
    for label, guess, c, k in zip(labels, predicted, confidence, bins, strict=True):
        new["confusion"][label, guess] += 1
        new["bin_count"][k] += 1
        new["bin_correct"][k] += int(label == guess)
        new["bin_confidence"][k] += c
    return new


# ---- update_state ------------------------------------------------------------------------------

@pitfall("update_state",
         "Bins are closed on the right, (k/B, (k+1)/B], so a confidence exactly on an inner edge lands one bin "
         "too low.")
def bins_closed_on_the_right(state, y_true, probs):
    labels, p = _batch(state, y_true, probs)
    _, num_bins = ref._sizes(state)
    predicted = p.argmax(axis=1)
    confidence = p.max(axis=1)
    bins = np.clip(np.ceil(confidence * num_bins).astype(np.int64) - 1, 0, num_bins - 1)
    return _add(state, labels, predicted, confidence, bins)


@pitfall("update_state",
         "Counts with np.bincount(minlength=num_bins + 1)[:num_bins] and no clamp, so an example of confidence "
         "1.0 falls off the end of the last bin.")
def confidence_one_falls_off(state, y_true, probs):
    labels, p = _batch(state, y_true, probs)
    num_classes, num_bins = ref._sizes(state)
    predicted = p.argmax(axis=1) if len(p) else np.zeros(0, dtype=np.int64)
    confidence = p.max(axis=1) if len(p) else np.zeros(0)
    correct = predicted == labels
    bins = np.floor(confidence * num_bins).astype(np.int64)
    confusion = state["confusion"].copy()
    np.add.at(confusion, (labels, predicted), 1)
    return {"confusion": confusion,
            "bin_count": state["bin_count"] + np.bincount(bins, minlength=num_bins + 1)[:num_bins],
            "bin_correct": state["bin_correct"]
            + np.bincount(bins, weights=correct, minlength=num_bins + 1)[:num_bins].astype(np.int64),
            "bin_confidence": state["bin_confidence"]
            + np.bincount(bins, weights=confidence, minlength=num_bins + 1)[:num_bins]}


@pitfall("update_state",
         "Takes the probability of the TRUE class as the confidence; calibration is about the probability "
         "of the PREDICTED class.")
def confidence_of_the_true_class(state, y_true, probs):
    labels, p = _batch(state, y_true, probs)
    _, num_bins = ref._sizes(state)
    predicted = p.argmax(axis=1)
    confidence = p[np.arange(len(p)), labels]
    bins = np.minimum(np.floor(confidence * num_bins).astype(np.int64), num_bins - 1)
    return _add(state, labels, predicted, confidence, bins)


@pitfall("update_state", "Fills the confusion matrix as [predicted, true] instead of [true, predicted].")
def confusion_transposed(state, y_true, probs):
    new = ref.update_state(state, y_true, probs)
    new["confusion"] = state["confusion"] + (new["confusion"] - state["confusion"]).T
    return new


@pitfall("update_state",
         "Breaks ties with argsort(...)[:, -1], which picks the HIGHEST index among equal probabilities; "
         "the predicted class is the lowest, as np.argmax gives.")
def ties_to_the_highest_class(state, y_true, probs):
    labels, p = _batch(state, y_true, probs)
    _, num_bins = ref._sizes(state)
    predicted = p.argsort(axis=1, kind="stable")[:, -1] if len(p) else np.zeros(0, dtype=np.int64)
    confidence = p[np.arange(len(p)), predicted]
    bins = np.minimum(np.floor(confidence * num_bins).astype(np.int64), num_bins - 1)
    return _add(state, labels, predicted, confidence, bins)


@pitfall("update_state",
         "Adds into the state's arrays in place with +=, so the caller's state changes and every state "
         "shares the same arrays.")
def updates_in_place(state, y_true, probs):
    batch = ref.update_state(ref.init_state(*ref._sizes(state)), y_true, probs)
    for key in ref.KEYS:
        state[key] += batch[key]
    return state


@pitfall("update_state", "Returns the counts of the new batch alone, forgetting everything the old state counted.")
def forgets_earlier_batches(state, y_true, probs):
    return ref.update_state(ref.init_state(*ref._sizes(state)), y_true, probs)


# ---- merge_states and compute_metrics ----------------------------------------------------------

@pitfall("update_state",
         "Returns the state it was given for an empty batch, so the 'new' state shares its dict and arrays with "
         "the old one.")
def empty_batch_returns_the_same_state(state, y_true, probs):
    if len(y_true) == 0:
        return state
    return ref.update_state(state, y_true, probs)


@pitfall("merge_states", "Merges with {**a, **b}, which keeps b's counts and drops a's instead of adding them.")
def dict_union_merge(a, b):
    if ref._sizes(a) != ref._sizes(b):
        raise ValueError("states differ in size")
    return {key: value.copy() for key, value in {**a, **b}.items()}


@pitfall("merge_states", "Merges in place into the first state and returns it, so the caller's state changes.")
def merges_in_place(a, b):
    if ref._sizes(a) != ref._sizes(b):
        raise ValueError("states differ in size")
    for key in ref.KEYS:
        a[key] += b[key]
    return a


@pitfall("merge_states",
         "Skips the sum when one state has counted nothing and returns the other one, arrays and all, instead of a "
         "new state.")
def merge_shortcut_for_an_empty_state(a, b):
    if a["confusion"].shape == b["confusion"].shape and a["bin_count"].shape == b["bin_count"].shape:
        if int(b["bin_count"].sum()) == 0:
            return a
        if int(a["bin_count"].sum()) == 0:
            return b
    return ref.merge_states(a, b)


@pitfall("compute_metrics",
         "Takes the plain mean of the per-bin gaps over the non-empty bins; ECE weights each bin by its "
         "share of the examples.")
def unweighted_mean_over_bins(state):
    metrics = ref.compute_metrics(state)
    filled = state["bin_count"] > 0
    if not filled.any():
        return metrics
    gaps = np.abs(state["bin_correct"][filled] - state["bin_confidence"][filled]) / state["bin_count"][filled]
    return {**metrics, "ece": float(gaps.mean())}


@pitfall("compute_metrics",
         "Divides by every bin's count without guarding the empty bins, so 0 / 0 turns the ECE into NaN.")
def nan_from_empty_bins(state):
    metrics = ref.compute_metrics(state)
    n = state["bin_count"].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = state["bin_correct"] / state["bin_count"]
        confidence = state["bin_confidence"] / state["bin_count"]
        ece = np.sum(state["bin_count"] / n * np.abs(accuracy - confidence))
    return {**metrics, "ece": float(ece)}


@pitfall("compute_metrics", "Divides the summed gaps by the number of bins instead of the number of examples.")
def divides_by_the_number_of_bins(state):
    metrics = ref.compute_metrics(state)
    if metrics["count"] == 0:
        return metrics
    gaps = np.abs(state["bin_correct"] - state["bin_confidence"])
    return {**metrics, "ece": float(gaps.sum() / len(gaps))}


# ---- correct answers written differently: the tests must accept every one of them -------------

@alternative("update_state", "A plain Python loop over the examples, binning by comparison with the bin edges.")
def python_loop_with_edges(state, y_true, probs):
    labels, p = _batch(state, y_true, probs)
    _, num_bins = ref._sizes(state)
    new = {key: value.copy() for key, value in state.items()}
    for label, row in zip(labels.tolist(), p.tolist(), strict=True):
        guess = max(range(len(row)), key=lambda j: (row[j], -j))  # the largest, the lowest index on ties
        c = row[guess]
        k = 0
        while k + 1 < num_bins and c >= (k + 1) / num_bins:
            k += 1
        new["confusion"][label, guess] += 1
        new["bin_count"][k] += 1
        new["bin_correct"][k] += label == guess
        new["bin_confidence"][k] += c
    return new


@alternative("update_state", "Bins with np.histogram on [0, 1] (its last bin is closed) and counts classes "
                             "with np.bincount on a flat index.")
def histogram_and_flat_bincount(state, y_true, probs):
    labels, p = _batch(state, y_true, probs)
    num_classes, num_bins = ref._sizes(state)
    predicted = np.argmax(p, axis=1) if len(p) else np.zeros(0, dtype=np.int64)
    confidence = np.take_along_axis(p, predicted[:, None], axis=1)[:, 0]
    correct = (predicted == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    count, _ = np.histogram(confidence, bins=edges)
    right, _ = np.histogram(confidence, bins=edges, weights=correct)
    total, _ = np.histogram(confidence, bins=edges, weights=confidence)
    flat = np.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    return {"confusion": state["confusion"] + flat.reshape(num_classes, num_classes),
            "bin_count": state["bin_count"] + count.astype(np.int64),
            "bin_correct": state["bin_correct"] + np.rint(right).astype(np.int64),
            "bin_confidence": state["bin_confidence"] + total}


@alternative("merge_states", "Folds b into a copy of a with np.add(..., out=...).")
def add_into_copies(a, b):
    if a["confusion"].shape != b["confusion"].shape or a["bin_count"].shape != b["bin_count"].shape:
        raise ValueError("the states have different sizes")
    merged = {key: np.array(value, copy=True) for key, value in a.items()}
    for key in merged:
        np.add(merged[key], b[key], out=merged[key])
    return merged


@alternative("compute_metrics", "Weights each non-empty bin's |accuracy - mean confidence| by its share, "
                                "with math.fsum.")
def weighted_per_bin(state):
    count = int(np.sum(state["bin_count"]))
    if count == 0:
        return {"count": 0, "accuracy": 0.0, "ece": 0.0}
    terms = [n / count * abs(r / n - c / n)
             for n, r, c in zip(state["bin_count"].tolist(), state["bin_correct"].tolist(),
                                state["bin_confidence"].tolist(), strict=True) if n > 0]
    return {"count": count, "accuracy": np.trace(state["confusion"]) / count, "ece": math.fsum(terms)}
