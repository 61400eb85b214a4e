"""Known wrong answers for pairwise_broadcast, and correct answers written differently."""

from __future__ import annotations

import torch

from katakit.pitfalls import alternative, pitfall


def _check(x, y):
    """The argument checks the correct answer makes, shared by the mistakes that get them right."""
    if x.dim() < 2 or y.dim() < 2:
        raise ValueError("x and y need at least 2 axes")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError("x and y need the same D")


def _norms(x, y):
    """|x_i|^2 as a (..., N, 1) column and |y_j|^2 as a (..., 1, M) row."""
    return (x * x).sum(dim=-1, keepdim=True), (y * y).sum(dim=-1).unsqueeze(-2)


@pitfall("pairwise_sq_dists",
         "Broadcasts the differences x[..., :, None, :] - y[..., None, :, :]: right values, but it builds an "
         "(..., N, M, D) tensor, D times bigger than the answer. Expand the square instead.")
def materialises_every_difference(x, y):
    _check(x, y)
    return ((x.unsqueeze(-2) - y.unsqueeze(-3)) ** 2).sum(dim=-1)


@pitfall("pairwise_sq_dists",
         "Loops over the points of x in Python and stacks the rows: memory is fine, but the number of tensor "
         "operations grows with N. Broadcast over the pairs instead.")
def loops_over_the_points_of_x(x, y):
    _check(x, y)
    rows = [((x[..., i:i + 1, :] - y) ** 2).sum(dim=-1) for i in range(x.shape[-2])]
    return torch.stack(rows, dim=-2)


@pitfall("pairwise_sq_dists",
         "Uses y.T, which reverses EVERY axis of a batched tensor instead of swapping the last two: use y.mT or "
         "y.transpose(-2, -1).")
def transposes_with_dot_t(x, y):
    _check(x, y)
    x_norms, y_norms = _norms(x, y)
    cross = x @ y.T if y.dim() == 2 else x @ y.permute(*reversed(range(y.dim())))
    return (x_norms - 2 * cross + y_norms).clamp_min(0)


@pitfall("pairwise_sq_dists",
         "Does not clamp: the expanded square rounds some distances that should be 0 to small negative numbers.")
def forgets_the_clamp(x, y):
    _check(x, y)
    x_norms, y_norms = _norms(x, y)
    return x_norms - 2 * (x @ y.mT) + y_norms


@pitfall("pairwise_sq_dists",
         "Sums the norms without keeping an axis, so the (..., N) and (..., M) norms line up with each other and "
         "with the columns of the table, not as a column and a row.")
def norms_without_keepdim(x, y):
    _check(x, y)
    x_norms, y_norms = (x * x).sum(dim=-1), (y * y).sum(dim=-1)
    return (x_norms + y_norms - 2 * (x @ y.mT)).clamp_min(0)


@pitfall("pairwise_sq_dists",
         "Puts the norms on the wrong sides: |x_i|^2 as a row and |y_j|^2 as a column, so entry [i, j] gets "
         "|x_j|^2 + |y_i|^2.")
def norms_on_the_wrong_sides(x, y):
    _check(x, y)
    x_norms, y_norms = _norms(x, y)
    return (x_norms.mT - 2 * (x @ y.mT) + y_norms.mT).clamp_min(0)


@pitfall("pairwise_sq_dists",
         "Drops the factor 2 on the cross term: |x - y|^2 = |x|^2 - 2 x.y + |y|^2.")
def forgets_the_factor_two(x, y):
    _check(x, y)
    x_norms, y_norms = _norms(x, y)
    return (x_norms - x @ y.mT + y_norms).clamp_min(0)


@pitfall("pairwise_sq_dists",
         "Takes the square root: returns Euclidean distances, not squared distances.")
def returns_distances_not_squares(x, y):
    _check(x, y)
    x_norms, y_norms = _norms(x, y)
    return (x_norms - 2 * (x @ y.mT) + y_norms).clamp_min(0).sqrt()


@pitfall("pairwise_sq_dists",
         "Computes in float64 for accuracy and forgets to cast back, so a float32 input gives a float64 table.")
def returns_float64(x, y):
    _check(x, y)
    x, y = x.double(), y.double()
    x_norms, y_norms = _norms(x, y)
    return (x_norms - 2 * (x @ y.mT) + y_norms).clamp_min(0)


@pitfall("pairwise_sq_dists",
         "Centres the points in place (x -= mean) for accuracy, which overwrites the caller's tensors.")
