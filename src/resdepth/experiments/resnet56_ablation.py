"""Ablation: linearizing a network that already has skips (*ResNets Are Deeper Than You Think*).

The procedure of ``linearization_napl`` (start network, then post-training with omega * L0.5 at
both granularities), from a CIFAR ResNet instead of a plain RepVGG. A ResNet has short paths
through its skips whatever is linearized, so layer-wise linearization no longer forces every path
to one length; the paper finds that the channel-wise advantage then nearly vanishes above NAPL 4.
The gap is compared with the plain start's, read from the store at the same profile (never
trained here), within the same NAPL bins.
"""

from dataclasses import dataclass, field
from functools import cached_property
import math

import numpy as np
import pandas as pd
from scipy import stats

from . import linearization_napl as lin
from . import matched_napl as mn
from ..linearize import linearized_architecture
from ..pathlength import napl
from ..verdict import ALPHA, combine, not_run, Verdict
from .common import resolve_settings


NAME = "resnet56_ablation"
TITLE = "Ablation: starting from a network that already has skips"
TRAINS = True

# The paper: ResNet-56 on CIFAR-100, post-training as for RepVGG-A2. The book starts from
# ResNet-20 (the same design, 3 blocks per stage instead of 9) to fit a 2-core CPU; the other
# choices are those of linearization_napl. Every value that enters a RunConfig names the stored
# runs by its hash: change one and the book's runs in data/results are orphaned.
BUDGETS = {
    "smoke": dict(
        dataset="sample",  # the committed 256-image Fashion-MNIST sample
        start_model="resnet20",  # the start network (with skips)
        start_args={},  # its model arguments
        epochs=1,  # epochs of start training (cosine schedule)
        batch_size=64,  # images per step, start and post-training
        lr=0.05,  # start training learning rate (SGD, momentum 0.9)
        weight_decay=5e-4,  # weight decay, start and post-training (never on the slopes)
        start_seed=0,  # seed of the one start network
        seeds=[0],  # post-training seeds
        post_epochs=1,  # epochs of post-training
        post_lr=1e-4,  # post-training learning rate of the weights (AdamW, cosine)
        alpha_lr=0.05,  # post-training learning rate of the PReLU slopes
        post_train_images=256,  # training images seen in post-training (None: all)
        omegas={"channel": [0.03, 3.0], "layer": [1.0, 100.0]},  # penalty weights omega, per granularity
    ),
    "book": dict(
        dataset="fashion_mnist",  # 60,000 training images, 28x28 grey
        start_model="resnet20",  # the start network: ResNet-20, not the paper's ResNet-56
        start_args={},  # its model arguments
        epochs=3,  # epochs of start training (cosine schedule)
        batch_size=128,  # images per step, start and post-training
        lr=0.1,  # start training learning rate (SGD, momentum 0.9)
        weight_decay=5e-4,  # weight decay, start and post-training (never on the slopes)
        start_seed=0,  # seed of the one start network
        seeds=[0],  # post-training seeds: one, so no test is possible
        post_epochs=1,  # epochs of post-training
        post_lr=1e-4,  # post-training learning rate of the weights (AdamW, cosine)
        alpha_lr=0.05,  # post-training learning rate of the PReLU slopes
        post_train_images=None,  # training images seen in post-training (None: all)
        omegas={"channel": [0.001, 0.003, 0.03], "layer": [0.03, 0.1, 1.0]},  # penalty weights omega
    ),
    # The second book budget (issue 13), written on 2026-12-03 before any of its runs: a fair
    # ablation through the controlled protocol of ``matched_napl``. The residual start (ResNet-20)
    # is compared with the plain net of the same design and recipe (plain20: ResNet-20 without its
    # skips), both keeping their BatchNorm (neither is fused), 3 start networks each, at the same
    # fixed NAPL points; the first budget compared ResNet-20 (BatchNorm kept) with the fused,
    # BatchNorm-free RepVGG of the other chapter. The omega grids are per start model, since we
    # interpolate at fixed NAPLs: ResNet-20's from the first budget's runs (omega 0.03 channel-wise
    # gave NAPL 0.56, 0.001 gave 7.0; layer-wise 1.0 gave NAPL 1, 0.03 gave 7.5), plain20's from the
    # RepVGG chapter's (a plain net needs larger omegas); a point a grid misses is not compared.
    "book_v2": dict(
        dataset="fashion_mnist",  # 60,000 training images, 28x28 grey
        start_model="resnet20",  # the residual start network (option-A skips, BatchNorm)
        plain_model="plain20",  # the plain start it is compared with: the same net without skips
        start_args={},  # the models' arguments
        epochs=3,  # epochs of start training (cosine schedule)
        batch_size=128,  # images per step, start and post-training
        lr=0.1,  # start training learning rate (SGD, momentum 0.9)
        weight_decay=5e-4,  # weight decay, start and post-training (never on the slopes)
        start_seeds=[0, 1, 2],  # start networks per model: the unit of replication of the test
        seeds=[0],  # post-training seeds per start network
        post_epochs=1,  # phase 1: epochs of post-training with the penalty and the freeze rule
        finetune_epochs=1,  # phase 2: epochs of fine-tuning with the mask fixed and no penalty
        post_lr=1e-4,  # post-training learning rate of the weights (AdamW, cosine), both phases
        alpha_lr=0.05,  # post-training learning rate of the PReLU slopes, both phases
        post_train_images=None,  # training images seen in post-training (None: all)
        omegas={"resnet20": {"channel": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],  # penalty weights per start model
                             "layer": [3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]},  # and granularity
                "plain20": {"channel": [1e-3, 3e-3, 1e-2, 3e-2, 0.3, 3.0],
                            "layer": [3e-2, 0.1, 0.3, 1.0, 10.0, 100.0]}},
        random_masks=False,  # no random-mask control here (the RepVGG chapter runs it)
        napl_points=[1, 2, 3, 4, 6, 8, 10],  # NAPL at which the granularities are compared
        calibration={},  # no calibration here (the RepVGG chapter's)
    ),
    # the paper's setting is the RepVGG chapter's, from ResNet-56 (Section 4.3 of the paper)
    "paper": {**lin.BUDGETS["paper"], "start_model": "resnet56", "start_args": {}},
}

