"""Table 1's cells and verdict rules, on hand-made runs (never the stored ones), and its grid."""

import math

import pytest

from resdepth.experiments import resolve
from resdepth.experiments import table1_depth_scaling as t1
from resdepth.experiments.common import format_cell

ROWS = {"BN": t1.BN, "free": t1.BN_FREE, "n": t1.BY_N, "sqrt": t1.BY_SQRT}
LRS = [2**-8, 2**-6, 2**-4, 2**-2]


def record(row, depth, lr, seed, acc, status="ok", curve=None):
    """A stored-run record as the store returns it, reduced to the fields the chapter reads;
    ``curve`` is its test accuracies at steps 100, 200, ... (default: ``acc`` at steps 100 and 200)."""
    curve = curve or [acc, acc]
    return {"config": {"model_args": {"depth": depth, **t1.TABLE1_ROWS[row]}, "lr": lr, "seed": seed},
            "status": status, "steps_done": 937 if status == "ok" else 50,
            "reason": None if status == "ok" else "non-finite training loss by step 50",
            "best": {"test_acc": acc} if status == "ok" else None,
            "history": [{"step": 100 * (i + 1), "test_acc": a} for i, a in enumerate(curve)] if status == "ok" else []}


def tables(records, lrs=LRS):
    runs = t1.run_table(records, t1.row_of)
    return runs, t1.mark_edges(t1.best_over_lr(runs), {"lrs": lrs})


def settings(depths=(10, 100), seeds=(0, 1), lrs=LRS):
    return {"depths": list(depths), "seeds": list(seeds), "lrs": list(lrs)}


def grid(row, depths, seeds, acc_of, lrs=LRS):
    """Runs of one row: ``acc_of(depth, lr, seed)`` gives the best accuracy, or None for a divergence."""
    out = []
    for d in depths:
        for lr in lrs:
            for s in seeds:
                acc = acc_of(d, lr, s)
                status = "ok" if acc is not None else "diverged"
                out.append(record(row, d, lr, s, acc if acc is not None else 0.0, status))
    return out


# ----------------------------------------------------------------------------- cells (moved from test_analysis.py)


def test_best_over_lr_takes_the_best_mean_and_its_standard_error():
    records = [record(t1.BN, 10, 0.1, 0, 0.80), record(t1.BN, 10, 0.1, 1, 0.84),
               record(t1.BN, 10, 0.5, 0, 0.90), record(t1.BN, 10, 0.5, 1, 0.70),  # mean 0.80 < 0.82
               record(t1.BN, 10, 1.0, 0, 0.99), record(t1.BN, 10, 1.0, 1, 0.0, status="diverged")]  # excluded
    (cell,) = t1.best_over_lr(t1.run_table(records, t1.row_of)).to_dict("records")
    assert cell["lr"] == 0.1 and cell["mean"] == pytest.approx(0.82)
    assert cell["se"] == pytest.approx(0.02)  # std 0.0283 / sqrt(2)
    assert format_cell(cell["mean"], cell["se"]) == "82.00 ± 2.00"


def test_all_diverged_cell_is_a_dash_with_the_reason():
    records = [record(t1.BN_FREE, 100, lr, s, 0, status="diverged") for lr in (0.1, 0.2) for s in (0, 1)]
    records.append(record(t1.BN_FREE, 10, 0.1, 0, 0.5))
    cells = t1.best_over_lr(t1.run_table(records, t1.row_of)).set_index("depth")
    assert cells.loc[100, "status"] == "diverged" and "4 of 4" in cells.loc[100, "reason"]
    assert format_cell(cells.loc[100, "mean"], cells.loc[100, "se"]) == "—"
    assert format_cell(cells.loc[10, "mean"], cells.loc[10, "se"]) == "50.00"  # one seed: no error bar
    assert math.isnan(cells.loc[10, "se"])


