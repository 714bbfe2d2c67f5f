import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest

from resdepth.experiments import linearization_napl as lin
from resdepth.experiments import matched_napl as mn
from resdepth.experiments import resolve


def linearization_record(granularity, omega, seed, napl, acc, status="ok"):
    return {"config": {"linearize": granularity, "omega": omega, "seed": seed}, "status": status,
            "linearization": {"napl": napl}, "final": {"test_acc": acc} if status == "ok" else None}


def runs_of(records):
    return lin.linearization_runs(records, [r["linearization"]["napl"] for r in records])


def seeds_with_gaps(gaps_by_seed, channel=((0.1, 1.0, 0.60), (0.001, 12.0, 0.90))):
    """Records whose layer-wise runs sit at the given NAPLs with the given gaps to the channel-wise
    line (linear in NAPL between the two channel-wise runs): {seed: [(napl, gap), ...]}."""
    (o1, n1, a1), (o2, n2, a2) = channel
    records = []
    for seed, points in gaps_by_seed.items():
        records += [linearization_record("channel", o1, seed, n1, a1),
                    linearization_record("channel", o2, seed, n2, a2)]
        for i, (napl, gap) in enumerate(points):
            channel_acc = float(np.interp(napl, [n1, n2], [a1, a2]))
            records.append(linearization_record("layer", 10.0 ** -i, seed, napl, channel_acc - gap))
    return runs_of(records)


# ----------------------------------------------------------------------------- tables


def test_matched_napl_gaps_interpolate_channelwise_accuracy_at_layerwise_napl():
    records = []
    for seed, shift in [(0, 0.0), (1, 0.01)]:
        records += [linearization_record("channel", 0.1, seed, 2.0, 0.80 + shift),
                    linearization_record("channel", 0.01, seed, 6.0, 0.90 + shift),
                    linearization_record("layer", 1.0, seed, 4.0, 0.70 + shift),   # channel at NAPL 4: 0.85
                    linearization_record("layer", 0.1, seed, 9.0, 0.95)]           # outside the channel range
    records.append(linearization_record("layer", 10.0, 0, 0.0, 0.0, status="diverged"))
    runs = runs_of(records)
    pairs = lin.matched_pairs(runs)
    assert sorted(pairs["seed"]) == [0, 1] and set(pairs["napl"]) == {4.0}
    assert list(pairs.sort_values("seed")["gap"]) == pytest.approx([0.15, 0.15])
    gaps = lin.matched_napl_gaps(runs)
    assert list(gaps["napl"]) == [4.0] and list(gaps["label"]) == ["4"]
    row = gaps.iloc[0]
    assert row["channel_acc"] == pytest.approx(0.855) and row["layer_acc"] == pytest.approx(0.705)
    assert row["gap"] == pytest.approx(0.15) and row["seeds"] == 2
    assert row["gap_se"] == pytest.approx(0.0, abs=1e-12) and row["p"] == 0.0  # the same gap for both seeds
    table = lin.gap_table(gaps)
    assert table.loc[0, "gap (points)"] == "15.00 ± 0.00" and table.loc[0, "paired t-test p"] == "0"


def test_a_layerwise_omega_whose_seeds_land_on_different_napls_is_labelled_with_both():
    runs = seeds_with_gaps({0: [(4.0, 0.05)], 1: [(5.0, 0.07)]})
    gaps = lin.matched_napl_gaps(runs)
    assert list(gaps["label"]) == ["4–5"] and gaps.iloc[0]["napl"] == 4.5
    assert "NAPL 4–5 (ω 1): +6.00" in lin.gaps_in_words(gaps)


def test_gap_table_with_one_seed_has_no_interval_and_no_test():
    gaps = lin.matched_napl_gaps(seeds_with_gaps({0: [(4.0, 0.05)]}))
    assert math.isnan(gaps.iloc[0]["p"])
    table = lin.gap_table(gaps)
    assert table.loc[0, "95% CI of the gap"] == "— (one seed)" and table.loc[0, "paired t-test p"] == "—"
    assert "note" in lin.gap_table(lin.matched_napl_gaps(runs_of([]))).columns