CLAIMS = {
    "resnet_gap_vanishes": (
        "**ResNets Are Deeper**: starting from ResNet-56 instead of a plain net, the gap between channel-wise and "
        "layer-wise linearization nearly vanishes",
        "ResNet-56, CIFAR-100: the gap nearly vanishes above NAPL 4 (large from RepVGG-A2)",
    ),
}

# The figure or table of the chapter behind each claim (its glue:figure name), linked from the report:
# the verdict table, since the budget that judges the claim (book_v2 once fully stored) shows its
# figures just above it, and the first budget's figure would point at the superseded runs.
EVIDENCE = {
    "resnet_gap_vanishes": "tab-resnet-verdicts",
}

# NAPL bins in which the two starts' gaps are compared: [0, 2), [2, 4), [4, 6), ... Layer-wise
# NAPLs are integers that differ between starts and seeds, so exact NAPL matches between the two
# starts are rare; 2-wide bins hold one or two of them each, and one edge sits at the paper's NAPL 4.
BIN_WIDTH = 2.0


HIGH_NAPL = 4.0  # the paper: from ResNet-56 the gap nearly vanishes above NAPL 4


def model_settings(settings: dict, model: str) -> dict:
    """The protocol's settings for one start model of a ``book_v2``-style budget: its name and its
    omega grids."""
    return {**settings, "start_model": model, "omegas": settings["omegas"][model]}


def configs(settings: dict) -> list:
    if not lin.is_protocol(settings):
        return lin.study_configs(settings, NAME)
    return [c for model in (settings["start_model"], settings["plain_model"])
            for c in mn.protocol_configs(model_settings(settings, model), NAME)]


# ----------------------------------------------------------------------------- tables


def binned_seed_gaps(pairs: pd.DataFrame, width: float = BIN_WIDTH) -> pd.DataFrame:
    """Per (NAPL bin, seed): the mean gap over that seed's matched NAPLs in the bin
    [low, low + width). ``pairs`` as ``linearization_napl.matched_pairs`` makes them."""
    if not len(pairs):
        return pd.DataFrame(columns=["bin_low", "seed", "gap"])
    binned = pairs.assign(bin_low=np.floor(pairs["napl"] / width) * width)
    return binned.groupby(["bin_low", "seed"], as_index=False)["gap"].mean()


