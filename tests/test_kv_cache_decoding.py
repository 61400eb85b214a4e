"""Tests for kv_cache_decoding: greedy decoding with a key/value cache.

The oracle is the uncached greedy decoder. The tests keep their own copy of the given model
and functions (a learner could edit the kata's copy), build the model from it, and pass that
model to generate_with_cache; the cached tokens must equal the uncached ones exactly.

Greedy decoding breaks ties by argmax, and two logits within rounding error of each other
could be ordered differently by the cached and uncached computations (their matrix products
have different shapes, so they round differently). Everything is float64, where the two
agree to about 1e-13, and the tests use only prompts whose two largest logits at every step
are more than 1e-9 apart (checked with the tests' own uncached decoder), so a correct
answer can never be rejected by a near-tie.

The speed test is last, and it measures against the tests' own uncached decoder with
katakit.timing.assert_speedup (warm-up, alternating runs, minimum of N, three attempts).
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from katakit.testing import describe, exact
from katakit.timing import assert_speedup

# ---- the tests' own copy of the given model and functions (identical to the kata's) ---------

VOCAB_SIZE = 1024
D_MODEL = 256
N_HEADS = 4
HEAD_DIM = D_MODEL // N_HEADS
N_LAYERS = 2
MAX_LEN = 256  # positions 0 to MAX_LEN - 1 have an embedding


class Layer:
    """The weights of one transformer block; x @ w + b for every projection."""

    def __init__(self, generator: torch.Generator):
        def weight(rows, cols):
            return torch.randn(rows, cols, generator=generator, dtype=torch.float64) / math.sqrt(rows)

        def small(size):
            return 0.1 * torch.randn(size, generator=generator, dtype=torch.float64)

        self.ln1_weight, self.ln1_bias = 1.0 + small(D_MODEL), small(D_MODEL)
        self.w_qkv, self.b_qkv = weight(D_MODEL, 3 * D_MODEL), small(3 * D_MODEL)
        self.w_out, self.b_out = weight(D_MODEL, D_MODEL), small(D_MODEL)
        self.ln2_weight, self.ln2_bias = 1.0 + small(D_MODEL), small(D_MODEL)
        self.w_up, self.b_up = weight(D_MODEL, 4 * D_MODEL), small(4 * D_MODEL)
        self.w_down, self.b_down = weight(4 * D_MODEL, D_MODEL), small(D_MODEL)


class TinyDecoder:
    """A decoder-only transformer with fixed random weights (float64, on the CPU)."""

    def __init__(self, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        self.token_embedding = torch.randn(VOCAB_SIZE, D_MODEL, generator=generator, dtype=torch.float64)
        self.position_embedding = torch.randn(MAX_LEN, D_MODEL, generator=generator, dtype=torch.float64)
        self.layers = [Layer(generator) for _ in range(N_LAYERS)]
        self.lnf_weight = torch.ones(D_MODEL, dtype=torch.float64)
        self.lnf_bias = torch.zeros(D_MODEL, dtype=torch.float64)
        self.w_head = torch.randn(D_MODEL, VOCAB_SIZE, generator=generator, dtype=torch.float64) / math.sqrt(D_MODEL)


def embed(model: TinyDecoder, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Token plus position embeddings: (T,) tokens at (T,) positions -> (T, D_MODEL)."""
    return model.token_embedding[tokens] + model.position_embedding[positions]


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.layer_norm(x, (D_MODEL,), weight, bias, eps=1e-5)


