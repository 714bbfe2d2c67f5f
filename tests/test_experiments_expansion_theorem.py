"""The expansion chapter's rules on hand-made slopes and path checks, its measurements on tiny towers,
and one verdict per claim on a tiny run."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from resdepth.experiments import expansion_theorem as et
from resdepth.experiments.common import resolve_settings

COLUMN = f"slope (λ ≤ {et.FIT_LAM_MAX:g})"


def slopes(**by_activation) -> pd.DataFrame:
    """A slope table: activation -> per-seed slopes over lam <= 0.1."""
    return pd.DataFrame([{"activation": a, "seed": s, "slope (all λ)": v, COLUMN: v}
                         for a, values in by_activation.items() for s, v in enumerate(values)])


def pairs(difference=1e-15, detectable=None, n=4, seeds=2) -> pd.DataFrame:
    c = math.comb(n, 2)
    return pd.DataFrame([{"seed": s, "depth n": n, "C(n, 2)": c, "pair terms": c,
                          "detectable": c if detectable is None else detectable, "smallest term / ‖M2‖": 0.1,
                          "relative difference": difference} for s in range(seeds)])


def linear(difference=1e-15, n=3, paths_at_2=None) -> pd.DataFrame:
    rows = [{"order k": str(k), "paths": math.comb(n, k) if (k != 2 or paths_at_2 is None) else paths_at_2,
             "C(n, k)": math.comb(n, k), "detectable": math.comb(n, k), "smallest path / ‖R‖": 0.1}
            for k in range(n + 1)]
    rows.append({"order k": "all", "paths": 2**n, "C(n, k)": 2**n, "detectable": 2**n, "smallest path / ‖R‖": 0.1,
                 "relative difference": difference})
    return pd.DataFrame(rows).assign(**{"depth n": n})


# ----------------------------------------------------------------------------- slope rule


def test_slope_rule_reproduced_when_every_smooth_seed_is_near_three_whatever_relu_does():
    outcome, ours, statistic = et.slope_rule(slopes(gelu=[3.01, 2.99, 2.98], tanh=[3.02, 3.0, 2.95],
                                                    relu=[2.6, 2.5, 2.62]))
    assert outcome == "reproduced"
    assert "6 of 6" in statistic and "ReLU" in ours and "more than 0.1 below 3" in ours


def test_slope_rule_not_reproduced_when_one_smooth_activation_is_second_order_in_every_seed():
    outcome, _, _ = et.slope_rule(slopes(gelu=[3.0, 3.0], tanh=[2.01, 1.98]))
    assert outcome == "not reproduced"


@pytest.mark.parametrize("gelu, tanh", [
    ([3.0, 2.5], [3.0, 3.0]),  # the seeds disagree
    ([3.0], [3.0]),  # one seed: no spread to report
    ([4.0, 4.0], [3.0, 3.0]),  # faster than lam^3: the generic third-order term would vanish
])
def test_slope_rule_inconclusive(gelu, tanh):
    assert et.slope_rule(slopes(gelu=gelu, tanh=tanh))[0] == "inconclusive"


def test_slope_tolerance_edge():
    assert et.slope_rule(slopes(gelu=[3.09, 2.91], tanh=[3.0, 3.0]))[0] == "reproduced"
    assert et.slope_rule(slopes(gelu=[3.11, 2.91], tanh=[3.0, 3.0]))[0] == "inconclusive"


def test_fitted_slope_keeps_only_the_small_lambdas():
    lams = np.logspace(-4, 0, 13)
    errors = lams**3 + 50 * lams**5  # third order, bent above lam = 0.1
    assert et.fitted_slope(lams, errors, 0.01) == pytest.approx(3, abs=0.01)
    assert et.fitted_slope(lams, errors) > 3.3
    assert math.isnan(et.fitted_slope(lams[:1], errors[:1]))


# ----------------------------------------------------------------------------- path count rule


def test_path_count_rule_reproduced_when_both_identities_hold():
    outcome, ours, statistic = et.path_count_rule(pairs(), linear())
    assert outcome == "reproduced" and "8 = 2^3" in ours and "1e-09" in statistic


@pytest.mark.parametrize("p, l", [
    (pairs(difference=1e-3), linear()),  # M2 is not the sum of its pairs
    (pairs(detectable=5), linear()),  # a pair term too small to count
    (pairs(), linear(difference=1e-6)),  # the paths do not add up to the tower
    (pairs(), linear(paths_at_2=2)),  # fewer paths at order 2 than C(3, 2)
])
def test_path_count_rule_not_reproduced(p, l):
    assert et.path_count_rule(p, l)[0] == "not reproduced"


def test_linear_paths_add_up_to_the_tower_with_binomial_counts():
    table = et.linear_paths(depth=6, width=4, lam=0.7, seed=3)
    orders = table[table["order k"] != "all"]
    assert list(orders["paths"]) == [math.comb(6, k) for k in range(7)]
    assert table.iloc[-1]["paths"] == 64 and table.iloc[-1]["relative difference"] < 1e-13


def test_pair_terms_add_up_to_m2_on_a_real_tower():
    settings = {"depth": 5, "width": 4, "seeds": [0, 1]}
    x = torch.randn(2, 1, 28, 28, dtype=torch.float64)
    table = et.pair_check(x, settings)
    assert list(table["pair terms"]) == [10, 10] and (table["relative difference"] < 1e-12).all()
    assert (table["detectable"] == 10).all()


# ----------------------------------------------------------------------------- a tiny run


def test_verdicts_give_one_verdict_per_claim_in_order_on_a_tiny_run():
    settings = resolve_settings(et.NAME, et.BUDGETS, "smoke", depth=3, width=4, images=2, lam_points=5)
    results = et.run(settings, None)
    assert set(results["slopes"]["activation"]) == set(et.ACTIVATIONS)
    verdicts = et.verdicts(results, settings)
    assert [v.claim for v in verdicts] == list(et.CLAIMS)
    assert verdicts[0].outcome == "inconclusive"  # one seed
    assert verdicts[1].outcome == "reproduced"