def welch_test(a, b) -> float:
    """Two-sided p of Welch's t-test of mean(a) = mean(b); nan with fewer than 2 values on a side."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if a.var() == 0 and b.var() == 0:  # no spread on either side: the means differ or they do not
        return 0.0 if a.mean() != b.mean() else 1.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def bin_comparison(residual_pairs: pd.DataFrame, plain_pairs: pd.DataFrame, width: float = BIN_WIDTH) -> pd.DataFrame:
    """One line per NAPL bin holding matched NAPLs of both starts: each start's gap (mean over its
    seeds of the seed's mean gap in the bin), its number of seeds, the difference plain minus
    residual, and Welch's t-test p over the seeds (nan where a side has one seed: no test)."""
    residual, plain = binned_seed_gaps(residual_pairs, width), binned_seed_gaps(plain_pairs, width)
    rows = []
    for low in sorted(set(residual["bin_low"]) & set(plain["bin_low"])):
        r, p = residual[residual["bin_low"] == low]["gap"], plain[plain["bin_low"] == low]["gap"]
        rows.append({"bin": f"[{low:g}, {low + width:g})", "bin_low": low,
                     "residual_gap": r.mean(), "residual_seeds": len(r), "plain_gap": p.mean(), "plain_seeds": len(p),
                     "difference": p.mean() - r.mean(), "p": welch_test(p, r)})
    return pd.DataFrame(rows, columns=["bin", "bin_low", "residual_gap", "residual_seeds", "plain_gap", "plain_seeds",
                                       "difference", "p"])


def comparison_table(comparison: pd.DataFrame, residual_name: str, plain_name: str) -> pd.DataFrame:
    """``bin_comparison`` formatted for the page (gaps in points)."""
    if not len(comparison):
        return pd.DataFrame({"note": ["no NAPL bin holds matched NAPLs of both start networks"]})
    return pd.DataFrame({
        "NAPL bin": comparison["bin"],
        f"gap from {residual_name} (points)": [f"{100 * g:+.2f}" for g in comparison["residual_gap"]],
        f"seeds ({residual_name})": comparison["residual_seeds"],
        f"gap from {plain_name} (points)": [f"{100 * g:+.2f}" for g in comparison["plain_gap"]],
        f"seeds ({plain_name})": comparison["plain_seeds"],
        "plain minus residual": [f"{100 * d:+.2f}" for d in comparison["difference"]],
        "Welch t-test p": [f"{p:.2g}" if p == p else "— (one seed)" for p in comparison["p"]],
    })


# ----------------------------------------------------------------------------- the rule


def gap_shrinks_rule(comparison: pd.DataFrame) -> tuple:
    """(outcome, one outcome per compared bin) of "from a residual start the gap nearly vanishes".

    Test: in each NAPL bin (``BIN_WIDTH`` wide) that holds matched NAPLs of both starts, Welch's
    t-test over post-training seeds of the seeds' gaps, plain start against residual start,
    two-sided at ALPHA. Per bin: the residual gap smaller with p < 0.05: reproduced; larger with
    p < 0.05: not reproduced; otherwise, or with one seed on either side (no test possible):
    inconclusive. The bins' outcomes are combined (``resdepth.verdict.combine``: all reproduced:
    reproduced, some: partly reproduced). No bin held by both starts: inconclusive.
    Why: the paper's evidence is the gap from ResNet-56 beside the gap from RepVGG-A2 at the same
    NAPLs (its ablation figure); the starts differ, so their seeds are not paired (Welch), and the
    comparison is made only where both have matched NAPLs, never between means over different NAPL
    sets (what the earlier rule did).
    """
    if not len(comparison):
        return "inconclusive", []
    per_bin = []
    for row in comparison.itertuples():
        if not row.p < ALPHA:
            per_bin.append("inconclusive")
        else:
            per_bin.append("reproduced" if row.difference > 0 else "not reproduced")
    return combine(per_bin), per_bin


