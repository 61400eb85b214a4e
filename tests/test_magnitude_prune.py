"""Tests for magnitude_prune: global magnitude pruning of a model's Linear and Conv weights.

torch.nn.utils.prune.global_unstructured with L1Unstructured is the oracle, alongside the
reference solution. Which of several weights of exactly the same magnitude is pruned at the
edge of the pruned set is the learner's choice (torch's topk makes one, a stable sort another),
so the generated models have no two prunable weights of the same magnitude, and ties are tested
on their own by checking only what the task fixes: how many are pruned, and that no pruned
weight is larger than a kept one.

The models are nn.Modules, which katakit's differential check cannot copy and compare, so these
tests compare with the reference themselves, and check that the model is left unchanged.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from katakit.testing import describe

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)  # the tests' own copy of the task's rule


# ---- models --------------------------------------------------------------------------------------

class ScaledLinear(nn.Linear):
    """A subclass of nn.Linear: isinstance says it is prunable."""

    def forward(self, x):
        return 2 * super().forward(x)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3)
        self.norm = nn.BatchNorm1d(3)
        self.head = nn.Sequential(nn.Flatten(), ScaledLinear(3 * 4, 5))

    def forward(self, x):
        return self.head(torch.relu(self.norm(self.conv(x))))


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.volume = nn.Conv3d(1, 2, 2, bias=False)
        self.norm = nn.LayerNorm(4)
        self.out = nn.Linear(4, 3)

    def forward(self, tokens, volume):
        return self.out(self.norm(self.embed(tokens))).sum() + self.volume(volume).sum()


class OtherLayers(nn.Module):
    """Layers with a weight that are NOT prunable (ConvTranspose2d is not a Conv2d, Bilinear is not a Linear),
    and a MultiheadAttention, whose out_proj IS a Linear (a subclass) and whose in_proj_weight is not."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(2, 3, 2)
        self.mix = nn.Bilinear(3, 4, 2)
        self.attn = nn.MultiheadAttention(4, 2)
        self.conv = nn.Conv2d(3, 2, 2)
        self.out = nn.Linear(4, 3)


ARCHITECTURES = {
    "mlp": lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)),
    "cnn": lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(3 * 4 * 4, 4)),
    "nested": Encoder,
    "mixed": Mixed,
    "one linear": lambda: nn.Linear(5, 5),
    "no biases": lambda: nn.Sequential(nn.Linear(4, 4, bias=False), nn.Tanh(), nn.Linear(4, 2, bias=False)),
    "other layers": OtherLayers,
}


def prunable(model):
    """[(name, module)] of the layers whose weight is pruned, named as named_parameters() names them."""
    return [(f"{name}.weight" if name else "weight", module) for name, module in model.named_modules()
            if isinstance(module, PRUNABLE)]


