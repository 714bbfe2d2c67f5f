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
# # Function space: Proposition 1 and parameter counts
#
# *ResNets Are Deeper Than You Think* {cite}`mehmeti2025deeper` argues that a residual network
# is not a reparameterization of a feedforward network of the same width and depth. Its
# Proposition 1 gives the feasible construction: a residual layer $R(x) = \phi(\bar W x + \bar b) + x$
# equals a feedforward layer of **double width** followed by one more affine map,
#
# $$ g_\varepsilon(x) = \Big[I,\ \tfrac{1}{\varepsilon\,\phi'(\beta)} I\Big]\,
#    \phi\!\left(\begin{bmatrix}\bar W \\ \varepsilon I\end{bmatrix} x + \begin{bmatrix}\bar b \\ \beta \mathbf 1\end{bmatrix}\right)
#    - \tfrac{\phi(\beta)}{\varepsilon\,\phi'(\beta)}, $$
#
# exact only as $\varepsilon \to 0$: the second half carries $x$ through the nonlinearity by a
# Taylor step at the offset $\beta$, with error $O(\varepsilon)$ (or $O(\varepsilon^2)$ where
# $\phi''(\beta) = 0$). For ReLU with $\beta > 0$ the second half is *exactly* linear as soon as
# $\varepsilon x_i + \beta \ge 0$ for every coordinate, i.e. for $\varepsilon \le \beta / \max_i(-x_i)$:
# exact, but only on a bounded input set. `resdepth.function_space` builds $g_\varepsilon$.
#
# The second half of the chapter checks the paper's control for parameter count: channel-wise
# linearization adds one slope per channel instead of one per layer, about 0.03% more parameters
# on RepVGG-A2.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
dim = None  # width of the residual layer (inputs are real images, average-pooled to dim pixels)
seeds = None
eps_min = None
eps_points = None

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
import torch.nn.functional as F
from myst_nb import glue

from resdepth import profiles
from resdepth.data import sample_test_batch
from resdepth.function_space import ResidualLayer, feedforward_error, parameter_counts
from resdepth.models import build_model

settings = profiles.resolve("function_space", profile, dim=dim, seeds=seeds, eps_min=eps_min, eps_points=eps_points)
sns.set_theme(context="notebook", style="whitegrid")
if profile == "smoke":
    print("SMOKE PROFILE: these numbers only exercise the code on the small committed sample. They are not results.")
side = int(round(settings["dim"] ** 0.5))
images, _ = sample_test_batch(settings["images"], dtype=torch.float64)
x = F.adaptive_avg_pool2d(images, side).flatten(1)  # real Fashion-MNIST test images as dim-vectors
eps_grid = np.logspace(np.log10(settings["eps_min"]), np.log10(settings["eps_max"]), settings["eps_points"])
print(f"Budget: no training. Residual layers of width {x.shape[1]} at PyTorch's default init, float64, seeds "
      f"{settings['seeds']}, on {len(x)} real Fashion-MNIST test images (committed sample), "
      f"{len(eps_grid)} values of ε in [{settings['eps_min']:g}, {settings['eps_max']:g}].")

# %% [markdown]
# ## Error of the double-width feedforward layer against ε
#
# Relative error $\max |g_\varepsilon(x) - R(x)| / \max |R(x)|$ over the images, mean over seeds.
# ReLU uses the offset $\beta = 1$, tanh and GELU $\beta = 0$ (where their slope is 1 and 1/2):
# {numref}`fig-function-space-error`.

# %% tags=["hide-input"]
cases = {"ReLU, β=1": ("relu", 1.0), "tanh, β=0": ("tanh", 0.0), "GELU, β=0": ("gelu", 0.0)}
rows = []
for seed in settings["seeds"]:
    for label, (activation, offset) in cases.items():
        torch.manual_seed(seed)
        block = ResidualLayer(x.shape[1], activation).double()
        for eps in eps_grid:
            rows.append({"activation": label, "seed": seed, "ε": eps,
                         "error": feedforward_error(block, x, float(eps), offset)})
