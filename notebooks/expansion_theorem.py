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
# # The Residual Expansion Theorem, checked numerically
#
# Theorem 3.1 of Dherin & Munn {cite:p}`dherin2025depth`: for $f = D \circ R \circ E$ with a tower
# $R = (1 + \lambda F_n) \circ \cdots \circ (1 + \lambda F_1)$, an affine decoder
# $D(z) = W_\eta\,\mathrm{pool}(z) + b_\eta$ and $z = E(x)$,
#
# $$ f(x) = \underbrace{D(z)}_{M_0} + \lambda \underbrace{\sum_i W_\eta F_i(z)}_{M_1}
#    + \lambda^2 \underbrace{\sum_{i<j} W_\eta F_j'(z)\,F_i(z)}_{M_2} + O(\lambda^3). $$
#
# `resdepth.expansion.expansion_terms` computes $M_2$ with one Jacobian-vector product per block,
# $F_j'(z)\,s_j$ with the prefix sum $s_j = \sum_{i<j} F_i(z)$, instead of the $n^2$ pairs. If the
# theorem holds, the remainder $\|f - (M_0 + \lambda M_1 + \lambda^2 M_2)\|$ shrinks like $\lambda^3$:
# slope 3 on log-log axes.
#
# The proof is a Taylor expansion, which needs smooth branches. Critics noted that ReLU has kinks,
# so we measure both: GELU and tanh (smooth) and ReLU. All towers are freshly initialised (Flax
# LeCun-normal init), in float64, evaluated on real Fashion-MNIST {cite:p}`xiao2017fashion` test
# images from the committed sample. The measurements and the rules that judge them are in
# `resdepth.experiments.expansion_theorem`.
#
# The expansion makes precise the picture of Veit et al. {cite:p}`veit2016residual`, who read a
# residual network {cite:p}`he2016deep` as an ensemble of many shallower paths: $M_0$ is the path
# through no block, $M_1$ the paths through one block, $M_2$ those through two.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
depth = None
width = None
images = None  # how many test images
seeds = None

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import seaborn as sns

from resdepth.book import setup, show, show_text, show_verdicts
from resdepth.experiments import expansion_theorem

settings, store = setup(expansion_theorem.NAME, profile, depth=depth, width=width, images=images, seeds=seeds)
results = expansion_theorem.run(settings, store)

# %% tags=["hide-input"]
show_text(results["budget_text"])

# %% [markdown]
# ## The remainder shrinks like $\lambda^3$
#
# {numref}`fig-expansion-remainder` plots the remainder against $\lambda$, and
# {numref}`tab-expansion-slopes` gives its fitted slopes.

