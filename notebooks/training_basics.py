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
# # Training a residual tower
#
# This chapter shows the machinery every later chapter stands on, on one real run: the residual
# tower of Dherin & Munn {cite:p}`dherin2025depth` (Appendix A), a ResNet {cite:p}`he2016deep` of
# constant width and stride 1, with branches scaled by $\lambda = 1/\sqrt{n}$ and no BatchNorm in
# the tower,
#
# $$ f(x) = D\big(R(E(x))\big), \qquad R = (1 + \lambda F_n) \circ \cdots \circ (1 + \lambda F_1), \qquad
#    F_i(z) = \mathrm{Conv}_{3\times 3}\big(\mathrm{ReLU}(\mathrm{Conv}_{3\times 3}(z))\big), $$
#
# trained on Fashion-MNIST {cite:p}`xiao2017fashion` (zero-padded to 32×32) with SGD and momentum
# 0.9, a constant learning rate and no weight decay, as in the paper's Appendix A.
#
# Every number below is read from the results store in `data/results/`. A run that is not stored
# yet is trained first, then stored under the hash of its configuration together with its
# provenance (commit, device, wall time, date). Rebuilding the book therefore re-trains nothing.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
dataset = None  # None: the profile's dataset (fashion_mnist for "book")
depth = None  # number of residual blocks n
width = None  # channels of the tower
epochs = None
seeds = None  # a list of seeds, e.g. [0, 1]
lr = None

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import seaborn as sns

from resdepth.book import setup, show, show_text
from resdepth.experiments import training_basics

settings, store = setup(training_basics.NAME, profile, dataset=dataset, depth=depth, width=width, epochs=epochs,
                        seeds=seeds, lr=lr)
results = training_basics.run(settings, store)

# %% [markdown]
# ## The data
#
# A few images from the committed Fashion-MNIST sample (`data/sample/`), padded from 28×28 to
# 32×32 exactly as the training data is ({numref}`fig-basics-samples`). Training itself uses the
# full dataset named in the budget below.

# %% tags=["hide-input", "remove-output"]
fig, axes = plt.subplots(2, 8, figsize=(10, 3))
for ax, (image, name) in zip(axes.flat, training_basics.sample_images(16)):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(name, fontsize=8)
    ax.axis("off")
plt.tight_layout()
show("fig-basics-samples", fig)

# %% [markdown]
# ```{glue:figure} fig-basics-samples
# :name: "fig-basics-samples"
#
# Sixteen images of the committed Fashion-MNIST sample (training split), zero-padded to 32×32, each
# titled with its class.
# ```

# %% [markdown]
# ## The runs
#
# One configuration per seed (`resdepth.experiments.training_basics.configs`). `run` loads each
# stored run, or trains and stores it; {numref}`tab-basics-runs` lists where and when each was
# trained.

# %% tags=["hide-input"]
show_text(results["budget_text"])

# %% tags=["hide-input", "remove-output"]
show("tab-basics-runs", results["provenance"])

# %% [markdown]
# ```{glue:figure} tab-basics-runs
# :name: "tab-basics-runs"
#
# The runs of this chapter, one per seed: status, device, training wall time in seconds, date,
# code commit and profile, from each run's provenance in the results store.
# ```

# %% [markdown]
# ## Learning curves
#
# {numref}`fig-basics-curves` shows the training loss (the mean over each epoch's batches, with
# augmentation) and the test accuracy after each epoch; the line is the mean over seeds and the band
# its 95% interval.

# %% tags=["hide-input", "remove-output"]
history = results["history"]
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
sns.lineplot(data=history, x="epoch", y="train_loss", errorbar=("ci", 95), marker="o", ax=ax_loss)
sns.lineplot(data=history, x="epoch", y="test_loss", errorbar=("ci", 95), marker="o", ax=ax_loss)
ax_loss.legend(["train loss", "_", "test loss"])
ax_loss.set(ylabel="cross-entropy", title="Loss")
sns.lineplot(data=history, x="epoch", y="test_acc", errorbar=("ci", 95), marker="o", ax=ax_acc)
ax_acc.set(ylabel="test accuracy", title=f"Tower n={settings['depth']}, λ=1/√n, {settings['dataset']}")
plt.tight_layout()
show("fig-basics-curves", fig)

# %% [markdown]
# ```{glue:figure} fig-basics-curves
# :name: "fig-basics-curves"
#
# Learning curves of the tower with λ = 1/√n. Left: cross-entropy against epoch, training (with
# augmentation) and test. Right: test accuracy against epoch. Lines are means over seeds, bands 95%
# intervals; the budget is printed under *The runs*.
# ```

# %% [markdown]
# ## Summary over seeds
#
# {numref}`tab-basics-summary` gives each seed's final and best test accuracy and its training
# throughput.

# %% tags=["hide-input"]
show_text(results["final_text"])

# %% tags=["hide-input", "remove-output"]
show("tab-basics-summary", results["summary"].round(4))

# %% [markdown]
# ```{glue:figure} tab-basics-summary
# :name: "tab-basics-summary"
#
# Per seed: the status of the run, the test accuracy after the last epoch and the best over epochs,
# and the median training throughput in images per second.
# ```
#
# This chapter judges no claim of the papers: it shows the machinery (configurations, the results
# store, provenance) that the later chapters use to judge theirs.