def rule_gap_vanishes(residual_gaps: pd.DataFrame, plain_gaps: pd.DataFrame, names: tuple, budget: str,
                      missing: str = "") -> Verdict:
    """From a residual start the gap between the granularities nearly vanishes (the paper: above
    NAPL 4), by the controlled protocol (written 2026-12-03, before its runs).

    Statistic: per start network of each model, its mean gap (channel minus layer accuracy after
    phase 2, interpolated at the fixed NAPL points >= ``HIGH_NAPL`` it reaches in both
    granularities); Welch's t-test between the residual model's start networks and the plain
    model's (different nets: not paired), two-sided at ``ALPHA``:
    - reproduced: the residual gap is smaller with p < 0.05;
    - not reproduced: it is larger with p < 0.05;
    - inconclusive: otherwise, including fewer than 2 start networks on a side;
    - not run: no start network of one model reaches a point >= ``HIGH_NAPL``.
    """
    text, paper = CLAIMS["resnet_gap_vanishes"]
    residual_name, plain_name = names
    rule = (f"per start network, the mean gap (channel minus layer accuracy after phase 2, interpolated at the fixed "
            f"NAPL points >= {HIGH_NAPL:g}); Welch's t-test of {residual_name}'s start networks against "
            f"{plain_name}'s: residual smaller with p < {ALPHA} reproduced, larger with p < {ALPHA} not reproduced, "
            "else inconclusive")
    residual, plain = (g[g["napl"] >= HIGH_NAPL].groupby("start")["gap"].mean() for g in (residual_gaps, plain_gaps))
    if not len(residual) or not len(plain):
        return not_run("resnet_gap_vanishes", text, paper, budget, rule,
                       f"no start network of {residual_name if not len(residual) else plain_name} reaches a NAPL "
                       f"point >= {HIGH_NAPL:g} in both granularities")
    p = welch_test(residual.values, plain.values)
    if not p < ALPHA:
        outcome = "inconclusive"
    else:
        outcome = "reproduced" if residual.mean() < plain.mean() else "not reproduced"
    by_point = "; ".join(
        f"NAPL {point:g}: {100 * r:+.2f} from {residual_name}, {100 * q:+.2f} from {plain_name}"
        for point, r, q in points_side_by_side(residual_gaps, plain_gaps))
    ours = (f"mean gap over NAPL >= {HIGH_NAPL:g}, points: {100 * residual.mean():+.2f} from {residual_name} "
            f"({len(residual)} start networks), {100 * plain.mean():+.2f} from {plain_name} ({len(plain)}); by point: "
            f"{by_point}")
    statistic = (f"Welch p = {p:.2g}" if p == p else "no test possible (fewer than 2 start networks on a side)")
    return Verdict("resnet_gap_vanishes", text, paper, ours, budget, outcome, rule, statistic, missing)


def points_side_by_side(residual_gaps: pd.DataFrame, plain_gaps: pd.DataFrame) -> list:
    """(NAPL point, residual gap, plain gap), means over start networks, at every point both reach."""
    residual, plain = (g.groupby("napl")["gap"].mean() for g in (residual_gaps, plain_gaps))
    return [(point, residual[point], plain[point]) for point in sorted(set(residual.index) & set(plain.index))]


# ----------------------------------------------------------------------------- run and verdicts


@dataclass
class Results:
    runs: pd.DataFrame  # one line per post-training run from the residual start
    budget: str  # one line: nets, data, epochs, seeds, device, hours
    budget_long: str = ""  # the budget in words, for the top of the figures
    start: dict | None = None  # the residual start network's record
    records: list = field(default_factory=list)  # its post-training records
    start_napl: float = math.nan  # its NAPL with every unit nonlinear
    plain: "lin.Results | None" = None  # the plain start's results, if stored at this profile
    plain_model: str = "repvgg_a0"  # the plain start network's name
    plain_dataset: str = "fashion_mnist"  # the data it was trained on (that chapter's, at this profile)

    @cached_property
    def pairs(self) -> pd.DataFrame:
        return lin.matched_pairs(self.runs)

    @cached_property
    def gaps(self) -> pd.DataFrame:
        return lin.matched_napl_gaps(self.runs)

    @cached_property
    def comparison(self) -> pd.DataFrame:
        if self.plain is None:
            return bin_comparison(self.pairs, pd.DataFrame(columns=lin.PAIR_COLUMNS))
        return bin_comparison(self.pairs, self.plain.pairs)


