"""Known wrong answers, and correct answers written differently, for magnitude_prune."""

from __future__ import annotations

import copy

import numpy as np
import torch

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _checked(model, sparsity):
    sparsity = float(sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    weights = ref._prunable_weights(model)
    if not weights:
        raise ValueError("nothing to prune")
    return sparsity, weights


def _split(keep, weights):
    masks, start = {}, 0
    for name, w in weights:
        masks[name] = keep[start:start + w.numel()].reshape(w.shape)
        start += w.numel()
    return masks


def _prune_smallest(scores, k):
    keep = torch.ones(scores.shape, dtype=torch.bool)
    if k > 0:
        keep[torch.topk(scores, k, largest=False).indices] = False
    return keep


# ---- pruning_masks --------------------------------------------------------------------------------

@pitfall("pruning_masks", "Prunes each layer to the sparsity on its own (local pruning) instead of ranking "
                          "all the weights of the model together.")
def per_layer(model, sparsity):
    sparsity, weights = _checked(model, sparsity)
    return {name: _prune_smallest(w.detach().abs().flatten(), round(sparsity * w.numel())).reshape(w.shape)
            for name, w in weights}


@pitfall("pruning_masks", "Ranks the weights by signed value, so large negative weights are pruned first; "
                          "the magnitude is |w|.")
def signed_values(model, sparsity):
    sparsity, weights = _checked(model, sparsity)
    values = torch.cat([w.detach().flatten() for _, w in weights])
    return _split(_prune_smallest(values, round(sparsity * values.numel())), weights)


@pitfall("pruning_masks", "Truncates the count with int(sparsity * N): 0.29 * 100 is 28.999..., which prunes "
                          "28 instead of round() = 29.")
def truncated_count(model, sparsity):
    sparsity, weights = _checked(model, sparsity)
    magnitudes = torch.cat([w.detach().abs().flatten() for _, w in weights])
    return _split(_prune_smallest(magnitudes, int(sparsity * magnitudes.numel())), weights)


@pitfall("pruning_masks", "Rounds the count half up with int(x + 0.5): 5 weights at 0.5 prune 3, but round() "
                          "(and torch) round halves to even: 2.")
def half_up_count(model, sparsity):
    sparsity, weights = _checked(model, sparsity)
    magnitudes = torch.cat([w.detach().abs().flatten() for _, w in weights])
    return _split(_prune_smallest(magnitudes, int(sparsity * magnitudes.numel() + 0.5)), weights)


@pitfall("pruning_masks", "Puts every parameter named 'weight' in the ranking, BatchNorm, LayerNorm and "
                          "Embedding weights included.")
def every_weight_named_weight(model, sparsity):
    sparsity = float(sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError("sparsity must be in [0, 1]")
    weights = [(name, p) for name, p in model.named_parameters() if name.split(".")[-1] == "weight"]
    if not weights:
        raise ValueError("nothing to prune")
    magnitudes = torch.cat([w.detach().abs().flatten() for _, w in weights])
    return _split(_prune_smallest(magnitudes, round(sparsity * magnitudes.numel())), weights)


@pitfall("pruning_masks", "Takes every convolution (nn.modules.conv._ConvNd) as prunable, so ConvTranspose1d/2d/3d "
                          "weights are ranked too; they are not Conv1d/2d/3d and are never pruned.")
def every_convolution_class(model, sparsity):
    sparsity = float(sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError("sparsity must be in [0, 1]")
    kinds = (torch.nn.Linear, torch.nn.modules.conv._ConvNd)
    weights = [(f"{name}.weight" if name else "weight", m.weight) for name, m in model.named_modules()
               if isinstance(m, kinds)]
    if not weights:
        raise ValueError("nothing to prune")
    magnitudes = torch.cat([w.detach().abs().flatten() for _, w in weights])
    return _split(_prune_smallest(magnitudes, round(sparsity * magnitudes.numel())), weights)


@pitfall("pruning_masks", "Ranks every parameter whose name ends in 'weight' and that has at least 2 dimensions, "
                          "a common shortcut: it takes ConvTranspose, Bilinear and Embedding weights too.")
def weights_with_two_or_more_dimensions(model, sparsity):
    sparsity = float(sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError("sparsity must be in [0, 1]")
    weights = [(name, p) for name, p in model.named_parameters() if name.endswith("weight") and p.dim() >= 2]
    if not weights:
        raise ValueError("nothing to prune")
    magnitudes = torch.cat([w.detach().abs().flatten() for _, w in weights])
    return _split(_prune_smallest(magnitudes, round(sparsity * magnitudes.numel())), weights)


@pitfall("pruning_masks", "Ranks biases together with the weights (every parameter of the Linear and Conv layers).")
def biases_included(model, sparsity):
    sparsity, _ = _checked(model, sparsity)
    tensors = [(f"{m_name}.{p_name}" if m_name else p_name, p) for m_name, m in model.named_modules()
               if isinstance(m, ref.PRUNABLE) for p_name, p in m.named_parameters(recurse=False)]
    magnitudes = torch.cat([p.detach().abs().flatten() for _, p in tensors])
    return _split(_prune_smallest(magnitudes, round(sparsity * magnitudes.numel())), tensors)


@pitfall("pruning_masks", "Takes the sparsity-quantile of the magnitudes as the threshold and prunes below it: "
                          "the quantile interpolates, so the count is not round(sparsity * N).")
def quantile_threshold(model, sparsity):
    sparsity, weights = _checked(model, sparsity)
    magnitudes = torch.cat([w.detach().abs().flatten() for _, w in weights])
    threshold = torch.quantile(magnitudes.double(), sparsity)
    return _split(magnitudes.double() > threshold, weights)


@pitfall("pruning_masks", "Finds the k-th smallest magnitude with kthvalue and prunes everything <= it: with "
                          "ties at the threshold it prunes more than k weights.")
def kthvalue_prunes_all_ties(model, sparsity):
    sparsity, weights = _checked(model, sparsity)
    magnitudes = torch.cat([w.detach().abs().flatten() for _, w in weights])
    k = round(sparsity * magnitudes.numel())
    if k == 0:
        return _split(torch.ones(magnitudes.shape, dtype=torch.bool), weights)
    threshold = magnitudes.kthvalue(k).values
    return _split(magnitudes > threshold, weights)


# ---- prune_model ----------------------------------------------------------------------------------

@pitfall("pruning_masks", "Ranks a float32 copy of the magnitudes (.float()), so float64 weights that differ "
                          "below float32's precision become ties and the wrong ones may be pruned.")
def ranks_a_float32_copy(model, sparsity):
    sparsity, weights = _checked(model, sparsity)
    magnitudes = np.concatenate([w.detach().cpu().float().abs().numpy().ravel() for _, w in weights])
    k = round(sparsity * magnitudes.size)
    keep = np.ones(magnitudes.size, dtype=bool)
    keep[np.argsort(magnitudes, kind="stable")[:k]] = False
    return _split(torch.from_numpy(keep), weights)


@pitfall("prune_model", "Zeroes the weights of the model it was given (weight.data *= mask) and returns it: "
                        "the caller's model is pruned too.")
def prunes_in_place(model, sparsity):
    masks = ref.pruning_masks(model, sparsity)
    parameters = dict(model.named_parameters())
    for name, keep in masks.items():
        parameters[name].data *= keep
    return model


@pitfall("prune_model", "Builds the copy from the masks but multiplies the masked weights into plain tensors "
                        "(no longer nn.Parameter), so they stop being trainable parameters.")
def plain_tensors(model, sparsity):
    pruned = ref.prune_model(model, sparsity)
    for module in pruned.modules():
        if isinstance(module, ref.PRUNABLE):
            weight = module.weight.detach().clone()
            del module.weight
            module.weight = weight
    return pruned


@pitfall("prune_model", "Replaces each pruned weight with a new nn.Parameter(weight * mask): a new Parameter "
                        "requires grad, so the weights of a frozen layer become trainable in the copy.")
def wraps_in_new_parameters(model, sparsity):
    masks = ref.pruning_masks(model, sparsity)
    pruned = copy.deepcopy(model)
    for name, keep in masks.items():
        owner_name, _, attribute = name.rpartition(".")
        owner = pruned.get_submodule(owner_name)
        setattr(owner, attribute, torch.nn.Parameter(getattr(owner, attribute).detach() * keep))
    return pruned


# ---- correct answers written differently --------------------------------------------------------

@alternative("pruning_masks", "Stable argsort of all the magnitudes in numpy; the first k indices are pruned.")
def numpy_stable_argsort(model, sparsity):
    sparsity, weights = _checked(model, sparsity)
    magnitudes = np.concatenate([w.detach().cpu().abs().numpy().ravel() for _, w in weights])
    k = round(sparsity * magnitudes.size)
    keep = np.ones(magnitudes.size, dtype=bool)
    keep[np.argsort(magnitudes, kind="stable")[:k]] = False
    return _split(torch.from_numpy(keep), weights)


@alternative("pruning_masks", "A threshold from kthvalue: prune everything strictly below it, then as many of the "
                              "weights equal to it as the count still needs, layer by layer.")
def threshold_then_ties(model, sparsity):
    sparsity, weights = _checked(model, sparsity)
    magnitudes = torch.cat([w.detach().abs().flatten() for _, w in weights])
    k = round(sparsity * magnitudes.numel())
    masks = {}
    if k == 0:
        return {name: torch.ones(w.shape, dtype=torch.bool) for name, w in weights}
    threshold = magnitudes.kthvalue(k).values
    ties_left = k - int((magnitudes < threshold).sum())
    for name, w in weights:
        a = w.detach().abs()
        keep = a > threshold
        tied = (a == threshold).flatten().nonzero().flatten()
        take = tied[:ties_left]
        ties_left -= len(take)
        keep_flat = keep.flatten().clone()
        keep_flat[tied[len(take):]] = True
        masks[name] = keep_flat.reshape(w.shape)
    return masks


@alternative("prune_model", "Copies the state dict, zeroes the pruned entries there, and loads it into a deep copy.")
def through_the_state_dict(model, sparsity):
    masks = ref.pruning_masks(model, sparsity)
    new_state = {key: value.clone() for key, value in model.state_dict().items()}
    for name, keep in masks.items():
        new_state[name] = new_state[name] * keep.to(new_state[name].dtype)
    pruned = copy.deepcopy(model)
    pruned.load_state_dict(new_state)
    return pruned
