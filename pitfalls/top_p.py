"""Known wrong answers for top_p."""

from __future__ import annotations

import torch

from katakit.pitfalls import alternative, pitfall


def _check(top_p, min_tokens_to_keep):
    """The argument checks the correct answer makes, shared by the mistakes that get them right."""
    top_p = float(top_p)
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if min_tokens_to_keep < 1:
        raise ValueError(f"min_tokens_to_keep must be at least 1, got {min_tokens_to_keep}")
    return top_p


def _sorted_probs(logits):
    return logits.softmax(dim=-1).sort(dim=-1, descending=True)


def _unsort(keep_sorted, order):
    return torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)


@pitfall("top_p_filter",
         "Keeps tokens only while the running total stays within top_p, so it drops the token that crosses "
         "top_p and the kept mass falls short of it.")
def drops_crossing_token(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) <= top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)


@pitfall("top_p_filter",
         "Keeps a token while the mass ranked above it is <= top_p instead of < top_p, so when the kept "
         "mass reaches top_p exactly it keeps one token too many.")
def keeps_one_too_many_at_exact_boundary(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) - probs <= top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)


@pitfall("top_p_filter",
         "Scatters the mask back along dim 1, as Hugging Face's 2-D code does, instead of the last axis: "
         "1-D input fails and inputs with two batch axes are filtered at the wrong positions.")
