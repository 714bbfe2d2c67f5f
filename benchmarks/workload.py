"""The book's own workload, timed: training steps of the runs the chapters make, and an evaluation.

    python benchmarks/workload.py                                # the real settings (minutes)
    python benchmarks/workload.py --precision bf16               # adds bf16 autocast rows
    python benchmarks/workload.py --rounds 1 --steps 2 --warmup 1   # a quick check

Each case is a training step assembled from ``resdepth.train``'s own parts, as ``train`` runs it:
``build_model``, channels_last, ``resdepth.data.DeviceLoader`` (batched on-device crop and flip),
``F.cross_entropy`` on fp32 logits, ``optimizer.zero_grad(set_to_none=True)``, the optimizer
``resdepth.train.make_optimizer`` builds (SGD momentum 0.9, foreach on the CPU, fused on CUDA),
a LambdaLR step, on-device loss and accuracy sums read every 50 steps. The data are
Fashion-MNIST-shaped (1x32x32): the committed sample (``load_dataset("sample")``, 2,000 train and
1,000 test images, tiled to Fashion-MNIST's 60,000 and 10,000), so nothing is downloaded; the
cost of a step does not depend on which images.

Cases (``CASES``):

- ``tower-n10-w16``: tower n=10, width 16, lam 1/sqrt(n), no BN, batch 64 (Table 1's book budget);
- ``tower-n100-w16``: the same at n=100;
- ``tower-n10-w16-bn``: n=10 with BatchNorm (lam 1, as Table 1's BN column), batch 64;
- ``tower-n16-w256``: n=16, width 256, batch 128 (Figure 1, the time-to-accuracy run; MFU on CUDA);
- ``post-repvgg-a2``: post-training of a fused RepVGG-A2, batch 128: ``linearizable(...,
  "channel")`` (fused conv3x3 -> PReLU), AdamW (weights lr 1e-4, slopes 0.05, wd 5e-4),
  cross-entropy + omega * L0.5 (``l05_penalty``), ``freeze_linear_units`` after every step;
- ``eval-10k-tower-n10-w16``: a full evaluation (``resdepth.train.evaluate``) of the n=10 w=16
  tower on 10,000 test images (the sample's 1,000 tiled ten times, as Fashion-MNIST's test split
  has 10,000), also expressed as its cost in training steps of ``tower-n10-w16``.

Method: every case is built once; then in each round every (case, precision, threads)
configuration runs its warm-up steps and its timed steps, all configurations interleaved
round-robin, so a slow spell of the machine hits every case alike. ``os.getloadavg()`` is
recorded before and after each round. Each configuration runs at 1 and 2 threads
(``torch.set_num_threads``): 1 thread is the reference. On the CPU, fp32 is what the book runs
(precision "auto"); ``--precision bf16`` adds bf16 autocast rows for the width-256 tower and
post-training. On CUDA, "auto" is bf16 autocast for every case, as in ``train``, with
``torch.cuda.synchronize()`` around every timer. Output: one CSV row per (round, configuration)
and a markdown table of the median [min, max] images/s over rounds.
"""

import argparse
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from flops import bf16_peak, forward_flops_per_image
from resdepth.config import RunConfig
from resdepth.data import DeviceLoader, load_dataset, normalize
from resdepth.linearize import freeze_linear_units, l05_penalty, linearizable
from resdepth.models import build_model
from resdepth.train import (autocast_policy, cpu_has_bf16_kernels, device_name, evaluate, lr_factor, make_optimizer,
                            pick_device)

RESULTS = Path(__file__).resolve().parent / "results"
LOG_EVERY = 50  # train()'s default: the loss is read on the host every 50 steps
TRAIN_IMAGES, EVAL_IMAGES = 60_000, 10_000  # Fashion-MNIST's splits: the sample is tiled to their sizes


