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
# {cite:p}`xiao2017fashion` at a smaller width and far fewer steps (see the budget below).
#
# Each cell below follows the paper's rule (Appendix A.2): for each learning rate, the mean and
# standard error over seeds of each run's best test accuracy; the cell shows the learning rate
# with the best mean. A learning rate at which a seed diverged does not count; a cell with no
# learning rate left shows "—" and why.

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
import math

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from myst_nb import glue

from resdepth import profiles
from resdepth.analysis import best_over_lr, format_cell, paper_numbers, run_table
from resdepth.grids import TABLE1_ROWS, table1_configs
from resdepth.results import compute_used, run_length, sweep

settings = profiles.resolve("table1_depth_scaling", profile, dataset=dataset, depths=depths, width=width,
                            epochs=epochs, steps=steps, lrs=lrs, seeds=seeds)
sns.set_theme(context="notebook", style="whitegrid")
if profile == "smoke":
    print("SMOKE PROFILE: these numbers only exercise the code on the small committed sample. They are not results.")

# %% tags=["hide-input"]
configs = table1_configs(settings)
records = sweep(configs, profile=profile)
row_label = {(v["lam"], v["batchnorm"]): k for k, v in TABLE1_ROWS.items()}
runs = run_table(records, lambda r: row_label[(r["config"]["model_args"]["lam"], r["config"]["model_args"]["batchnorm"])])
cells = best_over_lr(runs)

budget = run_length(settings)
print(f"Budget: dataset {settings['dataset']}, {budget} per run, batch {settings['batch_size']}, width {settings['width']}, "
      f"depths {settings['depths']},\n        learning rates {[round(lr, 5) for lr in settings['lrs']]}, "
      f"seeds {settings['seeds']}, {len(records)} runs, {compute_used(records)}.")

# %% [markdown]
# ## Ours against the paper's
#
# Our cells (best test accuracy, %, mean ± standard error over seeds, and the winning learning
# rate), beside the paper's CIFAR-10 {cite:p}`krizhevsky2009learning` numbers at width 256 and 160k
# steps, in {numref}`tab-table1-side-by-side`.

# %% tags=["hide-input"]
paper = paper_numbers("table1")
ours = cells.assign(cell=[format_cell(m, s) for m, s in zip(cells["mean"], cells["se"])])
ours["cell"] = [c if st == "ok" else f"— ({reason})" for c, st, reason in zip(ours["cell"], ours["status"], ours["reason"])]
ours["best lr"] = ours["lr"].map(lambda lr: "" if lr != lr else f"2^{round(math.log2(lr))}")
table = ours.pivot(index="row", columns="depth", values="cell").reindex(list(TABLE1_ROWS))
lr_table = ours.pivot(index="row", columns="depth", values="best lr").reindex(list(TABLE1_ROWS))
paper_table = paper.assign(cell=[format_cell(m / 100, s / 100) for m, s in zip(paper["acc_mean"], paper["acc_se"])])
paper_table = paper_table.pivot(index="row", columns="depth", values="cell").reindex(list(TABLE1_ROWS))
side_by_side = pd.concat({f"ours ({settings['dataset']})": table, "ours: best lr": lr_table,
                          "paper (CIFAR-10)": paper_table}, axis=1)
glue("tab-table1-side-by-side", side_by_side, display=False)

# %% [markdown]
# ```{glue:figure} tab-table1-side-by-side
# :name: "tab-table1-side-by-side"
#
# Table 1 of Dherin & Munn, ours beside the paper's: best test accuracy (%, mean ± standard error over
# seeds) per treatment (rows) and depth (columns), at the learning rate with the best mean, which the
# middle block gives; "—" marks a cell where every learning rate diverged. Our budget is printed above.
# ```

# %% [markdown]
# ## Accuracy against learning rate
#
# Every run, so the choice of the best learning rate can be checked by eye
# ({numref}`fig-table1-lr`). Missing points are runs that diverged.

# %% tags=["hide-input"]
grid = sns.relplot(data=runs, x="lr", y="best_acc", hue="row", col="depth", kind="line", marker="o",
                   errorbar=("se", 1), hue_order=list(TABLE1_ROWS), height=3.5, aspect=1.2)
grid.set(xscale="log", xlabel="learning rate", ylabel="best test accuracy")
glue("fig-table1-lr", grid.figure, display=False)
plt.close(grid.figure)

