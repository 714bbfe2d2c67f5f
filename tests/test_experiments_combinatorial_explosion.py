"""The explosion chapter's rules on hand-made gains and slopes, its measurements on tiny towers, and
one verdict per claim on a tiny run."""

import math

import numpy as np
import pandas as pd
import pytest

from resdepth.experiments import combinatorial_explosion as ce
from resdepth.experiments.common import resolve_settings

DEPTHS = [1, 10, 100, 1000]


def growth(lam1, sqrt=None, by_n=None, bn=None) -> pd.DataFrame:
    """A growth table: per rule, {seed: gains at DEPTHS}; the scaled rules default to gentle gains."""
    gentle = {s: [1.1, 1.2, 1.25, 1.23] for s in lam1}
    tables = {"1": lam1, "1/sqrt(n)": sqrt or gentle, "1/n": by_n or {s: [1.1, 1.0, 1.0, 1.0] for s in lam1}}
    rows = [{"BatchNorm": False, "lam_rule": rule, "seed": s, "depth": d, "tower_gain": g, "residual": g / 2}
            for rule, per_seed in tables.items() for s, gains in per_seed.items() for d, g in zip(DEPTHS, gains)]
    rows += [{"BatchNorm": True, "lam_rule": "1", "seed": s, "depth": d, "tower_gain": g, "residual": g / 2}
             for s, gains in (bn or {s: [1.3, 3.0, 9.0, 26.0] for s in lam1}).items() for d, g in zip(DEPTHS, gains)]
    return pd.DataFrame(rows)


EXPLODING = {0: [1.2, 40.0, 1e9, math.inf], 1: [1.1, 30.0, 1e8, math.inf], 2: [1.3, 50.0, 1e10, 1e30]}


def order_slopes(order1, order2) -> pd.DataFrame:
    return pd.DataFrame([{"seed": s, "order k": k, "slope": v, "Remark 4.1": k / 2}
                         for k, values in ((1, order1), (2, order2)) for s, v in enumerate(values)])


def totals() -> pd.DataFrame:
    return pd.DataFrame([{"depth": 1000, "gain": 1.23, "gain_min": 1.18, "gain_max": 1.30, "residual": 0.7,
                          "residual_min": 0.6, "residual_max": 0.8, "remark41": 3e13, "random_signs": 0.7}])


# ----------------------------------------------------------------------------- explosion at lambda = 1


def test_explosion_reproduced_when_every_seed_passes_the_threshold_overflow_included():
    outcome, ours, statistic = ce.explosion_rule(growth(EXPLODING))
    assert outcome == "reproduced"
    assert "inf (overflow)" in ours and "n = 10" in ours and "3 of 3" in statistic


def test_explosion_not_reproduced_when_every_seed_stays_bounded():
    flat = {s: [1.1, 1.5, 2.0, 3.0] for s in range(3)}
    assert ce.explosion_rule(growth(flat))[0] == "not reproduced"


@pytest.mark.parametrize("lam1", [
    {0: [1, 40, 1e9, 1e12], 1: [1, 3, 5, 8]},  # the seeds fall on both sides
    {0: [1, 5, 50, 200], 1: [1, 5, 60, 300]},  # between the thresholds
    {0: EXPLODING[0]},  # one seed
    {0: [1, 2, 3, 4]},  # one seed, bounded: still cannot tell
])
def test_explosion_inconclusive(lam1):
    assert ce.explosion_rule(growth(lam1))[0] == "inconclusive"


# ----------------------------------------------------------------------------- the scaled rules


def test_bounded_reproduced_when_both_rules_stay_below_the_bound_at_every_depth():
    outcome, ours, statistic = ce.bounded_rule(growth(EXPLODING))
    assert outcome == "reproduced" and "n = 100: 1.25" in ours and "6 of 6" in statistic


def test_bounded_not_reproduced_when_a_scaled_rule_explodes_in_every_seed():
    sqrt = {s: [1.1, 20.0, 1e3, 1e5] for s in EXPLODING}
    assert ce.bounded_rule(growth(EXPLODING, sqrt=sqrt))[0] == "not reproduced"


@pytest.mark.parametrize("sqrt, lam1", [
    ({0: [1.1, 1.2, 12.0, 1.3], 1: [1.1, 1.2, 1.2, 1.3], 2: [1, 1, 1, 1]}, EXPLODING),  # one peak above 10
    ({0: [1.1, 1.2, 1.2, 1.3]}, {0: EXPLODING[0]}),  # one seed
])
def test_bounded_inconclusive(sqrt, lam1):
    assert ce.bounded_rule(growth(lam1, sqrt=sqrt))[0] == "inconclusive"


