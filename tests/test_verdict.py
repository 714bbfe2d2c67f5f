"""Verdict records and the statistics that decide them, on hand-made numbers."""

import math

import numpy as np
import pytest

from resdepth.verdict import (OUTCOMES, Verdict, bootstrap_interval, combine, mean_se, not_run, paired_t_test,
                              rank_correlation)


def verdict(outcome, missing=""):
    return Verdict("c", "claim", "paper", "ours", "budget", outcome, "rule", "stat", missing)


def test_a_range_the_budget_did_not_reach_caps_reproduced_at_partly():
    assert verdict("reproduced").outcome == "reproduced"
    capped = verdict("reproduced", missing="n = 1000")
    assert capped.outcome == "partly reproduced" and "n = 1000" in capped.summary
    assert verdict("not reproduced", missing="n = 1000").outcome == "not reproduced"
    assert verdict("inconclusive", missing="n = 1000").outcome == "inconclusive"


def test_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match="outcome must be one of"):
        verdict("mostly reproduced")
    assert not_run("c", "t", "p", "b", "r", "no CIFAR here").outcome == "not run" == OUTCOMES[-1]


@pytest.mark.parametrize("parts, expected", [
    (["reproduced", "reproduced"], "reproduced"),
    (["reproduced", "inconclusive"], "partly reproduced"),
    (["not reproduced", "not reproduced"], "not reproduced"),
    (["not reproduced", "inconclusive"], "inconclusive"),
    (["inconclusive", "inconclusive"], "inconclusive"),
    (["not run", "not run"], "not run"),
    (["not run", "reproduced"], "partly reproduced"),
])
def test_combining_parts(parts, expected):
    assert combine(parts) == expected


def test_paired_t_test_separates_a_consistent_gap_and_not_a_noisy_one():
    clear = paired_t_test([0.05, 0.06, 0.055, 0.052])
    assert clear.sign == 1 and clear.p < 0.01 and clear.low > 0
    noisy = paired_t_test([0.05, -0.04, 0.02])
    assert noisy.sign == 0 and noisy.low < 0 < noisy.high
    negative = paired_t_test([-0.05, -0.06, -0.055])
    assert negative.sign == -1
    one = paired_t_test([0.3])
    assert one.sign == 0 and math.isnan(one.p) and "no test possible" in one.describe()
    assert paired_t_test([0.02, 0.02]).sign == 1  # no spread at all: the sign is certain
    assert paired_t_test([float("nan"), 0.1]).n == 1


def test_paired_t_test_matches_the_textbook_value():
    # d = [1, 2, 3]: mean 2, s.e. 1/sqrt(3), t = 3.464 on 2 d.f., two-sided p = 0.0742
    t = paired_t_test([1.0, 2.0, 3.0])
    assert t.p == pytest.approx(0.0742, abs=1e-4) and t.sign == 0
    assert (t.high - t.mean) == pytest.approx(4.303 / math.sqrt(3), rel=1e-3)


def test_bootstrap_interval_covers_the_mean_and_needs_two_values():
    rng = np.random.default_rng(1)
    values = rng.normal(5.0, 1.0, size=200)
    low, high = bootstrap_interval(values)
    assert low < 5.0 < high and high - low < 0.5
    assert all(math.isnan(v) for v in bootstrap_interval([1.0]))


def test_rank_correlation_with_exact_permutation_p():
    rho, p = rank_correlation([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6])
    assert rho == pytest.approx(1.0) and p == pytest.approx(2 / math.factorial(6))
    rho, p = rank_correlation([1, 2, 3, 4], [2, 1, 4, 3])
    assert p > 0.05
    assert all(math.isnan(v) for v in rank_correlation([1, 2], [1, 2]))


def test_mean_se():
    assert mean_se([1.0, 3.0]) == (2.0, 1.0)
    mean, se = mean_se([2.0])
    assert mean == 2.0 and math.isnan(se)


def test_rank_correlation_is_exact_for_small_n_and_matches_scipy_for_larger_n():
    from scipy import stats

    rho, p = rank_correlation([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
    assert rho == pytest.approx(-1.0) and p == pytest.approx(2 / 720)  # the two perfect orderings of 6! = 720
    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    exact = stats.permutation_test((np.array(y, float),), lambda a: stats.spearmanr(x, a).statistic,
                                   permutation_type="pairings", n_resamples=math.inf).pvalue
    assert rank_correlation(x, y) == pytest.approx((stats.spearmanr(x, y).statistic, exact))
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=30), rng.normal(size=30)
    rho, p = rank_correlation(x, y, draws=20_000)
    assert rho == pytest.approx(stats.spearmanr(x, y).statistic) and p == pytest.approx(stats.spearmanr(x, y).pvalue,
                                                                                       abs=0.02)
    assert all(math.isnan(v) for v in rank_correlation([1, 2], [3, 4]))
