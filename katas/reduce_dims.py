"""Normalise a batch of score matrices by row, by column or as a whole.

A reduction such as ``torch.sum`` collapses the axes you name with ``dim`` and leaves the
others. ``torch.sum(a, 0)`` adds the rows of a matrix together (one total per column);
``torch.sum(a, 1)`` adds along each row (one total per row). With ``keepdim=True`` the
reduced axis stays in the result with size 1, so a (3, 4) matrix summed over dim 1 gives
shape (3, 1) instead of (3,), and that (3, 1) result broadcasts straight back against the
(3, 4) matrix: each row is divided by its own total.

Two things make reductions go wrong without an error. First, ``dim=0`` and ``dim=1`` only
mean "columns" and "rows" for a plain 2-D matrix: as soon as a batch axis comes first, dim 0
is the batch and dim 1 is the rows. Counting from the end (``dim=-1`` for the last axis)
keeps the meaning whatever comes before. Second, a total without ``keepdim`` still
broadcasts when the sizes happen to line up, just against the wrong axis: for a square
matrix, ``a / a.sum(1)`` divides each COLUMN j by the total of ROW j and raises nothing.
"""

from __future__ import annotations

import torch


def normalize_scores(scores: torch.Tensor, over: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Divide non-negative scores by their totals so that each chosen group sums to 1.

    `scores` holds one score matrix of shape (R, C) per batch position: its last two axes
    are the rows and columns of a matrix, and every axis before them (there may be none,
    one or several) is a batch axis. Every matrix is normalised on its own, never mixed
    with the other matrices of the batch. `over` chooses the groups:

    - ``"rows"``: each row (the C values ``scores[..., r, :]``) is divided by its own
      sum, so every row of the result sums to 1. ``totals`` has shape ``(..., R)``.
    - ``"columns"``: each column (the R values ``scores[..., :, c]``) is divided by its
      own sum, so every column of the result sums to 1. ``totals`` has shape ``(..., C)``.
    - ``"matrix"``: each whole matrix (all R * C values ``scores[..., :, :]``) is divided
      by its own sum, so every matrix of the result sums to 1. ``totals`` has shape
      ``(...)``, the batch shape (a 0-d tensor when there is no batch axis).

    ``totals`` holds those sums, with the summed axes removed (not kept as size 1). A group
    whose sum is exactly 0 (all its scores are 0, or it is empty) comes out as zeros, not
    NaN; its total is 0. Every other group is divided by its exact sum, however small that
    sum is: do not add an epsilon or clamp the sum, which would make a group of tiny
    scores, such as [1e-20, 3e-20], sum to much less than 1.

    Args:
        scores: a float32 or float64 tensor with at least 2 axes, every entry >= 0 and
            finite. Any axis may have size 0. It must not be modified.
        over: ``"rows"``, ``"columns"`` or ``"matrix"``.

    Returns:
        A tuple ``(normalized, totals)`` of NEW tensors with the dtype and device of
        `scores`: ``normalized`` has the shape of `scores`; ``totals`` has the shape given
        above for `over`. ``normalized * totals`` (with the summed axes put back as size 1)
        gives `scores` back, up to rounding.

    Raises:
        ValueError: if `over` is not one of the three names, if `scores` has fewer than 2
            axes, or if any entry of `scores` is negative.

    Example:
        >>> scores = torch.tensor([[1.0, 3.0], [2.0, 2.0], [0.0, 0.0]])
        >>> normalize_scores(scores, "rows")
        (tensor([[0.2500, 0.7500],
                [0.5000, 0.5000],
                [0.0000, 0.0000]]), tensor([4., 4., 0.]))
        >>> normalize_scores(scores, "columns")
        (tensor([[0.3333, 0.6000],
                [0.6667, 0.4000],
                [0.0000, 0.0000]]), tensor([3., 5.]))
        >>> normalize_scores(scores, "matrix")
        (tensor([[0.1250, 0.3750],
                [0.2500, 0.2500],
                [0.0000, 0.0000]]), tensor(8.))
        >>> batch = torch.ones(2, 3, 4)  # two 3 x 4 matrices
        >>> [tuple(normalize_scores(batch, over)[1].shape) for over in ("rows", "columns", "matrix")]
        [(2, 3), (2, 4), (2,)]
    """
    raise NotImplementedError
