"""The λ-sweep towers after training: a lesion study (beyond both papers), and Corollary B.0.1.

Veit et al. deleted single blocks of trained ResNets at test time and saw the error barely move,
and read it as evidence that a ResNet is an ensemble of shallow paths; Dherin & Munn cite that
reading as the intuition their expansion makes exact. Here the towers of the λ sweep
(``resdepth.experiments.lambda_sweep``, its book budget: n = 16, width 16, 3 seeds, weights kept) lose k = 1, 2, 4, 8 blocks at random, several draws each, and the measured test accuracy is
set beside the second-order expansion restricted to the surviving paths (``resdepth.lesion``).

On the same towers, Corollary B.0.1 of Dherin & Munn at the trained weights: the geometric
complexity is <M0, D>_G + 2 lam mean Tr(A^T B) + O(lam^2), and the paper's reading of Figure 2
(a larger lambda gives a simpler function) needs the first-order coefficient 2 mean Tr(A^T B) to be
negative where the measured complexity falls with lambda. The geometry chapter checks the
corollary at initialisation only; here it is measured on the trained towers.

The chapter trains nothing in the book profile: it reads the stored weights of the λ sweep, and
says so where they are not stored yet. In the smoke profile it trains the smoke λ sweep.

Both rules (``rule_ensemble``, ``rule_first_order_trained``) were written on 2026-12-03, before
any of the λ sweep's book towers was trained, and are tested on hand-made tables
(``tests/test_experiments_lesion_study.py``).
"""

import math

import numpy as np
import pandas as pd
import torch

from ..data import load_dataset, normalize
from ..expansion import geometric_complexity, geometric_complexity_first_order
from ..lesion import lesion_rows
from ..models import build_model, resolve_lam
from ..results import sweep
from ..verdict import Verdict, not_run, paired_t_test
from . import lambda_sweep
from .common import hours_and_devices, resolve_settings

NAME = "lesion_study"
TITLE = "Trained towers across λ: lesions and first-order complexity"
TRAINS = False  # it reads the λ sweep's weights (the smoke profile trains the smoke λ sweep)

BUDGETS = {
    "smoke": {
        "sweep_budget": "smoke",  # the λ sweep's budget whose weights are lesioned
        "train_missing": True,  # train the λ-sweep runs that are not stored (smoke only)
        "ks": [1, 2],  # numbers of blocks deleted at once
        "draws": 2,  # random deletion sets per (tower, k)
        "images": 200,  # test images, the same for every tower and deletion (paired)
        "seed": 0,  # seeds the deletion sets
        "gc_images": 16,  # test images for the geometric complexity and its first-order terms
    },
    "book": {
        "sweep_budget": "book",  # the λ sweep's budget whose weights are lesioned (n = 16, 3 seeds)
        "train_missing": False,  # never train here: missing λ-sweep runs are reported, not trained
        "ks": [1, 2, 4, 8],  # numbers of blocks deleted at once (of n = 16)
        "draws": 5,  # random deletion sets per (tower, k)
        "images": 1_000,  # test images (the first 1,000), the same for every tower and deletion (paired);
        #                   about 10 s a tower on one core, so the book's build stays minutes
        "seed": 0,  # seeds the deletion sets
        "gc_images": 256,  # test images for the geometric complexity and its first-order terms
    },
    "paper": {
        "sweep_budget": "paper",  # the λ sweep at the paper's setting (CIFAR-10, width 256)
        "train_missing": True,  # train the λ-sweep runs that are not stored
        "ks": [1, 2, 4, 8],  # numbers of blocks deleted at once
        "draws": 10,  # random deletion sets per (tower, k)
        "images": 10_000,  # test images
        "seed": 0,  # seeds the deletion sets
        "gc_images": 1_000,  # test images for the geometric complexity and its first-order terms
    },
}

