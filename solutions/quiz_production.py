"""Quiz: putting a model into production (deployment challenges, rollouts and A/B tests).

Each function below is one question; its docstring asks it. Answer by replacing
``raise NotImplementedError`` with ``return`` and your answer:

- lettered choices: the letter of the one right choice, ``return "b"``;
- "answer with every letter that applies": all the right letters, ``return "ac"``;
- a question that asks for a number: ``return "3"`` (``return 3`` and fractions such as
  ``"3/4"`` work too).

Check your answers with ``pytest tests/test_quiz_production.py``. The tests keep the right
answers locked (as salted hashes), so reading them tells you nothing. A right answer passes
and unlocks a short explanation, printed under "unlocked explanations" at the end of the run
(``python -m katakit.quiz explain quiz_production`` shows every one you have unlocked). A wrong
answer fails, with a specific message when it is a common misconception.

Example:
    A question "Which HTTP status tells a client that ITS request was malformed? a) 400
    b) 500" is answered by writing ``return "a"`` in place of ``raise NotImplementedError``.
"""


def q01_training_serving_skew() -> str:
    """A model is worse in production from day one: why?

    A model scores well on a held-out test set, but its accuracy in production is clearly worse
    from the first day. You find that training scaled a feature with statistics computed in a
    pandas notebook, while the serving service re-implemented that scaling in another language
    with a slightly different rule. What is this, and what is the standard fix?

    a) Concept drift: the world changed after training, so retrain the model every week
    b) Training/serving skew: ship the preprocessing inside the exported model, so both paths
       run the same code
    c) Overfitting: the model memorised its training data, so add dropout and retrain it
    d) A cold start: the service is slow at first, so send warm-up requests before serving

    Answer with one letter.
    """
    return "b"


def q02_cold_start() -> str:
    """The first requests to a new model version are slow: what helps?

    After each deployment, the first requests to a freshly loaded model version take seconds,
    while later ones take milliseconds: the first calls pay for lazy initialisation, graph
    optimisation and memory allocation. Which measure removes that cost from users' requests?

    a) Send representative warm-up requests to the new version before it receives traffic
    b) Raise the client's request timeout, so that the slow first requests no longer fail
    c) Quantize the model to int8, so that each request does less arithmetic
    d) Turn off request batching, so that no request waits for a batch to fill

    Answer with one letter.
    """
    return "a"


def q03_fan_out_tail() -> str:
    """How often does a page see a slow backend call?

    To build one page, a service sends 10 requests in parallel to a model backend and waits for
    all of them. Each request, independently, takes longer than 100 ms with probability 0.01
    (100 ms is the backend's p99 latency). About what fraction of pages wait longer than 100 ms?

    a) About 0.1%
    b) About 1%
    c) About 10%
    d) About 50%

    Answer with one letter.
    """
    return "c"


def q04_invalid_requests() -> str:
    """What should a model service do with malformed requests?

    A model expects a float32 feature vector of length 16. One client starts sending the
    features as strings such as "3.5"; another sends vectors of length 15. What should the
    inference service do with those requests?

    a) Coerce strings to floats and pad short vectors with zeros, then predict: an answer beats
       an error
    b) Validate each request against the model's input contract, and reject invalid ones with an
       HTTP 400 that says what is wrong
    c) Pass each request to the model unchecked, and return HTTP 500 when the model raises
    d) Retrain the model on both formats, so that it accepts whatever clients send

    Answer with one letter.
    """
    return "b"


def q05_rollback() -> str:
    """What makes recovering from a bad model version fast?

    A new model version goes live, and error reports rise within minutes. Which practice makes
    getting back to the previous behaviour fastest and safest?

    a) Keep the previous version deployed or deployable, and switch traffic back to it by
       configuration
    b) Retrain the previous model from scratch with the same code and data, then deploy it again
    c) Fix forward: debug the new model in production while it keeps serving traffic
    d) Restart the servers, so that the new version is loaded again cleanly from disk

    Answer with one letter.
    """
    return "a"


def q06_why_ab_test() -> str:
    """Why A/B test a model that already wins offline?

    A new recommendation model beats the current one on every offline metric computed on last
    month's logged data. Why run an A/B test before switching everyone to it?

    a) Offline metrics on logged data cannot show how live users react; a randomised test on
       live traffic measures the model's real effect
    b) An A/B test is the only way to compute a model's accuracy on data it has never seen
    c) To train the new model on live data while it is being tested, so that it keeps improving
    d) Offline metrics are always computed on too few examples to be statistically significant

    Answer with one letter.
    """
    return "a"


def q07_unit_of_randomisation() -> str:
    """How should traffic be split in a model A/B test?

    You A/B test two recommendation models that users see across many visits. How should
    requests be assigned to model A or model B?

    a) At random for each request, so that every user sees both models equally often
    b) By a stable hash of the user id, so that each user stays with one model
    c) By time: model A on weekdays and model B at weekends
    d) Let users opt in to the new model with a setting in their profile

    Answer with one letter.
    """
    return "b"


