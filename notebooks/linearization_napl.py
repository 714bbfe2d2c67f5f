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
# Everything below is computed by `resdepth.linearize` (PReLU swap, penalty, freeze rule,
# `post_train`), `resdepth.pathlength` (NAPL) and `resdepth.merge`, through the same training
# loop and results store as every other chapter.

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
import pandas as pd
import seaborn as sns
import torch
from myst_nb import glue

from resdepth import profiles
from resdepth.analysis import gap_table, gap_verdict, linearization_runs, matched_napl_gaps
from resdepth.grids import linearization_budget, linearization_budget_short, run_linearization_study
from resdepth.linearize import linearized_architecture
from resdepth.pathlength import napl
from resdepth.plots import accuracy_vs_napl
from resdepth.results import compute_used

settings = profiles.resolve("linearization_napl", profile, dataset=dataset, start_model=start_model, omegas=omegas,
                            seeds=seeds, epochs=epochs, post_epochs=post_epochs)
sns.set_theme(context="notebook", style="whitegrid")
if profile == "smoke":
    print("SMOKE PROFILE: these numbers only exercise the code on the small committed sample. They are not results.")

start_cfg, start, records = run_linearization_study(settings, "linearization_napl", profile)
runs = linearization_runs(records)
print(linearization_budget(settings, start, records))

# %% [markdown]
# ## Accuracy against NAPL
#
# Each point is one ω: the mean over post-training seeds of the final NAPL and the final test
# accuracy, with standard-error bars in both directions. The start network is fused into its
# plain form (RepVGG's structural reparameterization), so before post-training every path meets
# every ReLU: its NAPL is the number of ReLU layers. The dashed line is its test accuracy
# ({numref}`fig-linearization-napl`).

# %% tags=["hide-input"]
full_napl = napl(linearized_architecture(records[0]))  # every unit nonlinear: the start network
fig, ax = plt.subplots(figsize=(8, 4.5))
accuracy_vs_napl(ax, runs, start["final"]["test_acc"], full_napl,
                 f"{settings['start_model']} on {settings['dataset']}: linearized after training")
plt.tight_layout()
glue("fig-linearization-napl", fig, display=False)
plt.close(fig)

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
# channel-wise range are left out. The gap is channel-wise minus layer-wise, in percentage points,
# mean ± standard error over seeds; "outside spread" means |gap| > 2 s.e.
# ({numref}`tab-linearization-gaps`).

# %% tags=["hide-input"]
gaps = matched_napl_gaps(runs)
glue("tab-linearization-gaps", gap_table(gaps), display=False)

# %% [markdown]
# ```{glue:figure} tab-linearization-gaps
# :name: "tab-linearization-gaps"
#
# Channel-wise against layer-wise linearization at each matched NAPL: test accuracy of each (%,
# mean ± standard error over seeds), the gap in points, the number of seeds, and whether the gap lies
# outside twice its standard error.
# ```

# %% [markdown]
# ## Materializing the fixed-depth net
#
# A layer-wise-linearized net *is* a shallower plain net: each run of convolutions with no
# nonlinearity between them is one affine map. `merge_linear_layers` fuses each run into one
# convolution with a larger kernel. Here the start network's weights get the frozen pattern of the
# layer-wise run with the lowest NAPL (seed 0), and the merged net is compared with the unmerged
# one on real test images ({numref}`tab-linearization-merged`). With zero padding the fusion is
# exact only where no intermediate padding is read; the rim differs, and on 32×32 inputs the last
# stages are all rim.

# %% tags=["hide-input"]
from resdepth.data import sample_test_batch
from resdepth.linearize import linearizable, prelus
from resdepth.merge import merge_linear_layers, parameter_count, weight_layers
from resdepth.models import build_model
from resdepth.results import load_stored_weights

layer_runs = [r for r in records if r["config"]["linearize"] == "layer" and r["status"] == "ok"
              and r["config"]["seed"] == settings["seeds"][0]]
shallowest = min(layer_runs, key=lambda r: r["linearization"]["napl"])
info = shallowest["linearization"]
x, _ = sample_test_batch(64)
net = build_model(start_cfg.model, info["in_channels"], info["num_classes"], **start_cfg.model_kwargs).eval()
net = linearizable(net, x[:2], "layer", load_stored_weights(f"{start_cfg.experiment}/{start_cfg.key}", profile=profile))
for (name, act) in [(n, m) for n, m in net.named_modules() if m in prelus(net)]:
    if info["nonlinear_fractions"][name] == 0.0:
        act.alpha.data.fill_(1.0)
merged = merge_linear_layers(net)
with torch.no_grad():
    full_error = ((merged(x) - net(x)).norm() / net(x).norm()).item()
glue("tab-linearization-merged", pd.DataFrame({
    "net": ["layer-wise linearized (unmerged)", "merged"],
    "NAPL": [info["napl"], info["napl"]],
    "weight layers": [weight_layers(net), weight_layers(merged)],
    "parameters": [parameter_count(net) - sum(a.alpha.numel() for a in prelus(net)), parameter_count(merged)
                   - sum(a.alpha.numel() for a in prelus(merged))],
    "largest kernel": [max(m.kernel_size[0] for m in net.modules() if isinstance(m, torch.nn.Conv2d)),
                       max(m.kernel_size[0] for m in merged.modules() if isinstance(m, torch.nn.Conv2d))],
}), display=False)

# %% [markdown]
# ```{glue:figure} tab-linearization-merged
# :name: "tab-linearization-merged"
#
# The layer-wise-linearized net of lowest NAPL (first post-training seed) before and after fusing its linear runs of
# convolutions: NAPL, number of weight layers, parameters (without the PReLU slopes) and the largest
# convolution kernel.
# ```

# %% tags=["hide-input"]
print(f"Relative difference of the logits, merged against unmerged, on {len(x)} real test images: {full_error:.2e} "
      f"(the zero-padding rim; the interior is exact to float precision, tests/test_merge.py).")

# %% [markdown]
# ## Verdict

# %% tags=["hide-input"]
lines, gap_text, verdict = gap_verdict(gaps)
print("\n".join(lines))
print(f"Verdict at this budget: {verdict}. Budget: {settings['start_model']} {settings['start_args']}, "
      f"{settings['dataset']}, {settings['epochs']} + {settings['post_epochs']} epoch(s), seeds {settings['seeds']}, "
      f"{compute_used([start, *records])}.")
print("Paper (RepVGG-A2): CIFAR-100, channel-wise higher at NAPL 3-5 with non-overlapping error bars; "
      "ImageNet, higher below NAPL 12, the gap growing as NAPL falls.")
glue("lin_gap_low_napl", gap_text, display=False)
glue("lin_verdict", verdict, display=False)
glue("lin_budget", linearization_budget_short(settings, start, records), display=False)