def test_seed_mean_gaps_average_each_seeds_own_napls_inside_the_range():
    pairs = lin.matched_pairs(seeds_with_gaps({0: [(3.0, 0.02), (6.0, 0.04), (7.0, 0.5)], 1: [(2.0, 0.10)]}))
    means = lin.seed_mean_gaps(pairs, (2.0, 6.0))
    assert means.to_dict() == pytest.approx({0: 0.03, 1: 0.10})  # NAPL 7 is outside


# ----------------------------------------------------------------------------- the matched-gap rule


def test_matched_gap_rule_reproduced_when_every_seed_shows_a_positive_gap():
    runs = seeds_with_gaps({0: [(3.0, 0.050), (5.0, 0.060)], 1: [(4.0, 0.052)], 2: [(3.0, 0.061), (4.0, 0.049)]})
    outcome, test = lin.matched_gap_rule(lin.matched_pairs(runs))
    assert outcome == "reproduced" and test.n == 3 and test.p < 0.05 and test.mean > 0


def test_matched_gap_rule_not_reproduced_when_layerwise_wins():
    records = []
    for seed, noise in [(0, 0.0), (1, 0.004), (2, -0.004)]:
        records += [linearization_record("channel", 0.1, seed, 2.0, 0.70 + noise),
                    linearization_record("channel", 0.01, seed, 6.0, 0.80 + noise),
                    linearization_record("layer", 1.0, seed, 3.0, 0.85 + noise)]
    pairs = lin.matched_pairs(runs_of(records))
    assert (pairs["gap"] < 0).all()
    assert lin.matched_gap_rule(pairs)[0] == "not reproduced"


def test_matched_gap_rule_inconclusive_with_one_seed_or_gaps_of_both_signs():
    one_seed = lin.matched_pairs(seeds_with_gaps({0: [(3.0, 0.20), (5.0, 0.30)]}))
    outcome, test = lin.matched_gap_rule(one_seed)
    assert outcome == "inconclusive" and test.n == 1  # a large gap, but no test is possible
    mixed = lin.matched_pairs(seeds_with_gaps({0: [(3.0, 0.05)], 1: [(4.0, -0.04)], 2: [(5.0, 0.01)]}))
    assert lin.matched_gap_rule(mixed)[0] == "inconclusive"


def test_matched_gap_rule_not_run_when_no_matched_napl_falls_in_the_range():
    pairs = lin.matched_pairs(seeds_with_gaps({0: [(9.0, 0.05)], 1: [(10.0, 0.05)]}))
    assert lin.matched_gap_rule(pairs, (2.0, 6.0))[0] == "not run"


# ----------------------------------------------------------------------------- the trend rule


def trend_gaps(napls, gaps):
    return pd.DataFrame({"napl": napls, "gap": gaps})


def test_trend_rule_reproduced_when_the_gap_grows_as_napl_falls():
    outcome, rho, p, n = lin.trend_rule(trend_gaps([1, 2, 4, 6, 9, 12], [0.09, 0.08, 0.05, 0.03, 0.02, 0.0]))
    assert outcome == "reproduced" and rho == pytest.approx(-1.0) and p < 0.05 and n == 6


def test_trend_rule_not_reproduced_when_the_gap_shrinks_as_napl_falls():
    assert lin.trend_rule(trend_gaps([1, 2, 4, 6, 9, 12], [0.0, 0.01, 0.02, 0.04, 0.05, 0.08]))[0] == "not reproduced"


def test_trend_rule_inconclusive_on_a_hump_or_too_few_points_and_not_run_without_points():
    assert lin.trend_rule(trend_gaps([1, 2, 4, 6, 9, 12], [0.0, 0.04, 0.09, 0.05, 0.01, 0.0]))[0] == "inconclusive"
    assert lin.trend_rule(trend_gaps([2, 4], [0.09, 0.01]))[0] == "inconclusive"
    assert lin.trend_rule(pd.DataFrame())[0] == "not run"


# ----------------------------------------------------------------------------- configs and verdicts


def test_the_start_network_comes_first_and_every_post_training_run_starts_from_it():
    settings = resolve(lin.NAME, "smoke")
    start, *post = lin.configs(settings)
    assert not start.start_from and start.experiment == lin.NAME
    assert len(post) == sum(len(v) for v in settings["omegas"].values()) * len(settings["seeds"])
    assert {c.start_from for c in post} == {f"{lin.NAME}/{start.key}"}
    assert {c.linearize for c in post} == {"channel", "layer"}