def q08_peeking() -> str:
    """What is wrong with stopping an A/B test at the first p < 0.05?

    An analyst checks the A/B test's dashboard every hour and plans to stop the test, and ship
    model B, as soon as the p-value of the difference drops below 0.05. What is wrong with
    that plan?

    a) Nothing: p < 0.05 means at most a 5% chance of a false positive whenever it is read
    b) Looking repeatedly and stopping at the first p < 0.05 makes a false positive far more
       likely than 5%
    c) p-values cannot be computed for A/B tests, because the two groups are not independent
    d) The threshold should be 0.5 rather than 0.05, since two models are being compared

    Answer with one letter.
    """
    return "b"


def q09_sample_size_for_half_the_effect() -> str:
    """How many more users to detect half the effect?

    An A/B test was planned to detect a lift in click-through rate of 1 percentage point (from
    10% to 11%) with 5% significance and 80% power. The team now wants to detect a lift half as
    large (from 10% to 10.5%), with the same significance and power. About how many times as
    many users per group does the test need? Answer with a whole number.
    """
    return "4"


def q10_shadow_deployment() -> str:
    """Which rollout never shows the new model's answers to users?

    Which way of rolling out a new model sends it a copy of live requests, records and compares
    its predictions with the current model's, but never returns its predictions to users?

    a) A canary release
    b) A shadow deployment
    c) An A/B test
    d) A blue-green deployment

    Answer with one letter.
    """
    return "b"


# ---- the answer key's explanations (the tests hold them encrypted) ---------------------------

EXPLANATIONS = {
    "q01_training_serving_skew": (
        "When training and serving compute features with different code, the model sees different "
        "inputs in production than it learned from: training/serving skew. Drift would appear over "
        "time; skew is there on day one. The fix is one implementation: put the preprocessing in the "
        "exported model (Keras Normalization, StringLookup and the like, or a tf.function in the "
        "SavedModel), with its statistics computed on the training data only."
    ),
    "q02_cold_start": (
        "Warm-up requests make the server pay its one-time costs (loading, initialisation, graph "
        "optimisation, tracing, memory pools) before real users arrive. TensorFlow Serving replays "
        "the requests stored in assets.extra/tf_serving_warmup_requests of a SavedModel when it loads "
        "that version. A longer timeout only hides the slow requests; users still wait."
    ),
    "q03_fan_out_tail": (
        "The page waits for the slowest of its 10 calls, so it is slow when ANY call is: "
        "1 - 0.99^10 = 0.096, about 10% of pages. Fan-out turns a backend's p99 into a common case "
        "for users, which is why services watch tail latency (p99, p99.9) rather than the mean, and "
        "use hedged requests or timeouts for stragglers."
    ),
    "q04_invalid_requests": (
        "Check requests against the model's contract at the edge of the service: a 400 with a clear "
        "message tells the client what to fix, while silent coercion turns client bugs into "
        "plausible-looking wrong predictions and an unchecked 500 blames the server. Counting "
        "rejections also gives early warning of an upstream change."
    ),
    "q05_rollback": (
        "Versioned models make rollback a configuration change: keep the previous version's artefact "
        "(TensorFlow Serving keeps versions side by side under numbered directories) and route traffic "
        "back to it. Retraining is slow and need not reproduce the old model exactly; debugging in "
        "production keeps users on the bad version."
    ),
    "q06_why_ab_test": (
        "Offline evaluation replays logged data that the OLD model shaped, so it cannot tell how users "
        "will react to different recommendations, nor capture latency or changing traffic. An A/B test "
        "randomly assigns live users to the old model (control) or the new one (treatment) and "
        "compares the metrics that matter, so the difference can be attributed to the model."
    ),
    "q07_unit_of_randomisation": (
        "Randomise by the unit whose behaviour you measure, here the user: hashing a stable user id "
        "(with a per-experiment salt) keeps each user in one group on every visit, so the groups are "
        "independent and each user's experience is consistent. Per-request splits mix both models in "
        "one user's sessions; time splits confound the model with the day; opt-in groups select "
        "themselves."
    ),
    "q08_peeking": (
        "A p-value below 0.05 bounds the false-positive rate only for a test evaluated once, at a "
        "planned sample size. Checking every hour and stopping at the first dip below 0.05 gives chance "
        "many tries, and the false-positive rate climbs far above 5%. Decide the sample size (or "
        "duration) before starting, or use a sequential method built for repeated looks."
    ),
    "q09_sample_size_for_half_the_effect": (
        "The users needed per group grow with the inverse square of the effect to detect: "
        "n is about (z_alpha/2 + z_beta)^2 * 2 * p(1 - p) / delta^2. Halving delta multiplies n by "
        "about 2^2 = 4 (3.9 here: the variance p(1 - p) near 10.25% is a little smaller than near "
        "10.5%). Small effects are expensive to detect."
    ),
    "q10_shadow_deployment": (
        "In a shadow deployment the new model receives a mirrored copy of the traffic and its outputs "
        "are only logged and compared, so it can be checked for errors, latency and disagreement at "
        "no risk to users. A canary serves a small share of real users with the new model; an A/B test "
        "serves a randomised group to measure an effect; blue-green switches all traffic between two "
        "environments."
    ),
}
