"""Known wrong answers for reduce_dims, and correct answers written differently."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from katakit.pitfalls import alternative, pitfall

SUMMED = {"rows": (-1,), "columns": (-2,), "matrix": (-2, -1)}


def _check(scores, over):
    """The argument checks the correct answer makes, shared by the mistakes that get them right."""
    if over not in SUMMED:
        raise ValueError(f"unknown over={over!r}")
    if scores.dim() < 2:
        raise ValueError("scores needs at least 2 axes")
    if bool((scores < 0).any()):
        raise ValueError("negative scores")


def _safe_divide(scores, kept):
    """scores / kept with groups of total 0 left at 0, as the task asks."""
    return scores / torch.where(kept == 0, torch.ones_like(kept), kept)


def _normalize_along(scores, dims):
    """The correct computation for any tuple of dims: used by the mistakes that only get `dims` wrong."""
    kept = scores.sum(dim=dims, keepdim=True)
    return _safe_divide(scores, kept), kept.squeeze(dims)


@pitfall("normalize_scores",
         "Uses dim=1 for rows and dim=0 for columns, as for a single 2-D matrix: once a batch axis comes first, "
         "dim 0 is the batch and dim 1 the rows. Count from the end: dim=-1 and dim=-2.")
def literal_dims_zero_and_one(scores, over):
    _check(scores, over)
    return _normalize_along(scores, {"rows": (1,), "columns": (0,), "matrix": (0, 1)}[over])


@pitfall("normalize_scores",
         "Swaps rows and columns: summing over dim=-2 adds up the rows (one total per COLUMN); normalising each "
         "row needs the sum over the last axis, dim=-1.")
def rows_and_columns_swapped(scores, over):
    _check(scores, over)
    return _normalize_along(scores, {"rows": (-2,), "columns": (-1,), "matrix": (-2, -1)}[over])


@pitfall("normalize_scores",
         "Drops keepdim: the totals lose the summed axis, so they line up with the wrong axis when they broadcast "
         "back (an error when the sizes differ, silently wrong when they match, as for a square matrix).")
def drops_keepdim(scores, over):
    _check(scores, over)
    dims = SUMMED[over]
    totals = scores.sum(dim=dims)
    return _safe_divide(scores, totals), totals


@pitfall("normalize_scores",
         "For 'matrix', sums over every axis (scores.sum()), so each matrix is divided by the total of the whole "
         "batch instead of its own.")
def matrix_reduces_over_everything(scores, over):
    _check(scores, over)
    if over != "matrix":
        return _normalize_along(scores, SUMMED[over])
    total = scores.sum()
    normalized = scores / total if total != 0 else torch.zeros_like(scores)
    return normalized, total.expand(scores.shape[:-2]).clone()


@pitfall("normalize_scores",
         "For 'matrix', sums over dims (0, 1), the axes of a single matrix: with batch axes in front that adds "
         "up across the batch and leaves the columns.")
def matrix_over_first_two_axes(scores, over):
    _check(scores, over)
    return _normalize_along(scores, {"rows": (-1,), "columns": (-2,), "matrix": (0, 1)}[over])


@pitfall("normalize_scores",
         "Divides by the sum without handling groups that sum to 0, so an all-zero row, column or matrix comes "
         "out as NaN (0 / 0) instead of zeros.")
def nan_for_zero_groups(scores, over):
    _check(scores, over)
    kept = scores.sum(dim=SUMMED[over], keepdim=True)
    return scores / kept, kept.squeeze(SUMMED[over])


@pitfall("normalize_scores",
         "Normalises with torch.nn.functional.normalize(p=1), which divides by max(sum, 1e-12): a group of tiny "
         "scores is divided by 1e-12 instead of its sum and no longer sums to 1.")
def functional_normalize_with_default_eps(scores, over):
    _check(scores, over)
    if over == "matrix":
        normalized = F.normalize(scores.flatten(-2), p=1.0, dim=-1).reshape(scores.shape)
    else:
        normalized = F.normalize(scores, p=1.0, dim=SUMMED[over][0])
    return normalized, scores.sum(dim=SUMMED[over])


@pitfall("normalize_scores",
         "Adds an epsilon to every sum (scores / (sum + 1e-6)): results are off whenever the sums are small, "
         "and a group of tiny scores no longer sums to 1.")
def epsilon_in_the_denominator(scores, over):
    _check(scores, over)
    kept = scores.sum(dim=SUMMED[over], keepdim=True)
    return scores / (kept + 1e-6), kept.squeeze(SUMMED[over])


@pitfall("normalize_scores",
         "Returns the totals with keepdim=True, so they keep the summed axes as size 1: (..., R, 1) instead of "
         "(..., R).")
def totals_keep_the_summed_axes(scores, over):
    _check(scores, over)
    kept = scores.sum(dim=SUMMED[over], keepdim=True)
    return _safe_divide(scores, kept), kept


@pitfall("normalize_scores",
         "Divides in place (scores.div_ or /=), which overwrites the caller's scores.")
def divides_in_place(scores, over):
    _check(scores, over)
    kept = scores.sum(dim=SUMMED[over], keepdim=True)
    scores.div_(torch.where(kept == 0, torch.ones_like(kept), kept))
    return scores, kept.squeeze(SUMMED[over])


@pitfall("normalize_scores",
         "Applies a softmax along the axis: that normalises exp(scores), not the scores themselves.")
def softmax_instead_of_sum(scores, over):
    _check(scores, over)
    if over == "matrix":
        flat = scores.reshape(*scores.shape[:-2], -1)
        normalized = flat.softmax(dim=-1).reshape(scores.shape)
    else:
        normalized = scores.softmax(dim=SUMMED[over][0])
    return normalized, scores.sum(dim=SUMMED[over])


@pitfall("normalize_scores",
         "Does not check its inputs: negative scores, an unknown `over` or a 1-D tensor get through without a "
         "ValueError.")
def no_validation(scores, over):
    dims = SUMMED.get(over, (-1,))
    kept = scores.sum(dim=dims, keepdim=True)
    return _safe_divide(scores, kept), kept.squeeze(dims)


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("normalize_scores",
             "A plain Python loop over every group, summing with math.fsum in double precision.")
def python_loop_with_fsum(scores, over):
    _check(scores, over)
    rows, cols = scores.shape[-2], scores.shape[-1]
    matrices = scores.reshape(-1, rows, cols).tolist() if scores.numel() else [
        [[0.0] * cols for _ in range(rows)] for _ in range(math.prod(scores.shape[:-2]))]
    normalized, totals = [], []
    for matrix in matrices:
        if over == "rows":
            groups = [[(r, c) for c in range(cols)] for r in range(rows)]
        elif over == "columns":
            groups = [[(r, c) for r in range(rows)] for c in range(cols)]
        else:
            groups = [[(r, c) for r in range(rows) for c in range(cols)]]
        out = [[0.0] * cols for _ in range(rows)]
        for group in groups:
            total = math.fsum(matrix[r][c] for r, c in group)
            totals.append(total)
            for r, c in group:
                out[r][c] = matrix[r][c] / total if total else 0.0
        normalized.append(out)
    batch = tuple(scores.shape[:-2])
    totals_shape = batch + {"rows": (rows,), "columns": (cols,), "matrix": ()}[over]
    as_tensor = lambda values, shape: torch.tensor(values, dtype=torch.float64).reshape(shape).to(scores.dtype)
    return as_tensor(normalized, scores.shape), as_tensor(totals, totals_shape)


@alternative("normalize_scores",
             "Divides straight away and turns the NaN of the all-zero groups into 0 with torch.nan_to_num.")
def nan_to_num_after_dividing(scores, over):
    _check(scores, over)
    dims = SUMMED[over]
    return torch.nan_to_num(scores / scores.sum(dim=dims, keepdim=True), nan=0.0), scores.sum(dim=dims)


@alternative("normalize_scores",
             "Reduces to row normalisation: columns through a transpose, whole matrices through a flatten, with "
             "the sums written as einsum.")
def transpose_and_flatten_to_rows(scores, over):
    _check(scores, over)

    def by_rows(matrix):
        totals = torch.einsum("...c->...", matrix)
        return _safe_divide(matrix, totals.unsqueeze(-1)), totals

    if over == "rows":
        return by_rows(scores)
    if over == "columns":
        normalized, totals = by_rows(scores.mT)
        return normalized.mT, totals
    normalized, totals = by_rows(scores.flatten(-2))
    return normalized.unflatten(-1, scores.shape[-2:]), totals


@alternative("normalize_scores",
             "Scales each group by its largest entry first, then by the sum of the scaled entries: another order "
             "of rounding, safe from overflow.")
def scale_by_max_first(scores, over):
    _check(scores, over)
    dims = SUMMED[over]
    largest = scores.amax(dim=dims, keepdim=True) if scores.numel() else scores.sum(dim=dims, keepdim=True)
    scaled = _safe_divide(scores, largest)
    return _safe_divide(scaled, scaled.sum(dim=dims, keepdim=True)), scores.sum(dim=dims)


# ---- found in review: mistakes that only very small sums, -0.0 or an empty input show --------

@pitfall("normalize_scores",
         "Clamps the sum to torch.finfo(dtype).tiny before dividing: a group whose sum is subnormal (smaller "
         "than tiny) is divided by the clamp, not by its sum, and no longer sums to 1.")
def clamps_sum_to_tiny(scores, over):
    _check(scores, over)
    kept = scores.sum(dim=SUMMED[over], keepdim=True)
    return scores / kept.clamp(min=torch.finfo(scores.dtype).tiny), kept.squeeze(SUMMED[over])


@pitfall("normalize_scores",
         "Multiplies by the reciprocal 1 / sum: for a subnormal sum the reciprocal overflows to inf, and the "
         "group comes out as inf instead of summing to 1.")
def multiplies_by_reciprocal(scores, over):
    _check(scores, over)
    kept = scores.sum(dim=SUMMED[over], keepdim=True)
    inverse = torch.where(kept == 0, torch.zeros_like(kept), 1.0 / kept)
    return scores * inverse, kept.squeeze(SUMMED[over])


@pitfall("normalize_scores",
         "Rejects negative scores with torch.signbit, which is also set for -0.0: a valid zero score raises.")
def signbit_rejects_negative_zero(scores, over):
    if over not in SUMMED or scores.dim() < 2:
        raise ValueError("bad arguments")
    if bool(torch.signbit(scores).any()):
        raise ValueError("negative scores")
    return _normalize_along(scores, SUMMED[over])


@pitfall("normalize_scores",
         "Returns the input tensor itself when it is empty, instead of a new tensor.")
def returns_empty_input_itself(scores, over):
    _check(scores, over)
    if scores.numel() == 0:
        return scores, scores.sum(dim=SUMMED[over])
    return _normalize_along(scores, SUMMED[over])


@alternative("normalize_scores",
             "Computes in float64 and casts back, with the zero groups' divisor replaced by masked_fill.")
def float64_with_masked_fill(scores, over):
    _check(scores, over)
    dims = SUMMED[over]
    wide = scores.double()
    kept = wide.sum(dim=dims, keepdim=True)
    normalized = wide / kept.masked_fill(kept == 0, 1.0)
    return normalized.to(scores.dtype), kept.squeeze(dims).to(scores.dtype)
