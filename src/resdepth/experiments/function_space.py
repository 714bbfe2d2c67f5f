"""Function space: Proposition 1 of *ResNets Are Deeper Than You Think*, and parameter counts.

Proposition 1 (Mehmeti-Göpel & Wand, 2025): a residual layer R(x) = phi(W x + b) + x equals a
feedforward layer of double width followed by one more affine map, g_eps (built by
``resdepth.function_space.residual_as_feedforward``), exactly only as eps -> 0. By Taylor's theorem
at the offset beta the error is O(eps) (GELU at beta = 0), O(eps^2) where phi''(beta) = 0 (tanh at
beta = 0), and for ReLU with beta > 0 it is zero once eps <= beta / max_i(-x_i). Nothing is
trained: residual layers at PyTorch's default init, in float64, on real Fashion-MNIST test images
(the committed sample) average-pooled to ``dim`` pixels.

The paper's control for parameter count: channel-wise linearization adds one PReLU slope per
channel instead of one per layer, about 0.03 % more parameters on RepVGG-A2. We count them on the
fused nets as built here.
"""

import copy
import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..data import sample_test_batch
from ..function_space import feedforward_error, parameter_counts, ResidualLayer
from ..models import build_model
from ..verdict import combine, Verdict


NAME = "function_space"
TITLE = "Function space: Proposition 1 and parameter counts"
TRAINS = False

BUDGETS = {
    "smoke": dict(
        dim=16,  # width of the residual layer (inputs: images average-pooled to dim pixels, dim a square)
        seeds=[0],  # seeds of the layers' default init
        images=16,  # real Fashion-MNIST test images from the committed sample
        eps_min=1e-3,  # smallest eps of the log grid
        eps_max=100.0,  # largest eps of the log grid
        eps_points=6,  # number of eps values, log-spaced
    ),
    "book": dict(
        dim=64,  # width of the residual layer (inputs: images average-pooled to dim pixels, dim a square)
        seeds=[0, 1, 2],  # seeds of the layers' default init
        images=256,  # real Fashion-MNIST test images from the committed sample
        eps_min=1e-5,  # smallest eps of the log grid
        eps_max=100.0,  # largest eps of the log grid
        eps_points=15,  # number of eps values, log-spaced
    ),
    "paper": dict(
        dim=64,  # width of the residual layer (inputs: images average-pooled to dim pixels, dim a square)
        seeds=[0, 1, 2, 3, 4],  # seeds of the layers' default init
        images=1000,  # real Fashion-MNIST test images from the committed sample
        eps_min=1e-5,  # smallest eps of the log grid
        eps_max=100.0,  # largest eps of the log grid
        eps_points=15,  # number of eps values, log-spaced
    ),
}

CLAIMS = {
    "fs_prop1": (
        "**ResNets Are Deeper, Proposition 1**: a residual layer $R(x) = \\phi(\\bar W x + \\bar b) + x$ equals a "
        "feedforward layer of double width plus one affine map, $g_\\varepsilon$, up to an error that falls with "
        "$\\varepsilon$: as $\\varepsilon^1$ for GELU and $\\varepsilon^2$ for tanh (offset $\\beta = 0$); for ReLU "
        "with $\\beta = 1$ exactly once $\\varepsilon \\le \\beta / \\max_i(-x_i)$, and not above",
        "a construction exact only as ε → 0 (a proposition; the rates ε, ε² and the ReLU bound follow from its "
        "construction by Taylor's theorem)",
    ),
    "fs_param_overhead": (
        "**ResNets Are Deeper**: channel-wise linearization of RepVGG-A2 adds only 0.02–0.04 % parameters over "
        "layer-wise (one PReLU slope per channel instead of one per layer)",
        "≈ 0.03 %",
    ),
}

# The figure or table of the chapter behind each claim (its glue:figure name), linked from the report.
EVIDENCE = {
    "fs_prop1": "fig-function-space-error",
    "fs_param_overhead": "tab-function-space-params",
}