# %% [markdown]
# ```{glue:figure} fig-table1-lr
# :name: "fig-table1-lr"
#
# Best test accuracy of each run against its learning rate (log scale), one panel per depth, one line
# per treatment: mean over seeds with ±1 standard error. Diverged runs have no point.
# ```

# %% tags=["hide-input"]
diverged = runs[runs["status"] == "diverged"].groupby(["row", "depth"]).size()
print("Diverged runs (row, depth: count):", {k: int(v) for k, v in diverged.items()} if len(diverged) else "none")

# %% [markdown]
# ## Verdict
#
# The claim has three parts; each is checked on the cells of {numref}`tab-table1-side-by-side`
# (computed, not typed).

# %% tags=["hide-input"]
cell = cells.set_index(["row", "depth"])
deep, shallow = max(settings["depths"]), min(settings["depths"])


def acc(row, depth):
    return cell.loc[(row, depth), "mean"] if (row, depth) in cell.index else float("nan")


bn_free_fails = cell.loc[("λ=1 without BN", deep), "status"] == "diverged"
scaled_train = all(cell.loc[(r, d), "status"] == "ok" for r in ("λ=1/n without BN", "λ=1/√n without BN")
                   for d in settings["depths"])
gap_sqrt = acc("λ=1 with BN", deep) - acc("λ=1/√n without BN", deep)
gap_n = acc("λ=1 with BN", deep) - acc("λ=1/n without BN", deep)
print(f"1. λ=1 without BN at n={deep}: {'diverged at every learning rate' if bn_free_fails else 'trained'} "
      f"(paper: omitted at n=100 and n=1000).")
print(f"2. λ=1/n and λ=1/√n without BN trained at every depth: {scaled_train} (paper: yes).")
paper_cell = paper.set_index(["row", "depth"])["acc_mean"]
paper_gap = lambda row: paper_cell[("λ=1 with BN", 100)] - paper_cell[(row, 100)]
print(f"3. Gap to BatchNorm at n={deep}: λ=1/√n {100 * gap_sqrt:+.2f} points, λ=1/n {100 * gap_n:+.2f} points "
      f"(paper at n=100: {paper_gap('λ=1/√n without BN'):+.2f} and {paper_gap('λ=1/n without BN'):+.2f}).")
reproduced = bn_free_fails and scaled_train and gap_sqrt < gap_n
print("Verdict at this budget:", "reproduced" if reproduced else ("partly reproduced" if (bn_free_fails or scaled_train)
                                                                 else "not reproduced"),
      f"— on {settings['dataset']}, not CIFAR-10, with width {settings['width']} and {budget} per run.")

# %% tags=["remove-cell"]
# Values for the reproduction report (book/reproduction_report.md), computed above.
glue("table1_deep", deep, display=False)
glue("table1_bn_free_deep", "diverged at every learning rate" if bn_free_fails else "trained", display=False)
glue("table1_bn_free_verdict", "reproduced" if bn_free_fails else "not reproduced", display=False)
glue("table1_scaled_train", "yes" if scaled_train else "no", display=False)
glue("table1_scaled_verdict", "reproduced" if scaled_train else "not reproduced", display=False)
glue("table1_gap_sqrt", float(100 * gap_sqrt), display=False)
glue("table1_gap_n", float(100 * gap_n), display=False)
glue("table1_paper_gap_sqrt", float(paper_gap("λ=1/√n without BN")), display=False)
glue("table1_paper_gap_n", float(paper_gap("λ=1/n without BN")), display=False)
glue("table1_gap_verdict", "reproduced" if gap_sqrt < gap_n else "not reproduced", display=False)
glue("table1_verdict", "reproduced" if reproduced else ("partly reproduced" if (bn_free_fails or scaled_train)
                                                        else "not reproduced"), display=False)
hours = sum(r["provenance"]["wall_time_s"] for r in records) / 3600
devices = ", ".join(sorted({r["provenance"]["device"].split(" (")[0] for r in records}))
glue("table1_budget", f"{settings['dataset']}; n ∈ {{{', '.join(map(str, settings['depths']))}}}, width {settings['width']}; "
     f"{budget}; {len(settings['lrs'])} lr × {len(settings['seeds'])} seeds; {hours:.1f} h on {devices}", display=False)
