"""Stacked training: K runs of one architecture trained at once as one net of grouped convolutions.

A width-16 tower uses a sliver of a GPU: one step is ~300 small kernel launches for 1.2 GFLOP.
Stacking K runs gives each launch K times the work. The K nets become one net in which

- every ``Conv2d`` (C_in -> C_out, g groups) becomes one conv K*C_in -> K*C_out with K*g groups,
  so run k's channels are the k-th block of C channels of every feature map;
- every ``BatchNorm2d`` over C channels becomes one over K*C (statistics are per channel, so per run);
- every ``Linear`` becomes ``StackedLinear``, a batched matmul of each run's block of features;
- per-run scalars of the model (the tower's branch scale lam, ``STACKED_SCALARS``) become
  per-channel tensors;
- ReLU, pooling and means act channel by channel and are shared as they are.

Each run keeps its own initialisation (its seed), its own batches and labels (its seed), its own
learning rate and lam. The objective is the sum of the runs' mean losses, so run k's gradient is
exactly its own; ``stacked_sgd_step`` applies SGD with momentum with a learning rate per run.
Nothing mixes runs, so in exact arithmetic each run follows the trajectory of its separate run; in
floating point the grouped kernels sum in another order (equal to 1e-12 in fp64, ~1e-6 in fp32;
``tests/test_stack.py``).

On this project's 2-core CPU at 1 thread per worker, stacking gains nothing over separate runs in
channels_last (width-16 tower, K=8: 0.92-1.0x); it pays only where one run leaves the device
idle, which is a GPU. ``resdepth.results.sweep`` therefore stacks on CUDA by default.
"""

import copy
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .config import RunConfig, stack_key
from .data import DeviceLoader, eval_batches
from .errors import ConfigError
from .models import build_model
from .train import (CHECKPOINT_VERSION, autocast_policy, cpu_threads, device_name, evaluation_split, load_checkpoint,
                    exploded, exploded_reason, lr_factor, pick_device, rng_states, run_data, save_checkpoint,
                    set_rng_states)

RUN_FIELDS = ("seed", "lr")  # config fields that may differ between the runs of a stack


class StackedLinear(nn.Module):
    """K linear layers d_in -> d_out applied to K blocks of features: (B, K*d_in) -> (B, K*d_out)."""

    def __init__(self, layers: list):
        super().__init__()
        self.runs, self.d_in = len(layers), layers[0].in_features
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in layers]))  # (K, d_out, d_in)
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in layers]))  # (K, d_out)

    def forward(self, z):
        per_run = z.reshape(len(z), self.runs, self.d_in).transpose(0, 1)  # (K, B, d_in)
        out = torch.baddbmm(self.bias.unsqueeze(1), per_run, self.weight.transpose(1, 2))  # (K, B, d_out)
        return out.transpose(0, 1).reshape(len(z), -1)


def _stacked_conv(convs: list) -> nn.Conv2d:
    c = convs[0]
    stacked = nn.Conv2d(len(convs) * c.in_channels, len(convs) * c.out_channels, c.kernel_size, c.stride,
                        c.padding, c.dilation, len(convs) * c.groups, c.bias is not None, c.padding_mode,
                        device=c.weight.device, dtype=c.weight.dtype)
    stacked.weight.data.copy_(torch.cat([m.weight.detach() for m in convs]))
    if c.bias is not None:
        stacked.bias.data.copy_(torch.cat([m.bias.detach() for m in convs]))
    return stacked


def _stacked_batchnorm(norms: list) -> nn.BatchNorm2d:
    n = norms[0]
    stacked = nn.BatchNorm2d(len(norms) * n.num_features, n.eps, n.momentum, n.affine, n.track_running_stats,
                             device=n.running_mean.device, dtype=n.running_mean.dtype)
    for name in ("weight", "bias", "running_mean", "running_var"):
        if getattr(n, name) is not None:
            getattr(stacked, name).data.copy_(torch.cat([getattr(m, name).detach() for m in norms]))
    if n.track_running_stats:
        stacked.num_batches_tracked.copy_(n.num_batches_tracked)
    return stacked


def _stacked_module(modules: list) -> nn.Module:
    first = modules[0]
    if type(first) is nn.Conv2d:
        return _stacked_conv(modules)
    if type(first) is nn.BatchNorm2d:
        return _stacked_batchnorm(modules)
    if type(first) is nn.Linear:
        return StackedLinear(modules)
    raise ConfigError(f"cannot stack a {type(first).__name__}: stacking knows Conv2d, BatchNorm2d, Linear and "
                      f"parameter-free per-channel layers; train these runs separately (stack=False)")


