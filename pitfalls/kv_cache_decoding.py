"""Known wrong answers for kv_cache_decoding, and correct answers written differently."""

from __future__ import annotations

import math

import torch

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _prefill(model, prompt, mask=True):
    """Run the prompt through every layer; the per-layer (keys, values) and the last position's next token."""
    cache = []
    x = ref.embed(model, prompt, torch.arange(len(prompt)))
    for layer in model.layers:
        q, k, v = ref.queries_keys_values(layer, x)
        cache.append((k, v))
        x = ref.finish_block(layer, x, ref.attend(q, k, v, ref.causal_mask(len(prompt)) if mask else None))
    return cache, ref.output_logits(model, x[-1:]).argmax(dim=-1)


def _decode(model, prompt, max_new_tokens, *, position_of, prefill_mask=True, own_token_first=True,
            single_query_mask=None):
    """The reference's decode loop with one thing changed, for the mistakes below."""
    ref.check_request(prompt, max_new_tokens)
    if max_new_tokens == 0:
        return torch.empty(0, dtype=torch.long)
    cache, token = _prefill(model, prompt, mask=prefill_mask)
    new_tokens = [token]
    for step in range(1, max_new_tokens):
        x = ref.embed(model, token, torch.tensor([position_of(len(prompt), step)]))
        for index, layer in enumerate(model.layers):
            q, k, v = ref.queries_keys_values(layer, x)
            keys, values = cache[index]
            grown = torch.cat([keys, k], dim=1), torch.cat([values, v], dim=1)
            seen = grown if own_token_first else (keys, values)
            mask = single_query_mask(seen[0].shape[1]) if single_query_mask else None
            x = ref.finish_block(layer, x, ref.attend(q, *seen, mask))
            cache[index] = grown
        token = ref.output_logits(model, x).argmax(dim=-1)
        new_tokens.append(token)
    return torch.cat(new_tokens)


@pitfall("generate_with_cache",
         "Numbers the new tokens' positions from 0 again (their index among the new tokens) instead of continuing "
         "after the prompt.")
def positions_restart_at_zero(model, prompt, max_new_tokens):
    return _decode(model, prompt, max_new_tokens, position_of=lambda prompt_length, step: step - 1)


@pitfall("generate_with_cache",
         "Puts the k-th new token at position len(prompt) + k + 1, one past where it belongs.")
def position_off_by_one(model, prompt, max_new_tokens):
    return _decode(model, prompt, max_new_tokens, position_of=lambda prompt_length, step: prompt_length + step)


@pitfall("generate_with_cache",
         "Lets the new token attend over the cached keys and values before appending its own, so it never sees "
         "itself.")
def attends_before_appending(model, prompt, max_new_tokens):
    return _decode(model, prompt, max_new_tokens, position_of=lambda prompt_length, step: prompt_length + step - 1,
                   own_token_first=False)


@pitfall("generate_with_cache",
         "Runs the prefill without the causal mask, so the prompt's positions see the tokens after them and every "
         "cached key and value beyond the first layer is wrong.")
def prefill_without_causal_mask(model, prompt, max_new_tokens):
    return _decode(model, prompt, max_new_tokens, position_of=lambda prompt_length, step: prompt_length + step - 1,
                   prefill_mask=False)


@pitfall("generate_with_cache",
         "Masks the single query with torch.ones(1, S).tril(), the square causal mask cut to one row, which lets "
         "the new token see only the first position.")
def one_row_of_tril_mask(model, prompt, max_new_tokens):
    return _decode(model, prompt, max_new_tokens, position_of=lambda prompt_length, step: prompt_length + step - 1,
                   single_query_mask=lambda size: torch.ones(1, size, dtype=torch.bool).tril())


@pitfall("generate_with_cache",
         "Keeps one cache for the whole model: every layer appends to and attends over the same keys and values.")
def one_cache_for_all_layers(model, prompt, max_new_tokens):
    ref.check_request(prompt, max_new_tokens)
    if max_new_tokens == 0:
        return torch.empty(0, dtype=torch.long)
    cache, token = _prefill(model, prompt)
    keys, values = cache[-1]  # the one cache: what the last layer left in it
    new_tokens = [token]
    for position in range(len(prompt), len(prompt) + max_new_tokens - 1):
        x = ref.embed(model, token, torch.tensor([position]))
        for layer in model.layers:
            q, k, v = ref.queries_keys_values(layer, x)
            keys, values = torch.cat([keys, k], dim=1), torch.cat([values, v], dim=1)
            x = ref.finish_block(layer, x, ref.attend(q, keys, values))
        token = ref.output_logits(model, x).argmax(dim=-1)
        new_tokens.append(token)
    return torch.cat(new_tokens)