# ----------------------------------------------------------------------------- Remark 4.1


def test_remark41_not_reproduced_when_orders_do_not_grow_and_ours_says_where():
    outcome, ours, statistic = ce.remark41_rule(order_slopes([0.02, -0.05, 0.04], [0.03, 0.0, -0.02]), totals())
    assert outcome == "not reproduced"
    assert "Where they disagree" in ours and "below the remark's 0.5" in ours and "random sign" in ours
    assert "3e+13" in ours and "1.23" in ours and "p =" in statistic


def test_remark41_reproduced_when_both_orders_grow_as_counted():
    outcome, ours, _ = ce.remark41_rule(order_slopes([0.48, 0.52, 0.5], [0.97, 1.04, 1.0]), totals())
    assert outcome == "reproduced" and "disagree" not in ours


def test_remark41_partly_reproduced_when_only_one_order_follows_the_count():
    assert ce.remark41_rule(order_slopes([0.48, 0.52, 0.5], [0.02, 0.0, -0.01]), totals())[0] == "partly reproduced"


@pytest.mark.parametrize("order1, order2", [
    ([0.1], [0.2]),  # one seed: no test
    ([-0.5, 1.5, 0.4], [-0.9, 3.0, 0.8]),  # seeds too spread to tell k/2 from 0
])
def test_remark41_inconclusive(order1, order2):
    assert ce.remark41_rule(order_slopes(order1, order2), totals())[0] == "inconclusive"


def test_order_slopes_recover_a_power_law_and_skip_empty_terms():
    orders = pd.DataFrame([{"seed": 0, "depth": n, "order k": k,
                            "relative size": (0.3 * n ** (k / 2)) if n >= k else math.nan}
                           for n in DEPTHS for k in (1, 2)])
    table = ce.order_slopes(orders).set_index("order k")["slope"]
    assert table[1] == pytest.approx(0.5) and table[2] == pytest.approx(1.0)


def test_total_predictions_are_anchored_at_the_smallest_depth_and_diverge_after():
    table = ce.total_predictions(growth(EXPLODING)).set_index("depth")
    first = table.loc[1]
    assert first["remark41"] == pytest.approx(first["residual"])
    assert first["random_signs"] == pytest.approx(first["residual"])
    assert table.loc[1000, "remark41"] > 1e3 * table.loc[1000, "random_signs"]
    assert table.loc[1000, "random_signs"] < 2 * first["residual"]  # random signs: bounded


def test_counts():
    assert ce.coherent_count(100, 2) == pytest.approx(4950 / 100)
    assert ce.incoherent_count(100, 2) == pytest.approx(math.sqrt(4950) / 100)


# ----------------------------------------------------------------------------- measurements and a tiny run


def test_growth_table_matches_output_growth(sample):
    import torch

    from resdepth.data import normalize
    from resdepth.expansion import output_growth

    x = normalize(sample.test_x[:4], sample.mean, sample.std)
    settings = {"depths": [1, 6], "width": 4, "seeds": [1]}
    threads = torch.get_num_threads()
    ours, terms = ce.growth_table(x, settings)
    assert torch.get_num_threads() == threads  # restored after the single-threaded loop
    for batchnorm in (False, True):
        reference = output_growth(x, [1, 6], batchnorm=batchnorm, width=4, seed=1).set_index(["depth", "lam_rule"])
        mine = ours[ours["BatchNorm"] == batchnorm].set_index(["depth", "lam_rule"])
        for key in reference.index:
            assert mine.loc[key, "tower_gain"] == pytest.approx(reference.loc[key, "tower_gain"], rel=1e-6)
            assert mine.loc[key, "logit_norm"] == pytest.approx(reference.loc[key, "logit_norm"], rel=1e-6)
    assert list(terms["depth"]) == [1, 6] and terms.loc[0, "‖M2‖"] == 0 and terms.loc[1, "‖M2‖"] > 0


def test_verdicts_give_one_verdict_per_claim_in_order_on_a_tiny_run():
    settings = resolve_settings(ce.NAME, ce.BUDGETS, "smoke", depths=[1, 3, 8], width=4, images=4)
    results = ce.run(settings, None)
    verdicts = ce.verdicts(results, settings)
    assert [v.claim for v in verdicts] == list(ce.CLAIMS)
    assert all(v.outcome == "inconclusive" for v in verdicts)  # one seed
    assert np.isfinite(results["totals"]["remark41"]).all()
