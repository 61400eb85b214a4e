"""Tests for int8_quantize: symmetric per-channel int8 quantisation and dequantisation.

The codes have one right answer, so they are compared exactly: with the reference on generated
weights, and with torch's own quantize_per_channel (given the same scales; torch clamps at
-128, the kata at -127, so the oracle's codes are clamped to -127 first). The scales are
compared with a relative tolerance of 1e-6 (float32 or float64 arithmetic both pass), and with
torch's PerChannelMinMaxObserver set to the symmetric range [-127, 127].

Where w / scale lands within rounding error of a half-integer, dividing or multiplying by the
reciprocal, in float32 or float64, can round either way. Generated weights are moved clear of
those knife edges; the exact halves are tested with scales of 1.0 and 0.5, where every method
computes w / scale exactly.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from katakit.testing import describe, exact

MARGIN = 1e-3  # how far from a half-integer every generated w / scale stays


def quant_equal(yours, expected):
    """(q, scale): q int8 and exactly equal; scale float32 of the same shape within rtol 1e-6."""
    if not isinstance(yours, tuple) or len(yours) != 2:
        return False
    q, scale = yours
    if not exact(q, expected[0]):
        return False
    if not isinstance(scale, torch.Tensor) or scale.dtype != torch.float32 or scale.shape != expected[1].shape:
        return False
    return scale.device == expected[1].device and bool(torch.allclose(scale, expected[1], rtol=1e-6, atol=0))


quant_equal.__doc__ = "codes exactly equal (int8), scales float32 within rtol 1e-6"


def check(result, expected_q, expected_scale, what):
    __tracebackhide__ = True
    assert isinstance(result, tuple) and len(result) == 2, (
        f"quantize_per_channel must return a tuple (q, scale), got {type(result).__name__}")
    q, scale = result
    assert exact(q, expected_q), f"{what}: wrong codes\n  expected: {describe(expected_q)}\n  yours:    {describe(q)}"
    assert isinstance(scale, torch.Tensor) and scale.dtype == torch.float32, (
        f"{what}: the scales must be a float32 tensor, got {describe(scale)}")
    assert scale.shape == expected_scale.shape and torch.allclose(scale, expected_scale, rtol=1e-6, atol=0), (
        f"{what}: wrong scales\n  expected: {describe(expected_scale)}\n  yours:    {describe(scale)}")


def channel_view(axis, ndim, channels):
    view = [1] * ndim
    view[axis % ndim] = channels
    return view


def float64_scales(w32, axis):
    """max |w| / 127 per channel in float64 (1.0 for all-zero channels): for keeping clear of knife edges."""
    w = w32.double()
    others = [d for d in range(w.dim()) if d != axis % w.dim()]
    amax = w.abs().amax(dim=others) if others else w.abs()
    return torch.where(amax > 0, amax / 127, torch.ones_like(amax))


def clear_of_half_integers(w32, scale64, axis):
    """Move weights whose w / scale is near a half-integer (and not clipped) a quarter step toward 0."""
    view = channel_view(axis, w32.dim(), scale64.shape[0])
    t = w32.double() / scale64.reshape(view)
    near = ((t.abs() % 1 - 0.5).abs() < MARGIN) & (t.abs() < 127)
    moved = w32.double() - torch.sign(t) * 0.25 * scale64.reshape(view)
    return torch.where(near, moved, w32.double()).float()


def knife_free(w32, scale64, axis):
    view = channel_view(axis, w32.dim(), scale64.shape[0])
    t = w32.double() / scale64.reshape(view)
    return bool((((t.abs() % 1 - 0.5).abs() >= MARGIN / 2) | (t.abs() >= 127)).all())


@st.composite
def weights(draw, max_elements=240):
    """(weight, axis): channels of very different sizes, some all zero, some with exact zeros."""
    ndim = draw(st.integers(1, 4), label="ndim")
    shape = draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim), label="shape")
    assume(math.prod(shape) <= max_elements)
    axis = draw(st.integers(-ndim, ndim - 1), label="axis")
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1), label="seed"))
    channels = shape[axis]
    w = torch.randn(shape, generator=generator, dtype=torch.float64)
    sizes = 10 ** (torch.rand(channels, generator=generator, dtype=torch.float64) * 6 - 3)
    zero_channels = draw(st.lists(st.sampled_from((False, False, False, True)), min_size=channels,
                                  max_size=channels), label="all-zero channels")
    sizes = torch.where(torch.tensor(zero_channels), 0.0, sizes)
    w = w * sizes.reshape(channel_view(axis, ndim, channels))
    w = torch.where(torch.rand(shape, generator=generator) < 0.1, 0.0, w).float()
    w = clear_of_half_integers(w, float64_scales(w, axis), axis)
    assume(knife_free(w, float64_scales(w, axis), axis))
    return w, axis


@st.composite
def weights_and_scales(draw):
    """(weight, axis, scale): given scales from a quarter to twice the fitted ones, so some weights clip."""
    w, axis = draw(weights())
    channels = w.shape[axis]
    factors = draw(st.lists(st.floats(0.25, 2.0), min_size=channels, max_size=channels), label="scale factors")
    scale64 = float64_scales(w, axis) * torch.tensor(factors, dtype=torch.float64)
    scale = scale64.float()
    w = clear_of_half_integers(w, scale.double(), axis)
    assume(knife_free(w, scale.double(), axis))
    return w, axis, scale


def torch_codes(w, scale, axis):
    """torch.quantize_per_channel's codes for these scales, clamped to the symmetric range."""
    if not hasattr(torch, "quantize_per_channel"):
        pytest.skip("this torch has no quantize_per_channel (deprecated in 2.13); the reference check stands")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 2.13 warns that quantized dtypes are deprecated
        q = torch.quantize_per_channel(w.float(), scale.double(), torch.zeros(scale.shape[0], dtype=torch.long),
                                       axis % w.dim(), torch.qint8)
        return q.int_repr().clamp(-127, 127)


