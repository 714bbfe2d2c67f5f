"""The λ sweep's tables and verdict rules, on hand-made runs (never the stored ones), and its grid."""

import pandas as pd
import pytest

from resdepth.experiments import lambda_sweep as ls
from resdepth.experiments import resolve

N = 16
LAMS = list(ls.LAMBDA_SWEEP)  # 0 .. n^-0.8 trained in the paper, n^-0.5 the last, then n^-0.4, n^-0.3, 1


def record(lam, seed, acc=0.8, gc=40.0, loss=0.5, status="ok", steps=1874):
    return {"config": {"model_args": {"lam": lam, "depth": N}, "seed": seed}, "status": status,
            "steps_done": steps if status == "ok" else 50,
            "best": {"test_acc": acc, "geometric_complexity": gc, "step": steps} if status == "ok" else None,
            "final": {"train_loss": loss} if status == "ok" else None}


def per_run(lams=LAMS, seeds=(0, 1), diverges=lambda lam, s: False, acc=lambda i, s: 0.8, gc=lambda i, s: 40.0,
            loss=lambda i, s: 0.5):
    """One run per (λ, seed); ``diverges``, ``acc``, ``gc`` and ``loss`` take the λ's index and the seed."""
    records = [record(lam, s, acc(i, s), gc(i, s), loss(i, s), "diverged" if diverges(lam, s) else "ok")
               for s in seeds for i, lam in enumerate(lams)]
    return ls.per_run_table(records, N)


def settings(seeds=(0, 1), lams=LAMS, threshold=None):
    return {"depth": N, "seeds": list(seeds), "lams": list(lams), "threshold": threshold or {}}


ABOVE = {"n^-0.4", "n^-0.3", "1"}
paper_like = lambda lam, s: lam in ABOVE  # noqa: E731  the paper's outcome: every λ > n^-0.5 diverged


# ----------------------------------------------------------------------------- tables and grid


def test_per_run_and_summary_tables_read_best_and_final():
    table = per_run(lams=["0", "n^-1", "1"], diverges=lambda lam, s: lam == "1", acc=lambda i, s: 0.7 + 0.1 * s)
    assert table.set_index(["λ", "seed"]).loc[("n^-1", 1), "lam"] == pytest.approx(1 / 16)
    summary = ls.summary_table(table, ["0", "n^-1", "1"])
    assert summary.loc["n^-1", "max_test_acc"] == pytest.approx(0.75)
    assert summary.loc["n^-1", "se"] == pytest.approx(0.05)
    assert summary.loc["1", "diverged"] == 2
    assert ls.diverged_note(table, ["0", "n^-1", "1"]) == "λ that diverged (not shown): 1"
    assert list(ls.diverged_runs(table)["steps_done"]) == [50, 50]


def test_book_configs_are_exactly_the_stored_runs():
    """The book grid hashes to committed results, so the chapter loads them and trains nothing; no
    other run of the chapter is stored (the first budget's runs were removed at its promotion)."""
    from resdepth.files import project_data_dir

    stored = {p.stem for p in (project_data_dir() / "results" / ls.NAME).glob("*.json")}
    assert {c.key for c in ls.configs(resolve(ls.NAME, "book"))} == stored


def test_book_grid_is_the_one_planned_before_its_runs():
    """The book's second budget (issue 16): a capacity sweep at lr 0.05 with 3 seeds x 6 epochs,
    weights kept, and a divergence sweep at the paper's lr 0.3 at widths 16 and 64; 'SAME' stem."""
    settings = resolve(ls.NAME, "book")
    capacity, threshold = ls.sweep_configs(settings), ls.threshold_configs(settings)
    assert len(capacity) == 10 * 3 and {c.lr for c in capacity} == {0.05} and {c.epochs for c in capacity} == {6}
    assert all(c.gc_images == 256 and c.model_kwargs["width"] == 16 for c in capacity)
    assert ls.weight_configs(settings) == capacity  # the lesion study reads their weights; not the threshold's
    assert len(threshold) == 2 * 10 * 2 and {c.lr for c in threshold} == {0.3}
    assert {c.model_kwargs["width"] for c in threshold} == {16, 64} and all(c.gc_images == 0 for c in threshold)
    both = capacity + threshold
    assert {c.model_kwargs["stem_pool"] for c in both} == {"same"} and len({c.key for c in both}) == len(both)


