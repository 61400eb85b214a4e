"""Tests for ab_split: sticky hash assignment of users to variants, and the two-proportion z-test.

hash_bucket may use any sound hash, so it is tested by its properties, never against the
reference's numbers: the same bucket in another process (run with other PYTHONHASHSEEDs, other
users hashed first, in another order), uniform over [0, 1), fine-grained, and independent
between experiments. pick_variant has one right answer and is compared with the reference on
generated buckets and weights, kept off the exact boundaries where summing in another order
could round differently; the boundaries themselves are tested with numbers that every order
sums exactly. assign_variant must be pick_variant(hash_bucket(...)) with the kata's own
functions, and each variant must get its share (a chi-square test). statsmodels'
proportions_ztest is the oracle for conversion_ztest.

The statistical checks use fixed user ids and reject only at p < 1e-6, so a sound hash fails
one of them with probability about one in a million (and, being deterministic, then fails it
every time: a reason to change the salt separator, not the test). The mistakes they are there
for give p-values far below that.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

import katakit
from katakit.testing import exact, snapshot

ALPHA = 1e-6  # reject a statistical check only below this p-value
N_USERS = 20_000


def sequential_ids(n=N_USERS):
    return [str(i) for i in range(n)]


def prefixed_ids(n=N_USERS):
    return [f"user-{i}" for i in range(n)]


def random_ids(n=N_USERS, seed=7):
    rng = random.Random(seed)  # its own generator: the ids are the same in every run
    return [f"{rng.getrandbits(64):016x}" for _ in range(n)]


def email_ids(n=N_USERS):
    return [f"jos\u00e9.{i}@example.com" for i in range(n)]


ID_FAMILIES = {"sequential": sequential_ids, "prefixed": prefixed_ids, "random-hex": random_ids, "email": email_ids}


# ---- pick_variant: the boundaries, with exact numbers -------------------------------------------

LAST_BELOW_ONE = 1.0 - 2.0**-53  # the largest float below 1
# Shares that, normalised and summed one by one, add up to the float just below 1, not to 1.
FIVE_THREE_TENTHS = {f"v{i}": 0.3 for i in range(5)}
# Nine weights whose exactly rounded total (math.fsum, and numpy's pairwise np.sum) is one ulp above their sum
# added one by one: bucket * total then lands beyond the last running sum, which only a fall-back reaches.
ABOVE_RUNNING_SUM = dict(zip([f"w{i}" for i in range(9)], [1 / 3, 0.2, 0.07, 0.2, 0.9, 0.9, 0.9, 0.8, 0.7],
                             strict=True))

BOUNDARY_CASES = {
    "even split, 0": ({"control": 0.5, "treatment": 0.5}, 0.0, "control"),
    "even split, just below 0.5": ({"control": 0.5, "treatment": 0.5}, 0.49999999999999994, "control"),
    "even split, exactly 0.5": ({"control": 0.5, "treatment": 0.5}, 0.5, "treatment"),
    "even split, just below 1": ({"control": 0.5, "treatment": 0.5}, LAST_BELOW_ONE, "treatment"),
    "1:3, below 0.25": ({"a": 1, "b": 3}, 0.2, "a"),
    "1:3, exactly 0.25": ({"a": 1, "b": 3}, 0.25, "b"),
    "2:6, exactly 0.25": ({"a": 2, "b": 6}, 0.25, "b"),
    "1:2, a hair below 1/3": ({"a": 1, "b": 2}, 0.33333, "a"),
    "1:2, a hair above 1/3": ({"a": 1, "b": 2}, 0.333334, "b"),
    "eighths, exactly 1/8": ({"a": 0.125, "b": 0.375, "c": 0.5}, 0.125, "b"),
    "eighths, exactly 1/2": ({"a": 0.125, "b": 0.375, "c": 0.5}, 0.5, "c"),
    "eighths, listed in another order": ({"c": 0.5, "a": 0.125, "b": 0.375}, 0.5, "a"),
    "leading zero weight, 0": ({"off": 0, "on": 1}, 0.0, "on"),
    "middle zero weight, on its boundary": ({"a": 0.25, "off": 0.0, "b": 0.75}, 0.25, "b"),
    "trailing zero weight, just below 1": ({"a": 1, "b": 1, "off": 0}, LAST_BELOW_ONE, "b"),
    "five times 0.3, just below 1": ({**FIVE_THREE_TENTHS, "off": 0}, LAST_BELOW_ONE, "v4"),
    "0.57/0.8/0.07, just below 1": ({"a": 0.57, "b": 0.8, "c": 0.07, "off": 0.0}, LAST_BELOW_ONE, "c"),
    "exact total above the running sum, just below 1": ({**ABOVE_RUNNING_SUM, "off": 0}, LAST_BELOW_ONE, "w8"),
    "exact total above the running sum, 0.9": ({**ABOVE_RUNNING_SUM, "off": 0}, 0.9, "w8"),
    "one variant": ({"only": 3.5}, LAST_BELOW_ONE, "only"),
    "unnormalised, large total": ({"a": 300, "b": 100}, 0.75, "b"),
}


@pytest.mark.parametrize("case", list(BOUNDARY_CASES))
def test_pick_variant_at_the_boundaries(kata, case):
    weights, bucket, expected = BOUNDARY_CASES[case]
    before = snapshot(weights)
    chosen = kata.pick_variant(bucket, weights)
    assert chosen == expected, (
        f"pick_variant({bucket!r}, {weights}) returned {chosen!r}, expected {expected!r}: variant k owns "
        f"[c_(k-1) / W, c_k / W), so a bucket on a boundary goes to the right-hand variant, a weight of 0 owns "
        f"nothing, and a bucket just below 1 belongs to the last variant of positive weight")
    assert exact(weights, before), "pick_variant modified its weights"


INVALID_PICKS = {
    "bucket -0.1": (-0.1, {"a": 1}),
    "bucket 1.0": (1.0, {"a": 1}),
    "bucket 1.5": (1.5, {"a": 1}),
    "bucket NaN": (math.nan, {"a": 1}),
    "no variants": (0.5, {}),
    "negative weight": (0.5, {"a": -1, "b": 2}),
    "NaN weight": (0.5, {"a": math.nan, "b": 1}),
    "infinite weight": (0.5, {"a": math.inf, "b": 1}),
    "weights add up to 0": (0.5, {"a": 0, "b": 0.0}),
}


@pytest.mark.parametrize("case", list(INVALID_PICKS))
def test_pick_variant_rejects_invalid_input(kata, case):
    bucket, weights = INVALID_PICKS[case]
    with pytest.raises(ValueError):
        kata.pick_variant(bucket, weights)


# ---- conversion_ztest ---------------------------------------------------------------------------

def ztest_oracle(conversions_a, visitors_a, conversions_b, visitors_b, alternative="two-sided"):
    proportion = pytest.importorskip("statsmodels.stats.proportion",
                                     reason="statsmodels' proportions_ztest is the oracle for this check")
    z, p = proportion.proportions_ztest([conversions_b, conversions_a], [visitors_b, visitors_a],
                                        alternative=alternative)
    return float(z), float(p)


def ztest_equal(yours, expected):
    """A 2-tuple of floats; z and the p-value within rtol 1e-9 (p-values below 1e-12 may round to 0)."""
    if not isinstance(yours, tuple) or len(yours) != 2:
        return False
    if not all(isinstance(v, float) for v in yours):
        return False
    return all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(yours, expected, strict=True))


ALTERNATIVES = ("two-sided", "larger", "smaller")


@st.composite
def experiments(draw):
    visitors_a = draw(st.one_of(st.integers(1, 50), st.integers(1, 10**6)), label="visitors_a")
    visitors_b = draw(st.one_of(st.integers(1, 50), st.integers(1, 10**6)), label="visitors_b")
    conversions_a = draw(st.integers(0, visitors_a), label="conversions_a")
    conversions_b = draw(st.integers(0, visitors_b), label="conversions_b")
    assume(0 < conversions_a + conversions_b < visitors_a + visitors_b)
    return conversions_a, visitors_a, conversions_b, visitors_b


def test_ztest_docstring_example(kata):
    z, p = kata.conversion_ztest(200, 1000, 250, 1000)
    assert math.isclose(z, 2.677397763008329, rel_tol=1e-9), f"z = {z!r}, expected 2.6774 (B converts better: z > 0)"
    assert math.isclose(p, 0.007419649261025687, rel_tol=1e-9), f"two-sided p = {p!r}, expected 0.0074"
    _, p_larger = kata.conversion_ztest(200, 1000, 250, 1000, alternative="larger")
    assert math.isclose(p_larger, 0.0037098246305128437, rel_tol=1e-9), f"p ('larger') = {p_larger!r}, expected 0.0037"


@pytest.mark.parametrize("counts", [(0, 1, 1, 1), (1, 1, 0, 3), (1, 2, 1, 2), (3, 1000, 0, 7), (999, 1000, 1000, 1000)],
                         ids=["one-visitor-each", "a-all-b-none", "equal-rates", "b-none", "nearly-everyone"])
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_ztest_small_and_extreme_counts(kata, counts, alternative):
    expected = ztest_oracle(*counts, alternative=alternative)
    yours = kata.conversion_ztest(*counts, alternative=alternative)
    assert ztest_equal(yours, expected), (
        f"conversion_ztest{counts}, alternative={alternative!r}\n  expected (z, p): {expected!r}\n"
        f"  yours:           {yours!r}")


INVALID_COUNTS = {
    "negative conversions": (-1, 10, 2, 10),
    "conversions above visitors (A)": (11, 10, 2, 10),
    "conversions above visitors (B)": (1, 10, 12, 10),
    "no visitors in A": (0, 0, 2, 10),
    "no visitors in B": (1, 10, 0, 0),
    "fractional count": (2.5, 10, 3, 10),
    "nobody converted": (0, 10, 0, 20),
    "everybody converted": (10, 10, 20, 20),
}


@pytest.mark.parametrize("case", list(INVALID_COUNTS))
def test_ztest_rejects_invalid_counts(kata, case):
    with pytest.raises(ValueError):
        kata.conversion_ztest(*INVALID_COUNTS[case])


@pytest.mark.parametrize("alternative", ["greater", "two_sided", "", "Larger"])
def test_ztest_rejects_unknown_alternative(kata, alternative):
    with pytest.raises(ValueError):
        kata.conversion_ztest(20, 100, 30, 100, alternative=alternative)


def test_ztest_accepts_numpy_integers(kata):
    counts = (np.int64(200), np.int64(1000), np.int32(250), np.int32(1000))
    assert ztest_equal(kata.conversion_ztest(*counts), ztest_oracle(200, 1000, 250, 1000))


# ---- hash_bucket: the properties ----------------------------------------------------------------

def buckets(kata, ids, experiment):
    return [kata.hash_bucket(user_id, experiment) for user_id in ids]


def test_hash_bucket_is_a_float_in_the_unit_interval_and_sticky(kata):
    ids = prefixed_ids(2000)
    for experiment in ("new-ranker", ""):
        first = buckets(kata, ids, experiment)
        bad = [(i, u) for i, u in zip(ids, first, strict=True) if not isinstance(u, float) or not 0.0 <= u < 1.0]
        assert not bad, f"hash_bucket must return a float in [0, 1); got {bad[:3]}"
        again = buckets(kata, ids, experiment)
        changed = [(i, a, b) for i, a, b in zip(ids, first, again, strict=True) if a != b]
        assert not changed, f"the same (user, experiment) gave another bucket on the next call: {changed[:3]}"


def test_hash_bucket_takes_any_string(kata):
    ids = ["", " ", "jos\u00e9", "jose\u0301", "\u7528\u6237-1", "\U0001f600", "a" * 10_000, "user:1", "user\x001"]
    values = [kata.hash_bucket(user_id, "exp\u00e9riment") for user_id in ids]
    assert all(isinstance(u, float) and 0.0 <= u < 1.0 for u in values), f"buckets out of [0, 1): {values}"
    assert len(set(values)) == len(ids), (
        f"different user ids got the same bucket: {dict(zip(ids, values, strict=True))}")


@pytest.mark.parametrize("family", list(ID_FAMILIES))
def test_hash_bucket_has_at_least_32_bits_of_resolution(kata, family):
    ids = ID_FAMILIES[family]()
    distinct = len(set(buckets(kata, ids, "new-ranker")))
    assert distinct >= len(ids) - 2, (
        f"{len(ids)} different user ids ({family}) got only {distinct} different buckets: the bucket is too "
        f"coarse (use at least 32 bits of the hash) or ignores part of the id")


@pytest.mark.parametrize("family", list(ID_FAMILIES))
def test_hash_bucket_is_uniform(kata, family):
    values = np.array(buckets(kata, ID_FAMILIES[family](), "new-ranker"))
    result = stats.kstest(values, "uniform")
    assert result.pvalue >= ALPHA, (
        f"the buckets of {len(values)} {family} user ids are not uniform on [0, 1): Kolmogorov-Smirnov "
        f"statistic {result.statistic:.4f}, p = {result.pvalue:.2e}; deciles hold "
        f"{np.histogram(values, bins=10, range=(0, 1))[0].tolist()}")


def independence_p_value(first, second, bins=10):
    """p-value of the chi-square test of independence on a bins x bins table of two bucket lists."""
    table = np.zeros((bins, bins))
    np.add.at(table, (np.minimum((np.asarray(first) * bins).astype(int), bins - 1),
                      np.minimum((np.asarray(second) * bins).astype(int), bins - 1)), 1)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return 0.0  # every user in one bin: as dependent as it gets (and not uniform)
    return float(stats.chi2_contingency(table, correction=False).pvalue)


@pytest.mark.parametrize("first, second", [("new-ranker", "new-ranker-v2"), ("exp-a", "exp-b"),
                                           ("checkout", "search-ranking"), ("", "x")])
def test_buckets_in_different_experiments_are_independent(kata, first, second):
    ids = prefixed_ids()
    u, v = buckets(kata, ids, first), buckets(kata, ids, second)
    same = sum(a == b for a, b in zip(u, v, strict=True))
    assert same <= 2, (f"{same} of {len(ids)} users got the same bucket in experiments {first!r} and {second!r}: "
                       f"salt the hash with the experiment's name")
    p = independence_p_value(u, v)
    assert p >= ALPHA, (
        f"a user's bucket in {first!r} predicts their bucket in {second!r} (chi-square test of independence on "
        f"a 10 x 10 table of deciles, p = {p:.2e}): a salt that only shifts or flips the hash, or a linear "
        f"checksum such as CRC-32, does not make experiments independent; hash the name together with the id")


# ---- assign_variant -----------------------------------------------------------------------------

SPLITS = {
    "50/50": {"control": 0.5, "treatment": 0.5},
    "20/30/50": {"a": 0.2, "b": 0.3, "c": 0.5},
    "99:1 canary": {"stable": 99, "canary": 1},
    "with a paused arm": {"a": 1, "paused": 0, "b": 2},
    "unsorted names": {"treatment": 3, "control": 1},
}


def test_assign_variant_is_pick_variant_of_hash_bucket(kata):
    ids = random_ids(300, seed=11) + prefixed_ids(300)
    for name, weights in SPLITS.items():
        for experiment in ("new-ranker", "price-test"):
            for user_id in ids:
                expected = kata.pick_variant(kata.hash_bucket(user_id, experiment), weights)
                chosen = kata.assign_variant(user_id, experiment, weights)
                assert chosen == expected, (
                    f"assign_variant({user_id!r}, {experiment!r}, {weights}) returned {chosen!r}, but "
                    f"pick_variant(hash_bucket({user_id!r}, {experiment!r}), weights) is {expected!r} ({name})")


@pytest.mark.parametrize("split", list(SPLITS))
def test_each_variant_gets_its_share(kata, split):
    weights = SPLITS[split]
    before = snapshot(weights)
    ids = random_ids(seed=3)
    counts = {name: 0 for name in weights}
    for user_id in ids:
        chosen = kata.assign_variant(user_id, "new-ranker", weights)
        assert chosen in counts, f"assign_variant returned {chosen!r}, which is not a variant of {weights}"
        counts[chosen] += 1
    assert exact(weights, before), "assign_variant modified its weights"
    zero = [name for name, w in weights.items() if w == 0 and counts[name]]
    assert not zero, f"variants of weight 0 got users: {zero} ({counts})"
    live = [name for name, w in weights.items() if w > 0]
    total = sum(weights[name] for name in live)
    observed = [counts[name] for name in live]
    expected = [len(ids) * weights[name] / total for name in live]
    p = float(stats.chisquare(observed, expected).pvalue)
    assert p >= ALPHA, (f"the split {weights} is not respected: {len(ids)} users gave {counts}, expected about "
                        f"{dict(zip(live, [round(e) for e in expected], strict=True))} (chi-square p = {p:.2e})")


def test_assignments_in_different_experiments_are_independent(kata):
    weights = {"control": 0.5, "treatment": 0.5}
    ids = prefixed_ids()
    table = np.zeros((2, 2))
    for user_id in ids:
        a = kata.assign_variant(user_id, "new-ranker", weights) == "treatment"
        b = kata.assign_variant(user_id, "new-onboarding", weights) == "treatment"
        table[int(a), int(b)] += 1
    assert table.min() > 0, f"the two experiments' assignments are locked together: {table.tolist()}"
    p = float(stats.chi2_contingency(table, correction=False).pvalue)
    assert p >= ALPHA, (f"being in treatment in one experiment predicts treatment in the other "
                        f"(table {table.tolist()}, p = {p:.2e}): salt the hash with the experiment's name")


@pytest.mark.parametrize("weights", [{}, {"a": -0.5, "b": 1.5}, {"a": 0, "b": 0}, {"a": math.nan}],
                         ids=["empty", "negative", "all-zero", "nan"])
def test_assign_variant_rejects_invalid_weights(kata, weights):
    with pytest.raises(ValueError):
        kata.assign_variant("user-1", "new-ranker", weights)


# ---- against the reference and the oracle, on generated input (after the cheap checks) -------

NAMES = ("control", "treatment", "b", "a", "z", "holdout")


@st.composite
def integer_splits(draw):
    """Integer weights (some 0) under names in a drawn order, and a bucket on a grid of 1/1024."""
    names = draw(st.permutations(NAMES), label="names")
    values = draw(st.lists(st.integers(0, 20), min_size=1, max_size=len(NAMES)), label="weights")
    assume(sum(values) > 0)
    bucket = draw(st.integers(0, 1023), label="bucket * 1024") / 1024
    # On an exact boundary, rounding can separate correct answers; those are tested above.
    total, running = sum(values), 0
    for value in values:
        running += value
        assume(Fraction(bucket) * total != running)
    return bucket, dict(zip(names, values, strict=False))


@st.composite
def float_splits(draw):
    names = draw(st.permutations(NAMES), label="names")
    values = draw(st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 1e3)), min_size=1, max_size=len(NAMES)),
                  label="weights")
    assume(sum(values) > 0)
    total = math.fsum(values)
    if draw(st.booleans(), label="near a boundary"):
        # Just beside a boundary (but not within rounding of it): where a coarse grid or <= goes wrong.
        edge = math.fsum(values[:draw(st.integers(1, len(values)), label="boundary")]) / total
        offset = draw(st.floats(1e-8, 1e-3), label="distance") * draw(st.sampled_from((-1, 1)), label="side")
        bucket = edge + offset
        assume(0.0 <= bucket < 1.0)
    else:
        bucket = draw(st.floats(0.0, 1.0, exclude_max=True), label="bucket")
    running = 0.0
    for value in values:
        running += value
        assume(abs(bucket - running / total) > 1e-9)
    return bucket, dict(zip(names, values, strict=False))


@settings(max_examples=100)
@given(integer_splits())
def test_pick_variant_matches_reference_on_integer_weights(differential, case):
    bucket, weights = case
    differential("pick_variant", bucket, weights, equal=exact)


@settings(max_examples=100)
@given(float_splits())
def test_pick_variant_matches_reference_on_float_weights(differential, case):
    bucket, weights = case
    differential("pick_variant", bucket, weights, equal=exact)


@settings(max_examples=100)
@given(experiments(), st.sampled_from(ALTERNATIVES))
def test_ztest_matches_reference(differential, counts, alternative):
    differential("conversion_ztest", *counts, alternative=alternative, equal=ztest_equal)


@settings(max_examples=30)
@given(experiments(), st.sampled_from(ALTERNATIVES))
def test_ztest_matches_statsmodels(kata, counts, alternative):
    expected = ztest_oracle(*counts, alternative=alternative)
    yours = kata.conversion_ztest(*counts, alternative=alternative)
    assert ztest_equal(yours, expected), (
        f"conversion_ztest{counts} with alternative={alternative!r} differs from statsmodels' proportions_ztest"
        f"\n  expected (z, p): {expected!r}\n  yours:           {yours!r}")


@settings(max_examples=30)
@given(experiments())
def test_swapping_a_and_b_negates_z(kata, counts):
    conversions_a, visitors_a, conversions_b, visitors_b = counts
    z, p = kata.conversion_ztest(*counts)
    z_swapped, p_swapped = kata.conversion_ztest(conversions_b, visitors_b, conversions_a, visitors_a)
    assert math.isclose(z_swapped, -z, rel_tol=1e-9, abs_tol=1e-12), "swapping A and B must negate z"
    assert math.isclose(p_swapped, p, rel_tol=1e-9, abs_tol=1e-12), "swapping A and B keeps the two-sided p-value"
    _, p_larger = kata.conversion_ztest(*counts, alternative="larger")
    _, p_smaller_swapped = kata.conversion_ztest(conversions_b, visitors_b, conversions_a, visitors_a,
                                                 alternative="smaller")
    assert math.isclose(p_larger, p_smaller_swapped, rel_tol=1e-9, abs_tol=1e-12), (
        "'B larger than A' must have the same p-value as 'A smaller than B' with the variants swapped")


# ---- stable across processes, whatever else was hashed, in whatever order -----------------------

# Runs in a fresh interpreter: rebuilds the module under test (the learner's file, or the
# reference with one function swapped, as the kata fixture does), hashes some other users first,
# then the given users in reverse order, and prints the buckets and variants as JSON.
CHILD = r"""
import json, sys
from pathlib import Path
root, spec = sys.argv[1], json.loads(sys.stdin.read())
sys.path.insert(0, root)
from katakit.loading import load_module
module = load_module(Path(spec["module"]), "child")
for name, (path, attribute) in spec["functions"].items():
    if Path(path).resolve() != Path(spec["module"]).resolve():
        setattr(module, name, getattr(load_module(Path(path), "child_parts"), attribute))