def test_book_configs_name_the_stored_runs():
    """The book's runs in data/results are named by their configs' hashes: a changed budget value
    would orphan them (and retrain for hours)."""
    from resdepth.files import project_data_dir

    results = project_data_dir() / "results"
    if not (results / lin.NAME).is_dir():
        pytest.skip("no stored linearization runs in this checkout")
    missing = [c.key for c in lin.configs(resolve(lin.NAME, "book"))
               if not (results / c.experiment / f"{c.key}.json").is_file()]
    assert not missing


def test_missing_parts_name_what_the_book_budget_does_not_reach():
    book = lin.missing_parts(resolve(lin.NAME, "book"))
    assert book == ["CIFAR-100/ImageNet", "RepVGG-A2 at full width", "60 post-training epochs", "one start network"]
    assert lin.missing_parts(resolve(lin.NAME, "paper")) == ["one start network"]


def test_verdicts_give_one_verdict_per_claim_listing_every_matched_napl():
    runs = seeds_with_gaps({0: [(1.0, -0.01), (3.0, 0.050), (5.0, 0.060), (9.0, 0.01)],
                            1: [(1.0, 0.00), (3.0, 0.052), (4.0, 0.055), (9.0, 0.012)]})
    verdicts = lin.verdicts(lin.Results(runs=runs, budget="hand-made"), resolve(lin.NAME, "book"))
    assert [v.claim for v in verdicts] == list(lin.CLAIMS)
    gap = verdicts[0]
    assert gap.outcome == "partly reproduced" and "60 post-training epochs" in gap.missing  # capped by the budget
    for label in ("NAPL 1 (", "NAPL 3 (", "NAPL 4–5 (", "NAPL 9 ("):
        assert label in gap.ours and label in gap.statistic
    assert "NAPL 1 (ω 1): -0.50" in gap.ours  # a negative gap is reported too
    assert "n = 2" in gap.statistic
    assert verdicts[1].outcome == "inconclusive"  # the gap rises, then falls: no monotone trend


def test_verdicts_say_not_run_without_a_matched_napl():
    runs = runs_of([linearization_record("channel", 0.1, 0, 2.0, 0.8), linearization_record("layer", 1.0, 0, 9.0, 0.8)])
    verdicts = lin.verdicts(lin.Results(runs=runs, budget="hand-made"), resolve(lin.NAME, "smoke"))
    assert [v.outcome for v in verdicts] == ["not run"] * 4  # the last two: no ladder, no random-mask control


def test_napls_are_recomputed_from_the_stored_fractions_under_todays_convention(monkeypatch):
    """The RepVGG records' stored NAPLs agree with today's walk; the two Option-A ResNet-20 records
    whose NAPL changed with the walk's split at Option-A adds (issue 13) now read the new value."""
    from resdepth.experiments import resnet56_ablation as abl
    from resdepth.store import Store

    monkeypatch.delenv("RESDEPTH_RESULTS")
    store = Store(profile="book")
    for module in (lin, abl):
        records = [r for r in (store.load(c) for c in module.configs(resolve(module.NAME, "book"))[1:]) if r]
        got, stored = lin.record_napls(records), [r["linearization"]["napl"] for r in records]
        changed = {r["key"]: (round(s, 4), round(g, 4)) for r, s, g in zip(records, stored, got) if abs(s - g) > 1e-9}
        assert records
        assert changed == ({} if module is lin else {"a7af8acaeb4469c7": (7.5, 7.75),
                                                      "c34d89050464c1df": (6.9766, 7.0352)})