@pitfall("generate_with_cache",
         "After the prefill, feeds the prompt's last token through the model again instead of taking the first new "
         "token from the prefill's logits, so that token is cached twice.")
def feeds_last_prompt_token_twice(model, prompt, max_new_tokens):
    ref.check_request(prompt, max_new_tokens)
    if max_new_tokens == 0:
        return torch.empty(0, dtype=torch.long)
    cache, _ = _prefill(model, prompt)
    token, new_tokens = prompt[-1:], []
    for position in range(len(prompt), len(prompt) + max_new_tokens):
        x = ref.embed(model, token, torch.tensor([position]))
        for index, layer in enumerate(model.layers):
            q, k, v = ref.queries_keys_values(layer, x)
            keys, values = torch.cat([cache[index][0], k], dim=1), torch.cat([cache[index][1], v], dim=1)
            cache[index] = (keys, values)
            x = ref.finish_block(layer, x, ref.attend(q, keys, values))
        token = ref.output_logits(model, x).argmax(dim=-1)
        new_tokens.append(token)
    return torch.cat(new_tokens)


_SHARED_CACHE: list = []


@pitfall("generate_with_cache",
         "Keeps the cache in a module-level list that is never cleared, so every call after the first attends over "
         "the previous calls' keys and values too.")
def cache_survives_between_calls(model, prompt, max_new_tokens):
    ref.check_request(prompt, max_new_tokens)
    if max_new_tokens == 0:
        return torch.empty(0, dtype=torch.long)
    if not _SHARED_CACHE:
        _SHARED_CACHE.extend([None] * len(model.layers))
    x = ref.embed(model, prompt, torch.arange(len(prompt)))
    for index, layer in enumerate(model.layers):
        q, k, v = ref.queries_keys_values(layer, x)
        old = _SHARED_CACHE[index]
        keys = k if old is None else torch.cat([old[0], k], dim=1)
        values = v if old is None else torch.cat([old[1], v], dim=1)
        _SHARED_CACHE[index] = (keys, values)
        mask = torch.ones(len(prompt), keys.shape[1], dtype=torch.bool).tril(keys.shape[1] - len(prompt))
        x = ref.finish_block(layer, x, ref.attend(q, keys, values, mask))
    token = ref.output_logits(model, x[-1:]).argmax(dim=-1)
    new_tokens = [token]
    for position in range(len(prompt), len(prompt) + max_new_tokens - 1):
        x = ref.embed(model, token, torch.tensor([position]))
        for index, layer in enumerate(model.layers):
            q, k, v = ref.queries_keys_values(layer, x)
            keys, values = (torch.cat([t, new], dim=1) for t, new in zip(_SHARED_CACHE[index], (k, v), strict=True))
            _SHARED_CACHE[index] = (keys, values)
            x = ref.finish_block(layer, x, ref.attend(q, keys, values))
        token = ref.output_logits(model, x).argmax(dim=-1)
        new_tokens.append(token)
    return torch.cat(new_tokens)


@pitfall("generate_with_cache",
         "Writes its own attention for the cached step and forgets to divide the scores by sqrt(HEAD_DIM).")
def unscaled_attention_scores(model, prompt, max_new_tokens):
    ref.check_request(prompt, max_new_tokens)
    if max_new_tokens == 0:
        return torch.empty(0, dtype=torch.long)
    cache, token = _prefill(model, prompt)
    new_tokens = [token]
    for position in range(len(prompt), len(prompt) + max_new_tokens - 1):
        x = ref.embed(model, token, torch.tensor([position]))
        for index, layer in enumerate(model.layers):
            q, k, v = ref.queries_keys_values(layer, x)
            keys, values = torch.cat([cache[index][0], k], dim=1), torch.cat([cache[index][1], v], dim=1)
            cache[index] = (keys, values)
            attended = (q @ keys.transpose(-1, -2)).softmax(dim=-1) @ values
            x = ref.finish_block(layer, x, attended)
        token = ref.output_logits(model, x).argmax(dim=-1)
        new_tokens.append(token)
    return torch.cat(new_tokens)


_FINISHED: dict = {}


@pitfall("generate_with_cache",
         "Remembers the finished tokens of earlier calls (keyed by the model and the prompt) and decodes without a "
         "cache otherwise: state kept between calls, stale once the model changes, and no faster on a new prompt.")
def remembers_earlier_results(model, prompt, max_new_tokens):
    ref.check_request(prompt, max_new_tokens)
    key = (id(model), tuple(prompt.tolist()), max_new_tokens)
    if key not in _FINISHED:
        _FINISHED[key] = ref.generate_without_cache(model, prompt, max_new_tokens)
    return _FINISHED[key].clone()


