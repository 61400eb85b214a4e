"""Tests for batch_predict: group, pad at the end, run once per batch, unpad, restore the order.

The oracle is the model itself, run on each request alone: the task's contract is that the
batched results equal those. The tests keep their own copies of the models (they do not use
the TinyTagger in the learner's file) and wrap them in a recorder that checks every call the
learner makes: how many, how many rows, the padding at the end, and the padded length.
The model is an argument that the `differential` fixture cannot compare (modules compare by
identity), so the generated cases use the one-at-a-time oracle rather than the reference.

Batched and single-row calls may round differently in float32 (other matrix-product
blockings), so values are compared with rtol=1e-4, atol=1e-5; a padding mistake moves them
by far more. Timing is the last test: --pitfalls stops at the first test that rejects.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from torch import nn

from katakit.testing import close, describe
from katakit.timing import assert_speedup

PAD_ID, VOCAB_SIZE, NUM_CLASSES = 0, 64, 5
VALUES = close(rtol=1e-4, atol=1e-5)
NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)

# The speed workload the docstring names.
SPEED_REQUESTS, SPEED_MAX_LENGTH, SPEED_BATCH, AT_LEAST = 128, 48, 32, 3.0


class GruTagger(nn.Module):
    """The test's own copy of the kata's TinyTagger: embedding, left-to-right GRU, linear."""

    def __init__(self, embed_dim=16, hidden=32):
        super().__init__()
        self.embed = nn.Embedding(VOCAB_SIZE, embed_dim, padding_idx=PAD_ID)
        self.rnn = nn.GRU(embed_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, NUM_CLASSES)

    def forward(self, tokens):
        states, _ = self.rnn(self.embed(tokens))
        return self.out(states)


class CausalConvTagger(nn.Module):
    """Another causal model: a convolution that sees the current token and the two before it."""

    def __init__(self, embed_dim=8, channels=12, classes=3):
        super().__init__()
        self.embed = nn.Embedding(VOCAB_SIZE, embed_dim)
        self.conv = nn.Conv1d(embed_dim, channels, kernel_size=3)
        self.out = nn.Linear(channels, classes)

    def forward(self, tokens):
        x = self.embed(tokens).transpose(1, 2)  # (batch, embed, length)
        x = torch.relu(self.conv(nn.functional.pad(x, (2, 0))))  # zeros on the left only: causal
        return self.out(x.transpose(1, 2))


def make_model(kind="gru", seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = GruTagger() if kind == "gru" else CausalConvTagger()
    return model.eval()


class Recorder(nn.Module):
    """Wraps a model and keeps a copy of the token tensor of every call."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.calls: list[torch.Tensor] = []

    def forward(self, tokens):
        self.calls.append(tokens.detach().clone())
        return self.model(tokens)


def make_requests(lengths, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(1, VOCAB_SIZE, (length,), generator=generator) for length in lengths]


def one_at_a_time(model, requests):
    """The oracle and the timing baseline: each request run alone."""
    with torch.inference_mode():
        return [model(request[None])[0] for request in requests]


def assert_results(results, requests, expected):
    __tracebackhide__ = True
    assert isinstance(results, list), f"batch_predict must return a list, got {type(results).__name__}"
    assert len(results) == len(requests), f"expected {len(requests)} results, one per request, got {len(results)}"
    for i, (yours, wanted) in enumerate(zip(results, expected, strict=True)):
        assert isinstance(yours, torch.Tensor), f"result {i} is a {type(yours).__name__}, not a tensor"
        assert tuple(yours.shape) == tuple(wanted.shape), (
            f"result {i} has shape {tuple(yours.shape)}; request {i} has {len(requests[i])} tokens, so its result "
            f"has shape {tuple(wanted.shape)} (cut the padding off)")
        assert not yours.requires_grad, f"result {i} requires grad: run the model inside torch.inference_mode()"
        assert VALUES(yours, wanted), (
            f"result {i} differs from running request {i} alone (rtol=1e-4, atol=1e-5)\n"
            f"  request:  {describe(requests[i])}\n  expected: {describe(wanted)}\n  yours:    {describe(yours)}\n"
            f"  (is it in the right place in the list? was the padding at the end of the row?)")


def assert_calls(calls, requests, max_batch_size):
    """The model was called once per batch, with right-padded batches of the right size and length."""
    __tracebackhide__ = True
    wanted = math.ceil(len(requests) / max_batch_size)
    assert len(calls) == wanted, (
        f"{len(requests)} requests with max_batch_size={max_batch_size} need {wanted} model calls; "
        f"yours made {len(calls)}")
    seen = []
    for number, tokens in enumerate(calls):
        where = f"model call {number}"
        assert tokens.dtype == torch.int64 and tokens.dim() == 2, (
            f"{where} got a {tokens.dtype} tensor of shape {tuple(tokens.shape)}; the model takes int64 token ids "
            f"of shape (batch, length)")
        rows, width = tokens.shape
        assert 1 <= rows <= max_batch_size, f"{where} had {rows} rows; max_batch_size is {max_batch_size}"
        real = tokens != PAD_ID
        lengths = real.sum(dim=1)
        for row in range(rows):
            n = int(lengths[row])
            assert bool(real[row, :n].all()) and not bool(real[row, n:].any()), (
                f"{where}, row {row}: {tokens[row].tolist()}\n  the request's tokens must come first and the "
                f"padding ({PAD_ID}) after them, at the end of the row")
            seen.append(tuple(tokens[row, :n].tolist()))
        assert width == int(lengths.max()), (
            f"{where} was padded to length {width}; its longest request has {int(lengths.max())} tokens "
            f"(pad each batch to its own longest request)")
    assert sorted(seen) == sorted(tuple(r.tolist()) for r in requests), (
        "the rows given to the model are not the requests, each exactly once")


