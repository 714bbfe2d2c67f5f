"""The controlled linearization protocol (issue 13), shared by ``linearization_napl`` and
``resnet56_ablation`` from their ``book_v2`` budgets on.

*ResNets Are Deeper Than You Think* compares channel-wise (variable-depth) and layer-wise
(fixed-depth) linearization at matched NAPL. The first book budget compared penalty runs of one
start network at whatever NAPL each omega happened to reach, with the penalty still on. Here:

1. **Start networks**: ``start_seeds``, each trained as the chapter's start network.
2. **Phase 1** (penalty): for each start, post-training seed, granularity and omega, ``post_epochs``
   of cross-entropy + omega * L0.5 with the freeze rule (``resdepth.posttraining.PostTraining``).
3. **Phase 2** (fine-tuning): the phase-1 mask fixed, the penalty off, ``finetune_epochs`` of the
   same optimizer for both granularities (``MaskFineTuning``, ``mask="learned"``), at weight learning
   rate ``finetune_lr`` where the budget sets one (else phase 1's ``post_lr``). Accuracy is read
   after phase 2. With ``random_masks``, each channel-wise mask (of ``random_omegas``, where the
   budget names them) also gets a random control: the
   same number of linear units per layer at random channels, fine-tuned the same way
   (``mask="random"``): a chain's NAPL is the same as the learned mask's.
4. **Matched NAPL by interpolation**: per start network, post-training seed and arm (channel,
   layer, random), the accuracy after phase 2 is interpolated linearly in NAPL at the fixed points
   ``napl_points`` that lie inside that arm's NAPL range (never extrapolated).
5. **Calibration**: for start 0 and seed 0, a few omegas are fine-tuned for ``calibration["epochs"]``
   instead of ``finetune_epochs``; where that gains more than ``SETTLED_POINTS`` of accuracy, phase
   2 had not settled, and every verdict says so.
6. **Phase-2 grid** (``phase2_grid``, written 2026-12-04 before its runs): the calibration's nets
   fine-tuned at every weight learning rate x length of the grid, to choose the next budget's phase
   2 by a rule fixed in advance (``phase2_choice``) instead of by eye. Where the rule answers that
   phase 2 needs a longer grid, the grid gains longer cells (``longer``) and the same rule judges
   the whole grid again.

The unit of replication is the start network: its post-training seeds share its weights, so they
are averaged first and the tests run over start networks (paired: both arms of a start share it).
Every rule below was written on 2026-12-03, before any run of this protocol, and is tested on
hand-made runs (``tests/test_experiments_matched_napl.py``).
"""

import math

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..errors import ConfigError
from ..linearize import fine_tune_config, post_train_config
from ..verdict import ALPHA, Verdict, not_run, paired_t_test

LOW_NAPL = 4.0  # the claim's range: NAPL points <= 4 ("variable depth wins at low NAPL"; the paper's CIFAR-100
#                 evidence is NAPL 3 to 5, its ImageNet gap grows below 12)
SETTLED_POINTS = 0.005  # accuracy (0.5 points) that a longer phase 2 may still add for phase 2 to count as settled
ARMS = ("channel", "layer", "random")  # channel- and layer-wise learned masks, and the random channel masks
ARM_OF_MASK = {("channel", "learned"): "channel", ("layer", "learned"): "layer", ("channel", "random"): "random"}


# ----------------------------------------------------------------------------- runs


def start_configs(settings: dict, experiment: str) -> list:
    """One start network per ``settings["start_seeds"]`` (cosine SGD, as the chapter's first budget)."""
    return [
        RunConfig(experiment=experiment, model=settings["start_model"], model_args=settings["start_args"],
                  dataset=settings["dataset"], epochs=settings["epochs"], batch_size=settings["batch_size"],
                  lr=settings["lr"], momentum=0.9, weight_decay=settings["weight_decay"], schedule="cosine",
                  seed=seed, classes=settings.get("classes", ()))
        for seed in settings["start_seeds"]
    ]