def stack_models(models: list) -> nn.Module:
    """One net computing the K ``models`` side by side (see the module docstring); the models are left as they are."""
    template = models[0]
    if not hasattr(type(template), "STACKED_SCALARS"):
        raise ConfigError(f"{type(template).__name__} does not declare STACKED_SCALARS, so it cannot be stacked; "
                          f"train these runs separately (stack=False)")
    stacked = copy.deepcopy(template)
    for name, module in template.named_modules():
        if name and _is_stacked_leaf(module):
            parent, _, child = name.rpartition(".")
            owner = stacked.get_submodule(parent) if parent else stacked
            setattr(owner, child, _stacked_module([m.get_submodule(name) for m in models]))
    for attr, channels_attr in type(template).STACKED_SCALARS.items():
        values = torch.tensor([float(getattr(m, attr)) for m in models], dtype=torch.float64)
        per_channel = values.repeat_interleave(getattr(template, channels_attr)).view(1, -1, 1, 1)
        delattr(stacked, attr) if attr in vars(stacked) else None
        stacked.register_buffer(attr, per_channel.to(next(template.parameters()).dtype))
    stacked.runs = len(models)
    return stacked


def _is_stacked_leaf(module: nn.Module) -> bool:
    """A leaf with parameters or buffers is stacked; parameter-free leaves (activations, pooling)
    act on each channel alone, which is what a model declaring ``STACKED_SCALARS`` promises."""
    has_state = any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False))
    return not any(True for _ in module.children()) and has_state


def unstacked_state(stacked: nn.Module, template: nn.Module, run: int) -> dict:
    """Run ``run``'s state dict, with the keys and shapes of ``template``'s."""
    stacked_state, K = stacked.state_dict(), stacked.runs
    state = {}
    for key, value in template.state_dict().items():
        block = stacked_state[key]
        if block.dim() == 0:  # BatchNorm's num_batches_tracked: the same for every run
            state[key] = block.clone()
        elif block.shape[1:] == value.shape:  # StackedLinear: a leading run dimension
            state[key] = block[run].clone()
        else:
            size = block.shape[0] // K
            state[key] = block[run * size : (run + 1) * size].clone()
    return state


def stacked_input(xs: torch.Tensor) -> torch.Tensor:
    """(K, B, C, H, W) per-run batches -> (B, K*C, H, W), run k in the k-th block of channels."""
    K, B, C, H, W = xs.shape
    return xs.transpose(0, 1).reshape(B, K * C, H, W).contiguous(memory_format=torch.channels_last)


def per_run_logits(logits: torch.Tensor, runs: int) -> torch.Tensor:
    """(B, K*classes) -> (K, B, classes)."""
    return logits.reshape(len(logits), runs, -1).transpose(0, 1)


