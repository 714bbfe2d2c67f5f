import math

import numpy as np
import pandas as pd
import pytest
import torch

from resdepth.experiments import path_lengths as pl
from resdepth.experiments import resolve
from resdepth.linearize import linearizable, nonlinear_fractions
from resdepth.models import build_model
from resdepth.pathlength import binomial_like, chain_distribution, path_length_distribution, total_variation


@pytest.fixture(scope="module")
def plain_net():
    """A fused RepVGG-A0 at 1/8 width with channel-wise PReLUs: a chain of 22 activation layers."""
    model = build_model("repvgg_a0", 1, 10, width_scale=0.125).eval()
    return linearizable(model, torch.zeros(1, 1, 28, 28), "channel")


@pytest.fixture(scope="module")
def names(plain_net):
    return list(nonlinear_fractions(plain_net))


# ----------------------------------------------------------------------------- distributions and the null


def test_chain_distribution_is_what_path_length_distribution_gives_on_a_plain_net(plain_net, names):
    p = np.random.default_rng(0).uniform(size=len(names))
    traced = path_length_distribution(plain_net, dict(zip(names, p)))
    assert np.allclose(chain_distribution(p), traced)
    assert pl.distribution_function(plain_net, names) is chain_distribution


def test_distribution_function_traces_a_net_with_skips():
    net = linearizable(build_model("resnet20", 1, 10).eval(), torch.zeros(1, 1, 28, 28), "channel")
    names = list(nonlinear_fractions(net))
    dist_of = pl.distribution_function(net, names)
    assert dist_of is not chain_distribution
    p = np.full(len(names), 0.5)
    assert np.allclose(dist_of(p), path_length_distribution(net, dict(zip(names, p))))


def test_scale_to_napl_hits_the_target_and_clips_at_one():
    u = np.random.default_rng(0).uniform(size=(50, 10))
    weights = np.ones(10)
    for target in (0.5, 4.0, 9.5):
        scaled = pl.scale_to_napl(u, weights, target)
        assert np.allclose(scaled @ weights, target) and scaled.max() <= 1.0 and scaled.min() > 0
    assert np.all(pl.scale_to_napl(u, weights, 12.0) == 1.0)  # beyond full depth: every unit nonlinear


def test_std_length_is_zero_for_one_length_and_the_binomial_spread_otherwise():
    assert pl.std_length(np.array([0, 0, 1.0])) == 0.0
    assert pl.std_length(chain_distribution([0.5] * 4)) == pytest.approx(1.0)  # sqrt(4 * 0.25)


def test_the_null_separates_a_binomial_net_from_a_lopsided_one(plain_net, names):
    n = len(names)
    binomial = {k: 0.3 for k in names}  # equal fractions: exactly binomial, TV 0
    lopsided = {k: (1.0 if i < 3 else 0.05) for i, k in enumerate(names)}  # three nonlinear layers, rest nearly linear
    for fractions, closer in ((binomial, True), (lopsided, False)):
        dist = path_length_distribution(plain_net, fractions)
        tv = total_variation(dist, binomial_like(dist))
        null = pl.null_tvs(plain_net, fractions, 300, 0)
        p = (1 + np.sum(null <= tv)) / 301
        assert (p < 0.05) == closer, (tv, np.quantile(null, [0.05, 0.5]))
    assert np.array_equal(pl.null_tvs(plain_net, binomial, 20, 3), pl.null_tvs(plain_net, binomial, 20, 3))
    assert n == 22


# ----------------------------------------------------------------------------- rules on hand-made summaries


def summary(rows):
    """rows: (granularity, std, null p or nan); every net interior, tested = channel-wise with a spread."""
    df = pd.DataFrame([{"net": f"{g} {i}", "seed": 0, "granularity": g, "omega": 1.0, "NAPL": 3.0 + i, "std": s,
                        "longest": 20, "TV to binomial": 0.05, "null 5%": 0.02, "null median": 0.04, "null p": p,
                        "interior": True, "tested": g == "channel" and s > pl.SPREAD_TOL}
                       for i, (g, s, p) in enumerate(rows)])
    df["std / NAPL"] = df["std"] / df["NAPL"]
    return df


def test_variable_depth_rule_outcomes():
    layer = [("layer", 0.0, math.nan), ("layer", 1e-15, math.nan)]
    assert pl.variable_depth_rule(summary([("channel", 1.5, 0.5), ("channel", 0.8, 0.5)] + layer))[0] == "reproduced"
    assert pl.variable_depth_rule(summary([("channel", 1.5, 0.5), ("channel", 0.0, 0.5)] + layer))[0] == \
        "partly reproduced"
    assert pl.variable_depth_rule(summary([("channel", 0.0, 0.5)] + layer))[0] == "not reproduced"
    assert pl.variable_depth_rule(summary([("channel", 1.5, 0.5), ("layer", 0.7, math.nan)]))[0] == "not reproduced"
    assert pl.variable_depth_rule(summary([("channel", 1.5, 0.5)]))[0] == "not run"


def test_binomial_rule_outcomes():
    layer = [("layer", 0.0, math.nan)]
    assert pl.binomial_rule(summary([("channel", 1.0, 0.001), ("channel", 1.0, 0.02)] + layer))[0] == "reproduced"
    assert pl.binomial_rule(summary([("channel", 1.0, 0.001), ("channel", 1.0, 0.6)] + layer))[0] == "inconclusive"
    assert pl.binomial_rule(summary([("channel", 1.0, 0.3), ("channel", 1.0, 0.999)] + layer))[0] == "not reproduced"
    assert pl.binomial_rule(summary([("channel", 0.0, math.nan)] + layer))[0] == "not run"


def test_verdicts_give_one_verdict_per_claim_with_the_nets_counted():
    settings = resolve(pl.NAME, "book")
    lin_settings = resolve("linearization_napl", "book")
    rows = summary([("channel", 1.5, 0.001), ("channel", 1.2, 0.7), ("layer", 0.0, math.nan)])
    verdicts = pl.verdicts(pl.Results(rows, "hand-made", lin_settings=lin_settings), settings)
    assert [v.claim for v in verdicts] == list(pl.CLAIMS)
    depth, binomial = verdicts
    assert depth.outcome == "partly reproduced" and "2 of 2 nets have a spread" in depth.ours  # capped by the budget
    assert binomial.outcome == "inconclusive" and "in 1 of 2 channel-wise nets" in binomial.ours
    assert "1000 null draws" in binomial.statistic and "RepVGG-A2 at full width" in binomial.missing
