"""Nucleus (top-p) filtering of logits.

When a language model samples its next token, sampling from the full distribution lets
the long tail of unlikely tokens through now and then, and one bad token can derail the
rest of the text. Nucleus sampling (top-p) cuts that tail off: it keeps only the smallest
group of most probable tokens whose probabilities add up to at least ``top_p`` (the
"nucleus") and samples among those. How many tokens that is adapts to the model's
confidence: one or two when it is sure, many when it is not.

Sampling code applies this as a filter on the logits: the tokens outside the nucleus get a
logit of -inf, so the softmax that follows gives them probability 0. In this kata you write
that filter, with the same behaviour as Hugging Face's ``TopPLogitsWarper``.
"""

from __future__ import annotations

import torch


def top_p_filter(logits: torch.Tensor, top_p: float, *, min_tokens_to_keep: int = 1,
                 filter_value: float = float("-inf")) -> torch.Tensor:
    """Keep the nucleus of each distribution in `logits` and replace every other logit.

    Each slice along the LAST axis of `logits` is one distribution over the vocabulary;
    every leading axis is a batch axis (there may be none, one or several). For each slice:

    1. Turn the logits into probabilities with a softmax over the last axis.
    2. Rank the tokens from most to least probable and keep tokens in that order until the
       probabilities kept add up to ``top_p`` or more. The token whose probability makes
       the total reach or cross ``top_p`` is kept; the ones after it are not. Put another
       way: a token is kept exactly when the total probability of the tokens ranked above
       it is strictly less than ``top_p``.
    3. Whatever ``top_p`` says, keep at least the ``min_tokens_to_keep`` most probable
       tokens (all of them when ``min_tokens_to_keep`` is larger than the vocabulary).
    4. Every token that is not kept gets the logit ``filter_value``; kept tokens keep their
       original logit.

    ``top_p=1.0`` keeps every token: the result is then an unchanged copy of `logits`, even
    for tokens whose probability is 0 or rounds to 0. Logits of -inf are allowed (they have
    probability 0 and are filtered like any other token), as long as each slice has at least
    one finite logit. When several tokens have exactly the same probability, which of them
    are kept at the edge of the nucleus is up to you, but how many are kept is not.

    Args:
        logits: a floating-point tensor of shape ``(..., vocab_size)`` with at least one axis
            and ``vocab_size >= 1``. It must not be modified.
        top_p: the probability mass to keep, a float with ``0 < top_p <= 1``.
        min_tokens_to_keep: the smallest number of tokens kept in each slice, an int >= 1.
        filter_value: the value written over the logits of the tokens that are not kept.

    Returns:
        A NEW tensor with the same shape, dtype and device as `logits` (never `logits`
        itself nor a view of it, also when ``top_p`` is 1.0), holding the filtered logits.

    Raises:
        ValueError: if ``top_p`` is not in (0, 1] (this includes NaN), or if
            ``min_tokens_to_keep`` is less than 1.

    Example:
        >>> logits = torch.log(torch.tensor([0.5, 0.25, 0.125, 0.0625, 0.0625]))
        >>> top_p_filter(logits, 0.75)  # 0.5 + 0.25 reaches 0.75 exactly: two tokens
        tensor([-0.6931, -1.3863,    -inf,    -inf,    -inf])
        >>> top_p_filter(logits, 0.8)  # 0.75 is not enough: the third token is needed
        tensor([-0.6931, -1.3863, -2.0794,    -inf,    -inf])
        >>> top_p_filter(logits, 0.1, min_tokens_to_keep=3, filter_value=-100.0)
        tensor([  -0.6931,   -1.3863,   -2.0794, -100.0000, -100.0000])
        >>> top_p_filter(torch.tensor([[1.0, 3.0, 2.0], [0.0, 0.0, 5.0]]), 0.9)
        tensor([[-inf, 3., 2.],
                [-inf, -inf, 5.]])
    """
    raise NotImplementedError