def penalty_config(settings: dict, start: RunConfig, granularity: str, omega: float, seed: int) -> RunConfig:
    """Phase 1 from ``start``: ``post_epochs`` with omega * L0.5 and the freeze rule."""
    return post_train_config(start, granularity, omega, epochs=settings["post_epochs"], lr=settings["post_lr"],
                             seed=seed, weight_decay=settings["weight_decay"], batch_size=settings["batch_size"],
                             train_images=settings["post_train_images"], alpha_lr=settings["alpha_lr"])


def phase2_config(settings: dict, penalty: RunConfig, mask: str, epochs: int) -> RunConfig:
    """Phase 2 of ``penalty`` with its ``mask``, ``epochs`` long, at the budget's phase-2 weight
    learning rate ``finetune_lr`` where it has one (book_v3 on: chosen by the phase-2 grid), else at
    phase 1's (book_v2: the same config as ever, so its stored runs keep their hashes)."""
    run = fine_tune_config(penalty, mask, epochs)
    lr = settings.get("finetune_lr", settings["post_lr"])
    return run if lr == run.lr else run.replace(lr=lr)


def random_mask_omegas(settings: dict) -> list:
    """The channel-wise omegas whose learned masks get a random control: ``random_omegas`` where
    the budget names them (book_v3: those whose masks reach the rules' NAPL <= ``LOW_NAPL``), else
    every channel-wise omega; none without ``random_masks``."""
    if not settings["random_masks"]:
        return []
    return settings.get("random_omegas", settings["omegas"]["channel"])


def protocol_configs(settings: dict, experiment: str) -> list:
    """Every run of the protocol: the start networks, then per start, post-training seed,
    granularity and omega the penalty run, its learned-mask fine-tuning and (channel-wise, with
    ``random_masks``) its random-mask fine-tuning; then the calibration's longer fine-tunings."""
    starts = start_configs(settings, experiment)
    runs = list(starts)
    for start in starts:
        for seed in settings["seeds"]:
            for granularity in ("channel", "layer"):
                for omega in settings["omegas"][granularity]:
                    penalty = penalty_config(settings, start, granularity, omega, seed)
                    tuned = phase2_config(settings, penalty, "learned", settings["finetune_epochs"])
                    if (start, seed) == (starts[0], settings["seeds"][0]):
                        tuned = traced_if_calibrated(settings, tuned, granularity, omega)
                    runs += [penalty, tuned]
                    if granularity == "channel" and omega in random_mask_omegas(settings):
                        runs.append(phase2_config(settings, penalty, "random", settings["finetune_epochs"]))
    return runs + calibration_configs(settings, starts[0])


def traced_if_calibrated(settings: dict, tuned: RunConfig, granularity: str, omega: float) -> RunConfig:
    """The protocol's phase 2 ``tuned`` of start 0 and its first seed, evaluated every
    ``calibration["protocol_eval_every"]`` steps where the net is one of the calibration's and the
    budget sets that (book_v3: then the run is the phase-2 grid's cell, stored already, and the
    calibration figure has its curve); else ``tuned`` as it is."""
    calibration = settings["calibration"]
    if "protocol_eval_every" not in calibration or omega not in calibration["omegas"].get(granularity, []):
        return tuned
    return tuned.replace(eval_every=calibration["protocol_eval_every"])


def calibration_configs(settings: dict, start: RunConfig) -> list:
    """The longer phase 2 of ``settings["calibration"]`` (start 0, the first post-training seed),
    evaluated every ``calibration["eval_every"]`` steps to draw the curve."""
    calibration = settings["calibration"]
    if not calibration:
        return []
    return [
        phase2_config(settings, penalty_config(settings, start, granularity, omega, settings["seeds"][0]), "learned",
                      calibration["epochs"]).replace(eval_every=calibration["eval_every"])
        for granularity, omegas in calibration["omegas"].items()
        for omega in omegas
    ]



