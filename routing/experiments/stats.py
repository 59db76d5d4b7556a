"""The statistics of an experiment, in pure Python (``math``, ``statistics``): the
two-sided two-proportion z-test of a difference in conversion, its confidence interval,
linear-interpolated percentiles, and the verdict in words. ``routing/tests`` checks the
p-values against ``scipy.stats`` to 1e-9.

The test (pooled): p = (x_a + x_b) / (n_a + n_b), se = √(p (1 - p) (1/n_a + 1/n_b)),
z = (p_b - p_a) / se, p-value = erfc(|z| / √2). The interval of p_b - p_a is Wald's
(unpooled): ± z_(1-a/2) · √(p_a (1 - p_a) / n_a + p_b (1 - p_b) / n_b).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class ZTest:
    difference: float  # rate of B - rate of A
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float


def two_proportion_ztest(
    x_a: int, n_a: int, x_b: int, n_b: int, *, confidence: float = 0.95
) -> ZTest | None:
    """The two-sided test of rate B - rate A; None when it cannot be computed (an empty
    arm, or every lead of both arms converted, or none did)."""
    if n_a <= 0 or n_b <= 0 or not (0 <= x_a <= n_a and 0 <= x_b <= n_b):
        return None
    p_a, p_b = x_a / n_a, x_b / n_b
    pooled = (x_a + x_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return None
    difference = p_b - p_a
    z = difference / se
    p_value = math.erfc(abs(z) / math.sqrt(2))
    critical = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    margin = critical * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return ZTest(difference, z, p_value, difference - margin, difference + margin, confidence)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-th quantile (0..1) of sorted values, linear between ranks (as PostgreSQL's
    ``percentile_cont``); None for no values."""
    if not sorted_values:
        return None
    rank = q * (len(sorted_values) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f} %"


def verdict(
    *, n_a: int, x_a: int, n_b: int, x_b: int, test: ZTest | None, min_leads: int
) -> tuple[str, str]:
    """(code, sentence): ``too_early`` below ``min_leads`` in either arm (no winner is
    called, whatever the p-value), ``no_test``, ``a_better``, ``b_better`` or
    ``no_difference`` at the 5 % level."""
    if n_a < min_leads or n_b < min_leads:
        return (
            "too_early",
            f"Too early to call: arm A has {n_a} leads and arm B {n_b}; at least "
            f"{min_leads} per arm are needed before a difference in conversion means anything.",
        )
    if test is None:
        return (
            "no_test",
            "No test possible: both arms converted all of their leads, or none.",
        )
    rates = f"A converts {_pct(x_a / n_a)}, B {_pct(x_b / n_b)}"
    interval = (
        f"B - A = {test.difference * 100:+.1f} points, {test.confidence:.0%} confidence "
        f"interval {test.ci_low * 100:+.1f} to {test.ci_high * 100:+.1f}; p = {test.p_value:.3g}"
    )
    if test.p_value >= SIGNIFICANCE:
        return (
            "no_difference",
            f"No significant difference yet: {rates} ({interval}). Keep it running or accept "
            f"that the arms convert alike.",
        )
    better = "b_better" if test.difference > 0 else "a_better"
    winner = "B" if test.difference > 0 else "A"
    return (better, f"Arm {winner} converts better: {rates} ({interval}).")
