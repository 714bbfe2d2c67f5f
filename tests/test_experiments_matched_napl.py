"""The controlled linearization protocol's tables and rules (resdepth.experiments.matched_napl), on
hand-made runs: written before any run of the protocol."""

import math

import numpy as np
import pandas as pd
import pytest

from resdepth.errors import ConfigError
from resdepth.experiments import matched_napl as mn

CLAIM = ("a claim", "the paper's value")
CHANNEL_NAPLS = [0.8, 1.7, 3.0, 4.2, 6.0, 8.1, 12.0]
LAYER_NAPLS = [1.0, 2.0, 4.0, 5.0, 7.0, 9.0, 11.0]


def base(napl):
    return 0.6 + 0.025 * napl  # accuracy rising with NAPL, as post-training gives


def hand_runs(gap, starts=(0, 1, 2), seeds=(0, 1), random_gap=None, noise=0.0, epochs=2):
    """Fine-tuning lines: the layer-wise arm on ``base``, the channel arm ``gap(start, napl)`` above it,
    and the random arm ``random_gap(start, napl)`` above layer-wise (if given); ``noise`` shifts each
    (start, seed) by a fixed pseudo-random amount common to every arm."""
    rng = np.random.default_rng(0)
    rows = []
    for start in starts:
        for seed in seeds:
            shift = noise * rng.standard_normal()
            for i, n in enumerate(LAYER_NAPLS):
                rows.append(dict(start=start, seed=seed, arm="layer", omega=10.0 ** -i, epochs=epochs, status="ok",
                                 napl=n, test_acc=base(n) + shift))
            for i, n in enumerate(CHANNEL_NAPLS):
                rows.append(dict(start=start, seed=seed, arm="channel", omega=10.0 ** -i, epochs=epochs, status="ok",
                                 napl=n, test_acc=base(n) + gap(start, n) + shift))
                if random_gap is not None:
                    rows.append(dict(start=start, seed=seed, arm="random", omega=10.0 ** -i, epochs=epochs,
                                     status="ok", napl=n, test_acc=base(n) + random_gap(start, n) + shift))
    return pd.DataFrame(rows, columns=["start", "seed", "arm", "omega", "epochs", "status", "napl", "test_acc"])


def gaps_of(runs, points=(1, 2, 3, 4, 6, 8, 10)):
    return mn.gaps_by_start(mn.accuracy_at_points(runs, points, 2))


# ----------------------------------------------------------------------------- tables


def test_accuracy_is_interpolated_at_the_points_inside_each_arms_range_only():
    runs = hand_runs(lambda s, n: 0.0, starts=(0,), seeds=(0,))
    at = mn.accuracy_at_points(runs, [0.5, 1, 2, 10, 11.5], 2)
    layer = at[at["arm"] == "layer"].set_index("napl")["acc"]
    channel = at[at["arm"] == "channel"].set_index("napl")["acc"]
    assert list(layer.index) == [1.0, 2.0, 10.0]  # 0.5 and 11.5 lie outside 1 .. 11: never extrapolated
    assert list(channel.index) == [1.0, 2.0, 10.0, 11.5]
    assert layer.to_numpy() == pytest.approx([base(1), base(2), base(10)])  # exact on a line
    assert mn.accuracy_at_points(runs, [1], 3).empty  # only the runs of the given phase-2 length


def test_runs_at_one_napl_are_averaged_and_failed_runs_left_out():
    runs = hand_runs(lambda s, n: 0.0, starts=(0,), seeds=(0,))
    extra = runs[(runs["arm"] == "layer") & (runs["napl"] == 2.0)].assign(test_acc=base(2) + 0.1, omega=5.0)
    broken = extra.assign(status="diverged", test_acc=math.nan, omega=6.0)
    at = mn.accuracy_at_points(pd.concat([runs, extra, broken]), [2], 2)
    assert at[at["arm"] == "layer"]["acc"].item() == pytest.approx(base(2) + 0.05)


