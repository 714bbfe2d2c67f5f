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
# # Table 1: trainable depth without BatchNorm
#
# Dherin & Munn's Table 1 {cite:p}`dherin2025depth` trains the residual tower at depths $n \in \{10, 100, 1000\}$ with four
# treatments of the branches: $\lambda = 1$ with BatchNorm, $\lambda = 1$ without, and the
# normalization-free scalings $\lambda = 1/n$ and $\lambda = 1/\sqrt{n}$. Their claim: without
# normalization, $\lambda = 1$ stops training as depth grows, while $1/n$ and $1/\sqrt{n}$ keep it
# stable, and $1/\sqrt{n}$ recovers most of the accuracy of BatchNorm. Fixup
# {cite:p}`zhang2019fixup` and SkipInit {cite:p}`de2020skipinit` reached normalization-free training
# of deep ResNets {cite:p}`he2016deep` by other scalings of the branches.
#
# The paper trains on CIFAR-10 {cite:p}`krizhevsky2009learning`; this book's runs use Fashion-MNIST
# {cite:p}`xiao2017fashion` at width 16, for 3 epochs with 3 seeds at $n = 10$ and 100, and for 1
# epoch with 2 seeds at two learning rates per row at $n = 1000$ (see the budget below).
#
# Each cell below follows the paper's rule (Appendix A.2): for each learning rate, the mean and
# standard error over seeds of each run's best test accuracy; the cell shows the learning rate
# with the best mean. A learning rate at which a seed diverged does not count; a cell with no
# learning rate left shows "—" and why. The runs, the cells and the rules that judge the claims are
# in `resdepth.experiments.table1_depth_scaling`.
#
# **This budget.** It was written on 2026-12-03, with the learning-curve rule below, before any of
# its runs, and replaced the book's first budget once complete. The first budget trained 1 epoch
# with 2 seeds at $n = 10$ and 100 only; 1/n's best learning rate sat at the top of its grid and
# λ = 1 without BatchNorm's at the bottom, so both grids now extend past those edges. Its stem
# padded the 3×3 max pool by one pixel on every side, where Flax's 'SAME' padding, which Appendix
# A's model uses, pads 0 pixels before and 1 after on the stem's 16×16 map (69 % of the pooled
# values differ); these runs use 'SAME' (`resdepth.models.tower`). The first budget's 64 runs
# remain in the repository's history (e.g. at commit a84787d).

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
dataset = None
depths = None  # e.g. [10, 100]
width = None
epochs = None
steps = None
lrs = None  # e.g. [2**-6, 2**-4, 2**-2]
seeds = None

# %% tags=["hide-input"]
import seaborn as sns

from resdepth.book import setup, show, show_text, show_verdicts
from resdepth.experiments import table1_depth_scaling

settings, store = setup(table1_depth_scaling.NAME, profile, dataset=dataset, depths=depths, width=width,
                        epochs=epochs, steps=steps, lrs=lrs, seeds=seeds)
results = table1_depth_scaling.run(settings, store)

# %% tags=["hide-input"]
show_text(results["budget_text"])

# %% [markdown]
# ## Ours against the paper's
#
# Our cells (best test accuracy, %, mean ± standard error over seeds, and the winning learning
# rate), beside the paper's CIFAR-10 {cite:p}`krizhevsky2009learning` numbers at width 256 and 160k
# steps, in {numref}`tab-table1-side-by-side`. A best learning rate at either end of our grid is
# marked "(grid edge)": the best may lie outside the grid, so that cell is probably under-tuned.

# %% tags=["hide-input", "remove-output"]
show("tab-table1-side-by-side", results["side_by_side"])

# %% [markdown]
# ```{glue:figure} tab-table1-side-by-side
# :name: "tab-table1-side-by-side"
#
# Table 1 of Dherin & Munn, ours beside the paper's: best test accuracy (%, mean ± standard error over
# seeds) per treatment (rows) and depth (columns), at the learning rate with the best mean, which the
# middle block gives ("grid edge": the smallest or largest learning rate tried); "—" marks a cell
# where every learning rate diverged. Our budget is printed above.
# ```

# %% [markdown]
# ## Accuracy against learning rate
#
# Every run, so the choice of the best learning rate can be checked by eye
# ({numref}`fig-table1-lr`). Missing points are runs that diverged.

# %% tags=["hide-input", "remove-output"]
grid = sns.relplot(data=results["runs"], x="lr", y="best_acc", hue="row", col="depth", kind="line", marker="o",
                   errorbar=("se", 1), hue_order=list(table1_depth_scaling.TABLE1_ROWS), height=3.5, aspect=1.2)
grid.set(xscale="log", xlabel="learning rate", ylabel="best test accuracy")
grid.set_titles(col_template="n = {col_name}")
grid.legend.set_title("treatment")
show("fig-table1-lr", grid.figure)

# %% [markdown]
# ```{glue:figure} fig-table1-lr
# :name: "fig-table1-lr"
#
# Best test accuracy of each run against its learning rate (log scale), one panel per depth, one line
# per treatment: mean over seeds with ±1 standard error. Diverged runs have no point.
# ```

# %% [markdown]
# ## Divergences
#
# {numref}`tab-table1-diverged` lists every learning rate at which a run diverged (its training loss
# became non-finite), with how many seeds and at which step. BatchNorm does not make every learning
# rate safe: its divergences are summed up under the table.

# %% tags=["hide-input", "remove-output"]
show("tab-table1-diverged", results["divergences"])

# %% tags=["hide-input"]
show_text(results["bn_divergences"])

