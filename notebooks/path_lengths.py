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
# # Path lengths of the linearized networks
#
# Veit et al. {cite}`veit2016residual` read a ResNet as an ensemble of paths: with $n$ blocks,
# each path takes the skip or the branch at every block, so path lengths follow a binomial
# distribution and most paths are far shorter than the network. *ResNets Are Deeper Than You
# Think* {cite}`mehmeti2025deeper` reports that channel-wise linearization of a *plain* network
# grows the same kind of structure by itself: the extracted networks mix long and short paths,
# and their path-length distribution is close to a binomial.
#
# Here the distribution is computed exactly, by dynamic programming over the traced module graph
# (`resdepth.pathlength.path_length_distribution`): a random walk from the output back to the
# input splits evenly at every residual add and, at an activation layer whose fraction of
# nonlinear units is $p_l$, meets a nonlinear unit with probability $p_l$. Its mean is the NAPL.
# The fractions $p_l$ come from the stored post-training runs of the chapter on NAPL.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
seed = None  # which post-training seed to show; None: the first of the profile

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from myst_nb import glue

from resdepth import profiles
from resdepth.grids import run_linearization_study
from resdepth.linearize import linearized_architecture
from resdepth.models import build_model
from resdepth.pathlength import binomial_like, mean_length, path_length_distribution, total_variation
from resdepth.results import compute_used

settings = profiles.resolve("linearization_napl", profile)
seed = settings["seeds"][0] if seed is None else seed
sns.set_theme(context="notebook", style="whitegrid")
if profile == "smoke":
    print("SMOKE PROFILE: these numbers only exercise the code on the small committed sample. They are not results.")
_, _, records = run_linearization_study(settings, "linearization_napl", profile)
records = [r for r in records if r["status"] == "ok" and r["config"]["seed"] == seed]
path_budget = (f"{len(records)} stored post-training runs of {settings['start_model']} {settings['start_args']}, "
               f"{settings['dataset']}, seed {seed}; exact distributions, no sampling")
print(f"Runs: post-training of {settings['start_model']} {settings['start_args']} on {settings['dataset']} "
      f"(chapter 'Variable depth against fixed depth'), seed {seed}, {len(records)} runs, {compute_used(records)}.")


def std_length(dist):
    k = np.arange(len(dist))
    return float(np.sqrt(np.dot((k - mean_length(dist)) ** 2, dist)))


rows, dists = [], {}
for r in records:
    dist = path_length_distribution(linearized_architecture(r), r["linearization"]["nonlinear_fractions"])
    label = f"{r['config']['linearize']}, ω={r['config']['omega']:g}"
    dists[label] = dist
    rows.append({"net": label, "granularity": r["config"]["linearize"], "omega": r["config"]["omega"],
                 "NAPL": mean_length(dist), "std": std_length(dist), "longest": int(np.nonzero(dist > 1e-12)[0][-1]),
                 "TV to binomial": total_variation(dist, binomial_like(dist))})
resnet = path_length_distribution(build_model("resnet56", 1, 10))
dists["ResNet-56 (standard)"] = resnet
rows.append({"net": "ResNet-56 (standard)", "granularity": "resnet", "omega": np.nan, "NAPL": mean_length(resnet),
             "std": std_length(resnet), "longest": len(resnet) - 1,
             "TV to binomial": total_variation(resnet, binomial_like(resnet))})
summary = pd.DataFrame(rows)
summary["std / NAPL"] = summary["std"] / summary["NAPL"].where(summary["NAPL"] > 0)

# %% [markdown]
# ## Histograms against the binomial
#
# Bars: the exact path-length distribution of each channel-wise-linearized net and of a standard
# ResNet-56 (all units nonlinear). Line: the binomial with the same mean and the same longest path,
# what independent layers would give. A layer-wise net has one bar: every path has the same length.
# {numref}`fig-paths-histograms` shows them.

# %% tags=["hide-input"]
channel = summary[summary["granularity"] == "channel"].sort_values("NAPL", ascending=False)
shown = list(channel["net"]) + ["ResNet-56 (standard)"]
cols = 4
fig, axes = plt.subplots(-(-len(shown) // cols), cols, figsize=(16, 3.2 * -(-len(shown) // cols)), squeeze=False)
for ax, label in zip(axes.flat, shown):
    dist = dists[label]
    ref = binomial_like(dist)
    ax.bar(np.arange(len(dist)), dist, color="C0" if label in channel["net"].values else "C2", alpha=0.8)
    ax.plot(np.arange(len(ref)), ref, "k.-", lw=1, ms=3, label="binomial, same mean")
    ax.set(title=f"{label}\nNAPL {mean_length(dist):.2f}", xlabel="nonlinear units on the path", ylabel="fraction")
for ax in list(axes.flat)[len(shown):]:
    ax.axis("off")
axes[0, 0].legend(fontsize="small")
plt.tight_layout()
glue("fig-paths-histograms", fig, display=False)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} fig-paths-histograms
# :name: "fig-paths-histograms"
#
# Exact distributions of the number of nonlinear units on a path: one panel per channel-wise
# linearized net (blue, by ω, NAPL falling) and a standard ResNet-56 (green); the black line with
# dots is the binomial of the same mean and longest path. One post-training seed, no error bars.
# ```

# %% [markdown]
# ## Do the extracted nets look like ResNets?
#
# "std / NAPL" is the spread of path lengths relative to their mean: 0 for a fixed-depth net. "TV
# to binomial" is the total-variation distance to the binomial of the same mean and length
# ({numref}`tab-paths-summary`).

# %% tags=["hide-input"]
glue("tab-paths-summary", summary[["net", "NAPL", "std", "std / NAPL", "longest", "TV to binomial"]].round(3),
     display=False)

# %% [markdown]
# ```{glue:figure} tab-paths-summary
# :name: "tab-paths-summary"
#
# Every linearized net (channel-wise and layer-wise, by ω) and a standard ResNet-56: the mean path
# length (NAPL), its standard deviation, their ratio, the longest path, and the total-variation
# distance to the binomial.
# ```

# %% [markdown]
# ## Verdict

# %% tags=["hide-input"]
ch = channel[(channel["NAPL"] > 0.5) & (channel["NAPL"] < channel["longest"].max())]
layer = summary[summary["granularity"] == "layer"]
variable = bool(len(ch)) and bool((ch["std"] > 0.5).all())
fixed = bool((layer["std"] < 1e-9).all())
tv = ch["TV to binomial"].max() if len(ch) else float("nan")
close = tv < 0.1
resnet_row = summary[summary["granularity"] == "resnet"].iloc[0]
print(f"Channel-wise nets with 0.5 < NAPL < full: {len(ch)}; all have a spread of path lengths (std > 0.5): {variable}.")
print(f"Layer-wise nets all have a single path length: {fixed}.")
print(f"Largest total-variation distance of a channel-wise distribution to its binomial: {tv:.3f} "
      f"(ResNet-56: {resnet_row['TV to binomial']:.3f}).")
verdict = ("reproduced" if variable and close else "partly reproduced" if variable else "not reproduced")
print(f"Verdict at this budget: channel-wise linearization extracts variable-depth, near-binomial nets: {verdict}.")
glue("path_binomial_tv", f"{tv:.3f}", display=False)
glue("path_verdict", verdict, display=False)
glue("path_budget", path_budget, display=False)
