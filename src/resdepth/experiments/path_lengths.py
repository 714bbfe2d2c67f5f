"""Path lengths of the linearized networks (*ResNets Are Deeper Than You Think*; Veit et al. 2016).

Reads the post-training runs of ``linearization_napl`` (the same profile; trained there, or here
if missing) and computes, for each linearized net, the exact distribution of the number of
nonlinear units on a path (``resdepth.pathlength.path_length_distribution``: a walk from the
input that, at an activation layer whose fraction of nonlinear units is p_l, meets a nonlinear
unit with probability p_l; its mean is the NAPL). Two claims: channel-wise linearization
extracts variable-depth nets (a spread of path lengths) where layer-wise leaves one length; and
the channel-wise distributions are close to binomial, which is judged against a stated null:
random per-layer fractions with the same NAPL.
"""

from dataclasses import dataclass, field
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import linearization_napl as lin
from ..linearize import linearized_architecture
from ..models import build_model
from ..pathlength import binomial_like, chain_distribution, mean_length, path_length_distribution, total_variation
from ..results import sweep
from ..verdict import ALPHA, not_run, Verdict
from .common import hours_and_devices, resolve_settings


NAME = "path_lengths"
TITLE = "Path lengths of the linearized networks"
TRAINS = False  # it reads linearization_napl's runs (training them there if missing)

BUDGETS = {
    "smoke": dict(
        seed=None,  # post-training seed whose nets the histograms show (None: the first); the verdicts use all
        null_draws=200,  # random fraction vectors per net in the null of the binomial test
        null_seed=0,  # numpy seed of those draws
    ),
    "book": dict(
        seed=None,  # post-training seed whose nets the histograms show (None: the first); the verdicts use all
        null_draws=1000,  # random fraction vectors per net in the null of the binomial test
        null_seed=0,  # numpy seed of those draws
    ),
    "paper": dict(
        seed=None,  # post-training seed whose nets the histograms show (None: the first); the verdicts use all
        null_draws=1000,  # random fraction vectors per net in the null of the binomial test
        null_seed=0,  # numpy seed of those draws
    ),
}

CLAIMS = {
    "path_variable_depth": (
        "**ResNets Are Deeper**: channel-wise linearization of a plain net extracts variable-depth nets (a spread of "
        "path lengths, as in a ResNet); layer-wise linearization leaves one path length",
        "RepVGG-A2: the extracted nets mix long and short paths, like a ResNet",
    ),
    "path_binomial": (
        "**ResNets Are Deeper**: the path lengths of a channel-wise linearized net are close to binomial, as in "
        "Veit et al. {cite:p}`veit2016residual`",
        "close to binomial (histograms; no distance given)",
    ),
}

# The figure or table of the chapter behind each claim (its glue:figure name), linked from the report.
EVIDENCE = {
    "path_variable_depth": "fig-paths-histograms",
    "path_binomial": "fig-paths-null",
}

SPREAD_TOL = 1e-9  # a standard deviation of path length above this is a spread (float noise is ~1e-15)


def configs(settings: dict) -> list:
    return []  # the nets are linearization_napl's runs


# ----------------------------------------------------------------------------- distributions


def std_length(dist: np.ndarray) -> float:
    """Standard deviation of the path length under ``dist``."""
    k = np.arange(len(dist))
    return float(np.sqrt(max(0.0, np.dot((k - mean_length(dist)) ** 2, dist))))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    n = max(len(a), len(b))
    return bool(np.allclose(np.pad(a, (0, n - len(a))), np.pad(b, (0, n - len(b))), atol=1e-12))


def distribution_function(model, names: list):
    """fractions (one per name, in order) -> the path-length distribution of ``model``.

    ``path_length_distribution`` traces the graph at each call (about 20 ms); the null needs
    thousands of calls. Where the net is a chain (a fused RepVGG), checked on two random fraction
    vectors against ``path_length_distribution`` itself, the Poisson-binomial is computed directly;
    otherwise every call goes through ``path_length_distribution``.
    """
    def traced(p):
        return path_length_distribution(model, dict(zip(names, map(float, p))))

    rng = np.random.default_rng(12345)
    if all(_same(traced(p), chain_distribution(p)) for p in rng.uniform(size=(2, len(names)))):
        return chain_distribution
    return traced