# %% tags=["hide-input", "remove-output"]
fig, ax = plt.subplots(figsize=(7, 4.5))
errors, lams = results["errors"], results["lams"]
sns.lineplot(data=errors, x="λ", y="error", hue="activation", marker="o", errorbar=("pi", 100), ax=ax)
reference = errors["error"].median() * (lams / lams[len(lams) // 2]) ** 3
ax.plot(lams, reference, "k--", lw=1, label="slope 3")
ax.set(xscale="log", yscale="log", ylabel="‖f − (M0 + λM1 + λ²M2)‖")
ax.legend()
show("fig-expansion-remainder", fig)

# %% [markdown]
# ```{glue:figure} fig-expansion-remainder
# :name: "fig-expansion-remainder"
#
# The remainder $\|f - (M_0 + \lambda M_1 + \lambda^2 M_2)\|$ over the batch against $\lambda$, on
# log-log axes, for GELU, tanh and ReLU towers at initialisation: mean over seeds, the band spans the
# smallest to the largest seed; the dashed line has slope 3. The budget is printed above.
# ```

# %% tags=["hide-input", "remove-output"]
show("tab-expansion-slopes", results["slope_table"])

# %% [markdown]
# ```{glue:figure} tab-expansion-slopes
# :name: "tab-expansion-slopes"
#
# The slope of a straight-line fit to the log remainder against $\log\lambda$, over all $\lambda$ and
# over $\lambda \le 0.1$: mean, smallest and largest over seeds, per activation.
# ```
#
# GELU and tanh follow the theorem. ReLU is not covered by it, and over this range of $\lambda$ its
# remainder falls more slowly than $\lambda^3$ (the slopes are in the table and in the verdict
# below). With finitely many inputs every pre-activation sits at a finite distance from its kink,
# so for $\lambda$ small enough no unit switches and the expansion would hold; but among the
# pre-activations of 16 blocks on a batch of images some lie very close to zero. Our reading (not
# checked here): the units that cross their kink at a given $\lambda$ are about $\lambda$ of them,
# each off by about $\lambda$ with a random sign, which adds a part of order $\lambda^{2.5}$ to the
# remainder until $\lambda$ is below the smallest distance to a kink.

# %% [markdown]
# ## The three terms
#
# The sizes of $M_0$, $\lambda M_1$ and $\lambda^2 M_2$ against $\lambda$ (mean over seeds and
# activations), in {numref}`fig-expansion-terms`: the expansion is a good description while each
# term is smaller than the last.

# %% tags=["hide-input", "remove-output"]
fig, ax = plt.subplots(figsize=(7, 4.5))
sns.lineplot(data=results["norms"], x="λ", y="norm", hue="term", style="activation", errorbar=None, ax=ax)
ax.set(xscale="log", yscale="log", ylabel="norm over the batch")
show("fig-expansion-terms", fig)

# %% [markdown]
# ```{glue:figure} fig-expansion-terms
# :name: "fig-expansion-terms"
#
# The norms over the batch of $M_0$, $\lambda M_1$ and $\lambda^2 M_2$ against $\lambda$, log-log, one
# line style per activation, means over seeds (no error bars: the seeds differ by less than the
# line width on these axes).
# ```

# %% [markdown]
# ## How many paths: $\binom{n}{k}$
#
# The order-$k$ term sums over at least $\binom{n}{k}$ products of $k$ branches, $O(n^k)$ of them;
# all orders together make $2^n$ paths, the count Veit et al. {cite:p}`veit2016residual` gave for the
# unravelled view of a residual network ({numref}`fig-expansion-paths`). This is the combinatorial
# explosion the next chapter measures.

# %% tags=["hide-input", "remove-output"]
fig, ax = plt.subplots(figsize=(7, 4.5))
sns.lineplot(data=results["counts"], x="depth n", y="C(n, k)", hue="order k", ax=ax)
ax.set(xscale="log", yscale="log", ylabel="number of terms")
show("fig-expansion-paths", fig)

# %% [markdown]
# ```{glue:figure} fig-expansion-paths
# :name: "fig-expansion-paths"
#
# The number of paths through $k$ blocks, $\binom{n}{k}$ for $k = 1, \dots, 4$, and through any number
# of blocks, $2^n$ (drawn up to $n = 200$), against the depth $n$, log-log. Counted, not measured.
# ```
#
# The count is checked twice ({numref}`tab-expansion-pairs`). On the towers above (GELU), $M_2$
# computed with $n$ Jacobian-vector products equals the sum of its $\binom{n}{2}$ pair terms
# $W_\eta F_j'(z)F_i(z)$, each computed on its own, and every pair term is large enough that
# leaving it out would show. On a tower with linear branches $F_i(z) = A_i z$, whose expansion is
# finite, the products over all $2^n$ subsets of blocks, $\binom{n}{k}$ of them at order $k$, add up
# to the tower $\prod_i (I + \lambda A_i)$ at $\lambda = 1$.

# %% tags=["hide-input", "remove-output"]
show("tab-expansion-pairs", results["pairs"])
show("tab-expansion-linear-paths", results["linear"])

# %% [markdown]
# ```{glue:figure} tab-expansion-pairs
# :name: "tab-expansion-pairs"
#
# Per seed (GELU towers of the budget's depth): the number of pair terms of $M_2$ against
# $\binom{n}{2}$, how many exceed $10^{-8}$ of $\|M_2\|$, the smallest relative to $\|M_2\|$, and the
# relative difference between their sum and $M_2$ from $n$ Jacobian-vector products.
# ```
#
# ```{glue:figure} tab-expansion-linear-paths
# :name: "tab-expansion-linear-paths"
#
# A tower with linear branches (width 8, Gaussian $A_i$ of variance 1/8, $\lambda = 1$), per order
# $k$: the paths through $k$ blocks against $\binom{n}{k}$, how many exceed $10^{-8}$ of $\|R\|$,
# the smallest relative to $\|R\|$; last row: all $2^n$ paths, and the relative difference between
# their sum and the tower multiplied out.
# ```

# %% [markdown]
# ## Verdict

# %% tags=["hide-input", "remove-output"]
show_verdicts(expansion_theorem.verdicts(results, settings), "tab-expansion-verdicts")

# %% [markdown]
# ```{glue:figure} tab-expansion-verdicts
# :name: "tab-expansion-verdicts"
#
# The chapter's claims: the paper's statement, our numbers, the verdict, the rule and the statistic
# that decided it.
# ```
#
# The rules, in words:
#
# - **Theorem 3.1.** For every tower, the slope of the log remainder against $\log\lambda$ is fitted
#   over $\lambda \le 0.1$, where the higher orders no longer bend the curve. Every seed of GELU and
#   of tanh must lie within ±0.1 of 3, with at least two seeds. A mistake in $M_0$, $M_1$ or $M_2$
#   would leave a term of order $\lambda^2$ (slope 2 or less), and ReLU's kinks give about 2.6, so
#   ±0.1 tells them apart with room to spare. The order-4 term moves a fit over this range by a few
#   hundredths, and float64 rounding is six orders of magnitude below the smallest remainder, so
#   ±0.1 does not fail a correct tower either. Every seed of one smooth activation below 2.9 would
#   count against the theorem; seeds that disagree, a slope above 3.1 (still $O(\lambda^3)$, but
#   the generic third-order term would vanish), or a single seed leave it undecided. ReLU is
#   reported and not judged: the theorem does not promise it slope 3.
# - **Path count.** Two identities, to a relative $10^{-9}$ (float64 sums of up to $2^{16}$ terms
#   round to below $10^{-11}$), with every term at least $10^{-8}$ of the total so that a missing
#   term would show: $M_2$ equals the sum of its $\binom{n}{2}$ pair terms in every seed, and the
#   $2^n$ subset paths of a linear-branch tower add up to it. Either failing counts against the
#   claim.
#
# These rules were rewritten on 2026-11-25 (after the runs they judge were stored), replacing
# "the mean slope over seeds for λ ≤ 0.1 between 2.7 and 3.3 for GELU and for tanh" for Theorem 3.1;
# the path count had no rule before (it was drawn, not checked); see the
# {doc}`reproduction report </book/reproduction_report>`.
