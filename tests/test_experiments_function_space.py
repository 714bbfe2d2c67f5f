"""The function-space chapter's measurements and rules, on hand-made results."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from resdepth.experiments import function_space as fs
from resdepth.verdict import OUTCOMES


def slopes_frame(values: dict) -> pd.DataFrame:
    """{seed: (gelu slope, tanh slope)} -> the frame ``fitted_slopes`` returns."""
    rows = []
    for seed, (gelu, tanh) in values.items():
        rows.append({"activation": "GELU, β=0", "seed": seed, "slope": gelu, "points": 9})
        rows.append({"activation": "tanh, β=0", "seed": seed, "slope": tanh, "points": 9})
    return pd.DataFrame(rows)


def relu_frame(seeds, bound=1.0, below_error=1e-15, above_error=1e-1, eps=(1e-3, 1e-1, 0.5, 2.0, 10.0)):
    """The frame ``relu_table`` returns, with the given errors below and above the bound."""
    rows = []
    for seed in seeds:
        for e in eps:
            rows.append({"activation": fs.RELU, "seed": seed, "ε": e,
                         "error": below_error if e <= bound else above_error})
    return fs.relu_table(pd.DataFrame(rows), bound)


def params_frame(a2_cifar=0.0321, a2_imagenet=0.0305) -> pd.DataFrame:
    rows = [{"net": fs.PAPER_NETS[0], "weights": 24_231_844, "slopes (channel-wise)": 7808, "slopes (layer-wise)": 22,
             "extra parameters (%)": a2_cifar},
            {"net": fs.PAPER_NETS[1], "weights": 25_499_944, "slopes (channel-wise)": 7808, "slopes (layer-wise)": 22,
             "extra parameters (%)": a2_imagenet},
            {"net": "ResNet-56, CIFAR-100", "weights": 858_868, "slopes (channel-wise)": 2032,
             "slopes (layer-wise)": 55, "extra parameters (%)": 0.23}]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- measurements


def test_fitted_slopes_recover_the_power_of_eps_and_ignore_large_eps():
    eps = np.logspace(-5, 2, 15)
    rows = [{"activation": "GELU, β=0", "seed": 0, "ε": e, "error": 3.0 * e} for e in eps]
    rows += [{"activation": "tanh, β=0", "seed": 0, "ε": e, "error": 0.2 * e**2 if e <= 0.1 else 1.0} for e in eps]
    slopes = fs.fitted_slopes(pd.DataFrame(rows)).set_index("activation")["slope"]
    assert slopes["GELU, β=0"] == pytest.approx(1.0)
    assert slopes["tanh, β=0"] == pytest.approx(2.0)  # the plateau above eps = 0.1 is left out of the fit


def test_relu_bound_is_offset_over_the_most_negative_input():
    x = torch.tensor([[0.5, -0.25], [-0.5, 1.0]], dtype=torch.float64)
    assert fs.relu_bound(x) == pytest.approx(2.0)
    assert fs.relu_bound(torch.ones(2, 2)) == math.inf


def test_relu_tolerance_grows_as_eps_falls():
    tol = fs.relu_tolerance([1e-5, 1.0])
    assert tol[0] > 1e4 * tol[1] / 2 and tol[0] < 1e-8


def test_error_table_of_a_small_layer_follows_proposition_1():
    settings = {"dim": 4, "seeds": [0, 1], "images": 4, "eps_min": 1e-4, "eps_max": 10.0, "eps_points": 6}
    x = torch.linspace(-1, 1, 16, dtype=torch.float64).reshape(4, 4)
    errors = fs.error_table(x, settings)
    slopes = fs.fitted_slopes(errors)
    outcome, _, _ = fs.slope_rule(slopes)
    assert outcome == "reproduced"
    relu = fs.relu_table(errors, fs.relu_bound(x))
    assert fs.relu_rule(relu, fs.relu_bound(x))[0] == "reproduced"


# ----------------------------------------------------------------------------- slope rule


def test_slope_rule_reproduced_when_every_seed_has_both_orders():
    outcome, ours, statistic = fs.slope_rule(slopes_frame({0: (1.0, 2.0), 1: (0.97, 2.05), 2: (1.02, 1.95)}))
    assert outcome == "reproduced"
    assert "GELU" in ours and "3 seed(s)" in statistic


def test_slope_rule_not_reproduced_when_no_seed_has_the_orders():
    assert fs.slope_rule(slopes_frame({0: (0.5, 2.0), 1: (0.5, 2.0)}))[0] == "not reproduced"
    assert fs.slope_rule(slopes_frame({0: (1.0, 1.0)}))[0] == "not reproduced"  # tanh at order 1, not 2


def test_slope_rule_inconclusive_when_seeds_disagree_or_no_slope():
    assert fs.slope_rule(slopes_frame({0: (1.0, 2.0), 1: (1.3, 2.0)}))[0] == "inconclusive"
    assert fs.slope_rule(pd.DataFrame(columns=["activation", "seed", "slope", "points"]))[0] == "inconclusive"


# ----------------------------------------------------------------------------- ReLU rule


def test_relu_rule_reproduced_exact_below_and_inexact_above():
    outcome, ours, _ = fs.relu_rule(relu_frame([0, 1]), 1.0)
    assert outcome == "reproduced"
    assert "1e-15" in ours.replace("1.0e-15", "1e-15")


def test_relu_rule_not_reproduced_when_inexact_below_or_exact_above():
    assert fs.relu_rule(relu_frame([0, 1], below_error=1e-3), 1.0)[0] == "not reproduced"
    assert fs.relu_rule(relu_frame([0], above_error=0.0), 1.0)[0] == "not reproduced"


def test_relu_rule_inconclusive_when_seeds_disagree_or_grid_misses_one_side():
    mixed = pd.concat([relu_frame([0]), relu_frame([1], below_error=1e-3)])
    assert fs.relu_rule(mixed, 1.0)[0] == "inconclusive"
    assert fs.relu_rule(relu_frame([0], bound=100.0), 100.0)[0] == "inconclusive"  # no eps above the bound


# ----------------------------------------------------------------------------- overhead rule


def test_overhead_rule_outcomes():
    assert fs.overhead_rule(params_frame())[0] == "reproduced"
    assert fs.overhead_rule(params_frame(0.3, 0.25))[0] == "not reproduced"
    assert fs.overhead_rule(params_frame(0.035, 0.041))[0] == "partly reproduced"
    assert fs.overhead_rule(params_frame().iloc[2:])[0] == "not run"


# ----------------------------------------------------------------------------- verdicts


def hand_made_results(**changes):
    results = {"slopes": slopes_frame({0: (1.0, 2.0), 1: (1.0, 2.0)}), "relu": relu_frame([0, 1]), "relu_bound": 1.0,
               "params": params_frame(), "budget": "hand-made"}
    results.update(changes)
    return results


def test_verdicts_one_per_claim_in_order():
    verdicts = fs.verdicts(hand_made_results(), {})
    assert [v.claim for v in verdicts] == list(fs.CLAIMS)
    assert [v.outcome for v in verdicts] == ["reproduced", "reproduced"]
    assert all(v.outcome in OUTCOMES and v.statistic and v.rule for v in verdicts)


def test_prop1_verdict_combines_its_parts():
    verdicts = fs.verdicts(hand_made_results(relu=relu_frame([0, 1], below_error=1e-3)), {})
    assert verdicts[0].outcome == "partly reproduced"  # smooth orders hold, ReLU exactness does not


def test_parameter_table_counts_one_slope_per_channel():
    table = fs.parameter_table().set_index("net")
    a2 = table.loc[fs.PAPER_NETS[0]]
    assert a2["slopes (layer-wise)"] < a2["slopes (channel-wise)"]
    extra = a2["slopes (channel-wise)"] - a2["slopes (layer-wise)"]
    expected = 100 * extra / (a2["weights"] + a2["slopes (layer-wise)"])
    assert a2["extra parameters (%)"] == pytest.approx(expected, abs=1e-4)
