"""The plan before a sweep: how many runs load, how many train, and how long the training takes.

The time is measured, not guessed. Each distinct shape of run (model, its arguments, batch size,
image shape) is timed for a few SGD steps on this machine, after one warm-up step, with as many
threads as each run will get: one per worker when a sweep spreads runs over pinned 1-thread
workers. The estimate counts training steps only, at the measured median, so evaluations and a
busy machine make the real time longer. A post-training run (``linearize``) is timed as the step
it takes: the start model fused and turned into PReLUs (``linearizable``, at its initial weights:
the step time does not depend on their values), AdamW, and the L0.5 penalty and freeze rule in
phase 1. Another run that starts from a stored one (``start_from`` alone) steps as a plain run.

For a GPU the package has no measured step time on this machine, so ``gpu_hours`` counts model
FLOPs (the convention of MFU, PaLM Appendix B: a multiply-add is 2 FLOPs, a training step 3
forward passes) and divides by a peak and an assumed utilisation, which the caller states.
"""

import functools
import statistics
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .config import RunConfig
from .errors import ConfigError
from .data import class_subset, load_dataset, normalize
from .linearize import freeze_linear_units, l05_penalty, linearizable
from .models import build_model


def total_steps(cfg: RunConfig, train_images: int) -> int:
    """The SGD steps of ``cfg`` on a training set of ``train_images`` images (last partial batch dropped)."""
    if cfg.steps is not None:
        return cfg.steps
    images = min(train_images, cfg.train_images or train_images)
    return cfg.epochs * (images // cfg.batch_size)


@functools.lru_cache(maxsize=None)
@functools.lru_cache(maxsize=None)
def training_images(dataset: str, classes: tuple = ()) -> int:
    """The training images of ``dataset`` (restricted to ``classes``, if any)."""
    data = load_dataset(dataset)
    return len(class_subset(data, classes).train_x) if classes else len(data.train_x)


def per_run_scalars(model: str, model_args: tuple) -> frozenset:
    """The model class's ``STACKED_SCALARS`` (arguments that only scale a tensor, e.g. the tower's lam)."""
    with torch.device("meta"):  # the class only: nothing is allocated
        return frozenset(getattr(type(build_model(model, 1, 10, **dict(model_args))), "STACKED_SCALARS", {}))


def post_training_phase(cfg: RunConfig) -> str:
    """'' for a plain run; else the post-training step it takes: 'channel-wise penalty' (phase 1)
    or 'layer-wise fine-tuning' (phase 2, a fixed mask)."""
    if not cfg.linearize:
        return ""
    return f"{cfg.linearize}-wise {'fine-tuning' if cfg.mask else 'penalty'}"


def shape_of(cfg: RunConfig) -> tuple:
    """What decides a run's step time: model, its arguments but the per-run scalars
    (``per_run_scalars``), batch size, dataset and post-training phase."""
    scalars = per_run_scalars(cfg.model, cfg.model_args)
    return (cfg.model, tuple(a for a in cfg.model_args if a[0] not in scalars), cfg.batch_size, cfg.dataset,
            post_training_phase(cfg))


def seconds_per_step(cfg: RunConfig, threads: int = 1, steps: int = 3) -> float:
    """Median wall seconds of one step of ``cfg``'s model (random inputs of the dataset's shape,
    cross-entropy; momentum SGD, or for post-training AdamW with the phase's penalty and freeze rule)
    on the CPU with ``threads`` threads, after one warm-up step."""
    data = load_dataset(cfg.dataset)
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        model = build_model(cfg.model, data.in_channels, data.num_classes, **cfg.model_kwargs).train()
        penalty = cfg.linearize and not cfg.mask
        if cfg.linearize:
            example = normalize(data.test_x[:2], data.mean, data.std)
            model = linearizable(model, example, cfg.linearize)
        model = model.to(memory_format=torch.channels_last)
        optimizer = (torch.optim.AdamW(model.parameters(), lr=1e-6) if cfg.linearize
                     else torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9))
        x = torch.randn(cfg.batch_size, data.in_channels, data.image_size, data.image_size)
        x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, data.num_classes, (cfg.batch_size,))
        times = []
        for _ in range(steps + 1):
            start = time.perf_counter()
            loss = F.cross_entropy(model(x), y) + (cfg.omega * l05_penalty(model) if penalty else 0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if penalty:
                freeze_linear_units(model, cfg.freeze_threshold)
            times.append(time.perf_counter() - start)
        return statistics.median(times[1:])
    finally:
        torch.set_num_threads(saved)


def weights_kept(configs, save_weights=False):
    """A predicate on configs: True where a sweep of ``configs`` keeps the run's weights: every
    run (``save_weights`` True), the runs of ``save_weights`` (a collection of configs: a chapter
    keeps some sweeps' weights and not others'), and the runs that others start from."""
    configs = list(configs)
    starts = {c.start_from for c in configs if c.start_from}
    kept = set() if isinstance(save_weights, bool) else {c.key for c in save_weights}
    return lambda c: save_weights is True or c.key in kept or f"{c.experiment}/{c.key}" in starts


def sweep_plan(configs, store, threads: int = 1, time_runs: bool = True, save_weights=False) -> pd.DataFrame:
    """One line per shape of run (``shape_of``): how many runs, how many are stored (they load:
    with their weights where ``weights_kept(configs, save_weights)`` asks for them), how many train,
    the steps of each, the measured seconds per step (``seconds_per_step``, only where some run
    trains and ``time_runs``) and the estimated core-hours of the runs to train."""
    configs = list(configs)
    keep = weights_kept(configs, save_weights)
    groups = {}
    for cfg in configs:
        groups.setdefault(shape_of(cfg), []).append(cfg)
    rows = []
    for (model, args, batch, dataset, phase), group in groups.items():
        todo = [c for c in group
                if not store.is_finished(c, with_weights=keep(c))]
        steps = sum(total_steps(c, training_images(c.dataset, c.classes)) for c in todo)
        per_step = seconds_per_step(todo[0], threads) if todo and time_runs else float("nan")
        rows.append({"model": model, "arguments": ", ".join(f"{k}={v}" for k, v in args), "batch": batch,
                     "dataset": dataset, "post-training": phase or "—", "runs": len(group),
                     "stored": len(group) - len(todo), "to train": len(todo), "steps to train": steps,
                     "s/step": per_step, "core-hours": steps * per_step / 3600})
    return pd.DataFrame(rows, columns=["model", "arguments", "batch", "dataset", "post-training", "runs", "stored",
                                       "to train", "steps to train", "s/step", "core-hours"])


def plan_text(plan: pd.DataFrame, workers: int = 1) -> str:
    """The plan in one paragraph: runs that load and train, and the estimated time on ``workers``."""
    stored, todo = int(plan["stored"].sum()), int(plan["to train"].sum())
    if not todo:
        return f"Plan: all {stored} runs are stored; nothing to train."
    hours = plan["core-hours"].sum()
    untimed = int(plan[plan["s/step"].isna()]["to train"].sum())
    note = f" ({untimed} runs not timed)" if untimed else ""
    return (f"Plan: {stored} runs load, {todo} train: about {hours:.2f} core-hours of SGD steps{note}, "
            f"{hours / max(workers, 1):.2f} h on {workers} worker(s), measured on this machine; evaluations "
            f"and a busy machine add to it.")


# ----------------------------------------------------------------------------- FLOPs and GPU hours


def forward_flops_per_image(model: nn.Module, image_shape) -> int:
    """FLOPs of one forward pass on one image of ``image_shape`` (C, H, W), counted from the layer
    shapes: conv 2 (C_in/groups) k_h k_w C_out H_out W_out, linear 2 d_in d_out. Normalization,
    activations and pooling are left out (memory-bound, a few percent of the FLOPs)."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            c_out, c_in_per_group, k_h, k_w = module.weight.shape
            total += 2 * c_in_per_group * k_h * k_w * c_out * output.shape[-2] * output.shape[-1]
        elif isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *image_shape, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return total


def gpu_hours(configs, peak_flops: float, utilisation: float, image_shape=(3, 32, 32), train_images: int = 50_000,
              num_classes: int = 10) -> float:
    """GPU-hours of ``configs`` at ``utilisation`` of ``peak_flops``: sum over runs of steps x batch
    x 3 x forward FLOPs per image (``forward_flops_per_image``), over peak x utilisation.
    Evaluations are left out."""
    flops_of = {}
    total = 0.0
    for cfg in configs:
        key = (cfg.model, cfg.model_args)
        if key not in flops_of:
            with torch.device("meta"):  # shapes only: a width-256, 1000-block tower never allocates
                model = build_model(cfg.model, image_shape[0], num_classes, **cfg.model_kwargs)
            flops_of[key] = forward_flops_per_image(model, image_shape)
        total += 3 * flops_of[key] * cfg.batch_size * total_steps(cfg, train_images)
    return total / (peak_flops * utilisation) / 3600


def timed_gpu_hours(csv_path) -> pd.Series:
    """GPU-hours per experiment from step times timed on a GPU (``benchmarks/cuda_check.py --only
    paper`` writes one row per model shape, with its runs' total ``steps`` and ``ms_per_step``):
    the sum over shapes of steps x seconds per step, over 3,600. Empty where the file is absent."""
    path = Path(csv_path)
    if not path.is_file():
        return pd.Series(dtype=float)
    rows = pd.read_csv(path)
    missing = {"experiment", "steps", "ms_per_step"} - set(rows.columns)
    if missing:
        raise ConfigError(f"{path} lacks the column(s) {', '.join(sorted(missing))}; re-run "
                          f"'python benchmarks/cuda_check.py --only paper' on the GPU to rewrite it")
    hours = rows["steps"] * rows["ms_per_step"] / 1000 / 3600
    return hours.groupby(rows["experiment"], sort=False).sum()

