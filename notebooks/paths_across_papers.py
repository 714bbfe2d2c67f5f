# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Synthesis: one ensemble of paths, seen from both papers
#
# Both papers describe a residual network as a mixture of paths of different depths, but they
# weigh the paths differently.
#
# - *Nonlinear Advantage* {cite}`mehmeti2022nonlinear` and *ResNets Are Deeper Than You Think*
#   {cite}`mehmeti2025deeper` count nonlinear units along a random walk that splits **evenly** at
#   every residual add (NAPL). A scale on the branch does not enter.
# - The Residual Expansion Theorem of Dherin & Munn {cite}`dherin2025depth` writes a tower of blocks
#   $x + \lambda F_i(x)$ as $f = \sum_k \lambda^k M_k$, where $M_k$ sums the $\binom{n}{k}$ paths
#   through $k$ branches. If each path counted the same, order $k$ would carry a share
#   $\binom{n}{k}\lambda^k / (1+\lambda)^n$: a Binomial$(n, \lambda/(1+\lambda))$, whose mean
#   $n\lambda/(1+\lambda)$ is $n/2$ only at $\lambda = 1$ (Veit et al.'s picture {cite}`veit2016residual`).
#
# This chapter asks two questions neither paper asks. (1) Do paths really count the same, i.e.
# does the size of $\lambda^k M_k$ follow the path count? We measure $\|\lambda^2 M_2\| / \|\lambda M_1\|$ on
# towers at initialisation against the two extremes: paths that add coherently, $(n-1)\lambda/2$, and
# paths that add like independent noise, $\lambda\sqrt{(n-1)/2}$. (2) Is the depth mix of a
# $\lambda = 1/\sqrt{n}$ tower like the mix that channel-wise linearization extracts from a plain
# network, at the same mean depth?

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
depths = None  # tower depths for the coherence measurement
width = None
images = None
seeds = None

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from myst_nb import glue

from resdepth import profiles
from resdepth.data import sample_test_batch
from resdepth.expansion import expansion_terms
from resdepth.grids import run_linearization_study
from resdepth.linearize import linearized_architecture
from resdepth.models import ResidualTower, build_model
from resdepth.pathlength import mean_length, path_length_distribution, total_variation, tower_order_mix
from resdepth.results import compute_used

settings = profiles.resolve("paths_across_papers", profile, depths=depths, width=width, images=images, seeds=seeds)
sns.set_theme(context="notebook", style="whitegrid")
if profile == "smoke":
    print("SMOKE PROFILE: these numbers only exercise the code on the small committed sample. They are not results.")
x, _ = sample_test_batch(settings["images"], torch.float64)
print(f"Budget, part 1: towers at initialisation (no training), width {settings['width']}, depths "
      f"{settings['depths']}, λ = 1/√n, seeds {settings['seeds']}, float64, {len(x)} real Fashion-MNIST test images "
      f"(committed sample).")

# %% [markdown]
# ## 1. Do paths count the same?
#
# For each depth, the ratio $\|\lambda^2 M_2\| / \|\lambda M_1\|$ (norms over the batch of logits),
# computed by `resdepth.expansion.expansion_terms` with $n$ Jacobian-vector products, in
# {numref}`fig-synthesis-coherence` and {numref}`tab-synthesis-ratios`.

# %% tags=["hide-input"]
rows = []
for n in settings["depths"]:
    lam = 1 / np.sqrt(n)
    for seed in settings["seeds"]:
        torch.manual_seed(seed)
        tower = ResidualTower(n, settings["width"], lam=lam, in_channels=1).double().eval()
        _, m1, m2 = expansion_terms(tower, x)
        rows.append({"n": n, "seed": seed, "measured": (lam**2 * m2.norm() / (lam * m1.norm())).item(),
                     "coherent paths": (n - 1) * lam / 2, "independent paths": lam * np.sqrt((n - 1) / 2)})