def test_gaps_are_averaged_over_the_seeds_of_each_start_network():
    runs = hand_runs(lambda s, n: 0.02 * (s + 1), seeds=(0, 1))
    gaps = gaps_of(runs)
    assert set(gaps["napl"]) == {1, 2, 3, 4, 6, 8, 10}
    assert gaps.groupby("start")["gap"].mean().to_numpy() == pytest.approx([0.02, 0.04, 0.06])
    assert set(gaps["seeds"]) == {2}
    table = mn.gap_table(gaps)
    assert list(table["napl"]) == [1, 2, 3, 4, 6, 8, 10] and set(table["starts"]) == {3} and set(table["seeds"]) == {6}
    assert table["gap"].to_numpy() == pytest.approx([0.04] * 7)
    page = mn.gap_columns(gaps, "channel − layer")
    assert list(page.index) == [1, 2, 3, 4, 6, 8, 10] and set(page["channel − layer: start networks (seed pairs)"]) == {"3 (6)"}
    assert page["channel − layer (points)"].to_numpy() == pytest.approx([4.0] * 7)
    one = mn.gap_columns(gaps[gaps["start"] == 0], "x")
    assert set(one["x: 95% CI"]) == {"— (one start network)"} and set(one["x: p"]) == {"—"}


# ----------------------------------------------------------------------------- rules


def test_matched_gap_reproduced_when_every_start_network_shows_a_gap_at_low_napl():
    gaps = gaps_of(hand_runs(lambda s, n: 0.03 + 0.005 * s if n <= 4 else -0.01))  # negative above 4: not judged
    verdict = mn.rule_matched_gap(gaps, CLAIM, "budget")
    assert verdict.outcome == "reproduced" and "n = 3 start networks" in verdict.statistic
    assert "NAPL 10: -1.00" in verdict.ours  # every point is reported, the negative ones too


def test_matched_gap_not_reproduced_when_layer_wise_wins_and_inconclusive_when_starts_disagree():
    assert mn.rule_matched_gap(gaps_of(hand_runs(lambda s, n: -0.02 - 0.003 * s)), CLAIM, "b").outcome == \
        "not reproduced"
    mixed = gaps_of(hand_runs(lambda s, n: [0.05, -0.04, 0.01][s]))
    assert mn.rule_matched_gap(mixed, CLAIM, "b").outcome == "inconclusive"
    one = gaps_of(hand_runs(lambda s, n: 0.05, starts=(0,)))  # one start network: no test, whatever its seeds say
    assert mn.rule_matched_gap(one, CLAIM, "b").outcome == "inconclusive"


def test_matched_gap_not_run_without_a_point_at_low_napl_and_capped_by_missing_parts():
    high = gaps_of(hand_runs(lambda s, n: 0.05), points=(6, 8))
    assert mn.rule_matched_gap(high, CLAIM, "b").outcome == "not run"
    capped = mn.rule_matched_gap(gaps_of(hand_runs(lambda s, n: 0.03 + 0.01 * s)), CLAIM, "b", "60 epochs")
    assert capped.outcome == "partly reproduced"


def test_gap_trend_reproduced_when_the_gap_grows_as_napl_falls_in_every_start_network():
    falling = gaps_of(hand_runs(lambda s, n: (0.1 + 0.01 * s) - 0.008 * n))
    assert mn.rule_gap_trend(falling, CLAIM, "b").outcome == "reproduced"
    rising = gaps_of(hand_runs(lambda s, n: 0.008 * n + 0.001 * s * n))
    assert mn.rule_gap_trend(rising, CLAIM, "b").outcome == "not reproduced"
    flat_mixed = gaps_of(hand_runs(lambda s, n: [0.004, -0.004, 0.0005][s] * n))
    assert mn.rule_gap_trend(flat_mixed, CLAIM, "b").outcome == "inconclusive"
    two_points = gaps_of(hand_runs(lambda s, n: -0.01 * n), points=(1, 2))
    assert mn.rule_gap_trend(two_points, CLAIM, "b").outcome == "not run"


