"""Tests for reduce_dims: normalising score matrices by row, by column and as a whole.

The oracle is the definition computed in float64 (sum with keepdim, divide, zeros for groups
that sum to 0), then torch.nn.functional.normalize(p=1), the library's own normaliser, on
data where its epsilon cannot matter. Shapes are chosen so that a wrong axis cannot hide:
rows and columns of different lengths, batches of more than one matrix, two batch axes,
and square matrices, where a total without keepdim broadcasts without an error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from katakit.testing import close, describe, exact

OVERS = ("rows", "columns", "matrix")
SUMMED = {"rows": (-1,), "columns": (-2,), "matrix": (-2, -1)}
DTYPES = (torch.float32, torch.float64)

# Sums of up to a few dozen terms round differently in different orders (pairwise, sequential,
# fsum); a wrong axis or a missing total is off by far more than this.
TOLERANCE = {torch.float32: close(rtol=2e-5), torch.float64: close(rtol=1e-12)}


def expected(scores: torch.Tensor, over: str):
    """The definition, in float64: (normalized, totals) in the dtype of `scores`."""
    dims = SUMMED[over]
    wide = scores.to(torch.float64)
    kept = wide.sum(dim=dims, keepdim=True)
    normalized = torch.where(kept == 0, torch.zeros_like(wide), wide / torch.where(kept == 0, 1.0, kept))
    return normalized.to(scores.dtype), kept.squeeze(dims).to(scores.dtype)


def totals_shape(shape, over):
    return {"rows": shape[:-1], "columns": shape[:-2] + shape[-1:], "matrix": shape[:-2]}[over]


def check(result, scores, over, what=""):
    """`result` is a (normalized, totals) tuple of tensors that match the definition."""
    __tracebackhide__ = True
    call = f"normalize_scores(scores, {over!r}){what}\n  scores:   {describe(scores)}"
    assert isinstance(result, tuple) and len(result) == 2, (
        f"normalize_scores must return a tuple (normalized, totals), got {describe(result)}")
    normalized, totals = result
    assert normalized is not scores and totals is not scores, (
        "normalize_scores must return NEW tensors, never the `scores` object itself (not even when it is empty)")
    for name, value in (("normalized", normalized), ("totals", totals)):
        assert isinstance(value, torch.Tensor), f"{name} must be a torch.Tensor, got {type(value).__name__}"
        assert value.dtype == scores.dtype, f"{name} has dtype {value.dtype}; it must keep {scores.dtype}"
    assert normalized.shape == scores.shape, (
        f"normalized has shape {tuple(normalized.shape)}; it must have the shape of scores, {tuple(scores.shape)}")
    want = totals_shape(tuple(scores.shape), over)
    assert tuple(totals.shape) == want, (
        f"{call}\n  totals has shape {tuple(totals.shape)}; expected {want}: the summed axes are removed "
        f"(keepdim=False) and every other axis stays")
    exp_normalized, exp_totals = expected(scores, over)
    equal = TOLERANCE[scores.dtype]
    assert equal(normalized, exp_normalized), (
        f"{call}\n  expected: {describe(exp_normalized)}\n  yours:    {describe(normalized)}")
    assert equal(totals, exp_totals), (
        f"{call}\n  expected totals: {describe(exp_totals)}\n  yours:           {describe(totals)}")


# ---- the example, and shapes where a wrong axis shows ----------------------------------------

DOC_SCORES = [[1.0, 3.0], [2.0, 2.0], [0.0, 0.0]]


@pytest.mark.parametrize("over, normalized, totals", [
    ("rows", [[0.25, 0.75], [0.5, 0.5], [0.0, 0.0]], [4.0, 4.0, 0.0]),
    ("columns", [[1 / 3, 0.6], [2 / 3, 0.4], [0.0, 0.0]], [3.0, 5.0]),
    ("matrix", [[0.125, 0.375], [0.25, 0.25], [0.0, 0.0]], 8.0),
])
def test_docstring_example(kata, over, normalized, totals):
    scores = torch.tensor(DOC_SCORES, dtype=torch.float64)
    result = kata.normalize_scores(scores, over)
    check(result, scores, over)
    assert exact(result[1], torch.tensor(totals, dtype=torch.float64))
    assert close(rtol=1e-15)(result[0], torch.tensor(normalized, dtype=torch.float64))


SHAPES = [(3, 4), (4, 3), (2, 3, 4), (3, 2, 4), (2, 1, 3, 4), (3, 2, 4, 5)]


def arange_scores(shape, dtype=torch.float64):
    """Distinct positive scores whose rows, columns and matrices all have different totals."""
    count = math.prod(shape)
    return ((torch.arange(count, dtype=dtype) % 7) + 1 + torch.arange(count, dtype=dtype) / count).reshape(shape)


@pytest.mark.parametrize("over", OVERS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_batches_of_non_square_matrices(kata, shape, over):
    scores = arange_scores(shape)
    check(kata.normalize_scores(scores, over), scores, over, f" for shape {shape}")


@pytest.mark.parametrize("over", OVERS)
@pytest.mark.parametrize("shape", [(3, 3), (3, 3, 3), (2, 2, 2, 2)], ids=lambda s: "x".join(map(str, s)))
def test_square_matrices_where_wrong_axes_raise_nothing(kata, shape, over):
    # Every size equal: a total without keepdim, or from the wrong axis, broadcasts without an error here.
    scores = arange_scores(shape)
    check(kata.normalize_scores(scores, over), scores, over, f" for shape {shape}")


@pytest.mark.parametrize("over", OVERS)
def test_each_matrix_of_the_batch_is_normalised_on_its_own(kata, over):
    one = arange_scores((3, 4))
    scores = torch.stack([one, 100.0 * one.flip(0), torch.ones(3, 4, dtype=torch.float64)])
    normalized, totals = kata.normalize_scores(scores, over)
    for i in range(scores.shape[0]):
        check((normalized[i], totals[i]), scores[i], over, f" (matrix {i} of a batch of 3)")


# ---- the edges: zero groups, tiny sums, empty axes -------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("over", OVERS)
def test_groups_that_sum_to_zero_give_zeros(kata, over, dtype):
    scores = torch.tensor([[[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                           [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]], dtype=dtype)
    normalized, totals = kata.normalize_scores(scores, over)
    assert not torch.isnan(normalized).any(), (
        f"normalize_scores(scores, {over!r}) has NaN where a group sums to 0; those groups must be zeros\n"
        f"  scores: {describe(scores)}\n  yours:  {describe(normalized)}")
    check((normalized, totals), scores, over)


@pytest.mark.parametrize("over", OVERS)
@pytest.mark.parametrize("dtype, tiny", [(torch.float32, 1e-20), (torch.float64, 1e-300)], ids=["float32", "float64"])
def test_tiny_sums_are_divided_exactly(kata, over, dtype, tiny):
    scores = torch.tensor([[1.0, 3.0], [2.0, 6.0]], dtype=dtype) * tiny
    normalized, totals = kata.normalize_scores(scores, over)
    check((normalized, totals), scores, over,
          " (scores of size 1e-20: divide by the exact sum, with no epsilon and no clamp)")


@pytest.mark.parametrize("over", OVERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_subnormal_sums_are_divided_exactly(kata, over, dtype):
    # The smallest positive numbers there are: 1 / sum overflows to inf, and any clamp of the sum to a
    # "tiny" value (torch.finfo(dtype).tiny is the smallest NORMAL number) is far above these sums.
    smallest = 2.0 ** (-149 if dtype == torch.float32 else -1074)
    scores = torch.tensor([[1.0, 3.0], [2.0, 6.0]], dtype=torch.float64).mul(smallest).to(dtype)
    assert bool((scores > 0).all()), "the platform flushes subnormal numbers to zero"
    normalized, totals = kata.normalize_scores(scores, over)
    check((normalized, totals), scores, over,
          " (subnormal scores: divide by the exact sum; no clamp, and no multiplying by 1 / sum, which overflows)")


@pytest.mark.parametrize("over", OVERS)
def test_negative_zero_is_not_negative(kata, over):
    # -0.0 >= 0 holds: a score of -0.0 (from -x * 0, say) is a valid zero, not a negative score.
    scores = torch.tensor([[[-0.0, 2.0, 1.0], [-0.0, -0.0, -0.0]], [[3.0, -0.0, 1.0], [0.0, 0.5, -0.0]]])
    check(kata.normalize_scores(scores, over), scores, over, " (-0.0 is not negative: it must not raise)")


@pytest.mark.parametrize("over", OVERS)
@pytest.mark.parametrize("shape", [(0, 3, 4), (2, 0, 4), (2, 3, 0), (0, 0), (3, 0)],
                         ids=lambda s: "x".join(map(str, s)))
def test_empty_axes(kata, shape, over):
    scores = torch.ones(shape, dtype=torch.float32)
    check(kata.normalize_scores(scores, over), scores, over, f" for the empty shape {shape}")


# ---- dtype, layout, and the input left alone -------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("over", OVERS)
def test_dtype_is_kept(kata, over, dtype):
    scores = arange_scores((2, 3, 4), dtype=dtype)
    check(kata.normalize_scores(scores, over), scores, over)


@pytest.mark.parametrize("over", OVERS)
def test_non_contiguous_input(kata, over):
    base = arange_scores((2, 5, 3))
    scores = base.transpose(-1, -2)[:, :, ::2]  # a strided view of shape (2, 3, 3)
    assert not scores.is_contiguous()
    check(kata.normalize_scores(scores, over), scores, over, " for a transposed, strided view")


@pytest.mark.parametrize("over", OVERS)
def test_input_is_not_modified(kata, over):
    scores = arange_scores((2, 3, 4))
    scores[0, 1] = 0.0
    before = scores.clone()
    kata.normalize_scores(scores, over)
    assert exact(scores, before), (
        f"normalize_scores(scores, {over!r}) modified scores in place; it must leave its input untouched\n"
        f"  before: {describe(before)}\n  after:  {describe(scores)}")


# ---- invalid input ---------------------------------------------------------------------------

@pytest.mark.parametrize("over", ["row", "cols", "ROWS", "", "all", "both"])
def test_unknown_over_raises_value_error(kata, over):
    with pytest.raises(ValueError):
        kata.normalize_scores(torch.ones(2, 3), over)


@pytest.mark.parametrize("scores", [torch.tensor(2.0), torch.ones(3)], ids=["0-d", "1-d"])
@pytest.mark.parametrize("over", OVERS)
def test_fewer_than_two_axes_raises_value_error(kata, scores, over):
    with pytest.raises(ValueError):
        kata.normalize_scores(scores, over)


@pytest.mark.parametrize("over", OVERS)
def test_negative_scores_raise_value_error(kata, over):
    scores = torch.ones(2, 3, 4)
    scores[1, 2, 0] = -0.5
    with pytest.raises(ValueError):
        kata.normalize_scores(scores, over)


# ---- generated batches: the reference, the library, and the properties ----------------------

def todo_first(call):
    """Let an unfinished stub's NotImplementedError out before Hypothesis starts.

    Every generated example would raise it, and Hypothesis would spend seconds shrinking
    examples that all fail the same way. Any other error is left to the generated examples,
    which report it with the input that caused it.
    """
    try:
        call()
    except NotImplementedError:
        raise
    except Exception:
        pass


@st.composite
def score_batches(draw, rescale=False):
    """A float32 or float64 tensor of shape (*batch, R, C): 0-2 batch axes, R and C in 1..5.

    With `rescale`, every score is multiplied by one power of ten from 1e-25 to 1e5, so that
    sums far below any epsilon turn up too.
    """
    batch = draw(st.lists(st.integers(1, 3), max_size=2), label="batch shape")
    rows, cols = draw(st.integers(1, 5), label="R"), draw(st.integers(1, 5), label="C")
    dtype = draw(st.sampled_from(DTYPES), label="dtype")
    # Zeros are common, so that all-zero rows and columns turn up; the rest stay well above 1e-12.
    elements = st.one_of(st.just(0.0), st.floats(1e-3, 1e3), st.integers(1, 9).map(float))
    values = draw(hnp.arrays(np.float64, (*batch, rows, cols), elements=elements))
    if rescale:
        values = values * 10.0 ** draw(st.integers(-25, 5), label="power of ten")
    return torch.tensor(values, dtype=dtype)


def test_matches_reference(differential, kata):
    todo_first(lambda: kata.normalize_scores(torch.ones(1, 1), "rows"))

    @settings(max_examples=120)
    @given(score_batches(rescale=True), st.sampled_from(OVERS))
    def generated(scores, over):
        differential("normalize_scores", scores, over, equal=TOLERANCE[scores.dtype])

    generated()


def test_matches_torch_functional_normalize(kata):
    todo_first(lambda: kata.normalize_scores(torch.ones(1, 1), "rows"))

    @settings(max_examples=60)
    @given(score_batches(), st.sampled_from(OVERS))
    def generated(scores, over):
        normalized, totals = kata.normalize_scores(scores, over)
        if over == "matrix":
            oracle = F.normalize(scores.flatten(-2), p=1.0, dim=-1).reshape(scores.shape)
        else:
            oracle = F.normalize(scores, p=1.0, dim=SUMMED[over][0])
        assert TOLERANCE[scores.dtype](normalized, oracle), (
            f"differs from torch.nn.functional.normalize(p=1) over the {over}\n  scores:   {describe(scores)}\n"
            f"  expected: {describe(oracle)}\n  yours:    {describe(normalized)}")

    generated()


def test_groups_sum_to_one_and_totals_scale_back(kata):
    todo_first(lambda: kata.normalize_scores(torch.ones(1, 1), "rows"))

    @settings(max_examples=60)
    @given(score_batches(rescale=True), st.sampled_from(OVERS))
    def generated(scores, over):
        normalized, totals = kata.normalize_scores(scores, over)
        dims = SUMMED[over]
        group_sums = normalized.to(torch.float64).sum(dim=dims)
        nonzero = scores.sum(dim=dims) > 0
        ones = torch.where(nonzero, 1.0, 0.0).to(torch.float64)
        rtol = 1e-5 if scores.dtype == torch.float32 else 1e-12
        assert torch.allclose(group_sums, ones, rtol=rtol, atol=rtol), (
            f"after normalising over the {over}, each group must sum to 1 (0 for an all-zero group)\n"
            f"  scores: {describe(scores)}\n  sums:   {describe(group_sums)}")
        rebuilt = normalized.to(torch.float64) * totals.to(torch.float64).reshape(
            [1 if axis - scores.dim() in dims else size for axis, size in enumerate(scores.shape)])
        assert torch.allclose(rebuilt, scores.to(torch.float64), rtol=rtol, atol=0.0), (
            f"normalized * totals (summed axes put back as size 1) must give scores back\n"
            f"  scores:  {describe(scores)}\n  rebuilt: {describe(rebuilt)}")

    generated()