CLAIMS = {
    "gc_first_order_trained": (
        r"**Corollary B.0.1 at the trained weights**: where the complexity falls as $\lambda$ grows, the "
        r"first-order coefficient $2\,\overline{\mathrm{Tr}(A^\top B)}$ is negative",
        "the cross term “can be negative”, which “shows the theoretical possibility that models with higher λ can "
        "be geometrically less complex” (Figure 2, right); not measured on trained nets",
    ),
    "lesion_ensemble": (
        r"**Veit et al. (2016), beyond both papers**: a trained tower at $\lambda = 1/\sqrt{n}$ degrades gracefully "
        "when blocks are deleted, as an ensemble of shallow paths would, and the expansion's surviving paths "
        "predict it",
        "Veit et al.: deleting one block of a trained ResNet barely changes its error (ImageNet, CIFAR-10); "
        "Dherin & Munn cite it as the ensemble view their expansion makes exact (no measurement)",
    ),
}

# The figure or table of the chapter behind each claim (its glue:figure name), linked from the report.
EVIDENCE = {
    "gc_first_order_trained": "fig-lesion-first-order",
    "lesion_ensemble": "fig-lesion-curves",
}

GRACEFUL_POINTS = 0.05  # deleting one of n blocks costs less than 5 points (upper end of its 95% interval)
CLIFF_POINTS = 0.20  # deleting one block costs more than 20 points (lower end): a monolithic deep net
PREDICTED_POINTS = 0.05  # the expansion predicts the lesioned accuracy within 5 points, on average over k


# ----------------------------------------------------------------------------- runs


def sweep_settings(settings: dict) -> dict:
    """The λ sweep's settings whose towers this chapter lesions."""
    return resolve_settings(lambda_sweep.NAME, lambda_sweep.BUDGETS, settings["profile"], settings["sweep_budget"])


def configs(settings: dict) -> list:
    """This chapter trains no run of its own (``TRAINS`` False); it reads the λ sweep's."""
    return []


def stored_towers(settings: dict, store) -> tuple:
    """(records with weights, configs still missing) of the λ sweep's capacity runs; trains the
    missing ones first where ``train_missing``."""
    swept = sweep_settings(settings)
    wanted = lambda_sweep.sweep_configs(swept)
    if settings["train_missing"]:
        sweep(wanted, store, save_weights=True)
    have, missing = [], []
    for cfg in wanted:
        record = store.load(cfg)
        if record is None or (record["status"] == "ok" and not store.has_weights(cfg)):
            missing.append(cfg)
        elif record["status"] == "ok":
            have.append((cfg, record))
    return have, missing


@torch.no_grad()
def lesion_table(settings: dict, store) -> tuple:
    """(one row per tower and deletion set; one row per tower with Corollary B.0.1's terms at its
    trained weights, on the first ``gc_images`` test images: <M0, D>_G, the coefficient
    2 mean Tr(A^T B), the first-order value <M0, D>_G + lam x coefficient, the exact complexity and
    the first order's relative error; the λ-sweep configs still missing; the towers' records)."""
    swept = sweep_settings(settings)
    have, missing = stored_towers(settings, store)
    if not have:
        return (pd.DataFrame(columns=["λ", "lam", "seed", "k", "draw", "deleted", "test_acc", "predicted_acc",
                                      "path_share"]),
                pd.DataFrame(columns=["λ", "lam", "seed", "base", "coefficient", "first_order", "exact",
                                      "relative_error"]), missing, [])
    data = load_dataset(swept["dataset"])
    x = normalize(data.test_x[: settings["images"]], data.mean, data.std).contiguous()
    y = data.test_y[: settings["images"]]
    x_gc = x[: settings["gc_images"]]
    rows, complexity = [], []
    for cfg, record in have:
        tower = build_model(cfg.model, data.in_channels, data.num_classes, **cfg.model_kwargs)
        tower.load_state_dict(store.load_weights(cfg))
        tower.eval()
        rule = cfg.model_kwargs["lam"]
        lam = resolve_lam(rule, cfg.model_kwargs["depth"])
        for row in lesion_rows(tower, x, y, settings["ks"], settings["draws"], settings["seed"]):
            rows.append({"λ": rule, "lam": lam, "seed": cfg.seed, **row})
        with torch.enable_grad():
            first = geometric_complexity_first_order(tower, [x_gc])
            exact = geometric_complexity(tower, [x_gc])
        complexity.append({"λ": rule, "lam": lam, "seed": cfg.seed, "base": first["base"], "coefficient": first["slope"],
                           "first_order": first["prediction"], "exact": exact,
                           "relative_error": abs(exact - first["prediction"]) / exact})
    return pd.DataFrame(rows), pd.DataFrame(complexity), missing, [record for _, record in have]