errors = pd.DataFrame(rows)
relu_bound = 1.0 / float((-x).max())
fig, ax = plt.subplots(figsize=(8, 4.5))
sns.lineplot(data=errors, x="ε", y="error", hue="activation", marker="o", errorbar=None, ax=ax)
ax.axvline(relu_bound, ls="--", color="C0", lw=1, label=f"ReLU exact below ε = β / max(−x) = {relu_bound:.3f}")
ax.set(xscale="log", yscale="log", ylabel="relative error of g_ε", title="Proposition 1: R(x) as a double-width layer")
ax.legend(fontsize="small")
plt.tight_layout()
glue("fig-function-space-error", fig, display=False)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} fig-function-space-error
# :name: "fig-function-space-error"
#
# Relative error of the double-width feedforward layer $g_\varepsilon$ against the residual layer
# $R$, $\max|g_\varepsilon(x) - R(x)| / \max|R(x)|$ over the images, against ε, log-log, for ReLU
# (β = 1), tanh and GELU (β = 0), mean over seeds; the dashed line marks where ReLU becomes exact.
# ```

# %% tags=["hide-input"]
smooth = errors[(errors["ε"] <= 0.1) & ~errors["activation"].str.startswith("ReLU")]
slopes = {a: np.polyfit(np.log(g.groupby("ε")["error"].mean().index), np.log(g.groupby("ε")["error"].mean()), 1)[0]
          for a, g in smooth.groupby("activation")}
relu_exact = errors[(errors["activation"].str.startswith("ReLU")) & (errors["ε"] <= relu_bound)]["error"].max()
relu_inexact = errors[(errors["activation"].str.startswith("ReLU")) & (errors["ε"] > relu_bound)]["error"].min()
for a, s in slopes.items():
    print(f"{a}: error ∝ ε^{s:.2f} for ε ≤ 0.1")
print(f"ReLU, β=1: largest error for ε ≤ {relu_bound:.3f}: {relu_exact:.1e} (float rounding); smallest above: "
      f"{relu_inexact:.1e}.")

# %% [markdown]
# ## Parameter counts: channel-wise against layer-wise
#
# Each net is fused to its plain form where it has one (RepVGG) and then given PReLUs at both
# granularities. The difference is only the slopes: one per channel against one per layer
# ({numref}`tab-function-space-params`).

# %% tags=["hide-input"]
nets = {
    "RepVGG-A2, CIFAR-100 (paper)": (lambda: build_model("repvgg_a2", 3, 100).reparameterize(), 3),
    "RepVGG-A0, CIFAR-100": (lambda: build_model("repvgg_a0", 3, 100).reparameterize(), 3),
    "RepVGG-A0 ×0.25, Fashion-MNIST (this book)": (
        lambda: build_model("repvgg_a0", 1, 10, width_scale=0.25).reparameterize(), 1),
    "ResNet-56, CIFAR-100": (lambda: build_model("resnet56", 3, 100), 3),
    "ResNet-20, Fashion-MNIST (this book)": (lambda: build_model("resnet20", 1, 10), 1),
}
rows = []
for name, (build, channels) in nets.items():
    counts = parameter_counts(build, torch.zeros(1, channels, 32, 32))
    rows.append({"net": name, "weights": counts["weights"], "slopes (channel-wise)": counts["slopes_channel"],
                 "slopes (layer-wise)": counts["slopes_layer"], "extra parameters (%)": round(counts["overhead_pct"], 4)})
param_table = pd.DataFrame(rows)
glue("tab-function-space-params", param_table, display=False)

# %% [markdown]
# ```{glue:figure} tab-function-space-params
# :name: "tab-function-space-params"
#
# Parameter counts of the fused nets: weights, PReLU slopes added by channel-wise and by layer-wise
# linearization, and the extra parameters of channel-wise over layer-wise, in percent.
# ```

# %% [markdown]
# ## Verdict

# %% tags=["hide-input"]
a2 = param_table.iloc[0]["extra parameters (%)"]
param_verdict = "reproduced" if abs(a2 - 0.03) < 0.005 else "not reproduced"
print(f"Channel-wise linearization of RepVGG-A2 adds {a2:.4f}% parameters (paper: about 0.03%): {param_verdict}.")
decreasing = all(s > 0.5 for s in slopes.values())
prop1 = "reproduced" if decreasing and relu_exact < 1e-9 < relu_inexact else "not reproduced"
print(f"Proposition 1: the double-width layer matches R(x) only in the limit (smooth activations: error "
      f"falls as ε^{min(slopes.values()):.2f}–ε^{max(slopes.values()):.2f}), and ReLU with an offset is exact only on a "
      f"bounded input set: {prop1}.")
glue("param_overhead_pct", f"{a2:.4f}%", display=False)
glue("prop1_verdict", prop1, display=False)
glue("param_verdict", param_verdict, display=False)
glue("fs_budget", f"no training; parameter counts of the built nets; Proposition 1 on {len(x)} real test images, "
     f"{len(settings['seeds'])} seeds", display=False)
