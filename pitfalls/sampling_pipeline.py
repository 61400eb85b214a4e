"""Known wrong answers for sampling_pipeline, and correct answers written differently."""

from __future__ import annotations

import torch

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)
NEG_INF = float("-inf")


def _check_top_p(top_p):
    top_p = float(top_p)
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    return top_p


def _unsort(keep_sorted, order):
    return torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)


def _top_k(scaled, top_k):
    if 0 < top_k < scaled.shape[-1]:
        return scaled.masked_fill(scaled < scaled.topk(top_k, dim=-1).values[..., -1:], NEG_INF)
    return scaled


# ---- top_p_filter ---------------------------------------------------------------------------------

@pitfall("top_p_filter",
         "Keeps tokens only while the running total stays within top_p, dropping the token that crosses it.")
def drops_crossing_token(logits, top_p):
    if _check_top_p(top_p) == 1.0:
        return logits.clone()
    probs, order = logits.softmax(dim=-1).sort(dim=-1, descending=True)
    keep_sorted = probs.cumsum(dim=-1) <= top_p
    keep_sorted[..., 0] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), NEG_INF)


@pitfall("top_p_filter",
         "Keeps a token while the mass ranked above it is <= top_p instead of < top_p: one token too many when the "
         "kept mass reaches top_p exactly.")
def keeps_one_too_many_at_exact_boundary(logits, top_p):
    if _check_top_p(top_p) == 1.0:
        return logits.clone()
    probs, order = logits.softmax(dim=-1).sort(dim=-1, descending=True)
    keep_sorted = probs.cumsum(dim=-1) - probs <= top_p
    keep_sorted[..., 0] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), NEG_INF)


@pitfall("top_p_filter",
         "Computes the softmax as exp(logits) / sum(exp(logits)) without subtracting the maximum: large logits "
         "overflow to inf and the probabilities become NaN.")
def naive_softmax(logits, top_p):
    if _check_top_p(top_p) == 1.0:
        return logits.clone()
    weights = logits.exp()
    probs, order = (weights / weights.sum(dim=-1, keepdim=True)).sort(dim=-1, descending=True)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    keep_sorted[..., 0] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), NEG_INF)


# ---- warp_logits ----------------------------------------------------------------------------------

@pitfall("warp_logits",
         "Applies the temperature after top-k and top-p, so the nucleus is chosen on the unscaled distribution.")
def temperature_last(logits, *, temperature=1.0, top_k=0, top_p=1.0):
    ref._check_settings(temperature, top_k, top_p)
    return ref.top_p_filter(_top_k(logits, top_k), top_p) / temperature


@pitfall("warp_logits", "Applies top-p before top-k, so top-p does not renormalise over the top-k survivors.")
def top_p_before_top_k(logits, *, temperature=1.0, top_k=0, top_p=1.0):
    ref._check_settings(temperature, top_k, top_p)
    return _top_k(ref.top_p_filter(logits / temperature, top_p), top_k)


@pitfall("warp_logits",
         "Keeps exactly top_k tokens with topk and scatter, breaking ties at the k-th value instead of keeping "
         "every token tied with it.")
def top_k_exactly_k(logits, *, temperature=1.0, top_k=0, top_p=1.0):
    ref._check_settings(temperature, top_k, top_p)
    scaled = logits / temperature
    if 0 < top_k < scaled.shape[-1]:
        keep = torch.zeros_like(scaled, dtype=torch.bool).scatter(-1, scaled.topk(top_k, dim=-1).indices, True)
        scaled = scaled.masked_fill(~keep, NEG_INF)
    return ref.top_p_filter(scaled, top_p)


@pitfall("warp_logits", "Multiplies the logits by the temperature instead of dividing by it.")
def multiplies_by_temperature(logits, *, temperature=1.0, top_k=0, top_p=1.0):
    ref._check_settings(temperature, top_k, top_p)
    return ref.top_p_filter(_top_k(logits * temperature, top_k), top_p)


@pitfall("warp_logits", "Divides the caller's logits in place (logits /= temperature), modifying its input.")
def scales_in_place(logits, *, temperature=1.0, top_k=0, top_p=1.0):
    ref._check_settings(temperature, top_k, top_p)
    logits /= temperature
    return ref.top_p_filter(_top_k(logits, top_k), top_p)


# ---- sample_next_token ----------------------------------------------------------------------------

@pitfall("sample_next_token",
         "Calls torch.multinomial without generator=, so the draw uses (and advances) torch's global random state "
         "and the seed it was given does nothing.")
def global_random_state(logits, generator, *, temperature=1.0, top_k=0, top_p=1.0):
    probs = ref.warp_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p).softmax(dim=-1)
    return torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1).reshape(logits.shape[:-1])


@pitfall("sample_next_token",
         "Reseeds the generator it was given (generator.manual_seed(0)) before drawing, so every call repeats the "
         "same tokens.")
def reseeds_the_generator(logits, generator, *, temperature=1.0, top_k=0, top_p=1.0):
    generator.manual_seed(0)
    return ref.sample_next_token(logits, generator, temperature=temperature, top_k=top_k, top_p=top_p)


@pitfall("sample_next_token", "Takes the argmax of the warped logits: greedy decoding, not sampling.")
def argmax_instead_of_sampling(logits, generator, *, temperature=1.0, top_k=0, top_p=1.0):
    return ref.warp_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p).argmax(dim=-1)


@pitfall("sample_next_token",
         "Samples from softmax(logits / temperature) and never applies top-k and top-p, so filtered tokens are "
         "drawn.")
