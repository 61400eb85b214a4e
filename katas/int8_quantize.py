"""Symmetric per-channel int8 quantisation of a weight tensor, and back.

A float32 weight takes 4 bytes; an int8 code takes 1. Quantising a trained model's weights to
int8 shrinks it four times and lets integer kernels run it, at the cost of a small rounding
error in every weight. The symmetric scheme maps a float w to the integer code

    q = clamp(round(w / scale), -127, 127)

and back to ``q * scale``. Zero maps to zero exactly (no zero point is needed), and the range
is [-127, 127], symmetric, rather than int8's full [-128, 127].

One scale for a whole tensor wastes precision: a layer's output channels (its rows) can
differ in size by orders of magnitude, and a scale large enough for the biggest row rounds a
small row to a few codes, or to nothing. Per-channel quantisation gives every output channel
its own scale, just big enough for that channel's largest magnitude: the largest weight of
each channel maps to +-127, and no weight is clipped.

This is what ``torch.quantize_per_channel(w, scales, zero_points=0, axis, torch.qint8)``
computes (torch rounds half to even too), which you may not use here.
"""

from __future__ import annotations

import torch


def quantize_per_channel(weight: torch.Tensor, axis: int = 0,
                         scale: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantise `weight` to int8 codes with one scale per channel along `axis`.

    The channels are the slices ``weight.select(axis, c)`` for c = 0 .. C-1, where
    C = weight.shape[axis] (for a Linear weight of shape (out, in), or a Conv2d weight of
    shape (out, in, kh, kw), axis 0 gives one scale per output channel).

    1. Work in float32: the weight is read as ``weight.float()`` (so float64, float16 and
       bfloat16 weights give what their float32 copy gives).
    2. The scales. When `scale` is None, channel c gets
       ``scale[c] = max(|w| over channel c) / 127``, computed in float32, so that the
       channel's largest magnitude maps to +-127; a channel whose weights are all 0 gets
       scale 1.0 (any positive scale would do; 1.0 is the convention here). When `scale` is
       given, those are the scales (read as float32), and weights beyond +-127 * scale are
       clipped.
    3. The codes: ``q = clamp(round(w / scale[c]), -127, 127)`` for each weight of channel c,
       as int8. round() rounds half to even, like torch.round and numpy.rint: 2.5 -> 2,
       3.5 -> 4, -2.5 -> -2, 0.5 -> 0. The clamp range is [-127, 127], not [-128, 127].

    Whether you divide by the scale or multiply by its reciprocal, in float32 or float64,
    is up to you: the tests keep generated weights clear of values whose w / scale lies
    within rounding error of a half-integer, and test the exact halves with scales such as
    1.0 and 0.5, which every method handles exactly.

    Args:
        weight: a floating-point tensor with at least one dimension and at least one
            element, all finite. It must not be modified.
        axis: the channel axis; negative values count from the end.
        scale: None, or a 1-D floating-point tensor of length C, every entry finite and > 0.
            It must not be modified.

    Returns:
        ``(q, scale)``: q an int8 tensor of weight's shape holding the codes, and scale a
        float32 tensor of shape (C,) holding the scales used. Both are new tensors on
        weight's device.

    Raises:
        ValueError: if weight is not floating point, has no dimensions or no elements, or
            holds NaN or infinity; if axis is out of range; if a given scale is not 1-D and
            floating point, has the wrong length, or has an entry that is not finite and > 0.

    Example:
        >>> w = torch.tensor([[0.4, -1.0, 0.25], [127.0, 2.5, -3.5], [0.0, 0.0, 0.0]])
        >>> q, scale = quantize_per_channel(w)
        >>> q
        tensor([[  51, -127,   32],
                [ 127,    2,   -4],
                [   0,    0,    0]], dtype=torch.int8)
        >>> scale
        tensor([0.0079, 1.0000, 1.0000])
        >>> quantize_per_channel(torch.tensor([[300.0, -2.5, -500.0]]), scale=torch.tensor([2.0]))[0]
        tensor([[ 127,   -1, -127]], dtype=torch.int8)
    """
    raise NotImplementedError


def dequantize_per_channel(q: torch.Tensor, scale: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """Turn int8 codes back into float32 weights: ``q * scale[c]`` for each code of channel c.

    The inverse of quantize_per_channel, up to the rounding: for weights that were not
    clipped, each result is within scale[c] / 2 of the original weight.

    Args:
        q: an int8 tensor with at least one dimension. It must not be modified.
        scale: a 1-D floating-point tensor of length q.shape[axis] (read as float32). It must
            not be modified.
        axis: the channel axis; negative values count from the end.

    Returns:
        A new float32 tensor of q's shape, on q's device.

    Raises:
        ValueError: if q is not an int8 tensor with at least one dimension, if axis is out of
            range, or if scale is not a 1-D floating-point tensor of length q.shape[axis].

    Example:
        >>> dequantize_per_channel(torch.tensor([[51, -127, 32], [127, 2, -4]], dtype=torch.int8),
        ...                        torch.tensor([1 / 127, 1.0]))
        tensor([[  0.4016,  -1.0000,   0.2520],
                [127.0000,   2.0000,  -4.0000]])
    """
    raise NotImplementedError