def torch_observer_scales(w, axis):
    """PerChannelMinMaxObserver's scales for the symmetric range [-127, 127] (it needs 2-D input or more)."""
    observer_class = getattr(getattr(torch, "ao", None), "quantization", None)
    if observer_class is None or not hasattr(observer_class, "PerChannelMinMaxObserver"):
        pytest.skip("this torch has no torch.ao.quantization.PerChannelMinMaxObserver")
    observer = observer_class.PerChannelMinMaxObserver(
        ch_axis=axis % w.dim(), dtype=torch.qint8, qscheme=torch.per_channel_symmetric, quant_min=-127,
        quant_max=127)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        observer(w.float() if w.dim() > 1 else w.float().unsqueeze(1))
        scale, zero_point = observer.calculate_qparams()
    assert bool((zero_point == 0).all())
    return scale


# ---- fixed cases ------------------------------------------------------------------------------------

def test_docstring_example(kata):
    w = torch.tensor([[0.4, -1.0, 0.25], [127.0, 2.5, -3.5], [0.0, 0.0, 0.0]])
    check(kata.quantize_per_channel(w), torch.tensor([[51, -127, 32], [127, 2, -4], [0, 0, 0]], dtype=torch.int8),
          torch.tensor([1 / 127, 1.0, 1.0]), "the docstring example")
    q, _ = kata.quantize_per_channel(torch.tensor([[300.0, -2.5, -500.0]]), scale=torch.tensor([2.0]))
    assert exact(q, torch.tensor([[127, -1, -127]], dtype=torch.int8)), f"the docstring's clipping example: {q}"


def test_halves_round_to_even(kata):
    # Channel 0: max 127, scale exactly 1.0. Channel 1: max 63.5, scale exactly 0.5.
    w = torch.tensor([[127.0, 2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.5, -1.5, 126.5],
                      [63.5, 1.25, 1.75, -1.25, -1.75, 0.25, -0.25, 0.75, -0.75, 0.0]])
    expected = torch.tensor([[127, 2, 4, -2, -4, 0, 0, 2, -2, 126],
                             [127, 2, 4, -2, -4, 0, 0, 2, -2, 0]], dtype=torch.int8)
    check(kata.quantize_per_channel(w), expected, torch.tensor([1.0, 0.5]),
          "exact halves round to the even integer (2.5 -> 2, 3.5 -> 4, -0.5 -> 0), as torch.round does")


def test_given_scale_clips_to_plus_minus_127(kata):
    w = torch.tensor([[200.0, -300.0, -127.6, -127.4, 127.5, 126.5, -128.0, 1000.0]])
    expected = torch.tensor([[127, -127, -127, -127, 127, 126, -127, 127]], dtype=torch.int8)
    check(kata.quantize_per_channel(w, scale=torch.tensor([1.0])), expected, torch.tensor([1.0]),
          "codes beyond +-127 are clipped to +-127 (not to -128, and not wrapped around by the int8 cast)")


