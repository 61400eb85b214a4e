"""Tests for autoregressive_order: information criteria of AR(0..maxlag) on a common sample.

statsmodels' ``ar_select_order(y, maxlag, ic=..., trend="c")`` is the oracle, for the
criteria and for the selected order; the reference solution is compared through
`differential`. Generated series are simulated from stationary AR processes and kept well
conditioned, so every correct way of solving the least-squares problems (lstsq, QR, the
normal equations) agrees with the oracle within the tolerance used here.

Two orders whose criteria are nearly equal are a knife edge: rounding alone could make two
correct answers choose differently. Generated cases keep the best criterion well clear of
the second best; the tie rule (the smaller order wins) is tested on its own, through
choose_order, with exact values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

CRITERIA = ("aic", "bic", "hqic")
RTOL = 1e-9
DOC_Y = [1.0, 3.0, 2.0, 4.0, 3.5, 5.0, 4.0, 6.5, 5.0, 7.0]
DOC_AIC = [31.35541255862728, 31.909342250861556, 10.95391459896533]


# ---- generated data ----------------------------------------------------------------------------

def ar_coefficients(partial):
    """AR coefficients from partial autocorrelations in (-1, 1); the result is always stationary."""
    phi = np.zeros(0)
    for r in partial:
        phi = np.append(phi - r * phi[::-1], r)
    return phi


def simulate(seed, n, partial, mean=0.0, sigma=1.0, burn_in=50):
    """n values of a stationary AR(len(partial)) process with the given mean and Gaussian noise."""
    rng = np.random.default_rng(seed)
    phi = [float(v) for v in ar_coefficients(partial)]
    p = len(phi)
    c = mean * (1 - sum(phi))
    noise = rng.normal(0.0, sigma, n + burn_in)
    values = [mean] * max(p, 1)
    for t in range(len(values), n + burn_in):
        values.append(c + sum(phi[i] * values[t - 1 - i] for i in range(p)) + float(noise[t]))
    return np.array(values[burn_in:])


def design(y, maxlag, p):
    n = len(y)
    return np.column_stack([np.ones(n - maxlag)] + [y[maxlag - i:n - i] for i in range(1, p + 1)])


def own_criteria(y, maxlag, ic):
    """This file's own computation, used only to keep generated cases away from near-ties."""
    y = np.asarray(y, dtype=np.float64)
    nobs = len(y) - maxlag
    penalty = {"aic": 2.0, "bic": math.log(nobs), "hqic": 2.0 * math.log(math.log(nobs))}[ic]
    values = []
    for p in range(maxlag + 1):
        x = design(y, maxlag, p)
        q, _ = np.linalg.qr(x)
        residuals = y[maxlag:] - q @ (q.T @ y[maxlag:])
        values.append(nobs * (math.log(2 * math.pi * (residuals @ residuals) / nobs) + 1) + penalty * (p + 1))
    return np.array(values)


def tolerance(y, maxlag):
    """Absolute tolerance on a criterion: it sums nobs log-terms, each good to about 1e-10."""
    return 1e-8 * (len(y) - maxlag)


def clear_winner(y, maxlag, ic):
    """True when the smallest criterion beats the next one by far more than the tolerance."""
    values = np.sort(own_criteria(y, maxlag, ic))
    return values[1] - values[0] > 1000 * tolerance(y, maxlag)


@st.composite
def series_cases(draw, criteria=CRITERIA):
    """(y, maxlag, ic): a simulated AR(0..4) series of 2 * maxlag + 2 up to 2 * maxlag + 80 values."""
    maxlag = draw(st.integers(1, 5), label="maxlag")
    n = draw(st.integers(2 * maxlag + 2, 2 * maxlag + 80), label="n")
    true_order = draw(st.integers(0, 4), label="true order")
    partial = draw(st.lists(st.floats(-0.85, 0.85), min_size=true_order, max_size=true_order), label="partial")
    mean = draw(st.floats(-3.0, 3.0), label="mean")
    sigma = draw(st.floats(0.5, 2.0), label="sigma")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    ic = draw(st.sampled_from(criteria), label="ic")
    y = simulate(seed, n, partial, mean, sigma)
    assume(np.linalg.cond(design(y, maxlag, maxlag)) < 1e3)  # rounding alone must not separate methods
    assume(clear_winner(y, maxlag, ic))
    form = draw(st.sampled_from(("array", "list")), label="form")
    return (y.tolist() if form == "list" else y), maxlag, ic