ratios = pd.DataFrame(rows)
long = ratios.melt(id_vars=["n", "seed"], var_name="model", value_name="ratio")
fig, ax = plt.subplots(figsize=(8, 4.5))
sns.lineplot(data=long, x="n", y="ratio", hue="model", style="model", markers=True, errorbar=("se", 1), ax=ax)
ax.set(xscale="log", yscale="log", xlabel="depth n (λ = 1/√n)", ylabel="‖λ²M₂‖ / ‖λM₁‖",
       title="Second-order paths against first-order paths, at initialisation")
plt.tight_layout()
glue("fig-synthesis-coherence", fig, display=False)
plt.close(fig)
mean_ratio = ratios.groupby("n")[["measured", "coherent paths", "independent paths"]].mean()
slope = np.polyfit(np.log(mean_ratio.index), np.log(mean_ratio["measured"]), 1)[0]
print(f"Measured ratio grows as n^{slope:.2f} (coherent paths: n^0.50, independent paths: n^0.00 at λ = 1/√n).")
glue("tab-synthesis-ratios", mean_ratio.round(4), display=False)

# %% [markdown]
# ```{glue:figure} fig-synthesis-coherence
# :name: "fig-synthesis-coherence"
#
# The ratio $\|\lambda^2 M_2\| / \|\lambda M_1\|$ on towers at initialisation with λ = 1/√n against
# the depth n, log-log: measured (mean over seeds, ±1 standard error) and the two extremes, coherent
# and independent paths. The budget is printed above.
# ```
#
# ```{glue:figure} tab-synthesis-ratios
# :name: "tab-synthesis-ratios"
#
# The measured ratio $\|\lambda^2 M_2\| / \|\lambda M_1\|$ per depth n (mean over seeds), beside the
# coherent-path and independent-path predictions.
# ```

# %% [markdown]
# ## 2. The depth mix of a λ = 1/√n tower against linearized networks
#
# Left: the tower's nonlinear depth per path with the expansion's weights (stem ReLU plus
# Binomial$(n, \lambda/(1+\lambda))$ branches), against the even-split walk that NAPL uses. Right: the
# distributions that channel-wise linearization extracted from the plain RepVGG (chapter *Variable
# depth against fixed depth*), next to the tower mix of the same mean. {numref}`fig-synthesis-mix`
# shows both; {numref}`tab-synthesis-comparison` compares every extracted net with its tower.

# %% tags=["hide-input"]
lin = profiles.resolve("linearization_napl", profile)
_, _, records = run_linearization_study(lin, "linearization_napl", profile)
records = [r for r in records
           if r["status"] == "ok" and r["config"]["linearize"] == "channel" and r["config"]["seed"] == lin["seeds"][0]]
print(f"Budget, part 2: {len(records)} stored channel-wise post-training runs of {lin['start_model']} "
      f"{lin['start_args']} on {lin['dataset']}, {compute_used(records)}.")

n_tower = 16  # Figure 1 of Dherin & Munn
tower = build_model("tower", 1, 10, depth=n_tower, width=8, lam="1/sqrt(n)")
walk = path_length_distribution(tower)
weighted = tower_order_mix(n_tower, 1 / np.sqrt(n_tower))
extracted = {}
for r in records:
    dist = path_length_distribution(linearized_architecture(r), r["linearization"]["nonlinear_fractions"])
    extracted[mean_length(dist)] = dist
candidates = {m: d for m, d in extracted.items() if 1.0 < m < 21.0}
target = min(candidates, key=lambda m: abs(m - mean_length(weighted))) if candidates else None