def test_given_scales_per_channel(kata):
    w = torch.tensor([[1.0, -6.0, 2.0], [100.0, 30.0, -400.0]])
    q, scale = kata.quantize_per_channel(w, 0, torch.tensor([0.5, 2.0], dtype=torch.float64))
    check((q, scale), torch.tensor([[2, -12, 4], [50, 15, -127]], dtype=torch.int8), torch.tensor([0.5, 2.0]),
          "given scales, one per row (float64 scales are read as float32)")


def test_all_zero_channels_get_scale_one(kata):
    w = torch.tensor([[0.0, 0.0], [0.0, -2.0], [0.0, 0.0]])
    check(kata.quantize_per_channel(w), torch.tensor([[0, 0], [0, -127], [0, 0]], dtype=torch.int8),
          torch.tensor([1.0, 2 / 127, 1.0]), "an all-zero channel gets scale 1.0 and codes 0 (no division by 0)")
    check(kata.quantize_per_channel(torch.zeros(2, 3, 4)), torch.zeros(2, 3, 4, dtype=torch.int8),
          torch.ones(2), "an all-zero weight")


def test_each_channel_gets_its_own_scale(kata):
    # Rows 10,000 times apart: one scale for the tensor would round the small row to zeros.
    w = torch.tensor([[1e-3, -4e-4, 2e-4], [10.0, 1.0, -3.0]])
    check(kata.quantize_per_channel(w), torch.tensor([[127, -51, 25], [127, 13, -38]], dtype=torch.int8),
          torch.tensor([1e-3 / 127, 10 / 127]), "each output channel (row) gets a scale for its own largest magnitude")


def test_channel_axis_of_a_conv_weight(kata):
    w = torch.zeros(3, 2, 2, 2)
    w[0, 1, 0, 1], w[0, 0, 1, 1] = -5.0, 1.2  # 1.2 * 127 / 5 = 30.48
    w[1, 0, 0, 0], w[1, 1, 1, 0] = 0.02, 0.013  # 0.013 * 127 / 0.02 = 82.55
    w[2, 1, 1, 1] = 7.0
    expected = torch.zeros(3, 2, 2, 2, dtype=torch.int8)
    expected[0, 1, 0, 1], expected[0, 0, 1, 1] = -127, 30
    expected[1, 0, 0, 0], expected[1, 1, 1, 0] = 127, 83
    expected[2, 1, 1, 1] = 127
    check(kata.quantize_per_channel(w, axis=0), expected, torch.tensor([5 / 127, 0.02 / 127, 7 / 127]),
          "a Conv2d weight (out, in, kh, kw): one scale per output channel, over all of in, kh and kw")


@pytest.mark.parametrize("axis", [1, -1])
def test_axis_one_and_minus_one(kata, axis):
    # A weight stored (in, out), as in a Keras Dense kernel: the channels are the columns.
    w = torch.tensor([[1.1, -20.0, 0.0], [-2.0, 5.0, 0.0], [0.5, 9.0, 0.0]])  # 69.85, 31.75; 31.75, 57.15
    check(kata.quantize_per_channel(w, axis=axis),
          torch.tensor([[70, -127, 0], [-127, 32, 0], [32, 57, 0]], dtype=torch.int8),
          torch.tensor([2 / 127, 20 / 127, 1.0]), f"axis={axis}: one scale per column")


def test_tiny_channels_get_their_own_exact_scale(kata):
    # Only an all-zero channel gets scale 1.0. A channel of tiny weights is not zero: its scale is its own
    # max / 127 however small, so its largest weight still maps to +-127. Treating magnitudes below some
    # threshold (1e-8, float32's eps) as zero, or clamping the scale from below as torch's observers do,
    # rounds such a channel to 0 or to a few codes.
    sizes = torch.tensor([1e-7, 1e-12, 1e-20, 1e-30, 2.0])
    w = sizes[:, None] * torch.tensor([1.0, -0.3, 0.71])  # w / scale = 127, -38.1, 90.17 for every row
    scale = sizes / 127
    expected = torch.tensor([[127, -38, 90]] * 5, dtype=torch.int8)
    check(kata.quantize_per_channel(w), expected, scale,
          "channels of tiny weights (1e-7 to 1e-30) are scaled by their own max / 127, like any other channel")


