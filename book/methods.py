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
# # Methods and budget
#
# This page is generated from the results store each time the book is built: every table below is
# computed from the JSON files in `data/results/<experiment>/` (one per training run, named by the
# hash of its configuration) and from the budgets of the experiment modules in
# `src/resdepth/experiments/`. Nothing on it is
# typed by hand, so it cannot fall out of step with the runs the chapters show.
#
# ## Data and preprocessing
#
# - **Fashion-MNIST** {cite:p}`xiao2017fashion` (the book's default): 60,000 training and 10,000
#   test grey-scale images of 28×28 pixels, zero-padded to 32×32 so that the models see the input
#   size of CIFAR. Read from Debian's `dataset-fashion-mnist` package when installed.
# - **CIFAR-10 and CIFAR-100** {cite:p}`krizhevsky2009learning` (the papers' datasets, used by the
#   `paper` profile): 32×32 colour images, 50,000 for training and 10,000 for testing.
# - **ImageNet** (Part II of the papers' setting): an ImageFolder tree, resized to 64×64.
# - **The sample** in `data/sample/`: 2,000 training and 1,000 test Fashion-MNIST images,
#   class-balanced, for the tests, the `smoke` profile and the analyses at initialisation.
#
# Every image is normalized per channel with the training set's mean and standard deviation.
# Training batches are augmented as in the papers: zero-padding by 4 pixels, a random 32×32 crop
# and a random horizontal flip; test images are not augmented.
#
# ## Models and training
#
# - **Residual tower** of Dherin & Munn {cite:p}`dherin2025depth` (Appendix A): an encoder and a
#   decoder as in ResNet {cite:p}`he2016deep`, and between them $n$ blocks $x + \lambda F(x)$ with
#   $F = \mathrm{Conv}_{3\times3} \circ \mathrm{ReLU} \circ \mathrm{Conv}_{3\times3}$ at constant
#   width and stride 1, with or without BatchNorm in $F$.
# - **ResNet-56 and its plain twin** {cite:p}`he2016deep`, and **RepVGG-A0/A1/A2**
#   {cite:p}`ding2021repvgg`, for Part II {cite:p}`mehmeti2025deeper`.
#
# Training runs use SGD with momentum 0.9 and the cross-entropy loss. Post-training linearization
# (Part II) uses AdamW instead, with the slopes at their own learning rate and the L0.5 penalty
# added to the loss: the fused, BatchNorm-free RepVGG diverges under SGD at lr 0.01. The learning
# rate, schedule, batch size and length of each run are in the budgets and the run list below.

# %% tags=["remove-input"]
import importlib.metadata
import math
import platform

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from resdepth.book import readable_table
from resdepth.experiments import EXPERIMENTS, sweep_configs
from resdepth.jobs import git_commit
from resdepth.files import REPO_ROOT
from resdepth.plan import gpu_hours, timed_gpu_hours
from resdepth.results import compute_used
from resdepth.store import Store, launcher

pd.set_option("display.max_rows", 500)
pd.set_option("display.max_colwidth", 80)

records = Store(profile="book").records()  # every results file, each re-hashed and checked on read


def describe_model(config):
    args = config["model_args"]
    if config["model"] == "tower":
        bn = "with BN" if args.get("batchnorm") else "without BN"
        return f"tower n={args.get('depth')}, width {args.get('width')}, λ={args.get('lam')}, {bn}"
    extra = ", ".join(f"{k}={v}" for k, v in sorted(args.items()))
    return config["model"] + (f" ({extra})" if extra else "")


runs = pd.DataFrame([
    {
        "experiment": r["config"]["experiment"],
        "run": r["key"],
        "model": describe_model(r["config"]),
        "dataset": r["config"]["dataset"],
        "length": f"{r['config']['epochs']} epoch(s)" if r["config"].get("epochs") else f"{r['config']['steps']} steps",
        "batch": r["config"]["batch_size"],
        "lr": r["config"]["lr"],
        "seed": r["config"]["seed"],
        "status": r["status"],
        "best test acc": r["best"]["test_acc"] if r.get("best") else float("nan"),
        "device": r["provenance"]["device"],
        "wall time (min)": r["provenance"]["wall_time_s"] / 60,
        "torch": r["provenance"]["torch"],
        "python": r["provenance"]["python"],
        "commit": (r["provenance"].get("git_commit") or "unknown")[:8],
        "src modified": bool(r["provenance"].get("git_dirty_src")),
        "launched by": launcher(r["provenance"].get("command", "")),
        "date": r["provenance"]["date"][:10],
    }
    for r in records
])
# which budget names each run: the book's, a next book budget being trained (book_v2, book_v3), or
# neither; a run two budgets share is named by the earlier
budget_of_run = {}
for name, module in EXPERIMENTS.items():
    for budget in ("book", "book_v2", "book_v3"):
        if budget in module.BUDGETS:
            for c in sweep_configs(name, "book", budget):
                budget_of_run.setdefault((c.experiment, c.key), budget)
