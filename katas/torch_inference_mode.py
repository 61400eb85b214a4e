"""Run a PyTorch model for inference, and leave everything as you found it.

A PyTorch module behaves differently in training and in evaluation. In training mode
``nn.Dropout`` zeroes random activations, so two calls on the same input disagree, and
``nn.BatchNorm`` normalises with the statistics of the current batch and updates its running
mean and variance as a side effect; it even refuses a batch of one row. ``model.eval()``
switches every submodule to evaluation: dropout does nothing and batch norm uses the running
statistics it learnt, so the output of a row no longer depends on the other rows.

Autograd is the other half. Outside training there is no backward pass, so recording the
graph of every operation only costs time and memory. ``torch.no_grad()`` stops the
recording; ``torch.inference_mode()`` goes further (no version counters, no view tracking)
and is the context PyTorch recommends for pure inference. Tensors made inside it are
"inference tensors": ``torch.is_inference(t)`` is True.

A serving function must also be a good guest. The model it is handed may be in the middle of
training, possibly with some submodules deliberately kept in evaluation (a frozen batch norm
layer while the rest fine-tunes), and the caller may have gradients switched on or off. An
inference helper that leaves the model in eval mode, or switches the whole model back to
train mode, silently changes how training continues.
"""

from __future__ import annotations

import torch


def predict(model: torch.nn.Module, batch: torch.Tensor):
    """Return ``model(batch)`` computed for inference, leaving the model and autograd as they were.

    During the forward pass:

    - every module of the model (``model.modules()``: the model itself and all its
      submodules, however deeply nested) has ``training == False``, so dropout is off and
      batch norm uses its running statistics and does not update them;
    - the call runs inside ``torch.inference_mode()``, so nothing is recorded for autograd and
      the output is an inference tensor (``torch.is_inference(output)`` is True and
      ``output.requires_grad`` is False).

    After the call, whether it returned or raised:

    - every module's ``training`` flag is exactly what it was before the call, module by
      module. Models may mix modes (a model in training with a submodule kept in eval, or the
      other way round), and each module gets back its own flag: ``model.train(flag)`` on the
      whole model is not enough, because it sets all the submodules to the same flag;
    - the caller's autograd state is unchanged: ``torch.is_grad_enabled()`` and
      ``torch.is_inference_mode_enabled()`` are what they were (use context managers rather
      than switching global state);
    - the model's parameters and buffers (batch norm's running statistics and its
      ``num_batches_tracked`` counter included) and `batch` are unchanged, and so is each
      parameter's ``requires_grad`` flag (a layer the caller froze stays frozen, the others
      stay trainable).

    If the model raises, let that exception propagate unchanged (the same exception object)
    once the flags are restored; predict raises nothing of its own.

    Args:
        model: any ``torch.nn.Module``; it is called once, as ``model(batch)``.
        batch: the model's input, passed to it as is (it is already on the model's device).

    Returns:
        Whatever ``model(batch)`` returns; for the models in the tests, a tensor such as a
        float32 tensor of shape ``(batch_size, num_outputs)``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
        ...                             torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
        >>> _ = model[1].eval()  # a frozen batch norm inside a model that is otherwise training
        >>> x = torch.randn(3, 4)
        >>> y = predict(model, x)
        >>> torch.equal(y, predict(model, x)), torch.is_inference(y), y.requires_grad  # no dropout noise
        (True, True, False)
        >>> [m.training for m in model.modules()]
        [True, True, False, True, True]
        >>> torch.is_grad_enabled()
        True
    """
    raise NotImplementedError
