"""The lesion study's tables and rule, on hand-made lesions (never stored towers)."""

import pandas as pd
import pytest

from resdepth.experiments import lesion_study as les
from resdepth.experiments import resolve

N = 16
LAMS = {"n^-1": 1 / 16, "n^-0.5": 0.25}


def lesions(drop_at, predicted_off=0.0, seeds=(0, 1, 2), lams=LAMS, ks=(1, 2, 4, 8), intact=0.85):
    """Per-deletion rows: at λ rule r, seed s and k blocks deleted, the accuracy falls by
    ``drop_at(r, s, k)`` (two draws, equal); the expansion is off by ``predicted_off``."""
    rows = []
    for rule, lam in lams.items():
        for s in seeds:
            rows.append({"λ": rule, "lam": lam, "seed": s, "k": 0, "draw": 0, "deleted": "", "test_acc": intact,
                         "predicted_acc": intact, "path_share": 1.0})
            for k in ks:
                for draw in range(2):
                    acc = intact - drop_at(rule, s, k)
                    rows.append({"λ": rule, "lam": lam, "seed": s, "k": k, "draw": draw, "deleted": "0",
                                 "test_acc": acc, "predicted_acc": acc + predicted_off, "path_share": 1 - k / 20})
    return pd.DataFrame(rows)


def verdict(table, **kw):
    return les.rule_ensemble(les.drop_table(table), {"profile": "book", **kw}, "hand-made", depth=N)


GRACEFUL = lambda r, s, k: 0.01 * k + 0.002 * s  # noqa: E731  1 point per block: 8 blocks keep most of the margin


def test_drop_and_summary_tables_average_draws_then_seeds():
    drops = les.drop_table(lesions(GRACEFUL))
    row = drops[(drops["λ"] == "n^-0.5") & (drops["seed"] == 1) & (drops["k"] == 4)].iloc[0]
    assert row["drop"] == pytest.approx(0.042) and row["intact_acc"] == 0.85 and row["prediction_error"] == 0
    summary = les.summary_table(drops).set_index(["λ", "k"])
    assert summary.loc[("n^-0.5", 1), "drop"] == pytest.approx(0.012) and summary.loc[("n^-0.5", 1), "seeds"] == 3
    assert summary.loc[("n^-0.5", 1), "drop_se"] == pytest.approx(0.002 / 3**0.5)


def test_reproduced_when_graceful_and_predicted():
    v = verdict(lesions(GRACEFUL, predicted_off=0.01))
    assert v.outcome == "reproduced" and "at λ = n^-0.5" in v.ours and not v.missing


def test_partly_when_graceful_but_the_expansion_misses():
    v = verdict(lesions(GRACEFUL, predicted_off=0.10))
    assert v.outcome == "partly reproduced" and "expansion off by 10.00 points" in v.ours


def test_not_reproduced_at_a_cliff():
    cliff = lambda r, s, k: min(0.75, 0.4 + 0.01 * s + 0.05 * k)  # noqa: E731  one block costs 45 points
    assert verdict(lesions(cliff)).outcome == "not reproduced"


def test_inconclusive_between_the_thresholds_with_wide_seeds_or_one_seed():
    middle = lambda r, s, k: [0.02, 0.10, 0.06][s] * k  # noqa: E731  one block: 2 to 10 points, interval straddles 5
    assert verdict(lesions(middle)).outcome == "inconclusive"
    assert verdict(lesions(GRACEFUL, seeds=(0,))).outcome == "inconclusive"


def test_a_collapse_at_the_largest_k_is_not_graceful():
    collapse = lambda r, s, k: 0.01 + 0.001 * s if k == 1 else 0.70  # noqa: E731  8 blocks: near chance
    assert verdict(lesions(collapse)).outcome == "inconclusive"


def test_capped_where_one_over_sqrt_n_is_missing_and_not_run_without_towers():
    only_small = lesions(GRACEFUL, lams={"n^-1": 1 / 16})
    v = verdict(only_small)
    assert v.outcome == "partly reproduced" and "n^-0.5" in v.missing and "at λ = n^-1" in v.ours
    empty = les.rule_ensemble(pd.DataFrame(), {"profile": "book"}, "hand-made", depth=N)
    assert empty.outcome == "not run" and "no λ-sweep tower" in empty.ours


def test_book_reads_the_lambda_sweeps_second_budget_and_never_trains():
    book = resolve(les.NAME, "book")
    assert book["sweep_budget"] == "book" and book["train_missing"] is False and les.configs(book) == []
    swept = les.sweep_settings(book)
    assert swept["save_weights"] and swept["depth"] == N and len(swept["seeds"]) >= 3
    assert max(book["ks"]) <= swept["depth"] // 2


# ----------------------------------------------------------------------------- Corollary B.0.1, trained


SEVEN = {"0": 0.0, "n^-2": 16**-2, "n^-1.5": 16**-1.5, "n^-1.2": 16**-1.2, "n^-1": 1 / 16, "n^-0.8": 16**-0.8,
         "n^-0.5": 0.25}


def complexity(exact_of, coefficient_of, seeds=(0, 1, 2), lams=SEVEN):
    """One row per tower: ``exact_of(i, s)`` and ``coefficient_of(i, s)`` by λ index and seed."""
    rows = []
    for i, (rule, lam) in enumerate(lams.items()):
        for s in seeds:
            exact, coefficient = exact_of(i, s), coefficient_of(i, s)
            first = 50 + lam * coefficient
            rows.append({"λ": rule, "lam": lam, "seed": s, "base": 50.0, "coefficient": coefficient,
                         "first_order": first, "exact": exact, "relative_error": abs(exact - first) / exact})
    return pd.DataFrame(rows)


HUMP = lambda i, s: [50, 55, 60, 70, 65, 60, 55][i] + 0.5 * s  # noqa: E731  peak at n^-1.2, falls after


def first_order(table, **kw):
    return les.rule_first_order_trained(table, {"profile": "book"}, "hand-made", depth=N)


def test_first_order_reproduced_when_negative_wherever_complexity_falls():
    v = first_order(complexity(HUMP, lambda i, s: -20 - 2 * s if i >= 3 else 10 + s))
    assert v.outcome == "reproduced" and "peaks at λ = n^-1.2" in v.ours and "λ = n^-0.5: coefficient" in v.statistic
    assert not v.missing


def test_first_order_not_reproduced_when_positive_wherever_complexity_falls():
    assert first_order(complexity(HUMP, lambda i, s: 15 + s)).outcome == "not reproduced"


def test_first_order_inconclusive_with_mixed_signs_no_fall_or_one_seed():
    mixed = complexity(HUMP, lambda i, s: -20 - s if i in (4, 5) else 15 + s)
    assert first_order(mixed).outcome == "inconclusive"
    rising = first_order(complexity(lambda i, s: 50 + 5 * i + s, lambda i, s: -10 - s))
    assert rising.outcome == "inconclusive" and "no λ past the peak" in rising.ours
    assert first_order(complexity(HUMP, lambda i, s: -20 - s, seeds=(0,))).outcome == "inconclusive"


def test_first_order_capped_without_one_over_sqrt_n_and_not_run_without_towers():
    six = dict(list(SEVEN.items())[:6])
    v = first_order(complexity(HUMP, lambda i, s: -20 - 2 * s if i >= 3 else 10 + s, lams=six))
    assert v.outcome == "partly reproduced" and "n^-0.5" in v.missing
    assert first_order(pd.DataFrame()).outcome == "not run"
