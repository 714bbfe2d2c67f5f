"""The one training loop: SGD with momentum (AdamW for post-training) on device-resident data.

- data: the uint8 dataset lives on the training device; batches and augmentation are tensor ops
  (``resdepth.data.DeviceLoader``), a pure function of (seed, step);
- precision: channels_last everywhere; bf16 autocast on CUDA, fp32 on the CPU unless
  ``cfg.precision="bf16"`` (``autocast_policy``); parameters, optimizer and loss stay fp32;
- no host syncs in the hot loop: losses accumulate on the device and are read every
  ``log_every`` steps, which is also when a non-finite loss is detected;
- a non-finite training loss, or a finite one that exploded (``exploded``), ends the run with
  ``status="diverged"`` (the papers leave such runs
  out of their tables): a result, not a crash;
- checkpoints (model, optimizer, schedule, RNG states, step, history) are written atomically
  every ``checkpoint_every`` steps; a killed run resumes from its last one and, on the CPU, ends
  with bit-identical parameters.

What a run adds to the plain loop comes in as ``Extension`` objects: post-training
linearization (``resdepth.linearize.PostTraining``: start weights, PReLUs, a penalty, a freeze
rule) and complexity logging (``resdepth.expansion.ComplexityLog``). ``resdepth.jobs`` picks
them from the config.
"""

import contextlib
import math
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .config import RunConfig
from .data import DeviceLoader, class_subset, eval_batches, load_dataset
from .errors import ConfigError, StoreError
from .models import build_model
from .files import atomic_torch_save

CHECKPOINT_VERSION = 2  # 2: post-training slopes as one flat tensor (resdepth.linearize.Slopes)


class Extension:
    """What a run adds to the plain loop. Every hook here does nothing; subclasses override some.

    - ``prepare(model, data)``: the model to train (before it moves to the device);
    - ``loss(model)``: a term added to the training objective, or None;
    - ``after_step(model)``: runs after every optimizer step;
    - ``metrics(model)``: extra entries of each evaluation's history row;
    - ``should_stop(entry)``: end the run after this evaluation;
    - ``summary(model)``: stored in the record under ``name``, if ``name`` is set.
    """

    name = None

    def prepare(self, model, data):
        return model

    def loss(self, model):
        return None

    def after_step(self, model):
        pass

    def metrics(self, model) -> dict:
        return {}

    def should_stop(self, entry: dict) -> bool:
        return False

    def summary(self, model) -> dict:
        return {}


EXPLODED_FACTOR = 10.0  # a finite training loss above this many times ln(k), the loss of a uniform guess over k
CHANCE_FACTOR = 1.5  # classes, with test accuracy at most this many times chance (1/k),
EXPLODED_EVALUATIONS = 2  # at this many evaluations in a row, the loss not falling between them, is a diverged run


def exploded(history: list, num_classes: int) -> bool:
    """The finite-divergence rule (issue 15): the last ``EXPLODED_EVALUATIONS`` evaluations all have
    a training loss above ``EXPLODED_FACTOR`` x ln(k) and a test accuracy at most ``CHANCE_FACTOR`` / k,
    and the loss never fell from one to the next. A run recovering from a bad start (a loss falling
    from 579 to 139) is not diverged; one whose loss grows at chance (6.3e3 -> 2.7e4) is.
    (A non-finite loss is caught at once, between evaluations.)"""
    recent = history[-EXPLODED_EVALUATIONS:]
    losses = [e["train_loss"] for e in recent]
    return (len(recent) == EXPLODED_EVALUATIONS
            and all(e["train_loss"] > EXPLODED_FACTOR * math.log(num_classes)
                    and e["test_acc"] <= CHANCE_FACTOR / num_classes for e in recent)
            and all(later >= earlier for earlier, later in zip(losses, losses[1:])))


def exploded_reason(history: list, step: int) -> str:
    return (f"training loss {history[-1]['train_loss']:.3g} above {EXPLODED_FACTOR:g} x ln(classes) and not falling, "
            f"at chance test accuracy, for {EXPLODED_EVALUATIONS} evaluations by step {step}")