for other in spec["others"]:
    module.hash_bucket(other, spec["experiment"])
    module.assign_variant(other, spec["experiment"], spec["weights"])
ids = spec["ids"][::-1]
out = {"buckets": [module.hash_bucket(u, spec["experiment"]) for u in ids][::-1],
       "variants": [module.assign_variant(u, spec["experiment"], spec["weights"]) for u in ids][::-1]}
print(json.dumps(out))
"""


def run_in_child(kata, ids, experiment, weights, hash_seed):
    functions = {}
    for name in ("hash_bucket", "pick_variant", "assign_variant"):
        # The learner's functions reach the tests wrapped (functools.wraps) by the kata runner, whose own file
        # cannot be loaded on its own: take the file and name of the function inside the wrapper.
        function = inspect.unwrap(getattr(kata, name))
        functions[name] = (function.__code__.co_filename, function.__name__)
    spec = {"module": kata.__file__, "functions": functions, "ids": ids, "experiment": experiment,
            "weights": weights, "others": random_ids(500, seed=hash_seed + 100)}
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    root = str(Path(katakit.__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", CHILD, root], input=json.dumps(spec), env=env,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, f"could not run hash_bucket in a fresh process:\n{done.stderr[-2000:]}"
    return json.loads(done.stdout)


def test_same_buckets_and_variants_in_other_processes(kata):
    ids = prefixed_ids(200) + random_ids(200, seed=5) + ["jos\u00e9", "\u7528\u6237-7"]
    experiment, weights = "new-ranker", {"control": 1, "treatment": 1, "holdout": 2}
    here = {"buckets": buckets(kata, ids, experiment),
            "variants": [kata.assign_variant(u, experiment, weights) for u in ids]}
    for hash_seed in (0, 2024):
        there = run_in_child(kata, ids, experiment, weights, hash_seed)
        for what in ("buckets", "variants"):
            differ = [(u, a, b) for u, a, b in zip(ids, here[what], there[what], strict=True) if a != b]
            assert not differ, (
                f"{len(differ)} of {len(ids)} users got other {what} in a fresh process (PYTHONHASHSEED={hash_seed}, "
                f"other users hashed first, in reverse order), e.g. {differ[:2]} (here, there). Python's hash() "
                f"of a string changes from process to process, and the bucket may depend on nothing but the user "
                f"id and the experiment: use a hash from hashlib")