def centres_in_place(x, y):
    _check(x, y)
    centre = y.sum(dim=-2, keepdim=True) / max(y.shape[-2], 1)
    x -= centre
    y -= centre
    x_norms, y_norms = _norms(x, y)
    return (x_norms - 2 * (x @ y.mT) + y_norms).clamp_min(0)


@pitfall("pairwise_sq_dists",
         "Lets torch.matmul report a mismatch in D as a RuntimeError instead of raising ValueError, and accepts "
         "1-D input.")
def no_validation(x, y):
    x_norms, y_norms = (x * x).sum(dim=-1, keepdim=True), (y * y).sum(dim=-1, keepdim=True).mT
    return (x_norms - 2 * (x @ y.mT) + y_norms).clamp_min(0)


@pitfall("pairwise_sq_dists",
         "Tiles x and y out to (N, M, D) with repeat: forbidden here, and it copies D times more data than the "
         "answer holds.")
def tiles_with_repeat(x, y):
    _check(x, y)
    n, m = x.shape[-2], y.shape[-2]
    big_x = x.unsqueeze(-2).repeat(*([1] * (x.dim() - 1)), m, 1)
    big_y = y.unsqueeze(-3).repeat(*([1] * (y.dim() - 2)), n, 1, 1)
    return ((big_x - big_y) ** 2).sum(dim=-1)


@pitfall("pairwise_sq_dists",
         "Calls torch.cdist and squares it: a ready-made distance function, which this kata forbids.")
def calls_cdist(x, y):
    _check(x, y)
    return torch.cdist(x, y) ** 2


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("pairwise_sq_dists",
             "Folds the norms into one matrix product: [x, |x|^2, 1] @ [-2y, 1, |y|^2]^T.")
def augmented_matrix_product(x, y):
    _check(x, y)
    x_norms = (x * x).sum(dim=-1, keepdim=True)
    y_norms = (y * y).sum(dim=-1, keepdim=True)
    left = torch.cat([x, x_norms, torch.ones_like(x_norms)], dim=-1)
    right = torch.cat([-2 * y, torch.ones_like(y_norms), y_norms], dim=-1)
    return (left @ right.mT).clamp_min(0)


@alternative("pairwise_sq_dists",
             "Centres both sets on the mean of y and works in float64 (better accuracy), then casts back.")
def centred_in_float64(x, y):
    _check(x, y)
    wide_x, wide_y = x.double(), y.double()
    centre = wide_y.sum(dim=-2, keepdim=True) / max(y.shape[-2], 1)  # the mean of y, or 0 when M = 0
    wide_x, wide_y = wide_x - centre, wide_y - centre
    table = (wide_x * wide_x).sum(-1, keepdim=True) - 2 * (wide_x @ wide_y.mT) + (wide_y * wide_y).sum(-1).unsqueeze(-2)
    return table.clamp_min(0).to(x.dtype)


@alternative("pairwise_sq_dists",
             "einsum for the norms and the dot products, then in-place updates of its own (..., N, M) table.")
def einsum_and_in_place_updates(x, y):
    _check(x, y)
    table = torch.einsum("...nd,...md->...nm", x, y)
    table.mul_(-2)
    table.add_(torch.einsum("...nd,...nd->...n", x, x).unsqueeze(-1))
    table.add_(torch.einsum("...md,...md->...m", y, y).unsqueeze(-2))
    return table.clamp_min_(0)


@pitfall("pairwise_sq_dists",
         "Reaches torch.cdist through getattr so that the static check does not see the name: it is still the "
         "ready-made distance function this kata forbids.")
def cdist_through_getattr(x, y):
    if x.dim() < 2 or y.dim() < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError("x and y must be (..., N, D) and (..., M, D) with the same D")
    return getattr(torch, "cd" + "ist")(x, y) ** 2


@pitfall("pairwise_sq_dists",
         "Zeroes every entry under an absolute cut-off (1e-6) instead of clamping only the negatives: small but "
         "real squared distances, between points close to each other or close to the origin, come out as 0.")
def zeroes_small_distances_with_a_cut_off(x, y):
    _check(x, y)
    x_norms, y_norms = _norms(x, y)
    table = x_norms - 2 * (x @ y.mT) + y_norms
    return torch.where(table < 1e-6, torch.zeros_like(table), table)


@pitfall("pairwise_sq_dists",
         "Clamps at a small positive floor (1e-12, as for a square root) instead of at 0: a point's distance to "
         "itself, and any distance smaller than the floor, comes out as 1e-12.")
def clamps_at_a_positive_floor(x, y):
    _check(x, y)
    x_norms, y_norms = _norms(x, y)
    return (x_norms - 2 * (x @ y.mT) + y_norms).clamp_min(1e-12)
