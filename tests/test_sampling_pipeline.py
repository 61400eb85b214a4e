"""Tests for sampling_pipeline: temperature, top-k and top-p, then a seeded draw.

The filters have one right answer, checked exactly (up to the rounding of logits / temperature)
against the reference solution through `differential`, against Hugging Face's
TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper where transformers is
installed, and on hand-made cases that only the right ORDER of the three steps passes. As in
the top_p kata, generated inputs keep every running total of probability more than 1e-5 away
from top_p, where correct answers that round differently may disagree; the boundary itself
is tested with exact powers of two.

The draws are deliberately NOT compared with the reference draw by draw. That would fix one
sampling algorithm and one way of consuming the generator (torch.multinomial's), and reject
exact samplers that work differently: an inverse-CDF draw from torch.rand, the Gumbel-max
trick. What the docstring fixes, and the tests check, is:

- the support, exactly: a filtered token is never drawn, and top_k=1 always gives the argmax;
- the distribution, statistically: 12,000 draws with a fixed seed pass a chi-square
  goodness-of-fit test against the filtered distribution (computed here in float64) at
  p > 1e-6. The seed is fixed, so the verdict is deterministic for a given implementation; a
  correct sampler fails it with probability 1e-6 per check, and every wrong distribution
  among the pitfalls lands many orders of magnitude below that;
- reproducibility: the same seed gives the same tokens, successive calls on one generator
  continue its stream, and torch's global random state is left alone.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from katakit.testing import close, describe

NEG_INF = float("-inf")
MARGIN = 1e-5  # how far every running total must stay from top_p in the generated cases
EXACT_PROBS = (0.5, 0.25, 0.125, 0.0625, 0.0625)  # powers of two: sums and softmax are exact
DRAWS = 12_000
P_VALUE_FLOOR = 1e-6
SCALED = close(rtol=1e-6, atol=1e-12)  # logits / temperature and logits * (1 / temperature) may differ by an ulp


# ---- the tests' own float64 pipeline ------------------------------------------------------------

def scaled_and_top_k(logits, temperature, top_k):
    scaled = logits.double() / temperature
    if 0 < top_k < scaled.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, NEG_INF)
    return scaled


def expected_warp(logits, temperature=1.0, top_k=0, top_p=1.0):
    """The filtered, scaled logits in float64: -inf exactly where a token is filtered."""
    scaled = scaled_and_top_k(logits, temperature, top_k)
    if top_p >= 1.0:
        return scaled
    probs, order = scaled.softmax(dim=-1).sort(dim=-1, descending=True)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., 0] = True
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return scaled.masked_fill(~keep, NEG_INF)


def clear_of_rounding(logits, temperature, top_k, top_p):
    """True when no token top-p decides about has a mass above it within MARGIN of top_p."""
    if top_p >= 1.0:
        return True
    probs = scaled_and_top_k(logits, temperature, top_k).softmax(dim=-1).sort(dim=-1, descending=True).values
    above = (probs.cumsum(dim=-1) - probs)[..., 1:]
    return bool(((above - top_p).abs() > MARGIN).all())


def as_dtype_of(expected, logits):
    return expected.to(logits.dtype)


# ---- generated inputs ---------------------------------------------------------------------------

@st.composite
def logits_cases(draw, batch_axes=(0, 1, 2)):
    """float32 or float64 logits of shape (*batch, vocab), vocab 1..12, distinct multiples of 1/4 per slice."""
    n_batch = draw(st.sampled_from(batch_axes))
    batch = draw(st.lists(st.integers(1, 3), min_size=n_batch, max_size=n_batch))
    vocab = draw(st.integers(1, 12))
    row = st.lists(st.integers(-24, 24), min_size=vocab, max_size=vocab, unique=True)
    rows = draw(st.lists(row, min_size=math.prod(batch), max_size=math.prod(batch)))
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    return (torch.tensor(rows, dtype=torch.float64) / 4).to(dtype).reshape(*batch, vocab)


temperatures = st.one_of(st.sampled_from((0.5, 1.0, 2.0)), st.floats(0.1, 5.0))
top_ks = st.integers(0, 14)
top_ps = st.one_of(st.sampled_from((0.1, 0.5, 0.9, 1.0)), st.floats(0.0, 1.0, exclude_min=True))


def exact_logits(order=(0, 1, 2, 3, 4), dtype=torch.float32):
    return torch.log(torch.tensor([EXACT_PROBS[i] for i in order], dtype=dtype))


def assert_warp(out, expected, what):
    __tracebackhide__ = True
    assert SCALED(out, expected), f"{what}\n  expected: {describe(expected)}\n  yours:    {describe(out)}"


# ---- invalid settings: cheap, first -------------------------------------------------------------

@pytest.mark.parametrize("top_p", [0, 0.0, -0.25, 1.5, float("nan")], ids=["0", "0.0", "-0.25", "1.5", "nan"])
def test_top_p_filter_rejects_top_p_outside_zero_one(kata, top_p):
    with pytest.raises(ValueError):
        kata.top_p_filter(torch.tensor([1.0, 2.0, 3.0]), top_p)


INVALID_SETTINGS = [
    {"temperature": 0.0}, {"temperature": -1.0}, {"temperature": float("nan")}, {"temperature": float("inf")},
    {"top_k": -1}, {"top_k": 2.5}, {"top_p": 0.0}, {"top_p": 1.25}, {"top_p": float("nan")},
]


@pytest.mark.parametrize("settings_", INVALID_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_invalid_settings_raise_value_error(kata, settings_):
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError):
        kata.warp_logits(logits, **settings_)
    with pytest.raises(ValueError):
        kata.sample_next_token(logits, torch.Generator().manual_seed(0), **settings_)


def test_whole_numbers_are_valid_settings(kata):
    # The docstring asks for numbers, not floats: temperature=2 and top_p=1 are as valid as 2.0 and 1.0.
    logits = torch.tensor([[2.0, 1.0, 3.0, 0.0]])
    out = kata.warp_logits(logits, temperature=2, top_k=2, top_p=1)
    assert_warp(out, torch.tensor([[1.0, NEG_INF, 1.5, NEG_INF]]),
                "warp_logits(temperature=2, top_k=2, top_p=1): whole numbers are valid settings")
    draws = kata.sample_next_token(logits, torch.Generator().manual_seed(0), temperature=2, top_k=1, top_p=1)
    assert draws.tolist() == [2], f"temperature=2, top_k=1, top_p=1 must draw the argmax [2], got {draws.tolist()}"


# ---- top_p_filter: the boundary, with exact values ----------------------------------------------

@pytest.mark.parametrize("top_p, keep", [
    (0.75, [True, True, False, False, False]),
    (0.7501, [True, True, True, False, False]),
    (0.5, [True, False, False, False, False]),
    (0.875, [True, True, True, False, False]),
    (1e-9, [True, False, False, False, False]),
    (1e-300, [True, False, False, False, False]),
], ids=["exactly-0.75", "just-above-0.75", "exactly-0.5", "exactly-0.875", "tiny", "zero-in-float32"])
def test_top_p_filter_exact_boundaries(kata, top_p, keep):
    logits = exact_logits((2, 0, 4, 1, 3))
    expected = logits.masked_fill(~torch.tensor([keep[i] for i in (2, 0, 4, 1, 3)]), NEG_INF)
    out = kata.top_p_filter(logits, top_p)
    assert_warp(out, expected,
                f"top_p_filter with probabilities {[EXACT_PROBS[i] for i in (2, 0, 4, 1, 3)]} and top_p={top_p}: keep "
                f"a token exactly when the mass ranked above it is strictly less than top_p")


def test_top_p_filter_one_keeps_everything_in_a_new_tensor(kata):
    logits = torch.tensor([[0.0, -200.0, NEG_INF, 1.0], [2.0, 2.0, -1e4, 0.5]])
    out = kata.top_p_filter(logits, 1.0)
    assert_warp(out, torch.tensor([[0.0, -200.0, NEG_INF, 1.0], [2.0, 2.0, -1e4, 0.5]]),
                "top_p=1.0 keeps every token, even those of probability (close to) 0")
    assert out is not logits and out.untyped_storage().data_ptr() != logits.untyped_storage().data_ptr(), (
        "top_p_filter must return a new tensor, not its input or a view of it")


def test_top_p_filter_ties_keep_the_right_number(kata):
    # 0.4 is not enough for top_p = 0.5: one of the three tokens of 0.2 completes the nucleus.
    logits = torch.log(torch.tensor([[0.2, 0.4, 0.2, 0.2], [0.2, 0.2, 0.2, 0.4]]))
    out = kata.top_p_filter(logits, 0.5)
    kept = out != NEG_INF
    assert kept.sum(dim=-1).tolist() == [2, 2] and bool(kept[0, 1]) and bool(kept[1, 3]), (
        f"top_p=0.5 over probabilities 0.4 and three ties of 0.2 keeps the 0.4 and one of the 0.2s\n"
        f"  yours: {describe(out)}")
    assert torch.equal(out[kept], logits[kept]), "kept tokens keep their logits"


def test_top_p_filter_large_logits(kata):
    # Probabilities 1/8, 1/2, 1/16, 1/4, 1/16 around logits of 200: exp(200) overflows float32 (and float64 near 710).
    logits = exact_logits((2, 0, 4, 1, 3)) + 200.0
    keep = torch.tensor([True, True, False, True, False])
    for dtype, shift in ((torch.float32, 0.0), (torch.float64, 600.0)):
        shifted = logits.to(dtype) + shift
        out = kata.top_p_filter(shifted, 0.8)
        assert_warp(out, shifted.masked_fill(~keep, NEG_INF),
                    f"top_p=0.8 over logits near {200 + shift:.0f} ({dtype}): the probabilities are the same as "
                    f"near 0, so the same three tokens are kept (a softmax must not overflow)")


# ---- warp_logits: the order of the steps ----------------------------------------------------------

def test_temperature_comes_before_top_p(kata):
    logits = torch.log(torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64))
    # At temperature 3 the probabilities are about 0.43, 0.34, 0.24: two tokens reach 0.55.
    expected = torch.stack([logits[0] / 3, logits[1] / 3, torch.tensor(NEG_INF, dtype=torch.float64)])
    out = kata.warp_logits(logits, temperature=3.0, top_p=0.55)
    assert_warp(out, expected,
                "temperature=3.0, top_p=0.55: top-p works on the distribution AFTER the temperature")


def test_top_k_comes_before_top_p(kata):
    logits = torch.log(torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64))
    # Over the two tokens top-k keeps, the first has probability 4/7 >= 0.5: it is the nucleus alone.
    expected = torch.tensor([logits[0].item(), NEG_INF, NEG_INF, NEG_INF], dtype=torch.float64)
    out = kata.warp_logits(logits, top_k=2, top_p=0.5)
    assert_warp(out, expected,
                "top_k=2, top_p=0.5: top-p renormalises over the tokens top-k kept")


@pytest.mark.parametrize("top_k, keep", [
    (1, [False, False, True, True, False, True]),
    (2, [False, False, True, True, False, True]),
    (3, [False, False, True, True, False, True]),
    (4, [True, False, True, True, False, True]),
    (6, [True] * 6),
    (50, [True] * 6),
    (0, [True] * 6),
], ids=["k=1", "k=2", "k=3", "k=4", "k=vocab", "k>vocab", "k=0"])
def test_top_k_keeps_every_token_tied_with_the_kth(kata, top_k, keep):
    logits = torch.tensor([[2.0, 1.0, 3.0, 3.0, 0.0, 3.0]])
    expected = (logits / 0.5).masked_fill(~torch.tensor([keep]), NEG_INF)
    out = kata.warp_logits(logits, temperature=0.5, top_k=top_k)
    assert_warp(out, expected,
                f"top_k={top_k} at temperature 0.5 over logits {logits[0].tolist()}: keep every token whose scaled "
                f"logit is at least the top_k-th largest (ties included); top_k=0 or >= the vocabulary keeps all")


@pytest.mark.parametrize("kwargs", [{}, {"temperature": 2.0, "top_k": 2, "top_p": 0.5}], ids=["defaults", "all"])
def test_warp_logits_returns_a_new_tensor_and_leaves_the_input(kata, kwargs):
    logits = torch.tensor([[2.0, 0.5, -1.0, 1.0], [0.0, 3.0, 1.0, -2.0]])
    before = logits.clone()
    out = kata.warp_logits(logits, **kwargs)
    assert torch.equal(logits, before), "warp_logits modified its input (an in-place division?)"
    assert out is not logits and out.untyped_storage().data_ptr() != logits.untyped_storage().data_ptr(), (
        "warp_logits must return a new tensor, not its input or a view of it")


LARGE = torch.tensor([[30.0, 29.0, 27.0, 20.0], [-20.0, 25.0, 26.0, 0.0]])  # / 0.25: up to 120, exp overflows


def test_warp_logits_large_scaled_logits(kata):
    out = kata.warp_logits(LARGE, temperature=0.25, top_k=3, top_p=0.99)
    expected = torch.tensor([[120.0, 116.0, NEG_INF, NEG_INF], [NEG_INF, 100.0, 104.0, NEG_INF]])
    assert_warp(out, expected, "temperature=0.25, top_k=3, top_p=0.99 on logits up to 30 (120 once scaled): about "
                               "0.982 and 0.018 of the mass; a softmax must not overflow")


# ---- sampling: support, shapes, reproducibility ---------------------------------------------------

def test_top_k_one_is_greedy(kata):
    logits = torch.tensor([[0.5, 2.0, -1.0, 1.9], [3.0, 0.0, 2.99, -5.0], [-1.0, -2.0, -3.0, -0.5]])
    for seed in range(5):
        draws = kata.sample_next_token(logits, torch.Generator().manual_seed(seed), temperature=1.7, top_k=1)
        assert isinstance(draws, torch.Tensor) and draws.dtype == torch.long and draws.shape == (3,), (
            f"sample_next_token on logits of shape (3, 4) must return a torch.long tensor of shape (3,), got "
            f"{describe(draws)}")
        assert draws.tolist() == [1, 0, 3], f"top_k=1 must always draw the argmax [1, 0, 3], got {draws.tolist()}"


def test_never_draws_a_filtered_token(kata):
    logits = torch.tensor([0.0, NEG_INF, 1.0, NEG_INF, 2.0, -1.0, 3.0, 1.5]).repeat(2000, 1)
    draws = kata.sample_next_token(logits, torch.Generator().manual_seed(11), top_k=4, top_p=0.9)
    allowed = expected_warp(logits[0], top_k=4, top_p=0.9) != NEG_INF
    drawn = torch.unique(draws).tolist()
    assert all(bool(allowed[t]) for t in drawn), (
        f"drew tokens {drawn}; only {torch.nonzero(allowed).flatten().tolist()} survive top_k=4, top_p=0.9 "
        f"(tokens of logit -inf have probability 0 too)")


@pytest.mark.parametrize("shape", [(6,), (2, 3, 6)], ids=["1-D", "3-D"])
def test_output_shape_follows_the_batch_axes(kata, shape):
    logits = torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape) % 5
    draws = kata.sample_next_token(logits, torch.Generator().manual_seed(3), temperature=0.8)
    assert isinstance(draws, torch.Tensor) and draws.dtype == torch.long and draws.shape == shape[:-1], (
        f"for logits of shape {shape} the draws must be a torch.long tensor of shape {shape[:-1]}, got "
        f"{describe(draws)}")
    assert bool(((draws >= 0) & (draws < shape[-1])).all()), f"token ids must be in [0, {shape[-1]}): {draws}"


def test_large_logits_draw_only_kept_tokens(kata):
    batch = LARGE.repeat(500, 1)
    draws = kata.sample_next_token(batch, torch.Generator().manual_seed(5), temperature=0.25, top_p=0.99)
    assert isinstance(draws, torch.Tensor) and draws.dtype == torch.long and draws.shape == (1000,), (
        f"expected a torch.long tensor of shape (1000,), got {describe(draws)}")
    assert set(draws[0::2].tolist()) <= {0, 1} and set(draws[1::2].tolist()) <= {1, 2}, (
        f"on logits up to 30 at temperature 0.25 only tokens 0, 1 (even rows) and 1, 2 (odd rows) survive top_p=0.99; "
        f"drew {sorted(set(draws[0::2].tolist()))} and {sorted(set(draws[1::2].tolist()))}")
    greedy = kata.sample_next_token(LARGE * 10, torch.Generator().manual_seed(5), top_k=1)
    assert greedy.tolist() == [0, 2], f"top_k=1 on logits up to 300 must give the argmax [0, 2], got {greedy.tolist()}"


def broad_batch():
    return torch.tensor([0.3, -0.2, 0.1, 0.0, 0.25, -0.1, 0.05, 0.2]).repeat(200, 1)


def test_same_seed_same_tokens_and_the_global_rng_untouched(kata):
    logits = broad_batch()
    before = logits.clone()
    global_state = torch.get_rng_state()
    first = kata.sample_next_token(logits, torch.Generator().manual_seed(1234), temperature=1.3, top_p=0.95)
    assert torch.equal(torch.get_rng_state(), global_state), (
        "sample_next_token changed torch's global random state: take every random number from the generator")
    again = kata.sample_next_token(logits, torch.Generator().manual_seed(1234), temperature=1.3, top_p=0.95)
    assert torch.equal(first, again), "two generators seeded alike must give the same tokens"
    assert torch.equal(logits, before), "sample_next_token modified its input logits"


def test_generator_stream_continues_and_seeds_differ(kata):
    logits = broad_batch()
    generator = torch.Generator().manual_seed(99)
    first = kata.sample_next_token(logits, generator)
    second = kata.sample_next_token(logits, generator)
    assert not torch.equal(first, second), (
        "two calls on the same generator gave the same 200 tokens: the draws must use (and advance) the generator "
        "they are given, not reseed it")
    other = kata.sample_next_token(logits, torch.Generator().manual_seed(100))
    assert not torch.equal(first, other), "generators with different seeds gave the same 200 tokens"


# ---- generated inputs, against the reference and Hugging Face -----------------------------------

# Each test calls the kata once before Hypothesis starts: an unfinished stub then stops at once,
# instead of Hypothesis shrinking an example that fails for a reason unrelated to its data.

def test_warp_logits_matches_reference(kata, differential):
    kata.warp_logits(torch.zeros(3))

    @settings(max_examples=60)
    @given(logits=logits_cases(), temperature=temperatures, top_k=top_ks, top_p=top_ps)
    def check(logits, temperature, top_k, top_p):
        assume(clear_of_rounding(logits, temperature, top_k, top_p))
        out = differential("warp_logits", logits, temperature=temperature, top_k=top_k, top_p=top_p, equal=SCALED)
        assert_warp(out, as_dtype_of(expected_warp(logits, temperature, top_k, top_p), logits),
                    f"warp_logits(temperature={temperature}, top_k={top_k}, top_p={top_p}) on {describe(logits)}")

    check()


def test_top_p_filter_matches_reference(kata, differential):
    kata.top_p_filter(torch.zeros(3), 0.5)

    @settings(max_examples=40)
    @given(logits=logits_cases(), top_p=top_ps)
    def check(logits, top_p):
        assume(clear_of_rounding(logits, 1.0, 0, top_p))
        differential("top_p_filter", logits, top_p, equal=SCALED)

    check()


def test_warp_logits_matches_hugging_face(kata):
    kata.warp_logits(torch.zeros(3))
    transformers = pytest.importorskip("transformers", reason="Hugging Face transformers is the optional oracle")

    @settings(max_examples=30)
    @given(logits=logits_cases(batch_axes=(1,)), temperature=temperatures, top_k=top_ks, top_p=top_ps)
    def check(logits, temperature, top_k, top_p):
        assume(clear_of_rounding(logits, temperature, top_k, top_p))
        out = kata.warp_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
        scores = logits.clone()
        if temperature != 1.0:
            scores = transformers.TemperatureLogitsWarper(float(temperature))(None, scores)
        if top_k != 0:
            scores = transformers.TopKLogitsWarper(top_k)(None, scores)
        if top_p < 1.0:
            scores = transformers.TopPLogitsWarper(top_p)(None, scores)
        assert_warp(out, scores, f"differs from Hugging Face's warpers (temperature={temperature}, top_k={top_k}, "
                                 f"top_p={top_p}) on {describe(logits)}")

    check()


# ---- the distribution of the draws: last, the slowest -------------------------------------------

LOGITS_8 = torch.tensor([1.2, -0.3, 0.4, 2.0, -1.5, 0.9, 0.0, 1.6])


def assert_fits(draws, logits_row, temperature, top_k, top_p, what):
    """No filtered token drawn, and a chi-square goodness-of-fit test against the filtered distribution."""
    __tracebackhide__ = True
    probs = expected_warp(logits_row, temperature, top_k, top_p).softmax(dim=-1)
    kept = probs > 0
    drawn_filtered = sorted(set(draws[~kept[draws]].tolist()))
    assert not drawn_filtered, f"{what}: drew tokens {drawn_filtered}, which the filters remove"
    counts = torch.bincount(draws, minlength=len(probs)).double()
    n = len(draws)
    if int(kept.sum()) < 2:
        return
    statistic, p_value = stats.chisquare(counts[kept].numpy(), (probs[kept] * n).numpy())
    assert p_value > P_VALUE_FLOOR, (
        f"{what}: the {n} draws do not follow the filtered distribution (chi-square {statistic:.1f}, "
        f"p = {p_value:.2g})\n  expected frequencies: {[round(v, 4) for v in probs[kept].tolist()]}\n"
        f"  yours:                {[round(v, 4) for v in (counts[kept] / n).tolist()]}\n"
        f"  (tokens {torch.nonzero(kept).flatten().tolist()})")


@pytest.mark.parametrize("temperature, top_k, top_p", [
    (1.0, 0, 1.0), (0.7, 5, 1.0), (1.5, 0, 0.8), (1.2, 6, 0.9),
], ids=["plain softmax", "temperature+top-k", "temperature+top-p", "all three"])
def test_draws_follow_the_filtered_distribution(kata, temperature, top_k, top_p):
    batch = LOGITS_8.repeat(DRAWS, 1)
    draws = kata.sample_next_token(batch, torch.Generator().manual_seed(2024), temperature=temperature,
                                   top_k=top_k, top_p=top_p)
    assert isinstance(draws, torch.Tensor) and draws.dtype == torch.long and draws.shape == (DRAWS,), (
        f"for logits of shape ({DRAWS}, 8) the draws must be a torch.long tensor of shape ({DRAWS},), got "
        f"{describe(draws)}")
    assert_fits(draws, LOGITS_8, temperature, top_k, top_p,
                f"temperature={temperature}, top_k={top_k}, top_p={top_p}")


def test_each_row_follows_its_own_distribution(kata):
    first = torch.tensor([2.0, 1.0, 1.5, 0.5, NEG_INF, NEG_INF, NEG_INF, NEG_INF], dtype=torch.float64)
    second = torch.tensor([NEG_INF, NEG_INF, NEG_INF, NEG_INF, 0.0, 1.0, 0.3, 0.8], dtype=torch.float64)
    batch = torch.stack([first, second]).repeat(DRAWS // 2, 1)  # rows alternate: first, second, first, ...
    draws = kata.sample_next_token(batch, torch.Generator().manual_seed(77), temperature=0.9)
    assert draws.shape == (DRAWS,), f"expected {DRAWS} draws, got shape {tuple(draws.shape)}"
    assert_fits(draws[0::2], first, 0.9, 0, 1.0, "the even rows (tokens 0-3)")
    assert_fits(draws[1::2], second, 0.9, 0, 1.0, "the odd rows (tokens 4-7)")