def phase2_cell_config(settings: dict, penalty: RunConfig, lr: float, epochs: int) -> RunConfig:
    """Phase 2 of the penalty run ``penalty`` with its learned mask, ``epochs`` long at weight learning
    rate ``lr``, evaluated every ``calibration["eval_every"]`` steps; at the protocol's own learning
    rate and length it is the protocol's fine-tuning itself (stored already: never trained twice)."""
    run = phase2_config(settings, penalty, "learned", epochs)
    if (lr, epochs) == (run.lr, settings["finetune_epochs"]):
        return run
    return run.replace(lr=lr, eval_every=settings["calibration"]["eval_every"])


def phase2_grid_cells(grid: dict) -> list:
    """The (weight learning rate, epochs) cells of a phase-2 grid, in order: ``lrs`` x ``epochs``,
    then ``lrs`` x ``epochs`` of its extension ``longer`` (where it has one), each cell once."""
    blocks = [grid, grid.get("longer") or {"lrs": [], "epochs": []}]
    return list(dict.fromkeys((lr, epochs) for block in blocks for lr in block["lrs"] for epochs in block["epochs"]))


def longest_phase2(grid: dict) -> int:
    """The longest phase 2 (epochs) of a phase-2 grid, over all its cells (``phase2_grid_cells``)."""
    return max(epochs for _, epochs in phase2_grid_cells(grid))


def phase2_grid_configs(settings: dict, experiment: str) -> list:
    """The phase-2 grid (``settings["phase2_grid"]``: weight learning rates ``lrs`` x lengths
    ``epochs``, and the cells of its extension ``longer``; ``phase2_grid_cells``) on the calibration's nets (start 0, the first post-training seed, the calibration's
    omegas): their start network and penalty runs first (the protocol's, stored), then one
    fine-tuning per net and cell. The cell at the protocol's learning rate and the calibration's
    length is the calibration run. [] without a grid."""
    grid = settings.get("phase2_grid")
    if not grid:
        return []
    if not settings.get("calibration"):
        raise ConfigError("phase2_grid fine-tunes the calibration's nets, and this budget has no calibration: set "
                          "calibration (epochs, eval_every, omegas) or phase2_grid={}")
    start = start_configs(settings, experiment)[0]
    penalties = [penalty_config(settings, start, granularity, omega, settings["seeds"][0])
                 for granularity, omegas in settings["calibration"]["omegas"].items() for omega in omegas]
    return [start, *penalties, *(phase2_cell_config(settings, penalty, lr, epochs) for penalty in penalties
                                 for lr, epochs in phase2_grid_cells(grid))]


# ----------------------------------------------------------------------------- tables


def protocol_runs(records: list, starts: list, napls: list) -> pd.DataFrame:
    """One line per fine-tuning run (phase 2): start seed, post-training seed, arm ("channel",
    "layer" or "random"), omega, epochs, learning rate of the weights, status, NAPL (``napls``, one per record) and final test
    accuracy. ``starts`` are the start configs: a run's start is found through its penalty run's
    ``start_from``, which ``records`` must hold too. Penalty runs and start networks get no line."""
    start_seed = {f"{s.experiment}/{s.key}": s.seed for s in starts}
    penalty_start = {f"{r['config']['experiment']}/{r['key']}": r["config"]["start_from"]
                     for r in records if r["config"].get("linearize") and not r["config"].get("mask")}
    rows = []
    for r, n in zip(records, napls):
        c = r["config"]
        if not c.get("mask"):
            continue
        ok = r["status"] == "ok"
        rows.append({"start": start_seed.get(penalty_start.get(c["start_from"])), "seed": c["seed"],
                     "arm": ARM_OF_MASK[(c["linearize"], c["mask"])], "omega": penalty_omega(records, c["start_from"]),
                     "epochs": c["epochs"], "lr": c["lr"], "status": r["status"], "napl": n if ok else math.nan,
                     "test_acc": r["final"]["test_acc"] if ok else math.nan})
    return pd.DataFrame(rows, columns=["start", "seed", "arm", "omega", "epochs", "lr", "status", "napl", "test_acc"])