def test_random_mask_control_decides_on_random_minus_layer_and_reports_learned_minus_random():
    runs = hand_runs(lambda s, n: 0.05, random_gap=lambda s, n: 0.02 + 0.002 * s)
    at = mn.accuracy_at_points(runs, (1, 2, 3, 4, 6, 8, 10), 2)
    verdict = mn.rule_random_mask(at, runs, CLAIM, "b", 2)
    assert verdict.outcome == "reproduced"
    assert "learned minus random channel masks at equal NAPL: +2.80" in verdict.ours
    assert mn.learned_minus_random(runs, 2).to_numpy() == pytest.approx([0.03, 0.028, 0.026])
    worse = hand_runs(lambda s, n: 0.05, random_gap=lambda s, n: -0.02 - 0.002 * s)
    at = mn.accuracy_at_points(worse, (1, 2, 3, 4), 2)
    assert mn.rule_random_mask(at, worse, CLAIM, "b", 2).outcome == "not reproduced"
    none = hand_runs(lambda s, n: 0.05)
    assert mn.rule_random_mask(mn.accuracy_at_points(none, (1, 2), 2), none, CLAIM, "b", 2).outcome == "not run"


def test_phase_two_settles_only_if_the_longer_calibration_adds_under_half_a_point():
    short = hand_runs(lambda s, n: 0.0, starts=(0,), seeds=(0,), epochs=2)
    calibrated = short[short["omega"].isin([1.0, 0.1])].copy()
    for gain, expect in ((0.004, None), (0.012, "gain up to +1.20 points")):
        longer = calibrated.assign(epochs=4, test_acc=calibrated["test_acc"] + gain)
        gains = mn.calibration_gains(pd.concat([short, longer]), 2, 4)
        assert len(gains) == 4 and gains["gain"].to_numpy() == pytest.approx([gain] * 4)
        note = mn.settled_note(gains, 2, 4)
        assert note is None if expect is None else expect in note
    assert "no 4-epoch calibration run" in mn.settled_note(mn.calibration_gains(short, 2, 4), 2, 4)


# ----------------------------------------------------------------------------- configs and records


SETTINGS = dict(dataset="sample", start_model="repvgg_a0", start_args=dict(width_scale=0.25), epochs=1,
                batch_size=64, lr=0.05, weight_decay=5e-4, start_seeds=[0, 1], seeds=[0, 1], post_epochs=1,
                finetune_epochs=2, post_lr=1e-4, alpha_lr=0.05, post_train_images=256,
                omegas={"channel": [0.03, 3.0], "layer": [1.0, 30.0, 100.0]}, random_masks=True,
                napl_points=[1, 2], calibration={"epochs": 4, "eval_every": 2, "omegas": {"channel": [3.0],
                                                                                            "layer": [30.0]}})


def test_protocol_configs_chain_start_penalty_and_fine_tuning():
    runs = mn.protocol_configs(SETTINGS, "proto")
    starts = runs[:2]
    assert [s.seed for s in starts] == [0, 1] and not any(s.start_from for s in starts)
    penalties = [c for c in runs if c.linearize and not c.mask]
    tuned = [c for c in runs if c.mask]
    assert len(penalties) == 2 * 2 * 5  # starts x seeds x omegas
    assert len(tuned) == 2 * 2 * (5 + 2) + 2  # a learned mask each, a random one per channel-wise run, calibration
    by_ref = {f"{c.experiment}/{c.key}": c for c in runs}
    for c in tuned:
        penalty = by_ref[c.start_from]
        assert not penalty.mask and penalty.omega > 0 and c.omega == 0 and c.seed == penalty.seed
        assert by_ref[penalty.start_from] in starts and c.linearize == penalty.linearize
    assert {c.mask for c in tuned if c.linearize == "layer"} == {"learned"}
    calibration = [c for c in tuned if c.epochs == 4]
    assert len(calibration) == 2 and {c.eval_every for c in calibration} == {2}
    assert all(by_ref[by_ref[c.start_from].start_from] is starts[0] for c in calibration)
    assert len({c.key for c in runs}) == len(runs)


