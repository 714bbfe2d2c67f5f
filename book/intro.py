# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # resdepth: why residual networks work
#
# This book is a reproducible companion to two papers on the depth of residual networks
# {cite:p}`he2016deep`. Every table and figure in it is computed by the `resdepth` package from
# real training runs on real data, stored with their provenance in `data/results/`, and shown next
# to the paper's own numbers. The {doc}`reproduction_report` collects, claim by claim, what the
# papers found, what we found and at what budget.
#

# %% [markdown]
# ## At a glance
#
# ```{container} verdict-tally
# The tally of verdicts is counted from the reproduction report's table when the book is built.
# ```
#
# The findings that matter most, each pasted from the chapter that judged it, with its verdict:
#
# - **Capacity grows with λ** (Part I, {doc}`Figure 2 </notebooks/lambda_sweep>`). The maximum test
#   accuracy of an $n = 16$ tower rises with the branch scale λ, up to $1/\sqrt{n}$:
#   {glue:text}`/notebooks/lambda_sweep.py::sweep_acc_increases_ours:s`.
#   **{glue:text}`/notebooks/lambda_sweep.py::sweep_acc_increases_verdict:s`**.
# - **1/√n against 1/n** (Part I, {doc}`Table 1 </notebooks/table1_depth_scaling>`). Which scaling
#   recovers more of BatchNorm's accuracy in deep towers:
#   {glue:text}`/notebooks/table1_depth_scaling.py::table1_sqrt_beats_n_ours:s`.
#   **{glue:text}`/notebooks/table1_depth_scaling.py::table1_sqrt_beats_n_verdict:s`**.
# - **Variable depth against fixed depth** (Part II, {doc}`linearization </notebooks/linearization_napl>`).
#   At matched NAPL, channel-wise linearization against layer-wise:
#   {glue:text}`/notebooks/linearization_napl.py::lin_matched_gap_ours:s`.
#   **{glue:text}`/notebooks/linearization_napl.py::lin_matched_gap_verdict:s`**.
#
# {numref}`fig-intro-capacity` is the first of these, drawn from the stored runs of the λ sweep
# (`resdepth.experiments.lambda_sweep`, nothing is trained for this page).
#

# %% tags=["remove-input", "remove-output"]
import os

import matplotlib.pyplot as plt
import seaborn as sns
from myst_nb import glue

from resdepth.book import setup, show
from resdepth.experiments import lambda_sweep

profile = os.environ.get("RESDEPTH_PROFILE", "book")
settings, store = setup(lambda_sweep.NAME, profile)
sweep = lambda_sweep.run(settings, store)
trained = sweep["per_run"][sweep["per_run"]["status"] == "ok"]
fig, ax = plt.subplots(figsize=(7, 3.4), dpi=150)
if len(trained):
    sns.pointplot(data=trained, x="λ", y="max_test_acc", order=sweep["shown"], errorbar=("se", 1), capsize=0.2,
                  ax=ax)
ax.set(xlabel="branch scale λ (n = 16 blocks)", ylabel="max test accuracy")
ax.tick_params(axis="x", rotation=45)
plt.tight_layout()
show("fig-intro-capacity", fig)
smoke_note = "the smoke profile, which exercises the code and is not a result: " if profile == "smoke" else ""
glue("intro_capacity_budget", smoke_note + sweep["budget"], display=False)

# %% [markdown]
# ```{glue:figure} fig-intro-capacity
# :name: "fig-intro-capacity"
#
# **Capacity grows with λ** (Dherin & Munn, Figure 2, left, at our budget): the maximum test
# accuracy over training against λ, mean over seeds with ±1 standard error, for the λ that trained.
# Budget: {glue:text}`intro_capacity_budget`.
# ```
#