def per_run_lr(params: list, lrs: torch.Tensor) -> list:
    """For each stacked parameter, whose first dimension is K equal blocks (one per run), its
    learning rates broadcast to its shape."""
    K = len(lrs)
    return [lrs.repeat_interleave(p.shape[0] // K).view(-1, *[1] * (p.dim() - 1)).to(p) for p in params]


@torch.no_grad()
def stacked_sgd_step(params: list, buffers: list, lrs: list, momentum: float, weight_decay: float,
                     schedule_factor: float = 1.0) -> list:
    """SGD with momentum as ``torch.optim.SGD`` (no dampening, no Nesterov), with a learning rate
    per run: g <- grad + wd p;  b <- m b + g (b = g on the first step);  p <- p - f lr_k b, where
    ``lrs`` are the base rates of ``per_run_lr`` (built once) and f the schedule's factor.
    Returns the momentum buffers (``None`` entries are created)."""
    grads = [p.grad for p in params]
    if weight_decay:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    if buffers[0] is None:
        buffers = [g.detach().clone() for g in grads]
    else:
        torch._foreach_mul_(buffers, momentum)
        torch._foreach_add_(buffers, grads)
    torch._foreach_add_(params, torch._foreach_mul(buffers, lrs), alpha=-schedule_factor)
    return buffers


# ----------------------------------------------------------------------------- grouping


def stack_signature(cfg: RunConfig) -> str | None:
    """What runs must share to be stacked with ``cfg``, or None if ``cfg`` cannot be stacked
    (post-training and continued runs carry per-run extensions that act on the model)."""
    if cfg.start_from or cfg.linearize:
        return None
    with torch.device("meta"):
        model = build_model(cfg.model, 1, 10, **cfg.model_kwargs)
    scalars = getattr(type(model), "STACKED_SCALARS", None)
    if scalars is None:
        return None
    d = cfg.to_dict()
    for name in RUN_FIELDS:
        d.pop(name)
    d["model_args"] = {k: v for k, v in d["model_args"].items() if k not in scalars}
    return repr(sorted(d.items()))


def group_stacks(configs, max_size: int) -> list:
    """The configs as a list of stacks (lists of configs), compatible configs together in the
    order given, at most ``max_size`` per stack; an unstackable config is a stack of one."""
    if not isinstance(max_size, int) or max_size < 1:
        raise ConfigError(f"the stack size must be an integer >= 1; got {max_size!r}")
    groups, order = {}, []
    for i, cfg in enumerate(configs):
        signature = stack_signature(cfg) if max_size > 1 else None
        key = signature if signature is not None else ("alone", i)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(cfg)
    return [group[i : i + max_size] for key in order for group in [groups[key]] for i in range(0, len(group), max_size)]


# ----------------------------------------------------------------------------- the loop


@torch.no_grad()
def evaluate_stack(stacked, x, y, mean, std, device, autocast, runs: int) -> list:
    """Each run's test loss and accuracy over the whole split, in eval mode, in one pass."""
    was_training = stacked.training
    stacked.eval()
    loss_sum = torch.zeros(runs, device=device)
    correct = torch.zeros(runs, device=device, dtype=torch.long)
    for xb, yb in eval_batches(x, y, mean, std, device):
        with autocast():
            logits = per_run_logits(stacked(stacked_input(xb.expand(runs, *xb.shape))), runs).float()
        loss_sum += F.cross_entropy(logits.transpose(1, 2), yb.expand(runs, -1), reduction="none").sum(1)
        correct += (logits.argmax(2) == yb).sum(1)
    stacked.train(was_training)
    return [{"test_loss": s / len(y), "test_acc": c / len(y)} for s, c in zip(loss_sum.tolist(), correct.tolist())]


def train_stack(configs: list, device=None, checkpoint_path=None, checkpoint_every: int = 500, log_every: int = 50,
                progress: bool = True, extensions=None):
    """Train the compatible ``configs`` as one stacked net; return ``[(record, model), ...]`` in
    their order, each as ``resdepth.train.train`` returns it for that run alone.

    ``extensions``: one list per run of extensions that only read the model (``metrics``); they
    see that run's own model, rebuilt from the stack at each evaluation. A run that diverges ends
    at the evaluation where its loss is found non-finite, as it would alone; the others go on.
    """
    configs = list(configs)
    signatures = {stack_signature(c) for c in configs}
    if None in signatures or len(signatures) != 1:
        raise ConfigError("these runs cannot be stacked: they differ in more than seed, lr and the model's "
                          "per-run scalars, or post-train; train them separately")
    extensions = extensions or [[] for _ in configs]
    cfg, K = configs[0], len(configs)
    device = pick_device(device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    precision, autocast = autocast_policy(device, cfg.precision)
    data = run_data(cfg)
    test = (data.test_x.to(device), data.test_y.to(device))
    train_x, train_y = data.train_x[: cfg.train_images].to(device), data.train_y[: cfg.train_images].to(device)

    models = []
    for c, exts in zip(configs, extensions):
        torch.manual_seed(c.seed)  # each run's own initialisation, as alone
        model = build_model(c.model, data.in_channels, data.num_classes, **c.model_kwargs)
        for ext in exts:
            if ext.prepare(model, data) is not model:
                raise ConfigError(f"extension {type(ext).__name__} replaces the model, so its run cannot be stacked")
        models.append(model.to(device, memory_format=torch.channels_last))
    stacked = stack_models(models).to(device, memory_format=torch.channels_last)
    params = list(stacked.parameters())
    base_lrs = per_run_lr(params, torch.tensor([c.lr for c in configs], device=device))  # once, not per step
    buffers = [None] * len(params)
    loaders = [DeviceLoader(train_x, train_y, c.batch_size, data.mean, data.std, device, c.seed, c.augment)
               for c in configs]
    steps_per_epoch = loaders[0].steps_per_epoch
    total_steps = cfg.steps if cfg.steps is not None else cfg.epochs * steps_per_epoch
    factor = lr_factor(cfg, total_steps)
    eval_every = cfg.eval_every or steps_per_epoch
    log_every = max(1, min(log_every, eval_every))

    step, wall_before = 0, 0.0
    histories, ends = [[] for _ in configs], [None] * K  # ends[k]: (status, reason, steps_done) once run k ended
    running = {"loss_sum": [0.0] * K, "correct": [0] * K, "count": 0}
    if checkpoint_path and Path(checkpoint_path).is_file():
        state = load_checkpoint(Path(checkpoint_path), stack_key(configs), total_steps, cpu_threads(device))
        stacked.load_state_dict(state["model"]), set_rng_states(state["rng"])
        buffers = [b.to(device) for b in state["buffers"]] if state["buffers"] else buffers
        step, histories, ends, running = state["step"], state["histories"], state["ends"], state["running"]
        wall_before = state["wall_time_s"]
    resumed_from_step = step
    loss_sum = torch.tensor(running["loss_sum"], device=device)
    correct, count = torch.tensor(running["correct"], device=device), running["count"]
    start_time, interval = time.perf_counter(), [time.perf_counter(), 0]
    bar = tqdm(total=total_steps, initial=step, disable=not progress, desc=f"{cfg.model} stack of {K}", unit="step",
               dynamic_ncols=True, mininterval=1.0)
    stacked.train()
    while step < total_steps and any(e is None for e in ends):
        batches = [loader.batch(step) for loader in loaders]
        xs, ys = torch.stack([b[0] for b in batches]), torch.stack([b[1] for b in batches])
        with autocast():
            logits = per_run_logits(stacked(stacked_input(xs)), K).float()
        losses = F.cross_entropy(logits.transpose(1, 2), ys, reduction="none").mean(1)  # (K,)
        for p in params:
            p.grad = None
        losses.sum().backward()
        buffers = stacked_sgd_step(params, buffers, base_lrs, cfg.momentum, cfg.weight_decay, factor(step))
        loss_sum += losses.detach() * len(ys[0])
        correct += (logits.detach().argmax(2) == ys).sum(1)
        count, interval[1], step = count + len(ys[0]), interval[1] + len(ys[0]), step + 1
        bar.update(1)

        last = step == total_steps
        if step % log_every == 0 or last:
            for k, finite in enumerate(torch.isfinite(loss_sum).tolist()):
                if not finite and ends[k] is None:
                    ends[k] = ("diverged", f"non-finite training loss by step {step}", step)
        if step % eval_every == 0 or last:
            images_per_s = interval[1] / (time.perf_counter() - interval[0])
            split = evaluation_split(test, cfg.eval_images, last)
            tests = evaluate_stack(stacked, *split, data.mean, data.std, device, autocast, K)
            sums, hits = loss_sum.tolist(), correct.tolist()
            for k in (k for k in range(K) if ends[k] is None):
                entry = {"step": step, "epoch": step / steps_per_epoch, "lr": configs[k].lr * factor(step),
                         "train_loss": sums[k] / count, "train_acc": hits[k] / count, **tests[k],
                         "test_images": len(split[1]), "images_per_s": images_per_s}
                if extensions[k]:
                    models[k].load_state_dict(unstacked_state(stacked, models[k], k))
                    for ext in extensions[k]:
                        entry.update(ext.metrics(models[k]))
                entry["elapsed_s"] = wall_before + time.perf_counter() - start_time
                histories[k].append(entry)
                if exploded(histories[k], data.num_classes):
                    ends[k] = ("diverged", exploded_reason(histories[k], step), step)
            loss_sum.zero_(), correct.zero_()
            count, interval = 0, [time.perf_counter(), 0]
        if checkpoint_path and step % checkpoint_every == 0 and not last:
            save_checkpoint({"version": CHECKPOINT_VERSION, "config_key": stack_key(configs), "threads": cpu_threads(device),
                             "step": step, "model": stacked.state_dict(), "buffers": buffers, "rng": rng_states(),
                             "histories": histories, "ends": ends,
                             "running": {"loss_sum": loss_sum.tolist(), "correct": correct.tolist(), "count": count},
                             "wall_time_s": wall_before + time.perf_counter() - start_time}, Path(checkpoint_path))
    bar.close()

    wall = wall_before + time.perf_counter() - start_time
    results = []
    for k, (c, model) in enumerate(zip(configs, models)):
        status, reason, steps_done = ends[k] or ("ok", None, step)
        history = histories[k]
        model.load_state_dict(unstacked_state(stacked, model, k))
        record = {
            "status": status, "reason": reason, "steps_done": steps_done, "total_steps": total_steps,
            "history": history, "final": history[-1] if (history and status == "ok") else None,
            "best": max(history, key=lambda h: h["test_acc"]) if history else None,
            "wall_time_s": wall / K, "stack_wall_time_s": wall, "device": device_name(device),
            "precision": precision, "resumed_from_step": resumed_from_step,
            "stacked_with": [o.key for o in configs if o.key != c.key],
        }
        record.update({ext.name: ext.summary(model) for ext in extensions[k] if ext.name})
        results.append((record, model))
    return results
