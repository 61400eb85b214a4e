"""Pick the device to run on, and move a whole batch there.

Inference code runs on whatever the machine has: an NVIDIA GPU (CUDA), an Apple GPU (MPS) or
the CPU. The model and its inputs must be on the same device, and a batch is rarely one
tensor: it is a dict of input ids and attention masks, a list of images, a tuple of features
and labels, with strings, ids and numbers mixed in. Moving it means walking that structure,
moving every tensor and leaving everything else as it was.

Two details separate a good version from a slow or broken one. Moving a tensor that is
already on the target device must not copy it: ``Tensor.to(device)`` returns the tensor
itself in that case, and a needless copy costs memory and time on every batch. And the
structure must come back as it went in: a tuple stays a tuple, a namedtuple keeps its fields,
a dict keeps its keys and their order, so the code that unpacks the batch still works.
"""

from __future__ import annotations

import torch


def choose_device(preferred: str | None = None) -> torch.device:
    """The device to run inference on.

    With no preference: CUDA when ``torch.cuda.is_available()``, otherwise MPS when
    ``torch.backends.mps.is_available()``, otherwise the CPU. Call those two functions through
    ``torch`` each time choose_device is called (not once at import, and not imported by name
    with ``from ... import``): the answer must describe the machine now, and the tests replace
    them to pretend that a GPU is there.

    With a preference ("cpu", "cuda" or "mps"): that device, if it is available (the CPU
    always is).

    Args:
        preferred: None, or one of the strings "cpu", "cuda", "mps".

    Returns:
        A torch.device without an index: ``torch.device("cuda")``, ``torch.device("mps")`` or
        ``torch.device("cpu")``.

    Raises:
        ValueError: if `preferred` is some other value, or names a device that is not
            available (asking for "cuda" on a machine without CUDA is an error, not a silent
            fallback to the CPU).

    Example:
        >>> choose_device("cpu")
        device(type='cpu')
        >>> choose_device()  # on a machine with an NVIDIA GPU
        device(type='cuda')
    """
    raise NotImplementedError


def to_device(batch, device):
    """A copy of `batch` with every tensor in it on `device`.

    `batch` is a tensor, or a dict, list or tuple (namedtuples included) holding tensors,
    other such containers and other values, nested to any depth. The result has the same
    structure:

    - a tensor becomes ``tensor.to(device)``: a tensor that is already on `device` is returned
      as it is (the same object, not a copy), any other is moved, keeping its dtype, shape and
      values;
    - a dict becomes a new dict of the same type (dict or OrderedDict) with the same keys in
      the same order; a list becomes a new list; a tuple a new tuple; a namedtuple a new
      namedtuple of the same class;
    - anything else (strings, bytes, numbers, None, numpy arrays, sets, any other object) is
      a leaf, returned as it is, the same object.

    Lists and dicts in the result are always new objects, even when nothing in them moved,
    and `batch` itself is never modified.

    Args:
        batch: the batch, as described above.
        device: the target device, a torch.device or a string such as "cpu", "cuda", "meta".

    Returns:
        The batch on `device`.

    Example:
        >>> batch = {"ids": torch.tensor([[1, 2]]), "lengths": [2], "name": "req-7"}
        >>> moved = to_device(batch, "meta")  # the meta device: shapes and dtypes, no data
        >>> moved["ids"].device, moved["lengths"], moved["name"]
        (device(type='meta'), [2], 'req-7')
        >>> to_device(batch, "cpu")["ids"] is batch["ids"]  # already there: not copied
        True
    """
    raise NotImplementedError


