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
# # Ablation: starting from a network that already has skips
#
# If the channel-wise advantage of the previous chapter comes from the *shape* of the paths
# (variable against fixed depth), it should shrink when the start network is already residual:
# a ResNet {cite}`he2016deep` has short paths through its skips whatever is linearized, so
# layer-wise linearization no longer forces every path to one length. *ResNets Are Deeper Than
# You Think* {cite}`mehmeti2025deeper` reports exactly this for ResNet-56: the gap between
# channel-wise and layer-wise linearization nearly vanishes above NAPL 4.
#
# The procedure is the one of the previous chapter (`resdepth.linearize.post_train` over an ω grid,
# both granularities), only the start network changes. The NAPL of a ResNet comes from the same
# graph walk: at each residual add the walk takes the skip or the branch with probability 1/2.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
dataset = None
start_model = None  # "resnet56" in the paper profile; "resnet20" or "plain20"/"plain56" also work
omegas = None  # {"channel": [...], "layer": [...]}
seeds = None  # post-training seeds
epochs = None  # training epochs of the start network
post_epochs = None

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import seaborn as sns
from myst_nb import glue

from resdepth import profiles
from resdepth.analysis import gap_table, gap_verdict, linearization_runs, matched_napl_gaps
from resdepth.grids import linearization_budget, linearization_budget_short, linearization_configs, linearization_start_config, run_linearization_study
from resdepth.linearize import linearized_architecture
from resdepth.pathlength import napl
from resdepth.plots import accuracy_vs_napl
from resdepth.results import compute_used, load_result

settings = profiles.resolve("resnet56_ablation", profile, dataset=dataset, start_model=start_model, omegas=omegas,
                            seeds=seeds, epochs=epochs, post_epochs=post_epochs)
sns.set_theme(context="notebook", style="whitegrid")
if profile == "smoke":
    print("SMOKE PROFILE: these numbers only exercise the code on the small committed sample. They are not results.")

start_cfg, start, records = run_linearization_study(settings, "resnet56_ablation", profile)
runs = linearization_runs(records)
print(linearization_budget(settings, start, records))

# %% [markdown]
# ## Accuracy against NAPL, from a residual start
#
# {numref}`fig-resnet-napl`, left: this chapter's start network. Right: the plain RepVGG of the
# previous chapter, read from the results store at the same profile (shown only if its runs are
# stored).

# %% tags=["hide-input"]
plain_settings = profiles.resolve("linearization_napl", profile)
plain_start_cfg = linearization_start_config(plain_settings, "linearization_napl")
plain_start = load_result(plain_start_cfg, profile=profile)
plain_records = [load_result(c, profile=profile) for c in linearization_configs(plain_settings, plain_start_cfg)]
plain_available = plain_start is not None and all(r is not None for r in plain_records)

fig, axes = plt.subplots(1, 2 if plain_available else 1, figsize=(14 if plain_available else 8, 4.5), squeeze=False)
full_napl = napl(linearized_architecture(records[0]))  # every unit nonlinear: the start network
accuracy_vs_napl(axes[0, 0], runs, start["final"]["test_acc"], full_napl,
                 f"{settings['start_model']} (skips) on {settings['dataset']}")
if plain_available:
    plain_runs = linearization_runs(plain_records)
    plain_napl = napl(linearized_architecture(plain_records[0]))
    accuracy_vs_napl(axes[0, 1], plain_runs, plain_start["final"]["test_acc"], plain_napl,
                     f"{plain_settings['start_model']} (plain) on {plain_settings['dataset']}")
plt.tight_layout()
glue("fig-resnet-napl", fig, display=False)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} fig-resnet-napl
# :name: "fig-resnet-napl"
#
# Final test accuracy against final NAPL after channel-wise and layer-wise linearization, one point
# per ω, means over post-training seeds with ±1 standard error in both directions; dashed: the start
# network's accuracy. Left: from the residual start network; right (when stored): from the plain
# RepVGG. The budget is printed above.
# ```

# %% [markdown]
# ## The gap at matched NAPL
#
# Same rule as before: at each layer-wise NAPL, the channel-wise accuracy of the same seed is
# interpolated in NAPL; the gap is channel-wise minus layer-wise, in points, mean ± s.e. over seeds
# ({numref}`tab-resnet-gaps`).

# %% tags=["hide-input"]
gaps = matched_napl_gaps(runs)
glue("tab-resnet-gaps", gap_table(gaps), display=False)

# %% [markdown]
# ```{glue:figure} tab-resnet-gaps
# :name: "tab-resnet-gaps"
#
# From the residual start network: channel-wise against layer-wise test accuracy at each matched
# NAPL (%, mean ± standard error over seeds), the gap in points, the number of seeds, and whether the
# gap lies outside twice its standard error.
# ```

# %% tags=["hide-input"]
lines, gap_text, verdict_gap = gap_verdict(gaps)
print(f"From {settings['start_model']}:")
print("\n".join(lines))
mean_gap = gaps["gap"].mean() if len(gaps) else float("nan")
if plain_available:
    plain_gaps = matched_napl_gaps(plain_runs)
    plain_mean_gap = plain_gaps["gap"].mean() if len(plain_gaps) else float("nan")
    print(f"Mean gap over matched NAPLs: {100 * mean_gap:+.2f} points from {settings['start_model']}, "
          f"{100 * plain_mean_gap:+.2f} points from {plain_settings['start_model']}.")
    shrinks = abs(mean_gap) < abs(plain_mean_gap)
    verdict = ("reproduced" if shrinks and plain_mean_gap > 0 else
               "not reproduced" if not shrinks else "partly reproduced (smaller, but the plain gap is not positive)")
else:
    verdict = "not run (the plain start network's runs are not stored at this profile)"
if verdict == "reproduced" and len(settings["seeds"]) < 2:
    verdict = "partly reproduced (the gap shrinks, but on one post-training seed, so without error bars)"

# %% [markdown]
# ## Verdict
#
# The paper's claim: starting from a ResNet, the channel-wise advantage largely disappears
# (nearly none above NAPL 4), because the skips already supply short paths.

# %% tags=["hide-input"]
print(f"Verdict at this budget: the gap shrinks with a residual start: {verdict}. Budget: {settings['start_model']} on "
      f"{settings['dataset']}, {settings['epochs']} + {settings['post_epochs']} epoch(s), seeds {settings['seeds']}, "
      f"{compute_used([start, *records])}.")
if settings["start_model"] != "resnet56":
    print(f"Note: the paper starts from ResNet-56; this profile uses {settings['start_model']} (same design, "
          f"fewer blocks) to fit its budget.")
glue("resnet_gap", f"{100 * mean_gap:+.2f} points (mean over matched NAPLs)", display=False)
glue("resnet_verdict", verdict, display=False)
glue("resnet_budget", linearization_budget_short(settings, start, records), display=False)
