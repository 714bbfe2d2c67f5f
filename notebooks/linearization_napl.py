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
# # Variable depth against fixed depth at matched NAPL
#
# *ResNets Are Deeper Than You Think* {cite}`mehmeti2025deeper` asks whether residual networks
# win only because they train more easily, or because their function space (a mix of long and
# short paths) suits natural data better. To take trainability out of the comparison, it starts
# from one trained plain network, a RepVGG {cite}`ding2021repvgg` fused into a chain of
# conv3x3 → ReLU, and linearizes part of it *after* training. Every ReLU becomes a PReLU with a
# learnable slope α, starting at 0 so the function is unchanged, and post-training minimises
#
# $$ \mathcal{L} = \mathrm{CE} + \omega \sum_i |1 - \alpha_i|^{0.5}, $$
#
# which pushes slopes to 1. A unit with $|\alpha_i - 1| < 0.01$ is frozen at exactly 1: it is
# linear from then on. With one α per **channel**, a layer can keep some channels nonlinear and
# make others linear, so paths of many lengths coexist: a *variable-depth*, ResNet-like net. With
# one α per **layer**, whole layers become linear and fold into their neighbours: a shallower
# *fixed-depth* plain net. Depth is measured by the normalized average path length (NAPL) of
# *Nonlinear Advantage* {cite}`mehmeti2022nonlinear`: the expected number of nonlinear units on a
# path from input to output. The paper's claim: at matched NAPL, channel-wise (variable depth)
# beats layer-wise (fixed depth), and the gap grows as NAPL falls.
#
# Everything below is computed by `resdepth.linearize` (PReLU swap, penalty, freeze rule),
# `resdepth.posttraining`, `resdepth.pathlength` (NAPL) and `resdepth.merge`, through the same
# training loop and results store as every other chapter; the runs, tables and rules of this
# chapter are in `resdepth.experiments.linearization_napl`.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
dataset = None
start_model = None  # e.g. "repvgg_a2"
omegas = None  # {"channel": [...], "layer": [...]}
seeds = None  # post-training seeds
epochs = None  # training epochs of the start network
post_epochs = None

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from resdepth.book import badged_verdict_table, setup, show, show_text, show_verdicts
from resdepth.experiments import linearization_napl

settings, store = setup(linearization_napl.NAME, profile, dataset=dataset, start_model=start_model, omegas=omegas,
                        seeds=seeds, epochs=epochs, post_epochs=post_epochs)
results = linearization_napl.run(settings, store)

# %% tags=["hide-input"]
show_text(results.budget_long)

# %% [markdown]
# ## Accuracy against NAPL
#
# Each point is one ω: the mean over post-training seeds of the final NAPL and the final test
# accuracy, with standard-error bars in both directions. The start network is fused into its
# plain form (RepVGG's structural reparameterization), so before post-training every path meets
# every ReLU: its NAPL is the number of ReLU layers. The dashed line is its test accuracy
# ({numref}`fig-linearization-napl`).

# %% tags=["hide-input", "remove-output"]
fig, ax = plt.subplots(figsize=(8, 4.5))
title = f"{settings['start_model']} on {settings['dataset']}: linearized after training"
linearization_napl.plot_accuracy_vs_napl(ax, results.runs, results.start["final"]["test_acc"], results.start_napl,
                                         title)
plt.tight_layout()
show("fig-linearization-napl", fig)

# %% [markdown]
# ```{glue:figure} fig-linearization-napl
# :name: "fig-linearization-napl"
#
# Final test accuracy against final NAPL after post-training linearization, channel-wise and
# layer-wise, one point per ω: means over post-training seeds with ±1 standard error in both
# directions; the dashed line is the start network's accuracy. The budget is printed above.
# ```

# %% [markdown]
# ## The gap at matched NAPL
#
# Layer-wise runs land on integer NAPLs. At each one, the channel-wise accuracy of the same seed is
# interpolated linearly between the two channel-wise runs around it; layer-wise NAPLs outside the
# channel-wise range are left out. One ω can land on different NAPLs for different seeds: "4–5"
# means that one seed's net has NAPL 4 and the other's 5. The gap is channel-wise minus layer-wise,
# in percentage points, mean ± standard error over seeds; since both nets of a seed come from the
# same start network and post-training seed, the gaps are paired, and each row gives the 95%
# interval and p-value of a paired t-test over seeds. With two seeds that test has one degree of
# freedom, so its intervals are wide ({numref}`tab-linearization-gaps`).

# %% tags=["hide-input", "remove-output"]
show("tab-linearization-gaps", linearization_napl.gap_table(results.gaps))