fig, (ax_tower, ax_lin) = plt.subplots(1, 2, figsize=(14, 4.2))
k = np.arange(len(walk))
ax_tower.bar(k - 0.2, walk, width=0.4, label=f"even-split walk (NAPL {mean_length(walk):.2f})")
ax_tower.bar(k + 0.2, weighted[: len(k)], width=0.4, label=f"expansion weights (mean {mean_length(weighted):.2f})")
ax_tower.set(title=f"tower n={n_tower}, λ = 1/√n", xlabel="nonlinear units on the path", ylabel="fraction")
ax_tower.legend(fontsize="small")
rows = []
for m, dist in sorted(extracted.items()):
    n_match = n_tower
    lam_match = None
    # the λ at which a depth-n tower's expansion-weighted mix has the same mean m: n p = m - 1
    p = (m - 1) / n_match
    if 0 < p < 1:
        lam_match = p / (1 - p)
        mix = tower_order_mix(n_match, lam_match)
        rows.append({"extracted NAPL": m, "std": float(np.sqrt(np.dot((np.arange(len(dist)) - m) ** 2, dist))),
                     "tower λ of equal mean (n=16)": lam_match, "tower std": float(np.sqrt(
                         np.dot((np.arange(len(mix)) - m) ** 2, mix))), "TV distance": total_variation(dist, mix)})
if target is not None:
    dist = extracted[target]
    mix = tower_order_mix(n_tower, (target - 1) / n_tower / (1 - (target - 1) / n_tower))
    ax_lin.bar(np.arange(len(dist)) - 0.2, dist, width=0.4, label=f"channel-wise RepVGG (NAPL {target:.2f})")
    ax_lin.bar(np.arange(len(mix)) + 0.2, mix, width=0.4, label="tower n=16, expansion weights, same mean")
    ax_lin.legend(fontsize="small")
ax_lin.set(title="extracted by linearization against the tower", xlabel="nonlinear units on the path")
plt.tight_layout()
glue("fig-synthesis-mix", fig, display=False)
plt.close(fig)
comparison = pd.DataFrame(rows)
glue("tab-synthesis-comparison", comparison.round(3), display=False)

# %% [markdown]
# ```{glue:figure} fig-synthesis-mix
# :name: "fig-synthesis-mix"
#
# Distributions of the number of nonlinear units on a path. Left: the n = 16 tower with λ = 1/√n,
# by NAPL's even-split walk and by the expansion's weights. Right: the channel-wise-linearized
# RepVGG whose NAPL is nearest the tower's expansion-weighted mean, beside the n = 16 tower mix of
# the same mean. Exact distributions, one post-training seed.
# ```
#
# ```{glue:figure} tab-synthesis-comparison
# :name: "tab-synthesis-comparison"
#
# Each channel-wise-linearized net: its NAPL and the standard deviation of its path lengths, the λ
# at which the n = 16 tower's expansion-weighted mix has the same mean, that mix's standard deviation,
# and the total-variation distance between the two distributions.
# ```

# %% [markdown]
# ## What this shows

# %% tags=["hide-input"]
coherent = abs(slope - 0.5) < abs(slope - 0.0)
print(f"1. At initialisation, second-order paths grow against first-order ones as n^{slope:.2f} at λ = 1/√n: "
      f"{'closer to coherent' if coherent else 'closer to independent'} addition. The path count of the "
      f"expansion {'is' if coherent else 'is not'} a fair proxy for each order's share of the function.")
print(f"2. NAPL's even-split walk gives the n=16 tower a mean depth of {mean_length(walk):.2f} whatever λ is; the "
      f"expansion's weights give {mean_length(weighted):.2f} at λ = 1/√n. The two notions of depth agree only at λ = 1.")
if len(comparison):
    best = comparison.loc[comparison["TV distance"].idxmin()]
    print(f"3. The channel-wise nets are {'wider' if (comparison['std'] > comparison['tower std']).mean() > 0.5 else 'narrower'}"
          f" in depth than the tower of equal mean in {int((comparison['std'] > comparison['tower std']).sum())} of "
          f"{len(comparison)} cases; the closest match (NAPL {best['extracted NAPL']:.2f}) is at total-variation "
          f"distance {best['TV distance']:.3f}.")
glue("synthesis_coherence_slope", f"{slope:.2f}", display=False)