def test_book_v2_is_the_protocol_planned_before_its_runs_and_reuses_the_first_start_network():
    """book_v2 (issue 13): 3 start networks x 2 seeds, penalty 1 epoch then 2 epochs of fine-tuning,
    7 omegas per granularity, a random mask per channel-wise run, a 4-epoch calibration."""
    v1, v2 = resolve(lin.NAME, "book"), resolve(lin.NAME, "book", budget="book_v2")
    everything = lin.configs(v2)
    runs = mn.protocol_configs(v2, lin.NAME)  # all ten classes; the grid and the ladder's rungs are checked below
    starts = [c for c in runs if not c.start_from]
    assert [s.seed for s in starts] == [0, 1, 2] and starts[0].key == lin.configs(v1)[0].key
    penalties = [c for c in runs if c.linearize and not c.mask]
    assert len(penalties) == 3 * 2 * 14 and {c.epochs for c in penalties} == {1}
    tuned = [c for c in runs if c.mask]
    assert {c.epochs for c in tuned} == {2, 4} and sum(c.epochs == 4 for c in tuned) == 4
    assert sum(c.mask == "random" for c in tuned) == 3 * 2 * 7
    # the first budget's penalty runs of start 0 whose omega stayed in the grid are the same runs
    shared = {c.key for c in lin.configs(v1)} & {c.key for c in penalties}
    assert len(shared) == 2 * 14  # every omega of book_v2 was in the first grid
    assert lin.missing_parts(v2) == ["CIFAR-100/ImageNet", "RepVGG-A2 at full width", "60 post-training epochs"]
    # the difficulty ladder: 3 start networks per class subset, one seed, no random masks or calibration
    for classes in ([1, 9], [0, 2, 4, 6]):
        rung = [c for c in everything if c.classes == tuple(classes)]
        assert sorted(c.seed for c in rung if not c.start_from) == [0, 1, 2]
        assert len(rung) == 3 + 3 * 14 * 2 and {c.mask for c in rung if c.mask} == {"learned"}
        assert all(c.seed == 0 for c in rung if c.start_from)
    assert len(runs) == 3 + 3 * 2 * (14 + 14 + 7) + 4
    # the phase-2 grid (added 2026-12-04): the calibration's 4 nets at 2 more learning rates x 2 lengths,
    # and its extension (8 epochs at 1e-4 and 3e-4, not at 1e-3)
    grid = [c for c in everything if not c.classes and c not in runs]
    first = [c for c in grid if c.epochs != 8]
    assert len(first) == 4 * 2 * 2 and {c.lr for c in first} == {3e-4, 1e-3} and {c.epochs for c in first} == {2, 4}
    longer = [c for c in grid if c.epochs == 8]
    assert len(longer) == 4 * 2 and sorted({c.lr for c in longer}) == [1e-4, 3e-4]
    assert {c.eval_every for c in longer} == {117} and {c.mask for c in longer} == {"learned"}
    assert len(everything) == len(runs) + len(grid) + 2 * (3 + 3 * 14 * 2)


def test_book_v3_is_book_v2_with_a_longer_phase_2_and_reuses_its_phase_1_and_the_grids_runs():
    """book_v3 (issue 13, written 2026-12-05 before its runs): book_v2's start networks and penalty
    runs, 8 epochs of phase 2 at 3e-4 for the omegas whose masks reach NAPL <= 8, random masks
    where the rule reads them, a 16-epoch calibration; the calibration nets' 8-epoch runs are the grid's."""
    v2, v3 = resolve(lin.NAME, "book", budget="book_v2"), resolve(lin.NAME, "book", budget="book_v3")
    before = set(lin.configs(v2))
    runs = mn.protocol_configs(v3, lin.NAME)
    assert all(c in before for c in runs if not c.mask)  # phase 1 is book_v2's: nothing of it trains again
    tuned = [c for c in runs if c.mask]
    assert {c.lr for c in tuned} == {3e-4} and sorted({c.epochs for c in tuned}) == [8, 16]
    assert sum(c.mask == "learned" and c.epochs == 8 for c in tuned) == 3 * 2 * 10
    assert sum(c.mask == "random" for c in tuned) == 3 * 2 * 4
    calibration = [c for c in tuned if c.epochs == 16]
    assert len(calibration) == 4 and {c.eval_every for c in calibration} == {234}
    reused = [c for c in tuned if c in before]
    assert len(reused) == 4 and {(c.epochs, c.eval_every, c.mask) for c in reused} == {(8, 117, "learned")}
    assert lin.sweep_parts(v3)[0] == runs and len(lin.sweep_parts(v3)) == 3  # no grid; the ladder's two rungs
    assert lin.missing_parts(v3) == lin.missing_parts(v2)
    assert lin.PROTOCOL_BUDGETS == ("book_v2", "book_v3")