def penalty_omega(records: list, ref: str) -> float:
    """The omega of the penalty run ``ref`` ("<experiment>/<key>") among ``records``."""
    for r in records:
        if f"{r['config']['experiment']}/{r['key']}" == ref:
            return r["config"]["omega"]
    return math.nan


def accuracy_at_points(runs: pd.DataFrame, points, epochs: int) -> pd.DataFrame:
    """Per start, post-training seed and arm, the test accuracy after phase 2 (runs of ``epochs``)
    interpolated linearly in NAPL at each of ``points`` inside that arm's NAPL range; a point
    outside it is left out (never extrapolated). Where two runs share a NAPL their mean is used.
    Columns: start, seed, arm, napl (the point), acc."""
    ok = runs[(runs["status"] == "ok") & (runs["epochs"] == epochs)]
    rows = []
    for (start, seed, arm), g in ok.groupby(["start", "seed", "arm"]):
        line = g.groupby("napl")["test_acc"].mean().sort_index()
        if len(line) < 2:
            continue
        for point in points:
            if line.index.min() <= point <= line.index.max():
                rows.append({"start": start, "seed": seed, "arm": arm, "napl": float(point),
                             "acc": float(np.interp(point, line.index, line.values))})
    return pd.DataFrame(rows, columns=["start", "seed", "arm", "napl", "acc"])


def gaps_by_start(at_points: pd.DataFrame, arm: str = "channel", other: str = "layer") -> pd.DataFrame:
    """The gap ``arm`` minus ``other`` at each NAPL point, per start network: the mean over the
    post-training seeds at which both arms reach the point. Columns: start, napl, gap, seeds."""
    wide = at_points.pivot_table(index=["start", "seed", "napl"], columns="arm", values="acc")
    if arm not in wide or other not in wide:
        return pd.DataFrame(columns=["start", "napl", "gap", "seeds"])
    both = (wide[arm] - wide[other]).dropna().rename("gap").reset_index()
    return (both.groupby(["start", "napl"])["gap"].agg(gap="mean", seeds="size").reset_index())


def gap_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """Per NAPL point: the mean gap over start networks, the paired t-test's 95 % interval over
    start networks and its p, and how many start networks x seeds entered. Every point is listed,
    those where the gap is zero or negative too."""
    rows = []
    for point, g in gaps.groupby("napl"):
        test = paired_t_test(g["gap"])
        rows.append({"napl": point, "gap": test.mean, "low": test.low, "high": test.high, "p": test.p,
                     "starts": test.n, "seeds": int(g["seeds"].sum())})
    return pd.DataFrame(rows, columns=["napl", "gap", "low", "high", "p", "starts", "seeds"])


def gap_columns(gaps: pd.DataFrame, name: str) -> pd.DataFrame:
    """``gap_table`` for the page, indexed by NAPL point, its columns prefixed by ``name``: the mean
    gap over start networks in points, the 95 % interval and p of the t-test over start networks,
    and how many start networks (and seed pairs) entered."""
    table = gap_table(gaps).set_index("napl")
    return pd.DataFrame({
        f"{name} (points)": 100 * table["gap"],
        f"{name}: 95% CI": [f"[{100 * lo:+.2f}, {100 * hi:+.2f}]" if lo == lo else "— (one start network)"
                            for lo, hi in zip(table["low"], table["high"])],
        f"{name}: p": [f"{p:.2g}" if p == p else "—" for p in table["p"]],
        f"{name}: start networks (seed pairs)": [f"{n} ({k})" for n, k in zip(table["starts"], table["seeds"])],
    }, index=table.index)


def plot_gap_points(ax, gaps: pd.DataFrame, offset: float, color: str, label: str) -> None:
    """``gap_table`` drawn on ``ax``: the mean gap at each NAPL point (shifted by ``offset`` so two
    series sit side by side), in points, with the paired t-test's 95 % interval as error bars (none
    where one start network reaches the point)."""
    table = gap_table(gaps)
    low, high = (table["gap"] - table["low"]).fillna(0), (table["high"] - table["gap"]).fillna(0)
    ax.errorbar(table["napl"] + offset, 100 * table["gap"], yerr=[100 * low, 100 * high], marker="o", capsize=3,
                color=color, label=label)


