"""Tests for fold_batchnorm: merge an eval-mode BatchNorm into the Linear or Conv layer before it.

The contract is about outputs: the folded layer computes bn.eval()(layer(x)). It is checked on
generated layers (every kind, with and without bias, strides, padding, dilation, groups and
padding modes, affine and non-affine BatchNorms with their own eps) against the unfolded pair,
and the folded weights against torch's own fuse_conv_bn_eval / fuse_linear_bn_eval. Most cases
run in float64, where folding changes the result by about 1e-15, so a tolerance of 1e-9 still
catches a forgotten eps; float32 cases use 1e-4, relative to the size of the output.

Layers and models are nn.Modules, which katakit's differential check cannot copy and compare;
these tests check for in-place changes themselves.
"""

from __future__ import annotations

import copy
from collections import OrderedDict

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from katakit.testing import describe

KINDS = {"linear": (nn.Linear, nn.BatchNorm1d, 0), "conv1d": (nn.Conv1d, nn.BatchNorm1d, 1),
         "conv2d": (nn.Conv2d, nn.BatchNorm2d, 2), "conv3d": (nn.Conv3d, nn.BatchNorm3d, 3)}
CONFIG = ("in_features", "out_features", "in_channels", "out_channels", "kernel_size", "stride", "padding",
          "dilation", "groups", "padding_mode", "transposed", "output_padding")


# ---- building layers -------------------------------------------------------------------------------

