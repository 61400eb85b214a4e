"""Tests for early_stopping: Keras' EarlyStopping rules replayed over a validation curve.

Keras itself is the oracle: the tests drive ``keras.callbacks.EarlyStopping`` with
``restore_best_weights=True`` through its callback methods, one epoch at a time, with a
stand-in model whose "weights" are the epoch number, so the best epoch is read from the
weights Keras restores at the end. The reference solution is compared through
`differential`.

Keras compares in float32 (``current - min_delta`` against the best). Generated values and
min_delta are multiples of 1/16 of modest size, exact in float32 and float64 alike, so an
exact tie is really a tie and every way of writing the comparison agrees.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

NAN, INF = float("nan"), float("inf")
DOC_CURVE = [1.0, 0.8, 0.82, 0.79, 0.81, 0.85]


# ---- Keras as the oracle -----------------------------------------------------------------------

class StandInModel:
    """What EarlyStopping needs of a model; its weights are the number of the epoch they come from."""

    def __init__(self):
        self.stop_training = False
        self.epoch = None
        self.restored = None

    def get_weights(self):
        return [self.epoch]

    def set_weights(self, weights):
        self.restored = weights[0]


def keras_early_stopping(values, patience, min_delta, mode):
    """(stopped_epoch or None, best epoch) as Keras' EarlyStopping decides them."""
    callback = tf.keras.callbacks.EarlyStopping(monitor="val_metric", mode=mode, min_delta=min_delta,
                                                patience=patience, restore_best_weights=True)
    model = StandInModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.epoch = epoch
        callback.on_epoch_end(epoch, {"val_metric": float(value)})
        if model.stop_training:
            break
    callback.on_train_end()
    assert model.restored == callback.best_epoch  # the weights restored are the best epoch's
    return (callback.stopped_epoch if model.stop_training else None), model.restored


# ---- comparisons -------------------------------------------------------------------------------

def _is_int(value):
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def same_result(yours, expected):
    """A tuple (stopped_epoch: int or None, best_epoch: int) with the expected values."""
    if not isinstance(yours, tuple) or len(yours) != 2:
        return False
    stopped, best = yours
    if expected[0] is None:
        if stopped is not None:
            return False
    elif not _is_int(stopped) or stopped != expected[0]:
        return False
    return _is_int(best) and best == expected[1]


same_result.__doc__ = "same (stopped_epoch, best_epoch): ints, or None for stopped_epoch"


def assert_result(kata, values, expected, why="", **options):
    __tracebackhide__ = True
    yours = kata.early_stopping(values, **options)
    call = ", ".join([repr(values)] + [f"{k}={v!r}" for k, v in options.items()])
    assert same_result(yours, expected), (
        f"early_stopping({call})\n  expected (stopped_epoch, best_epoch): {expected!r}\n  yours: {yours!r}"
        + (f"\n  {why}" if why else ""))


# ---- fixed cases, cheapest first ---------------------------------------------------------------

def test_docstring_examples(kata):
    assert_result(kata, DOC_CURVE, (5, 3), patience=2)
    assert_result(kata, DOC_CURVE, (3, 1), patience=2, min_delta=0.05)
    assert_result(kata, [0.5, 0.6, 0.7], (None, 2), patience=1, mode="max")


def test_return_types(kata):
    result = kata.early_stopping(DOC_CURVE, patience=2)
    assert isinstance(result, tuple) and len(result) == 2, f"return a tuple (stopped_epoch, best_epoch), got {result!r}"
    assert _is_int(result[0]) and _is_int(result[1]), f"both epochs are ints here, got {result!r}"
    never = kata.early_stopping([3.0, 2.0, 1.0], patience=1)
    assert isinstance(never, tuple) and never[0] is None, \
        f"a curve that never stops gives stopped_epoch None, got {never!r}"


