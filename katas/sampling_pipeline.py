"""Sample the next token: temperature, top-k, top-p, then a seeded draw.

A language model's last layer gives a logit for every token of the vocabulary; sampling
decoding turns those logits into one token. Generation libraries shape the distribution
before drawing from it, in a fixed order (Hugging Face's ``generate`` applies its
``TemperatureLogitsWarper``, ``TopKLogitsWarper`` and ``TopPLogitsWarper`` in this order):

1. Temperature divides the logits: below 1 it sharpens the distribution towards the most
   likely tokens, above 1 it flattens it.
2. Top-k keeps the k most likely tokens.
3. Top-p (nucleus) keeps the smallest group of most likely tokens whose probabilities add
   up to at least p, computed on what is left after top-k.

Filtered tokens get a logit of -inf, so the softmax that follows gives them probability 0,
and the token is drawn from that softmax. The order matters: top-p after temperature sees
a sharper or flatter distribution, and top-p after top-k renormalises over the k survivors.

The draw takes its randomness from a ``torch.Generator`` that the caller seeds, so that a
generation can be reproduced exactly, and so that sampling does not disturb (or depend on)
torch's global random state.
"""

from __future__ import annotations

import torch


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the nucleus of each distribution along the last axis; set every other logit to -inf.

    For each slice along the last axis: take the softmax, rank the tokens from most to
    least probable, and keep a token exactly when the total probability of the tokens
    ranked above it is strictly less than ``top_p``. So the token whose probability makes
    the kept total reach or cross ``top_p`` is kept, and the most probable token is always
    kept. When tied tokens straddle that edge, which of them are kept is up to you, but how
    many is not. ``top_p=1.0`` keeps every token (an unchanged copy). Logits of -inf are
    allowed (probability 0) as long as each slice has a finite one.

    Args:
        logits: a float32 or float64 tensor of shape (..., vocab_size), vocab_size >= 1;
            not modified.
        top_p: a float with 0 < top_p <= 1.

    Returns:
        A new tensor of the same shape and dtype: kept logits unchanged, the others -inf.

    Raises:
        ValueError: if top_p is not in (0, 1] (NaN included).

    Example:
        >>> top_p_filter(torch.log(torch.tensor([0.5, 0.25, 0.125, 0.125])), 0.75)
        tensor([-0.6931, -1.3863,    -inf,    -inf])
    """
    raise NotImplementedError


def warp_logits(logits: torch.Tensor, *, temperature: float = 1.0, top_k: int = 0,
                top_p: float = 1.0) -> torch.Tensor:
    """Apply temperature, then top-k, then top-p to the logits, as Hugging Face's warpers do.

    For each slice along the last axis, in this order:

    1. Temperature: divide the logits by ``temperature``.
    2. Top-k (skipped when ``top_k`` is 0): find the ``top_k``-th largest of the scaled
       logits and set every logit strictly below it to -inf. Tokens tied with it are all
       kept, so more than ``top_k`` tokens may survive; a ``top_k`` at or above the
       vocabulary size keeps every token.
    3. Top-p: ``top_p_filter`` on the result of step 2 (its softmax renormalises over the
       tokens top-k kept). ``top_p=1.0`` keeps everything.

    Kept tokens hold their scaled logit (logits / temperature; multiplying by
    1 / temperature rounds a little differently, and that is fine), the others -inf.
    The result equals Hugging Face's TemperatureLogitsWarper, TopKLogitsWarper and
    TopPLogitsWarper applied in this order (each only when it changes something).

    Args:
        logits: a float32 or float64 tensor of shape (..., vocab_size), vocab_size >= 1,
            with a finite value in every slice; not modified.
        temperature: a finite number > 0.
        top_k: an int >= 0; 0 turns top-k off.
        top_p: a number with 0 < top_p <= 1; 1 turns top-p off.

    Returns:
        A new tensor of the same shape and dtype as `logits`.

    Raises:
        ValueError: if temperature is not a finite number > 0, top_k is not an int >= 0, or
            top_p is not in (0, 1].

    Example:
        >>> logits = torch.tensor([2.0, 1.0, 3.0, 3.0, 0.0])
        >>> warp_logits(logits, temperature=2.0, top_k=2)  # the two tied 3.0s survive top-k
        tensor([  -inf,   -inf, 1.5000, 1.5000,   -inf])
        >>> warp_logits(logits, top_k=4, top_p=0.5)  # top-p over the four survivors: 0.40 + 0.40
        tensor([-inf, -inf, 3., 3., -inf])
    """
    raise NotImplementedError


def sample_next_token(logits: torch.Tensor, generator: torch.Generator, *, temperature: float = 1.0,
                      top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Draw one token per slice from softmax(warp_logits(logits, ...)), with `generator`'s randomness.

    Each slice along the last axis is one distribution; each gets its own, independent draw.
    Draw token i with probability softmax(warp_logits(logits, temperature=temperature,
    top_k=top_k, top_p=top_p))[i]: so a filtered token is never drawn. Take every random
    number from `generator` (``torch.multinomial(probs, 1, generator=generator)`` does;
    ``torch.rand(..., generator=generator)`` for an inverse-CDF or Gumbel-max draw is fine
    too) and never touch torch's global random state. Then the same generator state gives
    the same tokens, and successive calls on one generator continue its stream.

    The tests check the draws statistically (a chi-square test against the distribution
    above, with a fixed seed), plus reproducibility, never one particular sampling method.

    Args:
        logits: a float32 or float64 tensor of shape (..., vocab_size), vocab_size >= 1, on
            the generator's device; not modified.
        generator: the torch.Generator to draw with.
        temperature, top_k, top_p: as in warp_logits.

    Returns:
        A torch.long tensor of shape logits.shape[:-1] (a 0-d tensor for 1-D logits): the
        drawn token ids.

    Raises:
        ValueError: as warp_logits does.

    Example:
        >>> logits = torch.tensor([[2.0, 1.0, 3.0, 0.5], [0.0, 4.0, 1.0, 1.0]])
        >>> first = sample_next_token(logits, torch.Generator().manual_seed(7), top_k=2)
        >>> again = sample_next_token(logits, torch.Generator().manual_seed(7), top_k=2)
        >>> first.shape, first.dtype, torch.equal(first, again)
        (torch.Size([2]), torch.int64, True)
        >>> sample_next_token(logits, torch.Generator().manual_seed(7), top_k=1)  # greedy
        tensor([2, 1])
    """
    raise NotImplementedError
