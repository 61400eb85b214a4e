"""Known wrong answers, and correct answers written differently, for int8_quantize."""

from __future__ import annotations

import numpy as np
import torch

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _prepared(weight, axis, scale):
    """The reference's checks; returns (float32 weight, axis >= 0, given scale or None, channel view)."""
    if not isinstance(weight, torch.Tensor) or not weight.is_floating_point() or weight.dim() == 0 \
            or weight.numel() == 0:
        raise ValueError("weight must be a non-empty floating-point tensor")
    axis = ref._checked_axis(axis, weight.dim())
    w = weight.float()
    if not bool(torch.isfinite(w).all()):
        raise ValueError("weight holds NaN or infinity")
    if scale is not None:
        scale = ref._checked_scale(scale, w.shape[axis]).float().clone()
    view = [1] * w.dim()
    view[axis] = w.shape[axis]
    return w, axis, scale, view


def _channel_amax(w, axis):
    others = [d for d in range(w.dim()) if d != axis]
    return w.abs().amax(dim=others) if others else w.abs()


def _fitted(w, axis, divisor=127):
    scale = _channel_amax(w, axis) / divisor
    return torch.where(scale > 0, scale, torch.ones_like(scale))


# ---- quantize_per_channel -------------------------------------------------------------------------

@pitfall("quantize_per_channel",
         "Uses one scale for the whole tensor (its largest magnitude / 127): small channels lose their precision.")