# ----------------------------------------------------------------------------- Figure 1: λ = 0 underfits


def falling_loss(i, s):
    return 1.0 - 0.05 * i  # λ = 0 (index 0) highest


def test_underfit_reproduced_when_highest_in_every_seed():
    v = ls.rule_underfit(per_run(diverges=paper_like, loss=falling_loss), settings())
    assert v.outcome == "reproduced" and "2 of 2 seeds" in v.statistic  # p = (1/7)^2


def test_underfit_inconclusive_in_some_seeds_only_or_with_one_seed():
    loss = lambda i, s: 1.0 - 0.05 * i if s == 0 else 0.5 + 0.01 * i  # noqa: E731
    assert ls.rule_underfit(per_run(diverges=paper_like, loss=loss), settings()).outcome == "inconclusive"
    one = ls.rule_underfit(per_run(seeds=(0,), diverges=paper_like, loss=falling_loss), settings(seeds=(0,)))
    assert one.outcome == "inconclusive"  # p = 1/7 > 0.05


def test_underfit_not_reproduced_when_highest_in_no_seed():
    v = ls.rule_underfit(per_run(diverges=paper_like, loss=lambda i, s: 0.5 + 0.01 * i), settings())
    assert v.outcome == "not reproduced"


def test_underfit_not_run_without_lambda_zero():
    v = ls.rule_underfit(per_run(lams=LAMS[1:]), settings(lams=LAMS[1:]))
    assert v.outcome == "not run"


# ----------------------------------------------------------------------------- Figure 1: λ > n^-0.5 diverges


def test_diverge_reproduced_at_the_papers_boundary():
    assert ls.rule_diverge(per_run(diverges=paper_like), settings()).outcome == "reproduced"


def test_diverge_not_reproduced_when_a_lambda_above_trains_in_every_seed():
    v = ls.rule_diverge(per_run(diverges=lambda lam, s: lam in {"n^-0.3", "1"}), settings())
    assert v.outcome == "not reproduced"


def test_diverge_inconclusive_when_seeds_disagree_above_or_one_seed():
    v = ls.rule_diverge(per_run(diverges=lambda lam, s: lam in {"n^-0.3", "1"} or (lam == "n^-0.4" and s == 0)),
                        settings())
    assert v.outcome == "inconclusive"
    one = ls.rule_diverge(per_run(seeds=(0,), diverges=paper_like), settings(seeds=(0,)))
    assert one.outcome == "inconclusive"


def test_diverge_partly_when_the_boundary_is_lower_and_names_it():
    v = ls.rule_diverge(per_run(diverges=lambda lam, s: lam in ABOVE | {"n^-0.5"}), settings())
    assert v.outcome == "partly reproduced" and "Threshold at λ = n^-0.5" in v.statistic
    odd = ls.rule_diverge(per_run(diverges=lambda lam, s: lam in ABOVE or (lam == "n^-2" and s == 1)), settings())
    assert odd.outcome == "partly reproduced" and "no threshold" in odd.statistic


def threshold_runs(diverges_at):
    """The divergence sweep at widths 16 and 64, two seeds: ``diverges_at(width, lam, seed)``."""
    return pd.concat([per_run(diverges=lambda lam, s, w=w: diverges_at(w, lam, s)).assign(width=w) for w in (16, 64)],
                     ignore_index=True)


THRESHOLD = {"lr": 0.3, "widths": [16, 64], "epochs": 2, "seeds": [0, 1]}