def per_start_mean(gaps: pd.DataFrame, low: float = LOW_NAPL) -> pd.Series:
    """Per start network, its mean gap over the NAPL points <= ``low`` it reaches."""
    return gaps[gaps["napl"] <= low].groupby("start")["gap"].mean()


def per_start_slope(gaps: pd.DataFrame) -> pd.Series:
    """Per start network with at least 3 NAPL points, the least-squares slope of its gap against
    NAPL (accuracy per unit of NAPL): negative when the gap grows as NAPL falls."""
    slopes = {start: float(np.polyfit(g["napl"], g["gap"], 1)[0])
              for start, g in gaps.groupby("start") if g["napl"].nunique() >= 3}
    return pd.Series(slopes, dtype=float)


def calibration_gains(runs: pd.DataFrame, finetune_epochs: int, longer: int) -> pd.DataFrame:
    """For each (arm, omega) of start 0 and its first seed fine-tuned both ``finetune_epochs``
    and ``longer`` epochs: the two accuracies and the gain of the longer phase 2."""
    ok = runs[runs["status"] == "ok"]
    short = ok[ok["epochs"] == finetune_epochs].set_index(["start", "seed", "arm", "omega"])["test_acc"]
    long_ = ok[ok["epochs"] == longer].set_index(["start", "seed", "arm", "omega"])["test_acc"]
    both = pd.concat({"acc": short, "acc_longer": long_}, axis=1, join="inner").reset_index()
    both["gain"] = both["acc_longer"] - both["acc"]
    return both


def settled_note(gains: pd.DataFrame, finetune_epochs: int, longer: int) -> str | None:
    """None where every calibrated run gained less than ``SETTLED_POINTS`` from the longer phase 2;
    else the part of the claim not covered, for every verdict ("phase 2 not settled ...")."""
    if not len(gains):
        return f"phase 2 not shown to settle (no {longer}-epoch calibration run yet)"
    worst = gains["gain"].max()
    if worst < SETTLED_POINTS:
        return None
    return (f"phase 2 not settled: {longer} epochs instead of {finetune_epochs} gain up to "
            f"{100 * worst:+.2f} points")



def phase2_cells(runs: pd.DataFrame) -> pd.DataFrame:
    """The phase-2 grid as a table: one line per (learning rate, epochs) cell, one column per
    calibration net ("<arm> omega <omega>": its test accuracy after that phase 2, nan where it
    diverged or is not stored), and the cell's shortfall: the mean over nets of the net's best
    accuracy anywhere in the grid minus its accuracy in the cell (nan unless every net is there).
    Only cells with a stored run have a line (a grid need not be a full product of lrs x epochs)."""
    if not len(runs):
        return pd.DataFrame(columns=["lr", "epochs", "shortfall"])
    ok = runs.assign(net=[f"{a} omega {o:g}" for a, o in zip(runs["arm"], runs["omega"])])
    ok = ok.assign(test_acc=ok["test_acc"].where(ok["status"] == "ok"))
    cells = ok.groupby(["lr", "epochs", "net"])["test_acc"].mean().unstack("net")
    cells = cells.reindex(columns=sorted(ok["net"].unique()))
    shortfall = (cells.max() - cells).mean(axis=1, skipna=False)
    return cells.assign(shortfall=shortfall).reset_index().rename_axis(columns=None)