def scale_to_napl(u: np.ndarray, weights: np.ndarray, target: float) -> np.ndarray:
    """min(1, s u) with s chosen (bisection) so that sum(weights * fractions) = ``target``: random
    fractions ``u`` (one vector, or one per row) rescaled to a net's NAPL (NAPL is linear in the
    fractions, with weight 1 per layer on a chain)."""
    u = np.atleast_2d(u)
    napl_at = lambda s: np.minimum(1.0, s[:, None] * u) @ weights  # noqa: E731
    low, high = np.zeros(len(u)), np.ones(len(u))
    reachable = target < weights.sum()
    while np.any(reachable & (napl_at(high) < target)):
        high = np.where(napl_at(high) < target, 2 * high, high)
    for _ in range(60):
        mid = (low + high) / 2
        below = napl_at(mid) < target
        low, high = np.where(below, mid, low), np.where(below, high, mid)
    return np.where(reachable, np.minimum(1.0, high[:, None] * u), 1.0).squeeze()


def null_tvs(model, fractions: dict, draws: int, seed: int) -> np.ndarray:
    """The null of the binomial test for one net: ``draws`` total-variation distances to the
    binomial (``binomial_like``) of nets with the same graph whose per-layer nonlinear fractions are
    drawn at random, u_l ~ Uniform(0, 1) independently per activation layer (numpy ``seed``), then
    rescaled to the net's NAPL by ``scale_to_napl``."""
    names = list(fractions)
    dist_of = distribution_function(model, names)
    eye = np.eye(len(names))
    weights = np.array([mean_length(dist_of(e)) for e in eye])  # NAPL per unit fraction of each layer
    target = float(weights @ np.array([fractions[n] for n in names]))
    fractions = np.atleast_2d(scale_to_napl(np.random.default_rng(seed).uniform(size=(draws, len(names))), weights,
                                            target))
    return np.array([total_variation(d, binomial_like(d)) for d in map(dist_of, fractions)])


# ----------------------------------------------------------------------------- the table


def net_row(record: dict, model, draws: int, null_seed: int, full_napl: float) -> tuple:
    """(row, distribution) of one post-training run: NAPL, spread, longest path, TV to the binomial,
    and for channel-wise nets with a spread the null of the binomial test and the net's place in it."""
    fractions = record["linearization"]["nonlinear_fractions"]
    dist = path_length_distribution(model, fractions)
    cfg = record["config"]
    napl, std = mean_length(dist), std_length(dist)
    tv = total_variation(dist, binomial_like(dist))
    row = {"net": f"{cfg['linearize']}, ω={cfg['omega']:g}", "seed": cfg["seed"], "granularity": cfg["linearize"],
           "omega": cfg["omega"], "NAPL": napl, "std": std, "longest": int(np.nonzero(dist > 1e-12)[0][-1]),
           "TV to binomial": tv, "null 5%": math.nan, "null median": math.nan, "null p": math.nan}
    interior = 0 < napl < full_napl - 1e-9
    row["tested"] = bool(cfg["linearize"] == "channel" and interior and std > SPREAD_TOL)
    row["interior"] = bool(interior)
    if row["tested"]:
        null = null_tvs(model, fractions, draws, null_seed)
        row.update({"null 5%": float(np.quantile(null, ALPHA)), "null median": float(np.median(null)),
                    "null p": (1 + int(np.sum(null <= tv))) / (1 + draws)})
    return row, dist


@dataclass
class Results:
    summary: pd.DataFrame  # one line per net (every seed) and a standard ResNet-56
    budget: str  # one line
    seed: int = 0  # the seed whose histograms are shown
    dists: dict = field(default_factory=dict)  # {label: distribution} of the shown seed's nets and ResNet-56
    lin_settings: dict = field(default_factory=dict)  # the settings of the runs (linearization_napl)
    records: list = field(default_factory=list)


def run(settings: dict, store) -> Results:

    lin_settings = resolve_settings(lin.NAME, lin.BUDGETS, settings["profile"])
    records = [r for r in sweep(lin.configs(lin_settings), store)[1:] if r["status"] == "ok"]
    shown = lin_settings["seeds"][0] if settings["seed"] is None else settings["seed"]
    models, rows, dists = {}, [], {}
    for r in records:
        shape = (r["config"]["linearize"], r["linearization"]["in_channels"], r["linearization"]["image_size"])
        if shape not in models:  # one traced net per granularity: fractions come from the record
            model = linearized_architecture(r)
            models[shape] = (model, mean_length(path_length_distribution(model, {
                n: 1.0 for n in r["linearization"]["nonlinear_fractions"]})))
        model, full = models[shape]
        row, dist = net_row(r, model, settings["null_draws"], settings["null_seed"], full)
        rows.append(row)
        if r["config"]["seed"] == shown:
            dists[row["net"]] = dist
    resnet = path_length_distribution(build_model("resnet56", 1, 10))
    dists["ResNet-56 (standard)"] = resnet
    rows.append({"net": "ResNet-56 (standard)", "seed": math.nan, "granularity": "resnet", "omega": math.nan,
                 "NAPL": mean_length(resnet), "std": std_length(resnet), "longest": len(resnet) - 1,
                 "TV to binomial": total_variation(resnet, binomial_like(resnet)), "null 5%": math.nan,
                 "null median": math.nan, "null p": math.nan, "tested": False, "interior": True})
    summary = pd.DataFrame(rows)
    summary["std / NAPL"] = summary["std"] / summary["NAPL"].where(summary["NAPL"] > 0)
    budget = (f"{len(records)} stored post-training runs of {lin.start_network(lin_settings)}, "
              f"{lin_settings['dataset']}, {lin_settings['post_epochs']} post-training epoch(s), "
              f"{lin.seeds_text(lin_settings['seeds'])}; exact distributions; null: {settings['null_draws']} draws per "
              f"net; {hours_and_devices(records) if records else 'no runs'}")
    return Results(summary, budget, shown, dists, lin_settings, records)


