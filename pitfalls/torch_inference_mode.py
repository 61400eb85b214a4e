"""Known wrong answers for torch_inference_mode, and correct answers written differently."""

from __future__ import annotations

import contextlib
import functools

import torch

from katakit.pitfalls import alternative, pitfall


@pitfall("predict", "Runs under torch.inference_mode() but never calls eval(): dropout stays on and batch norm "
                    "normalises with the batch's statistics and updates its running ones.")
def inference_mode_without_eval(model, batch):
    with torch.inference_mode():
        return model(batch)


@pitfall("predict", "Calls eval() but forgets inference mode: autograd records the whole forward pass and the "
                    "output requires grad.")
def eval_without_inference_mode(model, batch):
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        return model(batch)
    finally:
        for m, flag in saved:
            m.training = flag


@pitfall("predict", "Uses torch.no_grad() instead of torch.inference_mode(): no gradients, but not inference mode, "
                    "so the output is not an inference tensor.")
def no_grad_instead_of_inference_mode(model, batch):
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            return model(batch)
    finally:
        for m, flag in saved:
            m.training = flag


@pitfall("predict", "Calls model.eval() and never restores the training flags: a model that was training is left "
                    "in eval mode.")
def never_restores_flags(model, batch):
    model.eval()
    with torch.inference_mode():
        return model(batch)


@pitfall("predict", "Calls model.train() afterwards whatever the model was before: a model that was in eval mode "
                    "comes back training.")
def always_back_to_train(model, batch):
    model.eval()
    try:
        with torch.inference_mode():
            return model(batch)
    finally:
        model.train()


@pitfall("predict", "Restores only the top-level flag with model.train(was_training), which gives every submodule "
                    "that flag: a frozen submodule comes back training.")
def restores_top_level_flag_only(model, batch):
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return model(batch)
    finally:
        model.train(was_training)


@pitfall("predict", "Sets model.training = False on the model alone: the attribute does not reach the submodules, "
                    "so dropout and batch norm stay in training mode.")
def sets_root_attribute_only(model, batch):
    was_training = model.training
    model.training = False
    try:
        with torch.inference_mode():
            return model(batch)
    finally:
        model.training = was_training


@pitfall("predict", "Restores the flags without try/finally: when the model raises, it is left in eval mode.")
def restores_only_on_success(model, batch):
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    with torch.inference_mode():
        out = model(batch)
    for m, flag in saved:
        m.training = flag
    return out


@pitfall("predict", "Restores each module with m.train(flag), children first: each parent's train() then "
                    "overwrites its children's restored flags.")
def restores_children_first_with_train(model, batch):
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.inference_mode():
            return model(batch)
    finally:
        for m, flag in reversed(saved):
            m.train(flag)


@pitfall("predict", "Switches gradients off globally with torch.set_grad_enabled(False) and never switches them "
                    "back on, so the caller's training code stops recording gradients.")
def switches_gradients_off_globally(model, batch):
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    torch.set_grad_enabled(False)
    try:
        with torch.inference_mode():
            return model(batch)
    finally:
        for m, flag in saved:
            m.training = flag


@pitfall("predict", "Restores the flags in `except Exception:` and after a successful call: a BaseException such as "
                    "KeyboardInterrupt skips both and leaves the model in eval mode.")
def restores_in_except_exception_only(model, batch):
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.inference_mode():
            out = model(batch)
    except Exception:
        for m, flag in saved:
            m.training = flag
        raise
    for m, flag in saved:
        m.training = flag
    return out


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("predict", "torch.inference_mode() as a decorator, the flags kept in a dict by module name.")
@torch.inference_mode()
def inference_mode_decorator(model, batch):
    saved = {name: m.training for name, m in model.named_modules()}
    model.eval()
    try:
        return model(batch)
    finally:
        for name, m in model.named_modules():
            m.training = saved[name]


@contextlib.contextmanager
def _evaluating(model):
    saved = [(m, m.training) for m in model.modules()]
    for m in model.modules():
        m.train(False)
    try:
        yield model
    finally:
        # Parents come before their children in modules(), so each child's own train(flag)
        # comes after its parent's and wins.
        for m, flag in saved:
            m.train(flag)


@alternative("predict", "A context manager of its own that switches each module and restores it with m.train(flag), "
                        "parents first.")
def own_context_manager(model, batch):
    with _evaluating(model), torch.inference_mode(mode=True):
        out = model(batch)
    return out


@alternative("predict", "An ExitStack holding inference mode, with a callback that restores the flags from a list "
                        "of booleans.")
def exit_stack(model, batch):
    modules = list(model.modules())
    before = [m.training for m in modules]

    def restore():
        for m, flag in zip(modules, before, strict=True):
            m.training = flag

    with contextlib.ExitStack() as stack:
        stack.callback(restore)
        model.apply(lambda m: setattr(m, "training", False))
        stack.enter_context(torch.inference_mode())
        return functools.partial(model, batch)()


@pitfall("predict", "Also freezes the model (requires_grad_(False) on every parameter) and unfreezes it all "
                    "afterwards: a layer the caller had frozen comes back trainable.")
def unfreezes_every_parameter(model, batch):
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    model.requires_grad_(False)
    try:
        with torch.inference_mode():
            return model(batch)
    finally:
        model.requires_grad_(True)
        for m, flag in saved:
            m.training = flag


@pitfall("predict", "Freezes every parameter with requires_grad_(False) for inference and never unfreezes them: "
                    "the caller's training stops updating the model.")
def leaves_parameters_frozen(model, batch):
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    model.requires_grad_(False)
    try:
        with torch.inference_mode():
            return model(batch)
    finally:
        for m, flag in saved:
            m.training = flag