# The activations of the check: label -> (activation, offset beta). tanh and GELU at beta = 0,
# where their slopes are 1 and 1/2; ReLU at beta = 1, where it is linear.
CASES = {"ReLU, β=1": ("relu", 1.0), "tanh, β=0": ("tanh", 0.0), "GELU, β=0": ("gelu", 0.0)}
RELU = "ReLU, β=1"
EXPECTED_SLOPES = {"GELU, β=0": 1.0, "tanh, β=0": 2.0}  # the error's order in eps, from Taylor's theorem
FIT_EPS_MAX = 0.1  # the slopes are fitted on eps <= this (the Taylor regime; see slope_rule)
SLOPE_TOLERANCE = 0.1  # |fitted slope - expected| allowed (see slope_rule)
ROUNDING_UNITS = 64  # float64 roundings allowed in the ReLU construction (see relu_rule)
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps)  # 2.2e-16

# Parameter counts: label -> (model, in_channels, num_classes, model_args, fused). The first two
# are the paper's net (RepVGG-A2) with a CIFAR-100 and an ImageNet head.
NETS = {
    "RepVGG-A2, CIFAR-100 (paper)": ("repvgg_a2", 3, 100, {}, True),
    "RepVGG-A2, ImageNet head (1000 classes)": ("repvgg_a2", 3, 1000, {}, True),
    "RepVGG-A0, CIFAR-100": ("repvgg_a0", 3, 100, {}, True),
    "RepVGG-A0 ×0.25, Fashion-MNIST (this book)": ("repvgg_a0", 1, 10, {"width_scale": 0.25}, True),
    "ResNet-56, CIFAR-100": ("resnet56", 3, 100, {}, False),
    "ResNet-20, Fashion-MNIST (this book)": ("resnet20", 1, 10, {}, False),
}
PAPER_NETS = ("RepVGG-A2, CIFAR-100 (paper)", "RepVGG-A2, ImageNet head (1000 classes)")
OVERHEAD_RANGE = (0.02, 0.04)  # percent: the paper's "≈ 0.03 %" ± one unit of its last digit (see overhead_rule)


def configs(settings: dict) -> list:
    """No runs: this chapter trains nothing."""
    return []


# ----------------------------------------------------------------------------- measurements


def inputs(settings: dict):
    """The real test images of the check, average-pooled to ``dim`` pixels, as float64 vectors."""
    side = int(round(settings["dim"] ** 0.5))
    images, _ = sample_test_batch(settings["images"], dtype=torch.float64)
    return F.adaptive_avg_pool2d(images, side).flatten(1)


def eps_grid(settings: dict) -> np.ndarray:
    return np.logspace(np.log10(settings["eps_min"]), np.log10(settings["eps_max"]), settings["eps_points"])


def relu_bound(x, offset: float = CASES[RELU][1]) -> float:
    """The eps below which g_eps is exactly R for ReLU: beta / max_i(-x_i) (inf if x >= 0)."""
    worst = float((-x).max())
    return offset / worst if worst > 0 else math.inf


def relu_tolerance(eps, offset: float = CASES[RELU][1]):
    """The float64 rounding bound of the ReLU construction at ``eps`` (see ``relu_rule``)."""
    return ROUNDING_UNITS * UNIT_ROUNDOFF * (1.0 + offset / np.asarray(eps, dtype=float))


def error_table(x, settings: dict) -> pd.DataFrame:
    """Relative error max|g_eps(x) - R(x)| / max|R(x)| per activation, seed and eps."""
    rows = []
    for seed in settings["seeds"]:
        for label, (activation, offset) in CASES.items():
            torch.manual_seed(seed)
            block = ResidualLayer(x.shape[1], activation).double()
            for eps in eps_grid(settings):
                rows.append({"activation": label, "seed": seed, "ε": float(eps),
                             "error": feedforward_error(block, x, float(eps), offset)})
    return pd.DataFrame(rows)