# ---- comparisons and the oracle ----------------------------------------------------------------

def criteria_equal(atol):
    def equal(yours, expected):
        return (isinstance(yours, np.ndarray) and yours.dtype == np.float64 and yours.shape == np.shape(expected)
                and bool(np.allclose(yours, expected, rtol=RTOL, atol=atol)))

    equal.__doc__ = f"same criteria: a float64 array within rtol={RTOL}, atol={atol:.1e}"
    return equal


def _is_int(value):
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def same_order(yours, expected):
    return _is_int(yours) and yours == expected


same_order.__doc__ = "the same order, an int"


def statsmodels_selection(y, maxlag, ic):
    """(criteria for p = 0..maxlag, selected order) from statsmodels' ar_select_order."""
    ar_model = pytest.importorskip("statsmodels.tsa.ar_model", reason="statsmodels is the oracle for this check")
    result = ar_model.ar_select_order(np.asarray(y, dtype=np.float64), maxlag, ic=ic, trend="c")
    by_lags = getattr(result, ic)
    values = np.array([by_lags[0 if p == 0 else tuple(range(1, p + 1))] for p in range(maxlag + 1)])
    lags = result.ar_lags
    return values, (0 if lags is None or len(lags) == 0 else int(max(lags)))


def assert_criteria(kata, y, maxlag, ic, expected, why=""):
    __tracebackhide__ = True
    yours = kata.information_criteria(y, maxlag, ic)
    assert criteria_equal(tolerance(y, maxlag))(yours, expected), (
        f"information_criteria(y, maxlag={maxlag}, ic={ic!r}) with n={len(y)}\n"
        f"  expected: {np.asarray(expected)!r}\n  yours:    {yours!r}" + (f"\n  {why}" if why else ""))


# ---- fixed cases, cheapest first ---------------------------------------------------------------

def test_docstring_examples(kata):
    assert_criteria(kata, DOC_Y, 2, "aic", DOC_AIC)
    assert same_order(kata.select_order(DOC_Y, 2, "aic"), 2)
    assert same_order(kata.select_order(DOC_Y, 2, "bic"), 2)
    assert same_order(kata.choose_order([10.5, 7.25, 8.0, 7.25]), 1)


@pytest.mark.parametrize("ic, expected", [
    ("aic", DOC_AIC),
    ("bic", [31.434854100307113, 32.068225334221225, 11.192239224004837]),
    ("hqic", [30.81961129480017, 30.83773972320734, 9.346510807484002]),
])
def test_each_criterion_on_a_short_series(kata, ic, expected):
    assert_criteria(kata, DOC_Y, 2, ic, expected, "values from statsmodels' ar_select_order(y, 2, ic, trend='c')")


def test_the_three_criteria_select_different_orders(kata):
    y = simulate(3, 60, [0.5, 0.25, 0.15], mean=1.0)
    for ic, order in (("aic", 2), ("bic", 0), ("hqic", 1)):
        expected, chosen_by_statsmodels = statsmodels_selection(y, 5, ic)
        assert chosen_by_statsmodels == order  # the case is what it says
        chosen = kata.select_order(y, 5, ic)
        assert same_order(chosen, order), f"with ic={ic!r} statsmodels selects order {order}; yours {chosen!r}"


def test_default_criterion_is_bic(kata):
    y = simulate(3, 40, [0.6, -0.3], mean=1.0)
    assert_criteria(kata, y, 3, "bic", kata.information_criteria(y, 3, "bic"))
    default = kata.information_criteria(y, 3)
    assert criteria_equal(tolerance(y, 3))(default, kata.information_criteria(y, 3, "bic")), \
        "ic defaults to 'bic', as in statsmodels"
    assert same_order(kata.select_order(y, 3), kata.select_order(y, 3, "bic"))


