"""Global magnitude pruning: zero the smallest weights of a whole model.

Most weights of a trained network are small, and many of them can be set to zero with little
loss of accuracy. A pruned model compresses well (sparse storage, or just a better zip), and
sparse kernels can skip the zeros. The simplest criterion is the magnitude: the weights with
the smallest absolute values matter least.

Pruning can be local (remove the same fraction from every layer) or global (rank all the
weights of the model together and remove the smallest fraction overall). Global pruning lets
layers that can afford it lose more: a wide layer full of tiny weights is pruned hard, a narrow
layer that everything depends on keeps most of its weights. This kata is global pruning, as
``torch.nn.utils.prune.global_unstructured(..., pruning_method=prune.L1Unstructured,
amount=sparsity)`` does it, which you may not use here.
"""

from __future__ import annotations

import torch
from torch import nn

# The layers whose `weight` is pruned. Biases, and the weights of other layers (BatchNorm,
# LayerNorm, Embedding, ...), are never pruned.
PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def pruning_masks(model: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Which weights global magnitude pruning keeps, as one boolean mask per pruned weight.

    The weights considered are the ``weight`` parameters of every ``nn.Linear``,
    ``nn.Conv1d``, ``nn.Conv2d`` and ``nn.Conv3d`` in `model`, at any depth (PRUNABLE above;
    isinstance decides, so subclasses count). Biases and every other parameter are left out.
    Call N the total number of elements of those weights.

    1. The number to prune is ``k = round(sparsity * N)``: Python's round() of the float
       product, which rounds halves to even (N = 5 and sparsity 0.5 give k = 2, not 3), as
       torch's pruning does.
    2. The k weights with the smallest absolute values, ranked across ALL the weights
       together (not layer by layer), are pruned; the other N - k are kept.
    3. Ties: when several weights have exactly the same absolute value at the edge of the
       pruned set, any of them may be the ones pruned, but exactly k are pruned, and no pruned
       weight may have a larger absolute value than a kept one. Weights that are already 0
       have the smallest magnitude of all.

    Args:
        model: any nn.Module with at least one of the layers above. It must not be modified.
            No weight is shared between two layers.
        sparsity: the fraction of the weights to prune, a float with 0 <= sparsity <= 1.

    Returns:
        A dict with one entry per pruned weight: the key is the weight's name as
        ``model.named_parameters()`` gives it (for example "0.weight" or
        "encoder.conv.weight"), the value a bool tensor of the weight's shape, on its device,
        True where the weight is kept and False where it is pruned.

    Raises:
        ValueError: if sparsity is not in [0, 1] (NaN included), or if the model has none of
            the layers above.

    Example:
        >>> model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
        >>> with torch.no_grad():
        ...     _ = model[0].weight.copy_(torch.tensor([[0.1, -0.5, 0.3], [-0.2, 0.05, 0.4]]))
        ...     _ = model[2].weight.copy_(torch.tensor([[0.6, -0.01]]))
        >>> masks = pruning_masks(model, 0.5)  # 8 weights: prune the 4 smallest, |w| <= 0.2
        >>> masks["0.weight"]
        tensor([[False,  True,  True],
                [False, False,  True]])
        >>> masks["2.weight"]
        tensor([[ True, False]])
    """
    raise NotImplementedError


def prune_model(model: nn.Module, sparsity: float) -> nn.Module:
    """A pruned deep copy of `model`: the weights pruning_masks prunes are set to 0.0.

    The copy has the same modules, parameters, buffers and training flag as `model`; only the
    values of the pruned weights change (to 0.0). Its parameters stay ordinary nn.Parameter
    objects: no pruning hooks, no ``weight_orig`` parameters and no ``weight_mask`` buffers.

    Args:
        model: as for pruning_masks. It must not be modified.
        sparsity: as for pruning_masks.

    Returns:
        A new nn.Module (``model`` itself is left as it was).

    Raises:
        ValueError: as pruning_masks.

    Example:
        >>> pruned = prune_model(model, 0.5)  # the model of pruning_masks' example
        >>> pruned[0].weight
        Parameter containing:
        tensor([[ 0.0000, -0.5000,  0.3000],
                [ 0.0000,  0.0000,  0.4000]], requires_grad=True)
        >>> model[0].weight[0, 0].item()  # the original keeps its weights
        0.10000000149011612
    """
    raise NotImplementedError


