"""Tests for torch_inference_mode: eval mode and inference mode for one call, and nothing else changed.

The oracle is PyTorch itself: a deep copy of the model switched to eval() and called inside
torch.inference_mode(). The model is an argument that must come back unchanged, which the
`differential` fixture cannot compare (modules are compared by identity), so the generated
cases check the output against the oracle and the model's state against a snapshot here.

The test models record, at every forward pass, the training flag of each of their modules
and the autograd state, so the tests see what the model saw, not only what it returned.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from torch import nn

from katakit.testing import close, describe

VALUES = close(rtol=1e-5, atol=1e-6)
# Hypothesis's explain phase reruns a failing case about a hundred times to say which parts of it
# matter; with a model built per case that costs seconds and says little here.
NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
D_IN, D_HIDDEN, D_OUT = 6, 16, 3


@dataclass(frozen=True)
class Seen:
    """What a test model saw during one forward pass."""

    flags: tuple[bool, ...]  # training flag of every module, in model.modules() order
    inference_mode: bool
    grad_enabled: bool


class ModelFailure(Exception):
    """Raised by a test model on purpose."""


class ModelInterrupted(BaseException):
    """Raised by a test model on purpose; like KeyboardInterrupt, it is a BaseException but not an Exception."""


class Net(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Dropout -> Linear -> Dropout -> Linear, in nested containers.

    Records what it saw at each forward pass in `self.seen`; raises ModelFailure after
    recording when `self.fail` is set (or `self.fail`'s own exception class, when it is one).
    """

    def __init__(self, depth: int = 1, dropout: float = 0.5):
        super().__init__()
        layers = []
        width = D_IN
        for _ in range(depth):
            layers.append(nn.Sequential(nn.Linear(width, D_HIDDEN), nn.BatchNorm1d(D_HIDDEN), nn.ReLU(),
                                        nn.Dropout(dropout)))
            width = D_HIDDEN
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(width, D_HIDDEN), nn.Dropout(dropout), nn.Linear(D_HIDDEN, D_OUT))
        self.seen: list[Seen] = []
        self.fail = False
        self.raised: list[BaseException] = []

    def forward(self, x):
        self.seen.append(Seen(tuple(m.training for m in self.modules()), torch.is_inference_mode_enabled(),
                              torch.is_grad_enabled()))
        if self.fail:
            error = (self.fail if isinstance(self.fail, type) else ModelFailure)("this model fails on purpose")
            self.raised.append(error)
            raise error
        return self.head(self.body(x))


def make_net(seed: int = 0, depth: int = 1, dropout: float = 0.5) -> Net:
    """A Net with seeded weights and batch-norm statistics that are not the defaults (0 and 1)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = Net(depth, dropout)
        for module in net.modules():
            if isinstance(module, nn.BatchNorm1d):
                nn.init.uniform_(module.weight, 0.5, 1.5)
                nn.init.uniform_(module.bias, -0.5, 0.5)
        with torch.no_grad():
            for _ in range(3):  # a few training steps' worth of running statistics
                net(torch.randn(32, D_IN) * 2 + 1)
    net.seen.clear()
    return net


def make_batch(rows: int, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, D_IN, generator=generator)


def flags(model) -> list[bool]:
    return [m.training for m in model.modules()]


def set_flags(model, pattern) -> None:
    for module, flag in zip(model.modules(), pattern, strict=True):
        module.training = flag


def state(model) -> dict:
    """Every parameter and buffer, cloned."""
    return {name: t.detach().clone() for name, t in model.state_dict().items()}


def assert_state_unchanged(model, before):
    __tracebackhide__ = True
    after = model.state_dict()
    for name, old in before.items():
        assert torch.equal(after[name], old), (
            f"predict changed the model's {name!r}\n  before: {describe(old)}\n  after:  {describe(after[name])}"
            + ("\n  (batch norm updates its running statistics in training mode: call eval() first)"
               if "running" in name or "num_batches" in name else ""))


def oracle(model, batch):
    """The model's output in eval mode, from PyTorch itself, on a copy so the model is not touched."""
    twin = copy.deepcopy(model).eval()
    with torch.inference_mode():
        return twin(batch.clone())


def assert_output(out, expected, what="predict(model, batch)"):
    __tracebackhide__ = True
    assert isinstance(out, torch.Tensor), f"{what} must return the model's output tensor, got {type(out).__name__}"
    assert VALUES(out, expected), (
        f"{what} differs from the model's output in eval mode\n  expected: {describe(expected)}\n"
        f"  yours:    {describe(out)}\n"
        f"  (in training mode dropout zeroes activations and batch norm uses the batch's own statistics)")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread: these models are tiny, and on a busy small machine a second thread only waits."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _autograd_state_is_restored():
    """Each test starts with gradients on, and a wrong answer's global switch does not leak into the next."""
    torch.set_grad_enabled(True)
    yield
    torch.set_grad_enabled(True)


# ---- the output ----------------------------------------------------------------------------------