@pytest.mark.parametrize("criteria, expected", [
    ([10.5, 7.25, 8.0, 7.25], 1),
    ([3.0], 0),
    ([2.0, 2.0, 2.0], 0),
    ([5.0, 1.0, 1.0, 0.5, 0.5], 3),
    ([1.0, float("-inf"), 0.0, float("-inf")], 1),
    ([float("inf"), 4.0, float("inf")], 1),
    ((9.0, 8.0, 7.0), 2),
    ([5.0, 5.0 - 1e-9], 1),
    ([250.0, math.nextafter(250.0, 0.0), 251.0], 1),
    ([-40.0, -40.0 - 1e-12, -39.0], 1),
], ids=["doc", "single", "all-tied", "tie-at-the-bottom", "minus-inf", "plus-inf", "tuple", "near-tie",
        "one-ulp-below", "near-tie-negative"])
def test_choose_order_takes_the_smallest_order_at_a_tie(kata, criteria, expected):
    chosen = kata.choose_order(criteria)
    assert same_order(chosen, expected), (
        f"choose_order({criteria!r}) should be {expected} (the smallest criterion; the smallest order among "
        f"exact ties only: a criterion smaller by any amount wins), got {chosen!r}")


def test_all_orders_are_fitted_on_the_same_observations(kata):
    """AR(1) on its own sample differs from AR(1) on the sample that AR(4) leaves: the criteria differ too."""
    y = simulate(17, 30, [0.5, 0.2], mean=2.0)
    expected, _ = statsmodels_selection(y, 4, "aic")
    assert_criteria(kata, y, 4, "aic", expected,
                    "every order is fitted on y[maxlag:], the observations the largest model can use")


def test_order_zero_is_a_candidate(kata):
    y = simulate(5, 60, [], mean=-1.5, sigma=1.0)  # white noise around a mean
    expected, order = statsmodels_selection(y, 3, "bic")
    assert order == 0  # the case is what it says
    assert_criteria(kata, y, 3, "bic", expected, "p = 0 is the constant-only model")
    assert same_order(kata.select_order(y, 3, "bic"), 0), "white noise should select order 0 here"


def test_return_types(kata):
    y = simulate(8, 50, [0.7], mean=0.5)
    values = kata.information_criteria(y, 4, "hqic")
    assert isinstance(values, np.ndarray) and values.dtype == np.float64 and values.shape == (5,), \
        f"information_criteria returns a float64 array of length maxlag + 1, got {values!r}"
    assert _is_int(kata.select_order(y, 4, "hqic")), "select_order returns an int"
    assert _is_int(kata.choose_order([2.0, 1.0])), "choose_order returns an int"


def test_float32_and_integer_input_are_read_as_float64(kata):
    """A float32 array is computed in float64, as statsmodels does; integers are read as float64."""
    y32 = simulate(12, 45, [0.6, -0.3], mean=1.0).astype(np.float32)
    expected, order = statsmodels_selection(y32, 3, "hqic")
    assert_criteria(kata, y32, 3, "hqic", expected, "a float32 array is read as float64")
    integers = [int(round(4 * v)) for v in simulate(14, 40, [0.5], mean=2.0)]
    expected, order = statsmodels_selection(integers, 2, "aic")
    assert_criteria(kata, integers, 2, "aic", expected, "integers are read as float64")


def test_inputs_are_not_modified(kata):
    y = simulate(9, 30, [0.4, 0.3], mean=1.0)
    before = y.copy()
    kata.information_criteria(y, 3, "aic")
    kata.select_order(y, 3, "bic")
    assert np.array_equal(y, before) and y.dtype == np.float64, "the series was modified"
    criteria = np.array([3.0, 1.0, 2.0])
    kata.choose_order(criteria)
    assert np.array_equal(criteria, [3.0, 1.0, 2.0]), "choose_order modified its input"


# ---- invalid input -----------------------------------------------------------------------------

_GOOD = simulate(21, 20, [0.5], mean=1.0).tolist()