def per_tensor_scale(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        amax = w.abs().max()
        given = torch.full((w.shape[axis],), float(amax / 127) if amax > 0 else 1.0)
    return torch.round(w / given.reshape(view)).clamp(-127, 127).to(torch.int8), given


@pitfall("quantize_per_channel",
         "Divides the largest magnitude by 127.5 ((qmax - qmin) / 2 for [-128, 127], torch's default observer "
         "range) instead of 127, so the largest weight maps to 127.5 and is clipped.")
def range_of_255_over_2(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        given = _fitted(w, axis, divisor=127.5)
    return torch.round(w / given.reshape(view)).clamp(-127, 127).to(torch.int8), given


@pitfall("quantize_per_channel", "Rounds halves away from zero (sign * floor(|x| + 0.5)): 2.5 becomes 3, but "
                                 "torch and numpy round half to even.")
def rounds_half_away_from_zero(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        given = _fitted(w, axis)
    x = w / given.reshape(view)
    return (torch.sign(x) * torch.floor(x.abs() + 0.5)).clamp(-127, 127).to(torch.int8), given


@pitfall("quantize_per_channel", "Truncates with the int8 cast instead of rounding: 2.7 becomes 2.")
def truncates(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        given = _fitted(w, axis)
    return (w / given.reshape(view)).clamp(-127, 127).to(torch.int8), given


@pitfall("quantize_per_channel", "Clamps to int8's full range [-128, 127] instead of the symmetric [-127, 127].")
def clamps_at_minus_128(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        given = _fitted(w, axis)
    return torch.round(w / given.reshape(view)).clamp(-128, 127).to(torch.int8), given


@pitfall("quantize_per_channel",
         "Casts to int8 without clamping: with a given scale, a code of 200 wraps around to -56.")
def wraps_around_without_clamp(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        given = _fitted(w, axis)
    return torch.round(w / given.reshape(view)).to(torch.int32).to(torch.int8), given


@pitfall("quantize_per_channel", "Divides by a zero scale for an all-zero channel: its scale is 0 (and its codes "
                                 "come from 0 / 0) instead of 1.0.")
def zero_scale_for_zero_channel(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        given = _channel_amax(w, axis) / 127
    codes = torch.nan_to_num(torch.round(w / given.reshape(view)), nan=0.0)
    return codes.clamp(-127, 127).to(torch.int8), given


@pitfall("quantize_per_channel", "Always takes the scales over dim 0, ignoring `axis`.")
def ignores_axis(weight, axis=0, scale=None):
    return ref.quantize_per_channel(weight, 0, scale)


@pitfall("quantize_per_channel", "Divides the weight in place (weight.div_), overwriting the caller's tensor.")
def divides_in_place(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        given = _fitted(w, axis)
    target = weight if weight.dtype == torch.float32 else w
    target.div_(given.reshape(view))
    return torch.round(target).clamp(-127, 127).to(torch.int8), given


@pitfall("quantize_per_channel", "Checks a given scale with (scale <= 0) and isnan only, so an infinite scale is "
                                 "accepted and quantises the whole channel to 0.")
def accepts_an_infinite_scale(weight, axis=0, scale=None):
    if scale is not None and isinstance(scale, torch.Tensor) and scale.is_floating_point() and scale.dim() == 1 \
            and bool(torch.isinf(scale).any()):
        w, axis, _, view = _prepared(weight, axis, None)
        if scale.shape[0] != w.shape[axis] or bool((scale <= 0).any()) or bool(torch.isnan(scale).any()):
            raise ValueError("bad scale")
        given = scale.float().clone()
        return torch.round(w / given.reshape(view)).clamp(-127, 127).to(torch.int8), given
    return ref.quantize_per_channel(weight, axis, scale)


@pitfall("quantize_per_channel", "Checks a given scale's length with numel() but not that it is 1-D, so a 0-d "
                                 "scale is taken for a single channel.")
def accepts_a_0d_scale(weight, axis=0, scale=None):
    if isinstance(scale, torch.Tensor) and scale.dim() == 0:
        scale = scale.reshape(1)
    return ref.quantize_per_channel(weight, axis, scale)


# ---- dequantize_per_channel -----------------------------------------------------------------------

@pitfall("dequantize_per_channel", "Multiplies by the 1-D scale as it is, which broadcasts it along the LAST axis: "
                                   "right only for axis -1 (and it fails loudly only when the shape disagrees).")
def broadcasts_along_last_axis(q, scale, axis=0):
    ref.dequantize_per_channel(q, scale, axis)  # the reference's checks
    return q.float() * scale.float()


@pitfall("dequantize_per_channel", "Returns the scaled codes in the scale's dtype (float64 for float64 scales) "
                                   "instead of float32.")
def keeps_the_scale_dtype(q, scale, axis=0):
    ref.dequantize_per_channel(q, scale, axis)
    view = [1] * q.dim()
    view[axis % q.dim()] = q.shape[axis]
    return q.to(scale.dtype) * scale.reshape(view)


@pitfall("dequantize_per_channel", "Checks the scale's length with numel() but not that it is 1-D, so a 0-d scale "
                                   "is taken for a single channel.")
def dequantize_accepts_a_0d_scale(q, scale, axis=0):
    if isinstance(scale, torch.Tensor) and scale.dim() == 0:
        scale = scale.reshape(1)
    return ref.dequantize_per_channel(q, scale, axis)


@pitfall("quantize_per_channel",
         "Treats a channel whose largest magnitude is below float32's eps as all zero (scale 1.0): a channel of "
         "tiny but nonzero weights is quantised to 0 instead of getting its own max / 127.")
def near_zero_channels_as_zero(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        amax = _channel_amax(w, axis)
        given = torch.where(amax > torch.finfo(torch.float32).eps, amax / 127, torch.ones_like(amax))
    return torch.round(w / given.reshape(view)).clamp(-127, 127).to(torch.int8), given


@pitfall("quantize_per_channel",
         "Clamps the fitted scale from below at float32's eps, as torch's MinMax observers do (and 1.0 for "
         "all-zero channels): a channel whose max / 127 is smaller than eps gets too large a scale.")
def scale_clamped_at_eps(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    if given is None:
        amax = _channel_amax(w, axis)
        given = torch.where(amax > 0, (amax / 127).clamp_min(torch.finfo(torch.float32).eps), torch.ones_like(amax))
    return torch.round(w / given.reshape(view)).clamp(-127, 127).to(torch.int8), given


@pitfall("quantize_per_channel",
         "Flattens each channel with .view(C, -1) after moving the channel axis first: a non-contiguous weight "
         "(a transposed view) cannot be viewed that way and raises, where .reshape would copy.")
def flattens_with_view(weight, axis=0, scale=None):
    w, axis, given, _ = _prepared(weight, axis, scale)
    moved = w.transpose(0, axis)
    rows = moved.view(moved.shape[0], -1) if axis == 0 else moved.reshape(moved.shape[0], -1)
    s = given if given is not None else _fitted(w, axis)
    codes = torch.round(rows / s[:, None]).clamp(-127, 127).to(torch.int8)
    return codes.view(moved.shape).transpose(0, axis).contiguous(), s


@pitfall("quantize_per_channel",
         "Goes through numpy with weight.numpy() and no detach(): a layer's weight, an nn.Parameter that requires "
         "grad, raises instead of being quantised.")
def numpy_without_detach(weight, axis=0, scale=None):
    w, axis, given, view = _prepared(weight, axis, scale)
    array = w.numpy()
    s = given.numpy() if given is not None else _fitted(w, axis).numpy()
    codes = np.clip(np.rint(array / s.reshape(view)), -127, 127).astype(np.int8)
    return torch.from_numpy(codes), torch.from_numpy(s.copy())


# ---- correct answers written differently --------------------------------------------------------

@alternative("quantize_per_channel", "numpy: move the channel axis first, reshape to (C, -1), np.rint (half to "
                                     "even) and np.clip, in float32.")
def numpy_rows(weight, axis=0, scale=None):
    w, axis, given, _ = _prepared(weight, axis, scale)
    rows = np.moveaxis(w.detach().cpu().numpy(), axis, 0).reshape(w.shape[axis], -1)
    if given is None:
        amax = np.abs(rows).max(axis=1)
        s = np.where(amax > 0, amax / np.float32(127), np.float32(1)).astype(np.float32)
    else:
        s = given.cpu().numpy().astype(np.float32)
    codes = np.clip(np.rint(rows / s[:, None]), -127, 127).astype(np.int8)
    moved_shape = (w.shape[axis],) + tuple(d for i, d in enumerate(w.shape) if i != axis)
    q = np.moveaxis(codes.reshape(moved_shape), 0, axis)
    return torch.from_numpy(np.ascontiguousarray(q)).to(weight.device), torch.from_numpy(s.copy()).to(weight.device)


@alternative("quantize_per_channel", "A loop over the channels with unbind, in float64, multiplying by the reciprocal "
                                     "of each scale, then stacking the rows back.")
def channel_loop_in_float64(weight, axis=0, scale=None):
    w, axis, given, _ = _prepared(weight, axis, scale)
    codes, scales = [], []
    for c, channel in enumerate(w.double().unbind(axis)):
        if given is not None:
            s = given[c].double()
        else:
            peak = channel.abs().max()
            s = (peak / 127).float().double() if peak > 0 else torch.tensor(1.0, dtype=torch.float64)
        codes.append(torch.round(channel * (1.0 / s)).clamp(-127, 127).to(torch.int8))
        scales.append(s.float())
    return torch.stack(codes, dim=axis), torch.stack(scales)


@alternative("dequantize_per_channel", "Moves the channel axis last, multiplies (broadcasting on the last axis), "
                                       "and moves it back.")
def movedim_and_broadcast(q, scale, axis=0):
    ref.dequantize_per_channel(q, scale, axis)
    moved = q.movedim(axis, -1).to(torch.float32) * scale.to(torch.float32)
    return moved.movedim(-1, axis).contiguous()