@pitfall("generate_with_cache",
         "Never uses a cache: runs the whole sequence through the model for every new token, which gives the right "
         "tokens at the uncached speed.")
def recomputes_everything(model, prompt, max_new_tokens):
    return ref.generate_without_cache(model, prompt, max_new_tokens)


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("generate_with_cache",
             "Preallocates each layer's key and value buffers for the whole sequence and writes each step into them "
             "by index, attending over the filled part.")
def preallocated_buffers(model, prompt, max_new_tokens):
    ref.check_request(prompt, max_new_tokens)
    total = len(prompt) + max_new_tokens
    shape = (len(model.layers), ref.N_HEADS, total, ref.HEAD_DIM)
    keys, values = torch.empty(shape, dtype=torch.float64), torch.empty(shape, dtype=torch.float64)
    out = torch.empty(max_new_tokens, dtype=torch.long)
    tokens, start = prompt, 0
    for step in range(max_new_tokens):
        length = start + len(tokens)
        x = ref.embed(model, tokens, torch.arange(start, length))
        for index, layer in enumerate(model.layers):
            q, k, v = ref.queries_keys_values(layer, x)
            keys[index, :, start:length], values[index, :, start:length] = k, v
            mask = torch.ones(len(tokens), length, dtype=torch.bool).tril(start)
            x = ref.finish_block(layer, x, ref.attend(q, keys[index, :, :length], values[index, :, :length], mask))
        out[step] = ref.output_logits(model, x[-1:])[0].argmax()
        tokens, start = out[step:step + 1], length
    return out


@alternative("generate_with_cache",
             "Prefills all but the last prompt token, then runs one loop for every step from the last prompt token "
             "on, with torch's scaled_dot_product_attention (which rounds differently).")
def prefill_all_but_last_with_sdpa(model, prompt, max_new_tokens):
    ref.check_request(prompt, max_new_tokens)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    caches = [(torch.empty(ref.N_HEADS, 0, ref.HEAD_DIM, dtype=torch.float64),) * 2 for _ in model.layers]
    if len(prompt) > 1:
        x = ref.embed(model, prompt[:-1], torch.arange(len(prompt) - 1))
        for index, layer in enumerate(model.layers):
            q, k, v = ref.queries_keys_values(layer, x)
            caches[index] = (k, v)
            x = ref.finish_block(layer, x, sdpa(q, k, v, is_causal=True))
    generated, token = [], prompt[-1:]
    for position in range(len(prompt) - 1, len(prompt) - 1 + max_new_tokens):
        x = ref.embed(model, token, torch.tensor([position]))
        for index, layer in enumerate(model.layers):
            q, k, v = ref.queries_keys_values(layer, x)
            caches[index] = tuple(torch.cat([old, new], dim=1) for old, new in zip(caches[index], (k, v), strict=True))
            x = ref.finish_block(layer, x, sdpa(q, *caches[index]))
        token = ref.output_logits(model, x).argmax(dim=-1)
        generated.append(int(token))
    return torch.tensor(generated, dtype=torch.long)


@alternative("generate_with_cache",
             "Writes the attention out by hand for all heads in one einsum, with the scale folded into the queries.")
def einsum_attention(model, prompt, max_new_tokens):
    ref.check_request(prompt, max_new_tokens)
    if max_new_tokens == 0:
        return torch.empty(0, dtype=torch.long)
    scale = 1.0 / math.sqrt(ref.HEAD_DIM)

    def attention(q, k, v, mask=None):
        scores = torch.einsum("hqd,hkd->hqk", q * scale, k)
        if mask is not None:
            scores = torch.where(mask, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
        return torch.einsum("hqk,hkd->hqd", scores.softmax(dim=-1), v)

    keys, values = [], []
    x = ref.embed(model, prompt, torch.arange(len(prompt)))
    for layer in model.layers:
        q, k, v = ref.queries_keys_values(layer, x)
        keys.append(k)
        values.append(v)
        x = ref.finish_block(layer, x, attention(q, k, v, ref.causal_mask(len(prompt))))
    result = [int(ref.output_logits(model, x[-1:]).argmax())]
    while len(result) < max_new_tokens:
        position = len(prompt) + len(result) - 1
        x = ref.embed(model, torch.tensor([result[-1]]), torch.tensor([position]))
        for i, layer in enumerate(model.layers):
            q, k, v = ref.queries_keys_values(layer, x)
            keys[i] = torch.cat([keys[i], k], dim=1)
            values[i] = torch.cat([values[i], v], dim=1)
            x = ref.finish_block(layer, x, attention(q, keys[i], values[i]))
        result.append(int(ref.output_logits(model, x).argmax()))
    return torch.tensor(result)