def fitted_slopes(errors: pd.DataFrame, eps_max: float = FIT_EPS_MAX) -> pd.DataFrame:
    """Per smooth activation and seed, the least-squares slope of log(error) on log(eps) for
    eps <= ``eps_max`` (needs two such eps; else nan)."""
    rows = []
    smooth = errors[errors["activation"].isin(list(EXPECTED_SLOPES)) & (errors["ε"] <= eps_max)]
    for (activation, seed), g in smooth.groupby(["activation", "seed"]):
        ok = g[g["error"] > 0]
        slope = np.polyfit(np.log(ok["ε"]), np.log(ok["error"]), 1)[0] if len(ok) >= 2 else math.nan
        rows.append({"activation": activation, "seed": seed, "slope": float(slope), "points": len(ok)})
    return pd.DataFrame(rows, columns=["activation", "seed", "slope", "points"])


def relu_table(errors: pd.DataFrame, bound: float) -> pd.DataFrame:
    """The ReLU rows with the rounding tolerance at each eps and which side of the bound eps is on."""
    relu = errors[errors["activation"] == RELU].copy()
    relu["tolerance"] = relu_tolerance(relu["ε"])
    relu["below bound"] = relu["ε"] <= bound
    return relu.reset_index(drop=True)


def parameter_table() -> pd.DataFrame:
    """Parameter counts of the fused nets at both granularities (``NETS``)."""
    rows = []
    for label, (model, channels, classes, args, fused) in NETS.items():
        net = build_model(model, channels, classes, **args)
        prototype = net.reparameterize() if fused else net  # fused once; each granularity gets a copy
        counts = parameter_counts(lambda: copy.deepcopy(prototype), torch.zeros(1, channels, 32, 32))
        rows.append({"net": label, "weights": counts["weights"], "slopes (channel-wise)": counts["slopes_channel"],
                     "slopes (layer-wise)": counts["slopes_layer"],
                     "extra parameters (%)": round(counts["overhead_pct"], 4)})
    return pd.DataFrame(rows)


def error_summary(slopes: pd.DataFrame, relu: pd.DataFrame, bound: float) -> pd.DataFrame:
    """Per activation: the expected order, the fitted slope (mean, min and max over seeds), and for
    ReLU the exactness bound with the largest error below it and the smallest above it."""
    rows = []
    for activation, expected in EXPECTED_SLOPES.items():
        s = slopes.loc[slopes["activation"] == activation, "slope"]
        rows.append({"activation": activation, "expected order": expected, "slope (mean)": s.mean(),
                     "slope (min)": s.min(), "slope (max)": s.max(), "seeds": len(s)})
    below, above = relu[relu["below bound"]], relu[~relu["below bound"]]
    rows.append({"activation": RELU, "seeds": relu["seed"].nunique(), "ReLU bound β/max(−x)": bound,
                 "largest error below bound": below["error"].max() if len(below) else math.nan,
                 "smallest error above bound": above["error"].min() if len(above) else math.nan})
    return pd.DataFrame(rows)


def budget_line(settings: dict, n_images: int) -> str:
    return (f"no training; residual layers of width {settings['dim']} at default init, float64, "
            f"{len(settings['seeds'])} seed(s), {n_images} real Fashion-MNIST test images, "
            f"{settings['eps_points']} ε in [{settings['eps_min']:g}, {settings['eps_max']:g}]; "
            f"parameter counts of the built nets")


def run(settings: dict, store=None) -> dict:
    """Everything the chapter shows; nothing is trained or stored (``store`` is unused)."""
    x = inputs(settings)
    errors = error_table(x, settings)
    bound = relu_bound(x)
    slopes, relu = fitted_slopes(errors), relu_table(errors, bound)
    return {
        "errors": errors,
        "slopes": slopes,
        "relu_bound": bound,
        "relu": relu,
        "summary": error_summary(slopes, relu, bound),
        "params": parameter_table(),
        "n_images": len(x),
        "budget": budget_line(settings, len(x)),
    }


# ----------------------------------------------------------------------------- rules


def _by_seed(passes: dict) -> str:
    """reproduced if every seed passes, not reproduced if none does, inconclusive if they differ."""
    if not passes:
        return "inconclusive"
    if all(passes.values()):
        return "reproduced"
    if not any(passes.values()):
        return "not reproduced"
    return "inconclusive"


