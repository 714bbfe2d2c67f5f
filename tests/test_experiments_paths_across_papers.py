"""The synthesis chapter's measurements and rules, on hand-made results."""

import math

import numpy as np
import pandas as pd
import pytest

from resdepth.pathlength import chain_distribution
from resdepth.experiments import paths_across_papers as pap
from resdepth.verdict import OUTCOMES


def exponents(values, independent=0.04, coherent=0.58):
    return {"per_seed": dict(enumerate(values)), "independent": independent, "coherent": coherent}


def match_table(p_closer, p_farther, seeds=None):
    """A ``tower_match_table`` frame with the given Monte Carlo p-values, one row per net."""
    n = len(p_closer)
    seeds = seeds or [0] * n
    return pd.DataFrame({"seed": seeds, "ω": [0.01 * (i + 1) for i in range(n)], "NAPL": np.linspace(2, 12, n),
                         "std": 1.5, "matched": True, "tower λ (same mean)": 0.5, "tower std": 1.5,
                         "TV": np.linspace(0.01, 0.1, n), "null draws": 999, "null TV (median)": 0.05,
                         "null std (median)": 1.6, "p closer": p_closer, "p farther": p_farther})


def width_table(diffs: dict):
    """{seed: [std differences per omega]} -> a matched ``tower_match_table`` frame."""
    rows = []
    for seed, values in diffs.items():
        for i, d in enumerate(values):
            rows.append({"seed": seed, "ω": [0.01, 0.1, 1.0][i], "NAPL": 5.0, "std": 1.5 + d, "matched": True,
                         "tower std": 1.5, "TV": 0.03})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- part 1


def test_growth_exponents_recover_powers_of_n():
    n = np.array([4, 8, 16, 32])
    rows = [{"n": k, "seed": s, "measured": 0.3 * k ** (0.2 + 0.01 * s), "coherent paths": (k - 1) / (2 * math.sqrt(k)),
             "independent paths": math.sqrt((k - 1) / (2 * k))} for s in range(3) for k in n]
    got = pap.growth_exponents(pd.DataFrame(rows))
    assert got["per_seed"][0] == pytest.approx(0.2)
    assert got["per_seed"][2] == pytest.approx(0.22)
    assert 0 < got["independent"] < 0.1 and 0.5 < got["coherent"] < 0.7  # finite-n references, not 0 and 0.5


def test_coherence_table_of_tiny_towers():
    table = pap.coherence_table({"depths": [2, 4], "width": 4, "images": 2, "seeds": [0, 1]})
    assert len(table) == 4 and (table["measured"] > 0).all()
    four = table[table["n"] == 4].iloc[0]  # lam = 1/2: coherent 3/4, independent sqrt(3/2)/2
    assert four["coherent paths"] == pytest.approx(0.75)
    assert four["independent paths"] == pytest.approx(0.6124, abs=1e-4)
    assert table.groupby("seed")["measured"].nunique().eq(2).all()  # a ratio per depth and seed


def test_coherence_rule_reproduced_below_the_midpoint():
    outcome, ours, statistic = pap.coherence_rule(exponents([0.14, 0.15, 0.17]))
    assert outcome == "reproduced"
    assert "faster than independent" in ours and "3 seed(s)" in statistic


def test_coherence_rule_not_reproduced_above_the_midpoint():
    assert pap.coherence_rule(exponents([0.52, 0.55, 0.57]))[0] == "not reproduced"


def test_coherence_rule_inconclusive_when_the_interval_straddles_or_one_seed():
    assert pap.coherence_rule(exponents([0.05, 0.55, 0.3]))[0] == "inconclusive"
    assert pap.coherence_rule(exponents([0.1]))[0] == "inconclusive"


# ----------------------------------------------------------------------------- part 2


def test_depth_rule_reproduced_on_the_traced_tower():
    table = pap.depth_notions()
    assert table["walk mean (NAPL)"].to_numpy() == pytest.approx(1 + pap.MIX_DEPTH / 2)
    sqrt_row = table[table["λ"] == "1/sqrt(n)"].iloc[0]
    assert sqrt_row["expansion mean"] == pytest.approx(1 + 16 * 0.25 / 1.25)
    assert pap.depth_rule(table)[0] == "reproduced"


def test_depth_rule_not_reproduced_when_the_walk_moves_or_means_agree_elsewhere():
    table = pap.depth_notions()
    moved = table.copy()
    moved.loc[0, "walk TV to λ=1"] = 0.2
    assert pap.depth_rule(moved)[0] == "not reproduced"
    agree = table.copy()
    agree.loc[agree["λ"] == "1/n", "expansion mean"] = agree["walk mean (NAPL)"].iloc[0]
    assert pap.depth_rule(agree)[0] == "not reproduced"


# ----------------------------------------------------------------------------- part 3: the null


def test_poisson_binomial_many_matches_the_single_version():
    rng = np.random.default_rng(1)
    fractions = rng.uniform(size=(5, 7))
    many = pap.poisson_binomial_many(fractions)
    for row, dist in zip(fractions, many):
        assert dist == pytest.approx(chain_distribution(row))
    assert chain_distribution([0.5, 0.5]) == pytest.approx([0.25, 0.5, 0.25])