def test_edges_mark_a_best_lr_at_either_end_of_the_grid():
    records = (grid(t1.BY_N, [10], [0, 1], lambda d, lr, s: 0.5 + lr)  # best at the largest lr
               + grid(t1.BY_SQRT, [10], [0, 1], lambda d, lr, s: 0.9 - abs(lr - 2**-6)))  # best inside
    _, cells = tables(records)
    edge = cells.set_index("row")["edge"]
    assert edge[t1.BY_N] and not edge[t1.BY_SQRT]
    table = t1.side_by_side(cells, "fashion_mnist")
    assert table[("ours: best lr", 10)][t1.BY_N] == "2^-2 (grid edge)"
    assert table[("ours: best lr", 10)][t1.BY_SQRT] == "2^-6"


def test_divergence_table_and_the_batchnorm_sentence_count_by_lr():
    records = grid(t1.BN, [100], [0, 1], lambda d, lr, s: None if lr == 2**-2 or (lr == 2**-4 and s == 1) else 0.8)
    runs, _ = tables(records)
    table = t1.divergence_table(runs)
    assert list(table["lr"]) == ["2^-4", "2^-2"] and list(table["diverged"]) == ["1 of 2 seeds", "2 of 2 seeds"]
    assert "3 run(s) diverged" in t1.bn_divergence_text(runs) and "lr 2^-4: 1 of 2 seeds" in t1.bn_divergence_text(runs)


def test_edges_are_judged_against_each_cells_own_grid():
    """With per-row grids, a best lr at the old grid's top is inside an extended grid, and a cell
    with two learning rates (the book's n = 1000) is always at an edge."""
    grids = {"lrs": {t1.BN: LRS, t1.BN_FREE: LRS, t1.BY_N: LRS + [2**-1, 2**0], t1.BY_SQRT: LRS},
             "by_depth": {1000: {"lrs": {t1.BN: LRS[:2], t1.BN_FREE: LRS[:2], t1.BY_N: LRS[2:], t1.BY_SQRT: LRS[1:3]}}}}
    records = (grid(t1.BY_N, [100], [0, 1], lambda d, lr, s: 0.9 - abs(lr - 2**-2), lrs=LRS + [2**-1, 2**0])
               + grid(t1.BY_SQRT, [1000], [0, 1], lambda d, lr, s: 0.8, lrs=LRS[1:3]))
    runs = t1.run_table(records, t1.row_of)
    cells = t1.mark_edges(t1.best_over_lr(runs), grids).set_index(["row", "depth"])
    assert cells.loc[(t1.BY_N, 100), "lr"] == 2**-2 and not cells.loc[(t1.BY_N, 100), "edge"]
    assert cells.loc[(t1.BY_SQRT, 1000), "edge"]
    assert t1.edge_side(2**0, t1.lrs_of(grids, t1.BY_N, 100)) == "largest"
    assert t1.edge_side(2**-6, t1.lrs_of(grids, t1.BY_SQRT, 1000)) == "smallest"


# ----------------------------------------------------------------------------- the grid


def test_book_grid_is_the_one_planned_before_its_runs():
    """The book budget (issue 16, written as book_v2 before its runs): 'SAME' stem; 3 seeds x 3
    epochs at n = 10 and 100 with the grids extended past the first grid's edges; n = 1000 at two
    lrs per row, 2 seeds, 1 epoch."""
    book = t1.configs(resolve(t1.NAME, "book"))
    assert len(book) == 130 and len({c.key for c in book}) == len(book)
    assert {c.model_kwargs["stem_pool"] for c in book} == {"same"}
    by = lambda depth, lam, bn: sorted({c.lr for c in book if c.model_kwargs["depth"] == depth  # noqa: E731
                                        and c.model_kwargs["lam"] == lam and c.model_kwargs["batchnorm"] == bn})
    assert by(10, "1/n", False)[-2:] == [2**-1, 2**0] and by(100, "1/n", False)[-2:] == [2**-1, 2**0]
    assert by(10, "1", False)[:2] == [2**-12, 2**-10] and by(100, "1", False)[0] == 2**-8
    assert all(len(by(1000, lam, bn)) == 2 for lam, bn in (("1", True), ("1", False), ("1/n", False),
                                                           ("1/sqrt(n)", False)))
    for depth, seeds, epochs in ((10, {0, 1, 2}, 3), (100, {0, 1, 2}, 3), (1000, {0, 1}, 1)):
        here = [c for c in book if c.model_kwargs["depth"] == depth]
        assert {c.seed for c in here} == seeds and {c.epochs for c in here} == {epochs}
    assert "book_v2" not in t1.BUDGETS


