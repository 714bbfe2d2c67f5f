"""Three checks for a CUDA machine, on real Fashion-MNIST and the Table 1 book grid's own runs.

    python benchmarks/cuda_check.py                # every check (about 3 minutes on an H200)
    python benchmarks/cuda_check.py --only agreement --steps 40

- ``agreement``: one Table 1 run (tower n = 10, width 16, lambda = 1/sqrt(n), no BN, batch 64,
  lr 2^-6, seed 0), shortened to ``--steps`` steps, trained three times with the same
  initialisation and the same batches: on the CPU in fp32, on CUDA in fp32 and on CUDA in bf16
  autocast (what ``train`` does there). The mean training loss of every evaluation interval is
  compared with the CPU's: the runs are not bit-identical, but the losses must track.
- ``stacking``: the same grid's runs at n = 100 and n = 1000 (one lambda row: its learning rates and
  seeds) trained as one stacked net (``resdepth.stack.train_stack``) against one after the other
  (``resdepth.train.train``), ``--stack-steps`` steps each. Width-16 towers are limited by
  per-kernel overhead, so a stack of K runs costs little more than one.

- ``paper``: a training step of every model shape of each chapter's ``paper`` profile, timed on
  CUDA (bf16 autocast, channels-last, fused SGD, random CIFAR-shaped 3x32x32 inputs), and the
  chapter's GPU-hours from it: the sum over runs of steps x seconds per step (``resdepth.plan``'s
  ``total_steps`` on 50,000 training images, as ``gpu_hours`` counts them; evaluations left out).
  Post-training runs are timed as plain SGD steps of their model (no slopes, penalty or freezing).

Writes ``results/device_agreement-<device>.csv``, ``results/stacking-<device>.csv`` and
``results/paper_steps-<device>.csv``.
"""

import argparse
import dataclasses
import sys
import time

import pandas as pd
import torch
import torch.nn.functional as F

from resdepth.experiments import EXPERIMENTS, sweep_configs
from resdepth.models import build_model
from resdepth.plan import per_run_scalars, total_steps
from resdepth.stack import train_stack
from resdepth.train import device_name, pick_device, train
from run import RESULTS, result_path

ROW = "1/sqrt(n)"  # the lambda row both checks take from Table 1's grid


def table1_runs(depth: int, steps: int, eval_every: int) -> list:
    """Table 1's book runs at ``depth`` in the lambda = 1/sqrt(n) row, shortened to ``steps``."""
    runs = [c for c in sweep_configs("table1_depth_scaling", "book")
            if c.model_kwargs["depth"] == depth and c.model_kwargs["lam"] == ROW and not c.model_kwargs["batchnorm"]]
    return [dataclasses.replace(c, experiment="cuda_check", epochs=None, steps=steps, eval_every=eval_every,
                                eval_images=1000) for c in runs]


def agreement(device: torch.device, steps: int, every: int) -> pd.DataFrame:
    """Training loss per evaluation interval of one run on the CPU (fp32), CUDA fp32 and CUDA bf16."""
    cfg = next(c for c in table1_runs(10, steps, every) if c.seed == 0 and c.lr == 2**-6)
    rows = []
    for where, precision in (("cpu", "fp32"), (device, "fp32"), (device, "bf16")):
        record, _ = train(dataclasses.replace(cfg, precision=precision), device=where, progress=False)
        label = f"{torch.device(where).type} {precision}"
        rows += [{"run": label, "device": device_name(torch.device(where)), "step": h["step"], "train_loss": h["train_loss"], "test_acc": h["test_acc"]}
                 for h in record["history"]]
    df = pd.DataFrame(rows)
    wide = df.pivot(index="step", columns="run", values="train_loss")
    cpu = wide["cpu fp32"]
    for column in wide.columns:
        wide[f"{column} - cpu fp32"] = wide[column] - cpu
    print(wide.round(4).to_string(), flush=True)
    return df