def drop_table(lesions: pd.DataFrame) -> pd.DataFrame:
    """Per (λ, seed, k >= 1): the mean over draws of the measured and the predicted accuracy, and
    the drop from the intact tower (points as fractions)."""
    intact = lesions[lesions["k"] == 0].set_index(["λ", "seed"])["test_acc"]
    deleted = lesions[lesions["k"] > 0]
    table = deleted.groupby(["λ", "lam", "seed", "k"], as_index=False)[["test_acc", "predicted_acc",
                                                                        "path_share"]].mean()
    table["intact_acc"] = [intact[(r, s)] for r, s in zip(table["λ"], table["seed"])]
    table["drop"] = table["intact_acc"] - table["test_acc"]
    table["prediction_error"] = (table["predicted_acc"] - table["test_acc"]).abs()
    return table.sort_values(["lam", "seed", "k"]).reset_index(drop=True)


def summary_table(drops: pd.DataFrame) -> pd.DataFrame:
    """Per (λ, k): mean over seeds of the intact accuracy, the lesioned and predicted accuracy and
    the drop, with the drop's standard error over seeds."""
    if not len(drops):
        return pd.DataFrame()
    g = drops.groupby(["λ", "lam", "k"])
    out = g[["intact_acc", "test_acc", "predicted_acc", "drop", "path_share"]].mean()
    out["drop_se"] = g["drop"].sem()
    out["seeds"] = g["seed"].nunique()
    return out.reset_index().sort_values(["lam", "k"]).reset_index(drop=True)


def budget_line(settings: dict, records, missing) -> str:
    """One line for the verdicts: the towers, the deletions, the images, the compute of the towers."""
    swept = sweep_settings(settings)
    towers = f"{len(records)} towers of the λ sweep ({settings['sweep_budget']}: n = {swept['depth']}, width " \
             f"{swept['width']}, lr {swept['lr']}, {swept['epochs'] or swept['steps']} " \
             f"{'epoch(s)' if swept['epochs'] else 'steps'})"
    waiting = f", {len(missing)} not yet stored" if missing else ""
    return (f"{towers}{waiting}; k ∈ {settings['ks']} blocks deleted, {settings['draws']} draws each; "
            f"{settings['images']} test images; {hours_and_devices(records) if records else 'no compute yet'}")


def run(settings: dict, store) -> dict:
    """Lesion every stored tower of the λ sweep; return the per-deletion, per-seed and summary tables."""
    lesions, complexity, missing, records = lesion_table(settings, store)
    drops = drop_table(lesions) if len(lesions) else pd.DataFrame()
    return {"lesions": lesions, "drops": drops, "summary": summary_table(drops), "complexity": complexity,
            "missing": missing, "records": records, "budget": budget_line(settings, records, missing)}


# ----------------------------------------------------------------------------- rule