@pytest.mark.parametrize("total", [2.5, 11.0, 18.0])
def test_random_fractions_lie_in_the_unit_cube_with_the_given_sum(total):
    p = pap.random_fractions(22, total, 300, np.random.default_rng(0), batch=20_000)
    assert len(p) == 300
    assert p.sum(axis=1) == pytest.approx(np.full(300, total))
    assert (p >= 0).all() and (p <= 1).all()
    assert p.std(axis=0).min() > 0.05  # spread, not one point


def test_tower_mix_of_mean_has_that_mean():
    lam, mix = pap.tower_mix_of_mean(5.0)
    assert np.dot(np.arange(len(mix)), mix) == pytest.approx(5.0)
    lam, mix = pap.tower_mix_of_mean(0.9)  # below the stem's one unit: no tower has that mean
    assert math.isnan(lam) and mix is None


def test_holm_rejects_in_order():
    assert pap.holm([0.001, 0.04, 0.03]).tolist() == [True, False, False]  # 0.03 > 0.05 / 2: stop
    assert pap.holm([0.01, 0.02, 0.03]).tolist() == [True, True, True]
    assert pap.holm([0.5, 0.001]).tolist() == [False, True]


def test_tower_match_rule_outcomes():
    assert pap.tower_match_rule(match_table([0.001] * 4, [0.99] * 4))[0] == "reproduced"
    assert pap.tower_match_rule(match_table([0.001, 0.5, 0.5, 0.5], [0.99, 0.5, 0.5, 0.5]))[0] == "partly reproduced"
    assert pap.tower_match_rule(match_table([0.99] * 4, [0.001] * 4))[0] == "not reproduced"
    assert pap.tower_match_rule(match_table([0.3, 0.6], [0.7, 0.4]))[0] == "inconclusive"
    no_null = match_table([0.3], [0.7])
    no_null["p closer"] = np.nan
    assert pap.tower_match_rule(no_null)[0] == "inconclusive"


def test_tower_width_rule_outcomes():
    assert pap.tower_width_rule(width_table({0: [0.1, 0.2, 0.15], 1: [0.12, 0.18, 0.16], 2: [0.1, 0.2, 0.2]}))[0] \
        == "reproduced"
    assert pap.tower_width_rule(width_table({0: [-0.1, -0.2, -0.15], 1: [-0.12, -0.18, -0.16],
                                             2: [-0.1, -0.2, -0.2]}))[0] == "not reproduced"
    assert pap.tower_width_rule(width_table({0: [0.1, 0.2, 0.15], 1: [-0.1, -0.2, -0.15]}))[0] == "inconclusive"
    assert pap.tower_width_rule(width_table({0: [0.1, 0.2, 0.15]}))[0] == "inconclusive"  # one seed


def test_tower_width_rule_averages_only_the_common_omegas():
    table = width_table({0: [0.1, 0.1, 0.1], 1: [0.1, 0.1]})  # seed 1 lacks omega 1.0
    table.loc[(table["seed"] == 0) & (table["ω"] == 1.0), "std"] = 100.0  # would dominate if averaged
    _, ours, statistic = pap.tower_width_rule(table)
    assert "2 common ω" in statistic and "+0.100" in ours


# ----------------------------------------------------------------------------- verdicts


def hand_made_results(missing=0):
    return {"exponents": exponents([0.14, 0.15, 0.17]), "depth_notions": pap.depth_notions(),
            "matches": pd.concat([match_table([0.001] * 3, [0.99] * 3, seeds=[0, 0, 0]),
                                  match_table([0.001] * 3, [0.99] * 3, seeds=[1, 1, 1])], ignore_index=True),
            "post_configs": 16, "post_missing": missing, "budget_towers": "hand-made", "budget_linearized": "hand-made"}


def test_verdicts_one_per_claim_in_order():
    verdicts = pap.verdicts(hand_made_results(), {"profile": "book"})
    assert [v.claim for v in verdicts] == list(pap.CLAIMS)
    assert all(v.outcome in OUTCOMES for v in verdicts)
    assert [v.outcome for v in verdicts[:3]] == ["reproduced"] * 3


def test_verdicts_not_run_when_stored_runs_are_missing():
    verdicts = pap.verdicts(hand_made_results(missing=3), {"profile": "smoke"})
    assert [v.outcome for v in verdicts[2:]] == ["not run", "not run"]
    assert "3 of 16" in verdicts[2].ours and "never trains" in verdicts[2].ours


def test_run_never_trains_and_reports_missing_runs(tmp_path):
    from resdepth.experiments import resolve
    from resdepth.store import Store

    settings = resolve(pap.NAME, "smoke")
    results = pap.run(settings, Store(tmp_path, profile="smoke"))
    assert results["post_missing"] == results["post_configs"] > 0
    assert not any(tmp_path.rglob("*.json"))  # nothing was trained or stored
    verdicts = pap.verdicts(results, settings)
    assert [v.claim for v in verdicts] == list(pap.CLAIMS)
