"""Quiz: sampling and autoregression (top-p, temperature, KV caches, AR(p) forecasts).

Each function below is one question; its docstring asks it. Answer by replacing
``raise NotImplementedError`` with ``return`` and your answer:

- lettered choices: the letter of the one right choice, ``return "b"``;
- a question that asks for a number: ``return "3"`` (``return 3`` and fractions such as
  ``"3/4"`` work too);
- a question that asks for a name: the name, ``return "keepdim"`` (case, spaces and
  punctuation do not matter).

Check your answers with ``pytest tests/test_quiz_sequences.py``. The tests keep the right
answers locked (as salted hashes), so reading them tells you nothing. A right answer passes
and unlocks a short explanation, printed under "unlocked explanations" at the end of the run
(``python -m katakit.quiz explain quiz_sequences`` shows every one you have unlocked). A wrong
answer fails, with a specific message when it is a common misconception.

Example:
    A question "With top_k = 1, which token is sampled? a) the most probable one b) a random
    one" is answered by writing ``return "a"`` in place of ``raise NotImplementedError``.
"""


def q01_nucleus_size() -> str:
    """How many tokens are in the nucleus?

    A language model's next-token probabilities, sorted from most to least probable, are
    0.50, 0.20, 0.15, 0.10 and 0.05. Sampling uses nucleus (top-p) filtering with
    ``top_p = 0.8``: it keeps the smallest set of most probable tokens whose probabilities add
    up to at least 0.8. How many tokens does it keep? Answer with a number.
    """
    return "3"


def q02_renormalised_probability() -> str:
    """What probability does the top token get after top-p filtering?

    A language model's next-token probabilities, sorted from most to least probable, are
    0.50, 0.30, 0.15 and 0.05. Nucleus filtering with ``top_p = 0.7`` keeps the smallest set of
    most probable tokens whose probabilities add up to at least 0.7, and the next token is then
    sampled from the kept tokens. With what probability is the most probable token sampled?
    Answer with a number.
    """
    return "0.625"


def q03_top_p_versus_top_k() -> str:
    """How does top-p differ from top-k?

    How does top-p (nucleus) filtering differ from top-k filtering?

    a) Top-p keeps every token whose own probability is at least p, while top-k keeps the k
       most probable tokens, so top-p needs no sorting at all
    b) They are the same filter, written two ways: top-p with p equal to k divided by the size
       of the vocabulary keeps exactly the tokens top-k keeps
    c) Top-k always keeps k tokens; top-p keeps the fewest top tokens whose probabilities add up
       to p, so it keeps few tokens when the model is confident and many when it is unsure
    d) Top-p draws uniformly from the most probable fraction p of the vocabulary, while top-k
       samples the k most probable tokens by their probabilities

    Answer with one letter.
    """
    return "c"


def q04_top_p_one() -> str:
    """What does ``top_p = 1.0`` do?

    A text-generation API samples with temperature 1.0 and ``top_p = 1.0`` (and no other
    filter). What does ``top_p = 1.0`` do to the next-token distribution?

    a) Nothing: every token is kept, so it samples from the model's full distribution
    b) It makes sampling always pick the most probable token, since only mass 1.0 is accepted
    c) It keeps only the tokens whose probability is exactly 1.0, which usually means none
    d) It keeps the single most probable token and then renormalises it to probability 1.0

    Answer with one letter.
    """
    return "a"


def q05_tiny_top_p() -> str:
    """What does sampling become with a tiny ``top_p``?

    Nucleus filtering always keeps at least one token. With a very small ``top_p``, such as
    ``1e-6``, only the single most probable token survives at each step. Sampling from that one
    token always picks it. What is the usual name of the decoding method this becomes (ties for
    the top token aside)? Answer with its name, in one or two words.
    """
    return "greedy decoding"


def q06_temperature_and_the_nucleus() -> str:
    """What does lowering the temperature do to the nucleus?

    Sampling divides the logits by a temperature T and then applies top-p filtering with a
    fixed p. What happens to the nucleus when T drops from 1.0 to 0.5?

    a) Nothing, ever: dividing the logits by T keeps the ranking of the tokens, and the nucleus
       depends only on that ranking
    b) It grows: a lower temperature flattens the distribution, so more tokens are needed to
       reach p
    c) It changes its most probable token, because the logits are divided by a smaller number
    d) It shrinks or stays the same: the ranking is unchanged, but the top tokens gain
       probability mass, so fewer (never more) of them are needed to reach p

    Answer with one letter.
    """
    return "d"