def rule_ensemble(drops: pd.DataFrame, settings: dict, budget: str = "", depth: int = 16) -> Verdict:
    """Veit et al.'s reading, judged at λ = 1/√n (the paper's scaling, and the top of its trained
    range), written 2026-12-03 before the runs it judges.

    ``drops``: ``drop_table`` (per λ, seed and k, over draws). At the judged λ, the largest trained
    λ not above n^-0.5 (every seed stored):
    - one-block cost: a paired t-test over seeds of the accuracy drop at k = 1 (two-sided 95 %
      interval);
    - graceful: the interval's upper end is below ``GRACEFUL_POINTS`` (5 points), and no cliff: at
      the largest k, the lesioned accuracy keeps at least half of the intact accuracy's margin
      over chance (0.1), averaged over seeds;
    - cliff (a monolithic deep net): the interval's lower end is above ``CLIFF_POINTS`` (20 points);
    - predicted: the expansion's accuracy (second order, surviving paths) is within
      ``PREDICTED_POINTS`` (5 points) of the measured one, averaged over k and seeds.
    Outcome: reproduced where graceful and predicted; partly reproduced where graceful but the
    expansion misses (the ensemble behaviour holds, its second-order account does not); not
    reproduced at a cliff; inconclusive otherwise, or with fewer than 2 seeds. Capped at partly
    reproduced where the judged λ is below n^-0.5 (λ = 1/√n not trained or not stored).
    The smaller λ are reported beside it: they are expected to be graceful trivially (small branches).
    """
    text, paper = CLAIMS["lesion_ensemble"]
    rule = (f"at the largest trained λ ≤ n^-0.5: drop at k = 1 with its 95 % paired interval over seeds; upper end "
            f"< {GRACEFUL_POINTS * 100:.0f} points and half the margin over chance kept at the largest k: graceful; "
            f"lower end > {CLIFF_POINTS * 100:.0f} points: cliff; expansion within {PREDICTED_POINTS * 100:.0f} points "
            "on average: predicted. Graceful and predicted: reproduced; graceful only: partly; cliff: not reproduced; "
            "else inconclusive")
    if not len(drops):
        return not_run("lesion_ensemble", text, paper, budget, rule,
                       "no λ-sweep tower with stored weights yet (python -m resdepth sweep lambda_sweep trains them)")
    top = resolve_lam(lambda_sweep.THRESHOLD, depth)
    seeds_per_lam = drops.groupby("lam")["seed"].nunique()
    candidates = [lam for lam in seeds_per_lam.index if lam <= top * (1 + 1e-9)]
    if not candidates:
        return not_run("lesion_ensemble", text, paper, budget, rule, "no stored tower at λ ≤ n^-0.5")
    lam = max(candidates)
    here = drops[np.isclose(drops["lam"], lam)]
    rule_name = here["λ"].iloc[0]
    one = here[here["k"] == min(here["k"])]
    test = paired_t_test(one["drop"].tolist())
    largest = here[here["k"] == here["k"].max()]
    margin_kept = ((largest["test_acc"] - 0.1) / (largest["intact_acc"] - 0.1)).mean()
    error = here["prediction_error"].mean()
    graceful = test.n >= 2 and test.high < GRACEFUL_POINTS and margin_kept >= 0.5
    cliff = test.n >= 2 and test.low > CLIFF_POINTS
    predicted = error < PREDICTED_POINTS
    if test.n < 2:
        outcome = "inconclusive"
    elif graceful:
        outcome = "reproduced" if predicted else "partly reproduced"
    elif cliff:
        outcome = "not reproduced"
    else:
        outcome = "inconclusive"
    by_lam = drops[drops["k"] == min(drops["k"])].groupby("λ", sort=False)["drop"].mean()
    ours = (f"at λ = {rule_name}: one block costs {100 * test.mean:.2f} points, the largest k = {int(here['k'].max())} "
            f"keeps {100 * margin_kept:.0f} % of the margin over chance; expansion off by {100 * error:.2f} points "
            f"on average. One-block cost by λ: " + ", ".join(f"{r} {100 * d:.2f}" for r, d in by_lam.items()))
    missing = "" if math.isclose(lam, top) else f"λ = {lambda_sweep.THRESHOLD} (not stored or not trained)"
    return Verdict("lesion_ensemble", text, paper, ours, budget, outcome, rule,
                   f"drop at k = 1: {test.describe(scale=100, unit=' points')}; margin kept at k = "
                   f"{int(here['k'].max())}: {margin_kept:.2f}; mean |expansion − measured| = {100 * error:.2f} points "
                   f"(over {here['seed'].nunique()} seeds × {len(here['k'].unique())} k)", missing=missing)