def slope_rule(slopes: pd.DataFrame) -> tuple:
    """Proposition 1, smooth activations: the error's order in ε (Mehmeti-Göpel & Wand 2025, Prop. 1).

    Test: for each seed, the least-squares slope of log(error) on log(ε) over ε ≤ 0.1 must lie
    within ±0.1 of its Taylor order, 1 for GELU (β = 0) and 2 for tanh (β = 0). Every seed passes:
    reproduced; none passes: not reproduced; seeds disagree (or no slope): inconclusive.

    Why ±0.1: on ε ≤ 0.1 the neglected next Taylor term changes the error by a relative
    O(ε²x²) ≤ 0.04 for |x| ≤ 3 (standardized Fashion-MNIST pixels lie in [-0.8, 2.1]), which moves a
    fitted slope by ≤ 0.02; neither construction subtracts large numbers at β = 0 (φ(0) = 0), so
    float64 rounding (≈ 1e-16 relative) stays orders of magnitude below the smallest error on the
    grid (≈ 1e-10 for tanh at ε = 1e-5). 0.1 is five times that bias and ten times smaller than the
    gap between the two orders, so the rule separates order 1 from order 2 and from no decrease.

    Seeds: the error is the skip half's alone, (φ(εx + β) - φ(β)) / (ε φ'(β)) - x, which does not
    involve the seeded weights; a seed only rescales the relative error through max|R(x)|, so the
    slopes agree across seeds to rounding. The min–max over seeds is reported all the same.
    """
    passes, parts, spreads = {}, [], []
    for activation, expected in EXPECTED_SLOPES.items():
        s = slopes[slopes["activation"] == activation]
        for _, row in s.iterrows():
            ok = row["slope"] == row["slope"] and abs(row["slope"] - expected) <= SLOPE_TOLERANCE
            passes[row["seed"]] = passes.get(row["seed"], True) and bool(ok)
        if not len(s):
            passes["missing " + activation] = False
        values = s["slope"].to_numpy()
        parts.append(f"{activation.split(',')[0]} ε^{np.nanmean(values):.3f}" if len(values) else
                     f"{activation.split(',')[0]}: no slope")
        spreads.append(f"{activation.split(',')[0]} [{np.nanmin(values):.3f}, {np.nanmax(values):.3f}]"
                       if len(values) else f"{activation.split(',')[0]} —")
    outcome = _by_seed(passes) if len(slopes) else "inconclusive"
    n_seeds = slopes["seed"].nunique() if len(slopes) else 0
    statistic = (f"per-seed slopes on ε ≤ {FIT_EPS_MAX:g}, min–max over {n_seeds} seed(s): {', '.join(spreads)}; "
                 f"tolerance ±{SLOPE_TOLERANCE:g}; seeds passing: {sum(passes.values())} of {len(passes)}")
    return outcome, ", ".join(parts), statistic


def relu_rule(relu: pd.DataFrame, bound: float) -> tuple:
    """Proposition 1, ReLU with offset β = 1: exact below ε = β / max_i(-x_i), inexact above.

    Test: for each seed, the relative error must be within float64 rounding at every ε ≤ the bound
    and above it at every ε > the bound. The rounding bound is 64·u·(1 + β/ε), u = 2.2e-16:
    g_ε adds β and later subtracts β/ε, so the cancellation leaves a few roundings of size u·β/ε
    (plus u times the O(1) output); 64 roundings is a generous count for the handful of
    operations in the chain, and stays below 1e-8 on our grid (ε ≥ 1e-5), while a unit clipped by
    the ReLU (ε x_i + β < 0) adds an error -x_i - β/ε, for the worst unit max(-x)(1 - bound/ε),
    which exceeds the rounding bound unless ε lies within a relative 1e-10 of the bound. Every seed passes:
    reproduced; none: not reproduced; seeds disagree, or the grid has no ε on one side of the
    bound: inconclusive.
    """
    passes = {}
    for seed, g in relu.groupby("seed"):
        below, above = g[g["below bound"]], g[~g["below bound"]]
        if not len(below) or not len(above):
            continue
        exact_below = (below["error"] <= below["tolerance"]).all()
        passes[seed] = bool(exact_below and (above["error"] > above["tolerance"]).all())
    below, above = relu[relu["below bound"]], relu[~relu["below bound"]]
    worst_below = below["error"].max() if len(below) else math.nan
    best_above = above["error"].min() if len(above) else math.nan
    ours = (f"ReLU: largest error for ε ≤ {bound:.3g}: {worst_below:.1e}; smallest above: {best_above:.1e}")
    statistic = (f"ReLU per seed: error ≤ 64·u·(1 + β/ε) below the bound and above it beyond; "
                 f"seeds passing {sum(passes.values())} of {relu['seed'].nunique()}")
    return _by_seed(passes), ours, statistic