def test_protocol_runs_find_each_fine_tunings_start_network_and_omega():
    runs = mn.protocol_configs(SETTINGS, "proto")
    records = []
    for i, c in enumerate(runs):
        record = {"config": c.to_dict(), "key": c.key, "status": "ok", "final": {"test_acc": 0.5 + i / 1000}}
        records.append(record)
    records[-3]["status"], records[-3]["final"] = "diverged", None
    table = mn.protocol_runs(records, runs[:2], [float(i) for i in range(len(records))])
    tuned = [c for c in runs if c.mask]
    assert len(table) == len(tuned)
    by_ref = {f"{c.experiment}/{c.key}": c for c in runs}
    for (_, row), c in zip(table.iterrows(), tuned):
        penalty = by_ref[c.start_from]
        assert row["start"] == by_ref[penalty.start_from].seed and row["omega"] == penalty.omega
        assert row["arm"] == {"learned": c.linearize, "random": "random"}[c.mask]
    assert table["status"].tolist().count("diverged") == 1 and table["test_acc"].isna().sum() == 1


GRID = {"lrs": [1e-4, 1e-3], "epochs": [2, 4]}
NETS = [("channel", 0.1), ("channel", 1.0), ("layer", 3.0), ("layer", 30.0)]


def grid_runs(acc, status=lambda lr, epochs, net: "ok"):
    """Phase-2 grid lines: ``acc(lr, epochs, net)`` for each cell of ``GRID`` and each of ``NETS``."""
    rows = [dict(start=0, seed=0, arm=arm, omega=omega, epochs=epochs, lr=lr, status=status(lr, epochs, (arm, omega)),
                 napl=2.0, test_acc=acc(lr, epochs, (arm, omega)))
            for lr in GRID["lrs"] for epochs in GRID["epochs"] for arm, omega in NETS]
    return pd.DataFrame(rows)


def test_phase2_grid_chooses_the_shortest_cell_within_half_a_point_of_the_grids_best():
    net_level = {net: 0.80 + 0.02 * i for i, net in enumerate(NETS)}
    # lr 1e-4 still rises from 2 to 4 epochs; lr 1e-3 reaches the top in 2 epochs (0.3 points short on average)
    fast = grid_runs(lambda lr, e, net: net_level[net] - (0.003 if (lr, e) == (1e-3, 2) else 0.03 / e if lr == 1e-4
                                                          else 0.0))
    cells = mn.phase2_cells(fast).set_index(["lr", "epochs"])
    assert cells.loc[(1e-3, 4), "shortfall"] == pytest.approx(0.0)
    assert cells.loc[(1e-3, 2), "shortfall"] == pytest.approx(0.003)
    assert cells.loc[(1e-4, 2), "shortfall"] == pytest.approx(0.015)
    lr, epochs, reason = mn.phase2_choice(fast, GRID)
    assert (lr, epochs) == (1e-3, 2) and "0.30 points" in reason
    # every cell still rising: only the longest phase 2 comes close, so no choice
    rising = grid_runs(lambda lr, e, net: net_level[net] - 0.02 / e - (0.01 if lr == 1e-4 else 0))
    assert mn.phase2_choice(rising, GRID)[:2] == (None, None)
    assert "needs a longer grid" in mn.phase2_choice(rising, GRID)[2]
    # a net that diverged in the fast cell: that cell is never settled, the slow one is chosen if close
    flat = grid_runs(lambda lr, e, net: net_level[net] - (0.001 if lr == 1e-4 else 0.0),
                     status=lambda lr, e, net: "diverged" if (lr, e, net) == (1e-3, 2, NETS[0]) else "ok")
    assert mn.phase2_choice(flat, GRID)[:2] == (1e-4, 2)
    assert math.isnan(mn.phase2_cells(flat).set_index(["lr", "epochs"]).loc[(1e-3, 2), "shortfall"])
    # not stored in full: no choice yet, whatever the stored cells say
    assert mn.phase2_choice(fast, GRID, missing=3) == (None, None, "the phase-2 grid is not stored in full yet "
                                                                   "(3 runs to train)")


def test_random_masks_can_be_limited_to_some_channel_omegas():
    every = [c for c in mn.protocol_configs(SETTINGS, "proto") if c.mask == "random"]
    some = [c for c in mn.protocol_configs({**SETTINGS, "random_omegas": [3.0]}, "proto") if c.mask == "random"]
    assert len(every) == 2 * 2 * 2 and len(some) == 2 * 2  # start networks x seeds x omegas
    assert set(some) < set(every)  # the same runs, fewer of them
    assert not any(c.mask == "random" for c in mn.protocol_configs({**SETTINGS, "random_masks": False,
                                                                     "random_omegas": [3.0]}, "proto"))