def q07_sampling_after_filtering() -> str:
    """How is the next token drawn after top-p filtering?

    Top-p filtering has set the logits of the tokens outside the nucleus to minus infinity.
    How is the next token then drawn?

    a) Uniformly at random among the tokens of the nucleus, since filtering already removed the
       unlikely ones
    b) From the nucleus, with the kept tokens' probabilities renormalised to sum to 1
    c) Always the most probable token of the nucleus, so that filtering and sampling agree
    d) From the whole vocabulary, with the filtered tokens' probabilities halved rather than
       removed

    Answer with one letter.
    """
    return "b"


def q08_meaning_of_autoregressive() -> str:
    """What does "autoregressive" mean for a language model?

    What does "autoregressive" mean in "an autoregressive language model"?

    a) Each token is predicted from the tokens before it, and each generated token is fed back
       in as input for the next
    b) The model predicts every token of the answer at once, in one forward pass, and then
       refines them all together
    c) The model is a linear regression on the token ids that it fits again at every step
    d) The model regresses towards the average of its training data when it is given new text

    Answer with one letter.
    """
    return "a"


def q09_forward_passes() -> str:
    """How many forward passes does generation take?

    A decoder-only transformer with a KV cache gets a 100-token prompt and generates exactly 50
    new tokens, one at a time (no early stop, no speculative decoding). The first forward pass
    processes the whole prompt at once (prefill) and yields the first new token; every later
    pass processes one token. How many forward passes does generating the 50 tokens take in
    all, the prefill pass included? Answer with a number.
    """
    return "50"


def q10_what_the_kv_cache_holds() -> str:
    """What does a KV cache store?

    What does the KV cache of a transformer decoder store during generation, and why?

    a) The logits of every earlier step, so that a token can be resampled later without running
       the model again
    b) The attention queries of every earlier position, so the new token can be compared with
       each of them instead of recomputing them
    c) Each attention layer's keys and values for every earlier position, so each new step
       computes them only for the new token instead of for the whole sequence again
    d) The generated text, so the model can detect and avoid repeating itself

    Answer with one letter.
    """
    return "c"


def q11_parallel_training_sequential_generation() -> str:
    """Why is training parallel but generation sequential?

    A transformer decoder is trained on every position of a sequence in one parallel pass, yet
    it must generate text one token at a time. Why?

    a) GPUs can parallelise the backward pass of training, but not the forward pass that
       generation needs
    b) In training every true previous token is known (teacher forcing, with a causal mask); in
       generation each is the model's own output from the step before
    c) Training uses an encoder that sees the whole sequence, and generation switches to a
       separately trained decoder
    d) Generation could also be done in one pass, but sampling one token at a time gives more
       diverse text

    Answer with one letter.
    """
    return "b"


def q12_ar1_two_step_forecast() -> str:
    """What is the two-step-ahead forecast of this AR(1)?

    An AR(1) model is ``X[t] = 1 + 0.5 * X[t-1] + e[t]``, where ``e[t]`` is white noise with
    mean 0. The last observed value is ``X[T] = 4``. What is the forecast of ``X[T+2]``, two
    steps ahead (future noise replaced by its mean, 0, and the one-step forecast fed back in)?
    Answer with a number.
    """
    return "2.5"


def q13_ar1_long_run_mean() -> str:
    """Where do this AR(1)'s forecasts head?

    For the same stationary AR(1) model, ``X[t] = 1 + 0.5 * X[t-1] + e[t]`` with white noise
    ``e[t]`` of mean 0, what value do the forecasts approach as the horizon grows (the mean of
    the process)? Answer with a number.
    """
    return "2"


def q14_order_p() -> str:
    """What is p in AR(p)?

    In an AR(p) model, ``X[t] = c + phi_1 * X[t-1] + ... + phi_p * X[t-p] + e[t]``, what is p?

    a) The number of steps ahead the model forecasts
    b) The number of times the series is differenced to make it stationary
    c) The probability that the next value rises above the mean
    d) The number of past values of the series (lags) the model uses to predict the next one

    Answer with one letter.
    """
    return "d"


# ---- answers that are equally right, besides the one each function returns --------------------

ALSO_ACCEPTED = {
    "q05_tiny_top_p": ("greedy", "greedy search", "greedy sampling", "greedy decode", "greedy selection",
                       "greedy decoder", "greedy generation", "greedy argmax", "greedy argmax decoding",
                       "argmax decoding", "argmax sampling", "argmax", "arg max", "arg max decoding",
                       "argmax decode", "greedy method", "greedy algorithm", "greedy strategy", "greedy approach",
                       "greedy inference", "greedy search decoding", "greedy decoding method",
                       "greedy decoding strategy", "top 1 sampling", "top 1 decoding", "top 1"),
}

# ---- the answer key's explanations (the tests hold them encrypted) ---------------------------