# %% [markdown]
# ```{glue:figure} tab-linearization-gaps
# :name: "tab-linearization-gaps"
#
# Channel-wise against layer-wise linearization at each matched NAPL (the layer-wise ω that gave
# it): test accuracy of each (%, mean ± standard error over seeds), the gap in points, its 95%
# interval and p-value from a paired t-test over seeds, and the number of seeds.
# ```

# %% [markdown]
# ## Materializing the fixed-depth net
#
# A layer-wise-linearized net *is* a shallower plain net: each run of convolutions with no
# nonlinearity between them is one affine map. `merge_linear_layers` fuses each run into one
# convolution with a larger kernel, and a linear tail (the convolutions after the last nonlinear
# layer) together with the head into one convolution with one output channel per class (the head
# acts on every pixel alike, so it commutes with the global average pool): the merged net has
# NAPL + 1 weight layers. Here the start network's weights get the frozen pattern of the
# layer-wise run with the lowest NAPL (first post-training seed), and the merged net is compared
# with the unmerged one on real test images ({numref}`tab-linearization-merged`). With zero padding
# the fusion is exact only where no intermediate padding is read; the rim differs, and on 32×32
# inputs the last stages are all rim.

# %% tags=["hide-input", "remove-output"]
show("tab-linearization-merged", results.merged.table)

# %% [markdown]
# ```{glue:figure} tab-linearization-merged
# :name: "tab-linearization-merged"
#
# The layer-wise-linearized net of lowest NAPL (first post-training seed) before and after fusing its linear runs of
# convolutions: NAPL, number of weight layers, parameters (without the PReLU slopes) and the largest
# convolution kernel.
# ```

# %% tags=["hide-input"]
show_text(f"Relative difference of the logits, merged against unmerged, on {results.merged.images} real test images: "
      f"{results.merged.relative_error:.2e} (the zero-padding rim; the interior is exact to float precision, "
      f"tests/test_merge.py).")

# %% [markdown]
# ## The second budget: a controlled comparison
#
# The runs above compare penalty runs of one start network, with the penalty still on, at
# whatever NAPL each ω happened to reach, and 1 post-training epoch against the paper's 60. The
# chapter's second budget, `book_v2`, written on 2026-12-03 before any of its runs, follows a
# controlled protocol (`resdepth.experiments.matched_napl`): 3 start networks × 2 post-training
# seeds; a penalty phase of 1 epoch; then, for both granularities alike, 2 epochs of fine-tuning
# with the mask of linear units fixed and the penalty off; accuracy interpolated at the fixed NAPL
# points 1, 2, 3, 4, 6, 8 and 10; a random channel mask with the learned per-layer fractions as a
# control for *what* is linearized; and a calibration that fine-tunes four nets twice as long, to
# show whether accuracy has stopped rising. A difficulty ladder repeats the protocol on two class
# subsets of Fashion-MNIST (trouser vs ankle boot; the four kinds of top), as a labelled proxy for
# the paper's CIFAR-10 < CIFAR-100 < ImageNet. Its rules are paired t-tests over start networks:
# the mean gap at NAPL ≤ 4, the slope of the gap against NAPL, and random-mask minus layer-wise;
# and, over the ladder, the slope of each start network's gap against its test error (at most
# partly reproduced: a proxy).
#
# It is trained in the background (`python -m resdepth sweep linearization_napl --budget
# book_v2`), part 1 (the protocol on all 10 classes) first, then the ladder; this page never trains
# it. Once part 1 is stored in full, its figures and gap table appear below and its rules judge the
# chapter's claims; the difficulty claim waits for the ladder. A later budget of the same protocol
# (below) takes over the figures and the verdicts once its own part 1 is stored in full.

# %% tags=["hide-input"]
previews = linearization_napl.protocol_previews(profile, store)
standing = linearization_napl.standing_protocol(previews)
for preview in previews:
    show_text(f"{preview.name}, part 1: {preview.stored} of {preview.stored + preview.missing} runs stored; "
              f"{preview.budget}.")
if not previews:
    show_text("The protocol's budgets are book-profile budgets: nothing to preview in this profile.")
