"""Common misconceptions for quiz_production, and right answers written differently.

Each pitfall's diagnosis is also the message a learner who gives that answer sees.
"""

from katakit.pitfalls import alternative, pitfall


@pitfall("q01_training_serving_skew",
         "Drift builds up after deployment as the world changes; a gap present from day one, with two "
         "implementations of one feature, is training/serving skew.")
def calls_it_drift():
    return "a"


@pitfall("q02_cold_start",
         "A longer timeout stops the slow requests from failing, but users still wait for them; warm the "
         "version up before it takes traffic.")
def longer_timeout():
    return "b"


@pitfall("q03_fan_out_tail",
         "1% is one call's chance; the page waits for the slowest of 10 calls, so it is slow when any of "
         "them is: 1 - 0.99^10, about 10%.")
def one_call_tail():
    return "b"


@pitfall("q04_invalid_requests",
         "Silent coercion turns a client's bug into plausible-looking wrong predictions; reject the request "
         "with a 400 that says what is wrong.")
def coerce_everything():
    return "a"


@pitfall("q05_rollback",
         "Retraining is slow and need not reproduce the old model exactly; keep the previous version and "
         "route traffic back to it.")
def retrain_to_roll_back():
    return "b"


@pitfall("q07_unit_of_randomisation",
         "Per-request assignment shows both models to the same user, so the groups are not independent and "
         "each user's behaviour mixes both treatments.")
def per_request_split():
    return "a"


@pitfall("q07_unit_of_randomisation",
         "Splitting by time confounds the model with the day of the week: weekend users behave differently.")
def split_by_time():
    return "c"


@pitfall("q08_peeking",
         "The 5% holds for one test at a planned sample size; checking every hour and stopping at the first "
         "dip below 0.05 inflates false positives.")
def peeking_is_fine():
    return "a"


@pitfall("q09_sample_size_for_half_the_effect",
         "The sample size grows with 1/effect^2, not 1/effect: half the effect needs about four times the "
         "users.")
def linear_in_effect():
    return "2"


@pitfall("q10_shadow_deployment",
         "A canary does serve real users (a small share of traffic); only a shadow deployment keeps the new "
         "model's answers from users.")
def canary_is_shadow():
    return "a"


# ---- right answers written differently: the tests must accept every one of them ---------------

@alternative("q09_sample_size_for_half_the_effect", "The factor written as '4x'.")
def factor_with_x():
    return "4x"


@alternative("q09_sample_size_for_half_the_effect", "The factor as a float.")
def factor_as_float():
    return 4.0


@alternative("q05_rollback", "The capital letter with a full stop.")
def capital_with_stop():
    return "A."
