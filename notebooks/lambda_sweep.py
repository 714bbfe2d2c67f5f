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
# # λ as capacity control: Figures 1 and 2
#
# Dherin & Munn {cite:p}`dherin2025depth` train a tower of $n = 16$ blocks for a sweep of branch scales
# $\lambda \in \{0, n^{-2}, n^{-1.5}, n^{-1.2}, n^{-1}, n^{-0.8}, n^{-0.5}, n^{-0.4}, n^{-0.3}, 1\}$
# (their list prints "n" where $n^{-1}$ is meant) at learning rate 0.3, on CIFAR-10
# {cite:p}`krizhevsky2009learning`; this book trains on Fashion-MNIST {cite:p}`xiao2017fashion`.
# Their claims:
#
# - **Figure 1**: at $\lambda = 0$ the net is the base model $M_0$ and underfits; larger
#   $\lambda$ fits the training data better. Every $\lambda > 1/\sqrt{n}$ diverged.
# - **Figure 2, left**: the maximum test accuracy increases with $\lambda$.
# - **Figure 2, right**: the geometric complexity at the step of maximum test accuracy first
#   rises with $\lambda$, then falls: larger $\lambda$ gives simpler functions.
#
# The geometric complexity {cite:p}`dherin2022geometric`
# $\langle f, D\rangle_G = \frac{1}{|D|}\sum_x \|\nabla_x f(x)\|_F^2$ is
# computed exactly (one vector-Jacobian product per class) on a fixed set of test images at every
# evaluation during training.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
dataset = None
depth = None
width = None
epochs = None
steps = None
lams = None  # rule strings, e.g. ["0", "n^-1", "n^-0.5", "1"]
seeds = None
lr = None

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from myst_nb import glue

from resdepth import profiles
from resdepth.grids import lambda_sweep_configs
from resdepth.models import resolve_lam
from resdepth.results import compute_used, history_frame, run_length, sweep

settings = profiles.resolve("lambda_sweep", profile, dataset=dataset, depth=depth, width=width, epochs=epochs,
                            steps=steps, lams=lams, seeds=seeds, lr=lr)
sns.set_theme(context="notebook", style="whitegrid")
if profile == "smoke":
    print("SMOKE PROFILE: these numbers only exercise the code on the small committed sample. They are not results.")

records = sweep(lambda_sweep_configs(settings), profile=profile)
n = settings["depth"]
history = history_frame(records)
history["λ"] = history["lam"]
order = list(settings["lams"])
budget = run_length(settings)
print(f"Budget: dataset {settings['dataset']}, tower n={n}, width {settings['width']}, {budget} per run, "
      f"batch {settings['batch_size']}, lr {settings['lr']},\n        seeds {settings['seeds']}, {len(records)} runs, "
      f"geometric complexity on {settings['gc_images']} test images, {compute_used(records)}.")

# %% [markdown]
# ## Figure 1: learning curves
#
# {numref}`fig-lambda-sweep-curves` shows the training loss (mean over the batches since the
# previous evaluation), the test accuracy and the geometric complexity, one line per λ, mean over
# seeds. Runs that diverged stop where the loss became non-finite.

# %% tags=["hide-input"]
palette = dict(zip(order, sns.color_palette("viridis", len(order))))
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for ax, metric, label in zip(axes, ["train_loss", "test_acc", "geometric_complexity"],
                             ["training loss", "test accuracy", "geometric complexity"]):
    sns.lineplot(data=history, x="step", y=metric, hue="λ", hue_order=order, palette=palette, errorbar=None, ax=ax,
                 legend=ax is axes[-1])
    ax.set(ylabel=label)
axes[2].set_yscale("log")
axes[2].legend(title="λ", bbox_to_anchor=(1.02, 1), loc="upper left")
plt.tight_layout()
glue("fig-lambda-sweep-curves", fig, display=False)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} fig-lambda-sweep-curves
# :name: "fig-lambda-sweep-curves"
#
# Figure 1 of Dherin & Munn at our budget (printed above): training loss, test accuracy and
# geometric complexity (log scale) against the training step, one line per λ, mean over seeds
# without error bars.
# ```

# %% [markdown]
# ## Figure 2: maximum test accuracy, and complexity at that step
#
# {numref}`fig-lambda-sweep-best` plots both against λ; {numref}`tab-lambda-sweep-summary` gives the
# numbers, with the count of diverged runs.

# %% tags=["hide-input"]
rows = []
for r in records:
    rule = r["config"]["model_args"]["lam"]
    row = {"λ": rule, "lam": resolve_lam(rule, n), "seed": r["config"]["seed"], "status": r["status"]}
    if r["status"] == "ok":
        best = r["best"]
        row.update(max_test_acc=best["test_acc"], gc_at_best=best["geometric_complexity"], step_of_best=best["step"])
    rows.append(row)
