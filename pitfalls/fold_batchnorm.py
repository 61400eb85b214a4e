"""Known wrong answers, and correct answers written differently, for fold_batchnorm."""

from __future__ import annotations

import copy
from collections import OrderedDict

import torch
from torch import nn

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _parts(layer, bn):
    """The reference's checks, then (W, b, mean, var, gamma, beta) as detached tensors in W's dtype."""
    if not ref._can_fold(layer, bn):
        ref.fold_batchnorm(layer, bn)  # raises the right ValueError
    w = layer.weight.detach()
    mean, var = bn.running_mean.to(w), bn.running_var.to(w)
    gamma = bn.weight.detach().to(w) if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias.detach().to(w) if bn.bias is not None else torch.zeros_like(mean)
    b = layer.bias.detach() if layer.bias is not None else torch.zeros_like(mean)
    return w, b, mean, var, gamma, beta


def _build(layer, weight, bias):
    folded = copy.deepcopy(layer)
    folded.weight = nn.Parameter(weight)
    folded.bias = nn.Parameter(bias)
    return folded.eval()


def _per_output(scale, w):
    return scale.reshape([-1] + [1] * (w.dim() - 1))


# ---- fold_batchnorm -------------------------------------------------------------------------------

@pitfall("fold_batchnorm", "Leaves eps out: s = gamma / sqrt(var); BatchNorm divides by sqrt(var + eps).")
def forgets_eps(layer, bn):
    w, b, mean, var, gamma, beta = _parts(layer, bn)
    s = gamma / torch.sqrt(var)
    return _build(layer, w * _per_output(s, w), (b - mean) * s + beta)


@pitfall("fold_batchnorm", "Adds eps outside the square root: gamma / (sqrt(var) + eps) instead of "
                           "gamma / sqrt(var + eps).")
def eps_outside_the_root(layer, bn):
    w, b, mean, var, gamma, beta = _parts(layer, bn)
    s = gamma / (torch.sqrt(var) + bn.eps)
    return _build(layer, w * _per_output(s, w), (b - mean) * s + beta)


@pitfall("fold_batchnorm", "Divides by the variance instead of the standard deviation.")
def divides_by_variance(layer, bn):
    w, b, mean, var, gamma, beta = _parts(layer, bn)
    s = gamma / (var + bn.eps)
    return _build(layer, w * _per_output(s, w), (b - mean) * s + beta)


@pitfall("fold_batchnorm", "Drops the layer's own bias: b' = beta - mean * s, as if the layer had none.")
def ignores_layer_bias(layer, bn):
    w, _, mean, var, gamma, beta = _parts(layer, bn)
    s = gamma / torch.sqrt(var + bn.eps)
    return _build(layer, w * _per_output(s, w), beta - mean * s)


@pitfall("fold_batchnorm", "Scales the bias by s but does not subtract the running mean first: b * s + beta.")
def forgets_the_mean(layer, bn):
    w, b, _, var, gamma, beta = _parts(layer, bn)
    s = gamma / torch.sqrt(var + bn.eps)
    return _build(layer, w * _per_output(s, w), b * s + beta)


@pitfall("fold_batchnorm", "Scales the weight along dim 1 (the input channels) instead of dim 0 (the outputs).")
def scales_input_channels(layer, bn):
    w, b, mean, var, gamma, beta = _parts(layer, bn)
    s = gamma / torch.sqrt(var + bn.eps)
    shape = [1, -1] + [1] * (w.dim() - 2)
    return _build(layer, w * s.reshape(shape), (b - mean) * s + beta)


@pitfall("fold_batchnorm", "Builds a fresh layer from the sizes and kernel alone, losing stride, padding, "
                           "dilation, groups and padding mode.")
def rebuilds_without_configuration(layer, bn):
    w, b, mean, var, gamma, beta = _parts(layer, bn)
    s = gamma / torch.sqrt(var + bn.eps)
    if isinstance(layer, nn.Linear):
        folded = nn.Linear(layer.in_features, layer.out_features, dtype=w.dtype)
    else:
        folded = type(layer)(w.shape[1], w.shape[0], layer.kernel_size, dtype=w.dtype)
    with torch.no_grad():
        folded.weight.copy_(w * _per_output(s, w))
        folded.bias.copy_((b - mean) * s + beta)
    return folded.eval()