def summary_table(summary: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The shown seed's nets and ResNet-56, rounded for the page."""
    shown = summary[(summary["seed"] == seed) | (summary["granularity"] == "resnet")]
    return shown[["net", "NAPL", "std", "std / NAPL", "longest", "TV to binomial", "null 5%", "null median",
                  "null p"]].round(3).reset_index(drop=True)


# ----------------------------------------------------------------------------- rules


def variable_depth_rule(summary: pd.DataFrame) -> tuple:
    """(outcome, channel-wise nets with a spread, channel-wise nets, layer-wise nets with one length,
    layer-wise nets) of "channel-wise gives variable depth, layer-wise one path length".

    A deterministic check, no test: the distributions are exact. A net has variable depth when the
    standard deviation of its path length exceeds ``SPREAD_TOL`` (1e-9: float noise on a single
    length is ~1e-15, while one layer of 24 channels with one nonlinear channel already gives ~0.2).
    Checked on every net strictly between all-linear and all-nonlinear (0 < NAPL < the start
    network's), the only nets that could show either. Every channel-wise net with a spread and every
    layer-wise net with one length: reproduced; no channel-wise net with a spread, or a layer-wise
    net with one (the contrast fails): not reproduced; some channel-wise nets with a spread: partly
    reproduced; no such nets: not run.
    """
    nets = summary[summary["interior"] & summary["granularity"].isin(["channel", "layer"])]
    channel, layer = nets[nets["granularity"] == "channel"], nets[nets["granularity"] == "layer"]
    spread = int((channel["std"] > SPREAD_TOL).sum())
    single = int((layer["std"] <= SPREAD_TOL).sum())
    if not len(channel) or not len(layer):
        return "not run", spread, len(channel), single, len(layer)
    if spread == 0 or single < len(layer):
        outcome = "not reproduced"
    elif spread == len(channel):
        outcome = "reproduced"
    else:
        outcome = "partly reproduced"
    return outcome, spread, len(channel), single, len(layer)


def binomial_rule(summary: pd.DataFrame) -> tuple:
    """(outcome, tested nets) of "the channel-wise path lengths are close to binomial".

    Test, per channel-wise net with a spread (``tested``): its total-variation distance to the
    binomial of the same mean and longest path, against the null ``null_tvs`` (the same graph with
    random per-layer fractions rescaled to its NAPL); the net is closer to binomial than chance when
    its TV lies below the null's 5% quantile, i.e. its one-sided permutation p = (1 + #{null TV <=
    its TV}) / (1 + draws) is below ALPHA. Every tested net below: reproduced; none: not reproduced;
    some: inconclusive; no tested net: not run.
    Why a null: a fixed threshold (the earlier rule, TV < 0.1) passes nets with no binomial
    structure: random per-layer fractions already give TVs of about 0.01 to 0.2 depending on the
    NAPL. The paper shows histograms beside a binomial (its path-length figure) and gives no
    distance, so "close" can only mean closer than an arbitrary spread of the same NAPL over the
    same layers.
    """
    tested = summary[summary["tested"]]
    if not len(tested):
        return "not run", tested
    below = tested["null p"] < ALPHA
    if below.all():
        return "reproduced", tested
    return ("not reproduced" if not below.any() else "inconclusive"), tested


def verdicts(results: Results, settings: dict) -> list:
    summary = results.summary
    missing = ", ".join(lin.missing_parts(results.lin_settings)) if results.lin_settings else ""
    seeds = sorted({int(s) for s in summary["seed"].dropna()})
    out = []

    text, paper = CLAIMS["path_variable_depth"]
    rule = (f"exact distributions; variable depth = standard deviation of the path length > {SPREAD_TOL:g}; every "
            f"channel-wise net with 0 < NAPL < full has it and every layer-wise one has not: reproduced; no "
            f"channel-wise net has it (or a layer-wise one does): not reproduced; some: partly reproduced")
    outcome, spread, n_channel, single, n_layer = variable_depth_rule(summary)
    if outcome == "not run":
        out.append(not_run("path_variable_depth", text, paper, results.budget, rule, "no linearized nets stored"))
    else:
        channel = summary[summary["interior"] & (summary["granularity"] == "channel")]
        layer = summary[summary["interior"] & (summary["granularity"] == "layer")]
        out.append(Verdict(
            "path_variable_depth", text, paper,
            f"channel-wise: {spread} of {n_channel} nets have a spread (std of path length "
            f"{channel['std'].min():.2f} to {channel['std'].max():.2f}, std / NAPL {channel['std / NAPL'].min():.2f} "
            f"to {channel['std / NAPL'].max():.2f}); layer-wise: {single} of {n_layer} nets have one path length "
            f"(largest std {layer['std'].max():.1e})",
            results.budget, outcome, rule,
            f"deterministic check on exact distributions, no test; {n_channel + n_layer} nets from seeds {seeds}",
            missing))

    text, paper = CLAIMS["path_binomial"]
    rule = (f"per channel-wise net with a spread, its TV to the binomial against {settings['null_draws']} nets with "
            f"random per-layer fractions (Uniform(0, 1), rescaled to its NAPL, seed {settings['null_seed']}); closer "
            f"than chance when below the null's 5% quantile (permutation p < {ALPHA}); all nets: reproduced, none: "
            f"not reproduced, some: inconclusive")
    outcome, tested = binomial_rule(summary)
    if outcome == "not run":
        out.append(not_run("path_binomial", text, paper, results.budget, rule, "no channel-wise net with a spread"))
    else:
        below = tested[tested["null p"] < ALPHA]
        above = tested[tested["TV to binomial"] > tested["null median"]]
        each = "; ".join(f"NAPL {r['NAPL']:.3g}: TV {r['TV to binomial']:.3f}, null 5% {r['null 5%']:.3f}, "
                         f"p = {r['null p']:.2g}" for _, r in tested.sort_values("NAPL").iterrows())
        out.append(Verdict(
            "path_binomial", text, paper,
            f"closer to binomial than chance in {len(below)} of {len(tested)} channel-wise nets "
            f"(NAPL {_napl_range(below)}); farther than the null's median in {len(above)} (NAPL {_napl_range(above)}); "
            f"TV to the binomial {tested['TV to binomial'].min():.3f} to {tested['TV to binomial'].max():.3f}",
            results.budget, outcome, rule,
            f"one-sided permutation test per net, {settings['null_draws']} null draws, {len(tested)} nets from seeds "
            f"{seeds}: {each}",
            missing))
    return out


def _napl_range(rows: pd.DataFrame) -> str:
    if not len(rows):
        return "none"
    return f"{rows['NAPL'].min():.3g} to {rows['NAPL'].max():.3g}"


# ----------------------------------------------------------------------------- figures


def plot_histograms(results: Results, cols: int = 4):
    """One panel per channel-wise net of the shown seed (NAPL falling) and ResNet-56: the exact
    distribution (bars) and the binomial of the same mean and longest path (line)."""
    summary = results.summary
    channel = summary[(summary["granularity"] == "channel") & (summary["seed"] == results.seed)]
    shown = list(channel.sort_values("NAPL", ascending=False)["net"]) + ["ResNet-56 (standard)"]
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(16, 3.2 * rows), squeeze=False)
    for ax, label in zip(axes.flat, shown):
        dist = results.dists[label]
        ref = binomial_like(dist)
        ax.bar(np.arange(len(dist)), dist, color="C0" if label in set(channel["net"]) else "C2", alpha=0.8)
        ax.plot(np.arange(len(ref)), ref, "k.-", lw=1, ms=3, label="binomial, same mean")
        ax.set(title=f"{label}\nNAPL {mean_length(dist):.2f}", xlabel="nonlinear units on the path",
               ylabel="fraction")
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_tv_against_null(results: Results):
    """TV to the binomial of every tested channel-wise net (all seeds) against its null: the null's
    5% quantile to median as a bar, the net as a dot."""
    tested = results.summary[results.summary["tested"]].sort_values("NAPL")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for seed, g in tested.groupby("seed"):
        offset = 0.08 * (seed - 0.5 * (tested["seed"].nunique() - 1))
        x = g["NAPL"] + offset
        first = seed == tested["seed"].min()
        ax.errorbar(x, g["null median"], yerr=[g["null median"] - g["null 5%"], 0 * g["null median"]], fmt="_",
                    color="grey", capsize=3, label="null: 5% quantile to median" if first else None)
        ax.scatter(x, g["TV to binomial"], color=f"C{int(seed)}", zorder=3, label=f"learned net, seed {int(seed)}")
    ax.set(xlabel="NAPL", ylabel="total-variation distance to the binomial",
           title="Channel-wise nets against random per-layer fractions of the same NAPL")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