def phase2_choice(runs: pd.DataFrame, grid: dict, missing: int = 0) -> tuple:
    """(learning rate, epochs, reason) of the next budget's phase 2, chosen from the phase-2 grid
    by a rule written on 2026-12-04, before the grid's runs.

    Per cell (``phase2_cells``) the shortfall is the mean over the calibration's nets of their best
    accuracy in the grid minus the cell's. A cell is settled where its shortfall is below
    ``SETTLED_POINTS`` and it is shorter than the grid's longest phase 2: no longer or faster
    fine-tuning in the grid added half a point. The choice is the shortest settled cell (least
    compute), ties to the smaller shortfall; a cell where a net diverged is never settled. (None,
    None, reason) while ``missing`` runs of the grid are not stored, or where no cell is settled: phase 2 then needs a longer grid. One seed of one start network:
    half a point is about the seed-to-seed spread of one run, so the rule can only say "no longer
    needed" at that resolution."""
    if missing:
        return None, None, f"the phase-2 grid is not stored in full yet ({missing} runs to train)"
    cells = phase2_cells(runs)
    longest = longest_phase2(grid)
    settled = cells[(cells["shortfall"] < SETTLED_POINTS) & (cells["epochs"] < longest)]
    if not len(settled):
        return None, None, (f"no cell shorter than {longest} epochs comes within {100 * SETTLED_POINTS:g} points of the "
                            "grid's best: phase 2 needs a longer grid")
    best = settled.sort_values(["epochs", "shortfall"]).iloc[0]
    return (float(best["lr"]), int(best["epochs"]),
            f"{int(best['epochs'])} epochs at lr {best['lr']:g} come within {100 * best['shortfall']:.2f} points of the "
            f"grid's best (mean over its {cells.shape[1] - 3} nets)")


def provisional_phase2(runs: pd.DataFrame, grid: dict) -> tuple:
    """(learning rate, epochs) of the next budget's phase 2 where ``phase2_choice`` finds no settled
    cell: the grid's longest phase 2, at the learning rate whose cell there has the smallest
    shortfall (``phase2_cells``), so the next budget fine-tunes as long and as well as the grid
    has seen; that budget's calibration (twice as long) then says whether it settled. Written on
    2026-12-05, when 2 of the extension's 8 runs were stored and before the others; (None, None)
    while a cell of that length has no shortfall (a net not stored or diverged)."""
    cells = phase2_cells(runs)
    longest = longest_phase2(grid)
    candidates = cells[(cells["epochs"] == longest) & cells["shortfall"].notna()]
    if not len(candidates):
        return None, None
    best = candidates.sort_values("shortfall").iloc[0]
    return float(best["lr"]), int(best["epochs"])


# ----------------------------------------------------------------------------- rules


def rule_matched_gap(gaps: pd.DataFrame, claim: tuple, budget: str, missing: str = "") -> Verdict:
    """Channel-wise beats layer-wise at matched NAPL (the paper's headline, at low NAPL).

    Statistic: per start network, the mean over its NAPL points <= ``LOW_NAPL`` of the gap
    (channel minus layer accuracy after phase 2, interpolated at the points, averaged over
    post-training seeds); a paired t-test over start networks, two-sided at ``ALPHA``:
    - reproduced: mean > 0 and p < 0.05;
    - not reproduced: mean < 0 and p < 0.05;
    - inconclusive: otherwise, including fewer than 2 start networks (no test);
    - not run: no start network reaches a point <= ``LOW_NAPL`` in both arms.
    """
    text, paper = claim
    rule = (f"per start network, the mean gap (channel minus layer accuracy after phase 2, interpolated at the fixed "
            f"NAPL points <= {LOW_NAPL:g}, mean over post-training seeds); paired t-test over start networks: "
            f"> 0 with p < {ALPHA} reproduced, < 0 with p < {ALPHA} not reproduced, else inconclusive")
    per_start = per_start_mean(gaps)
    if not len(per_start):
        return not_run("lin_matched_gap", text, paper, budget, rule,
                       f"no start network reaches a NAPL point <= {LOW_NAPL:g} in both granularities")
    test = paired_t_test(per_start.values)
    outcome = {1: "reproduced", -1: "not reproduced", 0: "inconclusive"}[test.sign]
    table = gap_table(gaps)
    ours = "gap after phase 2, points, mean over start networks: " + "; ".join(
        f"NAPL {r.napl:g}: {100 * r.gap:+.2f}" for r in table.itertuples())
    return Verdict("lin_matched_gap", text, paper, ours, budget, outcome, rule,
                   f"mean gap over NAPL <= {LOW_NAPL:g}: {test.describe(100, ' points')} start networks", missing)