def overhead_rule(params: pd.DataFrame) -> tuple:
    """Parameter overhead of channel-wise over layer-wise linearization on RepVGG-A2 (paper: ≈ 0.03 %).

    Test: the extra parameters in percent of the fused RepVGG-A2, with a CIFAR-100 head and with an
    ImageNet head, must both lie in [0.02, 0.04] %: the paper prints one significant digit, and
    ±1 in that digit covers what a count may include or not (the classifier's size: 100 or 1000
    classes, biases) without changing the claim, "a few hundredths of a percent". Both inside:
    reproduced; both outside: not reproduced; one each: partly reproduced. A count is exact, so
    there are no seeds and no test.
    """
    rows = params[params["net"].isin(PAPER_NETS)]
    if not len(rows):
        return "not run", "no RepVGG-A2 count", "none"
    inside = [OVERHEAD_RANGE[0] <= v <= OVERHEAD_RANGE[1] for v in rows["extra parameters (%)"]]
    outcome = "reproduced" if all(inside) else "not reproduced" if not any(inside) else "partly reproduced"
    ours = "; ".join(f"{r['extra parameters (%)']:.4f} % ({r['net'].split(', ', 1)[1]}: "
                     f"{r['slopes (channel-wise)'] - r['slopes (layer-wise)']:,} extra slopes on "
                     f"{r['weights']:,} weights)" for _, r in rows.iterrows())
    statistic = (f"exact count, no seeds; {sum(inside)} of {len(inside)} head(s) in "
                 f"[{OVERHEAD_RANGE[0]:g}, {OVERHEAD_RANGE[1]:g}] %")
    return outcome, ours, statistic


def verdicts(results: dict, settings: dict) -> list:
    """One verdict per ``CLAIMS`` entry, in order."""
    slope_outcome, slope_ours, slope_stat = slope_rule(results["slopes"])
    relu_outcome, relu_ours, relu_stat = relu_rule(results["relu"], results["relu_bound"])
    text, paper = CLAIMS["fs_prop1"]
    prop1 = Verdict(
        "fs_prop1", text, paper, f"error ∝ {slope_ours} (mean over seeds); {relu_ours}", results["budget"],
        combine([slope_outcome, relu_outcome]),
        f"each seed's log-log slope on ε ≤ {FIT_EPS_MAX:g} within ±{SLOPE_TOLERANCE:g} of 1 (GELU) and 2 (tanh); "
        f"ReLU within float64 rounding below the bound and above it beyond; every seed must pass",
        f"{slope_stat}; {relu_stat}")
    outcome, ours, statistic = overhead_rule(results["params"])
    text, paper = CLAIMS["fs_param_overhead"]
    overhead = Verdict(
        "fs_param_overhead", text, paper, ours, "no training; fused RepVGG-A2 as built here, PReLU slopes counted",
        outcome, f"extra parameters of RepVGG-A2 (CIFAR-100 and ImageNet heads) within "
                 f"[{OVERHEAD_RANGE[0]:g}, {OVERHEAD_RANGE[1]:g}] %", statistic)
    return [prop1, overhead]