def test_book_v3s_phase_2_is_the_stored_grids_provisional_choice(monkeypatch):
    """The committed phase-2 grid of book_v2 has no settled cell, and its provisional phase 2
    (``matched_napl.provisional_phase2``) is book_v3's learning rate and length."""
    from resdepth.store import Store

    monkeypatch.delenv("RESDEPTH_RESULTS", raising=False)
    v2, v3 = resolve(lin.NAME, "book", budget="book_v2"), resolve(lin.NAME, "book", budget="book_v3")
    grid = lin.phase2_grid_results(v2, Store(profile="book"))
    assert grid.missing == 0 and grid.choice[:2] == (None, None)
    assert mn.provisional_phase2(grid.runs, v2["phase2_grid"]) == (v3["finetune_lr"], v3["finetune_epochs"])


def test_the_protocol_trains_end_to_end_on_the_sample_and_every_claim_gets_a_verdict(isolated_store):
    from resdepth.results import sweep
    from resdepth.store import Store

    settings = {**resolve(lin.NAME, "smoke"), "start_seeds": [0, 1], "seeds": [0], "finetune_epochs": 1,
                "post_train_images": 128, "omegas": {"channel": [0.1, 3.0], "layer": [1.0, 1e4]},
                "random_masks": True, "napl_points": [1, 2, 4, 8],
                "calibration": {"epochs": 2, "eval_every": 1, "omegas": {"channel": [3.0]}},
                "ladder": {"trouser vs ankle boot": [1, 9]}, "ladder_seeds": [0]}
    settings["phase2_grid"] = {"lrs": [settings["post_lr"], 10 * settings["post_lr"]], "epochs": [1, 2]}
    settings["alpha_lr"] = 0.2  # a few steps must move slopes to 1 (at 0.5 the calibration's phase 2 explodes at chance)
    store = Store(profile="smoke")
    records = sweep(lin.configs(settings), store, progress=False, executor="local")
    assert all(r["status"] == "ok" for r in records)
    results = lin.protocol_results(settings, store, name="v2")
    assert results.missing == 0 and len(results.runs) == 2 * (4 + 2) + 1
    assert set(results.runs["arm"]) == {"channel", "layer", "random"}
    assert sorted(results.start_errors.index) == [0, 1] and results.start_errors.between(0, 1).all()
    assert len(results.calibration) == 1 and len(results.history) > 2  # the curve of the longer phase 2
    verdicts = lin.protocol_verdicts(results, store)
    assert [v.claim for v in verdicts] == list(lin.CLAIMS)
    assert all(v.outcome in ("inconclusive", "not run", "partly reproduced", "not reproduced") for v in verdicts)
    assert "still training" not in verdicts[2].ours  # the ladder is stored: its rule judges it
    # a rung not stored yet: the difficulty claim waits for it, the others are judged as before
    longer_ladder = dataclasses.replace(results, settings={**settings, "ladder": {
        **settings["ladder"], "tops": [0, 2, 4, 6]}})
    waiting = lin.protocol_verdicts(longer_ladder, store)
    assert waiting[2].outcome == "not run" and "the ladder is still training" in waiting[2].ours
    assert [v.summary for v in waiting[:2] + waiting[3:]] == [v.summary for v in verdicts[:2] + verdicts[3:]]
    # the chapter stands by the verdicts of the last protocol budget stored in full, the first budget's before
    assert lin.is_fully_stored(results) and not lin.is_fully_stored(None)
    assert [v.summary for v in lin.chapter_verdicts(None, settings, [results], store)] == [
        v.summary for v in verdicts]
    assert not lin.is_fully_stored(dataclasses.replace(results, missing=1))
    later = dataclasses.replace(results, name="later", settings={**settings, "ladder": {}})
    training = dataclasses.replace(later, missing=5)
    assert lin.standing_protocol([results, training]) is results and lin.standing_protocol([training]) is None
    assert lin.standing_protocol([results, later]) is later
    assert lin.superseded_verdicts(["first"], [training], store) == []  # the first budget stands
    assert lin.superseded_verdicts(["first"], [results, training], store) == [("book", ["first"])]
    superseded = lin.superseded_verdicts(["first"], [results, training, later], store)
    assert [name for name, _ in superseded] == ["book", "v2"] and results.budget.startswith("v2: ")
    assert [v.summary for v in superseded[1][1]] == [v.summary for v in verdicts]
    # a budget replaced before its ladder was trained says so, not that the ladder is still training
    replaced = lin.superseded_verdicts(["first"], [longer_ladder, later], store)[1][1][2]
    assert replaced.outcome == "not run" and "never trained: later replaced this budget first" in replaced.ours
    # a later budget's compute line tells the hours of the runs it reuses apart from its own
    assert "reused" not in results.budget
    hours = lambda budget: [float(h) for h in re.findall(r"([\d.]+) h of", budget)]
    every_run = {c.key for c in lin.configs(settings)}
    total, reused = hours(lin.protocol_results(settings, store, name="again", earlier={"v2": every_run}).budget)
    assert total == reused
    hour_each = [{**r, "provenance": {**r["provenance"], "wall_time_s": 3600.0}}
                 for r in map(store.load, lin.configs(settings))]  # runs of an hour each: no rounding to 0.00 h
    starts = {c.key for c in mn.start_configs(settings, lin.NAME)}
    assert lin.reused_compute(hour_each, {"v1": starts}) == f", {len(starts):.2f} h of it in runs of v1 (reused)"
    assert lin.reused_compute(hour_each, {"v1": set()}) == ""
    assert lin.reused_compute(hour_each, {"v2": every_run}) == f", {len(hour_each):.2f} h of it in runs of v2 (reused)"
    for figure in (lin.plot_protocol_accuracy, lin.plot_protocol_gaps, lin.plot_calibration):
        assert figure(results).axes[0].has_data()
    table = lin.protocol_gap_table(results)
    assert list(table["NAPL"]) == sorted(set(results.gaps["napl"]) | set(results.random_gaps["napl"]))
    # the phase-2 grid: the protocol's and the calibration's runs are two of its four cells
    grid = lin.phase2_grid_results(settings, store)
    assert grid.missing == 0 and sorted(zip(grid.runs["lr"], grid.runs["epochs"])) == sorted(
        (lr, e) for lr in settings["phase2_grid"]["lrs"] for e in (1, 2))
    assert len(lin.phase2_grid_table(grid)) == 4 and grid.choice[2]  # a choice, or why there is none
    assert grid.provisional[1] == 2 and grid.provisional[0] in settings["phase2_grid"]["lrs"]  # the longest cell
    assert dataclasses.replace(grid, missing=1).provisional == (None, None)
    assert lin.plot_phase2_grid(grid).axes[0].has_data()
    assert lin.phase2_grid_results({**settings, "phase2_grid": {}}, store) is None