def rule_gap_trend(gaps: pd.DataFrame, claim: tuple, budget: str, missing: str = "") -> Verdict:
    """The gap grows as NAPL falls.

    Statistic: per start network with at least 3 NAPL points, the least-squares slope of its gap
    against NAPL over every point it reaches; a t-test over start networks of the slope:
    - reproduced: mean slope < 0 (the gap grows as NAPL falls) and p < ``ALPHA``;
    - not reproduced: mean slope > 0 and p < 0.05;
    - inconclusive: otherwise, including fewer than 2 start networks with 3 points;
    - not run: no start network has 3 points.
    """
    text, paper = claim
    rule = (f"per start network, the least-squares slope of the gap against NAPL over every fixed point it reaches (at "
            f"least 3); t-test over start networks: < 0 with p < {ALPHA} reproduced, > 0 with p < {ALPHA} not "
            f"reproduced, else inconclusive")
    slopes = per_start_slope(gaps)
    if not len(slopes):
        return not_run("lin_gap_trend", text, paper, budget, rule, "no start network has 3 matched NAPL points")
    test = paired_t_test(slopes.values)
    outcome = {1: "not reproduced", -1: "reproduced", 0: "inconclusive"}[test.sign]
    ours = "slope of the gap per unit of NAPL, points, per start network: " + ", ".join(
        f"start {s}: {100 * v:+.2f}" for s, v in slopes.items())
    return Verdict("lin_gap_trend", text, paper, ours, budget, outcome, rule,
                   f"slope of the gap: {test.describe(100, ' points per NAPL')} start networks", missing)


def rule_random_mask(at_points: pd.DataFrame, runs: pd.DataFrame, claim: tuple, budget: str, epochs: int,
                     missing: str = "") -> Verdict:
    """The variable-depth reading, against its control: does a random channel mask with the
    learned per-layer fractions (variable depth, no learned choice of units) still beat layer-wise
    at matched NAPL?

    Decides: per start network, the mean over its NAPL points <= ``LOW_NAPL`` of random minus
    layer accuracy (as ``rule_matched_gap``); paired t-test over start networks:
    - reproduced: > 0 with p < ``ALPHA`` (variable depth helps by itself);
    - not reproduced: < 0 with p < 0.05 (the learned choice of units is what helped);
    - inconclusive: otherwise. Reported beside it, deciding nothing: learned minus random channel
    accuracy at the same omega (the same NAPL on a chain), per start the mean over omegas and
    seeds, with its paired t-test over start networks.
    """
    text, paper = claim
    rule = (f"per start network, the mean over NAPL points <= {LOW_NAPL:g} of random-mask minus layer-wise accuracy "
            f"after phase 2; paired t-test over start networks: > 0 with p < {ALPHA} reproduced, < 0 with p < {ALPHA} "
            "not reproduced, else inconclusive; learned minus random at equal NAPL is reported")
    gaps = gaps_by_start(at_points, "random", "layer")
    per_start = per_start_mean(gaps)
    if not len(per_start):
        return not_run("lin_random_mask", text, paper, budget, rule, "no random-mask run matched a layer-wise NAPL")
    test = paired_t_test(per_start.values)
    outcome = {1: "reproduced", -1: "not reproduced", 0: "inconclusive"}[test.sign]
    learned = learned_minus_random(runs, epochs)
    against = paired_t_test(learned.values)
    ours = (f"random-mask minus layer-wise, points, over NAPL <= {LOW_NAPL:g}: {100 * test.mean:+.2f}; learned minus "
            f"random channel masks at equal NAPL: {100 * against.mean:+.2f}" if against.n else
            f"random-mask minus layer-wise, points, over NAPL <= {LOW_NAPL:g}: {100 * test.mean:+.2f}")
    return Verdict("lin_random_mask", text, paper, ours, budget, outcome, rule,
                   f"random minus layer: {test.describe(100, ' points')} start networks; learned minus "
                   f"random: {against.describe(100, ' points')}", missing)