def rule_first_order_trained(complexity: pd.DataFrame, settings: dict, budget: str = "", depth: int = 16) -> Verdict:
    """Corollary B.0.1 at the trained weights (written 2026-12-03, before the towers it judges).

    ``complexity``: one row per tower (λ, seed, the coefficient 2 mean Tr(A^T B), the exact
    complexity). Over the λ with a tower in every seed (increasing), the mean exact complexity over
    seeds peaks at some λ; the λ after the peak are where the complexity falls with λ. At each of
    them, a t-test over seeds of the coefficient (two-sided, 95 %):
    - reproduced: negative (interval below 0) at every λ past the peak;
    - not reproduced: positive (interval above 0) at every λ past the peak: the complexity falls
      there, but not by the corollary's first-order mechanism;
    - inconclusive: otherwise, with one seed, or no λ past the peak (the complexity does not fall
      within the trained range);
    capped at partly reproduced where λ = n^-0.5 has no tower (the paper's fall lies there).
    The first order's relative error at each λ is reported: at trained weights and λ of order
    1/√n the O(λ²) rest need not be small.
    """
    text, paper = CLAIMS["gc_first_order_trained"]
    rule = ("over λ past the peak of the mean exact complexity of the trained towers: the coefficient "
            "2·mean Tr(AᵀB) negative by a t-test over seeds at every such λ: reproduced; positive at every such λ: "
            "not reproduced; else, one seed, or no fall: inconclusive")
    if not len(complexity):
        return not_run("gc_first_order_trained", text, paper, budget, rule,
                       "no λ-sweep tower with stored weights yet (python -m resdepth sweep lambda_sweep trains them)")
    seeds = complexity["seed"].nunique()
    complete = [lam for lam, g in complexity.groupby("lam") if g["seed"].nunique() == seeds]
    table = complexity[complexity["lam"].isin(complete)]
    means = table.groupby("lam")["exact"].mean().sort_index()
    rules = table.groupby("lam")["λ"].first()
    peak = int(np.argmax(means.to_numpy()))
    past = list(means.index[peak + 1:])
    errors = ", ".join(f"{rules[lam]} {100 * g['relative_error'].mean():.0f} %" for lam, g in table.groupby("lam"))
    top = resolve_lam(lambda_sweep.THRESHOLD, depth)
    missing = "" if any(math.isclose(lam, top) for lam in complete) else f"λ = {lambda_sweep.THRESHOLD} (no tower)"
    words = (f"mean exact complexity peaks at λ = {rules[means.index[peak]]} "
             f"({', '.join(f'{rules[lam]} {v:.3g}' for lam, v in means.items())}); first order's relative error: {errors}")
    if not past:
        return Verdict("gc_first_order_trained", text, paper, words + "; no λ past the peak", budget, "inconclusive",
                       rule, f"the complexity does not fall within the trained range ({seeds} seeds)", missing=missing)
    tests = {lam: paired_t_test(table[table["lam"] == lam]["coefficient"].tolist()) for lam in past}
    signs = [t.sign for t in tests.values()]
    if seeds < 2:
        outcome = "inconclusive"
    elif all(sign < 0 for sign in signs):
        outcome = "reproduced"
    elif all(sign > 0 for sign in signs):
        outcome = "not reproduced"
    else:
        outcome = "inconclusive"
    statistic = "; ".join(f"λ = {rules[lam]}: coefficient {t.describe()}" for lam, t in tests.items())
    return Verdict("gc_first_order_trained", text, paper, words, budget, outcome, rule, statistic, missing=missing)


def verdicts(results: dict, settings: dict) -> list:
    """One Verdict per claim of ``CLAIMS``, in its order."""
    depth = sweep_settings(settings)["depth"]
    return [rule_first_order_trained(results["complexity"], settings, results["budget"], depth),
            rule_ensemble(results["drops"], settings, results["budget"], depth)]
