"""Known wrong answers, and correct answers written differently, for device_placement."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import singledispatch

import numpy as np
import torch

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)

# What a module-level "DEVICE = ..." sees: the machine as it was when the file was imported.
_DEVICE_AT_IMPORT = torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ---- choose_device --------------------------------------------------------------------------------

@pitfall("choose_device", "Decides once, when the module is imported (a DEVICE constant), instead of asking "
                          "torch each time it is called.")
def decided_at_import(preferred=None):
    if preferred is not None:
        return ref.choose_device(preferred)
    return _DEVICE_AT_IMPORT


@pitfall("choose_device", "Falls back to the CPU when the preferred device is not available, instead of raising "
                          "ValueError: a request for the GPU silently runs on the CPU.")
def silent_fallback(preferred=None):
    try:
        return ref.choose_device(preferred)
    except ValueError:
        if preferred in ("cuda", "mps"):
            return torch.device("cpu")
        raise


@pitfall("choose_device", "Never considers MPS: a Mac's GPU goes unused.")
def ignores_mps(preferred=None):
    if preferred is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return ref.choose_device(preferred)


@pitfall("choose_device", "Returns an indexed device, torch.device('cuda', 0), where the docstring asks for "
                          "torch.device('cuda'): the two compare unequal.")
def indexed_cuda_device(preferred=None):
    device = ref.choose_device(preferred)
    return torch.device(device.type, 0) if device.type == "cuda" else device


# ---- to_device ------------------------------------------------------------------------------------

@pitfall("to_device", "Rebuilds every list or tuple as a list: tuples and namedtuples lose their type.")
def tuples_become_lists(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return type(batch)((k, tuples_become_lists(v, device)) for k, v in batch.items())
    if isinstance(batch, list | tuple):
        return [tuples_become_lists(v, device) for v in batch]
    return batch


@pitfall("to_device", "Rebuilds a namedtuple with tuple(...) (or type(x)(generator)), losing its class or "
                      "failing: a namedtuple's constructor takes the fields one by one.")
def namedtuple_becomes_tuple(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return type(batch)((k, namedtuple_becomes_tuple(v, device)) for k, v in batch.items())
    if isinstance(batch, list):
        return [namedtuple_becomes_tuple(v, device) for v in batch]
    if isinstance(batch, tuple):
        return tuple(namedtuple_becomes_tuple(v, device) for v in batch)
    return batch


@pitfall("to_device", "Copies every tensor (t.to(device, copy=True)), also the ones already on the device.")
def always_copies(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, copy=True)
    if isinstance(batch, OrderedDict):
        return OrderedDict((k, always_copies(v, device)) for k, v in batch.items())
    if isinstance(batch, dict):
        return {k: always_copies(v, device) for k, v in batch.items()}
    if isinstance(batch, list):
        return [always_copies(v, device) for v in batch]
    if isinstance(batch, tuple):
        items = [always_copies(v, device) for v in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)
    return batch


@pitfall("to_device", "Moves only the tensors at the top level of a dict or list; nested containers are left "
                      "where they were.")
def top_level_only(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return type(batch)((k, v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items())
    if isinstance(batch, list):
        return [v.to(device) if isinstance(v, torch.Tensor) else v for v in batch]
    return batch


@pitfall("to_device", "Writes the moved tensors back into the input's dicts and lists and returns them: the "
                      "caller's batch is changed.")
def moves_in_place(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        for key in batch:
            batch[key] = moves_in_place(batch[key], device)
        return batch
    if isinstance(batch, list):
        for i, item in enumerate(batch):
            batch[i] = moves_in_place(item, device)
        return batch
    if isinstance(batch, tuple):
        items = [moves_in_place(v, device) for v in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)
    return batch


@pitfall("to_device", "Turns numpy arrays and numbers into tensors on the device: only tensors are moved, "
                      "other values are left alone.")
def converts_leaves_to_tensors(batch, device):
    if isinstance(batch, np.ndarray | int | float) and not isinstance(batch, bool):
        return torch.as_tensor(batch, device=device)
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, OrderedDict):
        return OrderedDict((k, converts_leaves_to_tensors(v, device)) for k, v in batch.items())
    if isinstance(batch, dict):
        return {k: converts_leaves_to_tensors(v, device) for k, v in batch.items()}
    if isinstance(batch, list):
        return [converts_leaves_to_tensors(v, device) for v in batch]
    if isinstance(batch, tuple):
        items = [converts_leaves_to_tensors(v, device) for v in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)
    return batch


@pitfall("to_device", "Rebuilds every mapping as a plain dict: an OrderedDict comes back as a dict.")
def ordered_dict_becomes_dict(batch, device):
    if isinstance(batch, Mapping):
        return {k: ordered_dict_becomes_dict(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        items = [ordered_dict_becomes_dict(v, device) for v in batch]
        if isinstance(batch, list):
            return items
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)
    return batch.to(device) if isinstance(batch, torch.Tensor) else batch


@pitfall("to_device", "Recurses into anything that is a Sequence, strings and bytes included: a one-character "
                      "string contains itself, so it never ends (RecursionError).")
def strings_are_sequences(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, OrderedDict):
        return OrderedDict((k, strings_are_sequences(v, device)) for k, v in batch.items())
    if isinstance(batch, dict):
        return {k: strings_are_sequences(v, device) for k, v in batch.items()}
    if isinstance(batch, Sequence):
        items = [strings_are_sequences(v, device) for v in batch]
        if isinstance(batch, list):
            return items
        if hasattr(batch, "_fields"):
            return type(batch)(*items)
        return tuple(items) if isinstance(batch, tuple) else type(batch)(items)
    return batch


# ---- correct answers written differently --------------------------------------------------------

@alternative("choose_device", "Walks a table of (name, availability check) pairs in order of preference.")
def table_of_checks(preferred=None):
    checks = [("cuda", lambda: torch.cuda.is_available()), ("mps", lambda: torch.backends.mps.is_available()),
              ("cpu", lambda: True)]
    if preferred is None:
        return next(torch.device(name) for name, check in checks if check())
    for name, check in checks:
        if preferred == name and isinstance(preferred, str):
            if not check():
                raise ValueError(f"{name} is not available")
            return torch.device(name)
    raise ValueError(f"unknown device {preferred!r}")


@alternative("to_device", "torch.utils._pytree.tree_map over the batch, moving the tensor leaves.")
def pytree_map(batch, device):
    from torch.utils import _pytree

    device = torch.device(device)
    return _pytree.tree_map(lambda leaf: leaf.to(device) if isinstance(leaf, torch.Tensor) else leaf, batch)


@singledispatch
def _dispatch(value, device):
    return value


@_dispatch.register
def _(value: torch.Tensor, device):
    return value if value.device == device else value.to(device)


@_dispatch.register
def _(value: dict, device):
    return type(value)((key, _dispatch(item, device)) for key, item in value.items())


@_dispatch.register
def _(value: list, device):
    return [_dispatch(item, device) for item in value]


@_dispatch.register
def _(value: tuple, device):
    items = (_dispatch(item, device) for item in value)
    return type(value)(*items) if hasattr(value, "_fields") else tuple(items)


@alternative("to_device", "functools.singledispatch on the value's type, comparing devices before moving.")
def single_dispatch(batch, device):
    return _dispatch(batch, torch.device(device))
