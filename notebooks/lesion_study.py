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
# # Trained towers across λ: lesions and first-order complexity
#
# Veit et al. {cite}`veit2016residual` deleted single blocks of trained ResNets at test time and
# saw the error barely move, where deleting a layer of a plain network was fatal. They read it as
# evidence that a ResNet behaves like an ensemble of many shallow paths. Dherin & Munn
# {cite:p}`dherin2025depth` cite that reading as the intuition their Residual Expansion Theorem
# makes exact. Neither paper runs a lesion study on its own towers, so this chapter does.
#
# We take the trained towers of the {doc}`λ sweep </notebooks/lambda_sweep>`, with $n = 16$ blocks.
# From each we delete $k = 1, 2, 4, 8$ blocks at random, over several draws. Deleting block $i$
# replaces $z \leftarrow z + \lambda F_i(z)$ by $z \leftarrow z$. That removes exactly the paths
# through block $i$. Beside each measurement we put the expansion's prediction: the tower's
# second-order expansion $M_0 + \lambda M_{1,K} + \lambda^2 M_{2,K}$, restricted to the paths whose
# blocks are all in the kept set $K$ (`resdepth.lesion`).
#
# **What would support the ensemble reading.** We wrote this down on 2026-12-03, before the towers
# were trained. At $\lambda = 1/\sqrt{n}$, deleting one block must cost less than 5 points: the upper
# end of a 95 % interval over seeds. Deleting 8 of 16 blocks must keep at least half of the margin
# over chance. The expansion's surviving paths must predict the lesioned accuracy within 5 points.
# A one-block cost above 20 points (the lower end of its interval) would instead show a monolithic
# deep net. The smaller λ are shown beside it. There the branches are small, so a graceful
# degradation says little.
#
# **Corollary B.0.1 at the trained weights.** The same towers also answer a question the paper
# leaves at initialisation. Its Corollary B.0.1 writes the geometric complexity as
# $\langle M_0, D\rangle_G + 2\lambda\,\overline{\mathrm{Tr}(A^\top B)} + O(\lambda^2)$, and reads
# Figure 2 (right), where complexity falls as λ grows, through a negative cross term. We wrote down,
# also before training, that the claim is supported when the coefficient
# $2\,\overline{\mathrm{Tr}(A^\top B)}$ of the trained towers is negative, by a t-test over seeds,
# at every λ where their measured complexity falls with λ.

# %% tags=["parameters"]
import os

profile = os.environ.get("RESDEPTH_PROFILE", "book")  # "smoke" | "book" | "paper"
ks = None  # numbers of blocks deleted at once, e.g. [1, 2, 4, 8]
draws = None  # random deletion sets per tower and k
images = None  # test images used (the same for every deletion)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import seaborn as sns

from resdepth.book import setup, show, show_text, show_verdicts
from resdepth.experiments import lesion_study

settings, store = setup(lesion_study.NAME, profile, ks=ks, draws=draws, images=images)
results = lesion_study.run(settings, store)

# %% tags=["hide-input"]
show_text(f"Budget: {results['budget']}.")
if results["missing"]:
    show_text(f"{len(results['missing'])} towers of the λ sweep ({settings['sweep_budget']}) are not stored yet; "
          f"they are trained by `python -m resdepth sweep lambda_sweep --budget {settings['sweep_budget']}`.")

# %% [markdown]
# ## Accuracy against the number of deleted blocks
#
# {numref}`fig-lesion-curves` shows the measured test accuracy (solid) and the expansion's prediction
# (dashed) against $k$, one colour per λ. Each point is the mean over seeds of the mean over draws,
# with ±1 standard error over seeds. The point at $k = 0$ is the intact tower.

# %% tags=["hide-input", "remove-output"]
lesions = results["lesions"]
fig, (ax_acc, ax_share) = plt.subplots(1, 2, figsize=(12, 5.5))
if len(lesions):
    per_seed = lesions.groupby(["λ", "lam", "seed", "k"], as_index=False)[["test_acc", "predicted_acc",
                                                                          "path_share"]].mean()
    order = per_seed.sort_values("lam")["λ"].unique()
    palette = dict(zip(order, sns.color_palette("viridis", len(order))))
    sns.lineplot(data=per_seed, x="k", y="test_acc", hue="λ", hue_order=order, palette=palette, marker="o",
                 errorbar=("se", 1), ax=ax_acc)
    sns.lineplot(data=per_seed, x="k", y="predicted_acc", hue="λ", hue_order=order, palette=palette,
                 linestyle="--", errorbar=None, ax=ax_acc, legend=False)
    sns.lineplot(data=per_seed, x="k", y="path_share", hue="λ", hue_order=order, palette=palette, marker="o",
                 errorbar=("se", 1), ax=ax_share, legend=False)
    handles, labels = ax_acc.get_legend_handles_labels()
    ax_acc.get_legend().remove()
    fig.legend(handles, labels, title="λ (solid: measured, dashed: the expansion's prediction)", fontsize=9,
               loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, 0))
else:
    for ax in (ax_acc, ax_share):
        ax.text(0.5, 0.5, "no stored towers yet", ha="center", va="center", transform=ax.transAxes)
ax_acc.set(xlabel="blocks deleted k", ylabel="test accuracy", title="Measured and predicted accuracy")
ax_share.set(xlabel="blocks deleted k", ylabel="share of path mass kept", title="Path mass surviving")
fig.tight_layout(rect=(0, 0.16, 1, 1))
show("fig-lesion-curves", fig)