def test_threshold_by_width_names_each_widths_threshold_or_says_there_is_none():
    runs = threshold_runs(lambda w, lam, s: lam in (ABOVE | {"n^-0.5", "n^-0.8"} if w == 16 else ABOVE))
    table = ls.threshold_by_width(runs).set_index("width")
    assert table.loc[16, "threshold"] == "n^-0.8" and table.loc[64, "threshold"] == "n^-0.4"
    assert table.loc[64, "threshold_lam"] == pytest.approx(16 ** -0.4)
    messy = threshold_runs(lambda w, lam, s: lam in ABOVE or (lam == "n^-2" and s == 0))
    assert set(ls.threshold_by_width(messy)["threshold"]) == {"no clean threshold"}
    assert set(ls.threshold_by_width(threshold_runs(lambda w, lam, s: False))["threshold"]) == {"none diverged"}


def test_diverge_by_width_combines_the_widths_and_reports_the_trend():
    paper_at_64 = threshold_runs(lambda w, lam, s: lam in (ABOVE | {"n^-0.5"} if w == 16 else ABOVE))
    v = ls.rule_diverge_by_width(paper_at_64, settings(threshold=THRESHOLD))
    assert v.outcome == "partly reproduced"  # reproduced at width 64, a lower boundary at width 16
    assert "Threshold by width: 16: n^-0.5, 64: n^-0.4" in v.statistic and "width 64: reproduced" in v.statistic
    both = ls.rule_diverge_by_width(threshold_runs(lambda w, lam, s: lam in ABOVE), settings(threshold=THRESHOLD))
    assert both.outcome == "reproduced"
    trains = ls.rule_diverge_by_width(threshold_runs(lambda w, lam, s: lam == "1"), settings(threshold=THRESHOLD))
    assert trains.outcome == "not reproduced"


def test_diverge_not_run_without_a_lambda_above():
    lams = LAMS[:7]
    assert ls.rule_diverge(per_run(lams=lams), settings(lams=lams)).outcome == "not run"


# ----------------------------------------------------------------------------- Figure 2 left: accuracy rises


def test_acc_increases_reproduced_when_the_ranks_rise():
    v = ls.rule_acc_increases(per_run(diverges=paper_like, acc=lambda i, s: 0.6 + 0.03 * i + 0.001 * s), settings())
    assert v.outcome == "reproduced" and "rho = +1.00" in v.statistic and not v.missing


def test_acc_increases_not_reproduced_when_the_ranks_fall():
    v = ls.rule_acc_increases(per_run(diverges=paper_like, acc=lambda i, s: 0.9 - 0.03 * i), settings())
    assert v.outcome == "not reproduced"


def test_acc_increases_inconclusive_without_a_monotone_trend():
    acc = lambda i, s: [0.80, 0.85, 0.79, 0.86, 0.78, 0.84, 0.81, 0, 0, 0][i]  # noqa: E731  (last 3 diverge)
    assert ls.rule_acc_increases(per_run(diverges=paper_like, acc=acc), settings()).outcome == "inconclusive"


def test_acc_increases_is_capped_when_the_top_of_the_range_diverged():
    v = ls.rule_acc_increases(per_run(diverges=lambda lam, s: lam in ABOVE | {"n^-0.5"},
                                      acc=lambda i, s: 0.6 + 0.03 * i), settings())
    assert v.outcome == "partly reproduced" and "n^-0.5" in v.missing


# ----------------------------------------------------------------------------- Figure 2 right: complexity


def hump(i, s):
    return [30, 40, 50, 60, 50, 40, 30, 0, 0, 0][i] + s  # peak at n^-1.2 (index 3); the last 3 diverge


def test_gc_reproduced_when_every_seed_peaks_inside():
    v = ls.rule_gc_rise_fall(per_run(seeds=(0, 1, 2), diverges=paper_like, gc=hump), settings(seeds=(0, 1, 2)))
    assert v.outcome == "reproduced" and "n^-1.2" in v.ours and "bootstrap" in v.statistic


def test_gc_not_reproduced_when_it_only_falls_or_only_rises_over_the_full_range():
    falls = ls.rule_gc_rise_fall(per_run(diverges=paper_like, gc=lambda i, s: 60 - 5 * i), settings())
    assert falls.outcome == "not reproduced"
    rises = ls.rule_gc_rise_fall(per_run(diverges=paper_like, gc=lambda i, s: 30 + 5 * i), settings())
    assert rises.outcome == "not reproduced"