@dataclass(frozen=True)
class Case:
    """One timed workload. ``kind``: "train" (an SGD step), "post" (a post-training step) or
    "eval" (one evaluation of ``eval_images`` images; a "step" is one evaluation).
    ``cpu_steps`` and ``gpu_steps``: timed steps per round on each kind of device."""

    kind: str
    model: str
    model_args: dict
    batch: int
    cpu_steps: int
    gpu_steps: int
    optimizer: dict = field(default_factory=dict)  # RunConfig fields of the optimizer
    bf16_on_cpu: bool = False  # --precision bf16 adds a bf16 row on the CPU
    mfu: bool = False  # report model FLOPs utilization on CUDA
    reference: str | None = None  # eval: the training case its cost is expressed in


TOWER_SGD = dict(optimizer="sgd", lr=2**-6, momentum=0.9, weight_decay=0.0)  # Table 1's book grid
POST_ADAMW = dict(optimizer="adamw", lr=1e-4, alpha_lr=0.05, weight_decay=5e-4)  # linearization_napl's book budget
POST_OMEGA, FREEZE_THRESHOLD = 0.1, 0.01

CASES = {
    "tower-n10-w16": Case("train", "tower", dict(depth=10, width=16, lam="1/sqrt(n)", batchnorm=False), 64,
                          cpu_steps=200, gpu_steps=300, optimizer=TOWER_SGD),
    "tower-n100-w16": Case("train", "tower", dict(depth=100, width=16, lam="1/sqrt(n)", batchnorm=False), 64,
                           cpu_steps=25, gpu_steps=100, optimizer=TOWER_SGD),
    "tower-n10-w16-bn": Case("train", "tower", dict(depth=10, width=16, lam="1", batchnorm=True), 64,
                             cpu_steps=150, gpu_steps=300, optimizer=TOWER_SGD),
    "tower-n16-w256": Case("train", "tower", dict(depth=16, width=256, lam="1/sqrt(n)", batchnorm=False), 128,
                           cpu_steps=3, gpu_steps=200, optimizer=dict(TOWER_SGD, lr=0.01), bf16_on_cpu=True,
                           mfu=True),
    "post-repvgg-a2": Case("post", "repvgg_a2", {}, 128, cpu_steps=2, gpu_steps=200, optimizer=POST_ADAMW,
                           bf16_on_cpu=True),
    "eval-10k-tower-n10-w16": Case("eval", "tower", dict(depth=10, width=16, lam="1/sqrt(n)", batchnorm=False),
                                   1000, cpu_steps=3, gpu_steps=20, reference="tower-n10-w16"),
}

