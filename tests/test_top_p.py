"""Tests for top_p: nucleus filtering of logits over the last axis.

The contract: a token is kept exactly when the probability mass of the tokens ranked above
it is strictly less than top_p, the min_tokens_to_keep most probable tokens are always
kept, and every other logit becomes filter_value, in a new tensor. Hugging Face's
TopPLogitsWarper is the oracle where it is installed, alongside the reference solution.

There are many correct ways to compute this (sort ascending and remove a low tail, sort
descending and keep a head, a search over the cumulative sum, a loop), and they round
differently. So the generated inputs stay clear of two knife edges on which right answers
may legitimately disagree: a running total that lands within rounding error of top_p, and
tied probabilities at the edge of the nucleus (where any of the tied tokens may be kept).
Both are tested separately, with exact values and with checks that accept every valid choice.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from katakit.testing import describe, exact

NEG_INF = float("-inf")
FILTER_VALUES = (NEG_INF, -1e4, 0.0)
MARGIN = 1e-5  # how far every running total must stay from top_p in the generated cases

# Probabilities that are powers of two: their logs go through a float32 softmax and a
# cumulative sum without any rounding, so the running totals hit 0.75 and 0.875 exactly.
EXACT_PROBS = (0.5, 0.25, 0.125, 0.0625, 0.0625)


# ---- generated inputs ------------------------------------------------------------------------

@st.composite
def logits_cases(draw, *, batch_axes=(0, 1, 2), distinct=True, low=-16, high=16):
    """A float32 or float64 tensor of shape (*batch, vocab), vocab 1..12.

    Logits are integers from low..high divided by 2, 4 or 8, so slices range from peaked to
    nearly flat (a flat slice is where the cut falls in the middle and mistakes show). With
    distinct=True the logits of each slice are all different (no tied probabilities).
    """
    n_batch = draw(st.sampled_from(batch_axes))
    batch = draw(st.lists(st.integers(1, 3), min_size=n_batch, max_size=n_batch))
    vocab = draw(st.integers(1, 12))
    row = st.lists(st.integers(low, high), min_size=vocab, max_size=vocab, unique=distinct)
    rows = draw(st.lists(row, min_size=math.prod(batch), max_size=math.prod(batch)))
    scale = draw(st.sampled_from((2, 4, 8)))
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    # A shift changes no probability, and k/8 + 1000 is still exact in float32, but exp() of
    # the raw logits overflows (or underflows to 0/0) unless the softmax subtracts the maximum.
    shift = draw(st.sampled_from((0, 0, 0, 1000, -1000)))
    return (torch.tensor(rows, dtype=torch.float64) / scale + shift).to(dtype).reshape(*batch, vocab)


# Mostly mid-range values, where the nucleus ends inside the slice; the extremes too.
top_ps = st.one_of(st.sampled_from((0.3, 0.5, 0.6, 0.75, 0.8, 0.9, 0.95, 1.0)), st.floats(0.05, 0.999),
                   st.floats(0.0, 1.0, exclude_min=True))


def min_tokens(vocab):
    """Usually 1 (so top_p decides), sometimes anything up to one past the vocabulary."""
    return st.one_of(st.just(1), st.integers(1, vocab + 1))


def _mass_above(logits):
    """Probabilities sorted from most to least probable, and the mass ranked above each, in float64."""
    probs = logits.double().softmax(dim=-1).sort(dim=-1, descending=True).values
    return probs, probs.cumsum(dim=-1) - probs


def _clear_of_rounding(logits, top_p, min_tokens_to_keep):
    """True when no token that top_p decides about has a mass above it within MARGIN of top_p."""
    _, above = _mass_above(logits)
    decided = above[..., min_tokens_to_keep:]
    return bool(((decided - top_p).abs() > MARGIN).all())


def _expected_counts(logits, top_p, min_tokens_to_keep):
    """How many tokens each slice keeps; this depends only on the sorted probabilities."""
    _, above = _mass_above(logits)
    vocab = logits.shape[-1]
    return (above < top_p).sum(dim=-1).clamp(min=min(min_tokens_to_keep, vocab))


# ---- against the reference, on generated inputs ----------------------------------------------

@settings(max_examples=60)
@given(logits=logits_cases(), top_p=top_ps, data=st.data())
def test_matches_reference(differential, logits, top_p, data):
    vocab = logits.shape[-1]
    k = data.draw(min_tokens(vocab), label="min_tokens_to_keep")
    fv = data.draw(st.sampled_from(FILTER_VALUES), label="filter_value")
    assume(_clear_of_rounding(logits, top_p, k))
    differential("top_p_filter", logits, top_p, min_tokens_to_keep=k, filter_value=fv, equal=exact)


# ---- ties: the count is fixed, which tied token is kept is not -------------------------------

def _check_kept_set(out, logits, fv, expected_counts):
    """Kept logits unchanged, the rest filter_value, the right count, and no dropped token above a kept one."""
    __tracebackhide__ = True
    assert isinstance(out, torch.Tensor), f"expected a torch.Tensor, got {type(out).__name__}"
    assert out.shape == logits.shape and out.dtype == logits.dtype, (
        f"expected shape {tuple(logits.shape)} and dtype {logits.dtype}, got {tuple(out.shape)} and {out.dtype}")
    kept = out != fv
    where = f"\n  input: {_show(logits)}\n  yours: {_show(out)}"
    assert torch.equal(out[kept], logits[kept]), "kept tokens must keep their original logits" + where
    counts = kept.sum(dim=-1)
    assert torch.equal(counts, expected_counts), (
        f"tokens kept per slice: expected {expected_counts.tolist()}, yours {counts.tolist()}" + where)
    lowest_kept = torch.where(kept, logits, torch.inf).amin(dim=-1)
    highest_dropped = torch.where(kept, -torch.inf, logits).amax(dim=-1)
    assert bool((lowest_kept >= highest_dropped).all()), (
        "a dropped token is more probable than a kept one; keep the most probable tokens" + where)


@settings(max_examples=50)
@given(logits=logits_cases(distinct=False, low=0, high=3), top_p=top_ps, data=st.data())
def test_ties_keep_the_right_number_of_the_most_probable_tokens(kata, logits, top_p, data):
    vocab = logits.shape[-1]
    k = data.draw(min_tokens(vocab), label="min_tokens_to_keep")
    fv = data.draw(st.sampled_from((NEG_INF, -1e4)), label="filter_value")
    assume(_clear_of_rounding(logits, top_p, k))
    out = kata.top_p_filter(logits, top_p, min_tokens_to_keep=k, filter_value=fv)
    _check_kept_set(out, logits, fv, _expected_counts(logits, top_p, k))


def test_tied_tokens_straddling_the_boundary(kata):
    # 0.4 is not enough for top_p=0.5, so one 0.2 is needed: any one of the three.
    logits = torch.log(torch.tensor([[0.2, 0.4, 0.2, 0.2], [0.2, 0.2, 0.2, 0.4]]))
    out = kata.top_p_filter(logits, 0.5)
    _check_kept_set(out, logits, NEG_INF, torch.tensor([2, 2]))


def test_tied_exact_probabilities_just_above_the_boundary(kata):
    # 0.5 + 0.25 = 0.75 exactly; top_p just above it needs one of the two tokens of 0.125.
    logits = torch.log(torch.tensor([0.125, 0.5, 0.125, 0.25]))
    out = kata.top_p_filter(logits, 0.7501)
    _check_kept_set(out, logits, NEG_INF, torch.tensor(3))


# ---- against Hugging Face's TopPLogitsWarper -------------------------------------------------

@settings(max_examples=40)
@given(logits=logits_cases(batch_axes=(1,)),
       top_p=st.one_of(st.sampled_from((0.1, 0.5, 0.75, 0.9, 0.95)), st.floats(0.0, 1.0, exclude_min=True,
                                                                                 exclude_max=True)),
       data=st.data())
def test_matches_hugging_face(kata, logits, top_p, data):
    transformers = pytest.importorskip("transformers", reason="Hugging Face transformers is the optional oracle")
    vocab = logits.shape[-1]
    k = data.draw(min_tokens(vocab), label="min_tokens_to_keep")
    fv = data.draw(st.sampled_from(FILTER_VALUES), label="filter_value")
    assume(_clear_of_rounding(logits, top_p, k))
    out = kata.top_p_filter(logits, top_p, min_tokens_to_keep=k, filter_value=fv)
    warper = transformers.TopPLogitsWarper(top_p, filter_value=fv, min_tokens_to_keep=k)
    expected = warper(torch.zeros((logits.shape[0], 1), dtype=torch.long), logits.clone())
    assert exact(out, expected), (
        f"differs from Hugging Face's TopPLogitsWarper(top_p={top_p!r}, filter_value={fv!r}, "
        f"min_tokens_to_keep={k})\n  input:    {describe(logits)}\n  expected: {describe(expected)}\n"
        f"  yours:    {describe(out)}")


# ---- the boundary itself, with exact values --------------------------------------------------

def _exact_logits(order=(0, 1, 2, 3, 4)):
    return torch.log(torch.tensor([EXACT_PROBS[i] for i in order], dtype=torch.float32))


def _masked(logits, keep, fv=NEG_INF):
    return logits.masked_fill(~torch.tensor(keep), fv)


def _show(value):
    """describe(), widened to bfloat16 tensors."""
    if isinstance(value, torch.Tensor) and value.dtype == torch.bfloat16:
        return describe(value.float()).replace("dtype=float32", "dtype=bfloat16")
    return describe(value)


def _same(out, expected):
    """exact(), widened to bfloat16, which numpy (and so exact) cannot hold."""
    if isinstance(expected, torch.Tensor) and expected.dtype == torch.bfloat16:
        return (isinstance(out, torch.Tensor) and out.dtype == expected.dtype and out.device == expected.device
                and exact(out.float(), expected.float()))
    return exact(out, expected)


def _assert_equal(out, expected, what):
    __tracebackhide__ = True
    assert _same(out, expected), f"{what}\n  expected: {_show(expected)}\n  yours:    {_show(out)}"


def test_reaching_top_p_exactly_keeps_two_of_four(kata):
    logits = torch.log(torch.tensor([0.5, 0.25, 0.125, 0.125]))
    out = kata.top_p_filter(logits, 0.75)
    _assert_equal(out, _masked(logits, [True, True, False, False]),
                  "0.5 + 0.25 reaches top_p=0.75 exactly, so the two most probable tokens are the nucleus "
                  "(a token is kept when the mass ranked above it is strictly less than top_p)")


@pytest.mark.parametrize("top_p, keep", [
    (0.75, [True, True, False, False, False]),
    (0.7501, [True, True, True, False, False]),
    (0.76, [True, True, True, False, False]),
    (0.875, [True, True, True, False, False]),
    (0.5, [True, False, False, False, False]),
    (0.5001, [True, True, False, False, False]),
], ids=["exactly-0.75", "just-above-0.75", "0.76", "exactly-0.875", "exactly-0.5", "just-above-0.5"])
def test_exact_boundaries(kata, top_p, keep):
    logits = _exact_logits()
    out = kata.top_p_filter(logits, top_p)
    _assert_equal(out, _masked(logits, keep),
                  f"probabilities {list(EXACT_PROBS)}, top_p={top_p}: keep tokens until the kept mass reaches "
                  f"top_p, including the one that crosses it, and none after it")


def test_just_above_the_last_exact_boundary_needs_one_of_the_tied_tokens(kata):
    # 0.5 + 0.25 + 0.125 = 0.875; either of the two tokens of 0.0625 completes the nucleus.
    logits = _exact_logits()
    out = kata.top_p_filter(logits, 0.8751)
    _check_kept_set(out, logits, NEG_INF, torch.tensor(4))


def test_smallest_top_p_keeps_the_most_probable_token(kata):
    logits = _exact_logits((3, 2, 0, 4, 1))
    out = kata.top_p_filter(logits, 1e-9)
    _assert_equal(out, _masked(logits, [False, False, True, False, False]),
                  "a tiny top_p still keeps the single most probable token")


# ---- batch axes: the last axis is the vocabulary, whatever comes before it -------------------

PERMUTATIONS = ((0, 1, 2, 3, 4), (4, 3, 2, 1, 0), (2, 0, 4, 1, 3), (3, 4, 1, 0, 2), (1, 3, 0, 2, 4), (4, 2, 3, 0, 1))


@pytest.mark.parametrize("shape", [(5,), (6, 5), (2, 3, 5), (1, 2, 3, 5)], ids=["1d", "2d", "3d", "4d"])
@pytest.mark.parametrize("top_p, lowest_kept", [(0.75, 0.25), (0.8, 0.125)], ids=["top_p-0.75", "top_p-0.8"])
def test_any_number_of_batch_axes(kata, shape, top_p, lowest_kept):
    rows = math.prod(shape[:-1])
    probs = torch.tensor([[EXACT_PROBS[i] for i in PERMUTATIONS[r]] for r in range(rows)]).reshape(shape)
    logits = torch.log(probs)
    out = kata.top_p_filter(logits, top_p, filter_value=-1e4)
    _assert_equal(out, logits.masked_fill(probs < lowest_kept, -1e4),
                  f"each slice along the last axis of a {len(shape)}-D input is filtered on its own "
                  f"(sort, cumulative sum and scatter all along the last axis)")


@pytest.mark.parametrize("layout", ["batch-axes-swapped", "every-other-slice", "vocab-strided", "expanded"])
def test_non_contiguous_input(kata, layout):
    # A slice of a bigger tensor, a transpose or an expand is as valid an input as any other;
    # .view(-1, vocab) fails on some of these, .reshape() and the element-wise ops do not.
    probs = torch.tensor([[EXACT_PROBS[i] for i in PERMUTATIONS[r]] for r in range(4)]).reshape(2, 2, 5)
    if layout == "batch-axes-swapped":
        logits = torch.log(probs).transpose(0, 1).contiguous().transpose(0, 1)
    elif layout == "every-other-slice":
        tall = torch.zeros(4, 2, 5)
        tall[::2] = torch.log(probs)
        logits = tall[::2]
    elif layout == "vocab-strided":
        wide = torch.zeros(2, 2, 10)
        wide[..., ::2] = torch.log(probs)
        logits = wide[..., ::2]
    else:
        probs = probs[:1, :1].expand(2, 3, 5)
        logits = torch.log(probs[:1, :1]).expand(2, 3, 5)
    assert not logits.is_contiguous()
    out = kata.top_p_filter(logits, 0.8, filter_value=-1e4)
    _assert_equal(out, logits.masked_fill(probs < 0.125, -1e4),
                  f"a non-contiguous ({layout}) input is filtered like any other")


@pytest.mark.parametrize("logits, top_p, keep", [
    ([0.0, -10.0], 0.9999, [True, False]),   # the second token has probability 4.5e-5
    ([0.0, -10.0], 0.99999, [True, True]),   # the first alone is 0.999955 < 0.99999
    ([0.0, -7.0, -30.0], 0.995, [True, False, False]),
], ids=["0.9999-drops", "0.99999-keeps", "0.995-drops"])
def test_top_p_just_below_one_still_cuts(kata, logits, top_p, keep):
    logits = torch.tensor(logits)
    out = kata.top_p_filter(logits, top_p)
    _assert_equal(out, _masked(logits, keep),
                  f"only top_p=1.0 itself keeps everything; top_p={top_p} still drops the tokens ranked "
                  f"after the total reaches it")


def test_one_dimensional_input(kata):
    logits = torch.tensor([0.5, 2.0, -1.0, 1.5], dtype=torch.float64)
    out = kata.top_p_filter(logits, 0.6)  # probabilities about 0.13, 0.58, 0.03, 0.26
    _assert_equal(out, torch.tensor([NEG_INF, 2.0, NEG_INF, 1.5], dtype=torch.float64),
                  "a 1-D tensor is a single distribution")


# ---- min_tokens_to_keep ----------------------------------------------------------------------

def test_min_tokens_to_keep_wins_over_top_p(kata):
    logits = torch.tensor([[10.0, 0.0, 0.5, -1.0, 0.25], [-1.0, 8.0, 0.75, 0.0, 2.0]])
    out = kata.top_p_filter(logits, 0.1, min_tokens_to_keep=3, filter_value=-1e4)
    expected = torch.tensor([[10.0, -1e4, 0.5, -1e4, 0.25], [-1e4, 8.0, 0.75, -1e4, 2.0]])
    _assert_equal(out, expected, "the most probable token alone passes top_p=0.1, but min_tokens_to_keep=3 "
                                 "keeps the three most probable tokens")


def test_top_p_wins_when_it_keeps_more_than_min_tokens_to_keep(kata):
    logits = _exact_logits((2, 0, 3, 1, 4))
    out = kata.top_p_filter(logits, 0.8, min_tokens_to_keep=2)
    _assert_equal(out, _masked(logits, [True, True, False, True, False]),
                  "min_tokens_to_keep is a floor, not a cap: top_p=0.8 needs three tokens here")


@pytest.mark.parametrize("k", [5, 6, 100])
def test_min_tokens_to_keep_at_or_beyond_the_vocabulary_keeps_everything(kata, k):
    logits = torch.tensor([[10.0, 0.0, 0.5, -1.0, 0.25], [-1.0, 8.0, 0.75, 0.0, 2.0]], dtype=torch.float64)
    out = kata.top_p_filter(logits, 0.1, min_tokens_to_keep=k, filter_value=0.0)
    _assert_equal(out, logits, f"min_tokens_to_keep={k} with a vocabulary of 5 keeps every token")


# ---- top_p = 1.0 keeps everything ------------------------------------------------------------

@pytest.mark.parametrize("logits", [
    torch.tensor([[2.0, 0.5, -1.0, 1.0], [0.0, 3.0, 1.0, -2.0]]),
    torch.tensor([0.0, -200.0, NEG_INF, -1e4]),
    torch.tensor([[5.0, -800.0, 4.0], [NEG_INF, 1.0, -1e-3]], dtype=torch.float64),
], ids=["ordinary", "zero-probabilities-float32", "zero-probabilities-float64"])
@pytest.mark.parametrize("fv", FILTER_VALUES, ids=["fv=-inf", "fv=-1e4", "fv=0"])
def test_top_p_one_keeps_everything(kata, logits, fv):
    out = kata.top_p_filter(logits, 1.0, min_tokens_to_keep=1, filter_value=fv)
    _assert_equal(out, logits, "top_p=1.0 keeps every token, also those whose probability is (or rounds to) 0: "
                               "the result is an unchanged copy")


# ---- a new tensor; the input is left alone ---------------------------------------------------

@pytest.mark.parametrize("top_p, k", [(1.0, 1), (0.5, 1), (0.5, 4), (0.3, 10)],
                         ids=["top_p-1", "top_p-0.5", "min_tokens-equals-vocab", "min_tokens-beyond-vocab"])
def test_returns_a_new_tensor(kata, top_p, k):
    # Also when min_tokens_to_keep keeps everything: a shortcut must return a copy there too.
    logits = torch.tensor([[2.0, 0.5, -1.0, 1.0], [0.0, 3.0, 1.0, -2.0]])
    before = logits.clone()
    out = kata.top_p_filter(logits, top_p, min_tokens_to_keep=k)
    assert out is not logits, "return a new tensor, not the input itself"
    assert out.untyped_storage().data_ptr() != logits.untyped_storage().data_ptr(), (
        "the result shares memory with the input (a view of it?); return a new tensor")
    out.fill_(7.0)
    assert exact(logits, before), "writing to the result changed the input: they share memory"


@pytest.mark.parametrize("top_p, fv", [(0.5, NEG_INF), (0.9, 0.0), (0.3, -1e4), (1.0, 0.0)])
def test_input_is_not_modified(kata, top_p, fv):
    logits = torch.tensor([[[2.0, 0.5, -1.0, 1.0], [0.0, 3.0, NEG_INF, -2.0]],
                           [[1.0, 1.5, 0.25, -0.5], [4.0, 0.0, 0.0, 3.5]]], dtype=torch.float64)
    before = logits.clone()
    kata.top_p_filter(logits, top_p, min_tokens_to_keep=1, filter_value=fv)
    _assert_equal(logits, before, "top_p_filter modified its input in place; it must leave it untouched")


# ---- shape, dtype, device --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64],
                         ids=lambda d: str(d).replace("torch.", ""))
def test_shape_dtype_and_device_are_preserved(kata, dtype):
    logits = torch.tensor([[3.0, 1.0, 0.0, -2.0], [-2.0, 0.0, 3.0, 1.0], [0.0, 0.0, 0.0, 0.0]], dtype=dtype)
    out = kata.top_p_filter(logits, 0.5, filter_value=-1e4)
    assert isinstance(out, torch.Tensor), f"expected a torch.Tensor, got {type(out).__name__}"
    assert out.dtype == dtype, f"expected dtype {dtype}, got {out.dtype}"
    assert out.shape == logits.shape, f"expected shape {tuple(logits.shape)}, got {tuple(out.shape)}"
    assert out.device == logits.device, f"expected device {logits.device}, got {out.device}"
    # Rows 1 and 2: the token of probability 0.84 is enough. Row 3: four tokens of 0.25, so any two.
    first_rows = torch.tensor([[3.0, -1e4, -1e4, -1e4], [-1e4, -1e4, 3.0, -1e4]], dtype=dtype)
    _assert_equal(out[:2], first_rows, f"filtering in {dtype}")
    _check_kept_set(out[2:], logits[2:], torch.tensor(-1e4, dtype=dtype).item(), torch.tensor([2]))


@pytest.mark.parametrize("dtype, logits", [
    (torch.float32, [[100.0, 99.0, 97.0, 90.0], [990.0, 1000.0, 997.0, 999.0]]),
    (torch.float64, [[800.0, 799.0, 797.0, 790.0], [-10.0, 0.0, -3.0, -1.0]]),
    (torch.float16, [[30.0, 29.0, 27.0, 20.0], [10.0, 20.0, 17.0, 19.0]]),
], ids=["float32", "float64", "float16"])
def test_large_logits_do_not_overflow(kata, dtype, logits):
    # Every slice is (0, -1, -3, -10) shifted, with probabilities about 0.705, 0.259, 0.035 and
    # 0.00003; exp() of the raw logits overflows in each dtype, a softmax that subtracts the
    # maximum first does not.
    logits = torch.tensor(logits, dtype=dtype)
    out = kata.top_p_filter(logits, 0.9, filter_value=-1e4)
    probs = logits.double().softmax(dim=-1)
    _assert_equal(out, logits.masked_fill(probs < 0.2, -1e4),
                  "large logits (as a model in float16 easily produces) must not overflow: softmax is "
                  "unchanged by subtracting each slice's maximum, and torch.softmax does that for you")


def test_empty_batch(kata):
    logits = torch.empty((0, 3, 5))
    out = kata.top_p_filter(logits, 0.5)
    assert isinstance(out, torch.Tensor), f"expected a torch.Tensor, got {type(out).__name__}"
    assert out.shape == logits.shape and out.dtype == logits.dtype, (
        f"a batch of no slices gives an empty result of shape {tuple(logits.shape)} and dtype {logits.dtype}, "
        f"got shape {tuple(out.shape)} and dtype {out.dtype}")


@pytest.mark.gpu
def test_stays_on_the_gpu(kata):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible; the CPU tests check the same contract")
    logits = _exact_logits((2, 0, 3, 1, 4)).repeat(3, 1).cuda()
    out = kata.top_p_filter(logits, 0.8)
    assert out.device == logits.device, f"expected device {logits.device}, got {out.device}"
    _assert_equal(out.cpu(), _masked(logits.cpu(), [[True, True, False, True, False]] * 3),
                  "filtering a tensor on the GPU")


# ---- logits that are already -inf ------------------------------------------------------------

@pytest.mark.parametrize("fv", FILTER_VALUES, ids=["fv=-inf", "fv=-1e4", "fv=0"])
def test_logits_already_minus_infinity_stay_filtered(kata, fv):
    probs = torch.tensor([[0.5, 0.0, 0.25, 0.0, 0.125, 0.125], [0.0, 0.125, 0.0, 0.25, 0.125, 0.5]])
    logits = torch.log(probs)  # log(0) is -inf
    out = kata.top_p_filter(logits, 0.6, filter_value=fv)
    _assert_equal(out, logits.masked_fill(probs < 0.25, fv),
                  "tokens of logit -inf have probability 0 and are filtered like any other token")


def test_minus_infinity_kept_by_min_tokens_to_keep_stays_minus_infinity(kata):
    logits = torch.tensor([[1.0, NEG_INF, 0.5, NEG_INF], [NEG_INF, NEG_INF, NEG_INF, 2.0]])
    out = kata.top_p_filter(logits, 0.5, min_tokens_to_keep=4, filter_value=-1e4)
    _assert_equal(out, logits, "min_tokens_to_keep=4 keeps all four tokens, so nothing is replaced")


# ---- invalid arguments -----------------------------------------------------------------------

@pytest.mark.parametrize("top_p", [0, 0.0, -0.1, 1.0000001, 1.5, float("nan")],
                         ids=["0", "0.0", "-0.1", "1.0000001", "1.5", "nan"])
def test_top_p_outside_zero_one_raises_value_error(kata, top_p):
    with pytest.raises(ValueError):
        kata.top_p_filter(torch.tensor([[1.0, 2.0, 3.0]]), top_p)


@pytest.mark.parametrize("top_p", [0.9, 1.0])
@pytest.mark.parametrize("k", [0, -1])
def test_min_tokens_to_keep_below_one_raises_value_error(kata, k, top_p):
    # Also with top_p=1.0: a shortcut that returns a copy early must still check its arguments.
    with pytest.raises(ValueError):
        kata.top_p_filter(torch.tensor([[1.0, 2.0, 3.0]]), top_p, min_tokens_to_keep=k)