def test_grid_covers_rows_depths_lrs_and_seeds():
    paper = t1.configs(resolve(t1.NAME, "paper"))
    assert len(paper) == 4 * 3 * 10 * 5 and len({c.key for c in paper}) == len(paper)
    assert {c.model_kwargs["width"] for c in paper if c.model_kwargs["depth"] == 1000} == {128}
    assert {c.model_kwargs["width"] for c in paper if c.model_kwargs["depth"] == 100} == {256}
    assert all(c.steps == 160_000 and c.batch_size == 64 and c.weight_decay == 0 and c.schedule == "constant"
               for c in paper)
    book = t1.configs(resolve(t1.NAME, "book"))
    assert [c.model_kwargs["depth"] for c in book] == sorted(c.model_kwargs["depth"] for c in book)


def test_book_configs_are_the_stored_runs():
    """The book grid hashes to committed results, so the chapter loads them and trains nothing, and
    the store holds no other run of the chapter (the first budget's runs left it with its promotion)."""
    from resdepth.files import project_data_dir

    stored = {p.stem for p in (project_data_dir() / "results" / t1.NAME).glob("*.json")}
    keys = {c.key for c in t1.configs(resolve(t1.NAME, "book"))}
    assert keys == stored


# ----------------------------------------------------------------------------- rule (a): λ = 1 without BN


def bn_free_runs(depths, seeds, trains_at):
    """λ = 1 without BN: trains (lowest lr only) at the depths/seeds ``trains_at(depth, seed)`` says."""
    return grid(t1.BN_FREE, depths, seeds, lambda d, lr, s: 0.8 if lr == LRS[0] and trains_at(d, s) else None)


def test_bn_free_reproduced_when_it_trains_shallow_and_fails_deep():
    depths = [10, 100, 1000]
    runs, _ = tables(bn_free_runs(depths, [0, 1], lambda d, s: d < 100))
    v = t1.rule_bn_free(runs, settings(depths))
    assert v.outcome == "reproduced" and not v.missing
    runs, _ = tables(bn_free_runs([10, 100], [0, 1], lambda d, s: d < 100))
    capped = t1.rule_bn_free(runs, settings([10, 100]))
    assert capped.outcome == "partly reproduced" and capped.missing == "n = 1000"


def test_bn_free_not_reproduced_when_it_trains_deep_in_every_seed():
    runs, _ = tables(bn_free_runs([10, 100], [0, 1], lambda d, s: True))
    assert t1.rule_bn_free(runs, settings()).outcome == "not reproduced"


def test_bn_free_inconclusive_when_seeds_disagree_or_one_seed():
    runs, _ = tables(bn_free_runs([10, 100], [0, 1], lambda d, s: d < 100 or s == 0))
    assert t1.rule_bn_free(runs, settings()).outcome == "inconclusive"
    runs, _ = tables(bn_free_runs([10, 100], [0], lambda d, s: d < 100))
    assert t1.rule_bn_free(runs, settings(seeds=[0])).outcome == "inconclusive"


def test_bn_free_partly_when_it_never_trains_or_stops_later():
    depths = [10, 100, 1000]
    runs, _ = tables(bn_free_runs(depths, [0, 1], lambda d, s: False))
    assert t1.rule_bn_free(runs, settings(depths)).outcome == "partly reproduced"
    runs, _ = tables(bn_free_runs(depths, [0, 1], lambda d, s: d < 1000))
    assert t1.rule_bn_free(runs, settings(depths)).outcome == "partly reproduced"


def test_bn_free_not_run_without_a_deep_depth():
    runs, _ = tables(bn_free_runs([2, 4], [0, 1], lambda d, s: True))
    assert t1.rule_bn_free(runs, settings([2, 4])).outcome == "not run"


def test_a_frozen_run_does_not_count_as_trained():
    runs, _ = tables(grid(t1.BN_FREE, [10, 100], [0, 1], lambda d, lr, s: 0.8 if d < 100 else 0.1))
    assert t1.rule_bn_free(runs, settings()).outcome == "partly reproduced"  # n = 1000 missing only