def test_a_phase2_learning_rate_changes_the_fine_tunings_only():
    plain = mn.protocol_configs(SETTINGS, "proto")
    assert mn.protocol_configs({**SETTINGS, "finetune_lr": SETTINGS["post_lr"]}, "proto") == plain  # same hashes
    faster = mn.protocol_configs({**SETTINGS, "finetune_lr": 3e-4}, "proto")
    assert len(faster) == len(plain)
    assert [c for c in faster if not c.mask] == [c for c in plain if not c.mask]  # starts and penalty runs reused
    tuned = [c for c in faster if c.mask]
    assert {c.lr for c in tuned} == {3e-4} and all(c not in plain for c in tuned)
    assert [c.replace(lr=SETTINGS["post_lr"]) for c in tuned] == [c for c in plain if c.mask]


def test_an_extended_phase2_grid_judges_its_longer_cells_with_the_same_rule():
    extended = {**GRID, "longer": {"lrs": [1e-4], "epochs": [8]}}
    assert mn.phase2_grid_cells(extended) == [(1e-4, 2), (1e-4, 4), (1e-3, 2), (1e-3, 4), (1e-4, 8)]
    assert mn.phase2_grid_cells({**GRID, "longer": {"lrs": [1e-4], "epochs": [4, 8]}})[-1:] == [(1e-4, 8)]  # once each
    assert (mn.longest_phase2(GRID), mn.longest_phase2(extended)) == (4, 8)  # the extension's cells count
    net_level = {net: 0.80 + 0.02 * i for i, net in enumerate(NETS)}

    def with_longer(acc):
        eight = pd.DataFrame([dict(start=0, seed=0, arm=arm, omega=omega, epochs=8, lr=1e-4, status="ok", napl=2.0,
                                   test_acc=acc(1e-4, 8, (arm, omega))) for arm, omega in NETS])
        return pd.concat([grid_runs(acc), eight], ignore_index=True)

    # 4 epochs at 1e-4 are 0.2 points below 8: settled, and the 8-epoch cell (the longest) is never chosen
    slowing = with_longer(lambda lr, e, net: net_level[net] - {2: 0.02, 4: 0.002, 8: 0.0}[e] - (0.01 if lr == 1e-3 else 0))
    cells = mn.phase2_cells(slowing).set_index(["lr", "epochs"])
    assert list(cells.index) == [(1e-4, 2), (1e-4, 4), (1e-4, 8), (1e-3, 2), (1e-3, 4)]  # no line for (1e-3, 8)
    assert cells.loc[(1e-4, 8), "shortfall"] == pytest.approx(0.0)
    assert mn.phase2_choice(slowing, extended)[:2] == (1e-4, 4)
    # 8 epochs still add a point: 4 is no longer settled, though it was the best of the first grid
    rising = with_longer(lambda lr, e, net: net_level[net] - {2: 0.03, 4: 0.01, 8: 0.0}[e])
    assert mn.phase2_choice(rising, GRID)[:2] == (None, None)  # the first grid: 4 was its longest
    assert mn.phase2_choice(rising, extended)[:2] == (None, None)
    assert "shorter than 8 epochs" in mn.phase2_choice(rising, extended)[2]
    # no settled cell: the provisional phase 2 is the longest one at its best learning rate
    assert mn.provisional_phase2(rising, extended) == (1e-4, 8)
    two_rates = {**GRID, "longer": {"lrs": [1e-4, 1e-3], "epochs": [8]}}
    faster = pd.concat([rising, rising[rising["epochs"] == 8].assign(lr=1e-3, test_acc=lambda d: d["test_acc"] + 0.002)],
                       ignore_index=True)
    assert mn.provisional_phase2(faster, two_rates) == (1e-3, 8)
    assert mn.provisional_phase2(faster[faster["epochs"] < 8], two_rates) == (None, None)  # the 8 epochs not stored