# %% [markdown]
# ```{glue:figure} tab-table1-diverged
# :name: "tab-table1-diverged"
#
# The diverged runs, per treatment, depth and learning rate: how many of the seeds diverged, and the
# step at which the non-finite loss was caught. A learning rate with any diverged seed does not count
# for its cell in {numref}`tab-table1-side-by-side`.
# ```

# %% [markdown]
# ## Learning curves, and whether the ranking has settled
#
# A run's best accuracy is a maximum over its evaluations, so a ranking of the rows could still
# change with longer training. {numref}`fig-table1-curves` shows the test accuracy of each row at
# its cell's learning rate against the step, and {numref}`tab-table1-rankings` ranks the rows at
# the last two evaluations: where 1/√n and 1/n swap places between them, the verdict on the third
# claim calls that depth's ranking not settled.

# %% tags=["hide-input", "remove-output"]
import pandas as pd

cells, curves = results["cells"], results["curves"]
at_best = pd.concat([curves[(curves["row"] == c.row) & (curves["depth"] == c.depth) & (curves["lr"] == c.lr)]
                     for c in cells[cells["status"] == "ok"].itertuples()] or [curves.iloc[:0]])
grid = sns.relplot(data=at_best, x="step", y="test_acc", hue="row", col="depth", kind="line", marker="o",
                   errorbar=("se", 1), hue_order=list(table1_depth_scaling.TABLE1_ROWS), height=3.5, aspect=1.2,
                   facet_kws={"sharex": False})
grid.set(xlabel="SGD step", ylabel="test accuracy")
grid.set_titles(col_template="n = {col_name}")
grid.legend.set_title("treatment")
show("fig-table1-curves", grid.figure)

# %% tags=["hide-input", "remove-output"]
show("tab-table1-rankings", results["rankings"].rename(columns={"depth": "n", "step": "at step",
                                                                "ranking": "ranking (best first)",
                                                                "accuracies": "test accuracy (%)"}))

# %% [markdown]
# ```{glue:figure} fig-table1-curves
# :name: "fig-table1-curves"
#
# Test accuracy (whole test set) against the step, one panel per depth, for each treatment at its
# cell's learning rate: mean over seeds with ±1 standard error. A treatment with no cell (every
# learning rate diverged) has no line.
# ```
#
# ```{glue:figure} tab-table1-rankings
# :name: "tab-table1-rankings"
#
# The treatments ranked by mean test accuracy at each depth's last two evaluations, each at its
# cell's learning rate.
# ```

# %% [markdown]
# ## Verdict

# %% tags=["hide-input", "remove-output"]
show_verdicts(table1_depth_scaling.verdicts(results, settings), "tab-table1-verdicts")

# %% [markdown]
# ```{glue:figure} tab-table1-verdicts
# :name: "tab-table1-verdicts"
#
# The chapter's claims: the paper's statement, our numbers, the verdict, the rule and the statistic
# that decided it. "Not covered" names the part of the claim our budget did not reach.
# ```
#
# The rules, in words. A run *trains* when it finishes and its best test accuracy reaches twice
# chance (0.2 on these ten-class datasets): a net frozen at initialisation, which the paper omits as
# it omits a diverged one, stays near 0.1.
#
# - **λ = 1 without BatchNorm stops training as depth grows.** The claim is supported when, at
#   every depth $n \geq 100$ of the budget, no seed trains at any learning rate, while at every
#   depth below 100 every seed trains at some learning rate (the paper's $n = 10$ entry is
#   85.19 %). Training in every seed at every deep depth counts against it; seeds that disagree, or
#   a single seed, leave it undecided; failing at every depth, or only from a depth beyond 100 on,
#   supports it in part. The paper shows no counts, so this is a count of seeds, not a test.
# - **λ = 1/n and 1/√n train at every depth.** At every depth of the budget, each of the two rows
#   must have a learning rate at which every seed trains (the paper's entry exists). A row and
#   depth where no seed trains at any learning rate counts against the claim; seeds that disagree,
#   or a single seed, leave it undecided.
# - **1/√n recovers more of BatchNorm's accuracy than 1/n.** The gap to BatchNorm is smaller
#   exactly when the accuracy is higher, so the test is on the per-seed accuracy difference,
#   1/√n minus 1/n, each row at its own best learning rate: a paired t-test over seeds, two-sided
#   at 5 %, at each depth $n \geq 100$ (at $n = 10$ the paper's own difference, 0.13 ± 0.14 points,
#   is within its error bars). An interval above zero supports the claim, below zero counts against
#   it. With two seeds the test has one degree of freedom and separates only a difference far beyond
#   the seeds' spread; where it cannot, the claim is left undecided.
#
# A claim can at most be supported in part where the budget does not reach the paper's depths, and
# the third also where either row's best learning rate lies at the edge of its learning-rate grid:
# its cell is then probably under-tuned. The $n = 1000$ column tries two learning rates per row,
# so its cells always sit at an edge, and its runs last 1 epoch.
#
# These rules were rewritten on 2026-11-25 (after the runs they judge were stored), replacing:
# "λ = 1 without BN diverged at every learning rate at the deepest depth of the budget" (no look at
# the shallow depth or at frozen runs, and no cap for the missing $n = 1000$); "1/n and 1/√n have a
# cell at every depth of the budget", which accepted the claim though the budget stops at
# $n = 100$; and "the mean gap to BatchNorm at the deepest depth is smaller for 1/√n than for 1/n",
# a comparison of two means with no test over seeds and no check of the learning-rate grid's edge;
# see the {doc}`reproduction report </book/reproduction_report>`.
