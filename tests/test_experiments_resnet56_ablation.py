import dataclasses
import math

import pandas as pd
import pytest

from resdepth.experiments import linearization_napl as lin
from resdepth.experiments import resnet56_ablation as ablation
from resdepth.experiments import resolve


def pairs(points):
    """Matched pairs as ``linearization_napl.matched_pairs`` makes them: [(seed, napl, gap), ...]."""
    return pd.DataFrame([{"omega_layer": 1.0, "seed": s, "napl": n, "channel_acc": 0.8 + g, "layer_acc": 0.8, "gap": g}
                         for s, n, g in points], columns=lin.PAIR_COLUMNS)


def test_binned_seed_gaps_average_each_seed_within_a_bin():
    binned = ablation.binned_seed_gaps(pairs([(0, 4.0, 0.02), (0, 5.0, 0.04), (0, 1.0, 0.10), (1, 4.5, 0.05)]))
    got = {(b, s): g for b, s, g in binned.itertuples(index=False)}
    assert got == pytest.approx({(0.0, 0): 0.10, (4.0, 0): 0.03, (4.0, 1): 0.05})


def test_bin_comparison_compares_only_bins_both_starts_reach():
    residual = pairs([(0, 4.0, 0.01), (0, 1.0, 0.02)])
    plain = pairs([(0, 5.0, 0.08), (1, 4.0, 0.09), (0, 9.0, 0.01)])
    table = ablation.bin_comparison(residual, plain)
    assert list(table["bin"]) == ["[4, 6)"]
    row = table.iloc[0]
    assert row["residual_gap"] == pytest.approx(0.01) and row["plain_gap"] == pytest.approx(0.085)
    assert row["difference"] == pytest.approx(0.075) and row["residual_seeds"] == 1 and math.isnan(row["p"])


def test_welch_test_needs_two_values_a_side():
    assert math.isnan(ablation.welch_test([0.1], [0.2, 0.3]))
    assert ablation.welch_test([0.1, 0.1], [0.2, 0.2]) == 0.0
    assert ablation.welch_test([0.01, 0.02, 0.015], [0.08, 0.09, 0.085]) < 0.05


# ----------------------------------------------------------------------------- the rule

PLAIN = [(0, 4.0, 0.080), (1, 4.0, 0.090), (2, 5.0, 0.085), (0, 1.0, 0.02), (1, 1.0, 0.03), (2, 1.0, 0.025)]


def test_rule_reproduced_when_the_residual_gap_is_smaller_in_every_shared_bin():
    residual = pairs([(0, 4.0, 0.005), (1, 4.0, 0.000), (2, 5.0, 0.010), (0, 1.0, 0.0), (1, 1.0, 0.002),
                      (2, 1.0, -0.001)])
    outcome, per_bin = ablation.gap_shrinks_rule(ablation.bin_comparison(residual, pairs(PLAIN)))
    assert outcome == "reproduced" and per_bin == ["reproduced", "reproduced"]


def test_rule_partly_reproduced_when_only_some_bins_separate():
    residual = pairs([(0, 4.0, 0.005), (1, 4.0, 0.000), (2, 5.0, 0.010), (0, 1.0, 0.0), (1, 1.0, 0.05),
                      (2, 1.0, 0.03)])
    outcome, per_bin = ablation.gap_shrinks_rule(ablation.bin_comparison(residual, pairs(PLAIN)))
    assert outcome == "partly reproduced" and per_bin == ["inconclusive", "reproduced"]


def test_rule_not_reproduced_when_the_residual_gap_is_larger():
    residual = pairs([(0, 4.0, 0.150), (1, 4.0, 0.160), (2, 5.0, 0.155)])
    assert ablation.gap_shrinks_rule(ablation.bin_comparison(residual, pairs(PLAIN)))[0] == "not reproduced"


def test_rule_inconclusive_with_one_seed_or_no_shared_bin():
    one_seed = pairs([(0, 4.0, 0.0), (0, 1.0, 0.0)])  # a gap of zero, but no error bar
    assert ablation.gap_shrinks_rule(ablation.bin_comparison(one_seed, pairs(PLAIN))) == (
        "inconclusive", ["inconclusive", "inconclusive"])
    elsewhere = pairs([(0, 9.0, 0.0), (1, 9.0, 0.0)])
    assert ablation.gap_shrinks_rule(ablation.bin_comparison(elsewhere, pairs(PLAIN)))[0] == "inconclusive"