CURVES = {
    # name: (values, options, expected, why)
    "plateau": ([1.0, 0.5, 0.5, 0.5, 0.5, 0.25], {"patience": 3}, (4, 1),
                "an equal value is not an improvement, so a plateau runs out the patience"),
    "plateau-long-patience": ([1.0, 0.5, 0.5, 0.5, 0.5, 0.25], {"patience": 4}, (None, 5),
                              "patience 4 lasts through the plateau, and the last epoch improves"),
    "oscillating": ([1.0, 0.75, 0.875, 0.625, 0.75, 0.5, 0.625, 0.5625, 0.6875], {"patience": 2}, (7, 5),
                    "each dip below the best resets the wait"),
    "improves-late": ([2.0, 1.0, 1.5, 1.25, 1.125, 1.0625, 0.5, 0.25], {"patience": 5}, (None, 7),
                      "four bad epochs, then late improvements within the patience"),
    "improves-too-late": ([2.0, 1.0, 1.5, 1.25, 1.125, 1.0625, 0.5, 0.25], {"patience": 4}, (5, 1),
                          "patience runs out one epoch before the late improvement"),
    "steady-decrease": ([4.0, 3.0, 2.0, 1.0, 0.0, -1.0], {"patience": 0}, (None, 5),
                        "every epoch improves: training never stops"),
    "single-epoch": ([0.3], {"patience": 0}, (None, 0), "one epoch: it is the best, and nothing stops"),
    "patience-zero": ([1.0, 1.0, 0.5], {"patience": 0}, (1, 0),
                      "patience 0 stops at the first epoch without improvement"),
    "patience-one": ([1.0, 1.0, 0.5], {"patience": 1}, (1, 0),
                     "patience 1 also stops at the first epoch without improvement"),
    "patience-two": ([1.0, 1.0, 0.5], {"patience": 2}, (None, 2), "patience 2 waits for a second epoch"),
    "min-delta-tie": ([1.0, 0.75, 0.5, 0.375], {"patience": 1, "min_delta": 0.25}, (1, 0),
                      "a drop of exactly min_delta is not an improvement (it must be strictly more)"),
    "min-delta-small-steps": ([1.0, 0.875, 0.75, 0.625, 0.5], {"patience": 3, "min_delta": 0.25}, (None, 3),
                              "small drops do not move the best, so epoch 3 is measured against epoch 0's value"),
    "min-delta-small-steps-short": ([1.0, 0.875, 0.75, 0.625, 0.5], {"patience": 2, "min_delta": 0.25}, (2, 0),
                                    "two drops of 0.125 are not improvements against min_delta 0.25"),
    "best-is-last-significant": ([1.0, 0.5, 0.4375, 0.46875, 0.4375], {"patience": 3, "min_delta": 0.125},
                                 (4, 1), "the best epoch is the last real improvement, not the lowest value"),
    "max-mode": ([0.5, 0.625, 0.625, 0.75, 0.6875, 0.7], {"patience": 2, "mode": "max"}, (5, 3),
                 "mode max: higher is better"),
    "max-mode-min-delta": ([0.5, 0.5625, 0.75, 0.8125, 0.875], {"patience": 2, "mode": "max", "min_delta": 0.125},
                           (4, 2), "mode max with min_delta: the value must exceed best + min_delta"),
    "nan-later": ([1.0, NAN, 0.5, NAN, NAN], {"patience": 2}, (4, 2), "NaN is never an improvement"),
    "nan-first": ([NAN, 0.5, 0.25, 0.125], {"patience": 2}, (2, 0),
                  "epoch 0 is the best even when NaN, and nothing improves on NaN"),
    "inf-first": ([INF, 0.5, 0.25], {"patience": 1}, (None, 2), "anything finite improves on +inf"),
    "minus-inf": ([1.0, -INF, 0.5, -INF], {"patience": 2}, (3, 1), "nothing improves on -inf in mode min"),
}


@pytest.mark.parametrize("name", list(CURVES))
def test_fixed_curves(kata, name):
    values, options, expected, why = CURVES[name]
    assert_result(kata, values, expected, why, **options)
    # The expected answers in the table are Keras' answers.
    keras_result = keras_early_stopping(values, options["patience"], options.get("min_delta", 0.0),
                                        options.get("mode", "min"))
    assert keras_result == expected, f"this test's table disagrees with Keras ({keras_result!r}): a test bug"


@pytest.mark.parametrize("values, options, expected", [
    ([1.0, 1.0 - 2**-40, 1.0 - 2**-40, 0.5], {"patience": 2}, (None, 3)),
    ([0.5, 0.5 + 2**-40, 0.5 + 2**-40], {"patience": 2, "mode": "max"}, (None, 1)),
    ([1e-50, 0.0, 0.0], {"patience": 1}, (2, 1)),
], ids=["min", "max", "tiny"])
def test_values_are_compared_in_float64(kata, values, options, expected):
    """Keras rounds to float32 (it sees no change in 1 - 2**-40); the docstring reads the values as float64."""
    assert_result(kata, values, expected, "the values are read as float64: a change beyond float32's precision "
                  "is still a change", **options)


@pytest.mark.parametrize("form", ["array", "float32 array", "tuple", "int list"])
def test_input_forms(kata, form):
    if form == "int list":
        values, expected = [5, 4, 4, 4, 3], (3, 1)
    else:
        values = {"array": np.array(DOC_CURVE), "float32 array": np.array([1.0, 0.75, 0.875, 0.75], np.float32),
                  "tuple": tuple(DOC_CURVE)}[form]
        expected = (3, 1) if form == "float32 array" else (5, 3)
    assert_result(kata, values, expected, patience=2)