def test_gc_inconclusive_when_it_rises_to_a_range_cut_short_by_divergence():
    v = ls.rule_gc_rise_fall(per_run(diverges=lambda lam, s: lam in ABOVE | {"n^-0.5"}, gc=lambda i, s: 30 + 5 * i),
                             settings())
    assert v.outcome == "inconclusive" and "n^-0.5" in v.missing


def test_gc_inconclusive_when_seeds_put_the_peak_at_different_ends_or_one_seed():
    split = lambda i, s: (60 - 5 * i) if s == 0 else (30 + 5 * i)  # noqa: E731
    assert ls.rule_gc_rise_fall(per_run(diverges=paper_like, gc=split), settings()).outcome == "inconclusive"
    one = ls.rule_gc_rise_fall(per_run(seeds=(0,), diverges=paper_like, gc=hump), settings(seeds=(0,)))
    assert one.outcome == "inconclusive"


# ----------------------------------------------------------------------------- Figure 1: complexity reverses


def history(early, late, seeds=(0, 1, 2), lams=LAMS[:7]):
    """Evaluations at steps 100 (``early(i, s)``), 200 and 300 (``late(i, s)``) of the λ ``lams``."""
    rows = []
    for s in seeds:
        for i, lam in enumerate(lams):
            for step, value in ((100, early(i, s)), (200, (early(i, s) + late(i, s)) / 2), (300, late(i, s))):
                rows.append({"λ": lam, "seed": s, "step": step, "geometric_complexity": value})
    return pd.DataFrame(rows)


RISES = lambda i, s: 10 + 5 * i + 0.1 * s  # noqa: E731  complexity rises with λ
HUMP = lambda i, s: [30, 40, 50, 60, 50, 40, 30][i] + s  # noqa: E731  peak inside (n^-1.2)


def test_gc_reverses_reproduced_when_an_early_rise_turns_into_an_inside_peak():
    v = ls.rule_gc_reverses(per_run(seeds=(0, 1, 2), diverges=paper_like), history(RISES, HUMP),
                            settings(seeds=(0, 1, 2)))
    assert v.outcome == "reproduced" and "rho = +1.00" in v.statistic and "step 300: peak at λ = n^-1.2" in v.ours


def test_gc_reverses_not_reproduced_without_an_early_rise_or_without_a_reversal():
    falls = lambda i, s: 50 - 5 * i + 0.1 * s  # noqa: E731
    v = ls.rule_gc_reverses(per_run(seeds=(0, 1, 2), diverges=paper_like), history(falls, HUMP),
                            settings(seeds=(0, 1, 2)))
    assert v.outcome == "not reproduced"
    never = ls.rule_gc_reverses(per_run(seeds=(0, 1, 2), diverges=paper_like), history(RISES, RISES),
                                settings(seeds=(0, 1, 2)))
    assert never.outcome == "not reproduced"


def test_gc_reverses_inconclusive_with_one_seed_and_capped_when_the_top_diverged():
    one = ls.rule_gc_reverses(per_run(seeds=(0,), diverges=paper_like), history(RISES, HUMP, seeds=(0,)),
                              settings(seeds=(0,)))
    assert one.outcome == "inconclusive"
    top = lambda lam, s: lam in ABOVE | {"n^-0.5"}  # noqa: E731
    capped = ls.rule_gc_reverses(per_run(seeds=(0, 1, 2), diverges=top), history(RISES, HUMP, lams=LAMS[:6]),
                                 settings(seeds=(0, 1, 2)))
    assert capped.outcome == "partly reproduced" and "n^-0.5" in capped.missing


def test_verdicts_give_one_verdict_per_claim_in_order():
    results = {"per_run": per_run(diverges=paper_like, loss=falling_loss, acc=lambda i, s: 0.6 + 0.01 * i),
               "history": history(RISES, HUMP, seeds=(0, 1)), "budget": "hand-made"}
    verdicts = ls.verdicts(results, settings())
    assert [v.claim for v in verdicts] == list(ls.CLAIMS) and all(v.budget == "hand-made" for v in verdicts)
