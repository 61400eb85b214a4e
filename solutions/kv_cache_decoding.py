"""Greedy decoding with a key/value cache.

A decoder-only language model is autoregressive: it predicts token t from tokens 0 to t-1,
appends the prediction, and predicts again. Written naively, every step runs the model over
the whole sequence so far, so generating n tokens does O(n) work per step and O(n^2) in all,
almost all of it recomputing what the previous step already computed.

With causal attention, position i only ever looks at positions 0 to i, so the keys and
values that a layer computes for a position never change once computed. A key/value
cache keeps them: the prompt goes through the model once (the "prefill"), each layer keeps
its keys and values, and from then on each step feeds only the newest token, computes
its query, key and value, appends the key and value to the layer's cache, and attends over
the whole cache. The logits are the same as without the cache; the work per step no longer
grows with the length of the sequence.

The model below is given: a tiny transformer decoder (two pre-norm blocks of causal
multi-head self-attention and an MLP, learned position embeddings) with fixed random
weights in float64, and the functions its forward pass is made of, which you may reuse.
``generate_without_cache`` is the slow baseline your function must agree with.
"""

from __future__ import annotations

import math

import torch

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


def generate_with_cache(model: TinyDecoder, prompt: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Greedy decoding with a key/value cache: the same tokens as generate_without_cache, much faster.

    Do it in two phases:

    1. Prefill: run the whole prompt through the model once, as forward() does (causal
       mask included), and keep each layer's keys and values, shape (N_HEADS, T, HEAD_DIM).
       The logits at the prompt's last position give the first new token.
    2. Decode: for each further token, run ONLY the newest token through the model, at its
       own position (the prompt's tokens are at positions 0 to len(prompt) - 1 and the k-th
       new token, counting from 0, is at position len(prompt) + k). In each layer, compute
       its query, key and value, append the key and value to that layer's cache, and let
       the query attend over everything in the cache, itself included (nothing in the cache
       lies in its future, so no mask is needed). Its logits give the next token.

    Pick tokens greedily, exactly as generate_without_cache does: the largest logit, the
    first one if several are equal. The functions above (embed, queries_keys_values,
    attend, finish_block, output_logits, check_request) may be reused; do not change them or
    the model. The tests pass their own TinyDecoder, an instance of this exact class.

    Requirements:
        - The tokens are identical to ``generate_without_cache(model, prompt, max_new_tokens)``.
          (The tests keep away from prompts where the two largest logits are within 1e-9 of
          each other; everything is float64, so the cached and uncached logits agree to far
          closer than that.)
        - Speed: for a prompt of 64 tokens and 48 new tokens, at least 2x faster than
          generate_without_cache on a CPU.
        - Each call starts from an empty cache: no state is kept between calls.

    Args:
        model: a TinyDecoder.
        prompt: a 1-D torch.long tensor of token ids in [0, VOCAB_SIZE), at least one token;
            it must not be modified.
        max_new_tokens: how many tokens to generate, an int >= 0, with
            len(prompt) + max_new_tokens <= MAX_LEN.

    Returns:
        A 1-D torch.long tensor of the max_new_tokens new tokens (without the prompt); empty
        when max_new_tokens is 0.

    Raises:
        ValueError: for the requests check_request rejects: a prompt that is not a non-empty
            1-D torch.long tensor of ids in [0, VOCAB_SIZE), a max_new_tokens that is not an
            int >= 0, or a prompt and new tokens longer than MAX_LEN together.

    Example:
        >>> model = TinyDecoder()
        >>> prompt = torch.tensor([1, 2, 3])
        >>> fast = generate_with_cache(model, prompt, 5)
        >>> fast.dtype, fast.shape, torch.equal(fast, generate_without_cache(model, prompt, 5))
        (torch.int64, torch.Size([5]), True)
    """
    check_request(prompt, max_new_tokens)
    if max_new_tokens == 0:
        return torch.empty(0, dtype=torch.long)
    # Prefill: every prompt position at once, with the causal mask; keep each layer's keys and values.
    cache = []
    x = embed(model, prompt, torch.arange(len(prompt)))
    for layer in model.layers:
        q, k, v = queries_keys_values(layer, x)
        cache.append((k, v))
        x = finish_block(layer, x, attend(q, k, v, causal_mask(len(prompt))))
    next_token = output_logits(model, x[-1:]).argmax(dim=-1)  # shape (1,)
    new_tokens = [next_token]
    # Decode: one token per step, at the next position, attending over the whole cache.
    for position in range(len(prompt), len(prompt) + max_new_tokens - 1):
        x = embed(model, next_token, torch.tensor([position]))
        for index, layer in enumerate(model.layers):
            q, k, v = queries_keys_values(layer, x)
            keys, values = cache[index]
            keys, values = torch.cat([keys, k], dim=1), torch.cat([values, v], dim=1)
            cache[index] = (keys, values)
            x = finish_block(layer, x, attend(q, keys, values))
        next_token = output_logits(model, x).argmax(dim=-1)
        new_tokens.append(next_token)
    return torch.cat(new_tokens)