# ----------------------------------------------------------------------------- verdicts


def runs_at(points, seeds):
    """Post-training runs whose layer-wise nets sit at ``points`` [(napl, gap)] for each seed."""
    records = []
    for seed in seeds:
        records += [{"config": {"linearize": "channel", "omega": o, "seed": seed}, "status": "ok",
                     "linearization": {"napl": n}, "final": {"test_acc": a}} for o, n, a in ((0.1, 0.5, 0.7),
                                                                                              (0.001, 8.0, 0.9))]
        for i, (napl, gap) in enumerate(points):
            acc = 0.7 + (napl - 0.5) / 7.5 * 0.2 - gap
            records.append({"config": {"linearize": "layer", "omega": 10.0 ** i, "seed": seed}, "status": "ok",
                            "linearization": {"napl": napl}, "final": {"test_acc": acc}})
    return lin.linearization_runs(records, [r["linearization"]["napl"] for r in records])


def test_verdicts_from_one_seed_are_at_most_inconclusive_and_say_why():
    settings = resolve(ablation.NAME, "book")
    plain = lin.Results(runs=runs_at([(4.0, 0.09), (1.0, 0.02)], [0, 1]), budget="plain, hand-made")
    results = ablation.Results(runs=runs_at([(4.0, 0.001), (1.0, 0.001)], [0]), budget="hand-made", plain=plain)
    verdicts = ablation.verdicts(results, settings)
    assert [v.claim for v in verdicts] == list(ablation.CLAIMS)
    v = verdicts[0]
    assert v.outcome == "inconclusive" and "no test possible" in v.statistic and "one seed" in v.statistic
    assert "NAPL [4, 6): +0.10 from resnet20 against +9.00 from repvgg_a0" in v.ours
    assert v.missing == "ResNet-56 (this profile uses resnet20), CIFAR-100, 60 post-training epochs"


def test_verdicts_not_run_without_the_plain_runs():
    results = ablation.Results(runs=runs_at([(4.0, 0.0)], [0]), budget="hand-made", plain=None)
    assert [v.outcome for v in ablation.verdicts(results, resolve(ablation.NAME, "book"))] == ["not run"]


def test_the_residual_start_is_trained_first_under_its_own_experiment():
    start, *post = ablation.configs(resolve(ablation.NAME, "book"))
    assert start.experiment == ablation.NAME and start.model == "resnet20"
    assert {c.start_from for c in post} == {f"{ablation.NAME}/{start.key}"}


# ----------------------------------------------------------------------------- book_v2: the controlled protocol


def start_gaps(per_start: dict, points=(1, 2, 4, 6, 8, 10)) -> pd.DataFrame:
    """``matched_napl.gaps_by_start``-shaped gaps: {start: gap at every point}, the gap 0.05 below NAPL 4."""
    return pd.DataFrame([{"start": s, "napl": float(p), "gap": (g if p >= 4 else 0.05), "seeds": 1}
                         for s, g in per_start.items() for p in points])


def test_protocol_rule_compares_start_networks_of_both_models_above_napl_4():
    names = ("resnet20", "plain20")
    small, large = start_gaps({0: 0.002, 1: 0.004, 2: 0.001}), start_gaps({0: 0.03, 1: 0.035, 2: 0.04})
    v = ablation.rule_gap_vanishes(small, large, names, "hand-made")
    assert v.outcome == "reproduced" and "+0.23 from resnet20 (3 start networks), +3.50 from plain20" in v.ours
    assert "NAPL 1: +5.00 from resnet20, +5.00 from plain20" in v.ours  # every point shown, only >= 4 decides
    assert ablation.rule_gap_vanishes(large, small, names, "b").outcome == "not reproduced"
    assert ablation.rule_gap_vanishes(start_gaps({0: 0.01, 1: 0.03}), start_gaps({0: 0.02, 1: 0.0}), names,
                                 "b").outcome == "inconclusive"
    assert ablation.rule_gap_vanishes(small, start_gaps({0: 0.03}), names, "b").outcome == "inconclusive"  # one start
    assert ablation.rule_gap_vanishes(start_gaps({0: 0.0}, points=(1, 2)), large, names, "b").outcome == "not run"
    assert ablation.rule_gap_vanishes(small, large, names, "b", "60 post-training epochs").outcome == "partly reproduced"