def test_output_equals_the_model_in_eval_mode(kata):
    net = make_net()
    batch = make_batch(8)
    expected = oracle(net, batch)
    assert_output(kata.predict(net, batch), expected)


def test_output_is_an_inference_tensor(kata):
    net = make_net()
    out = kata.predict(net, make_batch(4))
    assert isinstance(out, torch.Tensor), f"expected the model's output tensor, got {type(out).__name__}"
    assert not out.requires_grad, "the output requires grad: autograd recorded the forward pass"
    assert torch.is_inference(out), (
        "the output is not an inference tensor: run the model inside torch.inference_mode() "
        "(torch.no_grad() stops gradients but is not inference mode, and a copy made after leaving "
        "inference mode is an ordinary tensor)")


def test_every_module_is_in_eval_during_the_forward_pass(kata):
    net = make_net(depth=2)
    net.train()
    kata.predict(net, make_batch(5))
    assert len(net.seen) == 1, f"the model must be called exactly once, it was called {len(net.seen)} times"
    during = list(net.seen[0].flags)
    names = [name or "(the model)" for name, _ in net.named_modules()]
    training = [name for name, flag in zip(names, during, strict=True) if flag]
    assert not training, f"these modules were in training mode during the forward pass: {training}"


def test_forward_pass_runs_inside_inference_mode(kata):
    net = make_net()
    kata.predict(net, make_batch(3))
    seen = net.seen[-1]
    assert not seen.grad_enabled, "gradients were enabled during the forward pass"
    assert seen.inference_mode, (
        "the forward pass did not run inside torch.inference_mode() "
        "(torch.no_grad() disables gradients but is not inference mode)")


# ---- the model's flags afterwards ----------------------------------------------------------------

def test_a_training_model_is_back_in_training_afterwards(kata):
    net = make_net()
    net.train()
    kata.predict(net, make_batch(4))
    assert all(flags(net)), f"the model was training before predict and must be again; flags now {flags(net)}"


def test_a_model_in_eval_stays_in_eval(kata):
    net = make_net()
    net.eval()
    kata.predict(net, make_batch(4))
    assert not any(flags(net)), f"the model was in eval mode before predict and must stay so; flags now {flags(net)}"


MIXED = {
    # Net(depth=1).modules(): net, body, body[0], Linear, BatchNorm, ReLU, Dropout, head, Linear, Dropout, Linear
    "training, frozen batch norm": [True, True, True, True, False, True, True, True, True, True, True],
    "training, frozen body": [True, False, False, False, False, False, False, True, True, True, True],
    "eval, head training": [False, False, False, False, False, False, False, True, True, True, True],
    "alternating": [True, False, True, False, True, False, True, False, True, False, True],
}


@pytest.mark.parametrize("case", list(MIXED))
def test_mixed_flags_are_restored_module_by_module(kata, case):
    net = make_net()
    set_flags(net, MIXED[case])
    kata.predict(net, make_batch(4))
    assert flags(net) == MIXED[case], (
        f"each module must get its own training flag back\n  before: {MIXED[case]}\n  after:  {flags(net)}\n"
        f"  (model.train(flag) sets every submodule to the same flag)")


@pytest.mark.parametrize("case", ["training", "eval", "training, frozen batch norm"])
def test_flags_are_restored_when_the_model_raises(kata, case):
    net = make_net()
    pattern = MIXED.get(case) or [case == "training"] * len(flags(net))
    set_flags(net, pattern)
    net.fail = True
    with pytest.raises(ModelFailure) as raised:
        kata.predict(net, make_batch(4))
    assert net.raised and raised.value is net.raised[-1], "let the model's own exception propagate unchanged"
    assert flags(net) == pattern, (
        f"the model raised and its training flags were not restored (restore them in a finally block)\n"
        f"  before: {pattern}\n  after:  {flags(net)}")


def test_flags_are_restored_when_the_model_raises_a_base_exception(kata):
    net = make_net()
    pattern = MIXED["training, frozen batch norm"]
    set_flags(net, pattern)
    net.fail = ModelInterrupted  # not an Exception: `except Exception:` does not see it, `finally:` does
    with pytest.raises(ModelInterrupted) as raised:
        kata.predict(net, make_batch(4))
    assert net.raised and raised.value is net.raised[-1], "let the model's own exception propagate unchanged"
    assert flags(net) == pattern, (
        f"the model raised a BaseException (as KeyboardInterrupt is) and the training flags were not restored "
        f"(restore them in a finally block, not in `except Exception:`)\n  before: {pattern}\n  after:  {flags(net)}")


def test_flags_are_restored_after_a_shape_error_from_torch(kata):
    net = make_net()
    net.train()
    try:
        kata.predict(net, torch.randn(4, D_IN + 1))  # the first Linear cannot take 7 features
    except NotImplementedError:
        raise
    except RuntimeError:
        pass
    else:
        pytest.fail("the model raises RuntimeError on a batch of the wrong width; predict must let it through")
    assert all(flags(net)), f"the model raised and was not put back in training mode; flags now {flags(net)}"


# ---- the caller's autograd state -----------------------------------------------------------------