@pitfall("fold_batchnorm", "Folds in place into the given layer (weight.data.mul_, bias.data = ...) and returns it.")
def folds_in_place(layer, bn):
    w, b, mean, var, gamma, beta = _parts(layer, bn)
    s = gamma / torch.sqrt(var + bn.eps)
    layer.weight.data.mul_(_per_output(s, w))
    layer.bias = nn.Parameter((b - mean) * s + beta)
    return layer.eval()


@pitfall("fold_batchnorm", "Assumes the BatchNorm is affine: bn.weight is None without affine, so it crashes.")
def assumes_affine(layer, bn):
    w, b, mean, var, _, _ = _parts(layer, bn)
    s = bn.weight.detach() / torch.sqrt(var + bn.eps)
    return _build(layer, w * _per_output(s, w), (b - mean) * s + bn.bias.detach())


# ---- fold_model -----------------------------------------------------------------------------------

@pitfall("fold_batchnorm", "Scales the weight as rows with w.view(out, -1): a channels_last Conv weight is not "
                           "contiguous, so view() raises where reshape() or broadcasting would work.")
def scales_a_view_of_the_rows(layer, bn):
    w, b, mean, var, gamma, beta = _parts(layer, bn)
    s = gamma / torch.sqrt(var + bn.eps)
    weight = (w.view(w.shape[0], -1) * s[:, None]).view(w.shape)
    return _build(layer, weight, (b - mean) * s + beta)


@pitfall("fold_batchnorm", "Multiplies the layer's weight by s computed from the BatchNorm's own tensors and never "
                           "casts back: a half-precision layer after a float32 BatchNorm folds into float32 "
                           "parameters, so the folded layer no longer takes the layer's half-precision input.")
def keeps_the_batchnorm_dtype(layer, bn):
    ref.fold_batchnorm(layer, bn)  # the reference's checks
    s = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        s = s * bn.weight.detach()
    beta = bn.bias.detach() if bn.bias is not None else torch.zeros_like(s)
    w = layer.weight.detach()
    b = layer.bias.detach() if layer.bias is not None else torch.zeros_like(s)
    return _build(layer, w * _per_output(s, w), (b - bn.running_mean) * s + beta)


@pitfall("fold_model", "Rebuilds the model with nn.Sequential(*modules), renumbering the children: the folded "
                       "layers lose their names.")
def renumbers_children(model):
    return nn.Sequential(*ref.fold_model(model).children())


@pitfall("fold_model", "Folds each BatchNorm into the nearest earlier layer, even across an activation: "
                       "bn(relu(conv(x))) is not an affine map of conv(x).")
def folds_across_activations(model):
    children = list(model.named_children())
    kept, last_layer = [], None
    for name, child in children:
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and last_layer is not None \
                and ref._can_fold(kept[last_layer][1], child):
            kept[last_layer] = (kept[last_layer][0], ref.fold_batchnorm(kept[last_layer][1], child))
            last_layer = None
            continue
        if isinstance(child, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            last_layer = len(kept)
        kept.append((name, copy.deepcopy(child)))
    return nn.Sequential(OrderedDict(kept)).eval()


@pitfall("fold_model", "Folds into the last module of the result so far, which after one fold is the folded "
                       "layer: a second BatchNorm in a row is folded too, though it follows a BatchNorm.")
def folds_into_the_result_so_far(model):
    kept = OrderedDict()
    for name, child in model.named_children():
        if kept:
            last = next(reversed(kept))
            if ref._can_fold(kept[last], child):
                kept[last] = ref.fold_batchnorm(kept[last], child)
                continue
        kept[name] = copy.deepcopy(child)
    return nn.Sequential(kept).eval()


@pitfall("fold_model", "Folds any BatchNorm (any _BatchNorm class) whose size matches the layer's outputs: "
                       "a Linear followed by BatchNorm2d is folded though BatchNorm2d normalises another axis.")
def folds_any_batchnorm_class(model):
    kept, children, i = [], list(model.named_children()), 0
    while i < len(children):
        name, child = children[i]
        following = children[i + 1][1] if i + 1 < len(children) else None
        if isinstance(child, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)) \
                and isinstance(following, nn.modules.batchnorm._BatchNorm) and following.running_mean is not None \
                and following.num_features == child.weight.shape[0]:
            w, b = child.weight.detach(), child.bias.detach() if child.bias is not None else 0.0
            s = (following.running_var + following.eps).rsqrt()
            if following.weight is not None:
                s = s * following.weight.detach()
            beta = following.bias.detach() if following.bias is not None else 0.0
            kept.append((name, _build(child, w * _per_output(s, w), (b - following.running_mean) * s + beta)))
            i += 2
        else:
            kept.append((name, copy.deepcopy(child)))
            i += 1
    return nn.Sequential(OrderedDict(kept)).eval()