def test_phase2_grid_reuses_the_protocols_and_the_calibrations_runs():
    settings = {**SETTINGS, "phase2_grid": {"lrs": [1e-4, 1e-3], "epochs": [2, 4]}}
    grid = mn.phase2_grid_configs(settings, "proto")
    protocol = mn.protocol_configs(settings, "proto")
    tuned = [c for c in grid if c.mask]
    assert len(tuned) == 2 * 4  # the calibration's 2 nets x 2 learning rates x 2 lengths
    assert all(c in protocol for c in grid if not c.mask)  # the start network and penalty runs it starts from
    reused = [c for c in tuned if c in protocol]
    assert len(reused) == 4 and {(c.lr, c.epochs) for c in reused} == {(1e-4, 2), (1e-4, 4)}
    assert {c.lr for c in tuned if c not in protocol} == {1e-3} and {c.eval_every for c in tuned if c.lr == 1e-3} == {2}
    assert mn.phase2_grid_configs(SETTINGS, "proto") == []
    with pytest.raises(ConfigError, match="no calibration: set calibration .* or phase2_grid=\\{\\}"):
        mn.phase2_grid_configs({**settings, "calibration": {}}, "proto")


def ladder(gaps_by_level: dict) -> pd.DataFrame:
    """{level: (error, [gap per start network])} as ``rule_difficulty`` takes it."""
    return pd.DataFrame([{"level": level, "start": s, "error": error + 0.001 * s, "gap": gap}
                         for level, (error, gaps) in gaps_by_level.items() for s, gap in enumerate(gaps)])


def test_difficulty_rule_regresses_the_gap_on_the_start_networks_error():
    harder_bigger = ladder({"easy": (0.01, [0.000, 0.004, 0.002]), "tops": (0.2, [0.02, 0.025, 0.03]),
                            "all": (0.1, [0.01, 0.012, 0.015])})
    v = mn.rule_difficulty(harder_bigger, CLAIM, "b", "a proxy")
    assert v.outcome == "partly reproduced"  # supported, capped: a class-subset proxy
    assert "easy: +0.20 (error 1.1 %)" in v.ours and "over 9 start networks in 3 levels" in v.statistic
    assert mn.rule_difficulty(harder_bigger, CLAIM, "b").outcome == "reproduced"
    harder_smaller = harder_bigger.assign(gap=-harder_bigger["gap"])
    assert mn.rule_difficulty(harder_smaller, CLAIM, "b").outcome == "not reproduced"
    flat = ladder({"easy": (0.01, [0.01, -0.01, 0.0]), "all": (0.1, [0.0, 0.01, -0.01])})
    assert mn.rule_difficulty(flat, CLAIM, "b").outcome == "inconclusive"
    one_level = ladder({"all": (0.1, [0.01, 0.02, 0.03])})
    assert mn.rule_difficulty(one_level, CLAIM, "b").outcome == "not run"


def test_plot_gap_points_draws_the_gap_table_in_points_with_its_intervals():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gaps = pd.DataFrame({"start": [0, 1, 2, 0], "napl": [1.0, 1.0, 1.0, 2.0], "gap": [0.01, 0.03, 0.02, -0.01],
                         "seeds": [2, 2, 2, 2]})
    fig, ax = plt.subplots()
    mn.plot_gap_points(ax, gaps, 0.1, "C1", "channel minus layer-wise")
    line = ax.lines[0]
    assert list(line.get_xdata()) == pytest.approx([1.1, 2.1])
    assert list(line.get_ydata()) == pytest.approx([2.0, -1.0])  # points, not fractions
    table = mn.gap_table(gaps)
    (bars,) = ax.collections  # vertical error bars: the t-test's interval at NAPL 1, none at NAPL 2 (one start)
    (low, high), (low2, high2) = [segment[:, 1] for segment in bars.get_segments()]
    assert (low, high) == pytest.approx((100 * table["low"][0], 100 * table["high"][0]))
    assert low2 == high2 == pytest.approx(-1.0)
    assert ax.get_legend_handles_labels()[1] == ["channel minus layer-wise"]
    plt.close(fig)