# ----------------------------------------------------------------------------- rule (b): 1/n and 1/√n train


def scaled_runs(depths, seeds, acc_of):
    return grid(t1.BY_N, depths, seeds, acc_of) + grid(t1.BY_SQRT, depths, seeds, acc_of)


def test_scaled_train_reproduced_only_where_the_budget_reaches_n_1000():
    depths = [10, 100, 1000]
    runs, _ = tables(scaled_runs(depths, [0, 1], lambda d, lr, s: None if lr == LRS[-1] else 0.8))
    assert t1.rule_scaled_train(runs, settings(depths)).outcome == "reproduced"
    runs, _ = tables(scaled_runs([10, 100], [0, 1], lambda d, lr, s: 0.8))
    v = t1.rule_scaled_train(runs, settings())
    assert v.outcome == "partly reproduced" and v.missing == "n = 1000"


def test_scaled_train_not_reproduced_when_a_cell_fails_in_every_seed():
    runs, _ = tables(scaled_runs([10, 100], [0, 1], lambda d, lr, s: None if d == 100 else 0.8))
    assert t1.rule_scaled_train(runs, settings()).outcome == "not reproduced"


def test_scaled_train_inconclusive_when_no_lr_trains_every_seed_or_one_seed():
    runs, _ = tables(scaled_runs([10, 100], [0, 1], lambda d, lr, s: None if d == 100 and s == 1 else 0.8))
    assert t1.rule_scaled_train(runs, settings()).outcome == "inconclusive"
    runs, _ = tables(scaled_runs([10, 100], [0], lambda d, lr, s: 0.8))
    assert t1.rule_scaled_train(runs, settings(seeds=[0])).outcome == "inconclusive"


# ----------------------------------------------------------------------------- rule (c): 1/√n beats 1/n


def gap_runs(depths, seeds, sqrt_acc, n_acc, n_best=2**-4):
    """BN, 1/√n and 1/n rows; each row's best lr is 2^-4 (1/n: ``n_best``), other lrs 10 points lower."""
    def peak(best, value):
        return lambda d, lr, s: None if value(s) is None else (value(s) if lr == best else value(s) - 0.1)
    return (grid(t1.BN, depths, seeds, peak(2**-4, lambda s: 0.9))
            + grid(t1.BY_SQRT, depths, seeds, peak(2**-4, sqrt_acc))
            + grid(t1.BY_N, depths, seeds, peak(n_best, n_acc)))


def test_sqrt_beats_n_reproduced_when_every_seed_agrees():
    depths = [10, 100, 1000]
    runs, cells = tables(gap_runs(depths, [0, 1, 2], lambda s: 0.88 + 0.001 * s, lambda s: 0.85 + 0.0012 * s))
    v = t1.rule_sqrt_beats_n(runs, cells, settings(depths, [0, 1, 2]))
    assert v.outcome == "reproduced" and "p = " in v.statistic and "n = 3" in v.statistic


def test_sqrt_beats_n_not_reproduced_when_n_wins_in_every_seed():
    depths = [10, 100, 1000]
    runs, cells = tables(gap_runs(depths, [0, 1, 2], lambda s: 0.82 + 0.001 * s, lambda s: 0.85 + 0.0011 * s))
    assert t1.rule_sqrt_beats_n(runs, cells, settings(depths, [0, 1, 2])).outcome == "not reproduced"


def test_sqrt_beats_n_inconclusive_when_seeds_cannot_separate():
    depths = [10, 100, 1000]
    runs, cells = tables(gap_runs(depths, [0, 1], lambda s: [0.86, 0.80][s], lambda s: [0.80, 0.79][s]))
    v = t1.rule_sqrt_beats_n(runs, cells, settings(depths))
    assert v.outcome == "inconclusive" and "n = 2" in v.statistic


def test_sqrt_beats_n_is_capped_at_an_lr_grid_edge_and_says_so():
    depths = [10, 100, 1000]
    runs, cells = tables(gap_runs(depths, [0, 1, 2], lambda s: 0.88 + 0.001 * s, lambda s: 0.85 + 0.0012 * s,
                                  n_best=2**-2))
    v = t1.rule_sqrt_beats_n(runs, cells, settings(depths, [0, 1, 2]))
    assert v.outcome == "partly reproduced" and "edge" in v.missing and "2^-2, the largest tried" in v.missing
    assert "grid's edge" in v.statistic