runs["budget"] = [budget_of_run.get((e, k), "neither") for e, k in zip(runs["experiment"], runs["run"])]
all_records = records
display(Markdown(f"The store `data/results/` holds **{len(runs)} runs** in **{runs['experiment'].nunique()} "
                 f"experiments**: {compute_used(all_records)}."))
glue("methods_runs", len(runs), display=False)
glue("methods_compute", compute_used(all_records), display=False)

# %% [markdown]
# ## Runs and compute per experiment
#
# For each experiment: the datasets and models its runs used, how many runs finished or diverged,
# the training time summed over its runs ({numref}`tab-methods-experiments`), and the devices that
# ran them and the software and code versions recorded in the runs' provenance
# ({numref}`tab-methods-provenance`).

# %% tags=["remove-input"]
def joined(values):
    return ", ".join(sorted({str(v) for v in values}))


def training_hours(group):
    return round(group["wall time (min)"].sum() / 60, 2)


by_budget = runs.groupby(["experiment", "budget"])
glue("tab-methods-experiments", readable_table(pd.DataFrame({
    "datasets": by_budget["dataset"].agg(joined),
    "models": by_budget["model"].agg(lambda m: joined(m.str.split(",").str[0])),
    "runs": by_budget.size(),
    "finished": by_budget["status"].agg(lambda s: int((s == "ok").sum())),
    "diverged": by_budget["status"].agg(lambda s: int((s == "diverged").sum())),
    "training (h)": by_budget.apply(training_hours, include_groups=False),
})), display=False)
by_experiment = runs.groupby("experiment")
glue("tab-methods-provenance", readable_table(pd.DataFrame({
    "devices": by_experiment["device"].agg(lambda d: "; ".join(sorted(set(d)))),
    "torch": by_experiment["torch"].agg(joined),
    "python": by_experiment["python"].agg(joined),
    "commits": by_experiment["commit"].agg(lambda c: joined(c) if c.nunique() <= 3
                                           else f"{c.nunique()} commits: {', '.join(sorted(set(c))[:2])}, …"),
    "dates": by_experiment["date"].agg(lambda d: f"{d.min()} to {d.max()}" if d.min() != d.max() else d.min()),
    "launched by": by_experiment["launched by"].agg(lambda c: "; ".join(f"{k}: {v}" for k, v in c.value_counts().items())),
    "runs from modified src": by_experiment["src modified"].sum(),
})), display=False)

# %% [markdown]
# ```{glue:figure} tab-methods-experiments
# :name: "tab-methods-experiments"
#
# **What ran.** Runs per experiment and budget (`book`: what the chapter shows; `book_v2`,
# `book_v3`: its next budgets, written before their runs; `neither`: a run no budget names), how
# they ended, and the training time summed over the runs.
# ```
#
# ```{glue:figure} tab-methods-provenance
# :name: "tab-methods-provenance"
#
# **Where and with what.** The devices, software and code versions in the runs' provenance; how
# each experiment's runs were launched (the package's entry points, a chapter notebook, or a script
# outside the repository, which is named: such a script only ordered calls of
# `resdepth.results.sweep`, but it is not in the repository); and how many runs were trained from a
# `src/` with uncommitted changes (since 2026-12-03 such a run stores the difference in its
# provenance). Since 2026-12-04 the book's store takes only runs launched by the package's entry
# points (`resdepth.store.launcher`): any other launcher is refused before it trains.
# ```
#
# **Re-making a stored run.** A run is named by the hash of its config. On the CPU every run trains
# on one intra-op thread whichever executor runs it, since CPU results depend on the thread count
# (reductions split differently), and its provenance and checkpoints record that count. A run
# re-trained from its config with the same code, torch build, CPU and thread count is bit-identical
# to the stored one (`tests/test_remake.py`, `tests/test_executors.py`). Elsewhere the two
# trajectories drift apart, as any two chaotic ones do; `python -m resdepth remake --count N`
# re-trains a random sample of the stored runs in a scratch store and reports the largest drift of
# test accuracy, so that drift is measured, not assumed. Runs stored before 2026-12-03 were trained
# with whatever thread count their executor had; their provenance says which.

