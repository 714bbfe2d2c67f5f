"""One training loop for every model: SGD with momentum (AdamW for post-training) on GPU-resident data.

- data: the uint8 dataset lives on the training device; batches and augmentation are tensor ops
  (``resdepth.data.DeviceLoader``);
- precision: channels_last everywhere; bf16 autocast on CUDA, fp32 on the CPU unless
  ``cfg.precision="bf16"`` (``autocast_policy``);
- no host syncs in the hot loop: losses accumulate on the device and are read every
  ``log_every`` steps, which is also when a non-finite loss is detected;
- a non-finite training loss ends the run with ``status="diverged"`` (the papers leave such runs
  out of their tables); it is a result, not a crash;
- post-training linearization (``cfg.linearize``): the run starts from ``start_state``, the
  weights of the stored run ``cfg.start_from``; the net is fused and its ReLUs become PReLUs
  (``resdepth.linearize.linearizable``); the loss adds omega * L0.5 and the freeze rule runs after
  every step; each evaluation logs the NAPL;
- checkpoints (model, optimizer, schedule, RNG states, step, history) are written atomically every
  ``checkpoint_every`` steps; a killed run resumes from its last one. Batches are a pure function of
  (seed, step), so on the CPU a resumed run ends with bit-identical parameters.
"""

import contextlib
import math
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .atomic import atomic_torch_save
from .config import RunConfig
from .data import DeviceLoader, eval_batches, load_dataset, normalize
from .errors import StoreError
from .linearize import freeze_linear_units, l05_penalty, linearizable, nonlinear_fractions, slope_count
from .models import build_model
from .pathlength import napl

CHECKPOINT_VERSION = 1


def pick_device(device=None) -> torch.device:
    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


def autocast_policy(device: torch.device, precision: str = "auto"):
    """(name, context factory) of the mixed-precision policy: bf16 autocast of convolutions and
    matmuls on CUDA, and on the CPU only when asked for; parameters and the loss stay fp32."""
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


def complexity_on_test_images(model, x_uint8, data, device) -> float:
    """Exact geometric complexity (fp32, eval mode) on a fixed set of test images."""
    from .data import normalize
    from .expansion import geometric_complexity

    was_training = model.training
    model.eval()
    batches = [normalize(chunk, data.mean, data.std) for chunk in x_uint8.split(128)]
    value = geometric_complexity(model, batches)
    model.train(was_training)
    return value


# ----------------------------------------------------------------------------- checkpoints


def save_checkpoint(state: dict, path: Path) -> None:
    """Atomic, so a kill while saving leaves the previous checkpoint intact."""
    atomic_torch_save(state, path)


def load_checkpoint(path: Path, cfg: RunConfig) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise StoreError(
            f"checkpoint {path} is corrupt ({type(exc).__name__}); delete it to restart this run from step 0"
        ) from None
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise StoreError(f"checkpoint {path} is not a resdepth checkpoint; move or delete it to restart the run")
    if state.get("config_key") != cfg.key:
        raise StoreError(
            f"checkpoint {path} belongs to config {state.get('config_key')}, not {cfg.key}; delete it to restart"
        )
    return state


def _rng_states() -> dict:
    states = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


# ----------------------------------------------------------------------------- the loop