if standing is not None:
    show_text(f"The figures and tables below are {standing.name}'s: the last budget stored in full.")
    show("fig-linearization-protocol", linearization_napl.plot_protocol_accuracy(standing))
    show_text("Test accuracy after phase 2 against NAPL, per arm: at each fixed NAPL point, the mean over start "
              "networks (each first averaged over its post-training seeds) of the accuracy interpolated at that point, "
              "±1 standard error over start networks; each phase-2 run is a faint dot.")
    show("fig-linearization-protocol-gaps", linearization_napl.plot_protocol_gaps(standing))
    show("tab-linearization-protocol-gaps", linearization_napl.protocol_gap_table(standing))
    show_text("The gaps to layer-wise linearization at each NAPL point, in points: the mean over start networks, the "
              "95 % interval and p of a paired t-test over start networks, and how many start networks (and seed pairs) "
              "reach the point in both arms. Every point is listed, zero and negative gaps too; the rules judge the "
              "points at NAPL ≤ 4.")
    show("fig-linearization-calibration", linearization_napl.plot_calibration(standing))
    show("tab-linearization-calibration", linearization_napl.calibration_table(standing))
    show_text("Calibration: four nets of start network 0 (first seed) fine-tuned twice as long. Where the longer "
              "phase 2 adds 0.5 points or more, phase 2 has not settled and every verdict below says so.")
    levels = linearization_napl.ladder_levels(standing, store)
    training = linearization_napl.ladder_training(levels)
    if training:
        show_text(f"{training.capitalize()}; the difficulty ladder's figure and table appear here once it is "
                  "stored in full.")
    elif len(levels) > 1:
        show("fig-linearization-ladder", linearization_napl.plot_ladder(levels))
        show("tab-linearization-ladder", linearization_napl.ladder_summary(levels))
        show_text("The difficulty ladder, a proxy for the paper's CIFAR-10 < CIFAR-100 < ImageNet: the protocol "
                  "repeated on class subsets of Fashion-MNIST, each with its own 3 start networks and one "
                  "post-training seed, no random masks, beside part 1 on all 10 classes. Left: channel- minus "
                  "layer-wise accuracy after phase 2 at each NAPL point, per rung. Right: the difficulty rule's data, "
                  "one dot per start network that reaches a NAPL point ≤ 4 in both arms, its mean gap there against "
                  "its own test error, and the rule's least-squares line. The table: per rung, the mean gap at "
                  "NAPL ≤ 4 over start networks with the paired t-test's 95 % interval.")
        show("tab-linearization-ladder-check", linearization_napl.ladder_leave_one_out(levels))
        show_text("A check added after the ladder's runs, which decides nothing: the rule's least-squares fit over "
                  "every rung, then without each rung in turn. A gap in accuracy cannot exceed the start network's "
                  "error, so a rung near the ceiling has gaps near zero whatever depth does. The verdict stands on the "
                  "rule. Where p rises above 0.05 without a rung, the verdict's significance rests on that rung; where "
                  "the slope barely changes without it, the slope's size does not.")

# %% [markdown]
# ### Choosing phase 2 for the next budget
#
# Where the calibration shows that phase 2 had not settled, a longer phase 2 alone is an expensive
# fix: at 1e-4 the fine-tuning's learning rate may simply be too small for nets that lost several
# points of accuracy to linearization. The phase-2 grid, written on 2026-12-04 before its runs,
# fine-tunes the calibration's four nets at weight learning rates 1e-4, 3e-4 and 1e-3, for 2 and 4
# epochs (the 1e-4 cells are the protocol's and the calibration's own runs). Its rule,
# `matched_napl.phase2_choice`, fixed before the runs: a cell's shortfall is the mean over the four
# nets of their best accuracy anywhere in the grid minus the cell's; the next budget's phase 2 is
# the shortest cell whose shortfall is under 0.5 points (and shorter than the grid's longest, so
# that nothing in the grid added half a point to it); if there is none, phase 2 needs a longer grid.
# One seed of one start network: the grid chooses a protocol and decides no claim.
#
# The rule's first answer (4 epochs at 1e-4 and at 3e-4 within 0.4 points of each other, no shorter
# cell within 0.5 points) was that phase 2 needs a longer grid. So the grid was extended, before
# the new runs, by 8 epochs at 1e-4 and 3e-4; 1e-3, already 3.2 points short at 4 epochs, was not
# extended. The same rule now judges the whole grid: 4 epochs are chosen only if 8 add less than
# half a point.

# %% tags=["hide-input"]
grid = linearization_napl.phase2_grid_results(previews[0].settings, store) if previews else None  # book_v2's
if grid is not None:
    show_text(f"Phase-2 grid: {grid.stored} of {grid.stored + grid.missing} runs stored. Choice: {grid.choice[2]}.")
    if grid.choice[0] is None and grid.provisional[0] is not None:
        show_text(f"Provisional phase 2 (its longest at its best learning rate): {grid.provisional[1]} epochs at lr "
                  f"{grid.provisional[0]:g}.")
    show("fig-linearization-phase2-grid", linearization_napl.plot_phase2_grid(grid))
    show("tab-linearization-phase2-grid", linearization_napl.phase2_grid_table(grid))
    show_text("Test accuracy after each phase 2 of the grid (start network 0, first seed), per net: the arm and the "
              "penalty weight of its phase 1; a cell not stored yet has no line. The 1e-4 × 2-epoch cell is the "
              "protocol's own phase 2, evaluated once an epoch, so its dotted line has two points; the grid's other "
              "runs were evaluated four times an epoch.")