# %% [markdown]
# ## What the `paper` profile would need on a GPU
#
# {numref}`tab-methods-gpu-hours` gives two figures for each chapter. The first is counted from
# FLOPs: for every run of a chapter's `paper` profile, its SGD steps × batch × 3 forward passes of
# the model's FLOPs (`resdepth.plan.gpu_hours`; a multiply-add is 2 FLOPs, evaluations left out),
# divided by an H100's dense bf16 peak (989 TFLOP/s) at 30 % and at 10 % model-FLOPs utilisation.
# The second is timed. This project was lent one GPU, an NVIDIA H200, on 2026-12-04, for 15
# minutes of device time. That time went to these step times and to the checks and benchmarks in
# `benchmarks/README.md`; every stored run was trained on a CPU. On the H200, `benchmarks/cuda_check.py
# --only paper` timed a training step of every model shape of these runs, with CIFAR-shaped inputs,
# bf16 autocast and one run per GPU. A chapter's hours are then its steps × the seconds per step
# (`resdepth.plan.timed_gpu_hours`; the step times are in
# `benchmarks/results/paper_steps-nvidia-h200.csv`, and ResNet-56 was not reached). The timed hours
# are above the FLOP count for every chapter, since these nets keep an H200 far below 30 % of its
# peak. At depth they are far above it. At 1,000 blocks of 128 channels a step took 0.47–0.71 s,
# which is 1.0–1.6 % of the peak. So Table 1 at n = 1000 dominates the bill: about 4,700 of its
# 5,200 timed hours, against 313 counted at 30 %.

# %% tags=["remove-input"]
H100_BF16 = 989e12  # FLOP/s, dense (resdepth's benchmarks/flops.py)
timed_hours = timed_gpu_hours(REPO_ROOT / "benchmarks" / "results" / "paper_steps-nvidia-h200.csv")
gpu_rows = []
for name, module in EXPERIMENTS.items():
    paper_configs = sweep_configs(name, "paper") if module.TRAINS else []
    if paper_configs:
        gpu_rows.append({"experiment": name, "runs": len(paper_configs),
                         "GPU-hours at 30 % MFU": round(gpu_hours(paper_configs, H100_BF16, 0.30), 1),
                         "GPU-hours at 10 % MFU": round(gpu_hours(paper_configs, H100_BF16, 0.10), 1),
                         "H200-hours, timed steps": round(timed_hours.get(name, math.nan), 1)})
gpu_table = pd.DataFrame(gpu_rows).set_index("experiment")
glue("tab-methods-gpu-hours", readable_table(gpu_table), display=False)
glue("methods_gpu_hours_30", f"{gpu_table['GPU-hours at 30 % MFU'].sum():.0f}", display=False)

# %% [markdown]
# ```{glue:figure} tab-methods-gpu-hours
# :name: "tab-methods-gpu-hours"
#
# **The `paper` profile on a GPU.** Runs per chapter, and the GPU-hours of their SGD steps in two
# ways: counted from FLOPs at 30 % and at 10 % of an H100's dense bf16 peak, and timed from one
# step of each model shape on an H200 ("—": not timed).
# ```

# %% [markdown]
# ## Budgets per profile
#
# Each notebook takes its settings from one of three profiles (`profile` in its `parameters`
# cell): `smoke` exercises the code in seconds on the sample and its numbers are never results;
# `book` is what this book shows; `paper` is the paper's own setting. A value passed to the
# notebook (with `papermill -p`) overrides the profile's. One table per notebook, from
# {numref}`tab-methods-budget-training-basics` to {numref}`tab-methods-budget-lesion-study`, in
# the order of the chapters. A column `book_v2` (or `book_v3`) is a chapter's next book budget,
# written before its runs and trained in the background over several sessions; it replaces the
# budget before it once complete.

# %% tags=["remove-input"]
def show(value):
    """A setting as readable text: learning rates that are powers of two as 2^k, lists joined."""
    if isinstance(value, float) and 0 < value < 1 and math.log2(value).is_integer():
        return f"2^{int(math.log2(value))}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in value.items()) or "—"
    return "—" if value is None else str(value)


# Every experiment module's budget table is pasted below (a test checks that each has its block).
for notebook, module in EXPERIMENTS.items():
    profiles = module.BUDGETS
    table = pd.DataFrame({profile: {k: show(v) for k, v in settings.items()} for profile, settings in profiles.items()})
    table.index.name = "setting"
    glue(f"tab-methods-budget-{notebook.replace('_', '-')}", readable_table(table), display=False)