def train(
    cfg: RunConfig,
    device=None,
    checkpoint_path=None,
    checkpoint_every: int = 500,
    log_every: int = 50,
    progress: bool = True,
    start_state: dict | None = None,
    target_test_acc: float | None = None,
    eval_images: int | None = None,
):
    """Train ``cfg`` and return ``(record, model)``.

    ``record`` has ``status`` ("ok" or "diverged"), ``reason``, ``history`` (one entry per
    evaluation: step, epoch, lr, train_loss, train_acc, test_loss, test_acc, images_per_s),
    ``final`` and ``best`` metrics, ``wall_time_s`` and ``device``. With ``checkpoint_path``, the
    run resumes from that checkpoint if it exists and saves it every ``checkpoint_every`` steps;
    the caller deletes it once the result is stored. A run with ``cfg.start_from`` starts from
    ``start_state`` (a state dict); a linearizing run's record adds ``linearization``: the final
    NAPL, slope count and each PReLU layer's fraction of nonlinear units. With
    ``target_test_acc``, the run ends at the first evaluation that reaches it (a time-to-accuracy
    measurement; each history entry has ``elapsed_s``, wall time since the start, evaluations
    included). ``eval_images`` evaluates on the first N test images only (for benchmarks, whose
    records are never stored; None: the whole test split).
    """
    device = pick_device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    precision, autocast = autocast_policy(device, cfg.precision)

    data = load_dataset(cfg.dataset)
    test_x, test_y = data.test_x[:eval_images].to(device), data.test_y[:eval_images].to(device)  # resident
    train_x, train_y = data.train_x, data.train_y
    if cfg.train_images is not None:
        train_x, train_y = train_x[: cfg.train_images], train_y[: cfg.train_images]

    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, data.in_channels, data.num_classes, **cfg.model_kwargs)
    if cfg.start_from:
        if start_state is None:
            raise StoreError(f"run {cfg.key} starts from {cfg.start_from}: pass its weights as start_state")
        if cfg.linearize:
            example = normalize(data.test_x[:2], data.mean, data.std)
            linearizable(model, example, cfg.linearize, start_state)
        else:
            model.load_state_dict(start_state)
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(model, cfg, device)
    loader = DeviceLoader(train_x, train_y, cfg.batch_size, data.mean, data.std, device, cfg.seed, cfg.augment)
    total_steps = cfg.steps if cfg.steps is not None else cfg.epochs * loader.steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, total_steps))
    eval_every = cfg.eval_every or loader.steps_per_epoch
    log_every = max(1, min(log_every, eval_every))

    step, history, wall_before = 0, [], 0.0
    running = {"loss_sum": 0.0, "correct": 0, "count": 0}
    checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
    if checkpoint_path and checkpoint_path.is_file():
        state = load_checkpoint(checkpoint_path, cfg)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        _set_rng_states(state["rng"])
        step, history, running, wall_before = state["step"], state["history"], state["running"], state["wall_time_s"]
    resumed_from_step = step

    loss_sum = torch.tensor(running["loss_sum"], device=device)
    correct = torch.tensor(running["correct"], device=device)
    count = running["count"]
    status, reason = "ok", None
    start_time, interval_start, interval_images = time.perf_counter(), time.perf_counter(), 0
    bar = tqdm(total=total_steps, initial=step, disable=not progress, desc=f"{cfg.model} {cfg.key[:8]}",
               unit="step", dynamic_ncols=True, mininterval=1.0)
    model.train()
    while step < total_steps:
        x, y = loader.batch(step)
        with autocast():
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        objective = loss + cfg.omega * l05_penalty(model) if cfg.linearize else loss
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        schedule.step()
        if cfg.linearize:
            freeze_linear_units(model, cfg.freeze_threshold)
        loss_sum += loss.detach() * len(y)
        correct += (logits.detach().argmax(1) == y).sum()
        count += len(y)
        interval_images += len(y)
        step += 1
        bar.update(1)

        last = step == total_steps
        if step % log_every == 0 or last:
            mean_loss = loss_sum.item() / count
            if not math.isfinite(mean_loss):
                status, reason = "diverged", f"non-finite training loss by step {step}"
                break
            images_per_s = interval_images / (time.perf_counter() - interval_start)
            bar.set_postfix(loss=f"{mean_loss:.3f}", acc=f"{correct.item() / count:.3f}", img_s=f"{images_per_s:.0f}")
        if step % eval_every == 0 or last:
            elapsed = time.perf_counter() - interval_start
            entry = {
                "step": step,
                "epoch": step / loader.steps_per_epoch,
                "lr": optimizer.param_groups[0]["lr"],
                "train_loss": loss_sum.item() / count,
                "train_acc": correct.item() / count,
                **evaluate(model, test_x, test_y, data.mean, data.std, device, autocast),
                "images_per_s": interval_images / elapsed,
            }
            entry["elapsed_s"] = wall_before + time.perf_counter() - start_time
            if cfg.linearize:
                entry["napl"] = napl(model)
                entry["l05_penalty"] = l05_penalty(model).item()
            if cfg.gc_images:
                entry["geometric_complexity"] = complexity_on_test_images(model, test_x[: cfg.gc_images], data, device)
            history.append(entry)
            loss_sum.zero_(), correct.zero_()
            count, interval_images, interval_start = 0, 0, time.perf_counter()
            if target_test_acc is not None and entry["test_acc"] >= target_test_acc:
                reason = f"reached test accuracy {target_test_acc} at step {step}"
                break
        if checkpoint_path and step % checkpoint_every == 0 and not last:
            save_checkpoint(
                {
                    "version": CHECKPOINT_VERSION,
                    "config_key": cfg.key,
                    "step": step,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "rng": _rng_states(),
                    "history": history,
                    "running": {"loss_sum": loss_sum.item(), "correct": int(correct.item()), "count": count},
                    "wall_time_s": wall_before + time.perf_counter() - start_time,
                },
                checkpoint_path,
            )
    bar.close()

    record = {
        "status": status,
        "reason": reason,
        "steps_done": step,
        "total_steps": total_steps,
        "history": history,
        "final": history[-1] if (history and status == "ok") else None,
        "best": max(history, key=lambda h: h["test_acc"]) if history else None,
        "wall_time_s": wall_before + time.perf_counter() - start_time,
        "device": device_name(device),
        "precision": precision,
        "resumed_from_step": resumed_from_step,
    }
    if cfg.linearize:
        fractions = nonlinear_fractions(model)
        record["linearization"] = {
            "napl": napl(model), "slopes": slope_count(model), "nonlinear_fractions": fractions,
            "in_channels": data.in_channels, "num_classes": data.num_classes, "image_size": data.test_x.shape[-1],
        }
    return record, model