def test_sqrt_beats_n_inconclusive_without_a_cell_and_not_run_without_depth():
    runs, cells = tables(gap_runs([10, 100], [0, 1], lambda s: 0.88, lambda s: None))
    assert t1.rule_sqrt_beats_n(runs, cells, settings()).outcome == "inconclusive"
    runs, cells = tables(gap_runs([2, 4], [0, 1], lambda s: 0.88, lambda s: 0.8))
    assert t1.rule_sqrt_beats_n(runs, cells, settings([2, 4])).outcome == "not run"


def ranked_runs(sqrt_curve, n_curve, seeds=(0, 1, 2)):
    """1/√n and 1/n at n = 100 (best lr 2^-4 each), with per-seed curves ``curve(seed)``; the last
    value of each curve is the run's best accuracy."""
    out = []
    for row, curve in ((t1.BY_SQRT, sqrt_curve), (t1.BY_N, n_curve)):
        for lr in LRS:
            for s in seeds:
                values = [v - (0 if lr == 2**-4 else 0.1) for v in curve(s)]
                out.append(record(row, 100, lr, s, max(values), curve=values))
    return out


def test_ranking_table_and_an_order_that_flips_makes_the_depth_inconclusive():
    flips = ranked_runs(lambda s: [0.70, 0.785 + 0.001 * s, 0.80 + 0.001 * s],  # 1/√n behind, then ahead
                        lambda s: [0.71, 0.79 + 0.001 * s, 0.77 + 0.001 * s])
    runs, cells = tables(flips)
    rankings = t1.ranking_table(t1.curve_table(flips, t1.row_of), cells)
    assert list(rankings["step"]) == [200, 300]
    assert list(rankings["ranking"]) == [f"{t1.BY_N} > {t1.BY_SQRT}", f"{t1.BY_SQRT} > {t1.BY_N}"]
    assert not t1.order_settled(rankings, 100, t1.BY_SQRT, t1.BY_N)
    without_check = t1.rule_sqrt_beats_n(runs, cells, settings([100], [0, 1, 2]))
    assert without_check.outcome == "partly reproduced"  # the test alone: 1/√n ahead in every seed (n = 1000 missing)
    v = t1.rule_sqrt_beats_n(runs, cells, settings([100], [0, 1, 2]), rankings=rankings)
    assert v.outcome == "inconclusive" and "ranking not settled" in v.statistic


def test_an_order_that_holds_keeps_the_tests_outcome_and_says_so():
    holds = ranked_runs(lambda s: [0.70, 0.79 + 0.001 * s, 0.80 + 0.001 * s],
                        lambda s: [0.71, 0.76 + 0.001 * s, 0.77 + 0.001 * s])
    runs, cells = tables(holds)
    rankings = t1.ranking_table(t1.curve_table(holds, t1.row_of), cells)
    assert t1.order_settled(rankings, 100, t1.BY_SQRT, t1.BY_N)
    v = t1.rule_sqrt_beats_n(runs, cells, settings([100], [0, 1, 2]), rankings=rankings)
    assert v.outcome == "partly reproduced" and "order holds" in v.statistic  # capped: n = 1000 missing
    one_eval = t1.ranking_table(t1.curve_table(holds, t1.row_of)[lambda c: c["step"] == 300], cells)
    assert t1.order_settled(one_eval, 100, t1.BY_SQRT, t1.BY_N) is None  # one evaluation: no check


def test_verdicts_give_one_verdict_per_claim_in_order():
    depths = [10, 100]
    records = (gap_runs(depths, [0, 1], lambda s: 0.88, lambda s: 0.85)
               + bn_free_runs(depths, [0, 1], lambda d, s: d < 100))
    runs, cells = tables(records)
    verdicts = t1.verdicts({"runs": runs, "cells": cells, "budget": "hand-made"}, settings(depths))
    assert [v.claim for v in verdicts] == list(t1.CLAIMS)
    assert all(v.budget == "hand-made" for v in verdicts)