INVALID = {
    "2-D": (np.array(_GOOD).reshape(4, 5), 1, "aic"),
    "NaN": (_GOOD[:5] + [float("nan")] + _GOOD[6:], 2, "aic"),
    "inf": (_GOOD[:-1] + [float("inf")], 2, "bic"),
    "constant": ([2.5] * 20, 2, "aic"),
    # np.std([0.1] * 20) is 1.4e-17, not 0: a constant test must compare the values themselves.
    "constant 0.1": ([0.1] * 20, 2, "aic"),
    "constant, large": (np.full(20, 1e10 / 3), 2, "bic"),
    "2-D column": (np.array(_GOOD).reshape(-1, 1), 1, "aic"),
    "0-D array": (np.array(2.5), 1, "aic"),
    "scalar": (2.5, 1, "aic"),
    "empty": ([], 1, "aic"),
    "maxlag 0": (_GOOD, 0, "aic"),
    "maxlag -1": (_GOOD, -1, "aic"),
    "2 * maxlag + 1 values": (_GOOD[:7], 3, "aic"),
    "unknown criterion": (_GOOD, 2, "aicc"),
    "upper-case criterion": (_GOOD, 2, "AIC"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_information_criteria_rejects_invalid_input(kata, case):
    y, maxlag, ic = INVALID[case]
    with pytest.raises(ValueError):
        kata.information_criteria(y, maxlag, ic)


@pytest.mark.parametrize("case", list(INVALID))
def test_select_order_rejects_invalid_input(kata, case):
    y, maxlag, ic = INVALID[case]
    with pytest.raises(ValueError):
        kata.select_order(y, maxlag, ic)


@pytest.mark.parametrize("criteria", [[], [[1.0, 2.0]], [1.0, float("nan")], 3.0, np.array(1.5)],
                         ids=["empty", "2-D", "NaN", "scalar", "0-D array"])
def test_choose_order_rejects_invalid_input(kata, criteria):
    with pytest.raises(ValueError):
        kata.choose_order(criteria)


def test_shortest_series_is_accepted(kata):
    y = simulate(100, 8, [0.5], mean=1.5)  # exactly 2 * maxlag + 2 values for maxlag 3
    expected, order = statsmodels_selection(y, 3, "aic")
    assert_criteria(kata, y, 3, "aic", expected, "2 * maxlag + 2 observations are enough")


# ---- generated cases ---------------------------------------------------------------------------

# Each generated test first calls the kata once on a fixed input: an unfinished stub is then
# reported as todo at once, instead of after Hypothesis has searched and shrunk its way there.

def test_matches_reference(differential, kata):
    kata.information_criteria(DOC_Y, 2, "aic")
    kata.select_order(DOC_Y, 2, "aic")

    @settings(max_examples=40)
    @given(case=series_cases())
    def check(case):
        y, maxlag, ic = case
        differential("information_criteria", y, maxlag, ic, equal=criteria_equal(tolerance(y, maxlag)))
        differential("select_order", y, maxlag, ic, equal=same_order)

    check()


def test_choose_order_matches_reference(differential, kata):
    kata.choose_order([1.0, 0.0])

    @settings(max_examples=100)
    @given(values=st.lists(st.integers(-4, 4).map(float), min_size=1, max_size=8))  # many exact ties
    def check(values):
        differential("choose_order", values, equal=same_order)

    check()


def test_matches_statsmodels_ar_select_order(kata):
    kata.select_order(DOC_Y, 2, "aic")

    @settings(max_examples=20)
    @given(case=series_cases())
    def check(case):
        y, maxlag, ic = case
        expected, order = statsmodels_selection(y, maxlag, ic)
        assert_criteria(kata, y, maxlag, ic, expected, "differs from statsmodels' ar_select_order")
        chosen = kata.select_order(y, maxlag, ic)
        assert same_order(chosen, order), (
            f"select_order(y, maxlag={maxlag}, ic={ic!r}) with n={len(y)}: statsmodels selects {order}, "
            f"yours {chosen!r}")

    check()


def test_bic_never_selects_a_larger_order_than_aic(kata):
    """BIC charges more per parameter than AIC once nobs > e^2, so its choice is never the larger one."""
    kata.select_order(DOC_Y, 2, "aic")

    @settings(max_examples=30)
    @given(case=series_cases(criteria=("aic",)))
    def check(case):
        y, maxlag, _ = case
        assume(len(y) - maxlag >= 8 and clear_winner(y, maxlag, "bic"))
        by_aic, by_bic = kata.select_order(y, maxlag, "aic"), kata.select_order(y, maxlag, "bic")
        assert by_bic <= by_aic, f"BIC selected order {by_bic} but AIC order {by_aic} (n={len(y)}, maxlag={maxlag})"

    check()
