"""The geometric-complexity chapter's rules on hand-made slopes, coefficients and embedding checks,
its tables on hand-made complexities, and one verdict per claim on a tiny run."""

import numpy as np
import pandas as pd
import pytest

from resdepth.experiments import geometric_complexity as gcx
from resdepth.experiments.common import resolve_settings

COLUMN = f"slope (λ ≤ {gcx.FIT_LAM_MAX:g})"


def slopes(**by_activation) -> pd.DataFrame:
    return pd.DataFrame([{"activation": a, "seed": s, COLUMN: v, "points": 6}
                         for a, values in by_activation.items() for s, v in enumerate(values)])


def coefficients(*rows) -> pd.DataFrame:
    """rows: (activation, seed, coefficient, exact at the smallest lam); base 0.2, smallest lam 1e-3."""
    return pd.DataFrame([{"activation": a, "seed": s, "⟨M0, D⟩_G": 0.2, "2·mean Tr(AᵀB)": c, "smallest λ": 1e-3,
                          "exact at smallest λ": e, "simpler than λ = 0": e < 0.2} for a, s, c, e in rows])


def embedding(*diffs) -> pd.DataFrame:
    return pd.DataFrame([{"seed": 0, "depth n": 2 + i, "BatchNorm": bool(i % 2), "max_abs_diff": d,
                          "loss_deep": 2.0 + d, "loss_shallow": 2.0} for i, d in enumerate(diffs)])


# ----------------------------------------------------------------------------- first order


def test_first_order_reproduced_when_every_gelu_seed_is_near_two_whatever_relu_does():
    outcome, ours, statistic = gcx.first_order_rule(slopes(gelu=[1.99, 2.0, 2.05], relu=[1.5, 2.0, 2.6]))
    assert outcome == "reproduced" and "3 of 3" in statistic and "not all within" in ours


def test_first_order_not_reproduced_when_the_error_is_first_order_in_every_seed():
    assert gcx.first_order_rule(slopes(gelu=[1.0, 1.02, 0.98]))[0] == "not reproduced"


@pytest.mark.parametrize("values", [[2.0, 1.5, 2.0], [2.0], [3.0, 3.0], [2.0, 2.11]])
def test_first_order_inconclusive(values):
    # seeds disagree; one seed; third order (second-order term vanished); just above the tolerance
    assert gcx.first_order_rule(slopes(gelu=values, relu=[2.0] * len(values)))[0] == "inconclusive"


def test_error_slopes_fit_only_the_small_lambdas():
    lams = np.logspace(-3, 0, 10)
    gc = pd.DataFrame({"activation": "gelu", "seed": 0, "λ": lams, "relative error": 0.5 * lams**2 + 20 * lams**4})
    table = gcx.error_slopes(gc)
    assert table.loc[0, COLUMN] == pytest.approx(2, abs=0.03) and table.loc[0, "points"] == 6
    assert gcx.error_slopes(gc, lam_max=1.0).loc[0, "slope (λ ≤ 1)"] > 2.2


# ----------------------------------------------------------------------------- negative first-order term


def test_negative_reproduced_by_one_tower_that_gets_simpler():
    outcome, ours, statistic = gcx.negative_rule(coefficients(("gelu", 0, 0.1, 0.2001), ("gelu", 1, -0.17, 0.19983),
                                                              ("relu", 1, -0.02, 0.19998)))
    assert outcome == "reproduced"
    assert "2 of 3" in ours and "-0.17 (gelu, seed 1)" in ours and "2 of 3" in statistic


@pytest.mark.parametrize("rows", [
    [("gelu", 0, 0.1, 0.2001), ("relu", 0, 0.05, 0.20005)],  # no negative coefficient
    [("gelu", 0, -1e-9, 0.2000001)],  # negative, but the exact complexity did not fall
])
def test_negative_inconclusive(rows):
    assert gcx.negative_rule(coefficients(*rows))[0] == "inconclusive"


def test_coefficient_table_reads_the_smallest_lambda():
    gc = pd.DataFrame([{"activation": "gelu", "seed": 0, "λ": lam, "exact": 0.2 - 0.1 * lam + lam**2,
                        "base": 0.2, "slope": -0.1} for lam in (1.0, 0.01, 0.001)])
    row = gcx.coefficient_table(gc).iloc[0]
    assert row["smallest λ"] == 0.001 and row["simpler than λ = 0"]


# ----------------------------------------------------------------------------- Appendix C


def test_embedding_reproduced_only_when_bit_identical():
    assert gcx.embedding_rule(embedding(0.0, 0.0, 0.0, 0.0))[0] == "reproduced"
    outcome, ours, statistic = gcx.embedding_rule(embedding(0.0, 1e-7, 0.0, 0.0))
    assert outcome == "not reproduced" and "1.0e-07" in ours and "3 of 4" in statistic


# ----------------------------------------------------------------------------- a tiny run


def test_verdicts_give_one_verdict_per_claim_in_order_on_a_tiny_run():
    settings = resolve_settings(gcx.NAME, gcx.BUDGETS, "smoke", depth=2, width=4, images=2, lam_points=3)
    results = gcx.run(settings, None)
    verdicts = gcx.verdicts(results, settings)
    assert [v.claim for v in verdicts] == list(gcx.CLAIMS)
    assert verdicts[0].outcome == "inconclusive"  # one seed
    assert verdicts[2].outcome == "reproduced"  # the embedding is exact
    assert len(results["embedding"]) == 2  # n in {2, depth} = {2}, with and without BN