def test_input_is_not_modified(kata):
    curve, as_list = np.array([1.0, NAN, 0.5, 0.75, 0.75]), [1.0, NAN, 0.5, 0.75, 0.75]
    before = curve.copy()
    kata.early_stopping(curve, patience=1, min_delta=0.125)
    kata.early_stopping(as_list, patience=1, mode="max")
    assert np.array_equal(curve, before, equal_nan=True) and curve.dtype == np.float64, "values was modified"
    assert np.array_equal(np.array(as_list), before, equal_nan=True), "the list of values was modified"


# ---- invalid input -----------------------------------------------------------------------------

INVALID = {
    "empty": ([], {"patience": 1}),
    "2-D": ([[1.0, 0.5], [0.25, 0.125]], {"patience": 1}),
    "negative patience": ([1.0, 0.5], {"patience": -1}),
    "negative min_delta": ([1.0, 0.5], {"patience": 1, "min_delta": -0.1}),
    "NaN min_delta": ([1.0, 0.5], {"patience": 1, "min_delta": NAN}),
    "infinite min_delta": ([1.0, 0.5], {"patience": 1, "min_delta": INF}),
    "mode auto": ([1.0, 0.5], {"patience": 1, "mode": "auto"}),
    "mode MIN": ([1.0, 0.5], {"patience": 1, "mode": "MIN"}),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_rejects_invalid_input(kata, case):
    values, options = INVALID[case]
    with pytest.raises(ValueError):
        kata.early_stopping(values, **options)


# ---- generated curves --------------------------------------------------------------------------

@st.composite
def curves(draw):
    """1 to 30 epochs: a random walk or random levels in multiples of 1/16, sometimes NaN or infinite."""
    n = draw(st.integers(1, 30), label="epochs")
    steps = np.array(draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n), label="sixteenths"))
    shape = draw(st.sampled_from(("walk", "levels")), label="shape")
    values = (1.0 + np.cumsum(steps) / 16) if shape == "walk" else steps / 16
    specials = draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from((NAN, INF, -INF))), max_size=2),
                    label="special values")
    for where, special in specials:
        values[where] = special
    form = draw(st.sampled_from(("list", "array")), label="form")
    return values.tolist() if form == "list" else values


options = st.fixed_dictionaries({
    "patience": st.integers(0, 6),
    "min_delta": st.integers(0, 6).map(lambda k: k / 16),
    "mode": st.sampled_from(("min", "max")),
})


# Each generated test first calls the kata once on a fixed input: an unfinished stub is then
# reported as todo at once, instead of after Hypothesis has searched and shrunk its way there.

def test_matches_reference(differential, kata):
    kata.early_stopping(DOC_CURVE, patience=2)

    @settings(max_examples=200)
    @given(values=curves(), chosen=options)
    def check(values, chosen):
        differential("early_stopping", values, equal=same_result, **chosen)

    check()


def test_matches_keras_early_stopping(kata):
    kata.early_stopping(DOC_CURVE, patience=2)

    @settings(max_examples=150)
    @given(values=curves(), chosen=options)
    def check(values, chosen):
        expected = keras_early_stopping(values, chosen["patience"], chosen["min_delta"], chosen["mode"])
        yours = kata.early_stopping(values, **chosen)
        assert same_result(yours, expected), (
            f"differs from keras.callbacks.EarlyStopping(patience={chosen['patience']}, "
            f"min_delta={chosen['min_delta']}, mode={chosen['mode']!r}, restore_best_weights=True)\n"
            f"  values: {list(np.asarray(values, dtype=float))}\n"
            f"  keras (stopped_epoch, best_epoch): {expected!r}\n  yours: {yours!r}")

    check()


def test_stopping_and_best_epoch_are_consistent(kata):
    """Properties any answer must have: the best epoch is trained, and the stop comes patience epochs later."""
    kata.early_stopping(DOC_CURVE, patience=2)

    @settings(max_examples=100)
    @given(values=curves(), chosen=options)
    def check(values, chosen):
        stopped, best = kata.early_stopping(values, **chosen)
        n = len(values)
        last = n - 1 if stopped is None else stopped
        assert 0 <= best <= last < n, f"best_epoch {best} must be an epoch that was trained (0..{last})"
        if stopped is not None:
            assert stopped - best >= max(chosen["patience"], 1), (
                f"stopped at epoch {stopped} only {stopped - best} epochs after the best epoch {best}, "
                f"with patience {chosen['patience']}")
            truncated = kata.early_stopping(list(np.asarray(values, dtype=float)[:stopped + 1]), **chosen)
            assert same_result(truncated, (stopped, best)), (
                "the epochs after the stop must not matter: the curve cut after the stopping epoch gives "
                f"{truncated!r}, the whole curve {(stopped, best)!r}")
        else:
            assert n - 1 - best < max(chosen["patience"], 1), (
                f"the curve ran to the end, yet the last {n - 1 - best} epochs did not improve on epoch {best} "
                f"with patience {chosen['patience']}")

    check()
