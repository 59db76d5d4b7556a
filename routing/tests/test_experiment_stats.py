"""The experiments' statistics against scipy.stats (a test dependency only). Pure."""

import math
import random

import numpy as np
import pytest
from scipy import stats as scipy_stats

from routing.experiments.stats import percentile, two_proportion_ztest, verdict

CASES = [
    (10, 100, 20, 100),
    (45, 500, 62, 480),
    (1, 30, 0, 25),
    (120, 1000, 120, 1000),
    (5000, 40000, 5300, 41000),
    (3, 7, 6, 9),
    (999, 1000, 990, 1000),
]


def _random_cases(n: int = 200) -> list[tuple[int, int, int, int]]:
    rng = random.Random(14)
    cases = []
    for _ in range(n):
        n_a, n_b = rng.randint(1, 5000), rng.randint(1, 5000)
        cases.append((rng.randint(0, n_a), n_a, rng.randint(0, n_b), n_b))
    return cases


@pytest.mark.parametrize("x_a, n_a, x_b, n_b", CASES + _random_cases())
def test_p_value_matches_scipy_to_1e_9(x_a, n_a, x_b, n_b):
    test = two_proportion_ztest(x_a, n_a, x_b, n_b)
    if x_a + x_b in (0, n_a + n_b):
        assert test is None
        return
    # The pooled z-test squared is Pearson's chi-square of the 2x2 table.
    table = [[x_a, n_a - x_a], [x_b, n_b - x_b]]
    chi2 = scipy_stats.chi2_contingency(table, correction=False)
    assert test.p_value == pytest.approx(chi2.pvalue, abs=1e-9)
    assert test.p_value == pytest.approx(2 * scipy_stats.norm.sf(abs(test.z)), abs=1e-9)


@pytest.mark.parametrize("x_a, n_a, x_b, n_b", CASES)
def test_confidence_interval_matches_scipy(x_a, n_a, x_b, n_b):
    test = two_proportion_ztest(x_a, n_a, x_b, n_b)
    if test is None:
        return
    p_a, p_b = x_a / n_a, x_b / n_b
    margin = scipy_stats.norm.ppf(0.975) * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    assert test.difference == pytest.approx(p_b - p_a, abs=1e-12)
    assert test.ci_low == pytest.approx(p_b - p_a - margin, abs=1e-9)
    assert test.ci_high == pytest.approx(p_b - p_a + margin, abs=1e-9)


def test_no_test_for_an_empty_arm_or_impossible_counts():
    assert two_proportion_ztest(0, 0, 5, 10) is None
    assert two_proportion_ztest(11, 10, 5, 10) is None


@pytest.mark.parametrize("q", [0.0, 0.5, 0.9, 1.0])
def test_percentile_is_linear_interpolation_like_numpy(q):
    values = sorted(random.Random(3).uniform(0, 1000) for _ in range(101))
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)))
    assert percentile([], q) is None
    assert percentile([7.0], q) == 7.0


def test_no_winner_below_the_minimum_sample_even_when_significant():
    test = two_proportion_ztest(1, 99, 60, 99)
    assert test.p_value < 1e-10
    code, words = verdict(n_a=99, x_a=1, n_b=99, x_b=60, test=test, min_leads=100)
    assert code == "too_early"
    assert "at least 100 per arm" in words


def test_verdict_names_the_better_arm_or_no_difference():
    significant = two_proportion_ztest(50, 1000, 90, 1000)
    code, words = verdict(n_a=1000, x_a=50, n_b=1000, x_b=90, test=significant, min_leads=100)
    assert code == "b_better" and words.startswith("Arm B converts better")
    code, _ = verdict(
        n_a=1000,
        x_a=90,
        n_b=1000,
        x_b=50,
        test=two_proportion_ztest(90, 1000, 50, 1000),
        min_leads=100,
    )
    assert code == "a_better"
    flat = two_proportion_ztest(100, 1000, 104, 1000)
    code, words = verdict(n_a=1000, x_a=100, n_b=1000, x_b=104, test=flat, min_leads=100)
    assert code == "no_difference" and "No significant difference" in words