def run_data(cfg: RunConfig):
    """The dataset a run trains and is tested on: ``cfg.dataset``, restricted to ``cfg.classes``."""
    data = load_dataset(cfg.dataset)
    return class_subset(data, cfg.classes) if cfg.classes else data


def pick_device(device=None) -> torch.device:
    """``device`` as a torch device ("auto" or None: the GPU if there is one); a name torch does not
    know, or a GPU this machine does not have, is one ConfigError that says what exists."""
    if isinstance(device, torch.device):
        return device
    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    exists = "cpu" + (f", cuda (cuda:0 to cuda:{gpus - 1})" if gpus else "; no GPU here")
    try:
        picked = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r}; this machine has: {exists}") from None
    if picked.type == "cuda" and (not gpus or (picked.index or 0) >= gpus):
        raise ConfigError(f"device {device!r} is not on this machine; it has: {exists}")
    if picked.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {device!r} is not supported; use one of: {exists}")
    return picked


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


def cpu_has_bf16_kernels() -> bool:
    """Whether oneDNN has fast bf16 convolutions on this CPU (AVX512-BF16 or AMX)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def autocast_policy(device: torch.device, precision: str = "auto"):
    """(name, context factory) of the mixed-precision policy: bf16 autocast of convolutions and
    matmuls on CUDA, and on the CPU only when asked for, on a CPU with bf16 kernels."""
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16_kernels():
        raise ConfigError(f"precision 'bf16' needs a CPU with bf16 kernels (AVX512-BF16 or AMX); this one has "
                          f"{torch.backends.cpu.get_cpu_capability()}, where bf16 convolutions run 100x slower than "
                          f"fp32; use precision 'fp32' (or 'auto') here, or a GPU")
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return "bf16-autocast", lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return "fp32", contextlib.nullcontext


def lr_factor(cfg: RunConfig, total_steps: int):
    """The schedule as a function of the step: linear warmup, then constant, cosine or multistep."""
    milestones = [int(m * total_steps) for m in cfg.milestones]

    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        if cfg.schedule == "cosine":
            progress = (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        if cfg.schedule == "multistep":
            return cfg.gamma ** sum(step >= m for m in milestones)
        return 1.0

    return factor


def parameter_groups(model: torch.nn.Module, weight_decay: float, no_decay_lr: float | None = None) -> list:
    """Weight decay on every parameter except those flagged ``no_weight_decay`` (PReLU slopes),
    which form their own group, with learning rate ``no_decay_lr`` if given."""
    decay, no_decay = [], []
    for p in model.parameters():
        (no_decay if getattr(p, "no_weight_decay", False) else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0, **({"lr": no_decay_lr} if no_decay_lr else {})})
    return groups


def make_optimizer(model, cfg: RunConfig, device: torch.device) -> torch.optim.Optimizer:
    fast = {"fused": True} if device.type == "cuda" else {"foreach": True}
    groups = parameter_groups(model, cfg.weight_decay, cfg.alpha_lr)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, **fast)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, **fast)


@torch.no_grad()
def evaluate(model, x, y, mean, std, device, autocast) -> dict:
    """Test loss and accuracy over a whole split, in eval mode."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for xb, yb in eval_batches(x, y, mean, std, device):
        with autocast():
            logits = model(xb).float()
        loss_sum += F.cross_entropy(logits, yb, reduction="sum")
        correct += (logits.argmax(1) == yb).sum()
    model.train(was_training)
    return {"test_loss": loss_sum.item() / len(y), "test_acc": correct.item() / len(y)}


# ----------------------------------------------------------------------------- checkpoints


def save_checkpoint(state: dict, path: Path) -> None:
    """Atomic, so a kill while saving leaves the previous checkpoint intact."""
    atomic_torch_save(state, path)