# %% [markdown]
# ### The third budget: a longer phase 2
#
# With no settled cell in the grid, the chapter's third budget, `book_v3` (written on 2026-12-05
# before any of its runs), takes the grid's provisional choice (`matched_napl.provisional_phase2`):
# its longest phase 2 at the learning rate whose cell there comes closest to the grid's best, 8
# epochs at 3e-4. A calibration twice as long (16 epochs, the same four nets) says whether that
# settled, and every verdict says so where it did not. Phase 1 is `book_v2`'s: the same start
# networks and penalty runs, so each mask and its NAPL are known before phase 2. Phase 2 is run for
# the omegas whose masks lie at NAPL 0.8 to 8, compared at the NAPL points 1, 2, 3, 4 and 6, with
# the random control where its rule reads it (NAPL ≤ 4.5). The rules are the second budget's,
# unchanged. It is about 31 core-hours on this CPU; once its part 1 is stored in full, its figures
# replace the second budget's above and its rules judge the chapter.

# %% [markdown]
# ## Verdict

# %% tags=["hide-input", "remove-output"]
show_verdicts(linearization_napl.chapter_verdicts(results, settings, previews, store), "tab-linearization-verdicts")

# %% [markdown]
# ```{glue:figure} tab-linearization-verdicts
# :name: "tab-linearization-verdicts"
#
# The chapter's claims: the paper's statement, our numbers, the verdict, the rule and the statistic
# that decided it: those of the last protocol budget whose part 1 is stored in full, the first
# budget's before.
# ```
#
# The second budget's rules, in words (`resdepth.experiments.matched_napl`, written on 2026-12-03
# before any of its runs and tested on hand-made runs). The unit of replication is the start
# network: its post-training seeds share its weights, so they are averaged first, and every test
# runs over the 3 start networks, two-sided at the 5 % level.
#
# - **Channel-wise beats layer-wise at matched NAPL.** Per start network, the mean over the NAPL
#   points ≤ 4 of channel- minus layer-wise accuracy after phase 2; paired t-test: positive with
#   p < 0.05 is reproduced, negative with p < 0.05 not reproduced, anything else inconclusive.
# - **The gap grows as NAPL falls.** Per start network, the least-squares slope of its gap against
#   NAPL over every point it reaches; t-test of the slopes: negative with p < 0.05 is reproduced,
#   positive with p < 0.05 not reproduced.
# - **The variable-depth reading.** As the first rule, for random-mask minus layer-wise; learned
#   minus random channel masks at equal NAPL is reported beside it and decides nothing.
# - **The gap is larger on harder data.** Over the start networks of every rung of the ladder, the
#   slope of the mean gap at NAPL ≤ 4 against the start network's test error; at most partly
#   reproduced, a proxy.
#
# Our budget reaches neither the paper's data (CIFAR-100, ImageNet) nor its net (RepVGG-A2 at full
# width) nor its 60 post-training epochs, so no claim is more than partly reproduced here.
#
# The first budget's rules (one start network, two post-training seeds, the penalty still on):
# for the gap, per post-training seed the mean gap at that seed's matched NAPLs between 2 and 6,
# paired t-test over seeds; for the trend, Spearman's rank correlation between the mean NAPL and
# the mean gap over every matched layer-wise ω, with its exact permutation p-value. These rules
# were rewritten on 2026-11-25 (after the runs they judge were stored), replacing "the gaps at
# NAPL 3 to 5 (or the lowest matched NAPL of at least 2), each |gap| > 2 standard errors over two
# seeds, and a negative Pearson correlation of the gap with NAPL over matched NAPLs of at least
# 2", a rule chosen after the first seed's results were in; see the
# {doc}`reproduction report </book/reproduction_report>`. Once a protocol budget judges the
# chapter, the verdicts of the budgets before it follow here, superseded.

# %% tags=["hide-input"]
for name, earlier in linearization_napl.superseded_verdicts(linearization_napl.verdicts(results, settings), previews,
                                                            store):
    show_text(f"Superseded: the verdicts of the budget {name}.")
    show(f"tab-linearization-verdicts-{'first-budget' if name == 'book' else name.replace('_', '-')}",
         badged_verdict_table(earlier))