def difficulty_fit(levels: pd.DataFrame):
    """The difficulty rule's statistic: the least-squares fit gap = a + b * error over every start
    network of every level of ``levels`` (columns level, error, gap; ``rule_difficulty``) with a gap
    and an error, as ``scipy.stats.linregress`` (slope, intercept, two-sided p of the slope), and the
    lines it used; the fit is None where fewer than 2 levels, or 3 start networks, have both."""
    from scipy import stats

    levels = levels.dropna(subset=["gap", "error"])
    if levels["level"].nunique() < 2 or len(levels) < 3:
        return None, levels
    return stats.linregress(levels["error"], levels["gap"]), levels


def rule_difficulty(levels: pd.DataFrame, claim: tuple, budget: str, missing: str = "") -> Verdict:
    """The gap is larger on harder data, on a ladder of class subsets of one dataset (a proxy for
    the paper's CIFAR-10 < CIFAR-100 < ImageNet; written 2026-12-03, before its runs).

    ``levels``: one line per start network of every level (columns level, start, error: the start
    network's test error, gap: its mean gap at NAPL points <= ``LOW_NAPL``, as ``rule_matched_gap``).
    Statistic: the least-squares slope of the gap against the start network's error over every
    start network of every level, with its two-sided t-test (``difficulty_fit``):
    - reproduced: slope > 0 and p < ``ALPHA`` (capped to partly reproduced: a proxy, ``missing``);
    - not reproduced: slope < 0 and p < 0.05;
    - inconclusive: otherwise;
    - not run: fewer than 2 levels, or 3 start networks, with a gap at low NAPL.
    """
    text, paper = claim
    rule = (f"least-squares slope of each start network's mean gap at NAPL <= {LOW_NAPL:g} against its test error, "
            f"over the start networks of every level of the ladder, t-test: > 0 with p < {ALPHA} reproduced (a proxy: "
            f"at most partly), < 0 with p < {ALPHA} not reproduced, else inconclusive")
    fit, levels = difficulty_fit(levels)
    if fit is None:
        return not_run("lin_gap_difficulty", text, paper, budget, rule,
                       "fewer than 2 levels of the ladder, or 3 start networks, with a gap at low NAPL")
    outcome = "inconclusive"
    if fit.pvalue < ALPHA:
        outcome = "reproduced" if fit.slope > 0 else "not reproduced"
    means = levels.groupby("level", sort=False)[["error", "gap"]].mean()
    ours = "mean gap at NAPL <= {:g}, points, by level (start networks' test error): ".format(LOW_NAPL) + "; ".join(
        f"{level}: {100 * row.gap:+.2f} (error {100 * row.error:.1f} %)" for level, row in means.iterrows())
    return Verdict("lin_gap_difficulty", text, paper, ours, budget, outcome, rule,
                   f"slope {fit.slope:+.3f} points of gap per point of error, p = {fit.pvalue:.2g}, over {len(levels)} "
                   f"start networks in {levels['level'].nunique()} levels", missing)


def learned_minus_random(runs: pd.DataFrame, epochs: int) -> pd.Series:
    """Per start network, the mean over post-training seeds and omegas of the learned channel
    mask's accuracy minus its random control's (equal per-layer fractions, so equal NAPL on a chain)."""
    ok = runs[(runs["status"] == "ok") & (runs["epochs"] == epochs) & runs["arm"].isin(["channel", "random"])]
    wide = ok.pivot_table(index=["start", "seed", "omega"], columns="arm", values="test_acc")
    if "channel" not in wide or "random" not in wide:
        return pd.Series(dtype=float)
    return (wide["channel"] - wide["random"]).dropna().groupby(level="start").mean()
