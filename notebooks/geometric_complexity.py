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
# # Geometric complexity to first order, and the embedding of shallow towers
#
# **Corollary B.0.1** (Dherin & Munn {cite:p}`dherin2025depth`, Appendix B). The geometric
# complexity of Dherin et al. {cite:p}`dherin2022geometric`,
# $\langle f, D\rangle_G = \frac{1}{|D|}\sum_{x \in D}\|\nabla_x f(x)\|_F^2$, of a residual tower is,
# to first order in $\lambda$,
#
# $$ \langle f, D\rangle_G = \langle M_0, D\rangle_G
#    + 2\lambda\,\frac{1}{|D|}\sum_{x}\mathrm{Tr}\big(A(x)^\top B(x)\big) + O(\lambda^2), \qquad
#    A = \nabla_x M_0,\; B = \nabla_x \textstyle\sum_i W_\eta F_i(E(x)). $$
#
# The cross term can be negative, which is how a larger $\lambda$ can give a *simpler* function.
# We compute both sides exactly (one vector-Jacobian product per class, vmapped) on freshly
# initialised towers and compare them across $\lambda$ ({numref}`fig-gc-first-order` and
# {numref}`fig-gc-error`).
#
# **Appendix C.** A depth-$n$ tower whose last block has all-zero parameters computes exactly the
# function of the depth-$(n-1)$ tower made of its other parameters: the loss landscape of every
# shallower tower is embedded in that of a deeper one.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
depth = None
width = None
images = None
seeds = None

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from myst_nb import glue

from resdepth import profiles
from resdepth.data import sample_test_batch
from resdepth.expansion import embedding_check, geometric_complexity, geometric_complexity_first_order
from resdepth.models import ResidualTower

settings = profiles.resolve("geometric_complexity", profile, depth=depth, width=width, images=images, seeds=seeds)
sns.set_theme(context="notebook", style="whitegrid")
x, y = sample_test_batch(settings["images"], torch.float64)
lams = np.logspace(math.log10(settings["lam_min"]), math.log10(settings["lam_max"]), settings["lam_points"])
print(f"Budget: towers at initialisation, n={settings['depth']}, width {settings['width']}, float64, "
      f"{settings['images']} Fashion-MNIST test images, seeds {settings['seeds']}, CPU.")

rows = []
for activation in ("relu", "gelu"):
    for seed in settings["seeds"]:
        torch.manual_seed(seed)
        tower = ResidualTower(settings["depth"], settings["width"], lam=0.0, activation=activation, in_channels=1)
        tower = tower.double().eval()
        first = geometric_complexity_first_order(tower, [x])
        for lam in lams:
            tower.lam = float(lam)
            exact = geometric_complexity(tower, [x])
            rows.append({"activation": activation, "seed": seed, "λ": lam, "exact": exact,
                         "first order": first["base"] + lam * first["slope"], "base": first["base"],
                         "slope": first["slope"]})
gc = pd.DataFrame(rows)
gc["relative error"] = (gc["exact"] - gc["first order"]).abs() / gc["exact"]

# %% tags=["hide-input"]
long = gc.melt(id_vars=["activation", "seed", "λ"], value_vars=["exact", "first order"], var_name="", value_name="GC")
grid = sns.relplot(data=long, x="λ", y="GC", hue="", style="", col="activation", kind="line", marker="o",
                   errorbar=("se", 1), height=4, aspect=1.1)
grid.set(xscale="log", yscale="log", ylabel="geometric complexity")
glue("fig-gc-first-order", grid.figure, display=False)
plt.close(grid.figure)
fig, ax = plt.subplots(figsize=(6, 4))
sns.lineplot(data=gc, x="λ", y="relative error", hue="activation", marker="o", errorbar=("se", 1), ax=ax)
ax.set(xscale="log", yscale="log", ylabel="|exact − first order| / exact")
glue("fig-gc-error", fig, display=False)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} fig-gc-first-order
# :name: "fig-gc-first-order"
#
# Geometric complexity of towers at initialisation against λ, log-log: computed exactly and by the
# first-order formula of Corollary B.0.1; one panel per activation, mean over seeds with ±1 standard
# error. The budget is printed above.
# ```
#
# ```{glue:figure} fig-gc-error
# :name: "fig-gc-error"
#
# Relative error of the first-order formula, $|\text{exact} - \text{first order}| / \text{exact}$,
# against λ, log-log, per activation: mean over seeds with ±1 standard error. Second order predicts
# slope 2.
# ```

# %% tags=["hide-input"]
small = gc[gc["λ"] <= 0.05]
slope = {a: np.polyfit(np.log(g["λ"]), np.log(g["relative error"]), 1)[0] for a, g in small.groupby("activation")}
negative = (gc.groupby(["activation", "seed"])["slope"].first() < 0).mean()
print("Slope of the relative error for λ ≤ 0.05 (second order predicts 2): "
      + ", ".join(f"{a} {s:.2f}" for a, s in slope.items()))
print(f"Fraction of towers whose first-order coefficient 2·mean Tr(AᵀB) is negative: {negative:.2f}")
print("Verdict: Corollary B.0.1 " + ("reproduced" if all(1.7 < s < 2.3 for s in slope.values()) else "not reproduced")
      + " at initialisation (the first-order formula is exact up to O(λ²)).")

# %% tags=["remove-cell"]
# Values for the reproduction report (book/reproduction_report.md), computed above.
glue("gc_error_slopes", ", ".join(f"{a} {v:.2f}" for a, v in slope.items()), display=False)
glue("gc_verdict", "reproduced" if all(1.7 < v < 2.3 for v in slope.values()) else "not reproduced", display=False)
glue("gc_negative_fraction", float(negative), display=False)
glue("gc_negative_verdict", "reproduced" if negative > 0 else "not observed", display=False)
glue("gc_budget", f"at init; n = {settings['depth']}, width {settings['width']}; {len(settings['seeds'])} seeds × 2 "
     f"activations; {settings['images']} images", display=False)

# %% [markdown]
# ## Appendix C: zeroing the last block embeds the shallower tower
#
# {numref}`tab-gc-embedding` compares each tower with its last block zeroed against the shallower
# tower.

# %% tags=["hide-input"]
checks = []
for batchnorm in (False, True):
    for n in (2, settings["depth"]):
        torch.manual_seed(0)
        tower = ResidualTower(n, settings["width"], lam="1/sqrt(n)", batchnorm=batchnorm, in_channels=1)
        checks.append({"depth n": n, "BatchNorm": batchnorm, **embedding_check(tower, x.float(), y)})
embedding = pd.DataFrame(checks)
print("Verdict: " + ("reproduced exactly (bit-identical outputs and losses)." if (embedding["max_abs_diff"] == 0).all()
                     else "not exact."))
glue("tab-gc-embedding", embedding, display=False)

# %% [markdown]
# ```{glue:figure} tab-gc-embedding
# :name: "tab-gc-embedding"
#
# Appendix C checked on real test images: a depth-n tower (with or without BatchNorm) whose last
# block is zero against the depth-(n−1) tower of its other parameters. Columns: the largest absolute
# difference of their outputs, and the loss of each.
# ```

# %% tags=["remove-cell"]
glue("embedding_max_diff", float(embedding["max_abs_diff"].max()), display=False)
glue("embedding_verdict", "reproduced" if (embedding["max_abs_diff"] == 0).all() else "not reproduced", display=False)