def test_book_v2_compares_resnet20_with_plain20_through_the_protocol():
    v1, v2 = resolve(ablation.NAME, "book"), resolve(ablation.NAME, "book", budget="book_v2")
    runs = ablation.configs(v2)
    starts = [c for c in runs if not c.start_from]
    assert sorted((c.model, c.seed) for c in starts) == [(m, s) for m in ("plain20", "resnet20") for s in (0, 1, 2)]
    assert ablation.configs(v1)[0].key in {c.key for c in starts}  # the first budget's ResNet-20 start is reused
    by_ref = {f"{c.experiment}/{c.key}": c for c in runs}
    for model in ("resnet20", "plain20"):
        penalties = [c for c in runs if c.model == model and c.linearize and not c.mask]
        tuned = [c for c in runs if c.model == model and c.mask]
        assert len(penalties) == len(tuned) == 3 * 12 and {c.mask for c in tuned} == {"learned"}
        assert all(by_ref[c.start_from].model == model and not c.model_kwargs for c in tuned)
        assert {c.omega for c in penalties} == {*v2["omegas"][model]["channel"], *v2["omegas"][model]["layer"]}
    assert len({c.key for c in runs}) == len(runs)
    assert ablation.missing_parts(v2) == ["ResNet-56 (this profile uses resnet20)", "CIFAR-100", "60 post-training epochs"]


def protocol_tables(gaps, missing=0):
    """``linearization_napl.ProtocolResults`` holding only ``gaps`` (per start network and point)."""
    empty = pd.DataFrame()
    return lin.ProtocolResults(settings={}, name="hand-made", runs=empty, at_points=empty, gaps=gaps, random_gaps=empty,
                               calibration=empty, history=empty, start_errors=pd.Series(dtype=float),
                               budget="hand-made", stored=10, missing=missing)


def test_the_accuracy_figure_shows_each_start_model_on_its_own_panel():
    v2 = resolve(ablation.NAME, "book", budget="book_v2")

    def tables(model, acc):
        runs = pd.DataFrame(dict(status="ok", epochs=v2["finetune_epochs"], arm=["channel", "layer"], napl=4.0,
                                 test_acc=[acc + 0.02, acc]))
        at_points = pd.DataFrame(dict(arm=["channel", "layer"] * 3, napl=4.0, start=[0, 0, 1, 1, 2, 2],
                                      acc=[acc + 0.02, acc] * 3))
        return dataclasses.replace(protocol_tables(pd.DataFrame()), settings=ablation.model_settings(v2, model),
                                   runs=runs, at_points=at_points)

    fig = ablation.plot_protocol_accuracy(ablation.ProtocolPreview(v2, tables("resnet20", 0.9), tables("plain20", 0.8)))
    assert len(fig.axes) == 2 and all(ax.has_data() for ax in fig.axes)
    assert ["resnet20" in fig.axes[0].get_title(), "plain20" in fig.axes[1].get_title()] == [True, True]
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()  # one accuracy scale
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        lin.ARM_STYLE[arm]["label"] for arm in ("channel", "layer")]  # no entry for the random arm it does not run


def test_the_chapter_judges_by_the_protocol_once_both_start_models_are_stored():
    v2 = resolve(ablation.NAME, "book", budget="book_v2")
    small, large = start_gaps({0: 0.002, 1: 0.004, 2: 0.001}), start_gaps({0: 0.03, 1: 0.035, 2: 0.04})
    preview = ablation.ProtocolPreview(v2, protocol_tables(small), protocol_tables(large))
    assert preview.names == ("resnet20", "plain20") and preview.stored == 20 and preview.missing == 0
    (v,) = ablation.chapter_verdicts(None, v2, preview)  # the first budget's results are not read
    assert v.outcome == "partly reproduced" and "ResNet-56" in v.missing and "Welch p" in v.statistic
    assert "phase 2 not shown to settle (1 epoch" in v.missing  # no calibration here
    assert not lin.is_fully_stored(ablation.ProtocolPreview(v2, protocol_tables(small, missing=3),
                                                            protocol_tables(large)))
    table = ablation.protocol_gap_table(preview)
    assert list(table["NAPL"]) == [1.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert list(table["gap from plain20 (points)"])[2:] == pytest.approx([3.5] * 4)
    assert ablation.plot_protocol_gaps(preview).axes[0].has_data()
    assert ablation.next_budget_preview("smoke", None) is None