def load_checkpoint(path: Path, key: str, total_steps: int | None = None, threads: int | None = None) -> dict:
    """The checkpoint at ``path``, checked to be a resdepth checkpoint of the run (or stack) ``key``
    whose step lies within the run's ``total_steps`` and after every evaluation it holds, and,
    for a run on the CPU (``threads`` given), written with that many intra-op threads: CPU results
    depend on the thread count, so a resume with another would mix two trajectories."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise StoreError(
            f"checkpoint {path} is corrupt ({type(exc).__name__}); delete it to restart this run from step 0"
        ) from None
    if not isinstance(state, dict) or "version" not in state:
        raise StoreError(f"checkpoint {path} is not a resdepth checkpoint; move or delete it to restart the run")
    if state["version"] != CHECKPOINT_VERSION:
        raise StoreError(f"checkpoint {path} was written by another resdepth (checkpoint version {state['version']}, "
                         f"this one reads {CHECKPOINT_VERSION}); delete it to restart the run from step 0")
    if state.get("config_key") != key:
        raise StoreError(
            f"checkpoint {path} belongs to config {state.get('config_key')}, not {key}; delete it to restart"
        )
    step = state.get("step")
    histories = state.get("histories", [state.get("history", [])])
    last_eval = max((h[-1]["step"] for h in histories if h), default=0)
    if not isinstance(step, int) or step < 0 or (total_steps is not None and step > total_steps) or last_eval > step:
        raise StoreError(f"checkpoint {path} claims step {step!r} of {total_steps} with evaluations up to step "
                         f"{last_eval}; it is inconsistent, delete it to restart the run from step 0")
    written = state.get("threads")
    if threads is not None and written is not None and written != threads:
        raise StoreError(f"checkpoint {path} was written on {written} CPU thread(s), this run has {threads} (results "
                         f"depend on it): resume with torch.set_num_threads({written}), or delete it to restart")
    return state


def cpu_threads(device: torch.device) -> int | None:
    """The intra-op threads a run on the CPU trains with (recorded in its checkpoints); None on a GPU."""
    return torch.get_num_threads() if device.type == "cpu" else None


def rng_states() -> dict:
    states = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def evaluation_split(test: tuple, eval_images: int | None, last: bool) -> tuple:
    """The test images of an evaluation: the first ``eval_images`` at intermediate points (if set),
    every one at the end of the run."""
    return test if (last or eval_images is None) else tuple(t[:eval_images] for t in test)


def evaluation_entry(step, loader, optimizer, sums, interval, model, test, data, device, autocast, extensions) -> dict:
    """One history row: where the run is, training metrics since the last row, test metrics (and
    how many test images they are over)."""
    loss_sum, correct, count = sums
    images_per_s = interval[1] / (time.perf_counter() - interval[0])  # training only: before the evaluation
    return {
        "step": step,
        "epoch": step / loader.steps_per_epoch,
        "lr": optimizer.param_groups[0]["lr"],
        "train_loss": loss_sum.item() / count,
        "train_acc": correct.item() / count,
        **evaluate(model, *test, data.mean, data.std, device, autocast),
        "test_images": len(test[1]),
        "images_per_s": images_per_s,
        **{k: v for ext in extensions for k, v in ext.metrics(model).items()},
    }


# ----------------------------------------------------------------------------- the loop


def train(cfg: RunConfig, device=None, checkpoint_path=None, checkpoint_every: int = 500, log_every: int = 50,
          progress: bool = True, extensions=()):
    """Train ``cfg``; return ``(record, model)``.

    ``record``: ``status`` ("ok" or "diverged"), ``reason``, ``history`` (one row per evaluation),
    ``final`` and ``best`` rows, ``steps_done``, ``total_steps``, ``wall_time_s``, ``device``,
    ``precision``, ``resumed_from_step``, and each extension's ``summary`` under its ``name``.
    With ``checkpoint_path``, the run resumes from that checkpoint if it exists and saves it every
    ``checkpoint_every`` steps; the caller deletes it once the result is stored.
    """
    device = pick_device(device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    precision, autocast = autocast_policy(device, cfg.precision)
    data = run_data(cfg)
    test = (data.test_x.to(device), data.test_y.to(device))
    train_x, train_y = data.train_x[: cfg.train_images], data.train_y[: cfg.train_images]

    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, data.in_channels, data.num_classes, **cfg.model_kwargs)
    for ext in extensions:
        model = ext.prepare(model, data)
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(model, cfg, device)
    loader = DeviceLoader(train_x, train_y, cfg.batch_size, data.mean, data.std, device, cfg.seed, cfg.augment)
    total_steps = cfg.steps if cfg.steps is not None else cfg.epochs * loader.steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, total_steps))
    eval_every = cfg.eval_every or loader.steps_per_epoch
    log_every = max(1, min(log_every, eval_every))

    step, history, wall_before, running = 0, [], 0.0, {"loss_sum": 0.0, "correct": 0, "count": 0}
    if checkpoint_path and Path(checkpoint_path).is_file():
        state = load_checkpoint(Path(checkpoint_path), cfg.key, total_steps, cpu_threads(device))
        model.load_state_dict(state["model"]), optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"]), set_rng_states(state["rng"])
        step, history, running, wall_before = state["step"], state["history"], state["running"], state["wall_time_s"]
    resumed_from_step = step
    loss_sum = torch.tensor(running["loss_sum"], device=device)
    correct, count = torch.tensor(running["correct"], device=device), running["count"]
    status, reason, start_time, interval = "ok", None, time.perf_counter(), [time.perf_counter(), 0]
    bar = tqdm(total=total_steps, initial=step, disable=not progress, desc=f"{cfg.model} {cfg.key[:8]}",
               unit="step", dynamic_ncols=True, mininterval=1.0)
    model.train()
    while step < total_steps:
        x, y = loader.batch(step)
        with autocast():
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        objective = sum((term for ext in extensions if (term := ext.loss(model)) is not None), loss)
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        schedule.step()
        for ext in extensions:
            ext.after_step(model)
        loss_sum += loss.detach() * len(y)
        correct += (logits.detach().argmax(1) == y).sum()
        count, interval[1], step = count + len(y), interval[1] + len(y), step + 1
        bar.update(1)

        last = step == total_steps
        if step % log_every == 0 or last:
            if not math.isfinite(loss_sum.item()):
                status, reason = "diverged", f"non-finite training loss by step {step}"
                break
            bar.set_postfix(loss=f"{loss_sum.item() / count:.3f}", acc=f"{correct.item() / count:.3f}")
        if step % eval_every == 0 or last:
            entry = evaluation_entry(step, loader, optimizer, (loss_sum, correct, count), interval, model,
                                     evaluation_split(test, cfg.eval_images, last), data, device, autocast, extensions)
            entry["elapsed_s"] = wall_before + time.perf_counter() - start_time
            history.append(entry)
            loss_sum.zero_(), correct.zero_()
            count, interval = 0, [time.perf_counter(), 0]
            if exploded(history, data.num_classes):
                status, reason = "diverged", exploded_reason(history, step)
                break
            if any(ext.should_stop(entry) for ext in extensions):
                reason = f"stopped by an extension at step {step}"
                break
        if checkpoint_path and step % checkpoint_every == 0 and not last:
            save_checkpoint({"version": CHECKPOINT_VERSION, "config_key": cfg.key, "step": step,
                             "threads": cpu_threads(device),
                             "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                             "schedule": schedule.state_dict(), "rng": rng_states(), "history": history,
                             "running": {"loss_sum": loss_sum.item(), "correct": int(correct.item()), "count": count},
                             "wall_time_s": wall_before + time.perf_counter() - start_time}, Path(checkpoint_path))
    bar.close()

    record = {
        "status": status, "reason": reason, "steps_done": step, "total_steps": total_steps, "history": history,
        "final": history[-1] if (history and status == "ok") else None,
        "best": max(history, key=lambda h: h["test_acc"]) if history else None,
        "wall_time_s": wall_before + time.perf_counter() - start_time, "device": device_name(device),
        "precision": precision, "resumed_from_step": resumed_from_step,
    }
    record.update({ext.name: ext.summary(model) for ext in extensions if ext.name})
    return record, model