def queries_keys_values(layer: Layer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The block's queries, keys and values for the rows of x (T, D_MODEL): each (N_HEADS, T, HEAD_DIM)."""
    q, k, v = (layer_norm(x, layer.ln1_weight, layer.ln1_bias) @ layer.w_qkv + layer.b_qkv).split(D_MODEL, dim=-1)
    return tuple(t.reshape(-1, N_HEADS, HEAD_DIM).transpose(0, 1) for t in (q, k, v))


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Scaled dot-product attention per head: q (H, Tq, Dh) over k, v (H, Tk, Dh) -> (H, Tq, Dh).

    mask, if given, is a (Tq, Tk) bool tensor: True where query i may look at key j.
    """
    scores = q @ k.transpose(-1, -2) / math.sqrt(HEAD_DIM)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(dim=-1) @ v


def causal_mask(size: int) -> torch.Tensor:
    """(size, size) bool: position i may look at positions 0 to i."""
    return torch.ones(size, size, dtype=torch.bool).tril()


def finish_block(layer: Layer, x: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
    """The rest of the block after attention: output projection and residual, then the MLP and residual."""
    merged = attended.transpose(0, 1).reshape(-1, D_MODEL)  # (H, T, Dh) -> (T, D_MODEL)
    x = x + merged @ layer.w_out + layer.b_out
    hidden = torch.nn.functional.gelu(layer_norm(x, layer.ln2_weight, layer.ln2_bias) @ layer.w_up + layer.b_up)
    return x + hidden @ layer.w_down + layer.b_down


def output_logits(model: TinyDecoder, x: torch.Tensor) -> torch.Tensor:
    """Final layer norm and the output projection: (T, D_MODEL) -> (T, VOCAB_SIZE)."""
    return layer_norm(x, model.lnf_weight, model.lnf_bias) @ model.w_head


def forward(model: TinyDecoder, tokens: torch.Tensor) -> torch.Tensor:
    """The logits at every position of `tokens` (T,), shape (T, VOCAB_SIZE); no cache."""
    x = embed(model, tokens, torch.arange(len(tokens)))
    for layer in model.layers:
        q, k, v = queries_keys_values(layer, x)
        x = finish_block(layer, x, attend(q, k, v, causal_mask(len(tokens))))
    return output_logits(model, x)


def check_request(prompt: torch.Tensor, max_new_tokens: int) -> None:
    """Raise ValueError unless prompt and max_new_tokens are a valid request for the model."""
    if not isinstance(prompt, torch.Tensor) or prompt.dim() != 1 or len(prompt) == 0:
        raise ValueError("prompt must be a non-empty 1-D tensor of token ids")
    if prompt.dtype != torch.long:
        raise ValueError(f"prompt must hold torch.long token ids, got {prompt.dtype}")
    if bool((prompt < 0).any()) or bool((prompt >= VOCAB_SIZE).any()):
        raise ValueError(f"token ids must be in [0, {VOCAB_SIZE})")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    if len(prompt) + max_new_tokens > MAX_LEN:
        raise ValueError(f"prompt and new tokens together must fit in MAX_LEN = {MAX_LEN} positions")


def generate_without_cache(model: TinyDecoder, prompt: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Greedy decoding, the slow way: the whole sequence goes through forward() for every new token.

    Each step takes the logits at the last position, picks the token with the largest logit
    (``argmax``; the first one if several are equal), and appends it. Returns the
    ``max_new_tokens`` new tokens as a 1-D torch.long tensor, without the prompt.
    """
    check_request(prompt, max_new_tokens)
    tokens = prompt
    for _ in range(max_new_tokens):
        next_token = forward(model, tokens)[-1].argmax()
        tokens = torch.cat([tokens, next_token.view(1)])
    return tokens[len(prompt):]


# ---- helpers ------------------------------------------------------------------------------------

MARGIN = 1e-9  # the two largest logits of every step are further apart than this in every checked case
SPEED_PROMPT, SPEED_NEW, AT_LEAST = 64, 48, 2.0


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread for this module: on a small or shared machine, two threads that wait for each
    other make every small matrix product several times slower, and the timings erratic."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    return TinyDecoder()


def greedy_with_margin(model, prompt, max_new_tokens):
    """The uncached greedy tokens, and the smallest gap between the two largest logits over the steps."""
    tokens, gap = prompt, math.inf
    for _ in range(max_new_tokens):
        logits = forward(model, tokens)[-1]
        top = logits.topk(2).values
        gap = min(gap, float(top[0] - top[1]))
        tokens = torch.cat([tokens, logits.argmax().view(1)])
    return tokens[len(prompt):], gap


def prompt_of(length, seed):
    return torch.randint(0, VOCAB_SIZE, (length,), generator=torch.Generator().manual_seed(seed))


def assert_same_tokens(yours, expected, prompt, max_new_tokens):
    __tracebackhide__ = True
    call = f"generate_with_cache(model, prompt of {len(prompt)} tokens, max_new_tokens={max_new_tokens})"
    assert isinstance(yours, torch.Tensor), f"{call} must return a torch.Tensor, got {type(yours).__name__}"
    assert yours.dtype == torch.long and yours.dim() == 1, (
        f"{call} must return a 1-D torch.long tensor, got dtype {yours.dtype} and shape {tuple(yours.shape)}")
    if not exact(yours, expected):
        same = 0
        while same < min(len(yours), len(expected)) and yours[same] == expected[same]:
            same += 1
        raise AssertionError(
            f"{call} differs from greedy decoding without the cache from new token {same} on\n"
            f"  prompt:   {describe(prompt)}\n  expected: {describe(expected)}\n  yours:    {describe(yours)}")


def check_against_uncached(kata, model, prompt, max_new_tokens):
    __tracebackhide__ = True
    yours = kata.generate_with_cache(model, prompt, max_new_tokens)  # first: an unfinished stub stops here
    expected, gap = greedy_with_margin(model, prompt, max_new_tokens)
    assert gap > MARGIN, f"test case too close to a tie (gap {gap:.3g}); choose another"  # guards the tests
    assert_same_tokens(yours, expected, prompt, max_new_tokens)


# ---- cheap checks first -------------------------------------------------------------------------

INVALID = {
    "2-D prompt": (torch.zeros(1, 3, dtype=torch.long), 2),
    "empty prompt": (torch.zeros(0, dtype=torch.long), 2),
    "float prompt": (torch.tensor([1.0, 2.0]), 2),
    "token id = VOCAB_SIZE": (torch.tensor([3, VOCAB_SIZE]), 2),
    "negative token id": (torch.tensor([-1, 3]), 2),
    "max_new_tokens = -1": (torch.tensor([1, 2]), -1),
    "max_new_tokens = 2.5": (torch.tensor([1, 2]), 2.5),
    "longer than MAX_LEN": (torch.zeros(MAX_LEN - 3, dtype=torch.long), 4),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_requests_raise_value_error(kata, model, case):
    prompt, max_new_tokens = INVALID[case]
    with pytest.raises(ValueError):
        kata.generate_with_cache(model, prompt, max_new_tokens)


def test_zero_new_tokens(kata, model):
    out = kata.generate_with_cache(model, prompt_of(4, 0), 0)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.long and out.shape == (0,), (
        f"max_new_tokens=0 must give an empty 1-D torch.long tensor, got {describe(out)}")


@pytest.mark.parametrize("length", [1, 7])
def test_one_new_token_comes_from_the_prefill(kata, model, length):
    check_against_uncached(kata, model, prompt_of(length, 10 + length), 1)


@pytest.mark.parametrize("length, max_new_tokens", [(1, 12), (3, 20), (16, 16), (40, 6)])
def test_same_tokens_as_without_cache(kata, model, length, max_new_tokens):
    check_against_uncached(kata, model, prompt_of(length, length), max_new_tokens)


def test_up_to_the_last_position(kata, model):
    # The last new token is predicted at position MAX_LEN - 2 and would be placed at MAX_LEN - 1.
    check_against_uncached(kata, model, prompt_of(MAX_LEN - 4, 5), 4)


def test_each_call_starts_from_an_empty_cache(kata, model):
    first, second = prompt_of(6, 21), prompt_of(9, 22)
    for prompt in (first, second, first):
        check_against_uncached(kata, model, prompt, 8)


def test_nothing_is_remembered_between_calls(kata):
    """The same model object and prompt, but other weights: the tokens must follow the weights it has now."""
    changed = TinyDecoder(seed=3)
    prompt = prompt_of(5, 31)
    check_against_uncached(kata, changed, prompt, 6)
    changed.w_head = changed.w_head.flip(1)  # the same logits, now for other token ids
    changed.position_embedding = changed.position_embedding.roll(1, dims=1)
    check_against_uncached(kata, changed, prompt, 6)


def test_prompt_is_not_modified(kata, model):
    prompt = prompt_of(8, 3)
    before = prompt.clone()
    kata.generate_with_cache(model, prompt, 5)
    assert torch.equal(prompt, before), "generate_with_cache modified the prompt; it must leave it untouched"


# ---- generated prompts ------------------------------------------------------------------------
# No `differential` check here: it copies its arguments to compare them afterwards, and a model
# is 17 MB of weights that compare by identity; the uncached decoder is the oracle anyway.

@settings(max_examples=25)
@given(tokens=st.lists(st.integers(0, VOCAB_SIZE - 1), min_size=1, max_size=20), max_new_tokens=st.integers(0, 10))
def test_same_tokens_on_generated_prompts(kata, model, tokens, max_new_tokens):
    prompt = torch.tensor(tokens, dtype=torch.long)
    yours = kata.generate_with_cache(model, prompt, max_new_tokens)
    expected, gap = greedy_with_margin(model, prompt, max_new_tokens)
    assume(gap > MARGIN)
    assert_same_tokens(yours, expected, prompt, max_new_tokens)
    assert torch.equal(prompt, torch.tensor(tokens, dtype=torch.long)), "generate_with_cache modified the prompt"


# ---- speed: last, the slowest -------------------------------------------------------------------

@pytest.mark.speed
def test_at_least_2x_faster_than_without_cache(kata, model):
    prompt = prompt_of(SPEED_PROMPT, 64)
    # A quick check first, before the long timing. It runs both decoders once, which is the warm-up:
    # the minimum of the timed runs below leaves out any first-call cost that is left.
    check_against_uncached(kata, model, prompt, 4)
    # Every timed call gets a prompt it has not seen, so results remembered from earlier calls cannot help.
    seeds = itertools.count(1000)
    result = assert_speedup(
        lambda: kata.generate_with_cache(model, prompt_of(SPEED_PROMPT, next(seeds)), SPEED_NEW),
        lambda: generate_without_cache(model, prompt_of(SPEED_PROMPT, next(seeds)), SPEED_NEW),
        at_least=AT_LEAST, runs=3, warmup=0,
        what=f"generate_with_cache (prompt {SPEED_PROMPT} tokens, {SPEED_NEW} new tokens, CPU)")
    print(f"\nCPU, prompt {SPEED_PROMPT} tokens, {SPEED_NEW} new tokens: {result}")