def ignores_the_filters(logits, generator, *, temperature=1.0, top_k=0, top_p=1.0):
    ref._check_settings(temperature, top_k, top_p)
    probs = (logits / temperature).softmax(dim=-1)
    return torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator).reshape(logits.shape[:-1])


@pitfall("sample_next_token",
         "Draws one uniform number for the whole batch and reuses it in every row's inverse-CDF lookup, so the rows' "
         "draws are not independent.")
def one_uniform_for_all_rows(logits, generator, *, temperature=1.0, top_k=0, top_p=1.0):
    probs = ref.warp_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p).softmax(dim=-1)
    cdf = probs.cumsum(dim=-1)
    u = torch.rand(1, generator=generator, dtype=cdf.dtype)
    index = torch.searchsorted(cdf, u.expand(*cdf.shape[:-1], 1).contiguous(), right=True).squeeze(-1)
    return index.clamp(max=probs.shape[-1] - 1)


@pitfall("sample_next_token",
         "Turns the warped logits into probabilities with exp(w) / sum(exp(w)), which overflows for large logits "
         "(NaN probabilities, and torch.multinomial refuses them).")
def naive_softmax_draw(logits, generator, *, temperature=1.0, top_k=0, top_p=1.0):
    weights = ref.warp_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p).exp()
    probs = weights / weights.sum(dim=-1, keepdim=True)
    flat = probs.reshape(-1, probs.shape[-1])
    return torch.multinomial(flat, 1, generator=generator).reshape(logits.shape[:-1])


# ---- correct answers written differently: the tests must accept every one of them -----------

@alternative("top_p_filter", "Sorts ascending and removes the low tail whose cumulative mass is <= 1 - top_p.")
def ascending_tail_removal(logits, top_p):
    if _check_top_p(top_p) == 1.0:
        return logits.clone()
    sorted_logits, order = logits.sort(dim=-1)
    remove_sorted = sorted_logits.softmax(dim=-1).cumsum(dim=-1) <= 1 - top_p
    remove_sorted[..., -1] = False
    return logits.masked_fill(remove_sorted.scatter(-1, order, remove_sorted), NEG_INF)


@alternative("warp_logits",
             "Multiplies by 1 / temperature and finds the top-k threshold with kthvalue on the negated logits.")
def reciprocal_and_kthvalue(logits, *, temperature=1.0, top_k=0, top_p=1.0):
    ref._check_settings(temperature, top_k, top_p)
    scaled = logits * (1.0 / temperature)
    if 0 < top_k < scaled.shape[-1]:
        threshold = -(-scaled).kthvalue(top_k, dim=-1, keepdim=True).values
        scaled = torch.where(scaled >= threshold, scaled, torch.full_like(scaled, NEG_INF))
    return ref.top_p_filter(scaled, top_p)


@alternative("sample_next_token",
             "The Gumbel-max trick: add Gumbel noise from the generator to the warped logits and take the argmax.")
def gumbel_max(logits, generator, *, temperature=1.0, top_k=0, top_p=1.0):
    warped = ref.warp_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    uniform = torch.rand(warped.shape, generator=generator, dtype=warped.dtype).clamp_min(1e-12)
    return (warped - torch.log(-torch.log(uniform))).argmax(dim=-1)


@alternative("sample_next_token",
             "An inverse-CDF draw: one uniform number per row from the generator, looked up in the cumulative "
             "probabilities with searchsorted.")
def inverse_cdf(logits, generator, *, temperature=1.0, top_k=0, top_p=1.0):
    probs = ref.warp_logits(logits.double(), temperature=temperature, top_k=top_k, top_p=top_p).softmax(dim=-1)
    cdf = probs.cumsum(dim=-1)
    u = torch.rand(*cdf.shape[:-1], 1, generator=generator, dtype=cdf.dtype) * cdf[..., -1:]
    index = torch.searchsorted(cdf, u, right=True).squeeze(-1)
    # Never land on a zero-probability token, even where rounding puts u at the very top of the cdf.
    last_kept = (probs > 0).long().cumsum(dim=-1).argmax(dim=-1)
    return torch.minimum(index, last_kept)


@alternative("sample_next_token", "Loops over the rows and draws each with torch.multinomial on its own.")
def row_by_row(logits, generator, *, temperature=1.0, top_k=0, top_p=1.0):
    probs = ref.warp_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p).softmax(dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    draws = [int(torch.multinomial(row, 1, generator=generator)) for row in flat]
    return torch.tensor(draws, dtype=torch.long).reshape(logits.shape[:-1])



@pitfall("top_p_filter",
         "Compares the mass above each token with top_p in the logits' dtype and never forces the top token in: a "
         "top_p that rounds to 0 in float32 (1e-300) removes every token, the most probable one included.")
def top_token_not_forced(logits, top_p):
    if _check_top_p(top_p) == 1.0:
        return logits.clone()
    probs, order = logits.softmax(dim=-1).sort(dim=-1, descending=True)
    keep_sorted = probs.cumsum(dim=-1) - probs < top_p
    return logits.masked_fill(~_unsort(keep_sorted, order), NEG_INF)


@pitfall("warp_logits",
         "Validates with isinstance(temperature, float), so a whole-number temperature such as 2 (a finite number "
         "> 0, as the docstring asks) raises ValueError.")
def rejects_whole_number_temperature(logits, *, temperature=1.0, top_k=0, top_p=1.0):
    if not isinstance(temperature, float):
        raise ValueError(f"temperature must be a float, got {temperature!r}")
    return ref.warp_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