def test_the_sweep_trains_the_protocol_before_the_difficulty_ladder():
    """Issue 13's compute plan: the controlled protocol first (start networks, penalty runs, then
    fine-tuning with learned and random masks), its phase-2 grid, then each rung of the ladder; the chapter's runs are
    the parts in that order, and no part needs a run of a later one."""
    from resdepth.experiments import resolve, sweep_configs, sweep_parts

    parts = sweep_parts("linearization_napl", "book", "book_v2")
    flat = [c for part in parts for c in part]
    assert list({c.key: c for c in flat}.values()) == sweep_configs("linearization_napl", "book", "book_v2")
    assert len(parts) == 4 and not any(c.classes for c in parts[0] + parts[1])
    # the grid's new runs at the protocol's learning rate are its extension's 8 epochs; the rest are other rates
    assert all(c.lr != 1e-4 or c in parts[0] or c.epochs == 8 for c in parts[1])
    assert [sorted({c.classes for c in part}) for part in parts[2:]] == [[(1, 9)], [(0, 2, 4, 6)]]
    assert any(c.mask == "random" for c in parts[0])
    seen = set()
    for part in parts:
        seen |= {f"{c.experiment}/{c.key}" for c in part}
        assert all(c.start_from in seen for c in part if c.start_from)
    assert len(sweep_parts("linearization_napl", "book")) == 1
    assert resolve("linearization_napl", "book", "book_v2")["ladder_seeds"] == [0]


def hand_made_rung(gaps_by_start: dict, errors: dict, missing: int = 0) -> "lin.ProtocolResults":
    """One rung of a ladder with the given gaps ({start: {napl: gap}}) and start errors, nothing else."""
    gaps = pd.DataFrame([{"start": s, "napl": n, "gap": g, "seeds": 1} for s, points in gaps_by_start.items()
                         for n, g in points.items()], columns=["start", "napl", "gap", "seeds"])
    empty = pd.DataFrame()
    return lin.ProtocolResults(settings={}, name="", runs=empty, at_points=empty, gaps=gaps, random_gaps=empty,
                               calibration=empty, history=empty, start_errors=pd.Series(errors, dtype=float),
                               budget="b", stored=2 * len(errors), missing=missing)


