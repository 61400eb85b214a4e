"""Split users between the variants of an A/B test, and test whether the variants convert differently.

An A/B test shows each user one variant of a product (the current model, "control", or a new
one, "treatment") and compares an outcome, here the conversion rate: the share of users who
bought, clicked or signed up. Two things must be right for the comparison to mean anything.

The assignment must be sticky and fair. A user who comes back tomorrow, lands on another
server or is looked up by the analysis job must get the same variant, without a table of who
got what: so the variant is computed from a hash of the user id. The hash must not change
between processes (Python's built-in ``hash()`` of a string does: it is salted per process,
see ``PYTHONHASHSEED``), it must spread users evenly so the split ratio holds, and it must be
salted with the experiment's name, so that the users in treatment in one experiment are not
the same users in treatment in every other experiment.

The comparison must be a proper test. With conversions x_a of n_a users in A and x_b of n_b
in B, the two-proportion z-test asks whether the rates x_a / n_a and x_b / n_b differ by more
than chance would make them.

The assignment is three small functions: ``hash_bucket`` turns (user, experiment) into a
number in [0, 1), ``pick_variant`` turns that number into a variant according to the split,
and ``assign_variant`` puts the two together.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Mapping


def hash_bucket(user_id: str, experiment: str) -> float:
    """Hash a user id, salted with the experiment's name, to a number in [0, 1).

    Any sound hash will do (SHA-256, MD5, BLAKE2 from ``hashlib``, for example, reading
    enough bytes of the digest as an integer and dividing by 2 to the number of bits read);
    the tests check the properties below, not one particular number. What they check:

    - Deterministic and stable: the same (user_id, experiment) gives the same number on
      every call, in every process and on every run. Python's ``hash()`` of a string fails
      this (it changes with ``PYTHONHASHSEED``); so do random numbers, the clock, ``id()``.
    - Stateless: the number depends on user_id and experiment only, not on which users were
      hashed before or in what order, and no state is kept between calls.
    - Uniform: over many different user ids (``"0"``, ``"1"``, ... as well as random-looking
      ones), the numbers are spread evenly over [0, 1).
    - Salted: for the same users, the numbers in two different experiments are independent of
      each other (a user's bucket in one experiment says nothing about their bucket in
      another). Putting the experiment's name into the hashed text does this with a
      cryptographic hash; a linear checksum such as CRC-32 does not manage it.
    - Fine-grained: at least 32 bits of resolution, so 20,000 different user ids get 20,000
      different numbers, give or take one or two collisions. Cutting the hash down to 100 or
      10,000 buckets first is too coarse.

    Args:
        user_id: the user's id, any string (Unicode included).
        experiment: the experiment's name, any string; it salts the hash.

    Returns:
        A Python float u with 0 <= u < 1.

    Example:
        >>> u = hash_bucket("user-42", "new-ranker")
        >>> 0.0 <= u < 1.0 and u == hash_bucket("user-42", "new-ranker")
        True
    """
    digest = hashlib.sha256(f"{experiment}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def pick_variant(bucket: float, weights: Mapping[str, float]) -> str:
    """The variant whose share of [0, 1) contains `bucket`.

    The variants own consecutive intervals of [0, 1), in the order the mapping lists them,
    each as wide as its share of the total weight. With W the sum of the weights and
    c_k = w_1 + ... + w_k the sum of the first k weights, variant k owns the half-open
    interval [c_(k-1) / W, c_k / W): it is chosen when

        c_(k-1) <= bucket * W < c_k

    So a bucket exactly on a boundary belongs to the variant on its right, a variant of weight
    0 owns an empty interval and is never chosen, and the weights need not add up to 1
    (``{"a": 1, "b": 3}`` gives "a" a quarter). Where rounding in the sums could leave a bucket
    just below 1 beyond the last boundary, it belongs to the last variant of positive weight.

    Args:
        bucket: a number with 0 <= bucket < 1 (what hash_bucket returns).
        weights: variant name -> weight; at least one entry, every weight a finite number
            >= 0, and a positive total. It must not be modified.

    Returns:
        The chosen variant's name (a key of `weights`).

    Raises:
        ValueError: if bucket is not in [0, 1) (NaN included), if weights is empty, if a
            weight is negative, NaN or infinite, or if the weights add up to 0.

    Example:
        >>> pick_variant(0.3, {"control": 0.5, "treatment": 0.5})
        'control'
        >>> pick_variant(0.5, {"control": 0.5, "treatment": 0.5})  # on the boundary: the right-hand variant
        'treatment'
        >>> pick_variant(0.3, {"a": 1, "b": 3})  # "a" owns [0, 0.25)
        'b'
        >>> pick_variant(0.0, {"off": 0, "on": 1})  # weight 0 is never chosen
        'on'
    """
    if not 0.0 <= bucket < 1.0:  # written this way round so that NaN fails it too
        raise ValueError(f"bucket must be a number in [0, 1), got {bucket!r}")
    names, values = _checked_weights(weights)
    total = math.fsum(values)
    position = bucket * total
    cumulative = 0.0
    for name, weight in zip(names, values, strict=True):
        cumulative += weight
        if weight > 0 and position < cumulative:
            return name
    # Only rounding gets here: the bucket is just below 1. It belongs to the last positive weight.
    return next(name for name, weight in zip(reversed(names), reversed(values), strict=True) if weight > 0)


def _checked_weights(weights):
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError("weights must be a non-empty mapping of variant name -> weight")
    names = list(weights)
    values = []
    for name in names:
        weight = weights[name]
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValueError(f"the weight of {name!r} must be a number, got {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"the weight of {name!r} must be finite and >= 0, got {weight!r}")
        values.append(float(weight))
    if not sum(values) > 0:
        raise ValueError("the weights add up to 0: no variant can be chosen")
    return names, values


def assign_variant(user_id: str, experiment: str, weights: Mapping[str, float]) -> str:
    """Assign a user to a variant of an experiment: ``pick_variant(hash_bucket(user_id, experiment), weights)``.

    Exactly that composition, with your own hash_bucket and pick_variant: so the assignment is
    sticky (the same user always gets the same variant of the same experiment, in any process),
    each variant gets its share of the users, and assignments in different experiments are
    independent of each other.

    Args:
        user_id: the user's id, any string.
        experiment: the experiment's name, any string.
        weights: variant name -> weight, as for pick_variant. It must not be modified.

    Returns:
        The name of the user's variant.

    Raises:
        ValueError: for the weights pick_variant rejects.

    Example:
        >>> split = {"control": 0.5, "treatment": 0.5}
        >>> assign_variant("user-42", "new-ranker", split) == assign_variant("user-42", "new-ranker", split)
        True
        >>> assign_variant("user-42", "new-ranker", {"control": 1, "treatment": 0})
        'control'
    """
    return pick_variant(hash_bucket(user_id, experiment), weights)


def conversion_ztest(conversions_a: int, visitors_a: int, conversions_b: int, visitors_b: int,
                     alternative: str = "two-sided") -> tuple[float, float]:
    """Two-proportion z-test of B's conversion rate against A's, with the pooled variance.

    With rates p_a = conversions_a / visitors_a and p_b = conversions_b / visitors_b, and the
    pooled rate p = (conversions_a + conversions_b) / (visitors_a + visitors_b) (the common
    rate if the null hypothesis, "A and B convert equally", is true):

        z = (p_b - p_a) / sqrt(p * (1 - p) * (1 / visitors_a + 1 / visitors_b))

    so z > 0 when B converts better. The p-value comes from the standard normal distribution:

        "two-sided": P(|Z| >= |z|)   (B differs from A)
        "larger":    P(Z >= z)       (B converts better than A)
        "smaller":   P(Z <= z)       (B converts worse than A)

    This is ``statsmodels.stats.proportion.proportions_ztest([conversions_b, conversions_a],
    [visitors_b, visitors_a], alternative=alternative)``; you may not use statsmodels here.
    Values must match it within a relative tolerance of 1e-9 or an absolute one of 1e-12,
    whichever is larger (``math.isclose(yours, its, rel_tol=1e-9, abs_tol=1e-12)``), so
    p-values below 1e-12 may be 0.

    Args:
        conversions_a, visitors_a: conversions and users in variant A, integers with
            0 <= conversions_a <= visitors_a and visitors_a >= 1.
        conversions_b, visitors_b: the same for variant B.
        alternative: "two-sided", "larger" or "smaller", as above.

    Returns:
        A tuple ``(z, p_value)`` of two Python floats.

    Raises:
        ValueError: if a count is negative or not an integer, a variant has no visitors or
            more conversions than visitors, `alternative` is not one of the three, or the
            pooled rate is 0 or 1 (nobody, or everybody, converted: the test is undefined).

    Example:
        >>> z, p = conversion_ztest(200, 1000, 250, 1000)
        >>> round(z, 4), round(p, 4)
        (2.6774, 0.0074)
        >>> z, p = conversion_ztest(200, 1000, 250, 1000, alternative="larger")
        >>> round(p, 4)
        0.0037
    """
    try:  # operator.index accepts Python and numpy integers, and nothing else
        conversions_a, visitors_a, conversions_b, visitors_b = (
            operator.index(v) for v in (conversions_a, visitors_a, conversions_b, visitors_b))
    except TypeError as exc:
        raise ValueError(f"counts must be integers: {exc}") from None
    if visitors_a < 1 or visitors_b < 1:
        raise ValueError("each variant needs at least one visitor")
    if not 0 <= conversions_a <= visitors_a or not 0 <= conversions_b <= visitors_b:
        raise ValueError("conversions must be between 0 and the number of visitors")
    if alternative not in ("two-sided", "larger", "smaller"):
        raise ValueError(f"alternative must be 'two-sided', 'larger' or 'smaller', got {alternative!r}")
    pooled = (conversions_a + conversions_b) / (visitors_a + visitors_b)
    if pooled in (0.0, 1.0):
        raise ValueError("the pooled conversion rate is 0 or 1: the z-test is undefined")
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / visitors_a + 1 / visitors_b))
    z = (conversions_b / visitors_b - conversions_a / visitors_a) / standard_error
    if alternative == "two-sided":
        p_value = math.erfc(abs(z) / math.sqrt(2))
    elif alternative == "larger":
        p_value = 0.5 * math.erfc(z / math.sqrt(2))
    else:
        p_value = 0.5 * math.erfc(-z / math.sqrt(2))
    return float(z), float(p_value)