EXPLANATIONS = {
    "q01_nucleus_size": (
        "Add the sorted probabilities until the total reaches top_p: 0.50, then 0.70 (still below 0.8), "
        "then 0.85. The token that takes the total past 0.8 is part of the nucleus, so 3 tokens are "
        "kept; the nucleus is the smallest top set whose mass is at least p."
    ),
    "q02_renormalised_probability": (
        "The nucleus is the first two tokens (0.50 + 0.30 = 0.80 reaches 0.7; 0.50 alone does not). "
        "Sampling from the kept tokens renormalises their probabilities to sum to 1, keeping their "
        "ratio: 0.50 / 0.80 = 0.625 and 0.30 / 0.80 = 0.375. In code this is a softmax over the "
        "filtered logits, where the removed tokens' logits are -inf."
    ),
    "q03_top_p_versus_top_k": (
        "Top-k keeps a fixed number of tokens whatever the distribution looks like; top-p adapts: when "
        "one token holds 95% of the mass the nucleus may be that one token, and when probability is "
        "spread out it may be hundreds. A per-token floor is a different filter (min-p or epsilon "
        "sampling)."
    ),
    "q04_top_p_one": (
        "The smallest set whose mass reaches 1.0 is the whole vocabulary, so top_p = 1.0 filters "
        "nothing: sampling uses the full (temperature-scaled) distribution. Implementations usually "
        "skip the filter altogether at 1.0, which also avoids rounding in the cumulative sum dropping "
        "tokens."
    ),
    "q05_tiny_top_p": (
        "When the filter keeps only the most probable token, sampling always picks it: greedy decoding "
        "(argmax at every step). The same happens with top_k = 1 or a temperature approaching 0; "
        "ties for the top token are the only case left to chance."
    ),
    "q06_temperature_and_the_nucleus": (
        "Dividing logits by T < 1 keeps their order but stretches their gaps, so after the softmax the "
        "top tokens hold more of the mass and the top-k mass grows for every k: fewer tokens are needed "
        "to reach p. Temperature and top-p interact; that is why implementations fix their order "
        "(temperature first, then top-k and top-p)."
    ),
    "q07_sampling_after_filtering": (
        "Setting the removed logits to -inf and applying softmax gives those tokens probability 0 and "
        "rescales the survivors so they sum to 1, keeping their relative odds; then one token is drawn "
        "from that distribution (torch.multinomial, tf.random.categorical). Uniform draws would throw "
        "away the model's preferences within the nucleus."
    ),
    "q08_meaning_of_autoregressive": (
        "Autoregressive means regressing on your own past: the model factorises the probability of a "
        "sequence as a product of next-token probabilities, each conditioned on everything before it. "
        "Generation follows the same chain: predict a token, append it, predict the next. The term "
        "comes from AR(p) time-series models, where X[t] depends on X[t-1], ..., X[t-p]."
    ),
    "q09_forward_passes": (
        "One pass per generated token: the prefill pass reads the 100 prompt tokens in parallel and "
        "yields token 1; each of the next 49 passes feeds in the token just produced and yields the "
        "next. The 50th token never needs a pass of its own because nothing follows it. Without a KV "
        "cache there are also 50 passes, but each re-reads the whole sequence."
    ),
    "q10_what_the_kv_cache_holds": (
        "Attention compares the newest token's query with the keys of all earlier tokens and mixes "
        "their values. Those keys and values do not change once computed (causal attention), so they "
        "are cached per layer and each step adds only the new token's. Earlier queries are never needed "
        "again. The cache trades memory, which grows with sequence length and batch, for compute."
    ),
    "q11_parallel_training_sequential_generation": (
        "With teacher forcing the inputs at every position are the true previous tokens, all known in "
        "advance, and the causal mask keeps each position from attending to later ones, so one pass "
        "trains all positions. At generation the inputs are the model's own samples, each unknown until "
        "the step before it finishes; speculative decoding and similar tricks only work around this."
    ),
    "q12_ar1_two_step_forecast": (
        "Forecast one step, then feed the forecast back in: X[T+1] = 1 + 0.5 * 4 = 3, then "
        "X[T+2] = 1 + 0.5 * 3 = 2.5. Multi-step forecasts of AR models are built this way, which is why "
        "their errors compound with the horizon."
    ),
    "q13_ar1_long_run_mean": (
        "A stationary AR(1) has a constant mean mu with mu = c + phi * mu, so mu = c / (1 - phi) = "
        "1 / 0.5 = 2. Forecasts approach it geometrically: the gap to 2 halves at each step (4, 3, 2.5, "
        "2.25, ...). The intercept c is not the mean unless phi is 0."
    ),
    "q14_order_p": (
        "p is the order: how many lagged values X[t-1], ..., X[t-p] enter the regression, each with its "
        "own coefficient. Differencing is the d of ARIMA(p, d, q), and q counts the lagged noise terms "
        "of the moving-average part. p is usually chosen with an information criterion (AIC, BIC) or "
        "from the partial autocorrelation."
    ),
}