def run(kata, model, requests, max_batch_size):
    """Call batch_predict with a recording model; check the calls and the results."""
    expected = one_at_a_time(model, requests)
    recorder = Recorder(model)
    results = kata.batch_predict(recorder, requests, max_batch_size)
    assert_calls(recorder.calls, requests, max_batch_size)
    assert_results(results, requests, expected)
    return results


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread for both sides of every comparison: steadier timings on a busy small machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---- small cases first ---------------------------------------------------------------------

def test_a_single_request(kata):
    run(kata, make_model(), make_requests([6]), max_batch_size=4)


def test_requests_of_different_lengths_in_one_batch(kata):
    run(kata, make_model(), make_requests([3, 1, 7, 2]), max_batch_size=4)


def test_results_come_back_in_the_callers_order(kata):
    # Longest first, then shortest: sorting by length for batching must be undone.
    run(kata, make_model(), make_requests([9, 1, 5, 8, 2, 2, 7, 3, 6]), max_batch_size=3)


def test_a_partial_last_batch(kata):
    run(kata, make_model(), make_requests([4, 2, 6, 3, 5]), max_batch_size=2)


def test_batches_of_one(kata):
    run(kata, make_model(), make_requests([3, 5, 1]), max_batch_size=1)


def test_max_batch_size_larger_than_the_request_count(kata):
    run(kata, make_model(), make_requests([2, 4, 3]), max_batch_size=64)


def test_requests_of_equal_length(kata):
    run(kata, make_model(), make_requests([5] * 7), max_batch_size=3)


def test_another_causal_model(kata):
    run(kata, make_model("conv", seed=3), make_requests([1, 6, 2, 9, 4, 4, 3], seed=5), max_batch_size=3)


def test_no_requests(kata):
    recorder = Recorder(make_model())
    results = kata.batch_predict(recorder, [], 8)
    assert results == [] and isinstance(results, list), f"no requests give [], got {results!r}"
    assert not recorder.calls, "with no requests the model must not be called"


# ---- inputs left alone ---------------------------------------------------------------------

def test_the_request_list_and_tensors_are_not_modified(kata):
    requests = make_requests([7, 2, 9, 1, 4, 6], seed=2)
    before = [r.clone() for r in requests]
    order = [id(r) for r in requests]
    results = kata.batch_predict(make_model(), requests, 4)
    assert [id(r) for r in requests] == order, "the caller's list was reordered (sorted in place?)"
    assert all(torch.equal(r, b) for r, b in zip(requests, before, strict=True)), "a request tensor was modified"
    assert results is not requests, "return a new list"


# ---- invalid input -------------------------------------------------------------------------

@pytest.mark.parametrize("max_batch_size", [0, -1])
def test_max_batch_size_below_one_raises_value_error(kata, max_batch_size):
    with pytest.raises(ValueError):
        kata.batch_predict(make_model(), make_requests([3, 2]), max_batch_size)


@pytest.mark.parametrize("max_batch_size", [0, -3])
def test_max_batch_size_below_one_raises_even_with_no_requests(kata, max_batch_size):
    recorder = Recorder(make_model())
    with pytest.raises(ValueError):
        kata.batch_predict(recorder, [], max_batch_size)
    assert not recorder.calls, "with no requests the model must not be called"


@pytest.mark.parametrize("bad", ["empty", "2-D", "0-D"])
def test_a_malformed_request_raises_value_error(kata, bad):
    request = {"empty": torch.zeros(0, dtype=torch.int64), "2-D": torch.ones(2, 3, dtype=torch.int64),
               "0-D": torch.tensor(5)}[bad]
    requests = make_requests([3, 2]) + [request]
    with pytest.raises(ValueError):
        kata.batch_predict(make_model(), requests, 2)


# ---- generated cases -----------------------------------------------------------------------

@settings(max_examples=60, phases=NO_EXPLAIN)
@given(lengths=st.lists(st.integers(1, 24), min_size=1, max_size=40), max_batch_size=st.integers(1, 12),
       seed=st.integers(0, 2**16), kind=st.sampled_from(["gru", "conv"]))
def test_generated_requests(kata, lengths, max_batch_size, seed, kind):
    run(kata, make_model(kind, seed % 7), make_requests(lengths, seed), max_batch_size)


# ---- speed: last ---------------------------------------------------------------------------

@pytest.mark.speed
def test_at_least_3x_the_throughput_of_one_at_a_time(kata):
    model = make_model(seed=11)
    generator = torch.Generator().manual_seed(12)
    lengths = torch.randint(1, SPEED_MAX_LENGTH + 1, (SPEED_REQUESTS,), generator=generator).tolist()
    requests = make_requests(lengths, seed=13)
    assert_results(kata.batch_predict(model, requests, SPEED_BATCH), requests, one_at_a_time(model, requests))
    result = assert_speedup(
        lambda: kata.batch_predict(model, requests, SPEED_BATCH), lambda: one_at_a_time(model, requests),
        at_least=AT_LEAST, runs=7,
        what=f"batch_predict ({SPEED_REQUESTS} requests of 1 to {SPEED_MAX_LENGTH} tokens, "
             f"max_batch_size={SPEED_BATCH}, CPU)")
    print(f"\nCPU, {SPEED_REQUESTS} requests, max_batch_size {SPEED_BATCH}: {result}")