@pitfall("fold_model", "Calls model.eval() on the model it was given before copying, changing the caller's "
                       "training flag.")
def switches_the_original_to_eval(model):
    model.eval()
    return ref.fold_model(model)


@pitfall("fold_model", "Also folds inside nested blocks (recursing into child Sequentials): the docstring looks "
                       "at the model's direct children only and deep-copies every other child as it is.")
def recurses_into_nested_blocks(model):
    folded = ref.fold_model(model)
    for name, child in list(folded.named_children()):
        if isinstance(child, nn.Sequential):
            setattr(folded, name, recurses_into_nested_blocks(child))
    return folded.eval()


# ---- correct answers written differently --------------------------------------------------------

@alternative("fold_batchnorm", "Builds a new layer from its full configuration and computes the fold in float64 "
                               "with a diagonal matrix, then casts back.")
def explicit_rebuild_in_float64(layer, bn):
    w, b, mean, var, gamma, beta = (t.double() for t in _parts(layer, bn))
    s = gamma * torch.rsqrt(var + bn.eps)
    weight = (torch.diag(s) @ w.reshape(w.shape[0], -1)).reshape(w.shape)
    bias = s * (b - mean) + beta
    dtype, device = layer.weight.dtype, layer.weight.device
    if isinstance(layer, nn.Linear):
        folded = nn.Linear(layer.in_features, layer.out_features, bias=True, dtype=dtype, device=device)
    else:
        folded = type(layer)(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
                             padding=layer.padding, dilation=layer.dilation, groups=layer.groups, bias=True,
                             padding_mode=layer.padding_mode, dtype=dtype, device=device)
    with torch.no_grad():
        folded.weight.copy_(weight)
        folded.bias.copy_(bias)
    return folded.eval()


@alternative("fold_batchnorm", "Writes BatchNorm as y * a + c with a = gamma / sqrt(var + eps), c = beta - mean * a, "
                               "and folds with einsum over the output channel.")
def affine_form_with_einsum(layer, bn):
    w, b, mean, var, gamma, beta = _parts(layer, bn)
    a = gamma / (var + bn.eps).sqrt()
    c = beta - mean * a
    weight = torch.einsum("o...,o->o...", w, a)
    return _build(layer, weight, b * a + c)


@alternative("fold_model", "Walks the children with an index and a look-ahead, collecting into a list of pairs "
                           "and building the Sequential with add_module.")
def add_module_walk(model):
    names = [name for name, _ in model.named_children()]
    children = dict(model.named_children())
    result = nn.Sequential()
    skip = set()
    for position, name in enumerate(names):
        if name in skip:
            continue
        child = children[name]
        following = children[names[position + 1]] if position + 1 < len(names) else None
        if following is not None and ref._can_fold(child, following):
            result.add_module(name, ref.fold_batchnorm(child, following))
            skip.add(names[position + 1])
        else:
            result.add_module(name, copy.deepcopy(child))
    return result.eval()
