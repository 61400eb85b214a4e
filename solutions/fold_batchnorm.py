"""Fold BatchNorm into the layer before it, for inference.

In training, BatchNorm normalises each channel with the statistics of the current batch. In
inference (eval mode) it uses the running statistics it gathered during training instead, and
then it is just a fixed affine map per channel c:

    bn(y)[c] = (y[c] - running_mean[c]) / sqrt(running_var[c] + eps) * weight[c] + bias[c]

A fixed affine map after a convolution or a linear layer can be merged into that layer's
weights and bias. With s[c] = weight[c] / sqrt(running_var[c] + eps), output channel c of the
folded layer uses

    W'[c] = W[c] * s[c]                       (every weight of output channel c)
    b'[c] = (b[c] - running_mean[c]) * s[c] + bias[c]     (b = 0 if the layer had no bias)

The folded model computes the same function with one layer fewer: one pass over memory less
per BatchNorm, and a shape that inference runtimes and quantisers handle best. (Without
``affine``, a BatchNorm has no weight and bias: use 1 and 0.)
"""

from __future__ import annotations

import copy
from collections import OrderedDict

import torch
from torch import nn

# Which BatchNorm may follow which layer.
PAIRS = ((nn.Linear, nn.BatchNorm1d), (nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d),
         (nn.Conv3d, nn.BatchNorm3d))


def fold_batchnorm(layer: nn.Module, bn: nn.Module) -> nn.Module:
    """A new layer that computes ``bn(layer(x))`` with bn in eval mode, in one layer.

    `layer` is an nn.Linear, nn.Conv1d, nn.Conv2d or nn.Conv3d, with or without a bias and
    with any stride, padding, dilation, groups and padding mode; `bn` is the BatchNorm that
    follows it (PAIRS above: BatchNorm1d after Linear or Conv1d, BatchNorm2d after Conv2d,
    BatchNorm3d after Conv3d), with ``num_features`` equal to the layer's number of outputs
    and with running statistics (``track_running_stats=True``). ``bn.affine`` may be False.

    The result uses bn's running_mean, running_var and eps, whatever mode bn is in (see the
    module docstring for W' and b'). For every input x,

        fold_batchnorm(layer, bn)(x) == bn.eval()(layer(x))

    up to floating-point rounding (the tests allow a relative error of about 1e-9 in float64
    and 1e-4 in float32, relative to the size of the output).

    Args:
        layer: the layer; it must not be modified (weights, bias, training flag).
        bn: the BatchNorm after it; it must not be modified (its training flag included).

    Returns:
        A new module of exactly layer's class, with the same configuration (in/out features or
        channels, kernel size, stride, padding, dilation, groups, padding mode), dtype and
        device, whose weight is W' and whose bias is b' (always present, also when layer had
        none), both ordinary nn.Parameters; in eval mode.

    Raises:
        ValueError: if layer and bn are not one of the pairs above, if bn.num_features is
            not the layer's number of outputs, or if bn has no running statistics.

    Example:
        >>> layer = nn.Linear(2, 2, bias=False)
        >>> bn = nn.BatchNorm1d(2, eps=0.0)
        >>> with torch.no_grad():
        ...     _ = layer.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        ...     _ = bn.running_mean.copy_(torch.tensor([1.0, -1.0]))
        ...     _ = bn.running_var.copy_(torch.tensor([4.0, 0.25]))
        ...     _ = bn.weight.copy_(torch.tensor([1.0, 0.5]))
        ...     _ = bn.bias.copy_(torch.tensor([0.0, 10.0]))
        >>> folded = fold_batchnorm(layer, bn)  # s = [1 / 2, 0.5 / 0.5] = [0.5, 1.0]
        >>> folded.weight
        Parameter containing:
        tensor([[0.5000, 1.0000],
                [3.0000, 4.0000]], requires_grad=True)
        >>> folded.bias  # [(0 - 1) * 0.5 + 0, (0 + 1) * 1 + 10]
        Parameter containing:
        tensor([-0.5000, 11.0000], requires_grad=True)
    """
    if not _foldable(layer, bn):
        raise ValueError(f"cannot fold {type(bn).__name__} into {type(layer).__name__}: the pairs are "
                         f"Linear/Conv1d + BatchNorm1d, Conv2d + BatchNorm2d, Conv3d + BatchNorm3d")
    outputs = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
    if bn.num_features != outputs:
        raise ValueError(f"bn has {bn.num_features} features but the layer has {outputs} outputs")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn has no running statistics (track_running_stats=False): it cannot be folded")
    folded = copy.deepcopy(layer)
    weight = layer.weight.detach()
    mean, var = bn.running_mean.detach().to(weight), bn.running_var.detach().to(weight)
    gamma = bn.weight.detach().to(weight) if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias.detach().to(weight) if bn.bias is not None else torch.zeros_like(mean)
    bias = layer.bias.detach() if layer.bias is not None else torch.zeros_like(mean)
    scale = gamma / torch.sqrt(var + bn.eps)
    shape = [-1] + [1] * (weight.dim() - 1)  # output channels are dim 0 of every weight here
    folded.weight = nn.Parameter(weight * scale.reshape(shape))
    folded.bias = nn.Parameter((bias - mean) * scale + beta)
    return folded.eval()


def fold_model(model: nn.Sequential) -> nn.Sequential:
    """A copy of `model` with every BatchNorm that can be folded folded into the layer before it.

    Looks at model's direct children in order. Wherever a child is a layer immediately
    followed by a BatchNorm it can fold into (the conditions of fold_batchnorm: a matching
    pair, matching sizes, running statistics), the two are replaced by
    ``fold_batchnorm(layer, bn)``, under the layer's name; the BatchNorm's name disappears.
    Every other child (including a BatchNorm that does not directly follow a foldable layer,
    or one without running statistics) is deep-copied under its own name.

    Args:
        model: an nn.Sequential. It must not be modified (its training flag included).

    Returns:
        A new nn.Sequential, in eval mode, with one child fewer per folded BatchNorm, whose
        output equals ``model.eval()``'s output up to floating-point rounding.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
        ...                       nn.Flatten(), nn.Linear(8, 4), nn.BatchNorm1d(4))
        >>> folded = fold_model(model)
        >>> [name for name, _ in folded.named_children()]
        ['0', '2', '3', '4']
        >>> type(folded[0]).__name__, folded[0].bias is not None
        ('Conv2d', True)
    """
    children = list(model.named_children())
    kept, i = [], 0
    while i < len(children):
        name, child = children[i]
        if i + 1 < len(children) and _can_fold(child, children[i + 1][1]):
            kept.append((name, fold_batchnorm(child, children[i + 1][1])))
            i += 2
        else:
            kept.append((name, copy.deepcopy(child)))
            i += 1
    return nn.Sequential(OrderedDict(kept)).eval()


def _foldable(layer, bn):
    return any(isinstance(layer, kind) and isinstance(bn, norm) for kind, norm in PAIRS)


def _can_fold(layer, bn):
    if not _foldable(layer, bn):
        return False
    outputs = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
    return bn.num_features == outputs and bn.running_mean is not None and bn.running_var is not None