# %% [markdown]
# ## What the two papers claim
#
# **On residual network depth** (Dherin & Munn {cite:p}`dherin2025depth`, Part I of this book).
# The Residual Expansion Theorem writes a tower of blocks $x + \lambda F_i(x)$, between an encoder
# and an affine decoder, as a hierarchical ensemble,
#
# $$ f = M_0 + \lambda M_1 + \lambda^2 M_2 + O(\lambda^3), $$
#
# where $M_k$ sums the paths through $k$ blocks. This makes precise the picture of Veit et al.
# {cite:p}`veit2016residual`, in which a residual network behaves like an ensemble of shallower
# networks. The number of paths at order $k$ grows like $\binom{n}{k}$ with the depth $n$, and the
# output with it: that combinatorial explosion, they argue, is why deep residual networks have
# needed normalization, and why scaling the branches by $\lambda = 1/n$ or $1/\sqrt{n}$ trains deep
# towers without BatchNorm, as Fixup {cite:p}`zhang2019fixup` and SkipInit {cite:p}`de2020skipinit`
# did by other routes. $\lambda$ also acts as capacity control and, through the geometric complexity
# {cite:p}`dherin2022geometric`, as an implicit regularizer.
#
# **ResNets are deeper than you think** (Mehmeti-Göpel & Wand {cite:p}`mehmeti2025deeper`, Part II).
# Residual networks are not a reparameterization of feedforward networks: they live in a different
# function space. To separate that from trainability, a trained plain network (RepVGG
# {cite:p}`ding2021repvgg`) is partially linearized after training, in the spirit of the nonlinear
# advantage of Mehmeti-Göpel & Disselhoff {cite:p}`mehmeti2022nonlinear`: each ReLU becomes a PReLU
# whose slope $\alpha$ is pushed towards 1 by a penalty $\omega \sum |1 - \alpha|^{0.5}$.
# Channel-wise slopes give variable-depth, ResNet-like networks; layer-wise slopes give shallower
# plain networks. At matched normalized average path length (NAPL), variable depth generalizes
# better.
#
# ## How to read the numbers
#
# Each chapter prints the budget of its results above its figures: dataset, run length, seeds,
# width, device, and the compute its runs used. Unless a chapter says otherwise the data is
# Fashion-MNIST {cite:p}`xiao2017fashion`, zero-padded to 32×32, because this book is built on
# machines without internet and without a GPU; the papers used CIFAR-10/100
# {cite:p}`krizhevsky2009learning` and ImageNet, with far larger networks and budgets. A verdict in
# this book ("reproduced", "partly reproduced", "not reproduced", "not run") is a statement about
# our budget, which the {doc}`methods` page lists in full, generated from the results store.
# Numbers from the `smoke` profile only exercise the code: they are never shown as results.
#
# ## Re-running a chapter
#
# Each chapter is a notebook in `notebooks/`, stored as a jupytext percent file. Its `parameters`
# cell includes `profile` (`smoke`, `book` or `paper`); any setting left at `None` comes from that
# profile. With papermill:
#
# ```bash
# jupytext --to ipynb notebooks/training_basics.py
# papermill notebooks/training_basics.ipynb out.ipynb -p profile book -p depth 32 -y "seeds: [0, 1, 2]"
# ```
#
# Runs that are already in `data/results/` are loaded, not retrained; new ones are trained and
# stored under the hash of their configuration. {doc}`rerunning` gives the command for every
# chapter, how to switch to CIFAR-10/100 or ImageNet, how to run on a GPU, and how to extend the
# book with a chapter, a claim or a citation.
#
# ## Reading offline
#
# The built book needs no network. Its equations are typeset by MathJax 3, which the Python
# package `sphinx-mathjax-offline` (pinned in `requirements.txt`) ships and the build copies into
# `_build/html/_static/mathjax/`; the pages load it from there, never from a CDN. Figures are
# PNG files beside the pages, and the bibliography is built from `book/references.bib`. The
# browser test (`tests/test_browser.py`) opens every page in headless Chromium with background
# networking disabled and checks that the figures decode and the equations are typeset.
#
# ## How to cite
#
# Cite the two papers for their results ({doc}`bibliography`), and this book for the
# reproduction: the repository's `CITATION.cff` gives its entry, which GitHub shows as "Cite this
# repository", and in BibTeX:
#
# ```bibtex
# @misc{resdepth2026,
#   title  = {resdepth: why residual networks work, a reproducible companion},
#   author = {{the resdepth authors}},
#   year   = {2026},
#   note   = {Jupyter Book, with the runs it reports in data/results/}
# }
# ```
#
# ## Chapters
#
# ```{tableofcontents}
# ```