def stored_plain_results(profile: str, store) -> tuple:
    """(settings, results) of the plain start (chapter ``linearization_napl``) at ``profile``, read
    from ``store``; results is None unless every one of its runs is stored (nothing is trained)."""
    settings = resolve_settings(lin.NAME, lin.BUDGETS, profile)
    stored = [store.load(c) for c in lin.configs(settings)]
    if any(r is None for r in stored):
        return settings, None
    start, records = stored[0], stored[1:]
    return settings, lin.Results(runs=lin.linearization_runs(records), budget=lin.budget_line(settings, start, records),
                                 start=start, records=records, start_napl=napl(linearized_architecture(records[0])))


def run(settings: dict, store) -> Results:
    _, start, records, start_napl = lin.run_study(settings, store, NAME)
    plain_settings, plain = stored_plain_results(settings["profile"], store)
    return Results(runs=lin.linearization_runs(records), budget=lin.budget_line(settings, start, records),
                   budget_long=lin.budget_text(settings, start, records), start=start, records=records,
                   start_napl=start_napl, plain=plain, plain_model=plain_settings["start_model"],
                   plain_dataset=plain_settings["dataset"])


def missing_parts(settings: dict) -> list:
    """The parts of the paper's ablation (ResNet-56, CIFAR-100, 60 post-training epochs) that
    ``settings`` does not reach."""
    missing = []
    if settings["start_model"] != "resnet56":
        missing.append(f"ResNet-56 (this profile uses {settings['start_model']})")
    if settings["dataset"] != "cifar100":
        missing.append("CIFAR-100")
    if settings["post_epochs"] + settings.get("finetune_epochs", 0) < 60:
        missing.append("60 post-training epochs")
    return missing


@dataclass
class ProtocolPreview:
    """What is stored so far of the ablation's controlled protocol (``book_v2``): one
    ``linearization_napl.ProtocolResults`` per start model."""

    settings: dict  # the budget's settings
    residual: "lin.ProtocolResults"  # from the residual start (resnet20)
    plain: "lin.ProtocolResults"  # from the plain start of the same design (plain20)

    @property
    def names(self) -> tuple:
        return self.settings["start_model"], self.settings["plain_model"]

    @property
    def stored(self) -> int:
        return self.residual.stored + self.plain.stored

    @property
    def missing(self) -> int:
        return self.residual.missing + self.plain.missing


def protocol_preview(settings: dict, store) -> ProtocolPreview:
    """Both start models' protocol tables from the runs of ``settings`` stored so far (nothing is trained)."""
    residual, plain = (lin.protocol_results(model_settings(settings, m), store, NAME)
                       for m in (settings["start_model"], settings["plain_model"]))
    return ProtocolPreview(settings, residual, plain)


def next_budget_preview(profile: str, store, budget: str = "book_v2") -> ProtocolPreview | None:
    """What is stored so far of the next book budget (trained in the background; nothing is
    trained here); None where the chapter has no such budget for this profile."""
    if profile != "book" or budget not in BUDGETS:
        return None
    return protocol_preview(resolve_settings(NAME, BUDGETS, profile, budget), store)


def protocol_verdicts(preview: ProtocolPreview) -> list:
    """The claim judged by the controlled protocol (``rule_gap_vanishes``) on ``preview``."""
    budget = f"{preview.residual.budget}; {preview.plain.budget}"
    return [rule_gap_vanishes(preview.residual.gaps, preview.plain.gaps, preview.names, budget,
                              ", ".join(missing_parts(preview.settings) + [unsettled_note(preview.settings)]))]


def unsettled_note(settings: dict) -> str:
    """What the verdict says of phase 2: this chapter has no calibration of its own, and the RepVGG
    chapter's found its 2-epoch phase 2 unsettled (``linearization_napl``, book_v2)."""
    epochs = settings["finetune_epochs"]
    return (f"phase 2 not shown to settle ({epochs} epoch{'s' if epochs != 1 else ''}, no calibration here; the "
            "RepVGG chapter's calibration found 2 epochs unsettled)")


def chapter_verdicts(results: Results, settings: dict, preview: ProtocolPreview | None) -> list:
    """The verdict the chapter stands by (and the report shows): the protocol's (``book_v2``) once
    every run of both start models is stored, else the first budget's (``verdicts``)."""
    return protocol_verdicts(preview) if lin.is_fully_stored(preview) else verdicts(results, settings)