def test_one_dimensional_weight(kata):
    w = torch.tensor([0.5, -3.0, 0.0, 1e-6])
    check(kata.quantize_per_channel(w), torch.tensor([127, -127, 0, 127], dtype=torch.int8),
          torch.tensor([0.5 / 127, 3 / 127, 1.0, 1e-6 / 127]), "a 1-D weight: every element is its own channel")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16], ids=str)
def test_other_float_dtypes_are_read_as_float32(kata, dtype):
    w = torch.tensor([[0.3, -1.7, 0.9], [12.0, -3.3, 0.1]], dtype=dtype)
    q, scale = kata.quantize_per_channel(w)
    expected_q, expected_scale = kata.quantize_per_channel(w.float())
    check((q, scale), expected_q, expected_scale, f"a {dtype} weight must give what its float32 copy gives")


def test_returns_new_tensors_and_leaves_inputs_alone(kata):
    w = torch.tensor([[0.3, -1.7, 0.9], [12.0, -3.3, 0.1]])
    given = torch.tensor([0.01, 0.05])
    w_before, given_before = w.clone(), given.clone()
    q, scale = kata.quantize_per_channel(w)
    assert exact(w, w_before), "quantize_per_channel modified the weight"
    assert q.shape == w.shape and q.dtype == torch.int8 and q.device == w.device, describe(q)
    assert scale.shape == (2,) and scale.dtype == torch.float32 and scale.device == w.device, describe(scale)
    q, scale = kata.quantize_per_channel(w, 0, given)
    assert exact(w, w_before) and exact(given, given_before), "quantize_per_channel modified its inputs"
    scale.add_(1.0)
    assert exact(given, given_before), "the returned scales share memory with the given ones: return a new tensor"
    out = kata.dequantize_per_channel(q, given)
    assert out.dtype == torch.float32 and out.shape == q.shape, describe(out)
    assert exact(given, given_before), "dequantize_per_channel modified its scale"


def test_non_contiguous_weight_and_codes(kata):
    # Views whose channels cannot be flattened with .view(): a transposed 3-D weight, and a transposed,
    # strided 2-D one. They must give what their contiguous copies give.
    values = torch.tensor([0.3, -1.7, 0.9, 4.0, 12.0, -3.3, 0.1, -0.2, 0.0, 0.0, 0.0, 0.0,
                           2.2, 0.6, -0.04, 1.0, 5.0, 5.0, 5.0, 5.0, -7.5, 0.25, 3.1, -0.6])
    cases = {"transposed 3-D": values.reshape(4, 3, 2).transpose(1, 2),  # (4, 2, 3)
             "transposed and strided 2-D": values.reshape(4, 6).t()[::2]}  # (3, 4)
    for name, w in cases.items():
        assert not w.is_contiguous()
        for axis in (0, 1, -1):
            expected_q, expected_scale = kata.quantize_per_channel(w.contiguous(), axis)
            check(kata.quantize_per_channel(w, axis), expected_q, expected_scale,
                  f"a non-contiguous ({name}) weight of shape {tuple(w.shape)}, axis={axis}")
    q = torch.arange(-12, 12, dtype=torch.int8).reshape(4, 3, 2).transpose(1, 2)  # (4, 2, 3), not contiguous
    scale = torch.tensor([1.0, 0.5, 0.25, 2.0])
    expected = q.float() * scale.reshape(4, 1, 1)
    out = kata.dequantize_per_channel(q, scale)
    assert exact(out, expected), (f"dequantize_per_channel of non-contiguous codes\n  expected: {describe(expected)}"
                                  f"\n  yours:    {describe(out)}")


@pytest.mark.parametrize("layer", ["Linear", "Conv2d"])
def test_a_layer_weight_that_requires_grad(kata, layer):
    # The weight of a real layer is an nn.Parameter with requires_grad=True, the case the docstring names.
    torch.manual_seed(0)
    module = torch.nn.Linear(5, 3) if layer == "Linear" else torch.nn.Conv2d(2, 4, 3)
    before = module.weight.detach().clone()
    expected_q, expected_scale = kata.quantize_per_channel(before.clone())
    q, scale = kata.quantize_per_channel(module.weight)
    check((q, scale), expected_q, expected_scale, f"the weight of an nn.{layer} (a Parameter that requires grad)")
    assert exact(module.weight.detach(), before), f"quantize_per_channel modified the nn.{layer}'s weight"
    restored = kata.dequantize_per_channel(q, scale.detach())
    assert isinstance(restored, torch.Tensor) and restored.dtype == torch.float32 and restored.shape == before.shape