def test_gradients_are_still_enabled_afterwards(kata):
    net = make_net()
    kata.predict(net, make_batch(3))
    assert torch.is_grad_enabled(), (
        "gradients are switched off after predict: use a context manager instead of torch.set_grad_enabled(False)")
    assert not torch.is_inference_mode_enabled(), "inference mode is still on after predict"
    weight = torch.ones(2, requires_grad=True)
    assert (weight * 3).sum().requires_grad, "autograd no longer records operations after predict"


def test_inside_no_grad_the_caller_keeps_no_grad(kata):
    net = make_net()
    with torch.no_grad():
        out = kata.predict(net, make_batch(3))
        assert not torch.is_grad_enabled(), "predict switched gradients back on inside the caller's no_grad block"
    assert torch.is_grad_enabled()
    assert torch.is_inference(out) and net.seen[-1].inference_mode, "inside no_grad, still use inference_mode"


def test_inside_inference_mode_the_caller_keeps_inference_mode(kata):
    net = make_net()
    with torch.inference_mode():
        kata.predict(net, make_batch(3))
        assert torch.is_inference_mode_enabled(), "predict left the caller's inference_mode block"
    assert not torch.is_inference_mode_enabled()


# ---- determinism, batch norm and side effects ----------------------------------------------------

def test_deterministic_with_dropout(kata):
    net = make_net(dropout=0.5)
    net.train()
    batch = make_batch(16)
    first = kata.predict(net, batch)
    second = kata.predict(net, batch)
    assert torch.equal(first, second), "two calls on the same batch differ: dropout is still active"


def test_a_row_does_not_depend_on_the_rest_of_the_batch(kata):
    net = make_net()
    net.train()
    batch = make_batch(6)
    whole = kata.predict(net, batch)
    alone = kata.predict(net, batch[2:3])
    assert VALUES(alone, whole[2:3]), (
        "row 2 alone gives a different output than in its batch: batch norm normalised with the batch's "
        f"statistics instead of its running ones\n  in the batch: {describe(whole[2:3])}\n  alone: {describe(alone)}")


def test_batch_of_one_row_with_batch_norm(kata):
    net = make_net()
    net.train()  # in training mode, BatchNorm1d refuses a batch of one row
    batch = make_batch(1)
    expected = oracle(net, batch)
    assert_output(kata.predict(net, batch), expected, "predict(model, one row)")


def test_parameters_and_batch_norm_statistics_are_unchanged(kata):
    net = make_net(depth=2)
    net.train()
    before = state(net)
    kata.predict(net, make_batch(8) * 3 + 2)  # a shifted batch: updated statistics would show
    assert_state_unchanged(net, before)


def test_requires_grad_flags_are_unchanged(kata):
    net = make_net(depth=2)
    net.train()
    net.body[0].requires_grad_(False)  # a frozen first block while the rest fine-tunes
    before = [p.requires_grad for p in net.parameters()]
    kata.predict(net, make_batch(4))
    assert [p.requires_grad for p in net.parameters()] == before, (
        f"predict changed the parameters' requires_grad flags (froze the model and did not put each flag back?)\n"
        f"  before: {before}\n  after:  {[p.requires_grad for p in net.parameters()]}")
    net.fail = True
    with pytest.raises(ModelFailure):
        kata.predict(net, make_batch(4))
    assert [p.requires_grad for p in net.parameters()] == before, (
        "the model raised and the parameters' requires_grad flags were not put back")


def test_the_batch_is_not_modified(kata):
    net = make_net()
    batch = make_batch(5)
    before = batch.clone()
    kata.predict(net, batch)
    assert torch.equal(batch, before), "predict modified its input batch"


# ---- generated models, flags and batches ---------------------------------------------------------

@st.composite
def cases(draw):
    depth = draw(st.integers(1, 3), label="depth")
    seed = draw(st.integers(0, 2**16), label="seed")
    dropout = draw(st.sampled_from([0.1, 0.5, 0.9]), label="dropout")
    net = make_net(seed, depth, dropout)
    pattern = draw(st.lists(st.booleans(), min_size=len(flags(net)), max_size=len(flags(net))), label="flags")
    rows = draw(st.integers(1, 9), label="rows")
    scale = draw(st.sampled_from([0.5, 1.0, 4.0]), label="scale")
    return net, pattern, make_batch(rows, seed + 1) * scale


@settings(max_examples=40, phases=NO_EXPLAIN)
@given(case=cases())
def test_generated_models_and_flags(kata, case):
    net, pattern, batch = case
    set_flags(net, pattern)
    before = state(net)
    expected = oracle(net, batch)
    out = kata.predict(net, batch)
    assert_output(out, expected)
    assert torch.is_inference(out), "the output is not an inference tensor: use torch.inference_mode()"
    assert not any(net.seen[-1].flags), f"modules in training mode during the forward pass: {net.seen[-1].flags}"
    assert flags(net) == pattern, f"training flags not restored\n  before: {pattern}\n  after:  {flags(net)}"
    assert_state_unchanged(net, before)
    assert torch.is_grad_enabled(), "gradients are switched off after predict"