def fill(model, seed, biases=None, layer_bias=None):
    """Every parameter from a seeded generator; prunable weights get distinct magnitudes (no ties).

    Each element of the prunable weights gets a random key, plus a per-layer offset from
    `layer_bias` (so some layers hold mostly small weights and others mostly large ones);
    the element with the r-th smallest key gets magnitude (r + 1) / N and a random sign.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
        layers = prunable(model)
        sizes = [module.weight.numel() for _, module in layers]
        offsets = layer_bias or [0.0] * len(layers)
        keys = torch.cat([torch.rand(n, generator=generator, dtype=torch.float64) + offsets[i % len(offsets)]
                          for i, n in enumerate(sizes)])
        ranks = torch.empty_like(keys)
        ranks[keys.argsort()] = torch.arange(len(keys), dtype=torch.float64)
        signs = torch.where(torch.rand(len(keys), generator=generator) < 0.5, -1.0, 1.0).double()
        values = signs * (ranks + 1) / len(keys)
        start = 0
        for (_, module), n in zip(layers, sizes, strict=True):
            module.weight.copy_(values[start:start + n].reshape(module.weight.shape))
            start += n
            if biases is not None and getattr(module, "bias", None) is not None:
                module.bias.fill_(biases)
    return model


def build(name, seed, **options):
    return fill(ARCHITECTURES[name](), seed, **options)


def state(model):
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def assert_model_unchanged(model, before, training, what):
    __tracebackhide__ = True
    after = model.state_dict()
    assert after.keys() == before.keys(), f"{what} changed the model's parameters: {sorted(after)} vs {sorted(before)}"
    changed = [key for key in before if not torch.equal(after[key], before[key])]
    assert not changed, f"{what} modified the model it was given (changed: {changed}); work on a copy"
    assert model.training == training, f"{what} changed the model's training flag"
    assert not model._forward_pre_hooks and all(not m._forward_pre_hooks for m in model.modules()), (
        f"{what} left pruning hooks on the model it was given")


# ---- comparisons ---------------------------------------------------------------------------------

def check_masks(masks, model, expected, what):
    __tracebackhide__ = True
    assert isinstance(masks, dict), f"{what}: expected a dict name -> mask, got {type(masks).__name__}"
    assert masks.keys() == expected.keys(), (
        f"{what}: the masks must be keyed by the names of the pruned weights\n"
        f"  expected keys: {sorted(expected)}\n  yours:         {sorted(masks)}")
    parameters = dict(model.named_parameters())
    for name, mask in masks.items():
        weight = parameters[name]
        assert isinstance(mask, torch.Tensor) and mask.dtype == torch.bool and mask.shape == weight.shape, (
            f"{what}: the mask of {name} must be a bool tensor of shape {tuple(weight.shape)}, got {describe(mask)}")
        assert mask.device == weight.device, f"{what}: the mask of {name} must be on {weight.device}"
    differ = [name for name in masks if not torch.equal(masks[name], expected[name])]
    if differ:
        lines = [f"  {name}:\n    weight:   {describe(parameters[name])}\n    expected: {describe(expected[name])}"
                 f"\n    yours:    {describe(masks[name])}" for name in differ]
        raise AssertionError(f"{what}: wrong masks (True = kept)\n" + "\n".join(lines))


def torch_masks(model, sparsity):
    """torch.nn.utils.prune.global_unstructured with L1Unstructured on a copy: the masks, as bools."""
    prune = pytest.importorskip("torch.nn.utils.prune", reason="torch's pruning utilities are the oracle")
    work = copy.deepcopy(model)
    layers = prunable(work)
    prune.global_unstructured([(module, "weight") for _, module in layers], pruning_method=prune.L1Unstructured,
                              amount=float(sparsity))
    return {name: module.weight_mask.bool() for name, module in layers}


def check_against_reference(kata, reference, model, sparsity):
    __tracebackhide__ = True
    expected = reference.pruning_masks(copy.deepcopy(model), sparsity)
    before, training = state(model), model.training
    masks = kata.pruning_masks(model, sparsity)
    assert_model_unchanged(model, before, training, "pruning_masks")
    check_masks(masks, model, expected, f"pruning_masks(model, sparsity={sparsity!r})")


def check_valid_choice(masks, model, sparsity):
    """For weights with ties: the right keys and count, and no pruned weight larger than a kept one."""
    __tracebackhide__ = True
    weights = dict(prunable(model))
    assert isinstance(masks, dict) and masks.keys() == weights.keys(), (
        f"the masks must be keyed by {sorted(weights)}, got {sorted(masks) if isinstance(masks, dict) else masks}")
    magnitudes = torch.cat([weights[name].weight.detach().abs().flatten() for name in weights])
    keep = torch.cat([masks[name].flatten() for name in weights])
    assert keep.dtype == torch.bool, f"masks must be bool tensors, got {keep.dtype}"
    k = round(sparsity * magnitudes.numel())
    pruned = int((~keep).sum())
    assert pruned == k, (f"sparsity {sparsity} of {magnitudes.numel()} weights prunes "
                         f"round({sparsity} * {magnitudes.numel()}) = {k}, yours prunes {pruned}")
    if 0 < k < magnitudes.numel():
        largest_pruned, smallest_kept = magnitudes[~keep].max(), magnitudes[keep].min()
        assert largest_pruned <= smallest_kept, (
            f"a pruned weight (|w| = {float(largest_pruned)}) is larger than a kept one (|w| = {float(smallest_kept)})")


# ---- fixed cases ---------------------------------------------------------------------------------

def example_model():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.1, -0.5, 0.3], [-0.2, 0.05, 0.4]]))
        model[2].weight.copy_(torch.tensor([[0.6, -0.01]]))
        model[0].bias.copy_(torch.tensor([0.001, -0.002]))
        model[2].bias.fill_(0.003)
    return model


def test_docstring_example(kata):
    model = example_model()
    masks = kata.pruning_masks(model, 0.5)
    check_masks(masks, model, {"0.weight": torch.tensor([[False, True, True], [False, False, True]]),
                               "2.weight": torch.tensor([[True, False]])},
                "8 weights at sparsity 0.5: the 4 of smallest |w| (0.01, 0.05, 0.1, 0.2) are pruned, in any layer")


def test_global_not_per_layer(kata):
    # 12 tiny weights in the first layer, 4 large ones in the second: at 75%, the whole first layer goes.
    model = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.arange(1, 13, dtype=torch.float32).reshape(4, 3) * -1e-3)
        model[1].weight.copy_(torch.tensor([[1.0, -2.0, 3.0, 4.0]]))
    masks = kata.pruning_masks(model, 0.75)
    check_masks(masks, model, {"0.weight": torch.zeros(4, 3, dtype=torch.bool),
                               "1.weight": torch.ones(1, 4, dtype=torch.bool)},
                "global pruning ranks every weight of the model together: the 12 smallest are all in layer 0")


@pytest.mark.parametrize("n, sparsity, k", [
    (5, 0.5, 2), (5, 0.1, 0), (5, 0.3, 2), (5, 0.7, 4), (5, 0.9, 4), (10, 0.25, 2), (10, 0.15, 2),
    (100, 0.29, 29), (100, 0.57, 57), (7, 0.999, 7), (7, 0.001, 0),
])
def test_number_pruned_is_python_round_of_sparsity_times_n(kata, n, sparsity, k):
    model = nn.Linear(n, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.arange(1, n + 1, dtype=torch.float32).flip(0).reshape(1, n) / n)
    masks = kata.pruning_masks(model, sparsity)
    expected = torch.arange(n).flip(0).reshape(1, n) >= k  # the k smallest are the last k
    check_masks(masks, model, {"weight": expected},
                f"{n} weights at sparsity {sparsity}: round({sparsity} * {n}) = round({sparsity * n!r}) = {k} "
                f"pruned (Python's round: halves go to even; and not int(), which truncates)")


@pytest.mark.parametrize("sparsity, kept", [(0.0, True), (0, True), (1.0, False), (1, False)])
def test_nothing_or_everything(kata, sparsity, kept):
    model = build("cnn", 3)
    masks = kata.pruning_masks(model, sparsity)
    check_masks(masks, model, {name: torch.full(m.weight.shape, kept) for name, m in prunable(model)},
                f"sparsity {sparsity} prunes {'nothing' if kept else 'everything'}")


def test_only_linear_and_conv_weights_are_pruned(kata):
    # Tiny biases, and BatchNorm / LayerNorm / Embedding weights, must stay out of the ranking.
    for name in ("cnn", "mixed", "nested"):
        model = build(name, 11, biases=1e-6)
        expected = torch_masks(model, 0.4)
        masks = kata.pruning_masks(model, 0.4)
        check_masks(masks, model, expected, f"{name}: only the weights of Linear and Conv1d/2d/3d layers count "
                                            f"(not biases, BatchNorm, LayerNorm or Embedding)")


def test_transposed_convolutions_and_other_weighted_layers_are_left_out(kata):
    # Their weights are tiny, so putting any of them in the ranking prunes them first and shifts the edge.
    model = build("other layers", 13)
    with torch.no_grad():
        prunable_weights = {id(module.weight) for _, module in prunable(model)}
        for parameter in model.parameters():
            if id(parameter) not in prunable_weights:
                parameter.mul_(1e-6)
    expected = torch_masks(model, 0.3)
    assert sorted(expected) == ["attn.out_proj.weight", "conv.weight", "out.weight"]
    check_masks(kata.pruning_masks(model, 0.3), model, expected,
                "only Linear and Conv1d/2d/3d weights are ranked (isinstance): not ConvTranspose2d (a _ConvNd but not "
                "a Conv2d), not Bilinear, not MultiheadAttention's in_proj_weight; its out_proj is a Linear and counts")


def test_names_at_any_depth_and_a_bare_layer(kata):
    model = build("nested", 5)
    masks = kata.pruning_masks(model, 0.5)
    assert isinstance(masks, dict) and sorted(masks) == ["conv.weight", "head.1.weight"], (
        f"keys must be named_parameters() names, 'conv.weight' and 'head.1.weight' (a subclass of nn.Linear "
        f"counts); got {sorted(masks) if isinstance(masks, dict) else masks}")
    layer = build("one linear", 5)
    masks = kata.pruning_masks(layer, 0.5)
    assert isinstance(masks, dict) and list(masks) == ["weight"], (
        f"a model that is itself a Linear layer has one weight, named 'weight'; got {masks}")


TIES = {
    "all equal": [[0.5, -0.5, 0.5], [-0.5, 0.5, 0.5]],
    "tie across the edge": [[0.1, 0.2, -0.2], [0.2, 0.9, -0.2]],
    "zeros first": [[0.0, 0.3, -0.0], [0.0, 0.7, 0.0]],
    "two levels": [[1.0, -1.0, 2.0], [2.0, -2.0, 1.0]],
}


@pytest.mark.parametrize("case", list(TIES))
@pytest.mark.parametrize("sparsity", [0.25, 0.5, 0.6])
def test_ties_any_valid_choice(kata, case, sparsity):
    model = nn.Sequential(nn.Linear(3, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(TIES[case]))
    check_valid_choice(kata.pruning_masks(model, sparsity), model, sparsity)


def test_existing_zeros_are_pruned_first(kata):
    model = nn.Sequential(nn.Linear(4, 1, bias=False), nn.Linear(1, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.0, 0.3, -0.1, 0.0]]))
        model[1].weight.copy_(torch.tensor([[-0.2], [0.0]]))
    masks = kata.pruning_masks(model, 0.5)
    check_masks(masks, model, {"0.weight": torch.tensor([[False, True, True, False]]),
                               "1.weight": torch.tensor([[True], [False]])},
                "weights that are already 0 have the smallest magnitude: at 0.5, the three zeros are the 3 pruned")
    masks = kata.pruning_masks(model, 0.7)
    check_masks(masks, model, {"0.weight": torch.tensor([[False, True, False, False]]),
                               "1.weight": torch.tensor([[True], [False]])},
                "at 0.7, round(4.2) = 4 are pruned: the three zeros, then 0.1")


@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_float64_weights_are_ranked_in_float64(kata, order):
    # Magnitudes 1e-12 apart are distinct in float64 but all the same float32: ranking a float32 copy turns
    # them into ties and prunes whichever its sort happens to pick.
    values = torch.tensor([1.0, 1.0 + 1e-12, 1.0 + 2e-12, 1.0 + 3e-12, -(1.0 + 4e-12), 1.0 + 5e-12],
                          dtype=torch.float64)
    if order == "descending":
        values = values.flip(0)
    model = nn.Sequential(nn.Linear(6, 1, bias=False, dtype=torch.float64))
    with torch.no_grad():
        model[0].weight.copy_(values.reshape(1, 6))
    expected = (values.abs() > 1.0 + 2.5e-12).reshape(1, 6)  # the 3 smallest of 6 are pruned at 0.5
    check_masks(kata.pruning_masks(model, 0.5), model, {"0.weight": expected},
                "a float64 model: rank the magnitudes in float64 (a float32 copy makes these six weights equal)")


def test_masks_leave_the_model_alone(kata):
    model = build("cnn", 8)
    model.train()
    before = state(model)
    kata.pruning_masks(model, 0.5)
    assert_model_unchanged(model, before, True, "pruning_masks")


# ---- prune_model ---------------------------------------------------------------------------------

def test_prune_model_example(kata):
    model = example_model()
    before = state(model)
    pruned = kata.prune_model(model, 0.5)
    assert isinstance(pruned, nn.Sequential) and pruned is not model, "prune_model returns a new model of the same type"
    expected = torch.tensor([[0.0, -0.5, 0.3], [0.0, 0.0, 0.4]])
    assert torch.equal(pruned[0].weight.detach(), expected), f"pruned[0].weight: {describe(pruned[0].weight)}"
    assert torch.equal(pruned[2].weight.detach(), torch.tensor([[0.6, 0.0]])), describe(pruned[2].weight)
    assert torch.equal(pruned[0].bias.detach(), before["0.bias"]), "biases are never pruned"
    assert_model_unchanged(model, before, model.training, "prune_model")


@pytest.mark.parametrize("name", list(ARCHITECTURES))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_prune_model_zeroes_exactly_the_masked_weights(kata, name, training):
    model = build(name, 21, layer_bias=[0.0, 0.6, 0.3])
    model.train(training)
    before = state(model)
    pruned = kata.prune_model(model, 0.45)
    assert_model_unchanged(model, before, training, "prune_model")
    assert isinstance(pruned, type(model)) and pruned is not model, (
        f"prune_model must return a new {type(model).__name__}, got {type(pruned).__name__}")
    assert pruned.training == training, "the pruned copy keeps the model's training flag"
    expected_masks = torch_masks(model, 0.45)
    after = pruned.state_dict()
    assert after.keys() == before.keys(), (
        f"the pruned model must have the same parameters and buffers (no weight_orig / weight_mask): "
        f"{sorted(set(after) ^ set(before))}")
    for key, value in before.items():
        expected = value.masked_fill(~expected_masks[key], 0.0) if key in expected_masks else value
        assert torch.equal(after[key], expected), (
            f"{key}: expected {describe(expected)}\n  yours:    {describe(after[key])}")
    for key, parameter in pruned.named_parameters():
        assert type(parameter) is nn.Parameter and parameter.requires_grad, (
            f"{key} must stay an ordinary nn.Parameter that requires grad")
    assert all(not m._forward_pre_hooks for m in pruned.modules()), "the pruned model must carry no pruning hooks"


def test_prune_model_keeps_frozen_weights_frozen(kata):
    # A fine-tuned model often has frozen layers (requires_grad=False). Only the values of pruned weights
    # change: wrapping a pruned weight in a new nn.Parameter makes a frozen one trainable again.
    model = build("mlp", 22)
    model[0].requires_grad_(False)
    pruned = kata.prune_model(model, 0.5)
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    assert flags == {"0.weight": False, "0.bias": False, "2.weight": True, "2.bias": True}, "the model was modified"
    yours = {name: p.requires_grad for name, p in pruned.named_parameters()}
    assert yours == flags, (
        f"the pruned copy must keep each parameter's requires_grad (only pruned values change): expected {flags}, "
        f"got {yours}")
    masks = torch_masks(model, 0.5)
    for name, parameter in pruned.named_parameters():
        expected = dict(model.named_parameters())[name].detach()
        if name in masks:
            expected = expected.masked_fill(~masks[name], 0.0)
        assert type(parameter) is nn.Parameter and torch.equal(parameter.detach(), expected), (
            f"{name}: expected {describe(expected)}\n  yours:    {describe(parameter)}")


@pytest.mark.parametrize("sparsity", [-0.1, 1.5, math.nan, math.inf])
def test_invalid_sparsity(kata, sparsity):
    with pytest.raises(ValueError):
        kata.pruning_masks(build("mlp", 1), sparsity)
    with pytest.raises(ValueError):
        kata.prune_model(build("mlp", 1), sparsity)


def test_model_without_prunable_layers(kata):
    model = nn.Sequential(nn.Embedding(5, 3), nn.LayerNorm(3), nn.ReLU())
    with pytest.raises(ValueError):
        kata.pruning_masks(model, 0.5)
    with pytest.raises(ValueError):
        kata.prune_model(model, 0.5)


# ---- generated models: the reference and torch ---------------------------------------------------

sparsities = st.one_of(st.sampled_from((0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)), st.floats(0.0, 1.0))


@st.composite
def models(draw):
    name = draw(st.sampled_from(list(ARCHITECTURES)), label="architecture")
    seed = draw(st.integers(0, 2**31 - 1), label="seed")
    layer_bias = draw(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4), label="layer offsets")
    return build(name, seed, layer_bias=layer_bias)


@settings(max_examples=60)
@given(models(), sparsities)
def test_matches_reference(kata, reference, model, sparsity):
    check_against_reference(kata, reference, model, sparsity)


@settings(max_examples=40)
@given(models(), sparsities)
def test_matches_torch_global_unstructured(kata, model, sparsity):
    expected = torch_masks(model, sparsity)
    check_masks(kata.pruning_masks(model, sparsity), model, expected,
                f"differs from torch's global_unstructured(L1Unstructured, amount={sparsity!r})")
