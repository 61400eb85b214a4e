"""Early stopping on a validation curve, with Keras' EarlyStopping rules.

A model that trains too long starts to overfit: it keeps getting better on its training
data while it gets worse on data it has not seen, and that is the data it will meet at
inference time. Early stopping watches a validation metric after every epoch and stops
training once the metric has not improved for a while; restoring the weights of the best
epoch then gives the model that generalised best.

The details decide which epoch that is. An improvement smaller than ``min_delta`` is
noise, not progress. ``patience`` is how many epochs without improvement to put up with.
And a validation loss goes down while an accuracy goes up. In this kata you replay a
whole validation curve through those rules, exactly as Keras'
``keras.callbacks.EarlyStopping(mode=..., min_delta=..., patience=...,
restore_best_weights=True)`` would see it, one epoch at a time.
One difference: Keras compares in float32, while here the values are read as float64, so
two values that differ only beyond float32's precision are still different values.
"""

from __future__ import annotations


def early_stopping(values, *, patience: int, min_delta: float = 0.0, mode: str = "min") -> tuple[int | None, int]:
    """Replay a validation curve through early stopping; return where it stops and the best epoch.

    ``values[e]`` is the metric measured at the end of epoch e (epochs count from 0). Go
    through the epochs in order, keeping the best value so far and ``wait``, the number of
    epochs since the last improvement:

    1. Epoch 0 is always an improvement, whatever its value (even NaN or infinity).
    2. A later epoch e is an improvement when, strictly,
           values[e] < best - min_delta    (mode "min": lower is better, e.g. a loss)
           values[e] > best + min_delta    (mode "max": higher is better, e.g. accuracy)
       An improvement makes values[e] the best value, e the best epoch, and resets wait
       to 0. Only an improvement changes the best value: a value below the best (in mode
       "min") by min_delta or less is not an improvement and does not become the best.
       A value equal to the best is not an improvement. A NaN value is never an
       improvement (every comparison with NaN is false), and if epoch 0 is NaN, no later
       epoch can improve on it.
    3. Any other epoch adds 1 to wait; if wait is then at least patience, training stops
       at the end of this epoch and no later value is looked at. (So patience=0 and
       patience=1 both stop at the first epoch that does not improve.)

    Args:
        values: the validation metric for each epoch, a non-empty 1-D list or array of
            real numbers (NaN and infinities allowed), read as float64. It must not be
            modified.
        patience: how many epochs without improvement to tolerate, an int >= 0.
        min_delta: the smallest change that counts as an improvement, a finite float >= 0.
        mode: "min" or "max".

    Returns:
        A tuple ``(stopped_epoch, best_epoch)``: the epoch at whose end training stops
        (an int), or None when the curve ends before patience runs out; and the best epoch
        among the epochs trained (an int): the one whose weights Keras'
        restore_best_weights=True would restore. numpy integers are accepted too.

    Raises:
        ValueError: if values is empty or not 1-D, if patience < 0, if min_delta is
            negative, NaN or infinite, or if mode is neither "min" nor "max".

    Example:
        >>> early_stopping([1.0, 0.8, 0.82, 0.79, 0.81, 0.85], patience=2)
        (5, 3)
        >>> early_stopping([1.0, 0.8, 0.82, 0.79, 0.81, 0.85], patience=2, min_delta=0.05)
        (3, 1)
        >>> early_stopping([0.5, 0.6, 0.7], patience=1, mode="max")  # never stops
        (None, 2)
    """
    raise NotImplementedError