INVALID_WEIGHTS = {
    "0-d": (torch.tensor(1.0), 0, None),
    "empty": (torch.zeros(3, 0), 0, None),
    "integer dtype": (torch.tensor([[1, 2], [3, 4]]), 0, None),
    "NaN": (torch.tensor([[1.0, math.nan], [3.0, 4.0]]), 0, None),
    "infinity": (torch.tensor([[1.0, 2.0], [-math.inf, 4.0]]), 0, None),
    "axis 2 of 2": (torch.ones(2, 3), 2, None),
    "axis -3 of 2": (torch.ones(2, 3), -3, None),
    "scale of the wrong length": (torch.ones(2, 3), 0, torch.ones(3)),
    "2-D scale": (torch.ones(2, 3), 0, torch.ones(2, 1)),
    "0-d scale": (torch.ones(1, 3), 0, torch.tensor(0.5)),
    "infinite scale": (torch.ones(2, 3), 0, torch.tensor([1.0, math.inf])),
    "zero scale": (torch.ones(2, 3), 0, torch.tensor([1.0, 0.0])),
    "negative scale": (torch.ones(2, 3), 0, torch.tensor([1.0, -0.5])),
    "NaN scale": (torch.ones(2, 3), 0, torch.tensor([math.nan, 1.0])),
    "integer scale": (torch.ones(2, 3), 0, torch.tensor([1, 2])),
}


@pytest.mark.parametrize("case", list(INVALID_WEIGHTS))
def test_quantize_rejects_invalid_input(kata, case):
    weight, axis, scale = INVALID_WEIGHTS[case]
    with pytest.raises(ValueError):
        kata.quantize_per_channel(weight, axis, scale)


def test_dequantize_example(kata):
    q = torch.tensor([[51, -127, 32], [127, 2, -4]], dtype=torch.int8)
    out = kata.dequantize_per_channel(q, torch.tensor([1 / 127, 1.0]))
    expected = torch.tensor([[51 / 127, -1.0, 32 / 127], [127.0, 2.0, -4.0]])
    assert exact(out, q.float() * torch.tensor([[1 / 127], [1.0]])) and torch.allclose(out, expected), (
        f"dequantize_per_channel: expected q * scale per row\n  expected: {describe(expected)}\n"
        f"  yours:    {describe(out)}")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16], ids=str)
def test_dequantize_reads_scales_as_float32(kata, dtype):
    q = torch.tensor([[51, -127, 32], [127, 2, -4]], dtype=torch.int8)
    scale = torch.tensor([0.25, 3.0], dtype=dtype)
    out = kata.dequantize_per_channel(q, scale)
    expected = q.float() * torch.tensor([[0.25], [3.0]])
    assert exact(out, expected), (f"{dtype} scales: the result is float32, q * scale per row\n"
                                  f"  expected: {describe(expected)}\n  yours:    {describe(out)}")


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_dequantize_scales_along_the_axis(kata, axis):
    q = torch.arange(-8, 8, dtype=torch.int8).reshape(4, 4)  # square: broadcasting on the wrong axis still runs
    scale = torch.tensor([1.0, 0.5, 0.25, 2.0])
    out = kata.dequantize_per_channel(q, scale, axis)
    expected = q.float() * scale.reshape(channel_view(axis, 2, 4))
    assert exact(out, expected), (f"axis={axis}: channel c along axis {axis} is scaled by scale[c]\n"
                                  f"  expected: {describe(expected)}\n  yours:    {describe(out)}")


INVALID_CODES = {
    "float codes": (torch.ones(2, 3), torch.ones(2), 0),
    "int32 codes": (torch.ones(2, 3, dtype=torch.int32), torch.ones(2), 0),
    "0-d codes": (torch.tensor(3, dtype=torch.int8), torch.ones(1), 0),
    "wrong length": (torch.ones(2, 3, dtype=torch.int8), torch.ones(3), 0),
    "2-D scale": (torch.ones(2, 3, dtype=torch.int8), torch.ones(2, 1), 0),
    "0-d scale": (torch.ones(1, 3, dtype=torch.int8), torch.tensor(0.5), 0),
    "integer scale": (torch.ones(2, 3, dtype=torch.int8), torch.ones(2, dtype=torch.int64), 0),
    "axis out of range": (torch.ones(2, 3, dtype=torch.int8), torch.ones(2), 2),
}


