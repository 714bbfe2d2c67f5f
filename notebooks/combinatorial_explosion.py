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
# # The combinatorial explosion, measured
#
# Section 3.1 of Dherin & Munn {cite:p}`dherin2025depth`: the order-$k$ term of the expansion sums
# $O(n^k)$ paths, so without a constraint on $\lambda$ the output of a deep residual tower grows
# uncontrollably with depth.
# That, they argue, is why deep ResNets have needed normalization, and why $\lambda = 1/n$ (a sum
# becomes an average) or $\lambda = 1/\sqrt{n}$ lets them train without it. They read the
# normalization-free methods Fixup {cite:p}`zhang2019fixup` and SkipInit {cite:p}`de2020skipinit`,
# which scale residual branches down at initialisation, as ways of taming the same explosion.
#
# Here we measure it directly at initialisation: the tower gain $\|R(z)\|/\|z\|$ and the logit
# norm against depth $n$, for $\lambda \in \{1, 1/\sqrt{n}, 1/n\}$, with and without BatchNorm in
# the branches (BatchNorm in training mode, normalizing with batch statistics as in training):
# {numref}`fig-explosion-gain` and {numref}`fig-explosion-logits`.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
depths = None
width = None
images = None
seeds = None

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from myst_nb import glue

from resdepth import profiles
from resdepth.data import sample_test_batch
from resdepth.expansion import output_growth

settings = profiles.resolve("combinatorial_explosion", profile, depths=depths, width=width, images=images, seeds=seeds)
sns.set_theme(context="notebook", style="whitegrid")
x, _ = sample_test_batch(settings["images"])
print(f"Budget: towers at initialisation, depths {settings['depths']}, width {settings['width']}, float32, "
      f"{settings['images']} Fashion-MNIST test images, seeds {settings['seeds']}, CPU.")
growth = pd.concat([output_growth(x, settings["depths"], batchnorm=bn, width=settings["width"], seed=seed).assign(seed=seed)
                    for bn in (False, True) for seed in settings["seeds"]], ignore_index=True)
growth["BatchNorm"] = growth["batchnorm"].map({False: "without BN", True: "with BN"})

# %% tags=["hide-input"]
grid = sns.relplot(data=growth, x="depth", y="tower_gain", hue="lam_rule", col="BatchNorm", kind="line", marker="o",
                   errorbar=("se", 1), height=4, aspect=1.1, hue_order=["1", "1/sqrt(n)", "1/n"])
grid.set(xscale="log", yscale="log", ylabel="‖R(z)‖ / ‖z‖ at init")
glue("fig-explosion-gain", grid.figure, display=False)
plt.close(grid.figure)
grid = sns.relplot(data=growth, x="depth", y="logit_norm", hue="lam_rule", col="BatchNorm", kind="line", marker="o",
                   errorbar=("se", 1), height=4, aspect=1.1, hue_order=["1", "1/sqrt(n)", "1/n"])
grid.set(xscale="log", yscale="log", ylabel="logit norm at init")
glue("fig-explosion-logits", grid.figure, display=False)
plt.close(grid.figure)

# %% [markdown]
# ```{glue:figure} fig-explosion-gain
# :name: "fig-explosion-gain"
#
# The tower gain $\|R(z)\|/\|z\|$ at initialisation against depth $n$, log-log, for
# $\lambda \in \{1, 1/\sqrt{n}, 1/n\}$; left without BatchNorm, right with it. Mean over seeds with ±1
# standard error; the budget is printed above.
# ```
#
# ```{glue:figure} fig-explosion-logits
# :name: "fig-explosion-logits"
#
# The norm of the logits at initialisation against depth $n$, log-log, same towers, panels and error
# bars as {numref}`fig-explosion-gain`.
# ```

# %% [markdown]
# ## Where λ = 1 explodes
#
# {numref}`tab-explosion-gain` lists the mean tower gains behind {numref}`fig-explosion-gain`.

# %% tags=["hide-input"]
mean_gain = growth.groupby(["BatchNorm", "lam_rule", "depth"])["tower_gain"].mean()
table = mean_gain.unstack("depth")
deepest = max(settings["depths"])
plain = mean_gain.loc["without BN", "1"]
crossover = next((d for d, g in plain.items() if g > 10), None)
print(f"Without BN, λ=1: the gain first exceeds 10 at depth n = {crossover} and reaches {plain.loc[deepest]:.3g} at n = {deepest}.")
print(f"At n = {deepest}: λ=1/√n gives {mean_gain.loc[('without BN', '1/sqrt(n)', deepest)]:.3g}, "
      f"λ=1/n gives {mean_gain.loc[('without BN', '1/n', deepest)]:.3g}, "
      f"λ=1 with BN gives {mean_gain.loc[('with BN', '1', deepest)]:.3g}.")
scaled_bounded = all(mean_gain.loc[("without BN", rule, deepest)] < 10 for rule in ("1/sqrt(n)", "1/n"))
print("Verdict: the explosion at λ=1 without BN and its taming by 1/n and 1/√n are",
      "reproduced at initialisation." if (crossover is not None and scaled_bounded) else "not reproduced here.")
glue("tab-explosion-gain", table.map(lambda v: f"{v:.3g}"), display=False)

# %% [markdown]
# ```{glue:figure} tab-explosion-gain
# :name: "tab-explosion-gain"
#
# The tower gain $\|R(z)\|/\|z\|$ at initialisation, mean over seeds, per BatchNorm setting and
# $\lambda$ rule (rows) and depth $n$ (columns).
# ```

# %% tags=["remove-cell"]
# Values for the reproduction report (book/reproduction_report.md), computed above.
glue("explosion_crossover", f"n = {crossover}" if crossover is not None else f"never up to n = {deepest}", display=False)
glue("explosion_deepest", deepest, display=False)
glue("explosion_gain_lam1", float(plain.loc[deepest]), display=False)
glue("explosion_gain_sqrt", float(mean_gain.loc[("without BN", "1/sqrt(n)", deepest)]), display=False)
glue("explosion_gain_n", float(mean_gain.loc[("without BN", "1/n", deepest)]), display=False)
glue("explosion_gain_bn", float(mean_gain.loc[("with BN", "1", deepest)]), display=False)
glue("explosion_verdict", "reproduced" if (crossover is not None and scaled_bounded) else "not reproduced", display=False)
glue("explosion_budget", f"at init; n ≤ {deepest}, width {settings['width']}; {len(settings['seeds'])} seeds; "
     f"{settings['images']} images", display=False)