per_run = pd.DataFrame(rows)
ok = per_run[per_run["status"] == "ok"]
fig, (ax_acc, ax_gc) = plt.subplots(1, 2, figsize=(12, 4))
sns.pointplot(data=ok, x="λ", y="max_test_acc", order=order, errorbar=("se", 1), ax=ax_acc)
sns.pointplot(data=ok, x="λ", y="gc_at_best", order=order, errorbar=("se", 1), ax=ax_gc)
ax_acc.set(ylabel="max test accuracy", title="Figure 2 (left)")
ax_gc.set(ylabel="geometric complexity at max test acc.", yscale="log", title="Figure 2 (right)")
for ax in (ax_acc, ax_gc):
    ax.tick_params(axis="x", rotation=45)
plt.tight_layout()
glue("fig-lambda-sweep-best", fig, display=False)
plt.close(fig)
summary = per_run.groupby("λ", sort=False).agg(
    lam=("lam", "first"), runs=("seed", "size"), diverged=("status", lambda s: int((s == "diverged").sum())),
    max_test_acc=("max_test_acc", "mean"), se=("max_test_acc", "sem"), gc_at_best=("gc_at_best", "mean"))
glue("tab-lambda-sweep-summary", summary.reindex(order).round(4), display=False)

# %% [markdown]
# ```{glue:figure} fig-lambda-sweep-best
# :name: "fig-lambda-sweep-best"
#
# Figure 2 of Dherin & Munn at our budget. Left: each run's maximum test accuracy against λ. Right:
# the geometric complexity (log scale) at the step of that maximum. Means over the seeds that did not
# diverge, with ±1 standard error.
# ```
#
# ```{glue:figure} tab-lambda-sweep-summary
# :name: "tab-lambda-sweep-summary"
#
# Per λ rule: its value at this depth n, the number of runs and of diverged runs, and over the runs that
# trained the mean maximum test accuracy, its standard error and the mean geometric complexity at
# that step.
# ```

# %% [markdown]
# ## Verdict

# %% tags=["hide-input"]
diverged = summary[summary["diverged"] > 0].index.tolist()
trained = summary[summary["diverged"] == 0].sort_values("lam")
rank = trained["max_test_acc"].rank().corr(trained["lam"].rank())
final_loss = history[history["status"] == "ok"].sort_values("step").groupby("λ")["train_loss"].last()
underfit = final_loss.idxmax() == order[0] if order[0] in final_loss.index else False
gc = trained["gc_at_best"]
peak = gc.idxmax()
rises_then_falls = peak not in (trained.index[0], trained.index[-1])
print(f"λ values that diverged: {diverged or 'none'} (paper: all λ > n^-0.5, i.e. n^-0.4, n^-0.3 and 1).")
print(f"λ = 0 has the highest final training loss: {underfit} (paper: the base model underfits).")
print(f"Rank correlation of max test accuracy with λ over the runs that trained: {rank:+.2f} (paper: increasing, +1).")
print(f"Geometric complexity at max test accuracy peaks at λ = {peak}; rises then falls: {rises_then_falls} (paper: yes).")
checks = [underfit, rank > 0.5, rises_then_falls, set(diverged) == {"n^-0.4", "n^-0.3", "1"} & set(order)]
verdict = "reproduced" if all(checks) else ("partly reproduced" if any(checks) else "not reproduced")
print(f"Verdict at this budget: {verdict} ({sum(checks)} of {len(checks)} checks), on {settings['dataset']}, "
      f"width {settings['width']}, {budget} per run.")

# %% tags=["remove-cell"]
# Values for the reproduction report (book/reproduction_report.md), computed above.
glue("sweep_diverged", ", ".join(diverged) if diverged else "none", display=False)
glue("sweep_diverged_verdict", "reproduced" if checks[3] else "not reproduced", display=False)
glue("sweep_underfit", "yes" if underfit else "no", display=False)
glue("sweep_underfit_verdict", "reproduced" if underfit else "not reproduced", display=False)
glue("sweep_rank", float(rank), display=False)
glue("sweep_rank_verdict", "reproduced" if checks[1] else "not reproduced", display=False)
glue("sweep_gc_peak", str(peak), display=False)
glue("sweep_gc_verdict", "reproduced" if rises_then_falls else "not reproduced", display=False)
glue("sweep_verdict", verdict, display=False)
hours = sum(r["provenance"]["wall_time_s"] for r in records) / 3600
devices = ", ".join(sorted({r["provenance"]["device"].split(" (")[0] for r in records}))
glue("sweep_budget", f"{settings['dataset']}; n = {n}, width {settings['width']}; {budget}; "
     f"{len(order)} λ × {len(settings['seeds'])} seeds; {hours:.1f} h on {devices}", display=False)