def scatters_along_dim_one(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    sorted_logits, sorted_indices = torch.sort(logits, descending=False)
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cumulative_probs <= (1 - top_p)
    remove_sorted[..., -min_tokens_to_keep:] = False
    remove = remove_sorted.scatter(1, sorted_indices, remove_sorted)
    return logits.masked_fill(remove, filter_value)


@pitfall("top_p_filter",
         "Ignores min_tokens_to_keep: when the most probable token alone reaches top_p, only that one is kept.")
def ignores_min_tokens_to_keep(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)


@pitfall("top_p_filter",
         "Sorts ascending like Hugging Face but forces the FIRST min_tokens_to_keep sorted positions to be "
         "kept, which are the least probable tokens, not the most probable ones.")
def keeps_least_probable_tokens(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    sorted_logits, sorted_indices = torch.sort(logits, dim=-1, descending=False)
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cumulative_probs <= (1 - top_p)
    remove_sorted[..., :min_tokens_to_keep] = False
    remove = remove_sorted.scatter(-1, sorted_indices, remove_sorted)
    return logits.masked_fill(remove, filter_value)


@pitfall("top_p_filter",
         "Filters in place with masked_fill_ and returns the input, so the caller's logits are overwritten.")
def filters_in_place(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill_(~_unsort(keep_sorted, order), filter_value)


@pitfall("top_p_filter",
         "Returns the input tensor itself when top_p is 1.0 instead of a copy, so the caller's logits and "
         "the result are the same tensor.")
def returns_input_when_keeping_everything(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)


@pitfall("top_p_filter",
         "Accumulates exp(logits) without dividing by their sum, so the running total is not a probability "
         "and the cut falls in the wrong place.")
def unnormalised_exp(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    weights, order = logits.exp().sort(dim=-1, descending=True)
    keep_sorted = weights.cumsum(dim=-1) - weights < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)


@pitfall("top_p_filter",
         "Takes the softmax over axis 0 (the batch) instead of the last axis, so each row's probabilities "
         "depend on the other rows.")
def softmax_over_batch_axis(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    probs, order = logits.softmax(dim=0).sort(dim=-1, descending=True)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)


@pitfall("top_p_filter",
         "Applies the cut even when top_p is 1.0, so tokens whose probability is 0 (or rounds to 0) are "
         "dropped although top_p=1.0 must keep everything.")
def cuts_at_top_p_one(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    sorted_logits, sorted_indices = torch.sort(logits, dim=-1, descending=False)
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cumulative_probs <= (1 - top_p)
    remove_sorted[..., -min_tokens_to_keep:] = False
    remove = remove_sorted.scatter(-1, sorted_indices, remove_sorted)
    return logits.masked_fill(remove, filter_value)


@pitfall("top_p_filter",
         "Rejects top_p with `top_p <= 0 or top_p > 1`, which lets NaN through (every comparison with NaN "
         "is false) instead of raising ValueError.")
def lets_nan_top_p_through(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    if top_p <= 0 or top_p > 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if min_tokens_to_keep < 1:
        raise ValueError(f"min_tokens_to_keep must be at least 1, got {min_tokens_to_keep}")
    if top_p == 1.0:
        return logits.clone()
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)



@pitfall("top_p_filter",
         "Finds the smallest probability in the nucleus and keeps every token at least that probable, so "
         "tokens tied at the edge are all kept and the nucleus grows past the right size.")
def keeps_every_token_tied_at_the_edge(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    smallest_kept = torch.where(keep_sorted, probs, torch.inf).amin(dim=-1, keepdim=True)
    return logits.masked_fill(logits.softmax(dim=-1) < smallest_kept, filter_value)

# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("top_p_filter",
             "Hugging Face's formulation on the last axis: sort ascending and remove the low tail whose "
             "cumulative probability is at most 1 - top_p.")
def ascending_low_tail(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    sorted_logits, sorted_indices = torch.sort(logits, dim=-1, descending=False)
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cumulative_probs <= (1 - top_p)
    remove_sorted[..., -min_tokens_to_keep:] = False
    remove = remove_sorted.scatter(-1, sorted_indices, remove_sorted)
    return logits.masked_fill(remove, filter_value)


@alternative("top_p_filter",
             "A plain Python loop over the slices, summing probabilities in float64 and writing a new tensor.")
def python_loop_in_float64(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    rows = logits.reshape(-1, logits.shape[-1])
    out = torch.full_like(rows, filter_value)
    for r in range(rows.shape[0]):
        probs = rows[r].double().softmax(dim=0).tolist()
        ranked = sorted(range(len(probs)), key=lambda i: -probs[i])
        total = 0.0
        for rank, i in enumerate(ranked):
            if top_p < 1.0 and total >= top_p and rank >= min_tokens_to_keep:
                break
            out[r, i] = rows[r, i]
            total += probs[i]
    return out.reshape(logits.shape)


@alternative("top_p_filter",
             "Counts the nucleus with searchsorted on the cumulative sum, then keeps that many top tokens "
             "with topk.")
def searchsorted_then_topk(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    vocab = logits.shape[-1]
    if top_p == 1.0:
        return logits.detach().clone()
    probs = logits.softmax(dim=-1).sort(dim=-1, descending=True).values
    cumulative = probs.cumsum(dim=-1) - probs  # mass ranked above each position, ascending
    count = torch.searchsorted(cumulative.contiguous(), torch.full_like(cumulative[..., :1], top_p))
    count = count.clamp(min=min(min_tokens_to_keep, vocab), max=vocab)
    ranks = torch.arange(vocab).expand_as(logits)
    keep_sorted = ranks < count
    order = logits.softmax(dim=-1).topk(vocab, dim=-1).indices
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return torch.where(keep, logits, torch.tensor(filter_value, dtype=logits.dtype))


@pitfall("top_p_filter",
         "Computes the softmax as exp(logits) / sum(exp(logits)) without subtracting the maximum first, so "
         "large logits overflow to inf and the probabilities become NaN.")
def naive_softmax_overflows(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    weights = logits.exp()
    probs, order = (weights / weights.sum(dim=-1, keepdim=True)).sort(dim=-1, descending=True)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)


@pitfall("top_p_filter",
         "Returns the copy for top_p=1.0 before checking min_tokens_to_keep, so min_tokens_to_keep=0 is "
         "accepted silently whenever top_p is 1.0.")
def skips_min_tokens_check_at_top_p_one(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = float(top_p)
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if top_p == 1.0:
        return logits.clone()
    if min_tokens_to_keep < 1:
        raise ValueError(f"min_tokens_to_keep must be at least 1, got {min_tokens_to_keep}")
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)


@alternative("top_p_filter",
             "Hugging Face's ascending formulation computed in float64, the mask applied to the original "
             "dtype.")
def ascending_in_float64(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    sorted_logits, sorted_indices = torch.sort(logits.double(), dim=-1, descending=False)
    remove_sorted = sorted_logits.softmax(dim=-1).cumsum(dim=-1) <= (1 - top_p)
    remove_sorted[..., -min_tokens_to_keep:] = False
    remove = remove_sorted.scatter(-1, sorted_indices, remove_sorted)
    return logits.masked_fill(remove, filter_value)


@pitfall("top_p_filter",
         "Flattens the batch axes with .view(-1, vocab), which raises on a non-contiguous input (a transpose "
         "or a strided slice of a bigger tensor); .reshape() handles every layout.")
def views_instead_of_reshaping(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p == 1.0:
        return logits.clone()
    flat = logits.view(-1, logits.shape[-1])
    probs, order = _sorted_probs(flat)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return flat.masked_fill(~_unsort(keep_sorted, order), filter_value).view(logits.shape)


@pitfall("top_p_filter",
         "Treats any top_p close to 1 (here above 0.99) as 1.0 and keeps everything, although only "
         "top_p=1.0 itself does; 0.9999 still drops a token of probability 4.5e-5.")
def treats_top_p_near_one_as_one(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if top_p > 0.99:
        return logits.clone()
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)


@pitfall("top_p_filter",
         "Short-cuts the case where min_tokens_to_keep covers the whole vocabulary by returning the input "
         "itself; the result must always be a new tensor, never logits or a view of it.")
def returns_input_when_min_tokens_covers_vocab(logits, top_p, *, min_tokens_to_keep=1, filter_value=float("-inf")):
    top_p = _check(top_p, min_tokens_to_keep)
    if min_tokens_to_keep >= logits.shape[-1]:
        return logits
    if top_p == 1.0:
        return logits.clone()
    probs, order = _sorted_probs(logits)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., :min_tokens_to_keep] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), filter_value)