def stacking(device: torch.device, steps: int) -> pd.DataFrame:
    """Seconds for a row's runs trained as one stack against one at a time (the same steps)."""
    rows = []
    for depth in (100, 1000):
        runs = table1_runs(depth, steps, steps)
        train_stack(runs[:2], device=device, progress=False)  # warm-up: cuDNN's autotuning, allocations
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        stacked = train_stack(runs, device=device, progress=False)
        torch.cuda.synchronize(device)
        stack_s = time.perf_counter() - start
        start = time.perf_counter()
        alone = [train(c, device=device, progress=False)[0] for c in runs]
        torch.cuda.synchronize(device)
        alone_s = time.perf_counter() - start
        acc = lambda records: [round(r["final"]["test_acc"], 4) if r["status"] == "ok" else r["status"] for r in records]
        rows.append({"depth": depth, "width": 16, "runs": len(runs), "steps": steps, "batch": runs[0].batch_size,
                     "stacked_s": round(stack_s, 2), "one_at_a_time_s": round(alone_s, 2),
                     "speedup": round(alone_s / stack_s, 2),
                     "stacked_ms_per_step_per_run": round(1000 * stack_s / steps / len(runs), 3),
                     "alone_ms_per_step": round(1000 * alone_s / steps / len(runs), 3),
                     "stacked_test_acc": acc([r for r, _ in stacked]), "alone_test_acc": acc(alone),
                     "device": device_name(device), "torch": torch.__version__})
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def step_seconds(model_name: str, model_args: dict, batch: int, classes: int, device, steps: int = 10) -> float:
    """Median seconds of one SGD step (bf16 autocast, channels-last, fused SGD) on random 3x32x32 inputs."""
    torch.manual_seed(0)
    model = build_model(model_name, 3, classes, **model_args).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9, fused=True)
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, classes, (batch,), device=device)
    times = []
    for _ in range(steps + 3):  # three warm-up steps: cuDNN's autotuning, allocations
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return sorted(times[3:])[steps // 2]


def paper_steps(device: torch.device) -> pd.DataFrame:
    """Seconds per step of each ``paper``-profile model shape, and the GPU-hours of its runs."""
    torch.backends.cudnn.benchmark = True
    rows = []
    for name, module in EXPERIMENTS.items():
        configs = sweep_configs(name, "paper") if module.TRAINS else []
        shapes, scalars_of = {}, {}  # a model class's per-run scalars, found once (deep towers build slowly)
        for c in configs:
            if c.model not in scalars_of:
                scalars_of[c.model] = per_run_scalars(c.model, c.model_args)
            scalars = scalars_of[c.model]
            key = (c.model, tuple(a for a in c.model_args if a[0] not in scalars), c.batch_size, c.dataset)
            runs, steps = shapes.get(key, (0, 0))
            shapes[key] = (runs + 1, steps + total_steps(c, 50_000))
        for (model_name, args, batch, dataset), (runs, steps) in shapes.items():
            seconds = step_seconds(model_name, dict(args), batch, 100 if dataset == "cifar100" else 10, device)
            rows.append({"experiment": name, "model": model_name, "model_args": dict(args), "batch": batch,
                         "runs": runs, "steps": steps, "ms_per_step": round(1000 * seconds, 3),
                         "gpu_hours": round(steps * seconds / 3600, 2), "device": device_name(device),
                         "torch": torch.__version__})
            print(pd.DataFrame(rows[-1:]).drop(columns=["device", "torch"]).to_string(index=False, header=len(rows) == 1),
                  flush=True)
    df = pd.DataFrame(rows)
    print(df.groupby("experiment", sort=False)[["runs", "gpu_hours"]].sum().to_string(), flush=True)
    return df


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["agreement", "stacking", "paper"])
    p.add_argument("--steps", type=int, default=200, help="agreement: SGD steps of each run")
    p.add_argument("--every", type=int, default=20, help="agreement: steps between evaluations")
    p.add_argument("--stack-steps", type=int, default=20, help="stacking: SGD steps of each run")
    args = p.parse_args(argv)
    device = pick_device("auto")
    if device.type != "cuda":
        print("error: no CUDA device here; these checks compare CUDA with the CPU, run them on a GPU machine")
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    checks = {"agreement": lambda: agreement(device, args.steps, args.every),
              "stacking": lambda: stacking(device, args.stack_steps), "paper": lambda: paper_steps(device)}
    names = {"agreement": "device_agreement", "stacking": "stacking", "paper": "paper_steps"}
    for name in [args.only] if args.only else list(checks):
        path = result_path(names[name], device)
        checks[name]().to_csv(path, index=False)
        print(f"saved {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