@pytest.mark.parametrize("case", list(INVALID_CODES))
def test_dequantize_rejects_invalid_input(kata, case):
    q, scale, axis = INVALID_CODES[case]
    with pytest.raises(ValueError):
        kata.dequantize_per_channel(q, scale, axis)


# ---- generated weights: the reference, torch, and the error bound -----------------------------------

@settings(max_examples=120)
@given(weights())
def test_matches_reference(differential, case):
    w, axis = case
    differential("quantize_per_channel", w, axis, equal=quant_equal)


@settings(max_examples=80)
@given(weights_and_scales())
def test_matches_reference_with_given_scales(differential, case):
    w, axis, scale = case
    differential("quantize_per_channel", w, axis, scale, equal=quant_equal)


@settings(max_examples=60)
@given(weights())
def test_matches_torch(kata, case):
    w, axis = case
    q, scale = kata.quantize_per_channel(w, axis)
    nonzero = w.abs().amax(dim=[d for d in range(w.dim()) if d != axis % w.dim()]) > 0 if w.dim() > 1 else w != 0
    observed = torch_observer_scales(w, axis)
    assert isinstance(scale, torch.Tensor) and scale.shape == observed.shape, describe(scale)
    assert torch.allclose(scale[nonzero], observed[nonzero].float(), rtol=1e-6, atol=0), (
        f"the scales differ from PerChannelMinMaxObserver(per_channel_symmetric, quant_min=-127, quant_max=127)"
        f"\n  weight:   {describe(w)}, axis={axis}\n  expected: {describe(observed)}\n  yours:    {describe(scale)}")
    assert exact(q, torch_codes(w, scale, axis)), (
        f"the codes differ from torch.quantize_per_channel with your scales\n  weight:   {describe(w)}, axis={axis}"
        f"\n  expected: {describe(torch_codes(w, scale, axis))}\n  yours:    {describe(q)}")


@settings(max_examples=40)
@given(weights_and_scales())
def test_matches_torch_with_given_scales(kata, case):
    w, axis, scale = case
    q, _ = kata.quantize_per_channel(w, axis, scale)
    expected = torch_codes(w, scale, axis)
    assert exact(q, expected), (
        f"the codes differ from torch.quantize_per_channel, clamped to [-127, 127]\n  weight: {describe(w)}, "
        f"axis={axis}, scale={describe(scale)}\n  expected: {describe(expected)}\n  yours:    {describe(q)}")


@settings(max_examples=60)
@given(weights())
def test_round_trip_error_is_at_most_half_a_step(kata, case):
    w, axis = case
    q, scale = kata.quantize_per_channel(w, axis)
    restored = kata.dequantize_per_channel(q, scale, axis)
    assert isinstance(restored, torch.Tensor) and restored.dtype == torch.float32 and restored.shape == w.shape
    step = scale.double().reshape(channel_view(axis, w.dim(), scale.shape[0]))
    error = (restored.double() - w.double()).abs()
    assert bool((error <= step * (0.5 + 1e-5)).all()), (
        f"dequantize(quantize(w)) is more than half a step from w: largest error "
        f"{float((error / step).max()):.4f} steps\n  weight: {describe(w)}, axis={axis}")
    # The largest magnitude of every channel that is not all zero maps to +-127: the full range is used.
    others = [d for d in range(w.dim()) if d != axis % w.dim()]
    peak = q.abs().amax(dim=others) if others else q.abs()
    amax = w.abs().amax(dim=others) if others else w.abs()
    assert bool((peak[amax > 0] == 127).all()), f"a channel's largest weight must map to +-127; peaks {peak.tolist()}"


@settings(max_examples=60)
@given(weights_and_scales())
def test_dequantize_matches_reference_and_torch(differential, case):
    w, axis, scale = case
    q = torch_codes(w, scale, axis).to(torch.int8)
    out = differential("dequantize_per_channel", q, scale, axis, equal=exact)
    make = getattr(torch, "_make_per_channel_quantized_tensor", None)
    if make is None:
        return  # this torch has no way to wrap int8 codes as a quantized tensor; the reference check stands
    zeros = torch.zeros(scale.shape[0], dtype=torch.long)
    expected = make(q, scale.double(), zeros, axis % w.dim()).dequantize()
    assert torch.allclose(out, expected, rtol=1e-6, atol=0), (
        f"differs from torch's dequantize\n  expected: {describe(expected)}\n  yours:    {describe(out)}")