# %% [markdown]
# ```{glue:figure} fig-lesion-curves
# :name: "fig-lesion-curves"
#
# Left: test accuracy of the λ-sweep towers with $k$ of their 16 blocks deleted at random (solid,
# mean over seeds of the mean over draws, ±1 s.e. over seeds), and the accuracy of the second-order
# expansion restricted to the surviving paths (dashed). Right: the share of the expansion's path
# mass that survives, $\|M_0\| + \lambda\sum_{i\in K}\|WF_i\| + \lambda^2\sum_{i<j\in K}\|WF_j'F_i\|$
# over the same sum for all blocks.
# ```

# %% tags=["hide-input", "remove-output"]
summary = results["summary"]
if len(summary):
    table = summary.assign(**{c: (100 * summary[c]).round(2) for c in ("intact_acc", "test_acc", "predicted_acc",
                                                                        "drop", "drop_se")})
    table = table.rename(columns={"intact_acc": "intact (%)", "test_acc": "lesioned (%)",
                                  "predicted_acc": "expansion (%)", "drop": "drop (points)",
                                  "drop_se": "± s.e.", "path_share": "path share"}).drop(columns="lam")
    show("tab-lesion-summary", table.round(3).set_index(["λ", "k"]))
else:
    show("tab-lesion-summary", summary)

# %% [markdown]
# ```{glue:figure} tab-lesion-summary
# :name: "tab-lesion-summary"
#
# Per λ and number of deleted blocks $k$: the intact and the lesioned test accuracy, the
# expansion's prediction, the drop with its standard error over seeds, and the surviving share of
# path mass (means over seeds of the means over draws).
# ```

# %% [markdown]
# ## Corollary B.0.1 at the trained weights
#
# {numref}`fig-lesion-first-order` shows, for each trained tower, the exact geometric complexity and
# its first-order value $\langle M_0, D\rangle_G + \lambda \cdot 2\,\overline{\mathrm{Tr}(A^\top B)}$
# (left), and the coefficient $2\,\overline{\mathrm{Tr}(A^\top B)}$ itself (right), against λ.

# %% tags=["hide-input", "remove-output"]
complexity = results["complexity"]
fig, (ax_gc, ax_coef) = plt.subplots(1, 2, figsize=(12, 4.5))
if len(complexity):
    order_gc = complexity.sort_values("lam")["λ"].unique()
    long = complexity.melt(id_vars=["λ", "seed"], value_vars=["exact", "first_order"], var_name="value",
                           value_name="complexity").replace({"first_order": "first order"})
    sns.pointplot(data=long, x="λ", y="complexity", hue="value", order=order_gc, errorbar=("se", 1), ax=ax_gc)
    sns.pointplot(data=complexity, x="λ", y="coefficient", order=order_gc, errorbar=("se", 1), ax=ax_coef)
    ax_coef.axhline(0, color="grey", lw=1)
    for ax in (ax_gc, ax_coef):
        ax.tick_params(axis="x", rotation=45)
else:
    for ax in (ax_gc, ax_coef):
        ax.text(0.5, 0.5, "no stored towers yet", ha="center", va="center", transform=ax.transAxes)
ax_gc.set(ylabel="geometric complexity", title="Exact and first order, trained towers")
ax_coef.set(ylabel="2·mean Tr(AᵀB)", title="First-order coefficient")
plt.tight_layout()
show("fig-lesion-first-order", fig)

# %% [markdown]
# ```{glue:figure} fig-lesion-first-order
# :name: "fig-lesion-first-order"
#
# Corollary B.0.1 on the trained λ-sweep towers, on the first test images of the budget. Left: the
# exact geometric complexity and its first-order value. Right: the first-order coefficient
# $2\,\overline{\mathrm{Tr}(A^\top B)}$, which must be negative where the complexity falls with λ
# for the paper's reading to hold. Means over seeds with ±1 standard error.
# ```

# %% [markdown]
# ## Verdict

# %% tags=["hide-input", "remove-output"]
show_verdicts(lesion_study.verdicts(results, settings), "tab-lesion-verdicts")

# %% [markdown]
# ```{glue:figure} tab-lesion-verdicts
# :name: "tab-lesion-verdicts"
#
# The claims, our numbers, the verdicts, the rules and the statistics that decided them.
# ```
#
# The first rule, in words. The trained towers' mean exact complexity peaks at some λ; past the
# peak it falls. At every λ past the peak the coefficient must be negative, with a 95 % interval
# over seeds below zero, for the claim to be supported; positive at every such λ counts against it.
# Anything else, a single seed, or no fall within the trained range leaves it undecided. Without a
# tower at $\lambda = 1/\sqrt{n}$ it can be supported only in part.
#
# The second rule, in words. It is judged at $\lambda = 1/\sqrt{n}$, or at the largest smaller λ that
# trained; then it can be supported only in part. Deleting one block must cost less than 5 points,
# with the whole 95 % interval over seeds below that. At the largest $k$ the tower must keep half of
# its margin over chance. Together these make a graceful loss. If the expansion's surviving paths
# also predict the lesioned accuracy within 5 points on average, the claim is supported. A graceful
# loss that the expansion does not predict supports it in part: the tower behaves like an ensemble,
# but not like a second-order one. A one-block cost whose interval lies wholly above 20 points
# counts against the claim. Anything else leaves it undecided.