def randomise(module, generator, variance=(0.05, 4.0)):
    """Fill every parameter, and a BatchNorm's running statistics, from the generator."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            low, high = variance
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator, dtype=torch.float64) * 2)
            module.running_var.copy_(low + (high - low) * torch.rand(module.num_features, generator=generator,
                                                                      dtype=torch.float64))
    return module


def state(module):
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def assert_unchanged(module, before, training, what):
    __tracebackhide__ = True
    after = module.state_dict()
    changed = [key for key in before if key not in after or not torch.equal(after[key], before[key])]
    assert not changed and after.keys() == before.keys(), f"{what} was modified (changed: {changed}): work on copies"
    assert module.training == training, f"{what}'s training flag was changed (set it on your copy, not on the input)"


def tolerance(expected):
    scale = float(expected.abs().max()) + 1.0 if expected.numel() else 1.0
    return (1e-9, 1e-9 * scale) if expected.dtype == torch.float64 else (1e-4, 1e-4 * scale)


def assert_close(yours, expected, what):
    __tracebackhide__ = True
    assert isinstance(yours, torch.Tensor) and yours.dtype == expected.dtype and yours.shape == expected.shape, (
        f"{what}: expected a {expected.dtype} tensor of shape {tuple(expected.shape)}, got {describe(yours)}")
    rtol, atol = tolerance(expected)
    if not torch.allclose(yours, expected, rtol=rtol, atol=atol):
        worst = float((yours - expected).abs().max())
        raise AssertionError(f"{what}: largest difference {worst:.3g} (allowed rtol={rtol}, atol={atol:.2g})"
                             f"\n  expected: {describe(expected)}\n  yours:    {describe(yours)}")


def unfolded_output(layer, bn, x):
    """bn(layer(x)) with both in eval mode, on copies."""
    layer, bn = copy.deepcopy(layer).eval(), copy.deepcopy(bn).eval()
    with torch.no_grad():
        return bn(layer(x))


def torch_fused(layer, bn):
    fusion = pytest.importorskip("torch.nn.utils.fusion", reason="torch's fusion utilities are the oracle here")
    layer, bn = copy.deepcopy(layer).eval(), copy.deepcopy(bn).eval()
    if bn.weight is None:
        # fuse_linear_bn_eval cannot take a BatchNorm without affine (torch 2.13); an affine one
        # with weight 1 and bias 0 is the same map.
        affine = type(bn)(bn.num_features, eps=bn.eps, dtype=bn.running_mean.dtype).eval()
        affine.load_state_dict(bn.state_dict(), strict=False)
        bn = affine
    if isinstance(layer, nn.Linear):
        return fusion.fuse_linear_bn_eval(layer, bn)
    return fusion.fuse_conv_bn_eval(layer, bn)


def check_fold(kata, layer, bn, x, what):
    """Everything fold_batchnorm promises, for one (layer, bn) pair and an input x."""
    __tracebackhide__ = True
    before_layer, before_bn = state(layer), state(bn)
    flags = (layer.training, bn.training)
    folded = kata.fold_batchnorm(layer, bn)
    assert_unchanged(layer, before_layer, flags[0], f"{what}: the layer")
    assert_unchanged(bn, before_bn, flags[1], f"{what}: the BatchNorm")
    assert type(folded) is type(layer), (
        f"{what}: the folded layer must be a {type(layer).__name__}, got {type(folded).__name__}")
    assert folded is not layer, f"{what}: return a new layer, not the one you were given"
    for attribute in CONFIG:
        if hasattr(layer, attribute):
            assert getattr(folded, attribute, None) == getattr(layer, attribute), (
                f"{what}: the folded layer's {attribute} is {getattr(folded, attribute, None)!r}, "
                f"the layer's is {getattr(layer, attribute)!r}: keep the layer's configuration")
    assert isinstance(folded.weight, nn.Parameter) and isinstance(folded.bias, nn.Parameter), (
        f"{what}: the folded weight and bias must be nn.Parameters (the bias is always there)")
    assert folded.weight.dtype == layer.weight.dtype and folded.weight.device == layer.weight.device
    assert folded.weight.data_ptr() != layer.weight.data_ptr(), f"{what}: the folded weight shares the layer's memory"
    assert not folded.training, f"{what}: return the folded layer in eval mode"
    with torch.no_grad():
        yours = folded(x)
    assert_close(yours, unfolded_output(layer, bn, x), f"{what}: folded(x) must equal bn.eval()(layer(x))")
    fused = torch_fused(layer, bn)
    assert_close(folded.weight.detach(), fused.weight.detach(), f"{what}: weight, against torch's fusion")
    assert_close(folded.bias.detach(), fused.bias.detach(), f"{what}: bias, against torch's fusion")
    return folded


# ---- generated pairs -----------------------------------------------------------------------------

@st.composite
def pairs(draw):
    kind = draw(st.sampled_from(list(KINDS)), label="kind")
    layer_class, bn_class, spatial = KINDS[kind]
    dtype = draw(st.sampled_from((torch.float64, torch.float64, torch.float32)), label="dtype")
    groups = 1 if kind == "linear" else draw(st.sampled_from((1, 1, 2)), label="groups")
    in_channels = groups * draw(st.integers(1, 3), label="inputs per group")
    out_channels = groups * draw(st.integers(1, 3), label="outputs per group")
    bias = draw(st.booleans(), label="bias")
    batch = draw(st.integers(1, 3), label="batch")
    if kind == "linear":
        layer = nn.Linear(in_channels, out_channels, bias=bias, dtype=dtype)
        x_shape = (batch, in_channels)
    else:
        kernel = draw(st.integers(1, 3), label="kernel")
        stride = draw(st.integers(1, 2), label="stride")
        dilation = draw(st.integers(1, 2), label="dilation")
        padding = draw(st.integers(0, 2), label="padding")
        mode = draw(st.sampled_from(("zeros", "zeros", "reflect", "replicate", "circular")), label="padding mode")
        size = {1: 7, 2: 5, 3: 4}[spatial]
        assume(padding < size and (kernel - 1) * dilation + 1 <= size + 2 * padding)
        layer = layer_class(in_channels, out_channels, kernel, stride=stride, padding=padding, dilation=dilation,
                            groups=groups, bias=bias, padding_mode=mode, dtype=dtype)
        x_shape = (batch, in_channels) + (size,) * spatial
    bn = bn_class(out_channels, eps=draw(st.sampled_from((1e-5, 1e-3, 0.1)), label="eps"),
                  affine=draw(st.booleans(), label="affine"), dtype=dtype)
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1), label="seed"))
    randomise(layer, generator)
    randomise(bn, generator)
    layer.train(draw(st.booleans(), label="layer training"))
    bn.train(draw(st.booleans(), label="bn training"))
    x = torch.randn(x_shape, generator=generator, dtype=torch.float64).to(dtype)
    return layer, bn, x


# ---- fixed cases ---------------------------------------------------------------------------------

def example_pair():
    layer = nn.Linear(2, 2, bias=False)
    bn = nn.BatchNorm1d(2, eps=0.0)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        bn.running_mean.copy_(torch.tensor([1.0, -1.0]))
        bn.running_var.copy_(torch.tensor([4.0, 0.25]))
        bn.weight.copy_(torch.tensor([1.0, 0.5]))
        bn.bias.copy_(torch.tensor([0.0, 10.0]))
    return layer, bn


def test_docstring_example(kata):
    layer, bn = example_pair()
    folded = kata.fold_batchnorm(layer, bn)
    assert isinstance(folded, nn.Linear), f"expected an nn.Linear, got {type(folded).__name__}"
    assert torch.equal(folded.weight.detach(), torch.tensor([[0.5, 1.0], [3.0, 4.0]])), (
        f"W' = W * s per output channel (row), s = gamma / sqrt(var + eps) = [0.5, 1.0]; got {describe(folded.weight)}")
    assert folded.bias is not None and torch.equal(folded.bias.detach(), torch.tensor([-0.5, 11.0])), (
        f"b' = (b - mean) * s + beta with b = 0 = [-0.5, 11.0]; got {describe(folded.bias)}")


def double_pair(layer_class=nn.Conv2d, bias=True, eps=1e-5, variance=(0.05, 4.0), affine=True, seed=0, **config):
    generator = torch.Generator().manual_seed(seed)
    bn_class = {nn.Linear: nn.BatchNorm1d, nn.Conv1d: nn.BatchNorm1d, nn.Conv2d: nn.BatchNorm2d,
                nn.Conv3d: nn.BatchNorm3d}[layer_class]
    if layer_class is nn.Linear:
        layer = nn.Linear(4, 6, bias=bias, dtype=torch.float64)
    else:
        layer = layer_class(4, 6, config.pop("kernel_size", 3), bias=bias, dtype=torch.float64, **config)
    bn = bn_class(6, eps=eps, affine=affine, dtype=torch.float64)
    randomise(layer, generator)
    randomise(bn, generator, variance)
    return layer, bn, generator


def input_for(layer, generator, size=6):
    spatial = {nn.Linear: 0, nn.Conv1d: 1, nn.Conv2d: 2, nn.Conv3d: 3}[type(layer)]
    channels = layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels
    return torch.randn((3, channels) + (size,) * spatial, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("layer_class", [nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d], ids=lambda c: c.__name__)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_each_kind_with_and_without_bias(kata, layer_class, bias):
    layer, bn, generator = double_pair(layer_class, bias=bias, seed=1)
    check_fold(kata, layer, bn, input_for(layer, generator), f"{layer_class.__name__}(bias={bias})")


def test_eps_is_added_to_the_variance_inside_the_square_root(kata):
    # Small variances and a large eps: leaving eps out, or adding it outside the root, is far off.
    layer, bn, generator = double_pair(nn.Conv2d, eps=0.1, variance=(0.001, 0.02), seed=2)
    check_fold(kata, layer, bn, input_for(layer, generator), "eps=0.1 with running variances around 0.01")


def test_layer_bias_is_folded_in(kata):
    layer, bn, generator = double_pair(nn.Linear, bias=True, seed=3)
    with torch.no_grad():
        layer.bias.copy_(torch.linspace(-5, 5, 6, dtype=torch.float64))
    check_fold(kata, layer, bn, input_for(layer, generator), "a Linear with a large bias: b' = (b - mean) * s + beta")


def test_non_affine_batchnorm(kata):
    layer, bn, generator = double_pair(nn.Conv1d, affine=False, seed=4)
    check_fold(kata, layer, bn, input_for(layer, generator), "BatchNorm1d(affine=False): gamma = 1 and beta = 0")


@pytest.mark.parametrize("config", [
    {"stride": 2, "padding": 1},
    {"dilation": 2, "padding": 2, "padding_mode": "reflect"},
    {"groups": 2, "padding": 1, "padding_mode": "circular"},
    {"kernel_size": (3, 1), "stride": (1, 2), "padding": (1, 0), "padding_mode": "replicate"},
    {"padding": "same", "dilation": 2},
], ids=["stride-padding", "dilation-reflect", "groups-circular", "rectangular-replicate", "same"])
def test_convolution_configuration_is_kept(kata, config):
    layer, bn, generator = double_pair(nn.Conv2d, seed=5, **dict(config))
    check_fold(kata, layer, bn, input_for(layer, generator, size=7), f"Conv2d(4, 6, ..., {config})")


@pytest.mark.parametrize("layer_training, bn_training", [(True, True), (False, True), (True, False)])
def test_uses_running_statistics_whatever_the_modes(kata, layer_training, bn_training):
    layer, bn, generator = double_pair(nn.Conv2d, seed=6)
    layer.train(layer_training)
    bn.train(bn_training)
    check_fold(kata, layer, bn, input_for(layer, generator),
               f"layer.training={layer_training}, bn.training={bn_training}: fold with the running statistics")


def test_float32_pair(kata):
    generator = torch.Generator().manual_seed(7)
    layer, bn = randomise(nn.Conv2d(3, 5, 3, padding=1), generator), randomise(nn.BatchNorm2d(5), generator)
    layer, bn = layer.float(), bn.float()
    check_fold(kata, layer, bn, torch.randn(2, 3, 6, 6, generator=generator), "a float32 Conv2d")


@pytest.mark.parametrize("layer_class", [nn.Conv2d, nn.Conv3d], ids=lambda c: c.__name__)
def test_channels_last_weights(kata, layer_class):
    # A model converted for fast inference with .to(memory_format=torch.channels_last) has weights that are
    # not contiguous: W' must still scale output channel c (dim 0), whatever the strides.
    layer, bn, generator = double_pair(layer_class, seed=8, padding=1)
    memory_format = torch.channels_last if layer_class is nn.Conv2d else torch.channels_last_3d
    layer = layer.to(memory_format=memory_format)
    assert not layer.weight.is_contiguous()
    check_fold(kata, layer, bn, input_for(layer, generator, size=5), f"a {layer_class.__name__} in {memory_format}")


@pytest.mark.parametrize("layer_class, dtype", [(nn.Conv2d, torch.bfloat16), (nn.Linear, torch.float16)],
                         ids=["Conv2d-bfloat16", "Linear-float16"])
def test_half_precision_layer_with_a_float32_batchnorm(kata, layer_class, dtype):
    # Mixed precision: a half-precision layer followed by a BatchNorm kept in float32, which bn(layer(x))
    # allows. The folded layer has the LAYER's dtype (a float32 s times a half weight is float32: cast back).
    layer, bn, generator = double_pair(layer_class, seed=9)
    x = input_for(layer, generator)
    layer, bn = layer.to(dtype), bn.float()
    before_layer, before_bn = state(layer), state(bn)
    folded = kata.fold_batchnorm(layer, bn)
    assert_unchanged(layer, before_layer, layer.training, "the layer")
    assert_unchanged(bn, before_bn, bn.training, "the BatchNorm")
    assert type(folded) is layer_class and folded.weight.dtype == dtype and folded.bias.dtype == dtype, (
        f"a {dtype} {layer_class.__name__} folds into a {dtype} {layer_class.__name__}, whatever the BatchNorm's "
        f"dtype; got weight {describe(folded.weight)}, bias {describe(folded.bias)}")
    with torch.no_grad():
        yours = folded(x.to(dtype)).double()
        exact = unfolded_output(copy.deepcopy(layer).double(), copy.deepcopy(bn).double(), x)
    scale = float(exact.abs().max()) + 1.0
    assert torch.allclose(yours, exact, rtol=0.05, atol=0.05 * scale), (
        f"folded(x) in {dtype} is far from the exact bn(layer(x)) (allowed: {dtype}'s rounding, 5% of the output's "
        f"size)\n  expected: {describe(exact)}\n  yours:    {describe(yours)}")


INVALID_PAIRS = {
    "Linear + BatchNorm2d": lambda: (nn.Linear(3, 4), nn.BatchNorm2d(4)),
    "Conv2d + BatchNorm1d": lambda: (nn.Conv2d(3, 4, 3), nn.BatchNorm1d(4)),
    "Conv1d + BatchNorm2d": lambda: (nn.Conv1d(3, 4, 3), nn.BatchNorm2d(4)),
    "Conv3d + BatchNorm2d": lambda: (nn.Conv3d(3, 4, 3), nn.BatchNorm2d(4)),
    "ConvTranspose2d + BatchNorm2d": lambda: (nn.ConvTranspose2d(3, 4, 3), nn.BatchNorm2d(4)),
    "ReLU + BatchNorm1d": lambda: (nn.ReLU(), nn.BatchNorm1d(4)),
    "Linear + LayerNorm": lambda: (nn.Linear(3, 4), nn.LayerNorm(4)),
    "wrong number of features": lambda: (nn.Conv2d(3, 4, 3), nn.BatchNorm2d(5)),
    "no running statistics": lambda: (nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False)),
}


@pytest.mark.parametrize("case", list(INVALID_PAIRS))
def test_rejects_pairs_that_cannot_be_folded(kata, case):
    layer, bn = INVALID_PAIRS[case]()
    with pytest.raises(ValueError):
        kata.fold_batchnorm(layer, bn)


# ---- fold_model ----------------------------------------------------------------------------------

def model_output(model, x):
    model = copy.deepcopy(model).eval()
    with torch.no_grad():
        return model(x)


def check_model(kata, model, x, expected_names, what):
    __tracebackhide__ = True
    before, training = state(model), model.training
    flags = [m.training for m in model.modules()]
    folded = kata.fold_model(model)
    assert_unchanged(model, before, training, f"{what}: the model")
    assert [m.training for m in model.modules()] == flags, f"{what}: the model's modules changed training mode"
    assert isinstance(folded, nn.Sequential) and folded is not model, f"{what}: return a new nn.Sequential"
    names = [name for name, _ in folded.named_children()]
    assert names == expected_names, (
        f"{what}: the folded model's children must be {expected_names} (each folded layer keeps its name, the "
        f"BatchNorm's name goes), got {names}")
    assert not any(m.training for m in folded.modules()), f"{what}: return the folded model in eval mode"
    original = {p.data_ptr() for p in model.parameters()} | {b.data_ptr() for b in model.buffers()}
    shared = [n for n, p in list(folded.named_parameters()) + list(folded.named_buffers()) if p.data_ptr() in original]
    assert not shared, f"{what}: the folded model shares tensors with the original ({shared}): deep-copy what you keep"
    with torch.no_grad():
        yours = folded(x)
    assert_close(yours, model_output(model, x), f"{what}: the folded model's output must equal model.eval()'s")
    return folded


def trained_like(model, seed):
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if not list(module.children()):
            randomise(module, generator)
    return model.double().train()


def test_fold_model_example(kata):
    model = trained_like(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                                       nn.Linear(8, 4), nn.BatchNorm1d(4)), seed=10)
    folded = check_model(kata, model, torch.randn(5, 3, 3, 3, dtype=torch.float64), ["0", "2", "3", "4"],
                         "the docstring's model")
    assert type(folded[0]) is nn.Conv2d and folded[0].bias is not None and type(folded[3]) is nn.Linear


def test_fold_model_keeps_names(kata):
    model = trained_like(nn.Sequential(OrderedDict([
        ("conv1", nn.Conv1d(2, 4, 3, bias=False)), ("bn1", nn.BatchNorm1d(4)), ("act", nn.ReLU()),
        ("conv2", nn.Conv1d(4, 4, 3, padding=1)), ("bn2", nn.BatchNorm1d(4, eps=0.1)),
        ("pool", nn.AdaptiveAvgPool1d(1)),
    ])), seed=11)
    check_model(kata, model, torch.randn(3, 2, 9, dtype=torch.float64), ["conv1", "act", "conv2", "pool"],
                "named children")


def test_fold_model_leaves_unfoldable_batchnorms(kata):
    model = trained_like(nn.Sequential(
        nn.BatchNorm1d(3),                               # first: nothing before it
        nn.Linear(3, 5), nn.ReLU(), nn.BatchNorm1d(5),   # after an activation: not foldable
        nn.Linear(5, 4), nn.BatchNorm1d(4, track_running_stats=False),  # no running statistics
        nn.Linear(4, 2), nn.BatchNorm1d(2),              # foldable
    ), seed=12)
    check_model(kata, model, torch.randn(6, 3, dtype=torch.float64), ["0", "1", "2", "3", "4", "5", "6"],
                "only a BatchNorm right after a matching layer, with running statistics, is folded")


def test_fold_model_leaves_a_batchnorm_of_the_wrong_kind(kata):
    # A Linear applied to the last axis of (N, C, H, W) input, then BatchNorm2d over C: the sizes match
    # (3 and 3) and the model runs, but BatchNorm2d normalises axis 1, not the Linear's outputs. Not a pair.
    model = trained_like(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm2d(3), nn.ReLU()), seed=17)
    check_model(kata, model, torch.randn(2, 3, 5, 4, dtype=torch.float64), ["0", "1", "2"],
                "Linear then BatchNorm2d (not one of the PAIRS, though the sizes match)")


def test_fold_model_folds_one_batchnorm_per_layer(kata):
    # The second BatchNorm follows a BatchNorm, not a layer: it stays, though folding it too would compute the same.
    model = trained_like(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.BatchNorm1d(4, eps=0.2), nn.ReLU()),
                         seed=15)
    check_model(kata, model, torch.randn(5, 3, dtype=torch.float64), ["0", "2", "3"],
                "Linear, BatchNorm1d, BatchNorm1d: only the BatchNorm right after the Linear is folded (look at the "
                "model's children, not at the layers you have already folded)")


def test_fold_model_looks_at_direct_children_only(kata):
    # A block nested in the model is a child like any other: deep-copied as it is, not searched for pairs.
    block = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU())
    model = trained_like(nn.Sequential(block, nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Flatten()), seed=16)
    folded = check_model(kata, model, torch.randn(2, 2, 4, 4, dtype=torch.float64), ["0", "1", "3"],
                         "a model whose first child is a Sequential block")
    inner = [type(m).__name__ for m in folded[0].children()] if isinstance(folded[0], nn.Sequential) else folded[0]
    assert inner == ["Conv2d", "BatchNorm2d", "ReLU"], (
        f"the nested block must be deep-copied unchanged (fold_model looks at the model's direct children only), "
        f"got {inner}")


def test_fold_model_without_batchnorm_is_a_copy(kata):
    model = trained_like(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)), seed=13)
    check_model(kata, model, torch.randn(4, 3, dtype=torch.float64), ["0", "1", "2"], "a model with no BatchNorm")


def test_fold_model_in_eval_mode_and_float32(kata):
    model = trained_like(nn.Sequential(nn.Conv3d(2, 3, 2), nn.BatchNorm3d(3), nn.ReLU()), seed=14).float().eval()
    check_model(kata, model, torch.randn(2, 2, 4, 4, 4), ["0", "2"], "a float32 Conv3d model already in eval mode")


# ---- generated pairs ---------------------------------------------------------------------------

@settings(max_examples=50)
@given(pairs())
def test_generated_pairs(kata, case):
    layer, bn, x = case
    check_fold(kata, layer, bn, x, f"{layer!r} + {bn!r}")


@settings(max_examples=15)
@given(pairs())
def test_generated_pairs_in_a_model(kata, case):
    layer, bn, x = case
    flatten = nn.Flatten() if not isinstance(layer, nn.Linear) else nn.Identity()
    model = nn.Sequential(layer, bn, nn.ReLU(), flatten).to(layer.weight.dtype)
    check_model(kata, model, x, ["0", "2", "3"], f"nn.Sequential({layer!r}, {bn!r}, ReLU, ...)")