COLUMNS = ["round", "case", "kind", "model", "precision", "threads", "batch", "warmup_steps", "timed_steps",
           "images", "seconds", "images_per_s", "ms_per_step", "gflop_per_image", "achieved_tflops", "mfu_bf16",
           "eval_in_train_steps", "loss_finite", "load1_before", "load5_before", "load15_before", "load1_after",
           "load5_after", "load15_after", "device", "torch"]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Workload:
    """A case's model, optimizer and data, built once; ``run(n)`` does n steps of it."""

    def __init__(self, case: Case, data, train, test, device: torch.device):
        """``train``, ``test``: (images, labels) of the training steps and of the evaluation."""
        self.case, self.device, self.data = case, device, data
        torch.manual_seed(0)
        model = build_model(case.model, data.in_channels, data.num_classes, **case.model_args)
        if case.kind == "post":  # the fused, PReLU net that post-training trains (random start weights)
            example = normalize(data.test_x[:2], data.mean, data.std)
            model = linearizable(model.eval(), example, "channel").train()
        self.model = model.to(device, memory_format=torch.channels_last)
        forward = forward_flops_per_image(self.model, data.train_x.shape[1:])
        self.flops_per_image = forward if case.kind == "eval" else 3 * forward
        self.autocast, self.step_index = autocast_policy(device, "fp32")[1], 0
        if case.kind == "eval":
            self.test_x, self.test_y = test[0].to(device), test[1].to(device)  # on the device, as in train()
            self.images_per_step = len(self.test_y)
            return
        self.images_per_step = case.batch
        cfg = RunConfig(experiment="benchmark", model=case.model, model_args=case.model_args, dataset="sample",
                        steps=1, batch_size=case.batch, **case.optimizer)
        self.optimizer = make_optimizer(self.model, cfg, device)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_factor(cfg, 10**9))
        self.loader = DeviceLoader(*train, case.batch, data.mean, data.std, device, seed=0)
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.model.train()

    def set_precision(self, precision: str) -> None:
        self.autocast = autocast_policy(self.device, precision)[1]

    def train_step(self) -> None:
        """One step of ``resdepth.train.train``'s loop (with PostTraining's hooks for "post")."""
        x, y = self.loader.batch(self.step_index)
        with self.autocast():
            logits = self.model(x)
        loss = F.cross_entropy(logits.float(), y)
        objective = loss + POST_OMEGA * l05_penalty(self.model) if self.case.kind == "post" else loss
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        self.optimizer.step()
        self.schedule.step()
        if self.case.kind == "post":
            freeze_linear_units(self.model, FREEZE_THRESHOLD)
        self.loss_sum += loss.detach() * len(y)
        self.correct += (logits.detach().argmax(1) == y).sum()
        self.step_index += 1
        if self.step_index % LOG_EVERY == 0:
            self.loss_sum.item()  # train()'s host sync at each logging step

    def eval_step(self) -> None:
        evaluate(self.model, self.test_x, self.test_y, self.data.mean, self.data.std, self.device, self.autocast)

    def run(self, steps: int) -> float:
        """Seconds for ``steps`` steps, with the device synchronized before and after."""
        step = self.eval_step if self.case.kind == "eval" else self.train_step
        sync(self.device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync(self.device)
        return time.perf_counter() - start

    def loss_is_finite(self) -> bool:
        return True if self.case.kind == "eval" else bool(torch.isfinite(self.loss_sum).item())


def tile(x: torch.Tensor, count: int) -> torch.Tensor:
    """The first ``count`` items of ``x`` repeated as often as needed."""
    return x.repeat(math.ceil(count / len(x)), *([1] * (x.dim() - 1)))[:count]


def case_precisions(case: Case, device: torch.device, precisions) -> list:
    """The precisions a case runs at. CPU: fp32 (what the book runs) for every case, and bf16 for
    the cases that offer it when asked and the CPU has bf16 kernels. CUDA: "auto" is bf16
    autocast, as in train(); every case runs at every precision asked for."""
    wanted = {"bf16" if p == "auto" and device.type == "cuda" else "fp32" if p == "auto" else p for p in precisions}
    if device.type == "cuda":
        return [p for p in ("fp32", "bf16") if p in wanted]
    bf16 = "bf16" in wanted and case.bf16_on_cpu and cpu_has_bf16_kernels()
    return ["fp32"] + (["bf16"] if bf16 else [])


def results_path(device: torch.device) -> Path:
    """benchmarks/results/workload-<device>.csv, named as run.py names its sections' files."""
    slug = re.sub(r"[^a-z0-9]+", "-", device_name(device).lower()).strip("-")
    return RESULTS / f"workload-{slug}.csv"


def run(device, labels=None, rounds: int = 3, steps: int | None = None, warmup: int | None = None,
        threads=(1, 2), precisions=("auto",), peak_tflops: float | None = None, csv_path=None,
        cases: dict | None = None, train_images: int = TRAIN_IMAGES, eval_images: int = EVAL_IMAGES,
        dataset: str = "sample", log=print) -> list:
    """Time ``labels`` of ``cases`` (default: all of ``CASES``), interleaved round-robin over
    ``rounds`` rounds; one dict per (round, case, precision, threads), with the ``COLUMNS``.

    ``steps``/``warmup`` override every case's timed/warm-up steps per round (defaults: the case's
    ``cpu_steps`` or ``gpu_steps``; warm-up 2 on the CPU, 20 on CUDA). The dataset's images are
    tiled to ``train_images`` and ``eval_images`` (Fashion-MNIST's split sizes), so epochs turn
    over (a new shuffle and augmentation plan) as often as in the real runs. The CSV at ``csv_path`` is
    rewritten after every round, so an interrupted run keeps its finished rounds.
    """
    device = pick_device(device)
    cases = CASES if cases is None else cases
    labels = list(cases) if labels is None else list(labels)
    gpu = device.type == "cuda"
    if gpu:
        torch.backends.cudnn.benchmark = True  # as train() sets it
    warmup = (20 if gpu else 2) if warmup is None else warmup
    name, version = device_name(device), torch.__version__
    peak, peak_note = None, None
    if gpu:
        found = bf16_peak(name)
        peak = peak_tflops * 1e12 if peak_tflops else (found[1] if found else None)
        peak_note = (f"bf16 peak {peak / 1e12:.0f} TFLOP/s ({'--peak-tflops' if peak_tflops else found[0]})" if peak
                     else f"no bf16 peak known for {name!r}: pass --peak-tflops for the MFU column")
        log(peak_note)
    elif "bf16" in precisions and not cpu_has_bf16_kernels():
        log(f"no bf16 rows: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no oneDNN bf16 kernels, so "
            f"torch would run bf16 convolutions in its slow reference kernel; fp32 only")

    data = load_dataset(dataset)
    train = (tile(data.train_x, train_images), tile(data.train_y, train_images))
    test = (tile(data.test_x, eval_images), tile(data.test_y, eval_images))
    workloads = {label: Workload(cases[label], data, train, test, device) for label in labels}
    configs = [(label, precision, t) for label in labels
               for precision in case_precisions(cases[label], device, precisions) for t in threads]
    rows, threads_before = [], torch.get_num_threads()
    try:
        for r in range(1, rounds + 1):
            load_before, round_start, round_rows = os.getloadavg(), time.perf_counter(), []
            for label, precision, t in configs:
                case, work = cases[label], workloads[label]
                n = steps if steps is not None else (case.gpu_steps if gpu else case.cpu_steps)
                torch.set_num_threads(t)
                work.set_precision(precision)
                work.run(warmup)
                seconds = work.run(n)
                images = n * work.images_per_step
                images_per_s = images / seconds
                achieved = work.flops_per_image * images_per_s
                round_rows.append({
                    "round": r, "case": label, "kind": case.kind, "model": case.model, "precision": precision,
                    "threads": t, "batch": case.batch, "warmup_steps": warmup, "timed_steps": n, "images": images,
                    "seconds": round(seconds, 4), "images_per_s": round(images_per_s, 2),
                    "ms_per_step": round(1000 * seconds / n, 3),
                    "gflop_per_image": round(work.flops_per_image / 1e9, 4),
                    "achieved_tflops": round(achieved / 1e12, 4),
                    "mfu_bf16": round(achieved / peak, 4) if (peak and case.mfu and precision == "bf16") else None,
                    "eval_in_train_steps": None, "loss_finite": work.loss_is_finite(),
                })
                log(f"  round {r}  {label:<26} {precision:<4} {t} thr  {images_per_s:>10.1f} img/s  "
                    f"{1000 * seconds / n:>9.1f} ms/step", flush=True)
            load_after = os.getloadavg()
            by_config = {(row["case"], row["precision"], row["threads"]): row for row in round_rows}
            for row in round_rows:
                reference = cases[row["case"]].reference
                ref = by_config.get((reference, row["precision"], row["threads"])) if reference else None
                if ref:
                    row["eval_in_train_steps"] = round(row["ms_per_step"] / ref["ms_per_step"], 2)
                row.update({f"load{m}_before": round(v, 2) for m, v in zip((1, 5, 15), load_before)})
                row.update({f"load{m}_after": round(v, 2) for m, v in zip((1, 5, 15), load_after)})
                row.update({"device": name, "torch": version})
            rows += [{c: row[c] for c in COLUMNS} for row in round_rows]
            log(f"round {r}: {time.perf_counter() - round_start:.0f} s; load average (1, 5, 15 min) "
                f"{' '.join(f'{v:.2f}' for v in load_before)} before, "
                f"{' '.join(f'{v:.2f}' for v in load_after)} after", flush=True)
            if csv_path:
                Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
                pd.DataFrame(rows, columns=COLUMNS).to_csv(csv_path, index=False)
    finally:
        torch.set_num_threads(threads_before)
    return rows


def summary(rows) -> pd.DataFrame:
    """One row per (case, precision, threads): median [min, max] over rounds."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    out = []
    for (case, precision, threads), g in df.groupby(["case", "precision", "threads"], sort=False):
        ips = g["images_per_s"]
        one = df[(df["case"] == case) & (df["precision"] == precision) & (df["threads"] == 1)]["images_per_s"]
        eval_steps = g["eval_in_train_steps"].dropna()
        mfu = g["mfu_bf16"].dropna()
        out.append({
            "case": case, "batch": int(g["batch"].iloc[0]), "precision": precision, "threads": int(threads),
            "rounds": len(g), "images/s median [min, max]": f"{ips.median():,.1f} [{ips.min():,.1f}, {ips.max():,.1f}]",
            "ms/step": f"{g['ms_per_step'].median():,.1f}",
            "vs 1 thread": f"{ips.median() / one.median():.2f}x" if len(one) else "",
            "GFLOP/image": f"{g['gflop_per_image'].iloc[0]:.3g}",
            "TFLOP/s": f"{g['achieved_tflops'].median():.3g}",
            "MFU bf16": f"{mfu.median():.1%}" if len(mfu) else "",
            "eval = train steps": f"{eval_steps.median():.1f}" if len(eval_steps) else "",
        })
    return pd.DataFrame(out)


def markdown(df: pd.DataFrame) -> str:
    """A markdown table (no dependency on tabulate); empty columns are left out."""
    df = df[[c for c in df.columns if (df[c].astype(str) != "").any()]]
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "|".join(" --- " for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def round_loads(rows) -> str:
    """The load average around each round; "yes" under "busy" where it exceeds what the benchmark
    itself adds (its largest thread count) by more than 0.5: other work shared the CPU."""
    all_rows = pd.DataFrame(rows, columns=COLUMNS)
    own = all_rows["threads"].max()
    df = all_rows.groupby("round").first().reset_index()
    return markdown(pd.DataFrame({
        "round": df["round"],
        "load avg before (1/5/15 min)": [f"{a} / {b} / {c}" for a, b, c in
                                         zip(df["load1_before"], df["load5_before"], df["load15_before"])],
        "load avg after (1/5/15 min)": [f"{a} / {b} / {c}" for a, b, c in
                                        zip(df["load1_after"], df["load5_after"], df["load15_after"])],
        "busy": ["yes" if max(a, b) > own + 0.5 else "no" for a, b in zip(df["load1_before"], df["load1_after"])],
    }))


def report(rows, log=print) -> None:
    log("\nThe book's workload (images/s; eval: images evaluated per second, and its cost in training "
        "steps of the same tower)\n")
    log(markdown(summary(rows)))
    log(f"\nLoad average around each round ({os.cpu_count()} cores; the benchmark itself adds up to its "
        f"thread count)\n")
    log(round_loads(rows) + "\n", flush=True)


def add_arguments(p: argparse.ArgumentParser, steps: bool = True, precision: bool = True) -> None:
    """The workload's options, shared with run.py (which has its own --steps and --precision)."""
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES), metavar="CASE",
                   help="cases to time (default: all): " + ", ".join(CASES))
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps per case and round (default 2 CPU, 20 CUDA)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch threads to run each case at")
    if steps:
        p.add_argument("--steps", type=int, default=None,
                       help="timed steps per case and round, for every case (default: each case's own)")
    if precision:
        p.add_argument("--precision", nargs="+", default=["auto"], choices=["auto", "fp32", "bf16"],
                       help="auto: fp32 on the CPU, bf16 autocast on CUDA; bf16 on the CPU adds bf16 rows "
                            "for the width-256 tower and post-training")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p)
    p.add_argument("--device", default="auto")
    p.add_argument("--peak-tflops", type=float, help="bf16 dense peak of the GPU, if its name is not in flops.py")
    p.add_argument("--out", type=Path, help="CSV path (default: benchmarks/results/workload-<device>.csv)")
    args = p.parse_args(argv)
    device = pick_device(args.device)
    path = args.out or results_path(device)
    print(f"device: {device_name(device)}; torch {torch.__version__}; {os.cpu_count()} cores", flush=True)
    rows = run(device, args.cases, args.rounds, args.steps, args.warmup, args.threads, args.precision,
               args.peak_tflops, csv_path=path)
    report(rows)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
