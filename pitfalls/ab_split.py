"""Known wrong answers, and correct answers written differently, for ab_split."""

from __future__ import annotations

import hashlib
import math
import random
import struct
import zlib
from bisect import bisect_right
from itertools import accumulate
from statistics import NormalDist

from scipy import stats

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


# ---- hash_bucket ----------------------------------------------------------------------------------

@pitfall("hash_bucket",
         "Uses Python's built-in hash(), which is salted per process: the same user gets another bucket "
         "after a restart or on another server.")
def builtin_hash(user_id, experiment):
    return (hash(f"{experiment}:{user_id}") % 2**61) / 2**61


@pitfall("hash_bucket",
         "Hashes the user id alone: every experiment puts the same users in treatment, so experiments are "
         "not independent.")
def unsalted(user_id, experiment):
    digest = hashlib.sha256(user_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@pitfall("hash_bucket",
         "Reduces the hash to 100 buckets first (hash % 100 / 100), far too coarse: a 0.5% split gets 1% or 0%.")
def hundred_buckets(user_id, experiment):
    digest = hashlib.md5(f"{experiment}:{user_id}".encode()).hexdigest()
    return int(digest, 16) % 100 / 100


@pitfall("hash_bucket",
         "Uses CRC-32, a linear checksum: salted with the experiment it still ties a user's buckets in "
         "different experiments together.")
def crc32_checksum(user_id, experiment):
    return zlib.crc32(f"{experiment}:{user_id}".encode()) / 2.0**32


@pitfall("hash_bucket", "Adds a per-experiment offset to one unsalted hash: the experiments' buckets are a "
                        "rotation of each other, not independent.")
def shifted_by_experiment(user_id, experiment):
    base = int.from_bytes(hashlib.sha256(user_id.encode()).digest()[:8], "big") / 2.0**64
    offset = int.from_bytes(hashlib.sha256(experiment.encode()).digest()[:8], "big") / 2.0**64
    return (base + offset) % 1.0


_seen: dict = {}


@pitfall("hash_bucket",
         "Hands out buckets in order of first appearance (a counter, remembered per user): sticky in one "
         "process, but another process that sees users in another order assigns them differently.")
def first_come_first_served(user_id, experiment):
    key = (experiment, user_id)
    if key not in _seen:
        _seen[key] = (len(_seen) * 0.6180339887498949) % 1.0
    return _seen[key]


@pitfall("hash_bucket", "Draws a fresh random number on every call: not sticky at all.")
def random_every_time(user_id, experiment):
    return random.random()


# ---- pick_variant ---------------------------------------------------------------------------------

@pitfall("pick_variant",
         "Compares with <= instead of <: a bucket on a boundary goes to the left-hand variant, and a "
         "variant of weight 0 can be chosen.")
def boundary_goes_left(bucket, weights):
    if not 0.0 <= bucket < 1.0:
        raise ValueError("bucket must be in [0, 1)")
    names, values = ref._checked_weights(weights)
    position, cumulative = bucket * sum(values), 0.0
    for name, weight in zip(names, values, strict=True):
        cumulative += weight
        if position <= cumulative:
            return name
    return names[-1]


@pitfall("pick_variant", "Assumes the weights add up to 1 and compares the bucket with the raw cumulative "
                         "weights, so {'a': 1, 'b': 3} sends everyone to 'a'.")
def unnormalised(bucket, weights):
    if not 0.0 <= bucket < 1.0:
        raise ValueError("bucket must be in [0, 1)")
    names, values = ref._checked_weights(weights)
    cumulative = 0.0
    for name, weight in zip(names, values, strict=True):
        cumulative += weight
        if weight > 0 and bucket < cumulative:
            return name
    return names[-1]


@pitfall("pick_variant", "Lays the variants out in alphabetical order instead of the order the mapping lists them.")
def sorted_names(bucket, weights):
    names, _ = ref._checked_weights(weights)
    return ref.pick_variant(bucket, {name: weights[name] for name in sorted(names)})


@pitfall("pick_variant",
         "Normalises the weights and sums the shares; when rounding leaves the bucket beyond the last sum it "
         "returns the last variant listed, even one of weight 0.")
def falls_through_to_last_listed(bucket, weights):
    if not 0.0 <= bucket < 1.0:
        raise ValueError("bucket must be in [0, 1)")
    names, values = ref._checked_weights(weights)
    total, cumulative = sum(values), 0.0
    for name, weight in zip(names, values, strict=True):
        cumulative += weight / total
        if weight > 0 and bucket < cumulative:
            return name
    return names[-1]


@pitfall("pick_variant",
         "Takes the exactly rounded total (math.fsum) but adds the running sums one by one, and when rounding "
         "leaves the bucket beyond the last running sum it returns the last variant listed, even one of weight 0.")
def fsum_total_falls_through_to_last_listed(bucket, weights):
    if not 0.0 <= bucket < 1.0:
        raise ValueError("bucket must be in [0, 1)")
    names, values = ref._checked_weights(weights)
    position, cumulative = bucket * math.fsum(values), 0.0
    for name, weight in zip(names, values, strict=True):
        cumulative += weight
        if weight > 0 and position < cumulative:
            return name
    return names[-1]


@pitfall("pick_variant",
         "Searches the running sums for bucket * total with bisect and clips the index to the last variant, so "
         "a bucket that rounding puts beyond the last running sum gets a trailing variant of weight 0.")
def bisect_clipped_to_last_listed(bucket, weights):
    if not 0.0 <= bucket < 1.0:
        raise ValueError("bucket must be in [0, 1)")
    names, values = ref._checked_weights(weights)
    edges = list(accumulate(values))
    return names[min(bisect_right(edges, bucket * math.fsum(values)), len(names) - 1)]


@pitfall("pick_variant", "Skips the argument checks: a negative weight or a bucket of 1.0 picks something "
                         "instead of raising ValueError.")
def no_validation(bucket, weights):
    names, values = list(weights), [float(v) for v in weights.values()]
    position, cumulative = bucket * sum(values), 0.0
    for name, weight in zip(names, values, strict=True):
        cumulative += weight
        if weight > 0 and position < cumulative:
            return name
    return names[-1]


# ---- assign_variant -------------------------------------------------------------------------------

@pitfall("assign_variant",
         "Picks with a separate hash of the user id alone instead of hash_bucket(user_id, experiment), so the "
         "experiment's name is ignored.")
def assign_ignores_experiment(user_id, experiment, weights):
    return ref.pick_variant(ref.hash_bucket(user_id, ""), weights)


@pitfall("assign_variant", "Alternates the variants in order of arrival (round robin): balanced, but not sticky.")
def round_robin(user_id, experiment, weights):
    names, values = ref._checked_weights(weights)
    live = [name for name, weight in zip(names, values, strict=True) if weight > 0]
    _seen["count"] = _seen.get("count", -1) + 1
    return live[_seen["count"] % len(live)]


# ---- conversion_ztest -----------------------------------------------------------------------------

def _checked_counts(conversions_a, visitors_a, conversions_b, visitors_b, alternative):
    for value in (conversions_a, visitors_a, conversions_b, visitors_b):
        if int(value) != value:
            raise ValueError("counts must be integers")
    if min(visitors_a, visitors_b) < 1 or not (0 <= conversions_a <= visitors_a and 0 <= conversions_b <= visitors_b):
        raise ValueError("invalid counts")
    if alternative not in ("two-sided", "larger", "smaller"):
        raise ValueError("unknown alternative")
    pooled = (conversions_a + conversions_b) / (visitors_a + visitors_b)
    if pooled in (0.0, 1.0):
        raise ValueError("the pooled rate is 0 or 1")
    return pooled


def _p_value(z, alternative):
    if alternative == "two-sided":
        return float(2 * stats.norm.sf(abs(z)))
    return float(stats.norm.sf(z) if alternative == "larger" else stats.norm.cdf(z))


@pitfall("conversion_ztest",
         "Uses the unpooled standard error sqrt(p_a(1-p_a)/n_a + p_b(1-p_b)/n_b); under the null hypothesis both "
         "variants share one rate, so the test pools them.")
def unpooled_standard_error(conversions_a, visitors_a, conversions_b, visitors_b, alternative="two-sided"):
    _checked_counts(conversions_a, visitors_a, conversions_b, visitors_b, alternative)
    p_a, p_b = conversions_a / visitors_a, conversions_b / visitors_b
    se = math.sqrt(p_a * (1 - p_a) / visitors_a + p_b * (1 - p_b) / visitors_b)
    if se == 0:
        raise ValueError("zero standard error")
    z = (p_b - p_a) / se
    return float(z), _p_value(z, alternative)


@pitfall("conversion_ztest", "Computes p_a - p_b: the sign of z is flipped, and 'larger' and 'smaller' swap.")
def a_minus_b(conversions_a, visitors_a, conversions_b, visitors_b, alternative="two-sided"):
    return ref.conversion_ztest(conversions_b, visitors_b, conversions_a, visitors_a, alternative)


@pitfall("conversion_ztest",
         "Reports the one-tailed probability P(Z >= |z|) as the two-sided p-value: it must be doubled.")
def two_sided_not_doubled(conversions_a, visitors_a, conversions_b, visitors_b, alternative="two-sided"):
    z, p = ref.conversion_ztest(conversions_a, visitors_a, conversions_b, visitors_b, alternative)
    return z, (p / 2 if alternative == "two-sided" else p)


@pitfall("conversion_ztest", "Takes 'larger' as P(Z <= z) and 'smaller' as P(Z >= z): the one-sided tails are swapped.")
def one_sided_tails_swapped(conversions_a, visitors_a, conversions_b, visitors_b, alternative="two-sided"):
    swapped = {"larger": "smaller", "smaller": "larger"}.get(alternative, alternative)
    return ref.conversion_ztest(conversions_a, visitors_a, conversions_b, visitors_b, swapped)


@pitfall("conversion_ztest", "Returns nan (0 / 0) when nobody or everybody converted instead of raising ValueError.")
def nan_for_degenerate_rates(conversions_a, visitors_a, conversions_b, visitors_b, alternative="two-sided"):
    total = conversions_a + conversions_b
    if total in (0, visitors_a + visitors_b) and min(visitors_a, visitors_b) >= 1:
        return math.nan, math.nan
    return ref.conversion_ztest(conversions_a, visitors_a, conversions_b, visitors_b, alternative)


# ---- correct answers written differently --------------------------------------------------------

@alternative("hash_bucket", "MD5 of 'experiment/user_id', the first 8 bytes read with struct as a big-endian integer.")
def md5_struct(user_id, experiment):
    digest = hashlib.md5(f"{experiment}/{user_id}".encode()).digest()
    return struct.unpack(">Q", digest[:8])[0] / 2.0**64


@alternative("hash_bucket", "random.Random seeded with the salted key: string seeds are hashed with SHA-512, "
                            "so the draw is the same in every process.")
def seeded_random(user_id, experiment):
    return random.Random(f"{experiment}|{user_id}").random()


@alternative("hash_bucket", "BLAKE2b with the experiment as the key and a 7-byte digest (56 bits).")
def blake2b_keyed(user_id, experiment):
    key = hashlib.sha256(experiment.encode()).digest()  # keys are at most 64 bytes: hash long names down
    digest = hashlib.blake2b(user_id.encode("utf-8"), digest_size=7, key=key).digest()
    return int.from_bytes(digest, "little") / 2.0**56


@alternative("pick_variant", "Normalised cumulative shares with bisect, falling back to the last positive weight.")
def bisect_on_shares(bucket, weights):
    if not 0.0 <= bucket < 1.0:
        raise ValueError(f"bucket must be in [0, 1), got {bucket!r}")
    names, values = ref._checked_weights(weights)
    total = sum(values)
    edges = list(accumulate(value / total for value in values))
    index = bisect_right(edges, bucket)
    if index >= len(names):
        index = max(i for i, value in enumerate(values) if value > 0)
    return names[index]


@alternative("conversion_ztest", "The integer form of z, (x_b n_a - x_a n_b) / sqrt(X (N - X) n_a n_b / N), with "
                                 "scipy's normal distribution for the p-value.")
def integer_form(conversions_a, visitors_a, conversions_b, visitors_b, alternative="two-sided"):
    _checked_counts(conversions_a, visitors_a, conversions_b, visitors_b, alternative)
    x, n = conversions_a + conversions_b, visitors_a + visitors_b
    numerator = conversions_b * visitors_a - conversions_a * visitors_b
    z = numerator / math.sqrt(x * (n - x) * visitors_a * visitors_b / n)
    return float(z), _p_value(z, alternative)


@alternative("conversion_ztest", "statistics.NormalDist for the p-values, 1 - cdf(|z|) included: its cancellation "
                                 "costs at most about 1e-16 absolute, inside the tolerance the docstring states.")
def normal_dist_complements(conversions_a, visitors_a, conversions_b, visitors_b, alternative="two-sided"):
    pooled = _checked_counts(conversions_a, visitors_a, conversions_b, visitors_b, alternative)
    rate_a, rate_b = conversions_a / visitors_a, conversions_b / visitors_b
    z = (rate_b - rate_a) / math.sqrt(pooled * (1 - pooled) * (1 / visitors_a + 1 / visitors_b))
    normal = NormalDist()
    if alternative == "two-sided":
        p = 2 * (1 - normal.cdf(abs(z)))
    elif alternative == "larger":
        p = 1 - normal.cdf(z)
    else:
        p = normal.cdf(z)
    return float(z), float(p)