# %% [markdown]
# ### `training_basics`
#
# ```{glue:figure} tab-methods-budget-training-basics
# :name: "tab-methods-budget-training-basics"
#
# The settings of `training_basics` in each profile.
# ```
#
# ### `expansion_theorem`
#
# ```{glue:figure} tab-methods-budget-expansion-theorem
# :name: "tab-methods-budget-expansion-theorem"
#
# The settings of `expansion_theorem` in each profile.
# ```
#
# ### `combinatorial_explosion`
#
# ```{glue:figure} tab-methods-budget-combinatorial-explosion
# :name: "tab-methods-budget-combinatorial-explosion"
#
# The settings of `combinatorial_explosion` in each profile.
# ```
#
# ### `table1_depth_scaling`
#
# ```{glue:figure} tab-methods-budget-table1-depth-scaling
# :name: "tab-methods-budget-table1-depth-scaling"
#
# The settings of `table1_depth_scaling` in each profile.
# ```
#
# ### `lambda_sweep`
#
# ```{glue:figure} tab-methods-budget-lambda-sweep
# :name: "tab-methods-budget-lambda-sweep"
#
# The settings of `lambda_sweep` in each profile.
# ```
#
# ### `geometric_complexity`
#
# ```{glue:figure} tab-methods-budget-geometric-complexity
# :name: "tab-methods-budget-geometric-complexity"
#
# The settings of `geometric_complexity` in each profile.
# ```
#
# ### `linearization_napl`
#
# ```{glue:figure} tab-methods-budget-linearization-napl
# :name: "tab-methods-budget-linearization-napl"
#
# The settings of `linearization_napl` in each profile.
# ```
#
# ### `resnet56_ablation`
#
# ```{glue:figure} tab-methods-budget-resnet56-ablation
# :name: "tab-methods-budget-resnet56-ablation"
#
# The settings of `resnet56_ablation` in each profile.
# ```
#
# ### `path_lengths`
#
# ```{glue:figure} tab-methods-budget-path-lengths
# :name: "tab-methods-budget-path-lengths"
#
# The settings of `path_lengths` in each profile.
# ```
#
# ### `function_space`
#
# ```{glue:figure} tab-methods-budget-function-space
# :name: "tab-methods-budget-function-space"
#
# The settings of `function_space` in each profile.
# ```
#
# ### `paths_across_papers`
#
# ```{glue:figure} tab-methods-budget-paths-across-papers
# :name: "tab-methods-budget-paths-across-papers"
#
# The settings of `paths_across_papers` in each profile.
# ```

# %% [markdown]
# ### `lesion_study`
#
# ```{glue:figure} tab-methods-budget-lesion-study
# :name: "tab-methods-budget-lesion-study"
#
# The settings of `lesion_study` in each profile.
# ```

# %% [markdown]
# ## Every run
#
# One row per results file ({numref}`tab-methods-runs`): its configuration hash (the file name),
# model, data, hyperparameters, outcome and provenance.

# %% tags=["remove-input", "output_scroll"]
columns = ["model", "dataset", "length", "lr", "seed", "status", "best test acc", "device", "wall time (min)", "commit",
           "date"]
glue("tab-methods-runs", readable_table(runs.set_index(["experiment", "run"])[columns]), display=False)

# %% [markdown]
# ```{glue:figure} tab-methods-runs
# :name: "tab-methods-runs"
#
# Every stored run, by experiment and configuration hash: model, dataset, length, learning rate,
# seed, status, best test accuracy, device, training wall time, code commit and date.
# ```

# %% [markdown]
# ## Software
#
# The versions this page was built with (the book build), and the code's commit
# ({numref}`tab-methods-software`). The versions that trained each run are in its provenance,
# summarized in {numref}`tab-methods-provenance`.

# %% tags=["remove-input"]
packages = ["torch", "torchvision", "numpy", "pandas", "matplotlib", "seaborn", "jupyter-book", "myst-nb",
            "sphinx", "sphinxcontrib-bibtex", "sphinx-mathjax-offline", "jupytext", "papermill", "nbval"]
versions = {"python": platform.python_version()}
for name in packages:
    try:
        versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        versions[name] = "not installed"
code = git_commit()
versions["resdepth commit"] = (code["git_commit"][:12] + (" (src modified)" if code["git_dirty_src"] else "")
                               if code["git_commit"] != "unknown" else "unknown")
glue("tab-methods-software", readable_table(pd.DataFrame({"version": versions}).rename_axis("package")), display=False)

# %% [markdown]
# ```{glue:figure} tab-methods-software
# :name: "tab-methods-software"
#
# The Python version, the versions of the packages that build this book, and the code's commit.
# ```
