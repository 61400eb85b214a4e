"""Common misconceptions for quiz_sequences, and right answers written differently.

Each pitfall's diagnosis is also the message a learner who gives that answer sees.
"""

from katakit.pitfalls import alternative, pitfall


@pitfall("q01_nucleus_size",
         "0.50 + 0.20 = 0.70 is still below 0.8: the token that takes the total past top_p (0.15) belongs to "
         "the nucleus.")
def drops_crossing_token():
    return "2"


@pitfall("q02_renormalised_probability",
         "0.50 is the probability before filtering; sampling from the nucleus renormalises the kept "
         "probabilities to sum to 1.")
def forgets_to_renormalise():
    return "0.5"


@pitfall("q03_top_p_versus_top_k",
         "A floor on each token's own probability is a different filter (min-p, epsilon sampling); top-p looks "
         "at the cumulative mass of the ranked tokens.")
def top_p_is_a_floor():
    return "a"


@pitfall("q03_top_p_versus_top_k",
         "No fixed k matches top-p: the nucleus grows and shrinks with the model's confidence, step by step.")
def top_p_is_top_k():
    return "b"


@pitfall("q04_top_p_one",
         "The smallest set reaching mass 1.0 is the whole vocabulary: top_p = 1.0 filters nothing, the opposite "
         "of greedy.")
def top_p_one_is_greedy():
    return "b"


@pitfall("q05_tiny_top_p",
         "Beam search keeps several candidate sequences and scores them; one surviving token sampled at each "
         "step is greedy decoding.")
def calls_it_beam_search():
    return "beam search"


@pitfall("q06_temperature_and_the_nucleus",
         "The ranking is unchanged, but the probabilities are not: at lower temperature the top tokens hold more "
         "mass, so fewer are needed to reach p.")
def temperature_cannot_matter():
    return "a"


@pitfall("q07_sampling_after_filtering",
         "Sampling uniformly throws away the model's preferences inside the nucleus; the kept probabilities are "
         "renormalised and sampled as they are.")
def uniform_over_nucleus():
    return "a"


@pitfall("q09_forward_passes",
         "The prompt is processed in one parallel prefill pass, not one pass per prompt token.")
def pass_per_prompt_token():
    return "150"


@pitfall("q09_forward_passes",
         "The prefill pass already yields the first new token, so it is one of the 50 passes, not an extra one.")
def prefill_as_extra_pass():
    return "51"


@pitfall("q10_what_the_kv_cache_holds",
         "Earlier queries are never needed again; the new token's query attends to the cached keys and values.")
def caches_queries():
    return "b"


@pitfall("q12_ar1_two_step_forecast",
         "3 is the one-step forecast; feed it back in for the second step: 1 + 0.5 * 3.")
def one_step_only():
    return "3"


@pitfall("q13_ar1_long_run_mean",
         "The intercept is not the mean: the mean solves mu = c + phi * mu, so mu = c / (1 - phi).")
def intercept_is_mean():
    return "1"


@pitfall("q14_order_p",
         "Differencing is the d of ARIMA(p, d, q); p counts the lagged values used as predictors.")
def p_is_differencing():
    return "b"


# ---- right answers written differently: the tests must accept every one of them ---------------

@alternative("q02_renormalised_probability", "The probability as a fraction.")
def as_fraction():
    return "5/8"


@alternative("q05_tiny_top_p", "The name with an article and a capital.")
def with_article():
    return "The Greedy decoding"


@alternative("q12_ar1_two_step_forecast", "The forecast as a fraction.")
def forecast_as_fraction():
    return "5/2"


@alternative("q13_ar1_long_run_mean", "The mean as a float.")
def mean_as_float():
    return 2.0


@alternative("q05_tiny_top_p", "The argmax spelling, written as two words.")
def arg_max_two_words():
    return "Arg max"


@alternative("q05_tiny_top_p", "Top-1 sampling: the same method, named as top-k with k = 1.")
def top_1_sampling():
    return "top-1 sampling"


@alternative("q05_tiny_top_p", "The greedy algorithm, named by its strategy rather than by decoding.")
def greedy_algorithm():
    return "Greedy algorithm"