def protocol_gap_table(preview: ProtocolPreview) -> pd.DataFrame:
    """Per NAPL point: each start model's gap (channel minus layer accuracy after phase 2, points),
    the mean over its start networks with the 95 % interval and p of a t-test over them, and how
    many start networks reach the point (``matched_napl.gap_columns``); every point either model
    reaches is listed."""
    residual, plain = preview.names
    both = pd.concat([mn.gap_columns(preview.residual.gaps, f"gap from {residual}"),
                      mn.gap_columns(preview.plain.gaps, f"gap from {plain}")], axis=1)
    return both.sort_index().rename_axis("NAPL").reset_index().fillna("—")


def plot_protocol_accuracy(preview: ProtocolPreview):
    """Accuracy after phase 2 against NAPL from each start model, side by side on one accuracy
    scale (``linearization_napl.draw_protocol_accuracy``: per arm, the mean over start networks of
    the accuracy interpolated at each NAPL point, +-1 standard error; each run a faint dot)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5), sharey=True)
    for ax, results in zip(axes, (preview.residual, preview.plain)):
        lin.draw_protocol_accuracy(ax, results)
    fig.tight_layout()
    return fig


def plot_protocol_gaps(preview: ProtocolPreview):
    """Each start model's gap at the NAPL points after phase 2: the mean over start networks with
    the 95 % interval of a t-test over them; the claim's range (NAPL >= ``HIGH_NAPL``) shaded."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.axvspan(HIGH_NAPL - 0.5, max(preview.settings["napl_points"]) + 0.5, color="grey", alpha=0.1,
               label=f"the rule's range, NAPL >= {HIGH_NAPL:g}")
    ax.axhline(0, color="black", lw=0.8)
    for offset, color, (name, results) in zip((-0.08, 0.08), ("C1", "C3"), zip(preview.names, (
            preview.residual, preview.plain))):
        mn.plot_gap_points(ax, results.gaps, offset, color,
                           f"from {name} ({len(preview.settings['start_seeds'])} start networks)")
    ax.set(xlabel="NAPL", ylabel="channel- minus layer-wise accuracy (points)",
           title="The gap after phase 2, from a residual and from a plain start")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def verdicts(results: Results, settings: dict) -> list:
    text, paper = CLAIMS["resnet_gap_vanishes"]
    rule = (f"in each {BIN_WIDTH:g}-wide NAPL bin holding matched NAPLs of both starts, Welch's t-test over "
            f"post-training seeds of the gap from the plain start against the gap from the residual start: residual "
            f"smaller with p < {ALPHA}: reproduced, larger with p < {ALPHA}: not reproduced, otherwise or with one "
            f"seed (no test possible): inconclusive; the bins combined")
    name = settings["start_model"]
    if results.plain is None:
        return [not_run("resnet_gap_vanishes", text, paper, results.budget, rule,
                        f"the plain start's runs ({results.plain_model}, chapter linearization_napl) are not stored "
                        f"at the {settings['profile']} profile")]
    comparison = results.comparison
    outcome, per_bin = gap_shrinks_rule(comparison)
    residual_napls = ", ".join(f"{n:.3g}" for n in sorted(results.pairs["napl"])) or "none"
    if len(comparison):
        by_bin = "; ".join(f"NAPL {r.bin}: {100 * r.residual_gap:+.2f} from {name} against "
                           f"{100 * r.plain_gap:+.2f} from {results.plain_model}" for r in comparison.itertuples())
        tests = "; ".join(
            f"NAPL {r.bin}: " + (f"Welch p = {r.p:.2g}" if r.p == r.p else "no test possible")
            + f" ({r.residual_seeds} and {r.plain_seeds} seed(s))" for r in comparison.itertuples())
    else:
        by_bin = "no NAPL bin holds matched NAPLs of both starts"
        tests = "no bin to compare"
    one_seed = bool(len(comparison)) and min(comparison["residual_seeds"].min(), comparison["plain_seeds"].min()) < 2
    ours = (f"gap, channel- minus layer-wise, in points, by NAPL bin: {by_bin}; matched NAPLs from {name}: "
            f"{residual_napls}")
    statistic = tests + ("; with one seed on a side the gaps have no error bars, so the outcome is at most "
                         "inconclusive" if one_seed else "")
    budget = f"{results.budget}; the plain start: {results.plain.budget}"
    return [Verdict("resnet_gap_vanishes", text, paper, ours, budget, outcome, rule, statistic,
                    ", ".join(missing_parts(settings)))]
