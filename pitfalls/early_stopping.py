"""Known wrong answers for early_stopping, and correct answers written differently."""

from __future__ import annotations

import math

import numpy as np

from katakit.pitfalls import alternative, pitfall


def _checked(values, patience, min_delta, mode):
    curve = [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]
    if np.ndim(values) != 1 or not curve:
        raise ValueError("values must be a non-empty 1-D sequence")
    if patience < 0 or not math.isfinite(min_delta) or min_delta < 0 or mode not in ("min", "max"):
        raise ValueError("invalid patience, min_delta or mode")
    return curve


def _better(mode, min_delta):
    if mode == "min":
        return lambda value, best: value < best - min_delta
    return lambda value, best: value > best + min_delta


@pitfall("early_stopping",
         "Moves the best value to every new low, also to drops smaller than min_delta, so later epochs are "
         "measured against the wrong value.")
def best_follows_every_new_low(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    better = _better(mode, min_delta)
    lower = (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)
    best, best_epoch, wait = curve[0], 0, 0
    for epoch in range(1, len(curve)):
        if better(curve[epoch], best):
            best, best_epoch, wait = curve[epoch], epoch, 0
            continue
        if lower(curve[epoch], best):
            best = curve[epoch]
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
    return None, best_epoch


@pitfall("early_stopping", "Stops only when wait > patience, one epoch later than Keras (wait >= patience).")
def waits_one_epoch_too_long(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    better = _better(mode, min_delta)
    best, best_epoch, wait = curve[0], 0, 0
    for epoch in range(1, len(curve)):
        if better(curve[epoch], best):
            best, best_epoch, wait = curve[epoch], epoch, 0
            continue
        wait += 1
        if wait > patience:
            return epoch, best_epoch
    return None, best_epoch


@pitfall("early_stopping",
         "Counts a change of exactly min_delta (with min_delta 0: an equal value) as an improvement, so a "
         "plateau never stops training.")
def ties_count_as_improvement(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    best, best_epoch, wait = curve[0], 0, 0
    for epoch in range(1, len(curve)):
        value = curve[epoch]
        if (value <= best - min_delta) if mode == "min" else (value >= best + min_delta):
            best, best_epoch, wait = value, epoch, 0
            continue
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
    return None, best_epoch


@pitfall("early_stopping",
         "Reports the epoch of the lowest value (argmin) as the best epoch; the best epoch is the last epoch "
         "that improved by more than min_delta.")
def best_epoch_is_argmin(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    stopped, _ = early_stopping_reference(curve, patience, min_delta, mode)
    trained = np.array(curve[: (len(curve) if stopped is None else stopped + 1)])
    best = int(np.nanargmin(trained) if mode == "min" else np.nanargmax(trained)) if not np.isnan(trained).all() else 0
    return stopped, best


@pitfall("early_stopping",
         "Picks the best epoch over the whole curve, epochs after the stop included; only the epochs trained count.")
def best_epoch_over_the_whole_curve(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    stopped, best_epoch = early_stopping_reference(curve, patience, min_delta, mode)
    _, best_without_stopping = early_stopping_reference(curve, len(curve) + 1, min_delta, mode)
    return stopped, best_without_stopping


@pitfall("early_stopping",
         "In mode max tests value > best - min_delta: the sign of min_delta is flipped, so a small drop counts "
         "as an improvement.")
def max_mode_flips_min_delta(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    best, best_epoch, wait = curve[0], 0, 0
    for epoch in range(1, len(curve)):
        value = curve[epoch]
        if (value < best - min_delta) if mode == "min" else (value > best - min_delta):
            best, best_epoch, wait = value, epoch, 0
            continue
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
    return None, best_epoch


@pitfall("early_stopping",
         "Starts from best = +inf (or -inf) instead of taking epoch 0 as the best, so a NaN or infinite first "
         "epoch is not the best.")
def starts_from_infinity(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    better = _better(mode, min_delta)
    best, best_epoch, wait = (math.inf if mode == "min" else -math.inf), 0, 0
    for epoch, value in enumerate(curve):
        if better(value, best):
            best, best_epoch, wait = value, epoch, 0
            continue
        if epoch == 0:
            continue
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
    return None, best_epoch


@pitfall("early_stopping",
         "Writes the test as `if value >= best - min_delta: wait += 1 else: improve`, so a NaN (every comparison "
         "false) counts as an improvement.")
def nan_counts_as_improvement(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    best, best_epoch, wait = curve[0], 0, 0
    for epoch in range(1, len(curve)):
        value = curve[epoch]
        if (value >= best - min_delta) if mode == "min" else (value <= best + min_delta):
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
        else:
            best, best_epoch, wait = value, epoch, 0
    return None, best_epoch


@pitfall("early_stopping",
         "Never resets the wait after an improvement, so it counts every epoch without improvement since the "
         "start.")
def wait_never_reset(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    better = _better(mode, min_delta)
    best, best_epoch, wait = curve[0], 0, 0
    for epoch in range(1, len(curve)):
        if better(curve[epoch], best):
            best, best_epoch = curve[epoch], epoch
            continue
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
    return None, best_epoch


@pitfall("early_stopping",
         "Returns the number of epochs trained (the stopping epoch + 1) as stopped_epoch; epochs count from 0.")
def returns_epochs_trained(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    stopped, best_epoch = early_stopping_reference(curve, patience, min_delta, mode)
    return (None if stopped is None else stopped + 1), best_epoch


@pitfall("early_stopping",
         "Reads the values as float32, as Keras does internally, so two values that differ only beyond "
         "float32's precision compare equal; the docstring reads them as float64.")
def values_read_as_float32(values, *, patience, min_delta=0.0, mode="min"):
    _checked(values, patience, min_delta, mode)
    curve = [float(v) for v in np.asarray(values, dtype=np.float32)]
    return early_stopping_reference(curve, patience, np.float32(min_delta), mode)


def early_stopping_reference(curve, patience, min_delta, mode):
    """The right answer, for the mistakes that get one half of it right."""
    better = _better(mode, min_delta)
    best, best_epoch, wait = curve[0], 0, 0
    for epoch in range(1, len(curve)):
        if better(curve[epoch], best):
            best, best_epoch, wait = curve[epoch], epoch, 0
            continue
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
    return None, best_epoch


# ---- correct answers written differently: the tests must accept every one of them -------------

@alternative("early_stopping",
             "Negates the curve in mode max and tracks the epochs since the best instead of a wait counter.")
def negate_and_count_since_best(values, *, patience, min_delta=0.0, mode="min"):
    curve = _checked(values, patience, min_delta, mode)
    if mode == "max":
        curve = [-v for v in curve]
    best_epoch = 0
    for epoch in range(1, len(curve)):
        if curve[epoch] + min_delta < curve[best_epoch]:
            best_epoch = epoch
        elif epoch - best_epoch >= max(patience, 1):
            return epoch, best_epoch
    return None, best_epoch


@alternative("early_stopping",
             "A generator of per-epoch decisions, comparing the improvement (best - value) with min_delta, in "
             "numpy float64.")
def improvement_margin_generator(values, *, patience, min_delta=0.0, mode="min"):
    curve = np.array(values, dtype=np.float64)
    if curve.ndim != 1 or len(curve) == 0:
        raise ValueError("values must be a non-empty 1-D sequence")
    if patience < 0 or not np.isfinite(min_delta) or min_delta < 0 or mode not in ("min", "max"):
        raise ValueError("invalid patience, min_delta or mode")
    sign = 1.0 if mode == "min" else -1.0

    def decisions():
        best, best_epoch, wait = curve[0], 0, 0
        yield 0, best_epoch, False
        for epoch in range(1, len(curve)):
            with np.errstate(invalid="ignore"):  # inf - inf is NaN, which is no improvement
                margin = sign * (best - curve[epoch])  # how much this epoch improves on the best
            if margin > min_delta:
                best, best_epoch, wait = curve[epoch], epoch, 0
            else:
                wait += 1
            yield epoch, best_epoch, wait >= patience and wait > 0

    best_epoch = 0
    for epoch, best_epoch, stop in decisions():
        if stop:
            return np.int64(epoch), np.int64(best_epoch)
    return None, np.int64(best_epoch)