def test_the_ladder_figure_and_table_show_the_difficulty_rules_data():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = [("all", hand_made_rung({0: {1: 0.03, 2: 0.01, 6: 0.5}, 1: {2: 0.02}, 2: {4: 0.04}},
                                     {0: 0.10, 1: 0.12, 2: 0.11})),
              ("easy", hand_made_rung({0: {4: 0.002}, 1: {4: 0.004}, 2: {8: 0.1}}, {0: 0.01, 1: 0.02, 2: 0.0}))]
    assert lin.ladder_training(levels) == ""
    levels[1][1].budget = "easy's own runs, 2.5 h"
    assert lin.ladder_budget(levels) == "b; easy rung: easy's own runs, 2.5 h"
    table = lin.ladder_summary(levels)
    assert list(table["rung"]) == ["all", "easy"] and list(table["start networks"]) == [3, 2]
    assert table["gap at NAPL ≤ 4 (points)"].tolist() == pytest.approx([100 * (0.02 + 0.02 + 0.04) / 3, 0.3])
    assert table["start networks' test error (%)"].tolist() == pytest.approx([11.0, 1.0])
    assert table["runs stored"].tolist() == ["6 of 6", "6 of 6"]
    fig = lin.plot_ladder(levels)
    left, right = fig.axes
    points = [len(line.get_xdata()) for line in left.lines if line.get_marker() == "o"]
    assert points == [4, 2]  # all: NAPL 1, 2, 4, 6; easy: NAPL 4, 8
    dots = np.concatenate([c.get_offsets() for c in right.collections])
    # one dot per start network with a gap at NAPL <= 4, in percent and points: easy start 2 reaches only NAPL 8
    np.testing.assert_allclose(sorted(map(tuple, dots)), [(1, 0.2), (2, 0.4), (10, 2), (11, 4), (12, 2)])
    fit = mn.rule_difficulty(lin.ladder_table(levels), ("c", "p"), "b")  # the dashed line is the rule's own fit
    assert f"slope {float(fit.statistic.split()[1]):+.3f}" in right.get_legend_handles_labels()[1][-1]
    plt.close(fig)
    waiting = levels + [("tops", hand_made_rung({}, {0: 0.2}, missing=5))]
    # the rungs after the first: 6 + 2 + 5 runs
    assert lin.ladder_training(waiting) == "the ladder is still training: 5 of 13 runs not stored yet"
    # a budget replaced before its ladder was trained does not say it is still training
    assert lin.ladder_training(waiting, "book_v3") == ("5 of the ladder's 13 runs were never trained: book_v3 "
                                                       "replaced this budget first")
    assert lin.ladder_training(levels, "book_v3") == ""


def test_the_ladder_check_refits_the_rule_without_each_rung():
    from scipy import stats

    levels = [("all", hand_made_rung({0: {2: 0.03}, 1: {2: 0.01}}, {0: 0.10, 1: 0.12})),
              ("easy", hand_made_rung({0: {4: 0.002}, 1: {4: 0.004}}, {0: 0.01, 1: 0.0})),
              ("hard", hand_made_rung({0: {3: 0.06}, 1: {1: 0.02, 6: 0.9}}, {0: 0.2, 1: 0.25}))]
    check = lin.ladder_leave_one_out(levels)
    assert list(check["rungs"]) == ["every rung (the rule)", "without all", "without easy", "without hard"]
    assert list(check["start networks"]) == [6, 4, 4, 4]
    slope = check["slope (points of gap per point of error)"]
    rule = mn.rule_difficulty(lin.ladder_table(levels), ("c", "p"), "b")
    assert f"slope {slope[0]:+.3f}" in rule.statistic  # the first line is the rule's own fit
    # without the easy rung: the 4 start networks of "all" and "hard" (hard start 1's gap at NAPL <= 4 is 0.02)
    fit = stats.linregress([0.10, 0.12, 0.2, 0.25], [0.03, 0.01, 0.06, 0.02])
    assert slope[2] == pytest.approx(fit.slope) and check["p"][2] == f"{fit.pvalue:.2g}"
    two = lin.ladder_leave_one_out(levels[:2])  # leaving one of two rungs out leaves too few to fit
    assert two["p"].tolist()[1:] == ["—", "—"] and two["slope (points of gap per point of error)"][1:].isna().all()
